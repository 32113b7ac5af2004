"""Result files that open in other tools: ParaView time series (``solution.pvd``), VTU for
every kind of solution up to 3D, xarray-ready ``solution.h5`` and data sets, and exact round
trips through :meth:`Solution.load`."""

import json

import meshio
import numpy as np
import pytest

from sciml.problems import load_problem
from sciml.runner import run
from sciml.solution import Solution
from sciml.vtk import read_pvd

xr = pytest.importorskip("xarray")


def _grid(times=None, dim=2, fields=("u",)):
    axes = [np.linspace(0.0, 1.0 + k, 4 + k) for k in range(dim)]
    pts = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, dim)
    base = np.stack([np.sin(pts.sum(1) + j) for j in range(len(fields))], axis=-1)
    values = base if times is None else np.stack([base * (1 + t) for t in times])
    return Solution("p", "s", fields, "grid", pts, values, axes=axes,
                    times=None if times is None else np.asarray(times))


def _steps(out):
    return [(t, meshio.read(f)) for t, f in read_pvd(out / "solution.pvd")]


def test_transient_mesh_solution_writes_every_stored_time(tmp_path):
    sol, _ = run(load_problem("heat-2d", ["reference.h=0.1", "reference.nt=20"]), "reference")
    files = sol.save(tmp_path, png=False)
    steps = _steps(tmp_path)
    assert len(steps) == len(sol.times) > 2 and (tmp_path / "solution.pvd") in files
    for k, (t, mesh) in enumerate(steps):
        assert t == pytest.approx(sol.times[k])
        assert np.allclose(mesh.points[:, :2], sol.points)
        assert np.allclose(mesh.point_data["u"], sol.values[k, :, 0])
        assert mesh.cells[0].type == "triangle"


@pytest.mark.parametrize("dim,cell", [(2, "quad"), (3, "hexahedron")])
def test_transient_grid_solution_series_and_cells(tmp_path, dim, cell):
    sol = _grid(times=[0.0, 0.5, 1.0], dim=dim, fields=("ux", "uy"))
    sol.save(tmp_path, png=False)
    steps = _steps(tmp_path)
    assert [t for t, _ in steps] == [0.0, 0.5, 1.0]
    for k, (_, mesh) in enumerate(steps):
        assert mesh.cells[0].type == cell
        assert np.allclose(mesh.point_data["uy"], sol.values[k, :, 1])
        assert np.allclose(mesh.point_data["displacement"][:, 0], sol.values[k, :, 0])
    # every cell is a positive-volume box: corners span the grid spacing on each axis
    mesh = steps[0][1]
    corners = mesh.points[mesh.cells[0].data][:, :, :dim]
    spans = corners.max(1) - corners.min(1)
    assert np.allclose(spans, spans[0]) and (spans > 0).all()


def test_steady_3d_grid_and_point_sets_write_vtu(tmp_path):
    sol = _grid(dim=3)
    sol.save(tmp_path / "g", png=False)
    mesh = meshio.read(tmp_path / "g" / "solution.vtu")
    assert mesh.cells[0].type == "hexahedron" and np.allclose(mesh.point_data["u"], sol.values[:, 0])
    assert not (tmp_path / "g" / "solution.pvd").exists()
    pts = np.random.default_rng(0).random((50, 3))
    scattered = Solution("p", "s", ("u",), "points", pts, pts[:, :1] ** 2)
    scattered.save(tmp_path / "p", png=False)
    mesh = meshio.read(tmp_path / "p" / "solution.vtu")
    assert mesh.cells[0].type == "vertex" and len(mesh.cells[0].data) == 50
    assert np.allclose(mesh.points, pts) and np.allclose(mesh.point_data["u"], pts[:, 0] ** 2)


def test_more_than_three_dimensions_have_no_vtu(tmp_path):
    pts = np.random.default_rng(0).random((20, 5))
    files = Solution("p", "s", ("u",), "points", pts, pts[:, :1]).save(tmp_path, png=False)
    assert [f.name for f in files] == ["solution.h5"]


@pytest.mark.parametrize("make", [
    lambda: _grid(), lambda: _grid(times=[0.0, 0.1]), lambda: _grid(dim=1, times=[0.0, 1.0, 2.0]),
    lambda: Solution("p", "s", ("u",), "mesh", np.array([[0., 0.], [1., 0.], [0., 1.]]), np.array([[1.], [2.], [3.]]),
                     cells=np.array([[0, 1, 2]]), coefficients={"k": np.array([1., 2., 3.]), "k_true": np.ones(3)}),
    lambda: Solution("p", "s", ("x", "v"), "grid", np.linspace(0, 1, 5)[:, None], np.random.rand(5, 2),
                     axes=[np.linspace(0, 1, 5)], axis_names=("t",)),
], ids=["grid", "grid-t", "grid-1d-t", "mesh-coefficients", "ode"])
def test_solution_h5_round_trip_and_xarray_dimensions(tmp_path, make):
    sol = make()
    sol.save(tmp_path, png=False)
    back = Solution.load(tmp_path)
    for key in ("points", "values", "times", "cells"):
        a, b = getattr(sol, key), getattr(back, key)
        assert (a is None and b is None) or np.array_equal(a, b), key
    assert back.fields == sol.fields and back.kind == sol.kind and back.axis_names == sol.axis_names
    assert all(np.array_equal(v, back.coefficients[k]) for k, v in sol.coefficients.items())
    with xr.open_dataset(tmp_path / "solution.h5", engine="h5netcdf") as ds:
        lead = ("t",) if sol.transient else ()
        space = sol.axis_names if sol.kind == "grid" else ("node",)
        assert all(ds[f].dims == lead + space for f in sol.fields)
        if sol.kind == "grid":
            assert all(np.array_equal(ds[n].values, a) for n, a in zip(sol.axis_names, sol.axes))
        else:
            assert set(sol.axis_names) <= set(ds[sol.fields[0]].coords)
    if sol.coefficients:
        with xr.open_dataset(tmp_path / "solution.h5", engine="h5netcdf", group="coefficients") as ds:
            assert ds["k"].dims == ("node",) and np.array_equal(ds["k"].values, sol.coefficients["k"])


def test_field_names_that_clash_with_dimensions_are_refused(tmp_path):
    from sciml.errors import ProblemError

    pts = np.random.default_rng(0).random((5, 2))
    with pytest.raises(ProblemError, match="reserved"):
        Solution("p", "s", ("x",), "points", pts, pts[:, :1]).save(tmp_path, png=False)


@pytest.mark.parametrize("layout", ["grid", "random"])
def test_operator_data_set_opens_with_named_dimensions(tmp_path, layout):
    from sciml.data.dataset import DatasetReader, generate

    path = generate("diffusion-reaction", 3, tmp_path / "d.h5", workers=1, progress=False,
                    overrides=[f'family.output.layout="{layout}"', "family.output.points=5"])
    with DatasetReader(path) as r:
        got = r[:]
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        assert list(ds["field"].values) == ["u"]
        assert json.loads(ds["coord"].attrs["names"]) == ["x", "t"]
        if layout == "grid":
            assert ds["outputs"].dims == ("sample", "x", "t", "field")
            assert np.allclose(ds["x"].values, np.linspace(0, 1, 5)) and np.allclose(ds["t"].values, np.linspace(0, 1, 5))
            # the reader's flat (sample, point, field) is the grid in ij order
            assert np.array_equal(ds["outputs"].values.reshape(3, 25, 1), got["outputs"])
            u = ds["outputs"].sel(field="u").isel(sample=1)
            assert u.sel(x=0.5, t=1.0).item() == pytest.approx(got["outputs"][1, 2 * 5 + 4, 0])
        else:
            assert ds["outputs"].dims == ("sample", "point", "field")
            assert ds["points"].dims == ("sample", "point", "coord")
            assert np.array_equal(ds["outputs"].values, got["outputs"])
    with xr.open_dataset(path, engine="h5netcdf", group="inputs") as ds:
        assert ds["v"].dims == ("sample", "sensor_v") and np.array_equal(ds["v"].values, got["inputs"]["v"])
