"""The harness itself: it answers JupyterLab's "Select Kernel" dialog, its blank-figure checks
catch blank figures, and every process it started (JupyterLab, the kernels, Chromium,
Playwright's driver) is gone after a failure."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest

from .checks import assert_figures_drawn, bh

# Four figures: a real picture, a picture whose mark is hidden, a picture painted over (below),
# white lines on white.
CELLS = ["""\
import bqplot, ipywidgets, numpy as np
from nfwidgets.plots import FieldPanel

xs = np.linspace(-4, 4, 64, dtype=np.float32)
field = np.exp(-0.5 * (xs[None, :] ** 2 + xs[:, None] ** 2)) / (2 * np.pi)
shown = FieldPanel("shown", ((-4, 4), (-4, 4)), 0.0, 0.2)
shown.update(field)
hidden = FieldPanel("hidden", ((-4, 4), (-4, 4)), 0.0, 0.2)
hidden.update(field)
hidden.mark.visible = False
covered = FieldPanel("covered", ((-4, 4), (-4, 4)), 0.0, 0.2)
covered.update(field)
covered.figure.add_class("t-covered")
shown.figure.add_class("t-shown")
hidden.figure.add_class("t-hidden")
sx, sy = bqplot.LinearScale(), bqplot.LinearScale()
white = bqplot.Figure(marks=[bqplot.Lines(x=xs, y=np.sin(xs), colors=["white"],
                                          scales={"x": sx, "y": sy})],
                      title="white", layout=ipywidgets.Layout(width="250px", height="250px"))
white.add_class("t-white")
ipywidgets.HBox([shown.figure, hidden.figure, covered.figure, white])"""]


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.add(pid)
    return alive


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="process checks read /proc (Linux)")
def test_kernel_dialog_blank_figures_and_no_process_left_after_a_failure(
        tmp_path: Path) -> None:
    bh.write_notebook(tmp_path / "figures.ipynb", CELLS)
    bare = nbformat.v4.new_notebook()  # no kernelspec: JupyterLab asks for a kernel
    bare.cells.append(nbformat.v4.new_code_cell("print(6 * 7)"))
    nbformat.write(bare, tmp_path / "no_kernelspec.ipynb")
    before = bh._children(os.getpid())
    started: set[int] = set()
    with pytest.raises(RuntimeError, match="a test failure"):
        with bh.lab_server(tmp_path) as server, bh.chromium() as context:
            asked = bh.open_notebook(context, server, "no_kernelspec.ipynb")
            bh.run_all(asked)
            assert asked.locator(".jp-OutputArea-output").inner_text().strip() == "42"
            asked.close()
            page = bh.open_notebook(context, server, "figures.ipynb")
            bh.run_all(page)
            bh.wait_widgets_rendered(page, min_figures=4)
            page.locator(".t-covered").evaluate("""(f) => {
                const cover = document.createElement('div');
                cover.style.cssText = 'position:absolute;inset:0;background:white;z-index:9';
                f.appendChild(cover);
            }""")
            # the real picture passes, the other three are caught
            assert assert_figures_drawn(page, "harness", ".t-shown") == 1
            with pytest.raises(AssertionError, match="does not fill the plot"):
                assert_figures_drawn(page, "harness", ".t-hidden")
            with pytest.raises(AssertionError, match="picture's colours"):
                assert_figures_drawn(page, "harness", ".t-covered")
            with pytest.raises(AssertionError, match="looks blank"):
                assert_figures_drawn(page, "harness", ".t-white")
            started = bh._children(os.getpid()) - before
            server.remember_children()
            started |= server._known | {server.proc.pid}
            assert any("ipykernel" in _cmdline(p) for p in started), started
            raise RuntimeError("a test failure")
    assert started
    assert not _alive(started), {p: _cmdline(p) for p in _alive(started)}


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""
