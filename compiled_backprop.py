"""The backprop learner's compiled engine (--engine compiled): numba kernels of a step of each optimizer (momentum,
quickprop, Rprop+, iRprop-), the forward pass and the per-epoch readout the loop reads, and the batch that runs them
(backprop_learner imports this module only when the engine is asked for, so the numpy engine never pays numba's
import).

Layout: every array keeps the networks innermost, parameters (P, S), hidden activations (N, H, S), outputs
(N, N, S), so each inner loop runs across networks on contiguous memory and the compiler turns it into vector
instructions (8 networks per AVX-512 register), block by block. The batch's arrays start on a cache line and hold
a multiple of 8 networks, so no vector load straddles two lines and no network is left to a scalar loop.

Arithmetic: float64, no fast-math flags, every sum in the order written (index order) with explicit fused
multiply-adds, so a network's run depends only on its seed and settings, not on the batch, its block or the
machine. It differs from the numpy engine's in its exp (a polynomial within about 1 ulp of the exact value, written
without calls or branches so that it vectorises) and in how its sums are rounded, so runs differ from the numpy
engine's in the last bits; the optimizers' own arithmetic is numpy's, operation for operation. The published
figures (epochs per seed, solve counts) are the same (docs/performance.md, the agreement check).

    exp_(x), sigmoid(z)                 the scalar functions, which the compiler inlines into the loops
    step(...)                           one step of every network and the next epoch's readout
    forward(...)                        the readout alone (fresh or loaded parameters, the final ones)
    update(...)                         an optimizer's step from given gradients (for the tests)
"""
import math
import sys

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import event
from numba.extending import intrinsic, overload

BLOCK = 256     # networks per block: a block's arrays stay in a 2 MB level-2 cache through a step (1024: 15% slower)
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


# The small functions are left to LLVM to inline (it does, and the loops vectorise as before): numba's own
# inline="always" typed each again at every call, which made compiling the kernels about a third slower (a second
# optimizer at a size already compiled: twice as slow).
@njit(cache=True, error_model="numpy")
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


SQRT_HALF_BITS = 0x3FE6A09E667F3BCD             # the IEEE bits of sqrt(1/2)
# 1/(2i + 1) for i = 11 .. 1: log(m) = 2 atanh(s) = 2 (s + s^3/3 + ... + s^23/23) with s = (m - 1)/(m + 1); on
# sqrt(1/2) <= m < sqrt(2), |s| <= 0.172 and the truncation error is below 1e-18 relative
ATANH_SERIES = tuple(1.0 / (2 * i + 1) for i in range(11, 0, -1))


@njit(cache=True, error_model="numpy")
def log1p_(x):
    """log(1 + x) for -1 < x <= 1, within about 1 ulp, without calls or branches (numpy's log1p is a library call,
    which does not vectorise), as fdlibm's log1p computes it: u = 1 + x = 2^k m with sqrt(1/2) <= m < sqrt(2) (k
    and m from u's bits), log(m) from its atanh series, plus c / u for the rounding error c of 1 + x."""
    u = 1.0 + x
    c = (x - (u - 1.0)) / u                     # u - 1 and x - (u - 1) are exact on this range
    k = (_bits_of_double(u) - SQRT_HALF_BITS) >> 52
    f = _double_of_bits(_bits_of_double(u) - (k << 52)) - 1.0     # m - 1, exact
    s = f / (2.0 + f)
    s2, half_f2 = s * s, 0.5 * f * f
    p = ATANH_SERIES[0]
    for term in ATANH_SERIES[1:]:
        p = _fma(p, s2, term)
    # log(m) = f - (f^2/2 - s (f^2/2 + R)) with R = 2 s^2 p: f exact, a small correction rounded
    return _fma(float(k), LN2_HIGH, f - (half_f2 - (s * (half_f2 + 2.0 * s2 * p) + _fma(float(k), LN2_LOW, c))))


@njit(cache=True, error_model="numpy")
def sigmoid(z):
    """1 / (1 + e^-z), clipped as the numpy engine clips it (encoder_backprop_8_3_8.sigmoid)."""
    return 1.0 / (1.0 + exp_(-max(z, -50.0)))


# ------------------------------------------------------------------------------------------------ the kernels
# Arrays: params (P, S) with W1 (N, H), b1 (H), W2 (H, N), b2 (N) row-major down the P rows, as
# encoder_backprop_8_3_8.unpack lays out one network; state the optimizer's arrays, (P, S) each (STATE); h (N, H, S);
# z, y (N, N, S); x (N, N) the inputs, or (0, 0) for the one-hot patterns. The readout of every network: codes
# (N, S) corner indices, and (S,) each: n_codes the distinct codes, one_corner (every code the same), reconstructed
# (every pattern's largest output is its own, the first one on a tie, as numpy's argmax), within (Fahlman's 0.4/0.6
# criterion), code_margin (min |h - 0.5|). A step's scratch holds one block: delta (N, N, B) the output errors and
# dh (N H, B) the hidden ones, column s - s0 for network s.
#
# Every loop over the networks of a block (s0 <= s < s1) is innermost, so the compiler vectorises it; its index is
# unsigned, so it is a plain address offset (a signed one may count from the end, which hides the access pattern).
# The sums over patterns and hidden units run inside it, in registers, over the tuples `patterns` (N,) and
# `units` (H,): a tuple's length is part of its type, so each size is compiled with constant loop counts that the
# compiler unrolls (a larger encoder passes arrays instead, and the same code runs with counts read at run time).
@njit(cache=True, error_model="numpy")
def _output_drive(params, h, center, p, o, s, n_w, nh, n, H):
    """z of output o on pattern p of network s: the sum over hidden units in index order, then the bias."""
    a = (h[p, 0, s] - center) * params[n_w + nh + o, s]
    for j in range(1, H):
        a = _fma(h[p, j, s] - center, params[n_w + nh + j * n + o, s], a)
    return a + params[2 * n_w + nh + o, s]


@njit(cache=True, error_model="numpy")
def _forward_block(params, s0, s1, x, center, h, z, y, patterns, units):
    """h, y of networks s0 .. s1 - 1 from their parameters, and z unless it is empty (the step does not keep it)."""
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
            if z.shape[0] == 0:
                for s in range(s0, s1):
                    y[p, o, s] = sigmoid(_output_drive(params, h, center, p, o, s, n_w, nh, n, H))
            else:
                for s in range(s0, s1):
                    z[p, o, s] = _output_drive(params, h, center, p, o, s, n_w, nh, n, H)
                    y[p, o, s] = sigmoid(z[p, o, s])


@njit(cache=True, error_model="numpy")
def _read_block(s0, s1, h, y, codes, n_codes, one_corner, reconstructed, within, code_margin, fresh, patterns,
                units):
    """The readout of networks s0 .. s1 - 1 from their h and y; fresh (s1 - s0,) bool scratch."""
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
            fresh[s - s0] = True
        for q in range(p):                              # pattern p's code is new unless an earlier one has it
            for s in range(s0, s1):
                fresh[s - s0] &= codes[q, s] != codes[p, s]
        for s in range(s0, s1):
            n_codes[s] += fresh[s - s0]
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
def forward(params, x, center, z, h, y, codes, n_codes, one_corner, reconstructed, within, code_margin, patterns,
            units):
    """h, y, the readout and z (unless it is empty) of every network from its parameters."""
    S = params.shape[1]
    fresh = np.empty(min(S, BLOCK), np.bool_)
    for start in range(0, S, BLOCK):
        s0, s1 = np.uint64(start), np.uint64(min(start + BLOCK, S))
        _forward_block(params, s0, s1, x, center, h, z, y, patterns, units)
        _read_block(s0, s1, h, y, codes, n_codes, one_corner, reconstructed, within, code_margin, fresh, patterns,
                    units)


@njit(cache=True, error_model="numpy")
def _learn_block(params, state, plus, lr, momentum, constants, s0, s1, x, loss, center, hidden_offset, h, y, delta,
                 dh, patterns, units):
    """One optimizer step of networks s0 .. s1 - 1: each parameter's gradient (the loss averaged over the patterns,
    encoder_backprop_8_3_8.backward) from h and y, the forward pass at the parameters, and at once its update
    (`apply`); the hidden errors read W2 before it moves. delta and dh are scratch, g (below) too."""
    _wide_vectors()
    n, nh = h.shape[0], h.shape[1]
    N, H = len(patterns), len(units)             # the same counts, constants of this compilation
    n_w, inv_n = n * nh, 1.0 / n
    # g: a row of gradients, summed in one loop and applied in the next (_apply_row); in one loop, the optimizer's
    # stores to params and state kept the compiler from vectorising the sum over patterns at 32-5-32 (its gradients
    # 2.4x slower)
    g = np.empty(s1 - s0)
    for p in range(n):                              # dL/dz of every output, averaged over the patterns
        for o in range(n):
            target = 1.0 if o == p else 0.0
            if loss == 0:
                for s in range(s0, s1):
                    delta[p, o, s - s0] = (y[p, o, s] - target) * inv_n
            elif loss == 1:
                for s in range(s0, s1):
                    delta[p, o, s - s0] = (y[p, o, s] - target) * inv_n * y[p, o, s] * (1.0 - y[p, o, s])
            elif loss == 2:
                for s in range(s0, s1):
                    delta[p, o, s - s0] = (y[p, o, s] - target) * inv_n * (y[p, o, s] * (1.0 - y[p, o, s]) + 0.1)
            else:
                for s in range(s0, s1):
                    delta[p, o, s - s0] = (_atanh_error((y[p, o, s] - target) * inv_n * n) * inv_n
                                           * (y[p, o, s] * (1.0 - y[p, o, s]) + 0.1))
    for p in range(n):                              # dL/d(hidden drive), through W2
        for j in range(nh):
            w2 = n_w + nh + j * n
            if hidden_offset != 0.0:
                for s in range(s0, s1):
                    a = delta[p, 0, s - s0] * params[w2, s]
                    for o in range(1, N):
                        a = _fma(delta[p, o, s - s0], params[w2 + o, s], a)
                    dh[p * nh + j, s - s0] = a * (h[p, j, s] * (1.0 - h[p, j, s]) + hidden_offset)
            else:
                for s in range(s0, s1):
                    a = delta[p, 0, s - s0] * params[w2, s]
                    for o in range(1, N):
                        a = _fma(delta[p, o, s - s0], params[w2 + o, s], a)
                    dh[p * nh + j, s - s0] = a * h[p, j, s] * (1.0 - h[p, j, s])
    for j in range(nh):                             # W2, then b2
        for o in range(n):
            for s in range(s0, s1):
                a = (h[0, j, s] - center) * delta[0, o, s - s0]
                for p in range(1, N):
                    a = _fma(h[p, j, s] - center, delta[p, o, s - s0], a)
                g[s - s0] = a
            _apply_row(params, state, plus, n_w + nh + j * n + o, s0, s1, g, lr, momentum, constants, n)
    for o in range(n):
        for s in range(s0, s1):
            a = delta[0, o, s - s0]
            for p in range(1, N):
                a += delta[p, o, s - s0]
            g[s - s0] = a
        _apply_row(params, state, plus, 2 * n_w + nh + o, s0, s1, g, lr, momentum, constants, n)
    for i in range(n):                              # W1 (one-hot inputs: row i is pattern i's hidden errors)
        for j in range(nh):
            if x.shape[0] == 0:
                _apply_row(params, state, plus, i * nh + j, s0, s1, dh[i * nh + j], lr, momentum, constants, n)
            else:
                for s in range(s0, s1):
                    a = x[0, i] * dh[j, s - s0]
                    for p in range(1, N):
                        a = _fma(x[p, i], dh[p * nh + j, s - s0], a)
                    g[s - s0] = a
                _apply_row(params, state, plus, i * nh + j, s0, s1, g, lr, momentum, constants, n)
    for j in range(nh):                             # b1
        for s in range(s0, s1):
            a = dh[j, s - s0]
            for p in range(1, N):
                a += dh[p * nh + j, s - s0]
            g[s - s0] = a
        _apply_row(params, state, plus, n_w + j, s0, s1, g, lr, momentum, constants, n)


@njit(cache=True, error_model="numpy")
def _apply_row(params, state, plus, row, s0, s1, g, lr, momentum, constants, n):
    """Parameter `row` of networks s0 .. s1 - 1 steps by its optimizer (`apply`) from the gradients g[s - s0]."""
    for s in range(s0, s1):
        apply(params, state, plus, row, s, g[s - s0], lr, momentum, constants, n)


@njit(cache=True, error_model="numpy")
def _atanh_error(e):
    """encoder_backprop_8_3_8._atanh_error of one number: 2 atanh(e), clipped to +-17 where |e| > 0.9999999. Both
    values are computed and one chosen, so that the loop over networks has no branch."""
    inside = min(max(e, -0.9999999), 0.9999999)
    value = log1p_(inside) - log1p_(-inside)
    return 17.0 * np.sign(e) if abs(e) > 0.9999999 else value


def apply(params, state, plus, row, s, g, lr, momentum, constants, n):
    """Parameter `row` of network s takes one step of the optimizer whose arrays `state` holds (STATE: (velocity,)
    momentum, (slope, step) quickprop, (delta, grad, step) Rprop+, or iRprop- if not plus) from its gradient g, with
    optimizers.py's arithmetic, operation for operation, so the same gradient gives the same numbers. lr, momentum
    (S,); constants: quickprop's (mu, mu / (1 + mu), decay), Rprop's (eta+, eta-, the least and the largest step
    size); n the number of patterns. In the kernels only (numba picks the optimizer by the length of the tuple
    `state`, a part of its type, so each is compiled on its own and choosing costs nothing in the loops)."""
    raise NotImplementedError("compiled_backprop.apply runs in the kernels only")


@overload(apply, jit_options={"error_model": "numpy"})
def _apply(params, state, plus, row, s, g, lr, momentum, constants, n):
    return (_momentum, _quickprop, _rprop)[len(state) - 1]


# Each optimizer reads all its numbers before it chooses: a load made under a condition keeps the compiler from
# vectorising the loop.
def _momentum(params, state, plus, row, s, g, lr, momentum, constants, n):
    """optimizers.Momentum of one weight: V = momentum V + lr g, P -= V."""
    v = state[0][row, s] * momentum[s] + g * lr[s]
    state[0][row, s] = v
    params[row, s] -= v


def _quickprop(params, state, plus, row, s, g, lr, momentum, constants, n):
    """optimizers.Quickprop of one weight: the slope S of the summed error with decay, then the step from S, the
    previous slope and the previous step D."""
    mu, shrink, decay, lr = constants[0], constants[1], constants[2], lr[s]
    p, previous, d = params[row, s], state[0][row, s], state[1][row, s]
    slope = -n * g - decay * p
    denominator = previous - slope
    secant = slope * d / denominator if denominator != 0.0 else 0.0
    if d > 0.0:
        grad_term, jump = (lr * slope if slope > 0.0 else 0.0), (mu * d if slope > shrink * previous else secant)
    elif d < 0.0:
        grad_term, jump = (lr * slope if slope < 0.0 else 0.0), (mu * d if slope < shrink * previous else secant)
    else:
        grad_term, jump = lr * slope, 0.0
    taken = grad_term + jump
    params[row, s] = p + taken
    state[0][row, s], state[1][row, s] = slope, taken


def _rprop(params, state, plus, row, s, g, lr, momentum, constants, n):
    """optimizers.Rprop of one weight, Rprop+ (plus) or iRprop-, from its step size, last gradient and last step.
    Where the gradient's sign flipped, Rprop+ takes its last step back; both then forget the gradient."""
    eta_plus, eta_minus, delta_min, delta_max = constants[0], constants[1], constants[2], constants[3]
    size, back = state[0][row, s], -state[2][row, s]
    agree, grown, shrunk = g * state[1][row, s], size * eta_plus, size * eta_minus
    if agree > 0.0:
        size = grown if grown < delta_max else delta_max
    elif agree < 0.0:
        size = shrunk if shrunk > delta_min else delta_min
    flipped = agree < 0.0
    g = 0.0 if flipped else g
    taken = back if plus and flipped else -np.sign(g) * size
    params[row, s] += taken
    state[0][row, s], state[1][row, s], state[2][row, s] = size, g, taken


@njit(cache=True, error_model="numpy")
def step(params, state, plus, lr, momentum, constants, x, loss, center, hidden_offset, h, y, codes, n_codes,
         one_corner, reconstructed, within, code_margin, delta, dh, fresh, patterns, units):
    """One full-batch step of every network by its optimizer (`apply`: state, plus, lr, momentum, constants), then
    h, y and the readout at the new parameters, all in place (z is not kept: Readout computes it when asked). The
    gradient reads h and y, the previous step's forward pass; loss a LOSS_CODES value; delta, dh, fresh: one
    block's scratch (Scratch)."""
    S = params.shape[1]
    no_z = np.empty((0, 0, 0))
    for start in range(0, S, BLOCK):
        s0, s1 = np.uint64(start), np.uint64(min(start + BLOCK, S))
        _learn_block(params, state, plus, lr, momentum, constants, s0, s1, x, loss, center, hidden_offset, h, y,
                     delta, dh, patterns, units)
        _forward_block(params, s0, s1, x, center, h, no_z, y, patterns, units)
        _read_block(s0, s1, h, y, codes, n_codes, one_corner, reconstructed, within, code_margin, fresh, patterns,
                    units)


@njit(cache=True, error_model="numpy")
def update(params, state, plus, g, lr, momentum, constants, n):
    """Every parameter (P, S) takes one step of its optimizer (`apply`) from its gradient g (P, S), in place, as in
    a step (for the tests against optimizers.py on given numbers)."""
    _wide_vectors()
    for row in range(params.shape[0]):
        for s in range(np.uint64(params.shape[1])):
            apply(params, state, plus, row, s, g[row, s], lr, momentum, constants, n)


# ---------------------------------------------------------------------------------------------------- the batch
UNROLLED = 64       # encoders up to this many patterns have their loop counts compiled in (one compilation each)
_READY = set()      # the (N, H, optimizer's arrays) whose kernels this process has compiled or loaded from the cache
# Each optimizer's arrays (optimizers.py's names), in the order of the kernels' state (K arrays (P, S)), by which
# `apply` knows the optimizer
STATE = {"momentum": ("velocity",), "quickprop": ("slope", "step"), "rprop": ("delta", "grad", "step"),
         "irprop": ("delta", "grad", "step")}
# The kernels' arrays hold a multiple of LANES networks (the batch's own, then idle ones) and start on a cache line,
# so every row does too and no vector load straddles two lines (which cost a sixth of a step)
LANES, ALIGN = 8, 64


def constants(name, optimizer):
    """The kernels' constants of an optimizers.py optimizer (see `apply`)."""
    if name == "quickprop":
        return np.array([optimizer.mu, optimizer.mu / (1.0 + optimizer.mu), optimizer.decay, 0.0])
    if name in ("rprop", "irprop"):
        return np.array([optimizer.eta_plus, optimizer.eta_minus, optimizer.delta_min, optimizer.delta_max])
    return np.zeros(4)


def lanes(k):
    """The width of the kernels' arrays for k networks."""
    return -(-k // LANES) * LANES


def aligned(shape, dtype=float):
    """An uninitialised C-contiguous array of shape (a tuple, or a length) whose data starts on a cache line."""
    shape = tuple(shape) if np.iterable(shape) else (shape,)
    size = math.prod(shape) * np.dtype(dtype).itemsize         # np.prod of a tuple takes ~9 us, at every restart
    buffer = np.empty(size + ALIGN, np.uint8)
    start = -buffer.ctypes.data % ALIGN
    return buffer[start:start + size].view(dtype).reshape(shape)


_NO_Z = aligned((0, 0, 0))      # the readout's z when it is not asked for (the kernels skip an empty one)


def in_lanes(a, idle=0.0):
    """`a` (..., k) copied into an aligned array of lanes(k) networks, the idle ones set to `idle`."""
    k = a.shape[-1]
    out = aligned(a.shape[:-1] + (lanes(k),), a.dtype)
    out[..., :k], out[..., k:] = a, idle
    return out


class Readout:
    """Every network's activations and the loop's per-epoch readout of them, networks innermost (the kernels' own
    arrays, `width` networks); `keep(mask)` keeps some networks, `put(rows, other)` writes others' in."""
    NAMES = ("h", "y", "codes", "n_codes", "one_corner", "reconstructed", "within", "code_margin")

    def __init__(self, shape, width):
        n, nh = shape.n_patterns, shape.n_hidden
        self.h, self.y = aligned((n, nh, width)), aligned((n, n, width))
        self.codes, self.n_codes = aligned((n, width), np.int64), aligned(width, np.int64)
        self.one_corner, self.reconstructed, self.within = (aligned(width, np.bool_) for _ in range(3))
        self.code_margin = aligned(width)

    def arrays(self):
        return tuple(getattr(self, name) for name in self.NAMES)

    def keep(self, mask):
        for name in self.NAMES:
            setattr(self, name, in_lanes(getattr(self, name)[..., :len(mask)][..., mask]))
        return self

    def put(self, rows, other):
        for name in self.NAMES:
            getattr(self, name)[..., rows] = getattr(other, name)[..., :len(rows)]


class Scratch:
    """A step's scratch for one block of `width` networks: the output errors delta (N, N, B), the hidden ones dh
    (N H, B) and the readout's fresh flags (B,)."""

    def __init__(self, shape, width):
        n, nh, width = shape.n_patterns, shape.n_hidden, min(width, BLOCK)
        self.delta, self.dh, self.fresh = aligned((n, n, width)), aligned((n * nh, width)), aligned(width, np.bool_)

    def arrays(self):
        return self.delta, self.dh, self.fresh


class CompiledLearner:
    """What the kernels need to know of a backprop learner (backprop_learner.Backprop): its shape, inputs, loss,
    activation, hidden derivative offset and optimizer, in the kernels' terms."""

    def __init__(self, learner):
        shape = learner.shape
        n, nh = shape.n_patterns, shape.n_hidden
        self.shape = shape
        # a writable copy: a read-only array is another type to numba, and another compilation of every kernel
        self.x = np.empty((0, 0)) if learner.x is None else np.array(learner.x, dtype=float, order="C")
        self.loss, self.center = LOSS_CODES[learner.loss], float(learner.center)
        self.hidden_offset = float(learner.hidden_offset)
        self.state_names, self.plus = STATE[learner.optimizer_name], learner.optimizer_name == "rprop"
        self.constants = constants(learner.optimizer_name, learner.optimizer)
        self.sizes = (tuple(range(n)) if n <= UNROLLED else np.arange(n), tuple(range(nh)))
        self._spare = {}          # width -> a Readout that readout(..., reuse=True) overwrites
        if (n, nh, self.state_names) not in _READY:
            self._compile()
            _READY.add((n, nh, self.state_names))

    def _compile(self):
        """Compile the kernels for this size and optimizer (or load them from numba's cache), saying so once on
        stderr when numba really compiles."""
        with event.install_listener("numba:run_pass", _SayCompiling()):
            params = in_lanes(np.zeros((self.shape.n_params, 1)))
            self.readout(params, with_z=True)
            state = tuple(np.zeros_like(params) for _ in self.state_names)
            step(params, state, self.plus, np.ones(LANES), np.zeros(LANES), self.constants, self.x, self.loss,
                 self.center, self.hidden_offset, *Readout(self.shape, LANES).arrays(), *self.scratch(LANES).arrays(),
                 *self.sizes)

    def scratch(self, width):
        return Scratch(self.shape, width)

    def readout(self, params, with_z=False, reuse=False):
        """The Readout of parameters (P, S) (in_lanes), and its z (N, N, S) if asked. reuse: written into this
        learner's spare Readout of that width, which the next such call overwrites (for a caller that copies it at
        once: a restart, some networks at a time, would otherwise allocate ten arrays each time)."""
        width, n = params.shape[1], self.shape.n_patterns
        out = self._spare.get(width) if reuse else None
        if out is None:
            out = Readout(self.shape, width)
            if reuse:
                self._spare[width] = out
        z = aligned((n, n, width)) if with_z else _NO_Z
        forward(params, self.x, self.center, z, *out.arrays(), *self.sizes)
        return (out, z) if with_z else out


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
    (training_loop.fit's batch). Its arrays keep the networks innermost, in lanes (idle networks fill the last
    vector: parameters zero, lr and momentum zero); params (k, P), state (the optimizer's arrays by name, (k, P)
    each), hidden/h (k, N, H), outputs/y (k, N, N) and codes() (k, N) are views of the batch's own networks in the
    loop's order (z, which the step does not keep, is computed when asked). It also gives the loop the code counts
    and the solve flags the kernels computed (code_counts, solved)."""

    def __init__(self, learner, seeds, settings):
        self.learner, self.shape, self.seeds, self.k = learner, learner.shape, seeds, len(seeds)
        self.kernels = CompiledLearner(learner)
        self.init_scale = np.asarray(settings["init_scale"], dtype=float)
        self.lr, self.momentum = (in_lanes(np.asarray(settings[name], dtype=float)) for name in ("lr", "momentum"))
        names, width, n_params = self.kernels.state_names, lanes(self.k), self.shape.n_params
        self._params, self._state = aligned((n_params, width)), tuple(aligned((n_params, width)) for _ in names)
        self._params[:, self.k:] = 0.0
        for i, (seed, scale) in enumerate(zip(seeds, self.init_scale)):
            self._params[:, i] = learner.init_params(seed, scale)
        fresh = learner.optimizer.new_state(np.zeros((1, 1)))     # the optimizer's own initial values, one each
        for name, array in zip(names, self._state):
            array[...] = fresh[name][0, 0]
        self._reading(self.kernels.readout(self._params))

    def _reading(self, read):
        """Take `read` as the batch's Readout, and the step kernel's arguments with it (made once, not per epoch)."""
        k, self.read = self.kernels, read
        self._step_args = (self._params, self._state, k.plus, self.lr, self.momentum, k.constants, k.x, k.loss,
                           k.center, k.hidden_offset, *read.arrays(), *k.scratch(self._params.shape[1]).arrays(),
                           *k.sizes)

    params = property(lambda self: self._params[:, :self.k].T)
    state = property(lambda self: {name: a[:, :self.k].T for name, a in zip(self.kernels.state_names, self._state)})
    hidden = h = property(lambda self: self.read.h[..., :self.k].transpose(2, 0, 1))
    outputs = y = property(lambda self: self.read.y[..., :self.k].transpose(2, 0, 1))
    z = property(lambda self: self.kernels.readout(self._params, with_z=True)[1][..., :self.k].transpose(2, 0, 1))

    def codes(self):
        return self.read.codes[:, :self.k].T

    def code_counts(self):
        """codes (k, N), the number of distinct codes (k,) and whether they all share one corner (k,): copies, as
        numpy's batch gives, since the kernels overwrite their arrays every step (a caller that keeps last epoch's
        counts, as the plateau clock does, must not see them change)."""
        read, k = self.read, self.k
        return read.codes[:, :k].T.copy(), read.n_codes[:k].copy(), read.one_corner[:k].copy()

    def solved(self, criterion, margin):
        """The strict or Fahlman criterion (training_loop.CRITERIA) from the kernels' flags; None for another."""
        read, k = self.read, self.k
        if criterion == "strict":
            ok = (read.n_codes[:k] == self.shape.n_patterns) & read.reconstructed[:k]
            return ok & (read.code_margin[:k] >= margin) if margin > 0 else ok
        if criterion == "fahlman":
            return read.within[:k].copy()
        return None

    def step(self):
        step(*self._step_args)

    def restart(self, rows, attempts):
        for i, attempt in zip(rows, attempts):
            self._params[:, i] = self.learner.init_params(self.seeds[i], self.init_scale[i], attempt)
        self.learner.optimizer.reset(self.state, rows)
        self.read.put(rows, self.kernels.readout(in_lanes(self._params[:, rows]), reuse=True))

    def load(self, params, state):
        """As _BackpropBatch.load: every network's parameters and optimizer arrays replaced, row for row."""
        self.params[...] = params
        mine = self.state
        for name, value in state.items():
            mine[name][...] = value
        self._reading(self.kernels.readout(self._params))

    def keep(self, mask):
        self.seeds, self.init_scale, self.k = self.seeds[mask], self.init_scale[mask], int(np.count_nonzero(mask))
        self.lr, self.momentum, self._params, *state = (in_lanes(a[..., :len(mask)][..., mask]) for a in (
            self.lr, self.momentum, self._params, *self._state))
        self._state = tuple(state)
        self._reading(self.read.keep(mask))


def readout(learner, params):
    """codes (S, N), hidden (S, N, H), outputs (S, N, N) of final parameters (S, P), as the kernels compute them."""
    k = len(params)
    read = CompiledLearner(learner).readout(in_lanes(np.asarray(params, dtype=float).T))
    return (read.codes[:, :k].T.copy(), read.h[..., :k].transpose(2, 0, 1).copy(),
            read.y[..., :k].transpose(2, 0, 1).copy())


def warm_up(kernels=((8, 3, "momentum"), (4, 2, "momentum"), (8, 3, "quickprop"), (8, 3, "rprop"))):
    """Compile the kernels (or load them from numba's cache) for these (N, H, optimizer) now (rprop and irprop share
    theirs)."""
    from backprop_learner import Backprop
    from training_loop import Shape
    for n, nh, optimizer in kernels:
        CompiledLearner(Backprop(Shape(n, nh), optimizer=optimizer))
