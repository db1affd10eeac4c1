"""Boundary checks shared by the API and every CLI: each returns the value, normalised, or raises ValueError
with the message the command line prints. Bounds keep every finite input away from float overflow."""
import math

import numpy as np

MAX_LR = 1e3            # larger steps overflow the weights within a few epochs for any encoder size
MAX_INIT_SCALE = 1e3    # |w| beyond this saturates every unit; 1e308 would overflow the products


# Below this a Boltzmann readout's energies over T would reach float64's range, and T times a logit float32's
# smallest numbers (T 1e-307 gave NaN readouts); no run of the project goes colder than 1.
MIN_TEMPERATURE, MAX_TEMPERATURE = 1e-3, 1e6


def is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def is_real(value):
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


MAX_SEED = 2 ** 63 - 1    # seeds are int64 in every stack: numpy turns a list holding a larger one into float64


def check_seed(seed):
    if not is_int(seed) or not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed must be a non-negative integer at most 2^63 - 1, got {seed!r}")
    return int(seed)


def check_positive_int(value, name):
    if not is_int(value) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def check_count(value, name):
    if not is_int(value) or value < 0:
        raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
    return int(value)


def check_int_in(value, name, low, high):
    """An integer in [low, high]."""
    if not is_int(value) or not low <= value <= high:
        raise ValueError(f"{name} must be an integer in [{low:,}, {high:,}], got {value!r}")
    return int(value)


MAX_EPOCHS = 10 ** 9     # ~3 hours of the published network at its ~10 us an epoch


def check_epochs(n_epochs, name="epochs"):
    n_epochs = check_positive_int(n_epochs, name)
    if n_epochs > MAX_EPOCHS:
        raise ValueError(f"{name} must be at most {MAX_EPOCHS:,}, got {n_epochs:,}")
    return n_epochs


def check_bool(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_real_in(value, name, low, high, low_open=True, high_open=False):
    """A finite real number in the interval (low, high], with either end open or closed as asked."""
    ok = is_real(value) and math.isfinite(value)
    if ok:
        ok = (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
    if not ok:
        left, right = "(" if low_open else "[", ")" if high_open else "]"
        raise ValueError(f"{name} must be a number in {left}{low:g}, {high:g}{right}, got {value!r}")
    return float(value)


def check_lr(lr):
    return check_real_in(lr, "lr", 0, MAX_LR)


def check_momentum(momentum):
    return check_real_in(momentum, "momentum", 0, 1, low_open=False, high_open=True)


def check_init_scale(init_scale):
    return check_real_in(init_scale, "init scale", 0, MAX_INIT_SCALE)


def check_margin(margin):
    return check_real_in(margin, "margin", 0, 0.5, low_open=False, high_open=True)


def check_temperature(value, name="temperature"):
    return check_real_in(value, name, MIN_TEMPERATURE, MAX_TEMPERATURE, low_open=False)


def check_patience(patience):
    if patience is not None and (not is_int(patience) or patience < 1):
        raise ValueError(f"patience must be an integer >= 1 (or None for no restarts), got {patience!r}")
    return None if patience is None else int(patience)


def check_choice(value, choices, name):
    """`value` must be one of `choices` (a registry's keys)."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


MAX_WORKERS = 256       # each worker is a process of its own (~100 MB); the sweep starts no more than its chunks


def check_workers(workers):
    if not is_int(workers) or not 1 <= workers <= MAX_WORKERS:
        raise ValueError(f"workers must be an integer in [1, {MAX_WORKERS}], got {workers!r}")
    return int(workers)


def check_chunk_size(chunk_size):
    """None (the default size) or an integer >= 1."""
    return None if chunk_size is None else check_positive_int(chunk_size, "chunk_size")


def check_callable(value, name):
    if value is not None and not callable(value):
        raise ValueError(f"{name} must be callable or None, got {value!r}")
    return value


def check_seeds(seeds):
    """A non-empty sequence of non-negative integer seeds -> list of ints."""
    if isinstance(seeds, (str, bytes)) or not hasattr(seeds, "__iter__"):
        raise ValueError(f"seeds must be a sequence of non-negative integers, got {seeds!r}")
    # plain ints in range pass without a call: a sweep of millions of seeds (or its refusal) is checked in
    # a fraction of a second instead of seconds
    seeds = [s if type(s) is int and 0 <= s <= MAX_SEED else check_seed(s) for s in seeds]
    if not seeds:
        raise ValueError("seeds must not be empty")
    return seeds


def per_network(value, n, check, name):
    """A scalar or one value per network -> (n,) float array, each value validated."""
    if isinstance(value, (str, bytes)):
        raise ValueError(f"{name} must be a number or one number per seed, got {value!r}")
    values = [value] * n if np.ndim(value) == 0 else list(value)
    if len(values) != n:
        raise ValueError(f"{name} must be a scalar or have one value per seed ({n}), got {len(values)}")
    return np.array([check(v.item() if isinstance(v, np.generic) else v) for v in values], dtype=float)
