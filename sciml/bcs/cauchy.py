"""``cauchy``: ``u`` and ``du/dn`` together on one piece (``value = [u, du/dn]``): the initial
line of a second-order-in-time space-time ``linear`` problem."""

from __future__ import annotations

from typing import Any

from . import register
from .base import BoundaryKind, Entry, ReadContext


class Cauchy(BoundaryKind):
    name = "cauchy"
    doc = "u = value[0] and du/dn = value[1] on one piece"
    types = ("linear",)

    def read(self, sec: Any, ctx: ReadContext) -> Entry:
        return Entry(ctx.exprs(sec, "value", 2))

    def terms(self, loss: Any, model: Any, g: Any) -> list[Any]:
        j = model.jet(g.points, 1, ())
        return [((j.value[:, 0] - g.target[:, 0]) / loss.value_scale).pow(2).mean(),
                (loss.flux(j, g.normals, g.coef, g.points, model) - g.target[:, 1:]).pow(2).mean()]


register(Cauchy())
