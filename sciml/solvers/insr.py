"""``insr``: implicit neural spatial representations time-stepped by optimisation.

Chen, Wu, Grinspun, Zheng & Chen, "Implicit Neural Spatial Representations for Time-dependent
PDEs" (ICML 2023). The field at time ``t_n`` is a SIREN ``u(x; theta_n)`` (Sitzmann et al.
2020, ``omega_0 = 30``). A classical integrator stays; each time step is an optimisation of
the weights, warm-started from ``theta_n``, so that the new field satisfies the time-discrete
equation at fresh uniform-random samples drawn every iteration, plus a boundary penalty:

* explicit Euler: ``(u - u_n)/dt + S(u_n; t_n) = 0``
* implicit Euler: ``(u - u_n)/dt + S(u; t_n+1) = 0``
* midpoint:       ``(u - u_n)/dt + S((u + u_n)/2; t_n+1/2) = 0`` (for the linear advection of
  the paper's code this is its ``(u - u_n)/dt + a (u_x + u_n,x)/2``)

where ``u_t + S(u) = 0`` is the problem's PDE (:mod:`sciml.nn.physics` gives ``S`` for every
PDE type: the residual read from a jet whose time derivative is the difference quotient).
The initial condition is fitted by least squares with the same loop. Every step starts a fresh
Adam (learning rate 1e-4) and stops at an iteration cap, or, with ``stop = "plateau"``, by the
paper's rule (learning rate divided by 10 after 500 iterations without improvement, stop when
it falls below 1.1e-8, at most ``iters`` iterations). The weights of every ``keep_every``-th
step are kept, and the :class:`~sciml.solution.Solution` answers at any ``(x, t)`` by linear
interpolation in time between the kept fields.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar, Literal, Sequence

import numpy as np
import torch
from torch import nn
from torch.func import functional_call

from ..errors import ProblemError
from ..io import atomic_write
from ..nn.collocation import PointSampler, PointSet
from ..nn.fit import DeviceConfig, network_solution, place
from ..nn.jet import Field, Jet
from ..nn.layers import valid_widths
from ..nn.physics import LossWeights, PhysicsLoss
from ..nn.siren import Siren
from ..nn.trainer import TrainingDiverged, show_progress
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
        of their mean square (default ``1 / dt^2``: the step residual is a rate, so this weighs
        the boundary misfit like a field misfit, as in the paper's fluid steps, whose residuals
        are field differences and whose boundary weight is 1).
    keep_every
        Keep the weights of every k-th step (and the last) for the solution.
    progress, checkpoint, resume
        Progress bar over time steps; a checkpoint written after every step; resume from it.
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
    progress: bool | None = None
    checkpoint: str | None = None
    resume: bool = False

    def __post_init__(self) -> None:
        if self.widths is not None and not valid_widths(self.widths):
            raise ProblemError(f"widths: expected a list of positive widths, got {self.widths!r}")
        for name in ("iters", "ic_iters", "keep_every"):
            if getattr(self, name) < 1:
                raise ProblemError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not (self.dt > 0 and self.lr > 0) or (self.omega is not None and self.omega <= 0) \
                or (self.w_bc is not None and self.w_bc < 0):
            raise ProblemError("dt, lr and omega must be positive, w_bc not negative")
        if self.n_samples is not None and self.n_samples < 1:
            raise ProblemError(f"n_samples must be >= 1, got {self.n_samples}")
        if not 0 < self.boundary_fraction <= 1:
            raise ProblemError(f"boundary_fraction must be in (0, 1], got {self.boundary_fraction}")
        if self.resume and not self.checkpoint:
            raise ProblemError("resume needs a checkpoint file")


class TimeStepJet(Jet):
    """The jet a time-discrete residual reads: value and space derivatives of
    ``theta u + (1 - theta) u_n`` and, in the time column, ``(u - u_n) / dt``."""

    def __init__(self, new: Jet, old: Jet, theta: float, dt: float, tcol: int):
        self.new, self.old, self.theta, self.tcol = new, old, theta, tcol
        self.rate = (new.value - old.value) / dt
        self.value = self._blend(new.value, old.value)

    def _blend(self, a: torch.Tensor | Callable[[], torch.Tensor], b: torch.Tensor) -> torch.Tensor:
        if self.theta == 0.0:
            return b
        a = a() if callable(a) else a
        return b + self.theta * (a - b)

    def d(self, i: int) -> torch.Tensor:
        if i == self.tcol:
            return self.rate
        return self._blend(lambda: self.new.d(i), self.old.d(i))

    def dd(self, i: int, j: int) -> torch.Tensor:
        return self._blend(lambda: self.new.dd(i, j), self.old.dd(i, j))


class SpatialView(Field):
    """A space-only field read at space-time points (the time column ignored)."""

    def __init__(self, field: Field, dim: int):
        super().__init__()
        self.field, self.dim = field, dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.field(x[:, : self.dim])

    def jet(self, x: torch.Tensor, order: int = 2, pairs: Sequence[tuple[int, int]] = ()) -> Jet:
        return self.field.jet(x[:, : self.dim], order, pairs)


class TimeStepper:
    """One INSR run: the initial fit and the time steps of a scalar/vector PDE
    ``u_t + S(u) = 0`` (see the module docstring)."""

    def __init__(self, problem: Problem, net: Field, cfg: INSRConfig):
        self.problem, self.net, self.cfg = problem, net, cfg
        self.dim = problem.dim
        n = cfg.n_samples or DEFAULT_SAMPLES[self.dim]
        n_bc = max(2, math.ceil(cfg.boundary_fraction * n))
        self.sampler = PointSampler(problem, n, n_bc, 1, "random", cfg.sample_seed())
        param = next(net.parameters())
        self.loss = PhysicsLoss(problem, LossWeights(), param.dtype, param.device)
        self.view = SpatialView(net, self.dim)
        self.theta = THETA[cfg.integrator]
        self.order = self.loss.order
        self.pairs = self.loss.pairs
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

    def initial_loss(self) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        p = self.problem
        pts = self.sampler.sample()
        space = pts.interior[:, : self.dim]
        target = self.loss.tensor(np.stack([p.initial[f](space) for f in p.fields], axis=1))
        ic = (self.net(self.loss.tensor(space)) - target).pow(2).mean()
        return ic, {"ic": ic}

    def step_loss(self, t0: float, dt: float) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The mean-square step residual at fresh samples plus the weighted boundary misfit."""
        batch = self.loss.prepare(self._points(t0 + self.theta * dt, t0 + dt))
        x = batch.interior[:, : self.dim]
        new = self.net.jet(x, self.order if self.theta > 0 else 0, self.pairs)
        with torch.no_grad():
            old = self.prev.jet(x, self.order, self.pairs)
        jet = TimeStepJet(new, old, self.theta, dt, self.dim)
        res = self.loss.residual(jet, batch.interior, batch.coef).pow(2).mean()
        terms = {"res": res}
        total = res
        bc = self.loss.boundary_term(self.view, batch)
        if bc is not None:
            terms["bc"] = bc
            total = total + (self.cfg.w_bc if self.cfg.w_bc is not None else dt ** -2) * bc
        return total, terms

    def optimise(self, closure: Callable[[], tuple[torch.Tensor, dict[str, torch.Tensor]]], iters: int,
                 main: str, where: str) -> tuple[int, dict[str, float]]:
        """A fresh Adam on the network's weights; returns the iterations run and the last terms."""
        cfg = self.cfg
        opt = torch.optim.Adam(self.net.parameters(), lr=cfg.lr)
        plateau = (torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.1, patience=500, min_lr=1e-8)
                   if cfg.stop == "plateau" else None)
        terms: dict[str, torch.Tensor] = {}
        for it in range(iters):
            opt.zero_grad(set_to_none=True)
            total, terms = closure()
            if not torch.isfinite(total):
                raise TrainingDiverged(f"insr: the loss became {float(total)} at {where}, iteration {it}; "
                                       "try a smaller dt or lr")
            total.backward()
            opt.step()
            if plateau is not None:
                plateau.step(float(terms[main]))
                if opt.param_groups[0]["lr"] <= 1.1e-8:
                    break
        return it + 1, {k: float(v.detach()) for k, v in terms.items()}

    def advance(self, t0: float, dt: float) -> tuple[int, dict[str, float]]:
        """One time step from ``t0``: the current weights become ``u_n`` and the warm start."""
        self.prev.load_state_dict(self.net.state_dict())
        return self.optimise(lambda: self.step_loss(t0, dt), self.cfg.iters, "res", f"t = {t0 + dt:.6g}")


def copy_frozen(net: nn.Module) -> nn.Module:
    """A copy of ``net`` whose parameters do not require gradients."""
    twin = copy.deepcopy(net)
    for p in twin.parameters():
        p.requires_grad_(False)
    return twin


def has_diffusion(problem: Problem) -> bool:
    """Whether the PDE has a second-order term (a diffusivity not identically zero)."""
    expr = problem.pde.coefs.get("eps" if problem.pde.type == "convection_diffusion" else "nu")
    if expr is None:
        return False
    if not expr.is_constant:
        return True
    return float(np.ravel(expr(np.zeros((1, max(problem.dim, 1))), 0.0))[0]) != 0.0


def time_grid(start: float, end: float, dt: float) -> tuple[int, float]:
    """Number of steps and the step that ends exactly at ``end`` (``dt`` shortened if needed)."""
    n = max(1, math.ceil((end - start) / dt - 1e-9))
    return n, (end - start) / n


class Snapshots:
    """Kept weights ``(t_k, state_k)`` and the field at any ``(x, t)``, linear in time between
    kept steps (constant outside them)."""

    def __init__(self, net: nn.Module, dim: int, n_out: int):
        self.net, self.dim, self.n_out = net, dim, n_out
        self.times: list[float] = []
        self.states: list[dict[str, torch.Tensor]] = []

    def keep(self, t: float) -> None:
        self.times.append(float(t))
        self.states.append({k: v.detach().clone() for k, v in self.net.state_dict().items()})

    def _field(self, k: int, x: torch.Tensor) -> np.ndarray:
        with torch.no_grad():
            y = functional_call(self.net, self.states[k], (x,))
        return y.double().cpu().numpy()

    def __call__(self, points: np.ndarray) -> np.ndarray:
        param = next(self.net.parameters())
        times = np.asarray(self.times)
        t = points[:, self.dim]
        k = np.clip(np.searchsorted(times, t, side="right") - 1, 0, max(len(times) - 2, 0))
        out = np.zeros((len(points), self.n_out))
        order = np.argsort(k, kind="stable")
        ks, starts = np.unique(k[order], return_index=True)
        for kk, idx in zip(ks, np.split(order, starts[1:])):
            x = torch.as_tensor(points[idx, : self.dim], dtype=param.dtype, device=param.device)
            a = self._field(kk, x)
            if len(times) == 1:
                out[idx] = a
                continue
            w = np.clip((t[idx] - times[kk]) / (times[kk + 1] - times[kk]), 0.0, 1.0)[:, None]
            out[idx] = (1 - w) * a + w * self._field(kk + 1, x)
        return out

    def state_dict(self) -> dict[str, Any]:
        return {"times": self.times, "states": self.states}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.times, self.states = list(state["times"]), list(state["states"])


@register
class INSRSolver(TrainedSolver):
    """Implicit neural spatial representation time-stepping (Chen et al., ICML 2023);
    ``callback(step, net)`` is called after every time step with the field at ``t_step``."""

    name: ClassVar[str] = "insr"
    supports: ClassVar[frozenset[str]] = frozenset({"convection_diffusion", "burgers"})
    description: ClassVar[str] = "neural field whose weights are time-stepped by optimisation (Chen et al. 2023)"
    config_class: ClassVar[type] = INSRConfig

    def solve(self, problem: Problem) -> Solution:
        check_supported(self, problem)
        if not problem.transient:
            raise ProblemError("insr solves time-dependent problems: add a [time] section",
                               problem.source, "time")
        cfg = self.config(problem)
        lo, hi = problem.domain.bounds
        widths = cfg.widths or DEFAULT_WIDTHS[problem.dim]
        omega = cfg.omega or (10.0 if has_diffusion(problem) else 30.0)
        net = place(Siren(lo, hi, len(problem.fields), widths, omega), cfg)
        stepper = TimeStepper(problem, net, cfg)
        n_steps, dt = time_grid(problem.time.start, problem.time.end, cfg.dt)
        snaps = Snapshots(net, problem.dim, len(problem.fields))
        history: list[dict[str, Any]] = []
        first = self._resume(cfg, net, stepper, snaps, history, n_steps, dt)
        bar = None
        if show_progress(cfg.progress):
            from tqdm import tqdm

            bar = tqdm(total=n_steps, initial=max(first - 1, 0), desc="insr steps", leave=False,
                       dynamic_ncols=True)
        try:
            if first == 0:
                start = time.perf_counter()
                its, terms = stepper.optimise(stepper.initial_loss, cfg.ic_iters, "ic", "the initial fit")
                history.append({"step": 0, "t": problem.time.start, "iters": its, "s": time.perf_counter() - start,
                                **terms})
                snaps.keep(problem.time.start)
                self._checkpoint(cfg, net, stepper, snaps, history, 0, dt)
                first = 1
            for n in range(first, n_steps + 1):
                t0 = problem.time.start + (n - 1) * dt
                start = time.perf_counter()
                its, terms = stepper.advance(t0, dt)
                history.append({"step": n, "t": t0 + dt, "iters": its, "s": time.perf_counter() - start, **terms})
                if n % cfg.keep_every == 0 or n == n_steps:
                    snaps.keep(t0 + dt)
                self._checkpoint(cfg, net, stepper, snaps, history, n, dt)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(t=f"{t0 + dt:.3g}", res=f"{terms['res']:.2e}")
                if self.callback is not None:
                    self.callback(n, net)
        finally:
            if bar is not None:
                bar.close()
        step_s = [h["s"] for h in history[1:]]
        info = {"dtype": cfg.dtype, "device": cfg.device, "integrator": cfg.integrator, "dt": dt,
                "n_steps": n_steps, "architecture": f"SIREN {[problem.dim, *widths, len(problem.fields)]}, "
                                                    f"omega_0 = {omega:g}",
                "n_samples": stepper.sampler.n_interior, "iters_per_step": cfg.iters, "stop": cfg.stop,
                "ic_fit_s": history[0]["s"], "mean_step_s": float(np.mean(step_s)) if step_s else 0.0,
                "train_s": float(sum(h["s"] for h in history)), "kept_steps": len(snaps.times),
                "history": history if len(history) <= 400 else history[:: math.ceil(len(history) / 400)]}
        times = np.asarray(snaps.times)
        if len(times) > 101:
            times = times[np.unique(np.linspace(0, len(times) - 1, 101).round().astype(int))]
        return network_solution(problem, net, self.name, info, evaluate=snaps, times=times)

    # -- checkpoints -----------------------------------------------------------------------------
    @staticmethod
    def _checkpoint(cfg: INSRConfig, net: nn.Module, stepper: TimeStepper, snaps: Snapshots,
                    history: list[dict[str, Any]], step: int, dt: float) -> None:
        if not cfg.checkpoint:
            return
        state = {"step": step, "dt": dt, "net": net.state_dict(), "snapshots": snaps.state_dict(),
                 "history": history, "sampler": stepper.sampler.state_dict()}
        atomic_write(cfg.checkpoint, lambda tmp: torch.save(state, tmp))

    @staticmethod
    def _resume(cfg: INSRConfig, net: nn.Module, stepper: TimeStepper, snaps: Snapshots,
                history: list[dict[str, Any]], n_steps: int, dt: float) -> int:
        """Load the checkpoint when resuming; returns the first time step still to run."""
        if not cfg.resume:
            return 0
        if not Path(cfg.checkpoint).is_file():
            raise ProblemError(f"cannot resume: checkpoint {cfg.checkpoint} not found")
        try:
            state = torch.load(cfg.checkpoint, map_location="cpu", weights_only=True)
            net.load_state_dict(state["net"])
        except (RuntimeError, KeyError, ValueError) as exc:
            raise ProblemError(f"cannot resume from {cfg.checkpoint}: {exc}") from None
        if abs(state["dt"] - dt) > 1e-12 * dt or state["step"] > n_steps:
            raise ProblemError(f"cannot resume from {cfg.checkpoint}: it was written with dt = {state['dt']:g} "
                               f"and {state['step']} steps, this run has dt = {dt:g} and {n_steps} steps")
        snaps.load_state_dict(state["snapshots"])
        history.extend(state["history"])
        stepper.sampler.load_state_dict(state["sampler"])
        return state["step"] + 1
