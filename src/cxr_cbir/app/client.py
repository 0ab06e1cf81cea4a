"""A small client of ``cxr-cbir serve`` (standard library only): post a film, read the answer.

For scripts that query a running page, the load benchmark (``bench/bench_serve.py``) and
the tests: ``post_film`` sends one upload as the page's form does and returns the HTTP
status, the page and the seconds it took; ``neighbour_ids`` and ``error_text`` read the
neighbours' ids and the error message back from the page.
"""

from __future__ import annotations

import html
import re
import time
import urllib.error
import urllib.request
import uuid

_NEIGHBOUR = re.compile(r'<td class="image_id">([^<]+)</td>')
_ERROR = re.compile(r'<div class="error" id="error">(.*?)</div>', re.S)


def _multipart(fields: dict[str, str], film: bytes, name: str) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
        for key, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="film"; filename="{name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + film
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def post_film(
    url: str, film: bytes, name: str, fields: dict[str, str], timeout: float = 600
) -> tuple[int, str, float]:
    """(HTTP status, page, seconds) of uploading ``film`` (bytes, shown as ``name``) with
    the form ``fields`` (model, condition, k, ...) to the page at ``url``."""
    body, content_type = _multipart(fields, film, name)
    request = urllib.request.Request(
        url.rstrip("/") + "/query", data=body, headers={"Content-Type": content_type}
    )
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, page = response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as exc:  # 400 / 413: the page with the error message
        status, page = exc.code, exc.read().decode("utf-8")
    return status, page, time.perf_counter() - start


def neighbour_ids(page: str) -> list[str]:
    """The neighbours' image ids, in rank order, of an answer page."""
    return [html.unescape(i) for i in _NEIGHBOUR.findall(page)]


def error_text(page: str) -> str | None:
    """The page's error message, or None."""
    found = _ERROR.search(page)
    return html.unescape(found.group(1)) if found else None
