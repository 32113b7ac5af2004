"""The first-order system form (sciml.nn.flux): when it is chosen, what its residual is, and that
it solves an interface problem the primal residual gets wrong."""

import math

import numpy as np
import pytest
import torch

from sciml.errors import ProblemError
from sciml.nn import flux
from sciml.nn.jet import Field
from sciml.nn.physics import PhysicsLoss
from sciml.problems import problem_from_dict
from sciml.runner import run

SQUARE = {"type": "box", "lo": [0.0, 0.0], "hi": [1.0, 1.0]}
ZERO = [{"where": "all", "type": "dirichlet", "value": "0"}]
# -(k u')' = 1 on (0, 1), u(0) = u(1) = 0, k = 1 left of 1/2 and 4 right of it: the flux
# q = k u' = C - x is continuous, so u' jumps fourfold at x = 1/2; u(1) = 0 gives C = 7/20
C = 7 / 20
ROD = {"name": "rod", "pde": {"type": "poisson", "k": "where(x < 0.5, 1, 4)", "f": "1"},
       "domain": {"type": "interval", "bounds": [0.0, 1.0]}, "boundary": ZERO,
       "exact": {"u": f"where(x < 0.5, {C}*x - x**2/2, {C / 2 - 1 / 8} + ({C}*(x - 0.5) - (x**2 - 0.25)/2)/4)"}}


def _poisson(k, dim=2, **extra):
    domain = SQUARE if dim == 2 else {"type": "interval", "bounds": [0.0, 1.0]}
    return problem_from_dict({"name": "t", "pde": {"type": "poisson", "k": k, "f": "1"}, "domain": domain,
                              "boundary": ZERO, **extra})


@pytest.mark.parametrize("k, low, high", [
    ("1", 0.0, 1e-9),
    ("1 + x", 0.9, 1.0),  # the largest slope of log(1 + x), at x = 0
    ("exp(3*y)", 2.99, 3.01),
    ("where(x < 0.5, 1, 10)", 0.99 * math.log(10) * 1024, 1.01 * math.log(10) * 1024),
])
def test_the_log_variation_is_the_largest_logarithmic_slope_and_sees_jumps(k, low, high):
    assert low <= flux.log_variation(_poisson(k)) <= high


def test_the_log_variation_of_a_tensor_reads_its_diagonal_and_correlations():
    p = problem_from_dict({"name": "t", "pde": {"type": "diffusion", "K": [["1", "0.5*x"], ["0.5*x", "1"]]},
                           "domain": SQUARE, "boundary": ZERO})
    assert flux.log_variation(p) == pytest.approx(0.5, rel=1e-2)  # d(K12 / sqrt(K11 K22))/dx


@pytest.mark.parametrize("k, solver, chosen", [
    ("where(x < 0.5, 1, 10)", "pinn", True),
    ("where(x < 0.5, 1, 10)", "pig", True),
    ("1/(2 + 1.8*sin(16*pi*x))", "pinn", True),  # fast but smooth: the PINN's primal residual stalls
    ("1/(2 + 1.8*sin(16*pi*x))", "pig", False),  # pig's Gaussians resolve it in the primal form
    ("1 + x**2", "pinn", False),
])
def test_auto_takes_the_first_order_form_where_the_primal_residual_fails(k, solver, chosen):
    from sciml.solvers import get_class

    cfg = get_class(solver).config_class()
    reason = flux.first_order_reason(_poisson(k), cfg, solver)
    assert (reason is not None) == chosen
    assert flux.n_outputs(_poisson(k), cfg, solver) == (3 if chosen else 1)
    if chosen:
        assert ("jumps" if "where" in k else "varies fast") in reason


def test_a_first_order_request_the_problem_cannot_take_names_its_key():
    from sciml.solvers.pinn import PINNConfig

    custom = problem_from_dict({"name": "t", "pde": {"type": "custom", "residual": "u_xx + 1"},
                                "domain": SQUARE, "boundary": ZERO})
    with pytest.raises(ProblemError, match="has none") as err:
        flux.first_order_reason(custom, PINNConfig(residual_form="first_order"), "pig")
    assert err.value.key == "solver.pig.residual_form"
    assert flux.first_order_reason(custom, PINNConfig(), "pinn") is None  # auto: the primal residual
    assert flux.first_order_reason(_poisson("where(x < 0.5, 1, 10)"), PINNConfig(residual_form="primal")) is None


class _Exact(Field):
    """The rod's exact field and flux (``C - x``) as the two heads of a first-order model."""

    def __init__(self, slope_jump: bool = True):
        super().__init__()
        self.slope_jump = slope_jump

    def forward(self, x):
        s = x[:, :1]
        if not self.slope_jump:  # -k u'' = 1 on each side, u and u' continuous: what the primal residual holds
            a = 13 / 32
            return torch.where(s < 0.5, a * s - s * s / 2, (a / 2 - 1 / 8) + (a - 0.5) * (s - 0.5) - (s - 0.5) ** 2 / 8)
        left = C * s - s * s / 2
        right = (C / 2 - 1 / 8) + (C * (s - 0.5) - (s * s - 0.25) / 2) / 4
        return torch.where(s < 0.5, left, right)

    def flux_jet(self, x):
        return flux.Head(_Flux(), 0, 1).jet(x, 1)


class _Flux(Field):
    def forward(self, x):
        return C - x[:, :1]


def test_the_first_order_residual_tells_the_interface_solution_from_a_continuous_slope():
    problem = problem_from_dict(ROD)
    loss = PhysicsLoss(problem, dtype=torch.float64, law_weight=1.0)
    x = torch.as_tensor(np.linspace(0.01, 0.99, 97)[np.abs(np.linspace(0.01, 0.99, 97) - 0.5) > 0.02][:, None])
    batch = loss.prepare(type("P", (), {"interior": x.numpy(), "boundary": [], "periodic": [], "initial": None})())
    squares, law = (v.detach() for v in loss.interior_squares(_Exact(), batch.interior, batch.coef))
    assert float(squares.max()) < 1e-20 and float(law.max()) < 1e-20
    primal = PhysicsLoss(problem, dtype=torch.float64)
    # the primal residual cannot tell the field with a continuous slope (wrong) from the solution
    assert float(primal.interior_squares(_Exact(False), batch.interior, batch.coef)[0].detach().max()) < 1e-20
    assert float(primal.interior_squares(_Exact(), batch.interior, batch.coef)[0].detach().max()) < 1e-20
    _, law = loss.interior_squares(_Exact(False), batch.interior, batch.coef)
    assert float(law.detach().mean()) > 1e-3


FAST = {"hidden": [20, 20], "adam_steps": 500, "lr": 1e-2, "lbfgs_steps": 0, "n_interior": 100,
        "n_boundary": 2, "rar_every": 0, "progress": False}


def test_the_first_order_form_solves_a_two_material_rod_the_primal_residual_gets_wrong():
    torch.manual_seed(0)
    _, first = run(problem_from_dict(ROD), "pinn", FAST)
    torch.manual_seed(0)
    _, primal = run(problem_from_dict(ROD), "pinn", {**FAST, "residual_form": "primal"})
    assert first["info"]["features"]["residual_form"].startswith("first-order system: the conductivity jumps")
    assert primal["info"]["features"]["residual_form"] == "primal"
    assert first["rel_l2"] < 0.08, first["rel_l2"]  # 0.039
    assert not first["warnings"] and any("drops the interface condition" in w for w in primal["warnings"])
    assert primal["rel_l2"] > 0.3, primal["rel_l2"]  # 0.378: -u'' = 1/k on each side, slope continuous


def test_a_first_order_pig_has_consistent_heads_and_reloads_from_its_network_file(tmp_path):
    from sciml.network_file import NAME, restore, write_network

    torch.manual_seed(0)
    sol, summary = run(problem_from_dict(ROD), "pig", {"adam_steps": 5, "n_interior": 50, "n_boundary": 2,
                                                       "n_gaussians": 10, "progress": False})
    assert summary["info"]["features"]["residual_form"].startswith("first-order system")
    write_network(sol.network, tmp_path / NAME)
    evaluate, _ = restore(tmp_path, sol)  # refuses a rebuilt network that differs from the stored values
    assert evaluate(np.array([[0.3]])).shape == (1, 1)
