"""Settings declared once: a frozen dataclass per learner (and one for the loop), each field with its default,
its check and a one-line help. Everything else is derived from that one declaration:

    validation   `Settings.__post_init__` runs each field's check (the API and the CLI share it)
    the CLI      `add_arguments(parser, cls)`: one flag per field, its help, its default, the same check
    JSON         `settings.config()`: every field, defaults resolved, as plain JSON values
    cache keys   `settings.key()`: two runs with equal keys compute the same thing

A field is declared with `setting(default, help, check=...)`. `check(value) -> value` normalises a value or
raises ValueError with the message both the API and the CLI print. `per_network=True` lets a sweep pass one
value per network (a grid in one stack); the check then runs on every value. `parse(text)` reads the flag's
text when it is not a plain number or word.

We wrote this generator (about a hundred lines) instead of using tyro or simple-parsing: the CLIs must keep
their one-line errors with exit status 2, run the API's own checks on the text a user typed, and add no
dependency to a project whose engine needs only numpy.
"""
import argparse
import dataclasses

import numpy as np


def setting(default, help, check=None, *, parse=None, per_network=False, metavar=None, cli=True):
    """A dataclass field of a Settings class. default None means "resolved in `resolve`" (e.g. an optimizer's
    own learning rate); cli=False keeps a field out of the command line (an API-only setting)."""
    return dataclasses.field(default=default, metadata={
        "help": help, "check": check, "parse": parse, "per_network": per_network, "metavar": metavar, "cli": cli})


def fields(cls):
    return dataclasses.fields(cls)


def _plain(value):
    """A JSON-able copy of a setting's value: tuples become lists, numpy scalars Python numbers."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


@dataclasses.dataclass(frozen=True)
class Settings:
    """Base of every settings class: construction checks every field and resolves defaults that depend on
    other fields (`resolve`), so an object that exists is valid and complete."""

    def __post_init__(self):
        for f in fields(self):
            value, check = getattr(self, f.name), f.metadata.get("check")
            if f.metadata.get("per_network") and isinstance(value, (str, bytes)):
                raise ValueError(f"{f.name} must be a number or one number per seed, got {value!r}")
            if f.metadata.get("per_network") and np.ndim(value) > 0:
                value = tuple(check(_scalar(v)) for v in value) if check else tuple(value)
            elif isinstance(f.default, bool):
                if not isinstance(value, (bool, np.bool_)):
                    raise ValueError(f"{f.name} must be True or False, got {value!r}")
                value = bool(value)
            elif check is not None and (value is not None or f.default is not None):
                value = check(value)            # None only where the default is None (resolved in `resolve`)
            object.__setattr__(self, f.name, value)
        for name, value in self.resolve().items():
            object.__setattr__(self, name, value)

    def resolve(self):
        """{field: value} for defaults that depend on other fields; checked values only. Override."""
        return {}

    @classmethod
    def from_mapping(cls, mapping):
        """cls(**mapping), refusing names that are not settings of cls in one line."""
        if not hasattr(mapping, "keys"):
            raise ValueError(f"{cls.__name__} takes a mapping of its settings' names, got {type(mapping).__name__}")
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(mapping) - names)
        if unknown:
            raise ValueError(f"unknown setting{'s' * (len(unknown) > 1)} {', '.join(unknown)} "
                             f"(known: {', '.join(sorted(names))})")
        return cls(**mapping)

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)

    def config(self):
        """Every setting with its value, as plain JSON values."""
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}

    def key(self):
        """A hashable, exact description: equal keys mean the same computation."""
        return (type(self).__name__, repr(sorted(self.config().items())))

    def per_network(self, name, n):
        """The (n,) float array of a per-network setting (a scalar repeated, or its n values)."""
        value = getattr(self, name)
        if np.ndim(value) == 0:
            return np.full(n, float(value))
        if len(value) != n:
            raise ValueError(f"{name} must be a scalar or have one value per seed ({n}), got {len(value)}")
        return np.asarray(value, dtype=float)


def _scalar(value):
    return value.item() if isinstance(value, np.generic) else value


# --------------------------------------------------------------------------------------------- the CLI face
def flag_of(name):
    return "--" + name.replace("_", "-")


def _describe_default(value):
    if value is None:
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def add_arguments(parser, cls, arg_type, skip=(), defaults=None, title=None):
    """One flag per CLI field of `cls`, read by `arg_type(check, kind)` (the CLI's converter, which turns a
    check's ValueError into a one-line usage error). Flags the user does not give are absent from the parsed
    namespace, so `cls` resolves its own defaults. defaults: {name: value} to use instead of the class's (a
    learner's own loop defaults); a yes/no setting that defaults to yes gets the flag --no-NAME."""
    group = parser.add_argument_group(title or (cls.__doc__ or cls.__name__).splitlines()[0].rstrip("."))
    for f in fields(cls):
        if f.name in skip or not f.metadata.get("cli", True):
            continue
        meta = f.metadata
        default = (defaults or {}).get(f.name, f.default)
        if isinstance(f.default, bool):
            flag = flag_of(("no_" if default else "") + f.name)
            text = ("turn off, on by default: " if default else "") + meta["help"]
            group.add_argument(flag, dest=f.name, action="store_const", const=not default,
                               default=argparse.SUPPRESS, help=text)
            continue
        shown = _describe_default(default)
        text = meta["help"] + (f" (default {shown})" if shown is not None and "default" not in meta["help"] else "")
        check = meta["check"] or (lambda v: v)
        if meta["parse"] is None:
            convert = arg_type(check, _kind_of(f))
        else:
            convert = arg_type(lambda text, parse=meta["parse"], check=check: check(parse(text)))
        group.add_argument(flag_of(f.name), dest=f.name, type=convert, default=argparse.SUPPRESS,
                           metavar=meta["metavar"] or f.name.upper(), help=text.replace("%", "%%"))
    return group


def _kind_of(f):
    """How a flag's text is read: int or float for numeric fields (by the declared type), else the text."""
    return f.type if f.type in (int, float) else None
