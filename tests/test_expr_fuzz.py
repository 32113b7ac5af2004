"""Property-based fuzzing of the expression language (issue [hardening]).

Three kinds of input: expressions drawn from a grammar of valid ones, token soup, and
mutations of valid expressions. Whatever the input, parsing raises nothing but
``ProblemError``; every accepted expression evaluates with NumPy and with torch (float64)
without any exception, and the two backends agree to rounding (NaN and infinities in the same
places). ``SCIML_FUZZ_SCALE=4`` multiplies the number of examples (the issue's 5,000-string run).
"""

import os

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sciml.errors import ProblemError
from sciml.problems import Expr
from sciml.problems.expr import FUNCTIONS

NAMES = ("x", "y", "a")
X = np.linspace(-2.1, 1.9, 9)
Y = np.linspace(1.3, -0.7, 9)
A = 0.75
SCALE = int(os.environ.get("SCIML_FUZZ_SCALE", "1"))
SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

ARITY = {"arctan2": 2, "heaviside": 1, "where": 3, "min": 2, "max": 3}
numbers = st.one_of(st.integers(0, 12).map(str), st.floats(0, 50, allow_nan=False).map(repr),
                    st.sampled_from(["1e-3", "2.5e2", ".5", "3.", "1e308", "0"]))
leaves = st.one_of(numbers, st.sampled_from(NAMES + ("pi", "e")))


def _grow(children):
    unary = st.tuples(st.sampled_from(["-", "+", "not "]), children).map(lambda t: f"{t[0]}{t[1]}")
    binary = st.tuples(children, st.sampled_from(["+", "-", "*", "/", "**", "<", "<=", ">", ">=",
                                                  " and ", " or "]), children).map(lambda t: "".join(t))
    chain = st.tuples(children, children, children).map(lambda t: f"{t[0]} < {t[1]} <= {t[2]}")
    call = st.sampled_from(FUNCTIONS).flatmap(
        lambda f: st.lists(children, min_size=ARITY.get(f, 1), max_size=ARITY.get(f, 1))
        .map(lambda args: f"{f}({', '.join(args)})"))
    group = children.map(lambda c: f"({c})")
    return st.one_of(unary, binary, chain, call, group)


valid = st.recursive(leaves, _grow, max_leaves=12)
VOCAB = ["x", "y", "a", "b", "pi", "1", "2.5", "1e400", "0", "(", ")", ",", "+", "-", "*", "/", "**",
         "^", "<", ">=", "==", "and", "or", "not", "sin", "where", "max", "lambda", "if", "else", ".",
         "[", "]", "'s'", " ", "1j", "__import__", "sqrt", "log", "%", "//", "e", ":", "=", "@"]
soup = st.lists(st.sampled_from(VOCAB), min_size=1, max_size=14).map(" ".join)


@st.composite
def mutated(draw):
    text = list(draw(valid))
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["insert", "delete", "replace"]))
        char = draw(st.sampled_from(list("()+-*/<>=,.^ xya0129e_[]'\"!&|~") + ["**", "sin(", " and "]))
        if action == "insert":
            text.insert(i, char)
        elif text and i < len(text):
            if action == "delete":
                del text[i]
            else:
                text[i] = char
    return "".join(text)


def check(source: str) -> None:
    """Parse, evaluate with both backends, compare: the property every input must have."""
    try:
        e = Expr(source, names=NAMES).bind(a=A)
    except ProblemError:
        return
    got = e.numpy(x=X, y=Y)
    tt = e.torch(x=torch.tensor(X), y=torch.tensor(Y))
    assert isinstance(tt, torch.Tensor) and tt.dtype == torch.float64, source
    want = tt.numpy()
    assert got.shape == want.shape == X.shape, source
    assert np.array_equal(np.isnan(got), np.isnan(want)), (source, got, want)
    assert np.array_equal(np.where(np.isinf(got), got, 0), np.where(np.isinf(want), want, 0)), (source, got, want)
    finite = np.isfinite(got)
    np.testing.assert_allclose(got[finite], want[finite], rtol=1e-9, atol=1e-12, err_msg=source)


@settings(max_examples=1500 * SCALE, **SETTINGS)
@given(valid)
def test_valid_expressions_agree_in_both_backends(source):
    check(source)


@settings(max_examples=600 * SCALE, **SETTINGS)
@given(soup)
def test_token_soup_only_raises_problem_error(source):
    check(source)


@settings(max_examples=600 * SCALE, **SETTINGS)
@given(mutated())
def test_mutated_expressions_only_raise_problem_error(source):
    check(source)


@pytest.mark.parametrize("source", [
    "-(x < 0.5)", "(x < a) - (y < 1)", "abs(x < 0)", "sign(y > 0)", "where(x, 1, 2)", "where(a, x, y)",
    "where(x > 0, sqrt(x), 0)", "x**(1/3)", "sqrt(x)", "log(x)", "1/x", "heaviside(x) * sign(y)",
])
def test_piecewise_expressions_from_the_issue(source):
    check(source)


def test_flat_sums_products_and_deep_nesting_work():
    terms = 5000
    total = Expr(" + ".join(f"0.1*sin({k}*x)" for k in range(terms)), names=("x",))
    x = np.array([0.3, -0.7])
    np.testing.assert_allclose(total.numpy(x=x), sum(0.1 * np.sin(k * x) for k in range(terms)), rtol=1e-10)
    prod = Expr("*".join(["(1 + x/5000)"] * terms), names=("x",))
    np.testing.assert_allclose(prod.numpy(x=x), (1 + x / 5000) ** terms, rtol=1e-10)
    depth = 1000
    for source, want in [("-" * depth + "x", x), ("(" * depth + "x" + ")" * depth, x),
                         ("sin(" * 200 + "x" + ")" * 200, None), ("x" + "**1" * depth, x)]:
        e = Expr(source, names=("x",))
        got = e.numpy(x=x)
        np.testing.assert_allclose(e.torch(x=torch.tensor(x)).numpy(), got, rtol=1e-12)
        if want is not None:
            np.testing.assert_allclose(got, want)


def test_torch_computes_in_the_dtype_it_is_given():
    e = Expr("where(x > a, x**2, -x) + (x < 0)", names=("x", "a")).bind(a=0.25)
    for dtype in (torch.float32, torch.float64):
        assert e.torch(x=torch.linspace(-1, 1, 5, dtype=dtype)).dtype == dtype


@pytest.mark.parametrize("source, message", [
    ("1e400", "beyond the float range"),
    ("1" * 310, "beyond the float range"),
    ("(-8)**(1/3)", "not a real number"),
    ("exp(1e6)", "overflow"),
    ("1/0", "division by zero"),
    ("2x", "number followed by a name"),
    ("1j", "complex"),
    ("", "empty"),
    ("x +", "ends with an operator"),
    ("(x", "never closed"),
    ("x)", "unmatched"),
    ("sin()", "needs arguments"),
    ("x, y", "tuples"),
])
def test_refusals_name_the_reason(source, message):
    with pytest.raises(ProblemError, match=message):
        Expr(source, names=NAMES)
