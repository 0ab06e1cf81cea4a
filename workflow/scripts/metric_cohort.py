"""Films for metric learning: allowed folders and views, classes from the label column."""

import pandas as pd

from cxr_cbir.data.filters import class_filter, folder_filter
from cxr_cbir.io_utils import write_parquet
from cxr_cbir.run import runlog

log = runlog.setup(snakemake.log[0])
df = class_filter(
    folder_filter(pd.read_parquet(snakemake.input.table), snakemake.params.folders),
    snakemake.params.label,
    snakemake.params.classes,
    snakemake.params.views,
    snakemake.input.table,
)
log.info("%d films: %s", len(df), df.groupby(["split", "class_name"]).size().to_dict())
write_parquet(df, snakemake.output[0])
