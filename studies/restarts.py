"""restarts: restart on plateau, two clocks (training_loop.PATIENCE_CLOCKS) x patiences x learning rates. Each
policy's patience is picked on --seeds by the expected epochs per solved network (failures and restarts paid),
then reported on --held-out seeds, beside no restarts at all."""
import numpy as np

import cli_support as cli
import validation as check
from interval_stats import bootstrap, cost_per_success, fmt_mean, fmt_median, fmt_rate, quantiles, rate
from studies.common import Sweeps, config_record, plateau_ends
from training_loop import PATIENCE_CLOCKS

NAME = "restarts"
DESCRIPTION = "restart on plateau: two clocks x patiences x learning rates, picked on --seeds, reported on --held-out"
SEEDS, EPOCHS = "0-999", 20000
OPTIONS = {"patiences": ([100, 250, 500, 1000, 2000], cli.list_of(int, check.check_patience), "patiences to compare"),
           "lrs": ([0.5, 0.1, 0.05], cli.list_of(float, check.check_lr), "learning rates"),
           "held_out": ("1000-1999", cli.arg_type(cli.parse_seeds), "seeds the picked patience is reported on")}
ONLY_8_3_8 = None


def refuse(config):
    """Why the study cannot run with this config (checked before any work), or None."""
    overlap = set(config.options["held_out"]) & set(config.seeds)
    if overlap:
        return f"--held-out overlaps the seeds the patience is picked on (e.g. seed {min(overlap)})"
    return None


def restart_row(sweeps, seeds, lr, patience, clock):
    """One restart policy on `seeds`: (row, runs); the row has the solve rate, expected epochs per solved
    network (failures and restarts paid), median epochs of the solved (bootstrap), restarts."""
    runs, seconds = sweeps(seeds, n_epochs=sweeps.config.epochs, lr=lr, patience=patience,
                           patience_from=clock if patience else "attempt")
    epochs = np.array([r["epochs"] for r in runs])
    solved = np.array([r["solved"] for r in runs])
    return {"lr": lr, "clock": clock if patience else None, "patience": patience,
            "seeds": [int(seeds[0]), int(seeds[-1])], "solved": rate(solved.sum(), len(seeds)),
            "cost_epochs_per_solved": cost_per_success(epochs, solved),
            "median_epochs_to_solve": bootstrap(epochs[solved], "median"),
            "mean_restarts": float(np.mean([r["restarts"] for r in runs])), "seconds": seconds}, runs


def run(config):
    held_out, seeds, patiences = config.options["held_out"], config.seeds, config.options["patiences"]
    overlap = set(held_out) & set(seeds)
    if overlap:
        raise ValueError(f"the held-out seeds overlap the seeds the patience is picked on (e.g. {min(overlap)})")
    sweeps, by_lr, n_networks = Sweeps(config), [], 0
    for lr in config.options["lrs"]:
        plain, plain_runs = restart_row(sweeps, seeds, lr, None, None)
        ends, _ = plateau_ends(plain_runs)
        rows, chosen = [plain], {}
        for clock in PATIENCE_CLOCKS:
            candidates = [restart_row(sweeps, seeds, lr, p, clock)[0] for p in patiences]
            rows += candidates
            scored = [r for r in candidates if r["cost_epochs_per_solved"] is not None]
            if scored:
                chosen[clock] = min(scored, key=lambda r: (r["cost_epochs_per_solved"]["mean"], r["patience"]))["patience"]
        held = [restart_row(sweeps, held_out, lr, None, None)[0]] + [restart_row(sweeps, held_out, lr, p, clock)[0]
                                                                     for clock, p in chosen.items()]
        n_networks += len(seeds) * len(rows) + len(held_out) * len(held)
        ended = ends[ends > 0]
        by_lr.append({"lr": lr, "plateau_end": {"median": bootstrap(ended, "median"), "quantiles": quantiles(ended),
                                                "never_on_one_corner": int((ends == 0).sum())},
                      "picked_on": rows, "chosen_patience": chosen, "held_out": held})
    summary = {"n": n_networks, "budget": config.epochs, "pick_seeds": [seeds[0], seeds[-1]],
               "held_out_seeds": [held_out[0], held_out[-1]], "by_lr": by_lr}
    return {"config": config_record(NAME, config, sweeps), "summary": summary}


def report(result):
    s = result["summary"]
    lines = [f"restarts: patience picked on seeds {s['pick_seeds'][0]}-{s['pick_seeds'][1]}, reported on held-out "
             f"seeds {s['held_out_seeds'][0]}-{s['held_out_seeds'][1]}; {s['budget']}-epoch total budget; cost = "
             f"epochs spent by all networks (failures to the budget, every restart) per network solved"]
    for entry in s["by_lr"]:
        plateau = entry["plateau_end"]
        lines.append(f"  lr {entry['lr']:g}: the plateau ends (the codes split, never to share one corner again) at "
                     f"a median epoch {fmt_median(plateau['median'])}; {plateau['never_on_one_corner']} networks "
                     f"never had all codes on one corner")
        for r in entry["held_out"]:
            rule = "no restarts" if r["patience"] is None else f"{r['clock']} clock, patience {r['patience']}"
            lines.append(f"    held out, {rule}: solved {fmt_rate(r['solved'])}; epochs per solved network "
                         f"{fmt_mean(r['cost_epochs_per_solved'])}; median of the solved "
                         f"{fmt_median(r['median_epochs_to_solve'])}")
    return lines


def figure(result):
    import plotting as P
    by_lr, patiences = result["summary"]["by_lr"], result["config"]["patiences"]
    fig, axes = P.plt.subplots(2, len(by_lr), figsize=(5 * len(by_lr), 7.5), dpi=P.DPI, squeeze=False)
    colors = {"attempt": "#1f77b4", "plateau": "#d62728"}
    for column, entry in enumerate(by_lr):
        top, bottom = axes[0, column], axes[1, column]
        plain = entry["picked_on"][0]
        for clock, color in colors.items():
            rows = [r for r in entry["picked_on"] if r["clock"] == clock and r["cost_epochs_per_solved"]]
            if not rows:
                continue
            ps = np.array([r["patience"] for r in rows])
            cost = np.array([r["cost_epochs_per_solved"]["mean"] for r in rows])
            ci = np.array([r["cost_epochs_per_solved"]["ci_95"] for r in rows]).T
            top.errorbar(ps, cost, yerr=[cost - ci[0], ci[1] - cost], fmt="o-", color=color, capsize=3,
                         label=f"{clock} clock (seeds {plain['seeds'][0]}-{plain['seeds'][1]})")
            all_rows = [r for r in entry["picked_on"] if r["clock"] == clock]
            rates = [r["solved"] for r in all_rows]
            bottom.errorbar([r["patience"] for r in all_rows], [r["rate"] for r in rates], yerr=P.wilson_bars(rates),
                            fmt="o-", color=color, capsize=3, label=f"{clock} clock")
            for r in entry["held_out"]:
                if r["clock"] == clock and r["cost_epochs_per_solved"]:
                    c = r["cost_epochs_per_solved"]
                    top.errorbar([r["patience"]], [c["mean"]], yerr=[[c["mean"] - c["ci_95"][0]], [c["ci_95"][1] - c["mean"]]],
                                 fmt="*", markersize=13, color=color, markeredgecolor="black", capsize=3,
                                 label=f"{clock}, held out (seeds {r['seeds'][0]}-{r['seeds'][1]})")
        if plain["cost_epochs_per_solved"]:
            c = plain["cost_epochs_per_solved"]
            top.axhline(c["mean"], color="0.4", ls="--", lw=1, label="no restarts")
            top.axhspan(*c["ci_95"], color="0.4", alpha=0.12, lw=0)
        bottom.axhline(plain["solved"]["rate"], color="0.4", ls="--", lw=1, label="no restarts")
        for ax in (top, bottom):
            ax.set_xscale("log")
            ax.set_xticks(patiences, [str(p) for p in patiences])
            ax.minorticks_off()
            ax.grid(alpha=0.3)
        top.set_yscale("log")
        top.set_title(f"lr {entry['lr']:g}", fontsize=10)
        top.set_ylabel("epochs per solved network (95% CI)")
        bottom.set_ylabel("fraction solved (95% Wilson)")
        bottom.set_xlabel("patience (epochs without a new best code count)")
        P.legend(top, fontsize=7)
    fig.suptitle(f"Restart on plateau: two clocks, picked on one set of seeds and reported on another "
                 f"({result['config']['epochs']}-epoch budget)")
    fig.tight_layout()
    return fig
