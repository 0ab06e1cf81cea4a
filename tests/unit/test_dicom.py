"""DICOM films: rescale, window or VOI LUT, MONOCHROME1 inverted, 8-16 bits; bad files named."""

import numpy as np
import pytest
from pydicom.dataset import Dataset

from cxr_cbir.data.archive import build_manifest
from cxr_cbir.data.demo.dicom import compressed, write_dicom
from cxr_cbir.preprocess.decode import UnreadableImage, load_gray, load_resized
from cxr_cbir.preprocess.dicom import is_dicom

RAMP = np.tile(np.arange(0, 4096, 16, dtype=np.int64), (64, 1))  # 64 x 256, 0..4080


def test_window_centre_and_width_clip_and_scale(tmp_path):
    path = write_dicom(tmp_path / "a.dcm", RAMP, WindowCenter=2048, WindowWidth=1024)
    got = load_gray(path, 64)
    assert got.shape == (64, 256) and got.dtype == np.uint8
    row = got[0].astype(int)
    assert (row[RAMP[0] <= 1536] == 0).all() and (row[RAMP[0] >= 2560] == 255).all()
    mid = np.flatnonzero(RAMP[0] == 2048)[0]
    assert abs(row[mid] - 127.5) <= 1  # the centre of the window is mid-grey
    assert (np.diff(row) >= 0).all()


def test_monochrome1_is_inverted(tmp_path):
    m2 = load_gray(write_dicom(tmp_path / "m2.dcm", RAMP, WindowCenter=2048, WindowWidth=1024), 64)
    m1 = load_gray(
        write_dicom(tmp_path / "m1.dcm", RAMP, "MONOCHROME1", WindowCenter=2048, WindowWidth=1024),
        64,
    )
    assert m1[0, 0] == 255 and m1[0, -1] == 0  # low values are bright in MONOCHROME1
    assert np.abs(m1.astype(int) - (255 - m2.astype(int))).max() <= 1  # rounding only


def test_rescale_slope_and_intercept_come_before_the_window(tmp_path):
    """The window is in modality units (e.g. HU): stored 1024 with slope 2, intercept
    -2048 is value 0, the window's centre."""
    path = write_dicom(
        tmp_path / "r.dcm",
        RAMP,
        RescaleSlope=2,
        RescaleIntercept=-2048,
        WindowCenter=0,
        WindowWidth=400,
    )
    row = load_gray(path, 64)[0].astype(int)
    values = RAMP[0] * 2 - 2048
    assert (row[values <= -200] == 0).all() and (row[values >= 200] == 255).all()
    assert abs(row[np.flatnonzero(values == 0)[0]] - 127.5) <= 1


def test_voi_lut_sequence_is_used_when_present(tmp_path):
    lut = Dataset()
    lut.LUTDescriptor = [4096, 0, 16]
    table = (np.sqrt(np.arange(4096) / 4095) * 65535).astype(np.uint16)  # a gamma curve
    lut.add_new(0x00283006, "US", table.tolist())  # LUTData, one value per entry
    path = write_dicom(
        tmp_path / "v.dcm", RAMP, VOILUTSequence=[lut], WindowCenter=10, WindowWidth=2
    )
    row = load_gray(path, 64)[0].astype(int)
    expected = np.round(table[RAMP[0]] / 65535 * 255 / (table[RAMP[0]].max() / 65535)).astype(int)
    assert np.abs(row - expected).max() <= 1  # the LUT, not the (narrow) window
    assert row[10] > 2 * 255 * RAMP[0, 10] / 4080  # brighter than linear: the gamma


@pytest.mark.parametrize(("bits", "signed"), [(8, False), (12, False), (16, False), (16, True)])
def test_8_to_16_bits_signed_or_not_without_window_use_the_film_s_range(tmp_path, bits, signed):
    top = 2**bits - 1
    ramp = np.tile(np.linspace(0, top, 256).round().astype(np.int64), (64, 1))
    if signed:
        ramp = ramp - 2**15
    got = load_gray(write_dicom(tmp_path / "b.dcm", ramp, bits_stored=bits, signed=signed), 64)
    assert got[0, 0] == 0 and got[0, -1] == 255 and (np.diff(got[0].astype(int)) >= 0).all()


def test_dicom_is_known_by_its_marker_whatever_its_name(tmp_path):
    path = write_dicom(tmp_path / "film", RAMP, WindowCenter=2048, WindowWidth=4096)
    assert is_dicom(path) and load_resized(path, 32).shape == (32, 32)
    (tmp_path / "x.png").write_bytes(b"\x89PNG....")
    assert not is_dicom(tmp_path / "x.png")


def test_bad_dicom_files_are_refused_with_the_reason(tmp_path):
    cases = {
        "no pixel data": (write_dicom(tmp_path / "sr.dcm", None), "without pixel data"),
        "multi-frame": (
            write_dicom(tmp_path / "mf.dcm", np.stack([RAMP, RAMP])),
            "multi-frame DICOM (2 frames)",
        ),
        "colour": (
            write_dicom(tmp_path / "rgb.dcm", np.zeros((64, 64, 3)), "RGB", bits_stored=8),
            "photometric interpretation RGB",
        ),
        "compressed": (compressed(tmp_path / "j2k.dcm", RAMP), "compressed (JPEG 2000"),
    }
    truncated = tmp_path / "cut.dcm"
    good = write_dicom(tmp_path / "good.dcm", RAMP).read_bytes()
    truncated.write_bytes(good[: len(good) // 2])
    cases["truncated"] = (truncated, "DICOM: ")
    for name, (path, reason) in cases.items():
        with pytest.raises(UnreadableImage) as err:
            load_gray(path, 64)
        assert reason in err.value.reason, (name, err.value.reason)
        assert err.value.reason.startswith("DICOM: ") and err.value.path == str(path)


def test_mimic_dicom_layout_reads_dcm_paths(tmp_path):
    """The MIMIC-CXR-JPG CSVs with .dcm films in the same folders (format mimic-dicom)."""
    import gzip

    from cxr_cbir.data.mimic_layout import CHEXPERT_FILE, CHEXPERT_LABELS, METADATA_FILE

    def gz(name, text):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(tmp_path / name, "wt") as f:
            f.write(text)

    gz(METADATA_FILE, "dicom_id,subject_id,study_id,ViewPosition\nd1,10000001,50000001,PA\n")
    gz(
        CHEXPERT_FILE,
        "subject_id,study_id,"
        + ",".join(CHEXPERT_LABELS)
        + "\n10000001,50000001"
        + ",1.0" * len(CHEXPERT_LABELS)
        + "\n",
    )
    m = build_manifest("mimic-dicom", str(tmp_path))
    assert m["path"].tolist() == ["files/p10/p10000001/s50000001/d1.dcm"]
    assert build_manifest("mimic", str(tmp_path))["path"].iloc[0].endswith("d1.jpg")
