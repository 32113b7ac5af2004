"""``residual``: boundary conditions written as expressions in the fields, their derivatives
and the outward normal, each required to vanish (custom PDEs).

.. code-block:: toml

    [[boundary]]
    where = "right"
    type = "residual"
    value = ["u_x + u*n_x - sin(y)"]   # one or more expressions, each = 0 on these points

An expression may use the coordinates, ``t``, the parameters, the fields, their derivatives
(``u_x``, ``u_xy``, ``u_t``, up to second order; ``lap(u)``, ``div(a, b)``) and the components
of the outward unit normal ``n_x, n_y, n_z`` (``n_x1 ...`` above three dimensions). Only the
physics-informed solvers train on it; like every condition of a custom PDE it has no reference.
"""

from __future__ import annotations

from typing import Any

from ..geometry.dims import space_names
from ..problems.derivatives import derivative_names, expand, parse_name
from . import register
from .base import BoundaryKind, Entry, ReadContext

ORDER = 2  # derivatives a boundary residual may read


def normal_names(space: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f"n_{c}" for c in space)


class Residual(BoundaryKind):
    name = "residual"
    doc = "expressions in the fields, their derivatives and the normal n_x, n_y, n_z, each = 0"
    data_values = False
    types = ("custom",)

    def read(self, sec: Any, ctx: ReadContext) -> Entry:
        raw = sec.raw("value")
        texts = raw if isinstance(raw, list) else [raw]
        if not texts:
            raise sec.error("value", "expected one or more expressions, each = 0")
        extra = (*ctx.fields, *derivative_names(ctx.fields, ctx.variables, ORDER), *normal_names(ctx.space))
        out = []
        for i, text in enumerate(texts):
            key = "value" if len(texts) == 1 else f"value.{i}"
            if not isinstance(text, str):
                raise sec.error(key, f"expected an expression string, got {text!r}")
            try:
                source = expand(text, ctx.fields, ctx.space)
            except Exception as exc:  # a ProblemError from lap()/div(): name the key
                raise sec.error(key, str(getattr(exc, "message", exc))) from None
            out.append(ctx.parse(source, key, extra))
        return Entry(tuple(out))

    def terms(self, loss: Any, model: Any, g: Any) -> list[Any]:
        import torch

        problem = loss.problem
        fields = problem.fields
        space = space_names(loss.dim)
        variables = (*space, "t") if loss.tcol is not None else space
        bc = problem.boundaries[g.index]
        wanted = {}
        for expr in bc.value:
            for name in expr.used:
                parsed = parse_name(name, fields, variables)
                if parsed is not None:
                    wanted[name] = (fields.index(parsed[0]), parsed[1])
        order = max((len(a) for _, a in wanted.values()), default=0)
        pairs = tuple(sorted({a for _, a in wanted.values() if len(a) == 2}))
        jet = model.jet(g.points, order, pairs)
        env = dict(loss._env(g.points))
        env.update({f: jet.value[:, k] for k, f in enumerate(fields)})
        env.update({name: jet.derivative(axes)[:, k] for name, (k, axes) in wanted.items()})
        env.update({n: g.normals[:, i] for i, n in enumerate(normal_names(space))})
        r = torch.stack([e.torch(**{n: env[n] for n in e.used if n in env}) for e in bc.value], dim=1)
        return [r.pow(2).sum(dim=1).mean()]


register(Residual())
