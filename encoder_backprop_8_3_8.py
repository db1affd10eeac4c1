#!/usr/bin/env python3
"""The 8-3-8 encoder trained by backprop (Rumelhart, Hinton & Williams 1986; Ackley, Hinton & Sejnowski 1985).

Eight one-hot patterns pass through 3 sigmoid hidden units to 8 sigmoid outputs; the target is the input;
cross-entropy loss; full-batch gradient descent with momentum. "Solved" means 100% reconstruction (argmax of
the output = input index) and 8 distinct hidden codes after thresholding at 0.5, checked from epoch 201 on.

One engine: every function below works on one network (W1 of shape (8, 3)) and equally on a stack of S
networks along a leading axis (W1 of shape (S, 8, 3)). A network's parameters live in one flat vector of 59
numbers (`unpack` gives W1, b1, W2, b2 as views), so a stack of networks is an (S, 59) array and a momentum
step is four array operations. `train` (one network, with a per-epoch history) and `sweep_seeds` (many
networks, any mix of hyper-parameters) both drive the same loop, `_fit`.

    python3 encoder_backprop_8_3_8.py --seed 0                   # one run: seed 0 solves at epoch 3631
    python3 encoder_backprop_8_3_8.py --seeds 0-29 --epochs 20000  # a sweep: 21 of 30 solve
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np

N_PATTERNS = 8
N_HIDDEN = 3
N_PARAMS = N_PATTERNS * N_HIDDEN + N_HIDDEN + N_HIDDEN * N_PATTERNS + N_PATTERNS  # 59
MIN_STOP_EPOCH = 201  # the published procedure never stops before its 201st epoch
LOSSES = ("ce", "sse")
# Networks are processed in chunks of this many so that every temporary stays small (a (256, 8, 8) float64
# array is 128 KiB): large temporaries are mmap-ed and page-faulted by malloc on every epoch, which costs
# more than the arithmetic. Chunking changes no number: each network's arithmetic is independent of the others.
CHUNK = 256

_TARGETS = np.eye(N_PATTERNS)
_ONES = np.ones(N_PATTERNS)
_CODE_BITS = 1 << np.arange(N_HIDDEN - 1, -1, -1)  # [4, 2, 1]: hidden unit 1 is the code's high bit
_ALL_CODES = (1 << 2 ** N_HIDDEN) - 1  # bit mask with every one of the 8 corners present


# ----------------------------------------------------------------------------------------------- data & math
def make_encoder_data():
    """The 8 one-hot patterns, (8, 8) float64; the targets are the same array."""
    return np.eye(N_PATTERNS)


def sigmoid(z, out=None):
    """1 / (1 + exp(-clip(z, -50, 50))), elementwise, any shape.

    Only the lower clip is applied: above z = 37 the sigmoid is exactly 1.0 in float64, so clipping at +50
    changes no value and would only cost a pass over the array.
    """
    return np.divide(1.0, 1.0 + np.exp(-np.maximum(z, -50.0)), out=out)


def unpack(params):
    """Views of a flat parameter array (..., 59): W1 (..., 8, 3), b1 (..., 3), W2 (..., 3, 8), b2 (..., 8)."""
    lead = params.shape[:-1]
    n_w = N_PATTERNS * N_HIDDEN
    return (params[..., :n_w].reshape(lead + (N_PATTERNS, N_HIDDEN)),
            params[..., n_w:n_w + N_HIDDEN],
            params[..., n_w + N_HIDDEN:2 * n_w + N_HIDDEN].reshape(lead + (N_HIDDEN, N_PATTERNS)),
            params[..., 2 * n_w + N_HIDDEN:])


def init_params(seed, init_scale=0.1, attempt=0):
    """Fresh parameters (59,): W1 then W2 drawn from U(-init_scale, init_scale), biases zero.

    Attempt 0 draws from np.random.default_rng(seed), the published initialisation. Restart k >= 1 draws from
    the k-th child of np.random.SeedSequence(seed), i.e. SeedSequence(seed).spawn(k)[k - 1].
    """
    ss = np.random.SeedSequence(seed) if attempt == 0 else np.random.SeedSequence(seed, spawn_key=(attempt - 1,))
    rng = np.random.default_rng(ss)
    params = np.zeros(N_PARAMS)
    W1, _, W2, _ = unpack(params)
    W1[...] = rng.uniform(-init_scale, init_scale, (N_PATTERNS, N_HIDDEN))
    W2[...] = rng.uniform(-init_scale, init_scale, (N_HIDDEN, N_PATTERNS))
    return params


def forward(W1, b1, W2, b2, x=None, out=(None, None, None)):
    """Forward pass of one network or a stack.

    W1 (..., 8, 3), b1 (..., 3), W2 (..., 3, 8), b2 (..., 8); x (n, 8) or None for the 8 one-hot patterns.
    Returns h (..., n, 3) hidden activations, z (..., n, 8) output pre-activations, y (..., n, 8) outputs.
    `out` optionally names three arrays to write h, z, y into.
    """
    # x @ W1 equals W1 bit for bit when x is the identity (each entry is 1*w plus exact zeros), so skip it.
    drive = W1 if x is None else x @ W1
    h = sigmoid(drive + b1[..., None, :], out=out[0])
    z = np.add(h @ W2, b2[..., None, :], out=out[1])
    y = sigmoid(z, out=out[2])
    return h, z, y


def backward(W2, h, y, t=None, x=None, loss="ce", out=(None, None, None, None)):
    """Gradients of the loss averaged over the n patterns: (dW1, db1, dW2, db2), shaped like the parameters.

    W2 (..., 3, 8); h (..., n, 3), y (..., n, 8) from `forward`; t (n, 8) targets (None: the one-hot
    patterns); x (n, 8) inputs (None: the one-hot patterns). loss "ce" is cross-entropy summed over the
    outputs, "sse" half the squared error summed over the outputs (the 1986 paper's loss).
    """
    n = y.shape[-2]
    d = (y - (_TARGETS if t is None else t)) / n          # dL/dz for cross-entropy on sigmoid outputs
    if loss == "sse":
        d = d * y * (1.0 - y)
    ones = _ONES if n == N_PATTERNS else np.ones(n)
    dW2 = np.matmul(h.mT, d, out=out[2])
    db2 = np.matmul(ones, d, out=out[3])                    # sum over patterns
    back = (d @ W2.mT) * h
    if x is None:                                           # x.T @ dh is dh itself for one-hot inputs
        dW1 = dh = np.multiply(back, 1.0 - h, out=out[0])
    else:
        dh = back * (1.0 - h)
        dW1 = np.matmul(np.asarray(x).mT, dh, out=out[0])
    db1 = np.matmul(ones, dh, out=out[1])
    return dW1, db1, dW2, db2


def loss_value(z, y, t=None, loss="ce"):
    """Loss averaged over patterns, (...,). Cross-entropy is computed from the pre-activations z, so it
    stays finite however saturated the outputs are: -t log s(z) - (1-t) log(1-s(z)) = log(1+e^z) - t z."""
    t = _TARGETS if t is None else t
    if loss == "ce":
        per_pattern = (np.logaddexp(0.0, z) - t * z).sum(-1)
    else:
        per_pattern = 0.5 * ((y - t) ** 2).sum(-1)
    return per_pattern.mean(-1)


def momentum_step(P, V, G, lr, momentum):
    """One update, in place: V = momentum * V + lr * G, then P -= V. G is scaled by lr in place.
    P, V, G (..., 59) or any matching shapes; lr, momentum scalars or broadcastable, e.g. (S, 1)."""
    V *= momentum
    G *= lr
    V += G
    P -= V


# -------------------------------------------------------------------------------------------------- metrics
def accuracy_of(y, targets=None):
    """Fraction of patterns whose largest output is the right one, (...,) from y (..., n, 8)."""
    want = np.arange(y.shape[-2]) if targets is None else np.argmax(targets, -1)
    return (np.argmax(y, -1) == want).mean(-1)


def corner_of(h, threshold=0.5):
    """Corner index 0..7 of each pattern's binarised code (h > threshold), (..., n) from h (..., n, 3);
    corner c = 4*b1 + 2*b2 + b3, so hidden unit 1 is the high bit."""
    return (np.asarray(h) > threshold) @ _CODE_BITS


def corners_present(h, threshold=0.5):
    """Bit mask of the cube corners occupied by the binarised codes, (...,) from h (..., n, 3): bit c is set
    when some pattern's code is corner c."""
    return np.bitwise_or.reduce(np.left_shift(1, corner_of(h, threshold)), axis=-1)


def distinct_codes_of(h, threshold=0.5):
    """Number of distinct binarised hidden codes (h > threshold), (...,) ints from h (..., n, 3)."""
    return np.bitwise_count(corners_present(h, threshold)).astype(int)


def code_margin_of(h):
    """Smallest |h - 0.5| over all hidden activations, (...,): how near a code bit is to flipping."""
    return np.abs(h - 0.5).min(axis=(-2, -1))


def code_separation_of(h):
    """Mean Euclidean distance between the raw hidden codes of all pattern pairs, (...,)."""
    n = h.shape[-2]
    dist = np.sqrt(((h[..., :, None, :] - h[..., None, :, :]) ** 2).sum(-1))
    return dist.sum(axis=(-2, -1)) / (n * (n - 1))


def weight_norm_of(W1, W2):
    """||W1||_F + ||W2||_F, (...,)."""
    return np.linalg.norm(W1, axis=(-2, -1)) + np.linalg.norm(W2, axis=(-2, -1))


def solved_of(h, y, margin=0.0):
    """The strict criterion, (...,) bools: 100% accuracy, 8 distinct codes, and every |h - 0.5| >= margin."""
    ok = corners_present(h) == _ALL_CODES
    if ok.any():                           # accuracy costs more; most epochs of most networks fail above
        ok = ok & (accuracy_of(y) == 1.0)
    if margin > 0 and ok.any():
        ok = ok & (code_margin_of(h) >= margin)
    return ok


# ------------------------------------------------------------------------------------------------ validation
def _is_int(v):
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _is_real(v):
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


def check_seed(seed):
    if not _is_int(seed) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def check_epochs(n_epochs, name="epochs"):
    if not _is_int(n_epochs) or n_epochs < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {n_epochs!r}")
    return int(n_epochs)


def check_lr(lr):
    if not _is_real(lr) or not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
    return float(lr)


def check_momentum(momentum):
    if not _is_real(momentum) or not 0 <= momentum < 1:
        raise ValueError(f"momentum must be a number in [0, 1), got {momentum!r}")
    return float(momentum)


def check_init_scale(init_scale):
    if not _is_real(init_scale) or not math.isfinite(init_scale) or init_scale <= 0:
        raise ValueError(f"init scale must be a finite number > 0, got {init_scale!r}")
    return float(init_scale)


def check_margin(margin):
    if not _is_real(margin) or not 0 <= margin < 0.5:
        raise ValueError(f"margin must be a number in [0, 0.5), got {margin!r}")
    return float(margin)


def check_patience(patience):
    if patience is not None and (not _is_int(patience) or patience < 1):
        raise ValueError(f"patience must be an integer >= 1 (or None for no restarts), got {patience!r}")
    return None if patience is None else int(patience)


def check_loss(loss):
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {', '.join(LOSSES)}, got {loss!r}")
    return loss


# ------------------------------------------------------------------------------------------- the one loop
def _fit(params, lr, momentum, n_epochs, *, loss="ce", early_stop=True, margin=0.0, patience=None,
         reinit=None, observer=None, progress=None):
    """Train a stack of networks: the only training loop in this project.

    params (S, 59) initial parameters (not modified); lr, momentum (S,) per-network hyper-parameters.
    Each epoch: gradients at the current parameters, V = momentum*V + lr*g, P -= V, then one forward pass
    that is both this epoch's evaluation and the next epoch's forward pass. From epoch 201 on a network
    that meets the criterion is recorded; with early_stop it stops there and leaves the working batch.
    patience: restart a network whose best distinct-code count of the current attempt has not improved for
    this many epochs while unsolved; reinit(row, attempt) -> (59,) gives its new parameters.
    observer(epoch, rows, P, h, z, y): called every epoch with the networks still training (rows are their
    indices into the input stack); progress(epoch, n_training): called every epoch.

    Returns a dict: params (S, 59) final parameters, epochs (S,) last epoch run, solve_epoch (S,) first
    epoch >= 201 the criterion held (0 = never), margin_at_solve (S,), restart_epochs (list of S lists).
    """
    S = len(params)
    final = params.copy()
    epochs = np.full(S, n_epochs)
    solve_epoch = np.zeros(S, dtype=int)
    margin_at_solve = np.full(S, np.nan)
    restart_epochs = [[] for _ in range(S)]

    # The working batch: per-network arrays of the networks still training, compacted when some finish.
    rows = np.arange(S)
    P, V = params.copy(), np.zeros_like(params)
    lr, momentum = np.asarray(lr, float)[:, None], np.asarray(momentum, float)[:, None]
    h, z, y = (np.empty((S, N_PATTERNS, k)) for k in (N_HIDDEN, N_PATTERNS, N_PATTERNS))
    best_codes, last_gain = np.zeros(S, dtype=int), np.zeros(S, dtype=int)

    def views():
        """Per-chunk views (params, grads, activations) of the working batch; rebuilt after compaction."""
        chunks = []
        for start in range(0, len(P), CHUNK):
            s = slice(start, start + CHUNK)
            chunks.append((unpack(P[s]), unpack(G[s]), (h[s], z[s], y[s])))
        return chunks

    G = np.empty_like(P)
    chunks = views()
    for p, _, a in chunks:
        forward(*p, out=a)

    for epoch in range(1, n_epochs + 1):
        for p, g, a in chunks:
            backward(p[2], a[0], a[2], loss=loss, out=g)
        momentum_step(P, V, G, lr, momentum)
        for p, _, a in chunks:
            forward(*p, out=a)

        if observer is not None:
            observer(epoch, rows, P, h, z, y)
        if progress is not None:
            progress(epoch, len(P))
        if epoch < MIN_STOP_EPOCH and patience is None:
            continue

        solved = solved_of(h, y, margin) if epoch >= MIN_STOP_EPOCH else np.zeros(len(P), bool)
        any_solved = solved.any()
        if any_solved:
            first = solved & (solve_epoch[rows] == 0)
            solve_epoch[rows[first]] = epoch
            margin_at_solve[rows[first]] = code_margin_of(h[first])

        if patience is not None:
            codes = distinct_codes_of(h)
            gained = codes > best_codes
            best_codes[gained], last_gain[gained] = codes[gained], epoch
            stale = ~solved & (epoch - last_gain >= patience)
            for i in np.flatnonzero(stale):
                restart_epochs[rows[i]].append(epoch)
                P[i] = reinit(rows[i], len(restart_epochs[rows[i]]))
                V[i] = 0.0
                best_codes[i], last_gain[i] = 0, epoch
            if stale.any():
                p = unpack(P[stale])
                h[stale], z[stale], y[stale] = forward(*p)

        if early_stop and any_solved:
            final[rows[solved]] = P[solved]
            epochs[rows[solved]] = epoch
            keep = ~solved
            rows, P, V, lr, momentum = rows[keep], P[keep], V[keep], lr[keep], momentum[keep]
            h, z, y, best_codes, last_gain = h[keep], z[keep], y[keep], best_codes[keep], last_gain[keep]
            if len(P) == 0:
                break
            G = np.empty_like(P)
            chunks = views()

    final[rows] = P
    return {"params": final, "epochs": epochs, "solve_epoch": solve_epoch,
            "margin_at_solve": margin_at_solve, "restart_epochs": restart_epochs}


# ----------------------------------------------------------------------------------------- the network face
class EncoderMLP:
    """One 8-3-8 network. W1 (8, 3), b1 (3,), W2 (3, 8), b2 (8,) are views into the flat `params` (59,)."""

    def __init__(self, init_scale=0.1, seed=0, params=None):
        if params is None:
            self.params = init_params(check_seed(seed), check_init_scale(init_scale))
        else:
            self.params = np.array(params, dtype=float).reshape(N_PARAMS)

    def _set(self, index, value):
        view = unpack(self.params)[index]
        value = np.asarray(value, dtype=float)
        if value.shape != view.shape:
            raise ValueError(f"expected shape {view.shape}, got {value.shape}")
        view[...] = value

    W1 = property(lambda self: unpack(self.params)[0], lambda self, v: self._set(0, v))
    b1 = property(lambda self: unpack(self.params)[1], lambda self, v: self._set(1, v))
    W2 = property(lambda self: unpack(self.params)[2], lambda self, v: self._set(2, v))
    b2 = property(lambda self: unpack(self.params)[3], lambda self, v: self._set(3, v))

    def forward(self, x=None):
        """x (n, 8), default the 8 one-hot patterns -> (h (n, 3), y (n, 8))."""
        h, _, y = forward(*unpack(self.params), x=x)
        return h, y

    def grads(self, x=None, t=None, loss="ce"):
        """Gradients of the mean-over-patterns loss: (dW1, db1, dW2, db2). t defaults to x."""
        h, _, y = forward(*unpack(self.params), x=x)
        return backward(self.W2, h, y, t=x if t is None else t, x=x, loss=check_loss(loss))

    def loss(self, x=None, t=None, loss="ce"):
        """Loss averaged over patterns (cross-entropy by default), a float. t defaults to x."""
        h, z, y = forward(*unpack(self.params), x=x)
        return float(loss_value(z, y, x if t is None else t, check_loss(loss)))

    def predict(self, x=None):
        """Index of the largest output for each pattern, (n,)."""
        return np.argmax(self.forward(x)[1], axis=-1)

    def hidden(self, x=None):
        """Hidden activations, (n, 3)."""
        return self.forward(x)[0]


def hidden_code_table(model, data=None):
    """Raw hidden activations for each pattern, (8, 3)."""
    return model.hidden(data)


def n_distinct_codes(model, data=None, threshold=0.5):
    """Number of distinct hidden codes after thresholding (h > threshold)."""
    return int(distinct_codes_of(model.hidden(data), threshold))


def accuracy(model, data=None):
    """Fraction of patterns reconstructed (argmax of the output = the pattern's index)."""
    return float(accuracy_of(model.forward(data)[1], None if data is None else data))


def code_margin(model):
    """Smallest |h - 0.5| over the 24 hidden activations: how close the code is to losing a bit."""
    return float(code_margin_of(model.hidden()))


# --------------------------------------------------------------------------------------------- single runs
HISTORY_KEYS = ("epoch", "loss", "acc", "n_distinct_codes", "weight_norm", "code_separation", "code_margin")


class _HistoryRecorder:
    """Keeps each epoch's parameters and activations, and turns them into the history's per-epoch lists in
    vectorised blocks (the metric functions take the epochs as their stack axis)."""

    def __init__(self, loss):
        self.loss = loss
        self.history = {key: [] for key in HISTORY_KEYS}
        self.pending = []

    def __call__(self, epoch, rows, P, h, z, y):
        self.pending.append((epoch, P.copy(), h.copy(), z.copy(), y.copy()))   # a stack of one network
        if len(self.pending) >= 1024:
            self.flush()

    def flush(self):
        if not self.pending:
            return self.history
        epochs, *arrays = zip(*self.pending)
        epoch, (P, h, z, y) = np.array(epochs), (np.concatenate(a) for a in arrays)
        self.pending = []
        W1, _, W2, _ = unpack(P)
        for key, values in (("epoch", epoch), ("loss", loss_value(z, y, loss=self.loss)),
                            ("acc", accuracy_of(y)), ("n_distinct_codes", distinct_codes_of(h)),
                            ("weight_norm", weight_norm_of(W1, W2)), ("code_separation", code_separation_of(h)),
                            ("code_margin", code_margin_of(h))):
            self.history[key].extend(values.tolist())
        return self.history


def train(n_epochs=5000, lr=0.5, momentum=0.9, init_scale=0.1, seed=0, early_stop=True,
          snapshot_callback=None, snapshot_every=50, verbose=True, *, loss="ce", margin=0.0, patience=None):
    """Train one network with the published procedure; returns (model, history).

    history: per-epoch lists (epoch 1..E) "epoch", "loss", "acc", "n_distinct_codes", "weight_norm",
    "code_separation", "code_margin", plus "restart_epochs" (epochs after which the network was redrawn).
    snapshot_callback(epoch, model, history) is called every `snapshot_every` epochs and at the last epoch
    run (including the early-stop epoch), with a copy of the network and the history so far.
    loss "sse" trains on the 1986 squared error; margin > 0 also requires every |h - 0.5| >= margin to stop;
    patience enables restart-on-plateau (see `_fit`).
    """
    n_epochs, seed = check_epochs(n_epochs), check_seed(seed)
    lr, momentum, init_scale = check_lr(lr), check_momentum(momentum), check_init_scale(init_scale)
    loss, margin, patience = check_loss(loss), check_margin(margin), check_patience(patience)
    snapshot_every = check_epochs(snapshot_every, "snapshot_every")

    recorder = _HistoryRecorder(loss)
    last_snapshot = [0]

    def observe(epoch, rows, P, h, z, y):
        recorder(epoch, rows, P, h, z, y)
        if snapshot_callback is not None and epoch % snapshot_every == 0:
            snapshot_callback(epoch, EncoderMLP(params=P[0]), recorder.flush())
            last_snapshot[0] = epoch
        if verbose and epoch % 500 == 0:
            hist = recorder.flush()
            print(f"epoch {epoch:6d}  loss {hist['loss'][-1]:.5f}  acc {hist['acc'][-1]:6.1%}  "
                  f"codes {hist['n_distinct_codes'][-1]}/8  margin {hist['code_margin'][-1]:.3g}", flush=True)

    model = EncoderMLP(init_scale=init_scale, seed=seed)
    fit = _fit(model.params[None], np.array([lr]), np.array([momentum]), n_epochs, loss=loss,
               early_stop=early_stop, margin=margin, patience=patience,
               reinit=lambda row, attempt: init_params(seed, init_scale, attempt), observer=observe)
    model.params[...] = fit["params"][0]
    history = recorder.flush()
    history["restart_epochs"] = fit["restart_epochs"][0]
    if snapshot_callback is not None and last_snapshot[0] != history["epoch"][-1]:
        snapshot_callback(history["epoch"][-1], EncoderMLP(params=model.params), history)
    return model, history


def run_summary(model, history, margin=0.0):
    """The result of one run as plain Python values (the CLI's --json record, without config)."""
    h, y = model.forward()
    n_codes, acc, m = int(distinct_codes_of(h)), float(accuracy_of(y)), float(code_margin_of(h))
    return {"solved": bool(acc == 1.0 and n_codes == N_PATTERNS and m >= margin),
            "epochs": int(history["epoch"][-1]), "accuracy": acc, "n_distinct_codes": n_codes,
            "code_margin": m, "final_loss": history["loss"][-1], "restarts": len(history["restart_epochs"]),
            "restart_epochs": list(history["restart_epochs"]), "hidden_codes": h.tolist(),
            "binary_codes": (h > 0.5).astype(int).tolist()}


# --------------------------------------------------------------------------------------------------- sweeps
def _per_network(value, n, check, name):
    """A scalar or one value per network -> (n,) float array, each value validated."""
    values = [value] * n if np.ndim(value) == 0 else list(np.asarray(value).tolist())
    if len(values) != n:
        raise ValueError(f"{name} must be a scalar or have one value per seed ({n}), got {len(values)}")
    return np.array([check(v) for v in values], dtype=float)


def sweep_seeds(seeds, n_epochs=5000, lr=0.5, momentum=0.9, init_scale=0.1, *, early_stop=True, loss="ce",
                margin=0.0, patience=None, return_weights=False, progress=None, observer=None):
    """Train one network per seed, all together as one stack; returns one dict per network, in input order.

    lr, momentum and init_scale are scalars or one value per network, so a hyper-parameter grid x seeds is
    one call (repeat a seed to give it several settings). Each dict has seed, lr, momentum, init_scale,
    solved, epochs, solve_epoch (first epoch >= 201 the criterion held, or None), accuracy,
    n_distinct_codes, code_margin, margin_at_solve, hidden_codes (8 x 3), restarts, restart_epochs, and
    with return_weights the final W1, b1, W2, b2. For every seed the numbers equal those of
    train(seed=...) with the same settings, final weights included, bit for bit.
    progress(epoch, n_training) is called every epoch; observer(epoch, rows, P, h, z, y) too, with the
    networks still training (rows index `seeds`; P (k, 59), h (k, 8, 3), z and y (k, 8, 8), read-only).
    """
    try:
        seeds = [check_seed(s) for s in seeds]
    except TypeError:
        raise ValueError(f"seeds must be a sequence of non-negative integers, got {seeds!r}") from None
    if not seeds:
        raise ValueError("seeds must not be empty")
    n_epochs, loss = check_epochs(n_epochs), check_loss(loss)
    margin, patience = check_margin(margin), check_patience(patience)
    n = len(seeds)
    lr = _per_network(lr, n, check_lr, "lr")
    momentum = _per_network(momentum, n, check_momentum, "momentum")
    init_scale = _per_network(init_scale, n, check_init_scale, "init_scale")

    params = np.stack([init_params(s, c) for s, c in zip(seeds, init_scale)])
    fit = _fit(params, lr, momentum, n_epochs, loss=loss, early_stop=early_stop, margin=margin,
               patience=patience, reinit=lambda row, attempt: init_params(seeds[row], init_scale[row], attempt),
               progress=progress, observer=observer)
    h, _, y = forward(*unpack(fit["params"]))
    acc, n_codes, m = accuracy_of(y), distinct_codes_of(h), code_margin_of(h)
    solved = (acc == 1.0) & (n_codes == N_PATTERNS) & (m >= margin)
    runs = []
    for i, seed in enumerate(seeds):
        run = {"seed": seed, "lr": float(lr[i]), "momentum": float(momentum[i]),
               "init_scale": float(init_scale[i]), "loss": loss, "solved": bool(solved[i]),
               "epochs": int(fit["epochs"][i]), "solve_epoch": int(fit["solve_epoch"][i]) or None,
               "accuracy": float(acc[i]), "n_distinct_codes": int(n_codes[i]), "code_margin": float(m[i]),
               "margin_at_solve": None if np.isnan(fit["margin_at_solve"][i]) else float(fit["margin_at_solve"][i]),
               "hidden_codes": h[i].tolist(), "restarts": len(fit["restart_epochs"][i]),
               "restart_epochs": fit["restart_epochs"][i]}
        if return_weights:
            run.update(zip(("W1", "b1", "W2", "b2"), (w.tolist() for w in unpack(fit["params"][i]))))
        runs.append(run)
    return runs


def parse_seeds(spec):
    """'0-29', '0,3,7' or mixes like '0-9,20' -> list of ints (in the order given, no repeats)."""
    seeds = []
    for part in str(spec).split(","):
        part = part.strip()
        lo, dash, hi = part.partition("-")
        try:
            if not lo.isdigit() or (dash and not hi.isdigit()):
                raise ValueError
            first, last = int(lo), int(hi) if dash else int(lo)
        except ValueError:
            raise ValueError(f"bad seed spec {spec!r}: {part!r} is not N or N-M with non-negative integers") from None
        if last < first:
            raise ValueError(f"bad seed spec {spec!r}: range {part!r} runs backwards")
        seeds.extend(range(first, last + 1))
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"bad seed spec {spec!r}: a seed is listed twice")
    return seeds


def wilson_interval(k, n, z=1.959963984540054):
    """95% Wilson score interval (low, high) for k successes out of n."""
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def summarize(runs):
    """Solve rate with its Wilson interval and the epochs among solved runs."""
    n, solved = len(runs), [r for r in runs if r["solved"]]
    low, high = wilson_interval(len(solved), n)
    epochs = sorted(r["epochs"] for r in solved)
    unsolved = {}
    for r in runs:
        if not r["solved"]:
            key = f"acc={r['accuracy']:.3f} codes={r['n_distinct_codes']}"
            unsolved[key] = unsolved.get(key, 0) + 1
    return {"n": n, "solved": len(solved), "solve_rate": len(solved) / n, "wilson_95": [low, high],
            "median_epochs": float(np.median(epochs)) if epochs else None,
            "min_epochs": epochs[0] if epochs else None, "max_epochs": epochs[-1] if epochs else None,
            "unsolved_states": unsolved}


# ------------------------------------------------------------------------------------------------- outputs
def write_atomic(path, write, mode="w"):
    """Write a file through a temporary file in the same folder, then os.replace it into place."""
    import tempfile  # only needed when writing; keeps the import of this module light
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=os.path.splitext(path)[1])
    try:
        with os.fdopen(fd, mode) as f:
            write(f)
        os.chmod(tmp, 0o666 & ~_umask())         # mkstemp makes 0600 files; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_json(path, obj):
    write_atomic(path, lambda f: (json.dump(obj, f, indent=2), f.write("\n")))


def check_output_path(path):
    """Raise ValueError unless `path` can be created: its folder exists and it is not a folder itself."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise ValueError(f"{path} is a directory")
    if not os.path.isdir(folder):
        raise ValueError(f"folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise ValueError(f"folder {folder} is not writable")
    return path


# ---------------------------------------------------------------------------------------------------- CLI
class OneLineParser(argparse.ArgumentParser):
    """argparse, but errors are one line ('prog: error: ...') with exit status 2, no usage block."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def arg_type(check, kind=None):
    """An argparse type: convert the text with `kind` (if given) and validate it with an engine check, so
    the CLI and the API reject bad values with the same message. Text `kind` cannot read goes to the check
    as it is, which rejects it in its own words."""
    def convert(text):
        try:
            value = kind(text) if kind is not None else text
        except ValueError:
            value = text
        try:
            return check(value)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None
    return convert


def add_hyperparameter_args(parser, epochs_default=5000):
    """The training flags shared by every CLI in the project."""
    parser.add_argument("--epochs", type=arg_type(check_epochs, int), default=epochs_default,
                        help=f"epoch cap (total over restarts), >= 1 (default {epochs_default})")
    parser.add_argument("--lr", type=arg_type(check_lr, float), default=0.5,
                        help="learning rate, finite and > 0 (default 0.5)")
    parser.add_argument("--momentum", type=arg_type(check_momentum, float), default=0.9,
                        help="momentum, in [0, 1) (default 0.9)")
    parser.add_argument("--init-scale", type=arg_type(check_init_scale, float), default=0.1,
                        help="initial weights ~ U(-s, s), s finite and > 0 (default 0.1)")


def build_parser():
    p = OneLineParser(prog="encoder_backprop_8_3_8.py",
                      description="Train the 8-3-8 encoder by backprop (one seed, or a batched sweep over seeds).")
    p.add_argument("--seed", type=arg_type(check_seed, int), default=None,
                   help="seed of a single run, a non-negative integer (default 0)")
    p.add_argument("--seeds", type=arg_type(parse_seeds), default=None,
                   help="train many seeds together, e.g. 0-29, 0,3,7 or 0-9,20 (prints a table and a summary)")
    add_hyperparameter_args(p)
    p.add_argument("--no-early-stop", action="store_true",
                   help="train for all --epochs instead of stopping at the first solved epoch >= 201")
    p.add_argument("--loss", type=arg_type(check_loss), default="ce",
                   help="ce: cross-entropy (published); sse: half squared error, the 1986 paper's loss")
    p.add_argument("--margin", type=arg_type(check_margin, float), default=0.0,
                   help="also require every hidden activation at least M from 0.5 to count as solved, "
                        "0 <= M < 0.5 (default 0: the published criterion)")
    p.add_argument("--patience", type=arg_type(check_patience, int), default=None,
                   help="restart a network (fresh weights from a seed derived from its seed) when its best "
                        "distinct-code count has not improved for this many epochs (default: no restarts)")
    p.add_argument("--json", metavar="PATH", type=arg_type(check_output_path), default=None,
                   help="also write the result as JSON to PATH")
    return p


def _config(args):
    return {"n_epochs": args.epochs, "lr": args.lr, "momentum": args.momentum, "init_scale": args.init_scale,
            "early_stop": not args.no_early_stop, "loss": args.loss, "margin": args.margin,
            "patience": args.patience, "min_stop_epoch": MIN_STOP_EPOCH}


def _describe(config):
    text = (f"epochs <= {config['n_epochs']}, lr {config['lr']:g}, momentum {config['momentum']:g}, "
            f"init scale {config['init_scale']:g}, loss {config['loss']}")
    if config["margin"]:
        text += f", margin {config['margin']:g}"
    if config["patience"]:
        text += f", restart after {config['patience']} epochs without a new code"
    stop = f"early stop from epoch {MIN_STOP_EPOCH}" if config["early_stop"] else "no early stop"
    return f"{text}, {stop}"


def print_code_table(hidden):
    print("pattern   h1      h2      h3      code")
    for i, row in enumerate(hidden):
        bits = " ".join(str(int(v > 0.5)) for v in row)
        print(f"  {i}     " + "  ".join(f"{v:.4f}" for v in row) + f"   {bits}")


def _run_single(args):
    config = {"seed": args.seed, **_config(args)}
    print(f"8-3-8 encoder, backprop: seed {args.seed}, {_describe(config)}")
    model, history = train(args.epochs, args.lr, args.momentum, args.init_scale, args.seed,
                           early_stop=config["early_stop"], loss=args.loss, margin=args.margin,
                           patience=args.patience)
    result = {"seed": args.seed, **run_summary(model, history, args.margin)}
    status = "SOLVED" if result["solved"] else "NOT SOLVED"
    restarts = f", {result['restarts']} restarts" if args.patience else ""
    print(f"{status} at epoch {result['epochs']}: accuracy {result['accuracy']:.1%}, "
          f"{result['n_distinct_codes']}/8 distinct codes, code margin {result['code_margin']:.3g}{restarts}")
    print_code_table(result["hidden_codes"])
    if args.json:
        write_json(args.json, {**result, "config": config})
    return 0


class Progress:
    """A self-overwriting progress line on stderr, only when stderr is a terminal and after one second."""

    def __init__(self, total):
        self.total, self.start, self.last = total, time.perf_counter(), 0.0
        self.enabled = sys.stderr.isatty()
        self.shown = False

    def __call__(self, epoch, n_training):
        if not self.enabled or epoch % 50:
            return
        now = time.perf_counter()
        if now - self.start > 1.0 and now - self.last > 0.1:
            self.last, self.shown = now, True
            sys.stderr.write(f"\repoch {epoch}: {n_training}/{self.total} networks still training ")
            sys.stderr.flush()

    def close(self):
        if self.shown:
            sys.stderr.write("\r" + " " * 60 + "\r")
            sys.stderr.flush()


def _run_sweep(args):
    config = {"seeds": args.seeds, **_config(args)}
    print(f"8-3-8 encoder, backprop: {len(args.seeds)} seeds, {_describe(config)}")
    progress = Progress(len(args.seeds))
    runs = sweep_seeds(args.seeds, args.epochs, args.lr, args.momentum, args.init_scale,
                       early_stop=config["early_stop"], loss=args.loss, margin=args.margin,
                       patience=args.patience, progress=progress)
    progress.close()
    extra = "  restarts" if args.patience else ""
    print(f" seed  solved  epochs  codes  accuracy    margin{extra}")
    for r in runs:
        more = f"  {r['restarts']:8d}" if args.patience else ""
        print(f"{r['seed']:5d}  {'yes' if r['solved'] else 'no':>6}  {r['epochs']:6d}  {r['n_distinct_codes']:3d}/8"
              f"  {r['accuracy']:8.1%}  {r['code_margin']:8.3g}{more}")
    summary = summarize(runs)
    low, high = summary["wilson_95"]
    print(f"solved {summary['solved']}/{summary['n']} ({summary['solve_rate']:.1%}; 95% Wilson interval "
          f"{low:.1%}-{high:.1%})")
    if summary["solved"]:
        print(f"epochs among solved: median {summary['median_epochs']:g}, min {summary['min_epochs']}, "
              f"max {summary['max_epochs']}")
    if summary["unsolved_states"]:
        print("unsolved runs end at: " + ", ".join(f"{k} ({v})" for k, v in summary["unsolved_states"].items()))
    if args.json:
        write_json(args.json, {"config": config, "summary": summary, "runs": runs})
    return 0


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.seed is not None and args.seeds is not None:
        parser.error("use either --seed (one run) or --seeds (a sweep), not both")
    try:
        if args.seeds is not None:
            return _run_sweep(args)
        args.seed = 0 if args.seed is None else args.seed
        return _run_single(args)
    except OSError as err:
        parser.error(f"cannot write output: {err}")


if __name__ == "__main__":
    sys.exit(main())
