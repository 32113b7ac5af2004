"""DCDM: the loss and its scale invariance, the grid stencil equals the pressure matrix, the
Ritz-vector data, the network's shapes and masking, a short training lowers the loss, the
solver converges to the direct solution, bad input, the CLI and the ``dcdm`` solver."""

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse.linalg as spla
import torch

from sciml.cli import main
from sciml.errors import ProblemError
from sciml.linalg.dcdm import (DCDMConfig, DCDMNet, HeldOutMonitor, apply_pressure, dcdm, dcdm_loss, lanczos,
                               load_model, open_degree, random_layout, rhs_dataset, train)
from sciml.linalg.grid import pressure_matrix
from sciml.problems import load_problem

PROBLEMS = Path(__file__).resolve().parents[1] / "problems"
TINY = dict(n=16, layouts=3, samples=400, ritz=10000, epochs=10, batch_size=10, lr=1e-3, seed=0, progress=False,
            fine_pairs=1, coarse_pairs=1, up_pairs=1, filters=8, log_every=1)


@pytest.mark.parametrize("shape", [(11, 13), (6, 7, 5)])
def test_grid_stencil_is_the_pressure_matrix(shape):
    rng = np.random.default_rng(0)
    fluid = random_layout(shape, rng, count=2)
    A = pressure_matrix(fluid)
    y = rng.standard_normal(A.shape[0])
    grid = np.zeros(shape)
    grid[fluid] = y
    mask = torch.as_tensor(fluid[None], dtype=torch.float64)
    Ay = apply_pressure(torch.as_tensor(grid[None]), mask, open_degree(mask))[0].numpy()
    assert np.abs(Ay[fluid] - A @ y).max() < 1e-12 and np.all(Ay[~fluid] == 0)


def test_loss_is_scale_invariant_and_zero_for_the_exact_inverse():
    fluid = random_layout((12, 12), np.random.default_rng(1), count=1)
    A = pressure_matrix(fluid)
    mask = torch.as_tensor(fluid[None], dtype=torch.float64)
    deg = open_degree(mask)
    r = torch.zeros(1, 12, 12, dtype=torch.float64)
    r[0][torch.as_tensor(fluid)] = torch.randn(int(fluid.sum()), dtype=torch.float64)
    r = r / r.norm()
    y = torch.randn_like(r) * mask
    loss = dcdm_loss(r, y, apply_pressure(y, mask, deg))
    assert float(loss) > 0
    assert torch.allclose(dcdm_loss(r, -3.7 * y, apply_pressure(-3.7 * y, mask, deg)), loss)
    exact = torch.zeros_like(r)
    exact[0][torch.as_tensor(fluid)] = torch.as_tensor(spla.spsolve(A.tocsc(), r[0][torch.as_tensor(fluid)].numpy()))
    assert float(dcdm_loss(r, 5 * exact, apply_pressure(5 * exact, mask, deg))) < 1e-20


def test_lanczos_ritz_pairs_and_the_weighted_right_hand_sides():
    A = pressure_matrix(random_layout((14, 14), np.random.default_rng(2), count=2))
    n = A.shape[0]
    rng = np.random.default_rng(3)
    values, vectors = lanczos(A, 40, A @ rng.standard_normal(n))
    assert vectors.shape == (40, n) and np.allclose(vectors @ vectors.T, np.eye(40), atol=1e-10)
    exact = np.linalg.eigvalsh(A.toarray())
    assert exact[0] - 1e-10 <= values[0] and values[-1] <= exact[-1] + 1e-10
    assert values[-1] == pytest.approx(exact[-1], rel=1e-6)  # the extremes converge first
    full_values, _ = lanczos(A, n, rng.standard_normal(n))
    assert np.allclose(full_values, exact)
    b = rhs_dataset(A, 300, n, 0.05, rng)
    assert b.shape == (300, n) and np.allclose(np.linalg.norm(b, axis=1), 1, atol=1e-5)
    w, V = np.linalg.eigh(A.toarray())
    energy = ((b @ V) ** 2).mean(0)
    low, high = energy[: n // 2].mean(), energy[n // 2 + int(0.05 * n) + 1:].mean()
    assert low / high == pytest.approx(81, rel=0.3)  # 9x the coefficients on the low modes


@pytest.mark.parametrize("shape", [(16, 16), (17, 15), (8, 9, 7)])
def test_network_shapes_and_zero_on_solids(shape):
    cfg = DCDMConfig(dim=len(shape), filters=4)
    net = DCDMNet(cfg)
    fluid = random_layout(shape, np.random.default_rng(4), count=1)
    mask = torch.as_tensor(fluid[None], dtype=torch.float32)
    out = net(torch.randn(1, *shape) * mask, mask)
    assert out.shape == (1, *shape) and torch.all(out[0][~torch.as_tensor(fluid)] == 0)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("dcdm") / "tiny.pt"
    net, result, record = train(DCDMConfig(**TINY), out)
    return out, net, result


def test_training_lowers_the_loss_and_the_solver_converges(tiny):
    out, net, result = tiny
    first = np.mean([h["loss"] for h in result.history[:10]])
    last = np.mean([h["loss"] for h in result.history[-10:]])
    assert last < 0.7 * first, (first, last)
    loaded, cfg, state = load_model(out)
    fluid = random_layout((16, 16), np.random.default_rng(5), count=2)  # a layout not in training
    A = pressure_matrix(fluid)
    b = np.random.default_rng(6).standard_normal(A.shape[0])
    history = []
    x, info = dcdm(A, b, mask=fluid, rtol=1e-8, maxiter=500, model=loaded, history=history)
    assert info == 0 and history[-1] <= 1e-8 and len(history) - 1 < 45  # CG needs 62
    assert np.linalg.norm(x - spla.spsolve(A.tocsc(), b)) < 1e-6 * np.linalg.norm(x)
    assert state["n_params"] == sum(p.numel() for p in loaded.parameters())
    half: list[float] = []
    y, info = dcdm(A, b, mask=fluid, rtol=1e-8, maxiter=500, model=loaded, history=half, precision="bfloat16")
    assert info == 0 and half[-1] <= 1e-8 and len(half) <= len(history) + 3  # bfloat16 calls, float64 iteration
    with pytest.raises(ProblemError, match="precision"):
        dcdm(A, b, mask=fluid, model=loaded, precision="float16")


def test_keep_monitor_selects_the_fewest_held_out_iterations_and_survives_resume(tmp_path):
    from dataclasses import replace

    cfg = DCDMConfig(**{**TINY, "samples": 100, "epochs": 4, "layouts": 1, "monitor_every": 10, "keep": "monitor",
                        "checkpoint": str(tmp_path / "c.pt"), "checkpoint_every": 20})
    net, _, record = train(cfg, tmp_path / "m.pt")
    scores = [sum(v["dcdm"] if v["dcdm"] is not None else 2 * v["cg"] for v in r["iterations"].values())
              for r in record["monitor"]]
    assert [r["step"] for r in record["monitor"]] == [10, 20, 30, 40]
    assert record["selected_step"] == record["monitor"][int(np.argmin(scores))]["step"]
    half = train(replace(cfg, epochs=2))[2]  # the first 20 steps, checkpointed at step 20
    assert [r["step"] for r in half["monitor"]] == [10, 20]
    resumed = train(replace(cfg, resume=True))[2]
    same = [{k: r[k] for k in ("step", "loss", "iterations")} for r in record["monitor"]]
    assert [{k: r[k] for k in ("step", "loss", "iterations")} for r in resumed["monitor"]] == same
    assert resumed["selected_step"] == record["selected_step"]
    with pytest.raises(ProblemError, match="monitor_every"):
        DCDMConfig(keep="monitor")


@pytest.mark.parametrize("levels", [1, 3, 0])
def test_fast_calls_match_the_network_and_follow_its_training(levels):
    from sciml.linalg.dcdm import inference_copy, network_direction

    torch.manual_seed(0)
    net = DCDMNet(DCDMConfig(filters=4, levels=levels, coarsest=4))
    fluid = random_layout((37, 29), np.random.default_rng(3), count=2)
    r = np.random.default_rng(4).standard_normal(int(fluid.sum()))
    grid = torch.zeros(fluid.shape)
    grid[torch.as_tensor(fluid)] = torch.as_tensor(r, dtype=torch.float32)
    with torch.no_grad():
        plain = net(grid[None], torch.as_tensor(fluid[None], dtype=torch.float32))[0][torch.as_tensor(fluid)]
    direction = network_direction(net, fluid)
    assert np.allclose(direction(r), plain.double().numpy(), rtol=1e-5, atol=1e-6)
    assert np.allclose(direction(r), direction(r))  # the reused input buffer holds no stale values
    before = inference_copy(net)
    with torch.no_grad():
        next(net.parameters()).mul_(2.0)  # a training step changes the weights in place
    assert inference_copy(net) is not before


def test_init_starts_from_a_saved_model_at_another_grid_size(tiny):
    out, net, _ = tiny
    start = DCDMConfig(**{**TINY, "n": 24, "layouts": 1, "samples": 20, "epochs": 1, "lr": 1e-12, "init": str(out),
                          "monitor_every": 2, "keep": "monitor"})
    tuned, _, record = train(start)  # two steps that cannot move the weights: they are the saved model's
    assert [r["step"] for r in record["monitor"]] == [0, 2]  # the starting weights are measured too
    alone = HeldOutMonitor(load_model(out)[0], start)
    alone.record(0, 0.0, None)
    assert record["monitor"][0]["iterations"] == alone.records[0]["iterations"]
    for (name, a), b in zip(net.state_dict().items(), tuned.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-9), name
    with pytest.raises(ProblemError, match="filters 8 \\(run: 16\\)"):
        train(DCDMConfig(**{**TINY, "filters": 16, "samples": 20, "epochs": 1, "init": str(out)}))


def test_bad_input_is_refused(tiny):
    out, _, _ = tiny
    fluid = random_layout((16, 16), np.random.default_rng(7), count=1)
    A = pressure_matrix(fluid)
    with pytest.raises(ProblemError, match="fluid cells"):
        dcdm(A, np.ones(A.shape[0]), mask=np.ones((16, 16), bool), model=str(out))
    with pytest.raises(ProblemError, match="scipy sparse"):
        dcdm(A.toarray(), np.ones(A.shape[0]), mask=fluid, model=str(out))
    cube = np.ones((4, 4, 4), bool)
    with pytest.raises(ProblemError, match="2D but the mask is 3D"):
        dcdm(pressure_matrix(cube), np.ones(64), mask=cube, model=str(out))


def test_cli_trains_and_the_solver_matches_the_fd_reference(tmp_path, tiny):
    out = tmp_path / "cli.pt"
    args = ["train", "dcdm", "--out", str(out), "--quiet", "--set", "n=8", "--set", "samples=20", "--set", "epochs=1",
            "--set", "layouts=0", "--set", "filters=4"]
    assert main(args) == 0 and out.is_file()
    assert main(["train", "dcdm", str(tmp_path / "x.h5"), "--out", str(tmp_path / "y.pt"), "--quiet"]) == 2
    from sciml.reference import solve_reference
    from sciml.solvers.dcdm import DCDMSolver

    problem = load_problem(PROBLEMS / "poisson-square.toml")
    sol = DCDMSolver(model=str(tiny[0]), nodes=18, rtol=1e-10).solve(problem)
    ref = solve_reference(problem, {"method": "fd", "nodes": 18})
    assert np.abs(sol.values - ref.values).max() < 1e-8 and sol.info["iterations"] > 0


def test_smoke_runs_with_every_pressure_solver_and_they_agree(tmp_path, tiny):
    from sciml.sim import SmokeConfig, run_smoke

    finals = {}
    for solver in ("direct", "cg", "ic0", "amg", "dcdm"):
        cfg = SmokeConfig(n=32, steps=5, pressure_solver=solver, rtol=1e-9, frames=0, model=str(tiny[0]))
        result = run_smoke(cfg)
        assert len(result.records) == 5 and all(r.residual <= 1e-9 * 1.01 for r in result.records[1:])
        finals[solver] = result.density
    scale = np.abs(finals["direct"]).max()
    assert scale > 0.5
    for solver, d in finals.items():
        assert np.abs(d - finals["direct"]).max() < 1e-6 * scale, solver
    out = tmp_path / "smoke"
    assert main(["simulate", "smoke", "--n", "32", "--steps", "3", "--pressure-solver", "cg", "--frames", "2",
                 "--out", str(out), "--quiet"]) == 0
    assert (out / "steps.csv").read_text().count("\n") == 4 and (out / "smoke.gif").is_file()
    assert (out / "frame001.png").is_file() and not list(out.glob(".*tmp*"))


def test_3d_smoke_projects_to_zero_divergence_with_every_pressure_solver(tmp_path):
    from sciml.sim import SmokeConfig, run_smoke
    from sciml.sim.smoke import divergence

    tiny3d = DCDMConfig(**{**TINY, "dim": 3, "n": 8, "samples": 40, "layouts": 1, "epochs": 1})
    model = tmp_path / "tiny3d.pt"
    train(tiny3d, model)
    finals = {}
    for solver in ("direct", "cg", "ic0", "amg", "dcdm"):
        result = run_smoke(SmokeConfig(n=16, dim=3, steps=3, pressure_solver=solver, rtol=1e-10, frames=0,
                                       model=str(model)))
        fluid = result.last_system[0]
        assert np.abs(divergence(result.velocity)[fluid]).max() < 1e-7
        finals[solver] = result.density
    assert finals["direct"].shape == (16, 16, 16) and finals["direct"].max() > 0.5
    for solver, d in finals.items():
        assert np.abs(d - finals["direct"]).max() < 1e-6, solver
    out = tmp_path / "smoke3d"
    assert main(["simulate", "smoke", "--dim", "3", "--n", "16", "--steps", "2", "--pressure-solver", "cg",
                 "--frames", "1", "--out", str(out), "--quiet"]) == 0
    assert (out / "frame000.png").is_file()


def test_random_layouts_have_no_enclosed_fluid_pockets():
    from scipy.ndimage import label

    rng = np.random.default_rng(8)
    for _ in range(30):
        fluid = random_layout((24, 24), rng, count=5)
        parts, count = label(fluid)
        assert count == 1  # one fluid region, and it touches the open boundary
        assert fluid[0].any() or fluid[-1].any()
        assert spla.eigsh(pressure_matrix(fluid), 1, sigma=0, which="LM", return_eigenvectors=False)[0] > 1e-8


def test_the_shipped_model_loads_and_beats_cg_on_an_unseen_layout():
    from sciml.linalg import cg
    from sciml.linalg.dcdm import DEFAULT_MODEL

    net, cfg, state = load_model(DEFAULT_MODEL[2])
    assert cfg.n == 64 and state["n_params"] == 32801
    fluid = random_layout((48, 40), np.random.default_rng(9), count=3)  # a size and layout never trained on
    A = pressure_matrix(fluid)
    b = np.random.default_rng(10).standard_normal(A.shape[0])
    ours, theirs = [], []
    x, info = dcdm(A, b, mask=fluid, rtol=1e-6, history=ours)  # the default model
    cg(A, b, rtol=1e-6, history=theirs)
    assert info == 0 and len(ours) < len(theirs) / 3, (len(ours), len(theirs))
