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

pytestmark = pytest.mark.slow


def _cohort_film(tiny_run, condition="effusion"):
    cohort = pd.read_parquet(tiny_run / f"results/tiny/data/{condition}/cohort.parquet")
    row = cohort.iloc[0]
    return row["image_id"], tiny_run / "results/tiny/archive" / row["path"]


@pytest.mark.parametrize("model", ["ig", "att", "dml"])
def test_archive_film_finds_itself_first(tiny_run, model, capsys, monkeypatch):
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
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0].startswith(f"top 3 for {film}")
    header, first, second = lines[1].split(), lines[2].split(), lines[3].split()
    assert header[:3] == ["rank", "image_id", "distance"]
    assert first[:2] == ["1", image_id]  # preprocessed as the run did: its own embedding
    assert float(first[2]) <= 0.05 * float(second[2])
    assert "age" in header and "intubated" in header  # clinical fields when known
    assert ("label" if model != "dml" else "finding") in header
    with Image.open(panel) as im:
        assert im.format == "PNG" and im.size[0] > im.size[1]


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
    code = main([*args, "-k", "2", "--directory", str(tiny_run), "--out", str(out)])
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
