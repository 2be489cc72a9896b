"""The fast path: everything that exists only for speed, outside the layer classes.

``nfwidgets.flows`` is the reference; every function here computes what it computes (the
property tests ``tests/test_fast_*.py`` hold them to rounding): a table-seeded planar inverse
for plot grids, a batched forward through runs of planar layers for training, and staged
passes that keep per-layer results until told that a layer changed.
"""

from .layers import base_log_prob, flow_inverse_where, inverse_where, log_prob
from .passes import (
    ForwardCache,
    InverseCache,
    LayerScratch,
    StagedPass,
    forward,
    sample_and_log_prob,
)
from .planar import planar_inverse_where, planar_run, solve_projection_table

__all__ = [
    "ForwardCache",
    "InverseCache",
    "LayerScratch",
    "StagedPass",
    "base_log_prob",
    "flow_inverse_where",
    "forward",
    "inverse_where",
    "log_prob",
    "planar_inverse_where",
    "planar_run",
    "sample_and_log_prob",
    "solve_projection_table",
]
