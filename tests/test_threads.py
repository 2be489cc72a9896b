"""``nfwidgets._threads.torch_threads``: the count inside the block, restored after."""

from __future__ import annotations

import pytest
import torch

from nfwidgets._threads import torch_threads


@pytest.fixture()
def two_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def test_sets_the_count_inside_and_restores_it(two_threads: None) -> None:
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2


def test_restores_after_an_error(two_threads: None) -> None:
    with pytest.raises(RuntimeError, match="boom"), torch_threads(1):
        raise RuntimeError("boom")
    assert torch.get_num_threads() == 2


def test_none_leaves_the_setting_alone(two_threads: None) -> None:
    with torch_threads(None):
        assert torch.get_num_threads() == 2
    assert torch.get_num_threads() == 2


@pytest.mark.parametrize("bad", [0, -1, 1.0, True, "1"])
def test_bad_counts_are_refused_by_name(bad: object, two_threads: None) -> None:
    with pytest.raises(ValueError, match=f"integer ≥ 1 or None; got {bad!r}"), \
            torch_threads(bad):  # type: ignore[arg-type]
        pass
    assert torch.get_num_threads() == 2
