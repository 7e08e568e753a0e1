#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, kept up for real work (test-local.sh starts it for its test and stops
# it at the end): munged, slurmctld and slurmd started directly from a private folder, no systemd.
#
#   deploy/slurm/local-cluster.sh up DIR     # start it; prints `export SLURM_CONF=DIR/slurm.conf`
#   eval "$(deploy/slurm/local-cluster.sh env DIR)"
#   deploy/slurm/submit.sh --profile full --shards 2 --records results/full/runs --report results/full ...
#   deploy/slurm/local-cluster.sh down DIR   # cancel what is left and stop the daemons
#
# How the committed `full` headline (results/full/) was made: see README.md, "Headline: the full profile".
# Needs root and Debian's `slurm-wlm` and `munge` packages. Environment: DRIFTBENCH_SLURM_PORT (slurmctld's port,
# slurmd uses the next one; default 6827, so that it does not meet test-local.sh's 6817).
set -euo pipefail
action=${1:-}
work=${2:-}
port=${DRIFTBENCH_SLURM_PORT:-6827}
fail() { echo "local-cluster: $*" >&2; exit 1; }
[ -n "$action" ] && [ -n "$work" ] || fail "usage: local-cluster.sh up|env|down DIR"

case "$action" in
up)
    [ "$(id -u)" = 0 ] || fail "needs root (the cluster runs slurmctld, slurmd and the jobs as root)"
    for cmd in mungekey munged slurmctld slurmd sinfo; do
        command -v "$cmd" >/dev/null || fail "\`$cmd\` not found: apt-get install -y slurm-wlm munge"
    done
    [ ! -e "$work/slurm.conf" ] || fail "$work already holds a cluster (local-cluster.sh down $work first)"
    mkdir -p "$work/munge" "$work/state" "$work/spool"
    work=$(cd "$work" && pwd)
    chmod 755 "$work"
    chmod 700 "$work/munge"
    rm -f "$work/munge/munge.key"   # a fresh key each time the folder hosts a cluster
    mungekey -c -k "$work/munge/munge.key" >/dev/null
    setsid munged --foreground --force --socket="$work/munge/munge.socket" --key-file="$work/munge/munge.key" \
        --pid-file="$work/munge/munged.pid" --log-file="$work/munged.log" --seed-file="$work/munge/munged.seed" \
        >"$work/munged.out" 2>&1 </dev/null &
    echo $! >"$work/pids"
    host=$(hostname -s)
    cat >"$work/slurm.conf" <<CONF
ClusterName=driftbench-local
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$work/munge/munge.socket
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
MinJobAge=86400
DependencyParameters=kill_invalid_depend
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
    export SLURM_CONF=$work/slurm.conf
    for _ in $(seq 50); do [ -S "$work/munge/munge.socket" ] && break; sleep 0.1; done
    [ -S "$work/munge/munge.socket" ] || fail "munged did not start (see $work/munged.log)"
    setsid slurmctld -D -c -i -f "$SLURM_CONF" >"$work/slurmctld.out" 2>&1 </dev/null &
    echo $! >>"$work/pids"
    setsid slurmd -D -f "$SLURM_CONF" >"$work/slurmd.out" 2>&1 </dev/null &
    echo $! >>"$work/pids"
    for _ in $(seq 120); do
        [ "$(sinfo -h -o %T 2>/dev/null)" = idle ] && break
        sleep 0.5
    done
    [ "$(sinfo -h -o %T 2>/dev/null)" = idle ] || fail "the node did not come up idle: $(sinfo 2>&1 | tail -2)"
    echo "local-cluster: node $host up with $(nproc) CPUs, slurmctld on port $port" >&2
    echo "export SLURM_CONF=$work/slurm.conf"
    ;;
env)
    [ -f "$work/slurm.conf" ] || fail "no cluster in $work"
    echo "export SLURM_CONF=$(cd "$work" && pwd)/slurm.conf"
    ;;
down)
    [ -f "$work/pids" ] || fail "no cluster in $work"
    SLURM_CONF=$work/slurm.conf scancel --user="$(id -un)" >/dev/null 2>&1 || true
    sleep 1
    # The daemons, newest first, by pid.
    tac "$work/pids" | while read -r pid; do
        kill "$pid" 2>/dev/null || continue
        for _ in $(seq 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
        if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; fi
    done
    rm -f "$work/pids" "$work/slurm.conf"
    echo "local-cluster: stopped" >&2
    ;;
*) fail "unknown action \`$action\` (up, env or down)" ;;
esac
