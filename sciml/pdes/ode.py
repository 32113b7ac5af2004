"""``ode``: ``du/dt = F(u, t)`` for named state variables, no spatial domain."""

from __future__ import annotations

from typing import Any, Mapping

from . import register
from .base import Coef, PDEType


class ODE(PDEType):
    name = "ode"
    equation = "du/dt = F(u, t)"
    coefs = {"variables": Coef("names", None, doc="state variable names"),
             "rhs": Coef("exprs", None, doc="du/dt for each variable, in the variables and t")}
    dims = (0,)
    time = "required"
    has_reference = True
    boundary_kinds = ()
    components = None
    linear = False  # F may be anything

    def fields(self, coefs: Mapping[str, Any], dim: int) -> tuple[str, ...]:
        return tuple(coefs["variables"])

    def order(self, pde: Any) -> int:
        return 1

    def pairs(self, pde: Any, dim: int) -> tuple[tuple[int, int], ...]:
        return ()

    def residual(self, loss: Any, jet: Any, x: Any, c: Mapping[str, Any]) -> Any:
        import torch

        p = loss.problem
        env = dict(loss._env(x))  # t, and the unknowns of an inverse problem
        env.update({v: jet.value[:, i] for i, v in enumerate(p.fields)})
        rhs = torch.stack([e.torch(**env) for e in p.pde.rhs], dim=1)
        return jet.d(0) - rhs


    def reference(self, problem: Any, cfg: Any) -> Any:
        from ..reference import ode_reference

        return ode_reference(problem, cfg)

register(ODE())
