#!/usr/bin/env python3
"""Checks deploy/k8s/*.yaml without a cluster: each parses as YAML, the shard Job is an Indexed Job whose SHARDS
equals its completions and whose command reads JOB_COMPLETION_INDEX, and every Job mounts the claim that pvc.yaml
defines. Needs PyYAML (`import yaml`). Exits 1 naming the problem otherwise."""
import sys
from pathlib import Path

import yaml

here = Path(__file__).resolve().parent


def load(name):
    docs = [d for d in yaml.safe_load_all((here / name).read_text()) if d is not None]
    if len(docs) != 1:
        sys.exit(f"{name}: expected one document, found {len(docs)}")
    return docs[0]


def claims(job):
    return {v["persistentVolumeClaim"]["claimName"] for v in job["spec"]["template"]["spec"].get("volumes", [])
            if "persistentVolumeClaim" in v}


def main():
    pvc = load("pvc.yaml")
    shards = load("shards-job.yaml")
    report = load("report-job.yaml")
    problems = []
    if pvc["kind"] != "PersistentVolumeClaim" or "ReadWriteMany" not in pvc["spec"]["accessModes"]:
        problems.append("pvc.yaml: not a ReadWriteMany PersistentVolumeClaim")
    spec = shards["spec"]
    if shards["kind"] != "Job" or spec.get("completionMode") != "Indexed":
        problems.append("shards-job.yaml: not an Indexed Job")
    container = spec["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    if env.get("SHARDS") != str(spec.get("completions")):
        problems.append(f"shards-job.yaml: SHARDS={env.get('SHARDS')} but completions={spec.get('completions')}")
    command = " ".join(container.get("command", []) + container.get("args", []))
    for needed in ("$JOB_COMPLETION_INDEX/$SHARDS", "--resume", "--out /results/runs"):
        if needed not in command:
            problems.append(f"shards-job.yaml: the command lacks `{needed}`")
    if report["kind"] != "Job" or "/results/runs" not in report["spec"]["template"]["spec"]["containers"][0]["args"]:
        problems.append("report-job.yaml: not a Job reporting over /results/runs")
    for name, job in (("shards-job.yaml", shards), ("report-job.yaml", report)):
        if claims(job) != {pvc["metadata"]["name"]}:
            problems.append(f"{name}: mounts {sorted(claims(job))}, not the claim {pvc['metadata']['name']}")
    if problems:
        sys.exit("\n".join(problems))
    print(f"deploy/k8s: 3 manifests parse; Indexed Job of {spec['completions']} shards, report Job, shared claim")


if __name__ == "__main__":
    main()
