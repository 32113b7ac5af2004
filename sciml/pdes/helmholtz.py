"""``helmholtz``: ``-lap u - kappa^2 u = f`` in 1-3D, steady; Neumann data ``du/dn = g``."""

from __future__ import annotations

from typing import Any, Mapping

from . import register
from ..problems.expr import Expr
from .base import Coef, PDEType, ScalarForm


class Helmholtz(PDEType):
    name = "helmholtz"
    equation = "-lap u - kappa^2 u = f"
    coefs = {"kappa": Coef("scalar", "1", doc="wavenumber"), "f": Coef("scalar", "0", doc="source")}
    dims = (1, 2, 3)
    time = "never"
    has_reference = True

    def data(self, pde: Any) -> list[tuple[str, Any, bool]]:
        return [("kappa", pde.kappa, False), ("f", pde.f, False)]

    def scalar_form(self, problem: Any) -> ScalarForm:
        kappa = problem.pde.kappa
        return ScalarForm(Expr("1"), None, Expr(f"-({kappa.source})**2", kappa.names, kappa.bound), problem.pde.f)

    def residual(self, loss: Any, jet: Any, x: Any, c: Mapping[str, Any]) -> Any:
        return -jet.laplacian(loss.space) - c["kappa"][:, None] ** 2 * jet.value - c["f"][:, None]


register(Helmholtz())
