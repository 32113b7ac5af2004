"""Exact Dirichlet and initial conditions: ``u = A(x, t) + B(x, t) N(x, t)``.

Sukumar & Srivastava, "Exact imposition of boundary conditions with distance functions in
physics-informed deep neural networks", CMAME 389 (2022). Each boundary piece (end point,
segment, circular arc, box face) has an approximate distance function (ADF) ``phi_i`` that
vanishes on it and grows like the distance to first order: the trimmed form of their Section 5
for segments (the plain distance to the line when the line meets the domain nowhere
else: smooth, without the trimmed form's curvature at the end points), ``|R^2 - |x - c|^2| / 2R`` for full circles, the distance to the plane for the
faces of a box. The pieces carrying one Dirichlet entry are joined by R-equivalence
``phi = (sum_i phi_i^-1)^-1`` and the entries' data ``g_e`` by transfinite interpolation
``g = sum_e w_e g_e``, ``w_e = phi_e^-1 / sum_k phi_k^-1``, so ``u = g + phi N`` meets every
entry exactly whatever ``N`` is. ``phi`` is divided by its largest value on interior samples so
``B`` lies in [0, 1].

Initial data, with ``tau = (t - t0) / T``: by default they fade out,
``u = (1 - s) u0(x) + s N`` with ``s = 1 - exp(-tau / delta)`` (``delta = ic_fade``, 0.1 of the
window), so ``u = u0`` at ``t0`` exactly and the network carries the solution itself once
``tau >> delta``; the form of Lagaris et al. (1998), ``u = u0(x) + tau N``, is ``ic_form =
"add"``. Why the fading form is the default (docs/benchmarks/robust-regressions.md): with
``u0 + tau N`` the network must learn ``(u - u0) / tau``, which over a long window is large
(an oscillator over three periods: PIG 9.1e-2, 3.2e-4 with fading data) or holds a copy of
``-u0`` wherever the data moved away (a Gaussian pulse advected across the domain: the PINN
0.46, 1.7e-2 with fading data). The price is on problems whose solution stays close to its
initial data, where ``u0 + tau N`` carries most of it for free: on the development set a plate
at 300-350 K (PIG 2.9e-5 -> 8.1e-3, the PINN 6.4e-5 -> 4.1e-3) and a travelling wave (the PINN
2.2e-5 -> 1.7e-4), far inside their bounds; smooth transported data (validation: 7-12x on
``convection-1d-beta1`` and ``transport-logistic``, both still below 5e-3 for the better
solver). With fading data the network carries the level of the solution later on, so the
automatic output offset is kept (:func:`sciml.nn.fit.physics_model`).
With Dirichlet data ``g`` too, ``A = g(x, t) + w (u0(x) - g(x, t0))`` with
``w = 1 - s`` (fading) or 1 (``add``), and ``B = phi s`` (``s = tau`` for ``add``).
Initial data that do not meet the boundary conditions (a cold body against hot walls) start an
initial layer that grows like ``sqrt(t)``; they stay a penalty term (:func:`initial_mismatch`).

A field component gets an exact Dirichlet condition only where the geometry allows it: on the
pieces fully covered by one Dirichlet entry fixing it whose ADF is smooth. A piece split between
conditions by a predicate, a segment whose line crosses the domain (the edges at a re-entrant
corner: the trimmed ADF's curvature at its end points made training on the L-shape five times
worse than the penalty), meshes and CSG domains keep the penalty term; :func:`plan` says why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import torch

from .. import bcs
from ..geometry.dims import space_names
from ..geometry.pieces import Arc, BoxFace, EndPoint, Segment
from ..problems import Problem
from .jet import AutogradJet, ExplicitJet, Field, Jet


@dataclass(frozen=True)
class Line:
    """A segment whose supporting line meets the domain nowhere else: its ADF is the plain
    distance to the line (smooth; the trimmed form's curvature at the end points is not needed)."""

    segment: Segment


def _untrimmed(piece: Any, domain: Any) -> Any:
    """``Line(piece)`` when the segment's supporting line leaves the domain at its end points."""
    if not isinstance(piece, Segment):
        return piece
    a, b = np.asarray(piece.a, float), np.asarray(piece.b, float)
    lo, hi = domain.bounds
    span = float(np.max(np.asarray(hi) - np.asarray(lo)))
    d = (b - a) / piece.measure
    s = np.linspace(1e-6, 2 * span, 400)
    beyond = np.concatenate([b + s[:, None] * d, a - s[:, None] * d])
    inside = domain.sdf(beyond) < -1e-9 * span
    return piece if inside.any() else Line(piece)


def piece_adf(piece: Any, x: torch.Tensor, delta: float) -> torch.Tensor:
    """The ADF of one boundary piece at points ``x`` (space columns), ``(P,)``."""
    if isinstance(piece, EndPoint):
        return (x[:, 0] - piece.x).abs()
    if isinstance(piece, BoxFace):
        return (x[:, piece.axis] - piece.value).abs()
    if isinstance(piece, Arc):
        cx, cy = piece.center
        r2 = (x[:, 0] - cx) ** 2 + (x[:, 1] - cy) ** 2
        return (piece.radius ** 2 - r2).abs() / (2 * piece.radius)
    if isinstance(piece, Line):
        (x1, y1), (x2, y2) = piece.segment.a, piece.segment.b
        return ((x[:, 0] - x1) * (y2 - y1) - (x[:, 1] - y1) * (x2 - x1)).abs() / piece.segment.measure
    if isinstance(piece, Segment):
        (x1, y1), (x2, y2) = piece.a, piece.b
        length = piece.measure
        f = ((x[:, 0] - x1) * (y2 - y1) - (x[:, 1] - y1) * (x2 - x1)) / length
        xc, yc = (x1 + x2) / 2, (y1 + y2) / 2
        t = ((length / 2) ** 2 - (x[:, 0] - xc) ** 2 - (x[:, 1] - yc) ** 2) / length
        varphi = torch.sqrt(t * t + f ** 4 + delta ** 4)
        return torch.sqrt(f * f + ((varphi - t) / 2) ** 2 + delta ** 2) - delta
    raise TypeError(f"no distance function for {type(piece).__name__}")


def _equivalence(phis: Sequence[torch.Tensor], floor: float) -> torch.Tensor:
    """R-equivalence ``(sum phi_i^-1)^-1`` (zero on every piece, distance-like between)."""
    if len(phis) == 1:
        return phis[0]
    return 1.0 / sum(1.0 / p.clamp_min(floor) for p in phis)


def piece_entries(problem: Problem, samples: int = 64) -> list[tuple[Any, np.ndarray, set[int]]]:
    """Each analytic boundary piece of ``problem``'s domain with ``samples`` points on it and
    the set of boundary entries those points are assigned to (-1: none, the natural
    condition). Raises for domains without pieces (meshes, CSG)."""
    rng = np.random.default_rng(0)
    out = []
    for piece in problem.domain.pieces:
        u = rng.random((samples, max(piece.param_dim, 1)))
        pts = piece.at(u if piece.param_dim else u[:, 0])
        entries = set(problem.assign_boundary(pts, np.full(len(pts), piece.name, dtype=object)).tolist())
        out.append((piece, pts, entries))
    return out


def initial_values(problem: Problem, x: torch.Tensor) -> torch.Tensor:
    """The initial data ``u0`` at the space columns of ``x`` ``(P, c)`` (constants for ODE systems)."""
    if not problem.dim:
        return torch.stack([torch.full_like(x[:, 0], float(np.asarray(problem.initial[f].numpy())))
                            for f in problem.fields], dim=1)
    env = {n: x[:, i] for i, n in enumerate(space_names(problem.dim))}
    return torch.stack([problem.initial[f].torch(**env) * torch.ones_like(x[:, 0]) for f in problem.fields], dim=1)


class _InitialData(Field):
    """``factor`` times the initial data ``u0(x)``, a field of the space-time inputs."""

    def __init__(self, problem: Problem, factor: float = 1.0):
        super().__init__()
        self.problem, self.factor = problem, factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.factor * initial_values(self.problem, x)


INITIAL_LAYER = 0.25  # an initial mismatch above which the initial data stay a penalty term


def initial_mismatch(problem: Problem, n: int = 800, seed: int = 0) -> float:
    """How far the initial data are from meeting the boundary conditions at the start time: the
    boundary terms of ``u0`` there over those of the zero field plus the mean square of ``u0``
    in the domain, square-rooted (0: compatible; 1: a cold body put against hot walls). A
    mismatch makes an initial layer (the field moves like ``sqrt(t)`` near the walls), which
    exact initial data ``u = (1 - s) u0 + s N`` (``s ~ t / delta`` at first) can only follow
    with a network ``N`` that grows like ``1 / sqrt(t)`` there: above :data:`INITIAL_LAYER`
    :func:`plan` keeps them a penalty term. Measured on the development set's heat exchanger
    (cold plate, Robin walls at 0.2-4, mismatch 1; 180 s): PINN 0.24 -> 9.5e-2, PIG 0.18 ->
    5.7e-2 (a fade in ``sqrt(t)``, ``s = 1 - exp(-sqrt(tau / delta))``, gave 0.20 and 0.38);
    the other development and shipped problems are compatible (at most 0.11: long-time
    Fisher-KPP, whose Gaussian initial data leave a little flux through insulated walls)."""
    from .collocation import PointSampler
    from .physics import PhysicsLoss

    if not problem.transient or problem.dim == 0 or "residual" not in problem.pde.spec.traits \
            or any(f not in problem.initial for f in problem.fields):
        return 0.0
    points = PointSampler(problem, n, n, 1, "random", seed).sample()
    for group in points.boundary:
        group.points[:, -1] = problem.time.start
    for pair in points.periodic:
        pair.lo[:, -1] = pair.hi[:, -1] = problem.time.start
    loss = PhysicsLoss(problem, dtype=torch.float64)
    batch = loss.prepare(points)
    u0 = _InitialData(problem)
    miss = sum(float(v.detach()) for v in loss.boundary_terms(u0, batch).values())
    data = sum(float(v.detach()) for v in loss.boundary_terms(_InitialData(problem, 0.0), batch).values())
    size = float(u0(batch.interior).detach().pow(2).mean())
    return math.sqrt(miss / (data + size)) if miss > 0 else 0.0


@dataclass
class Plan:
    """Which conditions are exact: per component the Dirichlet entries and their pieces."""

    pieces: list[dict[int, list[Any]]] = field(default_factory=list)  # per component: entry -> pieces
    initial: bool = False
    fade: float | None = None  # the initial data's fading time (fraction of the window); None: u0 + tau N
    exact_entries: set[int] = field(default_factory=set)  # entries exact for all their components
    notes: list[str] = field(default_factory=list)
    layer: float | None = None  # the initial data's mismatch with the boundary data when it kept them soft

    @property
    def boundary(self) -> bool:
        return any(self.pieces)

    @property
    def active(self) -> bool:
        return self.boundary or self.initial


def plan(problem: Problem, hard_bc: bool, hard_ic: bool, ic_fade: float | None = None) -> Plan:
    """What can be imposed exactly on ``problem`` (see the module doc); ``ic_fade`` is the
    fading time of the initial data as a fraction of the time window (None: ``u0 + tau N``)."""
    ncomp = len(problem.fields)
    out = Plan(pieces=[{} for _ in range(ncomp)], fade=ic_fade)
    out.initial = hard_ic and problem.transient and bool(problem.initial)
    if out.initial and (mismatch := initial_mismatch(problem)) > INITIAL_LAYER:
        out.initial, out.layer = False, mismatch
        out.notes.append(f"the initial data do not meet the boundary conditions at the start (mismatch "
                         f"{mismatch:.2g}): an initial layer, which exact initial data would force to grow like t "
                         "instead of sqrt(t); they stay a penalty term")
    if not hard_bc or problem.dim == 0:
        return out
    dirichlet = [i for i, bc in enumerate(problem.boundaries) if bcs.get(bc.type).prescribes_values]
    if not dirichlet:
        return out
    try:
        pieces = piece_entries(problem)
    except Exception:  # meshes and CSG domains: no analytic pieces
        out.notes.append("exact Dirichlet conditions need an analytic domain (pieces): kept as penalty terms")
        return out
    comps_of = {i: (problem.boundaries[i].components or tuple(range(ncomp))) for i in dirichlet}
    soft: set[int] = set()  # Dirichlet entries that also cover a piece kept as a penalty
    split = trimmed = False
    for piece, _, entries in pieces:
        fixed = entries & set(dirichlet)
        partial_arc = isinstance(piece, Arc) and abs(piece.theta1 - piece.theta0 - 2 * np.pi) > 1e-12
        if len(entries) != 1 or partial_arc:
            split |= bool(fixed)
            soft |= fixed
            continue
        if not fixed:
            continue
        (entry,) = fixed
        piece = _untrimmed(piece, problem.domain)
        if isinstance(piece, Segment):  # its line crosses the domain: the trimmed ADF's curvature
            trimmed = True              # at the end points costs more than the penalty term
            soft.add(entry)
            continue
        for c in comps_of[entry]:
            out.pieces[c].setdefault(entry, []).append(piece)
    if split:
        out.notes.append("a boundary piece is split between conditions (or is a partial arc): the Dirichlet "
                         "condition there stays a penalty term")
    if trimmed:
        out.notes.append("the Dirichlet data on an edge whose line crosses the domain (a re-entrant corner) stay "
                         "a penalty term there")
    out.exact_entries = {i for i in dirichlet if i not in soft and all(i in out.pieces[c] for c in comps_of[i])}
    return out


class Constrained(Field):
    """``u = A + B * inner(x)`` imposing the conditions of a :class:`Plan` exactly.

    Parameters
    ----------
    inner
        The network ``N`` (its own jet is used: autograd, or closed form for Gaussians).
    problem, exact
        The problem and what to impose.
    """

    def __init__(self, inner: Field, problem: Problem, exact: Plan):
        super().__init__()
        self.inner, self.problem, self.exact = inner, problem, exact
        lo, hi = (problem.domain.bounds if problem.dim else (np.zeros(1), np.ones(1)))
        self.size = float(np.max(np.asarray(hi) - np.asarray(lo)))
        self.delta = 1e-6 * self.size
        self.names = space_names(problem.dim)
        self.norms = [1.0] * len(exact.pieces)
        if exact.boundary:
            pts = problem.domain.sample_interior(4000, "sobol", np.random.default_rng(1))
            x = torch.as_tensor(pts, dtype=torch.float64)
            for c in range(len(exact.pieces)):
                if exact.pieces[c]:
                    self.norms[c] = max(float(self._phi(c, x)[0].max()), 1e-12)
        self._cache: dict[int, tuple[torch.Tensor, Jet, Jet, int]] = {}

    # -- A and B ---------------------------------------------------------------------------------
    def _phi(self, c: int, x: torch.Tensor) -> tuple[torch.Tensor, dict[int, torch.Tensor]]:
        """The component's ADF and the ADF of each of its entries."""
        floor = 1e-30
        per_entry = {e: _equivalence([piece_adf(p, x, self.delta) for p in ps], floor)
                     for e, ps in self.exact.pieces[c].items()}
        return _equivalence(list(per_entry.values()), floor), per_entry

    def _datum(self, c: int, key: int, env: dict[str, torch.Tensor]) -> Any:
        """The value component ``c`` takes on the pieces of ``key`` (a boundary entry)."""
        bc = self.problem.boundaries[key]
        return bc.value[bc.components.index(c) if bc.components else c].torch(**env)

    def _g(self, c: int, x: torch.Tensor, t: torch.Tensor | None, per_entry: dict[int, torch.Tensor]) -> torch.Tensor:
        """Transfinite interpolation of the entries' data for component ``c``."""
        env = {n: x[:, i] for i, n in enumerate(self.names)}
        if t is not None:
            env["t"] = t
        values = {e: self._datum(c, e, env) * torch.ones_like(x[:, 0]) for e in per_entry}
        if len(values) == 1:
            return next(iter(values.values()))
        inv = {e: 1.0 / p.clamp_min(1e-30) for e, p in per_entry.items()}
        total = sum(inv.values())
        return sum(inv[e] * values[e] for e in values) / total

    def ab(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``A`` and ``B`` at points ``x`` (differentiable in ``x``), each ``(P, c)``."""
        p = self.problem
        space = x[:, : p.dim]
        t = x[:, p.dim] if p.transient else None
        A_cols, B_cols = [], []
        initial = initial_values(p, x) if self.exact.initial else None
        for c in range(len(self.exact.pieces)):
            A = torch.zeros_like(x[:, 0])
            B = torch.ones_like(x[:, 0])
            if self.exact.pieces[c]:
                phi, per_entry = self._phi(c, space)
                B = phi / self.norms[c]
                A = self._g(c, space, t, per_entry)
            if self.exact.initial:
                tau = ((t if t is not None else x[:, 0]) - p.time.start) / p.time.length
                fade = self.exact.fade
                s = tau if fade is None else -torch.expm1(-tau / fade)
                u0 = initial[:, c]
                if self.exact.pieces[c]:
                    u0 = u0 - self._g(c, space, torch.full_like(tau, p.time.start), per_entry)
                A = A + (u0 if fade is None else (1 - s) * u0)
                B = B * s
            A_cols.append(A)
            B_cols.append(B)
        return torch.stack(A_cols, dim=1), torch.stack(B_cols, dim=1)

    # -- the field ---------------------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        A, B = self.ab(x)
        out = self.inner(x)
        return A + B * (out if out.ndim == 2 else out[:, None])

    def _ab_jets(self, x: torch.Tensor, order: int) -> tuple[Jet, Jet]:
        """Jets of ``A`` and ``B`` (no parameters in them: computed once per point set)."""
        hit = self._cache.get(id(x))
        if hit is not None and hit[0] is x and hit[3] >= order:
            return hit[1], hit[2]
        leaf = x.detach().clone().requires_grad_(order > 0)
        A, B = self.ab(leaf)
        if order == 0:
            jets: tuple[Jet, Jet] = (ExplicitJet(A.detach()), ExplicitJet(B.detach()))
        else:
            jets = (_frozen(AutogradJet(A, leaf), leaf.shape[1], order),
                    _frozen(AutogradJet(B, leaf), leaf.shape[1], order))
        if len(self._cache) >= 16:  # the point sets of a few steps (interior, each boundary group)
            self._cache.clear()
        self._cache[id(x)] = (x, jets[0], jets[1], order)
        return jets

    def jet(self, x: torch.Tensor, order: int = 2, pairs: Sequence[tuple[int, int]] = ()) -> Jet:
        if order > 2:  # higher derivatives: autograd through the whole product
            return AutogradJet.of(self, x)
        A, B = self._ab_jets(x, order)
        N = self.inner.jet(x, order, pairs)
        return ProductJet(A, B, N)


def _frozen(jet: AutogradJet, width: int, order: int) -> ExplicitJet:
    """All first and second derivatives of a parameter-free jet, detached."""
    first = torch.stack([jet.d(i) for i in range(width)], dim=-1).detach()
    second = {}
    if order >= 2:
        second = {(i, j): jet.dd(i, j).detach() for i in range(width) for j in range(i, width)}
    return ExplicitJet(jet.value.detach(), first, second)


class ProductJet(Jet):
    """The jet of ``A + B N`` by the product rule."""

    def __init__(self, A: Jet, B: Jet, N: Jet):
        self.A, self.B, self.N = A, B, N
        self.value = A.value + B.value * N.value

    def d(self, i: int) -> torch.Tensor:
        return self.A.d(i) + self.B.d(i) * self.N.value + self.B.value * self.N.d(i)

    def dd(self, i: int, j: int) -> torch.Tensor:
        return (self.A.dd(i, j) + self.B.dd(i, j) * self.N.value + self.B.d(i) * self.N.d(j)
                + self.B.d(j) * self.N.d(i) + self.B.value * self.N.dd(i, j))
