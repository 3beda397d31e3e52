#!/usr/bin/env bash
# The paper's comparison, end to end, on phantoms: the seeded R18-3P-96 MTDL and STDL models (exported by
# weights/export/export.py, as a user's own models would be) run over one phantom cohort with `predict --cohort`,
# synthetic labels (labels.py says how they are made) split into an internal and an external centre, and one
# `evaluate --study` over both models and all three tasks. The weights and labels are synthetic: the numbers show
# the machinery, not a diagnosis.
#
# usage: evaluation/examples/phantom/run.sh [WORKDIR] [CASES]   (default: a temporary folder, 40 cases; ~5 min on
#        2 cores). Needs /usr/bin/python3 with torch and h5py (Debian: python3-torch python3-h5py).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
work=${1:-$(mktemp -d)}
cases=${2:-40}
mkdir -p "$work"
cd "$work"
"$root/renal-mtl" phantom --out cohort --cases "$cases" --seed 2027 >/dev/null
/usr/bin/python3 "$root/weights/export/export.py" --named r18_3p_96_mtdl --seed 0 --condition --out mtdl.h5
/usr/bin/python3 "$root/weights/export/export.py" --named r18_3p_96_stdl --seed 1 --condition --out stdl.h5
for m in mtdl stdl; do
    "$root/renal-mtl" predict --model $m.h5 --cohort cohort/cases.csv --out $m-results.csv --device cpu
done
/usr/bin/python3 "$here/labels.py" cohort/truth.csv labels.csv
cp "$here/study.json" study.json
"$root/renal-mtl" evaluate --study study.json --out eval
echo "report: $work/eval/report.html"
