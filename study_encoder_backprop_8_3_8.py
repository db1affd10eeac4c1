#!/usr/bin/env python3
"""Research studies of the 8-3-8 encoder, each one batched sweep (or a few) on the engine.

    python3 study_encoder_backprop_8_3_8.py failures     # where the 7-of-8 local minimum lives
    python3 study_encoder_backprop_8_3_8.py margin       # how robust a "solve" is
    python3 study_encoder_backprop_8_3_8.py restarts     # restart-on-plateau: solve rate and cost per patience
    python3 study_encoder_backprop_8_3_8.py plateau      # how long the base-rate plateau lasts, per learning rate
    python3 study_encoder_backprop_8_3_8.py predict      # can a failure be seen coming (held-out AUC)?
    python3 study_encoder_backprop_8_3_8.py biases       # is the 000 preference an artefact of zero biases?
    python3 study_encoder_backprop_8_3_8.py recipe1986   # squared error (1986) beside cross-entropy
    python3 study_encoder_backprop_8_3_8.py grid         # solve rate over learning rate x init scale
    python3 study_encoder_backprop_8_3_8.py compare      # backprop vs Boltzmann learning, failures paid for
    python3 study_encoder_backprop_8_3_8.py all          # every study with its defaults, timed

Each study prints a summary, writes viz/study_<name>.png and results/<name>.json ({"config", "summary"
with n = networks trained, and the study's own keys}). --seeds and --epochs shrink any study to seconds.
The script orchestrates, analyses and plots; all training is encoder_backprop_8_3_8.sweep_seeds.
"""
import copy
import inspect
import os
import resource
import sys
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import atomic_files  # noqa: E402
import cli_support as cli  # noqa: E402
import encoder_backprop_8_3_8 as E  # noqa: E402
import training_loop as T  # noqa: E402
import validation as check  # noqa: E402
import visualize_encoder_backprop_8_3_8 as V  # noqa: E402
from interval_stats import (auc, bootstrap, chi2_power, cost_per_success, fmt_mean, fmt_median, fmt_rate, mcnemar_p,  # noqa: E402
                            monte_carlo_uniform_p, quantiles, rate, wilson_interval)
from learners import get as get_learner  # noqa: E402
from published_figures import AHS85 as PUBLISHED_AHS85, FAHLMAN88  # noqa: E402
from training_loop import DEFAULT_SHAPE, PATIENCE_CLOCKS, count_distinct, first_epoch_tracker, fit  # noqa: E402

PUBLISHED_FAHLMAN = {"quickprop": FAHLMAN88["quickprop"], "momentum": FAHLMAN88["backprop"]}
PAIRS = [(i, j) for i in range(8) for j in range(i + 1, 8)]            # the 28 unordered pattern pairs
HAMMING = np.array([[bin(a ^ b).count("1") for b in range(8)] for a in range(8)])
CORNER_NAMES = [format(c, "03b") for c in range(8)]                     # corner c = 4*h1 + 2*h2 + h3


# ------------------------------------------------------------------------------------------------- helpers
def wilson_bars(rates):
    """Error bars (2, n) for a list of `rate` dicts: distances down and up to the Wilson interval's ends (none
    for a rate of nothing, n = 0)."""
    values = np.array([r["rate"] or 0.0 for r in rates])
    bounds = np.array([r["wilson_95"] if r["n"] else [v, v] for r, v in zip(rates, values)]).reshape(-1, 2)
    return np.maximum(0.0, np.stack([values - bounds[:, 0], bounds[:, 1] - values]))


def legend(ax, **kwargs):
    """ax.legend, unless nothing on the panel has a label (a tiny run may have nothing to show)."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(**kwargs)


def saturation(h):
    """Largest distance of any activation from its nearest corner value (0 or 1), (...,)."""
    h = np.asarray(h)
    return np.minimum(h, 1 - h).max(axis=(-2, -1))


RUN_SETTINGS = ("size", "optimizer", "criterion", "activation", "loss", "lr", "momentum", "init_scale")
LOOP_SETTINGS = {"n_epochs": 5000, "early_stop": True, "margin": 0.0, "patience": None, "restart_every": None,
                 "patience_from": "attempt", "bias_scale": (0.0, 0.0)}


# Sweeps already run in this process, by their seeds and settings: a network's run depends only on those, so
# studies that need the same sweep (`all` runs the published recipe on seeds 0-999 in several) share one run.
_SWEEPS_RUN = {}


# sweep_seeds' own defaults, less the arguments that change how a sweep runs but not what it computes
SWEEP_DEFAULTS = {name: p.default for name, p in inspect.signature(E.sweep_seeds).parameters.items()
                  if p.default is not inspect.Parameter.empty
                  and name not in ("progress", "observer", "workers", "executor", "chunk_size")}


def sweep_key(seeds, kwargs):
    """What makes two sweeps the same: the seeds and every setting, defaults filled in and numbers as floats
    (so lr=None and lr=0.5, or margin=0 and no margin, are one sweep)."""
    settings = {**SWEEP_DEFAULTS, **kwargs}
    for name in ("lr", "init_scale"):
        if settings[name] is None:
            settings[name] = E.OPTIMIZER_DEFAULTS[settings["optimizer"]][name]

    def plain(value):
        if isinstance(value, (list, tuple, np.ndarray)):
            return [plain(v) for v in value]
        number = isinstance(value, (int, float, np.number)) and not isinstance(value, bool)
        return float(value) if number else str(value)
    return repr((list(map(int, seeds)), sorted((k, plain(v)) for k, v in settings.items())))


def sweep(args, seeds, reuse=True, **kwargs):
    """sweep_seeds (at the study's size unless told otherwise), with its wall time. With reuse, an identical
    sweep without an observer that already ran in this process is not run again: its runs are returned (and a
    wall time of about 0); a study that measures a sweep's cost passes reuse=False. The settings every call
    actually used, read back from its runs, are recorded in args.sweeps_used, which becomes the study's config,
    so the JSON says what was run. (The kept runs take about 1.4 MB per 1000 networks.)"""
    kwargs.setdefault("size", args.size)
    cache_key = None
    if kwargs.get("observer") is None:              # an observer runs in this process; anything else may spread
        cache_key = sweep_key(seeds, kwargs)
        kwargs.update(workers=args.workers, executor=args.executor, chunk_size=args.chunk_size)
    start = time.perf_counter()
    if reuse and cache_key in _SWEEPS_RUN:
        runs = copy.deepcopy(_SWEEPS_RUN[cache_key])
    else:
        progress = cli.Progress(len(seeds))
        try:
            runs = E.sweep_seeds(seeds, progress=progress.epoch_hook(), **kwargs)
        finally:
            progress.close()
        if cache_key is not None:
            _SWEEPS_RUN[cache_key] = copy.deepcopy(runs)
    seconds = time.perf_counter() - start
    record = {"n_networks": len(seeds)}
    for key in RUN_SETTINGS:
        values = sorted({r[key] for r in runs})
        record[key] = values[0] if len(values) == 1 else values
    record.update({key: kwargs.get(key, default) for key, default in LOOP_SETTINGS.items()})
    if record not in args.sweeps_used:
        args.sweeps_used.append(record)
    return runs, seconds


def solved_epochs(runs):
    return [r["epochs"] for r in runs if r["solved"]]


# ------------------------------------------------------------------------------------------- 1. failures
def collision_anatomy(h):
    """Where an unsolved network's codes collide. h (8, 3) -> dict, or None unless exactly one corner is
    shared by exactly two patterns and exactly one corner is empty (the 7-of-8 state)."""
    h = np.asarray(h)
    codes = E.corner_of(h)
    counts = np.bincount(codes, minlength=8)
    shared, empty = np.flatnonzero(counts == 2), np.flatnonzero(counts == 0)
    if len(shared) != 1 or len(empty) != 1 or counts.max() > 2:
        return None
    shared, empty = int(shared[0]), int(empty[0])
    pair = [int(p) for p in np.flatnonzero(codes == shared)]
    distance = np.abs(h[pair] - 0.5)                                   # (2, 3)
    which, unit = np.unravel_index(distance.argmin(), distance.shape)
    flip = shared ^ empty
    return {"pair": pair, "shared_corner": shared, "empty_corner": empty, "hamming": int(HAMMING[shared, empty]),
            "nearest_pattern": pair[which], "nearest_unit": int(unit), "nearest_distance": float(distance.min()),
            # with Hamming distance 1 only one unit separates the shared corner from the empty one:
            "nearest_unit_is_the_missing_bit": bool(HAMMING[shared, empty] == 1 and flip == 4 >> unit)}


def early_corner_tracker(checkpoints):
    """Observer: at each checkpoint epoch, the fraction of networks still training whose 8 codes all sit at
    corner 000, and the mean number of patterns there."""
    seen = {}

    def observe(epoch, rows, batch):
        if epoch in checkpoints:
            at_origin = batch.codes() == 0
            seen[epoch] = {"networks": len(rows), "all_codes_at_000": float(at_origin.all(-1).mean()),
                           "mean_patterns_at_000": float(at_origin.sum(-1).mean())}
    return seen, observe


EARLY_CHECKPOINTS = (20, 100, 200, 300, 400)


def study_failures(args):
    early, observe = early_corner_tracker(EARLY_CHECKPOINTS)
    # the checkpoints need only the first epochs, watched in this process; the anatomy needs the whole run,
    # which may spread over workers (a network's first epochs are the same whatever the cap)
    sweep(args, args.seeds, n_epochs=min(args.epochs, max(EARLY_CHECKPOINTS)), observer=observe)
    runs, seconds = sweep(args, args.seeds, n_epochs=args.epochs)
    unsolved = [r for r in runs if not r["solved"]]
    anatomy = [dict(seed=r["seed"], **a) for r in unsolved if (a := collision_anatomy(r["hidden_codes"]))]
    other = [{"seed": r["seed"], "n_distinct_codes": r["n_distinct_codes"], "accuracy": r["accuracy"]}
             for r in unsolved if not collision_anatomy(r["hidden_codes"])]
    pair_counts = np.zeros((8, 8), dtype=int)
    for a in anatomy:
        pair_counts[a["pair"][0], a["pair"][1]] += 1
    pair_vector = np.array([pair_counts[i, j] for i, j in PAIRS])
    shared = np.bincount([a["shared_corner"] for a in anatomy], minlength=8)
    empty = np.bincount([a["empty_corner"] for a in anatomy], minlength=8)
    hamming = np.bincount([a["hamming"] for a in anatomy], minlength=4)[1:]
    n7 = len(anatomy)
    tests = {}
    if n7:
        tests["pairs_vs_uniform_28"] = dict(zip(("chi2", "p"), monte_carlo_uniform_p(pair_vector)))
        tests["shared_corner_vs_uniform_8"] = dict(zip(("chi2", "p"), monte_carlo_uniform_p(shared)))
        tests["empty_corner_vs_uniform_8"] = dict(zip(("chi2", "p"), monte_carlo_uniform_p(empty)))
        # what "not rejecting uniform pairs" can mean: the chance that this test, with these n7 failures, would
        # have rejected uniformity had some pairs really been likelier
        tests["pairs_power"] = {
            label: chi2_power(n7, [factor] * k + [1.0] * (28 - k))
            for label, k, factor in (("one pair 2x as likely", 1, 2.0), ("one pair 3x as likely", 1, 3.0),
                                     ("seven pairs 1.5x as likely", 7, 1.5), ("seven pairs 2x as likely", 7, 2.0))}
        # if the empty corner were any of the 7 others at random: 3 at distance 1, 3 at 2, 1 at 3
        tests["hamming_vs_random_empty_corner"] = dict(zip(("chi2", "p"), monte_carlo_uniform_p(
            hamming, probs=[3 / 7, 3 / 7, 1 / 7])))
    nearest = np.array([a["nearest_distance"] for a in anatomy])
    ham1 = [a for a in anatomy if a["hamming"] == 1]
    summary = {"n": len(runs), "solved": rate(len(runs) - len(unsolved), len(runs)), "n_unsolved": len(unsolved),
               "n_one_collision": n7, "n_other_unsolved": len(other),
               "unsolved_accuracy_1": sum(r["accuracy"] == 1.0 for r in unsolved),
               "shared_corner_counts": dict(zip(CORNER_NAMES, shared.tolist())),
               "empty_corner_counts": dict(zip(CORNER_NAMES, empty.tolist())),
               "hamming_counts": {"1": int(hamming[0]), "2": int(hamming[1]), "3": int(hamming[2])},
               "hamming_expected_if_random": [n7 * 3 / 7, n7 * 3 / 7, n7 / 7],
               "nearest_unit_counts": np.bincount([a["nearest_unit"] for a in anatomy], minlength=3).tolist(),
               "nearest_distance_quantiles": quantiles(nearest),
               "pair_member_within_0.1_of_0.5": int((nearest < 0.1).sum()),
               "hamming1_nearest_unit_is_missing_bit": sum(a["nearest_unit_is_the_missing_bit"] for a in ham1),
               "n_hamming1": len(ham1), "tests": tests, "early_codes": {str(e): v for e, v in early.items()},
               "sweep_seconds": seconds}
    lines = [f"failures: {len(runs)} seeds, cap {args.epochs} epochs ({seconds:.1f} s)",
             f"  solved {fmt_rate(summary['solved'])}; unsolved {len(unsolved)}, all at 100% accuracy: "
             f"{summary['unsolved_accuracy_1'] == len(unsolved)}; one collision (7 codes): {n7}, other: {len(other)}",
             "  early on, networks whose 8 codes all sit at corner 000: " + ", ".join(
                 f"epoch {e}: {v['all_codes_at_000']:.1%} of {v['networks']}" for e, v in early.items())]
    if n7:
        lines += [f"  colliding pairs over the 28: min {pair_vector.min()}, max {pair_vector.max()}, "
                  f"chi2 {tests['pairs_vs_uniform_28']['chi2']:.1f}, Monte-Carlo p = {tests['pairs_vs_uniform_28']['p']:.3f}; "
                  "the test's power at this n: " + ", ".join(f"{k} {v:.0%}" for k, v in tests["pairs_power"].items()),
                  "  shared corner: " + ", ".join(f"{c} {k}" for c, k in zip(CORNER_NAMES, shared))
                  + f"  (p = {tests['shared_corner_vs_uniform_8']['p']:.2g}); 000: {fmt_rate(rate(shared[0], n7))}, "
                  f"111: {fmt_rate(rate(shared[7], n7))}",
                  "  empty corner:  " + ", ".join(f"{c} {k}" for c, k in zip(CORNER_NAMES, empty))
                  + f"  (p = {tests['empty_corner_vs_uniform_8']['p']:.2g}); 111: {fmt_rate(rate(empty[7], n7))}",
                  f"  Hamming distance shared -> empty: 1: {hamming[0]}, 2: {hamming[1]}, 3: {hamming[2]} "
                  f"(random empty corner: {n7 * 3 / 7:.0f}, {n7 * 3 / 7:.0f}, {n7 / 7:.0f}; "
                  f"p = {tests['hamming_vs_random_empty_corner']['p']:.2g})",
                  f"  the pair's activation nearest 0.5: median |h - 0.5| = {np.median(nearest):.3f}; "
                  f"{int((nearest < 0.1).sum())}/{n7} within 0.1 of 0.5; at Hamming distance 1 it is the unit "
                  f"that separates the shared corner from the empty one in {summary['hamming1_nearest_unit_is_missing_bit']}/{len(ham1)}"]

    fig, axes = plt.subplots(1, 4, figsize=(17, 4.2), dpi=V.DPI, gridspec_kw={"width_ratios": [1.1, 1.3, 0.8, 1]})
    ax = axes[0]
    full = pair_counts + pair_counts.T
    image = ax.imshow(np.where(np.eye(8, dtype=bool), np.nan, full), cmap="viridis")
    ax.set_xticks(range(8))
    ax.set_yticks(range(8))
    V.color_pattern_ticks(ax, "x")
    V.color_pattern_ticks(ax, "y")
    fig.colorbar(image, ax=ax, fraction=0.046)
    p_pairs = tests.get("pairs_vs_uniform_28", {}).get("p", float("nan"))
    ax.set_title(f"colliding pattern pairs (n={n7})\nuniform over 28 pairs: p = {p_pairs:.2f}", fontsize=10)
    ax = axes[1]
    x = np.arange(8)
    ax.bar(x - 0.2, shared, 0.4, label="shared corner", color="#d62728",
           yerr=n7 * wilson_bars([rate(k, n7) for k in shared]), capsize=2)
    ax.bar(x + 0.2, empty, 0.4, label="empty corner", color="#1f77b4",
           yerr=n7 * wilson_bars([rate(k, n7) for k in empty]), capsize=2)
    ax.axhline(n7 / 8, color="0.4", ls=":", lw=1, label="uniform")
    ax.set_xticks(x, CORNER_NAMES)
    ax.set_xlabel("corner (h1 h2 h3)")
    legend(ax, fontsize=8)
    ax.set_title("which corner is shared / left empty (95% Wilson)", fontsize=10)
    ax = axes[2]
    ax.bar([1, 2, 3], hamming, 0.6, color="#9467bd", label="observed (95% Wilson)",
           yerr=n7 * wilson_bars([rate(k, n7) for k in hamming]), capsize=3)
    ax.plot([1, 2, 3], [n7 * 3 / 7, n7 * 3 / 7, n7 / 7], "k_", markersize=28, mew=2, label="random empty corner")
    ax.set_xticks([1, 2, 3])
    ax.set_xlabel("Hamming distance shared -> empty")
    legend(ax, fontsize=8)
    ax.set_title("distance to the free corner", fontsize=10)
    ax = axes[3]
    ax.hist(nearest, bins=np.linspace(0, 0.5, 26), color="#2ca02c")
    ax.set_xlabel("min |h - 0.5| over the colliding pair")
    ax.set_title("the pair keeps one activation near 0.5", fontsize=10)
    fig.suptitle(f"Anatomy of the unsolved networks: {len(unsolved)} of {len(runs)} seeds, cap {args.epochs} epochs")
    fig.tight_layout()
    result = {"summary": summary, "unsolved": anatomy, "unsolved_other": other,
              "pair_counts": {f"{i}-{j}": int(c) for (i, j), c in zip(PAIRS, pair_vector)}}
    return result, fig, lines


# --------------------------------------------------------------------------------------------- 2. margin
def study_margin(args):
    """Margin at the solve epoch, what further training does, and solve rates under margin criteria."""
    stop_runs, _ = sweep(args, args.seeds, n_epochs=args.epochs)
    long_runs, long_seconds = sweep(args, args.seeds, n_epochs=args.epochs, early_stop=False)
    n = len(args.seeds)
    solved_at_stop = [r for r in stop_runs if r["solved"]]
    margins_at_solve = np.array([r["code_margin"] for r in solved_at_stop])
    sat_at_solve = np.array([saturation(r["hidden_codes"]) for r in solved_at_stop])
    ever = [r for r in long_runs if r["solve_epoch"] is not None]
    still = [r for r in ever if r["solved"]]
    fell_back = [r for r in ever if not r["solved"]]
    sat_end = np.array([saturation(r["hidden_codes"]) for r in still])
    margin_end = np.array([r["code_margin"] for r in still])
    criteria = []
    for m in args.margins:
        runs, seconds = sweep(args, args.seeds, n_epochs=args.epochs, margin=m)
        epochs = solved_epochs(runs)
        criteria.append({"margin": m, "solved": rate(len(epochs), n), "median_epochs": bootstrap(epochs, "median"),
                         "seconds": seconds})
    summary = {"n": n * (2 + len(args.margins)), "seeds": n,
               "margin_at_solve": quantiles(margins_at_solve),
               "margin_at_solve_median": bootstrap(margins_at_solve, "median"),
               "margin_at_solve_below_0.01": int((margins_at_solve < 0.01).sum()),
               "n_solved": len(solved_at_stop),
               "saturation_at_solve": quantiles(sat_at_solve),
               "all_within_0.05_of_a_corner_at_solve": int((sat_at_solve <= 0.05).sum()),
               "continued_to": args.epochs, "ever_solved": len(ever), "still_solved_at_end": len(still),
               "fell_back": len(fell_back), "fell_back_rate": rate(len(fell_back), len(ever)),
               "fell_back_codes": sorted({r["n_distinct_codes"] for r in fell_back}),
               "margin_at_end": quantiles(margin_end), "saturation_at_end": quantiles(sat_end),
               "all_within_0.05_of_a_corner_at_end": int((sat_end <= 0.05).sum()),
               "criteria": criteria, "long_run_seconds": long_seconds}
    lines = [f"margin: {n} seeds, cap {args.epochs} epochs",
             f"  at the solve epoch ({len(solved_at_stop)} solved): code margin median "
             f"{fmt_median(summary['margin_at_solve_median'])}; "
             f"{summary['margin_at_solve_below_0.01']} below 0.01; all 24 activations within 0.05 of 0/1 in "
             f"{summary['all_within_0.05_of_a_corner_at_solve']}",
             f"  trained on to epoch {args.epochs}: {len(ever)} solved at some epoch >= 201, {len(still)} still solved "
             f"at the end, {len(fell_back)} fell back ({fmt_rate(summary['fell_back_rate'])})"
             + (f" (to {summary['fell_back_codes']} codes)" if fell_back else ""),
             f"  at the end: code margin median {np.median(margin_end) if len(margin_end) else float('nan'):.4f}, "
             f"all activations within 0.05 of 0/1 in {summary['all_within_0.05_of_a_corner_at_end']}/{len(still)}"]
    lines += [f"  margin >= {c['margin']:g}: solved {fmt_rate(c['solved'])}, median epochs "
              f"{fmt_median(c['median_epochs'])}" for c in criteria]

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), dpi=V.DPI)
    bins = np.linspace(0, 0.5, 51)
    axes[0].hist(margins_at_solve, bins=bins, color="#d62728", alpha=0.8, label="at the solve epoch")
    axes[0].hist(margin_end, bins=bins, color="#1f77b4", alpha=0.6, label=f"at epoch {args.epochs}")
    axes[0].set_xlabel("code margin  min |h - 0.5|")
    axes[0].set_ylabel("networks")
    axes[0].legend(fontsize=8)
    axes[0].set_title("how close the code is to losing a bit", fontsize=10)
    axes[1].hist(sat_at_solve, bins=bins, color="#d62728", alpha=0.8, label="at the solve epoch")
    axes[1].hist(sat_end, bins=bins, color="#1f77b4", alpha=0.6, label=f"at epoch {args.epochs}")
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
                             textcoords="offset points",
                             xytext=(4, 6), fontsize=8)
    axes[2].set_ylim(0, 1)
    axes[2].set_xlabel("margin m in the solve criterion")
    axes[2].set_ylabel("solve rate (95% CI)")
    axes[2].set_title(f"solve rate when every |h - 0.5| >= m (cap {args.epochs})", fontsize=10)
    fig.suptitle(f"How robust is a solve? {n} seeds")
    fig.tight_layout()
    runs_out = [{"seed": s["seed"], "solve_epoch": s["epochs"] if s["solved"] else None,
                 "margin_at_solve": s["code_margin"] if s["solved"] else None,
                 "solved_at_end": l["solved"], "codes_at_end": l["n_distinct_codes"], "margin_at_end": l["code_margin"]}
                for s, l in zip(stop_runs, long_runs)]
    return {"summary": summary, "runs": runs_out}, fig, lines


# ------------------------------------------------------------------------------------------- 3. restarts
def plateau_ends(runs):
    """(ends (n,), corners (n,)) of sweep runs: the epoch the base-rate plateau ended (0 = the codes never all
    shared one corner) and that corner (-1 = never), as training_loop.fit records them."""
    return np.array([r["plateau_end"] for r in runs]), np.array([r["plateau_corner"] for r in runs])


def restart_row(args, seeds, lr, patience, clock):
    """One restart policy on `seeds`: (row, runs); the row has the solve rate, expected epochs per solved
    network (failures and restarts paid), median epochs of the solved (bootstrap), restarts."""
    runs, seconds = sweep(args, seeds, n_epochs=args.epochs, lr=lr, patience=patience,
                          patience_from=clock if patience else "attempt")
    epochs = np.array([r["epochs"] for r in runs])
    solved = np.array([r["solved"] for r in runs])
    return {"lr": lr, "clock": clock if patience else None, "patience": patience,
            "seeds": [int(seeds[0]), int(seeds[-1])], "solved": rate(solved.sum(), len(seeds)),
            "cost_epochs_per_solved": cost_per_success(epochs, solved),
            "median_epochs_to_solve": bootstrap(epochs[solved], "median"),
            "mean_restarts": float(np.mean([r["restarts"] for r in runs])), "seconds": seconds}, runs


def study_restarts(args):
    """Restart on plateau, two clocks (PATIENCE_CLOCKS) x patiences x learning rates: each policy's patience
    is picked on --seeds by the expected epochs per solved network, then reported on --held-out seeds."""
    held_out = args.held_out
    overlap = set(held_out) & set(args.seeds)
    if overlap:
        raise ValueError(f"the held-out seeds overlap the seeds the patience is picked on (e.g. {min(overlap)})")
    by_lr, n_networks = [], 0
    lines = [f"restarts: patience picked on seeds {args.seeds[0]}-{args.seeds[-1]}, reported on held-out seeds "
             f"{held_out[0]}-{held_out[-1]}; {args.epochs}-epoch total budget; cost = epochs spent by all networks "
             f"(failures to the budget, every restart) per network solved"]
    for lr in args.lrs:
        plain, plain_runs = restart_row(args, args.seeds, lr, None, None)
        ends, _ = plateau_ends(plain_runs)
        rows, chosen = [plain], {}
        for clock in PATIENCE_CLOCKS:
            candidates = [restart_row(args, args.seeds, lr, p, clock)[0] for p in args.patiences]
            rows += candidates
            scored = [r for r in candidates if r["cost_epochs_per_solved"] is not None]
            if scored:
                chosen[clock] = min(scored, key=lambda r: (r["cost_epochs_per_solved"]["mean"], r["patience"]))["patience"]
        held = [restart_row(args, held_out, lr, None, None)[0]] + [restart_row(args, held_out, lr, p, clock)[0]
                                                                    for clock, p in chosen.items()]
        n_networks += len(args.seeds) * len(rows) + len(held_out) * len(held)
        ended = ends[ends > 0]
        by_lr.append({"lr": lr, "plateau_end": {"median": bootstrap(ended, "median"), "quantiles": quantiles(ended),
                                                "never_on_one_corner": int((ends == 0).sum())},
                      "picked_on": rows, "chosen_patience": chosen, "held_out": held})
        med = by_lr[-1]["plateau_end"]["median"]
        lines.append(f"  lr {lr:g}: the plateau ends (the codes split, never to share one corner again) at a median "
                     f"epoch {fmt_median(med)}; {(ends == 0).sum()} networks never had all codes on one corner")
        for r in held:
            rule = "no restarts" if r["patience"] is None else f"{r['clock']} clock, patience {r['patience']}"
            lines.append(f"    held out, {rule}: solved {fmt_rate(r['solved'])}; epochs per solved network "
                         f"{fmt_mean(r['cost_epochs_per_solved'])}; median of the solved "
                         f"{fmt_median(r['median_epochs_to_solve'])}")
    summary = {"n": n_networks, "budget": args.epochs, "pick_seeds": [args.seeds[0], args.seeds[-1]],
               "held_out_seeds": [held_out[0], held_out[-1]], "by_lr": by_lr}
    return {"summary": summary}, restarts_figure(by_lr, args), lines


def restarts_figure(by_lr, args):
    fig, axes = plt.subplots(2, len(by_lr), figsize=(5 * len(by_lr), 7.5), dpi=V.DPI, squeeze=False)
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
            bottom.errorbar([r["patience"] for r in all_rows], [r["rate"] for r in rates], yerr=wilson_bars(rates),
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
            ax.set_xticks(args.patiences, [str(p) for p in args.patiences])
            ax.minorticks_off()
            ax.grid(alpha=0.3)
        top.set_yscale("log")
        top.set_title(f"lr {entry['lr']:g}", fontsize=10)
        top.set_ylabel("epochs per solved network (95% CI)")
        bottom.set_ylabel("fraction solved (95% Wilson)")
        bottom.set_xlabel("patience (epochs without a new best code count)")
        legend(top, fontsize=7)
    fig.suptitle(f"Restart on plateau: two clocks, picked on one set of seeds and reported on another "
                 f"({args.epochs}-epoch budget)")
    fig.tight_layout()
    return fig


def study_plateau(args):
    """How long the base-rate plateau (every code on one corner) lasts, learning rate by learning rate, with
    cross-entropy and no restarts; and how many networks solve by the cap."""
    rows, lines = [], [f"plateau: {len(args.seeds)} seeds per learning rate, cap {args.epochs}, no restarts; the "
                       f"plateau ends at the epoch after the last one with every code on one corner"]
    for lr in args.lrs:
        runs, seconds = sweep(args, args.seeds, n_epochs=args.epochs, lr=lr)
        ends, _ = plateau_ends(runs)
        solved = np.array([r["solved"] for r in runs])
        epochs = np.array([r["epochs"] for r in runs])
        # a network still on one corner at its last epoch never left the plateau within the cap
        left = (ends > 0) & ~((ends == epochs + 1) & ~solved)
        row = {"lr": lr, "n": len(runs), "left_plateau": rate(left.sum(), len(runs)),
               "plateau_end": bootstrap(ends[left], "median"), "plateau_end_quantiles": quantiles(ends[left]),
               "solved": rate(solved.sum(), len(runs)), "median_epochs_to_solve": bootstrap(epochs[solved], "median"),
               "seconds": seconds}
        rows.append(row)
        lines.append(f"  lr {lr:g}: left the plateau {fmt_rate(row['left_plateau'])}, at a median epoch "
                     f"{fmt_median(row['plateau_end'])}; solved by {args.epochs}: {fmt_rate(row['solved'])}")
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), dpi=V.DPI)
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
                     yerr=wilson_bars([r["solved"] for r in rows]), fmt="o-", capsize=4, label="solved by the cap")
    axes[1].errorbar([r["lr"] for r in rows], [r["left_plateau"]["rate"] for r in rows],
                     yerr=wilson_bars([r["left_plateau"] for r in rows]), fmt="s--", capsize=4, label="left the plateau")
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel("learning rate (cross-entropy, momentum 0.9)")
        ax.grid(alpha=0.3)
        legend(ax, fontsize=8)
    if shown:
        axes[0].set_yscale("log")
    axes[0].set_ylabel("epoch the plateau ends")
    axes[1].set_ylabel(f"fraction of networks (95% Wilson), cap {args.epochs}")
    fig.tight_layout()
    return {"summary": {"n": sum(r["n"] for r in rows), "rows": rows}}, fig, lines


PREDICT_FEATURES = ("distinct codes", "patterns at corner 000", "closest pair of codes (distance)",
                    "epochs since the plateau ended", "smallest |h - 0.5|", "mean |h - 0.5|")


def state_features(h, epoch, plateau_end):
    """Features of networks at one epoch from their hidden activations h (k, N, H) and plateau ends (k,)."""
    corners = E.corner_of(h)
    gaps = np.linalg.norm(h[:, :, None, :] - h[:, None, :, :], axis=-1)
    n = h.shape[1]
    closest = gaps[:, ~np.eye(n, dtype=bool)].reshape(len(h), -1).min(1)
    since = np.where((plateau_end > 0) & (plateau_end <= epoch), epoch - plateau_end, 0)
    margin = np.abs(h - 0.5)
    return np.column_stack([count_distinct(corners, h.shape[2]), (corners == 0).sum(1), closest, since,
                            margin.min((1, 2)), margin.mean((1, 2))])


def fit_logistic(X, y, l2=1e-3, steps=50):
    """Logistic regression by Newton's method on standardised features: returns predict(X) -> p(y = 1)."""
    mean, scale = X.mean(0), X.std(0) + 1e-12
    Z = np.column_stack([np.ones(len(X)), (X - mean) / scale])
    w = np.zeros(Z.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-Z @ w))
        hessian = Z.T @ (Z * (p * (1 - p))[:, None]) + l2 * np.eye(len(w))
        w -= np.linalg.solve(hessian, Z.T @ (p - y) + l2 * w)
    return lambda X_new: 1 / (1 + np.exp(-np.column_stack([np.ones(len(X_new)), (X_new - mean) / scale]) @ w))


def auc_interval(scores, labels, draws=2000, seed=12345):
    """AUC with a percentile-bootstrap 95% interval over networks."""
    scores, labels = np.asarray(scores, float), np.asarray(labels, bool)
    rng = np.random.default_rng(seed)
    values = [auc(scores[i], labels[i]) for i in rng.integers(0, len(scores), (draws, len(scores)))]
    values = [v for v in values if v is not None]
    return {"auc": auc(scores, labels), "ci_95": [float(np.quantile(values, 0.025)), float(np.quantile(values, 0.975))],
            "n": int(len(scores)), "positives": int(labels.sum())}


def study_predict(args):
    """Can a failure be seen coming? The state of each network still unsolved at --at epochs predicts whether
    it is still unsolved at the cap: a logistic model fitted on --seeds, scored (AUC) on --held-out seeds."""
    if set(args.seeds) & set(args.held_out):
        raise ValueError("the held-out seeds overlap the seeds the model is fitted on")
    data = {}
    for name, seeds in (("fit", args.seeds), ("held_out", args.held_out)):
        seen = {}

        def observe(epoch, rows, batch, seen=seen):
            if epoch == args.at:
                seen["rows"], seen["hidden"] = rows.copy(), np.array(batch.hidden)
        # the state at --at, watched here; the short run's plateau ends are those of the first --at epochs
        early, _ = sweep(args, seeds, n_epochs=min(args.at, args.epochs), observer=observe)
        runs, _ = sweep(args, seeds, n_epochs=args.epochs)                           # the outcome, on any worker
        failed = np.array([not r["solved"] for r in runs])
        rows = seen.get("rows", np.array([], dtype=int))
        features = state_features(seen["hidden"], args.at, plateau_ends(early)[0][rows]) if seen else \
            np.empty((0, len(PREDICT_FEATURES)))
        data[name] = {"X": features, "y": failed[rows],
                      "n": len(seeds), "still_training": len(rows), "failed": int(failed.sum())}
    fit_set, test = data["fit"], data["held_out"]
    result = {"at_epoch": args.at, "features": list(PREDICT_FEATURES),
              **{f"{k}_seeds": {"seeds": [int(s[0]), int(s[-1])], "n": d["n"], "still_training_at_epoch": d["still_training"],
                                "failed_by_cap": d["failed"]}
                 for k, d, s in (("fit", fit_set, args.seeds), ("held_out", test, args.held_out))}}
    lines = [f"predict: networks still unsolved at epoch {args.at}; failure = still unsolved at {args.epochs}; "
             f"fitted on seeds {args.seeds[0]}-{args.seeds[-1]}, scored on {args.held_out[0]}-{args.held_out[-1]}"]
    model_scores = None
    if len(set(fit_set["y"].tolist())) == 2 and len(set(test["y"].tolist())) == 2:
        model = fit_logistic(fit_set["X"], fit_set["y"].astype(float))
        model_scores = model(test["X"])
        result["model_auc_held_out"] = auc_interval(model_scores, test["y"])
        predicted = model_scores > 0.5
        result["model_accuracy_held_out"] = rate(int((predicted == test["y"]).sum()), len(test["y"]))
        result["base_rate_held_out"] = rate(int(test["y"].sum()), len(test["y"]))
        singles = []
        for j, name in enumerate(PREDICT_FEATURES):
            sign = 1.0 if (auc(fit_set["X"][:, j], fit_set["y"]) or 0.5) >= 0.5 else -1.0   # direction from the fit set
            singles.append({"feature": name, "direction": sign,
                            "auc_held_out": auc_interval(sign * test["X"][:, j], test["y"])})
        result["single_feature"] = singles
        a = result["model_auc_held_out"]
        lines.append(f"  {test['still_training']} held-out networks still unsolved at epoch {args.at}, "
                     f"{int(test['y'].sum())} of them fail: model AUC {a['auc']:.3f} (95% CI {a['ci_95'][0]:.3f}-"
                     f"{a['ci_95'][1]:.3f}); accuracy {fmt_rate(result['model_accuracy_held_out'])} against "
                     f"{1 - result['base_rate_held_out']['rate']:.1%} for always guessing 'solves'")
        for s in singles:
            a = s["auc_held_out"]
            lines.append(f"    {s['feature']}: AUC {a['auc']:.3f} ({a['ci_95'][0]:.3f}-{a['ci_95'][1]:.3f})")
    else:
        lines.append("  too few failures or successes among the networks still training to fit or score a model")
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2), dpi=V.DPI)
    if model_scores is not None:
        order = np.argsort(-model_scores)
        y = test["y"][order]
        tpr = np.concatenate([[0], np.cumsum(y) / y.sum()])
        fpr = np.concatenate([[0], np.cumsum(~y) / (~y).sum()])
        a = result["model_auc_held_out"]
        axes[0].plot(fpr, tpr, label=f"model, held out: AUC {a['auc']:.2f} ({a['ci_95'][0]:.2f}-{a['ci_95'][1]:.2f})")
        axes[0].plot([0, 1], [0, 1], color="0.6", ls="--", lw=1)
        names = [s["feature"] for s in result["single_feature"]]
        values = np.array([s["auc_held_out"]["auc"] for s in result["single_feature"]])
        ci = np.array([s["auc_held_out"]["ci_95"] for s in result["single_feature"]]).T
        axes[1].barh(range(len(names)), values, xerr=[values - ci[0], ci[1] - values], capsize=3, color="#1f77b4")
        axes[1].axvline(0.5, color="0.4", ls="--", lw=1)
        axes[1].set_yticks(range(len(names)), names, fontsize=8)
        axes[1].set_xlim(0.3, 1)
    axes[0].set_xlabel("false positive rate")
    axes[0].set_ylabel("true positive rate (failures caught)")
    if model_scores is not None:
        axes[0].legend(fontsize=8, loc="lower right")
    axes[0].set_title(f"Predicting failure from the state at epoch {args.at}", fontsize=10)
    axes[1].set_xlabel("held-out AUC of one feature alone (95% CI)")
    fig.tight_layout()
    return {"summary": {"n": fit_set["n"] + test["n"], **result}}, fig, lines


def study_biases(args):
    """Is the 000 preference an artefact of zero biases? The published initialisation against random hidden
    biases, random output biases and both (U(-s, s), drawn after the weights, so the weights are the same)."""
    s = args.bias_scale
    variants = {"zero (published)": (0.0, 0.0), f"hidden U(-{s:g},{s:g})": (s, 0.0),
                f"output U(-{s:g},{s:g})": (0.0, s), "both": (s, s)}
    rows, lines = [], [f"biases: {len(args.seeds)} seeds per variant, cap {args.epochs}, no restarts"]
    for label, scale in variants.items():
        runs, _ = sweep(args, args.seeds, n_epochs=args.epochs, bias_scale=scale)
        ends, corner = plateau_ends(runs)
        solved = np.array([r["solved"] for r in runs])
        plateau = corner >= 0
        shared = [collision_anatomy(r["hidden_codes"]) for r in runs if not r["solved"]] \
            if args.size == DEFAULT_SHAPE else []
        shared = [a["shared_corner"] for a in shared if a is not None]
        row = {"variant": label, "bias_scale": list(scale), "n": len(runs), "solved": rate(solved.sum(), len(runs)),
               "had_one_corner_plateau": rate(plateau.sum(), len(runs)),
               "plateau_corner_counts": np.bincount(corner[plateau], minlength=2 ** args.size.n_hidden).tolist(),
               "plateau_at_000": rate(int((corner == 0).sum()), int(plateau.sum())),
               "plateau_end": bootstrap(ends[plateau], "median"),
               "seven_of_eight_shared_corner_counts": np.bincount(shared, minlength=8).tolist() if shared else None,
               "shared_corner_000": rate(shared.count(0), len(shared)) if shared else None}
        rows.append(row)
        lines.append(f"  {label}: solved {fmt_rate(row['solved'])}; all codes on one corner at some epoch "
                     f"{fmt_rate(row['had_one_corner_plateau'])}, the last such corner 000 in "
                     f"{fmt_rate(row['plateau_at_000'])}; "
                     f"plateau ends at a median epoch {fmt_median(row['plateau_end'])}"
                     + (f"; 7-of-8 failures sharing corner 000: {fmt_rate(row['shared_corner_000'])}"
                        if row["shared_corner_000"] else ""))
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), dpi=V.DPI)
    x = np.arange(len(rows))
    for ax, key, title in ((axes[0], "solved", f"solved by epoch {args.epochs}"),
                           (axes[1], "had_one_corner_plateau", "all codes on one corner at some epoch"),
                           (axes[2], "plateau_at_000", "...the last such corner is 000")):
        rates = [r[key] for r in rows]
        ax.bar(x, [r["rate"] or 0 for r in rates], yerr=wilson_bars(rates), capsize=4, color="#1f77b4")
        ax.set_xticks(x, [r["variant"] for r in rows], fontsize=8, rotation=15)
        ax.set_ylim(0, 1.05)
        ax.set_title(title + " (95% Wilson)", fontsize=10)
    fig.tight_layout()
    return {"summary": {"n": sum(r["n"] for r in rows), "rows": rows}}, fig, lines


# ----------------------------------------------------------------------------------------- 4. recipe1986
SWAP_LR, SWAP_EPOCHS = 0.5, 3000      # the loss-swap test: at the published learning rate, 3000 epochs on
                                      # (or the study's --epochs, if fewer)


def plateau_tracker(n, tolerance=0.1):
    """Observer counting, per network, the epochs at which every output is within `tolerance` of 1/N."""
    counts = np.zeros(n, dtype=int)

    def observe(epoch, rows, batch):
        y = batch.outputs
        near = np.abs(y - 1 / y.shape[-1]).max(axis=(-2, -1)) < tolerance
        counts[rows[near]] += 1
    return counts, observe


def seven_code_tracker(n, loss, shape, saved=None):
    """Observer: for each network, at the first epoch it has exactly N - 1 distinct codes (one collision), the
    share of its hidden-layer error signal that comes from the two colliding patterns (sum of dh^2 over their
    rows / over all rows; with one-hot inputs dW1's row p is pattern p's dh) and its ||W2||. Returns (share (n,),
    w2_norm (n,), observer); NaN where a network never had exactly N - 1 codes. With a dict `saved`, also keeps
    each network's state at that epoch: saved[row] = (epoch, params (P,), velocity (P,))."""
    share, w2_norm = np.full(n, np.nan), np.full(n, np.nan)

    def observe(epoch, rows, batch):
        codes = batch.codes()
        new = (count_distinct(codes, shape.n_hidden) == shape.n_patterns - 1) & np.isnan(share[rows])
        if not new.any():
            return
        if saved is not None:
            for row, p, v in zip(rows[new], batch.params[new], batch.state["velocity"][new]):
                saved[int(row)] = (epoch, p.copy(), v.copy())
        _, _, W2, _ = E.unpack(batch.params[new], shape)
        dh = E.backward(W2, batch.hidden[new], batch.outputs[new], loss=loss)[0]          # (k, N, H)
        energy = (dh ** 2).sum(-1)                                                        # (k, N)
        for row, c, e, w in zip(rows[new], codes[new], energy, W2):
            shared = np.bincount(c, minlength=2 ** shape.n_hidden).argmax()
            share[row] = e[c == shared].sum() / e.sum()
            w2_norm[row] = np.linalg.norm(w)
    return share, w2_norm, observe


class ResumeFrom:
    """A backprop learner whose networks start from saved parameters and velocities instead of fresh weights."""
    min_stop_epoch = 1

    def __init__(self, learner, params, velocity):
        self.learner, self.shape, self.params, self.velocity = learner, learner.shape, params, velocity

    def start(self, seeds, settings):
        batch = self.learner.start(seeds, settings)
        batch.load(self.params, {"velocity": self.velocity})
        return batch


def swap_losses_at_7_codes(saved_by_loss, seeds, lr, shape, n_epochs):
    """The causal test of the squared-error advantage: the networks caught at their first one-collision state
    under each loss continue for n_epochs under each loss (a 2 x 2 of origin x continuation, the same saved
    states in both columns), and the CE states continue under CE with ||W2|| (and its velocity) scaled down to
    the SSE states' median norm, which tests the larger-||W2|| explanation. Returns [{origin, continued_with,
    w2_norm_set_to, reached_8_codes, solved, paired_with_unchanged (McNemar against the same states continued
    unchanged)}]; reached = within n_epochs."""
    states = {origin: (sorted(saved), np.stack([saved[r][1] for r in sorted(saved)]),
                       np.stack([saved[r][2] for r in sorted(saved)])) for origin, saved in saved_by_loss.items() if saved}
    norms = {origin: np.median(np.linalg.norm(E.unpack(params, shape)[2], axis=(1, 2)))
             for origin, (_, params, _) in states.items()}
    trials = [(origin, continued, None) for origin in states for continued in sorted(states, key=lambda c: c != origin)]
    if {"sse", "ce"} <= set(states):            # and the CE states with ||W2|| shrunk to the SSE states' median
        trials.append(("ce", "ce", norms["sse"]))
    out, escaped = [], {}
    for origin, continued, w2_norm in trials:
        rows, params, velocity = states[origin]
        if w2_norm is not None:
            params, velocity = params.copy(), velocity.copy()
            W2, VW2 = E.unpack(params, shape)[2], E.unpack(velocity, shape)[2]       # views: scaled in place
            factor = w2_norm / np.linalg.norm(W2, axis=(1, 2), keepdims=True)
            W2 *= factor
            VW2 *= factor
        k = len(rows)
        settings = {"lr": np.full(k, lr), "momentum": np.full(k, 0.9), "init_scale": np.full(k, 0.1)}
        first, track = first_epoch_tracker(k, (8,), shape.n_hidden)
        result = fit(ResumeFrom(E.Backprop(shape, loss=continued), params, velocity), [seeds[r] for r in rows],
                     settings, n_epochs, early_stop=True, observer=track)
        escaped[origin, continued, w2_norm] = first[8] > 0
        out.append({"origin": origin, "continued_with": continued, "w2_norm_set_to": w2_norm, "lr": lr,
                    "epochs": n_epochs, "median_w2_norm_of_origin": float(norms[origin]),
                    "reached_8_codes": rate(int((first[8] > 0).sum()), k),
                    "solved": rate(int((result["solve_epoch"] > 0).sum()), k)})
        same = escaped.get((origin, origin, None))            # paired with the unchanged continuation, state by state
        if same is not None and (continued, w2_norm) != (origin, None):
            only_this, only_same = int((first[8] > 0)[~same].sum()), int(same[first[8] == 0].sum())
            out[-1]["paired_with_unchanged"] = {"only_this": only_this, "only_unchanged": only_same,
                                                "mcnemar_exact_p": mcnemar_p(only_this, only_same)}
    return out


def study_recipe1986(args):
    """Both losses over learning rates, every network trained to the cap (no early stop), so the solve rate and
    epochs come from the first solved epoch and the codes are compared after the same training time."""
    n = len(args.seeds)
    rows = []
    solved_by_setting, saved_at_7 = {}, {}
    for loss in ("sse", "ce"):
        for lr in args.lrs:
            plateau, track_plateau = plateau_tracker(n)
            first, track_codes = first_epoch_tracker(n, (7, 8), args.size.n_hidden)
            saved = {} if lr == SWAP_LR else None
            share, w2_norm, track_seven = seven_code_tracker(n, loss, args.size, saved)
            if saved is not None:
                saved_at_7[loss] = saved

            def observe(epoch, rows, batch, trackers=(track_plateau, track_codes, track_seven)):
                for track in trackers:
                    track(epoch, rows, batch)
            runs, seconds = sweep(args, args.seeds, n_epochs=args.epochs, lr=lr, loss=loss, early_stop=False,
                                  observer=observe)
            epochs = [r["solve_epoch"] for r in runs if r["solve_epoch"] is not None]
            solved_by_setting[(loss, lr)] = np.array([r["solve_epoch"] is not None for r in runs])
            reached7, reached8 = first[7] > 0, first[8] > 0
            # N - 1 = 7 codes: the step where the two losses part ways, if they do
            escape = {"reached_7_codes": rate(reached7.sum(), n),
                      "reached_8_given_7": rate((reached8 & reached7).sum(), int(reached7.sum())),
                      "epochs_from_7_to_8": bootstrap((first[8] - first[7])[reached8 & reached7], "median")}
            # the mechanism: at the one-collision state, how much of the hidden error is the colliding pair's,
            # and does that predict the escape to 8 codes?
            seven = ~np.isnan(share)
            escape["at_7_codes"] = {
                "n": int(seven.sum()), "pair_share_of_hidden_error": bootstrap(share[seven], "median"),
                "w2_norm": bootstrap(w2_norm[seven], "median"),
                "escape_auc_of_pair_share": auc_interval(share[seven], reached8[seven])
                if 0 < reached8[seven].sum() < seven.sum() else None,
                "escape_auc_of_small_w2": auc_interval(-w2_norm[seven], reached8[seven])
                if 0 < reached8[seven].sum() < seven.sum() else None}
            h = np.array([r["hidden_codes"] for r in runs])
            intermediate = (np.abs(h - 0.5) < 0.25).sum(axis=(1, 2))          # activations in (0.25, 0.75)
            end_codes = np.array([r["n_distinct_codes"] for r in runs])
            end_acc = np.array([r["accuracy"] for r in runs])
            rows.append({"loss": loss, "lr": lr, "solved": rate(len(epochs), n),
                         "median_epochs": bootstrap(epochs, "median"), **escape,
                         "plateau_epochs": quantiles(plateau), "plateau_median": bootstrap(plateau, "median"),
                         "plateau_over_1000": int((plateau > 1000).sum()),
                         "at_end_full_accuracy": int((end_acc == 1).sum()),
                         "at_end_full_accuracy_7_codes": int(((end_acc == 1) & (end_codes == 7)).sum()),
                         "at_end_codes_histogram": np.bincount(end_codes, minlength=9)[1:].tolist(),
                         "at_end_nets_with_a_value_in_0.25_0.75": int((intermediate > 0).sum()),
                         "at_end_mean_values_in_0.25_0.75": float(intermediate.mean()),
                         "at_end_median_saturation": float(np.median(saturation(h))), "seconds": seconds,
                         "final_hidden_values": h.ravel().round(4).tolist()})
    paired = []
    for lr in args.lrs:                           # the same seeds, so the same initial weights, under both losses
        sse, ce = solved_by_setting[("sse", lr)], solved_by_setting[("ce", lr)]
        only_sse, only_ce = int((sse & ~ce).sum()), int((~sse & ce).sum())
        paired.append({"lr": lr, "both": int((sse & ce).sum()), "only_sse": only_sse, "only_ce": only_ce,
                       "neither": int((~sse & ~ce).sum()), "mcnemar_exact_p": mcnemar_p(only_sse, only_ce)})
    swap_epochs = min(SWAP_EPOCHS, args.epochs)
    swap = swap_losses_at_7_codes(saved_at_7, args.seeds, SWAP_LR, args.size, swap_epochs) if saved_at_7 else []
    summary = {"n": n * len(rows), "seeds": n, "paired_by_lr": paired, "swap_at_7_codes": swap,
               "by_setting": [{k: v for k, v in r.items() if k != "final_hidden_values"} for r in rows]}
    lines = [f"recipe1986: {n} seeds per setting, every network trained for {args.epochs} epochs (momentum 0.9, "
             f"init scale 0.1); solved = strict criterion met at some epoch >= 201"]
    for r in rows:
        p = r["plateau_epochs"]
        s7 = r["at_7_codes"]
        if s7["n"]:
            a = s7["escape_auc_of_pair_share"]
            lines.append(f"  {r['loss']:>3} lr {r['lr']:<5g} at the one-collision state ({s7['n']} networks): the pair's "
                         f"share of the hidden error {fmt_median(s7['pair_share_of_hidden_error'])}, ||W2|| "
                         f"{fmt_median(s7['w2_norm'])}" + ("" if a is None else
                         f"; escape to 8 codes predicted by the share: AUC {a['auc']:.3f} "
                         f"({a['ci_95'][0]:.3f}-{a['ci_95'][1]:.3f}), by a small ||W2||: AUC "
                         f"{s7['escape_auc_of_small_w2']['auc']:.3f} ({s7['escape_auc_of_small_w2']['ci_95'][0]:.3f}-"
                         f"{s7['escape_auc_of_small_w2']['ci_95'][1]:.3f})"))
        lines.append(f"  {r['loss']:>3} lr {r['lr']:<5g}: solved {fmt_rate(r['solved'])}, median epochs "
                     f"{fmt_median(r['median_epochs'])}; reached 7 codes {fmt_rate(r['reached_7_codes'])}, then 8 "
                     f"{fmt_rate(r['reached_8_given_7'])}; all outputs within 0.1 of 1/8 for a median {p['q50']:.0f} epochs "
                     f"(>1000 in {r['plateau_over_1000']}); at epoch {args.epochs}: 100% accuracy in "
                     f"{r['at_end_full_accuracy']} ({r['at_end_full_accuracy_7_codes']} of them with 7 codes), "
                     f"a code value in (0.25, 0.75) in {r['at_end_nets_with_a_value_in_0.25_0.75']} nets")
    for p in paired:
        lines.append(f"  paired, lr {p['lr']:g}: both solve {p['both']}, only sse {p['only_sse']}, only ce "
                     f"{p['only_ce']}, neither {p['neither']} (exact McNemar p = {p['mcnemar_exact_p']:.2g})")
    for w in swap:
        shrunk = "" if w["w2_norm_set_to"] is None else f", ||W2|| scaled to {w['w2_norm_set_to']:.3g}"
        lines.append(f"  caught at 7 codes under {w['origin']} (lr {w['lr']:g}; median ||W2|| "
                     f"{w['median_w2_norm_of_origin']:.3g}){shrunk}, continued {w['epochs']} epochs with "
                     f"{w['continued_with']}: 8 codes {fmt_rate(w['reached_8_codes'])}"
                     + ("" if "paired_with_unchanged" not in w else
                        f"; paired with the unchanged continuation: {w['paired_with_unchanged']['only_this']} escape "
                        f"only here, {w['paired_with_unchanged']['only_unchanged']} only there (exact McNemar p = "
                        f"{w['paired_with_unchanged']['mcnemar_exact_p']:.2g})"))
    fig, axes = plt.subplots(1, 4, figsize=(20, 4.6), dpi=V.DPI)
    if swap:
        labels = [f"{w['origin']} state\n-> {w['continued_with']}" + ("" if w["w2_norm_set_to"] is None else
                                                                      "\n||W2|| shrunk") for w in swap]
        rates = [w["reached_8_codes"] for w in swap]
        axes[3].bar(range(len(swap)), [r["rate"] for r in rates], yerr=wilson_bars(rates), capsize=4,
                    color=["#d62728" if w["origin"] == "sse" else "#1f77b4" for w in swap])
        axes[3].set_xticks(range(len(swap)), labels, fontsize=7)
        axes[3].set_ylim(0, 1)
        axes[3].set_ylabel(f"reached 8 codes within {swap_epochs} epochs (95% Wilson)")
        axes[3].set_title(f"caught at 7 codes (lr {SWAP_LR:g}), continued under each loss", fontsize=10)
    for loss, color in (("sse", "#d62728"), ("ce", "#1f77b4")):
        sel = [r for r in rows if r["loss"] == loss]
        lrs = [r["lr"] for r in sel]
        axes[0].errorbar(lrs, [r["solved"]["rate"] for r in sel], yerr=wilson_bars([r["solved"] for r in sel]),
                         fmt="o-", color=color, capsize=3, label=f"{loss}: solved")
        axes[0].errorbar(lrs, [r["reached_8_given_7"]["rate"] or 0 for r in sel],
                         yerr=wilson_bars([r["reached_8_given_7"] for r in sel]), fmt="s:", color=color, capsize=3,
                         label=f"{loss}: 8 codes once 7 were reached")
        med = np.array([r["plateau_median"]["median"] for r in sel])
        ci = np.array([r["plateau_median"]["ci_95"] for r in sel]).reshape(-1, 2).T
        axes[1].errorbar(lrs, med, yerr=[med - ci[0], ci[1] - med], fmt="o-", color=color, capsize=3,
                         label=f"{loss} (median, 95% CI)")
    for ax in axes[:2]:
        ax.set_xscale("log")
        ax.set_xticks(args.lrs, [f"{v:g}" for v in args.lrs])
        ax.minorticks_off()
        ax.set_xlabel("learning rate")
        legend(ax, fontsize=8)
    axes[1].set_yscale("symlog", linthresh=10)
    axes[1].set_ylim(0, args.epochs * 2)
    axes[0].set_ylim(0, 1)
    axes[0].set_ylabel("fraction (95% Wilson)")
    axes[0].set_title("strict solve rate, and escape from 7 codes", fontsize=10)
    axes[1].set_ylabel("epochs with all outputs within 0.1 of 1/8")
    axes[1].set_title("the base-rate plateau", fontsize=10)
    default = [r for r in rows if r["lr"] == 0.5] or rows[:1]
    bins = np.linspace(0, 1, 41)
    for r in default:
        axes[2].hist(r["final_hidden_values"], bins=bins, alpha=0.6, density=True,
                     color="#d62728" if r["loss"] == "sse" else "#1f77b4", label=f"{r['loss']} lr {r['lr']:g}")
    axes[2].set_yscale("log")
    axes[2].set_xlabel(f"hidden activation at epoch {args.epochs}")
    axes[2].legend(fontsize=8)
    axes[2].set_title("how binary the learned codes are", fontsize=10)
    fig.suptitle(f"Squared error (1986) vs cross-entropy: {n} seeds per setting, {args.epochs} epochs each")
    fig.tight_layout()
    return {"summary": summary}, fig, lines


# ------------------------------------------------------------------------------------------------ 5. grid
def study_grid(args):
    seeds, lrs, scales = list(args.seeds), list(args.lrs), list(args.init_scales)
    cells = [(lr, s) for lr in lrs for s in scales]
    all_seeds = [seed for _ in cells for seed in seeds]
    runs, seconds = sweep(args, all_seeds, n_epochs=args.epochs, lr=[lr for lr, _ in cells for _ in seeds],
                          init_scale=[s for _, s in cells for _ in seeds])
    k = len(seeds)
    solved = np.array([r["solved"] for r in runs]).reshape(len(lrs), len(scales), k)
    epochs = np.array([r["epochs"] for r in runs], dtype=float).reshape(len(lrs), len(scales), k)
    median = np.array([[np.median(e[s]) if s.any() else np.nan for e, s in zip(e_row, s_row)]
                       for e_row, s_row in zip(epochs, solved)])
    checks = []
    if args.size == DEFAULT_SHAPE:      # the reference README's claim: 15+/30 at init 0.1, 9/30 at init 0.5
        check_seeds = seeds[:30]
        for lr, scale in ((0.5, 0.1), (0.5, 0.5)):
            check_runs, _ = sweep(args, check_seeds, n_epochs=args.epochs, lr=lr, init_scale=scale)
            checks.append({"lr": lr, "init_scale": scale, "seeds": f"{check_seeds[0]}-{check_seeds[-1]}",
                           "epochs": args.epochs,
                           "solved": rate(sum(r["solved"] for r in check_runs), len(check_runs))})
    best = np.unravel_index(np.argmax(solved.mean(-1)), solved.shape[:2])
    # the best of many noisy cells is biased upwards: the picked cell and the published one again, on seeds
    # that played no part in the pick
    held_out = []
    if set(args.held_out) & set(seeds):
        raise ValueError("the held-out seeds overlap the grid's seeds")
    for label, (lr, scale) in (("best cell", (lrs[best[0]], scales[best[1]])), ("published", (0.5, 0.1))):
        held_runs, _ = sweep(args, args.held_out, n_epochs=args.epochs, lr=lr, init_scale=scale)
        held_out.append({"cell": label, "lr": lr, "init_scale": scale,
                         "seeds": [int(args.held_out[0]), int(args.held_out[-1])],
                         "solved": rate(sum(r["solved"] for r in held_runs), len(held_runs))})
    summary = {"n": len(runs) + sum(c["solved"]["n"] for c in checks) + sum(h["solved"]["n"] for h in held_out),
               "grid_networks": len(runs), "seeds_per_cell": k, "seconds": seconds,
               "lrs": lrs, "init_scales": scales, "solve_rate": (solved.mean(-1)).round(4).tolist(),
               "solve_rate_wilson_95": [[list(wilson_interval(int(c.sum()), k)) for c in row] for row in solved],
               "median_epochs": [[None if np.isnan(v) else float(v) for v in row] for row in median],
               "published_claim_checks": checks, "held_out_check": held_out}
    best_rate = rate(int(solved[best].sum()), k)
    lines = [f"grid: {len(lrs)} learning rates x {len(scales)} init scales x {k} seeds = {len(runs)} networks, "
             f"cap {args.epochs} ({seconds:.1f} s, one batched run)",
             f"  best cell: lr {lrs[best[0]]:g}, init scale {scales[best[1]]:g}: {fmt_rate(best_rate)}"]
    lines += [f"  held out, {h['cell']} (lr {h['lr']:g}, init scale {h['init_scale']:g}), seeds {h['seeds'][0]}-"
              f"{h['seeds'][1]}: solved {fmt_rate(h['solved'])}" for h in held_out]
    lines += [f"  seeds {c['seeds']}, lr {c['lr']:g}, init scale {c['init_scale']:g}, cap {c['epochs']}: solved "
              f"{fmt_rate(c['solved'])}" for c in checks]

    fig, axes = plt.subplots(1, 2, figsize=(15, 6.2), dpi=V.DPI)
    wilson = np.array(summary["solve_rate_wilson_95"])                          # (lrs, scales, 2)
    for ax, values, title, cmap, fmt in ((axes[0], solved.mean(-1), "solve rate, 95% Wilson interval below; boxed: "
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
        ax.set_xticks(range(len(scales)), [f"{s:g}" for s in scales], fontsize=8)
        ax.set_yticks(range(len(lrs)), [f"{lr:g}" for lr in lrs], fontsize=8)
        ax.set_xlabel("init scale")
        ax.set_ylabel("learning rate")
        ax.set_title(title, fontsize=10)
        fig.colorbar(image, ax=ax, fraction=0.046)
    held = "; ".join(f"{h['cell']} (lr {h['lr']:g}, init {h['init_scale']:g}) on held-out seeds "
                     f"{h['seeds'][0]}-{h['seeds'][1]}: {fmt_rate(h['solved'])}" for h in held_out)
    fig.suptitle(f"Hyper-parameter map: {k} seeds per cell, momentum 0.9, cap {args.epochs} epochs (best cell red)\n"
                 + held, fontsize=10)
    fig.tight_layout()
    return {"summary": summary}, fig, lines


# --------------------------------------------------------------------------------------------- 6. compare
# One row per learner of the registry (learners.py): label, color, learner, its settings, and the loop settings
# it runs with (filled in from the study's options by compare_rows). An "epoch" is the learner's own unit (a
# full-batch update for backprop, `updates` CD updates for cdk, one learning cycle for ahs85); costs are counted
# in the learner's own updates (its spec's updates_per_epoch).
COMPARE_LEARNERS = {"backprop": ("backprop, published recipe", "#1f77b4", "backprop", {}),
                    "backprop_restarts": ("backprop + restarts", "#17becf", "backprop", {}),
                    "cd1": ("CD-1 recipe (+ restarts)", "#ff7f0e", "cdk", {"k": 1}),
                    "cd5": ("CD-5 recipe (+ restarts)", "#d62728", "cdk", {"k": 5}),
                    "ahs85": ("Boltzmann 1985 (ahs85)", "#2ca02c", "ahs85", {})}


def compare_loop(args, row):
    """The loop settings of a compare row: every network stops at its first solve."""
    if COMPARE_LEARNERS[row][2] == "backprop":
        return {"epochs": args.epochs, "patience": args.patience if row == "backprop_restarts" else None}
    return {"epochs": args.boltzmann_epochs, "early_stop": True}


def cpu_seconds():
    """CPU time of this process and of its finished child processes (a sweep's own pool is joined)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def compare_runs(args, row, seeds):
    """Train one compare row to its first solve: the SweepResult and the CPU seconds it took."""
    _, _, learner, settings = COMPARE_LEARNERS[row]
    before = cpu_seconds()
    progress = cli.Progress(len(seeds))
    try:
        result = T.sweep(learner, seeds, settings, compare_loop(args, row), size=args.size,
                         progress=progress.epoch_hook(), workers=args.workers, executor=args.executor,
                         chunk_size=args.chunk_size)
    finally:
        progress.close()
    return result, cpu_seconds() - before


def study_compare(args):
    """Backprop against Boltzmann learning on the 8-3-8 encoder, in one harness and under one criterion (N
    distinct dominant codes and every pattern reconstructed, read exactly), failures and restarts paid for."""
    rows, curves = [], {}
    lines = [f"compare: strict criterion, each network stopped at its first solve; backprop cap {args.epochs} "
             f"epochs, Boltzmann caps {args.boltzmann_epochs} epochs (cdk) / cycles (ahs85), over restarts"]
    for learner, (label, _, name, _) in COMPARE_LEARNERS.items():
        seeds = args.seeds[:args.ahs85_networks] if learner == "ahs85" else args.seeds
        result, cpu = compare_runs(args, learner, seeds)
        per_epoch = get_learner(name).updates_per_epoch(result.settings)
        solve, spent = result["solve_epoch"], result["epochs"].astype(float)
        solved = solve > 0
        cpu_per_epoch = cpu / spent.sum() if args.executor is None else None   # a remote cluster's CPU is not seen
        config = result.config()
        row = {"learner": learner, "label": label, "seeds": [int(seeds[0]), int(seeds[-1])], "n": len(seeds),
               "run": {k: v for k, v in config.items() if k != "seeds"},
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
        curves[learner] = (np.sort(solve[solved]), len(seeds), spent.max())
        lines.append(f"  {label} ({row['n']} networks): solved {fmt_rate(row['solved'])}; median updates to "
                     f"solve {fmt_median(row['median_updates_to_solve'])}; per solved network, failures and "
                     f"restarts paid: {fmt_mean(row['cost_updates_per_solved'])} updates, "
                     f"{fmt_mean(row['cost_seconds_per_solved'], ' s')} CPU"
                     + ("" if cpu_per_epoch is None else f"; {cpu_per_epoch * 1e6:.1f} us CPU per network-epoch"))
    published = PUBLISHED_AHS85["8-3-8"]
    summary = {"n": sum(r["n"] for r in rows), "rows": rows,
               "published_ahs85": {**published, "solved_rate": rate(published["solved"], published["runs"])}}
    lines.append(f"  published (Ackley, Hinton & Sejnowski 1985): {published['solved']}/{published['runs']} "
                 f"within {published['cycles_cap']} cycles, median {published['median_cycles_to_8_codes']} cycles")
    return {"summary": summary}, compare_figure(rows, curves, summary["published_ahs85"]), lines


def compare_figure(rows, curves, published):
    """Fraction solved against CPU time per network (log x) and against weight updates, Wilson bands."""
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.8), dpi=V.DPI, sharey=True)
    for row in rows:
        label, color = COMPARE_LEARNERS[row["learner"]][:2]
        per_epoch = row["updates_per_epoch"]
        solve, n, longest = curves[row["learner"]]
        if not len(solve):
            continue
        solve = np.append(solve, max(longest, solve[-1]))              # flat to the last network's end
        k = np.append(np.arange(1, len(solve)), len(solve) - 1)
        low, high = np.array([wilson_interval(i, n) for i in k]).T
        for ax, scale in ((axes[0], row["cpu_seconds_per_network_epoch"]), (axes[1], per_epoch)):
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


# ------------------------------------------------------------------------------------------ 7. optimizers
LEARNERS = ("momentum", "quickprop", "rprop", "irprop")


def study_optimizers(args):
    """The fastest classic learners against the published momentum recipe, over encoder sizes, under
    Fahlman's protocol (his 0.4/0.6 criterion, restarts after a fixed budget counted in) and under the strict
    criterion (N distinct codes, no restarts, cap --epochs)."""
    sizes = [cli.parse_size(size) for size in args.sizes]
    rows, lines = [], [f"optimizers: {len(args.seeds)} seeds per cell; Fahlman's protocol: criterion 0.4/0.6, "
                       f"restart after {args.budget} epochs, cap {args.fahlman_cap} in all; strict: cap {args.epochs}"]
    for size in sizes:
        for learner in LEARNERS:
            row = {"size": str(size), "optimizer": learner}
            fahlman, _ = sweep(args, args.seeds, n_epochs=args.fahlman_cap, size=size, optimizer=learner,
                               criterion="fahlman", restart_every=args.budget)
            strict, seconds = sweep(args, args.seeds, n_epochs=args.epochs, size=size, optimizer=learner)
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
            published = PUBLISHED_FAHLMAN.get(learner, {}).get(str(size))
            row["published_fahlman_mean"] = published
            rows.append(row)
            f, st = row["fahlman"], row["strict"]
            mean = f"{f['mean_epochs']['mean']:.2f} ({f['mean_epochs']['ci_95'][0]:.2f}-{f['mean_epochs']['ci_95'][1]:.2f})" \
                if f["mean_epochs"] else "n/a"
            lines.append(f"  {str(size):>9} {learner:>9}: Fahlman {fmt_rate(f['solved'])}, mean epochs {mean}"
                         + (f" [published {published}]" if published else "")
                         + f"; strict {fmt_rate(st['solved'])}, median epochs {fmt_median(st['median_epochs'])}")
    summary = {"n": sum(r["fahlman"]["solved"]["n"] + r["strict"]["solved"]["n"] for r in rows),
               "budget": args.budget, "fahlman_cap": args.fahlman_cap, "strict_cap": args.epochs, "rows": rows}

    fig, axes = plt.subplots(1, 3, figsize=(16, 4.6), dpi=V.DPI)
    x = np.arange(len(sizes))
    colors = dict(zip(LEARNERS, ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")))
    for k, learner in enumerate(LEARNERS):
        mine = [r for r in rows if r["optimizer"] == learner]
        shift = (k - 1.5) * 0.06
        rates = [r["strict"]["solved"] for r in mine]
        axes[0].errorbar(x + shift, [r["rate"] for r in rates], yerr=wilson_bars(rates), marker="o", capsize=3,
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
        published = [(i, PUBLISHED_FAHLMAN[learner][str(s)]) for i, s in enumerate(sizes)
                     if str(s) in PUBLISHED_FAHLMAN[learner]]
        if published:
            axes[2].plot(*zip(*published), marker, markersize=11,
                         label=f"Fahlman 1988, {'quickprop' if learner == 'quickprop' else 'backprop'}")
    for ax, title, label in ((axes[0], f"strict solve rate within {args.epochs} epochs (95% Wilson)", "solve rate"),
                             (axes[1], "median epochs to the strict criterion (95% bootstrap)", "epochs"),
                             (axes[2], f"Fahlman's protocol: mean epochs, restarts every {args.budget}", "epochs")):
        ax.set_xticks(x, [str(s) for s in sizes])
        ax.set_xlabel("encoder size")
        ax.set_ylabel(label)
        ax.set_title(title, fontsize=10)
        legend(ax, fontsize=8)
    axes[0].set_ylim(-0.03, 1.03)
    axes[1].set_yscale("log")
    axes[2].set_yscale("log")
    fig.suptitle(f"Is the 7-of-8 trap the problem's or the optimizer's? {len(args.seeds)} seeds per cell")
    fig.tight_layout()
    return {"summary": summary}, fig, lines


# ---------------------------------------------------------------------------------------------------- CLI
STUDIES = {
    # name: (function, default seeds, default epochs, description, {option: (default, parser, help)})
    "failures": (study_failures, "0-999", 20000, "anatomy of the networks stuck at 7 of 8 codes", {}),
    "margin": (study_margin, "0-999", 20000, "code margin at the solve, training on, margin criteria",
               {"margins": ([0.0, 0.05, 0.1, 0.2], cli.list_of(float, check.check_margin), "margins m of the solve criterion")}),
    "restarts": (study_restarts, "0-999", 20000, "restart on plateau: two clocks x patiences x learning rates, "
                                                     "picked on --seeds, reported on --held-out",
                 {"patiences": ([100, 250, 500, 1000, 2000], cli.list_of(int, check.check_patience), "patiences to compare"),
                  "lrs": ([0.5, 0.1, 0.05], cli.list_of(float, check.check_lr), "learning rates"),
                  "held_out": ("1000-1999", cli.arg_type(cli.parse_seeds), "seeds the picked patience is reported on")}),
    "plateau": (study_plateau, "0-999", 20000, "how long the base-rate plateau lasts, over learning rates",
                {"lrs": ([0.05, 0.1, 0.25, 0.5, 1.0, 2.0], cli.list_of(float, check.check_lr), "learning rates")}),
    "predict": (study_predict, "0-999", 20000, "can a failure be seen coming? a model of the state at --at epochs, "
                                               "fitted on --seeds, scored on --held-out",
                {"at": (600, cli.arg_type(lambda v: check.check_epochs(v, "at"), int), "epoch whose state is used"),
                 "held_out": ("1000-1999", cli.arg_type(cli.parse_seeds), "seeds the model is scored on")}),
    "biases": (study_biases, "0-999", 20000, "is the 000 preference an artefact of zero biases? random hidden "
                                             "and output biases against the published zeros",
               {"bias_scale": (1.0, cli.arg_type(check.check_init_scale, float), "s of the random biases U(-s, s)")}),
    "recipe1986": (study_recipe1986, "0-499", 5000, "squared error (1986) vs cross-entropy over learning rates",
                   {"lrs": ([0.25, 0.5, 1.0, 2.0, 4.0], cli.list_of(float, check.check_lr), "learning rates, both losses")}),
    "grid": (study_grid, "0-99", 20000, "solve rate over learning rate x init scale, one batched run",
             {"lrs": ([0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 1.2, 2.0, 3.0, 5.0], cli.list_of(float, check.check_lr), "learning rates"),
              "init_scales": ([0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 1.2, 2.0], cli.list_of(float, check.check_init_scale),
                              "init scales"),
              "held_out": ("1000-1999", cli.arg_type(cli.parse_seeds),
                           "seeds the best cell and the published cell are run again on")}),
    "compare": (study_compare, "0-999", 20000,
                "backprop, backprop + restarts, CD-1, CD-5 and the 1985 Boltzmann procedure, to the same criterion",
                {"patience": (1000, cli.arg_type(check.check_patience, int), "patience of backprop + restarts"),
                 "boltzmann_epochs": (4000, cli.arg_type(lambda v: check.check_epochs(v, "boltzmann-epochs"), int),
                                      "cap of the Boltzmann learners: epochs of 16 updates (cdk), cycles (ahs85)"),
                 "ahs85_networks": (200, cli.arg_type(lambda v: check.check_positive_int(v, "ahs85-networks"), int),
                                    "the 1985 procedure trains the first this-many seeds (it is slow)")}),
    "optimizers": (study_optimizers, "0-99", 20000,
                   "momentum, quickprop, Rprop+ and iRprop- over encoder sizes, Fahlman's protocol and strict",
                   {"sizes": (["4-2-4", "8-3-8", "10-5-10", "16-4-16", "32-5-32"], cli.list_of(str, lambda v: str(cli.parse_size(v))),
                              "encoder sizes"),
                    "budget": (1000, cli.arg_type(lambda v: check.check_epochs(v, "budget"), int),
                               "Fahlman's protocol: epochs before a network is restarted"),
                    "fahlman_cap": (20000, cli.arg_type(lambda v: check.check_epochs(v, "fahlman-cap"), int),
                                    "Fahlman's protocol: epoch cap over all attempts")}),
}


# Studies whose analysis is written for the 3-bit code of the 8-3-8 encoder (its 8 corners, 28 pattern pairs,
# or the published 8-3-8 Boltzmann figures); they refuse other sizes.
EIGHT_THREE_EIGHT_ONLY = {"failures": "its anatomy is of the 8 corners and 28 pattern pairs of the 3-cube",
                          "recipe1986": "its one-collision analysis reads the 7- and 8-code states of the 3-cube",
                          "compare": "it compares with the published 8-3-8 Boltzmann figures"}
SIZE_SPANNING = {"optimizers": "it spans encoder sizes itself (--sizes)"}


def build_parser():
    parser = cli.OneLineParser(prog="study_encoder_backprop_8_3_8.py", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="study", required=True, metavar="STUDY", parser_class=cli.OneLineParser)
    every = dict(STUDIES, all=(None, None, None, "every study above with its own defaults, timed", {}))
    for name, (_, seeds, epochs, description, options) in every.items():
        p = sub.add_parser(name, help=description, description=description)
        p.add_argument("--seeds", type=cli.arg_type(cli.parse_seeds), default=None,
                       help=f"seed spec such as 0-99 or 0,3,7 (default {seeds or 'each study’s own'})")
        p.add_argument("--epochs", type=cli.arg_type(check.check_epochs, int), default=None,
                       help=f"epoch cap, or total budget with restarts (default {epochs or 'each study’s own'})")
        only = f"; {name} is for 8-3-8 only: {EIGHT_THREE_EIGHT_ONLY[name]}" if name in EIGHT_THREE_EIGHT_ONLY else \
            ("; all skips the 8-3-8-only studies at other sizes" if name == "all" else "")
        p.add_argument("--size", type=cli.arg_type(cli.parse_size), default=DEFAULT_SHAPE,
                       help=f"encoder size N-H-N (default 8-3-8){only}")
        cli.add_parallel_args(p, workers_default=os.cpu_count() or 1)
        p.add_argument("--results", default="results", help="folder for <study>.json (default results)")
        p.add_argument("--figures", default="viz", help="folder for study_<study>.png (default viz)")
        cli.add_force_arg(p)
        for option, (default, parse, text) in options.items():
            shown = ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in default) \
                if isinstance(default, list) else default
            p.add_argument("--" + option.replace("_", "-"), dest=option, type=parse, default=default,
                           help=f"{text} (default {shown})")
    return parser


def check_folder(parser, path):
    if not str(path).strip():
        parser.error("an output folder is empty")
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as err:
        parser.error(f"cannot create folder {path}: {err.strerror}")
    if not os.access(path, os.W_OK):
        parser.error(f"folder {path} is not writable")


def output_paths(name, args):
    return os.path.join(args.results, f"{name}.json"), os.path.join(args.figures, f"study_{name}.png")


def run_study(name, args):
    function, seeds, epochs, _, options = STUDIES[name]
    study_args = type(args)(**vars(args))
    study_args.seeds = args.seeds if args.seeds is not None else cli.parse_seeds(seeds)
    study_args.epochs = args.epochs if args.epochs is not None else epochs
    study_args.sweeps_used = []
    for option, (default, parse, _) in options.items():      # `all` runs each study with its own defaults
        if args.study != name and isinstance(default, str):
            default = parse(default)                          # a spec such as "1000-1999", as argparse parses it
        setattr(study_args, option, getattr(args, option) if args.study == name else default)
    start = time.perf_counter()
    result, fig, lines = function(study_args)
    seconds = time.perf_counter() - start
    config = {"study": name, "size": str(args.size), "seeds": study_args.seeds, "epochs": study_args.epochs,
              "min_stop_epoch": E.MIN_STOP_EPOCH, "sweeps": study_args.sweeps_used}
    config.update({option: getattr(study_args, option) for option in options})
    result = {"config": config, **result}
    result["summary"]["seconds"] = seconds
    json_path, png_path = output_paths(name, args)
    V.save_figure(fig, png_path)
    atomic_files.write_json(json_path, result)
    print("\n".join(lines))
    print(f"  wrote {json_path} and {png_path} ({seconds:.1f} s)", flush=True)
    return result


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    names = list(STUDIES) if args.study == "all" else [args.study]
    if args.size != DEFAULT_SHAPE:
        if args.study in EIGHT_THREE_EIGHT_ONLY:
            parser.error(f"study {args.study} is for the 8-3-8 encoder only ({EIGHT_THREE_EIGHT_ONLY[args.study]}), "
                         f"not {args.size}")
        if args.study in SIZE_SPANNING:
            parser.error(f"study {args.study} takes no --size: {SIZE_SPANNING[args.study]}")
        skipped = [n for n in names if n in EIGHT_THREE_EIGHT_ONLY or n in SIZE_SPANNING]
        names = [n for n in names if n not in skipped]
        if skipped:
            print(f"skipping {', '.join(skipped)}: not run at a single other size")
    if args.study == "restarts":
        overlap = set(args.held_out) & set(args.seeds if args.seeds is not None else cli.parse_seeds("0-999"))
        if overlap:
            parser.error(f"--held-out overlaps the seeds the patience is picked on (e.g. seed {min(overlap)})")
    cli.refuse_foreign_outputs(parser, [p for n in names for p in output_paths(n, args)], args.force)
    check_folder(parser, args.results)
    check_folder(parser, args.figures)
    start = time.perf_counter()
    args.executor = cli.executor_from(parser, args)
    try:
        for name in names:
            run_study(name, args)
    except OSError as err:
        cli.output_failed(parser, err, f"cannot write results: {err}")
    except ValueError as err:                       # e.g. held-out seeds that overlap the seeds a choice is made on
        parser.error(str(err))
    finally:
        if args.executor is not None:
            args.executor.close()
    if args.study == "all":
        print(f"all studies: {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(cli.run_main(main))
