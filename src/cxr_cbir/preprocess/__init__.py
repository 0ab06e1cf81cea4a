"""Films -> the run's cache: decode, lung crop/mask, intensity normalisation, one
preprocessing path shared by the workflow and the query engine."""
