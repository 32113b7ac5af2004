"""The ``nonlinear_diffusion`` type (``u_t - div(k(u) grad u) + c u = f``): its residual and
flux vanish at manufactured solutions, it equals the same equation written as a custom PDE on
any network, bad conductivities are refused with file and key, no reference claims it, and
``pinn`` solves the nonlinear Poisson problem written with it."""

import json

import numpy as np
import pytest
import torch

from sciml.cli import main
from sciml.errors import ProblemError
from sciml.nn.collocation import PointSampler
from sciml.nn.physics import PhysicsLoss
from sciml.nn.siren import Siren
from sciml.problems import load_problem, problem_from_dict
from test_custom_pde import Exact

SQUARE = {"domain": {"type": "box", "lo": [0.0, 0.0], "hi": [1.0, 1.0]},
          "boundary": [{"where": "all", "type": "dirichlet", "value": "0"}]}
S = "sin(pi*x)*sin(pi*y)"
# -div((1 + u^2) grad u) at u = sin(pi x) sin(pi y)
F = (f"2*pi**2*(1 + ({S})**2)*{S} - 2*pi**2*{S}*((cos(pi*x)*sin(pi*y))**2 + (sin(pi*x)*cos(pi*y))**2)")
BUILT_IN = {"pde": {"type": "nonlinear_diffusion", "k": "1 + u**2", "f": F}, **SQUARE, "exact": {"u": S}}
CUSTOM = {"pde": {"type": "custom", "residual": f"-(1 + u**2)*lap(u) - 2*u*(u_x**2 + u_y**2) - ({F})"},
          **SQUARE, "exact": {"u": S}}
# transient 1D, k = 1 + u, u = x^2 exp(-t): u = 0 at x = 0, the flux k(u) u_x at x = 1
E = "x**2*exp(-t)"
HEATING = {"pde": {"type": "nonlinear_diffusion", "k": "1 + u",
                   "f": f"-{E} - (1 + {E})*2*exp(-t) - 4*x**2*exp(-2*t)"},
           "domain": {"type": "interval", "bounds": [0.0, 1.0]}, "time": {"start": 0.0, "end": 1.0},
           "initial": {"u": "x**2"},
           "boundary": [{"where": "left", "type": "dirichlet", "value": "0"},
                        {"where": "right", "type": "neumann", "value": "(1 + exp(-t))*2*exp(-t)"}],
           "exact": {"u": E}}


def _terms(data, field=None):
    problem = problem_from_dict(data, source="p.toml")
    loss = PhysicsLoss(problem, dtype=torch.float64)
    batch = loss.prepare(PointSampler(problem, n_interior=300, n_boundary=60, n_initial=60, seed=0).sample())
    return loss.terms(field if field is not None else Exact(problem), batch)


@pytest.mark.parametrize("data", [BUILT_IN, HEATING], ids=["nonlinear-poisson", "transient-neumann"])
def test_residual_and_flux_vanish_at_the_manufactured_solution(data):
    terms = _terms(data)
    assert all(v.item() < 1e-20 for v in terms.values()), terms
    wrong = {**data, "pde": {**data["pde"], "k": "1 + 2*u"}}  # the same solution does not solve another k
    assert max(v.item() for v in _terms(wrong).values()) > 1e-2


def test_it_is_the_custom_equation_on_any_network():
    torch.manual_seed(0)
    net = Siren([0.0, 0.0], [1.0, 1.0], 1, [16, 16], 3.0).double()
    built_in, custom = _terms(BUILT_IN, net), _terms(CUSTOM, net)
    assert built_in["res"].item() > 1.0  # a random network is far from the solution...
    assert torch.allclose(built_in["res"], custom["res"], rtol=1e-12)  # ...and both forms agree
    constant = _terms({**BUILT_IN, "pde": {"type": "nonlinear_diffusion", "k": "2", "f": "1"}}, net)
    poisson = _terms({**BUILT_IN, "pde": {"type": "custom", "residual": "-2*lap(u) - 1"}}, net)
    assert torch.allclose(constant["res"], poisson["res"], rtol=1e-12)  # k without u: k' = 0


@pytest.mark.parametrize("k, words", [("1 + x*u", "unknown name 'x'"), ("1 + v", "unknown name 'v'")])
def test_a_conductivity_in_anything_but_u_and_parameters_is_refused(k, words):
    with pytest.raises(ProblemError, match=words) as exc:
        problem_from_dict({**BUILT_IN, "pde": {**BUILT_IN["pde"], "k": k}}, source="p.toml")
    assert "[pde.k]" in str(exc.value)


def test_pinn_solves_the_nonlinear_poisson_problem_and_the_reference_refuses(tmp_path, capsys):
    text = "\n".join(['name = "np"', "[pde]", 'type = "nonlinear_diffusion"', 'k = "1 + u**2"', f'f = "{F}"',
                      "[domain]", 'type = "box"', "lo = [0.0, 0.0]", "hi = [1.0, 1.0]", "[[boundary]]",
                      'where = "all"', 'type = "dirichlet"', 'value = "0"', "[exact]", f'u = "{S}"'])
    path = tmp_path / "np.toml"
    path.write_text(text)
    assert load_problem(path).pde.spec.diffusive(load_problem(path).pde, 2)
    assert main(["solve", str(path), "--out", str(tmp_path / "r")]) == 2
    assert "no SciPy reference solves nonlinear_diffusion problems" in capsys.readouterr().err
    out = tmp_path / "p"
    assert main(["solve", str(path), "--solver", "pinn", "--out", str(out), "--quiet",
                 "--set", "solver.pinn.adam_steps=0", "--set", "solver.pinn.lbfgs_steps=50"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["compared_to"] == "exact" and np.isfinite(summary["rel_l2"]) and summary["rel_l2"] < 0.1
