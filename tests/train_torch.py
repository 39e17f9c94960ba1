#!/usr/bin/python3
"""alexscope train's recipe reproduced in numpy and PyTorch, shared by
tests/train_torch.sh (make check) and tests/bench_train_real.sh.

What alexscope decides with its seeded hashes is computed here the same way:
the split (ax_shuffle of seed ^ 0x5b117), each epoch's order, and every
dropout mask (src/backends/cpu/simple_bwd.c's mask_uniform under the seed
grad.c gives each dropout layer of each step, cmd_train.c's step seed). The
masks go into PyTorch as fixed multipliers, so that both sides compute the
same function. He initial weights are written to safetensors for
`train --weights`.

  train_torch.py prep NET IDX_PREFIX INIT.safetensors SEED NTRAIN NTEST FMNIST_DIR
  train_torch.py init NET INIT.safetensors SEED
  train_torch.py run NET IDX_PREFIX INIT.safetensors SEED NVAL BATCH LR EPOCHS THREADS [OUT.safetensors]
      prints 'torch EPOCH ACC% SECONDS VAL_LOSS' per epoch; OUT gets the weights at the end
  train_torch.py compare A.safetensors B.safetensors INIT.safetensors
      the updates (B - INIT against A - INIT) within 1e-4 of their scale
"""
import gzip
import json
import os
import struct
import sys
import time

import numpy as np

M = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
ODD = 0xD1B54A32D192ED03
MOMENTUM, WEIGHT_DECAY = 0.9, 5e-4


def h64(x):
    """train.c's ax_hash64 (splitmix64's finaliser)."""
    x = (x + GOLDEN) & M
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M
    return x ^ (x >> 31)


def shuffle(v, s):
    """train.c's ax_shuffle, in place."""
    for i in range(len(v) - 1, 0, -1):
        j = h64(s ^ ((i * ODD) & M)) % (i + 1)
        v[i], v[j] = v[j], v[i]


def split(n, seed):
    """cmd_train.c's split: the first nval of it validate."""
    perm = list(range(n))
    shuffle(perm, seed ^ 0x5b117)
    return perm


def epoch_order(perm, nval, seed, e):
    order = perm[nval:]
    shuffle(order, h64(seed ^ (((e + 1) << 32) & M)))
    return order


def step_seed(seed, e, s, batch):
    """cmd_train.c: the seed of step s of epoch e (from 0), from its first image's key."""
    return h64(seed ^ ((e << 32) | (s * batch)) ^ 0xd50)


def layer_seed(seed, i):
    """grad.c's layer_seed: dropout layer i's own."""
    return seed ^ (((i + 1) * ODD) & M)


def dropout_mask(seed, n, p):
    """simple_bwd.c's ax_dropout_train as multipliers: element k is dropped
    when the top 24 bits of splitmix64(seed + GOLDEN (k + 1)), over 2^24, are
    below p (both float32); the rest are scaled by 1 / (1 - p) in float32."""
    with np.errstate(over='ignore'):
        z = np.uint64(seed) + np.uint64(GOLDEN) * np.arange(1, n + 1, dtype=np.uint64)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
    u = (z >> np.uint64(40)).astype(np.float32) * np.float32(1.0 / 16777216.0)
    p = np.float32(p)
    keep = np.float32(1.0) / (np.float32(1.0) - p) if p < 1 else np.float32(0.0)
    return np.where(u < p, np.float32(0.0), keep).astype(np.float32)


# ---- the .net file ------------------------------------------------------------------

def read_net(path):
    """(input (c, h, w), preprocess dict, layers [(type, name, {key: value})]),
    the layers in the file's order, which is alexscope's layer index."""
    inp, pre, layers = None, {}, []
    types = {'conv', 'relu', 'lrn', 'maxpool', 'flatten', 'dropout', 'fc', 'softmax'}
    for line in open(path):
        w = line.split('#', 1)[0].split()
        if not w:
            continue
        if w[0] == 'input':
            inp = tuple(int(v) for v in w[1:4])
        elif w[0] == 'preprocess':
            pre = dict(kv.split('=', 1) for kv in w[1:])
        elif w[0] in ('name', 'description', 'labels'):
            pass
        elif w[0] in types:
            layers.append((w[0], w[1], dict(kv.split('=', 1) for kv in w[2:])))
        else:
            raise SystemExit(f'{path}: layer type {w[0]} is not one train_torch.py builds')
    return inp, pre, layers


def build(path):
    """A torch module per layer of the .net (dropout as a fixed multiplier,
    the softmax left to the loss), and the names of the weighted ones."""
    import torch
    import torch.nn as nn

    class Mask(nn.Module):
        """Dropout whose mask is set before each step: x * mask in training."""
        def __init__(self, index, p):
            super().__init__()
            self.index, self.p, self.mask = index, p, None

        def forward(self, x):
            return x * self.mask if self.training else x

    (c, h, w), _, layers = read_net(path)
    mods, named, shapes, flat = [], [], [], False
    for i, (t, name, a) in enumerate(layers):
        known = {'conv': {'out', 'k', 'pad', 's', 'groups'}, 'lrn': {'convention', 'size', 'alpha', 'beta', 'k'},
                 'maxpool': {'k', 's', 'round'}, 'flatten': {'order'}, 'dropout': {'p'}, 'fc': {'out'}}.get(t, set())
        if set(a) - known or a.get('round', 'floor') != 'floor' or a.get('order', 'chw') != 'chw' or \
                a.get('convention', 'caffe') != 'caffe':
            raise SystemExit(f'{path}: layer {name}: {a} is beyond what train_torch.py builds')
        if t == 'conv':
            k, pad, s, g, out = int(a['k']), int(a.get('pad', 0)), int(a.get('s', 1)), int(a.get('groups', 1)), int(a['out'])
            mods.append(nn.Conv2d(c, out, k, stride=s, padding=pad, groups=g))
            c, h, w = out, (h + 2 * pad - k) // s + 1, (w + 2 * pad - k) // s + 1
            named.append(name)
        elif t == 'relu':
            mods.append(nn.ReLU())
        elif t == 'lrn':   # caffe's alpha / size is PyTorch's alpha / size
            mods.append(nn.LocalResponseNorm(int(a['size']), alpha=float(a['alpha']), beta=float(a['beta']),
                                             k=float(a['k'])))
        elif t == 'maxpool':
            k, s = int(a['k']), int(a['s'])
            mods.append(nn.MaxPool2d(k, s))
            h, w = (h - k) // s + 1, (w - k) // s + 1
        elif t == 'flatten':
            mods.append(nn.Flatten())
            c, h, w, flat = c * h * w, 1, 1, True
        elif t == 'dropout':
            mods.append(Mask(i, float(a['p'])))
        elif t == 'fc':
            if not flat:
                raise SystemExit(f'{path}: fc {name} before a flatten is beyond what train_torch.py builds')
            mods.append(nn.Linear(c * h * w, int(a['out'])))
            c, h, w = int(a['out']), 1, 1
            named.append(name)
        elif t == 'softmax':
            assert i == len(layers) - 1, 'softmax is the last layer'
            continue
        shapes.append((c,) if flat else (c, h, w))
    return nn.Sequential(*mods), named, shapes


def he_init(m, seed):
    """He (Kaiming) normal, fan in: std sqrt(2 / fan_in) for the layers a ReLU
    follows; the last layer, the logits, 0.05 of that (as alexscope's own
    training init: the classes start near uniform, the loss near ln C);
    biases 0. torch's generator seeded."""
    import torch
    import torch.nn as nn
    torch.manual_seed(seed)
    w = weighted(m)
    with torch.no_grad():
        for j, l in enumerate(w):
            nn.init.kaiming_normal_(l.weight, mode='fan_in', nonlinearity='relu')
            if j == len(w) - 1:
                l.weight.mul_(0.05)
            l.bias.zero_()


def weighted(m):
    import torch.nn as nn
    return [l for l in m if isinstance(l, (nn.Conv2d, nn.Linear))]


# ---- safetensors ----------------------------------------------------------------------

def save(path, tensors):
    hdr, blobs, off = {}, [], 0
    for k, a in tensors.items():
        b = np.ascontiguousarray(a, '<f4').tobytes()
        hdr[k] = {'dtype': 'F32', 'shape': list(a.shape), 'data_offsets': [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(hdr).encode()
    h += b' ' * (-len(h) % 8)
    open(path, 'wb').write(struct.pack('<Q', len(h)) + h + b''.join(blobs))


def load(path):
    raw = open(path, 'rb').read()
    n = struct.unpack('<Q', raw[:8])[0]
    hdr = json.loads(raw[8:8 + n])
    return {k: np.frombuffer(raw, '<f4', count=(v['data_offsets'][1] - v['data_offsets'][0]) // 4,
                             offset=8 + n + v['data_offsets'][0]).reshape(v['shape'])
            for k, v in hdr.items() if k != '__metadata__'}


def params(m, names):
    out = {}
    for name, l in zip(names, weighted(m)):
        out[name + '.weight'] = l.weight.detach().float().numpy().copy()
        out[name + '.bias'] = l.bias.detach().float().numpy().copy()
    return out


def set_params(m, names, t):
    import torch
    with torch.no_grad():
        for name, l in zip(names, weighted(m)):
            l.weight.copy_(torch.from_numpy(t[name + '.weight'].copy()).to(l.weight.dtype))
            l.bias.copy_(torch.from_numpy(t[name + '.bias'].copy()).to(l.bias.dtype))


# ---- IDX ------------------------------------------------------------------------------

def read_idx(path):
    b = gzip.open(path + '.gz').read() if os.path.exists(path + '.gz') else open(path, 'rb').read()
    nd = b[3]
    dims = struct.unpack('>%dI' % nd, b[4:4 + 4 * nd])
    return np.frombuffer(b, np.uint8, offset=4 + 4 * nd).reshape(dims)


def write_idx(prefix, x, y):
    open(prefix + '-images-idx3-ubyte', 'wb').write(struct.pack('>IIII', 0x803, *x.shape) + x.tobytes())
    open(prefix + '-labels-idx1-ubyte', 'wb').write(struct.pack('>II', 0x801, len(y)) + y.tobytes())


def batch_input(x8, pre):
    """train.c's ax_dataset_batch without augmentation for a grey image:
    (v * (scale / 255) - mean) * (1 / std) in float32, in all three channels."""
    scale = np.float32(float(pre.get('scale', 1))) / np.float32(255.0)
    mean = [np.float32(v) for v in pre['mean'].split(',')]
    inv = [np.float32(1.0) / np.float32(v) for v in pre['std'].split(',')]
    v = x8.astype(np.float32)[:, None]
    return np.concatenate([(v * scale - mean[c]) * inv[c] for c in range(3)], axis=1).astype(np.float32)


# ---- the run ------------------------------------------------------------------------

def run(net, prefix, init, seed, nval, B, lr, epochs, threads, out=None):
    import torch
    import torch.nn as nn
    torch.set_num_threads(threads)
    # TORCH_DTYPE=float64: the reference the check compares with (float32 in the benchmark)
    dt = {'float32': torch.float32, 'float64': torch.float64}[os.environ.get('TORCH_DTYPE', 'float32')]
    m, names, shapes = build(net)
    set_params(m, names, load(init))
    m = m.to(dt)
    _, pre, _ = read_net(net)
    x8 = read_idx(prefix + '-images-idx3-ubyte')
    y = torch.from_numpy(read_idx(prefix + '-labels-idx1-ubyte').astype(np.int64))
    x = torch.from_numpy(batch_input(x8, pre)).to(dt)
    n = len(y)
    perm = split(n, seed)
    ntrain = n - nval
    # MASK_SEED: the masks of another seed's run (tests/train_torch.sh shows the check then fails)
    mseed = int(os.environ.get('MASK_SEED', seed))
    masks = [(j, l) for j, l in enumerate(m) if hasattr(l, 'mask')]
    opt = torch.optim.SGD(m.parameters(), lr=lr, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY)
    lossf = nn.CrossEntropyLoss()
    test = torch.tensor(perm[:nval], dtype=torch.int64)
    for e in range(epochs):
        order = torch.tensor(epoch_order(perm, nval, seed, e), dtype=torch.int64)
        steps = ntrain // B
        # the epoch's masks, drawn before the clock starts (alexscope draws its own inside its steps)
        drawn = []
        for s in range(steps):
            ss = step_seed(mseed, e, s, B)
            drawn.append([torch.from_numpy(dropout_mask(layer_seed(ss, l.index), B * int(np.prod(shapes[j])), l.p)
                                           .reshape((B,) + shapes[j])).to(dt) for j, l in masks])
        m.train()
        t0 = time.perf_counter()
        for s in range(steps):
            for (j, l), mk in zip(masks, drawn[s]):
                l.mask = mk
            i = order[s * B:(s + 1) * B]
            opt.zero_grad()
            loss = lossf(m(x[i]), y[i])
            loss.backward()
            opt.step()
        secs = time.perf_counter() - t0
        m.eval()
        ok, vloss = 0, 0.0
        with torch.no_grad():
            for v in range(0, nval, 500):
                i = test[v:v + 500]
                o = m(x[i])
                ok += int((o.argmax(1) == y[i]).sum())
                vloss += float(nn.functional.cross_entropy(o, y[i], reduction='sum'))
        print(f'torch {e + 1} {100.0 * ok / max(nval, 1):.2f} {secs:.3f} {vloss / max(nval, 1):.4f}', flush=True)
    if out:
        save(out, params(m, names))


def compare(a_path, b_path, init_path):
    """A's update (A - INIT) against B's, per tensor: within 1e-4 * max|ref| + 1e-4 * |ref|
    (the reference suites' rule) plus one float32 spacing of the weight (the new weights
    are float32 on both sides, so an update of 1e-4 of a weight is known only to about 1e-3
    of itself), and the weights' largest difference over their largest magnitude printed.
    Exit 1 when a tensor's update differs."""
    a, b, w0 = load(a_path), load(b_path), load(init_path)
    bad, worst_w, worst_u = 0, 0.0, 0.0
    for k in w0:
        if k not in a or k not in b:
            print('missing', k)
            bad += 1
            continue
        ua = a[k].astype(np.float64) - w0[k]
        ub = b[k].astype(np.float64) - w0[k]
        scale = np.abs(ub).max()
        du = np.abs(ua - ub)
        rel_w = float(np.abs(a[k].astype(np.float64) - b[k]).max() / max(np.abs(b[k]).max(), 1e-30))
        rel_u = float(du.max() / max(scale, 1e-30))
        worst_w, worst_u = max(worst_w, rel_w), max(worst_u, rel_u)
        # and a float32 spacing of the weight: each side rounds its new weight to float32
        ulp = np.spacing(np.maximum(np.abs(a[k]), np.abs(b[k]))).astype(np.float64)
        if scale == 0 or not (du <= 1e-4 * scale + 1e-4 * np.abs(ub) + ulp).all():
            print(f'{k}: the update differs: max diff {du.max():.3g}, update scale {scale:.3g}')
            bad += 1
    print(f'weights: max |A - B| / max |B| = {worst_w:.2e}; updates (A - INIT against B - INIT): {worst_u:.2e} of their scale')
    return 1 if bad else 0


def main(argv):
    cmd = argv[1]
    if cmd == 'init':
        net, init, seed = argv[2], argv[3], int(argv[4])
        m, names, _ = build(net)
        he_init(m, seed)
        save(init, params(m, names))
    elif cmd == 'prep':
        # Fashion-MNIST as one IDX pair whose split by train is the test set:
        # perm[:ntest] (what train validates on) holds the test images.
        net, prefix, init, seed, ntr, nte, fm = argv[2], argv[3], argv[4], int(argv[5]), int(argv[6]), \
            int(argv[7]), argv[8]
        xi, yi = read_idx(fm + '/train-images-idx3-ubyte')[:ntr], read_idx(fm + '/train-labels-idx1-ubyte')[:ntr]
        xt, yt = read_idx(fm + '/t10k-images-idx3-ubyte')[:nte], read_idx(fm + '/t10k-labels-idx1-ubyte')[:nte]
        n = ntr + nte
        perm = split(n, seed)
        x = np.zeros((n, 28, 28), np.uint8)
        y = np.zeros(n, np.uint8)
        x[perm[:nte]], y[perm[:nte]] = xt, yt
        x[perm[nte:]], y[perm[nte:]] = xi, yi
        write_idx(prefix, x, y)
        main([argv[0], 'init', net, init, str(seed)])
    elif cmd == 'run':
        net, prefix, init = argv[2], argv[3], argv[4]
        seed, nval, B, lr, epochs, threads = int(argv[5]), int(argv[6]), int(argv[7]), float(argv[8]), \
            int(argv[9]), int(argv[10])
        run(net, prefix, init, seed, nval, B, lr, epochs, threads, argv[11] if len(argv) > 11 else None)
    elif cmd == 'compare':
        return compare(argv[2], argv[3], argv[4])
    else:
        raise SystemExit(__doc__)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
