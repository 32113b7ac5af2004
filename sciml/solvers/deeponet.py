"""``deeponet``: deep operator networks.

Lu, Jin, Pang, Zhang & Karniadakis, "Learning nonlinear operators via DeepONet based on the
universal approximation theorem of operators", Nat. Mach. Intell. 3, 218-229 (2021),
arXiv:1910.03193. ``G(v)(y) = sum_k b_k(v(x_1), ..., v(x_m)) t_k(y) + b_0``: a branch net reads
the input function at ``m`` sensors, a trunk net the output location.

As in the authors' code (DeepXDE 0.11 ``OpNN``): the branch's last layer is linear, the trunk's
last layer is activated, ``b_0`` is one trained scalar per output (the "unstacked DeepONet with
bias" the paper recommends); ``stacked = true`` uses ``p`` independent branch nets with one
output each. Glorot-normal weights, zero biases, ReLU, Adam with learning rate 1e-3 on the
mean-square error over the whole training set each iteration. Several outputs (the pendulum's
two states) split the ``p`` basis functions into one group per output. Several random inputs
are read by one branch net on their concatenated sensor values.

Data come from a family's HDF5 data set (:mod:`sciml.data.dataset`): the ``grid`` layout is
trained in the Cartesian-product form (branch once per function, trunk once per location, a
matrix product), the ``random`` layout pointwise.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import torch
from torch import nn

from ..errors import ProblemError
from ..nn import distributed
from ..nn.fit import DTYPES, RunConfig, network_solution, torch_device
from ..nn.layers import MLP, activation, valid_widths
from ..nn.trainer import Trainer, TrainResult
from ..problems import Problem
from ..solution import Solution
from .base import check_supported
from ..nn.modelfile import read_model, save_model
from .operator import OperatorData, OperatorSolver, error_metrics, load_split
from .registry import register

MODEL_VERSION = 1


@dataclass
class DeepONetConfig(RunConfig):
    """Options of ``deeponet`` (``[solver.deeponet]``); training options from
    :class:`~sciml.nn.fit.RunConfig`.

    Attributes
    ----------
    branch, trunk
        Widths after the input layer (the paper's ODE networks: ``[40, 40]`` each, 7,401 weights
        for one output); the last widths are the number ``p`` of basis functions and must agree.
    activation
        Hidden activation (``relu``, the paper's; ``tanh``...).
    stacked
        ``p`` independent branch nets instead of one with ``p`` outputs.
    bias
        The trained output bias ``b_0``.
    normalize
        Standardise the branch input and the outputs with the training set's mean and standard
        deviation (off in the paper).
    batch_size
        Samples per iteration; 0 uses the whole training set (the paper).
    n_train, n_test
        How the data set is split: the first ``n_train`` samples train, the next ``n_test`` test
        (0: all the remaining samples).
    model
        A trained model file, for ``solve``.
    """

    branch: list = field(default_factory=lambda: [40, 40])
    trunk: list = field(default_factory=lambda: [40, 40])
    activation: Literal["relu", "tanh", "gelu", "silu", "sin"] = "relu"
    stacked: bool = False
    bias: bool = True
    normalize: bool = False
    batch_size: int = 0
    n_train: int = 10000
    n_test: int = 0
    model: str | None = None
    adam_steps: int = 10000
    lr: float = 1e-3

    def __post_init__(self) -> None:
        super().__post_init__()
        if not (valid_widths(self.branch) and valid_widths(self.trunk)):
            raise ProblemError("branch and trunk: expected lists of positive widths")
        if self.branch[-1] != self.trunk[-1]:
            raise ProblemError(f"branch and trunk must end with the same width p, got {self.branch[-1]} "
                               f"and {self.trunk[-1]}")
        if self.batch_size < 0 or self.n_train < 1 or self.n_test < 0:
            raise ProblemError("batch_size and n_test must be >= 0, n_train >= 1")


class StackedBranch(nn.Module):
    """``n`` independent MLPs ``sizes[0] -> ... -> 1`` evaluated together (the stacked DeepONet)."""

    def __init__(self, n: int, sizes: list[int], act: str):
        super().__init__()
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for a, b in zip(sizes[:-1], sizes[1:]):
            w = torch.empty(n, a, b)
            nn.init.normal_(w, std=math.sqrt(2.0 / (a + b)))  # Glorot normal per net
            self.weights.append(nn.Parameter(w))
            self.biases.append(nn.Parameter(torch.zeros(n, 1, b)))
        self.act = activation(act)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        h = u.unsqueeze(0).expand(len(self.weights[0]), -1, -1)
        for k, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = torch.baddbmm(b, h, w)
            if k < len(self.weights) - 1:
                h = self.act(h)
        return h[:, :, 0].T  # (N, n)


class DeepONet(nn.Module):
    """Branch ``m -> ... -> p c``, trunk ``d -> ... -> p c`` (activated output), output
    ``(N, P, c)``: for output ``j``, the sum of branch times trunk over its group of ``p``.

    Buffers hold the normalisation (``u_mean, u_std, s_mean, s_std``; zeros and ones when off).
    """

    def __init__(self, m: int, d: int, c: int, cfg: DeepONetConfig):
        super().__init__()
        p = cfg.branch[-1]
        self.p, self.c = p, c
        if cfg.stacked:
            self.branch: nn.Module = StackedBranch(p * c, [m, *cfg.branch[:-1], 1], cfg.activation)
        else:
            self.branch = MLP([m, *cfg.branch[:-1], p * c], cfg.activation)
        self.trunk = MLP([d, *cfg.trunk[:-1], p * c], cfg.activation)
        self.trunk_act = activation(cfg.activation)
        self.b0 = nn.Parameter(torch.zeros(c)) if cfg.bias else None
        for name, value in (("u_mean", 0.0), ("u_std", 1.0), ("s_mean", 0.0), ("s_std", 1.0)):
            self.register_buffer(name, torch.tensor(value))

    def forward(self, u: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``u`` ``(N, m)`` sensor values; ``y`` ``(P, d)`` shared locations (Cartesian product)
        or ``(N, P, d)`` per-sample locations. Returns ``(N, P, c)``."""
        b = self.branch((u - self.u_mean) / self.u_std).reshape(len(u), self.c, self.p)
        t = self.trunk_act(self.trunk(y))
        if y.ndim == 2:  # Cartesian product: one matrix product per output
            out = torch.einsum("ncp,qcp->nqc", b, t.reshape(len(y), self.c, self.p))
        else:  # pointwise (elementwise product and sum: faster on a CPU than the einsum)
            out = (b[:, None] * t.reshape(*y.shape[:2], self.c, self.p)).sum(-1)
        if self.b0 is not None:
            out = out + self.b0
        return out * self.s_std + self.s_mean


class OperatorObjective(nn.Module):
    """``forward(step)``: the mean-square error on the step's batch (the whole training set when
    ``batch_size`` is 0); batches are a pure function of the step (exact resume), and under
    ``torchrun`` every process takes its share."""

    def __init__(self, model: DeepONet, u: torch.Tensor, y: torch.Tensor, s: torch.Tensor, batch_size: int,
                 seed: int):
        super().__init__()
        self.model, self.batch_size, self.seed = model, batch_size, seed
        self.u, self.y, self.s = u, y, s  # data, not state: kept out of checkpoints

    def forward(self, step: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        n, world = len(self.u), distributed.world_size()
        if self.batch_size and self.batch_size < n:
            idx = torch.as_tensor(np.random.default_rng([self.seed, step]).choice(n, self.batch_size, replace=False))
        elif world == 1:  # the whole set, without copying it every iteration
            mse = (self.model(self.u, self.y) - self.s).pow(2).mean()
            return mse, {"mse": mse.detach()}
        else:
            idx = torch.arange(n)
        idx = idx[distributed.rank()::world].to(self.u.device)
        y = self.y if self.y.ndim == 2 else self.y[idx]
        mse = (self.model(self.u[idx], y) - self.s[idx]).pow(2).mean()
        return mse, {"mse": mse.detach()}


def _tensor(a: np.ndarray, cfg: DeepONetConfig) -> torch.Tensor:
    return torch.as_tensor(a, dtype=DTYPES[cfg.dtype], device=torch_device(cfg.device))


def evaluate(model: DeepONet, data: OperatorData, cfg: DeepONetConfig, chunk: int = 4096) -> dict[str, float]:
    """Test metrics: MSE (the paper's), MSE without the worst 0.1% (the code's "w/o outliers")
    and the relative L2 error over all outputs."""
    preds = []
    with torch.no_grad():
        for i in range(0, len(data.u), chunk):
            y = data.y if data.y.ndim == 2 else data.y[i:i + chunk]
            preds.append(model(_tensor(data.u[i:i + chunk], cfg), _tensor(y, cfg)).double().cpu().numpy())
    return {**error_metrics(np.concatenate(preds), data.s), "n": int(len(data.u))}


def train(data_path: str | Path, cfg: DeepONetConfig, out: str | Path | None = None,
          callback: Any = None) -> tuple[DeepONet, TrainResult, dict[str, Any]]:
    """Train a DeepONet on a data set; writes the model file ``out`` (atomically) when given.
    ``callback(step, model, result)`` runs after every iteration (not counted as training time).

    Returns the model, the training result and the saved record (config, data description,
    test metrics)."""
    distributed.init_from_env(cfg.device)
    train_set, test_set, meta = load_split(data_path, cfg.n_train, cfg.n_test)
    torch.manual_seed(cfg.seed if cfg.seed is not None else torch.initial_seed() % 2**31)
    model = DeepONet(train_set.u.shape[1], meta["input_dim"], train_set.s.shape[-1], cfg)
    if cfg.normalize:
        model.u_mean.fill_(float(train_set.u.mean()))
        model.u_std.fill_(float(train_set.u.std()) or 1.0)
        model.s_mean.fill_(float(train_set.s.mean()))
        model.s_std.fill_(float(train_set.s.std()) or 1.0)
    model = model.to(device=torch_device(cfg.device), dtype=DTYPES[cfg.dtype])
    objective = OperatorObjective(model, _tensor(train_set.u, cfg), _tensor(train_set.y, cfg),
                                  _tensor(train_set.s, cfg), cfg.batch_size, cfg.sample_seed())
    hook = (lambda step, result: callback(step, model, result)) if callback is not None else None
    result = Trainer(objective, cfg, callback=hook).fit()
    record = {"method": "deeponet", "version": MODEL_VERSION, "config": asdict(cfg), "meta": meta,
              "train": result.summary(), "test": evaluate(model, test_set, cfg),
              "n_params": sum(p.numel() for p in model.parameters())}
    if out is not None:
        save_model(out, record, model)
    return model, result, record


def load_model(path: str | Path) -> tuple[DeepONet, DeepONetConfig, dict[str, Any]]:
    """A saved model, its config and its record."""
    def build(cfg: DeepONetConfig, state: dict[str, Any]) -> DeepONet:
        meta = state["meta"]
        return DeepONet(sum(len(v) for v in meta["sensors"].values()), meta["input_dim"], len(meta["fields"]), cfg)

    model, cfg, state = read_model(path, "deeponet", DeepONetConfig, build)
    return model.to(dtype=DTYPES[cfg.dtype]), cfg, state  # type: ignore[return-value]


@register
class DeepONetSolver(OperatorSolver):
    """DeepONet (Lu et al. 2021). ``solve`` answers one member of the family a model was trained
    on (``model`` option / ``sciml solve --model``); ``sciml train deeponet`` trains."""

    name: ClassVar[str] = "deeponet"
    needs: ClassVar[frozenset[str]] = frozenset({"reference"})  # trained on data the reference makes
    description: ClassVar[str] = "deep operator network: branch on sensor values, trunk on the location (Lu et al. 2021)"
    config_class: ClassVar[type] = DeepONetConfig

    @classmethod
    def train_model(cls, data: str | Path, cfg: Any, out: str | Path | None = None,
                    callback: Any = None) -> dict[str, Any]:
        return train(data, cfg, out, callback)[2]

    @classmethod
    def summary(cls, record: dict[str, Any]) -> str:
        t = record["test"]
        return (f"{super().summary(record)}; MSE without the worst 0.1% {t['mse_trimmed']:.3e}")

    def solve(self, problem: Problem) -> Solution:
        check_supported(self, problem)
        cfg = self.config(problem)
        model, mcfg, state = load_model(self.model_file(problem, cfg))
        meta = state["meta"]
        inputs = self.member_inputs(problem, meta, cfg.model)
        u = np.concatenate([inputs[k] for k in meta["inputs"]])[None]
        dtype = next(model.parameters()).dtype
        ut = torch.as_tensor(u, dtype=dtype)
        model.eval()

        def evaluate_at(points: np.ndarray) -> np.ndarray:
            with torch.no_grad():
                return model(ut, torch.as_tensor(points, dtype=dtype))[0].double().numpy()

        info = {"model": str(cfg.model), "trained_on": meta["data"], "test": state["test"],
                "architecture": f"branch {[u.shape[1], *mcfg.branch]}, trunk {[meta['input_dim'], *mcfg.trunk]}"
                                f"{', stacked' if mcfg.stacked else ''}"}
        return network_solution(problem, model, self.name, info, evaluate=evaluate_at)
