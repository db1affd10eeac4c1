#!/usr/bin/env python3
"""The training animation -> encoder_backprop_8_3_8.gif.

    python3 make_encoder_backprop_8_3_8_gif.py         # seed 0: 91 snapshots ending on the solved epoch 3631

One frame every --snapshot-every epochs and one at the final epoch (the early-stop epoch when the network
solves), so the animation ends on the solved state; the final state is then held for --hold-final frames
while the cube turns once, so every corner can be seen. Each frame shows W1 and W2, the hidden codes in the
3-cube and the curves up to the current epoch. Training is the engine's `train` with its snapshot callback.

Rendering: the figure is built once; per frame only the changing artists are redrawn over a cached
background (blitting), the frame is mapped onto one fixed 256-colour palette, and imageio writes the GIF.
"""
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import imageio.v3 as iio  # noqa: E402
from PIL import Image  # noqa: E402  (Pillow comes with matplotlib and is imageio's GIF writer)

import atomic_files  # noqa: E402
import cli_support as cli  # noqa: E402
import encoder_backprop_8_3_8 as E  # noqa: E402
import validation as check  # noqa: E402
import visualize_encoder_backprop_8_3_8 as V  # noqa: E402
from training_loop import check_memory, corner_of, is_solved  # noqa: E402

FIGSIZE, DPI = (9.6, 5.0), 75          # 720 x 375 pixels
MAX_FPS = 50                            # GIF delays are in 1/100 s; viewers slow down anything faster
MIN_FPS = 0.1                           # a GIF frame delay is a 16-bit count of 1/100 s: at most 655 s
MAX_FRAMES = 2000                       # rendering takes ~20 ms a frame
FRAME_BYTES = 270_000                   # a rendered frame, which the GIF writer holds until it writes the file


def check_fps(fps):
    return check.check_real_in(fps, "fps", MIN_FPS, MAX_FPS, low_open=False)


def check_hold(hold):
    if not check.is_int(hold) or hold < 0:
        raise ValueError(f"hold-final must be an integer >= 0, got {hold!r}")
    return int(hold)


def check_gif_path(path):
    if not str(path).lower().endswith(".gif"):
        raise ValueError(f"--out must name a .gif file, got {path!r}")
    return cli.check_output_path(path)


def gif_bytes(args):
    """The memory bound's figure: the training run, each snapshot's parameters (kept, then stacked) and activations
    with their sigmoid's temporaries, and every frame."""
    settings, loop = E.settings_of(args.epochs, lr=args.lr, momentum=args.momentum, init_scale=args.init_scale)
    n, h, p = args.size.n_patterns, args.size.n_hidden, args.size.n_params
    snapshots = args.epochs // args.snapshot_every + 1
    frames = snapshots + args.hold_final
    return E.train_bytes(args.size, settings, loop) + snapshots * 8 * (2 * p + n * h + 4 * n * n) + \
        frames * FRAME_BYTES


def collect_snapshots(args):
    """Train once; returns [(epoch, params (P,))] at every snapshot and at the last epoch, and the history."""
    snapshots = []
    _, history = E.train(args.epochs, args.lr, args.momentum, args.init_scale, args.seed,
                         snapshot_callback=lambda epoch, model, hist: snapshots.append((epoch, model.params.copy())),
                         snapshot_every=args.snapshot_every, verbose=False, size=args.size)
    return snapshots, history


class Animation:
    """The frame: weights, cube and curves, built once; `render(i)` redraws the changing artists only."""

    CURVES = [("loss", "loss", True), ("n_distinct_codes", "distinct codes", False),
              ("code_margin", "code margin", True)]

    def __init__(self, snapshots, history, seed, shape):
        self.snapshots, self.history, self.seed, self.shape = snapshots, history, seed, shape
        stack = np.array([p for _, p in snapshots])
        self.W1s, self.b1s, self.W2s, self.b2s = E.unpack(stack, shape)
        self.hs, _, self.ys = E.forward(self.W1s, self.b1s, self.W2s, self.b2s)
        self.acc, self.codes = E.accuracy_of(self.ys), E.distinct_codes_of(self.hs)
        self.solved = is_solved(corner_of(self.hs), self.ys, self.hs)
        n, names = shape.n_patterns, V.hidden_names(shape.n_hidden)
        epochs = np.array(history["epoch"])

        self.fig = fig = plt.figure(figsize=FIGSIZE, dpi=DPI)
        grid = fig.add_gridspec(3, 3, width_ratios=[1.0, 2.1, 1.6], height_ratios=[1, 1, 1], left=0.05,
                                right=0.985, top=0.88, bottom=0.08, wspace=0.28, hspace=0.55)
        lim1 = float(np.abs(self.W1s).max()) or 1.0
        lim2 = float(np.abs(self.W2s).max()) or 1.0
        ax_w1 = fig.add_subplot(grid[0:2, 0])
        self.image_w1 = V.heatmap(ax_w1, self.W1s[0], "RdBu_r", -lim1, lim1, animated=True)
        V.thin_ticks(ax_w1, "x", shape.n_hidden, names)
        V.thin_ticks(ax_w1, "y", n)
        ax_w1.set_title("W1", fontsize=9)
        V.color_pattern_ticks(ax_w1, "y")
        ax_w2 = fig.add_subplot(grid[2, 0:2])
        self.image_w2 = V.heatmap(ax_w2, self.W2s[0], "RdBu_r", -lim2, lim2, animated=True)
        V.thin_ticks(ax_w2, "y", shape.n_hidden, names)
        V.thin_ticks(ax_w2, "x", n)
        ax_w2.set_title("W2", fontsize=9)
        V.color_pattern_ticks(ax_w2, "x")
        self.cube = V.CubeView(fig.add_subplot(grid[0:2, 1]), self.hs[0], animated=True, fontsize=8)

        self.lines, self.markers = [], []
        for row, (key, label, log) in enumerate(self.CURVES):
            ax = fig.add_subplot(grid[row, 2])
            values = np.array(history[key], dtype=float)
            ax.set_xlim(0, epochs[-1] * 1.02)
            if log:
                ax.set_yscale("log")
                positive = values[values > 0]
                ax.set_ylim(positive.min() * 0.7, positive.max() * 1.4)
            else:
                ax.set_ylim(0.5, n + 0.5)
                ax.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True, nbins=4))
            ax.set_title(label, fontsize=9)
            ax.tick_params(labelsize=7)
            ax.grid(alpha=0.3)
            self.lines.append((ax.plot([], [], color="#1f77b4", lw=1.2, animated=True)[0], values))
            self.markers.append(ax.axvline(0, color="#d62728", lw=0.9, animated=True))
        self.epochs = epochs
        self.title = fig.text(0.5, 0.955, "", ha="center", va="center", fontsize=11, animated=True)

        fig.canvas.draw()
        self.background = fig.canvas.copy_from_bbox(fig.bbox)

    def n_frames(self, hold):
        return len(self.snapshots) + hold

    def render(self, frame, hold):
        """RGB image (H, W, 3) of frame `frame`; frames past the last snapshot hold it, turning the cube."""
        i = min(frame, len(self.snapshots) - 1)
        epoch = self.snapshots[i][0]
        turn = frame - i                                        # 0 for snapshots, 1..hold while holding
        self.image_w1.set_data(self.W1s[i])
        self.image_w2.set_data(self.W2s[i])
        self.cube.update(self.hs[i], azim=35.0 + 360.0 * turn / (hold + 1))
        upto = np.searchsorted(self.epochs, epoch, side="right")
        for (line, values), marker in zip(self.lines, self.markers):
            line.set_data(self.epochs[:upto], values[:upto])
            marker.set_xdata([epoch, epoch])
        state = "solved" if self.solved[i] else "not solved"
        held = "  (final state)" if turn else ""
        self.title.set_text(f"{self.shape} seed {self.seed}   epoch {epoch}   accuracy {self.acc[i]:.0%}   "
                            f"{self.codes[i]}/{self.shape.n_patterns} distinct codes   {state}{held}")
        canvas = self.fig.canvas
        canvas.restore_region(self.background)
        for artist in [self.image_w1, self.image_w2, *self.cube.artists(), *(l for l, _ in self.lines),
                       *self.markers, self.title]:
            self.fig.draw_artist(artist)
        return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def palette_for(frames, n_patterns=8):
    """One 256-colour palette (a P-mode PIL image) for every frame, so colours do not flicker and unchanged
    pixels stay identical between frames (small GIF deltas). It reserves the pattern colours, the weight
    colormap and a grey ramp (all of which a fitted palette would merge, being few pixels), and fits the rest
    to sample frames by median cut."""
    reserved = [matplotlib.colors.to_rgb(c) for c in V.pattern_colors(min(n_patterns, 64)) + ["#d62728"]]
    reserved += [plt.get_cmap("RdBu_r")(x)[:3] for x in np.linspace(0, 1, 48)]
    reserved += [(g, g, g) for g in np.linspace(0, 1, 40)]
    reserved = np.round(np.array(reserved) * 255).astype(np.uint8)
    fitted = Image.fromarray(np.concatenate(frames, axis=0)).quantize(256 - len(reserved),
                                                                       method=Image.Quantize.MEDIANCUT)
    colors = np.concatenate([reserved.ravel(), np.array(fitted.getpalette("RGB")[:3 * (256 - len(reserved))],
                                                        dtype=np.uint8)])
    palette = Image.new("P", (1, 1))
    palette.putpalette(colors.tolist())
    return palette


def to_indices(rgb, palette):
    """RGB frame -> (H, W) palette indices, nearest colour, no dithering (dithering would add noise)."""
    return np.asarray(Image.fromarray(rgb).quantize(palette=palette, dither=Image.Dither.NONE))


def write_gif(path, animation, hold, fps):
    """Render every frame and write the GIF through a temporary file in the target folder."""
    last = animation.n_frames(0) - 1
    palette = palette_for([animation.render(0, hold), animation.render(last, hold)], animation.shape.n_patterns)
    rgb_palette = bytes(palette.getpalette("RGB")[:768])

    def write(f):
        # Index frames are written as 8-bit images and given the palette at save time, so every frame of
        # the GIF shares one global colour table.
        with iio.imopen(f, "w", extension=".gif", plugin="pillow") as gif:
            for frame in range(animation.n_frames(hold)):
                gif.write(to_indices(animation.render(frame, hold), palette), mode="L", is_batch=False,
                          duration=round(1000 / fps), loop=0, palette=rgb_palette)

    atomic_files.write_atomic(path, write, mode="wb")


def build_parser():
    parser = cli.OneLineParser(prog="make_encoder_backprop_8_3_8_gif.py",
                               description="Train one network and animate it as a GIF that ends on the final epoch.")
    parser.add_argument("--seed", type=cli.arg_type(check.check_seed, int), default=0, help="seed (default 0)")
    cli.add_size_arg(parser)
    cli.add_hyperparameter_args(parser, epochs_default=4000)
    parser.add_argument("--snapshot-every", type=cli.arg_type(lambda v: check.check_epochs(v, "snapshot-every"), int),
                        default=40, help="epochs between frames, >= 1 (default 40); the final epoch is always a frame")
    parser.add_argument("--fps", type=cli.arg_type(check_fps, float), default=15,
                        help=f"frames per second, in [{MIN_FPS:g}, {MAX_FPS}] (default 15)")
    parser.add_argument("--hold-final", type=cli.arg_type(check_hold, int), default=20,
                        help="extra frames that hold the final state while the cube turns, >= 0 (default 20)")
    parser.add_argument("--out", type=cli.arg_type(check_gif_path), default="encoder_backprop_8_3_8.gif",
                        help="output .gif path; its folder must exist (default encoder_backprop_8_3_8.gif)")
    cli.add_force_arg(parser)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    cli.refuse_foreign_outputs(parser, [args.out], args.force)
    most = args.epochs // args.snapshot_every + 1 + args.hold_final
    if most > MAX_FRAMES:
        parser.error(f"the GIF could have {most:,} frames (~{most * FRAME_BYTES / 1e6:,.0f} MB held until it is "
                     f"written); at most {MAX_FRAMES}: raise --snapshot-every or lower --epochs or --hold-final")
    try:
        check_memory(gif_bytes(args), f"the GIF of a {args.size} network ({most:,} frames)")
    except ValueError as err:
        parser.error(str(err))
    snapshots, history = collect_snapshots(args)
    animation = Animation(snapshots, history, args.seed, args.size)
    try:
        write_gif(args.out, animation, args.hold_final, args.fps)
    except OSError as err:
        cli.output_failed(parser, err, f"cannot write {args.out}: {err}")
    n = animation.n_frames(args.hold_final)
    print(f"wrote {args.out}: {n} frames ({len(snapshots)} snapshots up to epoch {snapshots[-1][0]}, "
          f"{args.hold_final} held), {os.path.getsize(args.out) / 2 ** 20:.2f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(cli.run_main(main))
