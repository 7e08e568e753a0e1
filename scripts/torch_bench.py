"""The project's PyTorch reference (run by scripts/side_by_side.py; see docs/performance.md). PyTorch is optional
and never used in CI. Keep it in step with crates/bench/src/step.rs when the default networks change.

PyTorch equivalents of driftbench's default networks (and REINFORCE's; the value-iteration network `nav-vin`
with plain tensor ops): same shapes, same losses,
torch.optim.AdamW with the project's lr / weight decay (betas 0.9/0.999, eps 1e-8 = candle-nn's defaults), the project's warm-up + cosine
learning-rate schedule set every step. Times pure training steps (mini-batch gather from tensors already in
memory + forward + loss + backward + optimiser step) and batched inference (forward + (log-)softmax under
inference_mode) on 256 instances (the VIN: the 320 states of 16 worlds).

usage: python torch_bench.py <net|all> [--threads 1] [--reps 7] [--steps 50] [--phases] [--fused] [--n-reinforce N]
One JSON line per net (same keys as the Rust step_timer): wall-clock and process CPU time per step (CPU time is
the steadier figure on a machine shared with other work).
"""
import argparse
import json
import math
import os
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("net", default="all", nargs="?")
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--reps", type=int, default=7)
ap.add_argument("--steps", type=int, default=50)
ap.add_argument("--phases", action="store_true")
ap.add_argument("--fused", action="store_true", help="AdamW(fused=True) instead of the default implementation")
ap.add_argument("--n-reinforce", type=int, default=3542, help="states per REINFORCE update (candle's step_timer prints it)")
args = ap.parse_args()

# Before importing torch, so that OpenMP/MKL start with the right pool size.
os.environ["OMP_NUM_THREADS"] = str(args.threads)
os.environ["MKL_NUM_THREADS"] = str(args.threads)
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(args.threads)
torch.set_num_interop_threads(1)
torch.manual_seed(0)
rng = np.random.default_rng(0)


def lr_at(cfg, step, total):
    """driftbench_nets::train::TrainConfig::lr_at."""
    warm = max(total * cfg["warmup"], 1.0)
    s = float(step)
    if s < warm:
        return cfg["lr"] * (s + 1.0) / warm
    progress = (s - warm) / max(total - warm, 1.0)
    return cfg["lr"] * (0.05 + 0.95 * 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0))))


def count(model):
    return sum(p.numel() for p in model.parameters())


# ----------------------------------------------------------------------------------------------------------- sorting
MAX_LEN, CLASSES = 32, 32


def sorting_data(n):
    """Level-0 lists: length 2..=8, values 0..=99, feature value/100; rank ranges for ties; padded to 32."""
    x = np.zeros((n, MAX_LEN), np.float32)
    mask = np.zeros((n, MAX_LEN), np.float32)
    tlm = np.full((n, MAX_LEN, CLASSES), -1e4, np.float32)
    lens = rng.integers(2, 9, n)
    for i, L in enumerate(lens):
        v = rng.integers(0, 100, L)
        x[i, :L] = v / 100.0
        mask[i, :L] = 1.0
        s = np.sort(v)
        for p in range(L):
            lo = np.searchsorted(s, v[p], "left")
            hi = np.searchsorted(s, v[p], "right") - 1
            tlm[i, p, lo:hi + 1] = 0.0
    return torch.from_numpy(x), torch.from_numpy(mask), torch.from_numpy(tlm), torch.from_numpy(lens)


def set_cross_entropy(logits, tlm, mask):
    """crates/nets/src/seq.rs set_cross_entropy: mean over real positions of -log P(class in the tied range)."""
    logp = F.log_softmax(logits, -1)
    lse = torch.logsumexp(logp + tlm, -1)
    return -(lse * mask).sum() / max(mask.sum().item(), 1.0)


class PaddedMlp(nn.Module):
    def __init__(self, hidden=(256, 256, 256), scale=100.0):
        super().__init__()
        dims = [MAX_LEN * 2, *hidden, MAX_LEN * CLASSES]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims, dims[1:]))
        self.scale = scale

    def forward(self, x, mask):  # x [B, L], mask [B, L]
        b = x.shape[0]
        h = torch.stack([x * self.scale, mask], -1).reshape(b, -1)
        for i, l in enumerate(self.layers):
            h = l(h)
            if i + 1 < len(self.layers):
                h = F.relu(h)
        return h.reshape(b, MAX_LEN, CLASSES)


class Block(nn.Module):
    def __init__(self, d, ffn):
        super().__init__()
        self.qkv, self.out = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.ff1, self.ff2 = nn.Linear(d, ffn), nn.Linear(ffn, d)


class Transformer(nn.Module):
    """seq.rs Transformer with the default config: sigmoid attention, no LayerNorm, no pairwise bias."""

    def __init__(self, d=64, heads=4, layers=2, ffn=128, classes=CLASSES):
        super().__init__()
        self.d, self.h = d, heads
        self.embed = nn.Linear(1, d)
        self.blocks = nn.ModuleList(Block(d, ffn) for _ in range(layers))
        self.head = nn.Linear(d, classes)

    def forward(self, x, mask):
        return self.head(self.encode(x, mask))

    def encode(self, x, mask):  # x [B, L], mask [B, L]
        b, l = x.shape
        d, hn = self.d, self.h
        dh = d // hn
        h = self.embed(x.unsqueeze(-1))
        key_mask = mask.reshape(b, 1, 1, l)
        scale = 1.0 / math.sqrt(dh)
        for blk in self.blocks:
            qkv = blk.qkv(h).reshape(b, l, 3, hn, dh).permute(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
            w = torch.sigmoid(q @ k.transpose(-1, -2) * scale) * key_mask
            o = (w @ v).transpose(1, 2).reshape(b, l, d)
            h = h + blk.out(o)
            h = h + blk.ff2(F.relu(blk.ff1(h)))
        return h


def sorting(transformer):
    X, M, T, Ls = sorting_data(20_000)
    model = Transformer() if transformer else PaddedMlp()
    cfg = dict(lr=2e-3, wd=0.01, batch=64, warmup=0.05) if transformer else dict(lr=3e-3, wd=0.01, batch=128, warmup=0.05)
    Xt, Mt, _, Lt = sorting_data(256)

    def make(idx):
        longest = int(Ls[idx].max())
        if transformer:  # pad_to = longest
            return X[idx, :longest], M[idx, :longest], T[idx, :longest], longest
        return X[idx], M[idx], T[idx], longest

    def loss(b):
        x, m, t, longest = b
        logits = model(x, m)[:, :longest]
        return set_cross_entropy(logits, t[:, :longest], m[:, :longest])

    lt = int(Lt.max())
    xt, mt = (Xt[:, :lt], Mt[:, :lt]) if transformer else (Xt, Mt)

    def infer():
        return F.log_softmax(model(xt, mt), -1)

    return model, cfg, X.shape[0], make, loss, {"forward": (256, infer)}


class Pointer(nn.Module):
    """pointer.rs PointerNet with PointerLearner::pointer()'s config: edge MLP [32, 32] on (100·(x_j − x_i),
    sign(j − i)), one sigmoid-attention encoder layer (d 32, 4 heads, ffn 64) with a bilinear q·k term and a
    self-pointer read-out; the encoder's unused one-class head is kept so that the parameter counts agree."""

    def __init__(self, d=32, heads=4, layers=1, ffn=64, edge_hidden=(32, 32), edge_scale=100.0):
        super().__init__()
        self.enc = Transformer(d, heads, layers, ffn, classes=1)
        self.q, self.k, self.s = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, 1)
        dims = [2, *edge_hidden, 1]
        self.edge = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims, dims[1:]))
        self.self_bias = nn.Parameter(torch.zeros(1))
        self.d, self.scale = d, edge_scale

    def forward(self, x, mask):  # x [B, L], mask [B, L] -> [B, L, L]
        b, l = x.shape
        diff = (x.reshape(b, 1, l, 1) - x.reshape(b, l, 1, 1)) * self.scale
        i = torch.arange(l, dtype=torch.float32)
        order = (torch.sign(i.reshape(1, l) - i.reshape(l, 1)) * (1.0 - torch.eye(l))).reshape(1, l, l, 1)
        e = torch.cat([diff, order.expand(b, l, l, 1)], 3)
        for n, layer in enumerate(self.edge):
            e = layer(e)
            if n + 1 < len(self.edge):
                e = F.relu(e)
        scores = e.reshape(b, l, l)
        h = self.enc.encode(x, mask)
        scores = scores + self.q(h) @ self.k(h).transpose(-1, -2) * (1.0 / math.sqrt(self.d))
        first = self.self_bias.reshape(1, 1).expand(b, l) + self.s(h).squeeze(-1)
        eye = torch.eye(l)
        scores = scores * (1.0 - eye) + eye * first.unsqueeze(2)
        return scores + ((1.0 - mask) * -1e4).unsqueeze(1)


def pointer():
    """Each element points at its predecessor in the stable sorted order (itself when first)."""
    X, M, _, Ls = sorting_data(20_000)
    pred = np.full((X.shape[0], MAX_LEN), MAX_LEN, np.int64)  # padding points at an extra column, cut off below
    for e in range(X.shape[0]):
        L = int(Ls[e])
        order = np.argsort(X[e, :L].numpy(), kind="stable")
        pred[e, order[0]] = order[0]
        pred[e, order[1:]] = order[:-1]
    P = torch.from_numpy(pred)
    model = Pointer()
    cfg = dict(lr=2e-3, wd=0.01, batch=64, warmup=0.05)
    Xt, Mt, _, Lt = sorting_data(256)
    lt = int(Lt.max())

    def make(idx):
        longest = int(Ls[idx].max())
        p = P[idx, :longest].clamp(max=longest)
        t = torch.full((len(idx), longest, longest + 1), -1e4).scatter_(2, p.unsqueeze(-1), 0.0)[:, :, :longest]
        return X[idx, :longest], M[idx, :longest], t

    def loss(b):
        x, m, t = b
        return set_cross_entropy(model(x, m), t, m)

    def infer():
        return F.log_softmax(model(Xt[:, :lt], Mt[:, :lt]), -1)

    return model, cfg, X.shape[0], make, loss, {"forward": (256, infer)}


# ------------------------------------------------------------------------------------------------------------ rocket
def mlp(dims, act):
    layers = []
    for i, (a, b) in enumerate(zip(dims, dims[1:])):
        layers.append(nn.Linear(a, b))
        if i + 2 < len(dims):
            layers.append(act())
    return nn.Sequential(*layers)


def rocket(tanh):
    model = mlp([5, 128, 128, 128, 2], nn.Tanh) if tanh else mlp([5, 128, 128, 2], nn.ReLU)
    cfg = dict(lr=3e-3, wd=1e-4, batch=256, warmup=0.05)
    X, Y = torch.randn(100_000, 5), torch.randn(100_000, 2)
    xt = torch.randn(256, 5)

    def make(idx):
        return X[idx], Y[idx]

    def loss(b):
        return ((model(b[0]) - b[1]) ** 2).mean()

    return model, cfg, X.shape[0], make, loss, {"forward": (256, lambda: model(xt))}


# -------------------------------------------------------------------------------------------------------- navigation
OBS, ACTS = 326, 5


def obs(n):
    return (torch.rand(n, OBS) < 0.15).float()


def policy_infer(model):
    o256, o64 = obs(256), obs(64)
    return {
        "forward": (256, lambda: F.softmax(model(o256), -1)),
        "forward-64": (64, lambda: F.softmax(model(o64), -1)),
    }


def obs_with_memory(n):
    """The imitation learner's 351 features: the 326 of the window (15% ones), then 25 of its memory of visited
    cells (20% at 0.5), as step.rs draws them."""
    memory = (torch.rand(n, 25) < 0.2).float() * 0.5
    return torch.cat([obs(n), memory], 1)


def imitation():
    model = mlp([OBS + 25, 256, 256, ACTS], nn.ReLU)
    cfg = dict(lr=2e-3, wd=1e-4, batch=256, warmup=0.05)
    X, Y = obs_with_memory(50_000), torch.randint(0, ACTS, (50_000,))

    def make(idx):
        return X[idx], Y[idx]

    def loss(b):
        return F.cross_entropy(model(b[0]), b[1])

    o256, o64 = obs_with_memory(256), obs_with_memory(64)
    return model, cfg, X.shape[0], make, loss, {
        "forward": (256, lambda: F.softmax(model(o256), -1)),
        "forward-64": (64, lambda: F.softmax(model(o64), -1)),
    }


def reinforce():
    model = mlp([OBS, 256, 256, ACTS], nn.ReLU)
    n = args.n_reinforce
    cfg = dict(lr=3e-3, wd=0.0, batch=n, warmup=0.05)
    X, A, ADV = obs(n), torch.randint(0, ACTS, (n, 1)), torch.randn(n)

    def make(idx):
        return X, A, ADV

    def loss(b):
        x, a, adv = b
        logp = F.log_softmax(model(x), -1)
        chosen = logp.gather(1, a).squeeze(1)
        pg = (chosen * adv).mean()
        entropy = -(logp.exp() * logp).sum(-1).mean()
        return -pg - 0.01 * entropy

    return model, cfg, n, make, loss, policy_infer(model)


def ppo():
    """ppo.rs: policy and value MLPs [128, 128], clipped surrogate (ε 0.2) + 0.5 × value error − 0.01 × entropy,
    mini-batches of 256 rows of one update's rollout batch, AdamW lr 3e-3 without weight decay."""
    policy, value = mlp([OBS, 128, 128, ACTS], nn.ReLU), mlp([OBS, 128, 128, 1], nn.ReLU)
    model = nn.ModuleDict({"policy": policy, "value": value})
    n = args.n_reinforce
    cfg = dict(lr=3e-3, wd=0.0, batch=256, warmup=0.05)
    X, A = obs(n), torch.randint(0, ACTS, (n, 1))
    OLD, ADV, TGT = torch.randn(n) * 0.1 - math.log(ACTS), torch.randn(n), torch.randn(n)

    def make(idx):
        return X[idx], A[idx], OLD[idx], ADV[idx], TGT[idx]

    def loss(b):
        x, a, old, adv, tgt = b
        logp = F.log_softmax(policy(x), -1)
        ratio = (logp.gather(1, a).squeeze(1) - old).exp()
        surrogate = torch.minimum(ratio * adv, ratio.clamp(0.8, 1.2) * adv).mean()
        value_loss = ((value(x).squeeze(1) - tgt) ** 2).mean()
        entropy = -(logp.exp() * logp).sum(-1).mean()
        return -surrogate + 0.5 * value_loss - 0.01 * entropy

    return model, cfg, n, make, loss, policy_infer(policy)


# ------------------------------------------------------------------------------------------------- value iteration
VIN_SIDE, VIN_CHANNELS, VIN_STATIC, VIN_STATES, VIN_WORLDS = 12, 6, 2, 20, 400
VIN_WINDOW, VIN_MEMORY, VIN_Q, VIN_HIDDEN, VIN_DISCOUNT, VIN_MOVE_LOGIT = 7, 1, 16, 32, 0.95, 3.0


def vin_worlds():
    """grid_policy::SyntheticWorlds: 400 random 12×12 worlds of 6 maps (30% ones; the first 2 fixed, a one-cell
    border of 1 (building) and 0 (no goal) around them), 20 random agent cells per world, each with the 7×7 crop of
    every map (`outside` values 1, 0, 0, 0, 0, 0 beyond the edge) and the 3×3 window of the agent's earlier visits
    in that world (1 − ½^visits), and a random action label."""
    s, c, r, mr = VIN_SIDE, VIN_CHANNELS, VIN_WINDOW // 2, VIN_MEMORY
    outside = np.array([1, 0, 0, 0, 0, 0], np.float32)
    maps = np.zeros((VIN_WORLDS, VIN_STATIC, s + 2, s + 2), np.float32)
    crops = np.zeros((VIN_WORLDS, VIN_STATES, c * VIN_WINDOW ** 2 + (2 * mr + 1) ** 2), np.float32)
    agents = rng.integers(0, s, (VIN_WORLDS, VIN_STATES, 2))  # (x, y)
    labels = rng.integers(0, ACTS, (VIN_WORLDS, VIN_STATES))
    for m in range(VIN_WORLDS):
        g = (rng.random((c, s, s)) < 0.3).astype(np.float32)
        padded = np.broadcast_to(outside[:, None, None], (c, s + 2 * r, s + 2 * r)).copy()
        padded[:, r:r + s, r:r + s] = g
        maps[m] = padded[:VIN_STATIC, r - 1:r + s + 1, r - 1:r + s + 1]
        visits = np.zeros((s + 2 * mr, s + 2 * mr), np.int64)
        for k, (x, y) in enumerate(agents[m]):
            crop = padded[:, y:y + VIN_WINDOW, x:x + VIN_WINDOW].reshape(-1)
            memory = 1.0 - 0.5 ** np.minimum(visits[y:y + 2 * mr + 1, x:x + 2 * mr + 1], 30).reshape(-1)
            crops[m, k] = np.concatenate([crop, memory])
            visits[y + mr, x + mr] += 1
    return (torch.from_numpy(maps), torch.from_numpy(crops), torch.from_numpy(agents + 1),
            torch.from_numpy(labels))


class Vin(nn.Module):
    """grid_policy/net.rs VinNet with Vin::default(): reward map = 1×1 conv(ReLU(3×3 conv, 32 channels)) of the fixed
    maps; 16 action reward maps R_a from a 5-cell (cell + 4 neighbours, zero padding) stencil of it; K value-iteration
    steps v ← max_a (R_a + Σ_s p(s, a) v(s)) over the cell and its N, S, E, W neighbours (a neighbour beyond the
    map is the cell itself), p = softmax over the 5 cells of learnt logits × 0.95; the last step keeps the 16 action
    maps. Attention at the agent cell: Q_a − V there and V of the 4 neighbours − V there (20 features), after the
    reactive crop and memory features (303); ReLU MLP head [256, 256] to 5 actions."""

    def __init__(self):
        super().__init__()
        self.reward_hidden = nn.Conv2d(VIN_STATIC, VIN_HIDDEN, 3, padding=1)
        self.reward = nn.Conv2d(VIN_HIDDEN, 1, 1)
        bound = 1.0 / math.sqrt(5.0)
        self.q_reward_w = nn.Parameter(torch.empty(5, VIN_Q).uniform_(-bound, bound))
        self.q_reward_b = nn.Parameter(torch.empty(VIN_Q).uniform_(-bound, bound))
        # Action map a starts as "move to stencil cell a mod 5", as in net.rs.
        logits = torch.empty(5, VIN_Q).uniform_(-0.1, 0.1)
        logits[torch.arange(VIN_Q) % 5, torch.arange(VIN_Q)] += VIN_MOVE_LOGIT
        self.q_value = nn.Parameter(logits)
        reactive = VIN_CHANNELS * VIN_WINDOW ** 2 + (2 * VIN_MEMORY + 1) ** 2
        self.head = mlp([reactive + VIN_Q + 4, 256, 256, ACTS], nn.ReLU)

    @staticmethod
    def stencil(x, mode):
        """[B, 1, H, W] -> [B, 5, H*W]: the cell, then its N, S, E, W neighbours."""
        h, w = x.shape[-2:]
        xp = F.pad(x, (1, 1, 1, 1), mode=mode)
        cells = [xp[..., 1:h + 1, 1:w + 1], xp[..., 0:h, 1:w + 1], xp[..., 2:h + 2, 1:w + 1],
                 xp[..., 1:h + 1, 2:w + 2], xp[..., 1:h + 1, 0:w]]
        return torch.cat(cells, 1).flatten(2)

    def plan(self, maps, k):
        """[B, Q + 1, H, W]: the action maps, then the value map."""
        b, _, h, w = maps.shape
        r = self.reward(F.relu(self.reward_hidden(maps)))
        qr = self.q_reward_w.t() @ self.stencil(r, "constant") + self.q_reward_b[:, None]  # [B, Q, H*W]
        p = F.softmax(self.q_value, 0).t() * VIN_DISCOUNT  # [Q, 5]
        v = qr.amax(1, keepdim=True)
        for _ in range(k):
            q = qr + p @ self.stencil(v.reshape(b, 1, h, w), "replicate")
            v = q.amax(1, keepdim=True)
        return torch.cat([q, v], 1).reshape(b, VIN_Q + 1, h, w)

    def forward(self, maps, crops, world, agent):
        k = math.ceil(1.0 * (maps.shape[-1] - 2 + maps.shape[-2] - 2))  # iterations_per_cell × (W + H) = 24
        planned = self.plan(maps, k)
        x, y = agent[:, 0], agent[:, 1]
        v = planned[:, VIN_Q]
        here = v[world, y, x]
        q = planned[world, :VIN_Q, y, x] - here[:, None]
        nbrs = torch.stack([v[world, y - 1, x], v[world, y + 1, x], v[world, y, x + 1], v[world, y, x - 1]], 1)
        return self.head(torch.cat([crops, q, nbrs - here[:, None]], 1))


def vin():
    """step.rs `nav-vin`: a step plans 16 worlds (K = 24) and learns from all 20 states of each; AdamW lr 1e-2,
    weight decay 1e-4, cross-entropy over the 320 states."""
    maps, crops, agents, labels = vin_worlds()
    model = Vin()
    cfg = dict(lr=1e-2, wd=1e-4, batch=16, warmup=0.05)

    def make(idx):
        b = len(idx)
        world = torch.arange(b).repeat_interleave(VIN_STATES)
        return (maps[idx], crops[idx].reshape(b * VIN_STATES, -1), world, agents[idx].reshape(-1, 2),
                labels[idx].reshape(-1))

    def loss(b):
        m, c, world, agent, y = b
        return F.cross_entropy(model(m, c, world, agent), y)

    test = make(torch.arange(16))

    def infer():
        return F.softmax(model(*test[:4]), -1)

    return model, cfg, VIN_WORLDS, make, loss, {"forward": (16 * VIN_STATES, infer)}


# ------------------------------------------------------------------------------------------------------------ timing
BUILD = {
    "sorting-mlp": lambda: sorting(False),
    "sorting-transformer": lambda: sorting(True),
    "sorting-pointer": pointer,
    "rocket-mlp": lambda: rocket(False),
    "rocket-mlp-tanh": lambda: rocket(True),
    "nav-imitation": imitation,
    "nav-ppo": ppo,
    "nav-reinforce": reinforce,
    "nav-vin": vin,
}
DEFAULT = [n for n in BUILD if n != "nav-reinforce"]  # REINFORCE left driftbench; kept here for the old tables


class Loop:
    """train::fit's step: shuffled mini-batches, lr schedule, loss.item() (fit checks it is finite), step."""

    def __init__(self, model, cfg, n, make, loss):
        self.model, self.cfg, self.n, self.make, self.loss = model, cfg, n, make, loss
        kw = {"fused": True} if args.fused else {}
        self.opt = torch.optim.AdamW(model.parameters(), lr=cfg["lr"], weight_decay=cfg["wd"], betas=(0.9, 0.999), eps=1e-8, **kw)
        self.batch = min(cfg["batch"], n)
        self.order = torch.randperm(n)
        self.cursor = 0

    def next_idx(self):
        if self.cursor + self.batch > self.n:
            self.order = torch.randperm(self.n)
            self.cursor = 0
        idx = self.order[self.cursor:self.cursor + self.batch]
        self.cursor += self.batch
        return idx

    def run(self, steps, phases=False):
        acc = [0.0] * 4
        t_start = time.perf_counter()
        c_start = time.process_time()
        for s in range(steps):
            for g in self.opt.param_groups:
                g["lr"] = lr_at(self.cfg, s, steps)
            t0 = time.perf_counter()
            b = self.make(self.next_idx())
            t1 = time.perf_counter()
            loss = self.loss(b)
            value = loss.item()
            if not math.isfinite(value):
                raise RuntimeError("diverged")
            t2 = time.perf_counter()
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            t3 = time.perf_counter()
            self.opt.step()
            t4 = time.perf_counter()
            if phases:
                for k, d in enumerate((t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
                    acc[k] += d * 1e3 / steps
        self.last_cpu_ms = (time.process_time() - c_start) * 1e3 / steps
        return (time.perf_counter() - t_start) * 1e3 / steps, acc


def measure(name):
    model, cfg, n, make, loss, infer = BUILD[name]()
    loop = Loop(model, cfg, n, make, loss)
    loop.run(20)  # warm-up
    reps, cpu = [], []
    for _ in range(args.reps):
        reps.append(loop.run(args.steps)[0])
        cpu.append(loop.last_cpu_ms)
    out = {
        "net": name, "framework": "torch", "threads": args.threads, "params": count(model),
        "batch": loop.batch, "steps_per_rep": args.steps, "step_ms_median": float(np.median(reps)),
        "step_ms_reps": reps,
        "step_cpu_ms_median": float(np.median(cpu)), "step_cpu_ms_reps": cpu, "torch": torch.__version__, "fused": args.fused,
    }
    if args.phases:
        ph = [loop.run(args.steps, phases=True)[1] for _ in range(args.reps)]
        out["phase_ms"] = {k: float(np.median([p[i] for p in ph])) for i, k in enumerate(["data", "forward_loss", "backward", "optimiser"])}
    out["infer"] = {}
    model.eval()
    with torch.inference_mode():
        for iname, (k, f) in infer.items():
            for _ in range(20):
                f()
            calls = 100
            per = []
            for _ in range(max(args.reps, 5)):
                t = time.perf_counter()
                for _ in range(calls):
                    f()
                per.append((time.perf_counter() - t) * 1e3 / calls)
            ms = float(np.median(per))
            out["infer"][iname] = {"batch": k, "ms": ms, "us_per_instance": ms * 1e3 / k}
    model.train()
    return out


names = DEFAULT if args.net == "all" else args.net.split(",")
for name in names:
    print(json.dumps(measure(name)), flush=True)
