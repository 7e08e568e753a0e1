#!/usr/bin/env python3
"""PyTorch MLPs for driftbench through the external-solver protocol (needs ``pip install torch``; not run in CI).

One network per learning shape, the same shapes the built-in candle networks have:

- regression tasks (rocket): a ReLU MLP 5 -> 128 -> 128 -> 2 on the recorded launch trials, inputs and targets
  standardised (the built-in ``mlp``'s shape);
- sequence tasks (sorting): a padded MLP over the whole list (``max_len`` features, padding marked) with a
  per-position rank head, trained by cross-entropy over each position's range of correct ranks;
- policy tasks (navigation): imitation: the expert's demonstrations are played through the harness (``reset`` /
  ``step``: steps and deaths counted) and an MLP 326 -> 256 -> 256 -> 5 learns the expert's action.

    driftbench run --task rocket --external torch-mlp='python3 clients/python/examples/torch_mlp.py'
    driftbench run --task navigation --external torch-policy='python3 clients/python/examples/torch_mlp.py --episodes 2000'

Options: ``--steps N`` (optimiser steps, default 4000), ``--episodes N`` (navigation demonstrations played,
default 2000), ``--threads N`` (torch threads, default 1: driftbench runs several runs side by side).
"""
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from driftbench_solver import Output, Solver, run  # noqa: E402


def option(name, default):
    return int(sys.argv[sys.argv.index(name) + 1]) if name in sys.argv else default


def mlp(sizes):
    layers = []
    for a, b in zip(sizes, sizes[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers[:-1])


def fit(net, loss_fn, n, steps, batch=128, lr=3e-3, seed=0):
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    last = 0.0
    for _ in range(steps):
        idx = torch.randint(0, n, (min(batch, n),), generator=g)
        loss = loss_fn(idx)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        last = float(loss)
    return last


class TorchMlp(Solver):
    name = "torch-mlp"
    version = "1.0 (torch %s)" % torch.__version__

    def train(self, session):
        torch.manual_seed(session.seed)
        torch.set_num_threads(option("--threads", 1))
        self.kind, self.dims = session.shape()
        self.steps = option("--steps", 4000)
        session.stats["final_loss"] = getattr(self, "_train_" + self.kind)(session)

    def _train_VecRegression(self, session):
        x = torch.tensor([r["input"] for r in session.recorded])
        y = torch.tensor([r["target"] for r in session.recorded])
        self.xm, self.xs = x.mean(0), x.std(0).clamp_min(1e-6)
        self.ym, self.ys = y.mean(0), y.std(0).clamp_min(1e-6)
        x, y = (x - self.xm) / self.xs, (y - self.ym) / self.ys
        self.net = mlp([x.shape[1], 128, 128, y.shape[1]])
        return fit(self.net, lambda i: ((self.net(x[i]) - y[i]) ** 2).mean(), len(x), self.steps, seed=session.seed)

    def _pad(self, rows):
        width, n = self.dims["max_len"] * self.dims["features"], len(rows)
        flat = [v for row in rows for v in row]
        return flat + [0.0] * (width - len(flat)), [1.0] * n + [0.0] * (self.dims["max_len"] - n)

    def _train_SeqClass(self, session):
        L, C = self.dims["max_len"], self.dims["classes"]
        xs, masks, allowed = [], [], []
        for e in session.examples:
            if e["encoded"] is None:
                continue
            x, m = self._pad(e["encoded"]["features"])
            ok = torch.zeros(L, C, dtype=torch.bool)
            for p, (lo, hi) in enumerate(e["encoded"]["targets"]):
                ok[p, lo:hi + 1] = True
            xs.append(x)
            masks.append(m)
            allowed.append(ok)
        x, m, ok = torch.tensor(xs), torch.tensor(masks), torch.stack(allowed)
        self.net = mlp([x.shape[1] + L, 256, 256, 256, L * C])

        def loss(i):
            logp = self.net(torch.cat([x[i], m[i]], 1)).view(-1, L, C).log_softmax(-1)
            # The probability of the set of correct ranks, per filled position.
            nll = -torch.logsumexp(logp.masked_fill(~ok[i], -1e9), -1)
            return (nll * m[i]).sum() / m[i].sum()

        return fit(self.net, loss, len(x), self.steps, seed=session.seed)

    def _train_Policy(self, session):
        obs, acts = [], []
        for i in range(min(option("--episodes", 2000), len(session.examples))):
            demo = session.demonstration(i)
            if not demo:
                continue
            step = session.reset(i)
            for a in demo:
                obs.append(step["observation"])
                acts.append(a)
                step = session.step(a)
                if step["done"]:
                    break
        x, y = torch.tensor(obs), torch.tensor(acts)
        self.net = mlp([x.shape[1], 256, 256, self.dims["actions"]])
        ce = nn.CrossEntropyLoss()
        return fit(self.net, lambda i: ce(self.net(x[i]), y[i]), len(x), self.steps, seed=session.seed)

    @torch.no_grad()
    def answer(self, raw, encoded):
        if encoded is None:
            return None
        if self.kind == "VecRegression":
            x = (torch.tensor(encoded["input"]) - self.xm) / self.xs
            return Output((self.net(x) * self.ys + self.ym).tolist())
        rows = encoded["features"]
        if len(rows) > self.dims["max_len"]:
            return None
        L, C = self.dims["max_len"], self.dims["classes"]
        x, m = self._pad(rows)
        logp = self.net(torch.tensor([x + m])).view(L, C).log_softmax(-1)
        return Output(logp[: len(rows)].tolist())

    @torch.no_grad()
    def act(self, observation, raw, step):
        return int(self.net(torch.tensor(observation)).argmax())


if __name__ == "__main__":
    run(TorchMlp())
