"""The backprop learner's compiled engine (--engine compiled): numba kernels of the momentum step, the forward pass
and the per-epoch readout the loop reads, and the batch that runs them (backprop_learner imports this module only
when the engine is asked for, so the numpy engine never pays numba's import).

Layout: every array keeps the networks innermost, parameters (P, S), hidden activations (N, H, S), outputs
(N, N, S), so each inner loop runs across networks on contiguous memory and the compiler turns it into vector
instructions (8 networks per AVX-512 register), block by block.

Arithmetic: float64, no fast-math flags, every sum in the order written (index order) with explicit fused
multiply-adds, so a network's run depends only on its seed and settings, not on the batch, its block or the
machine. It differs from the numpy engine's in its exp (a polynomial within about 1 ulp of the exact value, written
without calls or branches so that it vectorises) and in how its sums are rounded, so runs differ from the numpy
engine's in the last bits; the published figures (epochs per seed, solve counts) are the same (docs/performance.md,
the agreement check).

    exp_(x), sigmoid(z)                 the scalar functions, inlined into the loops
    step(...)                           one momentum step of every network and the next epoch's readout
    forward(...)                        the readout alone (fresh or loaded parameters, the final ones)
"""
import sys

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import event
from numba.extending import intrinsic

BLOCK = 1024    # networks per block: each vector loop's set-up is paid once per block (64 was 10-20% slower a step)
LOSS_CODES = {"ce": 0, "sse": 1, "sse_offset": 2, "atanh": 3}


@intrinsic
def _fma(typingctx, a, b, c):
    """a * b + c rounded once (the machine's fused multiply-add; a correctly rounded library call without one)."""
    def codegen(context, builder, signature, args):
        return builder.fma(*args)
    return types.float64(types.float64, types.float64, types.float64), codegen


@intrinsic
def _double_of_bits(typingctx, bits):
    """The float64 whose IEEE bits are the int64 `bits`."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())
    return types.float64(types.int64), codegen


@intrinsic
def _bits_of_double(typingctx, x):
    """The IEEE bits of the float64 `x`, as an int64."""
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))
    return types.int64(types.float64), codegen


@intrinsic
def _wide_vectors(typingctx):
    """Let the compiler use 512-bit vectors in the kernel that calls this: LLVM's tuning for recent Intel processors
    prefers 256-bit ones, and 512-bit ones take about a sixth off a step here. The lanes are independent networks,
    so the width changes no number. llvmlite's attribute set does not list this LLVM function attribute, so it is
    added to the set directly; a processor without 512-bit vectors ignores it."""
    def codegen(context, builder, signature, args):
        set.add(builder.function.attributes, '"prefer-vector-width"="512"')
        return context.get_dummy_value()
    return types.none(), codegen


LOG2_E = 1.4426950408889634
ROUNDING = 1.5 * 2.0 ** 52                      # adding it rounds to an integer, held in the low bits
LN2_HIGH = 0.6931471805599453                   # ln 2 rounded to float64 ...
LN2_LOW = 2.3190468138462996e-17                # ... and the rest
# 1/k! for k = 13 .. 2: the Taylor series of e^r to degree 13; on |r| <= ln(2)/2 its truncation error is below
# 1e-17 relative, so the result's error is that of the float64 rounding (about 1 ulp)
TAYLOR = tuple(1.0 / np.prod(np.arange(1.0, k + 1)) for k in range(13, 1, -1))


@njit(cache=True, inline="always", error_model="numpy")
def exp_(x):
    """e^x for x <= 50, within about 1 ulp: e^x = 2^k e^r with k = round(x / ln 2), |r| <= ln(2) / 2, e^r from its
    Taylor polynomial, 2^k built from its exponent bits. Below -708 the result is e^-708 ~ 3e-308 (2^k must stay
    a normal number), which leaves 1 + e^x = 1 exactly, as the exact value does, so the sigmoid is unchanged."""
    x = max(x, -708.0)
    rounded = _fma(x, LOG2_E, ROUNDING)
    k = rounded - ROUNDING
    r = _fma(-k, LN2_HIGH, x)                   # exact: x and k ln 2 are close
    r = _fma(-k, LN2_LOW, r)
    p = TAYLOR[0]
    for c in TAYLOR[1:]:
        p = _fma(p, r, c)
    p = _fma(p, r, 1.0)
    p = _fma(p, r, 1.0)
    return p * _double_of_bits((_bits_of_double(rounded) + 1023) << 52)     # k's bits moved to the exponent


@njit(cache=True, inline="always", error_model="numpy")
def sigmoid(z):
    """1 / (1 + e^-z), clipped as the numpy engine clips it (encoder_backprop_8_3_8.sigmoid)."""
    return 1.0 / (1.0 + exp_(-max(z, -50.0)))


# ------------------------------------------------------------------------------------------------ the kernels
# Arrays: params, velocity (P, S) with W1 (N, H), b1 (H), W2 (H, N), b2 (N) row-major down the P rows, as
# encoder_backprop_8_3_8.unpack lays out one network; h (N, H, S); z, y (N, N, S); x (N, N) the inputs, or (0, 0)
# for the one-hot patterns. The readout of every network: codes (N, S) corner indices, and (S,) each: n_codes the
# distinct codes, one_corner (every code the same), reconstructed (every pattern's largest output is its own, the
# first one on a tie, as numpy's argmax), within (Fahlman's 0.4/0.6 criterion), code_margin (min |h - 0.5|).
#
# Every loop over the networks of a block (s0 <= s < s1) is innermost, so the compiler vectorises it; its index is
# unsigned, so it is a plain address offset (a signed one may count from the end, which hides the access pattern).
# The sums over patterns and hidden units run inside it, in registers, over the tuples `patterns` (N,) and
# `units` (H,): a tuple's length is part of its type, so each size is compiled with constant loop counts that the
# compiler unrolls (a larger encoder passes arrays instead, and the same code runs with counts read at run time).
@njit(cache=True, error_model="numpy")
def _forward_block(params, s0, s1, x, center, h, z, y, patterns, units):
    """h, z, y of networks s0 .. s1 - 1 from their parameters."""
    _wide_vectors()
    n, nh = h.shape[0], h.shape[1]
    N, H = len(patterns), len(units)             # the same counts, constants of this compilation
    n_w = n * nh
    for p in range(n):
        for j in range(nh):
            if x.shape[0] == 0:                         # one-hot: pattern p's drive is row p of W1
                for s in range(s0, s1):
                    h[p, j, s] = sigmoid(params[p * nh + j, s] + params[n_w + j, s])
            else:
                for s in range(s0, s1):
                    a = x[p, 0] * params[j, s]
                    for i in range(1, N):
                        a = _fma(x[p, i], params[i * nh + j, s], a)
                    h[p, j, s] = sigmoid(a + params[n_w + j, s])
        for o in range(n):
            for s in range(s0, s1):
                a = (h[p, 0, s] - center) * params[n_w + nh + o, s]
                for j in range(1, H):
                    a = _fma(h[p, j, s] - center, params[n_w + nh + j * n + o, s], a)
                z[p, o, s] = a + params[2 * n_w + nh + o, s]
                y[p, o, s] = sigmoid(z[p, o, s])


@njit(cache=True, error_model="numpy")
def _read_block(s0, s1, h, y, codes, n_codes, one_corner, reconstructed, within, code_margin, fresh, patterns,
                units):
    """The readout of networks s0 .. s1 - 1 from their h and y; fresh (S,) bool scratch."""
    _wide_vectors()
    n, nh = h.shape[0], h.shape[1]
    N, H = len(patterns), len(units)             # the same counts, constants of this compilation
    for s in range(s0, s1):
        code_margin[s] = np.inf
    for p in range(n):
        for s in range(s0, s1):
            c, m = 0, np.inf
            for j in range(H):
                c = 2 * c + (h[p, j, s] > 0.5)
                m = min(m, abs(h[p, j, s] - 0.5))
            codes[p, s] = c
            code_margin[s] = min(code_margin[s], m)
    for s in range(s0, s1):
        n_codes[s], one_corner[s] = 1, True
    for p in range(1, n):
        for s in range(s0, s1):
            one_corner[s] &= codes[p, s] == codes[0, s]
            fresh[s] = True
        for q in range(p):                              # pattern p's code is new unless an earlier one has it
            for s in range(s0, s1):
                fresh[s] &= codes[q, s] != codes[p, s]
        for s in range(s0, s1):
            n_codes[s] += fresh[s]
    for s in range(s0, s1):
        reconstructed[s], within[s] = True, True
    for p in range(n):
        for s in range(s0, s1):
            before, after = -np.inf, -np.inf            # the largest other output before and after pattern p's own
            for o in range(N):
                if o < p:
                    before = max(before, y[p, o, s])
                elif o > p:
                    after = max(after, y[p, o, s])
            mine = y[p, p, s]
            reconstructed[s] &= (before < mine) & (after <= mine)
            within[s] &= (mine > 0.6) & (max(before, after) < 0.4)


@njit(cache=True, error_model="numpy")
def forward(params, x, center, h, z, y, codes, n_codes, one_corner, reconstructed, within, code_margin, patterns,
            units):
    """h, z, y and the readout of every network from its parameters."""
    S = params.shape[1]
    fresh = np.empty(S, np.bool_)
    for start in range(0, S, BLOCK):
        s0, s1 = np.uint64(start), np.uint64(min(start + BLOCK, S))
        _forward_block(params, s0, s1, x, center, h, z, y, patterns, units)
        _read_block(s0, s1, h, y, codes, n_codes, one_corner, reconstructed, within, code_margin, fresh, patterns,
                    units)


@njit(cache=True, error_model="numpy")
def step(params, velocity, lr, momentum, x, loss, center, hidden_offset, h, z, y, codes, n_codes, one_corner,
         reconstructed, within, code_margin, patterns, units):
    """One full-batch momentum step of every network (encoder_backprop_8_3_8.backward, then optimizers.Momentum:
    V = momentum V + lr g, P -= V), then h, z, y and the readout at the new parameters, all in place. The
    gradient reads h and y, the previous step's forward pass. lr, momentum (S,); loss a LOSS_CODES value."""
    _wide_vectors()
    n, nh = h.shape[0], h.shape[1]
    N, H = len(patterns), len(units)             # the same counts, constants of this compilation
    n_w, S, inv_n = n * nh, params.shape[1], 1.0 / n
    delta, dh = np.empty((n, n, S)), np.empty((n, nh, S))
    fresh = np.empty(S, np.bool_)
    for start in range(0, S, BLOCK):
        s0, s1 = np.uint64(start), np.uint64(min(start + BLOCK, S))
        for p in range(n):                              # dL/dz of every output, averaged over the patterns
            for o in range(n):
                target = 1.0 if o == p else 0.0
                for s in range(s0, s1):
                    delta[p, o, s] = (y[p, o, s] - target) * inv_n
                if loss == 1:
                    for s in range(s0, s1):
                        delta[p, o, s] = delta[p, o, s] * y[p, o, s] * (1.0 - y[p, o, s])
                elif loss == 2:
                    for s in range(s0, s1):
                        delta[p, o, s] = delta[p, o, s] * (y[p, o, s] * (1.0 - y[p, o, s]) + 0.1)
                elif loss == 3:
                    for s in range(s0, s1):
                        delta[p, o, s] = (_atanh_error(delta[p, o, s] * n) * inv_n
                                          * (y[p, o, s] * (1.0 - y[p, o, s]) + 0.1))
        for p in range(n):                              # dL/d(hidden drive), through the old W2
            for j in range(nh):
                w2 = n_w + nh + j * n
                for s in range(s0, s1):
                    a = delta[p, 0, s] * params[w2, s]
                    for o in range(1, N):
                        a = _fma(delta[p, o, s], params[w2 + o, s], a)
                    dh[p, j, s] = a
                if hidden_offset != 0.0:
                    for s in range(s0, s1):
                        dh[p, j, s] *= h[p, j, s] * (1.0 - h[p, j, s]) + hidden_offset
                else:
                    for s in range(s0, s1):
                        dh[p, j, s] = dh[p, j, s] * h[p, j, s] * (1.0 - h[p, j, s])
        for j in range(nh):                             # W2, then b2
            for o in range(n):
                w2 = n_w + nh + j * n + o
                for s in range(s0, s1):
                    g = (h[0, j, s] - center) * delta[0, o, s]
                    for p in range(1, N):
                        g = _fma(h[p, j, s] - center, delta[p, o, s], g)
                    _momentum(params, velocity, w2, s, g, lr, momentum)
        for o in range(n):
            for s in range(s0, s1):
                g = delta[0, o, s]
                for p in range(1, N):
                    g += delta[p, o, s]
                _momentum(params, velocity, 2 * n_w + nh + o, s, g, lr, momentum)
        for i in range(n):                              # W1, then b1
            for j in range(nh):
                if x.shape[0] == 0:                     # one-hot inputs: dW1's row i is pattern i's dh
                    for s in range(s0, s1):
                        _momentum(params, velocity, i * nh + j, s, dh[i, j, s], lr, momentum)
                else:
                    for s in range(s0, s1):
                        g = x[0, i] * dh[0, j, s]
                        for p in range(1, N):
                            g = _fma(x[p, i], dh[p, j, s], g)
                        _momentum(params, velocity, i * nh + j, s, g, lr, momentum)
        for j in range(nh):
            for s in range(s0, s1):
                g = dh[0, j, s]
                for p in range(1, N):
                    g += dh[p, j, s]
                _momentum(params, velocity, n_w + j, s, g, lr, momentum)
        _forward_block(params, s0, s1, x, center, h, z, y, patterns, units)
        _read_block(s0, s1, h, y, codes, n_codes, one_corner, reconstructed, within, code_margin, fresh, patterns,
                    units)


@njit(cache=True, inline="always", error_model="numpy")
def _momentum(params, velocity, row, s, g, lr, momentum):
    """V = momentum V + lr g, P -= V for one parameter of network s (optimizers.momentum_step)."""
    v = velocity[row, s] * momentum[s] + g * lr[s]
    velocity[row, s] = v
    params[row, s] -= v


@njit(cache=True, inline="always", error_model="numpy")
def _atanh_error(e):
    """encoder_backprop_8_3_8._atanh_error of one number: 2 atanh(e), clipped to +-17 where |e| > 0.9999999."""
    if abs(e) > 0.9999999:
        return 17.0 * np.sign(e)
    return np.log1p(e) - np.log1p(-e)


# ---------------------------------------------------------------------------------------------------- the batch
UNROLLED = 64       # encoders up to this many patterns have their loop counts compiled in (one compilation each)
_READY = set()      # the sizes whose kernels this process has compiled or loaded from numba's cache


class Readout:
    """Every network's activations and the loop's per-epoch readout of them, networks innermost (the kernels' own
    arrays); `columns(rows)` copies some networks out, `put(rows, other)` writes them back."""
    NAMES = ("h", "z", "y", "codes", "n_codes", "one_corner", "reconstructed", "within", "code_margin")

    def __init__(self, shape, k):
        n, nh = shape.n_patterns, shape.n_hidden
        self.h, self.z, self.y = np.empty((n, nh, k)), np.empty((n, n, k)), np.empty((n, n, k))
        self.codes, self.n_codes = np.empty((n, k), np.int64), np.empty(k, np.int64)
        self.one_corner, self.reconstructed, self.within = (np.empty(k, np.bool_) for _ in range(3))
        self.code_margin = np.empty(k)

    def arrays(self):
        return tuple(getattr(self, name) for name in self.NAMES)

    def keep(self, mask):
        for name in self.NAMES:
            setattr(self, name, np.ascontiguousarray(getattr(self, name)[..., mask]))
        return self

    def put(self, rows, other):
        for name in self.NAMES:
            getattr(self, name)[..., rows] = getattr(other, name)


class CompiledLearner:
    """What the kernels need to know of a backprop learner (backprop_learner.Backprop): its shape, inputs, loss,
    activation and hidden derivative offset, in the kernels' terms."""

    def __init__(self, learner):
        shape = learner.shape
        n, nh = shape.n_patterns, shape.n_hidden
        self.shape = shape
        self.x = np.empty((0, 0)) if learner.x is None else np.ascontiguousarray(learner.x, dtype=float)
        self.loss, self.center = LOSS_CODES[learner.loss], float(learner.center)
        self.hidden_offset = float(learner.hidden_offset)
        self.sizes = (tuple(range(n)) if n <= UNROLLED else np.arange(n), tuple(range(nh)))
        if (n, nh) not in _READY:
            self._compile()
            _READY.add((n, nh))

    def _compile(self):
        """Compile the kernels for this size (or load them from numba's cache), saying so once on stderr when
        numba really compiles."""
        with event.install_listener("numba:run_pass", _SayCompiling()):
            params = np.zeros((self.shape.n_params, 1))
            self.readout(params)
            step(params, np.zeros_like(params), np.ones(1), np.zeros(1), self.x, self.loss, self.center,
                 self.hidden_offset, *Readout(self.shape, 1).arrays(), *self.sizes)

    def readout(self, params):
        """The Readout of parameters (P, S) (contiguous, networks innermost)."""
        out = Readout(self.shape, params.shape[1])
        forward(params, self.x, self.center, *out.arrays(), *self.sizes)
        return out


class _SayCompiling(event.Listener):
    """Says once per process that numba compiles, at its first compiler pass (a load from its cache runs none)."""

    def on_start(self, event):
        global _SAID
        if not _SAID:
            print("compiling the compiled backprop kernels (once: numba caches them) ...", file=sys.stderr, flush=True)
            _SAID = True

    def on_end(self, event):
        pass


_SAID = False


class CompiledBatch:
    """A stack of backprop networks on the compiled kernels, with the interface of backprop_learner._BackpropBatch
    (training_loop.fit's batch). Its arrays keep the networks innermost; params (k, P), state["velocity"],
    hidden/h (k, N, H), z and outputs/y (k, N, N) and codes() (k, N) are views of them in the loop's order. It
    also gives the loop the code counts and the solve flags the kernels computed (code_counts, solved)."""

    def __init__(self, learner, seeds, settings):
        self.learner, self.shape, self.seeds = learner, learner.shape, seeds
        self.kernels = CompiledLearner(learner)
        self.init_scale, self.lr, self.momentum = (np.ascontiguousarray(settings[k], dtype=float)
                                                   for k in ("init_scale", "lr", "momentum"))
        first = [learner.init_params(seed, scale) for seed, scale in zip(seeds, self.init_scale)]
        self._params = np.ascontiguousarray(np.stack(first).T)
        self._velocity = np.zeros_like(self._params)
        self._reading(self.kernels.readout(self._params))

    def _reading(self, read):
        """Take `read` as the batch's Readout, and the step kernel's arguments with it (made once, not per epoch)."""
        k, self.read = self.kernels, read
        self._step_args = (self._params, self._velocity, self.lr, self.momentum, k.x, k.loss, k.center,
                           k.hidden_offset, *read.arrays(), *k.sizes)

    params = property(lambda self: self._params.T)
    state = property(lambda self: {"velocity": self._velocity.T})
    hidden = h = property(lambda self: self.read.h.transpose(2, 0, 1))
    outputs = y = property(lambda self: self.read.y.transpose(2, 0, 1))
    z = property(lambda self: self.read.z.transpose(2, 0, 1))

    def codes(self):
        return self.read.codes.T

    def code_counts(self):
        """codes (k, N), the number of distinct codes (k,) and whether they all share one corner (k,)."""
        return self.read.codes.T, self.read.n_codes, self.read.one_corner

    def solved(self, criterion, margin):
        """The strict or Fahlman criterion (training_loop.CRITERIA) from the kernels' flags; None for another."""
        read = self.read
        if criterion == "strict":
            ok = (read.n_codes == self.shape.n_patterns) & read.reconstructed
            return ok & (read.code_margin >= margin) if margin > 0 else ok
        if criterion == "fahlman":
            return read.within.copy()
        return None

    def step(self):
        step(*self._step_args)

    def restart(self, rows, attempts):
        for i, attempt in zip(rows, attempts):
            self._params[:, i] = self.learner.init_params(self.seeds[i], self.init_scale[i], attempt)
        self._velocity[:, rows] = 0.0
        self.read.put(rows, self.kernels.readout(np.ascontiguousarray(self._params[:, rows])))

    def load(self, params, state):
        """As _BackpropBatch.load: every network's parameters and velocities replaced, row for row."""
        self._params[...] = np.asarray(params).T
        self._velocity[...] = np.asarray(state["velocity"]).T
        self._reading(self.kernels.readout(self._params))

    def keep(self, mask):
        self.seeds, self.init_scale, self.lr, self.momentum = (np.ascontiguousarray(a[mask]) for a in (
            self.seeds, self.init_scale, self.lr, self.momentum))
        self._params = np.ascontiguousarray(self._params[:, mask])
        self._velocity = np.ascontiguousarray(self._velocity[:, mask])
        self._reading(self.read.keep(mask))


def readout(learner, params):
    """codes (S, N), hidden (S, N, H), outputs (S, N, N) of final parameters (S, P), as the kernels compute them."""
    read = CompiledLearner(learner).readout(np.ascontiguousarray(np.asarray(params).T))
    return read.codes.T.copy(), read.h.transpose(2, 0, 1).copy(), read.y.transpose(2, 0, 1).copy()


def warm_up(sizes=((8, 3), (4, 2))):
    """Compile the kernels (or load them from numba's cache) for these (N, H) sizes now."""
    from backprop_learner import Backprop
    from training_loop import Shape
    for n, nh in sizes:
        CompiledLearner(Backprop(Shape(n, nh)))
