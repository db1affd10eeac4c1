"""The sigmoid network as a learner of the project's one loop: its declared settings (BackpropSettings), the
batched learner (Backprop, a stack of networks trained together), and its registry entry. The math it runs
(forward, backward, the losses, activations and optimizers) is encoder_backprop_8_3_8.py's.
"""
from dataclasses import dataclass

import numpy as np

import validation as check
from encoder_backprop_8_3_8 import (ACTIVATIONS, INPUTS, LOSSES, MIN_STOP_EPOCH, OPTIMIZER_DEFAULTS, OPTIMIZER_HELP,
                                    OPTIMIZERS, backward, check_activation, check_loss, check_optimizer, forward,
                                    init_params, unpack)
from learners import LearnerSpec
from settings import Settings, setting
from training_loop import CHUNK, DEFAULT_SHAPE, corner_of, networks_per_chunk, per_network_values, read_only


def check_bias_scale(bias_scale):
    """(hidden, output) initial bias scales, each 0 <= s <= the init-scale bound."""
    try:
        hidden, output = bias_scale
    except (TypeError, ValueError):
        raise ValueError(f"bias_scale must be a pair (hidden, output), got {bias_scale!r}") from None
    return (check.check_real_in(hidden, "hidden bias scale", 0, check.MAX_INIT_SCALE, low_open=False),
            check.check_real_in(output, "output bias scale", 0, check.MAX_INIT_SCALE, low_open=False))


def parse_bias_scale(text):
    """'HIDDEN,OUTPUT' -> (hidden, output) as floats."""
    parts = str(text).split(",")
    try:
        return tuple(float(p) for p in parts) if len(parts) == 2 else text
    except ValueError:
        raise ValueError(f"bias scale must be HIDDEN,OUTPUT (two numbers), got {text!r}") from None


# Named sets of the choices that differ between the published recipe and Fahlman's public quickprop code (his
# WeightRange 0.7 draws the bias weights too, his SigmoidPrimeOffset 0.1 is on every unit, his inputs are +-0.5).
PROFILES = {"published": ("zero biases, 0/1 inputs, no offset on the hidden derivative (the published recipe)",
                          {"bias_scale": (0.0, 0.0), "inputs": "binary", "hidden_prime_offset": 0.0}),
            "fahlman-code": ("as Fahlman's quickprop code: biases U(-0.7, 0.7), +-0.5 inputs, 0.1 added to every "
                             "unit's sigmoid derivative",
                             {"bias_scale": (0.7, 0.7), "inputs": "symmetric", "hidden_prime_offset": 0.1})}


# How a stack of networks is computed. Both give the same published figures (epochs and solve sets per seed; where
# quickprop's chaotic runs or Rprop's saturated ones part, the same solve rates); the compiled engine's numbers
# differ from numpy's in the last bits (its exp and log1p are its own), so a run is reproduced by its seed, settings
# and engine.
ENGINES = {"numpy": "numpy array operations, the reference",
           "compiled": "numba kernels with the networks innermost, several times faster for many networks (every "
                       "optimizer; compiled on first use, then cached)"}
COMPILED_OPTIMIZERS = ("momentum", "quickprop", "rprop", "irprop")


@dataclass(frozen=True)
class BackpropSettings(Settings):
    """The sigmoid network's learning rule: optimizer, its hyper-parameters, loss, activation, initial weights."""
    optimizer: str = setting("momentum", "; ".join(f"{k}: {v}" for k, v in OPTIMIZER_HELP.items()), check_optimizer)
    lr: float = setting(None, f"learning rate (quickprop: its epsilon; unused by rprop), in (0, {check.MAX_LR:g}] "
                              f"(default: the optimizer's own, 0.5)", check.check_lr, per_network=True)
    momentum: float = setting(0.9, "momentum, in [0, 1) (used by the momentum optimizer only)", check.check_momentum,
                              per_network=True)
    init_scale: float = setting(None, f"initial weights ~ U(-s, s), s in (0, {check.MAX_INIT_SCALE:g}] (default: the "
                                      f"optimizer's own: 0.1; quickprop 0.7)", check.check_init_scale,
                                per_network=True, metavar="S")
    loss: str = setting(None, "; ".join(f"{k}: {v[0]}" for k, v in LOSSES.items())
                        + " (default: the optimizer's own: ce; quickprop atanh)", check_loss)
    activation: str = setting(None, "hidden units: " + "; ".join(f"{k}: {v[0]}" for k, v in ACTIVATIONS.items())
                              + " (default: the optimizer's own: logistic; quickprop symmetric)", check_activation)
    bias_scale: tuple = setting(None, "HIDDEN,OUTPUT: draw the initial hidden and output biases from U(-s, s) after "
                                      "the weights (default: the profile's: 0,0, zero biases, as published)",
                                check_bias_scale, parse=parse_bias_scale, metavar="H,O")
    inputs: str = setting(None, "input encoding: " + "; ".join(f"{k}: {v}" for k, v in INPUTS.items())
                          + " (default: the profile's: binary)", lambda v: check.check_choice(v, INPUTS, "inputs"))
    hidden_prime_offset: float = setting(None, "added to the hidden sigmoid's derivative, in [0, 1] (default: the "
                                               "profile's: 0)", lambda v: check.check_real_in(
                                                   v, "hidden prime offset", 0, 1, low_open=False), metavar="O")
    split_epsilon: bool = setting(False, "divide each weight's learning rate (quickprop: its epsilon) by the fan-in of "
                                         "the unit it feeds, bias included, as Fahlman's quickprop code does "
                                         "(SplitEpsilon)")
    profile: str = setting("published", "defaults for bias_scale, inputs and hidden_prime_offset: " + "; ".join(
        f"{k}: {v[0]}" for k, v in PROFILES.items()), lambda v: check.check_choice(v, PROFILES, "profile"))
    engine: str = setting("numpy", "how the networks are computed: " + "; ".join(
        f"{k}: {v}" for k, v in ENGINES.items()), lambda v: check.check_choice(v, ENGINES, "engine"))

    def resolve(self):
        own = {**OPTIMIZER_DEFAULTS[self.optimizer], **PROFILES[self.profile][1]}
        return {name: own[name] for name in ("lr", "init_scale", "loss", "activation", "bias_scale", "inputs",
                                             "hidden_prime_offset") if getattr(self, name) is None}


class Backprop:
    """Backprop as a learner of training_loop.fit: per-network lr, momentum, init_scale, any loss of LOSSES and
    any optimizer of optimizers.OPTIMIZERS. The published recipe (momentum, the strict criterion) never counts a
    network solved before epoch 201; every other combination from epoch 1."""

    def __init__(self, shape=DEFAULT_SHAPE, loss="ce", optimizer="momentum", criterion="strict",
                 activation="logistic", bias_scale=(0.0, 0.0), inputs="binary", hidden_prime_offset=0.0,
                 engine="numpy", split_epsilon=False):
        self.shape, self.loss = shape, check_loss(loss)
        self.engine = check.check_choice(engine, ENGINES, "engine")
        if engine == "compiled" and optimizer not in COMPILED_OPTIMIZERS:
            raise ValueError(f"the compiled engine runs the {', '.join(COMPILED_OPTIMIZERS)} optimizers, not "
                             f"{optimizer}: use --engine numpy")
        if engine == "compiled" and split_epsilon:
            raise ValueError("the compiled engine does not split the learning rate by fan-in: use --engine numpy")
        # per parameter, 1 / the fan-in of the unit it feeds (N inputs + bias; H hidden units + bias), or None
        n, h = shape.n_patterns, shape.n_hidden
        self.lr_scale = read_only(np.repeat([1 / (n + 1), 1 / (n + 1), 1 / (h + 1), 1 / (h + 1)],
                                            [n * h, h, h * n, n])) if check.check_bool(
            split_epsilon, "split_epsilon") else None
        self.bias_scale = check_bias_scale(bias_scale)
        self.x = None if check.check_choice(inputs, INPUTS, "inputs") == "binary" else \
            read_only(np.eye(shape.n_patterns) - 0.5)      # None: the one-hot patterns, multiplied by skipping
        self.hidden_offset = hidden_prime_offset
        self.center = ACTIVATIONS[check_activation(activation)][1]
        self.optimizer_name = check_optimizer(optimizer)
        self.optimizer = OPTIMIZERS[optimizer]()
        published = optimizer == "momentum" and criterion == "strict"
        self.min_stop_epoch = MIN_STOP_EPOCH if published else 1

    @classmethod
    def from_settings(cls, shape, settings, loop):
        return cls(shape, settings.loss, settings.optimizer, loop.criterion, settings.activation, settings.bias_scale,
                   settings.inputs, settings.hidden_prime_offset, settings.engine, settings.split_epsilon)

    def forward(self, params, out=(None, None, None)):
        """h, z, y of unpacked parameters (one network or a stack), with this learner's inputs and activation."""
        return forward(*params, x=self.x, out=out, center=self.center)

    def init_params(self, seed, init_scale, attempt=0):
        return init_params(seed, init_scale, attempt, self.shape, self.bias_scale)

    def start(self, seeds, settings):
        per_network = per_network_values(settings, PER_NETWORK, len(seeds))
        if self.engine == "compiled":
            from compiled_backprop import CompiledBatch     # numba is imported only when it runs
            return CompiledBatch(self, np.asarray(seeds, np.int64), per_network)
        return _BackpropBatch(self, np.asarray(seeds, np.int64), per_network)

    def readout(self, params):
        """codes (S, N), hidden (S, N, H), outputs (S, N, N) of final parameters (S, P), as the engine computes them."""
        if self.engine == "compiled":
            from compiled_backprop import readout
            return readout(self, params)
        h, _, y = self.forward(unpack(params, self.shape))
        return corner_of(h), h, y


PER_NETWORK = ("lr", "momentum", "init_scale")      # the settings a sweep may vary network by network


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
            learner.forward(p, out=a)
        self._codes = None

    def _views(self):
        """Per-chunk views (params, grads, activations) of the batch; rebuilt after compaction."""
        scale = self.learner.lr_scale
        self.hyper = {"lr": self.lr if scale is None else self.lr * scale, "momentum": self.momentum}
        self.grads = np.empty_like(self.params)
        self.chunks = []
        per_chunk = networks_per_chunk(self.shape, CHUNK)
        for start in range(0, len(self.params), per_chunk):
            s = slice(start, start + per_chunk)
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
        learner = self.learner
        for p, g, a in self.chunks:
            backward(p[2], a[0], a[2], x=learner.x, loss=learner.loss, out=g, center=learner.center,
                     hidden_offset=learner.hidden_offset)
        learner.optimizer.step(self.params, self.grads, self.state, self.hyper, self.shape.n_patterns)
        for p, _, a in self.chunks:
            learner.forward(p, out=a)
        self._codes = None

    def restart(self, rows, attempts):
        for i, attempt in zip(rows, attempts):
            self.params[i] = self.learner.init_params(self.seeds[i], self.init_scale[i], attempt)
        self.learner.optimizer.reset(self.state, rows)
        self.h[rows], self.z[rows], self.y[rows] = self.learner.forward(unpack(self.params[rows], self.shape))
        self._codes = None

    def load(self, params, state):
        """Continue from saved networks: params (k, P) and the optimizer's state (its arrays, (k, P) each) replace
        every network's, row for row (for experiments that resume a state caught during another run)."""
        self.params[...] = params
        for name, value in state.items():
            self.state[name][...] = value
        for p, _, a in self.chunks:
            self.learner.forward(p, out=a)
        self._codes = None

    def keep(self, mask):
        for name in ("seeds", "init_scale", "lr", "momentum", "params", "h", "z", "y"):
            setattr(self, name, getattr(self, name)[mask])
        self.state = {k: v[mask] for k, v in self.state.items()}
        self._codes = None
        self._views()


def bytes_needed(shape, settings, n_networks):
    """The memory bound's figure for a stack of n networks: each network's parameters, gradients and final
    parameters, its optimizer's arrays (and split learning rates) and its activations h, z, y; and a chunk's
    temporaries of the backward pass and the sigmoids. The compiled engine keeps no gradients and no z: the
    parameters, the readout (h, y, the codes) and the optimizer's arrays, which the final readout's copy of the
    outputs replaces at the end, and a block's output and hidden errors (256 networks at most,
    compiled_backprop.BLOCK); the final parameters are the result's (training_loop.column_bytes)."""
    n, h, p = shape.n_patterns, shape.n_hidden, shape.n_params
    optimizer = OPTIMIZERS[settings.optimizer]()
    if settings.engine == "compiled":
        arrays = len(optimizer.new_state(np.zeros((1, 1))))
        return n_networks * 8 * (p + n * h + n * n + n + max(arrays * p, n * n)) + min(n_networks, 256) * 8 * (
            n * n + n * h)
    per_network = 8 * ((3 + optimizer.arrays + settings.split_epsilon) * p + n * h + 2 * n * n)
    return n_networks * per_network + min(n_networks, networks_per_chunk(shape)) * 8 * (3 * n * n + 2 * n * h)


def _run_fields(result, i):
    s = result.settings
    per_network = {name: getattr(s, name) for name in PER_NETWORK}          # a scalar, or one value per network
    return {"optimizer": s.optimizer, "criterion": result.loop.criterion, "activation": s.activation,
            **{name: float(v if np.ndim(v) == 0 else v[i]) for name, v in per_network.items()}, "loss": s.loss}


def _named_params(row, shape):
    return dict(zip(("W1", "b1", "W2", "b2"), (w.tolist() for w in unpack(row, shape))))


LEARNERS = {"backprop": LearnerSpec(
    name="backprop", title="the sigmoid network trained by backprop (momentum, quickprop, Rprop)",
    settings=BackpropSettings, make=Backprop.from_settings, can_restart=True,
    update_unit="one full-batch gradient step", updates_per_epoch=lambda shape, settings: 1,
    bytes_needed=bytes_needed, run_fields=_run_fields, named_params=_named_params,
    per_network=PER_NETWORK)}
