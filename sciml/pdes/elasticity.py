"""``elasticity``: ``-div sigma(u) = f``, ``sigma = lam tr(eps) I + 2 mu eps``, ``u = (ux, uy)``
in 2D (plane strain or plane stress), steady; Neumann data are tractions ``sigma n = g``.
Either ``E`` and ``nu`` or ``lam`` and ``mu``; variable Lame parameters are allowed."""

from __future__ import annotations

from typing import Any, Mapping

from ..problems.expr import Expr
from . import register
from .base import Coef, Constraint, PDEType


def lame(coefs: Mapping[str, Any]) -> tuple[Expr, Expr]:
    """The effective (lambda, mu) in the plane model as expressions; plane stress replaces
    lambda by ``2 lam mu / (lam + 2 mu)``."""
    if coefs.get("lam") is not None:
        lam, mu = coefs["lam"].source, coefs["mu"].source
    else:
        E, nu = coefs["E"].source, coefs["nu"].source
        lam = f"(({E})*({nu})/((1+({nu}))*(1-2*({nu}))))"
        mu = f"(({E})/(2*(1+({nu}))))"
    if coefs["plane"] == "stress":
        lam = f"(2*({lam})*({mu})/(({lam})+2*({mu})))"
    given = coefs["mu" if coefs.get("mu") is not None else "E"]
    return Expr(lam, given.names, given.bound), Expr(mu, given.names, given.bound)


def _lame(pde: Any) -> tuple[str, tuple[Expr, ...]]:
    return ("mu" if pde.coefs.get("mu") is not None else "E"), lame(pde.coefs)


def stress(jet: Any, lam: Any, mu: Any) -> tuple[Any, ...]:
    """``(sigma_xx, sigma_yy, sigma_xy)`` of the displacement jet (2D)."""
    exx, eyy = jet.d(0)[:, 0], jet.d(1)[:, 1]
    exy = 0.5 * (jet.d(1)[:, 0] + jet.d(0)[:, 1])
    tr = exx + eyy
    return lam * tr + 2 * mu * exx, lam * tr + 2 * mu * eyy, 2 * mu * exy


def traction(sxx: Any, syy: Any, sxy: Any, normals: Any) -> Any:
    """``sigma n`` ``(P, 2)`` from the stress components and the unit normals ``(P, 2)``."""
    import torch

    nx, ny = normals[:, 0], normals[:, 1]
    return torch.stack([sxx * nx + sxy * ny, sxy * nx + syy * ny], dim=1)


class Elasticity(PDEType):
    name = "elasticity"
    equation = "-div sigma(u) = f"
    coefs = {"E": Coef("scalar", None, doc="Young's modulus"), "nu": Coef("scalar", None, doc="Poisson's ratio"),
             "lam": Coef("scalar", None, doc="Lame lambda"), "mu": Coef("scalar", None, doc="shear modulus"),
             "plane": Coef("choice", "strain", ("strain", "stress"), doc="plane strain or plane stress"),
             "f": Coef("vector", None, doc="body force")}
    dims = (2,)
    time = "never"
    has_reference = True
    flux = "sigma n"
    scale_by_solve = True  # bending: a slender body moves (L / h)^2 further than the local estimates say
    # the mixed form's law weight: equilibrium and exact tractions nearly fix the stresses, and a
    # heavy law slaves them to eps(u), back to the ill-conditioned primal problem (measured 1 /
    # 0.1 / 0.03: cantilever pig 0.55 / 0.18 / 0.073 at 60 s; docs/solvers/pinn.md)
    law_factor = 0.03
    # residual_form = "auto" takes it where the problem has flux data (sciml.nn.flux.first_order_reason)
    first_order_auto = ("the mixed stress-displacement form, elasticity's default with tractions or free edges "
                        "(docs/solvers/pinn.md, \"Elasticity\")")
    components = 2
    constraints = (
        Constraint("mu", _lame, "the shear modulus must be positive (E > 0 and nu > -1): otherwise the elastic "
                   "energy is not positive", combine=lambda lam, mu: mu),
        Constraint("lam + mu", _lame, "lam + mu must be positive (nu < 1/2): otherwise the material is unstable "
                   "and the problem ill-posed", combine=lambda lam, mu: lam + mu))

    def fields(self, coefs: Mapping[str, Any], dim: int) -> tuple[str, ...]:
        return ("ux", "uy")

    def check(self, coefs: Mapping[str, Any], transient: bool) -> tuple[str, str] | None:
        have = {k for k in ("E", "nu", "lam", "mu") if coefs[k] is not None}
        if have not in ({"E", "nu"}, {"lam", "mu"}):
            return "E", "elasticity needs either E and nu, or lam and mu"
        return None

    def data(self, pde: Any) -> list[tuple[str, Any, bool]]:
        lam, mu = lame(pde.coefs)
        body = pde.coefs.get("f") or (None, None)
        return [("lam", lam, True), ("mu", mu, True), ("f0", body[0], False), ("f1", body[1], False)]

    def pairs(self, pde: Any, dim: int) -> tuple[tuple[int, int], ...]:
        return ((0, 0), (0, 1), (1, 1))

    def residual(self, loss: Any, jet: Any, x: Any, c: Mapping[str, Any]) -> Any:
        import torch

        lam, mu, gl, gm = c["lam"], c["mu"], c["lam_grad"], c["mu_grad"]
        ux_xx, ux_xy, ux_yy = jet.dd(0, 0)[:, 0], jet.dd(0, 1)[:, 0], jet.dd(1, 1)[:, 0]
        uy_xx, uy_xy, uy_yy = jet.dd(0, 0)[:, 1], jet.dd(0, 1)[:, 1], jet.dd(1, 1)[:, 1]
        # div sigma = (lam + mu) grad(div u) + mu lap u + grad(lam) tr(eps) + 2 eps grad(mu)
        div_x, div_y = ux_xx + uy_xy, ux_xy + uy_yy
        sxx, syy, sxy = stress(jet, torch.zeros_like(lam), torch.ones_like(mu))  # 2 eps entries
        tr = jet.d(0)[:, 0] + jet.d(1)[:, 1]
        fx = (lam + mu) * div_x + mu * (ux_xx + ux_yy) + gl[:, 0] * tr + gm[:, 0] * sxx + gm[:, 1] * sxy
        fy = (lam + mu) * div_y + mu * (uy_xx + uy_yy) + gl[:, 1] * tr + gm[:, 0] * sxy + gm[:, 1] * syy
        return torch.stack([-fx - c["f0"], -fy - c["f1"]], dim=1)

    def boundary_flux(self, loss: Any, jet: Any, normals: Any, c: Mapping[str, Any]) -> Any:
        return traction(*stress(jet, c["lam"], c["mu"]), normals)

    # -- the mixed stress-displacement form (sciml.nn.flux) -------------------------------------
    def flux_width(self, dim: int) -> int:
        return 3  # sigma_xx, sigma_yy, sigma_xy

    def first_order_terms(self, loss: Any, jet: Any, q: Any, x: Any, c: Mapping[str, Any]) -> tuple[Any, Any]:
        """Equilibrium ``-div sigma - f`` on the stress outputs and the constitutive gap
        ``tau = sigma - C eps(u)`` in the compliance norm ``tau : C^{-1} : tau``, written as three
        components whose squares sum to it: ``tr tau / (2 sqrt(lam + mu))``,
        ``(tau_xx - tau_yy) / (2 sqrt(mu))`` and ``tau_xy / sqrt(mu)``."""
        import torch

        lam, mu = c["lam"], c["mu"]
        s, ds_dx, ds_dy = q.value, q.d(0), q.d(1)
        eq = torch.stack([-(ds_dx[:, 0] + ds_dy[:, 2]) - c["f0"], -(ds_dx[:, 2] + ds_dy[:, 1]) - c["f1"]], dim=1)
        txx, tyy, txy = (s[:, i] - e for i, e in enumerate(stress(jet, lam, mu)))
        law = torch.stack([(txx + tyy) / (2 * torch.sqrt(lam + mu)), (txx - tyy) / (2 * torch.sqrt(mu)),
                           txy / torch.sqrt(mu)], dim=1)
        return eq, law

    def stiffness(self, loss: Any, c: Mapping[str, Any]) -> Any:
        return c["lam"] + 2 * c["mu"]

    def flux_fixed(self, axis: int, dim: int) -> tuple[tuple[int, int], ...]:
        # sigma n = g with n = +-e_x fixes sigma_xx and sigma_xy, with n = +-e_y sigma_xy and sigma_yy
        return ((0, 0), (2, 1)) if axis == 0 else ((2, 0), (1, 1))

    def flux_through(self, loss: Any, q: Any, normals: Any, c: Mapping[str, Any]) -> Any:
        return traction(q[:, 0], q[:, 1], q[:, 2], normals)

    def linear_system(self, problem: Any, mesh: Any) -> Any:
        from ..reference.elasticity import elasticity_system

        return elasticity_system(problem, mesh)

    def reference(self, problem: Any, cfg: Any) -> Any:
        from ..reference import elasticity_reference

        return elasticity_reference(problem, cfg)

register(Elasticity())
