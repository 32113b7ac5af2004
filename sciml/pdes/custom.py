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

from ..problems.derivatives import parse_name
from . import register
from .base import Coef, PDEType

VARIABLES = ("x", "y", "z")


def _variables(pde: Any, dim: int, transient: bool) -> tuple[str, ...]:
    return VARIABLES[:dim] + (("t",) if transient else ())


class Custom(PDEType):
    name = "custom"
    equation = "residual(x, t, fields, derivatives) = 0, one residual per field"
    coefs = {"fields": Coef("fields", ["u"], doc="names of the solution's fields (letters and digits)"),
             "residual": Coef("equations", None, doc="one residual per field, in the fields and their derivatives "
                              "(u_x, u_yy, u_tt, lap(u), div(a, b)), = 0")}
    dims = (1, 2, 3)
    time = "optional"
    components = None
    linear = False

    def fields(self, coefs: Mapping[str, Any], dim: int) -> tuple[str, ...]:
        return tuple(coefs["fields"])

    def derivatives(self, pde: Any, variables: tuple[str, ...]) -> dict[str, tuple[int, tuple[int, ...]]]:
        """The derivative names the residuals use: ``name -> (field index, axes)``."""
        fields = tuple(pde.coefs["fields"])
        out = {}
        for expr in pde.coefs["residual"]:
            for name in expr.used:
                parsed = parse_name(name, fields, variables)
                if parsed is not None:
                    out[name] = (fields.index(parsed[0]), parsed[1])
        return out

    def _all_axes(self, pde: Any) -> list[tuple[int, ...]]:
        return [axes for _, axes in self.derivatives(pde, VARIABLES + ("t",)).values()]

    def order(self, pde: Any) -> int:
        return max((len(a) for a in self._all_axes(pde)), default=1)

    def pairs(self, pde: Any, dim: int) -> tuple[tuple[int, int], ...]:
        # derivative names parsed over (x, y, z, t): map t's index 3 to the jet's column dim
        column = {0: 0, 1: 1, 2: 2, 3: dim}
        return tuple(sorted({(column[a[0]], column[a[1]]) for a in self._all_axes(pde) if len(a) == 2}))

    def initial_rates(self, pde: Any) -> tuple[str, ...]:
        fields = tuple(pde.coefs["fields"])
        return tuple(sorted({fields[k] for k, axes in self.derivatives(pde, VARIABLES + ("t",)).values()
                             if axes.count(3) >= 2}))

    def residual(self, loss: Any, jet: Any, x: Any, c: Mapping[str, Any]) -> Any:
        import torch

        pde = loss.problem.pde
        env = dict(loss._env(x))
        for k, f in enumerate(pde.coefs["fields"]):
            env[f] = jet.value[:, k]
        variables = _variables(pde, loss.dim, loss.tcol is not None)
        for name, (k, axes) in self.derivatives(pde, variables).items():
            env[name] = jet.derivative(axes)[:, k]
        return torch.stack([e.torch(**{n: env[n] for n in e.free}) for e in pde.coefs["residual"]], dim=1)


register(Custom())
