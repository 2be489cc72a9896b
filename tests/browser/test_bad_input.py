"""Typed values in a real JupyterLab, in headless Chromium: every widget with sliders (the
explorers, and SampleGrid, PosteriorExplorer and TrainingDashboard with their pretrained models),
a value typed into a slider's text box (``.nfw-typed``) and Enter.

A non-number and an out-of-range number are explained in the widget's message area (naming the
control), the box shows the value in use again and the picture does not change (the
``.nfw-frame`` counter and picture digest stay); a good value then moves the slider and draws a
new frame. ipywidgets' own readout clamped or dropped such text in the browser, so the kernel
never heard of it. One server, one notebook, one browser for all widgets; waits are on the page.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from nfwidgets.widgets.controls import control_class

from .checks import assert_no_errors, bh, nb7

#: Widget (its class in the notebook) → control to type into, a value out of its range (and how
#: the message quotes it), a good value and how the box shows it (the control's format).
WIDGETS = {
    "PlanarExplorer": ("b", "99", "99.0", "0.5", "0.50"),
    "RadialExplorer": ("alpha", "-3", "-3.0", "2.5", "2.5"),  # a log slider: the value, not 10^x
    "CouplingExplorer": ("s_slope", "1e3", "1000.0", "-0.75", "-0.75"),
    "FlowBuilder": ("layer.b", "-7.5", "-7.5", "1.25", "1.25"),  # the selected layer's editor
    "ChangeOfVariables1D": ("shift", "4", "4.0", "-1.5", "-1.50"),
    "SampleGrid": ("temperature", "5", "5.0", "0.35", "0.35"),  # pretrained Glow
    "PosteriorExplorer": ("k", "9", "9", "3", "3"),  # an IntSlider; pretrained FlowVAE
    "TrainingDashboard": ("after_layer", "-1", "-1", "3", "3"),  # 0..K, K set at run time
}
#: Code run on ``w`` before it is shown (a flow at its start is close to the identity: train it
#: a little, so that the density after 3 layers differs from the whole flow's).
SETUP = {"TrainingDashboard": "w.train(40)\n"}

#: ms to wait for the kernel's answer to one typed value (it takes well under a second)
ANSWER_MS = 20_000
#: The widget's frame counter, picture (digest; a 1-D view: its density lines) and message.
_STATE_JS = """(root) => {
    const f = root.querySelector('.nfw-frame[data-frame]');
    const m = root.querySelector('.nfw-message');
    const lines = [...root.querySelectorAll('.nfw-figure-density svg.svg-figure path.line')]
        .map(p => p.getAttribute('d') || '').join('|');
    return {frame: f ? Number(f.dataset.frame) : -1,
            picture: f && f.dataset.picture ? f.dataset.picture : lines,
            message: m ? m.innerText.trim() : '',
            shown: !!m && getComputedStyle(m).display !== 'none'};
}"""


def _css(name: str) -> str:
    return f"t-{name.lower()}"


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory, browser: object) -> Iterator[object]:
    """The notebook with every widget, run in JupyterLab (one server for the module)."""
    folder = tmp_path_factory.mktemp("bad_input")
    cells = ["import nfwidgets"]
    for name in WIDGETS:
        cells.append(f"w = nfwidgets.{name}()\n{SETUP.get(name, '')}w.add_class({_css(name)!r})\nw")
    bh.write_notebook(folder / "bad_input.ipynb", cells)
    with bh.lab_server(folder) as lab:
        page = bh.open_notebook(browser, lab, "bad_input.ipynb")
        try:
            bh.run_all(page)
            assert_no_errors(page, "bad input notebook")
            bh.wait_widgets_rendered(page, min_figures=len(WIDGETS))
            yield page
        finally:
            page.close()
            lab.shutdown_kernels()


def _type(box: object, text: str) -> None:
    box.fill(text)
    box.press("Enter")


@pytest.mark.parametrize("name", list(WIDGETS))
def test_typed_values_are_checked_explained_and_applied(page: object, name: str) -> None:
    control, out_of_range, quoted, good, good_shown = WIDGETS[name]
    root = page.locator(f".{_css(name)}")
    el = root.element_handle()
    typed = root.locator(f".nfw-typed.{control_class(control)} input")
    assert typed.count() == 1, f"{name}: no typed box for {control}"
    in_use = typed.input_value()
    assert in_use and "nan" not in in_use.lower(), (name, in_use)
    before = el.evaluate(_STATE_JS)
    assert before["frame"] > 0 and not before["shown"], (name, before)

    for text, got in (("abc", "got 'abc'"), (out_of_range, f"got {quoted}"),
                      ("nan", "got nan")):
        _type(typed, text)
        page.wait_for_function(
            """([root, box, control, got, inUse]) => {
                const m = root.querySelector('.nfw-message');
                const text = m ? m.innerText : '';
                return text.includes(control + ' must be ') && text.includes(got)
                    && box.value === inUse;
            }""", arg=[el, typed.element_handle(), control, got, in_use], polling="raf",
            timeout=ANSWER_MS)
        after = el.evaluate(_STATE_JS)
        assert after["shown"], (name, text, after)
        assert (after["frame"], after["picture"]) == (before["frame"], before["picture"]), (
            f"{name}: typing {text!r} into {control} changed the picture: {after}")

    _type(typed, good)
    page.wait_for_function(
        f"""([root, box, frame, shown]) => {{
            const s = ({_STATE_JS})(root);
            return s.frame > frame && !s.shown && box.value === shown;
        }}""", arg=[el, typed.element_handle(), before["frame"], good_shown], polling="raf",
        timeout=ANSWER_MS)
    assert el.evaluate(_STATE_JS)["picture"] != before["picture"], name
    assert not nb7.nan_readouts(page), name
    assert_no_errors(page, name)
