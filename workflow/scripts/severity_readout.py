"""Fit the cnn_sev readout (CNN features -> severity) and write its 1-d embedding."""

import numpy as np
import pandas as pd

from cxr_cbir.io_utils import write_csv
from cxr_cbir.retrieval.severity_readout import readout_for_cohort
from cxr_cbir.run import runlog
from cxr_cbir.run.shards import save_arrays

log = runlog.setup(snakemake.log[0])
sev = snakemake.params.severity
emb = np.load(snakemake.input.embeddings)
cohort = pd.read_parquet(snakemake.input.cohort)
params, pred, fit = readout_for_cohort(
    emb["ids"], emb["vectors"], cohort, sev["column"], sev["negatives_zero"]
)
log.info("ridge alpha %g on %s\n%s", params["alpha"], sev["column"], fit.to_string(index=False))
save_arrays(snakemake.output.readout, **params)
save_arrays(snakemake.output.embeddings, ids=emb["ids"], vectors=pred)
write_csv(fit.assign(target=sev["column"], alpha=float(params["alpha"])), snakemake.output.fit)
