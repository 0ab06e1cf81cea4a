# Severity as a training target (method sev): a DenseNet-121 regression of the graded
# scores of each condition (its catalogues' column first, then e.g. opacity and the
# BrixIA zones), fitted on the scored training films; its predicted score ranks the
# catalogues. Then the held-out agreement of every severity-predicting method.


rule train_severity:
    input:
        cohort=f"{OUT}/data/{{condition}}/cohort.parquet",
        images=CACHE_IMAGES,
        index=CACHE_INDEX,
        init=severity_init,
        code=package_code("train_severity.py"),
    output:
        model=LAYOUT.model("{condition}", "sev"),
        scaler=LAYOUT.severity_scaler("{condition}"),
        history=f"{OUT}/models/{{condition}}/sev/history.csv",
        predictions=f"{OUT}/models/{{condition}}/sev/predictions.csv",
        embeddings=f"{OUT}/embeddings/{{condition}}/sev.npz",
    log:
        f"{OUT}/logs/train_severity_{{condition}}.log",
    benchmark:
        f"{OUT}/benchmarks/train_severity_{{condition}}.tsv"
    conda:
        "../../envs/torch.yaml"
    threads: config["threads"]
    resources:
        gpu=1,
    params:
        spec=severity_model_spec,
        amp=config["training"]["amp"],
        workers=config["training"]["workers"],
        seed=config["seed"],
        checkpoint=lambda wc: f"{OUT}/models/{wc.condition}/sev/checkpoint.pt",
    script:
        "../scripts/train_severity.py"


rule severity_eval:
    input:
        unpack(severity_eval_inputs),
        code=package_code("severity_eval.py"),
    output:
        report(
            f"{OUT}/evaluation/severity.csv",
            caption="../report/severity_eval.rst",
            category="Evaluation",
            subcategory="Severity",
        ),
    log:
        f"{OUT}/logs/severity_eval.log",
    benchmark:
        f"{OUT}/benchmarks/severity_eval.tsv"
    conda:
        "../../envs/data.yaml"
    params:
        sev_conditions=CONDITIONS if SEV else [],
        readout_conditions=CONDITIONS if "cnn_sev" in EMBEDDING_METHODS else [],
        severity={
            c: condition_severity(c)
            for c in CONDITIONS
            if "cnn_sev" in EMBEDDING_METHODS
        },
    script:
        "../scripts/severity_eval.py"
