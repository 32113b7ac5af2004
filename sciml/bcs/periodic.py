"""``periodic``: the two end faces of an axis of an interval or box are identified (values and
normal derivatives match); it covers no boundary points of its own."""

from __future__ import annotations

from typing import Any

from . import register
from .base import BoundaryKind, Entry, ReadContext


class Periodic(BoundaryKind):
    name = "periodic"
    doc = "the end faces of axis are identified"
    covers_points = False

    def read(self, sec: Any, ctx: ReadContext) -> Entry:
        from ..geometry import Box, Interval

        axis = ctx.space.index(sec.string("axis", ctx.space[0], options=ctx.space))
        if not isinstance(ctx.domain, (Interval, Box)):
            raise sec.error("type", "periodic boundaries need an interval or box domain")
        return Entry(axis=axis)

    def pair_terms(self, model: Any, axis: int, lo: Any, hi: Any) -> Any:
        """``u(lo) - u(hi)`` and ``du/dx_axis(lo) - du/dx_axis(hi)`` as one mean square."""
        a, b = model.jet(lo, 1, ()), model.jet(hi, 1, ())
        return (a.value - b.value).pow(2).mean() + (a.d(axis) - b.d(axis)).pow(2).mean()

    def terms(self, loss: Any, model: Any, g: Any) -> list[Any]:
        return []  # its terms come from the paired faces (pair_terms)


register(Periodic())
