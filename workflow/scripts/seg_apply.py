"""Segment one shard of the cached retrieval films with the trained ensemble (scatter)."""

from cxr_cbir.io_utils import write_csv
from cxr_cbir.preprocess.films import FilmPreprocessing
from cxr_cbir.preprocess.lung_shards import read_shard_films
from cxr_cbir.run import runlog
from cxr_cbir.run.shards import save_arrays
from cxr_cbir.segmentation.apply import segment_shard
from cxr_cbir.segmentation.ensemble import read_weights
from cxr_cbir.segmentation.inference import load_members
from cxr_cbir.torch_utils import pick_device, set_threads

log = runlog.setup(snakemake.log[0])
set_threads(snakemake.threads)
device = pick_device()
shard, n_shards = int(snakemake.wildcards.shard), snakemake.params.n_shards
films = read_shard_films(snakemake.input.index, snakemake.input.images, shard, n_shards, log)
members = snakemake.params.members
weights = read_weights(snakemake.input.ensemble, list(members))
prep = FilmPreprocessing(
    seg_size=snakemake.params.size,
    threshold=snakemake.params.threshold,
    seg_head=snakemake.params.head,
    seg_weights=weights,
    seg_flips=bool(snakemake.params.flips),
)
models = load_members(members, dict(zip(members, snakemake.input.models, strict=True)), device)
masks, no_lung = segment_shard(films, snakemake.params.root, prep, models, device, log=log)
log.info("segmented %d films; no lung found in %d", len(films), len(no_lung))
write_csv(no_lung, snakemake.output.no_lung)
save_arrays(snakemake.output.masks, ids=films["image_id"].to_numpy(dtype=str), masks=masks)
