#!/usr/bin/env python3
"""Data-movement (ByteDMD) cost of one backprop training update of the N-H-N encoder (8-3-8 by default), and of
reaching the criterion, for several schedules of the same arithmetic.

    python3 data_movement_encoder_backprop_8_3_8.py                 # the table, totals and published figures
    python3 data_movement_encoder_backprop_8_3_8.py --size 4-2-4    # every learner priced at 4-2-4

The backprop kernels and their schedules are backprop_kernels.py, the Boltzmann kernels boltzmann_kernels.py, the
local rules' local_rule_kernels.py (all priced at --size).
"""
import json
import math
import os
import sys
import time

import numpy as np

import atomic_files
import backprop_kernels as BPK
import boltzmann_kernels as BK
import bytedmd
import cli_support as cli
import encoder_backprop_8_3_8 as E
import learners
import local_rule_kernels as LK
import boltzmann_learners as B
import validation as check
from published_figures import BYTEDMD_PUBLISHED as PUBLISHED

MAX_BYTES_PER_ELEMENT = 1 << 20      # the price grows as its square root; beyond this no figure is meaningful
MAX_PATTERNS = 32                    # a settling step's or CD update's trace grows as N * H: 32-5-32 takes minutes
MAX_CD_UPDATES = 1000                # traced CD updates per kernel: ~0.1 s each
MAX_AHS85_CYCLES = 100               # traced 1985 cycles: ~5 s each
MAX_LOCAL_EPOCHS = 100_000           # the local rules' run that finds the state priced


def median_updates(counts=(10, 30), n_epochs=20000):
    """For seeds 0..count-1 of each count: solved, and the median updates of the solved runs (one sweep of the
    largest count; a network's run does not depend on the others in its sweep)."""
    runs = E.sweep_seeds(range(max(counts)), n_epochs=n_epochs)
    out = []
    for count in counts:
        epochs = [r["epochs"] for r in runs[:count] if r["solved"]]
        out.append({"seeds": f"0-{count - 1}", "solved": len(epochs), "n": count,
                    "median_updates": float(np.median(epochs)), "cap": n_epochs})
    return out


# ------------------------------------------------------------------------------------------ Boltzmann kernels
def measure_cd(k, n_updates, bytes_per_element=1, size="8-3-8"):
    """{schedule: {"mean", "min", "max"}} of one CD-k update over the first n_updates updates of seed 0
    (float64; the table schedule's cost depends on the sampled states, the others' does not)."""
    learner = B.CDk(cli.parse_size(size), k=k)
    params, rng = learner.init(0)
    params = params.astype(np.float64)
    velocity = np.zeros_like(params)
    costs = {name: [] for name in BK.CD_SCHEDULES}
    for _ in range(n_updates):
        u = rng.random((1, learner.uniforms_per_update))
        for name in BK.CD_SCHEDULES:
            args = BK.cd_kernel_args(name, learner, params, velocity, u[0])
            costs[name].append(bytedmd.bytedmd(BK.cd_kernel(name, learner), args, bytes_per_element))
        P, V = params[None].copy(), velocity[None].copy()
        B.cd_update(P, V, u, learner)
        params, velocity = P[0], V[0]
    return {name: {"mean": float(np.mean(c)), "min": min(c), "max": max(c)} for name, c in costs.items()}


def measure_ahs85(n_cycles, bytes_per_element=1, size="8-3-8"):
    """{"mean", "min", "max"} of one 1985 learning cycle over the first n_cycles cycles of seed 0 (the cost
    depends on which units the random probes pick)."""
    learner = B.AHS85(cli.parse_size(size))
    batch = learner.start(np.array([0]), {})
    costs = []
    for _ in range(n_cycles):
        u = batch.next_uniforms()
        W = batch.params.reshape(learner.layout.n_units, learner.layout.n_units).copy()
        kernel, args, _ = BK.ahs85_kernel_args(learner, W, u[0])
        costs.append(bytedmd.bytedmd(kernel, args, bytes_per_element))
        batch.cycle(u)
    return {"mean": float(np.mean(costs)), "min": min(costs), "max": max(costs)}


# ------------------------------------------------------------------------------------ one update, any learner
TRACED_CD_UPDATES, TRACED_AHS85_CYCLES = 16, 1


def per_update_cost(learner, settings=None, bytes_per_element=1, size="8-3-8"):
    """ByteDMD of one update of a registered learner at `size` (an N-H-N spec or a Shape) with these settings:
    {"layerwise", "best", "best_schedule", "traced"}, or None when no kernel here computes that update (another
    loss, form or protocol, or a size the learner refuses). backprop: every schedule at seed 0's initial state;
    CD-k: the mean over seed 0's first TRACED_CD_UPDATES updates; ahs85: TRACED_AHS85_CYCLES cycles of seed 0; a
    local rule: its median-step state over seed 0's run (local_rule_kernels.measure_rule; one update is one
    pattern's, or recirculation's batch sweep)."""
    from learners import get
    spec = get(learner)
    s = spec.settings.from_mapping(dict(settings or {}))
    shape = cli.parse_size(size)
    try:
        if learner == "backprop":
            return _backprop_cost(s == spec.settings(), bytes_per_element, shape)
        if learner == "cdk":
            return _cd_cost(s.k, s.replace(k=spec.settings().k) == spec.settings(), bytes_per_element, shape)
        if learner == "ahs85":
            return _ahs85_cost(s == spec.settings(), bytes_per_element, shape)
        if learner in LK.RULES:
            return _local_rule_cost(learner, settings, bytes_per_element, shape)
    except ValueError:
        return None                                # a size, protocol or network the kernels do not compute
    return None


def _backprop_cost(published_recipe, bytes_per_element, shape):
    if not published_recipe:
        return None                                # the kernels compute the published recipe's update only
    table = BPK.measure_schedules(*BPK.reference_state(0, shape), bytes_per_element, shape)
    best = min(table, key=lambda k: table[k]["total"])
    return {"layerwise": table["a"]["total"], "best": table[best]["total"], "best_schedule": table[best]["name"],
            "traced": "seed 0, initial weights"}


def _cd_cost(k, recipe, bytes_per_element, shape):
    if not recipe:
        return None                                # the kernels compute the recipe's update at any k
    costs = measure_cd(k, TRACED_CD_UPDATES, bytes_per_element, shape)
    best = min(costs, key=lambda name: costs[name]["mean"])
    return {"layerwise": costs["layerwise"]["mean"], "best": costs[best]["mean"], "best_schedule": best,
            "traced": f"seed 0, mean of its first {TRACED_CD_UPDATES} updates"}


def _ahs85_cost(defaults, bytes_per_element, shape):
    if not defaults:
        return None
    cycle = measure_ahs85(TRACED_AHS85_CYCLES, bytes_per_element, shape)["mean"]
    return {"layerwise": cycle, "best": cycle, "best_schedule": "the one kernel",
            "traced": f"seed 0, mean of its first {TRACED_AHS85_CYCLES} cycle(s)"}


def _local_rule_cost(rule, settings, bytes_per_element, shape):
    m = LK.measure_rule(rule, str(shape), settings, bytes_per_element=bytes_per_element)
    best = min(m["schedules"], key=lambda k: m["schedules"][k]["total"])
    steps = "+".join(str(s) for s in m["steps"]["median"])
    return {"layerwise": m["schedules"]["layerwise"]["total"], "best": m["schedules"][best]["total"],
            "best_schedule": best, "traced": f"seed 0's run ({m['states']} states), its median-step state"
                                             + (f" ({steps} settling steps)" if steps else "")}


def read_compare(path):
    """The per-learner rows of a `study_encoder_backprop_8_3_8.py compare` result, or None if absent; ValueError
    if it is not a regular file, not JSON, or lacks a finite number the totals read."""
    if not os.path.exists(path):
        return None
    if not os.path.isfile(path):
        raise ValueError(f"{path} is not a regular file")
    try:
        with open(path) as f:
            rows = json.load(f, parse_constant=_not_a_number)["summary"]["rows"]
        return {_compare_row(r)["learner"]: r for r in rows}
    except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError) as err:
        raise ValueError(f"{path} is not a compare study result ({type(err).__name__}: {err})") from None


def _not_a_number(name):
    raise ValueError(f"{name} is not a number")


def _compare_row(row):
    """A compare row, checked for what totals_to_criterion reads: a learner's name and, when it solved any network,
    finite update counts."""
    if not isinstance(row["learner"], str):
        raise TypeError(f"learner {row['learner']!r} is not a name")
    run = row.get("run", {})
    if not isinstance(run, dict) or not isinstance(run.get("settings", {}), dict):
        raise TypeError(f"{row['learner']}'s run is not a mapping of its size and settings")
    cost = row["cost_updates_per_solved"]
    if cost is not None:
        low, high = cost["ci_95"]
        per_epoch = row.get("updates_per_epoch", 1)
        numbers = (cost["mean"], low, high, row["median_updates_to_solve"]["median"], row["n"], row["solved"]["k"],
                   row["solved"]["n"], per_epoch)
        if not all(check.is_real(v) and math.isfinite(v) for v in numbers) or per_epoch <= 0:
            raise ValueError(f"{row['learner']}'s update counts are not all finite numbers")
    return row


def _scaled(stats, key, factor):
    return {**stats, key: stats[key] * factor, "ci_95": [c * factor for c in stats["ci_95"]]}


def totals_to_criterion(compare, per_update, updates_per_epoch=None):
    """Expected data movement per solved network, failures and restarts paid: (updates spent over all networks
    / networks solved) x cost per update, for each learner and kernel. per_update: {learner: {kernel: cost}};
    updates_per_epoch: {learner: n} counts n kernel updates in each epoch of that learner's row, whatever the
    row's own updates_per_epoch (a result that counted a per-pattern rule's epoch as one update)."""
    rows = []
    for learner, kernels in per_update.items():
        row = compare.get(learner)
        if row is None or row["cost_updates_per_solved"] is None:
            continue
        updates, median = row["cost_updates_per_solved"], row["median_updates_to_solve"]
        n = (updates_per_epoch or {}).get(learner)
        if n is not None and n != row["updates_per_epoch"]:
            updates = _scaled(updates, "mean", n / row["updates_per_epoch"])
            median = _scaled(median, "median", n / row["updates_per_epoch"])
        rows.append({"learner": learner, "n": row["n"], "solved": row["solved"], "seeds": row["seeds"],
                     "updates_per_solved": updates, "median_updates_solved_only": median,
                     "per_update": kernels,
                     "total_per_solved": {name: {"mean": updates["mean"] * c,
                                                 "ci_95": [updates["ci_95"][0] * c, updates["ci_95"][1] * c]}
                                          for name, c in kernels.items()},
                     "median_times_per_update": {name: median["median"] * c for name, c in kernels.items()}})
    return rows


def price_local_rows(compare, measured, epochs, bytes_per_element=1):
    """The compare rows that ran a local rule, each priced under its own size and settings (the measurement in
    `measured`, {rule: measure_rule row}, where they match its defaults). Returns ({row: measurement},
    {row: why the kernels do not price it})."""
    priced, refused = {}, {}
    for name, row in compare.items():
        run = row.get("run", {})
        rule = run.get("learner")
        if rule not in LK.RULES:
            continue
        mine = measured.get(rule)
        if mine is not None and run.get("size") == mine["size"] and \
                run.get("settings") == learners.get(rule).settings().config():
            priced[name] = mine
            continue
        try:
            priced[name] = LK.measure_rule(rule, run.get("size", "8-3-8"), run.get("settings"), epochs=epochs,
                                           bytes_per_element=bytes_per_element)
        except ValueError as err:
            refused[name] = str(err)
    return priced, refused


def print_local_rules(measured, epochs):
    rows = list(measured.values())
    print(f"local rules at {rows[0]['size']}, one update each (settling rules and mean-field: one pattern, N per "
          f"epoch; recirculation: one batch sweep), at the median-step state of seed 0's run (to its first solve or "
          f"{epochs} epochs); steps per phase in the learner's order; the range over the fewest- and most-step "
          f"states; per step: a phase's cost / its steps at the median state:")
    print(f"{'rule':<15}{'steps':>8}{'layerwise':>11}{'tuned':>9}{'ratio':>7}  {'range layerwise | tuned':<32}"
          f"per step layerwise | tuned")
    for m in rows:
        a, t = m["schedules"]["layerwise"], m["schedules"]["tuned"]
        steps = "+".join(str(s) for s in m["steps"]["median"]) or "-"
        ranges = f"{a['range'][0]:,}-{a['range'][1]:,} | {t['range'][0]:,}-{t['range'][1]:,}"
        per_step = ", ".join(f"{name} {a['per_step'][name]:,.0f} | {t['per_step'][name]:,.0f}" for name in m["phases"])
        print(f"{m['rule']:<15}{steps:>8}{a['total']:>11,}{t['total']:>9,}{a['total'] / t['total']:>6.2f}x  "
              f"{ranges:<32}{per_step or 'no settling: the cost does not depend on the state'}")


def check_size(spec):
    shape = cli.parse_size(spec)
    if shape.n_patterns > MAX_PATTERNS:
        raise ValueError(f"size must have at most {MAX_PATTERNS} patterns, got {shape}")
    return shape


def check_sizes(text):
    return tuple(check_size(part) for part in str(text).split(","))


def check_bytes_per_element(value):
    value = check.check_positive_int(value, "bytes-per-element")
    if value > MAX_BYTES_PER_ELEMENT:
        raise ValueError(f"bytes-per-element must be at most {MAX_BYTES_PER_ELEMENT}, got {value}")
    return value


def build_parser():
    parser = cli.OneLineParser(prog="data_movement_encoder_backprop_8_3_8.py",
                               description="ByteDMD cost of one training update of the N-H-N encoder per schedule "
                                           "(backprop, CD-1, CD-5, the 1985 Boltzmann cycle, the six local rules), "
                                           "and of reaching the criterion with failures paid for.")
    parser.add_argument("--size", type=cli.arg_type(check_size), default=cli.parse_size("8-3-8"),
                        help=f"the size every learner is priced at, at most {MAX_PATTERNS} patterns (default 8-3-8; "
                             f"the published kernel and contract are 8-3-8's, printed there only; the 1985 cycle "
                             f"runs up to {B.MAX_READOUT_PATTERNS} patterns; compare rows of another size are priced "
                             f"on their own size (local rules) or not at all)")
    parser.add_argument("--by-size", type=cli.arg_type(check_sizes), metavar="SIZES",
                        help="instead of everything else: one update of backprop and of the six local rules (their "
                             "defaults; --local-epochs) at each of these comma-separated sizes, e.g. 4-2-4,8-3-8,16-4-16")
    parser.add_argument("--bytes-per-element", type=cli.arg_type(check_bytes_per_element, int),
                        default=1, help=f"bytes per traced value, 1 to {MAX_BYTES_PER_ELEMENT} (default 1, as published)")
    parser.add_argument("--compare", default=os.path.join("results", "compare.json"),
                        help="the compare study's result, whose update counts price the totals (default "
                             "results/compare.json; made by `study_encoder_backprop_8_3_8.py compare`)")
    parser.add_argument("--cd-updates", default=16,
                        type=cli.arg_type(lambda v: check.check_int_in(v, "cd-updates", 1, MAX_CD_UPDATES), int),
                        help=f"CD updates of seed 0 traced per kernel, their mean reported, 1 to {MAX_CD_UPDATES} "
                             f"(default 16; about 0.1 s each at 8-3-8, 1 s at 16-4-16)")
    parser.add_argument("--ahs85-cycles", default=1,
                        type=cli.arg_type(lambda v: check.check_int_in(v, "ahs85-cycles", 0, MAX_AHS85_CYCLES), int),
                        help=f"1985 learning cycles of seed 0 traced, their mean reported; about 5 s each at 8-3-8; 0 "
                             f"skips the 1985 cycle and its total; at most {MAX_AHS85_CYCLES} (default 1)")
    parser.add_argument("--local-epochs", default=100,
                        type=cli.arg_type(lambda v: check.check_int_in(v, "local-epochs", 0, MAX_LOCAL_EPOCHS), int),
                        help=f"cap of the run of seed 0 whose median-step state prices each local rule (it stops at "
                             f"its first solve); 0 skips the local rules; at most {MAX_LOCAL_EPOCHS:,} (default 100)")
    cli.add_json_args(parser)
    return parser


def print_backprop(table, published, bound, n_instructions, size, b):
    """The schedules' table, the published kernel's replica (8-3-8 only) and the lower bound."""
    base, best_key = table["a"]["total"], min(table, key=lambda k: table[k]["total"])
    print(f"ByteDMD of one update of the {size} encoder (element size {b}; arguments: seed 0's initial weights)")
    if published is not None:
        print(f"published kernel replicated: {published['kernel']:,} per gradient (published "
              f"{PUBLISHED['backprop_per_update']:,}), forward loop alone {published['forward_only']:,} (published "
              f"{PUBLISHED['backprop_forward_only']:,})")
    print(f"modelling: activations traced (the sigmoid is one operation reading its input once); optimizer step "
          f"(1/{size.n_patterns} mean, momentum, weight step) in; forward/backward/update split inside one trace")
    print(f"{'schedule':<15}{'forward':>10}{'backward':>10}{'update':>10}{'total':>10}{'vs (a)':>9}")
    for key, row in table.items():
        print(f"({key}) {row['name']:<11}{row['forward']:>10,}{row['backward']:>10,}{row['update']:>10,}"
              f"{row['total']:>10,}{base / row['total']:>8.2f}x")
    print(f"lower bound for the arithmetic of (e)/(f) ({n_instructions:,} instructions), any order: {bound:,} "
          f"(each instruction's distinct inputs at the shallowest distinct depths); ({best_key}) is "
          f"{table[best_key]['total'] / bound:.2f}x the bound, {1 - table[best_key]['total'] / table['e']['total']:.1%} "
          f"below (e)")


def measure_boltzmann(args):
    """(CD-1 and CD-5 costs, the 1985 cycle's or None, why it was not traced or None) at args.size."""
    b, size = args.bytes_per_element, args.size
    print(f"tracing CD-1 and CD-5 ({args.cd_updates} updates each) and {args.ahs85_cycles} cycle(s) of the 1985 "
          f"procedure at {size} ...", flush=True)
    cd = {k: measure_cd(k, args.cd_updates, b, size) for k in (1, 5)}
    if not args.ahs85_cycles:
        return cd, None, "--ahs85-cycles 0"
    try:
        return cd, measure_ahs85(args.ahs85_cycles, b, size), None
    except ValueError as err:                      # a size the 1985 learner refuses
        return cd, None, str(err)


def print_boltzmann(cd, ahs85, why_not, args):
    print(f"Boltzmann learning, one update (same contract; the Bernoulli samples read their uniform and their "
          f"probability; mean over seed 0's first {args.cd_updates} CD updates / {args.ahs85_cycles} cycle(s)):")
    published = args.size == cli.parse_size("8-3-8")
    for k, costs in cd.items():
        print(f"  CD-{k}: " + ", ".join(f"{name} {c['mean']:,.0f}" + (f" ({c['min']:,}-{c['max']:,})"
                                                                      if c["min"] != c["max"] else "")
                                        for name, c in costs.items())
              + (f"; published {PUBLISHED[f'boltzmann_cd{k}_per_update']:,} (no activations traced, no optimizer "
                 f"step)" if published else ""))
    if ahs85 is None:
        print(f"  ahs85, one 1985 cycle: not traced ({why_not})")
    else:
        print(f"  ahs85, one learning cycle: {ahs85['mean']:,.0f}" + (f" ({ahs85['min']:,}-{ahs85['max']:,})"
                                                                      if ahs85["min"] != ahs85["max"] else ""))


def rows_of_another_size(compare, size):
    """{row: why} for the compare rows of learners other than the local rules that ran at another size than the
    kernels priced here (the local rules' rows are priced on their own size: price_local_rows)."""
    return {name: f"run at {row.get('run', {}).get('size', '8-3-8')}, priced here at {size}"
            for name, row in compare.items()
            if row.get("run", {}).get("learner") not in LK.RULES
            and row.get("run", {}).get("size", "8-3-8") != str(size)}


def print_totals(totals, path):
    print(f"totals to the criterion with failures and restarts paid (update counts from {path}): expected data "
          f"movement per solved network = updates spent by all networks / networks solved x cost per update (plain "
          f"= layerwise, best = cheapest schedule)")
    reference = next((r for r in totals if r["learner"] == "backprop"), None)
    for row in totals:
        u, s = row["updates_per_solved"], row["solved"]
        line = "; ".join(f"{name} {t['mean']:,.3g} (95% CI {t['ci_95'][0]:,.3g}-{t['ci_95'][1]:,.3g})"
                         + ("" if reference is None else
                            f", {t['mean'] / reference['total_per_solved'][name]['mean']:.1f}x backprop")
                         for name, t in row["total_per_solved"].items())
        print(f"  {row['learner']:<18} solved {s['k']}/{s['n']}, {u['mean']:,.0f} updates per solved network: {line}")


def print_published_contract(sweeps, table, published):
    print("published contract (seeds 0-9, median updates of the solved runs x cost per update, failures dropped):")
    for s in sweeps:
        print(f"  backprop seeds {s['seeds']}: {s['solved']}/{s['n']} solve, median {s['median_updates']:g} updates -> "
              + ", ".join(f"({k}) {s['median_updates'] * r['total']:,.0f}" for k, r in table.items())
              + f"; published kernel x median: {s['median_updates'] * published['kernel']:,.0f}")
    print(f"published (seeds 0-9): backprop {PUBLISHED['backprop_total']:,} (982 x 18,327); Boltzmann CD-1 "
          f"{PUBLISHED['boltzmann_cd1_total']:,}, CD-5 {PUBLISHED['boltzmann_cd5_total']:,} (both with CD-5's median "
          f"{PUBLISHED['boltzmann_median_updates']:,} updates)")


def per_update_by_size(sizes, epochs=100, bytes_per_element=1):
    """{learner: {size: {"layerwise", "best", "steps"}}} for backprop (every schedule at seed 0's initial weights)
    and the six local rules under their defaults (both schedules at the median-step state of seed 0's run, to its
    first solve or `epochs` epochs, 0 skipping them; "steps": that state's settling steps per phase, None for
    backprop)."""
    rules = LK.RULES if epochs else ()
    rows = {"backprop": {}, **{rule: {} for rule in rules}}
    for size in map(cli.parse_size, sizes):
        table = BPK.measure_schedules(*BPK.reference_state(0, size), bytes_per_element, size)
        rows["backprop"][str(size)] = {"layerwise": table["a"]["total"],
                                       "best": min(row["total"] for row in table.values()), "steps": None}
        for rule in rules:
            m = LK.measure_rule(rule, str(size), epochs=epochs, bytes_per_element=bytes_per_element)
            rows[rule][str(size)] = {"layerwise": m["schedules"]["layerwise"]["total"],
                                     "best": min(s["total"] for s in m["schedules"].values()),
                                     "steps": m["steps"]["median"]}
    return rows


def print_per_update_by_size(rows, epochs, bytes_per_element):
    sizes = list(rows["backprop"])
    print(f"ByteDMD of one update (element size {bytes_per_element}; layerwise | best schedule; backprop at seed 0's "
          f"initial weights, a local rule at the median-step state of seed 0's run under its defaults, to its first "
          f"solve or {epochs} epochs, with that state's settling steps):")
    print(f"{'learner':<15}" + "".join(f"{size:>30}" for size in sizes))
    for learner, by_size in rows.items():
        cells = []
        for cost in by_size.values():
            steps = "" if not cost["steps"] else " (" + "+".join(map(str, cost["steps"])) + ")"
            cells.append(f"{cost['layerwise']:,} | {cost['best']:,}{steps}")
        print(f"{learner:<15}" + "".join(f"{cell:>30}" for cell in cells))


def main_by_size(parser, args):
    start = time.perf_counter()
    print(f"tracing backprop and the six local rules at {', '.join(map(str, args.by_size))} ...", flush=True)
    rows = per_update_by_size(args.by_size, args.local_epochs, args.bytes_per_element)
    print_per_update_by_size(rows, args.local_epochs, args.bytes_per_element)
    seconds = time.perf_counter() - start
    print(f"({seconds:.1f} s)")
    if args.json:
        try:
            atomic_files.write_json(args.json, {
                "config": {"sizes": [str(s) for s in args.by_size], "bytes_per_element": args.bytes_per_element,
                           "local_epochs": args.local_epochs}, "per_update": rows, "seconds": seconds})
        except OSError as err:
            cli.output_failed(parser, err, f"cannot write {args.json}: {err}")
    return 0


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    cli.refuse_foreign_outputs(parser, [args.json], args.force)
    if args.by_size:
        return main_by_size(parser, args)
    try:
        compare = read_compare(args.compare)
    except ValueError as err:
        parser.error(str(err))
    start = time.perf_counter()
    b, size = args.bytes_per_element, args.size
    at_published_size = size == cli.parse_size("8-3-8")      # the published kernel and figures are 8-3-8's
    params, velocities = BPK.reference_state(0, size)
    published = BPK.measure_published(params, b) if at_published_size else None
    table = BPK.measure_schedules(params, velocities, b, size)
    best_key = min(table, key=lambda k: table[k]["total"])
    bound, n_instructions = bytedmd.instruction_lower_bound(BPK.update_tuned, BPK.kernel_args(params, velocities, size),
                                                            b)
    print_backprop(table, published, bound, n_instructions, size, b)

    cd, ahs85, ahs85_not_traced = measure_boltzmann(args)
    print_boltzmann(cd, ahs85, ahs85_not_traced, args)
    per_update = {"backprop": {"layerwise": table["a"]["total"], "best": table[best_key]["total"]},
                  "cd1": {"layerwise": cd[1]["layerwise"]["mean"], "best": min(c["mean"] for c in cd[1].values())},
                  "cd5": {"layerwise": cd[5]["layerwise"]["mean"], "best": min(c["mean"] for c in cd[5].values())},
                  **({} if ahs85 is None else {"ahs85": {"layerwise": ahs85["mean"], "best": ahs85["mean"]}})}
    local, local_priced, refused = {}, {}, {}
    if args.local_epochs:
        print(f"tracing the six local rules at {size} ...", flush=True)
        local = {rule: LK.measure_rule(rule, str(size), epochs=args.local_epochs, bytes_per_element=b)
                 for rule in LK.RULES}
        print_local_rules(local, args.local_epochs)
        if compare is not None:
            local_priced, refused = price_local_rows(compare, local, args.local_epochs, b)
        for name, m in local_priced.items():
            per_update[name] = {"layerwise": m["schedules"]["layerwise"]["total"],
                                "best": min(s["total"] for s in m["schedules"].values())}
    totals = []
    if compare is None:
        print(f"totals to the criterion: no {args.compare}; run `python3 study_encoder_backprop_8_3_8.py compare` "
              f"first (or give --compare)")
    else:
        refused.update(rows_of_another_size(compare, size))
        for name, why in refused.items():
            per_update.pop(name, None)
            print(f"  compare row {name}: not priced ({why})")
        totals = totals_to_criterion(compare, per_update, {name: m["updates_per_epoch"]
                                                           for name, m in local_priced.items()})
        if totals:
            print_totals(totals, args.compare)
        else:
            print(f"totals to the criterion: no row of {args.compare} is priced at {size}")
    sweeps = median_updates((10, 30)) if at_published_size else []
    if at_published_size:
        print_published_contract(sweeps, table, published)
    seconds = time.perf_counter() - start
    print(f"({seconds:.1f} s)")
    if args.json:
        try:
            atomic_files.write_json(args.json, {
                "config": {"size": str(size), "bytes_per_element": b, "weights": "seed 0 initial",
                           "traced_activations": True, "optimizer_step": True,
                           "compare": args.compare if compare else None, "cd_updates": args.cd_updates,
                           "ahs85_cycles": args.ahs85_cycles, "local_epochs": args.local_epochs},
                "published_replicated": published, "published": PUBLISHED, "schedules": table,
                "best_schedule": best_key, "lower_bound": {"cost": bound, "instructions": n_instructions},
                "cd": cd, "ahs85_cycle": ahs85, "local_rules": local,
                "totals_per_solved": totals,
                "published_contract_totals": [{**s, "total": {k: s["median_updates"] * r["total"]
                                                              for k, r in table.items()}} for s in sweeps],
                "seconds": seconds})
        except OSError as err:
            cli.output_failed(parser, err, f"cannot write {args.json}: {err}")
    return 0


if __name__ == "__main__":
    sys.exit(cli.run_main(main))
