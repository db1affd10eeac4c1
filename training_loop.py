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
    batch.code_counts(), batch.solved(criterion, margin)   # optional: what the loop reads each epoch, computed
                                              # as the batch steps (code_counts and solved_in below)

`settings` maps a hyper-parameter name to a (S,) array, one value per network. A network's run depends only
on its seed and settings: a learner that draws random numbers gives each network its own stream
(`network_rng`), so a network's trajectory is the same alone, in any batch, or in any chunk.
"""
import functools
from dataclasses import dataclass

import numpy as np

import validation as check
from process_tuning import one_blas_thread
from settings import Settings, setting

# The mutation run (setup.cfg, docs/reliability.md) targets the criterion and the loop below; the shape, the
# bounds and the random streams above them are checked by their own tests.
# pragma: no mutate start
# Networks are processed in chunks of at most this many so that every temporary stays small (a (256, 8, 8)
# float64 array is 128 KiB): large temporaries are mmap-ed and page-faulted by malloc on every epoch, which costs
# more than the arithmetic. Chunking changes no number: each network's arithmetic is independent of the others.
CHUNK = 256
CHUNK_OUTPUTS = CHUNK * 64      # a chunk's (k, N, N) arrays hold at most this many numbers (or one network's)


def networks_per_chunk(shape, most=CHUNK):
    """How many networks of `shape` a chunk holds: `most` up to 8-3-8, fewer as N grows (one from 128-H-128 on)."""
    return max(1, min(most, CHUNK_OUTPUTS // shape.n_patterns ** 2))


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


MAX_BYTES = 8 << 30   # a third of this machine's memory: a run or sweep beyond it is refused before it starts


def check_memory(need, what, hint=""):
    """Raise ValueError, naming the figure, when `need` bytes are more than MAX_BYTES."""
    if need > MAX_BYTES:
        raise ValueError(f"{what} needs ~{need / 2 ** 30:,.1f} GiB, limit {MAX_BYTES >> 30} GiB{hint}")


def column_bytes(shape):
    """Per network, the result's columns (final parameters, codes, hidden activations, a few numbers)."""
    n, h = shape.n_patterns, shape.n_hidden
    return 8 * (shape.n_params + n * h + n) + 400


def record_bytes(shape):
    """Per network, the record the CLIs make of a result (a dict of Python numbers and lists: ~1.5 kB, 32 bytes a
    hidden activation, 64 a pattern) and the part of it its JSON copy repeats."""
    n, h = shape.n_patterns, shape.n_hidden
    return 1500 + n * (64 + 32 * h) + 1000 + n * (64 + 8 * h)


def sweep_bytes(spec, shape, settings, n_networks):
    """The memory a sweep of n_networks needs: the learner's stacks, temporaries and readout while it trains
    (spec.bytes_needed); then, those freed, the records and their JSON copy; the result's columns through both."""
    return n_networks * column_bytes(shape) + max(spec.bytes_needed(shape, settings, n_networks),
                                                  n_networks * record_bytes(shape))


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


def outputs_within(outputs, low=0.4, high=0.6):
    """Fahlman's (1988) criterion, (...,) bools: every output above `high` where its target is 1 and below `low`
    where it is 0 (outputs (..., N, N), targets the one-hot patterns)."""
    n = outputs.shape[-1]
    on = np.eye(n, dtype=bool)
    return np.where(on, outputs > high, outputs < low).all(axis=(-2, -1))


def fahlman_criterion(codes, outputs, hidden=None, margin=0.0):
    return outputs_within(outputs)


# name -> function(codes, outputs, hidden, margin) -> (...,) bools, read from a learner's readout. A new criterion
# is one entry here (and one line of help).
CRITERIA = {"strict": is_solved, "fahlman": fahlman_criterion,
            "sse": lambda codes, outputs, hidden=None, margin=0.0: ((outputs - np.eye(outputs.shape[-1])) ** 2).sum(
                axis=(-2, -1)) < 0.1,
            "within": lambda codes, outputs, hidden=None, margin=0.0: outputs_within(outputs, 0.1, 0.9)}
CRITERION_HELP = {"strict": "every pattern reconstructed (argmax) and N distinct hidden codes (default)",
                  "fahlman": "every output below 0.4 where its target is 0 and above 0.6 where it is 1 "
                             "(Fahlman 1988); says nothing about the codes",
                  "sse": "total sum-of-squares error over patterns and outputs below 0.1 (O'Reilly 1996); says "
                         "nothing about the codes",
                  "within": "every output within 0.1 of its target (Hinton & McClelland 1988); says nothing about "
                            "the codes"}


def solved_in(batch, criterion="strict", margin=0.0, codes=None):
    """The named criterion on a batch's current readout, (k,) bools (codes: batch.codes(), if the caller has them).
    A batch that evaluates criteria as it steps (the compiled backprop engine) answers with
    `batch.solved(criterion, margin)`, None for one it does not."""
    own = batch.solved(criterion, margin) if hasattr(batch, "solved") else None
    if own is not None:
        return own
    return CRITERIA[criterion](batch.codes() if codes is None else codes, batch.outputs, batch.hidden, margin)


def code_counts(batch, n_hidden):
    """The batch's codes (k, N), their number of distinct codes (k,) and whether they all share one corner (k,).
    A batch that counts as it steps (the compiled backprop engine) gives them with `batch.code_counts()`."""
    if hasattr(batch, "code_counts"):
        return batch.code_counts()
    codes = batch.codes()
    return codes, count_distinct(codes, n_hidden), (codes == codes[:, :1]).all(-1)


def per_network_values(settings, names, n):
    """{name: (n,) floats} from the per-network settings `fit` was given; ValueError naming what is missing."""
    missing = [name for name in names if name not in settings]
    if missing:
        raise ValueError(f"settings must give {', '.join(missing)}: one value per network")
    values = {name: np.asarray(settings[name], float) for name in names}
    if any(v.shape != (n,) for v in values.values()):
        raise ValueError(f"each of {', '.join(names)} must hold one number per network ({n})")
    return values


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
    end of the base-rate plateau; 0 = never shared one), plateau_corner (S,) that corner (-1 = never), and
    first_n_minus_1_codes, first_n_codes (S,) the first epoch with N - 1 and with N distinct codes (0 = never).
    """
    seeds, n_epochs = check.check_seeds(seeds), check.check_epochs(n_epochs)
    if not all(hasattr(learner, name) for name in ("start", "shape", "min_stop_epoch")):
        raise ValueError(f"learner must be a learner (learners.get(name).make(...)), got {type(learner).__name__}")
    if not hasattr(settings, "keys"):
        raise ValueError(f"settings must map each per-network setting to its values, got {type(settings).__name__}")
    S = len(seeds)
    batch = learner.start(seeds, settings)
    final = np.empty_like(batch.params)
    epochs = np.full(S, n_epochs)
    solve_epoch = np.zeros(S, dtype=int)
    margin_at_solve = np.full(S, np.nan)
    restart_epochs = [[] for _ in range(S)]
    plateau_end, plateau_corner = np.zeros(S, dtype=int), np.full(S, -1)
    n = learner.shape.n_patterns
    first_codes = np.zeros((S, 2), dtype=int)           # first epoch with N - 1 and with N distinct codes
    unseen = np.ones((S, 2), dtype=bool)                # per network in the batch: first_codes still 0
    rows = np.arange(S)
    best_codes, last_gain, last_codes = np.zeros(S, dtype=int), np.zeros(S, dtype=int), np.zeros(S, dtype=int)
    if criterion not in CRITERIA:
        raise ValueError(f"criterion must be one of {', '.join(CRITERIA)}, got {criterion!r}")
    if patience_from not in PATIENCE_CLOCKS:
        raise ValueError(f"patience_from must be one of {sorted(PATIENCE_CLOCKS)}, got {patience_from!r}")
    plateau_clock = patience_from == "plateau"
    attempt_start = np.zeros(S, dtype=int)
    n_hidden, min_stop = learner.shape.n_hidden, learner.min_stop_epoch
    restarting = patience is not None or restart_every is not None

    for epoch in range(1, n_epochs + 1):
        batch.step()
        codes_now, n_codes, on_one_corner = code_counts(batch, n_hidden)
        if on_one_corner.any():
            plateau_end[rows[on_one_corner]] = epoch + 1
            plateau_corner[rows[on_one_corner]] = codes_now[on_one_corner, 0]
        for column, threshold in enumerate((n - 1, n)):
            new = (n_codes >= threshold) & unseen[:, column]
            if new.any():
                first_codes[rows[new], column] = epoch
                unseen[new, column] = False
        if observer is not None:
            observer(epoch, rows, batch)
        if progress is not None:
            progress(epoch, len(rows))
        if epoch < min_stop and not restarting:
            continue

        solved = solved_in(batch, criterion, margin, codes_now) if epoch >= min_stop else np.zeros(len(rows), bool)
        any_solved = solved.any()
        if any_solved:
            first = solved & (solve_epoch[rows] == 0)
            solve_epoch[rows[first]] = epoch
            margin_at_solve[rows[first]] = code_margin_of(batch.hidden[first])

        if restarting:
            stale = np.zeros(len(rows), bool)
            if patience is not None:
                codes = n_codes
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
            stale &= ~solved
            stale = [i for i in np.flatnonzero(stale)
                     if max_restarts is None or len(restart_epochs[rows[i]]) < max_restarts] if stale.any() else []
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
            attempt_start, unseen = attempt_start[keep], unseen[keep]
            if len(rows) == 0:
                break

    final[rows] = batch.params
    return {"params": final, "epochs": epochs, "solve_epoch": solve_epoch, "margin_at_solve": margin_at_solve,
            "restart_epochs": restart_epochs, "plateau_end": plateau_end, "plateau_corner": plateau_corner,
            "first_n_minus_1_codes": first_codes[:, 0], "first_n_codes": first_codes[:, 1]}


# ------------------------------------------------------------------------------------------- the one sweep
def _optional_count(name):
    return lambda v: None if v is None else check.check_positive_int(v, name)


@dataclass(frozen=True)
class LoopSettings(Settings):
    """The training loop: the epoch cap, when to stop, the criterion and the restart rule."""
    epochs: int = setting(5000, "epoch cap, the total over restarts, >= 1", check.check_epochs)
    early_stop: bool = setting(True, "stop each network at its first solved epoch (else every network trains to "
                                     "the cap, so its end state says whether a solve held)")
    criterion: str = setting("strict", "what solved means: " + "; ".join(f"{k}: {v}" for k, v in CRITERION_HELP.items()),
                             lambda v: check.check_choice(v, CRITERIA, "criterion"))
    margin: float = setting(0.0, "also require every hidden activation at least M from 0.5 to count as solved, "
                                 "0 <= M < 0.5", check.check_margin, metavar="M")
    patience: int = setting(None, "restart a network (fresh weights from a stream derived from its seed) whose best "
                                  "distinct-code count has not improved for this many epochs",
                            _optional_count("patience"), metavar="EPOCHS")
    patience_from: str = setting("attempt", "when --patience runs: " + "; ".join(
        f"{k}: {v}" for k, v in PATIENCE_CLOCKS.items()), lambda v: check.check_choice(v, PATIENCE_CLOCKS,
                                                                                       "patience-from"))
    restart_every: int = setting(None, "restart a network whose current attempt has run this many epochs unsolved "
                                       "(a fixed budget per attempt, Fahlman's protocol)",
                                 _optional_count("restart-every"), metavar="EPOCHS")
    max_restarts: int = setting(None, "at most this many restarts per network, >= 0",
                                lambda v: None if v is None else check.check_count(v, "max-restarts"))
    restarts: bool = setting(True, "restart networks by --patience and --restart-every (off: never, whatever the "
                                   "learner's own patience)")

    def resolve(self):
        return {} if self.restarts else {"patience": None, "restart_every": None}

    @property
    def restarting(self):
        return self.patience is not None or self.restart_every is not None

    def fit_options(self):
        """The keyword arguments of `fit`."""
        return dict(criterion=self.criterion, margin=self.margin, early_stop=self.early_stop, patience=self.patience,
                    restart_every=self.restart_every, max_restarts=self.max_restarts,
                    patience_from=self.patience_from)


class Recorder:
    """What a study records during a sweep, per network, wherever the network trains (this process, a worker
    process, a Dask worker): a picklable description whose `fresh(n)` returns the recording for n networks.
    A recording's `observe(epoch, rows, batch)` runs every epoch with the networks still training (rows index
    the chunk's networks) and `columns()` returns {name: (n, ...) array}; the sweep concatenates the chunks'
    columns in seed order into SweepResult.recorded[recorder.name]. Subclasses set `name` and define both."""
    name = "recorder"

    def fresh(self, n):
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}({vars(self)})"


RESULT_COLUMNS = ("solved", "epochs", "solve_epoch", "accuracy", "n_distinct_codes", "code_margin", "margin_at_solve",
                  "plateau_end", "plateau_corner", "first_n_minus_1_codes", "first_n_codes", "codes", "hidden",
                  "params")


@dataclass
class SweepResult:
    """A sweep's results as columns, one row per network in input order: the seeds, the settings every network
    ran with, and (S, ...) arrays named in RESULT_COLUMNS; restart_epochs holds one list per network."""
    learner: str
    size: Shape
    settings: Settings
    loop: LoopSettings
    seeds: list
    columns: dict
    restart_epochs: list
    recorded: dict = None          # {recorder name: {column: (S, ...) array}} from the sweep's recorders

    def __len__(self):
        return len(self.seeds)

    def __getitem__(self, name):
        return self.columns[name]

    def config(self):
        """What was run: the learner, the size, every setting of the learner and the loop, the seeds."""
        return {"learner": self.learner, "size": str(self.size), "settings": self.settings.config(),
                "loop": self.loop.config(), "seeds": list(self.seeds)}

    def records(self, weights=False):
        """One plain dict per network (for JSON and the tables): the seed, the learner's per-network fields, the
        result, and with weights the final parameters as the learner names them."""
        from learners import get                    # the registry imports learner modules only when asked
        spec, c, weights = get(self.learner), self.columns, check.check_bool(weights, "weights")
        runs = []
        for i, seed in enumerate(self.seeds):
            at_solve = c["margin_at_solve"][i]
            run = {"seed": seed, "learner": self.learner, "size": str(self.size), **spec.run_fields(self, i),
                   "solved": bool(c["solved"][i]), "epochs": int(c["epochs"][i]),
                   "solve_epoch": int(c["solve_epoch"][i]) or None, "accuracy": float(c["accuracy"][i]),
                   "n_distinct_codes": int(c["n_distinct_codes"][i]), "code_margin": float(c["code_margin"][i]),
                   "margin_at_solve": None if np.isnan(at_solve) else float(at_solve),
                   "first_epoch_n_minus_1_codes": int(c["first_n_minus_1_codes"][i]) or None,
                   "first_epoch_n_codes": int(c["first_n_codes"][i]) or None,
                   "codes": c["codes"][i].tolist(), "hidden_codes": c["hidden"][i].tolist(),
                   "restarts": len(self.restart_epochs[i]), "restart_epochs": list(self.restart_epochs[i]),
                   "plateau_end": int(c["plateau_end"][i]), "plateau_corner": int(c["plateau_corner"][i])}
            if weights:
                run.update(spec.named_params(c["params"][i], self.size))
            runs.append(run)
        return runs

    @classmethod
    def concat(cls, parts, settings):
        first = parts[0]
        return cls(first.learner, first.size, settings, first.loop, [s for p in parts for s in p.seeds],
                   _concat([p.columns for p in parts]), [r for p in parts for r in p.restart_epochs],
                   {name: _concat([p.recorded[name] for p in parts]) for name in first.recorded})


def _concat(dicts):
    return {k: np.concatenate([d[k] for d in dicts]) for k in dicts[0]}


def learner_settings(spec, settings=None):
    """The learner's Settings: None gives its defaults, a mapping is checked name by name."""
    if settings is None:
        return spec.settings()
    if isinstance(settings, spec.settings):
        return settings
    if isinstance(settings, Settings):
        raise ValueError(f"{spec.name} takes {spec.settings.__name__}, got {type(settings).__name__}")
    return spec.settings.from_mapping(settings)


def loop_settings(spec, loop=None):
    """The loop's settings for this learner: its own defaults (e.g. CD-k's patience) under what was given."""
    if isinstance(loop, LoopSettings):
        given = loop
    elif loop is not None and not hasattr(loop, "keys"):
        raise ValueError(f"loop must be a LoopSettings or a mapping of its names, got {type(loop).__name__}")
    else:
        given = LoopSettings.from_mapping({**spec.loop_defaults, **(loop or {})})
    if given.restarting and not spec.can_restart:
        raise ValueError(f"{spec.name} cannot restart a network ({spec.title} has no restart rule): "
                         f"drop --patience and --restart-every")
    return given


@dataclass(frozen=True)
class CheckedRun:
    """A sweep's arguments after every check: the learner's spec, the seeds, the shape, the settings and loop
    settings with their defaults resolved, the per-network settings as (S,) arrays, and the learner itself."""
    spec: object
    seeds: list
    shape: Shape
    settings: Settings
    loop: "LoopSettings"
    per_network: dict
    learner: object


def check_run(learner, seeds, settings=None, loop=None, size=DEFAULT_SHAPE, recorders=()):
    """Everything a sweep checks before any work, in one place (the CLIs call it to refuse bad input before they
    print anything): the learner's name, the seeds, the size, every setting, the restart rule against the
    learner, the memory bound and the recorders' names. Returns a CheckedRun; ValueError otherwise."""
    from learners import get
    spec = get(learner)
    seeds, shape = check.check_seeds(seeds), parse_size(size)
    settings, loop = spec.sized(shape, learner_settings(spec, settings)), loop_settings(spec, loop)
    per_network = {name: settings.per_network(name, len(seeds)) for name in spec.per_network}
    made = spec.make(shape, settings, loop)                 # refuses a size or option the learner cannot take
    check_memory(sweep_bytes(spec, shape, settings, len(seeds)), f"this sweep of {len(seeds):,} network{'s' * (len(seeds) > 1)}",
                 ": split the seeds into smaller sweeps")
    if not hasattr(recorders, "__len__") or isinstance(recorders, Recorder) or \
            not all(isinstance(r, Recorder) for r in recorders):
        raise ValueError(f"recorders must be a sequence of training_loop.Recorder objects, got {recorders!r}")
    if len({r.name for r in recorders}) != len(recorders):
        raise ValueError("two recorders share a name")
    return CheckedRun(spec, seeds, shape, settings, loop, per_network, made)


def sweep(learner, seeds, settings=None, loop=None, *, size=DEFAULT_SHAPE, recorders=(), progress=None, observer=None,
          workers=1, executor=None, chunk_size=None):
    """Train one network per seed with a registered learner, all together; the only sweep in this project.

    learner: a name of the registry (learners.names()). settings: the learner's Settings (or a mapping of its
    names, or None for its defaults); per-network settings may hold one value per seed, so a grid x seeds is
    one call. loop: LoopSettings (or a mapping) over the learner's own loop defaults. Everything is checked,
    and the memory bound too, before any work (check_run). workers > 1 (local processes) or an executor (a
    concurrent.futures.Executor or a dask.distributed Client) trains chunks of chunk_size networks in parallel
    with the same results, bit for bit; then progress(None, n_left) is called as chunks go on (each second in a
    local pool or on a Dask cluster, parallel_map.map_chunks), and an observer
    (which runs in this process) cannot be used: recorders (Recorder) record per network wherever the networks
    train, and their columns are merged in seed order. Returns a SweepResult.
    """
    run = check_run(learner, seeds, settings, loop, size, recorders)
    workers, chunk_size = check.check_workers(workers), check.check_chunk_size(chunk_size)
    check.check_callable(observer, "observer")
    check.check_callable(progress, "progress")
    if executor is not None and not any(hasattr(executor, name) for name in ("submit", "get_executor")):
        raise ValueError(f"executor must be a concurrent.futures.Executor or a dask.distributed Client, got "
                         f"{type(executor).__name__}")
    if workers > 1 or executor is not None:
        if observer is not None:
            raise ValueError("an observer needs workers=1 and no executor: it must run in this process")
        from parallel_map import MIN_CHUNK, map_chunks
        workers = min(workers, -(-len(run.seeds) // (chunk_size or MIN_CHUNK)))     # no worker without a chunk
        items = list(zip(run.seeds, *run.per_network.values()))
        chunk = functools.partial(_sweep_chunk, learner, run.settings, run.loop, str(run.shape),
                                  tuple(run.per_network), tuple(recorders))
        chunk_progress = None if progress is None else (lambda done, total: progress(None, total - done))
        parts = map_chunks(chunk, items, workers=workers, executor=executor, chunk_size=chunk_size,
                           progress=chunk_progress)
        return SweepResult.concat(parts, run.settings)
    return _sweep_here(run, recorders, observer, progress)


def _sweep_chunk(learner, settings, loop, size, names, recorders, items, progress=None):
    """One chunk of a parallel sweep, in a worker: items are (seed, *per-network values) tuples; progress as in
    `fit` (on a Dask worker, it stops a cancelled chunk)."""
    seeds, *values = (list(column) for column in zip(*items))
    if names:
        settings = settings.replace(**{name: tuple(v) for name, v in zip(names, values)})
    return [sweep(learner, seeds, settings, loop, size=size, recorders=recorders, progress=progress)]


def _sweep_here(run, recorders, observer, progress):
    spec, seeds, shape, settings, loop, learner = run.spec, run.seeds, run.shape, run.settings, run.loop, run.learner
    recordings = {r.name: r.fresh(len(seeds)) for r in recorders}
    watchers = [r.observe for r in recordings.values()] + ([observer] if observer is not None else [])

    def observe(epoch, rows, batch):
        for watch in watchers:
            watch(epoch, rows, batch)
    with one_blas_thread():                                 # process_tuning: faster, the same numbers
        result = fit(learner, seeds, run.per_network, loop.epochs, observer=observe if watchers else None,
                     progress=progress, **loop.fit_options())
        codes, hidden, outputs = learner.readout(result["params"])
        extra = learner.final_columns(result["params"], seeds) if hasattr(learner, "final_columns") else {}
    columns = {"solved": CRITERIA[loop.criterion](codes, outputs, hidden, loop.margin),
               "accuracy": accuracy_of(outputs), "n_distinct_codes": count_distinct(codes, shape.n_hidden),
               "code_margin": code_margin_of(hidden), "codes": codes, "hidden": hidden,
               **{k: result[k] for k in ("params", "epochs", "solve_epoch", "margin_at_solve", "plateau_end",
                                         "plateau_corner", "first_n_minus_1_codes", "first_n_codes")}, **extra}
    return SweepResult(spec.name, shape, settings, loop, list(seeds), columns, result["restart_epochs"],
                       {name: recording.columns() for name, recording in recordings.items()})
