"""Keep definite labels (1 / 0) of one condition; drop uncertain (-1) and blank."""

import pandas as pd

from cxr_cbir.data.filters import label_filter
from cxr_cbir.io_utils import write_parquet
from cxr_cbir.run import runlog

log = runlog.setup(snakemake.log[0])
df = pd.read_parquet(snakemake.input.table)
kept = label_filter(df, snakemake.params.label, source=snakemake.input.table)
log.info(
    "label %r: kept %d of %d (positives %d)",
    snakemake.params.label,
    len(kept),
    len(df),
    int(kept["label"].sum()),
)
write_parquet(kept, snakemake.output[0])
