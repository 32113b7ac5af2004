"""Constructive solid geometry for the physics-informed solvers (issue [pde])."""

import re
from pathlib import Path

import numpy as np
import pytest

from sciml.errors import ProblemError
from sciml.geometry import CSG, Ball, Box, Cylinder
from sciml.problems import load_problem, problem_from_dict
from sciml.runner import run

ROOT = Path(__file__).resolve().parent.parent


def part():
    return CSG({"block": Box((0.0, 0.0, 0.0), (1.0, 1.0, 1.0)), "hole": Ball((0.5, 0.5, 0.5), 0.3),
                "shaft": Cylinder((0.5, 0.5, 0.5), 0.12, 2.0, "x")}, "block - (hole + shaft)")


def test_inside_and_outside():
    d = part()
    pts = np.array([[0.5, 0.5, 0.5], [0.05, 0.5, 0.5], [0.1, 0.1, 0.1], [0.5, 0.95, 0.5], [1.5, 0.5, 0.5]])
    assert d.contains(pts).tolist() == [False, False, True, True, False]
    union = CSG({"a": Ball((0.0, 0.0, 0.0), 1.0), "b": Ball((1.5, 0.0, 0.0), 1.0)}, "a + b")
    meet = CSG({"a": Ball((0.0, 0.0, 0.0), 1.0), "b": Ball((1.5, 0.0, 0.0), 1.0)}, "a * b")
    x = np.array([[-0.9, 0, 0], [0.75, 0, 0], [2.4, 0, 0]])
    assert union.contains(x).tolist() == [True, True, True] and meet.contains(x).tolist() == [False, True, False]
    np.testing.assert_allclose(meet.bounds[0], [0.5, -1, -1]) and np.testing.assert_allclose(meet.bounds[1], [1, 1, 1])


def test_boundary_points_lie_on_the_boundary_with_outward_normals():
    d = part()
    s = d.sample_boundary(3000, rng=np.random.default_rng(1))
    assert np.abs(d.sdf(s.points)).max() < 1e-6
    assert (d.sdf(s.points + 1e-3 * s.normals) > 0).all() and (d.sdf(s.points - 1e-3 * s.normals) < 0).mean() > 0.99
    assert set(s.tags) == {"block", "hole", "shaft"}
    hole = s.tags == "hole"  # the ball's surface: normals point to its centre (out of the part)
    towards = (np.asarray([0.5, 0.5, 0.5]) - s.points[hole]) / 0.3
    np.testing.assert_allclose(s.normals[hole], towards, atol=1e-4)


@pytest.mark.parametrize("change, words", [
    (("combine = \"block - (hole + shaft)\"", "combine = \"block - hole\""), "unused: shaft"),
    (("combine = \"block - (hole + shaft)\"", "combine = \"block - hole**2 + shaft\""), "+, * and - only"),
    (("combine = \"block - (hole + shaft)\"", "combine = \"block - nut\""), "unknown name 'nut'"),
    (("radius = 0.3", "radius = -0.3"), "positive radius"),
    (('axis = "x"', 'axis = "w"'), "[domain.shapes.shaft.axis]"),
])
def test_bad_csg_domains_name_the_key(change, words, tmp_path):
    path = tmp_path / "p.toml"
    path.write_text((ROOT / "problems" / "poisson-csg-3d.toml").read_text().replace(*change))
    with pytest.raises(ProblemError, match=re.escape(words)) as exc:
        load_problem(path)
    assert "[domain" in str(exc.value)


def test_a_csg_problem_is_solved_by_pinn():
    problem = load_problem(ROOT / "problems" / "poisson-csg-3d.toml",
                           ["solver.pinn.adam_steps=50", "solver.pinn.lbfgs_steps=0", "solver.pinn.n_interior=256"])
    sol, summary = run(problem, "pinn", {"progress": False})
    assert summary["compared_to"] == "exact" and np.isfinite(summary["rel_l2"]) and sol.kind == "points"


def _as_poisson(h):
    raw = load_problem(ROOT / "problems" / "poisson-csg-3d.toml").raw
    return problem_from_dict({**raw, "pde": {"type": "poisson", "f": "3*pi**2*sin(pi*x)*sin(pi*y)*sin(pi*z)"},
                              "reference": {"h": h}})


def test_gmsh_meshes_a_csg_domain_and_the_fem_reference_converges():
    pytest.importorskip("gmsh")
    errors = [run(_as_poisson(h), "reference")[1]["rel_l2"] for h in (0.1, 0.05)]
    assert errors[1] < 1e-2 and errors[0] / errors[1] > 3  # P1: second order


def test_without_gmsh_the_reference_refuses_a_csg_domain(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "gmsh", None)  # import gmsh raises ImportError
    with pytest.raises(ProblemError, match="needs gmsh"):
        run(_as_poisson(0.1), "reference")
