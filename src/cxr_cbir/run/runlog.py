"""Logging for rule scripts: logging, warnings and progress bars all go to the rule's log."""

from __future__ import annotations

import logging
import sys
from pathlib import Path


def setup(log_path: str | None, name: str = "cxr_cbir") -> logging.Logger:
    """Send logging, warnings and stderr (progress bars) of this process to ``log_path``."""
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        stream = open(log_path, "a", buffering=1)  # noqa: SIM115 - lives as long as the job
        sys.stderr = stream
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
        force=True,
    )
    logging.captureWarnings(True)
    return logging.getLogger(name)
