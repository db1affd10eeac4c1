"""Compiled (numba) inner loops of the Boltzmann learners: the parts that are a long chain of tiny steps, where
numpy pays a call per step.

The 1985 kernels do the same float32 arithmetic as the numpy expressions they replaced, so their results are the
same bit for bit: tests/test_boltzmann_kernels.py holds the 1985 cycle to an independent pure-Python version exactly,
and tests/test_boltzmann.py pins a run's final weights as the numpy version left them. The CD-k kernel consumes the
same random numbers as the numpy reference boltzmann_learners.cd_update (pcg64_uniforms continues each
network's numpy stream exactly) but rounds differently: its sigmoid is a polynomial (within 3 ulp, numpy's float32
one is within 4) and its short sums may be reordered; tests hold it to the reference within float32 rounding.

    odds(uniforms)                                  u / (1 - u) of each probe's deciding number
    settle(W, states, uniforms, thresholds, free, collect, samples)   the 1985 procedure's single-unit probes
    pcg64_state(generator) / pcg64_uniforms(state, out)   a numpy PCG64 stream continued in compiled code
    pcg64_rows(states, out)                         a row of numbers from each of S streams
    sigmoid_(x, scratch)                            1 / (1 + exp(-x)) in place, vectorisable
    cd_epoch(params, velocity, states, uniforms, ...)     updates of every network, each from its own stream
"""
import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic


@njit(cache=True)
def odds(uniforms):
    """u / (1 - u) for the second number of every (unit, decision) pair: uniforms (S, C, P, 2) -> (S, C, P)."""
    S, C, P, _ = uniforms.shape
    out = np.empty((S, C, P), np.float32)
    for s in range(S):
        for c in range(C):
            for p in range(P):
                u = uniforms[s, c, p, 1]
                out[s, c, p] = u / (np.float32(1.0) - u)
    return out


# The fields are sums of integers below 2^24, exact in float32 in any order, so letting the compiler reorder
# (vectorise) them changes no bit.
@njit(cache=True, fastmath={"reassoc"})
def settle(W, states, uniforms, thresholds, free, collect, samples):
    """Run the probes of every chain in place, copying each chain's state into samples at every statistics
    point.

    W (S, n, n) float32 weights (integers, so every field is exact); states (S, C, n) float32 0/1;
    uniforms (S, C, P, 2) float32: the first number of probe p picks unit free[int(u * len(free))];
    thresholds (S, C, P) float32: the value its field must exceed to turn the unit on (T * logit(u));
    collect (P,) bool: sample the chain after this probe; samples (S, C, collect.sum(), n) float32, filled.
    Chains are independent, so running each to its end in turn gives what running all chains probe by probe
    gives."""
    S, C, n = states.shape
    P = thresholds.shape[2]
    width = np.float32(len(free))
    for s in range(S):
        for c in range(C):
            state = states[s, c]
            taken = 0
            for p in range(P):
                k = free[int(uniforms[s, c, p, 0] * width)]
                field = np.float32(0.0)
                for j in range(n):
                    field += W[s, k, j] * state[j]
                state[k] = np.float32(1.0) if field > thresholds[s, c, p] else np.float32(0.0)
                if collect[p]:
                    samples[s, c, taken] = state
                    taken += 1


# ------------------------------------------------------------------------------- PCG64 streams, as numpy's
PCG64_MULTIPLIER_HI = np.uint64(0x2360ed051fc65da4)     # numpy's 128-bit LCG multiplier, in two halves
PCG64_MULTIPLIER_LO = np.uint64(0x4385df649fccf645)
_LOW32 = np.uint64(0xFFFFFFFF)


@intrinsic
def _mulhi64(typingctx, a, b):
    """The high 64 bits of the 128-bit product a * b (one machine multiply; numba has no 128-bit integers)."""
    def codegen(context, builder, signature, args):
        wide = ir.IntType(128)
        product = builder.mul(builder.zext(args[0], wide), builder.zext(args[1], wide))
        return builder.trunc(builder.lshr(product, ir.Constant(wide, 64)), ir.IntType(64))
    return types.uint64(types.uint64, types.uint64), codegen


def pcg64_state(generator):
    """A numpy Generator's PCG64 state as uint64[6]: LCG state (high, low), increment (high, low), whether a
    32-bit half of the last output is buffered, and that half. pcg64_uniforms continues the stream from it."""
    state = generator.bit_generator.state
    if state["bit_generator"] != "PCG64":
        raise ValueError(f"expected a PCG64 generator, got {state['bit_generator']}")
    lcg, increment = state["state"]["state"], state["state"]["inc"]
    return np.array([lcg >> 64, lcg & (2 ** 64 - 1), increment >> 64, increment & (2 ** 64 - 1),
                     state["has_uint32"], state["uinteger"]], np.uint64)


@njit(cache=True)
def _pcg64_next(high, low, inc_high, inc_low):
    """One step of the 128-bit LCG and its XSL-RR output: (new high, new low, 64 random bits)."""
    product_low = low * PCG64_MULTIPLIER_LO
    high = _mulhi64(low, PCG64_MULTIPLIER_LO) + low * PCG64_MULTIPLIER_HI + high * PCG64_MULTIPLIER_LO
    low = product_low + inc_low
    high = high + inc_high + (np.uint64(1) if low < product_low else np.uint64(0))
    folded = high ^ low
    rotation = high >> np.uint64(58)
    return high, low, (folded >> rotation) | (folded << ((np.uint64(64) - rotation) & np.uint64(63)))


@njit(cache=True)
def _to_float32(bits32):
    return np.float32(bits32 >> np.uint64(8)) * np.float32(1.0 / 16777216.0)      # numpy's next_float


@njit(cache=True)
def pcg64_uniforms(state, out):
    """Fill out (float32) with the stream's next numbers, the ones Generator.random(dtype=np.float32) would
    give (each from a 32-bit half of a 64-bit output, low half first), and advance state (uint64[6]) in place."""
    high, low, inc_high, inc_low = state[0], state[1], state[2], state[3]
    count, t = out.shape[0], 0
    if state[4] != 0 and count > 0:
        out[0] = _to_float32(state[5])
        state[4], t = 0, 1
    while t + 1 < count:
        high, low, bits = _pcg64_next(high, low, inc_high, inc_low)
        out[t], out[t + 1] = _to_float32(bits & _LOW32), _to_float32(bits >> np.uint64(32))
        t += 2
    if t < count:
        high, low, bits = _pcg64_next(high, low, inc_high, inc_low)
        out[t] = _to_float32(bits & _LOW32)
        state[4], state[5] = 1, bits >> np.uint64(32)
    state[0], state[1] = high, low


@njit(cache=True)
def pcg64_rows(states, out):
    """Row s of out (S, M) float32 <- the next M numbers of stream s (states (S, 6), advanced)."""
    for s in range(out.shape[0]):
        pcg64_uniforms(states[s], out[s])


# ------------------------------------------------------------------------------------------------- CD-k
@njit(cache=True)
def sigmoid_(x, scratch):
    """x (m,) float32 <- 1 / (1 + exp(-x)), in place; scratch (>= m,) int32. exp is Cephes' expf (a degree-6
    polynomial after taking out a power of two) written without branches or calls so that the loop vectorises:
    numba's exp is a library call per element, and exp was two thirds of the CD-k update's time."""
    for i in range(x.shape[0]):
        z = min(max(-x[i], np.float32(-87.0)), np.float32(88.0))   # exp(-87) -> sigmoid 1, exp(88) -> ~0
        power = np.int32(z * np.float32(1.44269504) + np.float32(128.5)) - np.int32(128)   # round(z / ln 2)
        n = np.float32(power)
        r = z - n * np.float32(0.693359375) - n * np.float32(-2.12194440e-4)               # z - n ln 2
        p = np.float32(1.9875691500e-4)
        p = p * r + np.float32(1.3981999507e-3)
        p = p * r + np.float32(8.3334519073e-3)
        p = p * r + np.float32(4.1665795894e-2)
        p = p * r + np.float32(1.6666665459e-1)
        p = p * r + np.float32(5.0000001201e-1)
        x[i] = p * (r * r) + r + np.float32(1.0)                                           # exp(r)
        scratch[i] = (power + np.int32(127)) << np.int32(23)                               # 2^n as float32 bits
    two_to_n = scratch.view(np.float32)
    for i in range(x.shape[0]):
        x[i] = np.float32(1.0) / (np.float32(1.0) + x[i] * two_to_n[i])


# No fast-math flags: every operation rounds as IEEE float32 in the order written, so a network's run is the same
# on any machine and however the compiler inlines this. The loops still vectorise because their lanes are
# independent elements (visible units, or patterns), never the terms of one sum.
@njit(cache=True)
def cd_network(params, velocity, uniforms, n, n_hid, k, lr, momentum, decay, sparsity, target, through_sigmoid):
    """len(uniforms) full-batch CD-k updates of one RBM, in place: the algorithm of
    boltzmann_learners.cd_update, on one network, in float32.

    params, velocity (P,) = W (2N, H) row-major, b (2N), c (H); uniforms (updates, k * N * (H + 2N)).
    through_sigmoid: the recipe's sparsity gradient (on W and c, times p(1-p)); else the pull on c alone."""
    v_units, n_states = 2 * n, 1 << n_hid
    n_w = v_units * n_hid
    W, VW = params[:n_w].reshape(v_units, n_hid), velocity[:n_w].reshape(v_units, n_hid)
    b, Vb = params[n_w:n_w + v_units], velocity[n_w:n_w + v_units]
    c, Vc = params[n_w + v_units:], velocity[n_w + v_units:]
    bits = np.empty((n_states, n_hid), np.float32)                     # hidden state s = its H bits, first unit high
    for s in range(n_states):
        for j in range(n_hid):
            bits[s, j] = (s >> (n_hid - 1 - j)) & 1
    p_v = np.empty((n_states, v_units), np.float32)                    # p(v | hidden state s)
    ph0, ph = np.empty((n_hid, n), np.float32), np.empty((n_hid, n), np.float32)   # p(h_j | pattern p's v)
    vT = np.empty((v_units, n), np.float32)                            # visible sample, a column per pattern
    code = np.empty(n, np.int64)
    scratch = np.empty(max(n_states * v_units, n * n_hid), np.int32)
    per_pattern, inv_n = n_hid + v_units, np.float32(1.0 / n)
    pull, mean_slope = np.empty(n_hid, np.float32), np.empty(n_hid, np.float32)
    for update in range(uniforms.shape[0]):
        u = uniforms[update]
        for s in range(n_states):
            for i in range(v_units):
                p_v[s, i] = b[i]
            for j in range(n_hid):
                for i in range(v_units):
                    p_v[s, i] += bits[s, j] * W[i, j]
        sigmoid_(p_v.reshape(-1), scratch)
        for j in range(n_hid):
            for p in range(n):
                ph0[j, p] = W[p, j] + W[n + p, j] + c[j]              # pattern p turns on V1[p] and V2[p]
        sigmoid_(ph0.reshape(-1), scratch)
        for j in range(n_hid):
            for p in range(n):
                ph[j, p] = ph0[j, p]
        for step in range(k):
            for p in range(n):
                at, s = (step * n + p) * per_pattern, 0
                for j in range(n_hid):
                    s = 2 * s + (u[at + j] < ph[j, p])
                code[p] = s
            for p in range(n):
                at = (step * n + p) * per_pattern + n_hid
                for i in range(v_units):
                    vT[i, p] = np.float32(u[at + i] < p_v[code[p], i])
            for j in range(n_hid):                                      # field of h_j for every pattern at once
                for p in range(n):
                    ph[j, p] = 0.0
                for i in range(v_units):
                    for p in range(n):
                        ph[j, p] += vT[i, p] * W[i, j]
                for p in range(n):
                    ph[j, p] += c[j]
            sigmoid_(ph.reshape(-1), scratch)
        for j in range(n_hid):
            mean_ph0, slope_sum = np.float32(0.0), np.float32(0.0)
            for p in range(n):
                mean_ph0 += ph0[j, p]
                slope_sum += ph0[j, p] * (np.float32(1.0) - ph0[j, p])
            pull[j] = sparsity * (target - mean_ph0 * inv_n)
            mean_slope[j] = slope_sum * inv_n
        for i in range(v_units):
            for j in range(n_hid):
                neg = np.float32(0.0)                                   # sum over patterns of v_i * p(h_j | v)
                for p in range(n):
                    neg += vT[i, p] * ph[j, p]
                grad = (ph0[j, i % n] - neg) * inv_n - decay * W[i, j]
                if through_sigmoid:                                     # pattern i % n is the one with v_i on
                    slope = ph0[j, i % n] * (np.float32(1.0) - ph0[j, i % n])
                    grad = grad + slope * inv_n * pull[j]
                VW[i, j] = VW[i, j] * momentum + lr * grad
                W[i, j] += VW[i, j]
        for i in range(v_units):
            on = np.float32(0.0)
            for p in range(n):
                on += vT[i, p]
            Vb[i] = Vb[i] * momentum + lr * (inv_n - on * inv_n)
            b[i] += Vb[i]
        for j in range(n_hid):
            mean_ph0, mean_ph = np.float32(0.0), np.float32(0.0)
            for p in range(n):
                mean_ph0 += ph0[j, p]
                mean_ph += ph[j, p]
            mean_ph0, mean_ph = mean_ph0 * inv_n, mean_ph * inv_n
            sparse = mean_slope[j] * pull[j] if through_sigmoid else pull[j]
            Vc[j] = Vc[j] * momentum + lr * (mean_ph0 - mean_ph + sparse)
            c[j] += Vc[j]


@njit(cache=True)
def cd_epoch(params, velocity, states, uniforms, n, n_hid, k, lr, momentum, decay, sparsity, target, through_sigmoid):
    """Every network's updates, each drawing its numbers from its own stream: params, velocity (S, P) float32;
    states (S, 6) PCG64 states (pcg64_state), advanced; uniforms (updates, k * N * (H + 2N)) float32 scratch."""
    for net in range(params.shape[0]):
        pcg64_uniforms(states[net], uniforms.reshape(-1))
        cd_network(params[net], velocity[net], uniforms, n, n_hid, k, lr, momentum, decay, sparsity, target,
                   through_sigmoid)


def warm_up():
    """Compile every kernel now (and write numba's cache) for the array layouts the learner passes: the uniforms
    are a slice of each network's row of random numbers, contiguous for one network and strided for several; the
    statistics schedule is read-only (a writable one, which no caller passes, would be compiled again on first use)."""
    collect = np.array([True, False])
    collect.flags.writeable = False          # the learner's schedule is cached, so read-only: another type to numba
    for n_networks in (1, 2):
        uniforms = np.split(np.full((n_networks, 8), 0.5, np.float32), [4], axis=-1)[0].reshape(n_networks, 1, 2, 2)
        odds(uniforms)
        settle(np.zeros((n_networks, 2, 2), np.float32), np.zeros((n_networks, 1, 2), np.float32), uniforms,
               np.zeros((n_networks, 1, 2), np.float32), np.arange(2), collect,
               np.zeros((n_networks, 1, 1, 2), np.float32))
    pcg64_rows(np.zeros((2, 6), np.uint64), np.zeros((2, 3), np.float32))
    f = np.float32(0.1)
    cd_epoch(np.zeros((2, 9), np.float32), np.zeros((2, 9), np.float32), np.zeros((2, 6), np.uint64),
             np.zeros((1, 2 * 2 * 5), np.float32), 2, 1, 2, f, f, f, f, f, True)
