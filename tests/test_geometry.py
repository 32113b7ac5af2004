import numpy as np
import pytest

from sciml.errors import ProblemError
from sciml.geometry import Box, Difference, Disk, Interval, Mesh, MeshDomain, Polygon, unit_points

LSHAPE = Polygon(((0, 0), (1, 0), (1, -1), (-1, -1), (-1, 1), (0, 1)))
DOMAINS = [Interval(0, 2), Box((0, 0), (2, 1)), Box((0, 0, 0), (1, 1, 1)), LSHAPE, Disk((0.5, 0), 0.7),
           Difference(Box((-1, -1), (1, 1)), (Disk((0, 0), 0.3), Box((0.5, 0.5), (0.8, 0.8))))]


@pytest.mark.parametrize("domain", DOMAINS, ids=lambda d: type(d).__name__)
@pytest.mark.parametrize("method", ["uniform", "random", "sobol", "lhs"])
def test_sampling_lies_in_domain(domain, method):
    rng = np.random.default_rng(1)
    pts = domain.sample_interior(300, method, rng)
    assert pts.shape == (300, domain.dim)
    assert np.all(domain.sdf(pts) < 0)
    b = domain.sample_boundary(200, method, rng)
    assert b.points.shape == (200, domain.dim) and len(b.tags) == 200
    assert np.abs(domain.sdf(b.points)).max() < 1e-9
    np.testing.assert_allclose(np.linalg.norm(b.normals, axis=1), 1.0)
    # outward: stepping along the normal leaves the domain
    assert np.all(domain.sdf(b.points + 1e-4 * b.normals) > 0)


def test_boundary_sampling_follows_length():
    b = Box((0, 0), (3, 1)).sample_boundary(800, "uniform")
    counts = {t: int(np.sum(b.tags == t)) for t in ("left", "right", "bottom", "top")}
    assert counts == {"left": 100, "right": 100, "bottom": 300, "top": 300}


def test_unit_points_methods():
    for m in ("uniform", "random", "sobol", "lhs"):
        p = unit_points(64, 2, m, np.random.default_rng(0))
        assert p.shape == (64, 2) and p.min() >= 0 and p.max() <= 1
    with pytest.raises(ProblemError, match="unknown sampling method"):
        unit_points(4, 2, "grid")


def test_grid_mask():
    axes, mask = LSHAPE.grid(21)
    assert mask.shape == (21, 21)
    frac = mask.mean()
    assert 0.7 < frac < 0.8  # 3/4 of the bounding box, plus the boundary nodes


@pytest.mark.parametrize("domain", DOMAINS[:6], ids=lambda d: type(d).__name__)
def test_generated_meshes_cover_the_domain(domain):
    h = 0.1
    mesh = domain.mesh(h)
    area = {1: 2.0, 2: None}.get(domain.dim)
    vol = mesh.volumes()
    assert np.all(vol > 0)
    if isinstance(domain, (Interval, Box)):
        lo, hi = domain.bounds
        assert vol.sum() == pytest.approx(np.prod(hi - lo))
    elif isinstance(domain, Polygon):
        assert vol.sum() == pytest.approx(3.0)
    assert area is None or vol.sum() == pytest.approx(area)
    # every boundary facet is tagged with a piece name
    assert np.all(mesh.facet_tags > 0)
    assert set(mesh.tag_names) <= {p.name for p in domain.pieces}


def test_relaxed_mesh_quality():
    mesh = Disk((0, 0), 1.0).mesh(0.05)
    p = mesh.points[mesh.cells]
    angles = []
    for i in range(3):
        a, b = p[:, (i + 1) % 3] - p[:, i], p[:, (i + 2) % 3] - p[:, i]
        angles.append(np.degrees(np.arccos(np.sum(a * b, 1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1))))
    assert np.min(angles) > 25
    assert mesh.volumes().sum() == pytest.approx(np.pi, rel=5e-3)


def test_mesh_roundtrip_with_tags(tmp_path):
    mesh = Difference(Box((-1, -1), (1, 1)), (Disk((0, 0), 0.3),)).mesh(0.2)
    mesh.write(tmp_path / "m.msh")
    back = Mesh.read(tmp_path / "m.msh")
    np.testing.assert_allclose(back.points, mesh.points)
    assert back.tag_names == mesh.tag_names
    assert back.tag_facets("hole0").sum() == mesh.tag_facets("hole0").sum() > 0
    with pytest.raises(ProblemError, match="no boundary tag 'nope'"):
        back.tag_facets("nope")
    mesh.write(tmp_path / "m.vtu")
    assert Mesh.read(tmp_path / "m.vtu").cells.shape == mesh.cells.shape


def test_mesh_domain_sampling_and_normals(root):
    dom = MeshDomain(Mesh.read(root / "meshes" / "disk.msh"))
    pts = dom.sample_interior(500, "random")
    assert np.all(np.linalg.norm(pts, axis=1) <= 1 + 1e-12)
    b = dom.sample_boundary(100)
    # facet normals of a polygonal circle point nearly radially outward
    radial = b.points / np.linalg.norm(b.points, axis=1, keepdims=True)
    assert np.min(np.sum(radial * b.normals, axis=1)) > 0.99
    assert set(b.tags) == {"circle"}


def test_locate_and_interpolate_linear_exactly():
    mesh = Box((0, 0, 0), (1, 1, 1)).mesh(0.25)
    f = lambda p: 1 + 2 * p[:, 0] - p[:, 1] + 3 * p[:, 2]  # noqa: E731
    q = np.random.default_rng(0).random((50, 3))
    np.testing.assert_allclose(mesh.interpolate(f(mesh.points), q), f(q), atol=1e-12)


def test_bad_domains():
    with pytest.raises(ProblemError):
        Interval(1, 0)
    with pytest.raises(ProblemError):
        Disk((0, 0), -1)
    with pytest.raises(ProblemError):
        Polygon(((0, 0), (1, 1), (2, 2)))
    with pytest.raises(ProblemError, match="not found"):
        Mesh.read("missing.msh")


def test_mesh_sampling_reaches_every_cell_when_points_are_few(root):
    """Fewer points than cells: each draw must pick its cells at random (by volume), not
    always the same largest-remainder cells."""
    from sciml.geometry import read_domain

    dom = read_domain(root / "meshes" / "plate-hole.msh")
    mesh = dom.mesh_data
    draws = [dom.sample_interior(100, "random", np.random.default_rng(s)) for s in range(2)]
    cells = [set(mesh.locate(d)[0]) for d in draws]
    assert len(cells[0] & cells[1]) < 20
    facets = [set(map(tuple, dom.sample_boundary(50, "random", np.random.default_rng(s)).points.round(6)))
              for s in range(2)]
    assert not facets[0] & facets[1]
    # and the proportion of points left of x = 0 matches the area there (the hole is centred)
    many = dom.sample_interior(20000, "sobol", np.random.default_rng(3))
    assert abs((many[:, 0] < 0).mean() - 0.5) < 0.02
