"""Rank every catalogue of a condition by embedding distance to its query."""

import numpy as np
import pandas as pd

from cxr_cbir.data.catalogues import catalogue_table
from cxr_cbir.io_utils import write_csv
from cxr_cbir.retrieval.ranking import rank_by_distance
from cxr_cbir.run import runlog

log = runlog.setup(snakemake.log[0])
cats = catalogue_table(
    pd.read_csv(snakemake.input.rankings, dtype={"query_id": str, "image_id": str})
)
emb = np.load(snakemake.input.embeddings)
ranking = rank_by_distance(cats, emb["ids"].tolist(), emb["vectors"], snakemake.params.metric)
log.info("ranked %d catalogues (%s)", ranking["query_id"].nunique(), snakemake.params.metric)
write_csv(ranking, snakemake.output[0])
