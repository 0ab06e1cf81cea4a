# cxr-cbir: chest X-ray content-based image retrieval.
# Wiring only: the stages live in workflow/rules/, the logic in src/cxr_cbir/.
from snakemake.utils import min_version

min_version("9.27")


# A config given with --configfile replaces the demo config whole (no key merging).
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"


# Cheap bookkeeping jobs run on the submitting host under a cluster executor (no
# queueing); everything that decodes films or runs a network is submitted.
localrules:
    all,
    manifest,
    split,
    view_filter,
    label_filter,
    cache_list,
    cohort,
    counts,
    metric_cohort,
    pretrain_cohort,
    catalogues,
    rank_random,
    ndcg,
    ndcg_plot,
    ndcg_stats,
    verdicts,
    severity_ceiling,
    severity_eval,
    classification_report,
    learning_curves,
    query_settings,
    report,


wildcard_constraints:
    condition="|".join(CONDITIONS),
    study="|".join(STUDIES),
    shard=r"\d+",
    method=r"[a-z0-9_()]+",
    member=r"[A-Za-z0-9_.-]+",
    mode=r"crop|mask|crop\+mask",


include: "workflow/rules/demo.smk"
include: "workflow/rules/preprocess.smk"
include: "workflow/rules/segmentation.smk"
include: "workflow/rules/catalogues.smk"
include: "workflow/rules/ssim.smk"
include: "workflow/rules/models.smk"
include: "workflow/rules/severity.smk"
include: "workflow/rules/pretrain.smk"
include: "workflow/rules/cross_source.smk"
include: "workflow/rules/metric.smk"
include: "workflow/rules/training.smk"
include: "workflow/rules/evaluation.smk"
include: "workflow/rules/index.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        final_targets(),
