"""The TrainingDashboard's drawn points: the target "draw", fed by clicks or ``add_points``."""

from __future__ import annotations

import numpy as np
import torch

from .._checks import shown
from ..training_setup import DRAW, Target, blob

__all__ = ["TrainingPoints"]


#: The most centres one ``add_points`` call takes.
MAX_CENTRES = 1000


def _centres(xy: object) -> torch.Tensor:
    """``xy`` as an (M, 2) float32 tensor of finite centres, else ``ValueError``."""
    try:
        t = torch.as_tensor(np.asarray(xy) if not isinstance(xy, torch.Tensor) else xy)
    except (TypeError, ValueError, RuntimeError) as err:
        raise ValueError(f"add_points: xy must be a point (x, y) or an array of shape (M, 2); "
                         f"got {shown(xy)}") from err
    if t.dtype == torch.bool or not (t.is_floating_point() or t.dtype in (
            torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8)):
        raise ValueError(f"add_points: xy must hold real numbers; got dtype {t.dtype}")
    if not (tuple(t.shape) == (2,) or (t.ndim == 2 and t.shape[1] == 2)):
        raise ValueError(f"add_points: xy must be a point (x, y) or an array of shape (M, 2); "
                         f"got shape {tuple(t.shape)}")
    t = t.detach().reshape(-1, 2).to(torch.float32)
    if not 1 <= t.shape[0] <= MAX_CENTRES or not bool(torch.isfinite(t).all()):
        raise ValueError(f"add_points: xy must hold 1 to {MAX_CENTRES} points, all finite; "
                         f"got shape {tuple(t.shape)}, not all finite")
    return t


class TrainingPoints:
    """Mixin of ``TrainingDashboard``: adding and clearing drawn points. Each blob of points is
    seeded from the seed and the number of blobs so far, so drawing is reproducible; training
    goes on from the current flow, optimiser state and random stream when points are added.
    The dashboard provides ``_target_name``, ``_drawn``, ``_n_blobs``, ``_seed``, ``_lr``,
    ``blob_size``, ``blob_std``, ``flow``, ``trainer``, ``_lock``, ``_rebuild``,
    ``_new_trainer``, ``_new_view``, ``_hint``, ``_show_error`` and ``_engine_changed``."""

    def add_points(self, xy: object) -> None:
        """Add a blob of ``blob_size`` points around each centre in ``xy`` (shape (2,) or
        (M, 2)), as clicks on the plot do; the target must be ``"draw"``. Training continues
        from the current flow with the new points (each blob is seeded from the seed and the
        number of blobs so far)."""
        if self._target_name != DRAW:
            raise ValueError(f"add_points: the target is {self._target_name!r}; choose the "
                             f"target {DRAW!r} first (set(target={DRAW!r}))")
        centres = _centres(xy)
        with self._lock:
            new = [blob(c, self.blob_size, self.blob_std,
                        seed=self._seed * 100_003 + self._n_blobs + k)
                   for k, c in enumerate(centres)]
            self._n_blobs += centres.shape[0]
            self._set_drawn(torch.cat([self._drawn, *new]))

    def clear_points(self) -> None:
        """Remove every drawn point and start over."""
        with self._lock:
            self._drawn = torch.zeros(0, 2)
            self._n_blobs = 0
            if self._target_name == DRAW:
                self._rebuild(new_target=True)
                self._hint(None)
                self._engine_changed()

    def _set_drawn(self, points: torch.Tensor) -> None:
        self._drawn = points
        old = self.trainer
        target = Target(DRAW, data=points)
        new = self._new_trainer(target, self.flow)
        if old is not None and new is not None:
            # Same flow, same optimiser state and random stream: only the data grew.
            new.optimizer.load_state_dict(old.optimizer.state_dict())
            new.lr = self._lr
            new.generator.set_state(old.generator.get_state())
            new.step_count, new.history = old.step_count, old.history
        self._new_view(target, self.flow, new)
        self._hint(None)
        self._engine_changed()

    def _on_plot_click(self, _mark: object, content: dict) -> None:
        try:
            data = content.get("data", {})
            if self._target_name != DRAW:
                self._hint("To add points by clicking, choose the target “draw points”.")
                return
            with self._lock:
                self.add_points([float(data["click_x"]), float(data["click_y"])])
        except Exception as err:  # shown to the learner; state kept
            self._show_error(err)

