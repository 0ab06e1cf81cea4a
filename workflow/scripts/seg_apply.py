"""Segment every cached retrieval film with the trained ensemble."""

import numpy as np
import pandas as pd
from tqdm import tqdm

from cxr_cbir import runlog
from cxr_cbir.io_utils import atomic_path, safe_join, write_csv
from cxr_cbir.preprocessing import FilmPreprocessing
from cxr_cbir.segmentation.inference import load_members
from cxr_cbir.torch_utils import pick_device, set_threads

log = runlog.setup(snakemake.log[0])
set_threads(snakemake.threads)
device = pick_device()
size = snakemake.params.size
prep = FilmPreprocessing(seg_size=size, threshold=snakemake.params.threshold)
members = snakemake.params.members
models = load_members(members, dict(zip(members, snakemake.input.models, strict=True)), device)
index = pd.read_parquet(snakemake.input.index)
paths = pd.read_parquet(snakemake.input.images).set_index("image_id")["path"]
ids = index["image_id"].tolist()
masks = np.zeros((len(ids), size, size), np.uint8)
no_lung = []
batch = 64
for start in tqdm(range(0, len(ids), batch), desc="segment", mininterval=5):
    chunk = ids[start : start + batch]
    films = [safe_join(snakemake.params.root, paths[i]) for i in chunk]
    found = prep.lung_masks(models, np.stack([prep.segmentation_input(f) for f in films]), device)
    for j, (image_id, mask) in enumerate(zip(chunk, found, strict=True)):
        if not mask.any():
            log.warning("no lung found in %s: the full image is kept", image_id)
            no_lung.append((image_id, paths[image_id]))
        masks[start + j] = mask
log.info("segmented %d films; no lung found in %d", len(ids), len(no_lung))
write_csv(pd.DataFrame(no_lung, columns=["image_id", "path"]), snakemake.output.no_lung)


def _save(tmp):
    with open(tmp, "wb") as fh:
        np.savez_compressed(fh, ids=np.array(ids, dtype=str), masks=masks)


atomic_path(snakemake.output.masks, _save)
