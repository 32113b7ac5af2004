"""``euler``: ``u_t + (u.grad) u + grad p = 0``, ``div u = 0``, ``u = (ux, uy)`` in 2D (inviscid,
incompressible, unit density), transient; walls are ``slip`` (``u.n = 0``). The pressure is not
a field of the solution, so there is no pointwise residual (INSR solves it by Chorin splitting)."""

from __future__ import annotations

from typing import Any, Mapping

from . import register
from .base import PDEType


class Euler(PDEType):
    name = "euler"
    incompressible = True
    equation = "u_t + (u.grad)u + grad p = 0, div u = 0 (inviscid, incompressible, unit density)"
    coefs: dict = {}
    dims = (2,)
    time = "required"
    has_reference = True
    flux = "u.n"
    boundary_kinds = ("slip",)
    components = 2
    linear = False
    has_residual = False

    def fields(self, coefs: Mapping[str, Any], dim: int) -> tuple[str, ...]:
        return ("ux", "uy")


    def reference(self, problem: Any, cfg: Any) -> Any:
        from ..reference import euler_reference

        return euler_reference(problem, cfg)

register(Euler())
