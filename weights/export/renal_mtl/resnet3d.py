"""Reference 3D ResNet backbone of FORMAT.md (MedicalNet / Hara / MONAI naming), without ``fc``."""

import torch
import torch.nn.functional as F
from torch import nn

from .config import BLOCKS, expansion


class ZeroPadShortcut(nn.Module):
    """Shortcut type A (MedicalNet ``downsample_basic_block``): no weights.

    Subsamples by the stride (``avg_pool3d`` with kernel 1 is a strided pick) and appends zero
    channels up to ``out_channels``.
    """

    def __init__(self, stride, in_channels, out_channels):
        super().__init__()
        self.stride = stride
        self.extra = out_channels - in_channels  # a Python int, so tracing records no shape arithmetic

    def forward(self, x):  # (N, C, D, H, W) -> (N, out_channels, D', H', W')
        if self.stride != 1:
            x = F.avg_pool3d(x, kernel_size=1, stride=self.stride)
        if self.extra > 0:
            # F.pad lists pairs from the last dim backwards: W, H, D, then C
            x = F.pad(x, (0, 0, 0, 0, 0, 0, 0, self.extra))
        return x


def _shortcut_b(in_channels, out_channels, stride, bias):
    return nn.Sequential(nn.Conv3d(in_channels, out_channels, kernel_size=1, stride=stride, bias=bias),
                         nn.BatchNorm3d(out_channels))


class BasicBlock(nn.Module):
    """Two 3³ convolutions; stride on the first, dilation (padding = dilation) on both."""

    expansion = 1

    def __init__(self, in_channels, planes, stride, dilation, downsample):
        super().__init__()
        self.conv1 = nn.Conv3d(in_channels, planes, 3, stride=stride, padding=dilation, dilation=dilation,
                               bias=False)
        self.bn1 = nn.BatchNorm3d(planes)
        self.conv2 = nn.Conv3d(planes, planes, 3, stride=1, padding=dilation, dilation=dilation, bias=False)
        self.bn2 = nn.BatchNorm3d(planes)
        self.downsample = downsample

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return F.relu(out + identity)


class Bottleneck(nn.Module):
    """1³ → 3³ (stride, dilation) → 1³ convolutions, expansion 4."""

    expansion = 4

    def __init__(self, in_channels, planes, stride, dilation, downsample):
        super().__init__()
        self.conv1 = nn.Conv3d(in_channels, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm3d(planes)
        self.conv2 = nn.Conv3d(planes, planes, 3, stride=stride, padding=dilation, dilation=dilation, bias=False)
        self.bn2 = nn.BatchNorm3d(planes)
        self.conv3 = nn.Conv3d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm3d(planes * 4)
        self.downsample = downsample

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        identity = x if self.downsample is None else self.downsample(x)
        return F.relu(out + identity)


class ResNet3D(nn.Module):
    """ResNet over single volumes, built from a ``networks[].backbone`` dict.

    forward: (N, in_channels, D, H, W) -> (N, F) with F = widths[3] * expansion (global average pool).
    """

    def __init__(self, cfg):
        super().__init__()
        depth = int(cfg["depth"])
        block = Bottleneck if expansion(depth) == 4 else BasicBlock
        widths = [int(w) for w in cfg["widths"]]
        stem = cfg["stem"]
        self.conv1 = nn.Conv3d(int(cfg["in_channels"]), widths[0], kernel_size=tuple(stem["kernel"]),
                               stride=tuple(stem["stride"]), padding=tuple(stem["padding"]), bias=False)
        self.bn1 = nn.BatchNorm3d(widths[0])
        self.maxpool = nn.MaxPool3d(kernel_size=3, stride=2, padding=1) if stem["max_pool"] else None
        in_ch = widths[0]
        for s in range(4):
            planes, stride, dil = widths[s], int(cfg["strides"][s]), int(cfg["dilations"][s])
            blocks = []
            for b in range(BLOCKS[depth][s]):
                st = stride if b == 0 else 1
                out_ch = planes * block.expansion
                downsample = None
                if st != 1 or in_ch != out_ch:
                    if cfg["shortcut"] == "A":
                        downsample = ZeroPadShortcut(st, in_ch, out_ch)
                    else:
                        downsample = _shortcut_b(in_ch, out_ch, st, bool(cfg["downsample_bias"]))
                blocks.append(block(in_ch, planes, st, dil, downsample))
                in_ch = out_ch
            self.add_module("layer%d" % (s + 1), nn.Sequential(*blocks))
        self.out_features = in_ch

    def forward(self, x):  # (N, C, D, H, W) -> (N, F)
        x = F.relu(self.bn1(self.conv1(x)))
        if self.maxpool is not None:
            x = self.maxpool(x)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return torch.mean(x, dim=(2, 3, 4))
