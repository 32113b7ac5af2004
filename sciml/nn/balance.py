"""Adaptive weights of physics-informed loss terms: gradient-norm balancing.

Wang, Teng & Perdikaris, "Understanding and mitigating gradient flow pathologies in
physics-informed neural networks", SIAM J. Sci. Comput. 43 (2021) introduced learning-rate
annealing: weights set from the gradients of the terms, smoothed by a moving average. This is
the form of Wang et al., "An expert's guide to training physics-informed neural networks"
(2023), which balances the gradient norms themselves:

    lambda_i = (sum_j |grad L_j|) / |grad L_i|,    lambda <- alpha lambda + (1 - alpha) lambda_new

every ``every`` steps, so that every term pulls on the parameters with the same strength
whatever its units, the number of boundary pieces or the size of the problem. The weights carry
no gradient; they are part of training checkpoints. Why this scheme rather than NTK weights or
self-adaptive weights: it needs one extra backward pass per term every ``every`` steps (NTK
weights need a Jacobian per point, self-adaptive weights a second optimiser and as many new
parameters as points), and on the development set of ``sciml benchmark robust`` it is what
removes the stall at a constant (docs/benchmarks.md).
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import torch


class GradNormBalance:
    """Gradient-norm balancing of named loss terms.

    Parameters
    ----------
    every
        Steps between updates (the first step always updates).
    alpha
        Moving-average factor of the weights (0.9 in the papers).
    max_weight
        Upper bound of a weight relative to the smallest one (a term whose gradient vanishes,
        say a boundary condition already met, must not take over). 100 by measurement: with
        1e4 a well-met Neumann condition at re-entrant corners took weights of 700-2,000 and
        held the residual (star-shaped reaction-diffusion 0.20, 3D inclusions 0.32); at 100
        the development set meets 13 of 14 bounds instead of 12 (docs/benchmarks.md).
    caps
        Bounds of particular terms that replace ``max_weight`` for them: the data term of an
        inverse problem carries the only information on its unknowns and must keep pulling
        once the data are nearly met (at 100 a source amplitude came back 1.1% off and a
        conductivity field 10%, at 1e4 0.05% and 3.2%; ``pinn``, 120 s).

    Examples
    --------
    >>> import torch
    >>> w = torch.nn.Parameter(torch.ones(2))
    >>> b = GradNormBalance(every=1)
    >>> weights = b.update(0, {"a": (w ** 2).sum(), "b": 100 * w.sum()}, [w])
    >>> round(weights["a"] / weights["b"], 3)  # the small term's weight is raised 50-fold
    50.0
    """

    def __init__(self, every: int = 100, alpha: float = 0.9, max_weight: float = 100.0,
                 caps: Mapping[str, float] | None = None):
        if every < 1 or not 0 <= alpha < 1 or not max_weight >= 1 or any(not c >= 1 for c in (caps or {}).values()):
            raise ValueError("balance: every >= 1, 0 <= alpha < 1 and max_weight (and caps) >= 1")
        self.every, self.alpha, self.max_weight = every, alpha, max_weight
        self.caps = dict(caps or {})
        self.weights: dict[str, float] = {}

    def due(self, step: int) -> bool:
        return not self.weights or step % self.every == 0

    def update(self, step: int, terms: Mapping[str, torch.Tensor], params: Sequence[torch.Tensor]) -> dict[str, float]:
        """New weights from the gradients of ``terms`` (when :meth:`due`); returns the weights."""
        if not self.due(step):
            return self.weights
        norms = {}
        for name, value in terms.items():
            grads = torch.autograd.grad(value, params, retain_graph=True, allow_unused=True)
            sq = sum(float(g.pow(2).sum()) for g in grads if g is not None)
            norms[name] = math.sqrt(sq)
        total = sum(n for n in norms.values() if math.isfinite(n))
        fresh = {name: total / n for name, n in norms.items() if math.isfinite(n) and n > 0}
        if fresh:
            low = min(fresh.values())
            fresh = {k: min(v, low * self.caps.get(k, self.max_weight)) for k, v in fresh.items()}
        for name, value in fresh.items():
            old = self.weights.get(name)
            self.weights[name] = value if old is None else self.alpha * old + (1 - self.alpha) * value
        return self.weights

    def state_dict(self) -> dict[str, Any]:
        return {"weights": dict(self.weights)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.weights = dict(state["weights"])
