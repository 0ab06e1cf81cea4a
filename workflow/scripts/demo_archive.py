"""Generate the synthetic MIMIC-CXR-JPG-layout demo archive."""

from pathlib import Path

from cxr_cbir.data.demo.archive import generate_archive
from cxr_cbir.run import runlog

log = runlog.setup(snakemake.log[0])
demo = snakemake.params.demo
truth = generate_archive(
    root=str(Path(snakemake.output.metadata).parent),
    n_subjects=demo["n_subjects"],
    seed=snakemake.params.seed,
    split_fractions=demo.get("split_fractions") or {"train": 0.7, "validate": 0.1, "test": 0.2},
    conditions=snakemake.params.conditions,
    catalogues=snakemake.params.catalogues,
    raters=demo.get("raters") or {"R1": 0.0},
    n_corrupt=demo["n_corrupt"],
    workers=snakemake.threads,
)
log.info("wrote %d images of %d subjects", len(truth), truth["subject_id"].nunique())
