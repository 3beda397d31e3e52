"""RenalModel: every network of a config, with state_dict keys exactly FORMAT.md's tensor names."""

import copy

import torch
from torch import nn

from .config import fused_features, validate
from .heads import MLPHead, PLEHead
from .resnet3d import ResNet3D


class _Container(nn.Module):
    """Holds one network's modules under a non-empty prefix segment (e.g. ``ccrcc.``)."""


class RenalModel(nn.Module):
    """All networks of a model config.

    forward(x) with x (B, P, D, H, W) — B cases, P phases in config order, one channel each —
    returns ``{"probabilities": (B, T), "logits": (B, T), "features": {network: (B, F_fused)}}``,
    task columns in the config's ``tasks`` order.
    """

    def __init__(self, config):
        super().__init__()
        config = validate(copy.deepcopy(config))
        self.config = config
        phases = config["phases"]
        order = {t["name"]: i for i, t in enumerate(config["tasks"])}
        self._networks = []  # (name, module path, fusion, task columns)
        for net in config["networks"]:
            holder, path = self, ""
            for seg in net["prefix"].split(".")[:-1]:
                path = seg if not path else path + "." + seg
                if not hasattr(holder, seg):
                    holder.add_module(seg, _Container())
                holder = getattr(holder, seg)
            if net["fusion"] == "separate":
                holder.backbones = nn.ModuleList([ResNet3D(net["backbone"]) for _ in phases])
            else:
                holder.backbone = ResNet3D(net["backbone"])
            fused = fused_features(net, len(phases))
            head = net["head"]
            if head["type"] == "ple":
                holder.head = PLEHead(fused, len(net["tasks"]), head)
            else:
                holder.head = MLPHead(fused, head)
            self._networks.append((net["name"], path, net["fusion"], [order[t] for t in net["tasks"]]))
        self.n_phases = len(phases)
        self.n_tasks = len(config["tasks"])

    def _holder(self, path):
        return self.get_submodule(path) if path else self

    def network_features(self, name_path_fusion, x):
        """Fused features (B, F_fused) of one network for x (B, P, D, H, W)."""
        _, path, fusion = name_path_fusion
        holder = self._holder(path)
        b, p = x.shape[0], x.shape[1]
        if fusion == "batch":
            f = holder.backbone(x.reshape(b * p, 1, x.shape[2], x.shape[3], x.shape[4]))  # (B*P, F)
            return f.reshape(b, p * f.shape[1])  # phase-major within a case: [f_p0, f_p1, ...]
        if fusion == "channels":
            return holder.backbone(x)  # (B, F)
        return torch.cat([bb(x[:, i:i + 1]) for i, bb in enumerate(holder.backbones)], dim=1)

    def forward(self, x):  # x (B, P, D, H, W)
        if not torch.jit.is_tracing() and (x.dim() != 5 or x.shape[1] != self.n_phases):
            raise ValueError("input must be (B, %d, D, H, W), got %s" % (self.n_phases, tuple(x.shape)))
        features = {}
        columns = [None] * self.n_tasks
        for name, path, fusion, cols in self._networks:
            f = self.network_features((name, path, fusion), x)
            features[name] = f
            logits = self._holder(path).head(f)  # (B, len(cols))
            for j, c in enumerate(cols):
                columns[c] = logits[:, j:j + 1]
        logits = torch.cat(columns, dim=1)  # (B, T)
        return {"probabilities": torch.sigmoid(logits), "logits": logits, "features": features}

    def backbone_modules(self):
        """(network name, phase index or None, ResNet3D) for every backbone."""
        out = []
        for name, path, fusion, _ in self._networks:
            holder = self._holder(path)
            if fusion == "separate":
                out.extend((name, i, bb) for i, bb in enumerate(holder.backbones))
            else:
                out.append((name, None, holder.backbone))
        return out

    def heads(self):
        """(network name, head module) for every network."""
        return [(name, self._holder(path).head) for name, path, _, _ in self._networks]
