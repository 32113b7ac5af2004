"""What every operator learner (DeepONet, MgNO) shares: data-set splits, error metrics, finding
model files and the answer to one family member.

An operator learner's model file (:mod:`sciml.nn.modelfile`) also holds ``meta`` (the family,
its inputs and sensors, the data set) and a ``test`` record. Pretrained files ship in
``sciml/weights`` with the recipe that made them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..errors import ProblemError
from ..nn.modelfile import WEIGHTS
from ..problems import Problem
from .base import TrainedSolver



@dataclass
class OperatorData:
    """Arrays of one split of a data set: inputs at the sensors (all inputs concatenated, in
    the order of ``meta["inputs"]``), output locations and outputs."""

    u: np.ndarray
    y: np.ndarray
    s: np.ndarray


def _describe(reader: Any, path: str | Path) -> dict[str, Any]:
    return {"family": str(reader.attrs["family"]), "problem": str(reader.attrs["problem"]), "inputs": reader.names,
            "sensors": {k: reader.sensors(k).tolist() for k in reader.names}, "fields": reader.fields,
            "layout": reader.layout, "input_dim": int(reader.attrs["input_dim"]), "data": str(path),
            "samples": len(reader), "periodic_axes": json.loads(reader.attrs.get("periodic_axes", "[]"))}


def load_split(path: str | Path, n_train: int, n_test: int = 0) -> tuple[OperatorData, OperatorData, dict[str, Any]]:
    """The first ``n_train`` samples, the next ``n_test`` (0: all the rest) and the data set's
    description (``meta``). ``n_train = 0`` puts every sample in the second split."""
    from ..data.dataset import DatasetReader

    with DatasetReader(path) as r:
        n = len(r)
        if n_train >= n:
            raise ProblemError(f"{path} has {n} samples; n_train = {n_train} leaves none to test")
        stop = n if n_test == 0 else min(n, n_train + n_test)
        everything = r[slice(0, stop)]
        u = np.concatenate([everything["inputs"][k] for k in r.names], axis=1)
        meta = _describe(r, path)
    y, s = everything["points"], everything["outputs"]

    def part(sl: slice) -> OperatorData:
        return OperatorData(u[sl], y if y.ndim == 2 else y[sl], s[sl])

    return part(slice(0, n_train)), part(slice(n_train, stop)), meta


def error_metrics(pred: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """MSE, MSE without the worst 0.1% of squared errors (the DeepONet code's "w/o outliers"),
    the relative L2 error over everything and the mean of the per-sample relative L2 errors
    (the FNO/MgNO papers' metric) of ``pred`` against ``truth`` ``(N, ...)``."""
    err = ((pred - truth) ** 2).ravel()
    trimmed = np.sort(err)[: len(err) - len(err) // 1000]
    n = len(truth)
    diff, ref = (pred - truth).reshape(n, -1), truth.reshape(n, -1)
    per_sample = np.linalg.norm(diff, axis=1) / np.maximum(np.linalg.norm(ref, axis=1), 1e-300)
    return {"mse": float(err.mean()), "mse_trimmed": float(trimmed.mean()),
            "rel_l2": float(np.linalg.norm(pred - truth) / (np.linalg.norm(truth) or 1.0)),
            "rel_l2_mean": float(per_sample.mean())}


def resolve_model(name: str, problem: Problem) -> Path:
    """A model file by path (as given, then beside the problem file), or by name among the
    pretrained models shipped in ``sciml/weights``."""
    for candidate in (Path(name), *([problem.source.parent / name] if problem.source else []), WEIGHTS / name):
        if candidate.is_file():
            return candidate
    raise ProblemError(f"model file {name} not found (also looked beside the problem file and in {WEIGHTS})")


class OperatorSolver(TrainedSolver):
    """Base of the operator learners: ``solve`` answers one member of the family a model was
    trained on (the ``model`` option, ``sciml solve --model``); :meth:`train_model` (``sciml
    train NAME``) fits a model to a data set and writes the model file."""

    method_summary: ClassVar[str] = ""

    @classmethod
    def train_model(cls, data: str | Path, cfg: Any, out: str | Path | None = None,
                    callback: Any = None) -> dict[str, Any]:  # pragma: no cover - abstract
        """Train on the data set ``data`` with options ``cfg``; returns the saved record."""
        raise NotImplementedError

    @classmethod
    def summary(cls, record: dict[str, Any]) -> str:
        """One line about a training run for the command line."""
        t, tr = record["test"], record["train"]
        return (f"{cls.name} on {record['meta']['data']}: {record['n_params']:,} weights, {tr['adam_steps']:,} "
                f"iterations in {tr['train_s']:.0f} s; test rel L2 {t['rel_l2']:.3e} (mean per sample "
                f"{t['rel_l2_mean']:.3e}), MSE {t['mse']:.3e} on {t['n']} samples")

    def model_file(self, problem: Problem, cfg: Any) -> Path:
        if not cfg.model:
            raise ProblemError(f"{self.name} answers with a trained model: pass --model MODEL.pt (train one "
                               f"with `sciml train {self.name} FAMILY.toml --n N`)")
        return resolve_model(cfg.model, problem)

    @staticmethod
    def member_inputs(problem: Problem, meta: dict[str, Any], model: str, any_resolution: bool = False
                      ) -> dict[str, np.ndarray]:
        """The member's input functions at its sensors, after checking that ``problem`` is a
        member of the family the model was trained on (same inputs, fields and sensors; with
        ``any_resolution``, sensor grids of any size over the same box)."""
        family = problem.family
        if family is None or family.drawn is None:
            raise ProblemError(f"{problem.name} is not a member of a problem family; the model answers members "
                               f"of the family it was trained on ({meta['problem']})")
        names = sorted(i.name for i in family.inputs)
        if family.of != meta["problem"] or names != meta["inputs"] or list(problem.fields) != meta["fields"]:
            raise ProblemError(f"model {model} was trained on the family {meta['problem']!r} (inputs "
                               f"{meta['inputs']}, fields {meta['fields']}); this problem is {problem.name!r} "
                               f"(a member of {family.of!r}, inputs {names}, fields {list(problem.fields)})")
        out = {}
        for spec in sorted(family.inputs, key=lambda i: i.name):
            sensors = spec.sensor_points()
            trained = np.asarray(meta["sensors"][spec.name])
            if any_resolution:
                same = np.allclose([sensors.min(0), sensors.max(0)], [trained.min(0), trained.max(0)])
            else:
                same = sensors.shape == trained.shape and np.allclose(sensors, trained)
            if not same:
                raise ProblemError(f"the sensors of input {spec.name!r} differ from the model's "
                                   f"({len(sensors)} vs {len(trained)} points)")
            out[spec.name] = np.asarray(family.drawn[spec.name](*sensors.T), dtype=float)
        return out
