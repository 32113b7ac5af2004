"""Run under ``torchrun --nproc_per_node=2``: one DDP gradient of the DeepONet objective, each
process taking its share of the full batch (checked by tests/solvers/test_deeponet.py)."""

import sys
from pathlib import Path

import numpy as np
import torch

from sciml.nn import distributed
from sciml.nn.trainer import TrainConfig, Trainer
from sciml.solvers.deeponet import DeepONet, DeepONetConfig, OperatorObjective


def objective():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    u, y = torch.randn(16, 10, generator=g), torch.rand(7, 1, generator=g)
    s = torch.randn(16, 7, 1, generator=g)
    model = DeepONet(10, 1, 1, DeepONetConfig(branch=[8, 6], trunk=[8, 6]))
    return OperatorObjective(model, u, y, s, 0, 0)


def flat_grad(module):
    return torch.cat([p.grad.flatten() for p in module.parameters()]).numpy()


def single_process_gradient():
    obj = objective()
    obj(0)[0].backward()
    return flat_grad(obj)


if __name__ == "__main__":
    torch.set_num_threads(1)
    assert distributed.init_from_env("cpu")
    obj = objective()
    trainer = Trainer(obj, TrainConfig(adam_steps=1, progress=False))
    loss, _ = trainer.model(0)
    loss.backward()
    np.save(Path(sys.argv[1]) / f"grad{distributed.rank()}.npy", flat_grad(obj))
