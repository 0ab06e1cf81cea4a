# Validates the config against workflow/schemas/config.schema.yaml before any job
# runs, and derives paths and targets from it.
import sys
from pathlib import Path

SRC = Path(workflow.basedir) / "src"
if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))

from cxr_cbir.data import mimic_layout  # noqa: E402
from cxr_cbir.errors import InputError  # noqa: E402
from cxr_cbir.run.code_deps import package_modules  # noqa: E402
from cxr_cbir.run.config import validate_config  # noqa: E402
from cxr_cbir.run.layout import RunLayout  # noqa: E402
from cxr_cbir.segmentation.conventions import CONVENTIONS  # noqa: E402

try:
    validate_config(
        config, Path(workflow.basedir) / "workflow/schemas/config.schema.yaml"
    )
except InputError as exc:
    raise WorkflowError(str(exc)) from None

RUN = config["run"]
# every output path the query engine reads too is written once, in RunLayout
LAYOUT = RunLayout(RUN)
OUT = LAYOUT.out
ROOT = config["data"]["root"]
CONDITIONS = list(config["conditions"])
# Catalogue sets scored by nDCG: one per condition, plus extra studies (e.g. an
# inter-rater study) that use a condition's cohort and models. study -> condition.
STUDY_CONFIG = config.get("studies") or {}
STUDIES = {c: c for c in CONDITIONS} | {
    n: s["condition"] for n, s in STUDY_CONFIG.items()
}
SHARDS = list(range(config["preprocess"]["shards"]))
PKG = SRC / "cxr_cbir"

SEG = config.get("segmentation") or {}
SEG_MEMBERS = list(SEG.get("members", {}))
# lung-mask inference and masked-cache jobs (scatter/gather over the cache index)
SEG_SHARDS = list(range(SEG.get("shards") or config["preprocess"]["shards"]))
LUNG_MASK = config["lung_mask"]
# The cache every retrieval method and SSIM reads: masked by the lung ensemble or not.
CACHE_DIR = f"{OUT}/cache" if LUNG_MASK == "none" else f"{OUT}/cache/lung-{LUNG_MASK}"
CACHE_IMAGES = f"{CACHE_DIR}/images.npy"
CACHE_INDEX = f"{CACHE_DIR}/index.parquet"

# Catalogue-ranking methods scored by nDCG: baselines, then the embedding methods.
MODELS = config.get("models") or {}
CLASSIFIERS = [m for m in ("cnn", "ig", "att") if m in MODELS.get("methods", [])]
# ig trains on the CNN's saliency maps; cnn_ig and cnn_sev read the CNN's features
if {"ig", "cnn_ig", "cnn_sev"} & set(CLASSIFIERS + MODELS.get("methods", [])):
    CLASSIFIERS = sorted(set(CLASSIFIERS) | {"cnn"})
# sev: a DenseNet-121 trained on the severity scores (by default from the CNN's weights)
SEV = "sev" in MODELS.get("methods", [])
SEV_MODEL = config["severity_model"]  # the schema fills its defaults
if SEV and SEV_MODEL["init"] == "cnn":
    CLASSIFIERS = sorted(set(CLASSIFIERS) | {"cnn"})
ML = config.get("metric_learning") or {}
ML_METHODS = ["dml", "ce"] if ML else []
EMBEDDING_METHODS = list(MODELS.get("methods", [])) + ML_METHODS
# saliency / embedding jobs per condition and per metric model (scatter/gather)
MODEL_SHARD_COUNT = MODELS.get("shards", 1)
MODEL_SHARDS = list(range(MODEL_SHARD_COUNT))
ML_SHARD_COUNT = ML.get("shards", 1)
ML_SHARDS = list(range(ML_SHARD_COUNT))
# metric embeddings are compared by L2 (they are unit vectors), the CE baseline by cosine
EMBEDDING_METRIC = {"dml": "l2", "ce": "cosine"}
RANKING_METHODS = ["ssim", "random", *EMBEDDING_METHODS]
# nDCG scores every ranking but `random`, whose rows are the exact chance level of each
# catalogue (its seeded ranking file serves the top-k panels)
NDCG_METHODS = [m for m in RANKING_METHODS if m != "random"]


def package_code(script):
    """The package modules a rule's script imports, directly or not, as inputs: editing
    one reruns the jobs that run it (see cxr_cbir.run.code_deps)."""
    return package_modules(Path(workflow.basedir) / "workflow/scripts" / script, PKG)


MIMIC_FILES = {
    "metadata": mimic_layout.METADATA_FILE,
    "chexpert": mimic_layout.CHEXPERT_FILE,
    "split": mimic_layout.SPLIT_FILE,
}


def archive_inputs():
    """The archive files the manifest is read from (made by demo_archive for the demo)."""
    if config["data"]["format"] == "covid-chestxray":
        folders = config["data"].get("folders") or [""]
        return [
            f"{ROOT}/{f}/metadata.csv" if f else f"{ROOT}/metadata.csv" for f in folders
        ]
    files = [f"{ROOT}/{MIMIC_FILES[k]}" for k in ("metadata", "chexpert")]
    split = f"{ROOT}/{MIMIC_FILES['split']}"
    if "demo" in config or Path(split).exists():
        files.append(split)
    if "demo" in config:
        files += [f"{ROOT}/sidecar/truth.csv", f"{ROOT}/files"]
    return files


def severity_inputs():
    """Severity tables joined to the manifest (COVID-Net, BrixIA), by name."""
    return dict(config["data"].get("severity") or {})


def nih_label_inputs():
    """NIH's label table, joined to the archive's NIH films (data.nih_labels)."""
    path = config["data"].get("nih_labels")
    return {"nih_labels": path} if path else {}


def study_spec(study):
    return STUDY_CONFIG.get(study) or config["conditions"][study]


def study_cohort(wildcards):
    """A study's catalogues come from its condition's cohort."""
    return f"{OUT}/data/{STUDIES[wildcards.study]}/cohort.parquet"


def study_settings(study):
    """What the catalogue stage needs to know of one study (narrow params)."""
    spec = study_spec(study)
    cat = config["catalogues"]
    return {
        "expert_rankings": spec.get("expert_rankings"),
        "severity": spec.get("severity"),
        "n_queries": spec.get("n_queries", cat["n_queries"]),
        "size": spec.get("size", cat["size"]),
        "keep_class_proportions": cat["keep_class_proportions"],
        "balanced": spec.get("balanced_catalogues", False),
        "raters": cat.get("raters"),
    }


def expert_rankings_input(wildcards):
    path = study_spec(wildcards.study).get("expert_rankings")
    return [path] if path else []


def seg_member(name):
    """A member's model spec (what its training and the ensemble read): with
    convention_heads, one output per lung convention (`heads`)."""
    spec = dict(SEG["members"][name])
    spec.pop("priority", None)
    if SEG.get("convention_heads"):
        spec["heads"] = list(CONVENTIONS)
    return spec


def seg_head():
    """The members' output read as the run's lung masks: the convention's head, or 0."""
    if not SEG.get("convention_heads"):
        return 0
    return CONVENTIONS.index(SEG.get("convention", CONVENTIONS[0]))


def seg_member_priority(wildcards):
    """Members with a higher `priority` start first (slow members first: fewer idle slots)."""
    return SEG["members"][wildcards.member].get("priority", 0)


def seg_pair_inputs(wildcards):
    """Demo: the manifest (phantom masks in the sidecar); real: each lung-mask folder's
    metadata."""
    if SEG["pairs"] == "demo":
        return {"manifest": f"{OUT}/data/manifest.parquet"}
    roots = SEG["masks_root"]
    roots = [roots] if isinstance(roots, str) else roots
    return {"metadata": [f"{r}/metadata.csv" for r in roots]}


def seg_data_settings():
    keys = ("pairs", "masks_root", "datasets", "holdout_fraction", "image_size")
    keys += ("max_train_pairs", "max_holdout_pairs")
    return {k: SEG.get(k) for k in keys} | {"root": ROOT}


def seg_train_settings():
    keys = ("epochs", "batch_size", "lr", "patience", "min_epochs", "schedule")
    keys += ("warmup_epochs", "min_lr_factor", "validation_fraction", "bn_films")
    return {k: SEG.get(k) for k in keys}


def init_weights(condition, model):
    """The weights a classifier starts from: random, another trained model, or a file."""
    init = config["conditions"][condition].get("init", {}).get(model, "random")
    if init == "random":
        return []
    library = library_weights(init, "att" if model == "att" else "densenet")
    if library:
        return [library]
    if init == "pretrain":
        return [PRETRAIN_MODEL]
    if ":" in init and "/" not in init:
        other_model, other_condition = init.split(":", 1)
        return [LAYOUT.model(other_condition, other_model)]
    return [init]


def classifier_inputs(wildcards):
    """CNN and ATT train on cached images, IG on the condition's saliency maps."""
    inputs = {"init": init_weights(wildcards.condition, wildcards.model)}
    if wildcards.model == "ig":
        inputs["maps"] = LAYOUT.saliency_maps(wildcards.condition)
        inputs["map_ids"] = LAYOUT.saliency_ids(wildcards.condition)
    else:
        inputs["images"] = CACHE_IMAGES
        inputs["index"] = CACHE_INDEX
    return inputs


def embedding_inputs(wildcards):
    """cnn / att: images; ig: maps; cnn_ig: the CNN on saliency maps (no retraining)."""
    method = wildcards.method
    model = "cnn" if method == "cnn_ig" else method
    inputs = {"model": LAYOUT.model(wildcards.condition, model)}
    if method in ("ig", "cnn_ig"):
        inputs["maps"] = LAYOUT.saliency_maps(wildcards.condition)
        inputs["map_ids"] = LAYOUT.saliency_ids(wildcards.condition)
    else:
        inputs["images"] = CACHE_IMAGES
        inputs["index"] = CACHE_INDEX
    return inputs


def condition_severity(condition):
    """The severity score a condition's catalogues are graded by (the readouts' target)."""
    sev = config["conditions"][condition]["severity"]
    return {"column": sev["column"], "negatives_zero": sev.get("negatives_zero", False)}


def severity_settings(wildcards):
    return condition_severity(wildcards.condition)


def classifier_severity(wildcards):
    """The classifiers' auxiliary severity target of one condition (narrow: its weight, and
    the graded columns only when the weight is above 0)."""
    weight = config["conditions"][wildcards.condition]["train"]["severity_weight"]
    if not weight:
        return {"weight": 0}
    spec = severity_model_spec(wildcards)
    return {
        "weight": weight,
        "targets": spec["targets"],
        "negatives_zero": spec["negatives_zero"],
    }


def severity_model_spec(wildcards):
    """What the severity model of one condition reads: its targets (the graded column
    first) and its own training recipe (narrow: a classifier edit does not retrain it,
    except through its init weights)."""
    sev = config["conditions"][wildcards.condition]["severity"]
    extra = [t for t in sev.get("targets", []) if t != sev["column"]]
    budget = ("epochs", "patience", "min_epochs", "schedule", "warmup_epochs")
    return {
        "targets": [sev["column"], *extra],
        "negatives_zero": sev.get("negatives_zero", False),
        "optimizer": SEV_MODEL["optimizer"],
        "lr": SEV_MODEL["lr"],
        "batch_size": SEV_MODEL["batch_size"],
        "budget": {k: SEV_MODEL.get(k) for k in budget},
    }


PRETRAIN = config.get("pretrain") or {}
PRETRAIN_MODEL = LAYOUT.model("pretrain", "cnn")


def pretrain_spec():
    """What the pretraining stage reads (narrow): its findings and its recipe."""
    budget = ("epochs", "patience", "min_epochs", "schedule", "warmup_epochs")
    return {
        "targets": PRETRAIN["targets"],
        "optimizer": PRETRAIN["optimizer"],
        "lr": PRETRAIN["lr"],
        "batch_size": PRETRAIN["batch_size"],
        "budget": {k: PRETRAIN.get(k) for k in budget},
    }


def uses_pretrain():
    inits = [SEV_MODEL.get("init", "cnn")] if SEV else []
    for cond in config["conditions"].values():
        inits += list((cond.get("init") or {}).values())
    return "pretrain" in inits


# torchvision / torchxrayvision weights, in the names of each model family (rule
# library_weights): DenseNet-121 for cnn / ig / sev, its stages for att, ResNet-50 for
# the metric models
LIBRARY_FAMILIES = {
    "densenet": "densenet121",
    "att": "densenet121",
    "resnet": "resnet50",
}


def library_weights(spec, family):
    """The run's file of ``spec``'s library weights for ``family``, or None when ``spec``
    does not name library weights."""
    if not spec.startswith(("torchvision:", "torchxrayvision:")):
        return None
    lib, _, name = spec.partition(":")
    return f"{OUT}/models/library/{lib}/{name}/{family}.pt"


def severity_init(wildcards):
    """The weights file the severity model starts from: the condition's CNN, the
    pretrained trunk, library weights (rule library_weights), a local file, or none."""
    init = SEV_MODEL.get("init", "cnn")
    if init == "random":
        return []
    library = library_weights(init, "densenet")
    if library:
        return [library]
    if init == "cnn":
        return [LAYOUT.model(wildcards.condition, "cnn")]
    if init == "pretrain":
        return [PRETRAIN_MODEL]
    return [init]


CROSS = config.get("cross_source") or {}
# the condition models scored on held-out sources: their embeddings and own heads
CROSS_EMBEDDING_METHODS = [m for m in ("cnn", "ig", "att") if m in EMBEDDING_METHODS]


def cross_source_inputs(wildcards):
    """Every table and embedding the cross-source evaluation reads, by name."""
    inputs = {}
    for c in CONDITIONS:
        inputs[f"cohort_{c}"] = f"{OUT}/data/{c}/cohort.parquet"
        for m in CROSS_EMBEDDING_METHODS:
            inputs[f"{c}_{m}"] = f"{OUT}/embeddings/{c}/{m}.npz"
            inputs[f"{c}_{m}_model"] = LAYOUT.model(c, m)
    if severity_outputs():  # sev / cnn_sev: their held-out r, as severity_eval has it
        inputs["severity"] = severity_outputs()[0]
    if ML:
        inputs["metric_labels"] = f"{OUT}/data/metric/labels.parquet"
        for m in ML_METHODS:
            inputs[f"metric_{m}"] = f"{OUT}/embeddings/metric/{m}.npz"
    return inputs


def cross_source_outputs():
    return [f"{OUT}/evaluation/cross_source.csv"] if CROSS else []


def pretrain_outputs():
    if not uses_pretrain():
        return []
    return [f"{OUT}/models/pretrain/cnn/metrics.csv"]


def severity_outputs():
    """The severity agreement table (sev and cnn_sev: held-out r and MAE)."""
    if not ({"sev", "cnn_sev"} & set(EMBEDDING_METHODS)):
        return []
    return [f"{OUT}/evaluation/severity.csv"]


def severity_eval_inputs(wildcards):
    methods = set(EMBEDDING_METHODS)
    sev = [
        f"{OUT}/models/{c}/sev/predictions.csv" for c in CONDITIONS if "sev" in methods
    ]
    readout = CONDITIONS if "cnn_sev" in methods else []
    return {
        "sev": sev,
        "readout": [f"{OUT}/embeddings/{c}/cnn_sev.npz" for c in readout],
        "readout_cohorts": [f"{OUT}/data/{c}/cohort.parquet" for c in readout],
    }


def metric_train_settings(wildcards):
    """What one metric model's training reads: the ce baseline gets its own iterations
    and rate, so that editing one model's budget reruns that model only (and the dml
    model when it starts from the ce trunk, through its init input)."""
    keys = ("classes", "embedding_dim", "attention", "checkpoint_every", "patience")
    keys += ("schedule", "per_class", "classes_per_batch", "monitor")
    settings = {k: ML.get(k) for k in keys}
    settings["severity"] = {"weight": ML.get("severity_weight", 0)}
    if settings["severity"]["weight"]:
        settings["severity"]["targets"] = ML["severity_targets"]
        settings["severity"]["negatives_zero"] = ML["severity_negatives_zero"]
    if wildcards.mlmodel == "ce":
        settings["iterations"] = ML.get("baseline_iterations") or ML["iterations"]
        settings["lr"] = ML["baseline_lr"]
    else:
        settings["iterations"], settings["lr"] = ML["iterations"], ML["lr"]
    return settings


def embedding_file(wildcards):
    if wildcards.method in ML_METHODS:
        return f"{OUT}/embeddings/metric/{wildcards.method}.npz"
    return f"{OUT}/embeddings/{STUDIES[wildcards.study]}/{wildcards.method}.npz"


def cache_list_inputs():
    """Every cohort the cache must hold: the conditions', metric learning's and the
    pretraining stage's."""
    files = expand(f"{OUT}/data/{{condition}}/labels.parquet", condition=CONDITIONS)
    if ML:
        files.append(f"{OUT}/data/metric/labels.parquet")
    if uses_pretrain():
        files.append(f"{OUT}/data/pretrain/labels.parquet")
    return files


def classifier_files(name):
    return [f"{OUT}/models/{c}/{m}/{name}" for c in CONDITIONS for m in CLASSIFIERS]


def ceiling_scores():
    """Studies with a severity score and that score: the severity ceiling simulates
    readouts of it (a rater study: its first rater's total)."""
    out = {}
    for study in STUDIES:
        sev = study_spec(study).get("severity") or {}
        if sev.get("raters"):
            first = next(iter(sev["raters"].values()))
            out[study] = {"column": first["column"], "negatives_zero": False}
        elif sev.get("column"):
            out[study] = {
                "column": sev["column"],
                "negatives_zero": sev.get("negatives_zero", False),
            }
    return out


CEILING_STUDIES = ceiling_scores()


def ranking_files(condition, methods=RANKING_METHODS):
    return {m: f"{OUT}/rankings/{condition}/{m}.csv" for m in methods}


def report_outputs():
    """Every report() output: the report job's inputs."""
    return [
        f"{OUT}/data/counts.csv",
        f"{OUT}/data/counts.png",
        f"{OUT}/data/rejected.csv",
        f"{OUT}/evaluation/ndcg.csv",
        f"{OUT}/evaluation/ndcg_summary.csv",
        f"{OUT}/evaluation/ndcg_boxplot.png",
        f"{OUT}/evaluation/ndcg_ci.csv",
        f"{OUT}/evaluation/paired.csv",
        f"{OUT}/evaluation/verdicts.csv",
        *expand(f"{OUT}/evaluation/topk_{{study}}.png", study=STUDIES),
        *(
            [
                f"{OUT}/evaluation/severity_ceiling.csv",
                f"{OUT}/evaluation/severity_ceiling.png",
            ]
            if CEILING_STUDIES
            else []
        ),
        *severity_outputs(),
        *cross_source_outputs(),
        *pretrain_outputs(),
        *segmentation_outputs(),
        *model_outputs(),
        *training_outputs(),
        *metric_outputs(),
    ]


def verdict_inputs(wildcards):
    """The per-unit tables the claims are judged on (those this config produces)."""
    inputs = {"ndcg": f"{OUT}/evaluation/ndcg.csv"}
    if ML:
        inputs["per_query"] = f"{OUT}/retrieval/per_query.csv"
        if config.get("prognosis"):
            inputs["predictions"] = f"{OUT}/prognosis/predictions.csv"
    if SEG:
        inputs["dice"] = f"{OUT}/segmentation/dice.csv"
    return inputs


def segmentation_outputs():
    if not SEG:
        return []
    out = [
        f"{OUT}/segmentation/dice.csv",
        f"{OUT}/segmentation/dice_summary.csv",
        f"{OUT}/segmentation/gallery.png",
        f"{OUT}/segmentation/no_lung.csv",
    ]
    if LUNG_MASK != "none":
        out.append(f"{CACHE_DIR}/examples.png")
    return out


def training_histories():
    """Every trainer's history.csv, by family (classifiers, metric models, seg members)."""
    return {
        "classifiers": classifier_files("history.csv"),
        "metric": [f"{OUT}/models/metric/{m}/history.csv" for m in ML_METHODS],
        "seg": [f"{OUT}/segmentation/members/{m}/history.csv" for m in SEG_MEMBERS],
        "severity": [
            f"{OUT}/models/{c}/sev/history.csv" for c in (CONDITIONS if SEV else [])
        ],
        "pretrain": (
            [f"{OUT}/models/pretrain/cnn/history.csv"] if uses_pretrain() else []
        ),
    }


def training_outputs():
    if not any(training_histories().values()):
        return []
    return [f"{OUT}/training/learning_curves.png", f"{OUT}/training/history.csv"]


def model_outputs():
    if not CLASSIFIERS:
        return []
    out = [
        f"{OUT}/classification/metrics.csv",
        f"{OUT}/classification/f1_table.csv",
        f"{OUT}/classification/auc_ci.csv",
    ]
    if "cnn" in CLASSIFIERS:
        out += expand(f"{OUT}/saliency/{{condition}}/gallery.png", condition=CONDITIONS)
    if "cnn_sev" in EMBEDDING_METHODS:
        out += expand(
            f"{OUT}/models/{{condition}}/cnn_sev/fit.csv", condition=CONDITIONS
        )
    return out


def metric_init(wildcards):
    """The trained ce baseline when the dml network starts from its trunk (init: ce)."""
    if wildcards.mlmodel == "dml" and ML.get("init") == "ce":
        return LAYOUT.model("metric", "ce")
    library = library_weights(ML.get("init", "random"), "resnet")
    if library:  # both trunks from library weights, as Zhong et al.
        return library
    return []


def metric_outputs():
    if not ML:
        return []
    out = [
        f"{OUT}/retrieval/recall_at_k.csv",
        f"{OUT}/retrieval/knn_diagnosis.csv",
        f"{OUT}/retrieval/recall_table.csv",
        f"{OUT}/retrieval/knn_table.csv",
        f"{OUT}/retrieval/recall_ci.csv",
    ]
    if ML.get("attention", True):
        out.append(f"{OUT}/retrieval/attention_maps.png")
    if config.get("prognosis"):
        out += [
            f"{OUT}/prognosis/auc.csv",
            f"{OUT}/prognosis/auc_summary.csv",
            f"{OUT}/prognosis/roc.png",
        ]
    return out


def index_inputs(wildcards):
    """A condition's models index its cohort; metric models index the whole cache."""
    if wildcards.scope == "metric":
        return {
            "embeddings": f"{OUT}/embeddings/metric/{wildcards.method}.npz",
            "table": f"{OUT}/data/manifest.parquet",
        }
    return {
        "embeddings": f"{OUT}/embeddings/{wildcards.scope}/{wildcards.method}.npz",
        "table": f"{OUT}/data/{wildcards.scope}/cohort.parquet",
    }


def index_columns(scope):
    """Columns a query prints beside each neighbour (labels, patient, split, clinical
    fields)."""
    cols = ["path", "group", "split", "view"]
    cols += [ML["label"]] if scope == "metric" else ["label"]
    # the severity the catalogues are ranked by, where the run knows it
    scopes = CONDITIONS if scope == "metric" else [scope]
    for c in scopes:
        sev = config["conditions"][c].get("severity") or {}
        cols += [v for k, v in sev.items() if k in ("column", "tiebreak")]
    prog = config.get("prognosis") or {}
    cols += list(prog.get("fields", [])) + ([prog["outcome"]] if prog else [])
    return cols + list(config.get("query", {}).get("fields", []))


def index_files():
    files = [LAYOUT.index(c, m) for c in CONDITIONS for m in MODELS.get("methods", [])]
    files += [LAYOUT.index("metric", m) for m in ML_METHODS]
    return files + ([LAYOUT.settings] if files else [])


def query_settings():
    """Narrow settings for the query command: preprocessing, models and their files."""
    seg = {k: SEG.get(k) for k in ("image_size", "threshold")} if SEG else {}
    if seg_head():
        seg["head"] = seg_head()
    if SEG.get("flips"):
        seg["flips"] = True
    if SEG:
        seg["ensemble"] = LAYOUT.seg_ensemble
    seg["members"] = {
        m: {**seg_member(m), "model": LAYOUT.seg_member(m)} for m in SEG_MEMBERS
    }
    return {
        "run": RUN,
        "root": ROOT,
        "image_size": config["preprocess"]["image_size"],
        "intensity": config["preprocess"]["intensity"],
        "lung_mask": LUNG_MASK,
        "segmentation": seg,
        "cache_images": CACHE_IMAGES,
        "cache_index": CACHE_INDEX,
        "conditions": CONDITIONS,
        "condition_methods": list(MODELS.get("methods", [])),
        # the DenseNet classifiers each condition trains (cnn_ig, cnn_sev read the CNN)
        "condition_models": CLASSIFIERS,
        "saliency_method": MODELS.get("saliency", {}).get("method", "deep_taylor"),
        "metric_methods": ML_METHODS,
        "metric_model": {
            k: ML.get(k) for k in ("classes", "embedding_dim", "attention")
        },
        "metric_label": ML.get("label"),
        "out": OUT,
    }


def final_targets():
    return [f"{OUT}/report.html", *report_outputs(), *index_files()]
