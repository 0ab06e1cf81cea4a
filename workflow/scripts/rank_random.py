"""A seeded random ranking of every catalogue: a sample of chance for the top-k panels
(nDCG scores chance exactly, over all orders)."""

import pandas as pd

from cxr_cbir.data.catalogues import catalogue_table
from cxr_cbir.io_utils import write_csv
from cxr_cbir.retrieval.ranking import random_rankings
from cxr_cbir.run import runlog

log = runlog.setup(snakemake.log[0])
cats = catalogue_table(
    pd.read_csv(snakemake.input.rankings, dtype={"query_id": str, "image_id": str})
)
write_csv(random_rankings(cats, snakemake.params.seed), snakemake.output[0])
