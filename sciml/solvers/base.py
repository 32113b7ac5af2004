"""The solver protocol shared by every method, and the checks every solver runs first."""

from __future__ import annotations

import warnings
from typing import Any, Callable, ClassVar, Mapping, Protocol, runtime_checkable

import numpy as np

from ..config import build_config
from ..errors import ProblemError
from ..network_file import network_payload
from ..problems import Problem
from ..solution import Solution


@runtime_checkable
class Solver(Protocol):
    """A solver turns a :class:`Problem` into a :class:`Solution`.

    Implementations declare ``name``, the traits of the PDE types they take (``needs``, see
    :attr:`sciml.pdes.PDEType.traits`) or, when they truly need specific types, their names
    (``supports``), ``description`` and ``config_class`` (their ``<Name>Config`` dataclass),
    take those options as keyword arguments, and refuse unsupported problems with
    :func:`check_supported`.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    config_class: ClassVar[type]

    def solve(self, problem: Problem) -> Solution: ...


def accepts(solver: Any, kind: Any) -> bool:
    """Whether ``solver`` (class or instance) takes problems of the PDE type ``kind``: a solver
    states the traits it needs (``needs``, e.g. a pointwise residual), or, when it truly needs
    specific types, their names (``supports``)."""
    supports = getattr(solver, "supports", None)
    if supports is not None and kind.name not in supports:
        return False
    return getattr(solver, "needs", frozenset()) <= kind.traits


def accepted_types(solver: Any) -> list[str]:
    """Names of the registered PDE types ``solver`` takes."""
    from .. import pdes

    return [name for name, kind in pdes.available().items() if accepts(solver, kind)]


def check_supported(solver: Any, problem: Problem) -> None:
    """Raise a clear :class:`ProblemError` when ``solver`` does not handle ``problem``'s PDE."""
    if not accepts(solver, problem.pde.spec):
        missing = sorted(getattr(solver, "needs", frozenset()) - problem.pde.spec.traits)
        if missing == ["reference"]:
            raise ProblemError(f"no SciPy reference solves {problem.pde.type} problems: solve it with a "
                               "physics-informed solver (pinn, pig) and give an [exact] solution to measure it",
                               problem.source, "pde.type")
        why = f" (it needs: {', '.join(missing)})" if missing else ""
        raise ProblemError(f"solver {solver.name!r} does not support {problem.pde.type!r} problems{why} "
                           f"(it supports: {', '.join(accepted_types(solver))})",
                           problem.source, "pde.type")


def merged_options(problem: Problem, name: str, overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """Options from the problem file's ``[solver.<name>]`` updated by explicit ``overrides``."""
    opts = problem.options_for(name)
    opts.update(overrides or {})
    return opts


class TrainedSolver:
    """Base of the solvers that train a network: keyword options, an optional per-step
    ``callback`` (benchmarks record the error over time with it) and :meth:`config`.

    Subclasses set ``name``, ``needs`` or ``supports``, ``description`` and ``config_class`` and implement
    ``solve``.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    config_class: ClassVar[type]

    def __init__(self, callback: Callable[[int, Any], None] | None = None, **options: Any):
        self.options = options
        self.callback = callback

    def config(self, problem: Problem) -> Any:
        """The solver's options for ``problem`` (file section updated by explicit options)."""
        return build_config(self.config_class, merged_options(problem, self.name, self.options),
                            f"solver.{self.name}", problem.source)


class GeneratesOwnData:
    """Mixin of the learners that make their own training data (``sciml train NAME`` without a
    data set): they set ``data_source`` (what they train on, for the error message) and
    ``train_record(cfg, out, callback)`` (trains, writes ``out``, returns the saved record)."""

    name: ClassVar[str]
    trains_on_data: ClassVar[bool] = False
    data_source: ClassVar[str]

    @classmethod
    def train_record(cls, cfg: Any, out: Any, callback: Any) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def train_model(cls, data: Any, cfg: Any, out: Any = None, callback: Any = None) -> dict[str, Any]:
        if data is not None:
            raise ProblemError(f"{cls.name} trains on {cls.data_source}; give no data set "
                               f"(sciml train {cls.name} --out m.pt)")
        return cls.train_record(cfg, out, callback)


class PhysicsInformedSolver(TrainedSolver):
    """Template of the solvers that train a field network on a problem's residuals.

    Subclasses set ``name``, ``needs`` or ``supports``, ``description`` and ``config_class`` (a subclass of
    :class:`sciml.nn.fit.PhysicsConfig`) and implement :meth:`build` (the network) and
    optionally :meth:`describe` (extra solution info). ``callback(step, model)`` is called
    after every training step.
    """

    def build(self, problem: Problem, cfg: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self, model: Any, cfg: Any) -> dict[str, Any]:
        return {}

    reads_inverse: ClassVar[bool] = True

    def solve(self, problem: Problem) -> Solution:
        from ..nn.fit import fit_physics, network_solution, physics_model

        check_supported(self, problem)
        cfg = self.config(problem)
        net = self.build(problem, cfg)
        built = physics_model(problem, net, cfg)
        result = fit_physics(problem, built, cfg, self.callback)
        info = {"train": result.summary(), "dtype": cfg.dtype, "device": cfg.device, "features": built.features,
                **self.describe(net, cfg)}
        inverse = built.inverse
        if inverse is not None:
            info.update(inverse.info())
            if inverse.spec.fields:
                info["inverse_fields"] = inverse.field_errors()
        sol = network_solution(problem, built.model, self.name, info)
        if inverse is not None and inverse.spec.fields:
            sol.coefficients = inverse.coefficient_values(sol.points)
        sol.network = network_payload(self.name, problem, cfg, built.model.state_dict())
        return sol

    @classmethod
    def restore(cls, problem: Problem, cfg: Any, state: dict[str, Any]) -> Callable[[np.ndarray], np.ndarray]:
        """The evaluator of a saved network (:mod:`sciml.network_file`): the same model built
        for ``problem`` and ``cfg``, with the trained ``state``."""
        from ..nn.fit import evaluator, physics_model

        with warnings.catch_warnings():  # the notes of building it were given when it was trained
            warnings.simplefilter("ignore")
            built = physics_model(problem, cls().build(problem, cfg), cfg)
        built.model.load_state_dict(state)
        built.model.eval()
        return evaluator(built.model)
