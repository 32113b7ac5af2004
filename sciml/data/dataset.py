"""Operator-learning data sets: members of a problem family solved by the SciPy reference,
written to HDF5 (layout in docs/data.md).

Sample ``i`` is drawn from ``numpy.random.default_rng([seed, i])``, so a data set is a pure
function of the family file, the seed and ``n``: generation runs in parallel processes, in any
order, and resumes where an interrupted run stopped (the file is written as ``OUT.partial`` and
renamed when complete).
"""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from ..errors import ProblemError
from ..io import check_writable
from ..problems import Problem, load_problem
from ..problems.loader import resolve_problem
from ..netcdf import axis_names, dimension, variable
from ..problems.family import sample_member

GENERATOR_VERSION = 2  # 2: netCDF dimension scales, grid outputs shaped (sample, *grid, field)
CHUNK = 64


@dataclass
class Member:
    """One solved member: its inputs at the sensors, output locations and outputs."""

    inputs: dict[str, np.ndarray]
    points: np.ndarray
    outputs: np.ndarray


def output_axes(problem: Problem, n: int) -> list[np.ndarray]:
    """The axes of the ``grid`` layout: ``n`` points per axis of the input box (space, then
    time)."""
    lo, hi = _box(problem)
    return [np.linspace(a, b, n) for a, b in zip(lo, hi)]


def output_grid(problem: Problem, n: int) -> np.ndarray:
    """The shared output locations of the ``grid`` layout (``ij`` order of :func:`output_axes`)."""
    axes = output_axes(problem, n)
    return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, len(axes))


def input_axis_names(problem: Problem) -> tuple[str, ...]:
    """Names of the input axes: the space axes, then ``t`` (an ODE's only axis is ``t``)."""
    return axis_names(problem.dim) + (("t",) if problem.transient or problem.dim == 0 else ())


def _box(problem: Problem) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = (list(problem.domain.bounds[0]), list(problem.domain.bounds[1])) if problem.dim else ([], [])
    if problem.transient:
        lo, hi = lo + [problem.time.start], hi + [problem.time.end]
    return np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)


def solve_member(problem: Problem, seed: int, index: int) -> Member:
    """Draw member ``index`` of the family ``problem`` and solve it with the reference."""
    from ..reference import solve_reference

    rng = np.random.default_rng([seed, index])
    member, drawn = sample_member(problem, rng)
    spec = problem.family
    inputs = {i.name: np.asarray(drawn[i.name](*i.sensor_points().T), dtype=float) for i in spec.inputs}
    if spec.layout == "grid":
        points = output_grid(problem, spec.points)
    else:
        lo, hi = _box(problem)
        points = lo + (hi - lo) * rng.random((spec.points, len(lo)))
    if problem.dim and not problem.domain.contains(points[:, : problem.dim], tol=1e-9).all():
        raise ProblemError("output points outside a non-box domain: use a box or interval for families",
                           problem.source, "family.output")
    return Member(inputs, points, solve_reference(member)(points))


# -- parallel generation ------------------------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _init_worker(path: str, overrides: Sequence[str]) -> None:
    _WORKER["problem"] = load_problem(path, overrides)


def _solve_range(args: tuple[int, int, int]) -> tuple[int, list[Member]]:
    seed, start, stop = args
    return start, [solve_member(_WORKER["problem"], seed, i) for i in range(start, stop)]


def generate(path: str | Path, n: int, out: str | Path, seed: int | None = None, workers: int | None = None,
             overrides: Sequence[str] = (), progress: bool | None = None) -> Path:
    """Generate ``n`` members of the family in ``path`` into the HDF5 file ``out``.

    Parameters
    ----------
    seed
        Default: the family's ``seed``.
    workers
        Processes (default: the CPU count, at most 8); 1 solves in this process.
    overrides
        ``--set`` strings applied to the family file.
    """
    import h5py

    from ..nn.trainer import show_progress

    path = resolve_problem(path)  # a shipped family by name too
    problem = load_problem(path, overrides)
    if problem.family is None:
        raise ProblemError("not a problem family: add [family.inputs.NAME] tables", problem.source, "family")
    if n < 1:
        raise ProblemError(f"--n must be at least 1, got {n}")
    if workers is not None and workers < 1:
        raise ProblemError(f"--workers must be at least 1, got {workers}")
    seed = problem.family.seed if seed is None else seed
    out = Path(out)
    if out.exists():
        raise ProblemError(f"{out} exists; remove it or choose another --out")
    check_writable(out.parent)
    out.parent.mkdir(parents=True, exist_ok=True)  # as `sciml train` does
    partial = out.with_name(out.name + ".partial")
    family_text = Path(path).read_text()
    started = time.perf_counter()
    first = solve_member(problem, seed, 0)
    with h5py.File(partial, "a") as f:
        _prepare(f, problem, first, n, seed, family_text, list(overrides))
        done = f["done"][:]
        todo = [(seed, s, min(s + CHUNK, n)) for s in range(0, n, CHUNK) if not done[s:min(s + CHUNK, n)].all()]
        bar = None
        if show_progress(progress):
            from tqdm import tqdm

            bar = tqdm(total=n, initial=int(done.sum()), desc="data", unit="sample", leave=False)
        workers = workers or default_workers()
        try:
            for start, members in _run(todo, workers, str(path), list(overrides)):
                _write(f, start, members, problem.family.layout)
                if bar is not None:
                    bar.update(len(members))
        finally:
            if bar is not None:
                bar.close()
        f.attrs["generation_s"] = float(f.attrs.get("generation_s", 0.0)) + time.perf_counter() - started
    os.replace(partial, out)
    return out


def default_workers() -> int:
    """Processes for generating references: the CPU count, at most 8."""
    return min(os.cpu_count() or 1, 8)


def _run(todo: list[tuple[int, int, int]], workers: int, path: str, overrides: list[str]
         ) -> Iterator[tuple[int, list[Member]]]:
    if workers <= 1 or len(todo) <= 1:
        _init_worker(path, overrides)
        for job in todo:
            yield _solve_range(job)
        return
    with ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(path, overrides)) as pool:
        yield from pool.map(_solve_range, todo)


def _prepare(f: Any, problem: Problem, first: Member, n: int, seed: int, family_text: str,
             overrides: list[str]) -> None:
    """Create the datasets of a new file, or check that a partial file is this same job."""
    meta = {"family": family_text, "overrides": json.dumps(overrides), "seed": seed, "n": n}
    if "done" in f:
        for key, value in meta.items():
            if f.attrs.get(key) != value:
                raise ProblemError(f"{f.filename} was started with a different {key}; remove it to start over")
        return
    for key, value in meta.items():
        f.attrs[key] = value
    f.attrs.update({"generator_version": GENERATOR_VERSION, "problem": problem.name,
                    "fields": json.dumps(list(problem.fields)), "layout": problem.family.layout,
                    "input_dim": problem.input_dim, "created": time.strftime("%Y-%m-%d %H:%M:%S"),
                    "periodic_axes": json.dumps(sorted({b.axis for b in problem.boundaries if b.type == "periodic"}))})
    # named dimensions (sciml.netcdf): xarray.open_dataset(path, engine="h5netcdf") shows the
    # outputs of the grid layout on (sample, x, y, t, field)
    p, d = first.points.shape
    c = first.outputs.shape[1]
    dimension(f, "sample", n)
    import h5py

    dimension(f, "field", np.array(problem.fields, dtype=h5py.string_dtype())).attrs["long_name"] = "output field"
    dimension(f, "coord", d)
    f["coord"].attrs["names"] = json.dumps(list(input_axis_names(problem)))
    for spec in problem.family.inputs:
        sensors = spec.sensor_points()
        dimension(f, f"sensor_{spec.name}", len(sensors))
        dimension(f, f"sensor_{spec.name}_coord", sensors.shape[1])
        variable(f, f"sensors/{spec.name}", sensors, (f"sensor_{spec.name}", f"sensor_{spec.name}_coord"))
        variable(f, f"inputs/{spec.name}", None, ("sample", f"sensor_{spec.name}"), shape=(n, len(sensors)),
                 dtype="f8", chunks=(min(n, CHUNK), len(sensors)))
    dimension(f, "point", p)
    if problem.family.layout == "grid":
        axes = output_axes(problem, problem.family.points)
        names = input_axis_names(problem)
        for name, ax in zip(names, axes):
            dimension(f, name, ax)
        variable(f, "points", first.points, ("point", "coord"))
        grid = tuple(len(a) for a in axes)
        variable(f, "outputs", None, ("sample", *names, "field"), shape=(n, *grid, c), dtype="f8",
                 chunks=(min(n, CHUNK), *grid, c))
    else:
        variable(f, "points", None, ("sample", "point", "coord"), shape=(n, p, d), dtype="f8",
                 chunks=(min(n, CHUNK), p, d))
        variable(f, "outputs", None, ("sample", "point", "field"), shape=(n, p, c), dtype="f8",
                 chunks=(min(n, CHUNK), p, c))
    variable(f, "done", None, ("sample",), shape=(n,), dtype=bool)


def _write(f: Any, start: int, members: list[Member], layout: str) -> None:
    stop = start + len(members)
    for name in f["inputs"]:
        f["inputs"][name][start:stop] = np.stack([m.inputs[name] for m in members])
    if layout == "random":
        f["points"][start:stop] = np.stack([m.points for m in members])
    f["outputs"][start:stop] = np.stack([m.outputs for m in members]).reshape((stop - start,) + f["outputs"].shape[1:])
    f["done"][start:stop] = True
    f.flush()


class DatasetReader:
    """Read a generated data set lazily (nothing is loaded until asked for).

    ``reader[idx]`` returns ``{"inputs": {name: (k, m)}, "points": (k, P, d) or (P, d),
    "outputs": (k, P, c)}`` for an index array or slice; :meth:`batches` streams shuffled batches
    from disk, so data sets larger than memory train in place.
    """

    def __init__(self, path: str | Path):
        import h5py

        self.path = Path(path)
        if not self.path.is_file():
            raise ProblemError(f"data set {self.path} not found")
        try:
            self.file = h5py.File(self.path, "r")
            self.attrs = dict(self.file.attrs)
            self.names = sorted(self.file["inputs"])
            self.layout = str(self.attrs["layout"])
        except (OSError, KeyError) as exc:
            raise ProblemError(f"{self.path} is not a sciml data set: {exc}") from None
        version = int(self.attrs.get("generator_version", -1))
        if version != GENERATOR_VERSION:
            raise ProblemError(f"{self.path} was written by {'a newer' if version > GENERATOR_VERSION else 'an older'} "
                               f"sciml (generator version {version}, this one reads {GENERATOR_VERSION}): "
                               "generate it again with `sciml data generate`")

    def __len__(self) -> int:
        return int(self.file["outputs"].shape[0])

    @property
    def fields(self) -> list[str]:
        return json.loads(self.attrs["fields"])

    def sensors(self, name: str) -> np.ndarray:
        return self.file["sensors"][name][:]

    def __getitem__(self, idx: Any) -> dict[str, Any]:
        if isinstance(idx, np.ndarray):
            order = np.argsort(idx)  # h5py reads increasing indices; restore the caller's order
            inverse = np.empty_like(order)
            inverse[order] = np.arange(len(idx))
            got = self[np.asarray(idx)[order].tolist()]
            return {"inputs": {k: v[inverse] for k, v in got["inputs"].items()},
                    "points": got["points"] if self.layout == "grid" else got["points"][inverse],
                    "outputs": got["outputs"][inverse]}
        points = self.file["points"]
        outputs = self.file["outputs"][idx]  # the grid layout's (k, *grid, c) flattened to (k, P, c)
        spatial = self.file["outputs"].ndim - 2  # grid axes, or the one point axis
        return {"inputs": {k: self.file["inputs"][k][idx] for k in self.names},
                "points": points[:] if self.layout == "grid" else points[idx],
                "outputs": outputs.reshape(outputs.shape[:outputs.ndim - spatial - 1] + (-1, outputs.shape[-1]))}

    def batches(self, batch_size: int, rng: np.random.Generator | None = None,
                subset: np.ndarray | None = None) -> Iterator[dict[str, Any]]:
        """Batches of ``batch_size`` samples (shuffled when ``rng`` is given) over ``subset``
        (default: all samples)."""
        index = np.arange(len(self)) if subset is None else np.asarray(subset)
        if rng is not None:
            index = rng.permutation(index)
        for s in range(0, len(index), batch_size):
            yield self[index[s:s + batch_size]]

    def close(self) -> None:
        self.file.close()

    def __enter__(self) -> "DatasetReader":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
