"""Problems: TOML problem files, PDE types and the safe expression language."""

from .expr import Expr, coordinates
from .loader import apply_overrides, load_problem, problem_from_dict
from .pdes import PDE, SPECS
from .problem import BoundaryCondition, Problem, TimeSpan

__all__ = ["Expr", "coordinates", "apply_overrides", "load_problem", "problem_from_dict", "PDE",
           "SPECS", "BoundaryCondition", "Problem", "TimeSpan"]
