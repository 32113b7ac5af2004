"""``network.pt``: a trained field network saved beside its solution, so that
:meth:`Solution.load <sciml.solution.Solution.load>` evaluates the network itself again,
anywhere, without retraining (``sciml eval DIR --points pts.npy``).

The file describes itself (as neuraloperator's models do): the solver's name, the problem as it
was solved (the parsed problem file, with the folder its relative paths were read from), the
solver's options and the trained state. Loading rebuilds the solver's network from the problem
and options (on the CPU), loads the state, and checks that it reproduces the values stored in
``solution.h5``; a network that does not is refused rather than trusted.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from .config import option_names
from .errors import ProblemError

if TYPE_CHECKING:
    from .problems import Problem
    from .solution import Solution

FORMAT = "sciml-network/1"
NAME = "network.pt"
RUNTIME = {"device": "cpu", "progress": False, "checkpoint": None, "resume": False, "metrics": None,
           "tensorboard": None}


def network_payload(solver: str, problem: "Problem", cfg: Any, state: dict[str, Any]) -> dict[str, Any]:
    """What :func:`restore` needs: the solver, the problem (parsed file and base folder), the
    options (those of this run only, not its device or files) and the trained ``state``."""
    options = {k: v for k, v in dataclasses.asdict(cfg).items() if k not in RUNTIME}
    base = str(problem.source.resolve().parent) if problem.source is not None else None
    return {"format": FORMAT, "solver": solver, "problem": dict(problem.raw), "base": base,
            "source": str(problem.source) if problem.source is not None else None, "options": options,
            "state": _cpu(state)}


def _cpu(value: Any) -> Any:
    """``value`` with every tensor copied to the CPU (a network trained on a GPU loads anywhere)."""
    import torch

    if isinstance(value, torch.Tensor):
        return value.detach().cpu()
    if isinstance(value, dict):
        return {k: _cpu(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cpu(v) for v in value)
    return value


def write_network(payload: dict[str, Any], path: Path) -> Path:
    import torch

    from .io import atomic_write

    return atomic_write(path, lambda tmp: torch.save(payload, tmp))


def restore(directory: Path, sol: "Solution", check_points: int = 200) -> tuple[Callable[[np.ndarray], np.ndarray],
                                                                                "Problem"]:
    """The evaluator of the network saved in ``directory`` and the problem it solved; raises
    :class:`~sciml.errors.ProblemError` when the file is unreadable, its problem cannot be
    rebuilt here, or the rebuilt network does not reproduce the solution's stored values."""
    from .config import build_config
    from .nn.modelfile import load_file
    from .problems import problem_from_dict
    from .solvers import get_class

    path = directory / NAME
    payload = load_file(path, "saved network")
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ProblemError(f"{path} is not a saved sciml network ({FORMAT})")
    base = Path(payload["base"]) if payload.get("base") else None
    try:
        problem = problem_from_dict(payload["problem"], source=payload.get("source"), base=base)
    except ProblemError as exc:
        raise ProblemError(f"{path}: the problem this network solved cannot be rebuilt here ({exc}); files "
                           "it reads (meshes, data) must be where they were") from None
    cls = get_class(payload["solver"])
    if not hasattr(cls, "restore"):
        raise ProblemError(f"{path}: solver {payload['solver']!r} saves no network")
    cfg = build_config(cls.config_class, {**payload["options"], **{k: v for k, v in RUNTIME.items()
                                                                    if k in option_names(cls.config_class)}},
                       f"solver.{payload['solver']}", path)
    evaluate = cls.restore(problem, cfg, payload["state"])
    _check(evaluate, sol, path, check_points)
    return evaluate, problem


def _check(evaluate: Callable[[np.ndarray], np.ndarray], sol: "Solution", path: Path, n: int) -> None:
    """The restored network must give the stored values (to float32 round-off) at a sample of
    the solution's nodes and times."""
    rng = np.random.default_rng(0)
    idx = rng.choice(len(sol.points), size=min(n, len(sol.points)), replace=False)
    if sol.transient:
        k = rng.integers(0, len(sol.times), size=len(idx))
        pts = np.column_stack([sol.points[idx], sol.times[k]])
        stored = sol.values[k, idx]
    else:
        pts, stored = sol.points[idx], sol.values[idx]
    got = evaluate(pts)
    scale = max(float(np.abs(sol.values).max()), 1e-30)
    err = float(np.abs(got - stored).max()) / scale
    if not np.isfinite(err) or err > 1e-4:
        raise ProblemError(f"{path}: the rebuilt network does not reproduce the stored solution (max relative "
                           f"difference {err:.2e}); it was not loaded")
