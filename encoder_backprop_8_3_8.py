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

import atomic_files
import cli_support as cli
import validation as check
from interval_stats import bootstrap, bootstrap_median, wilson_interval
from optimizers import DEFAULTS as OPTIMIZER_DEFAULTS
from optimizers import OPTIMIZER_HELP, OPTIMIZERS, momentum_step  # noqa: F401  (part of the engine's API)
from parallel_map import map_chunks
from training_loop import (CHUNK, CRITERIA, CRITERION_HELP, DEFAULT_SHAPE, PATIENCE_CLOCKS, Shape, accuracy_of,
                           check_sweep_memory, code_margin_of, corner_of, distinct_codes_of, fit, is_solved,
                           network_rng, outputs_within, parse_size, read_only)

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
    changes no value and would only cost a pass over the array.
    """
    return np.divide(1.0, 1.0 + np.exp(-np.maximum(z, -50.0)), out=out)


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
    params = np.zeros(shape.n_params)
    W1, b1, W2, b2 = unpack(params, shape)
    W1[...] = rng.uniform(-init_scale, init_scale, W1.shape)
    W2[...] = rng.uniform(-init_scale, init_scale, W2.shape)
    for bias, scale in zip((b1, b2), bias_scale):
        if scale > 0:
            bias[...] = rng.uniform(-scale, scale, bias.shape)
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
              lambda d, y, n: _atanh_error(d * n) / n * (y * (1.0 - y) + 0.1),
              lambda z, y, t: 0.5 * ((y - t) ** 2).sum(-1)),
}


def _atanh_error(e):
    """log((1 + e) / (1 - e)) = 2 atanh(e), clipped to +-17 where |e| > 0.9999999 (Fahlman's code)."""
    inside = np.clip(e, -0.9999999, 0.9999999)
    return np.where(np.abs(e) > 0.9999999, 17.0 * np.sign(e), np.log1p(inside) - np.log1p(-inside))


def check_loss(loss):
    return check.check_choice(loss, LOSSES, "loss")


def check_optimizer(optimizer):
    return check.check_choice(optimizer, OPTIMIZERS, "optimizer")


def backward(W2, h, y, t=None, x=None, loss="ce", out=(None, None, None, None), center=0.0):
    """Gradients of the loss averaged over the n patterns: (dW1, db1, dW2, db2), shaped like the parameters.

    W2 (..., H, N); h (..., n, H), y (..., n, N) from `forward`; t (n, N) targets (None: the one-hot
    patterns); x (n, N) inputs (None: the one-hot patterns); loss: a key of LOSSES; center: as in `forward`.
    """
    n = y.shape[-2]
    d = LOSSES[loss][1]((y - (_one_hot(n) if t is None else t)) / n, y, n)
    ones = _ones(n)
    dW2 = np.matmul((h - center if center else h).mT, d, out=out[2])
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
    """Loss averaged over patterns, (...,)."""
    t = _one_hot(y.shape[-1]) if t is None else t
    return LOSSES[loss][2](z, y, t).mean(-1)


# -------------------------------------------------------------------------------------------------- metrics
def code_separation_of(h):
    """Mean Euclidean distance between the raw hidden codes of all pattern pairs, (...,)."""
    n = h.shape[-2]
    dist = np.sqrt(((h[..., :, None, :] - h[..., None, :, :]) ** 2).sum(-1))
    return dist.sum(axis=(-2, -1)) / (n * (n - 1))


def weight_norm_of(W1, W2):
    """||W1||_F + ||W2||_F, (...,)."""
    return np.linalg.norm(W1, axis=(-2, -1)) + np.linalg.norm(W2, axis=(-2, -1))


def solved_of(h, y, margin=0.0):
    """The strict criterion on activations, (...,) bools (training_loop.is_solved on the binarised codes)."""
    return is_solved(corner_of(h), y, h, margin)


# --------------------------------------------------------------------------------------------- the learner
SETTINGS = ("lr", "momentum", "init_scale")      # the per-network hyper-parameters of a sweep


class Backprop:
    """Backprop as a learner of training_loop.fit: settings lr, momentum, init_scale (one per network), any
    loss of LOSSES and any optimizer of optimizers.OPTIMIZERS. The published recipe (momentum, the strict
    criterion) never counts a network solved before epoch 201; every other combination from epoch 1."""

    def __init__(self, shape=DEFAULT_SHAPE, loss="ce", optimizer="momentum", criterion="strict",
                 activation="logistic", bias_scale=(0.0, 0.0)):
        self.shape, self.loss = shape, check_loss(loss)
        self.bias_scale = check_bias_scale(bias_scale)
        self.center = ACTIVATIONS[check_activation(activation)][1]
        self.optimizer_name = check_optimizer(optimizer)
        self.optimizer = OPTIMIZERS[optimizer]()
        published = optimizer == "momentum" and criterion == "strict"
        self.min_stop_epoch = MIN_STOP_EPOCH if published else 1

    def init_params(self, seed, init_scale, attempt=0):
        return init_params(seed, init_scale, attempt, self.shape, self.bias_scale)

    def start(self, seeds, settings):
        return _BackpropBatch(self, np.asarray(seeds), {k: np.asarray(settings[k], float) for k in SETTINGS})


class _BackpropBatch:
    """A stack of networks: parameters P (k, P), velocities V, gradients G, activations h, z, y, and the
    per-network settings; all arrays are compacted together when networks leave."""

    def __init__(self, learner, seeds, settings):
        self.learner, self.shape, self.seeds = learner, learner.shape, seeds
        self.init_scale = settings["init_scale"]
        self.lr, self.momentum = settings["lr"][:, None], settings["momentum"][:, None]
        self.params = np.stack([learner.init_params(s, c) for s, c in zip(seeds, self.init_scale)])
        self.state = learner.optimizer.new_state(self.params)
        n, hid, k = self.shape.n_patterns, self.shape.n_hidden, len(seeds)
        self.h, self.z, self.y = np.empty((k, n, hid)), np.empty((k, n, n)), np.empty((k, n, n))
        self._views()
        for p, _, a in self.chunks:
            forward(*p, out=a, center=learner.center)
        self._codes = None

    def _views(self):
        """Per-chunk views (params, grads, activations) of the batch; rebuilt after compaction."""
        self.hyper = {"lr": self.lr, "momentum": self.momentum}
        self.grads = np.empty_like(self.params)
        self.chunks = []
        for start in range(0, len(self.params), CHUNK):
            s = slice(start, start + CHUNK)
            self.chunks.append((unpack(self.params[s], self.shape), unpack(self.grads[s], self.shape),
                                (self.h[s], self.z[s], self.y[s])))

    hidden = property(lambda self: self.h)
    outputs = property(lambda self: self.y)

    def codes(self):
        """The corner of every pattern's hidden code, (k, N); computed once per state (the criterion, the
        patience and the plateau all read it every epoch)."""
        if self._codes is None:
            self._codes = read_only(corner_of(self.h))
        return self._codes

    def step(self):
        """Gradients at the current parameters, the optimizer's step (momentum: V = momentum*V + lr*g, P -= V),
        then one forward pass that is both this epoch's evaluation and the next epoch's forward pass."""
        loss, center = self.learner.loss, self.learner.center
        for p, g, a in self.chunks:
            backward(p[2], a[0], a[2], loss=loss, out=g, center=center)
        self.learner.optimizer.step(self.params, self.grads, self.state, self.hyper, self.shape.n_patterns)
        for p, _, a in self.chunks:
            forward(*p, out=a, center=center)
        self._codes = None

    def restart(self, rows, attempts):
        for i, attempt in zip(rows, attempts):
            self.params[i] = self.learner.init_params(self.seeds[i], self.init_scale[i], attempt)
        self.learner.optimizer.reset(self.state, rows)
        self.h[rows], self.z[rows], self.y[rows] = forward(*unpack(self.params[rows], self.shape),
                                                           center=self.learner.center)
        self._codes = None

    def load(self, params, state):
        """Continue from saved networks: params (k, P) and the optimizer's state (its arrays, (k, P) each) replace
        every network's, row for row (for experiments that resume a state caught during another run)."""
        self.params[...] = params
        for name, value in state.items():
            self.state[name][...] = value
        for p, _, a in self.chunks:
            forward(*p, out=a, center=self.learner.center)
        self._codes = None

    def keep(self, mask):
        for name in ("seeds", "init_scale", "lr", "momentum", "params", "h", "z", "y"):
            setattr(self, name, getattr(self, name)[mask])
        self.state = {k: v[mask] for k, v in self.state.items()}
        self._codes = None
        self._views()


# ----------------------------------------------------------------------------------------- the network face
class EncoderMLP:
    """One N-H-N network. W1 (N, H), b1 (H,), W2 (H, N), b2 (N,) are views into the flat `params` (P,)."""

    def __init__(self, init_scale=0.1, seed=0, params=None, *, n_patterns=8, n_hidden=3, activation="logistic"):
        self.shape = Shape(n_patterns, n_hidden)
        self.activation = check_activation(activation)
        self.center = ACTIVATIONS[activation][1]
        if params is None:
            self.params = init_params(check.check_seed(seed), check.check_init_scale(init_scale),
                                      shape=self.shape)
        else:
            self.params = np.array(params, dtype=float).reshape(self.shape.n_params)

    def _set(self, index, value):
        view = unpack(self.params, self.shape)[index]
        value = np.asarray(value, dtype=float)
        if value.shape != view.shape:
            raise ValueError(f"expected shape {view.shape}, got {value.shape}")
        view[...] = value

    W1 = property(lambda self: unpack(self.params, self.shape)[0], lambda self, v: self._set(0, v))
    b1 = property(lambda self: unpack(self.params, self.shape)[1], lambda self, v: self._set(1, v))
    W2 = property(lambda self: unpack(self.params, self.shape)[2], lambda self, v: self._set(2, v))
    b2 = property(lambda self: unpack(self.params, self.shape)[3], lambda self, v: self._set(3, v))

    def forward(self, x=None):
        """x (n, N), default the N one-hot patterns -> (h (n, H), y (n, N))."""
        h, _, y = forward(*unpack(self.params, self.shape), x=x, center=self.center)
        return h, y

    def grads(self, x=None, t=None, loss="ce"):
        """Gradients of the mean-over-patterns loss: (dW1, db1, dW2, db2). t defaults to x."""
        h, _, y = forward(*unpack(self.params, self.shape), x=x, center=self.center)
        return backward(self.W2, h, y, t=x if t is None else t, x=x, loss=check_loss(loss), center=self.center)

    def loss(self, x=None, t=None, loss="ce"):
        """Loss averaged over patterns (cross-entropy by default), a float. t defaults to x."""
        h, z, y = forward(*unpack(self.params, self.shape), x=x, center=self.center)
        return float(loss_value(z, y, x if t is None else t, check_loss(loss)))

    def predict(self, x=None):
        """Index of the largest output for each pattern, (n,)."""
        return np.argmax(self.forward(x)[1], axis=-1)

    def hidden(self, x=None):
        """Hidden activations, (n, H)."""
        return self.forward(x)[0]


def _model(model):
    if not isinstance(model, EncoderMLP):
        raise ValueError(f"model must be an EncoderMLP, got {type(model).__name__}")
    return model


def hidden_code_table(model, data=None):
    """Raw hidden activations for each pattern, (N, H)."""
    return _model(model).hidden(data)


def n_distinct_codes(model, data=None, threshold=0.5):
    """Number of distinct hidden codes after thresholding (h > threshold)."""
    return int(distinct_codes_of(_model(model).hidden(data), threshold))


def accuracy(model, data=None):
    """Fraction of patterns reconstructed (argmax of the output = the pattern's index)."""
    return float(accuracy_of(_model(model).forward(data)[1], None if data is None else data))


def code_margin(model):
    """Smallest |h - 0.5| over the N x H hidden activations: how close the code is to losing a bit."""
    return float(code_margin_of(_model(model).hidden()))


# --------------------------------------------------------------------------------------------- single runs
HISTORY_KEYS = ("epoch", "loss", "acc", "n_distinct_codes", "weight_norm", "code_separation", "code_margin")


MAX_HISTORY = 100_000   # recorded epochs per run: longer runs record every k-th epoch (and the last), so a
#                         history never grows past ~6 MB however many epochs are run


class _HistoryRecorder:
    """Keeps the parameters and activations of every `stride`-th epoch, and turns them into the history's
    lists in vectorised blocks (the metric functions take the epochs as their stack axis)."""

    def __init__(self, loss, shape, n_epochs=1):
        self.loss, self.shape = loss, shape
        self.stride = -(-n_epochs // MAX_HISTORY)
        self.history = {key: [] for key in HISTORY_KEYS}
        self.pending, self.skipped = [], None           # skipped: the latest epoch the stride left out

    def __call__(self, epoch, rows, batch):
        record = (epoch, batch.params.copy(), batch.h.copy(), batch.z.copy(), batch.y.copy())
        if epoch % self.stride:
            self.skipped = record
            return
        self.pending.append(record)
        self.skipped = None
        if len(self.pending) >= 1024:
            self.flush()

    def flush(self, final=False):
        """The history so far; final=True also records the last epoch run if the stride left it out."""
        if final and self.skipped is not None:
            self.pending.append(self.skipped)
            self.skipped = None
        if not self.pending:
            return self.history
        epochs, *arrays = zip(*self.pending)
        epoch, (P, h, z, y) = np.array(epochs), (np.concatenate(a) for a in arrays)
        self.pending = []
        W1, _, W2, _ = unpack(P, self.shape)
        for key, values in (("epoch", epoch), ("loss", loss_value(z, y, loss=self.loss)),
                            ("acc", accuracy_of(y)), ("n_distinct_codes", distinct_codes_of(h)),
                            ("weight_norm", weight_norm_of(W1, W2)), ("code_separation", code_separation_of(h)),
                            ("code_margin", code_margin_of(h))):
            self.history[key].extend(values.tolist())
        return self.history


def _model_of(params, shape, activation="logistic"):
    return EncoderMLP(params=params, n_patterns=shape.n_patterns, n_hidden=shape.n_hidden, activation=activation)


def check_bias_scale(bias_scale):
    """(hidden, output) initial bias scales, each 0 <= s <= the init-scale bound."""
    try:
        hidden, output = bias_scale
    except (TypeError, ValueError):
        raise ValueError(f"bias_scale must be a pair (hidden, output), got {bias_scale!r}") from None
    return (check.check_real_in(hidden, "hidden bias scale", 0, check.MAX_INIT_SCALE, low_open=False),
            check.check_real_in(output, "output bias scale", 0, check.MAX_INIT_SCALE, low_open=False))


def _options(optimizer, criterion, loss, margin, patience, restart_every, size, activation, patience_from="attempt",
             bias_scale=(0.0, 0.0)):
    """Validated training options shared by `train` and `sweep_seeds`; loss and activation None are the
    optimizer's own."""
    optimizer = check_optimizer(optimizer)
    criterion = check.check_choice(criterion, CRITERIA, "criterion")
    loss = check_loss(OPTIMIZER_DEFAULTS[optimizer]["loss"] if loss is None else loss)
    activation = check_activation(OPTIMIZER_DEFAULTS[optimizer]["activation"] if activation is None else activation)
    return {"optimizer": optimizer, "criterion": criterion, "loss": loss, "activation": activation,
            "margin": check.check_margin(margin),
            "patience": check.check_patience(patience),
            "patience_from": check.check_choice(patience_from, PATIENCE_CLOCKS, "patience_from"),
            "bias_scale": check_bias_scale(bias_scale),
            "restart_every": None if restart_every is None else check.check_epochs(restart_every, "restart_every"),
            "shape": parse_size(size)}


def _settings(n, optimizer, lr, momentum, init_scale):
    """Per-network hyper-parameters, (n,) each; lr and init_scale None are the optimizer's own defaults."""
    defaults = OPTIMIZER_DEFAULTS[optimizer]
    return {"lr": check.per_network(defaults["lr"] if lr is None else lr, n, check.check_lr, "lr"),
            "momentum": check.per_network(momentum, n, check.check_momentum, "momentum"),
            "init_scale": check.per_network(defaults["init_scale"] if init_scale is None else init_scale, n,
                                            check.check_init_scale, "init_scale")}


def _fit(seeds, settings, n_epochs, opts, early_stop, observer=None, progress=None):
    learner = Backprop(opts["shape"], opts["loss"], opts["optimizer"], opts["criterion"], opts["activation"],
                       opts["bias_scale"])
    return fit(learner, seeds, settings, n_epochs, criterion=opts["criterion"], margin=opts["margin"],
               early_stop=early_stop, patience=opts["patience"], restart_every=opts["restart_every"],
               observer=observer, progress=progress, patience_from=opts["patience_from"])


def solved_by(criterion, h, y, margin=0.0):
    """(...,) bools: the named criterion (training_loop.CRITERIA) on activations h (..., N, H), y (..., N, N)."""
    return is_solved(corner_of(h), y, h, margin) if criterion == "strict" else outputs_within(y)


def train(n_epochs=5000, lr=None, momentum=0.9, init_scale=None, seed=0, early_stop=True,
          snapshot_callback=None, snapshot_every=50, verbose=True, *, loss=None, margin=0.0, patience=None,
          size=DEFAULT_SHAPE, optimizer="momentum", criterion="strict", restart_every=None, activation=None,
          patience_from="attempt", bias_scale=(0.0, 0.0)):
    """Train one network (by default with the published procedure); returns (model, history).

    history: per-epoch lists (epoch 1..E) "epoch", "loss", "acc", "n_distinct_codes", "weight_norm",
    "code_separation", "code_margin", plus "restart_epochs" (epochs after which the network was redrawn).
    snapshot_callback(epoch, model, history) is called every `snapshot_every` epochs and at the last epoch
    run (including the early-stop epoch), with a copy of the network and the history so far.
    Options beyond the published procedure (their defaults reproduce it): loss (a key of LOSSES; None is the
    optimizer's own: ce, or sse_offset for quickprop), margin > 0 (every |h - 0.5| >= margin to count as
    solved), patience (restart on plateau), restart_every (restart after a fixed budget per attempt),
    optimizer (a key of optimizers.OPTIMIZERS), criterion ("strict" or "fahlman"), size (an N-H-N spec),
    activation (a key of ACTIVATIONS), patience_from (training_loop.PATIENCE_CLOCKS), bias_scale (hidden,
    output: initial biases from U(-s, s) instead of zero). lr, init_scale, loss and activation None are the
    optimizer's defaults (momentum: 0.5, 0.1, ce, logistic; optimizers.DEFAULTS has the others).
    """
    n_epochs, seed = check.check_epochs(n_epochs), check.check_seed(seed)
    opts = _options(optimizer, criterion, loss, margin, patience, restart_every, size, activation, patience_from,
                    bias_scale)
    settings = _settings(1, opts["optimizer"], lr, momentum, init_scale)
    snapshot_every = check.check_epochs(snapshot_every, "snapshot_every")
    check.check_callable(snapshot_callback, "snapshot_callback")
    shape = opts["shape"]

    recorder = _HistoryRecorder(opts["loss"], shape, n_epochs)
    last_snapshot = [0]

    def observe(epoch, rows, batch):
        recorder(epoch, rows, batch)
        if snapshot_callback is not None and epoch % snapshot_every == 0:
            snapshot_callback(epoch, _model_of(batch.params[0], shape, opts["activation"]), recorder.flush())
            last_snapshot[0] = epoch
        if verbose and epoch % 500 == 0:
            hist = recorder.flush()
            print(f"epoch {epoch:6d}  loss {hist['loss'][-1]:.5f}  acc {hist['acc'][-1]:6.1%}  "
                  f"codes {hist['n_distinct_codes'][-1]}/{shape.n_patterns}  "
                  f"margin {hist['code_margin'][-1]:.3g}", flush=True)

    result = _fit([seed], settings, n_epochs, opts, early_stop, observer=observe)
    model = _model_of(result["params"][0], shape, opts["activation"])
    history = recorder.flush(final=True)
    history["restart_epochs"] = result["restart_epochs"][0]
    history["criterion"] = opts["criterion"]
    if snapshot_callback is not None and last_snapshot[0] != history["epoch"][-1]:
        snapshot_callback(history["epoch"][-1], _model_of(model.params, shape, opts["activation"]), history)
    return model, history


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
                workers=1, executor=None, chunk_size=None, patience_from="attempt", bias_scale=(0.0, 0.0)):
    """Train one network per seed, all together as one stack; returns one dict per network, in input order.

    lr, momentum and init_scale are scalars or one value per network, so a hyper-parameter grid x seeds is
    one call (repeat a seed to give it several settings); None is the optimizer's default. Each dict has
    seed, size, optimizer, criterion, lr, momentum, init_scale, loss, solved (the criterion on the final
    state), epochs, solve_epoch (first epoch the criterion held, from epoch 201 for the published recipe,
    or None), accuracy, n_distinct_codes, code_margin, margin_at_solve, hidden_codes (N x H), restarts,
    restart_epochs, plateau_end and plateau_corner (as training_loop.fit returns them), and with return_weights
    the final W1, b1, W2, b2. For every seed the numbers equal those of train(seed=...) with the same settings,
    final weights included, bit for bit.
    progress(epoch, n_training) is called every epoch; observer(epoch, rows, batch) too, with the networks
    still training (rows index `seeds`; batch.params (k, P), batch.h (k, N, H), batch.z and batch.y
    (k, N, N), read-only). Other options as in `train`.
    workers > 1 (local processes) or an executor (a concurrent.futures.Executor or a dask.distributed Client)
    splits the seeds into chunks of chunk_size (default: parallel_map.default_chunk_size) trained in parallel;
    the results are the same, bit for bit. Then progress is called as chunks finish, with epoch None, and an
    observer cannot be used (it would run in another process).
    """
    seeds = check.check_seeds(seeds)
    n_epochs = check.check_epochs(n_epochs)
    opts = _options(optimizer, criterion, loss, margin, patience, restart_every, size, activation, patience_from,
                    bias_scale)
    check.check_callable(progress, "progress")
    check.check_callable(observer, "observer")
    shape = opts["shape"]
    settings = _settings(len(seeds), opts["optimizer"], lr, momentum, init_scale)
    check_memory(len(seeds), shape, return_weights)
    workers = check.check_positive_int(workers, "workers")
    chunk_size = None if chunk_size is None else check.check_positive_int(chunk_size, "chunk_size")
    if workers > 1 or executor is not None:
        if observer is not None:
            raise ValueError("an observer needs workers=1 and no executor: it must run in this process")
        chunk = functools.partial(_sweep_chunk, n_epochs=n_epochs, early_stop=early_stop, loss=opts["loss"],
                                  margin=opts["margin"], patience=opts["patience"], return_weights=return_weights,
                                  size=str(shape), optimizer=opts["optimizer"], criterion=opts["criterion"],
                                  restart_every=opts["restart_every"], activation=opts["activation"],
                                  patience_from=opts["patience_from"], bias_scale=opts["bias_scale"])
        items = list(zip(seeds, settings["lr"], settings["momentum"], settings["init_scale"]))
        chunk_progress = None if progress is None else (lambda done, total: progress(None, total - done))
        return map_chunks(chunk, items, workers=workers, executor=executor, chunk_size=chunk_size,
                          progress=chunk_progress)

    result = _fit(seeds, settings, n_epochs, opts, early_stop, observer=observer, progress=progress)
    h, _, y = forward(*unpack(result["params"], shape), center=ACTIVATIONS[opts["activation"]][1])
    acc, n_codes, m = accuracy_of(y), distinct_codes_of(h), code_margin_of(h)
    solved = solved_by(opts["criterion"], h, y, opts["margin"])
    runs = []
    for i, seed in enumerate(seeds):
        at_solve = result["margin_at_solve"][i]
        run = {"seed": seed, "size": str(shape), "optimizer": opts["optimizer"], "criterion": opts["criterion"],
               "activation": opts["activation"],
               "lr": float(settings["lr"][i]), "momentum": float(settings["momentum"][i]),
               "init_scale": float(settings["init_scale"][i]), "loss": opts["loss"], "solved": bool(solved[i]),
               "epochs": int(result["epochs"][i]), "solve_epoch": int(result["solve_epoch"][i]) or None,
               "accuracy": float(acc[i]), "n_distinct_codes": int(n_codes[i]), "code_margin": float(m[i]),
               "margin_at_solve": None if np.isnan(at_solve) else float(at_solve),
               "hidden_codes": h[i].tolist(), "restarts": len(result["restart_epochs"][i]),
               "restart_epochs": result["restart_epochs"][i], "plateau_end": int(result["plateau_end"][i]),
               "plateau_corner": int(result["plateau_corner"][i])}
        if return_weights:
            run.update(zip(("W1", "b1", "W2", "b2"), (w.tolist() for w in unpack(result["params"][i], shape))))
        runs.append(run)
    return runs


def check_memory(n_networks, shape, return_weights=False):
    """ValueError, naming the figure, if a sweep of n_networks would not fit the memory bound: the stack
    (parameters, optimizer state, gradients, activations) and each result's Python lists."""
    n, h, p = shape.n_patterns, shape.n_hidden, shape.n_params
    check_sweep_memory(n_networks, 8 * (7 * p + n * h + 2 * n * n) + 40 * n * h + 2000 + 40 * p * return_weights)


def _sweep_chunk(items, **options):
    """One chunk of a parallel sweep, in a worker: items are (seed, lr, momentum, init_scale) tuples."""
    seeds, lr, momentum, init_scale = (list(column) for column in zip(*items))
    return sweep_seeds(seeds, lr=lr, momentum=momentum, init_scale=init_scale, **options)


def summarize(runs):
    """Solve rate with its Wilson interval, the epochs among solved runs with a bootstrap interval for their
    median, and the end states of the unsolved runs."""
    if not runs:
        raise ValueError("summarize needs at least one run")
    n, solved = len(runs), [r for r in runs if r["solved"]]
    low, high = wilson_interval(len(solved), n)
    epochs = sorted(r["epochs"] for r in solved)
    unsolved = {}
    for r in runs:
        if not r["solved"]:
            key = f"acc={r['accuracy']:.3f} codes={r['n_distinct_codes']}"
            unsolved[key] = unsolved.get(key, 0) + 1
    mean = bootstrap(epochs, "mean")
    return {"n": n, "solved": len(solved), "solve_rate": len(solved) / n, "wilson_95": [low, high],
            "median_epochs": float(np.median(epochs)) if epochs else None,
            "median_epochs_ci_95": bootstrap_median(epochs)["ci_95"] if epochs else None,
            "mean_epochs": mean["mean"] if mean else None, "mean_epochs_ci_95": mean["ci_95"] if mean else None,
            "min_epochs": epochs[0] if epochs else None, "max_epochs": epochs[-1] if epochs else None,
            # every epoch spent, failed runs and restarts included, per network solved
            "epochs_per_solved_network": sum(r["epochs"] for r in runs) / len(solved) if solved else None,
            "unsolved_states": unsolved}


# ---------------------------------------------------------------------------------------------------- CLI
def build_parser():
    p = cli.OneLineParser(prog="encoder_backprop_8_3_8.py",
                          description="Train an N-H-N encoder (8-3-8 by default) by backprop: one seed, or a "
                                      "batched sweep over seeds.")
    p.add_argument("--seed", type=cli.arg_type(check.check_seed, int), default=None,
                   help="seed of a single run, a non-negative integer (default 0)")
    cli.add_seeds_arg(p, text="train many seeds together (prints a table and a summary)")
    cli.add_size_arg(p)
    cli.add_hyperparameter_args(p)
    p.add_argument("--no-early-stop", action="store_true",
                   help="train for all --epochs instead of stopping at the first solved epoch >= 201")
    p.add_argument("--optimizer", type=cli.arg_type(check_optimizer), default="momentum",
                   help="; ".join(f"{k}: {v}" for k, v in OPTIMIZER_HELP.items()))
    p.add_argument("--criterion", type=cli.arg_type(lambda v: check.check_choice(v, CRITERIA, "criterion")),
                   default="strict", help="; ".join(f"{k}: {v}" for k, v in CRITERION_HELP.items()))
    p.add_argument("--loss", type=cli.arg_type(check_loss), default=None,
                   help="; ".join(f"{k}: {v[0]}" for k, v in LOSSES.items()) + " (default ce; quickprop atanh)")
    p.add_argument("--activation", type=cli.arg_type(check_activation), default=None,
                   help="hidden units: " + "; ".join(f"{k}: {v[0]}" for k, v in ACTIVATIONS.items())
                        + " (default logistic; quickprop symmetric)")
    p.add_argument("--margin", type=cli.arg_type(check.check_margin, float), default=0.0,
                   help="also require every hidden activation at least M from 0.5 to count as solved, "
                        "0 <= M < 0.5 (default 0: the published criterion)")
    p.add_argument("--patience", type=cli.arg_type(check.check_patience, int), default=None,
                   help="restart a network (fresh weights from a seed derived from its seed) when its best "
                        "distinct-code count has not improved for this many epochs (default: no restarts)")
    p.add_argument("--patience-from", type=cli.arg_type(lambda v: check.check_choice(v, PATIENCE_CLOCKS,
                                                                                     "patience-from")),
                   default="attempt", help="when --patience runs: " + "; ".join(
                       f"{k}: {v}" for k, v in PATIENCE_CLOCKS.items()) + " (default attempt)")
    p.add_argument("--bias-scale", type=cli.arg_type(_parse_bias_scale), default=(0.0, 0.0),
                   help="HIDDEN,OUTPUT: draw the initial hidden and output biases from U(-s, s) after the weights "
                        "(default 0,0: zero biases, as published)")
    p.add_argument("--restart-every", type=cli.arg_type(lambda v: check.check_epochs(v, "restart-every"), int),
                   default=None, help="restart a network whose current attempt has run this many epochs unsolved "
                                      "(a fixed budget per attempt, Fahlman's protocol; default: never)")
    cli.add_parallel_args(p)
    cli.add_json_args(p)
    return p


def _parse_bias_scale(text):
    parts = str(text).split(",")
    if len(parts) != 2:
        raise ValueError(f"bias scale must be HIDDEN,OUTPUT (two numbers), got {text!r}")
    try:
        return check_bias_scale(tuple(float(p) for p in parts))
    except ValueError as err:
        raise ValueError(f"bad bias scale {text!r}: {err}") from None


def _config(args):
    """The run's settings, with every default resolved (what was actually used)."""
    defaults = OPTIMIZER_DEFAULTS[args.optimizer]
    published = args.optimizer == "momentum" and args.criterion == "strict"
    config = {"size": str(args.size), "n_epochs": args.epochs,
              "lr": defaults["lr"] if args.lr is None else args.lr, "momentum": args.momentum,
              "init_scale": defaults["init_scale"] if args.init_scale is None else args.init_scale,
              "early_stop": not args.no_early_stop, "loss": args.loss or defaults["loss"],
              "margin": args.margin, "patience": args.patience,
              **({"patience_from": args.patience_from} if args.patience_from != "attempt" else {}),
              **({"bias_scale": list(args.bias_scale)} if any(args.bias_scale) else {}),
              "min_stop_epoch": MIN_STOP_EPOCH if published else 1}
    if not published or args.restart_every or args.activation:
        config.update(optimizer=args.optimizer, criterion=args.criterion, restart_every=args.restart_every,
                      activation=args.activation or defaults["activation"])
    return config


def _training_kwargs(args, config):
    return dict(early_stop=config["early_stop"], loss=config["loss"], margin=args.margin, patience=args.patience,
                patience_from=args.patience_from, bias_scale=args.bias_scale,
                size=args.size, optimizer=args.optimizer, criterion=args.criterion,
                restart_every=args.restart_every, activation=args.activation)


def _describe(config):
    optimizer = config.get("optimizer", "momentum")
    text = f"{optimizer}, " if optimizer != "momentum" else ""
    text += f"epochs <= {config['n_epochs']}, lr {config['lr']:g}, "
    text += f"momentum {config['momentum']:g}, " if optimizer == "momentum" else ""
    text += f"init scale {config['init_scale']:g}, loss {config['loss']}"
    if config.get("activation", "logistic") != "logistic":
        text += f", {config['activation']} hidden units"
    if config.get("criterion", "strict") != "strict":
        text += f", criterion {config['criterion']}"
    if config.get("restart_every"):
        text += f", restart every {config['restart_every']} epochs unsolved"
    if config["margin"]:
        text += f", margin {config['margin']:g}"
    if config["patience"]:
        text += f", restart after {config['patience']} epochs without a new code"
    stop = f"early stop from epoch {config['min_stop_epoch']}" if config["early_stop"] else "no early stop"
    return f"{text}, {stop}"


def print_code_table(hidden):
    hidden = np.asarray(hidden)
    print("pattern " + "".join(f"{'h' + str(j + 1):<8}" for j in range(hidden.shape[1])) + "code")
    for i, row in enumerate(hidden):
        bits = "".join(str(int(v > 0.5)) for v in row)
        print(f"  {i:<5} " + "".join(f"{v:<8.4f}" for v in row) + bits)


def _run_single(args):
    config = {"seed": args.seed, **_config(args)}
    n = args.size.n_patterns
    print(f"{args.size} encoder, backprop: seed {args.seed}, {_describe(config)}")
    model, history = train(args.epochs, config["lr"], args.momentum, config["init_scale"], args.seed,
                           **_training_kwargs(args, config))
    result = {"seed": args.seed, **run_summary(model, history, args.margin)}
    status = "SOLVED" if result["solved"] else "NOT SOLVED"
    restarts = f", {result['restarts']} restarts" if args.patience or args.restart_every else ""
    print(f"{status} at epoch {result['epochs']}: accuracy {result['accuracy']:.1%}, "
          f"{result['n_distinct_codes']}/{n} distinct codes, code margin {result['code_margin']:.3g}{restarts}")
    print_code_table(result["hidden_codes"])
    return {**result, "config": config}


def _run_sweep(args, executor=None):
    config = {"seeds": args.seeds, **_config(args)}
    n = args.size.n_patterns
    print(f"{args.size} encoder, backprop: {len(args.seeds)} seeds, {_describe(config)}")
    progress = cli.Progress(len(args.seeds))
    try:
        runs = sweep_seeds(args.seeds, args.epochs, config["lr"], args.momentum, config["init_scale"],
                           progress=progress.epoch_hook(), workers=args.workers, executor=executor,
                           chunk_size=args.chunk_size, **_training_kwargs(args, config))
    finally:
        progress.close()
    restarting = args.patience or args.restart_every
    extra = "  restarts" if restarting else ""
    print(f" seed  solved  epochs  codes  accuracy    margin{extra}")
    for r in runs:
        more = f"  {r['restarts']:8d}" if restarting else ""
        print(f"{r['seed']:5d}  {'yes' if r['solved'] else 'no':>6}  {r['epochs']:6d}  "
              f"{str(r['n_distinct_codes']) + '/' + str(n):>5}  {r['accuracy']:8.1%}  {r['code_margin']:8.3g}{more}")
    summary = summarize(runs)
    low, high = summary["wilson_95"]
    print(f"solved {summary['solved']}/{summary['n']} ({summary['solve_rate']:.1%}; 95% Wilson interval "
          f"{low:.1%}-{high:.1%})")
    if summary["solved"]:
        ci = summary["median_epochs_ci_95"]
        mci = summary["mean_epochs_ci_95"]
        print(f"epochs among solved: median {summary['median_epochs']:g} (95% bootstrap CI {ci[0]:g}-{ci[1]:g}), "
              f"mean {summary['mean_epochs']:.2f} ({mci[0]:.2f}-{mci[1]:.2f}), min {summary['min_epochs']}, "
              f"max {summary['max_epochs']}; all epochs spent per solved network "
              f"{summary['epochs_per_solved_network']:.1f}")
    if summary["unsolved_states"]:
        print("unsolved runs end at: " + ", ".join(f"{k} ({v})" for k, v in summary["unsolved_states"].items()))
    return {"config": config, "summary": summary, "runs": runs}


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.seed is not None and args.seeds is not None:
        parser.error("use either --seed (one run) or --seeds (a sweep), not both")
    cli.refuse_foreign_outputs(parser, [args.json], args.force)
    if args.seeds is not None:
        try:
            check_memory(len(args.seeds), args.size)
        except ValueError as err:
            parser.error(str(err))
    try:
        if args.seeds is not None:
            executor = cli.executor_from(parser, args)
            try:
                result = _run_sweep(args, executor)
            finally:
                if executor is not None:
                    executor.close()
        else:
            args.seed = 0 if args.seed is None else args.seed
            result = _run_single(args)
        if args.json:
            atomic_files.write_json(args.json, result)
    except OSError as err:
        cli.output_failed(parser, err, f"cannot write output: {err}")
    return 0


if __name__ == "__main__":
    sys.exit(cli.run_main(main))
