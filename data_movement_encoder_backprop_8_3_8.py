#!/usr/bin/env python3
"""Data-movement (ByteDMD) cost of one backprop training update of the N-H-N encoder (8-3-8 by default), and of
reaching the criterion, for several schedules of the same arithmetic.

    python3 data_movement_encoder_backprop_8_3_8.py                 # the table, totals and published figures
    python3 data_movement_encoder_backprop_8_3_8.py --size 4-2-4    # every learner priced at 4-2-4

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

The Boltzmann kernels are boltzmann_kernels.py, the local rules' local_rule_kernels.py (all priced at --size).
"""
import json
import math
import os
import sys
import time

import numpy as np

import atomic_files
import backprop_learner as BL
import boltzmann_kernels as BK
import bytedmd
import cli_support as cli
import encoder_backprop_8_3_8 as E
import learners
import local_rule_kernels as LK
import boltzmann_learners as B
import validation as check
from bytedmd import phase
from published_figures import BYTEDMD_PUBLISHED as PUBLISHED

MAX_BYTES_PER_ELEMENT = 1 << 20      # the price grows as its square root; beyond this no figure is meaningful
MAX_PATTERNS = 32                    # a settling step's or CD update's trace grows as N * H: 32-5-32 takes minutes
MAX_CD_UPDATES = 1000                # traced CD updates per kernel: ~0.1 s each
MAX_AHS85_CYCLES = 100               # traced 1985 cycles: ~5 s each
MAX_LOCAL_EPOCHS = 100_000           # the local rules' run that finds the state priced


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
    shape = cli.parse_size(size)
    return tuple(a.tolist() for a in E.unpack(params, shape)) + tuple(
        a.tolist() for a in E.unpack(velocities, shape)) + (E.make_encoder_data(shape).tolist(),)


def engine_update(params, velocities, lr=0.5, momentum=0.9, size="8-3-8"):
    """The numpy learner's update of one network of `size` (backprop_learner's batch step under the published
    recipe): (new params, new velocities), flat (P,)."""
    batch = BL.Backprop(cli.parse_size(size)).start(np.array([0]), {"lr": [lr], "momentum": [momentum],
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
    shape = cli.parse_size(size)
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


def median_updates(counts=(10, 30), n_epochs=20000):
    """For seeds 0..count-1 of each count: solved, and the median updates of the solved runs (one sweep of the
    largest count; a network's run does not depend on the others in its sweep)."""
    runs = E.sweep_seeds(range(max(counts)), n_epochs=n_epochs)
    out = []
    for count in counts:
        epochs = [r["epochs"] for r in runs[:count] if r["solved"]]
        out.append({"seeds": f"0-{count - 1}", "solved": len(epochs), "n": count,
                    "median_updates": float(np.median(epochs)), "cap": n_epochs})
    return out


# ------------------------------------------------------------------------------------------ Boltzmann kernels
def measure_cd(k, n_updates, bytes_per_element=1, size="8-3-8"):
    """{schedule: {"mean", "min", "max"}} of one CD-k update over the first n_updates updates of seed 0
    (float64; the table schedule's cost depends on the sampled states, the others' does not)."""
    learner = B.CDk(cli.parse_size(size), k=k)
    params, rng = learner.init(0)
    params = params.astype(np.float64)
    velocity = np.zeros_like(params)
    costs = {name: [] for name in BK.CD_SCHEDULES}
    for _ in range(n_updates):
        u = rng.random((1, learner.uniforms_per_update))
        for name in BK.CD_SCHEDULES:
            args = BK.cd_kernel_args(name, learner, params, velocity, u[0])
            costs[name].append(bytedmd.bytedmd(BK.cd_kernel(name, learner), args, bytes_per_element))
        P, V = params[None].copy(), velocity[None].copy()
        B.cd_update(P, V, u, learner)
        params, velocity = P[0], V[0]
    return {name: {"mean": float(np.mean(c)), "min": min(c), "max": max(c)} for name, c in costs.items()}


def measure_ahs85(n_cycles, bytes_per_element=1, size="8-3-8"):
    """{"mean", "min", "max"} of one 1985 learning cycle over the first n_cycles cycles of seed 0 (the cost
    depends on which units the random probes pick)."""
    learner = B.AHS85(cli.parse_size(size))
    batch = learner.start(np.array([0]), {})
    costs = []
    for _ in range(n_cycles):
        u = batch.next_uniforms()
        W = batch.params.reshape(learner.layout.n_units, learner.layout.n_units).copy()
        kernel, args, _ = BK.ahs85_kernel_args(learner, W, u[0])
        costs.append(bytedmd.bytedmd(kernel, args, bytes_per_element))
        batch.cycle(u)
    return {"mean": float(np.mean(costs)), "min": min(costs), "max": max(costs)}


# ------------------------------------------------------------------------------------ one update, any learner
TRACED_CD_UPDATES, TRACED_AHS85_CYCLES = 16, 1


def per_update_cost(learner, settings=None, bytes_per_element=1, size="8-3-8"):
    """ByteDMD of one update of a registered learner at `size` (an N-H-N spec or a Shape) with these settings:
    {"layerwise", "best", "best_schedule", "traced"}, or None when no kernel here computes that update (another
    loss, form or protocol, or a size the learner refuses). backprop: every schedule at seed 0's initial state;
    CD-k: the mean over seed 0's first TRACED_CD_UPDATES updates; ahs85: TRACED_AHS85_CYCLES cycles of seed 0; a
    local rule: its median-step state over seed 0's run (local_rule_kernels.measure_rule; one update is one
    pattern's, or recirculation's batch sweep)."""
    from learners import get
    spec = get(learner)
    s = spec.settings.from_mapping(dict(settings or {}))
    shape = cli.parse_size(size)
    try:
        if learner == "backprop":
            return _backprop_cost(s == spec.settings(), bytes_per_element, shape)
        if learner == "cdk":
            return _cd_cost(s.k, s.replace(k=spec.settings().k) == spec.settings(), bytes_per_element, shape)
        if learner == "ahs85":
            return _ahs85_cost(s == spec.settings(), bytes_per_element, shape)
        if learner in LK.RULES:
            return _local_rule_cost(learner, settings, bytes_per_element, shape)
    except ValueError:
        return None                                # a size, protocol or network the kernels do not compute
    return None


def _backprop_cost(published_recipe, bytes_per_element, shape):
    if not published_recipe:
        return None                                # the kernels compute the published recipe's update only
    table = measure_schedules(*reference_state(0, shape), bytes_per_element, shape)
    best = min(table, key=lambda k: table[k]["total"])
    return {"layerwise": table["a"]["total"], "best": table[best]["total"], "best_schedule": table[best]["name"],
            "traced": "seed 0, initial weights"}


def _cd_cost(k, recipe, bytes_per_element, shape):
    if not recipe:
        return None                                # the kernels compute the recipe's update at any k
    costs = measure_cd(k, TRACED_CD_UPDATES, bytes_per_element, shape)
    best = min(costs, key=lambda name: costs[name]["mean"])
    return {"layerwise": costs["layerwise"]["mean"], "best": costs[best]["mean"], "best_schedule": best,
            "traced": f"seed 0, mean of its first {TRACED_CD_UPDATES} updates"}


def _ahs85_cost(defaults, bytes_per_element, shape):
    if not defaults:
        return None
    cycle = measure_ahs85(TRACED_AHS85_CYCLES, bytes_per_element, shape)["mean"]
    return {"layerwise": cycle, "best": cycle, "best_schedule": "the one kernel",
            "traced": f"seed 0, mean of its first {TRACED_AHS85_CYCLES} cycle(s)"}


def _local_rule_cost(rule, settings, bytes_per_element, shape):
    m = LK.measure_rule(rule, str(shape), settings, bytes_per_element=bytes_per_element)
    best = min(m["schedules"], key=lambda k: m["schedules"][k]["total"])
    steps = "+".join(str(s) for s in m["steps"]["median"])
    return {"layerwise": m["schedules"]["layerwise"]["total"], "best": m["schedules"][best]["total"],
            "best_schedule": best, "traced": f"seed 0's run ({m['states']} states), its median-step state"
                                             + (f" ({steps} settling steps)" if steps else "")}


def read_compare(path):
    """The per-learner rows of a `study_encoder_backprop_8_3_8.py compare` result, or None if absent; ValueError
    if it is not a regular file, not JSON, or lacks a finite number the totals read."""
    if not os.path.exists(path):
        return None
    if not os.path.isfile(path):
        raise ValueError(f"{path} is not a regular file")
    try:
        with open(path) as f:
            rows = json.load(f, parse_constant=_not_a_number)["summary"]["rows"]
        return {_compare_row(r)["learner"]: r for r in rows}
    except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError) as err:
        raise ValueError(f"{path} is not a compare study result ({type(err).__name__}: {err})") from None


def _not_a_number(name):
    raise ValueError(f"{name} is not a number")


def _compare_row(row):
    """A compare row, checked for what totals_to_criterion reads: a learner's name and, when it solved any network,
    finite update counts."""
    if not isinstance(row["learner"], str):
        raise TypeError(f"learner {row['learner']!r} is not a name")
    run = row.get("run", {})
    if not isinstance(run, dict) or not isinstance(run.get("settings", {}), dict):
        raise TypeError(f"{row['learner']}'s run is not a mapping of its size and settings")
    cost = row["cost_updates_per_solved"]
    if cost is not None:
        low, high = cost["ci_95"]
        per_epoch = row.get("updates_per_epoch", 1)
        numbers = (cost["mean"], low, high, row["median_updates_to_solve"]["median"], row["n"], row["solved"]["k"],
                   row["solved"]["n"], per_epoch)
        if not all(check.is_real(v) and math.isfinite(v) for v in numbers) or per_epoch <= 0:
            raise ValueError(f"{row['learner']}'s update counts are not all finite numbers")
    return row


def _scaled(stats, key, factor):
    return {**stats, key: stats[key] * factor, "ci_95": [c * factor for c in stats["ci_95"]]}


def totals_to_criterion(compare, per_update, updates_per_epoch=None):
    """Expected data movement per solved network, failures and restarts paid: (updates spent over all networks
    / networks solved) x cost per update, for each learner and kernel. per_update: {learner: {kernel: cost}};
    updates_per_epoch: {learner: n} counts n kernel updates in each epoch of that learner's row, whatever the
    row's own updates_per_epoch (a result that counted a per-pattern rule's epoch as one update)."""
    rows = []
    for learner, kernels in per_update.items():
        row = compare.get(learner)
        if row is None or row["cost_updates_per_solved"] is None:
            continue
        updates, median = row["cost_updates_per_solved"], row["median_updates_to_solve"]
        n = (updates_per_epoch or {}).get(learner)
        if n is not None and n != row["updates_per_epoch"]:
            updates = _scaled(updates, "mean", n / row["updates_per_epoch"])
            median = _scaled(median, "median", n / row["updates_per_epoch"])
        rows.append({"learner": learner, "n": row["n"], "solved": row["solved"], "seeds": row["seeds"],
                     "updates_per_solved": updates, "median_updates_solved_only": median,
                     "per_update": kernels,
                     "total_per_solved": {name: {"mean": updates["mean"] * c,
                                                 "ci_95": [updates["ci_95"][0] * c, updates["ci_95"][1] * c]}
                                          for name, c in kernels.items()},
                     "median_times_per_update": {name: median["median"] * c for name, c in kernels.items()}})
    return rows


def price_local_rows(compare, measured, epochs, bytes_per_element=1):
    """The compare rows that ran a local rule, each priced under its own size and settings (the measurement in
    `measured`, {rule: measure_rule row}, where they match its defaults). Returns ({row: measurement},
    {row: why the kernels do not price it})."""
    priced, refused = {}, {}
    for name, row in compare.items():
        run = row.get("run", {})
        rule = run.get("learner")
        if rule not in LK.RULES:
            continue
        mine = measured.get(rule)
        if mine is not None and run.get("size") == mine["size"] and \
                run.get("settings") == learners.get(rule).settings().config():
            priced[name] = mine
            continue
        try:
            priced[name] = LK.measure_rule(rule, run.get("size", "8-3-8"), run.get("settings"), epochs=epochs,
                                           bytes_per_element=bytes_per_element)
        except ValueError as err:
            refused[name] = str(err)
    return priced, refused


def print_local_rules(measured, epochs):
    rows = list(measured.values())
    print(f"local rules at {rows[0]['size']}, one update each (settling rules and mean-field: one pattern, N per "
          f"epoch; recirculation: one batch sweep), at the median-step state of seed 0's run (to its first solve or "
          f"{epochs} epochs); steps per phase in the learner's order; the range over the fewest- and most-step "
          f"states; per step: a phase's cost / its steps at the median state:")
    print(f"{'rule':<15}{'steps':>8}{'layerwise':>11}{'tuned':>9}{'ratio':>7}  {'range layerwise | tuned':<32}"
          f"per step layerwise | tuned")
    for m in rows:
        a, t = m["schedules"]["layerwise"], m["schedules"]["tuned"]
        steps = "+".join(str(s) for s in m["steps"]["median"]) or "-"
        ranges = f"{a['range'][0]:,}-{a['range'][1]:,} | {t['range'][0]:,}-{t['range'][1]:,}"
        per_step = ", ".join(f"{name} {a['per_step'][name]:,.0f} | {t['per_step'][name]:,.0f}" for name in m["phases"])
        print(f"{m['rule']:<15}{steps:>8}{a['total']:>11,}{t['total']:>9,}{a['total'] / t['total']:>6.2f}x  "
              f"{ranges:<32}{per_step or 'no settling: the cost does not depend on the state'}")


def check_size(spec):
    shape = cli.parse_size(spec)
    if shape.n_patterns > MAX_PATTERNS:
        raise ValueError(f"size must have at most {MAX_PATTERNS} patterns, got {shape}")
    return shape


def check_sizes(text):
    return tuple(check_size(part) for part in str(text).split(","))


def check_bytes_per_element(value):
    value = check.check_positive_int(value, "bytes-per-element")
    if value > MAX_BYTES_PER_ELEMENT:
        raise ValueError(f"bytes-per-element must be at most {MAX_BYTES_PER_ELEMENT}, got {value}")
    return value


def build_parser():
    parser = cli.OneLineParser(prog="data_movement_encoder_backprop_8_3_8.py",
                               description="ByteDMD cost of one training update of the N-H-N encoder per schedule "
                                           "(backprop, CD-1, CD-5, the 1985 Boltzmann cycle, the six local rules), "
                                           "and of reaching the criterion with failures paid for.")
    parser.add_argument("--size", type=cli.arg_type(check_size), default=cli.parse_size("8-3-8"),
                        help=f"the size every learner is priced at, at most {MAX_PATTERNS} patterns (default 8-3-8; "
                             f"the published kernel and contract are 8-3-8's, printed there only; the 1985 cycle "
                             f"runs up to {B.MAX_READOUT_PATTERNS} patterns; compare rows of another size are priced "
                             f"on their own size (local rules) or not at all)")
    parser.add_argument("--by-size", type=cli.arg_type(check_sizes), metavar="SIZES",
                        help="instead of everything else: one update of backprop and of the six local rules (their "
                             "defaults; --local-epochs) at each of these comma-separated sizes, e.g. 4-2-4,8-3-8,16-4-16")
    parser.add_argument("--bytes-per-element", type=cli.arg_type(check_bytes_per_element, int),
                        default=1, help=f"bytes per traced value, 1 to {MAX_BYTES_PER_ELEMENT} (default 1, as published)")
    parser.add_argument("--compare", default=os.path.join("results", "compare.json"),
                        help="the compare study's result, whose update counts price the totals (default "
                             "results/compare.json; made by `study_encoder_backprop_8_3_8.py compare`)")
    parser.add_argument("--cd-updates", default=16,
                        type=cli.arg_type(lambda v: check.check_int_in(v, "cd-updates", 1, MAX_CD_UPDATES), int),
                        help=f"CD updates of seed 0 traced per kernel, their mean reported, 1 to {MAX_CD_UPDATES} "
                             f"(default 16; about 0.1 s each at 8-3-8, 1 s at 16-4-16)")
    parser.add_argument("--ahs85-cycles", default=1,
                        type=cli.arg_type(lambda v: check.check_int_in(v, "ahs85-cycles", 0, MAX_AHS85_CYCLES), int),
                        help=f"1985 learning cycles of seed 0 traced, their mean reported; about 5 s each at 8-3-8; 0 "
                             f"skips the 1985 cycle and its total; at most {MAX_AHS85_CYCLES} (default 1)")
    parser.add_argument("--local-epochs", default=100,
                        type=cli.arg_type(lambda v: check.check_int_in(v, "local-epochs", 0, MAX_LOCAL_EPOCHS), int),
                        help=f"cap of the run of seed 0 whose median-step state prices each local rule (it stops at "
                             f"its first solve); 0 skips the local rules; at most {MAX_LOCAL_EPOCHS:,} (default 100)")
    cli.add_json_args(parser)
    return parser


def print_backprop(table, published, bound, n_instructions, size, b):
    """The schedules' table, the published kernel's replica (8-3-8 only) and the lower bound."""
    base, best_key = table["a"]["total"], min(table, key=lambda k: table[k]["total"])
    print(f"ByteDMD of one update of the {size} encoder (element size {b}; arguments: seed 0's initial weights)")
    if published is not None:
        print(f"published kernel replicated: {published['kernel']:,} per gradient (published "
              f"{PUBLISHED['backprop_per_update']:,}), forward loop alone {published['forward_only']:,} (published "
              f"{PUBLISHED['backprop_forward_only']:,})")
    print(f"modelling: activations traced (the sigmoid is one operation reading its input once); optimizer step "
          f"(1/{size.n_patterns} mean, momentum, weight step) in; forward/backward/update split inside one trace")
    print(f"{'schedule':<15}{'forward':>10}{'backward':>10}{'update':>10}{'total':>10}{'vs (a)':>9}")
    for key, row in table.items():
        print(f"({key}) {row['name']:<11}{row['forward']:>10,}{row['backward']:>10,}{row['update']:>10,}"
              f"{row['total']:>10,}{base / row['total']:>8.2f}x")
    print(f"lower bound for the arithmetic of (e)/(f) ({n_instructions:,} instructions), any order: {bound:,} "
          f"(each instruction's distinct inputs at the shallowest distinct depths); ({best_key}) is "
          f"{table[best_key]['total'] / bound:.2f}x the bound, {1 - table[best_key]['total'] / table['e']['total']:.1%} "
          f"below (e)")


def measure_boltzmann(args):
    """(CD-1 and CD-5 costs, the 1985 cycle's or None, why it was not traced or None) at args.size."""
    b, size = args.bytes_per_element, args.size
    print(f"tracing CD-1 and CD-5 ({args.cd_updates} updates each) and {args.ahs85_cycles} cycle(s) of the 1985 "
          f"procedure at {size} ...", flush=True)
    cd = {k: measure_cd(k, args.cd_updates, b, size) for k in (1, 5)}
    if not args.ahs85_cycles:
        return cd, None, "--ahs85-cycles 0"
    try:
        return cd, measure_ahs85(args.ahs85_cycles, b, size), None
    except ValueError as err:                      # a size the 1985 learner refuses
        return cd, None, str(err)


def print_boltzmann(cd, ahs85, why_not, args):
    print(f"Boltzmann learning, one update (same contract; the Bernoulli samples read their uniform and their "
          f"probability; mean over seed 0's first {args.cd_updates} CD updates / {args.ahs85_cycles} cycle(s)):")
    published = args.size == cli.parse_size("8-3-8")
    for k, costs in cd.items():
        print(f"  CD-{k}: " + ", ".join(f"{name} {c['mean']:,.0f}" + (f" ({c['min']:,}-{c['max']:,})"
                                                                      if c["min"] != c["max"] else "")
                                        for name, c in costs.items())
              + (f"; published {PUBLISHED[f'boltzmann_cd{k}_per_update']:,} (no activations traced, no optimizer "
                 f"step)" if published else ""))
    if ahs85 is None:
        print(f"  ahs85, one 1985 cycle: not traced ({why_not})")
    else:
        print(f"  ahs85, one learning cycle: {ahs85['mean']:,.0f}" + (f" ({ahs85['min']:,}-{ahs85['max']:,})"
                                                                      if ahs85["min"] != ahs85["max"] else ""))


def rows_of_another_size(compare, size):
    """{row: why} for the compare rows of learners other than the local rules that ran at another size than the
    kernels priced here (the local rules' rows are priced on their own size: price_local_rows)."""
    return {name: f"run at {row.get('run', {}).get('size', '8-3-8')}, priced here at {size}"
            for name, row in compare.items()
            if row.get("run", {}).get("learner") not in LK.RULES
            and row.get("run", {}).get("size", "8-3-8") != str(size)}


def print_totals(totals, path):
    print(f"totals to the criterion with failures and restarts paid (update counts from {path}): expected data "
          f"movement per solved network = updates spent by all networks / networks solved x cost per update (plain "
          f"= layerwise, best = cheapest schedule)")
    reference = next((r for r in totals if r["learner"] == "backprop"), None)
    for row in totals:
        u, s = row["updates_per_solved"], row["solved"]
        line = "; ".join(f"{name} {t['mean']:,.3g} (95% CI {t['ci_95'][0]:,.3g}-{t['ci_95'][1]:,.3g})"
                         + ("" if reference is None else
                            f", {t['mean'] / reference['total_per_solved'][name]['mean']:.1f}x backprop")
                         for name, t in row["total_per_solved"].items())
        print(f"  {row['learner']:<18} solved {s['k']}/{s['n']}, {u['mean']:,.0f} updates per solved network: {line}")


def print_published_contract(sweeps, table, published):
    print("published contract (seeds 0-9, median updates of the solved runs x cost per update, failures dropped):")
    for s in sweeps:
        print(f"  backprop seeds {s['seeds']}: {s['solved']}/{s['n']} solve, median {s['median_updates']:g} updates -> "
              + ", ".join(f"({k}) {s['median_updates'] * r['total']:,.0f}" for k, r in table.items())
              + f"; published kernel x median: {s['median_updates'] * published['kernel']:,.0f}")
    print(f"published (seeds 0-9): backprop {PUBLISHED['backprop_total']:,} (982 x 18,327); Boltzmann CD-1 "
          f"{PUBLISHED['boltzmann_cd1_total']:,}, CD-5 {PUBLISHED['boltzmann_cd5_total']:,} (both with CD-5's median "
          f"{PUBLISHED['boltzmann_median_updates']:,} updates)")


def per_update_by_size(sizes, epochs=100, bytes_per_element=1):
    """{learner: {size: {"layerwise", "best", "steps"}}} for backprop (every schedule at seed 0's initial weights)
    and the six local rules under their defaults (both schedules at the median-step state of seed 0's run, to its
    first solve or `epochs` epochs, 0 skipping them; "steps": that state's settling steps per phase, None for
    backprop)."""
    rules = LK.RULES if epochs else ()
    rows = {"backprop": {}, **{rule: {} for rule in rules}}
    for size in map(cli.parse_size, sizes):
        table = measure_schedules(*reference_state(0, size), bytes_per_element, size)
        rows["backprop"][str(size)] = {"layerwise": table["a"]["total"],
                                       "best": min(row["total"] for row in table.values()), "steps": None}
        for rule in rules:
            m = LK.measure_rule(rule, str(size), epochs=epochs, bytes_per_element=bytes_per_element)
            rows[rule][str(size)] = {"layerwise": m["schedules"]["layerwise"]["total"],
                                     "best": min(s["total"] for s in m["schedules"].values()),
                                     "steps": m["steps"]["median"]}
    return rows


def print_per_update_by_size(rows, epochs, bytes_per_element):
    sizes = list(rows["backprop"])
    print(f"ByteDMD of one update (element size {bytes_per_element}; layerwise | best schedule; backprop at seed 0's "
          f"initial weights, a local rule at the median-step state of seed 0's run under its defaults, to its first "
          f"solve or {epochs} epochs, with that state's settling steps):")
    print(f"{'learner':<15}" + "".join(f"{size:>30}" for size in sizes))
    for learner, by_size in rows.items():
        cells = []
        for cost in by_size.values():
            steps = "" if not cost["steps"] else " (" + "+".join(map(str, cost["steps"])) + ")"
            cells.append(f"{cost['layerwise']:,} | {cost['best']:,}{steps}")
        print(f"{learner:<15}" + "".join(f"{cell:>30}" for cell in cells))


def main_by_size(parser, args):
    start = time.perf_counter()
    print(f"tracing backprop and the six local rules at {', '.join(map(str, args.by_size))} ...", flush=True)
    rows = per_update_by_size(args.by_size, args.local_epochs, args.bytes_per_element)
    print_per_update_by_size(rows, args.local_epochs, args.bytes_per_element)
    seconds = time.perf_counter() - start
    print(f"({seconds:.1f} s)")
    if args.json:
        try:
            atomic_files.write_json(args.json, {
                "config": {"sizes": [str(s) for s in args.by_size], "bytes_per_element": args.bytes_per_element,
                           "local_epochs": args.local_epochs}, "per_update": rows, "seconds": seconds})
        except OSError as err:
            cli.output_failed(parser, err, f"cannot write {args.json}: {err}")
    return 0


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    cli.refuse_foreign_outputs(parser, [args.json], args.force)
    if args.by_size:
        return main_by_size(parser, args)
    try:
        compare = read_compare(args.compare)
    except ValueError as err:
        parser.error(str(err))
    start = time.perf_counter()
    b, size = args.bytes_per_element, args.size
    at_published_size = size == cli.parse_size("8-3-8")      # the published kernel and figures are 8-3-8's
    params, velocities = reference_state(0, size)
    published = measure_published(params, b) if at_published_size else None
    table = measure_schedules(params, velocities, b, size)
    best_key = min(table, key=lambda k: table[k]["total"])
    bound, n_instructions = bytedmd.instruction_lower_bound(update_tuned, kernel_args(params, velocities, size), b)
    print_backprop(table, published, bound, n_instructions, size, b)

    cd, ahs85, ahs85_not_traced = measure_boltzmann(args)
    print_boltzmann(cd, ahs85, ahs85_not_traced, args)
    per_update = {"backprop": {"layerwise": table["a"]["total"], "best": table[best_key]["total"]},
                  "cd1": {"layerwise": cd[1]["layerwise"]["mean"], "best": min(c["mean"] for c in cd[1].values())},
                  "cd5": {"layerwise": cd[5]["layerwise"]["mean"], "best": min(c["mean"] for c in cd[5].values())},
                  **({} if ahs85 is None else {"ahs85": {"layerwise": ahs85["mean"], "best": ahs85["mean"]}})}
    local, local_priced, refused = {}, {}, {}
    if args.local_epochs:
        print(f"tracing the six local rules at {size} ...", flush=True)
        local = {rule: LK.measure_rule(rule, str(size), epochs=args.local_epochs, bytes_per_element=b)
                 for rule in LK.RULES}
        print_local_rules(local, args.local_epochs)
        if compare is not None:
            local_priced, refused = price_local_rows(compare, local, args.local_epochs, b)
        for name, m in local_priced.items():
            per_update[name] = {"layerwise": m["schedules"]["layerwise"]["total"],
                                "best": min(s["total"] for s in m["schedules"].values())}
    totals = []
    if compare is None:
        print(f"totals to the criterion: no {args.compare}; run `python3 study_encoder_backprop_8_3_8.py compare` "
              f"first (or give --compare)")
    else:
        refused.update(rows_of_another_size(compare, size))
        for name, why in refused.items():
            per_update.pop(name, None)
            print(f"  compare row {name}: not priced ({why})")
        totals = totals_to_criterion(compare, per_update, {name: m["updates_per_epoch"]
                                                           for name, m in local_priced.items()})
        if totals:
            print_totals(totals, args.compare)
        else:
            print(f"totals to the criterion: no row of {args.compare} is priced at {size}")
    sweeps = median_updates((10, 30)) if at_published_size else []
    if at_published_size:
        print_published_contract(sweeps, table, published)
    seconds = time.perf_counter() - start
    print(f"({seconds:.1f} s)")
    if args.json:
        try:
            atomic_files.write_json(args.json, {
                "config": {"size": str(size), "bytes_per_element": b, "weights": "seed 0 initial",
                           "traced_activations": True, "optimizer_step": True,
                           "compare": args.compare if compare else None, "cd_updates": args.cd_updates,
                           "ahs85_cycles": args.ahs85_cycles, "local_epochs": args.local_epochs},
                "published_replicated": published, "published": PUBLISHED, "schedules": table,
                "best_schedule": best_key, "lower_bound": {"cost": bound, "instructions": n_instructions},
                "cd": cd, "ahs85_cycle": ahs85, "local_rules": local,
                "totals_per_solved": totals,
                "published_contract_totals": [{**s, "total": {k: s["median_updates"] * r["total"]
                                                              for k, r in table.items()}} for s in sweeps],
                "seconds": seconds})
        except OSError as err:
            cli.output_failed(parser, err, f"cannot write {args.json}: {err}")
    return 0


if __name__ == "__main__":
    sys.exit(cli.run_main(main))
