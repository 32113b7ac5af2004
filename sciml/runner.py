"""One solve from problem to summary: the path shared by ``sciml solve`` and the validation
harness."""

from __future__ import annotations

import random
import time
import warnings
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from . import solvers
from .errors import ProblemError, SciMLWarning
from .problems import Problem
from .solution import Solution, compare


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch."""
    random.seed(seed)
    np.random.seed(seed)
    import torch

    torch.manual_seed(seed)


def run(problem: Problem, solver: str = "reference", options: Mapping[str, Any] | None = None,
        seed: int = 0, reference: Solution | None = None,
        keep_reference: list[Solution] | None = None) -> tuple[Solution, dict[str, Any]]:
    """Solve ``problem`` with ``solver`` and measure it.

    Parameters
    ----------
    problem
        The validated problem; for a problem family, member number ``seed`` of it.
    solver
        Registered solver name.
    options
        Solver options overriding the problem file's ``[solver.<name>]`` (training solvers
        also take ``callback(step, model)``, called after every training step).
    seed
        Seed for every random generator.
    reference
        A reference solution to compare with when the problem has no exact solution (computed
        with the SciPy reference when omitted and the solver is not the reference itself).
    keep_reference
        A list that receives the reference used (the validation harness plots it).

    Returns
    -------
    solution, summary
        The summary holds ``problem, solver, wall_s, n_params, rel_l2, max_abs_err,
        compared_to`` and the solver's ``info``.
    """
    from .problems.family import member

    problem = member(problem, seed)  # a family file: solve one member (drawn like data set sample `seed`)
    check_sections(problem)
    instance = solvers.get(solver, **dict(options or {}))
    solvers.check_supported(instance, problem)
    seed_everything(seed)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SciMLWarning)
        start = time.perf_counter()
        sol = instance.solve(problem)
        wall = time.perf_counter() - start
        if reference is None and not problem.has_exact and solver != "reference":
            reference = solvers.get("reference").solve(problem)
        if reference is not None and keep_reference is not None:
            keep_reference.append(reference)
        metrics = compare(sol, problem, reference)
    notes = []
    for w in caught:  # shown again to the caller, and kept in the summary
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        if issubclass(w.category, SciMLWarning) and str(w.message) not in notes:
            notes.append(str(w.message))
    summary = {"problem": problem.name, "solver": solver, "pde": problem.pde.type,
               "wall_s": wall, "n_params": int(sol.info.get("n_params", 0)), **metrics,
               "max_abs_value": float(np.max(np.abs(sol.final()))),
               "seed": seed, "threads": _threads(),
               "source": str(problem.source) if problem.source else None,
               "info": sol.info, "warnings": notes}
    return sol, summary


def check_sections(problem: Problem) -> None:
    """Refuse option sections no run would read: a ``[solver.NAME]`` of no registered solver
    (a typo would be silently ignored) and unknown or invalid ``[reference]`` options (checked
    even when the reference does not run, as with an exact solution)."""
    from .config import build_config
    from .reference import ReferenceConfig

    known = solvers.available()
    for name in problem.solver_options:
        if name not in known:
            raise ProblemError(f"no solver named {name!r} (solvers: {', '.join(known)})", problem.source,
                               f"solver.{name}")
    build_config(ReferenceConfig, problem.options_for("reference"), "reference", problem.source)


def _threads() -> int:
    import torch

    return torch.get_num_threads()


def default_out(problem: Problem, solver: str) -> Path:
    return Path("out") / problem.name / solver

