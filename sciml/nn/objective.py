"""The physics-informed objective: a model, a :class:`PhysicsLoss` and collocation draws,
packaged as the ``forward(step) -> (total, terms)`` module the :class:`Trainer` expects."""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from . import distributed

from .balance import GradNormBalance
from .collocation import PointSampler, PointSet
from .jet import Field
from .physics import Batch, PhysicsLoss


def epoch_batch(step: int, n: int, batch_size: int, seed: int) -> np.ndarray:
    """This process's sample indices for minibatch ``step`` of epochs over ``n`` samples: epoch
    ``e`` visits them in the order ``rng([seed, e]).permutation(n)`` in batches of
    ``batch_size``, and under ``torchrun`` each process takes its share of the batch. A pure
    function of the step, so training resumes exactly."""
    per_epoch = -(-n // batch_size)
    epoch, k = divmod(step, per_epoch)
    order = np.random.default_rng([seed, epoch]).permutation(n)
    return order[k * batch_size:(k + 1) * batch_size][distributed.rank()::distributed.world_size()]


class ResamplingBatches:
    """A batch per block of ``every`` steps (``every = 0``: one batch for the whole run), plus the
    interior points added by residual-based refinement (:meth:`add`), which every later batch keeps.

    The sampler's random state before the current draw and the added points are part of
    :meth:`state_dict`, so a resumed run redraws exactly the batch the interrupted one was using.
    """

    def __init__(self, sampler: PointSampler, prepare: Callable[[Any], Batch], every: int = 0):
        if every < 0:
            raise ValueError(f"resample_every must be >= 0, got {every}")
        self.sampler, self.prepare, self.every = sampler, prepare, every
        self.index: int | None = None
        self.batch: Batch | None = None
        self.added: np.ndarray | None = None
        self._points: PointSet | None = None
        self._before: dict[str, Any] | None = None

    def _prepare(self) -> None:
        points = self._points
        assert points is not None
        if self.added is not None:
            points = replace(points, interior=np.concatenate([points.interior, self.added]))
        self.batch = self.prepare(points)

    def _draw(self, index: int) -> None:
        self._before = self.sampler.state_dict()
        self._points, self.index = self.sampler.sample(), index
        self._prepare()

    def get(self, step: int) -> Batch:
        index = step // self.every if self.every else 0
        if index != self.index:
            self._draw(index)
        return self.batch  # type: ignore[return-value]

    def add(self, points: np.ndarray) -> None:
        """Keep ``points`` among the interior points of this and every later batch."""
        self.added = points if self.added is None else np.concatenate([self.added, points])
        if self._points is not None:
            self._prepare()

    def state_dict(self) -> dict[str, Any]:
        return {"before": self._before, "index": self.index, "added": self.added}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.added = state.get("added")
        if state["before"] is None:
            return
        self.sampler.load_state_dict(state["before"])
        self._draw(state["index"])


@dataclass(frozen=True)
class Refinement:
    """Residual-based adaptive refinement with a distribution (RAR-D; Wu, Zhu, Tan, Kartha & Lu,
    "A comprehensive study of non-adaptive and residual-based adaptive sampling for
    physics-informed neural networks", CMAME 403, 2023): every ``every`` Adam steps, ``points``
    new collocation points are drawn from ``candidates`` uniform ones with probability
    ``p ~ r^k / mean(r^k) + c`` (``r`` the residual norm). The paper's RAR-D uses k = 2, c = 0
    (the default: the development set's ablation measured it); k = 1, c = 1 (half the points
    uniform) was no better on the development set's 3D inclusions and long-time Fisher-KPP and
    the 1D boundary layer (docs/benchmarks/robust-regressions.md)."""

    every: int = 1000
    points: int = 200
    candidates: int = 10000
    k: float = 2.0
    c: float = 0.0


class _Constant(Field):
    """``N(x) = value`` in each of ``n_out`` components (no parameters)."""

    def __init__(self, n_out: int, value: float):
        super().__init__()
        self.n_out, self.value = n_out, value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.full((len(x), self.n_out), self.value, dtype=x.dtype, device=x.device)


class PhysicsObjective(nn.Module):
    """``forward(step)``: the weighted physics loss of ``model`` on the step's collocation batch.

    Returns ``(total, terms)`` with the unweighted mean-square terms (``res``, ``bc*``, ``ic``).
    ``balance`` (:class:`~sciml.nn.balance.GradNormBalance`) reweights the terms during the
    first ``adapt_until`` steps (Adam) and keeps its last weights after; ``refine`` adds
    collocation points where the residual is large during those steps.
    """

    def __init__(self, model: nn.Module, loss: PhysicsLoss, batches: ResamplingBatches,
                 balance: GradNormBalance | None = None, refine: Refinement | None = None,
                 adapt_until: int = 0, seed: int = 0, unknowns: nn.Module | None = None):
        super().__init__()
        self.model, self.loss, self.batches = model, loss, batches
        self.balance, self.refine, self.adapt_until, self.seed = balance, refine, adapt_until, seed
        self.unknowns = unknowns  # trained beside the model (sciml.nn.inverse.Unknowns)
        self._check_batch: Batch | None = None  # the fixed points of evaluate()

    def forward(self, step: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        adapting = step < self.adapt_until
        if adapting and self.refine is not None and step > 0 and step % self.refine.every == 0:
            self._refine(step)
        batch = self.batches.get(step)
        terms = self.loss.terms(self.model, batch)
        weights = None
        if self.balance is not None:
            params = [p for p in self.model.parameters() if p.requires_grad]
            weights = self.balance.update(step, terms, params) if adapting else self.balance.weights
        total = self.loss.total(terms, weights)
        reg = self._regulariser(batch.interior)
        if reg is not None:  # a fixed weight, outside the balance (it is a prior, not a residual)
            total = total + reg
            terms = {**terms, "reg": reg}
        if self.unknowns is not None and self.unknowns.scalars is not None:  # shown and logged, not losses
            terms = {**terms, **{f"unknown.{k}": v for k, v in self.unknowns.scalars.values().items()}}
        return total, {k: v.detach() for k, v in terms.items()}

    def evaluate(self) -> float:
        """The current state's score on fixed terms: the loss on one fixed draw of collocation
        points (the same for every call), under the current balance weights, with the plain mean
        residual instead of the causally weighted one. Two states of a run compare fairly here,
        unlike their training losses (fresh points every block of steps, weights that move);
        the trainer uses it to choose between the lowest-loss state and the last one."""
        batch = self._check_points()
        with torch.enable_grad():
            terms = self._fixed_terms()
            weights = self.balance.weights if self.balance is not None else None
            total = self.loss.total(terms, weights)
            reg = self._regulariser(batch.interior)
        return float((total + reg if reg is not None else total).detach())

    def check_terms(self) -> dict[str, float]:
        """The current state's unweighted loss terms on the fixed draw of :meth:`evaluate`."""
        return {name: float(value.detach()) for name, value in self._fixed_terms().items()}

    def _fixed_terms(self) -> dict[str, torch.Tensor]:
        """The unweighted terms on the fixed draw, plain mean residual (derivatives need grad)."""
        with torch.enable_grad():
            return self.loss.terms(self.model, self._check_points(), causal=False)

    def _check_points(self) -> Batch:
        """The fixed draw of :meth:`evaluate`, made on first use."""
        if self._check_batch is None:
            # a copy of the sampler with its own generator, so training's draws stay as they were
            fixed = copy.copy(self.batches.sampler)
            fixed.rng = np.random.default_rng([self.seed, 271828])
            self._check_batch = self.batches.prepare(fixed.sample())
        return self._check_batch

    def trivial_score(self, inner: nn.Module, value: float = 0.0) -> float:
        """:meth:`evaluate` with ``inner`` (the trained network inside the model's output
        scaling and exact conditions) replaced by the constant ``value``: with 0 the score of
        the field the problem's data alone give (``u = shift``, or ``u = A`` with exact
        conditions), under the same weights. A trained state that scores about as high has
        learned nothing beyond it."""
        n_out = inner(self._check_points().interior[:2]).shape[1]
        places = [(self, "model")] if self.model is inner else [
            (m, n) for m in self.model.modules() for n, c in m.named_children() if c is inner]
        for owner, name in places:  # every place (the field and flux heads of a first-order model)
            setattr(owner, name, _Constant(n_out, value))
        try:
            return self.evaluate()
        finally:
            for owner, name in places:
                setattr(owner, name, inner)

    def _regulariser(self, x: torch.Tensor) -> torch.Tensor | None:
        if self.unknowns is None or not len(self.unknowns.fields):
            return None
        weights = {n: f.spec.smoothness for n, f in self.unknowns.fields.items()}
        return self.unknowns.penalty(x[:, : self.loss.dim], weights)

    def _refine(self, step: int) -> None:
        r = self.refine
        assert r is not None
        rng = np.random.default_rng([self.seed, step])
        candidates = self.batches.sampler.interior(r.candidates, rng)
        norms = []
        for chunk in np.array_split(candidates, max(1, len(candidates) // 2000)):
            batch = self.loss.prepare(PointSet(interior=chunk))
            squares = self.loss.point_residuals(self.model, batch.interior, batch.coef).detach()
            norms.append(squares.sqrt().double().cpu().numpy())
        err = np.concatenate(norms) ** r.k
        mean = err.mean()
        if not np.isfinite(mean) or mean <= 0:
            return
        p = err / mean + r.c
        chosen = rng.choice(len(candidates), size=min(r.points, len(candidates)), replace=False, p=p / p.sum())
        self.batches.add(candidates[chosen])

    def adaptive_state(self) -> "_AdaptiveState":
        """The balance weights and the causal reference, as a checkpointable object."""
        return _AdaptiveState(self)

    def extra_state(self) -> dict[str, Any]:
        """What a checkpoint must hold besides the parameters."""
        return {"balance": self.balance.state_dict() if self.balance is not None else None,
                "causal_ref": self.loss.causal_ref}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        if self.balance is not None and state.get("balance") is not None:
            self.balance.load_state_dict(state["balance"])
        self.loss.causal_ref = state.get("causal_ref")


class _AdaptiveState:
    def __init__(self, objective: PhysicsObjective):
        self.objective = objective

    def state_dict(self) -> dict[str, Any]:
        return self.objective.extra_state()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.objective.load_extra_state(state)
