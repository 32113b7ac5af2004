"""Sparse linear algebra inside torch objectives: SciPy matrices as torch tensors, and the dual
norm ``r^T M^-1 r`` of a residual with its gradient.

The dual norm is the natural size of a weak-form (Galerkin) residual: with ``M`` the stiffness
matrix ``K`` of a symmetric positive definite problem, ``r^T K^-1 r = e^T K e`` for the residual
``r = K u - F`` of a field with error ``e``, the energy norm of the error. Minimising it instead of
``|r|^2`` changes the Hessian from ``K^T K`` to ``K`` (condition number ``h^-2`` rather than
``h^-4`` on a mesh of size ``h``) and leaves the minimiser, ``r = 0``, where it was.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import torch

from ..errors import ProblemError


def torch_sparse(A: sp.spmatrix, dtype: torch.dtype = torch.float64,
                 device: torch.device | str = "cpu") -> torch.Tensor:
    """``A`` as a coalesced torch sparse COO tensor."""
    A = sp.coo_matrix(A)
    idx = torch.as_tensor(np.vstack([A.row, A.col]), dtype=torch.int64, device=device)
    return torch.sparse_coo_tensor(idx, torch.as_tensor(A.data, dtype=dtype, device=device), A.shape,
                                   check_invariants=False).coalesce()


def _solve(lu: spla.SuperLU, v: torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(lu.solve(v.detach().cpu().double().numpy()), dtype=v.dtype, device=v.device)


class _InverseQuadratic(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, r: torch.Tensor, lu: spla.SuperLU) -> torch.Tensor:
        z = _solve(lu, r)
        ctx.save_for_backward(z)
        return torch.dot(r, z)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (z,) = ctx.saved_tensors
        return 2 * grad * z, None


class DualNorm:
    """``r -> r^T M^-1 r`` (differentiable in ``r``) for a fixed sparse ``M``, factorised once.

    Parameters
    ----------
    M
        Sparse square matrix; its symmetric part ``(M + M^T) / 2`` is used and must be positive
        definite (checked from the pivots of a symmetric-mode LU factorisation).

    Raises
    ------
    ProblemError
        When the symmetric part is singular or indefinite (Helmholtz beyond its first
        eigenvalue, a pure Neumann problem).
    """

    def __init__(self, M: sp.spmatrix):
        M = sp.csc_matrix(M, dtype=np.float64)
        sym = sp.csc_matrix((M + M.T) / 2)
        try:
            self.lu = spla.splu(sym, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                                options={"SymmetricMode": True})
        except RuntimeError:  # exactly singular
            raise ProblemError("the dual norm needs a positive definite operator; this one is singular") from None
        pivots = self.lu.U.diagonal()
        if not np.all(pivots > 0):
            raise ProblemError("the dual norm needs a positive definite operator; this one is indefinite "
                               f"({int(np.sum(pivots <= 0))} non-positive pivots)")

    def __call__(self, r: torch.Tensor) -> torch.Tensor:
        return _InverseQuadratic.apply(r, self.lu)

    def solve(self, v: torch.Tensor) -> torch.Tensor:
        """``M^-1 v`` (no gradient)."""
        return _solve(self.lu, v)
