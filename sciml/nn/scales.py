"""The output scale and offset of a field network, taken from the problem's data.

A network learns O(1) values best, so a physics-informed solver writes ``u = shift + scale * N(x)``
with ``shift`` and ``scale`` read off the problem (inputs are already mapped onto [-1, 1] per
axis, time included, by :class:`~sciml.nn.layers.Normalize`):

* the Dirichlet data on boundary samples and the initial data on interior samples give a range
  per field: ``shift`` is its midpoint, half its width a first scale (a plate held between 300
  and 350 learns ``u = 325 + 25 N``);
* the source gives a second scale through the PDE's own residual ``R``: a small Galerkin
  estimate of the field it drives (:func:`source_scale`, bumps vanishing on the bounding box
  times Legendre polynomials, exact for a linear operator and a field in their span);
* a boundary load (Neumann or Robin data, a traction) gives a third, ``|g| / (alpha + stiffness
  / L)`` (:func:`flux_scale`: a plate of modulus 1000 pulled by a unit traction moves by about
  1e-3; a Robin exchange ``k du/dn + alpha u = g`` holds the field near ``g / alpha``);
* for the types that ask for it (elasticity), a fourth from a least-squares polynomial solve of
  the whole problem (:func:`solve_scale`), which sees how the supports carry the load;

``scale`` is the largest of them (1 when the problem has none), so the same defaults serve
a problem of size 1 and one of size 500.
"""

from __future__ import annotations

import math
import weakref
from typing import Any

import numpy as np
import torch

from ..problems import Problem
from .collocation import PointSampler
from .jet import Field


class _Polynomial(Field):
    """``amplitude * [prod(1 - z_i^2)] * prod(P_{a_i}(z_i))`` on one component (``z`` the
    normalised space coordinates, ``P`` Legendre polynomials of the degrees ``a`` by Bonnet's
    recursion; the bump factor, which vanishes on the bounding box, with ``bump``)."""

    def __init__(self, lo: np.ndarray, hi: np.ndarray, degrees: tuple[int, ...], comp: int, n_out: int,
                 amplitude: float = 1.0, bump: bool = False):
        super().__init__()
        self.amplitude, self.bump = amplitude, bump
        d = len(degrees)
        self.register_buffer("lo", torch.as_tensor(lo[:d], dtype=torch.float64))
        self.register_buffer("hi", torch.as_tensor(hi[:d], dtype=torch.float64))
        self.degrees, self.comp, self.n_out = degrees, comp, n_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d = len(self.lo)
        z = 2 * (x[:, :d] - self.lo) / (self.hi - self.lo) - 1
        v = self.amplitude * (torch.prod(1 - z * z, dim=1) if self.bump else torch.ones_like(z[:, 0]))
        for i, a in enumerate(self.degrees):
            prev, cur = torch.ones_like(z[:, i]), z[:, i]
            for k in range(1, a):
                prev, cur = cur, ((2 * k + 1) * z[:, i] * cur - k * prev) / (k + 1)
            v = v * (prev if a == 0 else cur)
        out = torch.zeros(len(x), self.n_out, dtype=x.dtype, device=x.device)
        out[:, self.comp] = v
        return out


def _zero(lo: np.ndarray, hi: np.ndarray, dim: int, ncomp: int) -> _Polynomial:
    """The zero field of ``ncomp`` components in ``dim`` space dimensions (differentiable, for
    ``R(0)``)."""
    return _Polynomial(lo, hi, (0,) * dim, 0, ncomp, amplitude=0.0)


def _degrees(dim: int, total: int = 2, per_axis: int = 2) -> list[tuple[int, ...]]:
    """Multi-indices of total degree <= ``total``, at most ``per_axis`` per axis."""
    import itertools

    return [a for a in itertools.product(range(min(total, per_axis) + 1), repeat=dim) if sum(a) <= total]


def data_range(problem: Problem, n: int = 2000, seed: int = 0) -> tuple[np.ndarray, np.ndarray] | None:
    """Per-field minimum and maximum of the Dirichlet and initial data (None when there is none)."""
    from .. import bcs

    sampler = PointSampler(problem, n, n, n, "random", seed)
    pts = sampler.sample()
    values = []
    for group in pts.boundary:
        if group.index < 0:
            continue
        bc = problem.boundaries[group.index]
        if not bcs.get(bc.type).prescribes_values:
            continue
        space, t = problem.split(group.points)
        v = np.asarray(bc.values(space, t), dtype=float)
        v = v.reshape(len(group.points), -1)
        if bc.components and v.shape[1] == len(problem.fields):
            keep = np.full(v.shape, np.nan)
            keep[:, list(bc.components)] = v[:, list(bc.components)]
            v = keep
        if v.shape[1] == len(problem.fields):
            values.append(v)
    if pts.initial is not None and problem.dim > 0:
        space = pts.initial[:, : problem.dim]
        values.append(np.stack([np.asarray(problem.initial[f](space), float) * np.ones(len(space))
                                for f in problem.fields], axis=1))
    elif problem.dim == 0 and problem.transient:
        values.append(np.array([[float(np.asarray(problem.initial[f].numpy())) for f in problem.fields]]))
    if not values:
        return None
    allv = np.concatenate(values)
    unset = np.isnan(allv)  # components a vector condition leaves free
    lo, hi = np.where(unset, np.inf, allv).min(axis=0), np.where(unset, -np.inf, allv).max(axis=0)
    return np.where(np.isfinite(lo), lo, 0.0), np.where(np.isfinite(hi), hi, 0.0)


class _Linear(Field):
    """``u_comp = x_axis``, the other components zero: a unit slope to measure a flux with."""

    def __init__(self, axis: int, comp: int, n_out: int):
        super().__init__()
        self.axis, self.comp, self.n_out = axis, comp, n_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.zeros(len(x), self.n_out, dtype=x.dtype, device=x.device)
        out[:, self.comp] = x[:, self.axis]
        return out


def flux_scale(problem: Problem, n: int = 400, seed: int = 0) -> float:
    """The size of the field a boundary load drives (0 without one): the largest
    ``|g| / (alpha + s / L)`` over the flux data ``g`` (Neumann or Robin values, a traction),
    with ``L`` the domain's extent, ``s`` the stiffness the PDE's own flux gives a unit slope
    (``k`` for ``k du/dn``, ``lam + 2 mu`` for a traction), taken where the load acts, and
    ``alpha`` the Robin coefficient (0 for Neumann data: ``|g| L / s``; a Robin exchange alone
    holds the field near ``g / alpha`` whatever the size of the domain)."""
    from .. import bcs
    from .physics import PhysicsLoss

    if problem.dim == 0 or "residual" not in problem.pde.spec.traits:
        return 0.0
    loss = PhysicsLoss(problem, dtype=torch.float64)
    batch = loss.prepare(PointSampler(problem, 1, n, 1, "random", seed).sample())
    lo, hi = problem.domain.bounds
    extent = float(np.max(np.asarray(hi) - np.asarray(lo)))
    ncomp, best = len(problem.fields), 0.0
    for g in batch.boundary:
        if g.index < 0 or not bcs.get(g.kind).prescribes_flux:
            continue
        load = float(g.target.abs().max()) if len(g.target) else 0.0
        if not load > 0:
            continue
        stiffness = 0.0
        for axis in range(problem.dim):
            normal = torch.zeros_like(g.normals)
            normal[:, axis] = 1.0
            for comp in range(ncomp):
                x = g.points.detach().clone().requires_grad_(True)
                jet = _Linear(axis, comp, ncomp).jet(x, 1, ())
                flux = loss.flux(jet, normal, g.coef, g.points).detach()
                stiffness = max(stiffness, float(flux[:, comp].abs().mean()))
        if stiffness > 0 and math.isfinite(stiffness):
            # a Robin exchange holds the field near g / alpha however large the domain: the
            # boundary's resistance 1 / alpha in series with the body's L / s
            alpha = g.alpha.abs().reshape(-1) if g.alpha is not None else 0.0
            size = g.target.abs().amax(dim=1) / (alpha + stiffness / extent)
            best = max(best, float(size.max()))
    return best if math.isfinite(best) else 0.0


def source_scale(problem: Problem, n: int = 2000, seed: int = 0) -> float:
    """The largest value of a small Galerkin estimate of the field the source drives (0 without
    a source or a residual): ``u ~ sum_j c_j phi_j`` over bumps times Legendre polynomials of
    total degree <= 2 per component, with ``<L phi_j, phi_i> c = -<R(0), phi_i>`` in the Monte
    Carlo inner product of interior samples (``L phi = R(phi) - R(0)``; solved by least squares,
    so indefinite operators such as Helmholtz's do not break it)."""
    from .fit import input_box
    from .physics import PhysicsLoss

    if problem.dim == 0 or "residual" not in problem.pde.spec.traits:
        return 0.0
    loss = PhysicsLoss(problem, dtype=torch.float64)
    batch = loss.prepare(PointSampler(problem, n, 1, 1, "random", seed).sample())
    lo, hi = input_box(problem)
    ncomp = len(problem.fields)

    def residual(model: Field) -> tuple[torch.Tensor, torch.Tensor]:
        x = batch.interior.detach().clone().requires_grad_(True)
        jet = model.jet(x, loss.order, loss.pairs)
        return loss.residual(jet, x, batch.coef).detach(), jet.value.detach()

    r0, _ = residual(_zero(lo, hi, problem.dim, ncomp))  # R(0)
    if not torch.isfinite(r0).all() or float(r0.abs().max()) == 0:
        return 0.0
    columns, values = [], []
    for comp in range(ncomp):
        for deg in _degrees(problem.dim):
            r, v = residual(_Polynomial(lo, hi, deg, comp, ncomp, bump=True))
            columns.append(r - r0)
            values.append(v)
    L = torch.stack(columns, dim=-1).reshape(-1, len(columns))  # (points * equations, basis)
    Phi = torch.stack(values, dim=-1)  # (points, components, basis)
    if L.shape[0] != Phi.reshape(-1, len(columns)).shape[0]:
        return 0.0  # equations and components differ (a custom system): no Galerkin pairing
    test = Phi.reshape(-1, len(columns))
    A, b = test.T @ L, -(test.T @ r0.reshape(-1))
    c = torch.linalg.lstsq(A, b[:, None], rcond=1e-8).solution[:, 0]
    u = Phi @ c
    scale = float(u.abs().max())
    return scale if math.isfinite(scale) else 0.0


SOLVE_DEGREE = 4  # total degree of the polynomials solve_scale's Galerkin estimate uses


_solved: dict[int, tuple[Any, tuple[float, float]]] = {}  # the last problem's (value, flux) sizes


def solve_scale(problem: Problem, flux: bool = False) -> float:
    """The largest value of a small Ritz-Galerkin solution of the whole steady linear problem (0
    where it does not apply): trial and test functions ``B_c P_a`` per component, ``P_a`` the
    Legendre polynomials of total degree <= :data:`SOLVE_DEGREE` on the bounding box and
    ``B_c`` the component's Dirichlet distance function (:mod:`sciml.nn.constraints`; the
    Dirichlet data hold exactly through its lift ``A``), the energy ``int eps(v) : C : eps(w)``
    (``grad v . K grad w`` for a scalar flux: the squares of the constitutive law's gap at a
    zero flux, :meth:`sciml.pdes.base.PDEType.first_order_terms`, so the Monte Carlo matrix is
    positive semi-definite) and the loads ``int f . v + int_boundary g . v`` (body force,
    Neumann data or tractions; free edges carry none), as in the finite-element reference.
    Unlike :func:`source_scale` and :func:`flux_scale`, which are local, this sees how the
    supports carry a load: a cantilever's tip moves ``(L / h)^2`` times further than a block of
    the same material under the same load (its deflection is nearly a quartic, which the basis
    holds). Used for the types that ask for it (:attr:`sciml.pdes.base.PDEType.scale_by_solve`:
    elasticity); 0 where a Dirichlet condition cannot be built exactly (meshes, split edges:
    the trial space would miss it) or a condition is neither Dirichlet nor a flux load. With
    ``flux``, the largest flux component of that solution instead (a stress: the size of the
    first-order form's flux outputs, :func:`sciml.nn.flux.flux_constants`). The solve is done
    once per problem (the last one's two sizes are kept)."""
    hit = _solved.get(id(problem))
    if hit is None or hit[0]() is not problem:
        _solved.clear()
        _solved[id(problem)] = (weakref.ref(problem), _ritz_sizes(problem))
    value, flux_size = _solved[id(problem)][1]
    return flux_size if flux else value


def _ritz_sizes(problem: Problem, n: int = 4000, n_boundary: int = 1600, seed: int = 0) -> tuple[float, float]:
    """:func:`solve_scale`'s largest value and largest flux component (0, 0 where it does not
    apply)."""
    from .. import bcs
    from .constraints import Constrained, plan
    from .fit import input_box
    from .jet import ExplicitJet
    from .physics import PhysicsLoss

    kind = problem.pde.spec
    if problem.dim == 0 or problem.transient or not {"first_order", "linear"} <= kind.traits:
        return 0.0, 0.0
    exact = plan(problem, True, False)
    if exact.notes or not exact.boundary:
        return 0.0, 0.0
    loss = PhysicsLoss(problem, dtype=torch.float64)
    batch = loss.prepare(PointSampler(problem, n, n_boundary, 1, "random", seed).sample())
    if batch.periodic or any(not (bcs.get(g.kind).prescribes_values or bcs.get(g.kind).flux_only)
                             for g in batch.boundary):
        return 0.0, 0.0
    lo, hi = input_box(problem)
    ncomp, width = len(problem.fields), kind.flux_width(problem.dim)
    box = np.random.default_rng(seed).uniform(lo, hi, (20000, problem.dim))
    volume = float(np.mean(problem.domain.sdf(box) < 0) * np.prod(hi - lo))
    loads = [g for g in batch.boundary if bcs.get(g.kind).flux_only and g.index >= 0]
    n_b = sum(len(g.points) for g in batch.boundary)
    w_b = sum(piece.measure for piece in problem.domain.pieces) / max(n_b, 1)
    w_in = volume / len(batch.interior)
    x = batch.interior.detach().clone().requires_grad_(True)
    P = len(x)
    no_flux = ExplicitJet(torch.zeros(P, width, dtype=x.dtype), torch.zeros(P, width, problem.dim, dtype=x.dtype), {})
    coef = loss._live(x, batch.coef)

    def energy_vector(model: Field) -> tuple[torch.Tensor, torch.Tensor]:
        """``g(u)`` with ``|g|^2`` the energy density, and ``u`` at the interior points."""
        jet = model.jet(x, 1, ())
        _, law = kind.first_order_terms(loss, jet, no_flux, x, coef)
        return law.detach().reshape(-1), jet.value.detach()

    lift = Constrained(_zero(lo, hi, problem.dim, ncomp), problem, exact)
    g_lift, u_lift = energy_vector(lift)
    # the body force f = L(A) - R(A): the lift's operator part less its residual
    body = _operator(loss, lift, x, batch) - loss.residual(lift.jet(x, loss.order, loss.pairs), x, batch.coef).detach()
    trial = [Constrained(_Polynomial(lo, hi, deg, comp, ncomp), problem, exact) for comp in range(ncomp)
             for deg in _degrees(problem.dim, SOLVE_DEGREE, SOLVE_DEGREE)]
    lift_at = [lift(grp.points).detach() for grp in loads]
    G, U, F = [], [], []
    for m in trial:
        g, u = energy_vector(m)
        v = u - u_lift
        G.append(g - g_lift)
        U.append(v)
        load = w_in * (body * v).sum()
        for grp, base in zip(loads, lift_at):
            load = load + w_b * ((m(grp.points).detach() - base) * grp.target).sum()
        F.append(load)
    Gm = torch.stack(G, dim=1)
    K = w_in * Gm.T @ Gm
    rhs = torch.stack(F) - w_in * Gm.T @ g_lift
    if not torch.isfinite(K).all() or not torch.isfinite(rhs).all() or float(rhs.abs().max()) == 0:
        return 0.0, 0.0
    c = torch.linalg.lstsq(K, rhs[:, None], rcond=1e-10).solution[:, 0]
    value = float((u_lift + sum(ci * v for ci, v in zip(c, U))).abs().max())
    jet = _Combination(lift, trial, c).jet(x, 1, ())
    eye = torch.eye(problem.dim, dtype=x.dtype)
    flux = max(float(loss.flux(jet, eye[axis].expand(P, -1), coef).detach().abs().max())
               for axis in range(problem.dim))
    return (value if math.isfinite(value) else 0.0), (flux if math.isfinite(flux) else 0.0)


class _Combination(Field):
    """``lift + sum_j c_j (trial_j - lift)``: the Galerkin solution of :func:`solve_scale`."""

    def __init__(self, lift: Field, trial: list[Field], c: torch.Tensor):
        super().__init__()
        self.lift, self.trial, self.c = lift, trial, c

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        base = self.lift(x)
        return base + sum(ci * (m(x) - base) for ci, m in zip(self.c, self.trial))


def _operator(loss: Any, model: Field, x: torch.Tensor, batch: Any) -> torch.Tensor:
    """The residual's operator part ``R(u) - R(0)`` of ``model`` at ``x``."""
    zero = _zero(np.zeros(loss.dim), np.ones(loss.dim), loss.dim, loss.ncomp)
    r = loss.residual(model.jet(x, loss.order, loss.pairs), x, batch.coef)
    r0 = loss.residual(zero.jet(x, loss.order, loss.pairs), x, batch.coef)
    return (r - r0).detach()


def output_scaling(problem: Problem) -> tuple[float, list[float] | None]:
    """``(scale, shift)`` for ``u = shift + scale * N(x)`` (``shift`` None when it is zero)."""
    rng = data_range(problem)
    scale, shift = 0.0, None
    if rng is not None:
        lo, hi = rng
        mid = (lo + hi) / 2
        scale = float(np.max((hi - lo) / 2))
        if np.any(mid != 0):
            shift = [float(m) for m in mid]
    scale = max(scale, source_scale(problem), flux_scale(problem),
                solve_scale(problem) if problem.pde.spec.scale_by_solve else 0.0)
    if not math.isfinite(scale) or scale <= 0:
        scale = 1.0
    if shift is not None:  # a field that is nearly constant still needs room to move
        scale = max(scale, 1e-3 * max(abs(s) for s in shift))
    return scale, shift


def describe(scale: float, shift: Any) -> str:
    return f"{scale:.3g}" + (f" (offset {', '.join(f'{s:.3g}' for s in shift)})" if shift else "")
