"""predict: can a failure be seen coming? The state of each network still unsolved at --at epochs predicts
whether it is still unsolved at the cap: a logistic model fitted on --seeds, scored (AUC) on --held-out seeds,
beside each feature of the state alone."""
import copy

import numpy as np

import cli_support as cli
import encoder_backprop_8_3_8 as E
import training_loop as T
import validation as check
from interval_stats import auc, auc_interval, fit_logistic, fmt_rate, rate
from studies.common import Sweeps, config_record, plateau_ends

NAME = "predict"
DESCRIPTION = "can a failure be seen coming? a model of the state at --at epochs, fitted on --seeds, scored on --held-out"
SEEDS, EPOCHS = "0-999", 20000
OPTIONS = {"at": (600, cli.arg_type(lambda v: check.check_epochs(v, "at"), int), "epoch whose state is used"),
           "held_out": ("1000-1999", cli.arg_type(cli.parse_seeds), "seeds the model is scored on")}
ONLY_8_3_8 = None

FEATURES = ("distinct codes", "patterns at corner 000", "closest pair of codes (distance)",
            "epochs since the plateau ended", "smallest |h - 0.5|", "mean |h - 0.5|")


class StateAt(T.Recorder):
    """Each network's hidden activations at one epoch, if it is still training then."""
    name = "state_at"

    def __init__(self, epoch, shape):
        self.epoch, self.shape = epoch, shape

    def fresh(self, n):
        recording = copy.copy(self)
        recording.captured = np.zeros(n, bool)
        recording.hidden = np.full((n, self.shape.n_patterns, self.shape.n_hidden), np.nan)
        return recording

    def observe(self, epoch, rows, batch):
        if epoch == self.epoch:
            self.captured[rows] = True
            self.hidden[rows] = batch.hidden

    def columns(self):
        return {"captured": self.captured, "hidden": self.hidden}


def state_features(h, epoch, plateau_end):
    """Features of networks at one epoch from their hidden activations h (k, N, H) and plateau ends (k,)."""
    corners = E.corner_of(h)
    gaps = np.linalg.norm(h[:, :, None, :] - h[:, None, :, :], axis=-1)
    n = h.shape[1]
    closest = gaps[:, ~np.eye(n, dtype=bool)].reshape(len(h), -1).min(1)
    since = np.where((plateau_end > 0) & (plateau_end <= epoch), epoch - plateau_end, 0)
    margin = np.abs(h - 0.5)
    return np.column_stack([T.count_distinct(corners, h.shape[2]), (corners == 0).sum(1), closest, since,
                            margin.min((1, 2)), margin.mean((1, 2))])


def run(config):
    at, held_out = config.options["at"], config.options["held_out"]
    if set(config.seeds) & set(held_out):
        raise ValueError("the held-out seeds overlap the seeds the model is fitted on")
    sweeps, data = Sweeps(config), {}
    for name, seeds in (("fit", config.seeds), ("held_out", held_out)):
        # the state at --at; the short run's plateau ends are those of the first --at epochs
        early, recorded, _ = sweeps.recording(seeds, [StateAt(at, config.size)], n_epochs=min(at, config.epochs))
        runs, _ = sweeps(seeds, n_epochs=config.epochs)                                 # the outcome
        failed = np.array([not r["solved"] for r in runs])
        rows = np.flatnonzero(recorded[StateAt.name]["captured"])
        features = state_features(recorded[StateAt.name]["hidden"][rows], at, plateau_ends(early)[0][rows]) \
            if len(rows) else np.empty((0, len(FEATURES)))
        data[name] = {"X": features, "y": failed[rows], "n": len(seeds), "still_training": len(rows),
                      "failed": int(failed.sum())}
    fit_set, test = data["fit"], data["held_out"]
    result = {"at_epoch": at, "features": list(FEATURES),
              **{f"{k}_seeds": {"seeds": [int(s[0]), int(s[-1])], "n": d["n"], "still_training_at_epoch": d["still_training"],
                                "failed_by_cap": d["failed"]}
                 for k, d, s in (("fit", fit_set, config.seeds), ("held_out", test, held_out))}}
    figure_data = {}
    if len(set(fit_set["y"].tolist())) == 2 and len(set(test["y"].tolist())) == 2:
        model = fit_logistic(fit_set["X"], fit_set["y"].astype(float))
        model_scores = model(test["X"])
        result["model_auc_held_out"] = auc_interval(model_scores, test["y"])
        predicted = model_scores > 0.5
        result["model_accuracy_held_out"] = rate(int((predicted == test["y"]).sum()), len(test["y"]))
        result["base_rate_held_out"] = rate(int(test["y"].sum()), len(test["y"]))
        singles = []
        for j, name in enumerate(FEATURES):
            sign = 1.0 if (auc(fit_set["X"][:, j], fit_set["y"]) or 0.5) >= 0.5 else -1.0   # direction from the fit set
            singles.append({"feature": name, "direction": sign,
                            "auc_held_out": auc_interval(sign * test["X"][:, j], test["y"])})
        result["single_feature"] = singles
        figure_data = {"held_out_model_scores": model_scores.tolist(), "held_out_failed": test["y"].tolist()}
    return {"config": config_record(NAME, config, sweeps), "summary": {"n": fit_set["n"] + test["n"], **result},
            "figure_data": figure_data}


def report(result):
    s, c = result["summary"], result["config"]
    fit_seeds, held_seeds = s["fit_seeds"]["seeds"], s["held_out_seeds"]["seeds"]
    lines = [f"predict: networks still unsolved at epoch {s['at_epoch']}; failure = still unsolved at {c['epochs']}; "
             f"fitted on seeds {fit_seeds[0]}-{fit_seeds[1]}, scored on {held_seeds[0]}-{held_seeds[1]}"]
    if "model_auc_held_out" not in s:
        return lines + ["  too few failures or successes among the networks still training to fit or score a model"]
    a = s["model_auc_held_out"]
    lines.append(f"  {s['held_out_seeds']['still_training_at_epoch']} held-out networks still unsolved at epoch "
                 f"{s['at_epoch']}, {s['base_rate_held_out']['k']} of them fail: model AUC {a['auc']:.3f} (95% CI "
                 f"{a['ci_95'][0]:.3f}-{a['ci_95'][1]:.3f}); accuracy {fmt_rate(s['model_accuracy_held_out'])} against "
                 f"{1 - s['base_rate_held_out']['rate']:.1%} for always guessing 'solves'")
    for single in s["single_feature"]:
        a = single["auc_held_out"]
        lines.append(f"    {single['feature']}: AUC {a['auc']:.3f} ({a['ci_95'][0]:.3f}-{a['ci_95'][1]:.3f})")
    return lines


def figure(result):
    import plotting as P
    s, data = result["summary"], result["figure_data"]
    fig, axes = P.plt.subplots(1, 2, figsize=(12, 4.2), dpi=P.DPI)
    if data:
        scores = np.array(data["held_out_model_scores"])
        y = np.array(data["held_out_failed"], bool)[np.argsort(-scores)]
        tpr = np.concatenate([[0], np.cumsum(y) / y.sum()])
        fpr = np.concatenate([[0], np.cumsum(~y) / (~y).sum()])
        a = s["model_auc_held_out"]
        axes[0].plot(fpr, tpr, label=f"model, held out: AUC {a['auc']:.2f} ({a['ci_95'][0]:.2f}-{a['ci_95'][1]:.2f})")
        axes[0].plot([0, 1], [0, 1], color="0.6", ls="--", lw=1)
        names = [single["feature"] for single in s["single_feature"]]
        values = np.array([single["auc_held_out"]["auc"] for single in s["single_feature"]])
        ci = np.array([single["auc_held_out"]["ci_95"] for single in s["single_feature"]]).T
        axes[1].barh(range(len(names)), values, xerr=[values - ci[0], ci[1] - values], capsize=3, color="#1f77b4")
        axes[1].axvline(0.5, color="0.4", ls="--", lw=1)
        axes[1].set_yticks(range(len(names)), names, fontsize=8)
        axes[1].set_xlim(0.3, 1)
    axes[0].set_xlabel("false positive rate")
    axes[0].set_ylabel("true positive rate (failures caught)")
    if data:
        axes[0].legend(fontsize=8, loc="lower right")
    axes[0].set_title(f"Predicting failure from the state at epoch {s['at_epoch']}", fontsize=10)
    axes[1].set_xlabel("held-out AUC of one feature alone (95% CI)")
    fig.tight_layout()
    return fig
