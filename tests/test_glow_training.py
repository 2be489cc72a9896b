"""train_glow_digits: seeded, validation held out of the training split, meta complete."""

from __future__ import annotations

import pytest
import torch

from nfwidgets import data
from nfwidgets.models.glow.training import SETTINGS, split_train, train_glow_digits

TINY = {"depth": 1, "hidden": 8, "batch": 32, "max_steps": 20, "eval_every": 10,
        "warmup": 5, "n_val": 40}


def test_validation_is_cut_from_the_training_split() -> None:
    fit, val = split_train(144, seed=0)
    train = data.digits("train")
    assert fit.shape[0] + val.shape[0] == train.shape[0] == 1437 and val.shape[0] == 144
    rows = {tuple(t.flatten().tolist()) for t in train}
    assert all(tuple(t.flatten().tolist()) in rows for t in val)
    assert torch.equal(torch.cat([val, fit]).sum(0), train.sum(0))  # a partition


def test_tiny_run_is_seeded_and_reports_what_it_did() -> None:
    model, meta = train_glow_digits(seed=0, **TINY)
    again, meta_again = train_glow_digits(seed=0, **TINY)
    for (k, a), b in zip(model.state_dict().items(), again.state_dict().values(), strict=True):
        assert torch.equal(a, b), k
    assert meta == meta_again
    assert meta["steps"] == 20 and meta["best_step"] in (10, 20)
    assert [s for s, _ in meta["val_curve"]] == [10, 20]
    assert meta["val_bpd"] == min(b for _, b in meta["val_curve"])
    assert meta["test_bpd"] == pytest.approx(model.bits_per_dim(data.digits("test"), seed=0),
                                             abs=1e-4)
    assert set(meta["baselines"]) == {"uniform", "histogram", "gaussian"}
    assert meta["settings"] == {**SETTINGS, **TINY}
    assert model.config == {"levels": 2, "depth": 1, "hidden": 8,
                            "dropout": SETTINGS["dropout"]}
    assert not model.training


def test_unknown_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown setting"):
        train_glow_digits(seed=0, learning_rate=1.0)


def test_the_train_command_writes_a_checkpoint_that_loads(tmp_path, monkeypatch) -> None:
    """``python -m nfwidgets.models.train glow-digits --out F`` (here with a tiny recipe): the
    file loads with ``weights_only`` (meta holds plain types only) and scores as recorded."""
    from nfwidgets.models import train as cli
    from nfwidgets.models.pretrained import load_pretrained

    monkeypatch.setattr(cli, "_resolve", lambda _spec: lambda seed: train_glow_digits(seed,
                                                                                      **TINY))
    assert cli.main(["glow-digits", "--out", str(tmp_path / "g.pt")]) == 0
    model = load_pretrained("glow-digits", path=tmp_path / "g.pt")
    meta = model.pretrained_meta
    assert isinstance(meta["torch"], str) and meta["steps"] == TINY["max_steps"]
    assert model.bits_per_dim(data.digits("test"), seed=0) == pytest.approx(meta["test_bpd"],
                                                                          abs=1e-4)
