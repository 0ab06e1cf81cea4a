"""Exact search index over every embedded image of one model, with what a query prints."""

import numpy as np
import pandas as pd

from cxr_cbir.io_utils import write_parquet
from cxr_cbir.retrieval.index import EmbeddingIndex, index_table
from cxr_cbir.run import runlog

log = runlog.setup(snakemake.log[0])
with np.load(snakemake.input.embeddings) as z:
    ids, vectors = z["ids"].astype(str), z["vectors"]
index = EmbeddingIndex(ids, vectors, snakemake.params.metric)
source = pd.read_parquet(snakemake.input.table)
table = index_table(source, ids, snakemake.params.columns)
index.save(snakemake.output.index)
write_parquet(table, snakemake.output.table)
log.info("index %s: %d x %d (%s)", snakemake.wildcards.method, *vectors.shape, index.metric)
