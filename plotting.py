"""What the studies' figures share: matplotlib with the Agg backend (set here, so only figure code pulls it in),
the project's figure style and saving, Wilson error bars and a legend that tolerates empty panels."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402,F401  (the studies' figure code draws with plotting.plt)
import numpy as np  # noqa: E402

from visualize_encoder_backprop_8_3_8 import DPI, color_pattern_ticks, save_figure  # noqa: E402,F401


def wilson_bars(rates):
    """Error bars (2, n) for a list of `rate` dicts: distances down and up to the Wilson interval's ends (none
    for a rate of nothing, n = 0)."""
    values = np.array([r["rate"] or 0.0 for r in rates])
    bounds = np.array([r["wilson_95"] if r["n"] else [v, v] for r, v in zip(rates, values)]).reshape(-1, 2)
    return np.maximum(0.0, np.stack([values - bounds[:, 0], bounds[:, 1] - values]))


def legend(ax, **kwargs):
    """ax.legend, unless nothing on the panel has a label (a tiny run may have nothing to show)."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(**kwargs)
