"""The physics-informed objective: a model, a :class:`PhysicsLoss` and collocation draws,
packaged as the ``forward(step) -> (total, terms)`` module the :class:`Trainer` expects."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from . import distributed

from .collocation import PointSampler
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
    """A batch per block of ``every`` steps (``every = 0``: one batch for the whole run).

    The sampler's random state before the current draw is part of :meth:`state_dict`, so a
    resumed run redraws exactly the batch the interrupted one was using.
    """

    def __init__(self, sampler: PointSampler, prepare: Callable[[Any], Batch], every: int = 0):
        if every < 0:
            raise ValueError(f"resample_every must be >= 0, got {every}")
        self.sampler, self.prepare, self.every = sampler, prepare, every
        self.index: int | None = None
        self.batch: Batch | None = None
        self._before: dict[str, Any] | None = None

    def _draw(self, index: int) -> None:
        self._before = self.sampler.state_dict()
        self.batch, self.index = self.prepare(self.sampler.sample()), index

    def get(self, step: int) -> Batch:
        index = step // self.every if self.every else 0
        if index != self.index:
            self._draw(index)
        return self.batch  # type: ignore[return-value]

    def state_dict(self) -> dict[str, Any]:
        return {"before": self._before, "index": self.index}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state["before"] is None:
            return
        self.sampler.load_state_dict(state["before"])
        self._draw(state["index"])


class PhysicsObjective(nn.Module):
    """``forward(step)``: the weighted physics loss of ``model`` on the step's collocation batch.

    Returns ``(total, terms)`` with the unweighted mean-square terms (``res``, ``bc``, ``ic``).
    """

    def __init__(self, model: nn.Module, loss: PhysicsLoss, batches: ResamplingBatches):
        super().__init__()
        self.model, self.loss, self.batches = model, loss, batches

    def forward(self, step: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        terms = self.loss.terms(self.model, self.batches.get(step))
        return self.loss.total(terms), {k: v.detach() for k, v in terms.items()}
