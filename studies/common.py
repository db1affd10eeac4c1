"""What every study shares: its configuration, its sweeps (with the in-process cache of identical sweeps and
the record of the settings each one used), and small analysis helpers."""
import copy
import inspect
import time
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

import cli_support as cli
import encoder_backprop_8_3_8 as E
import training_loop as T
from training_loop import DEFAULT_SHAPE


@dataclass(frozen=True)
class StudyConfig:
    """What one study runs with: the seeds, the epoch cap, the encoder size, the study's own options (name ->
    value), where the networks train (workers, an executor, chunk size) and the backprop engine that computes
    them (backprop_learner.ENGINES; compiled by default, whose per-seed epochs equal numpy's (docs/performance.md);
    a sweep whose optimizer it does not run uses numpy). Sequences become tuples: a study reads its config and never
    changes it."""
    seeds: tuple
    epochs: int
    size: T.Shape = DEFAULT_SHAPE
    options: MappingProxyType = field(default_factory=dict)
    workers: int = 1
    executor: object = None
    chunk_size: int = None
    engine: str = "compiled"

    def __post_init__(self):
        object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))
        object.__setattr__(self, "options", MappingProxyType(
            {name: tuple(v) if isinstance(v, (list, tuple, range)) else v for name, v in dict(self.options).items()}))


def default_options(module):
    """A study's options at their defaults, a spec such as "1000-1999" parsed as the command line parses it."""
    return {name: parse(default) if isinstance(default, str) else default
            for name, (default, parse, _) in module.OPTIONS.items()}


def make_config(module, seeds=None, epochs=None, size=DEFAULT_SHAPE, workers=1, executor=None, chunk_size=None,
                engine=StudyConfig.engine, **options):
    """A StudyConfig for `module` with its own defaults for whatever is not given."""
    unknown = set(options) - set(module.OPTIONS)
    if unknown:
        raise ValueError(f"study {module.NAME} has no option {sorted(unknown)[0]!r}")
    return StudyConfig(cli.parse_seeds(module.SEEDS) if seeds is None else seeds,
                       module.EPOCHS if epochs is None else epochs, T.parse_size(size),
                       {**default_options(module), **options}, workers, executor, chunk_size, engine)


def config_record(name, config, sweeps=None):
    """The study's "config" in its JSON: what it was asked for and the settings every backprop sweep (Sweeps)
    actually used."""
    return {"study": name, "size": str(config.size), "seeds": list(config.seeds), "epochs": config.epochs,
            "min_stop_epoch": E.MIN_STOP_EPOCH, "sweeps": [] if sweeps is None else sweeps.used,
            **{name: list(v) if isinstance(v, tuple) else v for name, v in config.options.items()}}


# ------------------------------------------------------------------------------------------------ sweeps
RUN_SETTINGS = ("size", "optimizer", "criterion", "activation", "loss", "lr", "momentum", "init_scale")
LOOP_SETTINGS = {"n_epochs": 5000, "early_stop": True, "margin": 0.0, "patience": None, "restart_every": None,
                 "patience_from": "attempt", "bias_scale": (0.0, 0.0)}

# Sweeps already run in this process, by their seeds and settings: a network's run depends only on those, so
# studies that need the same sweep (`all` runs the published recipe on seeds 0-999 in several) share one run.
_SWEEPS_RUN = {}

# sweep_seeds' own defaults, less the arguments that change how a sweep runs but not what it computes
SWEEP_DEFAULTS = {name: p.default for name, p in inspect.signature(E.sweep_seeds).parameters.items()
                  if p.default is not inspect.Parameter.empty
                  and name not in ("progress", "observer", "workers", "executor", "chunk_size")}


def resolved(kwargs):
    """sweep_seeds' keywords, its defaults filled in, as (keywords, BackpropSettings, LoopSettings): the declared
    settings resolve every default once (lr None is the optimizer's own, ...)."""
    unknown = set(kwargs) - set(SWEEP_DEFAULTS)
    if unknown:
        raise TypeError(f"unknown sweep setting {sorted(unknown)[0]!r}")
    given = {**SWEEP_DEFAULTS, **kwargs}
    settings, loop = E.settings_of(**{k: v for k, v in given.items() if k not in ("size", "return_weights")})
    return given, settings, loop


def sweep_key(seeds, kwargs):
    """What makes two sweeps the same: the seeds, the size and every resolved setting of the learner and the loop
    (their declarations' keys: so lr=None and lr=0.5, or margin=0 and no margin, are one sweep)."""
    given, settings, loop = resolved(kwargs)
    return repr((list(map(int, seeds)), str(T.parse_size(given["size"])), settings.key(), loop.key(),
                 bool(given["return_weights"])))


def backprop_sweep(seeds, recorders=(), progress=None, workers=1, executor=None, chunk_size=None, **kwargs):
    """encoder_backprop_8_3_8.sweep_seeds (the same keywords, the same records) with recorders: returns (records,
    {recorder name: columns})."""
    given, settings, loop = resolved(kwargs)
    result = T.sweep("backprop", seeds, settings, loop, size=given["size"], recorders=recorders, progress=progress,
                     workers=workers, executor=executor, chunk_size=chunk_size)
    return result.records(weights=given["return_weights"]), result.recorded


class Sweeps:
    """The backprop sweeps of one study run, at the study's size unless told otherwise, spread as its config
    says, timed; `used` lists the settings every sweep actually used, read back from its runs (the study's
    config records it, so the JSON says what was run)."""

    def __init__(self, config):
        self.config, self.used = config, []

    def __call__(self, seeds, reuse=True, **kwargs):
        """(runs, seconds). With reuse, an identical sweep that already ran in this process is not run again: its
        runs are returned (and a wall time of about 0); a study that measures a sweep's cost passes reuse=False.
        (The kept runs take about 1.4 MB per 1000 networks.)"""
        self._defaults(kwargs)
        key = sweep_key(seeds, kwargs)
        start = time.perf_counter()
        if reuse and key in _SWEEPS_RUN:
            runs = copy.deepcopy(_SWEEPS_RUN[key])
        else:
            runs, _ = self._train(seeds, (), kwargs)
            _SWEEPS_RUN[key] = copy.deepcopy(runs)
        seconds = time.perf_counter() - start
        self._note(seeds, runs, kwargs)
        return runs, seconds

    def recording(self, seeds, recorders, **kwargs):
        """(runs, recorded, seconds): a sweep whose recorders (training_loop.Recorder) watch every network wherever
        it trains; recorded[name] holds each recorder's columns, in seed order. Never taken from the cache."""
        self._defaults(kwargs)
        start = time.perf_counter()
        runs, recorded = self._train(seeds, recorders, kwargs)
        seconds = time.perf_counter() - start
        self._note(seeds, runs, kwargs)
        return runs, recorded, seconds

    def _defaults(self, kwargs):
        """The study's size and engine, unless the sweep names its own."""
        kwargs.setdefault("size", self.config.size)
        kwargs.setdefault("engine", engine_for(self.config, kwargs.get("optimizer", "momentum")))

    def _train(self, seeds, recorders, kwargs):
        progress = cli.Progress(len(seeds))
        try:
            runs, recorded = backprop_sweep(seeds, recorders, progress.epoch_hook(), self.config.workers,
                                            self.config.executor, self.config.chunk_size, **kwargs)
        finally:
            progress.close()
        return runs, recorded

    def _note(self, seeds, runs, kwargs):
        record = {"n_networks": len(seeds)}
        for key in RUN_SETTINGS:
            values = sorted({r[key] for r in runs})
            record[key] = values[0] if len(values) == 1 else values
        record.update({key: kwargs.get(key, default) for key, default in LOOP_SETTINGS.items()})
        record["engine"] = kwargs["engine"]
        if record not in self.used:
            self.used.append(record)


def engine_for(config, optimizer):
    """The study's backprop engine for a sweep of this optimizer: numpy where the compiled engine does not run it."""
    from backprop_learner import COMPILED_OPTIMIZERS
    return config.engine if optimizer in COMPILED_OPTIMIZERS else "numpy"


# ---------------------------------------------------------------------------------------------- analysis
def solved_epochs(runs):
    return [r["epochs"] for r in runs if r["solved"]]


def plateau_ends(runs):
    """(ends (n,), corners (n,)) of sweep runs: the epoch the base-rate plateau ended (0 = the codes never all
    shared one corner) and that corner (-1 = never), as training_loop.fit records them."""
    return np.array([r["plateau_end"] for r in runs]), np.array([r["plateau_corner"] for r in runs])


def saturation(h):
    """Largest distance of any activation from its nearest corner value (0 or 1), (...,)."""
    h = np.asarray(h)
    return np.minimum(h, 1 - h).max(axis=(-2, -1))
