"""ByteDMD: the tracer against the metric's conformance vectors, the published kernel, and our schedules."""
import numpy as np
import pytest

import bytedmd
import data_movement_encoder_backprop_8_3_8 as D
import encoder_backprop_8_3_8 as E


def add3(a, b, c):
    return (a + b) + c


def twice(a):
    return a + a


def compare_sums(a, b, c, d):
    e = b + c
    f = a + d
    return e > f


def dot_explicit(a, b):
    return a[0] * b[0] + a[1] * b[1]


def dot_sum(a, b):
    return sum(i * j for i, j in zip(a, b))


def matvec(A, x):
    return [A[i][0] * x[0] + A[i][1] * x[1] for i in range(2)]


def branch(a):
    if a > 0:
        return a * 2


@pytest.mark.parametrize("fn, args, depths, cost", [
    (add3, (1, 2, 3), [1, 2, 1, 2], 6),
    (twice, (5,), [1, 1], 2),
    (compare_sums, (1, 2, 3, 4), [2, 3, 2, 3, 2, 1], 11),
    (dot_explicit, ([0, 1], [2, 3]), [2, 4, 2, 3, 2, 1], 11),
    (dot_sum, ([0, 1], [2, 3]), [2, 4, 1, 2, 3, 2, 1], 12),
    (matvec, ([[1, 2], [3, 4]], [5, 6]), [4, 6, 5, 6, 3, 1, 5, 3, 4, 3, 2, 1], 26),
    (branch, (5,), [1, 1, 1], 3),
    (branch, (-5,), [1, 1], 2),
])
def test_conformance_vectors(fn, args, depths, cost):
    got_depths, _ = bytedmd.trace(fn, args)
    assert got_depths == depths
    assert bytedmd.bytedmd(fn, args) == cost


def test_bytes_per_element():
    assert bytedmd.bytedmd(add3, (1, 2, 3), bytes_per_element=2) == 14
    assert [bytedmd.read_cost(d) for d in (1, 2, 4, 5, 9, 10)] == [1, 2, 2, 3, 3, 4]


def test_trace_returns_plain_results_and_escapes_are_plain():
    depths, result = bytedmd.trace(matvec, ([[1, 2], [3, 4]], [5, 6]))
    assert result == [17, 39] and all(type(v) is int for v in result)
    _, value = bytedmd.trace(lambda a: float(a) + 1.0, (2.5,))
    assert value == 3.5


def test_unread_arguments_take_no_space_and_returned_values_stay():
    # b is never read, so a's read of c is at depth 2, not 3
    assert bytedmd.trace(lambda a, b, c: a + c, (1, 2, 3))[0] == [1, 2]
    # a returned value stays live: x's second read sits below it
    depths, _ = bytedmd.trace(lambda x, y: (x * y, x + 1.0), (2.0, 3.0))
    assert depths == [1, 2, 2]


def test_op_prices_a_function_as_one_read():
    square_plus = bytedmd.op(lambda v: v * v + 1.0)
    assert bytedmd.trace(lambda a: square_plus(a), (3.0,)) == ([1], 10.0)
    assert square_plus(3.0) == 10.0                       # untraced use is the plain function


def test_cost_by_phase_splits_one_trace():
    def fn(a, b):
        bytedmd.phase("one")
        c = a + b
        bytedmd.phase("two")
        return c * a
    costs, _ = bytedmd.cost_by_phase(fn, (1.0, 2.0))
    assert costs == {"one": 1 + 2, "two": 1 + 2} and sum(costs.values()) == bytedmd.bytedmd(fn, (1.0, 2.0))


# ------------------------------------------------------------------------------------- the published kernel
def published_args():
    params, _ = D.reference_state(0)
    W1, b1, W2, b2 = (a.tolist() for a in E.unpack(params))
    return W1, b1, W2, b2, E.make_encoder_data().tolist()


def test_replicated_published_kernel_costs_the_published_figures():
    assert bytedmd.bytedmd(D.published_kernel, published_args()) == 18327
    assert bytedmd.bytedmd(D.published_forward, published_args()) == 6489


def test_published_kernel_computes_the_gradient_sums():
    W1, b1, W2, b2, X = published_args()
    grads = D.published_kernel(W1, b1, W2, b2, X)
    model = E.EncoderMLP(seed=0)
    for got, want in zip(grads, model.grads()):
        assert np.allclose(np.array(got) / 8, want, atol=1e-15)


# ------------------------------------------------------------------------------------------- our schedules
@pytest.mark.parametrize("key", list(D.SCHEDULES))
def test_each_schedule_computes_the_engines_update(key):
    rng = np.random.default_rng(7)
    for params, velocities in [D.reference_state(3), (rng.uniform(-3, 3, 59), rng.uniform(-1, 1, 59))]:
        want_p, want_v = D.engine_update(params, velocities, lr=0.7, momentum=0.8)
        got = D.SCHEDULES[key][1](*D.kernel_args(params, velocities), lr=0.7, momentum=0.8)
        got_p, got_v = D.flatten_update(got)
        assert np.abs(got_p - want_p).max() <= 1e-12 and np.abs(got_v - want_v).max() <= 1e-12


def test_schedule_costs_are_deterministic_and_independent_of_the_weights():
    first = D.measure_schedules(*D.reference_state(0))
    assert D.measure_schedules(*D.reference_state(0)) == first
    rng = np.random.default_rng(1)
    assert D.measure_schedules(rng.uniform(-5, 5, 59), rng.uniform(-1, 1, 59)) == first
    for row in first.values():
        assert row["total"] == row["forward"] + row["backward"] + row["update"]


def test_the_best_schedule_is_at_least_twice_as_cheap_as_layerwise():
    table = D.measure_schedules(*D.reference_state(0))
    assert table["a"]["total"] / min(r["total"] for r in table.values()) >= 2.0


def test_cli_prints_the_table_and_writes_json(tmp_path, capsys):
    out = tmp_path / "dm.json"
    assert D.main(["--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "published kernel replicated: 18,327" in text and "(e) column-wise" in text
    import json
    data = json.loads(out.read_text())
    assert data["published_replicated"] == {"kernel": 18327, "forward_only": 6489}
    assert data["totals"][0]["median_updates"] == 982 and data["totals"][0]["solved"] == 7
    assert data["totals"][1]["seeds"] == "0-29" and data["totals"][1]["solved"] == 21


def test_read_cost_in_closed_form_equals_the_sum_over_bytes():
    import math
    for depth in (1, 2, 3, 7, 50, 1000):
        for b in (1, 2, 3, 8, 100):
            first = (depth - 1) * b + 1
            assert bytedmd.read_cost(depth, b) == sum(math.isqrt(i - 1) + 1 for i in range(first, first + b))
    assert bytedmd.read_cost(10 ** 6, 2 ** 20) > 0          # a huge element size costs no time
