"""One member's probabilities of the validation and held-out pairs (each pair on the
output of its own lung convention; with the run's test-time flips)."""

import numpy as np
import pandas as pd

from cxr_cbir.run import runlog
from cxr_cbir.run.shards import save_arrays
from cxr_cbir.segmentation.inference import load_members, predict_probs
from cxr_cbir.torch_utils import pick_device, set_threads
from cxr_cbir.training.lung_pairs import member_parts, pair_heads

log = runlog.setup(snakemake.log[0])
set_threads(snakemake.threads)
device = pick_device()
member, params = snakemake.params.member, snakemake.params
pairs = pd.read_parquet(snakemake.input.table)
arrays = np.load(snakemake.input.arrays)
parts = member_parts(pairs, params.validation_fraction, params.seed)
heads = pair_heads(pairs, member.get("heads") or [])
(model,) = load_members({"member": member}, {"member": snakemake.input.model}, device)
probs = {}
for part in ("validate", "holdout"):
    rows = parts == part
    probs[part] = predict_probs(
        model, arrays["images"][rows], params.batch_size, device, heads[rows], bool(params.flips)
    ).astype(np.float16)
    log.info("%s: %d pairs (flips: %s)", part, int(rows.sum()), bool(params.flips))
save_arrays(snakemake.output[0], **probs)
