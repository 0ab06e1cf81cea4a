"""Gather classifier metrics (F1, precision, recall, AUC) and training curves."""

import pandas as pd

from cxr_cbir import runlog
from cxr_cbir.figures import training_curves
from cxr_cbir.io_utils import write_csv

log = runlog.setup(snakemake.log[0])
metrics = pd.concat([pd.read_csv(p) for p in snakemake.input.metrics], ignore_index=True)
histories = pd.concat([pd.read_csv(p) for p in snakemake.input.histories], ignore_index=True)
write_csv(metrics.round(4), snakemake.output.table)
f1 = metrics[metrics["split"] == "test"].pivot_table(
    index="model", columns="condition", values="f1"
)
write_csv(f1.round(4).reset_index(), snakemake.output.f1)
log.info("\n%s", f1.to_string())
training_curves(histories, snakemake.output.curves)
