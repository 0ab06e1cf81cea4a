"""Apply lung masks to the retrieval images: ``none``, ``crop``, ``mask`` or ``crop+mask``.

``crop`` cuts the film to the bounding box of the lungs (plus a margin) before resizing,
so the lungs fill the cached image at full resolution; ``mask`` blacks out everything
outside the lungs; ``crop+mask`` does both (Zhong et al.). A film where the ensemble
found no lung keeps its full image (it is listed by the segmentation stage).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

MODES = ("none", "crop", "mask", "crop+mask")


def apply_mode(image: np.ndarray, mask: np.ndarray, mode: str, size: int, margin: float = 0.05):
    """``image`` uint8 (H, W) at any size; ``mask`` bool (h, w) for the same field of view."""
    if mode not in MODES:
        raise ValueError(f"lung_mask: unknown mode {mode!r}; use one of {MODES}")
    h, w = image.shape
    m = (
        np.asarray(
            Image.fromarray(mask.astype(np.uint8) * 255).resize((w, h), Image.Resampling.NEAREST)
        )
        > 127
    )
    out = image
    if m.any() and mode != "none":
        if "mask" in mode:
            out = np.where(m, out, 0).astype(np.uint8)
        if "crop" in mode:
            rows, cols = np.flatnonzero(m.any(axis=1)), np.flatnonzero(m.any(axis=0))
            dy, dx = int(margin * h), int(margin * w)
            r0, r1 = max(rows[0] - dy, 0), min(rows[-1] + 1 + dy, h)
            c0, c1 = max(cols[0] - dx, 0), min(cols[-1] + 1 + dx, w)
            out = out[r0:r1, c0:c1]
    img = Image.fromarray(out)
    if img.size != (size, size):
        img = img.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=2.0)
    return np.asarray(img, dtype=np.uint8)
