"""A stand-in for the research code's tokenizer, written for rfsq's tests from its public state-dict layout
and the behaviour its source describes (Oscar-Ge/RVQExperiment phase1_improved/rfsq_robust.py at d578ed2):

- a `boundaries` buffer linspace(-1, 1, num_levels) per residual layer (line 41), keys rfsq.layers.<l>.boundaries;
- use_layernorm=True: each residual vector normalized by its own mean and std + 1e-5 (lines 61-66), quantized by
  argmin over the boundaries (lines 70-72) and mapped back with the same statistics (line 76); naive: argmin over
  the raw residual (lines 82-84); straight-through output (line 87); residual sum over layers (lines 130-142);
- decode_from_indices sums boundaries[codes] only (lines 172-176): the per-vector statistics are dropped;
- encoder Linear(7, 64), Mish, Linear(64, 16), Tanh and decoder Linear(16, 64), Mish, Linear(64, 7) (lines 214-233).
"""

import torch
from torch import nn


class RepoQuantizer(nn.Module):
    def __init__(self, num_levels, use_layernorm):
        super().__init__()
        self.use_layernorm = use_layernorm
        self.register_buffer("boundaries", torch.linspace(-1, 1, num_levels))

    def forward(self, z):
        if self.use_layernorm:
            mean = z.mean(dim=-1, keepdim=True)
            std = z.std(dim=-1, keepdim=True) + 1e-5
            indices = torch.argmin(torch.abs(((z - mean) / std).unsqueeze(-1) - self.boundaries), dim=-1)
            z_q = self.boundaries[indices] * std + mean
        else:
            indices = torch.argmin(torch.abs(z.unsqueeze(-1) - self.boundaries), dim=-1)
            z_q = self.boundaries[indices]
        return z + (z_q - z).detach(), indices


class RepoBlock(nn.Module):
    def __init__(self, num_layers, num_levels, use_layernorm):
        super().__init__()
        self.layers = nn.ModuleList([RepoQuantizer(num_levels, use_layernorm) for _ in range(num_layers)])

    def forward(self, z):
        residual, total, codes = z, 0, []
        for layer in self.layers:
            z_q, idx = layer(residual)
            total = total + z_q
            residual = residual - z_q
            codes.append(idx)
        return total, torch.stack(codes, dim=-1)

    def decode_from_indices(self, indices):
        out = 0
        for l, layer in enumerate(self.layers):
            out = out + layer.boundaries[indices[..., l]]
        return out


class RepoAE(nn.Module):
    def __init__(self, action_dim=7, hidden_dim=16, num_layers=8, num_levels=7, use_layernorm=False):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(action_dim, 64), nn.Mish(), nn.Linear(64, hidden_dim), nn.Tanh())
        self.rfsq = RepoBlock(num_layers, num_levels, use_layernorm)
        self.decoder = nn.Sequential(nn.Linear(hidden_dim, 64), nn.Mish(), nn.Linear(64, action_dim))

    def forward(self, x):
        q, codes = self.rfsq(self.encoder(x))
        return self.decoder(q), codes

    def decode_from_indices(self, indices):
        return self.decoder(self.rfsq.decode_from_indices(indices))
