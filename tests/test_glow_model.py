"""Glow as a whole: density against autograd, round trips, bits/dim, samples, checkpoints and
refused inputs."""

from __future__ import annotations

import math

import pytest
import torch

from nfwidgets import data
from nfwidgets.models.glow import Glow, to_levels
from nfwidgets.models.glow.model import ALPHA
from nfwidgets.models.pretrained import load_pretrained, save_checkpoint


def _model(levels: int = 2, seed: int = 0, dtype: torch.dtype = torch.float64) -> Glow:
    torch.manual_seed(seed)
    model = Glow(levels=levels, depth=2, hidden=8).to(dtype)
    with torch.no_grad():  # initialise ActNorm on data, then move every parameter
        model.log_prob(data.dequantize(data.digits("train")[:64], dtype=dtype))
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return model


@pytest.mark.parametrize("levels", [1, 2, 3])
def test_log_prob_is_normal_log_density_plus_autograd_log_det(levels: int) -> None:
    """ln p(v) = ln N(ε) + ln|det ∂ε/∂v|, the Jacobian of the whole map v → ε (logit included)
    taken by autograd."""
    model = _model(levels)
    v = data.dequantize(data.digits("test")[:2], torch.Generator().manual_seed(1), torch.float64)
    eps = model.encode_values(v)
    for i in range(2):
        jac = torch.autograd.functional.jacobian(
            lambda u: model.encode(model.to_flow_input(u.reshape(1, 8, 8))[0])[0][0],
            v[i].flatten(), vectorize=True)
        log_det = torch.linalg.slogdet(jac)[1]
        expected = -0.5 * float(eps[i] @ eps[i]) - 32 * math.log(2 * math.pi) + float(log_det)
        with torch.no_grad():
            got = float(model.log_prob(v[i:i + 1])[0])
        assert got == pytest.approx(expected, abs=1e-9)


def test_logit_input_and_its_log_det() -> None:
    v = torch.rand(3, 8, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    v.requires_grad_(True)
    x, log_det = Glow.to_flow_input(v)
    torch.testing.assert_close(x[:, 0], torch.logit(ALPHA + (1 - 2 * ALPHA) * v))
    (dx_dv,) = torch.autograd.grad(x.sum(), v)  # an elementwise map: a diagonal Jacobian
    torch.testing.assert_close(log_det, dx_dv.log().flatten(1).sum(1))
    torch.testing.assert_close(Glow.from_flow_input(x), v, rtol=0, atol=1e-12)


@pytest.mark.parametrize("levels", [1, 2, 3])
def test_decode_inverts_encode(levels: int) -> None:
    model = _model(levels)
    v = data.dequantize(data.digits("test")[:5], torch.Generator().manual_seed(2), torch.float64)
    eps = model.encode_values(v)
    assert eps.shape == (5, 64)
    torch.testing.assert_close(model.decode_values(eps), v, rtol=0, atol=1e-10)


def test_bits_per_dim_is_seeded_and_uses_data_bits_per_dim() -> None:
    model = _model()
    images = data.digits("test")[:20]
    a = model.bits_per_dim(images, seed=3)
    assert a == model.bits_per_dim(images, generator=torch.Generator().manual_seed(3))
    v = data.dequantize(images, torch.Generator().manual_seed(3), torch.float64)
    with torch.no_grad():
        nll = -model.log_prob(v).mean()
    assert a == pytest.approx(float(data.bits_per_dim(nll)), abs=1e-12)
    assert a != model.bits_per_dim(images, seed=4)


def test_samples_are_seeded_integer_levels() -> None:
    model = _model()
    s = model.sample(6, temperature=0.7, generator=torch.Generator().manual_seed(0))
    assert s.shape == (6, 8, 8) and s.dtype == torch.int64
    assert int(s.min()) >= 0 and int(s.max()) <= 16
    assert torch.equal(s, model.sample(6, generator=torch.Generator().manual_seed(0)))
    zero = model.sample(2, temperature=0.0)  # T = 0: the decoded mode of ε, twice
    assert torch.equal(zero[0], zero[1])


@pytest.mark.parametrize("bad", [-0.1, float("nan"), float("inf"), "0.7", None, True])
def test_temperature_is_validated(bad: object) -> None:
    with pytest.raises(ValueError, match="temperature must be"):
        _model().sample(2, temperature=bad)


def test_bad_inputs_are_refused() -> None:
    model = _model()
    v = torch.full((2, 8, 8), 0.5, dtype=torch.float64)
    v[0, 3, 3] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        model.log_prob(v)
    with pytest.raises(ValueError, match=r"shape \(N, 8, 8\)"):
        model.log_prob(torch.zeros(2, 63, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        model.log_prob(torch.full((1, 8, 8), 3.0, dtype=torch.float64))
    with pytest.raises(ValueError, match="float tensor"):
        model.log_prob(data.digits("test")[:2])
    with pytest.raises(ValueError, match="levels 0–16"):
        model.bits_per_dim(torch.full((1, 8, 8), 17))
    with pytest.raises(ValueError, match="NaN"):
        model.bits_per_dim(torch.full((1, 8, 8), float("nan")))
    with pytest.raises(ValueError, match=r"n must be a positive integer ≤ 10000; got 0"):
        model.sample(0)
    for name, value in (("levels", 4), ("depth", 0), ("hidden", 2.5), ("dropout", 1.0)):
        with pytest.raises(ValueError, match=name):
            Glow(**{name: value})


def test_reload_gives_bit_identical_log_prob(tmp_path) -> None:
    model = _model(dtype=torch.float32)
    path = save_checkpoint(model, "glow-digits", {"note": "test"}, tmp_path / "g.pt")
    again = load_pretrained("glow-digits", path=path)
    assert again.config == model.config and again.pretrained_meta == {"note": "test"}
    assert all(bool(a.initialized) for a in again.modules() if hasattr(a, "initialized"))
    model.eval()
    v = data.dequantize(data.digits("test")[:16], torch.Generator().manual_seed(5))
    assert torch.equal(again.log_prob(v), model.log_prob(v))
    # a fresh model is not initialised; the reloaded one must not re-initialise on new data
    other = data.dequantize(data.digits("train")[:16], torch.Generator().manual_seed(6))
    before = again.log_prob(v)
    again.log_prob(other)
    assert torch.equal(again.log_prob(v), before)


def test_dropout_acts_in_training_only() -> None:
    torch.manual_seed(0)
    model = Glow(levels=2, depth=1, hidden=8, dropout=0.5)
    v = data.dequantize(data.digits("test")[:8], torch.Generator().manual_seed(0))
    with torch.no_grad():
        model.log_prob(v)  # initialise ActNorm
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
        model.train()
        noisy = [model.log_prob(v) for _ in range(2)]
        model.eval()
        clean = [model.log_prob(v) for _ in range(2)]
    assert not torch.equal(noisy[0], noisy[1])
    assert torch.equal(clean[0], clean[1])
    torch.testing.assert_close(model.decode_values(model.encode_values(v)), v)


def test_other_spellings_and_documented_edges() -> None:
    model = _model(dtype=torch.float32)
    model.eval()
    v = data.dequantize(data.digits("test")[:3], torch.Generator().manual_seed(0))
    same = model.log_prob(v)
    for other in (v.double(), v.reshape(3, 64), v[:, None], v.numpy()):
        assert torch.allclose(model.log_prob(other), same)
    with pytest.raises(ValueError, match=r"n must be a positive integer ≤ 10000"):
        model.sample(10**12)
    with pytest.raises(ValueError, match="temperature"):
        model.sample(2, temperature=True)
    with pytest.raises(ValueError, match="eps"):
        model.decode(torch.full((2, 64), float("nan")))
    with pytest.raises(ValueError, match="unknown keys 'nope'"):
        Glow.from_config({**model.config, "nope": 1})
    with pytest.raises(ValueError, match=r"config .* is not valid: .*levels"):
        Glow.from_config({**model.config, "levels": 9})


def test_to_levels_maps_non_finite_values_as_documented() -> None:
    v = torch.full((1, 8, 8), 0.5)
    v[0, 0, :3] = torch.tensor([float("nan"), float("inf"), -float("inf")])
    k = to_levels(v)
    assert k[0, 0, :4].tolist() == [0, 16, 0, 8]


def test_load_pretrained_refuses_a_missing_or_foreign_file(tmp_path) -> None:
    with pytest.raises(ValueError, match="path: no checkpoint file"):
        load_pretrained("glow-digits", path=tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_text("junk")
    with pytest.raises(ValueError, match="is not a checkpoint of 'glow-digits'"):
        load_pretrained("glow-digits", path=tmp_path / "junk.pt")
    with pytest.raises(ValueError, match="name must be a pretrained model"):
        load_pretrained(["glow-digits"])
