"""``diffusion``: ``u_t - div(K grad u) + c u = f`` with a symmetric positive definite diffusion
tensor ``K`` (a scalar or ``d`` rows of ``d`` expressions: anisotropic and multi-scale
coefficients), steady without ``[time]``; Neumann data are the conormal flux ``n . K grad u``."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import torch

from ..problems.expr import Expr
from . import register
from .base import Coef, Constraint, PDEType, ScalarForm


def _entries(pde: Any) -> tuple[str, tuple[Expr, ...]]:
    return "K", tuple(e for row in pde.coefs["K"] for e in row)


def _smallest_eigenvalue(*entries: np.ndarray) -> np.ndarray:
    d = int(round(len(entries) ** 0.5))
    values = np.broadcast_arrays(*entries)
    K = np.stack(values, axis=-1).reshape(*values[0].shape, d, d)
    return np.linalg.eigvalsh(K)[..., 0]


class Diffusion(PDEType):
    name = "diffusion"
    equation = "u_t - div(K grad u) + c u = f"
    coefs = {"K": Coef("tensor", "1", doc="diffusion tensor: an expression, or d rows of d expressions (symmetric)"),
             "c": Coef("scalar", "0", doc="reaction"), "f": Coef("scalar", "0", doc="source")}
    dims = (1, 2, 3)
    time = "optional"
    flux = "n . K grad u"
    has_reference = True
    constraints = (Constraint("smallest eigenvalue of K", _entries, "K must be positive definite everywhere: "
                              "otherwise the diffusion is not elliptic (ill-posed)", combine=_smallest_eigenvalue),)

    def data(self, pde: Any) -> list[tuple[str, Any, bool]]:
        K = pde.coefs["K"]
        return [*((f"K{i}{j}", K[i][j], True) for i in range(len(K)) for j in range(len(K))),
                ("c", pde.c, False), ("f", pde.f, False)]

    def pairs(self, pde: Any, dim: int) -> tuple[tuple[int, int], ...]:
        return tuple((i, j) for i in range(dim) for j in range(i, dim))

    def residual(self, loss: Any, jet: Any, x: Any, c: Mapping[str, Any]) -> Any:
        dims = range(loss.dim)
        # div(K grad u) = sum_ij K_ij u_ij + (d_i K_ij) u_j
        flux_div = sum(c[f"K{i}{j}"][:, None] * jet.dd(i, j) + c[f"K{i}{j}_grad"][:, i, None] * jet.d(j)
                       for i in dims for j in dims)
        return self.time_derivative(loss, jet) - flux_div + c["c"][:, None] * jet.value - c["f"][:, None]

    def conductivity(self, loss: Any, c: Mapping[str, Any]) -> Any:
        d = loss.dim
        K = torch.stack([torch.stack([c[f"K{i}{j}"] for j in range(d)], dim=-1) for i in range(d)], dim=-2)
        return (K + K.transpose(-1, -2)) / 2

    def flux_residual(self, loss: Any, jet: Any, div_q: Any, x: Any, c: Mapping[str, Any]) -> Any:
        return self.time_derivative(loss, jet) - div_q + c["c"][:, None] * jet.value - c["f"][:, None]

    def diffusive(self, pde: Any, dim: int) -> bool:
        return True  # K is positive definite

    def boundary_flux(self, loss: Any, jet: Any, normals: Any, c: Mapping[str, Any]) -> Any:
        dims = range(loss.dim)
        return sum(normals[:, i, None] * c[f"K{i}{j}"][:, None] * jet.d(j) for i in dims for j in dims)

    def scalar_form(self, problem: Any) -> ScalarForm:
        pde = problem.pde
        return ScalarForm(Expr("1"), None, pde.c, pde.f, tensor=pde.coefs["K"])


register(Diffusion())
