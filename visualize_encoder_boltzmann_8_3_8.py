#!/usr/bin/env python3
"""Figures of Boltzmann learning -> viz/boltzmann_curves.png and viz/boltzmann_weights.png.

    python3 visualize_encoder_boltzmann_8_3_8.py            # seed 0 of both rules, 8-3-8

The curves: distinct dominant codes, reconstruction accuracy and the size of the weights, learning cycle by
cycle (ahs85) and epoch by epoch (cdk). The weights: each hidden unit's weights drawn as the 1985 paper drew
them, one square per connection, its area the weight's size, white for positive and black for negative.
Training is boltzmann_learners.sweep_boltzmann; this script only plots.
"""
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import cli_support as cli  # noqa: E402
import boltzmann_learners as B  # noqa: E402
import encoder_backprop_8_3_8 as E  # noqa: E402
import validation as check  # noqa: E402
import visualize_encoder_backprop_8_3_8 as V  # noqa: E402
from training_loop import accuracy_of, check_run, count_distinct  # noqa: E402


def record(seed, rule, epochs, shape):
    """Train one network; returns its history (every k-th epoch and the last, at most E.MAX_HISTORY of them) and
    its final parameters."""
    history = {"epoch": [], "codes": [], "accuracy": [], "weight_norm": []}
    stride = -(-epochs // E.MAX_HISTORY)

    def observe(epoch, rows, batch):
        if epoch % stride and epoch != epochs:
            return
        history["epoch"].append(epoch)
        history["codes"].append(int(count_distinct(batch.codes())[0]))
        history["accuracy"].append(float(accuracy_of(batch.outputs[0])))
        history["weight_norm"].append(float(np.linalg.norm(batch.params[0])))
    run = B.sweep_boltzmann([seed], rule, epochs, size=shape, return_weights=True, observer=observe)[0]
    return history, np.array(run["params"]), run


def figure_curves(histories, shape, title):
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), dpi=V.DPI)
    colors = {"ahs85": "#d62728", "cdk": "#1f77b4"}
    for rule, (history, _, run) in histories.items():
        label = f"{rule} (epoch = {'learning cycle' if rule == 'ahs85' else '16 updates'})"
        for ax, key in zip(axes, ("codes", "accuracy", "weight_norm")):
            ax.plot(history["epoch"], history[key], color=colors[rule], lw=1, label=label)
            for restart in run["restart_epochs"]:
                ax.axvline(restart, color=colors[rule], ls=":", lw=0.8)
    for ax, name in zip(axes, ("distinct dominant codes", "reconstruction accuracy (exact readout)",
                               "weight size ||params||")):
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("epoch")
        ax.set_xscale("log")
        ax.grid(alpha=0.3)
    axes[0].set_ylim(0.5, shape.n_patterns + 0.5)
    axes[0].legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def hinton(ax, weights, scale):
    """Squares of area proportional to |w| (white positive, black negative) on a grey ground."""
    ax.set_facecolor("0.55")
    for (i, j), w in np.ndenumerate(weights):
        side = np.sqrt(min(abs(w) / scale, 1.0)) * 0.9
        ax.add_patch(plt.Rectangle((j - side / 2, i - side / 2), side, side, color="white" if w > 0 else "black"))
    ax.set_xlim(-0.5, weights.shape[1] - 0.5)
    ax.set_ylim(weights.shape[0] - 0.5, -0.5)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])


def figure_weights(params_by_rule, shape, title):
    """One row per rule, one panel per hidden unit: its weights from V1 (top row) and V2 (bottom row), and its
    bias (the square at the left)."""
    n, n_hidden = shape.n_patterns, shape.n_hidden
    fig, axes = plt.subplots(len(params_by_rule), n_hidden, figsize=(3.2 * n_hidden, 2.0 * len(params_by_rule)),
                             dpi=V.DPI, squeeze=False)
    for row, (rule, params) in zip(axes, params_by_rule.items()):
        if rule == "ahs85":
            layout = B.AHS85Layout(shape)
            W = params.reshape(layout.n_units, layout.n_units)
            blocks = [(W[layout.v1, hid], W[layout.v2, hid], W[layout.true_unit, hid]) for hid in layout.hid]
        else:
            W, _, c = B.rbm_unpack(params, shape)
            blocks = [(W[:n, j], W[n:, j], c[j]) for j in range(n_hidden)]
        scale = max(float(np.abs(np.concatenate([np.r_[a, b, bias] for a, b, bias in blocks])).max()), 1e-9)
        for j, (ax, (from_v1, from_v2, bias)) in enumerate(zip(row, blocks)):
            grid = np.zeros((2, n + 1))
            grid[0, 1:], grid[1, 1:], grid[0, 0] = from_v1, from_v2, bias
            hinton(ax, grid, scale)
            ax.set_title(f"{rule}: hidden unit {j + 1} (largest |w| {scale:.3g})", fontsize=9)
    fig.suptitle(title + "   (left square: bias; top row: from V1, bottom row: from V2)", fontsize=10)
    fig.tight_layout()
    return fig


def main(argv=None):
    parser = cli.OneLineParser(prog="visualize_encoder_boltzmann_8_3_8.py",
                               description="Train one network with each Boltzmann rule and write its figures.")
    parser.add_argument("--seed", type=cli.arg_type(check.check_seed, int), default=0, help="seed (default 0)")
    cli.add_size_arg(parser)
    parser.add_argument("--epochs", type=cli.arg_type(check.check_epochs, int), default=4000,
                        help="learning cycles (ahs85) and epochs (cdk) (default 4000)")
    parser.add_argument("--outdir", type=cli.arg_type(V.check_outdir), default="viz",
                        help="folder for the PNGs, created if missing (default viz)")
    cli.add_force_arg(parser)
    args = parser.parse_args(argv)
    names = ["boltzmann_curves.png", "boltzmann_weights.png"]
    cli.refuse_foreign_outputs(parser, [os.path.join(args.outdir, n) for n in names], args.force)
    rules = ("ahs85", "cdk")
    try:
        for rule in rules:                          # both refused, or both trained
            check_run(rule, [args.seed], None, {"epochs": args.epochs}, args.size)
    except ValueError as err:
        parser.error(str(err))
    histories = {rule: record(args.seed, rule, args.epochs, args.size) for rule in rules}
    title = f"{args.size} encoder, Boltzmann learning, seed {args.seed}"
    try:
        os.makedirs(args.outdir, exist_ok=True)
        V.save_figure(figure_curves(histories, args.size, title), os.path.join(args.outdir, names[0]))
        V.save_figure(figure_weights({r: h[1] for r, h in histories.items()}, args.size, title),
                      os.path.join(args.outdir, names[1]))
    except OSError as err:
        cli.output_failed(parser, err, f"cannot write figures: {err}")
    for rule, (_, _, run) in histories.items():
        print(f"{rule}: first solved at epoch {run['solve_epoch']}, solved at epoch {run['epochs']}: {run['solved']}, "
              f"{run['n_distinct_codes']}/{args.size.n_patterns} codes, {run['restarts']} restarts")
    print("wrote " + ", ".join(os.path.join(args.outdir, n) for n in names))
    return 0


if __name__ == "__main__":
    sys.exit(cli.run_main(main))
