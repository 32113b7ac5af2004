"""Time stepping a neural field by optimisation: the pieces INSR (Chen et al., ICML 2023)
builds on, independent of the PDE.

* :class:`TimeStepJet` turns a field's jet at the new and old weights into the jet a
  time-discrete residual reads (theta-scheme blend in space, difference quotient in time), so
  any residual of :mod:`sciml.nn.physics` becomes a step residual;
* :func:`fit_step` is one step's optimisation: a fresh Adam, a fixed iteration count or the
  paper's plateau rule;
* :class:`Snapshots` keeps the weights of the steps and evaluates the field at any ``(x, t)``.
"""

from __future__ import annotations

import copy
import math
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import nn
from torch.func import functional_call

from ..errors import ProblemError
from .jet import Field, Jet
from .trainer import TrainingDiverged

Closure = Callable[[], tuple[torch.Tensor, dict[str, torch.Tensor]]]


class TimeStepJet(Jet):
    """The jet a time-discrete residual reads: value and space derivatives of
    ``theta u + (1 - theta) u_n`` and, in the time column ``tcol``, ``(u - u_n) / dt``.

    ``theta`` is 0 (explicit Euler: ``new`` may be a value-only jet), 1/2 (midpoint) or 1
    (implicit Euler).
    """

    def __init__(self, new: Jet, old: Jet, theta: float, dt: float, tcol: int):
        self.new, self.old, self.theta, self.tcol = new, old, theta, tcol
        self.rate = (new.value - old.value) / dt
        self.value = self._blend(lambda: new.value, old.value)

    def _blend(self, new: Callable[[], torch.Tensor], old: torch.Tensor) -> torch.Tensor:
        if self.theta == 0.0:
            return old
        return old + self.theta * (new() - old)

    def d(self, i: int) -> torch.Tensor:
        if i == self.tcol:
            return self.rate
        return self._blend(lambda: self.new.d(i), self.old.d(i))

    def dd(self, i: int, j: int) -> torch.Tensor:
        return self._blend(lambda: self.new.dd(i, j), self.old.dd(i, j))

    def derivative(self, axes: Sequence[int]) -> torch.Tensor:
        """Space derivatives of any order the networks give, blended; ``u_t`` the step's rate.
        A scheme of first order in time has no second time derivative, and mixed space-time
        derivatives are not formed: both are refused with the way out."""
        n_t = sum(a == self.tcol for a in axes)
        if n_t == 0:
            return self._blend(lambda: self.new.derivative(axes), self.old.derivative(axes))
        if len(axes) == 1:
            return self.rate
        raise ProblemError("a time-stepped field (insr) advances equations of first order in time with no "
                           "mixed space-time derivative: write a second-order equation as a first-order "
                           "system (u_t = v, v_t = ...), or use pinn or pig")


class SpatialView(Field):
    """A space-only field read at space-time points (the time column ignored)."""

    def __init__(self, field: Field, dim: int):
        super().__init__()
        self.field, self.dim = field, dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.field(x[:, : self.dim])

    def jet(self, x: torch.Tensor, order: int = 2, pairs: Sequence[tuple[int, int]] = ()) -> Jet:
        return self.field.jet(x[:, : self.dim], order, pairs)


def fit_step(net: nn.Module, closure: Closure, iters: int, lr: float, plateau: bool = False,
             main: str = "res", where: str = "") -> tuple[int, dict[str, float]]:
    """Minimise ``closure()`` over ``net``'s weights with a fresh Adam.

    Parameters
    ----------
    iters
        Iterations (the cap when ``plateau``).
    plateau
        The INSR code's rule: the learning rate is divided by 10 after 500 iterations without
        improvement of the ``main`` term, and the fit stops when it falls below 1.1e-8.
    where
        Where the fit is, for the error message when the loss turns NaN/inf.

    Returns
    -------
    iterations, terms
        Iterations run and the loss terms of the last one.
    """
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    sched = (torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.1, patience=500, min_lr=1e-8)
             if plateau else None)
    terms: dict[str, torch.Tensor] = {}
    it = 0
    for it in range(iters):
        opt.zero_grad(set_to_none=True)
        total, terms = closure()
        if not torch.isfinite(total):
            raise TrainingDiverged(f"the loss became {float(total)} at {where}, iteration {it}; "
                                   "try a smaller dt or lr")
        total.backward()
        opt.step()
        if sched is not None:
            sched.step(float(terms[main].detach()))
            if opt.param_groups[0]["lr"] <= 1.1e-8:
                break
    return it + 1, {k: float(v.detach()) for k, v in terms.items()}


def copy_frozen(net: nn.Module) -> nn.Module:
    """A copy of ``net`` whose parameters do not require gradients."""
    twin = copy.deepcopy(net)
    for p in twin.parameters():
        p.requires_grad_(False)
    return twin


MAX_STEPS = 1_000_000


def time_grid(start: float, end: float, dt: float) -> tuple[int, float]:
    """Number of steps and the step that ends exactly at ``end`` (``dt`` shortened if needed);
    more than :data:`MAX_STEPS` is refused (a ``dt`` far too small for the interval)."""
    steps = (end - start) / dt
    if steps > MAX_STEPS:
        raise ProblemError(f"dt = {dt:g} makes {steps:.3g} time steps over [{start:g}, {end:g}] "
                           f"(at most {MAX_STEPS:,})")
    n = max(1, math.ceil(steps - 1e-9))
    return n, (end - start) / n


class Snapshots:
    """Kept weights ``(t_k, state_k)`` of a field ``net`` with ``dim`` inputs and ``n_out``
    outputs; called on points ``(n, dim + 1)`` it returns the field, linear in time between
    kept steps (constant outside them)."""

    def __init__(self, net: nn.Module, dim: int, n_out: int):
        self.net, self.dim, self.n_out = net, dim, n_out
        self.times: list[float] = []
        self.states: list[dict[str, torch.Tensor]] = []

    def keep(self, t: float) -> None:
        self.times.append(float(t))
        self.states.append({k: v.detach().clone() for k, v in self.net.state_dict().items()})

    def _field(self, k: int, x: torch.Tensor) -> np.ndarray:
        with torch.no_grad():
            y = functional_call(self.net, self.states[k], (x,))
        return y.double().cpu().numpy()

    def __call__(self, points: np.ndarray) -> np.ndarray:
        param = next(self.net.parameters())
        times = np.asarray(self.times)
        t = points[:, self.dim]
        k = np.clip(np.searchsorted(times, t, side="right") - 1, 0, max(len(times) - 2, 0))
        out = np.zeros((len(points), self.n_out))
        order = np.argsort(k, kind="stable")
        ks, starts = np.unique(k[order], return_index=True)
        for kk, idx in zip(ks, np.split(order, starts[1:])):
            x = torch.as_tensor(points[idx, : self.dim], dtype=param.dtype, device=param.device)
            a = self._field(kk, x)
            if len(times) == 1:
                out[idx] = a
                continue
            w = np.clip((t[idx] - times[kk]) / (times[kk + 1] - times[kk]), 0.0, 1.0)[:, None]
            out[idx] = (1 - w) * a + w * self._field(kk + 1, x)
        return out

    def state_dict(self) -> dict[str, Any]:
        return {"times": self.times, "states": self.states}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.times, self.states = list(state["times"]), list(state["states"])
