"""Contract specs of the flow engine: ``nfwidgets.flows``, ``.targets``, ``.train``, ``.grid``
and ``tune_kernel`` (see README.md)."""

from __future__ import annotations

import torch

import nfwidgets
from nfwidgets.flows import Flow, Planar, Radial

from .bad_values import batch, number_vector, real
from .runner import Spec, arg, fresh


def _batch() -> torch.Tensor:
    return torch.tensor([[0.3, -0.2], [1.0, 0.5], [-0.7, 0.1]], dtype=torch.float64)


def _flow() -> Flow:
    return Flow([Planar([1.0, 0.5], [0.5, -0.3], 0.1), Radial([0.2, 0.0], 1.0, 0.5)]).double()


SPECS: list[Spec] = [
    Spec(Planar, {"w": fresh(number_vector(), lambda: [1.0, 0.5]),
                  "u": fresh(number_vector(), lambda: [0.5, -0.3]),
                  "b": arg(real(), 0.1)}),
    Spec(Flow.log_prob, {"x": fresh(batch(2, nonfinite="propagate"), _batch)}, owner=_flow),
]
#: entry point → why it is not fuzzed
EXEMPT: dict[object, str] = {nfwidgets.tune_kernel: "placeholder"}
