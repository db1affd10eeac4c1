"""Sweeps on a Dask cluster (parallel_map.map_chunks with a dask.distributed Client): a connection checked before
any work, chunks that stop when cancelled, and a failure of the cluster as one line (ClusterError).

The scheduler and every worker import this project's modules by name (the chunks are functions of them, never of
a script's __main__), so the project is installed on each machine: `pip install .` from the same checkout
(docs/performance.md); `dask_client` refuses a cluster where it is missing or differs.
"""
import os
import sys

CONNECT_SECONDS = 5     # a --scheduler address that does not answer as a Dask scheduler in this time is refused


class ClusterError(RuntimeError):
    """A Dask cluster that cannot be used, or was lost during a sweep; the message is one line."""


def dask_client(address, timeout=CONNECT_SECONDS):
    """A dask.distributed Client of the scheduler at `address` whose scheduler and workers import this very code.

    Within about `timeout` seconds and before any work: ClusterError if nothing answers there as a Dask scheduler,
    if it has no worker, or if the scheduler or a worker cannot import this project or holds other code of it
    (pip install . on every machine, docs/performance.md); ImportError with the install line if Dask is absent.
    """
    try:
        from dask.distributed import Client
    except ImportError as err:
        raise ImportError(f"--scheduler needs Dask ({one_line(err)}): pip install -r requirements-dist.txt") from None
    _handshake(address, timeout)
    client = Client(address, timeout=timeout, set_as_default=False)
    try:
        _check_cluster(client, address, timeout)
    except BaseException:
        client.close()
        raise
    return client


def _handshake(address, timeout):
    """Connect once and exchange Dask's greeting: Client() alone would wait forever for a listener that accepts
    and never answers (an HTTP server, a silent port)."""
    import asyncio
    from distributed.comm import connect
    from distributed.security import Security
    tls = Security().get_connection_args("client")
    if str(address).startswith("tls://") and tls.get("ssl_context") is None:
        raise ClusterError(f"cannot use the Dask scheduler at {address}: tls:// needs the client's certificates in "
                           f"Dask's configuration (distributed.comm.tls.ca-file, .client.cert, .client.key)")

    async def greet():
        # connect() itself gives up on a refused or unreachable address at `timeout`, with its own message
        comm = await asyncio.wait_for(connect(address, timeout=timeout, **tls), timeout + 1)
        await comm.close()
    try:
        asyncio.run(greet())
    except asyncio.TimeoutError:
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: no Dask scheduler answered there within "
                           f"{timeout + 1:g} s") from None
    except Exception as err:            # refused, unreachable, a malformed address, a foreign protocol
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: {one_line(err)}") from None


def _check_cluster(client, address, timeout):
    try:
        client.wait_for_workers(1, timeout=timeout)
    except TimeoutError:
        raise ClusterError(f"the Dask scheduler at {address} has no worker (start one: dask worker {address})") \
            from None
    names = project_modules()
    ours = code_fingerprint(names)
    try:
        places = {"the scheduler": client.run_on_scheduler(code_fingerprint, names, callback_timeout=timeout)}
    except Exception as err:            # chiefly: this module cannot be imported there
        places = {"the scheduler": err}
    try:
        places.update((f"worker {worker}", theirs) for worker, theirs in
                      client.run(code_fingerprint, names, on_error="return", callback_timeout=timeout).items())
    except Exception as err:
        raise ClusterError(f"the workers of the Dask scheduler at {address} do not answer ({one_line(err)})") \
            from None
    for where, theirs in places.items():
        if isinstance(theirs, Exception):
            problem = f"cannot import this project ({one_line(theirs)})"
        elif differ := [name for name in names if theirs.get(name) != ours[name]]:
            verb = "cannot import" if theirs.get(differ[0]) is None else "holds other code of"
            problem = f"{verb} {differ[0]}" + (f" (and {len(differ) - 1} more)" if len(differ) > 1 else "")
        else:
            continue
        raise ClusterError(f"{where} of the Dask cluster at {address} {problem}: pip install . there from this "
                           f"checkout, then restart it (docs/performance.md)")


def project_modules():
    """The project's modules loaded in this process: those whose file is where their name puts them beside this
    one (the top-level modules and the studies package; not the tests, not __main__)."""
    root = os.path.dirname(os.path.abspath(__file__))
    names = []
    for name, module in list(sys.modules.items()):
        origin = getattr(getattr(module, "__spec__", None), "origin", None) or ""
        if origin.endswith(".py") and os.path.abspath(origin)[:-3] in (
                os.path.join(root, *name.split(".")), os.path.join(root, *name.split("."), "__init__")):
            names.append(name)
    return sorted(names)


def code_fingerprint(names):
    """{name: sha256 of the module's source as this process imports it, or None if it cannot}: run on the
    scheduler and the workers, it shows they train with the client's code, so with its results bit for bit."""
    import hashlib
    import importlib.util
    fingerprint = {}
    for name in names:
        try:
            spec = importlib.util.find_spec(name)
            with open(spec.origin, "rb") as f:
                fingerprint[name] = hashlib.sha256(f.read()).hexdigest()
        except (ImportError, AttributeError, TypeError, OSError, ValueError):
            fingerprint[name] = None
    return fingerprint


class Cancelled(Exception):
    """Raised in a Dask task whose future was cancelled: the chunk stops there."""


def cancellable(fn, topic, k, chunk):
    """fn(chunk, progress=check), where check(_, items_left) (called every epoch) stops the chunk once its future is
    cancelled (Ctrl-C, SIGTERM): Dask cannot stop a running task itself, and one chunk per worker holds all the
    work. Unless topic is None, check also sends (k, items_left) to the client as an event of that topic, every
    parallel_map.PROGRESS_EVERY seconds (subscribe_chunk_progress)."""
    import time
    from distributed import get_worker
    from parallel_map import PROGRESS_EVERY
    worker = get_worker()
    key = worker.get_current_task()
    last_report = float("-inf")

    def check(_, items_left):
        nonlocal last_report
        task = worker.state.tasks.get(key)
        if task is None or task.state == "cancelled":
            raise Cancelled(key)
        if topic is not None and time.monotonic() - last_report >= PROGRESS_EVERY:
            last_report = time.monotonic()
            worker.log_event(topic, (k, int(items_left)))      # msgpack takes no numpy integer
    return fn(chunk, progress=check)


def subscribe_chunk_progress(client, chunks_left):
    """A new event topic whose events (k, items_left), sent by running chunks (cancellable), are written into
    chunks_left[k] as they come; the caller unsubscribes from it when the chunks are done."""
    import uuid
    topic = f"chunk-progress-{uuid.uuid4().hex}"

    def record(event):                                  # event: (scheduler's time, (k, items_left))
        k, items_left = event[1]
        chunks_left[k] = items_left
    client.subscribe_topic(topic, record)
    return topic


def cluster_error(client, err):
    """The ClusterError (one line) for an error of the cluster itself, or None for any other: Ctrl-C, or a bug,
    which shows its traceback."""
    import concurrent.futures as cf
    from distributed import KilledWorker
    address = client.scheduler.address
    if not isinstance(err, Exception):                  # Ctrl-C, SIGTERM
        return None
    if client.status != "running":
        return ClusterError(f"lost the Dask scheduler at {address} during the sweep")
    if isinstance(err, (cf.CancelledError, KilledWorker, ImportError, OSError, TimeoutError)):
        return ClusterError(f"the Dask cluster at {address} failed during the sweep ({type(err).__name__}: "
                            f"{one_line(err)})")
    return None


def one_line(err):
    text = " ".join(str(err).split()) or type(err).__name__
    return text if len(text) <= 200 else text[:197] + "..."
