"""ATT: DenseNet-121 with multi-level dual attention (Silva et al. 2022, after DANet).

Our reading of the paper's description, as implemented here:

1. Three levels of DenseNet-121 features are taken: the outputs of dense blocks 2, 3
   and 4 (at 224 px: [512, 28, 28], [1024, 14, 14], [1024, 7, 7]; at 128 px:
   16, 8 and 4 pixels a side).
2. Within each level, *dual* self-attention (Fu et al., DANet): a position-attention
   module (every location attends to every other, query/key at C/8 channels) and a
   channel-attention module (channel-by-channel affinity), each with a learned residual
   weight initialised to 0, summed. Each level is first reduced to 256 channels by a
   1x1 convolution so the three levels share one width.
3. Each attended level is average-pooled to a 256-d token; attention *across* levels
   is multi-head self-attention over the three tokens (plus a learned level embedding),
   so each level's summary is re-weighted by the others.
4. The three attended tokens are concatenated and projected to a 1024-d embedding
   (the retrieval feature, as for CNN and IG), followed by the one-logit classifier.
"""

from __future__ import annotations

import torch
from torch import nn

from cxr_cbir.models.densenet import DenseNetClassifier


class PositionAttention(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.query = nn.Conv2d(channels, channels // 8, 1)
        self.key = nn.Conv2d(channels, channels // 8, 1)
        self.value = nn.Conv2d(channels, channels, 1)
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        q = self.query(x).flatten(2).transpose(1, 2)  # n, hw, c'
        k = self.key(x).flatten(2)  # n, c', hw
        attn = torch.softmax(q @ k, dim=-1)  # n, hw, hw
        v = self.value(x).flatten(2)  # n, c, hw
        out = (v @ attn.transpose(1, 2)).view(n, c, h, w)
        return self.gamma * out + x


class ChannelAttention(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        f = x.flatten(2)  # n, c, hw
        energy = f @ f.transpose(1, 2)  # n, c, c
        energy = energy.amax(dim=-1, keepdim=True) - energy
        attn = torch.softmax(energy, dim=-1)
        out = (attn @ f).view(n, c, h, w)
        return self.gamma * out + x


class DualAttention(nn.Module):
    """Reduce to ``width`` channels, then position + channel attention, summed."""

    def __init__(self, in_channels: int, width: int = 256) -> None:
        super().__init__()
        self.reduce = nn.Sequential(
            nn.Conv2d(in_channels, width, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU()
        )
        self.position = PositionAttention(width)
        self.channel = ChannelAttention()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.reduce(x)
        return self.position(x) + self.channel(x)


class DualAttentionDenseNet(nn.Module):
    embedding_dim = 1024

    def __init__(self, width: int = 256, heads: int = 4) -> None:
        super().__init__()
        backbone = DenseNetClassifier().features
        names = [n for n, _ in backbone.named_children()]
        cut2, cut3 = names.index("denseblock2") + 1, names.index("denseblock3") + 1
        children = list(backbone.children())
        self.stage2 = nn.Sequential(*children[:cut2])  # -> 512 channels
        self.stage3 = nn.Sequential(*children[cut2:cut3])  # transition2 + block3 -> 1024
        self.stage4 = nn.Sequential(*children[cut3:])  # transition3 + block4 + norm5 -> 1024
        self.levels = nn.ModuleList(
            [DualAttention(512, width), DualAttention(1024, width), DualAttention(1024, width)]
        )
        self.level_embedding = nn.Parameter(torch.zeros(3, width))
        self.cross = nn.MultiheadAttention(width, heads, batch_first=True)
        self.norm = nn.LayerNorm(width)
        self.project = nn.Sequential(nn.Linear(3 * width, 1024), nn.ReLU())
        self.classifier = nn.Linear(1024, 1)

    def level_features(self, x: torch.Tensor) -> list[torch.Tensor]:
        f2 = self.stage2(x)
        f3 = self.stage3(f2)
        f4 = torch.relu(self.stage4(f3))
        return [f2, f3, f4]

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        tokens = torch.stack(
            [
                att(f).mean(dim=(2, 3))
                for att, f in zip(self.levels, self.level_features(x), strict=True)
            ],
            dim=1,
        )  # n, 3, width
        tokens = tokens + self.level_embedding
        mixed, _ = self.cross(tokens, tokens, tokens, need_weights=False)
        tokens = self.norm(tokens + mixed)
        return self.project(tokens.flatten(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.embed(x))
