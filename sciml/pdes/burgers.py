"""``burgers``: ``u_t + F(u)_x = nu u_xx`` in 1D, transient, ``F = u^2/2`` by default (a scalar
conservation law with any flux); Neumann data ``nu du/dn = g``."""

from __future__ import annotations

from typing import Any, Mapping

from . import register
from .base import Coef, Constraint, PDEType, TransportForm, coef


def flux_speed(flux: Any, u: Any, env: Mapping[str, Any] | None = None) -> Any:
    """The characteristic speed ``F'(u)`` of a conservation law's flux (``u`` for Burgers'
    ``u**2/2``), by autograd and differentiable in ``u``; ``env``: values of unknown parameters."""
    import torch

    if not u.requires_grad:
        u = u.detach().requires_grad_(True)
    (speed,) = torch.autograd.grad(flux.torch(u=u, **(env or {})).sum(), u, create_graph=True)
    return speed


class Burgers(PDEType):
    name = "burgers"
    equation = "u_t + F(u)_x = nu u_xx, F(u) = u^2/2 by default"
    coefs = {"nu": Coef("scalar", None, doc="viscosity (a constant)"),
             "flux": Coef("flux", "u**2/2", doc="flux F(u) of u_t + F(u)_x = nu u_xx "
                          "(a scalar conservation law; Burgers by default)")}
    dims = (1,)
    time = "required"
    has_reference = True
    flux = "nu du/dn"
    flux_coef = "nu"
    linear = False
    constraints = (Constraint("nu", coef("nu"), "burgers viscosity must be positive: a negative viscosity is "
                              "ill-posed (backward diffusion) and nu = 0 forms shocks the references cannot "
                              "represent"),)

    def check(self, coefs: Mapping[str, Any], transient: bool) -> tuple[str, str] | None:
        if coefs["nu"].free:
            return "nu", "burgers viscosity must be a constant"
        return None

    def data(self, pde: Any) -> list[tuple[str, Any, bool]]:
        return [("nu", pde.nu, False)]

    def transport_form(self, problem: Any) -> TransportForm:
        import torch

        flux = problem.pde.flux
        return TransportForm(speed=lambda x, t, w, env: flux_speed(flux, w, env),
                             source=lambda x, t, w, env: torch.zeros_like(w), diffusivity=problem.pde.nu)

    def residual(self, loss: Any, jet: Any, x: Any, c: Mapping[str, Any]) -> Any:
        speed = flux_speed(loss.problem.pde.flux, jet.value, loss.unknown_values())
        return self.time_derivative(loss, jet) + speed * jet.d(0) - c["nu"][:, None] * jet.dd(0, 0)


    def reference(self, problem: Any, cfg: Any) -> Any:
        from ..reference import burgers_reference

        return burgers_reference(problem, cfg)

register(Burgers())
