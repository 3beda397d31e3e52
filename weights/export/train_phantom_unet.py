#!/usr/bin/env python3
"""Train a small nnU-Net v2-style PlainConvUNet on renal-mtl phantom cases (CPU, minutes), write it as an nnU-Net v2
model folder, export it with ``export.py --nnunet`` and evaluate the exported file on held-out phantoms.

Training data: phantom cohorts written by the Java CLI (the only data this model has ever seen), e.g.

  renal-mtl phantom --out DATA/cohort --cases 24 --seed 1     # case_000..case_023, seeds 1..24
  renal-mtl phantom --out DATA/demo --seed 2026               # the demo's own case (seed 2026, defaults)

(without the launcher: ``java -cp "cli/target/cli-0.1.0.jar:cli/target/lib/*" org.renalmtl.cli.Main phantom ...``).
Cohort case i has seed 1 + i and a tumour size drawn per case; the demo case (seed 2026, default 16x14x21 mm tumour)
is never in a cohort of fewer than 2026 cases and is only used for evaluation.

  train_phantom_unet.py --cases DATA/cohort --holdout 6 --work DATA/work --out seg.h5 [--eval-case DATA/demo ...]
  train_phantom_unet.py --evaluate seg.h5 --eval-case DIR [DIR ...] [--pred-out DIR]   (inference only)

What it does, as nnU-Net v2 would for a single-channel CT ("3d_fullres") configuration of this dataset:
  data        the venous phase (venous.nii.gz) as channel 0 "CT"; labels background 0, kidney 1 (kidney.nii.gz),
              tumor 2 (mask.nii.gz; the phantom's tumour and kidney masks are disjoint, the tumour drawn over the
              kidney); label-based, not regions. Arrays in SimpleITK order (z, y, x), spacing (z, y, x).
  fingerprint foreground intensity statistics of the training cases (DatasetFingerprintExtractor): per case
              10e7 // n_cases intensities drawn with replacement (RandomState(1234)) from the voxels with label > 0
              after crop-to-nonzero; mean, median, std, min, max, 0.5 / 99.5 percentiles of all draws.
  preprocess  crop to non-zero (filled non-zero mask of the image, bounding box), CTNormalization (clip to the
              percentiles, minus mean, / max(std, 1e-8)), resample to the target spacing with nnU-Net's
              resample_data_or_seg_to_shape (skimage resize, order 3 in-plane and order_z 0 along z when the
              spacing anisotropy > 3; segmentations per label with order 1, >= 0.5).
  train       PlainConvUNet (dynamic-network-architectures layout, renal_mtl/unet.py), deep supervision with
              nnU-Net's weights (1, 1/2, 1/4 ... with the lowest set to 0, normalised) on nearest-downsampled targets,
              Dice (soft, batch dice, no background, smooth 1e-5) + cross-entropy, batch 2 with the last sample
              forced onto a foreground voxel of a random foreground class (oversample_foreground_percent 0.33),
              intensity augmentation only (multiplicative brightness, Gaussian noise): the phantom's anatomy does not
              move, and it is lateralised, so no mirroring (inference_allowed_mirroring_axes None, as in
              nnUNetTrainerNoMirroring). Optimiser: AdamW + poly LR (nnU-Net's default SGD needs far more iterations
              than a CPU budget of minutes allows). Gradient norm clipped at 12. Fixed seed, fixed iteration count.
  folder      WORK/nnUNet_results/Dataset990_RenalPhantom/<trainer>__nnUNetPlans__3d_fullres/{dataset.json,
              plans.json, fold_0/checkpoint_final.pth} (make_nnunet_folder.py's architecture writers).
  export      export.py --nnunet FOLDER --fold 0 --tumour-label tumor --kidney-label kidney --phases venous --out OUT
  evaluate    from the exported HDF5 alone (its config drives everything): preprocess, sliding window (step 0.5 of the
              patch, Gaussian importance map sigma = patch/8 peak 10), logits resampled back to the cropped grid with
              the probabilities' resampling (order 1), argmax, pasted into the uncropped grid; Dice of tumour and
              kidney against the phantom's masks on the original grid.
"""

import argparse
import json
import os
import subprocess
import sys
import time

import h5py
import nibabel as nib
import numpy as np
import torch
import torch.nn.functional as F
from scipy.ndimage import binary_fill_holes, gaussian_filter
from skimage.transform import resize

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from make_nnunet_folder import arch_kwargs, network_object  # noqa: E402
from renal_mtl.unet import SegUNet  # noqa: E402

DATASET = "Dataset990_RenalPhantom"
TRAINER = "nnUNetTrainerPhantomCPU"
PLANS = "nnUNetPlans"
CONFIGURATION = "3d_fullres"
LABELS = {"background": 0, "kidney": 1, "tumor": 2}
PHASE = "venous"
ANISO_THRESHOLD = 3.0


# ----------------------------------------------------------------------------------------------------------- I/O

def read_nifti(path):
    """(array in SimpleITK order (z, y, x) as float32, spacing (z, y, x), the nibabel image)."""
    img = nib.load(path)
    arr = np.asarray(img.dataobj, dtype=np.float32).transpose(2, 1, 0)
    spacing = [float(s) for s in img.header.get_zooms()[:3]][::-1]
    return np.ascontiguousarray(arr), spacing, img


def read_case(case_dir):
    """(image (1, z, y, x) float32, label map (1, z, y, x) int8, spacing (z, y, x), nibabel venous image)."""
    img, spacing, nimg = read_nifti(os.path.join(case_dir, PHASE + ".nii.gz"))
    seg = None
    if os.path.exists(os.path.join(case_dir, "mask.nii.gz")):
        tumour = read_nifti(os.path.join(case_dir, "mask.nii.gz"))[0] > 0.5
        kidney = read_nifti(os.path.join(case_dir, "kidney.nii.gz"))[0] > 0.5
        seg = np.zeros(img.shape, np.int8)
        seg[kidney] = LABELS["kidney"]
        seg[tumour] = LABELS["tumor"]
    return img[None], (None if seg is None else seg[None]), spacing, nimg


# -------------------------------------------------------------------------------------------- nnU-Net preprocessing

def crop_to_nonzero(data, seg=None):
    """nnU-Net's crop_to_nonzero: bounding box of the filled non-zero mask (any channel); returns data, seg, bbox.
    Label 0 outside the non-zero mask becomes -1 (nnU-Net's marker; treated as background in training)."""
    mask = np.zeros(data.shape[1:], bool)
    for c in range(data.shape[0]):
        mask |= data[c] != 0
    mask = binary_fill_holes(mask)
    idx = np.nonzero(mask)
    bbox = [[int(i.min()), int(i.max()) + 1] for i in idx]
    sl = tuple(slice(a, b) for a, b in bbox)
    data = data[(slice(None),) + sl]
    cropped_mask = mask[sl][None]
    if seg is not None:
        seg = seg[(slice(None),) + sl].copy()
        seg[(seg == 0) & ~cropped_mask] = -1
    return data, seg, bbox


def compute_new_shape(old_shape, old_spacing, new_spacing):
    return np.array([int(round(i / j * k)) for i, j, k in zip(old_spacing, new_spacing, old_shape)])


def ct_normalise(x, props):
    x = np.clip(x, props["percentile_00_5"], props["percentile_99_5"])
    return ((x - props["mean"]) / max(props["std"], 1e-8)).astype(np.float32)


def _resize_seg(seg, shape, order):
    out = np.zeros(shape, seg.dtype)
    for c in np.unique(seg):
        m = resize((seg == c).astype(float), shape, order, mode="edge", clip=True, anti_aliasing=False)
        out[m >= 0.5] = c
    return out


def resample(data, new_shape, current_spacing, new_spacing, is_seg=False, order=3, order_z=0, force_separate_z=None,
             separate_z_anisotropy_threshold=ANISO_THRESHOLD):
    """nnU-Net v2 resample_data_or_seg_to_shape on (c, z, y, x)."""
    def separate(sp):
        return max(sp) / min(sp) > separate_z_anisotropy_threshold

    def lowres_axis(sp):
        return np.where(max(sp) / np.array(sp) == 1)[0]

    if force_separate_z is not None:
        do_sep = force_separate_z
        axis = lowres_axis(current_spacing) if force_separate_z else None
    elif separate(current_spacing):
        do_sep, axis = True, lowres_axis(current_spacing)
    elif separate(new_spacing):
        do_sep, axis = True, lowres_axis(new_spacing)
    else:
        do_sep, axis = False, None
    if axis is not None and len(axis) != 1:
        do_sep = False
    new_shape = np.array(new_shape)
    shape = np.array(data.shape[1:])
    if np.all(shape == new_shape):
        return data
    dtype = data.dtype
    data = data.astype(float)

    def rs(a, shp, o):
        return _resize_seg(a, shp, o) if is_seg else resize(a, shp, o, mode="edge", anti_aliasing=False)

    out = []
    for c in range(data.shape[0]):
        if do_sep:
            ax = int(axis[0])
            shp2 = [new_shape[i] for i in range(3) if i != ax]
            r = np.stack([rs(np.take(data[c], s, axis=ax), shp2, order) for s in range(shape[ax])], ax)
            if shape[ax] != new_shape[ax]:
                grid = np.mgrid[:new_shape[0], :new_shape[1], :new_shape[2]].astype(float)
                for a in range(3):
                    grid[a] = r.shape[a] / new_shape[a] * (grid[a] + 0.5) - 0.5
                from scipy.ndimage import map_coordinates
                if not is_seg or order_z == 0:
                    r = map_coordinates(r, grid, order=order_z, mode="nearest")
                else:
                    rr = np.zeros(new_shape, dtype)
                    for cl in np.sort(np.unique(r)):
                        m = np.round(map_coordinates((r == cl).astype(float), grid, order=order_z, mode="nearest"))
                        rr[m > 0.5] = cl
                    r = rr
            out.append(r)
        else:
            out.append(rs(data[c], new_shape, order))
    return np.stack(out).astype(dtype)


def preprocess(data, seg, spacing, cfg):
    """transpose (identity here) -> crop -> CT normalisation -> resample; returns data, seg, properties."""
    tf = cfg["transpose_forward"]
    data = data.transpose([0] + [i + 1 for i in tf])
    if seg is not None:
        seg = seg.transpose([0] + [i + 1 for i in tf])
    spacing = [spacing[i] for i in tf]
    shape_before = data.shape[1:]
    data, seg, bbox = crop_to_nonzero(data, seg)
    shape_after_crop = data.shape[1:]
    new_shape = compute_new_shape(shape_after_crop, spacing, cfg["spacing"])
    data = np.stack([ct_normalise(data[c], ch) for c, ch in enumerate(cfg["channels"])])
    rd = cfg["resampling"]["data"]
    data = resample(data, new_shape, spacing, cfg["spacing"], False, rd["order"], rd["order_z"], rd["force_separate_z"],
                    rd["separate_z_anisotropy_threshold"])
    if seg is not None:
        seg = resample(seg, new_shape, spacing, cfg["spacing"], True, 1, 0, None)
    props = {"spacing": spacing, "shape_before_cropping": shape_before, "bbox": bbox,
             "shape_after_cropping": shape_after_crop}
    return data, seg, props


def fingerprint(cases, seed=1234, total=10e7):
    """Foreground intensity statistics of channel 0 as nnU-Net's DatasetFingerprintExtractor computes them."""
    per_case = int(total // len(cases))
    draws = []
    for data, seg, _, _ in cases:
        d, s, _ = crop_to_nonzero(data, seg)
        rs = np.random.RandomState(seed)
        fg = d[0][s[0] > 0]
        draws.append(rs.choice(fg, per_case, replace=True))
    v = np.concatenate(draws)
    return {"max": float(np.max(v)), "mean": float(np.mean(v)), "median": float(np.median(v)),
            "min": float(np.min(v)), "percentile_00_5": float(np.percentile(v, 0.5)),
            "percentile_99_5": float(np.percentile(v, 99.5)), "std": float(np.std(v))}


# --------------------------------------------------------------------------------------------- nnU-Net inference

def sliding_window_steps(image_size, tile, step=0.5):
    steps = []
    for dim in range(3):
        n = int(np.ceil((image_size[dim] - tile[dim]) / (tile[dim] * step))) + 1
        mx = image_size[dim] - tile[dim]
        actual = mx / (n - 1) if n > 1 else 99999999999
        steps.append([int(np.round(actual * i)) for i in range(n)])
    return steps


def gaussian_map(tile, sigma_scale=1.0 / 8, value_scaling_factor=10):
    tmp = np.zeros(tile)
    tmp[tuple(i // 2 for i in tile)] = 1
    g = gaussian_filter(tmp, [i * sigma_scale for i in tile], 0, mode="constant", cval=0)
    g = g / (g.max() / value_scaling_factor)
    g[g == 0] = g[g != 0].min()
    return g.astype(np.float32)


def predict_logits(model, data, patch):
    """Sliding-window logits (classes, z, y, x) on a preprocessed image (c, z, y, x); no mirroring."""
    pad = [max(0, p - s) for p, s in zip(patch, data.shape[1:])]
    lo = [p // 2 for p in pad]
    if any(pad):
        data = np.pad(data, [(0, 0)] + [(a, p - a) for a, p in zip(lo, pad)], mode="constant", constant_values=0)
    shape = data.shape[1:]
    g = torch.from_numpy(gaussian_map(patch))
    n_cls = model.network["num_classes"]
    acc = torch.zeros((n_cls,) + tuple(shape))
    wsum = torch.zeros(tuple(shape))
    x = torch.from_numpy(data)
    with torch.no_grad():
        for sz in sliding_window_steps(shape, patch)[0]:
            for sy in sliding_window_steps(shape, patch)[1]:
                for sx in sliding_window_steps(shape, patch)[2]:
                    sl = (slice(sz, sz + patch[0]), slice(sy, sy + patch[1]), slice(sx, sx + patch[2]))
                    out = model(x[(slice(None),) + sl][None])[0]
                    acc[(slice(None),) + sl] += out * g
                    wsum[sl] += g
    logits = (acc / wsum).numpy()
    return logits[(slice(None),) + tuple(slice(a, a + s) for a, s in zip(lo, shape))] if any(pad) else logits


def load_h5_model(path):
    with h5py.File(path, "r") as f:
        cfg = json.loads(f.attrs["renal_mtl_config"])
        tensors = {k: torch.from_numpy(np.asarray(f[k], dtype=np.float32)) for k in f.keys()}
    model = SegUNet(cfg["network"]).eval()
    state = model.state_dict()
    missing = [k for k in tensors if k not in state]
    if missing:
        raise ValueError("%s: tensors not in the network: %s" % (path, missing))
    for k, v in tensors.items():
        state[k].copy_(v)  # aliases share storage, so the .all_modules / decoder.encoder copies follow
    return cfg, model, len(tensors)


def segment(cfg, model, data, spacing):
    """Label map on the input grid (z, y, x) of one image (c, z, y, x), as nnUNetPredictor would produce it."""
    pdata, _, props = preprocess(data, None, spacing, cfg)
    logits = predict_logits(model, np.ascontiguousarray(pdata, dtype=np.float32), cfg["patch_size"])
    rp = cfg["resampling"]["probabilities"]
    logits = resample(logits, props["shape_after_cropping"], cfg["spacing"], props["spacing"], False, rp["order"],
                      rp["order_z"], rp["force_separate_z"], rp["separate_z_anisotropy_threshold"])
    seg_c = np.argmax(logits, 0).astype(np.uint8)
    full = np.zeros(props["shape_before_cropping"], np.uint8)
    full[tuple(slice(a, b) for a, b in props["bbox"])] = seg_c
    return full.transpose(cfg["transpose_backward"])


def dice(a, b):
    s = a.sum() + b.sum()
    return float(2.0 * np.logical_and(a, b).sum() / s) if s else 1.0


def evaluate(h5, case_dirs, pred_out=None, log=print):
    cfg, model, _ = load_h5_model(h5)
    tum = cfg["labels"][cfg.get("renal_mtl", {}).get("tumour_label", "tumor")]
    kid = cfg["labels"][cfg.get("renal_mtl", {}).get("kidney_label", "kidney")]
    rows = []
    for d in case_dirs:
        t0 = time.time()
        data, seg, spacing, nimg = read_case(d)
        pred = segment(cfg, model, data, spacing)
        truth = seg[0]
        row = {"case": d.rstrip("/"), "dice_tumour": dice(pred == tum, truth == LABELS["tumor"]),
               "dice_kidney": dice(pred == kid, truth == LABELS["kidney"]),
               "tumour_ml_pred": float((pred == tum).sum() * np.prod(spacing) / 1000),
               "tumour_ml_truth": float((truth == LABELS["tumor"]).sum() * np.prod(spacing) / 1000),
               "seconds": round(time.time() - t0, 2)}
        rows.append(row)
        log("  %-40s Dice tumour %.4f kidney %.4f  tumour %.2f ml (truth %.2f ml)  %.1f s"
            % (row["case"], row["dice_tumour"], row["dice_kidney"], row["tumour_ml_pred"], row["tumour_ml_truth"],
               row["seconds"]))
        if pred_out:
            os.makedirs(pred_out, exist_ok=True)
            name = os.path.basename(d.rstrip("/")) + "_pred.nii.gz"
            nib.save(nib.Nifti1Image(pred.transpose(2, 1, 0), nimg.affine, nimg.header),
                     os.path.join(pred_out, name))
    return rows


# -------------------------------------------------------------------------------------------------------- training

def ds_weights(n):
    w = np.array([1 / (2 ** i) for i in range(n)])
    w[-1] = 0
    return w / w.sum()


def dc_ce_loss(logits, target, smooth=1e-5):
    """nnU-Net DC_and_CE_loss (MemoryEfficientSoftDiceLoss, batch_dice, do_bg False) + CE, target (b, z, y, x)."""
    ce = F.cross_entropy(logits, target)
    p = torch.softmax(logits, 1)[:, 1:]
    onehot = F.one_hot(target, logits.shape[1]).permute(0, 4, 1, 2, 3)[:, 1:].float()
    axes = [0, 2, 3, 4]
    inter = (p * onehot).sum(axes)
    dc = (2 * inter + smooth) / torch.clip(onehot.sum(axes) + p.sum(axes) + smooth, 1e-8)
    return ce - dc.mean()


def sample_patch(rng, data, seg, locs, patch, force_fg):
    shape = data.shape[1:]
    need = [max(0, p - s) for p, s in zip(patch, shape)]
    lbs = [-(n // 2) for n in need]
    ubs = [s + n // 2 + n % 2 - p for s, n, p in zip(shape, need, patch)]
    classes = [c for c in sorted(locs) if len(locs[c])]
    if force_fg and classes:
        c = classes[rng.randint(len(classes))]
        v = locs[c][rng.randint(len(locs[c]))]
        lo = [max(lbs[i], v[i] - patch[i] // 2) for i in range(3)]
    else:
        lo = [rng.randint(lbs[i], ubs[i] + 1) for i in range(3)]
    d = np.zeros((data.shape[0],) + tuple(patch), np.float32)
    s = np.zeros(tuple(patch), np.int64)
    src = tuple(slice(max(0, lo[i]), min(shape[i], lo[i] + patch[i])) for i in range(3))
    dst = tuple(slice(max(0, lo[i]) - lo[i], min(shape[i], lo[i] + patch[i]) - lo[i]) for i in range(3))
    d[(slice(None),) + dst] = data[(slice(None),) + src]
    s[dst] = np.maximum(seg[0][src], 0)  # nnU-Net's -1 (outside the non-zero mask) and padding count as background
    return d, s


def augment(rng, d):
    if rng.uniform() < 0.15:
        d = d * rng.uniform(0.75, 1.25)
    if rng.uniform() < 0.1:
        d = d + rng.normal(0, np.sqrt(rng.uniform(0, 0.1)), d.shape).astype(np.float32)
    return d


def train(net, cases, patch, iters, seed, lr, log):
    torch.manual_seed(seed)
    rng = np.random.RandomState(seed)
    model = SegUNet(net, deep_supervision=True)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=3e-5, amsgrad=True)
    n_out = len(net["features_per_stage"]) - 1
    w = ds_weights(n_out)
    strides = np.cumprod(np.array(net["strides"]), 0)[:n_out]
    locs = [{c: np.argwhere(seg[0] == c) for c in (1, 2)} for _, seg, _ in cases]
    t0 = time.time()
    run = []
    for it in range(iters):
        for g in opt.param_groups:
            g["lr"] = lr * (1 - it / iters) ** 0.9
        xs, ys = [], []
        for b in range(2):
            k = rng.randint(len(cases))
            d, s = sample_patch(rng, cases[k][0], cases[k][1], locs[k], patch, force_fg=(b == 1))
            xs.append(augment(rng, d))
            ys.append(s)
        x = torch.from_numpy(np.stack(xs))
        y = torch.from_numpy(np.stack(ys))
        outs = model(x)
        loss = 0
        for i, o in enumerate(outs):
            if w[i] == 0:
                continue
            yi = y if i == 0 else F.interpolate(y[:, None].float(), size=o.shape[2:], mode="nearest")[:, 0].long()
            assert list(o.shape[2:]) == [p // int(s) for p, s in zip(patch, strides[i])]
            loss = loss + w[i] * dc_ce_loss(o, yi)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 12)
        opt.step()
        run.append(float(loss))
        if (it + 1) % 25 == 0 or it == 0:
            log("  iter %4d/%d  loss %.4f (mean of last 25 %.4f)  %.0f s" % (it + 1, iters, run[-1],
                                                                           np.mean(run[-25:]), time.time() - t0))
    return model, opt, run


# ---------------------------------------------------------------------------------------------------- model folder

def write_model_folder(folder, net, model, opt, props, spacing, patch, median_shape, orig_spacing, orig_shape,
                       n_train, run, iters):
    """nnU-Net v2 trained-model folder (what nnUNetv2_train leaves for fold 0)."""
    n = len(net["features_per_stage"])
    dataset = {"channel_names": {"0": "CT"}, "labels": dict(LABELS), "numTraining": n_train,
               "file_ending": ".nii.gz", "name": DATASET,
               "description": "renal-mtl phantom (Java `phantom --cases`), venous phase; kidney = cortex + medulla, "
                              "tumor = the phantom's tumour mask"}
    cfg = {
        "data_identifier": "nnUNetPlans_3d_fullres",
        "preprocessor_name": "DefaultPreprocessor",
        "batch_size": 2,
        "patch_size": list(patch),
        "median_image_size_in_voxels": [float(i) for i in median_shape],
        "spacing": list(spacing),
        "normalization_schemes": ["CTNormalization"],
        "use_mask_for_norm": [False],
        "resampling_fn_data": "resample_data_or_seg_to_shape",
        "resampling_fn_seg": "resample_data_or_seg_to_shape",
        "resampling_fn_data_kwargs": {"is_seg": False, "order": 3, "order_z": 0, "force_separate_z": None},
        "resampling_fn_seg_kwargs": {"is_seg": True, "order": 1, "order_z": 0, "force_separate_z": None},
        "resampling_fn_probabilities": "resample_data_or_seg_to_shape",
        "resampling_fn_probabilities_kwargs": {"is_seg": False, "order": 1, "order_z": 0, "force_separate_z": None},
        "architecture": {"network_class_name": "dynamic_network_architectures.architectures.unet.PlainConvUNet",
                         "arch_kwargs": arch_kwargs("PlainConvUNet", net["features_per_stage"], net["kernel_sizes"],
                                                    net["strides"], net["n_conv_per_stage"],
                                                    net["n_conv_per_stage_decoder"]),
                         "_kw_requires_import": ["conv_op", "norm_op", "dropout_op", "nonlin"]},
        "batch_dice": True,
    }
    plans = {
        "dataset_name": DATASET,
        "plans_name": PLANS,
        "original_median_spacing_after_transp": list(orig_spacing),
        "original_median_shape_after_transp": [int(i) for i in orig_shape],
        "image_reader_writer": "SimpleITKIO",
        "transpose_forward": [0, 1, 2],
        "transpose_backward": [0, 1, 2],
        "configurations": {CONFIGURATION: cfg},
        "experiment_planner_used": "ExperimentPlanner (by hand: train_phantom_unet.py)",
        "label_manager": "LabelManager",
        "foreground_intensity_properties_per_channel": {"0": props},
    }
    checkpoint = {
        "network_weights": model.state_dict(),
        "optimizer_state": opt.state_dict(),
        "grad_scaler_state": None,
        "logging": {"train_losses": run},
        "_best_ema": None,
        "current_epoch": iters,
        "init_args": {"plans": plans, "configuration": CONFIGURATION, "fold": 0, "dataset_json": dataset,
                      "device": torch.device("cpu")},
        "trainer_name": TRAINER,
        "inference_allowed_mirroring_axes": None,
    }
    os.makedirs(os.path.join(folder, "fold_0"), exist_ok=True)
    with open(os.path.join(folder, "dataset.json"), "w") as f:
        json.dump(dataset, f, indent=4)
    with open(os.path.join(folder, "plans.json"), "w") as f:
        json.dump(plans, f, indent=4)
    torch.save(checkpoint, os.path.join(folder, "fold_0", "checkpoint_final.pth"))
    assert n == len(net["kernel_sizes"])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", help="phantom cohort directory (phantom --cases N): case_XXX/ subdirectories")
    ap.add_argument("--holdout", type=int, default=6, help="the last N cohort cases are held out (default 6)")
    ap.add_argument("--work", help="work directory: the nnU-Net model folder goes under WORK/nnUNet_results")
    ap.add_argument("--out", help="exported segmentation HDF5")
    ap.add_argument("--eval-case", nargs="*", default=[], help="extra case directories to evaluate (e.g. the demo's)")
    ap.add_argument("--evaluate", metavar="H5", help="only evaluate this exported file on --eval-case")
    ap.add_argument("--pred-out", help="write predicted label maps <case>_pred.nii.gz here")
    ap.add_argument("--spacing", default="2.5,2.5,2.5", help="target spacing z,y,x in mm")
    ap.add_argument("--patch", default="32,48,48", help="patch size z,y,x")
    ap.add_argument("--features", default="8,16,24,48")
    ap.add_argument("--iters", type=int, default=320)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--report", help="write a JSON report (config summary, timings, Dice) here")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    log = lambda s: print(s, flush=True)  # noqa: E731

    if a.evaluate:
        evaluate(a.evaluate, a.eval_case, a.pred_out, log)
        return 0
    if not (a.cases and a.work and a.out):
        ap.error("--cases, --work and --out are needed to train")
    t_start = time.time()
    names = sorted(n for n in os.listdir(a.cases) if n.startswith("case_"))
    train_names, held = names[:len(names) - a.holdout], names[len(names) - a.holdout:]
    log("training cases: %s\nheld out: %s" % (", ".join(train_names), ", ".join(held)))
    raw = [read_case(os.path.join(a.cases, n)) for n in train_names]
    spacing = [float(s) for s in a.spacing.split(",")]
    patch = [int(p) for p in a.patch.split(",")]
    feats = [int(f) for f in a.features.split(",")]

    props = fingerprint([(d, s, sp, None) for d, s, sp, _ in raw])
    log("foreground intensities (%d training cases): %s" % (len(raw), json.dumps(props)))
    n = len(feats)
    kernels = [[3, 3, 3]] * n
    strides = [[1, 1, 1]] + [[2, 2, 2]] * (n - 1)
    net = network_object("PlainConvUNet", feats, kernels, strides, [2] * n, [2] * (n - 1), 1, len(LABELS))
    pcfg = {"transpose_forward": [0, 1, 2], "spacing": spacing,
            "channels": [{"name": "CT", "normalization": "CTNormalization", **props}],
            "resampling": {"data": {"order": 3, "order_z": 0, "force_separate_z": None,
                                    "separate_z_anisotropy_threshold": ANISO_THRESHOLD}}}
    cases = []
    for d, s, sp, _ in raw:
        pd, ps, _ = preprocess(d, s, sp, pcfg)
        cases.append((pd.astype(np.float32), ps, sp))
    shapes = np.array([c[0].shape[1:] for c in cases])
    orig_shapes = np.array([d.shape[1:] for d, _, _, _ in raw])
    orig_spacings = np.array([sp for _, _, sp, _ in raw])
    t_pre = time.time()
    log("preprocessed %d cases to %s at %s mm in %.1f s" % (len(cases), shapes[0].tolist(), spacing, t_pre - t_start))

    model, opt, run = train(net, cases, patch, a.iters, a.seed, a.lr, log)
    t_train = time.time()
    log("trained %d iterations in %.1f s" % (a.iters, t_train - t_pre))

    folder = os.path.join(a.work, "nnUNet_results", DATASET, "%s__%s__%s" % (TRAINER, PLANS, CONFIGURATION))
    write_model_folder(folder, net, model, opt, props, spacing, patch, np.median(shapes, 0),
                       np.median(orig_spacings, 0).tolist(), np.median(orig_shapes, 0), len(train_names), run, a.iters)
    cmd = [sys.executable, os.path.join(HERE, "export.py"), "--nnunet", folder, "--fold", "0", "--tumour-label",
           "tumor", "--kidney-label", "kidney", "--phases", PHASE, "--out", a.out]
    log("$ " + " ".join(cmd))
    subprocess.run(cmd, check=True)
    t_export = time.time()
    log("model folder + export in %.1f s; total (preprocess + train + export) %.1f s"
        % (t_export - t_train, t_export - t_start))

    log("evaluation of %s (held-out cohort cases, then --eval-case):" % a.out)
    rows = evaluate(a.out, [os.path.join(a.cases, h) for h in held] + list(a.eval_case), a.pred_out, log)
    if a.report:
        cfg, _, n_tensors = load_h5_model(a.out)
        rep = {"command": " ".join(sys.argv), "train_cases": train_names, "held_out": held,
               "seconds": {"preprocess": round(t_pre - t_start, 1), "train": round(t_train - t_pre, 1),
                           "export": round(t_export - t_train, 1), "total": round(t_export - t_start, 1)},
               "final_loss_mean_last_25": float(np.mean(run[-25:])), "tensors": n_tensors,
               "file_bytes": os.path.getsize(a.out),
               "config": {k: cfg[k] for k in ("patch_size", "spacing", "channels", "resampling", "labels",
                                              "mirroring_axes", "renal_mtl", "network")},
               "dice": rows}
        with open(a.report, "w") as f:
            json.dump(rep, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
