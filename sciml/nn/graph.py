"""Graphs of finite-element meshes and the spectral graph convolution stacks that run on them
(Gao, Zahr & Wang, CMAME 2022: nodes are FE nodes, edges join nodes sharing an element)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import nn

from ..errors import ProblemError


def mesh_edges(cells: np.ndarray) -> np.ndarray:
    """Directed edges ``(2, E)`` between every two nodes that share a cell, both directions,
    without self-loops, sorted."""
    cells = np.asarray(cells, dtype=np.int64)
    if cells.ndim != 2 or cells.shape[1] < 2:
        raise ProblemError(f"expected cells of at least two nodes, got shape {cells.shape}")
    k = cells.shape[1]
    pairs = np.concatenate([cells[:, [a, b]] for a in range(k) for b in range(k) if a != b])
    pairs = np.unique(pairs, axis=0)
    return np.ascontiguousarray(pairs.T)


class ChebNet(nn.Module):
    """A stack of Chebyshev spectral graph convolutions (Defferrard et al. 2016, torch-geometric
    ``ChebConv``) with ReLU between layers and orthogonal weight initialisation (gain for ReLU),
    as in the graph Galerkin networks' code.

    Parameters
    ----------
    sizes
        Channel widths including input and output, e.g. ``(2, 32, 64, 32, 1)``.
    K
        Chebyshev polynomial order (receptive field of ``K - 1`` hops per layer).
    """

    def __init__(self, sizes: Sequence[int], K: int = 10):
        super().__init__()
        from torch_geometric.nn import ChebConv

        if len(sizes) < 2 or any(int(s) < 1 for s in sizes) or K < 1:
            raise ProblemError(f"ChebNet needs positive widths and K >= 1, got {list(sizes)}, K = {K}")
        self.sizes = tuple(int(s) for s in sizes)
        self.convs = nn.ModuleList(ChebConv(a, b, K=K) for a, b in zip(self.sizes[:-1], self.sizes[1:]))
        gain = nn.init.calculate_gain("relu")
        with torch.no_grad():
            for conv in self.convs:
                for lin in conv.lins:
                    nn.init.orthogonal_(lin.weight, gain=gain)
                conv.bias.zero_()

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        for i, conv in enumerate(self.convs):
            x = conv(x, edge_index)
            if i < len(self.convs) - 1:
                x = torch.relu(x)
        return x
