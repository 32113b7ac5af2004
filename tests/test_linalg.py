"""Linear-solver baselines and the conjugate direction iteration: the pressure matrix, CG and
its SciPy-style contract, IC(0), AMG, direct, conjugate directions with the identity and an
exact inverse, A-orthogonality, bad input."""

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from sciml.errors import ProblemError
from sciml.linalg.grid import check_system, pressure_matrix, to_grid
from sciml.linalg.krylov import cg, conjugate_directions
from sciml.linalg.precond import amg, direct, ic0, pcg
from sciml.reference import fd


def _obstacles(n, seed=0, count=3):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:n, :n]
    fluid = np.ones((n, n), bool)
    for _ in range(count):
        c, rad = rng.uniform(0.25 * n, 0.75 * n, 2), rng.uniform(0.06 * n, 0.12 * n)
        fluid &= (xx - c[0]) ** 2 + (yy - c[1]) ** 2 > rad**2
    return fluid


def test_pressure_matrix_conventions():
    n = 9
    A = pressure_matrix(np.ones((n, n), bool))
    assert abs(A - fd.laplacian((n + 1, n + 1), (1.0, 1.0))).max() < 1e-12  # open air = Dirichlet
    A3 = pressure_matrix(np.ones((4, 5, 3), bool))
    assert A3.shape == (60, 60) and A3.diagonal().max() == 6
    fluid = _obstacles(24)
    A = pressure_matrix(fluid)
    assert A.shape[0] == fluid.sum() and abs(A - A.T).max() == 0
    grid = to_grid(np.asarray(A.sum(axis=1)).ravel(), fluid)
    # a cell away from the grid edge gets no row-sum contribution from solids (Neumann): only
    # open air adds to the row sum
    assert np.all(grid[1:-1, 1:-1][fluid[1:-1, 1:-1]] == 0)
    assert np.all(A.diagonal() == to_grid(A.diagonal(), fluid)[fluid])
    assert spla.eigsh(A, 1, sigma=0, which="LM", return_eigenvectors=False)[0] > 0


def test_cg_contract_and_ic0_amg_direct_agree():
    fluid = _obstacles(32)
    A = pressure_matrix(fluid)
    b = np.random.default_rng(1).standard_normal(A.shape[0])
    exact = spla.spsolve(A.tocsc(), b)
    calls, hist = [], []
    x, info = cg(A, b, rtol=1e-10, callback=lambda xk: calls.append(1), history=hist)
    assert info == 0 and np.linalg.norm(x - exact) < 1e-8 * np.linalg.norm(exact)
    assert len(hist) == len(calls) + 1 and hist[0] == pytest.approx(1.0) and hist[-1] <= 1e-10
    x5, info5 = cg(A, b, rtol=1e-10, maxiter=5)
    assert info5 == 5
    h_ic, h_amg = [], []
    x_ic, i_ic = pcg(A, b, rtol=1e-10, history=h_ic)
    x_amg, i_amg = amg(A, b, rtol=1e-10, history=h_amg)
    x_lu, i_lu = direct(A, b)
    for y, i in ((x_ic, i_ic), (x_amg, i_amg), (x_lu, i_lu)):
        assert i == 0 and np.linalg.norm(y - exact) < 1e-7 * np.linalg.norm(exact)
    assert len(h_ic) < len(hist) / 2 and len(h_amg) < len(h_ic)
    x_warm, _ = cg(A, b, x0=exact, rtol=1e-10, history=(h := []))
    assert len(h) == 1  # a converged start returns at once


def test_ic0_is_exact_cholesky_on_a_tridiagonal_and_matches_a_on_its_pattern():
    T = sp.diags([-np.ones(9), 2.5 * np.ones(10), -np.ones(9)], [-1, 0, 1], format="csr")
    L = ic0(T)
    assert abs(L @ L.T - T).max() < 1e-12
    A = pressure_matrix(_obstacles(16))
    L = ic0(A)
    P = (L @ L.T).tocsr()
    assert np.abs(P[A.nonzero()] - A[A.nonzero()]).max() < 1e-12
    assert sp.triu(L, 1).nnz == 0 and L.nnz == sp.tril(A).nnz


def test_compiled_ic0_equals_the_reference_factor_and_solve():
    pytest.importorskip("numba")
    from sciml.linalg.compiled import CompiledIC0
    from sciml.linalg.precond import _triangular_inverse, ic0_implementation, setup

    A = pressure_matrix(_obstacles(24))
    compiled = CompiledIC0(A)
    L = ic0(A)
    assert abs(compiled.factor() - L).max() < 1e-13
    r = np.random.default_rng(2).standard_normal(A.shape[0])
    assert np.allclose(compiled @ r, _triangular_inverse(L).matvec(r), rtol=1e-12, atol=1e-12)
    assert ic0_implementation() == "numba" and isinstance(setup("ic0", A), CompiledIC0)
    with pytest.raises(Exception, match="not an M-matrix"):
        CompiledIC0(sp.csr_matrix(np.array([[1.0, 2.0], [2.0, 1.0]])))


def test_conjugate_directions_identity_is_cg_and_exact_inverse_is_one_step():
    fluid = _obstacles(32, seed=2)
    A = pressure_matrix(fluid)
    b = np.random.default_rng(2).standard_normal(A.shape[0])
    h_cg, h_cd = [], []
    cg(A, b, rtol=1e-8, history=h_cg)
    x, info = conjugate_directions(A, b, lambda r: r, rtol=1e-8, history=h_cd)
    assert info == 0 and abs(len(h_cd) - len(h_cg)) <= 1
    lu = spla.splu(A.tocsc())
    h = []
    x, info = conjugate_directions(A, b, lu.solve, rtol=1e-10, history=h)
    assert info == 0 and len(h) == 2


def test_directions_are_a_orthogonal_to_the_previous_k():
    A = pressure_matrix(_obstacles(20, seed=3))
    b = np.random.default_rng(3).standard_normal(A.shape[0])
    xs = [np.zeros(A.shape[0])]

    def direction(r):  # a nonlinear, non-symmetric stand-in for a network
        return r + 0.5 * np.tanh(np.roll(r, 3)) + 0.2 * r**2

    conjugate_directions(A, b, direction, k=2, rtol=1e-12, maxiter=12, callback=lambda xk: xs.append(xk.copy()))
    d = np.diff(np.array(xs), axis=0)  # x_{k+1} - x_k = alpha_k q_k
    for lag in (1, 2):
        for i in range(lag, len(d)):
            c = d[i] @ (A @ d[i - lag]) / np.sqrt((d[i] @ (A @ d[i])) * (d[i - lag] @ (A @ d[i - lag])))
            assert abs(c) < 1e-10


def test_bad_systems_are_refused():
    fluid = _obstacles(12)
    A = pressure_matrix(fluid)
    with pytest.raises(ProblemError, match="scipy sparse"):
        cg(A.toarray(), np.ones(A.shape[0]))
    with pytest.raises(ProblemError, match="b a vector of its size"):
        cg(A, np.ones(A.shape[0] + 1))
    with pytest.raises(ProblemError, match="fluid cells"):
        check_system(A, np.ones(A.shape[0]), np.ones((12, 12), bool))
    with pytest.raises(ProblemError, match="boolean 2D or 3D"):
        pressure_matrix(np.ones(5, bool))
