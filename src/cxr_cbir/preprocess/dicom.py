"""Decode a DICOM chest film to a grey uint8 array, the way a reading station shows it.

The field's usual handling, in order (PS3.3 C.11, via pydicom):

1. stored values -> modality values: Rescale Slope / Intercept (or a Modality LUT);
2. the VOI transform: the first VOI LUT of the file if it has one, else the first
   Window Center / Width, else the full range of the film's own values;
3. MONOCHROME1 films (high value = dark) are inverted, so that bone is bright as in
   every MONOCHROME2 film and every JPEG of the archive;
4. the windowed range is scaled to 0-255.

8 to 16 bits stored, signed or not. A file that is not one greyscale film is refused
with the reason: no pixel data, a compressed transfer syntax without an installed
decoder, several frames, or a colour photometric interpretation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

DICOM_SUFFIXES = (".dcm", ".dicom")
MONOCHROME = ("MONOCHROME1", "MONOCHROME2")


def is_dicom(path: str | Path) -> bool:
    """A DICOM file by its suffix or by the 'DICM' marker after the 128-byte preamble."""
    path = Path(path)
    if path.suffix.lower() in DICOM_SUFFIXES:
        return True
    try:
        with open(path, "rb") as f:
            head = f.read(132)
    except OSError:
        return False
    return len(head) == 132 and head[128:] == b"DICM"


def _first(value) -> float:
    """Window Center / Width may hold several values (several windows): the first."""
    try:
        return float(value[0])
    except TypeError:
        return float(value)


def read_dicom(path: str | Path) -> np.ndarray:
    """(H, W) uint8 film of a DICOM file; ``ValueError`` with the reason when it is not one
    greyscale film that can be decoded here."""
    import pydicom
    from pydicom.errors import InvalidDicomError
    from pydicom.pixels import apply_modality_lut, apply_voi_lut

    try:
        ds = pydicom.dcmread(path)
    except InvalidDicomError as exc:
        raise ValueError(f"not a DICOM file ({exc})") from None
    if "PixelData" not in ds:
        raise ValueError("DICOM without pixel data (a report or structured document?)")
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    if frames > 1:
        raise ValueError(f"multi-frame DICOM ({frames} frames): one film per file is read")
    photometric = str(ds.get("PhotometricInterpretation", "")).upper()
    if photometric not in MONOCHROME:
        raise ValueError(
            f"photometric interpretation {photometric or 'missing'}: a chest film is "
            "MONOCHROME1 or MONOCHROME2"
        )
    try:
        stored = ds.pixel_array
    except Exception as exc:  # pydicom names the missing plugin in its message
        syntax = ds.file_meta.get("TransferSyntaxUID", "unknown")
        name = getattr(syntax, "name", str(syntax))
        raise ValueError(f"compressed ({name}) and no decoder for it is installed: {exc}") from None
    modality = apply_modality_lut(stored, ds)
    values = modality.astype(np.float64)
    if "VOILUTSequence" in ds:  # the LUT is indexed by integer modality values
        if modality.dtype.kind == "f":
            modality = np.round(modality).astype(np.int64)
        shown = apply_voi_lut(modality, ds, index=0).astype(np.float64)
        lo, hi = float(shown.min()), float(shown.max())
    elif "WindowCenter" in ds and "WindowWidth" in ds:
        center, width = _first(ds.WindowCenter), max(_first(ds.WindowWidth), 1.0)
        lo, hi = center - width / 2, center + width / 2
        shown = values
    else:
        shown = values
        lo, hi = float(values.min()), float(values.max())
    if hi <= lo:
        scaled = np.zeros(shown.shape, np.float64)
    else:
        scaled = (np.clip(shown, lo, hi) - lo) / (hi - lo)
    if photometric == "MONOCHROME1":
        scaled = 1.0 - scaled
    return np.round(scaled * 255).astype(np.uint8)
