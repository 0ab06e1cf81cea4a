"""Gather embedding shards into one .npz (ids, vectors [, features]) in cohort order."""

import pandas as pd

from cxr_cbir.run import runlog
from cxr_cbir.run.shards import gather_arrays, save_arrays

log = runlog.setup(snakemake.log[0])
ids = pd.read_parquet(snakemake.input.ids)["image_id"].to_numpy(dtype=str)
parts = gather_arrays(list(snakemake.input.shards), ids)
log.info("gathered %s from %d shards", parts["vectors"].shape, len(snakemake.input.shards))
save_arrays(snakemake.output[0], **parts)
