"""Trainer: residual reduction, exact resume, the NaN guard, the time budget and DDP."""

from pathlib import Path

import pytest
import torch
from torch import nn

from sciml.nn.collocation import PointSampler
from sciml.nn.objective import PhysicsObjective, ResamplingBatches
from sciml.nn.physics import PhysicsLoss
from sciml.nn.trainer import TrainConfig, Trainer, TrainingDiverged
from sciml.problems import problem_from_dict
from sciml.solvers.pinn import PINNConfig, PINNNet

POISSON_1D = {
    "name": "p1", "pde": {"type": "poisson", "f": "pi**2*sin(pi*x)"},
    "domain": {"type": "interval", "bounds": [0.0, 1.0]},
    "boundary": [{"where": "all", "type": "dirichlet", "value": "0"}],
    "exact": {"u": "sin(pi*x)"},
}


def _objective(seed=0, resample_every=3):
    torch.manual_seed(seed)
    problem = problem_from_dict(POISSON_1D)
    model = PINNNet([0.0], [1.0], 1, PINNConfig(hidden=[16, 16]))
    loss = PhysicsLoss(problem)
    batches = ResamplingBatches(PointSampler(problem, 64, 8, 1, seed=seed), loss.prepare, resample_every)
    return PhysicsObjective(model, loss, batches), batches


def _params(module):
    return torch.cat([p.detach().flatten() for p in module.parameters()])


def test_short_training_reduces_the_residual_a_hundredfold():
    objective, batches = _objective(resample_every=0)
    start = float(objective(0)[0].detach())
    result = Trainer(objective, TrainConfig(adam_steps=300, lr=1e-2, lbfgs_steps=10, progress=False),
                     {"batches": batches}).fit()
    assert result.best_loss < start / 100, (start, result.best_loss)
    assert result.adam_steps == 300 and result.lbfgs_steps == 10
    assert [h["phase"] for h in result.history].count("lbfgs") == 10  # L-BFGS logs every step


@pytest.mark.parametrize("split", [(6, 0), (10, 2)])
def test_resume_gives_the_uninterrupted_state(tmp_path, split):
    full_cfg = dict(adam_steps=10, lbfgs_steps=4, lbfgs_max_iter=5, lr=1e-2, lr_schedule="exponential",
                    lr_gamma=0.9, progress=False)
    objective, batches = _objective()
    Trainer(objective, TrainConfig(**full_cfg), {"batches": batches}).fit()
    reference = _params(objective)

    ckpt = str(tmp_path / "ckpt.pt")
    first, b1 = _objective()
    Trainer(first, TrainConfig(**{**full_cfg, "adam_steps": split[0], "lbfgs_steps": split[1]},
                               checkpoint=ckpt), {"batches": b1}).fit()
    resumed, b2 = _objective(seed=123)  # different init and sampler: everything must come from the file
    result = Trainer(resumed, TrainConfig(**full_cfg, checkpoint=ckpt, resume=True), {"batches": b2}).fit()
    assert result.adam_steps == 10 and result.lbfgs_steps == 4
    assert torch.allclose(_params(resumed), reference, atol=1e-6, rtol=0)


def test_resume_without_checkpoint_is_bad_input(tmp_path):
    from sciml.errors import ProblemError

    objective, batches = _objective()
    cfg = TrainConfig(adam_steps=1, checkpoint=str(tmp_path / "none.pt"), resume=True, progress=False)
    with pytest.raises(ProblemError, match="not found"):
        Trainer(objective, cfg, {"batches": batches}).fit()


class Poisoned(nn.Module):
    """(p - 3)^2, which turns NaN at a given step (until ``nan_until``); remembers the parameter
    at every step."""

    def __init__(self, nan_at, nan_until=10**9):
        super().__init__()
        self.p = nn.Parameter(torch.zeros(1))
        self.nan_at, self.nan_until, self.seen = nan_at, nan_until, []

    def forward(self, step):
        self.seen.append(self.p.detach().clone())
        loss = ((self.p - 3) ** 2).sum()
        if self.nan_at <= step < self.nan_until:
            loss = loss * float("nan")
        return loss, {"fit": loss.detach()}


def test_nan_stops_training_and_keeps_the_best_state(tmp_path):
    model = Poisoned(nan_at=5)
    ckpt = tmp_path / "best.pt"
    with pytest.raises(TrainingDiverged, match=r"adam step 5: the loss became NaN.*best state"):
        Trainer(model, TrainConfig(adam_steps=50, lr=0.1, progress=False, checkpoint=str(ckpt),
                                   max_recoveries=0)).fit()
    assert torch.equal(model.p.detach(), model.seen[4])  # the last (and best) finite-loss state
    saved = torch.load(ckpt, weights_only=True)
    assert torch.equal(saved["objective"]["p"], model.seen[4])


def test_a_bad_step_is_rolled_back_and_training_goes_on_at_half_the_rate():
    from sciml.nn.trainer import TrainingRecovered

    model = Poisoned(nan_at=5, nan_until=6)
    with pytest.warns(TrainingRecovered, match="adam step 5.*rolled back.*x0.5"):
        result = Trainer(model, TrainConfig(adam_steps=200, lr=0.1, progress=False)).fit()
    assert result.stopped == "completed" and len(result.recoveries) == 1
    assert torch.equal(model.seen[6], model.seen[4])  # the step after the bad one starts from the best state
    assert abs(float(model.p) - 3) < 1e-2  # and training went on to the minimum


def test_repeated_failures_stop_after_the_allowed_roll_backs():
    model = Poisoned(nan_at=5)
    with pytest.warns(Warning), pytest.raises(TrainingDiverged, match="after 2 roll-backs"):
        Trainer(model, TrainConfig(adam_steps=50, lr=0.1, progress=False, max_recoveries=2)).fit()


def test_time_budget_stops_early():
    model = Poisoned(nan_at=10**9)
    result = Trainer(model, TrainConfig(adam_steps=10**7, max_seconds=0.2, progress=False)).fit()
    assert "time budget" in result.stopped and 0 < result.adam_steps < 10**7


def test_a_time_budget_keeps_its_share_for_lbfgs_and_a_resume_stays_there(tmp_path):
    objective, _ = _objective(resample_every=0)
    cfg = TrainConfig(adam_steps=10**7, lr=1e-2, lbfgs_steps=10**6, max_seconds=1.0, progress=False,
                      checkpoint=str(tmp_path / "c.pt"))
    result = Trainer(objective, cfg).fit()
    assert result.adam_ended and "L-BFGS" in result.adam_ended and result.lbfgs_steps > 0
    assert 0 < result.adam_steps < 10**7 and "time budget" in result.stopped
    adam_t = max(h["t"] for h in result.history if h["phase"] == "adam")
    assert 0.5 < adam_t < 0.85  # Adam spent about 70 % of the budget
    resumed = Trainer(objective, TrainConfig(**{**cfg.__dict__, "max_seconds": 1.5, "resume": True})).fit()
    assert resumed.adam_steps == result.adam_steps and resumed.lbfgs_steps > result.lbfgs_steps
    objective, _ = _objective(resample_every=0)
    plain = Trainer(objective, TrainConfig(adam_steps=10**7, lr=1e-2, lbfgs_steps=10**6, max_seconds=0.5,
                                           lbfgs_share=0, progress=False)).fit()
    assert plain.lbfgs_steps == 0 and plain.adam_ended is None


WORKER = Path(__file__).with_name("ddp_worker.py")


def test_ddp_two_processes_match_the_single_process_gradient(ddp_matches_single_process):
    ddp_matches_single_process(WORKER)


class _Scripted(nn.Module):
    """A loss that follows a script of values (an energy: it goes negative, then back up)."""

    def __init__(self, values):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(()))
        self.values = values

    def forward(self, step):
        loss = self.w * 0 + self.values[min(step, len(self.values) - 1)]
        return loss, {"e": loss.detach()}


def test_negative_losses_do_not_count_as_divergence():
    result = Trainer(_Scripted([1.0, -2.0, 0.5, -1.0]), TrainConfig(adam_steps=4, progress=False)).fit()
    assert result.stopped == "completed" and result.best_loss == -2.0


def test_onecycle_schedule_matches_torch_per_epoch_and_keep_last():
    from sciml.nn.trainer import onecycle_factor

    cfg = TrainConfig(lr=5e-4, lr_schedule="onecycle", onecycle_pct=0.2, onecycle_div=2, onecycle_final_div=100,
                      lr_step_size=3, adam_steps=30, weight_decay=1e-4, keep="last", log_every=1, progress=False)
    p = nn.Parameter(torch.zeros(1))
    opt = torch.optim.Adam([p], lr=5e-4)
    ref = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=5e-4, total_steps=10, pct_start=0.2, div_factor=2,
                                              final_div_factor=100)
    expected = []
    for _ in range(10):
        expected.append(opt.param_groups[0]["lr"])
        opt.step()
        ref.step()
    assert [5e-4 * onecycle_factor(e, 10, cfg) for e in range(10)] == pytest.approx(expected, rel=1e-12)
    objective, _ = _objective(resample_every=0)
    trainer = Trainer(objective, cfg)
    result = trainer.fit()
    lrs = [h["lr"] for h in result.history]
    assert lrs == pytest.approx([lr for lr in expected for _ in range(3)], rel=1e-12)  # stepped once per "epoch"
    assert trainer.best_state is None and result.best_loss <= result.history[0]["loss"]  # no snapshot: ends last
    with pytest.raises(Exception, match="onecycle"):
        TrainConfig(lr_schedule="onecycle", onecycle_pct=1.5)


def test_warmup_cosine_and_adamw():
    cfg = TrainConfig(lr=1e-3, lr_schedule="warmup_cosine", onecycle_pct=0.1, onecycle_final_div=1000,
                      adam_steps=100, adamw=True, weight_decay=1e-2, log_every=1, progress=False)
    trainer = Trainer(_Scripted([1.0] * 100), cfg)
    lrs = [h["lr"] for h in trainer.fit().history]
    assert lrs[0] == pytest.approx(1e-4) and lrs[9] == pytest.approx(1e-3)  # linear warm-up over 10 steps
    assert all(a >= b for a, b in zip(lrs[9:], lrs[10:])) and 1e-6 <= lrs[-1] < 2e-6  # cosine to lr / 1000
    assert isinstance(trainer._adam()[0], torch.optim.AdamW)


def test_lr_scale_gives_a_parameter_its_own_learning_rate():
    class Two(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Parameter(torch.zeros(1)), nn.Parameter(torch.zeros(1))
            self.b.lr_scale = 10.0

        def forward(self, step):
            loss = (self.a - 5) ** 2 + (self.b - 5) ** 2
            return loss.sum(), {}

    obj = Two()
    result = Trainer(obj, TrainConfig(adam_steps=3, lr=0.1, log_every=1, keep="last", progress=False)).fit()
    assert obj.a.item() == pytest.approx(0.3, rel=1e-2) and obj.b.item() == pytest.approx(3.0, rel=3e-2)  # ~lr per step
    assert [h["lr"] for h in result.history] == pytest.approx([0.1] * 3)  # the base rate is what is logged


class _Judged(nn.Module):
    """A quadratic in ``p`` whose training loss carries a term that grows with the step (as the
    balanced or causal weights of a physics loss move), so the lowest training loss belongs to
    the first state, and which scores a state on fixed terms by ``evaluate()`` (the quadratic
    alone, or a script)."""

    def __init__(self, score=None):
        super().__init__()
        self.p = nn.Parameter(torch.zeros(()))
        self.score = score

    def forward(self, step):
        fit = (self.p - 3) ** 2
        return fit + step, {"fit": fit.detach()}

    def evaluate(self):
        return self.score(float(self.p)) if self.score else float((self.p.detach() - 3) ** 2)


def test_the_end_state_is_chosen_on_fixed_terms_not_on_the_moving_training_loss():
    model = _Judged()
    result = Trainer(model, TrainConfig(adam_steps=100, lr=0.1, progress=False)).fit()
    assert result.best_step == 0 and abs(float(model.p) - 3) < 0.1  # the last state, not p = 0.1
    assert result.kept.startswith("last") and result.summary()["kept"] == result.kept


@pytest.mark.parametrize("score", [lambda p: p, lambda p: float("nan") if p > 0.5 else 1.0])
def test_the_best_state_is_kept_when_it_scores_lower_or_the_last_one_is_not_finite(score):
    model = _Judged(score)
    result = Trainer(model, TrainConfig(adam_steps=100, lr=0.1, progress=False)).fit()
    assert float(model.p) == 0.0 and result.kept.startswith("best, step 0")


def test_an_objective_without_evaluate_ends_in_its_lowest_loss_state():
    class Plain(_Judged):
        evaluate = None

    model = Plain()
    result = Trainer(model, TrainConfig(adam_steps=50, lr=0.1, progress=False)).fit()
    assert float(model.p) == 0.0 and result.kept == "best, step 0"


def test_physics_evaluate_scores_on_one_fixed_draw_without_causal_weights():
    from sciml.nn.physics import Causal

    problem = problem_from_dict({key: v for key, v in POISSON_1D.items() if key != "exact"}
                                | {"name": "h", "pde": {"type": "convection_diffusion", "eps": "0.1"},
                                   "time": {"start": 0.0, "end": 1.0}, "initial": {"u": "sin(pi*x)"}})
    torch.manual_seed(0)
    model = PINNNet([0.0, 0.0], [1.0, 1.0], 1, PINNConfig(hidden=[8]))
    causal = PhysicsLoss(problem, causal=Causal(chunks=4, eps=5.0))
    plain = PhysicsLoss(problem)
    objs = [PhysicsObjective(model, loss, ResamplingBatches(PointSampler(problem, 64, 8, 8, seed=0), loss.prepare, 1))
            for loss in (causal, plain)]
    first = objs[0].evaluate()
    objs[0](0), objs[0](1)  # training draws move the sampler on; the score's points stay
    assert objs[0].evaluate() == first
    assert first == pytest.approx(objs[1].evaluate(), rel=1e-12)  # the same score as without causal weights
    assert float(objs[0](2)[0]) != pytest.approx(float(objs[1](2)[0]), rel=1e-6)  # while training weighs
