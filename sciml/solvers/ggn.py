"""``ggn``: physics-informed graph neural Galerkin networks on unstructured meshes.

Gao, Zahr & Wang, "Physics-informed graph neural Galerkin networks: A unified framework for
solving PDE-governed forward and inverse problems", Comput. Methods Appl. Mech. Engrg. 390
(2022). A graph network on the finite-element mesh (nodes = FE nodes, edges = node pairs that
share an element) maps the node coordinates to the nodal coefficients of the continuous P1
Galerkin solution; it is trained to make the assembled weak-form residual ``K u - F`` vanish on
the free dofs. Dirichlet values are imposed exactly, Neumann and traction data enter through the
boundary integral in ``F``. For these linear PDEs ``K`` and ``F`` are assembled once by the
reference FEM (:mod:`sciml.reference.system`), so a training step is one sparse mat-vec plus
the network. Unknown parameters that enter ``K`` or ``F`` linearly (a source amplitude, Lame
parameters, a diffusivity) are trained with the network from sparse observations, imposed on
the observed nodes (the paper) or as a data term.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np
import scipy.sparse as sp
import torch
from scipy.spatial import cKDTree
from torch import nn

from ..errors import ProblemError
from ..geometry import Mesh
from ..nn.fit import DTYPES, RunConfig, torch_device
from ..nn.graph import ChebNet, mesh_edges, scaled_laplacian
from ..nn.layers import valid_widths
from ..nn.sparse import DualNorm, torch_sparse
from ..nn.trainer import Trainer
from ..problems import Problem, problem_from_dict
from ..nn.inverse import ScalarUnknowns, check_guesses
from ..problems.inverse import InverseSpec, inverse_spec, warn_unused_noise
from ..reference import reference_mesh
from ..reference.system import LinearSystem, assemble
from ..solution import Solution
from .base import TrainedSolver, check_supported
from .registry import register


@dataclass
class GGNConfig(RunConfig):
    """Options of ``ggn`` (``[solver.ggn]``); training options from :class:`~sciml.nn.fit.RunConfig`.

    Attributes
    ----------
    widths
        Hidden channel widths of each component's ChebConv stack. The paper's code uses
        ``[32, 64, 128, 256, 128, 64, 32]``, 6x slower per step on a CPU (0.9 s per step on
        2,268 nodes with one thread); the default is a shallower, narrower stack (four
        hidden layers up to 64 wide) that fits CPU budgets.
    K
        Chebyshev order of every convolution (the paper's code: 10).
    h
        Mesh size for analytic domains (default: the reference's); mesh files are used as they are.
    output_scale
        Network outputs are multiplied by this (the solution's typical size when far from 1).
    loss
        How the Galerkin residual ``r = K u - F`` on the free dofs is measured. ``residual``: its
        Euclidean norm (the paper); ``dual``: its dual norm ``sqrt(r^T M^-1 r)``, ``M`` the free
        block of ``K`` at the initial guess (for a symmetric forward problem, the energy norm of
        the error). Both vanish exactly at the Galerkin solution; the dual norm's Hessian is
        ``K`` instead of ``K^T K``, so on meshes of thousands of nodes it converges several
        times faster (docs/solvers/ggn.md). It needs a positive definite symmetric part of
        ``K`` (not Helmholtz past its first eigenvalue).
    rescale_output
        Before training, multiply ``output_scale`` by the constant that best fits the untrained
        network's field to the residual (:meth:`GalerkinObjective.rescale_output`), so the
        optimiser starts from a field of the right size whatever the units.
    unknown_lr
        Adam's learning rate of the logarithm of each ``[inverse]`` unknown (0.01: a tenfold
        initial error takes about 230 steps).
    noise_floor
        In soft mode with ``[inverse] noise`` or ``known_noise``, fit the observations only down
        to the relative misfit their noise leaves (``noise^2``), as the physics-informed solvers
        do (docs/inverse.md).

    Adam (``lr`` 1e-3, as the paper) minimises the residual norm ``||K u - F||``; the L-BFGS
    steps that follow minimise its square, which is smooth at the solution. Under a time
    budget Adam runs to its end (``lbfgs_share`` 0): handing the last 0.3 of 60 s to L-BFGS
    made six validation rows 1.1-2.6x worse (cd-layer-2d 6.4e-2 -> 0.16, the Lame inverse
    4.2e-2 -> 8.4e-2, poisson-3d-box and the source inverse 2x), unlike the PINN's.
    """

    widths: list = field(default_factory=lambda: [32, 64, 64, 32])
    K: int = 10
    h: float | None = None
    output_scale: float = 1.0
    loss: Literal["residual", "dual"] = "residual"
    unknown_lr: float = 1e-2
    rescale_output: bool = True
    noise_floor: bool = True
    dtype: str = "float64"
    adam_steps: int = 500
    lr: float = 1e-3
    lbfgs_steps: int = 50
    lbfgs_share: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if not valid_widths(self.widths):
            raise ProblemError(f"widths: expected a list of positive widths, got {self.widths!r}")
        if self.K < 1 or (self.h is not None and self.h <= 0) or self.output_scale <= 0 or self.unknown_lr <= 0:
            raise ProblemError("K must be >= 1, h, output_scale and unknown_lr positive")
        if self.loss not in ("residual", "dual"):
            raise ProblemError(f"loss: expected 'residual' or 'dual', got {self.loss!r}")


class GalerkinNet(nn.Module):
    """One :class:`~sciml.nn.graph.ChebNet` per solution component on the normalised node
    coordinates; output ``(n_nodes, components)``."""

    def __init__(self, dim: int, components: int, widths: list, K: int):
        super().__init__()
        self.stacks = nn.ModuleList(ChebNet([dim, *widths, 1], K) for _ in range(components))

    def forward(self, x: torch.Tensor, laplacian: torch.Tensor) -> torch.Tensor:
        return torch.cat([stack(x, laplacian) for stack in self.stacks], dim=1)


@dataclass
class ParametricSystem:
    """``K(theta) = K0 + sum_i theta_i dK_i``, ``F(theta) = F0 + sum_i theta_i dF_i`` with the
    Dirichlet data of :class:`LinearSystem`."""

    base: LinearSystem
    names: list[str]
    K0: sp.csr_matrix
    F0: np.ndarray
    dK: list[sp.csr_matrix]
    dF: list[np.ndarray]

    def free_block(self, theta: list[float]) -> sp.csr_matrix:
        """``K(theta)`` restricted to the free (non-Dirichlet) dofs."""
        free = self.base.free
        return sum((t * k for t, k in zip(theta, self.dK)), self.K0)[free][:, free].tocsr()


def with_parameters(problem: Problem, values: dict[str, float]) -> Problem:
    """The same problem with some ``[parameters]`` changed."""
    raw = copy.deepcopy(dict(problem.raw))
    raw.setdefault("parameters", {}).update(values)
    base = problem.source.parent if problem.source is not None else None
    return problem_from_dict(raw, problem.source, base)


def parametric_system(problem: Problem, mesh: Mesh, names: list[str]) -> ParametricSystem:
    """Assemble ``problem`` with its parameters ``names`` as affine unknowns; refuses, naming the
    parameter, when ``K`` or ``F`` is not affine in it or the Dirichlet data depend on it."""
    s0 = assemble(problem, mesh)
    K0, F0, dK, dF = s0.K.copy(), s0.F.copy(), [], []
    for name in names:
        a = problem.parameters[name]
        step = max(abs(a), 1.0)
        s1 = assemble(with_parameters(problem, {name: a + step}), mesh)
        s2 = assemble(with_parameters(problem, {name: a + 2 * step}), mesh)
        dk, df = (s1.K - s0.K) / step, (s1.F - s0.F) / step
        curvature_k = abs(s2.K - 2 * s1.K + s0.K).max() if s0.K.nnz else 0.0
        curvature_f = np.abs(s2.F - 2 * s1.F + s0.F).max()
        scale_k = max(abs(s0.K).max(), abs(dk).max() * step, 1e-300)
        scale_f = max(np.abs(s0.F).max(), np.abs(df).max() * step, 1e-300)
        if curvature_k > 1e-9 * scale_k or curvature_f > 1e-9 * scale_f:
            raise ProblemError(f"the system is not linear in the unknown parameter {name!r} (for plane "
                               "stress, Lame parameters enter nonlinearly: use plane strain)",
                               problem.source, f"inverse.unknowns.{name}")
        if not (np.array_equal(s1.fixed, s0.fixed) and np.allclose(s1.values, s0.values)):
            raise ProblemError(f"Dirichlet data depend on the unknown parameter {name!r}",
                               problem.source, f"inverse.unknowns.{name}")
        K0, F0 = K0 - a * dk, F0 - a * df
        dK.append(dk.tocsr())
        dF.append(df)
    return ParametricSystem(s0, list(names), K0.tocsr(), F0, dK, dF)


@dataclass
class Observations:
    """Observed dofs and values (hard mode), or an interpolation matrix and values (soft)."""

    dofs: np.ndarray
    data: np.ndarray
    interp: sp.csr_matrix | None = None


def observations(spec: InverseSpec, problem: Problem, mesh: Mesh, system: LinearSystem) -> Observations:
    """Map the ``[inverse]`` observations onto the mesh (synthesising them when asked)."""
    warn_unused_noise(spec, problem)
    comps = system.components
    rng = np.random.default_rng(spec.seed)
    if spec.synthetic:
        truth = system.solve()  # the FE solution at the true [parameters]
        free_nodes = np.flatnonzero(~np.isin(np.arange(len(mesh.points)), system.fixed // comps))
        if spec.synthetic > len(free_nodes):
            raise ProblemError(f"cannot observe {spec.synthetic} nodes: the mesh has {len(free_nodes)} free nodes",
                               problem.source, "inverse.observations.synthetic")
        nodes = np.sort(rng.choice(free_nodes, spec.synthetic, replace=False))
        points, values = mesh.points[nodes], truth[nodes]
    else:
        points, values = spec.points, spec.values
    values = spec.noisy(values, rng)
    if spec.mode == "hard":
        dist, nodes = cKDTree(mesh.points).query(points)
        size = float(np.linalg.norm(mesh.points.max(0) - mesh.points.min(0)))
        if np.any(dist > 1e-6 * size):
            raise ProblemError("hard observations must lie on mesh nodes (use mode = 'soft' for "
                               "arbitrary points)", problem.source, "inverse.observations")
        dofs = (comps * nodes[:, None] + np.arange(comps)).ravel()
        return Observations(dofs, values.ravel())
    cells, bary = mesh.locate(points)
    rows = np.repeat(np.arange(len(points)), bary.shape[1])
    node_interp = sp.csr_matrix((bary.ravel(), (rows, mesh.cells[cells].ravel())),
                                shape=(len(points), len(mesh.points)))
    interp = sp.kron(node_interp, sp.identity(comps), format="csr")
    return Observations(np.zeros(0, dtype=np.int64), values.ravel(), interp)


def graph_inputs(mesh: Mesh, dtype: torch.dtype = torch.float64,
                 device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """The network's inputs on ``mesh``: node coordinates mapped onto [-1, 1] and the scaled
    Laplacian of the mesh graph (edges between nodes sharing a cell, both directions)."""
    lo, hi = mesh.points.min(0), mesh.points.max(0)
    x = 2 * (mesh.points - lo) / np.where(hi > lo, hi - lo, 1) - 1
    laplacian = scaled_laplacian(torch.as_tensor(mesh_edges(mesh.cells)), len(x), dtype)
    return torch.as_tensor(x, dtype=dtype, device=device), laplacian.to(device)


class GalerkinObjective(nn.Module):
    """``forward(step) -> (total, terms)``: the size of the Galerkin residual on the free dofs
    (squared from step ``squared_from`` on), plus the data misfit in soft inverse mode.

    The size is the Euclidean norm ``|r|`` (the paper) or, given a ``dual`` norm, ``sqrt(r^T M^-1
    r)`` (see :mod:`sciml.nn.sparse`; the solver's ``M`` is the free block of ``K`` at the initial
    guess). Unknown parameters are ``theta_i = guess_i exp(p_i)`` with ``p``
    trained from 0 at ``lr_scale`` times Adam's learning rate, so steps are relative changes and
    a tenfold error takes ``ln 10 / lr`` steps whatever the units. Both terms are divided by their
    value at the initial guess with a zero interior field, so the loss starts at O(1).
    """

    def __init__(self, net: GalerkinNet, mesh: Mesh, ps: ParametricSystem, obs: Observations | None,
                 guesses: list[float], weight: float, output_scale: float, squared_from: int,
                 dual: DualNorm | None = None, lr_scale: float = 1.0, data_floor: float = 0.0):
        super().__init__()
        param = next(net.parameters())
        kw = dict(dtype=param.dtype, device=param.device)
        self.net, self.squared_from, self.weight, self.data_floor = net, squared_from, weight, data_floor
        self.register_buffer("output_scale", torch.tensor(float(output_scale), **kw))  # checkpointed: rescaled
        x, self.laplacian = graph_inputs(mesh, **kw)
        self.register_buffer("x", x)
        base = ps.base
        constrained = np.zeros(base.n, dtype=bool)
        constrained[base.fixed] = True
        values = base.values.copy()
        if obs is not None and len(obs.dofs):
            constrained[obs.dofs] = True
            values[obs.dofs] = obs.data
        rows = base.free  # the residual is required on every non-Dirichlet dof (observed ones too)
        self.register_buffer("mask", torch.as_tensor(constrained, device=kw["device"]))
        self.register_buffer("values", torch.as_tensor(values, **kw))
        self.K0 = torch_sparse(ps.K0[rows], **kw)
        self.dK = [torch_sparse(k[rows], **kw) for k in ps.dK]
        self.register_buffer("F0", torch.as_tensor(ps.F0[rows], **kw))
        self.register_buffer("dF", torch.as_tensor(np.array([f[rows] for f in ps.dF]).reshape(len(ps.dF), len(rows)),
                                                   **kw))
        self.dual = dual
        self.unknowns = ScalarUnknowns([str(i) for i in range(len(guesses))], guesses, lr_scale, kw["dtype"]) \
            if guesses else None
        self.interp = torch_sparse(obs.interp, **kw) if obs is not None and obs.interp is not None else None
        self.register_buffer("data", torch.as_tensor(obs.data if obs is not None else np.zeros(0), **kw))
        with torch.no_grad():
            self.res_scale = float(self._size2(self._residual(self._lift()))) or 1.0
            self.data_scale = float(self.data.square().sum()) or 1.0

    @torch.no_grad()
    def rescale_output(self) -> float:
        """Multiply ``output_scale`` by the constant ``a`` that minimises the loss of the
        untrained network's field ``lift + a n`` (a one-dimensional least-squares problem) and
        return ``a``: an orthogonally initialised ChebConv stack puts out values tens of times
        larger than the solution, which the optimiser would otherwise spend its first steps
        undoing."""
        lift = self._lift()
        n = self.field() - lift
        r0, kn = self._residual(lift), self._residual(n) - self._residual(torch.zeros_like(n))
        a = -float(self._inner(kn, r0) / self._inner(kn, kn)) if float(n.abs().max()) > 0 else 1.0
        if a != 0 and math.isfinite(a):
            self.output_scale.mul_(a)
        return a

    def _lift(self) -> torch.Tensor:
        """The constrained values with zeros on the free dofs."""
        return torch.where(self.mask, self.values, torch.zeros_like(self.values))

    def theta(self) -> torch.Tensor:
        if self.unknowns is None:
            return torch.zeros(0, dtype=self.values.dtype, device=self.values.device)
        return self.unknowns.theta()

    def field(self) -> torch.Tensor:
        """Nodal values, flat and interleaved, with the constrained dofs imposed exactly."""
        u = (self.net(self.x, self.laplacian) * self.output_scale).reshape(-1)
        return torch.where(self.mask, self.values, u)

    def _residual(self, u: torch.Tensor) -> torch.Tensor:
        col = u[:, None]
        r = torch.sparse.mm(self.K0, col)[:, 0] - self.F0
        theta = self.theta()
        for i, dk in enumerate(self.dK):
            r = r + theta[i] * (torch.sparse.mm(dk, col)[:, 0] - self.dF[i])
        return r

    def _inner(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """``a^T b`` or ``a^T M^-1 b`` (no gradient)."""
        return torch.dot(a, self.dual.solve(b) if self.dual is not None else b)

    def _size2(self, r: torch.Tensor) -> torch.Tensor:
        """The residual's squared size: ``r^T r`` or ``r^T M^-1 r``."""
        return self.dual(r) if self.dual is not None else torch.dot(r, r)

    def forward(self, step: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        u = self.field()
        half = 1.0 if step >= self.squared_from else 0.5
        res = (self._size2(self._residual(u)) / self.res_scale) ** half
        terms = {"res": res}
        total = res
        if self.interp is not None:
            misfit = torch.sparse.mm(self.interp, u[:, None])[:, 0] - self.data
            excess = misfit.square().sum() / self.data_scale - self.data_floor  # relative, less the noise's share
            terms["data"] = excess.clamp_min(1e-30) ** half
            total = total + self.weight * terms["data"]
        return total, {k: v.detach() for k, v in terms.items()}


@register
class GGNSolver(TrainedSolver):
    """Graph neural Galerkin network (Gao, Zahr & Wang 2022); ``callback(step, objective)`` is
    called after every training step."""

    name: ClassVar[str] = "ggn"
    reads_inverse: ClassVar[bool] = True
    needs: ClassVar[frozenset[str]] = frozenset({"assembles", "steady"})
    description: ClassVar[str] = "graph neural Galerkin network on the FE mesh, weak-form residual (Gao et al. 2022)"
    config_class: ClassVar[type] = GGNConfig

    def solve(self, problem: Problem) -> Solution:
        check_supported(self, problem)
        if problem.transient:
            raise ProblemError("ggn solves steady problems", problem.source, "time")
        cfg = self.config(problem)
        spec = inverse_spec(problem)
        if spec and spec.fields:
            raise ProblemError("ggn identifies scalar unknowns (assembled as affine terms); unknown "
                               "coefficient functions need a physics-informed solver (pinn, pig)",
                               problem.source, f"inverse.fields.{next(iter(spec.fields))}")
        if spec:
            check_guesses(spec, problem)
        mesh = reference_mesh(problem, cfg.h)
        start = time.perf_counter()
        names = list(spec.unknowns) if spec else []
        ps = parametric_system(problem, mesh, names)
        obs = observations(spec, problem, mesh, ps.base) if spec else None
        guesses = [spec.unknowns[n] for n in names] if spec else []
        assemble_s = time.perf_counter() - start
        device = torch_device(cfg.device)
        net = GalerkinNet(problem.dim, ps.base.components, cfg.widths, cfg.K).to(device=device, dtype=DTYPES[cfg.dtype])
        try:
            dual = DualNorm(ps.free_block(guesses)) if cfg.loss == "dual" else None
        except ProblemError as err:
            raise ProblemError(f"{err.message}: use loss = 'residual'", problem.source,
                               f"solver.{self.name}.loss") from None
        objective = GalerkinObjective(net, mesh, ps, obs, guesses, spec.weight if spec else 1.0,
                                      cfg.output_scale, cfg.adam_steps, dual, cfg.unknown_lr / cfg.lr,
                                      spec.data_noise**2 if spec and cfg.noise_floor else 0.0).to(device)
        fitted_scale = objective.rescale_output() if cfg.rescale_output else 1.0
        hook = (lambda step, result: self.callback(step, objective)) if self.callback is not None else None
        result = Trainer(objective, cfg, callback=hook).fit()
        with torch.no_grad():
            u = objective.field().double().cpu().numpy().reshape(-1, ps.base.components)
        fem = ps.base.solve() if not spec else None
        info: dict[str, Any] = {
            "train": result.summary(), "dtype": cfg.dtype, "device": cfg.device,
            "architecture": f"{ps.base.components} x ChebConv stack {[problem.dim, *cfg.widths, 1]}, K = {cfg.K}",
            "loss": cfg.loss, "output_scale": float(objective.output_scale), "fitted_scale": fitted_scale,
            "n_nodes": int(len(mesh.points)), "n_dofs": int(ps.base.n), "assemble_s": assemble_s,
            "residual_rel": float(np.linalg.norm(ps.base.residual(u)) / (np.linalg.norm(ps.base.F) or 1.0))
            if not spec else None,
        }
        if fem is not None:
            info["rel_l2_vs_fem"] = float(np.linalg.norm(u - fem) / (np.linalg.norm(fem) or 1.0))
        if spec:
            theta = objective.theta().detach().double().cpu().numpy()
            info["inverse"] = {n: {"recovered": float(v), "initial": spec.unknowns[n],
                                   "true": float(problem.parameters[n]),
                                   "rel_error": float(abs(v - problem.parameters[n]) / (abs(problem.parameters[n]) or 1.0))}
                               for n, v in zip(names, theta)}
            info["observations"] = {"mode": spec.mode, "noise": spec.noise, "known_noise": spec.known_noise,
                                    "count": int(len(obs.data) // ps.base.components) if obs is not None else 0}
        n_params = sum(p.numel() for p in objective.parameters())
        return Solution(problem=problem.name, solver=self.name, fields=problem.fields, kind="mesh",
                        points=mesh.points, cells=mesh.cells, values=u, info={"n_params": n_params, **info})
