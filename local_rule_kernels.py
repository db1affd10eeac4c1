"""Pure-Python kernels of one update of each local learning rule (local_learners.py), for pricing with the ByteDMD
tracer (bytedmd.py), under the contract of the backprop and Boltzmann kernels: the whole update on scalars, every
activation traced (a sigmoid, bounded or not, is one operation reading its input once), constants free, and the
numbers the numpy learner computes (tests/test_local_rule_kernels.py: parameters to 1e-12, the same settling steps).

The unit priced is each rule's own update under its default protocol:
  chl, generec, generec-mid, generec-sym   one pattern: the minus and the plus settling, every step the learner
      takes with its convergence test, and the weight change (O'Reilly's per-pattern protocol)
  recirculation   one batch sweep: the four passes of all N patterns and the one change
  mean-field      one pattern: the plus and the minus settling from the states kept from the previous sweep, the
      change and the decay of every weight (per-pattern protocol, hinton89 network)

Two schedules of each:
  layerwise   the numpy learner's shape: every layer's whole vector in turn, the one-hot pattern read densely as
              data, the convergence test on the largest change of the step, each change a pass of its own
  tuned       the cheapest found. Its rewrites are exact in floating point (only sums may run in another order):
              the pattern is an address (a plain int), so none of its zeros is read; a settling step runs output
              unit by output unit, in alternating order, and its convergence test stops at the first unit still
              moving (with a threshold on |change| equal to the learner's change / dt >= tolerance); what a phase
              does not change (the plus phase's input to the hidden units) is computed once; an output's
              activation is recomputed from its net input rather than kept; weights a rule keeps symmetric (chl,
              generec-sym, mean-field) are stored once; recirculation runs visible unit by visible unit.

A settling rule's cost grows with its settling steps, which vary with the state: measure_rule prices each rule
at the median-step state of one run of the learner (and the fewest- and most-step states, for the cost per step).
"""
import copy
import functools
import math

import numpy as np

import bytedmd
import learners
import local_learners as L
from bytedmd import op, phase
from training_loop import parse_size, solved_in

SCHEDULES = ("layerwise", "tuned")
SETTLED = {**{rule: ("minus", "plus") for rule in L.SETTLING_RULES}, "recirculation": (),
           "mean-field": ("plus", "minus")}       # the phases each rule settles, in the learner's order
RULES = tuple(SETTLED)
PROTOCOL = {**{rule: "pattern" for rule in L.SETTLING_RULES}, "recirculation": "batch", "mean-field": "pattern"}
SYMMETRIC = ("chl", "generec-sym")                # rules that keep W_oh = W_ho^T exactly (from the symmetric start)


def sigmoid_value(z):
    return 1.0 / (1.0 + math.exp(-min(max(z, -50.0), 50.0)))


sigmoid = op(sigmoid_value)


def activation_op(bound, bounding):
    """local_learners.activation on one unit as one traced operation."""
    def activation(eta):
        a = sigmoid_value(eta)
        if bound == 0:
            return a
        return min(max(a, bound), 1 - bound) if bounding == "clip" else bound + (1 - 2 * bound) * a
    return op(activation)


def moved_threshold(dt, tolerance):
    """The least d >= 0 with d / dt >= tolerance in floating point. Division by dt is monotone, so |change| >= this
    is the learner's test change / dt >= tolerance exactly, without the division."""
    d = tolerance * dt
    while d > 0 and d / dt >= tolerance:
        d = math.nextafter(d, 0.0)
    while d / dt < tolerance:
        d = math.nextafter(d, math.inf)
    return d


def _add(total, term):
    """total + term, where a total of None is an empty sum (no read of a zero)."""
    return term if total is None else total + term


def _sub(total, term):
    """total - term, where a total of None is an empty sum."""
    return -term if total is None else total - term


def _dot(a, b):
    """a . b without sum()'s extra read of its integer start."""
    total = a[0] * b[0]
    for x, y in zip(a[1:], b[1:]):
        total = total + x * y
    return total


def _goes_on(moving, steps, c):
    """Whether a settling that has taken `steps` steps goes on: still moving and under the step cap."""
    return moving and steps < c["max_steps"]


# ------------------------------------------------------------------------------ O'Reilly's settling network
def _rule_weights(rule, h_minus, o_minus, h_plus, o_plus):
    """d_ho[j][k] / lr and d_oh[k][j] / lr of local_learners.rule_changes for one pattern, dense."""
    H, N = range(len(h_minus)), range(len(o_minus))
    dh = [h_plus[j] - h_minus[j] for j in H]
    do = [o_plus[k] - o_minus[k] for k in N]
    if rule == "chl":
        d_ho = [[h_plus[j] * o_plus[k] - h_minus[j] * o_minus[k] for k in N] for j in H]
    elif rule == "generec":
        d_ho = [[h_minus[j] * do[k] for k in N] for j in H]
        return dh, do, d_ho, [[o_minus[k] * dh[j] for j in H] for k in N]
    elif rule == "generec-mid":
        mid_h = [(h_minus[j] + h_plus[j]) / 2 for j in H]
        mid_o = [(o_minus[k] + o_plus[k]) / 2 for k in N]
        return dh, do, [[mid_h[j] * do[k] for k in N] for j in H], [[mid_o[k] * dh[j] for j in H] for k in N]
    else:
        d_ho = [[h_minus[j] * do[k] + dh[j] * o_minus[k] for k in N] for j in H]
    return dh, do, d_ho, [[d_ho[j][k] for j in H] for k in N]


def _settle_layerwise(drive, W_oh, W_ho, b_o, clamped, c):
    """local_learners.settle for one pattern, each layer's whole vector in turn; clamped: the target (plus) or
    None (minus). Returns (hidden, output activations, steps)."""
    H, N = range(len(drive)), range(len(b_o))
    eta_h, a_h, eta_o = [0.0] * len(drive), [0.0] * len(drive), [0.0] * len(b_o)
    a_o = [0.0] * len(b_o) if clamped is None else clamped
    for steps in range(1, c["max_steps"] + 1):
        new_eta_h = [eta_h[j] + c["dt"] * (drive[j] + sum(a_o[k] * W_oh[k][j] for k in N) - eta_h[j]) for j in H]
        new_a_h = [c["activation"](e) for e in new_eta_h]
        changes = [abs(new_a_h[j] - a_h[j]) for j in H]
        if clamped is None:
            new_eta_o = [eta_o[k] + c["dt"] * (sum(a_h[j] * W_ho[j][k] for j in H) + b_o[k] - eta_o[k]) for k in N]
            new_a_o = [c["activation"](e) for e in new_eta_o]
            changes += [abs(new_a_o[k] - a_o[k]) for k in N]
            eta_o, a_o = new_eta_o, new_a_o
        eta_h, a_h = new_eta_h, new_a_h
        if max(changes) / c["dt"] < c["tolerance"]:
            break
    return a_h, a_o, steps


def settling_layerwise(W_ih, b_h, W_ho, b_o, W_oh, x, **c):
    """One pattern's update, layer by layer. W_ih (N, H), b_h (H), W_ho (H, N), b_o (N), W_oh (N, H), x (N) the
    one-hot pattern (input and target, clamped as low + (1 - 2 low) x). Returns (W_ih, b_h, W_ho, b_o, W_oh, (minus steps, plus steps))."""
    H, N = range(len(b_h)), range(len(b_o))
    lr = c["lr"]
    phase("minus")
    drive = [sum(x[i] * W_ih[i][j] for i in N) + b_h[j] for j in H]
    h_minus, o_minus, minus_steps = _settle_layerwise(drive, W_oh, W_ho, b_o, None, c)
    phase("plus")
    low = c["low"]
    target = x if low == 0 else [low + (1 - 2 * low) * x[k] for k in N]
    h_plus, o_plus, plus_steps = _settle_layerwise(drive, W_oh, W_ho, b_o, target, c)
    phase("change")
    dh, do, d_ho, d_oh = _rule_weights(c["rule"], h_minus, o_minus, h_plus, o_plus)
    return ([[W_ih[i][j] + lr * (x[i] * dh[j]) for j in H] for i in N], [b_h[j] + lr * dh[j] for j in H],
            [[W_ho[j][k] + lr * d_ho[j][k] for k in N] for j in H], [b_o[k] + lr * do[k] for k in N],
            [[W_oh[k][j] + lr * d_oh[k][j] for j in H] for k in N], (minus_steps, plus_steps))


def _settle_minus_tuned(drive, W_ho, b_o, w_oh, c):
    """The minus phase unit by unit: each output unit's new state from the old hidden ones, its old state's
    contribution to the hidden net inputs accumulated on the way; the first step, from zero, reads no weight.
    An output's activation is recomputed from its net input when needed rather than kept (one read near the
    top instead of one deep). w_oh(k, j) is the output -> hidden weight. Returns (hidden, output activations,
    steps)."""
    H, N = range(len(drive)), range(len(b_o))
    dt, act, moved = c["dt"], c["activation"], c["moved"]
    eta_h = [dt * drive[j] for j in H]
    a_h = [act(e) for e in eta_h]
    eta_o = [dt * b_o[k] for k in N]
    moving, steps = any(a >= moved for a in a_h) or any(act(e) >= moved for e in eta_o), 1   # changes from 0
    while _goes_on(moving, steps, c):
        steps += 1
        moving, into_h = False, [None] * len(drive)
        for k in (N if steps % 2 else reversed(N)):
            old = act(eta_o[k])
            for j in H:
                into_h[j] = _add(into_h[j], old * w_oh(k, j))
            net = _dot(a_h, [W_ho[j][k] for j in H]) + b_o[k]
            eta_o[k] = eta_o[k] + dt * (net - eta_o[k])
            if not moving:
                moving = bool(abs(act(eta_o[k]) - old) >= moved)
        for j in H:
            eta = eta_h[j] + dt * (drive[j] + into_h[j] - eta_h[j])
            a = act(eta)
            moving = moving or bool(abs(a - a_h[j]) >= moved)
            eta_h[j], a_h[j] = eta, a
    return a_h, [act(e) for e in eta_o], steps


def _settle_plus_tuned(drive_plus, c):
    """The plus phase: the output is clamped, so each hidden unit's net input is the constant drive_plus."""
    H = range(len(drive_plus))
    dt, act, moved = c["dt"], c["activation"], c["moved"]
    eta = [dt * d for d in drive_plus]
    a_h = [act(e) for e in eta]
    moving, steps = any(a >= moved for a in a_h), 1
    while _goes_on(moving, steps, c):
        steps += 1
        moving = False
        for j in H:
            e = eta[j] + dt * (drive_plus[j] - eta[j])
            a = act(e)
            moving = moving or bool(abs(a - a_h[j]) >= moved)
            eta[j], a_h[j] = e, a
    return a_h, steps


def settling_tuned(W_ih, b_h, W_ho, b_o, W_oh=None, *, p, **c):
    """One update on pattern p (a plain int: an address, not data). W_oh None: the rule keeps W_oh = W_ho^T and
    the weights between hidden and output are stored once, as W_ho. Returns what settling_layerwise returns."""
    H, N = range(len(b_h)), range(len(b_o))
    lr, rule = c["lr"], c["rule"]
    w_oh = (lambda k, j: W_ho[j][k]) if W_oh is None else (lambda k, j: W_oh[k][j])
    phase("minus")
    drive = [W_ih[p][j] + b_h[j] for j in H]
    h_minus, o_minus, minus_steps = _settle_minus_tuned(drive, W_ho, b_o, w_oh, c)
    phase("plus")
    low = c["low"]
    target = [1.0 - low if k == p else low for k in N]      # constants: the pattern is an address
    if low == 0:
        h_plus, plus_steps = _settle_plus_tuned([drive[j] + w_oh(p, j) for j in H], c)
    else:
        h_plus, plus_steps = _settle_plus_tuned([drive[j] + _dot(target, [w_oh(k, j) for k in N]) for j in H], c)
    phase("change")
    if low != 0:
        return _bounded_target_change(W_ih, b_h, W_ho, b_o, W_oh, p, target, h_minus, o_minus, h_plus,
                                      (minus_steps, plus_steps), c)
    dh, new_W_ih, new_b_h, new_W_ho, new_b_o, new_W_oh = \
        _input_side_change(W_ih, b_h, b_o, W_oh, p, h_minus, h_plus, lr)
    if rule == "generec-mid":
        mid_h = [(h_minus[j] + h_plus[j]) / 2 for j in H]
    for k in N:
        # The target is one-hot: where it is 0, o+ - o- is -o- exactly, so the change subtracts d there (for
        # generec-sym, whose d has both terms, d is the signed change).
        o = o_minus[k]
        if k == p:
            do = 1.0 - o
            new_b_o[k] = b_o[k] + lr * do
        else:
            new_b_o[k] = b_o[k] - lr * o
        for j in H:
            if rule == "chl":
                d = h_plus[j] - h_minus[j] * o if k == p else h_minus[j] * o
            elif rule == "generec":
                d = h_minus[j] * do if k == p else h_minus[j] * o
            elif rule == "generec-mid":
                d = mid_h[j] * do if k == p else mid_h[j] * o
            else:
                d = h_minus[j] * do + dh[j] * o if k == p else dh[j] * o - h_minus[j] * o
            if rule == "generec-sym" or k == p:
                new_W_ho[j][k] = W_ho[j][k] + lr * d
            else:
                new_W_ho[j][k] = W_ho[j][k] - lr * d
        if W_oh is not None:
            sender = o if rule == "generec" else ((o + 1.0) / 2 if k == p else o / 2)
            for j in H:
                new_W_oh[k][j] = W_oh[k][j] + lr * (sender * dh[j])
    if W_oh is None:
        new_W_oh = [[new_W_ho[j][k] for j in H] for k in N]
    return new_W_ih, new_b_h, new_W_ho, new_b_o, new_W_oh, (minus_steps, plus_steps)


def _input_side_change(W_ih, b_h, b_o, W_oh, p, h_minus, h_plus, lr):
    """The part of settling_tuned's weight change that the target does not touch: dh = h+ - h-, the changed input
    row p and hidden biases, and empty lists for the output side to fill."""
    H, N = range(len(b_h)), range(len(b_o))
    dh = [h_plus[j] - h_minus[j] for j in H]
    new_W_ih = list(W_ih)
    new_W_ih[p] = [W_ih[p][j] + lr * dh[j] for j in H]
    new_b_h = [b_h[j] + lr * dh[j] for j in H]
    new_W_ho, new_b_o = [[None] * len(b_o) for _ in H], [None] * len(b_o)
    new_W_oh = None if W_oh is None else [[None] * len(b_h) for _ in N]
    return dh, new_W_ih, new_b_h, new_W_ho, new_b_o, new_W_oh


def _bounded_target_change(W_ih, b_h, W_ho, b_o, W_oh, p, target, h_minus, o_minus, h_plus, steps, c):
    """settling_tuned's weight change when the plus phase clamps the outputs to target (low and 1 - low, constants):
    every output's o+ - o- is then a difference to compute."""
    H, N = range(len(b_h)), range(len(b_o))
    lr, rule = c["lr"], c["rule"]
    dh, new_W_ih, new_b_h, new_W_ho, new_b_o, new_W_oh = \
        _input_side_change(W_ih, b_h, b_o, W_oh, p, h_minus, h_plus, lr)
    for k in N:
        o, t = o_minus[k], target[k]
        do = t - o
        new_b_o[k] = b_o[k] + lr * do
        for j in H:
            if rule == "chl":
                d = h_plus[j] * t - h_minus[j] * o
            elif rule == "generec":
                d = h_minus[j] * do
            elif rule == "generec-mid":
                d = (h_minus[j] + h_plus[j]) / 2 * do
            else:
                d = h_minus[j] * do + dh[j] * o
            new_W_ho[j][k] = W_ho[j][k] + lr * d
        if W_oh is not None:
            sender = o if rule == "generec" else (o + t) / 2
            for j in H:
                new_W_oh[k][j] = W_oh[k][j] + lr * (sender * dh[j])
    if W_oh is None:
        new_W_oh = [[new_W_ho[j][k] for j in H] for k in N]
    return new_W_ih, new_b_h, new_W_ho, new_b_o, new_W_oh, steps


def _settling_constants(learner, lr):
    return dict(rule=learner.rule, lr=float(lr), low=learner.target_low, dt=learner.dt, tolerance=learner.tolerance,
                max_steps=learner.max_steps, activation=activation_op(learner.bound, learner.bounding),
                moved=moved_threshold(learner.dt, learner.tolerance))


def _settling_call(learner, schedule, params, lr, pattern):
    W_ih, b_h, W_ho, b_o, W_oh = (a[0].tolist() for a in L.settling_unpack(np.asarray(params, float)[None],
                                                                          learner.shape))
    c = _settling_constants(learner, lr)
    if schedule == "layerwise":
        return functools.partial(settling_layerwise, **c), (W_ih, b_h, W_ho, b_o, W_oh,
                                                            np.eye(len(b_o))[pattern].tolist())
    if learner.rule in SYMMETRIC:
        if W_oh != [list(col) for col in zip(*W_ho)]:
            raise ValueError(f"the tuned {learner.rule} kernel stores W_oh = W_ho^T once; these weights differ")
        return functools.partial(settling_tuned, p=pattern, **c), (W_ih, b_h, W_ho, b_o)
    return functools.partial(settling_tuned, p=pattern, **c), (W_ih, b_h, W_ho, b_o, W_oh)


# ------------------------------------------------------------------------------------------------ recirculation
def recirculation_layerwise(W_vh, b_h, W_hv, b_v, X, *, lr, regression):
    """One batch update, pass by pass over all N patterns as the numpy learner does. W_vh (N, H), b_h (H),
    W_hv (H, N), b_v (N), X (N, N) the one-hot patterns. Returns (W_vh, b_h, W_hv, b_v)."""
    H, N = range(len(b_h)), range(len(b_v))
    lam, rest = regression, 1 - regression
    phase("passes")
    y1 = [[sigmoid(sum(x[i] * W_vh[i][j] for i in N) + b_h[j]) for j in H] for x in X]
    y2 = [[lam * X[p][i] + rest * sigmoid(sum(y1[p][j] * W_hv[j][i] for j in H) + b_v[i]) for i in N] for p in N]
    y3 = [[lam * y1[p][j] + rest * sigmoid(sum(y2[p][i] * W_vh[i][j] for i in N) + b_h[j]) for j in H] for p in N]
    phase("change")
    e_h = [[y1[p][j] - y3[p][j] for j in H] for p in N]
    e_v = [[X[p][i] - y2[p][i] for i in N] for p in N]
    return ([[W_vh[i][j] + lr * sum(y2[p][i] * e_h[p][j] for p in N) for j in H] for i in N],
            [b_h[j] + lr * sum(e_h[p][j] for p in N) for j in H],
            [[W_hv[j][i] + lr * sum(y1[p][j] * e_v[p][i] for p in N) for i in N] for j in H],
            [b_v[i] + lr * sum(e_v[p][i] for p in N) for i in N])


def recirculation_tuned(W_vh, b_h, W_hv, b_v, *, lr, regression):
    """One batch update visible unit by visible unit (the backprop kernels' column-wise order): the hidden
    codes y1 of all patterns first; then for each visible unit i its reconstruction y2 for every pattern, so
    W_hv's column i and b_v[i] receive their whole change and are stepped at once, while y2's contribution to
    the second hidden pass accumulates per pattern; then y3, and W_vh row by row. Where the one-hot pattern is
    0, y0 - y2 = -y2 and the sum subtracts it. Arguments as recirculation_layerwise, without the data."""
    H, N = range(len(b_h)), range(len(b_v))
    lam, rest = regression, 1 - regression
    phase("passes")
    y1 = [None] * len(b_v)
    for p in reversed(N):                                  # pattern 0, read first next, ends on top
        y1[p] = [sigmoid(W_vh[p][j] + b_h[j]) for j in H]
    z3, y2 = [[None] * len(b_h) for _ in N], [[None] * len(b_v) for _ in N]
    new_W_hv, new_b_v = [[None] * len(b_v) for _ in H], [None] * len(b_v)
    for i in N:
        g, g_b = [None] * len(b_h), None
        for p in (N if i % 2 == 0 else reversed(N)):
            phase("passes")
            s = sigmoid(_dot(y1[p], [W_hv[j][i] for j in H]) + b_v[i])
            y = lam + rest * s if i == p else rest * s
            y2[p][i] = y
            for j in H:
                z3[p][j] = _add(z3[p][j], y * W_vh[i][j])
            phase("change")
            if i == p:
                e = 1.0 - y
                g = [_add(g[j], y1[p][j] * e) for j in H]
                g_b = _add(g_b, e)
            else:
                g = [_sub(g[j], y1[p][j] * y) for j in H]
                g_b = _sub(g_b, y)
        for j in H:
            new_W_hv[j][i] = W_hv[j][i] + lr * g[j]
        new_b_v[i] = b_v[i] + lr * g_b
    phase("passes")
    e_h = [[y1[p][j] - (lam * y1[p][j] + rest * sigmoid(z3[p][j] + b_h[j])) for j in H] for p in N]
    phase("change")
    new_W_vh = [None] * len(b_v)
    for i in reversed(N):                                  # y2's last column, made last, is on top
        g = [None] * len(b_h)
        for p in (reversed(N) if i % 2 else N):
            y = y2[p][i]
            g = [_add(g[j], y * e_h[p][j]) for j in H]
        new_W_vh[i] = [W_vh[i][j] + lr * g[j] for j in H]
    new_b_h = [b_h[j] + lr * sum(e_h[p][j] for p in N) for j in H]
    return new_W_vh, new_b_h, new_W_hv, new_b_v


# ------------------------------------------------------------------------------- mean-field (hinton89 network)
def _net(value, c):
    """A net input over the temperature; dividing by a temperature of 1 is exact, so it is not done."""
    return value if c["temperature"] == 1 else value / c["temperature"]


def _mean_field_settle_layerwise(x, W1, W2, b_h, b_v, h, v, c):
    """local_learners.mean_field_settle of one pattern on the hinton89 network, each layer's whole vector in
    turn: V1 clamped to x, H free from h; V2 free from v (minus), or clamped to x when v is None (plus).
    Returns (h, v, steps)."""
    H, N = range(len(b_h)), range(len(b_v))
    dt, tolerance = c["dt"], c["tolerance"]
    v2 = x if v is None else v
    for steps in range(1, c["max_steps"] + 1):
        change_h = [sigmoid(_net(sum(x[i] * W1[i][j] for i in N) + sum(v2[k] * W2[k][j] for k in N) + b_h[j], c))
                    - h[j] for j in H]
        changes = list(change_h)
        if v is not None:
            change_v = [sigmoid(_net(sum(h[j] * W2[k][j] for j in H) + b_v[k], c)) - v2[k] for k in N]
            changes += change_v
            v2 = [v2[k] + dt * change_v[k] for k in N]
        h = [h[j] + dt * change_h[j] for j in H]
        if max(abs(d) for d in changes) < tolerance:
            break
    return h, (None if v is None else v2), steps


def mean_field_layerwise(W1, W2, b_h, b_v, plus_h, minus_h, minus_v, x, **c):
    """One pattern's update, layer by layer. Weights of the symmetric links, each stored once: W1 (N, H) V1-H,
    W2 (N, H) V2-H, b_h (H) and b_v (N) from the always-on unit; the states the pattern's two phases settled to
    on the previous sweep (plus_h (H); minus_h (H), minus_v (N)); x (N) the one-hot pattern. Returns (W1, W2,
    b_h, b_v, plus_h, minus_h, minus_v, (plus steps, minus steps))."""
    H, N = range(len(b_h)), range(len(b_v))
    lr, keep = c["lr"], 1 - c["decay"]
    phase("plus")
    plus_h, _, plus_steps = _mean_field_settle_layerwise(x, W1, W2, b_h, b_v, plus_h, None, c)
    phase("minus")
    minus_h, minus_v, minus_steps = _mean_field_settle_layerwise(x, W1, W2, b_h, b_v, minus_h, minus_v, c)
    phase("change")
    return ([[(W1[i][j] + lr * (x[i] * plus_h[j] - x[i] * minus_h[j])) * keep for j in H] for i in N],
            [[(W2[k][j] + lr * (x[k] * plus_h[j] - minus_v[k] * minus_h[j])) * keep for j in H] for k in N],
            [(b_h[j] + lr * (plus_h[j] - minus_h[j])) * keep for j in H],
            [(b_v[k] + lr * (x[k] - minus_v[k])) * keep for k in N],
            plus_h, minus_h, minus_v, (plus_steps, minus_steps))


def mean_field_tuned(W1, W2, b_h, b_v, plus_h, minus_h, minus_v, *, p, **c):
    """One update on pattern p (a plain int). The plus phase's hidden net inputs do not change while it
    settles (everything else is clamped), so their sigmoids are computed once; the minus phase runs output
    unit by output unit, each V2-H weight read once for both directions; the change skips the pattern's zeros
    (a V1 row other than p is only decayed). Arguments and result as mean_field_layerwise, without x."""
    H, N = range(len(b_h)), range(len(b_v))
    dt, tolerance, lr, keep = c["dt"], c["tolerance"], c["lr"], 1 - c["decay"]
    phase("plus")
    target = [sigmoid(_net(W1[p][j] + W2[p][j] + b_h[j], c)) for j in H]
    plus_h, plus_steps, moving = list(plus_h), 0, True
    while _goes_on(moving, plus_steps, c):
        plus_steps += 1
        moving = False
        for j in H:
            change = target[j] - plus_h[j]
            plus_h[j] = plus_h[j] + dt * change
            moving = moving or bool(abs(change) >= tolerance)
    phase("minus")
    drive = [W1[p][j] + b_h[j] for j in H]
    h, v, minus_steps, moving = list(minus_h), list(minus_v), 0, True
    while _goes_on(moving, minus_steps, c):
        minus_steps += 1
        moving, into_h = False, [None] * len(b_h)
        for k in (N if minus_steps % 2 else reversed(N)):
            net = b_v[k]
            for j in H:
                w = W2[k][j]
                into_h[j] = _add(into_h[j], v[k] * w)
                net = net + h[j] * w
            change = sigmoid(_net(net, c)) - v[k]
            v[k] = v[k] + dt * change
            moving = moving or bool(abs(change) >= tolerance)
        for j in H:
            change = sigmoid(_net(drive[j] + into_h[j], c)) - h[j]
            h[j] = h[j] + dt * change
            moving = moving or bool(abs(change) >= tolerance)
    phase("change")
    dh = [plus_h[j] - h[j] for j in H]
    new_W1 = [[w * keep for w in row] if i != p else [(row[j] + lr * dh[j]) * keep for j in H]
              for i, row in enumerate(W1)]
    new_W2, new_b_v = [None] * len(b_v), [None] * len(b_v)
    for k in N:
        if k == p:
            new_W2[k] = [(W2[k][j] + lr * (plus_h[j] - v[k] * h[j])) * keep for j in H]
            new_b_v[k] = (b_v[k] + lr * (1.0 - v[k])) * keep
        else:                                              # the clamped V2 unit is 0: the plus term is 0
            new_W2[k] = [(W2[k][j] - lr * (v[k] * h[j])) * keep for j in H]
            new_b_v[k] = (b_v[k] - lr * v[k]) * keep
    new_b_h = [(b_h[j] + lr * dh[j]) * keep for j in H]
    return new_W1, new_W2, new_b_h, new_b_v, plus_h, h, v, (plus_steps, minus_steps)


# ------------------------------------------------------------------------------------------------ the API
def check_learner(learner):
    """The rule a learner runs; ValueError if the kernels do not price its settings: each rule's default update
    protocol, the settling network's plus phase from zero, mean-field's hinton89 network."""
    rule = learner.rule if isinstance(learner, L.SettlingLearner) else \
        "recirculation" if isinstance(learner, L.Recirculation) else "mean-field"
    if learner.update != PROTOCOL[rule]:
        raise ValueError(f"the {rule} kernels price its {PROTOCOL[rule]} update, not --update {learner.update}")
    if rule in L.SETTLING_RULES and learner.plus_start != "zero":
        raise ValueError(f"the {rule} kernels start the plus phase from zero, not --plus-start {learner.plus_start}")
    if rule == "mean-field" and learner.layout.network != "hinton89":
        raise ValueError(f"the mean-field kernels run the hinton89 network, not {learner.layout.network}")
    return rule


def _mean_field_parts(learner, params):
    lay = learner.layout
    return np.asarray(params, float).reshape(lay.n_units, lay.n_units), lay


def update_call(learner, schedule, params, lr, pattern=None, state=None):
    """(kernel, args) of one update of one network by `learner` (a local_learners learner) under `schedule`:
    params (P,) the network's parameters, lr its learning rate, pattern the pattern presented (the per-pattern
    rules), state its kept states (mean-field: {"plus": (N, U), "minus": (N, U)}, the learner's rows of it)."""
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, got {schedule!r}")
    check_learner(learner)
    if isinstance(learner, L.SettlingLearner):
        return _settling_call(learner, schedule, params, lr, pattern)
    if isinstance(learner, L.Recirculation):
        args = tuple(a[0].tolist() for a in L.recirculation_unpack(np.asarray(params, float)[None], learner.shape))
        c = dict(lr=float(lr), regression=learner.settings.regression)
        if schedule == "layerwise":
            return functools.partial(recirculation_layerwise, **c), args + (np.eye(len(args[3])).tolist(),)
        return functools.partial(recirculation_tuned, **c), args
    W, lay = _mean_field_parts(learner, params)
    s = learner.settings
    c = dict(lr=float(lr), dt=s.dt, tolerance=s.tolerance, max_steps=s.max_steps, temperature=s.temperature,
             decay=s.decay)
    args = (W[lay.v1][:, lay.hid].tolist(), W[lay.v2][:, lay.hid].tolist(), W[lay.true_unit, lay.hid].tolist(),
            W[lay.true_unit, lay.v2].tolist(), state["plus"][pattern, lay.hid].tolist(),
            state["minus"][pattern, lay.hid].tolist(), state["minus"][pattern, lay.v2].tolist())
    if schedule == "layerwise":
        return functools.partial(mean_field_layerwise, **c), args + (np.eye(len(lay.v1))[pattern].tolist(),)
    return functools.partial(mean_field_tuned, p=pattern, **c), args


def updated(learner, result, params, pattern=None, state=None):
    """What a kernel's (plain) result means for the learner: (new params (P,), the settling steps (a tuple,
    empty for recirculation), new kept state (mean-field: a copy of state with the pattern's rows replaced as
    the learner replaces them; else None))."""
    if isinstance(learner, L.SettlingLearner):
        return np.concatenate([np.ravel(np.array(part, float)) for part in result[:5]]), tuple(result[5]), None
    if isinstance(learner, L.Recirculation):
        return np.concatenate([np.ravel(np.array(part, float)) for part in result]), (), None
    W, lay = _mean_field_parts(learner, params)
    W = np.zeros_like(W)
    W1, W2, b_h, b_v, plus_h, minus_h, minus_v, steps = result
    for rows, cols, block in ((lay.v1, lay.hid, W1), (lay.v2, lay.hid, W2), ([lay.true_unit], lay.hid, [b_h]),
                              ([lay.true_unit], lay.v2, [b_v])):
        W[np.ix_(rows, cols)] = block
        W[np.ix_(cols, rows)] = np.transpose(block)
    state = {name: rows.copy() for name, rows in state.items()}
    x = np.eye(len(lay.v1))[pattern]
    for name, h in (("plus", plus_h), ("minus", minus_h)):
        state[name][pattern, lay.v1], state[name][pattern, lay.true_unit] = x, 1.0
        state[name][pattern, lay.hid] = h
    state["plus"][pattern, lay.v2], state["minus"][pattern, lay.v2] = x, minus_v
    return W.ravel(), tuple(steps), state


# --------------------------------------------------------------------------------------------- measuring
def update_unit(learner):
    """What one kernel call is, and how many of them make one epoch of the learner's loop (the registry's count
    of its weight updates)."""
    rule = check_learner(learner)
    per_epoch = learners.get(rule).updates_per_epoch(learner.shape, learner.settings)
    if learner.update == "pattern":
        return "one pattern: both phases settled, one weight change", per_epoch
    return f"one batch sweep of the {learner.shape.n_patterns} patterns, one weight change", per_epoch


def run_states(rule, size="8-3-8", settings=None, seed=0, epochs=100):
    """The learner's own states along one run of network `seed`: before each epoch, (params, the epoch's first
    pattern (None for a batch update), kept state), until the strict criterion first holds or for `epochs`
    epochs. settings: a mapping of the rule's settings (None: its defaults). Returns (learner, lr, states)."""
    spec = learners.get(rule)
    settings = spec.settings.from_mapping(settings or {})
    learner = spec.make(parse_size(size), settings)
    check_learner(learner)
    batch = learner.start(np.array([seed]), {"lr": np.array([settings.lr])})
    states = []
    for _ in range(epochs):
        orders = L.draw_orders([copy.deepcopy(batch.streams[0])], learner.shape.n_patterns, learner.update)
        states.append((batch.params[0].copy(), None if orders is None else int(orders[0, 0]),
                       {name: rows[0].copy() for name, rows in batch.state.items()}))
        batch.step()
        if solved_in(batch)[0]:
            break
    return learner, float(settings.lr), states


def measure_rule(rule, size="8-3-8", settings=None, seed=0, epochs=100, bytes_per_element=1):
    """The cost of one update of `rule` under each schedule at a representative state: among the states of one
    run (run_states), the one whose settling steps (both phases together) are the median; with each phase's cost
    per settling step there (its cost / its steps), the range from the states with the fewest and the most, and
    the cost at the run's mean steps estimated from the per-step costs (the mean update of the run: a total over
    updates is their mean cost times their number)."""
    learner, lr, states = run_states(rule, size, settings, seed, epochs)
    unit, per_epoch = update_unit(learner)
    steps = []
    for params, pattern, state in states:
        kernel, args = update_call(learner, "tuned", params, lr, pattern, state)
        steps.append(updated(learner, kernel(*args), params, pattern, state)[1])
    by_steps = sorted(range(len(states)), key=lambda i: (sum(steps[i]), i))
    picks = list(dict.fromkeys([by_steps[(len(states) - 1) // 2], by_steps[0], by_steps[-1]]))    # median first
    phases = SETTLED[rule]
    row = {"rule": rule, "size": str(learner.shape), "seed": seed, "unit": unit, "updates_per_epoch": per_epoch,
           "states": len(states), "phases": list(phases),
           "steps": {"median": list(steps[picks[0]]), "min": list(steps[by_steps[0]]),
                     "max": list(steps[by_steps[-1]]),
                     "mean": [float(np.mean([s[k] for s in steps])) for k in range(len(phases))]},
           "schedules": {}}
    for schedule in SCHEDULES:
        totals = []
        for i in picks:
            params, pattern, state = states[i]
            costs, _ = bytedmd.cost_by_phase(*update_call(learner, schedule, params, lr, pattern, state),
                                             bytes_per_element)
            totals.append(sum(costs.values()))
            if i == picks[0]:
                median = costs
        per_step = {name: median[name] / steps[picks[0]][k] for k, name in enumerate(phases)}
        row["schedules"][schedule] = {
            "total": totals[0], "phases": median, "range": [min(totals), max(totals)], "per_step": per_step,
            "at_mean_steps": totals[0] + sum(per_step[name] * (row["steps"]["mean"][k] - steps[picks[0]][k])
                                             for k, name in enumerate(phases))}
    return row
