"""Split x label counts per condition, as a table and a figure."""

import pandas as pd

from cxr_cbir.data.filters import count_table
from cxr_cbir.io_utils import write_csv
from cxr_cbir.report.figures import counts_figure
from cxr_cbir.run import runlog

log = runlog.setup(snakemake.log[0])
cohorts = {
    c: pd.read_parquet(p)
    for c, p in zip(snakemake.params.conditions, snakemake.input.cohorts, strict=True)
}
counts = count_table(cohorts)
log.info("\n%s", counts.to_string(index=False))
write_csv(counts, snakemake.output.table)
counts_figure(counts, snakemake.output.figure)
