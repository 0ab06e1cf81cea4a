"""Expert rankings of one condition's catalogues."""

import pandas as pd

from cxr_cbir.data.catalogues import catalogues_for_condition, rater_order
from cxr_cbir.io_utils import write_csv
from cxr_cbir.run import runlog

log = runlog.setup(snakemake.log[0])
rejected = set(pd.read_csv(snakemake.input.rejected, dtype=str)["image_id"])
rankings = catalogues_for_condition(
    snakemake.wildcards.study,
    pd.read_parquet(snakemake.input.cohort),
    snakemake.params.settings,
    rejected,
    snakemake.params.seed,
    log=log,
)
log.info("%d catalogues, raters %s", rankings["query_id"].nunique(), rater_order(rankings))
write_csv(rankings, snakemake.output[0])
