"""Gather classifier metrics (F1 at the validation-chosen threshold, precision, recall, AUC)."""

from pathlib import Path

import pandas as pd

from cxr_cbir.evaluation.classification_ci import auc_intervals
from cxr_cbir.io_utils import write_csv
from cxr_cbir.run import runlog

log = runlog.setup(snakemake.log[0])
metrics = pd.concat([pd.read_csv(p) for p in snakemake.input.metrics], ignore_index=True)
write_csv(metrics.round(4), snakemake.output.table)
f1 = metrics[metrics["split"] == "test"].pivot_table(
    index="model", columns="condition", values="f1"
)
write_csv(f1.round(4).reset_index(), snakemake.output.f1)
log.info("\n%s", f1.to_string())
predictions = pd.concat(
    [
        pd.read_csv(p, dtype={"image_id": str, "group": str}).assign(
            condition=Path(p).parts[-3], model=Path(p).parts[-2]
        )
        for p in snakemake.input.predictions
    ],
    ignore_index=True,
)
auc = auc_intervals(predictions, seed=snakemake.params.seed)
write_csv(auc.round(4), snakemake.output.auc_ci)
log.info("AUC with patient-bootstrap intervals:\n%s", auc.round(3).to_string(index=False))
