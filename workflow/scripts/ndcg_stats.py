"""nDCG@k with bootstrap intervals over queries, and paired tests against the baselines."""

import pandas as pd

from cxr_cbir.evaluation.ndcg_stats import ndcg_intervals, paired_table
from cxr_cbir.io_utils import write_csv
from cxr_cbir.run import runlog

log = runlog.setup(snakemake.log[0])
ndcg = pd.read_csv(snakemake.input.table, dtype={"query_id": str})
ci = ndcg_intervals(ndcg, seed=snakemake.params.seed)
paired = paired_table(ndcg, seed=snakemake.params.seed)
log.info("\n%s", ci.round(3).to_string(index=False))
write_csv(ci.round(4), snakemake.output.ci)
# p values keep 3 significant digits (a 4-decimal rounding would print 1e-8 as 0.0)
paired["p_value"] = paired["p_value"].map(lambda p: float(f"{p:.3g}"))
write_csv(paired.round({"mean_diff": 4, "ci_low": 4, "ci_high": 4}), snakemake.output.paired)
