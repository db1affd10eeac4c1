"""Boltzmann learning on the one loop: exact readouts against brute force, the 1985 network's wiring and sign
rule, batch = single identity with each network's own random stream, and the command line."""
import itertools
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import boltzmann_learners as B
import encoder_boltzmann_8_3_8 as CLI
import training_loop as T

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "encoder_boltzmann_8_3_8.py")


def brute_force(energy_neg, n, n_hidden, n_units, place):
    """p(V2, H | V1 = pattern i) by enumerating every V2 and H state; returns codes, p(h_j), p(v2_j)."""
    codes, hidden, outputs = [], [], []
    for i in range(n):
        states, weights = [], []
        for v2 in itertools.product((0, 1), repeat=n):
            for h in itertools.product((0, 1), repeat=n_hidden):
                s = place(i, np.array(v2), np.array(h))
                states.append((v2, h))
                weights.append(energy_neg(s))
        w = np.exp(np.array(weights) - max(weights))
        w /= w.sum()
        p_h = {}
        for (v2, h), p in zip(states, w):
            p_h[h] = p_h.get(h, 0) + p
        best = max(p_h, key=p_h.get)
        codes.append(int("".join(map(str, best)), 2))
        hidden.append(sum(p * np.array(h) for (v2, h), p in zip(states, w)))
        outputs.append(sum(p * np.array(v2) for (v2, h), p in zip(states, w)))
    return np.array(codes), np.array(hidden), np.array(outputs)


def test_the_1985_readout_is_exact():
    shape = T.parse_size("4-2-4")
    layout = B.AHS85Layout(shape)
    rng = np.random.default_rng(0)
    W = rng.normal(0, 4, (2, layout.n_units, layout.n_units))
    W = (W + W.transpose(0, 2, 1)) * layout.mask
    codes, hidden, outputs = B.ahs85_readout(W, layout, temperature=10.0)
    for s in range(2):
        def place(i, v2, h):
            state = np.zeros(layout.n_units)
            state[i], state[4:8], state[8:10], state[10] = 1, v2, h, 1
            return state
        expected = brute_force(lambda st: 0.5 * st @ W[s] @ st / 10.0, 4, 2, layout.n_units, place)
        assert codes[s].tolist() == expected[0].tolist()
        assert np.allclose(hidden[s], expected[1]) and np.allclose(outputs[s], expected[2])


def test_the_clamped_codes_are_the_most_probable_hidden_state_with_both_groups_clamped():
    layout = B.AHS85Layout(T.parse_size("4-2-4"))
    W = np.random.default_rng(2).normal(0, 4, (2, layout.n_units, layout.n_units))
    W = (W + W.transpose(0, 2, 1)) * layout.mask
    codes, p_on = B.clamped_codes(W, layout, temperature=3.0)
    states = np.array([[a, b] for a in (0, 1) for b in (0, 1)], float)          # corner c = 2 h1 + h2
    for s in range(2):
        for i in range(4):
            x = np.zeros((4, layout.n_units))
            x[:, [i, 4 + i]], x[:, 8:10], x[:, 10] = 1, states, 1
            energy_neg = np.einsum("ki,ij,kj->k", x, W[s], x) / 2 / 3.0                # -E / T of each state
            p = np.exp(energy_neg - energy_neg.max())
            p /= p.sum()
            assert codes[s, i] == p.argmax() and np.allclose(p_on[s, i], p @ states)


@pytest.mark.parametrize("tie", ["none", "up", "down"])
def test_the_tie_rule_decides_what_an_unchanged_co_occurrence_does(tie):
    learner = B.AHS85(T.parse_size("4-2-4"), tie=tie)
    batch = learner.start(np.array([3]), {})
    for _ in range(150):                                  # grown weights freeze the settlings: ties are common
        batch.step()
    stats, settle = {}, batch._settle

    def recording(states, free, uniforms):                # each phase's co-occurrence estimates of the cycle
        counts, samples = settle(states, free, uniforms)
        stats[len(free)] = counts / samples
        return counts, samples
    batch._settle = recording
    before = batch.params.copy()
    batch.step()
    n = batch.layout.n_units
    step = (batch.params - before).reshape(n, n)
    tied = (stats[2] == stats[10])[0] & batch.layout.mask
    assert tied.any() and (~tied & batch.layout.mask).any()
    assert (step[tied] == {"none": 0.0, "up": 2.0, "down": -2.0}[tie]).all()
    assert (np.abs(step[~tied & batch.layout.mask]) == 2.0).all()


def test_the_rbm_readout_is_exact():
    shape = T.parse_size("4-2-4")
    rng = np.random.default_rng(1)
    params = rng.normal(0, 2, (2, 2 * 4 * 2 + 8 + 2))
    codes, hidden, outputs = B.rbm_readout(params, shape)
    for s in range(2):
        W, b, c = B.rbm_unpack(params[s], shape)
        def place(i, v2, h):
            return np.concatenate([np.eye(4)[i], v2]), h
        expected = brute_force(lambda vh: vh[0] @ W @ vh[1] + b @ vh[0] + c @ vh[1], 4, 2, None, place)
        assert codes[s].tolist() == expected[0].tolist()
        assert np.allclose(hidden[s], expected[1]) and np.allclose(outputs[s], expected[2])


def test_the_1985_network_is_wired_as_published():
    layout = B.AHS85Layout(T.parse_size("8-3-8"))
    m = layout.mask
    v1, v2, hid, t = layout.v1, layout.v2, layout.hid, layout.true_unit
    assert m[np.ix_(v1, v1)].sum() == 8 * 7 and m[np.ix_(v2, v2)].sum() == 8 * 7       # inside each group
    assert m[np.ix_(v1, hid)].all() and m[np.ix_(v2, hid)].all()                       # each group to H
    assert not m[np.ix_(hid, hid)].any() and not m[np.ix_(v1, v2)].any()               # no H-H, no V1-V2
    assert m[t, :t].all() and not m.diagonal().any() and (m == m.T).all()              # biases; symmetric


def test_a_1985_cycle_moves_each_untied_weight_by_the_fixed_step_and_keeps_symmetry():
    batch = B.AHS85(T.parse_size("4-2-4")).start(np.array([3]), {})
    batch.step()
    n = batch.layout.n_units
    W = batch.params.reshape(n, n)
    assert set(np.unique(W)) <= {-2.0, 0.0, 2.0} and (W == W.T).all()
    assert not W[~batch.layout.mask].any()


@pytest.mark.parametrize("rule, epochs, extra", [("ahs85", 40, {}), ("cdk", 120, {"patience": 3}),
                                                 ("ahs85", 30, {"stats": "probe", "noise": "pattern"})])
def test_each_network_runs_alone_as_in_a_batch(rule, epochs, extra):
    batch = B.sweep_boltzmann(range(5), rule, epochs, size="4-2-4", return_weights=True, **extra)
    for run in batch:
        assert B.sweep_boltzmann([run["seed"]], rule, epochs, size="4-2-4", return_weights=True, **extra)[0] == run
    if rule == "cdk":
        assert any(r["restarts"] for r in batch)
        assert B.sweep_boltzmann(range(5), rule, epochs, size="4-2-4", return_weights=True, workers=2,
                                 chunk_size=2, **extra) == batch


def test_cdk_learns_the_4_2_4_encoder():
    runs = B.sweep_boltzmann(range(10), "cdk", 600, size="4-2-4", early_stop=True)
    assert sum(r["solved"] for r in runs) >= 8


def test_restarts_stop_at_their_maximum():
    runs = B.sweep_boltzmann([0, 1, 2], "cdk", 200, size="4-2-4", patience=5, max_restarts=2)
    assert all(r["restarts"] <= 2 for r in runs) and any(r["restarts"] == 2 for r in runs)


@pytest.mark.parametrize("args", [["--k", "0"], ["--temperature", "-1"], ["--schedule", ""], ["--rule", "gibbs"],
                                  ["--schedule", "2@-5"], ["--schedule", "0@10"], ["--size", "16-4-16", "--rule", "ahs85", "--codes-from", "v1"],
                                  ["--noise", "sometimes"], ["--stats", "often"], ["--readout-temperature", "0"],
                                  ["--rule", "ahs85", "--patience", "5"], ["--rule", "ahs85", "--k", "3"],
                                  ["--tie", "sideways"], ["--sparsity-form", "none"]])
def test_bad_input_exits_2_with_one_line(args, tmp_path, capsys):
    """In this process (a real process's exit is checked once below): exit 2, one line, nothing written."""
    with pytest.raises(SystemExit) as info:
        CLI.main([*args, "--json", str(tmp_path / "r.json")])
    err = capsys.readouterr().err
    assert info.value.code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert os.listdir(tmp_path) == []


def test_a_bad_input_in_a_real_process_exits_2_with_one_line(tmp_path):
    proc = subprocess.run([sys.executable, SCRIPT, "--k", "0", "--json", str(tmp_path / "r.json")], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert os.listdir(tmp_path) == []


def test_cli_prints_the_table_and_summary_and_writes_json(tmp_path, capsys):
    out = tmp_path / "b.json"
    assert CLI.main(["--rule", "ahs85", "--size", "4-2-4", "--seeds", "0-3", "--epochs", "60", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "first 3 codes" in text and "95% Wilson interval" in text and "published (Ackley" in text
    data = json.loads(out.read_text())
    assert data["config"]["learner"] == "ahs85" and len(data["runs"]) == 4 and data["summary"]["n"] == 4
    # every setting the runs used, the size's own defaults written out (they were None: "the size's")
    assert data["config"]["settings"] == B.AHS85Settings(**B.paper_defaults(T.parse_size("4-2-4"))).config()
    assert (data["config"]["settings"]["noise_off_on"], data["config"]["settings"]["codes_from"]) == (0.05, "v1")


def test_the_readout_temperature_changes_only_the_readout():
    warm = B.sweep_boltzmann([0, 1], "ahs85", 6, return_weights=True)
    cold = B.sweep_boltzmann([0, 1], "ahs85", 6, return_weights=True, readout_temperature=0.5)
    assert [r["params"] for r in warm] == [r["params"] for r in cold]          # the same training
    learner = B.make_ahs85(T.parse_size("8-3-8"), B.AHS85Settings(readout_temperature=0.5))
    assert learner.readout_temperature == 0.5 and learner.collect_temperature == 10.0


def test_the_compiled_1985_probes_leave_the_weights_the_numpy_version_left():
    # figures printed by the numpy implementation of the probes (commit 0b61bc7 and before) for these runs
    runs = B.sweep_boltzmann([0, 1, 2], "ahs85", 25, return_weights=True)
    P = np.array([r["params"] for r in runs])
    assert (P.sum(), (P * np.arange(P.shape[1])).sum(), np.abs(P).sum()) == (-10108.0, -1781430.0, 11780.0)
    assert [r["n_distinct_codes"] for r in runs] == [6, 3, 2]


def test_the_40_10_40_experiment_is_the_default_beyond_the_exact_readout_and_small_sizes_keep_theirs():
    big = B.AHS85(T.parse_size("40-10-40"))
    assert (big.noise_on_off, big.noise_off_on, big.visible_cycles, big.clean_after, big.completion_trials,
            big.codes_from) == (0.1, 0.0025, 300, 800, 10, "clamped")
    assert [big.phase(c) for c in (1, 300, 301, 800, 801)] == [(True, 0.0, 0.0)] * 2 + [(False, 0.1, 0.0025)] * 2 + \
        [(False, 0.0, 0.0)]
    small = B.AHS85(T.parse_size("8-3-8"))
    assert small.phase(1) == small.phase(10 ** 9) == (False, 0.15, 0.02) and small.completion_trials == 0
    assert B.AHS85(T.parse_size("4-2-4")).noise_off_on == 0.05 and small.codes_from == "v1"


def test_cycles_without_the_hidden_units_move_only_the_visible_groups_weights():
    batch = B.AHS85(T.parse_size("4-2-4"), visible_cycles=3).start(np.array([5]), {})
    layout = batch.layout
    W = batch.params.reshape(layout.n_units, layout.n_units)
    for _ in range(3):
        batch.step()
    assert not W[layout.hid].any() and not W[:, layout.hid].any()
    assert W[np.ix_(layout.visible, layout.visible)].any() and (W == W.T).all()
    batch.step()
    assert W[layout.hid].any()


def perfect_4_2_4(strength=100.0):
    """Weights (1, n * n) that complete every 4-2-4 pattern: pattern i's code is i in binary on both groups' links
    to H, each V2 unit's bias on only for its own code, and the V2 units inhibit each other."""
    layout = B.AHS85Layout(T.parse_size("4-2-4"))
    W = np.zeros((layout.n_units, layout.n_units))
    bits = B.binary_states(2)
    for i in range(4):
        for group in (layout.v1, layout.v2):
            W[group[i], layout.hid] = W[layout.hid, group[i]] = strength * (2 * bits[i] - 1)
        W[layout.true_unit, layout.v2[i]] = W[layout.v2[i], layout.true_unit] = -strength * (bits[i].sum() - 0.5)
    W[np.ix_(layout.v2, layout.v2)] = -strength
    np.fill_diagonal(W, 0.0)
    return W.reshape(1, -1)


def test_the_completion_test_counts_the_annealings_that_end_with_v2_exactly_the_pattern():
    learner = B.AHS85(T.parse_size("4-2-4"), completion_trials=20)
    n_params = learner.layout.n_units ** 2
    assert learner.completion(perfect_4_2_4(), [0])[0] >= 0.95
    assert learner.completion(np.zeros((1, n_params)), [0])[0] <= 0.3              # chance: 1 in 16
    two = learner.completion(np.concatenate([perfect_4_2_4(10.0), np.zeros((1, n_params))]), [7, 8])
    assert two.tolist() == [learner.completion(perfect_4_2_4(10.0), [7])[0],
                            learner.completion(np.zeros((1, n_params)), [8])[0]]    # each network its own stream


def test_a_run_beyond_the_exact_readout_prints_its_completion_accuracy(tmp_path, capsys):
    out = tmp_path / "c.json"
    assert CLI.main(["--rule", "ahs85", "--size", "16-4-16", "--seeds", "0-1", "--epochs", "4", "--visible-cycles",
                     "1", "--clean-after", "2", "--completion-trials", "1", "--json", str(out)]) == 0
    assert "completion accuracy: mean" in capsys.readouterr().out
    data = json.loads(out.read_text())
    assert all(0 <= r["completion"] <= 1 for r in data["runs"]) and data["summary"]["completion"]["n"] == 2
