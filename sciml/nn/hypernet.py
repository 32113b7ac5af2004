"""HyPINO's hypernetwork (Bischof et al., 2025, the authors' ``HyperNetEncoder`` and
``HyperNetDecoder``), scaled down for CPUs: a PDE description in, every weight and bias of a
:class:`~sciml.nn.hyper.ModifiedMLP` out.

* Conditioning vector: the five coefficients through Fourier features (``0.1 * 2^k``, raw values
  appended) and a linear layer with GELU, concatenated with a *stats* embedding (mean, max, min
  and standard deviation of the value and source channels, detached, through Fourier features and
  a linear layer with GELU).
* Grid stems, each two stride-2 3x3 convolutions: the masks into a GELU branch ``b1`` and a Tanh
  branch ``b2``, the boundary values (2D Fourier-mapped) into ``bc``, the source (Fourier-mapped)
  into ``s``; fused as ``concat(b1 + b2 * bc, s)`` plus a 2D sinusoidal position code, a 1x1
  convolution and GroupNorm.
* Backbone: Swin Transformer stages (windowed self-attention with relative position bias,
  shifted windows every second block, patch merging between stages), FiLM
  (``gamma * x + beta`` from the conditioning vector) after every stage. ``backbone = "conv"``
  replaces each Swin block by a residual 3x3 convolution block and patch merging by a stride-2
  convolution (a U-Net-style encoder; everything else is the same), for comparison at CPU scale.
* Decoder: per stage, multi-head attention pooling with ``2 (layers + 4)`` learned queries; the
  pooled tokens of all stages are concatenated per query; token ``i`` feeds the head of the
  ``i``-th weight matrix, token ``layers + 4 + i`` that of the ``i``-th bias. Each head is
  ``Linear -> GELU -> GroupNorm -> Linear``; its output is scaled by the Glorot standard deviation
  of its matrix (biases by 0.1), so an untrained hypernetwork emits Glorot-sized networks.

The paper's sizes: 224^2 inputs, Swin depths (2, 2, 10, 2), widths 128-1024, about 77 M
parameters. Defaults here: 64^2 inputs, depths (2, 2, 2), widths 32-128, about 1 M.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from .hyper import ModifiedMLP


BACKBONES = ("swin", "conv")


@dataclass
class HypernetConfig:
    """Sizes of the hypernetwork and of the target network it emits."""

    grid: int = 64
    backbone: str = "swin"
    embed: int = 32
    depths: tuple[int, ...] = (2, 2, 2)
    heads: tuple[int, ...] = (2, 4, 8)
    window: int = 4
    mlp_ratio: float = 2.0
    cond: int = 64
    stats: int = 16
    head_hidden: int = 96
    target_width: int = 32
    target_layers: int = 3
    freqs: tuple[float, ...] = field(default_factory=lambda: tuple(0.1 * 2**k for k in range(5)))

    def __post_init__(self) -> None:
        if len(self.depths) != len(self.heads) or not self.depths:
            raise ValueError("depths and heads need one entry per stage")
        if self.backbone not in BACKBONES:
            raise ValueError(f"backbone must be one of {', '.join(BACKBONES)}, got {self.backbone!r}")
        tokens = self.grid // 4
        window = self.window if self.backbone == "swin" else 1
        if self.grid % 4 or tokens % (window * 2 ** (len(self.depths) - 1)):
            raise ValueError(f"grid {self.grid}: the 1/4 token grid must split into {self.window}-windows at "
                             f"every one of the {len(self.depths)} stages")

    def target(self) -> ModifiedMLP:
        return ModifiedMLP(2, 1, self.target_width, self.target_layers, self.freqs)


def fourier(x: torch.Tensor, freqs: torch.Tensor, raw: bool = True) -> torch.Tensor:
    """``[sin(2 pi f x), cos(2 pi f x)(, x)]`` along the last axis."""
    a = 2 * math.pi * x[..., None] * freqs
    parts = [torch.sin(a).flatten(-2), torch.cos(a).flatten(-2)]
    return torch.cat(parts + [x] if raw else parts, dim=-1)


def fourier_channels(x: torch.Tensor, freqs: torch.Tensor) -> torch.Tensor:
    """Per-pixel Fourier features of image channels ``(B, C, H, W)`` (raw values kept)."""
    return fourier(x.movedim(1, -1), freqs).movedim(-1, 1)


def position_code(channels: int, h: int, w: int) -> torch.Tensor:
    """The 2D sinusoidal position encoding ``(channels, h, w)`` (half for rows, half for columns)."""
    quarter = channels // 4
    omega = 1.0 / 10000 ** (torch.arange(quarter) / quarter)
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    parts = [f(v[None] * omega[:, None, None]) for v in (ys, xs) for f in (torch.sin, torch.cos)]
    code = torch.cat(parts, 0)
    return F.pad(code, (0, 0, 0, 0, 0, channels - code.shape[0]))


def _stem(cin: int, cout: int, act: nn.Module) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, 2, 1), nn.GELU(), nn.Conv2d(cout, cout, 3, 2, 1), act)


class WindowAttention(nn.Module):
    """Multi-head self-attention inside ``window x window`` windows with a learned relative
    position bias (Swin, Liu et al. 2021)."""

    def __init__(self, dim: int, heads: int, window: int):
        super().__init__()
        self.heads, self.window = heads, window
        self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        self.bias = nn.Parameter(torch.zeros((2 * window - 1) ** 2, heads))
        nn.init.trunc_normal_(self.bias, std=0.02)
        coords = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")).flatten(1)
        rel = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0) + window - 1
        self.register_buffer("index", rel[..., 0] * (2 * window - 1) + rel[..., 1], persistent=False)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        bw, n, c = x.shape
        q, k, v = self.qkv(x).reshape(bw, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        bias = self.bias[self.index].permute(2, 0, 1)[None]  # (1, heads, n, n)
        if mask is not None:  # (windows, n, n), repeated over the batch
            bias = (bias + mask[:, None]).repeat(bw // mask.shape[0], 1, 1, 1)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias.to(q.dtype))
        return self.proj(out.transpose(1, 2).reshape(bw, n, c))


class SwinBlock(nn.Module):
    """Pre-norm windowed attention (cyclically shifted by half a window when ``shift``) and an
    MLP, both residual, on tokens ``(B, H, W, C)``."""

    def __init__(self, dim: int, heads: int, window: int, shift: bool, mlp_ratio: float):
        super().__init__()
        self.window, self.shift = window, window // 2 if shift else 0
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, heads, window)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def _mask(self, h: int, w: int, device: torch.device) -> torch.Tensor | None:
        if not self.shift:
            return None
        region = torch.zeros(h, w, device=device)
        cuts = (slice(0, -self.window), slice(-self.window, -self.shift), slice(-self.shift, None))
        label = 0
        for rs in cuts:
            for cs in cuts:
                region[rs, cs] = label
                label += 1
        win = self._windows(region[None, :, :, None])[..., 0]  # (windows, n)
        same = win[:, :, None] == win[:, None, :]
        return torch.where(same, 0.0, -1e4)

    def _windows(self, x: torch.Tensor) -> torch.Tensor:
        b, h, w, c = x.shape
        s = self.window
        return x.reshape(b, h // s, s, w // s, s, c).transpose(2, 3).reshape(-1, s * s, c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, h, w, c = x.shape
        s = self.window
        y = self.norm1(x)
        if self.shift:
            y = torch.roll(y, (-self.shift, -self.shift), (1, 2))
        y = self.attn(self._windows(y), self._mask(h, w, x.device))
        y = y.reshape(b, h // s, w // s, s, s, c).transpose(2, 3).reshape(b, h, w, c)
        if self.shift:
            y = torch.roll(y, (self.shift, self.shift), (1, 2))
        x = x + y
        return x + self.mlp(self.norm2(x))


class PatchMerging(nn.Module):
    """2x2 neighbouring tokens concatenated, normalised and projected to twice the width."""

    def __init__(self, dim: int):
        super().__init__()
        self.norm, self.reduce = nn.LayerNorm(4 * dim), nn.Linear(4 * dim, 2 * dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.cat([x[:, i::2, j::2] for i in (0, 1) for j in (0, 1)], dim=-1)
        return self.reduce(self.norm(x))


class ConvBlock(nn.Module):
    """A residual block of two 3x3 convolutions (GroupNorm, GELU) on tokens ``(B, H, W, C)``:
    the convolutional alternative to :class:`SwinBlock`."""

    def __init__(self, dim: int):
        super().__init__()
        self.net = nn.Sequential(nn.GroupNorm(4, dim), nn.Conv2d(dim, dim, 3, padding=1), nn.GELU(),
                                 nn.Conv2d(dim, dim, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.net(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)


class ConvMerging(nn.Module):
    """A stride-2 3x3 convolution to twice the width, then LayerNorm: the convolutional
    alternative to :class:`PatchMerging`."""

    def __init__(self, dim: int):
        super().__init__()
        self.conv, self.norm = nn.Conv2d(dim, 2 * dim, 3, 2, 1), nn.LayerNorm(2 * dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.conv(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1))


class AttentionPool(nn.Module):
    """``queries`` learned queries attending over a stage's tokens."""

    def __init__(self, dim: int, heads: int, queries: int):
        super().__init__()
        self.queries = nn.Parameter(torch.randn(queries, dim) * 0.02)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.norm = nn.LayerNorm(dim)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        q = self.queries.expand(tokens.shape[0], -1, -1)
        out, _ = self.attn(q, tokens, tokens, need_weights=False)
        return self.norm(out)


class Head(nn.Module):
    """``Linear -> GELU -> GroupNorm -> Linear``, output times a fixed ``scale``."""

    def __init__(self, din: int, hidden: int, dout: int, scale: float):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(din, hidden), nn.GELU(), nn.GroupNorm(4, hidden), nn.Linear(hidden, dout))
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x) * self.scale


class Hypernetwork(nn.Module):
    """PDE description -> flat parameters of the target network (see the module docstring).

    ``forward(channels, coefficients)`` takes ``(B, 5, n, n)`` encoded grids (see
    :mod:`sciml.problems.raster`) and ``(B, 5)`` coefficients, and returns ``(B, P)`` with ``P``
    the target's parameter count.
    """

    def __init__(self, cfg: HypernetConfig = HypernetConfig()):
        super().__init__()
        self.cfg, self.target = cfg, cfg.target()
        self.register_buffer("freqs", torch.tensor(cfg.freqs, dtype=torch.float32), persistent=False)
        nf = len(cfg.freqs)
        self.coef = nn.Sequential(nn.Linear(5 * (2 * nf + 1), cfg.cond - cfg.stats), nn.GELU())
        self.stats = nn.Sequential(nn.Linear(12 * 2 * nf, cfg.stats), nn.GELU())
        e = cfg.embed
        self.masks_gelu, self.masks_tanh = _stem(2, 2 * e, nn.GELU()), _stem(2, 2 * e, nn.Tanh())
        self.values = _stem(2 * (2 * nf + 1), 2 * e, nn.GELU())
        self.source = _stem(2 * nf + 1, 2 * e, nn.GELU())
        tokens = cfg.grid // 4
        self.register_buffer("position", position_code(4 * e, tokens, tokens), persistent=False)
        self.fuse = nn.Sequential(nn.Conv2d(4 * e, e, 1), nn.GroupNorm(4, e))
        self.stages, self.merges, self.films, self.pools = nn.ModuleList(), nn.ModuleList(), nn.ModuleList(), nn.ModuleList()
        queries = 2 * (cfg.target_layers + 4)
        dim = e
        for i, (depth, heads) in enumerate(zip(cfg.depths, cfg.heads)):
            if i:
                self.merges.append(PatchMerging(dim) if cfg.backbone == "swin" else ConvMerging(dim))
                dim *= 2
            self.stages.append(nn.Sequential(*(SwinBlock(dim, heads, cfg.window, k % 2 == 1, cfg.mlp_ratio)
                                               if cfg.backbone == "swin" else ConvBlock(dim)
                                               for k in range(depth))))
            self.films.append(nn.Linear(cfg.cond, 2 * dim))
            nn.init.zeros_(self.films[-1].weight)
            nn.init.zeros_(self.films[-1].bias)
            self.pools.append(AttentionPool(dim, heads, queries))
        width = e * (2 ** len(cfg.depths) - 1)
        shapes = self.target.shapes
        weights = [(n, s) for n, s in shapes if n.startswith("W_")]
        biases = [(n, s) for n, s in shapes if n.startswith("b_")]
        self.order = [n for n, _ in weights] + [n for n, _ in biases]
        self.heads = nn.ModuleList(
            [Head(width, cfg.head_hidden, math.prod(s), math.sqrt(2.0 / sum(s))) for _, s in weights]
            + [Head(width, cfg.head_hidden, math.prod(s), 0.1) for _, s in biases])

    def condition(self, channels: torch.Tensor, coefficients: torch.Tensor) -> torch.Tensor:
        """The conditioning vector ``(B, cond)``: coefficient and channel-statistics embeddings."""
        values = channels[:, 2:5].flatten(2).detach()
        stats = torch.cat([values.mean(-1), values.amax(-1), values.amin(-1), values.std(-1)], dim=1)
        return torch.cat([self.coef(fourier(coefficients, self.freqs)),
                          self.stats(fourier(stats, self.freqs, raw=False))], dim=1)

    def forward(self, channels: torch.Tensor, coefficients: torch.Tensor) -> torch.Tensor:
        cond = self.condition(channels, coefficients)
        masks, values, source = channels[:, :2], channels[:, 2:4], channels[:, 4:5]
        bc = self.values(fourier_channels(values, self.freqs))
        fused = torch.cat([self.masks_gelu(masks) + self.masks_tanh(masks) * bc,
                           self.source(fourier_channels(source, self.freqs))], dim=1)
        x = self.fuse(fused + self.position).permute(0, 2, 3, 1)  # (B, H, W, C)
        pooled = []
        for i, stage in enumerate(self.stages):
            if i:
                x = self.merges[i - 1](x)
            x = stage(x)
            gamma, beta = self.films[i](cond)[:, None, None, :].chunk(2, dim=-1)
            x = x * (1 + gamma) + beta
            pooled.append(self.pools[i](x.flatten(1, 2)))
        tokens = torch.cat(pooled, dim=-1)  # (B, queries, width)
        parts = {name: head(tokens[:, k]) for k, (name, head) in enumerate(zip(self.order, self.heads))}
        return torch.cat([parts[name] for name, _ in self.target.shapes], dim=1)
