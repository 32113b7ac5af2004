"""Graph Galerkin networks: the mesh graph, the assembled residual, hard Dirichlet values, a
short forward solve against the same-mesh FEM, inverse problems and bad input."""

import numpy as np
import pytest
import torch

from sciml.cli import main
from sciml.errors import ProblemError
from sciml.nn.graph import ChebNet, mesh_edges, scaled_laplacian
from sciml.nn.sparse import DualNorm
from sciml.problems import problem_from_dict
from sciml.problems.inverse import inverse_spec
from sciml.reference import reference_mesh
from sciml.reference.system import assemble
from sciml.runner import run
from sciml.solvers.ggn import GalerkinNet, GalerkinObjective, parametric_system

SQUARE = {
    "name": "sq", "parameters": {"s": 2.0},
    "pde": {"type": "poisson", "f": "2*pi**2*s*sin(pi*x)*sin(pi*y)"},
    "domain": {"type": "box", "lo": [0.0, 0.0], "hi": [1.0, 1.0]},
    "boundary": [{"where": "left", "type": "neumann", "value": "-pi*s*sin(pi*y)"},
                 {"where": "all", "type": "dirichlet", "value": "0"}],
    "exact": {"u": "s*sin(pi*x)*sin(pi*y)"},
}
FAST = {"widths": [16, 16], "K": 4, "h": 0.1, "adam_steps": 60, "lbfgs_steps": 15, "progress": False}


def test_mesh_edges_of_two_triangles():
    edges = mesh_edges(np.array([[0, 1, 2], [1, 3, 2]]))
    pairs = set(map(tuple, edges.T))
    want = {(0, 1), (0, 2), (1, 2), (1, 3), (2, 3)}
    assert pairs == want | {(b, a) for a, b in want}  # both directions, shared edge once, no loops


def test_chebnet_shapes_and_orthogonal_init():
    net = ChebNet([2, 8, 1], K=3).double()
    w = net.convs[0].lins[0].weight
    assert torch.allclose(w.T @ w, 2.0 * torch.eye(w.shape[1], dtype=w.dtype), atol=1e-6)  # gain^2 = 2
    edges = torch.as_tensor(mesh_edges(np.array([[0, 1, 2], [1, 3, 2]])))
    out = net(torch.rand(4, 2, dtype=torch.float64), scaled_laplacian(edges, 4))
    assert out.shape == (4, 1)


def test_chebnet_computes_what_torch_geometric_chebconv_computes():
    torch.manual_seed(0)
    mesh = reference_mesh(problem_from_dict(SQUARE), 0.2)
    edges = torch.as_tensor(mesh_edges(mesh.cells))
    net = ChebNet([2, 6, 5, 1], K=4).double()
    with torch.no_grad():
        for conv in net.convs:
            conv.bias.normal_()
    x = torch.rand(len(mesh.points), 2, dtype=torch.float64)
    want = torch.relu(net.convs[0](x, edges))
    want = net.convs[2](torch.relu(net.convs[1](want, edges)), edges)
    assert torch.allclose(net(x, scaled_laplacian(edges, len(x))), want, atol=1e-12)


def test_residual_vanishes_at_the_fem_solution():
    problem = problem_from_dict(SQUARE)
    mesh = reference_mesh(problem, 0.1)
    ps = parametric_system(problem, mesh, [])
    fem = ps.base.solve()
    assert np.linalg.norm(ps.base.residual(fem)) < 1e-10 * np.linalg.norm(ps.base.F)
    net = GalerkinNet(2, 1, [4], 2).double()
    obj = GalerkinObjective(net, mesh, ps, None, [], 1.0, 1.0, 10)
    r = obj._residual(torch.as_tensor(fem.ravel()))
    assert float(r.norm()) < 1e-10 * obj.res_scale


def test_short_solve_matches_the_fem_and_keeps_dirichlet_values_exact():
    problem = problem_from_dict(SQUARE)
    sol, summary = run(problem, "ggn", FAST)
    info = summary["info"]
    assert info["rel_l2_vs_fem"] < 1e-3, info["rel_l2_vs_fem"]
    mesh = reference_mesh(problem, 0.1)
    system = assemble(problem, mesh)
    assert np.array_equal(sol.values.ravel()[system.fixed], system.values[system.fixed])  # exactly
    assert summary["rel_l2"] < 5e-2  # P1 discretisation error on h = 0.1 against the exact solution


def test_dual_loss_reaches_the_same_solution():
    _, summary = run(problem_from_dict(SQUARE), "ggn", {**FAST, "loss": "dual"})
    assert summary["info"]["rel_l2_vs_fem"] < 1e-3


def test_dual_norm_is_the_energy_norm_of_the_error():
    problem = problem_from_dict(SQUARE)
    mesh = reference_mesh(problem, 0.1)
    ps = parametric_system(problem, mesh, [])
    obj = GalerkinObjective(GalerkinNet(2, 1, [4], 2).double(), mesh, ps, None, [], 1.0, 1.0, 10,
                            dual=DualNorm(ps.free_block([])))
    fem = ps.base.solve().ravel()
    u = fem + np.where(np.isin(np.arange(len(fem)), ps.base.fixed), 0.0, 0.01 * np.random.default_rng(0).random(len(fem)))
    e = (u - fem)[ps.base.free]
    energy = e @ (ps.base.K[ps.base.free][:, ps.base.free] @ e)
    assert np.isclose(float(obj._size2(obj._residual(torch.as_tensor(u)))), energy, rtol=1e-10)


def test_dual_loss_refuses_an_indefinite_operator():
    data = {key: v for key, v in SQUARE.items() if key != "exact"}
    data["pde"] = {"type": "helmholtz", "kappa": "9", "f": "1"}
    with pytest.raises(ProblemError, match="indefinite.*loss = 'residual'"):
        run(problem_from_dict(data), "ggn", {**FAST, "loss": "dual"})


def test_zero_initial_guess_is_refused():
    data = {**SQUARE, "inverse": {"unknowns": {"s": 0.0}, "observations": {"synthetic": 5}}}
    with pytest.raises(ProblemError, match="non-zero"):
        run(problem_from_dict(data), "ggn", FAST)


def test_inverse_source_moves_toward_the_truth():
    data = {**SQUARE, "inverse": {"unknowns": {"s": 0.5}, "observations": {"synthetic": 5}}}
    _, summary = run(problem_from_dict(data), "ggn", FAST)
    rec = summary["info"]["inverse"]["s"]
    assert abs(rec["recovered"] - 2.0) < 0.05 * 2.0, rec


def test_soft_inverse_with_inline_observations():
    pts = np.array([[0.3, 0.4], [0.55, 0.5], [0.7, 0.25]])
    values = 2.0 * np.sin(np.pi * pts[:, 0]) * np.sin(np.pi * pts[:, 1])
    data = {**SQUARE, "inverse": {"unknowns": {"s": 1.0}, "mode": "soft",
                                  "observations": {"points": pts.tolist(), "values": values.tolist()}}}
    _, summary = run(problem_from_dict(data), "ggn", {**FAST, "lbfgs_steps": 30})
    assert summary["info"]["inverse"]["s"]["rel_error"] < 0.05  # includes the P1 error at h = 0.1


def test_soft_data_are_fitted_only_down_to_their_known_noise():
    # with 60% stated noise the guess s = 1 already fits the data (truth 2) as well as the noise allows
    pts = np.array([[0.3, 0.4], [0.55, 0.5], [0.7, 0.25]])
    values = 2.0 * np.sin(np.pi * pts[:, 0]) * np.sin(np.pi * pts[:, 1])
    data = {**SQUARE, "inverse": {"unknowns": {"s": 1.0}, "mode": "soft", "known_noise": 0.6,
                                  "observations": {"points": pts.tolist(), "values": values.tolist()}}}
    _, summary = run(problem_from_dict(data), "ggn", {**FAST, "lbfgs_steps": 30})
    assert summary["info"]["inverse"]["s"]["recovered"] < 1.3
    assert summary["info"]["observations"]["known_noise"] == 0.6


def test_nonlinear_parameter_dependence_is_refused():
    data = {**SQUARE, "pde": {"type": "poisson", "k": "s**2", "f": "1"}}
    problem = problem_from_dict(data)
    with pytest.raises(ProblemError, match="not linear in the unknown parameter 's'"):
        parametric_system(problem, reference_mesh(problem, 0.25), ["s"])


@pytest.mark.parametrize("inverse, match", [
    ({"unknowns": {"q": 1.0}, "observations": {"synthetic": 3}}, "not a parameter"),
    ({"unknowns": {"s": 1.0}}, "expected a table with points"),
    ({"unknowns": {"s": 1.0}, "observations": {"synthetic": 3, "file": "x.npy"}}, "exactly one"),
    ({"unknowns": {"s": 1.0}, "observations": {"points": [[0.5, 0.5]], "values": [[1.0, 2.0]]}}, "1 value"),
    ({"unknowns": {"s": 1.0}, "observations": {"file": "missing.npy"}}, "file not found"),
    ({"unknowns": {"s": 1.0}, "mode": "both", "observations": {"synthetic": 3}}, "'hard' or 'soft'"),
])
def test_bad_inverse_sections(inverse, match):
    with pytest.raises(ProblemError, match=match):
        inverse_spec(problem_from_dict({**SQUARE, "inverse": inverse}))


def test_hard_observations_off_the_nodes_are_refused():
    data = {**SQUARE, "inverse": {"unknowns": {"s": 1.0},
                                  "observations": {"points": [[0.333, 0.5]], "values": [1.0]}}}
    with pytest.raises(ProblemError, match="mesh nodes"):
        run(problem_from_dict(data), "ggn", FAST)


def test_cli_reports_recovered_parameters_and_refuses_transient(root, tmp_path, capsys):
    import json

    out = tmp_path / "inv"
    code = main(["solve", str(root / "problems" / "poisson-source-inverse.toml"), "--solver", "ggn",
                 "--out", str(out), "--no-png", "--set", "solver.ggn.h=0.1",
                 "--set", "solver.ggn.widths=[16, 16]", "--set", "solver.ggn.adam_steps=60",
                 "--set", "solver.ggn.lbfgs_steps=15"])
    assert code == 0
    assert "recovered s = " in capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    assert summary["info"]["inverse"]["s"]["rel_error"] < 0.05
    assert main(["solve", str(root / "problems" / "heat-1d.toml"), "--solver", "ggn",
                 "--out", str(tmp_path / "h")]) == 2


def test_missing_boundary_tag_is_a_clear_error(root, tmp_path, capsys):
    text = (root / "problems" / "elasticity-plate-hole.toml").read_text().replace('where = "right"', 'where = "rigth"')
    text = text.replace("../meshes/", str(root / "meshes") + "/")
    path = tmp_path / "p.toml"
    path.write_text(text)
    assert main(["solve", str(path), "--solver", "ggn", "--out", str(tmp_path / "o")]) == 2
    assert "rigth" in capsys.readouterr().err


@pytest.mark.parametrize("dual", [False, True])
def test_rescaled_output_is_the_best_constant_multiple_of_the_untrained_field(dual):
    torch.manual_seed(0)
    problem = problem_from_dict(SQUARE)
    mesh = reference_mesh(problem, 0.1)
    ps = parametric_system(problem, mesh, [])
    obj = GalerkinObjective(GalerkinNet(2, 1, [8, 8], 3).double(), mesh, ps, None, [], 1.0, 1.0, 0,
                            dual=DualNorm(ps.free_block([])) if dual else None)

    def loss_at(scale):
        obj.output_scale.fill_(scale)
        with torch.no_grad():
            return float(obj(0)[0])

    before = loss_at(1.0)
    a = obj.rescale_output()
    best = loss_at(a)
    assert best < before
    assert best <= min(loss_at(a * 1.01), loss_at(a * 0.99))
