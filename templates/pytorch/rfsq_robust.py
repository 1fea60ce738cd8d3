"""rfsq's drop-in for the research code's phase1_improved/rfsq_robust.py (torch >= 1.13 and numpy only).

Same class name, constructor and methods as the research code's ActionRFSQAE, so its scripts run unchanged:

    model = ActionRFSQAE(action_dim=7, hidden_dim=16, num_layers=8, num_levels=7, use_layernorm=True)
    checkpoint = torch.load('/models/rfsq_robust_best.pt', map_location=device)   # from `rfsq export`
    model.load_state_dict(checkpoint['model'])
    x_recon, codes = model(actions)               # actions [B, chunk, action_dim] -> codes [B, chunk, hidden, layers]
    codes = model.encode(actions)
    actions_hat = model.decode_from_indices(codes)   # equals x_recon: the codes carry everything decoding needs

What differs is the Robust quantizer (use_layernorm=True). The research code normalizes each residual
vector by its own mean and std and its decode_from_indices drops those statistics, so its codes do not
decode. Here every layer normalizes with constants learned in training (a running mean and k * std per
latent dimension, rfsq's Robust quantizer), held as the buffers rfsq.layers.<l>.mean and
rfsq.layers.<l>.scale, so decode_from_indices(encode(x)) is exactly the forward pass.

use_layernorm=False is the research code's naive quantizer, with its state-dict keys: this module loads
the research code's own naive checkpoints with strict=True.

Arithmetic: the network runs in float64 from float32 weights, the latent is rounded to float32 and the
quantizer runs in float64, exactly as rfsq's TypeScript implementation, so both give identical codes.
"""

import torch
import torch.nn.functional as F
from torch import nn

_PER_VECTOR_HINT = (
    "this state dict has no rfsq.layers.<l>.mean/scale: it is the research code's per-vector LayerNorm "
    "tokenizer, whose codes cannot be decoded (its decode_from_indices drops the per-vector statistics). "
    "Measure it with `rfsq import --from FILE.pt --out DIR` and `rfsq compare`, or retrain with `rfsq train` "
    "and `rfsq export`."
)


def _levels(num_levels):
    # Levels -1 + 2 i / (L - 1), rounded to float32 (torch.linspace may differ in the last bit).
    return torch.tensor([-1.0 + 2.0 * i / (num_levels - 1) for i in range(num_levels)], dtype=torch.float32)


class RobustSTEQuantizer(nn.Module):
    """One residual layer: idx = nearest level of clip((r - mean) / scale, -1, 1); q = level * scale + mean."""

    def __init__(self, num_levels=7, use_layernorm=True, hidden_dim=16):
        super().__init__()
        self.num_levels = num_levels
        self.use_layernorm = use_layernorm
        self.register_buffer("boundaries", _levels(num_levels))
        if use_layernorm:
            self.register_buffer("mean", torch.zeros(hidden_dim))
            self.register_buffer("scale", torch.ones(hidden_dim))

    def _constants(self, like):
        if not self.use_layernorm:
            return 0.0, 1.0
        return self.mean.to(like.device, torch.float64), self.scale.to(like.device, torch.float64)

    def _level(self, idx):
        return -1.0 + (2.0 * idx) / (self.num_levels - 1)

    def forward(self, r):
        """Residual r [..., hidden] (float64) -> (quantized value q float64, indices int64)."""
        mean, scale = self._constants(r)
        u = ((r - mean) / scale).clamp(-1.0, 1.0)
        idx = torch.floor((u + 1.0) * ((self.num_levels - 1) / 2) + 0.5)
        return self._level(idx) * scale + mean, idx.long()

    def dequantize(self, indices):
        mean, scale = self._constants(indices)
        return self._level(indices.to(torch.float64)) * scale + mean


class RobustRFSQBlock(nn.Module):
    """Residual quantization over num_layers layers: codes [..., hidden, num_layers]."""

    def __init__(self, num_layers=8, num_levels=7, use_layernorm=True, hidden_dim=16):
        super().__init__()
        self.num_layers = num_layers
        self.num_levels = num_levels
        self.use_layernorm = use_layernorm
        self.layers = nn.ModuleList(
            [RobustSTEQuantizer(num_levels, use_layernorm, hidden_dim) for _ in range(num_layers)]
        )

    def forward(self, z):
        """z [..., hidden] -> (sum of the quantized layers, float64; codes int64 [..., hidden, num_layers])."""
        residual = z.to(torch.float64)
        quantized = torch.zeros_like(residual)
        codes = []
        with torch.no_grad():
            for layer in self.layers:
                q, idx = layer(residual)
                residual = residual - q
                quantized = quantized + q
                codes.append(idx)
        return quantized, torch.stack(codes, dim=-1)

    def decode_from_indices(self, indices):
        """Codes [..., hidden, num_layers] -> the quantized latent [..., hidden] (float64)."""
        if indices.shape[-1] != self.num_layers:
            raise ValueError(f"codes must end with {self.num_layers} layers, got shape {tuple(indices.shape)}")
        if bool(((indices < 0) | (indices >= self.num_levels)).any()):
            raise ValueError(f"codes must be level indices 0..{self.num_levels - 1}")
        out = torch.zeros(indices.shape[:-1], dtype=torch.float64, device=indices.device)
        for l, layer in enumerate(self.layers):
            out = out + layer.dequantize(indices[..., l])
        return out


def _run(sequential, x):
    """nn.Sequential of Linear and activations, in float64 from the (float32) weights."""
    for module in sequential:
        if isinstance(module, nn.Linear):
            x = F.linear(x, module.weight.to(torch.float64), module.bias.to(torch.float64))
        else:
            x = module(x)
    return x


class ActionRFSQAE(nn.Module):
    """Encoder -> residual FSQ -> decoder, with the research code's constructor and state-dict keys."""

    def __init__(
        self,
        action_dim=7,
        hidden_dim=16,
        num_layers=8,
        num_levels=7,
        use_layernorm=True,
        encoder_width=64,
        decoder_width=64,
    ):
        super().__init__()
        self.action_dim = action_dim
        self.hidden_dim = hidden_dim
        self.num_layers = num_layers
        self.num_levels = num_levels
        self.use_layernorm = use_layernorm
        self.encoder = nn.Sequential(
            nn.Linear(action_dim, encoder_width), nn.Mish(), nn.Linear(encoder_width, hidden_dim), nn.Tanh()
        )
        self.rfsq = RobustRFSQBlock(num_layers, num_levels, use_layernorm, hidden_dim)
        self.decoder = nn.Sequential(nn.Linear(hidden_dim, decoder_width), nn.Mish(), nn.Linear(decoder_width, action_dim))

    def load_state_dict(self, state_dict, strict=True):
        if self.use_layernorm and "rfsq.layers.0.mean" not in state_dict and "rfsq.layers.0.boundaries" in state_dict:
            raise RuntimeError(_PER_VECTOR_HINT)
        return super().load_state_dict(state_dict, strict=strict)

    def latent(self, x):
        """Encoder output z [..., hidden], rounded to float32 and held in float64."""
        return _run(self.encoder, x.to(torch.float64)).to(torch.float32).to(torch.float64)

    def _decode_latent(self, quantized, dtype):
        return _run(self.decoder, quantized).to(dtype)

    def forward(self, x):
        """x [B, chunk, action_dim] -> (x_recon [B, chunk, action_dim], codes [B, chunk, hidden, layers])."""
        z = self.latent(x)
        quantized, codes = self.rfsq(z)
        if torch.is_grad_enabled() and any(p.requires_grad for p in self.encoder.parameters()):
            # Straight-through estimator, as the research code: the value is the quantized latent.
            quantized = z + (quantized - z).detach()
        out_dtype = x.dtype if x.is_floating_point() else torch.float32
        return self._decode_latent(quantized, out_dtype), codes

    def encode(self, x):
        """x [..., action_dim] -> codes [..., hidden, layers] (int64 level indices)."""
        return self.rfsq(self.latent(x))[1]

    def decode_from_indices(self, indices):
        """Codes [B, chunk, hidden, layers] -> actions [B, chunk, action_dim] (float32)."""
        return self._decode_latent(self.rfsq.decode_from_indices(indices), torch.float32)
