"""Load an rfsq tokenizer checkpoint in PyTorch.

Works with torch >= 1.13 and numpy; no safetensors package needed (the format is parsed here).

    from rfsq_tokenizer import RfsqTokenizer
    tok = RfsqTokenizer("runs/robust")                 # directory written by `rfsq train`
    x = tok.normalize(raw_actions)                      # [N, chunk, action_dim] -> [-1, 1]
    codes = tok.encode(x)                               # [N, chunk, latent_dim, num_layers], int64
    x_hat = tok.decode_from_indices(codes)              # [N, chunk, action_dim], normalized
    actions = tok.denormalize(x_hat)

The quantizer computes in float64 from a float32 latent, exactly like the TypeScript implementation, so
both produce identical codes for the same checkpoint and inputs.

Command line: python rfsq_tokenizer.py CHECKPOINT_DIR INPUT.npy OUTPUT_PREFIX
reads normalized actions [N, chunk, action_dim] and writes OUTPUT_PREFIX.codes.npy and
OUTPUT_PREFIX.reconstruction.npy.
"""

import json
import os
import struct
import sys

import numpy as np
import torch
from torch import nn

FORMAT = "rfsq-tokenizer"
FORMAT_VERSION = 1
_DTYPES = {"F32": "<f4", "I32": "<i4", "F64": "<f8", "I64": "<i8"}


def load_safetensors(path):
    """Parse a .safetensors file into a dict of numpy arrays."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError(f"{path}: not a safetensors file (too short)")
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        raise ValueError(f"{path}: header length {n} exceeds the file size")
    header = json.loads(data[8 : 8 + n].decode("utf-8"))
    base = 8 + n
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        array = np.frombuffer(data[base + begin : base + end], dtype=_DTYPES[entry["dtype"]])
        tensors[name] = array.reshape(entry["shape"]).copy()
    return tensors


class RfsqTokenizer(nn.Module):
    """Encoder -> residual FSQ -> decoder, loaded from an rfsq checkpoint directory."""

    def __init__(self, checkpoint_dir, device="cpu"):
        super().__init__()
        with open(os.path.join(checkpoint_dir, "config.json"), "r", encoding="utf-8") as f:
            config = json.load(f)
        if config.get("format") != FORMAT:
            raise ValueError(f"{checkpoint_dir} is not an rfsq checkpoint")
        if config.get("formatVersion") != FORMAT_VERSION:
            raise ValueError(
                f"{checkpoint_dir} has format version {config.get('formatVersion')}, expected {FORMAT_VERSION}"
            )
        self.config = config
        arch = config["architecture"]
        self.action_dim = arch["actionDim"]
        self.latent_dim = arch["latentDim"]
        self.num_layers = arch["numLayers"]
        self.num_levels = arch["numLevels"]
        self.variant = config["variant"]
        self.encoder = nn.Sequential(
            nn.Linear(arch["actionDim"], arch["encoderWidth"]),
            nn.Mish(),
            nn.Linear(arch["encoderWidth"], arch["latentDim"]),
            nn.Tanh(),
        )
        self.decoder = nn.Sequential(
            nn.Linear(arch["latentDim"], arch["decoderWidth"]),
            nn.Mish(),
            nn.Linear(arch["decoderWidth"], arch["actionDim"]),
        )
        tensors = load_safetensors(os.path.join(checkpoint_dir, "model.safetensors"))
        state = {k: torch.from_numpy(v) for k, v in tensors.items() if not k.startswith("rfsq.")}
        self.load_state_dict(state, strict=False)
        missing = [k for k in self.state_dict() if k not in state and not k.startswith("rfsq_")]
        if missing:
            raise ValueError(f"checkpoint is missing tensors: {missing}")
        shape = (self.num_layers, self.latent_dim)
        for name in ("rfsq.layer_mean", "rfsq.layer_scale"):
            if tuple(tensors[name].shape) != shape:
                raise ValueError(f"{name} has shape {tensors[name].shape}, expected {shape}")
        # float32 constants, used in float64 arithmetic (exact conversion).
        self.register_buffer("rfsq_layer_mean", torch.from_numpy(tensors["rfsq.layer_mean"]).double())
        self.register_buffer("rfsq_layer_scale", torch.from_numpy(tensors["rfsq.layer_scale"]).double())
        norm = config.get("normalization")
        self.norm_low = None if norm is None else torch.tensor(norm["low"], dtype=torch.float64)
        self.norm_high = None if norm is None else torch.tensor(norm["high"], dtype=torch.float64)
        # The whole network runs in float64; the latent is rounded to float32 before quantizing.
        self.double()
        self.to(device)
        self.eval()

    def _as_tensor(self, x, dtype=torch.float64):
        if isinstance(x, np.ndarray):
            x = torch.from_numpy(x)
        return x.to(device=self.rfsq_layer_mean.device, dtype=dtype)

    def _level(self, idx):
        return -1.0 + (2.0 * idx) / (self.num_levels - 1)

    @torch.no_grad()
    def latent(self, actions_normalized):
        x = self._as_tensor(actions_normalized)
        return self.encoder(x).float().double()

    @torch.no_grad()
    def encode(self, actions_normalized):
        """Normalized actions [..., action_dim] -> codes [..., latent_dim, num_layers] (int64 level indices)."""
        r = self.latent(actions_normalized)
        half = (self.num_levels - 1) / 2
        codes = []
        for l in range(self.num_layers):
            mean = self.rfsq_layer_mean[l]
            scale = self.rfsq_layer_scale[l]
            u = ((r - mean) / scale).clamp(-1.0, 1.0)
            idx = torch.floor((u + 1.0) * half + 0.5)
            q = self._level(idx) * scale + mean
            r = r - q
            codes.append(idx.long())
        return torch.stack(codes, dim=-1)

    @torch.no_grad()
    def quantized_latent_from_indices(self, codes):
        codes = self._as_tensor(codes, torch.float64)
        if codes.shape[-2:] != (self.latent_dim, self.num_layers):
            raise ValueError(f"codes must end with [{self.latent_dim}, {self.num_layers}], got {tuple(codes.shape)}")
        out = torch.zeros(codes.shape[:-1], dtype=torch.float64, device=codes.device)
        for l in range(self.num_layers):
            q = self._level(codes[..., l]) * self.rfsq_layer_scale[l] + self.rfsq_layer_mean[l]
            out = out + q
        return out

    @torch.no_grad()
    def decode_from_indices(self, codes):
        """Codes [..., latent_dim, num_layers] -> normalized actions [..., action_dim] (float32)."""
        return self.decoder(self.quantized_latent_from_indices(codes)).float()

    @torch.no_grad()
    def forward(self, actions_normalized):
        return self.decode_from_indices(self.encode(actions_normalized))

    def normalize(self, actions):
        if self.norm_low is None:
            raise ValueError("checkpoint has no normalization statistics")
        x = self._as_tensor(actions)
        rng = self.norm_high - self.norm_low
        # A constant dimension (range < 1e-8) maps to 0, as rfsq does.
        constant = rng < 1e-8
        y = (2.0 * (x - self.norm_low) / torch.where(constant, torch.ones_like(rng), rng) - 1.0).clamp(-1.0, 1.0)
        return torch.where(constant, torch.zeros_like(y), y).float()

    def denormalize(self, actions_normalized):
        if self.norm_low is None:
            raise ValueError("checkpoint has no normalization statistics")
        x = self._as_tensor(actions_normalized)
        rng = self.norm_high - self.norm_low
        # A constant dimension decodes to its (only) value.
        rng = torch.where(rng < 1e-8, torch.zeros_like(rng), rng)
        return ((x + 1.0) / 2.0 * rng + self.norm_low).float()


def main(argv):
    if len(argv) != 4:
        print(__doc__)
        return 2
    tok = RfsqTokenizer(argv[1])
    x = np.load(argv[2]).astype(np.float32)
    codes = tok.encode(x)
    np.save(argv[3] + ".codes.npy", codes.numpy().astype(np.int32))
    np.save(argv[3] + ".reconstruction.npy", tok.decode_from_indices(codes).numpy())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
