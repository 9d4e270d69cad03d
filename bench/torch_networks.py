#!/usr/bin/env python3
"""PyTorch peer for the network rows of `npm run bench` (bench/networks/torch-peer.ts runs it).

The conditional UNet of src/models/unet.ts written again in PyTorch, as plain functions of a
parameter dict read from the safetensors file the bench wrote (our params, inputs and outputs).
The structure is read off the parameter names (down.{i}.res.{j}, down.{i}.attn.{j}, ...), the
parameter count is checked equal to ours, and our outputs (eps; with --backward the gradient of
the loss with respect to every parameter) are compared before anything is timed.

Usage: torch_networks.py FILE --config JSON --threads N --reps R [--backward] [--device cpu|cuda]
Prints one JSON object: {params, maxRelErr, gradMaxRelErr, ms: [...], threads, torch, device}.
"""
import argparse
import json
import math
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

DTYPES = {"F32": np.float32, "F64": np.float64, "I32": np.int32}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        arr = np.frombuffer(data[base + start : base + end], dtype=DTYPES[info["dtype"]]).reshape(info["shape"])
        out[name] = torch.from_numpy(arr.copy())
    return out


def group_norm(p, prefix, x, groups):
    return F.group_norm(x, groups, p[prefix + ".weight"], p[prefix + ".bias"], eps=1e-5)


def conv(p, prefix, x, stride=1):
    w = p[prefix + ".weight"]
    return F.conv2d(x, w, p[prefix + ".bias"], stride=stride, padding=(w.shape[2] - 1) // 2)


def linear(p, prefix, x):
    return F.linear(x, p[prefix + ".weight"], p[prefix + ".bias"])


def res_block(p, prefix, x, temb, groups):
    h = conv(p, prefix + ".conv1", F.silu(group_norm(p, prefix + ".norm1", x, groups)))
    h = h + linear(p, prefix + ".time", F.silu(temb))[:, :, None, None]
    h = conv(p, prefix + ".conv2", F.silu(group_norm(p, prefix + ".norm2", h, groups)))
    skip = conv(p, prefix + ".skip", x) if prefix + ".skip.weight" in p else x
    return skip + h


def attention(p, prefix, x, groups, heads):
    b, c, hh, ww = x.shape
    n = hh * ww
    d = c // heads
    tokens = group_norm(p, prefix + ".norm", x, groups).reshape(b, c, n).transpose(1, 2)
    qkv = linear(p, prefix + ".qkv", tokens).reshape(b, n, 3, heads, d).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]
    weights = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d), dim=-1)
    attended = (weights @ v).transpose(1, 2).reshape(b, n, c)
    out = linear(p, prefix + ".proj", attended).transpose(1, 2)
    return x + out.reshape(b, c, hh, ww)


def sinusoidal(t, dim, max_period=10000.0):
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32) / (half - 1))
    args = t[:, None].float() * freqs[None, :]
    emb = torch.cat([torch.sin(args), torch.cos(args)], dim=1)
    return F.pad(emb, (0, 1)) if dim % 2 else emb


def count(p, prefix):
    i = 0
    while f"{prefix}.{i}.conv1.weight" in p or f"{prefix}.{i}.norm1.weight" in p:
        i += 1
    return i


def levels(p, side):
    i = 0
    while f"{side}.{i}.res.0.conv1.weight" in p:
        i += 1
    return i


def unet(p, cfg, xt, t, cond):
    groups, heads = cfg["groups"], cfg["heads"]
    temb = linear(p, "time.linear2", F.silu(linear(p, "time.linear1", sinusoidal(t, cfg["baseChannels"]))))
    h = conv(p, "inConv", torch.cat([xt, cond], dim=1))
    skips = [h]
    for i in range(levels(p, "down")):
        for j in range(count(p, f"down.{i}.res")):
            h = res_block(p, f"down.{i}.res.{j}", h, temb, groups)
            if f"down.{i}.attn.{j}.qkv.weight" in p:
                h = attention(p, f"down.{i}.attn.{j}", h, groups, heads)
            skips.append(h)
        if f"down.{i}.downsample.weight" in p:
            h = conv(p, f"down.{i}.downsample", h, stride=2)
            skips.append(h)
    h = res_block(p, "mid.res1", h, temb, groups)
    if "mid.attn.qkv.weight" in p:
        h = attention(p, "mid.attn", h, groups, heads)
    h = res_block(p, "mid.res2", h, temb, groups)
    for i in range(levels(p, "up")):
        for j in range(count(p, f"up.{i}.res")):
            h = res_block(p, f"up.{i}.res.{j}", torch.cat([h, skips.pop()], dim=1), temb, groups)
            if f"up.{i}.attn.{j}.qkv.weight" in p:
                h = attention(p, f"up.{i}.attn.{j}", h, groups, heads)
        if f"up.{i}.upsample.weight" in p:
            h = conv(p, f"up.{i}.upsample", F.interpolate(h, scale_factor=2, mode="nearest"))
    return conv(p, "outConv", F.silu(group_norm(p, "outNorm", h, groups)))


def rel_err(a, b):
    scale = max(float(b.abs().max()), 1e-12)
    return float((a - b).abs().max()) / scale


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--config", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--budget-s", type=float, default=60.0)
    ap.add_argument("--backward", action="store_true")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.device == "cuda" and not torch.cuda.is_available():
        json.dump({"skipped": f"torch {torch.__version__} sees no CUDA device"}, sys.stdout)
        sys.stdout.write("\n")
        return
    if args.device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    cfg = json.loads(args.config)
    tensors = read_safetensors(args.file)
    dev = torch.device(args.device)
    params = {k[len("params.") :]: v.to(dev) for k, v in tensors.items() if k.startswith("params.")}
    xt, t, cond = (tensors[f"inputs.{n}"].to(dev) for n in ("xt", "t", "cond"))
    n_params = sum(v.numel() for v in params.values())

    def step():
        if not args.backward:
            with torch.no_grad():
                return unet(params, cfg, xt, t, cond), None
        for v in params.values():
            v.grad = None
            v.requires_grad_(True)
        eps = unet(params, cfg, xt, t, cond)
        loss = ((eps - tensors["inputs.target"].to(dev)) ** 2).mean()
        loss.backward()
        return eps, {k: v.grad for k, v in params.items()}

    def wait():
        if args.device == "cuda":
            torch.cuda.synchronize()

    eps, grads = step()
    result = {"params": n_params, "maxRelErr": rel_err(eps.detach().cpu(), tensors["outputs.eps"]), "torch": torch.__version__, "threads": args.threads, "device": args.device}
    if grads is not None:
        result["gradMaxRelErr"] = max(rel_err(g.cpu(), tensors[f"grads.{k}"]) for k, g in grads.items() if f"grads.{k}" in tensors)
    for _ in range(args.warmup):
        step()
    wait()
    times = []
    start = time.perf_counter()
    while len(times) < args.reps and (len(times) < 2 or time.perf_counter() - start < args.budget_s):
        t0 = time.perf_counter()
        step()
        wait()
        times.append((time.perf_counter() - t0) * 1e3)
    result["ms"] = times
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
