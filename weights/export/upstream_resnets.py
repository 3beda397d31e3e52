"""Test support: minimal PyTorch modules rebuilding the 3D ResNets of MedicalNet (Tencent/MedicalNet
models/resnet.py @ 2d880ef, HEAD 20f76aa), Hara (kenshohara/3D-ResNets-PyTorch models/resnet.py @ b2d4a80, HEAD
540a0ea) and MONAI (Project-MONAI/MONAI monai/networks/nets/resnet.py @ 7c26e5a, HEAD d388d1c): their module names
(so their state_dict keys) and forward math, written here from the upstream sources (nothing copied or
imported). Used by test_upstream_checkpoints.py with upstream_heads.py.

Each also gets ``features(x)``: the network up to layer4 and a global average pool, which is how a classifier
built on it (and the engine) uses the backbone instead of MedicalNet's conv_seg or the fc.
"""

from functools import partial

import torch
import torch.nn.functional as F
from torch import nn


# ------------------------------------------------------------------------------------------------ ResNets

class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, in_planes, planes, stride=1, dilation=1, downsample=None, act=None):
        super().__init__()
        self.conv1 = nn.Conv3d(in_planes, planes, 3, stride=stride, padding=dilation, dilation=dilation, bias=False)
        self.bn1 = nn.BatchNorm3d(planes)
        self.conv2 = nn.Conv3d(planes, planes, 3, padding=dilation, dilation=dilation, bias=False)
        self.bn2 = nn.BatchNorm3d(planes)
        self.relu = act or nn.ReLU(inplace=True)  # MONAI names it act; no tensors either way
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        residual = x if self.downsample is None else self.downsample(x)
        return self.relu(out + residual)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, in_planes, planes, stride=1, dilation=1, downsample=None, act=None):
        super().__init__()
        self.conv1 = nn.Conv3d(in_planes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm3d(planes)
        self.conv2 = nn.Conv3d(planes, planes, 3, stride=stride, padding=dilation, dilation=dilation, bias=False)
        self.bn2 = nn.BatchNorm3d(planes)
        self.conv3 = nn.Conv3d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm3d(planes * 4)
        self.relu = act or nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        residual = x if self.downsample is None else self.downsample(x)
        return self.relu(out + residual)


def downsample_basic_block(x, planes, stride):
    """Shortcut A: avg_pool3d(kernel 1, stride) then zero channels (MedicalNet, Hara, MONAI alike)."""
    out = F.avg_pool3d(x, kernel_size=1, stride=stride)
    zeros = torch.zeros((out.shape[0], planes - out.shape[1]) + tuple(out.shape[2:]), dtype=out.dtype)
    return torch.cat([out, zeros], dim=1)


class _ResNet(nn.Module):
    """The part the three projects share: layer1..4 built as their _make_layer does."""

    def _make_layers(self, block, layers, widths, shortcut, strides, dilations, bias_downsample, act=None):
        for s in range(4):
            planes, stride, dil = widths[s], strides[s], dilations[s]
            downsample = None
            if stride != 1 or self.in_planes != planes * block.expansion:
                if shortcut == "A":
                    downsample = partial(downsample_basic_block, planes=planes * block.expansion, stride=stride)
                else:
                    downsample = nn.Sequential(
                        nn.Conv3d(self.in_planes, planes * block.expansion, 1, stride=stride, bias=bias_downsample),
                        nn.BatchNorm3d(planes * block.expansion))
            blocks = [block(self.in_planes, planes, stride, dil, downsample, act)]
            self.in_planes = planes * block.expansion
            blocks += [block(self.in_planes, planes, 1, dil, None, act) for _ in range(1, layers[s])]
            self.add_module("layer%d" % (s + 1), nn.Sequential(*blocks))

    def features(self, x):  # (N, C, D, H, W) -> (N, F)
        act = getattr(self, "relu", None) or self.act  # MONAI calls it act
        x = act(self.bn1(self.conv1(x)))
        if not getattr(self, "no_max_pool", False):
            x = self.maxpool(x)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return x.mean(dim=(2, 3, 4))


class MedicalNetResNet(_ResNet):
    """MedicalNet's ResNet: conv1 7^3/2/3 on 1 channel, max-pool, strides 1,2,1,1, dilation 2 and 4 in layer3/4,
    then the segmentation decoder conv_seg. (Upstream widths are 64..512; tests pass smaller ones for speed.)"""

    def __init__(self, block, layers, shortcut_type="B", num_seg_classes=2, widths=(64, 128, 256, 512)):
        super().__init__()
        self.in_planes = widths[0]
        self.conv1 = nn.Conv3d(1, widths[0], kernel_size=7, stride=(2, 2, 2), padding=(3, 3, 3), bias=False)
        self.bn1 = nn.BatchNorm3d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool3d(kernel_size=(3, 3, 3), stride=2, padding=1)
        self._make_layers(block, layers, widths, shortcut_type, (1, 2, 1, 1), (1, 1, 2, 4), False)
        self.conv_seg = nn.Sequential(
            nn.ConvTranspose3d(widths[3] * block.expansion, 32, 2, stride=2), nn.BatchNorm3d(32), nn.ReLU(inplace=True),
            nn.Conv3d(32, 32, kernel_size=3, stride=(1, 1, 1), padding=(1, 1, 1), bias=False), nn.BatchNorm3d(32),
            nn.ReLU(inplace=True), nn.Conv3d(32, num_seg_classes, kernel_size=1, stride=(1, 1, 1), bias=False))

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.conv_seg(self.layer4(self.layer3(self.layer2(self.layer1(x)))))


class HaraResNet(_ResNet):
    """Hara's ResNet: conv1 (t, 7, 7), stride (t_stride, 2, 2), padding (t // 2, 3, 3); strides 1,2,2,2; fc."""

    def __init__(self, block, layers, block_inplanes=(64, 128, 256, 512), n_input_channels=3, conv1_t_size=7,
                 conv1_t_stride=1, no_max_pool=False, shortcut_type="B", widen_factor=1.0, n_classes=400):
        super().__init__()
        widths = [int(x * widen_factor) for x in block_inplanes]
        self.in_planes = widths[0]
        self.no_max_pool = no_max_pool
        self.conv1 = nn.Conv3d(n_input_channels, self.in_planes, kernel_size=(conv1_t_size, 7, 7),
                               stride=(conv1_t_stride, 2, 2), padding=(conv1_t_size // 2, 3, 3), bias=False)
        self.bn1 = nn.BatchNorm3d(self.in_planes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool3d(kernel_size=3, stride=2, padding=1)
        self._make_layers(block, layers, widths, shortcut_type, (1, 2, 2, 2), (1, 1, 1, 1), False)
        self.avgpool = nn.AdaptiveAvgPool3d((1, 1, 1))
        self.fc = nn.Linear(widths[3] * block.expansion, n_classes)

    def forward(self, x):
        return self.fc(self.features(x))


class MonaiResNet(_ResNet):
    """MONAI's ResNet: conv1 k^3 stride conv1_t_stride (1), padding k // 2; strides 1,2,2,2; shortcut B with a bias
    by default (bias_downsample=True); fc unless feed_forward=False. Its activation module is ``act``."""

    def __init__(self, block, layers, block_inplanes=(64, 128, 256, 512), n_input_channels=3, conv1_t_size=7,
                 conv1_t_stride=1, no_max_pool=False, shortcut_type="B", widen_factor=1.0, num_classes=400,
                 feed_forward=True, bias_downsample=True):
        super().__init__()
        widths = [int(x * widen_factor) for x in block_inplanes]
        self.in_planes = widths[0]
        self.no_max_pool = no_max_pool
        k = (conv1_t_size,) * 3
        self.conv1 = nn.Conv3d(n_input_channels, self.in_planes, kernel_size=k, stride=(conv1_t_stride,) * 3,
                               padding=tuple(x // 2 for x in k), bias=False)
        self.bn1 = nn.BatchNorm3d(self.in_planes)
        self.act = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool3d(kernel_size=3, stride=2, padding=1)
        self._make_layers(block, layers, widths, shortcut_type, (1, 2, 2, 2), (1, 1, 1, 1), bias_downsample,
                          nn.ReLU(inplace=True))
        self.avgpool = nn.AdaptiveAvgPool3d((1, 1, 1))
        self.fc = nn.Linear(widths[3] * block.expansion, num_classes) if feed_forward else None

    def forward(self, x):
        f = self.features(x)
        return self.fc(f) if self.fc is not None else f
