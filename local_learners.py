"""The deterministic, local learning rules of the N-H-N encoder, each a learner of the project's one training loop,
registered in LEARNERS for the one sweep (training_loop.sweep). No sampling: two settled (or passed) phases and a
weight change made of the activities on either side of each weight.

    chl, generec, generec-mid, generec-sym   O'Reilly (1996): input -> hidden <-> output, 0-to-1 sigmoid units.
        Settling integrates the net input, d(eta)/dt = -eta + sum w a, with dt 0.2 from zero activations until the
        largest activation change (before multiplying by dt) is below 0.01. Minus phase: input clamped, output
        free; plus phase: output clamped to the target too. Per weight (i sender, j receiver), dw / lr =
            chl          a_i+ a_j+ - a_i- a_j-
            generec      a_i- (a_j+ - a_j-)
            generec-mid  (a_i- + a_i+) / 2 (a_j+ - a_j-)
            generec-sym  a_i- (a_j+ - a_j-) + a_j- (a_i+ - a_i-)
        A bias is a weight from an always-on unit. GeneRec activations are bounded to [0.05, 0.95].
    recirculation   Hinton & McClelland (1988): a visible <-> hidden loop; y0 the data, y1 hidden, y2 = lam y0 +
        (1 - lam) s(x2) the visible reconstruction, y3 = lam y1 + (1 - lam) s(x3) the hidden again; hidden ->
        visible dw = lr y1 (y0 - y2), visible -> hidden dw = lr y2 (y1 - y3); one batch update per sweep.
    mean-field   deterministic Boltzmann learning (Hinton 1989): mean-field units p = s(sum w p / T) settled by
        synchronous discrete steps of dp/dt = -p + s(...), each settling starting from the state the same
        clamping reached on the previous sweep; dw = lr (p+ p+ - p- p-) on symmetric weights, then a small decay.

An epoch is one sweep of the N patterns: `update` "pattern" changes the weights after each pattern, in a fresh
random order per epoch drawn from the network's own stream (O'Reilly), "batch" once per epoch with the sum of
the N patterns' changes. Readout: codes = corner_of(minus-phase hidden activations), outputs = minus-phase
outputs (recirculation: the hidden pass and the reconstruction without regression; mean-field: V1 clamped).
Every network draws from network_rng(seed, attempt), and a settling row stops (is frozen) at its own
convergence, so a network's run is the same alone or in any batch.

Two engines run the same rules (the setting `engine`): "numpy", the readable reference in this file, and
"compiled", compiled_local_kernels.py (numba, imported only when it runs), which runs a whole epoch of every
network in one call. They agree to rounding (tests/test_compiled_local.py; docs/local_rules.md measures their solve
epochs seed by seed).
"""
from dataclasses import dataclass

import numpy as np

import validation as check
from learners import LearnerSpec
from settings import Settings, setting
from training_loop import corner_of, network_rng, parse_size, per_network_values

SETTLING_RULES = ("chl", "generec", "generec-mid", "generec-sym")
ENGINES = ("compiled", "numpy")
TABLE5_LR = {"chl": 1.20, "generec": 0.60, "generec-mid": 2.40, "generec-sym": 1.40}    # O'Reilly 1996, 4-2-4
MAX_STEPS = 100_000


def sigmoid(x):
    return 1 / (1 + np.exp(-np.clip(x, -50, 50)))


def T(a):
    """The last two axes swapped: (S, R, K) -> (S, K, R), so T(a) @ b sums a_i b_j over the R rows."""
    return np.swapaxes(a, -1, -2)


def split_params(params, sizes, shapes):
    """Views of the flat rows params (S, P) as arrays (S, *shape), in order."""
    parts = np.split(params, np.cumsum(sizes)[:-1], axis=-1)
    return [p.reshape(params.shape[:-1] + s) for p, s in zip(parts, shapes)]


def uniform_or_zero(rng, r, shape, random):
    return rng.uniform(-r, r, shape) if random else np.zeros(shape)


def draw_orders(streams, n, protocol):
    """(S, N) pattern orders, a fresh permutation from each network's stream ("pattern"), or None ("batch")."""
    if protocol == "batch":
        return None
    return np.stack([rng.permutation(n) for rng in streams])


def run_kernel(name, shape, params, lr, orders, train, *constants):
    """Run compiled_local_kernels.<name> (imported now: numba takes about a second to import) on params (S, P) in
    place: an epoch (train) with the orders (S, N) (None: the batch protocol), or only the readout. Returns the
    readout, hidden (S, N, H) and outputs (S, N, N)."""
    import compiled_local_kernels as kernels
    S, n = len(params), shape.n_patterns
    hidden, outputs = np.empty((S, n, shape.n_hidden)), np.empty((S, n, n))
    orders_in = np.zeros((0, 0), np.int64) if orders is None else np.ascontiguousarray(orders, np.int64)
    getattr(kernels, name)(kernels.lanes_for(S), params, lr, orders_in, train, orders is None, *constants, hidden,
                           outputs)
    return hidden, outputs


def pattern_rows(orders, t, n):
    """The one-hot rows (S, 1, N) of the pattern each network presents at position t of its order."""
    return np.eye(n)[orders[:, t]][:, None, :]


# ----------------------------------------------------------------------- O'Reilly's network: input -> hidden <-> output
def settling_unpack(params, shape):
    """W_ih (S, N, H), b_h (S, H), W_ho (S, H, N), b_o (S, N), W_oh (S, N, H): views of params (S, P)."""
    n, h = shape.n_patterns, shape.n_hidden
    return split_params(params, [n * h, h, h * n, n, n * h], [(n, h), (h,), (h, n), (n,), (n, h)])


def settling_n_params(shape):
    n, h = shape.n_patterns, shape.n_hidden
    return 3 * n * h + h + n


def activation(eta, bound, bounding="clip"):
    """s(eta) bounded to [bound, 1 - bound]: clipped ("clip"), or squashed into it, bound + (1 - 2 bound) s(eta)."""
    a = sigmoid(eta)
    if bound == 0:
        return a
    return np.clip(a, bound, 1 - bound) if bounding == "clip" else bound + (1 - 2 * bound) * a


def settle(drive_h, W_oh, W_ho, b_o, start, clamped_out, c):
    """Settle rows of networks: drive_h (S, R, H) the hidden units' input from the clamped input and their bias;
    start = (eta_h, a_h, eta_o, a_o), (S, R, H) and (S, R, N); clamped_out (S, R, N) in the plus phase, None in
    the minus phase. Synchronous Euler steps of d(eta)/dt = -eta + net; a row is frozen once its largest
    activation change divided by dt is below the tolerance, or after max_steps. Returns the settled state and
    the steps each row took (S, R)."""
    eta_h, a_h, eta_o, a_o = start
    if clamped_out is not None:
        a_o = clamped_out
    active = np.ones(a_h.shape[:-1], bool)
    steps = np.zeros(a_h.shape[:-1], int)
    for _ in range(c.max_steps):
        new_eta_h = eta_h + c.dt * (drive_h + a_o @ W_oh - eta_h)
        new_a_h = activation(new_eta_h, c.bound, c.bounding)
        change = np.abs(new_a_h - a_h).max(-1)
        go = active[..., None]
        if clamped_out is None:
            new_eta_o = eta_o + c.dt * (a_h @ W_ho + b_o[:, None, :] - eta_o)
            new_a_o = activation(new_eta_o, c.bound, c.bounding)
            change = np.maximum(change, np.abs(new_a_o - a_o).max(-1))
            eta_o, a_o = np.where(go, new_eta_o, eta_o), np.where(go, new_a_o, a_o)
        eta_h, a_h = np.where(go, new_eta_h, eta_h), np.where(go, new_a_h, a_h)
        steps += active
        active &= change / c.dt >= c.tolerance
        if not active.any():
            break
    return (eta_h, a_h, eta_o, a_o), steps


def _checked(shape, settings, cls):
    """(Shape, settings) of a learner's constructor: a size spec or Shape, and an object of its Settings class."""
    if not isinstance(settings, cls):
        raise ValueError(f"settings must be a {cls.__name__}, got {type(settings).__name__}")
    return parse_size(shape), settings


def zero_state(S, R, shape):
    """Net inputs and activations all zero ("initial activation values were set to 0")."""
    h, n = np.zeros((S, R, shape.n_hidden)), np.zeros((S, R, shape.n_patterns))
    return h, h, n, n


def settling_phases(params, x, c):
    """The minus and the plus phase of inputs x (S, R, N): two settled states. The plus phase clamps the outputs to
    the targets (the inputs), 0/1 or (targets "bounded") b/1 - b."""
    W_ih, b_h, W_ho, b_o, W_oh = settling_unpack(params, c.shape)
    drive_h = x @ W_ih + b_h[:, None, :]
    S, R = x.shape[:2]
    minus, _ = settle(drive_h, W_oh, W_ho, b_o, zero_state(S, R, c.shape), None, c)
    plus_start = minus if c.plus_start == "minus" else zero_state(S, R, c.shape)
    plus, _ = settle(drive_h, W_oh, W_ho, b_o, plus_start, c.clamped_targets(x), c)
    return minus, plus


def rule_changes(rule, x, h_minus, o_minus, h_plus, o_plus):
    """dW / lr of (W_ih, b_h, W_ho, b_o, W_oh), summed over the R rows presented. The input is clamped in both
    phases and a bias's sender is always on, so all four rules give x (h+ - h-) and (a+ - a-) there; they differ
    on the hidden <-> output weights."""
    dh, do = h_plus - h_minus, o_plus - o_minus
    if rule == "chl":
        d_ho = T(h_plus) @ o_plus - T(h_minus) @ o_minus
        d_oh = T(d_ho)
    elif rule == "generec":
        d_ho, d_oh = T(h_minus) @ do, T(o_minus) @ dh
    elif rule == "generec-mid":
        d_ho, d_oh = T((h_minus + h_plus) / 2) @ do, T((o_minus + o_plus) / 2) @ dh
    elif rule == "generec-sym":
        d_ho = T(h_minus) @ do + T(dh) @ o_minus
        d_oh = T(d_ho)
    else:
        raise ValueError(f"unknown settling rule {rule!r}")
    return T(x) @ dh, dh.sum(-2), d_ho, do.sum(-2), d_oh


def flat(changes):
    """The changes (S, ...) each, as flat rows (S, P) in the parameters' order."""
    return np.concatenate([d.reshape(len(d), -1) for d in changes], axis=1)


class SettlingLearner:
    """O'Reilly's network and a rule of SETTLING_RULES as a learner of training_loop.fit."""
    min_stop_epoch = 1

    def __init__(self, shape, rule, settings):
        rule = check.check_choice(rule, SETTLING_RULES, "rule")
        shape, s = _checked(shape, settings, SETTLING_SETTINGS[rule])
        self.shape, self.rule, self.settings = shape, rule, s
        self.dt, self.tolerance, self.max_steps, self.bound = s.dt, s.tolerance, s.max_steps, s.bound
        self.plus_start, self.update, self.bounding = s.plus_start, s.update, s.bounding
        self.during, self.compiled = s.readout == "during", s.engine == "compiled"
        self.target_low = s.bound if s.targets == "bounded" else 0.0

    def clamped_targets(self, x):
        """What the plus phase clamps the outputs to for targets x: x, or with bounded targets b + (1 - 2b) x."""
        return x if self.target_low == 0 else self.target_low + (1 - 2 * self.target_low) * x

    def init(self, rng):
        """Fresh parameters (P,): W_ih, b_h, W_ho, b_o, then W_oh (= W_ho transposed when symmetric_init)."""
        s, n, h = self.settings, self.shape.n_patterns, self.shape.n_hidden
        r, random_bias = s.init_range, s.bias_init == "random"
        W_ih = rng.uniform(-r, r, (n, h))
        b_h = uniform_or_zero(rng, r, h, random_bias)
        W_ho = rng.uniform(-r, r, (h, n))
        b_o = uniform_or_zero(rng, r, n, random_bias)
        W_oh = W_ho.T.copy() if s.symmetric_init else rng.uniform(-r, r, (n, h))
        return np.concatenate([W_ih.ravel(), b_h, W_ho.ravel(), b_o, W_oh.ravel()])

    def new_state(self, n_networks):
        return {}

    def run_compiled(self, params, lr, orders, train):
        return run_kernel("settling_run", self.shape, params, lr, orders, train, SETTLING_RULES.index(self.rule),
                          self.shape.n_patterns, self.shape.n_hidden, self.dt, self.tolerance, self.max_steps,
                          self.bound, self.bounding == "squash", self.plus_start == "minus", self.during,
                          self.target_low)

    def train_epoch(self, params, lr, orders, state):
        """One sweep of the N patterns, params (S, P) changed in place; returns what the criterion reads after it,
        hidden (S, N, H) and outputs (S, N, N): a fresh minus phase of each pattern, or with the "during" readout
        the minus phases seen during the sweep."""
        S, n = len(params), self.shape.n_patterns
        if self.compiled:
            return self.run_compiled(params, lr, orders, True)
        if orders is None:
            x = np.broadcast_to(np.eye(n), (S, n, n))
            (_, h_minus, _, o_minus), (_, h_plus, _, o_plus) = settling_phases(params, x, self)
            params += lr[:, None] * flat(rule_changes(self.rule, x, h_minus, o_minus, h_plus, o_plus))
            seen_h, seen_o = h_minus, o_minus
        else:
            seen_h, seen_o = np.empty((S, n, self.shape.n_hidden)), np.empty((S, n, n))
            rows = np.arange(S)
            for t in range(n):
                x = pattern_rows(orders, t, n)
                (_, h_minus, _, o_minus), (_, h_plus, _, o_plus) = settling_phases(params, x, self)
                seen_h[rows, orders[:, t]], seen_o[rows, orders[:, t]] = h_minus[:, 0], o_minus[:, 0]
                params += lr[:, None] * flat(rule_changes(self.rule, x, h_minus, o_minus, h_plus, o_plus))
        return (seen_h, seen_o) if self.during else self.readout(params)[1:]

    def readout(self, params):
        """codes (S, N), hidden (S, N, H), outputs (S, N, N): a fresh minus phase of every pattern."""
        S, n = len(params), self.shape.n_patterns
        if self.compiled:
            hidden, outputs = self.run_compiled(np.ascontiguousarray(params), np.zeros(S), None, False)
            return corner_of(hidden), hidden, outputs
        W_ih, b_h, W_ho, b_o, W_oh = settling_unpack(params, self.shape)
        x = np.broadcast_to(np.eye(n), (S, n, n))
        (_, h, _, o), _ = settle(x @ W_ih + b_h[:, None, :], W_oh, W_ho, b_o, zero_state(S, n, self.shape), None,
                                 self)
        return corner_of(h), h, o

    def start(self, seeds, settings):
        return LocalBatch(self, seeds, settings)


# ----------------------------------------------------------------------------------- recirculation (H & M 1988)
def recirculation_unpack(params, shape):
    """W_vh (S, N, H), b_h (S, H), W_hv (S, H, N), b_v (S, N): views of params (S, P)."""
    n, h = shape.n_patterns, shape.n_hidden
    return split_params(params, [n * h, h, h * n, n], [(n, h), (h,), (h, n), (n,)])


def recirculation_passes(params, y0, regression, shape):
    """The four passes around the loop, y0 (S, R, N): y1 (S, R, H), y2 (S, R, N), y3 (S, R, H)."""
    W_vh, b_h, W_hv, b_v = recirculation_unpack(params, shape)
    y1 = sigmoid(y0 @ W_vh + b_h[:, None, :])
    y2 = regression * y0 + (1 - regression) * sigmoid(y1 @ W_hv + b_v[:, None, :])
    y3 = regression * y1 + (1 - regression) * sigmoid(y2 @ W_vh + b_h[:, None, :])
    return y1, y2, y3


def recirculation_changes(y0, y1, y2, y3):
    """dW / lr of (W_vh, b_h, W_hv, b_v) summed over the rows: visible -> hidden y2 (y1 - y3), hidden -> visible
    y1 (y0 - y2); a threshold is a weight from an always-on unit."""
    return T(y2) @ (y1 - y3), (y1 - y3).sum(-2), T(y1) @ (y0 - y2), (y0 - y2).sum(-2)


class Recirculation:
    """Hinton & McClelland's (1988) recirculation as a learner of training_loop.fit."""
    min_stop_epoch = 1

    def __init__(self, shape, settings):
        shape, settings = _checked(shape, settings, RecirculationSettings)
        self.shape, self.settings, self.update = shape, settings, settings.update
        self.compiled = settings.engine == "compiled"

    def init(self, rng):
        """Fresh parameters (P,): W_vh, b_h, W_hv, b_v, each U(-r, r) (biases zero with bias_init zero)."""
        s, n, h = self.settings, self.shape.n_patterns, self.shape.n_hidden
        r, random_bias = s.init_range, s.bias_init == "random"
        return np.concatenate([rng.uniform(-r, r, n * h), uniform_or_zero(rng, r, h, random_bias),
                               rng.uniform(-r, r, h * n), uniform_or_zero(rng, r, n, random_bias)])

    def new_state(self, n_networks):
        return {}

    def run_compiled(self, params, lr, orders, train):
        return run_kernel("recirculation_run", self.shape, params, lr, orders, train, self.shape.n_patterns,
                          self.shape.n_hidden, self.settings.regression)

    def train_epoch(self, params, lr, orders, state):
        """One sweep, params (S, P) changed in place; returns the readout's hidden and outputs after it."""
        if self.compiled:
            return self.run_compiled(params, lr, orders, True)
        S, n = len(params), self.shape.n_patterns
        lam = self.settings.regression
        batches = [np.broadcast_to(np.eye(n), (S, n, n))] if orders is None else \
            [pattern_rows(orders, t, n) for t in range(n)]
        for y0 in batches:
            y1, y2, y3 = recirculation_passes(params, y0, lam, self.shape)
            params += lr[:, None] * flat(recirculation_changes(y0, y1, y2, y3))
        return self.readout(params)[1:]

    def readout(self, params):
        """codes (S, N), hidden y1 (S, N, H), the reconstruction with regression 0 (S, N, N)."""
        n = self.shape.n_patterns
        if self.compiled:
            hidden, outputs = self.run_compiled(np.ascontiguousarray(params), np.zeros(len(params)), None, False)
            return corner_of(hidden), hidden, outputs
        W_vh, b_h, W_hv, b_v = recirculation_unpack(params, self.shape)
        y1 = sigmoid(np.eye(n) @ W_vh + b_h[:, None, :])
        return corner_of(y1), y1, sigmoid(y1 @ W_hv + b_v[:, None, :])

    def start(self, seeds, settings):
        return LocalBatch(self, seeds, settings)


# ----------------------------------------------------------------------------- deterministic Boltzmann (Hinton 1989)
class MeanFieldLayout:
    """Units: V1 (the input) 0..N-1, V2 (the output) N..2N-1, H 2N..2N+H-1, then the always-on unit. network
    "hinton89": V1 -> H <-> V2, minus phase V1 clamped; "ahs85": V1 <-> H <-> V2 with each visible group connected
    inside (the 1985 encoder), minus phase fully free. mask (U, U) marks the weights that exist; links (K, 2) lists
    them."""

    def __init__(self, shape, network):
        n, h = shape.n_patterns, shape.n_hidden
        self.shape, self.network, self.n_units = shape, network, 2 * n + h + 1
        self.v1, self.v2, self.hid = np.arange(n), np.arange(n, 2 * n), np.arange(2 * n, 2 * n + h)
        self.true_unit = 2 * n + h
        mask = np.zeros((self.n_units, self.n_units), bool)
        links = [(self.v1, self.hid), (self.v2, self.hid), (self.true_unit, self.hid), (self.true_unit, self.v2)]
        if network == "ahs85":
            links += [(self.v1, self.v1), (self.v2, self.v2), (self.true_unit, self.v1)]
        for a, b in links:
            mask[np.ix_(np.atleast_1d(a), np.atleast_1d(b))] = True
            mask[np.ix_(np.atleast_1d(b), np.atleast_1d(a))] = True
        np.fill_diagonal(mask, False)
        self.mask, self.links = mask, np.argwhere(mask)
        self.plus_free = np.isin(np.arange(self.n_units), self.hid)
        minus_free = np.concatenate([self.hid, self.v2]) if network == "hinton89" else np.arange(self.true_unit)
        self.minus_free = np.isin(np.arange(self.n_units), minus_free)
        self.readout_free = np.isin(np.arange(self.n_units), np.concatenate([self.hid, self.v2]))   # V1 clamped
        self.minus_rows = shape.n_patterns if network == "hinton89" else 1     # one free state: no clamping

    def clamp(self, p, patterns, free):
        """p (S, R, U) with the true unit on and the units that are not free set to pattern rows (S, R, N) on V1
        and V2 (a free unit keeps its value)."""
        p = p.copy()
        p[..., self.true_unit] = 1.0
        for group in (self.v1, self.v2):
            keep = free[group]
            p[..., group] = np.where(keep, p[..., group], patterns)
        return p


def mean_field_settle(W, p, free, c):
    """Settle rows p (S, R, U) in place of the free units (U,) bool: synchronous steps p += dt (s(p W / T) - p);
    a row is frozen once max |s(p W / T) - p| over its free units (the change before multiplying by dt) is below
    the tolerance, or after max_steps. W (S, U, U) is symmetric, so p W is each unit's net input."""
    active = np.ones(p.shape[:-1], bool)
    for _ in range(c.max_steps):
        change = np.where(free, sigmoid((p @ W) / c.temperature) - p, 0.0)
        p += np.where(active[..., None], c.dt * change, 0.0)
        active &= np.abs(change).max(-1) >= c.tolerance
        if not active.any():
            break
    return p


def unit_range(free):
    """(first, end) of the free units (U,) bool, which the layout keeps in one range, as the kernels take them."""
    first, end = np.flatnonzero(free)[[0, -1]] + (0, 1)
    assert free[first:end].all(), "the free units are not one range"
    return int(first), int(end)


def coactivity(p):
    """sum over the rows of p_i p_j, (S, U, U) from p (S, R, U)."""
    return T(p) @ p


class MeanField:
    """Deterministic Boltzmann learning as a learner of training_loop.fit."""
    min_stop_epoch = 1

    def __init__(self, shape, settings):
        shape, s = _checked(shape, settings, MeanFieldSettings)
        self.shape, self.settings, self.update = shape, s, s.update
        self.layout = MeanFieldLayout(shape, s.network)
        self.dt, self.tolerance, self.max_steps, self.temperature = s.dt, s.tolerance, s.max_steps, s.temperature
        self.compiled = s.engine == "compiled"

    def init(self, rng):
        """Fresh symmetric weights (U * U,): U(-r, r) on the existing links (biases zero with bias_init zero)."""
        s, lay = self.settings, self.layout
        A = np.triu(rng.uniform(-s.init_range, s.init_range, (lay.n_units, lay.n_units)), 1)
        W = (A + A.T) * lay.mask
        if s.bias_init == "zero":
            W[lay.true_unit, :] = W[:, lay.true_unit] = 0.0
        return W.ravel()

    def weights(self, params):
        n = self.layout.n_units
        return params.reshape(len(params), n, n)

    def new_state(self, n_networks):
        """The state each clamping settled to on the previous sweep, all free units starting at `start`."""
        lay, n = self.layout, self.shape.n_patterns
        fresh = np.full((n_networks, n, lay.n_units), self.settings.start)
        return {"plus": fresh, "minus": fresh[:, :lay.minus_rows].copy()}

    def run_compiled(self, params, lr, orders, train, state):
        lay, S = self.layout, len(params)
        kept = [state[k].reshape(S, -1) for k in ("plus", "minus")] if train else [np.zeros((S, 0))] * 2
        free = [unit_range(f) for f in (lay.plus_free, lay.minus_free, lay.readout_free)]
        return run_kernel("mean_field_run", self.shape, params, lr, orders, train, *kept, lay.mask, lay.links, *free,
                          self.shape.n_patterns, self.shape.n_hidden, self.temperature, self.dt, self.tolerance,
                          self.max_steps, 1 - self.settings.decay, self.settings.start)

    def train_epoch(self, params, lr, orders, state):
        """One sweep, params (S, P) and the kept states changed in place; returns the readout's hidden and outputs
        after it."""
        if self.compiled:
            return self.run_compiled(params, lr, orders, True, state)
        lay, S, n = self.layout, len(params), self.shape.n_patterns
        W = self.weights(params)
        rows = np.arange(S)
        if orders is None:
            steps = [(np.broadcast_to(np.eye(n), (S, n, n)), slice(None), slice(None))]
        else:
            steps = [(pattern_rows(orders, t, n), (rows, orders[:, t]),
                      (rows, orders[:, t] if lay.minus_rows == n else 0)) for t in range(n)]
        for patterns, plus_at, minus_at in steps:
            plus = mean_field_settle(W, lay.clamp(state["plus"][plus_at].reshape(S, -1, lay.n_units), patterns,
                                                  lay.plus_free), lay.plus_free, self)
            minus_patterns = patterns if lay.minus_rows == n else patterns[:, :1]
            minus = mean_field_settle(W, lay.clamp(state["minus"][minus_at].reshape(S, -1, lay.n_units),
                                                   minus_patterns, lay.minus_free), lay.minus_free, self)
            state["plus"][plus_at] = plus.reshape(state["plus"][plus_at].shape)
            state["minus"][minus_at] = minus.reshape(state["minus"][minus_at].shape)
            weight = patterns.shape[1] / minus.shape[1]          # one free state stands for every pattern
            change = coactivity(plus) - weight * coactivity(minus)
            W += lr[:, None, None] * np.where(lay.mask, change, 0.0)
            W *= 1 - self.settings.decay
        return self.readout(params)[1:]

    def readout(self, params):
        """codes (S, N), hidden (S, N, H), V2 (S, N, N): V1 clamped to each pattern, H and V2 settled from `start`."""
        lay, S, n = self.layout, len(params), self.shape.n_patterns
        if self.compiled:
            hidden, outputs = self.run_compiled(np.ascontiguousarray(params), np.zeros(S), None, False, None)
            return corner_of(hidden), hidden, outputs
        p = lay.clamp(np.full((S, n, lay.n_units), self.settings.start), np.eye(n), lay.readout_free)
        p = mean_field_settle(self.weights(params), p, lay.readout_free, self)
        return corner_of(p[..., lay.hid]), p[..., lay.hid], p[..., lay.v2]

    def start(self, seeds, settings):
        return LocalBatch(self, seeds, settings)


# ------------------------------------------------------------------------------------------------- the batch
class LocalBatch:
    """S networks of one learner, each with its own stream (its initial weights, then one pattern order per
    epoch under the pattern protocol); `state` holds what a learner keeps between sweeps, (S, ...) arrays."""

    def __init__(self, learner, seeds, settings):
        self.learner, self.shape = learner, learner.shape
        self.seeds, self.lr = np.asarray(seeds, np.int64), per_network_values(settings, ("lr",), len(seeds))["lr"]
        self.streams = [network_rng(int(s)) for s in self.seeds]
        self.params = np.stack([learner.init(rng) for rng in self.streams])
        self.state = learner.new_state(len(self.seeds))
        self.code_index, self.hidden, self.outputs = learner.readout(self.params)

    def codes(self):
        return self.code_index

    def step(self):
        """One epoch of every network, then its readout."""
        orders = draw_orders(self.streams, self.shape.n_patterns, self.learner.update)
        self.hidden, self.outputs = self.learner.train_epoch(self.params, self.lr, orders, self.state)
        self.code_index = corner_of(self.hidden)

    def restart(self, rows, attempts):
        fresh = self.learner.new_state(len(rows))
        for k, (i, attempt) in enumerate(zip(rows, attempts)):
            self.streams[i] = network_rng(int(self.seeds[i]), attempt)
            self.params[i] = self.learner.init(self.streams[i])
            for name, value in self.state.items():
                value[i] = fresh[name][k]
        self.code_index[rows], self.hidden[rows], self.outputs[rows] = self.learner.readout(self.params[rows])

    def keep(self, mask):
        self.seeds, self.lr, self.params = self.seeds[mask], self.lr[mask], self.params[mask]
        self.streams = [rng for rng, k in zip(self.streams, mask) if k]
        self.state = {name: value[mask] for name, value in self.state.items()}
        self.code_index, self.hidden, self.outputs = self.code_index[mask], self.hidden[mask], self.outputs[mask]


# ------------------------------------------------------------------------------------------------- the settings
def _choice(choices, name):
    return lambda v: check.check_choice(v, choices, name)


def _real(name, low, high, low_open=True, high_open=False):
    return lambda v: check.check_real_in(v, name, low, high, low_open=low_open, high_open=high_open)


def _steps(value):
    value = check.check_positive_int(value, "max-steps")
    if value > MAX_STEPS:
        raise ValueError(f"max-steps must be <= {MAX_STEPS}, got {value}")
    return value


UPDATES = ("pattern", "batch")
UPDATE_HELP = ("pattern: a weight change after each pattern, in a fresh random order per epoch from the network's "
               "stream (O'Reilly's protocol); batch: one change per epoch, the sum of the N patterns' changes "
               "(Hinton & McClelland's)")
BIAS_HELP = "initial biases: random (U(-r, r), like the weights) or zero"
ENGINE_HELP = ("compiled: each epoch of every network in one compiled (numba) call, compiled_local_kernels.py; numpy: "
               "the readable reference it is tested against; the two agree to rounding (docs/local_rules.md)")


def engine_setting():
    """The `engine` setting, the same in every local learner's settings."""
    return setting("numpy", ENGINE_HELP, _choice(ENGINES, "engine"))


MAX_STEPS_HELP = f"cap on the synchronous steps of one settling, 1 to {MAX_STEPS} (our choice; a capped row stops there)"


@dataclass(frozen=True)
class _SettlingSettings(Settings):
    """O'Reilly's (1996) network, settling and protocol (chl, generec, generec-mid, generec-sym)."""
    lr: float = setting(None, "learning rate (default: O'Reilly's Table 5 value for the 4-2-4 encoder, published: "
                              + ", ".join(f"{k} {v:g}" for k, v in TABLE5_LR.items())
                              + "; recirculation 20, published; mean-field 0.5, our choice)", check.check_lr,
                        per_network=True)
    update: str = setting("pattern", UPDATE_HELP + " (default pattern; recirculation batch)",
                          _choice(UPDATES, "update"))
    init_range: float = setting(0.5, "initial weights ~ U(-r, r) (default 0.5: O'Reilly's Fig. 3 runs and Hinton & "
                                     "McClelland's; Table 5's range is unstated)", check.check_init_scale, metavar="R")
    bias_init: str = setting("random", BIAS_HELP + " (default random: unstated by O'Reilly, our choice; published "
                                                   "for recirculation)", _choice(("random", "zero"), "bias-init"))
    symmetric_init: bool = setting(True, "start the output -> hidden weights as the transpose of the hidden -> "
                                         "output ones (published for GeneRec; CHL keeps them symmetric)")
    dt: float = setting(0.2, "settling step size (published 0.2)", _real("dt", 0, 1))
    tolerance: float = setting(0.01, "settling stops when the largest activation change before multiplying by dt "
                                     "is below this (published 0.01)", _real("tolerance", 0, 1))
    max_steps: int = setting(200, MAX_STEPS_HELP, _steps, metavar="STEPS")
    bound: float = setting(0.05, "activations bounded to [b, 1 - b] (published for GeneRec; CHL's Table 5 figures "
                                 "reproduce only with it too: docs/local_rules.md; 0: plain 0-to-1 sigmoids)",
                           _real("bound", 0, 0.5, low_open=False, high_open=True), metavar="B")
    bounding: str = setting("clip", "how activations are bounded to [b, 1 - b]: clip s(eta) (clip) or squash it, b + "
                                    "(1 - 2b) s(eta) (squash) (unstated; default clip, our choice)",
                            _choice(("clip", "squash"), "bounding"))
    plus_start: str = setting("zero", "the plus phase starts from zero activations like the minus phase (zero) or "
                                      "from the minus phase's state (minus) (unstated; default zero, our choice)",
                              _choice(("zero", "minus"), "plus-start"))
    targets: str = setting("bounded", "the plus phase clamps the outputs to the bound's b / 1 - b (bounded: the "
                                      "clamped units keep the range of the free ones) or to the 0/1 targets (exact) "
                                      "(unstated; default bounded: Table 5's CHL and GR Sym figures reproduce with it, "
                                      "not without)", _choice(("bounded", "exact"), "targets"))
    readout: str = setting("during", "the codes and outputs the criterion reads: each pattern's minus phase as it "
                                     "was trained during the epoch (during) or a fresh minus phase after the epoch's "
                                     "changes (settled) (unstated; default during: the epoch statistic of the "
                                     "simulators of the time; Table 5's CHL mean reproduces with it)",
                           _choice(("during", "settled"), "readout"))
    engine: str = engine_setting()
    rule = None

    def resolve(self):
        own = {"lr": TABLE5_LR[self.rule]}
        return {k: v for k, v in own.items() if getattr(self, k) is None}


@dataclass(frozen=True)
class CHLSettings(_SettlingSettings):
    rule = "chl"


@dataclass(frozen=True)
class GeneRecSettings(_SettlingSettings):
    rule = "generec"


@dataclass(frozen=True)
class GeneRecMidSettings(_SettlingSettings):
    rule = "generec-mid"


@dataclass(frozen=True)
class GeneRecSymSettings(_SettlingSettings):
    rule = "generec-sym"


SETTLING_SETTINGS = {"chl": CHLSettings, "generec": GeneRecSettings, "generec-mid": GeneRecMidSettings,
                     "generec-sym": GeneRecSymSettings}


@dataclass(frozen=True)
class RecirculationSettings(Settings):
    """Hinton & McClelland's (1988) recirculation."""
    lr: float = setting(20.0, "learning rate (published 20)", check.check_lr, per_network=True)
    regression: float = setting(0.75, "regression lambda of the second pass, in [0, 1) (published 0.75)",
                                _real("regression", 0, 1, low_open=False, high_open=True), metavar="LAMBDA")
    update: str = setting("batch", UPDATE_HELP, _choice(UPDATES, "update"))
    init_range: float = setting(0.5, "initial weights and biases ~ U(-r, r) (published 0.5)", check.check_init_scale,
                                metavar="R")
    bias_init: str = setting("random", BIAS_HELP + " (published: random)", _choice(("random", "zero"), "bias-init"))
    engine: str = engine_setting()


@dataclass(frozen=True)
class MeanFieldSettings(Settings):
    """Deterministic Boltzmann learning (Hinton 1989)."""
    network: str = setting("hinton89", "hinton89: input -> hidden <-> output, minus phase input clamped (Hinton "
                                       "1989); ahs85: V1 <-> H <-> V2 with each visible group connected inside, minus "
                                       "phase fully free (the 1985 encoder's network)",
                           _choice(("hinton89", "ahs85"), "network"))
    lr: float = setting(0.5, "learning rate (our choice: no published value)", check.check_lr, per_network=True)
    temperature: float = setting(1.0, f"temperature T of p = s(sum w p / T), in [{check.MIN_TEMPERATURE:g}, "
                                      f"{check.MAX_TEMPERATURE:g}] (published 1)", check.check_temperature)
    decay: float = setting(1e-4, "each weight times (1 - decay) after every change (published: 'slightly'; the "
                                 "value is our choice)", _real("decay", 0, 1, low_open=False, high_open=True))
    update: str = setting("pattern", UPDATE_HELP, _choice(UPDATES, "update"))
    init_range: float = setting(0.5, "initial weights ~ U(-r, r) (our choice)", check.check_init_scale, metavar="R")
    bias_init: str = setting("random", BIAS_HELP + " (our choice)", _choice(("random", "zero"), "bias-init"))
    dt: float = setting(0.2, "step of dp/dt = -p + s(...) (synchronous discrete updates, published; the size is "
                             "our choice)", _real("dt", 0, 1))
    tolerance: float = setting(0.01, "settling stops when max |s(...) - p| is below this (our choice)",
                               _real("tolerance", 0, 1))
    max_steps: int = setting(200, MAX_STEPS_HELP, _steps, metavar="STEPS")
    start: float = setting(0.5, "the free units' state before the first sweep and in the readout (our choice)",
                           _real("start", 0, 1, low_open=False))
    engine: str = engine_setting()


# ------------------------------------------------------------------------------------------------- the specs
# The memory bound's figures per network, in float64 numbers (measured with tracemalloc: tests/test_bounds.py):
# the parameters, and a settling's or a pass's (N, N) and (N, H) temporaries, or the mean-field network's (N, U)
# kept states and temporaries and its (U, U) weight change.
def _settling_bytes(shape, settings, n_networks):
    n, h = shape.n_patterns, shape.n_hidden
    return n_networks * 8 * (settling_n_params(shape) + 8 * n * n + 10 * n * h)


def _recirculation_bytes(shape, settings, n_networks):
    n, h = shape.n_patterns, shape.n_hidden
    return n_networks * (8 * (2 * n * h + h + n + 3 * n * h) + 36 * n * n)


def _mean_field_bytes(shape, settings, n_networks):
    units = 2 * shape.n_patterns + shape.n_hidden + 1
    return n_networks * 8 * (2 * units * units + 10 * shape.n_patterns * units)


def _rule(result, i):
    return {"rule": result.learner, "lr": float(result.settings.per_network("lr", len(result))[i])}


def _named(names, unpack):
    return lambda row, shape: dict(zip(names, (w[0].tolist() for w in unpack(row[None], shape))))


def _mean_field_params(row, shape):
    n = 2 * shape.n_patterns + shape.n_hidden + 1
    return {"W": row.reshape(n, n).tolist()}


UPDATE_UNIT = ("one weight change: after one pattern's two phases (--update pattern) or after all N patterns' "
               "(--update batch)")


def updates_per_epoch(shape, settings):
    """An epoch is N weight changes under per-pattern updates, one under batch updates."""
    return shape.n_patterns if settings.update == "pattern" else 1


def _spec(name, title, settings, make, named_params, bytes_needed):
    return LearnerSpec(name=name, title=title, settings=settings, make=make, can_restart=True, update_unit=UPDATE_UNIT,
                       updates_per_epoch=updates_per_epoch, bytes_needed=bytes_needed, run_fields=_rule,
                       named_params=named_params, per_network=("lr",), loop_defaults={"epochs": 5000})


def _make_settling(rule):
    return lambda shape, settings, loop=None: SettlingLearner(shape, rule, settings)


SETTLING_TITLES = {"chl": "contrastive Hebbian learning on O'Reilly's settling network",
                   "generec": "O'Reilly's (1996) GeneRec: a_i- (a_j+ - a_j-)",
                   "generec-mid": "GeneRec with the midpoint sender: (a_i- + a_i+)/2 (a_j+ - a_j-)",
                   "generec-sym": "GeneRec with the symmetric change: a_i- (a_j+ - a_j-) + a_j- (a_i+ - a_i-)"}
_SETTLING_NAMES = ("W_ih", "b_h", "W_ho", "b_o", "W_oh")
LEARNERS = {rule: _spec(rule, SETTLING_TITLES[rule], SETTLING_SETTINGS[rule], _make_settling(rule),
                        _named(_SETTLING_NAMES, settling_unpack), _settling_bytes) for rule in SETTLING_RULES}
LEARNERS["recirculation"] = _spec(
    "recirculation", "Hinton & McClelland's (1988) recirculation: a visible <-> hidden loop with regression",
    RecirculationSettings, lambda shape, s, loop=None: Recirculation(shape, s),
    _named(("W_vh", "b_h", "W_hv", "b_v"), recirculation_unpack), _recirculation_bytes)
LEARNERS["mean-field"] = _spec(
    "mean-field", "deterministic Boltzmann learning (Hinton 1989): settled mean-field units, symmetric weights",
    MeanFieldSettings, lambda shape, s, loop=None: MeanField(shape, s), _mean_field_params, _mean_field_bytes)
