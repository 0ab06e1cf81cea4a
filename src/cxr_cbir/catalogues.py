"""Retrieval catalogues and their expert rankings.

A catalogue is one query image and ``size`` candidate images from the test split; an
expert ranking orders the candidates from most to least similar to the query in disease
and severity. Rankings live in one documented CSV format, whatever made them:

``query_id, rater, image_id, rank``
    ``query_id`` is the image id of the query film, ``rank`` runs 1..size within each
    (query_id, rater). Any number of raters; the first rater to appear in the file is
    the ground truth, the others are scored against it like any retrieval method.

Where a user has no radiologist CSV, catalogues are sampled from the test split (class
proportions kept) and ranked from a per-image severity score, with optional noisy raters.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import InputError
from .io_utils import read_table

RANKING_COLUMNS = ["query_id", "rater", "image_id", "rank"]


def sample_catalogues(
    pool: pd.DataFrame,
    n_queries: int,
    size: int,
    seed: int,
    keep_class_proportions: bool = True,
    where: str = "catalogues",
) -> pd.DataFrame:
    """Draw ``n_queries`` distinct queries, each with ``size`` other images from ``pool``.

    ``pool`` has columns image_id and label (0/1). Returns query_id, image_id, in
    catalogue order (which is meaningless: it is the unordered candidate set).
    """
    pool = pool.sort_values("image_id").reset_index(drop=True)
    if len(pool) < size + 1:
        raise InputError(
            f"{where}: a catalogue needs {size} images plus a query, but only {len(pool)} "
            "eligible test images remain after filtering; lower catalogues.size or "
            "enlarge the test split"
        )
    if n_queries > len(pool):
        raise InputError(
            f"{where}: {n_queries} distinct queries asked for, only {len(pool)} eligible "
            "test images; lower catalogues.n_queries"
        )
    rng = np.random.default_rng(seed)
    labels = pool["label"].to_numpy()
    # queries: stratified by label, so the query mix follows the pool's mix
    order = _stratified_order(labels, rng)
    queries = pool["image_id"].to_numpy()[order[:n_queries]]
    rows = []
    for q in queries:
        rest = pool[pool["image_id"] != q]
        if keep_class_proportions:
            chosen = _stratified_pick(rest, size, rng)
        else:
            chosen = rest["image_id"].to_numpy()[rng.permutation(len(rest))[:size]]
        rows.extend((q, img) for img in chosen)
    return pd.DataFrame(rows, columns=["query_id", "image_id"])


def _stratified_order(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A permutation whose every prefix keeps the label proportions as far as possible."""
    classes = np.unique(labels)
    buckets = {c: list(rng.permutation(np.flatnonzero(labels == c))) for c in classes}
    share = {c: len(buckets[c]) / len(labels) for c in classes}
    taken = {c: 0 for c in classes}
    order = []
    for i in range(len(labels)):
        # pick the class furthest below its share after i picks
        c = max(
            (c for c in classes if buckets[c]),
            key=lambda c: (share[c] * (i + 1) - taken[c], share[c]),
        )
        order.append(buckets[c].pop())
        taken[c] += 1
    return np.asarray(order)


def _stratified_pick(rest: pd.DataFrame, size: int, rng: np.random.Generator) -> np.ndarray:
    labels = rest["label"].to_numpy()
    order = _stratified_order(labels, rng)[:size]
    return rest["image_id"].to_numpy()[np.sort(order)]


def rank_by_severity(
    catalogues: pd.DataFrame,
    severity: pd.Series,
    tiebreak: pd.Series | None = None,
    raters: dict[str, float] | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Rank each catalogue by closeness of severity to the query's severity.

    ``severity`` (and the optional ``tiebreak``) are indexed by image_id. ``raters`` maps
    a rater name to the standard deviation of the noise that rater adds to every severity
    it reads (0 for the exact rater); by default one exact rater ``R1``.
    """
    raters = raters or {"R1": 0.0}
    rng = np.random.default_rng(seed)
    out = []
    for rater, noise in raters.items():
        for qid, group in catalogues.groupby("query_id", sort=False):
            ids = group["image_id"].to_numpy()
            sev = severity.reindex(ids).to_numpy(float)
            q = float(severity.loc[qid])
            if noise > 0:
                sev = sev + rng.normal(0.0, noise, len(sev))
                q = q + float(rng.normal(0.0, noise))
            primary = np.abs(sev - q)
            if tiebreak is not None:
                tb = np.abs(tiebreak.reindex(ids).to_numpy(float) - float(tiebreak.loc[qid]))
                tb = np.nan_to_num(tb, nan=np.inf)
            else:
                tb = np.zeros(len(ids))
            order = np.lexsort((ids, tb, primary))
            for rank, j in enumerate(order, start=1):
                out.append((qid, rater, ids[j], rank))
    return pd.DataFrame(out, columns=RANKING_COLUMNS)


def read_rankings(path: str) -> pd.DataFrame:
    """Read and check an expert-ranking CSV; returns it with ``rater`` order preserved."""
    df = read_table(path, RANKING_COLUMNS, dtype={"query_id": str, "image_id": str, "rater": str})
    if df[RANKING_COLUMNS].isna().any().any():
        row = int(df[RANKING_COLUMNS].isna().any(axis=1).to_numpy().argmax())
        raise InputError(f"{path}: row {row + 2} has an empty value")
    try:
        df["rank"] = df["rank"].astype(int)
    except ValueError:
        raise InputError(f"{path}: column 'rank' must hold whole numbers") from None
    reference: dict[str, frozenset] = {}
    for (qid, rater), g in df.groupby(["query_id", "rater"], sort=False):
        ranks = sorted(g["rank"].tolist())
        if ranks != list(range(1, len(g) + 1)):
            raise InputError(
                f"{path}: query {qid!r}, rater {rater!r}: ranks must be 1..{len(g)} once "
                f"each, got {ranks}"
            )
        images = frozenset(g["image_id"])
        if qid in images:
            raise InputError(f"{path}: query {qid!r} ranks itself (rater {rater!r})")
        if qid in reference and reference[qid] != images:
            raise InputError(
                f"{path}: query {qid!r}: rater {rater!r} ranks a different image set "
                "than the first rater"
            )
        reference.setdefault(qid, images)
    return df


def rater_order(rankings: pd.DataFrame) -> list[str]:
    """Raters in order of first appearance; the first is the ground truth."""
    return list(dict.fromkeys(rankings["rater"]))


def catalogue_table(rankings: pd.DataFrame) -> pd.DataFrame:
    """The (query_id, image_id) catalogue membership implied by a ranking table."""
    first = rater_order(rankings)[0]
    gt = rankings[rankings["rater"] == first]
    return gt[["query_id", "image_id"]].reset_index(drop=True)


def catalogues_for_condition(
    condition: str,
    cohort: pd.DataFrame,
    settings: dict,
    rejected_ids: set[str],
    seed: int,
    log=None,
) -> pd.DataFrame:
    """Expert rankings for one condition: from the user's CSV, or sampled and severity-ranked.

    ``cohort`` is the condition's filtered cohort (image_id, split, label, ...).
    ``settings`` holds ``expert_rankings`` (CSV path or None), ``n_queries``, ``size``,
    ``keep_class_proportions``, ``severity`` (column, tiebreak, negatives_zero) and
    ``raters`` (name -> noise sd).
    """
    test = cohort[cohort["split"] == "test"]
    if settings.get("expert_rankings"):
        path = settings["expert_rankings"]
        rankings = read_rankings(path)
        known = set(test["image_id"])
        keep = []
        for qid, g in rankings.groupby("query_id", sort=False):
            ids = set(g["image_id"]) | {qid}
            bad = sorted(ids & rejected_ids)
            if bad:
                if log:
                    log.warning("%s: query %s dropped: image(s) %s unreadable", path, qid, bad)
                continue
            unknown = sorted(ids - known)
            if unknown:
                raise InputError(
                    f"{path}: query {qid!r} uses image(s) {unknown[:5]} that are not in the "
                    f"{condition!r} test cohort (after view and label filtering)"
                )
            keep.append(qid)
        if not keep:
            raise InputError(f"{path}: no catalogue left for {condition!r}")
        return rankings[rankings["query_id"].isin(keep)].reset_index(drop=True)
    sev = settings["severity"]
    column = sev["column"]
    if column not in test.columns:
        raise InputError(
            f"conditions.{condition}.catalogues.severity.column: {column!r} is not a manifest "
            f"column; available: {sorted(test.columns)}"
        )
    severity = pd.to_numeric(test[column], errors="coerce")
    if sev.get("negatives_zero", False):
        severity = severity.where(~(severity.isna() & (test["label"] == 0)), 0.0)
    pool = test.assign(_sev=severity.to_numpy()).dropna(subset=["_sev"])
    cats = sample_catalogues(
        pool[["image_id", "label"]],
        settings["n_queries"],
        settings["size"],
        seed,
        settings.get("keep_class_proportions", True),
        where=f"catalogues for {condition!r}",
    )
    sev_series = pool.set_index("image_id")["_sev"]
    tb = None
    if sev.get("tiebreak"):
        tb = pd.to_numeric(pool.set_index("image_id")[sev["tiebreak"]], errors="coerce")
    return rank_by_severity(cats, sev_series, tb, settings.get("raters") or {"R1": 0.0}, seed)
