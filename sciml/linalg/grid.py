"""The pressure Poisson matrix of incompressible flow on a regular grid with solid cells.

Unknowns are the fluid cells of the boolean grid ``fluid`` (2D or 3D), numbered in row-major
(C) order. Each face between a fluid cell and a fluid neighbour gives ``-1`` off the diagonal
and ``+1`` on it; a solid neighbour gives nothing (a Neumann wall); a neighbour outside the grid
is open air (``p = 0``, Dirichlet) and gives ``+1`` on the diagonal. So the diagonal counts the
non-solid neighbours, and the matrix is symmetric positive definite whenever every fluid region
touches the open boundary (the convention of Kaneda et al., ICML 2023, and of grid fluid
solvers; unit spacing, the factor ``dt / (rho h^2)`` left to the caller).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from ..errors import ProblemError


def _check_fluid(fluid: Any) -> np.ndarray:
    fluid = np.asarray(fluid)
    if fluid.dtype != bool or fluid.ndim not in (2, 3):
        raise ProblemError(f"fluid must be a boolean 2D or 3D grid, got a {fluid.ndim}D {fluid.dtype} array")
    if not fluid.any():
        raise ProblemError("the fluid mask has no fluid cell")
    return fluid


def pressure_matrix(fluid: np.ndarray) -> sp.csr_matrix:
    """The masked 5-point (2D) or 7-point (3D) Laplacian on the fluid cells (see the module
    docstring); shape ``(n_fluid, n_fluid)``."""
    fluid = _check_fluid(fluid)
    index = np.full(fluid.shape, -1, dtype=np.int64)
    index[fluid] = np.arange(int(fluid.sum()))
    diag = np.zeros(fluid.shape)
    rows, cols = [], []
    for axis in range(fluid.ndim):
        for step in (-1, 1):
            padded = np.pad(fluid, [(1, 1) if a == axis else (0, 0) for a in range(fluid.ndim)],
                            constant_values=True)  # outside the grid: open air, not solid
            sl = [slice(None)] * fluid.ndim
            sl[axis] = slice(1 + step, fluid.shape[axis] + 1 + step)
            not_solid = padded[tuple(sl)]
            diag += fluid & not_solid
            nb = np.roll(index, -step, axis=axis)
            edge = [slice(None)] * fluid.ndim
            edge[axis] = -1 if step > 0 else 0
            inside = np.ones(fluid.shape, dtype=bool)
            inside[tuple(edge)] = False
            pair = fluid & inside & (nb >= 0)
            rows.append(index[pair])
            cols.append(nb[pair])
    n = int(fluid.sum())
    r = np.concatenate(rows + [np.arange(n)])
    c = np.concatenate(cols + [np.arange(n)])
    v = np.concatenate([-np.ones(len(np.concatenate(rows))), diag[fluid]])
    return sp.csr_matrix((v, (r, c)), shape=(n, n))


def check_system(A: Any, b: np.ndarray, fluid: np.ndarray | None = None) -> tuple[sp.csr_matrix, np.ndarray]:
    """``A`` as CSR and ``b`` as a float vector, refusing mismatched shapes (and, with
    ``fluid``, systems that are not on its fluid cells)."""
    if not sp.issparse(A):
        raise ProblemError(f"A must be a scipy sparse matrix, got {type(A).__name__}")
    A = sp.csr_matrix(A, dtype=float)
    b = np.asarray(b, dtype=float)
    if A.shape[0] != A.shape[1] or b.shape != (A.shape[0],):
        raise ProblemError(f"A must be square and b a vector of its size; got A {A.shape}, b {b.shape}")
    if fluid is not None:
        fluid = _check_fluid(fluid)
        if int(fluid.sum()) != A.shape[0]:
            raise ProblemError(f"A has {A.shape[0]} unknowns but the fluid mask {fluid.shape} has {int(fluid.sum())} "
                               "fluid cells: A and b must act on the fluid cells, in row-major order")
    return A, b


def to_grid(v: np.ndarray, fluid: np.ndarray) -> np.ndarray:
    """A vector on the fluid cells as a full grid (zero in solids)."""
    out = np.zeros(fluid.shape, dtype=np.result_type(v, np.float32))
    out[fluid] = v
    return out
