"""Image decoding and the bad-input path: corrupt, truncated, missing, 16-bit, RGBA."""

import hashlib
import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from cxr_cbir.errors import InputError
from cxr_cbir.preprocess.cache import ImageCache, build_shard, gather_shards
from cxr_cbir.preprocess.decode import UnreadableImage, load_resized
from cxr_cbir.torch_utils import load_checkpoint


def _jpeg(path, value=128, size=(80, 100)):
    arr = np.full(size, value, np.uint8)
    arr[10:30, 10:30] = 255
    Image.fromarray(arr).save(path, quality=95)
    return arr


def test_jpeg_is_resized_to_square_uint8(tmp_path):
    _jpeg(tmp_path / "a.jpg")
    out = load_resized(tmp_path / "a.jpg", 32)
    assert out.shape == (32, 32) and out.dtype == np.uint8
    assert out.max() > 200 and 100 < np.median(out) < 160


def test_16bit_png_is_scaled_by_its_range(tmp_path):
    arr = np.linspace(1000, 4000, 64 * 64).reshape(64, 64).astype(np.uint16)
    Image.fromarray(arr).save(tmp_path / "a.png")
    out = load_resized(tmp_path / "a.png", 64)
    assert out.min() == 0 and out.max() == 255


def test_rgba_is_converted_to_gray(tmp_path):
    rgba = np.zeros((40, 40, 4), np.uint8)
    rgba[..., :3] = 200
    rgba[..., 3] = 255
    rgba[:20, :, 3] = 0  # transparent top half composites onto black
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    out = load_resized(tmp_path / "a.png", 40)
    assert out.shape == (40, 40)
    assert out[:20].max() == 0 and out[25:].min() == 200


@pytest.mark.parametrize(
    ("make", "kind"),
    [
        (lambda p: None, "missing"),
        (lambda p: p.write_bytes(b""), "corrupt"),
        (lambda p: p.write_bytes(b"not an image at all" * 50), "corrupt"),
    ],
)
def test_unreadable_files_raise_with_reason(tmp_path, make, kind):
    p = tmp_path / "x.jpg"
    make(p)
    with pytest.raises(UnreadableImage) as info:
        load_resized(p, 32)
    assert info.value.reason.startswith(kind)


def test_truncated_jpeg_is_reported_truncated(tmp_path):
    p = tmp_path / "t.jpg"
    arr = np.random.default_rng(0).integers(0, 255, (200, 200), dtype=np.uint8)
    Image.fromarray(arr).save(p, quality=95)
    p.write_bytes(p.read_bytes()[:3000])
    with pytest.raises(UnreadableImage) as info:
        load_resized(p, 32)
    assert info.value.reason.startswith("truncated")


def test_shards_list_rejects_and_gather_builds_cache(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    for i in range(5):
        _jpeg(root / f"{i}.jpg", value=40 * i)
    (root / "3.jpg").write_bytes(b"garbage")
    images = pd.DataFrame(
        {"image_id": [f"i{i}" for i in range(6)], "path": [f"{i}.jpg" for i in range(6)]}
    )
    for s in range(2):
        build_shard(images.iloc[s::2], str(root), 16, tmp_path / f"{s}.npz", tmp_path / f"{s}.csv")
    index = gather_shards(
        [str(tmp_path / f"{s}.npz") for s in range(2)],
        [str(tmp_path / f"{s}.csv") for s in range(2)],
        6,
        str(tmp_path / "images.npy"),
        str(tmp_path / "index.parquet"),
        str(tmp_path / "rejected.csv"),
        max_bad_fraction=0.5,
    )
    rejected = pd.read_csv(tmp_path / "rejected.csv")
    assert sorted(rejected["image_id"]) == ["i3", "i5"]
    assert {r.split(":")[0] for r in rejected["reason"]} == {"corrupt", "missing"}
    assert sorted(index["image_id"]) == ["i0", "i1", "i2", "i4"]
    cache = ImageCache(tmp_path / "images.npy", tmp_path / "index.parquet")
    assert cache.get("i4").shape == (16, 16)
    assert abs(int(np.median(cache.get("i4"))) - 160) <= 3
    assert "i3" not in cache
    # each film's fingerprint: a hash of its cached bytes; films of other values differ
    written = pd.read_parquet(tmp_path / "index.parquet").set_index("image_id")["fingerprint"]
    assert written["i4"] == hashlib.blake2b(cache.get("i4").tobytes(), digest_size=16).hexdigest()
    assert written.nunique() == len(written) == 4


def test_gather_fails_above_bad_fraction_but_keeps_the_list(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    _jpeg(root / "0.jpg")
    images = pd.DataFrame({"image_id": ["a", "b", "c"], "path": ["0.jpg", "1.jpg", "2.jpg"]})
    build_shard(images, str(root), 16, tmp_path / "0.npz", tmp_path / "0.csv")
    with pytest.raises(InputError, match=r"2 of 3 images are unreadable .*max_bad_fraction"):
        gather_shards(
            [str(tmp_path / "0.npz")],
            [str(tmp_path / "0.csv")],
            3,
            str(tmp_path / "images.npy"),
            str(tmp_path / "index.parquet"),
            str(tmp_path / "rejected.csv"),
            max_bad_fraction=0.1,
        )
    assert len(pd.read_csv(tmp_path / "rejected.csv")) == 2
    assert not (tmp_path / "images.npy").exists()


def test_checkpoint_that_is_not_weights_only_is_refused(tmp_path):
    class Payload:
        def __reduce__(self):
            return (print, ("code ran",))

    path = tmp_path / "evil.pt"
    torch.save({"model": Payload()}, path, pickle_module=pickle)
    with pytest.raises(InputError, match=r"evil\.pt: not a weights-only checkpoint"):
        load_checkpoint(path)
