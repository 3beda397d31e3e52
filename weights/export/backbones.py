"""3D ResNet backbones: what the weights tell, what only the training code knows, and the projects' presets.

The weights tell the depth (blocks per stage, Bottleneck or not), the widths, the input channels, the stem
kernel, the shortcut type wherever a block changes width (B has ``downsample.0`` tensors, A has none) and
MONAI's ``downsample.0.bias``. They do not tell the stem stride and padding, the max-pool, the stage strides
or the dilations: those come from a preset (``--preset``), or from the config, and a checkpoint that shows
which project made it is checked against that project's fixed geometry.

Presets, as the projects build their ResNets (read at these commits):

* MedicalNet, Tencent/MedicalNet ``models/resnet.py`` (2d880ef, the only version; HEAD 20f76aa): conv1 7^3,
  stride 2, padding 3, 1 input channel, max-pool 3/2/1; layer strides 1, 2, 1, 1 with dilation 2 in layer3 and
  4 in layer4 (padding = dilation); ``resnet_shortcut`` default B (``setting.py``), and the README's pretrained
  models: resnet_10 B, resnet_18 A, resnet_34 A, resnet_50 B. A segmentation decoder ``conv_seg``.
* Hara, kenshohara/3D-ResNets-PyTorch ``models/resnet.py`` (b2d4a80; HEAD 540a0ea): conv1 kernel
  (conv1_t_size, 7, 7) = 7^3 by default, stride (conv1_t_stride, 2, 2) = (1, 2, 2), padding (t // 2, 3, 3),
  max-pool unless ``--no_max_pool``; strides 1, 2, 2, 2; shortcut B (``--resnet_shortcut``), conv without bias;
  ``fc``. main.py saves ``{'epoch', 'arch': 'resnet-18', 'state_dict', 'optimizer', 'scheduler'}``.
* MONAI, Project-MONAI/MONAI ``monai/networks/nets/resnet.py`` (7c26e5a; HEAD d388d1c): conv1 7^3 stride 1
  (``conv1_t_size``, ``conv1_t_stride``), padding k // 2, max-pool unless ``no_max_pool``; strides 1, 2, 2, 2;
  shortcut B with ``bias_downsample=True`` by default; ``fc`` unless ``feed_forward=False``.
"""

import re

FLAVOURS = ("medicalnet", "hara", "monai")
PROJECTS = {"medicalnet": "MedicalNet's", "hara": "Hara's 3D-ResNets'", "monai": "MONAI's"}
DEPTHS = {((1, 1, 1, 1), False): 10, ((2, 2, 2, 2), False): 18, ((3, 4, 6, 3), False): 34, ((3, 4, 6, 3), True): 50}
OTHER_DEPTHS = {(3, 4, 23, 3): 101, (3, 8, 36, 3): 152, (3, 24, 36, 3): 200}


def _preset(flavour, depth):
    geometry = {
        "medicalnet": dict(stem={"kernel": [7, 7, 7], "stride": [2, 2, 2], "padding": [3, 3, 3], "max_pool": True},
                           strides=[1, 2, 1, 1], dilations=[1, 1, 2, 4], shortcut="B" if depth in (10, 50) else "A",
                           downsample_bias=False),
        "hara": dict(stem={"kernel": [7, 7, 7], "stride": [1, 2, 2], "padding": [3, 3, 3], "max_pool": True},
                     strides=[1, 2, 2, 2], dilations=[1, 1, 1, 1], shortcut="B", downsample_bias=False),
        "monai": dict(stem={"kernel": [7, 7, 7], "stride": [1, 1, 1], "padding": [3, 3, 3], "max_pool": True},
                      strides=[1, 2, 2, 2], dilations=[1, 1, 1, 1], shortcut="B", downsample_bias=True),
    }[flavour]
    return dict(geometry, depth=depth, flavour=flavour)


PRESETS = {"%s-r%d" % (f, d): _preset(f, d) for f in FLAVOURS for d in (10, 18, 34, 50)}


def apply_preset(backbone, name):
    """The backbone dict with a preset's depth, flavour and geometry (widths and in_channels kept)."""
    p = PRESETS[name]
    out = dict(backbone)
    out.update({k: (dict(v) if isinstance(v, dict) else list(v) if isinstance(v, list) else v) for k, v in p.items()})
    return out


def infer(sub):
    """What a backbone's weights (keys relative to its prefix) tell: a dict of config fields, and problems."""
    found, problems = {}, []
    w = sub.get("conv1.weight")
    if w is None or w.dim() != 5:
        return found, ["no 5-D conv1.weight"]
    if "bn1.weight" in sub and "bn1.running_mean" not in sub:
        return found, ["bn1 has no running statistics (MONAI's norm='instance' or 'group'?): the engine's ResNets "
                       "use BatchNorm"]
    found["in_channels"] = int(w.shape[1])
    found["stem_kernel"] = [int(k) for k in w.shape[2:]]
    blocks = tuple(_count(sub, r"^layer%d\.(\d+)\.conv1\.weight$" % s) for s in range(1, 5))
    bottleneck = "layer1.0.conv3.weight" in sub
    depth = DEPTHS.get((blocks, bottleneck))
    if depth is None:
        name = "ResNet-%d" % OTHER_DEPTHS[blocks] if blocks in OTHER_DEPTHS and bottleneck else \
            "a ResNet with %s blocks per stage%s" % (list(blocks), " (Bottleneck)" if bottleneck else "")
        problems.append("%s: the engine runs ResNet-10, 18, 34 and 50" % name)
        return found, problems
    found["depth"] = depth
    found["widths"] = [int(sub["layer%d.0.conv1.weight" % s].shape[0]) for s in range(1, 5)]
    exp = 4 if bottleneck else 1
    ins = [int(w.shape[0])] + [x * exp for x in found["widths"][:3]]
    changes_width = any(i != x * exp for i, x in zip(ins, found["widths"]))
    if any(".downsample.0.weight" in k for k in sub):
        found["shortcut"] = "B"
    elif changes_width:
        found["shortcut"] = "A"  # a block changes width and has no downsample conv: zero-padding
    found["downsample_bias"] = any(k.endswith(".downsample.0.bias") for k in sub)
    return found, problems


def _count(sub, pattern):
    found = {int(m.group(1)) for m in (re.match(pattern, k) for k in sub) if m}
    return max(found) + 1 if found else 0


def evidence(sub, meta):
    """(flavour, why) when the checkpoint shows which project made the backbone, else None."""
    if any(k.startswith("conv_seg.") for k in sub) or "ecpoch" in meta.get("top_keys", ()):
        return "medicalnet", "conv_seg keys" if any(k.startswith("conv_seg.") for k in sub) else \
            "MedicalNet's train.py checkpoint ('ecpoch')"
    if isinstance(meta.get("arch"), str):
        return "hara", "arch %r" % meta["arch"]
    if any(k.endswith(".downsample.0.bias") for k in sub):
        return "monai", "downsample.0.bias (MONAI's bias_downsample)"
    return None


def hara_depth(arch):
    """The depth named by Hara's ``arch`` ('resnet-18'), or None for another of its models."""
    m = re.fullmatch(r"resnet-(\d+)", arch)
    return int(m.group(1)) if m else None


def contradictions(flavour, bb):
    """What in the backbone dict bb differs from the geometry project flavour always uses."""
    stem, out = bb["stem"], []

    def want(what, have, should):
        if list(have) != list(should):
            out.append("%s %s (%s %s)" % (what, have, PROJECTS[flavour], should))

    if flavour == "medicalnet":
        for k in ("kernel", "stride", "padding"):
            want("stem " + k, stem[k], PRESETS["medicalnet-r18"]["stem"][k])
        want("stem max_pool", [stem["max_pool"]], [True])
        want("strides", bb["strides"], [1, 2, 1, 1])
        want("dilations", bb["dilations"], [1, 1, 2, 4])
    else:
        want("strides", bb["strides"], [1, 2, 2, 2])
        want("dilations", bb["dilations"], [1, 1, 1, 1])
        want("stem padding", stem["padding"], [k // 2 for k in stem["kernel"]])
        if flavour == "hara":
            want("stem kernel (h, w)", stem["kernel"][1:], [7, 7])
            want("stem stride (h, w)", stem["stride"][1:], [2, 2])
    return out


def default_differences(flavour, bb):
    """What in bb differs from the defaults of a project's configurable stem (Hara's conv1_t_size / conv1_t_stride /
    no_max_pool, MONAI's conv1_t_size / conv1_t_stride / no_max_pool): worth a warning, not an error."""
    if flavour == "medicalnet":
        return []
    p, stem, out = PRESETS["%s-r18" % flavour]["stem"], bb["stem"], []
    for k in ("kernel", "stride"):
        if stem[k] != p[k]:
            out.append("stem %s %s (default %s)" % (k, stem[k], p[k]))
    if stem["max_pool"] != p["max_pool"]:
        out.append("no max-pool (default: max-pool)")
    return out


def describe(bb):
    """One line of a backbone's geometry, for the note that says what was assumed."""
    stem = bb["stem"]
    return ("ResNet-%d widths %s, %d input channel(s), shortcut %s%s; stem kernel %s stride %s padding %s%s; "
            "stage strides %s, dilations %s" % (
                bb["depth"], bb["widths"], bb["in_channels"], bb["shortcut"],
                " with bias" if bb.get("downsample_bias") else "", stem["kernel"], stem["stride"], stem["padding"],
                " + max-pool" if stem["max_pool"] else ", no max-pool", bb["strides"], bb["dilations"]))
