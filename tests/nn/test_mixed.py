"""The first-order form's generalisations (sciml.nn.flux): elasticity's mixed
stress-displacement form and flux data imposed exactly on straight axis-parallel boundaries."""

import numpy as np
import pytest
import torch

from sciml.errors import ProblemError
from sciml.nn import flux
from sciml.nn.fit import physics_model
from sciml.nn.jet import Field
from sciml.nn.physics import PhysicsLoss
from sciml.problems import problem_from_dict
from sciml.solvers.pinn import PINNConfig, PINNNet

BOX = {"type": "box", "lo": [0.0, 0.0], "hi": [2.0, 1.0]}
LAM, MU = 1.5, 0.7
# a manufactured displacement and its body force f = -div C eps(u)
UX, UY = "sin(x)*y**2", "x**2*cos(y)"


def _elastic(boundary, domain=BOX, **pde):
    return problem_from_dict({"name": "t", "pde": {"type": "elasticity", "lam": str(LAM), "mu": str(MU),
                                                    "f": ["0", "0"], **pde},
                              "domain": domain, "boundary": boundary})


class _Displacement(Field):
    def forward(self, x):
        X, Y = x[:, 0], x[:, 1]
        return torch.stack([torch.sin(X) * Y**2, X**2 * torch.cos(Y)], dim=1)


class _Stress(Field):
    """``C eps(u)`` of :class:`_Displacement` plus ``extra`` (a constant stress gap)."""

    def __init__(self, extra=(0.0, 0.0, 0.0)):
        super().__init__()
        self.extra = extra

    def forward(self, x):
        X, Y = x[:, 0], x[:, 1]
        exx, eyy = torch.cos(X) * Y**2, -X**2 * torch.sin(Y)
        exy = 0.5 * (2 * torch.sin(X) * Y + 2 * X * torch.cos(Y))
        tr = exx + eyy
        s = [LAM * tr + 2 * MU * exx, LAM * tr + 2 * MU * eyy, 2 * MU * exy]
        return torch.stack([v + e for v, e in zip(s, self.extra)], dim=1)


class _Mixed(Field):
    def __init__(self, extra=(0.0, 0.0, 0.0)):
        super().__init__()
        self.u, self.s = _Displacement(), _Stress(extra)

    def forward(self, x):
        return self.u(x)

    def flux_jet(self, x, order=1):
        return self.s.jet(x, order, ())


def test_the_mixed_form_has_no_law_gap_at_the_true_stress_and_its_equilibrium_is_the_primal_residual():
    p = _elastic([{"where": "all", "type": "dirichlet", "value": ["0", "0"]}])
    x = torch.as_tensor(np.random.default_rng(0).uniform([0, 0], [2, 1], (50, 2)))
    mixed, primal = PhysicsLoss(p, dtype=torch.float64, law_weight=1.0), PhysicsLoss(p, dtype=torch.float64)
    coef = mixed._coefficients(x)
    eq, law = (v.detach() for v in mixed.interior_squares(_Mixed(), x, coef))
    assert float(law.max()) < 1e-24
    assert torch.allclose(eq, primal.interior_squares(_Displacement(), x, coef)[0].detach(), rtol=1e-10)
    assert float(eq.mean()) > 1.0  # the manufactured field is not in equilibrium without its body force


def test_the_law_gap_is_measured_in_the_compliance_norm():
    p = _elastic([{"where": "all", "type": "dirichlet", "value": ["0", "0"]}])
    x = torch.as_tensor(np.random.default_rng(1).uniform([0, 0], [2, 1], (5, 2)))
    gap = np.array([0.3, -0.2, 0.5])
    loss = PhysicsLoss(p, dtype=torch.float64, law_weight=1.0)
    _, law = loss.interior_squares(_Mixed(tuple(gap)), x, loss._coefficients(x))
    C = np.array([[LAM + 2 * MU, LAM, 0], [LAM, LAM + 2 * MU, 0], [0, 0, MU]])  # (xx, yy, 2 xy) -> stress
    strain = np.linalg.solve(C, gap)  # tau : C^-1 : tau = tau . engineering strain
    assert np.allclose(law.detach().numpy(), gap @ strain, rtol=1e-12)


def _model(problem, **cfg):
    torch.manual_seed(0)
    config = PINNConfig(hidden=[16, 16], residual_form="first_order", progress=False, dtype="float64", **cfg)
    lo, hi = problem.domain.bounds
    net = PINNNet(np.asarray(lo, float), np.asarray(hi, float), flux.n_outputs(problem, config), config)
    return physics_model(problem, net, config)


def test_tractions_on_axis_parallel_edges_hold_exactly_for_any_network():
    p = _elastic([{"where": "left", "type": "dirichlet", "value": ["0", "0"]},
                  {"where": "right", "type": "neumann", "value": ["1 + y", "-0.5*y**2"]},
                  {"where": "top", "type": "neumann", "value": ["0.25*x", "2"]}])  # bottom: traction-free
    built = _model(p)
    assert built.features["exact_flux"].startswith("on 3 ")  # right, top and the natural bottom
    assert built.exact.exact_entries >= {1, 2, -1}
    s = np.linspace(0.05, 0.95, 7)
    for pts, n, g in [(np.c_[np.full(7, 2.0), s], (1, 0), np.c_[1 + s, -0.5 * s**2]),
                      (np.c_[2 * s, np.ones(7)], (0, 1), np.c_[0.25 * 2 * s, np.full(7, 2.0)]),
                      (np.c_[2 * s, np.zeros(7)], (0, -1), np.zeros((7, 2)))]:
        q = built.model.flux_jet(torch.as_tensor(pts), 0).value.detach().numpy()
        nx, ny = n
        traction = np.c_[q[:, 0] * nx + q[:, 2] * ny, q[:, 2] * nx + q[:, 1] * ny]
        assert np.allclose(traction, g, atol=1e-9), (n, traction, g)


def test_curved_and_re_entrant_edges_keep_their_penalty_terms():
    hole = {**BOX, "holes": [{"type": "disk", "center": [1.0, 0.5], "radius": 0.2}]}
    built = _model(_elastic([{"where": "left", "type": "dirichlet", "value": ["0", "0"]}], domain=hole))
    assert -1 not in built.exact.exact_entries  # the hole's arc is traction-free by a penalty
    assert built.features["exact_flux"].startswith("on 3 ")
    lshape = {"type": "polygon", "vertices": [[0, 0], [2, 0], [2, 1], [1, 1], [1, 2], [0, 2]]}
    built = _model(_elastic([{"where": "x < 1e-9", "type": "dirichlet", "value": ["0", "0"]}], domain=lshape))
    assert built.features["exact_flux"].startswith("on 3 ")  # not the two edges at the re-entrant corner


def test_a_scalar_flux_takes_its_neumann_data_exactly():
    p = problem_from_dict({"name": "t", "pde": {"type": "poisson", "k": "where(x < 1, 1, 5)", "f": "1"},
                           "domain": BOX, "boundary": [{"where": "left", "type": "dirichlet", "value": "0"},
                                                       {"where": "top", "type": "neumann", "value": "3*x"}]})
    built = _model(p)
    pts = np.c_[np.linspace(0.1, 1.9, 5), np.ones(5)]
    q = built.model.flux_jet(torch.as_tensor(pts), 0).value.detach().numpy()
    assert np.allclose(q[:, 1], 3 * pts[:, 0], atol=1e-9)  # q . (0, 1) = k du/dn = 3x
    off = _model(p, hard_flux=False)
    assert off.features["exact_flux"].startswith("off")


def test_auto_trains_elasticity_in_the_mixed_form_and_a_bad_law_factor_names_its_key():
    p = _elastic([{"where": "left", "type": "dirichlet", "value": ["0", "0"]}])
    assert flux.n_outputs(p, PINNConfig()) == 5  # ux, uy and three stresses
    assert "mixed stress-displacement" in flux.first_order_reason(p, PINNConfig())
    assert flux.n_outputs(p, PINNConfig(residual_form="primal")) == 2
    from sciml.solvers.pig import PIGConfig

    assert flux.first_order_reason(p, PIGConfig(), "pig") is not None  # every free edge is exact
    hole = {**BOX, "holes": [{"type": "disk", "center": [1.0, 0.5], "radius": 0.2}]}
    holed = _elastic([{"where": "left", "type": "dirichlet", "value": ["0", "0"]}], domain=hole)
    assert flux.first_order_reason(holed, PINNConfig()) is not None
    assert flux.first_order_reason(holed, PIGConfig(), "pig") is None  # the hole's traction by a penalty
    clamped = _elastic([{"where": "all", "type": "dirichlet", "value": ["0", "0"]}])
    assert flux.first_order_reason(clamped, PINNConfig()) is None  # no flux data: the primal form
    with pytest.raises(ProblemError, match="law_factor"):
        PINNConfig(law_factor=-1.0)


class _Still(_Mixed):
    """The true stresses over a displacement that never moved: balanced loads, a wrong field."""

    def forward(self, x):
        return torch.zeros(len(x), 2, dtype=x.dtype)


def test_a_field_that_does_not_follow_its_stresses_is_flagged():
    from types import SimpleNamespace

    from sciml.errors import SciMLWarning
    from sciml.nn.collocation import PointSampler
    from sciml.nn.fit import LAW_MISFIT, _law_check

    p = _elastic([{"where": "left", "type": "dirichlet", "value": ["0", "0"]}])
    loss = PhysicsLoss(p, dtype=torch.float64, law_weight=1.0)
    batch = loss.prepare(PointSampler(p, 200, 40, 1, seed=0).sample())
    objective = SimpleNamespace(loss=loss, _check_points=lambda: batch)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _law_check(objective, _Mixed()) < 1e-10
    with pytest.warns(SciMLWarning, match="does not follow its flux"):
        assert _law_check(objective, _Still()) == pytest.approx(1.0)
    assert LAW_MISFIT < 1.0


class _Heat(Field):
    """``u = exp(-t) sin(x)`` with its flux ``q = u_x`` (or a field that never moved)."""

    def __init__(self, still=False):
        super().__init__()
        self.still = still

    def forward(self, x):
        u = torch.exp(-x[:, 1]) * torch.sin(x[:, 0])
        return (0 * u if self.still else u)[:, None]

    def flux_jet(self, x, order=1):
        return _HeatFlux().jet(x, order, ())


class _HeatFlux(Field):
    def forward(self, x):
        return (torch.exp(-x[:, 1]) * torch.cos(x[:, 0]))[:, None]


def test_the_law_check_reads_time_dependent_first_order_problems():
    from types import SimpleNamespace

    from sciml.errors import SciMLWarning
    from sciml.nn.collocation import PointSampler
    from sciml.nn.fit import _law_check

    p = problem_from_dict({"name": "h", "pde": {"type": "diffusion", "K": "1"},
                           "domain": {"type": "interval", "bounds": [0.0, 3.0]}, "time": {"start": 0.0, "end": 1.0},
                           "initial": {"u": "sin(x)"},
                           "boundary": [{"where": "all", "type": "dirichlet", "value": "exp(-t)*sin(x)"}]})
    loss = PhysicsLoss(p, dtype=torch.float64, law_weight=1.0)
    batch = loss.prepare(PointSampler(p, 200, 40, 40, seed=0).sample())
    objective = SimpleNamespace(loss=loss, _check_points=lambda: batch)
    assert _law_check(objective, _Heat()) < 1e-10
    with pytest.warns(SciMLWarning, match="does not follow its flux"):
        assert _law_check(objective, _Heat(still=True)) == pytest.approx(1.0)
