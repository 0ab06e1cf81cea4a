"""cxr-cbir: chest X-ray content-based image retrieval, as a reproducible pipeline.

The package holds the real logic (data readers, filters, caching, ranking, metrics,
figures); the Snakemake rules under ``workflow/`` only wire files to these functions.
"""

__version__ = "0.1.0"
