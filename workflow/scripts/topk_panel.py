"""Top-k retrieval panel for one query of a condition (or study), one row per method."""

import pandas as pd

from cxr_cbir.data.catalogues import rater_order
from cxr_cbir.preprocess.cache import ImageCache
from cxr_cbir.report.figures import topk_panel
from cxr_cbir.run import runlog

log = runlog.setup(snakemake.log[0])
ids = {"query_id": str, "image_id": str}
expert = pd.read_csv(snakemake.input.expert, dtype=ids | {"rater": str})
truth = expert[expert["rater"] == rater_order(expert)[0]]
methods = {
    m: pd.read_csv(p, dtype=ids)
    for m, p in zip(snakemake.params.methods, snakemake.input.methods, strict=True)
}
queries = sorted(truth["query_id"].unique())
query = queries[snakemake.params.panel_query % len(queries)]
cohort = pd.read_parquet(snakemake.input.cohort, columns=["image_id", "label"])
labels = dict(zip(cohort["image_id"], cohort["label"], strict=True))
log.info("panel for query %s", query)
topk_panel(
    snakemake.wildcards.study,
    query,
    methods,
    truth,
    labels,
    ImageCache(snakemake.input.images, snakemake.input.index),
    snakemake.params.top_k,
    snakemake.output[0],
)
