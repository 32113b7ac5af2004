"""``natural``: what boundary points no ``[[boundary]]`` entry covers get, the zero flux of the
weak form (not written in files; types whose free edges carry none, such as space-time
``linear`` problems, turn it off with ``natural_boundary``)."""

from __future__ import annotations

from typing import Any

from ..errors import ProblemError
from . import register
from .base import BoundaryKind, Entry, ReadContext


class Natural(BoundaryKind):
    name = "natural"
    flux_only = True
    doc = "zero flux where no entry covers the boundary (implicit)"

    def read(self, sec: Any, ctx: ReadContext) -> Entry:
        raise ProblemError("the natural condition is what uncovered boundary points get; it is not written "
                           "in a file (use neumann with value 0)", sec.source, sec.path("type"))

    def terms(self, loss: Any, model: Any, g: Any) -> list[Any]:
        if not loss.natural:
            return []
        j = model.jet(g.points, 1, ())
        return [loss.flux(j, g.normals, g.coef, g.points, model).pow(2).mean()]


register(Natural())
