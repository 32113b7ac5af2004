"""Conjugate gradients and conjugate directions with the signature of ``scipy.sparse.linalg``.

Every solver here is called as ``x, info = solver(A, b, x0=None, *, rtol=1e-6, atol=0.0,
maxiter=None, callback=None, history=None)``: it stops when ``||b - A x|| <= max(rtol ||b||,
atol)``; ``info`` is 0 on convergence, the iteration count when ``maxiter`` ran out, and
negative on a breakdown; ``callback(xk)`` is called once per iteration; ``history``, a list,
receives the relative residual ``||r_k|| / ||b||`` of the start and of every iteration.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Callable

import numpy as np

from .grid import check_system


def _start(A: Any, b: np.ndarray, x0: np.ndarray | None, rtol: float, atol: float, maxiter: int | None
           ) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, float, float, int]:
    A, b = check_system(A, b)
    x = np.zeros_like(b) if x0 is None else np.array(x0, dtype=float)
    if x.shape != b.shape:
        raise ValueError(f"x0 has shape {x.shape}, expected {b.shape}")
    r = b - A @ x if x0 is not None else b.copy()
    norm_b = float(np.linalg.norm(b)) or 1.0
    return A, b, x, r, norm_b, max(rtol * norm_b, atol), (10 * len(b) if maxiter is None else maxiter)


def cg(A: Any, b: np.ndarray, x0: np.ndarray | None = None, *, rtol: float = 1e-6, atol: float = 0.0,
       maxiter: int | None = None, M: Any = None, callback: Callable[[np.ndarray], None] | None = None,
       history: list | None = None) -> tuple[np.ndarray, int]:
    """(Preconditioned) conjugate gradients (Hestenes & Stiefel 1952) for a symmetric positive
    definite ``A``; ``M`` applies the inverse of the preconditioner (``M @ r``), as in SciPy."""
    A, b, x, r, norm_b, tol, maxiter = _start(A, b, x0, rtol, atol, maxiter)
    norm_r = float(np.linalg.norm(r))
    if history is not None:
        history.append(norm_r / norm_b)
    if norm_r <= tol:
        return x, 0
    z = r if M is None else M @ r
    p = z.copy()
    rz = float(r @ z)
    for k in range(maxiter):
        Ap = A @ p
        pAp = float(p @ Ap)
        if not pAp > 0:
            return x, -1  # breakdown: A (or M) is not positive definite
        alpha = rz / pAp
        x += alpha * p
        r -= alpha * Ap
        norm_r = float(np.linalg.norm(r))
        if callback is not None:
            callback(x)
        if history is not None:
            history.append(norm_r / norm_b)
        if norm_r <= tol:
            return x, 0
        z = r if M is None else M @ r
        rz_new = float(r @ z)
        p = z + (rz_new / rz) * p
        rz = rz_new
    return x, maxiter


def conjugate_directions(A: Any, b: np.ndarray, direction: Callable[[np.ndarray], np.ndarray],
                         x0: np.ndarray | None = None, *, k: int = 2, rtol: float = 1e-6, atol: float = 0.0,
                         maxiter: int | None = None, callback: Callable[[np.ndarray], None] | None = None,
                         history: list | None = None, min_cosine: float = 0.0) -> tuple[np.ndarray, int]:
    """The conjugate direction iteration of the deep conjugate direction method (Kaneda et al.,
    ICML 2023, Algorithm 1): the search direction is ``direction(r / ||r||)``, A-orthogonalised
    against the last ``k`` directions, with an exact line search; the residual is recomputed
    as ``b - A x`` every iteration (as the authors' code does).

    With ``direction`` the identity and ``k >= 1`` this is conjugate gradients; with an exact
    ``A^-1`` it converges in one iteration. An imperfect ``direction`` can stall the iteration
    at a residual ``r`` with ``direction(r)`` orthogonal to it (each step then gains nothing);
    with ``min_cosine > 0`` a direction whose cosine with the residual is below it is replaced
    by the residual itself (a conjugate-gradient step), which always makes progress. 0 keeps
    the paper's iteration."""
    A, b, x, r, norm_b, tol, maxiter = _start(A, b, x0, rtol, atol, maxiter)
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    norm_r = float(np.linalg.norm(r))
    if history is not None:
        history.append(norm_r / norm_b)
    previous: deque[tuple[np.ndarray, np.ndarray, float]] = deque(maxlen=max(k, 1))
    for it in range(maxiter):
        if norm_r <= tol:
            return x, 0
        q = np.asarray(direction(r / norm_r), dtype=float).reshape(b.shape)
        if min_cosine > 0 and not abs(float(q @ r)) > min_cosine * float(np.linalg.norm(q)) * norm_r:
            q = r.copy()
        if k:
            for p, Ap, pAp in previous:
                q = q - (float(q @ Ap) / pAp) * p
        Aq = A @ q
        qAq = float(q @ Aq)
        if not (qAq > 0 and np.isfinite(qAq)):
            return x, -1  # the direction is zero, not finite, or A is not positive definite
        x += (float(q @ r) / qAq) * q
        r = b - A @ x
        norm_r = float(np.linalg.norm(r))
        if k:
            previous.append((q, Aq, qAq))
        if callback is not None:
            callback(x)
        if history is not None:
            history.append(norm_r / norm_b)
    return x, 0 if norm_r <= tol else maxiter
