"""What a hostile user's environment does to a run: SIGTERM and SIGKILL during a parallel sweep, a stdout closed
early (`| head -1`), FIFOs and devices as output paths, and folders holding odd, long or half-written names."""
import json
import os
import shlex
import signal
import stat
import subprocess
import sys
import time

import pytest

import atomic_files
import cli_support as cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BACKPROP = os.path.join(ROOT, "encoder_backprop_8_3_8.py")
BOLTZMANN = os.path.join(ROOT, "encoder_boltzmann_8_3_8.py")
LONG_SWEEP = ["--seeds", "0-199", "--epochs", "20000", "--workers", "2"]


def _state(pid):
    """(state letter, parent pid) of a live process, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()    # the command name in (...) may hold spaces
    except OSError:
        return None
    return fields[0], int(fields[1])


def _running(pid):
    state = _state(pid)
    return state is not None and state[0] not in "ZX"          # a zombie has stopped; only its reaping is left


def _children(pid):
    return [int(p) for p in os.listdir("/proc") if p.isdigit() and (s := _state(p)) and s[1] == pid
            and s[0] not in "ZX"]


def _wait_for(condition, seconds):
    end = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > end:
            return False
        time.sleep(0.05)
    return True


@pytest.fixture
def sweep_with_two_workers(tmp_path):
    """A long 2-worker sweep (its output in files: a surviving worker must not hold a test's pipe open), once
    both workers exist; afterwards whatever of it is left is killed, by pid."""
    if not sys.platform.startswith("linux"):
        pytest.skip("reads /proc")
    logs = tmp_path / "logs"
    logs.mkdir()
    with open(logs / "out", "w") as out, open(logs / "err", "w") as err:
        proc = subprocess.Popen([sys.executable, BACKPROP, *LONG_SWEEP, "--json", str(tmp_path / "r.json")],
                                stdout=out, stderr=err, start_new_session=True)
    workers = []
    try:
        assert _wait_for(lambda: len(_children(proc.pid)) >= 2, 60), "no workers started"
        workers = _children(proc.pid)
        yield proc, workers, logs / "err"
    finally:
        for pid in [proc.pid, *workers]:
            if _running(pid):
                os.kill(pid, signal.SIGKILL)
        proc.wait()


def test_sigterm_ends_a_parallel_sweep_with_one_line_exit_143_and_no_worker_left(sweep_with_two_workers, tmp_path):
    proc, workers, err = sweep_with_two_workers
    proc.send_signal(signal.SIGTERM)                   # the parent alone, as `kill PID` or a job scheduler does
    assert proc.wait(timeout=30) == 143
    assert err.read_text() == "terminated\n"
    assert _wait_for(lambda: not any(_running(pid) for pid in workers), 5)
    assert sorted(os.listdir(tmp_path)) == ["logs"]


def test_sigkill_of_the_parent_takes_its_workers_with_it(sweep_with_two_workers):
    proc, workers, _ = sweep_with_two_workers
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert _wait_for(lambda: not any(_running(pid) for pid in workers), 5)


@pytest.mark.parametrize("script, args", [(BACKPROP, ["--seeds", "0-9", "--epochs", "300"]),
                                          (BOLTZMANN, ["--rule", "cdk", "--seeds", "0-1", "--epochs", "5"])],
                         ids=["backprop", "boltzmann"])
def test_a_stdout_closed_early_still_gets_the_json_written_and_exit_0(tmp_path, script, args):
    out = tmp_path / "out.json"
    command = " ".join(map(shlex.quote, [sys.executable, script, *args, "--json", str(out)]))
    # unbuffered, each line is written when printed: the lines after the first meet a closed pipe, before the JSON
    proc = subprocess.run(["bash", "-c", command + " | head -1; exit ${PIPESTATUS[0]}"], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert proc.returncode == 0 and proc.stderr == "" and len(proc.stdout.splitlines()) == 1
    assert "config" in json.loads(out.read_text())


def test_a_fifo_as_the_json_path_is_refused_at_once(tmp_path):
    fifo = tmp_path / "out.json"
    os.mkfifo(fifo)
    for force in ([], ["--force"]):
        proc = subprocess.run([sys.executable, BACKPROP, "--seeds", "0-9", "--epochs", "300", "--json", str(fifo),
                               *force], capture_output=True, text=True, timeout=20)
        assert proc.returncode == 2 and "FIFO" in proc.stderr and len(proc.stderr.splitlines()) == 1
    with pytest.raises(OSError, match="not a regular file"):
        atomic_files.write_json(str(fifo), {"config": {}})
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and os.listdir(tmp_path) == ["out.json"]


def test_a_device_or_a_fifo_is_refused_as_an_output_even_with_force(tmp_path, capsys):
    # checked in this process only: a run that got past these checks would replace /dev/null
    with pytest.raises(ValueError, match="/dev/null is a device"):
        cli.check_output_path(os.devnull)
    fifo = tmp_path / "figure.png"
    os.mkfifo(fifo)
    for path in (os.devnull, str(fifo)):
        with pytest.raises(SystemExit) as info:
            cli.refuse_foreign_outputs(cli.OneLineParser(prog="prog"), [path], force=True)
        assert info.value.code == 2 and "not a regular file" in capsys.readouterr().err


def test_a_users_file_named_like_a_temporary_survives_a_write(tmp_path):
    mine = tmp_path / ".tmp-out.json-abc"
    mine.write_text("mine")
    atomic_files.write_json(str(tmp_path / "out.json"), {"config": {}})
    assert sorted(os.listdir(tmp_path)) == [".tmp-out.json-abc", "out.json"] and mine.read_text() == "mine"


def test_a_245_character_name_is_written(tmp_path):
    target = tmp_path / ("r" * 245 + ".json")
    atomic_files.write_json(str(target), {"config": {}})
    assert json.loads(target.read_text()) == {"config": {}} and os.listdir(tmp_path) == [target.name]


def _writer(target, then):
    """A process writing `target` through atomic_files that, midway through the write, does `then`."""
    code = ("import os, signal, sys, atomic_files\n"
            "def write(f):\n"
            "    f.write('{\"config\": \"other\"}')\n"
            "    f.flush()\n"
            f"    {then}\n"
            "atomic_files.write_atomic(sys.argv[1], write)\n")
    return subprocess.Popen([sys.executable, "-c", code, str(target)], cwd=ROOT, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)


def test_a_temporary_of_a_killed_writer_is_removed_by_the_next_write(tmp_path):
    target = tmp_path / "r.json"
    killed = _writer(target, "os.kill(os.getpid(), signal.SIGKILL)")
    assert killed.wait(timeout=60) == -signal.SIGKILL
    assert len(os.listdir(tmp_path)) == 1                      # its temporary, left behind
    atomic_files.write_json(str(target), {"config": {}})
    assert os.listdir(tmp_path) == ["r.json"] and json.loads(target.read_text()) == {"config": {}}


def test_overlapping_writes_to_one_target_both_succeed(tmp_path):
    target = tmp_path / "r.json"
    live = _writer(target, "print('writing', flush=True); sys.stdin.readline()")
    try:
        assert live.stdout.readline() == "writing\n"
        atomic_files.write_json(str(target), {"config": {}})   # must leave the live writer's temporary alone
        assert json.loads(target.read_text()) == {"config": {}} and len(os.listdir(tmp_path)) == 2
        live.stdin.write("\n")
        live.stdin.close()
        assert live.wait(timeout=60) == 0
    finally:
        live.kill()
        live.wait()
    assert os.listdir(tmp_path) == ["r.json"] and json.loads(target.read_text()) == {"config": "other"}
