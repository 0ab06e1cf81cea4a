"""Whole sources held out of the models: their films get the split ``external``.

Kept apart from the evaluation that scores them (``cross_source``) so that the split
job imports only this: editing the evaluation reruns the evaluation, not the run.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxr_cbir.errors import InputError

EXTERNAL = "external"


def hold_out_sources(table: pd.DataFrame, column: str, values: list[str]) -> pd.DataFrame:
    """The films whose ``column`` is one of ``values`` get the split ``external``."""
    if column not in table.columns:
        raise InputError(
            f"cross_source.column: {column!r} is not a manifest column; "
            f"available: {sorted(table.columns)}"
        )
    present = set(table[column].astype(str))
    missing = [v for v in values if v not in present]
    if missing:
        raise InputError(
            f"cross_source.held_out: {missing} not found in column {column!r} "
            f"(values: {sorted(present)})"
        )
    held = table[column].astype(str).isin(values).to_numpy()
    return table.assign(split=np.where(held, EXTERNAL, table["split"].to_numpy()))
