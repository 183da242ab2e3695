#!/bin/sh
# Stop the Slurm cluster that scripts/slurm-up.sh DIR started: slurmd,
# slurmctld, and munged only if slurm-up.sh started it. Safe to run twice.
set -eu
if [ $# -ne 1 ]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi
dir=$1

# TERM the process named in PIDFILE, then KILL it if it outlives 5 s. The
# name check guards against a stale pid file whose pid has been reused.
stop() { # PIDFILE NAME
    [ -s "$1" ] || return 0
    pid=$(cat "$1")
    if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ]; then
        kill -TERM "$pid" 2>/dev/null || true
        tries=0
        while kill -0 "$pid" 2>/dev/null && [ "$tries" -lt 25 ]; do
            tries=$((tries + 1))
            sleep 0.2
        done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$1"
}

if [ -f "$dir/slurm.conf" ]; then
    SLURM_CONF="$dir/slurm.conf" scontrol shutdown >/dev/null 2>&1 || true
fi
stop "$dir/slurmd.pid" slurmd
stop "$dir/slurmctld.pid" slurmctld
stop "$dir/munged.pid" munged
