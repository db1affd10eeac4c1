"""margin: how robust a solve is. The code margin (smallest |h - 0.5|) and the saturation of the codes at the
solve epoch, what training on to the cap does to them (and how many solves are lost), and the solve rate when
the criterion also asks every |h - 0.5| >= m."""
import numpy as np

import cli_support as cli
import validation as check
from interval_stats import bootstrap, fmt_median, fmt_rate, quantiles, rate
from studies.common import Sweeps, config_record, saturation, solved_epochs

NAME = "margin"
DESCRIPTION = "code margin at the solve, training on, margin criteria"
SEEDS, EPOCHS = "0-999", 20000
OPTIONS = {"margins": ([0.0, 0.05, 0.1, 0.2], cli.list_of(float, check.check_margin), "margins m of the solve criterion")}
ONLY_8_3_8 = None


def run(config):
    sweeps, n = Sweeps(config), len(config.seeds)
    stop_runs, _ = sweeps(config.seeds, n_epochs=config.epochs)
    long_runs, long_seconds = sweeps(config.seeds, n_epochs=config.epochs, early_stop=False)
    solved_at_stop = [r for r in stop_runs if r["solved"]]
    margins_at_solve = np.array([r["code_margin"] for r in solved_at_stop])
    sat_at_solve = np.array([saturation(r["hidden_codes"]) for r in solved_at_stop])
    ever = [r for r in long_runs if r["solve_epoch"] is not None]
    still = [r for r in ever if r["solved"]]
    fell_back = [r for r in ever if not r["solved"]]
    sat_end = np.array([saturation(r["hidden_codes"]) for r in still])
    margin_end = np.array([r["code_margin"] for r in still])
    criteria = []
    for m in config.options["margins"]:
        runs, seconds = sweeps(config.seeds, n_epochs=config.epochs, margin=m)
        epochs = solved_epochs(runs)
        criteria.append({"margin": m, "solved": rate(len(epochs), n), "median_epochs": bootstrap(epochs, "median"),
                         "seconds": seconds})
    summary = {"n": n * (2 + len(config.options["margins"])), "seeds": n,
               "margin_at_solve": quantiles(margins_at_solve),
               "margin_at_solve_median": bootstrap(margins_at_solve, "median"),
               "margin_at_solve_below_0.01": int((margins_at_solve < 0.01).sum()),
               "n_solved": len(solved_at_stop),
               "saturation_at_solve": quantiles(sat_at_solve),
               "all_within_0.05_of_a_corner_at_solve": int((sat_at_solve <= 0.05).sum()),
               "continued_to": config.epochs, "ever_solved": len(ever), "still_solved_at_end": len(still),
               "fell_back": len(fell_back), "fell_back_rate": rate(len(fell_back), len(ever)),
               "fell_back_codes": sorted({r["n_distinct_codes"] for r in fell_back}),
               "margin_at_end": quantiles(margin_end), "saturation_at_end": quantiles(sat_end),
               "all_within_0.05_of_a_corner_at_end": int((sat_end <= 0.05).sum()),
               "criteria": criteria, "long_run_seconds": long_seconds}
    runs_out = [{"seed": s["seed"], "solve_epoch": s["epochs"] if s["solved"] else None,
                 "margin_at_solve": s["code_margin"] if s["solved"] else None,
                 "solved_at_end": l["solved"], "codes_at_end": l["n_distinct_codes"], "margin_at_end": l["code_margin"]}
                for s, l in zip(stop_runs, long_runs)]
    figure_data = {"margin_at_solve": margins_at_solve.tolist(), "saturation_at_solve": sat_at_solve.tolist(),
                   "margin_at_end": margin_end.tolist(), "saturation_at_end": sat_end.tolist()}
    return {"config": config_record(NAME, config, sweeps), "summary": summary, "runs": runs_out,
            "figure_data": figure_data}


def report(result):
    s, epochs = result["summary"], result["config"]["epochs"]
    margin_end = np.array(result["figure_data"]["margin_at_end"])
    lines = [f"margin: {s['seeds']} seeds, cap {epochs} epochs",
             f"  at the solve epoch ({s['n_solved']} solved): code margin median "
             f"{fmt_median(s['margin_at_solve_median'])}; "
             f"{s['margin_at_solve_below_0.01']} below 0.01; all 24 activations within 0.05 of 0/1 in "
             f"{s['all_within_0.05_of_a_corner_at_solve']}",
             f"  trained on to epoch {epochs}: {s['ever_solved']} solved at some epoch >= 201, "
             f"{s['still_solved_at_end']} still solved at the end, {s['fell_back']} fell back "
             f"({fmt_rate(s['fell_back_rate'])})" + (f" (to {s['fell_back_codes']} codes)" if s["fell_back"] else ""),
             f"  at the end: code margin median {np.median(margin_end) if len(margin_end) else float('nan'):.4f}, "
             f"all activations within 0.05 of 0/1 in {s['all_within_0.05_of_a_corner_at_end']}/{s['still_solved_at_end']}"]
    lines += [f"  margin >= {c['margin']:g}: solved {fmt_rate(c['solved'])}, median epochs "
              f"{fmt_median(c['median_epochs'])}" for c in s["criteria"]]
    return lines


def figure(result):
    import plotting as P
    s, data, epochs = result["summary"], result["figure_data"], result["config"]["epochs"]
    criteria = s["criteria"]
    fig, axes = P.plt.subplots(1, 3, figsize=(15, 4.2), dpi=P.DPI)
    bins = np.linspace(0, 0.5, 51)
    axes[0].hist(data["margin_at_solve"], bins=bins, color="#d62728", alpha=0.8, label="at the solve epoch")
    axes[0].hist(data["margin_at_end"], bins=bins, color="#1f77b4", alpha=0.6, label=f"at epoch {epochs}")
    axes[0].set_xlabel("code margin  min |h - 0.5|")
    axes[0].set_ylabel("networks")
    axes[0].legend(fontsize=8)
    axes[0].set_title("how close the code is to losing a bit", fontsize=10)
    axes[1].hist(data["saturation_at_solve"], bins=bins, color="#d62728", alpha=0.8, label="at the solve epoch")
    axes[1].hist(data["saturation_at_end"], bins=bins, color="#1f77b4", alpha=0.6, label=f"at epoch {epochs}")
    axes[1].axvline(0.05, color="0.3", ls=":", lw=1)
    axes[1].set_xlabel("max distance of an activation from 0 or 1")
    axes[1].legend(fontsize=8)
    axes[1].set_title("saturation of the codes", fontsize=10)
    ms = [c["margin"] for c in criteria]
    rates = [c["solved"]["rate"] for c in criteria]
    err = np.array([[r - c["solved"]["wilson_95"][0], c["solved"]["wilson_95"][1] - r] for r, c in zip(rates, criteria)]).T
    axes[2].errorbar(ms, rates, yerr=err, marker="o", capsize=3, color="#2ca02c")
    for m, c in zip(ms, criteria):
        if c["median_epochs"]:
            axes[2].annotate(f"median {c['median_epochs']['median']:.0f} ep", (m, c["solved"]["rate"]),
                             textcoords="offset points", xytext=(4, 6), fontsize=8)
    axes[2].set_ylim(0, 1)
    axes[2].set_xlabel("margin m in the solve criterion")
    axes[2].set_ylabel("solve rate (95% CI)")
    axes[2].set_title(f"solve rate when every |h - 0.5| >= m (cap {epochs})", fontsize=10)
    fig.suptitle(f"How robust is a solve? {s['seeds']} seeds")
    fig.tight_layout()
    return fig
