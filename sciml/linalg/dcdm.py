"""The deep conjugate direction method (DCDM).

Kaneda, Akar, Chen, Kala, Hyde & Teran, "A Deep Conjugate Direction Method for Iteratively
Solving Linear Systems", ICML 2023 (arXiv:2205.10763; code ``ayano721/2023_DCDM``). A CNN
``f`` approximates the action of ``A^-1`` up to a scale; in the conjugate direction iteration
(:func:`~sciml.linalg.krylov.conjugate_directions`) its output on the normalised residual,
A-orthogonalised against the last two directions, is the next search direction.

* Network (:class:`DCDMNet`): the authors' 64^3 model in 2D or 3D, 16 filters, 3x3(x3)
  convolutions with zero ("same") padding, ReLU inside each convolution then the skip sum, one
  average-pooling level, nearest upsampling, a linear 1x1 read-out; it reads the residual and,
  here, the fluid mask, and its output is zero on solid cells.
* Loss (:func:`dcdm_loss`): ``|| r - (y.r / y.Ay) A y ||^2`` averaged over the batch, for unit
  ``r`` and ``y = f(r)``: the unknown scale of the approximate inverse eliminated in closed form.
* Data (:func:`rhs_dataset`): ``m`` Lanczos vectors of ``A`` with full re-orthogonalisation
  started from ``A xi``, Ritz vectors from the tridiagonal matrix, right-hand sides
  ``sum_i c_i q_i`` with ``c_i ~ N(0, 1)`` and ``9 N(0, 1)`` for the ``m/2 + theta`` lowest
  non-zero Ritz values, normalised (``m = 10,000``, ``theta = 500``, 20,000 vectors in the paper).
* Training: Adam, learning rate 1e-4, batch 10.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Literal

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ProblemError
from ..nn import distributed
from ..nn.fit import DTYPES, RunConfig, torch_device
from ..nn.modelfile import WEIGHTS, read_model, save_model
from ..nn.objective import epoch_batch
from ..nn.trainer import Trainer, TrainResult
from .grid import check_system, pressure_matrix
from .krylov import conjugate_directions

MODEL_VERSION = 1
DEFAULT_MODEL = {2: WEIGHTS / "dcdm-2d.pt", 3: WEIGHTS / "dcdm-3d.pt"}


@dataclass
class DCDMConfig(RunConfig):
    """Options of ``sciml train dcdm`` (and of the ``dcdm`` solver).

    Attributes
    ----------
    n, dim
        Training grid: ``n`` cells per axis in ``dim`` dimensions (the paper: 64^3 and 128^3).
    filters
        Convolution channels (the paper: 16).
    fine_pairs, coarse_pairs, up_pairs
        Residual pairs of convolutions before pooling, on the coarsest level and after each
        upsampling (the paper's 64 model: 1, 3, 2; its 128 model: 2, 5, 3).
    levels
        Pooling levels. 1 is the paper's network (one average pooling, so its reach is a fixed
        number of cells); ``L > 1`` stacks ``L`` pool / upsample levels with ``down_pairs`` pairs
        on the way down and ``up_pairs`` on the way up of each; 0 is "as many as the grid
        allows": the levels are chosen per call so that the coarsest grid has at most
        ``coarsest`` cells per axis, and the intermediate levels share one set of weights (a
        recursive, multigrid-like U-Net whose reach grows with the grid, so one model serves
        every size).
    down_pairs, coarsest
        Pairs on each intermediate level on the way down (``levels != 1``), and the largest
        coarsest grid of ``levels = 0``.
    mask_input
        Give the network the fluid mask as a second channel (the paper reads the residual only).
    layouts
        Random obstacle layouts in the training data besides the empty box (0: the box only, as
        the paper trains); each contributes its own Ritz vectors.
    ritz, theta
        Lanczos vectors ``m`` per matrix (at most its size) and ``theta`` as a fraction of ``m``
        (the paper: 10,000 and 500, i.e. 0.05).
    samples
        Right-hand sides in the training set (the paper: 20,000).
    epochs, batch_size
        Passes over the set and vectors per step (``adam_steps`` follows from them).
    monitor_every
        Every this many steps, solve held-out systems (a random layout at ``n`` and ``2 n``,
        white-noise right-hand side, ``rtol`` 1e-6) and record the iterations beside the
        training time in the model file (``record["monitor"]``); 0: never. The record is part
        of the checkpoint, so a resumed run keeps it.
    init
        A DCDM model file whose weights start the training (fine-tuning, e.g. a model trained at
        128^2 continued at 256^2); its architecture (``dim``, ``filters``, the pair counts,
        ``levels``, ``down_pairs``, ``coarsest``, ``mask_input``) must be this run's. A resumed
        run restores its checkpoint's weights instead. Empty: random initial weights.
    keep
        The weights the model file gets: ``last``, ``best`` (lowest minibatch loss) or
        ``monitor`` (fewest held-out iterations at the monitored steps: the iteration counts
        need not follow the loss; measured on the paper's 128 network at 128^2, 72-88
        iterations after 5,000 steps and 127-177 after 10,250 while the loss fell).
    """

    n: int = 64
    dim: int = 2
    filters: int = 16
    fine_pairs: int = 1
    coarse_pairs: int = 3
    up_pairs: int = 2
    levels: int = 1
    down_pairs: int = 1
    coarsest: int = 8
    mask_input: bool = True
    layouts: int = 16
    ritz: int = 10000
    theta: float = 0.05
    samples: int = 20000
    epochs: int = 3
    batch_size: int = 10
    monitor_every: int = 0
    lr: float = 1e-4
    keep: Literal["best", "last", "monitor"] = "last"
    checkpoint_every: int = 200
    init: str = ""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.dim not in (2, 3) or self.n < 4 or self.filters < 1:
            raise ProblemError("dcdm: dim must be 2 or 3, n >= 4, filters >= 1")
        if self.keep == "monitor" and not self.monitor_every:
            raise ProblemError("dcdm: keep = 'monitor' needs monitor_every > 0")
        if self.levels < 0 or self.coarsest < 2:
            raise ProblemError("dcdm: levels >= 0 (0: as many as the grid allows) and coarsest >= 2")
        if min(self.fine_pairs, self.coarse_pairs, self.up_pairs, self.down_pairs, self.layouts) < 0 \
                or self.samples < 1 \
                or self.epochs < 1 or self.batch_size < 1 or self.ritz < 2 or not 0 <= self.theta < 0.5:
            raise ProblemError("dcdm: pair counts and layouts >= 0, samples, epochs, batch_size >= 1, "
                               "ritz >= 2, 0 <= theta < 0.5")


class DCDMNet(nn.Module):
    """The DCDM network (Kaneda et al. 2023, ``src/train.py``) in ``dim`` dimensions: input
    ``(N, c, *grid)`` (the residual, then the mask when ``mask_input``), output ``(N, *grid)``,
    zero on solid cells. Any grid size works (odd sizes pool with ceil and crop the upsampling).

    With ``levels = 1`` it is the paper's network; deeper variants (``levels``) repeat the pool /
    upsample step so the receptive field spans the grid (see :class:`DCDMConfig`).
    """

    def __init__(self, cfg: DCDMConfig):
        super().__init__()
        conv = nn.Conv2d if cfg.dim == 2 else nn.Conv3d
        f = cfg.filters
        self.dim, self.mask_input, self.levels, self.coarsest = cfg.dim, cfg.mask_input, cfg.levels, cfg.coarsest

        def c(a: int = f) -> nn.Module:
            return conv(a, f, 3, padding=1)

        def pairs(count: int) -> nn.ModuleList:
            return nn.ModuleList(nn.ModuleList([c(), c()]) for _ in range(count))

        self.first = c(2 if cfg.mask_input else 1)
        self.fine_in = c()
        self.fine = pairs(cfg.fine_pairs)
        self.fine_out = c()
        # intermediate levels (between the fine and the coarsest one): one set per level, or one
        # shared set when the depth follows the grid (levels = 0)
        inner = 1 if cfg.levels == 0 else cfg.levels - 1
        self.down = nn.ModuleList(pairs(cfg.down_pairs) for _ in range(inner))
        self.rise = nn.ModuleList(pairs(cfg.up_pairs) for _ in range(inner))
        self.coarse = pairs(cfg.coarse_pairs)
        self.up = pairs(cfg.up_pairs)
        self.last = conv(f, 1, 1)

    @staticmethod
    def _pairs(a: torch.Tensor, pairs: nn.ModuleList) -> torch.Tensor:
        for first, second in pairs:  # b = relu(conv(a)); a = relu(conv(b)) + a
            a = F.relu(second(F.relu(first(a)))) + a
        return a

    def depth(self, shape: tuple[int, ...]) -> int:
        """Pooling levels used on a grid of this shape."""
        if self.levels:
            return self.levels
        size, depth = max(shape), 1
        while -(-size // 2) > self.coarsest:
            size, depth = -(-size // 2), depth + 1
        return depth

    def _level(self, a: torch.Tensor, level: int, depth: int) -> torch.Tensor:
        """The U below the skip ``a`` at ``level`` (1-based): pool, the pairs of this level (the
        coarsest one's, or the down pairs, the level below and the up pairs), upsample."""
        if self.dim == 2:
            b = F.avg_pool2d(a, 2, ceil_mode=True)
        else:  # torch's CPU avg_pool3d has no bfloat16 kernel: pool in float32
            b = F.avg_pool3d(a.float(), 2, ceil_mode=True).to(a.dtype)
        if level == depth:
            b = self._pairs(b, self.coarse)
        else:
            i = 0 if self.levels == 0 else level - 1
            b = self._pairs(b, self.down[i])
            b = self._pairs(self._level(b, level + 1, depth), self.rise[i])
        up = F.interpolate(b, scale_factor=2, mode="nearest")
        return up[(...,) + tuple(slice(0, s) for s in a.shape[2:])] + a

    def forward(self, r: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = torch.stack([r, mask], 1) if self.mask_input else r.unsqueeze(1)
        la = F.relu(self.fine_in(self.first(x)))
        la = self._pairs(la, self.fine)
        lb = F.relu(self.fine_out(la))
        up = self._pairs(self._level(lb, 1, self.depth(tuple(lb.shape[2:]))), self.up)
        return self.last(up)[:, 0] * mask


# -- the stencil of the pressure matrix on grids (batched, differentiable) ------------------------

def open_degree(mask: torch.Tensor) -> torch.Tensor:
    """The diagonal of :func:`~sciml.linalg.grid.pressure_matrix` on the grid: the non-solid
    neighbours of each fluid cell (outside the grid counts as open air); zero on solids."""
    dim = mask.ndim - 1
    padded = F.pad(mask, (1, 1) * dim, value=1.0)
    deg = torch.zeros_like(mask)
    for axis in range(1, dim + 1):
        for start in (0, 2):
            idx = [slice(None)] + [slice(1, -1)] * dim
            idx[axis] = slice(start, start + mask.shape[axis])
            deg = deg + padded[tuple(idx)]
    return deg * mask


def apply_pressure(y: torch.Tensor, mask: torch.Tensor, degree: torch.Tensor) -> torch.Tensor:
    """``A y`` on grids ``(N, *grid)`` (``y`` zero on solids): the degree times ``y`` minus the
    sum of the fluid neighbours, zero on solids (equal to ``pressure_matrix(mask) @ y``)."""
    dim = y.ndim - 1
    padded = F.pad(y * mask, (1, 1) * dim)
    total = torch.zeros_like(y)
    for axis in range(1, dim + 1):
        for start in (0, 2):
            idx = [slice(None)] + [slice(1, -1)] * dim
            idx[axis] = slice(start, start + y.shape[axis])
            total = total + padded[tuple(idx)]
    return (degree * y - total) * mask


def dcdm_loss(r: torch.Tensor, y: torch.Tensor, Ay: torch.Tensor) -> torch.Tensor:
    """``mean_batch || r - (y.r / y.Ay) A y ||^2`` (the paper's loss, invariant to the scale of
    ``y``)."""
    flat = (r.flatten(1), y.flatten(1), Ay.flatten(1))
    alpha = (flat[1] * flat[0]).sum(1) / (flat[1] * flat[2]).sum(1)
    return (flat[0] - alpha[:, None] * flat[2]).pow(2).sum(1).mean()


# -- training data ------------------------------------------------------------------------------

def lanczos(A: sp.spmatrix, m: int, start: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``m`` steps of Lanczos with full re-orthogonalisation from ``start``; returns the Ritz
    values (ascending) and Ritz vectors ``(m, n)``. For ``m >= n`` the dense eigendecomposition
    (the limit of Lanczos with full re-orthogonalisation) is used."""
    n = A.shape[0]
    if m >= n:
        values, vectors = np.linalg.eigh(A.toarray())
        return values, vectors.T
    W = np.zeros((m, n))
    alpha, beta = np.zeros(m), np.zeros(m)
    w = start / np.linalg.norm(start)
    for j in range(m):
        W[j] = w
        v = A @ w
        alpha[j] = w @ v
        v -= alpha[j] * w + (beta[j - 1] * W[j - 1] if j else 0.0)
        v -= W[: j + 1].T @ (W[: j + 1] @ v)  # full re-orthogonalisation (twice is enough)
        v -= W[: j + 1].T @ (W[: j + 1] @ v)
        beta[j] = np.linalg.norm(v)
        if j + 1 < m:
            if beta[j] < 1e-12:
                raise ProblemError(f"Lanczos broke down after {j + 1} steps (an invariant subspace); use ritz <= {j + 1}")
            w = v / beta[j]
    T = np.diag(alpha) + np.diag(beta[:-1], 1) + np.diag(beta[:-1], -1)
    values, Q = np.linalg.eigh(T)
    return values, Q.T @ W


def rhs_dataset(A: sp.spmatrix, count: int, m: int, theta: float, rng: np.random.Generator) -> np.ndarray:
    """``count`` unit right-hand sides ``(count, n)`` built from ``m`` Ritz vectors of ``A`` with
    the paper's weighting (coefficients ``9 N(0, 1)`` on the ``m/2 + theta m`` lowest non-zero Ritz
    values, ``N(0, 1)`` on the others)."""
    n = A.shape[0]
    m = min(m, n)
    values, vectors = lanczos(A, m, A @ rng.standard_normal(n))
    keep = values > 1e-8 * max(values.max(), 1.0)
    vectors = vectors[keep]
    coef = rng.standard_normal((len(vectors), count))
    cut = min(len(vectors), m // 2 + int(round(theta * m)))
    coef[:cut] *= 9.0
    b = (vectors.T @ coef).T
    return (b / np.linalg.norm(b, axis=1, keepdims=True)).astype(np.float32)


def random_layout(shape: tuple[int, ...], rng: np.random.Generator, count: int | None = None) -> np.ndarray:
    """A fluid mask with ``count`` (default 1-5) random ball obstacles of radius 4-15% of the
    grid centred in its middle 60%; fluid pockets that the obstacles cut off from the open
    boundary become solid (they would make the matrix singular)."""
    from scipy.ndimage import label

    grids = np.meshgrid(*[np.arange(s) + 0.5 for s in shape], indexing="ij")
    fluid = np.ones(shape, dtype=bool)
    size = min(shape)
    for _ in range(int(rng.integers(1, 6)) if count is None else count):
        centre = [rng.uniform(0.2 * s, 0.8 * s) for s in shape]
        radius = rng.uniform(0.04, 0.15) * size
        fluid &= sum((g - c) ** 2 for g, c in zip(grids, centre)) > radius**2
    parts, _ = label(fluid)
    edge = np.zeros(shape, dtype=bool)
    for axis in range(len(shape)):
        sl = [slice(None)] * len(shape)
        for end in (0, -1):
            sl[axis] = end
            edge[tuple(sl)] = True
    open_parts = np.unique(parts[edge & fluid])
    return np.isin(parts, open_parts[open_parts > 0])


@dataclass
class TrainingSet:
    """Right-hand sides on grids, with the mask and degree of the layout each belongs to."""

    rhs: torch.Tensor  # (S, *grid)
    layout: torch.Tensor  # (S,) index into masks
    masks: torch.Tensor  # (L, *grid)
    degrees: torch.Tensor  # (L, *grid)


def training_set(cfg: DCDMConfig, progress: bool = False) -> TrainingSet:
    """The paper's Ritz-vector data on the empty box and ``cfg.layouts`` random layouts, the
    samples split evenly between them."""
    rng = np.random.default_rng(cfg.seed if cfg.seed is not None else 0)
    shape = (cfg.n,) * cfg.dim
    masks = [np.ones(shape, dtype=bool)] + [random_layout(shape, rng) for _ in range(cfg.layouts)]
    per = np.diff(np.linspace(0, cfg.samples, len(masks) + 1).round().astype(int))
    rhs, owner = [], []
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(masks), desc="ritz vectors", unit="matrix", leave=False)
    for i, (mask, count) in enumerate(zip(masks, per)):
        b = rhs_dataset(pressure_matrix(mask), int(count), cfg.ritz, cfg.theta, rng)
        grid = np.zeros((len(b), *shape), dtype=np.float32)
        grid[:, mask] = b
        rhs.append(grid)
        owner.append(np.full(len(b), i))
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    m = torch.as_tensor(np.array(masks), dtype=torch.float32)
    return TrainingSet(torch.as_tensor(np.concatenate(rhs)), torch.as_tensor(np.concatenate(owner)), m,
                       open_degree(m))


class DCDMObjective(nn.Module):
    """``forward(step)``: :func:`dcdm_loss` on the step's minibatch
    (:func:`~sciml.nn.objective.epoch_batch`)."""

    def __init__(self, net: DCDMNet, data: TrainingSet, batch_size: int, seed: int):
        super().__init__()
        self.net, self.data, self.batch_size, self.seed = net, data, batch_size, seed

    @property
    def steps_per_epoch(self) -> int:
        return -(-len(self.data.rhs) // self.batch_size)

    def forward(self, step: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        d = self.data
        idx = torch.as_tensor(epoch_batch(step, len(d.rhs), self.batch_size, self.seed), device=d.rhs.device)
        r, which = d.rhs[idx], d.layout[idx]
        mask, degree = d.masks[which], d.degrees[which]
        y = self.net(r, mask)
        loss = dcdm_loss(r, y, apply_pressure(y, mask, degree))
        return loss, {"loss": loss.detach()}


def train(cfg: DCDMConfig, out: str | Path | None = None, callback: Any = None,
          data: TrainingSet | None = None) -> tuple[DCDMNet, TrainResult, dict[str, Any]]:
    """Build the training set (unless given) and train a :class:`DCDMNet`; writes the model file
    ``out`` atomically when given. ``callback(step, net, result)`` runs after every step."""
    from ..nn.trainer import show_progress

    distributed.init_from_env(cfg.device)
    start = _start_weights(cfg) if cfg.init else None  # checked before minutes of Lanczos
    data = data if data is not None else training_set(cfg, show_progress(cfg.progress))
    torch.manual_seed(cfg.seed if cfg.seed is not None else torch.initial_seed() % 2**31)
    device, dtype = torch_device(cfg.device), DTYPES[cfg.dtype]
    net = DCDMNet(cfg).to(device=device, dtype=dtype)
    if start is not None:
        net.load_state_dict(start)
    data = TrainingSet(*(t.to(device=device, dtype=dtype if t.is_floating_point() else t.dtype)
                         for t in (data.rhs, data.layout, data.masks, data.degrees)))
    objective = DCDMObjective(net, data, cfg.batch_size, cfg.sample_seed())
    run_cfg = DCDMConfig(**{**asdict(cfg), "adam_steps": cfg.epochs * objective.steps_per_epoch})
    monitor = HeldOutMonitor(net, cfg) if cfg.monitor_every else None
    if monitor is not None and cfg.init and not cfg.resume:
        monitor.record(0, 0.0, None)  # the starting weights compete too: keep = monitor never ends worse

    def hook(step: int, result: TrainResult) -> None:
        if callback is not None:
            callback(step, net, result)
        if monitor is not None:
            monitor(step, result)

    result = Trainer(objective, run_cfg, stateful={"monitor": monitor} if monitor else None, callback=hook).fit()
    record = {"method": "dcdm", "version": MODEL_VERSION, "config": asdict(cfg), "train": result.summary(),
              "n_params": sum(p.numel() for p in net.parameters()),
              "monitor": monitor.records if monitor is not None else []}
    if cfg.keep == "monitor" and monitor is not None and monitor.best is not None:
        net.load_state_dict(monitor.best["state"])
        record["selected_step"] = monitor.best["step"]
    if out is not None:
        save_model(out, record, net)
    return net, result, record


ARCHITECTURE = ("dim", "filters", "fine_pairs", "coarse_pairs", "up_pairs", "levels", "down_pairs", "coarsest",
                "mask_input")


def _start_weights(cfg: DCDMConfig) -> dict[str, torch.Tensor]:
    """The weights of the model file ``cfg.init``, whose architecture must be ``cfg``'s."""
    start, start_cfg, _ = load_model(cfg.init)
    differ = [f"{k} {getattr(start_cfg, k)} (run: {getattr(cfg, k)})" for k in ARCHITECTURE
              if getattr(start_cfg, k) != getattr(cfg, k)]
    if differ:
        raise ProblemError(f"init: {cfg.init} has another architecture: " + ", ".join(differ))
    return start.state_dict()


class HeldOutMonitor:
    """Held-out iteration counts every ``monitor_every`` steps (:func:`_held_out`) and the
    weights that needed the fewest (their total over the sizes; a failure counts as twice CG's
    count); checkpointed with the run (``state_dict``)."""

    def __init__(self, net: DCDMNet, cfg: DCDMConfig):
        self.net, self.every = net, cfg.monitor_every
        self.systems = _held_out(cfg)
        self.records: list[dict[str, Any]] = []
        self.best: dict[str, Any] | None = None

    def __call__(self, step: int, result: TrainResult) -> None:
        if not (step + 1) % self.every:
            self.record(step + 1, result.seconds, result.final_loss)

    def record(self, step: int, train_s: float, loss: float | None) -> None:
        """Solve the held-out systems with the current weights after ``step`` steps."""
        its = _iterations(self.net, self.systems)
        self.records.append({"step": step, "train_s": train_s, "loss": loss, "iterations": its})
        score = sum(v["dcdm"] if v["dcdm"] is not None else 2 * v["cg"] for v in its.values())
        if self.best is None or score < self.best["score"]:
            self.best = {"score": score, "step": step,
                         "state": {k: v.detach().clone() for k, v in self.net.state_dict().items()}}

    def state_dict(self) -> dict[str, Any]:
        return {"records": self.records, "best": self.best}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.records, self.best = list(state["records"]), state["best"]


def _held_out(cfg: DCDMConfig) -> list[tuple[int, np.ndarray, Any, np.ndarray, int]]:
    """Systems never seen in training: one random layout at ``n`` and ``2 n`` with a white-noise
    right-hand side, and CG's iteration count on each."""
    from .krylov import cg

    rng = np.random.default_rng([10**6, cfg.n])
    out = []
    for n in (cfg.n, 2 * cfg.n):
        fluid = random_layout((n,) * cfg.dim, rng, count=4)
        A = pressure_matrix(fluid)
        b = rng.standard_normal(A.shape[0])
        history: list[float] = []
        cg(A, b, rtol=1e-6, history=history)
        out.append((n, fluid, A, b, len(history) - 1))
    return out


def _iterations(net: DCDMNet, systems: list[tuple[int, np.ndarray, Any, np.ndarray, int]]) -> dict[str, Any]:
    was_training = net.training
    net.eval()
    its: dict[str, Any] = {}
    for n, fluid, A, b, cg_its in systems:
        history: list[float] = []
        _, info = dcdm(A, b, mask=fluid, rtol=1e-6, maxiter=2 * cg_its, model=net, history=history)
        its[str(n)] = {"dcdm": len(history) - 1 if info == 0 else None, "cg": cg_its}
    net.train(was_training)
    return its


def load_model(path: str | Path) -> tuple[DCDMNet, DCDMConfig, dict[str, Any]]:
    """A saved DCDM network (float32, evaluation mode), its config and its record."""
    net, cfg, state = read_model(path, "dcdm", DCDMConfig, lambda cfg, state: DCDMNet(cfg))
    return net.float().eval(), cfg, state  # type: ignore[return-value]


PRECISIONS = {"float32": torch.float32, "bfloat16": torch.bfloat16}


def inference_copy(net: DCDMNet, precision: str = "float32") -> DCDMNet:
    """``net`` prepared for fast CPU calls: evaluation mode, channels-last memory layout (1.1-1.8x
    fewer milliseconds per call than the default layout at 128^2-1024^2 on one thread) and, with
    ``precision = "bfloat16"``, bfloat16 weights (another 2-3x on CPUs with native bfloat16; the
    direction changes by about 1e-2 relative: the iteration, in float64, still converges, but
    may need more iterations, few with the shipped model, many with a less trained one;
    docs/deep-cg.md). Cached on ``net`` until its weights change (training
    updates them in place, which bumps their version counters)."""
    if precision not in PRECISIONS:
        raise ProblemError(f"dcdm: precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    key = (precision, tuple(p._version for p in net.parameters()))
    cached = getattr(net, "_inference_copy", None)
    if cached is None or cached[0] != key:
        import copy

        fast = copy.deepcopy(net).eval().to(dtype=PRECISIONS[precision])
        fast.__dict__.pop("_inference_copy", None)
        if next(fast.parameters()).device.type == "cpu":
            fast = fast.to(memory_format=torch.channels_last if net.dim == 2 else torch.channels_last_3d)
        object.__setattr__(net, "_inference_copy", (key, fast))  # not a submodule: no state_dict entry
        cached = net._inference_copy
    return cached[1]


def network_direction(net: DCDMNet, fluid: np.ndarray, precision: str = "float32") -> Callable[[np.ndarray], np.ndarray]:
    """``r -> f(r)`` on the fluid cells of ``fluid`` with the network ``net`` (see
    :func:`inference_copy` for ``precision``); the input grid and the index of the fluid cells
    are built once and reused by every call."""
    fast = inference_copy(net, precision)
    p = next(fast.parameters())
    mask = torch.as_tensor(fluid[None], dtype=p.dtype, device=p.device)
    where = torch.as_tensor(np.flatnonzero(fluid.ravel()), device=p.device)
    grid = torch.zeros((1,) + fluid.shape, dtype=p.dtype, device=p.device)  # solid cells stay 0
    flat = grid.view(-1)

    def direction(r: np.ndarray) -> np.ndarray:
        flat[where] = torch.as_tensor(r, device=p.device).to(p.dtype)
        with torch.inference_mode():
            out = fast(grid, mask)[0]
        return out.reshape(-1)[where].double().cpu().numpy()

    return direction


_LOADED: dict[str, DCDMNet] = {}


def _default_net(dim: int) -> DCDMNet:
    path = DEFAULT_MODEL.get(dim)
    if path is None or not path.is_file():
        raise ProblemError(f"no shipped {dim}D DCDM model: train one with `sciml train dcdm --set dim={dim} --out "
                           f"m.pt` and pass model=")
    if str(path) not in _LOADED:
        _LOADED[str(path)] = load_model(path)[0]
    return _LOADED[str(path)]


def dcdm(A: Any, b: np.ndarray, x0: np.ndarray | None = None, *, mask: np.ndarray, rtol: float = 1e-6,
         atol: float = 0.0, maxiter: int | None = None, callback: Callable[[np.ndarray], None] | None = None,
         history: list | None = None, model: str | Path | DCDMNet | None = None, k: int = 2,
         min_cosine: float = 1e-3, precision: str = "float32") -> tuple[np.ndarray, int]:
    """Solve ``A x = b`` by the deep conjugate direction method.

    Parameters
    ----------
    A, b
        The pressure system on the fluid cells of ``mask`` (row-major), e.g. from
        :func:`~sciml.linalg.grid.pressure_matrix`.
    mask
        The boolean fluid grid (2D or 3D).
    rtol, atol, maxiter, callback, history
        As in :func:`~sciml.linalg.krylov.cg` (``maxiter`` default 1,000).
    model
        A :class:`DCDMNet`, a model file, or None for the shipped model of the grid's dimension.
    k
        Directions to A-orthogonalise against (the paper: 2).
    min_cosine
        Use the residual instead of a network direction whose cosine with it is below this (a
        safeguard against the stall of an imperfect network; 0: the paper's iteration; see
        :func:`~sciml.linalg.krylov.conjugate_directions`).
    precision
        ``float32`` or ``bfloat16`` for the network's calls (:func:`inference_copy`); the
        iteration itself runs in float64 either way.

    Returns
    -------
    x, info
        ``info`` 0 on convergence, the iteration count when ``maxiter`` ran out, negative on a
        breakdown (as SciPy).
    """
    A, b = check_system(A, b, mask)
    mask = np.asarray(mask, dtype=bool)
    if isinstance(model, DCDMNet):
        net = model
    elif model is None:
        net = _default_net(mask.ndim)
    else:
        net = load_model(model)[0]
    if net.dim != mask.ndim:
        raise ProblemError(f"the DCDM model is {net.dim}D but the mask is {mask.ndim}D")
    return conjugate_directions(A, b, network_direction(net, mask, precision), x0, k=k, rtol=rtol, atol=atol,
                                maxiter=1000 if maxiter is None else maxiter, callback=callback, history=history,
                                min_cosine=min_cosine)


