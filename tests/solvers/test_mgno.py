"""MgNO: the V-cycle is a linear operator, shapes and padding for Dirichlet and periodic grids,
a tiny model overfits 8 samples, save/load is bit for bit, the solver answers members at
another resolution, bad data are refused, DDP gives the single-process gradient."""

from pathlib import Path

import numpy as np
import pytest
import torch

from sciml.cli import main
from sciml.data.dataset import generate
from sciml.errors import ProblemError
from sciml.problems import load_problem
from sciml.problems.family import member
from sciml.solvers.mgno import GridConv, MgNO, MgNOConfig, MgNOSolver, Prolongation, VCycle, load_model, train
from sciml.solvers.operator import load_split

FAMILIES = Path(__file__).resolve().parents[2] / "problems" / "families"
SMALL = ["family.output.points=16", "family.inputs.a.sensors=16"]
TINY = dict(layers=2, channels=6, levels=[[1, 0], [1, 0], [2, 0]], progress=False, seed=0)


@pytest.mark.parametrize("restrict", ["source", "residual"])
def test_a_single_channel_layer_without_nonlinearity_is_linear(restrict):
    torch.manual_seed(0)
    cycle = VCycle(1, 1, [[1, 1], [1, 1], [2, 0]], restrict, (False, False)).double()
    local = torch.nn.Conv2d(1, 1, 1, bias=False).double()

    def layer(x):
        return cycle(x) + local(x)

    x, y = torch.randn(2, 1, 1, 20, 20, dtype=torch.float64)
    out = layer(2.5 * x - 0.7 * y)
    assert out.shape == (1, 1, 20, 20)
    torch.testing.assert_close(out, 2.5 * layer(x) - 0.7 * layer(y), rtol=1e-12, atol=1e-12)
    # a bias makes the network affine, not linear: the function-valued bias B of the paper
    net = MgNO(1, 1, MgNOConfig(layers=1, channels=1, levels=[[1, 0], [1, 0]])).double()
    net.act = torch.nn.Identity()
    zero = net(torch.zeros(1, 1, 8, 8, dtype=torch.float64))
    assert zero.abs().max() > 0
    lin = net(x[..., :8, :8] + y[..., :8, :8]) - zero
    torch.testing.assert_close(lin, (net(x[..., :8, :8]) - zero) + (net(y[..., :8, :8]) - zero))


@pytest.mark.parametrize("size", [16, 17, 64, 65])
def test_shapes_on_even_and_odd_grids_and_prolongation_doubles(size):
    net = MgNO(2, 1, MgNOConfig(layers=2, channels=4))  # six levels: 64 -> 2
    assert net(torch.randn(3, 2, size, size)).shape == (3, 1, size, size)
    up = Prolongation(3, (False, False))
    assert up(torch.randn(1, 3, (size + 1) // 2, (size + 1) // 2), (size, size)).shape == (1, 3, size, size)


def test_zero_padding_is_dirichlet_and_circular_padding_is_periodic():
    torch.manual_seed(0)
    x = torch.randn(1, 2, 12, 12)
    zeros = GridConv(2, 3, (False, False))
    torch.testing.assert_close(zeros(x), torch.nn.functional.conv2d(x, zeros.weight, padding=1))
    wrap = GridConv(2, 3, (True, True))
    torch.testing.assert_close(wrap(x), torch.nn.functional.conv2d(torch.nn.functional.pad(x, (1, 1, 1, 1), "circular"),
                                                                   wrap.weight))
    # a periodic network commutes with shifts by the coarsest stride (here 2^2 = 4 nodes) and its
    # last node repeats the first
    net = MgNO(1, 1, MgNOConfig(layers=2, channels=4, levels=[[1, 0], [1, 1], [2, 0]]), periodic=(True, True))
    unique = torch.randn(1, 1, 16, 16)

    def closed(u):
        return torch.cat([torch.cat([u, u[..., :1, :]], -2), torch.cat([u, u[..., :1, :]], -2)[..., :1]], -1)

    out = net(closed(unique))
    assert out.shape == (1, 1, 17, 17)
    torch.testing.assert_close(out[..., -1, :], out[..., 0, :])
    shifted = net(closed(torch.roll(unique, (4, 8), (-2, -1))))
    torch.testing.assert_close(shifted[..., :16, :16], torch.roll(out[..., :16, :16], (4, 8), (-2, -1)),
                               rtol=1e-5, atol=1e-6)
    dirichlet = MgNO(1, 1, MgNOConfig(layers=2, channels=4, levels=[[1, 0], [1, 1], [2, 0]]))
    moved = dirichlet(torch.roll(closed(unique), (4, 8), (-2, -1)))
    assert not torch.allclose(moved, torch.roll(dirichlet(closed(unique)), (4, 8), (-2, -1)), atol=1e-4)


@pytest.fixture(scope="module")
def darcy(tmp_path_factory):
    path = tmp_path_factory.mktemp("mgno") / "darcy16.h5"
    return generate(FAMILIES / "darcy-pwc.toml", 12, path, workers=1, overrides=SMALL, progress=False)


def test_a_tiny_model_overfits_eight_samples(darcy):
    cfg = MgNOConfig(**TINY, n_train=8, n_test=4, epochs=300, lr=3e-3, weight_decay=0.0)
    model, result, record = train(darcy, cfg)
    assert result.adam_steps == 300 and record["steps_per_epoch"] == 1
    train_set, _, meta = load_split(darcy, 8, 4)
    from sciml.solvers.mgno import as_images, evaluate

    a, s = as_images(train_set, meta)
    fit = evaluate(model, a, s)
    assert fit["rel_l2_mean"] < 0.03, fit  # the first epoch starts near 1
    assert result.history[0]["rel_l2"] > 10 * fit["rel_l2_mean"]


def test_save_load_is_bit_for_bit_and_the_solver_answers_members(darcy, tmp_path):
    out = tmp_path / "m.pt"
    model, _, record = train(darcy, MgNOConfig(**TINY, n_train=8, n_test=4, epochs=2), out)
    loaded, cfg, state = load_model(out)
    _, test, meta = load_split(darcy, 8, 4)
    from sciml.solvers.mgno import as_images, predict

    a, s = as_images(test, meta)
    assert np.array_equal(predict(model.eval(), a), predict(loaded, a))
    assert state["test"] == record["test"] and cfg.channels == 6
    family = load_problem(FAMILIES / "darcy-pwc.toml", SMALL)
    sol = MgNOSolver(model=str(out)).solve(member(family, 9))  # data sample 9 (the second test sample)
    np.testing.assert_allclose(sol.values[:, 0], predict(loaded, a[1:2])[0, 0].ravel(), rtol=1e-5, atol=1e-7)
    fine = load_problem(FAMILIES / "darcy-pwc.toml", ["family.output.points=32", "family.inputs.a.sensors=32"])
    sol32 = MgNOSolver(model=str(out)).solve(member(fine, 9))  # the same coefficient, read at 32^2
    assert sol32.values.shape == (32 * 32, 1) and sol32.info["grid"] == [32, 32] and "warning" in sol32.info
    assert sol32(np.array([[0.5, 0.5]])).shape == (1, 1)
    with pytest.raises(ProblemError, match="trained on the family"):
        MgNOSolver(model=str(out)).solve(member(load_problem(FAMILIES / "darcy-smooth.toml", SMALL), 0))


def test_bad_data_and_model_files_are_refused(tmp_path, darcy):
    anti = generate(FAMILIES / "antiderivative.toml", 4, tmp_path / "anti.h5", workers=1, progress=False)
    with pytest.raises(ProblemError, match="2D grid"):
        train(anti, MgNOConfig(**TINY, n_train=2, n_test=2, epochs=1))
    off = generate(FAMILIES / "darcy-pwc.toml", 4, tmp_path / "off.h5", workers=1,
                   overrides=["family.output.points=16", "family.inputs.a.sensors=8"], progress=False)
    with pytest.raises(ProblemError, match="reads its inputs on the output grid"):
        train(off, MgNOConfig(**TINY, n_train=2, n_test=2, epochs=1))
    with pytest.raises(ProblemError, match="levels"):
        MgNOConfig(levels=[[0, 1]])
    with pytest.raises(ProblemError, match="coarsest level has no post-smoothing"):
        MgNOConfig(levels=[[1, 0], [1, 1]])
    don = tmp_path / "don.pt"
    assert main(["train", "deeponet", str(anti), "--out", str(don), "--set", "adam_steps=2", "--set", "n_train=2",
                 "--quiet"]) == 0
    with pytest.raises(ProblemError, match="not a mgno model"):
        load_model(don)
    assert main(["train", "mgno", str(anti), "--out", str(tmp_path / "x.pt"), "--quiet"]) == 2
    assert not (tmp_path / "x.pt").exists()


def test_cli_trains_and_solves(tmp_path, darcy):
    out = tmp_path / "cli.pt"
    assert main(["train", "mgno", str(darcy), "--out", str(out), "--quiet", "--set", "epochs=1", "--set", "n_train=8",
                 "--set", "n_test=4", "--set", "channels=4", "--set", "layers=1", "--set", "levels=[[1, 0], [1, 0]]"]) == 0
    assert out.is_file()
    family = tmp_path / "darcy16.toml"
    family.write_text((FAMILIES / "darcy-pwc.toml").read_text().replace("points = 64", "points = 16")
                      .replace("sensors = 64", "sensors = 16"))
    assert main(["solve", str(family), "--solver", "mgno", "--model", str(out), "--out", str(tmp_path / "sol")]) == 0
    assert (tmp_path / "sol" / "solution.h5").is_file()


WORKER = Path(__file__).with_name("mgno_ddp_worker.py")


def test_ddp_two_processes_match_the_single_process_gradient(ddp_matches_single_process):
    ddp_matches_single_process(WORKER)
