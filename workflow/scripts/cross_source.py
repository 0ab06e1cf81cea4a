"""Every model on films of sources it never saw (split 'external') beside the test films:
disease AUC, KNN AUC and severity r, with patient intervals."""

import numpy as np
import pandas as pd

from cxr_cbir.evaluation.cross_source import COLUMNS, embedding_rows, severity_rows
from cxr_cbir.io_utils import write_csv
from cxr_cbir.run import runlog
from cxr_cbir.torch_utils import load_checkpoint

log = runlog.setup(snakemake.log[0])
p = snakemake.params
k, seed = p.knn_k, p.seed
rows = []
agreement = pd.read_csv(snakemake.input.severity) if p.severity_methods else None


def aligned(table, ids):
    """``table`` rows in the order of the embedding ``ids`` (films it lacks are dropped)."""
    return table.set_index("image_id").reindex(pd.Index(ids.astype(str))).reset_index()


for condition in p.conditions:
    cohort = pd.read_parquet(snakemake.input[f"cohort_{condition}"])
    cohort = cohort.assign(image_id=cohort["image_id"].astype(str), positive=cohort["label"])
    for method in p.embedding_methods:
        emb = np.load(snakemake.input[f"{condition}_{method}"])
        table = aligned(cohort, emb["ids"])
        head = None
        model = snakemake.input.get(f"{condition}_{method}_model")
        if model:  # the classifier's own head on its embedding: its disease probability
            state = load_checkpoint(model)
            head = (state["classifier.weight"].numpy(), state["classifier.bias"].numpy())
        rows += embedding_rows(condition, method, table, emb["vectors"], k, "l2", head, seed)
    for method in p.severity_methods:  # r as evaluation/severity.csv has it
        rows += severity_rows(agreement, condition, method, p.severity_column[condition])
if p.metric_methods:
    labels = pd.read_parquet(snakemake.input.metric_labels)
    positive = (labels[p.metric_label].astype(str) == p.metric_positive).astype(float)
    labels = labels.assign(image_id=labels["image_id"].astype(str), positive=positive)
    for method in p.metric_methods:
        emb = np.load(snakemake.input[f"metric_{method}"])
        table = aligned(labels, emb["ids"])
        metric = p.metric_distance[method]
        rows += embedding_rows(
            f"metric:{p.metric_positive}", method, table, emb["vectors"], k, metric, None, seed
        )
result = pd.DataFrame(rows, columns=COLUMNS)
log.info("\n%s", result.to_string(index=False))
write_csv(result, snakemake.output[0])
