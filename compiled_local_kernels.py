"""Compiled (numba) epochs of the local learners (local_learners.py, engine "compiled"): one call runs an epoch of
every network of a batch and the readout the criterion reads after it, so Python's cost is one call per epoch.

Networks run side by side in lanes: a lane's parameters and state are a column of arrays (units, lanes), so a step
of every lane's settling is a few loops over the lanes that the compiler turns into vector operations. Each lane
runs its network's settlings one after another on its own: when one converges, the lane goes straight on to its next
settling, or to the next network of the batch, while the others are still settling (numpy instead moves the whole
stack in step, each converged row frozen until the last one converges). A lane's arithmetic never involves another
column, so a network's run is the same in any lane, alone or in any batch.

The arithmetic is local_learners' numpy reference, in float64, in the same order wherever the order is ours (each
net input sums its senders in index order; numpy's matrix products may sum in another order), and exp is the compiled
backprop engine's, a polynomial within about 1 ulp (numpy's own differs from the exact value too). So the two engines
agree to rounding, not bit for bit (tests/test_compiled_local.py). A settling stops when its largest change falls
below the tolerance, so a change within rounding of the tolerance can stop one engine a step before the other, and
the two runs of that network then drift apart: docs/local_rules.md measures how often the solve epoch differs. The
pattern orders are drawn by the caller from each network's own numpy stream, so both engines present the same
patterns.

    settling_run(lanes, params, lr, orders, train, ...)   chl and the GeneRec rules: an epoch, or only the readout
    recirculation_run(lanes, params, lr, orders, train, ...)   Hinton & McClelland's four passes (no settling)
    mean_field_run(lanes, W, lr, orders, train, ...)      deterministic Boltzmann learning
    lanes_for(n_networks)                                 the lanes to pass
"""
import numpy as np
from numba import njit

from compiled_backprop import _wide_vectors, sigmoid

SETTLING_RULES = ("chl", "generec", "generec-mid", "generec-sym")      # a rule's code is its index here
LANES = 32                       # the most networks side by side: 4 vectors of 8 float64s
WIDTH = 8                        # float64s in a 512-bit vector


def lanes_for(n_networks):
    """The lanes of a call of n networks: at most LANES, spread evenly, whole vectors (an idle lane costs what a
    busy one does). Passed to the kernels as an argument: the compiler vectorises a loop whose count it does not
    know, checking when it runs that its vectors do not overlap; a loop of a known 8 or 32 it would unroll instead,
    and then not vectorise."""
    per_lane = -(-n_networks // LANES)
    return min(LANES, WIDTH * -(-n_networks // (WIDTH * per_lane)))


# No fast-math: every operation rounds as IEEE float64 in the order written, so a network's run is the same on any
# machine however the compiler vectorises (a vector's lanes are different networks, never the terms of one sum; the
# kernels ask for 512-bit vectors, _wide_vectors). error_model "numpy": a division is the IEEE one, unchecked (a
# check would stop the loops from vectorising). The sigmoid is the compiled backprop engine's: 1 / (1 + e^-x) with
# its polynomial exp, x clipped at -50 (above 50 it is 1.0 either way, as numpy's clip at 50 gives).
# inline: numba's own inlining, for the helpers of every settling step (without it, settling was 8-10% slower); a
# helper called once per pattern or phase is a plain kernel, which LLVM inlines or not: numba's inline types it
# again at every call, which made compiling a third slower (docs/performance.md)
kernel = njit(cache=True, error_model="numpy")
inline = njit(cache=True, error_model="numpy", inline="always")


@inline
def activation(eta, bound, squash):
    """local_learners.activation of one unit: s(eta), clipped to [bound, 1 - bound] or squashed into it."""
    a = sigmoid(eta)
    if bound != 0.0:
        a = bound + (1.0 - 2.0 * bound) * a if squash else min(max(a, bound), 1.0 - bound)
    return a


# ------------------------------------------------------------------------------------------- lanes of networks
@kernel
def load(rows, first, group):
    """group (M, lanes) <- rows[first:first + lanes] (S, M), a network per column, zeros past the last row; returns
    the number of networks loaded."""
    used = min(group.shape[1], rows.shape[0] - first)
    group[:] = 0.0
    for g in range(used):
        for m in range(rows.shape[1]):
            group[m, g] = rows[first + g, m]
    return used


@kernel
def store(group, rows, first):
    """rows[first:first + lanes] <- the columns of group that hold networks."""
    for g in range(min(group.shape[1], rows.shape[0] - first)):
        for m in range(rows.shape[1]):
            rows[first + g, m] = group[m, g]


@kernel
def lanes_of(values, first, out):
    """out (lanes,) <- values[first:first + lanes], zeros past the end."""
    out[:] = 0
    for g in range(min(out.shape[0], values.shape[0] - first)):
        out[g] = values[first + g]


@kernel
def update(group, rates, delta):
    """group += rates * delta, column by column (a network's own learning rate), then delta <- 0."""
    for m in range(group.shape[0]):
        for g in range(group.shape[1]):
            group[m, g] += rates[g] * delta[m, g]
    delta[:] = 0.0


@kernel
def update_lane(group, g, rate, delta):
    """Column g: group += rate * delta, then delta <- 0."""
    for m in range(group.shape[0]):
        group[m, g] += rate * delta[m, g]
        delta[m, g] = 0.0


@kernel
def blocks(group, n, h):
    """W_in (N, H, lanes), b_h (H, lanes), W_out (H, N, lanes), b_out (N, lanes) and the rest (a network per
    column) of a group's parameters (P, lanes). O'Reilly's network (the rest is W_oh, N x H) and recirculation (no
    rest) both start with these four blocks."""
    a, b, c, d, lanes = n * h, n * h + h, 2 * n * h + h, 2 * n * h + h + n, group.shape[1]
    return group[:a].reshape(n, h, lanes), group[a:b], group[b:c].reshape(h, n, lanes), group[c:d], group[d:]


# ----------------------------------------------------------------------- O'Reilly's network: input -> hidden <-> output
# Each lane settles its minus phases (outputs free) one step of every lane at a time; a plus phase (plus_phase)
# settles in one go as soon as its minus phase ends. A state is eta and a, (H + N, lanes): the hidden units, then the
# outputs.
@inline
def settling_step(W_oh, W_ho, bias, eta, a, step, bound, squash, net, change):
    """One synchronous Euler step of every lane's minus phase (local_learners.settle), in place of eta and a:
    eta += step (-eta + net + bias), a = activation(eta). bias: the hidden units' drive from the clamped input
    and their bias, then the outputs' biases; step (lanes,): dt, or 0 for an idle lane; change (lanes,) <- each
    lane's largest activation change; net: scratch."""
    h, n, lanes = W_ho.shape
    net[:] = 0.0
    for k in range(n):
        for j in range(h):
            for g in range(lanes):
                net[j, g] += a[h + k, g] * W_oh[k, j, g]
    for j in range(h):
        for k in range(n):
            for g in range(lanes):
                net[h + k, g] += a[j, g] * W_ho[j, k, g]
    change[:] = 0.0
    for u in range(h + n):
        for g in range(lanes):
            e = eta[u, g] + step[g] * (net[u, g] + bias[u, g] - eta[u, g])
            y = activation(e, bound, squash)
            change[g] = max(change[g], abs(y - a[u, g]))
            eta[u, g], a[u, g] = e, y


@kernel
def plus_phase(group, bias, eta, a, g, pattern, n, h, dt, tolerance, max_steps, bound, squash, low):
    """Settle lane g's plus phase in place of its hidden units (eta and a from zero or from the minus phase), its
    outputs clamped to the one-hot pattern (low and 1 - low for its 0s and 1): the hidden units' net input from
    the outputs is W_oh[pattern] throughout, or with low > 0 the clamped outputs times W_oh."""
    for k in range(n):
        a[h + k, g] = 1.0 - low if k == pattern else low
    W_oh = 2 * n * h + h + n                            # where W_oh starts in a network's parameters
    for _ in range(max_steps):
        change = 0.0
        for j in range(h):
            if low == 0.0:
                feedback = group[W_oh + pattern * h + j, g]
            else:
                feedback = 0.0
                for k in range(n):
                    feedback += a[h + k, g] * group[W_oh + k * h + j, g]
            e = eta[j, g] + dt * (bias[j, g] + feedback - eta[j, g])
            y = activation(e, bound, squash)
            change = max(change, abs(y - a[j, g]))
            eta[j, g], a[j, g] = e, y
        if not change / dt >= tolerance:
            return


@kernel
def begin_minus(group, g, pattern, n, h, bias, eta, a):
    """Lane g starts the minus phase of `pattern` from zero activations."""
    for j in range(h):                                  # the one-hot input times W_ih: its row, exactly; b_h
        bias[j, g] = group[pattern * h + j, g] + group[n * h + j, g]
    for k in range(n):                                  # b_o
        bias[h + k, g] = group[2 * n * h + h + k, g]
    for u in range(h + n):
        eta[u, g], a[u, g] = 0.0, 0.0


@kernel
def add_rule_changes(rule, g, pattern, minus, plus, n, h, delta):
    """Column g of delta (P, lanes) += dW / lr of the rule for one pattern (local_learners.rule_changes), from the
    settled activations minus and plus (H + N, lanes). The input is one-hot: W_ih changes in the pattern's row."""
    b_h, W_ho, b_o, W_oh = n * h, n * h + h, 2 * n * h + h, 2 * n * h + h + n      # where each block starts
    for j in range(h):
        hm, hp = minus[j, g], plus[j, g]
        dh = hp - hm
        delta[pattern * h + j, g] += dh
        delta[b_h + j, g] += dh
        for k in range(n):
            om, op = minus[h + k, g], plus[h + k, g]
            do = op - om
            if rule == 0:
                forward = hp * op - hm * om
                backward = forward
            elif rule == 1:
                forward, backward = hm * do, om * dh
            elif rule == 2:
                forward, backward = (hm + hp) / 2 * do, (om + op) / 2 * dh
            else:
                forward = hm * do + dh * om
                backward = forward
            delta[W_ho + j * n + k, g] += forward
            delta[W_oh + k * h + j, g] += backward
    for k in range(n):
        delta[b_o + k, g] += plus[h + k, g] - minus[h + k, g]


@kernel
def settling_run(lanes, params, lr, orders, train, batch, rule, n, h, dt, tolerance, max_steps, bound, squash,
                 plus_from_minus, during, low, hidden, outputs):
    """An epoch of every network of params (S, P), in place (local_learners.SettlingLearner.train_epoch), or with
    train False only the readout. An epoch presents the patterns in each network's order (orders (S, N)) with a
    weight change after each, or (batch) in index order with one change, their sum; then hidden (S, N, H), outputs
    (S, N, N) <- each pattern's minus phase during the epoch (during) or a fresh one after it. The plus phase clamps
    the outputs to low and 1 - low.

    Each lane runs one network at a time; a lane whose settling has converged (its largest activation change
    divided by dt below the tolerance, or max_steps steps) goes on to its next settling, or network, while the
    others are still settling."""
    _wide_vectors()
    units = h + n
    group, delta = np.zeros((params.shape[1], lanes)), np.zeros((params.shape[1], lanes))
    eta, a, net, bias = (np.zeros((units, lanes)), np.zeros((units, lanes)), np.zeros((units, lanes)),
                         np.zeros((units, lanes)))
    minus, plus_eta, plus = np.zeros((units, lanes)), np.zeros((units, lanes)), np.zeros((units, lanes))
    step, change, rates = np.zeros(lanes), np.zeros(lanes), np.zeros(lanes)
    network, readout, t, pattern, steps = (np.full(lanes, -1), np.zeros(lanes, np.bool_), np.zeros(lanes, np.int64),
                                           np.zeros(lanes, np.int64), np.zeros(lanes, np.int64))
    _, _, W_ho, _, W_oh = blocks(group, n, h)
    W_oh = W_oh.reshape(n, h, lanes)
    waiting, busy = 0, 0
    while True:
        for g in range(lanes):                       # idle lanes take the next network
            if network[g] >= 0 or waiting == params.shape[0]:
                continue
            s = network[g] = waiting
            waiting, busy = waiting + 1, busy + 1
            for m in range(params.shape[1]):
                group[m, g] = params[s, m]
            rates[g], step[g], t[g], steps[g], readout[g] = lr[s], dt, 0, 0, not train
            pattern[g] = orders[s, 0] if train and not batch else 0
            begin_minus(group, g, pattern[g], n, h, bias, eta, a)
        if busy == 0:
            return
        settling_step(W_oh, W_ho, bias, eta, a, step, bound, squash, net, change)
        for g in range(lanes):
            if network[g] < 0:
                continue
            steps[g] += 1
            if change[g] / dt >= tolerance and steps[g] < max_steps:
                continue
            s, p = network[g], pattern[g]
            steps[g] = 0
            if readout[g] or during:
                for j in range(h):
                    hidden[s, p, j] = a[j, g]
                for k in range(n):
                    outputs[s, p, k] = a[h + k, g]
            if readout[g]:                           # -> the next pattern's readout
                pattern[g] += 1
                if pattern[g] < n:
                    begin_minus(group, g, pattern[g], n, h, bias, eta, a)
                    continue
            else:                                    # the plus phase and the weight change; -> the next pattern
                for u in range(units):
                    minus[u, g] = a[u, g]
                    plus_eta[u, g], plus[u, g] = (eta[u, g], a[u, g]) if plus_from_minus else (0.0, 0.0)
                plus_phase(group, bias, plus_eta, plus, g, p, n, h, dt, tolerance, max_steps, bound, squash, low)
                add_rule_changes(rule, g, p, minus, plus, n, h, delta)
                t[g] += 1
                if not batch or t[g] == n:
                    update_lane(group, g, rates[g], delta)
                if t[g] < n:
                    pattern[g] = t[g] if batch else orders[s, t[g]]
                    begin_minus(group, g, pattern[g], n, h, bias, eta, a)
                    continue
                for m in range(params.shape[1]):
                    params[s, m] = group[m, g]
                if not during:
                    readout[g], pattern[g] = True, 0
                    begin_minus(group, g, 0, n, h, bias, eta, a)
                    continue
            network[g], step[g], busy = -1, 0.0, busy - 1


# ----------------------------------------------------------------------------------- recirculation (H & M 1988)
@kernel
def recirculation_passes(group, pattern, n, h, regression, y):
    """y (4, max(N, H), lanes) <- y0 (each network's one-hot pattern), y1, y2, y3
    (local_learners.recirculation_passes)."""
    W_vh, b_h, W_hv, b_v, _ = blocks(group, n, h)
    lanes = group.shape[1]
    y[0] = 0.0
    for g in range(lanes):
        y[0, pattern[g], g] = 1.0
    for j in range(h):
        for g in range(lanes):
            y[1, j, g] = sigmoid(W_vh[pattern[g], j, g] + b_h[j, g])
    for i in range(n):
        y[2, i] = 0.0
        for j in range(h):
            for g in range(lanes):
                y[2, i, g] += y[1, j, g] * W_hv[j, i, g]
        for g in range(lanes):
            y[2, i, g] = regression * y[0, i, g] + (1 - regression) * sigmoid(y[2, i, g] + b_v[i, g])
    for j in range(h):
        y[3, j] = 0.0
        for i in range(n):
            for g in range(lanes):
                y[3, j, g] += y[2, i, g] * W_vh[i, j, g]
        for g in range(lanes):
            y[3, j, g] = regression * y[1, j, g] + (1 - regression) * sigmoid(y[3, j, g] + b_h[j, g])


@kernel
def recirculation_run(lanes, params, lr, orders, train, batch, n, h, regression, hidden, outputs):
    """An epoch of every network (local_learners.Recirculation.train_epoch), in place of params (S, P), or with
    train False only the readout: the patterns in each network's order (orders (S, N)) with a weight change after
    each, or (batch) in index order with one change, their sum. Then hidden (S, N, H) <- y1 of every pattern,
    outputs (S, N, N) <- its reconstruction with regression 0. No settling: a group's lanes run in step."""
    _wide_vectors()
    group, delta, rates = np.zeros((params.shape[1], lanes)), np.zeros((params.shape[1], lanes)), np.zeros(lanes)
    y, pattern = np.zeros((4, max(n, h), lanes)), np.zeros(lanes, np.int64)
    d_vh, d_bh, d_hv, d_bv, _ = blocks(delta, n, h)
    for first in range(0, params.shape[0], lanes):
        used = load(params, first, group)
        lanes_of(lr, first, rates)
        for t in range(n if train else 0):
            for g in range(lanes):
                pattern[g] = t if batch or g >= used else orders[first + g, t]
            recirculation_passes(group, pattern, n, h, regression, y)
            for i in range(n):
                for j in range(h):
                    for g in range(lanes):
                        d_vh[i, j, g] += y[2, i, g] * (y[1, j, g] - y[3, j, g])
                        d_hv[j, i, g] += y[1, j, g] * (y[0, i, g] - y[2, i, g])
                for g in range(lanes):
                    d_bv[i, g] += y[0, i, g] - y[2, i, g]
            for j in range(h):
                for g in range(lanes):
                    d_bh[j, g] += y[1, j, g] - y[3, j, g]
            if not batch or t == n - 1:
                update(group, rates, delta)
        if train:
            store(group, params, first)
        for p in range(n):
            pattern[:] = p
            recirculation_passes(group, pattern, n, h, 0.0, y)
            for g in range(used):
                for j in range(h):
                    hidden[first + g, p, j] = y[1, j, g]
                for i in range(n):
                    outputs[first + g, p, i] = y[2, i, g]


# ----------------------------------------------------------------------------- deterministic Boltzmann (Hinton 1989)
# Units as local_learners.MeanFieldLayout: V1 0..N-1, V2 N..2N-1, H 2N..2N+H-1, then the always-on unit. The free
# units of every clamping are one range of them, (first, end).
@inline
def mean_field_step(W, mask, p, first, end, span, step, temperature, net, change):
    """One synchronous step of every lane's settling (local_learners.mean_field_settle), in place of p (U, lanes):
    p += step (s(p W / T) - p) on each lane's free units, first[g] <= unit < end[g]; span (lo, hi) holds every
    lane's free units; W (U, U, lanes); step (lanes,): dt, or 0 for an idle lane; change (lanes,) <- each lane's
    max |s(p W / T) - p|; net: scratch (U, lanes). A weight outside mask is zero and is skipped."""
    lo, hi = span
    units, lanes = p.shape
    net[lo:hi] = 0.0
    for j in range(units):
        for i in range(lo, hi):
            if mask[j, i]:
                for g in range(lanes):
                    net[i, g] += p[j, g] * W[j, i, g]
    change[:] = 0.0
    for i in range(lo, hi):
        for g in range(lanes):
            c = sigmoid(net[i, g] / temperature) - p[i, g]
            if i < first[g] or i >= end[g]:
                c = 0.0
            change[g] = max(change[g], abs(c))
            p[i, g] += step[g] * c


@kernel
def clamp(p, g, pattern, first, end, n):
    """Lane g of p (U, lanes): the always-on unit on, and every V1 and V2 unit outside [first, end) set to the
    one-hot pattern."""
    p[p.shape[0] - 1, g] = 1.0
    for k in range(n):
        for unit in (k, n + k):
            if not first <= unit < end:
                p[unit, g] = 1.0 if k == pattern else 0.0


@kernel
def mean_field_change(W, g, links, plus, minus, weight, rate, keep):
    """Lane g of W (U, U, lanes): W += rate (plus' coactivity - weight minus' coactivity) on the links (K, 2), then
    W *= keep (1 - decay) (the weights off the links are zero); plus (R, U, lanes) and minus (M, U, lanes) settled
    states."""
    for link in range(links.shape[0]):
        i, j = links[link, 0], links[link, 1]
        together, apart = 0.0, 0.0
        for r in range(plus.shape[0]):
            together += plus[r, i, g] * plus[r, j, g]
        for r in range(minus.shape[0]):
            apart += minus[r, i, g] * minus[r, j, g]
        W[i, j, g] += rate * (together - weight * apart)
        W[i, j, g] *= keep


@kernel
def settle_lane(W, mask, p, g, first, end, temperature, dt, tolerance, max_steps, net):
    """Settle lane g of p (U, lanes) alone, as mean_field_step does, with the units first..end-1 free: for a plus
    phase, which frees only the hidden units, a few units' work per step."""
    for _ in range(max_steps):
        for i in range(first, end):
            net[i, g] = 0.0
            for j in range(p.shape[0]):
                if mask[j, i]:
                    net[i, g] += p[j, g] * W[j, i, g]
        change = 0.0
        for i in range(first, end):
            net[i, g] = sigmoid(net[i, g] / temperature) - p[i, g]
            change = max(change, abs(net[i, g]))
        for i in range(first, end):
            p[i, g] += dt * net[i, g]
        if not change >= tolerance:
            return


@kernel
def mean_field_run(lanes, W, lr, orders, train, batch, plus_state, minus_state, mask, links, plus_free, minus_free,
                   readout_free, n, h, temperature, dt, tolerance, max_steps, keep, start, hidden, outputs):
    """An epoch of every network (local_learners.MeanField.train_epoch), in place of W (S, U * U) and of the kept
    states plus_state (S, N * U), minus_state (S, M * U) (M = N, or 1 when the minus phase clamps nothing), or with
    train False only the readout. An epoch settles each pattern's plus and minus phase from the state its clamping
    reached before, with a weight change after each pattern (in each network's order), or (batch) every plus and
    minus state, then one change (the one free state counted N times). Then hidden (S, N, H), outputs (S, N, N) <-
    H and V2 settled from `start` with V1 clamped to each pattern.

    Lanes run networks as settling_run's do; a plus phase, which frees only the hidden units, settles in one go in
    its lane (settle_lane)."""
    _wide_vectors()
    units = mask.shape[0]
    rows = minus_state.shape[1] // units
    weights, kept_plus, kept_minus = (np.zeros((units * units, lanes)), np.zeros((n * units, lanes)),
                                      np.zeros((rows * units, lanes)))
    Wg, plus, minus = (weights.reshape(units, units, lanes), kept_plus.reshape(n, units, lanes),
                       kept_minus.reshape(rows, units, lanes))
    p, net = np.zeros((units, lanes)), np.zeros((units, lanes))
    step, change, rates = np.zeros(lanes), np.zeros(lanes), np.zeros(lanes)
    network, t, row, steps = (np.full(lanes, -1), np.zeros(lanes, np.int64), np.zeros(lanes, np.int64),
                              np.zeros(lanes, np.int64))
    first, end, readout = np.zeros(lanes, np.int64), np.zeros(lanes, np.int64), np.zeros(lanes, np.bool_)
    span = (min(minus_free[0], readout_free[0]), max(minus_free[1], readout_free[1]))
    waiting, busy = 0, 0
    while True:
        for g in range(lanes):
            if network[g] >= 0 or waiting == W.shape[0]:
                continue
            s = network[g] = waiting
            waiting, busy = waiting + 1, busy + 1
            for m in range(W.shape[1]):
                weights[m, g] = W[s, m]
            for m in range(plus_state.shape[1]):
                kept_plus[m, g] = plus_state[s, m]
            for m in range(minus_state.shape[1]):
                kept_minus[m, g] = minus_state[s, m]
            rates[g], step[g], t[g], steps[g], readout[g] = lr[s], dt, 0, 0, not train
            first[g], end[g] = readout_free if readout[g] else minus_free
            if readout[g]:
                row[g] = 0
                p[:, g] = start
            else:
                for r in range(n if batch else 1):   # the plus phases: every pattern's, or the first's
                    pattern = r if batch else orders[s, 0]
                    clamp(plus[pattern], g, pattern, plus_free[0], plus_free[1], n)
                    settle_lane(Wg, mask, plus[pattern], g, plus_free[0], plus_free[1], temperature, dt, tolerance,
                                max_steps, net)
                row[g] = 0 if batch or rows == 1 else orders[s, 0]
                p[:, g] = minus[row[g], :, g]
            clamp(p, g, row[g] if batch or readout[g] else orders[s, 0], first[g], end[g], n)
        if busy == 0:
            return
        mean_field_step(Wg, mask, p, first, end, span, step, temperature, net, change)
        for g in range(lanes):
            if network[g] < 0:
                continue
            steps[g] += 1
            if change[g] >= tolerance and steps[g] < max_steps:
                continue
            s, steps[g] = network[g], 0
            if readout[g]:                           # -> the next pattern's readout
                for j in range(h):
                    hidden[s, row[g], j] = p[2 * n + j, g]
                for i in range(n):
                    outputs[s, row[g], i] = p[n + i, g]
                row[g] += 1
                if row[g] < n:
                    p[:, g] = start
                    clamp(p, g, row[g], first[g], end[g], n)
                    continue
                network[g], step[g], busy = -1, 0.0, busy - 1
                continue
            minus[row[g], :, g] = p[:, g]            # keep the minus state; -> the next minus row, or the change
            if batch and row[g] + 1 < rows:
                row[g] += 1
                p[:, g] = minus[row[g], :, g]
                clamp(p, g, row[g], first[g], end[g], n)
                continue
            if batch:
                mean_field_change(Wg, g, links, plus, minus, n / rows, rates[g], keep)
            else:
                pattern = orders[s, t[g]]
                mean_field_change(Wg, g, links, plus[pattern:pattern + 1], minus[row[g]:row[g] + 1], 1.0, rates[g],
                                  keep)
            t[g] += 1
            if not batch and t[g] < n:               # the next pattern's plus phase, then its minus phase
                pattern = orders[s, t[g]]
                clamp(plus[pattern], g, pattern, plus_free[0], plus_free[1], n)
                settle_lane(Wg, mask, plus[pattern], g, plus_free[0], plus_free[1], temperature, dt, tolerance,
                            max_steps, net)
                row[g] = pattern if rows == n else 0
                p[:, g] = minus[row[g], :, g]
                clamp(p, g, pattern, first[g], end[g], n)
                continue
            for m in range(W.shape[1]):
                W[s, m] = weights[m, g]
            for m in range(plus_state.shape[1]):
                plus_state[s, m] = kept_plus[m, g]
            for m in range(minus_state.shape[1]):
                minus_state[s, m] = kept_minus[m, g]
            readout[g], row[g], first[g], end[g] = True, 0, readout_free[0], readout_free[1]
            p[:, g] = start
            clamp(p, g, 0, first[g], end[g], n)


def warm_up():
    """Compile every kernel now (and write numba's cache), with the argument types local_learners passes."""
    n, h = 2, 1
    orders, hidden, outputs, lr = np.zeros((1, n), np.int64), np.zeros((1, n, h)), np.zeros((1, n, n)), np.ones(1)
    settling_run(LANES, np.zeros((1, 3 * n * h + h + n)), lr, orders, True, False, 0, n, h, 0.2, 0.01, 2, 0.0, False,
                 False, False, 0.0, hidden, outputs)
    recirculation_run(LANES, np.zeros((1, 2 * n * h + h + n)), lr, orders, True, False, n, h, 0.5, hidden, outputs)
    units = 2 * n + h + 1
    mask = np.ones((units, units), np.bool_)
    free = (int(n), int(units - 1))
    mean_field_run(LANES, np.zeros((1, units * units)), lr, orders, True, False, np.zeros((1, n * units)),
                   np.zeros((1, n * units)), mask, np.argwhere(mask), free, free, free, n, h, 1.0, 0.2, 0.01, 2,
                   0.9, 0.5, hidden, outputs)
