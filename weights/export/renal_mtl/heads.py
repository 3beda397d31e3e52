"""Reference heads of FORMAT.md: PLE (multi-task) and MLP (single task). Both return logits."""

import torch
import torch.nn.functional as F
from torch import nn

from .config import activation, expert_widths


def _hidden_stack(x, lins, norms, act):
    """A gate's or tower's hidden layers: ``Linear → [BatchNorm1d] → activation`` for each of ``lins``."""
    norms = list(norms)
    for i, lin in enumerate(lins):
        x = lin(x)
        if norms:
            x = norms[i](x)
        x = act(x)
    return x


class HiddenActivation(nn.Module):
    """The activation of a head's hidden layers (FORMAT.md ``activation``; ReLU when absent). No tensors."""

    def __init__(self, head_cfg):
        super().__init__()
        self.kind, self.negative_slope = activation(head_cfg)

    def forward(self, x):
        if self.kind == "relu":
            return F.relu(x)
        if self.kind == "leaky_relu":
            return F.leaky_relu(x, self.negative_slope)
        return torch.sigmoid(x) if self.kind == "sigmoid" else torch.tanh(x)


class MLPStack(nn.Module):
    """``[Linear → [BatchNorm1d] → activation]`` per width; tensors ``layers.{i}`` / ``norms.{i}``.

    The attribute names are given by the caller so the same code serves experts
    (``layers``/``norms``), towers and the MLP head (``hidden``/``norms``).
    """

    def __init__(self, in_features, widths, bn, linear_name, act):
        super().__init__()
        self._linear_name = linear_name
        self.act = act
        linears, norms = [], []
        for w in widths:
            linears.append(nn.Linear(in_features, int(w)))
            if bn:
                norms.append(nn.BatchNorm1d(int(w)))
            in_features = int(w)
        self.add_module(linear_name, nn.ModuleList(linears))
        self.norms = nn.ModuleList(norms)
        self.out_features = in_features

    def forward(self, x):  # (B, in) -> (B, out_features)
        norms = list(self.norms)
        for i, lin in enumerate(getattr(self, self._linear_name)):
            x = lin(x)
            if norms:
                x = norms[i](x)
            x = self.act(x)
        return x


class Expert(MLPStack):
    """PLE expert: tensors ``layers.{i}.*`` and ``norms.{i}.*`` (expert_bn)."""

    def __init__(self, in_features, widths, bn, act):
        super().__init__(in_features, widths, bn, "layers", act)


class Gate(nn.Module):
    """``[Linear → [BatchNorm1d] → activation]*`` → Linear (bias optional) → [BatchNorm1d] → softmax over experts.

    Tensors ``hidden.{i}.*``, ``norms.{i}.*`` (gate.hidden_bn), ``out.weight[|bias]``, ``norm.*`` (gate.bn).
    """

    def __init__(self, in_features, n_experts, cfg, act):
        super().__init__()
        self.act = act
        hidden, norms = [], []
        for w in cfg["hidden"]:
            hidden.append(nn.Linear(in_features, int(w)))
            if cfg.get("hidden_bn", False):
                norms.append(nn.BatchNorm1d(int(w)))
            in_features = int(w)
        self.hidden = nn.ModuleList(hidden)
        self.norms = nn.ModuleList(norms)
        self.out = nn.Linear(in_features, n_experts, bias=bool(cfg["bias"]))
        self.norm = nn.BatchNorm1d(n_experts) if cfg["bn"] else None

    def forward(self, x, experts):  # x (B, in), experts (B, E, H) -> (B, H)
        g = self.out(_hidden_stack(x, self.hidden, self.norms, self.act))
        if self.norm is not None:
            g = self.norm(g)
        g = torch.softmax(g, dim=1)  # (B, E)
        return torch.bmm(g.unsqueeze(1), experts).squeeze(1)


class Tower(nn.Module):
    """``[Linear → [BatchNorm1d] → activation]*`` → Linear to one logit; tensors ``hidden``, ``norms``, ``out``."""

    def __init__(self, in_features, hidden, bn, bias, act):
        super().__init__()
        self.act = act
        lins, norms = [], []
        for w in hidden:
            lins.append(nn.Linear(in_features, int(w)))
            if bn:
                norms.append(nn.BatchNorm1d(int(w)))
            in_features = int(w)
        self.hidden = nn.ModuleList(lins)
        self.norms = nn.ModuleList(norms)
        self.out = nn.Linear(in_features, 1, bias=bool(bias))

    def forward(self, x):  # (B, in) -> (B, 1)
        return self.out(_hidden_stack(x, self.hidden, self.norms, self.act))


class PLELevel(nn.Module):
    """One CGC level: per-task experts and gates, shared experts, optional shared gate."""

    def __init__(self, in_features, n_tasks, cfg, level, last, act):
        super().__init__()
        m, s = int(cfg["task_experts"]), int(cfg["shared_experts"])
        hidden, bn = expert_widths(cfg, level), bool(cfg["expert_bn"])
        self.task_experts = nn.ModuleList(
            [nn.ModuleList([Expert(in_features, hidden, bn, act) for _ in range(m)]) for _ in range(n_tasks)])
        self.shared_experts = nn.ModuleList([Expert(in_features, hidden, bn, act) for _ in range(s)])
        self.task_gates = nn.ModuleList([Gate(in_features, m + s, cfg["gate"], act) for _ in range(n_tasks)])
        self.shared_gate = None if last else Gate(in_features, n_tasks * m + s, cfg["gate"], act)

    def forward(self, task_inputs, shared_input):
        # task_inputs: list of T tensors (B, in); shared_input (B, in)
        shared = [e(shared_input) for e in self.shared_experts]  # each (B, H)
        outs, all_task = [], []
        for t, experts in enumerate(self.task_experts):
            own = [e(task_inputs[t]) for e in experts]
            all_task.extend(own)
            outs.append(self.task_gates[t](task_inputs[t], torch.stack(own + shared, dim=1)))
        v = None
        if self.shared_gate is not None:
            v = self.shared_gate(shared_input, torch.stack(all_task + shared, dim=1))
        return outs, v


class PLEHead(nn.Module):
    """Progressive Layered Extraction head (FORMAT.md "PLE"). forward: (B, F) -> logits (B, T)."""

    def __init__(self, in_features, n_tasks, cfg):
        super().__init__()
        levels = int(cfg["levels"])
        self.act = HiddenActivation(cfg)
        mods = []
        for j in range(levels):
            mods.append(PLELevel(in_features, n_tasks, cfg, j, j == levels - 1, self.act))
            in_features = expert_widths(cfg, j)[-1]  # the next level reads this level's expert width
        self.levels = nn.ModuleList(mods)
        self.towers = nn.ModuleList(
            [Tower(in_features, cfg["tower"]["hidden"], bool(cfg["tower"]["bn"]), bool(cfg["tower"]["bias"]), self.act)
             for _ in range(n_tasks)])

    def forward(self, x):  # (B, F) -> (B, T)
        u = [x for _ in self.towers]
        v = x
        for level in self.levels:
            u, v = level(u, v)
        return torch.cat([tower(u[t]) for t, tower in enumerate(self.towers)], dim=1)


class MLPHead(Tower):
    """Single-task MLP head (FORMAT.md "MLP"), the same layout as a tower:
    tensors ``hidden.{i}``, ``norms.{i}``, ``out``. forward: (B, F) -> logits (B, 1)."""

    def __init__(self, in_features, cfg):
        super().__init__(in_features, cfg["hidden"], bool(cfg["bn"]), bool(cfg["bias"]), HiddenActivation(cfg))
