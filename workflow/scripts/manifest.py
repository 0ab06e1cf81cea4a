"""Read the archive (MIMIC-CXR-JPG or covid-chestxray layout) into the manifest, with
the severity tables (COVID-Net, BrixIA) and NIH's findings the config names joined by
file name."""

from pathlib import Path

from cxr_cbir.data.archive import build_manifest
from cxr_cbir.data.archive.nih_labels import attach_nih_labels
from cxr_cbir.data.archive.severity import attach_severity
from cxr_cbir.io_utils import write_parquet
from cxr_cbir.run import runlog

log = runlog.setup(snakemake.log[0])
p = snakemake.params
if p.fmt == "covid-chestxray":
    manifest = build_manifest(p.fmt, p.root, p.folders)
    manifest, unjoined = attach_severity(
        manifest, snakemake.input.get("covidnet"), snakemake.input.get("brixia")
    )
    for name, n in unjoined.items():
        log.info("%s: %d score rows name films outside this archive (not joined)", name, n)
    if snakemake.input.get("nih_labels"):
        manifest, joined = attach_nih_labels(manifest, snakemake.input.nih_labels)
        log.info("NIH findings joined from %s: %s", snakemake.input.nih_labels, joined)
    scored = {c: int(manifest[c].notna().sum()) for c in manifest if c.endswith("_global")}
    scored["severity_geographic"] = int(manifest["severity_geographic"].notna().sum())
    log.info("films with scores: %s", scored)
else:
    manifest = build_manifest(p.fmt, str(Path(snakemake.input.archive[0]).parent))
log.info(
    "%d images, %d subjects; views: %s",
    len(manifest),
    manifest["subject_id"].nunique(),
    manifest["view"].value_counts().to_dict(),
)
write_parquet(manifest, snakemake.output[0])
