"""``poisson``: ``-div(k grad u) = f`` in 1-3D, steady; Neumann data ``k du/dn = g``."""

from __future__ import annotations

from typing import Any, Mapping

import torch

from . import register
from ..problems.expr import Expr
from .base import Coef, Constraint, PDEType, ScalarForm, coef


class Poisson(PDEType):
    name = "poisson"
    equation = "-div(k grad u) = f"
    coefs = {"k": Coef("scalar", "1", doc="diffusivity k(x)"), "f": Coef("scalar", "0", doc="source")}
    dims = (1, 2, 3)
    time = "never"
    has_reference = True
    flux = "k du/dn"
    flux_coef = "k"
    constraints = (Constraint("k", coef("k"), "k must be positive everywhere: with a zero, negative or "
                              "sign-changing diffusivity -div(k grad u) = f is not elliptic (ill-posed)"),)

    def data(self, pde: Any) -> list[tuple[str, Any, bool]]:
        return [("k", pde.k, True), ("f", pde.f, False)]

    def scalar_form(self, problem: Any) -> ScalarForm:
        pde = problem.pde
        return ScalarForm(pde.k, None, Expr("0"), pde.f)

    def residual(self, loss: Any, jet: Any, x: Any, c: Mapping[str, Any]) -> Any:
        flux_div = c["k"][:, None] * jet.laplacian(loss.space) + (jet.grad(loss.space) * c["k_grad"][:, None]).sum(-1)
        return -flux_div - c["f"][:, None]

    def conductivity(self, loss: Any, c: Mapping[str, Any]) -> Any:
        k = c["k"]
        return k[:, None, None] * torch.eye(loss.dim, dtype=k.dtype, device=k.device)

    def flux_residual(self, loss: Any, jet: Any, div_q: Any, x: Any, c: Mapping[str, Any]) -> Any:
        return -div_q - c["f"][:, None]


register(Poisson())
