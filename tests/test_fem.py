"""Convergence orders and cross-checks of the P1 FEM and finite-difference references."""

import numpy as np
import pytest
import scipy.sparse.linalg as spla

from sciml.geometry import Box, Mesh
from sciml.geometry.mesher import structured_simplices
from sciml.problems import problem_from_dict
from sciml.reference import ScalarFEM, fd, solve_elasticity
from sciml.reference.fem import l2_h1_errors


def _orders(errors):
    e = np.array(errors)
    return np.log2(e[:-1] / e[1:])


def _manufactured_poisson(dim, k, exact, grad, f, bcs=None):
    data = {"pde": {"type": "poisson", "k": k, "f": f},
            "domain": {"type": "box", "lo": [0.0] * dim, "hi": [1.0] * dim},
            "boundary": bcs or [{"where": "all", "type": "dirichlet", "value": exact}],
            "exact": {"u": exact}}
    return problem_from_dict(data)


def test_poisson_2d_orders_l2_2_h1_1():
    p = _manufactured_poisson(
        2, "1 + x**2 + y**2", "sin(pi*x)*sin(pi*y)", None,
        "-(2*x*pi*cos(pi*x)*sin(pi*y) + 2*y*pi*sin(pi*x)*cos(pi*y)) + (1 + x**2 + y**2)*2*pi**2*sin(pi*x)*sin(pi*y)",
        [{"where": "right", "type": "neumann", "value": "-(2 + y**2)*pi*sin(pi*y)"},
         {"where": "left", "type": "robin", "alpha": "2", "value": "-(1 + y**2)*pi*sin(pi*y)"},
         {"where": "all", "type": "dirichlet", "value": "0"}])
    exact = lambda q: np.sin(np.pi * q[:, 0]) * np.sin(np.pi * q[:, 1])  # noqa: E731
    grad = lambda q: np.pi * np.stack([np.cos(np.pi * q[:, 0]) * np.sin(np.pi * q[:, 1]),  # noqa: E731
                                       np.sin(np.pi * q[:, 0]) * np.cos(np.pi * q[:, 1])], 1)
    errs = []
    for n in (8, 16, 32):
        mesh = Box((0, 0), (1, 1)).mesh(1 / n)
        u = ScalarFEM(p, mesh).solve_steady()
        errs.append(l2_h1_errors(mesh, u, exact, grad))
    l2, h1 = zip(*errs)
    assert np.all(np.abs(_orders(l2) - 2) < 0.15), _orders(l2)
    assert np.all(np.abs(_orders(h1) - 1) < 0.1), _orders(h1)


def test_poisson_3d_orders():
    p = _manufactured_poisson(3, "1", "x*(1-x)*y*(1-y)*z*(1-z)", None,
                              "2*(y*(1-y)*z*(1-z) + x*(1-x)*z*(1-z) + x*(1-x)*y*(1-y))")
    exact = lambda q: np.prod(q * (1 - q), axis=1)  # noqa: E731

    def grad(q):
        g = q * (1 - q)
        d = 1 - 2 * q
        return np.stack([d[:, 0] * g[:, 1] * g[:, 2], g[:, 0] * d[:, 1] * g[:, 2], g[:, 0] * g[:, 1] * d[:, 2]], 1)

    errs = [l2_h1_errors(m, ScalarFEM(p, m).solve_steady(), exact, grad)
            for m in (Box((0, 0, 0), (1, 1, 1)).mesh(1 / n) for n in (4, 8, 16))]
    l2, h1 = zip(*errs)
    assert _orders(l2)[-1] == pytest.approx(2, abs=0.25)
    assert _orders(h1)[-1] == pytest.approx(1, abs=0.15)


def test_matches_scikit_fem_to_1e10():
    skfem = pytest.importorskip("skfem")
    from skfem.helpers import dot, grad

    n = 12
    pts, cells = structured_simplices(np.zeros(2), np.ones(2), np.array([n, n]))
    mesh = Mesh(pts, cells)
    p = _manufactured_poisson(2, "2", "0", None, "1 + x + 2*y")
    ours = ScalarFEM(p, mesh).solve_steady()

    m = skfem.MeshTri(mesh.points.T.copy(), mesh.cells.T.copy())
    basis = skfem.Basis(m, skfem.ElementTriP1(), intorder=4)

    @skfem.BilinearForm
    def a(u, v, w):
        return 2.0 * dot(grad(u), grad(v))

    @skfem.LinearForm
    def rhs(v, w):
        return (1 + w.x[0] + 2 * w.x[1]) * v

    A, b = a.assemble(basis), rhs.assemble(basis)
    D = m.boundary_nodes()
    theirs = skfem.solve(*skfem.condense(A, b, D=D))
    np.testing.assert_allclose(ours, theirs, atol=1e-10, rtol=0)


def test_elasticity_orders_against_manufactured_solution():
    fe = "2*pi**2*(2*sin(pi*x)*sin(pi*y) - cos(pi*x)*cos(pi*y))"
    p = problem_from_dict({
        "pde": {"type": "elasticity", "lam": "1", "mu": "1", "f": [fe, fe]},
        "domain": {"type": "box", "lo": [0.0, 0.0], "hi": [1.0, 1.0]},
        "boundary": [{"where": "all", "type": "dirichlet", "value": ["0", "0"]}]})
    s = lambda q: np.sin(np.pi * q[:, 0]) * np.sin(np.pi * q[:, 1])  # noqa: E731
    gs = lambda q: np.pi * np.stack([np.cos(np.pi * q[:, 0]) * np.sin(np.pi * q[:, 1]),  # noqa: E731
                                     np.sin(np.pi * q[:, 0]) * np.cos(np.pi * q[:, 1])], 1)
    errs = []
    for n in (8, 16, 32):
        mesh = Box((0, 0), (1, 1)).mesh(1 / n)
        u = solve_elasticity(p, mesh)
        e = [l2_h1_errors(mesh, u[:, c], s, gs) for c in range(2)]
        errs.append((np.hypot(e[0][0], e[1][0]), np.hypot(e[0][1], e[1][1])))
    l2, h1 = zip(*errs)
    assert np.all(np.abs(_orders(l2) - 2) < 0.2), _orders(l2)
    assert np.all(np.abs(_orders(h1) - 1) < 0.1), _orders(h1)


def test_elasticity_traction_gives_uniaxial_stress():
    # a bar pulled by traction 1 on the right, rollers on the left and bottom: sigma_xx = 1 exactly
    p = problem_from_dict({
        "pde": {"type": "elasticity", "E": "200", "nu": "0.25", "plane": "stress"},
        "domain": {"type": "box", "lo": [0.0, 0.0], "hi": [2.0, 1.0]},
        "boundary": [{"where": "left", "type": "dirichlet", "components": ["x"]},
                     {"where": "bottom", "type": "dirichlet", "components": ["y"]},
                     {"where": "right", "type": "neumann", "value": ["1", "0"]}]})
    mesh = Box((0, 0), (2, 1)).mesh(0.25)
    u = solve_elasticity(p, mesh)
    x, y = mesh.points.T
    np.testing.assert_allclose(u[:, 0], x / 200, atol=1e-12)
    np.testing.assert_allclose(u[:, 1], -0.25 * y / 200, atol=1e-12)


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_finite_difference_laplacian_order_2(dim):
    errs = []
    for n in (8, 16, 32):
        h = 1.0 / n
        A = fd.laplacian((n,) * dim, (h,) * dim)
        axes = [np.linspace(0, 1, n + 1)[1:-1]] * dim
        X = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, dim)
        u = np.prod(np.sin(np.pi * X), axis=1)
        errs.append(np.abs(spla.spsolve(A.tocsc(), dim * np.pi**2 * u) - u).max())
    assert np.all(np.abs(_orders(errs) - 2) < 0.1)


def test_variable_coefficient_fd_matches_constant_and_converges():
    n = 16
    A = fd.diffusion_operator(np.ones((n + 1, n + 1)), (1 / n, 1 / n))
    assert abs(A - fd.laplacian((n, n), (1 / n, 1 / n))).max() < 1e-9
    errs = []
    for n in (16, 32, 64):
        x = np.linspace(0, 1, n + 1)
        X, Y = np.meshgrid(x, x, indexing="ij")
        k = 1 + X**2 + Y**2
        A = fd.diffusion_operator(k, (1 / n, 1 / n))
        Xi, Yi = X[1:-1, 1:-1], Y[1:-1, 1:-1]
        u = np.sin(np.pi * Xi) * np.sin(np.pi * Yi)
        f = -(2 * Xi * np.pi * np.cos(np.pi * Xi) * np.sin(np.pi * Yi) + 2 * Yi * np.pi * np.sin(np.pi * Xi)
              * np.cos(np.pi * Yi)) + (1 + Xi**2 + Yi**2) * 2 * np.pi**2 * u
        errs.append(np.abs(spla.spsolve(A.tocsc(), f.ravel()) - u.ravel()).max())
    assert np.all(np.abs(_orders(errs) - 2) < 0.15)


def test_fd_reference_exact_for_quadratics_with_inhomogeneous_dirichlet_data():
    # arithmetic face means and central differences are exact for u quadratic, k linear
    p = _manufactured_poisson(2, "1 + x", "x**2 + y**2 + x*y", None, "-(4 + 6*x + y)")
    from sciml.reference import solve_reference

    sol = solve_reference(p, {"method": "fd", "nodes": 9})
    assert sol.kind == "grid" and sol.values.shape == (81, 1)
    assert np.abs(sol.values - p.exact_values(sol.points)).max() < 1e-12


def test_fd_reference_helmholtz_second_order_and_refusals():
    from sciml.errors import ProblemError
    from sciml.reference import solve_reference

    p = problem_from_dict({"pde": {"type": "helmholtz", "kappa": "3", "f": "(2*pi**2 - 9)*sin(pi*x)*sin(pi*y)"},
                           "domain": {"type": "box", "lo": [0, 0], "hi": [1, 1]},
                           "boundary": [{"where": "all", "type": "dirichlet", "value": "0"}],
                           "exact": {"u": "sin(pi*x)*sin(pi*y)"}})
    errs = [np.abs((s := solve_reference(p, {"method": "fd", "nodes": n})).values - p.exact_values(s.points)).max()
            for n in (17, 33, 65)]
    assert np.all(np.abs(_orders(errs) - 2) < 0.1)
    neumann = _manufactured_poisson(2, "1", "x", None, "0", [{"where": "left", "type": "neumann", "value": "-1"},
                                                             {"where": "all", "type": "dirichlet", "value": "x"}])
    with pytest.raises(ProblemError, match="Dirichlet conditions on the whole boundary"):
        solve_reference(neumann, {"method": "fd"})
    disk = problem_from_dict({"pde": {"type": "poisson", "f": "1"}, "domain": {"type": "disk", "center": [0, 0],
                              "radius": 1}, "boundary": [{"where": "all", "type": "dirichlet", "value": "0"}]})
    with pytest.raises(ProblemError, match="interval or box"):
        solve_reference(disk, {"method": "fd"})
