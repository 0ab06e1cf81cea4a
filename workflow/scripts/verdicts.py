"""Verdicts (holds / reversed / unresolved) on each ordering the two papers claim."""

import pandas as pd

from cxr_cbir.evaluation.verdicts import verdict_table
from cxr_cbir.io_utils import write_csv
from cxr_cbir.run import runlog

log = runlog.setup(snakemake.log[0])
inp = snakemake.input


def optional(name, **kwargs):
    return pd.read_csv(inp[name], **kwargs) if name in inp.keys() else None


table = verdict_table(
    pd.read_csv(inp.ndcg, dtype={"query_id": str}),
    per_query=optional("per_query", dtype={"image_id": str}),
    dice=optional("dice", dtype={"image": str}),
    predictions=optional("predictions", dtype={"image_id": str, "group": str}),
    seed=snakemake.params.seed,
)
log.info("\n%s", table.round(3).to_string(index=False))
write_csv(table.round(4), snakemake.output[0])
