"""ByteDMD: the tracer against the metric's conformance vectors, the published kernel, and our schedules."""
import copy

import numpy as np
import pytest

import backprop_kernels as BPK
import bytedmd
import data_movement_encoder_backprop_8_3_8 as D
import encoder_backprop_8_3_8 as E
from training_loop import parse_size


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


def lru_stack_depths(log, initial, returned):
    """The metric's rule read literally, on a Python list as the stack (top last): a read's depth is its position
    from the top, before the instruction moves anything; then each distinct input moves to the top, or leaves the
    stack after its last read, and the result is pushed unless it is never read."""
    last_read = {v: i for i, (inputs, _, _) in enumerate(log.instructions) for v in inputs}
    stays = lambda v, i: v in returned or last_read.get(v, -1) > i      # noqa: E731
    stack, depths = [v for v in initial if stays(v, -1)], []
    for i, (inputs, result, _) in enumerate(log.instructions):
        depths += [len(stack) - stack.index(v) for v in inputs]
        for v in dict.fromkeys(inputs):
            stack.remove(v)
            if stays(v, i):
                stack.append(v)
        if result is not None and stays(result, i):
            stack.append(result)
    return depths


def random_program(values, steps, rng):
    """A straight-line program over `values` inputs: each step combines two earlier values, some read twice."""
    def program(*inputs):
        pool = list(inputs)
        for _ in range(steps):
            a, b = (pool[int(k)] for k in rng.integers(0, len(pool), 2))
            pool.append(a * b + a if rng.random() < 0.3 else a + b)
        return pool[-3:]
    return program


@pytest.mark.parametrize("seed", range(6))
def test_the_depths_are_those_of_a_literal_lru_stack_on_random_programs(seed):
    rng = np.random.default_rng(seed)
    args = list(rng.uniform(-1, 1, int(rng.integers(1, 40))))
    log, initial, result = bytedmd._run(random_program(len(args), int(rng.integers(1, 300)), rng), args)
    reads = bytedmd._price(log, initial, bytedmd._collect(result, set()))
    assert [d for d, _ in reads] == lru_stack_depths(log, initial, bytedmd._collect(result, set()))


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
    params, _ = BPK.reference_state(0)
    W1, b1, W2, b2 = (a.tolist() for a in E.unpack(params))
    return W1, b1, W2, b2, E.make_encoder_data().tolist()


def test_replicated_published_kernel_costs_the_published_figures():
    assert bytedmd.bytedmd(BPK.published_kernel, published_args()) == 18327
    assert bytedmd.bytedmd(BPK.published_forward, published_args()) == 6489


def test_published_kernel_computes_the_gradient_sums():
    W1, b1, W2, b2, X = published_args()
    grads = BPK.published_kernel(W1, b1, W2, b2, X)
    model = E.EncoderMLP(seed=0)
    for got, want in zip(grads, model.grads()):
        assert np.allclose(np.array(got) / 8, want, atol=1e-15)


# ------------------------------------------------------------------------------------------- our schedules
@pytest.mark.parametrize("size", ["4-2-4", "8-3-8", "16-4-16"])
@pytest.mark.parametrize("key", list(BPK.SCHEDULES))
def test_each_schedule_computes_the_numpy_learners_update_at_any_size(key, size):
    n_params = parse_size(size).n_params
    rng = np.random.default_rng(7)
    for params, velocities in [BPK.reference_state(3, size), (rng.uniform(-3, 3, n_params),
                                                            rng.uniform(-1, 1, n_params))]:
        want_p, want_v = BPK.engine_update(params, velocities, lr=0.7, momentum=0.8, size=size)
        got = BPK.SCHEDULES[key][1](*BPK.kernel_args(params, velocities, size), lr=0.7, momentum=0.8)
        got_p, got_v = BPK.flatten_update(got)
        assert np.abs(got_p - want_p).max() <= 1e-12 and np.abs(got_v - want_v).max() <= 1e-12


def test_schedule_costs_are_deterministic_and_independent_of_the_weights():
    first = BPK.measure_schedules(*BPK.reference_state(0))
    assert BPK.measure_schedules(*BPK.reference_state(0)) == first
    rng = np.random.default_rng(1)
    assert BPK.measure_schedules(rng.uniform(-5, 5, 59), rng.uniform(-1, 1, 59)) == first
    for row in first.values():
        assert row["total"] == row["forward"] + row["backward"] + row["update"]


def test_the_best_schedule_is_at_least_twice_as_cheap_as_layerwise():
    table = BPK.measure_schedules(*BPK.reference_state(0))
    assert table["a"]["total"] / min(r["total"] for r in table.values()) >= 2.0


def test_the_tuned_schedule_is_at_least_5_percent_below_column_wise_and_above_the_bound():
    params, velocities = BPK.reference_state(0)
    table = BPK.measure_schedules(params, velocities)
    assert (table["e"]["total"], table["f"]["total"]) == (10343, 9771)
    assert table["f"]["total"] <= 0.95 * table["e"]["total"]
    bound, _ = bytedmd.instruction_lower_bound(BPK.update_tuned, BPK.kernel_args(params, velocities))
    assert bound < table["f"]["total"]
    assert bytedmd.instruction_lower_bound(BPK.update_columns, BPK.kernel_args(params, velocities))[0] == bound


def test_the_backprop_cost_grows_with_size_and_does_not_depend_on_the_weights():
    small = D.per_update_cost("backprop", size="4-2-4")
    assert (small["layerwise"], small["best"], small["best_schedule"]) == (3201, 1706, "tuned")
    args = BPK.kernel_args(*BPK.reference_state(0, "16-4-16"), "16-4-16")
    large = {key: bytedmd.bytedmd(BPK.SCHEDULES[key][1], args) for key in ("a", "f")}
    assert large == {"a": 152945, "f": 56563}
    assert small["layerwise"] < 22209 < large["a"] and small["best"] < 9771 < large["f"]
    rng = np.random.default_rng(1)
    assert BPK.measure_schedules(rng.uniform(-5, 5, 22), rng.uniform(-1, 1, 22), size="4-2-4") == \
        BPK.measure_schedules(*BPK.reference_state(0, "4-2-4"), size="4-2-4")


def test_the_lower_bound_prices_each_instruction_at_the_shallowest_depths():
    assert bytedmd.instruction_lower_bound(lambda a, b: a + b, (1.0, 2.0)) == (3, 1)    # depths 1 and 2
    assert bytedmd.instruction_lower_bound(lambda a: a + a, (1.0,)) == (2, 1)           # twice at depth 1
    assert bytedmd.instruction_lower_bound(add3, (1, 2, 3)) == (6, 2)                   # its real cost: 6
    assert bytedmd.instruction_lower_bound(matvec, ([[1, 2], [3, 4]], [5, 6]))[0] <= 26


@pytest.fixture
def the_readmes_sweep_made_once(monkeypatch, published_sweep):
    """The CLI's published contract trains the README's sweep (seeds 0-29 to epoch 20000): it gets the runs this
    session made of it (tests/conftest.py); any other sweep trains."""
    train = E.sweep_seeds

    def sweep_seeds(seeds, **settings):
        if list(seeds) == list(range(30)) and settings == {"n_epochs": 20000}:
            return copy.deepcopy(published_sweep[2]["runs"])
        return train(seeds, **settings)
    monkeypatch.setattr(E, "sweep_seeds", sweep_seeds)


def test_cli_prints_every_learner_and_the_totals_with_failures_paid(tmp_path, capsys, the_readmes_sweep_made_once):
    import json
    compare = tmp_path / "compare.json"
    rows = [{"learner": "backprop", "n": 4, "seeds": [0, 3], "solved": {"k": 2, "n": 4}, "updates_per_epoch": 1,
             "cost_updates_per_solved": {"mean": 3000.0, "ci_95": [2000.0, 5000.0]},
             "median_updates_to_solve": {"median": 900.0}},
            {"learner": "cd1", "n": 4, "seeds": [0, 3], "solved": {"k": 4, "n": 4}, "updates_per_epoch": 16,
             "cost_updates_per_solved": {"mean": 10000.0, "ci_95": [9000.0, 11000.0]},
             "median_updates_to_solve": {"median": 6000.0}}]
    compare.write_text(json.dumps({"summary": {"rows": rows}}))
    out = tmp_path / "dm.json"
    assert D.main(["--json", str(out), "--compare", str(compare), "--cd-updates", "1", "--ahs85-cycles", "0",
                   "--local-epochs", "0"]) == 0
    text = capsys.readouterr().out
    assert "published kernel replicated: 18,327" in text and "(f) tuned" in text and "CD-5: layerwise" in text
    data = json.loads(out.read_text())
    assert data["published_replicated"] == {"kernel": 18327, "forward_only": 6489}
    assert data["published_contract_totals"][0]["median_updates"] == 982
    assert data["published_contract_totals"][0]["solved"] == 7
    totals = {row["learner"]: row for row in data["totals_per_solved"]}
    assert set(totals) == {"backprop", "cd1"}
    assert totals["backprop"]["total_per_solved"]["best"]["mean"] == 3000.0 * 9771
    assert totals["cd1"]["total_per_solved"]["layerwise"]["ci_95"][1] == 11000.0 * data["cd"]["1"]["layerwise"]["mean"]


def test_local_rule_rows_of_compare_are_priced_per_pattern_under_their_own_settings(capsys):
    import learners
    import local_rule_kernels as LK

    def row(rule, per_epoch, updates, **settings):
        return {"n": 4, "seeds": [0, 3], "solved": {"k": 2, "n": 4}, "updates_per_epoch": per_epoch,
                "run": {"learner": rule, "size": "4-2-4",
                        "settings": {**learners.get(rule).settings().config(), **settings}},
                "cost_updates_per_solved": {"mean": updates, "ci_95": [0.8 * updates, 1.2 * updates]},
                "median_updates_to_solve": {"median": updates / 2, "ci_95": [0.4 * updates, 0.6 * updates]}}
    compare = {"chl": row("chl", 4, 200.0), "chl_epochs": row("chl", 1, 50.0),     # an epoch counted as one update
               "recirculation": row("recirculation", 1, 50.0), "chl_dt": row("chl", 4, 200.0, dt=0.3),
               "chl_batch": row("chl", 1, 50.0, update="batch"), "backprop": {"run": {"learner": "backprop"}}}
    measured = {rule: LK.measure_rule(rule, "4-2-4", epochs=3) for rule in ("chl", "recirculation")}
    D.print_local_rules(measured, 3)
    assert "local rules at 4-2-4" in capsys.readouterr().out
    priced, refused = D.price_local_rows(compare, measured, epochs=3)
    assert priced["chl"] is measured["chl"] and priced["recirculation"] is measured["recirculation"]
    assert priced["chl_dt"] is not measured["chl"] and set(refused) == {"chl_batch"}
    per_update = {name: {"best": m["schedules"]["tuned"]["total"]} for name, m in priced.items()}
    totals = {r["learner"]: r for r in D.totals_to_criterion(
        compare, per_update, {name: m["updates_per_epoch"] for name, m in priced.items()})}
    for name in ("chl", "chl_epochs"):                                       # four patterns, four updates an epoch
        assert totals[name]["updates_per_solved"]["mean"] == 200.0
        assert totals[name]["total_per_solved"]["best"]["ci_95"][1] == pytest.approx(240.0 * per_update["chl"]["best"])
        assert totals[name]["median_updates_solved_only"]["median"] == 100.0
    assert totals["recirculation"]["updates_per_solved"]["mean"] == 50.0     # one batch update an epoch


def test_the_compare_study_gets_a_local_rules_cost_per_update():
    cost = D.per_update_cost("recirculation")
    assert (cost["layerwise"], cost["best"], cost["best_schedule"]) == (23178, 12806, "tuned")
    assert D.per_update_cost("chl", {"update": "batch"}) is None            # a protocol no kernel computes
    assert D.per_update_cost("recirculation", size="4-2-4")["best"] == 1982


def test_the_boltzmann_learners_are_priced_at_the_size_asked_or_refused(monkeypatch):
    monkeypatch.setattr(D, "TRACED_CD_UPDATES", 1)
    assert D.per_update_cost("cdk", {"k": 1}, size="4-2-4")["best"] < 31927      # 8-3-8's fewest, table schedule
    assert D.per_update_cost("ahs85", size="16-4-16") is None                    # its readout enumerates 2^N states


def test_the_1985_cycle_is_priced_on_the_learners_own_cycles():
    small = D.measure_ahs85(2, size="4-2-4")
    assert 0 < small["min"] <= small["mean"] <= small["max"]
    assert D.measure_ahs85(1, bytes_per_element=2, size="4-2-4")["mean"] > small["max"]   # deeper reads cost more


def test_cli_prices_every_learner_at_another_size_and_not_the_compare_rows_of_8_3_8(tmp_path, capsys):
    import json
    compare = tmp_path / "compare.json"
    compare.write_text(json.dumps({"summary": {"rows": [
        {"learner": "backprop", "n": 4, "seeds": [0, 3], "solved": {"k": 2, "n": 4}, "updates_per_epoch": 1,
         "run": {"learner": "backprop", "size": "8-3-8"},
         "cost_updates_per_solved": {"mean": 3000.0, "ci_95": [2000.0, 5000.0]},
         "median_updates_to_solve": {"median": 900.0}}]}}))
    out = tmp_path / "dm.json"
    assert D.main(["--size", "4-2-4", "--json", str(out), "--compare", str(compare), "--cd-updates", "1",
                   "--ahs85-cycles", "0", "--local-epochs", "0"]) == 0
    text = capsys.readouterr().out
    assert "one update of the 4-2-4 encoder" in text and "1/4 mean" in text and "published" not in text
    assert "compare row backprop: not priced (run at 8-3-8, priced here at 4-2-4)" in text
    assert "totals to the criterion: no row of" in text
    data = json.loads(out.read_text())
    assert data["config"]["size"] == "4-2-4" and data["schedules"]["f"]["total"] == 1706
    assert data["published_replicated"] is None and data["totals_per_solved"] == []
    assert data["published_contract_totals"] == []


def test_cli_by_size_prices_backprop_and_the_local_rules_at_each_size(tmp_path, capsys):
    import json
    out = tmp_path / "sizes.json"
    assert D.main(["--by-size", "4-2-4,5-2-5", "--local-epochs", "1", "--json", str(out)]) == 0
    assert "4-2-4" in capsys.readouterr().out
    rows = json.loads(out.read_text())["per_update"]
    assert list(rows) == ["backprop", *D.LK.RULES] and rows["backprop"]["4-2-4"]["best"] == 1706
    assert rows["recirculation"]["4-2-4"] == {"layerwise": 3207, "best": 1982, "steps": []}
    assert all(row["4-2-4"]["best"] < row["5-2-5"]["best"] for row in rows.values())


def test_cli_without_a_compare_result_says_how_to_make_one(tmp_path, capsys, the_readmes_sweep_made_once):
    assert D.main(["--compare", str(tmp_path / "none.json"), "--cd-updates", "1", "--ahs85-cycles", "0",
                   "--local-epochs", "0", "--size", "4-2-4"]) == 0          # 4-2-4: the same words, quicker
    text = capsys.readouterr().out
    assert "run `python3 study_encoder_backprop_8_3_8.py compare` first" in text and "one 1985 cycle: not traced" in text


def test_a_broken_compare_result_is_one_line_and_exit_2(tmp_path, capsys):
    bad = tmp_path / "compare.json"
    bad.write_text("{}")
    with pytest.raises(SystemExit) as info:
        D.main(["--compare", str(bad)])
    assert info.value.code == 2 and "is not a compare study result" in capsys.readouterr().err


def test_read_cost_in_closed_form_equals_the_sum_over_bytes():
    import math
    for depth in (1, 2, 3, 7, 50, 1000):
        for b in (1, 2, 3, 8, 100):
            first = (depth - 1) * b + 1
            assert bytedmd.read_cost(depth, b) == sum(math.isqrt(i - 1) + 1 for i in range(first, first + b))
    assert bytedmd.read_cost(10 ** 6, 2 ** 20) > 0          # a huge element size costs no time
