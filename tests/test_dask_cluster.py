"""--scheduler against a real Dask cluster, started as docs/performance.md says: the stock `dask scheduler` and
`dask worker` commands in processes of their own, the code on their PYTHONPATH. A sweep there gives the records of
one process, bit for bit; a bad address, a cluster on other code, a lost scheduler and Ctrl-C each end with one
line."""
import contextlib
import hashlib
import http.server
import importlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

distributed = pytest.importorskip("distributed")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Dask's own diagnostics, its sampling profiler and its event-loop tick check, cost every scheduler and worker CPU
# all the time, busy or idle (a worker's idle cost falls about fourfold without them); nothing here reads them
DIAGNOSTICS_OFF = {"DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED": "False",
                   "DASK_DISTRIBUTED__ADMIN__TICK__INTERVAL": "500ms"}
# tests/ too: a test may send one of its own functions to the workers
WITH_CODE = {**os.environ, "PYTHONPATH": os.pathsep.join([ROOT, os.path.join(ROOT, "tests")]), **DIAGNOSTICS_OFF}


def cli(script, *args):
    return [sys.executable, os.path.join(ROOT, script), *args]


def start(command, cwd, env=WITH_CODE):
    return subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def finish(proc, timeout=180):
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def kill(proc):
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()


def dask_worker(folder, env=WITH_CODE):
    """A one-thread `dask worker` of the scheduler started in folder (stock_cluster)."""
    return start([sys.executable, "-m", "dask", "worker", "--scheduler-file", str(folder / "scheduler.json"),
                  "--nthreads", "1", "--no-nanny", "--no-dashboard", "--local-directory", str(folder)], folder, env)


@contextlib.contextmanager
def stock_cluster(folder, workers=1, worker_env=WITH_CODE):
    """(address, client) of a scheduler and `workers` one-thread workers, each a `dask` command of its own (run
    outside the repository, so that only PYTHONPATH can give them our code); every process is killed at the end,
    whatever happened."""
    folder.mkdir()
    address_file = str(folder / "scheduler.json")
    processes = []
    try:
        processes.append(start([sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1", "--port", "0",
                                "--no-dashboard", "--scheduler-file", address_file], folder))
        processes += [dask_worker(folder, worker_env) for _ in range(workers)]
        deadline = time.monotonic() + 60
        while not os.path.exists(address_file) and time.monotonic() < deadline:
            assert processes[0].poll() is None, processes[0].communicate()[1]
            time.sleep(0.1)
        with distributed.Client(scheduler_file=address_file, timeout=60) as client:
            if workers:
                client.wait_for_workers(workers, timeout=60)
            yield client.scheduler.address, client
    finally:
        for proc in processes:
            kill(proc)


class QuietHTTP(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def foreign_listeners():
    """(silent port, HTTP port, closed port): a listener that accepts and says nothing, an HTTP server, and a port
    bound by no listener (connections are refused)."""
    silent = socket.create_server(("127.0.0.1", 0))
    accepted = []
    threading.Thread(target=lambda: accepted.extend(c for c, _ in iter(silent.accept, None)), daemon=True).start()
    web = http.server.ThreadingHTTPServer(("127.0.0.1", 0), QuietHTTP)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    try:
        yield silent.getsockname()[1], web.server_address[1], closed.getsockname()[1]
    finally:
        web.shutdown()
        for sock in (silent, web.socket, closed, *accepted):
            sock.close()


@pytest.mark.while_kernels_compile
def test_a_bad_scheduler_address_fails_in_seconds_with_one_line_and_status_2(tmp_path, capsys):
    sweep = ["--seeds", "0-99", "--epochs", "20000", "--json", str(tmp_path / "out.json"), "--scheduler"]
    with foreign_listeners() as (silent, web, closed):
        began = time.monotonic()
        procs = {what: start(cli("encoder_backprop_8_3_8.py", *sweep, address), tmp_path) for what, address in
                 {"nothing listening": f"tcp://127.0.0.1:{closed}", "an HTTP server": f"tcp://127.0.0.1:{web}",
                  "a silent listener": f"tcp://127.0.0.1:{silent}"}.items()}
        done = {}
        for what, address in {"tls without certificates": f"tls://127.0.0.1:{closed}", "garbage": "no-such-thing",
                              "an unknown protocol": f"http://127.0.0.1:{web}", "empty": ""}.items():
            with pytest.raises(SystemExit) as info:     # refused at once: here, meanwhile
                importlib.import_module("encoder_backprop_8_3_8").main([*sweep, address])
            done[what] = (info.value.code, *capsys.readouterr())
        done.update((what, finish(proc)) for what, proc in procs.items())
        seconds = time.monotonic() - began
    for what, (code, out, err) in done.items():
        assert code == 2 and out == "" and len(err.splitlines()) == 1, (what, code, out, err)
        assert err.startswith("encoder_backprop_8_3_8.py: error: ") and "Dask scheduler" in err, (what, err)
    assert "tls://" in done["tls without certificates"][2] and "certificates" in done["tls without certificates"][2]
    assert "after 5 s" in done["nothing listening"][2] and "within 6 s" in done["a silent listener"][2]
    assert os.listdir(tmp_path) == []
    assert seconds < 60           # the CLI's own limits are above; this bound only catches a hang (it was minutes)


def wait_until(condition, failure, timeout):
    """Poll condition() every 0.1 s until it holds; an assertion error saying `failure` after timeout seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, failure
        time.sleep(0.1)


def wait_until_busy(client, timeout=120):
    wait_until(lambda: any(client.processing().values()), "the sweep never reached the cluster", timeout)


LONG_SWEEP = ("encoder_backprop_8_3_8.py", "--seeds", "0-1999", "--epochs", "20000", "--json")


@pytest.mark.while_kernels_compile
def test_no_worker_other_code_and_a_lost_scheduler_each_end_with_one_line(tmp_path, capsys):
    other = tmp_path / "other-checkout"                   # this checkout with one module edited
    shutil.copytree(ROOT, other, ignore=shutil.ignore_patterns(".*", "__pycache__", "results", "viz", "tests"))
    with open(other / "training_loop.py", "a") as f:
        f.write("# edited\n")
    sweep, folder = ["--seeds", "0-9", "--scheduler"], tmp_path / "cluster"
    with stock_cluster(folder, workers=0) as (address, client):     # one scheduler, its workers one after another
        no_worker = finish(start(cli("encoder_boltzmann_8_3_8.py", *sweep, address), tmp_path))
        worker = dask_worker(folder, {**WITH_CODE, "PYTHONPATH": str(other)})
        try:
            client.wait_for_workers(1, timeout=60)
            with pytest.raises(SystemExit) as info:     # refused at once, so in this process (a real one is above)
                importlib.import_module("encoder_boltzmann_8_3_8").main([*sweep, address])
            code, (out, err) = info.value.code, capsys.readouterr()
        finally:
            kill(worker)
        wait_until(lambda: not client.nthreads(), "the scheduler keeps a killed worker", 60)

        worker = dask_worker(folder)                    # a worker on this code, and the scheduler lost mid-sweep
        try:
            client.wait_for_workers(1, timeout=60)
            proc = start(cli(*LONG_SWEEP, str(tmp_path / "lost.json"), "--scheduler", address), tmp_path)
            wait_until_busy(client)
            scheduler_pid = client.run_on_scheduler(os.getpid)
            client.close()
            os.kill(scheduler_pid, signal.SIGKILL)
            lost = finish(proc)
        finally:
            kill(worker)
    assert no_worker == (2, "", f"encoder_boltzmann_8_3_8.py: error: the Dask scheduler at {address} has no worker "
                                f"(start one: dask worker {address})\n")
    assert code == 2 and out == "" and len(err.splitlines()) == 1
    assert err.startswith("encoder_boltzmann_8_3_8.py: error: worker tcp://127.0.0.1:")
    assert f"of the Dask cluster at {address} holds other code of training_loop: pip install . there" in err
    assert lost[0] == 1 and lost[2] == f"encoder_backprop_8_3_8.py: error: lost the Dask scheduler at {address} " \
                                       "during the sweep\n"
    assert not (tmp_path / "lost.json").exists()


def test_the_code_check_fingerprints_every_module_of_the_project_this_process_loaded():
    import dask_cluster
    importlib.import_module("encoder_backprop_8_3_8")       # with training_loop, as a sweep loads them
    importlib.import_module("parallel_map")
    names = dask_cluster.project_modules()
    assert {"training_loop", "parallel_map", "dask_cluster", "encoder_backprop_8_3_8"} <= set(names)
    assert not [name for name in names if name.startswith("test_") or name in ("conftest", "__main__")]
    fingerprint = dask_cluster.code_fingerprint(["training_loop", "no_such_module"])
    with open(os.path.join(ROOT, "training_loop.py"), "rb") as f:
        assert fingerprint == {"training_loop": hashlib.sha256(f.read()).hexdigest(), "no_such_module": None}


# The tests on one shared cluster come last: it is torn down when the module ends.
@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """(address, client) of a stock scheduler and two workers, for the tests that leave it as they found it."""
    with stock_cluster(tmp_path_factory.mktemp("dask") / "cluster", workers=2) as running:
        yield running


def without_timings(value):
    if isinstance(value, dict):
        return {k: without_timings(v) for k, v in value.items() if "seconds" not in k}
    return [without_timings(v) for v in value] if isinstance(value, list) else value


def test_every_sweep_cli_on_a_dask_cluster_writes_the_records_of_one_process(cluster, tmp_path, capsys):
    runs = {"encoder_backprop_8_3_8": ["--seeds", "0-11", "--epochs", "1200"],      # 6 solve, 6 reach the cap
            "encoder_boltzmann_8_3_8": ["--rule", "cdk", "--seeds", "0-11", "--epochs", "10", "--chunk-size", "4"],
            "encoder_local_8_3_8": ["--rule", "chl", "--size", "4-2-4", "--seeds", "0-11", "--epochs", "20",
                                    "--chunk-size", "4"],
            "study_encoder_backprop_8_3_8": ["margin", "--seeds", "0-7", "--epochs", "200"]}

    def outputs(name, where):
        if name.startswith("study"):
            return ["--results", str(tmp_path / where), "--figures", str(tmp_path / where)]
        return ["--json", str(tmp_path / f"{name}-{where}.json")]

    def result(name, where):
        return json.loads((tmp_path / (f"{where}/margin.json" if name.startswith("study") else
                                       f"{name}-{where}.json")).read_text())
    address, _ = cluster
    procs = {name: start(cli(f"{name}.py", *args, "--scheduler", address, *outputs(name, "cluster")), tmp_path)
             for name, args in runs.items()}
    printed = {}
    for name, args in runs.items():                     # meanwhile the same with --workers 1, in this process
        assert importlib.import_module(name).main([*args, "--workers", "1", *outputs(name, "alone")]) == 0
        printed[name] = capsys.readouterr().out
    done = {name: finish(proc) for name, proc in procs.items()}
    for name, (code, out, err) in done.items():
        assert code == 0 and err == "", (name, err)
        assert without_timings(result(name, "cluster")) == without_timings(result(name, "alone"))
        if not name.startswith("study"):
            assert out == printed[name]                                        # the table and the summary
    assert len(result("encoder_backprop_8_3_8", "cluster")["runs"]) == 12


def test_ctrl_c_cancels_the_clusters_work_and_frees_its_workers(cluster, tmp_path):
    address, client = cluster
    proc = start(cli(*LONG_SWEEP, str(tmp_path / "interrupted.json"), "--scheduler", address), tmp_path)
    wait_until_busy(client)
    os.killpg(proc.pid, signal.SIGINT)                         # a terminal's Ctrl-C
    code, _, err = finish(proc)
    assert code == 130 and err.strip() == "interrupted"
    wait_until(lambda: client.run(lambda dask_worker: len(dask_worker.state.executing)) ==
               {w: 0 for w in client.nthreads()}, "a worker goes on with a cancelled chunk", 30)
    assert not any(client.processing().values()) and client.who_has() == {}
    assert os.listdir(tmp_path) == []


def test_a_sweep_on_the_cluster_reports_its_running_chunks_progress(cluster, tmp_path, monkeypatch):
    from test_parallel import assert_running_chunks_report_progress
    assert_running_chunks_report_progress(tmp_path, monkeypatch, executor=cluster[1])
