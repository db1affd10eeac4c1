"""Sweeps on every core and on a Dask cluster: the same results, bit for bit, as one process."""
import concurrent.futures as cf
import contextlib
import functools
import os
import signal
import subprocess
import sys
import time

import pytest

import encoder_backprop_8_3_8 as E
import parallel_map
from test_signals_and_outputs import _children, _wait_for

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MIXED = dict(n_epochs=800, lr=[0.5, 0.3, 0.5, 1.0, 0.5, 0.8, 0.5, 0.5, 0.2, 0.5, 0.5, 0.5],
             momentum=[0.9] * 6 + [0.5] * 6, patience=500, return_weights=True)


def test_two_workers_and_small_chunks_give_the_results_of_one_process():
    seeds = [0, 1, 2, 3, 4, 5, 6, 7, 2, 9, 10, 11]
    alone = E.sweep_seeds(seeds, **MIXED)
    assert E.sweep_seeds(seeds, workers=2, chunk_size=5, **MIXED) == alone
    assert E.sweep_seeds(seeds, workers=2, chunk_size=1, **MIXED) == alone
    quick = dict(n_epochs=300, optimizer="quickprop", restart_every=40, return_weights=True)
    assert E.sweep_seeds(range(12), workers=2, chunk_size=4, **quick) == E.sweep_seeds(range(12), **quick)


def test_a_dask_cluster_on_loopback_gives_the_results_of_one_process_and_its_progress(tmp_path, monkeypatch):
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, protocol="tcp://",
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
            runs = E.sweep_seeds(range(12), executor=client, chunk_size=3, **{k: v for k, v in MIXED.items()
                                                                               if k not in ("lr", "momentum")})
            assert_running_chunks_report_progress(tmp_path, monkeypatch, executor=client)
    assert runs == E.sweep_seeds(range(12), **{k: v for k, v in MIXED.items() if k not in ("lr", "momentum")})


def test_an_observer_cannot_run_in_other_processes():
    with pytest.raises(ValueError, match="observer needs workers=1"):
        E.sweep_seeds([0, 1], n_epochs=5, workers=2, observer=lambda *a: None)


def test_chunks_are_balanced_and_bounded():
    assert parallel_map.default_chunk_size(1000, 2) == 500
    assert parallel_map.default_chunk_size(10, 2) == parallel_map.MIN_CHUNK
    assert parallel_map.default_chunk_size(10 ** 6, 2) == parallel_map.MAX_CHUNK
    done = []
    out = parallel_map.map_chunks(lambda chunk: [x * 2 for x in chunk], range(10), workers=1,
                                  progress=lambda d, t: done.append((d, t)))
    assert out == [2 * x for x in range(10)] and done == [(10, 10)]


def _report_one_left_until(marker, chunk, progress):
    progress(None, 1)
    deadline = time.monotonic() + 20
    while not os.path.exists(marker) and time.monotonic() < deadline:
        time.sleep(0.01)
    return list(chunk)


def assert_running_chunks_report_progress(tmp_path, monkeypatch, **where):
    """Two chunks of 4 each report 1 item left, then wait until the caller's progress has seen both reports."""
    monkeypatch.setattr(parallel_map, "PROGRESS_EVERY", 0.02)
    marker, seen = tmp_path / "seen", []

    def progress(done, total):
        seen.append((done, total))
        if done == total - 2:
            marker.touch()
    out = parallel_map.map_chunks(functools.partial(_report_one_left_until, str(marker)), range(8), chunk_size=4,
                                  progress=progress, **where)
    assert out == list(range(8)) and (6, 8) in seen and seen[-1] == (8, 8)
    assert all(a[0] <= b[0] for a, b in zip(seen, seen[1:]))


def test_a_local_pool_reports_its_chunks_progress_while_they_run(tmp_path, monkeypatch):
    """With one chunk per worker, chunk ends alone said nothing until the sweep was over."""
    assert_running_chunks_report_progress(tmp_path, monkeypatch, workers=2)


def test_scheduler_without_dask_says_how_to_install_it(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "dask.distributed", None)
    with pytest.raises(SystemExit) as info:
        E.main(["--seeds", "0-3", "--scheduler", "tcp://127.0.0.1:8786"])
    err = capsys.readouterr().err
    assert info.value.code == 2 and "pip install -r requirements-dist.txt" in err and len(err.splitlines()) == 1


def test_cli_with_two_workers_prints_what_one_process_prints(capsys):
    printed = []
    for workers in ("1", "2"):
        assert E.main(["--seeds", "0-11", "--epochs", "1200", "--workers", workers]) == 0
        printed.append(capsys.readouterr().out)
    assert printed[0] == printed[1]


def ignores_ctrl_c(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            ignored = next(line for line in f if line.startswith("SigIgn:")).split()[1]
    except (OSError, StopIteration):
        return False
    return bool(int(ignored, 16) >> (signal.SIGINT - 1) & 1)


def test_ctrl_c_stops_every_worker_with_one_line(tmp_path):
    script = os.path.join(ROOT, "encoder_backprop_8_3_8.py")
    out = tmp_path / "r.json"
    proc = subprocess.Popen([sys.executable, script, "--seeds", "0-3999", "--epochs", "20000", "--workers", "2",
                             "--json", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        # both workers are training once they ignore Ctrl-C themselves (their initializer has run)
        ready = _wait_for(lambda: sum(map(ignores_ctrl_c, _children(proc.pid))) >= 2, 60)
        assert ready, "the two workers never started"
        os.killpg(proc.pid, signal.SIGINT)              # what a terminal's Ctrl-C does: the whole process group
        _, err = proc.communicate(timeout=60)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == 130 and err.strip() == "interrupted"
    assert os.listdir(tmp_path) == []

    def group_ended():
        return subprocess.run(["pgrep", "-g", str(proc.pid)], capture_output=True, text=True).stdout.split() == []
    assert _wait_for(group_ended, 5)


def test_stopping_a_pool_waits_for_its_manager_thread():
    """A manager thread still running at interpreter exit closes its wake-up pipe while exit writes to it: after
    Ctrl-C the CLI printed "Exception ignored in threading._shutdown ... Bad file descriptor" under "interrupted"."""
    executor = cf.ProcessPoolExecutor(max_workers=1)
    running = executor.submit(time.sleep, 60)
    assert _wait_for(lambda: running.running(), 30)
    manager = executor._executor_manager_thread
    parallel_map._stop(executor)
    assert not manager.is_alive()
