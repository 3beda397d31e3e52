"""The config schema (weights/FORMAT.md): its constants and :func:`validate`, which checks a config the way the
Java reader does (before any tensor is built) and raises :class:`ConfigError` listing every problem at once."""

FORMAT = "renal-mtl-weights"
#: the newest version this exporter writes; a file gets the lowest version that holds its config
#: (config.settle_version), so that a model without version-2 fields stays readable by version-1 readers
FORMAT_VERSION = 2
FORMAT_VERSIONS = (1, 2)

#: blocks per stage for each supported depth (FORMAT.md "Backbone")
BLOCKS = {10: (1, 1, 1, 1), 18: (2, 2, 2, 2), 34: (3, 4, 6, 3), 50: (3, 4, 6, 3)}

FUSIONS = ("batch", "channels", "separate")
SHORTCUTS = ("A", "B")
FLAVOURS = ("medicalnet", "hara", "monai")
#: hidden-layer activations of a head (version 2; version 1 heads are ReLU): PyTorch's F.relu,
#: F.leaky_relu(negative_slope), torch.sigmoid, torch.tanh
ACTIVATIONS = ("relu", "leaky_relu", "sigmoid", "tanh")
LEAKY_RELU_SLOPE = 0.01  # torch.nn.LeakyReLU's default negative_slope


class ConfigError(ValueError):
    """A config that does not describe a valid model; the message lists every problem."""


def version2_fields(head):
    """Where a head uses a version-2 field (empty for a version-1 head)."""
    out = [k for k in ("activation", "negative_slope") if k in head]
    if head.get("type") == "ple":
        eh = head.get("expert_hidden")
        if isinstance(eh, list) and eh and isinstance(eh[0], list):
            out.append("expert_hidden per level")
        if isinstance(head.get("gate"), dict) and "hidden_bn" in head["gate"]:
            out.append("gate.hidden_bn")
    return out


def _int_list(problems, where, value, length=None, minimum=1):
    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        problems.append("%s must be a list of integers, got %r" % (where, value))
        return False
    if length is not None and len(value) != length:
        problems.append("%s must have %d entries, got %d" % (where, length, len(value)))
        return False
    if any(v < minimum for v in value):
        problems.append("%s entries must be >= %d, got %r" % (where, minimum, value))
        return False
    return True


def _bool(problems, where, value):
    if not isinstance(value, bool):
        problems.append("%s must be true or false, got %r" % (where, value))


def _validate_backbone(problems, where, b, fusion, n_phases):
    if not isinstance(b, dict):
        problems.append("%s must be an object" % where)
        return
    if b.get("type") != "resnet3d":
        problems.append("%s.type must be \"resnet3d\", got %r" % (where, b.get("type")))
    if b.get("depth") not in BLOCKS:
        problems.append("%s.depth must be one of %s, got %r" % (where, sorted(BLOCKS), b.get("depth")))
    if "flavour" in b and b["flavour"] not in FLAVOURS:
        problems.append("%s.flavour must be one of %s, got %r" % (where, FLAVOURS, b["flavour"]))
    cin = b.get("in_channels")
    if not isinstance(cin, int) or isinstance(cin, bool) or cin < 1:
        problems.append("%s.in_channels must be a positive integer, got %r" % (where, cin))
    else:
        want = n_phases if fusion == "channels" else 1
        if cin != want:
            problems.append("%s.in_channels is %d but fusion %r needs %d" % (where, cin, fusion, want))
    _int_list(problems, where + ".widths", b.get("widths"), 4)
    stem = b.get("stem")
    if not isinstance(stem, dict):
        problems.append("%s.stem must be an object" % where)
    else:
        _int_list(problems, where + ".stem.kernel", stem.get("kernel"), 3)
        _int_list(problems, where + ".stem.stride", stem.get("stride"), 3)
        _int_list(problems, where + ".stem.padding", stem.get("padding"), 3, minimum=0)
        _bool(problems, where + ".stem.max_pool", stem.get("max_pool"))
    _int_list(problems, where + ".strides", b.get("strides"), 4)
    _int_list(problems, where + ".dilations", b.get("dilations"), 4)
    if b.get("shortcut") not in SHORTCUTS:
        problems.append("%s.shortcut must be \"A\" or \"B\", got %r" % (where, b.get("shortcut")))
    _bool(problems, where + ".downsample_bias", b.get("downsample_bias"))
    if b.get("shortcut") == "A" and b.get("downsample_bias") is True:
        problems.append("%s.downsample_bias needs shortcut B (shortcut A has no weights)" % where)


def _validate_activation(problems, where, h):
    kind = h.get("activation", "relu")
    if kind not in ACTIVATIONS:
        problems.append("%s.activation must be one of %s, got %r" % (where, ", ".join(ACTIVATIONS), kind))
    if "negative_slope" in h:
        v = h["negative_slope"]
        if kind != "leaky_relu":
            problems.append("%s.negative_slope belongs to activation leaky_relu, the head's is %r" % (where, kind))
        elif not isinstance(v, (int, float)) or isinstance(v, bool) or not abs(v) <= 1e3:
            problems.append("%s.negative_slope must be a number within +-1000, got %r" % (where, v))


def _validate_expert_hidden(problems, where, eh, levels):
    if isinstance(eh, list) and eh and isinstance(eh[0], list):
        if isinstance(levels, int) and len(eh) != levels:
            problems.append("%s.expert_hidden per level must have one list per level (%r), got %d"
                            % (where, levels, len(eh)))
        for j, w in enumerate(eh):
            if _int_list(problems, "%s.expert_hidden[%d]" % (where, j), w) and not w:
                problems.append("%s.expert_hidden[%d] must not be empty" % (where, j))
    elif _int_list(problems, where + ".expert_hidden", eh) and not eh:
        problems.append("%s.expert_hidden must not be empty" % where)


def _validate_head(problems, where, h, n_tasks, version):
    if not isinstance(h, dict):
        problems.append("%s must be an object" % where)
        return
    kind = h.get("type")
    _validate_activation(problems, where, h)
    if kind == "mlp":
        if n_tasks != 1:
            problems.append("%s: an mlp head predicts exactly one task, the network names %d" % (where, n_tasks))
        _int_list(problems, where + ".hidden", h.get("hidden"))
        _bool(problems, where + ".bn", h.get("bn"))
        _bool(problems, where + ".bias", h.get("bias"))
    elif kind == "ple":
        for k in ("levels", "task_experts", "shared_experts"):
            v = h.get(k)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                problems.append("%s.%s must be a positive integer, got %r" % (where, k, v))
        _validate_expert_hidden(problems, where, h.get("expert_hidden"), h.get("levels"))
        _bool(problems, where + ".expert_bn", h.get("expert_bn"))
        gate, tower = h.get("gate"), h.get("tower")
        if not isinstance(gate, dict):
            problems.append("%s.gate must be an object" % where)
        else:
            _int_list(problems, where + ".gate.hidden", gate.get("hidden"))
            _bool(problems, where + ".gate.bias", gate.get("bias"))
            _bool(problems, where + ".gate.bn", gate.get("bn"))
            if "hidden_bn" in gate:
                _bool(problems, where + ".gate.hidden_bn", gate["hidden_bn"])
        if not isinstance(tower, dict):
            problems.append("%s.tower must be an object" % where)
        else:
            _int_list(problems, where + ".tower.hidden", tower.get("hidden"))
            _bool(problems, where + ".tower.bn", tower.get("bn"))
            _bool(problems, where + ".tower.bias", tower.get("bias"))
    else:
        problems.append("%s.type must be \"ple\" or \"mlp\", got %r" % (where, kind))
    if version == 1 and version2_fields(h):
        problems.append("%s uses %s, which need format_version 2" % (where, ", ".join(version2_fields(h))))


def validate(cfg):
    """Check a config for consistency; raise :class:`ConfigError` naming every problem."""
    p = []
    if not isinstance(cfg, dict):
        raise ConfigError("config must be a JSON object")
    if cfg.get("format") != FORMAT:
        p.append("format must be %r, got %r" % (FORMAT, cfg.get("format")))
    version = cfg.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version not in FORMAT_VERSIONS:
        p.append("format_version %r is not supported (this exporter reads versions %s)"
                 % (version, " and ".join(map(str, FORMAT_VERSIONS))))
    phases = cfg.get("phases")
    if not isinstance(phases, list) or not phases or not all(isinstance(x, str) for x in phases):
        p.append("phases must be a non-empty list of names")
        phases = []
    elif len(set(phases)) != len(phases):
        p.append("phases has duplicates: %r" % phases)
    tasks = cfg.get("tasks")
    task_names = []
    if not isinstance(tasks, list) or not tasks:
        p.append("tasks must be a non-empty list")
    else:
        for i, t in enumerate(tasks):
            if not isinstance(t, dict) or not isinstance(t.get("name"), str) or not t.get("name"):
                p.append("tasks[%d] needs a name" % i)
                continue
            task_names.append(t["name"])
            th = t.get("threshold", 0.5)
            if not isinstance(th, (int, float)) or isinstance(th, bool) or not 0.0 <= th <= 1.0:
                p.append("tasks[%d].threshold must be in [0, 1], got %r" % (i, th))
        if len(set(task_names)) != len(task_names):
            p.append("tasks has duplicate names: %r" % task_names)
    inp = cfg.get("input")
    if not isinstance(inp, dict):
        p.append("input must be an object")
    else:
        _int_list(p, "input.size", inp.get("size"), 3)
        sp = inp.get("spacing_mm")
        if not isinstance(sp, list) or len(sp) != 3 or not all(isinstance(v, (int, float)) and v > 0 for v in sp):
            p.append("input.spacing_mm must be 3 positive numbers, got %r" % (sp,))
    pre = cfg.get("preprocessing")
    if not isinstance(pre, dict):
        p.append("preprocessing must be an object")
    else:
        hw = pre.get("hu_window")
        if not isinstance(hw, list) or len(hw) != 2 or not all(isinstance(v, (int, float)) for v in hw) \
                or not hw[0] < hw[1]:
            p.append("preprocessing.hu_window must be [low, high] with low < high, got %r" % (hw,))
        norm = pre.get("normalisation")
        if norm == "zscore":
            if not isinstance(pre.get("std"), (int, float)) or not pre.get("std") > 0 \
                    or not isinstance(pre.get("mean"), (int, float)):
                p.append("preprocessing: zscore needs a number mean and a positive std")
        elif norm != "window":
            p.append("preprocessing.normalisation must be \"zscore\" or \"window\", got %r" % (norm,))
    nets = cfg.get("networks")
    predicted = {}
    if not isinstance(nets, list) or not nets:
        p.append("networks must be a non-empty list")
        nets = []
    prefixes, names = [], []
    for i, n in enumerate(nets):
        where = "networks[%d]" % i
        if not isinstance(n, dict):
            p.append(where + " must be an object")
            continue
        names.append(n.get("name"))
        prefix = n.get("prefix")
        if not isinstance(prefix, str) or (prefix and not prefix.endswith(".")):
            p.append("%s.prefix must be \"\" or end with \".\", got %r" % (where, prefix))
        else:
            segs = prefix[:-1].split(".") if prefix else []
            for s in segs:
                if not s.isidentifier() or s in ("backbone", "backbones", "head"):
                    p.append("%s.prefix %r: segment %r is not usable (identifier, not backbone/backbones/head)"
                             % (where, prefix, s))
            prefixes.append(prefix)
        ntasks = n.get("tasks")
        if not isinstance(ntasks, list) or not ntasks:
            p.append(where + ".tasks must be a non-empty list")
            ntasks = []
        for t in ntasks:
            if t not in task_names:
                p.append("%s names task %r that is not in tasks" % (where, t))
            predicted.setdefault(t, []).append(i)
        fusion = n.get("fusion")
        if fusion not in FUSIONS:
            p.append("%s.fusion must be one of %s, got %r" % (where, FUSIONS, fusion))
        _validate_backbone(p, where + ".backbone", n.get("backbone"), fusion, len(phases))
        _validate_head(p, where + ".head", n.get("head"), len(ntasks), version)
    if len(set(names)) != len(names):
        p.append("network names must be unique: %r" % names)
    if len(set(prefixes)) != len(prefixes):
        p.append("network prefixes must be unique: %r" % prefixes)
    for t in task_names:
        if len(predicted.get(t, [])) != 1:
            p.append("task %r must be predicted by exactly one network, is by %d" % (t, len(predicted.get(t, []))))
    if p:
        raise ConfigError("invalid config: " + "; ".join(p))
    return cfg
