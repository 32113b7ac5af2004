"""Run under ``torchrun --nproc_per_node=2``: one DDP gradient of HyPINO's sample objective, each
process generating its own batch (seeded by step and rank; checked by tests/test_hypino.py)."""

import sys
from pathlib import Path

import numpy as np
import torch

from sciml.nn import distributed
from sciml.nn.hypernet import Hypernetwork
from sciml.nn.trainer import Trainer
from sciml.solvers.hypino import HyPINOConfig, SampleObjective, StepBatches, sample_loss

CFG = HyPINOConfig(grid=32, embed=8, depths=[1, 1], heads=[2, 2], window=2, head_hidden=16, target_width=8,
                   target_layers=1, interior=32, boundary=32, raster_points=128, batch_size=2, workers=0,
                   adam_steps=1, progress=False)


def model():
    torch.manual_seed(0)
    return Hypernetwork(CFG.network())


def flat_grad(module):
    return torch.cat([p.grad.flatten() for p in module.parameters() if p.grad is not None]).numpy()


def single_process_gradient():
    net = model()
    losses = []
    for rank in (0, 1):
        data = StepBatches(CFG, seed=5)
        data.rank = rank
        losses.append(sample_loss(net, data[0][1], CFG)[0])
    (sum(losses) / 2).backward()
    return flat_grad(net)


if __name__ == "__main__":
    torch.set_num_threads(1)
    assert distributed.init_from_env("cpu")
    net = model()
    trainer = Trainer(SampleObjective(net, CFG, seed=5), CFG)
    loss, _ = trainer.model(0)
    loss.backward()
    np.save(Path(sys.argv[1]) / f"grad{distributed.rank()}.npy", flat_grad(net))
