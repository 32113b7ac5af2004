"""``convection_diffusion``: ``u_t + b.grad u - div(eps grad u) + c u = f + r(u)`` in 1-3D,
steady without ``[time]`` (the nonlinear reaction ``r(u)`` needs ``[time]``); Neumann data
``eps du/dn = g``."""

from __future__ import annotations

from typing import Any, Mapping

from . import register
from .base import Coef, Constraint, PDEType, ScalarForm, TransportForm, coef


def reaction(coefs: Mapping[str, Any]) -> Any:
    """The nonlinear reaction ``r(u)``, None when absent (written as 0)."""
    r = coefs.get("r")
    return None if r is None or r.source.strip() in ("0", "0.0") else r


class ConvectionDiffusion(PDEType):
    name = "convection_diffusion"
    equation = "u_t + b.grad u - div(eps grad u) + c u = f + r(u)"
    coefs = {"eps": Coef("scalar", "1", doc="diffusivity"), "b": Coef("vector", None, doc="velocity"),
             "c": Coef("scalar", "0", doc="reaction"), "f": Coef("scalar", "0", doc="source"),
             "r": Coef("reaction", "0", doc="nonlinear reaction r(u) on the right-hand side: an expression in u, "
                       "the coordinates and the parameters (transient problems)")}
    dims = (1, 2, 3)
    time = "optional"
    has_reference = True
    flux = "eps du/dn"
    flux_coef = "eps"
    constraints = (
        Constraint("eps", coef("eps"), "eps must not be negative: a negative diffusivity is a backward heat "
                   "equation (ill-posed)", strict=False),
        Constraint("eps", coef("eps"), "a steady problem needs eps > 0 everywhere: without diffusion it is pure "
                   "transport, which needs [time] or inflow-only conditions", transient=False))

    def check(self, coefs: Mapping[str, Any], transient: bool) -> tuple[str, str] | None:
        if not transient and reaction(coefs) is not None:
            return "r", "a nonlinear reaction r(u) needs a time-dependent problem ([time])"
        return None

    def scalar_form(self, problem: Any) -> ScalarForm:
        pde = problem.pde
        return ScalarForm(pde.eps, pde.b, pde.c, pde.f, nonlinear=reaction(pde.coefs))

    def transport_form(self, problem: Any) -> TransportForm | None:
        pde = problem.pde
        if len(pde.b) != 1:
            return None  # transport along characteristics in one space dimension
        (b,) = pde.b

        def source(x: Any, t: Any, w: Any, env: Mapping[str, Any]) -> Any:
            return pde.f.torch(x=x, t=t, **env) - pde.c.torch(x=x, t=t, **env) * w

        return TransportForm(speed=lambda x, t, w, env: b.torch(x=x, t=t, **env), source=source,
                             diffusivity=pde.eps, reaction=reaction(pde.coefs))

    def data(self, pde: Any) -> list[tuple[str, Any, bool]]:
        return [("eps", pde.eps, True), ("c", pde.c, False), ("f", pde.f, False),
                *((f"b{i}", b, False) for i, b in enumerate(pde.b))]

    def residual(self, loss: Any, jet: Any, x: Any, c: Mapping[str, Any]) -> Any:
        adv = sum(c[f"b{i}"][:, None] * jet.d(i) for i in loss.space)
        diff = c["eps"][:, None] * jet.laplacian(loss.space) + (jet.grad(loss.space) * c["eps_grad"][:, None]).sum(-1)
        out = self.time_derivative(loss, jet) + adv - diff + c["c"][:, None] * jet.value - c["f"][:, None]
        r = reaction(loss.problem.pde.coefs)
        if r is not None:
            out = out - r.torch(u=jet.value, **{k: v[:, None] for k, v in loss._env(x).items()})
        return out


register(ConvectionDiffusion())
