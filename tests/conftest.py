import contextlib
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


# Tests that share an expensive fixture run on one xdist worker (pytest.ini: --dist loadgroup), which then builds it
# once instead of once per worker: the README's sweep and the Dask cluster of tests/test_dask_cluster.py.
SHARED_FIXTURES = {"published_sweep": "the README's sweep", "cluster": "a stock Dask cluster"}


def pytest_collection_modifyitems(items):
    for item in items:
        for fixture, group in SHARED_FIXTURES.items():
            if fixture in item.fixturenames:
                item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture(scope="session")
def published_sweep(tmp_path_factory):
    """The README's sweep, `encoder_backprop_8_3_8.py --seeds 0-29 --epochs 20000 --json PATH`, run once (in this
    process) for the test of its printout and the test of its numbers: (stdout, stderr, the JSON it wrote)."""
    import encoder_backprop_8_3_8 as E
    path = tmp_path_factory.mktemp("published") / "sweep.json"
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        assert E.main(["--seeds", "0-29", "--epochs", "20000", "--json", str(path)]) == 0
    return out.getvalue(), err.getvalue(), json.loads(path.read_text())
