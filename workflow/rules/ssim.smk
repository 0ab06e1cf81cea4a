# Baselines that need no training: SSIM ranking and a seeded random ranking.


rule rank_ssim:
    input:
        rankings=f"{OUT}/catalogues/{{study}}/expert_rankings.csv",
        images=CACHE_IMAGES,
        index=CACHE_INDEX,
        code=package_code("rank_ssim.py"),
    output:
        f"{OUT}/rankings/{{study}}/ssim.csv",
    log:
        f"{OUT}/logs/rank_ssim_{{study}}.log",
    benchmark:
        f"{OUT}/benchmarks/rank_ssim_{{study}}.tsv"
    conda:
        "../../envs/data.yaml"
    script:
        "../scripts/rank_ssim.py"


rule rank_random:
    input:
        rankings=f"{OUT}/catalogues/{{study}}/expert_rankings.csv",
        code=package_code("rank_random.py"),
    output:
        f"{OUT}/rankings/{{study}}/random.csv",
    log:
        f"{OUT}/logs/rank_random_{{study}}.log",
    benchmark:
        f"{OUT}/benchmarks/rank_random_{{study}}.tsv"
    conda:
        "../../envs/data.yaml"
    params:
        seed=config["evaluation"]["random_seed"],
    script:
        "../scripts/rank_random.py"
