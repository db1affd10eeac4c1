import os
import sys

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
