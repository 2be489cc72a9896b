"""One line of derived values per layer kind (HTML), read from the engine's properties.

Shared by the explorers' parameter line and ``FlowBuilder``'s readout of the selected layer, so
both say the same thing about the same layer.
"""

from __future__ import annotations

import torch

from ..flows.base import Layer
from ..layer_controls import SPLITS, kind_of, split_of

__all__ = ["describe"]

_SUB = {0: "₁", 1: "₂"}


def _off(layer: Layer) -> str:
    return "" if layer.constrain else " · constraint <b>off</b>"


def _planar(layer: Layer, effective: tuple | None = None) -> str:
    u_hat, c, _ = layer.effective() if effective is None else effective
    u_hat, c = u_hat.detach().tolist(), float(c.detach())
    return (f"û = ({u_hat[0]:+.3f}, {u_hat[1]:+.3f}) · wᵀû = <b>{c:+.3f}</b> "
            f"(1 + wᵀû = {1.0 + c:.3g})" + _off(layer))


def _radial(layer: Layer, _effective: None = None) -> str:
    alpha = float(layer.alpha.detach())
    beta = float(layer.beta.detach())
    beta_hat = float(layer.beta_hat.detach())
    return (f"α = {alpha:.3g} · β = {beta:+.3f} (raw) · β̂ = <b>{beta_hat:+.3f}</b> · "
            f"α + β̂ = <b>{alpha + beta_hat:+.3f}</b>" + _off(layer))


def _rule_text(rule: str, bound: float) -> str:
    """How the log-scale ℓ is made from the conditioner's raw output s."""
    b = f"{bound:g}"
    return {"exp": "ℓ = s (unbounded)",
            "tanh": f"ℓ = {b}·tanh(s/{b}) (RealNVP)",
            "softclip": f"ℓ = s/(1 + |s|/{b}) (soft clip)",
            "sigmoid": "ℓ = log σ(s + 2) &lt; 0 (Glow: can only shrink)"}[rule]


def _coupling(layer: Layer, _effective: None = None) -> str:
    c, t = _SUB[int(layer.cond_index[0])], _SUB[int(layer.trans_index[0])]
    mask = list(SPLITS[split_of(layer)])
    return (f"mask b = {mask}: x{c} passes unchanged, x{t} = z{t}·exp(ℓ(z{c})) + t(z{c}) · "
            f"{_rule_text(layer.scale, layer.bound)}")


def _affine(layer: Layer, _effective: None = None) -> str:
    ref = layer.log_scale
    with torch.no_grad():  # the engine's log-det (constant for this layer)
        _, log_det = layer(torch.zeros(1, 2, dtype=ref.dtype, device=ref.device))
    s = ref.detach().tolist()
    return (f"log-scales s = ({s[0]:+.3f}, {s[1]:+.3f}) · "
            f"log|det J| = Σ s = <b>{float(log_det[0]):+.3f}</b>")


def describe(layer: Layer, effective: tuple | None = None) -> str:
    """The derived values of a 2-D layer with controls ("" for any other layer); a planar
    layer's ``effective`` ``(û, c, 1 + c)`` may be passed in (``FlowView.planar_parameters``:
    the values the pictures used, derived once)."""
    kind = kind_of(layer)
    return {"planar": _planar, "radial": _radial, "coupling": _coupling,
            "affine": _affine}[kind](layer, effective) if kind else ""
