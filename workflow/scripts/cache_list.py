"""The union of images any condition needs: what the cache decodes."""

import pandas as pd

from cxr_cbir.io_utils import write_parquet
from cxr_cbir.run import runlog

log = runlog.setup(snakemake.log[0])
images = pd.concat([pd.read_parquet(p, columns=["image_id", "path"]) for p in snakemake.input])
images = images.drop_duplicates("image_id").sort_values("image_id").reset_index(drop=True)
log.info("%d images to cache", len(images))
write_parquet(images, snakemake.output[0])
