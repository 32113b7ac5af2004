"""INSR: the SIREN jet against autograd, one step against each integrator's closed form
(reaction, heat on a Fourier mode), the warm start on a stationary field, a short advection run,
time interpolation between kept steps, exact resume, the semi-Lagrangian baseline, the Euler
projection, the spectral Euler reference and refusals."""

import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from sciml.errors import ProblemError
from sciml.nn.jet import AutogradJet
from sciml.nn.siren import Siren
from sciml.nn.timestep import fit_step
from sciml.problems import load_problem
from sciml.solvers.registry import get
from sciml.reference.semilagrangian import semi_lagrangian
from sciml.reference.euler import solve_euler
from sciml.solvers.insr import FlowStepper, INSRSolver, time_grid

HEAT = """
name = "heat-mode"
[parameters]
eps = 1.0
[pde]
type = "convection_diffusion"
eps = "eps"
[domain]
type = "interval"
bounds = [0.0, 1.0]
[time]
start = 0.0
end = 0.05
[initial]
u = "sin(pi*x)"
[[boundary]]
where = "all"
type = "dirichlet"
value = "0"
"""

STILL = HEAT.replace('eps = "eps"', 'eps = "0"\nb = ["0"]').replace("end = 0.05", "end = 0.15")

FAST = dict(widths=[20, 20, 20], n_samples=1000, progress=False, seed=0)


def test_siren_jet_matches_autograd():
    torch.manual_seed(0)
    net = Siren([-2.0, 0.0], [2.0, 1.0], 2, [16, 16]).double()
    x = torch.rand(50, 2, dtype=torch.float64) * torch.tensor([4.0, 1.0], dtype=torch.float64) \
        - torch.tensor([2.0, 0.0], dtype=torch.float64)
    fwd = net.jet(x, 2, ((0, 0), (0, 1), (1, 1)))
    ref = AutogradJet.of(net, x)
    assert torch.allclose(fwd.value, ref.value)
    for i in range(2):
        assert torch.allclose(fwd.d(i), ref.d(i), atol=1e-9)
    for i, j in ((0, 0), (0, 1), (1, 1)):
        assert torch.allclose(fwd.dd(i, j), ref.dd(i, j), atol=1e-7)
    assert sum(p.numel() for p in Siren([0.0], [1.0], 1, [20, 20, 20]).parameters()) == 901  # the paper's 2 x 20


REACTION = HEAT.replace('eps = "eps"', 'eps = "0"\nc = "10"')


@pytest.mark.parametrize("integrator, factor", [
    ("implicit_euler", lambda a: 1 / (1 + a)),
    ("explicit_euler", lambda a: 1 - a),
    ("midpoint", lambda a: (1 - a / 2) / (1 + a / 2)),
])
def test_one_reaction_step_matches_the_integrators_amplification_factor(write_problem, integrator, factor):
    # u_t + 10 u = 0, dt = 0.05: the step multiplies u by 1/(1 + a), 1 - a or (1 - a/2)/(1 + a/2),
    # a = 0.5, which differ by at least 0.067
    problem = load_problem(write_problem(REACTION))
    torch.manual_seed(0)
    sol = INSRSolver(integrator=integrator, ic_iters=1000, iters=600, lr=1e-3, **FAST).solve(problem)
    x = np.linspace(0, 1, 201)
    u0, u1 = (sol(np.column_stack([x, np.full_like(x, t)]))[:, 0] for t in (0.0, 0.05))
    assert np.abs(u1 - factor(0.5) * u0).max() < 0.01
    assert sol.info["n_steps"] == 1 and sol.info["integrator"] == integrator


CUSTOM_HEAT = HEAT.replace('type = "convection_diffusion"\neps = "eps"', 'type = "custom"\nresidual = "u_t - eps*u_xx"')


@pytest.mark.parametrize("integrator, factor, text", [
    ("implicit_euler", lambda a: 1 / (1 + a), HEAT),
    ("midpoint", lambda a: (1 - a / 2) / (1 + a / 2), HEAT),
    ("midpoint", lambda a: (1 - a / 2) / (1 + a / 2), CUSTOM_HEAT),
])
def test_one_heat_step_matches_the_closed_form_on_a_fourier_mode(write_problem, integrator, factor, text):
    # u_t = u_xx on sin(pi x): one step multiplies the mode by the scheme's amplification
    # factor of a = pi^2 dt (0.671 implicit, 0.604 midpoint; the exact decay is 0.612); the same
    # equation written in the problem file steps the same way
    problem = load_problem(write_problem(text))
    torch.manual_seed(0)
    sol = INSRSolver(integrator=integrator, ic_iters=1500, iters=1500, lr=1e-3, **FAST).solve(problem)
    x = np.linspace(0, 1, 201)
    u1 = sol(np.column_stack([x, np.full_like(x, 0.05)]))[:, 0]
    expected = factor(math.pi ** 2 * 0.05) * np.sin(math.pi * x)
    assert np.abs(u1 - expected).max() < 0.01
    assert "omega_0 = 10" in sol.info["architecture"]  # the default for diffusive problems


def test_a_custom_equation_steps_like_the_same_built_in_type(write_problem):
    opts = dict(ic_iters=40, iters=15, **FAST)
    runs = []
    for text in (HEAT, CUSTOM_HEAT):
        torch.manual_seed(0)
        runs.append(INSRSolver(**opts).solve(load_problem(write_problem(text))))
    assert np.allclose(runs[0].values, runs[1].values, rtol=0, atol=1e-6)
    assert runs[1].info["architecture"] == runs[0].info["architecture"]  # both diffusive: omega_0 = 10


ROTATION = """
name = "rotation"
[pde]
type = "custom"
fields = ["u", "v"]
residual = ["u_t + v", "v_t - u"]
[domain]
type = "interval"
bounds = [0.0, 1.0]
[time]
start = 0.0
end = 1.0
[initial]
u = "1"
v = "0"
[[boundary]]
type = "periodic"
axis = "x"
"""


@pytest.mark.parametrize("integrator, expected", [
    ("midpoint", (0.6, 0.8)),  # the Cayley transform of the rotation by dt = 1
    ("explicit_euler", (1.0, 1.0)),
])
def test_a_system_of_two_fields_steps_by_the_integrator(write_problem, integrator, expected):
    # u_t = -v, v_t = u from (1, 0), one step of dt = 1: midpoint gives (0.6, 0.8), explicit
    # Euler (1, 1) (the exact rotation: (0.540, 0.841))
    problem = load_problem(write_problem(ROTATION))
    torch.manual_seed(0)
    sol = INSRSolver(integrator=integrator, dt=1.0, ic_iters=300, iters=800, lr=1e-3, omega=5.0,
                     **FAST).solve(problem)
    x = np.linspace(0, 1, 51)
    end = sol(np.column_stack([x, np.ones_like(x)]))
    assert np.abs(end - np.asarray(expected)).max() < 0.02, end[:3]
    assert "omega_0 = 5" in sol.info["architecture"]


def test_a_first_order_equation_gets_the_papers_siren(write_problem):
    sol = INSRSolver(ic_iters=1, iters=1, **FAST).solve(load_problem(write_problem(ROTATION)))
    assert "omega_0 = 30" in sol.info["architecture"]  # no second space derivative


@pytest.mark.parametrize("residual, match", [
    ("u_tt - u_xx", "second time derivative"),
    ("u_t + u_xxxx", "second order"),
    ("u_t - u_xt", "first order in time with no mixed"),
])
def test_equations_a_time_stepped_siren_cannot_advance_are_refused(write_problem, residual, match):
    text = CUSTOM_HEAT.replace('"u_t - eps*u_xx"', f'"{residual}"')
    if "u_tt" in residual:
        text = text.replace('u = "sin(pi*x)"', 'u = "sin(pi*x)"\nu_t = "0"')
    with pytest.raises(ProblemError, match=match):
        INSRSolver(ic_iters=1, iters=1, **FAST).solve(load_problem(write_problem(text)))


def test_warm_start_keeps_a_stationary_field(write_problem):
    problem = load_problem(write_problem(STILL))
    torch.manual_seed(0)
    sol = INSRSolver(ic_iters=300, iters=100, w_bc=0.0, **FAST).solve(problem)
    x = np.linspace(0, 1, 101)
    u0 = sol(np.column_stack([x, np.zeros_like(x)]))[:, 0]
    u3 = sol(np.column_stack([x, np.full_like(x, 0.15)]))[:, 0]
    assert np.abs(u0 - np.sin(math.pi * x)).max() > 1e-3  # the short initial fit is not exact...
    assert np.array_equal(u3, u0)  # ...yet three steps of u_t = 0 start at the solution and stay


OFFSET = HEAT.replace('eps = "eps"', 'eps = "0"\nb = ["0"]').replace('u = "sin(pi*x)"', 'u = "20 + sin(2*pi*x)"') \
    .replace('where = "all"\ntype = "dirichlet"\nvalue = "0"', 'type = "periodic"\naxis = "x"')


@pytest.mark.parametrize("center", [True, False])
def test_the_initial_fit_reaches_a_field_on_a_large_offset(write_problem, center):
    # a bare SIREN's output bias moves about lr per Adam iteration: 300 iterations at 1e-3 cover
    # 0.3 of the offset of 20; the centred field starts on the mean and only learns sin(2 pi x)
    problem = load_problem(write_problem(OFFSET))
    torch.manual_seed(0)
    sol = INSRSolver(ic_iters=300, iters=1, lr=1e-3, center_output=center, **FAST).solve(problem)
    x = np.linspace(0, 1, 101)
    err = np.abs(sol(np.column_stack([x, np.zeros_like(x)]))[:, 0] - 20 - np.sin(2 * math.pi * x)).max()
    if center:
        assert err < 0.05, err
        assert "output 20 + 1 x SIREN" in sol.info["architecture"]
    else:
        assert err > 10, err


def test_short_advection_run_tracks_the_translated_gaussian(root):
    problem = load_problem(root / "problems" / "advection-gaussian-1d.toml")
    problem = replace(problem, time=replace(problem.time, end=0.25))
    torch.manual_seed(0)
    sol = INSRSolver(ic_iters=1500, iters=200, **{**FAST, "n_samples": 2000}).solve(problem)
    x = np.linspace(-2, 2, 801)
    q = np.column_stack([x, np.full_like(x, 0.25)])
    err = np.abs(sol(q)[:, 0] - problem.exact_values(q)[:, 0]).max()
    assert err < 3e-2, err
    assert sol.info["n_params"] == 901 and sol.info["n_steps"] == 5


def test_solution_interpolates_linearly_between_kept_steps(write_problem):
    problem = load_problem(write_problem(HEAT.replace("end = 0.05", "end = 0.1")))
    torch.manual_seed(0)
    sol = INSRSolver(ic_iters=50, iters=20, **FAST).solve(problem)
    x = np.linspace(0, 1, 11)
    at = {t: sol(np.column_stack([x, np.full_like(x, t)]))[:, 0] for t in (0.05, 0.1, 0.0625)}
    assert np.allclose(at[0.0625], 0.75 * at[0.05] + 0.25 * at[0.1])
    assert sol.times.tolist() == pytest.approx([0.0, 0.05, 0.1])


def test_resume_continues_exactly(write_problem, tmp_path):
    short = load_problem(write_problem(HEAT.replace("end = 0.05", "end = 0.1"), "short.toml"))
    long = load_problem(write_problem(HEAT.replace("end = 0.05", "end = 0.2"), "long.toml"))
    opts = dict(ic_iters=30, iters=10, **{**FAST, "n_samples": 200})
    torch.manual_seed(0)
    straight = INSRSolver(**opts).solve(long)
    ckpt = str(tmp_path / "c.pt")
    torch.manual_seed(0)
    INSRSolver(checkpoint=ckpt, **opts).solve(short)
    resumed = INSRSolver(checkpoint=ckpt, resume=True, **opts).solve(long)
    assert np.array_equal(resumed.values, straight.values)
    assert resumed.info["n_steps"] == 4
    with pytest.raises(ProblemError, match="dt"):
        INSRSolver(checkpoint=ckpt, resume=True, **{**opts, "dt": 0.04}).solve(long)


def test_time_grid_ends_on_the_end_time():
    assert time_grid(0.0, 12.0, 0.05) == (240, pytest.approx(0.05))
    n, dt = time_grid(0.0, 1.0, 0.3)
    assert n == 4 and dt == pytest.approx(0.25)


def test_refusals(write_problem, root):
    with pytest.raises(ProblemError, match="time-dependent"):
        INSRSolver().solve(load_problem(write_problem(HEAT.replace("[time]\nstart = 0.0\nend = 0.05\n", "")
                                                      .replace('[initial]\nu = "sin(pi*x)"\n', ""))))
    with pytest.raises(ProblemError, match="does not support"):
        INSRSolver().solve(load_problem(root / "problems" / "poisson-square.toml"))
    with pytest.raises(ProblemError, match="does not support"):  # an ODE has no space to sample
        INSRSolver().solve(load_problem(root / "problems" / "van-der-pol.toml"))
    for bad in ({"dt": 0.0}, {"iters": 0}, {"integrator": "rk4"}, {"widths": [0]}, {"boundary_fraction": 2.0}):
        with pytest.raises(ProblemError):
            INSRSolver(**bad).config(load_problem(write_problem(HEAT)))


def test_semi_lagrangian_converges_and_refuses_what_it_cannot_do(root, write_problem):
    problem = load_problem(root / "problems" / "advection-gaussian-1d.toml")
    problem = replace(problem, time=replace(problem.time, end=2.0))
    x = np.linspace(-2, 2, 2001)
    q = np.column_stack([x, np.full_like(x, 2.0)])
    errors = [np.abs(semi_lagrangian(problem, n, 0.05)(q)[:, 0] - problem.exact_values(q)[:, 0]).max()
              for n in (101, 201, 401)]
    assert errors[0] > errors[1] > errors[2] and errors[2] < 5e-3
    with pytest.raises(ProblemError, match="Dirichlet"):
        semi_lagrangian(load_problem(write_problem(HEAT.replace('type = "dirichlet"\nvalue = "0"',
                                                                'type = "neumann"\nvalue = "0"'))), 11, 0.01)


# -- incompressible Euler ----------------------------------------------------------------------

def test_projection_removes_the_divergence(root):
    # u_adv = Taylor-Green + grad(phi): the pressure fit recovers phi and the projection returns
    # the divergence-free Taylor-Green field
    problem = load_problem(root / "problems" / "euler-taylor-green.toml")
    cfg = INSRSolver(widths=[32, 32, 32], n_samples=1024, iters=600, lr=1e-3, seed=0).config(problem)
    torch.manual_seed(0)
    lo, hi = problem.domain.bounds
    vel, pres = Siren(lo, hi, 2, cfg.widths, 30.0), Siren(lo, hi, 1, cfg.widths, 10.0)
    stepper = FlowStepper(problem, vel, pres, cfg)
    X = lambda x: math.pi * (x + 1)  # noqa: E731

    def target(x):
        tg = torch.stack([torch.sin(X(x[:, 0])) * torch.cos(X(x[:, 1])),
                          -torch.cos(X(x[:, 0])) * torch.sin(X(x[:, 1]))], 1) / math.pi
        grad_phi = 0.1 * math.pi * torch.stack([-torch.sin(X(x[:, 0])) * torch.cos(X(x[:, 1])),
                                                -torch.cos(X(x[:, 0])) * torch.sin(X(x[:, 1]))], 1)
        return tg, tg + grad_phi  # phi = 0.1 cos X cos Y: grad phi . n = 0 on the walls

    def fit_divergent():
        x = torch.rand(1024, 2) * 2 - 1
        loss = (vel(x) - target(x)[1]).pow(2).sum(1).mean()
        return loss, {"fit": loss}

    stepper.fit(vel, fit_divergent, "fit", "test", 1500)
    stepper.adv.load_state_dict(vel.state_dict())
    before = stepper.divergence_rms()
    stepper.fit(pres, stepper.pressure_loss, "poisson", "test", 1500)
    fit_step(vel, stepper.projection_loss, 1000, 1e-4)  # warm-started: the solver's lr
    after = stepper.divergence_rms()
    # div(grad phi) = -0.2 pi^2 cos X cos Y, RMS 0.99
    assert before > 0.8 and after < 0.25 * before, (before, after)
    x = torch.rand(2000, 2) * 2 - 1
    with torch.no_grad():
        tg = target(x)[0]
        assert float((vel(x) - tg).norm() / tg.norm()) < 0.08


def test_taylor_green_reference_is_steady_and_spectral(root, write_problem):
    problem = load_problem(root / "problems" / "euler-taylor-green.toml")
    axes, t, u = solve_euler(problem, 2 / 32, 3)
    assert np.abs(u[-1] - u[0]).max() < 1e-12
    assert t.tolist() == pytest.approx([0.0, 0.25, 0.5])
    # a two-mode flow evolves; the error falls spectrally with the grid
    text = (root / "problems" / "euler-taylor-green.toml").read_text().split("[initial]")[0]
    ux = "(pi/2)*sin(pi*(x+1)/2)*cos(pi*(y+1)/2) + 0.25*pi*sin(pi*(x+1))*cos(pi*(y+1)/2)"
    uy = "-(pi/2)*cos(pi*(x+1)/2)*sin(pi*(y+1)/2) - 0.5*pi*cos(pi*(x+1))*sin(pi*(y+1)/2)"
    two = load_problem(write_problem(text + f'[initial]\nux = "{ux}"\nuy = "{uy}"\n\n[[boundary]]\ntype = "slip"\n'))
    fields = {n: solve_euler(two, 2 / n, 2)[2][-1].reshape(n + 1, n + 1, 2)[:: n // 16, :: n // 16]
              for n in (16, 32, 64)}
    e16, e32 = np.abs(fields[16] - fields[64]).max(), np.abs(fields[32] - fields[64]).max()
    assert np.abs(fields[64] - solve_euler(two, 2 / 64, 2)[2][0].reshape(65, 65, 2)[::4, ::4]).max() > 1e-2
    assert e32 < e16 / 20, (e16, e32)


def test_euler_problems_take_slip_walls_only(root, write_problem):
    text = (root / "problems" / "euler-taylor-green.toml").read_text()
    with pytest.raises(ProblemError, match="slip"):
        load_problem(write_problem(text.replace('type = "slip"', 'type = "dirichlet"\nvalue = ["0", "0"]')))
    with pytest.raises(ProblemError, match="slip"):
        load_problem(write_problem(HEAT.replace('type = "dirichlet"\nvalue = "0"', 'type = "slip"')))
    for solver in ("pinn", "pig", "ggn"):
        with pytest.raises(ProblemError, match="does not support"):
            get(solver).solve(load_problem(root / "problems" / "euler-taylor-green.toml"))
