"""The ``linear`` PDE type (HyPINO's problem class): loading, the mapping of Poisson/Helmholtz/
convection-diffusion onto it, its FEM reference (isotropic and anisotropic), the space-time
method-of-lines reference for heat and wave, the shared residual, and bad input."""

import numpy as np
import pytest
import torch

from sciml.errors import ProblemError
from sciml.nn.jet import Field
from sciml.nn.physics import PhysicsLoss
from sciml.problems import problem_from_dict
from sciml.problems.linear import coefficients, neumann_factor, operator_kind
from sciml.reference import solve_reference

BOX = {"type": "box", "lo": [-1.0, -1.0], "hi": [1.0, 1.0]}


def _linear(coefs, boundary, f="0", exact=None, reference=None):
    data = {"pde": {"type": "linear", "f": f, **coefs}, "domain": BOX, "boundary": boundary}
    if exact:
        data["exact"] = {"u": exact}
    if reference:
        data["reference"] = reference
    return problem_from_dict(data)


def test_other_types_map_onto_the_linear_operator():
    p = problem_from_dict({"pde": {"type": "helmholtz", "kappa": "2", "f": "1"}, "domain": BOX,
                           "boundary": [{"where": "all", "type": "dirichlet", "value": "0"}]})
    assert np.allclose(coefficients(p), [-4, 0, 0, -1, -1]) and operator_kind(coefficients(p)) == "elliptic"
    q = problem_from_dict({"pde": {"type": "poisson", "k": "3", "f": "1"}, "domain": BOX,
                           "boundary": [{"where": "all", "type": "neumann", "value": "0"}]})
    assert np.allclose(coefficients(q), [0, 0, 0, -3, -3]) and neumann_factor(q) == 3
    cd = problem_from_dict({"pde": {"type": "convection_diffusion", "eps": "0.5", "b": ["1", "-2"], "c": "0.1"},
                            "domain": BOX, "boundary": [{"where": "all", "type": "dirichlet", "value": "0"}]})
    assert np.allclose(coefficients(cd), [0.1, 1, -2, -0.5, -0.5])
    varying = problem_from_dict({"pde": {"type": "poisson", "k": "1 + x**2", "f": "1"}, "domain": BOX,
                                 "boundary": [{"where": "all", "type": "dirichlet", "value": "0"}]})
    with pytest.raises(ProblemError, match="must be a constant"):
        coefficients(varying)


def test_loader_refuses_bad_linear_problems():
    with pytest.raises(ProblemError, match="constants"):
        _linear({"c_xx": "x"}, [{"where": "all", "type": "dirichlet", "value": "0"}])
    with pytest.raises(ProblemError, match="cauchy"):
        problem_from_dict({"pde": {"type": "poisson", "f": "1"}, "domain": BOX,
                           "boundary": [{"where": "all", "type": "cauchy", "value": ["0", "0"]}]})


@pytest.mark.parametrize("cyy", [-1.0, -4.0])
def test_elliptic_fem_reference_isotropic_and_anisotropic(cyy):
    # u = sin(pi x) sin(pi y) under 2 u + 0.5 u_x - u_xx + cyy u_yy
    exact = "sin(pi*x)*sin(pi*y)"
    f = f"(pi**2 + ({-cyy})*pi**2 + 2)*sin(pi*x)*sin(pi*y) + 0.5*pi*cos(pi*x)*sin(pi*y)"
    p = _linear({"c_u": "2", "c_x": "0.5", "c_xx": "-1", "c_yy": str(cyy)},
                [{"where": "all", "type": "dirichlet", "value": "0"}], f=f, exact=exact, reference={"h": 0.03})
    s = solve_reference(p)
    e = p.exact_values(s.points)
    assert np.linalg.norm(s.values - e) / np.linalg.norm(e) < 5e-3


def test_isotropic_neumann_data_is_du_dn():
    # u = x^2 + y^2 on the box: -lap u = -4, du/dn = 2 on every edge; u pinned on the left edge
    p = _linear({"c_xx": "-1", "c_yy": "-1"}, [{"where": "left", "type": "dirichlet", "value": "1 + y**2"},
                                               {"where": "all", "type": "neumann", "value": "2"}],
                f="-4", exact="x**2 + y**2", reference={"h": 0.05})
    s = solve_reference(p)
    assert np.abs(s.values[:, 0] - p.exact_values(s.points)[:, 0]).max() < 1e-2
    aniso = _linear({"c_xx": "-1", "c_yy": "-2"}, [{"where": "all", "type": "neumann", "value": "0"}])
    with pytest.raises(ProblemError, match="anisotropic"):
        solve_reference(aniso)


def test_heat_and_wave_by_the_method_of_lines():
    sides = [{"where": "left", "type": "dirichlet", "value": "0"}, {"where": "right", "type": "dirichlet", "value": "0"}]
    heat = _linear({"c_y": "1", "c_xx": "-0.2"}, [{"where": "bottom", "type": "dirichlet", "value": "cos(pi*x/2)"},
                                                  *sides], exact="exp(-0.2*pi**2*(y + 1)/4)*cos(pi*x/2)",
                   reference={"nodes": 101})
    s = solve_reference(heat)
    e = heat.exact_values(s.points)
    assert np.linalg.norm(s.values - e) / np.linalg.norm(e) < 1e-4
    wave = _linear({"c_xx": "-1", "c_yy": "1"}, [{"where": "bottom", "type": "cauchy", "value": ["sin(pi*x)", "0"]},
                                                 *sides], exact="sin(pi*x)*cos(pi*(y + 1))", reference={"nodes": 101})
    s = solve_reference(wave)
    e = wave.exact_values(s.points)
    assert np.linalg.norm(s.values - e) / np.linalg.norm(e) < 5e-3
    # an insulated (Neumann) left side: u = exp(-pi^2 (y + 1) / 16) cos(pi (x + 1) / 4)
    insulated = _linear({"c_y": "1", "c_xx": "-1"}, [{"where": "bottom", "type": "dirichlet", "value": "cos(pi*(x + 1)/4)"},
                                                     {"where": "left", "type": "neumann", "value": "0"},
                                                     {"where": "right", "type": "dirichlet", "value": "0"}],
                        exact="exp(-pi**2*(y + 1)/16)*cos(pi*(x + 1)/4)", reference={"nodes": 101})
    s = solve_reference(insulated)
    e = insulated.exact_values(s.points)
    assert np.linalg.norm(s.values - e) / np.linalg.norm(e) < 1e-3


def test_space_time_reference_refuses_ill_posed_setups():
    sides = [{"where": "left", "type": "dirichlet", "value": "0"}, {"where": "right", "type": "dirichlet", "value": "0"}]
    backward = _linear({"c_y": "1", "c_xx": "1"}, [{"where": "bottom", "type": "dirichlet", "value": "0"}, *sides])
    with pytest.raises(ProblemError, match="backward heat"):
        solve_reference(backward)
    top = _linear({"c_y": "1", "c_xx": "-1"}, [{"where": "all", "type": "dirichlet", "value": "0"}])
    with pytest.raises(ProblemError, match="top edge"):
        solve_reference(top)
    wave_without_velocity = _linear({"c_xx": "-1", "c_yy": "1"},
                                    [{"where": "bottom", "type": "dirichlet", "value": "0"}, *sides])
    with pytest.raises(ProblemError, match="cauchy"):
        solve_reference(wave_without_velocity)
    elliptic_cauchy = _linear({"c_xx": "-1", "c_yy": "-1"}, [{"where": "bottom", "type": "cauchy", "value": ["0", "0"]},
                                                             {"where": "all", "type": "dirichlet", "value": "0"}])
    with pytest.raises(ProblemError, match="over-determined"):
        solve_reference(elliptic_cauchy)


class _Quadratic(Field):
    def forward(self, x):
        return (x[:, :1] ** 2 * x[:, 1:] + 3 * x[:, 1:] ** 2)


def test_the_shared_residual_of_the_linear_type():
    # u = x^2 y + 3 y^2: u_x = 2xy, u_y = x^2 + 6y, u_xx = 2y, u_yy = 6
    p = _linear({"c_u": "1", "c_x": "2", "c_y": "-1", "c_xx": "0.5", "c_yy": "0.25"},
                [{"where": "all", "type": "dirichlet", "value": "0"}],
                f="x**2*y + 3*y**2 + 4*x*y - x**2 - 6*y + y + 1.5")
    loss = PhysicsLoss(p, dtype=torch.float64)
    x = torch.rand(50, 2, dtype=torch.float64) * 2 - 1
    model = _Quadratic()
    r = loss.residual(model.jet(x, 2, loss.pairs), x, loss._coefficients(x))
    assert r.abs().max() < 1e-12
