"""Test support: minimal PyTorch modules rebuilding the PLE heads of DeepCTR-Torch (shenweichen/DeepCTR-Torch
deepctr_torch/models/multitask/ple.py, layers/core.py (DNN, PredictionLayer), layers/activation.py
(activation_layer, Dice) @ f685425) and easezyc (easezyc/Multitask-Recommendation-Library models/ple.py @ 52a5aa1,
the current layout, and @ ee2427f, the first; models/layers.py), a user's whole model around a ResNet of
upstream_resnets.py, and random weights that make a comparison meaningful. Module names (so state_dict keys)
and forward math are written here from the upstream sources (nothing copied or imported).

How the projects save checkpoints (what test_upstream_checkpoints.py reproduces): MedicalNet's train.py
``{'ecpoch', 'batch_id', 'state_dict' (DataParallel: module.), 'optimizer'}``; Hara's main.py
``{'epoch', 'arch', 'state_dict', 'optimizer', 'scheduler'}``; MONAI with Ignite's CheckpointSaver
``{'net': ..., 'opt': ...}``; DeepCTR-Torch and easezyc ``torch.save(model.state_dict())``.
"""

import torch
from torch import nn


# ------------------------------------------------------------------------------------------ DeepCTR-Torch

class Identity(nn.Module):
    def forward(self, x):
        return x


class Dice(nn.Module):
    """DeepCTR's Dice (dim 2): BatchNorm1d ``bn`` and a parameter ``alpha``."""

    def __init__(self, emb_size, dim=2, epsilon=1e-8):
        super().__init__()
        self.bn = nn.BatchNorm1d(emb_size, eps=epsilon)
        self.sigmoid = nn.Sigmoid()
        self.alpha = nn.Parameter(torch.zeros((emb_size,)))

    def forward(self, x):
        x_p = self.sigmoid(self.bn(x))
        return self.alpha * (1 - x_p) * x + x_p * x


def activation_layer(act_name, hidden_size=None, dice_dim=2):
    if isinstance(act_name, str):
        return {"sigmoid": nn.Sigmoid, "linear": Identity, "relu": lambda: nn.ReLU(inplace=True),
                "dice": lambda: Dice(hidden_size, dice_dim), "prelu": nn.PReLU}[act_name.lower()]()
    return act_name()  # a class, e.g. nn.Tanh or nn.LeakyReLU (built with its defaults)


class DNN(nn.Module):
    """Linear -> [BatchNorm1d bn.i] -> activation_layers.i -> Dropout, per hidden unit count."""

    def __init__(self, inputs_dim, hidden_units, activation="relu", dropout_rate=0, use_bn=False, dice_dim=3):
        super().__init__()
        self.dropout = nn.Dropout(dropout_rate)
        self.use_bn = use_bn
        units = [inputs_dim] + list(hidden_units)
        self.linears = nn.ModuleList([nn.Linear(units[i], units[i + 1]) for i in range(len(units) - 1)])
        if use_bn:
            self.bn = nn.ModuleList([nn.BatchNorm1d(units[i + 1]) for i in range(len(units) - 1)])
        self.activation_layers = nn.ModuleList(
            [activation_layer(activation, units[i + 1], dice_dim) for i in range(len(units) - 1)])

    def forward(self, x):
        for i in range(len(self.linears)):
            fc = self.linears[i](x)
            if self.use_bn:
                fc = self.bn[i](fc)
            x = self.dropout(self.activation_layers[i](fc))
        return x


class PredictionLayer(nn.Module):
    def __init__(self, task="binary", use_bias=True):
        super().__init__()
        self.task = task
        self.use_bias = use_bias
        if use_bias:
            self.bias = nn.Parameter(torch.zeros((1,)))

    def forward(self, x):
        out = x + self.bias if self.use_bias else x
        return torch.sigmoid(out) if self.task == "binary" else out


class DeepCtrPLE(nn.Module):
    """DeepCTR-Torch's PLE over a dense input (B, input_dim) (combined_dnn_input of dense features is the input)."""

    def __init__(self, input_dim, shared_expert_num=1, specific_expert_num=1, num_levels=2,
                 expert_dnn_hidden_units=(256, 128), gate_dnn_hidden_units=(64,), tower_dnn_hidden_units=(64,),
                 dnn_activation="relu", dnn_use_bn=False, task_types=("binary", "binary")):
        super().__init__()
        self.num_tasks = len(task_types)
        self.specific_expert_num, self.shared_expert_num, self.num_levels = specific_expert_num, shared_expert_num, \
            num_levels
        self.gate_dnn_hidden_units, self.tower_dnn_hidden_units = gate_dnn_hidden_units, tower_dnn_hidden_units
        last = expert_dnn_hidden_units[-1]

        def dnn(inp, units):
            return DNN(inp, units, activation=dnn_activation, use_bn=dnn_use_bn)

        def multi_module_list(num_level, num_tasks, expert_num, dim0, dim_rest, units):
            return nn.ModuleList([nn.ModuleList([nn.ModuleList(
                [dnn(dim0 if level == 0 else dim_rest, units) for _ in range(expert_num)]) for _ in range(num_tasks)])
                for level in range(num_level)])

        self.specific_experts = multi_module_list(num_levels, self.num_tasks, specific_expert_num, input_dim, last,
                                                  expert_dnn_hidden_units)
        self.shared_experts = multi_module_list(num_levels, 1, specific_expert_num, input_dim, last,
                                                expert_dnn_hidden_units)
        gate_in = [gate_dnn_hidden_units[-1] if gate_dnn_hidden_units else input_dim if lv == 0 else last
                   for lv in range(num_levels)]
        if gate_dnn_hidden_units:
            self.specific_gate_dnn = multi_module_list(num_levels, self.num_tasks, 1, input_dim, last,
                                                       gate_dnn_hidden_units)
        self.specific_gate_dnn_final_layer = nn.ModuleList([nn.ModuleList(
            [nn.Linear(gate_in[lv], specific_expert_num + shared_expert_num, bias=False)
             for _ in range(self.num_tasks)])
            for lv in range(num_levels)])
        if gate_dnn_hidden_units:
            self.shared_gate_dnn = nn.ModuleList([dnn(input_dim if lv == 0 else last, gate_dnn_hidden_units)
                                                  for lv in range(num_levels)])
        self.shared_gate_dnn_final_layer = nn.ModuleList(
            [nn.Linear(gate_in[lv], self.num_tasks * specific_expert_num + shared_expert_num, bias=False)
             for lv in range(num_levels)])
        if tower_dnn_hidden_units:
            self.tower_dnn = nn.ModuleList([dnn(last, tower_dnn_hidden_units) for _ in range(self.num_tasks)])
        self.tower_dnn_final_layer = nn.ModuleList(
            [nn.Linear(tower_dnn_hidden_units[-1] if tower_dnn_hidden_units else last, 1, bias=False)
             for _ in range(self.num_tasks)])
        self.out = nn.ModuleList([PredictionLayer(t) for t in task_types])

    def cgc_net(self, inputs, level):
        spec = [self.specific_experts[level][i][j](inputs[i])
                for i in range(self.num_tasks) for j in range(self.specific_expert_num)]
        shared = [self.shared_experts[level][0][k](inputs[-1]) for k in range(self.shared_expert_num)]
        outs = []
        for i in range(self.num_tasks):
            cur = torch.stack(spec[i * self.specific_expert_num:(i + 1) * self.specific_expert_num] + shared, 1)
            g = self.specific_gate_dnn[level][i][0](inputs[i]) if self.gate_dnn_hidden_units else inputs[i]
            g = self.specific_gate_dnn_final_layer[level][i](g)
            outs.append(torch.matmul(g.softmax(1).unsqueeze(1), cur).squeeze())
        cur = torch.stack(spec + shared, 1)
        g = self.shared_gate_dnn[level](inputs[-1]) if self.gate_dnn_hidden_units else inputs[-1]
        g = self.shared_gate_dnn_final_layer[level](g)
        outs.append(torch.matmul(g.softmax(1).unsqueeze(1), cur).squeeze())
        return outs

    def forward(self, dnn_input):  # (B, input_dim) -> (B, T)
        inputs = [dnn_input] * (self.num_tasks + 1)
        outs = []
        for level in range(self.num_levels):
            outs = self.cgc_net(inputs, level)
            inputs = outs
        task_outs = []
        for i in range(self.num_tasks):
            h = self.tower_dnn[i](outs[i]) if self.tower_dnn_hidden_units else outs[i]
            task_outs.append(self.out[i](self.tower_dnn_final_layer[i](h)))
        return torch.cat(task_outs, -1)


# ------------------------------------------------------------------------------------------------ easezyc

class EmbeddingLayer(nn.Module):
    def __init__(self, field_dims, embed_dim):
        super().__init__()
        self.embedding = nn.Embedding(sum(field_dims), embed_dim)
        self.offsets = [0] + [sum(field_dims[:i + 1]) for i in range(len(field_dims) - 1)]

    def forward(self, x):  # (B, fields) long -> (B, fields, E)
        return self.embedding(x + torch.tensor(self.offsets[:x.shape[1]], dtype=x.dtype).unsqueeze(0))


class MultiLayerPerceptron(nn.Module):
    def __init__(self, input_dim, embed_dims, dropout, output_layer=True):
        super().__init__()
        layers = []
        for d in embed_dims:
            layers += [nn.Linear(input_dim, d), nn.BatchNorm1d(d), nn.ReLU(), nn.Dropout(p=dropout)]
            input_dim = d
        if output_layer:
            layers.append(nn.Linear(input_dim, 1))
        self.mlp = nn.Sequential(*layers)

    def forward(self, x):
        return self.mlp(x)


class _EasezycBase(nn.Module):
    def __init__(self, categorical_field_dims, numerical_num, embed_dim, task_num):
        super().__init__()
        self.embedding = EmbeddingLayer(categorical_field_dims, embed_dim)
        self.numerical_layer = nn.Linear(numerical_num, embed_dim)
        self.embed_output_dim = (len(categorical_field_dims) + 1) * embed_dim
        self.task_num = task_num

    def embed(self, categorical_x, numerical_x):
        emb = torch.cat([self.embedding(categorical_x), self.numerical_layer(numerical_x).unsqueeze(1)], 1)
        return emb.view(-1, self.embed_output_dim)


class EasezycPLE(_EasezycBase):
    """easezyc PLEModel, current layout (52a5aa1). forward returns a list of task probabilities (B,)."""

    def __init__(self, categorical_field_dims, numerical_num, embed_dim, bottom_mlp_dims, tower_mlp_dims, task_num,
                 shared_expert_num, specific_expert_num, dropout):
        super().__init__(categorical_field_dims, numerical_num, embed_dim, task_num)
        self.layers_num = len(bottom_mlp_dims)
        te, tg, se, sg = [], [], [], []
        for i in range(self.layers_num):
            inp = self.embed_output_dim if i == 0 else bottom_mlp_dims[i - 1]
            se.append(nn.ModuleList([MultiLayerPerceptron(inp, [bottom_mlp_dims[i]], dropout, output_layer=False)
                                     for _ in range(shared_expert_num)]))
            sg.append(nn.Sequential(nn.Linear(inp, shared_expert_num + task_num * specific_expert_num),
                                    nn.Softmax(dim=1)))
            te.append(nn.ModuleList([nn.ModuleList([MultiLayerPerceptron(inp, [bottom_mlp_dims[i]], dropout,
                                                                         output_layer=False)
                                                    for _ in range(specific_expert_num)]) for _ in range(task_num)]))
            tg.append(nn.ModuleList([nn.Sequential(nn.Linear(inp, shared_expert_num + specific_expert_num),
                                                   nn.Softmax(dim=1)) for _ in range(task_num)]))
        self.task_experts, self.task_gates = nn.ModuleList(te), nn.ModuleList(tg)
        self.share_experts, self.share_gates = nn.ModuleList(se), nn.ModuleList(sg)
        self.tower = nn.ModuleList([MultiLayerPerceptron(bottom_mlp_dims[-1], tower_mlp_dims, dropout)
                                    for _ in range(task_num)])

    def forward(self, categorical_x, numerical_x):
        emb = self.embed(categorical_x, numerical_x)
        task_fea = [emb for _ in range(self.task_num + 1)]
        for i in range(self.layers_num):
            share_output = [e(task_fea[-1]).unsqueeze(1) for e in self.share_experts[i]]
            task_output_list = []
            for j in range(self.task_num):
                task_output = [e(task_fea[j]).unsqueeze(1) for e in self.task_experts[i][j]]
                task_output_list.extend(task_output)
                mix = torch.cat(task_output + share_output, dim=1)
                gate_value = self.task_gates[i][j](task_fea[j]).unsqueeze(1)
                task_fea[j] = torch.bmm(gate_value, mix).squeeze(1)
            if i != self.layers_num - 1:
                gate_value = self.share_gates[i](task_fea[-1]).unsqueeze(1)
                mix = torch.cat(task_output_list + share_output, dim=1)
                task_fea[-1] = torch.bmm(gate_value, mix).squeeze(1)
        return [torch.sigmoid(self.tower[i](task_fea[i]).squeeze(1)) for i in range(self.task_num)]


class EasezycPLEFirst(_EasezycBase):
    """easezyc PLEModel, first layout (ee2427f): expert.{l}.{k} and gate.{l}.{j}; every group evaluates its experts
    on its own input."""

    def __init__(self, categorical_field_dims, numerical_num, embed_dim, bottom_mlp_dims, tower_mlp_dims, task_num,
                 shared_expert_num, specific_expert_num, dropout):
        super().__init__(categorical_field_dims, numerical_num, embed_dim, task_num)
        self.layers_num = len(bottom_mlp_dims)
        n = specific_expert_num * task_num + shared_expert_num
        self.expert = nn.ModuleList([nn.ModuleList(
            [MultiLayerPerceptron(self.embed_output_dim if i == 0 else bottom_mlp_dims[i - 1], [bottom_mlp_dims[i]],
                                  dropout, output_layer=False) for _ in range(n)]) for i in range(self.layers_num)])
        gates = []
        for i in range(self.layers_num):
            inp = self.embed_output_dim if i == 0 else bottom_mlp_dims[i - 1]
            g = [nn.Sequential(nn.Linear(inp, shared_expert_num + specific_expert_num), nn.Softmax(dim=1))
                 for _ in range(task_num)]
            g.append(nn.Sequential(nn.Linear(inp, shared_expert_num + task_num * specific_expert_num),
                                   nn.Softmax(dim=1)))
            gates.append(nn.ModuleList(g))
        self.gate = nn.ModuleList(gates)
        self.task_expert_index = [list(range(i * specific_expert_num, (i + 1) * specific_expert_num))
                                  + list(range(task_num * specific_expert_num, n)) for i in range(task_num)]
        self.task_expert_index.append(list(range(n)))
        self.tower = nn.ModuleList([MultiLayerPerceptron(bottom_mlp_dims[-1], tower_mlp_dims, dropout)
                                    for _ in range(task_num)])

    def forward(self, categorical_x, numerical_x):
        emb = self.embed(categorical_x, numerical_x)
        task_fea = [emb for _ in range(self.task_num + 1)]
        for i in range(self.layers_num):
            for j in range(self.task_num + 1):
                fea = torch.cat([self.expert[i][k](task_fea[j]).unsqueeze(1) for k in self.task_expert_index[j]], dim=1)
                task_fea[j] = torch.bmm(self.gate[i][j](task_fea[j]).unsqueeze(1), fea).squeeze(1)
        return [torch.sigmoid(self.tower[i](task_fea[i]).squeeze(1)) for i in range(self.task_num)]


# ------------------------------------------------------------------------------------- a user's whole model

class UserModel(nn.Module):
    """What a renal-mtl user trains: a ResNet over the phases (batch fusion: phases as a batch, features
    concatenated phase by phase; channels fusion: phases as channels) feeding a multi-task head.
    forward(x (B, P, D, H, W)) -> probabilities (B, T)."""

    def __init__(self, backbone, head, fusion="batch"):
        super().__init__()
        self.backbone = backbone
        self.head = head
        self.fusion = fusion

    def forward(self, x):
        b, p = x.shape[0], x.shape[1]
        if self.fusion == "batch":
            f = self.backbone.features(x.reshape((b * p, 1) + tuple(x.shape[2:]))).reshape(b, -1)
        else:
            f = self.backbone.features(x)
        if isinstance(self.head, _EasezycBase):
            out = self.head(torch.zeros((b, 0), dtype=torch.long), f)
            return torch.stack(out, dim=1)
        return self.head(f)


def randomize(model, calibrate, seed):
    """Random weights that make a meaningful comparison: He-scaled weights, small biases, and every BatchNorm's
    running statistics from one training-mode pass over calibrate() (so activations stay O(1) through the
    network), then perturbed (so eval-mode BN is not a plain standardisation)."""
    g = torch.Generator().manual_seed(seed)
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    with torch.no_grad():
        for p in model.parameters():
            if p.numel() == 0:  # easezyc's embedding of no categorical field
                continue
            if p.dim() >= 2:  # Linear (out, in), Conv3d (out, in, k, k, k): p[0] holds one output's inputs
                p.copy_(torch.randn(p.shape, generator=g) * (2.0 / max(p[0].numel(), 1)) ** 0.5)
            else:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
        for m in norms:
            m.weight.copy_(0.6 + 0.8 * torch.rand(m.weight.shape, generator=g))
            m.reset_running_stats()
            m.momentum = None  # cumulative average: one pass sets the statistics
        model.train()
        calibrate()
        for m in norms:
            m.running_mean.add_(0.2 * torch.randn(m.running_mean.shape, generator=g) * m.running_var.sqrt())
            m.running_var.mul_(0.7 + 0.6 * torch.rand(m.running_var.shape, generator=g))
            m.momentum = 0.1
    return model.eval()
