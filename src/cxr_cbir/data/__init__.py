"""Archives on disk -> the pipeline's tables: manifests, cohort filters, splits,
catalogues and their expert rankings, the synthetic demo archive."""
