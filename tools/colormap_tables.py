"""Write ``nfwidgets/_colormaps.py``: matplotlib's 256-entry viridis and RdBu tables as bytes.

Run once from the repository root (matplotlib is in the ``bench`` extra):
``python tools/colormap_tables.py``. viridis (van der Walt & Smith, 2015) is CC0; RdBu is
ColorBrewer's (Brewer, Apache-2.0 licence) as matplotlib interpolates it to 256 entries.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np

OUT = Path(__file__).resolve().parents[1] / "nfwidgets" / "_colormaps.py"
MAPS = ("viridis", "RdBu")
PER_LINE = 14  # colours per source line (6 hex digits each)

HEADER = '''"""256-entry RGB tables of the colour maps, written by ``tools/colormap_tables.py`` from
matplotlib {version} (``cmap(np.linspace(0, 1, 256), bytes=True)``). Do not edit by hand.

viridis: S. van der Walt and N. Smith (2015), CC0. RdBu: C. Brewer, ColorBrewer (Apache-2.0),
interpolated by matplotlib.
"""

TABLES: dict[str, bytes] = {{
'''


def table(name: str) -> np.ndarray:
    """matplotlib's (256, 3) uint8 table of ``name``."""
    cmap = matplotlib.colormaps[name]
    return cmap(np.linspace(0.0, 1.0, 256), bytes=True)[:, :3]


def main() -> None:
    lines = [HEADER.format(version=matplotlib.__version__)]
    for name in MAPS:
        hexes = table(name).tobytes().hex()
        step = 6 * PER_LINE
        lines.append(f'    "{name}": bytes.fromhex(\n')
        lines += [f'        "{hexes[i:i + step]}"\n' for i in range(0, len(hexes), step)]
        lines.append("    ),\n")
    lines.append("}\n")
    OUT.write_text("".join(lines))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
