"""``custom``: equations written in the problem file.

.. code-block:: toml

    [pde]
    type = "custom"
    fields = ["ux", "uy", "p"]                  # default ["u"]
    residual = ["ux*ux_x + uy*ux_y + p_x - nu*lap(ux)",
                "ux*uy_x + uy*uy_y + p_y - nu*lap(uy)",
                "div(ux, uy)"]                   # one residual per field, each = 0

A residual is an expression in the coordinates, ``t``, the parameters, the fields and their
derivatives (``u_x``, ``u_yy``, ``u_xt``, ``u_tt``, up to fourth order; ``lap(u)``,
``div(a, b)``: :mod:`sciml.problems.derivatives`). A field whose residual has a second time
derivative needs its initial rate ``u_t`` in ``[initial]`` beside ``u``. Boundary conditions
apply to the fields (Neumann data are ``du/dn``; ``components`` picks fields of a Dirichlet
condition). The physics-informed solvers train on the residual; there is no SciPy reference,
so the metrics need an ``[exact]`` solution.
"""

from __future__ import annotations

from typing import Any, Mapping

from ..geometry.dims import MAX_DIM, is_coordinate
from ..problems.derivatives import parse_name
from . import register
from .base import Coef, PDEType


def _variables(pde: Any) -> tuple[str, ...]:
    """The coordinates of the problem, space then ``t``: the jet's input columns."""
    return tuple(n for n in pde.coefs["residual"][0].names if is_coordinate(n))


class Custom(PDEType):
    name = "custom"
    equation = "residual(x, t, fields, derivatives) = 0, one residual per field"
    coefs = {"fields": Coef("fields", ["u"], doc="names of the solution's fields (letters and digits)"),
             "residual": Coef("equations", None, doc="one residual per field, in the fields and their derivatives "
                              "(u_x, u_yy, u_tt, lap(u), div(a, b)), = 0")}
    dims = tuple(range(1, MAX_DIM + 1))
    time = "optional"
    components = None
    linear = False

    def fields(self, coefs: Mapping[str, Any], dim: int) -> tuple[str, ...]:
        return tuple(coefs["fields"])

    def derivatives(self, pde: Any) -> dict[str, tuple[int, tuple[int, ...]]]:
        """The derivative names the residuals use: ``name -> (field index, input columns)``."""
        fields, variables = tuple(pde.coefs["fields"]), _variables(pde)
        out = {}
        for expr in pde.coefs["residual"]:
            for name in sorted(expr.used):  # a fixed order: the same run gives the same numbers
                parsed = parse_name(name, fields, variables)
                if parsed is not None:
                    out[name] = (fields.index(parsed[0]), parsed[1])
        return out

    def order(self, pde: Any) -> int:
        return max((len(a) for _, a in self.derivatives(pde).values()), default=1)

    def pairs(self, pde: Any, dim: int) -> tuple[tuple[int, int], ...]:
        return tuple(sorted({a for _, a in self.derivatives(pde).values() if len(a) == 2}))

    def diffusive(self, pde: Any, dim: int) -> bool:
        return any(sum(a < dim for a in axes) >= 2 for _, axes in self.derivatives(pde).values())

    def initial_rates(self, pde: Any) -> tuple[str, ...]:
        fields, variables = tuple(pde.coefs["fields"]), _variables(pde)
        if "t" not in variables:
            return ()
        t = variables.index("t")
        return tuple(sorted({fields[k] for k, axes in self.derivatives(pde).values() if axes.count(t) >= 2}))

    def residual(self, loss: Any, jet: Any, x: Any, c: Mapping[str, Any]) -> Any:
        import torch

        pde = loss.problem.pde
        env = dict(loss._env(x))
        for k, f in enumerate(pde.coefs["fields"]):
            env[f] = jet.value[:, k]
        for name, (k, axes) in self.derivatives(pde).items():
            env[name] = jet.derivative(axes)[:, k]
        return torch.stack([e.torch(**{n: env[n] for n in e.used if n in env}) for e in pde.coefs["residual"]], dim=1)


register(Custom())
