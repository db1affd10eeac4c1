"""The pure-Python Boltzmann kernels priced by the data-movement CLI compute the numpy learners' updates."""
import numpy as np
import pytest

import boltzmann_kernels as K
import bytedmd
import boltzmann_learners as B
from training_loop import parse_size


def trained_cd(k, size, epochs=3, sparsity_form="recipe"):
    learner = B.CDk(parse_size(size), k=k, sparsity_form=sparsity_form)
    batch = learner.start(np.array([5]), {})
    for _ in range(epochs):
        batch.step()
    return learner, batch.params[0].astype(np.float64), batch.velocity[0].astype(np.float64)


@pytest.mark.parametrize("size", ["8-3-8", "4-2-4"])
@pytest.mark.parametrize("k", [1, 5])
@pytest.mark.parametrize("schedule", list(K.CD_SCHEDULES))
@pytest.mark.parametrize("form", list(B.SPARSITY_FORMS))
def test_each_cd_kernel_computes_the_learners_update(schedule, k, size, form):
    learner, params, velocity = trained_cd(k, size, sparsity_form=form)
    rng = np.random.default_rng(11)
    for _ in range(3):
        u = rng.random((1, learner.uniforms_per_update))
        P, V = params[None].copy(), velocity[None].copy()
        B.cd_update(P, V, u, learner)
        _, result = bytedmd.trace(K.cd_kernel(schedule, learner),
                                  K.cd_kernel_args(schedule, learner, params, velocity, u[0]))
        got_p, got_v = K.flatten_cd(result)
        assert np.abs(got_p - P[0]).max() <= 1e-12 and np.abs(got_v - V[0]).max() <= 1e-12
        params, velocity = P[0], V[0]
    assert np.abs(velocity).max() > 1e-3                    # the update moved the weights: not a zero test


def test_cd_costs_of_the_dense_schedules_do_not_depend_on_the_values():
    learner, params, velocity = trained_cd(5, "8-3-8")
    u = np.random.default_rng(0).random(learner.uniforms_per_update)
    for schedule in ("layerwise", "fused"):
        costs = {bytedmd.bytedmd(K.cd_kernel(schedule, learner), K.cd_kernel_args(schedule, learner, p, v, uu))
                 for p, v, uu in ((params, velocity, u), (params * 3, velocity * 0, 1 - u))}
        assert len(costs) == 1


def test_the_ahs85_kernel_computes_the_learners_cycle():
    learner = B.AHS85(parse_size("4-2-4"))
    batch = learner.start(np.array([2]), {})
    n = learner.layout.n_units
    rng = np.random.default_rng(3)
    changed = 0
    for cycle in range(4):
        u = rng.random((1, learner.uniforms_per_cycle), dtype=np.float32)
        W = batch.params.reshape(n, n).copy()
        kernel, args, plan = K.ahs85_kernel_args(learner, W, u[0])
        traced = cycle == 0                                # one cycle under the tracer, the others plain
        result = bytedmd.trace(kernel, args)[1] if traced else kernel(*args)
        batch.cycle(u)
        new = batch.params.reshape(n, n)
        assert [new[i, j] for i, j in plan.connections] == result
        assert np.array_equal(new, new.T) and not new[~learner.layout.mask].any()
        changed += int((new != W).sum())
    assert changed > 0


def test_the_ahs85_kernel_on_the_8_3_8_network_untraced():
    learner = B.AHS85()
    batch = learner.start(np.array([0]), {})
    n = learner.layout.n_units
    for _ in range(2):
        batch.step()
    u = np.random.default_rng(4).random((1, learner.uniforms_per_cycle), dtype=np.float32)
    kernel, args, plan = K.ahs85_kernel_args(learner, batch.params.reshape(n, n).copy(), u[0])
    result = kernel(*args)
    batch.cycle(u)
    assert [batch.params.reshape(n, n)[i, j] for i, j in plan.connections] == result


def test_the_ahs85_kernel_refuses_noise_it_does_not_model():
    with pytest.raises(ValueError, match="noise"):
        K.AHS85Plan(B.AHS85(noise="pattern"))
