"""IC(0) with compiled loops (numba): the factorisation and the two triangular solves of the
IC(0) preconditioner, so that IC(0)-PCG is a fair wall-time baseline (SuperLU's triangular
solves cost about five matrix-vector products on the pressure matrices; these cost about one).

Needs numba (``pip install "sciml-suite[fast]"``); :func:`available` says whether it is here.
The kernels are compiled on first use and cached on disk.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp


def available() -> bool:
    """Whether numba is installed."""
    import importlib.util

    return importlib.util.find_spec("numba") is not None


_KERNELS: dict[str, Any] = {}


def _kernels() -> dict[str, Any]:
    if _KERNELS:
        return _KERNELS
    from numba import njit

    @njit(cache=True)
    def factor(indptr, indices, data, n):  # pragma: no cover - compiled
        """IC(0) of the lower triangle (CSR, sorted, diagonal last in each row): the strictly
        lower values of L in the same pattern and the diagonal; a non-positive pivot returns
        its row as a negative code."""
        values = np.zeros(len(data))
        diag = np.zeros(n)
        pos_of = -np.ones(n, dtype=np.int64)  # column -> position in the current row
        for i in range(n):
            start, stop = indptr[i], indptr[i + 1]
            for p in range(start, stop):
                pos_of[indices[p]] = p
            total = 0.0
            a_ii = 0.0
            for p in range(start, stop):
                j = indices[p]
                if j == i:
                    a_ii = data[p]
                    continue
                s = data[p]
                # s -= sum over k < j of L[i, k] L[j, k], k in the patterns of rows i and j
                for q in range(indptr[j], indptr[j + 1]):
                    k = indices[q]
                    if k >= j:
                        break
                    pk = pos_of[k]
                    if pk >= start:
                        s -= values[pk] * values[q]
                lij = s / diag[j]
                values[p] = lij
                total += lij * lij
            pivot = a_ii - total
            for p in range(start, stop):
                pos_of[indices[p]] = -1
            if not pivot > 0.0:
                return values, diag, -(i + 1)
            diag[i] = np.sqrt(pivot)
        return values, diag, 0

    @njit(cache=True)
    def solve(indptr, indices, values, inv_diag, t_indptr, t_indices, t_values, r):  # pragma: no cover - compiled
        """``(L L^T)^-1 r``: forward substitution with L (CSR), then backward with L^T (the CSR
        of L^T: its strictly upper part); multiplying by the inverse diagonal keeps divisions off
        the chain of dependent rows."""
        n = len(r)
        y = np.empty(n)
        for i in range(n):
            s = r[i]
            for p in range(indptr[i], indptr[i + 1]):
                s -= values[p] * y[indices[p]]
            y[i] = s * inv_diag[i]
        x = np.empty(n)
        for i in range(n - 1, -1, -1):
            s = y[i]
            for p in range(t_indptr[i], t_indptr[i + 1]):
                s -= t_values[p] * x[t_indices[p]]
            x[i] = s * inv_diag[i]
        return x

    _KERNELS.update(factor=factor, solve=solve)
    return _KERNELS


class CompiledIC0:
    """The IC(0) preconditioner ``M = (L L^T)^-1`` of a symmetric M-matrix ``A`` (``M @ r``),
    factorised and applied by compiled loops.

    Raises
    ------
    SolverError
        On a non-positive pivot (``A`` is not an M-matrix).
    """

    def __init__(self, A: Any):
        from ..errors import SolverError

        lower = sp.tril(sp.csr_matrix(A, dtype=float), format="csr")
        lower.sort_indices()
        n = lower.shape[0]
        k = _kernels()
        values, diag, code = k["factor"](lower.indptr.astype(np.int64), lower.indices.astype(np.int64),
                                         lower.data, n)
        if code < 0:
            raise SolverError(f"IC(0) broke down at row {-code - 1}: A is not an M-matrix")
        strict = sp.csr_matrix((values, lower.indices, lower.indptr), shape=(n, n))
        strict.eliminate_zeros()
        strict = sp.tril(strict, k=-1, format="csr")
        strict.sort_indices()
        upper = sp.csr_matrix(strict.T)
        upper.sort_indices()
        self.shape = (n, n)
        self.diag, self._inv_diag = diag, 1.0 / diag
        self._lower = (strict.indptr.astype(np.int64), strict.indices.astype(np.int64), strict.data)
        self._upper = (upper.indptr.astype(np.int64), upper.indices.astype(np.int64), upper.data)

    def factor(self) -> sp.csr_matrix:
        """``L`` (lower triangular, with its diagonal)."""
        indptr, indices, data = self._lower
        return sp.csr_matrix((data, indices, indptr), shape=self.shape) + sp.diags(self.diag)

    def __matmul__(self, r: np.ndarray) -> np.ndarray:
        return _kernels()["solve"](*self._lower, self._inv_diag, *self._upper, np.asarray(r, dtype=float))
