"""``lpinn``: Lagrangian PINNs for convection-dominated 1D transport on periodic domains.

Mojgani, Balajewicz & Hassanzadeh, "Lagrangian PINNs: A causality-conforming solution to
failure modes of physics-informed neural networks", Comput. Methods Appl. Mech. Engrg. 404
(2023), arXiv:2205.02902. An Eulerian PINN fails on ``w_t + f w_x = nu w_xx`` as the transport
speed grows; written along the characteristics,

    X_t(xi, t) = f(X, t, w),   X(xi, 0) = xi,   D_t w(xi, t) = nu w_XX (+ sources),

it does not: the state ``w`` varies slowly along the characteristics however fast they move.
Two independent tanh MLPs on the periodic encoding ``(cos xi, sin xi, t)`` of the Lagrangian
label ``xi`` give the characteristic curves ``X`` and the state ``w``. The loss is the paper's
sum of norms ``10 ||r_X|| + ||r_w|| + 1000 (||X(., 0) - xi|| + ||w(., 0) - u0||)`` on the label-
time grid, minimised by Adam then L-BFGS. All derivatives come from forward-mode jets
(:func:`sciml.nn.jet.mlp_jet`), so training needs first-order autograd only.

Deliberate departures from the released code (docs/solvers/lpinn.md): the two branches are
independent (the code shares layers between them), ``X = xi + t (s0 + NN)`` satisfies
``X(xi, 0) = xi`` exactly by default (the code's soft condition cannot represent the sawtooth
``xi`` with a periodic encoding), the known mean speed ``s0`` and mean state enter as output
offsets, and the labels exclude the duplicated end point ``2 pi``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Literal

import numpy as np
import torch
from torch import nn

from ..errors import ProblemError
from ..network_file import network_payload
from ..nn import distributed
from ..nn.fit import DTYPES, RunConfig, network_solution, place
from ..nn.inverse import InverseSetup
from ..nn.jet import ExplicitJet, mlp_jet
from ..nn.layers import MLP, PeriodicEncoding, valid_widths
from ..pdes.base import TransportForm
from ..nn.trainer import Trainer
from ..problems import Problem
from ..problems.inverse import inverse_spec
from ..solution import Solution
from .base import TrainedSolver, check_supported
from .registry import register


@dataclass
class LPINNConfig(RunConfig):
    """Options of ``lpinn`` (``[solver.lpinn]``); training options from
    :class:`~sciml.nn.fit.RunConfig`.

    Attributes
    ----------
    state_hidden, char_hidden
        Hidden widths of the state branch ``w`` and the characteristics branch ``X`` (the
        released code: five and two tanh layers of 50).
    characteristics
        ``displacement``: ``X = xi + t (s0 + NN)``, the initial condition holds exactly;
        ``soft``: ``X = xi + s0 t + NN`` with the initial condition as a penalty (the paper).
    diffusion
        ``label``: ``w_xi xi`` (the released code; exact while ``X_xi = 1``, i.e. for
        linear convection) or ``chain``: ``w_XX = (1/X_xi) d/dxi (w_xi / X_xi)`` (exact; needs
        ``X_xi`` kept above ``min_stretch`` where characteristics converge).
    offsets
        Add the mean initial speed ``s0`` and mean initial state to the branches' outputs so
        that the networks learn O(1) corrections.
    loss
        ``norm``: the paper's sum of Euclidean norms; ``mse``: mean squares.
    w_char, w_state, w_ic
        Weights of the characteristic residual, the state residual and the initial conditions.
    n_labels, n_times
        The label-time grid (the released code: 256 labels, 100 times).
    batch_size
        Grid points per step, drawn at random; a batch's residual norms are scaled by
        ``sqrt(grid size / batch_size)`` to estimate the norms over the whole grid, which keeps
        the paper's balance between the terms (0: the whole grid every step, as the paper).
    eval_labels
        Labels per time slice when mapping back to the Eulerian grid.
    unknown_lr
        Learning rate of the logarithm of each scalar ``[inverse]`` unknown (:mod:`sciml.nn.inverse`).
    noise_floor
        With ``[inverse] noise`` or ``known_noise``, fit the observations only down to the
        misfit their noise leaves, as ``pinn`` does (docs/inverse.md).

    The optimiser defaults are the released code's (Adam with AMSGrad, learning rate 0.01, then
    L-BFGS) with 2,000 Adam and 50 L-BFGS steps, about a minute on one CPU core.
    """

    unknown_lr: float = 1e-2
    noise_floor: bool = True
    state_hidden: list = field(default_factory=lambda: [50, 50, 50, 50, 50])
    char_hidden: list = field(default_factory=lambda: [50, 50])
    characteristics: Literal["displacement", "soft"] = "displacement"
    diffusion: Literal["label", "chain"] = "label"
    min_stretch: float = 1e-3
    offsets: bool = True
    loss: Literal["norm", "mse"] = "norm"
    w_char: float = 10.0
    w_state: float = 1.0
    w_ic: float = 1000.0
    n_labels: int = 256
    n_times: int = 100
    batch_size: int = 2048
    eval_labels: int = 2048
    adam_steps: int = 2000
    lr: float = 1e-2
    amsgrad: bool = True
    lbfgs_steps: int = 50

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("state_hidden", "char_hidden"):
            if not valid_widths(getattr(self, name)):
                raise ProblemError(f"{name}: expected a list of positive widths, got {getattr(self, name)!r}")
        for name in ("n_labels", "n_times", "eval_labels"):
            if getattr(self, name) < 2:
                raise ProblemError(f"{name} must be at least 2, got {getattr(self, name)}")
        if self.batch_size < 0 or self.min_stretch <= 0:
            raise ProblemError("batch_size must be >= 0 and min_stretch > 0")


class Transport:
    """``w_t + f(x, t, w) w_x = nu w_xx + g(x, t, w)`` read from a periodic 1D problem through
    its PDE type's :class:`~sciml.pdes.base.TransportForm` (``convection_diffusion``: ``f = b``,
    ``nu = eps``, ``g = f_src - c w``; ``burgers``: ``f = F'(w)`` for its flux ``F``, ``g = 0``).
    """

    def __init__(self, problem: Problem, unknowns: Any = None):
        self.problem, self.unknowns = problem, unknowns  # scalar unknowns of an inverse problem
        self.form = check_transport(problem)
        (a,), (b,) = problem.domain.bounds
        self.a, self.length = float(a), float(b - a)
        self.t0, self.duration = problem.time.start, problem.time.length

    def theta(self) -> dict[str, torch.Tensor]:
        """The current values of the scalar unknowns (none for a forward problem)."""
        return self.unknowns.scalar_values() if self.unknowns is not None else {}

    @property
    def nu(self) -> Any:
        """The diffusivity (a tensor with gradient when it is an unknown)."""
        theta = self.theta()
        if self.form.diffusivity.used & set(theta):
            return self.form.diffusivity.torch(**theta)
        return float(self.form.diffusivity.numpy())

    def wrap(self, x: Any) -> Any:
        """Positions mapped into the period ``[a, a + L)``."""
        if isinstance(x, torch.Tensor):
            return torch.remainder(x - self.a, self.length) + self.a
        return np.mod(x - self.a, self.length) + self.a

    def speed(self, X: torch.Tensor, t: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return self.form.speed(self.wrap(X), t, w, self.theta())

    def source(self, X: torch.Tensor, t: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return self.form.source(self.wrap(X), t, w, self.theta())

    def initial(self, xi: np.ndarray) -> np.ndarray:
        return self.problem.initial["u"](xi[:, None], self.t0)

    def offsets(self, n: int = 1024) -> tuple[float, float]:
        """Mean initial speed and mean initial state over the period."""
        xi = self.a + self.length * np.arange(n) / n
        u0 = self.initial(xi)
        s = self.speed(torch.as_tensor(xi), torch.full((n,), self.t0, dtype=torch.float64), torch.as_tensor(u0))
        return float(s.detach().mean()), float(u0.mean())


def check_transport(problem: Problem) -> TransportForm:
    """The problem's transport form, refused, saying why, where the Lagrangian formulation here
    does not cover it."""
    if problem.dim != 1 or not problem.transient:
        raise ProblemError("lpinn solves time-dependent problems in one space dimension",
                           problem.source, "domain")
    if not problem.boundaries or any(bc.type != "periodic" for bc in problem.boundaries):
        raise ProblemError("lpinn needs a periodic domain (every [[boundary]] of type 'periodic'): "
                           "Lagrangian labels of a bounded interval leave through outflow boundaries "
                           "and inflow boundaries need new labels, which this formulation does not "
                           "provide", problem.source, "boundary")
    form = problem.pde.spec.transport_form(problem)
    if form is None:
        raise ProblemError(f"{problem.pde.type} problems have no transport form along characteristics",
                           problem.source, "pde.type")
    if form.reaction is not None:
        raise ProblemError("lpinn does not take a nonlinear reaction r(u)", problem.source, "pde.r")
    if form.diffusivity.free:
        raise ProblemError(f"lpinn needs a constant diffusivity {problem.pde.spec.flux_coef or ''}".rstrip(),
                           problem.source, f"pde.{problem.pde.spec.flux_coef or 'type'}")
    return form


class LagrangianNet(nn.Module):
    """The characteristics branch ``X(xi, t)`` and the state branch ``w(xi, t)``.

    Parameters
    ----------
    encoding
        :class:`~sciml.nn.layers.PeriodicEncoding` of ``(xi, t)``.
    state_hidden, char_hidden
        Hidden widths of the two independent tanh MLPs (Glorot-normal initialisation).
    speed0, state0
        Output offsets: the mean transport speed and mean state.
    characteristics
        ``displacement`` or ``soft`` (see :class:`LPINNConfig`).
    """

    def __init__(self, encoding: PeriodicEncoding, state_hidden: list, char_hidden: list,
                 speed0: float = 0.0, state0: float = 0.0, characteristics: str = "displacement"):
        super().__init__()
        self.encoding = encoding
        self.state = MLP([3, *state_hidden, 1], "tanh", "glorot")
        self.char = MLP([3, *char_hidden, 1], "tanh", "glorot")
        self.speed0, self.state0, self.characteristics = float(speed0), float(state0), characteristics

    def forward(self, xi: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Positions ``X`` and states ``w`` ``(P,)`` of labels ``xi`` at times ``t``."""
        z = self.encoding(xi, t)
        tau = t - self.encoding.t0
        n = self.char(z)[:, 0]
        X = xi + (tau * (self.speed0 + n) if self.characteristics == "displacement" else tau * self.speed0 + n)
        return X, self.state0 + self.state(z)[:, 0]

    def jets(self, xi: torch.Tensor, t: torch.Tensor) -> dict[str, torch.Tensor]:
        """``X, X_xi, X_t, X_xixi, w, w_xi, w_t, w_xixi`` ``(P,)`` by forward-mode jets."""
        value, first, second = self.encoding.jet(xi, t)
        n = mlp_jet(self.char.linears, "tanh", 1.0, value, first, second)
        w = mlp_jet(self.state.linears, "tanh", 1.0, value, first, second)
        tau = t - self.encoding.t0
        n0, n_xi, n_t, n_xixi = _parts(n)
        out = {"w": self.state0 + w.value[:, 0]}
        out["w_xi"], out["w_t"], out["w_xixi"] = _parts(w)[1:]
        if self.characteristics == "displacement":
            out.update(X=xi + tau * (self.speed0 + n0), X_xi=1 + tau * n_xi,
                       X_t=self.speed0 + n0 + tau * n_t, X_xixi=tau * n_xixi)
        else:
            out.update(X=xi + tau * self.speed0 + n0, X_xi=1 + n_xi, X_t=self.speed0 + n_t, X_xixi=n_xixi)
        return out


def physical_wxx(w_xi: torch.Tensor, w_xixi: torch.Tensor, X_xi: torch.Tensor, X_xixi: torch.Tensor,
                 min_stretch: float = 1e-3) -> torch.Tensor:
    """``w_XX = (1/X_xi) d/dxi (w_xi / X_xi) = (w_xixi - w_xi X_xixi / X_xi) / X_xi^2``, the
    second derivative in the physical coordinate of a field given on labels, with the stretch
    ``X_xi`` clamped to at least ``min_stretch`` (converging characteristics)."""
    stretch = X_xi.clamp_min(min_stretch)
    return (w_xixi - w_xi * X_xixi / stretch) / stretch ** 2


def _parts(jet: ExplicitJet) -> tuple[torch.Tensor, ...]:
    return jet.value[:, 0], jet.d(0)[:, 0], jet.d(1)[:, 0], jet.dd(0, 0)[:, 0]


class LagrangianObjective(nn.Module):
    """``forward(step) -> (total, terms)``: the LPINN loss on the label-time grid (or a random
    batch of it), the :class:`~sciml.nn.trainer.Trainer`'s objective contract."""

    def __init__(self, net: LagrangianNet, transport: Transport, cfg: LPINNConfig,
                 inverse: InverseSetup | None = None):
        super().__init__()
        self.net, self.transport, self.cfg, self.inverse = net, transport, cfg, inverse
        param = next(net.parameters())
        kw = dict(dtype=param.dtype, device=param.device)
        self.unknowns = inverse.unknowns if inverse is not None else None  # trained beside the branches
        self.observed = None if inverse is None else tuple(
            torch.as_tensor(a, **kw) for a in (inverse.points[:, 0], inverse.points[:, 1], inverse.values[:, 0]))
        # observations are values of w like the initial data: they weigh like them (times [inverse] weight)
        self.data_weight = cfg.w_ic * inverse.spec.weight if inverse is not None else 0.0
        # the discrepancy principle: the misfit the noise alone leaves is not fitted (in the loss's measure)
        noise = inverse.spec.data_noise if inverse is not None and cfg.noise_floor else 0.0
        d = self.observed[2] if self.observed is not None else None
        self.data_floor = 0.0 if d is None or not noise else float(
            noise * torch.linalg.vector_norm(d) if cfg.loss == "norm" else noise**2 * d.pow(2).mean())
        tr = transport
        xi = tr.a + tr.length * np.arange(cfg.n_labels) / cfg.n_labels
        times = np.linspace(tr.t0, tr.t0 + tr.duration, cfg.n_times)
        grid_xi, grid_t = np.meshgrid(xi, times, indexing="ij")
        self.xi_grid = torch.as_tensor(grid_xi.ravel(), **kw)
        self.t_grid = torch.as_tensor(grid_t.ravel(), **kw)
        self.xi0 = torch.as_tensor(xi, **kw)
        self.t_start = torch.full_like(self.xi0, tr.t0)
        self.u0 = torch.as_tensor(tr.initial(xi), **kw)
        self.seed = cfg.sample_seed()

    def _batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor, float]:
        """Points of the step and the factor that turns their residual norm into an estimate of
        the norm over the grid."""
        n = len(self.xi_grid)
        if not self.cfg.batch_size or self.cfg.batch_size >= n:
            return self.xi_grid, self.t_grid, 1.0
        gen = torch.Generator().manual_seed(self.seed + step)  # a pure function of the step: exact resume
        idx = torch.randperm(n, generator=gen)[: self.cfg.batch_size].to(self.xi_grid.device)
        return self.xi_grid[idx], self.t_grid[idx], (n / self.cfg.batch_size) ** 0.5

    def residuals(self, xi: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The characteristic residual ``X_t - f`` and the state residual ``w_t - nu w_XX - g``."""
        j, tr = self.net.jets(xi, t), self.transport
        r_char = j["X_t"] - tr.speed(j["X"], t, j["w"])
        if self.cfg.diffusion == "chain":
            diffusion = physical_wxx(j["w_xi"], j["w_xixi"], j["X_xi"], j["X_xixi"], self.cfg.min_stretch)
        else:
            diffusion = j["w_xixi"]
        r_state = j["w_t"] - tr.nu * diffusion - tr.source(j["X"], t, j["w"])
        return r_char, r_state

    def forward(self, step: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        measure: Callable[[torch.Tensor], torch.Tensor] = (
            torch.linalg.vector_norm if self.cfg.loss == "norm" else lambda r: r.pow(2).mean())
        xi, t, factor = self._batch(step)
        r_char, r_state = self.residuals(xi, t)
        if self.cfg.loss == "mse":
            factor = 1.0
        X0, w0 = self.net(self.xi0, self.t_start)
        ic = measure(w0 - self.u0)
        if self.net.characteristics == "soft":
            ic = ic + measure(X0 - self.xi0)
        terms = {"char": factor * measure(r_char), "state": factor * measure(r_state), "ic": ic}
        cfg = self.cfg
        total = cfg.w_char * terms["char"] + cfg.w_state * terms["state"] + cfg.w_ic * terms["ic"]
        if self.observed is not None:
            terms["data"] = torch.relu(measure(self.observed_values() - self.observed[2]) - self.data_floor)
            total = total + self.data_weight * terms["data"]
        return total, {k: v.detach() for k, v in terms.items()}

    def observed_values(self) -> torch.Tensor:
        x, t, _ = self.observed
        return values_at(self.net, self.transport, x, t, self.cfg.min_stretch)


def values_at(net: Any, transport: Transport, x: torch.Tensor, t: torch.Tensor, min_stretch: float = 1e-3,
              newton_steps: int = 4) -> torch.Tensor:
    """The state at Eulerian points ``(x_k, t_k)``, differentiable: the label whose characteristic
    passes through ``x_k`` at ``t_k`` is found by Newton's method (no gradient), then ``w`` is
    corrected to first order, ``w - w_xi (X - x) / X_xi``, which carries the gradient to both
    branches (implicit differentiation of ``X(xi, t) = x``)."""
    tr = transport

    def gap(X: torch.Tensor) -> torch.Tensor:  # X - x, periodic, in [-L/2, L/2)
        return torch.remainder(X - x + tr.length / 2, tr.length) - tr.length / 2

    with torch.no_grad():
        xi = x - net.speed0 * (t - tr.t0)
        for _ in range(newton_steps):
            j = net.jets(xi, t)
            xi = xi - gap(j["X"]) / j["X_xi"].clamp_min(min_stretch)
    j = net.jets(xi, t)
    return j["w"] - j["w_xi"] * gap(j["X"]) / j["X_xi"].clamp_min(min_stretch)


def eulerian_evaluator(net: LagrangianNet, transport: Transport, n_labels: int,
                       chunk: int = 1 << 18) -> Callable[[np.ndarray], np.ndarray]:
    """``points (n, 2) -> values (n, 1)`` at Eulerian ``(x, t)``.

    For each distinct time the labels' positions ``X`` are wrapped into the period and sorted,
    and ``w`` is interpolated linearly and periodically at the query positions. Where
    characteristics cross (a shock without enough viscosity) the map is not one-to-one and
    the interpolation averages over the crossing labels.
    """
    tr = transport
    param = next(net.parameters())
    xi = tr.a + tr.length * np.arange(n_labels) / n_labels

    def evaluate(points: np.ndarray) -> np.ndarray:
        x, t = tr.wrap(points[:, 0]), points[:, 1]
        times, inverse = np.unique(t, return_inverse=True)
        by_time = np.argsort(inverse, kind="stable")  # the query points of time k: by_time[ends[k]:ends[k + 1]]
        ends = np.searchsorted(inverse[by_time], np.arange(len(times) + 1))
        out = np.empty(len(points))
        per_chunk = max(1, chunk // n_labels)
        with torch.no_grad():
            for start in range(0, len(times), per_chunk):
                block = times[start:start + per_chunk]
                tt = torch.as_tensor(np.repeat(block, n_labels), dtype=param.dtype, device=param.device)
                ll = torch.as_tensor(np.tile(xi, len(block)), dtype=param.dtype, device=param.device)
                X, w = (v.double().cpu().numpy().reshape(len(block), n_labels) for v in net(ll, tt))
                for k in range(len(block)):
                    sel = by_time[ends[start + k]:ends[start + k + 1]]
                    pos = tr.wrap(X[k])
                    order = np.argsort(pos)
                    xs, ws = pos[order], w[k][order]
                    xs = np.concatenate([[xs[-1] - tr.length], xs, [xs[0] + tr.length]])
                    ws = np.concatenate([[ws[-1]], ws, [ws[0]]])
                    out[sel] = np.interp(x[sel], xs, ws)
        return out[:, None]

    return evaluate


@register
class LPINNSolver(TrainedSolver):
    """Lagrangian PINN (Mojgani et al. 2023) for periodic 1D convection-diffusion and Burgers-type
    problems; ``callback(step, net)`` is called after every training step."""

    name: ClassVar[str] = "lpinn"
    needs: ClassVar[frozenset[str]] = frozenset({"transport", "transient", "dim1"})
    description: ClassVar[str] = "Lagrangian PINN: characteristics + state branches (Mojgani et al. 2023)"
    config_class: ClassVar[type] = LPINNConfig
    reads_inverse: ClassVar[bool] = True

    def solve(self, problem: Problem) -> Solution:
        check_supported(self, problem)
        cfg = self.config(problem)
        spec = inverse_spec(problem)
        if spec is not None and (spec.fields or spec.mode != "soft"):
            raise ProblemError("lpinn identifies scalar unknowns from observations fitted as a data term: "
                               "use mode = 'soft' and no [inverse.fields] (the Lagrangian state lives on "
                               "moving labels, so values cannot be imposed at Eulerian points)",
                               problem.source, "inverse.fields" if spec.fields else "inverse.mode")
        distributed.init_from_env(cfg.device)
        objective, (speed0, state0) = _assemble(problem, cfg)
        net, transport, inverse = objective.net, objective.transport, objective.inverse
        hook = (lambda step, result: self.callback(step, net)) if self.callback is not None else None
        result = Trainer(objective, cfg, callback=hook).fit()
        info = {"train": result.summary(), "dtype": cfg.dtype, "device": cfg.device,
                "architecture": f"state MLP {list(net.state.sizes)}, characteristics MLP "
                                f"{list(net.char.sizes)} tanh, {cfg.characteristics} X, "
                                f"{cfg.diffusion} diffusion, {cfg.loss} loss",
                "offsets": {"speed": speed0, "state": state0}}
        if inverse is not None:
            info.update(inverse.info())
        sol = network_solution(problem, net, self.name, info,
                               evaluate=eulerian_evaluator(net, transport, cfg.eval_labels))
        sol.network = network_payload(self.name, problem, cfg, objective.state_dict())
        return sol

    @classmethod
    def restore(cls, problem: Problem, cfg: LPINNConfig, state: dict[str, Any]) -> Callable[[np.ndarray], np.ndarray]:
        """The Eulerian evaluator of a saved network (:mod:`sciml.network_file`)."""
        objective, _ = _assemble(problem, cfg)
        objective.load_state_dict(state)
        objective.net.eval()
        return eulerian_evaluator(objective.net, objective.transport, cfg.eval_labels)


def _assemble(problem: Problem, cfg: LPINNConfig) -> tuple[LagrangianObjective, tuple[float, float]]:
    """The objective around a new network for ``problem`` (its unknowns too) and the network's
    speed and state offsets."""
    spec = inverse_spec(problem)
    inverse = InverseSetup(problem, spec, cfg.unknown_lr / cfg.lr, DTYPES[cfg.dtype]) if spec else None
    transport = Transport(problem, inverse.unknowns if inverse is not None else None)
    offsets = transport.offsets() if cfg.offsets else (0.0, 0.0)
    encoding = PeriodicEncoding(transport.a, transport.length, transport.t0, transport.duration)
    net = place(LagrangianNet(encoding, cfg.state_hidden, cfg.char_hidden, *offsets, cfg.characteristics), cfg)
    return LagrangianObjective(net, transport, cfg, inverse), offsets
