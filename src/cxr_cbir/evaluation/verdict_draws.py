"""How often each verdict holds over several draws of the same workflow (seeds, variants).

One run's verdict rests on 31-51 test queries and one draw of every model: a different
seed or any upstream change re-draws the models and can flip a verdict whose interval
is close to 0. Given the result folders of several runs, ``tally`` counts, per claim,
the runs where it holds, stays unresolved, is reversed or did not run, with the range of the mean
difference, so that "holds in 5 of 5 draws" replaces a table made by hand.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from cxr_cbir.errors import InputError
from cxr_cbir.evaluation.verdicts import NOT_RUN, VERDICT_COLUMNS

KEY = VERDICT_COLUMNS[:5]  # claim, condition, metric, method, baseline
VERDICTS = ("holds", "unresolved", "reversed", NOT_RUN)


def read_draws(result_dirs: list[Path]) -> dict[str, pd.DataFrame]:
    """``evaluation/verdicts.csv`` of each ``results/<run>`` folder, keyed by the folder."""
    draws = {}
    for d in result_dirs:
        path = Path(d) / "evaluation" / "verdicts.csv"
        if not path.is_file():
            raise InputError(f"{path}: no verdicts table (is {d} a finished results/<run>?)")
        table = pd.read_csv(path)
        missing = set([*KEY, "mean_diff", "verdict"]) - set(table.columns)
        if missing:
            raise InputError(f"{path}: columns {sorted(missing)} missing")
        draws[str(d)] = table
    if len(draws) < 2:
        raise InputError("give at least two result folders to compare draws")
    return draws


def tally(draws: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per claim: draws it appears in, holds / unresolved / reversed / not_run counts,
    the smallest and largest mean difference, and the draws where it did not hold."""
    long = pd.concat([t.assign(draw=name) for name, t in draws.items()], ignore_index=True)
    rows = []
    for key, g in long.groupby(KEY, sort=False, dropna=False):
        counts = g["verdict"].value_counts()
        rows.append(
            dict(zip(KEY, key, strict=True))
            | {"draws": len(g)}
            | {v.replace(" ", "_"): int(counts.get(v, 0)) for v in VERDICTS}
            | {
                "min_diff": float(g["mean_diff"].min()),
                "max_diff": float(g["mean_diff"].max()),
                "not_holding_in": " ".join(g.loc[g["verdict"] != "holds", "draw"]),
            }
        )
    return pd.DataFrame(rows)
