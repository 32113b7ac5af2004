"""``neumann``: the flux the weak form sees equals ``value`` (``k du/dn = g`` for poisson, the
traction for elasticity: the PDE type's ``boundary_flux``)."""

from __future__ import annotations

from typing import Any

from . import register
from .base import BoundaryKind


class Neumann(BoundaryKind):
    name = "neumann"
    flux_only = True
    prescribes_flux = True
    doc = "flux . n = value (the PDE type's flux)"

    def terms(self, loss: Any, model: Any, g: Any) -> list[Any]:
        j = model.jet(g.points, 1, ())
        return [(loss.flux(j, g.normals, g.coef, g.points, model) - g.target).pow(2).mean()]


register(Neumann())
