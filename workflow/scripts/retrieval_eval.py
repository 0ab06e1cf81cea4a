"""Recall@k and KNN diagnosis of the metric model and the CE baseline (test vs train),
per test film and with bootstrap intervals over test films."""

import numpy as np
import pandas as pd

from cxr_cbir.evaluation.knn import (
    evaluate,
    random_per_query,
    random_recall_rows,
    recall_intervals,
)
from cxr_cbir.io_utils import write_csv
from cxr_cbir.run import runlog

log = runlog.setup(snakemake.log[0])
p = snakemake.params
labels = pd.read_parquet(snakemake.input.labels)
labels = labels[labels["image_id"].isin(pd.read_parquet(snakemake.input.index)["image_id"])]
train = labels[labels["split"] == "train"].reset_index(drop=True)
test = labels[labels["split"] == "test"].reset_index(drop=True)
recalls, knns, per_query = [], [], []
for name, metric in (("dml", "l2"), ("ce", "cosine")):
    emb = np.load(getattr(snakemake.input, name))
    row = {i: k for k, i in enumerate(emb["ids"].tolist())}
    vec = emb["vectors"]
    r, k, q = evaluate(
        name,
        train,
        test,
        vec[[row[i] for i in train["image_id"]]],
        vec[[row[i] for i in test["image_id"]]],
        p.classes,
        metric,
        ks=p.recall_k,
        knn_k=p.knn_k,
        site_column=p.site_column,
    )
    recalls.append(r)
    knns.append(k)
    per_query.append(q)
recalls.append(random_recall_rows(train, test, p.classes, p.recall_k))
per_query.append(random_per_query(train, test, p.classes, p.recall_k))
per_query = pd.concat(per_query, ignore_index=True)
recall_ci = recall_intervals(per_query, seed=p.seed)
recall = pd.concat(recalls, ignore_index=True)
knn = pd.concat(knns, ignore_index=True)
write_csv(recall.round(4), snakemake.output.recall)
write_csv(knn.round(4), snakemake.output.knn)
write_csv(per_query.round(6), snakemake.output.per_query)
write_csv(recall_ci.round(4), snakemake.output.recall_ci)
# paper layout: Table 3 = recall@k, rows model x class, columns k; Table 4 = KNN metrics
table3 = recall.pivot_table(index=["model", "class"], columns="k", values="recall").reset_index()
table3.columns = [c if isinstance(c, str) else f"R@{c}" for c in table3.columns]
table4 = knn.pivot_table(index=["metric", "class"], columns="model", values="value").reset_index()
write_csv(table3.round(4), snakemake.output.recall_table)
write_csv(table4.round(4), snakemake.output.knn_table)
log.info("\n%s\n%s", table3.to_string(index=False), table4.to_string(index=False))
