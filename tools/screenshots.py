"""Screenshots of every nfwidgets widget, rendered in Voilà in headless Chromium.

    python tools/screenshots.py [--out docs/screenshots]

Writes ``<out>/<widget_name>.png`` (e.g. ``planar_explorer.png``) for each public widget class
of ``nfwidgets.widgets`` (a class added later, such as ``TrainingDashboard``, is picked up
by itself), each in a seeded, representative state (``STATES``). The pictures in the README are
made by this tool, never by hand. Needs the ``browser`` extra and Debian's ``chromium``.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import browser_harness as bh  # noqa: E402

__all__ = ["STATES", "file_name", "main", "take"]

#: Widget class → code that builds it (``w``) in the state shown; a class not listed is shown
#: as ``Class()``.
STATES = {
    "PlanarExplorer": "w = PlanarExplorer(Planar(w=[2.0, 0.5], u=[1.5, 0.8], b=0.0), seed=0)",
    "RadialExplorer": "w = RadialExplorer(Radial(z0=[1.0, 0.5], alpha=0.5, beta=-2.0), seed=0)",
    "CouplingExplorer": "w = CouplingExplorer(seed=0)",
    "FlowBuilder": "w = FlowBuilder(preset='mixed_8', seed=0)",
    "ChangeOfVariables1D": "w = ChangeOfVariables1D('planar', seed=0)",
    # a few hundred steps, so the picture shows a flow that has learned something
    "TrainingDashboard": "w = TrainingDashboard('two_moons', seed=0)\nw.train(400)",
    "PosteriorExplorer": "w = PosteriorExplorer(index=3)",
    "SampleGrid": "w = SampleGrid(seed=0)",
}


def file_name(cls: str) -> str:
    """``PlanarExplorer`` → ``planar_explorer.png``, ``ChangeOfVariables1D`` →
    ``change_of_variables_1d.png``."""
    words = re.findall(r"[A-Z]+(?![a-z])\d*[A-Z]*|[A-Z]?[a-z]+|\d+[A-Z]*", cls)
    return "_".join(w.lower() for w in words) + ".png"


def _trim(path: Path, margin: int = 8) -> None:
    """Cut the empty page to the right of and below the widget (a VBox spans the page)."""
    from PIL import Image, ImageChops

    image = Image.open(path).convert("RGB")
    box = ImageChops.difference(image, Image.new("RGB", image.size, "white")).getbbox()
    if box:
        image.crop((0, 0, min(image.width, box[2] + margin),
                    min(image.height, box[3] + margin))).save(path, optimize=True)


def _widget_names() -> list[str]:
    import nfwidgets.widgets as widgets

    return [name for name in widgets.__all__ if name != "Explorer"]


def take(out: Path, names: list[str] | None = None) -> list[Path]:
    """Render the widgets ``names`` (default: all) in Voilà and save one PNG each in ``out``."""
    names = names or _widget_names()
    cells = ["import torch\nfrom nfwidgets import Planar, Radial\n"
             "from nfwidgets.widgets import *\ntorch.manual_seed(0)"]
    for name in names:
        build = STATES.get(name, f"w = {name}()")
        cells.append(f"{build}\nw.add_class('nfw-shot-{name}')\nw")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory(prefix="nfw-shots-") as tmp:
        bh.write_notebook(Path(tmp) / "widgets.ipynb", cells)
        with bh.voila_server(tmp) as server, bh.chromium(viewport=(1500, 1000)) as context:
            page = bh.new_page(context)
            # Voilà runs the whole notebook before the page loads: wait on the widgets instead
            page.goto(server.url("voila/render/widgets.ipynb"), wait_until="commit")
            server.remember_children()
            for name in names:
                page.locator(f".nfw-shot-{name}").wait_for(timeout=600_000)
            bh.wait_widgets_rendered(page, min_figures=len(names), timeout_ms=600_000)
            errors = bh.error_outputs(page) + bh.console_errors(page)
            if errors:
                raise bh.HarnessError("the widgets did not render cleanly:\n"
                                      + "\n".join(errors))
            for name in names:
                widget = page.locator(f".nfw-shot-{name}")
                widget.scroll_into_view_if_needed()
                path = out / file_name(name)
                widget.screenshot(path=str(path), animations="disabled")
                _trim(path)
                written.append(path)
            page.close()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("names", nargs="*", help="widget classes (default: all)")
    args = parser.parse_args()
    for path in take(args.out, args.names or None):
        print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} "
              f"({path.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
