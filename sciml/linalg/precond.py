"""Preconditioned and direct baselines: IC(0)-preconditioned CG (compiled with numba when it
is installed), pyamg smoothed aggregation, sparse direct. Each has the signature of :mod:`sciml.linalg.krylov`; the set-up
(factorisation, AMG hierarchy) can be built once with :func:`setup` and passed as ``prepared``
so that it is timed apart from the solve.

No ILU: SciPy's ``spilu`` (SuperLU's threshold ILU) gives nonsymmetric factors, and CG with
them did not converge within 2,000 iterations on the 64^2 pressure matrix for any drop
tolerance, fill factor, ordering or equilibration we tried (docs/deep-cg.md). For a
symmetric matrix ILU(0) is IC(0), which is here.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ..errors import ProblemError, SolverError
from .grid import check_system
from .krylov import cg


def ic0(A: Any) -> sp.csr_matrix:
    """The incomplete Cholesky factor ``L`` with the sparsity of ``tril(A)`` (no fill-in),
    ``A ~ L L^T``. Raises :class:`SolverError` on a non-positive pivot."""
    A = sp.csr_matrix(A, dtype=float)
    lower = sp.tril(A, format="csr")
    lower.sort_indices()
    n = A.shape[0]
    rows: list[dict[int, float]] = []
    diag = np.empty(n)
    indptr, indices, data = lower.indptr, lower.indices, lower.data
    for i in range(n):
        row: dict[int, float] = {}
        total = 0.0
        a_ii = 0.0
        for pos in range(indptr[i], indptr[i + 1]):
            j, a = int(indices[pos]), float(data[pos])
            if j == i:
                a_ii = a
                continue
            rj = rows[j]
            s = a - sum(v * rj[c] for c, v in row.items() if c in rj)
            lij = s / diag[j]
            row[j] = lij
            total += lij * lij
        pivot = a_ii - total
        if not pivot > 0:
            raise SolverError(f"IC(0) broke down at row {i} (pivot {pivot:.3g}): A is not an M-matrix")
        diag[i] = np.sqrt(pivot)
        rows.append(row)
    r_idx = np.repeat(np.arange(n), [len(r) for r in rows])
    c_idx = np.fromiter((c for r in rows for c in r), dtype=np.int64, count=len(r_idx))
    vals = np.fromiter((v for r in rows for v in r.values()), dtype=float, count=len(r_idx))
    return sp.csr_matrix((np.concatenate([vals, diag]), (np.concatenate([r_idx, np.arange(n)]),
                                                         np.concatenate([c_idx, np.arange(n)]))), shape=(n, n))


def _triangular_inverse(L: sp.csr_matrix) -> spla.LinearOperator:
    """``(L L^T)^-1`` as an operator; the triangular solves run in SuperLU (natural ordering, so
    the "factorisation" of ``L`` is ``L`` itself)."""
    lu = spla.splu(sp.csc_matrix(L), permc_spec="NATURAL", diag_pivot_thresh=0.0,
                   options={"SymmetricMode": True})
    return spla.LinearOperator(L.shape, matvec=lambda r: lu.solve(lu.solve(np.asarray(r, dtype=float)), trans="T"),
                               dtype=float)


def ic0_implementation() -> str:
    """How IC(0) runs here: ``numba`` (compiled factorisation and triangular solves,
    :mod:`sciml.linalg.compiled`) when numba is installed, else ``superlu`` (a Python
    factorisation and SuperLU's triangular solves, several times slower per iteration)."""
    from .compiled import available

    return "numba" if available() else "superlu"


def setup(method: str, A: Any) -> Any:
    """The one-off part of ``method``: the IC(0) preconditioner (:func:`ic0_implementation`),
    the AMG hierarchy or the LU factors."""
    A = sp.csr_matrix(A, dtype=float)
    if method == "ic0":
        if ic0_implementation() == "numba":
            from .compiled import CompiledIC0

            return CompiledIC0(A)
        return _triangular_inverse(ic0(A))
    if method == "amg":
        import pyamg

        return pyamg.smoothed_aggregation_solver(A)
    if method == "direct":
        return spla.splu(sp.csc_matrix(A))
    raise ProblemError(f"unknown method {method!r} (ic0, amg, direct)")


def pcg(A: Any, b: np.ndarray, x0: np.ndarray | None = None, *, precond: str = "ic0", prepared: Any = None,
        rtol: float = 1e-6, atol: float = 0.0, maxiter: int | None = None,
        callback: Callable[[np.ndarray], None] | None = None, history: list | None = None) -> tuple[np.ndarray, int]:
    """CG preconditioned by IC(0) (``precond = "ic0"``, Meijerink & van der Vorst 1977)."""
    M = prepared if prepared is not None else setup(precond, A)
    return cg(A, b, x0, rtol=rtol, atol=atol, maxiter=maxiter, M=M, callback=callback, history=history)


def amg(A: Any, b: np.ndarray, x0: np.ndarray | None = None, *, prepared: Any = None, rtol: float = 1e-6,
        atol: float = 0.0, maxiter: int | None = None, callback: Callable[[np.ndarray], None] | None = None,
        history: list | None = None) -> tuple[np.ndarray, int]:
    """pyamg smoothed aggregation (Vanek et al. 1996) as a preconditioner of CG (pyamg's
    ``accel="cg"``), stopped at the same ``||r|| <= max(rtol ||b||, atol)`` as the others."""
    A, b = check_system(A, b)
    ml = prepared if prepared is not None else setup("amg", A)
    x = np.zeros_like(b) if x0 is None else np.array(x0, dtype=float)
    norm_b = float(np.linalg.norm(b)) or 1.0
    r0 = float(np.linalg.norm(b - A @ x)) or 1.0
    target = max(rtol * norm_b, atol)
    cap = maxiter or 1000
    # pyamg's CG measures its tolerance in the preconditioner's norm: tighten it until the
    # true residual meets ours
    tol, used, final = target / r0, 0, r0
    while used < cap:
        residuals: list[float] = []
        x = ml.solve(b, x0=x, tol=tol, maxiter=cap - used, accel="cg", residuals=residuals, callback=callback)
        if history is not None:
            history.extend(v / norm_b for v in (residuals if not used else residuals[1:]))
        used += max(len(residuals) - 1, 1)
        final = float(np.linalg.norm(b - A @ x))
        if final <= target:
            return x, 0
        tol *= 0.1
    return x, used


def direct(A: Any, b: np.ndarray, x0: np.ndarray | None = None, *, prepared: Any = None, rtol: float = 1e-6,
           atol: float = 0.0, maxiter: int | None = None, callback: Callable[[np.ndarray], None] | None = None,
           history: list | None = None) -> tuple[np.ndarray, int]:
    """Sparse LU (SuperLU, COLAMD ordering); the tolerances do not apply."""
    A, b = check_system(A, b)
    lu = prepared if prepared is not None else setup("direct", A)
    x = lu.solve(b)
    if callback is not None:
        callback(x)
    if history is not None:
        norm_b = float(np.linalg.norm(b)) or 1.0
        history.extend([1.0, float(np.linalg.norm(b - A @ x)) / norm_b])
    return x, 0
