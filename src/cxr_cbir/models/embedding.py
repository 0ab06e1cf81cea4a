"""Zhong et al.'s retrieval network: ResNet-50 with a spatial attention branch, 64-d embedding.

The attention branch takes the conv3 stage output (torchvision ``layer2``), passes it
through three bottleneck blocks (the first with stride 2, so the mask matches the conv4
stage's resolution), a squeeze-and-excitation layer, a mean over channels and a sigmoid;
the resulting one-channel mask multiplies the conv4 stage output (``layer3``). The rest
of the ResNet-50 (``layer4``, global average pooling) gives 2048-d features, and two
fully connected layers (+ a batch norm, our addition) project them to an L2-normalised
embedding (64-d by default).
``attention=False`` drops the branch (the paper's ablation). Zhong et al. start from
ImageNet weights; with none at hand, ``init_trunk_from`` starts the trunk from the run's
own cross-entropy baseline instead (``metric_learning.init: ce``).

The cross-entropy baseline is the same ResNet-50 without branch or projection, with a
linear classifier on the 2048-d pooled features; retrieval uses those features.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models import resnet50
from torchvision.models.resnet import Bottleneck

from cxr_cbir.errors import InputError
from cxr_cbir.torch_utils import load_checkpoint


class SqueezeExcitation(nn.Module):
    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        self.fc = nn.Sequential(
            nn.Linear(channels, channels // reduction),
            nn.ReLU(),
            nn.Linear(channels // reduction, channels),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.fc(x.mean(dim=(2, 3)))
        return x * w[:, :, None, None]


class SpatialAttention(nn.Module):
    """layer2 output (N, 512, H, W) -> mask (N, 1, H/2, W/2) in (0, 1)."""

    def __init__(self, channels: int = 512) -> None:
        super().__init__()
        down = nn.Sequential(
            nn.Conv2d(channels, channels, 1, stride=2, bias=False), nn.BatchNorm2d(channels)
        )
        self.blocks = nn.Sequential(
            Bottleneck(channels, channels // 4, stride=2, downsample=down),
            Bottleneck(channels, channels // 4),
            Bottleneck(channels, channels // 4),
        )
        self.se = SqueezeExcitation(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.se(self.blocks(x)).mean(dim=1, keepdim=True))


class _ResNetTrunk(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        r = resnet50(weights=None)
        self.stem = nn.Sequential(r.conv1, r.bn1, r.relu, r.maxpool)
        self.layer1, self.layer2, self.layer3, self.layer4 = r.layer1, r.layer2, r.layer3, r.layer4


class MetricEmbeddingNet(nn.Module):
    """ResNet-50 (+ spatial attention) -> 2048-d features -> FC -> FC -> L2-normalised embedding."""

    feature_dim = 2048

    def __init__(self, embedding_dim: int = 64, attention: bool = True) -> None:
        super().__init__()
        self.trunk = _ResNetTrunk()
        self.attention = SpatialAttention(512) if attention else None
        # The batch norm after the projection centres the embeddings: without it, the
        # ReLU features' common component makes every random-init embedding point the same
        # way (cosine ~1 for all pairs), where the multi-similarity loss has no gradient.
        self.head = nn.Sequential(
            nn.Linear(2048, 512),
            nn.ReLU(),
            nn.Linear(512, embedding_dim),
            nn.BatchNorm1d(embedding_dim),
        )
        self.embedding_dim = embedding_dim

    def features_and_mask(self, x: torch.Tensor):
        t = self.trunk
        c3 = t.layer2(t.layer1(t.stem(x)))
        c4 = t.layer3(c3)
        mask = None
        if self.attention is not None:
            mask = self.attention(c3)
            c4 = c4 * mask
        feats = torch.flatten(F.adaptive_avg_pool2d(t.layer4(c4), 1), 1)
        return feats, mask

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The 2048-d features before the projection head (used for prognosis)."""
        return self.features_and_mask(x)[0]

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.head(self.features(x)), dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.embed(x)


class CrossEntropyResNet(nn.Module):
    """The baseline: ResNet-50 classifier; retrieval on its 2048-d pooled features."""

    feature_dim = 2048
    embedding_dim = 2048

    def __init__(self, n_classes: int) -> None:
        super().__init__()
        self.trunk = _ResNetTrunk()
        self.classifier = nn.Linear(2048, n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        t = self.trunk
        return torch.flatten(
            F.adaptive_avg_pool2d(t.layer4(t.layer3(t.layer2(t.layer1(t.stem(x))))), 1), 1
        )

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def init_trunk_from(model: nn.Module, checkpoint, device="cpu") -> int:
    """Copy the ResNet-50 trunk of a trained metric model (e.g. the ce baseline) into
    ``model``; the attention branch and projection head keep their init. Returns the
    number of tensors copied. Raises InputError when the checkpoint has no trunk."""
    state = load_checkpoint(checkpoint, map_location=device)
    trunk = {k[len("trunk.") :]: v for k, v in state.items() if k.startswith("trunk.")}
    if not trunk:
        raise InputError(f"{checkpoint}: no 'trunk.*' weights to start the dml network from")
    model.trunk.load_state_dict(trunk)  # strict: a partial trunk is an error
    return len(trunk)
