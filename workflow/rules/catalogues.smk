# Catalogues (1 query + N images from the test split) and their expert rankings:
# the user's radiologist CSV when config names one, else sampled and severity-ranked.


rule catalogues:
    input:
        cohort=study_cohort,
        rejected=f"{OUT}/data/rejected.csv",
        expert=expert_rankings_input,
        code=package_code("catalogues.py"),
    output:
        f"{OUT}/catalogues/{{study}}/expert_rankings.csv",
    log:
        f"{OUT}/logs/catalogues_{{study}}.log",
    benchmark:
        f"{OUT}/benchmarks/catalogues_{{study}}.tsv"
    conda:
        "../../envs/data.yaml"
    params:
        settings=lambda wc: study_settings(wc.study),
        seed=config["seed"],
    script:
        "../scripts/catalogues.py"
