#!/usr/bin/env python3
"""Markdown tables from committed benchmark results, for the README.

  bench_tables.py BENCH.json [--ops OPS.json] [--readme README.md]

BENCH.json is what `renal-mtl bench --json` wrote, OPS.json what benchmarks/run-ops.sh wrote. Prints the
tables; with --readme, replaces the text between <!-- bench:begin --> and <!-- bench:end --> there.
"""
import argparse
import json
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the repository: paths are shown relative to it

MIB = 1024 * 1024
VARIANTS = ["mtdl", "stdl_separate", "stdl_shared_arena"]


def rel(text):
    """Paths under the repository as the README shows them: relative to its root."""
    return text.replace(ROOT + os.sep, "")


def fmt(x, spec=".1f"):
    return "-" if x is None else format(x, spec)


def machine(b, path):
    m = b["machine"]
    peak = ", ".join(f"{p['gflops']:.0f} GFLOP/s at {p['threads']} thread(s)" for p in b["peak"]) or "not measured"
    # runs before the FMA loop existed have no fma_gflops
    fma = ", ".join(f"{p['fma_gflops']:.0f} GFLOP/s at {p['threads']} thread(s)" for p in b["peak"] if "fma_gflops" in p)
    fma = f" FMA-loop peak, the hardware bound ({b['peak'][0]['fma_method']}): {fma}." if fma else ""
    return [
        f"Measured {b.get('utc', '')} with `{rel(' '.join(b['command']))}` (raw JSON: `{rel(os.path.abspath(path))}`).",
        "",
        f"Machine: {m['cpu_model']}, {m['logical_cpus']} logical CPUs ({m['physical_cores']} cores), "
        f"oneDNN {m['onednn_version']} dispatching `{m['onednn_isa']}`, {m['jvm']}, {m['engine']}; "
        f"load average before {m['load_average_before']}, after {m['load_average_after']}. "
        f"Conv peak, the attainable rate that 'of peak' divides by ({b['peak'][0]['method'] if b['peak'] else ''}): "
        f"{peak}.{fma}",
        "",
    ]


def base_table(b):
    p = b["points"][0]
    out = [f"Base point: {p['size']}³ per phase, batch {p['batch']}, {p['tasks']} tasks, {p['threads']} thread(s), "
           f"{b['device']}.", "",
           "| model set | models | n | p50 ms | p90 ms | min ms | cases/s | GFLOP/forward | GFLOP/s | of conv peak "
           "| of FMA peak | planned MiB | measured RSS MiB |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for v in VARIANTS:
        r = p["variants"][v]
        lat = r["latency"]
        frac = r["fraction_of_peak"]
        fma = r.get("fraction_of_fma_peak")
        out.append(f"| {v} | {r['models']} | {lat['n']} | {lat['p50_ms']:.1f} | {fmt(lat['p90_ms'])} | "
                   f"{lat['min_ms']:.1f} | {r['throughput_cases_per_s']:.2f} | {r['flops_per_forward'] / 1e9:.1f} | "
                   f"{r['achieved_gflops_p50']:.1f} | {'-' if frac is None else f'{100 * frac:.0f}%'} | "
                   f"{'-' if fma is None else f'{100 * fma:.0f}%'} | "
                   f"{r['memory_planned']['total_bytes'] / MIB:.1f} | "
                   f"{r['memory_measured']['rss_model_peak_bytes'] / MIB:.1f} |")
    out += ["", "> " + b["headline"]["sentence"], ""]
    return out


def scaling(b):
    base = b["points"][0]
    out = []
    for axis in ["size", "batch", "tasks"]:
        line = [p for p in b["points"] if p["threads"] == base["threads"]
                and all(p[a] == base[a] for a in ["size", "batch", "tasks"] if a != axis)]
        if len(line) < 2:
            continue
        line.sort(key=lambda p: p[axis])
        out += [f"Scaling with {axis} (others at the base point): p50 ms and measured RSS MiB per model set; "
                "savings of MTDL against the separate STDL models.", "",
                f"| {axis} | " + " | ".join(f"{v} p50" for v in VARIANTS) + " | "
                + " | ".join(f"{v} RSS" for v in VARIANTS) + " | time saving | memory saving |",
                "|---" * 9 + "|"]
        for p in line:
            r = p["variants"]
            p50 = [r[v]["latency"]["p50_ms"] for v in VARIANTS]
            rss = [r[v]["memory_measured"]["rss_model_peak_bytes"] / MIB for v in VARIANTS]
            out.append(f"| {p[axis]} | " + " | ".join(f"{x:.1f}" for x in p50) + " | "
                       + " | ".join(f"{x:.0f}" for x in rss)
                       + f" | {100 * (1 - p50[0] / p50[1]):.0f}% | {100 * (1 - rss[0] / rss[1]):.0f}% |")
        out.append("")
    return out


def peers(b):
    c = b.get("compare")
    if not c:
        return []
    if "backends" not in c:
        return [f"Peers: {c.get('error', 'no result')}", ""]
    out = [f"Peers on the CPU, one JMH run of `benchmarks/run-cpu.sh` ({c['weights']}; raw: `{rel(c['results_json'])}`):", "",
           "| backend | median ms | min ms | renal-mtl / backend |", "|---|---|---|---|"]
    for name, r in sorted(c["backends"].items(), key=lambda e: e[0] != "renalMtl"):
        ratio = 1.0 if name == "renalMtl" else c["renal_mtl_over_peer_median"].get(name)
        out.append(f"| {name} | {r['median_ms']:.1f} | {r['min_ms']:.1f} | {fmt(ratio, '.3f')} |")
    if "libtorchOptimized_left_out" in c:
        out += ["", f"libtorchOptimized: {c['libtorchOptimized_left_out']}."]
    return out + [""]


def ops(path):
    with open(path) as f:
        o = json.load(f)
    out = [f"Op families on the CPU ({o['threads']} threads; `benchmarks/run-ops.sh`, raw: `{rel(os.path.abspath(path))}`); "
           "compute-bound ops against `peak-conv`, memory-bound ones against `bandwidth-add`, same run:", "",
           "| op | median ms | GFLOP/s | GB/s | judged by | of reference |", "|---|---|---|---|---|---|"]
    for r in o["ops"]:
        frac = r["fraction_of_reference"]
        out.append(f"| {r['op']} | {r['median_ms']:.3f} | {r['gflops']:.1f} | {r['gbytes_per_s']:.1f} | "
                   f"{r['judged_by']} | {'-' if frac is None else f'{100 * frac:.0f}%'} |")
    return out + [""]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bench")
    ap.add_argument("--ops")
    ap.add_argument("--readme")
    a = ap.parse_args()
    with open(a.bench) as f:
        b = json.load(f)
    lines = machine(b, a.bench) + base_table(b) + scaling(b) + peers(b) + (ops(a.ops) if a.ops else [])
    text = "\n".join(lines).rstrip() + "\n"
    if a.readme:
        with open(a.readme) as f:
            readme = f.read()
        block = re.compile(r"(<!-- bench:begin -->\n).*?(<!-- bench:end -->)", re.S)
        if not block.search(readme):
            raise SystemExit(f"{a.readme}: no <!-- bench:begin --> ... <!-- bench:end --> block")
        with open(a.readme, "w") as f:
            f.write(block.sub(lambda m: m.group(1) + text + m.group(2), readme))
    else:
        print(text, end="")


if __name__ == "__main__":
    main()
