"""Box plots of nDCG per method, one panel per condition and cut-off."""

import pandas as pd

from cxr_cbir.report.figures import ndcg_boxplot
from cxr_cbir.run import runlog

runlog.setup(snakemake.log[0])
ndcg_boxplot(pd.read_csv(snakemake.input.table, dtype={"query_id": str}), snakemake.output[0])
