"""Torch helpers shared by every training, saliency and embedding job.

Device choice (CUDA when present, CPU otherwise), thread count, seeding, and
weights-only checkpoints written atomically so that a killed job never leaves a
checkpoint that looks complete.
"""

from __future__ import annotations

import logging
import os
import random
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from cxr_cbir.errors import InputError
from cxr_cbir.io_utils import atomic_path


def pick_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def set_threads(n: int | None) -> None:
    if n:
        torch.set_num_threads(int(n))


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def save_checkpoint(state: dict, path: str | os.PathLike) -> None:
    """Save a dict of tensors / numbers / strings (weights-only loadable), atomically."""
    atomic_path(path, lambda tmp: torch.save(state, tmp))


def load_checkpoint(path: str | os.PathLike, map_location="cpu") -> dict:
    """Load with ``weights_only=True``; a pickle with code in it is refused, naming the file."""
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise InputError(f"{path}: checkpoint not found") from None
    except Exception as exc:  # torch raises UnpicklingError / RuntimeError variants
        raise InputError(
            f"{path}: not a weights-only checkpoint (refusing to unpickle code): {exc}"
        ) from None


def load_state_dict_file(
    model: torch.nn.Module, path: str | os.PathLike, strict=False
) -> list[str]:
    """Initialise ``model`` from a local weights file; returns the keys that were missing."""
    state = load_checkpoint(path)
    if "model" in state and isinstance(state["model"], dict):
        state = state["model"]
    own = model.state_dict()
    usable = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    if not usable:
        raise InputError(f"{path}: no tensor matches the model's parameter names and shapes")
    missing = model.load_state_dict(usable, strict=False).missing_keys
    if strict and missing:
        raise InputError(f"{path}: missing weights for {missing[:5]}")
    return missing


def resume(checkpoint, fingerprint: str, model, optimizer, device) -> dict | None:
    """Load model and optimizer from ``checkpoint`` when it was made with the same settings.

    Returns the checkpoint's state (for the trainer's own counters), or None to start afresh.
    """
    if not Path(checkpoint).exists():
        return None
    state = load_checkpoint(checkpoint, map_location=device)
    if state.get("fingerprint") != fingerprint:
        logging.getLogger(__name__).warning(
            "ignoring checkpoint %s: made with other settings", checkpoint
        )
        return None
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    return state


def history_to_state(history: list[dict]) -> dict:
    """A list of per-epoch dicts as weights-only-loadable tensors."""
    frame = pd.DataFrame(history)
    return {c: torch.tensor(frame[c].to_numpy(np.float64)) for c in frame}


def history_from_state(state: dict) -> list[dict]:
    frame = pd.DataFrame({k: v.tolist() for k, v in state["history"].items()})
    for col in ("epoch", "iteration"):
        if col in frame:
            frame[col] = frame[col].astype(int)
    return frame.to_dict("records")
