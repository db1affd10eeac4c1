"""biases: is the 000 preference an artefact of zero biases? The published initialisation against random hidden
biases, random output biases and both (U(-s, s), drawn after the weights, so the weights are the same): the
solve rate, how often every code sits on one corner at some epoch and which corner that is."""
import numpy as np

import cli_support as cli
import validation as check
from interval_stats import bootstrap, fmt_median, fmt_rate, rate
from studies.common import Sweeps, config_record, plateau_ends
from studies.failures import collision_anatomy
from training_loop import DEFAULT_SHAPE

NAME = "biases"
DESCRIPTION = "is the 000 preference an artefact of zero biases? random hidden and output biases against the published zeros"
SEEDS, EPOCHS = "0-999", 20000
OPTIONS = {"bias_scale": (1.0, cli.arg_type(check.check_init_scale, float), "s of the random biases U(-s, s)")}
ONLY_8_3_8 = None


def run(config):
    s = config.options["bias_scale"]
    variants = {"zero (published)": (0.0, 0.0), f"hidden U(-{s:g},{s:g})": (s, 0.0),
                f"output U(-{s:g},{s:g})": (0.0, s), "both": (s, s)}
    sweeps, rows = Sweeps(config), []
    for label, scale in variants.items():
        runs, _ = sweeps(config.seeds, n_epochs=config.epochs, bias_scale=scale)
        ends, corner = plateau_ends(runs)
        solved = np.array([r["solved"] for r in runs])
        plateau = corner >= 0
        shared = [collision_anatomy(r["hidden_codes"]) for r in runs if not r["solved"]] \
            if config.size == DEFAULT_SHAPE else []
        shared = [a["shared_corner"] for a in shared if a is not None]
        rows.append({"variant": label, "bias_scale": list(scale), "n": len(runs), "solved": rate(solved.sum(), len(runs)),
                     "had_one_corner_plateau": rate(plateau.sum(), len(runs)),
                     "plateau_corner_counts": np.bincount(corner[plateau], minlength=2 ** config.size.n_hidden).tolist(),
                     "plateau_at_000": rate(int((corner == 0).sum()), int(plateau.sum())),
                     "plateau_end": bootstrap(ends[plateau], "median"),
                     "seven_of_eight_shared_corner_counts": np.bincount(shared, minlength=8).tolist() if shared else None,
                     "shared_corner_000": rate(shared.count(0), len(shared)) if shared else None})
    return {"config": config_record(NAME, config, sweeps), "summary": {"n": sum(r["n"] for r in rows), "rows": rows}}


def report(result):
    lines = [f"biases: {len(result['config']['seeds'])} seeds per variant, cap {result['config']['epochs']}, no restarts"]
    for row in result["summary"]["rows"]:
        lines.append(f"  {row['variant']}: solved {fmt_rate(row['solved'])}; all codes on one corner at some epoch "
                     f"{fmt_rate(row['had_one_corner_plateau'])}, the last such corner 000 in "
                     f"{fmt_rate(row['plateau_at_000'])}; "
                     f"plateau ends at a median epoch {fmt_median(row['plateau_end'])}"
                     + (f"; 7-of-8 failures sharing corner 000: {fmt_rate(row['shared_corner_000'])}"
                        if row["shared_corner_000"] else ""))
    return lines


def figure(result):
    import plotting as P
    rows = result["summary"]["rows"]
    fig, axes = P.plt.subplots(1, 3, figsize=(15, 4.2), dpi=P.DPI)
    x = np.arange(len(rows))
    for ax, key, title in ((axes[0], "solved", f"solved by epoch {result['config']['epochs']}"),
                           (axes[1], "had_one_corner_plateau", "all codes on one corner at some epoch"),
                           (axes[2], "plateau_at_000", "...the last such corner is 000")):
        rates = [r[key] for r in rows]
        ax.bar(x, [r["rate"] or 0 for r in rates], yerr=P.wilson_bars(rates), capsize=4, color="#1f77b4")
        ax.set_xticks(x, [r["variant"] for r in rows], fontsize=8, rotation=15)
        ax.set_ylim(0, 1.05)
        ax.set_title(title + " (95% Wilson)", fontsize=10)
    fig.tight_layout()
    return fig
