"""grid: the solve rate over learning rate x init scale (momentum 0.9), one batched run; the best cell and the
published one again on held-out seeds (the best of many noisy cells is biased upwards), and the reference
README's claim about the published cell checked on the first 30 seeds."""
import numpy as np

import cli_support as cli
import validation as check
from interval_stats import fmt_rate, rate, wilson_interval
from studies.common import Sweeps, config_record
from training_loop import DEFAULT_SHAPE

NAME = "grid"
DESCRIPTION = "solve rate over learning rate x init scale, one batched run"
SEEDS, EPOCHS = "0-99", 20000
OPTIONS = {"lrs": ([0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 1.2, 2.0, 3.0, 5.0], cli.list_of(float, check.check_lr), "learning rates"),
           "init_scales": ([0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 1.2, 2.0],
                           cli.list_of(float, check.check_init_scale), "init scales"),
           "held_out": ("1000-1999", cli.arg_type(cli.parse_seeds),
                        "seeds the best cell and the published cell are run again on")}
ONLY_8_3_8 = None


def run(config):
    seeds, lrs, scales = list(config.seeds), list(config.options["lrs"]), list(config.options["init_scales"])
    held_seeds, epochs, sweeps = config.options["held_out"], config.epochs, Sweeps(config)
    cells = [(lr, s) for lr in lrs for s in scales]
    all_seeds = [seed for _ in cells for seed in seeds]
    runs, seconds = sweeps(all_seeds, n_epochs=epochs, lr=[lr for lr, _ in cells for _ in seeds],
                           init_scale=[s for _, s in cells for _ in seeds])
    k = len(seeds)
    solved = np.array([r["solved"] for r in runs]).reshape(len(lrs), len(scales), k)
    spent = np.array([r["epochs"] for r in runs], dtype=float).reshape(len(lrs), len(scales), k)
    median = np.array([[np.median(e[s]) if s.any() else np.nan for e, s in zip(e_row, s_row)]
                       for e_row, s_row in zip(spent, solved)])
    checks = []
    if config.size == DEFAULT_SHAPE:      # the reference README's claim: 15+/30 at init 0.1, 9/30 at init 0.5
        check_seeds = seeds[:30]
        for lr, scale in ((0.5, 0.1), (0.5, 0.5)):
            check_runs, _ = sweeps(check_seeds, n_epochs=epochs, lr=lr, init_scale=scale)
            checks.append({"lr": lr, "init_scale": scale, "seeds": f"{check_seeds[0]}-{check_seeds[-1]}",
                           "epochs": epochs, "solved": rate(sum(r["solved"] for r in check_runs), len(check_runs))})
    best = np.unravel_index(np.argmax(solved.mean(-1)), solved.shape[:2])
    # the best of many noisy cells is biased upwards: the picked cell and the published one again, on seeds
    # that played no part in the pick
    held_out = []
    if set(held_seeds) & set(seeds):
        raise ValueError("the held-out seeds overlap the grid's seeds")
    for label, (lr, scale) in (("best cell", (lrs[best[0]], scales[best[1]])), ("published", (0.5, 0.1))):
        held_runs, _ = sweeps(held_seeds, n_epochs=epochs, lr=lr, init_scale=scale)
        held_out.append({"cell": label, "lr": lr, "init_scale": scale, "seeds": [int(held_seeds[0]), int(held_seeds[-1])],
                         "solved": rate(sum(r["solved"] for r in held_runs), len(held_runs))})
    summary = {"n": len(runs) + sum(c["solved"]["n"] for c in checks) + sum(h["solved"]["n"] for h in held_out),
               "grid_networks": len(runs), "seeds_per_cell": k, "seconds": seconds,
               "lrs": lrs, "init_scales": scales, "solve_rate": (solved.mean(-1)).round(4).tolist(),
               "solve_rate_wilson_95": [[list(wilson_interval(int(c.sum()), k)) for c in row] for row in solved],
               "median_epochs": [[None if np.isnan(v) else float(v) for v in row] for row in median],
               "published_claim_checks": checks, "held_out_check": held_out}
    return {"config": config_record(NAME, config, sweeps), "summary": summary,
            "figure_data": {"solved_per_cell": solved.sum(-1).tolist()}}


def solve_rates(result):
    """(solved counts, rates (lrs, scales), the best cell (i, j))."""
    counts = np.array(result["figure_data"]["solved_per_cell"]).reshape(len(result["summary"]["lrs"]), -1)
    rates = counts / result["summary"]["seeds_per_cell"]
    return counts, rates, np.unravel_index(np.argmax(rates), rates.shape)


def report(result):
    s = result["summary"]
    lrs, scales, k = s["lrs"], s["init_scales"], s["seeds_per_cell"]
    counts, _, best = solve_rates(result)
    best_rate = rate(int(counts[best]), k)
    lines = [f"grid: {len(lrs)} learning rates x {len(scales)} init scales x {k} seeds = {s['grid_networks']} networks, "
             f"cap {result['config']['epochs']} ({s['seconds']:.1f} s, one batched run)",
             f"  best cell: lr {lrs[best[0]]:g}, init scale {scales[best[1]]:g}: {fmt_rate(best_rate)}"]
    lines += [f"  held out, {h['cell']} (lr {h['lr']:g}, init scale {h['init_scale']:g}), seeds {h['seeds'][0]}-"
              f"{h['seeds'][1]}: solved {fmt_rate(h['solved'])}" for h in s["held_out_check"]]
    lines += [f"  seeds {c['seeds']}, lr {c['lr']:g}, init scale {c['init_scale']:g}, cap {c['epochs']}: solved "
              f"{fmt_rate(c['solved'])}" for c in s["published_claim_checks"]]
    return lines


def figure(result):
    import matplotlib

    import plotting as P
    s = result["summary"]
    lrs, scales, k, held_out = s["lrs"], s["init_scales"], s["seeds_per_cell"], s["held_out_check"]
    _, rates, best = solve_rates(result)
    median = np.array([[np.nan if v is None else v for v in row] for row in s["median_epochs"]], dtype=float)
    fig, axes = P.plt.subplots(1, 2, figsize=(15, 6.2), dpi=P.DPI)
    wilson = np.array(s["solve_rate_wilson_95"])                          # (lrs, scales, 2)
    for ax, values, title, cmap, fmt in ((axes[0], rates, "solve rate, 95% Wilson interval below; boxed: "
                                          "interval overlaps the best cell's", "viridis", "{:.0%}"),
                                         (axes[1], median, "median epochs among solved", "magma_r", "{:.0f}")):
        finite = values[np.isfinite(values)]
        log = title.startswith("median") and finite.size and finite.min() > 0
        image = ax.imshow(values, cmap=cmap, origin="lower", aspect="auto",
                          norm=matplotlib.colors.LogNorm(finite.min(), max(finite.max(), finite.min() * 1.01))
                          if log else None)
        for (i, j), v in np.ndenumerate(values):
            if not np.isnan(v):
                dark = image.norm(v) < 0.5 if cmap == "viridis" else image.norm(v) > 0.6
                text = fmt.format(v)
                if cmap == "viridis":
                    low, high = wilson[i, j]
                    text += f"\n{low:.0%}-{high:.0%}"
                    if high >= wilson[best][0]:                 # not distinguishable from the best cell
                        ax.add_patch(matplotlib.patches.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, lw=1.5,
                                                                  ec="red" if (i, j) == best else "black"))
                ax.text(j, i, text, ha="center", va="center", fontsize=6, color="white" if dark else "black")
        ax.set_xticks(range(len(scales)), [f"{v:g}" for v in scales], fontsize=8)
        ax.set_yticks(range(len(lrs)), [f"{lr:g}" for lr in lrs], fontsize=8)
        ax.set_xlabel("init scale")
        ax.set_ylabel("learning rate")
        ax.set_title(title, fontsize=10)
        fig.colorbar(image, ax=ax, fraction=0.046)
    held = "; ".join(f"{h['cell']} (lr {h['lr']:g}, init {h['init_scale']:g}) on held-out seeds "
                     f"{h['seeds'][0]}-{h['seeds'][1]}: {fmt_rate(h['solved'])}" for h in held_out)
    fig.suptitle(f"Hyper-parameter map: {k} seeds per cell, momentum 0.9, cap {result['config']['epochs']} epochs "
                 f"(best cell red)\n" + held, fontsize=10)
    fig.tight_layout()
    return fig
