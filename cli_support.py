"""What every command line of the project shares: one-line errors (exit 2), argparse types that reuse the
API's checks, seed and size specs, output-path checks, a progress line, and a clean Ctrl-C (exit 130)."""
import argparse
import json
import os
import sys
import time

import validation as check
from parallel_map import MAX_CHUNK, MIN_CHUNK
from training_loop import parse_size

OUR_MAGIC = {".png": b"\x89PNG\r\n\x1a\n", ".gif": b"GIF8"}


class OneLineParser(argparse.ArgumentParser):
    """argparse, but errors are one line ('prog: error: ...') with exit status 2, no usage block."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def arg_type(check_fn, kind=None):
    """An argparse type: convert the text with `kind` (if given) and validate it with a check of the API, so
    the CLI and the API reject bad values with the same message. Text `kind` cannot read goes to the check
    as it is, which rejects it in its own words."""
    def convert(text):
        try:
            value = kind(text) if kind is not None else text
        except (ValueError, OverflowError):
            value = text
        try:
            return check_fn(value)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None
    convert.__name__ = getattr(kind, "__name__", "value")
    return convert


def parse_seeds(spec, limit=10_000_000):
    """'0-29', '0,3,7' or mixes like '0-9,20' -> list of ints (in the order given, no repeats)."""
    seeds, total = [], 0
    for part in str(spec).split(","):
        part = part.strip()
        lo, dash, hi = part.partition("-")
        if not lo.isdigit() or (dash and not hi.isdigit()):
            raise ValueError(f"bad seed spec {spec!r}: {part!r} is not N or N-M with non-negative integers")
        first, last = int(lo), int(hi) if dash else int(lo)
        if last > check.MAX_SEED:
            raise ValueError(f"bad seed spec {spec!r}: a seed must be at most 2^63 - 1")
        if last < first:
            raise ValueError(f"bad seed spec {spec!r}: range {part!r} runs backwards")
        total += last - first + 1
        if total > limit:
            raise ValueError(f"bad seed spec {spec!r}: more than {limit:,} seeds")
        seeds.extend(range(first, last + 1))
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"bad seed spec {spec!r}: a seed is listed twice")
    return seeds


def list_of(kind, check_fn):
    """An argparse type for comma-separated values, each converted by `kind` and validated by `check_fn`."""
    def parse(text):
        try:
            values = [kind(v) for v in text.split(",") if v.strip()]
        except ValueError:
            raise ValueError(f"expected a comma-separated list of {kind.__name__}s, got {text!r}") from None
        if not values:
            raise ValueError(f"expected a comma-separated list of {kind.__name__}s, got {text!r}")
        return [check_fn(v) for v in values]
    return arg_type(parse)


def written_by_us(path):
    """True when the existing file `path` looks like an output of this project: a JSON object with a
    "config" key, or a PNG/GIF image. Anything else (a source file, a data file) is refused unless --force."""
    ext = os.path.splitext(path)[1].lower()
    try:
        with open(path, "rb") as f:
            head = f.read(1 << 20)
            whole = not f.read(1)
            if not whole:                           # a large file: its end too (a single run's config is last)
                f.seek(-min(1 << 20, os.fstat(f.fileno()).st_size), os.SEEK_END)
                tail = f.read()
    except OSError:
        return False
    if ext in OUR_MAGIC:
        return head.startswith(OUR_MAGIC[ext])
    if ext == ".json" and whole:
        try:
            return isinstance(data := json.loads(head), dict) and "config" in data
        except (ValueError, UnicodeDecodeError):
            return False
    if ext == ".json":                               # our writer puts each top-level key at two spaces' indent
        return head.startswith(b"{") and any(b'\n  "config": ' in part for part in (head, tail))
    return False


def check_output_path(path):
    """Raise ValueError unless `path` can be created: not empty, its folder exists and is writable, it is not
    a folder, FIFO, device or socket. Whether an existing file may be replaced is `refuse_foreign_outputs`'
    question."""
    if not str(path).strip():
        raise ValueError("the output path is empty")
    folder = os.path.dirname(os.path.abspath(path))
    if kind := special_file_kind(path):
        raise ValueError(f"{path} is {kind}, not a regular file")
    if not os.path.isdir(folder):
        raise ValueError(f"folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise ValueError(f"folder {folder} is not writable")
    return path


def refuse_foreign_outputs(parser, paths, force=False):
    """Exit 2 if an output path names an existing file that this project did not write (unless force), or
    anything but a regular file (even with force: a FIFO would block, a device would be replaced)."""
    for path in paths:
        if path and (kind := special_file_kind(path)):
            parser.error(f"{path} is {kind}, not a regular file; refusing to write to it")
        if path and not force and os.path.exists(path) and not written_by_us(path):
            parser.error(f"{path} exists and was not written by this project; refusing to overwrite it "
                         f"(pass --force to replace it)")


def add_json_args(parser):
    parser.add_argument("--json", metavar="PATH", type=arg_type(check_output_path), default=None,
                        help="also write the result as JSON to PATH")
    add_force_arg(parser)


def add_force_arg(parser):
    parser.add_argument("--force", action="store_true",
                        help="replace an output file even if it does not look like one this project wrote")


def add_size_arg(parser):
    parser.add_argument("--size", type=arg_type(parse_size), default=parse_size("8-3-8"),
                        help="encoder size N-H-N: N one-hot patterns, H hidden units, N >= 2, 1 <= H < N "
                             "(default 8-3-8)")


def add_seeds_arg(parser, default=None, text="train many seeds together"):
    parser.add_argument("--seeds", type=arg_type(parse_seeds), default=default,
                        help=f"{text}, e.g. 0-29, 0,3,7 or 0-9,20")


def add_hyperparameter_args(parser, epochs_default=5000):
    """The training flags shared by every CLI in the project."""
    parser.add_argument("--epochs", type=arg_type(check.check_epochs, int), default=epochs_default,
                        help=f"epoch cap (total over restarts), >= 1 (default {epochs_default})")
    parser.add_argument("--lr", type=arg_type(check.check_lr, float), default=None,
                        help=f"learning rate (quickprop: its epsilon; unused by rprop), in (0, {check.MAX_LR:g}] "
                             f"(default 0.5)")
    parser.add_argument("--momentum", type=arg_type(check.check_momentum, float), default=0.9,
                        help="momentum, in [0, 1) (default 0.9; used by the momentum optimizer only)")
    parser.add_argument("--init-scale", type=arg_type(check.check_init_scale, float), default=None,
                        help=f"initial weights ~ U(-s, s), s in (0, {check.MAX_INIT_SCALE:g}] (default 0.1; "
                             f"quickprop 0.7)")


def add_parallel_args(parser, workers_default=1):
    shown = "every core" if workers_default == os.cpu_count() else workers_default
    parser.add_argument("--workers", type=arg_type(check.check_workers, int), default=workers_default,
                        help=f"local processes to train on, 1 to {check.MAX_WORKERS} (never more than the chunks); "
                             f"results are identical for any number (default {shown})")
    parser.add_argument("--scheduler", metavar="ADDRESS", default=None, type=arg_type(check_address),
                        help="train on a Dask cluster instead, e.g. tcp://HOST:8786; this project must be installed "
                             "on its scheduler and workers (docs/performance.md; needs: pip install -r "
                             "requirements-dist.txt)")
    parser.add_argument("--chunk-size", type=arg_type(check.check_chunk_size, int),
                        default=None, help=f"networks per parallel chunk (default: one chunk per worker, or per "
                                           f"worker thread of a Dask cluster, {MIN_CHUNK} to {MAX_CHUNK} networks "
                                           f"each)")


def check_address(text):
    if not text.strip():
        raise ValueError("the Dask scheduler's address is empty (e.g. tcp://HOST:8786)")
    return text


def executor_from(parser, args):
    """The Dask client named by --scheduler, checked before any work (a scheduler that answers, has workers, and
    runs this code there), or None (local processes, or this process); one line and exit 2 otherwise."""
    if args.scheduler is None:
        return None
    from dask_cluster import ClusterError, dask_client
    try:
        import dask.distributed  # noqa: F401 -- its import sets up the loggers quieted below
    except ImportError:
        pass                    # dask_client says how to install it
    else:
        quiet_dask_logs()
    try:
        return dask_client(args.scheduler)
    except (ImportError, ClusterError) as err:
        parser.error(str(err))


def quiet_dask_logs():
    """Dask's log, and tornado's and asyncio's under it, would add lines to our one line (a lost scheduler, a
    connection that timed out inside Dask)."""
    import logging
    for handler in logging.getLogger("distributed").handlers:
        handler.setLevel(logging.CRITICAL + 1)
    for name in ("tornado", "tornado.application", "asyncio"):
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)


def cluster_failed(parser, err):
    """A Dask cluster lost during the work (dask_cluster.ClusterError): one line and exit status 1; the work's
    output is not written."""
    parser.exit(1, f"{parser.prog}: error: {err}\n")


class Progress:
    """Progress on stderr (networks finished, rate, time left). On a terminal, a self-overwriting line once the work
    has run for a second; anywhere else (a log file, a pipe), a line a minute once it has run for a minute, so that a
    long study run in the background says where it is and a short run writes nothing."""
    LOG_EVERY = 60.0        # seconds between lines when stderr is not a terminal

    def __init__(self, total, unit="networks", stream=None):
        self.total, self.unit = total, unit
        self.stream = sys.stderr if stream is None else stream
        self.start = self.last = time.perf_counter()
        try:
            self.on_terminal, self.enabled = self.stream.isatty(), True
        except (OSError, ValueError, AttributeError):       # a closed or stand-in stream
            self.on_terminal, self.enabled = False, False
        self.shown = False

    def update(self, done, note=""):
        if not self.enabled:
            return
        now = time.perf_counter()
        wait, every = (1.0, 0.2) if self.on_terminal else (self.LOG_EVERY, self.LOG_EVERY)
        if now - self.start < wait or now - self.last < every:
            return
        self.last, self.shown = now, True
        rate = done / (now - self.start)
        left = f", about {(self.total - done) / rate:.0f} s left" if 0 < done < self.total else ""
        text = f"{done}/{self.total} {self.unit} done ({rate:.1f}/s{left}){note}"
        try:
            self.stream.write(f"\r{text}   " if self.on_terminal else f"{text}, after {now - self.start:.0f} s\n")
            self.stream.flush()
        except (OSError, ValueError):                       # stderr gone: the work goes on without progress
            self.enabled = False

    def epoch_hook(self):
        """A `progress(epoch, n_training)` callback for the training loop of one batch."""
        def hook(epoch, n_training):
            if epoch is None:                                # a parallel sweep, which counts no epochs
                self.update(self.total - n_training)
            elif epoch % 50 == 0:
                self.update(self.total - n_training, f", epoch {epoch}")
        return hook

    def close(self):
        if self.shown and self.on_terminal and self.enabled:
            self.stream.write("\r" + " " * 78 + "\r")
            self.stream.flush()


def output_failed(parser, err, message):
    """An OSError while writing: a closed pipe goes on to `run_main` (a quiet exit), anything else is a one-line
    error with exit status 2."""
    if isinstance(err, BrokenPipeError):
        raise err
    parser.error(message)


# pyproject.toml's dependencies, by the name they are imported as (llvmlite comes with numba): a CLI that misses
# one says which, and how to install them
REQUIRED_PACKAGES = {"numpy": "numpy", "scipy": "scipy", "matplotlib": "matplotlib", "imageio": "imageio",
                     "numba": "numba", "llvmlite": "numba"}


def run_main(main, argv=None):
    """Run a CLI's main: Ctrl-C ends it with one line and exit status 130, SIGTERM with one line and 143 (both
    through the same cleanup: a parallel sweep stops its workers); a closed stdout (`| head`) is swapped for
    /dev/null, so the run still finishes and writes its files; a required package that is not installed is one
    line and exit status 2 (the learners import theirs before any work)."""
    import signal
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    streams = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = (None if s is None else ClosedPipeTolerant(s) for s in streams)  # None: fd closed
    try:
        return main(argv)
    except Terminated:
        sys.stderr.write("terminated\n")
        return 143
    except KeyboardInterrupt:
        sys.stderr.write("\ninterrupted\n")
        return 130
    except BrokenPipeError:                  # a closed pipe written to other than through sys.stdout
        ClosedPipeTolerant(streams[0])._drop_the_rest()
        return 0
    except ModuleNotFoundError as err:
        package = REQUIRED_PACKAGES.get((err.name or "").split(".")[0])
        if package is None:
            raise
        sys.stderr.write(f"{os.path.basename(sys.argv[0])}: error: this needs {package}, which is not installed: "
                         f"pip install -e . (in the repository)\n")
        return 2
    finally:
        signal.signal(signal.SIGTERM, previous)
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()               # what is left goes out here, tolerantly, not at interpreter exit
        sys.stdout, sys.stderr = streams


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C's KeyboardInterrupt, so every cleanup of Ctrl-C runs."""


def _raise_terminated(signum, frame):
    raise Terminated


class ClosedPipeTolerant:
    """A text stream whose first BrokenPipeError points its file descriptor at /dev/null: once the reader is
    gone (`| head -1`), what is printed is dropped and the program goes on to write its files."""

    def __init__(self, stream):
        self._stream = stream

    def __getattr__(self, name):
        return getattr(self._stream, name)

    def _drop_the_rest(self):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, self._stream.fileno())
        os.close(devnull)

    def write(self, text):
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._drop_the_rest()
            return len(text)

    def flush(self):
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._drop_the_rest()
            self._stream.flush()             # the bytes still buffered go to /dev/null


def special_file_kind(path):
    """What `path` is when it exists but is not a regular file ('a FIFO', 'a device', ...), else None."""
    import stat
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    if stat.S_ISREG(mode):
        return None
    return ("a directory" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode) else
            "a socket" if stat.S_ISSOCK(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else
            "a special file")
