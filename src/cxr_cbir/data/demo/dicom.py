"""Synthetic DICOM films written with pydicom: good ones of each kind and bad ones.

What the DICOM tests and the serve benchmark send (``preprocess.dicom`` reads them).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import ExplicitVRLittleEndian, JPEG2000Lossless, generate_uid

DX_FOR_PRESENTATION = "1.2.840.10008.5.1.4.1.1.1.1"


def write_dicom(
    path: Path,
    pixels: np.ndarray | None,
    photometric: str = "MONOCHROME2",
    bits_stored: int = 12,
    signed: bool = False,
    syntax: str = ExplicitVRLittleEndian,
    **fields,
) -> Path:
    """A DX film: ``pixels`` (H, W) or (frames, H, W) or (H, W, 3), stored as given, with
    ``fields`` (WindowCenter=..., RescaleSlope=..., VOILUTSequence=...) set on it."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = DX_FOR_PRESENTATION
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = syntax
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = DX_FOR_PRESENTATION, meta.MediaStorageSOPInstanceUID
    ds.Modality, ds.PatientID = "DX", "TEST"
    if pixels is not None:
        colour = photometric in ("RGB", "YBR_FULL")
        frames = pixels.shape[0] if pixels.ndim == 3 and not colour else 1
        rows, cols = pixels.shape[-3:-1] if colour else pixels.shape[-2:]
        ds.Rows, ds.Columns = rows, cols
        ds.SamplesPerPixel = 3 if colour else 1
        if colour:
            ds.PlanarConfiguration = 0
        if frames > 1:
            ds.NumberOfFrames = frames
        ds.PhotometricInterpretation = photometric
        ds.BitsAllocated = 8 if bits_stored <= 8 else 16
        ds.BitsStored, ds.HighBit = bits_stored, bits_stored - 1
        ds.PixelRepresentation = int(signed)
        dtype = {(8, False): np.uint8, (16, False): np.uint16, (16, True): np.int16}[
            (ds.BitsAllocated, signed)
        ]
        data = np.ascontiguousarray(pixels.astype(dtype)).tobytes()
        ds.PixelData = encapsulate([data]) if syntax != ExplicitVRLittleEndian else data
    else:
        ds.PhotometricInterpretation = photometric
    for key, value in fields.items():
        setattr(ds, key, value)
    ds.save_as(path, enforce_file_format=True)
    return path


def compressed(path: Path, pixels: np.ndarray) -> Path:
    """A JPEG 2000 film whose codestream no installed decoder reads."""
    return write_dicom(path, pixels, syntax=JPEG2000Lossless)
