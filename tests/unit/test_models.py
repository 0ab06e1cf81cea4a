"""CNN / IG / ATT models: shapes, learning, resume after interruption, Deep Taylor maps."""

import numpy as np
import pytest
import torch

from cxr_cbir import models
from cxr_cbir.errors import InputError
from cxr_cbir.finite import NumericalError, name_some
from cxr_cbir.models.densenet import DenseNetClassifier
from cxr_cbir.models.inputs import prepare
from cxr_cbir.models.predict import compute_embeddings
from cxr_cbir.models.saliency import attribute, deep_taylor, deep_taylor_fast, saliency_maps, to_map
from cxr_cbir.retrieval.ranking import rank_by_distance
from cxr_cbir.torch_utils import load_checkpoint, save_checkpoint
from cxr_cbir.training.classifier import class_weights, train_classifier
from cxr_cbir.training.engine import Budget
from cxr_cbir.training.scores import binary_metrics

torch.set_num_threads(2)


@pytest.mark.parametrize("kind", ["cnn", "ig", "att"])
def test_output_and_embedding_shapes(kind):
    model = models.build(kind).eval()
    x = prepare(torch.randint(0, 255, (2, 64, 64), dtype=torch.uint8))
    assert x.shape == (2, 3, 64, 64)
    with torch.no_grad():
        assert model(x).shape == (2, 1)
        assert model.embed(x).shape == (2, 1024)


def test_att_levels_at_224_px():
    model = models.build("att").eval()
    with torch.no_grad():
        shapes = [tuple(f.shape[1:]) for f in model.level_features(torch.randn(1, 3, 224, 224))]
    assert shapes == [(512, 28, 28), (1024, 14, 14), (1024, 7, 7)]


def test_unknown_model_name():
    with pytest.raises(InputError, match="unknown model name 'vit'"):
        models.build("vit")


def test_one_registry_builds_and_loads_every_network_by_name(tmp_path):
    """Every name the workflow trains round-trips through ``models.load`` (weights only,
    eval mode); a missing setting is an InputError naming it."""
    settings = {"classes": [0, 1, 2], "targets": ["a", "b"], "embedding_dim": 16}
    x = prepare(torch.randint(0, 255, (2, 64, 64), dtype=torch.uint8))
    width = {"cnn": 1, "ig": 1, "att": 1, "ce": 3, "sev": 2}
    for name in models.NAMES:
        torch.manual_seed(0)
        trained = models.build(name, settings).eval()
        save_checkpoint(trained.state_dict(), tmp_path / f"{name}.pt")
        loaded = models.load(name, tmp_path / f"{name}.pt", "cpu", settings)
        assert not loaded.training
        with torch.no_grad():
            out, again = trained(x), loaded(x)
        out, again = (out[0], again[0]) if isinstance(out, tuple) else (out, again)
        assert torch.equal(out, again), name
        assert out.shape[1] == width.get(name, 16), name
    with pytest.raises(InputError, match="model 'ce' needs the setting 'classes'"):
        models.build("ce", {})
    with pytest.raises(InputError, match="model 'sev' needs the setting 'targets'"):
        models.build("sev")


def test_class_weights_inverse_frequency_and_empty_class():
    w = class_weights(np.array([0, 0, 0, 1]))
    assert w.tolist() == pytest.approx([4 / 6, 2.0])
    with pytest.raises(InputError, match="a class was emptied by filtering"):
        class_weights(np.array([1, 1, 1]))


def _toy_data(n=24, size=32, seed=0):
    """Bright square (positive) or none (negative) on noise: learnable in a few steps."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 80, (n, size, size)).astype(np.uint8)
    y = np.arange(n) % 2
    x[y == 1, 8:20, 8:20] = 250
    return x, y


def test_a_few_steps_lower_the_loss(tmp_path):
    x, y = _toy_data()
    torch.manual_seed(0)
    model, history = train_classifier(
        DenseNetClassifier(),
        x,
        y,
        x[:8],
        y[:8],
        optimizer="adam",
        lr=1e-3,
        budget=Budget(epochs=4),
        batch_size=8,
        seed=0,
        checkpoint=tmp_path / "c.pt",
    )
    assert history["train_loss"].iloc[-1] < history["train_loss"].iloc[0]
    assert history["kept"].sum() == 1


def test_resume_after_interruption_gives_the_same_weights(tmp_path):
    x, y = _toy_data(16)
    kw = dict(
        train_x=x,
        train_y=y,
        val_x=x[:8],
        val_y=y[:8],
        optimizer="adadelta",
        lr=1.0,
        batch_size=8,
        seed=5,
    )
    torch.manual_seed(0)
    straight, h1 = train_classifier(
        DenseNetClassifier(), budget=Budget(3), checkpoint=tmp_path / "a.pt", **kw
    )
    torch.manual_seed(0)
    train_classifier(DenseNetClassifier(), budget=Budget(2), checkpoint=tmp_path / "b.pt", **kw)
    assert int(load_checkpoint(tmp_path / "b.pt")["epoch"]) == 1  # "killed" after epoch 2
    torch.manual_seed(123)  # a different fresh init: the checkpoint must win
    resumed, h2 = train_classifier(
        DenseNetClassifier(), budget=Budget(3), checkpoint=tmp_path / "b.pt", **kw
    )
    assert h2["epoch"].tolist() == [1, 2, 3]
    assert h1["val_auc"].tolist() == h2["val_auc"].tolist()
    for (k, a), b in zip(straight.state_dict().items(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b), k


def test_deep_taylor_map_is_non_negative_and_sums_to_one():
    torch.manual_seed(1)
    model = DenseNetClassifier().eval()
    with torch.no_grad():  # BatchNorm statistics of a trained network, not the identity
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.5)
    x = prepare(torch.randint(0, 255, (3, 48, 48), dtype=torch.uint8))
    logits = model(x).squeeze(1)
    rel = deep_taylor(model, x)
    assert rel.shape == x.shape
    assert rel.min() >= -1e-7
    assert rel.flatten(1).sum(1).tolist() == pytest.approx([1.0, 1.0, 1.0], abs=0.01)
    # the same holds whatever the logit's sign (captum scales by it; we undo that)
    with torch.no_grad():
        model.classifier.bias.fill_(-float(logits.max()) - 5.0)
    rel_neg = deep_taylor(model, x)
    assert rel_neg.min() >= -1e-7
    assert rel_neg.flatten(1).sum(1).tolist() == pytest.approx([1.0, 1.0, 1.0], abs=0.01)
    maps = to_map(rel)
    assert maps.shape == (3, 48, 48) and maps.max() == pytest.approx(1.0)
    # the one-pass implementation the workflow uses gives the same relevance
    fast = deep_taylor_fast(model, x)
    assert fast.min() >= -1e-7
    assert fast.flatten(1).sum(1).tolist() == pytest.approx([1.0, 1.0, 1.0], abs=0.01)
    # as the README claims: equal to captum's LRP with the same rules to 1e-4 of the peak
    assert float((fast - rel_neg).abs().max()) <= 1e-4 * float(rel_neg.abs().max())
    np.testing.assert_allclose(to_map(fast), to_map(rel_neg), atol=1e-4)


def test_zplus_lrp_on_a_toy_network_by_hand():
    """x = (1, 2); h = relu(W1 x) with W1 = [[1, -1], [2, 1]] -> (0, 4); y = W2 h with
    W2 = [[3, 0.5]] -> 2. z+ at the output layer: h_j W2+_j = (0, 2) -> R_h = (0, 1).
    z+ at the first layer, unit 2: x_i W1+_2i = (2, 2) -> R_x = (0.5, 0.5); unit 1 has
    no relevance. The same rules and unscaled LRP the workflow uses must give (0.5, 0.5)."""
    from cxr_cbir.models.saliency import _set_rules, _UnscaledLRP

    net = torch.nn.Sequential(
        torch.nn.Linear(2, 2), torch.nn.ReLU(), torch.nn.Linear(2, 1)
    ).double()
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[1.0, -1.0], [2.0, 1.0]]))
        net[0].bias.fill_(0.7)  # z+ ignores biases
        net[2].weight.copy_(torch.tensor([[3.0, 0.5]]))
        net[2].bias.fill_(-0.2)
    _set_rules(net)
    x = torch.tensor([[1.0, 2.0]], dtype=torch.float64)
    rel = _UnscaledLRP(net).attribute(x, target=0)
    assert rel.tolist() == [pytest.approx([0.5, 0.5], abs=1e-8)]  # captum adds eps 1e-9


def test_first_layer_zplus_for_signed_inputs_by_hand():
    """One 1x1 convolution, weights (2, -1), input (1, -3): z = W+ x+ + W- x- = 2 + 3 = 5;
    relevance 10 gives s = 2, R_x1 = x+ W+ s = 4 and R_x2 = x- W- s = 6 (sum 10 kept)."""
    from cxr_cbir.models.saliency import _first_layer_zplus

    conv = torch.nn.Conv2d(2, 1, 1, bias=False).double()
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([2.0, -1.0]).view(1, 2, 1, 1))
    x = torch.tensor([1.0, -3.0], dtype=torch.float64).view(1, 2, 1, 1)
    rel = _first_layer_zplus(conv, x, torch.full((1, 1, 1, 1), 10.0, dtype=torch.float64))
    assert rel.flatten().tolist() == pytest.approx([4.0, 6.0], abs=1e-12)


def _masked_film_model():
    """A net whose BatchNorm shifts switch units on where their input is 0, and a film
    blank over most of its width (a lung-masked film): units with z+ = 0 but activation
    > 0 in layer after layer, what made 1 / (z+ + eps) overflow into NaN maps on 27 real
    covid-chestxray films."""
    torch.manual_seed(0)
    model = DenseNetClassifier().eval()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.zero_()
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(0.1, 0.5)
        model.features.norm0.bias.fill_(-0.1)  # first-layer units are 0 on the blank part
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    x[..., :40] = 0
    return model, x


def test_deep_taylor_on_a_masked_out_region_is_finite_and_equals_captum():
    model, x = _masked_film_model()
    fast = deep_taylor_fast(model, x)
    assert torch.isfinite(fast).all()
    assert fast.min() >= -1e-7
    sums = fast.flatten(1).sum(1)
    # relevance reaching units switched on by BatchNorm alone is absorbed (z+ rule)
    assert bool(((sums > 0.3) & (sums <= 1.0 + 1e-5)).all()), sums
    ref = deep_taylor(model, x)
    assert float((fast - ref).abs().max()) <= 1e-4 * float(ref.abs().max())
    maps = saliency_maps(model, np.zeros((1, 32, 32), np.uint8), "deep_taylor", 1, "cpu")
    assert np.isfinite(maps.astype(np.float32)).all()


def test_non_finite_maps_are_refused_naming_the_films(monkeypatch):
    import cxr_cbir.models.saliency as saliency

    def half_nan(model, x, method):
        out = torch.ones_like(x)
        out[1::2] = float("nan")
        return out

    monkeypatch.setattr(saliency, "attribute", half_nan)
    images = np.zeros((4, 16, 16), np.uint8)
    with pytest.raises(NumericalError, match=r"NaN/inf maps for 2 of 4 images: f1, f3$"):
        saliency_maps(
            DenseNetClassifier(), images, "deep_taylor", 2, "cpu", ids=["f0", "f1", "f2", "f3"]
        )


def test_non_finite_predictions_are_named_not_passed_to_sklearn():
    with pytest.raises(NumericalError, match=r"non-finite predictions for 1 of 3 images: row 2$"):
        binary_metrics(np.array([0, 1, 1]), np.array([0.2, 0.9, np.nan]))


@pytest.mark.parametrize(
    "method", ["integrated_gradients", "deeplift", "input_x_gradient", "guided_gradcam"]
)
def test_other_captum_methods_give_maps(method):
    torch.manual_seed(0)
    model = DenseNetClassifier().eval()
    images = np.random.default_rng(0).integers(0, 255, (2, 64, 64)).astype(np.uint8)
    maps = saliency_maps(model, images, method, 2, "cpu").astype(np.float32)
    assert maps.shape == (2, 64, 64) and np.isfinite(maps).all()
    peaks = np.abs(maps).reshape(2, -1).max(axis=1)
    if method == "guided_gradcam":
        # Grad-CAM's ReLU keeps the evidence for the logit: a map may be all zero, but
        # then the negated classifier (evidence against) gives a map scaled to 1
        with torch.no_grad():
            model.classifier.weight.neg_()
            model.classifier.bias.neg_()
        against = saliency_maps(model, images, method, 2, "cpu").astype(np.float32)
        peaks = np.maximum(peaks, np.abs(against).reshape(2, -1).max(axis=1))
    # every map is scaled by its max |value|
    assert peaks == pytest.approx([1.0, 1.0], abs=1e-3)
    # and depends on its film: the two films' maps differ
    assert not np.allclose(maps[0], maps[1], atol=1e-3)


def test_unknown_saliency_method():
    with pytest.raises(InputError, match="saliency.method"):
        attribute(DenseNetClassifier(), torch.zeros(1, 3, 32, 32), "lime")


def test_embeddings_and_l2_ranking():
    import pandas as pd

    model = DenseNetClassifier()
    x, _ = _toy_data(6)
    emb = compute_embeddings(model, x, 4, "cpu")
    assert emb.shape == (6, 1024)
    ids = [f"i{k}" for k in range(4)]
    vec = np.array([[0, 0], [3, 0], [1, 0], [0, 2]], float)
    cats = pd.DataFrame({"query_id": "i0", "image_id": ["i1", "i2", "i3"]})
    r = rank_by_distance(cats, ids, vec)
    assert r["image_id"].tolist() == ["i2", "i3", "i1"]
    assert r["score"].tolist() == pytest.approx([1.0, 2.0, 3.0])


def test_name_some_shortens_long_lists():
    assert name_some(["a", "b"]) == "a, b"
    assert name_some([f"f{i}" for i in range(13)], limit=3) == "f0, f1, f2, ... (+10 more)"
