"""`cxr-cbir query`: a film of the archive finds itself first; errors name what is wrong."""

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from cxr_cbir.cli import main

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
    assert str(bad) in err and "corrupt" in err
    assert main(["query", str(tmp_path / "none.jpg"), "--run", "tiny"]) == 2
    assert "none.jpg: no such film" in capsys.readouterr().err


def test_console_script_is_installed():
    script = Path(sys.executable).parent / "cxr-cbir"
    proc = subprocess.run([str(script), "query", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "--model" in proc.stdout and "-k" in proc.stdout
