#!/usr/bin/env python3
"""Nearest-neighbour and lookup solver for driftbench, in pure Python (standard library only).

The purest local generaliser, on every learning shape the harness offers:

- sequence tasks (sorting): remembers each training list's answer pattern (the output slot of each position) and
  answers a new list with the pattern of the nearest training list of the same length (Euclidean distance between
  the encoded features), as one-hot raw outputs the harness decodes; a length never seen gets no answer;
- regression tasks (rocket): answers with the target of the nearest recorded example (the launch trials the
  built-in networks train on, inputs standardised), as raw outputs;
- policy tasks (navigation): plays the expert's demonstration of each training instance through the harness
  (``reset`` / ``step``, every step and death counted), remembers the action taken at each observation, and acts
  by lookup: the exact observation, else the 3x3 neighbourhood of the agent with the goal's direction, else the
  goal's direction alone, else waits.

Run it with ``driftbench run --task sorting --external nearest='python3 clients/python/examples/nearest.py'``.
``--max-episodes N`` caps the navigation episodes played in training (default: every training instance).
"""
import math
import os
import sys
from collections import Counter, defaultdict

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from driftbench_solver import Output, Solver, run  # noqa: E402


class KDTree:
    """A k-d tree over points (tuples), with buckets at the leaves; nearest() returns the index of the nearest
    point (the first one, among equally near points in build order)."""

    LEAF = 16

    def __init__(self, points):
        self.points = points
        self.root = self._build(list(range(len(points))))

    def _build(self, idx):
        if len(idx) <= self.LEAF:
            return (None, sorted(idx))
        pts = self.points
        dims = len(pts[idx[0]])
        spreads = [max(pts[i][d] for i in idx) - min(pts[i][d] for i in idx) for d in range(dims)]
        axis = max(range(dims), key=lambda d: spreads[d])
        if spreads[axis] == 0:
            return (None, sorted(idx))
        idx.sort(key=lambda i: pts[i][axis])
        mid = len(idx) // 2
        return (axis, pts[idx[mid]][axis], self._build(idx[:mid]), self._build(idx[mid:]))

    def nearest(self, q):
        best = [math.inf, -1]
        pts = self.points

        def visit(node):
            if node[0] is None:
                for i in node[1]:
                    d = 0.0
                    for a, b in zip(pts[i], q):
                        d += (a - b) * (a - b)
                    if d < best[0] or (d == best[0] and i < best[1]):
                        best[0], best[1] = d, i
                return
            axis, split, left, right = node
            diff = q[axis] - split
            near, far = (left, right) if diff < 0 else (right, left)
            visit(near)
            if diff * diff <= best[0]:
                visit(far)

        visit(self.root)
        return best[1]


def assign_slots(targets):
    """One class per position, distinct, each within its position's [lo, hi] range (greedy by upper end)."""
    order = sorted(range(len(targets)), key=lambda p: (targets[p][1], targets[p][0], p))
    used, slots = set(), [0] * len(targets)
    for p in order:
        lo, hi = targets[p]
        k = next((k for k in range(lo, hi + 1) if k not in used), None)
        if k is None:
            return [lo for lo, _ in targets]
        used.add(k)
        slots[p] = k
    return slots


class Nearest(Solver):
    name = "nearest"
    version = "1.0"

    def __init__(self, max_episodes=None):
        self.max_episodes = max_episodes

    def train(self, session):
        self.kind, self.dims = session.shape()
        getattr(self, "_train_" + self.kind)(session)

    # Sequence tasks: per-length nearest list.
    def _train_SeqClass(self, session):
        by_len = defaultdict(lambda: ([], []))
        for ex in session.examples:
            enc = ex["encoded"]
            if enc is None:
                continue
            flat = tuple(x for row in enc["features"] for x in row)
            points, slots = by_len[len(enc["targets"])]
            points.append(flat)
            slots.append(assign_slots(enc["targets"]))
        self.trees = {n: (KDTree(p), s) for n, (p, s) in by_len.items()}
        session.stats["lengths_seen"] = len(self.trees)

    # Regression tasks: nearest recorded example, inputs standardised.
    def _train_VecRegression(self, session):
        inputs = [r["input"] for r in session.recorded]
        self.targets = [r["target"] for r in session.recorded]
        dims = len(inputs[0]) if inputs else 0
        n = max(len(inputs), 1)
        self.mean = [sum(x[d] for x in inputs) / n for d in range(dims)]
        std = [math.sqrt(sum((x[d] - self.mean[d]) ** 2 for x in inputs) / n) for d in range(dims)]
        self.scale = [1.0 / s if s > 1e-9 else 0.0 for s in std]
        self.tree = KDTree([self._standard(x) for x in inputs])
        session.stats["recorded_examples"] = len(inputs)

    def _standard(self, x):
        return tuple((v - m) * s for v, m, s in zip(x, self.mean, self.scale))

    # Policy tasks: lookup tables filled by playing the expert's demonstrations.
    def _train_Policy(self, session):
        self.exact = defaultdict(Counter)
        self.local = defaultdict(Counter)
        self.heading = defaultdict(Counter)
        played = 0
        for i in range(len(session.examples)):
            if self.max_episodes is not None and played >= self.max_episodes:
                break
            demo = session.demonstration(i)
            if not demo:
                continue
            played += 1
            step = session.reset(i)
            for a in demo:
                self._remember(step["observation"], a)
                step = session.step(a)
                if step["done"]:
                    break
        session.stats["episodes_played"] = played
        session.stats["observations_seen"] = len(self.exact)

    def _keys(self, obs):
        # navigation's observation: 4 maps of w x w cells around the agent, then the goal vector (2 values).
        w = int(round(math.sqrt((len(obs) - 2) / 4)))
        c = w // 2
        cells = [(c + dy) * w + (c + dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
        goal = tuple((v > 0) - (v < 0) for v in obs[-2:])
        local = tuple(round(obs[m * w * w + k], 3) for m in range(4) for k in cells) + goal
        return tuple(obs), local, goal

    def _remember(self, obs, action):
        exact, local, goal = self._keys(obs)
        self.exact[exact][action] += 1
        self.local[local][action] += 1
        self.heading[goal][action] += 1

    def answer(self, raw, encoded):
        if encoded is None:
            return None
        if self.kind == "SeqClass":
            features = encoded["features"]
            tree = self.trees.get(len(features))
            if tree is None:
                return None
            kd, slots = tree
            pattern = slots[kd.nearest(tuple(x for row in features for x in row))]
            classes = self.dims["classes"]
            return Output([[0.0 if k == s else -1e9 for k in range(classes)] for s in pattern])
        if self.kind == "VecRegression":
            if not self.targets:
                return None
            return Output(self.targets[self.tree.nearest(self._standard(encoded["input"]))])
        return None

    def act(self, observation, raw, step):
        for table, key in zip((self.exact, self.local, self.heading), self._keys(observation)):
            if key in table:
                return table[key].most_common(1)[0][0]
        return self.dims["actions"] - 1


if __name__ == "__main__":
    cap = None
    if "--max-episodes" in sys.argv:
        cap = int(sys.argv[sys.argv.index("--max-episodes") + 1])
    run(Nearest(max_episodes=cap))
