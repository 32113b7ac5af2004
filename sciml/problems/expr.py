"""A safe expression language for problem files.

Expressions such as ``"sin(pi*x)*exp(-t)"`` or ``"x < -0.999"`` are parsed with Python's
:mod:`ast` and checked against a whitelist: numbers, ``+ - * / **``, unary minus, comparisons
(for region predicates), ``and``/``or``/``not``, the variables and named parameters the caller
allows, the constants ``pi`` and ``e`` and a fixed set of functions. Nothing is ever passed to
``eval``. One parsed expression evaluates with NumPy (references) or torch (differentiable,
for physics-informed losses).
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

import numpy as np

from ..errors import ProblemError

MAX_SOURCE_LENGTH = 20_000
CONSTANTS = {"pi": math.pi, "e": math.e}
FUNCTIONS = (
    "sin", "cos", "tan", "exp", "log", "sqrt", "abs", "tanh", "sinh", "cosh",
    "arctan", "arcsin", "arccos", "arctan2", "sign", "heaviside", "where", "min", "max",
)
_ARITY = {"arctan2": (2, 2), "heaviside": (1, 1), "where": (3, 3), "min": (2, None), "max": (2, None)}


def _np_namespace() -> dict[str, Callable[..., Any]]:
    ns: dict[str, Callable[..., Any]] = {
        name: getattr(np, name)
        for name in ("sin", "cos", "tan", "exp", "log", "sqrt", "abs", "tanh", "sinh", "cosh",
                     "arctan", "arcsin", "arccos", "arctan2", "sign", "where")
    }
    ns["heaviside"] = lambda a: np.heaviside(a, 0.5)
    ns["min"] = lambda *a: _reduce(np.minimum, a)
    ns["max"] = lambda *a: _reduce(np.maximum, a)
    ns["and"], ns["or"], ns["not"] = np.logical_and, np.logical_or, np.logical_not
    return ns


def _torch_namespace() -> dict[str, Callable[..., Any]]:
    import torch

    def tensors(*args: Any) -> list[Any]:
        ref = next((a for a in args if isinstance(a, torch.Tensor) and a.is_floating_point()), None)
        dtype = ref.dtype if ref is not None else torch.get_default_dtype()
        device = ref.device if ref is not None else None
        return [a if isinstance(a, torch.Tensor) else torch.as_tensor(a, dtype=dtype, device=device)
                for a in args]

    ns: dict[str, Callable[..., Any]] = {
        "sin": lambda a: torch.sin(*tensors(a)), "cos": lambda a: torch.cos(*tensors(a)),
        "tan": lambda a: torch.tan(*tensors(a)), "exp": lambda a: torch.exp(*tensors(a)),
        "log": lambda a: torch.log(*tensors(a)), "sqrt": lambda a: torch.sqrt(*tensors(a)),
        "abs": lambda a: torch.abs(*tensors(a)), "tanh": lambda a: torch.tanh(*tensors(a)),
        "sinh": lambda a: torch.sinh(*tensors(a)), "cosh": lambda a: torch.cosh(*tensors(a)),
        "arctan": lambda a: torch.arctan(*tensors(a)), "arcsin": lambda a: torch.arcsin(*tensors(a)),
        "arccos": lambda a: torch.arccos(*tensors(a)), "sign": lambda a: torch.sign(*tensors(a)),
        "arctan2": lambda a, b: torch.arctan2(*tensors(a, b)),
        "heaviside": lambda a: _torch_heaviside(*tensors(a)),
        "where": lambda c, a, b: torch.where(*tensors(c, a, b)),
        "min": lambda *a: _reduce(torch.minimum, tensors(*a)),
        "max": lambda *a: _reduce(torch.maximum, tensors(*a)),
        "and": lambda a, b: torch.logical_and(*tensors(a, b)),
        "or": lambda a, b: torch.logical_or(*tensors(a, b)),
        "not": lambda a: torch.logical_not(*tensors(a)),
    }
    return ns


def _torch_heaviside(a: Any) -> Any:
    return (a > 0).to(a.dtype) + 0.5 * (a == 0).to(a.dtype)


def _reduce(op: Callable[[Any, Any], Any], args: Iterable[Any]) -> Any:
    it = iter(args)
    out = next(it)
    for a in it:
        out = op(out, a)
    return out


_NAMESPACES: dict[str, dict[str, Callable[..., Any]]] = {}


def _namespace(backend: str) -> dict[str, Callable[..., Any]]:
    if backend not in _NAMESPACES:
        _NAMESPACES[backend] = _np_namespace() if backend == "numpy" else _torch_namespace()
    return _NAMESPACES[backend]


_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a**b,
}
_CMPOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Lt: lambda a, b: a < b,
    ast.LtE: lambda a, b: a <= b,
    ast.Gt: lambda a, b: a > b,
    ast.GtE: lambda a, b: a >= b,
}
_NODE_NAMES = {
    ast.Attribute: "attribute access", ast.Lambda: "lambda", ast.Subscript: "subscripts",
    ast.ListComp: "comprehensions", ast.GeneratorExp: "comprehensions", ast.Starred: "starred arguments",
    ast.IfExp: "conditional expressions (use where(cond, a, b))", ast.BitXor: "'^' (use ** for powers)",
    ast.JoinedStr: "f-strings", ast.Dict: "dicts", ast.List: "lists", ast.Tuple: "tuples",
    ast.NamedExpr: "assignment expressions", ast.Await: "await",
}

Env = Mapping[str, Any]
Node = Callable[[dict[str, Callable[..., Any]], Env], Any]


class _Compiler:
    def __init__(self, source: str, allowed: frozenset[str], functions: frozenset[str] = frozenset()):
        self.source = source
        self.allowed = allowed
        self.functions = functions
        self.used: set[str] = set()

    def fail(self, what: str) -> ProblemError:
        return ProblemError(f"expression {self.source!r}: {what}")

    def compile(self, node: ast.AST) -> Node:
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            name = _NODE_NAMES.get(type(node), type(node).__name__)
            raise self.fail(f"{name} is not allowed")
        return method(node)

    def _Expression(self, node: ast.Expression) -> Node:
        return self.compile(node.body)

    def _Constant(self, node: ast.Constant) -> Node:
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise self.fail(f"constant {node.value!r} is not a number")
        value = float(node.value)  # floats only: '9**9**9' must not become a huge integer
        return lambda ns, env: value

    def _Name(self, node: ast.Name) -> Node:
        name = node.id
        if name in CONSTANTS:
            value = CONSTANTS[name]
            return lambda ns, env: value
        if name in self.functions:
            raise self.fail(f"{name!r} is a random input function; call it as {name}(...)")
        if name not in self.allowed:
            if name in FUNCTIONS:
                raise self.fail(f"{name!r} is a function; call it as {name}(...)")
            allowed = ", ".join(sorted(self.allowed | set(CONSTANTS)))
            raise self.fail(f"unknown name {name!r} (allowed: {allowed})")
        self.used.add(name)
        return lambda ns, env: env[name]

    def _UnaryOp(self, node: ast.UnaryOp) -> Node:
        arg = self.compile(node.operand)
        if isinstance(node.op, ast.USub):
            return lambda ns, env: -arg(ns, env)
        if isinstance(node.op, ast.UAdd):
            return arg
        if isinstance(node.op, ast.Not):
            return lambda ns, env: ns["not"](arg(ns, env))
        raise self.fail(f"operator {type(node.op).__name__} is not allowed")

    def _BinOp(self, node: ast.BinOp) -> Node:
        op = _BINOPS.get(type(node.op))
        if op is None:
            name = _NODE_NAMES.get(type(node.op), f"operator {type(node.op).__name__}")
            raise self.fail(f"{name} is not allowed")
        left, right = self.compile(node.left), self.compile(node.right)
        return lambda ns, env: op(left(ns, env), right(ns, env))

    def _BoolOp(self, node: ast.BoolOp) -> Node:
        key = "and" if isinstance(node.op, ast.And) else "or"
        parts = [self.compile(v) for v in node.values]
        return lambda ns, env: _reduce(ns[key], (p(ns, env) for p in parts))

    def _Compare(self, node: ast.Compare) -> Node:
        ops = []
        for op in node.ops:
            fn = _CMPOPS.get(type(op))
            if fn is None:
                raise self.fail(f"comparison {type(op).__name__} is not allowed (use <, <=, >, >=)")
            ops.append(fn)
        terms = [self.compile(node.left)] + [self.compile(c) for c in node.comparators]

        def run(ns: dict[str, Callable[..., Any]], env: Env) -> Any:
            values = [t(ns, env) for t in terms]
            return _reduce(ns["and"], (op(values[i], values[i + 1]) for i, op in enumerate(ops))) \
                if len(ops) > 1 else ops[0](values[0], values[1])

        return run

    def _Call(self, node: ast.Call) -> Node:
        if isinstance(node.func, ast.Name) and node.func.id in self.functions:
            if node.keywords:
                raise self.fail("keyword arguments are not allowed")
            name = node.func.id
            self.used.add(name)
            fargs = [self.compile(a) for a in node.args]
            return lambda ns, env: env[name](*(a(ns, env) for a in fargs))
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            what = ast.unparse(node.func)
            raise self.fail(f"call to {what!r} is not allowed (functions: {', '.join(FUNCTIONS)})")
        if node.keywords:
            raise self.fail("keyword arguments are not allowed")
        name = node.func.id
        lo, hi = _ARITY.get(name, (1, 1))
        if len(node.args) < lo or (hi is not None and len(node.args) > hi):
            raise self.fail(f"{name} takes {lo if hi == lo else f'at least {lo}'} argument(s)")
        args = [self.compile(a) for a in node.args]
        return lambda ns, env: ns[name](*(a(ns, env) for a in args))


@dataclass(frozen=True)
class Expr:
    """A parsed, whitelisted expression.

    Parameters
    ----------
    source
        The expression text as written in the problem file.
    names
        Variable names the expression may use (for example ``x, y, t`` and the problem's
        parameters). Parameter values are bound with :meth:`bind`.
    functions
        Names of random input functions of a problem family, called as ``v(x)``; bound to
        sampled functions (:mod:`sciml.data.fields`) with :meth:`bind`.

    Examples
    --------
    >>> e = Expr("sin(pi*x) * a", names=("x", "a")).bind(a=2.0)
    >>> float(e.numpy(x=np.array(0.5)))
    2.0
    """

    source: str
    names: tuple[str, ...] = ("x", "y", "z", "t")
    bound: Mapping[str, Any] = field(default_factory=dict)
    functions: tuple[str, ...] = ()
    _node: Node = field(init=False, repr=False, compare=False)
    used: frozenset[str] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.source, str):
            raise ProblemError(f"expected an expression string, got {self.source!r}")
        if len(self.source) > MAX_SOURCE_LENGTH:
            raise ProblemError(f"expression longer than {MAX_SOURCE_LENGTH} characters")
        try:
            tree = ast.parse(self.source.strip(), mode="eval")
        except SyntaxError as exc:
            raise ProblemError(f"expression {self.source!r} is not valid: {exc.msg}") from None
        compiler = _Compiler(self.source, frozenset(self.names), frozenset(self.functions))
        object.__setattr__(self, "_node", compiler.compile(tree))
        object.__setattr__(self, "used", frozenset(compiler.used))

    @classmethod
    def of(cls, value: object, names: Iterable[str] = ("x", "y", "z", "t"),
           bound: Mapping[str, float] | None = None, functions: Iterable[str] = ()) -> "Expr":
        """Build an expression from a TOML value: a string or a number."""
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ProblemError(f"expected an expression (string or number), got {value!r}")
        return cls(str(value) if not isinstance(value, str) else value, tuple(names), dict(bound or {}),
                   tuple(functions))

    def bind(self, **values: Any) -> "Expr":
        """Return the same expression with some names fixed: parameters to numbers, random
        input functions to sampled functions."""
        return Expr(self.source, self.names, {**self.bound, **values}, self.functions)

    @property
    def free(self) -> frozenset[str]:
        """Names the expression uses that are not bound to a number."""
        return self.used - set(self.bound)

    def depends_on(self, *names: str) -> bool:
        """Whether the expression uses any of ``names``."""
        return bool(self.free & set(names))

    @property
    def is_constant(self) -> bool:
        return not self.free

    def _run(self, backend: str, values: Mapping[str, Any]) -> Any:
        try:
            return self._node(_namespace(backend), self._env(values))
        except (OverflowError, ZeroDivisionError) as exc:
            raise ProblemError(f"expression {self.source!r} cannot be evaluated: {exc}") from None

    def _env(self, values: Mapping[str, Any]) -> dict[str, Any]:
        env = dict(self.bound)
        env.update(values)
        missing = self.free - set(env)
        if missing:
            raise ProblemError(f"expression {self.source!r} needs values for {sorted(missing)}")
        return env

    def numpy(self, **values: Any) -> np.ndarray:
        """Evaluate with NumPy; the result has the broadcast shape of the inputs."""
        out = self._run("numpy", values)
        arrays = [np.asarray(v) for v in values.values()]
        shape = np.broadcast_shapes(*(a.shape for a in arrays)) if arrays else ()
        out = np.asarray(out)
        if out.dtype != bool:
            out = out.astype(float, copy=False)
        return np.broadcast_to(out, shape).copy() if out.shape != shape else out

    def torch(self, **values: Any) -> Any:
        """Evaluate with torch (differentiable); constants broadcast to the inputs' shape."""
        import torch

        out = self._run("torch", values)
        tensors = [v for v in values.values() if isinstance(v, torch.Tensor)]
        if not isinstance(out, torch.Tensor) or (tensors and out.shape != tensors[0].shape):
            like = tensors[0] if tensors else torch.zeros(())
            out = torch.as_tensor(out, dtype=like.dtype if like.is_floating_point() else None,
                                  device=like.device) + torch.zeros_like(like)
        return out

    def __call__(self, points: np.ndarray, t: np.ndarray | float | None = None) -> np.ndarray:
        """Evaluate at points ``(n, d)`` (columns x, y, z) and optionally time ``t``."""
        return self.numpy(**coordinates(points, t))

    def __str__(self) -> str:
        return self.source


def coordinates(points: Any, t: Any = None) -> dict[str, Any]:
    """Split ``(n, d)`` points (NumPy or torch) into ``{"x":..., "y":..., "z":..., "t":...}``."""
    out = {name: points[:, i] for i, name in enumerate("xyz"[: points.shape[1]])}
    if t is not None:
        out["t"] = t
    return out
