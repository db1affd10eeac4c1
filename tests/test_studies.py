"""The research additions: restarts, the margin criterion, squared error, the observer, and each study."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import encoder_backprop_8_3_8 as E
import study_encoder_backprop_8_3_8 as S
import training_loop as T
import visualize_encoder_backprop_8_3_8 as V
from interval_stats import monte_carlo_uniform_p, wilson_interval
import data_movement_encoder_backprop_8_3_8 as D
from studies import STUDIES, common, compare, failures, grid, predict, recipe1986, restarts


# ------------------------------------------------------------------------------------------- the engine
def test_restarts_are_deterministic_and_recorded():
    m1, h1 = E.train(n_epochs=6000, seed=2, patience=600, verbose=False)
    m2, h2 = E.train(n_epochs=6000, seed=2, patience=600, verbose=False)
    assert h1 == h2 and np.array_equal(m1.params, m2.params)
    assert len(h1["restart_epochs"]) >= 1                       # seed 2 is stuck at 7 codes without restarts
    assert E.run_summary(m1, h1)["solved"]
    run = E.sweep_seeds([2], n_epochs=6000, patience=600, return_weights=True)[0]
    assert run["restart_epochs"] == h1["restart_epochs"] and run["restarts"] == len(h1["restart_epochs"])
    assert run["epochs"] == h1["epoch"][-1] and np.array_equal(np.array(run["W1"]), m1.W1)


def test_a_restart_redraws_from_the_spawned_seed_sequence():
    params = E.init_params(5, 0.1, attempt=2)
    child = np.random.SeedSequence(5).spawn(2)[1]
    rng = np.random.default_rng(child)
    assert np.array_equal(E.unpack(params)[0], rng.uniform(-0.1, 0.1, (8, 3)))
    assert np.array_equal(E.init_params(5, 0.1), E.EncoderMLP(seed=5).params)


def test_without_restarts_results_are_identical_to_plain_training():
    plain = E.sweep_seeds(range(8), n_epochs=1500, return_weights=True)
    patient = E.sweep_seeds(range(8), n_epochs=1500, patience=1500, return_weights=True)
    assert plain == patient
    _, h_plain = E.train(n_epochs=2000, seed=1, verbose=False)
    _, h_patient = E.train(n_epochs=2000, seed=1, patience=5000, verbose=False)
    assert h_plain == h_patient


def test_a_restart_zeroes_biases_and_velocities():
    seen = []

    def observe(epoch, rows, batch):
        seen.append(batch.params[0].copy())
    runs = E.sweep_seeds([2], n_epochs=700, patience=300, observer=observe)
    first = runs[0]["restart_epochs"][0]
    # after the restart epoch, the first update starts from fresh weights with zero velocity
    fresh = E.init_params(2, 0.1, attempt=1)
    W1, b1, W2, b2 = E.unpack(fresh[None])
    h, _, y = E.forward(W1, b1, W2, b2)
    g = np.concatenate([a.reshape(1, -1) for a in E.backward(W2, h, y)], axis=1)[0]
    assert np.array_equal(seen[first], fresh - 0.5 * g)


def test_margin_criterion_keeps_the_published_numbers_at_zero_and_delays_solves_above():
    assert E.sweep_seeds([0], n_epochs=5000, margin=0.0)[0]["epochs"] == 3631
    strict = E.sweep_seeds(range(6), n_epochs=3000, margin=0.1)
    assert any(r["solved"] for r in strict)
    for r in strict:
        if r["solved"]:
            assert r["code_margin"] >= 0.1
    _, history = E.train(seed=0, margin=0.05, n_epochs=4000, verbose=False)
    assert history["epoch"][-1] > 3631                   # its margin at 3631 is below 0.05 (it reaches it at 6710)


def test_sse_trains_and_differs_from_ce():
    ce = E.sweep_seeds([0, 1], n_epochs=2000)
    sse = E.sweep_seeds([0, 1], n_epochs=2000, loss="sse")
    assert [r["epochs"] for r in ce] != [r["epochs"] for r in sse]
    assert all(r["loss"] == "sse" for r in sse)


# ------------------------------------------------------------------------------------------ the analyses
def test_collision_anatomy_on_a_hand_made_state():
    h = 0.05 + 0.9 * V.corners_of(3)                       # pattern i at corner i
    h[7] = [0.05, 0.95, 0.45]                          # pattern 7 joins corner 010 (= pattern 2), 111 left empty
    a = failures.collision_anatomy(h)
    assert a["pair"] == [2, 7] and a["shared_corner"] == 2 and a["empty_corner"] == 7
    assert a["hamming"] == 2 and a["nearest_pattern"] == 7 and a["nearest_unit"] == 2
    assert a["nearest_distance"] == pytest.approx(0.05)
    assert failures.collision_anatomy(0.05 + 0.9 * V.corners_of(3)) is None


def test_monte_carlo_p_value_separates_uniform_from_skewed_counts():
    assert monte_carlo_uniform_p([10, 10, 10, 10], draws=2000)[1] > 0.5
    assert monte_carlo_uniform_p([40, 0, 0, 0], draws=2000)[1] < 0.01


# --------------------------------------------------------------------------------- each study, tiny sizes
STUDY_KEYS = {
    "failures": ["unsolved", "pair_counts"],
    "margin": ["runs"],
    "restarts": [],
    "plateau": [],
    "predict": [],
    "biases": [],
    "recipe1986": [],
    "grid": [],
    "compare": [],
}
TINY = {
    "failures": ["--seeds", "0-19", "--epochs", "2000"],
    "margin": ["--seeds", "0-7", "--epochs", "1000", "--margins", "0,0.1"],
    "restarts": ["--seeds", "0-7", "--epochs", "1000", "--patiences", "300,600", "--lrs", "0.5",
                 "--held-out", "8-13"],
    "plateau": ["--seeds", "0-9", "--epochs", "800", "--lrs", "0.5,2"],
    "predict": ["--seeds", "0-19", "--epochs", "1000", "--held-out", "20-39", "--at", "300"],
    "biases": ["--seeds", "0-9", "--epochs", "800"],
    "recipe1986": ["--seeds", "0-5", "--epochs", "600", "--lrs", "0.5,2"],
    "grid": ["--seeds", "0-2", "--epochs", "400", "--lrs", "0.5,1", "--init-scales", "0.1,0.5", "--held-out", "3-6"],
    "compare": ["--seeds", "0-5", "--epochs", "800", "--tune-seeds", "6-11", "--patience-grid", "300",
                "--learners", "backprop,cd1,recirculation", "--timing-repeats", "1"],
}


def tiny_figure(result):
    import plotting
    return plotting.plt.figure(figsize=(1, 1))


def forbid_training(monkeypatch):
    def train(*args, **kwargs):
        raise AssertionError("a redraw must not train")
    for module, name in ((T, "sweep"), (T, "fit"), (E, "sweep_seeds"), (common, "backprop_sweep")):
        monkeypatch.setattr(module, name, train)


@pytest.mark.parametrize("study", list(STUDY_KEYS))
def test_each_study_writes_its_json_and_figure_and_redraws_both_from_the_json_alone(study, tmp_path, capsys,
                                                                                    monkeypatch):
    folders = ["--results", str(tmp_path / "results"), "--figures", str(tmp_path / "viz")]
    monkeypatch.setattr(D, "TRACED_CD_UPDATES", 1)
    monkeypatch.setattr(compare, "TIMING_SECONDS", 0.05)
    assert S.main([study, *TINY[study], "--workers", "1", *folders]) == 0
    data = json.loads((tmp_path / "results" / f"{study}.json").read_text())
    assert data["config"]["study"] == study and data["summary"]["n"] > 0
    for key in STUDY_KEYS[study]:
        assert key in data
    png = tmp_path / "viz" / f"study_{study}.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    *report, wrote = capsys.readouterr().out.splitlines()
    assert f"wrote {tmp_path / 'results' / (study + '.json')}" in wrote

    png.unlink()
    forbid_training(monkeypatch)
    if study != "margin":       # the run above drew its figure from the JSON round trip already (run_study): one
        monkeypatch.setattr(STUDIES[study], "figure", tiny_figure)      # study draws it again, the rest check the rest
    assert S.main([study, "--redraw", *folders]) == 0
    *again, wrote = capsys.readouterr().out.splitlines()
    assert again == report and f"wrote {png}" in wrote
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("content", [None, "{not json", "[]", '{"config": {"study": "grid"}, "summary": {}}'])
def test_a_redraw_without_a_usable_json_is_a_one_line_error(content, tmp_path, capsys):
    if content is not None:
        (tmp_path / "grid.json").write_text(content)
    with pytest.raises(SystemExit) as info:
        S.main(["grid", "--redraw", "--results", str(tmp_path), "--figures", str(tmp_path)])
    assert info.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert not (tmp_path / "study_grid.png").exists()


def without_timings(value):
    if isinstance(value, dict):
        return {k: without_timings(v) for k, v in value.items() if "seconds" not in k}
    if isinstance(value, list):
        return [without_timings(v) for v in value]
    return value


def test_a_study_that_records_during_training_gives_the_same_numbers_on_one_or_two_workers():
    one, two = (failures.run(common.make_config(failures, seeds=range(24), epochs=1200, workers=w, chunk_size=5))
                for w in (1, 2))
    assert json.dumps(without_timings(one)) == json.dumps(without_timings(two))
    assert one["summary"]["early_codes"]["400"]["networks"] == 24


def test_every_recorder_records_the_same_columns_in_one_process_or_spread_over_chunks():
    shape = T.DEFAULT_SHAPE
    recorders = [recipe1986.PlateauEpochs(), recipe1986.SevenCodes("sse", shape, keep_states=True),
                 predict.StateAt(300, shape), failures.EarlyCorners()]
    runs, recorded = zip(*(common.backprop_sweep(range(10), recorders, workers=w, chunk_size=3, n_epochs=600,
                                                 loss="sse") for w in (1, 2)))
    assert runs[0] == runs[1]
    for recorder in recorders:
        here, spread = recorded[0][recorder.name], recorded[1][recorder.name]
        assert here.keys() == spread.keys() and all(np.array_equal(here[k], spread[k], equal_nan=True) for k in here)
    seven = recorded[0]["seven_codes"]
    caught = seven["epoch"] > 0
    assert caught.any() and np.isfinite(seven["share"][caught]).all() and np.isnan(seven["share"][~caught]).all()
    assert recorded[0]["state_at"]["captured"].sum() == sum(r["epochs"] >= 300 for r in runs[0])


def test_the_study_cli_and_the_studies_train_without_importing_matplotlib():
    code = ("import sys, study_encoder_backprop_8_3_8, studies, studies.common; "
            "studies.STUDIES['plateau'].run(studies.common.make_config(studies.STUDIES['plateau'], seeds=[0], "
            "epochs=5, lrs=[0.5])); assert 'matplotlib' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=os.path.dirname(os.path.dirname(__file__)))


def test_every_study_declares_what_the_runner_needs():
    for name, module in STUDIES.items():
        assert module.NAME == name and module.DESCRIPTION and module.EPOCHS > 0
        assert callable(module.run) and callable(module.report) and callable(module.figure)
        assert all(len(option) == 3 for option in module.OPTIONS.values())
    assert {n for n, m in STUDIES.items() if m.ONLY_8_3_8} == {"failures", "recipe1986"}


def test_failures_numbers_are_consistent():
    data = failures.run(common.make_config(failures, seeds=range(60), epochs=3000))   # one unsolved, no collision
    summary = data["summary"]
    assert summary["n"] == 60
    assert summary["n_unsolved"] == summary["n_one_collision"] + summary["n_other_unsolved"] == 60 - summary["solved"]["k"]
    assert sum(data["pair_counts"].values()) == summary["n_one_collision"] == len(data["unsolved"])
    assert sum(summary["hamming_counts"].values()) == summary["n_one_collision"]
    assert 0 < summary["tests"]["pairs_vs_uniform_28"]["p"] <= 1


def test_grid_is_one_batched_run_matching_single_cells():
    rates = grid.run(common.make_config(grid, seeds=range(4), epochs=1500, lrs=[0.3, 0.5], init_scales=[0.1, 0.5],
                                        held_out=[4, 5]))["summary"]["solve_rate"]
    for i, lr in enumerate((0.3, 0.5)):
        for j, scale in enumerate((0.1, 0.5)):
            runs = E.sweep_seeds(range(4), n_epochs=1500, lr=lr, init_scale=scale)
            assert rates[i][j] == sum(r["solved"] for r in runs) / 4


@pytest.mark.parametrize("args", [["nonsense"], ["grid", "--lrs", "a"], ["restarts", "--patiences", "0"],
                                  ["margin", "--margins", "0.6"], ["failures", "--seeds", "3-1"],
                                  ["failures", "--epochs", "0"]])
def test_bad_study_arguments_exit_2(args, tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        S.main([*args, "--results", str(tmp_path / "r"), "--figures", str(tmp_path / "f")])
    assert info.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert not os.path.exists(tmp_path / "r")


# ------------------------------------------------------------------------------- configs and sizes
def test_every_study_config_records_the_settings_its_sweeps_used():
    config = recipe1986.run(common.make_config(recipe1986, seeds=range(3), epochs=300, lrs=[0.25, 2]))["config"]
    used = {(s["loss"], s["lr"], s["early_stop"], s["n_epochs"]) for s in config["sweeps"]}
    assert used == {("sse", 0.25, False, 300), ("sse", 2.0, False, 300), ("ce", 0.25, False, 300), ("ce", 2.0, False, 300)}
    assert "lr" not in config and "loss" not in config           # no single setting pretends to cover them all
    sweeps = grid.run(common.make_config(grid, seeds=range(2), epochs=300, lrs=[0.3, 0.5], init_scales=[0.1, 0.5],
                                         held_out=[4, 5]))["config"]["sweeps"]
    assert sweeps[0]["lr"] == [0.3, 0.5] and sweeps[0]["init_scale"] == [0.1, 0.5] and sweeps[0]["n_networks"] == 8


def test_grid_where_nothing_solves_does_not_crash_and_its_checks_use_the_given_seeds_and_epochs(tmp_path, capsys):
    assert S.main(["grid", "--seeds", "0-1", "--epochs", "200", "--lrs", "0.05,0.1", "--init-scales", "0.1",
                   "--held-out", "2-3", "--workers", "1", "--results", str(tmp_path), "--figures", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "grid.json").read_text())["summary"]
    assert all(rate == 0 for row in summary["solve_rate"] for rate in row)
    for check in summary["published_claim_checks"]:
        assert check["seeds"] == "0-1" and check["epochs"] == 200 and check["solved"]["n"] == 2
    assert "cap 200" in capsys.readouterr().out


def test_studies_for_three_bits_refuse_other_sizes_and_the_others_run_at_them(tmp_path, capsys):
    for study in ("failures", "recipe1986"):
        with pytest.raises(SystemExit) as info:
            S.main([study, "--size", "4-2-4", "--results", str(tmp_path), "--figures", str(tmp_path)])
        assert info.value.code == 2 and "8-3-8 encoder only" in capsys.readouterr().err
    assert S.main(["restarts", "--size", "4-2-4", "--seeds", "0-9", "--epochs", "600", "--patiences", "200",
                   "--lrs", "0.5", "--held-out", "10-13", "--workers", "1",
                   "--results", str(tmp_path), "--figures", str(tmp_path)]) == 0
    assert json.loads((tmp_path / "restarts.json").read_text())["config"]["size"] == "4-2-4"


def test_compare_is_one_race_tuned_on_some_seeds_and_reported_on_others(tmp_path, monkeypatch):
    monkeypatch.setattr(compare, "TIMING_SECONDS", 0.05)
    monkeypatch.setattr(compare, "figure", tiny_figure)       # not under test here: the study tests draw it
    monkeypatch.setattr(compare, "data_movement_per_update",
                        lambda config, row: None if row == "ahs85" else {"layerwise": 3.0, "best": 2.0})
    S.main(["compare", "--seeds", "0-9", "--epochs", "640", "--tune-seeds", "100-109", "--patience-grid", "160,320",
            "--budgets", "160,640,5000", "--learners", "backprop,cd1,ahs85,recirculation", "--ahs85-networks", "2",
            "--ahs85-cycles", "30", "--timing-repeats", "3", "--workers", "1",
            "--results", str(tmp_path), "--figures", str(tmp_path)])
    rows = {r["learner"]: r for r in json.loads((tmp_path / "compare.json").read_text())["summary"]["rows"]}
    assert list(rows) == ["backprop", "cd1", "ahs85", "recirculation"]
    assert rows["ahs85"]["n"] == 2 and rows["ahs85"]["tuning"] is None and rows["ahs85"]["cap_updates"] == 30
    assert rows["cd1"]["updates_per_epoch"] == 16 and rows["backprop"]["updates_per_epoch"] == 1
    for name, row in rows.items():
        nets = row["networks"]
        assert row["seeds"] == [0, row["n"] - 1] and nets["seed"] == list(range(row["n"]))
        if name != "ahs85":
            assert row["cap_updates"] == 640 and row["tune_seeds"] == [100, 109]
            costs = {t["patience_updates"]: t["cost_updates_per_solved"]["mean"] for t in row["tuning"]
                     if t["cost_updates_per_solved"]}
            tried = [t["patience_updates"] for t in row["tuning"]]
            assert tried[0] is None and tried[-2:] == [160, 320] and all(160 % p == 0 for p in tried[1:-2])
            assert row["patience_updates"] == min(costs, key=costs.get, default=None)   # one rule for every learner
        solved = [s is not None for s in nets["solve_updates"]]
        assert row["solved"]["k"] == sum(solved)
        for s, spent in zip(nets["solve_updates"], nets["spent_updates"]):    # first solve stops a network
            assert spent == (s if s is not None else row["cap_updates"])
        for budget, within in row["solved_within_updates"].items():
            if float(budget) > row["cap_updates"]:
                assert within is None
            else:
                assert within["k"] == sum(s is not None and s <= float(budget) for s in nets["solve_updates"])
        timing = row["cpu_seconds_per_network_epoch"]
        assert len(timing["repeats"]) == 3 and timing["median"] == sorted(timing["repeats"])[1]
        if any(solved):
            want = sum(nets["spent_updates"]) / sum(solved)
            assert row["cost_updates_per_solved"]["mean"] == pytest.approx(want)
            assert row["cost_cpu_seconds_per_solved"]["mean"] == pytest.approx(want * row["cpu_seconds_per_update"])
            if row["data_movement_per_update"]:
                assert row["cost_data_movement_per_solved"]["mean"] == pytest.approx(want * 2.0)
    assert rows["ahs85"]["data_movement_per_update"] is None and rows["ahs85"]["cost_data_movement_per_solved"] is None


def test_compare_times_its_rows_in_turns_and_reprices_a_finished_race_without_training(tmp_path, monkeypatch,
                                                                                       capsys):
    monkeypatch.setattr(compare, "TIMING_SECONDS", 0.01)
    monkeypatch.setattr(compare, "data_movement_per_update", lambda config, row: {"layerwise": 3.0, "best": 2.0})
    monkeypatch.setattr(compare, "figure", tiny_figure)       # not under test here: the study tests draw it
    timed = []
    time_per_epoch = compare.time_per_epoch
    monkeypatch.setattr(compare, "time_per_epoch", lambda config, row, epochs: timed.append(row) or
                        time_per_epoch(config, row, epochs))
    folders = ["--results", str(tmp_path), "--figures", str(tmp_path)]
    assert S.main(["compare", "--seeds", "0-3", "--epochs", "200", "--tune-seeds", "100-103", "--patience-grid",
                   "100", "--learners", "backprop,recirculation", "--timing-repeats", "3", "--workers", "1",
                   *folders]) == 0
    rows = ["backprop", "recirculation"]
    # two calibration sweeps per row, then repeat r of every row before repeat r + 1 of any
    assert timed == [r for r in rows for _ in range(2)] + rows * 3
    race = json.loads((tmp_path / "compare.json").read_text())
    assert race["summary"]["seconds"] > 0 and "repriced" not in race["summary"]

    sweeps = []
    sweep = T.sweep
    monkeypatch.setattr(T, "sweep", lambda *args, **kwargs: sweeps.append((args, kwargs)) or sweep(*args, **kwargs))
    timed.clear()
    capsys.readouterr()
    assert S.main(["compare", "--reprice", str(tmp_path / "compare.json"), "--timing-repeats", "2", "--workers", "1",
                   "--seeds", "7-8", "--budgets", "1", *folders]) == 0    # the race's own options, not these
    assert timed == [r for r in rows for _ in range(2)] + rows * 2
    assert all(args[1] == list(range(compare.TIMING_NETWORKS)) and args[3]["early_stop"] is False
               for args, _ in sweeps)                     # the timing sweeps only: nothing of the race runs again
    again = json.loads((tmp_path / "compare.json").read_text())
    assert again["config"] == race["config"] and again["summary"]["race_seconds"] == race["summary"]["seconds"]
    assert again["summary"]["repriced"] == {"from": "compare.json", "engine": "compiled", "timing_repeats": 2}
    for old, new in zip(race["summary"]["rows"], again["summary"]["rows"]):
        timing = new["cpu_seconds_per_network_epoch"]
        assert len(timing["repeats"]) == 2 and timing["median"] == pytest.approx(sum(timing["repeats"]) / 2)
        priced = ("cpu_seconds_per_network_epoch", "cpu_seconds_per_update", "solved_within_cpu_seconds",
                  "cost_cpu_seconds_per_solved")
        assert {k: v for k, v in new.items() if k not in priced} == {k: v for k, v in old.items() if k not in priced}
        assert new["cpu_seconds_per_update"] == timing["median"] / new["updates_per_epoch"]
        if new["cost_cpu_seconds_per_solved"]:
            assert new["cost_cpu_seconds_per_solved"]["mean"] == pytest.approx(
                new["cost_updates_per_solved"]["mean"] * new["cpu_seconds_per_update"])
    assert "CPU prices timed again (compiled backprop engine), the races as run in" in capsys.readouterr().out


@pytest.mark.parametrize("content, words", [(None, "does not exist"), ("{}", "not a compare study result"),
                                            ('{"config": {"study": "grid"}, "summary": {"rows": []}}',
                                             "not a race of this study"),
                                            ('{"config": {"study": "compare", "size": "8-3-8", "cpu_budgets": [1], '
                                             '"dmd_budgets": [1]}, "summary": {"rows": [{"learner": "cd1"}]}}',
                                             "a row lacks n")])
def test_a_reprice_of_no_race_is_a_one_line_error_before_any_work(content, words, tmp_path, capsys, monkeypatch):
    path = tmp_path / "race.json"
    if content is not None:
        path.write_text(content)
    forbid_training(monkeypatch)
    with pytest.raises(SystemExit) as info:
        S.main(["compare", "--reprice", str(path), "--results", str(tmp_path), "--figures", str(tmp_path)])
    err = capsys.readouterr().err
    assert info.value.code == 2 and len(err.splitlines()) == 1 and words in err
    assert sorted(os.listdir(tmp_path)) == ([] if content is None else ["race.json"])


def test_restarts_pick_on_one_set_of_seeds_and_report_on_another(tmp_path, capsys):
    summary = restarts.run(common.make_config(restarts, seeds=range(12), epochs=1500, held_out=range(12, 24),
                                              patiences=[150, 400], lrs=[0.5]))["summary"]
    assert summary["pick_seeds"] == [0, 11] and summary["held_out_seeds"] == [12, 23]
    entry = summary["by_lr"][0]
    for clock, patience in entry["chosen_patience"].items():
        picked = [r for r in entry["picked_on"] if r["clock"] == clock]
        best = min(picked, key=lambda r: (r["cost_epochs_per_solved"]["mean"] if r["cost_epochs_per_solved"]
                                          else float("inf"), r["patience"]))
        assert best["patience"] == patience
    held = entry["held_out"]
    assert held[0]["patience"] is None and all(r["seeds"] == [12, 23] for r in held)
    assert {(r["clock"], r["patience"]) for r in held[1:]} == set(entry["chosen_patience"].items())
    with pytest.raises(SystemExit) as info:
        S.main(["restarts", "--seeds", "0-11", "--held-out", "5-20", "--results", str(tmp_path),
                "--figures", str(tmp_path), "--force"])
    assert info.value.code == 2 and "overlaps" in capsys.readouterr().err


def test_the_seven_code_tracker_measures_the_colliding_pairs_share_of_the_hidden_error():
    shape = T.DEFAULT_SHAPE
    params = np.stack([E.init_params(0, 0.5), E.init_params(1, 0.5)])
    h, _, y = E.forward(*E.unpack(params, shape))

    class Batch:                                   # network 0 has one collision (patterns 6 and 7), network 1 none
        hidden, outputs = h, y

        def __init__(self):
            self.params = params

        def codes(self):
            return np.array([[0, 1, 2, 3, 4, 5, 6, 6], [0, 1, 2, 3, 4, 5, 6, 7]])
    recording = recipe1986.SevenCodes("sse", shape).fresh(2)
    recording.observe(5, np.array([0, 1]), Batch())
    share, w2_norm = recording.columns()["share"], recording.columns()["w2_norm"]
    dh = E.backward(E.unpack(params, shape)[2], h, y, loss="sse")[0][0]
    energy = (dh ** 2).sum(-1)
    assert share[0] == pytest.approx(energy[6:].sum() / energy.sum())
    assert w2_norm[0] == pytest.approx(np.linalg.norm(E.unpack(params, shape)[2][0]))
    assert np.isnan(share[1]) and np.isnan(w2_norm[1])


def test_a_sweep_is_reused_only_when_every_setting_is_the_same():
    from training_loop import DEFAULT_SHAPE
    base = {"n_epochs": 300, "size": DEFAULT_SHAPE}
    key = common.sweep_key(range(4), base)
    # spelled differently, the same sweep: defaults written out, ints for floats
    assert key == common.sweep_key([0, 1, 2, 3], {**base, "lr": 0.5, "margin": 0, "patience": None, "init_scale": 0.1})
    assert key == common.sweep_key(range(4), {**base, "bias_scale": (0, 0), "inputs": "binary"})     # the profile's
    for change in ({"lr": 0.1}, {"profile": "fahlman-code"}, {"patience": 100}, {"patience": 100, "patience_from": "plateau"},
                   {"bias_scale": (0.0, 1.0)}, {"loss": "sse"}, {"early_stop": False}, {"n_epochs": 301},
                   {"engine": "compiled"}):
        assert common.sweep_key(range(4), {**base, **change}) != key, change
    assert common.sweep_key([1, 0, 2, 3], base) != key

    sweeps = common.Sweeps(common.make_config(failures, workers=1))
    first, _ = sweeps([5, 6], n_epochs=300)
    first[0]["solved"] = "changed by the caller"           # the kept runs are a copy: a caller cannot spoil them
    again, _ = sweeps([5, 6], n_epochs=300, lr=0.5)
    assert again == E.sweep_seeds([5, 6], n_epochs=300, engine=common.StudyConfig.engine)   # the studies' engine
    assert len(sweeps.used) == 1 and sweeps.used[0]["n_networks"] == 2       # one sweep, recorded once


def test_the_bootstraps_pair_count_auc_is_scipys_auc_to_the_last_bit():
    from interval_stats import auc, pair_count_auc
    rng = np.random.default_rng(0)
    for trial in range(300):
        n = int(rng.integers(1, 40))
        scores = rng.integers(0, 4, n).astype(float) if trial % 2 else rng.normal(size=n)   # with ties, and without
        labels = rng.random(n) < 0.4
        assert pair_count_auc(scores, labels) == auc(scores, labels)


@pytest.mark.parametrize("row,cost,tried,chosen", [
    ("backprop", lambda p: abs(p - 40) + 100, [None, 15, 31, 62, 125, 250, 500], 31),   # halved until one loses
    ("cd1", lambda p: p + 100, [None, 15, 31, 62, 125, 250, 500], 15),       # ... or until an epoch of 16 updates
    ("backprop", lambda p: abs(p - 400) + 100, [None, 250, 500], 500)])      # the grid's inside: as given
def test_the_grid_grows_down_while_its_shortest_patience_wins(monkeypatch, row, cost, tried, chosen):
    monkeypatch.setattr(compare, "tuning_entry", lambda config, row, p: {
        "patience_updates": p, "cost_updates_per_solved": None if p is None else {"mean": cost(p)}})
    table, choice = compare.tune(common.make_config(compare, patience_grid=[250, 500]), row)
    assert [t["patience_updates"] for t in table] == tried and choice == chosen


def test_compare_at_another_size_prices_every_row_at_that_size(tmp_path, monkeypatch):
    monkeypatch.setattr(compare, "TIMING_SECONDS", 0.02)
    S.main(["compare", "--size", "4-2-4", "--seeds", "0-3", "--epochs", "400", "--tune-seeds", "10-13",
            "--patience-grid", "200", "--learners", "backprop,recirculation", "--timing-repeats", "1", "--workers", "1",
            "--results", str(tmp_path), "--figures", str(tmp_path)])
    summary = json.loads((tmp_path / "compare.json").read_text())["summary"]
    assert summary["published_ahs85"] is None                       # the published race is 8-3-8's
    best = {row["learner"]: row["data_movement_per_update"]["best"] for row in summary["rows"]}
    assert best == {"backprop": 1706, "recirculation": 1982}       # 4-2-4's (tests/test_bytedmd.py), not 8-3-8's


def test_the_studies_run_compiled_by_default_and_numpy_when_asked():
    parser = S.build_parser()
    for argv, engine in ((["margin"], "compiled"), (["margin", "--engine", "numpy"], "numpy"), (["all"], "compiled")):
        args = parser.parse_args(argv)
        args.executor = None                                      # as main sets it (no cluster)
        config = S.study_config("margin", args)
        assert config.engine == engine and common.make_config(STUDIES["margin"]).engine == "compiled"
        sweeps = common.Sweeps(config)
        sweeps([0], n_epochs=2)
        assert sweeps.used[0]["engine"] == engine                 # what the study's JSON records it ran on
    margin_help = parser._subparsers._group_actions[0].choices["margin"].format_help()
    assert "(default compiled)" in " ".join(margin_help.split())


def test_the_compare_figure_names_a_learner_that_solved_nothing_and_bounds_its_rate():
    def row(learner, solve_updates):
        return {"learner": learner, "n": 4, "networks": {"solve_updates": solve_updates, "spent_updates": [
            s if s is not None else 640 for s in solve_updates]}, "solved": {"k": sum(s is not None for s in
                                                                                   solve_updates)},
                "cpu_seconds_per_update": 1e-5, "data_movement_per_update": {"best": 1e4}, "tuning": None}
    fig = compare.figure({"summary": {"published_ahs85": None, "rows": [
        row("backprop", [100, None, 300, None]), row("chl", [None] * 4)]}})
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any(t.startswith(compare.ROWS["chl"][0]) and t.endswith("(0/4)") for t in legend) and len(legend) == 2
    bar = [c for c in fig.axes[0].containers if c.get_label().endswith("(0/4)")][0]
    (x, y), = bar.lines[0].get_xydata()
    top = bar.lines[2][0].get_segments()[0][1][1]
    assert (x, y) == (640, 0) and top == pytest.approx(wilson_interval(0, 4)[1])
    import plotting
    plotting.plt.close(fig)
