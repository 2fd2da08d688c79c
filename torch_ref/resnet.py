"""PyTorch twins of ``scratch.resnet``: stock ``nn.Conv2d`` (bias=False), ``nn.BatchNorm2d``,
``nn.AdaptiveAvgPool2d(1)``; module names match the scratch parameter names."""

import torch.nn.functional as F
from torch import nn


class GlobalAvgPooling(nn.Sequential):
    def __init__(self):
        super().__init__(nn.AdaptiveAvgPool2d(1), nn.Flatten())


class ResidualBlock(nn.Module):
    def __init__(self, c_in, c_out, stride=1, projection=None):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.projection = projection or (projection is None and c_in != c_out)
        if self.projection:
            self.proj = nn.Conv2d(c_in, c_out, 1, stride, 0, bias=False)
            self.proj_bn = nn.BatchNorm2d(c_out)

    def forward(self, x):
        main = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        skip = self.proj_bn(self.proj(x)) if self.projection else x
        return F.relu(main + skip)


class ResNet(nn.Module):
    """forward(x) -> logits; forward(x, t) -> mean cross-entropy."""

    def __init__(self, widths=(4, 8, 16), in_channels=1, num_classes=10):
        super().__init__()
        self.stem = nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False)
        self.stem_bn = nn.BatchNorm2d(widths[0])
        c_in = widths[0]
        for s, c in enumerate(widths, start=1):
            self.add_module(f"stage{s}", ResidualBlock(c_in, c, stride=1 if s == 1 else 2))
            c_in = c
        self.num_stages = len(widths)
        self.pool = GlobalAvgPooling()
        self.fc = nn.Linear(c_in, num_classes)

    def forward(self, x, t=None):
        x = F.relu(self.stem_bn(self.stem(x)))
        for s in range(1, self.num_stages + 1):
            x = getattr(self, f"stage{s}")(x)
        logits = self.fc(self.pool(x))
        return logits if t is None else F.cross_entropy(logits, t)
