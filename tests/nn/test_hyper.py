"""HyPINO's target network as data: its parameter count, the batched forward pass against a
plain implementation, gradients into the vector's producer, and the shared jet on one network."""

import math

import pytest
import torch

from sciml.nn.hyper import GeneratedField, ModifiedMLP


def test_parameter_count_and_features():
    spec = ModifiedMLP()
    assert spec.n_features == 22 and spec.n_params == 3 * (22 * 32 + 32) + 3 * (32 * 32 + 32) + 33 == 5409
    z = spec.features(torch.tensor([[0.0, 0.5]]))
    assert z.shape == (1, 22)
    assert torch.allclose(z[0, :5], torch.zeros(5)) and torch.allclose(z[0, 10:15], torch.ones(5))
    assert z[0, -1] == 0.5 and z[0, 5] == pytest.approx(math.sin(2 * math.pi * 0.1 * 0.5))
    with pytest.raises(ValueError, match="parameters per network"):
        spec(torch.zeros(3, 2), torch.zeros(1, 10))


def _plain(spec, x, flat):
    p = {k: v[0] for k, v in spec.unflatten(flat[None]).items()}
    z = spec.features(x)
    u = torch.tanh(z @ p["W_U"] + p["b_U"])
    v = torch.tanh(z @ p["W_V"] + p["b_V"])
    h = torch.tanh(z @ p["W_H0"] + p["b_H0"])
    for i in range(1, spec.layers + 1):
        h = torch.tanh((u * h + v * (1 - h)) @ p[f"W_{i}"] + p[f"b_{i}"])
    return h @ p["W_out"] + p["b_out"]


def test_batched_forward_equals_one_network_at_a_time_and_gradients_reach_the_producer():
    torch.manual_seed(0)
    spec = ModifiedMLP(width=8, layers=2)
    producer = torch.nn.Linear(4, spec.n_params)
    flats = producer(torch.randn(3, 4)) * 0.3
    x = torch.rand(17, 2) * 2 - 1
    out = spec(x, flats)
    assert out.shape == (3, 17, 1)
    for b in range(3):
        torch.testing.assert_close(out[b], _plain(spec, x, flats[b]))
    per_sample = spec(x.expand(3, 17, 2), flats)
    torch.testing.assert_close(per_sample, out)
    out.pow(2).sum().backward()
    assert producer.weight.grad.abs().sum() > 0


def test_a_generated_field_has_the_shared_jet():
    spec = ModifiedMLP(width=8, layers=2)
    field = GeneratedField(spec, spec.init_flat(torch.Generator().manual_seed(1), torch.float64))
    assert sum(p.numel() for p in field.parameters()) == spec.n_params
    x = torch.tensor([[0.3, -0.2]], dtype=torch.float64, requires_grad=True)
    jet = field.jet(x)
    h = 1e-4
    e = torch.tensor([[h, 0.0]], dtype=torch.float64)
    with torch.no_grad():
        fd = (field(x + e) - 2 * field(x) + field(x - e)) / h**2
        d1 = (field(x + e) - field(x - e)) / (2 * h)
    assert jet.d(0)[0, 0].item() == pytest.approx(d1.item(), rel=1e-6)
    assert jet.dd(0, 0)[0, 0].item() == pytest.approx(fd.item(), rel=1e-4)
    frozen = GeneratedField(spec, spec.init_flat(), trainable=False)
    assert not list(frozen.parameters())
