"""`sciml identifiability`: the linearised sensitivity of observations to scalar unknowns."""

import numpy as np
import pytest

from sciml.cli import main
from sciml.identifiability import sensitivity
from sciml.problems import load_problem


def test_a_source_amplitude_shows_one_to_one_and_the_bound_follows_the_noise():
    p = load_problem("poisson-source-inverse")  # u is linear in s: d log u / d log s = 1 exactly
    out = sensitivity(p, noise=0.01)
    assert out["singular_values"] == pytest.approx([1.0], rel=1e-4)
    assert out["accuracy_for_1pct"] == pytest.approx(0.01, rel=1e-4)
    bound = out["cramer_rao"]["s"]
    assert sensitivity(p, noise=0.04)["cramer_rao"]["s"] == pytest.approx(4 * bound, rel=1e-2)
    # ten values with 1% noise each: about 1% / sqrt(10) for a parameter they all see alike
    assert 0.001 < bound < 0.01


def test_the_lame_ratio_is_the_weak_direction():
    out = sensitivity(load_problem("elasticity-lame-inverse"))
    strong, weak = out["singular_values"]
    assert weak < 0.2 * strong
    assert abs(np.asarray(out["directions"])[1][0]) > 0.9  # mostly lambda


def test_the_command_prints_a_report_and_refuses_what_it_cannot_analyse(capsys):
    assert main(["identifiability", "poisson-source-inverse"]) == 0
    assert "within 1%" in capsys.readouterr().out
    assert main(["identifiability", "poisson-coefficient-inverse"]) == 2
    assert "[inverse.unknowns]" in capsys.readouterr().err
    assert main(["identifiability", "poisson-source-inverse", "--noise", "2"]) == 2
