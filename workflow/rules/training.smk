# Learning curves of every trained model (classifiers, metric models, segmentation
# members): training loss and the validation score that chose the kept epoch.


rule learning_curves:
    input:
        unpack(lambda wc: training_histories()),
        code=package_code("learning_curves.py"),
    output:
        figure=report(
            f"{OUT}/training/learning_curves.png",
            caption="../report/learning_curves.rst",
            category="Training",
        ),
        table=report(
            f"{OUT}/training/history.csv",
            caption="../report/training_history.rst",
            category="Training",
        ),
    log:
        f"{OUT}/logs/learning_curves.log",
    benchmark:
        f"{OUT}/benchmarks/learning_curves.tsv"
    conda:
        "../../envs/data.yaml"
    script:
        "../scripts/learning_curves.py"
