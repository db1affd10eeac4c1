"""The command line of every learner, derived from the registry: `encoder_backprop_8_3_8.py`,
`encoder_boltzmann_8_3_8.py` (and any new learner's CLI) are each one call of `main` with their rules.

The flags come from the declarations: the loop's (training_loop.LoopSettings, with the first rule's own
defaults), then every setting of every rule's Settings class (a flag of another rule than --rule is refused).
One network (--seed) or a sweep (--seeds) goes through training_loop.sweep; a per-seed table, the summary with
its intervals, and --json with the full settings every network ran with.
"""
import types

import atomic_files
import cli_support as cli
import settings as declared
import validation as check
from dask_cluster import ClusterError
from interval_stats import summarize_runs
from learners import get
from training_loop import LoopSettings, check_run, sweep


def build_parser(prog, description, rules):
    p = cli.OneLineParser(prog=prog, description=description)
    if len(rules) > 1:
        p.add_argument("--rule", type=cli.arg_type(lambda v: check.check_choice(v, rules, "rule")),
                       default=rules[0], help="; ".join(f"{r}: {get(r).title}" for r in rules)
                                               + f" (default {rules[0]})")
    p.add_argument("--seed", type=cli.arg_type(check.check_seed, int), default=None,
                   help="seed of a single run, a non-negative integer (default 0)")
    cli.add_seeds_arg(p, text="train many seeds together (prints a table and a summary)")
    cli.add_size_arg(p)
    declared.add_arguments(p, LoopSettings, cli.arg_type, defaults=get(rules[0]).loop_defaults)
    seen = {f.name for f in declared.fields(LoopSettings)}
    for rule in rules:
        cls = get(rule).settings
        declared.add_arguments(p, cls, cli.arg_type, skip=seen)
        seen |= {f.name for f in declared.fields(cls)}
    cli.add_parallel_args(p)
    cli.add_json_args(p)
    return p


def given(args, cls):
    """The fields of `cls` the user typed (flags not given are absent from the namespace)."""
    names = {f.name for f in declared.fields(cls)}
    return {k: v for k, v in vars(args).items() if k in names}


def resolve(parser, args, rules):
    """(spec, settings, loop, seeds) from the parsed flags, every check run before any work: exit 2 otherwise."""
    rule = getattr(args, "rule", rules[0])
    spec = get(rule)
    if args.seed is not None and args.seeds is not None:
        parser.error("use either --seed (one run) or --seeds (a sweep), not both")
    others = {name for r in rules if r != rule for name in given(args, get(r).settings)} - \
        {f.name for f in declared.fields(spec.settings)}
    if others:
        parser.error(f"{', '.join(declared.flag_of(n) for n in sorted(others))} is not a setting of {rule}")
    seeds = args.seeds if args.seeds is not None else [0 if args.seed is None else args.seed]
    try:
        run = check_run(rule, seeds, given(args, spec.settings), given(args, LoopSettings), args.size)
    except ValueError as err:
        parser.error(str(err))
    return spec, run.settings, run.loop, run.seeds, run.learner


def describe(settings, loop):
    shown = {**settings.config(), **{k: v for k, v in loop.config().items() if k != "restarts"}}
    return ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in shown.items() if v is not None)


def print_table(runs, n):
    print(f" seed  solved  first solve  first {n - 1} codes  first {n} codes  epochs  codes  accuracy    margin"
          f"  restarts")
    for r in runs:
        show = [str(r[k] or "-") for k in ("solve_epoch", "first_epoch_n_minus_1_codes", "first_epoch_n_codes")]
        print(f"{r['seed']:5d}  {'yes' if r['solved'] else 'no':>6}  {show[0]:>11}  {show[1]:>13}  {show[2]:>13}  "
              f"{r['epochs']:6d}  {str(r['n_distinct_codes']) + '/' + str(n):>5}  {r['accuracy']:8.1%}  "
              f"{r['code_margin']:8.3g}  {r['restarts']:8d}")


def print_summary(summary, n):
    low, high = summary["wilson_95"]
    print(f"solved {summary['solved_ever']}/{summary['n']} ({summary['solve_rate']:.1%}; 95% Wilson interval "
          f"{low:.1%}-{high:.1%}); solved at the last epoch: {summary['solved_at_last_epoch']}")
    if summary["solved_ever"]:
        ci, mci = summary["median_epochs_ci_95"], summary["mean_epochs_ci_95"]
        print(f"first solve: median epoch {summary['median_epochs']:g} (95% bootstrap CI {ci[0]:g}-{ci[1]:g}), "
              f"mean {summary['mean_epochs']:.2f} ({mci[0]:.2f}-{mci[1]:.2f}), min {summary['min_epochs']}, "
              f"max {summary['max_epochs']}; all epochs spent per solved network "
              f"{summary['epochs_per_solved_network']:.1f}")
    for key, label in (("median_first_n_minus_1_codes", f"{n - 1} codes"), ("median_first_n_codes", f"{n} codes")):
        m = summary[key]
        if m:
            print(f"median epochs to {label}: {m['median']:g} (95% bootstrap CI {m['ci_95'][0]:g}-"
                  f"{m['ci_95'][1]:g}, n = {m['n']})")
    if summary["restarts"]:
        print(f"restarts: {summary['restarts']} in all; {summary['never_restarted']} networks needed none")
    if "completion" in summary:
        c = summary["completion"]
        print(f"completion accuracy: mean {c['mean']:.2%} (95% bootstrap CI {c['ci_95'][0]:.2%}-{c['ci_95'][1]:.2%}"
              f", n = {c['n']} networks), min {c['min']:.2%}, max {c['max']:.2%}")
    if summary["unsolved_states"]:
        print("unsolved runs end at: " + ", ".join(f"{k} ({v})" for k, v in summary["unsolved_states"].items()))


def main(argv, prog, rules, description, single_run=None, notes=None, check_single_run=None):
    """A learner's CLI. single_run(run) handles --seed itself when given (backprop: a per-epoch history and the
    code table), check_single_run(shape, settings, loop) its own checks (its memory); notes(rule, size) returns
    published figures to print under the summary."""
    parser = build_parser(prog, description, rules)
    args = parser.parse_args(argv)
    spec, settings, loop, seeds, learner = resolve(parser, args, rules)
    cli.refuse_foreign_outputs(parser, [args.json], args.force)
    sweeping = args.seeds is not None
    if not sweeping and check_single_run is not None:
        try:
            check_single_run(args.size, settings, loop)
        except ValueError as err:
            parser.error(str(err))
    config = {"learner": spec.name, "size": str(args.size), **({"seeds": seeds} if sweeping else {"seed": seeds[0]}),
              "settings": settings.config(), "loop": loop.config(), "min_stop_epoch": learner.min_stop_epoch,
              "update": spec.update_unit, "updates_per_epoch": spec.updates_per_epoch(args.size, settings)}
    what = f"{len(seeds)} seeds" if sweeping else f"seed {seeds[0]}"
    here = not sweeping and single_run is not None
    executor = None if here else cli.executor_from(parser, args)
    print(f"{args.size} encoder, {spec.name}: {what}; {describe(settings, loop)}")
    try:
        if here:
            run = types.SimpleNamespace(settings=settings, loop=loop, seeds=seeds, size=args.size)
            output = {**single_run(run), "config": config}
        else:
            output = {"config": config, **run_sweep(args, spec, settings, loop, seeds, executor)}
        if notes is not None and notes(spec.name, str(args.size)):
            print(notes(spec.name, str(args.size)))
        if args.json:
            atomic_files.write_json(args.json, output)
    except OSError as err:
        cli.output_failed(parser, err, f"cannot write output: {err}")
    except ClusterError as err:
        cli.cluster_failed(parser, err)
    finally:
        if executor is not None:
            executor.close()
    return 0


def run_sweep(args, spec, settings, loop, seeds, executor):
    progress = cli.Progress(len(seeds))
    try:
        result = sweep(spec.name, seeds, settings, loop, size=args.size, progress=progress.epoch_hook(),
                       workers=args.workers, executor=executor, chunk_size=args.chunk_size)
    finally:
        progress.close()
    runs = result.records()
    print_table(runs, args.size.n_patterns)
    summary = summarize_runs(runs)
    print_summary(summary, args.size.n_patterns)
    return {"summary": summary, "runs": runs}
