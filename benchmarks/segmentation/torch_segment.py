#!/usr/bin/env python3
"""The PyTorch peer of `renal-mtl segment` in the segmentation benchmark (run.sh): one CT through an exported
segmentation weight file (FORMAT.md) as nnU-Net v2 infers it, with segmentation/src/test/python/nnunet_reference.py
(preprocessing, sliding window with Gaussian weighting and fp16 accumulation as nnU-Net's, mirroring over the
model's axes, export) and the PyTorch U-Net of weights/export/renal_mtl/unet.py loaded with the file's tensors.

  torch_segment.py --seg-model S.h5 --image CT.nii.gz --out MASK.nii.gz [--disable-tta] [--threads N]
                   [--timings T.json]

Writes the label map as uint8 NIfTI with the image's affine (as nnU-Net's NibabelIO), and with --timings the
seconds of each phase in this process, the network grid, tile count and network passes."""
import time

START = time.perf_counter()  # before the imports: torch's import is part of what a user waits for

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

import h5py  # noqa: E402
import nibabel as nib  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.path.insert(0, os.path.join(ROOT, "weights", "export"))
sys.path.insert(0, os.path.join(ROOT, "segmentation", "src", "test", "python"))

import nnunet_reference as ref  # noqa: E402
from renal_mtl.unet import SegUNet  # noqa: E402


def load(path):
    """(reference settings, network in eval mode) from a segmentation weight file."""
    with h5py.File(path, "r") as f:
        cfg = json.loads(f.attrs["renal_mtl_config"])
        tensors = {k: torch.from_numpy(np.asarray(f[k], dtype=np.float32)) for k in f.keys()}
    model = SegUNet(cfg["network"]).eval()
    state = model.state_dict()
    unknown = sorted(set(tensors) - set(state))
    if unknown:
        raise SystemExit("%s: tensors not in the network: %s" % (path, unknown[:5]))
    for k, v in tensors.items():
        state[k].copy_(v)  # the alias keys share storage, so they follow
    channels = [{"name": c["normalization"], "use_mask_for_norm": c["use_mask_for_norm"], "mean": c["mean"],
                 "std": c["std"], "percentile_00_5": c["percentile_00_5"], "percentile_99_5": c["percentile_99_5"]}
                for c in cfg["channels"]]
    settings = {"patch_size": cfg["patch_size"], "spacing": cfg["spacing"],
                "transpose_forward": cfg["transpose_forward"], "transpose_backward": cfg["transpose_backward"],
                "channels": channels, "num_heads": cfg["network"]["num_classes"],
                "regions_class_order": cfg["regions_class_order"], "mirroring_axes": cfg["mirroring_axes"],
                "resampling": cfg["resampling"]}
    return settings, model


def tiles(shape, patch):
    """Sliding-window tiles of a network-grid shape (padded up to the patch, as the reference pads)."""
    steps = ref.steps_for([max(s, p) for s, p in zip(shape, patch)], patch)
    return int(np.prod([len(s) for s in steps]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seg-model", required=True)
    ap.add_argument("--image", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--disable-tta", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--timings")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    t = {"import_s": time.perf_counter() - START}

    def phase(name, since):
        now = time.perf_counter()
        t[name] = now - since
        return now

    now = time.perf_counter()
    s, model = load(a.seg_model)
    now = phase("load_s", now)
    data, spacing, affine = ref.read_image(a.image)
    now = phase("read_s", now)
    pre, props = ref.preprocess(data, spacing, s)
    pre = np.ascontiguousarray(pre, dtype=np.float32)
    now = phase("preprocess_s", now)

    with torch.inference_mode():  # the whole window, as nnU-Net's predictor runs it (no autograd bookkeeping)
        logits, _ = ref.sliding_window(pre, s, model, torch.half, mirroring=not a.disable_tta)
    now = phase("sliding_window_s", now)
    _, labels, _ = ref.export(logits, props, s, False)
    now = phase("export_s", now)
    nib.save(nib.Nifti1Image(np.ascontiguousarray(labels.transpose(2, 1, 0)), affine), a.out)
    phase("write_s", now)
    t["total_in_process_s"] = time.perf_counter() - START
    axes = [] if a.disable_tta else list(s["mirroring_axes"])
    n_tiles = tiles(props["resampled_shape"], s["patch_size"])
    facts = {"network_grid": props["resampled_shape"], "patch": s["patch_size"], "tiles": n_tiles,
             "passes_per_tile": 2 ** len(axes), "network_passes": n_tiles * 2 ** len(axes), "threads": a.threads,
             "torch": torch.__version__, "timings": {k: round(v, 3) for k, v in t.items()}}
    if a.timings:
        with open(a.timings, "w") as f:
            json.dump(facts, f, indent=1)
    print("torch_segment: %s tiles x %d passes, %s" % (n_tiles, 2 ** len(axes), facts["timings"]))


if __name__ == "__main__":
    main()
