"""Glow (Kingma & Dhariwal 2018) on the 8×8 digits: the layers (``layers``), the multi-scale
model (``model``), and its training (``training``).
Lesson 10's exercise is checked by ``nfwidgets.check.bits_per_dim``."""

from __future__ import annotations

from .layers import ActNorm, ImageAffineCoupling, InvConv1x1, Split, Squeeze
from .model import FlowStep, Glow, check_temperature, to_levels

__all__ = ["ActNorm", "FlowStep", "Glow", "ImageAffineCoupling", "InvConv1x1", "Split",
           "Squeeze", "check_temperature", "to_levels"]
