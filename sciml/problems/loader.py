"""Reading problem files: TOML (standard library) -> validated :class:`Problem`.

Everything is checked up front: unknown keys, missing keys, wrong types, forbidden or unknown
names in expressions, boundary tags that do not exist, missing mesh files. Every error names the
file and the dotted key.
"""

from __future__ import annotations

import math
import re
import sys
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from .. import bcs
from ..errors import ProblemError
from ..geometry.dims import is_coordinate, space_names
from ..geometry import CSG, Ball, Box, Cylinder, Difference, Disk, Domain, Interval, Polygon, read_domain
from .checks import check_problem
from .data import read_data
from .derivatives import FIELD, derivative_names, expand
from .expr import CONSTANTS, FUNCTIONS, Expr
from .family import parse_family
from .pdes import PDE, SPECS
from .problem import BoundaryCondition, Problem, TimeSpan

if TYPE_CHECKING:
    from ..pdes import PDEType

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

TOP_KEYS = ("name", "description", "pde", "domain", "time", "initial", "boundary", "exact",
            "parameters", "data", "reference", "solver", "family", "inverse")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_REQUIRED = object()
#: names of the random input functions of the family being loaded (callable in expressions)
_FUNCTIONS: ContextVar[tuple[str, ...]] = ContextVar("family_functions", default=())
#: the [data] functions of the file being loaded (callable in expressions, bound to their grids)
_DATA: ContextVar[Mapping[str, Any]] = ContextVar("data_functions", default={})


def _make(value: Any, names: tuple[str, ...], bound: Mapping[str, Any]) -> Expr:
    """An expression of the file being loaded: its family's random inputs and its data
    functions may be called."""
    data = _DATA.get()
    return Expr.of(value, names, {**bound, **data}, _FUNCTIONS.get() + tuple(data))


class _Section:
    """A TOML table being read: typed ``get`` calls, then ``done`` rejects unknown keys."""

    def __init__(self, data: Any, key: str, source: Path | str | None):
        if not isinstance(data, dict):
            raise ProblemError(f"expected a table, got {type(data).__name__}", source, key)
        self.data, self.key, self.source = dict(data), key, source
        self.seen: set[str] = set()

    def path(self, name: str) -> str:
        return f"{self.key}.{name}" if self.key else name

    def error(self, name: str, message: str) -> ProblemError:
        return ProblemError(message, self.source, self.path(name))

    def has(self, name: str) -> bool:
        return name in self.data

    def raw(self, name: str, default: Any = _REQUIRED) -> Any:
        self.seen.add(name)
        if name not in self.data:
            if default is _REQUIRED:
                raise self.error(name, "missing required key")
            return default
        return self.data[name]

    def number(self, name: str, default: Any = _REQUIRED) -> float:
        value = self.raw(name, default)
        if not _finite_number(value):
            raise self.error(name, f"expected a finite number, got {value!r}")
        return float(value)

    def string(self, name: str, default: Any = _REQUIRED, options: Iterable[str] | None = None) -> str:
        value = self.raw(name, default)
        if not isinstance(value, str):
            raise self.error(name, f"expected a string, got {value!r}")
        if options is not None and value not in options:
            raise self.error(name, f"unknown value {value!r} (choose from {', '.join(options)})")
        return value

    def vector(self, name: str, length: int | None = None, default: Any = _REQUIRED) -> list[float]:
        value = self.raw(name, default)
        if not isinstance(value, list) or not all(_finite_number(v) for v in value):
            raise self.error(name, f"expected a list of finite numbers, got {value!r}")
        if length is not None and len(value) != length:
            raise self.error(name, f"expected {length} numbers, got {len(value)}")
        return [float(v) for v in value]

    def expr(self, name: str, names: tuple[str, ...], bound: Mapping[str, float],
             default: Any = _REQUIRED) -> Expr:
        value = self.raw(name, default)
        try:
            return _make(value, names, bound)
        except ProblemError as exc:
            raise exc.located(self.source, self.path(name)) from None

    def exprs(self, name: str, length: int, names: tuple[str, ...], bound: Mapping[str, float],
              default: Any = _REQUIRED) -> tuple[Expr, ...]:
        value = self.raw(name, default)
        values = value if isinstance(value, list) else [value]
        if len(values) != length:
            raise self.error(name, f"expected {length} expression(s), got {len(values)}")
        try:
            return tuple(_make(v, names, bound) for v in values)
        except ProblemError as exc:
            raise exc.located(self.source, self.path(name)) from None

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.seen)
        if unknown:
            raise self.error(unknown[0], f"unknown key (allowed here: {', '.join(sorted(self.seen))})")


def _finite_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def parse_value(text: str) -> Any:
    """Parse a ``--set`` value as TOML (number, string, list…); bare words stay strings."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_overrides(data: dict[str, Any], overrides: Iterable[str], source: Any = None) -> dict[str, Any]:
    """Apply ``KEY=VALUE`` overrides by dotted TOML path (``time.end=0.5``,
    ``boundary.0.value=1``, ``solver.pig.n_gaussians=800``)."""
    for item in overrides:
        if "=" not in item:
            raise ProblemError(f"--set expects KEY=VALUE, got {item!r}", source)
        key, text = item.split("=", 1)
        parts = key.strip().split(".")
        node: Any = data
        for i, part in enumerate(parts[:-1]):
            if isinstance(node, list):
                if not part.isdigit() or int(part) >= len(node):
                    raise ProblemError(f"--set {key}: no entry {part!r}", source, ".".join(parts[:i + 1]))
                node = node[int(part)]
            else:
                node = node.setdefault(part, {})
            if not isinstance(node, (dict, list)):
                raise ProblemError(f"--set {key}: {part!r} is not a table", source, ".".join(parts[:i + 1]))
        last = parts[-1]
        if isinstance(node, list):
            if not last.isdigit() or int(last) >= len(node):
                raise ProblemError(f"--set {key}: no entry {last!r}", source, key)
            node[int(last)] = parse_value(text.strip())
        else:
            node[last] = parse_value(text.strip())
    return data


def load_problem(path: str | Path, overrides: Iterable[str] = ()) -> Problem:
    """Read and validate a problem file.

    Parameters
    ----------
    path
        The TOML file, or the name of a shipped problem or family (``poisson-lshape``; a file of
        that name in the working folder comes first).
    overrides
        ``KEY=VALUE`` strings applied before validation (the CLI's ``--set``).

    Raises
    ------
    ProblemError
        For any malformed, unknown or inconsistent input, naming the file and key.

    Examples
    --------
    >>> load_problem("poisson-lshape").pde.type
    'poisson'
    """
    path = resolve_problem(path)
    try:
        data = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProblemError(f"malformed TOML: {exc}", path) from None
    apply_overrides(data, overrides, path)
    return problem_from_dict(data, source=path, base=path.parent)


def resolve_problem(path: str | Path) -> Path:
    """``path`` when it is a file, else the shipped problem or family of that name; a clear
    error when it is neither."""
    from ..shipped import find_problem

    path = Path(path)
    if path.is_file():
        return path
    shipped = find_problem(str(path))
    if shipped is None:
        raise ProblemError("problem file not found (nor a shipped problem of that name: `sciml list` shows them)",
                           path)
    return shipped


def problem_from_dict(data: Mapping[str, Any], source: Path | str | None = None,
                      base: Path | None = None) -> Problem:
    """Validate a problem given as a dict (the parsed TOML)."""
    top = _Section(data, "", source)
    name = top.string("name", default=Path(str(source)).stem if source else "problem")
    description = top.string("description", default="")

    params = _parameters(top, source)
    pde_sec = _Section(top.raw("pde"), "pde", source)
    pde_type = pde_sec.string("type", options=SPECS)
    spec = SPECS[pde_type]

    time = _time(top, source, spec.time, pde_type)
    domain = _domain(top, source, base) if spec.dims != (0,) else None
    if domain is None and top.has("domain"):
        raise top.error("domain", f"a {pde_type} problem has no spatial domain")
    dim = domain.dim if domain is not None else 0
    if dim not in spec.dims:
        raise ProblemError(f"{pde_type} needs a {' or '.join(map(str, spec.dims))}D domain, got {dim}D",
                           source, "domain")

    space = space_names(dim)
    names = space + (("t",) if time else ())
    family = None
    if top.has("family"):
        variables = pde_sec.data.get("variables", [])
        fields = spec.fields({"variables": [str(v) for v in (variables if isinstance(variables, list) else [])]}, dim)
        reserved = set(names) | {"t"} | set(params) | set(CONSTANTS) | set(FUNCTIONS) | set(fields)
        try:
            family = parse_family(top.raw("family"), space, domain.bounds if domain is not None else None, time,
                                  reserved)
        except ProblemError as exc:
            raise exc.located(source, exc.key or "family") from None
    data = read_data(top.raw("data"), base, source, dim) if top.has("data") else {}
    clash = sorted(set(data) & (set(names) | {"t"} | set(params) | set(CONSTANTS) | set(FUNCTIONS)
                                | set(family.names if family is not None else ())))
    if clash:
        raise ProblemError("a data function needs a name other than the coordinates, parameters, constants, "
                           "functions and random inputs", source, f"data.{clash[0]}")
    token = _FUNCTIONS.set(family.names if family is not None else ())
    data_token = _DATA.set(data)
    try:
        return _rest(top, source, name, description, params, pde_sec, spec, time, domain, dim, space,
                     names, family)
    finally:
        _FUNCTIONS.reset(token)
        _DATA.reset(data_token)


def _rest(top: _Section, source: Any, name: str, description: str, params: dict[str, float],
          pde_sec: _Section, spec: PDEType, time: TimeSpan | None, domain: Domain | None, dim: int,
          space: tuple[str, ...], names: tuple[str, ...], family: Any) -> Problem:
    """Everything after the family: the expressions may call its random inputs."""
    pde = _pde(pde_sec, spec, names, params, dim)
    fields = pde.fields(dim)
    if dim == 0:  # a system without space: its expressions use the state variables and t
        names = fields + ("t",)

    initial = _initial(top, source, fields, space, params, time, spec.name, spec.initial_rates(pde) if time else ())
    boundaries = _boundaries(top, source, domain, space, names, params, spec, fields)
    exact = _exact(top, source, fields, names if dim else ("t",), params)

    reference = top.raw("reference", default={})
    solver = top.raw("solver", default={})
    for key, value in (("reference", reference), ("solver", solver)):
        if not isinstance(value, dict):
            raise top.error(key, "expected a table")
    for sname, opts in solver.items():
        if not isinstance(opts, dict):
            raise ProblemError("expected a table of solver options", source, f"solver.{sname}")
    inverse = top.raw("inverse", default={})
    top.done()
    problem = Problem(name=name, pde=pde, domain=domain, boundaries=boundaries, time=time,
                      initial=initial, exact=exact, parameters=params, reference=reference,
                      solver_options=solver, family=family, inverse=inverse, description=description,
                      source=Path(source) if source else None, raw=dict(top.data))
    check_problem(problem)
    return problem


def _parameters(top: _Section, source: Any) -> dict[str, float]:
    sec = _Section(top.raw("parameters", default={}), "parameters", source)
    reserved = set("xyzt") | set(CONSTANTS) | set(FUNCTIONS)
    out = {}
    for key in list(sec.data):
        if not _IDENT.match(key) or key in reserved:
            raise sec.error(key, "parameter names must be identifiers other than x, y, z, t, "
                                 "constants and function names")
        out[key] = sec.number(key)
    sec.done()
    return out


def _time(top: _Section, source: Any, need: str, pde_type: str) -> TimeSpan | None:
    if not top.has("time"):
        if need == "required":
            raise top.error("time", f"{pde_type} needs a [time] table with start and end")
        return None
    if need == "never":
        raise top.error("time", f"{pde_type} is steady; use convection_diffusion for transient problems")
    sec = _Section(top.raw("time"), "time", source)
    span = TimeSpan(sec.number("start", 0.0), sec.number("end"))
    sec.done()
    if not span.end > span.start:
        raise sec.error("end", f"time.end must exceed time.start ({span.start})")
    return span


def _domain(top: _Section, source: Any, base: Path | None) -> Domain:
    sec = _Section(top.raw("domain"), "domain", source)
    kind = sec.string("type", options=("interval", "box", "polygon", "disk", "mesh", "csg"))
    try:
        domain = _csg(sec, source, base) if kind == "csg" else _shape(sec, kind, base)
    except ProblemError as exc:
        raise exc.located(source, "domain") from None
    if sec.has("holes"):
        holes = sec.raw("holes")
        if not isinstance(holes, list):
            raise sec.error("holes", "expected an array of tables [[domain.holes]]")
        shapes = []
        for i, h in enumerate(holes):
            hs = _Section(h, f"domain.holes.{i}", source)
            shapes.append(_shape(hs, hs.string("type", options=("box", "polygon", "disk")), base))
            hs.done()
        domain = Difference(domain, tuple(shapes))
    sec.done()
    return domain


def _csg(sec: _Section, source: Any, base: Path | None) -> Domain:
    """Named shapes (``[domain.shapes.NAME]``: box, ball, cylinder, disk) and ``combine``."""
    table = sec.raw("shapes")
    if not isinstance(table, dict) or not table:
        raise sec.error("shapes", "expected [domain.shapes.NAME] tables")
    shapes = {}
    for name, entry in table.items():
        if not _IDENT.match(name):
            raise sec.error(f"shapes.{name}", "a shape's name must be an identifier")
        ss = _Section(entry, f"domain.shapes.{name}", source)
        shapes[name] = _shape(ss, ss.string("type", options=("box", "ball", "cylinder", "disk")), base)
        ss.done()
    return CSG(shapes, sec.string("combine"))


def _shape(sec: _Section, kind: str, base: Path | None) -> Domain:
    if kind == "interval":
        a, b = sec.vector("bounds", 2)
        return Interval(a, b)
    if kind == "box":
        lo = sec.vector("lo")
        return Box(tuple(lo), tuple(sec.vector("hi", len(lo))))
    if kind == "polygon":
        verts = sec.raw("vertices")
        if not isinstance(verts, list) or not all(
                isinstance(v, list) and len(v) == 2 and all(_finite_number(c) for c in v) for v in verts):
            raise sec.error("vertices", "expected a list of [x, y] pairs of finite numbers")
        return Polygon(tuple((float(x), float(y)) for x, y in verts))
    if kind == "disk":
        return Disk(tuple(sec.vector("center", 2)), sec.number("radius"))
    if kind == "ball":
        return Ball(tuple(sec.vector("center", 3)), sec.number("radius"))
    if kind == "cylinder":
        return Cylinder(tuple(sec.vector("center", 3)), sec.number("radius"), sec.number("height"),
                        sec.string("axis", "z", options=("x", "y", "z")))
    file = Path(sec.string("file"))
    file = file if file.is_absolute() or base is None else base / file
    try:
        return read_domain(file)
    except ProblemError as exc:
        raise exc.located(sec.source, sec.path("file")) from None


def _pde(sec: _Section, spec: PDEType, names: tuple[str, ...], params: dict[str, float], dim: int) -> PDE:
    allowed = names + tuple(params)
    coefs: dict[str, Any] = {}
    for cname, coef in spec.coefs.items():
        if coef.kind == "scalar":
            coefs[cname] = sec.expr(cname, allowed, params, coef.default) \
                if (sec.has(cname) or coef.default is not None) else None
        elif coef.kind == "vector":
            default = coef.default if coef.default is not None else ["0"] * dim
            coefs[cname] = sec.exprs(cname, dim, allowed, params, default)
        elif coef.kind == "choice":
            coefs[cname] = sec.string(cname, coef.default, coef.options)
        elif coef.kind == "names":
            value = sec.raw(cname)
            if not isinstance(value, list) or not value or not all(
                    isinstance(v, str) and _IDENT.match(v) and v not in ("t", *CONSTANTS, *FUNCTIONS, *params)
                    for v in value) or len(set(value)) != len(value):
                raise sec.error(cname, "expected a list of distinct identifiers (not t, constants, "
                                       "functions or parameter names)")
            coefs[cname] = tuple(value)
        elif coef.kind == "flux":
            coefs[cname] = sec.expr(cname, ("u",) + tuple(params), params, coef.default)
        elif coef.kind == "reaction":
            coefs[cname] = sec.expr(cname, ("u",) + names + tuple(params), params, coef.default)
        elif coef.kind == "exprs":
            variables = coefs["variables"]
            coefs[cname] = sec.exprs(cname, len(variables), tuple(variables) + ("t",) + tuple(params), params)
        elif coef.kind == "tensor":
            coefs[cname] = _tensor(sec, cname, dim, allowed, params, coef.default)
        elif coef.kind == "fields":
            value = sec.raw(cname, coef.default)
            if not isinstance(value, list) or not value or len(set(value)) != len(value) or not all(
                    isinstance(v, str) and FIELD.match(v) and not is_coordinate(v)
                    and v not in (*CONSTANTS, *FUNCTIONS, *params) for v in value):
                raise sec.error(cname, "expected a list of distinct field names (letters and digits, no underscore; "
                                       "not x, y, z, t, constants, functions or parameter names)")
            coefs[cname] = tuple(value)
        elif coef.kind == "equations":
            coefs[cname] = _equations(sec, cname, coefs["fields"], names, params)
    sec.done()
    problem = spec.check(coefs, "t" in names)
    if problem is not None:
        raise sec.error(*problem)
    return PDE(spec.name, coefs)


def _tensor(sec: _Section, name: str, dim: int, names: tuple[str, ...], params: dict[str, float],
            default: Any) -> tuple[tuple[Expr, ...], ...]:
    """A symmetric ``dim x dim`` tensor of expressions: a scalar (times the identity) or a list of
    ``dim`` rows."""
    value = sec.raw(name, default)
    if not isinstance(value, list):
        k = sec.expr(name, names, params, default)
        zero = _make("0", names, params)
        return tuple(tuple(k if i == j else zero for j in range(dim)) for i in range(dim))
    if len(value) != dim or not all(isinstance(row, list) and len(row) == dim for row in value):
        raise sec.error(name, f"expected an expression or {dim} rows of {dim} expressions")
    try:
        rows = tuple(tuple(_make(v, names, params) for v in row) for row in value)
    except ProblemError as exc:
        raise exc.located(sec.source, sec.path(name)) from None
    for i in range(dim):
        for j in range(i):
            if rows[i][j].source.replace(" ", "") != rows[j][i].source.replace(" ", ""):
                raise sec.error(name, f"the tensor must be symmetric: entry ({i}, {j}) is {rows[i][j].source!r}, "
                                      f"({j}, {i}) is {rows[j][i].source!r}")
    return rows


def _parse_at(sec: _Section, key: str, text: Any, names: tuple[str, ...], params: dict[str, float]) -> Expr:
    """An expression given as ``text`` at ``key`` of ``sec`` (errors name that key)."""
    try:
        return _make(text, names, params)
    except ProblemError as exc:
        raise exc.located(sec.source, sec.path(key)) from None


def _equations(sec: _Section, name: str, fields: tuple[str, ...], names: tuple[str, ...],
               params: dict[str, float]) -> tuple[Expr, ...]:
    """One residual expression per field, in the fields and their derivatives."""
    value = sec.raw(name)
    values = value if isinstance(value, list) else [value]
    if len(values) != len(fields):
        raise sec.error(name, f"expected one residual per field ({len(fields)}: {', '.join(fields)}), got {len(values)}")
    space = tuple(n for n in names if is_coordinate(n) and n != "t")
    allowed = names + tuple(params) + fields + derivative_names(fields, names)
    out = []
    for i, text in enumerate(values):
        key = name if len(values) == 1 else f"{name}.{i}"
        if not isinstance(text, str):
            raise ProblemError(f"expected an expression string, got {text!r}", sec.source, sec.path(key))
        try:
            out.append(_make(expand(text, fields, space), allowed, params))
        except ProblemError as exc:
            raise exc.located(sec.source, sec.path(key)) from None
    return tuple(out)


def _initial(top: _Section, source: Any, fields: tuple[str, ...], space: tuple[str, ...],
             params: dict[str, float], time: TimeSpan | None, pde_type: str,
             rates: tuple[str, ...] = ()) -> dict[str, Expr]:
    """Initial values of the fields, and the initial rates ``f_t`` of the fields ``rates``."""
    if not top.has("initial"):
        if time is not None:
            raise top.error("initial", f"a time-dependent {pde_type} problem needs [initial] values "
                                       f"for {', '.join(fields)}")
        return {}
    if time is None:
        raise top.error("initial", "a steady problem takes no [initial] table")
    sec = _Section(top.raw("initial"), "initial", source)
    out = {f: sec.expr(f, space + tuple(params), params) for f in (*fields, *(f"{r}_t" for r in rates))}
    sec.done()
    return out


def _exact(top: _Section, source: Any, fields: tuple[str, ...], names: tuple[str, ...],
           params: dict[str, float]) -> dict[str, Expr]:
    if not top.has("exact"):
        return {}
    sec = _Section(top.raw("exact"), "exact", source)
    allowed = names + tuple(params)
    if len(fields) > 1 and sec.has("u") and "u" not in fields:
        exprs = sec.exprs("u", len(fields), allowed, params)
        out = dict(zip(fields, exprs))
    else:
        out = {f: sec.expr(f, allowed, params) for f in fields}
    sec.done()
    return out


def _boundaries(top: _Section, source: Any, domain: Domain | None, space: tuple[str, ...],
                names: tuple[str, ...], params: dict[str, float], spec: PDEType,
                fields: tuple[str, ...]) -> tuple[BoundaryCondition, ...]:
    entries = top.raw("boundary", default=[])
    if domain is None:
        if entries:
            raise top.error("boundary", f"a {spec.name} problem has no boundary")
        return ()
    if not isinstance(entries, list) or not entries:
        raise top.error("boundary", "expected at least one [[boundary]] entry")
    out = []
    for i, entry in enumerate(entries):
        sec = _Section(entry, f"boundary.{i}", source)
        kind = sec.string("type", options=[k for k, v in bcs.available().items() if k != "natural"])
        where = sec.string("where", "all")
        predicate = None
        if where not in ("all", "boundary"):
            if _IDENT.match(where) and where not in space:
                tags = domain.tags
                if not any(where == t or t.startswith(where + "_") for t in tags):
                    raise sec.error("where", f"no boundary tag {where!r} in this domain "
                                             f"(tags: {', '.join(tags)}, or all, or a predicate)")
            else:
                predicate = sec.expr("where", space + tuple(params), params)
        taken = [k for k, b in bcs.available().items() if k != "natural"
                 and (spec.boundary_kinds is None or k in spec.boundary_kinds) and (b.types is None or spec.name in b.types)]
        if kind not in taken:
            raise sec.error("type", f"{spec.name} problems take {', '.join(taken) or 'no'} conditions, not {kind}")
        allowed = names + tuple(params)
        context = bcs.ReadContext(fields, space, domain,
                                  exprs=lambda s, key, n, default=_REQUIRED: s.exprs(key, n, allowed, params, default),
                                  expr=lambda s, key: s.expr(key, allowed, params),
                                  variables=tuple(n for n in names if is_coordinate(n)),
                                  parse=lambda text, key, extra, s=sec: _parse_at(s, key, text, allowed + tuple(extra),
                                                                                   params))
        entry = bcs.get(kind).read(sec, context)
        sec.done()
        out.append(BoundaryCondition(where, kind, entry.value, entry.alpha, predicate, entry.components, entry.axis))
    return tuple(out)
