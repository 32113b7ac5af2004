"""The SciPy reference registered as a solver, so every solver is compared the same way."""

from __future__ import annotations

import time
import warnings
from typing import Any, ClassVar

from ..errors import SciMLWarning
from ..problems import Problem
from ..reference import ReferenceConfig, solve_reference
from ..solution import Solution
from .base import check_supported, merged_options
from .registry import register


@register
class ReferenceSolver:
    """SciPy references: P1 FEM, Crank-Nicolson method of lines, pseudo-spectral
    Burgers and ``solve_ivp``. Options are those of :class:`sciml.reference.ReferenceConfig`."""

    name: ClassVar[str] = "reference"
    inverse_as_truth: ClassVar[bool] = True  # the forward problem at the true [parameters], with a warning
    needs: ClassVar[frozenset[str]] = frozenset({"reference"})
    description: ClassVar[str] = "SciPy reference (P1 FEM, finite differences, method of lines, spectral Burgers and Euler, solve_ivp)"
    config_class: ClassVar[type] = ReferenceConfig

    def __init__(self, **options: Any):
        self.options = options

    def solve(self, problem: Problem) -> Solution:
        check_supported(self, problem)
        if problem.inverse:
            warnings.warn("the reference solves the forward problem at the true [parameters] (the truth an "
                          "inverse solve is measured against); the [inverse] section is not solved", SciMLWarning)
        start = time.perf_counter()
        sol = solve_reference(problem, merged_options(problem, self.name, self.options))
        sol.info["solve_s"] = time.perf_counter() - start
        return sol
