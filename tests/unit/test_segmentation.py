"""Lung segmentation: Dice, post-processing, lung-mask modes, a member that learns, resume."""

import numpy as np
import pytest
import torch

from cxr_cbir.data.demo.phantom import Finding, Patient, Pose, render
from cxr_cbir.errors import InputError
from cxr_cbir.preprocess.lung_crop import apply_mode
from cxr_cbir.segmentation.inference import predict_probs
from cxr_cbir.segmentation.members import build_member
from cxr_cbir.segmentation.postprocess import clean_mask, dice, ensemble_mask
from cxr_cbir.torch_utils import load_checkpoint, seed_everything
from cxr_cbir.training.entry import build
from cxr_cbir.training.lung_members import mean_dice
from cxr_cbir.training.lung_members import train_member as _fit_member


def test_dice_by_hand():
    a = np.zeros((4, 4), bool)
    b = np.zeros((4, 4), bool)
    a[:2] = True  # 8 pixels
    b[1:3] = True  # 8 pixels, 4 shared
    assert dice(a, b) == pytest.approx(2 * 4 / 16)
    assert dice(a, a) == 1.0
    assert dice(np.zeros((2, 2)), np.zeros((2, 2))) == 1.0
    assert dice(a, np.zeros((4, 4))) == 0.0


def test_clean_mask_keeps_two_largest_and_fills_holes():
    m = np.zeros((40, 40), bool)
    m[5:30, 3:15] = True  # left lung, 300 px
    m[5:30, 22:36] = True  # right lung, 350 px
    m[15:18, 8:11] = False  # a hole
    m[35:38, 35:38] = True  # a speck, 9 px
    m[33:37, 18:21] = True  # a third blob, 12 px
    out = clean_mask(m)
    assert out[16, 9] and not out[36, 36] and not out[34, 19]
    assert out.sum() == 300 + 350


def test_ensemble_mask_averages_members():
    probs = np.zeros((3, 20, 20), np.float32)
    probs[0, 2:10, 2:10] = 0.9
    probs[1, 2:10, 2:10] = 0.8
    probs[2, 2:10, 2:10] = 0.1  # disagrees: mean still 0.6
    probs[0, 12:18, 12:18] = 0.9  # only one member: mean 0.3
    out = ensemble_mask(probs, 0.5)
    assert out[2:10, 2:10].all() and not out[12:18, 12:18].any()


def test_lung_mask_modes():
    img = np.full((100, 80), 200, np.uint8)
    mask = np.zeros((50, 40), bool)
    mask[10:40, 10:30] = True  # rows 20..80, cols 20..60 at full size
    none = apply_mode(img, mask, "none", 32)
    masked = apply_mode(img, mask, "mask", 100)
    cropped = apply_mode(img, mask, "crop+mask", 32)
    assert none.shape == (32, 32) and (none == 200).all()
    assert masked[0, 0] == 0 and masked[50, 40] == 200
    # cropped to the lungs (+5% margin): the lung fills nearly the whole image
    assert cropped.shape == (32, 32) and (cropped > 0).mean() > 0.7
    # no lung found: the full image is kept
    assert (apply_mode(img, np.zeros((50, 40), bool), "crop+mask", 32) == 200).all()


def test_unknown_member_settings_are_refused():
    with pytest.raises(InputError, match="unknown architecture"):
        build_member("Segformer9", "efficientnet-b0")
    with pytest.raises(InputError, match="unknown encoder"):
        build_member("Unet", "efficientnet-b99")


def _phantom_pairs(n, size=64, seed=0):
    rng = np.random.default_rng(seed)
    images, masks = [], []
    for _ in range(n):
        ph = render(size, size, "PA", Patient.sample(rng), Finding(), Pose.sample(rng), rng)
        images.append((ph.image * 255).astype(np.uint8))
        masks.append(ph.lung_mask.astype(np.uint8))
    return np.stack(images), np.stack(masks)


def train_member(arch, encoder, images, masks, seed, n_heads=1, **kw):
    """A member as the workflow trains it: seeded, built by the training entry, fitted
    (``n_heads`` > 1: one output per lung convention)."""
    member = {"arch": arch, "encoder": encoder}
    if n_heads > 1:
        member["heads"] = [f"convention{i}" for i in range(n_heads)]
    seed_everything(seed)
    return _fit_member(build("lung_member", member), member, images, masks, seed=seed, **kw)


def _train_unet(images, masks, epochs, tmp_path, **kw):
    """A U-Net member on phantom pairs: batches of 8, lr 3e-3, seed 0."""
    return train_member(
        "Unet",
        "efficientnet-b0",
        images,
        masks,
        epochs=epochs,
        batch_size=8,
        lr=3e-3,
        seed=0,
        checkpoint=tmp_path / "ckpt.pt",
        **kw,
    )


def test_member_loss_falls_and_predicts_lungs(tmp_path):
    torch.set_num_threads(2)
    images, masks = _phantom_pairs(16)
    model, history = _train_unet(images, masks, 4, tmp_path)
    assert history["train_loss"].iloc[-1] < history["train_loss"].iloc[0]
    assert history.loc[history["kept"], "val_dice"].iloc[0] == history["val_dice"].max()
    probs = predict_probs(model, images[:4], 4, "cpu")
    assert probs.shape == (4, 64, 64) and 0 <= probs.min() and probs.max() <= 1
    # the validation Dice that chose the epoch is the kept model's own Dice: BatchNorm
    # statistics are re-estimated before each validation, not only after training
    kept = history.loc[history["kept"], "val_dice"].iloc[0]
    assert mean_dice(predict_probs(model, images, 8, "cpu"), masks) == pytest.approx(kept, abs=1e-6)
    assert kept > 0.5


def test_killed_training_resumes_to_the_same_weights(tmp_path):
    torch.set_num_threads(2)
    images, masks = _phantom_pairs(8, seed=1)
    kw = dict(
        arch="DeepLabV3Plus",
        encoder="efficientnet-b0",
        images=images,
        masks=masks,
        batch_size=4,
        lr=1e-3,
        seed=3,
    )
    straight, _ = train_member(epochs=2, checkpoint=tmp_path / "a.pt", **kw)
    # "killed" after epoch 1: only the checkpoint of epoch 1 survives; rerun to 2 epochs
    train_member(epochs=1, checkpoint=tmp_path / "b.pt", **kw)
    assert int(load_checkpoint(tmp_path / "b.pt")["epoch"]) == 0
    resumed, history = train_member(epochs=2, checkpoint=tmp_path / "b.pt", **kw)
    assert history["epoch"].tolist() == [1, 2]
    for (k, a), b in zip(straight.state_dict().items(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b), k


def test_convention_heads_learn_each_convention_from_its_own_masks(tmp_path):
    """Two lung conventions in one training set: with a head each, every film's mask
    trains only its own head, and each head draws its own convention."""
    torch.set_num_threads(2)
    images, masks = _phantom_pairs(24, seed=2)
    # the second convention leaves out the lower half of each lung mask (a stand-in for
    # the region behind the heart that SCR and Shenzhen masks leave out)
    upper = masks.copy()
    for m in upper:
        rows = np.flatnonzero(m.any(axis=1))
        m[(rows.min() + rows.max()) // 2 :] = 0
    heads = np.arange(len(images)) % 2
    truth = np.where(heads[:, None, None] == 1, upper, masks)
    model, history = _train_unet(images, truth, 6, tmp_path, heads=heads, n_heads=2)
    assert model.segmentation_head[0].out_channels == 2
    # the kept validation Dice is each film scored on its own head
    kept = history.loc[history["kept"], "val_dice"].iloc[0]
    assert mean_dice(predict_probs(model, images, 8, "cpu", heads), truth) == pytest.approx(
        kept, abs=1e-6
    )
    full = predict_probs(model, images, 8, "cpu", 0)
    half = predict_probs(model, images, 8, "cpu", 1)
    # each head matches its own convention better than the other one, on every film kind
    assert mean_dice(full, masks) > mean_dice(full, upper) + 0.1
    assert mean_dice(half, upper) > mean_dice(half, masks) + 0.1
    assert (half >= 0.5).sum() < 0.75 * (full >= 0.5).sum()


def test_no_training_batch_holds_a_single_film(tmp_path):
    """17 films in batches of 8: the last film joins the batch before it, so that
    DeepLabV3+ (BatchNorm after a global pool) can train and re-estimate its statistics."""
    from cxr_cbir.training.lung_members import MemberTask, _batch_slices

    assert [b.stop - b.start for b in _batch_slices(17, 8)] == [8, 9]
    assert [b.stop - b.start for b in _batch_slices(18, 8)] == [8, 8, 2]
    assert [b.stop - b.start for b in _batch_slices(1, 8)] == [1]
    images, masks = _phantom_pairs(9, size=32, seed=4)
    task = MemberTask(None, images, masks, images, masks, 8, "cpu")
    batches = task.batches(0, torch.Generator().manual_seed(0))
    assert [len(idx) for idx, _ in batches] == [9]
    torch.set_num_threads(2)
    model, history = train_member(
        "DeepLabV3Plus",
        "efficientnet-b0",
        images,
        masks,
        epochs=1,
        batch_size=8,
        lr=1e-3,
        seed=0,
        checkpoint=tmp_path / "c.pt",
    )
    assert len(history) == 1 and np.isfinite(history["train_loss"]).all()
