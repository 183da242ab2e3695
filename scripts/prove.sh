#!/bin/sh
# Run the fault-injection, stress and fuzz suites at every budget, the full
# ones (the slow marker) included, and print what they injected and checked.
# Extra arguments go to pytest; YANEX_FAULT_SEED=N fixes the first kill seed.
set -eu
cd "$(dirname "$0")/.."
. scripts/venv.sh
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e '.[dev]'
figures=$(mktemp)
trap 'rm -f "$figures"' EXIT
echo "yanex proof on $(uname -n): $(nproc) CPUs, $(uname -sr), $(date -u +%Y-%m-%dT%H:%MZ)"
started=$(date +%s)
status=0
YANEX_FIGURES="$figures" "$VENV/bin/python" -m pytest -m "slow or not slow" \
    tests/test_faults_*.py tests/test_stress.py tests/test_fuzz_*.py "$@" || status=$?
echo
"$VENV/bin/python" tests/faultkit/figures.py "$figures"
echo
echo "took $(($(date +%s) - started)) s; pytest exit status $status"
exit "$status"
