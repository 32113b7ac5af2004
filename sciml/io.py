"""Atomic file output: write under a temporary name in the same folder, then rename, so no
half-written file is ever left where a result is expected."""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from .errors import ProblemError, SciMLError


def atomic_write(path: str | os.PathLike, write: Callable[[Path], Any]) -> Path:
    """Call ``write(tmp)`` and rename ``tmp`` onto ``path``; the temporary file is removed on
    failure. Returns ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Atomically write ``text``."""
    return atomic_write(path, lambda tmp: tmp.write_text(text))


def strict(data: Any) -> Any:
    """``data`` with every non-finite float replaced by None (JSON has no NaN or Infinity), so
    that strict parsers read it; tuples become lists."""
    if isinstance(data, float):
        return data if math.isfinite(data) else None
    if isinstance(data, dict):
        return {k: strict(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [strict(v) for v in data]
    return data


def write_json(path: str | os.PathLike, data: Any) -> Path:
    """Atomically write ``data`` as indented, strict JSON: non-finite floats (a diverged loss
    in a training history) become null, other non-JSON values go through ``str``."""
    return write_text(path, json.dumps(strict(data), indent=2, default=str, allow_nan=False) + "\n")


def check_writable(folder: str | os.PathLike, what: str = "--out") -> None:
    """Refuse (bad input) an output folder that is a file, lies under a file, or cannot be
    written, before any work is done; nothing is created."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ProblemError(f"{what} names an existing file, not a folder", folder)
    base = folder
    while not base.exists():
        base = base.parent
    if not base.is_dir():
        raise ProblemError(f"{what}: {base} is a file, not a folder", folder)
    try:
        with tempfile.TemporaryFile(dir=base):
            pass
    except OSError as exc:
        raise ProblemError(f"{what} cannot be written: {exc.strerror or exc}", folder) from None


@contextmanager
def staged_folder(target: str | os.PathLike) -> Iterator[Path]:
    """A temporary folder beside ``target`` to write results into; when the block succeeds its
    files move into ``target`` (created if needed), otherwise it is removed with every folder
    this call created, so a failure (a full disk included) leaves no new file.

    Raises
    ------
    SciMLError
        (exit code 1) when the files cannot be written.
    """
    target = Path(target)
    existing = target
    while not existing.exists():
        existing = existing.parent
    made: list[Path] = []
    tmp: Path | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        made = [p for p in [target.parent, *target.parent.parents] if p.is_relative_to(existing) and p != existing]
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
        yield tmp
        target.mkdir(exist_ok=True)
        for path in sorted(tmp.iterdir()):
            if path.is_dir() and (target / path.name).is_dir():  # a folder of results (a time
                shutil.rmtree(target / path.name)  # series' steps) replaces the earlier run's whole
            os.replace(path, target / path.name)
    except OSError as exc:
        raise SciMLError(f"cannot write the results to {target}: {exc.strerror or exc}; nothing was written") from None
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        if not target.exists():
            for folder in made:  # deepest first
                try:
                    folder.rmdir()
                except OSError:
                    break
