"""Coefficients given as data on a grid ([data] tables, issue [pde])."""

import json

import numpy as np
import pytest
import torch

from conftest import POISSON
from sciml.cli import main
from sciml.errors import ProblemError
from sciml.problems import load_problem
from sciml.problems.data import GridFunction


def test_multilinear_functions_are_reproduced_in_both_backends():
    axes = [np.linspace(0, 1, 5), np.linspace(-1, 2, 4), np.linspace(0, 2, 3)]
    X, Y, Z = np.meshgrid(*axes, indexing="ij")
    f = lambda x, y, z: 1 + x - 2 * y + 0.5 * x * y * z + z  # noqa: E731
    g = GridFunction(f(X, Y, Z), (0, -1, 0), (1, 2, 2))
    pts = np.random.default_rng(0).uniform([0, -1, 0], [1, 2, 2], (50, 3))
    np.testing.assert_allclose(g(*pts.T), f(*pts.T), rtol=1e-12)
    t = torch.tensor(pts, requires_grad=True)
    v = g(t[:, 0], t[:, 1], t[:, 2])
    np.testing.assert_allclose(v.detach().numpy(), f(*pts.T), rtol=1e-12)
    (grad,) = torch.autograd.grad(v.sum(), t)  # differentiable in the coordinates
    np.testing.assert_allclose(grad[:, 0].numpy(), 1 + 0.5 * pts[:, 1] * pts[:, 2], rtol=1e-10)
    assert g(np.array(5.0), np.array(5.0), np.array(5.0)) == f(1, 2, 2)  # clamped outside


def test_a_coefficient_from_a_file_in_a_problem(tmp_path, write_problem):
    x = np.linspace(0, 1, 11)
    X, Y = np.meshgrid(x, x, indexing="ij")
    np.save(tmp_path / "k.npy", 1 + X + Y)  # bilinear: interpolated exactly
    text = POISSON.replace('f = "2*pi**2*sin(pi*x)*sin(pi*y)"',
                           'k = "perm(x, y)"\nf = "(1 + x + y)*2*pi**2*sin(pi*x)*sin(pi*y) - pi*cos(pi*x)*sin(pi*y) '
                           '- pi*sin(pi*x)*cos(pi*y)"') + '[data.perm]\nfile = "k.npy"\nlo = [0.0, 0.0]\nhi = [1.0, 1.0]\n'
    path = write_problem(text)
    problem = load_problem(path)
    np.testing.assert_allclose(problem.pde.k(np.array([[0.25, 0.5]])), [1.75])
    out = tmp_path / "out"
    assert main(["solve", str(path), "--out", str(out), "--quiet"]) == 0
    assert json.loads((out / "summary.json").read_text())["rel_l2"] < 1e-2
    assert main(["solve", str(path), "--out", str(tmp_path / "p"), "--quiet", "--solver", "pinn",
                 "--set", "solver.pinn.adam_steps=5", "--set", "solver.pinn.lbfgs_steps=0"]) == 0


@pytest.mark.parametrize("table, key", [
    ('[data.perm]\nfile = "none.npy"\nlo = [0.0, 0.0]\nhi = [1.0, 1.0]\n', "[data.perm.file]"),
    ('[data.perm]\nfile = "k.npy"\nlo = [0.0]\nhi = [1.0, 1.0]\n', "[data.perm.lo]"),
    ('[data.perm]\nfile = "k.npy"\nlo = [0.0, 0.0]\nhi = [1.0, 0.0]\n', "[data.perm.hi]"),
    ('[data.perm]\nfile = "nan.npy"\nlo = [0.0, 0.0]\nhi = [1.0, 1.0]\n', "not finite"),
    ('[data.perm]\nfile = "k.npy"\nlo = [0.0, 0.0]\nhi = [1.0, 1.0]\nfoo = 1\n', "[data.perm.foo]"),
    ('[data.x]\nfile = "k.npy"\nlo = [0.0, 0.0]\nhi = [1.0, 1.0]\n', "[data.x]"),
])
def test_bad_data_tables_name_the_key(table, key, tmp_path, write_problem):
    np.save(tmp_path / "k.npy", np.ones((3, 3)))
    np.save(tmp_path / "nan.npy", np.full((3, 3), np.nan))
    text = POISSON.replace('f = "', 'k = "1 + 0*perm(x, y)"\nf = "') + table if "data.x" not in table else POISSON + table
    with pytest.raises(ProblemError) as exc:
        load_problem(write_problem(text))
    assert key in str(exc.value)
