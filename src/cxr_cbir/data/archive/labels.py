"""Check label columns: only 1, 0, -1 (uncertain) and blank (not mentioned) are allowed."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxr_cbir.errors import InputError

ALLOWED = (1.0, 0.0, -1.0)


def check_label_values(df: pd.DataFrame, columns, source: str, row_offset: int = 2) -> None:
    """Fail naming file, row and column for the first value outside {1, 0, -1, blank}."""
    for col in columns:
        values = pd.to_numeric(df[col], errors="coerce")
        bad = (values.isna() & df[col].notna()) | ~(values.isna() | values.isin(ALLOWED))
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(
                f"{source}: row {i + row_offset}, column {col!r}: label value "
                f"{df[col].iloc[i]!r} is not one of 1, 0, -1 or blank"
            )
