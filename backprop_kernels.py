"""Pure-Python kernels of one backprop training update of the N-H-N encoder, in several schedules of the same
arithmetic, for pricing with the ByteDMD tracer (bytedmd.py); data_movement_encoder_backprop_8_3_8.py prices them.

A kernel here is one complete update of the engine, in pure Python on scalars: forward, backward, the 1/N
mean, momentum and the weight step. Arguments (W1, b1, W2, b2, VW1, Vb1, VW2, Vb2, X): parameters, their
velocities and the N one-hot patterns, as nested lists, whose lengths give the size; it returns the new
parameters and velocities. Learning rate, momentum and other constants are untraced (free). The sigmoid is one
traced operation that reads its input once. Every schedule returns the numbers the numpy learner computes (tested
to 1e-12 at 4-2-4, 8-3-8 and 16-4-16).

Schedules:
  (a) layerwise  forward for all N patterns, then backward for all N, then the update (the published shape)
  (b) fused      per pattern: forward then backward, gradients accumulated; then the update
  (c) one-hot    (b), but pattern p reads only row p of W1 and writes only row p of dW1 (no multiplications
                 by the zeros of the one-hot input)
  (d) row-step   (c), and row p of W1 and its velocity are updated as soon as pattern p is done (no later
                 pattern reads them), with the 1/N folded into the learning rate (exact when N is a power of
                 two, as 8 is; otherwise equal to rounding)
  (e) column-wise  one output unit at a time over all patterns: each W2 column is stepped as soon as its
                 gradient is complete, so only one column's accumulators are live (see update_columns)
  (f) tuned      (e) with every order tuned under the metric at 8-3-8 and the W1 step folded into the last column

The published kernel (published_kernel, published_forward) is replicated as published: 8-3-8, gradient sums only.
"""
import math

import numpy as np

import backprop_learner as BL
import bytedmd
import encoder_backprop_8_3_8 as E
from bytedmd import phase
from training_loop import parse_size


@bytedmd.op
def sigmoid(z):
    """The engine's sigmoid, 1 / (1 + exp(-clip(z, -50, 50))), priced as one operation."""
    return 1.0 / (1.0 + math.exp(-min(max(z, -50.0), 50.0)))


def zeros(rows, cols=None):
    return [0.0] * rows if cols is None else [[0.0] * cols for _ in range(rows)]


def ranges(W2):
    """(range(H), range(N)) of a network whose W2 is H x N: the kernels read the size from their arguments."""
    return range(len(W2)), range(len(W2[0]))


def output_net(h, W2, k):
    """h . W2[:, k], each product added to the running sum in order (no read of an integer start, as sum() has)."""
    total = h[0] * W2[0][k]
    for j in range(1, len(h)):
        total = total + h[j] * W2[j][k]
    return total


def step(param, velocity, grad, lr, momentum):
    """V' = momentum * V + lr * g; P' = P - V', elementwise over nested lists -> (P', V')."""
    if isinstance(param, list):
        pairs = [step(p, v, g, lr, momentum) for p, v, g in zip(param, velocity, grad)]
        return [p for p, _ in pairs], [v for _, v in pairs]
    new_v = momentum * velocity + lr * grad
    return param - new_v, new_v


def apply_update(params, velocities, grads, lr, momentum):
    phase("update")
    stepped = [step(p, v, g, lr, momentum) for p, v, g in zip(params, velocities, grads)]
    return tuple(p for p, _ in stepped) + tuple(v for _, v in stepped)


# -------------------------------------------------------------------------------------------- the schedules
def update_layerwise(W1, b1, W2, b2, VW1, Vb1, VW2, Vb2, X, lr=0.5, momentum=0.9):
    """(a) All patterns through each layer in turn; every activation stays live until the backward pass."""
    RH, RN = ranges(W2)
    phase("forward")
    H = [[sigmoid(sum(X[p][i] * W1[i][j] for i in RN) + b1[j]) for j in RH] for p in RN]
    Y = [[sigmoid(sum(H[p][j] * W2[j][k] for j in RH) + b2[k]) for k in RN] for p in RN]
    phase("backward")
    D = [[(Y[p][k] - X[p][k]) / len(RN) for k in RN] for p in RN]
    DH = [[sum(D[p][k] * W2[j][k] for k in RN) * H[p][j] * (1.0 - H[p][j]) for j in RH] for p in RN]
    dW1 = [[sum(X[p][i] * DH[p][j] for p in RN) for j in RH] for i in RN]
    db1 = [sum(DH[p][j] for p in RN) for j in RH]
    dW2 = [[sum(H[p][j] * D[p][k] for p in RN) for k in RN] for j in RH]
    db2 = [sum(D[p][k] for p in RN) for k in RN]
    return apply_update((W1, b1, W2, b2), (VW1, Vb1, VW2, Vb2), (dW1, db1, dW2, db2), lr, momentum)


def _accumulate(dW2, db1, db2, h, d, dh):
    for j in range(len(h)):
        for k in range(len(d)):
            dW2[j][k] += h[j] * d[k]
    for j in range(len(h)):
        db1[j] += dh[j]
    for k in range(len(d)):
        db2[k] += d[k]


def update_fused(W1, b1, W2, b2, VW1, Vb1, VW2, Vb2, X, lr=0.5, momentum=0.9):
    """(b) One pattern at a time, forward then backward; only its activations are live."""
    RH, RN = ranges(W2)
    n, n_hidden = len(RN), len(RH)
    dW1, db1, dW2, db2 = zeros(n, n_hidden), zeros(n_hidden), zeros(n_hidden, n), zeros(n)
    for x in X:
        phase("forward")
        h = [sigmoid(sum(x[i] * W1[i][j] for i in RN) + b1[j]) for j in RH]
        y = [sigmoid(sum(h[j] * W2[j][k] for j in RH) + b2[k]) for k in RN]
        phase("backward")
        d = [(y[k] - x[k]) / n for k in RN]
        dh = [sum(d[k] * W2[j][k] for k in RN) * h[j] * (1.0 - h[j]) for j in RH]
        for i in RN:
            for j in RH:
                dW1[i][j] += x[i] * dh[j]
        _accumulate(dW2, db1, db2, h, d, dh)
    return apply_update((W1, b1, W2, b2), (VW1, Vb1, VW2, Vb2), (dW1, db1, dW2, db2), lr, momentum)


def _pattern(p, W1, b1, W2, b2, scale):
    """Forward and backward of one-hot pattern p without its zeros: returns (h, d, dh), d = (y - t) * scale."""
    RH, RN = ranges(W2)
    phase("forward")
    h = [sigmoid(W1[p][j] + b1[j]) for j in RH]                                   # x @ W1 is row p of W1
    y = [sigmoid(output_net(h, W2, k) + b2[k]) for k in RN]
    phase("backward")
    d = [(y[k] - 1.0) * scale if k == p else y[k] * scale for k in RN]            # the target is one-hot too
    dh = [sum(d[k] * W2[j][k] for k in RN) * h[j] * (1.0 - h[j]) for j in RH]
    return h, d, dh


def update_onehot(W1, b1, W2, b2, VW1, Vb1, VW2, Vb2, X, lr=0.5, momentum=0.9):
    """(c) Fused, reading only the W1 row of each pattern; dW1 row p is pattern p's dh itself."""
    RH, RN = ranges(W2)
    n, n_hidden = len(RN), len(RH)
    dW1, db1, dW2, db2 = [None] * n, zeros(n_hidden), zeros(n_hidden, n), zeros(n)
    for p in RN:
        h, d, dh = _pattern(p, W1, b1, W2, b2, 1 / n)
        dW1[p] = dh
        _accumulate(dW2, db1, db2, h, d, dh)
    return apply_update((W1, b1, W2, b2), (VW1, Vb1, VW2, Vb2), (dW1, db1, dW2, db2), lr, momentum)


def update_rowstep(W1, b1, W2, b2, VW1, Vb1, VW2, Vb2, X, lr=0.5, momentum=0.9):
    """(d) One-hot and fused; each W1 row is stepped while its gradient is on top of the stack."""
    RH, RN = ranges(W2)
    n, n_hidden = len(RN), len(RH)
    new_W1, new_VW1 = [None] * n, [None] * n
    db1, dW2, db2 = zeros(n_hidden), zeros(n_hidden, n), zeros(n)
    for p in RN:
        h, d, dh = _pattern(p, W1, b1, W2, b2, 1.0)          # unscaled: lr / N is applied in the step
        phase("update")
        new_W1[p], new_VW1[p] = step(W1[p], VW1[p], dh, lr / n, momentum)
        _accumulate(dW2, db1, db2, h, d, dh)
    phase("update")
    (b1, W2, b2), (Vb1, VW2, Vb2) = zip(*(step(p, v, g, lr / n, momentum)
                                         for p, v, g in ((b1, Vb1, db1), (W2, VW2, dW2), (b2, Vb2, db2))))
    return new_W1, b1, W2, b2, new_VW1, Vb1, VW2, Vb2


def update_columns(W1, b1, W2, b2, VW1, Vb1, VW2, Vb2, X, lr=0.5, momentum=0.9):
    """(e) Output unit by output unit. The hidden codes of all patterns are computed first; then for each
    output unit k the N patterns are run through it (in snake order, so the codes used last are reused
    first), its H weights and bias get their whole gradient and are stepped at once, and each pattern's
    hidden error accumulates. Only one column's accumulators are ever live; W1 and b1 are stepped last."""
    RH, RN = ranges(W2)
    n, n_hidden = len(RN), len(RH)
    phase("forward")
    H = [[sigmoid(W1[p][j] + b1[j]) for j in RH] for p in RN]
    dh = [zeros(n_hidden) for _ in RN]
    new_W2, new_VW2, new_b2, new_Vb2 = zeros(n_hidden, n), zeros(n_hidden, n), zeros(n), zeros(n)
    for k in RN:
        gw, gb = zeros(n_hidden), 0.0
        for p in (RN if k % 2 == 0 else reversed(RN)):
            phase("forward")
            h = H[p]
            y = sigmoid(output_net(h, W2, k) + b2[k])
            phase("backward")
            d = y - 1.0 if k == p else y                    # unscaled: lr / N is applied in the step
            for j in RH:
                gw[j] += h[j] * d
                dh[p][j] += d * W2[j][k]
            gb += d
        phase("update")
        for j in RH:
            new_W2[j][k], new_VW2[j][k] = step(W2[j][k], VW2[j][k], gw[j], lr / n, momentum)
        new_b2[k], new_Vb2[k] = step(b2[k], Vb2[k], gb, lr / n, momentum)
    new_W1, new_VW1, gb1 = [None] * n, [None] * n, zeros(n_hidden)
    for p in RN:
        phase("backward")
        g = [dh[p][j] * H[p][j] * (1.0 - H[p][j]) for j in RH]
        for j in RH:
            gb1[j] += g[j]
        phase("update")
        new_W1[p], new_VW1[p] = step(W1[p], VW1[p], g, lr / n, momentum)
    new_b1, new_Vb1 = step(b1, Vb1, gb1, lr / n, momentum)
    return new_W1, new_b1, new_W2, new_b2, new_VW1, new_Vb1, new_VW2, new_Vb2


def update_tuned(W1, b1, W2, b2, VW1, Vb1, VW2, Vb2, X, lr=0.5, momentum=0.9):
    """(f) (e) with its orders tuned under the metric (found by search at 8-3-8; each choice below measured):
    output columns last to first and hidden codes computed last pattern first, so the values read first are
    nearest the top; each output's sum starts with h[H-1] w[H-1] + b (the values the previous step left on top);
    the per-pattern accumulations ordered dh and gw of the first H - 1 hidden units, gb, then dh and gw of the
    last (at H = 3: dh0, dh1, gw0, gw1, gb, dh2, gw2); and in the last column each pattern's W1 row is stepped as
    soon as its hidden error is complete, instead of in a pass of its own."""
    RH, RN = ranges(W2)
    n, n_hidden = len(RN), len(RH)
    last, first = RH[-1], RH[:-1]
    step_n = lr / n                                         # unscaled errors: lr / N is applied in the step

    def stepped(param, velocity, grad):
        g = step_n * grad                                   # the gradient is on top: read it first
        new_v = momentum * velocity + g
        return param - new_v, new_v
    phase("forward")
    H = [None] * n
    for p in reversed(RN):
        H[p] = [None] * n_hidden
        for j in reversed(RH):
            H[p][j] = sigmoid(W1[p][j] + b1[j])
    dh = [zeros(n_hidden) for _ in RN]
    new_W1, new_VW1, gb1 = [zeros(n_hidden) for _ in RN], [zeros(n_hidden) for _ in RN], zeros(n_hidden)
    new_W2, new_VW2, new_b2, new_Vb2 = zeros(n_hidden, n), zeros(n_hidden, n), zeros(n), zeros(n)
    for column, k in enumerate(reversed(RN)):
        gw, gb = zeros(n_hidden), 0.0
        for p in (RN if column % 2 == 0 else reversed(RN)):
            phase("forward")
            h = H[p]
            net = h[last] * W2[last][k] + b2[k]
            for j in first:
                net = net + h[j] * W2[j][k]
            y = sigmoid(net)
            phase("backward")
            d = y - 1.0 if k == p else y
            for j in first:
                dh[p][j] += d * W2[j][k]
            for j in first:
                gw[j] += h[j] * d
            gb += d
            dh[p][last] += d * W2[last][k]
            gw[last] += h[last] * d
            if column == n - 1:                             # dh[p] is complete: step row p of W1 now
                g = [None] * n_hidden
                for j in reversed(RH):
                    g[j] = dh[p][j] * H[p][j] * (1.0 - H[p][j])
                for j in reversed(RH):
                    gb1[j] += g[j]
                phase("update")
                for j in reversed(RH):
                    new_W1[p][j], new_VW1[p][j] = stepped(W1[p][j], VW1[p][j], g[j])
        phase("update")
        for j in RH:
            new_W2[j][k], new_VW2[j][k] = stepped(W2[j][k], VW2[j][k], gw[j])
        new_b2[k], new_Vb2[k] = stepped(b2[k], Vb2[k], gb)
    new_b1, new_Vb1 = zeros(n_hidden), zeros(n_hidden)
    for j in RH:
        new_b1[j], new_Vb1[j] = stepped(b1[j], Vb1[j], gb1[j])
    return new_W1, new_b1, new_W2, new_b2, new_VW1, new_Vb1, new_VW2, new_Vb2


SCHEDULES = {"a": ("layerwise", update_layerwise), "b": ("fused", update_fused),
             "c": ("one-hot", update_onehot), "d": ("row-step", update_rowstep), "e": ("column-wise", update_columns),
             "f": ("tuned", update_tuned)}


# --------------------------------------------------------------------------- the published kernel, replicated
def _published_sigmoid(v):
    return 1 / (1 + math.exp(-max(-50.0, min(50.0, v))))     # math.exp escapes: the result is untraced


def _published_forward_loop(W1, b1, W2, b2, patterns):
    acts = []
    for x in patterns:
        h = [_published_sigmoid(sum(x[i] * W1[i][j] for i in range(8)) + b1[j]) for j in range(3)]
        y = [_published_sigmoid(sum(h[j] * W2[j][k] for j in range(3)) + b2[k]) for k in range(8)]
        acts.append((h, y))
    return acts


def published_kernel(W1, b1, W2, b2, patterns):
    """The published backprop kernel's instruction stream: forward for all patterns, then backward; returns
    the gradient sums (dW1, db1, dW2, db2). No mean, momentum or weight step."""
    acts = _published_forward_loop(W1, b1, W2, b2, patterns)
    dW1, dW2, db1, db2 = zeros(8, 3), zeros(3, 8), zeros(3), zeros(8)
    for x, (h, y) in zip(patterns, acts):
        delta_out = [y[k] - x[k] for k in range(8)]
        delta_h = [sum(delta_out[k] * W2[j][k] for k in range(8)) * h[j] * (1.0 - h[j]) for j in range(3)]
        for i in range(8):
            for j in range(3):
                dW1[i][j] += x[i] * delta_h[j]
        for j in range(3):
            for k in range(8):
                dW2[j][k] += h[j] * delta_out[k]
        for j in range(3):
            db1[j] += delta_h[j]
        for k in range(8):
            db2[k] += delta_out[k]
    return dW1, db1, dW2, db2


def published_forward(W1, b1, W2, b2, patterns):
    """The published kernel's forward loop alone, returning the lists of h and y."""
    acts = _published_forward_loop(W1, b1, W2, b2, patterns)
    return [h for h, _ in acts], [y for _, y in acts]


# ------------------------------------------------------------------------------------------------ measuring
def kernel_args(params, velocities, size="8-3-8"):
    """Nested-list arguments (W1, b1, W2, b2, VW1, Vb1, VW2, Vb2, X) from flat (P,) arrays of a network of `size`
    (an N-H-N spec or a Shape)."""
    shape = parse_size(size)
    return tuple(a.tolist() for a in E.unpack(params, shape)) + tuple(
        a.tolist() for a in E.unpack(velocities, shape)) + (E.make_encoder_data(shape).tolist(),)


def engine_update(params, velocities, lr=0.5, momentum=0.9, size="8-3-8"):
    """The numpy learner's update of one network of `size` (backprop_learner's batch step under the published
    recipe): (new params, new velocities), flat (P,)."""
    batch = BL.Backprop(parse_size(size)).start(np.array([0]), {"lr": [lr], "momentum": [momentum],
                                                                "init_scale": [0.1]})
    batch.load(np.asarray(params, float)[None], {"velocity": np.asarray(velocities, float)[None]})
    batch.step()
    return batch.params[0].copy(), batch.state["velocity"][0].copy()


def flatten_update(result):
    """A kernel's (W1, b1, W2, b2, VW1, Vb1, VW2, Vb2) -> flat (params, velocities) arrays."""
    flat = [np.ravel(np.array(part, dtype=float)) for part in result]
    return np.concatenate(flat[:4]), np.concatenate(flat[4:])


def reference_state(seed=0, size="8-3-8"):
    """Seed `seed`'s initial parameters and zero velocities at `size`. No cost here depends on the values (no
    kernel branches on data unless the sigmoid's clip is reached, at |z| > 50), which the tests check."""
    shape = parse_size(size)
    return E.init_params(seed, shape=shape), np.zeros(shape.n_params)


def measure_schedules(params, velocities, bytes_per_element=1, size="8-3-8"):
    """{key: {"name", "forward", "backward", "update", "total"}} for every schedule, one trace each."""
    table = {}
    for key, (name, kernel) in SCHEDULES.items():
        costs, _ = bytedmd.cost_by_phase(kernel, kernel_args(params, velocities, size), bytes_per_element)
        row = {"name": name, **{p: costs.get(p, 0) for p in ("forward", "backward", "update")}}
        row["total"] = sum(costs.values())
        table[key] = row
    return table


def measure_published(params, bytes_per_element=1):
    W1, b1, W2, b2 = (a.tolist() for a in E.unpack(params))
    args = (W1, b1, W2, b2, E.make_encoder_data().tolist())
    return {"kernel": bytedmd.bytedmd(published_kernel, args, bytes_per_element),
            "forward_only": bytedmd.bytedmd(published_forward, args, bytes_per_element)}
