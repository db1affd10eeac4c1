"""Issue #24, items 4-6: no input runs without bound in memory or time, gives a wrong result silently, or ends in
a traceback. One test (or a few) per class of what an outside tester found."""
import importlib
import os
import sys
import warnings

import numpy as np
import pytest

import boltzmann_learners as B
import encoder_backprop_8_3_8 as E
import local_learners as L
import training_loop as T
from interval_stats import summarize_runs
from learners import get

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def refused(script, args, capsys):
    """Run a CLI's main in this process: it must exit 2 with one line and no traceback; returns that line."""
    main = importlib.import_module(script).main
    with pytest.raises(SystemExit) as info:
        main(args)
    err = capsys.readouterr().err
    assert info.value.code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err


# ------------------------------------------------------------------------------------ wrong results, silently
@pytest.mark.parametrize("script", ["encoder_backprop_8_3_8", "encoder_boltzmann_8_3_8"])
@pytest.mark.parametrize("args", [["--seeds", "1,9223372036854775809"], ["--seed", "9223372036854775808"]])
def test_a_seed_above_2_63_is_refused_with_one_line(script, args, tmp_path, capsys):
    # numpy made [1, 2^63 + 1] a float64 array: backprop crashed, Boltzmann trained the rounded seed
    assert "2^63" in refused(script, [*args, "--epochs", "1", "--json", str(tmp_path / "r.json")], capsys)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("learner", ["backprop", "cdk", "ahs85", "chl"])
def test_the_largest_seed_trains_as_itself_beside_a_small_one(learner):
    big = 2 ** 63 - 1
    loop = {"epochs": 2, **({} if learner == "ahs85" else {"restarts": False})}
    together = T.sweep(learner, [1, big], loop=loop, size="4-2-4")
    alone = T.sweep(learner, [big], loop=loop, size="4-2-4")
    below = T.sweep(learner, [big - 1], loop=loop, size="4-2-4")
    assert together.seeds == [1, big] and type(together.seeds[1]) is int
    assert np.array_equal(together["params"][1], alone["params"][0])
    assert not np.array_equal(alone["params"][0], below["params"][0])
    with pytest.raises(ValueError, match=r"2\^63"):
        T.sweep(learner, [1, big + 1], loop=loop, size="4-2-4")


@pytest.mark.parametrize("args", [["--temperature", "1e-307"], ["--readout-temperature", "1e-307"],
                                  ["--schedule", "2@1e-307"], ["--temperature", "1e7"]])
def test_a_temperature_that_would_overflow_the_readout_is_refused(args, capsys):
    refused("encoder_boltzmann_8_3_8", ["--rule", "ahs85", "--size", "4-2-4", "--seeds", "0-1", *args], capsys)


def test_the_coldest_temperatures_allowed_train_without_nan_or_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            for codes_from in ("v1", "clamped"):
                runs = B.sweep_boltzmann([0, 1], "ahs85", 4, size="4-2-4", temperature=1e-3, schedule=((1e-3, 2),),
                                         codes_from=codes_from, step=1000.0)
                assert all(np.isfinite(r["hidden_codes"]).all() for r in runs)
            runs = T.sweep("mean-field", [0], {"temperature": 1e-3, "lr": 1000.0}, {"epochs": 3}, size="4-2-4")
            assert np.isfinite(runs["hidden"]).all()
    with pytest.raises(ValueError, match="temperature"):
        T.sweep("mean-field", [0], {"temperature": 1e-307})


@pytest.mark.parametrize("make, words", [
    (lambda: B.AHS85(schedule=((-5.0, 2),)), "schedule temperature"),
    (lambda: B.AHS85(schedule=((10.0, 2.5),)), "time units"),
    (lambda: B.AHS85(collect_temperature=0.0), "temperature"),
    (lambda: B.AHS85(noise_on_off=1.5), "noise-on-off"),
    (lambda: B.AHS85("4-2-4", step=float("nan")), "step"),
    (lambda: B.AHS85("8-8-8"), "bad size"),
    (lambda: B.CDk(k=0), "k must be"),
    (lambda: B.CDk(lr=-1.0), "lr must be"),
    (lambda: B.CDk(target=True), "target must be"),
    (lambda: L.MeanField(T.DEFAULT_SHAPE, {"temperature": 1.0}), "settings must be a MeanFieldSettings"),
    (lambda: L.SettlingLearner(T.DEFAULT_SHAPE, "chl", L.GeneRecSettings()), "settings must be a CHLSettings"),
    (lambda: L.Recirculation("four", L.RecirculationSettings()), "bad size"),
])
def test_the_learner_classes_check_their_arguments_as_the_cli_does(make, words):
    with pytest.raises(ValueError, match=words):
        make()


def test_a_schedule_has_a_bounded_total_of_time_units(capsys):
    with pytest.raises(ValueError, match="add up to at most"):
        B.AHS85Settings(schedule=((20.0, 6000), (10.0, 6000)))
    refused("encoder_boltzmann_8_3_8", ["--rule", "ahs85", "--schedule", ",".join(["5000@10"] * 3)], capsys)


@pytest.mark.parametrize("options, words", [({"chunk_size": -5, "workers": 2}, "chunk_size must be"),
                                            ({"chunk_size": 0}, "chunk_size must be"),
                                            ({"chunk_size": 2.5, "workers": 2}, "chunk_size must be"),
                                            ({"workers": 10 ** 6}, "workers must be"),
                                            ({"workers": True}, "workers must be")])
def test_chunk_sizes_and_workers_out_of_range_are_refused(options, words):
    with pytest.raises(ValueError, match=words):
        E.sweep_seeds(range(4), n_epochs=2, **options)


def test_a_sweep_starts_no_more_workers_than_it_has_chunks(monkeypatch):
    import parallel_map
    asked = []
    original = parallel_map.map_chunks
    monkeypatch.setattr(parallel_map, "map_chunks", lambda *a, workers, **k: asked.append(workers) or original(
        *a, workers=workers, **k))
    runs = E.sweep_seeds(range(3), n_epochs=2, workers=200, chunk_size=1)
    assert asked == [3] and [r["seed"] for r in runs] == [0, 1, 2]
    E.sweep_seeds(range(3), n_epochs=2, workers=200)
    assert asked[-1] == 1                             # one chunk of at least MIN_CHUNK networks: this process


def test_a_run_of_any_length_prints_its_progress_whatever_the_history_keeps(monkeypatch, capsys):
    monkeypatch.setattr(E, "MAX_HISTORY", 2)          # a stride of 600 epochs: epoch 500 is not in the history
    _, history = E.train(n_epochs=1200, seed=0, early_stop=False, verbose=True)
    printed = capsys.readouterr().out.splitlines()
    assert history["epoch"] == [600, 1200] and printed[0].startswith("epoch    500  loss")


# ---------------------------------------------------------------------------------- memory, bounded and estimated
@pytest.mark.parametrize("case", ["backprop run 1200-12-1200", "ahs85 sweep 2 x 11-9-11"])
def test_the_memory_estimate_is_within_25_percent_of_the_measured_peak(case, tmp_path):
    """The estimate against the process's high-water mark (bench_encoder_backprop_8_3_8.py --only memory runs
    every case: sweeps of each learner, quickprop, a CD-k run whose uniforms dominate)."""
    if not sys.platform.startswith("linux"):
        pytest.skip("reads /proc/self/status")
    import bench_encoder_backprop_8_3_8 as bench
    estimate, measured = bench.measure_memory(case, tmp_path)
    assert 0.75 <= estimate / measured <= 1.25, (estimate, measured)


def test_a_large_networks_history_copies_no_epoch():
    # the history kept 1024 epochs' copies before it read them: 16 GB for --size 1000-10-1000
    import tracemalloc
    settings, loop = E.settings_of(30)
    shape = T.parse_size("500-5-500")
    tracemalloc.start()
    try:
        _, history = E.train(n_epochs=30, seed=0, early_stop=False, verbose=False, size=shape)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(history["epoch"]) == 30 and peak <= E.train_bytes(shape, settings, loop)


@pytest.mark.parametrize("script, args, words", [
    ("encoder_boltzmann_8_3_8", ["--rule", "ahs85", "--size", "12-11-12", "--seeds", "0-99"], "100 networks needs ~"),
    ("encoder_boltzmann_8_3_8", ["--rule", "cdk", "--size", "64-6-64", "--k", "1000", "--updates", "1000"],
     "of 1 network needs ~"),
    ("encoder_backprop_8_3_8", ["--size", "4096-62-4096", "--seeds", "0-99"], "100 networks needs ~"),
    ("make_encoder_backprop_8_3_8_gif", ["--size", "2000-20-2000", "--epochs", "2000", "--snapshot-every", "2"],
     "the GIF of a 2000-20-2000 network (1,021 frames) needs ~"),
])
def test_work_too_large_for_memory_is_refused_naming_the_figure(script, args, words, tmp_path, monkeypatch, capsys):
    # the Boltzmann bound missed the readout (it let 164,709 of these 12-11-12 networks through where 30 fit) and
    # the uniforms of CD-k's epoch (34 GB here)
    monkeypatch.chdir(tmp_path)
    err = refused(script, args, capsys)
    assert words in err and "GiB, limit 8 GiB" in err and os.listdir(tmp_path) == []


def test_a_single_run_checks_its_memory_before_any_work(monkeypatch, capsys):
    monkeypatch.setattr(T, "MAX_BYTES", 1 << 20)
    err = refused("encoder_backprop_8_3_8", ["--seed", "0"], capsys)
    assert "a run of one 8-3-8 network needs ~" in err
    with pytest.raises(ValueError, match="a run of one 8-3-8 network needs"):
        E.train(verbose=False)


def test_the_cube_of_many_hidden_units_is_drawn_without_its_corners():
    # every figure and the GIF built all 2^H corners: 2^30 of them (256 GB) for --size 40-30-40
    import matplotlib.pyplot as plt
    import visualize_encoder_backprop_8_3_8 as V
    fig, ax = plt.subplots()
    view = V.CubeView(ax, np.random.default_rng(0).random((40, 30)))
    view.update(np.random.default_rng(1).random((40, 30)), azim=80.0)
    fig.canvas.draw()
    plt.close(fig)
    assert len(view.corners) == 0 and view.points.get_offsets().shape == (40, 2)
    for h in range(1, V.MAX_CORNERS_H + 1):                  # the reach without the corners is the corners' reach
        assert V.hypercube_reach(h) == pytest.approx(np.abs(V.project_hypercube(V.corners_of(h))).max())


def test_a_code_table_of_thousands_of_patterns_stays_a_drawable_size():
    import matplotlib.pyplot as plt
    import visualize_encoder_backprop_8_3_8 as V
    fig = V.figure_code_table(np.random.default_rng(0).random((3000, 2)), "3000 patterns")
    assert fig.get_size_inches()[1] <= V.MAX_FIGURE_INCHES      # it was 900 inches, more than matplotlib draws
    plt.close(fig)


# ---------------------------------------------------------------------------------------------- time, bounded
@pytest.mark.parametrize("script, args", [
    ("encoder_boltzmann_8_3_8", ["--k", "1001"]),
    ("encoder_backprop_8_3_8", ["--seeds", "0-9", "--workers", "257"]),
    ("encoder_backprop_8_3_8", ["--epochs", "1000000001"]),
    ("data_movement_encoder_backprop_8_3_8", ["--cd-updates", "1001"]),
    ("data_movement_encoder_backprop_8_3_8", ["--ahs85-cycles", "101"]),
    ("bench_encoder_backprop_8_3_8", ["--repeat", "1001"]),
])
def test_counts_of_work_have_an_upper_bound(script, args, capsys):
    refused(script, args, capsys)


# ------------------------------------------------------------------------------------------ tracebacks, none
def test_the_benchmark_ends_on_ctrl_c_with_one_line_and_status_130(tmp_path):
    import signal
    import subprocess
    proc = subprocess.Popen([sys.executable, os.path.join(ROOT, "bench_encoder_backprop_8_3_8.py"), "--only", "sweep",
                             "--repeat", "1"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().startswith("python ")      # its header: the benchmark has started
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 130 and err.strip() == "interrupted"


@pytest.mark.parametrize("text", ["not json", '{"summary": {"rows": 5}}', '{"summary": {"rows": [{"learner": 3}]}}',
                                  '{"summary": {"rows": [{"learner": "cd1", "cost_updates_per_solved": '
                                  '{"mean": NaN, "ci_95": [1, 2]}}]}}',
                                  '{"summary": {"rows": [{"learner": "cd1", "n": 10, "solved": {"k": 1, "n": 10}, '
                                  '"median_updates_to_solve": {"median": 5}, "cost_updates_per_solved": '
                                  '{"mean": 1e999, "ci_95": [1, 2]}}]}}', "[]", ""])
def test_a_malformed_or_non_finite_compare_file_is_refused_with_one_line(text, tmp_path, capsys):
    path = tmp_path / "compare.json"
    path.write_text(text)
    assert "is not a compare study result" in refused("data_movement_encoder_backprop_8_3_8",
                                                       ["--compare", str(path)], capsys)


def test_a_compare_path_that_is_not_a_file_is_refused_at_once(tmp_path, capsys):
    os.mkfifo(tmp_path / "fifo")                               # opening it would wait for a writer forever
    for path in (tmp_path, tmp_path / "fifo"):
        assert "not a regular file" in refused("data_movement_encoder_backprop_8_3_8", ["--compare", str(path)],
                                               capsys)


MODEL = E.EncoderMLP()
RUN = T.sweep("backprop", [0], loop={"epochs": 1})
RUN_LEARNER = get("backprop").make(T.DEFAULT_SHAPE, RUN.settings, RUN.loop)


@pytest.mark.parametrize("call, words", [
    (lambda: E.train(2, optimizer=None, verbose=False), "optimizer must be one of"),
    (lambda: E.train(2, early_stop="no", verbose=False), "early_stop must be True or False"),
    (lambda: E.train(2, verbose="yes"), "verbose must be True or False"),
    (lambda: E.train(10 ** 30, verbose=False), "epochs must be at most"),
    (lambda: E.train(2, size=(8, 3), verbose=False), "bad size"),
    (lambda: E.sweep_seeds([0], n_epochs=2, return_weights="x"), "return_weights must be True or False"),
    (lambda: E.sweep_seeds([0], n_epochs=2, executor="x"), "executor must be"),
    (lambda: E.sweep_seeds([0], n_epochs=2, progress=3), "progress must be callable"),
    (lambda: T.sweep("backprop", [0], 5), "takes a mapping"),
    (lambda: T.sweep("backprop", [0], None, 5), "loop must be a LoopSettings or a mapping"),
    (lambda: T.sweep("backprop", [0], None, {"restarts": 0}), "restarts must be True or False"),
    (lambda: T.sweep("backprop", [0], recorders=[1]), "recorders must be a sequence of training_loop.Recorder"),
    (lambda: T.sweep("backprop", [0], recorders=None), "recorders must be a sequence"),
    (lambda: T.sweep("cdk", [0], {"k": 2.0}), "k must be an integer"),
    (lambda: T.fit(None, [0], {}, 2), "learner must be a learner"),
    (lambda: T.fit(RUN_LEARNER, [0], {}, 2), "settings must give lr, momentum, init_scale"),
    (lambda: T.fit(RUN_LEARNER, [0], {"lr": [1], "momentum": [0], "init_scale": [1]}, 0), "epochs must be"),
    (lambda: T.LoopSettings.from_mapping(5), "takes a mapping"),
    (lambda: T.LoopSettings(early_stop=None), "early_stop must be True or False"),
    (lambda: get("backprop").make(T.DEFAULT_SHAPE, {}), "settings must be a BackpropSettings"),
    (lambda: get("cdk").make(T.DEFAULT_SHAPE, B.CDkSettings(), {"epochs": 2}), "loop must be a LoopSettings or None"),
    (lambda: get("chl").make("8-8-8", L.CHLSettings()), "bad size"),
    (lambda: E.hidden_code_table(MODEL, data=np.eye(4)), r"data must have shape \(n, 8\)"),
    (lambda: E.hidden_code_table(MODEL, data="x"), "data must be an array of numbers"),
    (lambda: E.accuracy(MODEL, data=np.eye(3)), r"data must have shape \(n, 8\)"),
    (lambda: E.n_distinct_codes(MODEL, threshold=float("nan")), "threshold must be a number"),
    (lambda: E.EncoderMLP(params=np.zeros(5)), r"params must have shape \(59,\)"),
    (lambda: setattr(E.EncoderMLP(), "W1", "abc"), "W1 must be an array of numbers"),
    (lambda: MODEL.grads(x=np.eye(8), t=np.eye(3)), r"t must have shape \(8, 8\)"),
    (lambda: E.solved_by("x", np.zeros((8, 3)), np.zeros((8, 8))), "criterion must be one of"),
    (lambda: E.loss_value(np.zeros((8, 8)), np.zeros((8, 8)), loss="x"), "loss must be one of"),
    (lambda: B.sweep_boltzmann([0], "cdk", 1, early_stop=None), "early_stop must be True or False"),
    (lambda: B.cd_update(np.zeros((1, 5)), np.zeros((1, 5)), np.zeros((1, 3)), B.CDk()), "params must be a stack"),
    (lambda: B.cd_update(np.zeros((1, 67)), np.zeros((1, 67)), np.zeros((1, 3)), "cdk"), "learner must be a CDk"),
    (lambda: B.ahs85_readout(np.zeros((2, 3, 3)), B.AHS85Layout(T.DEFAULT_SHAPE)), "W must be a stack"),
    (lambda: B.AHS85("4-2-4").start([0], {}).cycle(np.zeros((1, 3), np.float32)), "u must be a stack"),
    (lambda: RUN.records(weights="x"), "weights must be True or False"),
    (lambda: summarize_runs([{}]), "each run must be a record"),
    (lambda: summarize_runs(5), "runs must be a list of records"),
])
def test_the_api_answers_wrong_types_and_shapes_naming_the_argument(call, words):
    with pytest.raises(ValueError, match=words):
        call()


# ---------------------------------------------------------------------------- outputs that are not regular files
@pytest.mark.parametrize("script, args, target", [
    ("encoder_boltzmann_8_3_8", ["--rule", "cdk", "--json", "{}"], "out.json"),
    ("encoder_local_8_3_8", ["--rule", "chl", "--json", "{}"], "out.json"),
    ("data_movement_encoder_backprop_8_3_8", ["--json", "{}"], "out.json"),
    ("make_encoder_backprop_8_3_8_gif", ["--out", "{}"], "out.gif"),
    ("visualize_encoder_backprop_8_3_8", ["--outdir", "{dir}"], "weights.png"),
    ("visualize_encoder_boltzmann_8_3_8", ["--outdir", "{dir}"], "boltzmann_curves.png"),
    ("study_encoder_backprop_8_3_8", ["margin", "--results", "{dir}", "--figures", "{dir}"], "margin.json"),
])
@pytest.mark.parametrize("kind", ["fifo", "directory"])
def test_every_cli_refuses_a_fifo_or_a_directory_as_an_output_before_any_work(script, args, target, kind, tmp_path,
                                                                             capsys):
    path = tmp_path / target
    os.mkfifo(path) if kind == "fifo" else path.mkdir()
    args = [a.replace("{dir}", str(tmp_path)).replace("{}", str(path)) for a in args]
    refused(script, [*args, "--force"], capsys)
    assert sorted(os.listdir(tmp_path)) == [target]
