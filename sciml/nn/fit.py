"""Train a field network on a problem's physics and turn it into a :class:`Solution`.

This is the path every physics-informed solver shares: a solver builds its network (an
:class:`~sciml.nn.jet.Field`), then calls :func:`fit_physics` with its config and
:func:`network_solution` on the result.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Literal

import numpy as np
import torch
from torch import nn

from ..errors import ProblemError, SciMLWarning
from ..geometry import Box, Interval, MeshDomain
from ..problems import Problem
from ..problems.inverse import at_guess, inverse_spec
from ..solution import Solution
from . import distributed
from .collocation import PointSampler
from .balance import GradNormBalance
from .constraints import Constrained, Plan, plan
from .flux import ExactFlux, FluxModel, Head, first_order_reason, flux_constants, flux_plan
from .inverse import InverseSetup, Interpolated
from .jet import PartJet, Scaled
from .objective import PhysicsObjective, Refinement, ResamplingBatches
from .physics import Causal, LossWeights, PhysicsLoss
from .scales import describe, output_scaling
from .trainer import TrainConfig, Trainer, TrainResult

DTYPES = {"float32": torch.float32, "float64": torch.float64}


@dataclass
class DeviceConfig:
    """Where and how a network runs.

    Attributes
    ----------
    dtype, device
        Precision and device of the network and its input tensors.
    seed
        Seed of the solver's own point draws (default: torch's seed, which ``sciml solve
        --seed`` sets).
    """

    dtype: Literal["float32", "float64"] = "float32"
    device: str = "cpu"
    seed: int | None = None

    def sample_seed(self) -> int:
        """The seed of this process's point draws (distinct per ``torchrun`` rank)."""
        base = self.seed if self.seed is not None else torch.initial_seed() % 2**32
        return base + 7919 * distributed.rank()


@dataclass
class RunConfig(TrainConfig, DeviceConfig):
    """:class:`~sciml.nn.trainer.TrainConfig` plus :class:`DeviceConfig` (where and how the
    network runs)."""


@dataclass
class PhysicsConfig(RunConfig):
    """Options shared by physics-informed solvers: collocation and loss weights, plus
    everything in :class:`RunConfig`.

    Attributes
    ----------
    n_interior, n_boundary, n_initial
        Collocation points per draw (per process under ``torchrun``).
    sampling
        ``random``, ``sobol``, ``lhs`` or ``uniform``.
    resample_every
        Draw new points every this many steps (0: one fixed set).
    w_res, w_bc, w_ic
        Fixed loss weights of the interior residual, boundary and initial terms (multiplying the
        adaptive ones).
    output_scale
        The network's output is multiplied by this (and Dirichlet/initial residuals divided by
        it), so it learns O(1) values. ``auto`` (default): scale and offset from the problem's
        data and source (:mod:`sciml.nn.scales`); a number fixes the scale (no offset).
    residual_on_boundary
        Also require the PDE at the boundary points (DeepXDE does).
    boundary_terms
        ``kind`` (default): one loss term per boundary-condition kind, measure-weighted over
        its entries, so the result does not depend on how the boundary was cut into entries;
        ``piece``: one term per entry (the ablation of that weighting,
        :class:`~sciml.nn.physics.PhysicsLoss`).
    balance, balance_every, balance_max, balance_max_data
        ``gradnorm`` (default): adaptive term weights by gradient-norm balancing every
        ``balance_every`` Adam steps, each at most ``balance_max`` times the smallest, the data
        term of an inverse problem at most ``balance_max_data`` times
        (:mod:`sciml.nn.balance`); ``none``: fixed weights.
    hard_bc, hard_ic, ic_form, ic_fade
        Impose Dirichlet data through approximate distance functions where the geometry allows,
        and initial data exactly: ``fade`` (default), ``u = (1 - s) u0 + s N`` with
        ``s = 1 - exp(-tau / ic_fade)`` (``tau`` the time as a fraction of the window), or
        ``add``, ``u = u0 + tau N`` (:mod:`sciml.nn.constraints`).
    causal, causal_chunks, causal_eps
        Causal weighting of the residual in time for time-dependent problems
        (:class:`~sciml.nn.physics.Causal`).
    residual_form
        ``auto`` (default): the first-order system (the flux ``q = K grad u`` as more network
        outputs, first derivatives only) for poisson and diffusion problems whose conductivity
        jumps or varies fast, the primal residual otherwise; ``primal`` or ``first_order``
        to choose (:mod:`sciml.nn.flux`). For elasticity the first-order form is the mixed
        stress-displacement form (the stresses as more outputs).
    hard_flux
        In the first-order form, impose the flux data (Neumann data, the natural zero flux, a
        traction) exactly on straight axis-parallel boundary pieces (:func:`~sciml.nn.flux.flux_plan`),
        whatever ``hard_bc`` says.
    law_factor
        The constitutive law's weight in the first-order form as a multiple of
        :func:`~sciml.nn.flux.flux_constants`'s ``k / L^2``; ``auto``: the PDE type's
        (:attr:`sciml.pdes.base.PDEType.law_factor`).
    rar_every, rar_points, rar_candidates, rar_k, rar_c
        Residual-based adaptive refinement (RAR-D): every ``rar_every`` Adam steps (0: never),
        add ``rar_points`` collocation points drawn from ``rar_candidates`` uniform ones with
        probability ``~ r^k / mean(r^k) + c`` (:class:`~sciml.nn.objective.Refinement`).
    unknown_lr
        Adam's learning rate of the logarithm of each scalar ``[inverse]`` unknown (0.01: a
        tenfold error takes about 230 steps), :mod:`sciml.nn.inverse`.
    noise_floor
        With ``[inverse] noise`` (soft data), fit the observations only down to the misfit
        the noise itself leaves, ``noise^2 mean(d^2)`` (the discrepancy principle), not into
        the noise.
    """

    n_interior: int = 2000
    n_boundary: int = 400
    n_initial: int = 400
    sampling: Literal["uniform", "random", "sobol", "lhs"] = "random"
    resample_every: int = 0
    w_res: float = 1.0
    w_bc: float = 1.0
    w_ic: float = 1.0
    output_scale: float | Literal["auto"] = "auto"
    residual_on_boundary: bool = False
    boundary_terms: Literal["kind", "piece"] = "kind"
    balance: Literal["gradnorm", "none"] = "gradnorm"
    balance_every: int = 100
    balance_max: float = 100.0
    balance_max_data: float = 1e4
    hard_bc: bool = True
    hard_ic: bool = True
    ic_form: Literal["fade", "add"] = "fade"
    ic_fade: float = 0.1
    residual_form: Literal["auto", "primal", "first_order"] = "auto"
    law_factor: float | Literal["auto"] = "auto"
    hard_flux: bool = True
    causal: bool = True
    causal_chunks: int = 16
    causal_eps: float = 5.0
    rar_every: int = 1000
    rar_points: int = 200
    rar_candidates: int = 10000
    rar_k: float = 2.0
    rar_c: float = 0.0
    unknown_lr: float = 1e-2
    noise_floor: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.output_scale != "auto" and not self.output_scale > 0:
            raise ProblemError(f"output_scale must be positive, got {self.output_scale}")
        if not self.unknown_lr > 0:
            raise ProblemError(f"unknown_lr must be positive, got {self.unknown_lr}")
        if self.law_factor != "auto" and not (self.law_factor > 0 and math.isfinite(self.law_factor)):
            raise ProblemError(f"law_factor must be a positive number or 'auto', got {self.law_factor}")
        if not self.rar_k >= 0 or not self.rar_c >= 0 or self.rar_k == self.rar_c == 0:
            raise ProblemError("rar_k and rar_c must be >= 0 and not both 0")
        if not 0 < self.ic_fade <= 10:
            raise ProblemError(f"ic_fade must lie in (0, 10] (a fraction of the time window), got {self.ic_fade}")
        if self.balance_every < 1 or self.causal_chunks < 1 or self.rar_points < 1 or self.rar_candidates < 1 \
                or not self.balance_max >= 1 or not self.balance_max_data >= 1:
            raise ProblemError("balance_every, balance_max, balance_max_data, causal_chunks, rar_points and rar_candidates must be "
                               "at least 1")


def torch_device(name: str) -> torch.device:
    """A torch device, refusing CUDA when none is present."""
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ProblemError(f"device {name!r} requested but CUDA is not available")
    try:
        return torch.device(name)
    except RuntimeError as exc:
        raise ProblemError(f"unknown device {name!r}: {exc}") from None


def place(model: nn.Module, cfg: RunConfig) -> nn.Module:
    """Move ``model`` to the configured device and precision (physics-informed fields are scaled
    by :func:`physics_model`)."""
    return model.to(device=torch_device(cfg.device), dtype=DTYPES[cfg.dtype])


def input_box(problem: Problem) -> tuple[np.ndarray, np.ndarray]:
    """Bounds of the network input: the domain's bounding box, then the time span."""
    lo, hi = (problem.domain.bounds if problem.dim else (np.zeros(0), np.zeros(0)))
    if problem.transient:
        lo, hi = np.append(lo, problem.time.start), np.append(hi, problem.time.end)
    return np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)


@dataclass
class PhysicsModel:
    """What :func:`physics_model` builds: the model, what it meets exactly, the features in use
    (for the solution's info), the scale of its values and the inverse problem's set-up."""

    model: nn.Module
    exact: Plan
    features: dict[str, Any]
    value_scale: float
    inverse: InverseSetup | None = None
    net: nn.Module | None = None  # the trained network inside the scaling and exact conditions


def physics_model(problem: Problem, net: nn.Module, cfg: PhysicsConfig) -> PhysicsModel:
    """The trained field around ``net``: output scaling (``u = shift + scale N``), then exact
    conditions (``u = A + B N``) where ``cfg`` asks and the geometry allows, and, for an
    ``[inverse]`` section in ``hard`` mode, the correction through the observations; placed on
    the configured device."""
    spec = inverse_spec(problem)
    inverse = InverseSetup(problem, spec, cfg.unknown_lr / cfg.lr, DTYPES[cfg.dtype]) if spec else None
    exact = plan(problem, cfg.hard_bc, cfg.hard_ic, cfg.ic_fade if cfg.ic_form == "fade" else None)
    if cfg.output_scale == "auto":  # an inverse problem's scale: its guesses and observations
        scale, shift = output_scaling(at_guess(problem, spec) if spec else problem)
        if inverse is not None:
            scale = max(scale, float(np.max(np.abs(inverse.values - (np.asarray(shift) if shift else 0.0)))))
        if exact.boundary or (exact.initial and exact.fade is None):
            shift = None  # A carries the data (fading initial data leave it to the network later on)
    else:
        scale, shift = float(cfg.output_scale), None
    reason = first_order_reason(problem, cfg, warn=True)
    ncomp = len(problem.fields)
    field = Head(net, 0, ncomp) if reason else net
    model: nn.Module = Scaled(field, scale, shift) if (scale != 1.0 or shift) else field
    if exact.active:
        model = Constrained(model, problem, exact)
    if reason:
        width = net(torch.zeros(1, len(input_box(problem)[0]), dtype=next(net.parameters()).dtype)).shape[1]
        total = ncomp + problem.pde.spec.flux_width(problem.dim)
        if width != total:
            raise RuntimeError(f"the first-order form needs {total} network outputs, the network "
                               f"has {width} (build it with sciml.nn.flux.n_outputs)")
        q_scale, law_weight = flux_constants(problem, scale)
        law_weight *= problem.pde.spec.law_factor if cfg.law_factor == "auto" else float(cfg.law_factor)
        flux: nn.Module = Scaled(Head(net, ncomp, total), q_scale)
        fplan, fdata = flux_plan(problem) if cfg.hard_flux else (None, {})
        if fplan is not None and fplan.boundary:
            flux = ExactFlux(flux, problem, fplan, fdata)
            exact.exact_entries |= fplan.exact_entries
        model = FluxModel(model, flux, reason, law_weight)
    if inverse is not None and inverse.hard():
        model = _through_observations(model, problem, inverse)
    model = place(model, cfg)
    transient = problem.transient and problem.dim > 0
    features = {"boundary_terms": "one per condition kind, measure-weighted" if cfg.boundary_terms == "kind"
                else "one per boundary entry",
                "balance": cfg.balance if cfg.balance == "none" else
                f"gradnorm every {cfg.balance_every}, at most {cfg.balance_max:g}x",
                "output_scale": describe(scale, shift) + (" (auto)" if cfg.output_scale == "auto" else ""),
                "hard_bc": "off" if not cfg.hard_bc else "not possible here" if not exact.boundary
                else "on" if not exact.notes else "partly",
                "hard_ic": ("on, u0 + tau N" if exact.fade is None else f"on, fading over {exact.fade:g} of the window")
                if exact.initial else ("off" if not cfg.hard_ic or not transient else
                                       f"off: an initial layer (the data miss the boundary conditions by {exact.layer:.2g})"
                                       if exact.layer is not None else "no data"),
                "residual_form": f"first-order system: {reason}" if reason else "primal",
                **({"exact_flux": _exact_flux_note(model)} if reason else {}),
                "rar": f"every {cfg.rar_every} steps (k {cfg.rar_k:g}, c {cfg.rar_c:g})" if cfg.rar_every else "off",
                "causal": (f"{cfg.causal_chunks} chunks, eps {cfg.causal_eps:g}" if cfg.causal else "off")
                if transient else "steady",
                "optimizer": "adam" + (" + lbfgs" if cfg.lbfgs_steps else "") + (
                    f" (the last {cfg.lbfgs_share:g} of the time budget)" if cfg.lbfgs_steps and cfg.lbfgs_share
                    and cfg.max_seconds is not None else "") + (" + bfgs" if cfg.bfgs_steps else ""),
                "recovery": f"up to {cfg.max_recoveries} roll-backs"}
    if inverse is not None:
        features["inverse"] = (f"{len(inverse.points)} observations, {inverse.spec.mode} "
                               f"(noise {inverse.spec.data_noise:g}); unknowns: "
                               + ", ".join([*inverse.spec.unknowns, *(f"{n}(x)" for n in inverse.spec.fields)]))
    for note in exact.notes:
        warnings.warn(SciMLWarning(f"{problem.name}: {note}"), stacklevel=2)
    return PhysicsModel(model, exact, features, scale, inverse, net)


def _exact_flux_note(model: nn.Module) -> str:
    """Where the first-order form's flux data are exact (:func:`sciml.nn.flux.flux_plan`)."""
    flux = getattr(model, "flux", None)
    if not isinstance(flux, ExactFlux):
        return "off (penalty terms)"
    keys = {key for pieces in flux.exact.pieces for key in pieces}
    return f"on {len(keys)} straight axis-parallel boundary piece(s); the others are penalty terms"


def _through_observations(model: nn.Module, problem: Problem, inverse: InverseSetup) -> nn.Module:
    """``hard`` observations: the (constrained) field corrected so that it passes through them;
    inside ``u = A + B N`` the correction acts on ``N`` with targets ``(d - A) / B``."""
    lo, hi = input_box(problem)
    points, values = inverse.points, inverse.values
    if isinstance(model, Constrained):
        with torch.no_grad():
            A, B = model.ab(torch.as_tensor(points, dtype=torch.float64))
        A, B = A.numpy(), B.numpy()
        if np.any(np.abs(B) < 1e-8):
            raise ProblemError("a hard observation lies where the data are imposed exactly (on a Dirichlet "
                               "boundary or the initial time): move it inside or use mode = 'soft'",
                               problem.source, "inverse.observations")
        model.inner = Interpolated(model.inner, points, (values - A) / B, lo, hi)
        return model
    return Interpolated(model, points, values, lo, hi)


def fit_physics(problem: Problem, model: nn.Module | PhysicsModel, cfg: PhysicsConfig,
                callback: Callable[[int, nn.Module], None] | None = None) -> TrainResult:
    """Train ``model`` (a :class:`~sciml.nn.jet.Field`, already placed, or what
    :func:`physics_model` built) on ``problem``'s residuals with the collocation, balancing,
    refinement and optimiser settings of ``cfg``; the conditions the model meets exactly are
    left out of the loss, and the unknowns of an inverse problem are trained beside it against
    its observations. ``callback(step, model)`` runs after every step (not counted as training
    time)."""
    built = model if isinstance(model, PhysicsModel) else None
    field = built.model if built is not None else model
    exact, inverse = (built.exact, built.inverse) if built is not None else (None, None)
    distributed.init_from_env(cfg.device)
    sampler = PointSampler(problem, cfg.n_interior, cfg.n_boundary, cfg.n_initial, cfg.sampling,
                           cfg.sample_seed())
    value_scale = built.value_scale if built is not None else (
        cfg.output_scale if cfg.output_scale != "auto" else 1.0)
    soft = inverse is not None and not inverse.hard()
    loss = PhysicsLoss(problem, LossWeights(cfg.w_res, cfg.w_bc, cfg.w_ic), DTYPES[cfg.dtype],
                       torch_device(cfg.device), value_scale, cfg.residual_on_boundary,
                       Causal(cfg.causal_chunks, cfg.causal_eps) if cfg.causal else None,
                       exact_entries=exact.exact_entries if exact else (), exact_initial=bool(exact and exact.initial),
                       unknowns=inverse.unknowns.to(torch_device(cfg.device)) if inverse is not None else None,
                       observed=(inverse.points, inverse.values) if soft else None,
                       data_weight=inverse.spec.weight if inverse is not None else 1.0,
                       data_noise=inverse.spec.data_noise if soft and cfg.noise_floor else 0.0,
                       boundary_terms=cfg.boundary_terms,
                       law_weight=field.law_weight if isinstance(field, FluxModel) else None)
    batches = ResamplingBatches(sampler, loss.prepare, cfg.resample_every)
    balance = GradNormBalance(cfg.balance_every, max_weight=cfg.balance_max, caps={"data": cfg.balance_max_data}) \
        if cfg.balance == "gradnorm" else None
    refine = Refinement(cfg.rar_every, cfg.rar_points, cfg.rar_candidates, cfg.rar_k, cfg.rar_c) \
        if cfg.rar_every else None
    objective = PhysicsObjective(field, loss, batches, balance, refine, cfg.adam_steps, cfg.sample_seed(),
                                 inverse.unknowns if inverse is not None else None)
    hook = (lambda step, result: callback(step, field)) if callback is not None else None
    result = Trainer(objective, cfg, {"batches": batches, "adaptive": objective.adaptive_state()}, hook).fit()
    if built is not None and built.net is not None and inverse is None:
        result.vs_trivial = _stall_check(objective, built.net)
    result.data_miss = _data_check(objective)
    if isinstance(field, FluxModel):
        result.law_misfit = _law_check(objective, field)
    else:
        result.residual_ratio = _residual_check(objective)
    return result


LIKELY_WRONG = "likely wrong"  # the words every end-of-training check's warning carries (sciml.bench.robust)


def _warn_wrong(finding: str, advice: str) -> None:
    """The warning of an end-of-training check that found the kept state wrong:
    ``finding; the solution is likely wrong. advice`` (summary.json keeps it)."""
    warnings.warn(f"{finding}; the solution is {LIKELY_WRONG}. {advice}", SciMLWarning, stacklevel=4)


STALL_RATIO = 0.5  # a kept state scoring above this fraction of the trivial field's score has stalled
STALL_GUARD = 1e-6  # no check when the trivial field scores this far below a unit network output's


def _stall_check(objective: PhysicsObjective, net: nn.Module) -> float | None:
    """The kept state's score over the trivial field's (``N = 0``: the output offset, or the
    exact conditions' lift, alone) on the same fixed points and weights; a warning when it is
    above :data:`STALL_RATIO`: the network sits at or near that field (a stall at a constant
    when the data are constant), whatever its loss did on the way. None (no check) when the
    data alone nearly solve the problem: the trivial field scoring below :data:`STALL_GUARD`
    times the field of a unit network output (``N = 1``)."""
    trivial, unit = objective.trivial_score(net), objective.trivial_score(net, 1.0)
    if not trivial > STALL_GUARD * unit:
        return None
    final = objective.evaluate()
    ratio = final / trivial
    if not ratio < STALL_RATIO:
        _warn_wrong(f"training stalled: the kept state scores {final:.3g} on the fixed check points, "
                    f"{ratio:.0%} of the {trivial:.3g} of the field the data alone give (the network's "
                    "output zero)", "Try another solver (pig's Gaussians resolve fine scales a smooth network "
                    "misses) or a longer budget (docs/training.md)")
    return ratio


LAW_MISFIT = 0.5  # a first-order state whose field misses its flux's law by this fraction is wrong


def _law_check(objective: PhysicsObjective, model: FluxModel) -> float | None:
    """The first-order form's relative constitutive misfit on the fixed check points: the law's
    gap ``|q - K grad u|`` (``|sigma - C eps(u)|``) in its energy norm over the flux's own
    ``|q|`` there, a warning above :data:`LAW_MISFIT`. With a light law (elasticity) a network
    can hold stresses that balance the loads while the displacement stays near zero: a low loss
    and a wrong field, which the stall check cannot see (1.0 on a slender beam with a score 8%
    of the trivial field's). In a solution the misfit tends to zero."""
    from .jet import ExplicitJet

    loss, batch = objective.loss, objective._check_points()
    x = batch.interior
    with torch.enable_grad():
        jet = model.jet(x, 1, ())
        q = model.flux_jet(x)
        coef = loss._live(x, batch.coef)
        kind = loss.kind
        _, gap = kind.first_order_terms(loss, jet, q, x, coef)
        zero = ExplicitJet(torch.zeros_like(jet.value), torch.zeros(*jet.value.shape, x.shape[1], dtype=x.dtype,
                                                                     device=x.device), {})  # space and time
        _, own = kind.first_order_terms(loss, zero, q, x, coef)
    size = float(own.detach().pow(2).sum(dim=1).mean())
    if not size > 0:
        return None
    misfit = math.sqrt(float(gap.detach().pow(2).sum(dim=1).mean()) / size)
    if not misfit < LAW_MISFIT:
        _warn_wrong(f"the field does not follow its flux: the constitutive law misses by {misfit:.0%} of the "
                    "flux's size on the fixed check points (the flux outputs balance the loads, the field "
                    "does not carry them)", "Try a longer budget, residual_form = 'primal' or another solver "
                    "(docs/solvers/pinn.md, \"Elasticity\")")
    return misfit


RESIDUAL_RATIO = 0.1  # a state whose residual is this fraction of its terms' size is not a solution


def _residual_check(objective: PhysicsObjective) -> float | None:
    """How far the kept state's equation is from holding, relative to its own terms: the median
    over the fixed check points of ``|r(u)| / S``, ``S^2 = |r(0)|^2 + sum_e |r(u) - r(u without
    e)|^2`` over each derivative ``e`` the equation reads (for a linear equation the terms
    ``L_e u`` and the source; ``S`` floored at a tenth of its root mean square, so points where
    every term vanishes count as met). A few percent for a solution; near one for a field whose
    terms do not cancel, however low the loss went (a wave whose ``u_tt`` and ``c^2 lap u``
    disagree). The median, not a mean, so that the large residual a good solution keeps at a
    re-entrant corner or where a condition changes kind does not count against it. None when
    every term vanishes."""
    loss, batch = objective.loss, objective._check_points()
    x = batch.interior
    with torch.enable_grad():
        jet = objective.model.jet(x, loss.order, loss.pairs)
        seen = PartJet(jet)
        r = loss.residual(seen, x, batch.coef).detach()
        size = loss.residual(PartJet(jet, None), x, batch.coef).detach().pow(2)
        for key in sorted(seen.read):
            size = size + (r - loss.residual(PartJet(jet, {key}), x, batch.coef).detach()).pow(2)
    size = size.sum(dim=1)
    mean = float(size.mean())
    if not mean > 0:
        return None
    ratio = float((r.pow(2).sum(dim=1) / size.clamp(min=1e-2 * mean)).sqrt().median())
    if not ratio < RESIDUAL_RATIO:
        _warn_wrong(f"the equation's terms do not cancel: at half of the fixed check points the residual is "
                    f"{ratio:.0%} of their size or more (a solution leaves a few percent), whatever the loss "
                    "did", "Try a longer budget or another solver (docs/training.md, \"Guard, checkpoints, time "
                    "budget\")")
    return ratio


DATA_MISS = 0.1  # a kept state missing its value data by this RMS fraction of the value scale is wrong
VALUE_TERMS = {"bc": "Dirichlet data", "ic": "initial data"}


def _data_check(objective: PhysicsObjective) -> dict[str, float]:
    """The kept state's RMS misses of the data that prescribe values (the Dirichlet and the
    initial data), in units of the output scale, on the fixed check points; a warning for each
    above :data:`DATA_MISS`. A field that misses its own boundary values by a tenth of the
    solution's size is not a solution whatever its error elsewhere, and such a state can score
    well below the trivial field (a network that left the data to fit the residual)."""
    terms = objective.check_terms()
    miss = {name: math.sqrt(terms[name]) for name in VALUE_TERMS if name in terms}
    for name, rms in miss.items():
        if not rms < DATA_MISS:
            _warn_wrong(f"training left the {VALUE_TERMS[name]} unmet: the kept state misses them by "
                        f"{rms:.0%} of the output scale (RMS on the fixed check points)",
                        "Try another seed, a lower learning rate or another solver (docs/training.md)")
    return miss


OUTPUT_POINTS = 4096  # scattered output nodes of a solution in more than three dimensions


def _output_nodes(problem: Problem) -> dict[str, Any]:
    """Where a network solution is tabulated for output: a grid for intervals and boxes, the
    problem's mesh for mesh domains, a generated mesh otherwise."""
    domain = problem.domain
    if problem.dim > 3:  # a grid would be too large: scattered points, evaluated by the network
        return {"kind": "points", "points": domain.sample_interior(OUTPUT_POINTS, "sobol", np.random.default_rng(0))}
    if isinstance(domain, (Interval, Box)):
        n = {1: 1001, 2: 101, 3: 31}[problem.dim]
        axes, _ = domain.grid(n)
        pts = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, problem.dim)
        return {"kind": "grid", "points": pts, "axes": axes}
    if domain.output_grid:  # grid nodes inside the domain (no mesh needed), evaluated by the network
        axes, mask = domain.grid({1: 1001, 2: 101, 3: 31}[problem.dim])
        return {"kind": "points", "points": np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)[mask]}
    if isinstance(domain, MeshDomain):
        mesh = domain.mesh_data
    else:
        lo, hi = domain.bounds
        mesh = domain.mesh(float(np.linalg.norm(hi - lo)) / 60)
    return {"kind": "mesh", "points": mesh.points, "cells": mesh.cells}


def evaluator(model: nn.Module, chunk: int = 65536) -> Any:
    """``points (n, d) ndarray -> values (n, c) ndarray`` for a torch model, in chunks."""
    param = next(model.parameters())

    def evaluate(points: np.ndarray) -> np.ndarray:
        out = []
        with torch.no_grad():
            for i in range(0, len(points), chunk):
                x = torch.as_tensor(points[i:i + chunk], dtype=param.dtype, device=param.device)
                y = model(x)
                out.append((y if y.ndim == 2 else y[:, None]).double().cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, 1))

    return evaluate


def network_solution(problem: Problem, model: nn.Module, solver: str, info: dict[str, Any],
                     n_times: int = 51, evaluate: Callable[[np.ndarray], np.ndarray] | None = None,
                     times: np.ndarray | None = None) -> Solution:
    """Tabulate a trained network as a :class:`Solution` that evaluates the network itself
    anywhere (metrics use the network, not the table).

    ``evaluate`` maps problem points ``(n, d)`` to values ``(n, c)``; by default the model
    itself (:func:`evaluator`). Transient solutions are tabulated at ``times`` (default
    ``n_times`` equispaced times)."""
    model.eval()
    evaluate = evaluate or evaluator(model)
    info = {"n_params": sum(p.numel() for p in model.parameters()), **info}
    common = dict(problem=problem.name, solver=solver, fields=problem.fields, evaluator=evaluate, info=info)
    if problem.dim == 0:
        t = np.linspace(problem.time.start, problem.time.end, 2001)
        return Solution(**common, kind="grid", points=t[:, None], values=evaluate(t[:, None]), axes=[t],
                        axis_names=("t",))
    nodes = _output_nodes(problem)
    space = nodes["points"]
    if not problem.transient:
        return Solution(**common, **nodes, values=evaluate(space))
    if times is None:
        times = np.linspace(problem.time.start, problem.time.end, n_times)
    values = np.stack([evaluate(np.column_stack([space, np.full(len(space), t)])) for t in times])
    return Solution(**common, **nodes, values=values, times=times)
