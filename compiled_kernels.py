"""Compiled (numba) inner loops of the Boltzmann learners: the parts that are a long chain of tiny steps, where
numpy pays a call per step. Each does the same float32 arithmetic as the numpy expressions it replaced, so the
results are the same bit for bit: tests/test_boltzmann_kernels.py holds the 1985 cycle to an independent pure-Python
version exactly, and tests/test_boltzmann.py pins a run's final weights as the numpy version left them.

    odds(uniforms)                                  u / (1 - u) of each probe's deciding number
    settle(W, states, uniforms, thresholds, free, collect, samples)   the 1985 procedure's single-unit probes
"""
import numpy as np
from numba import njit


@njit(cache=True)
def odds(uniforms):
    """u / (1 - u) for the second number of every (unit, decision) pair: uniforms (S, C, P, 2) -> (S, C, P)."""
    S, C, P, _ = uniforms.shape
    out = np.empty((S, C, P), np.float32)
    for s in range(S):
        for c in range(C):
            for p in range(P):
                u = uniforms[s, c, p, 1]
                out[s, c, p] = u / (np.float32(1.0) - u)
    return out


# The fields are sums of integers below 2^24, exact in float32 in any order, so letting the compiler reorder
# (vectorise) them changes no bit.
@njit(cache=True, fastmath={"reassoc"})
def settle(W, states, uniforms, thresholds, free, collect, samples):
    """Run the probes of every chain in place, copying each chain's state into samples at every statistics
    point.

    W (S, n, n) float32 weights (integers, so every field is exact); states (S, C, n) float32 0/1;
    uniforms (S, C, P, 2) float32: the first number of probe p picks unit free[int(u * len(free))];
    thresholds (S, C, P) float32: the value its field must exceed to turn the unit on (T * logit(u));
    collect (P,) bool: sample the chain after this probe; samples (S, C, collect.sum(), n) float32, filled.
    Chains are independent, so running each to its end in turn gives what running all chains probe by probe
    gives."""
    S, C, n = states.shape
    P = thresholds.shape[2]
    width = np.float32(len(free))
    for s in range(S):
        for c in range(C):
            state = states[s, c]
            taken = 0
            for p in range(P):
                k = free[int(uniforms[s, c, p, 0] * width)]
                field = np.float32(0.0)
                for j in range(n):
                    field += W[s, k, j] * state[j]
                state[k] = np.float32(1.0) if field > thresholds[s, c, p] else np.float32(0.0)
                if collect[p]:
                    samples[s, c, taken] = state
                    taken += 1



def warm_up():
    """Compile every kernel now (and write numba's cache) for the array layouts the learner passes: the uniforms
    are a slice of each network's row of random numbers, contiguous for one network and strided for several."""
    for n_networks in (1, 2):
        uniforms = np.split(np.full((n_networks, 8), 0.5, np.float32), [4], axis=-1)[0].reshape(n_networks, 1, 2, 2)
        odds(uniforms)
        settle(np.zeros((n_networks, 2, 2), np.float32), np.zeros((n_networks, 1, 2), np.float32), uniforms,
               np.zeros((n_networks, 1, 2), np.float32), np.arange(2), np.array([True, False]),
               np.zeros((n_networks, 1, 1, 2), np.float32))
