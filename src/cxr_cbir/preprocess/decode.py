"""Decode a radiograph file into a square uint8 array, or say why it cannot be read.

JPEGs are decoded with PIL's draft mode (DCT scaling), which skips most of the work for
a full-size film that is shrunk to a few hundred pixels anyway. 16-bit PNGs are scaled
to 8 bits by their own range; RGB(A) and palette images are converted to grayscale.
DICOM files (``.dcm`` or the DICM marker) are windowed as a reading station shows them
(``preprocess.dicom``).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from cxr_cbir.preprocess.dicom import is_dicom, read_dicom

Image.LOAD_TRUNCATED_IMAGES = False


class UnreadableImage(Exception):
    """The file is missing, corrupt or truncated; ``reason`` says which."""

    def __init__(self, path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


def load_resized(path: str | Path, size: int) -> np.ndarray:
    """Return the image at ``path`` as a (size, size) uint8 array."""
    arr = load_gray(path, size)
    img = Image.fromarray(arr)
    if img.size != (size, size):
        img = img.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=2.0)
    return np.asarray(img, dtype=np.uint8)


def load_gray(path: str | Path, min_side: int) -> np.ndarray:
    """Decode to a uint8 grayscale array, aspect kept, JPEG drafted down to about ``min_side``."""
    path = Path(path)
    if not path.exists():
        raise UnreadableImage(path, "missing: file does not exist")
    if path.stat().st_size == 0:
        raise UnreadableImage(path, "corrupt: empty file")
    if is_dicom(path):
        try:
            return read_dicom(path)
        except ValueError as exc:
            raise UnreadableImage(path, f"DICOM: {exc}") from None
        except Exception as exc:  # a damaged file: pydicom raises many kinds
            raise UnreadableImage(path, f"DICOM: corrupt or truncated ({exc})") from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                if im.format == "JPEG":
                    im.draft("L", (min_side, min_side))
                im.load()
                arr = _to_gray_uint8(im)
    except UnidentifiedImageError:
        raise UnreadableImage(path, "corrupt: not a recognised image format") from None
    except OSError as exc:
        msg = str(exc)
        low = msg.lower()  # PIL says "image file is truncated" or "Truncated File Read"
        kind = "truncated" if "truncated" in low or "broken data stream" in low else "corrupt"
        raise UnreadableImage(path, f"{kind}: {msg}") from None
    except (SyntaxError, ValueError, Image.DecompressionBombWarning) as exc:
        raise UnreadableImage(path, f"corrupt: {exc}") from None
    return arr


def _to_gray_uint8(im: Image.Image) -> np.ndarray:
    if im.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        a = np.asarray(im, dtype=np.float64)
        lo, hi = float(a.min()), float(a.max())
        if hi <= lo:
            return np.zeros(a.shape, np.uint8)
        return np.round((a - lo) / (hi - lo) * 255).astype(np.uint8)
    if im.mode in ("RGBA", "LA", "P", "PA"):
        im = im.convert("RGBA")
        bg = Image.new("RGBA", im.size, (0, 0, 0, 255))
        im = Image.alpha_composite(bg, im)
    if im.mode != "L":
        im = im.convert("L")
    return np.asarray(im, dtype=np.uint8)
