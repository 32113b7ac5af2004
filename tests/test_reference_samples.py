"""HyPINO's reference-solved training samples: random problems of the benchmark classes, the
bank file and what training draws from it."""

import numpy as np
import pytest
import torch

from sciml.cli import main
from sciml.data.pde_samples import SampleConfig, collate
from sciml.data.reference_samples import ReferenceBank, random_problem, reference_sample, write_bank
from sciml.errors import ProblemError
from sciml.problems.linear import coefficients
from sciml.solvers.hypino import HyPINOConfig, StepBatches

SMALL = SampleConfig(grid=32, interior=64, boundary=64, raster_points=512)


def test_random_problems_cover_the_classes_and_are_never_zero():
    kinds = {}
    for i in range(40):
        p = random_problem(np.random.default_rng([3, i]))
        kinds[p.name] = kinds.get(p.name, 0) + 1
        c = coefficients(p)
        if p.name == "random-wave":
            assert c[4] == 1.0 and c[3] < 0
        if p.name == "random-heat":
            assert c[2] == 1.0 and c[4] == 0.0
    assert set(kinds) == {"random-elliptic", "random-heat", "random-wave"} and kinds["random-elliptic"] > 15


def test_a_reference_sample_matches_its_problem():
    raw = reference_sample(np.random.default_rng([0, 7]), SMALL, points=128)
    p = random_problem(np.random.default_rng([0, 7]))  # the same draw
    assert raw["interior"].shape == (128, 2) and p.domain.contains(raw["interior"]).all()
    np.testing.assert_allclose(raw["f_int"], np.broadcast_to(p.pde.f(raw["interior"]), 128))
    assert np.abs(raw["u"]).max() > 0  # the generator never emits the zero problem
    assert (raw["dirichlet"] > 0).any()  # every class has Dirichlet data somewhere


def test_the_bank_round_trip_and_its_samples_train_u_but_not_derivatives(tmp_path):
    path = write_bank(tmp_path / "bank.h5", 3, SMALL, seed=1, points=96)
    bank = ReferenceBank(path, grid=32)
    assert len(bank) == 3
    s = bank.sample(np.random.default_rng(0), SMALL)
    assert s.derivatives is False and s.targets.shape == (64, 5) and not s.targets[:, 1:].any()
    assert np.abs(s.channels[2:5]).max() == pytest.approx(1.0, rel=1e-6)  # scaled like every sample
    batch = collate([s, bank.sample(np.random.default_rng(1), SMALL)])
    assert batch["supervised"].tolist() == [1.0, 1.0] and batch["derivative_targets"].tolist() == [0.0, 0.0]
    with pytest.raises(ProblemError, match="64\\^2"):
        ReferenceBank(path, grid=64)
    with pytest.raises(ProblemError, match="keeps 96 interior"):
        bank.sample(np.random.default_rng(0), SampleConfig(grid=32, interior=200, boundary=64))


def test_training_draws_its_share_from_the_bank(tmp_path):
    path = write_bank(tmp_path / "bank.h5", 2, SMALL, points=96)
    cfg = HyPINOConfig(grid=32, embed=8, depths=[1, 1], heads=[2, 2], window=2, interior=64, boundary=64,
                       raster_points=512, batch_size=8, workers=0, adam_steps=4, reference_bank=str(path),
                       reference_fraction=0.5)
    _, batch = StepBatches(cfg, seed=0)[0]
    share = float(1 - batch["derivative_targets"].sum() / batch["supervised"].sum())
    assert 0 < share < 1 and torch.isfinite(batch["channels"]).all()
    with pytest.raises(ProblemError, match="reference_fraction"):
        HyPINOConfig(reference_fraction=1.5)


def test_the_bank_command(tmp_path, capsys):
    out = tmp_path / "b.h5"
    assert main(["data", "hypino-bank", "--n", "2", "--out", str(out), "--grid", "32", "--workers", "1",
                 "--source-freq", "5"]) == 0
    assert ReferenceBank(out, grid=32).data["u"].shape == (2, 1024)
    import h5py

    with h5py.File(out, "r") as h5:
        assert h5.attrs["source_freq"] == 5.0  # the bank says how it was made
    assert main(["data", "hypino-bank", "--n", "0", "--out", str(out)]) == 2
    assert main(["data", "hypino-bank", "--n", "2", "--out", str(out), "--source-freq", "0"]) == 2


def test_the_source_frequency_option_bounds_the_smooth_sources_wave_numbers():
    import re

    def wave_numbers(freq: float) -> list[float]:
        found = []
        for i in range(60):
            p = random_problem(np.random.default_rng([5, i]), source_freq=freq)
            found += [abs(float(k)) for k in re.findall(r"sin\((-?[0-9.e-]+)\*x \+ ", str(p.raw["pde"]["f"]))]
        return found

    low, high = wave_numbers(3.0), wave_numbers(6.0)
    assert low and high and max(low) <= 3 * np.pi and max(high) <= 6 * np.pi and max(high) > 3 * np.pi
    with pytest.raises(ProblemError, match="source_freq"):
        random_problem(np.random.default_rng(0), source_freq=0.0)
