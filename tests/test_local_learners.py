"""The local learning rules (local_learners.py): each rule's weight change against hand-written loops over the
formula's i and j, settling against an independently solved fixed point, a network's run alone = inside a batch
(with restarts, both protocols), and the command line."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from scipy.optimize import fsolve

import encoder_local_8_3_8 as CLI
import local_learners as L
import training_loop as T

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "encoder_local_8_3_8.py")
SHAPE = T.parse_size("4-2-4")
RULES = ["chl", "generec", "generec-mid", "generec-sym", "recirculation", "mean-field"]


def s(x):
    return 1 / (1 + np.exp(-x))


# ------------------------------------------------------------------------------ the rules, literally
def literal_change(rule, a_minus, a_plus, i, j):
    """dw_ij / lr for sender i and receiver j, from O'Reilly's formulas (FACTS section 8)."""
    if rule == "chl":
        return a_plus[i] * a_plus[j] - a_minus[i] * a_minus[j]
    if rule == "generec":
        return a_minus[i] * (a_plus[j] - a_minus[j])
    if rule == "generec-mid":
        return 0.5 * (a_minus[i] + a_plus[i]) * (a_plus[j] - a_minus[j])
    return a_minus[i] * (a_plus[j] - a_minus[j]) + a_minus[j] * (a_plus[i] - a_minus[i])


@pytest.mark.parametrize("rule", L.SETTLING_RULES)
def test_each_settling_rule_changes_every_weight_as_its_formula_says(rule):
    n, h = 3, 2
    rng = np.random.default_rng(1)
    x = np.zeros(n)
    x[1] = 1.0
    h_minus, h_plus, o_minus = rng.uniform(0.05, 0.95, h), rng.uniform(0.05, 0.95, h), rng.uniform(0.05, 0.95, n)
    o_plus = np.array([0.0, 1.0, 0.0])
    # every unit in one vector: inputs 0..n-1, hidden n..n+h-1, outputs n+h..2n+h-1, the always-on unit last
    a_minus = np.concatenate([x, h_minus, o_minus, [1.0]])
    a_plus = np.concatenate([x, h_plus, o_plus, [1.0]])
    inp, hid, out, bias = range(n), range(n, n + h), range(n + h, 2 * n + h), 2 * n + h
    W_ih, b_h, W_ho, b_o, W_oh = (np.zeros((n, h)), np.zeros(h), np.zeros((h, n)), np.zeros(n), np.zeros((n, h)))
    for a, i in enumerate(inp):
        for b, j in enumerate(hid):
            W_ih[a, b] = literal_change(rule, a_minus, a_plus, i, j)
    for b, j in enumerate(hid):
        b_h[b] = literal_change(rule, a_minus, a_plus, bias, j)
        for c, k in enumerate(out):
            W_ho[b, c] = literal_change(rule, a_minus, a_plus, j, k)        # hidden sends to output
            W_oh[c, b] = literal_change(rule, a_minus, a_plus, k, j)        # output sends to hidden
    for c, k in enumerate(out):
        b_o[c] = literal_change(rule, a_minus, a_plus, bias, k)
    got = L.rule_changes(rule, x[None, None], h_minus[None, None], o_minus[None, None], h_plus[None, None],
                         o_plus[None, None])
    for mine, theirs in zip(got, (W_ih, b_h, W_ho, b_o, W_oh)):
        assert np.allclose(mine[0], theirs, rtol=0, atol=1e-15)


def test_recirculation_epoch_is_the_published_passes_and_changes():
    n, h, lam, lr = 4, 2, 0.75, 20.0
    settings = L.RecirculationSettings()
    learner = L.Recirculation(SHAPE, settings)
    params = learner.init(np.random.default_rng(3))[None].copy()
    W_vh, b_h, W_hv, b_v = (w[0].copy() for w in L.recirculation_unpack(params, SHAPE))
    dW_vh, db_h, dW_hv, db_v = np.zeros((n, h)), np.zeros(h), np.zeros((h, n)), np.zeros(n)
    for case in range(n):                                        # one batch update per sweep of the cases
        y0 = np.eye(n)[case]
        y1 = [s(sum(y0[i] * W_vh[i, j] for i in range(n)) + b_h[j]) for j in range(h)]
        y2 = [lam * y0[i] + (1 - lam) * s(sum(y1[j] * W_hv[j, i] for j in range(h)) + b_v[i]) for i in range(n)]
        y3 = [lam * y1[j] + (1 - lam) * s(sum(y2[i] * W_vh[i, j] for i in range(n)) + b_h[j]) for j in range(h)]
        for i in range(n):
            for j in range(h):
                dW_hv[j, i] += lr * y1[j] * (y0[i] - y2[i])
                dW_vh[i, j] += lr * y2[i] * (y1[j] - y3[j])
        for i in range(n):
            db_v[i] += lr * (y0[i] - y2[i])
        for j in range(h):
            db_h[j] += lr * (y1[j] - y3[j])
    learner.train_epoch(params, np.array([lr]), None, {})
    for got, start, change in zip(L.recirculation_unpack(params, SHAPE), (W_vh, b_h, W_hv, b_v),
                                  (dW_vh, db_h, dW_hv, db_v)):
        assert np.allclose(got[0], start + change, rtol=0, atol=1e-12)


@pytest.mark.parametrize("network", ["hinton89", "ahs85"])
def test_mean_field_changes_are_the_coactivity_differences_then_decay(network):
    settings = L.MeanFieldSettings(network=network, update="batch", decay=0.01)
    learner = L.MeanField(SHAPE, settings)
    lay, n, lr = learner.layout, SHAPE.n_patterns, 0.5
    params = learner.init(np.random.default_rng(4))[None].copy()
    W0 = params.reshape(lay.n_units, lay.n_units).copy()
    state = learner.new_state(1)
    # the settled states this epoch will use, found by the same settling from the same kept states
    plus = L.mean_field_settle(W0[None], lay.clamp(state["plus"].copy(), np.eye(n)[None], lay.plus_free),
                               lay.plus_free, learner)[0]
    minus_patterns = np.eye(n)[None] if lay.minus_rows == n else np.eye(n)[None, :1]
    minus = L.mean_field_settle(W0[None], lay.clamp(state["minus"].copy(), minus_patterns, lay.minus_free),
                                lay.minus_free, learner)[0]
    expected = W0.copy()
    for i in range(lay.n_units):
        for j in range(lay.n_units):
            if lay.mask[i, j]:
                plus_term = sum(plus[c, i] * plus[c, j] for c in range(n))
                minus_term = sum(minus[c % len(minus), i] * minus[c % len(minus), j] for c in range(n))
                expected[i, j] += lr * (plus_term - minus_term)
    expected *= 1 - 0.01
    learner.train_epoch(params, np.array([lr]), None, state)
    assert np.allclose(params.reshape(lay.n_units, lay.n_units), expected, rtol=0, atol=1e-12)
    assert np.array_equal(expected, expected.T) and np.array_equal(state["plus"][0], plus)


# ------------------------------------------------------------------------------ settling
def settling_learner(rule="chl", **changes):
    return L.SettlingLearner(SHAPE, rule, L.SETTLING_SETTINGS[rule](**changes))


BOUNDED = {"clip": lambda a, b: np.clip(a, b, 1 - b), "squash": lambda a, b: b + (1 - 2 * b) * a}


@pytest.mark.parametrize("rule,bounding", [("chl", "clip"), ("generec", "clip"), ("generec", "squash")])
def test_settling_reaches_the_fixed_point_of_the_net_input_dynamics(rule, bounding):
    tight = settling_learner(rule, tolerance=1e-13, max_steps=100_000, init_range=2.0, bounding=bounding)
    params = tight.init(np.random.default_rng(5))[None]
    W_ih, b_h, W_ho, b_o, W_oh = (w[0] for w in L.settling_unpack(params, SHAPE))
    x = np.eye(4)[2]
    act = lambda eta: BOUNDED[bounding](s(eta), tight.bound) if tight.bound else s(eta)

    def residual(eta):                     # a fixed point: eta = net(act(eta)) for hidden and output
        eh, eo = eta[:2], eta[2:]
        return np.concatenate([x @ W_ih + b_h + act(eo) @ W_oh - eh, act(eh) @ W_ho + b_o - eo])
    root = fsolve(residual, np.zeros(6), xtol=1e-14)
    assert np.abs(residual(root)).max() < 1e-10
    minus, plus = L.settling_phases(params, x[None, None], tight)
    assert np.allclose(minus[1][0, 0], act(root[:2]), atol=1e-9)
    assert np.allclose(minus[3][0, 0], act(root[2:]), atol=1e-9)
    target = tight.target_low + (1 - 2 * tight.target_low) * x                  # plus: output clamped to the target
    clamped = fsolve(lambda eh: x @ W_ih + b_h + target @ W_oh - eh, np.zeros(2), xtol=1e-14)
    assert np.allclose(plus[1][0, 0], act(clamped), atol=1e-9)
    published = settling_learner(rule, init_range=2.0, bounding=bounding)     # tolerance 0.01 stops near it
    minus, _ = L.settling_phases(params, x[None, None], published)
    assert np.abs(minus[1][0, 0] - act(root[:2])).max() < 0.05


def test_mean_field_settling_reaches_the_mean_field_equations():
    learner = L.MeanField(SHAPE, L.MeanFieldSettings(tolerance=1e-13, max_steps=100_000, init_range=2.0))
    lay = learner.layout
    W = learner.init(np.random.default_rng(6)).reshape(lay.n_units, lay.n_units)
    p0 = lay.clamp(np.full((1, 1, lay.n_units), 0.5), np.eye(4)[None, 1:2], lay.readout_free)[0, 0]
    free = lay.readout_free

    def residual(q):
        p = p0.copy()
        p[free] = q
        return s(p @ W)[free] - q
    root = fsolve(residual, np.full(free.sum(), 0.5), xtol=1e-14)
    assert np.abs(residual(root)).max() < 1e-10
    p = L.mean_field_settle(W[None], p0[None, None].copy(), free, learner)[0, 0]
    assert np.allclose(p[free], root, atol=1e-9) and p[lay.true_unit] == 1.0 and p[1] == 1.0


def test_a_converged_row_is_frozen_so_a_batch_settles_each_row_as_alone():
    learner = settling_learner("chl", init_range=3.0)
    params = np.stack([learner.init(np.random.default_rng(k)) for k in range(3)])
    codes, hidden, outputs = learner.readout(params)
    for k in range(3):
        alone = learner.readout(params[k:k + 1])
        assert np.array_equal(alone[1][0], hidden[k]) and np.array_equal(alone[2][0], outputs[k])


# ------------------------------------------------------------------------------ alone = in a batch
CASES = [(rule, {}) for rule in RULES] + [("chl", {"update": "batch", "plus_start": "minus"}),
                                          ("generec", {"readout": "during", "bounding": "squash"}),
                                          ("recirculation", {"update": "pattern"}),
                                          ("mean-field", {"network": "ahs85", "update": "batch"}),
                                          ("mean-field", {"network": "ahs85"})]


@pytest.mark.parametrize("rule,settings", CASES, ids=[f"{r}-{'-'.join(map(str, s.values()))}" for r, s in CASES])
def test_a_network_runs_the_same_alone_and_in_a_batch_with_restarts(rule, settings):
    loop = {"epochs": 12, "patience": 3, "max_restarts": 2, "criterion": "sse"}
    seeds = [0, 1, 2]
    batch = T.sweep(rule, seeds, settings, loop, size=SHAPE)
    assert sum(len(r) for r in batch.restart_epochs) > 0
    for k, seed in enumerate(seeds):
        alone = T.sweep(rule, [seed], settings, loop, size=SHAPE)
        assert np.array_equal(alone["params"][0], batch["params"][k])
        assert alone["epochs"][0] == batch["epochs"][k] and alone.restart_epochs[0] == batch.restart_epochs[k]


def test_a_per_network_learning_rate_is_each_network_own():
    grid = T.sweep("generec", [0, 0, 1], {"lr": (0.6, 2.0, 2.0)}, {"epochs": 5}, size=SHAPE)
    alone = T.sweep("generec", [0], {"lr": 2.0}, {"epochs": 5}, size=SHAPE)
    assert np.array_equal(grid["params"][1], alone["params"][0]) and not np.array_equal(grid["params"][0],
                                                                                       grid["params"][1])
    assert [r["lr"] for r in grid.records()] == [0.6, 2.0, 2.0]


def test_chl_and_generec_sym_keep_the_reciprocal_weights_symmetric():
    for rule in ("chl", "generec-sym"):
        result = T.sweep(rule, [0, 1], None, {"epochs": 10, "early_stop": False}, size=SHAPE)
        for row in result["params"]:
            _, _, W_ho, _, W_oh = L.settling_unpack(row[None], SHAPE)
            assert np.array_equal(W_ho[0].T, W_oh[0])


def test_the_published_criteria():
    eye = np.eye(4)[None]
    assert T.CRITERIA["sse"](None, eye * 0.9 + 0.02, None, 0.0)[0]                 # SSE 0.0464
    assert not T.CRITERIA["sse"](None, eye * 0.8 + 0.05, None, 0.0)[0]              # SSE 0.16 + 0.03
    assert T.CRITERIA["within"](None, eye * 0.85 + 0.06, None, 0.0)[0]
    assert not T.CRITERIA["within"](None, eye * 0.8 + 0.05, None, 0.0)[0]           # 0.85 on: 0.15 off its target


def test_generec_learns_the_4_2_4_encoder():
    result = T.sweep("generec-mid", range(8), {"engine": "compiled"}, {"epochs": 150, "criterion": "sse"},
                     size=SHAPE)         # quicker; its runs equal the numpy engine's (tests/test_compiled_local.py)
    assert result["solved"].sum() >= 5


# ------------------------------------------------------------------------------ the command line
@pytest.mark.parametrize("rule", RULES)
def test_cli_runs_every_rule_and_writes_json(rule, tmp_path, capsys):
    out = tmp_path / "r.json"
    assert CLI.main(["--rule", rule, "--size", "4-2-4", "--seeds", "0-4", "--epochs", "20", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["config"]["learner"] == rule and len(data["runs"]) == 5 and data["summary"]["n"] == 5
    assert "95% Wilson interval" in capsys.readouterr().out


@pytest.mark.parametrize("args", [["--rule", "chl", "--regression", "0.5"], ["--rule", "generec", "--dt", "2"],
                                  ["--rule", "mean-field", "--network", "ring"], ["--rule", "hebb"]])
def test_a_bad_flag_is_refused_in_one_line(args, capsys):
    with pytest.raises(SystemExit) as stop:
        CLI.main([*args, "--size", "4-2-4"])
    assert stop.value.code == 2 and len(capsys.readouterr().err.strip().splitlines()) == 1


def test_a_bad_flag_exits_2_with_one_line_and_no_output(tmp_path):
    proc = subprocess.run([sys.executable, SCRIPT, "--rule", "chl", "--max-steps", "0", "--json",
                           str(tmp_path / "r.json")], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert os.listdir(tmp_path) == []
