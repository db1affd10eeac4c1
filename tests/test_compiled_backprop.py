"""The compiled backprop engine (--engine compiled): its exp is within an ulp; a step is the numpy engine's step
within float64 rounding for every loss, activation and input encoding; the loop reads the same codes, counts and
solve flags from it as from the numpy criteria; a network's run does not depend on its batch, block or chunk; and
the published figures (epochs per seed) are the numpy engine's. The full agreement check (2000 seeds at the 20000
cap) is a section of bench_encoder_backprop_8_3_8.py; docs/performance.md has its result."""
import concurrent.futures

import numpy as np
import pytest

import backprop_learner as BL
import compiled_backprop as C
import encoder_backprop_8_3_8 as E
import training_loop as T
from numba import njit

SETTINGS = {"lr": np.full(4, 0.5), "momentum": np.full(4, 0.9), "init_scale": np.full(4, 1.0)}


@njit(error_model="numpy")
def _exp_all(x, out):
    for i in range(x.shape[0]):
        out[i] = C.exp_(x[i])


def test_the_polynomial_exp_is_within_an_ulp_and_saturates_as_the_sigmoid_needs():
    x = np.concatenate([np.linspace(-50, 50, 200_001), np.linspace(-0.4, 0.4, 10_001), [-800.0, -708.0, 0.0]])
    got = np.empty_like(x)
    _exp_all(x, got)
    exact = np.exp(np.maximum(x, -708.0).astype(np.longdouble))
    assert np.all(np.abs(got - exact) <= np.spacing(exact.astype(float)))
    assert got[-3] == got[-2] > 0 and got[-1] == 1.0


@pytest.mark.parametrize("profile, loss, activation", [("published", "ce", "logistic"),
                                                       ("published", "sse", "logistic"),
                                                       ("published", "sse_offset", "symmetric"),
                                                       ("fahlman-code", "atanh", "symmetric"),
                                                       ("fahlman-code", "ce", "logistic")])
def test_a_compiled_step_is_the_numpy_step_within_rounding(profile, loss, activation):
    settings = BL.BackpropSettings(profile=profile, loss=loss, activation=activation)
    numpy_batch, compiled_batch = (BL.Backprop.from_settings(T.Shape(8, 3), settings.replace(engine=engine),
                                                             T.LoopSettings()).start(np.arange(4), SETTINGS)
                                   for engine in ("numpy", "compiled"))
    for _ in range(30):
        numpy_batch.step()
        compiled_batch.step()
    for name in ("params", "h", "z", "y"):
        assert np.allclose(getattr(compiled_batch, name), getattr(numpy_batch, name), rtol=0, atol=1e-12), name
    assert np.allclose(compiled_batch.state["velocity"], numpy_batch.state["velocity"], rtol=0, atol=1e-12)


@pytest.mark.parametrize("size", ["8-3-8", "4-2-4"])
def test_the_readout_the_kernels_give_the_loop_is_what_the_criteria_read(size):
    shape = T.parse_size(size)
    batch = BL.Backprop(shape, engine="compiled").start(np.arange(64), {"lr": np.full(64, 2.0),
                                                                        "momentum": np.full(64, 0.9),
                                                                        "init_scale": np.full(64, 1.0)})
    seen = set()
    for _ in range(150):
        batch.step()
        codes, n_codes, one_corner = batch.code_counts()
        assert np.array_equal(codes, T.corner_of(batch.hidden))
        assert np.array_equal(n_codes, T.count_distinct(codes, shape.n_hidden))
        assert np.array_equal(one_corner, (codes == codes[:, :1]).all(-1))
        for criterion, margin in (("strict", 0.0), ("strict", 0.05), ("fahlman", 0.0)):
            want = T.CRITERIA[criterion](codes, batch.outputs, batch.hidden, margin)
            assert np.array_equal(batch.solved(criterion, margin), want)
            seen.add((criterion, margin, bool(want.any())))
    assert ("strict", 0.0, True) in seen and ("fahlman", 0.0, True) in seen       # solved networks were checked too
    assert batch.solved("sse", 0.0) is None                                         # the loop asks numpy for others


def test_the_published_recipe_gives_the_numpy_engines_epochs():
    seeds, cap = range(20), 3000
    runs = {engine: T.sweep("backprop", seeds, {"engine": engine}, {"epochs": cap}) for engine in ("numpy", "compiled")}
    for column in ("epochs", "solved", "solve_epoch", "plateau_end", "plateau_corner", "first_n_minus_1_codes",
                   "first_n_codes", "codes"):
        assert np.array_equal(runs["compiled"][column], runs["numpy"][column]), column
    assert runs["compiled"]["epochs"][0] == 3000 and runs["compiled"]["solved"].sum() == 13


def test_seed_0_solves_at_epoch_3631_compiled():
    result = T.sweep("backprop", [0], {"engine": "compiled"}, {"epochs": 5000})
    assert result["epochs"][0] == 3631 and result["solved"][0]


@pytest.mark.parametrize("loop", [{"patience": 150, "epochs": 1500}, {"restart_every": 300, "epochs": 1500},
                                  {"patience": 100, "patience_from": "plateau", "epochs": 1500},
                                  {"criterion": "fahlman", "epochs": 1500}, {"margin": 0.1, "epochs": 1500},
                                  {"criterion": "sse", "epochs": 1500}])
def test_restarts_plateaus_and_every_criterion_record_what_numpy_records(loop):
    runs = {engine: T.sweep("backprop", range(12), {"engine": engine, "lr": 1.0}, loop) for engine in ("numpy",
                                                                                                    "compiled")}
    assert runs["compiled"].restart_epochs == runs["numpy"].restart_epochs
    for column in ("epochs", "solved", "solve_epoch", "plateau_end", "first_n_codes"):
        assert np.array_equal(runs["compiled"][column], runs["numpy"][column]), column


def test_a_network_runs_the_same_alone_in_any_batch_block_or_chunk():
    seeds = list(range(C.BLOCK + 40))                     # more networks than a block: two blocks
    loop = {"epochs": 60, "early_stop": False}
    together = T.sweep("backprop", seeds, {"engine": "compiled", "lr": 2.0}, loop)
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        chunked = T.sweep("backprop", seeds[:50], {"engine": "compiled", "lr": 2.0}, loop, executor=pool,
                          chunk_size=7)
    for i in (0, 7, C.BLOCK - 1, C.BLOCK, C.BLOCK + 39):
        alone = T.sweep("backprop", [seeds[i]], {"engine": "compiled", "lr": 2.0}, loop)
        assert np.array_equal(alone["params"][0], together["params"][i])
    assert np.array_equal(chunked["params"], together["params"][:50])


def test_a_batch_loads_saved_states_and_reads_them_as_numpy_does():
    batch = BL.Backprop(engine="compiled").start(np.arange(4), SETTINGS)
    params, velocity = np.random.default_rng(1).normal(size=(2, 4, 59))
    batch.load(params, {"velocity": velocity})
    assert np.array_equal(batch.params, params) and np.array_equal(batch.state["velocity"], velocity)
    h, _, y = E.forward(*E.unpack(params))
    assert np.allclose(batch.hidden, h, rtol=0, atol=1e-15) and np.allclose(batch.outputs, y, rtol=0, atol=1e-15)


def test_the_compiled_engine_refuses_an_optimizer_it_does_not_run():
    with pytest.raises(ValueError, match="compiled engine runs the momentum optimizer"):
        T.check_run("backprop", [0], {"engine": "compiled", "optimizer": "quickprop"})


def test_the_compiling_notice_is_printed_once(capsys):
    was, C._SAID = C._SAID, False
    try:
        listener = C._SayCompiling()
        listener.on_start(None)
        listener.on_start(None)
    finally:
        C._SAID = was
    assert capsys.readouterr().err.count("compiling") == 1


def test_the_cli_takes_the_engine(capsys):
    assert E.main(["--seeds", "5,8,13", "--epochs", "700", "--engine", "compiled"]) == 0
    out = capsys.readouterr().out
    assert "engine compiled" in out and "solved 3/3" in out
