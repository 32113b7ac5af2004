"""``robin``: ``flux . n + alpha u = value``."""

from __future__ import annotations

from typing import Any

from . import register
from .base import BoundaryKind, Entry, ReadContext


class Robin(BoundaryKind):
    name = "robin"
    prescribes_flux = True
    doc = "flux . n + alpha u = value"

    def read(self, sec: Any, ctx: ReadContext) -> Entry:
        n = len(ctx.fields)
        return Entry(ctx.exprs(sec, "value", n, ["0"] * n), alpha=ctx.expr(sec, "alpha"))

    def terms(self, loss: Any, model: Any, g: Any) -> list[Any]:
        j = model.jet(g.points, 1, ())
        return [(loss.flux(j, g.normals, g.coef, g.points, model) - g.target + g.alpha[:, None] * j.value).pow(2).mean()]


register(Robin())
