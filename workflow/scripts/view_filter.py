"""Keep the views allowed for one condition (frontal only)."""

import pandas as pd

from cxr_cbir import runlog
from cxr_cbir.filters import view_filter
from cxr_cbir.io_utils import write_parquet

log = runlog.setup(snakemake.log[0])
df = pd.read_parquet(snakemake.input.table)
kept = view_filter(df, snakemake.params.views)
log.info("views %s: kept %d of %d images", snakemake.params.views, len(kept), len(df))
write_parquet(kept, snakemake.output[0])
