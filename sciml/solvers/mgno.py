"""``mgno``: multigrid neural operators.

He, Liu & Xu, "MgNO: Efficient Parameterization of Linear Operators via Multigrid", ICLR 2024,
arXiv:2310.19809. A layer is ``O(u) = sigma(W u + B)`` where the linear operator ``W`` between
the channels is a multi-channel V-cycle (MgNet smoothing ``u <- u + S(f - A u)`` with 3x3
convolutions ``A``, ``S``, stride-2 restrictions ``Pi`` of ``u`` and ``R`` of ``f``, transposed
convolutions ``R^T`` for the prolongation), and the bias ``B`` is a function (with the local term
of the authors' ``MgNO_DC``, a 1x1 convolution with a bias beside the V-cycle). No lifting or
projection network: the first layer reads the input channels, a 1x1 convolution without bias
reads out the solution. Boundary conditions enter through the padding of every convolution:
zeros (Dirichlet) or circular (periodic axes).

Defaults follow the authors' Darcy configuration (``darcy.py`` / ``MgNO_DC``: 6 levels with one
pre-smoothing step each and two on the coarsest, GELU, Adam with weight decay 1e-4, one-cycle
learning rate 5e-4 with ``div_factor`` 2 and ``final_div_factor`` 100 stepped per epoch, batch
8, global Gaussian normalisation of inputs and outputs, the relative L2 loss summed over the
batch), scaled for a CPU: 12 channels instead of 24 and 25 epochs instead of 500. What differs
from the code, and why, is in docs/solvers/mgno.md.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ProblemError
from ..nn import distributed
from ..nn.fit import DTYPES, RunConfig, torch_device
from ..nn.layers import activation
from ..nn.objective import epoch_batch
from ..nn.trainer import Trainer, TrainResult
from ..problems import Problem
from ..solution import Solution
from .base import check_supported
from ..nn.modelfile import read_model, save_model
from .operator import OperatorData, OperatorSolver, error_metrics, load_split
from .registry import register

MODEL_VERSION = 1


@dataclass
class MgNOConfig(RunConfig):
    """Options of ``mgno`` (``[solver.mgno]``, ``sciml train mgno --set``); the optimiser options
    come from :class:`~sciml.nn.fit.RunConfig` with MgNO's defaults.

    Attributes
    ----------
    layers
        Nonlinear operator layers (the paper: 4 for rough Darcy, 5 for smooth).
    channels
        Neurons (channels) per layer, ``c_u`` (the paper: 24).
    levels
        ``[pre, post]`` smoothing steps per V-cycle level, finest first (the paper's Darcy
        ``10 10 10 10 10 20``: ``[[1, 0]] * 5 + [[2, 0]]``, six levels).
    restrict
        What goes down the V-cycle: ``source`` restricts ``f`` itself (the authors' code for every
        published run, ``use_res=False``) or ``residual`` restricts ``f - A u`` (the MgNet
        V-cycle as a multigrid method defines it).
    activation
        ``gelu`` (the paper's), ``relu``, ``tanh`` or ``silu``.
    padding
        ``auto`` (circular on the data's periodic axes, zeros elsewhere), ``zeros`` or
        ``circular``.
    normalize
        Standardise each input channel and the output with the training set's mean and
        standard deviation (the code's ``GN`` normalisers).
    epochs, batch_size
        Passes over the training set and samples per step; ``adam_steps`` and
        ``lr_step_size`` are derived from them (one learning-rate step per epoch).
    n_train, n_test
        The first ``n_train`` samples train, the next ``n_test`` test (0: the rest).
    model
        A trained model file, for ``solve``.
    """

    layers: int = 4
    channels: int = 12
    levels: list = field(default_factory=lambda: [[1, 0]] * 5 + [[2, 0]])
    restrict: Literal["source", "residual"] = "source"
    activation: Literal["gelu", "relu", "tanh", "silu"] = "gelu"
    padding: Literal["auto", "zeros", "circular"] = "auto"
    normalize: bool = True
    epochs: int = 25
    batch_size: int = 8
    n_train: int = 1000
    n_test: int = 200
    model: str | None = None
    lr: float = 5e-4
    lr_schedule: Literal["constant", "exponential", "step", "cosine", "onecycle"] = "onecycle"
    onecycle_pct: float = 0.2
    onecycle_div: float = 2.0
    onecycle_final_div: float = 100.0
    weight_decay: float = 1e-4
    keep: Literal["best", "last"] = "last"
    log_every: int = 1

    def __post_init__(self) -> None:
        super().__post_init__()
        ok = (isinstance(self.levels, list) and self.levels
              and all(isinstance(p, list) and len(p) == 2 and all(isinstance(k, int) and k >= 0 for k in p)
                      for p in self.levels))
        if not ok:
            raise ProblemError("levels: expected a list of [pre, post] smoothing counts, e.g. [[1, 0], [2, 0]]")
        if self.levels[0][0] < 1:
            raise ProblemError("levels: the finest level needs at least one pre-smoothing step (u = S f)")
        if self.levels[-1][1] != 0:
            raise ProblemError("levels: the coarsest level has no post-smoothing (nothing comes back up to it); "
                               "give its steps as pre-smoothing")
        if self.layers < 1 or self.channels < 1 or self.epochs < 1 or self.batch_size < 1 or self.n_train < 1 \
                or self.n_test < 0:
            raise ProblemError("layers, channels, epochs, batch_size and n_train must be positive, n_test >= 0")


class GridConv(nn.Conv2d):
    """3x3 convolution without bias, padded by one node per side: circularly on the periodic
    axes, with zeros on the others (the boundary condition of the paper's Section 3)."""

    def __init__(self, c_in: int, c_out: int, periodic: tuple[bool, bool], stride: int = 1):
        super().__init__(c_in, c_out, 3, stride=stride, padding=0, bias=False)
        self.periodic = periodic

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(pad_grid(x, self.periodic))


def pad_grid(x: torch.Tensor, periodic: tuple[bool, bool], width: int = 1) -> torch.Tensor:
    """Pad the last two axes by ``width``: circularly where ``periodic``, else with zeros."""
    if periodic[0] == periodic[1]:
        return F.pad(x, (width,) * 4, mode="circular" if periodic[0] else "constant")
    for spec, wrap in (((0, 0, width, width), periodic[0]), ((width, width, 0, 0), periodic[1])):
        x = F.pad(x, spec, mode="circular" if wrap else "constant")
    return x


class Prolongation(nn.ConvTranspose2d):
    """``R^T``: a 4x4 transposed convolution with stride 2 (exact doubling), cropped to the
    finer grid's size (odd sizes); periodic axes wrap around."""

    def __init__(self, channels: int, periodic: tuple[bool, bool]):
        super().__init__(channels, channels, 4, stride=2, padding=0, bias=False)
        self.periodic = periodic

    def forward(self, x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:  # type: ignore[override]
        if any(self.periodic):
            x = pad_grid(x, self.periodic)
        y = super().forward(x)
        # output node o of the unpadded input sits at 2 i + k - 1; a periodic pad shifts it by 2
        start = [3 if p else 1 for p in self.periodic]
        return y[..., start[0]:start[0] + size[0], start[1]:start[1] + size[1]]


class Smoother(nn.Module):
    """One MgNet smoothing step ``u <- u + S(f - A u)`` (the very first: ``u = S f``)."""

    def __init__(self, c_u: int, c_f: int, periodic: tuple[bool, bool], first: bool = False):
        super().__init__()
        self.S = GridConv(c_f, c_u, periodic)
        self.A = None if first else GridConv(c_u, c_f, periodic)

    def forward(self, u: torch.Tensor | None, f: torch.Tensor) -> torch.Tensor:
        if self.A is None or u is None:
            return self.S(f)
        return u + self.S(f - self.A(u))


class VCycle(nn.Module):
    """``W_Mg``: a linear operator from ``c_f`` to ``c_u`` channels parametrised by one
    multi-channel V-cycle (He, Liu & Xu 2024, Fig. 1 and Section 3.2).

    Down the levels: pre-smoothing, then ``u <- Pi u`` and ``f <- R f`` (or ``R (f - A u)``);
    up the levels: ``u_l <- u_l + R^T u_{l+1}``, then post-smoothing. Every operator is a
    convolution without bias, so the whole cycle is linear in ``f``.
    """

    def __init__(self, c_f: int, c_u: int, levels: list[list[int]], restrict: str, periodic: tuple[bool, bool]):
        super().__init__()
        if levels[-1][1]:
            raise ValueError("the coarsest level has no post-smoothing")
        self.restrict = restrict
        self.pre = nn.ModuleList()
        self.post = nn.ModuleList()
        for level, (n_pre, n_post) in enumerate(levels):
            self.pre.append(nn.ModuleList(Smoother(c_u, c_f, periodic, first=level == 0 and i == 0)
                                          for i in range(n_pre)))
            self.post.append(nn.ModuleList(Smoother(c_u, c_f, periodic) for _ in range(n_post)))
        coarse = range(len(levels) - 1)
        self.Pi = nn.ModuleList(GridConv(c_u, c_u, periodic, stride=2) for _ in coarse)
        self.R = nn.ModuleList(GridConv(c_f, c_f, periodic, stride=2) for _ in coarse)
        self.A_res = nn.ModuleList(GridConv(c_u, c_f, periodic) for _ in coarse) if restrict == "residual" else None
        self.RT = nn.ModuleList(Prolongation(c_u, periodic) for _ in coarse)

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        us: list[torch.Tensor] = []
        fs: list[torch.Tensor] = []
        u: torch.Tensor | None = None
        for level, steps in enumerate(self.pre):
            if level > 0:
                assert u is not None
                f = self.R[level - 1](f - self.A_res[level - 1](u) if self.A_res is not None else f)
                u = self.Pi[level - 1](u)
            for step in steps:
                u = step(u, f)
            assert u is not None
            us.append(u)
            fs.append(f)
        for level in range(len(us) - 2, -1, -1):
            u = us[level] + self.RT[level](us[level + 1], tuple(us[level].shape[-2:]))
            for step in self.post[level]:
                u = step(u, fs[level])
            us[level] = u
        return us[0]


class MgNO(nn.Module):
    """The network: ``layers`` times ``u <- sigma(W_Mg u + W_loc u + b)``, then a 1x1
    convolution without bias to the outputs. Input ``(N, c_in, H, W)``, output
    ``(N, c_out, H, W)`` on the same grid.

    Buffers hold the normalisation (per input channel and per output; zeros and ones when off).
    On periodic axes the last node (a copy of the first) is dropped before the network and
    restored after it, so the circular padding sees each node once.
    """

    def __init__(self, c_in: int, c_out: int, cfg: MgNOConfig, periodic: tuple[bool, bool] = (False, False)):
        super().__init__()
        self.periodic = periodic
        widths = [c_in] + [cfg.channels] * cfg.layers
        self.cycles = nn.ModuleList(VCycle(a, b, cfg.levels, cfg.restrict, periodic)
                                    for a, b in zip(widths[:-1], widths[1:]))
        self.local = nn.ModuleList(nn.Conv2d(a, b, 1) for a, b in zip(widths[:-1], widths[1:]))
        self.readout = nn.Conv2d(cfg.channels, c_out, 1, bias=False)
        self.act = activation(cfg.activation)
        self.register_buffer("in_mean", torch.zeros(c_in, 1, 1))
        self.register_buffer("in_std", torch.ones(c_in, 1, 1))
        self.register_buffer("out_mean", torch.zeros(c_out, 1, 1))
        self.register_buffer("out_std", torch.ones(c_out, 1, 1))

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        x = (a - self.in_mean) / self.in_std
        x = x[..., : x.shape[-2] - self.periodic[0], : x.shape[-1] - self.periodic[1]]
        for cycle, local in zip(self.cycles, self.local):
            x = self.act(cycle(x) + local(x))
        y = self.readout(x) * self.out_std + self.out_mean
        if self.periodic[0]:
            y = torch.cat([y, y[..., :1, :]], dim=-2)
        if self.periodic[1]:
            y = torch.cat([y, y[..., :1]], dim=-1)
        return y


# -- data ---------------------------------------------------------------------------------------

def grid_shape(meta: dict[str, Any]) -> tuple[int, int]:
    """The node grid ``(H, W)`` shared by the inputs and outputs of a data set; refuses data
    that MgNO cannot read (not 2D, not a grid layout, inputs off the output grid)."""
    sensors = {k: np.asarray(v) for k, v in meta["sensors"].items()}
    if meta["layout"] != "grid" or meta["input_dim"] != 2 or any(s.shape[1] != 2 for s in sensors.values()):
        raise ProblemError(f"mgno learns operators between functions on a 2D grid; {meta['data']} has layout "
                           f"{meta['layout']!r} and {meta['input_dim']} output coordinate(s) (use a 2D steady "
                           f"family with [family.output] layout = \"grid\")")
    n = round(math.sqrt(len(next(iter(sensors.values())))))
    for name, s in sensors.items():
        if len(s) != n * n:
            raise ProblemError(f"mgno needs square sensor grids of one size; input {name!r} has {len(s)} sensors")
    return n, n


def _check_aligned(meta: dict[str, Any], points: np.ndarray) -> None:
    for name, s in meta["sensors"].items():
        if np.shape(s) != points.shape or not np.allclose(s, points):
            raise ProblemError(f"mgno reads its inputs on the output grid: input {name!r} has "
                               f"{len(s)} sensors, the output grid {len(points)} points; give the input "
                               f"sensors = the output points in the family file")


def as_images(data: OperatorData, meta: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """``(N, c_in, H, W)`` inputs and ``(N, c_out, H, W)`` outputs of a grid data set."""
    h, w = grid_shape(meta)
    _check_aligned(meta, data.y)
    a = data.u.reshape(len(data.u), len(meta["inputs"]), h, w)
    s = np.moveaxis(data.s.reshape(len(data.s), h, w, -1), -1, 1)
    return a, s


class GridObjective(nn.Module):
    """``forward(step)``: the relative L2 error summed over the step's minibatch (as the
    authors' ``LpLoss(size_average=False)``); minibatches from
    :func:`~sciml.nn.objective.epoch_batch` (exact resume, shared under ``torchrun``)."""

    def __init__(self, model: MgNO, a: torch.Tensor, s: torch.Tensor, batch_size: int, seed: int):
        super().__init__()
        self.model, self.batch_size, self.seed = model, batch_size, seed
        self.a, self.s = a, s  # data, not state: kept out of checkpoints

    @property
    def steps_per_epoch(self) -> int:
        return -(-len(self.a) // self.batch_size)

    def forward(self, step: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        idx = epoch_batch(step, len(self.a), self.batch_size, self.seed)
        idx_t = torch.as_tensor(idx, device=self.a.device)
        pred, truth = self.model(self.a[idx_t]), self.s[idx_t]
        rel = (pred - truth).flatten(1).norm(dim=1) / truth.flatten(1).norm(dim=1).clamp_min(1e-30)
        # times the world size: DDP averages the processes' gradients, this keeps the batch sum
        return rel.sum() * distributed.world_size(), {"rel_l2": rel.detach().mean()}


def predict(model: MgNO, a: np.ndarray, chunk: int = 50) -> np.ndarray:
    """Outputs for inputs ``a`` ``(N, c_in, H, W)`` in chunks, float64 NumPy."""
    p = next(model.parameters())
    out = []
    with torch.inference_mode():
        for i in range(0, len(a), chunk):
            out.append(model(torch.as_tensor(a[i:i + chunk], dtype=p.dtype, device=p.device)).double().cpu().numpy())
    return np.concatenate(out)


def evaluate(model: MgNO, a: np.ndarray, s: np.ndarray) -> dict[str, float]:
    """Test metrics of :func:`~sciml.solvers.operator.error_metrics` (``rel_l2_mean`` is the
    papers' relative L2 error) on image arrays."""
    model.eval()
    return {**error_metrics(predict(model, a), s), "n": int(len(a))}


def _periodic(cfg: MgNOConfig, meta: dict[str, Any]) -> tuple[bool, bool]:
    if cfg.padding == "auto":
        axes = set(meta.get("periodic_axes", []))
        return (0 in axes, 1 in axes)
    return (cfg.padding == "circular",) * 2  # type: ignore[return-value]


def train(data_path: str | Path, cfg: MgNOConfig, out: str | Path | None = None, callback: Any = None,
          test_path: str | Path | None = None) -> tuple[MgNO, TrainResult, dict[str, Any]]:
    """Train an MgNO on a grid data set; writes the model file ``out`` (atomically) when given.
    ``callback(step, model, result)`` runs after every step (not counted as training time).
    With ``test_path``, the first ``n_train`` samples of ``data_path`` train and every sample
    of ``test_path`` tests.

    Returns the model, the training result and the saved record (config, data description,
    test metrics)."""
    distributed.init_from_env(cfg.device)
    if test_path is None:
        train_set, test_set, meta = load_split(data_path, cfg.n_train, cfg.n_test)
    else:
        _, every, meta = load_split(data_path, 0)
        train_set = OperatorData(every.u[:cfg.n_train], every.y, every.s[:cfg.n_train])
        _, test_set, test_meta = load_split(test_path, 0)
        if test_meta["problem"] != meta["problem"] or test_meta["sensors"] != meta["sensors"]:
            raise ProblemError(f"{test_path} is not a test set of {data_path}'s family and grid")
        meta["test_data"] = str(test_path)
    a, s = as_images(train_set, meta)
    a_test, s_test = as_images(test_set, meta)
    meta["grid"] = list(a.shape[-2:])
    torch.manual_seed(cfg.seed if cfg.seed is not None else torch.initial_seed() % 2**31)
    periodic = _periodic(cfg, meta)
    model = MgNO(a.shape[1], s.shape[1], cfg, periodic)
    if cfg.normalize:
        model.in_mean.copy_(torch.as_tensor(a.mean(axis=(0, 2, 3))).reshape(-1, 1, 1))
        model.in_std.copy_(torch.as_tensor(a.std(axis=(0, 2, 3))).reshape(-1, 1, 1).clamp_min(1e-12))
        model.out_mean.copy_(torch.as_tensor(s.mean(axis=(0, 2, 3))).reshape(-1, 1, 1))
        model.out_std.copy_(torch.as_tensor(s.std(axis=(0, 2, 3))).reshape(-1, 1, 1).clamp_min(1e-12))
    device, dtype = torch_device(cfg.device), DTYPES[cfg.dtype]
    model = model.to(device=device, dtype=dtype)
    objective = GridObjective(model, torch.as_tensor(a, dtype=dtype, device=device),
                              torch.as_tensor(s, dtype=dtype, device=device), cfg.batch_size, cfg.sample_seed())
    steps = objective.steps_per_epoch
    run_cfg = MgNOConfig(**{**asdict(cfg), "adam_steps": cfg.epochs * steps, "lr_step_size": steps})
    hook = (lambda step, result: callback(step, model, result)) if callback is not None else None
    model.train()
    result = Trainer(objective, run_cfg, callback=hook).fit()
    record = {"method": "mgno", "version": MODEL_VERSION, "config": asdict(cfg), "meta": meta,
              "periodic": list(periodic), "train": result.summary(), "test": evaluate(model, a_test, s_test),
              "n_params": sum(p.numel() for p in model.parameters()), "steps_per_epoch": steps}
    if out is not None:
        save_model(out, record, model)
    return model, result, record


def load_model(path: str | Path) -> tuple[MgNO, MgNOConfig, dict[str, Any]]:
    """A saved model, its config and its record."""
    def build(cfg: MgNOConfig, state: dict[str, Any]) -> MgNO:
        meta = state["meta"]
        return MgNO(len(meta["inputs"]), len(meta["fields"]), cfg, tuple(state["periodic"]))  # type: ignore[arg-type]

    model, cfg, state = read_model(path, "mgno", MgNOConfig, build)
    return model.to(dtype=DTYPES[cfg.dtype]).eval(), cfg, state  # type: ignore[return-value]


@register
class MgNOSolver(OperatorSolver):
    """MgNO (He, Liu & Xu 2024). ``solve`` answers one member of the family a model was trained
    on, at the member's sensor resolution (a model trained at 64^2 reads 128^2 inputs);
    ``sciml train mgno`` trains."""

    name: ClassVar[str] = "mgno"
    needs: ClassVar[frozenset[str]] = frozenset({"reference"})  # trained on data the reference makes
    description: ClassVar[str] = "multigrid neural operator: V-cycle-parametrised operator layers on a grid (He et al. 2024)"
    config_class: ClassVar[type] = MgNOConfig

    @classmethod
    def train_model(cls, data: str | Path, cfg: Any, out: str | Path | None = None,
                    callback: Any = None) -> dict[str, Any]:
        return train(data, cfg, out, callback)[2]

    def solve(self, problem: Problem) -> Solution:
        check_supported(self, problem)
        cfg = self.config(problem)
        model, mcfg, state = load_model(self.model_file(problem, cfg))
        meta = state["meta"]
        inputs = self.member_inputs(problem, meta, cfg.model, any_resolution=True)
        specs = {i.name: i for i in problem.family.inputs}  # type: ignore[union-attr]
        first = specs[meta["inputs"][0]]
        n = first.sensors
        if any(specs[k].sensors != n for k in meta["inputs"]):
            raise ProblemError("mgno needs every input on one sensor grid (equal sensors)")
        a = np.stack([inputs[k].reshape(n, n) for k in meta["inputs"]])[None]
        values = predict(model, a)[0]  # (c_out, n, n)
        axes = [np.linspace(lo, hi, n) for lo, hi in zip(first.lo, first.hi)]
        points = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 2)
        info = {"model": str(cfg.model), "trained_on": meta["data"], "trained_grid": meta["grid"],
                "grid": [n, n], "test": state["test"], "n_params": state["n_params"],
                "architecture": f"{mcfg.layers} layers x {mcfg.channels} channels, {len(mcfg.levels)} levels "
                                f"{mcfg.levels}, restrict {mcfg.restrict}"}
        if [n, n] != list(meta["grid"]):
            info["warning"] = (f"the model was trained on a {meta['grid'][0]}^2 grid and reads this member at {n}^2: its "
                               "convolutions act on grid neighbours, so its error grows off the training grid "
                               "(docs/solvers/mgno.md, 'Resolution')")
        return Solution(problem=problem.name, solver=self.name, fields=problem.fields, kind="grid", points=points,
                        values=values.reshape(values.shape[0], -1).T, axes=axes, info=info)
