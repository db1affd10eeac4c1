"""Issue #24, items 4-6: no input runs without bound in memory or time, gives a wrong result silently, or ends in
a traceback. One test (or a few) per class of what an outside tester found."""
import importlib
import os
import warnings

import numpy as np
import pytest

import boltzmann_learners as B
import encoder_backprop_8_3_8 as E
import local_learners as L
import training_loop as T

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
