#!/usr/bin/env python3
"""Checks that two records folders hold the same run records apart from timing fields.

Usage: compare-records.py EXPECTED_DIR ACTUAL_DIR

Timing fields are what RunRecord::without_timing drops: the `timing` object and the `training.extra` entries whose
key ends in `_s`. Everything else (config, training statistics, every cell's counts, provenance) must be equal,
and both folders must hold the same record files. Exits 1 with the differences listed otherwise.
"""
import json
import sys
from pathlib import Path


def without_timing(record):
    record = dict(record)
    record.pop("timing", None)
    training = dict(record.get("training", {}))
    training["extra"] = {k: v for k, v in training.get("extra", {}).items() if not k.endswith("_s")}
    record["training"] = training
    return record


def first_difference(a, b, path="$"):
    if type(a) is not type(b):
        return f"{path}: {a!r} != {b!r}"
    if isinstance(a, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                return f"{path}.{key}: only in {'actual' if key in b else 'expected'}"
            found = first_difference(a[key], b[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} items != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            found = first_difference(x, y, f"{path}[{i}]")
            if found:
                return found
        return None
    return None if a == b else f"{path}: {a!r} != {b!r}"


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    expected, actual = Path(sys.argv[1]), Path(sys.argv[2])
    names = {p.name for p in expected.glob("*.json")}
    other = {p.name for p in actual.glob("*.json")}
    problems = [f"missing in {actual}: {n}" for n in sorted(names - other)]
    problems += [f"not in {expected}: {n}" for n in sorted(other - names)]
    for name in sorted(names & other):
        a = without_timing(json.loads((expected / name).read_text()))
        b = without_timing(json.loads((actual / name).read_text()))
        diff = first_difference(a, b)
        if diff:
            problems.append(f"{name}: {diff}")
    if not names:
        problems.append(f"no records in {expected}")
    if problems:
        print(f"records differ ({len(problems)} problems):", *problems[:20], sep="\n  ")
        sys.exit(1)
    print(f"{len(names)} records in {actual} equal those in {expected} apart from timing fields")


if __name__ == "__main__":
    main()
