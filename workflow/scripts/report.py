"""Write Snakemake's HTML report for this run (a nested, read-only snakemake call), with
a front page built from this run's own result tables."""

import pandas as pd

from cxr_cbir.report.front_page import front_page
from cxr_cbir.report.report_job import write_report
from cxr_cbir.run import runlog

log = runlog.setup(snakemake.log[0])
config = dict(snakemake.params.config)
config["report"] = dict(config["report"]) | {
    "front_page": front_page(
        config,
        pd.read_csv(snakemake.input.ci),
        pd.read_csv(snakemake.input.verdicts),
        pd.read_csv(snakemake.input.counts),
        pd.read_csv(snakemake.input.auc[0]) if snakemake.input.auc else None,
        pd.read_csv(snakemake.input.severity[0]) if snakemake.input.severity else None,
        pd.read_csv(snakemake.input.cross_source[0]) if snakemake.input.cross_source else None,
    )
}
write_report(config, snakemake.params.snakefile, snakemake.output[0], log)
