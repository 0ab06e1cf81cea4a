"""Severity tables joined to a covid-chestxray manifest by file name.

COVID-Net (``file, geographic, opacity, opacity_scale_max``): geographic extent 0-8;
opacity extent on two scales (rows added in June 2020 use 0-6, later rows 0-8, as
``opacity_scale_max`` says), rescaled here to 0-8 before use. BrixIA (``file, rater,
zone_A..zone_F, global``, raters ``senior`` and ``junior``): six lung-zone scores 0-3 and
their 0-18 sum, one row per film and rater.

Columns added: ``covidnet_geographic``, ``covidnet_opacity`` (0-8), and the graded
severity every real catalogue is ranked by, ``severity_geographic`` /
``severity_opacity``: the COVID-Net score where a film has one, else the Cohen et al.
mean of the archive (``severity_geographic_mean``, 0-8; ``severity_opacity_mean``, 0-6
rescaled to 0-8). For BrixIA: ``brixia_<rater>_global`` and ``brixia_<rater>_A`` .. ``_F``.
Score rows naming a film the archive does not hold are counted, not joined.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxr_cbir.errors import InputError
from cxr_cbir.io_utils import read_table

ZONES = list("ABCDEF")
COVIDNET_COLUMNS = ["file", "geographic", "opacity", "opacity_scale_max"]
BRIXIA_COLUMNS = ["file", "rater", *(f"zone_{z}" for z in ZONES), "global"]


def _check_range(df: pd.DataFrame, column: str, low: float, high, path: str) -> None:
    values = pd.to_numeric(df[column], errors="coerce")
    high = np.broadcast_to(np.asarray(high, float), values.shape)
    bad = values.isna() | (values < low) | (values > high)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"{path}: row {i + 2} ({df['file'].iloc[i]}): {column} {str(df[column].iloc[i])!r} "
            f"is not a number in [{low}, {high[i]:g}]"
        )


def _refuse_twice(df: pd.DataFrame, keys: list[str], path: str) -> None:
    """A film scored twice (by one rater) would get two score sets: refused, rows named."""
    twice = df.duplicated(keys, keep=False)
    if twice.any():
        rows = (np.flatnonzero(twice.to_numpy()) + 2).tolist()
        first = ", ".join(str(df.loc[twice, k].iloc[0]) for k in keys)
        raise InputError(f"{path}: {'/'.join(keys)} {first!r} scored twice (rows {rows})")


def read_covidnet(path: str) -> pd.DataFrame:
    df = read_table(path, COVIDNET_COLUMNS, dtype={"file": str}, encoding="utf-8-sig")
    _check_range(df, "opacity_scale_max", 6, 8, path)
    _check_range(df, "geographic", 0, 8, path)
    _check_range(df, "opacity", 0, df["opacity_scale_max"].astype(float), path)
    _refuse_twice(df, ["file"], path)
    return df


def read_brixia(path: str) -> pd.DataFrame:
    df = read_table(path, BRIXIA_COLUMNS, dtype={"file": str, "rater": str}, encoding="utf-8-sig")
    for z in ZONES:
        _check_range(df, f"zone_{z}", 0, 3, path)
    zones = df[[f"zone_{z}" for z in ZONES]].astype(float).sum(axis=1)
    off = zones != df["global"].astype(float)
    if off.any():
        i = int(np.flatnonzero(off.to_numpy())[0])
        raise InputError(
            f"{path}: row {i + 2} ({df['file'].iloc[i]}): global {df['global'].iloc[i]} is not "
            f"the sum of the six zones ({zones.iloc[i]:g})"
        )
    _refuse_twice(df, ["file", "rater"], path)
    return df


def _numeric(df: pd.DataFrame, column: str) -> pd.Series:
    if column not in df.columns:
        return pd.Series(np.nan, index=df.index, dtype=float)
    return pd.to_numeric(df[column], errors="coerce").astype(float)


def attach_severity(
    manifest: pd.DataFrame, covidnet: str | None = None, brixia: str | None = None
) -> tuple[pd.DataFrame, dict[str, int]]:
    """The manifest with the severity columns above, and how many score rows went unjoined."""
    out = manifest.copy()
    unjoined: dict[str, int] = {}
    files = out["file"]
    if covidnet:
        cn = read_covidnet(covidnet).set_index("file")
        unjoined["covidnet"] = int((~cn.index.isin(files)).sum())
        out["covidnet_geographic"] = files.map(cn["geographic"].astype(float))
        opacity8 = cn["opacity"].astype(float) * 8.0 / cn["opacity_scale_max"].astype(float)
        out["covidnet_opacity"] = files.map(opacity8)
    geo = _numeric(out, "covidnet_geographic").fillna(_numeric(out, "severity_geographic_mean"))
    opa = _numeric(out, "covidnet_opacity").fillna(_numeric(out, "severity_opacity_mean") * 8 / 6)
    out["severity_geographic"] = geo
    out["severity_opacity"] = opa
    if brixia:
        bx = read_brixia(brixia)
        unjoined["brixia"] = int((~bx["file"].isin(files)).sum())
        for rater, g in bx.groupby("rater", sort=False):
            g = g.set_index("file")
            out[f"brixia_{rater}_global"] = files.map(g["global"].astype(float))
            for z in ZONES:
                out[f"brixia_{rater}_{z}"] = files.map(g[f"zone_{z}"].astype(float))
    return out, unjoined
