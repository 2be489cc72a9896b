"""The one catalogue of bad values that the contract test (``test_contract.py``) feeds to every
public parameter, by kind of parameter.

A ``Kind`` lists the values a parameter of that kind must refuse (``Bad``, ``must_fail``), the
values it may either refuse with a ``ValueError`` or accept (``must_fail=False``: 1e308 for an
unbounded number, an empty batch, a tensor that requires grad), random values it must refuse
(a hypothesis strategy) and other spellings of a good value it must accept (``np.float64`` for a
float, ``np.int64`` for an int). Each bad value is made from the parameter's good value, so a
"wrong width" batch or a "NaN row" is built from a batch that works. A judge (``on_success``)
says what an accepted value must give (a NaN row propagating to that row only).

The catalogue is this package, by section: ``core`` (``Bad``, ``Kind``, shared bad values,
combinators, judges), ``numbers``, ``choices`` (choices, flags, text, functions, dtypes),
``tensors`` (vectors, batches, element-wise inputs, scores, arrays), ``images`` (digits, feature
maps) and ``objects`` (package and bqplot objects). Specs import from here only. Grow it with
the package: a new kind of parameter gets its function here, not in a spec (a spec may add a
``Bad`` of its own to ``obj``, ``flow``, ``layer`` or ``combined``).
"""

from .choices import (
    choice,
    control,
    device,
    dtype,
    flag,
    function,
    learner,
    module_class,
    names,
    text,
)
from .core import (
    BOOLS,
    NON_FINITE,
    WRONG_TYPES,
    Bad,
    Judge,
    Kind,
    as_tensor,
    bad,
    combined,
    false_where_nan,
    gives_none,
    nan_where_nan,
    optional,
    rows_propagate,
    without,
)
from .images import binary_images, dequantised, images, maps, sample_values
from .numbers import answer, bounds, count, counts, real, seed, seeds
from .objects import config, flow, generator, layer, mark, obj, passed, scales, widget
from .tensors import (
    array,
    batch,
    elementwise,
    lines,
    mask,
    number_vector,
    scores,
    tensor_of_numbers,
    with_value,
)

__all__ = [
    "BOOLS",
    "NON_FINITE",
    "WRONG_TYPES",
    "Bad",
    "Judge",
    "Kind",
    "answer",
    "array",
    "as_tensor",
    "bad",
    "batch",
    "binary_images",
    "bounds",
    "choice",
    "combined",
    "config",
    "control",
    "count",
    "counts",
    "dequantised",
    "device",
    "dtype",
    "elementwise",
    "false_where_nan",
    "flag",
    "flow",
    "function",
    "generator",
    "gives_none",
    "images",
    "layer",
    "learner",
    "lines",
    "maps",
    "mark",
    "mask",
    "module_class",
    "names",
    "nan_where_nan",
    "number_vector",
    "obj",
    "optional",
    "passed",
    "real",
    "rows_propagate",
    "sample_values",
    "scales",
    "scores",
    "seed",
    "seeds",
    "tensor_of_numbers",
    "text",
    "widget",
    "with_value",
    "without",
]
