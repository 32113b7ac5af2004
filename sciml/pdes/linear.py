"""``linear``: ``c_u u + c_x u_x + c_y u_y + c_xx u_xx + c_yy u_yy = f`` in 2D with constant
coefficients (HyPINO's problem class); ``y`` is time unless ``c_xx c_yy > 0``. A ``cauchy``
condition gives ``u`` and ``du/dn`` on one piece (the initial line of a wave)."""

from __future__ import annotations

from typing import Any, Mapping

from . import register
import numpy as np

from ..errors import ProblemError
from ..problems.expr import Expr
from .base import Coef, PDEType, ScalarForm

TERMS = (("c_u", "u"), ("c_x", "u_x"), ("c_y", "u_y"), ("c_xx", "u_xx"), ("c_yy", "u_yy"))


class Linear(PDEType):
    name = "linear"
    equation = "c_u u + c_x u_x + c_y u_y + c_xx u_xx + c_yy u_yy = f (y is time unless c_xx c_yy > 0)"
    coefs = {**{name: Coef("scalar", "0", doc=f"coefficient of {term} (a constant)") for name, term in TERMS},
             "f": Coef("scalar", "0", doc="source")}
    dims = (2,)
    time = "never"
    has_reference = True

    def check(self, coefs: Mapping[str, Any], transient: bool) -> tuple[str, str] | None:
        for name, _ in TERMS:
            if coefs[name].free:
                return name, f"linear coefficients are constants, got {coefs[name].source!r}"
        return None

    def data(self, pde: Any) -> list[tuple[str, Any, bool]]:
        return [("f", pde.f, False)]

    def residual(self, loss: Any, jet: Any, x: Any, c: Mapping[str, Any]) -> Any:
        from ..problems.linear import coefficients

        cu, cx, cy, cxx, cyy = (float(v) for v in coefficients(loss.problem))
        return (cu * jet.value + cx * jet.d(0) + cy * jet.d(1) + cxx * jet.dd(0, 0) + cyy * jet.dd(1, 1)
                - c["f"][:, None])

    def operator_coefficients(self, problem: Any) -> np.ndarray:
        """The file's constants ``c_u, c_x, c_y, c_xx, c_yy`` as given."""
        from ..problems.linear import COEFFICIENTS, constant_coefficient

        return np.array([constant_coefficient(problem, n) for n in COEFFICIENTS])

    def scalar_form(self, problem: Any) -> ScalarForm:
        """An elliptic operator as ``-a div(A grad u) + b.grad u + c u = f'``: the equation
        times ``s = -sign(c_xx)``, ``A = diag(1, c_yy / c_xx)``; Neumann data ``du/dn`` become the
        weak form's flux ``|c_xx| du/dn``."""
        from ..problems.linear import coefficients, operator_kind

        c = coefficients(problem)
        if operator_kind(c) != "elliptic":
            raise ProblemError(f"the FEM reference solves elliptic linear operators (c_xx c_yy > 0); this one is "
                               f"{operator_kind(c)}: y is time, and the space-time reference needs a box",
                               problem.source, "pde")
        kinds = {bc.type for bc in problem.boundaries}
        if "cauchy" in kinds:
            raise ProblemError("a cauchy condition (u and du/dn together) makes an elliptic problem "
                               "over-determined", problem.source, "boundary")
        if c[3] != c[4] and kinds & {"neumann", "robin"}:
            raise ProblemError("Neumann data du/dn on an anisotropic operator (c_xx != c_yy) is not the "
                               "conormal flux the FEM reference needs", problem.source, "boundary")
        s = -float(np.sign(c[3]))
        f = problem.pde.f
        return ScalarForm(Expr(repr(abs(float(c[3])))), (Expr(repr(s * float(c[1]))), Expr(repr(s * float(c[2])))),
                          Expr(repr(s * float(c[0]))), Expr(f"{s:+.0f}*({f.source})", f.names, f.bound),
                          axes=np.array([1.0, c[4] / c[3]]), flux_scale=abs(float(c[3])))

    def reference(self, problem: Any, cfg: Any) -> Any:
        """The FEM reference of an elliptic operator; method of lines in ``y`` otherwise."""
        from ..problems.linear import kind_of
        from ..reference import scalar_reference, spacetime_reference

        return scalar_reference(problem, cfg) if kind_of(problem) == "elliptic" else spacetime_reference(problem, cfg)

    def natural_boundary(self, problem: Any) -> bool:
        """Only an elliptic operator's free edges carry the natural condition; a space-time
        problem's (``y`` is time) final-time edge carries none."""
        from ..problems.linear import kind_of

        return kind_of(problem) == "elliptic"


register(Linear())
