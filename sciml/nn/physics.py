"""Physics-informed loss terms of a :class:`~sciml.problems.Problem`, in one place.

Every physics-informed solver (PINN, PIG, and the later ones) builds its loss from
:class:`PhysicsLoss`; the interior residual and the boundary flux come from the problem's PDE
type (its module in :mod:`sciml.pdes`), so a PDE type is added there once. The terms:

=====================  ======================================================================
interior               the PDE type's residual (``residual`` of its :mod:`sciml.pdes` module, in
                       the sign convention of its equation, e.g. ``-div(k grad u) - f``)
dirichlet              ``u - g`` (elasticity: the listed components)
neumann / robin        ``flux(u).n (+ alpha u) - g`` with the flux the weak form sees
cauchy                 ``u - g`` and ``du/dn - h`` (linear: an initial line)
natural                ``flux(u).n`` where no ``[[boundary]]`` entry covers the boundary, except
                       on space-time linear problems (``y`` is time), whose free edges carry none
periodic               ``u(lo) - u(hi)`` and ``du/dx_a(lo) - du/dx_a(hi)`` on each periodic axis
initial                ``u(x, t0) - u0(x)`` (and ``u_t(x, t0) - v0(x)`` for the fields given an initial
                       rate: second order in time)
=====================  ======================================================================

Each group enters the loss as a mean square. Boundary conditions make one term per kind
(``bc`` for Dirichlet data, ``bc_neumann``, ``bc_robin``, ... for the others), each the
measure-weighted mean over the entries of that kind: the points are shared among the pieces by
measure, so a term is the mean square over all its points and does not depend on how the
boundary was cut into entries (four small disks do not outweigh the outer square). ``res``, the
boundary terms and ``ic`` are weighted by :class:`LossWeights` (and, in training, by the adaptive
balance of :mod:`sciml.nn.balance`). With ``causal`` set, the residual of a time-dependent
problem is the causally weighted mean of Wang, Sankaran & Perdikaris, "Respecting causality for
training physics-informed neural networks", CMAME 421 (2024): the time span is cut into
``causal.chunks`` slabs and slab ``i`` weighs ``exp(-eps sum_{k<i} L_k / (chunks L_ref))``
(no gradient through the weights; ``L_ref`` the largest mean residual of the run so far), so
later times count once the earlier ones are resolved. Not the first step's residual: a network
that starts near zero output (PIG's Gaussians, weights N(0, 0.01)) has almost none, and every
later residual then weighs all slabs after the first to ``exp(-hundreds)``: the late times are
never trained (a heat exchanger with 13 tubes: the batch's residual 2e-3, on fresh points 300).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import torch

from ..problems import Problem
from .. import bcs
from ..geometry.dims import space_names
from ..problems.expr import Expr
from .collocation import PointSet
from .jet import Jet



@dataclass(frozen=True)
class LossWeights:
    """Weights of the interior residual, boundary and initial-condition terms."""

    res: float = 1.0
    bc: float = 1.0
    ic: float = 1.0


@dataclass(frozen=True)
class Causal:
    """Causal weighting of the residual in time (``chunks`` slabs, tolerance ``eps``)."""

    chunks: int = 16
    eps: float = 5.0


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
    rates: tuple[list[int], torch.Tensor] | None = None  # fields with an initial rate f_t, and its values


class PhysicsLoss:
    """Residuals and loss terms of ``problem`` for any model with a ``jet`` method.

    Parameters
    ----------
    problem
        The problem; any PDE type with the ``residual`` trait (:mod:`sciml.pdes`).
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
    boundary_terms
        ``kind`` (default): one term per condition kind, measure-weighted over its entries;
        ``piece``: one term per ``[[boundary]]`` entry (and natural edge), each its own mean
        square, as most PINN codes do. ``piece`` is there for the ablation of the measure
        weighting (docs/benchmarks.md): with fixed weights four small holes then outweigh
        the outer square (the balancing of :mod:`sciml.nn.balance` evens that out).
    """

    def __init__(self, problem: Problem, weights: LossWeights = LossWeights(),
                 dtype: torch.dtype = torch.float32, device: str | torch.device = "cpu",
                 value_scale: float = 1.0, residual_on_boundary: bool = False,
                 causal: Causal | None = None, exact_entries: Any = (), exact_initial: bool = False,
                 unknowns: Any = None, observed: tuple[np.ndarray, np.ndarray] | None = None,
                 data_weight: float = 1.0, data_noise: float = 0.0, boundary_terms: str = "kind",
                 law_weight: float | None = None):
        if not value_scale > 0:
            raise ValueError(f"value_scale must be positive, got {value_scale}")
        if boundary_terms not in ("kind", "piece"):
            raise ValueError(f"boundary_terms must be 'kind' or 'piece', got {boundary_terms!r}")
        self.per_piece = boundary_terms == "piece"
        # the first-order form (sciml.nn.flux): the flux as more outputs, its law weighed by law_weight
        self.first_order, self.law_weight = law_weight is not None, law_weight or 0.0
        self.problem, self.weights, self.value_scale = problem, weights, value_scale
        self.causal = causal if problem.transient and problem.dim > 0 else None
        self.causal_ref: float | None = None
        self.exact_entries, self.exact_initial = frozenset(exact_entries), exact_initial
        self.causal_weights: torch.Tensor | None = None  # of the last call, per slab (diagnostics)
        self.residual_on_boundary = residual_on_boundary
        self.dtype, self.device = dtype, torch.device(device)
        self.dim = problem.dim
        self.kind = problem.pde.spec
        self.ncomp = len(problem.fields)
        self.tcol = problem.dim if problem.transient else None
        self.space = tuple(range(problem.dim))
        self.natural = self.kind.natural_boundary(problem)
        self.data = self.kind.data(problem.pde)
        self.unknowns = unknowns  # sciml.nn.inverse.Unknowns of an inverse problem
        names = set(unknowns.scalars.names) if unknowns is not None and unknowns.scalars is not None else set()
        fields = set(unknowns.fields) if unknowns is not None else set()
        self.live = {name for name, expr, _ in self.data
                     if name in fields or (expr is not None and expr.used & names)}
        self.observed = None if observed is None else (self.tensor(observed[0]), self.tensor(observed[1]))
        self.data_weight = data_weight
        # the discrepancy principle (Morozov 1966): data with relative noise sigma are fitted down to
        # the misfit the truth itself has, sigma^2 mean(d^2), and no further (fitting the noise
        # bends the field and, through the residual, the unknowns)
        self.data_floor = 0.0 if observed is None else float(
            data_noise**2 * np.mean(np.asarray(observed[1], dtype=float) ** 2) / value_scale**2)

    # -- what the model must provide -----------------------------------------------------------
    @property
    def pairs(self) -> tuple[tuple[int, int], ...]:
        """Second-derivative index pairs the interior residual needs."""
        return () if self.first_order else self.kind.pairs(self.problem.pde, self.dim)

    @property
    def order(self) -> int:
        return 1 if self.first_order else self.kind.order(self.problem.pde)

    # -- data at points ------------------------------------------------------------------------
    def tensor(self, a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.asarray(a, dtype=float), dtype=self.dtype, device=self.device)

    def _env(self, pts: torch.Tensor) -> dict[str, torch.Tensor]:
        env = {name: pts[:, i] for i, name in enumerate(space_names(self.dim))}
        if self.tcol is not None:
            env["t"] = pts[:, self.tcol]
        env.update(self.unknown_values())
        return env

    def unknown_values(self) -> dict[str, torch.Tensor]:
        """The current values of the scalar unknowns of an inverse problem (none otherwise)."""
        return self.unknowns.scalar_values() if self.unknowns is not None else {}

    def _eval(self, expr: Expr | None, pts: torch.Tensor, grad: bool = False) -> dict[str, torch.Tensor]:
        """Value (and spatial gradient) of a coefficient at points, detached from any graph."""
        if expr is None:
            zero = torch.zeros(len(pts), dtype=self.dtype, device=self.device)
            return {"v": zero, "g": zero[:, None].expand(-1, self.dim)}
        if not grad or not expr.depends_on(*space_names(self.dim)):
            with torch.no_grad():
                v = expr.torch(**self._env(pts))
            return {"v": v, "g": torch.zeros(len(pts), self.dim, dtype=self.dtype, device=self.device)}
        leaf = pts.detach().clone().requires_grad_(True)
        v = expr.torch(**self._env(leaf))
        if not v.requires_grad:  # piecewise constant in space (a where() of constants, say)
            return {"v": v.detach(), "g": torch.zeros(len(pts), self.dim, dtype=self.dtype, device=self.device)}
        (g,) = torch.autograd.grad(v.sum(), leaf)
        return {"v": v.detach(), "g": g[:, : self.dim].detach()}

    def _coefficients(self, pts: torch.Tensor, boundary: bool = False) -> dict[str, torch.Tensor]:
        """The PDE type's coefficient data at points (with spatial gradients where it asks)."""
        out = {}
        for name, expr, grad in self.data:
            r = self._eval(expr, pts, grad and not boundary)
            out[name] = r["v"]
            out[name + "_grad"] = r["g"]
        return out

    def _live(self, pts: torch.Tensor, coef: Mapping[str, torch.Tensor], boundary: bool = False) -> Mapping[str, torch.Tensor]:
        """``coef`` with the coefficients that depend on the unknowns computed from their current
        values, with gradients to them (the stored ones hold no unknown's value)."""
        if not self.live:
            return coef
        out = dict(coef)
        for name, expr, grad in self.data:
            if name not in self.live:
                continue
            field = self.unknowns.fields[name] if name in self.unknowns.fields else None
            want = grad and not boundary and (field is not None or expr.depends_on(*space_names(self.dim)))
            leaf = pts.detach().requires_grad_(True) if want else pts
            v = field(leaf[:, : self.dim]) if field is not None else expr.torch(**self._env(leaf))
            if want:
                (g,) = torch.autograd.grad(v.sum(), leaf, create_graph=True, allow_unused=True)
                g = torch.zeros_like(leaf) if g is None else g
                out[name + "_grad"] = g[:, : self.dim]
            else:
                out[name + "_grad"] = torch.zeros(len(pts), self.dim, dtype=pts.dtype, device=pts.device)
            out[name] = v.expand(len(pts)) if v.ndim == 0 else v
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
            if group.index in self.exact_entries:  # imposed by the model (sciml.nn.constraints)
                continue
            pts = self.tensor(group.points)
            bc = p.boundaries[group.index] if group.index >= 0 else None
            kind = bc.type if bc is not None else "natural"
            space, t = p.split(group.points)
            if bc is not None and bcs.get(bc.type).data_values:
                target = self.tensor(bc.values(space, t))
            elif bc is not None:  # the kind reads its expressions itself (they use the fields)
                target = torch.zeros(len(pts), len(bc.value), dtype=self.dtype, device=self.device)
            else:
                target = torch.zeros(len(pts), self.ncomp, dtype=self.dtype, device=self.device)
            alpha = self.tensor(bc.alpha(space, t)) if bc is not None and bc.alpha is not None else None
            comps = (bc.components if bc is not None and bc.components else tuple(range(self.ncomp)))
            boundary.append(BoundaryBatch(group.index, kind, pts, self.tensor(group.normals), target,
                                          self._coefficients(pts, boundary=True), alpha, comps))
        periodic = [(pp.axis, self.tensor(pp.lo), self.tensor(pp.hi)) for pp in points.periodic]
        initial, rates = None, None
        if points.initial is not None:
            init = self.tensor(points.initial)
            if self.dim == 0:
                u0 = [float(p.initial[v].numpy()) for v in p.fields]
                target = self.tensor(np.array([u0]))
            else:
                space = points.initial[:, : self.dim]
                target = self.tensor(np.stack([p.initial[f](space) for f in p.fields], axis=1))
            initial = (init, target)
            given = [i for i, f in enumerate(p.fields) if f"{f}_t" in p.initial]
            if given:
                space = points.initial[:, : self.dim]
                rates = (given, self.tensor(np.stack([p.initial[f"{p.fields[i]}_t"](space) for i in given], axis=1)))
        return Batch(interior, self._coefficients(interior), boundary, periodic, initial, rates)

    # -- residuals -----------------------------------------------------------------------------
    def residual(self, jet: Jet, x: torch.Tensor, coef: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Interior residual ``(P, n_equations)`` from a jet at points ``x``."""
        return self.kind.residual(self, jet, x, self._live(x, coef))

    def flux(self, jet: Jet, normals: torch.Tensor, coef: Mapping[str, torch.Tensor],
             points: torch.Tensor | None = None, model: Any = None) -> torch.Tensor:
        """The boundary flux the weak form sees, ``(P, n_components)`` (``points``: where, for
        coefficients that depend on the unknowns of an inverse problem); in the first-order form,
        with the ``model`` and ``points`` given, from the model's flux outputs (the flux data
        then hold on the flux itself, as in first-order system least squares)."""
        if points is not None:
            coef = self._live(points, coef, boundary=True)
        if self.first_order and hasattr(model, "flux_jet") and points is not None:
            return self.kind.flux_through(self, model.flux_jet(points, 0).value, normals, coef)
        return self.kind.boundary_flux(self, jet, normals, coef)

    def interior_squares(self, model: Any, x: torch.Tensor, coef: Mapping[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The squared interior residual per point ``(P,)`` and, in the first-order form
        (:mod:`sciml.nn.flux`), the squared constitutive law in the energy norm (``|K^{-1/2} (q -
        K grad u)|^2``, :meth:`sciml.pdes.base.PDEType.first_order_terms`; ``model.flux_jet`` gives
        ``q``), else None."""
        jet = model.jet(x, self.order, self.pairs)
        if not self.first_order:
            return self.residual(jet, x, coef).pow(2).sum(dim=1), None
        equation, law = self.kind.first_order_terms(self, jet, model.flux_jet(x), x, self._live(x, coef))
        return equation.pow(2).sum(dim=1), law.pow(2).sum(dim=1)

    def point_residuals(self, model: Any, x: torch.Tensor, coef: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """The squared residual per point ``(P,)`` that ``res`` averages (the law weighed in)."""
        squares, law = self.interior_squares(model, x, coef)
        return squares if law is None else squares + self.law_weight * law

    def terms(self, model: Any, batch: Batch, causal: bool = True) -> dict[str, torch.Tensor]:
        """Unweighted mean-square loss terms ``res``, the boundary terms (one per condition kind)
        and ``ic`` (those that apply); ``causal=False``: the plain mean residual even when causal
        weighting is on. In the first-order form ``res`` is the equation's mean square plus
        ``law_weight`` times the constitutive law's (causal weighting weighs the equation; the
        law holds at each time by itself)."""
        squares, law = self.interior_squares(model, batch.interior, batch.coef)
        weigh = self.causal is not None and causal
        res = self._causal(squares, batch.interior) if weigh else squares.mean()
        out = {"res": res if law is None else res + self.law_weight * law.mean()}
        out.update(self.boundary_terms(model, batch))
        if batch.initial is not None:
            pts, target = batch.initial
            jet0 = model.jet(pts, 0 if batch.rates is None else 1, ())
            ic = [] if self.exact_initial else [((jet0.value - target) / self.value_scale).pow(2).mean()]
            if batch.rates is not None:
                given, rate = batch.rates
                ic.append(((jet0.d(self.tcol)[:, given] - rate) / self.value_scale).pow(2).mean())
            if ic:
                out["ic"] = torch.stack(ic).sum()
        if self.observed is not None:
            out["data"] = self.data_term(model)
        return out

    def data_term(self, model: Any) -> torch.Tensor:
        """The mean-square misfit at the observations (in units of ``value_scale``), less the
        noise's own share ``data_floor`` and never below zero."""
        assert self.observed is not None
        pts, values = self.observed
        misfit = ((model.jet(pts, 0, ()).value - values) / self.value_scale).pow(2).mean()
        return torch.relu(misfit - self.data_floor) if self.data_floor else misfit

    def _causal(self, squares: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """The causally weighted mean of the per-point squared residuals (see the module doc)."""
        c, span = self.causal, self.problem.time
        assert c is not None
        slab = ((x[:, self.tcol] - span.start) / span.length * c.chunks).long().clamp(0, c.chunks - 1)
        sums = torch.zeros(c.chunks, dtype=squares.dtype, device=squares.device).index_add(0, slab, squares)
        counts = torch.bincount(slab, minlength=c.chunks).to(squares.dtype)
        present = counts > 0
        means = sums[present] / counts[present]
        with torch.no_grad():
            self.causal_ref = max(float(means.mean()), self.causal_ref or 1e-30)
            before = torch.cumsum(means, 0) - means
            weights = torch.exp(-c.eps * before / (c.chunks * self.causal_ref))
            self.causal_weights = weights
        return (weights * means).mean()

    def boundary_terms(self, model: Any, batch: Batch) -> dict[str, torch.Tensor]:
        """One term per condition kind: the measure-weighted mean of its entries' mean squares
        (``bc`` for Dirichlet data, ``bc_<kind>`` for the others, ``bc_periodic``); with
        ``boundary_terms = "piece"`` one per entry instead (``bc<i>``, ``bc_<kind><i>``, ``i``
        the entry's index, ``-1`` the natural edges together)."""
        sums: dict[str, list[torch.Tensor]] = {}
        counts: dict[str, int] = {}
        for g in batch.boundary:  # each condition's kind (sciml.bcs) gives its mean squares
            parts = bcs.get(g.kind).terms(self, model, g)
            if not parts:  # nothing to require there (an open edge where no natural condition holds)
                continue
            name = "bc" if bcs.get(g.kind).prescribes_values else f"bc_{g.kind}"
            if self.per_piece:
                name += str(g.index)
            n = len(g.points)
            sums.setdefault(name, []).append(n * torch.stack(parts).sum())
            counts[name] = counts.get(name, 0) + n
        periodic = bcs.get("periodic")
        for axis, lo, hi in batch.periodic:
            sums.setdefault("bc_periodic", []).append(len(lo) * periodic.pair_terms(model, axis, lo, hi))
            counts["bc_periodic"] = counts.get("bc_periodic", 0) + len(lo)
        return {name: torch.stack(parts).sum() / max(counts[name], 1) for name, parts in sums.items()}

    def boundary_term(self, model: Any, batch: Batch) -> torch.Tensor | None:
        """The sum of the boundary terms (None without boundary points)."""
        terms = self.boundary_terms(model, batch)
        return torch.stack(list(terms.values())).sum() if terms else None

    def weight(self, name: str) -> float:
        """The configured weight of a term (``bc*`` terms share ``bc``'s)."""
        return {"res": self.weights.res, "ic": self.weights.ic, "data": self.data_weight}.get(name, self.weights.bc)

    def total(self, terms: Mapping[str, torch.Tensor], balance: Mapping[str, float] | None = None) -> torch.Tensor:
        """The weighted sum of the terms (times the adaptive ``balance`` weights when given)."""
        balance = balance or {}
        return sum(self.weight(name) * balance.get(name, 1.0) * value  # type: ignore[return-value]
                   for name, value in terms.items())
