"""The compiled CD-k path: the PCG64 stream it continues is numpy's, number for number; its sigmoid is within a
few ulp; and an epoch of its updates is the numpy reference cd_update within float32 rounding."""
import numpy as np
import pytest

import compiled_kernels as C
import boltzmann_learners as B
from training_loop import parse_size


@pytest.mark.parametrize("already_drawn", [0, 1, 7])
def test_the_compiled_stream_is_numpys_pcg64_stream(already_drawn):
    rng = np.random.default_rng(123)
    rng.random(already_drawn, dtype=np.float32)           # an odd count leaves a buffered 32-bit half
    state = C.pcg64_state(rng)
    for count in (5, 0, 1, 1000, 3):                       # odd and even requests, one after another
        got = np.empty(count, np.float32)
        C.pcg64_uniforms(state, got)
        assert np.array_equal(got, rng.random(count, dtype=np.float32))


def test_the_stream_state_refuses_another_generator():
    with pytest.raises(ValueError, match="PCG64"):
        C.pcg64_state(np.random.Generator(np.random.MT19937(0)))


def test_the_compiled_sigmoid_is_within_three_ulp_and_saturates():
    x = np.concatenate([np.linspace(-30, 30, 200_001), [-1e4, -100.0, -88.5, 0.0, 88.5, 100.0, 1e4]])
    x = x.astype(np.float32)
    got = x.copy()
    C.sigmoid_(got, np.empty(len(x), np.int32))
    with np.errstate(over="ignore"):                       # exp(1e4) is inf: the exact sigmoid is 0 there
        exact = 1 / (1 + np.exp(-x.astype(np.float64)))
    ulp = np.spacing(exact.astype(np.float32)).astype(np.float64)
    assert np.all(np.abs(got - exact) <= 3 * ulp + 1e-38)
    assert got[-1] == 1.0 and got[-7] < 1e-37 and got[-4] == 0.5


@pytest.mark.parametrize("size, k, form", [("8-3-8", 5, "recipe"), ("8-3-8", 1, "recipe"), ("4-2-4", 5, "recipe"),
                                           ("8-3-8", 5, "bias")])
def test_an_epoch_of_the_kernel_is_the_reference_update(size, k, form):
    learner = B.CDk(parse_size(size), k=k, sparsity_form=form)
    batch = learner.start(np.array([3, 4]), {})
    for _ in range(3):                                     # away from the initial weights
        batch.step()
    params, velocity = batch.params.astype(np.float64), batch.velocity.astype(np.float64)
    u = np.random.default_rng(9).random((2, learner.updates, learner.uniforms_per_update), dtype=np.float32)
    for t in range(learner.updates):
        B.cd_update(params, velocity, u[:, t].astype(np.float64), learner)
    for s in range(2):
        C.cd_network(batch.params[s], batch.velocity[s], u[s], *learner.kernel_constants())
    assert np.abs(batch.params - params).max() < 1e-5 and np.abs(batch.velocity - velocity).max() < 1e-5
    assert np.abs(batch.params - params).max() > 0          # float32 against float64: a real comparison


def test_an_epoch_draws_each_networks_numbers_from_its_own_stream():
    learner = B.CDk(parse_size("4-2-4"), k=2)
    batch = learner.start(np.array([6, 8]), {})
    expected = batch.params.copy(), batch.velocity.copy()
    for s, seed in enumerate((6, 8)):
        _, rng = learner.init(seed)
        u = rng.random((learner.updates, learner.uniforms_per_update), dtype=np.float32)
        C.cd_network(expected[0][s], expected[1][s], u, *learner.kernel_constants())
    batch.step()
    assert np.array_equal(batch.params, expected[0]) and np.array_equal(batch.velocity, expected[1])
