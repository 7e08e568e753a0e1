#!/usr/bin/env bash
# Live test of deploy/slurm: brings up a one-node Slurm cluster on this machine (munged, slurmctld and slurmd
# started directly from a private folder, no systemd), then
#   1. submits a `tiny` run (seeds 1-3) as a 4-task array plus the dependent report job (submit.sh), and checks that the
#      records equal an unsharded run's apart from timing fields and that the report was written;
#   2. submits it again into a fresh folder, cancels array index 2 midway (scancel, after its first record), checks
#      that the set is incomplete and the report job never ran, resubmits the same command (--resume) and checks
#      that the completed set equals the unsharded run's and that the report was written.
# It stops every daemon it started, by pid, on exit. Needs root and Debian's `slurm-wlm` and `munge` packages
# (apt-get install -y slurm-wlm munge), python3, and a release build (cargo build --release).
# Environment: DRIFTBENCH_BIN (default target/release/driftbench), DRIFTBENCH_SLURM_PORT (slurmctld's port, slurmd
# uses the next one; default 6817), KEEP=1 keeps the work folder.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
here=$repo/deploy/slurm
bin=${DRIFTBENCH_BIN:-$repo/target/release/driftbench}
port=${DRIFTBENCH_SLURM_PORT:-6817}
started=$SECONDS

say() { echo "[slurm-test $((SECONDS - started))s] $*"; }
fail() { echo "[slurm-test] FAILED: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "needs root (the test cluster runs slurmctld, slurmd and the jobs as root)"
for cmd in mungekey munged slurmctld slurmd sbatch squeue scontrol scancel sinfo python3; do
    command -v "$cmd" >/dev/null || fail "\`$cmd\` not found: apt-get install -y slurm-wlm munge (and python3)"
done
[ -x "$bin" ] || fail "no driftbench binary at $bin: cargo build --release first, or set DRIFTBENCH_BIN"
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")

work=$(mktemp -d /tmp/driftbench-slurm.XXXXXX)
chmod 755 "$work"
ref_pid=''
cleanup() {
    local rc=$?
    set +e
    if [ -n "$ref_pid" ] && kill -0 "$ref_pid" 2>/dev/null; then kill "$ref_pid"; wait "$ref_pid" 2>/dev/null; fi
    if [ -f "$work/slurm.conf" ]; then
        # Cancel what is left of our own jobs on our own cluster, and give slurmd a moment to end their processes.
        SLURM_CONF=$work/slurm.conf scancel --user=root >/dev/null 2>&1
        for _ in $(seq 20); do [ -z "$(SLURM_CONF=$work/slurm.conf squeue -h 2>/dev/null)" ] && break; sleep 0.5; done
    fi
    if [ "$rc" != 0 ]; then
        for log in "$work"/slurmctld.log "$work"/slurmd.log "$work"/munged.log "$work"/*/logs/*.out; do
            [ -f "$log" ] && { echo "--- tail of $log"; tail -n 15 "$log"; }
        done
    fi
    # Stop the daemons local-cluster.sh started, newest first, by pid.
    [ ! -f "$work/pids" ] || "$here/local-cluster.sh" down "$work" >/dev/null 2>&1
    if [ "$rc" = 0 ] && [ -z "${KEEP:-}" ]; then rm -rf "$work"; else echo "[slurm-test] work folder kept: $work"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- The unsharded reference run, in the background while the cluster starts. Same options as the array tasks
# (one worker thread each), so that even the provenance's thread count matches.
run_opts=(--profile tiny --seeds 1,2,3)
"$bin" --quiet --threads 1 run "${run_opts[@]}" --generated --out "$work/ref/runs" --report "$work/ref/report" \
    >"$work/ref.log" 2>&1 &
ref_pid=$!

# --- The one-node cluster (munged, slurmctld, slurmd from $work; local-cluster.sh), on every CPU of this machine.
DRIFTBENCH_SLURM_PORT=$port "$here/local-cluster.sh" up "$work" >/dev/null 2>"$work/cluster.err" ||
    fail "the one-node cluster did not come up: $(tail -n 2 "$work/cluster.err")"
export SLURM_CONF=$work/slurm.conf
say "one-node cluster up: node $(hostname -s), $(nproc) CPUs, slurmctld on port $port"

# Waits until no job of the given ids is queued or running (at most $2 seconds).
wait_gone() {
    local ids=$1 limit=$2 t0=$SECONDS
    while [ -n "$(squeue -h -j "$ids" 2>/dev/null)" ]; do
        [ $((SECONDS - t0)) -lt "$limit" ] || fail "jobs $ids still queued after ${limit}s: $(squeue -j "$ids")"
        sleep 0.5
    done
}
# The final state of every task of a job, as `<array index or job id>=<state>` words in index order.
states() {
    scontrol -o show job "$1" | awk '{
        id = ""; task = ""; state = "";
        for (i = 1; i <= NF; i++) {
            if ($i ~ /^JobId=/) id = substr($i, 7);
            if ($i ~ /^ArrayTaskId=/) task = substr($i, 13);
            if ($i ~ /^JobState=/) state = substr($i, 10);
        }
        print (task != "" ? task : id) "=" state
    }' | sort -n | tr '\n' ' ' | sed 's/ $//'
}
count_records() { find "$1" -maxdepth 1 -name '*.json' | wc -l; }
submit() {
    local out
    out=$("$here/submit.sh" --bin "$bin" --shards 4 "${run_opts[@]}" --records "$1/runs" --report "$1/report" \
        --logs "$1/logs" "${@:2}" -- --generated) || fail "submit.sh failed: $out"
    echo "$out" | sed -n 's/^array=\([0-9]*\) report=\([0-9]*\)$/\1 \2/p'
}
wait_reference() {
    if [ -n "$ref_pid" ]; then
        wait "$ref_pid" || { cat "$work/ref.log"; fail "the unsharded reference run failed"; }
        ref_pid=''
        say "unsharded reference run: $(count_records "$work/ref/runs") records"
    fi
}

# --- 1. A 4-task array plus the report job.
read -r array report < <(submit "$work/a")
[ -n "$array" ] || fail "no job ids from submit.sh"
say "1. submitted array job $array (4 tasks) and report job $report (afterok:$array)"
wait_gone "$array,$report" 300
[ "$(states "$array")" = "0=COMPLETED 1=COMPLETED 2=COMPLETED 3=COMPLETED" ] ||
    fail "array tasks did not all complete: $(states "$array")"
[ "$(states "$report")" = "$report=COMPLETED" ] || fail "report job: $(states "$report")"
[ -s "$work/a/report/summary.md" ] || fail "the report job wrote no $work/a/report/summary.md"
wait_reference
python3 "$here/compare-records.py" "$work/ref/runs" "$work/a/runs"
say "1. ok: array tasks $(states "$array"); report job $(states "$report"), wrote $(ls "$work/a/report" | wc -l) files"

# --- 2. Cancel array index 2 midway, then resubmit. One task at a time (%1), so that the records written while
# index 2 runs are its own.
read -r array report < <(submit "$work/b" --array 0-3%1)
[ -n "$array" ] || fail "no job ids from submit.sh"
say "2. submitted array job $array (4 tasks, one at a time) and report job $report"
t0=$SECONDS
until [ "$(squeue -h -j "${array}_2" -o %T 2>/dev/null)" = RUNNING ]; do
    [ $((SECONDS - t0)) -lt 300 ] || fail "array task 2 never ran: $(states "$array")"
    sleep 0.1
done
before=$(count_records "$work/b/runs")
until [ "$(count_records "$work/b/runs")" -gt "$before" ]; do
    [ -n "$(squeue -h -j "${array}_2" 2>/dev/null)" ] || fail "array task 2 ended before it wrote a record"
    sleep 0.05
done
scancel "${array}_2"
say "2. cancelled array task ${array}_2 after it wrote its first record ($((before + 1)) records then)"
wait_gone "$array,$report" 300
got=$(states "$array")
[ "$got" = "0=COMPLETED 1=COMPLETED 2=CANCELLED 3=COMPLETED" ] || fail "unexpected array states: $got"
# kill_invalid_depend cancels the report job whose afterok can no longer be satisfied.
[ "$(states "$report")" = "$report=CANCELLED" ] || fail "report job after the cancel: $(states "$report")"
[ ! -e "$work/b/report/summary.md" ] || fail "a report was written although an array task was cancelled"
wait_reference
partial=$(count_records "$work/b/runs")
total=$(count_records "$work/ref/runs")
[ "$partial" -lt "$total" ] || fail "array task 2 finished before it was cancelled ($partial of $total records)"
say "2. after the cancel: $partial of $total records; array tasks $got; report job cancelled"
read -r array report < <(submit "$work/b")
[ -n "$array" ] || fail "no job ids from submit.sh"
say "2. resubmitted the same command: array job $array and report job $report"
wait_gone "$array,$report" 300
[ "$(states "$array")" = "0=COMPLETED 1=COMPLETED 2=COMPLETED 3=COMPLETED" ] ||
    fail "resubmitted array tasks did not all complete: $(states "$array")"
[ "$(states "$report")" = "$report=COMPLETED" ] || fail "report job: $(states "$report")"
[ -s "$work/b/report/summary.md" ] || fail "the report job wrote no $work/b/report/summary.md"
# The tasks' run tables: one row per record, marked `(resumed)` when it was already there.
rows=$(cat "$work/b/logs/shard-${array}"_*.out | grep -E '^[a-z]+-v[0-9]+ ' || true)
redone=$(grep -vc resumed <<<"$rows" || true)
skipped=$(grep -c resumed <<<"$rows" || true)
[ "$redone" = $((total - partial)) ] && [ "$skipped" = "$partial" ] ||
    fail "the resubmission redid $redone runs and skipped $skipped; expected $((total - partial)) and $partial"
python3 "$here/compare-records.py" "$work/ref/runs" "$work/b/runs"
say "2. ok: the resubmission redid the $redone missing runs, skipped $skipped, and the report was written"
say "passed"
