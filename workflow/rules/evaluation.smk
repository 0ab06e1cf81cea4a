# nDCG@k of every method against the first rater, box plots, top-k panels.


rule ndcg:
    input:
        expert=expand(f"{OUT}/catalogues/{{study}}/expert_rankings.csv", study=STUDIES),
        methods=[f for c in STUDIES for f in ranking_files(c, NDCG_METHODS).values()],
        code=package_code("ndcg.py"),
    output:
        table=report(
            f"{OUT}/evaluation/ndcg.csv",
            caption="../report/ndcg.rst",
            category="Retrieval",
            subcategory="nDCG",
        ),
        summary=report(
            f"{OUT}/evaluation/ndcg_summary.csv",
            caption="../report/ndcg_summary.rst",
            category="Retrieval",
            subcategory="nDCG",
        ),
    log:
        f"{OUT}/logs/ndcg.log",
    benchmark:
        f"{OUT}/benchmarks/ndcg.tsv"
    conda:
        "../../envs/data.yaml"
    params:
        ks=config["evaluation"]["ndcg_k"],
        conditions=list(STUDIES),
        methods=NDCG_METHODS,
    script:
        "../scripts/ndcg.py"


rule ndcg_plot:
    input:
        table=f"{OUT}/evaluation/ndcg.csv",
        code=package_code("ndcg_plot.py"),
    output:
        report(
            f"{OUT}/evaluation/ndcg_boxplot.png",
            caption="../report/ndcg_boxplot.rst",
            category="Retrieval",
            subcategory="nDCG",
        ),
    log:
        f"{OUT}/logs/ndcg_plot.log",
    benchmark:
        f"{OUT}/benchmarks/ndcg_plot.tsv"
    conda:
        "../../envs/data.yaml"
    script:
        "../scripts/ndcg_plot.py"


rule topk_panel:
    input:
        expert=f"{OUT}/catalogues/{{study}}/expert_rankings.csv",
        methods=lambda wc: ranking_files(wc.study).values(),
        cohort=study_cohort,
        images=CACHE_IMAGES,
        index=CACHE_INDEX,
        code=package_code("topk_panel.py"),
    output:
        report(
            f"{OUT}/evaluation/topk_{{study}}.png",
            caption="../report/topk.rst",
            category="Retrieval",
            subcategory="Top-k panels",
        ),
    log:
        f"{OUT}/logs/topk_panel_{{study}}.log",
    benchmark:
        f"{OUT}/benchmarks/topk_panel_{{study}}.tsv"
    conda:
        "../../envs/data.yaml"
    params:
        methods=RANKING_METHODS,
        top_k=config["report"]["top_k"],
        panel_query=config["report"]["panel_query"],
    script:
        "../scripts/topk_panel.py"


rule ndcg_stats:
    input:
        table=f"{OUT}/evaluation/ndcg.csv",
        code=package_code("ndcg_stats.py"),
    output:
        ci=report(
            f"{OUT}/evaluation/ndcg_ci.csv",
            caption="../report/ndcg_ci.rst",
            category="Retrieval",
            subcategory="nDCG",
        ),
        paired=report(
            f"{OUT}/evaluation/paired.csv",
            caption="../report/paired.rst",
            category="Retrieval",
            subcategory="nDCG",
        ),
    log:
        f"{OUT}/logs/ndcg_stats.log",
    benchmark:
        f"{OUT}/benchmarks/ndcg_stats.tsv"
    conda:
        "../../envs/data.yaml"
    params:
        seed=config["evaluation"]["random_seed"],
    script:
        "../scripts/ndcg_stats.py"


rule verdicts:
    input:
        unpack(verdict_inputs),
        code=package_code("verdicts.py"),
    output:
        report(
            f"{OUT}/evaluation/verdicts.csv",
            caption="../report/verdicts.rst",
            category="Verdicts",
        ),
    log:
        f"{OUT}/logs/verdicts.log",
    benchmark:
        f"{OUT}/benchmarks/verdicts.tsv"
    conda:
        "../../envs/data.yaml"
    params:
        seed=config["evaluation"]["random_seed"],
    script:
        "../scripts/verdicts.py"


rule severity_ceiling:
    input:
        rankings=[f"{OUT}/catalogues/{s}/expert_rankings.csv" for s in CEILING_STUDIES],
        cohorts=[f"{OUT}/data/{STUDIES[s]}/cohort.parquet" for s in CEILING_STUDIES],
        code=package_code("severity_ceiling.py"),
    output:
        table=report(
            f"{OUT}/evaluation/severity_ceiling.csv",
            caption="../report/severity_ceiling.rst",
            category="Retrieval",
            subcategory="Severity ceiling",
        ),
        figure=report(
            f"{OUT}/evaluation/severity_ceiling.png",
            caption="../report/severity_ceiling.rst",
            category="Retrieval",
            subcategory="Severity ceiling",
        ),
    log:
        f"{OUT}/logs/severity_ceiling.log",
    benchmark:
        f"{OUT}/benchmarks/severity_ceiling.tsv"
    conda:
        "../../envs/data.yaml"
    params:
        studies=CEILING_STUDIES,
        ks=config["evaluation"]["ndcg_k"],
        r_grid=config["evaluation"]["ceiling"]["r"],
        draws=config["evaluation"]["ceiling"]["draws"],
        seed=config["evaluation"]["random_seed"],
    script:
        "../scripts/severity_ceiling.py"
