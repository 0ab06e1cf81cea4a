# The synthetic demo archive (MIMIC-CXR-JPG 2.0.0 layout), made only when config has `demo:`.
if "demo" in config:

    rule demo_archive:
        input:
            package_code("demo_archive.py"),
        output:
            metadata=f"{ROOT}/{MIMIC_FILES['metadata']}",
            chexpert=f"{ROOT}/{MIMIC_FILES['chexpert']}",
            split=f"{ROOT}/{MIMIC_FILES['split']}",
            truth=f"{ROOT}/sidecar/truth.csv",
            rankings=expand(
                f"{ROOT}/sidecar/expert_rankings_{{condition}}.csv",
                condition=CONDITIONS,
            ),
            files=directory(f"{ROOT}/files"),
            masks=directory(f"{ROOT}/sidecar/lung_masks"),
        log:
            f"{OUT}/logs/demo_archive.log",
        benchmark:
            f"{OUT}/benchmarks/demo_archive.tsv"
        conda:
            "../../envs/data.yaml"
        # the first job of the run, alone: it renders on every core (on a cluster,
        # where --cores is unset, on `threads`)
        threads: workflow.resource_settings.cores or config["threads"]
        params:
            seed=config["seed"],
            demo=config["demo"],
            conditions={
                name: {
                    "label": c["label"],
                    "views": c["views"],
                    "severity_column": c["severity"]["column"],
                }
                for name, c in config["conditions"].items()
            },
            catalogues={k: config["catalogues"][k] for k in ("n_queries", "size")},
        script:
            "../scripts/demo_archive.py"
