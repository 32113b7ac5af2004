"""Run under ``torchrun --nproc_per_node=2``: one DDP gradient through the Trainer's wrapper.

Each process holds half of a regression data set; DDP must average the two gradients into the
gradient of the full data set's loss (checked by tests/nn/test_trainer.py).
"""

import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

from sciml.nn import distributed
from sciml.nn.trainer import TrainConfig, Trainer


class Regression(nn.Module):
    def __init__(self, x, y):
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
        self.x, self.y = x, y

    def forward(self, step):
        loss = (self.net(self.x) - self.y).pow(2).mean()
        return loss, {"mse": loss.detach()}


def data():
    g = torch.Generator().manual_seed(1)
    x = torch.rand(64, 2, generator=g)
    return x, torch.sin(3 * x[:, :1]) + x[:, 1:]


def flat_grad(module):
    return torch.cat([p.grad.flatten() for p in module.parameters()]).numpy()


def single_process_gradient():
    model = Regression(*data())
    model(0)[0].backward()
    return flat_grad(model)


if __name__ == "__main__":
    torch.set_num_threads(1)
    assert distributed.init_from_env("cpu")
    rank = distributed.rank()
    x, y = data()
    shard = slice(32 * rank, 32 * (rank + 1))
    model = Regression(x[shard], y[shard])
    trainer = Trainer(model, TrainConfig(adam_steps=1, progress=False))
    assert isinstance(trainer.model, nn.parallel.DistributedDataParallel)
    loss, _ = trainer.model(0)
    loss.backward()
    np.save(Path(sys.argv[1]) / f"grad{rank}.npy", flat_grad(model))
