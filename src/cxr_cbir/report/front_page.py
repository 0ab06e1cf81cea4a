"""The report's front page: what ran, the headline nDCG table with intervals, the
verdict table, and one sentence per method, as reStructuredText.

Built by the report job from the run's own tables (``ndcg_ci.csv``, ``verdicts.csv``,
``counts.csv``, ``auc_ci.csv``), so it can never describe another run or a method that did not run.
"""

from __future__ import annotations

import pandas as pd

METHOD_TEXT = {
    "ssim": "structural similarity of the (lung-masked) films, no training "
    "(Silva et al.'s baseline).",
    "random": "the mean nDCG over every order of the catalogue: the exact chance level every "
    "method must beat.",
    "cnn": "L2 distance between DenseNet-121 classifier features of the films.",
    "ig": "L2 distance between features of a DenseNet-121 retrained on the CNN's Deep Taylor "
    "saliency maps (interpretability-guided, Silva et al.).",
    "att": "L2 distance between features of a multi-level dual-attention DenseNet-121.",
    "cnn_ig": "ablation: the CNN's own features of the saliency maps, without retraining.",
    "cnn_sev": "distance of predicted severity: a ridge readout of the CNN's features fitted "
    "to the severity scores of the training films (disease and severity, not looks).",
    "sev": "distance of predicted severity: a DenseNet-121 trained to regress the graded "
    "scores of the training films (the condition's CNN as its start), similar in severity.",
    "dml": "L2 distance between 64-d embeddings of a ResNet-50 with spatial attention trained "
    "with the multi-similarity loss (Zhong et al.).",
    "ce": "cosine distance between features of a ResNet-50 trained with cross-entropy "
    "(Zhong et al.'s baseline).",
}


def _table(header: list[str], rows: list[list[str]], title: str) -> str:
    lines = [f".. list-table:: {title}", "   :header-rows: 1", ""]
    for row in [header, *rows]:
        lines.append(f"   * - {row[0]}")
        lines += [f"     - {cell}" for cell in row[1:]]
    return "\n".join(lines) + "\n"


def _interval(mean, low, high) -> str:
    return f"{mean:.3f} [{low:.3f}, {high:.3f}]"


def headline(ci: pd.DataFrame, k: int) -> str:
    """One table per condition: every method's nDCG@k with its interval, best first."""
    out = []
    for condition, g in ci[ci["k"] == k].groupby("condition", sort=True):
        g = g.sort_values("mean", ascending=False)
        rows = []
        for r in g.itertuples():
            kind = (
                "rater (human ceiling)"
                if r.method.startswith("rater:")
                else ("chance" if r.method == "random" else "method")
            )
            rows.append([r.method, kind, _interval(r.mean, r.ci_low, r.ci_high), str(r.n)])
        out.append(
            _table(
                ["method", "kind", f"nDCG@{k} mean [95 % CI]", "queries"],
                rows,
                f"{condition}: nDCG@{k}",
            )
        )
    return "\n".join(out)


def verdict_rows(verdicts: pd.DataFrame) -> str:
    rows = []
    for r in verdicts.itertuples():
        diff = "" if r.verdict == "not run" else _interval(r.mean_diff, r.ci_low, r.ci_high)
        compared = f"{r.method} vs {r.baseline}"
        rows.append([r.claim, r.condition, r.metric, compared, diff, f"**{r.verdict}**"])
    return _table(
        ["claim", "condition", "metric", "compared", "mean difference [95 % CI]", "verdict"],
        rows,
        "Verdicts on the papers' claims",
    )


def classifier_rows(auc: pd.DataFrame) -> str:
    """Test ROC AUC of every classifier with its patient-bootstrap interval."""
    test = auc[auc["split"] == "test"].sort_values(["condition", "model"])
    rows = [
        [r.condition, r.model, _interval(r.auc, r.ci_low, r.ci_high), str(r.n)]
        for r in test.itertuples()
    ]
    return _table(["condition", "model", "test ROC AUC [95 % CI]", "films"], rows, "Classifiers")


def severity_rows(severity: pd.DataFrame) -> str:
    """Held-out r and MAE of every severity-predicting method (test and unseen sources)."""
    held = severity[severity["split"].isin(["test", "external"])]
    rows = [
        [
            r.condition,
            r.method,
            r.target,
            r.split,
            str(r.films),
            _interval(r.pearson_r, r.r_low, r.r_high),
            _interval(r.mae, r.mae_low, r.mae_high),
        ]
        for r in held.itertuples()
    ]
    return _table(
        ["condition", "method", "score", "split", "films", "Pearson r [95 % CI]", "MAE [95 % CI]"],
        rows,
        "Severity read by the models",
    )


def cross_source_rows(cross: pd.DataFrame) -> str:
    rows = [
        [
            r.condition,
            r.method,
            r.metric,
            r.split,
            str(r.films),
            _interval(r.value, r.ci_low, r.ci_high),
        ]
        for r in cross.itertuples()
    ]
    return _table(
        ["condition", "method", "metric", "split", "films", "value [95 % CI]"],
        rows,
        "In-domain test films against films of an unseen source",
    )


def relevance_text(name: str, spec: dict) -> str:
    """What a relevant catalogue film is for one condition or study, from its config."""
    if spec.get("expert_rankings"):
        return f"**{name}**: the radiologists' rankings in ``{spec['expert_rankings']}``."
    sev = spec.get("severity") or {}
    shared = sev.get("ties") == "shared"
    tie = (
        " Films the truth cannot tell apart share one rank (the mean relevance of the "
        "positions they hold)."
        if shared
        else " Remaining ties go to the lower image id."
    )
    mix = (
        " Each catalogue holds positives and negatives in equal shares."
        if spec.get("balanced_catalogues")
        else ""
    )
    if sev.get("raters"):
        first, spec0 = next(iter(sev["raters"].items()))
        profile = " then by the L1 distance of the zone scores" if spec0.get("profile") else ""
        return (
            f"**{name}**: closest ``{spec0['column']}`` to the query's, as rater {first} "
            f"scored it{profile}.{tie}{mix}"
        )
    column = sev.get("column")
    if column is not None and column == spec.get("label"):
        return (
            f"**{name}**: no graded score; a film is relevant when it shares the query's "
            f"finding (``{column}`` present or absent).{tie}{mix} nDCG shows whether a "
            "method puts the films of the query's status first; it cannot show an order of "
            "severity."
        )
    zero = " (films without the condition count as 0)" if sev.get("negatives_zero") else ""
    tb = f", then by ``{sev['tiebreak']}``" if sev.get("tiebreak") else ""
    return f"**{name}**: closest ``{column}`` to the query's{zero}{tb}.{tie}{mix}"


def front_page(
    config: dict,
    ci: pd.DataFrame,
    verdicts: pd.DataFrame,
    counts: pd.DataFrame,
    auc: pd.DataFrame | None = None,
    severity: pd.DataFrame | None = None,
    cross: pd.DataFrame | None = None,
) -> str:
    k = max(config["evaluation"]["ndcg_k"])
    data = config["data"]
    source = data["root"] + (f" ({', '.join(data['folders'])})" if data.get("folders") else "")
    films = counts.groupby("condition")["n"].sum().to_dict()
    studies = config.get("studies") or {}
    methods = list(dict.fromkeys(m for m in ci["method"] if not m.startswith("rater:")))
    n_verdicts = verdicts["verdict"].value_counts().to_dict()
    parts = [
        "What ran",
        "--------",
        "",
        f"Archive ``{source}`` ({data['format']} layout). Conditions and their films after "
        "the view and label filters: "
        + ", ".join(f"**{c}** {films.get(c, 0)}" for c in config["conditions"])
        + ". "
        + (
            "Extra catalogue studies: "
            + ", ".join(f"**{n}** (with the {s['condition']} models)" for n, s in studies.items())
            + ". "
            if studies
            else ""
        )
        + "Catalogues never hold a film of the query's patient or near-duplicate group. "
        f"Each method ranks every catalogue; nDCG@{k} is scored against the first rater "
        "(relevance ((n + 1) - rank) / 2 + 0.5, gain 2^rel - 1), with a 95 % bootstrap "
        "interval over queries. Rows ``rater:<name>`` are other raters scored against the "
        "first: the human ceiling.",
        "",
        "What relevant means in each catalogue set:",
        "",
        *(f"- {relevance_text(c, spec)}" for c, spec in config["conditions"].items()),
        *(
            f"- {relevance_text(n, {'label': config['conditions'][s['condition']]['label'], **s})}"
            for n, s in studies.items()
        ),
        "",
        "Headline",
        "--------",
        "",
        headline(ci, k),
        "",
        "Verdicts",
        "--------",
        "",
        "Verdict counts: " + ", ".join(f"{v} {n}" for v, n in sorted(n_verdicts.items())) + ".",
        "",
        verdict_rows(verdicts),
        "",
    ]
    if auc is not None and len(auc):
        parts += [
            "Classifiers",
            "-----------",
            "",
            "The kept epoch of each classifier has the best validation AUC; the interval "
            "resamples test patients.",
            "",
            classifier_rows(auc),
            "",
        ]
    if severity is not None and len(severity):
        parts += [
            "Severity",
            "--------",
            "",
            "How well each severity method reads the graded score on held-out films "
            "(``external``: films of sources the models never saw); the interval resamples "
            "patients. Full table: ``evaluation/severity.csv``.",
            "",
            severity_rows(severity),
            "",
        ]
    if cross is not None and len(cross):
        held = ", ".join((config.get("cross_source") or {}).get("held_out", []))
        parts += [
            "Unseen sources",
            "--------------",
            "",
            f"Films of {held} were never trained, validated or tested on (split "
            "``external``). A model that separates the test films but not these has learned "
            "the source, not the disease.",
            "",
            cross_source_rows(cross),
            "",
        ]
    parts += [
        "Methods",
        "-------",
        "",
    ]
    parts += [f"- **{m}**: {METHOD_TEXT.get(m, 'see config/README.md.')}" for m in methods]
    return "\n".join(parts) + "\n"
