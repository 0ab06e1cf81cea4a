"""A metadata-only archive of MIMIC-CXR-JPG's size, for scale benchmarks (no images).

The three MIMIC-CXR-JPG 2.0.0 CSVs with the archive's counts (377,110 films, 227,835
studies, 65,379 patients), its view mix (AP 39 %, PA 26 %, lateral 31 %, other 4 %),
CheXpert labels with 1 / 0 / -1 / blank in realistic shares, and a patient-level
official split (train 98.1 %, validate 0.8 %, test 1.1 %). Enough to time the metadata
stages (manifest, split, view and label filters, cache list) and to plan a full run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from cxr_cbir.data.mimic_layout import (
    CHEXPERT_FILE,
    CHEXPERT_LABELS,
    METADATA_COLUMNS,
    METADATA_FILE,
    SPLIT_FILE,
)

MIMIC_FILMS = 377_110
MIMIC_STUDIES = 227_835
MIMIC_PATIENTS = 65_379
VIEWS = {"AP": 0.39, "PA": 0.26, "LATERAL": 0.22, "LL": 0.09, "": 0.03, "AP AXIAL": 0.01}
# per label: shares of 1, 0, -1 (the rest blank)
LABEL_SHARES = (0.12, 0.08, 0.03)


def _spread(n_items: int, n_groups: int, rng: np.random.Generator) -> np.ndarray:
    """Group index of each item: every group gets at least one, the rest at random, sorted."""
    extra = rng.integers(0, n_groups, n_items - n_groups)
    return np.sort(np.concatenate([np.arange(n_groups), extra]))


def write_mimic_metadata(
    root: str | Path,
    n_films: int = MIMIC_FILMS,
    n_studies: int | None = None,
    n_patients: int | None = None,
    seed: int = 0,
) -> dict[str, int]:
    """Write the three CSVs under ``root``; returns the counts written."""
    rng = np.random.default_rng(seed)
    n_studies = n_studies or max(1, round(n_films * MIMIC_STUDIES / MIMIC_FILMS))
    n_patients = n_patients or max(1, round(n_studies * MIMIC_PATIENTS / MIMIC_STUDIES))
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    study_patient = _spread(n_studies, n_patients, rng)
    film_study = _spread(n_films, n_studies, rng)
    subject_ids = (10_000_000 + rng.choice(9_000_000, n_patients, replace=False)).astype(str)
    study_ids = (50_000_000 + rng.choice(9_000_000, n_studies, replace=False)).astype(str)
    hexes = rng.integers(0, 16**8, (n_films, 5), dtype=np.int64)
    dicom_ids = ["-".join(f"{h:08x}" for h in row) for row in hexes]
    views = rng.choice(list(VIEWS), n_films, p=np.array(list(VIEWS.values())) / sum(VIEWS.values()))
    film_patient = study_patient[film_study]
    meta = pd.DataFrame(
        {
            "dicom_id": dicom_ids,
            "subject_id": subject_ids[film_patient],
            "study_id": study_ids[film_study],
            "PerformedProcedureStepDescription": "CHEST (PA AND LAT)",
            "ViewPosition": views,
            "Rows": 3056,
            "Columns": 2544,
            "StudyDate": 21800101 + rng.integers(0, 300, n_films),
            "StudyTime": rng.integers(0, 235959, n_films),
            "ProcedureCodeSequence_CodeMeaning": "CHEST (PA AND LAT)",
            "ViewCodeSequence_CodeMeaning": "postero-anterior",
            "PatientOrientationCodeSequence_CodeMeaning": "Erect",
        },
        columns=METADATA_COLUMNS,
    )
    meta.to_csv(root / METADATA_FILE, index=False)
    values = np.array([1.0, 0.0, -1.0, np.nan])
    shares = np.array([*LABEL_SHARES, 1 - sum(LABEL_SHARES)])
    labels = pd.DataFrame(
        {"subject_id": subject_ids[study_patient], "study_id": study_ids}
        | {name: rng.choice(values, n_studies, p=shares) for name in CHEXPERT_LABELS}
    )
    labels.to_csv(root / CHEXPERT_FILE, index=False)
    patient_split = rng.choice(["train", "validate", "test"], n_patients, p=[0.981, 0.008, 0.011])
    split = pd.DataFrame(
        {
            "dicom_id": dicom_ids,
            "study_id": meta["study_id"],
            "subject_id": meta["subject_id"],
            "split": patient_split[film_patient],
        }
    )
    split.to_csv(root / SPLIT_FILE, index=False)
    return {"films": n_films, "studies": n_studies, "patients": n_patients}
