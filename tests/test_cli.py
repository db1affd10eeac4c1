"""The command line: JSON outputs, the sweep table, and one-line exit-2 errors that write nothing."""
import io
import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
import types

import pytest

import encoder_backprop_8_3_8 as E

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "encoder_backprop_8_3_8.py")


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def test_single_run_prints_the_result_and_writes_json(tmp_path):
    out = tmp_path / "seed0.json"
    proc = run_cli("--seed", "0", "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "SOLVED at epoch 3631" in proc.stdout
    assert proc.stdout.count("epoch ") >= 7                      # progress every 500 epochs
    data = json.loads(out.read_text())
    assert data["seed"] == 0 and data["solved"] is True and data["epochs"] == 3631
    assert data["accuracy"] == 1.0 and data["n_distinct_codes"] == 8
    assert 0 <= data["code_margin"] < 0.5 and len(data["hidden_codes"]) == 8
    assert all(len(row) == 3 for row in data["hidden_codes"])
    config = data["config"]                                     # every setting, defaults resolved
    assert (config["learner"], config["seed"], config["size"], config["min_stop_epoch"]) == ("backprop", 0, "8-3-8", 201)
    assert config["settings"] == {"optimizer": "momentum", "lr": 0.5, "momentum": 0.9, "init_scale": 0.1,
                                  "loss": "ce", "activation": "logistic", "bias_scale": [0.0, 0.0],
                                  "inputs": "binary", "hidden_prime_offset": 0.0, "split_epsilon": False,
                                  "profile": "published", "engine": "numpy"}
    assert config["loop"] == {"epochs": 5000, "early_stop": True, "criterion": "strict", "margin": 0.0,
                              "patience": None, "patience_from": "attempt", "restart_every": None,
                              "max_restarts": None, "restarts": True}
    assert [f for f in os.listdir(tmp_path)] == ["seed0.json"]  # no temporary file left behind


def test_single_run_not_solved_and_no_early_stop(tmp_path):
    out = tmp_path / "r.json"
    proc = run_cli("--seed", "2", "--epochs", "400", "--no-early-stop", "--json", str(out))
    assert proc.returncode == 0
    assert "NOT SOLVED at epoch 400" in proc.stdout
    data = json.loads(out.read_text())
    assert data["solved"] is False and data["epochs"] == 400 and data["config"]["loop"]["early_stop"] is False


def test_sweep_prints_table_and_summary_and_writes_json(published_sweep):
    out, err, data = published_sweep                       # the README's sweep, run once (tests/conftest.py)
    assert "solved 21/30 (70.0%; 95% Wilson interval 52.1%-83.3%)" in out
    assert err == ""                                       # progress stays quiet when stderr is not a terminal
    assert set(data) == {"config", "summary", "runs"}
    assert data["summary"]["n"] == 30 and data["summary"]["solved_ever"] == data["summary"]["solved_at_last_epoch"] == 21
    assert data["config"]["seeds"] == list(range(30)) and data["config"]["loop"]["epochs"] == 20000
    assert [r["seed"] for r in data["runs"]] == list(range(30))
    for r in data["runs"]:
        assert {"seed", "solved", "epochs", "n_distinct_codes", "code_margin", "accuracy", "hidden_codes"} <= set(r)
    assert data["runs"][0]["epochs"] == 3631


BAD_INPUTS = [
    ["--seed", "-1"], ["--seed", "1.5"], ["--seed", "x"], ["--epochs", "0"], ["--epochs", "ten"],
    ["--lr", "0"], ["--lr", "-1"], ["--lr", "nan"], ["--lr", "inf"], ["--momentum", "1"], ["--momentum", "-0.5"],
    ["--init-scale", "0"], ["--init-scale", "inf"], ["--seeds", "3-1"], ["--seeds", "a-b"], ["--seeds", "-4"],
    ["--seeds", "1,1"], ["--seed", "0", "--seeds", "0-3"], ["--loss", "mse"], ["--margin", "0.5"],
    ["--patience", "0"], ["--unknown"], ["--epochs"],
]


@pytest.mark.parametrize("args", BAD_INPUTS, ids=" ".join)
def test_bad_input_exits_2_with_one_line_and_writes_nothing(args, tmp_path, capsys):
    """In this process; the exit of a real process is checked below, once."""
    out = tmp_path / "out.json"
    with pytest.raises(SystemExit) as info:
        E.main([*args, "--json", str(out)])
    captured = capsys.readouterr()
    assert info.value.code == 2 and captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1 and "error:" in captured.err
    assert "Traceback" not in captured.err
    assert not out.exists() and os.listdir(tmp_path) == []


def test_bad_input_in_a_real_process_exits_2_with_one_line_and_writes_nothing(tmp_path):
    out = tmp_path / "out.json"
    proc = run_cli("--lr", "nan", "--json", str(out))
    assert proc.returncode == 2 and proc.stdout == "" and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and os.listdir(tmp_path) == []


def main_in_this_process(args, capsys):
    """E.main(args) here (a real process's exit is checked above, once): (exit status, stdout, stderr)."""
    try:
        code = E.main(args)
    except SystemExit as exit:
        code = exit.code
    return (code, *capsys.readouterr())


@pytest.mark.parametrize("target", ["missing_dir/out.json", "."])
def test_unwritable_json_path_exits_2_before_training(target, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code, out, err = main_in_this_process(["--seed", "0", "--json", target], capsys)
    assert code == 2 and "Traceback" not in err and out == ""         # nothing printed: no epoch trained
    assert len(err.strip().splitlines()) == 1


def test_help_explains_every_flag(capsys):
    code, out, _ = main_in_this_process(["--help"], capsys)
    assert code == 0
    for flag in ("--seed ", "--seeds", "--epochs", "--lr", "--momentum", "--init-scale", "--no-early-stop",
                 "--json", "--loss", "--margin", "--patience"):
        assert flag in out


def test_main_in_process_matches_the_api(tmp_path, capsys):
    out = tmp_path / "r.json"
    assert E.main(["--seed", "3", "--json", str(out)]) == 0
    assert json.loads(out.read_text())["epochs"] == 982
    assert "SOLVED at epoch 982" in capsys.readouterr().out


# ------------------------------------------------------------------------------------ never lose data
def test_an_output_path_naming_a_file_we_did_not_write_is_refused_unless_forced(tmp_path, capsys):
    victim = tmp_path / "encoder_backprop_8_3_8.py"
    victim.write_text("print('precious source')\n")
    code, _, err = main_in_this_process(["--seed", "5", "--epochs", "300", "--json", str(victim)], capsys)
    assert code == 2 and "--force" in err and len(err.strip().splitlines()) == 1
    assert victim.read_text() == "print('precious source')\n"
    ours = tmp_path / "ours.json"
    assert main_in_this_process(["--seed", "5", "--epochs", "300", "--json", str(ours)], capsys)[0] == 0
    assert main_in_this_process(["--seed", "5", "--epochs", "300", "--json", str(ours)], capsys)[0] == 0  # replaced
    forced = main_in_this_process(["--seed", "5", "--epochs", "300", "--json", str(victim), "--force"], capsys)
    assert forced[0] == 0 and json.loads(victim.read_text())["seed"] == 5


def test_an_empty_output_path_is_an_error(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code, _, err = main_in_this_process(["--seed", "0", "--json", ""], capsys)
    assert code == 2 and "empty" in err and os.listdir(tmp_path) == []


def read_terminal(fd, until=None, seconds=60):
    """What a program wrote to the terminal whose controlling side is fd, up to the first `until` or, without
    one, to the end (when the program has closed it)."""
    seen, deadline = "", time.monotonic() + seconds
    while until is None or until not in seen:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        assert ready, f"nothing more within {seconds} s; so far {seen!r}"
        try:
            chunk = os.read(fd, 4096)
        except OSError:                                # EIO: the program's side is closed
            chunk = b""
        if not chunk:
            assert until is None, f"the program ended without writing {until!r}: {seen!r}"
            return seen
        seen += chunk.decode()
    return seen


def test_ctrl_c_exits_130_with_one_line_and_leaves_no_file(tmp_path):
    out = tmp_path / "out.json"
    terminal, stderr = pty.openpty()          # on a terminal the progress line shows when training is under way
    proc = subprocess.Popen([sys.executable, SCRIPT, "--seeds", "0-2999", "--epochs", "20000", "--json", str(out)],
                            stdout=subprocess.PIPE, stderr=stderr)
    os.close(stderr)
    try:
        read_terminal(terminal, until="networks done")
        proc.send_signal(signal.SIGINT)
        err = read_terminal(terminal).replace("\r\n", "\n")
        proc.communicate(timeout=60)
    finally:
        os.close(terminal)
        proc.kill()
        proc.wait()
    # the progress line is wiped (a carriage return) and then one line is left
    assert proc.returncode == 130 and err.rsplit("\r", 1)[-1].strip() == "interrupted" and "Traceback" not in err
    assert os.listdir(tmp_path) == []


def test_json_output_is_valid_json_with_non_finite_numbers_as_null(tmp_path):
    import atomic_files                     # (a killed write's temporary: tests/test_signals_and_outputs.py)
    target = tmp_path / "r.json"
    atomic_files.write_json(str(target), {"config": {}, "x": float("nan"), "y": [float("inf"), 1.0]})
    assert sorted(os.listdir(tmp_path)) == ["r.json"]
    assert json.loads(target.read_text()) == {"config": {}, "x": None, "y": [None, 1.0]}


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.mark.parametrize("terminal", [False, True])
def test_progress_overwrites_a_line_on_a_terminal_and_logs_a_line_a_minute_elsewhere(terminal, monkeypatch):
    import cli_support
    clock, stream = Clock(), io.StringIO()
    stream.isatty = lambda: terminal
    monkeypatch.setattr(cli_support, "time", types.SimpleNamespace(perf_counter=clock))
    progress = cli_support.Progress(100, stream=stream)
    for second in range(1, 181):                 # three minutes, an update a second
        clock.now += 1.0
        progress.update(second // 2, f", epoch {second * 10}")
    progress.close()
    text = stream.getvalue()
    if terminal:
        assert "\n" not in text and text.count("\r") == 180 + 2 and text.endswith("\r" + " " * 78 + "\r")
    else:
        assert "\r" not in text and text.splitlines() == [
            f"{m * 30}/100 networks done (0.5/s, about {(100 - m * 30) * 2} s left), epoch {m * 600}, after {m * 60} s"
            for m in (1, 2, 3)]


def test_progress_to_a_closed_stream_is_silent_and_a_short_run_writes_nothing(monkeypatch):
    import cli_support
    clock, closed = Clock(), io.StringIO()
    monkeypatch.setattr(cli_support, "time", types.SimpleNamespace(perf_counter=clock))
    closed.close()
    progress, quiet = cli_support.Progress(10, stream=closed), cli_support.Progress(10, stream=io.StringIO())
    clock.now += 59.0
    for p in (progress, quiet):
        p.update(5)
        p.close()
    assert quiet.stream.getvalue() == ""


def test_a_cli_without_numba_says_how_to_install_it_in_one_line(tmp_path):
    out = tmp_path / "r.json"
    code = ("import runpy, sys; sys.modules['numba'] = sys.modules['llvmlite'] = None; "
            f"sys.argv = ['encoder_boltzmann_8_3_8.py', '--seeds', '0-1', '--json', {str(out)!r}]; "
            "runpy.run_path(sys.argv[0], run_name='__main__')")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stdout == "" and not out.exists()
    assert proc.stderr == ("encoder_boltzmann_8_3_8.py: error: this needs numba, which is not installed: "
                           "pip install -e . (in the repository)\n")
