"""PDE types, their coefficients and sign conventions.

=====================  =====================================================================
type                   equation (u scalar unless noted; n the outward normal)
=====================  =====================================================================
poisson                -div(k grad u) = f
helmholtz              -lap u - kappa^2 u = f
convection_diffusion   u_t + b.grad u - div(eps grad u) + c u = f + r(u)   (steady without [time];
                       the nonlinear reaction r(u) needs [time])
burgers                u_t + F(u)_x = nu u_xx, F = u^2/2 by default  (1D in space)
elasticity             -div sigma(u) = f, sigma = lam tr(eps) I + 2 mu eps, u = (ux, uy) (2D)
linear                 c_u u + c_x u_x + c_y u_y + c_xx u_xx + c_yy u_yy = f   (2D, constant
                       coefficients; y is time unless c_xx c_yy > 0: HyPINO's problem class)
ode                    du/dt = F(u, t) for named variables
euler                  u_t + (u.grad) u + grad p = 0, div u = 0, u = (ux, uy) (2D, inviscid,
                       incompressible, unit density; walls: ``slip``, u.n = 0)
=====================  =====================================================================

Neumann data is the flux the weak form sees: ``k du/dn = g`` (poisson), ``du/dn = g``
(helmholtz), ``eps du/dn = g`` (convection-diffusion, burgers: ``nu du/dn``), traction
``sigma n = g`` (elasticity), ``du/dn = g`` (linear); Robin adds ``alpha u`` to the left-hand side.
A ``cauchy`` condition (linear only) gives both ``u`` and ``du/dn`` on one piece: the initial
line of a second-order-in-time space-time problem.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from .expr import Expr


@dataclass(frozen=True)
class Coef:
    """One coefficient of a PDE type.

    ``kind`` is ``scalar`` (an expression), ``vector`` (one expression per space dimension),
    ``choice`` (a string from ``options``), ``names`` (a list of identifiers), ``exprs``
    (one expression per ODE variable), ``flux`` (an expression in the solution ``u`` and the
    parameters) or ``reaction`` (in ``u``, the coordinates and the parameters).
    """

    kind: str
    default: Any = None
    options: tuple[str, ...] = ()
    doc: str = ""


@dataclass(frozen=True)
class Constraint:
    """A physical sign a coefficient (or a combination of them) must keep on the whole domain,
    checked when the problem loads (:mod:`sciml.problems.checks`).

    ``exprs(pde)`` gives the key the error names and the expressions, or None when the
    constraint does not apply; ``combine`` turns their sampled values into the quantity that
    must exceed ``lower`` (strictly if ``strict``); ``transient`` limits the check to
    transient (True) or steady (False) problems.
    """

    label: str
    exprs: Callable[["PDE"], tuple[str, tuple[Expr, ...]] | None]
    why: str
    combine: Callable[..., np.ndarray] = lambda v: v
    lower: float = 0.0
    strict: bool = True
    transient: bool | None = None


def _coef(name: str) -> Callable[["PDE"], tuple[str, tuple[Expr, ...]] | None]:
    return lambda pde: (name, (pde.coefs[name],)) if pde.coefs.get(name) is not None else None


def _lame(pde: "PDE") -> tuple[str, tuple[Expr, ...]]:
    return ("mu" if pde.coefs.get("mu") is not None else "E"), pde.lame()


@dataclass(frozen=True)
class PDESpec:
    """What a PDE type takes: coefficients, allowed space dimensions, time dependence and the
    physical constraints its coefficients must keep."""

    coefs: Mapping[str, Coef]
    dims: tuple[int, ...]
    time: str  # "never" | "optional" | "required"
    equation: str
    flux: str = "du/dn"
    constraints: tuple[Constraint, ...] = ()


SPECS: dict[str, PDESpec] = {
    "poisson": PDESpec(
        {"k": Coef("scalar", "1", doc="diffusivity k(x)"), "f": Coef("scalar", "0", doc="source")},
        (1, 2, 3), "never", "-div(k grad u) = f", "k du/dn",
        (Constraint("k", _coef("k"), "k must be positive everywhere: with a zero, negative or "
                    "sign-changing diffusivity -div(k grad u) = f is not elliptic (ill-posed)"),)),
    "helmholtz": PDESpec(
        {"kappa": Coef("scalar", "1", doc="wavenumber"), "f": Coef("scalar", "0", doc="source")},
        (1, 2, 3), "never", "-lap u - kappa^2 u = f"),
    "convection_diffusion": PDESpec(
        {"eps": Coef("scalar", "1", doc="diffusivity"), "b": Coef("vector", None, doc="velocity"),
         "c": Coef("scalar", "0", doc="reaction"), "f": Coef("scalar", "0", doc="source"),
         "r": Coef("reaction", "0", doc="nonlinear reaction r(u) on the right-hand side: an expression in u, "
                   "the coordinates and the parameters (transient problems)")},
        (1, 2, 3), "optional", "u_t + b.grad u - div(eps grad u) + c u = f + r(u)", "eps du/dn",
        (Constraint("eps", _coef("eps"), "eps must not be negative: a negative diffusivity is a backward "
                    "heat equation (ill-posed)", strict=False),
         Constraint("eps", _coef("eps"), "a steady problem needs eps > 0 everywhere: without diffusion "
                    "it is pure transport, which needs [time] or inflow-only conditions", transient=False))),
    "burgers": PDESpec({"nu": Coef("scalar", None, doc="viscosity (a constant)"),
                        "flux": Coef("flux", "u**2/2", doc="flux F(u) of u_t + F(u)_x = nu u_xx "
                                     "(a scalar conservation law; Burgers by default)")},
                       (1,), "required", "u_t + F(u)_x = nu u_xx, F(u) = u^2/2 by default", "nu du/dn",
                       (Constraint("nu", _coef("nu"), "burgers viscosity must be positive: a negative "
                                   "viscosity is ill-posed (backward diffusion) and nu = 0 forms shocks "
                                   "the references cannot represent"),)),
    "elasticity": PDESpec(
        {"E": Coef("scalar", None, doc="Young's modulus"), "nu": Coef("scalar", None, doc="Poisson's ratio"),
         "lam": Coef("scalar", None, doc="Lame lambda"), "mu": Coef("scalar", None, doc="shear modulus"),
         "plane": Coef("choice", "strain", ("strain", "stress"), doc="plane strain or plane stress"),
         "f": Coef("vector", None, doc="body force")},
        (2,), "never", "-div sigma(u) = f", "sigma n",
        (Constraint("mu", _lame, "the shear modulus must be positive (E > 0 and nu > -1): otherwise "
                    "the elastic energy is not positive", combine=lambda lam, mu: mu),
         Constraint("lam + mu", _lame, "lam + mu must be positive (nu < 1/2): otherwise the material "
                    "is unstable and the problem ill-posed", combine=lambda lam, mu: lam + mu))),
    "linear": PDESpec(
        {**{name: Coef("scalar", "0", doc=f"coefficient of {term} (a constant)")
            for name, term in (("c_u", "u"), ("c_x", "u_x"), ("c_y", "u_y"), ("c_xx", "u_xx"), ("c_yy", "u_yy"))},
         "f": Coef("scalar", "0", doc="source")},
        (2,), "never", "c_u u + c_x u_x + c_y u_y + c_xx u_xx + c_yy u_yy = f (y is time unless c_xx c_yy > 0)"),
    "ode": PDESpec({"variables": Coef("names", None, doc="state variable names"),
                    "rhs": Coef("exprs", None, doc="du/dt for each variable, in the variables and t")},
                   (0,), "required", "du/dt = F(u, t)"),
    "euler": PDESpec({}, (2,), "required",
                     "u_t + (u.grad)u + grad p = 0, div u = 0 (inviscid, incompressible, unit density)", "u.n"),
}


@dataclass(frozen=True)
class PDE:
    """A PDE type with its parsed coefficients (``pde.k``, ``pde.b``…).

    Scalars are :class:`Expr`, vectors tuples of :class:`Expr`, choices strings, ``ode``
    variables a tuple of names and ``rhs`` a tuple of :class:`Expr`.
    """

    type: str
    coefs: Mapping[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        coefs = object.__getattribute__(self, "coefs")
        if name in coefs:
            return coefs[name]
        raise AttributeError(f"{self.type} has no coefficient {name!r}")

    @property
    def spec(self) -> PDESpec:
        return SPECS[self.type]

    def fields(self, dim: int) -> tuple[str, ...]:
        """Names of the solution's components."""
        if self.type in ("elasticity", "euler"):
            return ("ux", "uy")
        if self.type == "ode":
            return tuple(self.coefs["variables"])
        return ("u",)

    @property
    def reaction(self) -> Expr | None:
        """The nonlinear reaction ``r(u)`` of a convection-diffusion problem, None when absent."""
        r = self.coefs.get("r")
        return None if r is None or r.source.strip() in ("0", "0.0") else r

    def lame(self) -> tuple[Expr, Expr]:
        """Elasticity: the effective (lambda, mu) in the plane model as expressions.

        Plane stress replaces lambda by ``2 lam mu / (lam + 2 mu)``.
        """
        c = self.coefs
        if c.get("lam") is not None:
            lam, mu = c["lam"].source, c["mu"].source
        else:
            E, nu = c["E"].source, c["nu"].source
            lam = f"(({E})*({nu})/((1+({nu}))*(1-2*({nu}))))"
            mu = f"(({E})/(2*(1+({nu}))))"
        if c["plane"] == "stress":
            lam = f"(2*({lam})*({mu})/(({lam})+2*({mu})))"
        names, bound = c["mu" if c.get("mu") is not None else "E"].names, \
            c["mu" if c.get("mu") is not None else "E"].bound
        return Expr(lam, names, bound), Expr(mu, names, bound)
