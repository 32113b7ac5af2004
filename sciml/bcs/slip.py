"""``slip``: an impermeable wall, ``u . n = 0`` (euler problems; no ``value``). The
physics-informed solvers take no euler problems; INSR imposes it in its projection step."""

from __future__ import annotations

from typing import Any

from . import register
from .base import BoundaryKind, Entry, ReadContext


class Slip(BoundaryKind):
    name = "slip"
    doc = "u . n = 0 (impermeable wall)"
    types = ("euler",)

    def read(self, sec: Any, ctx: ReadContext) -> Entry:
        return Entry()

    def terms(self, loss: Any, model: Any, g: Any) -> list[Any]:
        j = model.jet(g.points, 0, ())
        return [((j.value * g.normals).sum(-1) / loss.value_scale).pow(2).mean()]


register(Slip())
