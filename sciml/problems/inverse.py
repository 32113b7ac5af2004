"""The ``[inverse]`` section of a problem file: unknown parameters and the observations that
determine them.

.. code-block:: toml

    [parameters]
    lam = 1.0          # the true values (used only to synthesise observations)
    mu = 1.0

    [inverse]
    unknowns = { lam = 0.1, mu = 0.1 }     # names from [parameters] -> initial guesses
    mode = "hard"                          # "hard": observed nodal values are imposed; "soft": a data term
    weight = 1.0                           # soft mode: weight of the data term
    noise = 0.01                           # relative Gaussian noise added to the observations
    known_noise = 0.02                     # relative noise the given observations already carry
                                           # (measurements): nothing is added; with noise it sets
                                           # how closely the data are fitted (noise_floor)
    seed = 0
    [inverse.observations]                 # one of:
    points = [[0.5, 0.5]]                  #   inline points and values (one row per point)
    values = [[0.1, 0.0]]
    # file = "obs.npy"                     #   columns x, y[, z], then the components (.npy) or
    #                                      #   datasets "points" and "values" (.h5)
    # synthetic = 10                       #   n random observations of the truth (ggn: free
    #                                      #   nodes of the FE solution; physics-informed
    #                                      #   solvers: points of the domain, values from
    #                                      #   [exact] or the SciPy reference)

    [inverse.fields.k]                     # a coefficient of [pde] that is an unknown function:
    guess = 1.0                            #   its constant initial guess
    positive = true                        #   k = guess exp(N(x)), or bounds = [lo, hi]
    smoothness = 1e-3                      #   weight of the mean of |grad k|^2
    # [pde] keeps the true k: it makes synthetic observations and measures the recovered field.

Noise is relative: each observed value is multiplied by ``1 + noise z`` with ``z`` standard
normal (1% noise: ``noise = 0.01``). ``known_noise`` adds nothing: it states the relative error of
measured observations, so the solvers fit them no closer than that; the two combine as
``sqrt(noise^2 + known_noise^2)`` (:attr:`InverseSpec.data_noise`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ProblemError, SciMLWarning
from .problem import Problem

_KEYS = {"unknowns", "fields", "observations", "mode", "weight", "noise", "known_noise", "seed"}
_FIELD_KEYS = {"guess", "positive", "bounds", "smoothness", "hidden"}
_OBS_KEYS = {"points", "values", "file", "synthetic"}


@dataclass(frozen=True)
class FieldSpec:
    """An unknown coefficient function (``[inverse.fields.NAME]``).

    Attributes
    ----------
    name
        The coefficient of ``[pde]`` it replaces (a scalar coefficient of the PDE type).
    guess
        Constant initial guess.
    positive
        Keep it positive (``guess exp(N)``).
    bounds
        Keep it within ``(lo, hi)`` (a sigmoid of ``N``), or None.
    smoothness
        Weight of the smoothness penalty ``mean |grad k|^2`` (scaled by the guess squared).
    hidden
        Hidden widths of the network that represents it.
    """

    name: str
    guess: float
    positive: bool = False
    bounds: tuple[float, float] | None = None
    smoothness: float = 1e-3
    hidden: tuple[int, ...] = (32, 32)


@dataclass(frozen=True)
class InverseSpec:
    """A parsed ``[inverse]`` section.

    Attributes
    ----------
    unknowns
        Parameter name -> initial guess.
    fields
        Coefficient name -> :class:`FieldSpec` (unknown functions).
    points, values
        Observation points ``(n, dim)`` and values ``(n, components)`` (None when synthetic).
    synthetic
        Number of random free nodes to observe in the FE solution at the true parameters.
    """

    unknowns: dict[str, float]
    points: np.ndarray | None
    values: np.ndarray | None
    synthetic: int
    mode: str
    weight: float
    noise: float
    seed: int
    fields: dict[str, FieldSpec] = field(default_factory=dict)
    known_noise: float = 0.0

    @property
    def data_noise(self) -> float:
        """The relative noise the observations carry: the added ``noise`` and the stated
        ``known_noise`` together."""
        return float(np.hypot(self.noise, self.known_noise))

    def noisy(self, values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """``values`` with the section's relative Gaussian noise."""
        return values * (1 + self.noise * rng.standard_normal(values.shape))


def warn_unused_noise(spec: InverseSpec, problem: Problem) -> None:
    """Warn (recorded in summary.json) when ``known_noise`` cannot act: hard mode imposes the
    observations exactly, their noise included."""
    if spec.known_noise and spec.mode == "hard":
        import warnings

        warnings.warn(SciMLWarning(f"{problem.name}: [inverse] known_noise = {spec.known_noise:g} is not used: "
                                   "mode = 'hard' imposes the observations exactly (mode = 'soft' fits them only "
                                   "down to their noise)"), stacklevel=2)


def _fail(problem: Problem, key: str, message: str) -> ProblemError:
    return ProblemError(message, problem.source, f"inverse.{key}" if key else "inverse")


def inverse_spec(problem: Problem) -> InverseSpec | None:
    """The problem's ``[inverse]`` section, validated (None when it has none)."""
    sec = problem.inverse
    if not sec:
        return None
    if not isinstance(sec, dict):
        raise _fail(problem, "", "expected a table")
    unknown_keys = set(sec) - _KEYS
    if unknown_keys:
        raise _fail(problem, sorted(unknown_keys)[0], f"unknown key (expected {', '.join(sorted(_KEYS))})")
    unknowns = sec.get("unknowns", {})
    fields = _fields(problem, sec.get("fields", {}))
    if not isinstance(unknowns, dict) or not (unknowns or fields):
        raise _fail(problem, "unknowns", "expected a table of parameter names and initial guesses "
                                         "(or unknown coefficient functions in [inverse.fields])")
    for name, guess in unknowns.items():
        if name not in problem.parameters:
            raise _fail(problem, f"unknowns.{name}", "not a parameter of [parameters]")
        if isinstance(guess, bool) or not isinstance(guess, (int, float)):
            raise _fail(problem, f"unknowns.{name}", f"expected a number, got {guess!r}")
    mode = sec.get("mode", "hard")
    if mode not in ("hard", "soft"):
        raise _fail(problem, "mode", f"expected 'hard' or 'soft', got {mode!r}")
    numbers = {}
    for key, default in (("weight", 1.0), ("noise", 0.0), ("known_noise", 0.0), ("seed", 0)):
        value = sec.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise _fail(problem, key, f"expected a non-negative number, got {value!r}")
        numbers[key] = value
    points, values, synthetic = _observations(problem, sec.get("observations"))
    return InverseSpec({k: float(v) for k, v in unknowns.items()}, points, values, synthetic, mode,
                       float(numbers["weight"]), float(numbers["noise"]), int(numbers["seed"]), fields,
                       float(numbers["known_noise"]))


def _number(problem: Problem, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        raise _fail(problem, key, f"expected a number, got {value!r}")
    return float(value)


def _fields(problem: Problem, sec: Any) -> dict[str, FieldSpec]:
    """The ``[inverse.fields]`` tables: each names a scalar coefficient of the PDE type."""
    if not isinstance(sec, dict):
        raise _fail(problem, "fields", "expected tables [inverse.fields.NAME]")
    coefs = problem.pde.spec.coefs
    out = {}
    for name, opts in sec.items():
        key = f"fields.{name}"
        scalar = sorted(n for n, c in coefs.items() if c.kind == "scalar")
        if name not in scalar:
            raise _fail(problem, key, f"not a scalar coefficient of {problem.pde.type} problems "
                                      f"(unknown functions can be: {', '.join(scalar) or 'none'})")
        if not isinstance(opts, dict):
            raise _fail(problem, key, "expected a table (guess, positive, bounds, smoothness, hidden)")
        extra = set(opts) - _FIELD_KEYS
        if extra:
            raise _fail(problem, f"{key}.{sorted(extra)[0]}", f"unknown key (expected {', '.join(sorted(_FIELD_KEYS))})")
        positive = opts.get("positive", False)
        if not isinstance(positive, bool):
            raise _fail(problem, f"{key}.positive", f"expected true or false, got {positive!r}")
        bounds = opts.get("bounds")
        if bounds is not None:
            if not (isinstance(bounds, list) and len(bounds) == 2):
                raise _fail(problem, f"{key}.bounds", "expected [lower, upper]")
            bounds = (_number(problem, f"{key}.bounds", bounds[0]), _number(problem, f"{key}.bounds", bounds[1]))
            if not bounds[0] < bounds[1]:
                raise _fail(problem, f"{key}.bounds", f"lower must be below upper, got {list(bounds)}")
        if bounds is not None and positive:
            raise _fail(problem, f"{key}.positive", "give positive or bounds, not both")
        default = 1.0 if positive else (0.5 * (bounds[0] + bounds[1]) if bounds else 0.0)
        guess = _number(problem, f"{key}.guess", opts.get("guess", default))
        if positive and guess <= 0:
            raise _fail(problem, f"{key}.guess", f"a positive unknown needs a positive guess, got {guess}")
        if bounds is not None and not bounds[0] < guess < bounds[1]:
            raise _fail(problem, f"{key}.guess", f"the guess must lie strictly within the bounds {list(bounds)}")
        smooth = _number(problem, f"{key}.smoothness", opts.get("smoothness", 1e-3))
        if smooth < 0:
            raise _fail(problem, f"{key}.smoothness", f"expected a non-negative number, got {smooth}")
        hidden = opts.get("hidden", [32, 32])
        if not (isinstance(hidden, list) and hidden and all(isinstance(h, int) and not isinstance(h, bool)
                                                            and h > 0 for h in hidden)):
            raise _fail(problem, f"{key}.hidden", f"expected a list of positive widths, got {hidden!r}")
        out[name] = FieldSpec(name, guess, positive, bounds, smooth, tuple(hidden))
    return out


def _observations(problem: Problem, obs: Any) -> tuple[np.ndarray | None, np.ndarray | None, int]:
    if not isinstance(obs, dict) or not obs:
        raise _fail(problem, "observations", "expected a table with points and values, file, or synthetic")
    extra = set(obs) - _OBS_KEYS
    if extra:
        raise _fail(problem, f"observations.{sorted(extra)[0]}", "unknown key")
    given = [k for k in ("points", "file", "synthetic") if k in obs]
    if len(given) != 1:
        raise _fail(problem, "observations", "give exactly one of points (with values), file or synthetic")
    n_comp = len(problem.fields)
    if "synthetic" in obs:
        n = obs["synthetic"]
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise _fail(problem, "observations.synthetic", f"expected a positive integer, got {n!r}")
        return None, None, n
    if "file" in obs:
        points, values = _read(problem, obs["file"])
    else:
        try:
            points = np.asarray(obs["points"], dtype=float)
            values = np.asarray(obs.get("values"), dtype=float)
        except (TypeError, ValueError):
            raise _fail(problem, "observations", "points and values must be arrays of numbers") from None
    points = np.atleast_2d(points)
    values = values.reshape(len(points), -1) if values.size == len(points) * n_comp else values
    width = problem.input_dim  # the coordinates, then t for a time-dependent problem
    if points.shape[1:] != (width,) or values.shape != (len(points), n_comp):
        raise _fail(problem, "observations", f"expected {width} coordinates{' (space, then t)' if problem.transient else ''} "
                                             f"and {n_comp} value(s) "
                                             f"per point, got shapes {points.shape} and {values.shape}")
    if not (np.all(np.isfinite(points)) and np.all(np.isfinite(values))):
        raise _fail(problem, "observations", "observations contain NaN or inf")
    _check_inside(problem, points)
    return points, values, 0


def _check_inside(problem: Problem, points: np.ndarray) -> None:
    """Refuse observations outside the domain or the time span (they would be fitted to a field
    that is not defined there)."""
    if problem.dim:
        lo, hi = problem.domain.bounds
        tol = 1e-9 * max(1.0, float(np.max(np.asarray(hi) - np.asarray(lo))))
        outside = np.flatnonzero(~problem.domain.contains(points[:, : problem.dim], tol=tol))
        if len(outside):
            raise _fail(problem, "observations", f"observation {outside[0]} at {points[outside[0]].tolist()} lies "
                                                 f"outside the domain ({len(outside)} of {len(points)} do)")
    if problem.transient:
        t = points[:, -1]
        late = np.flatnonzero((t < problem.time.start - 1e-12) | (t > problem.time.end + 1e-12))
        if len(late):
            raise _fail(problem, "observations", f"observation {late[0]} at t = {t[late[0]]:g} lies outside "
                                                 f"[{problem.time.start:g}, {problem.time.end:g}]")


def _read(problem: Problem, name: Any) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(name, str):
        raise _fail(problem, "observations.file", "expected a file name")
    path = Path(name)
    if not path.is_absolute() and problem.source is not None:
        path = problem.source.parent / path
    if not path.is_file():
        raise _fail(problem, "observations.file", f"file not found: {path}")
    if path.suffix == ".npy":
        data = np.load(path)
        width = problem.input_dim
        if data.ndim != 2 or data.shape[1] <= width:
            raise _fail(problem, "observations.file", f"expected columns x[, y, z][, t] then values, got {data.shape}")
        return data[:, :width], data[:, width:]
    if path.suffix in (".h5", ".hdf5"):
        import h5py

        with h5py.File(path, "r") as f:
            if "points" not in f or "values" not in f:
                raise _fail(problem, "observations.file", "expected datasets 'points' and 'values'")
            return np.asarray(f["points"], dtype=float), np.asarray(f["values"], dtype=float)
    raise _fail(problem, "observations.file", "expected a .npy or .h5 file")


def at_guess(problem: Problem, spec: InverseSpec) -> Problem:
    """``problem`` as a solver may see it before it has identified anything: every scalar
    unknown at its guess and every unknown coefficient function at its constant guess (what
    solvers derive from the data, scales say, must not use the true values)."""
    return at_values(problem, spec.unknowns, {name: f.guess for name, f in spec.fields.items()})


def at_values(problem: Problem, parameters: dict[str, float], functions: dict[str, float] | None = None) -> Problem:
    """``problem`` with the ``[pde]`` coefficients evaluated at other values of some of its
    ``[parameters]`` (and the coefficients named in ``functions`` replaced by constants)."""
    import dataclasses

    from .expr import Expr

    def rebind(obj: Any) -> Any:
        if isinstance(obj, Expr):  # every unknown: expressions built from others keep their bound values
            hit = {k: v for k, v in parameters.items() if k in obj.names}
            return obj.bind(**hit) if hit else obj
        if isinstance(obj, tuple):
            return tuple(rebind(o) for o in obj)
        return obj

    coefs = {}
    for name, value in problem.pde.coefs.items():
        if functions and name in functions:
            value = Expr.of(repr(functions[name]), value.names, value.bound)
        coefs[name] = rebind(value)
    pde = dataclasses.replace(problem.pde, coefs=coefs)
    return dataclasses.replace(problem, pde=pde)
