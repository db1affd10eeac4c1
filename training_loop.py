"""The one training loop of the project, the encoder's shape, and the solve criterion.

Every learner (backprop today; any learning rule that trains an N-H-N encoder) plugs into `fit` through a
small interface, so early stopping, restarts, the solve criterion, observers and progress are written once:

    learner.start(seeds, settings) -> batch   # a stack of networks, one per seed, attempt 0
    learner.min_stop_epoch                    # the first epoch at which a network may count as solved
    batch.step()                              # one update of every network, then refresh the readout
    batch.hidden   (k, N, H)                  # each pattern's hidden representation (for the code margin)
    batch.codes()  (k, N) ints                # each pattern's code: corner index of {0,1}^H, unit 1 = high bit
    batch.outputs  (k, N, N)                  # each pattern's reconstruction scores (argmax = reconstruction)
    batch.params   (k, P)                     # each network's parameters as one flat row
    batch.restart(rows, attempts)             # fresh parameters for these rows (attempt k of their seed)
    batch.keep(mask)                          # drop the networks where mask is False

`settings` maps a hyper-parameter name to a (S,) array, one value per network. A network's run depends only
on its seed and settings: a learner that draws random numbers gives each network its own stream
(`network_rng`), so a network's trajectory is the same alone, in any batch, or in any chunk.
"""
import functools
from dataclasses import dataclass

import numpy as np

# The mutation run (setup.cfg, docs/reliability.md) targets the criterion and the loop below; the shape, the
# bounds and the random streams above them are checked by their own tests.
# pragma: no mutate start
# Networks are processed in chunks of this many so that every temporary stays small (a (256, 8, 8) float64
# array is 128 KiB): large temporaries are mmap-ed and page-faulted by malloc on every epoch, which costs
# more than the arithmetic. Chunking changes no number: each network's arithmetic is independent of the others.
CHUNK = 256
MAX_PATTERNS = 4096
MAX_HIDDEN = 62          # a code is a corner index in a signed 64-bit integer


@dataclass(frozen=True)
class Shape:
    """An N-H-N encoder: N one-hot patterns through H hidden units back to N outputs."""
    n_patterns: int = 8
    n_hidden: int = 3

    def __post_init__(self):
        n, h = self.n_patterns, self.n_hidden
        if not (isinstance(n, (int, np.integer)) and isinstance(h, (int, np.integer))) or \
                isinstance(n, bool) or isinstance(h, bool):
            raise ValueError(f"encoder size needs integers N and H, got {n!r} and {h!r}")
        if not 2 <= n <= MAX_PATTERNS:
            raise ValueError(f"encoder size {self}: N must be in [2, {MAX_PATTERNS}]")
        if not 1 <= h < n or h > MAX_HIDDEN:
            raise ValueError(f"encoder size {self}: H must satisfy 1 <= H < N (and H <= {MAX_HIDDEN})")

    def __str__(self):
        return f"{self.n_patterns}-{self.n_hidden}-{self.n_patterns}"

    @property
    def n_params(self):
        n, h = self.n_patterns, self.n_hidden
        return 2 * n * h + h + n


DEFAULT_SHAPE = Shape()


def parse_size(spec):
    """'8-3-8' -> Shape(8, 3). A Shape passes through unchanged."""
    if isinstance(spec, Shape):
        return spec
    parts = str(spec).split("-")
    if len(parts) != 3 or not all(p.strip().isdigit() for p in parts):
        raise ValueError(f"bad size {spec!r}: expected N-H-N with integers, e.g. 8-3-8")
    n, h, n_out = (int(p) for p in parts)
    if n != n_out:
        raise ValueError(f"bad size {spec!r}: an encoder has as many outputs as inputs (N-H-N)")
    try:
        return Shape(n, h)
    except ValueError as err:
        raise ValueError(f"bad size {spec!r}: {str(err).split(': ', 1)[-1]}") from None


MAX_SWEEP_BYTES = 8 << 30   # a third of this machine's memory: a sweep beyond it is refused before it starts


def check_sweep_memory(n_networks, bytes_per_network, what="this sweep"):
    """Raise ValueError, naming the figure, when n_networks would need more than MAX_SWEEP_BYTES."""
    need = n_networks * bytes_per_network
    if need > MAX_SWEEP_BYTES:
        raise ValueError(f"{what} of {n_networks:,} networks would need about {need / 2 ** 30:.0f} GiB, more than "
                         f"the {MAX_SWEEP_BYTES >> 30} GiB bound: split the seeds into smaller sweeps")


def network_rng(seed, attempt=0):
    """The random stream of a network: attempt 0 is np.random.default_rng(seed); restart k >= 1 is the k-th
    child of np.random.SeedSequence(seed), i.e. SeedSequence(seed).spawn(k)[k - 1]."""
    if attempt == 0:
        return np.random.default_rng(seed)
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(attempt - 1,)))


# ------------------------------------------------------------------------------------------- codes & criterion
def read_only(array):
    """`array`, made read-only: for the small constant arrays that are cached and shared."""
    array.flags.writeable = False
    return array


@functools.lru_cache(maxsize=None)
def _code_bits(n_hidden):
    return read_only(np.left_shift(1, np.arange(n_hidden - 1, -1, -1)))


@functools.lru_cache(maxsize=None)
def _pattern_index(n):
    return read_only(np.arange(n))


# pragma: no mutate end
def corner_of(h, threshold=0.5):
    """Corner index of each pattern's binarised code (h > threshold), (..., n) from h (..., n, H); corner
    c = sum_j b_j 2^(H-1-j), so hidden unit 1 is the high bit (for H = 3: c = 4*b1 + 2*b2 + b3)."""
    h = np.asarray(h)
    return (h > threshold) @ _code_bits(h.shape[-1])


def count_distinct(codes, n_hidden=None):
    """Number of distinct codes per network, (...,) ints from codes (..., n) ints.

    With at most 32 corners (n_hidden <= 5) the codes are or-ed into a bit mask and its bits counted, which
    is the fast path of the loop; otherwise the codes are sorted and their changes counted."""
    codes = np.asarray(codes)
    if n_hidden is not None and n_hidden <= 5:
        return np.bitwise_count(_corner_mask(codes))
    ordered = np.sort(codes, axis=-1)
    return 1 + (np.diff(ordered, axis=-1) != 0).sum(-1)


def _corner_mask(codes):
    """Bit mask of the corners occupied, (...,) from codes (..., n) < 32."""
    return np.bitwise_or.reduce(np.left_shift(1, codes), axis=-1)


def distinct_codes_of(h, threshold=0.5):
    """Number of distinct binarised hidden codes (h > threshold), (...,) ints from h (..., n, H)."""
    h = np.asarray(h)
    return count_distinct(corner_of(h, threshold), h.shape[-1]).astype(int)


def reconstructs(outputs):
    """(...,) bools: every pattern's largest output is its own index (outputs (..., n, n))."""
    return (np.argmax(outputs, -1) == _pattern_index(outputs.shape[-2])).all(-1)


def accuracy_of(outputs, targets=None):
    """Fraction of patterns whose largest output is the right one, (...,) from outputs (..., n, N)."""
    want = np.arange(outputs.shape[-2]) if targets is None else np.argmax(targets, -1)
    return (np.argmax(outputs, -1) == want).mean(-1)


def code_margin_of(h):
    """Smallest |h - 0.5| over all hidden activations, (...,): how near a code bit is to flipping."""
    return np.abs(np.asarray(h) - 0.5).min(axis=(-2, -1))


def is_solved(codes, outputs, hidden=None, margin=0.0):
    """The strict criterion, the one definition used everywhere: (...,) bools.

    codes (..., N) corner indices, outputs (..., N, N) reconstruction scores, hidden (..., N, H) activations.
    Solved = N distinct codes, every pattern reconstructed (argmax), and, when margin > 0, every
    |hidden - 0.5| >= margin. Cheap tests go first: most networks at most epochs fail the code count."""
    n_hidden, n = None if hidden is None else hidden.shape[-1], codes.shape[-1]
    if n_hidden is not None and n == 1 << n_hidden and n_hidden <= 5:
        ok = _corner_mask(codes) == (1 << n) - 1         # every corner taken: the hot path of 8-3-8 and 4-2-4
    else:
        ok = count_distinct(codes, n_hidden) == n
    if ok.any():
        ok = ok & reconstructs(outputs)
    if margin > 0 and ok.any():
        ok = ok & (code_margin_of(hidden) >= margin)
    return ok


def strict_criterion(batch, margin=0.0):
    return is_solved(batch.codes(), batch.outputs, batch.hidden, margin)


def outputs_within(outputs, low=0.4, high=0.6):
    """Fahlman's (1988) criterion, (...,) bools: every output above `high` where its target is 1 and below `low`
    where it is 0 (outputs (..., N, N), targets the one-hot patterns)."""
    n = outputs.shape[-1]
    on = np.eye(n, dtype=bool)
    return np.where(on, outputs > high, outputs < low).all(axis=(-2, -1))


def fahlman_criterion(batch, margin=0.0):
    return outputs_within(batch.outputs)


# name -> function(batch, margin) -> (k,) bools. A new criterion is one entry here.
CRITERIA = {"strict": strict_criterion, "fahlman": fahlman_criterion}
CRITERION_HELP = {"strict": "every pattern reconstructed (argmax) and N distinct hidden codes (default)",
                  "fahlman": "every output below 0.4 where its target is 0 and above 0.6 where it is 1 "
                             "(Fahlman 1988); says nothing about the codes"}


def first_epoch_tracker(n, thresholds, n_hidden=None):
    """An observer for `fit` recording, per network, the first epoch its distinct-code count reached each
    threshold: returns ({threshold: (n,) ints, 0 = never}, observer)."""
    first = {t: np.zeros(n, dtype=int) for t in thresholds}

    def observe(epoch, rows, batch):
        codes = count_distinct(batch.codes(), n_hidden)
        for t, arr in first.items():
            new = (codes >= t) & (arr[rows] == 0)
            arr[rows[new]] = epoch
    return first, observe


# ------------------------------------------------------------------------------------------- the one loop
PATIENCE_CLOCKS = {"attempt": "patience runs from the attempt's start: its best code count is first set by the "
                              "random initial codes",
                   "plateau": "patience does not run while all codes share one corner; when they split, the best "
                              "code count starts afresh"}


def fit(learner, seeds, settings, n_epochs, *, criterion="strict", margin=0.0, early_stop=True, patience=None,
        restart_every=None, max_restarts=None, observer=None, progress=None, patience_from="attempt"):
    """Train one network per seed, all together as one stack: the only training loop in this project.

    Each epoch every network still training takes one update (`batch.step`). From the learner's
    min_stop_epoch on, a network that meets the criterion is recorded; with early_stop it stops there and
    leaves the batch. patience: restart a network whose best distinct-code count of the current attempt
    has not improved for this many epochs while unsolved (attempt k draws from `network_rng(seed, k)`);
    restart_every: restart a network whose current attempt has run this many epochs unsolved (a fixed budget
    per attempt, Fahlman's protocol); max_restarts: at most this many restarts per network. The epoch cap
    counts every attempt. patience_from (PATIENCE_CLOCKS): "attempt" (the published rule) or "plateau", which
    stops the patience clock while every code sits on one corner and restarts the best count when they split.
    observer(epoch, rows, batch): called every epoch with the networks still training (rows are their
    indices into `seeds`); progress(epoch, n_training): called every epoch.

    Returns a dict: params (S, P) final parameters, epochs (S,) last epoch run, solve_epoch (S,) first
    epoch >= min_stop_epoch the criterion held (0 = never), margin_at_solve (S,), restart_epochs (S lists),
    plateau_end (S,) the epoch after the last one at which all of the network's codes shared one corner (the
    end of the base-rate plateau; 0 = never shared one) and plateau_corner (S,) that corner (-1 = never).
    """
    solved_fn = CRITERIA[criterion]
    S = len(seeds)
    batch = learner.start(seeds, settings)
    final = np.empty_like(batch.params)
    epochs = np.full(S, n_epochs)
    solve_epoch = np.zeros(S, dtype=int)
    margin_at_solve = np.full(S, np.nan)
    restart_epochs = [[] for _ in range(S)]
    plateau_end, plateau_corner = np.zeros(S, dtype=int), np.full(S, -1)
    rows = np.arange(S)
    best_codes, last_gain, last_codes = np.zeros(S, dtype=int), np.zeros(S, dtype=int), np.zeros(S, dtype=int)
    if patience_from not in PATIENCE_CLOCKS:
        raise ValueError(f"patience_from must be one of {sorted(PATIENCE_CLOCKS)}, got {patience_from!r}")
    plateau_clock = patience_from == "plateau"
    attempt_start = np.zeros(S, dtype=int)
    n_hidden, min_stop = learner.shape.n_hidden, learner.min_stop_epoch
    restarting = patience is not None or restart_every is not None

    for epoch in range(1, n_epochs + 1):
        batch.step()
        codes_now = batch.codes()
        on_one_corner = (codes_now == codes_now[:, :1]).all(-1)
        if on_one_corner.any():
            plateau_end[rows[on_one_corner]] = epoch + 1
            plateau_corner[rows[on_one_corner]] = codes_now[on_one_corner, 0]
        if observer is not None:
            observer(epoch, rows, batch)
        if progress is not None:
            progress(epoch, len(rows))
        if epoch < min_stop and not restarting:
            continue

        solved = solved_fn(batch, margin) if epoch >= min_stop else np.zeros(len(rows), bool)
        any_solved = solved.any()
        if any_solved:
            first = solved & (solve_epoch[rows] == 0)
            solve_epoch[rows[first]] = epoch
            margin_at_solve[rows[first]] = code_margin_of(batch.hidden[first])

        if restarting:
            stale = np.zeros(len(rows), bool)
            if patience is not None:
                codes = count_distinct(batch.codes(), n_hidden)
                if plateau_clock:
                    split = (codes > 1) & (last_codes == 1)         # left the one shared corner: start afresh
                    best_codes[split] = 0
                    last_gain[codes == 1] = epoch                   # the clock stands still on the plateau
                    last_codes = codes
                gained = codes > best_codes
                best_codes[gained], last_gain[gained] = codes[gained], epoch
                stale |= epoch - last_gain >= patience
            if restart_every is not None:
                stale |= epoch - attempt_start >= restart_every
            stale = [i for i in np.flatnonzero(stale & ~solved)
                     if max_restarts is None or len(restart_epochs[rows[i]]) < max_restarts]
            if len(stale):
                attempts = []
                for i in stale:
                    restart_epochs[rows[i]].append(epoch)
                    attempts.append(len(restart_epochs[rows[i]]))
                stale = np.array(stale)
                batch.restart(stale, attempts)
                best_codes[stale], last_gain[stale], attempt_start[stale] = 0, epoch, epoch
                last_codes[stale] = 0

        if early_stop and any_solved:
            final[rows[solved]] = batch.params[solved]
            epochs[rows[solved]] = epoch
            keep = ~solved
            batch.keep(keep)
            rows, best_codes, last_gain, last_codes = rows[keep], best_codes[keep], last_gain[keep], last_codes[keep]
            attempt_start = attempt_start[keep]
            if len(rows) == 0:
                break

    final[rows] = batch.params
    return {"params": final, "epochs": epochs, "solve_epoch": solve_epoch, "margin_at_solve": margin_at_solve,
            "restart_epochs": restart_epochs, "plateau_end": plateau_end, "plateau_corner": plateau_corner}
