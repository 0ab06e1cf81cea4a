# nDCG@k of every method against the first rater, box plots, top-k panels.


rule ndcg:
    input:
        expert=expand(
            f"{OUT}/catalogues/{{condition}}/expert_rankings.csv", condition=CONDITIONS
        ),
        methods=[f for c in CONDITIONS for f in ranking_files(c).values()],
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
    conda:
        "../../envs/data.yaml"
    params:
        ks=config["evaluation"]["ndcg_k"],
        conditions=CONDITIONS,
        methods=RANKING_METHODS,
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
    conda:
        "../../envs/data.yaml"
    script:
        "../scripts/ndcg_plot.py"


rule topk_panel:
    input:
        expert=f"{OUT}/catalogues/{{condition}}/expert_rankings.csv",
        methods=lambda wc: ranking_files(wc.condition).values(),
        cohort=f"{OUT}/data/{{condition}}/cohort.parquet",
        images=CACHE_IMAGES,
        index=CACHE_INDEX,
        code=package_code("topk_panel.py"),
    output:
        report(
            f"{OUT}/evaluation/topk_{{condition}}.png",
            caption="../report/topk.rst",
            category="Retrieval",
            subcategory="Top-k panels",
        ),
    log:
        f"{OUT}/logs/topk_panel_{{condition}}.log",
    conda:
        "../../envs/data.yaml"
    params:
        methods=RANKING_METHODS,
        top_k=config["report"]["top_k"],
        panel_query=config["report"]["panel_query"],
    script:
        "../scripts/topk_panel.py"
