"""Name -> solver class. Solvers register themselves with :func:`register`, which also puts the
contract every solver keeps around its ``solve``: input sections it does not read are refused,
and a solution with a non-finite value is a failure, never a result."""

from __future__ import annotations

import functools
from typing import Any, TypeVar

import numpy as np

from ..errors import ProblemError, SolverError

_REGISTRY: dict[str, type] = {}
T = TypeVar("T", bound=type)


def register(cls: T) -> T:
    """Class decorator adding a solver under its ``name`` and wrapping its ``solve`` in
    :func:`checked_solve`. A solver that reads a problem's ``[inverse]`` section says so with
    ``reads_inverse = True`` (the reference, which solves the forward problem at the true
    parameters, with ``inverse_as_truth = True``)."""
    if not getattr(cls.solve, "checked", False):
        cls.solve = checked_solve(cls.solve)
    _REGISTRY[cls.name] = cls
    return cls


def checked_solve(solve: Any) -> Any:
    """``solve(self, problem)`` that refuses an ``[inverse]`` section the solver does not read,
    records the problem's domain on the solution (points outside it evaluate to NaN) and
    raises :class:`SolverError` when the solution holds a non-finite value."""

    @functools.wraps(solve)
    def run(self: Any, problem: Any) -> Any:
        if problem.inverse and not (getattr(self, "reads_inverse", False) or getattr(self, "inverse_as_truth", False)):
            readers = sorted(n for n, c in available().items() if getattr(c, "reads_inverse", False))
            raise ProblemError(f"solver {self.name!r} does not read [inverse] (solvers that do: "
                               f"{', '.join(readers)}); remove the section to solve the forward problem",
                               problem.source, "inverse")
        solution = solve(self, problem)
        bad = ~np.isfinite(solution.values)
        if bad.any():
            raise SolverError(f"{self.name} produced {int(bad.sum())} non-finite value(s) of "
                              f"{bad.size} on {problem.name}; nothing was written")
        return solution.attach(problem)

    run.checked = True  # type: ignore[attr-defined]
    return run


def available() -> dict[str, type]:
    """Registered solvers by name."""
    _load_builtin()
    return dict(sorted(_REGISTRY.items()))


def get_class(name: str) -> type:
    """The solver class registered as ``name``; unknown names raise :class:`ProblemError`."""
    solvers = available()
    if name not in solvers:
        raise ProblemError(f"unknown solver {name!r} (available: {', '.join(solvers)})")
    return solvers[name]


def get(name: str, **options: Any) -> Any:
    """Build the solver ``name`` with ``options``; unknown names raise :class:`ProblemError`."""
    return get_class(name)(**options)


def _load_builtin() -> None:
    from . import dcdm, deeponet, ggn, hypino, insr, lpinn, mgno, pig, pinn, reference  # noqa: F401  (registers on import)
