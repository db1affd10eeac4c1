#!/usr/bin/env python3
"""Static figures of one training run -> viz/*.png.

    python3 visualize_encoder_backprop_8_3_8.py              # seed 0, the published settings, into viz/

Writes training_curves.png, weights.png, hidden_codes_3cube.png and code_table.png. Training is the engine's
`train`; this script only plots. The drawing helpers here (palette, cube projection, heatmaps) are shared
with make_encoder_backprop_8_3_8_gif.py.
"""
import argparse
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import encoder_backprop_8_3_8 as E  # noqa: E402

# One colour per pattern, used in every figure and in the GIF (tab10 without its grey and olive).
PATTERN_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
CORNERS = np.array([[a, b, c] for a in (0, 1) for b in (0, 1) for c in (0, 1)], dtype=float)  # index = 4a+2b+c
EDGES = [(i, j) for i in range(8) for j in range(i + 1, 8) if np.abs(CORNERS[i] - CORNERS[j]).sum() == 1]
DPI = 100


# ------------------------------------------------------------------------------------------ shared drawing
def project(points, azim=35.0, elev=22.0):
    """Orthographic view of points in the unit cube, (..., 3) -> (..., 2). azim turns about h3, elev tilts."""
    a, e = np.radians(azim), np.radians(elev)
    p = np.asarray(points) - 0.5
    u = np.cos(a) * p[..., 0] - np.sin(a) * p[..., 1]
    depth = np.sin(a) * p[..., 0] + np.cos(a) * p[..., 1]
    v = np.cos(e) * p[..., 2] + np.sin(e) * depth
    return np.stack([u, v], axis=-1)


class CubeView:
    """The unit cube {0,1}^3 with the 8 hidden codes as labelled points, drawn on a 2-D axes by projection,
    so a frame can be updated (codes, view angle) without rebuilding anything."""

    def __init__(self, ax, h, azim=35.0, elev=22.0, animated=False, fontsize=9):
        self.ax, self.azim, self.elev = ax, azim, elev
        ax.set_aspect("equal")
        ax.set_xlim(-0.95, 0.95)
        ax.set_ylim(-0.85, 0.92)
        ax.axis("off")
        kw = {"animated": animated}
        self.edges = [ax.plot([], [], color="0.6", lw=1, zorder=1, **kw)[0] for _ in EDGES]
        self.corner_labels = [ax.text(0, 0, "".join(str(int(b)) for b in c), color="0.45", fontsize=fontsize - 1,
                                      ha="center", va="center", zorder=2, **kw) for c in CORNERS]
        self.axis_labels = [ax.text(0, 0, name, color="0.3", fontsize=fontsize, style="italic", ha="center",
                                    va="center", **kw) for name in ("h1", "h2", "h3")]
        self.points = ax.scatter(np.zeros(8), np.zeros(8), s=70, c=PATTERN_COLORS, edgecolors="black",
                                 linewidths=0.6, zorder=3, **kw)
        self.point_labels = [ax.text(0, 0, str(i), color=PATTERN_COLORS[i], fontsize=fontsize, weight="bold",
                                     ha="left", va="bottom", zorder=4, **kw) for i in range(8)]
        self.update(h)

    def artists(self):
        return [*self.edges, *self.corner_labels, *self.axis_labels, self.points, *self.point_labels]

    def update(self, h, azim=None):
        """Move the codes to h (8, 3) and, optionally, turn the view to a new azimuth."""
        self.azim = self.azim if azim is None else azim
        corners = project(CORNERS, self.azim, self.elev)
        for line, (i, j) in zip(self.edges, EDGES):
            line.set_data(corners[[i, j], 0], corners[[i, j], 1])
        outward = project(0.5 + 1.28 * (CORNERS - 0.5), self.azim, self.elev)
        for text, xy in zip(self.corner_labels, outward):
            text.set_position(xy)
        for text, end in zip(self.axis_labels, np.eye(3)):
            text.set_position(project(0.5 * end - 0.12 * (1 - end), self.azim, self.elev))
        xy = project(h, self.azim, self.elev)
        self.points.set_offsets(xy)
        for text, p in zip(self.point_labels, xy):
            text.set_position(p + 0.03)


def heatmap(ax, values, cmap, vmin, vmax, animated=False):
    """imshow with one cell per entry and the matrix's own row/column ticks."""
    image = ax.imshow(values, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest", aspect="equal",
                      animated=animated)
    ax.set_xticks(range(values.shape[1]))
    ax.set_yticks(range(values.shape[0]))
    ax.tick_params(length=0, labelsize=8)
    return image


def color_pattern_ticks(ax, axis):
    """Colour the pattern-index tick labels of a heatmap with the pattern palette."""
    labels = ax.get_yticklabels() if axis == "y" else ax.get_xticklabels()
    for label, color in zip(labels, PATTERN_COLORS):
        label.set_color(color)
        label.set_fontweight("bold")


def shared_rows(h):
    """Boolean (8,): patterns whose binarised code is also some other pattern's code."""
    codes = E.corner_of(h)
    return (codes[:, None] == codes[None, :]).sum(1) > 1


# --------------------------------------------------------------------------------------------- the figures
CURVES = [("loss", "cross-entropy loss", True), ("acc", "reconstruction accuracy", False),
          ("n_distinct_codes", "distinct binarised codes", False), ("weight_norm", "||W1||_F + ||W2||_F", False),
          ("code_margin", "code margin  min |h - 0.5|", True), ("code_separation", "mean code separation", False)]


def figure_training_curves(history, solve_epoch, title):
    fig, axes = plt.subplots(2, 3, figsize=(12, 6.2), dpi=DPI, sharex=True)
    epochs = history["epoch"]
    for ax, (key, label, log) in zip(axes.flat, CURVES):
        ax.plot(epochs, history[key], color="#1f77b4", lw=1.3)
        if log:
            ax.set_yscale("log")
        ax.set_title(label, fontsize=10)
        ax.grid(alpha=0.3)
        if solve_epoch:
            ax.axvline(solve_epoch, color="#d62728", ls="--", lw=1)
    axes[0, 1].set_ylim(-0.02, 1.05)
    axes[0, 2].set_ylim(0.5, 8.5)
    axes[0, 2].set_yticks(range(1, 9))
    for ax in axes[1]:
        ax.set_xlabel("epoch")
    if solve_epoch:
        axes[0, 0].annotate(f"solved at epoch {solve_epoch}", xy=(solve_epoch, 1), xycoords=("data", "axes fraction"),
                            xytext=(-4, -12), textcoords="offset points", ha="right", color="#d62728", fontsize=9)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def figure_weights(model, title):
    fig = plt.figure(figsize=(10.5, 4.6), dpi=DPI)
    grid = fig.add_gridspec(2, 2, width_ratios=[3, 8], height_ratios=[8, 1.3], wspace=0.25, hspace=0.3,
                            left=0.08, right=0.95, top=0.86, bottom=0.08)
    blocks = [(model.W1, model.b1[None], 0, "W1 (input -> hidden)", "b1"),
              (model.W2, model.b2[None], 1, "W2 (hidden -> output)", "b2")]
    for W, b, col, name, bname in blocks:
        limit = float(np.abs(np.concatenate([W.ravel(), b.ravel()])).max()) or 1.0
        ax, bax = fig.add_subplot(grid[0, col]), fig.add_subplot(grid[1, col])
        image = heatmap(ax, W, "RdBu_r", -limit, limit)
        heatmap(bax, b, "RdBu_r", -limit, limit)
        ax.set_title(name, fontsize=10)
        bax.set_yticks([0], [bname])
        fig.colorbar(image, ax=[ax, bax], fraction=0.12 if col == 0 else 0.05, pad=0.04)
        hidden_axis = ax.set_xticks if col == 0 else ax.set_yticks
        hidden_axis(range(3), ["h1", "h2", "h3"])
        if col == 0:
            ax.set_ylabel("input pattern")
            bax.set_xticks(range(3), ["h1", "h2", "h3"])
            color_pattern_ticks(ax, "y")
        else:
            ax.set_xlabel("output unit")
            color_pattern_ticks(ax, "x")
            color_pattern_ticks(bax, "x")
    fig.suptitle(title)
    return fig


def figure_cube(h, title):
    fig, ax = plt.subplots(figsize=(5.6, 5.2), dpi=DPI)
    CubeView(ax, h, fontsize=10)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def figure_code_table(h, title):
    h = np.asarray(h)
    bits = (h > 0.5).astype(int)
    shared = shared_rows(h)
    fig, (left, right) = plt.subplots(1, 2, figsize=(7.2, 5.4), dpi=DPI, gridspec_kw={"width_ratios": [3, 3]})
    image = heatmap(left, h, "viridis", 0, 1)
    for (i, j), v in np.ndenumerate(h):
        left.text(j, i, f"{v:.3f}", ha="center", va="center", fontsize=8, color="white" if v < 0.6 else "black")
    left.set_title("raw hidden activations h", fontsize=10)
    fig.colorbar(image, ax=left, fraction=0.08)
    heatmap(right, bits, "Greys", -0.4, 1.4)
    for (i, j), v in np.ndenumerate(bits):
        right.text(j, i, str(v), ha="center", va="center", fontsize=10, color="white" if v else "black")
    right.set_title("binarised code (h > 0.5)", fontsize=10)
    for ax in (left, right):
        ax.set_xticks(range(3), ["h1", "h2", "h3"])
        ax.set_yticks(range(8), [f"pattern {i}" for i in range(8)])
        color_pattern_ticks(ax, "y")
    for i in np.flatnonzero(shared):
        right.add_patch(plt.Rectangle((-0.5, i - 0.5), 3, 1, fill=False, edgecolor="#d62728", lw=2.5))
        right.text(2.6, i, "shared", color="#d62728", va="center", fontsize=9, weight="bold")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------------- CLI
def check_outdir(path):
    """An existing folder, or a path where one can be made; a file there is an error."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise ValueError(f"--outdir {path} exists and is not a directory")
    parent = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent) or not os.access(parent if not os.path.isdir(path) else path, os.W_OK):
        raise ValueError(f"--outdir {path} cannot be written")
    return path


def save_figure(fig, path):
    """PNG through a temporary file and os.replace, so a failure never leaves half an image."""
    E.write_atomic(path, lambda f: fig.savefig(f, format="png", dpi=DPI), mode="wb")
    plt.close(fig)


def run_title(seed, history, model):
    n_codes = E.n_distinct_codes(model)
    return f"seed {seed}: epoch {history['epoch'][-1]}, accuracy {E.accuracy(model):.0%}, {n_codes}/8 distinct codes"


def main(argv=None):
    parser = E.OneLineParser(prog="visualize_encoder_backprop_8_3_8.py",
                             description="Train one network and write its four figures as PNGs.")
    parser.add_argument("--seed", type=E.arg_type(E.check_seed, int), default=0, help="seed (default 0)")
    E.add_hyperparameter_args(parser)
    parser.add_argument("--outdir", type=E.arg_type(check_outdir), default="viz",
                        help="folder for the PNGs, created if missing (default viz)")
    args = parser.parse_args(argv)

    model, history = E.train(args.epochs, args.lr, args.momentum, args.init_scale, args.seed, verbose=False)
    summary = E.run_summary(model, history)
    solve_epoch = summary["epochs"] if summary["solved"] else None
    h = np.asarray(summary["hidden_codes"])
    title = run_title(args.seed, history, model)
    try:
        os.makedirs(args.outdir, exist_ok=True)
        figures = {"training_curves.png": figure_training_curves(history, solve_epoch, title),
                   "weights.png": figure_weights(model, title),
                   "hidden_codes_3cube.png": figure_cube(h, f"{summary['n_distinct_codes']}/8 distinct binarised "
                                                           f"codes (seed {args.seed}, epoch {summary['epochs']})"),
                   "code_table.png": figure_code_table(h, title)}
        for name, fig in figures.items():
            save_figure(fig, os.path.join(args.outdir, name))
    except OSError as err:
        parser.error(f"cannot write figures: {err}")
    print(f"{title}; code margin {summary['code_margin']:.3g}")
    print("wrote " + ", ".join(os.path.join(args.outdir, n) for n in figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
