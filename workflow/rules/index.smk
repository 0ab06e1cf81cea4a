# Exact search index over every embedded image, per model, and the settings that
# `cxr-cbir query` needs to treat a new film exactly as the run treated the archive.


rule embedding_index:
    input:
        unpack(index_inputs),
        code=package_code("build_index.py"),
    output:
        index=LAYOUT.index("{scope}", "{method}"),
        table=LAYOUT.index_table("{scope}", "{method}"),
    log:
        f"{OUT}/logs/index_{{scope}}_{{method}}.log",
    benchmark:
        f"{OUT}/benchmarks/index_{{scope}}_{{method}}.tsv"
    wildcard_constraints:
        scope="|".join([*CONDITIONS, "metric"]),
        method="|".join(EMBEDDING_METHODS) or "none",
    conda:
        "../../envs/torch.yaml"
    params:
        metric=lambda wc: EMBEDDING_METRIC.get(wc.method, "l2"),
        columns=lambda wc: index_columns(wc.scope),
    script:
        "../scripts/build_index.py"


rule query_settings:
    input:
        code=package_code("query_settings.py"),
    output:
        LAYOUT.settings,
    log:
        f"{OUT}/logs/query_settings.log",
    benchmark:
        f"{OUT}/benchmarks/query_settings.tsv"
    conda:
        "../../envs/data.yaml"
    params:
        settings=query_settings(),
    script:
        "../scripts/query_settings.py"
