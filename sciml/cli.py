"""The ``sciml`` command: solve, eval, list, validate, benchmark, simulate, train and data generate.

Exit codes: 0 success, 2 bad input (one line naming the file and key), 1 solver failure.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
import traceback
import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .errors import OutsideDomainWarning, ProblemError, SciMLError
from .io import atomic_write, check_writable, staged_folder, write_json

TRAINABLE = ("deeponet", "mgno", "dcdm", "hypino")  # `sciml train NAME`


def _load_points(path: str | None, width: int) -> np.ndarray | None:
    """The ``--points`` array, checked before any work: a real, finite ``(n, width)`` array."""
    if path is None:
        return None
    if not Path(path).is_file():
        raise ProblemError("--points: file not found", path)
    try:
        pts = np.load(path, allow_pickle=False)
    except Exception as exc:  # np.load raises many kinds (ValueError, EOFError, zip errors)
        raise ProblemError(f"--points: cannot read a .npy array: {type(exc).__name__}: {exc}", path) from None
    if not isinstance(pts, np.ndarray):
        pts.close()
        raise ProblemError("--points: expected one .npy array, got an .npz archive", path)
    if pts.dtype.kind not in "fiu":
        raise ProblemError(f"--points: expected real numbers, got an array of {pts.dtype}", path)
    if pts.ndim != 2 or pts.shape[1] != width or len(pts) == 0:
        raise ProblemError(f"--points: expected an array of shape (n, {width}) with n >= 1, got {pts.shape}", path)
    bad = ~np.isfinite(pts).all(axis=1)
    if bad.any():
        raise ProblemError(f"--points: {int(bad.sum())} row(s) hold NaN or infinity (first: row "
                           f"{int(np.flatnonzero(bad)[0])})", path)
    return pts.astype(float)


def _runtime_options(args: argparse.Namespace, problem: Any, out: Path) -> dict[str, Any]:
    """Options the command line gives a solver: device, progress bar, checkpoint and resume,
    for the solvers whose options have them."""
    from .config import option_names
    from .solvers import get_class

    known = option_names(get_class(args.solver).config_class)
    options: dict[str, Any] = {}
    if args.device:
        _check_device(args.device)
        if "device" in known:
            options["device"] = args.device
        elif args.device != "cpu":
            raise ProblemError(f"--device {args.device}: the {args.solver} solver runs on the CPU only")
    if getattr(args, "model", None):
        if "model" not in known:
            raise ProblemError(f"--model: solver {args.solver!r} takes no model file")
        if not Path(args.model).is_file():
            raise ProblemError("--model: file not found", args.model)
        options["model"] = args.model
    if args.quiet and "progress" in known:
        options["progress"] = False
    if "checkpoint" in known:
        if "checkpoint" not in problem.options_for(args.solver):
            options["checkpoint"] = str(out / "checkpoint.pt")
        options["resume"] = args.resume
    elif args.resume:
        raise ProblemError(f"solver {args.solver!r} does not train; --resume does not apply")
    if "metrics" in known and "metrics" not in problem.options_for(args.solver):
        options["metrics"] = str(out / "metrics.jsonl")
    if args.log == "tensorboard":
        if "tensorboard" not in known:
            raise ProblemError(f"--log tensorboard: solver {args.solver!r} does not train")
        options["tensorboard"] = str(out / "tensorboard")
    return options


def cmd_solve(args: argparse.Namespace) -> int:
    from .problems import load_problem
    from .runner import default_out, run
    from .solution import summary_line

    from .problems.family import member

    problem = member(load_problem(args.problem, args.set), args.seed)  # a family: one member (as run() does)
    points = _load_points(args.points, problem.input_dim)
    out = Path(args.out) if args.out else default_out(problem, args.solver)
    check_writable(out)
    options = _runtime_options(args, problem, out)
    sol, summary = run(problem, args.solver, options, seed=args.seed)
    from .nn import distributed

    if distributed.rank() != 0:  # under torchrun, process 0 writes the results
        return 0
    values = None
    if points is not None:
        values, outside, note = _values_at(sol, points, args.points)
        summary["points_outside"] = outside
        if note:
            summary["warnings"].append(note)
    with staged_folder(out) as tmp:
        files = sol.write_files(tmp, png=not args.no_png)
        if values is not None:
            files.append(atomic_write(tmp / "values.npy", lambda f: np.save(f, values)))
        tops = [p.relative_to(tmp).parts for p in files]  # a time series' steps/ is listed once
        summary["files"] = list(dict.fromkeys(t[0] + ("/" if len(t) > 1 else "") for t in tops)) + ["summary.json"]
        if "metrics" in options:  # written step by step during training, beside the checkpoint
            summary["files"].append("metrics.jsonl")
        write_json(tmp / "summary.json", summary)
    if not args.quiet:
        print(summary_line(summary))
        print(f"wrote {out}/ ({', '.join(summary['files'])})")
    return 0


def _values_at(sol: Any, points: np.ndarray, name: str) -> tuple[np.ndarray, int, str | None]:
    """The solution at ``--points``: values (NaN outside the domain or time interval), how many
    points lie outside, and the one warning line about them (given, and returned, when any)."""
    outside = sol.outside(points)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OutsideDomainWarning)
        values = sol(points)
    note = None
    if outside.any():
        note = (f"{int(outside.sum())} of {len(points)} points of {name} lie outside the domain"
                f"{' or the time interval' if sol.transient else ''}; their values are NaN")
        warnings.warn(note, OutsideDomainWarning)
    return values, int(outside.sum()), note


def cmd_eval(args: argparse.Namespace) -> int:
    from .solution import Solution

    folder = Path(args.folder)
    if not (folder / "solution.h5").is_file():
        raise ProblemError("not a results folder (no solution.h5 in it)", folder)
    sol = Solution.load(folder)
    points = _load_points(args.points, sol.dim + (1 if sol.transient else 0))
    out = Path(args.out) if args.out else folder / "values.npy"
    check_writable(out.parent)
    values = _values_at(sol, points, args.points)[0]
    atomic_write(out, lambda f: np.save(f, values))
    if not args.quiet:
        how = "the saved network" if (folder / "network.pt").is_file() else "interpolation of the stored values"
        print(f"wrote {out} ({values.shape[0]} x {values.shape[1]}: {', '.join(sol.fields)}; by {how})")
    return 0


def cmd_identifiability(args: argparse.Namespace) -> int:
    from .identifiability import describe, sensitivity
    from .problems import load_problem

    if args.noise is not None and not (0 < args.noise < 1):
        raise ProblemError(f"--noise: expected a relative noise in (0, 1), got {args.noise}")
    out = sensitivity(load_problem(args.problem, args.set), noise=args.noise)
    print(describe(out))
    return 0


def _check_device(device: str) -> None:
    """``--device cuda`` with no GPU is bad input for every command and solver alike."""
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise ProblemError("--device cuda: no CUDA device is available on this machine")


def cmd_list(args: argparse.Namespace) -> int:
    from .problems import load_problem
    from .shipped import problems_folder
    from .solvers import available
    from .solvers.base import accepted_types

    print("solvers:")
    for name, cls in available().items():
        print(f"  {name:<12} {cls.description}  [{', '.join(accepted_types(cls))}]")
    folder = Path(args.problems) if args.problems else problems_folder()
    if not folder.is_dir():
        raise ProblemError("--problems: no such folder", folder)
    print(f"problems ({folder}):")
    _list_folder(folder, load_problem)
    if (folder / "families").is_dir():
        print(f"problem families ({folder / 'families'}; sciml data generate / sciml train):")
        _list_folder(folder / "families", load_problem)
    return 0


def _list_folder(folder: Path, load_problem: Any) -> None:
    for path in sorted(folder.glob("*.toml")):
        try:
            p = load_problem(path)
            extra = "exact" if p.has_exact else "reference"
            if p.family is not None:
                extra = "inputs " + ", ".join(f"{i.name} ({type(i.distribution).__name__})" for i in p.family.inputs)
            print(f"  {path.name:<38} {p.pde.type:<21} {p.dim}D{' +t' if p.transient else ''}  {extra}")
        except ProblemError as exc:
            print(f"  {path.name:<38} INVALID: {exc}")


def cmd_validate(args: argparse.Namespace) -> int:
    from .validation import rewrite_report, run_suite

    check_writable(args.out)

    if args.report_only:
        failed = rewrite_report(Path(args.suite_file), Path(args.out), Path(args.peers) if args.peers else None)
        return 1 if failed else 0
    failed = run_suite(Path(args.suite_file), args.suite, args.solver or None, Path(args.out),
                       quiet=args.quiet, problems=args.problem or None, device=args.device,
                       peers=Path(args.peers) if args.peers else None, jobs=args.jobs)
    return 1 if failed else 0


def _key_values(items: list[str]) -> dict[str, Any]:
    """``--set KEY=VALUE`` items as options (values parsed as TOML values where they parse)."""
    from .problems.loader import parse_value

    options = {}
    for item in items:
        if "=" not in item:
            raise ProblemError(f"--set expects KEY=VALUE, got {item!r}")
        key, value = item.split("=", 1)
        options[key.strip()] = parse_value(value.strip())
    return options


def cmd_benchmark(args: argparse.Namespace) -> int:
    from .bench import run_benchmark

    check_writable(args.out)
    extra: dict[str, Any] = {}
    if args.set or args.only or args.jobs != 1 or args.tag or args.solver:
        extra = {"options": _key_values(args.set), "only": args.only or None, "jobs": args.jobs}
        if args.tag:
            extra["tag"] = args.tag
        if args.solver:
            extra["solvers"] = args.solver
    return run_benchmark(args.name, Path(args.out), args.budget, quiet=args.quiet, **extra)


def cmd_simulate(args: argparse.Namespace) -> int:
    from .sim import SmokeConfig, run_smoke

    cfg = SmokeConfig(n=args.n, dim=args.dim, steps=args.steps, pressure_solver=args.pressure_solver,
                      rtol=args.rtol, model=args.model, frames=args.frames, warm_start=not args.cold_start)
    out = Path(args.out or f"out/smoke/{args.pressure_solver}")
    check_writable(out)
    start = time.perf_counter()
    result = run_smoke(cfg, out, progress=not args.quiet)
    if not args.quiet:
        its = [r.iterations for r in result.records]
        print(f"smoke {cfg.n}^{cfg.dim}, {cfg.steps} steps with {cfg.pressure_solver}: {time.perf_counter() - start:.1f} s, "
              f"pressure solves {result.total_solve_s:.2f} s, iterations mean {sum(its) / len(its):.1f} "
              f"(max {max(its)}); wrote {out}")
    return 0


def cmd_data_generate(args: argparse.Namespace) -> int:
    from .data.dataset import generate

    start = time.perf_counter()
    out = generate(args.family, args.n, args.out, seed=args.seed, workers=args.workers, overrides=args.set,
                   progress=False if args.quiet else None)
    if not args.quiet:
        print(f"wrote {out} ({args.n} samples, {time.perf_counter() - start:.1f} s)")
    return 0


def cmd_data_hypino_bank(args: argparse.Namespace) -> int:
    from .data.pde_samples import SampleConfig
    from .data.dataset import default_workers
    from .data.reference_samples import write_bank
    from .nn.trainer import show_progress

    check_writable(Path(args.out).parent)
    start = time.perf_counter()
    out = write_bank(args.out, args.n, SampleConfig(grid=args.grid, source_freq=args.source_freq), seed=args.seed,
                     workers=args.workers or default_workers(), progress=not args.quiet and show_progress(None))
    if not args.quiet:
        print(f"wrote {out} ({args.n} problems, {time.perf_counter() - start:.1f} s)")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from .config import build_config
    from .problems import load_problem
    from .shipped import find_problem
    from .solvers import get_class

    solver = get_class(args.method)
    out = Path(args.out)
    if out.is_dir():
        raise ProblemError("--out names a folder; give the model file to write", out)
    check_writable(out.parent)
    checkpoint = out.with_name(out.stem + ".ckpt.pt")
    if args.resume:  # before any data is built: a missing or unreadable checkpoint is bad input
        from .nn.modelfile import load_file

        load_file(checkpoint, "checkpoint (to resume from)")
    source = Path(args.data) if args.data else None
    options: dict[str, Any] = {}
    if source is None:
        if getattr(solver, "trains_on_data", True):
            raise ProblemError(f"sciml train {args.method} needs a data set or a family file")
        data = None
    elif source.suffix == ".toml" or (not source.exists() and find_problem(str(source)) is not None):
        family = load_problem(source)
        if family.family is None:
            raise ProblemError("not a problem family (no [family] section)", source)
        options.update(family.options_for(args.method))
        data = out.with_name(out.stem + ".data.h5")
        if not data.exists():
            if not args.n:
                raise ProblemError("training from a family file needs --n (samples to generate)")
            from .data.dataset import generate

            generate(source, args.n, data, progress=False if args.quiet else None)
    else:
        data = source
    options.update(_key_values(args.set))
    options.update({"checkpoint": str(checkpoint), "resume": args.resume,
                    "metrics": str(out.with_name(out.stem + ".metrics.jsonl"))})
    if args.log == "tensorboard":
        options["tensorboard"] = str(out.with_name(out.stem + ".tensorboard"))
    if args.device:
        _check_device(args.device)
        options["device"] = args.device
    if args.quiet:
        options["progress"] = False
    cfg = build_config(getattr(solver, "train_config_class", solver.config_class), options, "train", None)
    record = solver.train_model(data, cfg, out)
    if not args.quiet:
        print(solver.summary(record))
        print(f"wrote {out}")
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse with the CLI's contract for bad arguments: one line, exit code 2."""

    def error(self, message: str) -> Any:
        print(f"error: {self.prog}: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(2)


def _count(least: int) -> Any:
    """An argparse type: an integer of at least ``least``."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"must be at least {least}, got {value}")
        return value
    return parse


def _seed(text: str) -> int:
    """An argparse type: a seed NumPy and torch both accept, 0 <= seed < 2**32."""
    value = _count(0)(text)
    if value >= 2**32:
        raise argparse.ArgumentTypeError(f"must be below 2**32, got {value}")
    return value


def _positive(text: str) -> float:
    """An argparse type: a finite number above zero."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number above 0, got {text}")
    return value


def _version() -> str:
    from . import __version__

    return __version__


def build_parser() -> argparse.ArgumentParser:
    from .shipped import suite_file

    common = _Parser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="print the traceback of an error")
    common.add_argument("--plugin", action="append", default=argparse.SUPPRESS, metavar="FILE.py",
                        help="import a Python file first: it may register PDE types or solvers (docs/pdes.md)")
    parser = _Parser(prog="sciml", description=__doc__.splitlines()[0], parents=[common])
    parser.add_argument("--version", action="version", version=f"sciml {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    add_parser = sub.add_parser

    def with_common(*a: Any, **k: Any) -> Any:
        return add_parser(*a, parents=[common], **k)

    sub.add_parser = with_common  # type: ignore[method-assign]

    s = sub.add_parser("solve", help="solve a problem file")
    s.add_argument("problem", help="problem file (TOML), or the name of a shipped problem (`sciml list`)")
    s.add_argument("--solver", default="reference", help="solver name (see `sciml list`)")
    s.add_argument("--out", help="output folder (default out/<problem>/<solver>)")
    s.add_argument("--points", help=".npy array of points (n, d[+1]) to evaluate at -> values.npy")
    s.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a problem-file key by dotted path (repeatable)")
    s.add_argument("--seed", type=_seed, default=0,
                   help="seed of every random generator, 0 <= N < 2**32; for a family file also the member drawn")
    s.add_argument("--device", choices=("cpu", "cuda"), help="device for torch solvers")
    s.add_argument("--resume", action="store_true",
                   help="continue training from DIR/checkpoint.pt (written by every training run)")
    s.add_argument("--model", help="a trained model file (deeponet, mgno, hypino, dcdm)")
    s.add_argument("--no-png", action="store_true", help="skip the picture")
    s.add_argument("--log", choices=("tensorboard",),
                   help="also log every training step for TensorBoard into OUT/tensorboard (every step always goes "
                        "to OUT/metrics.jsonl); needs the tensorboard extra")
    s.add_argument("--threads", type=_count(1), help="torch CPU threads (default: OMP_NUM_THREADS, else 1)")
    s.add_argument("--quiet", action="store_true", help="print nothing on success")
    s.set_defaults(func=cmd_solve)

    e = sub.add_parser("eval", help="evaluate a saved solution at points, without solving again",
                       description="Evaluate the solution in FOLDER (written by `sciml solve`) at the points of a "
                                   ".npy array: a network solver's saved network (network.pt) itself, otherwise "
                                   "the stored values interpolated. Points outside the domain get NaN.")
    e.add_argument("folder", help="results folder of `sciml solve` (holds solution.h5)")
    e.add_argument("--points", required=True,
                   help=".npy array (n, d) of points, a last column t for time-dependent problems")
    e.add_argument("--out", help=".npy file for the values (n, fields) (default FOLDER/values.npy)")
    e.add_argument("--threads", type=_count(1), help="torch CPU threads (default: OMP_NUM_THREADS, else 1)")
    e.add_argument("--quiet", action="store_true", help="print nothing on success")
    e.set_defaults(func=cmd_eval)

    idf = sub.add_parser("identifiability", help="how well an inverse problem's observations fix its unknowns",
                         description="Linearise the map from the scalar [inverse] unknowns to the observations with "
                                     "the SciPy reference at the true [parameters]: its singular values, the "
                                     "accuracy a solver's field needs for 1%% on every unknown, and the "
                                     "Cramer-Rao bound at a given noise (docs/inverse.md).")
    idf.add_argument("problem", help="problem file with an [inverse] section, or a shipped problem name")
    idf.add_argument("--noise", type=float, help="relative noise for the bound (default: the file's, else 0.01)")
    idf.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                     help="override a problem-file key by dotted path (repeatable)")
    idf.set_defaults(func=cmd_identifiability)

    ls = sub.add_parser("list", help="list solvers and shipped problems")
    ls.add_argument("--problems", help="folder of problem files (default: the shipped ones)")
    ls.set_defaults(func=cmd_list)

    v = sub.add_parser("validate", help="run the validation suite and write REPORT.md")
    v.add_argument("--suite", choices=("quick", "full"), default="quick",
                   help="quick: every solver on tiny budgets (minutes); full: every supported pair (about 75 min)")
    v.add_argument("--solver", action="append", help="only cases of this solver (repeatable)")
    v.add_argument("--problem", action="append",
                   help="only cases of this problem, by file stem (repeatable); other rows of an "
                        "earlier run of the suite are kept")
    v.add_argument("--suite-file", default=str(suite_file("validation")),
                   help="the TOML file of cases (default: the shipped suite)")
    v.add_argument("--out", default=str(Path("out") / "validation"),
                   help="folder for REPORT.md and results.json (default ./out/validation; the committed "
                        "report is written with --out validation)")
    v.add_argument("--threads", type=_count(1), help="torch CPU threads (default: OMP_NUM_THREADS, else 1)")
    v.add_argument("--device", choices=("cpu", "cuda"), help="device of the torch solvers (the report says where it ran)")
    v.add_argument("--jobs", type=_count(1), default=1,
                   help="cases run at a time, each in its own process (at most cores / threads)")
    v.add_argument("--peers", default="",
                   help="JSON of `sciml benchmark peers` whose peer curves join the accuracy-vs-time panels "
                        "(the committed report uses docs/benchmarks/peers.json; default: none)")
    v.add_argument("--report-only", action="store_true",
                   help="run nothing: write REPORT.md and pareto.png again from OUT/results.json "
                        "(notes from the suite file, curves from --peers)")
    v.add_argument("--quiet", action="store_true", help="print nothing but errors")
    v.set_defaults(func=cmd_validate)

    from .bench import BENCHMARKS

    b = sub.add_parser("benchmark", help="side-by-side benchmarks against peers",
                       description="benchmarks: " + "; ".join(f"{k}: {v}" for k, v in BENCHMARKS.items()))
    b.add_argument("name", help=f"benchmark ({', '.join(BENCHMARKS)})")
    b.add_argument("--budget", type=_positive, help="wall-clock seconds per solver (default: the benchmark's)")
    b.add_argument("--out", default=str(Path("out") / "benchmarks"),
                   help="folder for the page, JSON and plot (default ./out/benchmarks; the committed pages are "
                        "written with --out docs/benchmarks)")
    b.add_argument("--threads", type=_count(1), help="torch CPU threads (default: OMP_NUM_THREADS, else 1)")
    b.add_argument("--quiet", action="store_true", help="print nothing but errors")
    b.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="robust: a solver option for every case, e.g. --set hard_bc=false (repeatable); "
                        "hypino, linear: --set model=FILE, the model file to benchmark")
    b.add_argument("--only", action="append", default=[], metavar="PROBLEM",
                   help="robust, inverse: run only this problem / case (repeatable)")
    b.add_argument("--solver", action="append", default=[], metavar="NAME",
                   help="robust: run only this solver (pinn or pig; repeatable), for an ablation of a feature "
                        "only one of them uses")
    b.add_argument("--jobs", type=_count(1), default=1, help="robust, inverse: cases run at once, one thread each")
    b.add_argument("--tag", help="robust, inverse: name of the written files (default: the benchmark's name)")
    b.set_defaults(func=cmd_benchmark)

    m = sub.add_parser("simulate", help="simulation loops with a chosen pressure solver",
                       description="sciml simulate smoke: a smoke plume on a MAC grid around obstacles in 2D or 3D "
                                   "(one moves, so the pressure matrix changes every step); writes steps.csv, "
                                   "summary.json, PNG frames and smoke.gif (docs/deep-cg.md)")
    m.add_argument("scene", choices=("smoke",), help="the simulation (smoke: a plume around a moving obstacle)")
    m.add_argument("--n", type=_count(8), default=128, help="cells per axis")
    m.add_argument("--dim", type=int, choices=(2, 3), default=2, help="2 (discs) or 3 (balls; try --n 64)")
    m.add_argument("--steps", type=_count(1), default=100, help="time steps")
    m.add_argument("--pressure-solver", default="dcdm", choices=("dcdm", "cg", "ic0", "amg", "direct"),
                   help="linear solver of the pressure systems (docs/deep-cg.md)")
    m.add_argument("--rtol", type=_positive, default=1e-6, help="relative residual at which a pressure solve stops")
    m.add_argument("--model", help="DCDM model file (default: the shipped one)")
    m.add_argument("--frames", type=_count(0), default=20, help="PNG frames (and GIF) over the run; 0 for none")
    m.add_argument("--cold-start", action="store_true", help="start every solve from zero")
    m.add_argument("--out", help="output folder (default out/smoke/<solver>)")
    m.add_argument("--threads", type=_count(1), help="torch CPU threads (default: OMP_NUM_THREADS, else 1)")
    m.add_argument("--quiet", action="store_true", help="print nothing but errors")
    m.set_defaults(func=cmd_simulate)

    t = sub.add_parser("train", help="train an operator learner on a family or a data set, or the DCDM network",
                       description="Train an operator learner (deeponet, mgno) or the deep conjugate direction "
                                   "network (dcdm). DATA is an HDF5 data set (sciml data generate) or a family file, "
                                   "whose data are generated first into OUT's folder (--n); dcdm builds its own data "
                                   "from the pressure matrix and takes none.")
    t.add_argument("method", choices=TRAINABLE, help="what to train")
    t.add_argument("data", nargs="?", help="data set (.h5), family file (.toml) or shipped family name; none for dcdm")
    t.add_argument("--out", required=True, help="model file to write (checkpoints beside it)")
    t.add_argument("--n", type=_count(1), help="samples to generate from a family file")
    t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="a training option, e.g. adam_steps=50000 (see docs/solvers/NAME.md)")
    t.add_argument("--resume", action="store_true", help="continue from the checkpoint beside OUT")
    t.add_argument("--log", choices=("tensorboard",),
                   help="also log every step for TensorBoard into OUT's stem + .tensorboard/ (every step always goes "
                        "to OUT's stem + .metrics.jsonl); needs the tensorboard extra")
    t.add_argument("--device", choices=("cpu", "cuda"), help="where to train (cuda: refused without a GPU)")
    t.add_argument("--threads", type=_count(1), help="torch CPU threads (default: OMP_NUM_THREADS, else 1)")
    t.add_argument("--quiet", action="store_true", help="no progress bar; print nothing but errors")
    t.set_defaults(func=cmd_train)

    d = sub.add_parser("data", help="operator-learning data sets")
    dsub = d.add_subparsers(dest="data_command", required=True)
    g = dsub.add_parser("generate", help="solve N members of a problem family into an HDF5 file",
                        description="Draw N members of a problem family ([family] section), solve each with "
                                    "the SciPy reference in parallel processes and write HDF5 (docs/data.md). "
                                    "An interrupted run resumes from OUT.partial.")
    g.add_argument("family", help="family file (TOML with [family.inputs.NAME] tables) or shipped family name")
    g.add_argument("--n", type=_count(1), required=True, help="number of samples")
    g.add_argument("--out", required=True, help="HDF5 file to write")
    g.add_argument("--seed", type=_seed, help="seed (default: the family's)")
    g.add_argument("--workers", type=_count(1), help="processes (default: CPU count, at most 8)")
    g.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a family-file key by dotted path (repeatable)")
    g.add_argument("--quiet", action="store_true", help="no progress bar; print nothing but errors")
    g.set_defaults(func=cmd_data_generate)
    hb = dsub.add_parser("hypino-bank", help="solve N random problems of the HyPINO benchmark classes for training",
                         description="Draw N random problems (elliptic with holes or on L-shapes, heat and wave in "
                                     "space-time; sciml/data/reference_samples.py), solve each with the SciPy "
                                     "reference and write the bank file that `sciml train hypino --set "
                                     "reference_bank=FILE` draws from.")
    hb.add_argument("--n", type=_count(1), required=True, help="number of problems")
    hb.add_argument("--out", required=True, help="HDF5 file to write")
    hb.add_argument("--seed", type=_seed, default=0, help="seed (default 0)")
    hb.add_argument("--grid", type=_count(8), default=64, help="encoding grid, as the model's (default 64)")
    hb.add_argument("--source-freq", type=_positive, default=3.0,
                    help="largest wave number of the random smooth sources, in multiples of pi per axis "
                         "(default 3; the shipped model's bank)")
    hb.add_argument("--workers", type=_count(1), help="processes (default: CPU count, at most 8)")
    hb.add_argument("--quiet", action="store_true", help="no progress bar; print nothing but errors")
    hb.set_defaults(func=cmd_data_hypino_bank)
    return parser


def _set_threads(threads: int | None) -> None:
    """torch threads: ``--threads``, else ``OMP_NUM_THREADS``, else 1 (on small shared CPUs
    more threads make small models many times slower; see docs/training.md)."""
    import torch

    if threads is not None:
        torch.set_num_threads(threads)
    elif "OMP_NUM_THREADS" not in os.environ:
        torch.set_num_threads(1)


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _show_warning(message: Any, category: type, filename: str, lineno: int, file: Any = None,
                  line: str | None = None) -> None:
    print(f"warning: {_one_line(message)}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``sciml`` command; returns the exit code: 0 success, 2 bad input,
    1 a failure. Errors are one line; ``--debug`` adds the traceback."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, or a bad argument (one line printed, code 2)
        return int(exc.code or 0)
    debug = getattr(args, "debug", False)
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        try:
            if hasattr(args, "threads"):
                _set_threads(args.threads)
            for plugin in getattr(args, "plugin", []):
                from .plugins import load_file

                load_file(plugin)
            return args.func(args)
        except SciMLError as exc:
            if debug:
                traceback.print_exc()
            print(f"error: {_one_line(exc)}", file=sys.stderr)
            return exc.exit_code
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return 130
        except BrokenPipeError:  # the reader of our output went away (`sciml list | head`)
            sys.stdout = open(os.devnull, "w")
            return 0
        except Exception as exc:  # the last line of defence: every known failure has its own message
            if debug:
                traceback.print_exc()
            print(f"internal error: {type(exc).__name__}: {_one_line(exc)[:300]}; rerun with --debug for the "
                  "traceback", file=sys.stderr)
            return 1


if __name__ == "__main__":
    sys.exit(main())
