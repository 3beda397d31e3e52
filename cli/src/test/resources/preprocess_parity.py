"""Compares the engine's `predict --save-input` files with weights/export/renal_mtl/preprocess.py on the same
inputs (PreprocessParityTest). Prints one JSON object:

  roi              preprocess.py's NetworkInput.roi_report(), to be equal to the report's "roi"
  max_abs_diff     per phase, max |engine - preprocess.py| over the network input
  bound            per phase, one float32 rounding of the interpolated HU (spacing of float32 at the window's
                   largest |HU|, divided by the normalisation's divisor) plus one of the output value
  differing        per phase, how many values are not bit-identical
  affine_ulps      max |sform - affine| of the saved header in units of float32 spacing at each entry (the
                   engine stores the network grid's float64 affine as float32: <= 0.5 when they agree)
  shape            the network input's (P, D, H, W)

usage: preprocess_parity.py EXPORT_DIR MODEL.h5 SAVE_INPUT_DIR MASK LABEL none|ras NAME=FILE [NAME=FILE ...]
"""

import json
import os
import sys

import nibabel as nib
import numpy as np


def main(argv):
    export_dir, model, saved, mask, label, reorient = argv[:6]
    names, files = zip(*(a.split("=", 1) for a in argv[6:]))
    sys.path.insert(0, export_dir)
    from renal_mtl.preprocess import PreprocessingConfig, preprocess

    cfg = PreprocessingConfig.from_h5(model)
    x = preprocess(list(files), mask, cfg, label=int(label), reorient=reorient)
    divisor = cfg.std if cfg.normalisation == "zscore" else cfg.hu_high - cfg.hu_low
    hu_ulp = float(np.spacing(np.float32(max(abs(cfg.hu_low), abs(cfg.hu_high)))))
    out = {"roi": x.roi_report(), "shape": list(x.data.shape), "max_abs_diff": [], "bound": [], "differing": [],
           "affine_ulps": 0.0}
    for p, name in enumerate(names):
        img = nib.load(os.path.join(saved, "input_%s.nii.gz" % name))
        engine = np.asarray(img.dataobj, dtype=np.float32).transpose(2, 1, 0)  # (W, H, D) -> (D, H, W)
        ours = x.data[p]
        assert engine.shape == ours.shape, (engine.shape, ours.shape)
        diff = np.abs(engine.astype(np.float64) - ours.astype(np.float64))
        out["max_abs_diff"].append(float(diff.max()))
        out["bound"].append(hu_ulp / divisor + float(np.spacing(np.abs(ours).max())))
        out["differing"].append(int((engine != ours).sum()))
        sform = img.header.get_sform()
        ulps = np.abs(sform - x.affine) / np.maximum(np.spacing(np.abs(x.affine).astype(np.float32)), 1e-45)
        out["affine_ulps"] = max(out["affine_ulps"], float(ulps.max()))
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])
