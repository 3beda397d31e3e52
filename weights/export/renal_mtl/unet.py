"""Reference PyTorch U-Nets of nnU-Net v2 (FORMAT.md "Segmentation models"), written from the structure of
dynamic-network-architectures' ``PlainConvUNet`` and ``ResidualEncoderUNet`` (3-D, as nnU-Net's planners build
them: InstanceNorm3d(affine), LeakyReLU, strided-conv downsampling, transposed-conv upsampling).

The module nesting is DNA's, so ``state_dict()`` has exactly DNA's keys in DNA's order, aliases included, and a
real nnU-Net checkpoint's ``network_weights`` loads with ``strict=True``:

* every conv block (``ConvNormAct``) holds ``conv``, ``norm``, ``nonlin`` and again the same modules in
  ``all_modules`` (an ``nn.Sequential``), so each parameter appears twice (``….conv.weight`` and
  ``….all_modules.0.weight``);
* the decoder holds the encoder (``decoder.encoder.…``), so every encoder parameter appears twice more.

Forward (as DNA's): the encoder returns the output of every stage (skips; the last is the bottleneck); decoder
stage i upsamples the stage below with ``transpconvs[i]`` (kernel = stride), concatenates (upsampled, skip) in
that order on channels, runs its conv blocks; the output is ``seg_layers[-1]`` (1x1x1 conv with bias) on the
last decoder stage, or with ``deep_supervision`` every ``seg_layers[i]``, highest resolution first.

Network description: the ``network`` object of the segmentation config (FORMAT.md):
``class``, ``input_channels``, ``num_classes``, ``features_per_stage``, ``kernel_sizes``, ``strides``,
``n_conv_per_stage`` (blocks per stage for the residual encoder), ``n_conv_per_stage_decoder``, ``conv_bias``,
``norm`` {``eps``}, ``nonlin`` {``negative_slope``}; plus optional ``dropout_p`` (only to reproduce a checkpoint
built with ``nn.Dropout3d``: the dropout sits between conv and norm in ``all_modules`` and is the identity in
eval mode).
"""

import torch
from torch import nn

CLASSES = ("PlainConvUNet", "ResidualEncoderUNet")


def _pad(kernel):
    return [(k - 1) // 2 for k in kernel]


def _strided(stride):
    return any(s != 1 for s in stride)


class ConvNormAct(nn.Module):
    """DNA's ConvDropoutNormReLU: conv (same padding) [→ dropout] → InstanceNorm3d [→ LeakyReLU].

    ``act=False`` leaves the nonlinearity out (the second conv of a residual block and the skip projection)."""

    def __init__(self, cin, cout, kernel, stride, bias, eps, slope, act=True, dropout_p=None):
        super().__init__()
        kernel, stride = list(kernel), list(stride)
        self.stride = stride
        self.conv = nn.Conv3d(cin, cout, kernel, stride, padding=_pad(kernel), dilation=1, bias=bias)
        ops = [self.conv]
        if dropout_p is not None:
            self.dropout = nn.Dropout3d(p=dropout_p, inplace=False)
            ops.append(self.dropout)
        self.norm = nn.InstanceNorm3d(cout, eps=eps, affine=True)
        ops.append(self.norm)
        if act:
            self.nonlin = nn.LeakyReLU(negative_slope=slope, inplace=True)
            ops.append(self.nonlin)
        self.all_modules = nn.Sequential(*ops)

    def forward(self, x):
        return self.all_modules(x)


class StackedConvBlocks(nn.Module):
    """``convs``: n ConvNormAct, the first with the stage's stride."""

    def __init__(self, n, cin, cout, kernel, stride, bias, eps, slope, dropout_p=None):
        super().__init__()
        self.convs = nn.Sequential(*[
            ConvNormAct(cin if i == 0 else cout, cout, kernel, stride if i == 0 else [1, 1, 1], bias, eps, slope,
                        dropout_p=dropout_p)
            for i in range(n)])

    def forward(self, x):
        return self.convs(x)


class PlainConvEncoder(nn.Module):
    """``stages.{s}``: an ``nn.Sequential`` holding one StackedConvBlocks (hence ``stages.{s}.0.convs.{c}``)."""

    def __init__(self, net):
        super().__init__()
        cin = net["input_channels"]
        stages = []
        for s, f in enumerate(net["features_per_stage"]):
            stages.append(nn.Sequential(StackedConvBlocks(
                net["n_conv_per_stage"][s], cin, f, net["kernel_sizes"][s], net["strides"][s], net["conv_bias"],
                net["norm"]["eps"], net["nonlin"]["negative_slope"], net.get("dropout_p"))))
            cin = f
        self.stages = nn.Sequential(*stages)
        self.output_channels = list(net["features_per_stage"])
        self.strides = [list(s) for s in net["strides"]]
        self.kernel_sizes = [list(k) for k in net["kernel_sizes"]]

    def forward(self, x):
        skips = []
        for stage in self.stages:
            x = stage(x)
            skips.append(x)
        return skips


class BasicBlockD(nn.Module):
    """DNA's BasicBlockD (ResNet-D): conv1 (stride, act) → conv2 (no act) → + skip → LeakyReLU.

    ``skip`` exists when the block strides or changes width: [AvgPool3d(kernel = stride = stride) if strided]
    then [ConvNormAct 1x1x1, no bias, no act, if the width changes]; otherwise the identity (no module)."""

    def __init__(self, cin, cout, kernel, stride, bias, eps, slope, dropout_p=None):
        super().__init__()
        self.conv1 = ConvNormAct(cin, cout, kernel, stride, bias, eps, slope, dropout_p=dropout_p)
        self.conv2 = ConvNormAct(cout, cout, kernel, [1, 1, 1], bias, eps, slope, act=False)
        self.nonlin2 = nn.LeakyReLU(negative_slope=slope, inplace=True)
        ops = []
        if _strided(stride):
            ops.append(nn.AvgPool3d(list(stride), list(stride)))
        if cin != cout:
            ops.append(ConvNormAct(cin, cout, [1, 1, 1], [1, 1, 1], False, eps, slope, act=False))
        self.skip = nn.Sequential(*ops) if ops else None

    def forward(self, x):
        residual = x if self.skip is None else self.skip(x)
        out = self.conv2(self.conv1(x))
        out += residual
        return self.nonlin2(out)


class StackedResidualBlocks(nn.Module):
    def __init__(self, n, cin, cout, kernel, stride, bias, eps, slope, dropout_p=None):
        super().__init__()
        self.blocks = nn.Sequential(*[
            BasicBlockD(cin if i == 0 else cout, cout, kernel, stride if i == 0 else [1, 1, 1], bias, eps, slope,
                        dropout_p)
            for i in range(n)])

    def forward(self, x):
        return self.blocks(x)


class ResidualEncoder(nn.Module):
    """``stem``: StackedConvBlocks of one conv (stage 0's kernel, stride 1, width features[0]);
    ``stages.{s}``: StackedResidualBlocks (``stages.{s}.blocks.{b}``)."""

    def __init__(self, net):
        super().__init__()
        bias, eps, slope = net["conv_bias"], net["norm"]["eps"], net["nonlin"]["negative_slope"]
        feats = net["features_per_stage"]
        self.stem = StackedConvBlocks(1, net["input_channels"], feats[0], net["kernel_sizes"][0], [1, 1, 1], bias,
                                      eps, slope, net.get("dropout_p"))
        cin = feats[0]
        stages = []
        for s, f in enumerate(feats):
            stages.append(StackedResidualBlocks(net["n_conv_per_stage"][s], cin, f, net["kernel_sizes"][s],
                                                net["strides"][s], bias, eps, slope, net.get("dropout_p")))
            cin = f
        self.stages = nn.Sequential(*stages)
        self.output_channels = list(feats)
        self.strides = [list(s) for s in net["strides"]]
        self.kernel_sizes = [list(k) for k in net["kernel_sizes"]]

    def forward(self, x):
        x = self.stem(x)
        skips = []
        for stage in self.stages:
            x = stage(x)
            skips.append(x)
        return skips


class UNetDecoder(nn.Module):
    """Decoder stage i (0 = lowest resolution) serves encoder stage n-2-i. Registers ``encoder`` first (the alias
    keys), then ``stages``, ``transpconvs``, ``seg_layers`` (one per decoder stage; only the last is used at
    inference, the others are deep-supervision heads kept so that checkpoints load)."""

    def __init__(self, encoder, net, deep_supervision=False):
        super().__init__()
        self.deep_supervision = deep_supervision
        self.encoder = encoder
        bias, eps, slope = net["conv_bias"], net["norm"]["eps"], net["nonlin"]["negative_slope"]
        ch, strides, kernels = encoder.output_channels, encoder.strides, encoder.kernel_sizes
        n = len(ch)
        stages, transpconvs, seg_layers = [], [], []
        for s in range(1, n):
            below, skip = ch[-s], ch[-(s + 1)]
            transpconvs.append(nn.ConvTranspose3d(below, skip, strides[-s], strides[-s], bias=bias))
            stages.append(StackedConvBlocks(net["n_conv_per_stage_decoder"][s - 1], 2 * skip, skip,
                                            kernels[-(s + 1)], [1, 1, 1], bias, eps, slope, net.get("dropout_p")))
            seg_layers.append(nn.Conv3d(skip, net["num_classes"], 1, 1, 0, bias=True))
        self.stages = nn.ModuleList(stages)
        self.transpconvs = nn.ModuleList(transpconvs)
        self.seg_layers = nn.ModuleList(seg_layers)

    def forward(self, skips):
        x = skips[-1]
        outputs = []
        for i, stage in enumerate(self.stages):
            x = self.transpconvs[i](x)
            x = torch.cat((x, skips[-(i + 2)]), 1)
            x = stage(x)
            if self.deep_supervision:
                outputs.append(self.seg_layers[i](x))
            elif i == len(self.stages) - 1:
                outputs.append(self.seg_layers[-1](x))
        outputs = outputs[::-1]
        return outputs if self.deep_supervision else outputs[0]


class SegUNet(nn.Module):
    """PlainConvUNet or ResidualEncoderUNet from a FORMAT.md ``network`` object. ``network`` is kept as given."""

    def __init__(self, net, deep_supervision=False):
        super().__init__()
        if net["class"] not in CLASSES:
            raise ValueError("unsupported network class %r (supported: %s)" % (net["class"], ", ".join(CLASSES)))
        self.network = net
        self.encoder = PlainConvEncoder(net) if net["class"] == "PlainConvUNet" else ResidualEncoder(net)
        self.decoder = UNetDecoder(self.encoder, net, deep_supervision)

    def forward(self, x):
        return self.decoder(self.encoder(x))


def is_alias(key):
    """True for a state_dict key that repeats a parameter under another name (FORMAT.md drops these)."""
    return key.startswith("decoder.encoder.") or ".all_modules." in key


def inference_tensors(state, num_seg_layers):
    """FORMAT.md tensors of a DNA state dict: aliases removed, only the last ``decoder.seg_layers`` kept."""
    last = "decoder.seg_layers.%d." % (num_seg_layers - 1)
    return {k: v for k, v in state.items()
            if not is_alias(k) and (not k.startswith("decoder.seg_layers.") or k.startswith(last))}


def expected_shapes(net):
    """{tensor name: shape} that FORMAT.md requires for a ``network`` object (no aliases, last seg layer)."""
    model = SegUNet(net)
    n = len(net["features_per_stage"]) - 1
    return {k: tuple(v.shape) for k, v in inference_tensors(model.state_dict(), n).items()}
