"""The faster learning rules on the one loop: quickprop, Rprop+, iRprop-, the symmetric hidden units, the atanh
error, and Fahlman's criterion; each checked against a literal transcription, one weight at a time."""
import math

import numpy as np
import pytest

import backprop_learner as BL
import encoder_backprop_8_3_8 as E
import optimizers as O
import training_loop as T


def literal_quickprop(w, grad_sum, slope_prev, step_prev, eps, mu=1.75, decay=1e-4):
    """One weight, as Fahlman's 1988 code reads: returns (new weight, slope, step)."""
    s = -grad_sum - decay * w
    if step_prev > 0:
        step = eps * s if s > 0 else 0.0
        step += mu * step_prev if s > mu / (1 + mu) * slope_prev else s / (slope_prev - s) * step_prev
    elif step_prev < 0:
        step = eps * s if s < 0 else 0.0
        step += mu * step_prev if s < mu / (1 + mu) * slope_prev else s / (slope_prev - s) * step_prev
    else:
        step = eps * s
    return w + step, s, step


def test_quickprop_matches_the_literal_rule_in_every_branch():
    rng = np.random.default_rng(3)
    n = 4000
    P = rng.normal(0, 1, (2, n))
    G = rng.normal(0, 1, (2, n))
    state = {"slope": rng.normal(0, 1, (2, n)), "step": rng.normal(0, 1, (2, n)) * (rng.random((2, n)) > 0.2)}
    before = {k: v.copy() for k, v in state.items()}
    P0 = P.copy()
    O.Quickprop().step(P, G.copy(), state, {"lr": np.array([[0.5], [1.5]])}, n_patterns=8)
    for r, eps in ((0, 0.5), (1, 1.5)):
        for i in range(0, n, 7):
            w, s, step = literal_quickprop(P0[r, i], 8 * G[r, i], before["slope"][r, i], before["step"][r, i], eps)
            assert P[r, i] == pytest.approx(w, rel=1e-12, abs=1e-12)
            assert state["slope"][r, i] == pytest.approx(s, rel=1e-12, abs=1e-15)
    branches = np.sign(before["step"])                      # all three kinds of previous step were exercised
    assert {-1.0, 0.0, 1.0} <= set(np.unique(branches))


def literal_rprop(w, g, g_prev, delta, step_prev, plus):
    if g * g_prev > 0:
        delta = min(delta * 1.2, 50.0)
    elif g * g_prev < 0:
        delta = max(delta * 0.5, 1e-6)
        if plus:
            return w - step_prev, 0.0, delta, -step_prev
        g = 0.0
    step = -math.copysign(1.0, g) * delta if g != 0 else 0.0
    return w + step, g, delta, step


@pytest.mark.parametrize("plus", [True, False])
def test_rprop_matches_the_literal_rule(plus):
    rng = np.random.default_rng(5)
    n = 3000
    P, G = rng.normal(0, 1, (1, n)), rng.normal(0, 1, (1, n))
    G[0, ::50] = 0.0
    state = {"delta": rng.uniform(0.01, 49, (1, n)), "grad": rng.normal(0, 1, (1, n)),
             "step": rng.normal(0, 0.1, (1, n))}
    before, P0 = {k: v.copy() for k, v in state.items()}, P.copy()
    O.Rprop(plus=plus).step(P, G.copy(), state, {}, n_patterns=8)
    for i in range(n):
        w, g, delta, step = literal_rprop(P0[0, i], G[0, i], before["grad"][0, i], before["delta"][0, i],
                                          before["step"][0, i], plus)
        assert (P[0, i], state["grad"][0, i], state["delta"][0, i]) == pytest.approx((w, g, delta), abs=1e-15)


@pytest.mark.parametrize("optimizer", ["quickprop", "rprop", "irprop"])
def test_every_optimizer_gives_each_network_the_run_it_has_alone(optimizer):
    seeds, lrs = [0, 1, 2, 3, 4], [0.5, 0.3, 0.5, 1.0, 0.5]
    batch = E.sweep_seeds(seeds, n_epochs=400, lr=lrs, optimizer=optimizer, patience=60, return_weights=True)
    for run, lr in zip(batch, lrs):
        alone = E.sweep_seeds([run["seed"]], n_epochs=400, lr=lr, optimizer=optimizer, patience=60,
                              return_weights=True)
        assert alone[0] == run
    model, history = E.train(n_epochs=400, lr=lrs[1], seed=1, optimizer=optimizer, patience=60, verbose=False)
    assert history["epoch"][-1] == batch[1]["epochs"] and np.array_equal(model.W2, np.array(batch[1]["W2"]))


def test_quickprop_solves_the_8_3_8_encoder_in_tens_of_epochs_under_both_criteria():
    fahlman = E.sweep_seeds(range(40), n_epochs=2000, optimizer="quickprop", criterion="fahlman")
    strict = E.sweep_seeds(range(40), n_epochs=2000, optimizer="quickprop")
    assert all(r["solved"] for r in fahlman) and all(r["solved"] for r in strict)
    assert 15 < np.mean([r["epochs"] for r in fahlman]) < 30
    assert min(r["epochs"] for r in strict) < 201            # no 201-epoch floor outside the published recipe


def test_the_201_epoch_floor_belongs_to_the_published_recipe_only():
    assert BL.Backprop().min_stop_epoch == 201
    assert BL.Backprop(criterion="fahlman").min_stop_epoch == 1
    assert BL.Backprop(optimizer="quickprop").min_stop_epoch == 1
    momentum_fahlman = E.sweep_seeds(range(5), n_epochs=5000, criterion="fahlman")
    assert any(r["solved"] and r["epochs"] != 201 for r in momentum_fahlman)


def test_fahlmans_criterion_boundaries_are_strict():
    y = np.full((4, 4), 0.3999)
    np.fill_diagonal(y, 0.6001)
    assert T.outputs_within(y)
    for value, where in ((0.4, (0, 1)), (0.6, (2, 2))):
        bad = y.copy()
        bad[where] = value
        assert not T.outputs_within(bad)


@pytest.mark.parametrize("loss", ["ce", "sse"])
def test_symmetric_hidden_units_have_exact_gradients(loss):
    shape = T.parse_size("8-3-8")
    params = np.random.default_rng(2).normal(0, 1, shape.n_params)
    W1, b1, W2, b2 = E.unpack(params, shape)
    h, _, y = E.forward(W1, b1, W2, b2, center=0.5)
    analytic = np.concatenate([g.ravel() for g in E.backward(W2, h, y, loss=loss, center=0.5)])
    numeric = np.zeros_like(params)
    for i in range(len(params)):
        for sign in (1, -1):
            p = params.copy()
            p[i] += sign * 1e-6
            _, z, yy = E.forward(*E.unpack(p, shape), center=0.5)
            numeric[i] += sign * E.loss_value(z, yy, loss=loss) / 2e-6
    assert np.allclose(analytic, numeric, rtol=1e-5, atol=1e-8)


def test_the_atanh_error_and_the_sigmoid_prime_offset():
    y = np.array([[0.9, 0.2], [0.05, 0.9999999999]])
    t = np.eye(2)
    W2 = np.zeros((1, 2))
    h = np.full((2, 1), 1.0)
    _, _, _, db2 = E.backward(W2, h, y, t=t, x=np.eye(2), loss="atanh")
    e = y - t
    err = np.where(np.abs(e) > 0.9999999, 17 * np.sign(e), np.log((1 + e) / (1 - e)))
    assert np.allclose(db2, (err * (y * (1 - y) + 0.1)).sum(0) / 2, rtol=1e-12)
    _, _, _, db2 = E.backward(W2, h, y, t=t, x=np.eye(2), loss="sse_offset")
    assert np.allclose(db2, (e * (y * (1 - y) + 0.1)).sum(0) / 2, rtol=1e-12)


def test_unknown_optimizer_criterion_activation_and_loss_are_rejected_everywhere(capsys):
    for kwargs, words in (({"optimizer": "adam"}, "optimizer must be one of"),
                          ({"criterion": "loose"}, "criterion must be one of"),
                          ({"activation": "tanh"}, "activation must be one of"),
                          ({"loss": "mse"}, "loss must be one of")):
        with pytest.raises(ValueError, match=words):
            E.sweep_seeds([0], n_epochs=5, **kwargs)
        flag, value = next(iter(kwargs.items()))
        with pytest.raises(SystemExit) as info:
            E.main([f"--{flag}", value])
        assert info.value.code == 2 and words in capsys.readouterr().err


def test_cli_runs_quickprop_with_fahlmans_protocol(capsys, tmp_path):
    out = tmp_path / "q.json"
    assert E.main(["--optimizer", "quickprop", "--criterion", "fahlman", "--restart-every", "100",
                   "--seeds", "0-19", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "quickprop" in text and "criterion fahlman" in text and "solved 20/20" in text and "mean" in text
    import json
    data = json.loads(out.read_text())
    settings = data["config"]["settings"]
    assert settings["optimizer"] == "quickprop" and data["config"]["min_stop_epoch"] == 1
    assert settings["lr"] == 0.5 and settings["init_scale"] == 0.7 and settings["loss"] == "atanh"


def test_fahlmans_code_profile_sets_random_biases_symmetric_inputs_and_the_hidden_offset():
    settings = BL.BackpropSettings(optimizer="quickprop", profile="fahlman-code")
    assert (settings.bias_scale, settings.inputs, settings.hidden_prime_offset) == ((0.7, 0.7), "symmetric", 0.1)
    assert BL.BackpropSettings(optimizer="quickprop", profile="fahlman-code", inputs="binary").inputs == "binary"
    run = E.sweep_seeds([3], n_epochs=1, optimizer="quickprop", profile="fahlman-code", return_weights=True)[0]
    assert np.abs(run["b1"]).max() > 0 and np.abs(run["b2"]).max() > 0          # the biases were drawn


def test_the_hidden_offset_and_symmetric_inputs_enter_the_gradient_as_fahlmans_backward_pass():
    """A literal per-unit backward pass in the manner of Fahlman's BACKWARD_PASS (symmetric sigmoid units, the
    offset added to every unit's derivative, atanh error), summed over the patterns, against `backward`."""
    rng = np.random.default_rng(4)
    n, h = 4, 2
    W1, b1, W2, b2 = rng.uniform(-1, 1, (n, h)), rng.uniform(-1, 1, h), rng.uniform(-1, 1, (h, n)), rng.uniform(-1, 1, n)
    x = np.eye(n) - 0.5
    slopes_W1, slopes_W2 = np.zeros((n, h)), np.zeros((h, n))
    for p in range(n):
        hidden = [1 / (1 + np.exp(-(sum(x[p, i] * W1[i, j] for i in range(n)) + b1[j]))) - 0.5 for j in range(h)]
        out = [1 / (1 + np.exp(-(sum(hidden[j] * W2[j, k] for j in range(h)) + b2[k]))) - 0.5 for k in range(n)]
        goal = [0.5 if k == p else -0.5 for k in range(n)]
        error_out = [(0.1 + 0.25 - out[k] ** 2) * np.log((1 + goal[k] - out[k]) / (1 - goal[k] + out[k]))
                     for k in range(n)]
        error_sum = [sum(error_out[k] * W2[j, k] for k in range(n)) for j in range(h)]
        error_hid = [(0.1 + 0.25 - hidden[j] ** 2) * error_sum[j] for j in range(h)]
        for j in range(h):
            for k in range(n):
                slopes_W2[j, k] += error_out[k] * hidden[j]
            for i in range(n):
                slopes_W1[i, j] += error_hid[j] * x[p, i]
    hid, _, y = E.forward(W1, b1, W2, b2, x=x, center=0.5)
    dW1, _, dW2, _ = E.backward(W2, hid, y, t=np.eye(n), x=x, loss="atanh", center=0.5, hidden_offset=0.1)
    # his slopes are -dE/dw summed over patterns; ours are dE/dw averaged over them
    assert np.allclose(-n * dW2, slopes_W2, atol=1e-9) and np.allclose(-n * dW1, slopes_W1, atol=1e-9)


def test_split_epsilon_divides_each_weights_step_by_the_fan_in_of_the_unit_it_feeds():
    def first_step(split):
        run = T.sweep("backprop", [3], {"optimizer": "quickprop", "split_epsilon": split},
                      {"epochs": 1, "early_stop": False}, size="4-2-4")
        return run["params"][0] - E.init_params(3, 0.7, shape=T.parse_size("4-2-4"))
    plain, split = first_step(False), first_step(True)            # the first step is epsilon * slope
    W1, b1, W2, b2 = (s / p for s, p in zip(E.unpack(split, T.parse_size("4-2-4")),
                                           E.unpack(plain, T.parse_size("4-2-4"))))
    assert np.allclose(W1, 1 / 5) and np.allclose(b1, 1 / 5) and np.allclose(W2, 1 / 3) and np.allclose(b2, 1 / 3)


def test_split_epsilon_is_refused_by_the_compiled_engine_in_one_line(capsys):
    with pytest.raises(SystemExit) as info:
        E.main(["--split-epsilon", "--engine", "compiled"])
    err = capsys.readouterr().err
    assert info.value.code == 2 and len(err.strip().splitlines()) == 1 and "split" in err
