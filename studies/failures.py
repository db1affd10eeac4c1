"""failures: where the 7-of-8 local minimum lives. Every unsolved network of the published recipe is dissected:
which two patterns share a corner, which corner is shared and which is left empty, how far apart those two
corners are, and how near the colliding pair keeps one activation to 0.5; plus how many networks start with
every code at corner 000."""
import copy

import numpy as np

import encoder_backprop_8_3_8 as E
import training_loop as T
from interval_stats import chi2_power, fmt_rate, monte_carlo_uniform_p, quantiles, rate
from studies.common import Sweeps, config_record

NAME = "failures"
DESCRIPTION = "anatomy of the networks stuck at 7 of 8 codes"
SEEDS, EPOCHS, OPTIONS = "0-999", 20000, {}
ONLY_8_3_8 = "its anatomy is of the 8 corners and 28 pattern pairs of the 3-cube"

PAIRS = [(i, j) for i in range(8) for j in range(i + 1, 8)]            # the 28 unordered pattern pairs
HAMMING = np.array([[bin(a ^ b).count("1") for b in range(8)] for a in range(8)])
CORNER_NAMES = [format(c, "03b") for c in range(8)]                     # corner c = 4*h1 + 2*h2 + h3
EARLY_CHECKPOINTS = (20, 100, 200, 300, 400)


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


class EarlyCorners(T.Recorder):
    """At each checkpoint epoch, per network still training: how many of its codes sit at corner 000."""
    name = "early_corners"

    def __init__(self, checkpoints=EARLY_CHECKPOINTS):
        self.checkpoints = tuple(checkpoints)

    def fresh(self, n):
        recording = copy.copy(self)
        recording.training = np.zeros((n, len(self.checkpoints)), bool)
        recording.at_000 = np.zeros((n, len(self.checkpoints)), int)
        return recording

    def observe(self, epoch, rows, batch):
        if epoch in self.checkpoints:
            column = self.checkpoints.index(epoch)
            self.training[rows, column] = True
            self.at_000[rows, column] = (batch.codes() == 0).sum(-1)

    def columns(self):
        return {"training": self.training, "patterns_at_000": self.at_000}


def early_codes(recorded, n_patterns):
    """{epoch: networks still training, the fraction with all codes at 000, the mean number of codes there}."""
    early = {}
    for column, epoch in enumerate(EARLY_CHECKPOINTS):
        training = recorded["training"][:, column]
        if training.any():
            at_000 = recorded["patterns_at_000"][training, column]
            early[str(epoch)] = {"networks": int(training.sum()), "all_codes_at_000": float((at_000 == n_patterns).mean()),
                                 "mean_patterns_at_000": float(at_000.mean())}
    return early


def run(config):
    sweeps = Sweeps(config)
    # the checkpoints need only the first epochs (a network's first epochs are the same whatever the cap)
    _, recorded, _ = sweeps.recording(config.seeds, [EarlyCorners()], n_epochs=min(config.epochs, max(EARLY_CHECKPOINTS)))
    runs, seconds = sweeps(config.seeds, n_epochs=config.epochs)
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
               "n_hamming1": len(ham1), "tests": tests,
               "early_codes": early_codes(recorded[EarlyCorners.name], config.size.n_patterns),
               "sweep_seconds": seconds}
    return {"config": config_record(NAME, config, sweeps), "summary": summary, "unsolved": anatomy,
            "unsolved_other": other, "pair_counts": {f"{i}-{j}": int(c) for (i, j), c in zip(PAIRS, pair_vector)}}


def counts(result):
    """The counts the report and the figure read: pair_vector (28,), shared, empty (8,), hamming (3,), nearest."""
    s = result["summary"]
    return (np.array([result["pair_counts"][f"{i}-{j}"] for i, j in PAIRS]),
            np.array([s["shared_corner_counts"][c] for c in CORNER_NAMES]),
            np.array([s["empty_corner_counts"][c] for c in CORNER_NAMES]),
            np.array([s["hamming_counts"][k] for k in ("1", "2", "3")]),
            np.array([a["nearest_distance"] for a in result["unsolved"]]))


def report(result):
    s, epochs = result["summary"], result["config"]["epochs"]
    pair_vector, shared, empty, hamming, nearest = counts(result)
    n7, tests, early = s["n_one_collision"], s["tests"], s["early_codes"]
    lines = [f"failures: {s['n']} seeds, cap {epochs} epochs ({s['sweep_seconds']:.1f} s)",
             f"  solved {fmt_rate(s['solved'])}; unsolved {s['n_unsolved']}, all at 100% accuracy: "
             f"{s['unsolved_accuracy_1'] == s['n_unsolved']}; one collision (7 codes): {n7}, "
             f"other: {s['n_other_unsolved']}",
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
                  f"that separates the shared corner from the empty one in "
                  f"{s['hamming1_nearest_unit_is_missing_bit']}/{s['n_hamming1']}"]
    return lines


def figure(result):
    import plotting as P
    s = result["summary"]
    pair_vector, shared, empty, hamming, nearest = counts(result)
    n7 = s["n_one_collision"]
    pair_counts = np.zeros((8, 8), dtype=int)
    for (i, j), c in zip(PAIRS, pair_vector):
        pair_counts[i, j] = c
    fig, axes = P.plt.subplots(1, 4, figsize=(17, 4.2), dpi=P.DPI, gridspec_kw={"width_ratios": [1.1, 1.3, 0.8, 1]})
    ax = axes[0]
    full = pair_counts + pair_counts.T
    image = ax.imshow(np.where(np.eye(8, dtype=bool), np.nan, full), cmap="viridis")
    ax.set_xticks(range(8))
    ax.set_yticks(range(8))
    P.color_pattern_ticks(ax, "x")
    P.color_pattern_ticks(ax, "y")
    fig.colorbar(image, ax=ax, fraction=0.046)
    p_pairs = s["tests"].get("pairs_vs_uniform_28", {}).get("p", float("nan"))
    ax.set_title(f"colliding pattern pairs (n={n7})\nuniform over 28 pairs: p = {p_pairs:.2f}", fontsize=10)
    ax = axes[1]
    x = np.arange(8)
    ax.bar(x - 0.2, shared, 0.4, label="shared corner", color="#d62728",
           yerr=n7 * P.wilson_bars([rate(k, n7) for k in shared]), capsize=2)
    ax.bar(x + 0.2, empty, 0.4, label="empty corner", color="#1f77b4",
           yerr=n7 * P.wilson_bars([rate(k, n7) for k in empty]), capsize=2)
    ax.axhline(n7 / 8, color="0.4", ls=":", lw=1, label="uniform")
    ax.set_xticks(x, CORNER_NAMES)
    ax.set_xlabel("corner (h1 h2 h3)")
    P.legend(ax, fontsize=8)
    ax.set_title("which corner is shared / left empty (95% Wilson)", fontsize=10)
    ax = axes[2]
    ax.bar([1, 2, 3], hamming, 0.6, color="#9467bd", label="observed (95% Wilson)",
           yerr=n7 * P.wilson_bars([rate(k, n7) for k in hamming]), capsize=3)
    ax.plot([1, 2, 3], [n7 * 3 / 7, n7 * 3 / 7, n7 / 7], "k_", markersize=28, mew=2, label="random empty corner")
    ax.set_xticks([1, 2, 3])
    ax.set_xlabel("Hamming distance shared -> empty")
    P.legend(ax, fontsize=8)
    ax.set_title("distance to the free corner", fontsize=10)
    ax = axes[3]
    ax.hist(nearest, bins=np.linspace(0, 0.5, 26), color="#2ca02c")
    ax.set_xlabel("min |h - 0.5| over the colliding pair")
    ax.set_title("the pair keeps one activation near 0.5", fontsize=10)
    fig.suptitle(f"Anatomy of the unsolved networks: {s['n_unsolved']} of {s['n']} seeds, "
                 f"cap {result['config']['epochs']} epochs")
    fig.tight_layout()
    return fig
