"""nDCG of simulated severity readouts of each graded study, against their correlation r."""

import pandas as pd

from cxr_cbir.evaluation.severity_ceiling import (
    ceiling_figure,
    ceiling_table,
    study_scores,
)
from cxr_cbir.io_utils import write_csv
from cxr_cbir.run import runlog

log = runlog.setup(snakemake.log[0])
p = snakemake.params
ids = {"query_id": str, "image_id": str, "rater": str}
parts = []
for (study, score), rankings, cohort in zip(
    p.studies.items(), snakemake.input.rankings, snakemake.input.cohorts, strict=True
):
    scores = study_scores(pd.read_parquet(cohort), score["column"], score["negatives_zero"])
    rankings = pd.read_csv(rankings, dtype=ids)
    part = ceiling_table(study, rankings, scores, p.ks, p.r_grid, p.draws, p.seed)
    left_out = rankings["query_id"].nunique() - int(part["queries"].iloc[0])
    if left_out:
        log.warning(
            "%s: %d catalogue(s) hold a film without %s: left out", study, left_out, score["column"]
        )
    parts.append(part)
table = pd.concat(parts, ignore_index=True)
log.info("\n%s", table.round(4).to_string(index=False))
write_csv(table.round(4), snakemake.output.table)
ceiling_figure(table, snakemake.output.figure)
