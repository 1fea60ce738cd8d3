"""Load an rfsq tokenizer checkpoint in PyTorch.

Works with torch >= 1.13 and numpy; no safetensors package needed (the format is parsed here).

    from rfsq_tokenizer import RfsqTokenizer
    tok = RfsqTokenizer("runs/robust")                 # directory written by `rfsq train`
    x = tok.normalize(raw_actions)                      # [N, chunk, action_dim] -> [-1, 1]
    codes = tok.encode(x)                               # [N, chunk, latent_dim, num_layers], int64
    x_hat = tok.decode_from_indices(codes)              # [N, chunk, action_dim], normalized
    actions = tok.denormalize(x_hat)

The model is rfsq_robust.ActionRFSQAE (the drop-in module next to this file), which computes in float64
from a float32 latent exactly like the TypeScript implementation, so both produce identical codes for the
same checkpoint and inputs.

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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rfsq_robust import ActionRFSQAE  # noqa: E402  (the drop-in module next to this file)

FORMAT = "rfsq-tokenizer"
FORMAT_VERSION = 1
_DTYPES = {"F32": "<f4", "I32": "<i4", "F64": "<f8", "I64": "<i8"}


def _state_dict(model, tensors):
    """The folder's tensors (rfsq.layer_mean/scale [layers, latent]) in ActionRFSQAE's per-layer keys."""
    state = {k: torch.from_numpy(v) for k, v in tensors.items() if not k.startswith("rfsq.")}
    mean, scale = tensors["rfsq.layer_mean"], tensors["rfsq.layer_scale"]
    shape = (model.num_layers, model.hidden_dim)
    if tuple(mean.shape) != shape or tuple(scale.shape) != shape:
        raise ValueError(f"rfsq.layer_mean/scale have shapes {mean.shape}/{scale.shape}, expected {shape}")
    if not model.use_layernorm and (mean.any() or (scale != 1).any()):
        raise ValueError("a naive checkpoint must have rfsq.layer_mean = 0 and rfsq.layer_scale = 1")
    for l, layer in enumerate(model.rfsq.layers):
        state[f"rfsq.layers.{l}.boundaries"] = layer.boundaries.clone()
        if model.use_layernorm:
            state[f"rfsq.layers.{l}.mean"] = torch.from_numpy(mean[l].copy())
            state[f"rfsq.layers.{l}.scale"] = torch.from_numpy(scale[l].copy())
    return state


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
    """An rfsq checkpoint directory as rfsq_robust.ActionRFSQAE, plus its action normalization."""

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
        self.variant = config["variant"]
        self.model = ActionRFSQAE(
            action_dim=arch["actionDim"],
            hidden_dim=arch["latentDim"],
            num_layers=arch["numLayers"],
            num_levels=arch["numLevels"],
            use_layernorm=self.variant == "robust",
            encoder_width=arch["encoderWidth"],
            decoder_width=arch["decoderWidth"],
        )
        tensors = load_safetensors(os.path.join(checkpoint_dir, "model.safetensors"))
        self.model.load_state_dict(_state_dict(self.model, tensors), strict=True)
        norm = config.get("normalization")
        self.norm_low = None if norm is None else torch.tensor(norm["low"], dtype=torch.float64)
        self.norm_high = None if norm is None else torch.tensor(norm["high"], dtype=torch.float64)
        self.to(device)
        self.eval()

    def _as_tensor(self, x, dtype=torch.float64):
        if isinstance(x, np.ndarray):
            x = torch.from_numpy(x)
        return x.to(device=self.model.rfsq.layers[0].boundaries.device, dtype=dtype)

    @torch.no_grad()
    def encode(self, actions_normalized):
        """Normalized actions [..., action_dim] -> codes [..., latent_dim, num_layers] (int64 level indices)."""
        return self.model.encode(self._as_tensor(actions_normalized, torch.float32))

    @torch.no_grad()
    def decode_from_indices(self, codes):
        """Codes [..., latent_dim, num_layers] -> normalized actions [..., action_dim] (float32)."""
        return self.model.decode_from_indices(self._as_tensor(codes, torch.int64))

    @torch.no_grad()
    def forward(self, actions_normalized):
        return self.model(self._as_tensor(actions_normalized, torch.float32))[0]

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
