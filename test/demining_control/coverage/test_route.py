"""Cheapest routes through allowed ground (demining_control/coverage/route.py)."""

import math

from shapely.geometry import LineString, box
from shapely.ops import unary_union

from demining_control.coverage.route import _MAX_SEARCHES, AllowedRouter

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


def test_a_route_round_a_blocked_disc_never_cuts_through_it():
    """The string is pulled only along legs that stay out of blocked cells. A chain step that
    passes the corner of two cells used to make the chain's own cost infinite, and then any
    straight leg, even one through the blocked disc, counted as no dearer (1 route in 200)."""
    import numpy as np
    from shapely.geometry import Point
    rng = np.random.default_rng(1)
    crossed = 0
    for _ in range(200):
        centre = (rng.uniform(15.0, 25.0), rng.uniform(8.0, 12.0))
        blocked = Point(centre).buffer(rng.uniform(2.0, 4.0))
        router = AllowedRouter((0, 0, 40, 20), box(0, 0, 40, 20), blocked, 0.5, PENALTY)
        a = (rng.uniform(1.0, 8.0), rng.uniform(5.0, 15.0))
        b = (rng.uniform(32.0, 39.0), rng.uniform(5.0, 15.0))
        pts = router.route(a, b)
        assert pts is not None and pts[0] == a and pts[-1] == b
        # a cell's half diagonal of round-off at the disc's edge, no more
        crossed += LineString(pts).intersects(blocked.buffer(-0.3))
    assert crossed == 0


def test_can_stand_is_the_passable_raster():
    router = AllowedRouter((0, 0, 10, 10), box(0, 0, 10, 10), box(4, 4, 6, 6), HALF, PENALTY)
    assert router.can_stand((1.0, 1.0)) and not router.can_stand((5.0, 5.0))
    assert not router.can_stand((-1.0, 5.0)) and not router.can_stand((5.0, 10.5))


def test_ground_allowed_in_place_prices_routes_as_a_router_built_with_it():
    """``allow`` (a repair's strips processed before its cut) re-weights the built graph."""
    allowed = unary_union([box(0, 0, 10, 2), box(11, 0, 21, 2)])
    router = AllowedRouter((-2, -6, 23, 8), allowed, None, HALF, PENALTY)
    found = router.search((1.0, 1.0))
    assert router.cost_to(found, (20.0, 1.0)) > PENALTY         # crosses the 1 m gap
    gap = box(9.5, 0, 11.5, 2)
    router.allow([gap])
    fresh = AllowedRouter((-2, -6, 23, 8), unary_union([allowed, gap]), None, HALF, PENALTY)
    got = router.cost_to(router.search((1.0, 1.0)), (20.0, 1.0))
    assert got < 25.0
    assert got == fresh.cost_to(fresh.search((1.0, 1.0)), (20.0, 1.0))
    assert router.route((1.0, 1.0), (20.0, 1.0)) == fresh.route((1.0, 1.0), (20.0, 1.0))


def test_a_processed_grid_allows_its_cells_as_their_polygons_would():
    """The node hands its processed grid's cells to the router (no polygons built)."""
    import numpy as np
    allowed = unary_union([box(0, 0, 10, 2), box(11, 0, 21, 2)])
    router = AllowedRouter((-2, -6, 23, 8), allowed, None, HALF, PENALTY)
    res, x0, y0 = 0.1, 8.0, -1.0
    mask = np.zeros((40, 60), dtype=bool)              # 6 x 4 m from (8, -1)
    rows = slice(int((0.0 - y0) / res), int((2.0 - y0) / res))
    cols = slice(int((9.5 - x0) / res), int((11.5 - x0) / res))
    mask[rows, cols] = True                            # the gap, as box(9.5, 0, 11.5, 2)
    router.allow_grid(mask, x0, y0, res)
    fresh = AllowedRouter((-2, -6, 23, 8), unary_union([allowed, box(9.5, 0, 11.5, 2)]), None,
                          HALF, PENALTY)
    assert np.array_equal(router.cost, fresh.cost)


def test_room_is_how_far_round_a_point_the_ground_is_allowed():
    # a 10 m wide band: 5 m of room at its middle, none outside it
    router = AllowedRouter((-10, -10, 20, 20), box(0, 0, 10, 20), box(-10, -10, -5, 20),
                           HALF, PENALTY)
    assert abs(router.room((5.25, 10.25)) - 4.75) <= router.res
    assert router.room((1.25, 10.25)) < 1.5
    assert router.room((-2.0, 10.0)) == 0.0 and router.room((100.0, 0.0)) == 0.0
    near = router.centres_near((-4.0, 10.0), 2.0)
    assert near and all(math.dist(c, (-4.0, 10.0)) <= 2.0 for c in near)
    assert all(router.can_stand(c) for c in near)            # never in blocked ground
    d = [math.dist(c, (-4.0, 10.0)) for c in near]
    assert d == sorted(d)


def _coo_graph(router: AllowedRouter):
    """The router's graph as the 8-connected cells' edges listed per direction, each both
    ways, laid out by ``coo_matrix.tocsr`` (how the graph was built before its layout was
    kept per raster)."""
    import numpy as np
    from scipy.sparse import coo_matrix
    h, w = router.h, router.w
    idx = np.arange(h * w).reshape(h, w)
    rows, cols, vals = [], [], []
    for dj, di in ((0, 1), (1, 0), (1, 1), (1, -1)):
        a = (slice(0, h - dj), slice(max(0, -di), w - max(0, di)))
        b = (slice(dj, h), slice(max(0, di), w - max(0, -di)))
        ok = router.passable[a] & router.passable[b]
        weight = 0.5 * (router.cost[a] + router.cost[b]) * math.hypot(dj, di) * router.res
        rows += [idx[a][ok], idx[b][ok]]
        cols += [idx[b][ok], idx[a][ok]]
        vals += [weight[ok], weight[ok]]
    return coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                      shape=(h * w, h * w)).tocsr()


def test_the_graph_from_the_kept_layout_is_the_graph_built_from_its_edges():
    """The router's graph, its layout built once per raster and its weights per allowed
    ground (a copy with other allowed ground shares the layout), is bit for bit the graph
    of its edges."""
    import numpy as np
    allowed = unary_union([box(0, 0, 2, 20), box(10, 0, 12, 20), box(0, 18, 12, 20)])
    blocked = box(4.0, 4.0, 7.0, 9.0)
    router = AllowedRouter((-2, -2, 14, 22), allowed, blocked, HALF, PENALTY)
    other = router.with_allowed(box(0, 0, 12, 3))
    for r in (router, other, router):
        built, graph = r._build(), _coo_graph(r)
        assert np.array_equal(built.indptr, graph.indptr)
        assert np.array_equal(built.indices, graph.indices)
        assert np.array_equal(built.data, graph.data)
        rows = np.repeat(np.arange(r.h * r.w), np.diff(graph.indptr))
        assert np.array_equal(r._edge_rows, rows)
    assert other._layout is router._layout


def test_a_search_is_kept_until_the_costs_change():
    allowed = unary_union([box(0, 0, 10, 2), box(11, 0, 21, 2)])
    router = AllowedRouter((-2, -6, 23, 8), allowed, None, HALF, PENALTY)
    found = router.search((1.0, 1.0))
    assert router.search((1.2, 1.1)) is found              # the same cell: the same search
    assert router.search((20.0, 1.0)) is not found
    other = router.with_allowed(box(0, 0, 21, 2))           # the gap allowed: cheaper
    assert other.search((1.0, 1.0)) is not found
    assert other.cost_to(other.search((1.0, 1.0)), (20.0, 1.0)) < \
        router.cost_to(found, (20.0, 1.0))
    router.allow([box(10, 0, 11, 2)])                       # in place: searched again
    again = router.search((1.0, 1.0))
    assert again is not found and router.cost_to(again, (20.0, 1.0)) < \
        router.cost_to(found, (20.0, 1.0))


def test_a_router_keeps_a_bounded_number_of_searches_the_oldest_going_first():
    allowed = box(0, 0, 60, 2)
    router = AllowedRouter((-2, -6, 62, 8), allowed, None, HALF, PENALTY)
    first = router.search((0.25, 1.0))
    starts = [(0.25 + 0.5 * k, 1.0) for k in range(1, _MAX_SEARCHES + 1)]
    for a in starts:
        router.search(a)
    assert len(router._searches) == _MAX_SEARCHES
    again = router.search((0.25, 1.0))                   # evicted: searched anew, the same
    assert again is not first and router.cost_to(again, (50.0, 1.0)) == \
        router.cost_to(first, (50.0, 1.0))
    assert router.search(starts[-1]) is router.search(starts[-1])
