"""The engine: published numbers, gradients, stacks, determinism, metrics, numerical safety, validation."""
import warnings

import numpy as np
import pytest

import encoder_backprop_8_3_8 as E


def random_params(rng, lead=(), scale=1.0):
    """Parameters with non-zero biases, (*lead, 59)."""
    return rng.uniform(-scale, scale, lead + (E.N_PARAMS,))


def numeric_grads(params, loss, x=None, t=None, eps=1e-6):
    """Central finite differences of the mean loss, (59,) for one network."""
    grad = np.zeros_like(params)
    for i in range(params.size):
        up, down = params.copy(), params.copy()
        up[i] += eps
        down[i] -= eps
        values = []
        for p in (up, down):
            h, z, y = E.forward(*E.unpack(p), x=x)
            values.append(E.loss_value(z, y, t, loss))
        grad[i] = (values[0] - values[1]) / (2 * eps)
    return grad


def flat(grads):
    lead = grads[0].shape[:-2]
    return np.concatenate([g.reshape(lead + (-1,)) for g in grads], axis=-1)


# ------------------------------------------------------------------------------------ published numbers
def test_seed0_solves_at_published_epoch():
    model, history = E.train(seed=0, verbose=False)
    assert history["epoch"][-1] == 3631
    assert E.accuracy(model) == 1.0
    assert E.n_distinct_codes(model) == 8
    assert history["acc"][-1] == 1.0 and history["n_distinct_codes"][-1] == 8
    # the stop rule: at no earlier epoch from 201 on was the network solved
    early = [(a, c) for e, a, c in zip(history["epoch"], history["acc"], history["n_distinct_codes"]) if 201 <= e < 3631]
    assert all(not (a == 1.0 and c == 8) for a, c in early)


def test_initialisation_order_is_w1_then_w2():
    rng = np.random.default_rng(7)
    w1, w2 = rng.uniform(-0.3, 0.3, (8, 3)), rng.uniform(-0.3, 0.3, (3, 8))
    model = E.EncoderMLP(init_scale=0.3, seed=7)
    assert np.array_equal(model.W1, w1) and np.array_equal(model.W2, w2)
    assert not model.b1.any() and not model.b2.any()


def test_sigmoid_equals_the_clipped_formula_bit_for_bit():
    rng = np.random.default_rng(0)
    z = np.concatenate([rng.normal(0, 30, 100_000), [-1e308, -800, -50.0000001, -50, -49.9, 0, 36, 37, 49.9, 50,
                                                      50.0001, 800, 1e308, -np.inf, np.inf]])
    with np.errstate(over="ignore"):
        reference = 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))
    assert np.array_equal(E.sigmoid(z), reference)


# ------------------------------------------------------------------------------------------- gradients
@pytest.mark.parametrize("loss", ["ce", "sse"])
def test_gradients_match_finite_differences(loss):
    rng = np.random.default_rng(1)
    for _ in range(3):
        params = random_params(rng)
        W1, b1, W2, b2 = E.unpack(params)
        h, z, y = E.forward(W1, b1, W2, b2)
        dW1, db1, dW2, db2 = E.backward(W2, h, y, loss=loss)
        analytic = np.concatenate([dW1.ravel(), db1, dW2.ravel(), db2])
        assert np.allclose(analytic, numeric_grads(params, loss), rtol=1e-5, atol=1e-8)


def test_gradients_for_general_inputs_match_finite_differences():
    rng = np.random.default_rng(2)
    x = rng.uniform(0, 1, (5, 8))
    t = rng.uniform(0, 1, (5, 8))
    params = random_params(rng)
    W1, b1, W2, b2 = E.unpack(params)
    h, z, y = E.forward(W1, b1, W2, b2, x=x)
    dW1, db1, dW2, db2 = E.backward(W2, h, y, t=t, x=x)
    analytic = np.concatenate([dW1.ravel(), db1, dW2.ravel(), db2])
    assert np.allclose(analytic, numeric_grads(params, "ce", x=x, t=t), rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("loss", ["ce", "sse"])
def test_stacked_gradients_match_finite_differences(loss):
    rng = np.random.default_rng(3)
    stack = random_params(rng, (4,))
    W1, b1, W2, b2 = E.unpack(stack)
    h, z, y = E.forward(W1, b1, W2, b2)
    dW1, db1, dW2, db2 = E.backward(W2, h, y, loss=loss)
    analytic = np.concatenate([dW1.reshape(4, -1), db1, dW2.reshape(4, -1), db2], axis=1)
    for i in range(4):
        assert np.allclose(analytic[i], numeric_grads(stack[i], loss), rtol=1e-5, atol=1e-8)


def test_model_grads_agree_with_engine():
    model = E.EncoderMLP(init_scale=0.5, seed=3)
    x = E.make_encoder_data()
    explicit = model.grads(x, x)          # goes through x @ W1 and x.T @ dh
    implicit = model.grads()              # uses the one-hot shortcut
    for a, b in zip(explicit, implicit):
        assert np.array_equal(a, b)


# ---------------------------------------------------------------------------------- stacks = singles
def test_stacked_functions_equal_single_network_functions_slice_by_slice():
    rng = np.random.default_rng(4)
    stack = random_params(rng, (5,), scale=3.0)
    hs, zs, ys = E.forward(*E.unpack(stack))
    gs = E.backward(E.unpack(stack)[2], hs, ys)
    gs_sse = E.backward(E.unpack(stack)[2], hs, ys, loss="sse")
    W1s, _, W2s, _ = E.unpack(stack)
    stacked_metrics = [E.accuracy_of(ys), E.distinct_codes_of(hs), E.code_margin_of(hs), E.code_separation_of(hs),
                       E.weight_norm_of(W1s, W2s), E.loss_value(zs, ys), E.loss_value(zs, ys, loss="sse")]
    for i in range(5):
        h, z, y = E.forward(*E.unpack(stack[i]))
        assert np.array_equal(h, hs[i]) and np.array_equal(z, zs[i]) and np.array_equal(y, ys[i])
        for g_single, g_stack in zip(E.backward(E.unpack(stack[i])[2], h, y), gs):
            assert np.array_equal(g_single, g_stack[i])
        for g_single, g_stack in zip(E.backward(E.unpack(stack[i])[2], h, y, loss="sse"), gs_sse):
            assert np.array_equal(g_single, g_stack[i])
        W1, _, W2, _ = E.unpack(stack[i])
        single_metrics = [E.accuracy_of(y), E.distinct_codes_of(h), E.code_margin_of(h), E.code_separation_of(h),
                          E.weight_norm_of(W1, W2), E.loss_value(z, y), E.loss_value(z, y, loss="sse")]
        for single, stacked in zip(single_metrics, stacked_metrics):
            assert single == stacked[i]


# ------------------------------------------------------------------------------------------ determinism
def test_same_seed_gives_bit_identical_histories_and_weights():
    m1, h1 = E.train(n_epochs=1500, seed=5, verbose=False)
    m2, h2 = E.train(n_epochs=1500, seed=5, verbose=False)
    assert h1 == h2
    assert np.array_equal(m1.params, m2.params)
    m3, h3 = E.train(n_epochs=1500, seed=6, verbose=False)
    assert h3 != h1


def test_history_has_every_key_for_every_epoch():
    _, history = E.train(n_epochs=300, seed=2, early_stop=False, verbose=False)
    for key in E.HISTORY_KEYS:
        assert len(history[key]) == 300
    assert history["epoch"] == list(range(1, 301))
    assert history["restart_epochs"] == []
    assert all(isinstance(v, int) for v in history["n_distinct_codes"])


def test_snapshot_callback_sees_every_multiple_and_the_early_stop_epoch():
    seen = []

    def snap(epoch, model, history):
        seen.append((epoch, model.params.copy(), len(history["epoch"])))

    model, history = E.train(seed=0, snapshot_callback=snap, snapshot_every=1000, verbose=False)
    assert [s[0] for s in seen] == [1000, 2000, 3000, 3631]
    assert [s[2] for s in seen] == [1000, 2000, 3000, 3631]  # the history given covers the epochs so far
    assert np.array_equal(seen[-1][1], model.params)
    assert E.n_distinct_codes(E.EncoderMLP(params=seen[-1][1])) == 8


def test_snapshot_at_the_last_epoch_is_not_repeated():
    seen = []
    E.train(n_epochs=100, seed=1, snapshot_callback=lambda e, m, h: seen.append(e), snapshot_every=50, verbose=False)
    assert seen == [50, 100]


# ----------------------------------------------------------------------------------------------- metrics
def table_model(table):
    """A network whose hidden activations are (to ~1e-15) the given (8, 3) table: W1 = logit(table), b1 = 0."""
    model = E.EncoderMLP(seed=0)
    model.W1 = np.log(table / (1 - table))
    model.b1 = np.zeros(3)
    return model


def test_code_margin_on_a_hand_made_table():
    table = np.array([[0.9, 0.1, 0.2], [0.1, 0.9, 0.8], [0.95, 0.95, 0.05], [0.3, 0.6, 0.9],
                      [0.8, 0.2, 0.7], [0.1, 0.1, 0.1], [0.7, 0.9, 0.9], [0.2, 0.8, 0.35]])
    assert E.code_margin_of(table) == pytest.approx(0.1)
    assert E.code_margin(table_model(table)) == pytest.approx(0.1, abs=1e-12)
    table[3, 1] = 0.52
    assert E.code_margin_of(table) == pytest.approx(0.02)
    assert E.code_margin(table_model(table)) == pytest.approx(0.02, abs=1e-12)


def test_distinct_codes_and_code_table():
    corners = np.array([[a, b, c] for a in (0, 1) for b in (0, 1) for c in (0, 1)], dtype=float)
    h = 0.1 + 0.8 * corners
    assert E.distinct_codes_of(h) == 8
    h[7] = h[6]
    assert E.distinct_codes_of(h) == 7
    assert E.distinct_codes_of(np.full((8, 3), 0.5)) == 1          # threshold is strict: 0.5 -> bit 0
    assert E.distinct_codes_of(np.stack([0.1 + 0.8 * corners, np.full((8, 3), 0.9)])).tolist() == [8, 1]
    model = table_model(0.1 + 0.8 * corners)
    assert E.hidden_code_table(model).shape == (8, 3)
    assert E.n_distinct_codes(model) == 8
    assert E.n_distinct_codes(model, threshold=0.95) == 1


def test_accuracy_and_code_separation():
    y = np.eye(8) * 0.8 + 0.1
    assert E.accuracy_of(y) == 1.0
    y[3] = y[4]
    assert E.accuracy_of(y) == 7 / 8
    h = np.zeros((8, 3))
    h[1:] = 1.0
    # 7 pairs at distance sqrt(3), 21 pairs at distance 0
    assert E.code_separation_of(h) == pytest.approx(7 * np.sqrt(3) / 28)


# ----------------------------------------------------------------------------------------- robustness
def test_extreme_hyperparameters_give_no_nan_and_no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(divide="raise", over="raise", invalid="raise"):  # underflow to 0 is exact and fine
            # the weights blow up within the first few hundred epochs at these settings; 5000 leaves them saturated
            model, history = E.train(n_epochs=5000, lr=100.0, init_scale=10.0, seed=0, early_stop=False,
                                     verbose=False)
            runs = E.sweep_seeds([0, 1, 2, 3], n_epochs=5000, lr=[100.0, 100.0, 0.5, 3.0],
                                 init_scale=[0.1, 10.0, 10.0, 3.0], early_stop=False)
    assert np.isfinite(model.params).all()
    for key in E.HISTORY_KEYS:
        assert np.isfinite(history[key]).all()
    assert all(np.isfinite(r["hidden_codes"]).all() and np.isfinite(r["code_margin"]) for r in runs)


@pytest.mark.parametrize("kwargs, message", [
    ({"seed": -1}, "seed must be a non-negative integer"),
    ({"seed": 1.5}, "seed must be a non-negative integer"),
    ({"n_epochs": 0}, "epochs must be an integer >= 1"),
    ({"lr": 0.0}, "lr must be a number in (0, 1000]"),
    ({"lr": float("nan")}, "lr must be a number in (0, 1000]"),
    ({"momentum": 1.0}, "momentum must be a number in [0, 1)"),
    ({"init_scale": float("inf")}, "init scale must be a number in (0, 1000]"),
    ({"snapshot_every": 0}, "snapshot_every must be an integer >= 1"),
    ({"loss": "mse"}, "loss must be one of ce, sse"),
    ({"margin": 0.7}, "margin must be a number in [0, 0.5)"),
    ({"patience": 0}, "patience must be an integer >= 1"),
])
def test_train_rejects_bad_arguments_with_the_cli_messages(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        E.train(verbose=False, **kwargs)


def test_model_weight_setters_check_shapes():
    model = E.EncoderMLP()
    model.W2 = np.ones((3, 8))
    assert model.params[27:51].tolist() == [1.0] * 24
    with pytest.raises(ValueError, match=r"W1 must have shape \(8, 3\)"):
        model.W1 = np.ones((3, 8))


def test_the_engines_import_no_cli_no_plotting_and_no_numba_unless_a_compiled_learner_is_asked_for():
    """Engines import neither the CLI layer, file writing, statistics, the parallel layer nor matplotlib; the
    backprop engine and the registry do not pay numba's import (only the Boltzmann learners run compiled code)."""
    import subprocess
    import sys
    layers = ("cli_support", "learner_cli", "atomic_files", "interval_stats", "parallel_map", "dask_cluster",
              "matplotlib")
    code = ("import sys, encoder_backprop_8_3_8, backprop_learner, learners, training_loop, local_learners; "
            "assert 'numba' not in sys.modules, 'numba'; import boltzmann_learners; "
            f"print(sorted(m for m in {layers!r} if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
