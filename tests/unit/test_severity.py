"""Several covid-chestxray archives read as one, and the COVID-Net / BrixIA severity join."""

import pandas as pd
import pytest

from cxr_cbir.data.archive import build_manifest
from cxr_cbir.data.archive.severity import attach_severity
from cxr_cbir.errors import InputError, PathEscapeError

HEADER = (
    "file,patient_id,view,split_group,label_3class,covid,pneumonia,"
    "severity_geographic_mean,severity_opacity_mean\n"
)


def _archives(root):
    (root / "real").mkdir()
    (root / "extra").mkdir()
    (root / "real/metadata.csv").write_text(
        HEADER + "a.jpg,p1,PA,g1,covid,1,1,4.0,3.0\nb.jpg,p2,AP,g2,covid,1,1,,\n"
    )
    (root / "extra/metadata.csv").write_text(HEADER + "c.jpg,p3,PA,x1,control,0,0,,\n")
    return root


def test_several_folders_read_as_one_with_paths_inside_the_root(tmp_path):
    m = build_manifest("covid-chestxray", str(_archives(tmp_path)), ["real", "extra"])
    assert m.set_index("image_id")["path"].to_dict() == {
        "a": "real/images/a.jpg",
        "b": "real/images/b.jpg",
        "c": "extra/images/c.jpg",
    }
    with pytest.raises(PathEscapeError, match="data.folders"):
        build_manifest("covid-chestxray", str(tmp_path / "real"), ["../../elsewhere"])
    (tmp_path / "extra/metadata.csv").write_text(HEADER + "a.jpg,p9,PA,x1,control,0,0,,\n")
    with pytest.raises(InputError, match="image id 'a' appears more than once"):
        build_manifest("covid-chestxray", str(tmp_path), ["real", "extra"])


def test_covidnet_and_brixia_join_with_rescaled_opacity(tmp_path):
    m = build_manifest("covid-chestxray", str(_archives(tmp_path)), ["real", "extra"])
    cn = tmp_path / "covidnet.csv"
    cn.write_text(
        "file,geographic,opacity,opacity_scale_max\nb.jpg,6,6,8\nzz.jpg,1,1,6\na.jpg,4,3,6\n"
    )
    bx = tmp_path / "brixia.csv"
    zones = "zone_A,zone_B,zone_C,zone_D,zone_E,zone_F"
    bx.write_text(
        f"\ufefffile,rater,{zones},global\r\n"
        "a.jpg,senior,1,2,3,0,0,1,7\r\na.jpg,junior,1,1,3,0,0,1,6\r\n"
    )
    out, unjoined = attach_severity(m, str(cn), str(bx))
    out = out.set_index("image_id")
    assert unjoined == {"covidnet": 1, "brixia": 0}
    assert out.loc["b", "covidnet_opacity"] == 6.0  # 0-8 scale kept
    assert out.loc["a", "covidnet_opacity"] == pytest.approx(4.0)  # 3 of 6 -> 4 of 8
    assert out.loc["a", "severity_geographic"] == 4.0 and out.loc["b", "severity_geographic"] == 6
    assert pd.isna(out.loc["c", "severity_geographic"])
    assert out.loc["a", "brixia_senior_global"] == 7 and out.loc["a", "brixia_junior_C"] == 3
    # without COVID-Net the Cohen means are used (opacity 0-6 rescaled to 0-8)
    cohen, _ = attach_severity(m)
    assert cohen.set_index("image_id").loc["a", "severity_opacity"] == pytest.approx(4.0)


@pytest.mark.parametrize(
    ("table", "text", "message"),
    [
        (
            "covidnet",
            "file,geographic,opacity,opacity_scale_max\na.jpg,9,1,8\n",
            r"row 2 \(a.jpg\): geographic",
        ),
        (
            "covidnet",
            "file,geographic,opacity,opacity_scale_max\na.jpg,2,7,6\n",
            r"opacity '7' is not a number in \[0, 6\]",
        ),
        (
            "covidnet",
            "file,geographic,opacity,opacity_scale_max\na.jpg,2,1,8\na.jpg,3,1,8\n",
            r"scored twice \(rows \[2, 3\]\)",
        ),
        (
            "brixia",
            "file,rater,zone_A,zone_B,zone_C,zone_D,zone_E,zone_F,global\na.jpg,senior,1,1,1,1,1,1,7\n",
            "not the sum of the six zones",
        ),
        (
            "brixia",
            "file,rater,zone_A,zone_B,zone_C,zone_D,zone_E,zone_F,global\na.jpg,senior,4,0,0,0,0,0,4\n",
            r"zone_A '4' is not a number in \[0, 3\]",
        ),
    ],
)
def test_bad_severity_rows_are_refused_naming_the_row(tmp_path, table, text, message):
    m = build_manifest("covid-chestxray", str(_archives(tmp_path)), ["real", "extra"])
    path = tmp_path / f"{table}.csv"
    path.write_text(text)
    with pytest.raises(InputError, match=message):
        attach_severity(m, **{table: str(path)})


@pytest.mark.shared_data
def test_real_archives_and_severity_tables(shared_data):
    m = build_manifest("covid-chestxray", str(shared_data), ["cxr-real", "cxr-extra"])
    assert len(m) == 614 + 1039
    out, unjoined = attach_severity(
        m, str(shared_data / "severity/covidnet.csv"), str(shared_data / "severity/brixia.csv")
    )
    assert unjoined == {"covidnet": 0, "brixia": 0}
    assert out["covidnet_geographic"].notna().sum() == 358
    assert out["brixia_senior_global"].notna().sum() == 171
    assert out["brixia_junior_global"].notna().sum() == 171
    assert out["severity_geographic"].notna().sum() == 358  # Cohen's 93 are all in COVID-Net
    assert out["covidnet_opacity"].max() <= 8 and out["severity_opacity"].max() <= 8
    # a cxr-extra near-duplicate of a cxr-real film shares its split group
    g = out.set_index("file")["split_group"]
    assert g["figure1__COVID-00022.jpg"] == g["ieee8023__9C34AF49-E589-44D5-92D3-168B3B04E4A6.jpg"]
