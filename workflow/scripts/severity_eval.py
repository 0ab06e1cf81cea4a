"""Held-out r and MAE of every severity-predicting method, per condition and target."""

import numpy as np
import pandas as pd

from cxr_cbir.evaluation.severity import agreement_table, long_predictions
from cxr_cbir.io_utils import write_csv
from cxr_cbir.retrieval.severity_readout import severity_targets
from cxr_cbir.run import runlog

log = runlog.setup(snakemake.log[0])
parts = []
# the severity model: every target it learned
for condition, path in zip(snakemake.params.sev_conditions, snakemake.input.sev, strict=True):
    parts.append(agreement_table(pd.read_csv(path, dtype={"image_id": str}), condition, "sev"))
# the cnn_sev readout: its one target
readouts = zip(snakemake.input.readout, snakemake.input.readout_cohorts, strict=True)
for condition, (path, cohort_path) in zip(
    snakemake.params.readout_conditions, readouts, strict=True
):
    sev = snakemake.params.severity[condition]
    emb = np.load(path)
    cohort = pd.read_parquet(cohort_path)
    target = severity_targets(cohort, sev["column"], sev["negatives_zero"])
    scores = target.reindex(emb["ids"].astype(str)).to_numpy()[:, None]
    table = long_predictions(cohort, emb["ids"], emb["vectors"][:, :1], [sev["column"]], scores)
    parts.append(agreement_table(table, condition, "cnn_sev"))
result = pd.concat(parts, ignore_index=True)
log.info("\n%s", result.to_string(index=False))
write_csv(result, snakemake.output[0])
