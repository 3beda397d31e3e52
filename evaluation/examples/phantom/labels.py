"""Synthetic labels for the phantom study (evaluation/examples/phantom/run.sh).

The phantoms have no histology, stage or R.E.N.A.L. score, so the labels are made up, by fixed rules on what a
phantom does have (truth.csv: the analytic tumour volume and R.E.N.A.L. R points) and a seeded coin:
  ccrcc   1 with probability 0.7 (roughly ccRCC's share of renal cell carcinomas), independent of the image;
  stage   1 (III/IV) when the tumour is larger than 60 ml, a stand-in for advanced disease in larger tumours;
  renal   1 (high complexity) when R scores 3 (largest diameter >= 7 cm).
centre: the first 65% of cases (in case id order) are centre A, the internal cohort; the rest B, the external one.
The models' weights are random too, so their AUCs say nothing clinical: the study shows the machinery.

usage: labels.py TRUTH.csv LABELS.csv
"""
import csv
import random
import sys


def main(truth_path, out_path):
    with open(truth_path, newline="") as f:
        rows = sorted(csv.DictReader(f), key=lambda r: r["case_id"])
    coin = random.Random(20261130)
    internal = round(0.65 * len(rows))
    with open(out_path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["case_id", "centre", "ccrcc", "stage", "renal"])
        for i, r in enumerate(rows):
            w.writerow([r["case_id"], "A" if i < internal else "B", int(coin.random() < 0.7),
                        int(float(r["volume_ml"]) > 60), int(r["renal_r"] == "3")])


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
