"""Cheapest routes through allowed ground (demining_control/coverage/route.py)."""

import math

from shapely.geometry import LineString, box
from shapely.ops import unary_union

from demining_control.coverage.route import AllowedRouter

PENALTY = 1000.0
HALF = 0.8


def _length_outside(pts, allowed):
    return LineString(pts).difference(allowed).length


def test_the_route_follows_a_u_of_allowed_ground_instead_of_crossing_its_gap():
    # a U: two 2 m arms joined at the top; the straight way crosses 10 m that is not allowed
    allowed = unary_union([box(0, 0, 2, 20), box(10, 0, 12, 20), box(0, 18, 12, 20)])
    router = AllowedRouter((-2, -2, 14, 22), allowed, None, HALF, PENALTY)
    pts = router.route((1.0, 1.0), (11.0, 1.0))
    assert pts is not None and pts[0] == (1.0, 1.0) and pts[-1] == (11.0, 1.0)
    assert _length_outside(pts, allowed) < 0.3
    assert LineString(pts).length > 40.0
    assert len(pts) <= 6                    # the string is pulled: corners, not cells


def test_a_short_gap_is_crossed_when_nothing_else_connects_and_blocked_ground_never():
    allowed = unary_union([box(0, 0, 10, 2), box(11, 0, 21, 2)])
    router = AllowedRouter((-2, -6, 23, 8), allowed, None, HALF, PENALTY)
    pts = router.route((1.0, 1.0), (20.0, 1.0))
    assert pts is not None and _length_outside(pts, allowed) < 1.5
    blocked = box(9.5, -6, 11.5, 8)
    router = AllowedRouter((-2, -6, 23, 8), allowed, blocked, HALF, PENALTY)
    assert router.route((1.0, 1.0), (20.0, 1.0)) is None
    assert math.isinf(router.line_cost((1.0, 1.0), (20.0, 1.0)))
