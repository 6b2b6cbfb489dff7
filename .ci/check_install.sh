#!/usr/bin/env bash
# Build a wheel, check the YAML files are inside, install it (not editable, with its
# declared dependencies) into a fresh venv and run the demo from outside the source tree.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python -m pip wheel -q --no-deps -w "$work/dist" "$repo"
wheel=$(ls "$work"/dist/msticnb_iforest-*.whl)
python - "$wheel" <<'PY'
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
needed = [
    "msticnb_iforest/frontends/anomalous_logon_users.yaml",
    "msticnb_iforest/sources/queries/anomalous_logons.yaml",
]
missing = [n for n in needed if n not in names]
assert not missing, f"wheel lacks {missing}"
print("wheel holds", sum(n.endswith(".yaml") for n in names), "YAML files")
PY

# A venv of its own (no system site packages): the wheel's declared dependencies
# must be enough. The known-good constraints keep it reproducible; pip's cache
# from the set-up step means nothing is downloaded twice.
python -m venv "$work/venv"
"$work/venv/bin/python" -m pip install -q "$wheel" -c "$repo/constraints.txt"
cd "$work"
"$work/venv/bin/python" - <<'PY'
import msticnb_iforest, sys
assert sys.prefix in msticnb_iforest.__file__, msticnb_iforest.__file__
print("installed at", msticnb_iforest.__file__)
PY
"$work/venv/bin/msticnb-iforest" demo --out "$work/out" --quiet
for f in outliers.csv incidents.csv user_days.csv report.html run.json; do
    test -s "$work/out/$f" || { echo "demo did not write $f"; exit 1; }
done
echo "fresh-venv demo wrote: $(ls "$work/out" | tr '\n' ' ')"
