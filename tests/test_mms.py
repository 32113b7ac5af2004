"""HyPINO's manufactured solutions: operators and their kinds, f = L u by autograd against finite
differences, one draw serves every point set, the rejection filter."""

import numpy as np
import pytest

from sciml.data.mms import TERMS, RandomFunction, acceptable, apply, operator_kind, random_operator


def test_random_operators_and_their_kinds():
    rng = np.random.default_rng(0)
    counts = []
    for _ in range(200):
        c = random_operator(rng)
        counts.append(np.count_nonzero(c))
        assert np.abs(c).max() <= 2
    assert set(counts) == {1, 2, 3}
    assert operator_kind(np.array([0, 0, 0, -1.0, -1.0])) == "elliptic"
    assert operator_kind(np.array([0, 0, 0, 1.0, -0.5])) == "hyperbolic"
    assert operator_kind(np.array([0, 0, 1.0, -1.0, 0])) == "parabolic"
    assert operator_kind(np.array([1.0, 1.0, 0, 0, 0])) == "first-order"
    assert TERMS == ("u", "ux", "uy", "uxx", "uyy")


def _smooth_draw(seed):
    rng = np.random.default_rng(seed)
    for _ in range(200):  # the code's filter decides which draws are kept
        fn = RandomFunction.draw(rng, ab=3.0)
        pts = rng.uniform(-1, 1, (300, 2))
        d = fn.derivatives(pts)
        if acceptable(d, apply(np.ones(5), d)):
            return fn, pts, d
    raise AssertionError("no acceptable draw")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_f_equals_l_u_against_finite_differences(seed):
    fn, pts, d = _smooth_draw(seed)
    c = random_operator(np.random.default_rng(seed + 10))
    h = 1e-4

    def u(p):
        return fn.derivatives(p)["u"]

    ex, ey = np.array([h, 0.0]), np.array([0.0, h])
    fd = {"u": u(pts), "ux": (u(pts + ex) - u(pts - ex)) / (2 * h), "uy": (u(pts + ey) - u(pts - ey)) / (2 * h),
          "uxx": (u(pts + ex) - 2 * u(pts) + u(pts - ex)) / h**2, "uyy": (u(pts + ey) - 2 * u(pts) + u(pts - ey)) / h**2}
    f, f_fd = apply(c, d), apply(c, fd)
    assert np.abs(f - f_fd).max() <= 1e-3 * max(1.0, np.abs(f).max())


def test_one_draw_serves_every_point_set():
    fn, pts, d = _smooth_draw(4)
    again = fn.derivatives(pts[::-1].copy())
    assert np.array_equal(again["u"], d["u"][::-1])
    assert fn.terms[-1].d == 1.0 and fn.terms[-1].e == 0.0 and fn.terms[0].rule == "add"
    assert 6 <= len(fn.terms) <= 10


def test_the_rejection_filter():
    d = {"u": np.linspace(-1, 1, 10), **{k: np.zeros(10) for k in TERMS[1:]}}
    f = np.zeros(10)
    assert acceptable(d, f)
    assert not acceptable({**d, "u": 20 * d["u"]}, f)  # |u| > 10
    assert not acceptable({**d, "u": 0.01 * d["u"]}, f)  # std < 0.1
    assert not acceptable(d, f + 2e4)
    assert not acceptable(d, f, dirichlet=np.array([11.0]))
    assert not acceptable(d, f, neumann=np.array([101.0]))
    assert not acceptable({**d, "uxx": np.full(10, np.nan)}, f)
