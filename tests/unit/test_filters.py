"""View and label filters on fixture CSVs with -1 and blanks; MIMIC reader; bad CSVs."""

import gzip
from pathlib import Path

import pandas as pd
import pytest

from cxr_cbir.data.archive import build_manifest
from cxr_cbir.data.filters import count_table, label_filter, view_filter
from cxr_cbir.data.mimic_layout import CHEXPERT_LABELS
from cxr_cbir.errors import InputError, PathEscapeError


def _write_gz(path: Path, text: str) -> None:
    with gzip.open(path, "wt") as fh:
        fh.write(text)


@pytest.fixture
def mimic_root(tmp_path) -> Path:
    """A 6-image MIMIC-layout archive: labels 1, 0, -1 and blank, frontal and lateral views."""
    labels = ",".join(CHEXPERT_LABELS)
    blank = "," * (len(CHEXPERT_LABELS) - 1)

    def row(subject, study, effusion, pneumonia):
        values = {c: "" for c in CHEXPERT_LABELS}
        values["Pleural Effusion"] = effusion
        values["Pneumonia"] = pneumonia
        return f"{subject},{study}," + ",".join(values[c] for c in CHEXPERT_LABELS)

    assert blank  # 14 columns
    _write_gz(
        tmp_path / "mimic-cxr-2.0.0-chexpert.csv.gz",
        f"subject_id,study_id,{labels}\n"
        + "\n".join(
            [
                row(10000001, 50000001, "1.0", "0.0"),
                row(10000002, 50000002, "-1.0", "1.0"),
                row(10000003, 50000003, "", "-1.0"),
                row(10000004, 50000004, "0.0", ""),
            ]
        )
        + "\n",
    )
    _write_gz(
        tmp_path / "mimic-cxr-2.0.0-metadata.csv.gz",
        "dicom_id,subject_id,study_id,ViewPosition\n"
        "d1,10000001,50000001,AP\n"
        "d2,10000002,50000002,PA\n"
        "d3,10000003,50000003,AP\n"
        "d4,10000004,50000004,PA\n"
        "d5,10000001,50000001,LATERAL\n"
        "d6,10000004,50000004,LL\n",
    )
    _write_gz(
        tmp_path / "mimic-cxr-2.0.0-split.csv.gz",
        "dicom_id,study_id,subject_id,split\n"
        "d1,50000001,10000001,train\nd2,50000002,10000002,test\nd3,50000003,10000003,validate\n"
        "d4,50000004,10000004,train\nd5,50000001,10000001,train\nd6,50000004,10000004,train\n",
    )
    return tmp_path


def test_mimic_manifest_paths_views_and_labels(mimic_root):
    m = build_manifest("mimic", str(mimic_root)).set_index("image_id")
    assert m.loc["d1", "path"] == "files/p10/p10000001/s50000001/d1.jpg"
    assert m.loc["d6", "view"] == "LATERAL" and m.loc["d6", "view_raw"] == "LL"
    assert m.loc["d2", "split_official"] == "test"
    assert m.loc["d1", "Pleural Effusion"] == 1.0
    assert pd.isna(m.loc["d3", "Pleural Effusion"])


def test_view_filter_keeps_allowed_frontal_views(mimic_root):
    m = build_manifest("mimic", str(mimic_root))
    assert sorted(view_filter(m, ["AP"])["image_id"]) == ["d1", "d3"]
    assert sorted(view_filter(m, ["AP", "PA"])["image_id"]) == ["d1", "d2", "d3", "d4"]
    with pytest.raises(InputError, match="LATERAL"):
        view_filter(m, ["PA", "LATERAL"])


def test_label_filter_keeps_1_and_0_drops_uncertain_and_blank(mimic_root):
    m = view_filter(build_manifest("mimic", str(mimic_root)), ["AP", "PA"])
    eff = label_filter(m, "Pleural Effusion")
    assert dict(zip(eff["image_id"], eff["label"], strict=True)) == {"d1": 1, "d4": 0}
    pna = label_filter(m, "Pneumonia")
    assert dict(zip(pna["image_id"], pna["label"], strict=True)) == {"d1": 0, "d2": 1}


def test_count_table_split_by_label(mimic_root):
    m = build_manifest("mimic", str(mimic_root)).rename(columns={"split_official": "split"})
    m = view_filter(m, ["AP", "PA"])
    counts = count_table({"effusion": label_filter(m, "Pleural Effusion")})
    assert counts.to_dict("records") == [
        {"condition": "effusion", "split": "train", "label": 0, "n": 1},
        {"condition": "effusion", "split": "train", "label": 1, "n": 1},
    ]


def test_label_outside_allowed_values_names_file_row_and_column(mimic_root):
    path = mimic_root / "mimic-cxr-2.0.0-chexpert.csv.gz"
    df = pd.read_csv(path)
    df.loc[2, "Pneumonia"] = 2.0
    df.to_csv(path, index=False, compression="gzip")
    with pytest.raises(InputError, match=r"chexpert\.csv\.gz: row 4, column 'Pneumonia'.*2\.0"):
        build_manifest("mimic", str(mimic_root))


def test_label_filter_rejects_text_label():
    df = pd.DataFrame({"image_id": ["a", "b"], "covid": ["1", "yes"]})
    with pytest.raises(InputError, match="row 3, column 'covid'.*'yes'"):
        label_filter(df, "covid", source="meta.csv")


def test_missing_columns_are_named(mimic_root):
    path = mimic_root / "mimic-cxr-2.0.0-metadata.csv.gz"
    pd.read_csv(path).drop(columns=["ViewPosition", "study_id"]).to_csv(
        path, index=False, compression="gzip"
    )
    with pytest.raises(
        InputError, match="missing required column\\(s\\) 'study_id', 'ViewPosition'"
    ):
        build_manifest("mimic", str(mimic_root))


def test_covid_layout_reader(tmp_path):
    (tmp_path / "metadata.csv").write_text(
        "file,patient_id,view,view_raw,split_group,label_3class,covid,pneumonia\n"
        "a.jpg,p1,PA,PA,g1,covid,1,1\n"
        "b.jpg,p2,AP,AP Supine,g2,control,0,0\n"
        "c.jpg,p3,LATERAL,L,g3,other,0,\n"
    )
    m = build_manifest("covid-chestxray", str(tmp_path)).set_index("image_id")
    assert m.loc["a", "path"] == "images/a.jpg"
    assert m.loc["b", "view"] == "AP" and m.loc["b", "view_raw"] == "AP Supine"
    assert m.loc["b", "group"] == "g2"
    assert len(label_filter(m.reset_index(), "pneumonia")) == 2


def test_path_traversal_in_csv_fails_naming_row(tmp_path):
    (tmp_path / "metadata.csv").write_text(
        "file,patient_id,view,split_group,label_3class,covid,pneumonia\n"
        "a.jpg,p1,PA,g1,covid,1,1\n"
        "../../../etc/passwd,p2,PA,g2,covid,1,1\n"
    )
    with pytest.raises(PathEscapeError, match=r"metadata\.csv row 3.*outside the data root"):
        build_manifest("covid-chestxray", str(tmp_path))


def test_unknown_archive_layout():
    with pytest.raises(InputError, match="data.format"):
        build_manifest("dicom", "/nowhere")


def test_class_emptied_by_filtering_names_condition_split_and_class():
    from cxr_cbir.data.filters import check_classes

    cohort = pd.DataFrame(
        {"split": ["train", "train", "test", "test", "validate"], "label": [1, 0, 1, 1, 1]}
    )
    with pytest.raises(InputError) as err:
        check_classes(cohort, "effusion", "Pleural Effusion")
    msg = str(err.value)
    assert "conditions.effusion" in msg and "'Pleural Effusion'" in msg
    assert "no negative (0) film left in split 'test'" in msg
    ok = pd.concat([cohort, pd.DataFrame({"split": ["test"], "label": [0]})])
    assert check_classes(ok, "effusion", "Pleural Effusion") == [
        "no negative (0) film left in split 'validate'"
    ]


def _replace_in_gz(path: Path, old: str, new: str) -> None:
    with gzip.open(path, "rt") as fh:
        text = fh.read()
    _write_gz(path, text.replace(old, new))


@pytest.mark.parametrize("dicom_id", ["../../../../../../etc/passwd", "../../../../../x"])
def test_mimic_path_escape_fails_naming_row(mimic_root, dicom_id):
    _replace_in_gz(mimic_root / "mimic-cxr-2.0.0-metadata.csv.gz", "d3,", f"{dicom_id},")
    with pytest.raises(PathEscapeError, match=r"metadata\.csv\.gz row 4.*outside the data root"):
        build_manifest("mimic", str(mimic_root))


def test_symlinked_files_folder_leading_out_of_the_root_is_refused(mimic_root, tmp_path_factory):
    outside = tmp_path_factory.mktemp("elsewhere")
    (mimic_root / "files").symlink_to(outside, target_is_directory=True)
    with pytest.raises(PathEscapeError, match=r"metadata\.csv\.gz row 2.*outside the data root"):
        build_manifest("mimic", str(mimic_root))
