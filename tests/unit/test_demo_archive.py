"""The synthetic demo archive: the same films whatever the number of render workers."""

import gzip
import hashlib

from cxr_cbir.data.demo.archive import generate_archive


def _digest(root):
    """sha256 of every file's content (gzip: decompressed, its header holds a time)."""
    out = {}
    for p in sorted(p for p in root.rglob("*") if p.is_file()):
        data = gzip.decompress(p.read_bytes()) if p.suffix == ".gz" else p.read_bytes()
        out[p.relative_to(root).as_posix()] = hashlib.sha256(data).hexdigest()
    return out


def _archive(root, workers):
    return generate_archive(
        root=root,
        n_subjects=12,
        seed=3,
        split_fractions={"train": 0.7, "validate": 0.1, "test": 0.2},
        conditions={},
        catalogues={"n_queries": 0, "size": 10},
        raters={"R1": 0.0},
        n_corrupt=2,
        workers=workers,
    )


def test_archive_is_identical_for_one_and_two_workers(tmp_path):
    one, two = _archive(tmp_path / "one", 1), _archive(tmp_path / "two", 2)
    assert one.equals(two)
    a, b = _digest(tmp_path / "one"), _digest(tmp_path / "two")
    # every film has its JPEG and lung mask (of two broken films one is truncated, one gone)
    assert sum(k.endswith(".jpg") for k in a) == len(one) - 1
    assert sum(k.endswith(".png") for k in a) == len(one)
    assert a == b
