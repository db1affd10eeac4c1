"""The figure and animation scripts: outputs, frame counts, determinism, and bad input."""
import os
import subprocess
import sys

import imageio.v3 as iio
import numpy as np
import pytest

import make_encoder_backprop_8_3_8_gif as G
import visualize_encoder_backprop_8_3_8 as V

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PNG_SIZES = {"training_curves.png": (620, 1200), "weights.png": (460, 1050),
             "hidden_codes_3cube.png": (520, 560), "code_table.png": (540, 720)}


def test_visualize_writes_four_pngs_of_the_expected_size_and_the_same_bytes_again(tmp_path, capsys):
    outdir = tmp_path / "new" / "viz"                       # a missing folder is created
    assert V.main(["--seed", "2", "--epochs", "400", "--lr", "0.7", "--outdir", str(outdir)]) == 0
    assert sorted(os.listdir(outdir)) == sorted(PNG_SIZES)
    for name, (height, width) in PNG_SIZES.items():
        image = iio.imread(outdir / name)
        assert image.shape[:2] == (height, width)
        assert image[..., :3].std() > 10                   # not a blank canvas
    assert "seed 2: epoch 400" in capsys.readouterr().out
    V.main(["--seed", "2", "--epochs", "400", "--lr", "0.7", "--outdir", str(tmp_path / "again")])
    for png in PNG_SIZES:
        assert (outdir / png).read_bytes() == (tmp_path / "again" / png).read_bytes()


def test_code_table_marks_shared_codes():
    h = np.full((8, 3), 0.1)
    h[1:, 0] = 0.9
    assert V.shared_rows(h).tolist() == [False] + [True] * 7
    corners = 0.1 + 0.8 * V.corners_of(3)
    assert not V.shared_rows(corners).any()


def test_cube_projection_separates_all_eight_corners():
    xy = V.project(V.corners_of(3))
    distances = np.linalg.norm(xy[:, None] - xy[None], axis=-1) + np.eye(8)
    assert distances.min() > 0.1


@pytest.mark.parametrize("args, snapshot_epochs", [       # a run that stops early: the test below
    (["--epochs", "300", "--snapshot-every", "100", "--hold-final", "2"], [100, 200, 300]),
    (["--epochs", "250", "--snapshot-every", "100", "--hold-final", "0"], [100, 200, 250]),
])
def test_gif_has_a_frame_per_snapshot_plus_the_final_epoch_plus_the_hold(args, snapshot_epochs, tmp_path):
    out = tmp_path / "anim.gif"
    assert G.main([*args, "--out", str(out)]) == 0
    hold = int(args[args.index("--hold-final") + 1])
    frames = iio.imread(out, index=None)
    assert frames.shape == (len(snapshot_epochs) + hold, 375, 720, 3)
    snapshots, history = G.collect_snapshots(G.build_parser().parse_args(args))
    assert [epoch for epoch, _ in snapshots] == snapshot_epochs
    assert snapshots[-1][0] == history["epoch"][-1]          # the last snapshot is the final epoch
    assert os.listdir(tmp_path) == ["anim.gif"]


def test_gif_of_an_early_stop_is_deterministic_and_its_held_frames_show_the_final_state(tmp_path):
    args = ["--seed", "3", "--epochs", "1200", "--snapshot-every", "500", "--hold-final", "2"]
    G.main([*args, "--out", str(tmp_path / "a.gif")])
    G.main([*args, "--out", str(tmp_path / "b.gif")])
    assert (tmp_path / "a.gif").read_bytes() == (tmp_path / "b.gif").read_bytes()
    snapshots, history = G.collect_snapshots(G.build_parser().parse_args(args))
    assert [epoch for epoch, _ in snapshots] == [500, 982] and history["epoch"][-1] == 982   # the solve ends it
    frames = iio.imread(tmp_path / "a.gif", index=None)
    assert frames.shape == (4, 375, 720, 3)                   # snapshots 500 and 982 (solved), 2 held
    # the weight heatmaps (left) of the held frames equal the final snapshot's; the cube turns
    assert np.array_equal(frames[1][30:, :130], frames[3][30:, :130])
    assert not np.array_equal(frames[1], frames[3])


def run_script(script, *args, cwd):
    return subprocess.run([sys.executable, os.path.join(ROOT, script), *args], capture_output=True, text=True,
                          cwd=cwd, timeout=120)


GIF_BAD = [["--epochs", "0"], ["--snapshot-every", "0"], ["--fps", "0"], ["--fps", "-3"], ["--hold-final", "-1"],
           ["--out", "missing/anim.gif"], ["--out", "."], ["--out", "anim.png"], ["--lr", "nan"], ["--seed", "-2"]]


def exits_2_with_one_line(main, args, capsys):
    """main(args) in this process (each CLI's errors are argparse's): exit status 2 and one line on stderr."""
    with pytest.raises(SystemExit) as info:
        main(args)
    err = capsys.readouterr().err
    return info.value.code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.mark.parametrize("args", GIF_BAD, ids=" ".join)
def test_gif_bad_input_exits_2_and_leaves_no_file(args, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert exits_2_with_one_line(G.main, args, capsys)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("args", [["--epochs", "0"], ["--momentum", "1"], ["--init-scale", "0"]], ids=" ".join)
def test_visualize_bad_input_exits_2_and_leaves_no_file(args, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert exits_2_with_one_line(V.main, [*args, "--outdir", "out"], capsys)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("script", ["make_encoder_backprop_8_3_8_gif.py", "visualize_encoder_backprop_8_3_8.py"])
def test_a_bad_input_in_a_real_process_is_one_line_without_traceback(script, tmp_path):
    proc = run_script(script, "--epochs", "0", cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and os.listdir(tmp_path) == []


def test_visualize_outdir_that_is_a_file_exits_2(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "viz").write_text("not a folder")
    with pytest.raises(SystemExit) as info:             # in this process: before any training
        V.main(["--outdir", "viz"])
    err = capsys.readouterr().err
    assert info.value.code == 2 and "is not a directory" in err and len(err.strip().splitlines()) == 1
    assert os.listdir(tmp_path) == ["viz"] and (tmp_path / "viz").read_text() == "not a folder"


def test_a_failed_write_leaves_no_partial_file(tmp_path, monkeypatch):
    def broken_savefig(*args, **kwargs):
        raise OSError("disk full")
    import matplotlib.figure
    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", broken_savefig)
    with pytest.raises(SystemExit) as exit_info:
        V.main(["--epochs", "50", "--outdir", str(tmp_path)])
    assert exit_info.value.code == 2
    assert os.listdir(tmp_path) == []
