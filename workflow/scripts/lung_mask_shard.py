"""Crop and/or mask one shard of the cached films to their lung masks (scatter)."""

import numpy as np

from cxr_cbir.errors import InputError
from cxr_cbir.preprocess.films import FilmPreprocessing
from cxr_cbir.preprocess.lung_shards import mask_shard, read_shard_films
from cxr_cbir.run import runlog
from cxr_cbir.run.shards import save_arrays

log = runlog.setup(snakemake.log[0])
shard, n_shards = int(snakemake.wildcards.shard), snakemake.params.n_shards
films = read_shard_films(snakemake.input.index, snakemake.input.images, shard, n_shards, log)
with np.load(snakemake.input.masks) as seg:
    mask_ids, masks = seg["ids"].astype(str), seg["masks"]
if mask_ids.tolist() != films["image_id"].astype(str).tolist():
    raise InputError(f"{snakemake.input.masks}: its films are not shard {shard}'s; rerun seg_apply")
prep = FilmPreprocessing(
    image_size=snakemake.params.size,
    lung_mask=snakemake.wildcards.mode,
    intensity=snakemake.params.intensity,
)
images = mask_shard(films, snakemake.params.root, prep, masks)
log.info("shard %d of %d: applied %s to %d films", shard, n_shards, prep.lung_mask, len(films))
save_arrays(snakemake.output[0], ids=mask_ids, images=images)
