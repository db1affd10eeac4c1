"""One setting of the running process that makes large encoders several times faster and changes no number.

One BLAS thread while training (`one_blas_thread`). OpenBLAS splits a (256 x 256) @ (256 x 8) product over its
threads; on a machine whose cores are busy with other work (this project runs its parallel work as processes,
`--workers`) the threads spin waiting for each other. The split is over the output's rows and columns, each element
is summed as before: the numbers are the same (tests/test_process_tuning.py). Measured on 256-8-256 quickprop (8
networks x 20 epochs, CPU time per network-epoch, docs/performance.md): 10.3-10.9 ms as numpy and OpenBLAS come,
3.2-3.5 ms with one BLAS thread, the same final weights bit for bit.

A no-op where it does not apply (another BLAS, no /proc).
"""
import contextlib
import ctypes
import functools


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
