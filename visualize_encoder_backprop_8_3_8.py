#!/usr/bin/env python3
"""Static figures of one training run -> viz/*.png.

    python3 visualize_encoder_backprop_8_3_8.py              # seed 0, the published settings, into viz/

Writes training_curves.png, weights.png, hidden_codes_3cube.png (for H = 3; hidden_codes_<H>cube_projection.png,
the 2-D projection of the H-cube, otherwise) and code_table.png. Training is the engine's
`train`; this script only plots. The drawing helpers here (palette, cube projection, heatmaps) are shared
with make_encoder_backprop_8_3_8_gif.py.
"""
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402

import atomic_files  # noqa: E402
import cli_support as cli  # noqa: E402
import encoder_backprop_8_3_8 as E  # noqa: E402
import validation as check  # noqa: E402

# One colour per pattern, used in every figure and in the GIF (tab10 without its grey and olive); encoders
# with more than 8 patterns take evenly spaced colours of a cyclic map instead.
PATTERN_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
DPI = 100
MAX_EDGES_H = 6          # above this many hidden units the hypercube's edges would hide the codes
MAX_CORNERS_H = 10       # above this the 2^H corners are not drawn (2^30 of them would need 256 GB)
MAX_FIGURE_INCHES = 30   # a figure's height: matplotlib refuses 2^16 pixels, and the rows become pixels anyway
MAX_MARKED_ROWS = 64     # rows of the code table that can each be marked "shared" legibly


def pattern_colors(n):
    """n colours, one per pattern: the fixed palette for n <= 8."""
    if n <= len(PATTERN_COLORS):
        return PATTERN_COLORS[:n]
    return [matplotlib.colors.to_hex(c) for c in plt.get_cmap("hsv")(np.arange(n) / n * 0.92)]


def hidden_names(n_hidden):
    return [f"h{j + 1}" for j in range(n_hidden)]


def corners_of(n_hidden):
    """All 2^H corners of {0,1}^H as rows, row c being corner index c (unit 1 = high bit)."""
    c = np.arange(2 ** n_hidden)
    return ((c[:, None] >> np.arange(n_hidden - 1, -1, -1)) & 1).astype(float)


def edges_of(corners):
    """Index pairs of corners at Hamming distance 1."""
    return [(i, i ^ (1 << b)) for i in range(len(corners)) for b in range(corners.shape[1]) if i < i ^ (1 << b)]


# ------------------------------------------------------------------------------------------ shared drawing
def project(points, azim=35.0, elev=22.0):
    """Orthographic view of points in the unit cube, (..., 3) -> (..., 2). azim turns about h3, elev tilts."""
    a, e = np.radians(azim), np.radians(elev)
    p = np.asarray(points) - 0.5
    u = np.cos(a) * p[..., 0] - np.sin(a) * p[..., 1]
    depth = np.sin(a) * p[..., 0] + np.cos(a) * p[..., 1]
    v = np.cos(e) * p[..., 2] + np.sin(e) * depth
    return np.stack([u, v], axis=-1)


def project_hypercube(points, turn=0.0):
    """2-D view of points in [0,1]^H, (..., H) -> (..., 2): unit j is drawn along the direction at angle
    180*j/H degrees (the hypercube's Petrie projection), the whole picture turned by `turn` degrees."""
    p = np.asarray(points) - 0.5
    angles = np.radians(turn) + np.pi * np.arange(p.shape[-1]) / p.shape[-1]
    return np.stack([p @ np.cos(angles), p @ np.sin(angles)], axis=-1)


def hypercube_reach(n_hidden):
    """The largest |coordinate| of the H-cube's projected corners, without building the 2^H of them: the corner
    whose signs follow each direction's cosine (or sine) reaches half the sum of their sizes."""
    angles = np.pi * np.arange(n_hidden) / n_hidden
    return 0.5 * max(np.abs(np.cos(angles)).sum(), np.abs(np.sin(angles)).sum())


class CubeView:
    """The code space {0,1}^H with the N hidden codes as labelled points, drawn on a 2-D axes by projection,
    so a frame can be updated (codes, view angle) without rebuilding anything. H = 3 is the 3-cube seen in
    perspective-free 3-D; any other H is the hypercube's 2-D Petrie projection."""

    def __init__(self, ax, h, azim=35.0, elev=22.0, animated=False, fontsize=9):
        h = np.asarray(h)
        self.ax, self.azim, self.elev = ax, azim, elev
        self.n_hidden = h.shape[-1]
        self.corners = corners_of(self.n_hidden) if self.n_hidden <= MAX_CORNERS_H else np.zeros((0, self.n_hidden))
        ax.set_aspect("equal")
        if self.n_hidden == 3:
            ax.set_xlim(-0.95, 0.95)
            ax.set_ylim(-0.85, 0.92)
        else:
            reach = hypercube_reach(self.n_hidden) * 1.25 + 0.1
            ax.set_xlim(-reach, reach)
            ax.set_ylim(-reach, reach)
        ax.axis("off")
        kw = {"animated": animated}
        edges = edges_of(self.corners) if self.n_hidden <= MAX_EDGES_H else []
        self.edge_pairs = np.array(edges, dtype=int).reshape(-1, 2)
        self.edges = LineCollection([], colors="0.6", linewidths=1, zorder=1, **kw)
        ax.add_collection(self.edges)
        labelled = self.n_hidden <= 4
        self.corner_labels = [ax.text(0, 0, "".join(str(int(b)) for b in c), color="0.45", fontsize=fontsize - 1,
                                      ha="center", va="center", zorder=2, **kw)
                              for c in (self.corners if labelled else [])]
        self.corner_dots = ax.scatter(*np.zeros((2, len(self.corners))), s=4, c="0.6", zorder=1, **kw)
        self.axis_labels = [ax.text(0, 0, name, color="0.3", fontsize=fontsize, style="italic", ha="center",
                                    va="center", **kw) for name in (hidden_names(3) if self.n_hidden == 3 else [])]
        colors = pattern_colors(len(h))
        self.points = ax.scatter(np.zeros(len(h)), np.zeros(len(h)), s=70 if len(h) <= 16 else 30, c=colors,
                                 edgecolors="black", linewidths=0.6, zorder=3, **kw)
        self.point_labels = [ax.text(0, 0, str(i), color=colors[i], fontsize=fontsize, weight="bold",
                                     ha="left", va="bottom", zorder=4, **kw) for i in range(len(h))]
        self.update(h)

    def artists(self):
        return [self.edges, self.corner_dots, *self.corner_labels, *self.axis_labels, self.points,
                *self.point_labels]

    def _project(self, points):
        if self.n_hidden == 3:
            return project(points, self.azim, self.elev)
        return project_hypercube(points, self.azim - 35.0)

    def update(self, h, azim=None):
        """Move the codes to h (N, H) and, optionally, turn the view to a new azimuth."""
        self.azim = self.azim if azim is None else azim
        corners = self._project(self.corners)
        self.edges.set_segments(corners[self.edge_pairs])
        self.corner_dots.set_offsets(corners)
        outward = self._project(0.5 + 1.28 * (self.corners - 0.5))
        for text, xy in zip(self.corner_labels, outward):
            text.set_position(xy)
        for text, end in zip(self.axis_labels, np.eye(3)):
            text.set_position(self._project(0.5 * end - 0.12 * (1 - end)))
        xy = self._project(h)
        self.points.set_offsets(xy)
        for text, p in zip(self.point_labels, xy):
            text.set_position(p + 0.03)


def heatmap(ax, values, cmap, vmin, vmax, animated=False):
    """imshow with one cell per entry and the matrix's own row/column ticks (every k-th of a large matrix: a tick
    per row of 3000 took 20 s to lay out)."""
    image = ax.imshow(values, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest", aspect="equal",
                      animated=animated)
    thin_ticks(ax, "x", values.shape[1])
    thin_ticks(ax, "y", values.shape[0])
    ax.tick_params(length=0, labelsize=8)
    return image


def color_pattern_ticks(ax, axis):
    """Colour the pattern-index tick labels of a heatmap with the pattern palette."""
    labels = ax.get_yticklabels() if axis == "y" else ax.get_xticklabels()
    for label, color in zip(labels, pattern_colors(len(labels))):
        label.set_color(color)
        label.set_fontweight("bold")


def thin_ticks(ax, axis, n, names=None, most=16):
    """Ticks for n rows or columns, every k-th labelled when n is large."""
    every = max(1, -(-n // most))
    where = range(0, n, every)
    labels = [names[i] if names else str(i) for i in where]
    (ax.set_yticks if axis == "y" else ax.set_xticks)(list(where), labels)


def shared_rows(h):
    """Boolean (N,): patterns whose binarised code is also some other pattern's code."""
    codes = E.corner_of(h)
    return (codes[:, None] == codes[None, :]).sum(1) > 1


# --------------------------------------------------------------------------------------------- the figures
CURVES = [("loss", "loss", True), ("acc", "reconstruction accuracy", False),
          ("n_distinct_codes", "distinct binarised codes", False), ("weight_norm", "||W1||_F + ||W2||_F", False),
          ("code_margin", "code margin  min |h - 0.5|", True), ("code_separation", "mean code separation", False)]


def figure_training_curves(history, solve_epoch, title, n_patterns=8):
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
    axes[0, 2].set_ylim(0.5, n_patterns + 0.5)
    axes[0, 2].yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True, nbins=9))
    for ax in axes[1]:
        ax.set_xlabel("epoch")
    if solve_epoch:
        axes[0, 0].annotate(f"solved at epoch {solve_epoch}", xy=(solve_epoch, 1), xycoords=("data", "axes fraction"),
                            xytext=(-4, -12), textcoords="offset points", ha="right", color="#d62728", fontsize=9)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def figure_weights(model, title):
    n, n_hidden = model.shape.n_patterns, model.shape.n_hidden
    fig = plt.figure(figsize=(10.5, 4.6 if n <= 8 else 6.5), dpi=DPI)
    grid = fig.add_gridspec(2, 2, width_ratios=[n_hidden, n], height_ratios=[n, max(1.3, n / 6)], wspace=0.25,
                            hspace=0.3, left=0.08, right=0.95, top=0.86, bottom=0.08)
    names = hidden_names(n_hidden)
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
        thin_ticks(ax, "x" if col == 0 else "y", n_hidden, names)
        if col == 0:
            ax.set_ylabel("input pattern")
            thin_ticks(ax, "y", n)
            thin_ticks(bax, "x", n_hidden, names)
            color_pattern_ticks(ax, "y")
        else:
            ax.set_xlabel("output unit")
            thin_ticks(ax, "x", n)
            thin_ticks(bax, "x", n)
            color_pattern_ticks(ax, "x")
            color_pattern_ticks(bax, "x")
    fig.suptitle(title)
    return fig


def figure_cube(h, title):
    """The hidden codes in the 3-cube (H = 3) or in the 2-D projection of the H-cube."""
    fig, ax = plt.subplots(figsize=(5.6, 5.2), dpi=DPI)
    CubeView(ax, h, fontsize=10)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def cube_figure_name(n_hidden):
    return "hidden_codes_3cube.png" if n_hidden == 3 else f"hidden_codes_{n_hidden}cube_projection.png"


def figure_code_table(h, title):
    h = np.asarray(h)
    n, n_hidden = h.shape
    bits = (h > 0.5).astype(int)
    shared = shared_rows(h)
    written = n <= 16 and n_hidden <= 8                     # numbers in the cells while they stay legible
    fig, (left, right) = plt.subplots(1, 2, figsize=(7.2 + 0.3 * max(0, n_hidden - 3),
                                                     min(MAX_FIGURE_INCHES, max(5.4, 0.3 * n + 1.5))), dpi=DPI)
    image = heatmap(left, h, "viridis", 0, 1)
    if written:
        for (i, j), v in np.ndenumerate(h):
            left.text(j, i, f"{v:.3f}", ha="center", va="center", fontsize=8, color="white" if v < 0.6 else "black")
    left.set_title("raw hidden activations h", fontsize=10)
    fig.colorbar(image, ax=left, fraction=0.08)
    heatmap(right, bits, "Greys", -0.4, 1.4)
    if written:
        for (i, j), v in np.ndenumerate(bits):
            right.text(j, i, str(v), ha="center", va="center", fontsize=10, color="white" if v else "black")
    right.set_title("binarised code (h > 0.5)", fontsize=10)
    for ax in (left, right):
        thin_ticks(ax, "x", n_hidden, hidden_names(n_hidden))
        thin_ticks(ax, "y", n, [f"pattern {i}" for i in range(n)], most=40)
        color_pattern_ticks(ax, "y")
    for i in np.flatnonzero(shared) if n <= MAX_MARKED_ROWS else ():
        right.add_patch(plt.Rectangle((-0.5, i - 0.5), n_hidden, 1, fill=False, edgecolor="#d62728", lw=2.5))
        right.text(n_hidden - 0.4, i, "shared", color="#d62728", va="center", fontsize=9, weight="bold")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------------- CLI
def check_outdir(path):
    """An existing folder, or a path where one can be made; a file there is an error."""
    if not str(path).strip():
        raise ValueError("--outdir is empty")
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
    atomic_files.write_atomic(path, lambda f: fig.savefig(f, format="png", dpi=DPI), mode="wb")
    plt.close(fig)


def run_title(seed, history, model):
    n_codes = E.n_distinct_codes(model)
    return (f"{model.shape} seed {seed}: epoch {history['epoch'][-1]}, accuracy {E.accuracy(model):.0%}, "
            f"{n_codes}/{model.shape.n_patterns} distinct codes")


def build_parser():
    parser = cli.OneLineParser(prog="visualize_encoder_backprop_8_3_8.py",
                               description="Train one network and write its four figures as PNGs.")
    parser.add_argument("--seed", type=cli.arg_type(check.check_seed, int), default=0, help="seed (default 0)")
    cli.add_size_arg(parser)
    cli.add_hyperparameter_args(parser)
    parser.add_argument("--outdir", type=cli.arg_type(check_outdir), default="viz",
                        help="folder for the PNGs, created if missing (default viz)")
    cli.add_force_arg(parser)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    names = ["training_curves.png", "weights.png", cube_figure_name(args.size.n_hidden), "code_table.png"]
    cli.refuse_foreign_outputs(parser, [os.path.join(args.outdir, n) for n in names], args.force)

    try:                                            # refused before any work: train checks its memory first
        model, history = E.train(args.epochs, args.lr, args.momentum, args.init_scale, args.seed, verbose=False,
                                 size=args.size)
    except ValueError as err:
        parser.error(str(err))
    summary = E.run_summary(model, history)
    solve_epoch = summary["epochs"] if summary["solved"] else None
    h = np.asarray(summary["hidden_codes"])
    title = run_title(args.seed, history, model)
    n = args.size.n_patterns
    try:
        os.makedirs(args.outdir, exist_ok=True)
        figures = dict(zip(names, (
            figure_training_curves(history, solve_epoch, title, n),
            figure_weights(model, title),
            figure_cube(h, f"{summary['n_distinct_codes']}/{n} distinct binarised codes "
                           f"({args.size} seed {args.seed}, epoch {summary['epochs']})"),
            figure_code_table(h, title))))
        for name, fig in figures.items():
            save_figure(fig, os.path.join(args.outdir, name))
    except OSError as err:
        cli.output_failed(parser, err, f"cannot write figures: {err}")
    print(f"{title}; code margin {summary['code_margin']:.3g}")
    print("wrote " + ", ".join(os.path.join(args.outdir, n) for n in figures))
    return 0


if __name__ == "__main__":
    sys.exit(cli.run_main(main))
