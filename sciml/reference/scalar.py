"""P1 FEM reference for the scalar elliptic family and its transient form.

Covers ``poisson``, ``helmholtz``, ``convection_diffusion`` and elliptic ``linear`` problems
through one operator ``-div(a D grad u) + b.grad u + c u`` (``helmholtz``: ``a = 1, c = -kappa^2``;
``linear``: the operator times ``-sign(c_xx)``, ``a = |c_xx|``, ``D = diag(1, c_yy / c_xx)``), Dirichlet,
Neumann, Robin and periodic boundaries, SUPG when convection dominates, and the method of lines
with Crank-Nicolson in time for transient problems.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..errors import ProblemError
from ..geometry import Mesh
from ..problems import Expr, Problem, coordinates
from . import fem
from .constraints import Constraints, facet_assignment, factorize, periodic_master
from .watch import TimeWatch


def _field(expr: Expr, t: float | None):
    return lambda pts: expr(pts, t)


@dataclass
class ScalarFEM:
    """Assembles and solves one scalar problem on a mesh.

    Parameters
    ----------
    problem
        A problem whose PDE type gives a :class:`~sciml.pdes.ScalarForm` (poisson, helmholtz,
        convection_diffusion, elliptic linear).
    mesh
        The P1 mesh.
    supg
        ``"auto"`` (on where the largest cell Peclet number exceeds 1), ``True`` or ``False``.
    """

    problem: Problem
    mesh: Mesh
    supg: bool | str = "auto"

    def __post_init__(self) -> None:
        self.geo = fem.Geometry.of(self.mesh)
        form = self.problem.pde.spec.scalar_form(self.problem)
        if form is None:
            raise ProblemError(f"{self.problem.pde.type} problems are not scalar second-order problems",
                               self.problem.source, "pde.type")
        self.form = form
        self.diffusion, self.velocity, self.reaction, self.source = form.diffusion, form.velocity, form.reaction, \
            form.source
        self.axes, self.flux_scale = form.axes, form.flux_scale
        self.assignment = facet_assignment(self.problem, self.mesh)
        bcs = self.problem.boundaries
        dfacets = self.mesh.facets[[a >= 0 and bcs[a].type == "dirichlet" for a in self.assignment]]
        self.dirichlet = np.unique(dfacets)
        # the first Dirichlet entry covering each Dirichlet node gives its value
        node_bc = np.full(len(self.mesh.points), -1)
        for f, a in zip(self.mesh.facets, self.assignment):
            if a >= 0 and bcs[a].type == "dirichlet":
                sel = f[node_bc[f] < 0]
                node_bc[sel] = a
        self.node_bc = node_bc
        self.constraints = Constraints(len(self.mesh.points), periodic_master(self.problem, self.mesh),
                                       self.dirichlet)
        self.tensor = form.tensor
        self.time_dependent_operator = any(e.depends_on("t") for e in (
            self.diffusion, self.reaction, *(self.velocity or ()), *(e for row in (self.tensor or ()) for e in row)))
        self.time_dependent_rhs = self.time_dependent_operator or self.source.depends_on("t") or any(
            e is not None and e.depends_on("t") for bc in bcs if bc.type in ("neumann", "robin")
            for e in (*bc.value, bc.alpha))
        self.use_supg = False
        if self.velocity is not None:
            bq = fem.velocity_at(self.geo, [_field(b, self._t0()) for b in self.velocity])
            pe = fem.cell_peclet(self.geo, bq, _field(self.diffusion, self._t0()))
            self.use_supg = bool(pe.max() > 1) if self.supg == "auto" else bool(self.supg)
            self.max_peclet = float(pe.max())

    def _t0(self) -> float | None:
        return self.problem.time.start if self.problem.time else None

    # -- forms --------------------------------------------------------------------------------
    def operator(self, t: float | None) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """The operator ``A`` (with Robin terms) and the mass matrix ``M`` (with SUPG mass)."""
        geo = self.geo
        A = (fem.tensor_stiffness(geo, [[_field(k, t) for k in row] for row in self.tensor]) if self.tensor is not None
             else fem.stiffness(geo, _field(self.diffusion, t), self.axes)) + fem.mass(geo, _field(self.reaction, t))
        M = fem.mass(geo, lambda p: np.ones(len(p)))
        if self.velocity is not None:
            bq = fem.velocity_at(geo, [_field(b, t) for b in self.velocity])
            A = A + fem.convection(geo, bq)
            if self.use_supg:
                tau = fem.supg_tau(geo, bq, _field(self.diffusion, t))
                op, ms = fem.supg_forms(geo, bq, tau, _field(self.reaction, t))
                A, M = A + op, M + ms
        for i, bc in enumerate(self.problem.boundaries):
            if bc.type == "robin":
                A = A + self.flux_scale * fem.facet_mass(self.mesh, self.mesh.facets[self.assignment == i],
                                                         _field(bc.alpha, t))
        return A.tocsr(), M.tocsr()

    def rhs(self, t: float | None) -> np.ndarray:
        """Load vector: source (with SUPG term), Neumann and Robin data."""
        geo = self.geo
        F = fem.load_vector(geo, _field(self.source, t))
        if self.use_supg:
            bq = fem.velocity_at(geo, [_field(b, t) for b in self.velocity])
            tau = fem.supg_tau(geo, bq, _field(self.diffusion, t))
            F = F + fem.supg_load(geo, bq, tau, _field(self.source, t))
        for i, bc in enumerate(self.problem.boundaries):
            if bc.type in ("neumann", "robin"):
                F = F + self.flux_scale * fem.facet_load(self.mesh, self.mesh.facets[self.assignment == i],
                                                         _field(bc.value[0], t))
        return F

    def dirichlet_values(self, t: float | None) -> np.ndarray:
        values = np.zeros(len(self.mesh.points))
        for i in np.unique(self.node_bc[self.node_bc >= 0]):
            nodes = np.flatnonzero(self.node_bc == i)
            values[nodes] = self.problem.boundaries[i].value[0](self.mesh.points[nodes], t)
        return values

    # -- solves -------------------------------------------------------------------------------
    def solve_steady(self) -> np.ndarray:
        if self.form.nonlinear is not None:
            raise ProblemError("the steady reference is linear: a nonlinear reaction needs [time]",
                               self.problem.source, "pde.r")
        A, _ = self.operator(None)
        return self.constraints.solve(A, self.rhs(None), self.dirichlet_values(None))

    def _reaction(self, u: np.ndarray, t: float) -> np.ndarray | None:
        """Nodal values of the nonlinear reaction ``r(u)`` (None without one)."""
        r = self.form.nonlinear
        if r is None:
            return None
        env = coordinates(self.mesh.points)
        return r.numpy(u=u, t=t, **env)

    def solve_transient(self, nt: int, snapshots: int) -> tuple[np.ndarray, np.ndarray]:
        """Crank-Nicolson with ``nt`` steps; returns ``times (s,)`` and ``values (s, n)``.

        A nonlinear reaction ``r(u)`` enters as ``M r`` at the mid-step, extrapolated from the two
        previous steps (``1.5 r(u_n) - 0.5 r(u_n-1)``, the first step ``r(u_0)``), so the scheme
        stays second order and linear (nodal interpolation of ``r``)."""
        span = self.problem.time
        c = self.constraints
        times = np.linspace(span.start, span.end, nt + 1)
        dt = span.length / nt
        keep = set(np.unique(np.round(np.linspace(0, nt, min(snapshots, nt + 1))).astype(int)))
        u = self.problem.initial["u"](self.mesh.points, span.start)
        fixed0 = self.dirichlet_values(span.start)
        u[self.dirichlet] = fixed0[self.dirichlet]
        ur = _restrict(c, u)
        A, M = self.operator(span.start)
        Ar, Mr = c.reduce(A), c.reduce(M)
        F_old = c.reduce_vector(self.rhs(span.start))
        r_old = self._reaction(u, span.start)
        M_plain = c.reduce(fem.mass(self.geo, lambda p: np.ones(len(p)))) if r_old is not None else None
        out_t, out_u = [span.start], [u.copy()]
        step_matrices = None
        watch = TimeWatch("Crank-Nicolson FEM", span.start, span.end, float(np.max(np.abs(u), initial=0.0)))
        with watch:
            for step in range(1, nt + 1):
                t = times[step]
                if self.time_dependent_operator:
                    A_new, M_new = self.operator(t)
                    Ar_new, Mr = c.reduce(A_new), c.reduce(M_new)
                else:
                    Ar_new = Ar
                if step_matrices is None or self.time_dependent_operator:
                    lhs = (Mr / dt + Ar_new / 2).tocsr()
                    step_matrices = (factorize(lhs[c.free][:, c.free]), lhs[c.free][:, c.fixed])
                solve, coupling = step_matrices
                F_new = c.reduce_vector(self.rhs(t)) if self.time_dependent_rhs else F_old
                rhs = Mr @ ur / dt - Ar @ ur / 2 + (F_old + F_new) / 2
                if r_old is not None:
                    r_now = self._reaction(c.P @ ur, times[step - 1])
                    mid = r_now if step == 1 else 1.5 * r_now - 0.5 * r_old
                    rhs = rhs + M_plain @ _restrict(c, mid)
                    r_old = r_now
                fixed = c.fixed_values(self.dirichlet_values(t))
                ur_new = np.empty_like(ur)
                ur_new[c.fixed] = fixed
                ur_new[c.free] = solve(rhs[c.free] - coupling @ fixed)
                ur, Ar, F_old = ur_new, Ar_new, F_new
                watch.check(t, ur)
                if step in keep:
                    out_t.append(t)
                    out_u.append(c.P @ ur)
        return np.array(out_t), np.stack(out_u)


def _restrict(c: Constraints, u: np.ndarray) -> np.ndarray:
    """Full nodal values -> reduced (one value per periodic class, the representative's)."""
    ur = np.zeros(c.P.shape[1])
    ur[c.reduced_index] = u
    return ur
