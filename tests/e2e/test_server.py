"""`cxr-cbir serve`: the page answers as `cxr-cbir query` does, bad uploads get a message.

The Flask test client checks every bad-upload path; a real headless Chromium (Debian's
``chromium`` + ``chromium-driver``, driven by selenium) uploads a film and a broken file
through the page. Without Chromium that test skips, unless ``CXR_REQUIRE_BROWSER=1``
(set by ``.ci/run``, which installs it) makes it fail.
"""

import io
import os
import re
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from cxr_cbir.app.client import error_text, neighbour_ids, post_film
from cxr_cbir.app.query import QueryEngine
from cxr_cbir.app.server import MAX_UPLOAD_BYTES, create_app
from cxr_cbir.data.demo.dicom import write_dicom
from cxr_cbir.preprocess.decode import load_gray

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def engine(tiny_run):
    return QueryEngine("tiny", tiny_run)


@pytest.fixture(scope="module")
def client(engine):
    return create_app(engine).test_client()


def _film(tiny_run, engine, n=0):
    table = pd.read_parquet(tiny_run / "results/tiny/index/effusion/cnn.parquet")
    row = table[table["split"] == "test"].iloc[n]
    return row["image_id"], tiny_run / engine.settings["root"] / row["path"]


def _neighbour_ids(html: str) -> list[str]:
    return re.findall(r'<td class="image_id">([^<]+)</td>', html)


def _post(client, data: bytes, name: str, **form):
    fields = {"model": "cnn", "condition": "effusion", "k": "3", **form}
    fields["film"] = (io.BytesIO(data), name)
    return client.post("/query", data=fields, content_type="multipart/form-data")


def test_upload_shows_the_same_neighbours_as_the_query_command(tiny_run, engine, client):
    image_id, film = _film(tiny_run, engine)
    page = client.get("/")
    assert page.status_code == 200 and image_id in page.text  # in the test-film list
    for model in ("cnn", "ig", "dml"):
        resp = _post(client, film.read_bytes(), film.name, model=model)
        assert resp.status_code == 200, resp.text[:500]
        results, _ = engine.query([film], model, 3, "effusion")
        expected = results[0].neighbours["image_id"].tolist()
        assert _neighbour_ids(resp.text) == expected and len(expected) == 3
        # a film of the archive: neither itself nor its patient's films are neighbours
        assert not engine.same_patient(image_id) & set(expected)
        assert f"is film {image_id} of the archive" in resp.text
        assert resp.text.count('class="neighbour"') == 3
        assert resp.text.count('class="neighbour-film"') == 3  # the films, side by side
        assert "severity" in resp.text  # the catalogues' severity beside each neighbour
        kept = _post(client, film.read_bytes(), film.name, model=model, keep_same_patient="on")
        assert _neighbour_ids(kept.text)[0] == image_id  # the box keeps it: found first
    # picking one of the run's test films gives the same page as uploading it
    picked = client.post(
        "/query", data={"model": "cnn", "condition": "effusion", "k": "3", "test_film": image_id}
    )
    assert _neighbour_ids(picked.text) == _neighbour_ids(
        _post(client, film.read_bytes(), film.name).text
    )


def _png(array, mode=None) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array, mode).save(buf, format="PNG")
    return buf.getvalue()


def _bomb() -> bytes:
    buf = io.BytesIO()
    Image.new("L", (10_000, 10_000)).save(buf, format="PNG")
    return buf.getvalue()


def test_bad_uploads_get_a_message_and_the_server_keeps_answering(tiny_run, engine, client):
    _, film = _film(tiny_run, engine)
    good = film.read_bytes()
    cases = [
        (b"%PDF-1.4 not a film", "report.pdf", 400, "not a recognised image format"),
        (good[: len(good) // 2], "cut.jpg", 400, "truncated"),
        (_png(np.zeros((20, 30), np.uint8)), "tiny.png", 400, "30 x 20 px: at least 64 px"),
        (b"", "empty.jpg", 400, "empty file"),
        (b"\0" * (MAX_UPLOAD_BYTES + 1), "huge.jpg", 413, "larger than 64 MB"),
        (_bomb(), "bomb.png", 400, "exceeds limit"),  # 10,000 x 10,000 px in 100 kB
    ]
    for data, name, status, message in cases:
        resp = _post(client, data, name)
        assert resp.status_code == status, (name, resp.text[:300])
        assert 'id="error"' in resp.text and message in resp.text, (name, resp.text[:600])
    wide = (np.linspace(0, 60000, 128 * 128).reshape(128, 128)).astype(np.uint16)
    resp = _post(client, _png(wide), "sixteen.png")
    assert resp.status_code == 200 and "scaled to 8 bits" in resp.text
    resp = client.post("/query", data={"model": "vgg", "condition": "effusion", "k": "3"})
    assert resp.status_code == 400 and "unknown for run tiny" in resp.text
    resp = client.post("/query", data={"model": "cnn", "condition": "effusion", "k": "x"})
    assert resp.status_code == 400 and "not a whole number" in resp.text
    assert _post(client, good, film.name).status_code == 200  # still serving


def _browser(profile):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not (chromium and driver):
        if os.environ.get("CXR_REQUIRE_BROWSER"):
            pytest.fail("CXR_REQUIRE_BROWSER is set but chromium/chromedriver are not installed")
        pytest.skip("no chromium + chromedriver (apt install chromium chromium-driver)")
    try:
        from selenium import webdriver
    except ImportError:
        if os.environ.get("CXR_REQUIRE_BROWSER"):
            pytest.fail("CXR_REQUIRE_BROWSER is set but selenium is not installed")
        pytest.skip("no selenium (pip install selenium)")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        "--no-first-run",
        "--window-size=1920,1080",  # a reading room's screen
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    from selenium.common.exceptions import WebDriverException

    try:
        return webdriver.Chrome(service=Service(executable_path=driver), options=options)
    except WebDriverException as exc:  # one retry: a loaded CI machine can be slow to start it
        print(f"chromium did not start ({exc.msg}); retrying once")
        return webdriver.Chrome(service=Service(executable_path=driver), options=options)


@pytest.fixture(scope="module")
def served(engine):
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, create_app(engine), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_in_a_real_browser(tiny_run, engine, served, tmp_path):
    """Headless Chromium uploads a film and a broken file through the page."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    def submit():
        """Click the button and wait for the answer page (not the old one) to load."""
        old = browser.find_element(By.TAG_NAME, "html")
        browser.find_element(By.ID, "submit").click()
        WebDriverWait(browser, 120).until(ec.staleness_of(old))
        WebDriverWait(browser, 120).until(
            lambda b: b.execute_script("return document.readyState") == "complete"
        )

    image_id, film = _film(tiny_run, engine, n=1)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(film.read_bytes()[:300])
    browser = _browser(tmp_path / "profile")
    try:
        browser.set_page_load_timeout(120)
        browser.get(served + "/")
        assert "cxr-cbir" in browser.title
        browser.find_element(By.ID, "film").send_keys(str(film))
        Select(browser.find_element(By.ID, "model")).select_by_value("att")
        Select(browser.find_element(By.ID, "condition")).select_by_value("effusion")
        browser.find_element(By.ID, "k").clear()
        browser.find_element(By.ID, "k").send_keys("4")
        submit()
        cells = browser.find_elements(By.CSS_SELECTOR, "#neighbours td.image_id")
        shown = [c.text for c in cells]
        results, _ = engine.query([film], "att", 4, "effusion")
        assert shown == results[0].neighbours["image_id"].tolist()
        assert image_id not in shown  # left out: the query's own film
        films = browser.find_elements(By.CSS_SELECTOR, "#films img.film")
        seen = browser.find_elements(By.CSS_SELECTOR, "#films img.seen")
        assert len(films) == len(seen) == 5  # the query and 4 neighbours, both views
        sides = [
            browser.execute_script(
                "return Math.max(arguments[0].naturalWidth, arguments[0].naturalHeight)", i
            )
            for i in films
        ]
        assert sides == [320] * 5  # large enough to read, every picture decoded
        tops = [f.location["y"] for f in films]  # the query's frame is 1 px thicker
        assert max(tops) - min(tops) <= 4  # side by side: one row on a 1920 px screen
        assert all(f.is_displayed() for f in films) and not any(s.is_displayed() for s in seen)
        browser.find_element(By.ID, "overlay-toggle").click()  # what the model saw
        assert all(s.is_displayed() for s in seen) and not any(f.is_displayed() for f in films)
        if os.environ.get("CXR_SCREENSHOT"):  # a picture of the page, e.g. for the README
            browser.save_screenshot(os.environ["CXR_SCREENSHOT"])
        browser.find_element(By.ID, "film").send_keys(str(broken))
        submit()
        error = browser.find_element(By.ID, "error").text
        assert "cannot be read as a film" in error and "truncated" in error
    finally:
        browser.quit()


def _dicom_of(film, path):
    """The archive film as a 12-bit MONOCHROME1 DICOM (inverted, windowed over its range)."""
    pixels = 4095 - load_gray(film, 64).astype(np.int64) * 16
    return write_dicom(path, pixels, "MONOCHROME1", WindowCenter=2040, WindowWidth=4080)


def test_dicom_uploads_are_read_and_bad_ones_named(tiny_run, engine, client, tmp_path):
    _, film = _film(tiny_run, engine)
    dcm = _dicom_of(film, tmp_path / "film.dcm")
    resp = _post(client, dcm.read_bytes(), "film.dcm")
    assert resp.status_code == 200, resp.text[:500]
    assert "DICOM film" in resp.text
    (result,), _ = engine.query([dcm], "cnn", 3, "effusion")
    assert _neighbour_ids(resp.text) == result.neighbours["image_id"].tolist()
    frames = write_dicom(tmp_path / "mf.dcm", np.zeros((2, 64, 64), np.int64))
    resp = _post(client, frames.read_bytes(), "mf.dcm")
    assert resp.status_code == 400 and "multi-frame DICOM (2 frames)" in resp.text


def test_concurrent_uploads_good_and_bad_are_all_answered(tiny_run, engine, served, tmp_path):
    """Eight clients at once send 32 uploads (JPEG, DICOM, broken files) to the page on
    127.0.0.1: every request gets its answer, the good ones the neighbours a lone query
    gets, the bad ones their reason, and the server still answers afterwards."""
    fields = {"model": "cnn", "condition": "effusion", "k": "3"}
    good = [_film(tiny_run, engine, n)[1] for n in range(3)]
    good.append(_dicom_of(good[0], tmp_path / "film.dcm"))
    expected = {
        f.name: engine.query([f], "cnn", 3, "effusion")[0][0].neighbours["image_id"].tolist()
        for f in good
    }  # before the server shares the engine: the page's lock serialises its own queries
    jpeg = good[0].read_bytes()
    bad = {
        "cut.jpg": (jpeg[: len(jpeg) // 2], "truncated"),
        "report.pdf": (b"%PDF-1.4 not a film", "not a recognised image format"),
        "mf.dcm": (
            write_dicom(tmp_path / "mf.dcm", np.zeros((2, 64, 64), np.int64)).read_bytes(),
            "multi-frame",
        ),
        "sr.dcm": (write_dicom(tmp_path / "sr.dcm", None).read_bytes(), "without pixel data"),
    }
    jobs = [(f.read_bytes(), f.name) for f in good] + [(d, n) for n, (d, _) in bad.items()]
    jobs = jobs * 4
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda job: post_film(served, *job, fields), jobs))
    assert len(answers) == len(jobs) == 32
    for (_, name), (status, page, _) in zip(jobs, answers, strict=True):
        if name in expected:
            assert status == 200, (name, error_text(page))
            assert neighbour_ids(page) == expected[name], name
        else:
            assert status == 400 and bad[name][1] in (error_text(page) or ""), (name, page[:300])
    status, page, _ = post_film(served, jpeg, good[0].name, fields)
    assert status == 200 and neighbour_ids(page) == expected[good[0].name]
