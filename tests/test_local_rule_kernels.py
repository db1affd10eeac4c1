"""The pure-Python kernels of the local rules compute the numpy learners' updates, settling step for step."""
import copy

import numpy as np
import pytest

import bytedmd
import learners
import local_learners as L
import local_rule_kernels as K
from training_loop import parse_size


def trained(rule, size, epochs=4, seed=3, **settings):
    """A learner and one network of it after a few epochs: (learner, lr, params (P,), kept state rows)."""
    spec = learners.get(rule)
    s = spec.settings.from_mapping(settings)
    learner = spec.make(parse_size(size), s)
    batch = learner.start(np.array([seed]), {"lr": np.array([s.lr])})
    for _ in range(epochs):
        batch.step()
    return learner, s.lr, batch.params[0].copy(), {k: v[0].copy() for k, v in batch.state.items()}


def learner_steps(learner, params, pattern, state):
    """The settling steps the learner takes on `pattern` from these parameters, in its order of the phases."""
    n = learner.shape.n_patterns
    x = np.eye(n)[pattern][None, None]
    if isinstance(learner, L.SettlingLearner):
        W_ih, b_h, W_ho, b_o, W_oh = L.settling_unpack(params[None], learner.shape)
        drive = x @ W_ih + b_h[:, None, :]
        zero = L.zero_state(1, 1, learner.shape)
        return tuple(int(L.settle(drive, W_oh, W_ho, b_o, zero, clamped, learner)[1][0, 0]) for clamped in (None, learner.clamped_targets(x)))
    W = learner.weights(params[None])
    lay = learner.layout
    steps = []
    for name, free in (("plus", lay.plus_free), ("minus", lay.minus_free)):
        start = lay.clamp(state[name][None, pattern:pattern + 1], x, free)

        def settled(cap):
            capped = copy.copy(learner)
            capped.max_steps = cap
            return L.mean_field_settle(W, start.copy(), free, capped)
        full = settled(learner.max_steps)
        steps.append(next(cap for cap in range(1, learner.max_steps + 1) if np.array_equal(settled(cap), full)))
    return tuple(steps)


def kernel_epoch(learner, schedule, lr, params, state, order, traced_first=True):
    """One epoch of kernel updates in `order`: (params, state, [settling steps per update]). The first update
    runs under the tracer (which changes no number), the others plain, for speed."""
    steps = []
    for t, pattern in enumerate(order):
        kernel, args = K.update_call(learner, schedule, params, lr, pattern, state)
        result = bytedmd.trace(kernel, args)[1] if traced_first and t == 0 else kernel(*args)
        params, got_steps, new_state = K.updated(learner, result, params, pattern, state)
        state = new_state if new_state is not None else state
        steps.append(got_steps)
    return params, state, steps


PER_PATTERN = L.SETTLING_RULES + ("mean-field",)


@pytest.mark.parametrize("size", ["4-2-4", "8-3-8"])
@pytest.mark.parametrize("schedule", K.SCHEDULES)
@pytest.mark.parametrize("rule", PER_PATTERN)
def test_an_epoch_of_kernel_updates_is_the_learners_epoch(rule, schedule, size):
    learner, lr, params, state = trained(rule, size)
    n = learner.shape.n_patterns
    order = np.random.default_rng(5).permutation(n)
    P, S = params[None].copy(), {k: v[None].copy() for k, v in state.items()}
    learner.train_epoch(P, np.array([lr]), order[None], S)

    got, got_state, _ = kernel_epoch(learner, schedule, lr, params, state, order, traced_first=size == "4-2-4")
    assert np.abs(got - P[0]).max() <= 1e-12 and np.abs(got - params).max() > 1e-6
    for name in S:
        assert np.abs(got_state[name] - S[name][0]).max() <= 1e-12


@pytest.mark.parametrize("schedule", K.SCHEDULES)
@pytest.mark.parametrize("rule", PER_PATTERN)
def test_each_update_settles_for_as_many_steps_as_the_learner(rule, schedule):
    learner, lr, params, state = trained(rule, "8-3-8")
    for pattern in (0, 5):
        kernel, args = K.update_call(learner, schedule, params, lr, pattern, state)
        _, steps, _ = K.updated(learner, kernel(*args), params, pattern, state)
        assert steps == learner_steps(learner, params, pattern, state)
        assert min(steps) >= 1


@pytest.mark.parametrize("schedule", K.SCHEDULES)
@pytest.mark.parametrize("size", ["4-2-4", "8-3-8"])
def test_the_recirculation_kernels_compute_the_learners_batch_update(size, schedule):
    learner, lr, params, _ = trained("recirculation", size)
    P = params[None].copy()
    learner.train_epoch(P, np.array([lr]), None, {})
    kernel, args = K.update_call(learner, schedule, params, lr)
    got, steps, _ = K.updated(learner, bytedmd.trace(kernel, args)[1], params)
    assert steps == () and np.abs(got - P[0]).max() <= 1e-12 and np.abs(got - params).max() > 1e-6


def test_the_tuned_kernels_are_cheaper_and_recirculations_cost_does_not_depend_on_the_weights():
    for rule in K.RULES:
        learner, lr, params, state = trained(rule, "4-2-4")
        costs = {s: bytedmd.bytedmd(*K.update_call(learner, s, params, lr, 1, state)) for s in K.SCHEDULES}
        assert costs["tuned"] < 0.7 * costs["layerwise"], rule
    learner, lr, params, _ = trained("recirculation", "8-3-8")
    for weights in (params, -3 * params):
        assert [bytedmd.bytedmd(*K.update_call(learner, s, weights, lr)) for s in K.SCHEDULES] == [23178, 12806]


def test_the_convergence_threshold_is_the_learners_test_without_the_division():
    dt, tolerance = 0.2, 0.01
    moved = K.moved_threshold(dt, tolerance)
    near = [moved, np.nextafter(moved, 0), np.nextafter(moved, 1)]
    for d in near + list(np.random.default_rng(0).uniform(0, 2 * moved, 1000)):
        assert (d >= moved) == (d / dt >= tolerance)
    assert moved / dt >= tolerance > np.nextafter(moved, 0) / dt


def test_kernels_refuse_what_they_do_not_price():
    learner, lr, params, _ = trained("generec", "4-2-4", epochs=2)
    with pytest.raises(ValueError, match="symmetric|stores W_oh"):
        chl = learners.get("chl").make(learner.shape, learners.get("chl").settings())
        K.update_call(chl, "tuned", params, lr, 0)                  # generec's W_oh drifts from W_ho^T
    for rule, settings in (("chl", {"update": "batch"}), ("chl", {"plus_start": "minus"}),
                           ("recirculation", {"update": "pattern"}), ("mean-field", {"network": "ahs85"})):
        spec = learners.get(rule)
        with pytest.raises(ValueError, match="kernels"):
            K.check_learner(spec.make(parse_size("4-2-4"), spec.settings.from_mapping(settings)))
    with pytest.raises(ValueError, match="schedule"):
        K.update_call(learner, "fastest", params, lr, 0)


def test_a_rule_is_priced_at_its_median_step_state():
    row = K.measure_rule("chl", "4-2-4", epochs=6)
    assert row["updates_per_epoch"] == 4 and row["states"] == 6 and row["phases"] == ["minus", "plus"]
    for schedule in K.SCHEDULES:
        cost = row["schedules"][schedule]
        assert cost["range"][0] <= cost["total"] <= cost["range"][1]
        assert cost["total"] == sum(cost["phases"].values()) and cost["per_step"]["minus"] > 0
    assert sum(row["steps"]["min"]) <= sum(row["steps"]["median"]) <= sum(row["steps"]["max"])
    recirculation = K.measure_rule("recirculation", "4-2-4", epochs=2)
    tuned = recirculation["schedules"]["tuned"]
    assert recirculation["updates_per_epoch"] == 1 and tuned["per_step"] == {} and tuned["at_mean_steps"] == tuned["total"]
