"""The ensemble's member weights (equal, or chosen on the validation pairs) and the
validation Dice of each member and of the ensemble."""

import numpy as np
import pandas as pd

from cxr_cbir.io_utils import write_csv
from cxr_cbir.run import runlog
from cxr_cbir.segmentation.ensemble import ensemble_table
from cxr_cbir.training.lung_pairs import member_parts

log = runlog.setup(snakemake.log[0])
params = snakemake.params
pairs = pd.read_parquet(snakemake.input.table)
parts = member_parts(pairs, params.validation_fraction, params.seed)
masks = np.load(snakemake.input.arrays)["masks"][parts == "validate"].astype(bool)
probs = np.stack([np.load(p)["validate"].astype(np.float32) for p in snakemake.input.probs])
table = ensemble_table(list(params.members), probs, masks, params.strategy, params.threshold)
log.info("ensemble (%s) on %d validation pairs:\n%s", params.strategy, len(masks), table)
write_csv(table.round({"validation_dice": 4}), snakemake.output[0])
