"""The statistics every study reports: Wilson intervals for rates, bootstrap intervals for medians,
quantile summaries, and a Monte-Carlo chi-square test against a multinomial null.

The exact McNemar test and the AUC come from scipy.stats. The Wilson interval is its closed form (Newcombe 1998),
operation for operation as scipy.stats.binomtest(k, n).proportion_ci(method="wilson") computes it, so the same bits
(tests/test_sweep.py checks 400 (k, n); 12,629 were checked when it was written). scipy reaches it only through
binomtest, which first computes an exact p-value nobody reads, ~0.9 ms a call, and a figure's cumulative curves ask
for thousands of intervals (the compare study's 8,941: its figure took 13.3 s through binomtest, 1.2 s now). The
percentile bootstrap stays here: scipy.stats.bootstrap draws its resamples differently, so every committed interval
would move by its Monte-Carlo noise for no gain, and ours is ten lines.
"""
import math

import numpy as np


def _stats():
    """scipy.stats, imported when a statistic is first computed: a command that fails on its arguments, or prints
    no interval, does not pay the second it takes to import."""
    from scipy import stats
    return stats


def wilson_interval(k, n, level=0.95):
    """Wilson score interval (low, high) for k successes out of n (95% by default)."""
    if n == 0:
        return (0.0, 1.0)
    from scipy.special import ndtri
    k, n = int(k), int(n)
    p, z = k / n, ndtri(0.5 + 0.5 * level)
    denominator = 2 * (n + z ** 2)
    center = (2 * n * p + z ** 2) / denominator
    half_width = z / denominator * math.sqrt(4 * n * p * (1 - p) + z ** 2)
    return (0.0 if k == 0 else float(center - half_width), 1.0 if k == n else float(center + half_width))


def rate(k, n):
    """{"k", "n", "rate", "wilson_95"} for k successes out of n."""
    low, high = wilson_interval(k, n)
    return {"k": int(k), "n": int(n), "rate": k / n if n else None, "wilson_95": [low, high]}


def fmt_rate(r):
    if not r["n"]:
        return "0/0"
    return f"{r['k']}/{r['n']} ({r['rate']:.1%}, 95% CI {r['wilson_95'][0]:.1%}-{r['wilson_95'][1]:.1%})"


def bootstrap(values, statistic="median", draws=2000, seed=12345, level=0.95):
    """{statistic, "ci_95": [low, high], "n"}: the median or mean of `values` with its percentile-bootstrap
    interval (fixed seed: reproducible); None for no values."""
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return None
    fn = {"median": np.median, "mean": np.mean}[statistic]
    rng = np.random.default_rng(seed)
    stats = fn(rng.choice(values, size=(draws, values.size)), axis=1)
    tail = (1 - level) / 2
    return {statistic: float(fn(values)), "ci_95": [float(np.quantile(stats, tail)),
                                                    float(np.quantile(stats, 1 - tail))],
            "n": int(values.size)}


def bootstrap_median(values, draws=2000, seed=12345, level=0.95):
    return bootstrap(values, "median", draws, seed, level)


def fmt_median(m):
    if m is None:
        return "n/a"
    return f"{m['median']:g} (95% CI {m['ci_95'][0]:g}-{m['ci_95'][1]:g})"


def quantiles(values, qs=(0.1, 0.25, 0.5, 0.75, 0.9)):
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return None
    return {f"q{int(q * 100):02d}": float(np.quantile(values, q)) for q in qs} | {
        "min": float(values.min()), "max": float(values.max()), "mean": float(values.mean())}


def monte_carlo_uniform_p(counts, probs=None, draws=100_000, seed=12345):
    """(chi2, p): the chi-square statistic of `counts` against a multinomial null (uniform by default) and
    its p-value estimated from `draws` simulated samples (fixed seed: the p-value is reproducible)."""
    counts = np.asarray(counts)
    n, k = counts.sum(), len(counts)
    probs = np.full(k, 1 / k) if probs is None else np.asarray(probs)
    expected = n * probs
    observed_stat = chi2_statistic(counts, expected)
    sim_stats = chi2_statistic(np.random.default_rng(seed).multinomial(n, probs, size=draws), expected)
    return float(observed_stat), float((1 + (sim_stats >= observed_stat - 1e-9).sum()) / (1 + draws))


def chi2_statistic(counts, expected):
    """Pearson's chi-square of counts (..., k) against expected counts (k,)."""
    return ((counts - expected) ** 2 / expected).sum(-1)


def cost_per_success(work, successes, draws=2000, seed=12345, level=0.95):
    """{"mean", "ci_95", "n", "successes"}: total work over all attempts divided by the number of successes,
    the expected cost of one success when failed attempts are paid for too, with a percentile-bootstrap
    interval over the units (resampled whole: work and outcome together). None when nothing succeeded."""
    work, successes = np.asarray(work, dtype=float), np.asarray(successes, dtype=bool)
    if work.shape != successes.shape:
        raise ValueError(f"work {work.shape} and successes {successes.shape} must have the same shape")
    if not successes.any():
        return None
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, work.size, size=(draws, work.size))
    wins = successes[pick].sum(1)
    ratios = work[pick].sum(1)[wins > 0] / wins[wins > 0]
    tail = (1 - level) / 2
    return {"mean": float(work.sum() / successes.sum()),
            "ci_95": [float(np.quantile(ratios, tail)), float(np.quantile(ratios, 1 - tail))],
            "n": int(work.size), "successes": int(successes.sum())}


def fmt_mean(m, unit=""):
    if m is None:
        return "n/a"
    return f"{m['mean']:.4g}{unit} (95% CI {m['ci_95'][0]:.4g}-{m['ci_95'][1]:.4g}{unit})"


def mcnemar_p(b, c):
    """Exact two-sided McNemar p-value for b and c discordant pairs (a binomial test of b against b + c, p = 1/2)."""
    if b + c == 0:
        return 1.0
    return float(_stats().binomtest(int(b), int(b + c), 0.5).pvalue)


def auc(scores, labels):
    """Area under the ROC curve: the probability that a random positive outranks a random negative (ties count
    1/2), i.e. the Mann-Whitney U of the positives over n_pos * n_neg. None without both classes."""
    scores, labels = np.asarray(scores, float), np.asarray(labels, bool)
    pos, neg = scores[labels], scores[~labels]
    if not len(pos) or not len(neg):
        return None
    return float(_stats().mannwhitneyu(pos, neg).statistic / (len(pos) * len(neg)))


def chi2_power(n, probs, null=None, alpha=0.05, draws=20000, seed=12345):
    """Power of the chi-square test of `null` (uniform by default) at level alpha, with n counts drawn from the
    alternative `probs`: the fraction of simulated samples the test rejects (critical value simulated too)."""
    probs = np.asarray(probs, float) / np.sum(probs)
    null = np.full(len(probs), 1 / len(probs)) if null is None else np.asarray(null, float)
    expected = n * null
    rng = np.random.default_rng(seed)
    critical = np.quantile(chi2_statistic(rng.multinomial(n, null, size=draws), expected), 1 - alpha)
    return float((chi2_statistic(rng.multinomial(n, probs, size=draws), expected) > critical).mean())


RECORD_KEYS = ("solved", "epochs", "solve_epoch", "accuracy", "n_distinct_codes", "first_epoch_n_minus_1_codes",
               "first_epoch_n_codes", "restarts")


def summarize_runs(runs):
    """A sweep's summary from its records (training_loop.SweepResult.records): the rate of networks that met the
    criterion at some epoch with its Wilson interval, how many still met it at the last epoch, the first-solve
    epochs (median with a bootstrap interval, mean, range), the medians of the first epochs with N - 1 and N
    codes, every epoch spent per solved network (failures and restarts paid), restarts, and the end states."""
    if isinstance(runs, (str, bytes, dict)) or not hasattr(runs, "__len__"):
        raise ValueError(f"runs must be a list of records (SweepResult.records), got {type(runs).__name__}")
    if not runs:
        raise ValueError("summarize needs at least one run")
    for r in runs:
        if not isinstance(r, dict) or not set(RECORD_KEYS) <= set(r):
            missing = sorted(set(RECORD_KEYS) - set(r)) if isinstance(r, dict) else RECORD_KEYS
            raise ValueError(f"each run must be a record (SweepResult.records) with {', '.join(missing)}")
    n = len(runs)
    ever = [r for r in runs if r["solve_epoch"] is not None]
    first = sorted(r["solve_epoch"] for r in ever)
    low, high = wilson_interval(len(ever), n)
    mean, median = bootstrap(first, "mean"), bootstrap_median(first)
    end_states, end_codes = {}, {}
    for r in runs:
        end_codes[str(r["n_distinct_codes"])] = end_codes.get(str(r["n_distinct_codes"]), 0) + 1
        if not r["solved"]:
            key = f"acc={r['accuracy']:.3f} codes={r['n_distinct_codes']}"
            end_states[key] = end_states.get(key, 0) + 1

    def median_of(key):
        return bootstrap_median([r[key] for r in runs if r[key] is not None])
    return {"n": n, "solved_ever": len(ever), "solve_rate": len(ever) / n, "wilson_95": [low, high],
            "solved_at_last_epoch": sum(r["solved"] for r in runs),
            "held_at_last_epoch": sum(r["solved"] for r in ever),
            "median_epochs": median["median"] if median else None,
            "median_epochs_ci_95": median["ci_95"] if median else None,
            "mean_epochs": mean["mean"] if mean else None, "mean_epochs_ci_95": mean["ci_95"] if mean else None,
            "min_epochs": first[0] if first else None, "max_epochs": first[-1] if first else None,
            "median_first_n_minus_1_codes": median_of("first_epoch_n_minus_1_codes"),
            "median_first_n_codes": median_of("first_epoch_n_codes"),
            "reached_n_codes": sum(r["first_epoch_n_codes"] is not None for r in runs),
            # every epoch spent, failed runs and restarts included, per network solved
            "epochs_per_solved_network": sum(r["epochs"] for r in runs) / len(ever) if ever else None,
            "restarts": sum(r["restarts"] for r in runs), "never_restarted": sum(r["restarts"] == 0 for r in runs),
            "end_codes": dict(sorted(end_codes.items(), key=lambda kv: int(kv[0]))), "unsolved_states": end_states,
            **({"completion": completion_summary(runs)} if all("completion" in r for r in runs) else {})}


def completion_summary(runs):
    """The networks' completion accuracies (a learner's `completion` field): their mean with a 95% bootstrap
    interval over networks, and their range."""
    values = [r["completion"] for r in runs]
    mean = bootstrap(values, "mean")
    return {"mean": mean["mean"], "ci_95": mean["ci_95"], "min": min(values), "max": max(values), "n": len(values)}


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


def pair_count_auc(scores, labels):
    """`auc` by counting pairs (positive above negative, ties 1/2) with a sorted search: the same number to the
    last bit (the count is a half-integer, exact in a float, divided as `auc` divides it), without scipy's
    per-call overhead, for the bootstrap's thousands of resamples."""
    pos, neg = scores[labels], np.sort(scores[~labels])
    if not len(pos) or not len(neg):
        return None
    below, not_above = np.searchsorted(neg, pos, "left"), np.searchsorted(neg, pos, "right")
    return float((below.sum() + 0.5 * (not_above - below).sum()) / (len(pos) * len(neg)))


def auc_interval(scores, labels, draws=2000, seed=12345):
    """AUC with a percentile-bootstrap 95% interval over networks."""
    scores, labels = np.asarray(scores, float), np.asarray(labels, bool)
    rng = np.random.default_rng(seed)
    values = [pair_count_auc(scores[i], labels[i]) for i in rng.integers(0, len(scores), (draws, len(scores)))]
    values = [v for v in values if v is not None]
    return {"auc": auc(scores, labels), "ci_95": [float(np.quantile(values, 0.025)), float(np.quantile(values, 0.975))],
            "n": int(len(scores)), "positives": int(labels.sum())}
