"""Files shipped inside the package: the problems and families (``problems/``), their meshes
(``meshes/``) and the validation and benchmark suites (``suites/``).

They are found through :mod:`importlib.resources`, so an installed wheel has them as well as a
checkout. A shipped problem is named by its file's stem: ``sciml solve poisson-lshape``.

>>> find_problem("poisson-lshape").name
'poisson-lshape.toml'
>>> "darcy-pwc" in problem_names()
True
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def root() -> Path:
    """The folder of the shipped files (packages install unzipped, so it is a real folder)."""
    return Path(str(files(__name__)))


def problems_folder() -> Path:
    """The shipped problems (families in its ``families/`` subfolder)."""
    return root() / "problems"


def suite_file(name: str) -> Path:
    """A shipped suite: ``validation`` (the cases of ``sciml validate``)."""
    return root() / "suites" / f"{name}.toml"


def suite_folder(name: str) -> Path:
    """A shipped folder of benchmark problems, e.g. ``robust`` (the development set)."""
    return root() / "suites" / name


def _candidates() -> list[Path]:
    folder = problems_folder()
    return sorted(folder.glob("*.toml")) + sorted((folder / "families").glob("*.toml"))


def problem_names() -> list[str]:
    """Names of the shipped problems and families."""
    return [p.stem for p in _candidates()]


def find_problem(name: str) -> Path | None:
    """The shipped problem or family called ``name`` (with or without ``.toml``), else None."""
    stem = name[:-5] if name.endswith(".toml") else name
    if not stem or "/" in stem or "\\" in stem:
        return None
    for path in _candidates():
        if path.stem == stem:
            return path
    return None
