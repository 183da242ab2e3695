#!/bin/sh
# Run COMMAND with a single-node Slurm cluster up, as CI does:
#   - start it in a fresh scratch directory (slurm-up.sh installs Slurm from
#     Debian's packages when sbatch is missing; needs root);
#   - export SLURM_CONF, and YANEX_REQUIRE_SLURM=1 so that the Slurm tests
#     fail instead of skipping if the cluster does not answer;
#   - stop every daemon by its pid file on exit, whatever happened.
# Exits with COMMAND's status. Usage: scripts/ci-slurm.sh COMMAND [ARG...]
set -eu
if [ $# -lt 1 ]; then
    echo "usage: $0 COMMAND [ARG...]" >&2
    exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
scratch=$(mktemp -d "${TMPDIR:-/tmp}/yanex-ci-slurm.XXXXXX")

stop_cluster() {
    "$here/slurm-down.sh" "$scratch" || true
    rm -rf "$scratch"
}
trap stop_cluster EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# An assignment keeps slurm-up.sh's failure (eval "$(...)" would lose it).
exports=$("$here/slurm-up.sh" "$scratch")
eval "$exports"
export SLURM_CONF
export YANEX_REQUIRE_SLURM=1
status=0
"$@" || status=$?
exit "$status"
