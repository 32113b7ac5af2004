"""A dense BFGS for small physics-informed networks.

Plain Adam then L-BFGS stalls around 1e-3-1e-4 relative error on smooth problems; a full
quasi-Newton method reaches several digits more on networks of a few thousand parameters
(Urbán, Stefanou & Pons, "Unveiling the optimization process of physics informed neural
networks: how accurate and competitive can PINNs be?", JCP 523, 2025, who use self-scaled
Broyden updates). This is BFGS with a dense inverse Hessian ``H``:

    H <- (I - rho s y^T) H (I - rho y s^T) + rho s s^T,    rho = 1 / s^T y,

started from ``(s^T y / y^T y) I`` after the first step (Shanno & Phua) and driven by a
strong-Wolfe line search (SciPy's ``line_search``); vectors and ``H`` are float64 whatever the
network's precision. The Oren-Luenberger self-scaling of ``H`` at every iteration was tried and
converged more slowly on a small least-squares fit (8e-6 against 3e-8 after 300 iterations), so
it is not used. ``H`` costs ``8 n^2`` bytes: networks of at most 20,000 parameters.
"""

from __future__ import annotations

import warnings
from typing import Callable, Mapping, Sequence

import numpy as np
import torch
from scipy.optimize import line_search

from ..errors import ProblemError

MAX_PARAMS = 20000


def _flat(params: Sequence[torch.Tensor], grads: bool = False) -> torch.Tensor:
    parts = []
    for p in params:
        t = (p.grad if p.grad is not None else torch.zeros_like(p)) if grads else p.detach()
        parts.append(t.reshape(-1).double())
    return torch.cat(parts)


def _assign(params: Sequence[torch.Tensor], x: torch.Tensor) -> None:
    i = 0
    with torch.no_grad():
        for p in params:
            n = p.numel()
            p.copy_(x[i:i + n].reshape(p.shape).to(p.dtype))
            i += n


def _wolfe(at: Callable, x: np.ndarray, direction: np.ndarray, g: np.ndarray, f: float,
           old_f: float | None) -> float | None:
    """A strong-Wolfe step length along ``direction`` (None where the search fails; the failure
    is handled by the caller, so scipy's warning is not shown)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The line search algorithm")
        alpha, *_ = line_search(lambda z: at(z)[0], lambda z: at(z)[1], x, direction, g, f, old_f,
                                c2=0.9, maxiter=20)
    return None if alpha is None else float(alpha)


def _steepest(at: Callable, x: np.ndarray, direction: np.ndarray, g: np.ndarray, f: float,
              old_f: float | None) -> float | None:
    """A Wolfe step along the unit steepest-descent ``direction``: first scipy's own first trial
    (from the last decrease ``old_f``, else a unit step), then first trials of 1e-2, 1e-4 and
    1e-6: a network trained by Adam sits in a narrow valley where a unit step in parameter space
    is far too long for the search's bisections to bring down (after 2,000 Adam steps on the
    development set's disk advection problem the unit trial failed and BFGS took no step; the
    step it needed was 1e-5)."""
    slope = float(g @ direction)  # < 0
    for trial in (None, 1e-2, 1e-4, 1e-6):
        # scipy's first trial is min(1, 2.02 (f - old) / slope): choose ``old`` to make it ``trial``
        alpha = _wolfe(at, x, direction, g, f, old_f if trial is None else f - trial * slope / 2.02)
        if alpha is not None:
            return alpha
    return None


def dense_bfgs(params: Sequence[torch.Tensor],
                     evaluate: Callable[[], tuple[float, Mapping[str, torch.Tensor]]],
                     steps: int,
                     after: Callable[[int, float, Mapping[str, torch.Tensor]], bool]) -> None:
    """Minimise by BFGS with a dense inverse Hessian.

    Parameters
    ----------
    params
        The parameters (updated in place).
    evaluate
        Computes the loss at the current parameters and back-propagates it (gradients land in
        ``p.grad``); returns ``(loss, terms)``.
    steps
        Iterations.
    after
        ``after(k, loss, terms)`` after iteration ``k``; returning False stops.
    """
    n = sum(p.numel() for p in params)
    if n > MAX_PARAMS:
        raise ProblemError(f"bfgs_steps: a dense BFGS needs 8 n^2 bytes; this network has {n:,} parameters "
                           f"(at most {MAX_PARAMS:,}): use lbfgs_steps")
    cache: dict[bytes, tuple[float, np.ndarray, Mapping[str, torch.Tensor]]] = {}

    def at(x: np.ndarray) -> tuple[float, np.ndarray, Mapping[str, torch.Tensor]]:
        key = x.tobytes()
        if key not in cache:
            cache.clear()
            _assign(params, torch.from_numpy(x))
            for p in params:
                p.grad = None
            loss, terms = evaluate()
            cache[key] = (loss, _flat(params, grads=True).numpy(), terms)
        return cache[key]

    x = _flat(params).numpy().copy()
    f, g, terms = at(x)
    H: torch.Tensor | None = None
    old_f = None
    for k in range(steps):
        if not np.isfinite(f):
            return
        if H is not None:
            direction = -(H @ torch.from_numpy(g)).numpy()
            alpha = _wolfe(at, x, direction, g, f, old_f)
            if alpha is None:
                H = None  # restart from steepest descent
                continue
        else:
            direction = -g / max(np.linalg.norm(g), 1e-30)
            alpha = _steepest(at, x, direction, g, f, old_f)
            if alpha is None:
                return
        s = alpha * direction
        x_new = x + s
        f_new, g_new, terms = at(x_new)
        y = g_new - g
        sy = float(s @ y)
        if sy > 1e-12 * np.linalg.norm(s) * np.linalg.norm(y):
            st, yt = torch.from_numpy(s), torch.from_numpy(y)
            if H is None:
                H = torch.eye(n, dtype=torch.float64) * (sy / float(y @ y))
            Hy = H @ yt
            yHy = float(yt @ Hy)
            v = st / sy - Hy / yHy  # H+ = H - Hy Hy^T / yHy + yHy v v^T + s s^T / sy (the BFGS update)
            H.addr_(Hy, Hy, alpha=-1.0 / yHy)
            H.addr_(v, v, alpha=yHy)
            H.addr_(st, st, alpha=1.0 / sy)
        old_f, x, f, g = f, x_new, f_new, g_new
        _assign(params, torch.from_numpy(x))
        if not after(k, f, terms):
            return
