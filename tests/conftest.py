import contextlib
import io
import json
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def pytest_configure(config):
    """Compile the numba kernels once, in the controlling process, before the workers start: they then load the
    compiled code from numba's cache instead of each compiling it (about 5 s apiece in a fresh clone)."""
    if not hasattr(config, "workerinput"):
        import compiled_backprop
        import compiled_kernels
        import compiled_local_kernels
        compiled_kernels.warm_up()
        compiled_backprop.warm_up()
        compiled_backprop.warm_up(((8, 3),), ("quickprop", "rprop"))
        compiled_local_kernels.warm_up()


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
