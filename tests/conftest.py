"""Shared fixtures: the shared real data, one tiny run of the workflow, offline weight caches."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from support.workflow import SHARED, TINY, run_snakemake


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data, or a skip (a failure when CXR_REQUIRE_SHARED_DATA=1)."""
    if not (SHARED / "cxr-real" / "metadata.csv").exists():
        msg = f"real data not found at {SHARED} (see DEVELOPERS.md)"
        if os.environ.get("CXR_REQUIRE_SHARED_DATA") == "1":
            pytest.fail(msg + "; CXR_REQUIRE_SHARED_DATA=1 requires it")
        pytest.skip(msg)
    return SHARED


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """One complete run of the workflow on the tiny config, shared by the end-to-end tests."""
    if os.environ.get("CXR_TINY_RUN"):  # developers: reuse a folder, brought up to date
        workdir = Path(os.environ["CXR_TINY_RUN"])
        workdir.mkdir(parents=True, exist_ok=True)
    else:
        workdir = tmp_path_factory.mktemp("tiny")
    shutil.copy(TINY, workdir / "tiny.yaml")
    run_snakemake(workdir, workdir / "tiny.yaml")
    return workdir


@pytest.fixture
def caches(tmp_path, monkeypatch):
    """Empty torch.hub and torchxrayvision cache folders; any download attempt fails."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))

    def no_network(*args, **kwargs):
        raise ConnectionError("network is unreachable")

    import torch
    import torchxrayvision as xrv

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_network)
    monkeypatch.setattr(xrv.utils, "download", no_network)
    return tmp_path
