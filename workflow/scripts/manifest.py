"""Read the archive (MIMIC-CXR-JPG or covid-chestxray layout) into the manifest."""

from pathlib import Path

from cxr_cbir import runlog
from cxr_cbir.archive import build_manifest
from cxr_cbir.io_utils import write_parquet

log = runlog.setup(snakemake.log[0])
manifest = build_manifest(snakemake.params.fmt, str(Path(snakemake.input.archive[0]).parent))
log.info(
    "%d images, %d subjects; views: %s",
    len(manifest),
    manifest["subject_id"].nunique(),
    manifest["view"].value_counts().to_dict(),
)
write_parquet(manifest, snakemake.output[0])
