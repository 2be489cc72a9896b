"""The flow engine: exact layers, their inverses and log-determinants, composed into flows.

Pure PyTorch; nothing here imports a widget.

Bad input (the engine's half of the contract in CONTRIBUTING.md; ``nfwidgets/_checks.py`` holds
the one validator every module of the package uses): a constructor, a property setter
(``Radial.alpha``) or a method given a bad value raises ``ValueError`` that names the parameter,
shows the value and says what is allowed, e.g. ``Radial: alpha must be a finite number > 0; got
-0.5``. No other exception type, nothing on stderr (no warning, no log record). Bools are not
numbers (``Planar(b=True)`` is refused); numpy scalars are (``np.float64(0.5)``). A number too
large for the layer's dtype says so (``b = 1e+308 is too large for torch.float32``). Sizes are
bounded (``nfwidgets._checks.MAX_POINTS`` points per call, ``MAX_DIM``, ``MAX_WIDTH``), so
``flow.sample(10**12)`` is a ``ValueError``.
A batch must be a real floating tensor of shape (N, dim) in the module's dtype and device (a
float32 batch into a float64 flow is refused, naming both dtypes).

Non-finite data (NaN or ±inf in a batch), one policy per entry point:

==========================================================  ===================================
entry point                                                 a NaN/inf row of the input
==========================================================  ===================================
``Layer.forward / inverse / inverse_where`` (every layer)   propagates: that row of the points
``Flow.forward / inverse / inverse_where / log_prob /``     is non-finite (``log_det`` too where
``trace``, ``AffineCoupling.jacobian``, conditioners'       it depends on the point), every
``forward``, ``StandardNormal / DiagonalNormal.log_prob``   other row is exact
``Planar.log_abs_det``, ``Radial.det_factors /``            propagates elementwise
``log_abs_det / radius_of_preimage``
``Planar.unique``                                           ``False`` (not known to be unique)
``targets.Energy`` (call) and ``Energy.log_density``        propagates row-wise
``train.MaximumLikelihood`` (``data``) and ``.nll`` (x)     rejected: ``ValueError`` naming the
                                                            first bad row
``grid.*`` (``bounds``)                                     rejected: ``ValueError`` naming the
                                                            axis
==========================================================  ===================================

Parameters (``w``, ``z0``, ``alpha``…) are never allowed to be non-finite.
"""

from .affine import ElementwiseAffine
from .base import DiagonalNormal, Layer, NotInvertibleError, StandardNormal
from .compose import Flow
from .conditioners import AdditiveConditioner, MLPConditioner, SimpleConditioner
from .coupling import SCALE_RULES, AffineCoupling
from .planar import Planar
from .radial import Radial

__all__ = [
    "SCALE_RULES",
    "AdditiveConditioner",
    "AffineCoupling",
    "DiagonalNormal",
    "ElementwiseAffine",
    "Flow",
    "Layer",
    "MLPConditioner",
    "NotInvertibleError",
    "Planar",
    "Radial",
    "SimpleConditioner",
    "StandardNormal",
]
