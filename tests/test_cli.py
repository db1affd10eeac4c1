"""The command line: JSON outputs, the sweep table, and one-line exit-2 errors that write nothing."""
import json
import os
import subprocess
import sys

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
                                  "inputs": "binary", "hidden_prime_offset": 0.0, "profile": "published",
                                  "engine": "numpy"}
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


def test_sweep_prints_table_and_summary_and_writes_json(tmp_path):
    out = tmp_path / "sweep.json"
    proc = run_cli("--seeds", "0-29", "--epochs", "20000", "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "solved 21/30 (70.0%; 95% Wilson interval 52.1%-83.3%)" in proc.stdout
    assert proc.stderr == ""                               # progress stays quiet when stderr is not a terminal
    data = json.loads(out.read_text())
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


@pytest.mark.parametrize("target", ["missing_dir/out.json", "."])
def test_unwritable_json_path_exits_2_before_training(target, tmp_path):
    proc = run_cli("--seed", "0", "--json", target, cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1


def test_help_explains_every_flag():
    proc = run_cli("--help")
    assert proc.returncode == 0
    for flag in ("--seed ", "--seeds", "--epochs", "--lr", "--momentum", "--init-scale", "--no-early-stop",
                 "--json", "--loss", "--margin", "--patience"):
        assert flag in proc.stdout


def test_main_in_process_matches_the_api(tmp_path, capsys):
    out = tmp_path / "r.json"
    assert E.main(["--seed", "3", "--json", str(out)]) == 0
    assert json.loads(out.read_text())["epochs"] == 982
    assert "SOLVED at epoch 982" in capsys.readouterr().out


# ------------------------------------------------------------------------------------ never lose data
def test_an_output_path_naming_a_file_we_did_not_write_is_refused_unless_forced(tmp_path):
    victim = tmp_path / "encoder_backprop_8_3_8.py"
    victim.write_text("print('precious source')\n")
    proc = run_cli("--seed", "5", "--epochs", "300", "--json", str(victim))
    assert proc.returncode == 2 and "--force" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert victim.read_text() == "print('precious source')\n"
    ours = tmp_path / "ours.json"
    assert run_cli("--seed", "5", "--epochs", "300", "--json", str(ours)).returncode == 0
    assert run_cli("--seed", "5", "--epochs", "300", "--json", str(ours)).returncode == 0   # ours: replaced
    forced = run_cli("--seed", "5", "--epochs", "300", "--json", str(victim), "--force")
    assert forced.returncode == 0 and json.loads(victim.read_text())["seed"] == 5


def test_an_empty_output_path_is_an_error(tmp_path):
    proc = run_cli("--seed", "0", "--json", "", cwd=tmp_path)
    assert proc.returncode == 2 and "empty" in proc.stderr and os.listdir(tmp_path) == []


def test_ctrl_c_exits_130_with_one_line_and_leaves_no_file(tmp_path):
    import signal
    import time
    out = tmp_path / "out.json"
    proc = subprocess.Popen([sys.executable, SCRIPT, "--seeds", "0-2999", "--epochs", "20000", "--json", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(2.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and err.strip() == "interrupted"
    assert os.listdir(tmp_path) == []


def test_json_output_is_valid_json_with_non_finite_numbers_as_null(tmp_path):
    import atomic_files                     # (a killed write's temporary: tests/test_signals_and_outputs.py)
    target = tmp_path / "r.json"
    atomic_files.write_json(str(target), {"config": {}, "x": float("nan"), "y": [float("inf"), 1.0]})
    assert sorted(os.listdir(tmp_path)) == ["r.json"]
    assert json.loads(target.read_text()) == {"config": {}, "x": None, "y": [None, 1.0]}
