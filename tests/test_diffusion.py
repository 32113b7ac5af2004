"""The ``diffusion`` type: a full, variable diffusion tensor (issue [pde])."""

from pathlib import Path

import numpy as np
import pytest
import torch

from sciml.errors import ProblemError
from sciml.nn.collocation import PointSampler
from sciml.nn.physics import PhysicsLoss
from sciml.problems import load_problem, problem_from_dict
from sciml.runner import run

ROOT = Path(__file__).resolve().parent.parent
PROBLEM = ROOT / "problems" / "diffusion-anisotropic.toml"


def test_the_fem_reference_converges_at_second_order():
    errors = [run(load_problem(PROBLEM, [f"reference.h={h}"]), "reference")[1]["rel_l2"] for h in (0.1, 0.05)]
    assert errors[1] < 1e-2 and errors[0] / errors[1] > 3.0  # P1: about 4 per halving of h


def test_the_residual_and_the_conormal_flux_vanish_at_the_exact_solution():
    from test_custom_pde import Exact

    problem = load_problem(PROBLEM, ['boundary.0.type="neumann"', 'boundary.0.value="0.3*0 + (1 + x**2)*pi*cos(pi*x)'
                                     '*sin(pi*y)*(x > 0.5) - (1 + x**2)*pi*cos(pi*x)*sin(pi*y)*(x < 0.5)"'])
    loss = PhysicsLoss(problem, dtype=torch.float64)
    batch = loss.prepare(PointSampler(problem, 200, 100, 1, seed=0).sample())
    assert loss.terms(Exact(problem), batch)["res"].item() < 1e-18
    left = torch.tensor([[0.0, 0.3], [0.0, 0.7]], dtype=torch.float64)
    jet = Exact(problem).jet(left)
    c = loss._coefficients(left, boundary=True)
    flux = loss.flux(jet, torch.tensor([[-1.0, 0.0]] * 2, dtype=torch.float64), c)[:, 0]
    x, y = left[:, 0], left[:, 1]
    want = -((1 + x**2) * np.pi * torch.cos(np.pi * x) * torch.sin(np.pi * y)
             + 0.3 * np.pi * torch.sin(np.pi * x) * torch.cos(np.pi * y))  # n . K grad u, n = (-1, 0)
    torch.testing.assert_close(flux, want)


@pytest.mark.parametrize("K, words", [
    ([["1", "2"], ["2", "1"]], "positive definite"),
    ([["1", "0.2"], ["0.3", "1"]], "symmetric"),
    ([["1", "0"]], "2 rows of 2"),
])
def test_bad_tensors_are_refused(K, words):
    data = {"pde": {"type": "diffusion", "K": K}, "domain": {"type": "box", "lo": [0, 0], "hi": [1, 1]},
            "boundary": [{"type": "dirichlet"}]}
    with pytest.raises(ProblemError, match=words):
        problem_from_dict(data)
