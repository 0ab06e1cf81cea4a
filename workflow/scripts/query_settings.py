"""What `cxr-cbir query` needs to preprocess and embed a new film as the run did."""

import json

from cxr_cbir.io_utils import atomic_path
from cxr_cbir.run import runlog

log = runlog.setup(snakemake.log[0])
settings = dict(snakemake.params.settings)


def _write(tmp):
    with open(tmp, "w") as fh:
        json.dump(settings, fh, indent=2, sort_keys=True)


atomic_path(snakemake.output[0], _write)
log.info("query settings for run %s: %s", settings["run"], sorted(settings))
