# Films of sources the models never saw: the split holds cross_source.held_out out of
# training, validation and test (split 'external'); every model is scored on them beside
# the in-domain test films.


rule cross_source:
    input:
        unpack(cross_source_inputs),
        code=package_code("cross_source.py"),
    output:
        report(
            f"{OUT}/evaluation/cross_source.csv",
            caption="../report/cross_source.rst",
            category="Evaluation",
            subcategory="Unseen sources",
        ),
    log:
        f"{OUT}/logs/cross_source.log",
    benchmark:
        f"{OUT}/benchmarks/cross_source.tsv"
    conda:
        "../../envs/torch.yaml"
    params:
        conditions=CONDITIONS,
        embedding_methods=CROSS_EMBEDDING_METHODS,
        severity_methods=[m for m in ("sev", "cnn_sev") if m in EMBEDDING_METHODS],
        severity_column={
            c: config["conditions"][c]["severity"].get("column") for c in CONDITIONS
        },
        metric_methods=ML_METHODS,
        metric_distance={m: EMBEDDING_METRIC.get(m, "l2") for m in ML_METHODS},
        metric_label=ML.get("label"),
        metric_positive=CROSS.get("metric_positive"),
        knn_k=CROSS.get("knn_k", 10),
        seed=config["evaluation"]["random_seed"],
    script:
        "../scripts/cross_source.py"
