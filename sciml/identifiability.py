"""How well an inverse problem's observations determine its scalar unknowns, from the SciPy
reference alone (``sciml identifiability FILE``).

The map from the unknowns to the observed values is linearised at the truth: ``J`` holds the
change of the observations, relative to their norm, per relative change of each unknown
(central differences of the reference solved at ``theta exp(+-h)``). Its singular values say
how strongly each combination of unknowns shows in the data:

* a field fitted to the observations with relative error ``e`` can leave the unknowns wrong by
  up to ``e / s_min`` (relative), so a solver must reach ``0.01 s_min`` at the observations to
  identify every unknown within 1%, whatever its optimiser;
* with relative Gaussian noise ``sigma`` on each value, the Cramér-Rao bound
  ``sqrt(diag((J^T W J)^-1))`` (``W`` the inverse noise variances) is the smallest standard
  deviation any unbiased estimate can have.

Unknown coefficient functions are not analysed (their sensitivity has as many directions as
the function has degrees of freedom).
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any

import numpy as np

from .errors import ProblemError
from .problems import Problem
from .problems.inverse import at_values, inverse_spec


def sensitivity(problem: Problem, noise: float | None = None, step: float = 1e-3) -> dict[str, Any]:
    """The linearised sensitivity of the observations to the scalar unknowns (see the module
    docstring). ``noise``: the relative noise for the Cramér-Rao bound (default: the file's
    ``noise`` and ``known_noise`` together, else 1%).

    >>> from sciml.problems import load_problem
    >>> out = sensitivity(load_problem("poisson-source-inverse"))
    >>> out["unknowns"], round(out["singular_values"][0], 3)
    (['s'], 1.0)
    """
    from .nn.inverse import observations
    from .solvers import get

    spec = inverse_spec(problem)
    if spec is None or not spec.unknowns:
        raise ProblemError("identifiability needs scalar unknowns in [inverse]", problem.source, "inverse.unknowns")
    clean = dataclasses.replace(spec, noise=0.0, known_noise=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the reference's note that it solves the forward problem
        points, exact = observations(clean, problem)
        names = list(spec.unknowns)
        reference = get("reference")

        def observed(values: dict[str, float]) -> np.ndarray:
            sol = reference.solve(at_values(problem, values))
            return np.asarray(sol(points), dtype=float).reshape(exact.shape)

        truth = {n: float(problem.parameters[n]) for n in names}
        base = observed(truth)  # the reference's, like the perturbed ones (not [exact])
        norm = float(np.linalg.norm(base)) or 1.0
        columns = []
        for name in names:
            plus = observed({**truth, name: truth[name] * np.exp(step)})
            minus = observed({**truth, name: truth[name] * np.exp(-step)})
            columns.append(((plus - minus) / (2 * step)).ravel() / norm)
    J = np.stack(columns, axis=1)
    _, s, vt = np.linalg.svd(J, full_matrices=False)
    sigma = noise if noise is not None else (spec.data_noise or 0.01)
    sd = sigma * np.abs(base.ravel()) / norm
    weights = 1.0 / np.maximum(sd, 1e-12 * max(sd.max(), 1e-300)) ** 2
    fisher = J.T @ (J * weights[:, None])
    try:
        bound = np.sqrt(np.diag(np.linalg.inv(fisher)))
    except np.linalg.LinAlgError:
        bound = np.full(len(names), np.inf)
    return {"unknowns": names, "observations": int(len(points)), "singular_values": s.tolist(),
            "directions": vt.tolist(), "accuracy_for_1pct": float(0.01 * s[-1]),
            "noise": float(sigma), "cramer_rao": dict(zip(names, np.expm1(bound).tolist()))}


def describe(out: dict[str, Any]) -> str:
    """A short text report of :func:`sensitivity`."""
    names = out["unknowns"]
    lines = [f"{out['observations']} observations; unknowns {', '.join(names)}",
             "singular values of d(observations / |observations|) / d(log unknowns), with their directions:"]
    for s, v in zip(out["singular_values"], out["directions"]):
        lines.append(f"  {s:.3g}  along " + ", ".join(f"{c:+.2f} {n}" for c, n in zip(v, names)))
    lines.append(f"to identify every unknown within 1%, a solver's field must match the observations to "
                 f"{out['accuracy_for_1pct']:.2g} (relative)")
    lines.append(f"with {out['noise']:.2g} relative noise no unbiased estimate does better than (one standard "
                 f"deviation): " + ", ".join(f"{n} {e:.2%}" for n, e in out["cramer_rao"].items()))
    return "\n".join(lines)
