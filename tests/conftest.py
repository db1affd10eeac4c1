import contextlib
import fcntl
import io
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


KERNEL_MODULES = ("compiled_backprop", "compiled_kernels", "compiled_local_kernels")


def pytest_configure(config):
    """Compile the numba kernels once, before the workers start, each module in a process of its own (together
    about 50 s of one core in a fresh clone, 25 s of wall time on two): the workers then load the compiled code
    from numba's cache instead of each compiling it."""
    if hasattr(config, "workerinput"):
        return
    compiling = [subprocess.Popen([sys.executable, "-c", f"import {name}; {name}.warm_up()"], cwd=ROOT,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                 for name in KERNEL_MODULES]
    for name, proc in zip(KERNEL_MODULES, compiling):
        _, err = proc.communicate()
        assert proc.returncode == 0, f"{name}.warm_up() failed:\n{err}"


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
