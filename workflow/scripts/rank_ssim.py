"""Rank every catalogue of one condition by SSIM to its query."""

import pandas as pd

from cxr_cbir.data.catalogues import catalogue_table
from cxr_cbir.io_utils import write_csv
from cxr_cbir.preprocess.cache import ImageCache
from cxr_cbir.retrieval.ssim import rank_catalogues_by_ssim
from cxr_cbir.run import runlog

log = runlog.setup(snakemake.log[0])
cats = catalogue_table(
    pd.read_csv(snakemake.input.rankings, dtype={"query_id": str, "image_id": str})
)
ranking = rank_catalogues_by_ssim(cats, ImageCache(snakemake.input.images, snakemake.input.index))
log.info("ranked %d catalogues", ranking["query_id"].nunique())
write_csv(ranking, snakemake.output[0])
