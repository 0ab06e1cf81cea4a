"""Keep the views (frontal only) and archive folders allowed for one condition."""

import pandas as pd

from cxr_cbir.data.filters import folder_filter, view_filter
from cxr_cbir.io_utils import write_parquet
from cxr_cbir.run import runlog

log = runlog.setup(snakemake.log[0])
df = pd.read_parquet(snakemake.input.table)
kept = view_filter(folder_filter(df, snakemake.params.folders), snakemake.params.views)
log.info(
    "folders %s, views %s: kept %d of %d images",
    snakemake.params.folders or "all",
    snakemake.params.views,
    len(kept),
    len(df),
)
write_parquet(kept, snakemake.output[0])
