"""Foreign PLE heads onto FORMAT.md names: DeepCTR-Torch, easezyc (current and first layout), renal-mtl's own.

Each mapper reads one head's keys (relative to its prefix) and returns a :class:`HeadMapping`: the FORMAT
tensors (relative to ``head.``), the head config read from the shapes, the source keys it handled, those it
dropped because the original forward never uses them, and problems (kinds of problems.py). The layouts, as
the upstream sources build them:

* DeepCTR-Torch ``deepctr_torch/models/multitask/ple.py`` at commit f685425 (2022-10-21, unchanged since
  19e09e4): every expert and gate-DNN list comes from ``multi_module_list(levels, tasks, n, ...)``, so the
  shared experts (a one-"task" list) and the task-gate DNNs (one DNN per task) carry an extra ``.0.``:
  ``shared_experts.{l}.0.{e}.linears.{i}``, ``specific_gate_dnn.{l}.{t}.0.linears.{i}``; the shared-gate DNN
  is a plain list, ``shared_gate_dnn.{l}.linears.{i}``. ``specific_expert_num`` shared experts are built but
  only the first ``shared_expert_num`` are used (read here from the task gates' width). ``DNN``
  (``layers/core.py``) is Linear -> [BatchNorm1d ``bn.{i}``] -> ``activation_layers.{i}``: PReLU and Dice
  leave tensors there (refused by name); sigmoid, tanh and leaky ReLU leave none (the config's
  ``activation``, a pickled module or ``--module`` tells them).
* easezyc Multitask-Recommendation-Library ``models/ple.py``, current layout (b242f71 .. 52a5aa1, 2022):
  ``task_experts.{l}.{t}.{e}.mlp``, ``share_experts.{l}.{e}.mlp``, ``task_gates.{l}.{t}.0``,
  ``share_gates.{l}.0``, ``tower.{t}.mlp``; the first layout (ee2427f, 2022-03-06): ``expert.{l}.{k}.mlp``
  (task-major, then shared) and ``gate.{l}.{j}.0`` (task gates, then the shared gate). Experts are one
  ``MultiLayerPerceptron`` (``models/layers.py``: Linear, BatchNorm1d, ReLU, Dropout) of width
  ``bottom_mlp_dims[l]`` per level. The model embeds its input first, ``emb = cat(embedding(categorical),
  numerical_layer(numerical))``: with no categorical field that is one Linear, folded here into every
  level-0 Linear that reads it.
"""

import re

import torch

BN = "(weight|bias|running_mean|running_var)"

#: marker key (relative to a head prefix) -> layout name
MARKERS = (
    ("specific_experts.0.0.0.linears.0.weight", "deepctr"),
    ("task_experts.0.0.0.mlp.0.weight", "easezyc"),
    ("expert.0.0.mlp.0.weight", "easezyc-first"),
    ("levels.0.task_experts.0.0.layers.0.weight", "renal-mtl"),
)

LAYOUT_NAMES = {"deepctr": "DeepCTR-Torch PLE", "easezyc": "easezyc PLE (current layout)",
                "easezyc-first": "easezyc PLE (first layout)", "renal-mtl": "renal-mtl"}


class HeadMapping:
    """One foreign head mapped onto FORMAT names (relative to ``head.``)."""

    def __init__(self):
        self.tensors = {}   # FORMAT name under head. -> tensor
        self.sources = {}   # FORMAT name under head. -> the source key it came from
        self.claimed = set()  # source keys (relative to the head prefix) handled: mapped or dropped
        self.dropped = []   # (source key, why): not used by the original forward
        self.problems = []  # (kind, item)
        self.config = None
        self.n_tasks = None
        self.folded_input = None  # numerical_num of an easezyc input layer folded into level 0, else None

    def put(self, dst, key, sub):
        self.tensors[dst] = sub[key]
        self.sources[dst] = key
        self.claimed.add(key)

    def drop(self, key, why):
        self.claimed.add(key)
        self.dropped.append((key, why))


def detect(state, prefix=None):
    """Sorted (prefix, layout) of the PLE heads in state, or of the head under the given prefix."""
    found = set()
    for k in state:
        for marker, layout in MARKERS:
            if k.endswith(marker) and (prefix is None or k[:-len(marker)] == prefix):
                found.add((k[:-len(marker)], layout))
    return sorted(found)


def count(keys, pattern):
    """1 + the largest value of the first group of pattern over keys (indices 0..n-1 expected), or 0."""
    found = {int(m.group(1)) for m in (re.match(pattern, k) for k in keys) if m}
    return max(found) + 1 if found else 0


def widths(sub, pattern):
    """Output widths of the Linear layers pattern.format(i), i = 0, 1, ... while present."""
    out, i = [], 0
    while pattern.format(i) in sub:
        out.append(int(sub[pattern.format(i)].shape[0]))
        i += 1
    return out


# ------------------------------------------------------------------------------------------ DeepCTR-Torch

def _deepctr_activation_keys(r, keys):
    """PReLU (``activation_layers.{i}.weight``) and Dice (``.alpha``, ``.bn.*``) are refused by name."""
    kinds = {}
    for k in keys:
        m = re.match(r"^(.*)\.activation_layers\.\d+\.(.+)$", k)
        if m:
            kinds.setdefault("PReLU (dnn_activation='prelu')" if m.group(2) == "weight" else
                             "Dice (dnn_activation='dice')", []).append(k)
            r.claimed.add(k)
    for name, ks in sorted(kinds.items()):
        r.problems.append(("activation", "%s in %d layers, e.g. %s" % (name, len(ks), ks[0])))


def map_deepctr(sub):
    r = HeadMapping()
    keys = list(sub)
    _deepctr_activation_keys(r, keys)
    levels = count(keys, r"^specific_experts\.(\d+)\.")
    r.n_tasks = count(keys, r"^specific_experts\.0\.(\d+)\.")
    m = count(keys, r"^specific_experts\.0\.0\.(\d+)\.")
    built = count(keys, r"^shared_experts\.0\.0\.(\d+)\.")
    gate0 = sub.get("specific_gate_dnn_final_layer.0.0.weight")
    s = int(gate0.shape[0]) - m if gate0 is not None else built
    if not 0 <= s <= built:
        r.problems.append(("structure", "DeepCTR task gates mix %d experts but %d task and %d shared experts are built"
                           % (s + m, m, built)))
    rules = [
        (r"^specific_experts\.(\d+)\.(\d+)\.(\d+)\.linears\.(\d+)\.(weight|bias)$",
         "levels.{0}.task_experts.{1}.{2}.layers.{3}.{4}"),
        (r"^specific_experts\.(\d+)\.(\d+)\.(\d+)\.bn\.(\d+)\.%s$" % BN,
         "levels.{0}.task_experts.{1}.{2}.norms.{3}.{4}"),
        (r"^shared_experts\.(\d+)\.0\.(\d+)\.linears\.(\d+)\.(weight|bias)$",
         "levels.{0}.shared_experts.{1}.layers.{2}.{3}"),
        (r"^shared_experts\.(\d+)\.0\.(\d+)\.bn\.(\d+)\.%s$" % BN, "levels.{0}.shared_experts.{1}.norms.{2}.{3}"),
        (r"^specific_gate_dnn\.(\d+)\.(\d+)\.0\.linears\.(\d+)\.(weight|bias)$",
         "levels.{0}.task_gates.{1}.hidden.{2}.{3}"),
        (r"^specific_gate_dnn\.(\d+)\.(\d+)\.0\.bn\.(\d+)\.%s$" % BN, "levels.{0}.task_gates.{1}.norms.{2}.{3}"),
        (r"^specific_gate_dnn_final_layer\.(\d+)\.(\d+)\.weight$", "levels.{0}.task_gates.{1}.out.weight"),
        (r"^shared_gate_dnn\.(\d+)\.linears\.(\d+)\.(weight|bias)$", "levels.{0}.shared_gate.hidden.{1}.{2}"),
        (r"^shared_gate_dnn\.(\d+)\.bn\.(\d+)\.%s$" % BN, "levels.{0}.shared_gate.norms.{1}.{2}"),
        (r"^shared_gate_dnn_final_layer\.(\d+)\.weight$", "levels.{0}.shared_gate.out.weight"),
        (r"^tower_dnn\.(\d+)\.linears\.(\d+)\.(weight|bias)$", "towers.{0}.hidden.{1}.{2}"),
        (r"^tower_dnn\.(\d+)\.bn\.(\d+)\.%s$" % BN, "towers.{0}.norms.{1}.{2}"),
        (r"^tower_dnn_final_layer\.(\d+)\.weight$", "towers.{0}.out.weight"),
        (r"^out\.(\d+)\.bias$", "towers.{0}.out.bias"),
    ]
    for k in keys:
        if k in r.claimed:
            continue
        for pat, tpl in rules:
            mt = re.match(pat, k)
            if not mt:
                continue
            if tpl.startswith("levels.{0}.shared_experts") and int(mt.group(2)) >= s:
                r.drop(k, "DeepCTR builds specific_expert_num shared experts and uses the first shared_expert_num")
            elif "shared_gate" in tpl and int(mt.group(1)) == levels - 1:
                r.drop(k, "DeepCTR computes the last level's shared gate but nothing reads it")
            else:
                r.put(tpl.format(*mt.groups()), k, sub)
            break
    gate = {"hidden": widths(sub, "specific_gate_dnn.0.0.0.linears.{}.weight"), "bias": False, "bn": False}
    if any(re.match(r"^(specific|shared)_gate_dnn\..*\.bn\.", k) for k in keys):
        gate["hidden_bn"] = True
    r.config = {
        "type": "ple", "levels": levels, "task_experts": m, "shared_experts": s,
        "expert_hidden": widths(sub, "specific_experts.0.0.0.linears.{}.weight"),
        "expert_bn": any(re.match(r"^(specific|shared)_experts\..*\.bn\.", k) for k in keys),
        "gate": gate,
        "tower": {"hidden": widths(sub, "tower_dnn.0.linears.{}.weight"),
                  "bn": any(re.match(r"^tower_dnn\.\d+\.bn\.", k) for k in keys), "bias": "out.0.bias" in sub},
    }
    return r


# ------------------------------------------------------------------------------------------------ easezyc

def _easezyc_mlp(sub, src, dst, r, output, lin_name):
    """Map a MultiLayerPerceptron (Linear, BatchNorm1d, ReLU, Dropout)* [+ Linear] at src onto dst; its widths."""
    out, k = [], 0
    while "%s.mlp.%d.weight" % (src, k) in sub and "%s.mlp.%d.running_mean" % (src, k + 1) in sub:
        i = len(out)
        out.append(int(sub["%s.mlp.%d.weight" % (src, k)].shape[0]))
        for p in ("weight", "bias"):
            if "%s.mlp.%d.%s" % (src, k, p) in sub:
                r.put("%s.%s.%d.%s" % (dst, lin_name, i, p), "%s.mlp.%d.%s" % (src, k, p), sub)
        for p in ("weight", "bias", "running_mean", "running_var"):
            if "%s.mlp.%d.%s" % (src, k + 1, p) in sub:
                r.put("%s.norms.%d.%s" % (dst, i, p), "%s.mlp.%d.%s" % (src, k + 1, p), sub)
        k += 4
    if output:
        for p in ("weight", "bias"):
            key = "%s.mlp.%d.%s" % (src, k, p)
            if key in sub:
                r.put("%s.out.%s" % (dst, p), key, sub)
    return out


def _gate(r, sub, src, dst, drop_why=None):
    for p in ("weight", "bias"):
        key = "%s.%s" % (src, p)
        if key in sub:
            if drop_why:
                r.drop(key, drop_why)
            else:
                r.put("%s.%s" % (dst, p), key, sub)


def _easezyc_config(r, sub, levels, per_level, m, s):
    tower_hidden = []
    for t in range(r.n_tasks):
        w = _easezyc_mlp(sub, "tower.%d" % t, "towers.%d" % t, r, True, "hidden")
        tower_hidden = tower_hidden or w
    r.config = {
        "type": "ple", "levels": levels, "task_experts": m, "shared_experts": s,
        "expert_hidden": [list(w) for w in per_level], "expert_bn": True,
        "gate": {"hidden": [], "bias": True, "bn": False},
        "tower": {"hidden": tower_hidden, "bn": True, "bias": True},
    }
    _fold_input_layer(r, sub)


def _fold_input_layer(r, sub):
    """easezyc's ``emb = cat(embedding(categorical_x), numerical_layer(numerical_x))`` with no categorical field
    is ``numerical_layer``, a Linear with nothing after it: folded (in float64) into each level-0 Linear that
    reads emb, W' = W·Wn, b' = W·bn + b. With categorical fields the model needs inputs an image has not."""
    if "numerical_layer.weight" not in sub:
        return
    wn = sub["numerical_layer.weight"].double()  # (E, N)
    bn = sub.get("numerical_layer.bias", torch.zeros(wn.shape[0])).double()  # (E,)
    for key in ("numerical_layer.weight", "numerical_layer.bias", "embedding.embedding.weight"):
        if key in sub:
            r.claimed.add(key)
    readers = [k for k in r.tensors if re.match(
        r"^levels\.0\.(task_experts\.\d+\.\d+\.layers\.0|shared_experts\.\d+\.layers\.0|task_gates\.\d+\.out"
        r"|shared_gate\.out)\.weight$", k)]
    in_dims = {int(r.tensors[k].shape[1]) for k in readers}
    if in_dims != {wn.shape[0]}:
        r.problems.append(("unrepresentable", "easezyc model with categorical fields (its level-0 layers read %s "
                           "features, numerical_layer gives %d): an image model has no categorical inputs"
                           % (sorted(in_dims), wn.shape[0])))
        return
    for k in readers:
        w = r.tensors[k].double()
        bk = k[:-len("weight")] + "bias"
        b = r.tensors[bk].double() if bk in r.tensors else torch.zeros(w.shape[0], dtype=torch.float64)
        r.tensors[k] = (w @ wn).float()
        r.tensors[bk] = (w @ bn + b).float()
    r.folded_input = int(wn.shape[1])


def map_easezyc(sub):
    """Current layout: task_experts / share_experts / task_gates / share_gates / tower."""
    r = HeadMapping()
    keys = list(sub)
    levels = count(keys, r"^task_experts\.(\d+)\.")
    r.n_tasks = count(keys, r"^task_experts\.0\.(\d+)\.")
    m = count(keys, r"^task_experts\.0\.0\.(\d+)\.")
    s = count(keys, r"^share_experts\.0\.(\d+)\.")
    per_level = []
    for lv in range(levels):
        w = None
        for t in range(r.n_tasks):
            for e in range(m):
                w = _easezyc_mlp(sub, "task_experts.%d.%d.%d" % (lv, t, e), "levels.%d.task_experts.%d.%d" % (lv, t, e),
                                 r, False, "layers")
            _gate(r, sub, "task_gates.%d.%d.0" % (lv, t), "levels.%d.task_gates.%d.out" % (lv, t))
        for e in range(s):
            _easezyc_mlp(sub, "share_experts.%d.%d" % (lv, e), "levels.%d.shared_experts.%d" % (lv, e), r, False,
                         "layers")
        per_level.append(w or [])
        _gate(r, sub, "share_gates.%d.0" % lv, "levels.%d.shared_gate.out" % lv,
              "easezyc skips the last level's shared gate" if lv == levels - 1 else None)
    _easezyc_config(r, sub, levels, per_level, m, s)
    return r


def map_easezyc_first(sub):
    """First layout (ee2427f): expert.{l}.{k} (task-major, then shared) and gate.{l}.{j} (tasks, then shared)."""
    r = HeadMapping()
    keys = list(sub)
    levels = count(keys, r"^expert\.(\d+)\.")
    n_gates = count(keys, r"^gate\.0\.(\d+)\.")
    r.n_tasks = n_gates - 1
    n_exp = count(keys, r"^expert\.0\.(\d+)\.")
    per_task = int(sub["gate.0.0.0.weight"].shape[0]) if "gate.0.0.0.weight" in sub else 0
    shared_gate = int(sub["gate.0.%d.0.weight" % r.n_tasks].shape[0]) if r.n_tasks >= 1 else 0
    # task gates mix m + s experts, the shared gate T*m + s = n_exp
    m = (shared_gate - per_task) // (r.n_tasks - 1) if r.n_tasks >= 2 else 0
    s = per_task - m
    if r.n_tasks < 2 or m < 1 or s < 0 or r.n_tasks * m + s != n_exp:
        r.problems.append(("structure", "easezyc expert./gate. layout: %d experts and gates of widths %d / %d do not "
                           "give task and shared expert counts" % (n_exp, per_task, shared_gate)))
        m, s = max(m, 1), max(s, 0)
    if levels > 1:
        r.problems.append(("unrepresentable", "easezyc's first layout (ee2427f) with %d levels evaluates the shared "
                           "experts on each task's input beyond level 0, which the format's PLE does not (one level "
                           "maps exactly; the current layout maps at any depth)" % levels))
    per_level = []
    for lv in range(levels):
        w = None
        for i in range(n_exp):
            dst = ("levels.%d.task_experts.%d.%d" % (lv, i // m, i % m)) if i < r.n_tasks * m \
                else "levels.%d.shared_experts.%d" % (lv, i - r.n_tasks * m)
            got = _easezyc_mlp(sub, "expert.%d.%d" % (lv, i), dst, r, False, "layers")
            w = w or got
        per_level.append(w or [])
        for j in range(n_gates):
            if j < r.n_tasks:
                _gate(r, sub, "gate.%d.%d.0" % (lv, j), "levels.%d.task_gates.%d.out" % (lv, j))
            else:
                _gate(r, sub, "gate.%d.%d.0" % (lv, j), "levels.%d.shared_gate.out" % lv,
                      "the last level's shared gate feeds nothing" if lv == levels - 1 else None)
    _easezyc_config(r, sub, levels, per_level, m, s)
    return r


def map_own(sub, head_cfg):
    """FORMAT.md's own names (a model trained with renal_mtl.RenalModel, or renamed by hand)."""
    r = HeadMapping()
    pat = r"^(levels|towers)\." if head_cfg["type"] == "ple" else r"^(hidden|norms|out)\."
    for k in sub:
        if re.match(pat, k):
            r.put(k, k, sub)
    r.config = head_cfg
    return r


MAPPERS = {"deepctr": map_deepctr, "easezyc": map_easezyc, "easezyc-first": map_easezyc_first}
