"""Run under ``torchrun --nproc_per_node=2``: one DDP gradient of the MgNO objective, each
process taking its share of the minibatch (checked by tests/solvers/test_mgno.py)."""

import sys
from pathlib import Path

import numpy as np
import torch

from sciml.nn import distributed
from sciml.nn.trainer import TrainConfig, Trainer
from sciml.solvers.mgno import GridObjective, MgNO, MgNOConfig


def objective():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    a, s = torch.randn(12, 1, 8, 8, generator=g), torch.randn(12, 1, 8, 8, generator=g)
    model = MgNO(1, 1, MgNOConfig(layers=2, channels=3, levels=[[1, 1], [1, 0]]))
    return GridObjective(model, a, s, batch_size=6, seed=3)


def flat_grad(module):
    return torch.cat([p.grad.flatten() for p in module.parameters()]).numpy()


def single_process_gradient():
    obj = objective()
    obj(1)[0].backward()
    return flat_grad(obj)


if __name__ == "__main__":
    torch.set_num_threads(1)
    assert distributed.init_from_env("cpu")
    obj = objective()
    trainer = Trainer(obj, TrainConfig(adam_steps=1, progress=False))
    loss, _ = trainer.model(1)
    loss.backward()
    np.save(Path(sys.argv[1]) / f"grad{distributed.rank()}.npy", flat_grad(obj))
