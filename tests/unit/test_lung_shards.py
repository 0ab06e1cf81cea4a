"""Lung-mask inference and the masked cache, scattered over shards: the shard count
changes how the work is spread over jobs, never the masks or the cache."""

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from cxr_cbir.data.demo.phantom import Finding, Patient, Pose, render
from cxr_cbir.errors import InputError
from cxr_cbir.preprocess.films import FilmPreprocessing
from cxr_cbir.preprocess.lung_shards import mask_shard, shard_films
from cxr_cbir.run.shards import gather_images, save_arrays
from cxr_cbir.segmentation.apply import segment_shard
from cxr_cbir.segmentation.members import build_member

N_FILMS = 11


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """Eleven phantom films on disk, listed as the cache lists them: PNG and JPEG (the
    real archives' format) in turn, so that both decoders feed masks and cache."""
    root = tmp_path_factory.mktemp("films")
    rng = np.random.default_rng(3)
    rows = []
    for i in range(N_FILMS):
        finding = Finding(effusion=0.8, effusion_side="left") if i % 3 == 0 else Finding()
        ph = render(96, 96, "PA", Patient.sample(rng), finding, Pose.sample(rng), rng)
        name = f"f{i}.png" if i % 2 == 0 else f"f{i}.jpg"
        Image.fromarray((ph.image * 255).astype(np.uint8)).save(root / name)
        rows.append((f"img{i:02d}", name))
    images = pd.DataFrame(rows, columns=["image_id", "path"])
    index = pd.DataFrame({"image_id": images["image_id"][::-1].to_numpy(), "row": range(N_FILMS)})
    return root, images, index


@pytest.fixture(scope="module")
def members():
    torch.manual_seed(0)
    return [
        build_member("Unet", "efficientnet-b0").eval(),
        build_member("FPN", "efficientnet-b0").eval(),
    ]


def _run(archive, members, n_shards, tmp, mode="crop+mask"):
    root, images, index = archive
    seg = FilmPreprocessing(seg_size=64, threshold=0.5)
    prep = FilmPreprocessing(image_size=32, lung_mask=mode)
    mask_files, image_files, masks_all, no_lung_all = [], [], [], []
    for shard in range(n_shards):
        films = shard_films(index, images, shard, n_shards)
        masks, no_lung = segment_shard(films, str(root), seg, members, "cpu", batch_size=4)
        masks_all.append(masks)
        no_lung_all.append(no_lung)
        mask_files.append(tmp / f"m{n_shards}_{shard}.npz")
        save_arrays(str(mask_files[-1]), ids=films["image_id"].to_numpy(str), masks=masks)
        image_files.append(tmp / f"i{n_shards}_{shard}.npz")
        out = mask_shard(films, str(root), prep, masks)
        save_arrays(str(image_files[-1]), ids=films["image_id"].to_numpy(str), images=out)
    cache = tmp / f"cache{n_shards}.npy"
    gather_images([str(p) for p in image_files], index["image_id"], str(cache))
    return np.concatenate(masks_all), pd.concat(no_lung_all, ignore_index=True), np.load(cache)


def test_results_do_not_depend_on_the_shard_count(archive, members, tmp_path):
    masks1, no_lung1, cache1 = _run(archive, members, 1, tmp_path)
    masks3, no_lung3, cache3 = _run(archive, members, 3, tmp_path)
    masks5, _, cache5 = _run(archive, members, 5, tmp_path)  # more shards than some have films
    assert masks1.shape == (N_FILMS, 64, 64) and cache1.shape == (N_FILMS, 32, 32)
    # the random-init ensemble still finds something in some films: the comparison bites
    assert 0 < masks1.mean() < 1
    np.testing.assert_array_equal(masks1, masks3)
    np.testing.assert_array_equal(masks1, masks5)
    pd.testing.assert_frame_equal(no_lung1, no_lung3)
    np.testing.assert_array_equal(cache1, cache3)
    np.testing.assert_array_equal(cache1, cache5)


def test_the_cache_keeps_the_index_order(archive, members, tmp_path):
    root, images, index = archive
    _, _, cache = _run(archive, members, 3, tmp_path, mode="crop")
    prep = FilmPreprocessing(image_size=32, lung_mask="crop")
    films = shard_films(index, images, 0, 1)
    assert films["image_id"].tolist() == index["image_id"].tolist()  # reversed listing
    seg = FilmPreprocessing(seg_size=64)
    masks, _ = segment_shard(films.iloc[[4]], str(root), seg, members, "cpu")
    np.testing.assert_array_equal(cache[4], mask_shard(films.iloc[[4]], str(root), prep, masks)[0])


def test_gather_refuses_shards_of_other_films(tmp_path):
    a = tmp_path / "a.npz"
    save_arrays(str(a), ids=np.array(["x", "y"]), images=np.zeros((2, 4, 4), np.uint8))
    with pytest.raises(InputError, match="do not match"):
        gather_images([str(a)], ["y", "x"], str(tmp_path / "c.npy"))
    assert not (tmp_path / "c.npy").exists()


def test_no_lung_films_are_listed_and_keep_their_full_image(archive, tmp_path):
    root, images, index = archive

    class Nothing(torch.nn.Module):  # an ensemble that never finds a lung
        def forward(self, x):
            return torch.full_like(x, -10.0)

    films = shard_films(index, images, 1, 2)
    assert {p.rsplit(".", 1)[1] for p in films["path"]} == {"png", "jpg"}
    masks, no_lung = segment_shard(
        films, str(root), FilmPreprocessing(seg_size=64), [Nothing()], "cpu"
    )
    assert no_lung["image_id"].tolist() == films["image_id"].tolist()
    assert not masks.any()
    prep = FilmPreprocessing(image_size=32, lung_mask="crop+mask")
    out = mask_shard(films, str(root), prep, masks)
    plain = FilmPreprocessing(image_size=32)
    np.testing.assert_array_equal(out[0], plain.plain(root / films["path"].iloc[0]))
