"""Data-parallel training under ``torchrun`` (torch.distributed; gloo on CPU, nccl on GPU).

Nothing here is home-made parallelism: :func:`init_from_env` starts the process group that
``torchrun`` describes through its environment variables, and the :class:`~sciml.nn.trainer.Trainer`
wraps its module in :class:`torch.nn.parallel.DistributedDataParallel` when a group is running.
"""

from __future__ import annotations

import atexit
import os

import torch
import torch.distributed as dist


def init_from_env(device: str = "cpu") -> bool:
    """Join the process group described by ``torchrun``'s environment, if any.

    Returns whether training is distributed (a group with more than one process).
    """
    if dist.is_available() and not dist.is_initialized() and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        backend = "nccl" if device.startswith("cuda") and torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
        atexit.register(_shutdown)
    return is_distributed()


def _shutdown() -> None:
    """Wait for every rank, then tear the group down before the interpreter exits: left to
    static destruction, or torn down while another rank still talks, gloo's threads can abort
    the process (``terminate called without an active exception``) after the work is done."""
    if dist.is_available() and dist.is_initialized():
        try:
            dist.barrier()
        finally:
            dist.destroy_process_group()


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    return dist.get_rank() if is_distributed() else 0


def world_size() -> int:
    return dist.get_world_size() if is_distributed() else 1


def mean_across(value: torch.Tensor) -> torch.Tensor:
    """The mean of a (detached) tensor over all processes (itself when not distributed)."""
    if not is_distributed():
        return value
    out = value.detach().clone()
    dist.all_reduce(out)
    return out / world_size()
