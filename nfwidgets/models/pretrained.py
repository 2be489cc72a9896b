"""The checkpoints that ship in the package, and how to load them.

A checkpoint is a ``torch.save``'d dict ``{"name", "config", "state_dict", "meta"}``: the model
is rebuilt with ``Class.from_config(config)`` and its parameters and buffers loaded (buffers
include Glow's ActNorm "initialised" flags and LU permutations, so nothing is re-initialised).
``meta`` says how it was made (command, seed, steps, test scores). Every checkpoint is
reproducible with ``python -m nfwidgets.models.train NAME`` (``nfwidgets.models.train``).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from .._checks import shown

__all__ = ["CHECKPOINTS", "PRETRAINED", "Pretrained", "checkpoint_path", "from_config",
           "load_pretrained", "save_checkpoint"]

#: Where the shipped checkpoints live (package data).
CHECKPOINTS = Path(__file__).resolve().parent / "checkpoints"


@dataclass(frozen=True)
class Pretrained:
    """One shipped model: ``"module:Class"`` that rebuilds it, and ``"module:function"`` that
    trains it (``train(seed) -> (model, meta)``)."""

    name: str
    model: str
    trainer: str
    what: str


def _entries() -> dict[str, Pretrained]:
    glow = Pretrained("glow-digits", "nfwidgets.models.glow:Glow",
                      "nfwidgets.models.glow.training:train_glow_digits",
                      "Glow (2 levels) on the 8×8 digits, dequantised")
    vaes = [Pretrained(f"flowvae-digits-k{k}", "nfwidgets.models.flowvae:FlowVAE",
                       f"nfwidgets.models.flowvae.training:train_k{k}",
                       f"FlowVAE, 2-D latent, {k} amortised planar layers, binarised digits")
            for k in (0, 2, 8, 16)]
    alias = Pretrained("flowvae-digits", "nfwidgets.models.flowvae:FlowVAE",
                       "nfwidgets.models.flowvae.training:train_k8",
                       "FlowVAE, 2-D latent, 8 amortised planar layers (= flowvae-digits-k8)")
    return {p.name: p for p in [glow, alias, *vaes]}


#: Name → what it is and how it is made.
PRETRAINED: dict[str, Pretrained] = _entries()


def _resolve(spec: str) -> object:
    module, name = spec.split(":")
    return getattr(importlib.import_module(module), name)


def from_config(cls: type[nn.Module], config: object, keys: tuple[str, ...]) -> nn.Module:
    """``cls(**config)`` for a dict ``config`` whose keys are among ``keys`` (a model's
    ``from_config``); the constructor checks the values, and its ``ValueError`` shows
    ``config``."""
    owner = cls.__name__
    if not isinstance(config, dict):
        raise ValueError(f"{owner}.from_config: config must be a dict like {owner}().config; "
                         f"got {shown(config)}")
    unknown = sorted(map(repr, set(config) - set(keys)))
    if unknown:
        raise ValueError(f"{owner}.from_config: config has unknown keys {', '.join(unknown)}; "
                         f"allowed: {', '.join(keys)}; got {shown(config)}")
    try:
        return cls(**config)
    except ValueError as error:
        raise ValueError(f"{owner}.from_config: config {config!r} is not valid: "
                         f"{error}") from None


def _check_name(name: object) -> str:
    if not isinstance(name, str) or name not in PRETRAINED:
        raise ValueError(f"name must be a pretrained model, one of {sorted(PRETRAINED)}; "
                         f"got {shown(name)}")
    return name


def checkpoint_path(name: str) -> Path:
    """The file of checkpoint ``name`` (``flowvae-digits`` is ``flowvae-digits-k8``)."""
    _check_name(name)
    return CHECKPOINTS / f"{'flowvae-digits-k8' if name == 'flowvae-digits' else name}.pt"


def save_checkpoint(model: nn.Module, name: str, meta: dict, path: Path | None = None) -> Path:
    """Write ``model`` (which has ``.config``) as checkpoint ``name``; returns the path."""
    path = checkpoint_path(name) if path is None else Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    torch.save({"name": name, "config": dict(model.config), "state_dict": state,
                "meta": dict(meta)}, path)
    return path


def load_pretrained(name: str, path: Path | str | None = None) -> nn.Module:
    """The shipped model ``name`` (see ``PRETRAINED``), in eval mode, on the CPU; ``path``
    loads a checkpoint written by the training command instead of the shipped one. Its
    ``meta`` (how it was made, its test scores) is ``model.pretrained_meta``. A missing file,
    or one that is not a checkpoint of model ``name``, is a ``ValueError``."""
    _check_name(name)
    if path is not None and not isinstance(path, str | Path):
        raise ValueError(f"path must be None or a file path (str or pathlib.Path)"
                         f"; got {shown(path)}")
    file = checkpoint_path(name) if path is None else Path(path)
    if not file.is_file():
        raise ValueError(f"path: no checkpoint file at {str(file)!r}; make it with "
                         f"`python -m nfwidgets.models.train {name}`")
    cls = _resolve(PRETRAINED[name].model)
    try:
        saved = torch.load(file, map_location="cpu", weights_only=True)
        model = cls.from_config(saved["config"])
        model.load_state_dict(saved["state_dict"])
    except Exception as error:  # any unreadable or foreign file: say which, and why
        raise ValueError(f"path: {str(file)!r} is not a checkpoint of {name!r} "
                         f"({type(error).__name__}: {str(error)[:200]})") from None
    model.eval()
    model.pretrained_meta = saved["meta"]
    return model
