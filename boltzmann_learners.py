"""The Boltzmann learners of the N-H-N encoder: the 1985 procedure (`ahs85`) and the CD-k recipe (`cdk`), each a
learner of the project's one training loop, registered in LEARNERS for the one sweep (training_loop.sweep).

Two visible groups V1 and V2 of N binary stochastic units and H hidden units; pattern i turns on V1[i] and
V2[i]. A unit is on with probability 1 / (1 + exp(-dE/T)); a bias is a weight to an always-on unit.

    ahs85  Ackley, Hinton & Sejnowski (1985): V1 and V2 each fully connected inside, both connected to H, no H-H
           and no V1-V2 links, all weights start at zero. One learning cycle: each pattern clamped on V1 and V2
           (with noisy clamping) and settled twice, as many free settlings, and every weight moved by a fixed
           step in the sign of p_ij - p'_ij. A settling randomises the free units, anneals [2@20, 2@15, 2@12,
           4@10] (a time unit = n random single-unit probes, n = free units), then collects statistics at T = 10
           for 10 time units.
    cdk    the public CD-k recipe: a bipartite RBM (2N visible, H hidden), W ~ 0.3 N(0, 1), CD-k at T = 1, lr 0.1,
           momentum 0.5, weight decay 1e-4, a sparsity pull of each hidden unit's mean positive-phase
           probability to 0.5 (weight 5), 16 full-batch updates per epoch; restart when the best code count has
           not improved for 250 epochs (at most 20 restarts).

Readout is exact: p(H | V1) and p(V2 | V1) are computed by enumerating the hidden states (and, for ahs85, the
V2 states), so evaluation has no sampling noise. A network's dominant code for pattern i is argmax_h p(h | V1
= pattern i); it reconstructs pattern i when argmax_j p(V2_j = 1 | V1 = pattern i) = i. Each network draws its
random numbers from its own stream (training_loop.network_rng), so its run is the same alone or in any batch.
"""
import functools
from dataclasses import dataclass

import numpy as np

import validation as check
from compiled_kernels import cd_epoch, odds, pcg64_rows, pcg64_state, settle
from learners import LearnerSpec
from settings import Settings, setting
from training_loop import DEFAULT_SHAPE, corner_of, network_rng, parse_size, read_only, sweep

MAX_READOUT_PATTERNS = 12        # ahs85's exact readout enumerates the 2^N states of V2
MAX_READOUT_HIDDEN = 16          # both readouts enumerate the 2^H hidden states
AHS85_SCHEDULE = ((20.0, 2), (15.0, 2), (12.0, 2), (10.0, 4))   # (temperature, time units)
COMPLETION_STREAM = 2 ** 32 - 1  # the seed's child that draws the completion test's numbers


@functools.lru_cache(maxsize=None)
def binary_states(n_bits):
    """All 2^n_bits binary vectors as rows (float64), row c being c in binary, bit 1 the high bit."""
    c = np.arange(2 ** n_bits)
    return read_only(((c[:, None] >> np.arange(n_bits - 1, -1, -1)) & 1).astype(float))


def stack_of(array, shape, name):
    """array as a stack (S, *shape) of numbers; ValueError naming the argument otherwise."""
    array = np.asarray(array)
    if array.ndim != len(shape) + 1 or array.shape[1:] != tuple(shape) or not np.issubdtype(array.dtype, np.number):
        raise ValueError(f"{name} must be a stack of numbers of shape (S, {', '.join(map(str, shape))}), got "
                         f"{array.dtype} {array.shape}")
    return array


def logsumexp(x, axis):
    top = x.max(axis=axis, keepdims=True)
    return np.squeeze(top, axis) + np.log(np.exp(x - top).sum(axis=axis))


def readout(log_h_given_v1, p_on_given_h, n_hidden):
    """The exact readout from log p(h | v1 = pattern i) up to a constant, (S, N, K), and p(V2_j = 1 | h),
    (S, K, N): the dominant codes (S, N), p(h_j = 1 | v1) (S, N, H) and p(V2_j = 1 | v1) (S, N, N)."""
    p_h = np.exp(log_h_given_v1 - logsumexp(log_h_given_v1, -1)[..., None])        # (S, N, K)
    return np.argmax(p_h, -1), p_h @ binary_states(n_hidden), p_h @ p_on_given_h


# ------------------------------------------------------------------------------------- ahs85: the network
class AHS85Layout:
    """Unit indices of the 1985 network: V1 = 0..N-1, V2 = N..2N-1, H = 2N..2N+H-1, then the always-on unit
    (its weights are the biases). `mask` (n, n) marks the connections that exist and learn."""

    def __init__(self, shape):
        n, h = shape.n_patterns, shape.n_hidden
        self.shape, self.n_units = shape, 2 * n + h + 1
        self.v1, self.v2, self.hid = np.arange(n), np.arange(n, 2 * n), np.arange(2 * n, 2 * n + h)
        self.true_unit = 2 * n + h
        mask = np.zeros((self.n_units, self.n_units), bool)
        for group in (self.v1, self.v2):
            mask[np.ix_(group, group)] = True                          # each visible group inside
            mask[np.ix_(group, self.hid)] = mask[np.ix_(self.hid, group)] = True
        mask[self.true_unit, :self.true_unit] = mask[:self.true_unit, self.true_unit] = True
        np.fill_diagonal(mask, False)
        self.mask = mask
        self.visible_mask = mask.copy()                                # what learns while H is left out
        self.visible_mask[self.hid, :] = self.visible_mask[:, self.hid] = False
        self.visible = np.concatenate([self.v1, self.v2])


def ahs85_readout(W, layout, temperature=10.0):
    """Exact readout of 1985 networks W (S, n, n) at `temperature`: codes (S, N), hidden (S, N, H), outputs
    (S, N, N). V1 is clamped to each clean pattern; V2 (2^N states) and H (2^H states) are enumerated."""
    shape = layout.shape
    W = stack_of(W, (layout.n_units, layout.n_units), "W")
    n, n_hidden = shape.n_patterns, shape.n_hidden
    v2_states, h_states = binary_states(n), binary_states(n_hidden)
    v1, v2, hid, t = layout.v1, layout.v2, layout.hid, layout.true_unit
    W22 = W[:, v2][:, :, v2]                                           # (S, N, N), zero diagonal
    # -E of the V2 and H parts, which do not depend on the pattern clamped on V1 (there are no V1-V2 links):
    # A[m, k] for V2 state m and hidden state k; the pattern adds B[i, k] = W[V1_i, H] . h_k
    g_v2 = v2_states @ W[:, t, v2][..., None]                          # (S, M, 1): V2 biases
    g_v2 = g_v2[..., 0] + 0.5 * ((v2_states @ W22) * v2_states).sum(-1)
    g_h = W[:, t, hid] @ h_states.T                                    # (S, K)
    A = (g_v2[:, :, None] + g_h[:, None, :] + v2_states @ W[:, v2][:, :, hid] @ h_states.T) / temperature
    B = (W[:, v1][:, :, hid] @ h_states.T) / temperature               # (S, N, K): pattern i turns V1[i] on
    log_marginal_h = logsumexp(A, 1)                                   # (S, K): sum over the V2 states
    p_v2_given_h = np.exp(A - log_marginal_h[:, None, :]).transpose(0, 2, 1)          # (S, K, M)
    return readout(B + log_marginal_h[:, None, :], p_v2_given_h @ v2_states, n_hidden)


def clamped_codes(W, layout, temperature=10.0):
    """The codes the hidden units take with V1 and V2 both clamped to each clean pattern: with no H-H links the
    hidden units are independent given the visible ones, so p(h_j = 1 | v1, v2) = sigmoid(field_j / T) and the
    most probable code turns on exactly the units with a positive field. Returns codes (S, N), p (S, N, H)."""
    v1, v2, hid, t = layout.v1, layout.v2, layout.hid, layout.true_unit
    field = W[:, v1][:, :, hid] + W[:, v2][:, :, hid] + W[:, t, hid][:, None, :]     # (S, N, H): pattern i
    return corner_of(field, 0.0), 1 / (1 + np.exp(-np.clip(field / temperature, -700, 700)))


def code_outputs(W, layout, code_bits, temperature=10.0):
    """p(V2_j = 1 | H = code, every other V2 unit off) = sigmoid(field / T), (S, N, N) from each pattern's code
    bits (S, N, H): how strongly each pattern's code turns on each V2 unit alone. Above N = 12, where V2's 2^N
    states cannot be enumerated, a pattern counts as reconstructed when its code drives its own V2 unit hardest."""
    v2, hid, t = layout.v2, layout.hid, layout.true_unit
    field = code_bits @ W[:, hid][:, :, v2] + W[:, t, v2][:, None, :]
    return 1 / (1 + np.exp(-np.clip(field / temperature, -700, 700)))


# Choices the 1985 paper leaves open (docs/boltzmann.md measures each): what a weight does when p_ij = p'_ij,
# and how "found the codes" is read.
TIE_RULES = {"none": "a weight whose clamped and free co-occurrences are equal does not move (sign 0)",
             "up": "it steps +step, as if the clamped phase had won", "down": "it steps -step"}
CODES_FROM = {"v1": "each pattern's code is the exact most probable hidden state given V1 alone (V2 summed out), "
                    "the completion reading",
              "clamped": "each pattern's code is the hidden units' most probable state with V1 and V2 both clamped "
                         "to it (what the clamped phase settles to)"}


def paper_defaults(shape):
    """The 1985 paper's settings for an encoder of this size, for every AHS85Settings field left None: 4-2-4 and
    8-3-8 (up to N = 12, the exact readout's reach) as published for them; larger sizes as the 40-10-40
    experiment: 300 cycles without the hidden units, 500 of noisy clamping (0.1 on->off, 0.0025 off->on), then
    clean clamping; codes read with V1 and V2 clamped, and the completion accuracy measured (our choices)."""
    n = shape.n_patterns
    if n <= MAX_READOUT_PATTERNS:
        return {"noise_on_off": 0.15, "noise_off_on": 0.05 if n <= 4 else 0.02, "visible_cycles": 0,
                "clean_after": 0, "completion_trials": 0, "codes_from": "v1"}
    return {"noise_on_off": 0.1, "noise_off_on": 0.0025, "visible_cycles": 300, "clean_after": 800,
            "completion_trials": 10, "codes_from": "clamped"}


def completion_rng(seed):
    """The stream of a network's completion test: a child of its seed that no restart's stream reaches."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(COMPLETION_STREAM,)))


# -------------------------------------------------------------------------------------- ahs85: the learner
class AHS85:
    """The 1985 learning procedure as a learner of training_loop.fit. Settings: none per network.

    stats: "unit" collects co-occurrence statistics once per time unit, "probe" after every probe.
    noise: "settling" draws fresh clamping noise for every settling, "pattern" once per pattern and cycle.
    Settings given as None take the paper's values for the size (paper_defaults).
    """
    min_stop_epoch = 1

    def __init__(self, shape=DEFAULT_SHAPE, stats="unit", noise="settling", noise_on_off=None, noise_off_on=None,
                 step=2.0, schedule=AHS85_SCHEDULE, collect_units=10, collect_temperature=10.0,
                 readout_temperature=10.0, tie="none", codes_from=None, visible_cycles=None, clean_after=None,
                 completion_trials=None, completion_schedule=None):
        shape = parse_size(shape)
        s = AHS85Settings(stats=stats, noise=noise, noise_on_off=noise_on_off, noise_off_on=noise_off_on, step=step,
                          schedule=schedule, collect_units=collect_units, temperature=collect_temperature,
                          readout_temperature=readout_temperature, tie=tie, codes_from=codes_from,
                          visible_cycles=visible_cycles, clean_after=clean_after,
                          completion_trials=completion_trials, completion_schedule=completion_schedule)   # checks
        o = LEARNERS["ahs85"].sized(shape, s)               # the size's paper defaults in place of None
        self.exact = shape.n_patterns <= MAX_READOUT_PATTERNS
        if o.codes_from == "v1" and not self.exact:
            raise ValueError(f"codes read from V1 need ahs85's exact readout, which enumerates 2^N states of V2: "
                             f"N must be <= {MAX_READOUT_PATTERNS}, got {shape} (use --codes-from clamped)")
        self.shape, self.layout = shape, AHS85Layout(shape)
        self.stats, self.noise = s.stats, s.noise
        self.noise_on_off, self.noise_off_on = o.noise_on_off, o.noise_off_on
        self.visible_cycles, self.clean_after = o.visible_cycles, o.clean_after
        self.completion_trials = o.completion_trials
        self.step_size, self.schedule = s.step, s.schedule
        self.completion_schedule = s.schedule if s.completion_schedule is None else s.completion_schedule
        self.collect_units, self.collect_temperature = s.collect_units, s.temperature
        self.readout_temperature = s.readout_temperature
        self.tie_sign = {"none": 0.0, "up": 1.0, "down": -1.0}[s.tie]
        self.codes_from = o.codes_from
        N, n = shape.n_patterns, self.layout.n_units
        time_units = sum(t for _, t in self.schedule) + self.collect_units
        probes_clamped, probes_free = time_units * shape.n_hidden, time_units * self.layout.true_unit
        n_noise = N if self.noise == "pattern" else 2 * N
        # per cycle: (unit, decision) pairs of every clamped and every free probe, the clamping noise, and the
        # random starting states of the clamped and the free settlings (a cycle without the hidden units uses
        # the first of the free probes' numbers and none of the clamped ones)
        self.uniform_sizes = [2 * N * probes_clamped * 2, 2 * N * probes_free * 2, n_noise * 2 * N,
                              2 * N * n, 2 * N * n]
        self.uniforms_per_cycle = sum(self.uniform_sizes)
        self.probe_schedules = {}

    def probe_schedule(self, width, stages=None):
        """For a settling of `width` free units annealed by `stages` (default: the schedule): each probe's
        temperature (P,) float32, and whether the chain is sampled for the statistics after it (P,) bool (after
        every probe, or at the end of each time unit of the collection at the statistics' temperature)."""
        stages = self.schedule if stages is None else stages
        if (width, stages) not in self.probe_schedules:
            temperatures, collect = [], []
            for temperature, time_units in stages:
                temperatures += [temperature] * (time_units * width)
                collect += [False] * (time_units * width)
            for t in range(self.collect_units * width):
                temperatures.append(self.collect_temperature)
                collect.append(self.stats == "probe" or (t + 1) % width == 0)
            self.probe_schedules[width, stages] = (read_only(np.asarray(temperatures, np.float32)),
                                                   read_only(np.asarray(collect, bool)))
        return self.probe_schedules[width, stages]

    def phase(self, cycle):
        """Learning cycle `cycle` (from 1): (whether the hidden units are left out, the clamping noise's on->off
        and off->on probabilities): without H and clean for the first visible_cycles, then noisy up to and
        including cycle clean_after (0: for good), clean after it."""
        if cycle <= self.visible_cycles:
            return True, 0.0, 0.0
        if self.clean_after and cycle > self.clean_after:
            return False, 0.0, 0.0
        return False, self.noise_on_off, self.noise_off_on

    def split_uniforms(self, u):
        """(S, uniforms_per_cycle) -> clamped probes, free probes, noise, clamped starts, free starts."""
        return np.split(u, np.cumsum(self.uniform_sizes)[:-1], axis=-1)

    def start(self, seeds, settings):
        return _AHS85Batch(self, np.asarray(seeds, np.int64))

    def readout(self, params):
        """codes (S, N), p(h_j = 1 | v1) (S, N, H), p(V2_j = 1 | v1) (S, N, N) of final weights (S, n * n); above
        N = 12 the clamped codes, their p(h_j = 1 | v1, v2), and code_outputs."""
        n = self.layout.n_units
        W = params.reshape(-1, n, n)
        if not self.exact:
            codes, hidden = clamped_codes(W, self.layout, self.readout_temperature)
            return codes, hidden, code_outputs(W, self.layout, hidden > 0.5, self.readout_temperature)
        codes, hidden, outputs = ahs85_readout(W, self.layout, self.readout_temperature)
        if self.codes_from == "clamped":
            codes, hidden = clamped_codes(W, self.layout, self.readout_temperature)
        return codes, hidden, outputs

    def final_columns(self, params, seeds):
        """The result's columns beyond the common ones: with completion_trials, `completion` (S,)."""
        if not self.completion_trials:
            return {}
        return {"completion": np.array([self.completion(row[None], [seed])[0] for row, seed in zip(params, seeds)])}

    def completion(self, params, seeds):
        """Completion accuracy of networks (S, n * n), (S,): the share of N x completion_trials annealings that
        end with V2 exactly the pattern clamped clean on V1; H and V2 free, randomised, annealed and held at
        the statistics' temperature as in a training settling, by the completion schedule. Each network draws
        from completion_rng(seed)."""
        layout, N, n = self.layout, self.shape.n_patterns, self.layout.n_units
        S, C = len(seeds), N * self.completion_trials
        free = np.concatenate([layout.v2, layout.hid])
        schedule = self.probe_schedule(len(free), self.completion_schedule)
        P = len(schedule[0])
        u = np.stack([completion_rng(int(seed)).random(C * (2 * P + n), np.float32) for seed in seeds])
        probes, starts = np.split(u.reshape(S, C, 2 * P + n), [2 * P], axis=-1)
        pattern = np.eye(N, dtype=np.float32)[np.arange(C) % N]
        states = np.zeros((S, C, n), np.float32)
        states[..., layout.v1] = pattern
        states[..., free] = starts[..., free] < 0.5
        states[..., layout.true_unit] = 1.0
        anneal(params.reshape(S, n, n).astype(np.float32), states, free,
               np.ascontiguousarray(probes).reshape(S, C, P, 2), schedule)
        return (states[..., layout.v2] == pattern).all(-1).mean(-1)


def anneal(W, states, free, uniforms, schedule):
    """Anneal the `free` units of chains states (S, C, n) float32 in place with weights W (S, n, n) float32, one
    probe per (unit, decision) pair of uniforms (S, C, P, 2) float32, at the temperatures of schedule (as
    AHS85.probe_schedule gives it); returns the chains' samples (S, C, k, n) float32 at its k statistics points."""
    S, C, n = states.shape
    # per probe: the unit probed and the threshold its field must exceed to turn it on;
    # u < 1 / (1 + exp(-f/T))  <=>  T * log(u / (1 - u)) < f, so the logit is taken once, not per probe
    with np.errstate(divide="ignore"):                          # u = 0 gives -inf: that probe turns on
        logits = np.log(odds(uniforms))                         # log(u / (1 - u)), all in float32
    temperatures, collect = schedule
    thresholds = temperatures * logits                          # (S, C, P): T * logit, rounded to float32
    samples = np.empty((S, C, int(collect.sum()), n), np.float32)
    settle(W, states, uniforms, thresholds, np.asarray(free, np.int64), collect, samples)
    return samples


class _AHS85Batch:
    """S networks, each with its own random stream; a learning cycle runs 2N clamped and 2N free settlings
    of every network at once, as (S, 2N) chains."""

    def __init__(self, learner, seeds):
        self.learner, self.shape, self.layout = learner, learner.shape, learner.layout
        self.seeds = seeds
        self.streams = np.stack([pcg64_state(network_rng(int(s))) for s in seeds])
        n = self.layout.n_units
        self.params = np.zeros((len(seeds), n * n))
        self.cycles = 0                                             # learning cycles run (no restarts)
        self._readout()

    def _weights(self):
        n = self.layout.n_units
        return self.params.reshape(-1, n, n)

    def _readout(self):
        self.code_index, self.hidden, self.outputs = self.learner.readout(self.params)

    def codes(self):
        return self.code_index

    def _settle(self, states, free, uniforms):
        """Anneal the free units of chains `states` (S, C, n) in place and return their co-occurrence
        statistics summed over chains and samples, (S, n, n), and the number of samples per chain.
        uniforms (S, C, P, 2): per probe, one number picks the unit and one decides it. With no free unit a
        chain's clamped state is its one sample."""
        if len(free) == 0:
            X, per_chain = states, 1
        else:
            schedule = self.learner.probe_schedule(len(free))
            P = len(schedule[0])
            if uniforms.shape[2] != P:                              # fewer free units: the first numbers
                uniforms = np.ascontiguousarray(uniforms[:, :, :P])
            samples = anneal(self._weights().astype(np.float32), states, free, uniforms,   # integers: exact
                             schedule)
            X, per_chain = samples.reshape(len(states), -1, states.shape[-1]), samples.shape[2]
        stats = np.einsum("sci,scj->sij", X, X, optimize=True).astype(float)   # counts: exact in float32
        return stats, per_chain * states.shape[1]

    def next_uniforms(self):
        """The next cycle's numbers of every network, (S, uniforms_per_cycle) float32, each row from the
        network's own stream: the numbers Generator.random(dtype=np.float32) would give, drawn in compiled code."""
        u = np.empty((len(self.seeds), self.learner.uniforms_per_cycle), np.float32)
        pcg64_rows(self.streams, u)
        return u

    def step(self):
        """One learning cycle of every network in the batch, each drawing from its own stream."""
        self.cycle(self.next_uniforms())

    def cycle(self, u):
        """One learning cycle of every network given its uniforms u (S, uniforms_per_cycle), float32, in the
        cycle's phase (AHS85.phase): with or without the hidden units, with or without clamping noise."""
        learner, layout = self.learner, self.layout
        u = stack_of(u, (learner.uniforms_per_cycle,), "u")
        if len(u) != len(self.seeds):
            raise ValueError(f"u must have a row for each of the batch's {len(self.seeds)} networks, got {len(u)}")
        self.cycles += 1
        visible_only, on_off, off_on = learner.phase(self.cycles)
        S, n, N = len(self.seeds), layout.n_units, self.shape.n_patterns
        C = 2 * N                                                   # settlings per phase
        hidden_free = layout.hid[:0] if visible_only else layout.hid
        all_free = layout.visible if visible_only else np.arange(layout.true_unit)
        n_noise = N if learner.noise == "pattern" else C
        u_clamped, u_free, u_noise, u_init_clamped, u_init_free = learner.split_uniforms(u)

        # clamped phase: chain c settles pattern c // 2 on V1 and V2, each bit flipped by the clamping noise
        clean = np.concatenate([np.eye(N), np.eye(N)], 1)[np.arange(n_noise) % N if n_noise == N
                                                          else np.arange(C) // 2]          # (n_noise, 2N)
        stays_on = u_noise.reshape(S, n_noise, 2 * N) >= on_off
        turns_on = u_noise.reshape(S, n_noise, 2 * N) < off_on
        noisy_states = np.where(clean == 1, stays_on, turns_on)
        if n_noise == N:                                            # one noisy vector for both settlings
            noisy_states = noisy_states.repeat(2, axis=1)
        states = np.zeros((S, C, n), np.float32)
        states[..., :2 * N] = noisy_states
        states[..., layout.true_unit] = 1.0
        states[..., hidden_free] = u_init_clamped.reshape(S, C, n)[..., hidden_free] < 0.5
        clamped, k_clamped = self._settle(states, hidden_free, u_clamped.reshape(S, C, -1, 2))

        # free phase: nothing clamped (the hidden units stay off while they are left out)
        states = np.zeros((S, C, n), np.float32)
        states[..., all_free] = u_init_free.reshape(S, C, n)[..., all_free] < 0.5
        states[..., layout.true_unit] = 1.0
        free, k_free = self._settle(states, all_free, u_free.reshape(S, C, -1, 2))

        difference = clamped / k_clamped - free / k_free
        delta = np.where(difference == 0, learner.tie_sign, np.sign(difference)) * learner.step_size
        W = self._weights()
        W += np.where(layout.visible_mask if visible_only else layout.mask, delta, 0.0)
        self._readout()

    def restart(self, rows, attempts):
        raise ValueError("the 1985 procedure has no restarts")

    def keep(self, mask):
        self.seeds, self.params, self.streams = self.seeds[mask], self.params[mask], self.streams[mask]
        self.code_index, self.hidden, self.outputs = self.code_index[mask], self.hidden[mask], self.outputs[mask]


# ------------------------------------------------------------------------------------------- cdk: the RBM
def softplus(x):
    return np.logaddexp(0.0, x)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))                   # keeps float32 in float32


def rbm_unpack(params, shape):
    """Views of flat RBM parameters (..., P): W (..., 2N, H), b (..., 2N) visible biases, c (..., H)."""
    n, h = shape.n_patterns, shape.n_hidden
    lead = params.shape[:-1]
    return (params[..., :2 * n * h].reshape(lead + (2 * n, h)), params[..., 2 * n * h:2 * n * h + 2 * n],
            params[..., 2 * n * h + 2 * n:])


def rbm_readout(params, shape):
    """Exact readout of RBMs at T = 1: V2 is summed out in closed form (no links inside V2), the 2^H hidden
    states are enumerated. Returns codes (S, N), p(h_j = 1 | v1) (S, N, H), p(V2_j = 1 | v1) (S, N, N)."""
    n = shape.n_patterns
    W, b, c = rbm_unpack(stack_of(params, (2 * n * shape.n_hidden + 2 * n + shape.n_hidden,), "params"), shape)
    h_states = binary_states(shape.n_hidden)                          # (K, H)
    drive_v2 = b[:, None, n:] + h_states @ W[:, n:].transpose(0, 2, 1)  # (S, K, N): each V2 unit's input
    log_h = (c @ h_states.T)[:, None, :] + W[:, :n] @ h_states.T      # (S, N, K): c.h + W[V1_i].h
    log_h = log_h + softplus(drive_v2).sum(-1)[:, None, :]            # V2 summed out
    return readout(log_h, sigmoid(drive_v2), shape.n_hidden)


def cd_update(params, velocity, uniforms, learner):
    """One full-batch CD-k update of stacked RBMs, in place, in the dtype of params.

    params, velocity (S, P); uniforms (S, k * N * (H + 2N)): for each Gibbs step and pattern, H numbers that
    sample the hidden units, then 2N that sample the visible ones (a unit is on when its number is below its
    probability). The last hidden step uses probabilities. Visible probabilities depend on the hidden state
    only through its 2^H values, so they are computed once per update as a table over the hidden states."""
    if not isinstance(learner, CDk):
        raise ValueError(f"learner must be a CDk, got {type(learner).__name__}")
    params = stack_of(params, (learner.n_params,), "params")
    if np.shape(velocity) != params.shape or np.shape(uniforms) != (len(params), learner.uniforms_per_update):
        raise ValueError(f"velocity must have the shape of params {params.shape} and uniforms "
                         f"({len(params)}, {learner.uniforms_per_update}), got {np.shape(velocity)} and "
                         f"{np.shape(uniforms)}")
    shape, k, dtype = learner.shape, learner.k, params.dtype
    n, n_hid = shape.n_patterns, shape.n_hidden
    S = len(params)
    W, b, c = rbm_unpack(params, shape)                              # (S, 2N, H), (S, 2N), (S, H)
    VW, Vb, Vc = rbm_unpack(velocity, shape)
    draws = uniforms.reshape(S, k, n, n_hid + 2 * n)
    data = np.concatenate([np.eye(n), np.eye(n)], 1).astype(dtype)  # (N, 2N): pattern i on V1[i] and V2[i]
    h_states = binary_states(n_hid).astype(dtype)                   # (K, H)
    p_v_table = sigmoid(h_states @ W.transpose(0, 2, 1) + b[:, None, :])       # (S, K, 2N): p(v | h state)
    p_v_rows = p_v_table.reshape(-1, 2 * n)                          # (S * K, 2N)
    code_weights = (2 ** np.arange(n_hid - 1, -1, -1)).astype(dtype)           # h -> its row in the table
    first_row = (np.arange(S) * len(h_states))[:, None]              # (S, 1): each network's first table row
    ph0 = sigmoid(W[:, :n] + W[:, n:] + c[:, None, :])              # (S, N, H): data @ W, one-hot pairs
    ph = ph0
    for step in range(k):
        h = (draws[:, step, :, :n_hid] < ph).astype(dtype)
        p_v = p_v_rows[first_row + (h @ code_weights).astype(np.intp)]              # (S, N, 2N)
        v = (draws[:, step, :, n_hid:] < p_v).astype(dtype)         # (S, N, 2N)
        ph = sigmoid(v @ W + c[:, None, :])
    inv_n = dtype.type(1 / n)                                          # means over the N patterns
    grad_W = (np.concatenate([ph0, ph0], 1) - v.transpose(0, 2, 1) @ ph) * inv_n - dtype.type(learner.decay) * W
    grad_b = data.sum(0) * inv_n - v.sum(1) * inv_n
    mean_ph0 = ph0.sum(1) * inv_n
    pull = dtype.type(learner.sparsity) * (dtype.type(learner.target) - mean_ph0)          # (S, H)
    grad_c = mean_ph0 - ph.sum(1) * inv_n
    if learner.sparsity_form == "recipe":
        # the recipe's penalty is a gradient through the sigmoid: g = p(1 - p) of the positive phase, on W
        # through the data (pattern p is on at V1[p] and V2[p]) and on c through its mean over the patterns
        slope = ph0 * (1 - ph0)                                                           # (S, N, H)
        grad_W = grad_W + np.concatenate([slope, slope], 1) * inv_n * pull[:, None, :]
        grad_c = grad_c + slope.sum(1) * inv_n * pull
    else:
        grad_c = grad_c + pull
    for V, P, G in ((VW, W, grad_W), (Vb, b, grad_b), (Vc, c, grad_c)):
        V *= dtype.type(learner.momentum)
        V += dtype.type(learner.lr) * G
        P += V


# How the sparsity pull enters the update. The recipe's code differentiates its penalty through the hidden sigmoid
# (FACTS-checked by a literal transcription of its step, tests/test_cdk_recipe.py); "bias" is this project's
# earlier reading, kept so the two can be measured side by side (docs/boltzmann.md).
SPARSITY_FORMS = {"recipe": "as the recipe's code: the gradient of the penalty through the sigmoid, with p(1-p) of "
                            "the positive phase, on W (through the data) and on the hidden biases",
                  "bias": "the pull sparsity * (target - mean p) added to the hidden biases only (no sigmoid "
                          "factor, nothing on W): this project's reading before it was checked against the code"}


class CDk:
    """The public CD-k recipe as a learner of training_loop.fit (one epoch = `updates` full-batch updates).
    Settings: none per network. k >= 1 Gibbs steps from the data; the last hidden step uses probabilities.
    Training runs in float32 (the recipe's own code used it) in the compiled kernel compiled_kernels.cd_epoch,
    which does what cd_update does; cd_update stays the readable reference and works in any dtype."""
    min_stop_epoch = 1

    def __init__(self, shape=DEFAULT_SHAPE, k=5, lr=0.1, momentum=0.5, decay=1e-4, sparsity=5.0, target=0.5,
                 init_scale=0.3, updates=16, sparsity_form="recipe"):
        shape = parse_size(shape)
        if shape.n_hidden > MAX_READOUT_HIDDEN:
            raise ValueError(f"the exact readout enumerates 2^H hidden states: H must be <= {MAX_READOUT_HIDDEN}")
        s = CDkSettings(k=k, lr=lr, momentum=momentum, decay=decay, sparsity=sparsity, target=target,
                        init_scale=init_scale, updates=updates, sparsity_form=sparsity_form)        # the checks
        self.shape, self.k, self.lr, self.momentum = shape, s.k, s.lr, s.momentum
        self.decay, self.sparsity, self.target = s.decay, s.sparsity, s.target
        self.sparsity_form, self.init_scale, self.updates = s.sparsity_form, s.init_scale, s.updates
        n, h = shape.n_patterns, shape.n_hidden
        self.n_params = 2 * n * h + 2 * n + h
        self.uniforms_per_update = k * n * (h + 2 * n)

    def init(self, seed, attempt=0):
        """(params (P,) float32, the network's random stream): W ~ init_scale * N(0, 1), biases 0."""
        rng = network_rng(int(seed), attempt)
        params = np.zeros(self.n_params, np.float32)
        W, _, _ = rbm_unpack(params, self.shape)
        W[...] = self.init_scale * rng.standard_normal(W.shape)
        return params, rng

    def kernel_constants(self):
        """The shape and recipe constants in the order compiled_kernels.cd_network takes them."""
        f = np.float32
        return (self.shape.n_patterns, self.shape.n_hidden, self.k, f(self.lr), f(self.momentum), f(self.decay),
                f(self.sparsity), f(self.target), self.sparsity_form == "recipe")

    def start(self, seeds, settings):
        return _CDkBatch(self, np.asarray(seeds, np.int64))

    def readout(self, params):
        return rbm_readout(params, self.shape)


class _CDkBatch:
    """S RBMs; each keeps its numpy PCG64 stream as a state row that the compiled kernel advances, so it draws
    exactly the numbers Generator.random(dtype=np.float32) would."""

    def __init__(self, learner, seeds):
        self.learner, self.shape, self.seeds = learner, learner.shape, seeds
        pairs = [learner.init(s) for s in seeds]
        self.params = np.stack([p for p, _ in pairs])
        self.streams = np.stack([pcg64_state(r) for _, r in pairs])
        self.velocity = np.zeros_like(self.params)
        self._uniforms = np.empty((learner.updates, learner.uniforms_per_update), np.float32)
        self._readout()

    def _readout(self):
        self.code_index, self.hidden, self.outputs = rbm_readout(self.params, self.shape)

    def codes(self):
        return self.code_index

    def step(self):
        """One epoch: `updates` full-batch CD-k updates of every network."""
        cd_epoch(self.params, self.velocity, self.streams, self._uniforms, *self.learner.kernel_constants())
        self._readout()

    def restart(self, rows, attempts):
        for i, attempt in zip(rows, attempts):
            self.params[i], rng = self.learner.init(self.seeds[i], attempt)
            self.streams[i] = pcg64_state(rng)
            self.velocity[i] = 0.0
        self._readout()

    def keep(self, mask):
        self.seeds, self.params, self.velocity = self.seeds[mask], self.params[mask], self.velocity[mask]
        self.streams = self.streams[mask]
        self.code_index, self.hidden, self.outputs = self.code_index[mask], self.hidden[mask], self.outputs[mask]




# ------------------------------------------------------------------------------------------- the settings
MAX_K = 1000                     # Gibbs steps per update; beyond this one update of one network takes seconds
MAX_TIME_UNITS = 10_000          # time units of a whole annealing schedule, and of the statistics collection


def parse_schedule(text):
    """'2@20,2@15,2@12,4@10' -> ((20.0, 2), (15.0, 2), (12.0, 2), (10.0, 4)): time units at a temperature."""
    stages = []
    for part in str(text).split(","):
        units, at, temperature = part.strip().partition("@")
        try:
            stage = (float(temperature), int(units))
        except ValueError:
            raise ValueError(f"bad schedule {text!r}: {part!r} is not UNITS@TEMPERATURE") from None
        if not at:
            raise ValueError(f"bad schedule {text!r}: {part!r} is not UNITS@TEMPERATURE")
        stages.append(stage)
    return tuple(stages)


def check_schedule(schedule):
    """A non-empty sequence of (temperature > 0, time units >= 1) stages."""
    try:
        stages = tuple((t, u) for t, u in schedule)
    except (TypeError, ValueError):
        raise ValueError(f"the schedule must be (temperature, time units) pairs, got {schedule!r}") from None
    if not stages:
        raise ValueError("the annealing schedule is empty")
    stages = tuple((check.check_temperature(t, "a schedule temperature"),
                    check.check_positive_int(u, "a schedule stage's time units")) for t, u in stages)
    if sum(u for _, u in stages) > MAX_TIME_UNITS:
        raise ValueError(f"the schedule's time units must add up to at most {MAX_TIME_UNITS}, got "
                         f"{sum(u for _, u in stages):,}")
    return stages


def _in(low, high, name, low_open=True, high_open=False):
    return lambda v: check.check_real_in(v, name, low, high, low_open=low_open, high_open=high_open)


def _one_of(choices, name):
    return lambda v: check.check_choice(v, choices, name)


def _int_in(low, high, name):
    def checked(value):
        value = check.check_positive_int(value, name) if low == 1 else check.check_count(value, name)
        if value > high:
            raise ValueError(f"{name} must be <= {high}, got {value}")
        return value
    return checked


@dataclass(frozen=True)
class CDkSettings(Settings):
    """The public CD-k recipe's constants (its defaults are the recipe's)."""
    k: int = setting(5, f"Gibbs steps per update, 1 to {MAX_K}", _int_in(1, MAX_K, "k"))
    lr: float = setting(0.1, "learning rate", _in(0, check.MAX_LR, "lr"))
    momentum: float = setting(0.5, "momentum, in [0, 1)", check.check_momentum)
    decay: float = setting(1e-4, "weight decay on the weights, in [0, 1)", _in(0, 1, "decay", False, True))
    sparsity: float = setting(5.0, "weight of the pull of each hidden unit's mean positive-phase probability to "
                                   "--target, >= 0", _in(0, 1e3, "sparsity", low_open=False))
    target: float = setting(0.5, "the hidden units' target mean probability, in (0, 1)",
                            _in(0, 1, "target", high_open=True))
    init_scale: float = setting(0.3, "initial weights ~ s N(0, 1)", check.check_init_scale, metavar="S")
    updates: int = setting(16, "full-batch updates per epoch, 1 to 1000", _int_in(1, 1000, "updates"))
    sparsity_form: str = setting("recipe", "how the sparsity pull enters the update: " + "; ".join(
        f"{k}: {v}" for k, v in SPARSITY_FORMS.items()), _one_of(tuple(SPARSITY_FORMS), "sparsity-form"),
                                 metavar="FORM")


@dataclass(frozen=True)
class AHS85Settings(Settings):
    """The 1985 procedure's constants and the choices the paper leaves open."""
    stats: str = setting("unit", "collect statistics once per time unit (unit) or after every probe (probe)",
                         _one_of(("unit", "probe"), "stats"))
    noise: str = setting("settling", "draw the clamping noise for every settling (settling) or once per pattern "
                                     "and cycle (pattern)", _one_of(("settling", "pattern"), "noise"))
    noise_on_off: float = setting(None, "probability that an on bit is clamped off, in [0, 1) (default 0.15; 0.1 "
                                        "above N = 12)", _in(0, 1, "noise-on-off", False, True), metavar="P")
    noise_off_on: float = setting(None, "probability that an off bit is clamped on, in [0, 1) (default 0.02; 0.05 "
                                        "for N <= 4; 0.0025 above N = 12)", _in(0, 1, "noise-off-on", False, True),
                                  metavar="P")
    visible_cycles: int = setting(None, "the first learning cycles run without the hidden units: they stay off, only "
                                        "the visible groups' own weights learn, and the clamping is clean (default 0; "
                                        "300 above N = 12, as in the 40-10-40 experiment)",
                                  _int_in(0, check.MAX_EPOCHS, "visible-cycles"), metavar="CYCLES")
    clean_after: int = setting(None, "clamp without noise after this learning cycle, 0: never (default 0; 800 above "
                                     "N = 12: 500 noisy cycles after the visible ones, then clean, as in the 40-10-40 "
                                     "experiment)", _int_in(0, check.MAX_EPOCHS, "clean-after"), metavar="CYCLE")
    completion_trials: int = setting(None, "after training, anneal each pattern this many times with V1 clamped "
                                           "clean, H and V2 free as in a training settling: the completion accuracy "
                                           "is the share that end with V2 exactly the pattern (default 0: not "
                                           "measured; 10 above N = 12)",
                                     _int_in(0, 1000, "completion-trials"), metavar="TRIALS")
    completion_schedule: tuple = setting(None, "annealing schedule of the completion test, UNITS@TEMPERATURE,... "
                                               "(default: --schedule's); its --collect-units at --temperature follow",
                                         check_schedule, parse=parse_schedule, metavar="SCHEDULE")
    step: float = setting(2.0, "the fixed weight step of a learning cycle, > 0", _in(0, 1e3, "step"))
    schedule: tuple = setting(AHS85_SCHEDULE, "annealing schedule, UNITS@TEMPERATURE,... (default "
                                              "2@20,2@15,2@12,4@10)", check_schedule, parse=parse_schedule,
                              metavar="SCHEDULE")
    collect_units: int = setting(10, "time units of statistics collection after annealing",
                                 _int_in(1, MAX_TIME_UNITS, "collect-units"), metavar="UNITS")
    temperature: float = setting(10.0, f"temperature of the statistics and of the readout, in [{check.MIN_TEMPERATURE:g}, "
                                       f"{check.MAX_TEMPERATURE:g}]", check.check_temperature)
    readout_temperature: float = setting(None, "temperature of the exact readout alone (default: --temperature)",
                                         lambda v: check.check_temperature(v, "readout temperature"))
    tie: str = setting("none", "a weight with p_ij = p'_ij (the paper is silent): " + "; ".join(
        f"{k}: {v}" for k, v in TIE_RULES.items()), _one_of(tuple(TIE_RULES), "tie"))
    codes_from: str = setting(None, "how the codes are read (the paper is silent): " + "; ".join(
        f"{k}: {v}" for k, v in CODES_FROM.items()) + " (default v1; clamped above N = 12, beyond the exact "
                                                      "readout)", _one_of(tuple(CODES_FROM), "codes-from"),
                              metavar="READOUT")

    def resolve(self):
        return {"readout_temperature": self.temperature} if self.readout_temperature is None else {}


def make_cdk(shape, settings, loop=None):
    s = settings
    return CDk(shape, k=s.k, lr=s.lr, momentum=s.momentum, decay=s.decay, sparsity=s.sparsity, target=s.target,
               init_scale=s.init_scale, updates=s.updates, sparsity_form=s.sparsity_form)


def make_ahs85(shape, settings, loop=None):
    s = settings
    return AHS85(shape, stats=s.stats, noise=s.noise, noise_on_off=s.noise_on_off, noise_off_on=s.noise_off_on,
                 step=s.step, schedule=s.schedule, collect_units=s.collect_units, collect_temperature=s.temperature,
                 readout_temperature=s.readout_temperature, tie=s.tie, codes_from=s.codes_from,
                 visible_cycles=s.visible_cycles, clean_after=s.clean_after, completion_trials=s.completion_trials,
                 completion_schedule=s.completion_schedule)


def ahs85_bytes(shape, settings, n_networks):
    """The memory bound's figure for n 1985 networks: each one's weights (float64, and float32 while settling), a
    cycle's uniforms, the free phase's per-probe thresholds (two float32 arrays at once) and samples, and the exact
    readout, which holds three (2^N, 2^H) float64 arrays at once (measured: tests/test_bounds.py); above N = 12 the
    readout's (N, N) arrays instead, and one network's completion test at a time."""
    N, H = shape.n_patterns, shape.n_hidden
    units, free, chains = 2 * N + H + 1, 2 * N + H, 2 * N
    time_units = sum(u for _, u in settings.schedule) + settings.collect_units
    uniforms = chains * time_units * (H + free) * 2 + 2 * N * chains + 2 * chains * units
    samples = chains * settings.collect_units * (free if settings.stats == "probe" else 1) * units
    readout = 24 * 2 ** N * 2 ** H if N <= MAX_READOUT_PATTERNS else 24 * N * (N + H)
    per_network = 12 * units * units + 4 * uniforms + 8 * chains * time_units * free + 4 * samples + readout
    tested = N * LEARNERS["ahs85"].sized(shape, settings).completion_trials      # chains of the completion test
    probes = (sum(u for _, u in settings.completion_schedule or settings.schedule) + settings.collect_units) * (N + H)
    completion = tested * (4 * (2 * probes + units) * 2 + 12 * probes + 4 * settings.collect_units * units)
    return n_networks * per_network + completion


def cdk_bytes(shape, settings, n_networks):
    """The memory bound's figure for n RBMs: each one's parameters and velocities (float32) and the exact
    readout's arrays over its 2^H hidden states (five (2^H, N) float64 arrays at once, measured); and the uniforms
    of an epoch, which one buffer holds for the whole stack."""
    N, H = shape.n_patterns, shape.n_hidden
    per_network = 8 * (2 * N * H + 2 * N + H) + 40 * 2 ** H * N
    return n_networks * per_network + 4 * settings.updates * settings.k * N * (H + 2 * N)


def _rule(result, i):
    extra = {"completion": float(result.columns["completion"][i])} if "completion" in result.columns else {}
    return {"rule": result.learner, **extra}


def _named_params(row, shape):
    return {"params": row.tolist()}


_COMMON = dict(run_fields=_rule, named_params=_named_params)
LEARNERS = {
    "cdk": LearnerSpec(name="cdk", title="the public CD-k recipe: a bipartite RBM trained by contrastive divergence",
                       settings=CDkSettings, make=make_cdk, can_restart=True,
                       update_unit="one full-batch CD-k update", updates_per_epoch=lambda shape, s: s.updates,
                       loop_defaults={"epochs": 4000, "early_stop": False, "patience": 250, "max_restarts": 20},
                       bytes_needed=cdk_bytes, **_COMMON),
    "ahs85": LearnerSpec(name="ahs85", title="Ackley, Hinton & Sejnowski (1985): the 1985 learning procedure",
                         settings=AHS85Settings, make=make_ahs85, can_restart=False,
                         update_unit="one learning cycle (2N clamped and 2N free annealings, one weight change)",
                         updates_per_epoch=lambda shape, s: 1, loop_defaults={"epochs": 4000, "early_stop": False},
                         bytes_needed=ahs85_bytes, size_defaults=paper_defaults, **_COMMON),
}


def sweep_boltzmann(seeds, rule="cdk", n_epochs=4000, *, size=DEFAULT_SHAPE, early_stop=False, patience="default",
                    max_restarts=20, return_weights=False, progress=None, observer=None, workers=1, executor=None,
                    chunk_size=None, **options):
    """Train one Boltzmann network per seed, all together; one dict per network, in input order
    (training_loop.sweep with the `rule` learner, as records).

    An epoch is one learning cycle (ahs85) or one epoch of `updates` CD-k updates (cdk). Each dict: seed, rule,
    size, solved (at the last epoch run), epochs, solve_epoch (first epoch solved, or None),
    first_epoch_n_minus_1_codes and first_epoch_n_codes (first epoch with N - 1 and N distinct dominant codes,
    or None), n_distinct_codes, accuracy, codes (the dominant code of each pattern), restarts, restart_epochs,
    and with return_weights the parameters. patience "default" is the rule's own (cdk: 250 epochs, at most
    max_restarts restarts; ahs85: none). options are fields of CDkSettings or AHS85Settings.
    """
    rule = check.check_choice(rule, LEARNERS, "rule")
    return_weights = check.check_bool(return_weights, "return_weights")
    loop = {"epochs": n_epochs, "early_stop": early_stop, "max_restarts": max_restarts}
    if patience != "default":
        loop["patience"] = patience
    result = sweep(rule, seeds, options, loop, size=size, progress=progress, observer=observer, workers=workers,
                   executor=executor, chunk_size=chunk_size)
    return result.records(weights=return_weights)
