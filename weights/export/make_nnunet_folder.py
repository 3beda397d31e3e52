#!/usr/bin/env python3
"""Write a synthetic but format-faithful nnU-Net v2 trained-model folder from a seeded random small network.

  make_nnunet_folder.py --out DIR [--class PlainConvUNet|ResidualEncoderUNet] [--regions] [--seed N]
                        [--features 4,8,16,32] [--patch 16,32,32] [--channels CT[,CT...]] [--old-layout]

DIR gets what nnUNetv2_train leaves behind for one trainer/plans/configuration, as nnU-Net itself would read it:
  dataset.json                 channel_names, labels (KiTS23-like: label-based kidney 1 / tumor 2 / cyst 3, or with
                               --regions the KiTS23 regions kidney [1,2,3], masses [2,3], tumor 2 and
                               regions_class_order [1, 2, 3]), numTraining, file_ending
  plans.json                   dataset_name, plans_name, transpose_forward/backward, image_reader_writer,
                               foreground_intensity_properties_per_channel, and a 3d_fullres configuration
                               (patch_size, spacing, normalization_schemes, use_mask_for_norm, resampling fns and
                               kwargs, architecture: network_class_name + arch_kwargs + _kw_requires_import),
                               or with --old-layout the older keys (UNet_class_name, UNet_base_num_features, ...)
  fold_0/checkpoint_final.pth  torch.save of nnU-Net's checkpoint dict: network_weights (the full DNA state dict,
                               aliases and deep-supervision heads included), optimizer_state, grad_scaler_state,
                               logging, _best_ema (a numpy scalar), current_epoch, init_args (plans,
                               configuration, fold, dataset_json, device), trainer_name,
                               inference_allowed_mirroring_axes
The network is anisotropic like a real low-z-resolution plan: stage 0 kernel [1,3,3] and stride [1,1,1], stage 1
stride [1,2,2], then [2,2,2]. Random weights: PyTorch's default conv init, InstanceNorm affine 1 + 0.2 N(0,1) and
0.1 N(0,1), so no residual branch starts at zero (DNA would zero the last norm of each block).
"""

import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from renal_mtl.unet import SegUNet  # noqa: E402

LABELS = {"background": 0, "kidney": 1, "tumor": 2, "cyst": 3}
REGIONS = {"background": 0, "kidney": [1, 2, 3], "masses": [2, 3], "tumor": 2}
CT_PROPS = {"max": 1500.0, "mean": 103.0, "median": 102.0, "min": -1000.0, "percentile_00_5": -58.0,
            "percentile_99_5": 302.0, "std": 73.3}


def default_geometry(n_stages):
    kernels = [[1, 3, 3]] + [[3, 3, 3]] * (n_stages - 1)
    strides = [[1, 1, 1], [1, 2, 2]] + [[2, 2, 2]] * (n_stages - 2)
    return kernels, strides


def arch_kwargs(cls, features, kernels, strides, blocks, dec):
    kw = {
        "n_stages": len(features),
        "features_per_stage": list(features),
        "conv_op": "torch.nn.modules.conv.Conv3d",
        "kernel_sizes": kernels,
        "strides": strides,
        ("n_conv_per_stage" if cls == "PlainConvUNet" else "n_blocks_per_stage"): blocks,
        "n_conv_per_stage_decoder": dec,
        "conv_bias": True,
        "norm_op": "torch.nn.modules.instancenorm.InstanceNorm3d",
        "norm_op_kwargs": {"eps": 1e-05, "affine": True},
        "dropout_op": None,
        "dropout_op_kwargs": None,
        "nonlin": "torch.nn.LeakyReLU",
        "nonlin_kwargs": {"inplace": True},
    }
    return kw


def network_object(cls, features, kernels, strides, blocks, dec, in_ch, n_cls):
    return {"class": cls, "input_channels": in_ch, "num_classes": n_cls, "features_per_stage": list(features),
            "kernel_sizes": kernels, "strides": strides, "n_conv_per_stage": blocks, "n_conv_per_stage_decoder": dec,
            "conv_bias": True, "norm": {"type": "InstanceNorm3d", "eps": 1e-5, "affine": True},
            "nonlin": {"type": "LeakyReLU", "negative_slope": 0.01}}


def randomise(model, gen):
    """Seeded random weights: default-style conv init, InstanceNorm affine around (1, 0)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if ".norm." in name:
                p.copy_((1.0 if name.endswith("weight") else 0.0) + (0.2 if name.endswith("weight") else 0.1)
                        * torch.randn(p.shape, generator=gen))
            else:
                fan_in = p.shape[1] * int(np.prod(p.shape[2:])) if p.dim() > 1 else 1
                if "transpconvs" in name and p.dim() > 1:
                    fan_in = p.shape[0] * int(np.prod(p.shape[2:]))
                bound = 1.0 / np.sqrt(max(fan_in, 1)) if p.dim() == 1 else np.sqrt(3.0 / max(fan_in, 1))
                p.copy_((torch.rand(p.shape, generator=gen) * 2 - 1) * bound)
    return model


def make_model_folder(out, cls="PlainConvUNet", regions=False, seed=0, features=(4, 8, 16, 32), patch=(16, 32, 32),
                      channels=("CT",), blocks=None, dec=None, old_layout=False, mirror=(0, 1, 2),
                      spacing=(3.0, 0.78125, 0.78125), kernels=None, strides=None):
    """Write the folder; returns (network object, the model in eval mode) for callers that want to compare.

    kernels, strides: per-stage lists as in plans.json (default: default_geometry's anisotropic plan)."""
    n = len(features)
    default_kernels, default_strides = default_geometry(n)
    kernels = default_kernels if kernels is None else [list(k) for k in kernels]
    strides = default_strides if strides is None else [list(s) for s in strides]
    if blocks is None:
        blocks = [2] * n if cls == "PlainConvUNet" else [1] + [2] * (n - 1)
    if dec is None:
        dec = [2] * (n - 1) if cls == "PlainConvUNet" else [1] * (n - 1)
    labels = REGIONS if regions else LABELS
    n_cls = 3 if regions else 4
    dataset = {"channel_names": {str(i): c for i, c in enumerate(channels)}, "labels": labels,
               "numTraining": 489, "file_ending": ".nii.gz", "name": "Dataset901_SynthKiTS"}
    if regions:
        dataset["regions_class_order"] = [1, 2, 3]
    schemes = ["CTNormalization" if c.upper() == "CT" else "ZScoreNormalization" for c in channels]
    cfg = {
        "data_identifier": "nnUNetPlans_3d_fullres",
        "preprocessor_name": "DefaultPreprocessor",
        "batch_size": 2,
        "patch_size": list(patch),
        "median_image_size_in_voxels": [104.0, 512.0, 512.0],
        "spacing": list(spacing),
        "normalization_schemes": schemes,
        "use_mask_for_norm": [False] * len(channels),
        "resampling_fn_data": "resample_data_or_seg_to_shape",
        "resampling_fn_seg": "resample_data_or_seg_to_shape",
        "resampling_fn_data_kwargs": {"is_seg": False, "order": 3, "order_z": 0, "force_separate_z": None},
        "resampling_fn_seg_kwargs": {"is_seg": True, "order": 1, "order_z": 0, "force_separate_z": None},
        "resampling_fn_probabilities": "resample_data_or_seg_to_shape",
        "resampling_fn_probabilities_kwargs": {"is_seg": False, "order": 1, "order_z": 0, "force_separate_z": None},
        "batch_dice": False,
    }
    if old_layout:
        if list(features) != [min(features[0] * 2 ** i, features[-1]) for i in range(n)]:
            raise ValueError("old-layout plans need features base*2^i capped at the last")
        cfg.update({"UNet_class_name": cls, "UNet_base_num_features": features[0],
                    "unet_max_num_features": features[-1], "n_conv_per_stage_encoder": blocks,
                    "n_conv_per_stage_decoder": dec, "num_pool_per_axis": [sum(s[a] > 1 for s in strides)
                                                                           for a in range(3)],
                    "pool_op_kernel_sizes": strides, "conv_kernel_sizes": kernels})
    else:
        module = "dynamic_network_architectures.architectures.unet."
        cfg["architecture"] = {"network_class_name": module + cls,
                               "arch_kwargs": arch_kwargs(cls, features, kernels, strides, blocks, dec),
                               "_kw_requires_import": ["conv_op", "norm_op", "dropout_op", "nonlin"]}
    plans = {
        "dataset_name": "Dataset901_SynthKiTS",
        "plans_name": "nnUNetResEncUNetMPlans" if cls == "ResidualEncoderUNet" else "nnUNetPlans",
        "original_median_spacing_after_transp": list(spacing),
        "original_median_shape_after_transp": [104, 512, 512],
        "image_reader_writer": "SimpleITKIO",
        "transpose_forward": [0, 1, 2],
        "transpose_backward": [0, 1, 2],
        "configurations": {"3d_fullres": cfg},
        "experiment_planner_used": "nnUNetPlannerResEncM" if cls == "ResidualEncoderUNet" else "ExperimentPlanner",
        "label_manager": "LabelManager",
        "foreground_intensity_properties_per_channel": {
            str(i): (CT_PROPS if c.upper() == "CT" else dict(CT_PROPS, mean=0.0, std=1.0))
            for i, c in enumerate(channels)},
    }
    net = network_object(cls, features, kernels, strides, blocks, dec, len(channels), n_cls)
    gen = torch.Generator().manual_seed(seed)
    model = randomise(SegUNet(net, deep_supervision=True), gen)
    opt = torch.optim.SGD(model.parameters(), lr=1e-2, momentum=0.99, nesterov=True, weight_decay=3e-5)
    trainer = "nnUNetTrainer"
    checkpoint = {
        "network_weights": model.state_dict(),
        "optimizer_state": opt.state_dict(),
        "grad_scaler_state": None,
        "logging": {"mean_fg_dice": [np.float64(0.5), np.float64(0.75)], "ema_fg_dice": [np.float64(0.5),
                                                                                       np.float64(0.525)],
                    "train_losses": [-0.1, -0.2], "val_losses": [-0.05, -0.15], "lrs": [0.01, 0.00999],
                    "epoch_start_timestamps": [0.0, 1.0], "epoch_end_timestamps": [1.0, 2.0],
                    "dice_per_class_or_region": [[np.float32(0.5)] * n_cls] * 2},
        "_best_ema": np.float64(0.525),
        "current_epoch": 1000,
        "init_args": {"plans": plans, "configuration": "3d_fullres", "fold": 0, "dataset_json": dataset,
                      "device": torch.device("cuda")},
        "trainer_name": trainer,
        "inference_allowed_mirroring_axes": tuple(mirror),
    }
    os.makedirs(os.path.join(out, "fold_0"), exist_ok=True)
    with open(os.path.join(out, "dataset.json"), "w") as f:
        json.dump(dataset, f, indent=4, sort_keys=False)
    with open(os.path.join(out, "plans.json"), "w") as f:
        json.dump(plans, f, indent=4, sort_keys=False)
    torch.save(checkpoint, os.path.join(out, "fold_0", "checkpoint_final.pth"))
    model.decoder.deep_supervision = False
    return net, model.eval()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--class", dest="cls", default="PlainConvUNet", choices=["PlainConvUNet", "ResidualEncoderUNet"])
    ap.add_argument("--regions", action="store_true", help="KiTS23-style region-based labels")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--features", default="4,8,16,32")
    ap.add_argument("--patch", default="16,32,32")
    ap.add_argument("--channels", default="CT")
    ap.add_argument("--old-layout", action="store_true", help="older plans layout (UNet_class_name, ...)")
    a = ap.parse_args(argv)
    make_model_folder(a.out, a.cls, a.regions, a.seed, [int(i) for i in a.features.split(",")],
                      [int(i) for i in a.patch.split(",")], a.channels.split(","), old_layout=a.old_layout)
    print("wrote %s" % a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
