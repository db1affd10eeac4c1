import contextlib
import fcntl
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


# Each compiled in a process of its own: three processes keep both cores busy to the end (two, one of them compiling
# two modules, left a core idle for the last ten seconds or so). The longest compile first (backprop, ~30 s of CPU
# alone), and each next one at a niceness 5 higher: the longest should not finish alone on one core while the
# workers, done collecting, wait for it and the other core idles
KERNEL_MODULES = ("compiled_backprop", "compiled_local_kernels", "compiled_kernels")
WARM_UP = "ENCODER_TESTS_WARM_UP"       # the folder where the compiling processes' ends are written


def pytest_configure(config):
    """Compile the numba kernels once per session (in a fresh clone about 70 s of one core, the session's largest
    cost). They start here, before the workers, which meanwhile start and collect the tests; each waits for them
    before its first test (pytest_runtest_setup) and then loads the compiled code from numba's cache instead of
    compiling it again."""
    # A session started with SIGINT ignored (in the background of a shell without job control, under GNU time) passes
    # that on to every process the tests start, and the tests of Ctrl-C wait in vain: give it Python's own handler,
    # so that those processes start with SIGINT's default action, as they do from a terminal
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if hasattr(config, "workerinput"):
        return
    folder = tempfile.mkdtemp(prefix="encoder-tests-warm-up-")
    os.environ[WARM_UP] = folder                        # the workers, started after this, inherit it
    config.compiling, niceness = [], os.getpriority(os.PRIO_PROCESS, 0)
    for rank, name in enumerate(KERNEL_MODULES):
        log = open(os.path.join(folder, f"{name}.log"), "w+")
        # each ends with this process (the pool workers' way), even when a SIGTERM or SIGKILL skips pytest_unconfigure
        code = f"import parallel_map; parallel_map._init_worker({os.getpid()}); import {name}; {name}.warm_up()"
        proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log)
        os.setpriority(os.PRIO_PROCESS, proc.pid, min(19, niceness + 5 * rank))  # never below ours: that needs root
        threading.Thread(target=_say_how_it_ended, args=(folder, name, proc, log), daemon=True).start()
        config.compiling.append(proc)


def _say_how_it_ended(folder, name, proc, log):
    """{name}.ok in folder when the process ends well, else {name}.failed with its stderr."""
    code = proc.wait()
    log.seek(0)
    text = "" if code == 0 else f"{name}.warm_up() ended with status {code}:\n{log.read()}"
    log.close()
    ending, ended = (os.path.join(folder, f"{name}.{end}") for end in ("ending", "ok" if code == 0 else "failed"))
    with open(ending, "w") as f:
        f.write(text)
    os.replace(ending, ended)


def pytest_unconfigure(config):
    if not hasattr(config, "compiling"):                # a worker
        return
    for proc in config.compiling:
        if proc.poll() is None:                         # the session ended first (an interrupt, -x)
            proc.kill()
        proc.wait()
    shutil.rmtree(os.environ.pop(WARM_UP), ignore_errors=True)


WHILE_COMPILING = "while_kernels_compile"     # the marker of a test that may run before the kernels are compiled
_compiled = []                                  # [True] once this process has seen every kernel module compiled
# Modules of many quick tests (0.1 s or less each), run last: a worker that runs out of tests takes half of the
# other's remaining ones, so the session ends on quick tests and both workers finish together
QUICK_MODULES = ("test_cli.py", "test_bounds.py")


def pytest_collection_modifyitems(items):
    """The tests marked while_kernels_compile first: they mostly wait (on real Dask processes, on the command-line
    tools' own time limits), so they run while the kernels compile instead of idling a core later. QUICK_MODULES
    last."""
    items.sort(key=lambda item: (item.get_closest_marker(WHILE_COMPILING) is None,
                                 item.path.name in QUICK_MODULES))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Wait, before a test and its fixtures, until every kernel module has compiled (pytest_configure), unless the
    test is marked while_kernels_compile: it uses no kernel, in this process or in the processes it starts."""
    if _compiled or item.get_closest_marker(WHILE_COMPILING):
        return
    folder = os.environ[WARM_UP]
    for name in KERNEL_MODULES:
        while not os.path.exists(os.path.join(folder, f"{name}.ok")):
            failed = os.path.join(folder, f"{name}.failed")
            if os.path.exists(failed):
                with open(failed) as f:
                    pytest.fail(f.read(), pytrace=False)
            time.sleep(0.1)
    _compiled.append(True)


@pytest.fixture(scope="session")
def published_sweep(tmp_path_factory):
    """The README's sweep, `encoder_backprop_8_3_8.py --seeds 0-29 --epochs 20000 --json PATH`, run once for the
    test of its printout and the test of its numbers: (stdout, stderr, the JSON it wrote). Once for the whole
    session: the first xdist worker to need it runs it and leaves it in the folder the workers share, under a
    lock the other waits on."""
    import encoder_backprop_8_3_8 as E
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent                          # this session's folder of every worker's basetemp
    made = shared / "published_sweep.json"
    with open(shared / "published_sweep.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not made.exists():
            path = shared / "sweep.json"
            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                assert E.main(["--seeds", "0-29", "--epochs", "20000", "--json", str(path)]) == 0
            made.write_text(json.dumps([out.getvalue(), err.getvalue(), path.read_text()]))
    out, err, written = json.loads(made.read_text())
    return out, err, json.loads(written)
