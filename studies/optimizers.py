"""optimizers: the fastest classic learners (quickprop, Rprop+, iRprop-) against the published momentum recipe,
over encoder sizes, under Fahlman's protocol (his 0.4/0.6 criterion, restarts after a fixed budget counted in)
and under the strict criterion (N distinct codes, no restarts, cap --epochs): is the 7-of-8 trap the problem's
or the optimizer's?"""
import numpy as np

import cli_support as cli
import validation as check
from interval_stats import bootstrap, fmt_median, fmt_rate, quantiles, rate
from published_figures import FAHLMAN88
from studies.common import Sweeps, config_record

NAME = "optimizers"
DESCRIPTION = "momentum, quickprop, Rprop+ and iRprop- over encoder sizes, Fahlman's protocol and strict"
SEEDS, EPOCHS = "1000-1399", 20000      # fresh seeds: the other studies pick on 0-999
OPTIONS = {"sizes": (["4-2-4", "8-3-8", "10-5-10", "16-4-16", "32-5-32"],
                     cli.list_of(str, lambda v: str(cli.parse_size(v))), "encoder sizes"),
           "budget": (1000, cli.arg_type(lambda v: check.check_epochs(v, "budget"), int),
                      "Fahlman's protocol: epochs before a network is restarted"),
           "fahlman_cap": (20000, cli.arg_type(lambda v: check.check_epochs(v, "fahlman-cap"), int),
                           "Fahlman's protocol: epoch cap over all attempts")}
ONLY_8_3_8 = None
SIZE_SPANNING = "it spans encoder sizes itself (--sizes)"

# Rows: name -> (optimizer, profile). Quickprop twice: the published recipe's network (zero biases, 0/1 inputs, no
# offset on the hidden derivative) and Fahlman's own code's (random biases, +-0.5 inputs, the offset everywhere).
LEARNERS = {"momentum": ("momentum", "published"), "quickprop": ("quickprop", "published"),
            "quickprop-fahlman-code": ("quickprop", "fahlman-code"), "rprop": ("rprop", "published"),
            "irprop": ("irprop", "published")}
PUBLISHED_FAHLMAN = {"quickprop": FAHLMAN88["quickprop"], "quickprop-fahlman-code": FAHLMAN88["quickprop"],
                     "momentum": FAHLMAN88["backprop"]}


def run(config):
    sweeps, rows = Sweeps(config), []
    budget, fahlman_cap = config.options["budget"], config.options["fahlman_cap"]
    for size in [cli.parse_size(size) for size in config.options["sizes"]]:
        for learner, (optimizer, profile) in LEARNERS.items():
            row = {"size": str(size), "optimizer": learner, "profile": profile}
            fahlman, _ = sweeps(config.seeds, n_epochs=fahlman_cap, size=size, optimizer=optimizer, profile=profile,
                                criterion="fahlman", restart_every=budget)
            strict, seconds = sweeps(config.seeds, n_epochs=config.epochs, size=size, optimizer=optimizer,
                                     profile=profile)
            solved_f = [r["epochs"] for r in fahlman if r["solved"]]
            solved_s = [r["epochs"] for r in strict if r["solved"]]
            row["fahlman"] = {"solved": rate(len(solved_f), len(fahlman)), "mean_epochs": bootstrap(solved_f, "mean"),
                              "range": [min(solved_f), max(solved_f)] if solved_f else None,
                              "restarts": int(sum(r["restarts"] for r in fahlman)),
                              "strict_at_fahlman_stop": rate(sum(r["n_distinct_codes"] == size.n_patterns
                                                                 and r["accuracy"] == 1.0 for r in fahlman),
                                                             len(fahlman))}
            row["strict"] = {"solved": rate(len(solved_s), len(strict)), "median_epochs": bootstrap(solved_s),
                             "epochs_per_solved_network": sum(r["epochs"] for r in strict) / len(solved_s)
                             if solved_s else None,
                             "unsolved_codes": quantiles([r["n_distinct_codes"] for r in strict if not r["solved"]]),
                             "unsolved_full_accuracy": int(sum(r["accuracy"] == 1.0 for r in strict
                                                               if not r["solved"])),
                             "seconds": seconds}
            row["published_fahlman_mean"] = PUBLISHED_FAHLMAN.get(learner, {}).get(str(size))
            rows.append(row)
    summary = {"n": sum(r["fahlman"]["solved"]["n"] + r["strict"]["solved"]["n"] for r in rows),
               "budget": budget, "fahlman_cap": fahlman_cap, "strict_cap": config.epochs, "rows": rows}
    return {"config": config_record(NAME, config, sweeps), "summary": summary}


def report(result):
    s = result["summary"]
    seeds = result["config"]["seeds"]
    lines = [f"optimizers: {len(seeds)} seeds per cell ({seeds[0]}-{seeds[-1]}); Fahlman's protocol: criterion 0.4/0.6, "
             f"restart after {s['budget']} epochs, cap {s['fahlman_cap']} in all; strict: cap {s['strict_cap']}"]
    for row in s["rows"]:
        f, st, published = row["fahlman"], row["strict"], row["published_fahlman_mean"]
        mean = f"{f['mean_epochs']['mean']:.2f} ({f['mean_epochs']['ci_95'][0]:.2f}-{f['mean_epochs']['ci_95'][1]:.2f})" \
            if f["mean_epochs"] else "n/a"
        lines.append(f"  {row['size']:>9} {row['optimizer']:>9}: Fahlman {fmt_rate(f['solved'])}, mean epochs {mean}"
                     + (f" [published {published}]" if published else "")
                     + f"; strict {fmt_rate(st['solved'])}, median epochs {fmt_median(st['median_epochs'])}")
    return lines


def figure(result):
    import plotting as P
    s, sizes = result["summary"], result["config"]["sizes"]
    rows = s["rows"]
    fig, axes = P.plt.subplots(1, 3, figsize=(16, 4.6), dpi=P.DPI)
    x = np.arange(len(sizes))
    colors = dict(zip(LEARNERS, ("#1f77b4", "#d62728", "#ff9896", "#2ca02c", "#9467bd")))
    for k, learner in enumerate(LEARNERS):
        mine = [r for r in rows if r["optimizer"] == learner]
        shift = (k - (len(LEARNERS) - 1) / 2) * 0.06
        rates = [r["strict"]["solved"] for r in mine]
        axes[0].errorbar(x + shift, [r["rate"] for r in rates], yerr=P.wilson_bars(rates), marker="o", capsize=3,
                         color=colors[learner], label=learner)
        for ax, key, stat in ((axes[1], "strict", "median_epochs"), (axes[2], "fahlman", "mean_epochs")):
            points = [(i, r[key][stat]) for i, r in enumerate(mine) if r[key][stat]]
            if points:
                where, m = zip(*points)
                value = np.array([v["median" if stat == "median_epochs" else "mean"] for v in m])
                ci = np.array([v["ci_95"] for v in m])
                ax.errorbar(np.array(where) + shift, value, yerr=[value - ci[:, 0], ci[:, 1] - value], marker="o",
                            capsize=3, color=colors[learner], label=learner)
    for learner, marker in (("quickprop", "k*"), ("momentum", "b*")):
        published = [(i, PUBLISHED_FAHLMAN[learner][str(size)]) for i, size in enumerate(sizes)
                     if str(size) in PUBLISHED_FAHLMAN[learner]]
        if published:
            axes[2].plot(*zip(*published), marker, markersize=11,
                         label=f"Fahlman 1988, {'quickprop' if learner == 'quickprop' else 'backprop'}")
    for ax, title, label in ((axes[0], f"strict solve rate within {s['strict_cap']} epochs (95% Wilson)", "solve rate"),
                             (axes[1], "median epochs to the strict criterion (95% bootstrap)", "epochs"),
                             (axes[2], f"Fahlman's protocol: mean epochs, restarts every {s['budget']}", "epochs")):
        ax.set_xticks(x, [str(size) for size in sizes])
        ax.set_xlabel("encoder size")
        ax.set_ylabel(label)
        ax.set_title(title, fontsize=10)
        P.legend(ax, fontsize=8)
    axes[0].set_ylim(-0.03, 1.03)
    axes[1].set_yscale("log")
    axes[2].set_yscale("log")
    fig.suptitle(f"Is the 7-of-8 trap the problem's or the optimizer's? {len(result['config']['seeds'])} seeds per cell")
    fig.tight_layout()
    return fig
