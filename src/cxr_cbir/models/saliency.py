"""Saliency maps of a trained DenseNet classifier: Deep Taylor (default) or other captum methods.

Deep Taylor decomposition is LRP with the z+ rule (captum ``Alpha1_Beta0_Rule``, biases
ignored as z+ prescribes) on convolutions and linear layers, relevance passed through
BatchNorm unchanged (``IdentityRule``), max / global pooling of non-negative activations
with the epsilon rule, and the transitions' average pooling of signed convolution
outputs with the flat rule (even spread), which keeps relevance non-negative.
Two traps handled here:

* captum multiplies the relevance by the output logit, so a negative logit flips the
  map: the relevance is taken before that multiplication (a z+ map then sums to at
  most 1: relevance reaching a unit that BatchNorm's shift switched on although its
  convolution had no positive input, as in a masked-out region, is absorbed there).
* the first convolution sees signed (normalised) inputs, where z+ must treat positive
  and negative inputs apart: R_x = x+ (W+)^T s + x- (W-)^T s with s = R / (W+ x+ + W- x-).
  captum's rule clamps the weights only, so LRP runs on the network *after* the first
  convolution, and this layer's rule is applied here by hand.

The exported map (paper): relevance summed over the three input channels and scaled by
its maximum absolute value, so it lies in [-1, 1] ([0, 1] for Deep Taylor).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from captum.attr import LRP, DeepLift, GuidedGradCam, InputXGradient, IntegratedGradients
from captum.attr._utils.lrp_rules import Alpha1_Beta0_Rule, EpsilonRule, IdentityRule
from torch import nn
from tqdm import tqdm

from cxr_cbir.errors import InputError
from cxr_cbir.finite import require_finite
from cxr_cbir.models.densenet import DenseNetClassifier
from cxr_cbir.models.inputs import prepare

METHODS = ("deep_taylor", "integrated_gradients", "deeplift", "input_x_gradient", "guided_gradcam")


class _Body(nn.Module):
    """The classifier after its first convolution (norm0 ... classifier)."""

    def __init__(self, model: DenseNetClassifier) -> None:
        super().__init__()
        self.rest = nn.Sequential(*list(model.features.children())[1:])
        self.relu, self.pool, self.classifier = model.relu, model.pool, model.classifier

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.pool(self.relu(self.rest(z))), 1))


class FlatAvgPoolRule(EpsilonRule):
    """Spread relevance evenly over each pooling window (the "flat" rule).

    DenseNet's transition layers average-pool raw (signed) convolution outputs; the
    epsilon rule would then hand out negative relevance. Spreading it evenly keeps every
    share non-negative and the total conserved.
    """

    def __init__(self, kernel: int) -> None:
        super().__init__()
        self.kernel = kernel

    def _create_backward_hook_input(self, inputs):
        shape = inputs.shape

        def _backward_hook_input(grad):
            r = self.relevance_output[grad.device]
            k = self.kernel
            up = r.repeat_interleave(k, dim=2).repeat_interleave(k, dim=3) / (k * k)
            out = torch.zeros(shape, dtype=up.dtype, device=up.device)
            out[..., : up.shape[2], : up.shape[3]] = up
            return out

        return _backward_hook_input


class _UnscaledLRP(LRP):
    """captum's LRP returning the relevance *before* its final multiplication by the
    output logit: with z+ each map then sums to <= 1 whatever the logit's sign, and no
    extra forward pass is needed to divide the logit out again."""

    def _compute_output_and_change_weights(self, inputs, target, additional_forward_args):
        out = super()._compute_output_and_change_weights(inputs, target, additional_forward_args)
        return torch.ones_like(out)


def _set_rules(module: nn.Module) -> None:
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            m.rule = Alpha1_Beta0_Rule(set_bias_to_zero=True)
        elif isinstance(m, nn.BatchNorm2d):
            m.rule = IdentityRule()
        elif isinstance(m, nn.AvgPool2d):
            m.rule = FlatAvgPoolRule(int(np.atleast_1d(m.kernel_size)[0]))
        elif isinstance(m, (nn.AdaptiveAvgPool2d, nn.MaxPool2d)):
            m.rule = EpsilonRule()


def _first_layer_zplus(conv: nn.Conv2d, x: torch.Tensor, relevance: torch.Tensor) -> torch.Tensor:
    """z+ for signed inputs: R_x = x+ (W+)^T s + x- (W-)^T s."""
    xp = x.clamp(min=0).detach().requires_grad_(True)
    xn = x.clamp(max=0).detach().requires_grad_(True)
    wp, wn = conv.weight.clamp(min=0), conv.weight.clamp(max=0)
    kw = {"stride": conv.stride, "padding": conv.padding, "dilation": conv.dilation}
    z = F.conv2d(xp, wp, **kw) + F.conv2d(xn, wn, **kw)
    s = _ratio(relevance, z)
    gp, gn = torch.autograd.grad((z * s).sum(), (xp, xn))
    return (xp * gp + xn * gn).detach()


_TINY = 1e-6


def _ratio(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    """num / den where den > 1e-6, else 0 (detached).

    A z+ at (next to) 0 has no positive input to pass relevance on to: the z+ rule
    absorbs it there (0 x R / z+ = 0 on every path). Dividing by z+ + eps instead hands
    such nodes gradients of ~1e9 that compound through DenseNet's concatenated features
    into inf, and inf x 0 = NaN over the whole map (seen on 27 of 567 real films)."""
    den = den.detach()
    return (num.detach() / den.clamp(min=_TINY)).masked_fill_(den <= _TINY, 0.0)


def _through(gp: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    """``value`` (exactly) on ``gp``'s graph with the local gradient value / gp: relevance
    passes unchanged (identity rule through BatchNorm and ReLU, or the flat pooling share)
    when gradients are relevance / z+. Where gp is ~0 the path is cut but the value kept,
    so the layers above see the real activations (as in captum) and the relevance reaching
    such a node is absorbed, not spread elsewhere."""
    return value.detach() + (gp - gp.detach()) * _ratio(value, gp)


def _zplus(conv: nn.Module, a: torch.Tensor) -> torch.Tensor:
    """z+ = W+ a (bias ignored), on the graph: its gradient is the z+ rule's W+^T."""
    w = conv.weight.clamp(min=0)
    if isinstance(conv, nn.Linear):
        return F.linear(a, w)
    return F.conv2d(a, w, None, conv.stride, conv.padding, conv.dilation, conv.groups)


def _dense_block(block: nn.Module, feats: list) -> list:
    """A dense block on (real, z+) feature pairs; returns the pairs after it."""
    for layer in block.values():
        real = torch.cat([f for f, _ in feats], 1)
        gp = torch.cat([g for _, g in feats], 1)
        with torch.no_grad():
            a1 = layer.relu1(layer.norm1(real))
            z1 = layer.conv1(a1)
            a2 = layer.relu2(layer.norm2(z1))
            z2 = layer.conv2(a2)
        z1p = _zplus(layer.conv1, _through(gp, a1))
        z2p = _zplus(layer.conv2, _through(z1p, a2))
        feats = [*feats, (z2, z2p)]
    return feats


def _transition(trans: nn.Module, feats: list) -> list:
    """BN, ReLU, 1x1 conv (z+), then average pooling with the flat rule."""
    real = torch.cat([f for f, _ in feats], 1)
    gp = torch.cat([g for _, g in feats], 1)
    with torch.no_grad():
        a = trans.relu(trans.norm(real))
        z = trans.conv(a)
        p = trans.pool(z)
    zp = _zplus(trans.conv, _through(gp, a))
    k = int(np.atleast_1d(trans.pool.kernel_size)[0])
    q = F.avg_pool2d(zp.detach(), k)  # the pooled z+, the denominator above the pool
    up = q.repeat_interleave(k, dim=2).repeat_interleave(k, dim=3)
    window = torch.zeros_like(zp)
    window[..., : up.shape[2], : up.shape[3]] = up
    # value q; gradient to z+_i of (1/k^2) q / z+_i: relevance spread evenly (flat rule)
    pp = F.avg_pool2d(_through(zp, window), k)
    return [(p, pp)]


def deep_taylor_fast(model: DenseNetClassifier, x: torch.Tensor) -> torch.Tensor:
    """Deep Taylor relevance in one forward and one backward pass (no captum hooks).

    The same rules as :func:`deep_taylor` (z+, identity through BatchNorm / ReLU,
    winner-take-all max pooling, flat transition pooling, average pooling by share),
    written as the gradient trick of Montavon et al.: each convolution contributes
    z+ = W+ a on the graph, each non-linearity the detached ratio a / z+ below it, and
    the gradient of the positive-class z+ logit, started at 1 / z+, is relevance / z+
    everywhere. Tested equal to :func:`deep_taylor` (captum) to float precision, also
    on blank (masked-out) regions, where a naive 1 / (z+ + eps) overflowed to NaN maps.
    """
    model = model.eval()
    f = model.features
    with torch.no_grad():
        z0 = f.conv0(x)
        a0 = f.relu0(f.norm0(z0))
    a0 = a0.detach().requires_grad_(True)
    with torch.enable_grad():
        h = f.pool0(a0)
        feats = [(h.detach(), h)]
        for name, mod in f.named_children():
            if name.startswith("denseblock"):
                feats = _dense_block(mod, feats)
            elif name.startswith("transition"):
                feats = _transition(mod, feats)
        real = torch.cat([r for r, _ in feats], 1)
        gp = torch.cat([g for _, g in feats], 1)
        with torch.no_grad():
            a = model.relu(f.norm5(real))
        pooled = torch.flatten(model.pool(_through(gp, a)), 1)
        logit = _zplus(model.classifier, pooled)[:, 0]
        (grad,) = torch.autograd.grad(logit, a0, grad_outputs=_ratio(torch.ones_like(logit), logit))
        rel_z0 = (a0 * grad).detach()
        return _first_layer_zplus(f.conv0, x, rel_z0)


def deep_taylor(model: DenseNetClassifier, x: torch.Tensor) -> torch.Tensor:
    """Relevance (N, 3, H, W) of normalised inputs ``x``; non-negative, each map sums to <= 1.
    captum's LRP with the rules above (the reference; :func:`deep_taylor_fast` is used)."""
    model = model.eval()
    conv0 = model.features.conv0
    with torch.no_grad():
        z0 = conv0(x)
    body = _Body(model).eval()
    _set_rules(body)
    rel_z0 = _UnscaledLRP(body).attribute(z0.requires_grad_(True), target=0)
    with torch.enable_grad():
        return _first_layer_zplus(conv0, x, rel_z0)


def attribute(model: DenseNetClassifier, x: torch.Tensor, method: str) -> torch.Tensor:
    """Attribution (N, 3, H, W) of the positive-class logit for ``method``."""
    if method == "deep_taylor":
        return deep_taylor_fast(model, x)
    model = model.eval()
    x = x.clone().requires_grad_(True)
    if method == "integrated_gradients":
        return IntegratedGradients(model).attribute(x, baselines=x * 0, target=0, n_steps=32)
    if method == "deeplift":
        return DeepLift(model).attribute(x, baselines=x * 0, target=0)
    if method == "input_x_gradient":
        return InputXGradient(model).attribute(x, target=0)
    if method == "guided_gradcam":
        return GuidedGradCam(model, model.features.denseblock4).attribute(x, target=0)
    raise InputError(f"saliency.method: unknown {method!r}; use one of {METHODS}")


def to_map(attribution: torch.Tensor) -> np.ndarray:
    """Sum over channels, scale each map by its max |value| (paper) -> (N, H, W) float32."""
    m = attribution.detach().sum(dim=1)
    scale = m.flatten(1).abs().amax(dim=1).clamp(min=1e-12).view(-1, 1, 1)
    return (m / scale).float().cpu().numpy()


def saliency_maps(
    model, images: np.ndarray, method: str, batch_size: int, device, ids=None, progress=True
) -> np.ndarray:
    """Maps (N, H, W) float16 for uint8 ``images`` (N, H, W).

    Raises :class:`NumericalError` naming the images (``ids``, else row numbers) whose map
    holds NaN or inf: such a map must never be written, as IG training would take it."""
    model = model.to(device).eval()
    out = np.zeros(images.shape, np.float16)
    steps = range(0, len(images), batch_size)
    for i in tqdm(steps, desc=f"saliency {method}", mininterval=5, disable=not progress):
        x = prepare(torch.from_numpy(np.array(images[i : i + batch_size]))).to(device)
        out[i : i + batch_size] = to_map(attribute(model, x, method)).astype(np.float16)
    require_finite(out, f"{method} gave NaN/inf maps", ids)
    return out
