"""Write a synthetic archive in the exact MIMIC-CXR-JPG 2.0.0 file and CSV layout.

``files/pNN/p<subject_id>/s<study_id>/<dicom_id>.jpg`` plus the three gzipped CSVs
(metadata, chexpert labels, split), so the same reader serves the demo and the real
archive. A ``sidecar/`` folder beside them holds what only a phantom can know: true
severity and side per image, lung masks, and expert-ranking CSVs for catalogues drawn
from the test split (rater R1 ranks by true severity, R2 and R3 are noisy raters).
"""

from __future__ import annotations

import logging
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
from tqdm import tqdm

from cxr_cbir.data.catalogues import rank_by_severity, sample_catalogues
from cxr_cbir.data.demo.phantom import Finding, Patient, Pose, render
from cxr_cbir.data.mimic_layout import (
    CHEXPERT_FILE,
    CHEXPERT_LABELS,
    METADATA_COLUMNS,
    METADATA_FILE,
    SPLIT_FILE,
)
from cxr_cbir.io_utils import write_csv

log = logging.getLogger(__name__)

VIEW_CODE = {"PA": "postero-anterior", "AP": "antero-posterior", "LATERAL": "lateral"}


def _dicom_id(rng: np.random.Generator) -> str:
    return "-".join(f"{int(rng.integers(0, 2**32)):08x}" for _ in range(5))


def _noisy_label(present: bool, severity: float, rng: np.random.Generator) -> float:
    """A CheXpert-style mention: 1, 0, -1 (uncertain) or NaN (not mentioned), with noise."""
    r = rng.random()
    if present:
        if severity < 0.2 and r < 0.35:
            return -1.0
        if r < 0.06:
            return np.nan  # missed in the report
        if r < 0.09:
            return 0.0  # wrongly negated
        return 1.0
    if r < 0.03:
        return -1.0
    if r < 0.05:
        return 1.0  # false positive mention
    if r < 0.55:
        return 0.0
    return np.nan


def _sample_finding(view: str, rng: np.random.Generator) -> Finding:
    p_eff = 0.45 if view == "AP" else 0.22
    p_pna = 0.28
    f = Finding(pneumonia_seed=int(rng.integers(0, 2**31)))
    if rng.random() < p_eff:
        f.effusion = float(rng.uniform(0.08, 1.0))
        f.effusion_side = str(rng.choice(["left", "right", "bilateral"], p=[0.3, 0.35, 0.35]))
    if rng.random() < p_pna:
        f.pneumonia = float(rng.uniform(0.08, 1.0))
        f.pneumonia_side = str(rng.choice(["left", "right", "bilateral"], p=[0.35, 0.4, 0.25]))
    return f


def _finding_class(f: Finding) -> str:
    """The study's main finding, for the metric-learning classes."""
    if f.pneumonia > 0 and f.pneumonia >= f.effusion:
        return "pneumonia"
    if f.effusion > 0:
        return "effusion"
    return "normal"


def _clinical(f: Finding, age: int, sex: str, rng: np.random.Generator) -> dict:
    """Synthetic clinical fields and an intubation outcome tied to severity (20% missing)."""
    worst = max(f.effusion, f.pneumonia)
    logit = 5.0 * worst - 2.5 + 0.03 * (age - 60) + rng.normal(0, 0.7)
    values = {
        "age": float(age),
        "sex": sex,
        "offset": float(rng.integers(0, 15)),
        "temperature": round(36.8 + 1.6 * f.pneumonia + rng.normal(0, 0.4), 1),
        "pO2_saturation": round(97.0 - 9.0 * worst + rng.normal(0, 1.5), 1),
    }
    values = {k: (v if rng.random() > 0.2 else None) for k, v in values.items()}
    values["intubated"] = "Y" if rng.random() < 1 / (1 + np.exp(-logit)) else "N"
    return values


def generate_archive(
    root: str | Path,
    n_subjects: int,
    seed: int,
    split_fractions: dict[str, float],
    conditions: dict[str, dict],
    catalogues: dict,
    raters: dict[str, float],
    n_corrupt: int = 0,
    size_range: tuple[int, int] = (288, 352),
    workers: int = 1,
) -> pd.DataFrame:
    """Write the demo archive under ``root``; return the truth table.

    ``conditions`` maps a condition name to its ``label`` (CheXpert column), ``views``
    and ``severity`` (truth column: effusion or pneumonia); ``catalogues`` holds
    ``n_queries`` and ``size``. ``n_corrupt`` training images are written broken (one
    truncated, the rest missing) to exercise the bad-input path. Films are drawn in one
    pass (each with its own render seed) and rendered by ``workers`` processes: the
    archive is the same for any number of workers.
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    meta_rows, label_rows, split_rows, truth_rows, renders = [], [], [], [], []
    (root / "sidecar" / "lung_masks").mkdir(parents=True, exist_ok=True)
    subjects = rng.choice(np.arange(10_000_000, 20_000_000), n_subjects, replace=False)
    names = list(split_fractions)
    probs = np.array([split_fractions[n] for n in names], float)
    probs = probs / probs.sum()
    for subject_id in sorted(subjects.tolist()):
        patient = Patient.sample(rng)
        age = int(rng.integers(25, 92))
        sex = str(rng.choice(["M", "F"]))
        split = str(rng.choice(names, p=probs))
        n_studies = int(rng.choice([1, 2, 3], p=[0.5, 0.3, 0.2]))
        base_date = 21000101 + int(rng.integers(0, 80)) * 10000 + int(rng.integers(1, 12)) * 100
        for k in range(n_studies):
            study_id = int(rng.integers(50_000_000, 60_000_000))
            frontal = "AP" if rng.random() < 0.45 else "PA"
            views = [frontal]
            if rng.random() < (0.5 if frontal == "PA" else 0.15):
                views.append("LATERAL")
            finding = _sample_finding(frontal, rng)
            clinical = _clinical(finding, age, sex, rng)
            devices = patient.line_device or patient.ecg_leads > 0
            labels = {c: np.nan for c in CHEXPERT_LABELS}
            labels["Pleural Effusion"] = _noisy_label(finding.effusion > 0, finding.effusion, rng)
            labels["Pneumonia"] = _noisy_label(finding.pneumonia > 0, finding.pneumonia, rng)
            if finding.pneumonia > 0 and rng.random() < 0.6:
                labels["Lung Opacity"] = 1.0
            if devices:
                labels["Support Devices"] = 1.0
            if finding.effusion == 0 and finding.pneumonia == 0 and rng.random() < 0.7:
                labels["No Finding"] = 1.0
            label_rows.append({"subject_id": subject_id, "study_id": study_id, **labels})
            desc = "CHEST (PORTABLE AP)" if frontal == "AP" else "CHEST (PA AND LAT)"
            for view in views:
                dicom_id = _dicom_id(rng)
                rows = int(rng.integers(*size_range))
                cols = int(rng.integers(*size_range))
                pose = Pose.sample(rng)
                rel = Path("files") / f"p{str(subject_id)[:2]}" / f"p{subject_id}" / f"s{study_id}"
                (root / rel).mkdir(parents=True, exist_ok=True)
                renders.append(
                    _Render(
                        root / rel / f"{dicom_id}.jpg",
                        root / "sidecar" / "lung_masks" / f"{dicom_id}.png",
                        (rows, cols, view, patient, finding, pose),
                        int(rng.integers(0, 2**63 - 1)),
                    )
                )
                meta_rows.append(
                    {
                        "dicom_id": dicom_id,
                        "subject_id": subject_id,
                        "study_id": study_id,
                        "PerformedProcedureStepDescription": desc,
                        "ViewPosition": view,
                        "Rows": rows,
                        "Columns": cols,
                        "StudyDate": base_date + k * 3,
                        "StudyTime": round(float(rng.uniform(0, 235959)), 3),
                        "ProcedureCodeSequence_CodeMeaning": desc,
                        "ViewCodeSequence_CodeMeaning": VIEW_CODE[view],
                        "PatientOrientationCodeSequence_CodeMeaning": (
                            "Recumbent" if frontal == "AP" else "Erect"
                        ),
                    }
                )
                split_rows.append(
                    {
                        "dicom_id": dicom_id,
                        "study_id": study_id,
                        "subject_id": subject_id,
                        "split": split,
                    }
                )
                f = asdict(finding)
                truth_rows.append(
                    {
                        "dicom_id": dicom_id,
                        "subject_id": subject_id,
                        "study_id": study_id,
                        "view": view,
                        "severity_effusion": f["effusion"],
                        "effusion_side": f["effusion_side"],
                        "severity_pneumonia": f["pneumonia"],
                        "pneumonia_side": f["pneumonia_side"],
                        "finding": _finding_class(finding),
                        **clinical,
                        "body_width": patient.body_width,
                        "gamma": patient.gamma,
                        "broken": "",
                    }
                )
    _render_all(renders, workers)
    meta = pd.DataFrame(meta_rows, columns=METADATA_COLUMNS)
    labels_df = pd.DataFrame(label_rows, columns=["subject_id", "study_id", *CHEXPERT_LABELS])
    split_df = pd.DataFrame(split_rows, columns=["dicom_id", "study_id", "subject_id", "split"])
    truth = pd.DataFrame(truth_rows)
    _break_images(root, meta, split_df, truth, n_corrupt, rng)
    write_csv(meta, root / METADATA_FILE)
    write_csv(labels_df, root / CHEXPERT_FILE)
    write_csv(split_df, root / SPLIT_FILE)
    write_csv(truth, root / "sidecar" / "truth.csv")
    _write_rankings(root, meta, labels_df, split_df, truth, conditions, catalogues, raters, seed)
    return truth


@dataclass(frozen=True)
class _Render:
    """One film to render: where its JPEG and lung mask go, the phantom, its seed."""

    image: Path
    mask: Path
    scene: tuple
    seed: int


def _render_one(job: _Render) -> None:
    ph = render(*job.scene, np.random.default_rng(job.seed))
    Image.fromarray((ph.image * 255).round().astype(np.uint8)).save(job.image, quality=92)
    Image.fromarray(ph.lung_mask.astype(np.uint8) * 255).save(job.mask)


def _render_all(jobs: list[_Render], workers: int) -> None:
    """Render and write every film, in ``workers`` processes (85 % of the archive's time)."""
    bar = dict(total=len(jobs), desc="demo films", mininterval=2)
    if workers <= 1:
        for job in tqdm(jobs, **bar):
            _render_one(job)
        return
    with ProcessPoolExecutor(workers) as pool:
        for _ in tqdm(pool.map(_render_one, jobs, chunksize=16), **bar):
            pass


def _break_images(root, meta, split_df, truth, n_corrupt, rng) -> None:
    """Truncate one training JPEG and delete the others chosen, recording it in the truth."""
    if n_corrupt <= 0:
        return
    frontal = meta.loc[meta["ViewPosition"] != "LATERAL", "dicom_id"]
    train = split_df["split"] == "train"
    train_ids = split_df.loc[train & split_df["dicom_id"].isin(frontal), "dicom_id"].to_numpy()
    chosen = rng.choice(train_ids, size=min(n_corrupt, len(train_ids)), replace=False)
    for i, dicom_id in enumerate(chosen):
        row = meta.loc[meta["dicom_id"] == dicom_id].iloc[0]
        sid = str(row["subject_id"])
        path = (
            root / "files" / f"p{sid[:2]}" / f"p{sid}" / f"s{row['study_id']}" / f"{dicom_id}.jpg"
        )
        if i == 0:
            data = path.read_bytes()
            path.write_bytes(data[: len(data) // 3])
            truth.loc[truth["dicom_id"] == dicom_id, "broken"] = "truncated"
        else:
            path.unlink()
            truth.loc[truth["dicom_id"] == dicom_id, "broken"] = "missing"


def _write_rankings(root, meta, labels_df, split_df, truth, conditions, catalogues, raters, seed):
    """Expert-ranking CSVs for catalogues drawn from what the pipeline will keep."""
    images = meta.merge(split_df[["dicom_id", "split"]], on="dicom_id").merge(
        labels_df, on=["subject_id", "study_id"]
    )
    images = images.merge(
        truth[["dicom_id", "broken", *_severity_columns(conditions)]], on="dicom_id"
    )
    for i, (name, cond) in enumerate(conditions.items()):
        eligible = images[
            (images["split"] == "test")
            & images["ViewPosition"].isin(cond["views"])
            & images[cond["label"]].isin([0.0, 1.0])
            & (images["broken"] == "")
        ]
        pool = pd.DataFrame(
            {
                "image_id": eligible["dicom_id"],
                "label": eligible[cond["label"]].astype(int),
                "group": eligible["subject_id"],  # never a film of the query's patient
            }
        )
        cats = sample_catalogues(
            pool,
            catalogues["n_queries"],
            catalogues["size"],
            seed + 101 * (i + 1),
            where=f"demo catalogues for {name}",
        )
        severity = eligible.set_index("dicom_id")[cond["severity_column"]]
        ranking = rank_by_severity(cats, severity, raters=raters, seed=seed + 7 * (i + 1))
        write_csv(ranking, root / "sidecar" / f"expert_rankings_{name}.csv")


def _severity_columns(conditions) -> list[str]:
    return sorted({c["severity_column"] for c in conditions.values()})
