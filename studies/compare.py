"""compare: backprop against Boltzmann learning on the 8-3-8 encoder, in one harness and under one criterion (N
distinct dominant codes and every pattern reconstructed, read exactly), each network stopped at its first solve,
failures and restarts paid for: the fraction solved within a budget of weight updates and of CPU time."""
import resource

import numpy as np

import cli_support as cli
import training_loop as T
import validation as check
from interval_stats import bootstrap, cost_per_success, fmt_mean, fmt_median, fmt_rate, rate, wilson_interval
from learners import get as get_learner
from published_figures import AHS85 as PUBLISHED_AHS85
from studies.common import config_record

NAME = "compare"
DESCRIPTION = "backprop, backprop + restarts, CD-1, CD-5 and the 1985 Boltzmann procedure, to the same criterion"
SEEDS, EPOCHS = "0-999", 20000
OPTIONS = {"patience": (1000, cli.arg_type(check.check_patience, int), "patience of backprop + restarts"),
           "boltzmann_epochs": (4000, cli.arg_type(lambda v: check.check_epochs(v, "boltzmann-epochs"), int),
                                "cap of the Boltzmann learners: epochs of 16 updates (cdk), cycles (ahs85)"),
           "ahs85_networks": (200, cli.arg_type(lambda v: check.check_positive_int(v, "ahs85-networks"), int),
                              "the 1985 procedure trains the first this-many seeds (it is slow)")}
ONLY_8_3_8 = "it compares with the published 8-3-8 Boltzmann figures"

# One row per learner of the registry (learners.py): label, color, learner, its settings (the loop settings are
# filled in from the study's options by compare_loop). An "epoch" is the learner's own unit (a full-batch update
# for backprop, `updates` CD updates for cdk, one learning cycle for ahs85); costs are counted in the learner's
# own updates (its spec's updates_per_epoch).
LEARNERS = {"backprop": ("backprop, published recipe", "#1f77b4", "backprop", {}),
            "backprop_restarts": ("backprop + restarts", "#17becf", "backprop", {}),
            "cd1": ("CD-1 recipe (+ restarts)", "#ff7f0e", "cdk", {"k": 1}),
            "cd5": ("CD-5 recipe (+ restarts)", "#d62728", "cdk", {"k": 5}),
            "ahs85": ("Boltzmann 1985 (ahs85)", "#2ca02c", "ahs85", {})}


def compare_loop(config, row):
    """The loop settings of a compare row: every network stops at its first solve."""
    if LEARNERS[row][2] == "backprop":
        return {"epochs": config.epochs, "patience": config.options["patience"] if row == "backprop_restarts" else None}
    return {"epochs": config.options["boltzmann_epochs"], "early_stop": True}


def cpu_seconds():
    """CPU time of this process and of its finished child processes (a sweep's own pool is joined)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def compare_runs(config, row, seeds):
    """Train one compare row to its first solve: the SweepResult and the CPU seconds it took."""
    _, _, learner, settings = LEARNERS[row]
    before = cpu_seconds()
    progress = cli.Progress(len(seeds))
    try:
        result = T.sweep(learner, seeds, settings, compare_loop(config, row), size=config.size,
                         progress=progress.epoch_hook(), workers=config.workers, executor=config.executor,
                         chunk_size=config.chunk_size)
    finally:
        progress.close()
    return result, cpu_seconds() - before


def run(config):
    rows = []
    for learner, (label, _, name, _) in LEARNERS.items():
        seeds = config.seeds[:config.options["ahs85_networks"]] if learner == "ahs85" else config.seeds
        result, cpu = compare_runs(config, learner, seeds)
        per_epoch = get_learner(name).updates_per_epoch(result.settings)
        solve, spent = result["solve_epoch"], result["epochs"].astype(float)
        solved = solve > 0
        cpu_per_epoch = cpu / spent.sum() if config.executor is None else None   # a remote cluster's CPU is not seen
        run_config = result.config()
        row = {"learner": learner, "label": label, "seeds": [int(seeds[0]), int(seeds[-1])], "n": len(seeds),
               "run": {k: v for k, v in run_config.items() if k != "seeds"},
               "update": get_learner(name).update_unit,
               "cap_epochs": result.loop.epochs, "updates_per_epoch": per_epoch,
               "solved": rate(solved.sum(), len(seeds)),
               "median_epochs_to_solve": bootstrap(solve[solved], "median"),
               "median_updates_to_solve": bootstrap(solve[solved] * per_epoch, "median"),
               "restarts": int(sum(len(r) for r in result.restart_epochs)),
               "cost_epochs_per_solved": cost_per_success(spent, solved),
               "cost_updates_per_solved": cost_per_success(spent * per_epoch, solved),
               "cpu_seconds": cpu, "cpu_seconds_per_network_epoch": cpu_per_epoch,
               "cpu_seconds_per_network": None if cpu_per_epoch is None else cpu / len(seeds),
               "cost_seconds_per_solved": None if cpu_per_epoch is None else
               cost_per_success(spent * cpu_per_epoch, solved)}
        row["networks"] = {"seed": [int(s) for s in seeds], "solve_epoch": [int(s) or None for s in solve],
                           "epochs": [int(e) for e in spent], "restarts": [len(r) for r in result.restart_epochs]}
        rows.append(row)
    published = PUBLISHED_AHS85["8-3-8"]
    summary = {"n": sum(r["n"] for r in rows), "rows": rows,
               "published_ahs85": {**published, "solved_rate": rate(published["solved"], published["runs"])}}
    return {"config": config_record(NAME, config), "summary": summary}


def report(result):
    s, c = result["summary"], result["config"]
    lines = [f"compare: strict criterion, each network stopped at its first solve; backprop cap {c['epochs']} "
             f"epochs, Boltzmann caps {c['boltzmann_epochs']} epochs (cdk) / cycles (ahs85), over restarts"]
    for row in s["rows"]:
        cpu_per_epoch = row["cpu_seconds_per_network_epoch"]
        lines.append(f"  {row['label']} ({row['n']} networks): solved {fmt_rate(row['solved'])}; median updates to "
                     f"solve {fmt_median(row['median_updates_to_solve'])}; per solved network, failures and "
                     f"restarts paid: {fmt_mean(row['cost_updates_per_solved'])} updates, "
                     f"{fmt_mean(row['cost_seconds_per_solved'], ' s')} CPU"
                     + ("" if cpu_per_epoch is None else f"; {cpu_per_epoch * 1e6:.1f} us CPU per network-epoch"))
    published = s["published_ahs85"]
    lines.append(f"  published (Ackley, Hinton & Sejnowski 1985): {published['solved']}/{published['runs']} "
                 f"within {published['cycles_cap']} cycles, median {published['median_cycles_to_8_codes']} cycles")
    return lines


def figure(result):
    """Fraction solved against CPU time per network (log x) and against weight updates, Wilson bands."""
    import plotting as P
    rows, published = result["summary"]["rows"], result["summary"]["published_ahs85"]
    fig, axes = P.plt.subplots(1, 2, figsize=(13, 4.8), dpi=P.DPI, sharey=True)
    for row in rows:
        label, color = LEARNERS[row["learner"]][:2]
        nets, n = row["networks"], row["n"]
        solve = np.sort([s for s in nets["solve_epoch"] if s is not None])
        if not len(solve):
            continue
        solve = np.append(solve, max(float(max(nets["epochs"])), solve[-1]))     # flat to the last network's end
        k = np.append(np.arange(1, len(solve)), len(solve) - 1)
        low, high = np.array([wilson_interval(i, n) for i in k]).T
        for ax, scale in ((axes[0], row["cpu_seconds_per_network_epoch"]), (axes[1], row["updates_per_epoch"])):
            if scale is None:
                continue
            x = solve * scale
            ax.step(x, k / n, where="post", color=color, label=f"{label} ({row['solved']['k']}/{n})")
            ax.fill_between(x, low, high, step="post", color=color, alpha=0.2, linewidth=0)
    ahs85 = next((r for r in rows if r["learner"] == "ahs85"), None)
    low, high = published["solved_rate"]["wilson_95"]
    p = published["solved_rate"]["rate"]
    xs = [None if ahs85 is None or ahs85["cpu_seconds_per_network_epoch"] is None else
          published["cycles_cap"] * ahs85["cpu_seconds_per_network_epoch"], published["cycles_cap"]]
    for ax, x in zip(axes, xs):
        if x is not None:
            ax.errorbar([x], [p], yerr=[[p - low], [high - p]], fmt="*", color="black", markersize=11, capsize=4,
                        label=f"AHS 1985, published: {published['solved']}/{published['runs']} by cycle "
                              f"{published['cycles_cap']}")
        ax.set_xscale("log")
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
    axes[0].set_xlabel("CPU seconds per network (budget; this machine, batched)")
    axes[1].set_xlabel("weight updates per network (budget; restarts included)")
    axes[0].set_ylabel("fraction of networks solved (95% Wilson band)")
    axes[0].set_title("Solved within a time budget", fontsize=10)
    axes[1].set_title("Solved within an update budget", fontsize=10)
    axes[1].legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig
