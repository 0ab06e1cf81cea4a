"""NaN / inf guards: a model output that is not finite stops the job naming the images,
instead of being written (IG training would take NaN saliency maps) or handed on
(sklearn then fails with a bare "Input contains NaN")."""

from __future__ import annotations

import numpy as np


class NumericalError(RuntimeError):
    """A model or saliency method produced NaN or infinite values; names the images."""


def name_some(names, limit: int = 10) -> str:
    """'a, b, c' or 'a, b, ... (+N more)': enough to find the culprits in a long list."""
    names = [str(n) for n in names]
    more = f", ... (+{len(names) - limit} more)" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def require_finite(values: np.ndarray, what: str, names=None) -> None:
    """Raise :class:`NumericalError` if any row of ``values`` (one per image) holds NaN or
    inf: '<what> for <n> of <N> images: <names of those rows>' ('row <i>' without names)."""
    values = np.asarray(values)
    if not np.issubdtype(values.dtype, np.floating):
        values = values.astype(np.float64)
    bad = np.flatnonzero(~np.isfinite(values.reshape(len(values), -1)).all(axis=1))
    if len(bad):
        if names is None:
            names = [f"row {i}" for i in bad]
        else:
            names = np.asarray(names, dtype=object)[bad]
        raise NumericalError(f"{what} for {len(bad)} of {len(values)} images: {name_some(names)}")
