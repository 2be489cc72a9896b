import pytest

from nfwidgets.widgets._handles import click_point


@pytest.mark.parametrize("content, point", [
    ({"data": {"click_x": 1.5, "click_y": "-2"}}, (1.5, -2.0)),
    ({"data": {"click_x": float("nan"), "click_y": 0.0}}, None),
    ({"data": {"click_x": float("inf"), "click_y": 0.0}}, None),
    ({"data": {"click_x": 1.0}}, None),
    ({"data": {"click_x": "one", "click_y": 0.0}}, None),
    ({"data": None}, None),
    ({}, None),
])
def test_click_point_reads_finite_coordinates_only(content, point):
    assert click_point(content) == point
