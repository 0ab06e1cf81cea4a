"""The pretraining stage's films: frontal films (of its folders) recording a finding."""

import pandas as pd

from cxr_cbir.data.filters import folder_filter, recorded_filter, view_filter
from cxr_cbir.io_utils import write_parquet
from cxr_cbir.run import runlog

log = runlog.setup(snakemake.log[0])
p = snakemake.params
table = pd.read_parquet(snakemake.input.table)
films = recorded_filter(
    view_filter(folder_filter(table, p.folders), p.views), p.targets, snakemake.input.table
)
by = ["folder", "split"] if "folder" in films.columns else ["split"]
log.info("%d of %d films: %s", len(films), len(table), films.groupby(by).size().to_dict())
write_parquet(films, snakemake.output[0])
