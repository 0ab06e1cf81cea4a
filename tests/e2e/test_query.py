"""`cxr-cbir query`: a film of the archive finds itself first; errors name what is wrong."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from cxr_cbir.app.cli import main
from cxr_cbir.app.query import QueryEngine
from cxr_cbir.preprocess.cache import fingerprint

pytestmark = pytest.mark.slow


def _cohort_film(tiny_run, condition="effusion"):
    cohort = pd.read_parquet(tiny_run / f"results/tiny/data/{condition}/cohort.parquet")
    row = cohort.iloc[0]
    return row["image_id"], tiny_run / "results/tiny/archive" / row["path"]


@pytest.mark.parametrize("model", ["ig", "att", "dml"])
def test_archive_film_finds_itself_first_when_kept(tiny_run, model, capsys, monkeypatch):
    image_id, film = _cohort_film(tiny_run)
    panel = tiny_run / f"query_{model}.png"
    code = main(
        [
            "query",
            str(film),
            "--run",
            "tiny",
            "--model",
            model,
            "-k",
            "3",
            "--panel",
            str(panel),
            "--condition",
            "effusion",
            "--directory",
            str(tiny_run),
            "--keep-same-patient",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0].startswith(f"top 3 for {film}")
    assert lines[1] == f"(film {image_id} of the archive: its own and its patient's films are kept)"
    header, first, second = lines[2].split(), lines[3].split(), lines[4].split()
    assert header[:3] == ["rank", "image_id", "distance"]
    assert first[:2] == ["1", image_id]  # preprocessed as the run did: its own embedding
    assert float(first[2]) <= 0.05 * float(second[2])
    assert "age" in header and "intubated" in header  # clinical fields when known
    assert ("label" if model != "dml" else "finding") in header
    with Image.open(panel) as im:
        assert im.format == "PNG" and im.size[0] > im.size[1]


def test_a_film_of_the_archive_gets_other_patients_films(tiny_run, tmp_path):
    """By default the query's own film and its patient's films are left out; the order
    of the rest is the kept search's. A film not of the archive loses nothing."""
    manifest = pd.read_parquet(tiny_run / "results/tiny/data/manifest.parquet")
    index = pd.read_parquet(tiny_run / "results/tiny/index/effusion/cnn.parquet")
    films = index  # the index tables carry each film's patient (group)
    counts = films["group"].value_counts()
    row = films[films["group"] == counts.index[0]].iloc[0]
    assert counts.iloc[0] >= 2  # a patient with several films in the index
    film = tiny_run / "results/tiny/archive" / row["path"]
    engine = QueryEngine("tiny", tiny_run)
    same = engine.same_patient(row["image_id"])
    assert same == set(manifest.loc[manifest["group"] == row["group"], "image_id"])
    (kept,), _ = engine.query([film], "cnn", 20, "effusion", keep_same_patient=True)
    (left,), _ = engine.query([film], "cnn", 10, "effusion")
    kept_ids, ids = kept.neighbours["image_id"].tolist(), left.neighbours["image_id"].tolist()
    assert kept_ids[0] == row["image_id"] and kept.archive_id == left.archive_id == row["image_id"]
    assert len(ids) == 10 and not same & set(ids)
    assert ids == [i for i in kept_ids if i not in same][:10]
    assert left.neighbours["rank"].tolist() == list(range(1, 11))
    last = kept_ids.index(ids[-1])
    assert left.left_out == sum(i in same for i in kept_ids[:last]) >= 1
    # the same film under another name (an upload) is still recognised: by its pixels
    renamed = tmp_path / "upload.jpg"
    renamed.write_bytes(film.read_bytes())
    (again,), _ = engine.query([renamed], "cnn", 10, "effusion")
    assert again.archive_id == row["image_id"]
    # a film not of the archive (mirrored): nothing left out
    mirrored = tmp_path / "mirrored.png"
    Image.open(film).transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(mirrored)
    (new,), _ = engine.query([mirrored], "cnn", 10, "effusion")
    assert new.archive_id is None and new.left_out == 0


def test_archive_films_are_recognised_from_the_index_fingerprints(tiny_run, tmp_path, monkeypatch):
    """The workflow writes each cached film's fingerprint in the cache index, so the
    engine recognises archive films without reading the cache; a run whose index has
    no fingerprints (from before) is fingerprinted from its cache, with the same answer."""
    engine = QueryEngine("tiny", tiny_run)
    index = pd.read_parquet(tiny_run / engine.settings["cache_index"])
    cache = engine.cache()
    assert index["fingerprint"].str.fullmatch("[0-9a-f]{32}").all()
    assert index["fingerprint"].tolist() == [fingerprint(cache.images[r]) for r in index["row"]]
    ids, films, _ = _archive_films(tiny_run, engine, "effusion", "cnn", n=3)
    images, _ = engine.preprocess(films)
    mirrored = images[:, :, ::-1]  # not a film of the archive
    fresh = QueryEngine("tiny", tiny_run)
    monkeypatch.setattr(fresh, "cache", lambda: pytest.fail("the cache was read"))
    assert fresh.archive_films(np.concatenate([images, mirrored])) == [*ids, None, None, None]
    monkeypatch.undo()
    old = QueryEngine("tiny", tiny_run)
    old.settings["cache_index"] = str(tmp_path / "index.parquet")
    index.drop(columns="fingerprint").to_parquet(old.settings["cache_index"])
    assert old.archive_films(np.concatenate([images, mirrored])) == [*ids, None, None, None]


def test_query_errors_name_the_problem(tiny_run, tmp_path, capsys):
    _, film = _cohort_film(tiny_run)
    cases = [
        (["--model", "vgg"], "--model 'vgg': unknown for run tiny"),
        (["--model", "ig", "--condition", "gout"], "--condition 'gout'"),
        (["--run", "nope"], "results/nope/index/settings.json: not found"),
    ]
    for extra, message in cases:
        args = ["query", str(film), "--directory", str(tiny_run)]
        args += extra if "--run" in extra else ["--run", "tiny", *extra]
        assert main(args) == 2
        assert message in capsys.readouterr().err
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    assert main(["query", str(bad), "--run", "tiny", "--directory", str(tiny_run)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "truncated" in err  # a JPEG marker, then no image data
    assert main(["query", str(tmp_path / "none.jpg"), "--run", "tiny"]) == 2
    assert "none.jpg: no such film" in capsys.readouterr().err


def test_console_script_is_installed():
    script = Path(sys.executable).parent / "cxr-cbir"
    proc = subprocess.run([str(script), "query", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "--model" in proc.stdout and "-k" in proc.stdout


def _archive_films(tiny_run, engine, scope, model, n=3):
    """(image ids, film paths, archive vectors) of ``n`` embedded archive films."""
    out = tiny_run / "results/tiny"
    with np.load(out / "embeddings" / scope / f"{model}.npz") as z:
        ids, vectors = z["ids"].astype(str), z["vectors"]
    table = pd.read_parquet(out / "index" / scope / f"{model}.parquet").set_index("image_id")
    rows = np.linspace(0, len(ids) - 1, n).astype(int)
    films = [tiny_run / engine.settings["root"] / table.loc[ids[r], "path"] for r in rows]
    return ids[rows], films, vectors[rows]


@pytest.mark.parametrize(
    "scope,model",
    [("effusion", m) for m in ("cnn", "ig", "att", "cnn_ig", "cnn_sev", "sev")]
    + [("metric", "dml"), ("metric", "ce")],
)
def test_query_of_an_archive_film_gives_its_archive_vector(tiny_run, scope, model):
    """One preprocessing path: the query's image is the cache's, byte for byte, and its
    vector the one the workflow's embedding job wrote (float tolerance only)."""
    engine = QueryEngine("tiny", tiny_run)
    ids, films, archive = _archive_films(tiny_run, engine, scope, model)
    images, failed = engine.preprocess(films)
    assert not failed
    np.testing.assert_array_equal(images, engine.cache().stack(ids))
    vectors, _ = engine.embed(images, scope, model)
    scale = np.abs(archive).max()
    np.testing.assert_allclose(vectors, archive, rtol=1e-4, atol=1e-5 * scale)


def test_batch_query_of_films_and_a_folder(tiny_run, tmp_path, capsys):
    """Many films in one call: one table per film, one CSV with --out, a broken film is
    named on stderr (exit 2) and the others are still answered."""
    engine = QueryEngine("tiny", tiny_run)
    ids, films, _ = _archive_films(tiny_run, engine, "effusion", "cnn", n=3)
    folder = tmp_path / "films"
    folder.mkdir()
    for f in films[:2]:
        (folder / f.name).write_bytes(f.read_bytes())
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not a png")
    out = tmp_path / "neighbours.csv"
    args = ["query", str(folder), str(films[2]), str(broken), "--run", "tiny", "--model", "cnn"]
    keep = "--keep-same-patient"  # so that each archive film finds itself first
    code = main([*args, "-k", "2", "--directory", str(tiny_run), "--out", str(out), keep])
    captured = capsys.readouterr()
    assert code == 2
    assert f"{broken}: corrupt" in captured.err
    assert captured.out.count("top 2 for ") == 3
    table = pd.read_csv(out)
    assert len(table) == 6 and list(table.columns[:4]) == ["query", "rank", "image_id", "distance"]
    firsts = table[table["rank"] == 1].set_index("query")["image_id"]
    expected = {str(folder / films[0].name): ids[0], str(folder / films[1].name): ids[1]}
    expected[str(films[2])] = ids[2]
    assert firsts.to_dict() == expected  # each archive film finds itself first
    panels = tmp_path / "panels"
    code = main(
        [
            "query",
            str(folder),
            "--run",
            "tiny",
            "--model",
            "dml",
            "--directory",
            str(tiny_run),
            "--panels",
            str(panels),
        ]
    )
    assert code == 0
    assert sorted(p.name for p in panels.iterdir()) == sorted(
        f"{f.stem}_dml.png" for f in films[:2]
    )


def test_the_run_layout_is_what_the_workflow_wrote(tiny_run):
    """One run contract: the paths the query engine reads (RunLayout) are the files the
    workflow wrote, and the indexes it lists are all the run has."""
    engine = QueryEngine("tiny", tiny_run)
    layout, settings = engine.layout, engine.settings
    written = {(p.parent.name, p.stem) for p in (tiny_run / layout.out / "index").glob("*/*.npz")}
    assert written == set(engine.indexed()) and len(written) == 14
    files = [layout.index_table(s, m) for s, m in engine.indexed()]
    for condition in settings["conditions"]:
        files += [layout.model(condition, m) for m in settings["condition_models"]]
        files += [layout.readout(condition), layout.severity_scaler(condition)]
        files += [layout.model(condition, "sev"), layout.saliency_maps(condition)]
        files += [layout.saliency_ids(condition)]
    files += [layout.model("metric", m) for m in settings["metric_methods"]]
    files += [layout.seg_member(m) for m in settings["segmentation"]["members"]]
    missing = [f for f in files + [layout.seg_ensemble] if not (tiny_run / f).is_file()]
    assert not missing
    assert settings["condition_models"] == ["att", "cnn", "ig"]


def test_a_folder_with_dicom_films_one_bar_and_the_bad_ones_named(tiny_run, tmp_path, capsys):
    """A folder of 20 films, JPEG and DICOM, two of them bad DICOM: one progress bar for
    the command, every good film answered, each bad one named with its reason."""
    from cxr_cbir.data.demo.dicom import write_dicom
    from cxr_cbir.preprocess.decode import load_gray

    cohort = pd.read_parquet(tiny_run / "results/tiny/data/effusion/cohort.parquet")
    folder = tmp_path / "films"
    folder.mkdir()
    for _, row in cohort.head(16).iterrows():
        film = tiny_run / "results/tiny/archive" / row["path"]
        (folder / f"{row['image_id']}.jpg").write_bytes(film.read_bytes())
    grey = load_gray(tiny_run / "results/tiny/archive" / cohort.iloc[0]["path"], 64)
    write_dicom(folder / "m2.dcm", grey.astype(np.int64), bits_stored=8)
    write_dicom(folder / "m1.dcm", 255 - grey.astype(np.int64), "MONOCHROME1", bits_stored=8)
    write_dicom(folder / "frames.dcm", np.stack([grey, grey]).astype(np.int64), bits_stored=8)
    write_dicom(folder / "empty.dcm", None)
    out = tmp_path / "n.csv"
    args = ["query", str(folder), "--run", "tiny", "--model", "cnn", "--condition", "effusion"]
    code = main([*args, "-k", "3", "--directory", str(tiny_run), "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 2  # some films could not be read
    table = pd.read_csv(out)
    assert table["query"].nunique() == 18 and len(table) == 18 * 3
    # a MONOCHROME1 film is inverted back: the same neighbours as its MONOCHROME2 twin
    m1, m2 = (table[table["query"].str.endswith(n)] for n in ("m1.dcm", "m2.dcm"))
    assert m1["image_id"].tolist() == m2["image_id"].tolist()
    assert f"{folder / 'frames.dcm'}: DICOM: multi-frame DICOM (2 frames)" in captured.err
    assert f"{folder / 'empty.dcm'}: DICOM: DICOM without pixel data" in captured.err
    bars = [line for line in captured.err.replace("\r", "\n").splitlines() if "%|" in line]
    assert bars and all(b.startswith("query cnn") for b in bars)  # no bar of an inner step
    assert bars[-1].startswith("query cnn: 100%") and "20/20" in bars[-1]
