"""Boundary-condition kinds as modules found by a registry (issue [pde]): a kind registered from
outside the package is read from a problem file and trained on with no other edit; kinds that
belong to one PDE type are refused elsewhere."""

import numpy as np
import pytest

from sciml import bcs
from sciml.bcs import BoundaryKind, Entry
from sciml.errors import ProblemError
from sciml.problems import problem_from_dict
from sciml.runner import run


class Scaled(BoundaryKind):
    """u = scale * value: a kind with a key of its own."""

    name = "scaled_test"
    doc = "u = scale * value"

    def read(self, sec, ctx):
        scale = sec.number("scale")
        return Entry(ctx.exprs(sec, "value", 1), alpha=ctx.expr(sec, "scale") if scale else None)

    def terms(self, loss, model, g):
        j = model.jet(g.points, 0, ())
        return [(j.value - g.alpha[:, None] * g.target).pow(2).mean()]


@pytest.fixture
def scaled(monkeypatch):
    monkeypatch.setitem(bcs.REGISTRY.items, "scaled_test", Scaled())
    return {"pde": {"type": "poisson", "f": "pi**2*sin(pi*x)"}, "domain": {"type": "interval", "bounds": [0, 1]},
            "boundary": [{"type": "scaled_test", "scale": 2, "value": "0.5"}], "exact": {"u": "sin(pi*x) + 1"},
            "solver": {"pinn": {"hidden": [16, 16], "adam_steps": 0, "lbfgs_steps": 30, "n_interior": 64,
                                "dtype": "float64"}}}


def test_a_registered_kind_is_read_and_trained_on(scaled):
    problem = problem_from_dict(scaled)
    assert problem.boundaries[0].type == "scaled_test"
    _, summary = run(problem, "pinn", {"progress": False})
    assert summary["rel_l2"] < 1e-2  # u = 2 * 0.5 = 1 at both ends
    with pytest.raises(ProblemError, match=r"\[boundary.0.scale\]: missing required key"):
        problem_from_dict({**scaled, "boundary": [{"type": "scaled_test", "value": "0.5"}]})


def test_kinds_of_one_type_are_refused_by_the_others():
    data = {"pde": {"type": "poisson"}, "domain": {"type": "box", "lo": [0, 0], "hi": [1, 1]},
            "boundary": [{"type": "cauchy", "value": ["0", "0"]}]}
    with pytest.raises(ProblemError, match="poisson problems take .*not cauchy"):
        problem_from_dict(data)
    with pytest.raises(ProblemError, match="not slip"):
        problem_from_dict({**data, "boundary": [{"type": "slip"}]})
    with pytest.raises(ProblemError, match="natural"):
        problem_from_dict({**data, "boundary": [{"type": "natural"}]})
    assert np.all([k.covers_points for n, k in bcs.available().items() if n != "periodic"])


def test_the_reference_refuses_a_kind_it_does_not_know(scaled):
    problem = problem_from_dict({k: v for k, v in scaled.items() if k != "exact"})
    with pytest.raises(ProblemError, match=r"\[boundary.0.type\]: the SciPy references do not know 'scaled_test'"):
        run(problem, "reference")
