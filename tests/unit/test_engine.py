"""The training engine: model selection, early stopping, exact resume, schedules, AMP, loaders."""

import numpy as np
import pytest
import torch

from cxr_cbir.errors import InputError
from cxr_cbir.torch_utils import load_checkpoint
from cxr_cbir.training.classifier import choose_threshold
from cxr_cbir.training.engine import Budget, batch_loader, fit
from cxr_cbir.training.lung_members import MemberTask


class Killed(Exception):
    pass


class ToyTask:
    """Logistic regression on a fixed random problem; scripted or real validation scores."""

    def __init__(self, model, scores=None, kill_at=None):
        g = np.random.default_rng(0)
        self.x = torch.from_numpy(g.normal(size=(64, 4)).astype(np.float32))
        self.y = (self.x @ torch.tensor([1.0, -2.0, 0.5, 0.0]) > 0).float()
        self.model, self.scores, self.kill_at = model, scores, kill_at
        self.epoch, self.states = -1, []

    def batches(self, epoch, generator):
        if epoch == self.kill_at:
            raise Killed  # the job dies during this epoch; the last checkpoint survives
        self.epoch = epoch
        order = torch.randperm(64, generator=generator).numpy()
        return [order[i : i + 16] for i in range(0, 64, 16)]

    def load(self, idx):
        return self.x[idx], self.y[idx]

    def loss(self, batch, generator):
        if isinstance(batch, np.ndarray):
            batch = self.load(batch)
        x, y = batch
        x = x + 0.01 * torch.randn(x.shape, generator=generator)  # seeded augmentation
        return torch.nn.functional.binary_cross_entropy_with_logits(
            self.model(x).squeeze(1).float(), y
        )

    def validate(self):
        self.states.append({k: v.clone() for k, v in self.model.state_dict().items()})
        if self.scores is not None:
            return {"score": self.scores[self.epoch]}
        logits = self.model(self.x).squeeze(1).float()
        return {
            "score": float(-torch.nn.functional.binary_cross_entropy_with_logits(logits, self.y))
        }


def _fit(tmp_path, budget, name="c.pt", scores=None, kill_at=None, init_seed=0, **kw):
    torch.manual_seed(init_seed)
    model = torch.nn.Linear(4, 1)
    task = ToyTask(model, scores, kill_at)
    opt = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    out = fit(
        model,
        opt,
        task,
        budget,
        monitor="score",
        mode="max",
        seed=7,
        checkpoint=tmp_path / name,
        fingerprint="toy",
        device=torch.device("cpu"),
        **kw,
    )
    return (*out, task)


def test_kept_epoch_is_the_best_validation_score_and_patience_stops(tmp_path):
    scores = [0.5, 0.7, 0.6, 0.65, 0.9, 0.95]
    model, hist, task = _fit(tmp_path, Budget(epochs=6, patience=2), scores=scores)
    # epochs 3 and 4 do not beat 0.7: stop after epoch 4, keep epoch 2
    assert hist["epoch"].tolist() == [1, 2, 3, 4]
    assert hist["kept"].tolist() == [False, True, False, False]
    assert hist["val_score"].tolist() == scores[:4]
    for k, v in model.state_dict().items():
        assert torch.equal(v, task.states[1][k]), k
    # rerunning a stopped job trains no further
    _, again, _ = _fit(tmp_path, Budget(epochs=6, patience=2), scores=scores, init_seed=3)
    assert again["epoch"].tolist() == [1, 2, 3, 4]


def test_min_epochs_delays_early_stopping(tmp_path):
    scores = [0.9, 0.1, 0.1, 0.1, 0.1]
    _, hist, _ = _fit(tmp_path, Budget(epochs=5, patience=1, min_epochs=4), scores=scores)
    assert hist["epoch"].tolist() == [1, 2, 3, 4]
    assert hist["kept"].tolist() == [True, False, False, False]


def test_killed_and_rerun_gives_identical_weights_and_history(tmp_path):
    budget = Budget(epochs=5, patience=3, schedule="cosine", warmup_epochs=1)
    straight, h1, _ = _fit(tmp_path, budget, name="a.pt")
    with pytest.raises(Killed):
        _fit(tmp_path, budget, name="b.pt", kill_at=3)
    assert int(load_checkpoint(tmp_path / "b.pt")["epoch"]) == 2
    resumed, h2, _ = _fit(tmp_path, budget, name="b.pt", init_seed=99)
    cols = ["epoch", "train_loss", "val_score", "lr", "kept"]
    assert h1[cols].equals(h2[cols])
    for k, v in straight.state_dict().items():
        assert torch.equal(v, resumed.state_dict()[k]), k
    assert h1["val_score"].iloc[-1] > h1["val_score"].iloc[0]  # it learned


def test_cosine_schedule_with_warmup_by_hand():
    b = Budget(epochs=5, schedule="cosine", warmup_epochs=1, min_lr_factor=0.1)
    f = [b.lr_factor(e) for e in range(5)]
    assert f[0] == pytest.approx(0.5)  # warm-up: (0 + 1) / (1 + 1)
    assert f[1] == pytest.approx(1.0)
    assert f[2] == pytest.approx(0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi / 3)))
    assert f[4] == pytest.approx(0.1)
    assert Budget(epochs=3).lr_factor(2) == 1.0


def test_history_records_the_learning_rate_and_throughput(tmp_path):
    _, hist, _ = _fit(tmp_path, Budget(epochs=3, schedule="cosine", min_lr_factor=0.2))
    assert hist["lr"].tolist() == pytest.approx([0.5, 0.5 * 0.6, 0.5 * 0.2])
    assert (hist["images_per_s"] > 0).all() and (hist["seconds"] > 0).all()


@pytest.mark.parametrize("amp", ["bf16", "fp16"])
def test_mixed_precision_trains_on_cpu(tmp_path, amp):
    _, hist, _ = _fit(tmp_path, Budget(epochs=4, amp=amp), name=f"{amp}.pt")
    _, ref, _ = _fit(tmp_path, Budget(epochs=4), name="fp32.pt")
    assert hist["val_score"].iloc[-1] > hist["val_score"].iloc[0]
    # the same trajectory to within low-precision rounding
    assert np.allclose(hist["train_loss"], ref["train_loss"], atol=0.05)


@pytest.mark.filterwarnings("ignore:.pin_memory. argument")
def test_workers_and_pinned_memory_do_not_change_training(tmp_path):
    def run(name, workers, pin):
        torch.manual_seed(0)
        model = torch.nn.Linear(4, 1)
        task = ToyTask(model)
        opt = torch.optim.SGD(model.parameters(), lr=0.5)
        return fit(
            model,
            opt,
            task,
            Budget(epochs=2),
            monitor="score",
            mode="max",
            seed=1,
            checkpoint=tmp_path / name,
            fingerprint="toy",
            device=torch.device("cpu"),
            loader=batch_loader(task.load, torch.device("cpu"), workers, pin),
        )[0]

    a, b = run("a.pt", 0, False), run("b.pt", 2, True)
    for k, v in a.state_dict().items():
        assert torch.equal(v, b.state_dict()[k]), k


def test_segmentation_batches_are_the_same_with_worker_processes():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (6, 32, 32), dtype=np.uint8)
    masks = (rng.random((6, 32, 32)) > 0.5).astype(np.uint8)
    task = MemberTask(None, images, masks, images, masks, 3, torch.device("cpu"))
    batches = task.batches(0, torch.Generator().manual_seed(4))
    loads = [list(batch_loader(task.load, torch.device("cpu"), w)(batches)) for w in (0, 2)]
    for (x0, y0, h0), (x2, y2, h2) in zip(*loads, strict=True):
        assert torch.equal(x0, x2) and torch.equal(y0, y2) and torch.equal(h0, h2)
    # and the augmentation did something: the loaded films (float32 in [0, 1]) against
    # the same films un-augmented, in the same dtype, so that only pixels can differ
    changed = []
    for (idx, _), (x, _, _) in zip(batches, loads[0], strict=True):
        original = torch.from_numpy(images[idx].astype(np.float32) / 255).unsqueeze(1)
        assert x.dtype == original.dtype and x.shape == original.shape
        changed += [
            not torch.allclose(a, b, atol=1 / 255) for a, b in zip(x, original, strict=True)
        ]
    assert sum(changed) >= len(changed) // 2, changed


def test_non_finite_loss_is_an_error_naming_the_epoch(tmp_path):
    class Exploding(ToyTask):
        def loss(self, batch, generator):
            return super().loss(batch, generator) * float("nan")

    model = torch.nn.Linear(4, 1)
    with pytest.raises(FloatingPointError, match="epoch 1"):
        fit(
            model,
            torch.optim.SGD(model.parameters(), lr=0.1),
            Exploding(model),
            Budget(2),
            monitor="score",
            mode="max",
            seed=0,
            checkpoint=tmp_path / "x.pt",
            fingerprint="x",
            device=torch.device("cpu"),
        )
    assert not (tmp_path / "x.pt").exists()


def test_bad_budgets_are_refused():
    with pytest.raises(InputError, match="epochs"):
        Budget(epochs=0)
    with pytest.raises(InputError, match="schedule"):
        Budget(epochs=2, schedule="step")
    with pytest.raises(InputError, match="amp"):
        Budget(epochs=2, amp="fp8")


def test_threshold_maximises_validation_f1_by_hand():
    # cuts 0.05, 0.225, 0.375, 0.6 give F1 0.667, 0.8, 0.5, 0.667
    assert choose_threshold([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.225)
    assert choose_threshold([0, 1], [0.3, 0.3]) == 0.5


def test_learning_curves_table_holds_every_family_and_the_kept_epochs(tmp_path):
    import pandas as pd

    from cxr_cbir.report.figures import learning_curves
    from cxr_cbir.training.history import combine

    cls = pd.DataFrame(
        {
            "epoch": [1, 2, 3],
            "train_loss": [0.7, 0.5, 0.4],
            "val_auc": [0.6, 0.8, 0.7],
            "kept": [False, True, False],
        }
    )
    met = pd.DataFrame(
        {
            "epoch": [1, 2],
            "iteration": [20, 40],
            "train_loss": [1.2, 1.1],
            "val_recall_at_1": [0.4, 0.5],
            "kept": [False, True],
        }
    )
    seg = pd.DataFrame({"epoch": [1], "train_loss": [0.9], "val_dice": [0.93], "kept": [True]})
    # a metric history naming its monitor is plotted by that score
    ce = met.assign(val_precision_at_10=[0.45, 0.47], monitor="precision_at_10")
    table = combine(
        [
            ("classifier", "effusion/cnn", cls),
            ("metric", "dml", met),
            ("metric", "ce", ce),
            ("segmentation", "unet", seg),
        ]
    )
    assert table.groupby("family").size().to_dict() == {
        "classifier": 3,
        "metric": 4,
        "segmentation": 1,
    }
    ce_rows = table[table["name"] == "ce"]
    assert ce_rows["score"].tolist() == [0.45, 0.47]
    assert set(ce_rows["score_name"]) == {"precision_at_10"}
    kept = table[table["kept"]].set_index("name")
    assert kept.loc["effusion/cnn", "score"] == 0.8 and kept.loc["effusion/cnn", "step"] == 2
    assert kept.loc["dml", "step"] == 40 and kept.loc["dml", "score_name"] == "recall_at_1"
    assert kept.loc["unet", "score_name"] == "dice"
    learning_curves(table, str(tmp_path / "curves.png"))
    assert (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"
