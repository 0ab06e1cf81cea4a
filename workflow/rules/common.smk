# Validates the config against workflow/schemas/config.schema.yaml before any job
# runs, and derives paths and targets from it.
import sys
from pathlib import Path

SRC = Path(workflow.basedir) / "src"
if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))

from cxr_cbir.config import validate_config  # noqa: E402
from cxr_cbir.errors import InputError  # noqa: E402

try:
    validate_config(
        config, Path(workflow.basedir) / "workflow/schemas/config.schema.yaml"
    )
except InputError as exc:
    raise WorkflowError(str(exc)) from None

RUN = config["run"]
OUT = f"results/{RUN}"
ROOT = config["data"]["root"]
CONDITIONS = list(config["conditions"])
SHARDS = list(range(config["preprocess"]["shards"]))
PKG = SRC / "cxr_cbir"

SEG = config.get("segmentation") or {}
SEG_MEMBERS = list(SEG.get("members", {}))
LUNG_MASK = config.get("lung_mask", "none")
# The cache every retrieval method and SSIM reads: masked by the lung ensemble or not.
CACHE_DIR = f"{OUT}/cache" if LUNG_MASK == "none" else f"{OUT}/cache/lung-{LUNG_MASK}"
CACHE_IMAGES = f"{CACHE_DIR}/images.npy"
CACHE_INDEX = f"{CACHE_DIR}/index.parquet"

# Catalogue-ranking methods scored by nDCG; later stages append their own.
RANKING_METHODS = ["ssim", "random"]


def code(*modules):
    """Package modules imported by a job, as inputs, so that editing them reruns the job."""
    return [str(PKG / m) for m in modules]


MIMIC_FILES = {
    "metadata": "mimic-cxr-2.0.0-metadata.csv.gz",
    "chexpert": "mimic-cxr-2.0.0-chexpert.csv.gz",
    "split": "mimic-cxr-2.0.0-split.csv.gz",
}


def archive_inputs():
    """The archive files the manifest is read from (made by demo_archive for the demo)."""
    if config["data"]["format"] == "covid-chestxray":
        return [f"{ROOT}/metadata.csv"]
    files = [f"{ROOT}/{MIMIC_FILES[k]}" for k in ("metadata", "chexpert")]
    split = f"{ROOT}/{MIMIC_FILES['split']}"
    if "demo" in config or Path(split).exists():
        files.append(split)
    if "demo" in config:
        files += [f"{ROOT}/sidecar/truth.csv", f"{ROOT}/files"]
    return files


def condition_settings(condition):
    """What the catalogue stage needs to know of one condition (narrow params)."""
    cond = config["conditions"][condition]
    cat = config["catalogues"]
    return {
        "expert_rankings": cond.get("expert_rankings"),
        "severity": cond.get("severity"),
        "n_queries": cat["n_queries"],
        "size": cat["size"],
        "keep_class_proportions": cat["keep_class_proportions"],
        "raters": cat.get("raters"),
    }


def expert_rankings_input(wildcards):
    path = config["conditions"][wildcards.condition].get("expert_rankings")
    return [path] if path else []


def seg_member(name):
    return dict(SEG["members"][name])


def seg_pair_inputs(wildcards):
    """Demo: the manifest (phantom masks in the sidecar); real: the lung-masks metadata."""
    if SEG["pairs"] == "demo":
        return {"manifest": f"{OUT}/data/manifest.parquet"}
    return {"metadata": f"{SEG['masks_root']}/metadata.csv"}


def seg_data_settings():
    keys = ("pairs", "masks_root", "datasets", "holdout_fraction", "image_size")
    keys += ("max_train_pairs", "max_holdout_pairs")
    return {k: SEG.get(k) for k in keys} | {"root": ROOT}


def seg_train_settings():
    return {k: SEG.get(k) for k in ("epochs", "batch_size", "lr")}


def ranking_files(condition):
    return {m: f"{OUT}/rankings/{condition}/{m}.csv" for m in RANKING_METHODS}


def report_outputs():
    """Every report() output: the report job's inputs."""
    return [
        f"{OUT}/data/counts.csv",
        f"{OUT}/data/counts.png",
        f"{OUT}/data/rejected.csv",
        f"{OUT}/evaluation/ndcg.csv",
        f"{OUT}/evaluation/ndcg_summary.csv",
        f"{OUT}/evaluation/ndcg_boxplot.png",
        *expand(f"{OUT}/evaluation/topk_{{condition}}.png", condition=CONDITIONS),
        *segmentation_outputs(),
    ]


def segmentation_outputs():
    if not SEG:
        return []
    out = [
        f"{OUT}/segmentation/dice.csv",
        f"{OUT}/segmentation/dice_summary.csv",
        f"{OUT}/segmentation/gallery.png",
        f"{OUT}/segmentation/no_lung.csv",
    ]
    if LUNG_MASK != "none":
        out.append(f"{CACHE_DIR}/examples.png")
    return out


def final_targets():
    return [f"{OUT}/report.html", *report_outputs()]
