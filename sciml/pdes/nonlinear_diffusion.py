"""``nonlinear_diffusion``: ``u_t - div(k(u) grad u) + c u = f``, a conductivity that depends on
the solution (temperature-dependent conduction, porous-medium and Richards-type models; the
nonlinear Poisson problem ``-div((1 + u^2) grad u) = f`` of the [pde] issue), steady without
``[time]``, in 1 to 10 space dimensions; Neumann data are the flux ``k(u) du/dn``.

The residual expands the divergence, ``k(u) lap u + k'(u) |grad u|^2``, with ``k'`` by autograd
(:func:`sciml.pdes.burgers.flux_speed`), so any expression in ``u`` and the parameters serves.
No SciPy reference solves it (a Picard or Newton FEM would be its reference): problems are
measured against ``[exact]``.

.. code-block:: toml

    [pde]
    type = "nonlinear_diffusion"
    k = "1 + u**2"
    f = "..."
"""

from __future__ import annotations

from typing import Any, Mapping

from ..geometry.dims import MAX_DIM
from . import register
from .base import Coef, PDEType
from .burgers import flux_speed


class NonlinearDiffusion(PDEType):
    name = "nonlinear_diffusion"
    equation = "u_t - div(k(u) grad u) + c u = f"
    coefs = {"k": Coef("flux", "1", doc="conductivity k(u): an expression in u and the parameters, positive"),
             "c": Coef("scalar", "0", doc="reaction"), "f": Coef("scalar", "0", doc="source")}
    dims = tuple(range(1, MAX_DIM + 1))
    time = "optional"
    flux = "k(u) du/dn"
    linear = False

    def data(self, pde: Any) -> list[tuple[str, Any, bool]]:
        return [("c", pde.c, False), ("f", pde.f, False)]

    def diffusive(self, pde: Any, dim: int) -> bool:
        return True

    def _conductivity(self, loss: Any, u: Any) -> tuple[Any, Any]:
        """``k(u)`` and ``k'(u)`` at the values ``u`` ``(P, 1)``."""
        import torch

        env, expr = loss.unknown_values(), loss.problem.pde.k
        k = expr.torch(u=u, **env)
        return k, flux_speed(expr, u, env) if "u" in expr.used else torch.zeros_like(k)

    def residual(self, loss: Any, jet: Any, x: Any, c: Mapping[str, Any]) -> Any:
        k, dk = self._conductivity(loss, jet.value)
        grad_sq = jet.grad(loss.space).pow(2).sum(-1)
        div_flux = k * jet.laplacian(loss.space) + dk * grad_sq
        return self.time_derivative(loss, jet) - div_flux + c["c"][:, None] * jet.value - c["f"][:, None]

    def boundary_flux(self, loss: Any, jet: Any, normals: Any, c: Mapping[str, Any]) -> Any:
        k, _ = self._conductivity(loss, jet.value)
        return k * (jet.grad(loss.space) * normals[:, None, :]).sum(-1)


register(NonlinearDiffusion())
