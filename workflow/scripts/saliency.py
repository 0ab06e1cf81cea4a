"""Saliency maps of the condition's CNN for every cohort image (Deep Taylor by default)."""

import pandas as pd

from cxr_cbir import runlog
from cxr_cbir.cohort_data import cohort_images
from cxr_cbir.figures import saliency_gallery
from cxr_cbir.io_utils import write_npy, write_parquet
from cxr_cbir.models import build_model
from cxr_cbir.saliency import saliency_maps
from cxr_cbir.torch_utils import load_checkpoint, pick_device, set_threads

log = runlog.setup(snakemake.log[0])
set_threads(snakemake.threads)
device = pick_device()
cfg = snakemake.params.saliency
cohort = pd.read_parquet(snakemake.input.cohort)
images = cohort_images(cohort, snakemake.input.images, snakemake.input.index)
model = build_model("cnn")
model.load_state_dict(load_checkpoint(snakemake.input.model, map_location=device))
maps = saliency_maps(model, images, cfg["method"], cfg["batch_size"], device)
log.info("%s maps for %d images", cfg["method"], len(maps))
write_npy(maps, snakemake.output.maps)
write_parquet(cohort[["image_id"]].reset_index(drop=True), snakemake.output.ids)
saliency_gallery(images, maps, cohort["label"].to_numpy(), cfg["method"], snakemake.output.gallery)
