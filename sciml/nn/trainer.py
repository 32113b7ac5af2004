"""The training loop every neural solver shares: Adam, then optional L-BFGS.

The loop owns what users of physics-informed and operator solvers expect from one place:
learning-rate schedules, a progress bar with the loss terms, a NaN/divergence guard that stops
and keeps the best state, checkpoints with exact resume, a wall-clock budget so solvers can be
compared at equal time, and data-parallel training (DDP) under ``torchrun``.

The objective is an ``nn.Module`` whose ``forward(step)`` returns ``(total_loss, terms)``,
``terms`` a dict of scalar tensors for display. It draws its own data (collocation points,
mini-batches) from the step number, so Adam and L-BFGS share it and DDP can wrap it.
"""

from __future__ import annotations

import math
import os
import sys
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Mapping, Protocol

import torch
from torch import nn

from ..errors import ProblemError, SciMLWarning, SolverError
from ..io import atomic_write
from . import distributed
from .modelfile import load_file


class Stateful(Protocol):
    def state_dict(self) -> dict[str, Any]: ...
    def load_state_dict(self, state: dict[str, Any]) -> None: ...


class TrainingDiverged(SolverError):
    """The loss became NaN/inf or exceeded the divergence bound; the best state was kept."""


class TrainingRecovered(SciMLWarning):
    """A bad step was rolled back to the best state and training went on at a lower rate."""


@dataclass
class TrainConfig:
    """Options of :class:`Trainer` (every solver's config includes them).

    Attributes
    ----------
    adam_steps
        Adam iterations.
    lr
        Adam learning rate.
    amsgrad
        Use the AMSGrad variant of Adam.
    lr_schedule
        ``constant``, ``exponential`` (``lr * lr_gamma**step``), ``step`` (times ``lr_gamma``
        every ``lr_step_size`` steps), ``cosine`` (to 0 over ``adam_steps``), ``warmup_cosine``
        (linear warm-up over the first ``onecycle_pct`` of the steps, then cosine down to
        ``lr / onecycle_final_div``: HyPINO's schedule) or ``onecycle``
        (Smith & Topor 2019, torch's ``OneCycleLR`` shape with cosine phases: from
        ``lr / onecycle_div`` up to ``lr`` over the first ``onecycle_pct`` of training, then down to
        ``lr / (onecycle_div * onecycle_final_div)``; held constant over each block of
        ``lr_step_size`` steps, so ``lr_step_size`` = steps per epoch steps it once per epoch).
    weight_decay
        Adam's (coupled, L2) weight decay; AdamW's decoupled one with ``adamw``.
    adamw
        Use AdamW (Loshchilov & Hutter 2019) instead of Adam.
    lbfgs_steps
        L-BFGS steps after Adam; each step runs up to ``lbfgs_max_iter`` iterations with a
        strong-Wolfe line search (torch's ``LBFGS``).
    lbfgs_share
        With a time budget (``max_seconds``) and L-BFGS steps to run, the share of the budget
        kept for L-BFGS: Adam stops once it has used the rest, even before ``adam_steps``
        (``TrainResult.adam_ended`` says so). Without it a budget shorter than the Adam phase
        never reaches L-BFGS, the phase that brings a PINN's error down most per second
        (docs/benchmarks.md, "the budget's L-BFGS share"). 0: Adam runs until its steps or the
        budget are spent.
    max_seconds
        Wall-clock budget for the whole training (Adam and L-BFGS); None for no limit.
    checkpoint, checkpoint_every, resume
        Checkpoint file, how often (steps) to write it, and whether to resume from it.
    divergence, max_recoveries
        The loss is bad when it is NaN/inf or exceeds ``divergence`` times the best loss so far
        (while that is positive). Then training rolls back to the best state, halves the
        learning rate, restarts the optimiser and goes on (a visible warning, recorded in the
        result); after ``max_recoveries`` such roll-backs it stops with :class:`TrainingDiverged`.
    bfgs_steps
        Iterations of BFGS (dense inverse Hessian, strong-Wolfe line search) after
        Adam and L-BFGS, for networks of at most 20,000 parameters (:mod:`sciml.nn.bfgs`).
    metrics
        A JSON-lines file that receives every step's record (phase, step, loss, each term,
        learning rate, training seconds; :mod:`sciml.nn.metrics`); a resumed run continues it.
    tensorboard
        A folder for TensorBoard event files of the same scalars (the ``tensorboard`` extra).
    keep
        Which state training ends in: ``best`` (lowest loss seen; right for full-batch losses)
        or ``last`` (right for minibatch epochs, whose per-batch losses are noisy). With
        ``best``, an objective that can score a state on fixed terms (an ``evaluate()`` method:
        the physics objective, whose training loss is measured on fresh points under weights
        that change with balancing and causal weighting, so that its lowest value can belong to
        an early, worse state) keeps the best state only when it also scores below the last
        one there; ``TrainResult.kept`` says which was kept.
    progress
        Show a progress bar (None: only on an interactive terminal outside CI).
    """

    adam_steps: int = 10000
    lr: float = 1e-3
    amsgrad: bool = False
    lr_schedule: Literal["constant", "exponential", "step", "cosine", "warmup_cosine", "onecycle"] = "constant"
    lr_gamma: float = 0.5
    lr_step_size: int = 1000
    onecycle_pct: float = 0.3
    onecycle_div: float = 25.0
    onecycle_final_div: float = 1e4
    weight_decay: float = 0.0
    adamw: bool = False
    lbfgs_steps: int = 0
    lbfgs_share: float = 0.3
    lbfgs_lr: float = 1.0
    lbfgs_max_iter: int = 20
    lbfgs_history: int = 50
    max_seconds: float | None = None
    log_every: int = 10
    checkpoint: str | None = None
    checkpoint_every: int = 500
    resume: bool = False
    divergence: float = 1e8
    max_recoveries: int = 3
    bfgs_steps: int = 0
    keep: Literal["best", "last"] = "best"
    progress: bool | None = None
    metrics: str | None = None
    tensorboard: str | None = None

    def __post_init__(self) -> None:
        for name in ("adam_steps", "lbfgs_steps", "bfgs_steps", "max_recoveries"):
            if getattr(self, name) < 0:
                raise ProblemError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.lr <= 0 or self.lbfgs_lr <= 0:
            raise ProblemError("learning rates must be positive")
        if self.resume and not self.checkpoint:
            raise ProblemError("resume needs a checkpoint file")
        if not (0 < self.onecycle_pct < 1 and self.onecycle_div >= 1 and self.onecycle_final_div >= 1):
            raise ProblemError("onecycle: needs 0 < onecycle_pct < 1 and divisors >= 1")
        if self.weight_decay < 0 or self.lr_step_size < 1:
            raise ProblemError("weight_decay must be >= 0 and lr_step_size >= 1")
        if not 0 <= self.lbfgs_share < 1:
            raise ProblemError(f"lbfgs_share must lie in [0, 1), got {self.lbfgs_share}")


@dataclass
class TrainResult:
    """What a training run did."""

    adam_steps: int = 0
    lbfgs_steps: int = 0
    best_loss: float = math.inf
    final_loss: float = math.inf
    terms: dict[str, float] = field(default_factory=dict)
    stopped: str = "completed"
    seconds: float = 0.0
    history: list[dict[str, Any]] = field(default_factory=list)
    recoveries: list[str] = field(default_factory=list)
    bfgs_steps: int = 0
    best_step: int | None = None
    kept: str = "last"
    vs_trivial: float | None = None  # the kept state's score over the trivial field's (sciml.nn.fit)
    data_miss: dict[str, float] = field(default_factory=dict)  # RMS misses of value data (sciml.nn.fit)
    law_misfit: float | None = None  # the first-order form's relative constitutive misfit (sciml.nn.fit)
    residual_ratio: float | None = None  # the residual over its terms' sizes (sciml.nn.fit)
    adam_ended: str | None = None  # why Adam stopped before its steps when L-BFGS took over (lbfgs_share)

    def summary(self) -> dict[str, Any]:
        """JSON-friendly digest: step counts, losses, how it stopped, the time and the seconds
        per Adam step (the history itself is ``history``, every step in the metrics file)."""
        adam = [h for h in self.history if h["phase"] == "adam"]
        per_step = (adam[-1]["t"] - adam[0]["t"]) / (adam[-1]["step"] - adam[0]["step"]) if len(adam) > 1 else None
        return {"adam_steps": self.adam_steps, "lbfgs_steps": self.lbfgs_steps, "bfgs_steps": self.bfgs_steps,
                "best_loss": self.best_loss, "final_loss": self.final_loss, "terms": self.terms,
                "stopped": self.stopped, "kept": self.kept, "recoveries": self.recoveries, "train_s": self.seconds,
                "s_per_adam_step": per_step,
                **({"score_vs_trivial": self.vs_trivial} if self.vs_trivial is not None else {}),
                **({"data_miss": self.data_miss} if self.data_miss else {}),
                **({"law_misfit": self.law_misfit} if self.law_misfit is not None else {}),
                **({"residual_ratio": self.residual_ratio} if self.residual_ratio is not None else {}),
                **({"adam_ended": self.adam_ended} if self.adam_ended is not None else {})}


def onecycle_factor(step: int, total: int, cfg: TrainConfig) -> float:
    """The one-cycle learning-rate factor at ``step`` of ``total`` (torch's ``OneCycleLR``
    shape: cosine warm-up from ``1 / div`` to 1 until the last step of the warm-up, cosine decay
    to ``1 / (div * final_div)`` at the last step)."""
    def cos(a: float, b: float, frac: float) -> float:
        return b + (a - b) * 0.5 * (1 + math.cos(math.pi * frac))

    start, end = 1 / cfg.onecycle_div, 1 / (cfg.onecycle_div * cfg.onecycle_final_div)
    peak = cfg.onecycle_pct * total - 1
    if step <= peak:
        return cos(start, 1.0, step / peak) if peak > 0 else 1.0
    return cos(1.0, end, min(1.0, (step - peak) / max(total - 1 - peak, 1e-12)))


def show_progress(flag: bool | None) -> bool:
    """Whether to draw a progress bar: ``flag`` when set, else only on an interactive terminal
    outside CI (and on rank 0)."""
    if flag is not None:
        return flag
    return sys.stderr.isatty() and not os.environ.get("CI") and distributed.rank() == 0


class _Progress:
    """One progress bar per phase, named after it (Adam, L-BFGS, BFGS), with its own count and
    ETA, and the loss terms beside it."""

    NAMES = {"adam": "Adam", "lbfgs": "L-BFGS", "bfgs": "BFGS"}

    def __init__(self, cfg: TrainConfig, result: TrainResult):
        self.cfg, self.result = cfg, result
        self.phase: str | None = None
        self.bar: Any = None

    def step(self, phase: str, loss: float, terms: Mapping[str, torch.Tensor]) -> None:
        if phase != self.phase:
            from tqdm import tqdm

            self.close()
            total = {"adam": self.cfg.adam_steps, "lbfgs": self.cfg.lbfgs_steps, "bfgs": self.cfg.bfgs_steps}[phase]
            done = {"adam": self.result.adam_steps, "lbfgs": self.result.lbfgs_steps,
                    "bfgs": self.result.bfgs_steps}[phase]
            self.phase = phase
            self.bar = tqdm(total=total, initial=max(done - 1, 0), desc=self.NAMES[phase], leave=False,
                            dynamic_ncols=True)
        self.bar.update(1)
        self.bar.set_postfix({"loss": f"{loss:.3e}", **{k: f"{float(v):.2e}" for k, v in terms.items()}},
                             refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class Trainer:
    """Adam then L-BFGS on ``objective`` (see the module docstring for the contract).

    Parameters
    ----------
    objective
        Module whose ``forward(step)`` returns ``(total, terms)``; its parameters are trained.
        A parameter with an ``lr_scale`` attribute gets Adam's learning rate times that factor
        (unknown physical constants next to network weights, say).
    config
        :class:`TrainConfig`.
    stateful
        Extra objects saved in checkpoints (a collocation sampler's random state, say).
    callback
        Called as ``callback(step, result)`` after every Adam and L-BFGS step (benchmarks use
        it to record the error over time); its own run time is not counted as training time.
    """

    def __init__(self, objective: nn.Module, config: TrainConfig,
                 stateful: Mapping[str, Stateful] | None = None,
                 callback: Callable[[int, TrainResult], None] | None = None):
        self.objective, self.cfg = objective, config
        self.stateful = dict(stateful or {})
        self.callback = callback
        self._callback_s = 0.0
        self.params = [p for p in objective.parameters() if p.requires_grad]
        if not self.params:
            raise SolverError("nothing to train: the model has no trainable parameters")
        self.model: nn.Module = objective
        if distributed.is_distributed():
            self.model = nn.parallel.DistributedDataParallel(objective)
        self.result = TrainResult()
        self.best_state: dict[str, torch.Tensor] | None = None
        self._elapsed_before = 0.0
        self.lr_factor = 1.0
        self._sinks: list[Any] = []

    # -- optimisers ----------------------------------------------------------------------------
    def _adam(self, offset: int = 0) -> tuple[torch.optim.Optimizer, Any]:
        """Adam and its schedule, the schedule started at step ``offset`` (a restart after a
        roll-back continues it) and the rate times the roll-backs' factor."""
        cfg = self.cfg
        kind = torch.optim.AdamW if cfg.adamw else torch.optim.Adam
        scales = sorted({float(getattr(p, "lr_scale", 1.0)) for p in self.params})
        base = cfg.lr * self.lr_factor
        groups = [{"params": [p for p in self.params if float(getattr(p, "lr_scale", 1.0)) == s],
                   "lr": base * s, "lr_scale": s} for s in scales]
        opt = kind(groups, lr=base, amsgrad=cfg.amsgrad, weight_decay=cfg.weight_decay)
        n = max(cfg.adam_steps, 1)
        warm = max(int(cfg.onecycle_pct * n), 1)
        factor = {
            "constant": lambda s: 1.0,
            "exponential": lambda s: cfg.lr_gamma ** s,
            "step": lambda s: cfg.lr_gamma ** (s // cfg.lr_step_size),
            "cosine": lambda s: 0.5 * (1 + math.cos(math.pi * min(s, n) / n)),
            "warmup_cosine": lambda s: (s + 1) / warm if s < warm else 1 / cfg.onecycle_final_div + (
                1 - 1 / cfg.onecycle_final_div) * 0.5 * (1 + math.cos(math.pi * min(s - warm, n - warm) / max(n - warm, 1))),
            "onecycle": lambda s: onecycle_factor(s // cfg.lr_step_size, -(-n // cfg.lr_step_size), cfg),
        }[cfg.lr_schedule]
        return opt, torch.optim.lr_scheduler.LambdaLR(opt, lambda s: factor(s + offset))

    def _lbfgs(self) -> torch.optim.Optimizer:
        cfg = self.cfg
        return torch.optim.LBFGS(self.params, lr=cfg.lbfgs_lr * self.lr_factor, max_iter=cfg.lbfgs_max_iter,
                                 history_size=cfg.lbfgs_history, line_search_fn="strong_wolfe",
                                 tolerance_grad=1e-12, tolerance_change=1e-15)

    # -- bookkeeping ---------------------------------------------------------------------------
    def _snapshot(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().clone() for k, v in self.objective.state_dict().items()}

    def _maybe_snapshot(self, loss: float) -> dict[str, torch.Tensor] | None:
        """The state before this step's update when it is the best so far (``keep = "best"``)."""
        return self._snapshot() if self.cfg.keep == "best" and loss < self.result.best_loss else None

    def _record(self, step: int, phase: str, loss: float, terms: Mapping[str, torch.Tensor],
                snapshot: dict[str, torch.Tensor] | None, lr: float) -> None:
        vals = {k: float(v) for k, v in terms.items()}
        r = self.result
        r.final_loss, r.terms = loss, vals
        if loss < r.best_loss:
            r.best_loss, r.best_step = loss, step
            if snapshot is not None:
                self.best_state = snapshot
        record = {"step": step, "phase": phase, "loss": loss, "lr": lr, "t": self._elapsed(), **vals}
        for sink in self._sinks:
            sink.write(record)
        if step % self.cfg.log_every == 0 or phase != "adam":
            r.history.append(record)

    def _check(self, step: int, phase: str, loss: float, terms: Mapping[str, torch.Tensor]) -> bool:
        """False when the loss is sound; True after a roll-back (the caller restarts its
        optimiser); raises :class:`TrainingDiverged` when no roll-back is left."""
        r = self.result
        bad = not math.isfinite(loss)
        if not bad and math.isfinite(r.best_loss) and r.best_loss > 0 and loss > self.cfg.divergence * r.best_loss:
            bad = True  # (an objective that can go negative, an energy say, has no ratio test)
        if not bad:
            return False
        if self.best_state is not None:
            self.objective.load_state_dict(self.best_state)
        which = ", ".join(f"{k}={float(v):.3g}" for k, v in terms.items())
        what = "became NaN/inf" if not math.isfinite(loss) else \
            f"diverged (> {self.cfg.divergence:g} x best)"
        if self.best_state is not None and len(r.recoveries) < self.cfg.max_recoveries:
            self.lr_factor *= 0.5
            note = (f"{phase} step {step}: the loss {what} ({which}); rolled back to the best state "
                    f"(loss {r.best_loss:.4g}) and halved the learning rate (x{self.lr_factor:g})")
            r.recoveries.append(note)
            warnings.warn(TrainingRecovered(f"training recovered: {note}"), stacklevel=2)
            return True
        r.stopped = f"{phase} step {step}: loss {what}"
        kept = (f"the best state (loss {r.best_loss:.4g}) was kept" if self.best_state is not None
                else "no earlier state was kept (keep = \"last\")" if self.cfg.keep == "last"
                else "no finite loss was ever reached")
        if self.cfg.checkpoint and self.best_state is not None:
            self._save(self.cfg.checkpoint, phase, step)
            kept += f" and written to {self.cfg.checkpoint}"
        after = f" after {len(r.recoveries)} roll-backs" if r.recoveries else ""
        raise TrainingDiverged(f"training stopped at {phase} step {step}: the loss {what}{after} "
                               f"({which}); {kept}. Try a smaller learning rate or other loss weights.")

    def _elapsed(self) -> float:
        return self._elapsed_before + time.perf_counter() - self._start - self._callback_s

    def _after_step(self, step: int, phase: str, bar: Any, loss: float, terms: Mapping[str, torch.Tensor]) -> None:
        if bar is not None:
            bar.step(phase, loss, terms)
        if self.callback is not None:
            self.result.seconds = self._elapsed()  # the training time so far, for the callback
            start = time.perf_counter()
            self.callback(step, self.result)
            self._callback_s += time.perf_counter() - start

    def _out_of_time(self) -> bool:
        if self.cfg.max_seconds is not None and self._elapsed() >= self.cfg.max_seconds:
            self.result.stopped = f"time budget of {self.cfg.max_seconds:g} s reached"
            return True
        return False

    # -- checkpoints ---------------------------------------------------------------------------
    def _save(self, path: str, phase: str, step: int, opt: Any = None, sched: Any = None) -> None:
        if distributed.rank() != 0:
            return
        r = self.result
        state = {"objective": self.objective.state_dict(), "phase": phase, "step": step,
                 "optimizer": opt.state_dict() if opt is not None else None,
                 "scheduler": sched.state_dict() if sched is not None else None,
                 "best_state": self.best_state, "best_loss": r.best_loss, "best_step": r.best_step,
                 "adam_steps": r.adam_steps, "lbfgs_steps": r.lbfgs_steps, "history": r.history,
                 "elapsed": self._elapsed(), "torch_rng": torch.get_rng_state(),
                 "stateful": {k: v.state_dict() for k, v in self.stateful.items()}}
        atomic_write(path, lambda tmp: torch.save(state, tmp))

    def _load(self, path: str) -> dict[str, Any]:
        state = load_file(path, "checkpoint (to resume from)")
        try:
            self.objective.load_state_dict(state["objective"])
        except (RuntimeError, KeyError, ValueError, TypeError) as exc:
            raise ProblemError(f"cannot resume from {path}: {exc}") from None
        r = self.result
        self.best_state, r.best_loss, r.best_step = state["best_state"], state["best_loss"], state.get("best_step")
        r.adam_steps, r.lbfgs_steps, r.history = state["adam_steps"], state["lbfgs_steps"], state["history"]
        self._elapsed_before = state["elapsed"]
        torch.set_rng_state(state["torch_rng"])
        for k, v in self.stateful.items():
            if k in state["stateful"]:  # an object added after the checkpoint was written starts afresh
                v.load_state_dict(state["stateful"][k])
        return state

    # -- the loop ------------------------------------------------------------------------------
    def fit(self) -> TrainResult:
        """Train; returns the :class:`TrainResult`. The objective ends in its best state.

        Raises
        ------
        TrainingDiverged
            On NaN/inf or divergence (after restoring the best state).
        """
        cfg = self.cfg
        self._start = time.perf_counter()
        resumed = self._load(cfg.checkpoint) if cfg.resume else None
        self._open_sinks(resumed is not None)
        bar = None
        try:
            bar = _Progress(cfg, self.result) if show_progress(cfg.progress) else None
            self._run_adam(resumed, bar)
            self._run_lbfgs(resumed, bar)
            self._run_bfgs(bar)
        finally:
            if bar is not None:
                bar.close()
            for sink in self._sinks:
                sink.close()
            self._sinks = []
        self._end_state()
        self.result.seconds = self._elapsed()
        return self.result

    def _end_state(self) -> None:
        """Load the state training ends in (``keep``): the best one, unless the objective's
        ``evaluate()`` scores the last state at least as low (a non-finite score loses)."""
        r = self.result
        if self.best_state is None:
            return
        evaluate = getattr(self.objective, "evaluate", None)
        if evaluate is not None:
            at_last = float(evaluate())
            last = self._snapshot()
            self.objective.load_state_dict(self.best_state)
            at_best = float(evaluate())
            if math.isfinite(at_last) and not at_best < at_last:
                self.objective.load_state_dict(last)
                r.kept = f"last (scored {at_last:.4g}; the lowest training loss, step {r.best_step}: {at_best:.4g})"
                return
            r.kept = f"best, step {r.best_step} (scored {at_best:.4g}; the last state: {at_last:.4g})"
            return
        self.objective.load_state_dict(self.best_state)
        r.kept = f"best, step {r.best_step}"

    def _open_sinks(self, resumed: bool) -> None:
        """The metrics file and TensorBoard writer of the config (rank 0 only)."""
        from .metrics import open_sinks

        done = self.result.adam_steps + self.result.lbfgs_steps + self.result.bfgs_steps
        self._sinks = open_sinks(self.cfg.metrics, self.cfg.tensorboard, keep_below=done if resumed else None)

    def _run_adam(self, resumed: dict[str, Any] | None, bar: Any) -> None:
        cfg, r = self.cfg, self.result
        if cfg.adam_steps == 0 or r.adam_steps >= cfg.adam_steps or (resumed is not None and resumed["phase"] != "adam"):
            return
        handover = self._handover()
        opt, sched = self._adam()
        if resumed is not None and resumed["phase"] == "adam" and resumed["optimizer"] is not None:
            opt.load_state_dict(resumed["optimizer"])
            sched.load_state_dict(resumed["scheduler"])
        for step in range(r.adam_steps, cfg.adam_steps):
            if self._out_of_time():
                if cfg.checkpoint:
                    self._save(cfg.checkpoint, "adam", r.adam_steps, opt, sched)
                return
            if handover is not None and self._elapsed() >= handover:
                r.adam_ended = (f"step {step} of {cfg.adam_steps}: the last {cfg.lbfgs_share:g} of the "
                                f"{cfg.max_seconds:g} s budget is kept for L-BFGS")
                if cfg.checkpoint:
                    self._save(cfg.checkpoint, "lbfgs", 0)
                return
            opt.zero_grad(set_to_none=True)
            loss_t, terms = self.model(step)
            loss = float(distributed.mean_across(loss_t.detach()))
            if self._check(step, "adam", loss, terms):
                opt, sched = self._adam(offset=step)
                continue
            snapshot = self._maybe_snapshot(loss)
            loss_t.backward()
            lr = sched.get_last_lr()[0] / opt.param_groups[0]["lr_scale"]
            opt.step()
            sched.step()
            r.adam_steps = step + 1
            self._record(step, "adam", loss, terms, snapshot, lr)
            self._after_step(step, "adam", bar, loss, terms)
            if cfg.checkpoint and (r.adam_steps % cfg.checkpoint_every == 0 or r.adam_steps == cfg.adam_steps):
                self._save(cfg.checkpoint, "adam", r.adam_steps, opt, sched)

    def _handover(self) -> float | None:
        """The training time at which Adam hands over to L-BFGS (``lbfgs_share``), or None."""
        cfg = self.cfg
        if cfg.max_seconds is None or not cfg.lbfgs_steps or not cfg.lbfgs_share:
            return None
        return (1 - cfg.lbfgs_share) * cfg.max_seconds

    def _run_lbfgs(self, resumed: dict[str, Any] | None, bar: Any) -> None:
        cfg, r = self.cfg, self.result
        if cfg.lbfgs_steps == 0 or r.lbfgs_steps >= cfg.lbfgs_steps or r.stopped != "completed":
            return
        opt = self._lbfgs()
        if resumed is not None and resumed["phase"] == "lbfgs" and resumed["optimizer"] is not None:
            opt.load_state_dict(resumed["optimizer"])
        for k in range(r.lbfgs_steps, cfg.lbfgs_steps):
            if self._out_of_time():
                if cfg.checkpoint:
                    self._save(cfg.checkpoint, "lbfgs", r.lbfgs_steps, opt)
                return
            step = cfg.adam_steps + k
            first: dict[str, Any] = {}

            def closure() -> torch.Tensor:
                opt.zero_grad(set_to_none=True)
                loss_t, terms = self.model(step)
                loss_t.backward()
                if not first:
                    first.update(terms=terms)
                return distributed.mean_across(loss_t.detach())

            snapshot = self._snapshot() if cfg.keep == "best" else None
            loss = float(opt.step(closure))
            if self._check(step, "lbfgs", loss, first["terms"]):
                opt = self._lbfgs()
                continue
            r.lbfgs_steps = k + 1
            self._record(step, "lbfgs", loss, first["terms"], snapshot, cfg.lbfgs_lr)
            self._after_step(step, "lbfgs", bar, loss, first["terms"])
            if cfg.checkpoint and (r.lbfgs_steps % cfg.checkpoint_every == 0 or r.lbfgs_steps == cfg.lbfgs_steps):
                self._save(cfg.checkpoint, "lbfgs", r.lbfgs_steps, opt)

    def _run_bfgs(self, bar: Any) -> None:
        cfg, r = self.cfg, self.result
        if cfg.bfgs_steps == 0 or r.stopped != "completed":
            return
        from .bfgs import dense_bfgs

        step0 = cfg.adam_steps + cfg.lbfgs_steps

        def evaluate() -> tuple[float, dict[str, torch.Tensor]]:
            loss_t, terms = self.model(step0)
            loss_t.backward()
            return float(loss_t.detach()), terms

        def after(k: int, loss: float, terms: Mapping[str, torch.Tensor]) -> bool:
            if self._check(step0 + k, "bfgs", loss, terms):
                return False
            r.bfgs_steps = k + 1
            self._record(step0 + k, "bfgs", loss, terms, self._maybe_snapshot(loss), 1.0)
            self._after_step(step0 + k, "bfgs", bar, loss, terms)
            return not self._out_of_time()

        dense_bfgs(self.params, evaluate, cfg.bfgs_steps, after)
