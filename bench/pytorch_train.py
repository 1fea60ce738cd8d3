"""PyTorch reference for `npm run bench`: the rfsq tokenizer training written in plain PyTorch.

Same architecture, quantizer, optimizer, schedule and data as `rfsq train` (src/ml/tokenizer/train.ts,
src/ml/tokenizer/quantizer.ts):

- encoder Linear(7, 64), Mish, Linear(64, 16), Tanh; decoder Linear(16, 64), Mish, Linear(64, 7);
  PyTorch's default nn.Linear init (uniform +-1/sqrt(fan_in) for weight and bias, as rfsq draws it);
- residual FSQ, 8 layers x 7 levels evenly spaced in [-1, 1], straight-through estimator;
  naive: nearest level of the raw residual; robust: per layer and latent dim constants mean and
  scale = k * std from running statistics (EMA, momentum 0.05, the first batch sets them, unbiased batch
  variance, std floored at 1e-8, constants rounded to float32), updated from the batch first and then
  applied, the same constants in training and evaluation; quantizer arithmetic in float64;
- AdamW (decoupled weight decay), linear warm-up over 2% of the steps then cosine decay to 0, MSE loss;
- batches of `batch-size` chunks, the last partial batch dropped, shuffled every epoch;
- after every epoch, the held-out MSE in evaluation mode, with the seconds since the start (the curve) (float64 network, float32-rounded latent,
  fixed constants, as RfsqModel.reconstruct does); the best epoch is kept, as rfsq keeps its checkpoint.

Input: normalized chunks [N, chunk, 7] float32 .npy files (exported by bench/run.ts). Output: one JSON
document on stdout with the held-out MSE and the seconds of each variant.
"""

import argparse
import json
import math
import resource
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

MIN_STD = 1e-8


def cosine_lr(step, total_steps, peak, warmup_steps):
    """Linear warm-up then cosine decay to 0 (src/ml/optimizer.ts cosineLr). `step` is 0-based."""
    if warmup_steps > 0 and step < warmup_steps:
        return peak * (step + 1) / warmup_steps
    span = max(1, total_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / span)
    return 0.5 * peak * (1 + math.cos(math.pi * progress))


class ResidualFsq:
    """Residual FSQ constants and running statistics, float64 arithmetic with float32 constants."""

    def __init__(self, variant, num_layers, latent_dim, num_levels, sigmas, momentum):
        self.variant = variant
        self.num_layers = num_layers
        self.num_levels = num_levels
        self.half = (num_levels - 1) / 2
        self.sigmas = sigmas
        self.momentum = momentum
        shape = (num_layers, latent_dim)
        self.mean = torch.zeros(shape, dtype=torch.float64)
        self.scale = torch.ones(shape, dtype=torch.float64)
        self.running_mean = torch.zeros(shape, dtype=torch.float64)
        self.running_var = torch.ones(shape, dtype=torch.float64)
        self.updates = 0

    @torch.no_grad()
    def __call__(self, z, update):
        """z: [rows, latent] float64. Returns the sum of the per-layer quantized values (float64)."""
        r = z.clone()
        out = torch.zeros_like(r)
        rows = r.shape[0]
        for l in range(self.num_layers):
            if update and rows > 0:
                m = 1.0 if self.updates == 0 else self.momentum
                mu = r.mean(0)
                var = r.var(0, unbiased=True) if rows > 1 else torch.zeros_like(mu)
                self.running_mean[l] = (1 - m) * self.running_mean[l] + m * mu
                self.running_var[l] = (1 - m) * self.running_var[l] + m * var
                self.mean[l] = self.running_mean[l].float().double()
                std = self.running_var[l].clamp_min(MIN_STD * MIN_STD).sqrt()
                self.scale[l] = (self.sigmas * std).float().double()
            mean = self.mean[l]
            scale = self.scale[l]
            u = ((r - mean) / scale).clamp(-1.0, 1.0)
            idx = torch.floor((u + 1.0) * self.half + 0.5)
            q = (-1.0 + 2.0 * idx / (self.num_levels - 1)) * scale + mean
            r = r - q
            out = out + q
        if update:
            self.updates += 1
        return out


class Tokenizer(nn.Module):
    def __init__(self, variant, action_dim, sigmas, momentum):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(action_dim, 64), nn.Mish(), nn.Linear(64, 16), nn.Tanh())
        self.decoder = nn.Sequential(nn.Linear(16, 64), nn.Mish(), nn.Linear(64, action_dim))
        # PyTorch's default init is kaiming_uniform(a=sqrt(5)) = uniform(+-1/sqrt(fan_in)) for the weight;
        # draw weight and bias explicitly so the distribution is rfsq's whatever the torch version.
        for layer in (self.encoder[0], self.encoder[2], self.decoder[0], self.decoder[2]):
            bound = 1 / math.sqrt(layer.in_features)
            nn.init.uniform_(layer.weight, -bound, bound)
            nn.init.uniform_(layer.bias, -bound, bound)
        self.rfsq = ResidualFsq(variant, 8, 16, 7, sigmas, momentum)

    def forward(self, x):
        """Training forward pass: update the robust constants from the batch, then quantize (STE)."""
        z = self.encoder(x)
        q = self.rfsq(z.detach().double(), update=self.rfsq.variant == "robust").float()
        return self.decoder(z + (q - z).detach())

    @torch.no_grad()
    def reconstruct_eval(self, x):
        """Evaluation mode, as RfsqModel.reconstruct: float64 network, latent rounded to float32."""
        w = [p.double() for p in self.parameters()]
        h = F.mish(F.linear(x.double(), w[0], w[1]))
        z = torch.tanh(F.linear(h, w[2], w[3])).float().double()
        q = self.rfsq(z, update=False)
        h = F.mish(F.linear(q, w[4], w[5]))
        return F.linear(h, w[6], w[7]).float()


def train_variant(variant, train, held_out, args):
    torch.manual_seed(args.seed)
    action_dim = train.shape[-1]
    model = Tokenizer(variant, action_dim, args.sigmas, args.momentum)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=args.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=args.weight_decay
    )
    generator = torch.Generator().manual_seed(args.seed + 1)
    num_chunks = train.shape[0]
    batch_size = min(args.batch_size, num_chunks)
    batches_per_epoch = max(1, num_chunks // batch_size)
    total_steps = batches_per_epoch * args.epochs
    warmup_steps = int(math.floor(total_steps * args.warmup_fraction))
    held_rows = held_out.reshape(-1, action_dim)
    best_mse, best_epoch, final_mse = math.inf, 0, math.nan
    curve = []
    step = 0
    train_seconds = 0.0
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        epoch_start = time.perf_counter()
        model.train()
        order = torch.randperm(num_chunks, generator=generator)
        for b in range(batches_per_epoch):
            x = train[order[b * batch_size : (b + 1) * batch_size]].reshape(-1, action_dim)
            loss = F.mse_loss(model(x), x)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            lr = cosine_lr(step, total_steps, args.lr, warmup_steps)
            for group in optimizer.param_groups:
                group["lr"] = lr
            optimizer.step()
            step += 1
        if not math.isfinite(loss.item()):
            raise RuntimeError(f"{variant}: training diverged at epoch {epoch}")
        train_seconds += time.perf_counter() - epoch_start
        model.eval()
        final_mse = F.mse_loss(model.reconstruct_eval(held_rows), held_rows).item()
        if final_mse < best_mse:
            best_mse, best_epoch = final_mse, epoch
        curve.append({"epoch": epoch, "seconds": time.perf_counter() - start, "heldOutMse": final_mse})
    seconds = time.perf_counter() - start
    return {
        "variant": variant,
        "bestHeldOutMse": best_mse,
        "bestEpoch": best_epoch,
        "finalHeldOutMse": final_mse,
        "epochs": args.epochs,
        "steps": step,
        "seconds": seconds,
        "msPerStep": train_seconds * 1000 / max(1, step),
        "curve": curve,
    }


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", required=True, help="normalized training chunks [N, chunk, 7] .npy")
    parser.add_argument("--held-out", required=True, help="normalized held-out chunks [M, chunk, 7] .npy")
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=64, help="chunks per batch")
    parser.add_argument("--lr", type=float, default=3e-3, help="peak learning rate")
    parser.add_argument("--weight-decay", type=float, default=1e-4)
    parser.add_argument("--warmup-fraction", type=float, default=0.02)
    parser.add_argument("--sigmas", type=float, default=3.0)
    parser.add_argument("--momentum", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--variants", default="naive,robust")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    train = torch.from_numpy(np.load(args.train).astype(np.float32))
    held_out = torch.from_numpy(np.load(args.held_out).astype(np.float32))
    if train.ndim != 3 or held_out.ndim != 3 or train.shape[1:] != held_out.shape[1:]:
        raise SystemExit(f"expected [N, chunk, dim] arrays, got {tuple(train.shape)} and {tuple(held_out.shape)}")
    variants = [train_variant(v, train, held_out, args) for v in args.variants.split(",")]
    report = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "trainChunks": train.shape[0],
        "heldOutChunks": held_out.shape[0],
        "variants": variants,
        # ru_maxrss is in KiB on Linux.
        "maxRssKb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
