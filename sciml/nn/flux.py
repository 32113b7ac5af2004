"""The first-order system form of divergence-form equations: the flux as a second output.

The primal residual of ``-div(K grad u) = f`` expands the divergence, ``-K : hess u - (div K) .
grad u``, so it needs the coefficient's derivative: where ``K`` jumps that derivative is a Dirac
mass the collocation points never see (the residual then holds ``-K lap u = f`` on each side and
drops the flux continuity across the interface: a wrong problem, solved well), and where ``K``
oscillates fast it multiplies ``grad u`` by a large number (a smooth network cannot lower that
residual below the zero field's and training stalls). The first-order system least-squares
form (FOSLS: Cai, Lazarov, Manteuffel & McCormick, SIAM J. Numer. Anal. 31, 1994; with neural
networks, Cai, Chen, Liu & Liu, "Deep least-squares methods: an unsupervised learning-based
numerical method for solving elliptic PDEs", J. Comput. Phys. 420, 2020) trains the flux
``q = K grad u`` as ``d`` more outputs of the same network and needs first derivatives only:

* the equation with ``div(K grad u)`` replaced by ``div q`` (``-div q - f`` for poisson);
* the constitutive law in the energy norm, ``K^{-1/2} (q - K grad u)``;

the residual term ``res`` is the mean square of the first plus ``k / L^2`` times that of the
second (:func:`flux_constants`: the same units, so no balancing between them is needed).

A continuous network flux carries the interface condition ``[q . n] = 0`` by construction, and
no derivative of ``K`` appears. ``residual_form = "auto"`` (default) takes this form when the
PDE type has it (the ``first_order`` trait: poisson, diffusion) and the problem's ``K`` varies
fast: :func:`log_variation`, the largest change of ``log K`` per unit length along
axis-parallel lines through the bounding box, times the box's extent, is at least the
config's ``first_order_at`` (:data:`FIRST_ORDER_AT` for ``pinn``; a jump of any size gives
thousands, ``k = 1 + x`` gives 1). ``pig`` takes it for jumps only (:data:`JUMP_AT`): its
Gaussians resolve a fast but smooth coefficient's fine scales in the primal form, which was
7x more accurate there. The development-set measurements are in docs/solvers/pinn.md ("The
first-order form").

The PDE type supplies the form (:meth:`sciml.pdes.base.PDEType.first_order_terms`): for the
scalar types from ``K`` as above; for ``elasticity`` it is the mixed stress-displacement form
(least squares: Cai, Korsawe & Starke, Numer. Methods PDE 21, 2005; with neural networks:
Haghighat, Raissi, Moure, Gomez & Juanes, "A physics-informed deep learning framework for
inversion and surrogate modeling in solid mechanics", CMAME 379, 2021), the three stresses as
more outputs, equilibrium ``-div sigma = f`` on them and the law ``sigma - C eps(u)`` in the
compliance norm. Flux data (Neumann data, tractions, the natural zero flux) then act on the
flux outputs, and where a boundary piece is straight and axis-parallel they hold exactly
(:func:`flux_plan`, :class:`ExactFlux`; ``hard_flux``).

>>> from sciml.problems import problem_from_dict
>>> p = problem_from_dict({"pde": {"type": "poisson", "k": "where(x < 0.5, 1, 10)", "f": "1"},
...                        "domain": {"type": "box", "lo": [0, 0], "hi": [1, 1]},
...                        "boundary": [{"where": "all", "type": "dirichlet", "value": "0"}]})
>>> log_variation(p) > FIRST_ORDER_AT
True
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Sequence

import numpy as np
import torch

from .. import bcs
from ..errors import ProblemError, SciMLWarning
from ..problems import Problem
from ..geometry.pieces import Segment
from .constraints import Constrained, Plan, _untrimmed, piece_entries
from .jet import Field, Jet

FIRST_ORDER_AT = 20.0  # residual_form = "auto" trains the first-order system from this log-variation on
LINES, LINE_POINTS = 24, 1025  # the axis-parallel lines of log_variation, per axis
JUMP_AT = 0.5 * (LINE_POINTS - 1)  # a log-variation from a step of log K over 0.5 between neighbours: a jump


def conductivity_at(problem: Problem, points: np.ndarray) -> torch.Tensor:
    """The conductivity ``K`` ``(P, d, d)`` of the problem's PDE type at ``points`` (space, then
    time for a transient problem), in float64, without gradients."""
    from .physics import PhysicsLoss

    loss = PhysicsLoss(problem, dtype=torch.float64)
    with torch.no_grad():
        return problem.pde.spec.conductivity(loss, loss._coefficients(loss.tensor(points), boundary=True))


def stiffness_at(problem: Problem, points: np.ndarray) -> np.ndarray:
    """The largest modulus of the constitutive law (:meth:`sciml.pdes.base.PDEType.stiffness`)
    at ``points`` ``(P,)``."""
    from .physics import PhysicsLoss

    loss = PhysicsLoss(problem, dtype=torch.float64)
    with torch.no_grad():
        return problem.pde.spec.stiffness(loss, loss._coefficients(loss.tensor(points), boundary=True)).numpy()


def _marks(K: np.ndarray) -> np.ndarray:
    """``(P, m)``: ``log K_ii`` and the correlations ``K_ij / sqrt(K_ii K_jj)`` (``i < j``) of the
    conductivities ``K`` ``(P, d, d)``; NaN where a diagonal entry is not positive."""
    d = K.shape[-1]
    diag = np.einsum("pii->pi", K)
    with np.errstate(invalid="ignore", divide="ignore"):
        good = np.where(diag > 0, diag, np.nan)
        cols = [np.log(good)] + [K[:, i, j:j + 1] / np.sqrt(good[:, i:i + 1] * good[:, j:j + 1])
                                 for i in range(d) for j in range(i + 1, d)]
    return np.concatenate(cols, axis=1)


def log_variation(problem: Problem) -> float:
    """The largest change per unit length, times ``L``, of ``log K_ii`` and of the correlations
    ``K_ij / sqrt(K_ii K_jj)`` of the conductivity ``K``
    (:meth:`sciml.pdes.base.PDEType.conductivity`; ``log k`` for a scalar one) over :data:`LINES`
    lines per axis of :data:`LINE_POINTS` points through the bounding box (``L`` its extent
    along the line's axis; for a transient problem at the start, middle and end of the time
    span), by differences between neighbouring points: a jump of ratio ``r`` gives
    ``log(r) (LINE_POINTS - 1)``, a smooth coefficient its largest logarithmic slope, which is
    what the primal residual multiplies ``grad u`` by (``(div K) . grad u`` against
    ``K : hess u``). Points where ``K`` is not finite or a diagonal entry not positive (outside
    a curved domain, say) are left out."""
    lo, hi = (np.asarray(b, dtype=float) for b in problem.domain.bounds)
    times = [None] if not problem.transient else \
        [problem.time.start, problem.time.start + problem.time.length / 2, problem.time.end]
    rng = np.random.default_rng(0)
    s = np.linspace(0.0, 1.0, LINE_POINTS)
    worst = 0.0
    for axis in range(problem.dim):
        base = lo + (hi - lo) * rng.uniform(0.02, 0.98, (LINES, problem.dim))
        pts = np.repeat(base, LINE_POINTS, axis=0)
        pts[:, axis] = np.tile(lo[axis] + (hi[axis] - lo[axis]) * s, LINES)
        for t in times:
            full = pts if t is None else np.column_stack([pts, np.full(len(pts), t)])
            marks = _marks(conductivity_at(problem, full).numpy()).reshape(LINES, LINE_POINTS, -1)
            ok = np.isfinite(marks).all(axis=-1)
            steps = np.abs(np.diff(np.nan_to_num(marks), axis=1)).max(axis=-1)
            valid = ok[:, 1:] & ok[:, :-1]
            if valid.any():
                worst = max(worst, float(steps[valid].max()) * (LINE_POINTS - 1))
    return worst


def first_order_reason(problem: Problem, cfg: Any, solver: str = "pinn", warn: bool = False) -> str | None:
    """Why the first-order system is trained (``residual_form`` ``first_order``, or ``auto`` with
    a fast-varying conductivity), or None for the primal residual. A ``first_order`` request
    the problem cannot take exits 2 naming ``[solver.<solver>.residual_form]``; with ``warn``, a
    ``primal`` request on a conductivity that jumps gives a warning (that residual drops the
    interface condition)."""
    from ..problems.inverse import inverse_spec

    form = getattr(cfg, "residual_form", "primal")
    inverse = inverse_spec(problem) is not None
    kind = problem.pde.spec
    scalar = "first_order" in kind.traits and _has_conductivity(kind)
    if form == "primal":
        if warn and scalar and problem.dim > 0 and not inverse and log_variation(problem) >= JUMP_AT:
            warnings.warn(SciMLWarning(f"{problem.name}: residual_form = 'primal' with a conductivity that jumps: "
                                       "the primal residual sees no gradient of it at the collocation points and "
                                       "drops the interface condition [K du/dn] = 0, so the field is likely wrong "
                                       "(residual_form = 'auto' trains the first-order form there)"), stacklevel=2)
        return None
    if "first_order" not in kind.traits or problem.dim == 0 or inverse:
        if form == "first_order":
            why = "an inverse problem trains the primal residual" if inverse else f"{problem.pde.type!r} has none"
            raise ProblemError(f"residual_form = 'first_order' needs a forward problem of a type with a "
                               f"divergence form div(K grad u) ({', '.join(first_order_types())}): {why}",
                               problem.source, f"solver.{solver}.residual_form")
        return None
    if form == "first_order":
        return "asked for"
    if not scalar:
        if not kind.first_order_auto:
            return None
        fplan = flux_plan(problem)[0]
        if not (fplan.boundary or fplan.notes):
            return None  # no flux data (every edge Dirichlet): the primal form was 5-9x more accurate
        if getattr(cfg, "first_order_exact_only", False) and (not getattr(cfg, "hard_flux", True) or fplan.notes):
            return None  # pig: flux data by a penalty are met between collocation points
        return kind.first_order_auto
    variation, at = log_variation(problem), getattr(cfg, "first_order_at", FIRST_ORDER_AT)
    if not variation >= at:
        return None
    return (f"the conductivity {'jumps' if variation >= JUMP_AT else 'varies fast'} (log-variation "
            f"{variation:.3g} >= {at:g})")


def _has_conductivity(kind: Any) -> bool:
    from ..pdes.base import PDEType

    return type(kind).conductivity is not PDEType.conductivity


def first_order_types() -> list[str]:
    """The PDE types with a first-order system form."""
    from .. import pdes

    return sorted(name for name, kind in pdes.available().items() if "first_order" in kind.traits)


def n_outputs(problem: Problem, cfg: Any, solver: str = "pinn") -> int:
    """The network's output width: the solution's components, plus the ``d`` flux components when
    :func:`first_order_reason` chooses the first-order system."""
    extra = problem.pde.spec.flux_width(problem.dim) if first_order_reason(problem, cfg, solver) is not None else 0
    return len(problem.fields) + extra


def flux_constants(problem: Problem, value_scale: float) -> tuple[float, float]:
    """``(scale, law_weight)``: the flux's typical size ``value_scale k / (L / 2)``, by which the
    network's flux outputs are multiplied so that they learn O(1) values like the field's, and
    the weight ``k / L^2`` of the constitutive law in the residual, which makes the two parts of
    the functional the same units (``k`` the geometric mean of the conductivity's largest
    eigenvalue over the domain, ``L`` the largest extent of its bounding box). Measured on the
    multi-scale Poisson of the development set: the law weighted 10x more or less than this
    ends 4-6x less accurate at equal time; gradient-norm balancing of the two parts as separate
    terms (it raised the law's weight 40-100x) ended 2.7x less accurate than this fixed ratio."""
    pts = problem.domain.sample_interior(2000, "sobol", np.random.default_rng(2))
    if problem.transient:
        pts = np.column_stack([pts, np.full(len(pts), problem.time.start + problem.time.length / 2)])
    lam = stiffness_at(problem, pts)
    lam = lam[np.isfinite(lam) & (lam > 0)]
    lo, hi = problem.domain.bounds
    extent = float(np.max(np.asarray(hi) - np.asarray(lo)))
    k = float(np.exp(np.mean(np.log(lam)))) if len(lam) else 1.0
    scale, weight = value_scale * k * 2 / extent, k / extent**2
    if problem.pde.spec.scale_by_solve:  # the flux of a small Galerkin solution (a bending stress)
        from .scales import solve_scale

        scale = solve_scale(problem, flux=True) or scale
    ok = math.isfinite(scale) and scale > 0 and math.isfinite(weight) and weight > 0
    return (scale, weight) if ok else (value_scale, 1.0)


class ChannelJet(Jet):
    """The jet of the output channels ``start:stop`` of another jet."""

    def __init__(self, inner: Jet, start: int, stop: int):
        self.inner, self.sl = inner, slice(start, stop)
        self.value = inner.value[:, self.sl]

    def d(self, i: int) -> torch.Tensor:
        return self.inner.d(i)[:, self.sl]

    def dd(self, i: int, j: int) -> torch.Tensor:
        return self.inner.dd(i, j)[:, self.sl]


class Head(Field):
    """The output channels ``start:stop`` of ``net``: differentiated by autograd through the slice
    (only those channels), or the slice of ``net``'s own closed-form jet when it has one."""

    def __init__(self, net: Field, start: int, stop: int):
        super().__init__()
        self.net, self.start, self.stop = net, start, stop

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)[:, self.start:self.stop]

    def jet(self, x: torch.Tensor, order: int = 2, pairs: Sequence[tuple[int, int]] = ()) -> Jet:
        if order == 0 or type(self.net).jet is Field.jet:
            return super().jet(x, order, pairs)
        return ChannelJet(self.net.jet(x, order, pairs), self.start, self.stop)


class FluxModel(Field):
    """The solution model ``field`` (its outputs, jets and exact conditions as without the flux)
    and the flux ``q`` (:meth:`flux_jet`), both heads of one network; ``law_weight`` weighs the
    constitutive law in the residual (:func:`flux_constants`)."""

    def __init__(self, field: Field, flux: Field, reason: str, law_weight: float):
        super().__init__()
        self.field, self.flux, self.reason, self.law_weight = field, flux, reason, law_weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.field(x)

    def jet(self, x: torch.Tensor, order: int = 2, pairs: Sequence[tuple[int, int]] = ()) -> Jet:
        return self.field.jet(x, order, pairs)

    def flux_jet(self, x: torch.Tensor, order: int = 1) -> Jet:
        """The flux ``(P, width)`` and (``order`` 1) its first derivatives."""
        return self.flux.jet(x, order, ())


def flux_plan(problem: Problem) -> tuple[Plan, dict[tuple[int, int], tuple[int, int, float]]]:
    """Which flux components the first-order form imposes exactly, as ``q_c = A_c + B_c N_c``
    (:class:`ExactFlux`): on every boundary piece with an axis-parallel outward normal
    ``s e_i`` that one ``neumann`` entry (or the natural zero flux) covers whole, ``q . n = g``
    fixes the components :meth:`sciml.pdes.base.PDEType.flux_fixed` names (``q_i = s g`` for a
    scalar flux; ``sigma_ii``, ``sigma_ij`` for a traction). Returns the plan (per flux
    component: a key per piece -> that piece) and, per ``(key, component)``, ``(entry, data
    component, s)``;
    ``plan.exact_entries`` are the entries whose every piece is exact (their penalty terms are
    dropped). Curved pieces, others and pieces split between conditions keep the penalty, and
    ``plan.notes`` names each such piece that carries flux data.

    Why: a traction-free edge held by a penalty lets a network carry a load by violating it
    (a cantilever's weight pressed onto its free lower edge instead of bent into the clamp:
    relative error 0.99 at 150 s of the PINN with the penalty, 0.07 with exact tractions;
    docs/solvers/pinn.md, "The mixed form for elasticity")."""
    kind = problem.pde.spec
    width = kind.flux_width(problem.dim)
    out = Plan(pieces=[{} for _ in range(width)])
    data: dict[tuple[int, int], tuple[int, int, float]] = {}
    try:
        pieces = piece_entries(problem)
    except Exception:  # meshes and CSG domains: no analytic pieces
        out.notes.append("no analytic boundary pieces (a mesh or CSG domain): flux data stay penalty terms")
        return out, data
    natural = kind.natural_boundary(problem)
    exact_pieces: dict[int, list[bool]] = {}
    for key, (piece, pts, entries) in enumerate(pieces):
        if len(entries) != 1:
            for e in entries:
                exact_pieces.setdefault(e, []).append(False)
            if any((e >= 0 and bcs.get(problem.boundaries[e].type).flux_only) or (e < 0 and natural) for e in entries):
                out.notes.append(f"flux data on {piece.name} (curved, at a re-entrant corner or split) stay a penalty")
            continue
        (entry,) = entries
        flux_data = entry >= 0 and bcs.get(problem.boundaries[entry].type).flux_only
        n = piece.normal(pts[:2])[0]
        axis = int(np.argmax(np.abs(n)))
        straight = abs(abs(n[axis]) - 1.0) < 1e-12 and np.allclose(piece.normal(pts), n)
        line = _untrimmed(piece, problem.domain)
        ok = (flux_data or (entry < 0 and natural)) and straight and not isinstance(line, Segment)
        exact_pieces.setdefault(entry, []).append(ok)
        if not ok:
            if flux_data or (entry < 0 and natural):
                out.notes.append(f"flux data on {piece.name} (curved, at a re-entrant corner or split) stay a penalty")
            continue
        sign = float(np.sign(n[axis]))
        for c, k in kind.flux_fixed(axis, problem.dim):
            out.pieces[c][key] = [line]
            data[(key, c)] = (entry, k, sign)
    out.exact_entries = {e for e, oks in exact_pieces.items() if all(oks)}
    return out, data


class ExactFlux(Constrained):
    """The flux head with the flux data of a :func:`flux_plan` imposed exactly: ``q_c = A_c +
    B_c N_c``, ``B_c`` the normalised R-equivalence of the ADFs of the pieces that fix ``c`` and
    ``A_c`` the transfinite interpolation of their data (Sukumar & Srivastava 2022, as for
    Dirichlet data in :mod:`sciml.nn.constraints`, here on the flux components)."""

    def __init__(self, inner: Field, problem: Problem, exact: Plan, data: dict[tuple[int, int], tuple[int, int, float]]):
        self.data = data
        super().__init__(inner, problem, exact)

    def _datum(self, c: int, key: int, env: dict[str, torch.Tensor]) -> Any:
        """``s g`` on piece ``key`` (``g`` the entry's data component, ``s`` the sign of the
        outward normal; 0 on a natural, traction-free piece)."""
        entry, k, sign = self.data[(key, c)]
        return sign * self.problem.boundaries[entry].value[k].torch(**env) if entry >= 0 else 0.0
