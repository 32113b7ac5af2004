"""``insr``: implicit neural spatial representations time-stepped by optimisation.

Chen, Wu, Grinspun, Zheng & Chen, "Implicit Neural Spatial Representations for Time-dependent
PDEs" (ICML 2023). The field at time ``t_n`` is a SIREN ``u(x; theta_n)`` (Sitzmann et al.
2020). A classical integrator stays; each time step is an optimisation of the weights,
warm-started from ``theta_n``, so that the new field satisfies the time-discrete equation at
fresh uniform-random samples drawn every iteration, plus a boundary penalty.

Every PDE of first order in time with a pointwise residual ``R(u_t, u, space derivatives) =
0`` (convection-diffusion, Burgers, anisotropic diffusion, equations written in the problem
file, systems of several fields): the residual of :mod:`sciml.nn.physics` is read from a
:class:`~sciml.nn.timestep.TimeStepJet`, whose ``u_t`` is the step's difference quotient and
whose space derivatives are blended; for ``u_t + S(u) = 0``:

* explicit Euler: ``(u - u_n)/dt + S(u_n; t_n) = 0``
* implicit Euler: ``(u - u_n)/dt + S(u; t_n+1) = 0``
* midpoint:       ``(u - u_n)/dt + S((u + u_n)/2; t_n+1/2) = 0`` (for the linear advection of
  the paper's code this is its ``(u - u_n)/dt + a (u_x + u_n,x)/2``)

Incompressible Euler (the paper's fluid solver, Chorin splitting with three fits per step, a
velocity and a pressure SIREN, ``dt`` absorbed into the pressure):

1. advection: ``u ~ u_n(clamp(x - dt u_n(x)))`` (semi-Lagrangian) plus ``(u.n)^2`` on walls;
2. pressure: ``lap p = div u_adv`` plus ``(dp/dn)^2`` on walls;
3. projection: ``u ~ u_adv - grad p`` plus ``(u.n)^2`` on walls.

The initial condition is fitted by least squares with the same loop. Every fit starts a fresh
Adam (learning rate 1e-4) and stops at an iteration cap, or, with ``stop = "plateau"``, by the
paper's rule (:func:`~sciml.nn.timestep.fit_step`). The weights of every ``keep_every``-th
step are kept, and the :class:`~sciml.solution.Solution` answers at any ``(x, t)`` by linear
interpolation in time between the kept fields.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Literal

import numpy as np
import torch
from torch import nn

from ..errors import ProblemError
from ..io import atomic_write
from ..nn.collocation import PointSampler, PointSet
from ..nn.fit import DeviceConfig, network_solution, place
from ..nn.jet import Field, Scaled
from ..nn.layers import valid_widths
from ..nn.modelfile import load_file
from ..nn.physics import LossWeights, PhysicsLoss
from ..nn.siren import Siren
from ..nn.timestep import SpatialView, Snapshots, TimeStepJet, copy_frozen, fit_step, time_grid
from ..network_file import network_payload
from ..nn.metrics import open_sinks
from ..nn.trainer import show_progress
from ..problems import Problem
from ..solution import Solution
from .base import TrainedSolver, check_supported
from .registry import register

#: the paper's networks: "2 x 20" for 1D advection (901 weights) and "3 x 32" for 2D flow (3,330
#: weights for the velocity): a first sine layer plus that many hidden layers of that width
DEFAULT_WIDTHS = {1: [20, 20, 20], 2: [32, 32, 32, 32], 3: [32, 32, 32, 32]}
#: samples per iteration: the paper's 5,000 in 1D; 64^2 in 2D (the paper: 128^2)
DEFAULT_SAMPLES = {1: 5000, 2: 4096, 3: 8192}
THETA = {"explicit_euler": 0.0, "midpoint": 0.5, "implicit_euler": 1.0}


@dataclass
class INSRConfig(DeviceConfig):
    """Options of ``insr`` (``[solver.insr]``).

    Attributes
    ----------
    widths
        SIREN widths of the sine layers (default: ``[20, 20, 20]`` in 1D, ``[32, 32, 32, 32]`` in 2D:
        the paper's "2 x 20" and "3 x 32" networks, whose code counts the hidden layers after
        the first sine layer).
    omega
        SIREN ``omega_0`` (default: the paper's 30 for first-order problems such as advection;
        10 when the PDE has a diffusion term, whose second derivatives of a 30-frequency SIREN
        are dominated by high-frequency noise: one implicit-Euler heat step on a Fourier mode
        reached 4.5e-2 max error with 30 and 4,000 iterations, 1.8e-3 with 10 and 1,500, see
        docs/solvers/insr.md).
    integrator
        ``midpoint`` (default, the paper's advection scheme), ``implicit_euler`` or
        ``explicit_euler``.
    dt
        Time step (the paper: 0.05); shortened so that the steps end exactly at ``time.end``.
    iters
        Adam iterations per time step (a cap when ``stop = "plateau"``).
    ic_iters
        Iterations of the initial-condition fit.
    stop
        ``cap`` (run ``iters``) or ``plateau`` (the paper's rule, see the module docstring).
    lr
        Adam learning rate of every step (a fresh optimiser each step).
    n_samples
        Uniform-random interior samples per iteration (default 5,000 in 1D, 4,096 in 2D).
    boundary_fraction, w_bc
        Boundary samples as a fraction of ``n_samples`` (the paper: about 1%) and the weight
        of their mean square. Default for scalar PDEs ``1 / dt^2`` (the code: 1): the step
        residual is a rate, so this weighs the boundary misfit like a field misfit, which the
        heat equation needs (docs/solvers/insr.md); for euler 2, the code's weight 1 on the sum
        of the x-wall and y-wall means.
    keep_every
        Keep the weights of every k-th step (and the last) for the solution.
    center_output, output_scale
        The field is ``mean + output_scale * SIREN(x)``, ``mean`` (per component) the initial
        condition's mean over the domain (with ``center_output``, the default), so the SIREN
        learns the deviation from it. The paper's fields are centred already (advection
        Gaussian: mean 0.06, Taylor-Green 0.002); on ``sin x + 20`` a bare SIREN's initial fit
        reaches 4.5 of the 20 in 2,000 iterations at learning rate 1e-4 (docs/solvers/insr.md).
        ``output_scale`` (default 1): the size of the deviations, when far from 1.
    progress, checkpoint, resume
        Progress bar over time steps; a checkpoint written after every step; resume from it.
    metrics, tensorboard
        A JSON-lines file receiving every time step's record (its optimisation iterations,
        seconds and loss terms) and a TensorBoard folder (:mod:`sciml.nn.metrics`).
    """

    widths: list | None = None
    omega: float | None = None
    integrator: Literal["midpoint", "implicit_euler", "explicit_euler"] = "midpoint"
    dt: float = 0.05
    iters: int = 300
    ic_iters: int = 2000
    stop: Literal["cap", "plateau"] = "cap"
    lr: float = 1e-4
    n_samples: int | None = None
    boundary_fraction: float = 0.01
    w_bc: float | None = None
    keep_every: int = 1
    center_output: bool = True
    output_scale: float = 1.0
    progress: bool | None = None
    checkpoint: str | None = None
    resume: bool = False
    metrics: str | None = None
    tensorboard: str | None = None

    def __post_init__(self) -> None:
        if self.widths is not None and not valid_widths(self.widths):
            raise ProblemError(f"widths: expected a list of positive widths, got {self.widths!r}")
        for name in ("iters", "ic_iters", "keep_every"):
            if getattr(self, name) < 1:
                raise ProblemError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not (self.dt > 0 and self.lr > 0 and self.output_scale > 0) or (self.omega is not None and self.omega <= 0) \
                or (self.w_bc is not None and self.w_bc < 0):
            raise ProblemError("dt, lr, output_scale and omega must be positive, w_bc not negative")
        if self.n_samples is not None and self.n_samples < 1:
            raise ProblemError(f"n_samples must be >= 1, got {self.n_samples}")
        if not 0 < self.boundary_fraction <= 1:
            raise ProblemError(f"boundary_fraction must be in (0, 1], got {self.boundary_fraction}")
        if self.resume and not self.checkpoint:
            raise ProblemError("resume needs a checkpoint file")


def check_steppable(problem: Problem) -> None:
    """Refuse, before any fitting, what a time-stepped SIREN cannot advance: no space (an ODE),
    a second time derivative, or space derivatives above the second order its jet gives."""
    spec, pde = problem.pde.spec, problem.pde
    if problem.dim < 1:
        raise ProblemError("insr time-steps a field over space; this problem has no space dimension "
                           "(use pinn or pig)", problem.source, "pde.type")
    if spec.initial_rates(pde):
        raise ProblemError("insr advances equations of first order in time; this one has a second time "
                           "derivative: write it as a first-order system (u_t = v, v_t = ...) or use pinn or pig",
                           problem.source, "pde")
    if spec.order(pde) > 2:
        raise ProblemError(f"insr's SIREN gives derivatives up to second order; this residual has order "
                           f"{spec.order(pde)} (use pinn)", problem.source, "pde")


def initial_mean(problem: Problem, n: int = 4096, seed: int = 0) -> list[float]:
    """Mean of every field's initial condition at ``n`` uniform points of the domain's bounding
    box."""
    lo, hi = (np.asarray(b, dtype=float) for b in problem.domain.bounds)
    x = lo + (hi - lo) * np.random.default_rng(seed).random((n, problem.dim))
    return [float(np.mean(np.broadcast_to(problem.initial[f](x), (n,)))) for f in problem.fields]


class Stepper:
    """What both steppers share: the sampler, the kept field ``net``, the initial fit and
    checkpoint state. Subclasses implement :meth:`advance`."""

    def __init__(self, problem: Problem, net: Field, cfg: INSRConfig):
        self.problem, self.net, self.cfg = problem, net, cfg
        self.dim = problem.dim
        n = cfg.n_samples or DEFAULT_SAMPLES[self.dim]
        n_bc = max(2, math.ceil(cfg.boundary_fraction * n))
        self.sampler = PointSampler(problem, n, n_bc, 1, "random", cfg.sample_seed())
        param = next(net.parameters())
        self.loss = PhysicsLoss(problem, LossWeights(), param.dtype, param.device)

    def fit(self, net: nn.Module, closure: Any, main: str, where: str, iters: int | None = None
            ) -> tuple[int, dict[str, float]]:
        return fit_step(net, closure, iters or self.cfg.iters, self.cfg.lr, self.cfg.stop == "plateau",
                        main, where)

    def initial_loss(self) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        p = self.problem
        space = self.sampler.sample().interior[:, : self.dim]
        target = self.loss.tensor(np.stack([p.initial[f](space) for f in p.fields], axis=1))
        ic = (self.net(self.loss.tensor(space)) - target).pow(2).mean()
        return ic, {"ic": ic}

    def fit_initial(self) -> tuple[int, dict[str, float]]:
        return self.fit(self.net, self.initial_loss, "ic", "the initial fit", self.cfg.ic_iters)

    def advance(self, t0: float, dt: float) -> tuple[int, dict[str, float]]:  # pragma: no cover
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        return {"net": self.net.state_dict(), "sampler": self.sampler.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.net.load_state_dict(state["net"])
        self.sampler.load_state_dict(state["sampler"])


class ScalarStepper(Stepper):
    """Theta-scheme steps of ``u_t + S(u) = 0`` (see the module docstring)."""

    def __init__(self, problem: Problem, net: Field, cfg: INSRConfig):
        super().__init__(problem, net, cfg)
        self.view = SpatialView(net, self.dim)
        self.theta = THETA[cfg.integrator]
        self.prev: nn.Module = copy_frozen(net)

    def _points(self, t_res: float, t_bc: float) -> PointSet:
        pts = self.sampler.sample()
        pts.interior[:, -1] = t_res
        for g in pts.boundary:
            g.points[:, -1] = t_bc
        for pair in pts.periodic:
            pair.lo[:, -1] = t_bc
            pair.hi[:, -1] = t_bc
        return pts

    def step_loss(self, t0: float, dt: float) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The mean-square step residual at fresh samples plus the weighted boundary misfit."""
        batch = self.loss.prepare(self._points(t0 + self.theta * dt, t0 + dt))
        x = batch.interior[:, : self.dim]
        order = self.loss.order
        pairs = [p for p in self.loss.pairs if max(p) < self.dim]  # the field is a function of space
        new = self.net.jet(x, order if self.theta > 0 else 0, pairs)
        with torch.no_grad():
            old = self.prev.jet(x, order, pairs)
        jet = TimeStepJet(new, old, self.theta, dt, self.dim)
        res = self.loss.residual(jet, batch.interior, batch.coef).pow(2).mean()
        terms = {"res": res}
        total = res
        bc = self.loss.boundary_term(self.view, batch)
        if bc is not None:
            terms["bc"] = bc
            total = total + (self.cfg.w_bc if self.cfg.w_bc is not None else dt ** -2) * bc
        return total, terms

    def advance(self, t0: float, dt: float) -> tuple[int, dict[str, float]]:
        """One time step from ``t0``: the current weights become ``u_n`` and the warm start."""
        self.prev.load_state_dict(self.net.state_dict())
        return self.fit(self.net, lambda: self.step_loss(t0, dt), "res", f"t = {t0 + dt:.6g}")


class FlowStepper(Stepper):
    """Chorin splitting of incompressible Euler with a velocity and a pressure SIREN (see the
    module docstring); walls are every boundary (``slip``)."""

    def __init__(self, problem: Problem, net: Field, pressure: Field, cfg: INSRConfig):
        super().__init__(problem, net, cfg)
        self.pressure = pressure
        self.prev: nn.Module = copy_frozen(net)
        self.adv: nn.Module = copy_frozen(net)
        lo, hi = problem.domain.bounds
        self.lo, self.hi = self.loss.tensor(lo), self.loss.tensor(hi)
        # the code sums the wall means over the x- and the y-walls with weight 1: twice the mean
        # over all walls for a square
        self.w_bc = cfg.w_bc if cfg.w_bc is not None else 2.0

    def _draw(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        pts = self.sampler.sample()
        wall = np.concatenate([g.points[:, : self.dim] for g in pts.boundary])
        normals = np.concatenate([g.normals for g in pts.boundary])
        return (self.loss.tensor(pts.interior[:, : self.dim]), self.loss.tensor(wall), self.loss.tensor(normals))

    def _normal_flow(self, xb: torch.Tensor, nb: torch.Tensor) -> torch.Tensor:
        return (self.net(xb) * nb).sum(1).pow(2).mean()

    def advection_loss(self, dt: float) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        x, xb, nb = self._draw()
        with torch.no_grad():
            foot = torch.maximum(torch.minimum(x - dt * self.prev(x), self.hi), self.lo)
            target = self.prev(foot)
        fit = (self.net(x) - target).pow(2).mean()
        wall = self._normal_flow(xb, nb)
        return fit + self.w_bc * wall, {"adv": fit, "wall": wall}

    def pressure_loss(self) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        x, xb, nb = self._draw()
        with torch.no_grad():
            u = self.adv.jet(x, 1)
            div = u.d(0)[:, 0] + u.d(1)[:, 1]
        lap = self.pressure.jet(x, 2, ((0, 0), (1, 1))).laplacian(range(self.dim))[:, 0]
        poisson = (lap - div).pow(2).mean()
        dpdn = (self.pressure.jet(xb, 1).grad(range(self.dim))[:, 0] * nb).sum(1).pow(2).mean()
        return poisson + self.w_bc * dpdn, {"poisson": poisson, "dpdn": dpdn}

    def projection_loss(self) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        x, xb, nb = self._draw()
        with torch.no_grad():
            target = self.adv(x) - self.pressure.jet(x, 1).grad(range(self.dim))[:, 0]
        fit = (self.net(x) - target).pow(2).mean()
        wall = self._normal_flow(xb, nb)
        return fit + self.w_bc * wall, {"proj": fit, "wall": wall}

    def divergence_rms(self) -> float:
        """Root mean square of ``div u`` at a fresh draw."""
        x, _, _ = self._draw()
        with torch.no_grad():
            u = self.net.jet(x, 1)
            return float((u.d(0)[:, 0] + u.d(1)[:, 1]).pow(2).mean().sqrt())

    def advance(self, t0: float, dt: float) -> tuple[int, dict[str, float]]:
        where = f"t = {t0 + dt:.6g}"
        self.prev.load_state_dict(self.net.state_dict())
        n1, adv = self.fit(self.net, lambda: self.advection_loss(dt), "adv", f"the advection fit at {where}")
        self.adv.load_state_dict(self.net.state_dict())
        n2, pres = self.fit(self.pressure, self.pressure_loss, "poisson", f"the pressure fit at {where}")
        n3, proj = self.fit(self.net, self.projection_loss, "proj", f"the projection fit at {where}")
        terms = {"res": proj["proj"], "adv": adv["adv"], "poisson": pres["poisson"], "dpdn": pres["dpdn"],
                 "wall": proj["wall"], "div_rms": self.divergence_rms()}
        return n1 + n2 + n3, terms

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "pressure": self.pressure.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.pressure.load_state_dict(state["pressure"])


def _field(problem: Problem, cfg: INSRConfig) -> tuple[Field, str]:
    """The SIREN field of ``problem`` (centred and scaled as ``cfg`` asks), placed, and its
    description."""
    lo, hi = problem.domain.bounds
    widths = cfg.widths or DEFAULT_WIDTHS[problem.dim]
    omega = cfg.omega or (10.0 if problem.pde.spec.diffusive(problem.pde, problem.dim) else 30.0)
    net: Field = Siren(lo, hi, len(problem.fields), widths, omega)
    arch = f"SIREN {[problem.dim, *widths, len(problem.fields)]}, omega_0 = {omega:g}"
    if cfg.center_output or cfg.output_scale != 1.0:
        mean = initial_mean(problem) if cfg.center_output else None
        net = Scaled(net, cfg.output_scale, mean)
        arch += f", output {', '.join(f'{m:.3g}' for m in mean or [0])} + {cfg.output_scale:g} x SIREN"
    return place(net, cfg), arch


@register
class INSRSolver(TrainedSolver):
    """Implicit neural spatial representation time-stepping (Chen et al., ICML 2023);
    ``callback(step, net)`` is called after every time step with the field (the velocity for
    euler) at ``t_step``."""

    name: ClassVar[str] = "insr"
    needs: ClassVar[frozenset[str]] = frozenset({"transient", "residual", "space"})
    description: ClassVar[str] = "neural field whose weights are time-stepped by optimisation (Chen et al. 2023)"
    config_class: ClassVar[type] = INSRConfig

    def solve(self, problem: Problem) -> Solution:
        check_supported(self, problem)
        if not problem.transient:
            raise ProblemError("insr solves time-dependent problems: add a [time] section",
                               problem.source, "time")
        check_steppable(problem)
        cfg = self.config(problem)
        lo, hi = problem.domain.bounds
        widths = cfg.widths or DEFAULT_WIDTHS[problem.dim]
        net, arch = _field(problem, cfg)
        if "incompressible" in problem.pde.spec.traits:  # velocity and pressure: Chorin splitting
            p_omega = cfg.omega or 10.0
            pressure = place(Siren(lo, hi, 1, widths, p_omega), cfg)
            with torch.no_grad():  # p = 0 until fitted: the first projection subtracts no noise
                pressure.mlp.linears[-1].weight.zero_()
                pressure.mlp.linears[-1].bias.zero_()
            stepper: Stepper = FlowStepper(problem, net, pressure, cfg)
            arch += f"; pressure SIREN {[problem.dim, *widths, 1]}, omega_0 = {p_omega:g}"
        else:
            stepper = ScalarStepper(problem, net, cfg)
        try:
            n_steps, dt = time_grid(problem.time.start, problem.time.end, cfg.dt)
        except ProblemError as exc:
            raise exc.located(problem.source, "solver.insr.dt") from None
        snaps = Snapshots(net, problem.dim, len(problem.fields))
        history: list[dict[str, Any]] = []
        first = self._resume(cfg, stepper, snaps, history, n_steps, dt)
        sinks = open_sinks(cfg.metrics, cfg.tensorboard, keep_below=first if cfg.resume else None)

        def record(entry: dict[str, Any]) -> None:
            history.append(entry)
            for sink in sinks:
                sink.write(entry)

        bar = None
        if show_progress(cfg.progress):
            from tqdm import tqdm

            bar = tqdm(total=n_steps, initial=max(first - 1, 0), desc="insr steps", leave=False,
                       dynamic_ncols=True)
        try:
            if first == 0:
                start = time.perf_counter()
                its, terms = stepper.fit_initial()
                record({"step": 0, "t": problem.time.start, "iters": its, "s": time.perf_counter() - start, **terms})
                snaps.keep(problem.time.start)
                self._checkpoint(cfg, stepper, snaps, history, 0, dt)
                first = 1
            for n in range(first, n_steps + 1):
                t0 = problem.time.start + (n - 1) * dt
                start = time.perf_counter()
                its, terms = stepper.advance(t0, dt)
                record({"step": n, "t": t0 + dt, "iters": its, "s": time.perf_counter() - start, **terms})
                if n % cfg.keep_every == 0 or n == n_steps:
                    snaps.keep(t0 + dt)
                self._checkpoint(cfg, stepper, snaps, history, n, dt)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(t=f"{t0 + dt:.3g}", res=f"{terms['res']:.2e}")
                if self.callback is not None:
                    self.callback(n, net)
        finally:
            if bar is not None:
                bar.close()
            for sink in sinks:
                sink.close()
        step_s = [h["s"] for h in history[1:]]
        info = {"dtype": cfg.dtype, "device": cfg.device, "integrator": cfg.integrator, "dt": dt,
                "n_steps": n_steps, "architecture": arch,
                "n_samples": stepper.sampler.n_interior, "iters_per_step": cfg.iters, "stop": cfg.stop,
                "ic_fit_s": history[0]["s"], "mean_step_s": float(np.mean(step_s)) if step_s else 0.0,
                "train_s": float(sum(h["s"] for h in history)), "kept_steps": len(snaps.times),
                "history": history if len(history) <= 400 else history[:: math.ceil(len(history) / 400)]}
        times = np.asarray(snaps.times)
        if len(times) > 101:
            times = times[np.unique(np.linspace(0, len(times) - 1, 101).round().astype(int))]
        sol = network_solution(problem, net, self.name, info, evaluate=snaps, times=times)
        sol.network = network_payload(self.name, problem, cfg, snaps.state_dict())
        return sol

    @classmethod
    def restore(cls, problem: Problem, cfg: INSRConfig, state: dict[str, Any]) -> Callable[[np.ndarray], np.ndarray]:
        """The evaluator of saved snapshots (:mod:`sciml.network_file`): the field network
        rebuilt for ``problem`` and ``cfg``, its weights at every kept time."""
        net, _ = _field(problem, cfg)
        snaps = Snapshots(net, problem.dim, len(problem.fields))
        snaps.load_state_dict(state)
        return snaps

    # -- checkpoints -----------------------------------------------------------------------------
    @staticmethod
    def _checkpoint(cfg: INSRConfig, stepper: Stepper, snaps: Snapshots,
                    history: list[dict[str, Any]], step: int, dt: float) -> None:
        if not cfg.checkpoint:
            return
        state = {"step": step, "dt": dt, "stepper": stepper.state_dict(), "snapshots": snaps.state_dict(),
                 "history": history}
        atomic_write(cfg.checkpoint, lambda tmp: torch.save(state, tmp))

    @staticmethod
    def _resume(cfg: INSRConfig, stepper: Stepper, snaps: Snapshots,
                history: list[dict[str, Any]], n_steps: int, dt: float) -> int:
        """Load the checkpoint when resuming; returns the first time step still to run."""
        if not cfg.resume:
            return 0
        state = load_file(cfg.checkpoint, "checkpoint (to resume from)")
        try:
            stepper.load_state_dict(state["stepper"])
        except (RuntimeError, KeyError, ValueError, TypeError) as exc:
            raise ProblemError(f"cannot resume from {cfg.checkpoint}: {exc}") from None
        if abs(state["dt"] - dt) > 1e-12 * dt or state["step"] > n_steps:
            raise ProblemError(f"cannot resume from {cfg.checkpoint}: it was written with dt = {state['dt']:g} "
                               f"and {state['step']} steps, this run has dt = {dt:g} and {n_steps} steps")
        snaps.load_state_dict(state["snapshots"])
        history.extend(state["history"])
        return state["step"] + 1
