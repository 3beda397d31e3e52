#!/usr/bin/env python3
"""The verdicts of benchmarks/gpu/run.sh: whether a step's output shows that it checked what it should.

  run_checks.py junit LOG --json OUT [--min-tests N]   JUnit console output: no failure, no skip, no abort
  run_checks.py fixtures MANIFEST --min-cases N        make_fixtures.py wrote at least N cases
  run_checks.py java-bench JSON                        GpuBench: complete, every combination measured or refused
  run_checks.py torch-bench JSON                       torch_bench.py: complete, every row measured
  run_checks.py segment CPU.nii.gz CUDA.nii.gz         the two label maps agree on >= 99.9% of voxels
  run_checks.py summary --steps TSV --out DIR ...      gpu-run.json and the closing table

Each check prints one line (the reason, or what passed) and exits 0 when it passes, 1 when it does not.
A skipped or aborted test is a failure here: run.sh sets RENAL_MTL_REQUIRE_GPU, so a test that cannot run
fails on its own, and a skip means something escaped that rule.
"""

import argparse
import gzip
import json
import os
import re
import subprocess
import sys
import tempfile
import time

AGREEMENT = 0.999  # as benchmarks/segmentation: fewer voxels alike means the two runs are not the same result
# NIfTI-1 datatype codes of label maps and masks
NIFTI_DTYPES = {2: "u1", 4: "i2", 8: "i4", 16: "f4", 64: "f8", 256: "i1", 512: "u2", 768: "u4"}
SUMMARY = re.compile(r"\[\s*(\d+) (containers|tests) (found|skipped|started|aborted|successful|failed)\s*\]")


def junit_counts(text):
    """{'tests_failed': n, 'containers_found': n, ...} from the JUnit console's closing summary."""
    counts = {}
    for n, kind, what in SUMMARY.findall(text):
        counts["%s_%s" % (kind, what)] = int(n)
    return counts


def junit_verdict(counts, min_tests):
    """(passed, reason) for a JUnit console run's counts."""
    if "tests_found" not in counts:
        return False, "no JUnit summary in the output (the console did not finish)"
    bad = ["%d %s %s" % (counts.get("%s_%s" % (k, w), 0), k, w)
           for k in ("tests", "containers") for w in ("failed", "aborted", "skipped")
           if counts.get("%s_%s" % (k, w), 0)]
    ok = counts.get("tests_successful", 0)
    if bad:
        return False, "%s (%d successful)" % (", ".join(bad), ok)
    if ok < min_tests:
        return False, "only %d tests ran, expected at least %d" % (ok, min_tests)
    return True, "%d tests passed, none failed, skipped or aborted" % ok


def java_bench_verdict(doc):
    """(passed, reason) for GpuBench's JSON."""
    if not doc.get("complete"):
        return False, "java-bench.json is not complete (the run was cut short)"
    results = doc.get("results") or []
    measured = [r for r in results if "p50_ms" in r]
    problems = []
    for r in results:
        what = "%s b=%s %s" % (r.get("model"), r.get("batch"), r.get("precision"))
        if "error" in r:
            problems.append("%s: %s" % (what, r["error"]))
        elif "refused" not in r and "p50_ms" not in r:
            problems.append("%s: not measured" % what)
        elif r.get("mallocs_during_timing", 0) != 0:
            problems.append("%s: %s cudaMalloc during timing" % (what, r["mallocs_during_timing"]))
    if problems:
        return False, "; ".join(problems)[:600]
    if not measured:
        return False, "no combination was measured"
    refused = len(results) - len(measured)
    return True, "%d combinations measured, %d refused by design" % (len(measured), refused)


def torch_bench_verdict(doc):
    """(passed, reason) for torch_bench.py's JSON."""
    if not doc.get("complete"):
        return False, "torch-bench.json is not complete (the run was cut short)"
    rows = doc.get("results") or []
    bad = ["%s b=%s %s %s: %s %s" % (r.get("model"), r.get("batch"), r.get("precision"), r.get("variant"),
                                     r.get("status"), r.get("error", "")) for r in rows if r.get("status") != "ok"]
    if bad:
        return False, ("%d of %d rows not measured: " % (len(bad), len(rows)) + "; ".join(bad))[:600]
    if not rows:
        return False, "no row was measured"
    return True, "%d rows measured" % len(rows)


def nifti_labels(path):
    """(shape, flat numpy array) of a NIfTI-1 file, .nii or .nii.gz, read without nibabel (the GPU image has none)."""
    import numpy as np
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    endian = "<" if np.frombuffer(raw[:4], "<i4")[0] == 348 else ">"
    dims = np.frombuffer(raw[40:56], endian + "i2")
    shape = tuple(int(d) for d in dims[1:1 + dims[0]])
    code = int(np.frombuffer(raw[70:72], endian + "i2")[0])
    if code not in NIFTI_DTYPES:
        raise ValueError("%s: NIfTI datatype %d is not a label type" % (path, code))
    offset = int(np.frombuffer(raw[108:112], endian + "f4")[0])
    data = np.frombuffer(raw, endian + NIFTI_DTYPES[code], count=int(np.prod(shape)), offset=offset)
    return shape, data


def segment_verdict(cpu, cuda):
    """(passed, reason): the CUDA label map against the CPU engine's on the same weights and image."""
    (shape_a, a), (shape_b, b) = nifti_labels(cpu), nifti_labels(cuda)
    if shape_a != shape_b:
        return False, "label maps differ in shape: cpu %s, cuda %s" % (shape_a, shape_b)
    same = float((a == b).mean())
    labelled = int((a != 0).sum())
    if labelled == 0:
        return False, "the CPU label map is all background: nothing was compared"
    return same >= AGREEMENT, "labels agree on %.4f%% of %d voxels (need %.1f%%); %d labelled voxels on the CPU" % (
        100 * same, a.size, 100 * AGREEMENT, labelled)


def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return None
    except ValueError as e:
        return {"unreadable": str(e)}


def write_json(path, doc):
    """Atomically: a reader never sees half a file."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), prefix=".run_checks.", suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def read_steps(path):
    """run.sh's steps.tsv: name, status, seconds, budget, reason per line."""
    steps = []
    with open(path) as f:
        for line in f:
            name, status, secs, budget, reason = (line.rstrip("\n").split("\t") + [""] * 5)[:5]
            steps.append({"step": name, "status": status, "seconds": int(secs or 0), "budget_s": int(budget or 0),
                          "reason": reason})
    return steps


def verdict(steps):
    """(result, exit code): pass 0 when every step passed; partial 3 when every selected step passed but
    some were not selected (--only); fail 1 otherwise."""
    if any(s["status"] not in ("pass", "not-selected") for s in steps):
        return "fail", 1
    if any(s["status"] == "not-selected" for s in steps):
        return "partial", 3
    return "pass", 0


def cmd(argv):
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=20).stdout.strip() or None
    except Exception:
        return None


def summary(a):
    steps = read_steps(a.steps)
    result, code = verdict(steps)
    report = {
        "result": result,
        "exit_code": code,
        "mode": a.mode,
        "finished_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "elapsed_s": a.elapsed,
        "deadline_s": a.deadline,
        "commit": a.commit,
        "steps": steps,
        "environment": {
            "nvidia_smi": cmd(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"]),
            "nvcc": ((cmd(["nvcc", "--version"]) or "").splitlines() or [None])[-1],
            "torch_env": open(a.torch_env).read().strip().splitlines() if os.path.exists(a.torch_env) else None,
            "java": a.java or None,
            "ld_library_path": a.ld_library_path,
        },
    }
    for key, name in (("java_tests", "java-tests.counts.json"), ("paper", "paper.counts.json")):
        report[key] = load_json(os.path.join(a.work, name))
    for key, name in (("kernel_check", "kernel-check.json"), ("java_bench", "java-bench.json"),
                      ("torch_bench", "torch-bench.json")):
        report[key] = load_json(os.path.join(a.out, name))
    write_json(os.path.join(a.out, "gpu-run.json"), report)
    width = max(len(s["step"]) for s in steps) if steps else 4
    print("%-*s  %-12s %7s %7s  %s" % (width, "step", "status", "seconds", "budget", "reason"))
    for s in steps:
        print("%-*s  %-12s %7d %7d  %s" % (width, s["step"], s["status"].upper(), s["seconds"], s["budget_s"],
                                           s["reason"]))
    failed = [s["step"] for s in steps if s["status"] not in ("pass", "not-selected")]
    print("run.sh: %s in %ss (deadline %ss)%s; exit %d" % (
        result.upper(), a.elapsed, a.deadline, (": failed " + ", ".join(failed)) if failed else "", code))
    return code


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="what", required=True)
    j = sub.add_parser("junit")
    j.add_argument("log")
    j.add_argument("--json", required=True)
    j.add_argument("--min-tests", type=int, default=1)
    fx = sub.add_parser("fixtures")
    fx.add_argument("manifest")
    fx.add_argument("--min-cases", type=int, required=True)
    for name in ("java-bench", "torch-bench"):
        sub.add_parser(name).add_argument("json")
    sg = sub.add_parser("segment")
    sg.add_argument("cpu")
    sg.add_argument("cuda")
    s = sub.add_parser("summary")
    for opt in ("--steps", "--out", "--work", "--torch-env", "--java", "--ld-library-path", "--commit", "--mode"):
        s.add_argument(opt, default="")
    s.add_argument("--elapsed", type=int, default=0)
    s.add_argument("--deadline", type=int, default=0)
    a = ap.parse_args(argv)
    if a.what == "summary":
        return summary(a)
    if a.what == "junit":
        with open(a.log, errors="replace") as f:
            counts = junit_counts(f.read())
        ok, reason = junit_verdict(counts, a.min_tests)
        write_json(a.json, dict(counts, passed=ok, reason=reason))
    elif a.what == "segment":
        try:
            ok, reason = segment_verdict(a.cpu, a.cuda)
        except (OSError, ValueError) as e:
            ok, reason = False, "cannot compare the label maps: %s" % e
    elif a.what == "fixtures":
        doc = load_json(a.manifest) or {}
        n = len(doc.get("cases") or [])
        ok, reason = n >= a.min_cases, "%d fixture cases (need %d)" % (n, a.min_cases)
    else:
        doc = load_json(a.json)
        if doc is None:
            ok, reason = False, "%s was not written" % a.json
        else:
            ok, reason = (java_bench_verdict if a.what == "java-bench" else torch_bench_verdict)(doc)
    print(reason)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
