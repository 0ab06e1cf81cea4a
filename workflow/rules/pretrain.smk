# Pretraining (init: pretrain): a DenseNet-121 trained on every frontal film of the run
# that records one of its findings (every archive folder: films no condition reads are
# cached for it) to predict them all; its weights start the classifiers and the severity
# model. It reruns only when its films, the cache or its settings change.


rule pretrain_cohort:
    input:
        table=f"{OUT}/data/split.parquet",
        code=package_code("pretrain_cohort.py"),
    output:
        f"{OUT}/data/pretrain/labels.parquet",
    log:
        f"{OUT}/logs/pretrain_cohort.log",
    benchmark:
        f"{OUT}/benchmarks/pretrain_cohort.tsv"
    conda:
        "../../envs/data.yaml"
    params:
        targets=PRETRAIN.get("targets"),
        views=PRETRAIN.get("views"),
        folders=PRETRAIN.get("folders"),
    script:
        "../scripts/pretrain_cohort.py"


rule pretrain:
    input:
        cohort=f"{OUT}/data/pretrain/labels.parquet",
        images=CACHE_IMAGES,
        index=CACHE_INDEX,
        code=package_code("pretrain.py"),
    output:
        model=LAYOUT.model("pretrain", "cnn"),
        history=f"{OUT}/models/pretrain/cnn/history.csv",
        metrics=report(
            f"{OUT}/models/pretrain/cnn/metrics.csv",
            caption="../report/pretrain.rst",
            category="Classification",
            subcategory="Pretraining",
        ),
    log:
        f"{OUT}/logs/pretrain.log",
    benchmark:
        f"{OUT}/benchmarks/pretrain.tsv"
    priority: 20
    conda:
        "../../envs/torch.yaml"
    threads: config["threads"]
    resources:
        gpu=1,
    params:
        spec=lambda wc: pretrain_spec(),
        amp=config["training"]["amp"],
        workers=config["training"]["workers"],
        seed=config["seed"],
        checkpoint=f"{OUT}/models/pretrain/cnn/checkpoint.pt",
    script:
        "../scripts/pretrain.py"


rule library_weights:
    input:
        code=package_code("library_weights.py"),
    output:
        f"{OUT}/models/library/{{lib}}/{{weights}}/{{family}}.pt",
    log:
        f"{OUT}/logs/library_weights_{{lib}}_{{weights}}_{{family}}.log",
    benchmark:
        f"{OUT}/benchmarks/library_weights_{{lib}}_{{weights}}_{{family}}.tsv"
    wildcard_constraints:
        lib="torchvision|torchxrayvision",
        family="densenet|att|resnet",
    conda:
        "../../envs/torch.yaml"
    params:
        spec=lambda wc: f"{wc.lib}:{wc.weights}",
        arch=lambda wc: LIBRARY_FAMILIES[wc.family],
    script:
        "../scripts/library_weights.py"
