"""A safe expression language for problem files.

Expressions such as ``"sin(pi*x)*exp(-t)"`` or ``"x < -0.999"`` are read by a small tokenizer
and an operator-precedence parser written here (not Python's :mod:`ast`, whose recursive
parser fails on a long flat sum), checked against a whitelist and compiled into a flat postfix
program run by a stack machine. Nothing is ever passed to ``eval``, and neither parsing,
compilation nor evaluation recurses, so a sum of many thousands of terms or nesting thousands
of levels deep works.

One semantics for both backends:

- every value is real floating point: NumPy computes in float64, torch in the dtype of the
  tensors it is given (the solver's dtype); a non-real result (the square root or a fractional
  power of a negative number) is NaN, never a complex number;
- comparisons, ``and``, ``or`` and ``not`` give 0.0 or 1.0, so arithmetic on them works
  (``-(x < 0.5)``); any non-zero value is true (``where(c, a, b)`` takes any condition);
- sub-expressions without variables are folded once, in float64; one that is not finite
  (``9**9**9``, ``1/0``) is an error.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Mapping

import numpy as np

from ..errors import ProblemError
from ..geometry.dims import space_names

MAX_SOURCE_LENGTH = 200_000
CONSTANTS = {"pi": math.pi, "e": math.e}
FUNCTIONS = (
    "sin", "cos", "tan", "exp", "log", "sqrt", "abs", "tanh", "sinh", "cosh",
    "arctan", "arcsin", "arccos", "arctan2", "sign", "heaviside", "where", "min", "max",
)
_ARITY = {"arctan2": (2, 2), "heaviside": (1, 1), "where": (3, 3), "min": (2, None), "max": (2, None)}

# -- tokens ----------------------------------------------------------------------------------
_NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPERATORS = ("**", "<=", ">=", "==", "!=", "+", "-", "*", "/", "<", ">", "(", ")", ",")
_REFUSED = {  # what Python would accept and this language does not, with the reason
    "^": "'^' is not allowed (use ** for powers)", "//": "'//' is not allowed (use /)",
    "%": "'%' is not allowed", ".": "attribute access is not allowed",
    "[": "subscripts and lists are not allowed", "{": "dicts and sets are not allowed",
    "'": "a string constant is not a number", '"': "a string constant is not a number",
    "=": "assignment is not allowed (comparisons: <, <=, >, >=)", ":": "':' is not allowed",
    "@": "'@' is not allowed", "&": "'&' is not allowed (use and)", "|": "'|' is not allowed (use or)",
    "~": "'~' is not allowed (use not)", "!": "'!' is not allowed (use not)",
}
_KEYWORDS = {
    "lambda": "lambda is not allowed", "if": "conditional expressions are not allowed (use where(cond, a, b))",
    "else": "conditional expressions are not allowed (use where(cond, a, b))",
    "for": "comprehensions are not allowed", "in": "'in' is not allowed", "is": "'is' is not allowed",
    "True": "constant True is not a number", "False": "constant False is not a number",
    "None": "constant None is not a number", "import": "'import' is not allowed",
    "await": "await is not allowed", "yield": "yield is not allowed",
}
_WORD_OPERATORS = ("and", "or", "not")


def _tokens(source: str, fail: Callable[[str], ProblemError]) -> Iterator[tuple[str, Any]]:
    """The ``(kind, value)`` tokens of ``source`` (``num``, ``name``, ``op``), read lazily so
    that errors come in the order they are written."""
    i, n = 0, len(source)
    while i < n:
        c = source[i]
        if c.isspace():
            i += 1
            continue
        m = _NUMBER.match(source, i)
        if m:
            text = m.group()
            j = m.end()
            if j < n and (source[j].isalnum() or source[j] in "_."):
                raise fail(f"{source[i:j + 1]!r}: a number followed by a name or digit "
                           "(write 2*x; complex and hexadecimal numbers are not allowed)")
            value = float(text)
            if not math.isfinite(value):
                raise fail(f"number {text[:40]}{'...' if len(text) > 40 else ''} is beyond the float range")
            yield "num", value
            i = j
            continue
        m = _NAME.match(source, i)
        if m:
            word = m.group()
            if word in _KEYWORDS:
                raise fail(_KEYWORDS[word])
            yield ("op", word) if word in _WORD_OPERATORS else ("name", word)
            i = m.end()
            continue
        op = next((o for o in _OPERATORS if source.startswith(o, i)), None)
        if op is None:
            refused = next((k for k in _REFUSED if source.startswith(k, i)), None)
            raise fail(_REFUSED[refused] if refused else f"character {c!r} is not allowed")
        if op in ("==", "!="):
            raise fail(f"comparison {op} is not allowed (use <, <=, >, >=)")
        yield "op", op
        i += len(op)


# -- parse tree ------------------------------------------------------------------------------
@dataclass
class _Node:
    """One node of the parse tree: ``num``, ``name``, ``unary``, ``binary``, ``compare``
    (a chain ``a < b <= c``), ``call`` (a whitelisted function) or ``input`` (a random input
    function of a family)."""

    kind: str
    value: Any = None
    args: list["_Node"] = field(default_factory=list)
    grouped: bool = False  # written in parentheses (ends a comparison chain)


# binding power and associativity of the infix operators; prefix operators bind as noted
_INFIX = {"or": (1, "left"), "and": (2, "left"), "<": (4, "left"), "<=": (4, "left"),
          ">": (4, "left"), ">=": (4, "left"), "+": (5, "left"), "-": (5, "left"),
          "*": (6, "left"), "/": (6, "left"), "**": (8, "right")}
_PREFIX = {"not": 3, "-": 7, "+": 7}
_COMPARE = ("<", "<=", ">", ">=")


@dataclass
class _Pending:
    """An entry of the operator stack: an operator waiting for its operands, or an open
    parenthesis (a group, or a call collecting arguments)."""

    kind: str  # "infix" | "prefix" | "paren" | "call"
    op: str = ""
    power: int = 0
    base: int = 0  # output-stack height when a call's parenthesis opened


class _Parser:
    def __init__(self, source: str, allowed: frozenset[str], functions: frozenset[str]):
        self.source, self.allowed, self.functions = source, allowed, functions
        self.used: set[str] = set()

    def fail(self, what: str) -> ProblemError:
        shown = self.source if len(self.source) <= 80 else self.source[:77] + "..."
        return ProblemError(f"expression {shown!r}: {what}")

    def parse(self) -> _Node:
        tokens = _tokens(self.source, self.fail)
        token = next(tokens, None)
        if token is None:
            raise self.fail("is empty")
        out: list[_Node] = []
        ops: list[_Pending] = []
        expect_operand = True
        while token is not None:
            kind, value = token
            nxt = next(tokens, None)
            if expect_operand:
                if kind == "num":
                    out.append(_Node("num", value))
                    expect_operand = False
                elif kind == "name":
                    if nxt == ("op", "("):
                        ops.append(self._open_call(value, len(out)))
                        nxt = next(tokens, None)
                    else:
                        out.append(self._name(value))
                        expect_operand = False
                elif value in _PREFIX:
                    ops.append(_Pending("prefix", value, _PREFIX[value]))
                elif value == "(":
                    ops.append(_Pending("paren"))
                elif value == ")" and ops and ops[-1].kind == "call" and len(out) == ops[-1].base:
                    raise self.fail(f"{ops[-1].op.lstrip('@')}() needs arguments")
                else:
                    raise self.fail(f"is not valid: an operand was expected before {self._shown(value)}")
            else:
                if kind != "op" or value == "not":
                    raise self.fail(f"is not valid: an operator was expected before {self._shown(value)}")
                if value in _INFIX:
                    power, assoc = _INFIX[value]
                    self._reduce(out, ops, power, assoc)
                    ops.append(_Pending("infix", value, power))
                    expect_operand = True
                elif value == ",":
                    self._reduce(out, ops, 0, "left")
                    if not ops or ops[-1].kind != "call":
                        raise self.fail("tuples are not allowed")
                    expect_operand = True
                elif value == ")":
                    self._reduce(out, ops, 0, "left")
                    if not ops:
                        raise self.fail("is not valid: unmatched ')'")
                    top = ops.pop()
                    if top.kind == "call":
                        self._close_call(top, out)
                    else:
                        out[-1].grouped = True
                elif value == "(":
                    raise self.fail("calls are only allowed on function names")
            token = nxt
        if expect_operand:
            raise self.fail("is not valid: it ends with an operator")
        self._reduce(out, ops, 0, "left")
        if ops:
            raise self.fail("is not valid: '(' was never closed")
        return out[0]

    def _shown(self, value: Any) -> str:
        return repr(value) if isinstance(value, str) else repr(float(value))

    def _arity_text(self, name: str) -> str:
        lo, hi = _ARITY.get(name, (1, 1))
        return str(lo) if hi == lo else f"at least {lo}"

    def _name(self, name: str) -> _Node:
        if name in CONSTANTS:
            return _Node("num", CONSTANTS[name])
        if name in self.functions:
            raise self.fail(f"{name!r} is a random input function; call it as {name}(...)")
        if name not in self.allowed:
            if name in FUNCTIONS:
                raise self.fail(f"{name!r} is a function; call it as {name}(...)")
            names = sorted(self.allowed | set(CONSTANTS))
            short = [n for n in names if "_" not in n] if len(names) > 40 else names  # derivative names: too many
            more = ", and derivatives such as u_x" if len(short) < len(names) else ""
            raise self.fail(f"unknown name {name!r} (allowed: {', '.join(short)}{more})")
        self.used.add(name)
        return _Node("name", name)

    def _open_call(self, name: str, height: int) -> _Pending:
        if name in self.functions:
            self.used.add(name)
            return _Pending("call", "@" + name, base=height)
        if name not in FUNCTIONS:
            raise self.fail(f"call to {name!r} is not allowed (functions: {', '.join(FUNCTIONS)})")
        return _Pending("call", name, base=height)

    def _close_call(self, call: _Pending, out: list[_Node]) -> None:
        args = out[call.base:]
        del out[call.base:]
        if call.op.startswith("@"):
            out.append(_Node("input", call.op[1:], args))
            return
        lo, hi = _ARITY.get(call.op, (1, 1))
        if len(args) < lo or (hi is not None and len(args) > hi):
            raise self.fail(f"{call.op} takes {self._arity_text(call.op)} argument(s), got {len(args)}")
        out.append(_Node("call", call.op, args))

    def _reduce(self, out: list[_Node], ops: list[_Pending], power: int, assoc: str) -> None:
        """Apply the pending operators that bind tighter than an incoming one of ``power``."""
        while ops and ops[-1].kind in ("infix", "prefix"):
            top = ops[-1]
            if top.power < power or (top.power == power and assoc == "right"):
                break
            ops.pop()
            if top.kind == "prefix":
                arg = out.pop()
                out.append(arg if top.op == "+" else _Node("unary", top.op, [arg]))
                continue
            right, left = out.pop(), out.pop()
            if top.op in _COMPARE:
                if left.kind == "compare" and not left.grouped:  # a chain: a < b < c
                    left.value.append(top.op)
                    left.args.append(right)
                    out.append(left)
                else:
                    out.append(_Node("compare", [top.op], [left, right]))
            else:
                out.append(_Node("binary", top.op, [left, right]))


# -- compilation to a postfix program --------------------------------------------------------
# An instruction is (opcode, operand count, payload): "const" and "var" push a value, the
# others pop their operands and push the result.
Instruction = tuple[str, int, Any]


def _flatten(root: _Node) -> list[_Node]:
    """The nodes in post-order, without recursion."""
    order: list[_Node] = []
    stack: list[tuple[_Node, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded or not node.args:
            order.append(node)
            continue
        stack.append((node, True))
        stack.extend((a, False) for a in reversed(node.args))
    return order


def _compile(root: _Node, fail: Callable[[str], ProblemError]) -> list[Instruction]:
    """Postfix program of the tree; sub-expressions without variables are folded in float64."""
    program: list[Instruction] = []
    constant: list[bool] = []  # per value on the simulated stack: is it a folded constant?
    ns = _namespace("numpy")
    for node in _flatten(root):
        if node.kind == "num":
            program.append(("const", 0, np.float64(node.value)))
            constant.append(True)
            continue
        if node.kind == "name":
            program.append(("var", 0, node.value))
            constant.append(False)
            continue
        n = len(node.args)
        op, payload = _opcode(node)
        if node.kind != "input" and all(constant[-n:]):
            args = [program[i][2] for i in range(len(program) - n, len(program))]
            with np.errstate(all="ignore"):
                value = np.float64(ns[op](payload, *args) if payload is not None else ns[op](*args))
            if not math.isfinite(value):
                raise fail(f"its constant part evaluates to {value} ({_non_finite_reason(value)})")
            del program[-n:], constant[-n:]
            program.append(("const", 0, value))
            constant.append(True)
            continue
        del constant[-n:]
        program.append((op, n, payload))
        constant.append(False)
    return program


def _non_finite_reason(value: float) -> str:
    """Why an expression gave a non-finite value, for error messages."""
    if math.isnan(value):
        return ("not a real number: a square root, fractional power or log of a negative number, "
                "or an argument outside arcsin/arccos's domain, or inf - inf")
    return "overflow or a division by zero"


def _opcode(node: _Node) -> tuple[str, Any]:
    if node.kind == "unary":
        return ("neg", None) if node.value == "-" else ("not", None)
    if node.kind == "binary":
        return {"+": "add", "-": "sub", "*": "mul", "/": "div", "**": "pow",
                "and": "and", "or": "or"}[node.value], None
    if node.kind == "compare":
        return "compare", tuple(node.value)
    if node.kind == "input":
        return "input", node.value
    return node.value, None


# -- the two backends ------------------------------------------------------------------------
def _np_compare(ops: tuple[str, ...], *values: Any) -> Any:
    out = None
    for op, a, b in zip(ops, values, values[1:]):
        hit = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal}[op](a, b)
        out = hit if out is None else np.logical_and(out, hit)
    return np.asarray(out, dtype=np.float64)


def _np_namespace() -> dict[str, Callable[..., Any]]:
    f64 = np.float64
    ns: dict[str, Callable[..., Any]] = {
        name: getattr(np, name)
        for name in ("sin", "cos", "tan", "exp", "log", "sqrt", "abs", "tanh", "sinh", "cosh",
                     "arctan", "arcsin", "arccos", "arctan2", "sign")
    }
    ns.update({
        "add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide, "pow": np.power,
        "neg": np.negative,
        "heaviside": lambda a: np.heaviside(a, 0.5),
        "where": lambda c, a, b: np.where(np.not_equal(c, 0), a, b),
        "min": lambda *a: _reduce(np.minimum, a), "max": lambda *a: _reduce(np.maximum, a),
        "and": lambda a, b: np.logical_and(np.not_equal(a, 0), np.not_equal(b, 0)).astype(f64),
        "or": lambda a, b: np.logical_or(np.not_equal(a, 0), np.not_equal(b, 0)).astype(f64),
        "not": lambda a: np.equal(a, 0).astype(f64),
        "compare": _np_compare,
    })
    return ns


def _torch_namespace() -> dict[str, Callable[..., Any]]:
    import torch

    def tensors(*args: Any) -> list[Any]:
        ref = next((a for a in args if isinstance(a, torch.Tensor) and a.is_floating_point()), None)
        dtype = ref.dtype if ref is not None else torch.get_default_dtype()
        device = ref.device if ref is not None else None
        return [a if isinstance(a, torch.Tensor) else torch.as_tensor(float(a), dtype=dtype, device=device)
                for a in args]

    def unary(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
        return lambda a: fn(*tensors(a))

    def keep_nan(a: Any, value: Any) -> Any:
        return torch.where(torch.isnan(a), a, value)

    def truth(a: Any) -> Any:
        return a != 0

    def as_float(mask: Any, like: Any) -> Any:
        return mask.to(like.dtype)

    def compare(ops: tuple[str, ...], *values: Any) -> Any:
        values = tensors(*values)
        fns = {"<": torch.lt, "<=": torch.le, ">": torch.gt, ">=": torch.ge}
        out = None
        for op, a, b in zip(ops, values, values[1:]):
            hit = fns[op](a, b)
            out = hit if out is None else torch.logical_and(out, hit)
        return as_float(out, values[0])

    def logical(fn: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
        def run(a: Any, b: Any) -> Any:
            a, b = tensors(a, b)
            return as_float(fn(truth(a), truth(b)), a)
        return run

    def heaviside(a: Any) -> Any:
        (a,) = tensors(a)
        return keep_nan(a, (a > 0).to(a.dtype) + 0.5 * (a == 0).to(a.dtype))

    def sign(a: Any) -> Any:
        (a,) = tensors(a)
        return keep_nan(a, torch.sign(a))

    def where(c: Any, a: Any, b: Any) -> Any:
        c, a, b = tensors(c, a, b)
        return torch.where(truth(c), a, b)

    def notop(a: Any) -> Any:
        (a,) = tensors(a)
        return as_float(a == 0, a)

    ns: dict[str, Callable[..., Any]] = {
        name: unary(getattr(torch, name))
        for name in ("sin", "cos", "tan", "exp", "log", "sqrt", "abs", "tanh", "sinh", "cosh",
                     "arctan", "arcsin", "arccos")
    }
    ns.update({
        "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
        "div": lambda a, b: a / b, "pow": lambda a, b: a ** b, "neg": lambda a: -a,
        "arctan2": lambda a, b: torch.arctan2(*tensors(a, b)),
        "sign": sign, "heaviside": heaviside, "where": where,
        "min": lambda *a: _reduce(torch.minimum, tensors(*a)),
        "max": lambda *a: _reduce(torch.maximum, tensors(*a)),
        "and": logical(torch.logical_and), "or": logical(torch.logical_or), "not": notop,
        "compare": compare,
    })
    return ns


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


def _execute(program: list[Instruction], ns: dict[str, Callable[..., Any]], env: Mapping[str, Any],
             const: Callable[[Any], Any]) -> Any:
    """Run a postfix program on a value stack."""
    stack: list[Any] = []
    push, pop = stack.append, stack.pop
    for op, n, payload in program:
        if op == "const":
            push(const(payload))
        elif op == "var":
            push(env[payload])
        elif n == 1 and payload is None:
            push(ns[op](pop()))
        elif n == 2 and payload is None:
            b = pop()
            push(ns[op](pop(), b))
        else:
            args = stack[len(stack) - n:]
            del stack[len(stack) - n:]
            if op == "input":
                push(env[payload](*args))
            else:
                push(ns[op](payload, *args) if payload is not None else ns[op](*args))
    return stack[0]


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
    >>> Expr("-(x < 0.5) + 2*(x > 0.5)", names=("x",)).numpy(x=np.array([0.25, 0.75]))
    array([-1.,  2.])
    """

    source: str
    names: tuple[str, ...] = ("x", "y", "z", "t")
    bound: Mapping[str, Any] = field(default_factory=dict)
    functions: tuple[str, ...] = ()
    _program: list[Instruction] = field(init=False, repr=False, compare=False)
    used: frozenset[str] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.source, str):
            raise ProblemError(f"expected an expression string, got {self.source!r}")
        if len(self.source) > MAX_SOURCE_LENGTH:
            raise ProblemError(f"expression longer than {MAX_SOURCE_LENGTH:,} characters "
                               f"({len(self.source):,})")
        parser = _Parser(self.source, frozenset(self.names), frozenset(self.functions))
        object.__setattr__(self, "_program", _compile(parser.parse(), parser.fail))
        object.__setattr__(self, "used", frozenset(parser.used))

    @classmethod
    def of(cls, value: object, names: Iterable[str] = ("x", "y", "z", "t"),
           bound: Mapping[str, float] | None = None, functions: Iterable[str] = ()) -> "Expr":
        """Build an expression from a TOML value: a string or a finite number."""
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ProblemError(f"expected an expression (string or number), got {value!r}")
        if not isinstance(value, str):
            try:
                number = float(value)
            except OverflowError:
                number = math.inf
            if not math.isfinite(number):
                raise ProblemError(f"expected a finite number, got {value!r}")
            value = repr(number)
        return cls(value, tuple(names), dict(bound or {}), tuple(functions))

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

    def _env(self, values: Mapping[str, Any]) -> dict[str, Any]:
        env = dict(self.bound)
        env.update(values)
        missing = self.free - set(env)
        if missing:
            raise ProblemError(f"expression {self.source!r} needs values for {sorted(missing)}")
        return env

    def numpy(self, **values: Any) -> np.ndarray:
        """Evaluate in float64 with NumPy; the result has the broadcast shape of the inputs."""
        env = {k: (v if callable(v) else np.asarray(v, dtype=np.float64)) for k, v in self._env(values).items()}
        with np.errstate(all="ignore"):
            out = np.asarray(_execute(self._program, _namespace("numpy"), env, lambda c: c), dtype=np.float64)
        arrays = [np.asarray(v) for v in values.values() if not callable(v)]
        shape = np.broadcast_shapes(*(a.shape for a in arrays)) if arrays else ()
        return np.broadcast_to(out, shape).copy() if out.shape != shape else out

    def torch(self, **values: Any) -> Any:
        """Evaluate with torch (differentiable) in the dtype of the tensors given; constants
        broadcast to the inputs' shape."""
        import torch

        env = self._env(values)
        tensors = [v for v in values.values() if isinstance(v, torch.Tensor)]
        like = next((v for v in tensors if v.is_floating_point()), tensors[0] if tensors else None)
        dtype = like.dtype if like is not None and like.is_floating_point() else torch.get_default_dtype()
        device = like.device if like is not None else None
        env = {k: (torch.as_tensor(float(v), dtype=dtype, device=device)
                   if isinstance(v, (int, float, np.floating, np.integer)) else v) for k, v in env.items()}
        out = _execute(self._program, _namespace("torch"), env,
                       lambda c: torch.as_tensor(c, dtype=dtype, device=device))
        if tensors and out.shape != tensors[0].shape:
            out = out + torch.zeros_like(tensors[0], dtype=out.dtype)
        return out

    def __call__(self, points: np.ndarray, t: np.ndarray | float | None = None) -> np.ndarray:
        """Evaluate at points ``(n, d)`` (columns x, y, z) and optionally time ``t``."""
        return self.numpy(**coordinates(points, t))

    def __str__(self) -> str:
        return self.source


def coordinates(points: Any, t: Any = None) -> dict[str, Any]:
    """Split ``(n, d)`` points (NumPy or torch) into ``{"x":..., "y":..., "z":..., "t":...}``
    (``x1 ... xd`` above three dimensions)."""
    out = {name: points[:, i] for i, name in enumerate(space_names(points.shape[1]))}
    if t is not None:
        out["t"] = t
    return out
