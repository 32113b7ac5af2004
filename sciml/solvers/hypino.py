"""``hypino``: HyPINO (Bischof et al., "HyPINO: Multi-Physics Neural Operators via HyperPINNs
and the Method of Manufactured Solutions", 2025). A hypernetwork (:mod:`sciml.nn.hypernet`)
reads a linear PDE's encoding (:mod:`sciml.problems.raster`) and emits, in one forward pass,
the weights of a PINN (:class:`~sciml.nn.hyper.ModifiedMLP`) that solves it.

* Amplitude by linearity (``amplitude = "scaled"``, the default; not in the paper): the operator
  is linear, so every problem, in training and at inference, is divided by one scale taken from
  its data (:func:`~sciml.problems.raster.encode`) and the emitted field multiplied back; the
  network never has to produce absolute amplitudes (the paper's ``absolute`` encoding is an
  option; models trained before it was added load as ``absolute``).
* Training (:func:`train`, ``sciml train hypino``): samples generated on the fly
  (:mod:`sciml.data.pde_samples`: manufactured solutions and unlabeled physics samples), the
  paper's Huber loss ``1 L_u + 0.25 L_der + 0.25 L_f + 10 L_D + 1 L_N`` on the generated
  networks' values and autograd derivatives, AdamW with linear warm-up and cosine decay.
* Delta-PINN refinement (:func:`refine`): ``L`` is linear, so ``L(u + du) = f`` holds when
  ``L du = f - L u``; the residuals ``g_D - u``, ``g_N - du/dn`` and ``f - L u`` on the grid are
  encoded as a new problem (with its own scale) and the emitted network is added to the ensemble
  (forward passes only).
* Fine-tuning: the (refined) ensemble's weights trained on the problem's physics loss (the shared
  core, :func:`~sciml.nn.fit.fit_physics`), Adam then L-BFGS.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar, Literal, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..data.pde_samples import SampleConfig, collate, draw_sample
from ..data.reference_samples import ReferenceBank
from ..errors import ProblemError
from ..nn import distributed
from ..nn.fit import DTYPES, PhysicsConfig, RunConfig, fit_physics, network_solution, place, torch_device
from ..nn.hyper import GeneratedField, ModifiedMLP
from ..nn.hypernet import Hypernetwork, HypernetConfig
from ..nn.jet import Field
from ..nn.modelfile import WEIGHTS, read_model, save_model
from ..nn.trainer import Trainer, TrainResult
from ..problems import Problem
from ..problems.linear import apply, coefficients
from ..problems.raster import Raster, encode, rasterize
from ..solution import Solution
from .base import GeneratesOwnData, TrainedSolver, check_supported
from .operator import resolve_model
from .registry import register

MODEL_VERSION = 2  # 2: the amplitude option (version-1 files are "absolute")
DEFAULT_MODEL = WEIGHTS / "hypino.pt"


@dataclass
class HyPINOConfig(RunConfig):
    """Options of ``sciml train hypino`` (``--set``): network sizes (:class:`HypernetConfig`),
    sample distribution (:class:`~sciml.data.pde_samples.SampleConfig`), loss weights and the
    optimiser (:class:`~sciml.nn.fit.RunConfig`, with HyPINO's AdamW and warm-up + cosine
    schedule; learning rate 1e-3 rather than the paper's 1e-4 for the small network and short run).

    Attributes
    ----------
    batch_size
        Samples per step (per process under ``torchrun``); the paper: 16 x 8 accumulated.
    w_u, w_der, w_f, w_d, w_n
        Huber loss weights of the values, derivatives, residual, Dirichlet and Neumann terms
        (the paper's 1, 0.25, 0.25, 10, 1).
    workers
        Data-loader processes generating samples beside training (0: in the training process).
    amplitude
        ``scaled`` (amplitude by linearity, see the module docstring) or ``absolute`` (the paper).
    backbone
        ``swin`` (the paper's Swin stages) or ``conv`` (residual convolution stages;
        :mod:`sciml.nn.hypernet`).
    reference_bank, reference_fraction
        A bank of problems of the benchmark classes solved by the SciPy references
        (:func:`~sciml.data.reference_samples.write_bank`, ``sciml data hypino-bank``) and the
        share of each batch drawn from it (the rest: manufactured and unlabeled samples).
    """

    grid: int = 64
    backbone: Literal["swin", "conv"] = "swin"
    embed: int = 32
    depths: list = field(default_factory=lambda: [2, 2, 2])
    heads: list = field(default_factory=lambda: [2, 4, 8])
    window: int = 4
    head_hidden: int = 64
    target_width: int = 32
    target_layers: int = 3
    interior: int = 512
    boundary: int = 512
    raster_points: int = 2048
    max_terms: int = 3
    mms_terms: list = field(default_factory=lambda: [6, 10])
    mms_ab: float = 10.0
    max_holes: int = 3
    supervised_fraction: float = 0.5
    amplitude: Literal["scaled", "absolute"] = "scaled"
    reference_bank: str | None = None
    reference_fraction: float = 0.25
    batch_size: int = 16
    w_u: float = 1.0
    w_der: float = 0.25
    w_f: float = 0.25
    w_d: float = 10.0
    w_n: float = 1.0
    workers: int = 1
    adam_steps: int = 5000
    lr: float = 1e-3
    adamw: bool = True
    weight_decay: float = 1e-4
    lr_schedule: str = "warmup_cosine"
    onecycle_pct: float = 0.01
    onecycle_final_div: float = 1000.0
    keep: str = "last"
    checkpoint_every: int = 100

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0 <= self.reference_fraction <= 1:
            raise ProblemError("reference_fraction must lie in [0, 1]", None, "reference_fraction")

    def network(self) -> HypernetConfig:
        return HypernetConfig(grid=self.grid, backbone=self.backbone, embed=self.embed, depths=tuple(self.depths), heads=tuple(self.heads),
                              window=self.window, head_hidden=self.head_hidden, target_width=self.target_width,
                              target_layers=self.target_layers)

    def samples(self) -> SampleConfig:
        return SampleConfig(grid=self.grid, interior=self.interior, boundary=self.boundary,
                            raster_points=self.raster_points, max_terms=self.max_terms,
                            mms_terms=tuple(self.mms_terms), mms_ab=self.mms_ab, max_holes=self.max_holes,
                            supervised_fraction=self.supervised_fraction, amplitude=self.amplitude,
                            reference_bank=self.reference_bank, reference_fraction=self.reference_fraction)


# -- the generated networks and their derivatives ----------------------------------------------
def derivatives(target: ModifiedMLP, flat: torch.Tensor, x: torch.Tensor, second: bool = True
                ) -> dict[str, torch.Tensor]:
    """``u, ux, uy`` (and ``uxx, uyy``) ``(B, N)`` of ``B`` generated networks at points ``x``
    ``(B, N, 2)`` by autograd, differentiable in ``flat``."""
    x = x.detach().requires_grad_(True)
    u = target(x, flat)[..., 0]
    (g,) = torch.autograd.grad(u.sum(), x, create_graph=True)
    out = {"u": u, "ux": g[..., 0], "uy": g[..., 1]}
    if second:
        out["uxx"] = torch.autograd.grad(g[..., 0].sum(), x, create_graph=True)[0][..., 0]
        out["uyy"] = torch.autograd.grad(g[..., 1].sum(), x, create_graph=True)[0][..., 1]
    return out


def huber(residual: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """Mean Huber loss (delta 1) over the entries, over those with ``weight`` 1 when given."""
    h = F.huber_loss(residual, torch.zeros_like(residual), reduction="none", delta=1.0)
    if weight is None:
        return h.mean()
    w = weight.expand_as(h)
    return (h * w).sum() / w.sum().clamp_min(1.0)


def sample_loss(model: Hypernetwork, batch: dict[str, torch.Tensor], cfg: HyPINOConfig
                ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """HyPINO's loss on a collated batch: ``(total, terms)``."""
    flat = model(batch["channels"], batch["coefficients"])
    d = derivatives(model.target, flat, batch["interior"])
    c = batch["coefficients"][:, :, None]  # (B, 5, 1) against (B, N)
    sup = batch["supervised"][:, None]
    t = batch["targets"]
    terms = {"u": huber(d["u"] - t[..., 0], sup),
             "der": huber(torch.stack([d[k] - t[..., i] for i, k in enumerate(("ux", "uy", "uxx", "uyy"), 1)]),
                          batch["derivative_targets"][:, None][None]),
             "f": huber(apply(c.unbind(1), d) - batch["source"])}
    b = derivatives(model.target, flat, batch["boundary"], second=False)
    dudn = b["ux"] * batch["normals"][..., 0] + b["uy"] * batch["normals"][..., 1]
    terms["D"] = huber(batch["dirichlet"] * b["u"] - batch["g_d"])
    terms["N"] = huber(batch["neumann"] * dudn - batch["g_n"])
    w = {"u": cfg.w_u, "der": cfg.w_der, "f": cfg.w_f, "D": cfg.w_d, "N": cfg.w_n}
    return sum(w[k] * v for k, v in terms.items()), terms  # type: ignore[return-value]


class StepBatches(torch.utils.data.Dataset):
    """Batch ``step`` of this process: ``batch_size`` samples from the generator seeded by
    ``(seed, step, rank)`` (a pure function of the step, so training resumes exactly)."""

    def __init__(self, cfg: HyPINOConfig, seed: int, first: int = 0):
        self.cfg, self.samples, self.seed, self.first = cfg, cfg.samples(), seed, first
        self.rank = distributed.rank()
        self.bank = ReferenceBank(cfg.reference_bank, cfg.grid) if cfg.reference_bank else None

    def __len__(self) -> int:
        return max(self.cfg.adam_steps - self.first, 0)

    def __getitem__(self, index: int) -> tuple[int, dict[str, torch.Tensor]]:
        step = self.first + index
        rng = np.random.default_rng([self.seed, step, self.rank])
        return step, collate([self.bank.sample(rng, self.samples)
                              if self.bank is not None and rng.random() < self.cfg.reference_fraction
                              else draw_sample(rng, self.samples) for _ in range(self.cfg.batch_size)])


class SampleObjective(nn.Module):
    """``forward(step)``: HyPINO's loss on the step's generated batch (prefetched by
    ``workers`` data-loader processes)."""

    def __init__(self, model: Hypernetwork, cfg: HyPINOConfig, seed: int):
        super().__init__()
        self.model, self.cfg, self.seed = model, cfg, seed
        self._iter: Any = None
        self._next = -1

    def _batch(self, step: int) -> dict[str, torch.Tensor]:
        if self._iter is None or step != self._next:
            data = StepBatches(self.cfg, self.seed, step)
            loader = torch.utils.data.DataLoader(data, batch_size=None, shuffle=False, num_workers=self.cfg.workers,
                                                 prefetch_factor=2 if self.cfg.workers else None,
                                                 persistent_workers=False)
            self._iter = iter(loader)
        got, batch = next(self._iter)
        self._next = got + 1
        param = next(self.model.parameters())
        return {k: v.to(device=param.device, dtype=param.dtype) for k, v in batch.items()}

    def forward(self, step: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        total, terms = sample_loss(self.model, self._batch(step), self.cfg)
        return total, {k: v.detach() for k, v in terms.items()}


def train(cfg: HyPINOConfig, out: str | Path | None = None, callback: Any = None
          ) -> tuple[Hypernetwork, TrainResult, dict[str, Any]]:
    """Train a hypernetwork on generated samples; writes the model file ``out`` when given.
    ``callback(step, model, result)`` runs after every step (not counted as training time)."""
    distributed.init_from_env(cfg.device)
    torch.manual_seed(cfg.seed if cfg.seed is not None else torch.initial_seed() % 2**31)
    model = Hypernetwork(cfg.network()).to(device=torch_device(cfg.device), dtype=DTYPES[cfg.dtype])
    objective = SampleObjective(model, cfg, cfg.seed if cfg.seed is not None else 0)
    hook = (lambda step, result: callback(step, model, result)) if callback is not None else None
    model.train()
    result = Trainer(objective, cfg, callback=hook).fit()
    stride = max(1, len(result.history) // 500)  # the loss terms over training, for diagnostics
    record = {"method": "hypino", "version": MODEL_VERSION, "config": asdict(cfg), "train": result.summary(),
              "history": result.history[::stride],
              "n_params": sum(p.numel() for p in model.parameters()), "target_params": model.target.n_params,
              "threads": torch.get_num_threads(), "world_size": distributed.world_size()}
    if out is not None:
        save_model(out, record, model)
    return model.eval(), result, record


def load_model(path: str | Path) -> tuple[Hypernetwork, HyPINOConfig, dict[str, Any]]:
    """A saved hypernetwork, its config and its record."""
    model, cfg, state = read_model(path, "hypino", HyPINOConfig, lambda c, s: Hypernetwork(c.network()))
    if "amplitude" not in state["config"]:  # trained before the option existed: the paper's encoding
        cfg.amplitude = "absolute"
    return model.eval(), cfg, state  # type: ignore[return-value]


# -- solving a problem ---------------------------------------------------------------------------
class Ensemble(Field):
    """``u = sum_k s_k u_k``: the generated network and its refinement deltas, each times the
    scale of the problem it was emitted for (fine-tuning trains every member's weights; the
    scales stay fixed)."""

    def __init__(self, spec: ModifiedMLP, members: Sequence[torch.Tensor], scales: Sequence[float] | None = None):
        super().__init__()
        self.spec = spec
        self.members = nn.ModuleList(GeneratedField(spec, m) for m in members)
        self.scales = [1.0] * len(members) if scales is None else [float(s) for s in scales]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return sum(s * m(x) for s, m in zip(self.scales, self.members))  # type: ignore[return-value]

    def flats(self) -> torch.Tensor:
        return torch.stack([m.flat for m in self.members])

    def first(self, k: int) -> "Ensemble":
        """A copy of the first ``k`` members (``first(1)``: the zero-shot network)."""
        return Ensemble(self.spec, [m.flat.detach() for m in self.members[:k]], self.scales[:k])


def _emit(model: Hypernetwork, channels: np.ndarray, c: np.ndarray) -> torch.Tensor:
    param = next(model.parameters())
    with torch.no_grad():
        return model(torch.as_tensor(channels[None], dtype=param.dtype, device=param.device),
                     torch.as_tensor(c[None], dtype=param.dtype, device=param.device))[0]


def residual_problem(r: Raster, ensemble: Ensemble) -> tuple[np.ndarray, np.ndarray]:
    """The delta problem of the ensemble: its boundary channels (same masks,
    ``(g_D - u) mask_D``, ``(g_N - du/dn) mask_N``) and its source ``f - L u`` at the pixels
    (zero outside the domain)."""
    flats = ensemble.flats().detach()
    x = torch.as_tensor(r.pixels, dtype=flats.dtype, device=flats.device)
    d = derivatives(ensemble.spec, flats, x.expand(len(flats), -1, -1))
    scales = torch.as_tensor(ensemble.scales, dtype=flats.dtype, device=flats.device)[:, None]
    s = {k: (v.detach() * scales).sum(0).double().cpu().numpy() for k, v in d.items()}
    n = len(r.x)
    dudn = s["ux"] * r.normals[:, 0] + s["uy"] * r.normals[:, 1]
    out = r.channels[:4].copy()
    md, mn = r.channel("dirichlet_mask"), r.channel("neumann_mask")
    out[2] = (r.channel("dirichlet_value") - s["u"].reshape(n, n)) * md
    out[3] = (r.channel("neumann_value") - dudn.reshape(n, n)) * mn
    return out, (r.f - apply(r.coefficients, s)) * r.inside.ravel()


def refine(model: Hypernetwork, r: Raster, steps: int, weights: Sequence[float] = (),
           callback: Any = None, amplitude: str = "scaled") -> Ensemble:
    """The zero-shot network plus ``steps`` delta networks (weights ``lambda_t``, default 1,
    scale each delta), each emitted for its problem encoded with ``amplitude``
    (:func:`~sciml.problems.raster.encode`). ``callback(t, ensemble)`` sees the ensemble after
    each step."""
    channels, scale = r.encoded(amplitude)
    ensemble = Ensemble(model.target, [_emit(model, channels.astype(np.float32), r.coefficients)], [scale])
    if callback is not None:
        callback(0, ensemble)
    for t in range(steps):
        channels, scale = encode(*residual_problem(r, ensemble), r.inside, amplitude)
        lam = weights[t] if t < len(weights) else 1.0
        flats = [m.flat.detach() for m in ensemble.members] + [_emit(model, channels.astype(np.float32), r.coefficients)]
        ensemble = Ensemble(model.target, flats, ensemble.scales + [lam * scale])
        if callback is not None:
            callback(t + 1, ensemble)
    return ensemble


@dataclass
class HyPINOSolverConfig(PhysicsConfig):
    """Options of ``hypino`` (``[solver.hypino]``).

    Attributes
    ----------
    model
        A HyPINO model file (default: the shipped ``sciml/weights/hypino.pt``).
    refine_steps
        Delta-PINN refinement steps (forward passes only; the paper: 3-10).
    refine_weights
        ``lambda_t`` of each delta (default 1 each).
    finetune_steps
        Adam steps of fine-tuning the generated ensemble on the problem's physics loss (0: none);
        ``lbfgs_steps`` L-BFGS steps follow. Fine-tuning uses the paper's notebook weights:
        residual 0.1 (``w_res``), boundary 10 (``w_bc``), and lr 1e-3 with cosine decay; the
        robustness defaults of ``pinn`` (gradient-norm balancing, RAR-D, exact conditions) are off
        so the recipe stays the paper's (each can be turned on).
    """

    model: str | None = None
    refine_steps: int = 0
    refine_weights: list = field(default_factory=list)
    finetune_steps: int = 0
    adam_steps: int = 0
    lr_schedule: str = "cosine"
    w_res: float = 0.1
    w_bc: float = 10.0
    n_interior: int = 2048
    n_boundary: int = 2048
    resample_every: int = 1
    balance: Literal["gradnorm", "none"] = "none"  # the paper's fixed fine-tuning weights
    rar_every: int = 0
    hard_bc: bool = False  # the emitted network is the fine-tuned field itself (no A + B N wrapper)
    hard_ic: bool = False
    residual_form: Literal["primal"] = "primal"  # the emitted PINN has no flux outputs (its problems: constant K)


@register
class HyPINOSolver(GeneratesOwnData, TrainedSolver):
    """HyPINO: one forward pass of a hypernetwork gives a PINN for a linear 2D problem; optional
    delta-PINN refinement and fine-tuning."""

    name: ClassVar[str] = "hypino"
    needs: ClassVar[frozenset[str]] = frozenset({"operator2d", "dim2", "steady"})
    description: ClassVar[str] = "hypernetwork-emitted PINNs with delta refinement (Bischof et al. 2025)"
    config_class: ClassVar[type] = HyPINOSolverConfig
    train_config_class: ClassVar[type] = HyPINOConfig
    data_source: ClassVar[str] = "problems it generates on the fly"

    @classmethod
    def train_record(cls, cfg: HyPINOConfig, out: str | Path | None, callback: Any) -> dict[str, Any]:
        return train(cfg, out, callback)[2]

    @classmethod
    def summary(cls, record: dict[str, Any]) -> str:
        tr = record["train"]
        return (f"hypino: {record['n_params']:,} weights emitting {record['target_params']:,}-parameter PINNs, "
                f"{tr['adam_steps']:,} steps in {tr['train_s']:.0f} s, final loss {tr['final_loss']:.4f}")

    def solve(self, problem: Problem) -> Solution:
        check_supported(self, problem)
        coefficients(problem)  # refuses transient, 3D and non-constant problems clearly
        cfg = self.config(problem)
        path = resolve_model(cfg.model, problem) if cfg.model else DEFAULT_MODEL
        model, mcfg, _ = load_model(path)
        model = model.to(torch_device(cfg.device))  # --device: the emission and fine-tuning run there
        start = time.perf_counter()
        ensemble = refine(model, rasterize(problem, n=mcfg.grid), cfg.refine_steps, cfg.refine_weights,
                          amplitude=mcfg.amplitude)
        info: dict[str, Any] = {"model": str(cfg.model or "shipped"), "inference_s": time.perf_counter() - start,
                                "refine_steps": cfg.refine_steps, "grid": mcfg.grid, "amplitude": mcfg.amplitude,
                                "scales": ensemble.scales,
                                "hypernetwork_params": sum(p.numel() for p in model.parameters())}
        field_ = place(ensemble, cfg)
        if cfg.finetune_steps or cfg.lbfgs_steps:
            run = HyPINOSolverConfig(**{**{f.name: getattr(cfg, f.name) for f in fields(cfg)},
                                        "adam_steps": cfg.finetune_steps})
            info["finetune"] = fit_physics(problem, field_, run, self.callback).summary()
        return network_solution(problem, field_, self.name, info)
