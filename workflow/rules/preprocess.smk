# Preprocessing as separate file-based steps: manifest -> split -> view filter ->
# label filter -> resized cache (scatter over shards, gather) -> cohorts -> counts.


rule manifest:
    input:
        **severity_inputs(),
        **nih_label_inputs(),
        archive=archive_inputs(),
        code=package_code("manifest.py"),
    output:
        LAYOUT.manifest,
    log:
        f"{OUT}/logs/manifest.log",
    benchmark:
        f"{OUT}/benchmarks/manifest.tsv"
    conda:
        "../../envs/data.yaml"
    params:
        fmt=config["data"]["format"],
        # the data root the archive folders (and every image path) sit in
        root=lambda wildcards: ROOT,
        folders=config["data"].get("folders"),
    script:
        "../scripts/manifest.py"


rule split:
    input:
        manifest=f"{OUT}/data/manifest.parquet",
        code=package_code("split.py"),
    output:
        f"{OUT}/data/split.parquet",
    log:
        f"{OUT}/logs/split.log",
    benchmark:
        f"{OUT}/benchmarks/split.tsv"
    conda:
        "../../envs/data.yaml"
    params:
        split=config["split"],
        seed=config["seed"],
        # sources held out of training, validation and test (split 'external')
        held_out={k: CROSS[k] for k in ("column", "held_out")} if CROSS else None,
    script:
        "../scripts/split.py"


rule view_filter:
    input:
        table=f"{OUT}/data/split.parquet",
        code=package_code("view_filter.py"),
    output:
        f"{OUT}/data/{{condition}}/views.parquet",
    log:
        f"{OUT}/logs/view_filter_{{condition}}.log",
    benchmark:
        f"{OUT}/benchmarks/view_filter_{{condition}}.tsv"
    conda:
        "../../envs/data.yaml"
    params:
        views=lambda wc: config["conditions"][wc.condition]["views"],
        folders=lambda wc: config["conditions"][wc.condition].get("folders"),
    script:
        "../scripts/view_filter.py"


rule label_filter:
    input:
        table=f"{OUT}/data/{{condition}}/views.parquet",
        code=package_code("label_filter.py"),
    output:
        f"{OUT}/data/{{condition}}/labels.parquet",
    log:
        f"{OUT}/logs/label_filter_{{condition}}.log",
    benchmark:
        f"{OUT}/benchmarks/label_filter_{{condition}}.tsv"
    conda:
        "../../envs/data.yaml"
    params:
        label=lambda wc: config["conditions"][wc.condition]["label"],
    script:
        "../scripts/label_filter.py"


rule cache_list:
    input:
        cache_list_inputs(),
    output:
        f"{OUT}/cache/images.parquet",
    log:
        f"{OUT}/logs/cache_list.log",
    benchmark:
        f"{OUT}/benchmarks/cache_list.tsv"
    conda:
        "../../envs/data.yaml"
    script:
        "../scripts/cache_list.py"


rule cache_shard:
    input:
        images=f"{OUT}/cache/images.parquet",
        code=package_code("cache_shard.py"),
    output:
        npz=f"{OUT}/cache/shards/{{shard}}.npz",
        rejected=f"{OUT}/cache/shards/{{shard}}.rejected.csv",
    log:
        f"{OUT}/logs/cache_shard_{{shard}}.log",
    benchmark:
        f"{OUT}/benchmarks/cache_shard_{{shard}}.tsv"
    conda:
        "../../envs/data.yaml"
    params:
        root=ROOT,
        size=config["preprocess"]["image_size"],
        # the last step of the cache the models read: here only without a lung mask
        intensity=config["preprocess"]["intensity"] if LUNG_MASK == "none" else "none",
        n_shards=len(SHARDS),
    script:
        "../scripts/cache_shard.py"


rule cache_gather:
    input:
        images=f"{OUT}/cache/images.parquet",
        npz=expand(f"{OUT}/cache/shards/{{shard}}.npz", shard=SHARDS),
        rejected=expand(f"{OUT}/cache/shards/{{shard}}.rejected.csv", shard=SHARDS),
        code=package_code("cache_gather.py"),
    output:
        images=f"{OUT}/cache/images.npy",
        index=f"{OUT}/cache/index.parquet",
        rejected=report(
            f"{OUT}/data/rejected.csv",
            caption="../report/rejected.rst",
            category="Data",
        ),
    log:
        f"{OUT}/logs/cache_gather.log",
    benchmark:
        f"{OUT}/benchmarks/cache_gather.tsv"
    conda:
        "../../envs/data.yaml"
    params:
        max_bad_fraction=config["data"]["max_bad_fraction"],
    script:
        "../scripts/cache_gather.py"


rule cohort:
    input:
        labels=f"{OUT}/data/{{condition}}/labels.parquet",
        index=f"{OUT}/cache/index.parquet",
        rejected=f"{OUT}/data/rejected.csv",
        code=package_code("cohort.py"),
    output:
        f"{OUT}/data/{{condition}}/cohort.parquet",
    log:
        f"{OUT}/logs/cohort_{{condition}}.log",
    benchmark:
        f"{OUT}/benchmarks/cohort_{{condition}}.tsv"
    conda:
        "../../envs/data.yaml"
    params:
        label=lambda wc: config["conditions"][wc.condition]["label"],
    script:
        "../scripts/cohort.py"


rule counts:
    input:
        cohorts=expand(f"{OUT}/data/{{condition}}/cohort.parquet", condition=CONDITIONS),
        code=package_code("counts.py"),
    output:
        table=report(
            f"{OUT}/data/counts.csv", caption="../report/counts.rst", category="Data"
        ),
        figure=report(
            f"{OUT}/data/counts.png", caption="../report/counts.rst", category="Data"
        ),
    log:
        f"{OUT}/logs/counts.log",
    benchmark:
        f"{OUT}/benchmarks/counts.tsv"
    conda:
        "../../envs/data.yaml"
    params:
        conditions=CONDITIONS,
    script:
        "../scripts/counts.py"
