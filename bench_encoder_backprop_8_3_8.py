#!/usr/bin/env python3
"""Benchmarks: medians of wall times (and peak memory) for the project's commands and engine calls.

    python3 bench_encoder_backprop_8_3_8.py                  # every section (about two minutes)
    python3 bench_encoder_backprop_8_3_8.py --only single,sweep --repeat 3

Whole-process times run the command exactly as a user would (a fresh Python each time, output discarded);
in-process times call the engine after a warm-up run. Speed is reported here, never asserted by a test.
"""
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

import boltzmann_learners as B
import cli_support as cli
import encoder_backprop_8_3_8 as E
import validation as check

HERE = os.path.dirname(os.path.abspath(__file__))
SECTIONS = ("single", "sweep", "engines", "agreement", "optimizer_agreement", "parallel", "boltzmann", "local", "figures", "gif",
            "data_movement", "memory", "baseline")


def run_process(args, cwd=HERE):
    """Run a command; returns (wall seconds, peak resident memory in MB of that process)."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    except BaseException:                   # Ctrl-C or SIGTERM: the command measured ends with the benchmark
        proc.kill()
        proc.wait()
        raise
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"benchmark command failed: {' '.join(args)}\n{proc.stderr.read().decode()}")
    return seconds, usage.ru_maxrss / 1024


def median_process(args, repeat):
    runs = [run_process(args) for _ in range(repeat)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def median_call(fn, repeat, clock=time.perf_counter):
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        start = clock()
        fn()
        times.append(clock() - start)
    return statistics.median(times)


def report(name, value, unit, runs, goal=""):
    print(f"{name:<64} {value:>10.3f} {unit:<6} {runs:>4}  {goal}", flush=True)


def bench_single(repeat):
    py = sys.executable
    wall, mem = median_process([py, "encoder_backprop_8_3_8.py", "--seed", "0"], repeat)
    report("single: whole process `encoder_backprop_8_3_8.py --seed 0`", wall, "s", repeat, "goal <= 0.25 s")
    seconds = median_call(lambda: E.train(seed=0, verbose=False), repeat)
    report("single: in-process train(seed=0), 3631 epochs", seconds, "s", repeat)
    report("single: per epoch", seconds / 3631 * 1e6, "us", repeat)


def bench_sweep(repeat):
    py = sys.executable
    wall, _ = median_process([py, "encoder_backprop_8_3_8.py", "--seeds", "0-29", "--epochs", "20000"], repeat)
    report("sweep: whole process `--seeds 0-29 --epochs 20000`", wall, "s", repeat, "goal <= 1.2 s")
    batched = median_call(lambda: E.sweep_seeds(range(30), n_epochs=20000), repeat)
    report("sweep: in-process sweep_seeds(range(30), 20000)", batched, "s", repeat)
    serial = median_call(lambda: [E.train(n_epochs=20000, seed=s, verbose=False) for s in range(30)], 1)
    report("sweep: in-process, 30 serial train(seed=s, n_epochs=20000) calls", serial, "s", 1)
    report("sweep: serial / batched", serial / batched, "x", 1)
    n_seeds, n_epochs = 1000, 500
    per = median_call(lambda: E.sweep_seeds(range(n_seeds), n_epochs=n_epochs, early_stop=False), repeat)
    report(f"sweep: cost per seed-epoch, {n_seeds} seeds x {n_epochs} epochs, no early stop",
           per / (n_seeds * n_epochs) * 1e6, "us", repeat, "goal <= 1.5 us")
    big = median_call(lambda: E.sweep_seeds(range(1000), n_epochs=20000), max(1, repeat // 2))
    report("sweep: in-process sweep_seeds(range(1000), 20000)", big, "s", max(1, repeat // 2), "goal <= 20 s")


# Floating-point operations of one 8-3-8 network-epoch of the momentum step as the compiled kernel does them
# (adds, multiplies, fused multiply-adds counted as 2, compares; one division each): the forward pass (hidden
# drives 24, outputs 64 x 3 products and sums, 88 sigmoids), the error signals (64 x 2), the backward sums
# (24 x 8 and 24 x 8 multiply-adds, 8 x 8 and 3 x 8 adds, 24 x 3 for the hidden slopes), the momentum update
# (59 x 4), the readout (24 x 4, 64 x 2); each sigmoid: the clip, the exp (its reduction 3, 13 multiply-adds,
# 2^k 3 and the scaling) and 1 / (1 + e), 38.
FLOPS_PER_SIGMOID = 38
FLOPS_PER_NETWORK_EPOCH = (24 + 64 * 3 * 2 + 88 * FLOPS_PER_SIGMOID + 64 * 2 + 2 * 24 * 8 * 2 + 64 + 24 + 24 * 3
                           + 59 * 4 + 24 * 4 + 64 * 2)


def peak_flops(n=1500):
    """This machine's float64 rate on a large matrix product (numpy's BLAS, dgemm: near the peak of the vector
    units), in flops per CPU-second (so both cores count when BLAS uses both), the best of 5."""
    a = np.random.default_rng(0).random((n, n))
    a @ a
    best = 0.0
    for _ in range(5):
        start = time.process_time()
        a @ a
        best = max(best, 2 * n ** 3 / (time.process_time() - start))
    return best


def epoch_costs(engines, n, epochs, repeat, **settings):
    """Median CPU seconds per network-epoch of a sweep of n networks on each engine, none stopping early: the time of
    `epochs` epochs less that of one epoch (so the networks' initialisation is not counted). The engines run in
    turns, each run of one followed by a run of the next, so a change in the machine's load falls on all of them.
    CPU time, not wall time: on a machine shared with other work the wall time measures the others too."""
    def run(engine, e):
        start = time.process_time()
        E.sweep_seeds(range(n), n_epochs=e, early_stop=False, engine=engine, **settings)
        return time.process_time() - start
    for engine in engines:                              # warm-up
        run(engine, 2)
    costs = {engine: [] for engine in engines}
    for _ in range(repeat):
        for engine in engines:
            costs[engine].append(max(run(engine, epochs) - run(engine, 1), 0) / (n * (epochs - 1)))
    return {engine: statistics.median(c) for engine, c in costs.items()}


def bench_engines(repeat):
    """Both engines at 1 to 10000 networks, in turns, the ratio, and the floating-point floor at this core's peak
    rate; then quickprop (its own loss, atanh, and activation), Rprop+ and iRprop- at 1000 networks."""
    peak = peak_flops()
    report("engines: peak float64 rate (numpy matrix product, per CPU-second)", peak / 1e9, "GF/s", 5)
    floor = FLOPS_PER_NETWORK_EPOCH / peak
    for n, epochs in ((1, 2000), (30, 1000), (1000, 100), (10000, 20)):
        cost = epoch_costs(("numpy", "compiled"), n, epochs, repeat)
        for engine, seconds in cost.items():
            report(f"engines: {engine}, {n} networks x {epochs} epochs, per network-epoch", seconds * 1e6, "us",
                   repeat)
        report(f"engines: numpy / compiled at {n} networks", cost["numpy"] / cost["compiled"], "x", repeat,
               "goal >= 5 at 1000" if n == 1000 else "")
        report(f"engines: compiled / floating-point floor ({FLOPS_PER_NETWORK_EPOCH} flops at peak)",
               cost["compiled"] / floor, "x", repeat)
    for optimizer in ("quickprop", "rprop", "irprop"):
        cost = epoch_costs(("numpy", "compiled"), 1000, 100, repeat, optimizer=optimizer)
        for engine, seconds in cost.items():
            report(f"engines: {optimizer}, {engine}, 1000 networks x 100 epochs, per network-epoch", seconds * 1e6,
                   "us", repeat)
        report(f"engines: {optimizer}, numpy / compiled at 1000 networks", cost["numpy"] / cost["compiled"], "x",
               repeat)
    report("engines: load average (1 minute) at the end", os.getloadavg()[0], "", 1)


def bench_agreement(repeat, n_seeds=2000, cap=20000):
    """The published recipe on seeds 0..n_seeds-1 at the cap on both engines: every seed's epochs and solve
    (solved or not) must agree. Prints the counts and the first disagreements; exits non-zero on any."""
    runs, seconds = {}, {}
    for engine in ("compiled", "numpy"):
        start = time.perf_counter()
        runs[engine] = E.sweep_seeds(range(n_seeds), n_epochs=cap, engine=engine)
        seconds[engine] = time.perf_counter() - start
        report(f"agreement: {engine}, seeds 0-{n_seeds - 1} at the {cap} cap", seconds[engine], "s", 1)
    differ = [(a["seed"], a["epochs"], b["epochs"]) for a, b in zip(runs["numpy"], runs["compiled"])
              if (a["epochs"], a["solved"]) != (b["epochs"], b["solved"])]
    solved = {engine: sum(r["solved"] for r in rs) for engine, rs in runs.items()}
    report(f"agreement: solved, numpy / compiled ({solved['numpy']} / {solved['compiled']})", solved["compiled"],
           "nets", 1)
    report("agreement: seeds whose epochs or solve differ", len(differ), "seeds", 1, "goal 0")
    if differ:
        raise SystemExit(f"engines disagree (seed, numpy epochs, compiled epochs): {differ[:10]}")


AGREEMENT_SIZES = ("4-2-4", "8-3-8", "10-5-10", "16-4-16")


def bench_optimizer_agreement(repeat, sizes=AGREEMENT_SIZES):
    agreement_of_optimizers(configurations=optimizer_configurations(sizes))


def optimizer_configurations(sizes=AGREEMENT_SIZES):
    """(name, settings, loop, size) of every sweep the optimizers study runs at these sizes (studies/optimizers.py:
    each of its learners under Fahlman's protocol and under the strict criterion, at its default options)."""
    from studies import optimizers as study
    budget, fahlman_cap = study.OPTIONS["budget"][0], study.OPTIONS["fahlman_cap"][0]
    protocols = {"fahlman": {"epochs": fahlman_cap, "criterion": "fahlman", "restart_every": budget},
                 "strict": {"epochs": study.EPOCHS}}
    for size in sizes:
        for learner, (optimizer, profile) in study.LEARNERS.items():
            for protocol, loop in protocols.items():
                yield f"{size} {learner}, {protocol}", {"optimizer": optimizer, "profile": profile}, loop, size


def agreement_of_optimizers(seeds=range(300), configurations=None):
    """Every configuration of the optimizers study at sizes up to 16-4-16 on both engines, seeds 0-299: the seeds
    whose epochs, solve and restarts are the same on both, and the solve rates with their 95% Wilson intervals (and
    the mean epochs of the solved networks with their 95% bootstrap intervals). Networks may differ seed by seed
    where an optimizer is chaotic (a difference in the last bit grows until the runs part); the configuration then
    agrees if the engines' intervals overlap, of the solve rates and of the mean epochs. Exits non-zero if one does
    not."""
    import training_loop as T
    from interval_stats import bootstrap, rate
    failed = []
    for name, settings, loop, size in configurations or optimizer_configurations():
        runs, seconds = {}, {}
        for engine in ("compiled", "numpy"):
            T.sweep("backprop", [0], {**settings, "engine": engine}, {"epochs": 1}, size=size)   # compiles, once
            start = time.process_time()
            runs[engine] = T.sweep("backprop", seeds, {**settings, "engine": engine}, loop, size=size)
            seconds[engine] = time.process_time() - start
        same = int(np.sum((runs["numpy"]["epochs"] == runs["compiled"]["epochs"])
                          & (runs["numpy"]["solved"] == runs["compiled"]["solved"])
                          & np.array([len(a) == len(b) for a, b in zip(runs["numpy"].restart_epochs,
                                                                        runs["compiled"].restart_epochs)])))
        rates = {e: rate(int(r["solved"].sum()), len(seeds)) for e, r in runs.items()}
        means = {e: bootstrap(r["epochs"][r["solved"]], "mean") for e, r in runs.items()}
        agree = same == len(seeds) or (overlap(rates["numpy"]["wilson_95"], rates["compiled"]["wilson_95"])
                                       and (None in means.values()
                                            or overlap(means["numpy"]["ci_95"], means["compiled"]["ci_95"])))
        if not agree:
            failed.append(name)
        print(f"agreement: {name}: {same} of {len(seeds)} seeds the same, {len(seeds) - same} differ; solved "
              + ", ".join(f"{e} {fmt_rate_mean(rates[e], means[e])}" for e in ("numpy", "compiled"))
              + f"; CPU numpy {seconds['numpy']:.1f} s, compiled {seconds['compiled']:.1f} s"
              + ("" if agree else "  DISAGREE"),
              flush=True)
    if failed:
        raise SystemExit(f"engines disagree beyond their intervals: {', '.join(failed)}")


def overlap(a, b):
    return a[0] <= b[1] and b[0] <= a[1]


def fmt_rate_mean(r, mean):
    low, high = r["wilson_95"]
    text = f"{r['k']}/{r['n']} [{low:.3f}-{high:.3f}]"
    return text + (f", mean epochs {mean['mean']:.1f} [{mean['ci_95'][0]:.1f}-{mean['ci_95'][1]:.1f}]" if mean else "")


def bench_parallel(repeat):
    runs = max(1, repeat // 2)
    one = median_call(lambda: E.sweep_seeds(range(1000), n_epochs=20000), runs)
    two = median_call(lambda: E.sweep_seeds(range(1000), n_epochs=20000, workers=2), runs)
    report("parallel: sweep_seeds(range(1000), 20000), workers=1", one, "s", runs)
    report("parallel: the same, workers=2", two, "s", runs)
    report("parallel: workers=2 / workers=1", two / one, "x", runs, "goal <= 0.6")
    one = median_call(lambda: B.sweep_boltzmann(range(200), "cdk", 100, patience=None), runs)
    two = median_call(lambda: B.sweep_boltzmann(range(200), "cdk", 100, patience=None, workers=2), runs)
    report("parallel: CD-5, 200 networks x 100 epochs, workers=1", one, "s", runs)
    report("parallel: the same, workers=2", two, "s", runs)
    report("parallel: workers=2 / workers=1", two / one, "x", runs, "goal <= 0.6")


def bench_boltzmann(repeat):
    for n in (100, 256):
        seconds = median_call(lambda: B.sweep_boltzmann(range(n), "cdk", 20, patience=None), repeat)
        report(f"boltzmann: CD-5, {n} networks x 20 epochs, per network-epoch", seconds / (n * 20) * 1e6, "us",
               repeat, "goal <= 80 us")
    for n in (50, 128):
        seconds = median_call(lambda: B.sweep_boltzmann(range(n), "ahs85", 5), repeat)
        report(f"boltzmann: ahs85, {n} networks x 5 cycles, per network-cycle", seconds / (n * 5) * 1e3, "ms",
               repeat, "goal <= 0.35 ms")


def bench_local(repeat):
    """The local rules at 8-3-8 with both engines, in turns: CPU time per network-epoch of 10 epochs (batch.step, no
    criterion) of 256 and of 1000 networks after 5 epochs of training, the median of min(repeat, 3) runs."""
    import training_loop
    runs = max(1, min(repeat, 3))
    for rule in ("chl", "generec", "generec-mid", "generec-sym", "mean-field", "recirculation"):
        for n in (256, 1000):
            batches = {}
            for engine in ("numpy", "compiled"):
                run = training_loop.check_run(rule, range(n), {"engine": engine})
                batches[engine] = run.learner.start(run.seeds, run.per_network)
                for _ in range(5):                           # the compiled kernels load (or compile) here
                    batches[engine].step()
            times = {engine: [] for engine in batches}
            for _ in range(runs):
                for engine, batch in batches.items():
                    start = time.process_time()
                    for _ in range(10):
                        batch.step()
                    times[engine].append(time.process_time() - start)
            per = {engine: statistics.median(spent) / (n * 10) * 1e6 for engine, spent in times.items()}
            for engine, us in per.items():
                report(f"local: {rule}, {n} networks, {engine} engine, per network-epoch", us, "us", runs)
            report(f"local: {rule}, {n} networks, numpy / compiled", per["numpy"] / per["compiled"], "x", runs,
                   "goal >= 20")


def load_engine(folder):
    """The module encoder_backprop_8_3_8 (with the modules it imports) of another checkout, e.g. an earlier
    commit made with `git worktree add /tmp/old COMMIT`."""
    names = [m for m in sys.modules if m in ENGINE_MODULES]
    saved = {m: sys.modules.pop(m) for m in names}
    sys.path.insert(0, folder)
    try:
        import encoder_backprop_8_3_8 as other
    finally:
        sys.path.remove(folder)
        for m in ENGINE_MODULES:
            sys.modules.pop(m, None)
        sys.modules.update(saved)
    return other


ENGINE_MODULES = ("encoder_backprop_8_3_8", "training_loop", "optimizers", "validation", "cli_support",
                  "atomic_files", "interval_stats", "parallel_map", "published_figures")


def bench_baseline(repeat, baseline):
    """This engine against the one in `baseline`, timed in turns in one process (this machine's speed drifts by
    10-20% over minutes, so separate runs of the two would compare the drift)."""
    engines = {"baseline": load_engine(os.path.abspath(baseline)), "this": E}
    cases = {"train(seed=0)": lambda M: M.train(seed=0, verbose=False),
             "sweep_seeds(range(30), 20000)": lambda M: M.sweep_seeds(range(30), n_epochs=20000),
             "sweep_seeds(range(1000), 2000)": lambda M: M.sweep_seeds(range(1000), n_epochs=2000)}
    for name, case in cases.items():
        times = {k: [] for k in engines}
        for _ in range(repeat):
            for key, M in engines.items():
                start = time.perf_counter()
                case(M)
                times[key].append(time.perf_counter() - start)
        medians = {k: statistics.median(v) for k, v in times.items()}
        report(f"baseline: {name}, baseline", medians["baseline"], "s", repeat)
        report(f"baseline: {name}, this version", medians["this"], "s", repeat)
        report(f"baseline: {name}, this / baseline", medians["this"] / medians["baseline"], "x", repeat)


def bench_figures(repeat):
    with tempfile.TemporaryDirectory() as tmp:
        wall, mem = median_process([sys.executable, "visualize_encoder_backprop_8_3_8.py", "--outdir", tmp], repeat)
    report("figures: whole process `visualize_encoder_backprop_8_3_8.py`", wall, "s", repeat, "goal <= 1.5 s")
    report("figures: peak memory", mem, "MB", repeat)


def bench_gif(repeat):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "anim.gif")
        wall, mem = median_process([sys.executable, "make_encoder_backprop_8_3_8_gif.py", "--out", out], repeat)
        size = os.path.getsize(out) / 2 ** 20
    report("gif: whole process `make_encoder_backprop_8_3_8_gif.py`", wall, "s", repeat, "goal <= 8 s")
    report("gif: peak memory", mem, "MB", repeat, "goal <= 200 MB")
    report("gif: file size", size, "MiB", repeat, "goal <= 1.5 MB")


def bench_data_movement(repeat):
    wall, _ = median_process([sys.executable, "data_movement_encoder_backprop_8_3_8.py"], repeat)
    report("data movement: whole process `data_movement_encoder_backprop_8_3_8.py`", wall, "s", repeat,
           "goal <= 60 s")


# The memory bound's estimates against the peaks they bound: each case is a command run twice in one fresh
# process, first tiny (every module it imports loaded, numba's kernels compiled), then as measured; the peak is
# the process's VmHWM (Linux), less its value after the tiny run.
MEASURE = """
import importlib, json, sys
main = importlib.import_module(sys.argv[1]).main
def high_water():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM:"))
main(json.loads(sys.argv[2]))
base = high_water()
main(json.loads(sys.argv[3]))
print("measured", base, high_water())
"""


def _sweep_estimate(learner, size, n, **settings):
    import learners
    import training_loop as T
    spec = learners.get(learner)
    return lambda: T.sweep_bytes(spec, T.parse_size(size), spec.settings(**settings), n)


def _train_estimate(size, epochs):
    return lambda: E.train_bytes(E.parse_size(size), *E.settings_of(epochs))


MEMORY_CASES = {   # name: (script, tiny run, measured run, its estimate); outputs go to the current folder
    "backprop sweep 2000 x 64-6-64": (
        "encoder_backprop_8_3_8", ["--seeds", "0-1", "--size", "8-3-8", "--epochs", "1", "--json", "w.json"],
        ["--seeds", "0-1999", "--size", "64-6-64", "--epochs", "2", "--json", "r.json"],
        _sweep_estimate("backprop", "64-6-64", 2000)),
    "compiled sweep 2000 x 64-6-64": (
        "encoder_backprop_8_3_8", ["--seeds", "0-1", "--size", "64-6-64", "--epochs", "1", "--engine", "compiled"],
        ["--seeds", "0-1999", "--size", "64-6-64", "--epochs", "2", "--engine", "compiled"],
        _sweep_estimate("backprop", "64-6-64", 2000, engine="compiled")),
    "quickprop sweep 1000 x 64-40-64": (
        "encoder_backprop_8_3_8", ["--seeds", "0-1", "--epochs", "1", "--optimizer", "quickprop"],
        ["--seeds", "0-999", "--size", "64-40-64", "--epochs", "2", "--optimizer", "quickprop"],
        _sweep_estimate("backprop", "64-40-64", 1000, optimizer="quickprop")),
    "backprop sweep 30000 x 8-3-8": (
        "encoder_backprop_8_3_8", ["--seeds", "0-1", "--epochs", "1", "--json", "w.json"],
        ["--seeds", "0-29999", "--epochs", "1", "--json", "r.json"], _sweep_estimate("backprop", "8-3-8", 30000)),
    "backprop run 1200-12-1200": (
        "encoder_backprop_8_3_8", ["--seed", "0", "--size", "20-5-20", "--epochs", "2", "--json", "w.json"],
        ["--seed", "0", "--size", "1200-12-1200", "--epochs", "4", "--json", "r.json"],
        _train_estimate("1200-12-1200", 4)),
    "ahs85 sweep 2 x 11-9-11": (
        "encoder_boltzmann_8_3_8", ["--rule", "ahs85", "--seeds", "0", "--size", "4-2-4", "--epochs", "1"],
        ["--rule", "ahs85", "--seeds", "0-1", "--size", "11-9-11", "--epochs", "1"],
        _sweep_estimate("ahs85", "11-9-11", 2)),
    "cdk sweep 3 x 40-14-40": (
        "encoder_boltzmann_8_3_8", ["--rule", "cdk", "--seeds", "0", "--size", "4-2-4", "--epochs", "1"],
        ["--rule", "cdk", "--seeds", "0-2", "--size", "40-14-40", "--epochs", "1"], _sweep_estimate("cdk", "40-14-40", 3)),
    "cdk k = 1000, 300 updates": (
        "encoder_boltzmann_8_3_8", ["--rule", "cdk", "--seeds", "0", "--size", "4-2-4", "--epochs", "1"],
        ["--rule", "cdk", "--seeds", "0", "--k", "1000", "--updates", "300", "--epochs", "1"],
        _sweep_estimate("cdk", "8-3-8", 1, k=1000, updates=300)),
    "recirculation sweep 100 x 256-8-256": (
        "encoder_local_8_3_8", ["--rule", "recirculation", "--seeds", "0", "--size", "4-2-4", "--epochs", "1"],
        ["--rule", "recirculation", "--seeds", "0-99", "--size", "256-8-256", "--epochs", "2"],
        _sweep_estimate("recirculation", "256-8-256", 100)),
}


def measure_memory(case, cwd):
    """(estimate, measured) bytes of a case of MEMORY_CASES, run in a fresh process in folder cwd."""
    script, tiny, run, estimate = MEMORY_CASES[case]
    import json
    proc = subprocess.run([sys.executable, "-c", MEASURE, script, json.dumps(tiny), json.dumps(run)], cwd=cwd,
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": HERE}, timeout=600)
    if proc.returncode != 0:
        raise SystemExit(f"memory case {case} failed:\n{proc.stderr}")
    base, peak = (int(v) for v in proc.stdout.split("measured ")[-1].split())
    return estimate(), peak - base


def bench_memory(repeat):
    with tempfile.TemporaryDirectory() as tmp:
        for case in MEMORY_CASES:
            estimate, measured = measure_memory(case, tmp)
            report(f"memory: {case}, estimate / measured peak ({measured / 2 ** 20:,.0f} MiB)", estimate / measured,
                   "x", 1, "goal 0.75-1.25")


def main(argv=None):
    parser = cli.OneLineParser(prog="bench_encoder_backprop_8_3_8.py", description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=cli.arg_type(lambda v: check.check_int_in(v, "repeat", 1, 1000), int),
                        default=5, help="runs per measurement; the median is shown, 1 to 1000 (default 5)")
    parser.add_argument("--baseline", metavar="FOLDER", default=None,
                        help="a checkout of another version, for the baseline section (it runs only when named "
                             "in --only)")
    parser.add_argument("--only", default=",".join(s for s in SECTIONS if s != "baseline"),
                        help=f"comma-separated sections to run, from {', '.join(SECTIONS)} (default: all)")
    parser.add_argument("--sizes", type=cli.list_of(str, lambda v: str(cli.parse_size(v))),
                        default=list(AGREEMENT_SIZES),
                        help="encoder sizes of the optimizer_agreement section, comma-separated (default "
                             f"{','.join(AGREEMENT_SIZES)})")
    args = parser.parse_args(argv)
    sections = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}")
    if "baseline" in sections and not (args.baseline and os.path.isdir(args.baseline)):
        parser.error("the baseline section needs --baseline FOLDER, a checkout of the version to compare")
    print(f"python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} cores, "
          f"{platform.machine()}")
    print(f"{'benchmark':<64} {'median':>10} {'unit':<6} {'runs':>4}")
    for section in sections:
        if section == "baseline":
            bench_baseline(args.repeat, args.baseline)
        elif section == "optimizer_agreement":
            bench_optimizer_agreement(args.repeat, args.sizes)
        else:
            globals()[f"bench_{section}"](args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(cli.run_main(main))
