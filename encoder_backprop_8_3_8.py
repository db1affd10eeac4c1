#!/usr/bin/env python3
"""The N-H-N encoder trained by backprop (Rumelhart, Hinton & Williams 1986; Ackley, Hinton & Sejnowski 1985).

N one-hot patterns (8 by default) pass through H sigmoid hidden units (3) to N sigmoid outputs; the target
is the input; cross-entropy loss; full-batch gradient descent with momentum. "Solved" means 100%
reconstruction (argmax of the output = input index) and N distinct hidden codes after thresholding at 0.5,
checked from epoch 201 on (training_loop.is_solved).

Every function below works on one network (W1 of shape (N, H)) and equally on a stack of S networks along a
leading axis (W1 of shape (S, N, H)). A network's parameters live in one flat vector of 2NH + H + N numbers
(59 for 8-3-8; `unpack` gives W1, b1, W2, b2 as views), so a stack of networks is an (S, P) array and a
momentum step is four array operations. `Backprop` is this file's learner on the project's one training
loop (training_loop.fit); `train` (one network, with a per-epoch history) and `sweep_seeds` (many networks,
any mix of hyper-parameters) are its two faces.

    python3 encoder_backprop_8_3_8.py --seed 0                     # one run: seed 0 solves at epoch 3631
    python3 encoder_backprop_8_3_8.py --seeds 0-29 --epochs 20000  # a sweep: 21 of 30 solve
    python3 encoder_backprop_8_3_8.py --size 4-2-4 --seeds 0-99    # any N-H-N encoder
"""
import functools
import sys

import numpy as np

import validation as check
from optimizers import DEFAULTS as OPTIMIZER_DEFAULTS  # noqa: F401  (the optimizers are part of the engine's API)
from optimizers import OPTIMIZER_HELP, OPTIMIZERS, momentum_step  # noqa: F401
from training_loop import (CRITERIA, DEFAULT_SHAPE, LoopSettings, Shape, accuracy_of, check_memory, code_margin_of,
                           corner_of, distinct_codes_of, network_rng, parse_size, read_only, sweep, sweep_bytes)

MIN_STOP_EPOCH = 201  # the published procedure never stops before its 201st epoch
N_PATTERNS, N_HIDDEN = DEFAULT_SHAPE.n_patterns, DEFAULT_SHAPE.n_hidden
N_PARAMS = DEFAULT_SHAPE.n_params  # 59


# ----------------------------------------------------------------------------------------------- data & math
def make_encoder_data(shape=DEFAULT_SHAPE):
    """The N one-hot patterns, (N, N) float64; the targets are the same array."""
    return np.eye(shape.n_patterns)


@functools.lru_cache(maxsize=None)
def _one_hot(n):
    return read_only(np.eye(n))


@functools.lru_cache(maxsize=None)
def _ones(n):
    return read_only(np.ones(n))


def sigmoid(z, out=None):
    """1 / (1 + exp(-clip(z, -50, 50))), elementwise, any shape.

    Only the lower clip is applied: above z = 37 the sigmoid is exactly 1.0 in float64, so clipping at +50
    changes no value and would only cost a pass over the array. The steps run in place in one array (out, or
    a new one): the same operations, without a temporary per step (a 256-8-256 network's is 512 KiB).
    """
    x = np.maximum(z, -50.0, out=out)
    if np.ndim(x) == 0:
        return np.divide(1.0, 1.0 + np.exp(-x))
    np.negative(x, out=x)
    np.exp(x, out=x)
    x += 1.0
    return np.divide(1.0, x, out=x)


def unpack(params, shape=DEFAULT_SHAPE):
    """Views of a flat parameter array (..., P): W1 (..., N, H), b1 (..., H), W2 (..., H, N), b2 (..., N)."""
    n, h = shape.n_patterns, shape.n_hidden
    if params.shape[-1] != shape.n_params:
        raise ValueError(f"a {shape} network has {shape.n_params} parameters, got {params.shape[-1]}")
    lead, n_w = params.shape[:-1], n * h
    return (params[..., :n_w].reshape(lead + (n, h)),
            params[..., n_w:n_w + h],
            params[..., n_w + h:2 * n_w + h].reshape(lead + (h, n)),
            params[..., 2 * n_w + h:])


def init_params(seed, init_scale=0.1, attempt=0, shape=DEFAULT_SHAPE, bias_scale=(0.0, 0.0)):
    """Fresh parameters (P,): W1 then W2 drawn from U(-init_scale, init_scale), biases zero, from the
    network's random stream `network_rng(seed, attempt)` (attempt 0: np.random.default_rng(seed), the
    published initialisation). bias_scale (hidden, output) > 0 draws b1, then b2, from U(-s, s) after the
    weights, so the weights are the same as with zero biases."""
    rng = network_rng(seed, attempt)
    n, h = shape.n_patterns, shape.n_hidden
    params = np.zeros(shape.n_params)               # W1 (N H) | b1 (H) | W2 (H N) | b2 (N), as unpack reads it
    # a shape's draws in C order are the flat draws: the published W1 (N, H), then W2 (H, N), without unpack's views
    params[:n * h] = rng.uniform(-init_scale, init_scale, n * h)
    params[n * h + h:2 * n * h + h] = rng.uniform(-init_scale, init_scale, n * h)
    for (start, stop), scale in zip(((n * h, n * h + h), (2 * n * h + h, shape.n_params)), bias_scale):
        if scale > 0:
            params[start:stop] = rng.uniform(-scale, scale, stop - start)
    return params


# Hidden activations: name -> (what it is, the value subtracted from the logistic sigmoid before it feeds the
# output layer). Every activation is reported as the logistic value h in (0, 1), so codes (h > 0.5), margins and
# criteria read the same for all; only what the next layer receives differs. A new activation is one entry.
ACTIVATIONS = {"logistic": ("1 / (1 + e^-x), in (0, 1) (published)", 0.0),
               "symmetric": ("the logistic minus 0.5, in (-0.5, 0.5), as in Fahlman's quickprop code", 0.5)}


def check_activation(activation):
    return check.check_choice(activation, ACTIVATIONS, "activation")


def forward(W1, b1, W2, b2, x=None, out=(None, None, None), center=0.0):
    """Forward pass of one network or a stack.

    W1 (..., N, H), b1 (..., H), W2 (..., H, N), b2 (..., N); x (n, N) or None for the N one-hot patterns.
    Returns h (..., n, H) hidden activations, z (..., n, N) output pre-activations, y (..., n, N) outputs.
    `out` optionally names three arrays to write h, z, y into; the output layer reads h - center (the
    activation's offset, ACTIVATIONS).
    """
    # x @ W1 equals W1 bit for bit when x is the identity (each entry is 1*w plus exact zeros), so skip it.
    drive = W1 if x is None else x @ W1
    h = sigmoid(drive + b1[..., None, :], out=out[0])
    z = np.add((h - center if center else h) @ W2, b2[..., None, :], out=out[1])
    y = sigmoid(z, out=out[2])
    return h, z, y


# Losses: name -> (what it is, dL/dz from d = (y - t)/n, y and n, per-pattern value from z, y, t). Cross-entropy
# is computed from the pre-activations z, so it stays finite however saturated the outputs are:
# -t log s(z) - (1-t) log(1-s(z)) = log(1+e^z) - t z. A new loss is one entry here.
LOSSES = {
    "ce": ("cross-entropy summed over the outputs (published)",
           lambda d, y, n: d,
           lambda z, y, t: (np.logaddexp(0.0, z) - t * z).sum(-1)),
    "sse": ("half the squared error summed over the outputs (the 1986 paper's loss)",
            lambda d, y, n: d * y * (1.0 - y),
            lambda z, y, t: 0.5 * ((y - t) ** 2).sum(-1)),
    "sse_offset": ("half the squared error, with 0.1 added to the output sigmoid's derivative so saturated "
                   "wrong outputs still learn (Fahlman 1988)",
                   lambda d, y, n: d * (y * (1.0 - y) + 0.1),
                   lambda z, y, t: 0.5 * ((y - t) ** 2).sum(-1)),
    "atanh": ("Fahlman's error: each output's difference e = y - t through 2 atanh(e) (clipped at 17), times the "
              "sigmoid's derivative plus 0.1; the value shown is half the squared error",
              lambda d, y, n: _atanh_dz(d, y, n),
              lambda z, y, t: 0.5 * ((y - t) ** 2).sum(-1)),
}


def _atanh_error(e):
    """log((1 + e) / (1 - e)) = 2 atanh(e), clipped to +-17 where |e| > 0.9999999 (Fahlman's code)."""
    inside = np.clip(e, -0.9999999, 0.9999999)
    error = np.log1p(inside)
    error -= np.log1p(np.negative(inside, out=inside))
    beyond = np.abs(e) > 0.9999999
    if beyond.any():
        error[beyond] = 17.0 * np.sign(e[beyond])
    return error


def _atanh_dz(d, y, n):
    """The atanh loss's dL/dz: _atanh_error(d * n) / n * (y * (1 - y) + 0.1), each step in place."""
    dz = _atanh_error(d * n)
    dz /= n
    slope = 1.0 - y
    slope *= y
    slope += 0.1
    dz *= slope
    return dz


def check_loss(loss):
    return check.check_choice(loss, LOSSES, "loss")


def check_optimizer(optimizer):
    return check.check_choice(optimizer, OPTIMIZERS, "optimizer")


def backward(W2, h, y, t=None, x=None, loss="ce", out=(None, None, None, None), center=0.0, hidden_offset=0.0):
    """Gradients of the loss averaged over the n patterns: (dW1, db1, dW2, db2), shaped like the parameters.

    W2 (..., H, N); h (..., n, H), y (..., n, N) from `forward`; t (n, N) targets (None: the one-hot
    patterns); x (n, N) inputs (None: the one-hot patterns); loss: a key of LOSSES; center: as in `forward`;
    hidden_offset: added to the hidden sigmoid's derivative (Fahlman's code adds 0.1 on every unit).
    """
    n = y.shape[-2]
    d = y - (_one_hot(n) if t is None else t)
    d /= n
    d = LOSSES[loss][1](d, y, n)
    ones = _ones(n)
    dW2 = np.matmul((h - center if center else h).mT, d, out=out[2])
    db2 = np.matmul(ones, d, out=out[3])                    # sum over patterns
    if hidden_offset:
        back, slope = d @ W2.mT, h * (1.0 - h) + hidden_offset
    else:
        back, slope = (d @ W2.mT) * h, 1.0 - h
    if x is None:                                           # x.T @ dh is dh itself for one-hot inputs
        dW1 = dh = np.multiply(back, slope, out=out[0])
    else:
        dh = back * slope
        dW1 = np.matmul(np.asarray(x).mT, dh, out=out[0])
    db1 = np.matmul(ones, dh, out=out[1])
    return dW1, db1, dW2, db2


def loss_value(z, y, t=None, loss="ce"):
    """Loss averaged over patterns, (...,)."""
    t = _one_hot(y.shape[-1]) if t is None else t
    return LOSSES[check_loss(loss)][2](z, y, t).mean(-1)


# -------------------------------------------------------------------------------------------------- metrics
SEPARATION_BLOCK = 1 << 21     # pairs x hidden units of one block of code_separation_of: 16 MB temporaries


def code_separation_of(h):
    """Mean Euclidean distance between the raw hidden codes of all pattern pairs, (...,). The pairs are taken a
    block of patterns at a time, so a large encoder's (N, N, H) differences never exist at once."""
    n = h.shape[-2]
    rows = max(1, SEPARATION_BLOCK // max(1, h.size))
    total = 0.0
    for start in range(0, n, rows):
        block = h[..., start:start + rows, None, :]
        total = total + np.sqrt(((block - h[..., None, :, :]) ** 2).sum(-1)).sum(axis=(-2, -1))
    return total / (n * (n - 1))


def weight_norm_of(W1, W2):
    """||W1||_F + ||W2||_F, (...,)."""
    return np.linalg.norm(W1, axis=(-2, -1)) + np.linalg.norm(W2, axis=(-2, -1))



INPUTS = {"binary": "the one-hot patterns as 0/1 (published)",
          "symmetric": "the patterns as +-0.5, as in Fahlman's quickprop code"}

# ----------------------------------------------------------------------------------------- the network face
class EncoderMLP:
    """One N-H-N network. W1 (N, H), b1 (H,), W2 (H, N), b2 (N,) are views into the flat `params` (P,)."""

    def __init__(self, init_scale=0.1, seed=0, params=None, *, n_patterns=8, n_hidden=3, activation="logistic",
                 inputs="binary"):
        self.shape = Shape(n_patterns, n_hidden)
        self.patterns = None if check.check_choice(inputs, INPUTS, "inputs") == "binary" else np.eye(n_patterns) - 0.5
        self.activation = check_activation(activation)
        self.center = ACTIVATIONS[activation][1]
        if params is None:
            self.params = init_params(check.check_seed(seed), check.check_init_scale(init_scale),
                                      shape=self.shape)
        else:
            self.params = _numbers(params, "params", (self.shape.n_params,)).copy()

    def _set(self, index, value):
        view = unpack(self.params, self.shape)[index]
        view[...] = _numbers(value, ("W1", "b1", "W2", "b2")[index], view.shape)

    def _inputs(self, x, name="x"):
        """x (n, N) as floats, or the network's own patterns for None."""
        return self.patterns if x is None else _numbers(x, name, (None, self.shape.n_patterns))

    W1 = property(lambda self: unpack(self.params, self.shape)[0], lambda self, v: self._set(0, v))
    b1 = property(lambda self: unpack(self.params, self.shape)[1], lambda self, v: self._set(1, v))
    W2 = property(lambda self: unpack(self.params, self.shape)[2], lambda self, v: self._set(2, v))
    b2 = property(lambda self: unpack(self.params, self.shape)[3], lambda self, v: self._set(3, v))

    def forward(self, x=None):
        """x (n, N), default the N patterns in the network's input encoding -> (h (n, H), y (n, N))."""
        h, _, y = forward(*unpack(self.params, self.shape), x=self._inputs(x), center=self.center)
        return h, y

    def _targets(self, x, t):
        return x if t is None else _numbers(t, "t", x.shape if x is not None else (self.shape.n_patterns,) * 2)

    def grads(self, x=None, t=None, loss="ce"):
        """Gradients of the mean-over-patterns loss: (dW1, db1, dW2, db2). t defaults to x (to the one-hot
        patterns when x is the network's own patterns)."""
        x = None if x is None else self._inputs(x)
        t = self._targets(x, t)
        x = self.patterns if x is None else x
        h, _, y = forward(*unpack(self.params, self.shape), x=x, center=self.center)
        return backward(self.W2, h, y, t=t, x=x, loss=check_loss(loss), center=self.center)

    def loss(self, x=None, t=None, loss="ce"):
        """Loss averaged over patterns (cross-entropy by default), a float. t defaults to x (as in `grads`)."""
        x = None if x is None else self._inputs(x)
        h, z, y = forward(*unpack(self.params, self.shape), x=self.patterns if x is None else x, center=self.center)
        return float(loss_value(z, y, self._targets(x, t), check_loss(loss)))

    def predict(self, x=None):
        """Index of the largest output for each pattern, (n,)."""
        return np.argmax(self.forward(x)[1], axis=-1)

    def hidden(self, x=None):
        """Hidden activations, (n, H)."""
        return self.forward(x)[0]


def _numbers(value, name, shape):
    """value as a float array of `shape` (None: any length on that axis); ValueError naming the argument."""
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of numbers, got {type(value).__name__}") from None
    if array.ndim != len(shape) or any(want is not None and got != want for got, want in zip(array.shape, shape)):
        wanted = "(" + ", ".join("n" if w is None else str(w) for w in shape) + ("," if len(shape) == 1 else "") + ")"
        raise ValueError(f"{name} must have shape {wanted}, got {array.shape}")
    return array


def _model(model):
    if not isinstance(model, EncoderMLP):
        raise ValueError(f"model must be an EncoderMLP, got {type(model).__name__}")
    return model


def hidden_code_table(model, data=None):
    """Raw hidden activations for each pattern, (N, H)."""
    model = _model(model)
    return model.hidden(None if data is None else model._inputs(data, "data"))


def n_distinct_codes(model, data=None, threshold=0.5):
    """Number of distinct hidden codes after thresholding (h > threshold)."""
    threshold = check.check_real_in(threshold, "threshold", 0, 1, low_open=False)
    return int(distinct_codes_of(_model(model).hidden(data), threshold))


def accuracy(model, data=None):
    """Fraction of patterns reconstructed (argmax of the output = the pattern's index)."""
    model = _model(model)
    data = None if data is None else model._inputs(data, "data")
    return float(accuracy_of(model.forward(data)[1], data))


def code_margin(model):
    """Smallest |h - 0.5| over the N x H hidden activations: how close the code is to losing a bit."""
    return float(code_margin_of(_model(model).hidden()))


# --------------------------------------------------------------------------------------------- single runs
HISTORY_KEYS = ("epoch", "loss", "acc", "n_distinct_codes", "weight_norm", "code_separation", "code_margin")


MAX_HISTORY = 100_000   # recorded epochs per run: longer runs record every k-th epoch (and the last)
HISTORY_BLOCK_BYTES = 32 << 20      # the recorded epochs waiting to become the history's numbers, at most


def _epoch_bytes(shape):
    """One recorded epoch's copy of the parameters and activations."""
    n, h = shape.n_patterns, shape.n_hidden
    return 8 * (shape.n_params + n * h + 2 * n * n)


def _history_block(shape):
    """Recorded epochs turned into numbers together: each is kept, concatenated and read by the metrics."""
    return max(1, min(1024, HISTORY_BLOCK_BYTES // (3 * _epoch_bytes(shape))))


def history_bytes(shape, n_epochs):
    """The memory bound's figure for a single run's history beyond the step's temporaries (freed while the
    history reads an epoch): a block of recorded epochs with the code separation's temporaries (nothing for a
    network too large to copy: its numbers are read from the batch), the copy of the latest epoch a long run's
    stride skips, and the history's lists, 32 bytes a number."""
    block = _history_block(shape)
    separation = 2 * 8 * min(SEPARATION_BLOCK, block * shape.n_patterns ** 2 * shape.n_hidden)
    kept = 3 * block * _epoch_bytes(shape) + separation if block > 1 else 0
    skipped = 2 * _epoch_bytes(shape) if n_epochs > MAX_HISTORY else 0
    return kept + skipped + min(n_epochs, MAX_HISTORY) * (len(HISTORY_KEYS) + 1) * 32


class _HistoryRecorder:
    """Keeps the parameters and activations of every `stride`-th epoch, and turns them into the history's
    lists in vectorised blocks (the metric functions take the epochs as their stack axis)."""

    def __init__(self, loss, shape, n_epochs=1):
        self.loss, self.shape = loss, shape
        self.stride = -(-n_epochs // MAX_HISTORY)
        self.block = _history_block(shape)
        self.history = {key: [] for key in HISTORY_KEYS}
        self.pending, self.skipped = [], None           # skipped: the latest epoch the stride left out

    def __call__(self, epoch, rows, batch):
        arrays = (batch.params, batch.h, batch.z, batch.y)
        if epoch % self.stride:
            self.skipped = (epoch, *(a.copy() for a in arrays))
            return
        self.skipped = None
        # a block of one is read at once from the batch's own arrays: a large network's epoch is never copied
        self.pending.append((epoch, *(a if self.block == 1 else a.copy() for a in arrays)))
        if len(self.pending) >= self.block:
            self.flush()

    def flush(self, final=False):
        """The history so far; final=True also records the last epoch run if the stride left it out."""
        if final and self.skipped is not None:
            self.pending.append(self.skipped)
            self.skipped = None
        if not self.pending:
            return self.history
        epochs, *arrays = zip(*self.pending)
        epoch, (P, h, z, y) = np.array(epochs), (a[0] if len(a) == 1 else np.concatenate(a) for a in arrays)
        self.pending = []
        W1, _, W2, _ = unpack(P, self.shape)
        for key, values in (("epoch", epoch), ("loss", loss_value(z, y, loss=self.loss)),
                            ("acc", accuracy_of(y)), ("n_distinct_codes", distinct_codes_of(h)),
                            ("weight_norm", weight_norm_of(W1, W2)), ("code_separation", code_separation_of(h)),
                            ("code_margin", code_margin_of(h))):
            self.history[key].extend(values.tolist())
        return self.history


def _model_of(params, shape, activation="logistic", inputs="binary"):
    return EncoderMLP(params=params, n_patterns=shape.n_patterns, n_hidden=shape.n_hidden, activation=activation,
                      inputs=inputs)


LOOP_KEYWORDS = ("early_stop", "criterion", "margin", "patience", "patience_from", "restart_every")


def settings_of(n_epochs=5000, **keywords):
    """The keyword arguments of `train` and `sweep_seeds` — the fields of BackpropSettings and of LoopSettings,
    the cap named n_epochs — as (BackpropSettings, LoopSettings), every default resolved by the declarations."""
    from backprop_learner import BackpropSettings      # the learner imports this module: import it when used
    loop = {name: keywords.pop(name) for name in LOOP_KEYWORDS if name in keywords}
    return BackpropSettings(**keywords), LoopSettings(epochs=n_epochs, **loop)


def train_bytes(shape, settings, loop):
    """The memory bound's figure for `train`: one network's sweep and its history."""
    from learners import get
    return sweep_bytes(get("backprop"), shape, settings, 1) + history_bytes(shape, loop.epochs)


def check_train_memory(shape, settings, loop):
    """ValueError, naming the figure, when one network's run and its history would need more than the bound."""
    check_memory(train_bytes(shape, settings, loop), f"a run of one {shape} network")


def train(n_epochs=5000, lr=None, momentum=0.9, init_scale=None, seed=0, early_stop=True,
          snapshot_callback=None, snapshot_every=50, verbose=True, *, loss=None, margin=0.0, patience=None,
          size=DEFAULT_SHAPE, optimizer="momentum", criterion="strict", restart_every=None, activation=None,
          patience_from="attempt", bias_scale=None, inputs=None, hidden_prime_offset=None, profile="published",
          engine="numpy"):
    """Train one network (by default with the published procedure); returns (model, history).

    history: per-epoch lists (epoch 1..E) "epoch", "loss", "acc", "n_distinct_codes", "weight_norm",
    "code_separation", "code_margin", plus "restart_epochs" (epochs after which the network was redrawn).
    snapshot_callback(epoch, model, history) is called every `snapshot_every` epochs and at the last epoch
    run (including the early-stop epoch), with a copy of the network and the history so far.
    The options are the fields of BackpropSettings and LoopSettings (their defaults reproduce the published
    procedure; lr, init_scale, loss and activation None are the optimizer's own).
    """
    seed, verbose = check.check_seed(seed), check.check_bool(verbose, "verbose")
    settings, loop = settings_of(
        n_epochs, lr=lr, momentum=momentum, init_scale=init_scale, loss=loss, optimizer=optimizer,
        activation=activation, bias_scale=bias_scale, inputs=inputs, hidden_prime_offset=hidden_prime_offset,
        profile=profile, engine=engine, early_stop=early_stop, criterion=criterion, margin=margin,
        patience=patience, patience_from=patience_from, restart_every=restart_every)
    snapshot_every = check.check_epochs(snapshot_every, "snapshot_every")
    check.check_callable(snapshot_callback, "snapshot_callback")
    shape = parse_size(size)
    check_train_memory(shape, settings, loop)
    recorder = _HistoryRecorder(settings.loss, shape, loop.epochs)
    last_snapshot = [0]

    def observe(epoch, rows, batch):
        recorder(epoch, rows, batch)
        if snapshot_callback is not None and epoch % snapshot_every == 0:
            model = _model_of(batch.params[0], shape, settings.activation, settings.inputs)
            snapshot_callback(epoch, model, recorder.flush())
            last_snapshot[0] = epoch
        if verbose and epoch % 500 == 0:          # read from the batch: the history may skip this epoch
            print(f"epoch {epoch:6d}  loss {float(loss_value(batch.z, batch.y, loss=settings.loss)[0]):.5f}  "
                  f"acc {float(accuracy_of(batch.y)[0]):6.1%}  "
                  f"codes {int(distinct_codes_of(batch.h)[0])}/{shape.n_patterns}  "
                  f"margin {float(code_margin_of(batch.h)[0]):.3g}", flush=True)

    result = sweep("backprop", [seed], settings, loop, size=shape, observer=observe)
    model = _model_of(result["params"][0], shape, settings.activation, settings.inputs)
    history = recorder.flush(final=True)
    history["restart_epochs"] = result.restart_epochs[0]
    history["criterion"] = loop.criterion
    if snapshot_callback is not None and last_snapshot[0] != history["epoch"][-1]:
        snapshot_callback(history["epoch"][-1], _model_of(model.params, shape, settings.activation, settings.inputs),
                          history)
    return model, history


def solved_by(criterion, h, y, margin=0.0):
    """(...,) bools: the named criterion (training_loop.CRITERIA) on activations h (..., N, H), y (..., N, N)."""
    return CRITERIA[check.check_choice(criterion, CRITERIA, "criterion")](corner_of(h), y, h, margin)


def run_summary(model, history, margin=0.0):
    """The result of one run as plain Python values (the CLI's --json record, without config)."""
    h, y = model.forward()
    n_codes, acc, m = int(distinct_codes_of(h)), float(accuracy_of(y)), float(code_margin_of(h))
    return {"solved": bool(solved_by(history.get("criterion", "strict"), h, y, margin)),
            "epochs": int(history["epoch"][-1]), "accuracy": acc, "n_distinct_codes": n_codes,
            "code_margin": m, "final_loss": history["loss"][-1], "restarts": len(history["restart_epochs"]),
            "restart_epochs": list(history["restart_epochs"]), "hidden_codes": h.tolist(),
            "binary_codes": (h > 0.5).astype(int).tolist()}


# --------------------------------------------------------------------------------------------------- sweeps
def sweep_seeds(seeds, n_epochs=5000, lr=None, momentum=0.9, init_scale=None, *, early_stop=True, loss=None,
                margin=0.0, patience=None, return_weights=False, progress=None, observer=None,
                size=DEFAULT_SHAPE, optimizer="momentum", criterion="strict", restart_every=None, activation=None,
                workers=1, executor=None, chunk_size=None, patience_from="attempt", bias_scale=None, inputs=None,
                hidden_prime_offset=None, profile="published", engine="numpy"):
    """Train one network per seed, all together as one stack; returns one dict per network, in input order
    (training_loop.sweep with the backprop learner, as records).

    lr, momentum and init_scale are scalars or one value per network, so a hyper-parameter grid x seeds is
    one call (repeat a seed to give it several settings); None is the optimizer's default. Each dict has
    seed, size, optimizer, criterion, lr, momentum, init_scale, loss, activation, solved (the criterion on the
    final state), epochs, solve_epoch (first epoch the criterion held, from epoch 201 for the published recipe,
    or None), accuracy, n_distinct_codes, code_margin, margin_at_solve, codes, hidden_codes (N x H), restarts,
    restart_epochs, plateau_end, plateau_corner, first_epoch_n_minus_1_codes, first_epoch_n_codes (as
    training_loop.fit returns them), and with return_weights the final W1, b1, W2, b2. For every seed the
    numbers equal those of train(seed=...) with the same settings, final weights included, bit for bit.
    progress(epoch, n_training) and observer(epoch, rows, batch) as in training_loop.sweep; batch.params
    (k, P), batch.h (k, N, H), batch.z and batch.y (k, N, N) are read-only. workers, executor, chunk_size: as
    in training_loop.sweep (the same results, bit for bit).
    """
    settings, loop = settings_of(
        n_epochs, lr=lr, momentum=momentum, init_scale=init_scale, loss=loss, optimizer=optimizer,
        activation=activation, bias_scale=bias_scale, inputs=inputs, hidden_prime_offset=hidden_prime_offset,
        profile=profile, engine=engine, early_stop=early_stop, criterion=criterion, margin=margin,
        patience=patience, patience_from=patience_from, restart_every=restart_every)
    return_weights = check.check_bool(return_weights, "return_weights")
    result = sweep("backprop", seeds, settings, loop, size=size, progress=progress, observer=observer,
                   workers=workers, executor=executor, chunk_size=chunk_size)
    return result.records(weights=return_weights)


# ---------------------------------------------------------------------------------------------------- CLI
def print_code_table(hidden):
    hidden = np.asarray(hidden)
    print("pattern " + "".join(f"{'h' + str(j + 1):<8}" for j in range(hidden.shape[1])) + "code")
    for i, row in enumerate(hidden):
        bits = "".join(str(int(v > 0.5)) for v in row)
        print(f"  {i:<5} " + "".join(f"{v:<8.4f}" for v in row) + bits)


def _run_single(run):
    """One network with its per-epoch history (`train`): progress, the result line and the code table."""
    settings, loop, seed, shape = run.settings, run.loop, run.seeds[0], run.size
    model, history = train(loop.epochs, settings.lr, settings.momentum, settings.init_scale, seed, loop.early_stop,
                           loss=settings.loss, margin=loop.margin, patience=loop.patience, size=shape,
                           optimizer=settings.optimizer, criterion=loop.criterion, restart_every=loop.restart_every,
                           activation=settings.activation, patience_from=loop.patience_from,
                           bias_scale=settings.bias_scale, inputs=settings.inputs,
                           hidden_prime_offset=settings.hidden_prime_offset, engine=settings.engine)
    result = {"seed": seed, **run_summary(model, history, loop.margin)}
    status = "SOLVED" if result["solved"] else "NOT SOLVED"
    restarts = f", {result['restarts']} restarts" if loop.restarting else ""
    print(f"{status} at epoch {result['epochs']}: accuracy {result['accuracy']:.1%}, "
          f"{result['n_distinct_codes']}/{shape.n_patterns} distinct codes, code margin "
          f"{result['code_margin']:.3g}{restarts}")
    print_code_table(result["hidden_codes"])
    return result


def main(argv=None):
    import learner_cli                              # the CLI layer: the engine above never imports it
    return learner_cli.main(argv, prog="encoder_backprop_8_3_8.py", rules=["backprop"], single_run=_run_single,
                            check_single_run=check_train_memory,
                            description="Train an N-H-N encoder (8-3-8 by default) by backprop: one seed, or a "
                                        "batched sweep over seeds.")


if __name__ == "__main__":
    # run the imported module's main, not this __main__ copy: the registry, pickled chunks and isinstance checks
    # must all see one set of classes and functions
    from cli_support import run_main
    import encoder_backprop_8_3_8
    sys.exit(run_main(encoder_backprop_8_3_8.main))
