"""Model files: a ``torch.save`` dictionary with ``method``, ``version``, ``config`` (the
options that rebuild the network), training records, ``n_params`` and ``state`` (the network's
state dict), written atomically by rank 0 and read back with a clear error for a file of
another method or a damaged one."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import torch

from ..errors import ProblemError
from ..io import atomic_write
from . import distributed

WEIGHTS = Path(__file__).resolve().parents[1] / "weights"  # pretrained models shipped with sciml


def save_model(out: str | Path, record: dict[str, Any], model: torch.nn.Module) -> None:
    """Write ``record`` and the network's state to ``out`` atomically (rank 0 only)."""
    if distributed.rank() != 0:
        return
    state = {**record, "state": {k: v.cpu() for k, v in model.state_dict().items()}}
    atomic_write(out, lambda tmp: torch.save(state, tmp))


def load_file(path: str | Path, what: str) -> dict[str, Any]:
    """``torch.load`` of a model or checkpoint file (weights only) as a dictionary; a missing,
    empty, truncated or foreign file raises :class:`ProblemError` naming ``what`` and the path."""
    if not Path(path).is_file():
        raise ProblemError(f"{what} not found", path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch.load raises many kinds (EOFError, UnpicklingError, zip errors)
        detail = (str(exc).splitlines() or [""])[0][:120]
        raise ProblemError(f"cannot read {what} ({type(exc).__name__}: {detail}): not a file written by sciml, "
                           "or damaged", path) from None
    if not isinstance(state, dict):
        raise ProblemError(f"cannot read {what}: it holds a {type(state).__name__}, not a sciml record", path)
    return state


def read_model(path: str | Path, method: str, config_class: type, build: Callable[[Any, dict[str, Any]], torch.nn.Module]
               ) -> tuple[torch.nn.Module, Any, dict[str, Any]]:
    """A saved model, its config and its record: the config is rebuilt from the file (as a
    finished run: no resume, no checkpoint), ``build(cfg, state)`` makes the network and its
    weights are loaded. Files of another method or a damaged file raise :class:`ProblemError`."""
    state = load_file(path, "model file")
    try:
        if state.get("method", method) != method:
            raise ValueError(f"it is a {state['method']} model")
        cfg = config_class(**{**state["config"], "resume": False, "checkpoint": None})
        model = build(cfg, state)
        model.load_state_dict(state["state"])
    except (RuntimeError, KeyError, ValueError, TypeError, AttributeError) as exc:
        raise ProblemError(f"{path} is not a {method} model: {exc}") from None
    return model, cfg, state
