#!/usr/bin/env python3
"""Research studies of the 8-3-8 encoder, each one batched sweep (or a few) on the engine.

    python3 study_encoder_backprop_8_3_8.py failures     # where the 7-of-8 local minimum lives
    python3 study_encoder_backprop_8_3_8.py margin       # how robust a "solve" is
    python3 study_encoder_backprop_8_3_8.py restarts     # restart-on-plateau: solve rate and cost per patience
    python3 study_encoder_backprop_8_3_8.py plateau      # how long the base-rate plateau lasts, per learning rate
    python3 study_encoder_backprop_8_3_8.py predict      # can a failure be seen coming (held-out AUC)?
    python3 study_encoder_backprop_8_3_8.py biases       # is the 000 preference an artefact of zero biases?
    python3 study_encoder_backprop_8_3_8.py recipe1986   # squared error (1986) beside cross-entropy
    python3 study_encoder_backprop_8_3_8.py grid         # solve rate over learning rate x init scale
    python3 study_encoder_backprop_8_3_8.py compare      # backprop vs Boltzmann learning, failures paid for
    python3 study_encoder_backprop_8_3_8.py optimizers   # quickprop and Rprop over encoder sizes
    python3 study_encoder_backprop_8_3_8.py all          # every study with its defaults, timed
    python3 study_encoder_backprop_8_3_8.py grid --redraw  # the report and figure again from results/grid.json

Each study prints a summary, writes viz/study_<name>.png and results/<name>.json ({"config", "summary"
with n = networks trained, and the study's own keys}). --seeds and --epochs shrink any study to seconds.
The studies live in studies/ (one module each: run, report, figure); this script parses, checks and writes.
"""
import json
import os
import sys
import time

import atomic_files
import cli_support as cli
import settings as declared
import validation as check
from backprop_learner import BackpropSettings
from dask_cluster import ClusterError
from studies import STUDIES
from studies.common import StudyConfig, default_options
from training_loop import DEFAULT_SHAPE


def build_parser():
    parser = cli.OneLineParser(prog="study_encoder_backprop_8_3_8.py", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="study", required=True, metavar="STUDY", parser_class=cli.OneLineParser)
    every = {name: (m.SEEDS, m.EPOCHS, m.DESCRIPTION, m.OPTIONS, m.ONLY_8_3_8) for name, m in STUDIES.items()}
    every["all"] = (None, None, "every study above with its own defaults, timed", {}, None)
    for name, (seeds, epochs, description, options, only) in every.items():
        p = sub.add_parser(name, help=description, description=description)
        p.add_argument("--seeds", type=cli.arg_type(cli.parse_seeds), default=None,
                       help=f"seed spec such as 0-99 or 0,3,7 (default {seeds or 'each study’s own'})")
        p.add_argument("--epochs", type=cli.arg_type(check.check_epochs, int), default=None,
                       help=getattr(STUDIES.get(name), "EPOCHS_HELP", "epoch cap, or total budget with restarts")
                       + f" (default {epochs or 'each study’s own'})")
        only = f"; {name} is for 8-3-8 only: {only}" if only else \
            ("; all skips the 8-3-8-only studies at other sizes" if name == "all" else "")
        p.add_argument("--size", type=cli.arg_type(cli.parse_size), default=DEFAULT_SHAPE,
                       help=f"encoder size N-H-N (default 8-3-8){only}")
        cli.add_parallel_args(p, workers_default=min(os.cpu_count() or 1, check.MAX_WORKERS))
        declared.add_arguments(p, BackpropSettings, cli.arg_type, title="backprop engine",
                               skip=[f.name for f in declared.fields(BackpropSettings) if f.name != "engine"],
                               defaults={"engine": StudyConfig.engine})
        p.add_argument("--results", default="results", help="folder for <study>.json (default results)")
        p.add_argument("--figures", default="viz", help="folder for study_<study>.png (default viz)")
        p.add_argument("--redraw", action="store_true",
                       help="train nothing: print the report and draw the figure again from the study's JSON")
        cli.add_force_arg(p)
        for option, (default, parse, text) in options.items():
            shown = ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in default) \
                if isinstance(default, list) else default
            p.add_argument("--" + option.replace("_", "-"), dest=option, type=parse, default=default,
                           help=f"{text} (default {shown})")
    return parser


def check_folder(parser, path):
    if not str(path).strip():
        parser.error("an output folder is empty")
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as err:
        parser.error(f"cannot create folder {path}: {err.strerror}")
    if not os.access(path, os.W_OK):
        parser.error(f"folder {path} is not writable")


def output_paths(name, args):
    return os.path.join(args.results, f"{name}.json"), os.path.join(args.figures, f"study_{name}.png")


def study_config(name, args):
    """The StudyConfig of one study: the command line's values, or (under `all`) the study's own defaults."""
    module = STUDIES[name]
    options = {option: getattr(args, option) for option in module.OPTIONS} if args.study == name \
        else default_options(module)
    return StudyConfig(args.seeds if args.seeds is not None else cli.parse_seeds(module.SEEDS),
                       args.epochs if args.epochs is not None else module.EPOCHS, args.size, options,
                       args.workers, args.executor, args.chunk_size, getattr(args, "engine", StudyConfig.engine))


def draw(name, result, png_path):
    """Print the study's report and write its figure, from its result as plain JSON."""
    import plotting
    module = STUDIES[name]
    lines, fig = module.report(result), module.figure(result)
    plotting.save_figure(fig, png_path)
    print("\n".join(lines))


def run_study(name, args):
    start = time.perf_counter()
    result = STUDIES[name].run(study_config(name, args))
    seconds = time.perf_counter() - start
    result["summary"]["seconds"] = seconds
    json_path, png_path = output_paths(name, args)
    atomic_files.write_json(json_path, result)
    draw(name, json.loads(json.dumps(atomic_files.json_safe(result))), png_path)   # exactly what --redraw reads
    print(f"  wrote {json_path} and {png_path} ({seconds:.1f} s)", flush=True)


def redraw_study(parser, name, args):
    json_path, png_path = output_paths(name, args)
    start = time.perf_counter()
    try:
        with open(json_path) as f:
            result = json.load(f)
    except FileNotFoundError:
        parser.error(f"cannot redraw {name}: {json_path} does not exist (run the study first)")
    except (OSError, ValueError) as err:
        parser.error(f"cannot redraw {name}: {json_path} is not readable JSON ({err})")
    if not isinstance(result, dict) or not isinstance(result.get("config"), dict) \
            or result["config"].get("study") != name:
        parser.error(f"cannot redraw {name}: {json_path} is not the result of study {name}")
    try:
        draw(name, result, png_path)
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as err:
        parser.error(f"cannot redraw {name}: {json_path} lacks what its report or figure needs "
                     f"({type(err).__name__}: {err})")
    print(f"  wrote {png_path} from {json_path} ({time.perf_counter() - start:.1f} s)", flush=True)


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    names = list(STUDIES) if args.study == "all" else [args.study]
    args.executor = None
    if args.size != DEFAULT_SHAPE and not args.redraw:
        module = STUDIES.get(args.study)
        if module is not None and module.ONLY_8_3_8:
            parser.error(f"study {args.study} is for the 8-3-8 encoder only ({module.ONLY_8_3_8}), not {args.size}")
        if module is not None and getattr(module, "SIZE_SPANNING", None):
            parser.error(f"study {args.study} takes no --size: {module.SIZE_SPANNING}")
        skipped = [n for n in names if STUDIES[n].ONLY_8_3_8 or getattr(STUDIES[n], "SIZE_SPANNING", None)]
        names = [n for n in names if n not in skipped]
        if skipped:
            print(f"skipping {', '.join(skipped)}: not run at a single other size")
    for name in names if not args.redraw else ():
        refuse = getattr(STUDIES[name], "refuse", None)
        if refuse is not None and (message := refuse(study_config(name, args))):
            parser.error(message)
    writes = [output_paths(n, args) for n in names]
    outputs = [png for _, png in writes] if args.redraw else [path for pair in writes for path in pair]
    cli.refuse_foreign_outputs(parser, outputs, args.force)
    for folder in (args.figures,) if args.redraw else (args.results, args.figures):
        check_folder(parser, folder)
    start = time.perf_counter()
    args.executor = None if args.redraw else cli.executor_from(parser, args)
    try:
        for name in names:
            redraw_study(parser, name, args) if args.redraw else run_study(name, args)
    except OSError as err:
        cli.output_failed(parser, err, f"cannot write results: {err}")
    except ClusterError as err:
        cli.cluster_failed(parser, err)
    except ValueError as err:                       # e.g. held-out seeds that overlap the seeds a choice is made on
        parser.error(str(err))
    finally:
        if args.executor is not None:
            args.executor.close()
    if args.study == "all":
        print(f"all studies: {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(cli.run_main(main))
