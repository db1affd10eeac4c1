"""The registry of learning rules: every CLI, study, figure and the sweep get a learner from here by name.

A learner's module declares one `LearnerSpec` per rule in a dict named LEARNERS; this file only says which
module holds each name, so importing the registry imports no learner (and no numba) until one is asked for.
Adding a learning rule is one new module and one line in MODULES.

A spec says:
    name, title               the registry key and one line for --help and tables
    settings                  its frozen Settings dataclass (settings.py): defaults, checks, help, CLI flags
    per_network               the settings a sweep may vary network by network (a grid in one stack)
    make(shape, s, loop)      the learner object training_loop.fit trains (start, min_stop_epoch, shape) and
                              whose readout(params) gives codes (S, N), hidden (S, N, H), outputs (S, N, N)
    can_restart               whether `restart(rows, attempts)` exists: the loop refuses --patience otherwise
    update_unit               what one update is, for the cost columns ("a full-batch gradient step", ...)
    updates_per_epoch(shape, s)  weight updates in one epoch of `fit`, the budget unit of every comparison
                              (backprop 1; CD-k: 16; the 1985 procedure: 1 cycle; per-pattern local rules: N)
    loop_defaults             the learner's own loop settings (its epoch cap, its restart rule)
    bytes_needed(shape, s, n)  the memory bound's figure for n networks (stacks, temporaries, readout), checked
                              with the result's (training_loop.sweep_bytes) before any work
    run_fields(result, i)     the per-network settings a result row shows (e.g. lr) beside the common fields
    named_params(row, shape)  a network's final parameters under their own names (for return_weights)
    size_defaults(shape)      {setting: value} for the settings whose default depends on the size (None in the
                              Settings class); a sweep fills them in (`sized`), so its records say what ran
"""
import dataclasses
import importlib
from typing import Callable

MODULES = {"backprop": "backprop_learner",
           "cdk": "boltzmann_learners",
           "ahs85": "boltzmann_learners",
           "chl": "local_learners",
           "generec": "local_learners",
           "generec-mid": "local_learners",
           "generec-sym": "local_learners",
           "recirculation": "local_learners",
           "mean-field": "local_learners"}


@dataclasses.dataclass(frozen=True)
class LearnerSpec:
    name: str
    title: str
    settings: type
    make: Callable
    can_restart: bool
    update_unit: str
    updates_per_epoch: Callable
    bytes_needed: Callable
    run_fields: Callable
    named_params: Callable
    per_network: tuple = ()
    loop_defaults: dict = dataclasses.field(default_factory=dict)
    size_defaults: Callable = None

    def __post_init__(self):
        """`make` checks what it is given, as the CLI does: a size spec or Shape, the learner's own Settings, and a
        LoopSettings or None (the learner's own loop defaults)."""
        build = self.make

        def make(shape, settings, loop=None):
            from training_loop import LoopSettings, loop_settings, parse_size
            if not isinstance(settings, self.settings):
                raise ValueError(f"settings must be a {self.settings.__name__}, got {type(settings).__name__}")
            if loop is not None and not isinstance(loop, LoopSettings):
                raise ValueError(f"loop must be a LoopSettings or None, got {type(loop).__name__}")
            return build(parse_size(shape), settings, loop_settings(self, loop))
        object.__setattr__(self, "make", make)

    def sized(self, shape, settings):
        """settings with the size's own defaults (size_defaults) in place of the None it leaves to them."""
        if self.size_defaults is None:
            return settings
        from training_loop import parse_size
        own = {k: v for k, v in self.size_defaults(parse_size(shape)).items() if getattr(settings, k) is None}
        return settings.replace(**own) if own else settings


def names():
    return list(MODULES)


def get(name):
    """The LearnerSpec registered as `name`; ValueError naming the known learners otherwise."""
    if isinstance(name, LearnerSpec):
        return name
    if not isinstance(name, str) or name not in MODULES:
        raise ValueError(f"learner must be one of {', '.join(MODULES)}, got {name!r}")
    return importlib.import_module(MODULES[name]).LEARNERS[name]
