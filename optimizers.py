"""Learning rules for the sigmoid encoder: how a stack of networks moves, given its gradients.

Each optimizer works on flat parameter stacks P (k, n_params) with gradients G (k, n_params) of the loss
averaged over the N patterns, keeps its per-weight state in arrays shaped like P (so a batch can compact and
restart them row by row), and takes per-network hyper-parameters as (k, 1) columns.

    momentum   V = momentum * V + lr * G; P -= V                    (the published recipe; Rumelhart et al. 1986)
    quickprop  Fahlman (1988): a per-weight secant step from the current and previous slopes
    rprop      Riedmiller & Braun (1993), Rprop+ with weight backtracking
    irprop     iRprop- (Igel & Huesken 2000): Rprop without backtracking, a sign change zeroes the slope

A new optimizer is one class here and one entry in OPTIMIZERS. Its `arrays` is the number of (k, n_params) arrays
its state and its step's temporaries hold at once, for the memory bound (measured: tests/test_bounds.py).
"""
import numpy as np


def momentum_step(P, V, G, lr, momentum):
    """One update, in place: V = momentum * V + lr * G, then P -= V. G is scaled by lr in place.
    P, V, G (..., P) or any matching shapes; lr, momentum scalars or broadcastable, e.g. (S, 1)."""
    V *= momentum
    G *= lr
    V += G
    P -= V


class Momentum:
    """Full-batch gradient descent with momentum; the published recipe, bit for bit."""
    defaults = {"lr": 0.5, "init_scale": 0.1, "loss": "ce", "activation": "logistic"}
    uses = ("lr", "momentum")
    arrays = 1

    def new_state(self, P):
        return {"velocity": np.zeros_like(P)}

    def reset(self, state, rows):
        state["velocity"][rows] = 0.0

    def step(self, P, G, state, hyper, n_patterns):
        momentum_step(P, state["velocity"], G, hyper["lr"], hyper["momentum"])


class Quickprop:
    """Fahlman's quickprop, per weight, as his public 1988 code computes it.

    S = -(dE/dw summed over the N patterns) - decay * w is the current slope, S_prev the previous one, D the
    previous step. D > 0: step = (lr * S if S > 0 else 0) + (mu * D if S > mu / (1 + mu) * S_prev else the
    secant step S / (S_prev - S) * D); D < 0 mirrors it; D = 0 (the first step, or a weight that did not move):
    step = lr * S. mu = 1.75 bounds the growth of a step; weight decay 1e-4.
    """
    defaults = {"lr": 0.5, "init_scale": 0.7, "loss": "atanh", "activation": "symmetric"}
    uses = ("lr",)
    arrays = 7

    def __init__(self, mu=1.75, decay=1e-4):
        self.mu, self.decay = mu, decay

    def new_state(self, P):
        return {"slope": np.zeros_like(P), "step": np.zeros_like(P)}

    def reset(self, state, rows):
        state["slope"][rows] = 0.0
        state["step"][rows] = 0.0

    def step(self, P, G, state, hyper, n_patterns):
        mu, shrink = self.mu, self.mu / (1.0 + self.mu)
        S = -n_patterns * G - self.decay * P                   # the slope of the summed error, with decay
        S_prev, D = state["slope"], state["step"]
        up, down = D > 0, D < 0
        lr = hyper["lr"]
        grad_term = np.where(up, np.where(S > 0, lr * S, 0.0),
                             np.where(down, np.where(S < 0, lr * S, 0.0), lr * S))
        denominator = S_prev - S
        secant = np.divide(S * D, denominator, out=np.zeros_like(S), where=denominator != 0)
        capped = np.where(up, S > shrink * S_prev, S < shrink * S_prev)
        jump = np.where(up | down, np.where(capped, mu * D, secant), 0.0)
        new_step = grad_term + jump
        P += new_step
        state["slope"], state["step"] = S, new_step


class Rprop:
    """Rprop+ with weight backtracking (plus=True) or iRprop- (plus=False); eta+ 1.2, eta- 0.5, step sizes
    start at 0.1 and stay in [1e-6, 50]. Only the gradient's sign is used, so its scale does not matter."""
    defaults = {"lr": 0.5, "init_scale": 0.1, "loss": "ce", "activation": "logistic"}
    uses = ()
    arrays = 5

    def __init__(self, plus=True, eta_plus=1.2, eta_minus=0.5, delta0=0.1, delta_min=1e-6, delta_max=50.0):
        self.plus, self.eta_plus, self.eta_minus = plus, eta_plus, eta_minus
        self.delta0, self.delta_min, self.delta_max = delta0, delta_min, delta_max

    def new_state(self, P):
        return {"delta": np.full_like(P, self.delta0), "grad": np.zeros_like(P), "step": np.zeros_like(P)}

    def reset(self, state, rows):
        state["delta"][rows] = self.delta0
        state["grad"][rows] = 0.0
        state["step"][rows] = 0.0

    def step(self, P, G, state, hyper, n_patterns):
        agree = G * state["grad"]
        grow, flip = agree > 0, agree < 0
        delta = state["delta"]
        delta[grow] = np.minimum(delta[grow] * self.eta_plus, self.delta_max)
        delta[flip] = np.maximum(delta[flip] * self.eta_minus, self.delta_min)
        step = -np.sign(G) * delta
        if self.plus:                                       # Rprop+: take the last step back, then rest
            step[flip] = -state["step"][flip]
            G = np.where(flip, 0.0, G)
        else:                                               # iRprop-: no step where the sign flipped
            G = np.where(flip, 0.0, G)
            step = -np.sign(G) * delta
        P += step
        state["grad"], state["step"] = G, step


OPTIMIZERS = {"momentum": Momentum, "quickprop": Quickprop, "rprop": lambda: Rprop(plus=True),
              "irprop": lambda: Rprop(plus=False)}
OPTIMIZER_HELP = {"momentum": "momentum backprop, the published recipe (default)",
                  "quickprop": "Fahlman's quickprop (mu 1.75, weight decay 1e-4, --lr is its epsilon)",
                  "rprop": "Rprop+ with weight backtracking (eta+ 1.2, eta- 0.5, delta0 0.1, delta max 50)",
                  "irprop": "iRprop- (the same constants, no backtracking)"}
DEFAULTS = {"momentum": Momentum.defaults, "quickprop": Quickprop.defaults, "rprop": Rprop.defaults,
            "irprop": Rprop.defaults}
