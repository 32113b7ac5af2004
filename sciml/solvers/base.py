"""The solver protocol shared by every method, and the checks every solver runs first."""

from __future__ import annotations

from typing import Any, ClassVar, Mapping, Protocol, runtime_checkable

from ..errors import ProblemError
from ..problems import Problem
from ..solution import Solution


@runtime_checkable
class Solver(Protocol):
    """A solver turns a :class:`Problem` into a :class:`Solution`.

    Implementations declare ``name``, ``supports`` (PDE types) and ``description``, take their
    options (a ``<Name>Config`` dataclass) as keyword arguments, and refuse unsupported problems
    with :func:`check_supported`.
    """

    name: ClassVar[str]
    supports: ClassVar[frozenset[str]]
    description: ClassVar[str]

    def solve(self, problem: Problem) -> Solution: ...


def check_supported(solver: Any, problem: Problem) -> None:
    """Raise a clear :class:`ProblemError` when ``solver`` does not handle ``problem``'s PDE."""
    if problem.pde.type not in solver.supports:
        raise ProblemError(f"solver {solver.name!r} does not support {problem.pde.type!r} problems "
                           f"(it supports: {', '.join(sorted(solver.supports))})",
                           problem.source, "pde.type")


def merged_options(problem: Problem, name: str, overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """Options from the problem file's ``[solver.<name>]`` updated by explicit ``overrides``."""
    opts = problem.options_for(name)
    opts.update(overrides or {})
    return opts
