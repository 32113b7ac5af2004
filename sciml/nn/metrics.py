"""Where the :class:`~sciml.nn.trainer.Trainer` logs every step: a JSON-lines file (one record
per optimisation step: phase, step, loss, every loss term, learning rate and training seconds;
complete, not thinned) and, optionally, TensorBoard event files (the ``tensorboard`` extra).

>>> import json, tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "metrics.jsonl"
>>> log = MetricsLog(path)
>>> log.write({"step": 0, "phase": "adam", "loss": 1.5, "lr": 1e-3, "t": 0.01})
>>> log.close()
>>> json.loads(path.read_text())["loss"]
1.5
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Mapping

from ..errors import ProblemError


class MetricsLog:
    """Append step records to ``path`` as JSON lines. With ``keep_below`` (a resumed run) the
    records of steps at or after it, written by the interrupted run after its checkpoint, are
    dropped first, so the file holds each step once."""

    def __init__(self, path: str | Path, keep_below: int | None = None):
        self.path = Path(path)
        lines: list[str] = []
        if keep_below is not None and self.path.is_file():
            for line in self.path.read_text().splitlines():
                try:
                    if json.loads(line)["step"] < keep_below:
                        lines.append(line)
                except (ValueError, KeyError, TypeError):
                    break  # a line cut short by the interruption ends what is kept
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("w")
        self._file.writelines(line + "\n" for line in lines)

    def write(self, record: Mapping[str, Any]) -> None:
        clean = {k: (v if not isinstance(v, float) or math.isfinite(v) else None) for k, v in record.items()}
        self._file.write(json.dumps(clean) + "\n")

    def close(self) -> None:
        self._file.close()


class TensorBoardLog:
    """Scalars of every step (``loss``, ``lr`` and each term under ``terms/``) as TensorBoard
    event files in ``folder``."""

    def __init__(self, folder: str | Path):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise ProblemError("TensorBoard logging needs the tensorboard package: "
                               "pip install 'sciml-suite[tensorboard]'") from None
        self._writer = SummaryWriter(log_dir=str(folder))

    def write(self, record: Mapping[str, Any]) -> None:
        step = int(record["step"])
        for key, value in record.items():
            if key in ("step", "phase", "t") or not isinstance(value, (int, float)):
                continue
            self._writer.add_scalar(key if key in ("loss", "lr") else f"terms/{key}", value, step,
                                    walltime=None)

    def close(self) -> None:
        self._writer.close()


def open_sinks(metrics: str | None, tensorboard: str | None, keep_below: int | None = None) -> list[Any]:
    """The logs a config asks for (none on processes other than rank 0 under ``torchrun``)."""
    from . import distributed

    if distributed.rank() != 0:
        return []
    sinks: list[Any] = []
    if metrics:
        sinks.append(MetricsLog(metrics, keep_below))
    if tensorboard:
        sinks.append(TensorBoardLog(tensorboard))
    return sinks
