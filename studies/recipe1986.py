"""recipe1986: squared error (the 1986 recipe) beside cross-entropy over learning rates. Every network trains to
the cap (no early stop), so the solve rate and epochs come from the first solved epoch and the codes are compared
after the same training time; the one-collision (7-code) state is examined, and the networks caught in it are
continued under each loss (the causal test of the squared-error advantage)."""
import copy

import numpy as np

import cli_support as cli
import backprop_learner as BL
import encoder_backprop_8_3_8 as E
import training_loop as T
import validation as check
from interval_stats import auc_interval, bootstrap, fmt_median, fmt_rate, mcnemar_p, quantiles, rate
from studies.common import Sweeps, config_record, saturation

NAME = "recipe1986"
DESCRIPTION = "squared error (1986) vs cross-entropy over learning rates"
SEEDS, EPOCHS = "0-499", 5000
OPTIONS = {"lrs": ([0.25, 0.5, 1.0, 2.0, 4.0], cli.list_of(float, check.check_lr), "learning rates, both losses")}
ONLY_8_3_8 = "its one-collision analysis reads the 7- and 8-code states of the 3-cube"

SWAP_LR, SWAP_EPOCHS = 0.5, 3000      # the loss-swap test: at the published learning rate, 3000 epochs on
                                      # (or the study's --epochs, if fewer)


class PlateauEpochs(T.Recorder):
    """Per network, the epochs at which every output is within `tolerance` of 1/N."""
    name = "plateau_epochs"

    def __init__(self, tolerance=0.1):
        self.tolerance = tolerance

    def fresh(self, n):
        recording = copy.copy(self)
        recording.counts = np.zeros(n, dtype=int)
        return recording

    def observe(self, epoch, rows, batch):
        y = batch.outputs
        near = np.abs(y - 1 / y.shape[-1]).max(axis=(-2, -1)) < self.tolerance
        self.counts[rows[near]] += 1

    def columns(self):
        return {"epochs": self.counts}


class SevenCodes(T.Recorder):
    """For each network, at the first epoch it has exactly N - 1 distinct codes (one collision): the share of its
    hidden-layer error signal that comes from the two colliding patterns (sum of dh^2 over their rows / over all
    rows; with one-hot inputs dW1's row p is pattern p's dh) and its ||W2|| (NaN where a network never had exactly
    N - 1 codes). With keep_states, also that epoch and the network's parameters and velocities then."""
    name = "seven_codes"

    def __init__(self, loss, shape, keep_states=False):
        self.loss, self.shape, self.keep_states = loss, shape, keep_states

    def fresh(self, n):
        recording = copy.copy(self)
        recording.share, recording.w2_norm = np.full(n, np.nan), np.full(n, np.nan)
        if self.keep_states:
            recording.epoch = np.zeros(n, dtype=int)
            recording.params = np.zeros((n, self.shape.n_params))
            recording.velocity = np.zeros((n, self.shape.n_params))
        return recording

    def observe(self, epoch, rows, batch):
        shape, codes = self.shape, batch.codes()
        new = (T.count_distinct(codes, shape.n_hidden) == shape.n_patterns - 1) & np.isnan(self.share[rows])
        if not new.any():
            return
        if self.keep_states:
            self.epoch[rows[new]] = epoch
            self.params[rows[new]] = batch.params[new]
            self.velocity[rows[new]] = batch.state["velocity"][new]
        _, _, W2, _ = E.unpack(batch.params[new], shape)
        dh = E.backward(W2, batch.hidden[new], batch.outputs[new], loss=self.loss)[0]     # (k, N, H)
        energy = (dh ** 2).sum(-1)                                                        # (k, N)
        for row, c, e, w in zip(rows[new], codes[new], energy, W2):
            shared = np.bincount(c, minlength=2 ** shape.n_hidden).argmax()
            self.share[row] = e[c == shared].sum() / e.sum()
            self.w2_norm[row] = np.linalg.norm(w)

    def columns(self):
        kept = {"epoch": self.epoch, "params": self.params, "velocity": self.velocity} if self.keep_states else {}
        return {"share": self.share, "w2_norm": self.w2_norm, **kept}


class ResumeFrom:
    """A backprop learner whose networks start from saved parameters and velocities instead of fresh weights."""
    min_stop_epoch = 1

    def __init__(self, learner, params, velocity):
        self.learner, self.shape, self.params, self.velocity = learner, learner.shape, params, velocity

    def start(self, seeds, settings):
        batch = self.learner.start(seeds, settings)
        batch.load(self.params, {"velocity": self.velocity})
        return batch


def swap_losses_at_7_codes(states, seeds, lr, shape, n_epochs):
    """The causal test of the squared-error advantage: the networks caught at their first one-collision state
    under each loss (states[loss] = (rows, params, velocity)) continue for n_epochs under each loss (a 2 x 2 of
    origin x continuation, the same saved states in both columns), and the CE states continue under CE with
    ||W2|| (and its velocity) scaled down to the SSE states' median norm, which tests the larger-||W2||
    explanation. Returns [{origin, continued_with, w2_norm_set_to, reached_8_codes, solved,
    paired_with_unchanged (McNemar against the same states continued unchanged)}]; reached = within n_epochs.
    The saved states continue in this process, through training_loop.fit."""
    norms = {origin: np.median(np.linalg.norm(E.unpack(params, shape)[2], axis=(1, 2)))
             for origin, (_, params, _) in states.items()}
    trials = [(origin, continued, None) for origin in states for continued in sorted(states, key=lambda c: c != origin)]
    if {"sse", "ce"} <= set(states):            # and the CE states with ||W2|| shrunk to the SSE states' median
        trials.append(("ce", "ce", norms["sse"]))
    out, escaped = [], {}
    for origin, continued, w2_norm in trials:
        rows, params, velocity = states[origin]
        if w2_norm is not None:
            params, velocity = params.copy(), velocity.copy()
            W2, VW2 = E.unpack(params, shape)[2], E.unpack(velocity, shape)[2]       # views: scaled in place
            factor = w2_norm / np.linalg.norm(W2, axis=(1, 2), keepdims=True)
            W2 *= factor
            VW2 *= factor
        k = len(rows)
        settings = {"lr": np.full(k, lr), "momentum": np.full(k, 0.9), "init_scale": np.full(k, 0.1)}
        result = T.fit(ResumeFrom(BL.Backprop(shape, loss=continued), params, velocity), [seeds[r] for r in rows],
                       settings, n_epochs, early_stop=True)
        reached = result["first_n_codes"] > 0
        escaped[origin, continued, w2_norm] = reached
        out.append({"origin": origin, "continued_with": continued, "w2_norm_set_to": w2_norm, "lr": lr,
                    "epochs": n_epochs, "median_w2_norm_of_origin": float(norms[origin]),
                    "reached_8_codes": rate(int(reached.sum()), k),
                    "solved": rate(int((result["solve_epoch"] > 0).sum()), k)})
        same = escaped.get((origin, origin, None))            # paired with the unchanged continuation, state by state
        if same is not None and (continued, w2_norm) != (origin, None):
            only_this, only_same = int(reached[~same].sum()), int(same[~reached].sum())
            out[-1]["paired_with_unchanged"] = {"only_this": only_this, "only_unchanged": only_same,
                                                "mcnemar_exact_p": mcnemar_p(only_this, only_same)}
    return out


def run(config):
    seeds, lrs, n = config.seeds, config.options["lrs"], len(config.seeds)
    sweeps, rows, solved_by_setting, states, hidden_values = Sweeps(config), [], {}, {}, []
    for loss in ("sse", "ce"):
        for lr in lrs:
            recorders = [PlateauEpochs(), SevenCodes(loss, config.size, keep_states=lr == SWAP_LR)]
            runs, recorded, seconds = sweeps.recording(seeds, recorders, n_epochs=config.epochs, lr=lr, loss=loss,
                                                       early_stop=False)
            plateau = recorded[PlateauEpochs.name]["epochs"]
            seven_codes = recorded[SevenCodes.name]
            share, w2_norm = seven_codes["share"], seven_codes["w2_norm"]
            if lr == SWAP_LR:
                caught = np.flatnonzero(seven_codes["epoch"] > 0)
                if len(caught):
                    states[loss] = (caught.tolist(), seven_codes["params"][caught], seven_codes["velocity"][caught])
            epochs = [r["solve_epoch"] for r in runs if r["solve_epoch"] is not None]
            solved_by_setting[(loss, lr)] = np.array([r["solve_epoch"] is not None for r in runs])
            # N - 1 = 7 codes: the step where the two losses part ways, if they do (fit records both first epochs)
            first7 = np.array([r["first_epoch_n_minus_1_codes"] or 0 for r in runs])
            first8 = np.array([r["first_epoch_n_codes"] or 0 for r in runs])
            reached7, reached8 = first7 > 0, first8 > 0
            escape = {"reached_7_codes": rate(reached7.sum(), n),
                      "reached_8_given_7": rate((reached8 & reached7).sum(), int(reached7.sum())),
                      "epochs_from_7_to_8": bootstrap((first8 - first7)[reached8 & reached7], "median")}
            # the mechanism: at the one-collision state, how much of the hidden error is the colliding pair's,
            # and does that predict the escape to 8 codes?
            seven = ~np.isnan(share)
            escape["at_7_codes"] = {
                "n": int(seven.sum()), "pair_share_of_hidden_error": bootstrap(share[seven], "median"),
                "w2_norm": bootstrap(w2_norm[seven], "median"),
                "escape_auc_of_pair_share": auc_interval(share[seven], reached8[seven])
                if 0 < reached8[seven].sum() < seven.sum() else None,
                "escape_auc_of_small_w2": auc_interval(-w2_norm[seven], reached8[seven])
                if 0 < reached8[seven].sum() < seven.sum() else None}
            h = np.array([r["hidden_codes"] for r in runs])
            intermediate = (np.abs(h - 0.5) < 0.25).sum(axis=(1, 2))          # activations in (0.25, 0.75)
            end_codes = np.array([r["n_distinct_codes"] for r in runs])
            end_acc = np.array([r["accuracy"] for r in runs])
            rows.append({"loss": loss, "lr": lr, "solved": rate(len(epochs), n),
                         "median_epochs": bootstrap(epochs, "median"), **escape,
                         "plateau_epochs": quantiles(plateau), "plateau_median": bootstrap(plateau, "median"),
                         "plateau_over_1000": int((plateau > 1000).sum()),
                         "at_end_full_accuracy": int((end_acc == 1).sum()),
                         "at_end_full_accuracy_7_codes": int(((end_acc == 1) & (end_codes == 7)).sum()),
                         "at_end_codes_histogram": np.bincount(end_codes, minlength=9)[1:].tolist(),
                         "at_end_nets_with_a_value_in_0.25_0.75": int((intermediate > 0).sum()),
                         "at_end_mean_values_in_0.25_0.75": float(intermediate.mean()),
                         "at_end_median_saturation": float(np.median(saturation(h))), "seconds": seconds})
            hidden_values.append({"loss": loss, "lr": lr, "values": h.ravel().round(4).tolist()})
    paired = []
    for lr in lrs:                                # the same seeds, so the same initial weights, under both losses
        sse, ce = solved_by_setting[("sse", lr)], solved_by_setting[("ce", lr)]
        only_sse, only_ce = int((sse & ~ce).sum()), int((~sse & ce).sum())
        paired.append({"lr": lr, "both": int((sse & ce).sum()), "only_sse": only_sse, "only_ce": only_ce,
                       "neither": int((~sse & ~ce).sum()), "mcnemar_exact_p": mcnemar_p(only_sse, only_ce)})
    swap = swap_losses_at_7_codes(states, seeds, SWAP_LR, config.size, min(SWAP_EPOCHS, config.epochs)) if states else []
    summary = {"n": n * len(rows), "seeds": n, "paired_by_lr": paired, "swap_at_7_codes": swap, "by_setting": rows}
    # the histogram of final activations is drawn for the published learning rate (or the first setting)
    shown = [v for v in hidden_values if v["lr"] == 0.5] or hidden_values[:1]
    return {"config": config_record(NAME, config, sweeps), "summary": summary,
            "figure_data": {"final_hidden_values": shown}}


def report(result):
    s, epochs = result["summary"], result["config"]["epochs"]
    lines = [f"recipe1986: {s['seeds']} seeds per setting, every network trained for {epochs} epochs (momentum 0.9, "
             f"init scale 0.1); solved = strict criterion met at some epoch >= 201"]
    for r in s["by_setting"]:
        p = r["plateau_epochs"]
        s7 = r["at_7_codes"]
        if s7["n"]:
            a, w = s7["escape_auc_of_pair_share"], s7["escape_auc_of_small_w2"]
            lines.append(f"  {r['loss']:>3} lr {r['lr']:<5g} at the one-collision state ({s7['n']} networks): the pair's "
                         f"share of the hidden error {fmt_median(s7['pair_share_of_hidden_error'])}, ||W2|| "
                         f"{fmt_median(s7['w2_norm'])}" + ("" if a is None else
                         f"; escape to 8 codes predicted by the share: AUC {a['auc']:.3f} "
                         f"({a['ci_95'][0]:.3f}-{a['ci_95'][1]:.3f}), by a small ||W2||: AUC "
                         f"{w['auc']:.3f} ({w['ci_95'][0]:.3f}-{w['ci_95'][1]:.3f})"))
        lines.append(f"  {r['loss']:>3} lr {r['lr']:<5g}: solved {fmt_rate(r['solved'])}, median epochs "
                     f"{fmt_median(r['median_epochs'])}; reached 7 codes {fmt_rate(r['reached_7_codes'])}, then 8 "
                     f"{fmt_rate(r['reached_8_given_7'])}; all outputs within 0.1 of 1/8 for a median {p['q50']:.0f} epochs "
                     f"(>1000 in {r['plateau_over_1000']}); at epoch {epochs}: 100% accuracy in "
                     f"{r['at_end_full_accuracy']} ({r['at_end_full_accuracy_7_codes']} of them with 7 codes), "
                     f"a code value in (0.25, 0.75) in {r['at_end_nets_with_a_value_in_0.25_0.75']} nets")
    for p in s["paired_by_lr"]:
        lines.append(f"  paired, lr {p['lr']:g}: both solve {p['both']}, only sse {p['only_sse']}, only ce "
                     f"{p['only_ce']}, neither {p['neither']} (exact McNemar p = {p['mcnemar_exact_p']:.2g})")
    for w in s["swap_at_7_codes"]:
        shrunk = "" if w["w2_norm_set_to"] is None else f", ||W2|| scaled to {w['w2_norm_set_to']:.3g}"
        lines.append(f"  caught at 7 codes under {w['origin']} (lr {w['lr']:g}; median ||W2|| "
                     f"{w['median_w2_norm_of_origin']:.3g}){shrunk}, continued {w['epochs']} epochs with "
                     f"{w['continued_with']}: 8 codes {fmt_rate(w['reached_8_codes'])}"
                     + ("" if "paired_with_unchanged" not in w else
                        f"; paired with the unchanged continuation: {w['paired_with_unchanged']['only_this']} escape "
                        f"only here, {w['paired_with_unchanged']['only_unchanged']} only there (exact McNemar p = "
                        f"{w['paired_with_unchanged']['mcnemar_exact_p']:.2g})"))
    return lines


def figure(result):
    import plotting as P
    s, epochs, lrs = result["summary"], result["config"]["epochs"], result["config"]["lrs"]
    rows, swap = s["by_setting"], s["swap_at_7_codes"]
    fig, axes = P.plt.subplots(1, 4, figsize=(20, 4.6), dpi=P.DPI)
    if swap:
        labels = [f"{w['origin']} state\n-> {w['continued_with']}" + ("" if w["w2_norm_set_to"] is None else
                                                                      "\n||W2|| shrunk") for w in swap]
        rates = [w["reached_8_codes"] for w in swap]
        axes[3].bar(range(len(swap)), [r["rate"] for r in rates], yerr=P.wilson_bars(rates), capsize=4,
                    color=["#d62728" if w["origin"] == "sse" else "#1f77b4" for w in swap])
        axes[3].set_xticks(range(len(swap)), labels, fontsize=7)
        axes[3].set_ylim(0, 1)
        axes[3].set_ylabel(f"reached 8 codes within {min(SWAP_EPOCHS, epochs)} epochs (95% Wilson)")
        axes[3].set_title(f"caught at 7 codes (lr {SWAP_LR:g}), continued under each loss", fontsize=10)
    for loss, color in (("sse", "#d62728"), ("ce", "#1f77b4")):
        sel = [r for r in rows if r["loss"] == loss]
        setting_lrs = [r["lr"] for r in sel]
        axes[0].errorbar(setting_lrs, [r["solved"]["rate"] for r in sel], yerr=P.wilson_bars([r["solved"] for r in sel]),
                         fmt="o-", color=color, capsize=3, label=f"{loss}: solved")
        axes[0].errorbar(setting_lrs, [r["reached_8_given_7"]["rate"] or 0 for r in sel],
                         yerr=P.wilson_bars([r["reached_8_given_7"] for r in sel]), fmt="s:", color=color, capsize=3,
                         label=f"{loss}: 8 codes once 7 were reached")
        med = np.array([r["plateau_median"]["median"] for r in sel])
        ci = np.array([r["plateau_median"]["ci_95"] for r in sel]).reshape(-1, 2).T
        axes[1].errorbar(setting_lrs, med, yerr=[med - ci[0], ci[1] - med], fmt="o-", color=color, capsize=3,
                         label=f"{loss} (median, 95% CI)")
    for ax in axes[:2]:
        ax.set_xscale("log")
        ax.set_xticks(lrs, [f"{v:g}" for v in lrs])
        ax.minorticks_off()
        ax.set_xlabel("learning rate")
        P.legend(ax, fontsize=8)
    axes[1].set_yscale("symlog", linthresh=10)
    axes[1].set_ylim(0, epochs * 2)
    axes[0].set_ylim(0, 1)
    axes[0].set_ylabel("fraction (95% Wilson)")
    axes[0].set_title("strict solve rate, and escape from 7 codes", fontsize=10)
    axes[1].set_ylabel("epochs with all outputs within 0.1 of 1/8")
    axes[1].set_title("the base-rate plateau", fontsize=10)
    bins = np.linspace(0, 1, 41)
    for r in result["figure_data"]["final_hidden_values"]:
        axes[2].hist(r["values"], bins=bins, alpha=0.6, density=True,
                     color="#d62728" if r["loss"] == "sse" else "#1f77b4", label=f"{r['loss']} lr {r['lr']:g}")
    axes[2].set_yscale("log")
    axes[2].set_xlabel(f"hidden activation at epoch {epochs}")
    axes[2].legend(fontsize=8)
    axes[2].set_title("how binary the learned codes are", fontsize=10)
    fig.suptitle(f"Squared error (1986) vs cross-entropy: {s['seeds']} seeds per setting, {epochs} epochs each")
    fig.tight_layout()
    return fig
