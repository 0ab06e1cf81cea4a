"""nDCG@k of every ranking method and rater, per query, and its summary."""

import pandas as pd

from cxr_cbir.evaluation.ndcg_tables import ndcg_table, summarise
from cxr_cbir.io_utils import write_csv
from cxr_cbir.run import runlog

log = runlog.setup(snakemake.log[0])
ids = {"query_id": str, "image_id": str}
conditions, methods = snakemake.params.conditions, snakemake.params.methods
method_files = iter(snakemake.input.methods)
parts = []
for condition, expert in zip(conditions, snakemake.input.expert, strict=True):
    rankings = pd.read_csv(expert, dtype=ids | {"rater": str})
    tables = {m: pd.read_csv(next(method_files), dtype=ids) for m in methods}
    parts.append(ndcg_table(condition, rankings, tables, snakemake.params.ks))
ndcg = pd.concat(parts, ignore_index=True)
summary = summarise(ndcg)
log.info("\n%s", summary.to_string(index=False))
write_csv(ndcg, snakemake.output.table)
write_csv(summary.round(4), snakemake.output.summary)
