#!/usr/bin/env bash
# Submits a driftbench run to Slurm: a job array with one shard per task (shard.sbatch), then the report job with
# --dependency=afterok:<array> (report.sbatch). Prints `array=<job id> report=<job id>` on its last line.
#
#   deploy/slurm/submit.sh --records /shared/driftbench/runs --report /shared/driftbench/report \
#       --shards 16 --profile full [--task rocket ...] [--seeds 1,2,3] [-- more `driftbench run` options]
#
# Resubmitting the same command after a task failed or was cancelled redoes only the missing records (--resume).
# The first submission's report job then never starts (its dependency cannot be satisfied): `scancel` it unless
# the cluster sets DependencyParameters=kill_invalid_depend.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

usage() {
    cat <<'USAGE'
Usage: submit.sh --records DIR [options] [-- more `driftbench run` options, e.g. --generated --solver mlp]
  --records DIR   records folder shared by every node (required); every array task writes into it
  --report DIR    report folder written by the dependent job (default: DIR/../report)
  --shards N      array tasks, one shard each (default 4)
  --profile P     quick, full or tiny (default quick)
  --task T        task id or name (repeatable; default every task)
  --seeds LIST    comma-separated seeds (default: the profile's)
  --datasets DIR  canonical test sets, visible from every node (default datasets, relative to the working folder)
  --bin PATH      the driftbench binary, visible from every node (default target/release/driftbench)
  --cpus N        CPUs per array task = worker threads of each shard (default 1)
  --logs DIR      folder for Slurm's output files (default DIR/../slurm-logs)
  --array SPEC    submit only these indices or throttle, e.g. 2 or 0-15%4 (shards are then slurm/N of --shards)
  --sbatch OPT    extra sbatch option for both jobs (repeatable), e.g. --sbatch --partition=cpu --sbatch --time=2:00:00
USAGE
}

records='' report='' shards=4 profile=quick seeds='' datasets=datasets bin=target/release/driftbench cpus=1 logs=''
array='' tasks=() extra=()
while [ $# -gt 0 ]; do
    case "$1" in
        --records) records=${2:?--records needs a folder}; shift 2 ;;
        --report) report=${2:?--report needs a folder}; shift 2 ;;
        --shards) shards=${2:?--shards needs a number}; shift 2 ;;
        --profile) profile=${2:?--profile needs a name}; shift 2 ;;
        --task) tasks+=(--task "${2:?--task needs a name}"); shift 2 ;;
        --seeds) seeds=${2:?--seeds needs a list}; shift 2 ;;
        --datasets) datasets=${2:?--datasets needs a folder}; shift 2 ;;
        --bin) bin=${2:?--bin needs a path}; shift 2 ;;
        --cpus) cpus=${2:?--cpus needs a number}; shift 2 ;;
        --logs) logs=${2:?--logs needs a folder}; shift 2 ;;
        --array) array=${2:?--array needs a spec}; shift 2 ;;
        --sbatch) extra+=("${2:?--sbatch needs an option}"); shift 2 ;;
        -h|--help) usage; exit 0 ;;
        --) shift; break ;;
        *) echo "submit.sh: unknown option \`$1\`" >&2; usage >&2; exit 2 ;;
    esac
done
fail() { echo "submit.sh: $*" >&2; exit 2; }
[ -n "$records" ] || fail "--records is required (a folder every node can write)"
[[ "$shards" =~ ^[1-9][0-9]*$ ]] || fail "--shards must be a positive integer, not \`$shards\`"
[[ "$cpus" =~ ^[1-9][0-9]*$ ]] || fail "--cpus must be a positive integer, not \`$cpus\`"
command -v sbatch >/dev/null || fail "sbatch not found: run this on a Slurm submit host"
[ -x "$bin" ] || command -v "$bin" >/dev/null || fail "driftbench binary \`$bin\` not found (build it with cargo build --release, or give --bin)"
# Absolute paths: the jobs may start in another folder on another node.
abs() { case "$1" in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
records=$(abs "$records")
report=$(abs "${report:-$records/../report}")
logs=$(abs "${logs:-$records/../slurm-logs}")
datasets=$(abs "$datasets")
if [ -x "$bin" ]; then bin=$(abs "$bin"); fi
mkdir -p "$records" "$logs"

run_args=(--profile "$profile" --out "$records" --datasets "$datasets" "${tasks[@]}")
[ -z "$seeds" ] || run_args+=(--seeds "$seeds")
run_args+=("$@")
if [ -n "$array" ]; then
    shard="slurm/$shards"
else
    array="0-$((shards - 1))"
    shard=slurm
fi
array_id=$(DRIFTBENCH_BIN="$bin" DRIFTBENCH_SHARD="$shard" sbatch --parsable --export=ALL --array="$array" \
    --cpus-per-task="$cpus" --chdir="$PWD" --output="$logs/shard-%A_%a.out" "${extra[@]}" \
    "$here/shard.sbatch" "${run_args[@]}")
array_id=${array_id%%;*}
report_id=$(DRIFTBENCH_BIN="$bin" sbatch --parsable --export=ALL --dependency="afterok:$array_id" --chdir="$PWD" \
    --output="$logs/report-%j.out" "${extra[@]}" "$here/report.sbatch" --in "$records" --out "$report")
report_id=${report_id%%;*}
echo "submitted array job $array_id ($array: shard $shard of $shards, profile $profile) and report job $report_id"
echo "records: $records  report: $report  logs: $logs"
echo "array=$array_id report=$report_id"
