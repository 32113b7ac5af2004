"""PDE types as modules found by a registry (issue [pde]): traits, and a type registered from
outside the package that loads, is checked and is solved by a physics-informed solver with no
edit to any solver."""

import numpy as np
import pytest

from sciml import pdes, solvers
from sciml.errors import ProblemError
from sciml.pdes import Coef, Constraint, PDEType, coef
from sciml.problems import problem_from_dict
from sciml.runner import run
from sciml.solvers.base import accepted_types


def test_builtin_types_and_their_traits():
    kinds = pdes.available()
    assert list(kinds)[:len(pdes.BUILTIN)] == list(pdes.BUILTIN)
    assert {"steady", "scalar", "linear", "residual", "reference", "dim1", "dim2", "dim3"} <= kinds["poisson"].traits
    assert {"transient", "nonlinear", "residual"} <= kinds["burgers"].traits and "steady" not in kinds["burgers"].traits
    assert "residual" not in kinds["euler"].traits and "vector" in kinds["euler"].traits
    assert {"scalar", "vector"}.isdisjoint(kinds["ode"].traits)  # as many components as variables
    with pytest.raises(ProblemError, match="unknown PDE type 'navier'"):
        pdes.get("navier")


class Screened(PDEType):
    """-lap u + a u = f, a > 0: a type written outside the package."""

    name = "screened_test"
    equation = "-lap u + a u = f"
    coefs = {"a": Coef("scalar", "1"), "f": Coef("scalar", "0")}
    dims = (1, 2)
    time = "never"
    constraints = (Constraint("a", coef("a"), "a must be positive"),)

    def data(self, pde):
        return [("a", pde.a, False), ("f", pde.f, False)]

    def residual(self, loss, jet, x, c):
        return -jet.laplacian(loss.space) + c["a"][:, None] * jet.value - c["f"][:, None]


@pytest.fixture
def screened(monkeypatch):
    monkeypatch.setitem(pdes.REGISTRY.items, "screened_test", Screened())
    return {"pde": {"type": "screened_test", "a": "4", "f": "(pi**2 + 4)*sin(pi*x)"},
            "domain": {"type": "interval", "bounds": [0, 1]}, "boundary": [{"type": "dirichlet"}],
            "exact": {"u": "sin(pi*x)"},
            "solver": {"pinn": {"hidden": [16, 16], "adam_steps": 300, "lbfgs_steps": 60, "n_interior": 64,
                                "dtype": "float64"}}}


def test_a_registered_type_is_solved_by_the_solvers_whose_traits_it_has(screened):
    problem = problem_from_dict(screened)
    assert "screened_test" in accepted_types(solvers.get_class("pinn")) and "screened_test" in accepted_types(solvers.get_class("pig"))
    assert "screened_test" not in accepted_types(solvers.get_class("reference"))  # it has no reference
    _, summary = run(problem, "pinn", {"progress": False})
    assert summary["compared_to"] == "exact" and summary["rel_l2"] < 1e-2
    with pytest.raises(ProblemError, match="no SciPy reference solves screened_test"):
        run(problem, "reference")


def test_a_registered_type_gets_the_load_time_checks(screened):
    with pytest.raises(ProblemError, match=r"\[pde.a\]: a must be positive"):
        problem_from_dict({**screened, "pde": {**screened["pde"], "a": "x - 0.5"}})
    with pytest.raises(ProblemError, match=r"\[pde.f\]: evaluates to nan"):
        problem_from_dict({**screened, "pde": {**screened["pde"], "f": "sqrt(x - 0.5)"}})
    with pytest.raises(ProblemError, match="screened_test needs a 1 or 2D domain"):
        problem_from_dict({**screened, "domain": {"type": "box", "lo": [0, 0, 0], "hi": [1, 1, 1]}})
    assert np.isfinite(problem_from_dict(screened).exact_values(np.array([[0.5]]))).all()


PLUGIN = '''
from sciml import pdes
from sciml.pdes import Coef, PDEType


class Screened(PDEType):
    name = "screened_plugin"
    equation = "-u'' + a u = f"
    coefs = {"a": Coef("scalar", "1"), "f": Coef("scalar", "0")}
    dims = (1,)
    time = "never"

    def data(self, pde):
        return [("a", pde.a, False), ("f", pde.f, False)]

    def residual(self, loss, jet, x, c):
        return -jet.dd(0, 0) + c["a"][:, None] * jet.value - c["f"][:, None]


pdes.register(Screened())
'''
PROBLEM = '''
[pde]
type = "screened_plugin"
a = "4"
f = "(pi**2 + 4)*sin(pi*x)"
[domain]
type = "interval"
bounds = [0.0, 1.0]
[[boundary]]
type = "dirichlet"
[exact]
u = "sin(pi*x)"
[solver.pinn]
hidden = [16, 16]
adam_steps = 0
lbfgs_steps = 40
n_interior = 64
dtype = "float64"
'''


def test_a_plugin_file_adds_a_type_from_the_command_line(tmp_path, capsys, monkeypatch):
    import json

    from sciml.cli import main

    monkeypatch.setattr(pdes.REGISTRY, "items", dict(pdes.REGISTRY.items))
    (tmp_path / "screened.py").write_text(PLUGIN)
    (tmp_path / "p.toml").write_text(PROBLEM)
    out = tmp_path / "out"
    assert main(["solve", str(tmp_path / "p.toml"), "--out", str(out), "--solver", "pinn", "--quiet"]) == 2
    assert "unknown value 'screened_plugin'" in capsys.readouterr().err  # not registered without the plugin
    assert main(["solve", str(tmp_path / "p.toml"), "--out", str(out), "--solver", "pinn", "--quiet",
                 "--plugin", str(tmp_path / "screened.py")]) == 0
    assert json.loads((out / "summary.json").read_text())["rel_l2"] < 1e-2
    (tmp_path / "broken.py").write_text("raise RuntimeError('no')\n")
    assert main(["--plugin", str(tmp_path / "broken.py"), "list"]) == 2
    err = capsys.readouterr().err.strip()
    assert "broken.py" in err and "RuntimeError: no" in err and len(err.splitlines()) == 1
