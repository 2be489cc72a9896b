"""``nfwidgets.view_1d.View1D``: the 1-D frame is the engine's, and p_x integrates to one."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nfwidgets import ElementwiseAffine, Flow, Planar, StandardNormal
from nfwidgets.view_1d import Frame1D, View1D


def view(layer: torch.nn.Module, **kwargs: object) -> View1D:
    return View1D(Flow([layer.double()], base=StandardNormal(1).double()), **kwargs)


def test_frame_is_the_engines_exact_values() -> None:
    v = view(Planar([2.0], [1.0], 0.3))
    frame = v.compute()
    assert isinstance(frame, Frame1D) and frame.x.dtype == np.float32
    x = torch.as_tensor(frame.x, dtype=torch.float64)[:, None]
    with torch.no_grad():
        fz, log_det = v.flow(x)
        density = v.flow.log_prob(x).exp()
    np.testing.assert_allclose(frame.density, density.numpy(), rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(frame.f, fz[:, 0].numpy(), rtol=1e-6)
    np.testing.assert_allclose(frame.abs_det, log_det.exp().numpy(), rtol=1e-5)
    assert frame.mass == pytest.approx(1.0, abs=1e-3) and not frame.spike_unresolved


def test_histogram_is_a_density_of_the_pushed_samples() -> None:
    frame = view(ElementwiseAffine([0.2], [0.5]), n_samples=20_000, bins=40).compute()
    width = np.diff(frame.hist_edges)
    assert float(np.sum(frame.hist_density * width)) == pytest.approx(1.0, abs=0.01)


def test_a_squeezed_map_is_flagged_as_unresolved() -> None:
    frame = view(ElementwiseAffine([-4.0], [0.0])).compute()
    assert frame.spike_unresolved and np.isfinite(frame.density).all()


@pytest.mark.parametrize(("kwargs", "match"), [({"x_range": (1.0, -1.0)}, "x_range"),
                                               ({"x_range": "ab"}, "x_range"),
                                               ({"n_points": 4}, "n_points"),
                                               ({"bins": True}, "bins")])
def test_bad_arguments_raise_with_the_value(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        view(ElementwiseAffine([0.0], [0.0]), **kwargs)
    with pytest.raises(ValueError, match="1-D"):
        View1D(Flow([Planar([1.0, 0.0], [0.5, 0.0], 0.0)]))
