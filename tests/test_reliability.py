"""What a user can type: finite inputs that would overflow, work too large for memory, degenerate studies, API
arguments of the wrong kind, and the boundaries of the solve criterion (each one a mutation the suite must
catch)."""
import importlib
import os
import subprocess
import sys
import time

import numpy as np
import pytest

import encoder_backprop_8_3_8 as E
import study_encoder_backprop_8_3_8 as S
import training_loop as T
from interval_stats import auc, mcnemar_p, summarize_runs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(script, *args, cwd=None):
    return subprocess.run([sys.executable, os.path.join(ROOT, script), *args], capture_output=True, text=True,
                          cwd=cwd, timeout=120)


@pytest.mark.parametrize("script, args", [
    ("encoder_backprop_8_3_8.py", ["--init-scale", "1e308"]),
    ("encoder_backprop_8_3_8.py", ["--lr", "1e308"]),
    ("encoder_backprop_8_3_8.py", ["--seeds", "0-100000000"]),
    ("encoder_backprop_8_3_8.py", ["--seeds", "0-5000000"]),
    ("make_encoder_backprop_8_3_8_gif.py", ["--fps", "0.001"]),
    ("make_encoder_backprop_8_3_8_gif.py", ["--hold-final", "100000"]),
    ("data_movement_encoder_backprop_8_3_8.py", ["--bytes-per-element", "99999999999"]),
    ("data_movement_encoder_backprop_8_3_8.py", ["--json", "/proc/no/such/out.json"]),
    ("data_movement_encoder_backprop_8_3_8.py", ["--size", "4096-62-4096"]),
    ("encoder_boltzmann_8_3_8.py", ["--seeds", "0-5000000"]),
])
def test_inputs_that_would_overflow_or_exhaust_memory_are_refused_at_once(script, args, tmp_path, monkeypatch, capsys):
    """In this process (a real process's exit is tested once below): exit 2, one line, nothing written."""
    monkeypatch.chdir(tmp_path)
    main = importlib.import_module(script[:-len(".py")]).main
    start = time.perf_counter()
    with pytest.raises(SystemExit) as info:
        main(args)
    err = capsys.readouterr().err
    assert info.value.code == 2 and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and time.perf_counter() - start < 20
    assert os.listdir(tmp_path) == []


def test_a_refused_input_in_a_real_process_exits_2_with_one_line(tmp_path):
    proc = run("encoder_backprop_8_3_8.py", "--seeds", "0-100000000", cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and os.listdir(tmp_path) == []


def test_the_largest_finite_settings_train_without_nan_or_warnings():
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(divide="raise", over="raise", invalid="raise"):
            runs = E.sweep_seeds([0, 1], n_epochs=2000, lr=1000.0, init_scale=1000.0, early_stop=False)
    assert all(np.isfinite(r["hidden_codes"]).all() and np.isfinite(r["code_margin"]) for r in runs)


def test_a_long_run_keeps_a_bounded_history_that_ends_on_the_last_epoch(monkeypatch):
    monkeypatch.setattr(E, "MAX_HISTORY", 100)
    _, history = E.train(n_epochs=1234, seed=2, early_stop=False, verbose=False)
    assert len(history["epoch"]) <= 101 and history["epoch"][-1] == 1234
    _, history = E.train(n_epochs=5000, seed=0, verbose=False)
    assert history["epoch"][-1] == 3631 and len(history["epoch"]) <= 101


@pytest.mark.parametrize("study", list(S.STUDIES))
def test_every_study_survives_one_epoch_where_nothing_solves(study, tmp_path, capsys, monkeypatch):
    from studies import compare
    monkeypatch.setattr(compare, "TIMING_SECONDS", 0.05)
    extra = {"compare": ["--learners", "backprop", "--tune-seeds", "2-3", "--patience-grid", "1", "--timing-repeats", "1"],
             "optimizers": ["--fahlman-cap", "1", "--sizes", "8-3-8"], "restarts": ["--held-out", "2-3"],
             "grid": ["--held-out", "2-3"]}.get(study, [])
    assert S.main([study, "--seeds", "0-1", "--epochs", "1", "--workers", "1", "--results", str(tmp_path),
                   "--figures", str(tmp_path), *extra]) == 0
    assert (tmp_path / f"{study}.json").exists() and (tmp_path / f"study_{study}.png").exists()


@pytest.mark.parametrize("call, words", [
    (lambda: E.accuracy("a model"), "model must be an EncoderMLP"),
    (lambda: E.code_margin(None), "model must be an EncoderMLP"),
    (lambda: E.sweep_seeds([0, 1], n_epochs=5, lr=[True, 0.5]), "lr must be a number"),
    (lambda: E.sweep_seeds([0], n_epochs=5, init_scale="0.1"), "init_scale must be a number"),
    (lambda: E.train(n_epochs=5, snapshot_callback=5, verbose=False), "snapshot_callback must be callable"),
    (lambda: E.sweep_seeds([0], n_epochs=5, observer="x"), "observer must be callable"),
    (lambda: E.sweep_seeds([0], n_epochs=5, workers=0), "workers must be an integer"),
    (lambda: summarize_runs([]), "at least one run"),
    (lambda: E.sweep_seeds("0-3"), "seeds must be a sequence"),
])
def test_the_api_answers_wrong_arguments_with_clear_value_errors(call, words):
    with pytest.raises(ValueError, match=words):
        call()


# ------------------------------------------------------------------------------- the criterion's edges
def test_the_published_recipe_stops_at_epoch_201_not_before():
    runs = E.sweep_seeds(range(10), n_epochs=2000, size="4-2-4")
    early = [r for r in runs if r["epochs"] == 201]
    assert len(early) >= 5 and all(r["solve_epoch"] == 201 for r in early)
    # those networks meet the criterion well before 201: the floor, not the criterion, stops them
    first_solved = {}

    def observe(epoch, rows, batch):
        for row, ok in zip(rows, T.solved_in(batch)):
            first_solved.setdefault(int(row), epoch if ok else None)
            if ok and first_solved[int(row)] is None:
                first_solved[int(row)] = epoch
    E.sweep_seeds(range(10), n_epochs=300, size="4-2-4", early_stop=False, observer=observe)
    assert any(first_solved[i] is not None and first_solved[i] < 200 for i in range(10) if runs[i]["epochs"] == 201)


def test_a_code_bit_at_exactly_one_half_is_off():
    h = np.full((4, 2), 0.2)
    h[1, 1] = h[2, 0] = 0.9
    h[3] = [0.9, 0.5]                                    # would be corner 3 if 0.5 counted as on
    assert T.corner_of(h).tolist() == [0, 1, 2, 2]
    assert not T.is_solved(T.corner_of(h), np.eye(4), h)
    h[3, 1] = np.nextafter(0.5, 1)
    assert T.is_solved(T.corner_of(h), np.eye(4), h)


def test_the_margin_is_inclusive():
    h = np.array([[0.3, 0.3], [0.3, 0.7], [0.7, 0.3], [0.7, 0.7]])
    margin = float(T.code_margin_of(h))
    assert T.is_solved(T.corner_of(h), np.eye(4), h, margin=margin)
    assert not T.is_solved(T.corner_of(h), np.eye(4), h, margin=np.nextafter(margin, 1))


def test_reconstruction_reads_each_patterns_own_row():
    outputs = np.array([[0.9, 0.8, 0.1], [0.95, 0.96, 0.1], [0.0, 0.0, 0.5]])   # rows right, columns wrong
    assert T.reconstructs(outputs) and not T.reconstructs(outputs.T)
    assert T.accuracy_of(outputs) == 1.0 and T.accuracy_of(outputs.T) < 1.0


def test_the_criterion_when_the_codes_need_not_fill_the_cube():
    hidden = np.array([[0.1, 0.9], [0.9, 0.1], [0.9, 0.9]])                 # 3 patterns, 4 corners
    assert T.is_solved(T.corner_of(hidden), np.eye(3), hidden)
    hidden[2] = [0.9, 0.1]
    assert not T.is_solved(T.corner_of(hidden), np.eye(3), hidden)
    many = np.random.default_rng(0).random((5, 40, 10))                     # the sorted path, H > 5
    codes = T.corner_of(many)
    assert T.count_distinct(codes, 10).tolist() == [len(set(c)) for c in codes.tolist()]


def test_a_fixed_budget_alone_restarts_and_the_number_of_restarts_is_capped():
    from test_sizes import ScriptedLearner
    result = T.fit(ScriptedLearner(), [9], {}, 100, restart_every=30)
    assert result["restart_epochs"][0] == [30, 60, 90]
    capped = T.fit(ScriptedLearner(), [9], {}, 100, restart_every=30, max_restarts=1)
    assert capped["restart_epochs"][0] == [30]
    patient = T.fit(ScriptedLearner(), [9], {}, 100, patience=20)
    # the code count first rises at epoch 1 of each attempt, so each restart comes 21 epochs after the last
    assert patient["restart_epochs"][0] == [21, 42, 63, 84]


def test_reconstruction_of_a_stack_reads_rows():
    one = np.array([[0.9, 0.8, 0.1], [0.95, 0.96, 0.1], [0.0, 0.0, 0.5]])
    stack = np.stack([one, one.T])
    assert T.reconstructs(stack).tolist() == [True, False]


def test_the_loop_reports_progress_and_trains_to_the_cap_without_early_stop():
    from test_sizes import ScriptedLearner
    seen = []
    result = T.fit(ScriptedLearner(), [0, 1, 4], {}, 60, early_stop=False, progress=lambda e, k: seen.append((e, k)))
    assert seen[0] == (1, 3) and seen[-1] == (60, 3) and len(seen) == 60
    assert result["epochs"].tolist() == [60, 60, 60] and result["solve_epoch"].tolist() == [10, 20, 50]
    seen = []
    T.fit(ScriptedLearner(), [0, 1], {}, 60, progress=lambda e, k: seen.append((e, k)))
    assert seen[9] == (10, 2) and seen[10] == (11, 1)                 # network 0 left at epoch 10


def test_patience_and_a_budget_together_both_restart():
    from test_sizes import ScriptedLearner
    result = T.fit(ScriptedLearner(), [9], {}, 100, patience=20, restart_every=1000)
    assert result["restart_epochs"][0] == [21, 42, 63, 84]


def test_the_201_floor_holds_with_restarts_and_the_margin_reaches_the_loop():
    runs = E.sweep_seeds(range(6), n_epochs=3000, size="4-2-4", patience=1000)
    assert sum(r["epochs"] == 201 for r in runs) >= 3 and min(r["epochs"] for r in runs) >= 201
    strict = E.sweep_seeds(range(6), n_epochs=3000, size="4-2-4", margin=0.3)
    for plain, tight in zip(runs, strict):
        if tight["solved"]:
            assert tight["margin_at_solve"] >= 0.3 and tight["code_margin"] >= 0.3
        if plain["solved"] and plain["epochs"] == 201:
            assert plain["margin_at_solve"] is not None
    assert any(t["epochs"] > p["epochs"] for p, t in zip(runs, strict))


def test_cost_per_success_pays_for_failures():
    from interval_stats import cost_per_success
    result = cost_per_success([10, 20, 30, 40], [True, False, True, False])
    assert result["mean"] == 50.0 and result["successes"] == 2 and result["n"] == 4
    assert result["ci_95"][0] <= 50.0 <= result["ci_95"][1]
    assert cost_per_success([5, 5], [False, False]) is None
    assert cost_per_success([7], [True])["ci_95"] == [7.0, 7.0]
    with pytest.raises(ValueError, match="same shape"):
        cost_per_success([1, 2], [True])


def test_auc_and_mcnemar_on_cases_worked_by_hand():
    assert auc([1, 2, 3], [False, False, True]) == 1.0
    assert auc([3, 2, 1], [False, False, True]) == 0.0
    assert auc([1, 1, 1, 1], [False, True, False, True]) == 0.5          # ties count one half
    assert auc([1, 2, 2, 3], [False, False, True, True]) == 0.875        # 3.5 of 4 pairs ordered
    assert auc([1, 2], [True, True]) is None
    from interval_stats import mcnemar_p
    assert mcnemar_p(0, 0) == 1.0 and mcnemar_p(10, 0) == pytest.approx(2 / 1024)
    assert mcnemar_p(3, 5) == mcnemar_p(5, 3) == pytest.approx(2 * (1 + 8 + 28 + 56) / 256)
