"""PyTorch reference for `npm run bench:phase2`: rfsq's Phase 2 main model and its training step in PyTorch.

Same model, data, loss, optimizer and schedule as `trainPolicy({ kind: 'main' })` (src/ml/policy/train.ts,
src/ml/policy/model.ts), so that one step is the same work in both:

- input of query (n, l): [(obs - mean) / std | the partial latent that the codes of layers < l decode to
  (nominal codebook: level c is -1 + 2c / (levels - 1)) | one-hot of l]; mean and population std from the
  training set, a std under 1e-6 counts as 1;
- trunk Linear(input, width), ReLU, Linear(width, width), ReLU; one head per layer, [width, tokens * levels];
  uniform(+-1/sqrt(fan_in)) init for weights and biases (fan_in: input for the first layer, width after);
- teacher forcing: every observation of a batch gives one query per layer, rows layer-major;
- softmax cross-entropy, mean over tokens, against a target with 1 - s on the label and s on its
  neighbouring levels (s/2 each, all of s to the one neighbour of an end level);
- AdamW (betas 0.9, 0.999, eps 1e-8, decoupled weight decay), linear warm-up over 2% of the steps then
  cosine decay to 0; batches of `batch-size` observations, shuffled every epoch, the last partial one dropped.

After training: held-out token accuracy teacher-forced, free-running (greedy, layer by layer from the
model's own codes) and given the true L0..L2, as evaluateMain measures them, in batched passes.

Input: .npy files written by bench/phase2.ts (obs [N, obsDim] float32, codes [N, chunk, hidden, layers]
int32). Output: one JSON document on stdout, with the BLAS library this process loaded (from
/proc/self/maps: the bench selects OpenBLAS with LD_LIBRARY_PATH for this process only).
"""

import argparse
import json
import math
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


def cosine_lr(step, total_steps, peak, warmup_steps):
    """src/ml/optimizer.ts cosineLr. `step` is 0-based."""
    if warmup_steps > 0 and step < warmup_steps:
        return peak * (step + 1) / warmup_steps
    span = max(1, total_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / span)
    return 0.5 * peak * (1 + math.cos(math.pi * progress))


def loaded_blas():
    """The BLAS/LAPACK shared objects mapped into this process (what torch's GEMMs really call)."""
    with open("/proc/self/maps") as maps:
        libs = {line.split()[-1] for line in maps if "blas" in line or "lapack" in line}
    return sorted(libs)


class MainPolicy(torch.nn.Module):
    def __init__(self, obs_dim, width, layers, tokens, levels):
        super().__init__()
        self.layers, self.tokens, self.levels = layers, tokens, levels
        input_dim = obs_dim + tokens + layers
        out = tokens * levels

        def uniform(shape, fan_in):
            bound = 1 / math.sqrt(fan_in)
            return torch.nn.Parameter(torch.empty(shape).uniform_(-bound, bound))

        self.w0, self.b0 = uniform((input_dim, width), input_dim), uniform((width,), input_dim)
        self.w1, self.b1 = uniform((width, width), width), uniform((width,), width)
        self.wh, self.bh = uniform((layers, width, out), width), uniform((layers, out), width)

    def trunk(self, x):
        return F.relu(F.relu(x @ self.w0 + self.b0) @ self.w1 + self.b1)

    def all_layers(self, x):
        """x [layers, B, input] (row block l queries layer l) -> logits [layers, B, tokens, levels]."""
        h = self.trunk(x)
        z = torch.baddbmm(self.bh[:, None, :], h, self.wh)
        return z.view(self.layers, x.shape[1], self.tokens, self.levels)

    def one_layer(self, x, layer):
        """x [B, input], all querying `layer` -> logits [B, tokens, levels]."""
        z = self.trunk(x) @ self.wh[layer] + self.bh[layer]
        return z.view(x.shape[0], self.tokens, self.levels)


class Inputs:
    """Builds the main model's input rows from normalized observations and codes [N, tokens, layers]."""

    def __init__(self, obs_norm, layers, levels):
        self.obs, self.layers, self.levels = obs_norm, layers, levels

    def values(self, codes):
        return -1 + codes.float() * (2 / (self.levels - 1))

    def rows(self, index, codes, layer):
        """Rows for samples `index` querying `layer`, conditioned on codes[:, :, :layer]."""
        partial = self.values(codes[:, :, :layer]).sum(dim=2) if layer > 0 else codes.new_zeros(
            codes.shape[:2], dtype=torch.float32
        )
        onehot = torch.zeros(len(index), self.layers)
        onehot[:, layer] = 1
        return torch.cat([self.obs[index], partial, onehot], dim=1)

    def all_layers(self, index, codes):
        """[layers, B, input]: every layer's query of each sample, teacher-forced on `codes`."""
        values = self.values(codes)
        partial = torch.cumsum(values, dim=2) - values  # sum over layers < l
        obs = self.obs[index]
        rows = []
        for layer in range(self.layers):
            onehot = torch.zeros(len(index), self.layers)
            onehot[:, layer] = 1
            rows.append(torch.cat([obs, partial[:, :, layer], onehot], dim=1))
        return torch.stack(rows)


def smoothed_target(labels, levels, smoothing):
    target = F.one_hot(labels, levels).float() * (1 - smoothing)
    if smoothing > 0:
        below = (labels - 1).clamp(min=0)
        above = (labels + 1).clamp(max=levels - 1)
        inner = (labels > 0) & (labels < levels - 1)
        share = torch.where(inner, smoothing / 2, smoothing)
        target.scatter_add_(-1, below[..., None], torch.where(labels > 0, share, 0.0)[..., None])
        target.scatter_add_(-1, above[..., None], torch.where(labels < levels - 1, share, 0.0)[..., None])
    return target


def accuracy_per_layer(pred, truth):
    return (pred == truth).float().mean(dim=(0, 1)).tolist()


@torch.no_grad()
def evaluate(model, inputs, codes, coarse):
    n = codes.shape[0]
    index = torch.arange(n)
    layers = model.layers
    z = model.all_layers(inputs.all_layers(index, codes))  # [layers, N, tokens, levels]
    teacher = z.argmax(-1).permute(1, 2, 0)
    free = torch.zeros_like(codes)
    for layer in range(layers):
        free[:, :, layer] = model.one_layer(inputs.rows(index, free, layer), layer).argmax(-1)
    given = codes.clone()
    for layer in range(coarse, layers):
        given[:, :, layer] = model.one_layer(inputs.rows(index, given, layer), layer).argmax(-1)
    mean = lambda xs: sum(xs) / len(xs)
    return {
        "teacherForced": mean(accuracy_per_layer(teacher, codes)),
        "freeRunning": mean(accuracy_per_layer(free, codes)),
        "givenCoarse": mean(accuracy_per_layer(given, codes)[coarse:]),
    }


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("train-obs", "train-codes", "held-out-obs", "held-out-codes"):
        parser.add_argument(f"--{name}", required=True)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--weight-decay", type=float, default=0.0)
    parser.add_argument("--label-smoothing", type=float, default=0.2)
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--levels", type=int, default=7)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)

    obs = torch.from_numpy(np.load(args.train_obs))
    raw = np.load(args.train_codes)  # [N, chunk, hidden, layers]
    n, chunk, hidden, layers = raw.shape
    tokens = chunk * hidden
    codes = torch.from_numpy(raw.reshape(n, tokens, layers).astype(np.int64))
    held_obs = torch.from_numpy(np.load(args.held_out_obs))
    held_raw = np.load(args.held_out_codes)
    held_codes = torch.from_numpy(held_raw.reshape(held_raw.shape[0], tokens, layers).astype(np.int64))

    mean = obs.double().mean(dim=0)
    std = obs.double().var(dim=0, unbiased=False).sqrt()
    std = torch.where(std > 1e-6, std, torch.ones_like(std))
    norm = lambda o: ((o.double() - mean) / std).float()
    inputs, held_inputs = Inputs(norm(obs), layers, args.levels), Inputs(norm(held_obs), layers, args.levels)

    model = MainPolicy(obs.shape[1], args.width, layers, tokens, args.levels)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=args.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=args.weight_decay
    )
    batch = min(args.batch_size, n)
    per_epoch = max(1, n // batch)
    total = per_epoch * args.epochs
    warmup = int(total * 0.02)
    generator = torch.Generator().manual_seed(args.seed + 1)
    step, epoch_seconds, step_seconds, losses = 0, [], 0.0, []
    for _ in range(args.epochs):
        epoch_start = time.perf_counter()
        order = torch.randperm(n, generator=generator)
        for b in range(per_epoch):
            step_start = time.perf_counter()
            index = order[b * batch : (b + 1) * batch]
            labels = codes[index].permute(2, 0, 1)  # [layers, B, tokens], layer-major like the inputs
            z = model.all_layers(inputs.all_layers(index, codes[index]))
            target = smoothed_target(labels, args.levels, args.label_smoothing)
            loss = -(target * F.log_softmax(z, dim=-1)).sum(-1).mean()
            for group in optimizer.param_groups:
                group["lr"] = cosine_lr(step, total, args.lr, warmup)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            step_seconds += time.perf_counter() - step_start
            step += 1
        epoch_seconds.append(time.perf_counter() - epoch_start)
    eval_start = time.perf_counter()
    report = evaluate(model, held_inputs, held_codes, 3)
    json.dump(
        {
            "blas": loaded_blas(),
            "threads": torch.get_num_threads(),
            "params": sum(p.numel() for p in model.parameters()),
            "steps": step,
            "msPerStep": 1000 * step_seconds / max(1, step),
            "epochSeconds": epoch_seconds,
            "evalSeconds": time.perf_counter() - eval_start,
            "trainLoss": sum(losses[-per_epoch:]) / per_epoch,
            "heldOut": report,
        },
        sys.stdout,
    )
    print()


if __name__ == "__main__":
    main(sys.argv[1:])
