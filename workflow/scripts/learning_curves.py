"""Every trainer's history in one table and one learning-curve figure."""

from pathlib import Path

import pandas as pd

from cxr_cbir.io_utils import write_csv
from cxr_cbir.report.figures import learning_curves
from cxr_cbir.run import runlog
from cxr_cbir.training.history import combine

log = runlog.setup(snakemake.log[0])
parts = []
for path in snakemake.input.classifiers:
    h = pd.read_csv(path)
    parts.append(("classifier", f"{h['condition'].iloc[0]}/{h['model'].iloc[0]}", h))
for path in snakemake.input.pretrain:
    parts.append(("pretrain", "pretrain", pd.read_csv(path)))
for path in snakemake.input.severity:
    h = pd.read_csv(path)
    parts.append(("severity", f"{h['condition'].iloc[0]}/sev", h))
for family, paths in (("metric", snakemake.input.metric), ("segmentation", snakemake.input.seg)):
    for path in paths:
        parts.append((family, Path(path).parent.name, pd.read_csv(path)))
table = combine(parts)
kept = table[table["kept"]]
log.info("kept epochs:\n%s", kept.to_string(index=False))
write_csv(table, snakemake.output.table)
learning_curves(table, snakemake.output.figure)
