"""Tests of the processed-ground grid."""

import math

from hypothesis import assume, given, settings, strategies as st
import numpy as np
import pytest
import shapely
from shapely.affinity import rotate
from shapely.geometry import box, GeometryCollection, LineString, Point, Polygon
from shapely.ops import unary_union

from demining_control.coverage.processed import (PROCESSED_VALUE, cells_geometry_near,
                                                 convex_cells, convex_cells_many, convex_hull,
                                                 hull_vertices, polygon_cells,
                                                 processed_geometry, ProcessedGrid)

FIELD = [(0.0, 0.0), (30.0, 0.0), (30.0, 20.0), (0.0, 20.0)]


def test_straight_sweep_area_within_one_percent():
    g = ProcessedGrid(FIELD, resolution=0.1, tool_width_m=2.0, tool_offset_x_m=2.6)
    # base from x=2.4 to x=12.4 along y=10: the tool sweeps x 5..15, y 9..11 = 20 m^2
    for k in range(101):
        g.update(2.4 + 0.1 * k, 10.0, 0.0, True)
    assert g.processed_area_m2() == pytest.approx(20.0, rel=0.01)
    assert g.coverage_percent() == pytest.approx(100.0 * 20.0 / 600.0, rel=0.01)


def test_diagonal_sweep_and_large_steps():
    g = ProcessedGrid(FIELD, resolution=0.1)
    yaw = math.atan2(1.0, 2.0)
    # two poses 4.47 m apart in one step (a 10 Hz pose at high speed still counts)
    g.update(3.0, 3.0, yaw, True)
    g.update(3.0 + 4.0, 3.0 + 2.0, yaw, True)
    assert g.processed_area_m2() == pytest.approx(2.0 * math.hypot(4.0, 2.0), rel=0.02)


def test_not_working_marks_nothing_and_breaks_the_sweep():
    g = ProcessedGrid(FIELD, resolution=0.1)
    g.update(5.0, 10.0, 0.0, True)
    g.update(6.0, 10.0, 0.0, False)
    g.update(7.0, 10.0, 0.0, True)
    assert g.processed_area_m2() == 0.0
    g.update(float('nan'), 10.0, 0.0, True)
    g.update(8.0, 10.0, 0.0, True)
    assert g.processed_area_m2() == 0.0
    g.update(9.0, 10.0, 0.0, True)
    assert g.processed_area_m2() == pytest.approx(2.0, rel=0.02)


def test_pivot_sweeps_an_annulus_sector():
    g = ProcessedGrid(FIELD, resolution=0.05)
    steps = 90
    for k in range(steps + 1):
        g.update(15.0, 10.0, 0.5 * math.pi * k / steps, True)
    # a point at radius r is on the tool line (2.6 m from the pivot, half-length 1 m) at the
    # angles +/- acos(2.6 / r) from the heading; a quarter turn covers an angular span of
    # pi/2 + 2 acos(2.6 / r) at that radius
    r = np.linspace(2.6, math.hypot(2.6, 1.0), 20001)
    span = 0.5 * math.pi + 2.0 * np.arccos(np.clip(2.6 / r, -1.0, 1.0))
    expected = float(np.sum(0.5 * (span[1:] * r[1:] + span[:-1] * r[:-1]) * np.diff(r)))
    assert g.processed_area_m2() == pytest.approx(expected, rel=0.05)


def test_exclusions_are_not_counted_and_outside_is_minus_one():
    zone = [(10.0, 5.0), (20.0, 5.0), (20.0, 15.0), (10.0, 15.0)]
    g = ProcessedGrid(FIELD, [zone], resolution=0.1)
    assert g.field_area_m2() == pytest.approx(500.0, rel=0.01)
    for k in range(301):
        g.update(-3.0 + 0.1 * k, 10.0, 0.0, True)
    # tool from x=-0.4 to 29.6, minus the 10 m through the zone: 2 x 19.6 in the field
    assert g.processed_area_m2() == pytest.approx(2.0 * 19.6, rel=0.01)
    assert g.swept_area_m2() > g.processed_area_m2()
    occ = g.occupancy_values()
    assert occ.min() == -1 and occ.max() == 100 and (occ == 0).any()


def test_memory_is_bounded():
    with pytest.raises(ValueError):
        ProcessedGrid([(0, 0), (1e5, 0), (1e5, 1e5)], resolution=0.1)
    with pytest.raises(ValueError):
        ProcessedGrid(FIELD, resolution=0.0)


def _cells_inside(poly, x0, y0, res, width, height, margin):
    """Reference: cell centres at least ``margin`` inside every edge (either orientation)."""
    gx = x0 + (np.arange(width) + 0.5) * res
    gy = y0 + (np.arange(height) + 0.5) * res
    gx, gy = np.meshgrid(gx, gy)
    pos = np.ones(gx.shape, dtype=bool)
    neg = pos.copy()
    for k in range(len(poly)):
        (ax, ay), (bx, by) = poly[k], poly[(k + 1) % len(poly)]
        cross = (bx - ax) * (gy - ay) - (by - ay) * (gx - ax)
        pos &= cross >= margin
        neg &= cross <= -margin
    return pos | neg


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.floats(-3.0, 8.0), st.floats(-3.0, 8.0)), min_size=3,
                max_size=9), st.booleans())
def test_convex_cells_are_the_cells_whose_centres_are_inside(points, clockwise):
    hull = convex_hull(np.array(points))
    assume(len(hull) >= 3)
    area2 = abs(sum(hull[k - 1][0] * hull[k][1] - hull[k][0] * hull[k - 1][1]
                    for k in range(len(hull))))
    assume(area2 > 1e-6)
    if clockwise:
        hull = hull[::-1]
    x0, y0, res, width, height = -1.0, -0.5, 0.1, 60, 70
    rows, cols, mask = convex_cells(hull, x0, y0, res, width, height)
    got = np.zeros((height, width), dtype=bool)
    got[rows, cols] = mask
    # a centre within 1e-9 of an edge may go either way (floating point); no other may
    assert not (got & ~_cells_inside(hull, x0, y0, res, width, height, -1e-9)).any()
    assert not (_cells_inside(hull, x0, y0, res, width, height, 1e-9) & ~got).any()


def test_convex_cells_off_the_grid_or_without_area_are_none():
    rows, cols, mask = convex_cells(np.array([(50.0, 50.0), (51.0, 50.0), (51.0, 51.0)]),
                                    0.0, 0.0, 0.1, 10, 10)
    assert mask.size == 0
    rows, cols, mask = convex_cells(np.array([(0.0, 0.0), (1.0, 1.0), (2.0, 2.0)]),
                                    0.0, 0.0, 0.1, 30, 30)
    assert not mask.any()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.floats(-3.0, 8.0), st.floats(-3.0, 8.0)), min_size=1,
                max_size=9), st.booleans(), st.booleans(), st.sampled_from([0.1, 0.05, 0.3]))
def test_one_polygon_cells_are_the_batch_rasteriser_cells_bit_for_bit(
        points, clockwise, snap, res):
    # convex_cells works on python floats, convex_cells_many on arrays: the same cells, from
    # the same row bounds, whatever the polygon (flat edges and degenerate ones included)
    if snap:
        points = [(round(x, 1), round(y, 1)) for x, y in points]    # edges along the rows
    hull = hull_vertices(points)
    assert np.array_equal(convex_hull(points), np.asarray(hull))
    if clockwise:
        hull = hull[::-1]
    x0, y0, width, height = -1.0, -0.5, 60, 70
    for polygon in (hull, np.asarray(hull, dtype=float).reshape(-1, 2), points):
        rows, cols, mask = convex_cells(polygon, x0, y0, res, width, height)
        if len(polygon) < 3 or rows.stop <= rows.start:
            continue
        ref = convex_cells_many([np.asarray(polygon, dtype=float)], x0, y0, res, rows, cols)[0]
        assert mask.dtype == ref.dtype and mask.shape == ref.shape
        assert np.array_equal(mask, ref)


def _centres(x0, y0, res, width, height):
    return np.meshgrid(x0 + (np.arange(width) + 0.5) * res, y0 + (np.arange(height) + 0.5) * res)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(0.5, 9.5), st.floats(0.5, 9.5), st.floats(0.2, 2.5)),
                min_size=1, max_size=6),
       st.lists(st.tuples(st.floats(0.5, 9.5), st.floats(0.5, 9.5), st.floats(0.1, 1.5)),
                max_size=4),
       st.floats(0.0, 90.0), st.sampled_from([0.1, 0.05, 0.37]))
def test_polygon_cells_are_the_cells_whose_centres_are_inside(discs, holes, angle, res):
    # parts, holes (a disc cut out of a part, an island in a hole) and oblique edges: the row
    # rule must give what a point test at every centre gives
    geom = unary_union([Point(x, y).buffer(r, 7) for x, y, r in discs])
    geom = geom.difference(unary_union([Point(x, y).buffer(r, 5) for x, y, r in holes]))
    geom = unary_union([geom, Point(5.0, 5.0).buffer(0.3, 3)])
    geom = rotate(geom, angle, origin=(5.0, 5.0))
    x0, y0, width, height = -2.013, -1.527, int(14 / res), int(13 / res)
    got = polygon_cells(geom, x0, y0, res, width, height)
    want = shapely.contains_xy(geom, *_centres(x0, y0, res, width, height))
    assert got.shape == (height, width)
    assert np.array_equal(got, want)


def test_polygon_cells_of_collections_clipped_and_invalid_geometries():
    x0, y0, res, width, height = 0.0, 0.0, 0.1, 40, 30
    centres = _centres(x0, y0, res, width, height)
    # a collection: its polygons count, nested ones too; a line covers nothing
    parts = GeometryCollection([box(0.2, 0.2, 1.0, 1.0),
                                GeometryCollection([box(2.0, 1.0, 3.3, 2.6)]),
                                LineString([(0.0, 2.0), (4.0, 2.0)])])
    want = shapely.contains_xy(unary_union([box(0.2, 0.2, 1.0, 1.0), box(2.0, 1.0, 3.3, 2.6)]),
                               *centres)
    assert np.array_equal(polygon_cells(parts, x0, y0, res, width, height), want)
    # a polygon reaching past the grid on every side: clipped, not wrapped
    big = box(-5.0, -5.0, 2.5, 9.0)
    assert np.array_equal(polygon_cells(big, x0, y0, res, width, height),
                          shapely.contains_xy(big, *centres))
    # self-intersecting (a bow tie): the point test's rule
    bow = Polygon([(0.0, 0.0), (4.0, 3.0), (4.0, 0.0), (0.0, 3.0)])
    assert not bow.is_valid
    assert np.array_equal(polygon_cells(bow, x0, y0, res, width, height),
                          shapely.contains_xy(bow, *centres))
    for empty in (None, Polygon(), LineString([(0.0, 0.0), (1.0, 1.0)])):
        assert not polygon_cells(empty, x0, y0, res, width, height).any()


def test_figures_follow_the_marked_cells_and_the_cells_are_only_assigned():
    # the area, coverage and occupancy grid are kept up to date over what was marked since
    # they were read: they must equal a recount over the whole grid at any time
    zone = [(10.0, 5.0), (14.0, 5.0), (14.0, 9.0), (10.0, 9.0)]
    g = ProcessedGrid(FIELD, [zone], resolution=0.1)
    cell_m2 = 0.1 * 0.1
    rng = np.random.default_rng(5)
    x, y, yaw = 2.0, 3.0, 0.3
    for k in range(400):
        x, y = x + 0.1 * math.cos(yaw), y + 0.1 * math.sin(yaw)
        yaw += float(rng.normal(0.0, 0.08))
        g.update(x, y, yaw, bool(k % 37))
        if k % 23 == 0:
            inside = g.processed & g.mask
            assert g.processed_area_m2() == float(np.count_nonzero(inside)) * cell_m2
            assert g.coverage_percent() == pytest.approx(
                100.0 * np.count_nonzero(inside) / np.count_nonzero(g.mask), abs=0, rel=0)
            assert np.array_equal(g.occupancy_values(),
                                  np.where(inside, np.int8(PROCESSED_VALUE),
                                           np.where(g.mask, np.int8(0), np.int8(-1))))
    assert g.processed_area_m2() > 10.0
    with pytest.raises(ValueError):
        g.processed[0, 0] = True                # read-only: the figures would not see it
    more = g.processed.copy()
    more[:40, :] = True
    g.processed = more                          # assigned: they do
    inside = more & g.mask
    assert g.processed_area_m2() == float(np.count_nonzero(inside)) * cell_m2
    assert (g.occupancy_values() == PROCESSED_VALUE).sum() == np.count_nonzero(inside)
    occupancy = g.occupancy_values()
    occupancy[:] = 0                            # the caller's own copy
    assert g.occupancy_values().max() == PROCESSED_VALUE


def test_the_cells_near_a_point_are_the_whole_grids_cells_cut_to_the_window():
    from shapely.geometry import box
    grid = ProcessedGrid(FIELD, resolution=0.1, tool_width_m=3.0, tool_offset_x_m=0.0)
    grid.sweep(2.0, 5.0, 0.0, 25.0, 5.0, 0.0)
    grid.sweep(10.0, 2.0, 0.5 * math.pi, 10.0, 18.0, 0.5 * math.pi)
    whole = processed_geometry(grid.occupancy_values(), grid.origin_x, grid.origin_y, 0.1)
    for bounds in [(8.0, 3.0, 14.0, 9.0), (-5.0, -5.0, 3.0, 7.0), (28.0, 15.0, 40.0, 40.0)]:
        near = cells_geometry_near(grid.processed, grid.origin_x, grid.origin_y, 0.1, bounds)
        window = box(*bounds)
        # every cell the window touches, and no other
        assert near.symmetric_difference(whole).intersection(window).area < 1e-9
        assert near.difference(window.buffer(0.1 + 1e-9, join_style='mitre')).area < 1e-9
    off = cells_geometry_near(grid.processed, grid.origin_x, grid.origin_y, 0.1,
                              (100.0, 100.0, 110.0, 110.0))
    assert off.is_empty
