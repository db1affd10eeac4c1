"""compare: every learner of the registry on the 8-3-8 encoder as a fair race. One budget unit (weight updates;
a 1985 learning cycle counts as one update), one cap in updates, one criterion (N distinct dominant codes and
every pattern reconstructed, read exactly), each network stopped at its first solve with failures and restarts
paid for; every restartable learner's patience chosen by the same rule on the tuning seeds (0-999) and
reported on held-out seeds (1000-1999); readouts at common update budgets, at equal CPU time (the median of
repeated timings, every row timed in turns) and at equal data movement (ByteDMD per update), all off the same
held-out runs."""
import dataclasses
import json
import math
import os
import statistics
import time

import numpy as np

import cli_support as cli
import training_loop as T
import validation as check
from interval_stats import bootstrap, cost_per_success, fmt_mean, fmt_median, fmt_rate, rate, wilson_interval
from learners import get as get_learner
from published_figures import AHS85 as PUBLISHED_AHS85
from studies.common import config_record, engine_for

NAME = "compare"
DESCRIPTION = "a fair race of every learner (backprop, CD-1, CD-5, the 1985 procedure, the local rules) to one cap"
SEEDS, EPOCHS = "1000-1999", 64000
EPOCHS_HELP = "the race's cap in weight updates for every learner, restarts included (not epochs)"


# One row per learner: label, color, registry name, settings. Adding a learner to the race is one line here.
ROWS = {"backprop": ("backprop, published recipe", "#1f77b4", "backprop", {}),
        "cd1": ("CD-1 recipe", "#ff7f0e", "cdk", {"k": 1}),
        "cd5": ("CD-5 recipe", "#d62728", "cdk", {"k": 5}),
        "ahs85": ("Boltzmann 1985 (ahs85)", "#2ca02c", "ahs85", {}),
        "chl": ("CHL", "#9467bd", "chl", {"engine": "compiled"}),
        "generec": ("GeneRec", "#8c564b", "generec", {"engine": "compiled"}),
        "generec-mid": ("GeneRec Mid", "#e377c2", "generec-mid", {"engine": "compiled"}),
        "generec-sym": ("GeneRec Sym", "#7f7f7f", "generec-sym", {"engine": "compiled"}),
        "recirculation": ("recirculation", "#bcbd22", "recirculation", {"engine": "compiled"}),
        "mean-field": ("mean-field Boltzmann", "#17becf", "mean-field", {"engine": "compiled"})}


def _positive(name):
    return cli.arg_type(lambda v: check.check_positive_int(v, name), int)


def _existing_file(path):
    if not os.path.isfile(path):
        raise ValueError(f"{path!r} is not a file" + ("" if os.path.exists(path) else " (it does not exist)"))
    return path


OPTIONS = {"tune_seeds": ("0-999", cli.parse_seeds, "seeds on which every learner's patience is chosen (the reported "
                                                    "seeds, --seeds, are held out from them)"),
           "patience_grid": ([250, 500, 1000, 4000, 16000],
                             cli.list_of(int, lambda v: check.check_positive_int(v, "patience")),
                             "restart patiences tried, in updates (no restarts is always tried too; when the "
                             "shortest wins, it is halved until a shorter one loses)"),
           "budgets": ([5000, 20000, 64000], cli.list_of(int, lambda v: check.check_positive_int(v, "budget")),
                       "update budgets the table reads the held-out runs at"),
           "cpu_budgets": ([0.01, 0.1, 1.0], cli.list_of(float, lambda v: check.check_real_in(v, "cpu budget", 0, 1e6)),
                           "CPU seconds per network the table reads the held-out runs at"),
           "dmd_budgets": ([1e7, 1e8, 1e9], cli.list_of(float, lambda v: check.check_real_in(v, "dmd budget", 0, 1e18)),
                           "data movement (ByteDMD, best schedule) per network the table reads the runs at"),
           "learners": (None, cli.list_of(str, lambda v: check.check_choice(v, ROWS, "learner")),
                        "the rows to run (default all): " + ", ".join(ROWS)),
           "ahs85_networks": (200, _positive("ahs85-networks"),
                              "the 1985 procedure (no restart rule, no tuning) trains the first this-many held-out "
                              "seeds (it is slow)"),
           "ahs85_cycles": (4000, _positive("ahs85-cycles"), "the 1985 procedure's cap: the paper's 4000 cycles"),
           "timing_repeats": (3, _positive("timing-repeats"), "timed repeats per learner, every row's repeat r before "
                                                               "any row's r + 1; CPU per epoch is their median"),
           "reprice": (None, cli.arg_type(_existing_file),
                       "train nothing: the race in this compare JSON, every row's learner timed again in turns here "
                       "and its CPU readouts priced again on the recorded runs (the race's options are the JSON's; "
                       "--timing-repeats and --engine are this command's)")}
ONLY_8_3_8 = None      # any size: every learner is priced at the study's size (the 1985 cycle up to 12 patterns)

TIMING_NETWORKS, TIMING_SECONDS = 64, 0.5     # CPU per timed repeat: enough that timer noise is small


def updates_per_epoch(row, size):
    spec = get_learner(ROWS[row][2])
    return spec.updates_per_epoch(size, T.learner_settings(spec, ROWS[row][3]))


def row_loop(config, row, patience_updates=None):
    """The loop of a race row: the cap in updates as the learner's epochs, stop at the first solve, patience in
    updates (None: no restarts); the 1985 procedure its paper's cap in cycles."""
    if ROWS[row][2] == "ahs85":
        return {"epochs": config.options["ahs85_cycles"], "early_stop": True}
    per_epoch = updates_per_epoch(row, config.size)
    patience = None if patience_updates is None else max(1, math.ceil(patience_updates / per_epoch))
    return {"epochs": math.ceil(config.epochs / per_epoch), "early_stop": True, "patience": patience,
            "max_restarts": None}


def row_settings(config, row):
    """A row's learner and settings; backprop's with the study's engine."""
    _, _, learner, settings = ROWS[row]
    return learner, {**settings, "engine": engine_for(config, "momentum")} if learner == "backprop" else settings


def race(config, row, seeds, patience_updates=None):
    """One sweep of a row: the SweepResult (progress on stderr)."""
    learner, settings = row_settings(config, row)
    progress = cli.Progress(len(seeds), f"{ROWS[row][0]} networks ({fmt_patience(patience_updates)})")
    try:
        return T.sweep(learner, seeds, settings, row_loop(config, row, patience_updates), size=config.size,
                       progress=progress.epoch_hook(), workers=config.workers, executor=config.executor,
                       chunk_size=config.chunk_size)
    finally:
        progress.close()


def outcome(result, per_epoch):
    """Per network: updates to its first solve (0 = never) and updates spent, restarts included."""
    return result["solve_epoch"] * per_epoch, result["epochs"] * per_epoch


def tune(config, row):
    """Every candidate patience on the tuning seeds, and the choice (choose). When the grid's shortest patience
    wins, the grid grows by halving it, until a shorter one loses or would be the same number of the learner's
    epochs: the same rule for every learner, so no learner's choice is cut off by the grid's edge."""
    grid = sorted(set(config.options["patience_grid"]))
    table = [tuning_entry(config, row, patience) for patience in [None] + grid]
    per_epoch = updates_per_epoch(row, config.size)
    while choose(table) == grid[0] and math.ceil(grid[0] // 2 / per_epoch) < math.ceil(grid[0] / per_epoch) \
            and grid[0] // 2 >= 1:
        grid.insert(0, grid[0] // 2)
        table.insert(1, tuning_entry(config, row, grid[0]))
    return table, choose(table)


def tuning_entry(config, row, patience):
    solve, spent = outcome(race(config, row, list(config.options["tune_seeds"]), patience),
                           updates_per_epoch(row, config.size))
    return {"patience_updates": patience, "solved": rate((solve > 0).sum(), len(solve)),
            "cost_updates_per_solved": cost_per_success(spent, solve > 0)}


def choose(table):
    """The patience with the fewest updates spent per solved network (failures and restarts paid): the same
    rule for every learner."""
    scored = [t for t in table if t["cost_updates_per_solved"] is not None]
    return min(scored, key=lambda t: t["cost_updates_per_solved"]["mean"])["patience_updates"] if scored else None


def price_rows(config, rows):
    """Every row priced in CPU time: each row's learner timed in turns, every row's repeat r before any row's
    r + 1, so that the machine's speed drifting during the timing falls on every row alike (each timed as its
    race ended, the prices of one run moved by up to 2.9x on a drifting machine); CPU per network-epoch is the
    median of a row's repeats."""
    names = list(dict.fromkeys(row["learner"] for row in rows))
    progress = cli.Progress(len(names) * (1 + config.options["timing_repeats"]), "timings")
    try:
        epochs, times = {}, {name: [] for name in names}
        for name in names:
            epochs[name] = timing_epochs(config, name)
            progress.update(len(epochs))
        for repeat in range(config.options["timing_repeats"]):
            for i, name in enumerate(names):
                times[name].append(time_per_epoch(config, name, epochs[name]))
                progress.update(len(names) * (1 + repeat) + i + 1)
    finally:
        progress.close()
    return [price(config, row, {"median": statistics.median(times[row["learner"]]), "repeats": times[row["learner"]],
                                "networks": TIMING_NETWORKS, "epochs": epochs[row["learner"]]}) for row in rows]


def time_per_epoch(config, row, epochs):
    """CPU seconds per network-epoch of one sweep of TIMING_NETWORKS networks from their initial weights, `epochs`
    long (no early stop, no restarts), in this process."""
    learner, settings = row_settings(config, row)
    start = time.process_time()
    T.sweep(learner, list(range(TIMING_NETWORKS)), settings, {"epochs": epochs, "early_stop": False, "restarts": False},
            size=config.size)
    return (time.process_time() - start) / (TIMING_NETWORKS * epochs)


def timing_epochs(config, row):
    """The epochs of a timed sweep of this row, about TIMING_SECONDS long, after a warm-up (numba compiles there)."""
    time_per_epoch(config, row, 1)
    return int(np.clip(TIMING_SECONDS / (time_per_epoch(config, row, 2) * TIMING_NETWORKS), 2, 20000))


def data_movement_per_update(config, row):
    """ByteDMD of one update of this row's learner (layerwise and best schedule), or None without a kernel."""
    import data_movement_encoder_backprop_8_3_8 as D     # tracing is slow to import and only this step needs it
    _, _, learner, settings = ROWS[row]
    return D.per_update_cost(learner, settings, size=config.size)


def within(costs, budgets, n, cap=math.inf):
    """{budget: rate} of the networks whose cost to their first solve is at most the budget (None for a budget
    beyond the row's cap: its runs stopped before it)."""
    return {f"{b:g}": rate(int(np.sum((costs > 0) & (costs <= b))), n) if b <= cap else None for b in budgets}


def run_row(config, row):
    """Tune (when the learner restarts) on the tuning seeds, then race the held-out seeds and read them out, in
    every currency but CPU time (price_rows)."""
    spec = get_learner(ROWS[row][2])
    tuning, chosen = tune(config, row) if spec.can_restart else (None, None)
    return read_out(config, row, tuning, chosen, race(config, row, held_out_seeds(config, row), chosen))


def held_out_seeds(config, row):
    return list(config.seeds[:config.options["ahs85_networks"]] if ROWS[row][2] == "ahs85" else config.seeds)


def read_out(config, row, tuning, chosen, result):
    """A row of the table from its tuning and its held-out race."""
    label, _, learner, _ = ROWS[row]
    spec, per_epoch, seeds = get_learner(learner), updates_per_epoch(row, config.size), list(result.seeds)
    solve, spent = outcome(result, per_epoch)
    solved, n = solve > 0, len(seeds)
    out = {"learner": row, "label": label, "registry_name": learner, "seeds": [seeds[0], seeds[-1]], "n": n,
           "tune_seeds": None if tuning is None else [config.options["tune_seeds"][0], config.options["tune_seeds"][-1]],
           "run": {k: v for k, v in result.config().items() if k != "seeds"}, "update": spec.update_unit,
           "updates_per_epoch": per_epoch, "cap_updates": result.loop.epochs * per_epoch,
           "tuning": tuning, "patience_updates": chosen,
           "solved": rate(solved.sum(), n),
           "solved_within_updates": within(solve, config.options["budgets"], n, result.loop.epochs * per_epoch),
           "median_updates_to_solve": bootstrap(solve[solved], "median"),
           "restarts": int(sum(len(r) for r in result.restart_epochs)),
           "cost_updates_per_solved": cost_per_success(spent, solved),
           "networks": {"seed": seeds, "solve_updates": [int(s) or None for s in solve],
                        "spent_updates": [int(s) for s in spent],
                        "restarts": [len(r) for r in result.restart_epochs]},
           "data_movement_per_update": data_movement_per_update(config, row)}
    return out


def price(config, out, timing):
    """A row's readouts in CPU time and data movement, from its timing (price_rows) and its ByteDMD per update
    (None without a kernel): the same runs, other currencies."""
    solve = np.array([s or 0 for s in out["networks"]["solve_updates"]], dtype=float)
    n, cost, dmd = out["n"], out["cost_updates_per_solved"], out["data_movement_per_update"]
    cpu_update = timing["median"] / out["updates_per_epoch"]
    return {**out, "cpu_seconds_per_network_epoch": timing, "cpu_seconds_per_update": cpu_update,
            "solved_within_cpu_seconds": within(solve * cpu_update, config.options["cpu_budgets"], n),
            "cost_cpu_seconds_per_solved": None if cost is None else scale(cost, cpu_update),
            "solved_within_data_movement": None if dmd is None else
            within(solve * dmd["best"], config.options["dmd_budgets"], n),
            "cost_data_movement_per_solved": None if cost is None or dmd is None else scale(cost, dmd["best"])}


def scale(mean, factor):
    return {**mean, "mean": mean["mean"] * factor, "ci_95": [c * factor for c in mean["ci_95"]]}


def chosen_rows(config):
    return list(config.options["learners"] or ROWS)


def run(config):
    if config.options["reprice"]:
        return reprice(config, config.options["reprice"])
    return assemble(config, price_rows(config, [run_row(config, row) for row in chosen_rows(config)]))


PRICED_FROM = ("n", "networks", "updates_per_epoch", "cost_updates_per_solved", "data_movement_per_update")


def reprice(config, path):
    """The race in the compare JSON at path, nothing trained: every row's learner timed again in turns here (this
    config's engine and timing repeats) and its CPU readouts priced again on the recorded runs. The rest, config
    record included, is the JSON's; the summary says how it was priced."""
    try:
        with open(path) as f:
            result = json.load(f)
        record, rows = result["config"], result["summary"]["rows"]
        if record["study"] != NAME or not all(row["learner"] in ROWS for row in rows):
            raise ValueError("not a race of this study's learners")
        missing = [key for row in rows for key in PRICED_FROM if key not in row]      # checked before any timing
        if missing or not all("solve_updates" in row["networks"] for row in rows):
            raise ValueError(f"a row lacks {missing[0] if missing else 'its networks solve_updates'}")
        config = dataclasses.replace(config, size=T.parse_size(record["size"]), options={
            **config.options, **{k: record[k] for k in ("cpu_budgets", "dmd_budgets")}})
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        raise ValueError(f"cannot reprice {path}: not a compare study result ({type(err).__name__}: {err})") from None
    race_seconds = result["summary"].get("race_seconds", result["summary"].get("seconds"))
    summary = {**result["summary"], "rows": price_rows(config, rows), "race_seconds": race_seconds,
               "repriced": {"from": os.path.basename(path), "engine": config.engine,
                            "timing_repeats": config.options["timing_repeats"]}}
    return {"config": record, "summary": summary}


def assemble(config, rows):
    """The study's result from its rows (run_row, possibly run apart: each row depends only on the config)."""
    published = PUBLISHED_AHS85["8-3-8"] if str(config.size) == "8-3-8" else None      # the race's figure is 8-3-8's
    summary = {"n": sum(r["n"] for r in rows), "rows": rows, "published_ahs85": published and
               {**published, "solved_rate": rate(published["solved"], published["runs"])}}
    return {"config": config_record(NAME, config), "summary": summary}


def fmt_patience(p):
    return "no restarts" if p is None else f"patience {p:,} updates"


def report(result):
    s, c = result["summary"], result["config"]
    lines = [f"compare: a fair race to the strict criterion; cap {c['epochs']:,} updates (the 1985 procedure: "
             f"{c['ahs85_cycles']:,} cycles); patience chosen on seeds {c['tune_seeds'][0]}-{c['tune_seeds'][-1]} "
             f"(fewest updates per solved network), reported on held-out seeds"]
    for row in s["rows"]:
        lines.append(f"  {row['label']} (seeds {row['seeds'][0]}-{row['seeds'][1]}, {fmt_patience(row['patience_updates'])}): "
                     f"solved {fmt_rate(row['solved'])}")
        if row["tuning"]:
            lines.append("    tuning: " + "; ".join(
                f"{fmt_patience(t['patience_updates'])}: {t['solved']['k']}/{t['solved']['n']}, "
                + ("n/a" if t["cost_updates_per_solved"] is None else
                   f"{t['cost_updates_per_solved']['mean']:,.0f}") + " upd/solved" for t in row["tuning"]))
        lines.append("    within " + ", ".join(f"{float(b):,.0f} updates " + ("n/a (past the cap)" if r is None else
                                                                          f"{r['k']}/{r['n']}")
                                               for b, r in row["solved_within_updates"].items())
                     + f"; median updates to solve {fmt_median(row['median_updates_to_solve'])}")
        timing = row["cpu_seconds_per_network_epoch"]
        lines.append(f"    per solved network: {fmt_mean(row['cost_updates_per_solved'])} updates, "
                     f"{fmt_mean(row['cost_cpu_seconds_per_solved'], ' s')} CPU ({timing['median'] * 1e6:.1f} us per "
                     f"network-epoch, median of {len(timing['repeats'])}), "
                     f"{fmt_mean(row['cost_data_movement_per_solved'])} ByteDMD")
    if s.get("repriced"):
        lines.append(f"  CPU prices timed again ({s['repriced']['engine']} backprop engine), the races as run"
                     + (f" in {s['race_seconds']:,.0f} s" if s.get("race_seconds") else ""))
    published = s["published_ahs85"]
    if published:
        lines.append(f"  published (Ackley, Hinton & Sejnowski 1985): {published['solved']}/{published['runs']} "
                     f"within {published['cycles_cap']} cycles, median {published['median_cycles_to_8_codes']} cycles")
    return lines


def figure(result):
    """Fraction of held-out networks solved against weight updates, CPU seconds and data movement per network
    (log x), 95% Wilson bands; a learner that solved none is a cross at 0, at the most any of its networks
    spent, under its Wilson bar (so the legend names every learner raced)."""
    import plotting as P
    rows, published = result["summary"]["rows"], result["summary"]["published_ahs85"]
    fig, axes = P.plt.subplots(1, 3, figsize=(17, 4.8), dpi=P.DPI, sharey=True)
    for row in rows:
        label, color = ROWS[row["learner"]][:2]
        nets, n = row["networks"], row["n"]
        solve = np.sort([s for s in nets["solve_updates"] if s is not None]).astype(float)
        spent = float(max(nets["spent_updates"]))
        solve = np.append(solve, np.max(solve, initial=spent))        # flat to the last one's end
        k = np.append(np.arange(1, len(solve)), len(solve) - 1)
        low, high = np.array([wilson_interval(i, n) for i in k]).T
        dmd = row["data_movement_per_update"]
        rule = "" if row["tuning"] is None else f", {fmt_patience(row['patience_updates'])}"
        style = dict(color=color, label=f"{label}{rule} ({row['solved']['k']}/{n})")
        for ax, factor in zip(axes, (1.0, row["cpu_seconds_per_update"], None if dmd is None else dmd["best"])):
            if factor is None:
                continue
            if len(solve) == 1:
                ax.errorbar(solve * factor, [0.0], yerr=[[0.0], high], fmt="x", capsize=3, **style)
                continue
            ax.step(solve * factor, k / n, where="post", **style)
            ax.fill_between(solve * factor, low, high, step="post", color=color, alpha=0.2, linewidth=0)
    if published:
        p, (low, high) = published["solved_rate"]["rate"], published["solved_rate"]["wilson_95"]
        axes[0].errorbar([published["cycles_cap"]], [p], yerr=[[p - low], [high - p]], fmt="*", color="black",
                         markersize=11, capsize=4, label=f"AHS 1985, published: {published['solved']}/"
                                                         f"{published['runs']} by cycle {published['cycles_cap']}")
    titles = ("weight updates per network", "CPU seconds per network (this machine)",
              "data movement per network (ByteDMD, best schedule)")
    for ax, title in zip(axes, titles):
        ax.set_xscale("log")
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
        ax.set_xlabel(title + ", restarts included")
    axes[0].set_ylabel("fraction of held-out networks solved (95% Wilson band)")
    axes[0].legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig
