# Lung segmentation ensemble (Zhong et al.): five smp members, each its own GPU job,
# averaged (equal weights, or weights chosen on validation pairs) and cleaned up; Dice on
# held-out pairs; masks applied to the retrieval cache.


rule seg_pairs:
    input:
        unpack(seg_pair_inputs),
        code=package_code("seg_pairs.py"),
    output:
        table=f"{OUT}/segmentation/pairs.parquet",
        arrays=f"{OUT}/segmentation/pairs.npz",
        rejected=f"{OUT}/segmentation/rejected_pairs.csv",
    log:
        f"{OUT}/logs/seg_pairs.log",
    benchmark:
        f"{OUT}/benchmarks/seg_pairs.tsv"
    conda:
        "../../envs/data.yaml"
    params:
        seg=seg_data_settings(),
        seed=config["seed"],
    script:
        "../scripts/seg_pairs.py"


rule seg_train:
    input:
        table=f"{OUT}/segmentation/pairs.parquet",
        arrays=f"{OUT}/segmentation/pairs.npz",
        weights=lambda wc: seg_member(wc.member).get("weights") or [],
        code=package_code("seg_train.py"),
    output:
        model=LAYOUT.seg_member("{member}"),
        history=f"{OUT}/segmentation/members/{{member}}/history.csv",
    log:
        f"{OUT}/logs/seg_train_{{member}}.log",
    benchmark:
        f"{OUT}/benchmarks/seg_train_{{member}}.tsv"
    priority: seg_member_priority
    conda:
        "../../envs/torch.yaml"
    threads: config["threads"]
    resources:
        gpu=1,
    params:
        member=lambda wc: seg_member(wc.member),
        train=seg_train_settings(),
        training=config["training"],
        seed=config["seed"],
        checkpoint=lambda wc: f"{OUT}/segmentation/members/{wc.member}/checkpoint.pt",
    script:
        "../scripts/seg_train.py"


rule seg_probs:
    input:
        table=f"{OUT}/segmentation/pairs.parquet",
        arrays=f"{OUT}/segmentation/pairs.npz",
        model=LAYOUT.seg_member("{member}"),
        code=package_code("seg_probs.py"),
    output:
        f"{OUT}/segmentation/members/{{member}}/probs.npz",
    log:
        f"{OUT}/logs/seg_probs_{{member}}.log",
    benchmark:
        f"{OUT}/benchmarks/seg_probs_{{member}}.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: config["threads"]
    resources:
        gpu=1,
    params:
        member=lambda wc: seg_member(wc.member),
        validation_fraction=SEG.get("validation_fraction"),
        batch_size=SEG.get("batch_size"),
        flips=SEG.get("flips"),
        seed=config["seed"],
    script:
        "../scripts/seg_probs.py"


rule seg_select:
    input:
        table=f"{OUT}/segmentation/pairs.parquet",
        arrays=f"{OUT}/segmentation/pairs.npz",
        probs=expand(
            f"{OUT}/segmentation/members/{{member}}/probs.npz", member=SEG_MEMBERS
        ),
        code=package_code("seg_select.py"),
    output:
        report(
            LAYOUT.seg_ensemble,
            caption="../report/seg_ensemble.rst",
            category="Segmentation",
        ),
    log:
        f"{OUT}/logs/seg_select.log",
    benchmark:
        f"{OUT}/benchmarks/seg_select.tsv"
    conda:
        "../../envs/data.yaml"
    params:
        members=SEG_MEMBERS,
        strategy=SEG.get("ensemble"),
        threshold=SEG.get("threshold"),
        validation_fraction=SEG.get("validation_fraction"),
        seed=config["seed"],
    script:
        "../scripts/seg_select.py"


rule seg_evaluate:
    input:
        table=f"{OUT}/segmentation/pairs.parquet",
        arrays=f"{OUT}/segmentation/pairs.npz",
        probs=expand(
            f"{OUT}/segmentation/members/{{member}}/probs.npz", member=SEG_MEMBERS
        ),
        ensemble=LAYOUT.seg_ensemble,
        code=package_code("seg_evaluate.py"),
    output:
        dice=report(
            f"{OUT}/segmentation/dice.csv",
            caption="../report/seg_dice.rst",
            category="Segmentation",
        ),
        summary=report(
            f"{OUT}/segmentation/dice_summary.csv",
            caption="../report/seg_summary.rst",
            category="Segmentation",
        ),
        gallery=report(
            f"{OUT}/segmentation/gallery.png",
            caption="../report/seg_gallery.rst",
            category="Segmentation",
        ),
        by_source=f"{OUT}/segmentation/dice_by_source.csv",
        source_summary=report(
            f"{OUT}/segmentation/dice_source_summary.csv",
            caption="../report/seg_source_summary.rst",
            category="Segmentation",
        ),
    log:
        f"{OUT}/logs/seg_evaluate.log",
    benchmark:
        f"{OUT}/benchmarks/seg_evaluate.tsv"
    conda:
        "../../envs/data.yaml"
    params:
        members=SEG_MEMBERS,
        threshold=config.get("segmentation", {}).get("threshold", 0.5),
        seed=config["evaluation"]["random_seed"],
    script:
        "../scripts/seg_evaluate.py"


rule seg_apply:
    input:
        images=f"{OUT}/cache/images.parquet",
        index=f"{OUT}/cache/index.parquet",
        models=expand(LAYOUT.seg_member("{member}"), member=SEG_MEMBERS),
        ensemble=LAYOUT.seg_ensemble,
        code=package_code("seg_apply.py"),
    output:
        masks=f"{OUT}/segmentation/masks/{{shard}}.npz",
        no_lung=f"{OUT}/segmentation/masks/{{shard}}.no_lung.csv",
    log:
        f"{OUT}/logs/seg_apply_{{shard}}.log",
    benchmark:
        f"{OUT}/benchmarks/seg_apply_{{shard}}.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: config["threads"]
    resources:
        gpu=1,
    params:
        root=ROOT,
        members={m: seg_member(m) for m in SEG_MEMBERS},
        size=config.get("segmentation", {}).get("image_size"),
        threshold=config.get("segmentation", {}).get("threshold", 0.5),
        head=seg_head(),
        flips=SEG.get("flips"),
        n_shards=len(SEG_SHARDS),
    script:
        "../scripts/seg_apply.py"


rule seg_gather:
    input:
        index=f"{OUT}/cache/index.parquet",
        no_lung=expand(
            f"{OUT}/segmentation/masks/{{shard}}.no_lung.csv", shard=SEG_SHARDS
        ),
        code=package_code("seg_gather.py"),
    output:
        no_lung=report(
            f"{OUT}/segmentation/no_lung.csv",
            caption="../report/seg_no_lung.rst",
            category="Segmentation",
        ),
    log:
        f"{OUT}/logs/seg_gather.log",
    benchmark:
        f"{OUT}/benchmarks/seg_gather.tsv"
    conda:
        "../../envs/data.yaml"
    script:
        "../scripts/seg_gather.py"


rule lung_mask_shard:
    input:
        images=f"{OUT}/cache/images.parquet",
        index=f"{OUT}/cache/index.parquet",
        masks=f"{OUT}/segmentation/masks/{{shard}}.npz",
        code=package_code("lung_mask_shard.py"),
    output:
        f"{OUT}/cache/lung-{{mode}}/shards/{{shard}}.npz",
    log:
        f"{OUT}/logs/lung_mask_shard_{{mode}}_{{shard}}.log",
    benchmark:
        f"{OUT}/benchmarks/lung_mask_shard_{{mode}}_{{shard}}.tsv"
    conda:
        "../../envs/data.yaml"
    params:
        root=ROOT,
        size=config["preprocess"]["image_size"],
        intensity=config["preprocess"]["intensity"],
        n_shards=len(SEG_SHARDS),
    script:
        "../scripts/lung_mask_shard.py"


rule lung_mask_gather:
    input:
        images=f"{OUT}/cache/images.parquet",
        index=f"{OUT}/cache/index.parquet",
        shards=expand(
            f"{OUT}/cache/lung-{{{{mode}}}}/shards/{{shard}}.npz", shard=SEG_SHARDS
        ),
        masks=expand(f"{OUT}/segmentation/masks/{{shard}}.npz", shard=SEG_SHARDS),
        code=package_code("lung_mask_gather.py"),
    output:
        images=f"{OUT}/cache/lung-{{mode}}/images.npy",
        index=f"{OUT}/cache/lung-{{mode}}/index.parquet",
        examples=report(
            f"{OUT}/cache/lung-{{mode}}/examples.png",
            caption="../report/lung_mask_examples.rst",
            category="Segmentation",
        ),
    log:
        f"{OUT}/logs/lung_mask_gather_{{mode}}.log",
    benchmark:
        f"{OUT}/benchmarks/lung_mask_gather_{{mode}}.tsv"
    conda:
        "../../envs/data.yaml"
    params:
        root=ROOT,
        size=config["preprocess"]["image_size"],
    script:
        "../scripts/lung_mask_gather.py"
