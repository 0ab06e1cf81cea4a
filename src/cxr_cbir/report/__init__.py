"""The report: figures, the front page, the nested ``snakemake --report`` job."""
