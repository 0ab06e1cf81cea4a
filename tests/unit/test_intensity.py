"""Histogram equalisation: films of two sources that differ only in grey level and
contrast become the same film; the lung mask's outside stays black; the run's settings
carry it to the cache and to the query."""

import numpy as np
import pytest
from PIL import Image

from cxr_cbir.preprocess.films import FilmPreprocessing
from cxr_cbir.preprocess.intensity import equalize, normalise


def _film(seed=0, size=48):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    base = 60 + 0.8 * xx + 0.5 * yy + rng.normal(0, 6, (size, size))
    return np.clip(base, 0, 255).astype(np.uint8)


def test_a_washed_out_copy_equalises_to_the_same_film():
    film = _film()
    washed = (150 + film.astype(float) * 0.4).astype(np.uint8)  # JSRT-like: bright, flat
    assert abs(float(film.mean()) - float(washed.mean())) > 50
    a, b = equalize(film), equalize(washed)
    # the mapping is monotone, so only merged grey levels can differ
    assert np.abs(a.astype(int) - b.astype(int)).mean() < 3
    assert abs(float(a.mean()) - 128) < 3 and abs(float(b.mean()) - 128) < 3
    assert a.min() >= 1 and a.max() >= 250
    # grey levels keep their order
    order = np.argsort(film.ravel(), kind="stable")
    assert (np.diff(a.ravel()[order].astype(int)) >= 0).all()


def test_masked_film_equalises_its_lung_only():
    film = _film(1)
    inside = np.zeros(film.shape, bool)
    inside[8:40, 6:22] = inside[8:40, 26:42] = True
    masked = np.where(inside, film, 0).astype(np.uint8)
    out = normalise(masked, "equalize", masked=True)
    assert (out[~inside] == 0).all()
    assert out[inside].min() >= 1 and abs(float(out[inside].mean()) - 128) < 4
    # unmasked equalisation would count the black outside as the darkest share
    whole = normalise(masked, "equalize")
    assert float(whole[inside].mean()) > float(out[inside].mean()) + 30
    assert normalise(masked, "none") is masked
    with pytest.raises(ValueError, match="unknown mode 'clahe'"):
        normalise(masked, "clahe")


def test_preprocessing_applies_it_last_and_reads_it_from_the_settings(tmp_path):
    film = _film(2, 96)
    Image.fromarray((150 + film * 0.4).astype(np.uint8)).save(tmp_path / "a.png")
    settings = {"image_size": 32, "lung_mask": "crop+mask", "intensity": "equalize"}
    prep = FilmPreprocessing.from_settings(settings)
    assert prep.intensity == "equalize"
    plain = FilmPreprocessing(image_size=32).plain(tmp_path / "a.png")
    assert plain.mean() > 170
    eq = prep.plain(tmp_path / "a.png")
    assert abs(float(eq.mean()) - 128) < 4
    mask = np.zeros((96, 96), bool)
    mask[20:80, 10:86] = True
    lungs = prep.apply_mask(tmp_path / "a.png", mask)
    assert abs(float(lungs[lungs > 0].mean()) - 128) < 6
    # a run without the setting (older settings.json) keeps its films as they were
    assert FilmPreprocessing.from_settings({"image_size": 32}).intensity == "none"
    with pytest.raises(ValueError, match="intensity"):
        FilmPreprocessing(image_size=32, intensity="gamma")
