"""Gather the masked shards into the retrieval cache (cache order), with example figures."""

import numpy as np
import pandas as pd

from cxr_cbir.io_utils import safe_join, write_parquet
from cxr_cbir.preprocess.cache import with_fingerprints
from cxr_cbir.preprocess.films import FilmPreprocessing
from cxr_cbir.report.figures import lung_mask_examples
from cxr_cbir.run import runlog
from cxr_cbir.run.shards import gather_images

log = runlog.setup(snakemake.log[0])
mode = snakemake.wildcards.mode
index = pd.read_parquet(snakemake.input.index)
n = gather_images(list(snakemake.input.shards), index["image_id"], snakemake.output.images)
log.info("applied %s to %d films (%d shards)", mode, n, len(snakemake.input.shards))
# the masked films' own fingerprints (a query is recognised after the same masking)
write_parquet(with_fingerprints(index, snakemake.output.images), snakemake.output.index)

# the first films of the cache (first shards), before (with the ensemble's outline) and after
shown, masks = [], []
for path in snakemake.input.masks:
    with np.load(path) as seg:
        shown += seg["ids"].astype(str).tolist()[: 6 - len(shown)]
        masks += [m.astype(bool) for m in seg["masks"][: 6 - len(masks)]]
    if len(shown) == 6:
        break
paths = pd.read_parquet(snakemake.input.images).set_index("image_id")["path"]
prep = FilmPreprocessing(image_size=snakemake.params.size)
after = np.load(snakemake.output.images, mmap_mode="r")[: len(shown)]
lung_mask_examples(
    [prep.plain(safe_join(snakemake.params.root, paths[i])) for i in shown],
    masks,
    np.asarray(after),
    mode,
    snakemake.output.examples,
)
