"""Operator-learning data: random fields have their covariance, random input functions in
expressions, family files, and HDF5 data sets (closed-form checks, determinism across workers,
resume, refusals)."""

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from numpy.polynomial import chebyshev
from scipy.fft import dctn

from sciml.cli import main
from sciml.data.dataset import DatasetReader, generate, solve_member
from sciml.data.fields import Chebyshev, GaussianRF1D, GaussianRF2D, PowerSeries, Threshold
from sciml.errors import ProblemError
from sciml.problems import load_problem
from sciml.problems.expr import Expr

FAMILIES = Path(__file__).resolve().parent.parent / "problems" / "families"

POLY = """
name = "poly-antiderivative"
[pde]
type = "ode"
variables = ["s"]
rhs = ["v(t)"]
[time]
start = 0.0
end = 1.0
[initial]
s = "0"
[family.inputs.v]
kind = "power"
degree = 4
M = 1.0
on = "t"
sensors = 11
[family.output]
layout = "random"
points = 3
[reference]
rtol = 1e-6
atol = 1e-8
"""


def test_grf_1d_has_the_rbf_covariance():
    rng = np.random.default_rng(0)
    g = GaussianRF1D(0.2, sigma=1.5, n_grid=400)
    x = np.linspace(0, 1, 6)
    n = 3000
    S = np.array([g.sample(rng, 0.0, 1.0)(x) for _ in range(n)])
    analytic = 1.5 ** 2 * np.exp(-0.5 * ((x[:, None] - x[None]) / 0.2) ** 2)
    # the sample covariance's standard error is about sigma^2 sqrt(2 / n)
    assert np.abs(np.cov(S.T) - analytic).max() < 4 * 1.5 ** 2 * np.sqrt(2 / n)


def test_grf_2d_has_the_fno_spectrum():
    rng = np.random.default_rng(1)
    g = GaussianRF2D(alpha=2.0, tau=3.0, n_grid=16)
    std = g.spectrum()
    coefs = np.array([dctn(g.sample(rng, [0, 0], [1, 1]).values, type=2, norm="ortho") for _ in range(400)])
    assert np.allclose(coefs[:, 0, 0], 0.0, atol=1e-12)  # the mean mode is removed
    z = coefs[:, std > 0] / std[std > 0]
    assert abs(z.var() - 1.0) < 0.03  # every mode has its prescribed variance (pooled)
    assert std[1, 0] > std[4, 4] > 0  # and decays with the wavenumber


def test_sampled_functions_agree_in_numpy_and_torch_and_differentiate():
    rng = np.random.default_rng(2)
    f = GaussianRF1D(0.2).sample(rng, 0.0, 1.0)
    x = np.linspace(0, 1, 9)
    xt = torch.tensor(x, requires_grad=True)
    y = f(xt)
    assert np.allclose(y.detach().numpy(), f(x))
    y.sum().backward()
    assert np.allclose(xt.grad.numpy(), f.spline(x, 1))
    c = Chebyshev(6, 2.0).sample(rng, -1.0, 3.0)
    assert np.allclose(c(x), chebyshev.chebval((x + 1) / 2 - 1, c.a))
    p = PowerSeries(3).sample(rng, 0.0, 2.0)
    assert np.allclose(p(x), p.a[0] + p.a[1] * x / 2 + p.a[2] * (x / 2) ** 2)
    th = GaussianRF2D(n_grid=16, threshold=Threshold(3.0, 12.0)).sample(rng, [0, 0], [1, 1])
    grid = np.linspace(0, 1, 33)
    values = th(*np.meshgrid(grid, grid, indexing="ij"))
    assert set(np.unique(values)) == {3.0, 12.0}
    assert np.array_equal(values == 12.0, th.field(*np.meshgrid(grid, grid, indexing="ij")) >= 0)
    pts = torch.rand(5, 2)
    assert np.allclose(th(pts[:, 0], pts[:, 1]).numpy(), th(pts[:, 0].numpy(), pts[:, 1].numpy()))


def test_random_functions_in_expressions():
    e = Expr("-k*sin(s) + v(t)", names=("s", "t", "k"), functions=("v",)).bind(k=2.0)
    assert e.free == {"s", "t", "v"}
    e = e.bind(v=lambda t: 3 * t)
    assert np.allclose(e.numpy(s=np.zeros(2), t=np.array([1.0, 2.0])), [3.0, 6.0])
    with pytest.raises(ProblemError, match="call it as v"):
        Expr("v + 1", names=("x",), functions=("v",))


@pytest.mark.parametrize("edit, match", [
    (('kind = "power"', 'kind = "brownian"'), "kind must be one of"),
    (('on = "t"', 'on = "x"'), "coordinates of this problem"),
    (('[family.inputs.v]', '[family.inputs.s]'), "input names"),
    (('points = 3', 'points = 0'), "positive integer"),
    (('layout = "random"', 'layout = "scattered"'), "layout"),
    (('degree = 4', 'degree = 4\nlength = 2'), "unknown key"),
])
def test_bad_family_tables_are_refused(write_problem, edit, match):
    with pytest.raises(ProblemError, match=match):
        load_problem(write_problem(POLY.replace(*edit)))


def test_antiderivative_data_match_closed_form_integrals(write_problem):
    problem = load_problem(write_problem(POLY))
    for i in range(4):
        m = solve_member(problem, 7, i)
        a = np.random.default_rng([7, i]).uniform(-1, 1, 4)  # the member's own draw: coefficients first
        t = m.points[:, 0]
        exact = sum(a[k] * t ** (k + 1) / (k + 1) for k in range(4))
        assert np.allclose(m.outputs[:, 0], exact, atol=1e-6)
        assert np.allclose(m.inputs["v"], np.polyval(a[::-1], np.linspace(0, 1, 11)))


def test_dataset_round_trip_is_deterministic_across_workers_and_resumes(write_problem, tmp_path):
    path = write_problem(POLY)
    one = generate(path, 70, tmp_path / "one.h5", workers=1, progress=False)
    two = generate(path, 70, tmp_path / "two.h5", workers=2, progress=False)
    with DatasetReader(one) as r1, DatasetReader(two) as r2:
        assert len(r1) == 70 and r1.fields == ["s"] and r1.layout == "random"
        for key in ("points", "outputs"):
            assert np.array_equal(r1[:][key], r2[:][key])
        m = solve_member(load_problem(path), 0, 66)
        got = r1[np.array([66, 3])]
        assert np.array_equal(got["outputs"][0], m.outputs) and np.array_equal(got["inputs"]["v"][0], m.inputs["v"])
        assert r1.sensors("v").shape == (11, 1)
        batches = list(r1.batches(32, np.random.default_rng(0)))
        assert [len(b["outputs"]) for b in batches] == [32, 32, 6]
        full = r1[:]["outputs"]
    # an interrupted run: a partial file with the last chunk missing
    os.replace(one, tmp_path / "three.h5.partial")
    import h5py

    with h5py.File(tmp_path / "three.h5.partial", "a") as f:
        f["done"][64:] = False
        f["outputs"][64:] = 0.0
    generate(path, 70, tmp_path / "three.h5", workers=1, progress=False)
    with DatasetReader(tmp_path / "three.h5") as r3:
        assert np.array_equal(r3[:]["outputs"], full)
    with pytest.raises(ProblemError, match="exists"):
        generate(path, 70, tmp_path / "three.h5", progress=False)
    os.replace(tmp_path / "three.h5", tmp_path / "four.h5.partial")
    with pytest.raises(ProblemError, match="different seed"):
        generate(path, 70, tmp_path / "four.h5", seed=3, progress=False)


def test_grid_layout_and_shipped_families(tmp_path):
    out = tmp_path / "p1.h5"
    assert main(["data", "generate", str(FAMILIES / "poisson-1d.toml"), "--n", "3", "--out", str(out),
                 "--workers", "1", "--quiet"]) == 0
    with DatasetReader(out) as r:
        b = r[:]
        assert b["points"].shape == (101, 1) and b["outputs"].shape == (3, 101, 1)
        assert np.allclose(b["outputs"][:, [0, -1], 0], 0.0, atol=1e-12)  # the Dirichlet ends
    for f in sorted(FAMILIES.glob("*.toml")):
        assert load_problem(f).family is not None


def test_cli_refuses_a_plain_problem_and_a_missing_file(root, tmp_path, capsys):
    assert main(["data", "generate", str(root / "problems" / "heat-1d.toml"), "--n", "2",
                 "--out", str(tmp_path / "x.h5")]) == 2
    assert "not a problem family" in capsys.readouterr().err
    with pytest.raises(ProblemError, match="not found"):
        DatasetReader(tmp_path / "missing.h5")


def test_solve_takes_one_member_of_a_family(write_problem, tmp_path):
    from sciml.problems.family import member

    path = write_problem(POLY)
    m = member(load_problem(path), 5)
    assert m.name == "poly-antiderivative-member5" and m.family.drawn is not None
    a = np.random.default_rng([0, 5]).uniform(-1, 1, 4)
    assert np.allclose(m.family.drawn["v"](np.array([0.5])), np.polyval(a[::-1], 0.5))
    given = load_problem(path, ['family.inputs.v.kind="expr"', 'family.inputs.v.value="3*t**2"'])
    out = tmp_path / "o"
    assert main(["solve", str(path), "--set", 'family.inputs.v.kind="expr"', "--set",
                 'family.inputs.v.value="3*t**2"', "--out", str(out), "--no-png", "--quiet"]) == 0
    import h5py

    with h5py.File(out / "solution.h5") as f:
        assert np.allclose(f["s"][()], f["t"][()] ** 3, atol=1e-6)  # s = t^3
    assert member(given, 0).name == "poly-antiderivative"
