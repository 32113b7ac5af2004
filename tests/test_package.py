"""The wheel is the product: built from this checkout, installed into a fresh virtual
environment and used from an empty folder it finds its shipped problems, solves one by name and
runs a validation case (the package issue: a wheel once held only the code)."""

import json
import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = 600) -> str:
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{cmd}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(ROOT)],
         ROOT, dict(os.environ))
    (path,) = out.glob("sciml_suite-*.whl")
    return path


def test_wheel_holds_the_shipped_files(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "sciml/shipped/problems/poisson-lshape.toml" in names
    assert "sciml/shipped/problems/families/darcy-pwc.toml" in names
    assert "sciml/shipped/meshes/lshape.msh" in names
    assert "sciml/shipped/suites/validation.toml" in names
    assert "sciml/weights/dcdm-2d.pt" in names
    shipped = {p.relative_to(ROOT / "sciml").as_posix() for p in (ROOT / "sciml" / "shipped").rglob("*")
               if p.is_file() and "__pycache__" not in p.parts}
    assert {f"sciml/{p}" for p in shipped} <= names


def test_installed_wheel_works_from_an_empty_folder(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)  # this pip installs into it (--python): nothing shadows the deps
    python = env_dir / "bin" / "python"
    # the dependencies come from this environment's site-packages (a path entry, whose own .pth
    # files, such as this checkout's editable install, are not processed); sciml from the wheel
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                     tmp_path, dict(os.environ)).strip())
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["OMP_NUM_THREADS"] = "1"
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-index", str(wheel)],
         tmp_path, env)
    work = tmp_path / "empty"
    work.mkdir()
    where = _run([str(python), "-c", "import sciml; print(sciml.__file__)"], work, env)
    assert Path(where.strip()).is_relative_to(env_dir)
    sciml = str(env_dir / "bin" / "sciml")
    listing = _run([sciml, "list"], work, env)
    assert "poisson-lshape.toml" in listing and "darcy-pwc.toml" in listing
    _run([sciml, "solve", "poisson-lshape", "--no-png", "--quiet"], work, env)
    summary = json.loads((work / "out" / "poisson-lshape" / "reference" / "summary.json").read_text())
    assert summary["problem"] == "poisson-lshape"
    _run([sciml, "validate", "--problem", "poisson-square", "--solver", "reference", "--quiet"], work, env)
    rows = json.loads((work / "out" / "validation" / "results.json").read_text())["results"]
    assert rows and all(r["status"] == "pass" for r in rows)
    assert sorted(p.name for p in work.iterdir()) == ["out"]
