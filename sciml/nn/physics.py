"""Physics-informed residuals of a :class:`~sciml.problems.Problem`, in one place.

Every physics-informed solver (PINN, PIG, and the later ones) builds its loss from
:class:`PhysicsLoss`, so a PDE type is added here once. The residuals follow the sign
conventions of :mod:`sciml.problems.pdes`:

=====================  ======================================================================
interior               ``-div(k grad u) - f`` (poisson), ``-lap u - kappa^2 u - f`` (helmholtz),
                       ``u_t + b.grad u - div(eps grad u) + c u - f - r(u)`` (convection_diffusion,
                       steady without ``u_t``), ``u_t + F'(u) u_x - nu u_xx`` (burgers),
                       ``-div sigma(u) - f`` (2D elasticity, variable Lame parameters allowed),
                       ``c_u u + c_x u_x + c_y u_y + c_xx u_xx + c_yy u_yy - f`` (linear),
                       ``du/dt - F(u, t)`` (ode)
dirichlet              ``u - g`` (elasticity: the listed components)
neumann / robin        ``flux(u).n (+ alpha u) - g`` with the flux the weak form sees
cauchy                 ``u - g`` and ``du/dn - h`` (linear: an initial line)
natural                ``flux(u).n`` where no ``[[boundary]]`` entry covers the boundary, except
                       on space-time linear problems (``y`` is time), whose free edges carry none
periodic               ``u(lo) - u(hi)`` and ``du/dx_a(lo) - du/dx_a(hi)`` on each periodic axis
initial                ``u(x, t0) - u0(x)``
=====================  ======================================================================

Each group enters the loss as a mean square; ``res``, ``bc`` (sum over conditions, as DeepXDE
sums its boundary terms) and ``ic`` are weighted by :class:`LossWeights`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np
import torch

from ..problems import Problem
from ..problems.expr import Expr
from ..problems.linear import coefficients, operator_kind
from .collocation import PointSet
from .jet import Jet

SPACE = ("x", "y", "z")


@dataclass(frozen=True)
class LossWeights:
    """Weights of the interior residual, boundary and initial-condition terms."""

    res: float = 1.0
    bc: float = 1.0
    ic: float = 1.0


@dataclass
class BoundaryBatch:
    index: int
    kind: str  # dirichlet | neumann | robin | natural
    points: torch.Tensor
    normals: torch.Tensor
    target: torch.Tensor  # (n, n_values)
    coef: dict[str, torch.Tensor] = field(default_factory=dict)
    alpha: torch.Tensor | None = None
    components: tuple[int, ...] = ()


@dataclass
class Batch:
    """Collocation tensors with the problem data evaluated at them (computed once per draw)."""

    interior: torch.Tensor
    coef: dict[str, torch.Tensor]
    boundary: list[BoundaryBatch]
    periodic: list[tuple[int, torch.Tensor, torch.Tensor]]
    initial: tuple[torch.Tensor, torch.Tensor] | None


class PhysicsLoss:
    """Residuals and loss terms of ``problem`` for any model with a ``jet`` method.

    Parameters
    ----------
    problem
        The problem; every PDE type of :data:`sciml.problems.SPECS` is handled.
    weights
        :class:`LossWeights` of the ``res``, ``bc`` and ``ic`` terms.
    dtype, device
        Where the collocation tensors live.
    value_scale
        Typical size of the solution: Dirichlet and initial-condition residuals are divided by
        it, so they weigh like the network's O(1) output (the other residuals are linear in
        the solution's derivatives and scale with the PDE's coefficients instead).
    residual_on_boundary
        Also require the PDE at the boundary points (as DeepXDE does), so a Neumann condition
        cannot be met by a thin layer between the boundary and the nearest interior point.
    """

    def __init__(self, problem: Problem, weights: LossWeights = LossWeights(),
                 dtype: torch.dtype = torch.float32, device: str | torch.device = "cpu",
                 value_scale: float = 1.0, residual_on_boundary: bool = False):
        if not value_scale > 0:
            raise ValueError(f"value_scale must be positive, got {value_scale}")
        self.problem, self.weights, self.value_scale = problem, weights, value_scale
        self.residual_on_boundary = residual_on_boundary
        self.dtype, self.device = dtype, torch.device(device)
        self.dim = problem.dim
        self.type = problem.pde.type
        self.ncomp = len(problem.fields)
        self.tcol = problem.dim if problem.transient else None
        self.space = tuple(range(problem.dim))
        if self.type == "elasticity":
            self.lam, self.mu = problem.pde.lame()
        self.linear = coefficients(problem) if self.type == "linear" else None
        self.natural = self.linear is None or operator_kind(self.linear) == "elliptic"

    # -- what the model must provide -----------------------------------------------------------
    @property
    def pairs(self) -> tuple[tuple[int, int], ...]:
        """Second-derivative index pairs the interior residual needs."""
        if self.type == "elasticity":
            return ((0, 0), (0, 1), (1, 1))
        if self.type == "ode":
            return ()
        return tuple((i, i) for i in self.space)

    @property
    def order(self) -> int:
        return 1 if self.type == "ode" else 2

    # -- data at points ------------------------------------------------------------------------
    def tensor(self, a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.asarray(a, dtype=float), dtype=self.dtype, device=self.device)

    def _env(self, pts: torch.Tensor) -> dict[str, torch.Tensor]:
        env = {SPACE[i]: pts[:, i] for i in range(self.dim)}
        if self.tcol is not None:
            env["t"] = pts[:, self.tcol]
        return env

    def _eval(self, expr: Expr | None, pts: torch.Tensor, grad: bool = False) -> dict[str, torch.Tensor]:
        """Value (and spatial gradient) of a coefficient at points, detached from any graph."""
        if expr is None:
            zero = torch.zeros(len(pts), dtype=self.dtype, device=self.device)
            return {"v": zero, "g": zero[:, None].expand(-1, self.dim)}
        if not grad or not expr.depends_on(*SPACE[: self.dim]):
            with torch.no_grad():
                v = expr.torch(**self._env(pts))
            return {"v": v, "g": torch.zeros(len(pts), self.dim, dtype=self.dtype, device=self.device)}
        leaf = pts.detach().clone().requires_grad_(True)
        v = expr.torch(**self._env(leaf))
        (g,) = torch.autograd.grad(v.sum(), leaf)
        return {"v": v.detach(), "g": g[:, : self.dim].detach()}

    def _coefficients(self, pts: torch.Tensor, boundary: bool = False) -> dict[str, torch.Tensor]:
        pde, out = self.problem.pde, {}

        def put(name: str, expr: Expr | None, grad: bool = False) -> None:
            r = self._eval(expr, pts, grad and not boundary)
            out[name] = r["v"]
            out[name + "_grad"] = r["g"]

        if self.type == "poisson":
            put("k", pde.k, True)
            put("f", pde.f)
        elif self.type == "helmholtz":
            put("kappa", pde.kappa)
            put("f", pde.f)
        elif self.type == "convection_diffusion":
            put("eps", pde.eps, True)
            put("c", pde.c)
            put("f", pde.f)
            for i, b in enumerate(pde.b):
                put(f"b{i}", b)
        elif self.type == "burgers":
            put("nu", pde.nu)
        elif self.type == "linear":
            put("f", pde.f)
        elif self.type == "elasticity":
            put("lam", self.lam, True)
            put("mu", self.mu, True)
            body = pde.coefs.get("f") or (None, None)
            put("f0", body[0])
            put("f1", body[1])
        return out

    def prepare(self, points: PointSet) -> Batch:
        """Tensors and problem data (coefficients, boundary and initial values) for a draw."""
        p = self.problem
        residual_points = points.interior
        if self.residual_on_boundary and points.boundary:
            residual_points = np.concatenate([points.interior, *(g.points for g in points.boundary)])
        interior = self.tensor(residual_points)
        boundary = []
        for group in points.boundary:
            pts = self.tensor(group.points)
            bc = p.boundaries[group.index] if group.index >= 0 else None
            kind = bc.type if bc is not None else "natural"
            space, t = p.split(group.points)
            if bc is not None:
                target = self.tensor(bc.values(space, t))
            else:
                target = torch.zeros(len(pts), self.ncomp, dtype=self.dtype, device=self.device)
            alpha = self.tensor(bc.alpha(space, t)) if bc is not None and bc.alpha is not None else None
            comps = (bc.components if bc is not None and bc.components else tuple(range(self.ncomp)))
            boundary.append(BoundaryBatch(group.index, kind, pts, self.tensor(group.normals), target,
                                          self._coefficients(pts, boundary=True), alpha, comps))
        periodic = [(pp.axis, self.tensor(pp.lo), self.tensor(pp.hi)) for pp in points.periodic]
        initial = None
        if points.initial is not None:
            init = self.tensor(points.initial)
            if self.type == "ode":
                u0 = [float(p.initial[v].numpy()) for v in p.fields]
                target = self.tensor(np.array([u0]))
            else:
                space = points.initial[:, : self.dim]
                target = self.tensor(np.stack([p.initial[f](space) for f in p.fields], axis=1))
            initial = (init, target)
        return Batch(interior, self._coefficients(interior), boundary, periodic, initial)

    # -- residuals -----------------------------------------------------------------------------
    def residual(self, jet: Jet, x: torch.Tensor, coef: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Interior residual ``(P, n_equations)`` from a jet at points ``x``."""
        return _RESIDUALS[self.type](self, jet, x, coef)

    def flux(self, jet: Jet, normals: torch.Tensor, coef: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """The boundary flux the weak form sees, ``(P, n_components)``."""
        if self.type == "elasticity":
            lam, mu = coef["lam"][:, None], coef["mu"][:, None]
            s = _stress(jet, lam[:, 0], mu[:, 0])
            nx, ny = normals[:, 0], normals[:, 1]
            return torch.stack([s[0] * nx + s[2] * ny, s[2] * nx + s[1] * ny], dim=1)
        dudn = (jet.grad(self.space) * normals[:, None, :]).sum(-1)
        scale = {"poisson": "k", "convection_diffusion": "eps", "burgers": "nu"}.get(self.type)
        return dudn * coef[scale][:, None] if scale else dudn

    def terms(self, model: Any, batch: Batch) -> dict[str, torch.Tensor]:
        """Unweighted mean-square loss terms ``res``, ``bc`` and ``ic`` (those that apply)."""
        jet = model.jet(batch.interior, self.order, self.pairs)
        out = {"res": self.residual(jet, batch.interior, batch.coef).pow(2).mean()}
        bc = self.boundary_term(model, batch)
        if bc is not None:
            out["bc"] = bc
        if batch.initial is not None:
            pts, target = batch.initial
            out["ic"] = ((model.jet(pts, 0, ()).value - target) / self.value_scale).pow(2).mean()
        return out

    def boundary_term(self, model: Any, batch: Batch) -> torch.Tensor | None:
        """The sum of the boundary and periodic mean squares (None without boundary points)."""
        bc_terms = []
        for g in batch.boundary:
            if g.kind == "natural" and not self.natural:
                continue
            if g.kind == "dirichlet":
                j = model.jet(g.points, 0, ())
                r = (j.value[:, list(g.components)] - g.target[:, list(g.components)]) / self.value_scale
            elif g.kind == "cauchy":
                j = model.jet(g.points, 1, ())
                bc_terms.append(((j.value[:, 0] - g.target[:, 0]) / self.value_scale).pow(2).mean())
                r = self.flux(j, g.normals, g.coef) - g.target[:, 1:]
            else:
                j = model.jet(g.points, 1, ())
                r = self.flux(j, g.normals, g.coef) - (0 if g.kind == "natural" else g.target)
                if g.kind == "robin":
                    r = r + g.alpha[:, None] * j.value
            bc_terms.append(r.pow(2).mean())
        for axis, lo, hi in batch.periodic:
            a, b = model.jet(lo, 1, ()), model.jet(hi, 1, ())
            bc_terms.append((a.value - b.value).pow(2).mean() + (a.d(axis) - b.d(axis)).pow(2).mean())
        return torch.stack(bc_terms).sum() if bc_terms else None

    def total(self, terms: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """The weighted sum of the terms."""
        w = {"res": self.weights.res, "bc": self.weights.bc, "ic": self.weights.ic}
        return sum(w[name] * value for name, value in terms.items())  # type: ignore[return-value]


def _time_derivative(loss: PhysicsLoss, jet: Jet) -> torch.Tensor | float:
    return jet.d(loss.tcol) if loss.tcol is not None else 0.0


def _poisson(loss: PhysicsLoss, jet: Jet, x: torch.Tensor, c: Mapping[str, torch.Tensor]) -> torch.Tensor:
    flux_div = c["k"][:, None] * jet.laplacian(loss.space) + (jet.grad(loss.space) * c["k_grad"][:, None]).sum(-1)
    return -flux_div - c["f"][:, None]


def _helmholtz(loss: PhysicsLoss, jet: Jet, x: torch.Tensor, c: Mapping[str, torch.Tensor]) -> torch.Tensor:
    return -jet.laplacian(loss.space) - c["kappa"][:, None] ** 2 * jet.value - c["f"][:, None]


def _convection_diffusion(loss: PhysicsLoss, jet: Jet, x: torch.Tensor,
                          c: Mapping[str, torch.Tensor]) -> torch.Tensor:
    adv = sum(c[f"b{i}"][:, None] * jet.d(i) for i in loss.space)
    diff = c["eps"][:, None] * jet.laplacian(loss.space) + (jet.grad(loss.space) * c["eps_grad"][:, None]).sum(-1)
    out = _time_derivative(loss, jet) + adv - diff + c["c"][:, None] * jet.value - c["f"][:, None]
    r = loss.problem.pde.reaction
    if r is not None:
        out = out - r.torch(u=jet.value, **{k: v[:, None] for k, v in loss._env(x).items()})
    return out


def flux_speed(flux: Expr, u: torch.Tensor) -> torch.Tensor:
    """The characteristic speed ``F'(u)`` of a conservation law's flux (``u`` for Burgers'
    ``u**2/2``), by autograd and differentiable in ``u``."""
    if not u.requires_grad:
        u = u.detach().requires_grad_(True)
    (speed,) = torch.autograd.grad(flux.torch(u=u).sum(), u, create_graph=True)
    return speed


def _burgers(loss: PhysicsLoss, jet: Jet, x: torch.Tensor, c: Mapping[str, torch.Tensor]) -> torch.Tensor:
    speed = flux_speed(loss.problem.pde.flux, jet.value)
    return _time_derivative(loss, jet) + speed * jet.d(0) - c["nu"][:, None] * jet.dd(0, 0)


def _stress(jet: Jet, lam: torch.Tensor, mu: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """``(sigma_xx, sigma_yy, sigma_xy)`` of the displacement jet (2D)."""
    exx, eyy = jet.d(0)[:, 0], jet.d(1)[:, 1]
    exy = 0.5 * (jet.d(1)[:, 0] + jet.d(0)[:, 1])
    tr = exx + eyy
    return lam * tr + 2 * mu * exx, lam * tr + 2 * mu * eyy, 2 * mu * exy


def _elasticity(loss: PhysicsLoss, jet: Jet, x: torch.Tensor, c: Mapping[str, torch.Tensor]) -> torch.Tensor:
    lam, mu, gl, gm = c["lam"], c["mu"], c["lam_grad"], c["mu_grad"]
    ux_xx, ux_xy, ux_yy = jet.dd(0, 0)[:, 0], jet.dd(0, 1)[:, 0], jet.dd(1, 1)[:, 0]
    uy_xx, uy_xy, uy_yy = jet.dd(0, 0)[:, 1], jet.dd(0, 1)[:, 1], jet.dd(1, 1)[:, 1]
    # div sigma = (lam + mu) grad(div u) + mu lap u + grad(lam) tr(eps) + 2 eps grad(mu)
    div_x, div_y = ux_xx + uy_xy, ux_xy + uy_yy
    sxx, syy, sxy = _stress(jet, torch.zeros_like(lam), torch.ones_like(mu))  # 2 eps entries
    tr = jet.d(0)[:, 0] + jet.d(1)[:, 1]
    fx = (lam + mu) * div_x + mu * (ux_xx + ux_yy) + gl[:, 0] * tr + gm[:, 0] * sxx + gm[:, 1] * sxy
    fy = (lam + mu) * div_y + mu * (uy_xx + uy_yy) + gl[:, 1] * tr + gm[:, 0] * sxy + gm[:, 1] * syy
    return torch.stack([-fx - c["f0"], -fy - c["f1"]], dim=1)


def _linear(loss: PhysicsLoss, jet: Jet, x: torch.Tensor, c: Mapping[str, torch.Tensor]) -> torch.Tensor:
    cu, cx, cy, cxx, cyy = (float(v) for v in loss.linear)
    return (cu * jet.value + cx * jet.d(0) + cy * jet.d(1) + cxx * jet.dd(0, 0) + cyy * jet.dd(1, 1)
            - c["f"][:, None])


def _ode(loss: PhysicsLoss, jet: Jet, x: torch.Tensor, c: Mapping[str, torch.Tensor]) -> torch.Tensor:
    p = loss.problem
    env = {v: jet.value[:, i] for i, v in enumerate(p.fields)}
    env["t"] = x[:, 0]
    rhs = torch.stack([e.torch(**env) for e in p.pde.rhs], dim=1)
    return jet.d(0) - rhs


_RESIDUALS: dict[str, Callable[..., torch.Tensor]] = {
    "poisson": _poisson, "helmholtz": _helmholtz, "convection_diffusion": _convection_diffusion,
    "burgers": _burgers, "elasticity": _elasticity, "linear": _linear, "ode": _ode,
}

#: PDE types with a pointwise residual here (``euler`` has none: its pressure is not a field)
RESIDUAL_TYPES: frozenset[str] = frozenset(_RESIDUALS)
