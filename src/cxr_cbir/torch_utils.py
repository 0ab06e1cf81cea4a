"""Torch helpers shared by every training, saliency and embedding job.

Device choice (CUDA when present, CPU otherwise), thread count, seeding, and
weights-only checkpoints written atomically so that a killed job never leaves a
checkpoint that looks complete.
"""

from __future__ import annotations

import os
import random

import numpy as np
import torch

from .errors import InputError
from .io_utils import atomic_path


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
