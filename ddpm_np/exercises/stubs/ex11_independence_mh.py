"""Exercise 11 — independence Metropolis–Hastings: making a generative sampler exact."""
import numpy as np


def independence_mh(log_w, rng: np.random.Generator):
    """Run the independence Metropolis–Hastings chain over N proposals, in their order.

    log_w: (N,) log wᵢ = log p(φᵢ) − log q(φᵢ) (up to one constant) of independent proposals
    φᵢ ~ q; the chain starts at proposal 0 and, at step i, moves to proposal i with probability
    min(1, w_i / w_current).
    Returns (index (N,) int: the proposal the chain holds at each step,
             accepted (N−1,) bool: whether step i = 1..N−1 moved).
    """
    raise NotImplementedError(
        "ex11: accept proposal i with probability min(1, exp(log_w[i] − log_w[current])) "
        "(`ddpm-np exercises --hint 11` says more)")
