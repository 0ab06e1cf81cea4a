"""An invalid config stops the workflow before any job, naming the key."""

from support.workflow import REPO, run_snakemake, write_config


def test_workflow_refuses_invalid_config_before_any_job(tmp_path):
    bad = write_config(
        REPO / "tests/config/tiny.yaml", tmp_path / "bad.yaml", catalogues__size="ten"
    )
    proc = run_snakemake(tmp_path, bad, check=False)
    assert proc.returncode != 0
    assert (
        "config key 'catalogues.size': 'ten' is not of type 'integer'" in proc.stdout + proc.stderr
    )
    assert not (tmp_path / "results").exists()
