"""``dirichlet``: prescribed values ``u = g`` (``components`` picks the fields of a vector
problem it fixes)."""

from __future__ import annotations

from typing import Any

from . import register
from .base import BoundaryKind, Entry, ReadContext


class Dirichlet(BoundaryKind):
    name = "dirichlet"
    doc = "u = value (one value per field; components: the fields it fixes)"
    prescribes_values = True

    def read(self, sec: Any, ctx: ReadContext) -> Entry:
        n = len(ctx.fields)
        value = ctx.exprs(sec, "value", n, ["0"] * n)
        components: tuple[int, ...] = ()
        if n > 1:
            index = {f: i for i, f in enumerate(ctx.fields)}
            index.update({f[1:]: i for i, f in enumerate(ctx.fields) if len(f) == 2 and f[0] == "u"})  # ux -> "x"
            comps = sec.raw("components", list(ctx.fields))
            if not isinstance(comps, list) or not comps or not all(isinstance(c, str) and c in index for c in comps):
                raise sec.error("components", f"expected a non-empty list from {sorted(index)}")
            components = tuple(sorted({index[c] for c in comps}))
        return Entry(value, components=components)

    def terms(self, loss: Any, model: Any, g: Any) -> list[Any]:
        j = model.jet(g.points, 0, ())
        comps = list(g.components)
        return [((j.value[:, comps] - g.target[:, comps]) / loss.value_scale).pow(2).mean()]


register(Dirichlet())
