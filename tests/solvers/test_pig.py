"""Physics-Informed Gaussians: analytic derivatives, shapes, options and a short solve."""

import math

import pytest
import torch

from sciml.errors import ProblemError
from sciml.nn.jet import AutogradJet
from sciml.problems import problem_from_dict
from sciml.runner import run
from sciml.solvers.pig import SIGMA_FLOOR, GaussianEmbedding, PIGConfig, PIGNet, width_floor


def _net(dim, n_out=1, **kw):
    cfg = PIGConfig(n_gaussians=7, channels=3, sigma0=0.4, weight_std=1.0, **kw)
    gen = torch.Generator().manual_seed(3)
    net = PIGNet([-1.0] * dim, [2.0] * dim, n_out, cfg, gen).double()
    if cfg.covariance == "full":
        with torch.no_grad():
            net.embedding.offdiag.normal_(0, 0.5, generator=gen)
    return net


@pytest.mark.parametrize("dim", [1, 2, 3])
@pytest.mark.parametrize("options", [{}, {"form": "shared"}, {"covariance": "full"},
                                     {"head": "siren", "siren_omega": 2.0}, {"sigma_param": "raw"}])
def test_analytic_jet_matches_autograd(dim, options):
    net = _net(dim, n_out=2, **options)
    x = torch.rand(40, dim, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) * 3 - 1
    pairs = [(i, j) for i in range(dim) for j in range(i, dim)]
    exact = net.jet(x, 2, pairs)
    auto = AutogradJet.of(net, x)
    assert torch.allclose(exact.value, auto.value, atol=1e-12, rtol=0)
    for i in range(dim):
        assert torch.allclose(exact.d(i), auto.d(i), atol=1e-10, rtol=1e-10)
    for i, j in pairs:
        assert torch.allclose(exact.dd(i, j), auto.dd(i, j), atol=1e-10, rtol=1e-10), (i, j)


@pytest.mark.parametrize("sigma0", [0.02, 0.1, 0.5])
def test_softplus_widths_start_at_sigma0_and_move_at_a_rate_free_of_it(sigma0):
    """``sigma = sigma0 softplus(s / sigma0)``: width sigma0 at the start, d sigma / d s =
    1 - 1/e there whatever sigma0 (a plain softplus moves a width of 0.1 at 0.095)."""
    emb = GaussianEmbedding(2, 5, 1, sigma0=sigma0).double()
    sigma = torch.diagonal(emb.precision(), dim1=-2, dim2=-1) ** -0.5
    torch.testing.assert_close(sigma, torch.full_like(sigma, sigma0))
    sigma.sum().backward()
    torch.testing.assert_close(emb.sigma.grad, torch.full_like(emb.sigma, 1 - 1 / math.e))


def test_the_width_floor_holds_however_far_the_raw_width_falls():
    """``sigma = sigma_min + (sigma0 - sigma_min) softplus(s / sigma0)``: sigma0 at the start,
    never below the floor."""
    emb = GaussianEmbedding(3, 4, 2, sigma0=0.1, sigma_min=0.01).double()
    width = lambda: torch.diagonal(emb.precision(), dim1=-2, dim2=-1) ** -0.5  # noqa: E731
    torch.testing.assert_close(width(), torch.full_like(width(), 0.1))
    with torch.no_grad():
        emb.sigma.fill_(-50.0)
    assert torch.all(width() >= 0.01) and torch.allclose(width(), torch.full_like(width(), 0.01), rtol=1e-6)


@pytest.mark.parametrize("dim, n, expected", [(1, 1000, SIGMA_FLOOR * 2e-3), (3, 1000, SIGMA_FLOOR * 0.2),
                                              (2, 400, SIGMA_FLOOR * 0.1)])
def test_the_automatic_floor_is_a_fraction_of_one_batchs_point_spacing(dim, n, expected):
    assert width_floor(PIGConfig(n_interior=n), dim) == pytest.approx(expected)
    assert width_floor(PIGConfig(n_interior=n, sigma_min=0.0), dim) == 0.0
    assert width_floor(PIGConfig(n_interior=n, sigma_param="raw"), dim) == 0.0  # the released code's widths


@pytest.mark.parametrize("options", [{"sigma_min": 0.1}, {"sigma_min": 0.5, "sigma0": 0.2},
                                     {"sigma_min": 0.01, "sigma_param": "raw"}])
def test_a_floor_at_or_above_the_start_width_is_refused(options):
    with pytest.raises(ProblemError, match="sigma0") as info:
        PIGConfig(**options)
    assert info.value.key == "sigma_min"


def test_no_head_needs_matching_channels():
    with pytest.raises(ProblemError, match="channels"):
        PIGNet([0.0], [1.0], 1, PIGConfig(head="none", channels=4))
    net = PIGNet([0.0], [1.0], 1, PIGConfig(head="none", channels=1, n_gaussians=5))
    assert net(torch.rand(6, 1)).shape == (6, 1)


def test_per_channel_form_counts_gaussians_per_channel():
    emb = GaussianEmbedding(2, 10, 4)
    assert emb.n_total == 40 and emb.means.shape == (4, 10, 2)
    emb = GaussianEmbedding(2, 10, 4, form="shared")
    assert emb.n_total == 10 and emb.weights.shape == (1, 10, 4)


def test_frozen_means_are_not_trained():
    net = PIGNet([0.0, 0.0], [1.0, 1.0], 1, PIGConfig(learn_means=False, n_gaussians=4))
    trainable = {n for n, p in net.named_parameters() if p.requires_grad}
    assert "embedding.means" not in trainable and "embedding.sigma" in trainable


def test_short_pig_solve_reaches_a_small_error():
    problem = problem_from_dict({
        "name": "p1", "pde": {"type": "poisson", "f": "pi**2*sin(pi*x)"},
        "domain": {"type": "interval", "bounds": [0.0, 1.0]},
        "boundary": [{"where": "all", "type": "dirichlet", "value": "0"}],
        "exact": {"u": "sin(pi*x)"}})
    _, summary = run(problem, "pig", {"n_gaussians": 20, "sigma0": 0.3, "adam_steps": 300, "n_interior": 100,
                                      "n_boundary": 10, "progress": False})
    assert summary["rel_l2"] < 2e-2, summary["rel_l2"]
    assert summary["info"]["gaussians"] == 80


def test_widths_stay_positive_through_burgers_shock_training(root):
    """With the released code's raw sigma, Adam carried a width through zero in this run: at
    step 132 a Gaussian of width 1e-5 sent the residual to 6e12 and training stopped as
    diverged. The softplus default trains through it."""
    from sciml.problems import load_problem

    problem = load_problem(root / "problems" / "burgers.toml")
    _, summary = run(problem, "pig", {"adam_steps": 160, "progress": False, "checkpoint": None})
    assert summary["info"]["train"]["stopped"] == "completed" and summary["rel_l2"] < 1.0
