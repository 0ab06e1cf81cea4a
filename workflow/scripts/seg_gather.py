"""Gather the segmentation shards: the films where no lung was found, in cache order."""

import pandas as pd

from cxr_cbir.io_utils import write_csv
from cxr_cbir.preprocess.lung_shards import NO_LUNG_COLUMNS
from cxr_cbir.run import runlog

log = runlog.setup(snakemake.log[0])
parts = [pd.read_csv(p, dtype=str) for p in snakemake.input.no_lung]
no_lung = pd.concat(parts, ignore_index=True).reindex(columns=NO_LUNG_COLUMNS)
n_films = len(pd.read_parquet(snakemake.input.index))
log.info("no lung found in %d of %d films (%d shards)", len(no_lung), n_films, len(parts))
write_csv(no_lung, snakemake.output.no_lung)
