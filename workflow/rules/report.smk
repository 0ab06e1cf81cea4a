# The HTML report: Snakemake's own report, written by a job so that the plain
# `snakemake` run ends with results/<run>/report.html.


rule report:
    input:
        report_outputs(),
        ci=f"{OUT}/evaluation/ndcg_ci.csv",
        verdicts=f"{OUT}/evaluation/verdicts.csv",
        counts=f"{OUT}/data/counts.csv",
        auc=[f"{OUT}/classification/auc_ci.csv"] if CLASSIFIERS else [],
        severity=severity_outputs(),
        cross_source=cross_source_outputs(),
        code=package_code("report.py"),
    output:
        f"{OUT}/report.html",
    log:
        f"{OUT}/logs/report.log",
    benchmark:
        f"{OUT}/benchmarks/report.tsv"
    conda:
        "../../envs/data.yaml"
    params:
        config=config,
        snakefile=workflow.main_snakefile,
    script:
        "../scripts/report.py"
