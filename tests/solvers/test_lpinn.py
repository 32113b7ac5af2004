"""Lagrangian PINN: periodicity and the exact initial condition, jets against autograd, the
chain-rule diffusion term, the Lagrangian-to-Eulerian map, a short solve that beats the PINN at
beta = 30, and refusals."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from sciml.cli import main
from sciml.errors import ProblemError
from sciml.nn.layers import PeriodicEncoding
from sciml.pdes.burgers import flux_speed
from sciml.problems import load_problem, problem_from_dict
from sciml.runner import run
from sciml.solvers.lpinn import (LagrangianNet, LPINNConfig, Transport, eulerian_evaluator, physical_wxx,
                                 values_at)

TWO_PI = 2 * math.pi


def _net(characteristics="displacement", speed0=3.0, state0=0.5):
    torch.manual_seed(0)
    enc = PeriodicEncoding(0.0, TWO_PI, 0.0, 1.0)
    return LagrangianNet(enc, [16, 16], [16], speed0, state0, characteristics).double()


def test_branches_are_periodic_in_the_label_and_x_starts_at_the_label():
    net = _net()
    xi = torch.linspace(0, TWO_PI, 37, dtype=torch.float64)
    t = torch.rand(37, dtype=torch.float64)
    X, w = net(xi, t)
    X_shift, w_shift = net(xi + TWO_PI, t)
    assert torch.allclose(w_shift, w, atol=1e-12)
    assert torch.allclose(X_shift - TWO_PI, X, atol=1e-12)  # the displacement X - xi is periodic
    X0, _ = net(xi, torch.zeros_like(xi))
    assert torch.equal(X0, xi)  # the initial condition holds exactly, not to a tolerance


@pytest.mark.parametrize("characteristics", ["displacement", "soft"])
def test_forward_mode_jets_match_autograd(characteristics):
    net = _net(characteristics)
    xi = (torch.rand(50, dtype=torch.float64) * TWO_PI).requires_grad_(True)
    t = torch.rand(50, dtype=torch.float64).requires_grad_(True)
    jets = net.jets(xi, t)
    X, w = net(xi, t)
    for name, value in (("X", X), ("w", w)):
        d_xi, d_t = torch.autograd.grad(value.sum(), (xi, t), create_graph=True)
        (d_xixi,) = torch.autograd.grad(d_xi.sum(), xi, retain_graph=True)
        assert torch.allclose(jets[name], value, atol=1e-12)
        assert torch.allclose(jets[f"{name}_xi"], d_xi, atol=1e-10)
        assert torch.allclose(jets[f"{name}_t"], d_t, atol=1e-10)
        assert torch.allclose(jets[f"{name}_xixi"], d_xixi, atol=1e-10)


def test_chain_rule_diffusion_on_an_analytic_map():
    # X(xi) = xi + 0.3 sin xi (stretching, X_xi in [0.7, 1.3]); w = g(X) with g = sin(2x)
    xi = torch.linspace(0, TWO_PI, 2001, dtype=torch.float64)
    X = xi + 0.3 * torch.sin(xi)
    X_xi, X_xixi = 1 + 0.3 * torch.cos(xi), -0.3 * torch.sin(xi)
    w = torch.sin(2 * X)
    w_xi = 2 * torch.cos(2 * X) * X_xi
    w_xixi = -4 * torch.sin(2 * X) * X_xi ** 2 + 2 * torch.cos(2 * X) * X_xixi
    wxx = physical_wxx(w_xi, w_xixi, X_xi, X_xixi)
    assert torch.allclose(wxx, -4 * torch.sin(2 * X), atol=1e-12)
    # and against second differences in X on the (non-uniform) mapped grid
    Xn, wn = X.numpy(), w.numpy()
    h0, h1 = np.diff(Xn)[:-1], np.diff(Xn)[1:]
    fd = 2 * (h0 * wn[2:] - (h0 + h1) * wn[1:-1] + h1 * wn[:-2]) / (h0 * h1 * (h0 + h1))
    assert np.max(np.abs(fd - wxx.numpy()[1:-1])) < 1e-3
    # the label form ignores the stretch and is wrong here
    assert torch.max(torch.abs(w_xixi - wxx)) > 0.5


class _KnownMap(nn.Module):
    """X = xi + 2 t + 0.4 t sin(xi) (monotone for t <= 1), w = cos(xi): the state is carried."""

    def __init__(self):
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros((), dtype=torch.float64))

    def forward(self, xi, t):
        return xi + 2 * t + 0.4 * t * torch.sin(xi), torch.cos(xi)


def test_eulerian_map_wraps_sorts_and_interpolates_periodically(root):
    transport = Transport(load_problem(root / "problems" / "convection-1d-beta1.toml"))
    evaluate = eulerian_evaluator(_KnownMap(), transport, n_labels=4096)
    xi = np.random.default_rng(0).uniform(0, TWO_PI, 300)
    t = np.random.default_rng(1).choice([0.0, 0.3, 0.77, 1.0], 300)
    x = xi + 2 * t + 0.4 * t * np.sin(xi)  # physical positions, many beyond 2 pi
    values = evaluate(np.column_stack([x, t]))[:, 0]
    assert values.shape == (300,)
    assert np.max(np.abs(values - np.cos(xi))) < 1e-5


def test_transport_reads_speeds_sources_and_offsets(root):
    shock = Transport(load_problem(root / "problems" / "burgers-moving-shock.toml"))
    speed0, state0 = shock.offsets()
    assert speed0 == pytest.approx(20.0) and state0 == pytest.approx(20.0)
    logistic = load_problem(root / "problems" / "transport-logistic.toml")
    u = torch.linspace(0, 1, 11, dtype=torch.float64)
    assert torch.allclose(flux_speed(logistic.pde.flux, u), 2 * u * (1 - u), atol=1e-12)
    assert Transport(logistic).nu == pytest.approx(0.01)


def test_short_run_beats_the_pinn_at_beta_30(root):
    problem = load_problem(root / "problems" / "convection-1d-beta30.toml")
    budget = {"adam_steps": 150, "lbfgs_steps": 0, "progress": False}
    _, lp = run(problem, "lpinn", {**budget, "state_hidden": [32, 32, 32], "batch_size": 1024})
    _, pinn = run(problem, "pinn", {**budget, "hidden": [32, 32, 32], "n_interior": 1024})
    assert lp["rel_l2"] < 0.1, lp["rel_l2"]
    assert pinn["rel_l2"] > 0.5, pinn["rel_l2"]


def test_the_speed_is_identified_from_eulerian_observations(root):
    problem = load_problem(root / "problems" / "convection-speed-inverse.toml")
    _, summary = run(problem, "lpinn", {"adam_steps": 600, "lbfgs_steps": 0, "progress": False,
                                        "state_hidden": [32, 32], "batch_size": 1024})
    rec = summary["info"]["inverse"]["c"]
    assert rec["initial"] == 0.5 and rec["rel_error"] < 0.02, rec


@pytest.mark.parametrize("loss", ["mse", "norm"])
def test_noisy_observations_are_fitted_only_down_to_their_noise(root, loss):
    from sciml.solvers.lpinn import LPINNConfig, _assemble

    text = (root / "problems" / "convection-speed-inverse.toml").read_text()
    problem = load_problem(root / "problems" / "convection-speed-inverse.toml")
    objective, _ = _assemble(problem, LPINNConfig(loss=loss, progress=False))
    assert objective.data_floor == 0.0 and "known_noise" not in text
    noisy = problem_from_dict({**problem.raw, "inverse": {**problem.raw["inverse"], "known_noise": 0.1}})
    objective, _ = _assemble(noisy, LPINNConfig(loss=loss, progress=False))
    d = objective.observed[2]
    expected = 0.1 * torch.linalg.vector_norm(d) if loss == "norm" else 0.01 * d.pow(2).mean()
    assert objective.data_floor == pytest.approx(float(expected))


def test_values_at_eulerian_points_find_the_label_through_each_point(root):
    """On a known map X = xi + 2 t and state w = sin(xi), the Newton search and first-order
    correction give w at Eulerian points: sin(x - 2 t)."""

    class Exact:
        speed0 = 0.5  # a poor start: Newton must still find the labels

        def jets(self, xi, t):
            return {"X": xi + 2 * t, "X_xi": torch.ones_like(xi), "w": torch.sin(xi), "w_xi": torch.cos(xi)}

    transport = Transport(load_problem(root / "problems" / "convection-speed-inverse.toml"))
    rng = np.random.default_rng(1)
    x, t = rng.uniform(0, 2 * np.pi, 30), rng.uniform(0, 1, 30)
    got = values_at(Exact(), transport, torch.as_tensor(x), torch.as_tensor(t)).numpy()
    np.testing.assert_allclose(got, np.sin(x - 2 * t), atol=1e-10)


@pytest.mark.parametrize("name, match", [
    ("burgers.toml", "periodic domain"),
    ("poisson-square.toml", "does not support 'poisson'"),
])
def test_unsupported_problems_are_refused_with_exit_2(root, tmp_path, capsys, name, match):
    code = main(["solve", str(root / "problems" / name), "--solver", "lpinn", "--out", str(tmp_path / "o")])
    assert code == 2 and match in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("options, match", [
    ({"state_hidden": [0]}, "positive widths"),
    ({"n_labels": 1}, "at least 2"),
    ({"min_stretch": 0.0}, "min_stretch"),
    ({"diffusion": "eulerian"}, "expected 'label'"),
])
def test_bad_options_are_refused(root, options, match):
    problem = load_problem(root / "problems" / "convection-1d-beta1.toml")
    with pytest.raises(ProblemError, match=match):
        run(problem, "lpinn", {**options, "progress": False})


def test_defaults_follow_the_released_code():
    cfg = LPINNConfig()
    assert (cfg.state_hidden, cfg.char_hidden) == ([50] * 5, [50] * 2)
    assert (cfg.w_char, cfg.w_state, cfg.w_ic, cfg.loss) == (10.0, 1.0, 1000.0, "norm")
    assert (cfg.lr, cfg.amsgrad, cfg.n_labels, cfg.n_times) == (1e-2, True, 256, 100)


def test_resume_replays_the_same_batches(root, tmp_path):
    problem = load_problem(root / "problems" / "convection-1d-beta30.toml")
    small = {"state_hidden": [8], "char_hidden": [8], "batch_size": 256, "lbfgs_steps": 0,
             "progress": False, "seed": 3}
    _, straight = run(problem, "lpinn", {**small, "adam_steps": 30})
    ckpt = str(tmp_path / "c.pt")
    run(problem, "lpinn", {**small, "adam_steps": 15, "checkpoint": ckpt, "checkpoint_every": 15})
    _, resumed = run(problem, "lpinn", {**small, "adam_steps": 30, "checkpoint": ckpt, "resume": True})
    assert resumed["info"]["train"]["adam_steps"] == 30
    assert resumed["rel_l2"] == pytest.approx(straight["rel_l2"], rel=1e-6)
