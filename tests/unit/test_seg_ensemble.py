"""The lung ensemble's combination: weights chosen on validation pairs, the weights table,
test-time flips and the BatchNorm subset."""

import numpy as np
import pytest
import torch

from cxr_cbir.segmentation.ensemble import (
    ensemble_table,
    read_weights,
    select_weights,
    validation_dice,
)
from cxr_cbir.segmentation.inference import predict_probs, segment
from cxr_cbir.segmentation.members import build_member
from cxr_cbir.segmentation.postprocess import ensemble_mask, weighted_probs
from cxr_cbir.training.lung_members import bn_subset


def _lungs(n: int, size: int = 32, seed: int = 0) -> np.ndarray:
    """``n`` masks of two rectangular lungs of random extent."""
    rng = np.random.default_rng(seed)
    masks = np.zeros((n, size, size), bool)
    for i in range(n):
        top, bottom = rng.integers(2, 8), rng.integers(22, 30)
        masks[i, top:bottom, 3 : rng.integers(11, 15)] = True
        masks[i, top:bottom, rng.integers(18, 22) : 29] = True
    return masks


def _members(masks: np.ndarray) -> np.ndarray:
    """Three members: one close to the truth, two that grow the lungs by 3 and 5 pixels
    downwards and outwards (the weak members that pull an equal mean off)."""
    good = np.where(masks, 0.9, 0.1).astype(np.float32)
    out = [good]
    for shift in (3, 5):
        grown = masks.copy()
        grown[:, shift:] |= masks[:, :-shift]
        grown[:, :, :-shift] |= masks[:, :, shift:]
        out.append(np.where(grown, 0.95, 0.05).astype(np.float32))
    return np.stack(out)


def test_no_weights_is_the_plain_mean_bit_for_bit():
    probs = np.random.default_rng(1).random((5, 4, 16, 16), dtype=np.float32)
    assert np.array_equal(weighted_probs(probs), probs.mean(axis=0))
    weighted = weighted_probs(probs, [2, 0, 1, 0, 1])
    assert np.allclose(weighted, (2 * probs[0] + probs[2] + probs[4]) / 4, atol=1e-6)
    with pytest.raises(ValueError, match="one non-negative weight per member"):
        weighted_probs(probs, [1, 1])


def test_selection_drops_the_members_that_pull_the_mean_down():
    masks = _lungs(12)
    probs = _members(masks)
    member_dice = [validation_dice(probs[m : m + 1], masks, 0.5) for m in range(3)]
    mean_dice = validation_dice(probs, masks, 0.5)
    weights = select_weights(probs, masks, 0.5)
    chosen = validation_dice(probs, masks, 0.5, weights)
    assert member_dice[0] > 0.99 and mean_dice < member_dice[0] - 0.02
    assert weights[0] > 0 and weights[0] > weights[1:].sum()
    assert chosen >= max(member_dice) > mean_dice


def test_ensemble_table_rows_and_the_weights_every_step_reads(tmp_path):
    masks = _lungs(10, seed=3)
    probs = _members(masks)
    names = ["unet", "fpn", "manet"]
    selected = ensemble_table(names, probs, masks, "selected")
    assert selected["member"].tolist() == [*names, "ensemble"]
    ens = selected.set_index("member")["validation_dice"]
    assert ens["ensemble"] >= ens[names].max()
    path = tmp_path / "ensemble.csv"
    selected.to_csv(path, index=False)
    weights = read_weights(path, names)
    assert weights is not None and weights[0] > 0
    # the steps that segment read the same masks the table was scored with
    assert np.array_equal(
        ensemble_mask(probs[:, 0], 0.5, weights),
        ensemble_mask(probs[:, 0], 0.5, selected["weight"][:3].to_numpy()),
    )
    mean = ensemble_table(names, probs, masks, "mean")
    assert mean["weight"].tolist() == [1, 1, 1, 3]
    mean.to_csv(path, index=False)
    assert read_weights(path, names) is None  # equal weights: the plain mean
    with pytest.raises(ValueError, match=r"ensemble.csv: no weight .*'deeplab'"):
        read_weights(path, [*names, "deeplab"])
    with pytest.raises(ValueError, match="not one of"):
        ensemble_table(names, probs, masks, "median")


class _LeftShift(torch.nn.Module):
    """A 'member' that is not mirror-symmetric: its logit at x is the film at x+1."""

    def forward(self, x):
        return torch.nn.functional.pad(x[..., 1:], (0, 1)) * 8 - 4


def test_flips_average_the_mirror_image_and_make_the_output_mirror_equivariant():
    images = np.random.default_rng(2).integers(0, 255, (3, 16, 16), dtype=np.uint8)
    model = _LeftShift()
    plain = predict_probs(model, images, 2, "cpu")
    flipped = predict_probs(model, images, 2, "cpu", flips=True)
    mirrored = predict_probs(model, images[..., ::-1].copy(), 2, "cpu")[..., ::-1]
    assert np.allclose(flipped, (plain + mirrored) / 2, atol=1e-6)
    assert not np.allclose(plain, flipped, atol=1e-3)
    again = predict_probs(model, images[..., ::-1].copy(), 2, "cpu", flips=True)
    assert np.allclose(again[..., ::-1], flipped, atol=1e-6)
    # weights reach the ensemble: one member alone gives that member's mask
    masks = segment([model, _Zero()], images, 0.5, "cpu", weights=np.array([1, 0]))
    solo = segment([model], images, 0.5, "cpu")
    assert np.array_equal(masks, solo) and masks.any()


class _Zero(torch.nn.Module):
    def forward(self, x):
        return torch.full_like(x, -10.0)


def test_bn_subset_is_fixed_and_all_by_default():
    images = np.arange(20 * 4).reshape(20, 2, 2)
    assert bn_subset(images, 0, 0) is images and bn_subset(images, 50, 0) is images
    sub = bn_subset(images, 6, 7)
    assert len(sub) == 6 and len({int(s[0, 0]) for s in sub}) == 6
    assert np.array_equal(sub, bn_subset(images, 6, 7))
    firsts = [int(s[0, 0]) for s in sub]
    assert firsts == sorted(firsts)


def test_a_films_probabilities_do_not_depend_on_the_films_beside_it():
    """A cache shard's batches and a query's hold different films, and different numbers
    of them: a film's probabilities must be the same byte for byte (CPU kernels differ
    with the batch's size, so every batch is filled to batch_size)."""
    torch.manual_seed(0)
    model = build_member("Unet", "efficientnet-b0", None).eval()
    model = model.to(memory_format=torch.channels_last)
    images = np.random.default_rng(0).integers(0, 255, (6, 64, 64), dtype=np.uint8)
    for flips in (False, True):
        together = predict_probs(model, images, 4, "cpu", 0, flips)
        for k in range(len(images)):
            alone = predict_probs(model, images[k : k + 1], 4, "cpu", 0, flips)
            assert np.array_equal(together[k], alone[0]), (flips, k)
        tail = predict_probs(model, images[3:], 4, "cpu", 0, flips)
        assert np.array_equal(together[3:], tail)
