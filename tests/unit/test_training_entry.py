"""The one training entry: seeded build per family, start from an init file, the ending."""

import pandas as pd
import pytest
import torch

from cxr_cbir.errors import InputError
from cxr_cbir.torch_utils import load_checkpoint, save_checkpoint
from cxr_cbir.training.entry import TrainPaths, build, train

SPECS = {
    "classifier": {"kind": "cnn"},
    "metric": {"kind": "ce", "classes": [0, 1, 2]},
    "multi_output": {"targets": ["a", "b"]},
    "lung_member": {"arch": "Unet", "encoder": "efficientnet-b0"},
}


def _paths(tmp_path, init=None):
    return TrainPaths(tmp_path / "m.pt", tmp_path / "h.csv", tmp_path / "ckpt.pt", init)


def _no_fit(model):
    return model, pd.DataFrame({"epoch": [1, 2], "kept": [False, True]})


@pytest.mark.parametrize("family", sorted(SPECS))
def test_same_seed_same_network_in_every_family(tmp_path, family, caplog):
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    with caplog.at_level("INFO", logger="cxr_cbir.training.entry"):
        a, _ = train(family, SPECS[family], _no_fit, _paths(tmp_path / "a"), seed=5)
    # the log names what makes one CPU draw differ from another
    kernels = torch.backends.cpu.get_cpu_capability()
    expected = f"CPU kernels {kernels}, {torch.get_num_threads()} threads, seed 5"
    assert expected in caplog.text
    b, _ = train(family, SPECS[family], _no_fit, _paths(tmp_path / "b"), seed=5)
    for (k, x), y in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(x, y), k
    torch.manual_seed(6)
    other = build(family, SPECS[family]).state_dict()
    assert any(not torch.equal(x, other[k]) for k, x in a.state_dict().items())


def test_tables_first_then_history_and_weights_and_the_checkpoint_gone(tmp_path):
    paths = _paths(tmp_path)
    paths.checkpoint.write_bytes(b"resume state")
    seen = []

    def report(model, history, extra):
        seen.append((extra, paths.model.exists(), paths.history.exists()))

    def fit(model):
        model, history = _no_fit(model)
        return model, history, "scaler"

    model, history, extra = train(
        "classifier", SPECS["classifier"], fit, paths, seed=0, report=report, label={"model": "cnn"}
    )
    assert seen == [("scaler", False, False)]  # the report ran before the job's outputs
    assert extra == "scaler" and not paths.checkpoint.exists()
    written = pd.read_csv(paths.history)
    assert written["model"].tolist() == ["cnn", "cnn"] and written["epoch"].tolist() == [1, 2]
    saved = load_checkpoint(paths.model)
    assert all(torch.equal(v, saved[k]) for k, v in model.state_dict().items())


def test_init_files_start_the_network_their_family_s_way(tmp_path):
    donor = build("classifier", SPECS["classifier"])
    save_checkpoint(donor.state_dict(), tmp_path / "donor.pt")
    model, _ = train(
        "classifier",
        SPECS["classifier"],
        _no_fit,
        _paths(tmp_path, tmp_path / "donor.pt"),
        seed=1,
    )
    assert all(torch.equal(v, donor.state_dict()[k]) for k, v in model.state_dict().items())
    # the dml network takes a trained ce network's trunk, and nothing else
    ce = build("metric", SPECS["metric"])
    save_checkpoint(ce.state_dict(), tmp_path / "ce.pt")
    dml_spec = {"kind": "dml", "classes": [0, 1, 2]}
    dml, _ = train("metric", dml_spec, _no_fit, _paths(tmp_path, tmp_path / "ce.pt"), seed=1)
    trunk = {k: v for k, v in ce.state_dict().items() if k.startswith("trunk.")}
    assert trunk and all(torch.equal(dml.state_dict()[k], v) for k, v in trunk.items())
    with pytest.raises(InputError, match="not used by this family"):
        train("lung_member", SPECS["lung_member"], _no_fit, _paths(tmp_path, "x.pt"), seed=1)
    with pytest.raises(InputError, match="unknown training family 'gan'"):
        build("gan", {})


def test_a_rule_s_paths_and_its_init_input_in_any_of_snakemake_s_shapes():
    from types import SimpleNamespace

    output = SimpleNamespace(model="m.pt", history="h.csv")
    params = SimpleNamespace(checkpoint="c.pt")
    assert TrainPaths.of_job(output, params) == TrainPaths("m.pt", "h.csv", "c.pt", None)
    assert TrainPaths.of_job(output, params, []).init is None  # init: [] (random)
    assert TrainPaths.of_job(output, params, ["w.pt"]).init == "w.pt"
    assert TrainPaths.of_job(output, params, "ce.pt").init == "ce.pt"
    assert TrainPaths.of_job(output, params, "").init is None
