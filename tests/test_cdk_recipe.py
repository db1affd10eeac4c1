"""CD-k as the public recipe's code computes it: our update against a literal transcription of the recipe's step
(the Boltzmann 8-3-8 sibling of the hinton-problems collection, encoder-8-3-8/encoder_8_3_8.py: its `cd_step`, the
sparsity block of its training loop and its momentum update), replayed on the same random numbers."""
import numpy as np
import pytest

import boltzmann_learners as B
import compiled_kernels as C
from training_loop import parse_size

N, H, K = 8, 3, 5


def recipe_sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.clip(x, -50, 50)))


def recipe_update(W, b_v, b_h, vW, vbv, vbh, draw, sparsity_form="recipe"):
    """One update of the recipe, transcribed statement by statement; draw(shape) stands for rbm.rng.random(shape)
    and is called in the recipe's order: (8, 3), then (8, 16), (8, 3) per Gibbs step. The batch is in pattern
    order (the recipe shuffles its rows each update, which only relabels them: every statistic is a mean)."""
    batch = np.concatenate([np.eye(N), np.eye(N)], 1).astype(np.float32)
    # cd_step(batch, k=5), every step at T = 1
    h_prob_pos = recipe_sigmoid(batch @ W + b_h)
    h_pos = (draw(h_prob_pos.shape) < h_prob_pos).astype(np.float32)
    v_neg, h_prob_neg = batch, h_prob_pos
    for _ in range(K):
        v_prob = recipe_sigmoid(h_pos @ W.T + b_v)
        v_neg = (draw(v_prob.shape) < v_prob).astype(np.float32)
        h_prob_neg = recipe_sigmoid(v_neg @ W + b_h)
        h_pos = (draw(h_prob_neg.shape) < h_prob_neg).astype(np.float32)
    n = batch.shape[0]
    dW = (batch.T @ h_prob_pos - v_neg.T @ h_prob_neg) / n
    dbv = (batch - v_neg).mean(axis=0)
    dbh = (h_prob_pos - h_prob_neg).mean(axis=0)
    # the sparsity block of the training loop (sparsity_weight 5, target_h_mean 0.5)
    h_prob = recipe_sigmoid(batch @ W + b_h)
    d_act = 0.5 - h_prob.mean(axis=0)
    if sparsity_form == "recipe":
        grad_factor = h_prob * (1 - h_prob)
        dW = dW + 5.0 * ((batch.T @ grad_factor) / batch.shape[0] * d_act)
        dbh = dbh + 5.0 * (grad_factor.mean(axis=0) * d_act)
    else:                                                   # this project's earlier reading, for contrast
        dbh = dbh + 5.0 * d_act
    # momentum 0.5, lr 0.1, weight decay 1e-4 on W; parameters ascend
    vW = 0.5 * vW + 0.1 * (dW - 1e-4 * W)
    vbv = 0.5 * vbv + 0.1 * dbv
    vbh = 0.5 * vbh + 0.1 * dbh
    return W + vW, b_v + vbv, b_h + vbh, vW, vbv, vbh


def recipe_draws(rng, dtype):
    """The recipe's random numbers of one update in its order, and the same numbers laid out as our learner reads
    them: per Gibbs step and pattern, H for the hidden sample, then 2N for the visible one (our learner does not
    draw the recipe's last, unused hidden sample)."""
    hidden = [rng.random((N, H)).astype(dtype)]
    visible = []
    for _ in range(K):
        visible.append(rng.random((N, 2 * N)).astype(dtype))
        hidden.append(rng.random((N, H)).astype(dtype))
    drawn = [hidden[0]] + [a for pair in zip(visible, hidden[1:]) for a in pair]
    ours = np.concatenate([np.concatenate([hidden[s], visible[s]], 1) for s in range(K)]).reshape(-1)
    return drawn, ours


def replay(drawn):
    """A stand-in for rbm.rng.random that gives back `drawn` in order, checking each shape asked for."""
    numbers = iter(drawn)

    def draw(shape):
        array = next(numbers)
        assert array.shape == shape
        return array
    return draw


def start(seed=4):
    learner = B.CDk(parse_size("8-3-8"), k=K)
    params, _ = learner.init(seed)
    return learner, params


@pytest.mark.parametrize("form", ["recipe", "bias"])
def test_our_update_is_the_recipes_step_on_the_same_random_numbers(form):
    learner, params = start()
    learner.sparsity_form = form
    W, b, c = (np.array(a, np.float32) for a in B.rbm_unpack(params, learner.shape))
    state = (W, b[None, :], c[None, :], np.zeros_like(W), np.zeros_like(b[None, :]), np.zeros_like(c[None, :]))
    ours, velocity = params[None].copy(), np.zeros_like(params[None])
    rng = np.random.default_rng(7)
    for _ in range(48):                                     # three epochs of 16 updates
        drawn, u = recipe_draws(rng, np.float64)            # the recipe's draws are float64
        state = recipe_update(*state, replay(drawn), form)
        B.cd_update(ours, velocity, u[None], learner)
    W_r, b_r, c_r = state[0], state[1][0], state[2][0]
    W, b, c = B.rbm_unpack(ours[0], learner.shape)
    assert max(np.abs(W - W_r).max(), np.abs(b - b_r).max(), np.abs(c - c_r).max()) <= 1e-6
    assert np.abs(W_r - B.rbm_unpack(params, learner.shape)[0]).max() > 0.05        # the weights moved


def test_the_compiled_kernel_is_the_recipes_step_and_differs_from_the_bias_only_form():
    learner, params = start(9)
    W, b, c = (np.array(a, np.float32) for a in B.rbm_unpack(params, learner.shape))
    recipe = bias = (W, b[None, :], c[None, :], np.zeros_like(W), np.zeros_like(b[None, :]), np.zeros_like(c[None, :]))
    kernel, velocity = params.copy(), np.zeros_like(params)
    rng = np.random.default_rng(8)
    for _ in range(3):                                      # the kernel runs an epoch per call
        epoch = [recipe_draws(rng, np.float32) for _ in range(learner.updates)]
        for drawn, _ in epoch:
            recipe = recipe_update(*recipe, replay(drawn), "recipe")
            bias = recipe_update(*bias, replay(drawn), "bias")
        C.cd_network(kernel, velocity, np.stack([u for _, u in epoch]), *learner.kernel_constants())
    W_k, b_k, c_k = B.rbm_unpack(kernel, learner.shape)
    assert max(np.abs(W_k - recipe[0]).max(), np.abs(b_k - recipe[1][0]).max(), np.abs(c_k - recipe[2][0]).max()) <= 1e-5
    assert np.abs(bias[2][0] - recipe[2][0]).max() > 1e-3                  # the two forms are told apart
