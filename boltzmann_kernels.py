"""Pure-Python kernels of one Boltzmann learning update, for pricing with the ByteDMD tracer (bytedmd.py).

Each kernel does, on scalars, exactly what the numpy learner of boltzmann_learners.py does in one update,
and returns the same numbers given the same random numbers (tests/test_boltzmann_kernels.py: to 1e-12). The
contract is the backprop kernels' one (backprop_kernels.py): activations are traced (a
sigmoid is one operation reading its input once), the optimizer step is in, constants are free, and the random
numbers are arguments. A Bernoulli sample is one operation that reads its uniform number and its probability.

    CD-k, one full-batch update of the public recipe (momentum, weight decay and the sparsity pull included):
      cd_layerwise   every pattern through each step in turn, the data one-hot vectors read densely (as the
                     numpy learner's batched matrices do)
      cd_fused       one pattern's whole chain at a time, its contributions accumulated at once; the one-hot
                     data is not read (pattern p's positive phase reads rows p and N + p of W)
      cd_table       cd_fused, with p(v | h) computed once per update for each of the 2^H hidden states and
                     looked up by the sampled state (the numpy learner's own shortcut)
    ahs85, one learning cycle of the 1985 procedure (ahs85_cycle): every settling run to its end in turn,
      each probe reading the weights and states of its unit's connections, the co-occurrences counted, and
      every weight moved by the fixed step.
"""
import functools
import math

import numpy as np

from bytedmd import op, phase


@op
def sigmoid(z):
    """1 / (1 + exp(-z)) as the numpy learner computes it (exp overflow -> 0), one traced operation."""
    return 1.0 / (1.0 + math.exp(-z)) if z > -700.0 else 0.0


@op
def bernoulli(u, p):
    """A binary sample: on (1.0) when the uniform number u is below the probability p."""
    return 1.0 if u < p else 0.0


@op
def sign(x):
    return float(np.sign(x))


def _step(params, velocities, grads, lr, momentum):
    """V' = momentum V + lr G; P' = P + V' (the recipe ascends), elementwise over nested lists."""
    if isinstance(params, list):
        pairs = [_step(p, v, g, lr, momentum) for p, v, g in zip(params, velocities, grads)]
        return [p for p, _ in pairs], [v for _, v in pairs]
    new_v = momentum * velocities + lr * grads
    return params + new_v, new_v


def _cd_finish(W, b, c, VW, Vb, Vc, gW, gb, gc, lr, momentum):
    phase("update")
    (W, VW), (b, Vb), (c, Vc) = (_step(P, V, G, lr, momentum) for P, V, G in ((W, VW, gW), (b, Vb, gb), (c, Vc, gc)))
    return W, b, c, VW, Vb, Vc


# ---------------------------------------------------------------------------------------------------- CD-k
def _sparsity(gW, gc, ph0_all, mean_ph0, sparsity, target, through_sigmoid):
    """Add the sparsity pull: the recipe's gradient through the sigmoid (on W, where pattern i % N is the one
    with visible unit i on, and on c through the mean slope), or the pull on c alone."""
    n, n_hid = len(ph0_all), len(gc)
    pull = [sparsity * (target - mean_ph0[j]) for j in range(n_hid)]
    if not through_sigmoid:
        return gW, [gc[j] + pull[j] for j in range(n_hid)]
    slope = [[ph0_all[p][j] * (1.0 - ph0_all[p][j]) for j in range(n_hid)] for p in range(n)]
    gW = [[gW[i][j] + slope[i % n][j] / n * pull[j] for j in range(n_hid)] for i in range(len(gW))]
    return gW, [gc[j] + sum(slope[p][j] for p in range(n)) / n * pull[j] for j in range(n_hid)]


def cd_layerwise(W, b, c, VW, Vb, Vc, U, X, *, k, lr, momentum, decay, sparsity, target, through_sigmoid=True):
    """One CD-k update, layer by layer over all patterns. W (2N, H), b (2N), c (H), their velocities, U (k, N,
    H + 2N) uniforms (per step and pattern: H for the hidden sample, then 2N for the visible one), X (N, 2N) the
    data. Returns (W, b, c, VW, Vb, Vc) updated."""
    n, n_vis, n_hid = len(X), len(b), len(c)
    phase("positive")
    ph0 = [[sigmoid(sum(X[p][i] * W[i][j] for i in range(n_vis)) + c[j]) for j in range(n_hid)] for p in range(n)]
    ph = ph0
    for s in range(k):
        phase("gibbs")
        h = [[bernoulli(U[s][p][j], ph[p][j]) for j in range(n_hid)] for p in range(n)]
        pv = [[sigmoid(sum(h[p][j] * W[i][j] for j in range(n_hid)) + b[i]) for i in range(n_vis)] for p in range(n)]
        v = [[bernoulli(U[s][p][n_hid + i], pv[p][i]) for i in range(n_vis)] for p in range(n)]
        ph = [[sigmoid(sum(v[p][i] * W[i][j] for i in range(n_vis)) + c[j]) for j in range(n_hid)] for p in range(n)]
    phase("gradient")
    gW = [[(sum(X[p][i] * ph0[p][j] for p in range(n)) - sum(v[p][i] * ph[p][j] for p in range(n))) / n
           - decay * W[i][j] for j in range(n_hid)] for i in range(n_vis)]
    gb = [(sum(X[p][i] for p in range(n)) - sum(v[p][i] for p in range(n))) / n for i in range(n_vis)]
    mean_ph0 = [sum(ph0[p][j] for p in range(n)) / n for j in range(n_hid)]
    gc = [mean_ph0[j] - sum(ph[p][j] for p in range(n)) / n for j in range(n_hid)]
    gW, gc = _sparsity(gW, gc, ph0, mean_ph0, sparsity, target, through_sigmoid)
    return _cd_finish(W, b, c, VW, Vb, Vc, gW, gb, gc, lr, momentum)


def _cd_chains(W, b, c, U, k, visible_probabilities):
    """Run each pattern's chain to its end in turn, accumulating what the gradient needs: per pattern ph0,
    and over patterns sum v_i ph_j, sum v_i, sum ph_j. visible_probabilities(h) -> p(v | h), (2N,)."""
    n_vis, n_hid = len(b), len(c)
    n = n_vis // 2
    ph0_all, neg, v_sum, ph_sum = [], [[0.0] * n_hid for _ in range(n_vis)], [0.0] * n_vis, [0.0] * n_hid
    for p in range(n):
        phase("positive")
        ph0 = [sigmoid(W[p][j] + W[n + p][j] + c[j]) for j in range(n_hid)]     # data @ W: rows p and N + p
        ph = ph0
        for s in range(k):
            phase("gibbs")
            h = [bernoulli(U[s][p][j], ph[j]) for j in range(n_hid)]
            pv = visible_probabilities(h)
            v = [bernoulli(U[s][p][n_hid + i], pv[i]) for i in range(n_vis)]
            ph = [sigmoid(sum(v[i] * W[i][j] for i in range(n_vis)) + c[j]) for j in range(n_hid)]
        phase("gradient")
        for i in range(n_vis):
            for j in range(n_hid):
                neg[i][j] += v[i] * ph[j]
            v_sum[i] += v[i]
        for j in range(n_hid):
            ph_sum[j] += ph[j]
        ph0_all.append(ph0)
    return ph0_all, neg, v_sum, ph_sum


def _cd_gradient(W, ph0_all, neg, v_sum, ph_sum, decay, sparsity, target, through_sigmoid):
    n, n_hid = len(ph0_all), len(ph_sum)
    phase("gradient")
    gW = [[(ph0_all[i % n][j] - neg[i][j]) / n - decay * W[i][j] for j in range(n_hid)] for i in range(2 * n)]
    gb = [(1.0 - v_sum[i]) / n for i in range(2 * n)]                  # each visible unit is on in one pattern
    mean_ph0 = [sum(ph0_all[p][j] for p in range(n)) / n for j in range(n_hid)]
    gc = [mean_ph0[j] - ph_sum[j] / n for j in range(n_hid)]
    gW, gc = _sparsity(gW, gc, ph0_all, mean_ph0, sparsity, target, through_sigmoid)
    return gW, gb, gc


def cd_fused(W, b, c, VW, Vb, Vc, U, *, k, lr, momentum, decay, sparsity, target, through_sigmoid=True):
    """One CD-k update, one pattern's chain at a time (arguments as cd_layerwise, without the data)."""
    n_vis, n_hid = len(b), len(c)

    def visible_probabilities(h):
        return [sigmoid(sum(h[j] * W[i][j] for j in range(n_hid)) + b[i]) for i in range(n_vis)]
    chains = _cd_chains(W, b, c, U, k, visible_probabilities)
    gW, gb, gc = _cd_gradient(W, *chains, decay, sparsity, target, through_sigmoid)
    return _cd_finish(W, b, c, VW, Vb, Vc, gW, gb, gc, lr, momentum)


def cd_table(W, b, c, VW, Vb, Vc, U, *, k, lr, momentum, decay, sparsity, target, through_sigmoid=True):
    """cd_fused with p(v | h) tabulated over the 2^H hidden states once (each entry reads only the weights of
    the state's on units) and looked up by the sampled state (reading its H bits)."""
    n_vis, n_hid = len(b), len(c)
    phase("positive")
    table = [[sigmoid(sum(W[i][j] for j in range(n_hid) if state >> (n_hid - 1 - j) & 1) + b[i])
              for i in range(n_vis)] for state in range(2 ** n_hid)]

    def visible_probabilities(h):
        return table[sum(int(h[j]) << (n_hid - 1 - j) for j in range(n_hid))]
    chains = _cd_chains(W, b, c, U, k, visible_probabilities)
    gW, gb, gc = _cd_gradient(W, *chains, decay, sparsity, target, through_sigmoid)
    return _cd_finish(W, b, c, VW, Vb, Vc, gW, gb, gc, lr, momentum)


CD_SCHEDULES = {"layerwise": cd_layerwise, "fused": cd_fused, "table": cd_table}


def cd_kernel(schedule, learner):
    """The kernel of `schedule` with the recipe's constants of `learner` (a boltzmann_learners.CDk)."""
    return functools.partial(CD_SCHEDULES[schedule], k=learner.k, lr=learner.lr, momentum=learner.momentum,
                             decay=learner.decay, sparsity=learner.sparsity, target=learner.target,
                             through_sigmoid=learner.sparsity_form == "recipe")


def cd_kernel_args(schedule, learner, params, velocity, uniforms):
    """Nested-list arguments of a CD kernel from one network's flat params, velocity (P,) and the uniforms of
    one update (k * N * (H + 2N),)."""
    from boltzmann_learners import rbm_unpack
    shape = learner.shape
    n, n_hid = shape.n_patterns, shape.n_hidden
    parts = [a.tolist() for a in rbm_unpack(np.asarray(params, float), shape) + rbm_unpack(
        np.asarray(velocity, float), shape)]
    args = parts + [np.asarray(uniforms, float).reshape(learner.k, n, n_hid + 2 * n).tolist()]
    if schedule == "layerwise":
        args.append(np.concatenate([np.eye(n), np.eye(n)], 1).tolist())
    return tuple(args)


def flatten_cd(result):
    """A CD kernel's (W, b, c, VW, Vb, Vc) -> flat (params, velocity) float arrays."""
    flat = [np.ravel(np.array(part, dtype=float)) for part in result]
    return np.concatenate(flat[:3]), np.concatenate(flat[3:])


# --------------------------------------------------------------------------------------------------- ahs85
@op
def probe(field, logit, temperature):
    """The 1985 unit's decision, as the numpy learner takes it: on when field > T * logit(u), in float32."""
    return 1.0 if field > float(np.float32(temperature) * np.float32(logit)) else 0.0


@op
def clamp_noise(u, clean_bit, on_off, off_on):
    """Noisy clamping of one visible bit: an on bit stays on unless u < on_off, an off bit turns on if u < off_on."""
    return float(u >= on_off) if clean_bit else float(u < off_on)


@op
def random_start(u):
    return float(u < 0.5)


def probe_plan(uniforms, free):
    """Random single-unit probes from uniforms (..., P, 2) float32, computed in numpy apart from the learner's
    compiled path: the unit probed (..., P), from the first number, and the logit of the second. A probe turns
    its unit on when field > T * logit, which is u < 1 / (1 + exp(-field / T))."""
    units = free[(uniforms[..., 0] * len(free)).astype(int)]
    u = uniforms[..., 1]
    with np.errstate(divide="ignore"):                              # u = 0 gives -inf: that probe turns on
        return units, np.log(u / (1 - u))


class AHS85Plan:
    """What a learner's cycle fixes beforehand: the connections (i < j; the always-on unit's are the biases),
    each unit's neighbours, the temperature and statistics flag of every probe, and the chains' patterns."""

    def __init__(self, learner):
        if learner.noise != "settling":
            raise ValueError("the ahs85 kernel follows the default noise (drawn per settling)")
        if learner.visible_cycles or learner.clean_after or not learner.exact:
            raise ValueError("the ahs85 kernel prices the 4-2-4 and 8-3-8 cycle (N <= 12, every cycle with the hidden "
                             "units and the same clamping noise), not the 40-10-40 schedule")
        layout = learner.layout
        self.learner, self.layout = learner, layout
        self.true_unit = layout.true_unit
        self.connections = [(i, j) for i in range(layout.n_units) for j in range(i + 1, layout.n_units)
                            if layout.mask[i, j]]
        self.index = {pair: c for c, pair in enumerate(self.connections)}
        self.neighbours = [[j for j in range(layout.true_unit) if layout.mask[i, j]] for i in range(layout.n_units)]
        # the learner's own schedule of each phase's probes: temperature, and whether the chain is sampled after it
        self.temperatures, self.collect = {}, {}
        for phase_name, width in (("clamped", len(layout.hid)), ("free", layout.true_unit)):
            temperatures, collect = learner.probe_schedule(width)
            self.temperatures[phase_name], self.collect[phase_name] = temperatures.tolist(), collect.tolist()

    def weight(self, W, i, j):
        return W[self.index[(i, j) if i < j else (j, i)]]


def _settle(W, plan, state, free_units, units, logits, phase_name, counts):
    """Run one settling of `state` (list, traced or constant entries) in place, adding co-occurrences to
    counts[connection] at every statistics sample; returns the number of samples."""
    samples = 0
    true_unit = plan.true_unit
    for t, (unit, logit) in enumerate(zip(units, logits)):
        field = plan.weight(W, unit, true_unit)
        for j in plan.neighbours[unit]:
            field = field + plan.weight(W, unit, j) * state[j]
        state[unit] = probe(field, logit, plan.temperatures[phase_name][t])
        if plan.collect[phase_name][t]:
            samples += 1
            for c, (i, j) in enumerate(plan.connections):
                term = state[i] if j == true_unit else state[i] * state[j]
                counts[c] = term if counts[c] is None else counts[c] + term
    return samples


def ahs85_cycle(W, logits_clamped, logits_free, noise, starts_clamped, starts_free, *, plan, units_clamped,
                units_free):
    """One learning cycle of the 1985 procedure on one network. W: the weight of each of plan.connections;
    logits_*: (2N chains, probes) the decision numbers of the probes (float32 logits of the uniforms, as
    probe_plan makes them); units_*: the units probed (plain ints: which unit is
    probed is an address, not data); noise (2N, 2N) and starts_* (2N, units) uniforms. Returns the new W."""
    learner, layout = plan.learner, plan.layout
    N = layout.shape.n_patterns
    hid, all_free = list(layout.hid), list(range(layout.true_unit))
    totals = {}
    for phase_name in ("clamped", "free"):
        phase(phase_name)
        counts, samples = [None] * len(plan.connections), 0
        for chain in range(2 * N):
            state = [0.0] * layout.n_units
            state[plan.true_unit] = 1.0
            if phase_name == "clamped":
                pattern = chain // 2
                for i in range(2 * N):
                    state[i] = clamp_noise(noise[chain][i], i % N == pattern, learner.noise_on_off,
                                           learner.noise_off_on)
                for i in hid:
                    state[i] = random_start(starts_clamped[chain][i])
                samples += _settle(W, plan, state, hid, units_clamped[chain], logits_clamped[chain], phase_name,
                                   counts)
            else:
                for i in all_free:
                    state[i] = random_start(starts_free[chain][i])
                samples += _settle(W, plan, state, all_free, units_free[chain], logits_free[chain], phase_name,
                                   counts)
        totals[phase_name] = (counts, samples)
    phase("update")
    (clamped, n_clamped), (free, n_free) = totals["clamped"], totals["free"]
    return [w + learner.step_size * sign(pc / n_clamped - pf / n_free)
            for w, pc, pf in zip(W, clamped, free)]


def ahs85_kernel_args(learner, W, uniforms):
    """(kernel, args) for one network: W (n, n) its weights, uniforms (uniforms_per_cycle,) float32 of one
    cycle. The kernel is ahs85_cycle with the probe plan bound."""
    plan = AHS85Plan(learner)
    layout = learner.layout
    C, n = 2 * layout.shape.n_patterns, layout.n_units
    u_clamped, u_free, u_noise, u_start_clamped, u_start_free = learner.split_uniforms(np.asarray(uniforms))
    units_c, logits_c = probe_plan(u_clamped.reshape(C, -1, 2), layout.hid)
    units_f, logits_f = probe_plan(u_free.reshape(C, -1, 2), np.arange(layout.true_unit))
    kernel = functools.partial(ahs85_cycle, plan=plan, units_clamped=units_c.tolist(), units_free=units_f.tolist())
    weights = [float(W[i, j]) for i, j in plan.connections]
    args = (weights, logits_c.astype(float).tolist(), logits_f.astype(float).tolist(),
            u_noise.reshape(C, -1).astype(float).tolist(), u_start_clamped.reshape(C, n).astype(float).tolist(),
            u_start_free.reshape(C, n).astype(float).tolist())
    return kernel, args, plan
