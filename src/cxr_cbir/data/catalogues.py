"""Retrieval catalogues and their expert rankings.

A catalogue is one query image and ``size`` candidate images from the test split; an
expert ranking orders the candidates from most to least similar to the query in disease
and severity. Rankings live in one documented CSV format, whatever made them:

``query_id, rater, image_id, rank``
    ``query_id`` is the image id of the query film, ``rank`` runs 1..size within each
    (query_id, rater). Any number of raters; the first rater to appear in the file is
    the ground truth, the others are scored against it like any retrieval method.

Where a user has no radiologist CSV, catalogues are sampled from the test split (class
proportions kept) and ranked from a per-image severity score, with optional noisy raters,
or by several real raters' scores (``severity.raters``: each rater's total score, ties
broken by the L1 distance of its zone-score profile, then by image id).

Hygiene: a catalogue never holds a film of the query's ``group`` (its patient, joined
with near-duplicate pictures): such a film would be a free near-match for every method.
Sampled catalogues exclude them; an expert CSV that has one is rejected, naming the rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxr_cbir.errors import InputError
from cxr_cbir.io_utils import read_table

RANKING_COLUMNS = ["query_id", "rater", "image_id", "rank"]


def sample_catalogues(
    pool: pd.DataFrame,
    n_queries: int,
    size: int,
    seed: int,
    keep_class_proportions: bool = True,
    where: str = "catalogues",
    balanced: bool = False,
) -> pd.DataFrame:
    """Draw ``n_queries`` distinct queries, each with ``size`` images of other groups.

    ``pool`` has columns image_id, label (0/1) and optionally group (patient or
    near-duplicate component; default: each image its own group). ``n_queries`` 0 takes
    every eligible query. ``balanced``: each catalogue holds the classes in equal shares
    (a rare finding: 5 of 10 positives instead of the pool's ~1), else the pool's
    proportions (``keep_class_proportions``) or a plain random draw. Returns query_id,
    image_id, in catalogue order (which is meaningless: it is the unordered candidate set).
    """
    pool = pool.sort_values("image_id").reset_index(drop=True)
    if "group" not in pool.columns:
        pool = pool.assign(group=pool["image_id"])
    if len(pool) < size + 1:
        raise InputError(
            f"{where}: a catalogue needs {size} images plus a query, but only {len(pool)} "
            "eligible test images remain after filtering; lower catalogues.size or "
            "enlarge the test split"
        )
    rng = np.random.default_rng(seed)
    labels = pool["label"].to_numpy()
    group_size = pool["group"].map(pool["group"].value_counts()).to_numpy()
    # eligible queries leave at least `size` films of other groups
    eligible = np.flatnonzero(len(pool) - group_size >= size)
    if n_queries == 0:
        n_queries = len(eligible)
    if n_queries > len(eligible):
        raise InputError(
            f"{where}: {n_queries} distinct queries asked for, only {len(eligible)} eligible "
            f"test images have {size} images of other patients; lower catalogues.n_queries"
        )
    # queries: stratified by label, so the query mix follows the pool's mix
    order = eligible[_stratified_order(labels[eligible], rng)]
    queries = pool.iloc[order[:n_queries]]
    rows = []
    for q, group in zip(queries["image_id"], queries["group"], strict=True):
        rest = pool[pool["group"] != group]
        if keep_class_proportions or balanced:
            chosen = _stratified_pick(rest, size, rng, balanced)
        else:
            chosen = rest["image_id"].to_numpy()[rng.permutation(len(rest))[:size]]
        rows.extend((q, img) for img in chosen)
    return pd.DataFrame(rows, columns=["query_id", "image_id"])


def _stratified_order(
    labels: np.ndarray, rng: np.random.Generator, balanced: bool = False
) -> np.ndarray:
    """A permutation whose every prefix keeps the label proportions (or, ``balanced``,
    equal shares of every label until one runs out) as far as possible."""
    classes = np.unique(labels)
    buckets = {c: list(rng.permutation(np.flatnonzero(labels == c))) for c in classes}
    if balanced:
        share = {c: 1.0 / len(classes) for c in classes}
    else:
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


def _stratified_pick(
    rest: pd.DataFrame, size: int, rng: np.random.Generator, balanced: bool = False
) -> np.ndarray:
    labels = rest["label"].to_numpy()
    order = _stratified_order(labels, rng, balanced)[:size]
    return rest["image_id"].to_numpy()[np.sort(order)]


def rank_by_severity(
    catalogues: pd.DataFrame,
    severity: pd.Series,
    tiebreak: pd.Series | None = None,
    raters: dict[str, float] | None = None,
    seed: int = 0,
    ties: str = "by_id",
) -> pd.DataFrame:
    """Rank each catalogue by closeness of severity to the query's severity.

    ``severity`` (and the optional ``tiebreak``) are indexed by image_id. ``raters`` maps
    a rater name to the standard deviation of the noise that rater adds to every severity
    it reads (0 for the exact rater); by default one exact rater ``R1``. ``ties``: films
    equally close on both keys get ranks 1..n by image id, or share one rank (``shared``).
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
            ranks = _ranks(primary[order], tb[order], ties)
            out += [(qid, rater, ids[j], int(r)) for j, r in zip(order, ranks, strict=True)]
    return pd.DataFrame(out, columns=RANKING_COLUMNS)


TIES = ("by_id", "shared")


def _ranks(primary: np.ndarray, tiebreak: np.ndarray, ties: str) -> np.ndarray:
    """Ranks of films already in ranking order: 1..n (``by_id``: a tie goes to the lower
    image id), or competition ranks where films equal on both keys share one (``shared``:
    the ground truth says no more than the scores do)."""
    if ties not in TIES:
        raise InputError(f"ties must be one of {TIES}, got {ties!r}")
    n = len(primary)
    if ties == "by_id" or n == 0:
        return np.arange(1, n + 1)
    new = np.r_[True, (primary[1:] != primary[:-1]) | (tiebreak[1:] != tiebreak[:-1])]
    return np.maximum.accumulate(np.where(new, np.arange(1, n + 1), 0))


def rank_by_scores(
    catalogues: pd.DataFrame,
    scores: dict[str, tuple[pd.Series, pd.DataFrame | None]],
    ties: str = "by_id",
) -> pd.DataFrame:
    """Rank each catalogue once per real rater, from that rater's own scores.

    ``scores`` maps a rater name to (total score, zone-score profile or None), indexed
    by image_id. Closest total to the query's first; ties broken by the L1 distance of
    the zone profiles (e.g. six Brixia zones 0-3), then by image id, or sharing one rank
    (``ties``, as in ``rank_by_severity``).
    """
    out = []
    for rater, (total, profile) in scores.items():
        for qid, group in catalogues.groupby("query_id", sort=False):
            ids = group["image_id"].to_numpy()
            primary = np.abs(total.reindex(ids).to_numpy(float) - float(total.loc[qid]))
            if profile is not None:
                zones = profile.reindex(ids).to_numpy(float)
                tb = np.abs(zones - profile.loc[qid].to_numpy(float)).sum(axis=1)
            else:
                tb = np.zeros(len(ids))
            order = np.lexsort((ids, tb, primary))
            ranks = _ranks(primary[order], tb[order], ties)
            out += [(qid, rater, ids[j], int(r)) for j, r in zip(order, ranks, strict=True)]
    return pd.DataFrame(out, columns=RANKING_COLUMNS)


def check_competition_ranks(ranks) -> bool:
    """True when ``ranks`` are competition ranks: sorted, each is 1 + the films before it,
    or equal to the one before (a tie): 1, 2, 2, 4 is one; 1, 2, 2, 3 is not. (Here, not
    in ``ndcg``: the demo archive imports this module, and an edit of the scoring must
    not rerun the archive.)"""
    r = sorted(int(x) for x in ranks)
    return all(v == i + 1 or (i > 0 and v == r[i - 1]) for i, v in enumerate(r))


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
        twice = g[g["image_id"].duplicated(keep=False)]
        if len(twice):
            rows = [int(i) + 2 for i in twice.index]
            raise InputError(
                f"{path}: query {qid!r}, rater {rater!r}: image {twice['image_id'].iloc[0]!r} "
                f"appears more than once (rows {rows})"
            )
        ranks = sorted(g["rank"].tolist())
        if not check_competition_ranks(ranks):
            raise InputError(
                f"{path}: query {qid!r}, rater {rater!r}: ranks must be 1..{len(g)}, a tie "
                f"of m films at rank r followed by rank r + m (1, 1, 3, ...), got {ranks}"
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


def check_groups(rankings: pd.DataFrame, cohort: pd.DataFrame, where: str) -> None:
    """Refuse catalogue films of the query's own group (patient or near-duplicate)."""
    if "group" not in cohort.columns:
        return
    group = cohort.set_index("image_id")["group"].astype(str)
    same = rankings["image_id"].map(group).to_numpy() == rankings["query_id"].map(group).to_numpy()
    if same.any():
        bad = rankings[same]
        rows = ", ".join(
            f"row {int(i) + 2} (query {r.query_id!r}, image {r.image_id!r})"
            for i, r in zip(bad.index[:5], bad.itertuples(), strict=False)
        )
        more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
        raise InputError(
            f"{where}: catalogue films of the query's own patient or near-duplicate group "
            f"(a free near-match for every method): {rows}{more}"
        )


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
        check_groups(rankings[rankings["query_id"].isin(keep)], test, path)
        if not keep:
            raise InputError(f"{path}: no catalogue left for {condition!r}")
        return rankings[rankings["query_id"].isin(keep)].reset_index(drop=True)
    sev = settings["severity"]
    where = f"conditions.{condition}.severity"
    if sev.get("raters"):
        return _score_rater_catalogues(condition, test, settings, seed, where)
    column = sev["column"]
    _require_columns(test, [column, *([sev["tiebreak"]] if sev.get("tiebreak") else [])], where)
    severity = graded_severity(test, column, sev.get("negatives_zero", False))
    pool = test.assign(_sev=severity.to_numpy()).dropna(subset=["_sev"])
    cats = _sample(pool, settings, seed, condition)
    sev_series = pool.set_index("image_id")["_sev"]
    tb = None
    if sev.get("tiebreak"):
        tb = pd.to_numeric(pool.set_index("image_id")[sev["tiebreak"]], errors="coerce")
    raters = settings.get("raters") or {"R1": 0.0}
    return rank_by_severity(cats, sev_series, tb, raters, seed, sev.get("ties", "by_id"))


def graded_severity(table: pd.DataFrame, column: str, negatives_zero: bool) -> pd.Series:
    """The severity catalogues grade each row by (NaN where unknown), on ``table``'s index.

    With ``negatives_zero`` a film without the condition (label 0) and without a score
    counts as severity 0.
    """
    severity = pd.to_numeric(table[column], errors="coerce")
    if negatives_zero:
        severity = severity.where(~(severity.isna() & (table["label"] == 0)), 0.0)
    return severity


def _require_columns(table: pd.DataFrame, columns: list[str], where: str) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InputError(
            f"{where}: {missing} not manifest columns; available: {sorted(table.columns)}"
        )


def _sample(pool: pd.DataFrame, settings: dict, seed: int, condition: str) -> pd.DataFrame:
    columns = ["image_id", "label"] + (["group"] if "group" in pool.columns else [])
    return sample_catalogues(
        pool[columns],
        settings["n_queries"],
        settings["size"],
        seed,
        settings.get("keep_class_proportions", True),
        where=f"catalogues for {condition!r}",
        balanced=settings.get("balanced", False),
    )


def _score_rater_catalogues(
    condition: str, test: pd.DataFrame, settings: dict, seed: int, where: str
) -> pd.DataFrame:
    """Catalogues of films every rater scored, ranked by each rater (first = truth)."""
    raters = settings["severity"]["raters"]
    needed = []
    for spec in raters.values():
        needed += [spec["column"], *spec.get("profile", [])]
    _require_columns(test, needed, where)
    scores = test.set_index("image_id")[needed].apply(pd.to_numeric, errors="coerce")
    scored = scores.notna().all(axis=1)
    pool = test[test["image_id"].isin(scores.index[scored])]
    cats = _sample(pool, settings, seed, condition)
    table = {
        name: (
            scores[spec["column"]],
            scores[spec["profile"]] if spec.get("profile") else None,
        )
        for name, spec in raters.items()
    }
    return rank_by_scores(cats, table, settings["severity"].get("ties", "by_id"))
