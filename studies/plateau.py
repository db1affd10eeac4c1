"""plateau: how long the base-rate plateau (every code on one corner) lasts, learning rate by learning rate, with
cross-entropy and no restarts; and how many networks solve by the cap."""
import numpy as np

import cli_support as cli
import validation as check
from interval_stats import bootstrap, fmt_median, fmt_rate, quantiles, rate
from studies.common import Sweeps, config_record, plateau_ends

NAME = "plateau"
DESCRIPTION = "how long the base-rate plateau lasts, over learning rates"
SEEDS, EPOCHS = "0-999", 20000
OPTIONS = {"lrs": ([0.05, 0.1, 0.25, 0.5, 1.0, 2.0], cli.list_of(float, check.check_lr), "learning rates")}
ONLY_8_3_8 = None


def run(config):
    sweeps, rows = Sweeps(config), []
    for lr in config.options["lrs"]:
        runs, seconds = sweeps(config.seeds, n_epochs=config.epochs, lr=lr)
        ends, _ = plateau_ends(runs)
        solved = np.array([r["solved"] for r in runs])
        epochs = np.array([r["epochs"] for r in runs])
        # a network still on one corner at its last epoch never left the plateau within the cap
        left = (ends > 0) & ~((ends == epochs + 1) & ~solved)
        rows.append({"lr": lr, "n": len(runs), "left_plateau": rate(left.sum(), len(runs)),
                     "plateau_end": bootstrap(ends[left], "median"), "plateau_end_quantiles": quantiles(ends[left]),
                     "solved": rate(solved.sum(), len(runs)),
                     "median_epochs_to_solve": bootstrap(epochs[solved], "median"), "seconds": seconds})
    return {"config": config_record(NAME, config, sweeps), "summary": {"n": sum(r["n"] for r in rows), "rows": rows}}


def report(result):
    epochs, rows = result["config"]["epochs"], result["summary"]["rows"]
    lines = [f"plateau: {len(result['config']['seeds'])} seeds per learning rate, cap {epochs}, no restarts; the "
             f"plateau ends at the epoch after the last one with every code on one corner"]
    lines += [f"  lr {row['lr']:g}: left the plateau {fmt_rate(row['left_plateau'])}, at a median epoch "
              f"{fmt_median(row['plateau_end'])}; solved by {epochs}: {fmt_rate(row['solved'])}" for row in rows]
    return lines


def figure(result):
    import plotting as P
    rows = result["summary"]["rows"]
    fig, axes = P.plt.subplots(1, 2, figsize=(11, 4.2), dpi=P.DPI)
    shown = [r for r in rows if r["plateau_end"]]
    lrs = np.array([r["lr"] for r in shown])
    med = np.array([r["plateau_end"]["median"] for r in shown])
    ci = np.array([r["plateau_end"]["ci_95"] for r in shown]).reshape(-1, 2).T
    if shown:
        axes[0].errorbar(lrs, med, yerr=[med - ci[0], ci[1] - med], fmt="o-", capsize=4, label="median (95% CI)")
        q = [r["plateau_end_quantiles"] for r in shown]
        axes[0].fill_between(lrs, [x["q10"] for x in q], [x["q90"] for x in q], alpha=0.2,
                             label="10-90% of networks")
    axes[1].errorbar([r["lr"] for r in rows], [r["solved"]["rate"] for r in rows],
                     yerr=P.wilson_bars([r["solved"] for r in rows]), fmt="o-", capsize=4, label="solved by the cap")
    axes[1].errorbar([r["lr"] for r in rows], [r["left_plateau"]["rate"] for r in rows],
                     yerr=P.wilson_bars([r["left_plateau"] for r in rows]), fmt="s--", capsize=4,
                     label="left the plateau")
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel("learning rate (cross-entropy, momentum 0.9)")
        ax.grid(alpha=0.3)
        P.legend(ax, fontsize=8)
    if shown:
        axes[0].set_yscale("log")
    axes[0].set_ylabel("epoch the plateau ends")
    axes[1].set_ylabel(f"fraction of networks (95% Wilson), cap {result['config']['epochs']}")
    fig.tight_layout()
    return fig
