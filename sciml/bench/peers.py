"""Peers run side by side with our solvers: DeepXDE's PINN (installed from the ``bench`` extra)
on steady Poisson/Helmholtz and 1D Burgers.

The adapter builds DeepXDE's own objects (geometry, ``data.PDE``, ``nn.FNN``, ``Model``) from a
problem file, trains with a wall-clock budget and records the error over time, so its numbers
sit in the same table as ours. Import is deferred: DeepXDE is optional and selects its backend
from ``DDE_BACKEND`` at import time.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ProblemError
from ..geometry import Box, Polygon
from ..problems import Problem

if TYPE_CHECKING:
    from .curves import Curve, Entry


def import_deepxde() -> Any:
    """DeepXDE with the PyTorch backend, or a clear error when the bench extra is missing."""
    os.environ.setdefault("DDE_BACKEND", "pytorch")
    try:
        import deepxde
    except ImportError:
        raise ProblemError("DeepXDE is not installed: pip install -e '.[bench]'") from None
    return deepxde


def deepxde_pinn(problem: Problem, budget_s: float, curve: "Curve",
                 hidden: tuple[int, ...] = (50, 50, 50, 50), lr: float = 1e-3, adam_steps: int = 10000,
                 loss_weights: tuple[float, float] = (1.0, 1.0), n_domain: int = 2000,
                 n_boundary: int = 400, seed: int = 0) -> "Entry":
    """Train DeepXDE's PINN (FNN, tanh, Glorot normal; Adam for ``adam_steps``, then L-BFGS,
    DeepXDE's usual recipe) for ``budget_s`` seconds of training, recording the error on
    ``curve`` (started by the caller). Problems: steady 2D Poisson/Helmholtz with constant
    coefficients and Dirichlet boundaries on a box or polygon, and 1D viscous Burgers (flux
    ``u^2/2``, Dirichlet ends, an initial condition: DeepXDE's own Burgers example, whose
    ``n_initial`` is ``n_boundary`` split in half). ``loss_weights``: residual, then every
    boundary/initial term."""
    from .curves import Entry

    maker = _MAKERS.get(problem.pde.type, _elliptic_data)
    maker(problem, None, n_domain, n_boundary)  # refuses what it cannot translate before DeepXDE loads
    dde = import_deepxde()
    dde.config.set_random_seed(seed)
    data = maker(problem, dde, n_domain, n_boundary)
    for name in ("train_x_all", "train_x", "train_x_bc", "test_x"):  # DeepXDE's Polygon samples in float64
        points = getattr(data, name, None)
        if isinstance(points, np.ndarray):
            setattr(data, name, points.astype(dde.config.real(np)))
    weights = [loss_weights[0], *[loss_weights[1]] * len(data.bcs)]
    net = dde.nn.FNN([2, *hidden, 1], "tanh", "Glorot normal")  # (x, y) or (x, t)
    model = dde.Model(data, net)
    model.compile("adam", lr=lr, loss_weights=weights)
    steps = 0

    class Budget(dde.callbacks.Callback):
        def on_epoch_end(self) -> None:
            nonlocal steps
            steps += 1
            curve.tick(model.predict)
            if curve.elapsed() >= budget_s:
                self.model.stop_training = True

    model.train(iterations=adam_steps, callbacks=[Budget()], display_every=10**8, verbose=0)
    if curve.elapsed() < budget_s:
        model.compile("L-BFGS", loss_weights=weights)
        model.train(callbacks=[Budget()], display_every=10**8, verbose=0)
    wall = curve.elapsed()
    curve.tick(model.predict, force=True)
    n_params = sum(p.numel() for p in net.parameters())
    return Entry("deepxde-pinn", n_params, wall, curve.samples[-1][1], steps,
                 f"DeepXDE {dde.__version__}, {len(hidden)}x{hidden[0]} tanh, Adam {lr:g} x {adam_steps} + L-BFGS",
                 curve.samples)


def _elliptic_data(problem: Problem, dde: Any, n_domain: int, n_boundary: int,
                   theta: dict[str, Any] | None = None, extra: tuple = (), anchors: Any = None) -> Any:
    """DeepXDE's ``data.PDE`` for a steady ``-k lap u + c u = f`` with constant ``k`` and ``c``
    (the PDE type's scalar form: poisson, helmholtz, reaction-diffusion) with Dirichlet data
    (with ``dde = None``: only the checks); ``theta``: unknowns bound into the source,
    ``extra``: more conditions (the observations of an inverse problem), ``anchors``: extra
    residual points."""
    theta = theta or {}
    form = problem.pde.spec.scalar_form(problem)
    still = form is not None and (form.velocity is None or all(v.is_constant and float(v.numpy()) == 0
                                                                 for v in form.velocity))
    if not still or problem.transient or form.nonlinear is not None or form.tensor is not None or form.axes is not None:
        raise ProblemError(f"the DeepXDE adapter handles steady -k lap u + c u = f, burgers and periodic "
                           f"convection, not this {problem.pde.type} problem")
    if any(bc.type != "dirichlet" for bc in problem.boundaries):
        raise ProblemError("the DeepXDE adapter handles Dirichlet boundaries only")
    if not (form.diffusion.is_constant and form.reaction.is_constant):
        raise ProblemError("the DeepXDE adapter needs constant coefficients (k, kappa, c)")
    k, c = float(form.diffusion.numpy()), float(form.reaction.numpy())
    dom = problem.domain
    if not isinstance(dom, (Box, Polygon)) or dom.dim != 2:
        raise ProblemError("the DeepXDE adapter handles 2D box and polygon domains")
    if dde is None:
        return None
    if isinstance(dom, Box):
        geom = dde.geometry.Rectangle(list(dom.bounds[0]), list(dom.bounds[1]))
    else:
        geom = dde.geometry.Polygon(np.asarray(dom.vertices, dtype=float).tolist())
    f, g = form.source, problem.boundaries[0].value[0]

    def coords(x: Any) -> dict[str, Any]:
        return {"x": x[:, 0:1], "y": x[:, 1:2]}

    def residual(x: Any, u: Any) -> Any:
        lap = dde.grad.hessian(u, x, i=0, j=0) + dde.grad.hessian(u, x, i=1, j=1)
        return -k * lap + c * u - f.torch(**coords(x), **theta)

    bc = dde.icbc.DirichletBC(geom, lambda x: g.numpy(**coords(x)), lambda x, on: on)
    return dde.data.PDE(geom, residual, [bc, *extra], num_domain=n_domain, num_boundary=n_boundary,
                        anchors=anchors)


def _interval_in_time(dde: Any, problem: Problem) -> Any:
    """DeepXDE's space-time geometry of a 1D time-dependent problem."""
    (lo,), (hi,) = problem.domain.bounds
    return dde.geometry.GeometryXTime(dde.geometry.Interval(float(lo), float(hi)),
                                      dde.geometry.TimeDomain(problem.time.start, problem.time.end))


def _value(expr: Any, theta: dict[str, Any]) -> Any:
    """A constant coefficient: a number, or a tensor of the unknowns ``theta`` it uses."""
    return expr.torch(**theta) if expr.used & set(theta) else float(expr.numpy())


def _burgers_data(problem: Problem, dde: Any, n_domain: int, n_boundary: int,
                  theta: dict[str, Any] | None = None, extra: tuple = (), anchors: Any = None) -> Any:
    """DeepXDE's ``data.TimePDE`` for 1D viscous Burgers (with ``dde = None``: only the checks);
    ``theta``, ``extra``, ``anchors`` as for :func:`_elliptic_data`."""
    theta = theta or {}
    pde = problem.pde
    if problem.dim != 1 or not problem.transient or not pde.nu.is_constant or pde.flux.source.replace(" ", "") != "u**2/2":
        raise ProblemError("the DeepXDE adapter handles 1D Burgers with a constant nu and the flux u**2/2")
    if any(bc.type != "dirichlet" for bc in problem.boundaries):
        raise ProblemError("the DeepXDE adapter handles Dirichlet boundaries only")
    if dde is None:
        return None
    geom = _interval_in_time(dde, problem)
    nu = _value(pde.nu, theta)
    g, u0 = problem.boundaries[0].value[0], problem.initial["u"]

    def residual(x: Any, u: Any) -> Any:
        u_x, u_t = dde.grad.jacobian(u, x, i=0, j=0), dde.grad.jacobian(u, x, i=0, j=1)
        return u_t + u * u_x - nu * dde.grad.hessian(u, x, i=0, j=0)

    bc = dde.icbc.DirichletBC(geom, lambda x: g.numpy(x=x[:, 0:1], t=x[:, 1:2]), lambda x, on: on)
    ic = dde.icbc.IC(geom, lambda x: u0.numpy(x=x[:, 0:1]), lambda x, on: on)
    return dde.data.TimePDE(geom, residual, [bc, ic, *extra], num_domain=n_domain, num_boundary=n_boundary // 2,
                            num_initial=n_boundary // 2, anchors=anchors)


def _convection_data(problem: Problem, dde: Any, n_domain: int, n_boundary: int,
                     theta: dict[str, Any] | None = None, extra: tuple = (), anchors: Any = None) -> Any:
    """DeepXDE's ``data.TimePDE`` for periodic 1D convection-diffusion ``u_t + b u_x = eps u_xx``
    with constant ``b`` and ``eps`` (with ``dde = None``: only the checks)."""
    theta = theta or {}
    pde = problem.pde
    periodic = problem.boundaries and all(bc.type == "periodic" for bc in problem.boundaries)
    if problem.dim != 1 or not problem.transient or not periodic or pde.f.source != "0" or pde.c.source != "0":
        raise ProblemError("the DeepXDE adapter handles periodic 1D convection-diffusion without source or reaction")
    if not (pde.b[0].is_constant and pde.eps.is_constant):
        raise ProblemError("the DeepXDE adapter needs a constant speed and diffusivity")
    if dde is None:
        return None
    geom = _interval_in_time(dde, problem)

    b, eps, u0 = _value(pde.b[0], theta), _value(pde.eps, theta), problem.initial["u"]

    def residual(x: Any, u: Any) -> Any:
        u_x, u_t = dde.grad.jacobian(u, x, i=0, j=0), dde.grad.jacobian(u, x, i=0, j=1)
        out = u_t + b * u_x
        return out - eps * dde.grad.hessian(u, x, i=0, j=0) if not (isinstance(eps, float) and eps == 0) else out

    on_edge = lambda x, on: on  # noqa: E731 - DeepXDE's boundary predicate
    bcs = [dde.icbc.PeriodicBC(geom, 0, on_edge), dde.icbc.IC(geom, lambda x: u0.numpy(x=x[:, 0:1]), on_edge)]
    return dde.data.TimePDE(geom, residual, [*bcs, *extra], num_domain=n_domain, num_boundary=n_boundary // 2,
                            num_initial=n_boundary // 2, anchors=anchors)


#: adapters of the PDE types DeepXDE's examples translate by hand (the rest: the scalar form)
_MAKERS = {"burgers": _burgers_data, "convection_diffusion": _convection_data}


def deepxde_inverse(problem: Problem, points: np.ndarray, values: np.ndarray, unknowns: dict[str, float],
                    budget_s: float, hidden: tuple[int, ...] = (50, 50, 50, 50), lr: float = 1e-3,
                    adam_steps: int = 10000, n_domain: int = 2000, n_boundary: int = 400,
                    seed: int = 0) -> dict[str, Any]:
    """DeepXDE's way of identifying scalar parameters: each unknown a ``dde.Variable`` (its raw
    value, started at the guess) trained with the network (``external_trainable_variables``),
    the observations a ``PointSetBC`` whose points also serve as residual anchors, Adam then
    L-BFGS within ``budget_s`` seconds of training. Returns the recovered values, their history
    ``[(t, {name: value})]``, the steps and the wall time."""
    import time

    maker = _MAKERS.get(problem.pde.type, _elliptic_data)
    maker(problem, None, n_domain, n_boundary)  # refuses what it cannot translate before DeepXDE loads
    dde = import_deepxde()
    dde.config.set_random_seed(seed)
    variables = {name: dde.Variable(float(guess)) for name, guess in unknowns.items()}
    real = dde.config.real(np)
    observed = dde.icbc.PointSetBC(points.astype(real), values.astype(real), component=0)
    data = maker(problem, dde, n_domain, n_boundary, variables, (observed,), points.astype(real))
    for name in ("train_x_all", "train_x", "train_x_bc", "test_x"):
        arr = getattr(data, name, None)
        if isinstance(arr, np.ndarray):
            setattr(data, name, arr.astype(real))
    net = dde.nn.FNN([points.shape[1], *hidden, 1], "tanh", "Glorot normal")
    model = dde.Model(data, net)
    trainable = list(variables.values())
    start = time.perf_counter()
    history: list[tuple[float, dict[str, float]]] = []
    steps = 0

    class Budget(dde.callbacks.Callback):
        def on_epoch_end(self) -> None:
            nonlocal steps
            steps += 1
            t = time.perf_counter() - start
            if steps % 100 == 0:
                history.append((t, {n: float(v.detach()) for n, v in variables.items()}))
            if t >= budget_s:
                self.model.stop_training = True

    model.compile("adam", lr=lr, external_trainable_variables=trainable)
    model.train(iterations=adam_steps, callbacks=[Budget()], display_every=10**8, verbose=0)
    if time.perf_counter() - start < budget_s:
        model.compile("L-BFGS", external_trainable_variables=trainable)
        model.train(callbacks=[Budget()], display_every=10**8, verbose=0)
    wall = time.perf_counter() - start
    recovered = {n: float(v.detach()) for n, v in variables.items()}
    history.append((wall, recovered))
    return {"recovered": recovered, "history": history, "steps": steps, "wall_s": wall,
            "notes": f"DeepXDE {dde.__version__}, {len(hidden)}x{hidden[0]} tanh, dde.Variable, "
                     f"Adam {lr:g} x {adam_steps} + L-BFGS"}
