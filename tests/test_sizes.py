"""Encoder size as a parameter: N-H-N specs, gradients, batch = single identity and the CLI at 4-2-4, 8-3-8
and 16-4-16; and the one loop driving a learner that is not backprop."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import encoder_backprop_8_3_8 as E
import training_loop as T

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIZES = ["4-2-4", "8-3-8", "16-4-16"]


@pytest.mark.parametrize("spec, n, h", [("8-3-8", 8, 3), ("4-2-4", 4, 2), ("2-1-2", 2, 1), ("40-10-40", 40, 10),
                                        (" 16-4-16 ", 16, 4), ("32-5-32", 32, 5)])
def test_parse_size_reads_n_h_n(spec, n, h):
    shape = T.parse_size(spec)
    assert (shape.n_patterns, shape.n_hidden) == (n, h) and str(shape) == spec.strip()
    assert shape.n_params == 2 * n * h + h + n


@pytest.mark.parametrize("spec, words", [("8-8-8", "H must satisfy 1 <= H < N"), ("8-0-8", "H must satisfy"),
                                         ("1-1-1", "N must be in"), ("a-b-c", "expected N-H-N"),
                                         ("8-3", "expected N-H-N"), ("8-3-9", "as many outputs as inputs"),
                                         ("", "expected N-H-N"), ("8--3-8", "expected N-H-N")])
def test_parse_size_rejects_bad_specs(spec, words):
    with pytest.raises(ValueError, match=words):
        T.parse_size(spec)


@pytest.mark.parametrize("spec", ["8-8-8", "8-0-8", "1-1-1", "a-b-c", "8-3"])
def test_cli_rejects_bad_sizes_with_one_line(spec, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as info:          # in this process; one real process is below
        E.main(["--size", spec])
    out, err = capsys.readouterr()
    assert info.value.code == 2 and out == "" and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and "--size" in err and os.listdir(tmp_path) == []


def test_a_bad_size_in_a_real_process_is_one_line(tmp_path):
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "encoder_backprop_8_3_8.py"), "--size", "8-8-8"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert proc.returncode == 2 and proc.stdout == "" and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "--size" in proc.stderr


def numeric_grads(params, shape, loss, eps=1e-6):
    grads = np.zeros_like(params)
    for i in range(len(params)):
        for sign in (1, -1):
            p = params.copy()
            p[i] += sign * eps
            _, z, y = E.forward(*E.unpack(p, shape))
            grads[i] += sign * E.loss_value(z, y, loss=loss) / (2 * eps)
    return grads


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("loss", ["ce", "sse"])          # sse_offset and atanh are not gradients of a loss
def test_gradients_match_finite_differences_at_every_size(size, loss):
    shape = T.parse_size(size)
    params = np.random.default_rng(7).normal(0, 1, shape.n_params)
    W1, b1, W2, b2 = E.unpack(params, shape)
    h, _, y = E.forward(W1, b1, W2, b2)
    analytic = np.concatenate([g.ravel() for g in E.backward(W2, h, y, loss=loss)])
    assert np.allclose(analytic, numeric_grads(params, shape, loss), rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("size", SIZES)
def test_a_batch_equals_single_runs_bit_for_bit_at_every_size(size):
    seeds, lrs = [0, 1, 2, 3, 4, 5], [0.5, 0.5, 0.3, 1.0, 0.5, 0.8]
    batch = E.sweep_seeds(seeds, n_epochs=800, lr=lrs, size=size, patience=300, return_weights=True)
    for run, lr in zip(batch, lrs):
        alone = E.sweep_seeds([run["seed"]], n_epochs=800, lr=lr, size=size, patience=300, return_weights=True)[0]
        assert alone == run
    model, history = E.train(n_epochs=800, lr=lrs[2], seed=2, size=size, patience=300, verbose=False)
    assert history["epoch"][-1] == batch[2]["epochs"] and np.array_equal(model.W1, np.array(batch[2]["W1"]))
    n, h = T.parse_size(size).n_patterns, T.parse_size(size).n_hidden
    assert np.array(batch[0]["hidden_codes"]).shape == (n, h) and np.array(batch[0]["W2"]).shape == (h, n)


def test_the_default_size_is_the_published_network():
    assert E.sweep_seeds([0], size="8-3-8")[0] == E.sweep_seeds([0])[0]
    assert E.EncoderMLP(n_patterns=8, n_hidden=3, seed=4).params.tolist() == E.init_params(4).tolist()
    assert E.init_params(3, shape=T.parse_size("4-2-4")).shape == (4 * 2 * 2 + 2 + 4,)


@pytest.mark.parametrize("size, seeds", [("4-2-4", "0-19"), ("16-4-16", "0-3")])
def test_cli_sweep_at_other_sizes_prints_the_table_and_json(size, seeds, tmp_path, capsys):
    out = tmp_path / "r.json"
    assert E.main(["--size", size, "--seeds", seeds, "--epochs", "3000", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    n = T.parse_size(size).n_patterns
    assert text.startswith(f"{size} encoder, backprop") and "95% Wilson interval" in text
    assert f"/{n} " in text
    data = json.loads(out.read_text())
    assert data["config"]["size"] == size and all(r["size"] == size for r in data["runs"])
    assert all(len(r["hidden_codes"]) == n for r in data["runs"])


def test_4_2_4_mostly_solves_and_the_single_cli_run_prints_its_code_table(capsys):
    assert E.main(["--size", "4-2-4", "--seed", "0"]) == 0
    text = capsys.readouterr().out
    assert "SOLVED at epoch" in text and "4/4 distinct codes" in text and "h2" in text and "h3" not in text


# ------------------------------------------------------------------------------------------- codes
def test_both_ways_of_counting_distinct_codes_agree():
    rng = np.random.default_rng(0)
    for n_hidden in (1, 3, 5):
        codes = rng.integers(0, 2 ** n_hidden, (200, 8))
        assert np.array_equal(T.count_distinct(codes, n_hidden), T.count_distinct(codes))
        assert np.array_equal(T.count_distinct(codes), [len(set(row)) for row in codes.tolist()])


def test_corner_of_uses_unit_one_as_the_high_bit_at_any_width():
    h = np.array([[0.9, 0.1, 0.1, 0.1], [0.1, 0.1, 0.1, 0.9], [0.5, 0.51, 0.1, 0.9]])
    assert T.corner_of(h).tolist() == [8, 1, 5]                  # exactly 0.5 is not above the threshold


def test_is_solved_needs_n_distinct_codes_reconstruction_and_the_margin():
    codes, outputs = np.arange(4), np.eye(4)
    hidden = np.array([[0.35, 0.35], [0.35, 0.65], [0.65, 0.35], [0.65, 0.65]])
    assert T.is_solved(codes, outputs, hidden)
    assert T.is_solved(codes, outputs, hidden, margin=0.15)
    assert not T.is_solved(codes, outputs, hidden, margin=0.1500001)
    assert not T.is_solved(np.array([0, 1, 2, 2]), outputs, hidden)
    swapped = outputs[[1, 0, 2, 3]]
    assert not T.is_solved(codes, swapped, hidden)


# ------------------------------------------------------------------------------- any learner on the loop
class ScriptedLearner:
    """A learner that is not backprop: network s finds its N-th distinct code at epoch 10 * (s + 1)."""
    shape = T.Shape(4, 2)

    def __init__(self, min_stop_epoch=1):
        self.min_stop_epoch = min_stop_epoch

    def start(self, seeds, settings):
        return ScriptedBatch(np.asarray(seeds))


class ScriptedBatch:
    def __init__(self, seeds):
        self.seeds, self.epoch = seeds, 0
        self.params = np.zeros((len(seeds), 1))
        self.hidden = np.full((len(seeds), 4, 2), 0.9)
        self.outputs = np.broadcast_to(np.eye(4), (len(seeds), 4, 4)).copy()

    def codes(self):
        found = self.epoch >= 10 * (self.seeds + 1)
        return np.where(found[:, None], np.arange(4), np.array([0, 1, 2, 2]))

    def step(self):
        self.epoch += 1
        self.params += 1

    def restart(self, rows, attempts):
        self.params[rows] = 0

    def keep(self, mask):
        self.seeds, self.params = self.seeds[mask], self.params[mask]
        self.hidden, self.outputs = self.hidden[mask], self.outputs[mask]


def test_the_loop_drives_any_learner_and_honours_its_first_stop_epoch():
    result = T.fit(ScriptedLearner(), [0, 1, 4], {}, 100)
    assert result["epochs"].tolist() == [10, 20, 50] and result["solve_epoch"].tolist() == [10, 20, 50]
    assert result["params"].ravel().tolist() == [10, 20, 50]
    late = T.fit(ScriptedLearner(min_stop_epoch=30), [0, 1, 4], {}, 100)
    assert late["epochs"].tolist() == [30, 30, 50]
    capped = T.fit(ScriptedLearner(), [0, 9], {}, 40)
    assert capped["epochs"].tolist() == [10, 40] and capped["solve_epoch"].tolist() == [10, 0]


def test_no_script_uses_a_private_name_of_another_module_and_nothing_points_outside_the_repo():
    for name in os.listdir(ROOT):
        if name.endswith(".py") or name == "README.md":
            text = open(os.path.join(ROOT, name), encoding="utf-8").read()
            assert "../" + "shared" not in text, name       # split so that this file does not match itself
            if name.endswith(".py"):
                assert not any(f"{alias}._" in text for alias in ("E", "V", "S", "T", "cli")), name


class CodeScriptLearner:
    """One network whose distinct-code count follows `script` (epoch 1, 2, ...; the last value repeats), so the
    restart clocks can be read off exactly; a restart starts the script again."""
    shape = T.Shape(8, 3)
    min_stop_epoch = 1

    def __init__(self, script):
        self.script = script

    def start(self, seeds, settings):
        learner = self

        class Batch:
            params = np.zeros((1, 1))
            hidden = np.full((1, 8, 3), 0.9)
            outputs = np.zeros((1, 8, 8))                    # never reconstructs: never solved
            t = 0

            def codes(self):
                n = learner.script[min(self.t, len(learner.script)) - 1]
                return np.array([list(range(n)) + [0] * (8 - n)])

            def step(self):
                self.t += 1

            def restart(self, rows, attempts):
                self.t = 0

            def keep(self, mask):
                pass
        return Batch()


def test_the_plateau_clock_stands_still_on_one_corner_and_starts_afresh_when_codes_split():
    # 5 codes at epoch 1, one corner for epochs 2-40, then 3 codes for good
    script = [5] + [1] * 39 + [3]
    attempt = T.fit(CodeScriptLearner(script), [0], {}, 60, patience=30, max_restarts=1)
    assert attempt["restart_epochs"] == [[31]]               # the best (5) was set at epoch 1 by the start codes
    plateau = T.fit(CodeScriptLearner(script), [0], {}, 80, patience=30, max_restarts=1, patience_from="plateau")
    assert plateau["restart_epochs"] == [[71]]              # 3 codes from epoch 41 are a fresh best: 41 + 30
    two = T.fit(CodeScriptLearner([5] + [1] * 39 + [2]), [0], {}, 80, patience=30, max_restarts=1,
                patience_from="plateau")
    assert two["restart_epochs"] == [[71]]                  # even 2 codes, below the start's 5, start afresh
    with pytest.raises(ValueError, match="patience_from"):
        T.fit(CodeScriptLearner(script), [0], {}, 5, patience=3, patience_from="never")


def test_the_plateau_clock_rescues_the_short_patience_that_restarts_every_network_forever():
    stuck = E.sweep_seeds(list(range(8)), 3000, patience=250)
    rescued = E.sweep_seeds(list(range(8)), 10000, patience=250, patience_from="plateau")
    assert sum(r["solved"] for r in stuck) == 0 and all(r["restarts"] >= 10 for r in stuck)
    assert all(r["solved"] for r in rescued)


def test_random_biases_keep_the_weights_and_stay_in_range_and_zero_keeps_the_published_start():
    shape = T.parse_size("8-3-8")
    plain = E.init_params(3, 0.1, shape=shape)
    assert np.array_equal(E.init_params(3, 0.1, shape=shape, bias_scale=(0.0, 0.0)), plain)
    biased = E.init_params(3, 0.1, shape=shape, bias_scale=(1.0, 0.5))
    W1, b1, W2, b2 = E.unpack(biased, shape)
    P1, _, P2, _ = E.unpack(plain, shape)
    assert np.array_equal(W1, P1) and np.array_equal(W2, P2)
    assert 0 < np.abs(b1).max() <= 1.0 and 0 < np.abs(b2).max() <= 0.5
    alone = E.sweep_seeds([5], 300, bias_scale=(1.0, 1.0), return_weights=True, early_stop=False)
    together = E.sweep_seeds([2, 5, 9], 300, bias_scale=(1.0, 1.0), return_weights=True, early_stop=False)
    assert alone[0]["W1"] == together[1]["W1"] and alone[0]["b2"] == together[1]["b2"]
    with pytest.raises(ValueError, match="bias scale"):
        E.sweep_seeds([0], 5, bias_scale=(-1.0, 0.0))
