"""nfwidgets.check.training_tasks: the real widgets of lessons 05–08, driven with ``.set``,
``.train`` and ``.reset`` to each task's solutions and to every catalogued wrong state."""

from __future__ import annotations

import subprocess
import sys
import warnings

import pytest
import torch

from nfwidgets import CouplingExplorer, TrainingDashboard, check
from nfwidgets.check import CheckFailed
from nfwidgets.check.training_tasks import TASKS

_U1 = {"target": "U1", "flow": "planar", "layers": 8, "seed": 0}
#: Each task's solutions: steps from the lesson's widget (the first is the lesson's own way).
SOLUTIONS = {
    "volume_preserving_coupling": [
        (("set", {"scale": "exp", "s_slope": 0.0, "s_shift": 0.0, "t_amplitude": 1.0}),),
        (("set", {"split": "x₂ conditions x₁", "s_slope": 0.0, "t_shift": 0.5,
                  "t_frequency": 0.7}),),  # the tanh rule, the other split
    ],
    "near_entropy_floor": [
        (("train", 400, {}), ("set", {"lr": 3e-3}), ("train", 400, {})),
        (("set", {"lr": 3e-3}), ("train", 750, {})),
    ],
    "both_lobes_covered": [
        (("set", {**_U1, "flow": "coupling", "layers": 6}), ("train", 400, {})),
        (("set", {**_U1, "flow": "radial", "seed": 4}), ("train", 400, {})),
    ],
    "collapsed_onto_left_lobe": [
        (("set", {**_U1, "seed": 3}), ("train", 400, {})),
    ],
}


def lesson_widget(task: str):
    """The widget as the lesson builds it (synchronous redraws; small pictures, none while
    training: the checks read the flow and the trainer, not the picture)."""
    torch.manual_seed(0)
    fast = {"redraw_delay": 0, "resolution": 24, "redraw_every": 1e6}
    if task == "volume_preserving_coupling":
        return CouplingExplorer(redraw_delay=0)
    if task == "near_entropy_floor":
        return TrainingDashboard(target="eight_gaussians", flow="coupling", layers=6, lr=1e-2,
                                 batch_size=256, seed=0, steps=400, **fast)
    return TrainingDashboard(target="U1", flow="planar", layers=8, lr=1e-2, batch_size=256,
                             seed=0, steps=400, anneal_steps=100, **fast)


def run_check(task: str, widget: object, **kwargs: object) -> None:
    """``check.<task>(widget)``, where any warning (it would reach stderr) is an error."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        getattr(check, task)(widget, **kwargs)


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
                         [(t, s) for t, sols in SOLUTIONS.items() for s in sols])
def test_solutions_pass_with_one_tick_and_no_stderr(task, steps, widgets, capsys) -> None:
    w = widgets(task)
    drive(w, steps)
    capsys.readouterr()
    run_check(task, w)
    out, err = capsys.readouterr()
    assert err == "" and len(out.splitlines()) == 1 and out.startswith("✓ "), out


@pytest.mark.parametrize("task, key", [(t, k) for t, states in TASKS.items() for k in states])
def test_every_wrong_state_fails_with_its_own_message(task, key, widgets, capsys) -> None:
    w = widgets(task)
    drive(w, TASKS[task][key].steps)
    capsys.readouterr()
    with pytest.raises(CheckFailed) as info:
        run_check(task, w)
    text = str(info.value)
    assert TASKS[task][key].marker in text
    others = [k for k, s in TASKS[task].items() if k != key and s.marker in text]
    assert not others, f"{key}'s failure also matches {others}"
    assert "{" not in text  # every field of the template was filled
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize("task, key", [("volume_preserving_coupling", "log_det_varies"),
                                       ("near_entropy_floor", "untrained"),
                                       ("both_lobes_covered", "untrained"),
                                       ("collapsed_onto_left_lobe", "untrained")])
def test_the_lessons_starting_state_fails_as_catalogued(task, key, widgets) -> None:
    with pytest.raises(CheckFailed) as info:
        getattr(check, task)(widgets(task))
    assert TASKS[task][key].marker in str(info.value)


def test_messages_name_the_state_found(widgets) -> None:
    e = widgets("volume_preserving_coupling")
    e.set(scale="exp", s_slope=0.0, s_shift=-0.25, t_amplitude=1.0)
    with pytest.raises(CheckFailed, match=r"log\|det J\| = -0\.250 everywhere"):
        check.volume_preserving_coupling(e)
    d = widgets("both_lobes_covered")
    d.train(30)
    with pytest.raises(CheckFailed, match=r"Step 30: β = 0\.31 < 1.*past step 99"):
        check.both_lobes_covered(d)
    d.set(target="two_moons")
    d.train(3)
    with pytest.raises(CheckFailed, match="fits two_moons"):
        check.near_entropy_floor(d)


def test_the_margin_and_share_are_the_learners_to_set(widgets, capsys) -> None:
    d = widgets("both_lobes_covered")
    drive(d, TASKS["both_lobes_covered"]["collapsed"].steps)
    check.both_lobes_covered(d, share=0.0)  # nothing to cover: passes
    with pytest.raises(CheckFailed, match="collapsed"):
        check.both_lobes_covered(d, share=0.01)
    assert capsys.readouterr().out.startswith("✓ ")


def test_a_widget_that_never_drew_is_named(widgets) -> None:
    for task in TASKS:
        w = widgets(task)
        w.last_frame = None  # as before its first picture
        with pytest.raises(CheckFailed, match="has not drawn anything yet"):
            getattr(check, task)(w)


def test_checks_import_no_widget_module() -> None:
    code = ("import sys, nfwidgets.check.training_tasks, nfwidgets.check.training, "
            "nfwidgets.check.models; bad = [m for m in sys.modules if m.startswith("
            "('nfwidgets.widgets', 'ipywidgets', 'bqplot'))]; print(bad); assert not bad")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_another_widget_is_refused(widgets) -> None:
    """The widget is the lesson's input, not the answer: the wrong one is a ValueError."""
    explorer = widgets("volume_preserving_coupling")
    for task in ("near_entropy_floor", "both_lobes_covered", "collapsed_onto_left_lobe"):
        with pytest.raises(ValueError, match=f"check.{task}: dashboard must be the lesson's "
                                             "TrainingDashboard; got a CouplingExplorer widget"):
            getattr(check, task)(explorer)
    with pytest.raises(ValueError, match="explorer must be the lesson's CouplingExplorer"):
        check.volume_preserving_coupling(explorer.layer)


@pytest.mark.parametrize("task, values, words", [
    ("near_entropy_floor", {"target": "two_moons"}, "target must be one of"),
    ("near_entropy_floor", {"margin": -0.3}, "margin must be a finite number > 0; got -0.3"),
    ("both_lobes_covered", {"share": 0.7}, r"share must be a finite number in \[0, 0.5\]"),
    ("collapsed_onto_left_lobe", {"share": 0.4}, r"share must be a finite number in \(0.5, 1\]"),
])
def test_the_tasks_numbers_are_checked(task, values, words, widgets) -> None:
    with pytest.raises(ValueError, match=words):
        getattr(check, task)(widgets("both_lobes_covered"), **values)
