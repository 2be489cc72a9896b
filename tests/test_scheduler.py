"""``RedrawScheduler``: leading edge for an isolated change, a burst coalesces to its last
state, a settle draw, a frame counter; hold, mute and close."""

from __future__ import annotations

import asyncio

import pytest

from nfwidgets.widgets.scheduler import RedrawScheduler


class Widget:
    """A stand-in widget: a state, and the state and quality of every draw."""

    def __init__(self, ok: bool = True) -> None:
        self.state = 0
        self.draws: list[tuple[int, bool]] = []
        self.ok = ok
        self.now = 0.0

    def draw(self, full: bool) -> bool:
        self.draws.append((self.state, full))
        return self.ok

    def clock(self) -> float:
        return self.now


def make(w: Widget, **kwargs: object) -> RedrawScheduler:
    return RedrawScheduler(w.draw, clock=w.clock, **{"redraw_delay": 0.02, "settle": 0.1,
                                                     **kwargs})


def test_without_an_event_loop_every_request_draws_at_once_in_full() -> None:
    w = Widget()
    s = make(w)
    for state in (1, 2, 3):
        w.state = state
        s.request()
    assert w.draws == [(1, True), (2, True), (3, True)] and s.frame == 3 and s.last_full


def test_on_a_loop_an_isolated_change_is_drawn_at_once_and_a_burst_ends_on_its_last_state():
    async def scenario() -> tuple[list, list, int]:
        w = Widget()
        s = make(w)
        w.state = 1
        s.request()  # isolated: drawn before request returns
        first = list(w.draws)
        for state in (2, 3, 4):  # a burst, 1 ms apart on the scheduler's clock
            w.now += 0.001
            w.state = state
            s.request()
        await asyncio.sleep(0.4)
        return first, w.draws, s.frame

    first, draws, frame = asyncio.run(scenario())
    assert first == [(1, True)]
    # the burst: one quick draw of its last state, then one full settle draw of the same state
    assert draws == [(1, True), (4, False), (4, True)] and frame == 3


def test_changes_a_gap_apart_are_each_drawn_at_once() -> None:
    async def scenario() -> list:
        w = Widget()
        s = make(w, gap=0.25)
        for state in (1, 2):
            w.state = state
            w.now += 1.0
            s.request()
        return w.draws

    assert asyncio.run(scenario()) == [(1, True), (2, True)]


def test_hold_makes_one_request_and_mute_none() -> None:
    w = Widget()
    s = make(w)
    with s.hold():
        w.state = 1
        s.request()
        w.state = 2
        s.request()
        assert w.draws == []
    assert w.draws == [(2, True)]
    with s.mute():
        s.request()
    assert w.draws == [(2, True)] and s.frame == 1


def test_a_failed_draw_is_not_counted() -> None:
    w = Widget(ok=False)
    s = make(w)
    assert s.now() is False and s.frame == 0 and w.draws == [(0, True)]
    w.ok = True
    assert s.now(full=False) is True and s.frame == 1 and not s.last_full


def test_close_cancels_pending_draws_and_later_requests() -> None:
    async def scenario() -> list:
        w = Widget()
        s = make(w)
        s.request()
        w.now += 0.001
        s.request()  # pending quick draw
        s.close()
        s.request()
        await asyncio.sleep(0.3)
        return w.draws

    assert asyncio.run(scenario()) == [(0, True)]


def test_without_settle_the_burst_ends_on_a_full_draw() -> None:
    async def scenario() -> list:
        w = Widget()
        s = make(w, settle=None)
        s.request()
        w.now += 0.001
        w.state = 5
        s.request()
        await asyncio.sleep(0.2)
        return w.draws

    assert asyncio.run(scenario()) == [(0, True), (5, True)]


@pytest.mark.parametrize(("name", "bad"), [("redraw_delay", -1), ("redraw_delay", "0"),
                                           ("gap", float("nan")), ("settle", True)])
def test_bad_settings_are_refused_by_name(name: str, bad: object) -> None:
    with pytest.raises(ValueError, match=f"{name} must be a number ≥ 0 \\(seconds\\); "
                                         f"got {bad!r}"):
        RedrawScheduler(lambda full: True, **{name: bad})
