# Interpretability-guided retrieval (Silva et al. 2022): CNN, Deep Taylor saliency,
# IG (trained on saliency maps), ATT (multi-level dual attention), their embeddings,
# L2 ranking of catalogues, and the CNN(IG) ablation.


rule train_classifier:
    input:
        unpack(classifier_inputs),
        cohort=f"{OUT}/data/{{condition}}/cohort.parquet",
        code=package_code("train_classifier.py"),
    output:
        model=LAYOUT.model("{condition}", "{model}"),
        history=f"{OUT}/models/{{condition}}/{{model}}/history.csv",
        metrics=f"{OUT}/models/{{condition}}/{{model}}/metrics.csv",
        predictions=f"{OUT}/models/{{condition}}/{{model}}/predictions.csv",
    log:
        f"{OUT}/logs/train_{{condition}}_{{model}}.log",
    benchmark:
        f"{OUT}/benchmarks/train_{{condition}}_{{model}}.tsv"
    wildcard_constraints:
        model="cnn|ig|att",
    # the long chains (cnn -> saliency -> ig -> the next condition, ce -> dml) first:
    # embedding and table jobs fill the other slot, not the end of the run
    priority: 10
    conda:
        "../../envs/torch.yaml"
    threads: config["threads"]
    resources:
        gpu=1,
    params:
        train=lambda wc: config["conditions"][wc.condition]["train"],
        severity=classifier_severity,
        training=config["training"],
        batch_size=config["models"]["batch_size"],
        seed=config["seed"],
        checkpoint=lambda wc: f"{OUT}/models/{wc.condition}/{wc.model}/checkpoint.pt",
    script:
        "../scripts/train_classifier.py"


rule saliency_shard:
    input:
        model=LAYOUT.model("{condition}", "cnn"),
        cohort=f"{OUT}/data/{{condition}}/cohort.parquet",
        images=CACHE_IMAGES,
        index=CACHE_INDEX,
        code=package_code("saliency_shard.py"),
    output:
        temp(f"{OUT}/saliency/{{condition}}/shards/{{shard}}.npz"),
    log:
        f"{OUT}/logs/saliency_{{condition}}_{{shard}}.log",
    benchmark:
        f"{OUT}/benchmarks/saliency_{{condition}}_{{shard}}.tsv"
    # the long chains (cnn -> saliency -> ig -> the next condition, ce -> dml) first:
    # embedding and table jobs fill the other slot, not the end of the run
    priority: 10
    conda:
        "../../envs/torch.yaml"
    threads: config["threads"]
    resources:
        gpu=1,
    params:
        saliency=config["models"]["saliency"],
        shards=MODEL_SHARD_COUNT,
    script:
        "../scripts/saliency_shard.py"


rule saliency:
    input:
        shards=expand(
            f"{OUT}/saliency/{{{{condition}}}}/shards/{{shard}}.npz",
            shard=MODEL_SHARDS,
        ),
        cohort=f"{OUT}/data/{{condition}}/cohort.parquet",
        images=CACHE_IMAGES,
        index=CACHE_INDEX,
        code=package_code("saliency.py"),
    output:
        maps=LAYOUT.saliency_maps("{condition}"),
        ids=LAYOUT.saliency_ids("{condition}"),
        gallery=report(
            f"{OUT}/saliency/{{condition}}/gallery.png",
            caption="../report/saliency_gallery.rst",
            category="Saliency",
        ),
    log:
        f"{OUT}/logs/saliency_{{condition}}.log",
    benchmark:
        f"{OUT}/benchmarks/saliency_{{condition}}.tsv"
    # on the cnn -> saliency -> ig chain: without it the gather waited behind embedding
    # jobs (make demo at 5a7f613: 95 s and 150 s between shard and gather)
    priority: 10
    conda:
        "../../envs/data.yaml"
    params:
        method=config["models"]["saliency"]["method"],
    script:
        "../scripts/saliency.py"


rule embed_shard:
    input:
        unpack(embedding_inputs),
        cohort=f"{OUT}/data/{{condition}}/cohort.parquet",
        code=package_code("embed_shard.py"),
    output:
        temp(f"{OUT}/embeddings/{{condition}}/shards/{{method}}-{{shard}}.npz"),
    log:
        f"{OUT}/logs/embed_{{condition}}_{{method}}_{{shard}}.log",
    benchmark:
        f"{OUT}/benchmarks/embed_{{condition}}_{{method}}_{{shard}}.tsv"
    wildcard_constraints:
        method="cnn|ig|att|cnn_ig",
    conda:
        "../../envs/torch.yaml"
    threads: config["threads"]
    resources:
        gpu=1,
    params:
        batch_size=config["models"]["batch_size"],
        shards=MODEL_SHARD_COUNT,
    script:
        "../scripts/embed_shard.py"


rule embed:
    input:
        shards=expand(
            f"{OUT}/embeddings/{{{{condition}}}}/shards/{{{{method}}}}-{{shard}}.npz",
            shard=MODEL_SHARDS,
        ),
        ids=f"{OUT}/data/{{condition}}/cohort.parquet",
        code=package_code("gather_embeddings.py"),
    output:
        f"{OUT}/embeddings/{{condition}}/{{method}}.npz",
    log:
        f"{OUT}/logs/embed_{{condition}}_{{method}}.log",
    benchmark:
        f"{OUT}/benchmarks/embed_{{condition}}_{{method}}.tsv"
    wildcard_constraints:
        method="cnn|ig|att|cnn_ig",
    conda:
        "../../envs/data.yaml"
    script:
        "../scripts/gather_embeddings.py"


rule severity_readout:
    input:
        embeddings=f"{OUT}/embeddings/{{condition}}/cnn.npz",
        cohort=f"{OUT}/data/{{condition}}/cohort.parquet",
        code=package_code("severity_readout.py"),
    output:
        embeddings=f"{OUT}/embeddings/{{condition}}/cnn_sev.npz",
        readout=LAYOUT.readout("{condition}"),
        fit=report(
            f"{OUT}/models/{{condition}}/cnn_sev/fit.csv",
            caption="../report/severity_readout.rst",
            category="Classification",
            subcategory="Severity readout",
        ),
    log:
        f"{OUT}/logs/severity_readout_{{condition}}.log",
    benchmark:
        f"{OUT}/benchmarks/severity_readout_{{condition}}.tsv"
    conda:
        "../../envs/data.yaml"
    params:
        severity=severity_settings,
    script:
        "../scripts/severity_readout.py"


rule rank_embedding:
    input:
        rankings=f"{OUT}/catalogues/{{study}}/expert_rankings.csv",
        embeddings=embedding_file,
        code=package_code("rank_embedding.py"),
    output:
        f"{OUT}/rankings/{{study}}/{{method}}.csv",
    log:
        f"{OUT}/logs/rank_{{study}}_{{method}}.log",
    benchmark:
        f"{OUT}/benchmarks/rank_{{study}}_{{method}}.tsv"
    wildcard_constraints:
        method="|".join(EMBEDDING_METHODS),
    conda:
        "../../envs/data.yaml"
    params:
        metric=lambda wc: EMBEDDING_METRIC.get(wc.method, "l2"),
    script:
        "../scripts/rank_embedding.py"


rule classification_report:
    input:
        metrics=classifier_files("metrics.csv"),
        predictions=classifier_files("predictions.csv"),
        code=package_code("classification_report.py"),
    output:
        table=report(
            f"{OUT}/classification/metrics.csv",
            caption="../report/classification.rst",
            category="Classification",
        ),
        f1=report(
            f"{OUT}/classification/f1_table.csv",
            caption="../report/f1_table.rst",
            category="Classification",
        ),
        auc_ci=report(
            f"{OUT}/classification/auc_ci.csv",
            caption="../report/auc_ci.rst",
            category="Classification",
        ),
    log:
        f"{OUT}/logs/classification_report.log",
    benchmark:
        f"{OUT}/benchmarks/classification_report.tsv"
    conda:
        "../../envs/data.yaml"
    params:
        seed=config["evaluation"]["random_seed"],
    script:
        "../scripts/classification_report.py"
