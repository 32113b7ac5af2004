"""Inverse problems in the physics-informed core: the [inverse] section's unknown functions,
unknowns bound into coefficients, synthetic observations, the hard-data correction and a small
end-to-end identification."""

import numpy as np
import pytest
import torch

from sciml.errors import ProblemError
from sciml.nn.inverse import InverseSetup, Interpolated, observations
from sciml.nn.jet import AutogradJet, Field
from sciml.nn.physics import PhysicsLoss
from sciml.problems import problem_from_dict
from sciml.problems.inverse import at_guess, inverse_spec
from sciml.runner import run

SQUARE = {"type": "box", "lo": [0.0, 0.0], "hi": [1.0, 1.0]}
DIRICHLET = [{"where": "all", "type": "dirichlet", "value": "0"}]


def _source_problem(**inverse):
    return problem_from_dict({
        "name": "src", "parameters": {"s": 2.0},
        "pde": {"type": "poisson", "f": "2*pi**2*s*sin(pi*x)*sin(pi*y)"}, "domain": SQUARE,
        "boundary": DIRICHLET, "exact": {"u": "s*sin(pi*x)*sin(pi*y)"},
        "inverse": {"unknowns": {"s": 0.5}, "mode": "soft", "observations": {"synthetic": 20}, **inverse}})


def _field_problem(field):
    return problem_from_dict({
        "name": "fld", "pde": {"type": "poisson", "k": "1 + x", "f": "1"}, "domain": SQUARE,
        "boundary": DIRICHLET,
        "inverse": {"fields": {"k": field}, "observations": {"points": [[0.5, 0.5]], "values": [0.1]}}})


@pytest.mark.parametrize("field, key", [
    ({"guess": 1.0, "positive": True, "bounds": [0.5, 2.0]}, "inverse.fields.k.positive"),
    ({"guess": 3.0, "bounds": [0.5, 2.0]}, "inverse.fields.k.guess"),
    ({"guess": -1.0, "positive": True}, "inverse.fields.k.guess"),
    ({"bounds": [2.0, 1.0]}, "inverse.fields.k.bounds"),
    ({"hidden": [0]}, "inverse.fields.k.hidden"),
    ({"smoothness": -1}, "inverse.fields.k.smoothness"),
    ({"width": 3}, "inverse.fields.k.width"),
])
def test_bad_unknown_functions_name_their_key(field, key):
    with pytest.raises(ProblemError) as err:
        inverse_spec(_field_problem(field))
    assert err.value.key == key


def test_an_unknown_function_must_be_a_scalar_coefficient_of_the_pde():
    p = problem_from_dict({"name": "x", "pde": {"type": "poisson", "f": "1"}, "domain": SQUARE,
                           "boundary": DIRICHLET,
                           "inverse": {"fields": {"nu": {}}, "observations": {"points": [[0.5, 0.5]], "values": [0.1]}}})
    with pytest.raises(ProblemError, match="not a scalar coefficient of poisson"):
        inverse_spec(p)


def test_unknowns_in_boundary_data_are_refused():
    p = problem_from_dict({"name": "b", "parameters": {"a": 1.0}, "pde": {"type": "poisson", "f": "1"},
                           "domain": SQUARE, "boundary": [{"where": "all", "type": "dirichlet", "value": "a"}],
                           "inverse": {"unknowns": {"a": 0.5}, "observations": {"points": [[0.5, 0.5]], "values": [0.1]}}})
    with pytest.raises(ProblemError, match="boundary data depend on the unknown 'a'"):
        InverseSetup(p, inverse_spec(p), 1.0, torch.float64)


def test_the_guess_problem_hides_the_true_values():
    p = _source_problem()
    seen = at_guess(p, inverse_spec(p))
    pt = np.array([[0.5, 0.5]])
    assert seen.pde.f(pt)[0] == pytest.approx(2 * np.pi**2 * 0.5)
    assert p.pde.f(pt)[0] == pytest.approx(2 * np.pi**2 * 2.0)


def test_synthetic_observations_come_from_the_truth_with_relative_noise():
    p = _source_problem()
    pts, clean = observations(inverse_spec(p), p)
    assert pts.shape == (20, 2) and np.all((pts > 0) & (pts < 1))
    np.testing.assert_allclose(clean[:, 0], 2 * np.sin(np.pi * pts[:, 0]) * np.sin(np.pi * pts[:, 1]), rtol=1e-12)
    p_noisy = _source_problem(noise=0.1)
    pts2, noisy = observations(inverse_spec(p_noisy), p_noisy)
    np.testing.assert_array_equal(pts, pts2)
    ratio = noisy[:, 0] / clean[:, 0]
    assert 0.02 < np.std(ratio) < 0.3 and abs(np.mean(ratio) - 1) < 0.1


def test_known_noise_adds_nothing_and_sets_the_floor():
    p = _source_problem(known_noise=0.03)
    spec = inverse_spec(p)
    clean = observations(inverse_spec(_source_problem()), _source_problem())[1]
    np.testing.assert_array_equal(observations(spec, p)[1], clean)  # measured data are kept as given
    assert spec.data_noise == pytest.approx(0.03)
    assert inverse_spec(_source_problem(known_noise=0.03, noise=0.04)).data_noise == pytest.approx(0.05)
    with pytest.raises(ProblemError) as err:
        inverse_spec(_source_problem(known_noise=-0.1))
    assert err.value.key == "inverse.known_noise"


def test_known_noise_in_hard_mode_is_a_recorded_warning():
    p = _source_problem(known_noise=0.03, mode="hard")
    from sciml.errors import SciMLWarning

    with pytest.warns(SciMLWarning, match="known_noise = 0.03 is not used"):
        observations(inverse_spec(p), p)


class Smooth(Field):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor(0.7, dtype=torch.float64))

    def forward(self, x):
        return (torch.sin(2 * x[:, :1] + self.w) * x[:, 1:2] ** 2)


def test_hard_observations_are_met_exactly_and_the_jet_is_the_autograd_one():
    rng = np.random.default_rng(0)
    pts = rng.uniform(0, 1, (7, 2))
    vals = rng.normal(size=(7, 1))
    model = Interpolated(Smooth(), pts, vals, np.zeros(2), np.ones(2))
    out = model(torch.as_tensor(pts))
    np.testing.assert_allclose(out.detach().numpy(), vals, atol=1e-8)
    x = torch.as_tensor(rng.uniform(0, 1, (11, 2))).requires_grad_(True)
    jet = model.jet(x, 2, ((0, 0), (0, 1), (1, 1)))
    ref = AutogradJet.of(model, x)
    for i in range(2):
        torch.testing.assert_close(jet.d(i), ref.d(i))
        for j in range(2):
            torch.testing.assert_close(jet.dd(i, j), ref.dd(i, j))
    # the correction depends on the network: gradients reach its parameters
    model(x).sum().backward()
    assert model.inner.w.grad is not None and model.inner.w.grad != 0


def test_the_residual_sees_the_unknowns_current_values():
    p = _source_problem()
    setup = InverseSetup(p, inverse_spec(p), 1.0, torch.float64)
    loss = PhysicsLoss(p, dtype=torch.float64, unknowns=setup.unknowns)
    x = torch.tensor([[0.5, 0.5]], dtype=torch.float64)
    batch_coef = loss._coefficients(x)
    jet = AutogradJet.of(lambda z: 0 * z[:, :1], x.clone().requires_grad_(True))
    r = loss.residual(jet, x, batch_coef)  # -lap 0 - f(s = guess)
    assert float(r.detach()) == pytest.approx(-2 * np.pi**2 * 0.5)
    r.sum().backward()
    assert setup.unknowns.scalars.p.grad is not None and float(setup.unknowns.scalars.p.grad) != 0


def test_an_unknown_function_replaces_its_coefficient_with_its_gradient():
    p = _field_problem({"guess": 2.0, "positive": True})
    setup = InverseSetup(p, inverse_spec(p), 1.0, torch.float64)
    k = setup.unknowns.fields["k"]
    with torch.no_grad():
        k.mlp.linears[-1].weight.normal_()
    loss = PhysicsLoss(p, dtype=torch.float64, unknowns=setup.unknowns)
    x = torch.rand(5, 2, dtype=torch.float64)
    live = loss._live(x, loss._coefficients(x))
    leaf = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(k(leaf).sum(), leaf)
    torch.testing.assert_close(live["k"], k(x))
    torch.testing.assert_close(live["k_grad"], g)
    assert torch.all(live["k"] > 0)


def test_noisy_data_are_fitted_down_to_the_noise_and_no_further():
    p = _source_problem()
    pts = np.array([[0.3, 0.4], [0.6, 0.7]])
    values = np.array([[2.0], [-1.0]])
    loss = PhysicsLoss(p, dtype=torch.float64, observed=(pts, values), data_noise=0.1)
    assert loss.data_floor == pytest.approx(0.01 * 2.5)  # noise^2 mean(d^2)

    class Shifted(Field):
        def __init__(self, shift):
            super().__init__()
            self.shift = shift

        def forward(self, x):
            return torch.as_tensor(values, dtype=x.dtype)[: len(x)] + self.shift

    assert float(loss.data_term(Shifted(0.1))) == 0.0  # inside the noise: nothing left to fit
    assert float(loss.data_term(Shifted(0.3))) == pytest.approx(0.09 - 0.025)
    clean = PhysicsLoss(p, dtype=torch.float64, observed=(pts, values))
    assert clean.data_floor == 0.0 and float(clean.data_term(Shifted(0.1))) == pytest.approx(0.01)


def test_pinn_identifies_an_ode_rate_from_observations():
    p = problem_from_dict({
        "name": "decay", "parameters": {"a": 1.5}, "pde": {"type": "ode", "variables": ["u"], "rhs": ["-a*u"]},
        "time": {"start": 0.0, "end": 2.0}, "initial": {"u": "1"}, "exact": {"u": "exp(-a*t)"},
        "inverse": {"unknowns": {"a": 0.3}, "mode": "soft", "observations": {"synthetic": 15}}})
    sol, summary = run(p, "pinn", {"hidden": [20, 20], "adam_steps": 3000, "lbfgs_steps": 100, "n_interior": 200,
                                   "progress": False, "rar_every": 0})
    rec = summary["info"]["inverse"]["a"]
    assert rec["rel_error"] < 1e-2, rec
    assert summary["info"]["features"]["inverse"].startswith("15 observations, soft")
    # the unknown's value at every step is logged beside the loss terms (the last step's here)
    assert summary["info"]["train"]["terms"]["unknown.a"] == pytest.approx(rec["recovered"], rel=1e-2)


@pytest.mark.parametrize("obs, match", [
    ({"points": [[0.5, 1.5]], "values": [0.1]}, "outside the domain"),
    ({"points": [[0.5, 0.5, 0.2]], "values": [0.1]}, "expected 2 coordinates"),
    ({"points": [[0.5, 0.5]], "values": [float("nan")]}, "NaN"),
])
def test_bad_observations_are_refused(obs, match):
    p = problem_from_dict({"name": "o", "parameters": {"s": 1.0}, "pde": {"type": "poisson", "f": "s"},
                           "domain": SQUARE, "boundary": DIRICHLET,
                           "inverse": {"unknowns": {"s": 0.5}, "observations": obs}})
    with pytest.raises(ProblemError, match=match) as err:
        inverse_spec(p)
    assert err.value.key == "inverse.observations"


def test_transient_observations_carry_their_time_from_a_file(tmp_path):
    data = np.array([[0.1, 0.5, 0.3], [0.7, 0.25, -0.2]])  # x, t, u
    np.save(tmp_path / "obs.npy", data)
    problem = {"name": "h", "parameters": {"a": 1.0},
               "pde": {"type": "convection_diffusion", "eps": "a"}, "domain": {"type": "interval", "bounds": [0.0, 1.0]},
               "time": {"start": 0.0, "end": 1.0}, "initial": {"u": "sin(pi*x)"}, "boundary": DIRICHLET,
               "inverse": {"unknowns": {"a": 0.5}, "observations": {"file": "obs.npy"}}}
    p = problem_from_dict(problem, source=tmp_path / "p.toml", base=tmp_path)
    spec = inverse_spec(p)
    np.testing.assert_array_equal(spec.points, data[:, :2])
    np.testing.assert_array_equal(spec.values, data[:, 2:])
    data[1, 1] = 1.5
    np.save(tmp_path / "obs.npy", data)
    with pytest.raises(ProblemError, match="outside"):
        inverse_spec(problem_from_dict(problem, source=tmp_path / "p.toml", base=tmp_path))
