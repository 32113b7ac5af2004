import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from sciml.errors import ProblemError
from sciml.problems import Expr


def test_numpy_and_torch_agree():
    e = Expr("sin(pi*x)*exp(-t) + max(x, y)**2 - heaviside(x - 0.5) + where(y > 0, 1, -1)")
    x, y, t = np.linspace(-1, 1, 7), np.linspace(1, -1, 7), np.full(7, 0.3)
    got = e.numpy(x=x, y=y, t=t)
    want = np.sin(np.pi * x) * np.exp(-t) + np.maximum(x, y) ** 2 - np.heaviside(x - 0.5, 0.5) \
        + np.where(y > 0, 1, -1)
    np.testing.assert_allclose(got, want)
    tt = e.torch(x=torch.tensor(x), y=torch.tensor(y), t=torch.tensor(t))
    np.testing.assert_allclose(tt.numpy(), want)


def test_torch_is_differentiable():
    x = torch.linspace(0, 1, 5, dtype=torch.float64, requires_grad=True)
    u = Expr("x**3 + sin(x)").torch(x=x)
    (g,) = torch.autograd.grad(u.sum(), x)
    np.testing.assert_allclose(g.detach().numpy(), 3 * x.detach().numpy() ** 2 + np.cos(x.detach().numpy()))


def test_constants_broadcast_and_parameters_bind():
    assert Expr("2").numpy(x=np.ones(3)).shape == (3,)
    assert Expr("2").torch(x=torch.ones(4)).shape == (4,)
    e = Expr("a*x", names=("x", "a")).bind(a=3.0)
    np.testing.assert_allclose(e.numpy(x=np.array([1.0, 2.0])), [3.0, 6.0])
    assert e.free == {"x"} and e.depends_on("x") and not e.depends_on("t")


def test_predicates_and_chained_comparisons():
    e = Expr("-1 < x <= 0 and not y > 0.5")
    np.testing.assert_array_equal(e.numpy(x=np.array([-0.5, 0.5, -0.5]), y=np.array([0, 0, 1.0])),
                                  [True, False, False])


@pytest.mark.parametrize("source, message", [
    ("__import__('os')", "not allowed"),
    ("x.real", "attribute access"),
    ("lambda: 1", "lambda"),
    ("x[0]", "subscripts"),
    ("x^2", "use ** for powers"),
    ("foo + 1", "unknown name 'foo'"),
    ("sin", "is a function"),
    ("open('f')", "not allowed"),
    ("(x for x in y)", "comprehensions"),
    ("'text'", "not a number"),
    ("x if y else 1", "where"),
    ("sin(x, y)", "argument"),
    ("x == 1", "comparison"),
    ("1 +", "not valid"),
])
def test_forbidden_expressions(source, message):
    with pytest.raises(ProblemError, match=message.replace("(", r"\(").replace("*", r"\*").replace("^", r"\^")):
        Expr(source)


def test_huge_powers_fail_cleanly():
    with pytest.raises(ProblemError, match="evaluates to inf"):
        Expr("9**9**9")


@settings(max_examples=40, deadline=None)
@given(st.floats(-5, 5), st.floats(-5, 5), st.floats(0.1, 3))
def test_arithmetic_matches_python(a, b, c):
    e = Expr(f"({a})*x - ({b})/({c}) + x**2", names=("x",))
    x = np.array([0.7])
    assert e.numpy(x=x)[0] == pytest.approx(a * 0.7 - b / c + 0.49, rel=1e-12, abs=1e-12)
