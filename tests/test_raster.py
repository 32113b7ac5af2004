"""HyPINO's input encoding: boundary lines where the geometry is (row 0 is y = +1), two to three
pixels wide, Dirichlet/Neumann values on their masks, the compressed source inside the domain."""

import numpy as np
import pytest

from sciml.errors import ProblemError
from sciml.problems import problem_from_dict
from sciml.problems.raster import CHANNELS, compress, rasterize


def _square(boundary, f="1", holes=None):
    domain = {"type": "box", "lo": [-1.0, -1.0], "hi": [1.0, 1.0]}
    if holes:
        domain["holes"] = holes
    return problem_from_dict({"pde": {"type": "poisson", "f": f}, "domain": domain, "boundary": boundary})


def test_row_zero_is_the_top_and_lines_are_two_to_three_pixels_wide():
    p = _square([{"where": "top", "type": "dirichlet", "value": "x"},
                 {"where": "all", "type": "neumann", "value": "0.5"}])
    r = rasterize(p, n=64)
    assert r.channels.shape == (5, 64, 64) and r.y[0] == 1.0 and r.x[0] == -1.0
    d, nm = r.channel("dirichlet_mask"), r.channel("neumann_mask")
    assert d[0].all() and not d[-1].any()  # the top edge is the first row
    assert nm[-1, 5:-5].all() and nm[5:-5, 0].all()
    rows = np.flatnonzero(d[:, 32])
    assert rows.min() == 0 and 1 <= len(rows) <= 3  # the line's thickness inside the image
    assert np.allclose(r.channel("dirichlet_value")[0, 5:-5], r.x[5:-5], atol=0.05)
    assert np.all(r.channel("neumann_value")[nm > 0] == 0.5)
    assert not (d * nm).any() and not d[20:44, 20:44].any()


def test_holes_and_the_compressed_source():
    p = _square([{"where": "all", "type": "dirichlet", "value": "0"}], f="100",
                holes=[{"type": "disk", "center": [0.0, 0.0], "radius": 0.4}])
    r = rasterize(p, n=96)
    X, Y = np.meshgrid(r.x, r.y)
    radius = np.hypot(X, Y)
    ring = r.channel("dirichlet_mask") > 0
    assert ring[np.abs(radius - 0.4) < 0.005].all() and not ring[radius < 0.3].any()
    src = r.channel("source")
    assert np.allclose(src[radius < 0.35], 0) and np.allclose(src[(radius > 0.5) & (np.abs(X) < 0.9)], np.log(101))
    assert compress(np.array([-np.e + 1]))[0] == pytest.approx(-1.0)
    assert len(CHANNELS) == 5


def test_bad_problems_are_refused():
    far = problem_from_dict({"pde": {"type": "poisson", "f": "1"},
                             "domain": {"type": "box", "lo": [0.0, 0.0], "hi": [3.0, 1.0]},
                             "boundary": [{"where": "all", "type": "dirichlet", "value": "0"}]})
    with pytest.raises(ProblemError, match="does not fit"):
        rasterize(far)
    robin = _square([{"where": "all", "type": "robin", "value": "0", "alpha": "1"}])
    with pytest.raises(ProblemError, match="Dirichlet, Neumann and cauchy"):
        rasterize(robin, n=16)


def test_a_cauchy_initial_line_sets_both_masks_and_neumann_data_is_du_dn():
    wave = problem_from_dict({"pde": {"type": "linear", "c_xx": "-1", "c_yy": "1"},
                              "domain": {"type": "box", "lo": [-1.0, -1.0], "hi": [1.0, 1.0]},
                              "boundary": [{"where": "bottom", "type": "cauchy", "value": ["sin(pi*x)", "0.5"]},
                                           {"where": "all", "type": "dirichlet", "value": "0"}]})
    r = rasterize(wave, n=32)
    assert r.channel("dirichlet_mask")[-1].all() and r.channel("neumann_mask")[-1, 3:-3].all()
    assert not r.channel("neumann_mask")[0].any() and np.allclose(r.channel("neumann_value")[-1, 3:-3], 0.5)
    assert np.allclose(r.coefficients, [0, 0, 0, -1, 1])
    flux = _square([{"where": "all", "type": "neumann", "value": "3"}])  # k = 1: the data is du/dn itself
    k3 = problem_from_dict({"pde": {"type": "poisson", "k": "3", "f": "1"},
                            "domain": {"type": "box", "lo": [-1.0, -1.0], "hi": [1.0, 1.0]},
                            "boundary": [{"where": "all", "type": "neumann", "value": "3"}]})
    assert np.allclose(rasterize(k3, n=16).channel("neumann_value"), rasterize(flux, n=16).channel("neumann_value") / 3)

