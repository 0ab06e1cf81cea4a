# Deep-metric-learning retrieval (Zhong et al.): attention ResNet-50 with multi-similarity
# loss, the cross-entropy ResNet-50 baseline, KNN diagnosis, recall@k, prognosis transfer.


rule metric_cohort:
    input:
        table=f"{OUT}/data/split.parquet",
        code=package_code("metric_cohort.py"),
    output:
        f"{OUT}/data/metric/labels.parquet",
    log:
        f"{OUT}/logs/metric_cohort.log",
    benchmark:
        f"{OUT}/benchmarks/metric_cohort.tsv"
    conda:
        "../../envs/data.yaml"
    params:
        label=ML.get("label"),
        classes=ML.get("classes"),
        views=ML.get("views"),
        folders=ML.get("folders"),
    script:
        "../scripts/metric_cohort.py"


rule train_metric:
    input:
        labels=f"{OUT}/data/metric/labels.parquet",
        images=CACHE_IMAGES,
        index=CACHE_INDEX,
        code=package_code("train_metric.py"),
        init=metric_init,
    output:
        model=LAYOUT.model("metric", "{mlmodel}"),
        history=f"{OUT}/models/metric/{{mlmodel}}/history.csv",
    log:
        f"{OUT}/logs/train_metric_{{mlmodel}}.log",
    benchmark:
        f"{OUT}/benchmarks/train_metric_{{mlmodel}}.tsv"
    wildcard_constraints:
        mlmodel="dml|ce",
    # the long chains (cnn -> saliency -> ig -> the next condition, ce -> dml) first:
    # embedding and table jobs fill the other slot, not the end of the run
    priority: 10
    conda:
        "../../envs/torch.yaml"
    threads: config["threads"]
    resources:
        gpu=1,
    params:
        ml=metric_train_settings,
        training=config["training"],
        seed=config["seed"],
        checkpoint=lambda wc: f"{OUT}/models/metric/{wc.mlmodel}/checkpoint.pt",
    script:
        "../scripts/train_metric.py"


rule embed_metric_shard:
    input:
        model=LAYOUT.model("metric", "{mlmodel}"),
        images=CACHE_IMAGES,
        index=CACHE_INDEX,
        code=package_code("embed_metric.py"),
    output:
        temp(f"{OUT}/embeddings/metric/shards/{{mlmodel}}-{{shard}}.npz"),
    log:
        f"{OUT}/logs/embed_metric_{{mlmodel}}_{{shard}}.log",
    benchmark:
        f"{OUT}/benchmarks/embed_metric_{{mlmodel}}_{{shard}}.tsv"
    wildcard_constraints:
        mlmodel="dml|ce",
    conda:
        "../../envs/torch.yaml"
    threads: config["threads"]
    resources:
        gpu=1,
    params:
        ml={k: ML.get(k) for k in ("classes", "embedding_dim", "attention")},
        batch_size=config.get("models", {}).get("batch_size", 32),
        shards=ML_SHARD_COUNT,
    script:
        "../scripts/embed_metric.py"


rule embed_metric:
    input:
        shards=expand(
            f"{OUT}/embeddings/metric/shards/{{{{mlmodel}}}}-{{shard}}.npz",
            shard=ML_SHARDS,
        ),
        ids=CACHE_INDEX,
        code=package_code("gather_embeddings.py"),
    output:
        f"{OUT}/embeddings/metric/{{mlmodel}}.npz",
    log:
        f"{OUT}/logs/embed_metric_{{mlmodel}}.log",
    benchmark:
        f"{OUT}/benchmarks/embed_metric_{{mlmodel}}.tsv"
    wildcard_constraints:
        mlmodel="dml|ce",
    conda:
        "../../envs/data.yaml"
    script:
        "../scripts/gather_embeddings.py"


rule retrieval_eval:
    input:
        labels=f"{OUT}/data/metric/labels.parquet",
        index=CACHE_INDEX,
        dml=f"{OUT}/embeddings/metric/dml.npz",
        ce=f"{OUT}/embeddings/metric/ce.npz",
        code=package_code("retrieval_eval.py"),
    output:
        recall=report(
            f"{OUT}/retrieval/recall_at_k.csv",
            caption="../report/recall_at_k.rst",
            category="Metric learning",
        ),
        knn=report(
            f"{OUT}/retrieval/knn_diagnosis.csv",
            caption="../report/knn_diagnosis.rst",
            category="Metric learning",
        ),
        recall_table=report(
            f"{OUT}/retrieval/recall_table.csv",
            caption="../report/recall_table.rst",
            category="Metric learning",
        ),
        knn_table=report(
            f"{OUT}/retrieval/knn_table.csv",
            caption="../report/knn_table.rst",
            category="Metric learning",
        ),
        recall_ci=report(
            f"{OUT}/retrieval/recall_ci.csv",
            caption="../report/recall_ci.rst",
            category="Metric learning",
        ),
        per_query=f"{OUT}/retrieval/per_query.csv",
    log:
        f"{OUT}/logs/retrieval_eval.log",
    benchmark:
        f"{OUT}/benchmarks/retrieval_eval.tsv"
    conda:
        "../../envs/data.yaml"
    params:
        classes=ML.get("classes"),
        recall_k=ML.get("recall_k"),
        knn_k=ML.get("knn_k"),
        site_column=ML.get("site_column"),
        seed=config["evaluation"]["random_seed"],
    script:
        "../scripts/retrieval_eval.py"


rule attention_gallery:
    input:
        model=LAYOUT.model("metric", "dml"),
        labels=f"{OUT}/data/metric/labels.parquet",
        images=CACHE_IMAGES,
        index=CACHE_INDEX,
        code=package_code("attention_gallery.py"),
    output:
        report(
            f"{OUT}/retrieval/attention_maps.png",
            caption="../report/attention_maps.rst",
            category="Metric learning",
        ),
    log:
        f"{OUT}/logs/attention_gallery.log",
    benchmark:
        f"{OUT}/benchmarks/attention_gallery.tsv"
    conda:
        "../../envs/torch.yaml"
    resources:
        gpu=1,
    params:
        ml={k: ML.get(k) for k in ("classes", "embedding_dim", "attention")},
    script:
        "../scripts/attention_gallery.py"


rule prognosis:
    input:
        table=f"{OUT}/data/split.parquet",
        index=CACHE_INDEX,
        dml=f"{OUT}/embeddings/metric/dml.npz",
        code=package_code("prognosis.py"),
    output:
        auc=report(
            f"{OUT}/prognosis/auc.csv",
            caption="../report/prognosis_auc.rst",
            category="Prognosis",
        ),
        summary=report(
            f"{OUT}/prognosis/auc_summary.csv",
            caption="../report/prognosis_auc.rst",
            category="Prognosis",
        ),
        roc=report(
            f"{OUT}/prognosis/roc.png",
            caption="../report/prognosis_roc.rst",
            category="Prognosis",
        ),
        predictions=f"{OUT}/prognosis/predictions.csv",
    log:
        f"{OUT}/logs/prognosis.log",
    benchmark:
        f"{OUT}/benchmarks/prognosis.tsv"
    conda:
        "../../envs/data.yaml"
    params:
        prognosis=config.get("prognosis"),
        views=ML.get("views"),
        seed=config["seed"],
    script:
        "../scripts/prognosis.py"
