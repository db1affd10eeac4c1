"""Sweeps on every core or on a cluster: a list of independent networks is cut into chunks, the chunks are
mapped over a `concurrent.futures` executor, and the results come back in input order.

A network's run depends only on its seed and settings, never on the chunk it runs in, so the results are the
same, bit for bit, whatever the number of workers or the chunk size. The executor is either local processes
(`workers=N`) or one the caller gives: any `concurrent.futures.Executor`, or a `dask.distributed.Client`
(its `get_executor()` is used), so the same sweep runs on a laptop, on all cores, or on a Dask cluster.
"""
import functools
import math
import os
import signal
import sys

MIN_CHUNK, MAX_CHUNK = 8, 2048
# One chunk per worker: a chunk is a batch, and a batch costs about the same per epoch however few networks are
# still in it, so every extra chunk repeats that cost for the whole ~20000-epoch tail of the unsolved networks
# (benchmarked: 8 chunks for 1000 networks on 2 workers took 0.72x the serial time, 2 chunks 0.52-0.6x). The
# unsolved networks, which run ~20x longer than solved ones, are spread evenly enough by chance among chunks
# of hundreds. Larger sweeps get more chunks of at most MAX_CHUNK, which keeps each worker's memory bounded.
CHUNKS_PER_WORKER = 1


def default_chunk_size(n_items, workers):
    """CHUNKS_PER_WORKER chunks per worker, each at least MIN_CHUNK and at most MAX_CHUNK networks."""
    return max(MIN_CHUNK, min(MAX_CHUNK, math.ceil(n_items / (workers * CHUNKS_PER_WORKER))))


# Seconds between the progress reports of a running chunk (with one chunk per worker, a chunk runs for about the
# whole sweep, so its end says nothing until the end)
PROGRESS_EVERY = 1.0
_chunks_left = None     # in a local pool's worker: a shared array of each chunk's items still running


def _init_worker(parent_pid, chunks_left=None):
    """Workers leave Ctrl-C to the parent, which stops them all (no traceback from every worker), die at once on
    SIGTERM (the parent's handler for it is inherited through fork), and get that SIGTERM when the parent dies,
    even by SIGKILL, instead of running on unseen. chunks_left: where the chunks report their progress."""
    global _chunks_left
    _chunks_left = chunks_left
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if sys.platform.startswith("linux"):
        import ctypes
        PR_SET_PDEATHSIG = 1
        # the signal comes when the parent's thread that started this worker ends: the pool starts its workers
        # from the thread that submits, which here is the one running the sweep
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if parent_pid is not None and os.getppid() != parent_pid:      # it died before prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)


def _run_reporting(fn, k, chunk):
    """fn(chunk, progress=...) in a local pool's worker, its progress(_, items_left) written to slot k."""
    def report(_, items_left):
        _chunks_left[k] = items_left
    return fn(chunk, progress=report)


def _stop(executor):
    """Cancel what has not started and end the worker processes of a local pool at once."""
    # A running chunk would otherwise finish before the pool exits; the pool keeps its processes in
    # _processes (CPython's ProcessPoolExecutor, emptied by shutdown), the one way to end them now.
    processes = list((getattr(executor, "_processes", None) or {}).values())
    manager = getattr(executor, "_executor_manager_thread", None)      # shutdown() forgets it, even with wait=False
    executor.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(timeout=10)
    # The pool's manager thread sees its workers gone, closes its wake-up pipe and ends. Left running, it races
    # interpreter exit, which writes to that pipe: "Exception ignored in threading._shutdown ... Bad file descriptor".
    if manager is not None:
        manager.join(timeout=10)


def map_chunks(fn, items, *, workers=1, executor=None, chunk_size=None, progress=None):
    """[fn(chunk) for each chunk of items], flattened back into one list in input order.

    fn(list of items) -> list of one result per item; it must be picklable (a module-level function, or a
    functools.partial of one) when it runs in other processes. workers > 1 without an executor starts a
    local process pool for the call; `executor` may be any concurrent.futures.Executor or a dask Client (then
    fn also takes progress=, a callback to call often, which stops the chunk once it is cancelled, and a failure
    of the cluster itself, a lost scheduler first, is a dask_cluster.ClusterError of one line).
    progress(done_items, total_items) is called as chunks finish, and in a local pool or on a Dask cluster every
    PROGRESS_EVERY seconds too: fn then takes progress=, to call as progress(anything, items_left) as it goes on.
    """
    items = list(items)
    if not items:
        return []
    if executor is None and workers <= 1:
        result = fn(items)
        if progress is not None:
            progress(len(items), len(items))
        return result
    import concurrent.futures as cf  # only a parallel sweep pays for importing the process pool
    client = executor if hasattr(executor, "get_executor") else None        # a dask.distributed Client
    slots = max(workers, 1) if executor is None else \
        sum(client.nthreads().values()) if client is not None else max(workers, os.cpu_count() or 1)
    size = chunk_size or default_chunk_size(len(items), max(slots, 1))
    chunks = [items[i:i + size] for i in range(0, len(items), size)]
    owned, topic = executor is None, None
    chunks_left = [len(chunk) for chunk in chunks]      # as the chunks report it, where they can
    run = None                                          # run(k, chunk): fn(chunk, progress=its report for k)
    if owned:
        import multiprocessing
        context = multiprocessing.get_context()
        # a forkserver's workers are its children, not ours (it ends, and so they do, when this process ends)
        parent = None if context.get_start_method() == "forkserver" else os.getpid()
        shared = None if progress is None else context.RawArray("q", chunks_left)
        executor = cf.ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_init_worker,
                                          initargs=(parent, shared))
        if shared is not None:
            chunks_left, run = shared, functools.partial(_run_reporting, fn)
    elif client is not None:
        from dask_cluster import cancellable, subscribe_chunk_progress
        if progress is not None:
            topic = subscribe_chunk_progress(client, chunks_left)
        executor = client.get_executor()
        run = functools.partial(cancellable, fn, topic)
    results, futures, finished = [None] * len(chunks), {}, [False] * len(chunks)
    try:
        futures = {executor.submit(fn, chunk) if run is None else executor.submit(run, k, chunk): k
                   for k, chunk in enumerate(chunks)}
        running = set(futures)
        while running:
            ended, running = cf.wait(running, timeout=None if progress is None else PROGRESS_EVERY,
                                     return_when=cf.FIRST_COMPLETED)
            for future in ended:
                k = futures[future]
                results[k], finished[k] = future.result(), True
            if progress is not None:
                left = sum(0 if finished[k] else chunks_left[k] for k in range(len(chunks)))
                progress(len(items) - left, len(items))
    except BaseException as err:
        if owned:
            _stop(executor)
        elif client is None:
            for future in futures:
                future.cancel()
        elif client.status == "running":         # one call cancels every chunk on the cluster
            executor.shutdown(wait=False)
        if client is not None:
            from dask_cluster import cluster_error
            if (failure := cluster_error(client, err)) is not None:
                raise failure from None
        raise
    finally:
        if topic is not None and client.status == "running":
            client.unsubscribe_topic(topic)
    if owned:
        executor.shutdown()
    return [r for chunk_results in results for r in chunk_results]
