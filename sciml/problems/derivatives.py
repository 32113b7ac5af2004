"""Derivatives of solution fields in the expression language (custom PDEs).

In a custom PDE's residual, ``u_x``, ``u_yy``, ``u_xt``, ``u_tt`` (any order up to
:data:`MAX_ORDER`, the letters in any order) name derivatives of the field ``u`` along the
coordinates; ``lap(u)`` is the sum of ``u``'s second derivatives in space and
``div(a, b[, c])`` the divergence of the vector field with components ``a, b[, c]``. They are
written as names, so the parser and its safety rules are those of every expression; ``lap``
and ``div`` are expanded into such names before parsing.

>>> expand("lap(u) + div(v, w)", ("u", "v", "w"), ("x", "y"))
'(u_xx + u_yy) + (v_x + w_y)'
>>> parse_name("u_yx", ("u",), ("x", "y", "t"))
('u', (0, 1))
>>> parse_name("u_x10x2", ("u",), tuple(f"x{i}" for i in range(1, 11)))
('u', (1, 9))
"""

from __future__ import annotations

import itertools
import re

from ..errors import ProblemError

MAX_ORDER = 4
_CALL = re.compile(r"\b(lap|div|grad)\s*\(([^()]*)\)")
FIELD = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")


def expand(source: str, fields: tuple[str, ...], space: tuple[str, ...]) -> str:
    """``source`` with ``lap(f)`` and ``div(f, g, ...)`` written out as derivative names."""
    def one(m: re.Match) -> str:
        name, args = m.group(1), [a.strip() for a in m.group(2).split(",")]
        bad = [a for a in args if a not in fields]
        if bad:
            raise ProblemError(f"{name}() takes field names ({', '.join(fields)}), got {m.group(2).strip()!r}")
        if name == "grad":
            raise ProblemError("grad(...) is a vector: write its components (u_x, u_y) or lap/div")
        if name == "lap":
            if len(args) != 1:
                raise ProblemError("lap() takes one field")
            return "(" + " + ".join(f"{args[0]}_{c}{c}" for c in space) + ")"
        if len(args) != len(space):
            raise ProblemError(f"div() takes {len(space)} fields, one per space dimension")
        return "(" + " + ".join(f"{a}_{c}" for a, c in zip(args, space)) + ")"

    return _CALL.sub(one, source)


def derivative_names(fields: tuple[str, ...], variables: tuple[str, ...], order: int = MAX_ORDER) -> tuple[str, ...]:
    """Every derivative name of ``fields`` along ``variables`` up to ``order``, each
    ordering of the letters included (``u_xy`` and ``u_yx``)."""
    out = []
    for f in fields:
        for k in range(1, order + 1):
            for letters in itertools.product(variables, repeat=k):
                out.append(f"{f}_{''.join(letters)}")
    return tuple(out)


def parse_name(name: str, fields: tuple[str, ...], variables: tuple[str, ...]) -> tuple[str, tuple[int, ...]] | None:
    """``(field, sorted axis indices)`` of a derivative name, None for any other name. The
    variables may have several characters (``u_x1x2`` above three dimensions)."""
    head, _, letters = name.partition("_")
    if head not in fields or not letters:
        return None
    axes = []
    by_length = sorted(variables, key=len, reverse=True)  # x10 before x1
    while letters:
        match = next((v for v in by_length if letters.startswith(v)), None)
        if match is None or len(axes) == MAX_ORDER:
            return None
        axes.append(variables.index(match))
        letters = letters[len(match):]
    return head, tuple(sorted(axes))
