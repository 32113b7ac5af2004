"""What a PDE type is: the base class every module of :mod:`sciml.pdes` subclasses.

A PDE type states, in one place, its coefficients (the keys of ``[pde]``) and their extra
validation, the fields it solves for, the space dimensions and time dependence it allows, the
boundary-condition kinds it takes, the physical constraints its coefficients keep, its traits
(what solvers select on) and, when it has one, its pointwise residual on the shared jets with
the boundary flux its Neumann data prescribe.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Mapping

import numpy as np

from ..problems.expr import Expr

if TYPE_CHECKING:
    from ..problems.pdes import PDE

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


@dataclass(frozen=True)
class ScalarForm:
    """A scalar problem as ``u_t - div(diffusion A grad u) + velocity.grad u + reaction u =
    source + nonlinear(u)`` (``u_t`` for transient problems), the form the P1 FEM and finite
    difference references assemble. ``axes`` is the diagonal of the anisotropy ``A`` (None: the
    identity) and ``tensor`` a full symmetric diffusion tensor of expressions instead; Neumann and
    Robin data are multiplied by ``flux_scale`` to give the weak form's conormal flux."""

    diffusion: Expr
    velocity: tuple[Expr, ...] | None
    reaction: Expr
    source: Expr
    nonlinear: Expr | None = None
    axes: np.ndarray | None = None
    flux_scale: float = 1.0
    tensor: tuple[tuple[Expr, ...], ...] | None = None  # a full diffusion tensor (replaces diffusion A)


@dataclass(frozen=True)
class TransportForm:
    """A 1D problem as transport along characteristics, ``w_t + speed(x, t, w) w_x = diffusivity
    w_xx + source(x, t, w) + reaction(w)``, the form the Lagrangian PINN trains on. ``speed`` and
    ``source`` take torch tensors and ``env``, the values of unknown parameters (inverse
    problems); ``reaction`` is a nonlinear reaction expression or None."""

    speed: Callable[..., Any]
    source: Callable[..., Any]
    diffusivity: Expr
    reaction: Expr | None = None


def coef(name: str) -> Callable[["PDE"], tuple[str, tuple[Expr, ...]] | None]:
    """``Constraint.exprs`` of one coefficient (when the problem gives it)."""
    return lambda pde: (name, (pde.coefs[name],)) if pde.coefs.get(name) is not None else None


class PDEType:
    """Base of the PDE types. A module subclasses it, sets the class attributes and decorates
    an instance with :func:`sciml.pdes.register`.

    Traits (:attr:`traits`) are what solvers select on: ``steady`` and/or ``transient``,
    ``scalar`` or ``vector``, ``linear`` or ``nonlinear``, ``dim0``-``dim10`` (the space
    dimensions allowed), ``space`` (some of them above 0: not only ODEs), ``residual`` (a
    pointwise residual the physics-informed solvers train on), ``reference`` (a SciPy
    reference solves it), ``incompressible`` (a divergence-free velocity with a pressure),
    ``transport`` (a 1D transport form along
    characteristics, :meth:`transport_form`), ``operator2d`` (may have a constant 2D
    operator, :meth:`operator_coefficients`) and ``assembles`` (a steady problem of the type is
    a P1 linear system, :meth:`linear_system`) and ``first_order`` (a divergence form
    ``div(K grad u)`` that the physics-informed solvers may train as a first-order system with
    the flux ``q = K grad u`` as a second output, :meth:`conductivity`).
    """

    name: ClassVar[str]
    equation: ClassVar[str]
    coefs: ClassVar[Mapping[str, Coef]]
    dims: ClassVar[tuple[int, ...]]
    time: ClassVar[str]  # "never" | "optional" | "required"
    flux: ClassVar[str] = "du/dn"  # what Neumann data prescribe (documentation)
    flux_coef: ClassVar[str | None] = None  # the coefficient in front of du/dn in the flux
    boundary_kinds: ClassVar[tuple[str, ...] | None] = None  # None: every kind that belongs to any type
    constraints: ClassVar[tuple[Constraint, ...]] = ()
    components: ClassVar[int | None] = 1  # None: given by the problem (an ODE system's variables)
    linear: ClassVar[bool] = True
    incompressible: ClassVar[bool] = False  # a velocity field with div u = 0 and a pressure
    has_residual: ClassVar[bool] = True
    has_reference: ClassVar[bool] = False  # a SciPy reference in sciml.reference solves it
    # why residual_form = "auto" trains the first-order form on every problem of a type whose
    # form has no conductivity K (None: never; a type with K decides by its variation)
    first_order_auto: ClassVar[str | None] = None
    # the constitutive law's weight in the first-order form, as a multiple of k / L^2
    # (sciml.nn.flux.flux_constants)
    law_factor: ClassVar[float] = 1.0
    # the output scale also from a polynomial solve of the whole problem (sciml.nn.scales.solve_scale)
    scale_by_solve: ClassVar[bool] = False

    # -- description -----------------------------------------------------------------------------
    def fields(self, coefs: Mapping[str, Any], dim: int) -> tuple[str, ...]:
        """Names of the solution's components."""
        return ("u",)

    @property
    def traits(self) -> frozenset[str]:
        out = {f"dim{d}" for d in self.dims}
        out |= {"space"} if any(d > 0 for d in self.dims) else set()
        out |= {"steady"} if self.time != "required" else set()
        out |= {"transient"} if self.time != "never" else set()
        out.add("linear" if self.linear else "nonlinear")
        if self.components is not None:
            out.add("vector" if self.components > 1 else "scalar")
        if self.has_residual:
            out.add("residual")
        if self.has_reference:
            out.add("reference")
        if self.incompressible:
            out.add("incompressible")
        if type(self).operator_coefficients is not PDEType.operator_coefficients or \
                type(self).scalar_form is not PDEType.scalar_form:
            out.add("operator2d")
        if type(self).linear_system is not PDEType.linear_system or type(self).scalar_form is not PDEType.scalar_form:
            out.add("assembles")
        if type(self).transport_form is not PDEType.transport_form:
            out.add("transport")
        if type(self).conductivity is not PDEType.conductivity or \
                type(self).first_order_terms is not PDEType.first_order_terms:
            out.add("first_order")
        return frozenset(out)

    def check(self, coefs: Mapping[str, Any], transient: bool) -> tuple[str, str] | None:
        """Validation beyond each coefficient's type: ``(key, message)`` of the first problem,
        or None."""
        return None

    # -- the physics-informed residual -------------------------------------------------------------
    def data(self, pde: "PDE") -> list[tuple[str, Expr | None, bool]]:
        """Coefficients the residual reads at collocation points: ``(name, expression, with
        its spatial gradient)``."""
        return []

    def order(self, pde: "PDE") -> int:
        """Highest derivative order of the residual."""
        return 2

    def pairs(self, pde: "PDE", dim: int) -> tuple[tuple[int, int], ...]:
        """Second-derivative index pairs the residual needs."""
        return tuple((i, i) for i in range(dim))

    def initial_rates(self, pde: "PDE") -> tuple[str, ...]:
        """Fields whose initial rate ``f_t`` the problem must give in ``[initial]`` (second
        order in time)."""
        return ()

    def residual(self, loss: Any, jet: Any, x: Any, c: Mapping[str, Any]) -> Any:  # pragma: no cover - abstract
        """Interior residual ``(P, n_equations)`` from a jet at points ``x``."""
        raise NotImplementedError

    @staticmethod
    def time_derivative(loss: Any, jet: Any) -> Any:
        """``u_t`` of a transient problem's jet, 0 for a steady one."""
        return jet.d(loss.tcol) if loss.tcol is not None else 0.0

    def boundary_flux(self, loss: Any, jet: Any, normals: Any, c: Mapping[str, Any]) -> Any:
        """The flux the weak form sees, ``(P, n_components)``: ``flux_coef du/dn``."""
        dudn = (jet.grad(loss.space) * normals[:, None, :]).sum(-1)
        return dudn * c[self.flux_coef][:, None] if self.flux_coef else dudn

    # -- the first-order system form (sciml.nn.flux) -------------------------------------------------
    def conductivity(self, loss: Any, c: Mapping[str, Any]) -> Any:  # pragma: no cover - abstract
        """The tensor ``K`` ``(P, d, d)`` (symmetric positive definite) of the flux ``q = K grad u``
        whose divergence the equation holds, from the coefficients ``c`` at ``P`` points. A type
        that defines it and :meth:`flux_residual` has the ``first_order`` trait."""
        raise NotImplementedError

    def flux_residual(self, loss: Any, jet: Any, div_q: Any, x: Any, c: Mapping[str, Any]) -> Any:  # pragma: no cover
        """The interior residual ``(P, 1)`` with ``div(K grad u)`` replaced by ``div_q``, the
        divergence of the flux output (the rest of the equation reads ``jet``, first order)."""
        raise NotImplementedError

    def flux_width(self, dim: int) -> int:
        """How many outputs the flux takes in the first-order form (``d`` for ``q = K grad u``)."""
        return dim

    def first_order_terms(self, loss: Any, jet: Any, q: Any, x: Any, c: Mapping[str, Any]) -> tuple[Any, Any]:
        """``(equation, law)`` of the first-order form at ``P`` points: the interior residual
        ``(P, m)`` with the flux's divergence taken from the flux outputs' jet ``q``, and the
        constitutive law's gap in the energy norm ``(P, k)`` (its squares sum to
        ``|K^{-1/2} (q - K grad u)|^2``), from :meth:`conductivity` and :meth:`flux_residual`."""
        import torch

        div_q = sum(q.d(i)[:, i] for i in loss.space)[:, None]
        K = self.conductivity(loss, c)
        gap = q.value - (K @ jet.grad(loss.space)[:, 0, :, None])[:, :, 0]
        law = torch.linalg.solve_triangular(torch.linalg.cholesky(K), gap[:, :, None], upper=False)[:, :, 0]
        return self.flux_residual(loss, jet, div_q, x, c), law

    def stiffness(self, loss: Any, c: Mapping[str, Any]) -> Any:
        """The largest modulus ``(P,)`` of the constitutive law (the largest eigenvalue of ``K``),
        which sizes the flux outputs and weighs the law (:func:`sciml.nn.flux.flux_constants`)."""
        import torch

        return torch.linalg.eigvalsh(self.conductivity(loss, c))[:, -1]

    def flux_fixed(self, axis: int, dim: int) -> tuple[tuple[int, int], ...]:
        """``(flux component, data component)`` pairs that flux data on a boundary with outward
        normal ``+-e_axis`` fix (:func:`sciml.nn.flux.flux_plan`): ``q_axis = +-g``."""
        return ((axis, 0),)

    def flux_through(self, loss: Any, q: Any, normals: Any, c: Mapping[str, Any]) -> Any:
        """The boundary flux ``(P, n_components)`` from the flux outputs ``q`` ``(P, width)``:
        ``q . n``."""
        return (q * normals).sum(dim=1, keepdim=True)

    def diffusive(self, pde: "PDE", dim: int) -> bool:
        """Whether the residual has second derivatives in space (time-stepped neural fields then
        use a smoother network): by default, whether the coefficient in front of the flux
        (:attr:`flux_coef`) is given and not identically zero."""
        expr = pde.coefs.get(self.flux_coef) if self.flux_coef else None
        if expr is None:
            return False
        if not expr.is_constant:
            return True
        return float(np.ravel(expr(np.zeros((1, max(dim, 1))), 0.0))[0]) != 0.0

    def natural_boundary(self, problem: Any) -> bool:
        """Whether boundary points no entry covers carry the natural zero-flux condition."""
        return True

    # -- the SciPy reference ------------------------------------------------------------------------
    def scalar_form(self, problem: Any) -> ScalarForm | None:
        """The problem as a :class:`ScalarForm` the FEM and fd references assemble, or None
        (not a scalar second-order problem)."""
        return None

    def operator_coefficients(self, problem: Any) -> np.ndarray | None:
        """``(c_u, c_x, c_y, c_xx, c_yy)`` of a steady 2D problem as the constant operator
        ``c_u u + c_x u_x + c_y u_y + c_xx u_xx + c_yy u_yy = f`` (the HyPINO input and the
        space-time reference), or None when the type has no such form. By default from the
        scalar form ``-k lap u + b.grad u + c u = f``: ``(c, b_x, b_y, -k, -k)``; a coefficient
        that is not constant is refused, naming it."""
        from ..errors import ProblemError

        form = self.scalar_form(problem)
        if form is None or form.axes is not None or form.tensor is not None:
            return None
        if form.nonlinear is not None:
            raise ProblemError("a nonlinear reaction does not map onto the linear operator", problem.source, "pde.r")
        velocity = form.velocity or (Expr("0"), Expr("0"))
        values = []
        for key, expr in (("reaction", form.reaction), ("velocity", velocity[0]), ("velocity", velocity[1]),
                          (self.flux_coef or "diffusion", form.diffusion)):
            if not expr.is_constant:
                where = f"pde.{key}" if key in problem.pde.coefs else "pde"
                raise ProblemError(f"the {key} term must be a constant to map onto the linear operator, got "
                                   f"{expr.source!r}", problem.source, where)
            values.append(float(np.ravel(expr.numpy())[0]))
        c, bx, by, k = values
        return np.array([c, bx, by, -k, -k])

    def transport_form(self, problem: Any) -> TransportForm | None:
        """The problem as a :class:`TransportForm` (1D transport along characteristics), or None."""
        return None

    def linear_system(self, problem: Any, mesh: Any) -> Any:
        """The steady problem's P1 :class:`~sciml.reference.system.LinearSystem` on ``mesh``
        (``ggn`` and the parametric assembly of inverse problems use it); by default the scalar
        FEM of :meth:`scalar_form`, refused without one or with a nonlinear term."""
        from ..errors import ProblemError

        form = self.scalar_form(problem)
        if form is None:
            raise ProblemError(f"{self.name!r} problems do not assemble into a linear system",
                               problem.source, "pde.type")
        if form.nonlinear is not None:
            raise ProblemError("a nonlinear reaction does not assemble into a linear system", problem.source, "pde.r")
        from ..reference.system import scalar_system

        return scalar_system(problem, mesh)

    def reference(self, problem: Any, cfg: Any) -> Any:
        """The SciPy reference :class:`~sciml.solution.Solution` (``cfg`` is
        :class:`sciml.reference.ReferenceConfig`); by default the FEM or fd reference of the
        type's :meth:`scalar_form`."""
        from ..reference import scalar_reference

        return scalar_reference(problem, cfg)
