"""nfwidgets.check.widget_tasks: the real widgets of lessons 01–04, driven with ``.set`` and
``.edit_layer`` to each task's solutions and to every catalogued wrong state."""

from __future__ import annotations

import subprocess
import sys

import pytest
from check_solutions_basics import WIDGET_SOLUTIONS

from nfwidgets import (
    ChangeOfVariables1D,
    FlowBuilder,
    Planar,
    PlanarExplorer,
    Radial,
    RadialExplorer,
    check,
)
from nfwidgets.check import CheckFailed
from nfwidgets.check.widget_tasks import TASKS


def lesson_widget(task: str):
    """The widget as the lesson builds it (synchronous redraws)."""
    if task == "pile_up":
        return ChangeOfVariables1D("affine", seed=0, redraw_delay=0)
    if task == "fold_line":
        return PlanarExplorer(Planar(w=[2.0, 0.0], u=[1.5, 0.5], b=0.0), redraw_delay=0)
    if task == "mass_pushed_out":
        return RadialExplorer(Radial(z0=[1.0, 0.5], alpha=0.5, beta=1.0), redraw_delay=0)
    return FlowBuilder(preset="five_affine", seed=0, redraw_delay=0)


def drive(widget, steps) -> None:
    for method, *args in steps:
        getattr(widget, method)(*args[:-1], **args[-1])


@pytest.fixture
def widgets():
    made = []

    def make(task):
        made.append(lesson_widget(task))
        return made[-1]

    yield make
    for w in made:
        w.close()


@pytest.mark.parametrize("task, steps",
                         [(t, s) for t, sols in WIDGET_SOLUTIONS.items() for s in sols])
def test_solutions_pass_with_one_tick_and_no_stderr(task, steps, widgets, capsys) -> None:
    w = widgets(task)
    drive(w, steps)
    capsys.readouterr()
    getattr(check, task)(w)
    out, err = capsys.readouterr()
    assert err == "" and len(out.splitlines()) == 1 and out.startswith("✓ ")


@pytest.mark.parametrize("task, key", [(t, k) for t, states in TASKS.items() for k in states])
def test_every_wrong_state_fails_with_its_own_message(task, key, widgets, capsys) -> None:
    w = widgets(task)
    drive(w, TASKS[task][key].steps)
    capsys.readouterr()
    with pytest.raises(CheckFailed) as info:
        getattr(check, task)(w)
    text = str(info.value)
    assert TASKS[task][key].marker in text
    others = [k for k, s in TASKS[task].items() if k != key and s.marker in text]
    assert not others, f"{key}'s failure also matches {others}"
    assert "{" not in text  # every field of the template was filled
    out, err = capsys.readouterr()
    assert out == "" and err == ""


@pytest.mark.parametrize("task, key", [("pile_up", "not_planar"), ("fold_line", "constrained"),
                                       ("mass_pushed_out", "too_weak"),
                                       ("area_kept", "area_changed")])
def test_the_lessons_starting_state_fails_as_catalogued(task, key, widgets) -> None:
    with pytest.raises(CheckFailed) as info:
        getattr(check, task)(widgets(task))
    assert TASKS[task][key].marker in str(info.value)


def test_messages_name_the_state_found(widgets) -> None:
    w = widgets("fold_line")
    drive(w, TASKS["fold_line"]["wrong_side"].steps)
    with pytest.raises(CheckFailed, match=r"x₂ = -1\.00"):
        check.fold_line(w)
    r = widgets("mass_pushed_out")
    r.set(beta=0.5)
    with pytest.raises(CheckFailed) as info:
        check.mass_pushed_out(r)
    assert f"{r.last_frame.mass:.3f}" in str(info.value)
    assert f"{float(r.layer.beta_hat):+.3f}" in str(info.value)


def test_a_widget_that_never_drew_is_named(widgets) -> None:
    for task in TASKS:
        w = widgets(task)
        w.last_frame = None  # as before its first picture
        with pytest.raises(CheckFailed, match="has not drawn anything yet"):
            getattr(check, task)(w)


def test_checks_import_no_widget_module() -> None:
    code = ("import sys, nfwidgets.check.widget_tasks, nfwidgets.check.basics; "
            "bad = [m for m in sys.modules if m.startswith(('nfwidgets.widgets', 'ipywidgets',"
            " 'bqplot'))]; print(bad); assert not bad")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("task, wrong", [("pile_up", "fold_line"), ("fold_line", "pile_up"),
                                         ("mass_pushed_out", "fold_line"),
                                         ("area_kept", "mass_pushed_out")])
def test_another_widget_or_its_layer_is_refused(task, wrong, widgets) -> None:
    """The widget is the lesson's input, not the answer: the wrong one is a ValueError."""
    other = widgets(wrong)
    with pytest.raises(ValueError, match=f"check.{task}: .* must be the lesson's"):
        getattr(check, task)(other)
    with pytest.raises(ValueError, match="must be the lesson's"):
        getattr(check, task)(getattr(other, "layer", None) or other.flow)


@pytest.mark.parametrize("task, values, words", [
    ("pile_up", {"target": 7.0}, r"target must be a finite number in \[-5, 5\]; got 7.0"),
    ("pile_up", {"tolerance": 0}, "tolerance must be a finite number > 0; got 0"),
    ("pile_up", {"height": True}, r"height must be a finite number in \(0, 10\]; got True"),
    ("fold_line", {"level": float("nan")}, "level must be a finite number in"),
    ("mass_pushed_out", {"below": 1.5}, r"below must be a finite number in \(0, 1\]"),
    ("area_kept", {"layers": 5.0}, "layers must be a positive integer ≤ 20; got 5.0"),
])
def test_the_tasks_numbers_are_checked(task, values, words, widgets) -> None:
    with pytest.raises(ValueError, match=words):
        getattr(check, task)(widgets(task), **values)
