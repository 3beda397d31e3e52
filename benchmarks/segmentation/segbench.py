#!/usr/bin/env python3
"""Setup and bookkeeping of the segmentation benchmark (run.sh); the timed PyTorch peer is torch_segment.py.

  segbench.py model  --out S.h5 --ct CT --patch P --spacing MM [--seed N] [--threads N]
      nnU-Net's default 3d_fullres PlainConvUNet (6 stages, 32..320 features, 3x3x3 kernels, strides 1 then 2x2x2,
      as the planner gives an isotropic CT dataset such as KiTS23) with seeded random weights, written as an
      nnU-Net v2 model folder (make_nnunet_folder.py) beside S.h5, its last seg layer conditioned on CT as the
      U-Net fixtures do (make_unet_fixtures.py: every class wins somewhere), exported with export.py --nnunet
  segbench.py volume --ct CT --out V.nii.gz (--tiles 1|8 --seg-model S.h5 | --spacing MM)
      a centre crop of CT whose network grid for S.h5 gives 1 or 2x2x2 sliding-window tiles, or CT resampled
      (order 1) to MM isotropic voxels over the same field of view
  segbench.py machine --out M.json                  machine facts and the load average now
  segbench.py record --runs RUNS.jsonl --case MODEL VOLUME TTA --dir CASE_DIR
      one case's record from CASE_DIR (engine.time, torch.time: /usr/bin/time -v; torch.json; engine.nii.gz,
      torch.nii.gz; engine.rc, torch.rc), appended to RUNS.jsonl; prints one line
  segbench.py report --runs RUNS.jsonl --machine M.json --model NAME=S.h5 [--model ...] --threads N --out R.json
      the ratio table, and R.json with everything"""
import argparse
import json
import os
import platform
import re
import subprocess
import sys

import nibabel as nib
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
EXPORT = os.path.join(ROOT, "weights", "export")
sys.path.insert(0, EXPORT)
sys.path.insert(0, os.path.join(ROOT, "segmentation", "src", "test", "python"))

AGREEMENT = 0.999  # fraction of voxels with the same label below which a run's times are not a result

FEATURES = (32, 64, 128, 256, 320, 320)  # nnU-Net's planner: 32 doubling per stage, capped at 320 for 3-D


def cmd_model(a):
    import torch
    # before make_nnunet_folder, which puts weights/export first on sys.path: its make_fixtures.py would then
    # shadow the segmentation one that make_unet_fixtures imports
    import make_unet_fixtures as fx
    import make_nnunet_folder as mk
    import nnunet_reference as ref
    torch.set_num_threads(a.threads)
    folder = os.path.splitext(a.out)[0] + ".nnunet"
    n = len(FEATURES)
    net, _ = mk.make_model_folder(folder, "PlainConvUNet", False, a.seed, FEATURES, [a.patch] * 3,
                                  mirror=(0, 1, 2), spacing=[a.spacing] * 3, kernels=[[3, 3, 3]] * n,
                                  strides=[[1, 1, 1]] + [[2, 2, 2]] * (n - 1))
    s, _ = fx.settings_from_folder(folder)
    data, spacing, _ = ref.read_image(a.ct)
    pre, _ = ref.preprocess(data, spacing, s)
    fx.condition_seg_layer(folder, net, pre, s)
    tmp = a.out + ".part"
    subprocess.run([sys.executable, os.path.join(EXPORT, "export.py"), "--nnunet", folder, "--fold", "0",
                    "--out", tmp], check=True, stdout=subprocess.DEVNULL)
    os.replace(tmp, a.out)  # the cached model appears only complete
    print("segbench: wrote %s (nnU-Net folder %s)" % (a.out, folder))


def model_config(path):
    import h5py
    with h5py.File(path, "r") as f:
        return json.loads(f.attrs["renal_mtl_config"])


def save_like(img, data, affine, path):
    out = nib.Nifti1Image(np.ascontiguousarray(data), affine, img.header)
    out.set_qform(affine, code=1)
    out.set_sform(affine, code=1)
    nib.save(out, path)


def cmd_volume(a):
    img = nib.load(a.ct)
    data = np.asarray(img.dataobj)
    zooms = [float(z) for z in img.header.get_zooms()[:3]]  # file axes (x, y, z)
    if a.spacing:
        from scipy.ndimage import zoom
        shape = [int(round(n * z / a.spacing)) for n, z in zip(data.shape, zooms)]
        out = zoom(data.astype(np.float32), [s / n for s, n in zip(shape, data.shape)], order=1, mode="nearest")
        affine = img.affine.copy()
        affine[:3, :3] = affine[:3, :3] @ np.diag([a.spacing / z for z in zooms])
        save_like(img, np.round(out).astype(data.dtype), affine, a.out)
        print("segbench: %s %s at %.2f mm" % (a.out, list(out.shape), a.spacing))
        return
    cfg = model_config(a.seg_model)
    tf = cfg["transpose_forward"]
    per_axis = 1.0 if a.tiles == 1 else 1.5  # n = ceil((size - patch) / (patch / 2)) + 1 = 2 at 1.5 patches
    size = []
    for f in range(3):  # file axis f is nnU-Net axis 2 - f, which is transposed axis tf.index(2 - f)
        j = tf.index(2 - f)
        grid = cfg["patch_size"][j] * per_axis
        size.append(min(data.shape[f], int(np.floor(grid * cfg["spacing"][j] / zooms[f]))))
    lo = [(n - s) // 2 for n, s in zip(data.shape, size)]
    crop = data[tuple(slice(b, b + s) for b, s in zip(lo, size))]
    affine = img.affine.copy()
    affine[:3, 3] = (img.affine @ np.array(lo + [1]))[:3]
    save_like(img, crop, affine, a.out)
    print("segbench: %s %s (centre crop of %s for %d tile(s))" % (a.out, size, list(data.shape), a.tiles))


def cmd_machine(a):
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kb = int(re.search(r"MemTotal:\s+(\d+)", f.read()).group(1))
    java = subprocess.run([os.path.join(os.environ.get("JAVA_HOME", "/usr"), "bin", "java"), "-version"],
                          capture_output=True, text=True).stderr.splitlines()
    import torch
    git = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty", "--abbrev=12"],
                         capture_output=True, text=True).stdout.strip()
    facts = {"nproc": os.cpu_count(), "usable_cpus": len(os.sched_getaffinity(0)), "cpu_model": cpu,
             "mem_total_gib": round(mem_kb / 2 ** 20, 1), "load_average_before": os.getloadavg(),
             "kernel": platform.release(), "java": java[0] if java else "?", "torch": torch.__version__,
             "torch_mkldnn": torch.backends.mkldnn.is_available(), "commit": git}
    with open(a.out, "w") as f:
        json.dump(facts, f, indent=1)
    print("segbench: %s, %d CPUs (%d usable), %.1f GiB, load %s, commit %s" % (
        cpu, facts["nproc"], facts["usable_cpus"], facts["mem_total_gib"],
        " ".join("%.2f" % v for v in facts["load_average_before"]), git))


def parse_time(path):
    """Wall seconds and peak RSS (MiB) from /usr/bin/time -v's report."""
    text = open(path).read() if os.path.exists(path) else ""
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", text)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    if not wall or not rss:
        return None, None
    h, m, s = wall.groups()
    return int(h or 0) * 3600 + int(m) * 60 + float(s), int(rss.group(1)) / 1024


def compare(a_path, b_path):
    """Agreement of two label maps on the same grid: fraction of equal voxels, counts and Dice per label."""
    ia, ib = nib.load(a_path), nib.load(b_path)
    a, b = np.asarray(ia.dataobj), np.asarray(ib.dataobj)
    if a.shape != b.shape:
        return {"error": "shapes differ: %s vs %s" % (a.shape, b.shape), "equal_fraction": 0.0}
    labels = sorted(set(np.unique(a)) | set(np.unique(b)))
    dice = {}
    for v in labels:
        if v == 0:
            continue
        x, y = a == v, b == v
        dice[int(v)] = round(float(2 * np.sum(x & y) / max(1, x.sum() + y.sum())), 6)
    return {"equal_fraction": float(np.mean(a == b)), "differing_voxels": int(np.sum(a != b)),
            "voxels": int(a.size), "affine_equal": bool(np.allclose(ia.affine, ib.affine, atol=1e-4)),
            "counts_engine": {int(v): int(np.sum(a == v)) for v in labels},
            "counts_pytorch": {int(v): int(np.sum(b == v)) for v in labels}, "dice": dice}


def rc(path):
    return int(open(path).read().strip()) if os.path.exists(path) else None


def cmd_record(a):
    d = a.dir
    model, volume, tta = a.case
    ew, er = parse_time(os.path.join(d, "engine.time"))
    tw, tr = parse_time(os.path.join(d, "torch.time"))
    rec = {"model": model, "volume": volume, "tta": tta, "image": os.path.relpath(a.image, ROOT), "image_shape": None,
           "engine": {"rc": rc(os.path.join(d, "engine.rc")), "wall_s": ew, "peak_rss_mib": er},
           "pytorch": {"rc": rc(os.path.join(d, "torch.rc")), "wall_s": tw, "peak_rss_mib": tr}}
    if os.path.exists(a.image):
        rec["image_shape"] = list(nib.load(a.image).shape)
    tj = os.path.join(d, "torch.json")
    if os.path.exists(tj):
        with open(tj) as f:
            rec["pytorch"].update(json.load(f))
    ok = rec["engine"]["rc"] == 0 and rec["pytorch"]["rc"] == 0
    if ok:
        rec["agreement"] = compare(os.path.join(d, "engine.nii.gz"), os.path.join(d, "torch.nii.gz"))
        ok = rec["agreement"]["equal_fraction"] >= AGREEMENT and rec["agreement"].get("affine_equal", False)
    rec["ok"] = ok
    if ok:
        rec["time_ratio"] = ew / tw
        rec["rss_ratio"] = er / tr
    with open(a.runs, "a") as f:
        f.write(json.dumps(rec) + "\n")
    print("segbench: %s %s tta %s: %s" % (model, volume, tta, line(rec)))


def line(r):
    p = r["pytorch"]
    if not r["ok"]:
        ag = r.get("agreement")
        what = "not compared" if ag is None else ag.get("error") or "equal fraction %.6f" % ag["equal_fraction"]
        return "FAILED (engine rc %s, pytorch rc %s, %s)" % (r["engine"]["rc"], p["rc"], what)
    return "%d tiles x %d, engine %.1f s %.0f MiB, pytorch %.1f s %.0f MiB (window %.1f s), time %.3f, " \
           "memory %.2f, equal %.6f" % (p["tiles"], p["passes_per_tile"], r["engine"]["wall_s"],
                                        r["engine"]["peak_rss_mib"], p["wall_s"], p["peak_rss_mib"],
                                        p["timings"]["sliding_window_s"], r["time_ratio"], r["rss_ratio"],
                                        r["agreement"]["equal_fraction"])


ROW = "%-8s %-9s %-12s %-12s %5s %6s %-4s %8s %8s %8s %6s %8s %8s %6s %8s"


def cmd_report(a):
    with open(a.runs) as f:
        runs = [json.loads(x) for x in f if x.strip()]
    with open(a.machine) as f:
        machine = json.load(f)
    models = {}
    for spec in a.model:
        name, path = spec.split("=", 1)
        cfg = model_config(path)
        net = cfg["network"]
        models[name] = {"file": os.path.relpath(path, ROOT), "bytes": os.path.getsize(path), "name": cfg["name"],
                        "class": net["class"], "features_per_stage": net["features_per_stage"],
                        "kernel_sizes": net["kernel_sizes"], "strides": net["strides"],
                        "num_classes": net["num_classes"], "patch_size": cfg["patch_size"],
                        "spacing": cfg["spacing"], "mirroring_axes": cfg["mirroring_axes"]}
    machine["load_average_after"] = os.getloadavg()
    print(ROW % ("model", "volume", "image x,y,z", "grid z,y,x", "tiles", "passes", "tta", "engine s", "torch s",
                 "window s", "ratio", "eng MiB", "torchMiB", "ratio", "equal"))
    for r in runs:
        p = r["pytorch"]
        tta = r["tta"] if models.get(r["model"], {}).get("mirroring_axes") else "-"
        shape = "x".join(str(v) for v in r["image_shape"] or [])
        grid = "x".join(str(v) for v in p.get("network_grid", []))
        head = (r["model"], r["volume"], shape, grid, p.get("tiles", "?"), p.get("network_passes", "?"), tta)
        if not r["ok"]:
            print(ROW[:ROW.index(" %8s")] % head + " " + line(r))
            continue
        print(ROW % (head + ("%.1f" % r["engine"]["wall_s"], "%.1f" % p["wall_s"],
                             "%.1f" % p["timings"]["sliding_window_s"], "%.3f" % r["time_ratio"],
                             "%.0f" % r["engine"]["peak_rss_mib"], "%.0f" % p["peak_rss_mib"],
                             "%.2f" % r["rss_ratio"], "%.6f" % r["agreement"]["equal_fraction"])))
    print("ratio = engine / PyTorch (below 1: the engine is faster or smaller). engine s, torch s: whole processes "
          "(JVM or Python start, model load, preprocessing, sliding window, export, writing the mask); window s: "
          "PyTorch's sliding window alone; passes: network calls (tiles x mirrorings); peak RSS in MiB")
    print("load average before %s, after %s" % (
        " ".join("%.2f" % v for v in machine["load_average_before"]),
        " ".join("%.2f" % v for v in machine["load_average_after"])))
    result = {"benchmark": "segmentation", "threads": a.threads, "machine": machine, "models": models,
              "agreement_threshold": AGREEMENT, "runs": runs}
    with open(a.out, "w") as f:
        json.dump(result, f, indent=1)
    failed = [r for r in runs if not r["ok"]]
    if failed:
        print("segbench: %d of %d runs failed or disagree" % (len(failed), len(runs)))
        return 1
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("model")
    m.add_argument("--out", required=True)
    m.add_argument("--ct", required=True)
    m.add_argument("--patch", type=int, default=96)
    m.add_argument("--spacing", type=float, default=2.5)
    m.add_argument("--seed", type=int, default=1)
    m.add_argument("--threads", type=int, default=2)
    v = sub.add_parser("volume")
    v.add_argument("--ct", required=True)
    v.add_argument("--out", required=True)
    v.add_argument("--tiles", type=int, choices=[1, 8])
    v.add_argument("--seg-model")
    v.add_argument("--spacing", type=float)
    mc = sub.add_parser("machine")
    mc.add_argument("--out", required=True)
    r = sub.add_parser("record")
    r.add_argument("--runs", required=True)
    r.add_argument("--case", nargs=3, required=True, metavar=("MODEL", "VOLUME", "TTA"))
    r.add_argument("--dir", required=True)
    r.add_argument("--image", required=True)
    rp = sub.add_parser("report")
    rp.add_argument("--runs", required=True)
    rp.add_argument("--machine", required=True)
    rp.add_argument("--model", action="append", default=[], metavar="NAME=S.h5")
    rp.add_argument("--threads", type=int, required=True)
    rp.add_argument("--out", required=True)
    a = ap.parse_args()
    if a.cmd == "volume" and not (a.spacing or (a.tiles and a.seg_model)):
        ap.error("volume: --spacing MM, or --tiles N with --seg-model")
    return {"model": cmd_model, "volume": cmd_volume, "machine": cmd_machine, "record": cmd_record,
            "report": cmd_report}[a.cmd](a) or 0


if __name__ == "__main__":
    sys.exit(main())
