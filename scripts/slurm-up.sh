#!/bin/sh
# Start a single-node Slurm cluster whose state, spool, pid files and logs all
# live in DIR, for tests that need a real sbatch/squeue/scancel/scontrol.
# Needs root and Debian (apt); works without systemd. Usage:
#     eval "$(scripts/slurm-up.sh DIR)"    # exports SLURM_CONF=DIR/slurm.conf
# Stop it with scripts/slurm-down.sh DIR. Use a fresh DIR per CI run: job ids
# restart at 1 because the state directory is wiped on every start. If this
# fails, daemons may be left running: call slurm-down.sh DIR regardless.
set -eu
if [ $# -ne 1 ]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi
# Only the export line goes to stdout (for eval); everything else to stderr.
exec 3>&1 1>&2
mkdir -p "$1"
dir=$(cd "$1" && pwd)
host=$(hostname -s)
munge_run=/run/munge

is_alive() { # PIDFILE
    [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

install_packages() {
    command -v sbatch >/dev/null && return
    apt-get update -q
    # The packages' service starts are refused without an init system; fine.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        --no-install-recommends slurmd slurmctld slurm-client munge
}

start_munge() {
    key=/etc/munge/munge.key
    [ -s "$key" ] || mungekey --create --force --keyfile="$key"
    chown munge:munge "$key"
    chmod 400 "$key"
    # systemd normally creates this; munged must own it to write its pid file.
    mkdir -p "$munge_run"
    chown munge:munge "$munge_run"
    if [ -S "$munge_run/munge.socket.2" ] &&
        munge -n </dev/null | unmunge >/dev/null 2>&1; then
        echo "munged already running; leaving it alone"
        # Keep the mark only if it names the munged we started ourselves.
        is_alive "$dir/munged.pid" || rm -f "$dir/munged.pid"
        return
    fi
    # Daemons must not inherit fd 3, the caller's $(...) pipe, or the
    # caller's eval would wait for them to exit.
    runuser -u munge -- munged --pid-file="$munge_run/munged.pid" 3>&-
    # Our own copy of the pid marks munged as ours for slurm-down.sh.
    cp "$munge_run/munged.pid" "$dir/munged.pid"
}

ensure_hostname_resolves() {
    getent hosts "$host" >/dev/null ||
        printf '127.0.0.1\t%s\n' "$host" >>/etc/hosts
}

real_memory_mb() {
    mb=$(slurmd -C 2>/dev/null | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')
    if [ -z "$mb" ]; then
        # MemTotal in kB, less 256 MB so slurmd never finds less than we claim.
        mb=$(awk '/^MemTotal:/ { print int($2 / 1024) - 256 }' /proc/meminfo)
    fi
    echo "$mb"
}

write_config() {
    # The node offers at least 8 CPUs whatever the machine has: test jobs
    # mostly sleep, and a throttle can only be seen when Slurm has room for
    # more tasks than the throttle lets run. config_overrides keeps slurmd
    # from draining a node that claims more than it has.
    cpus=$(nproc)
    [ "$cpus" -ge 8 ] || cpus=8
    mem=$(real_memory_mb)
    cat >"$dir/slurm.conf" <<CONF
ClusterName=yanex-ci
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
# No cgroups: CI containers rarely have a usable cgroup tree.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
MailProg=/bin/true
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
# The defaults start back-to-back jobs only every few seconds.
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
# Finished jobs stay visible to "squeue -t all" for 5 minutes.
MinJobAge=300
SlurmdParameters=config_overrides
KillWait=5
ReturnToService=2
JobRequeue=1
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
}

start_slurm() {
    export SLURM_CONF="$dir/slurm.conf"
    slurmctld -i 3>&-
    slurmd 3>&-
    tries=0
    until [ "$(sinfo -h -o %T 2>/dev/null)" = idle ]; do
        tries=$((tries + 1))
        if [ "$tries" -gt 120 ]; then
            echo "slurm-up: node not idle after 60 s; log tails follow" >&2
            tail -n 20 "$dir/slurmctld.log" "$dir/slurmd.log" || true
            exit 1
        fi
        sleep 0.5
    done
}

if is_alive "$dir/slurmctld.pid" || is_alive "$dir/slurmd.pid"; then
    echo "slurm-up: Slurm already runs from $dir; run slurm-down.sh first" >&2
    exit 1
fi
install_packages
start_munge
ensure_hostname_resolves
rm -rf "$dir/state" "$dir/spool" "$dir/slurmctld.log" "$dir/slurmd.log"
mkdir -p "$dir/state" "$dir/spool"
write_config
start_slurm
echo "slurm-up: $host idle, SLURM_CONF=$dir/slurm.conf"
echo "export SLURM_CONF=$dir/slurm.conf" >&3
