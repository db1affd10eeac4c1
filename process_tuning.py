"""Two settings of the running process that make large encoders several times faster and change no number.

Measured on 256-8-256 quickprop (8 networks x 20 epochs, CPU time per network-epoch; docs/performance.md):
13.1 ms as numpy and OpenBLAS come, 7.4 ms with one BLAS thread, 4.2 ms with freed memory kept as well.

- One BLAS thread while training (`one_blas_thread`). OpenBLAS splits a (256 x 256) @ (256 x 8) product over
  its threads; on a machine whose cores are busy with other work (this project runs its parallel work as
  processes, `--workers`) the threads spin waiting for each other. The split is over the output's rows and
  columns, each element is summed as before: the numbers are the same (tests/test_sizes.py).
- Keep freed memory for reuse (`keep_freed_memory`). glibc's malloc gives an array larger than 128 KiB pages
  of its own and hands them back when it is freed; a 256-8-256 network's (N, N) temporaries are 512 KiB each,
  so every epoch page-faulted its backward pass in afresh, and a page fault costs ~10 us on these machines.

Both are no-ops where they do not apply (another BLAS, another C library).
"""
import contextlib
import ctypes
import functools

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3       # mallopt's parameters (glibc malloc.h)
LARGEST_HEAP_ARRAY = 32 << 20                     # glibc's largest mmap threshold (64-bit)
KEPT_FREE = 256 << 20                             # freed heap memory kept before it is handed back


@functools.lru_cache(maxsize=None)
def keep_freed_memory():
    """Serve arrays up to 32 MiB from malloc's heap and keep up to 256 MiB of it when freed (glibc only).
    Returns whether the C library took both settings."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, LARGEST_HEAP_ARRAY)) & bool(mallopt(M_TRIM_THRESHOLD, KEPT_FREE))


@functools.lru_cache(maxsize=None)
def _openblas_threads():
    """(get, set) of the OpenBLAS numpy loaded, or None: its thread-count functions, found by the library's
    path in this process's memory map (Linux) under either of the names OpenBLAS builds export."""
    import numpy as np                                   # noqa: F401  (numpy loads its BLAS)
    try:
        with open("/proc/self/maps") as maps:
            paths = sorted({line.split()[-1] for line in maps if "openblas" in line.lower()})
    except OSError:
        return None
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix, suffix in (("scipy_openblas", "64_"), ("openblas", ""), ("openblas", "64_")):
            get, put = (getattr(lib, f"{prefix}_{verb}_num_threads{suffix}", None) for verb in ("get", "set"))
            if get is not None and put is not None:
                return get, put
    return None


@contextlib.contextmanager
def one_blas_thread():
    """Within the block OpenBLAS computes on one thread; its thread count is restored after."""
    threads = _openblas_threads()
    if threads is None:
        yield
        return
    get, put = threads
    before = get()
    put(1)
    try:
        yield
    finally:
        put(before)
