import numpy as np
import pytest

from sciml.errors import ProblemError
from sciml.problems import load_problem, problem_from_dict
from sciml.reference import solve_reference
from sciml.solution import compare


def cole_hopf(x, t, nu):
    """Burgers with u0 = -sin(pi x) in closed form (Cole-Hopf), by quadrature in log space."""
    half = 12 * np.sqrt(4 * nu * t)
    eta = np.linspace(-half, half, 40001)
    y = x[:, None] - eta[None, :]
    logw = -np.cos(np.pi * y) / (2 * np.pi * nu) - eta[None, :] ** 2 / (4 * nu * t)
    w = np.exp(logw - logw.max(axis=1, keepdims=True))
    return -np.trapezoid(np.sin(np.pi * y) * w, eta, axis=1) / np.trapezoid(w, eta, axis=1)


def test_burgers_matches_cole_hopf(root):
    p = load_problem(root / "problems" / "burgers.toml")
    sol = solve_reference(p, {"modes": 1024})
    x = sol.points[::4, 0]
    got, want = [], []
    for t in (0.25, 0.5, 0.75, 1.0):
        got.append(sol(np.column_stack([x, np.full_like(x, t)]))[:, 0])
        want.append(cole_hopf(x, t, 0.01 / np.pi))
    got, want = np.array(got), np.array(want)
    assert np.linalg.norm(got - want) / np.linalg.norm(want) < 1e-4


LINEAR_FLUX = {
    "name": "linear-flux", "parameters": {"a": 2.0, "nu": 0.05},
    "pde": {"type": "burgers", "nu": "nu", "flux": "a*u"},
    "domain": {"type": "interval", "bounds": [0.0, 6.283185307179586]},
    "time": {"start": 0.0, "end": 1.0}, "initial": {"u": "sin(x)"},
    "boundary": [{"type": "periodic", "axis": "x"}],
    "exact": {"u": "exp(-nu*t)*sin(x - a*t)"},
}


def test_conservation_law_flux_linear_case_is_advection_diffusion():
    p = problem_from_dict(LINEAR_FLUX)
    assert compare(solve_reference(p, {"modes": 1024}), p)["rel_l2"] < 1e-5  # grid interpolation


def test_physics_residual_uses_the_flux_derivative():
    import torch

    from sciml.nn.jet import ExplicitJet
    from sciml.nn.physics import LossWeights, PhysicsLoss

    p = problem_from_dict(LINEAR_FLUX)
    loss = PhysicsLoss(p, LossWeights(), torch.float64, torch.device("cpu"))
    x = torch.rand(20, 2, dtype=torch.float64) * torch.tensor([6.28, 1.0], dtype=torch.float64)
    e, s, c = torch.exp(-0.05 * x[:, 1]), torch.sin(x[:, 0] - 2 * x[:, 1]), torch.cos(x[:, 0] - 2 * x[:, 1])
    u = (e * s)[:, None].requires_grad_(True)
    first = torch.stack([e * c, -0.05 * e * s - 2 * e * c], dim=1)[:, None, :]
    jet = ExplicitJet(u, first, {(0, 0): (-e * s)[:, None]})
    coef = {"nu": torch.full((20,), 0.05, dtype=torch.float64)}
    assert torch.max(torch.abs(loss.residual(jet, x, coef))) < 1e-12


def test_ode_linear_oscillator(root):
    p = load_problem(root / "problems" / "oscillator.toml")
    assert compare(solve_reference(p), p)["rel_l2"] < 1e-8


def test_heat_crank_nicolson_second_order_in_time(root):
    p = load_problem(root / "problems" / "heat-1d.toml", ["reference.h=0.0005"])
    errs = [compare(solve_reference(p, {"h": 0.0005, "nt": nt, "snapshots": 11}), p,
                    points=np.column_stack([np.linspace(0, 1, 101), np.full(101, 0.1)]))["rel_l2"]
            for nt in (5, 10, 20)]
    orders = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    assert np.all(np.abs(orders - 2) < 0.2), orders


def test_periodic_convection(root):
    p = load_problem(root / "problems" / "convection-1d-beta30.toml")
    assert compare(solve_reference(p), p)["rel_l2"] < 1e-3


def test_lshape_maximum_matches_converged_value(root):
    p = load_problem(root / "problems" / "poisson-lshape.toml")
    sol = solve_reference(p, {"h": 0.02})
    # converged max u = 0.1493 (see shared research notes); P1 at h = 0.02 is within 0.5%
    assert sol.values.max() == pytest.approx(0.1493, rel=5e-3)


def test_supg_stabilises_a_coarse_boundary_layer():
    data = {"pde": {"type": "convection_diffusion", "eps": "0.001", "b": ["1"]},
            "domain": {"type": "interval", "bounds": [0.0, 1.0]},
            "boundary": [{"where": "left", "type": "dirichlet", "value": "0"},
                         {"where": "right", "type": "dirichlet", "value": "1"}]}
    p = problem_from_dict(data)
    galerkin = solve_reference(p, {"h": 0.05, "supg": False}).values[:, 0]
    supg = solve_reference(p, {"h": 0.05}).values[:, 0]
    assert galerkin.min() < -0.5  # the classic node-to-node oscillation
    assert supg.min() > -1e-10 and supg.max() < 1 + 1e-10  # SUPG: monotone, nodally exact in 1D


def test_dirichlet_burgers_reference_refuses_an_uneven_flux(root):
    from sciml.errors import ProblemError

    p = load_problem(root / "problems" / "burgers.toml", ['pde.flux="u**3/3"'])
    with pytest.raises(ProblemError, match="even flux"):
        solve_reference(p)


REACTION = """
name = "reaction"
[parameters]
D = 0.1
k = 0.5
[pde]
type = "convection_diffusion"
eps = "D"
r = "k*u**2"
f = "(-1 + D*pi**2)*sin(pi*x)*exp(-t) - k*(sin(pi*x)*exp(-t))**2"
[domain]
type = "interval"
bounds = [0.0, 1.0]
[time]
start = 0.0
end = 1.0
[initial]
u = "sin(pi*x)"
[[boundary]]
where = "all"
type = "dirichlet"
value = "0"
[exact]
u = "sin(pi*x)*exp(-t)"
"""


def test_nonlinear_reaction_is_second_order_in_time_and_in_the_physics_residual(write_problem):
    import torch

    from sciml.nn.jet import AutogradJet
    from sciml.nn.physics import PhysicsLoss

    problem = load_problem(write_problem(REACTION))
    errs = []
    for nt in (10, 20, 40):
        sol = solve_reference(problem, {"h": 0.0025, "nt": nt})
        x = np.linspace(0, 1, 101)
        q = np.column_stack([x, np.ones_like(x)])
        errs.append(np.abs(sol(q) - problem.exact_values(q)).max())
    rates = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    assert rates.min() > 1.8, errs  # Crank-Nicolson with the extrapolated reaction: order 2
    loss = PhysicsLoss(problem, dtype=torch.float64)
    pts = torch.rand(50, 2, dtype=torch.float64)

    class Exact(torch.nn.Module):
        def forward(self, p):
            return (torch.sin(np.pi * p[:, 0]) * torch.exp(-p[:, 1]))[:, None]

    batch = loss.prepare(type("P", (), {"interior": pts.numpy(), "boundary": [], "periodic": [], "initial": None})())
    res = loss.residual(AutogradJet.of(Exact(), batch.interior), batch.interior, batch.coef)
    assert res.abs().max() < 1e-10
    with pytest.raises(ProblemError, match="time-dependent"):
        steady = REACTION.split("[time]")[0].replace("exp(-t)", "1") + '[[boundary]]\ntype = "dirichlet"\n'
        load_problem(write_problem(steady))
