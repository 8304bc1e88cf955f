"""World model: terrain height/gradient, polygon checks, containment helpers."""

import math

import numpy as np
import pytest

from demining_bringup.contract.world import (
    BuriedItem, GeoOrigin, ItemKind, Obstacle, Terrain, World, WorldError, polygon_area,
    validate_polygon, validate_world)


def plane_terrain(a=0.2, b=-0.1, c=3.0, n=17, res=0.5, ox=-2.0, oy=1.0):
    jj, ii = np.meshgrid(np.arange(n), np.arange(n))
    x = ox + jj * res
    y = oy + ii * res
    return Terrain(heights=a * x + b * y + c, origin_x=ox, origin_y=oy, resolution=res)


def test_flat_terrain_returns_flat_height_in_any_shape():
    t = Terrain(flat_height=1.25)
    assert t.height_at(3.0, -7.0) == 1.25
    h = t.height_at(np.zeros((2, 3)), 5.0)
    assert h.shape == (2, 3) and np.all(h == 1.25)
    gx, gy = t.gradient_at(np.arange(4.0), 0.0)
    assert gx.shape == (4,) and not gx.any() and not gy.any()


def test_plane_heightmap_is_reproduced_exactly():
    a, b, c = 0.2, -0.1, 3.0
    t = plane_terrain(a, b, c)
    rng = np.random.default_rng(1)
    x = rng.uniform(-2.0, 6.0, 200)
    y = rng.uniform(1.0, 9.0, 200)
    np.testing.assert_allclose(t.height_at(x, y), a * x + b * y + c, atol=1e-12)
    gx, gy = t.gradient_at(x, y)
    np.testing.assert_allclose(gx, a, atol=1e-12)
    np.testing.assert_allclose(gy, b, atol=1e-12)
    assert math.isclose(float(t.slope_deg_at(1.0, 2.0)),
                        math.degrees(math.atan(math.hypot(a, b))), rel_tol=1e-9)


def test_paraboloid_bilinear_values_and_gradient():
    # z = x^2 + 2 y^2 on a 1 m grid: exact at nodes; the bilinear interpolant at a cell
    # midpoint is the mean of the corner values; its gradient there is the central difference.
    n, res = 11, 1.0
    jj, ii = np.meshgrid(np.arange(n), np.arange(n))
    t = Terrain(heights=(jj * res) ** 2 + 2.0 * (ii * res) ** 2, resolution=res)
    assert float(t.height_at(3.0, 4.0)) == pytest.approx(9.0 + 32.0)
    # Midpoint of cell x in [3, 4], y in [4, 5].
    expected = np.mean([9 + 32, 16 + 32, 9 + 50, 16 + 50])
    assert float(t.height_at(3.5, 4.5)) == pytest.approx(expected)
    gx, gy = t.gradient_at(3.5, 4.5)
    assert float(gx) == pytest.approx(2 * 3.5)          # (16 - 9) / 1
    assert float(gy) == pytest.approx(2.0 * 2 * 4.5)    # 2 (25 - 16) / 1


def test_heightmap_clamps_outside_and_gradient_is_zero_there():
    t = plane_terrain()
    xmin, ymin, xmax, ymax = t.extent()
    assert float(t.height_at(xmin - 10.0, ymin)) == pytest.approx(float(t.height_at(xmin, ymin)))
    gx, gy = t.gradient_at(xmax + 1.0, ymax + 1.0)
    assert float(gx) == 0.0 and float(gy) == 0.0


def test_vectorised_shapes_are_kept():
    t = plane_terrain()
    x = np.linspace(0, 3, 12).reshape(3, 4)
    assert t.height_at(x, 2.0).shape == (3, 4)
    gx, gy = t.gradient_at(x, 2.0)
    assert gx.shape == (3, 4) and gy.shape == (3, 4)
    assert np.isscalar(t.height_at(1.0, 2.0)) or np.ndim(t.height_at(1.0, 2.0)) == 0


def test_terrain_equality_tolerates_png_quantisation_only():
    t = plane_terrain()
    near = Terrain(heights=t.heights + 4e-4, origin_x=t.origin_x, origin_y=t.origin_y,
                   resolution=t.resolution)
    far = Terrain(heights=t.heights + 0.01, origin_x=t.origin_x, origin_y=t.origin_y,
                  resolution=t.resolution)
    assert t == near
    assert t != far
    assert t != Terrain()


def test_validate_polygon_orients_ccw_and_drops_closing_vertex():
    cw = [(0, 0), (0, 10), (10, 10), (10, 0), (0, 0)]
    ccw = validate_polygon(cw)
    assert len(ccw) == 4 and ccw[0] == (0.0, 0.0)
    assert polygon_area(ccw) == pytest.approx(100.0)


@pytest.mark.parametrize('points, words', [
    ([(0, 0), (1, 1)], 'at least 3'),
    ([(0, 0), (10, 10), (10, 0), (0, 10)], 'self-intersecting'),
    ([(0, 0), (5, 5), (10, 10)], 'zero area'),
    ([(0, 0), (float('nan'), 1), (1, 0)], 'not finite'),
])
def test_validate_polygon_rejects_bad_polygons(points, words):
    with pytest.raises(WorldError, match=words):
        validate_polygon(points, 'field polygon')


def small_world(**kw):
    base = dict(name='w', origin=GeoOrigin(44.0, 18.0),
                field=[(0, 0), (20, 0), (20, 10), (0, 10)],
                exclusion_zones=[[(2, 2), (4, 2), (4, 4), (2, 4)]],
                items=[BuriedItem('m1', ItemKind.AP, 5, 5, 0.05)])
    base.update(kw)
    return World(**base)


def test_contains_exclusion_and_hazard_helpers_are_vectorised():
    w = small_world()
    x = np.array([1.0, 3.0, 25.0, 20.0])
    y = np.array([1.0, 3.0, 5.0, 5.0])
    assert list(w.contains(x, y)) == [True, True, False, True]     # boundary counts
    assert list(w.in_exclusion(x, y)) == [False, True, False, False]
    assert list(w.in_hazard(x, y)) == [True, False, False, True]
    assert bool(w.contains(10.0, 5.0)) is True
    assert w.field_area_m2() == pytest.approx(200.0)
    assert w.hazard_area_m2() == pytest.approx(196.0)
    assert w.bounds() == (0.0, 0.0, 20.0, 10.0)


def test_validate_world_catches_bad_values():
    with pytest.raises(WorldError, match='depth'):
        validate_world(small_world(items=[BuriedItem('m1', ItemKind.AP, 5, 5, -0.01)]))
    with pytest.raises(WorldError, match='duplicate'):
        validate_world(small_world(items=[BuriedItem('a', ItemKind.AP, 5, 5, 0.05),
                                          BuriedItem('a', ItemKind.AP, 6, 5, 0.05)]))
    with pytest.raises(WorldError, match='outside the field'):
        validate_world(small_world(items=[BuriedItem('a', ItemKind.AP, 500, 5, 0.05)]))
    with pytest.raises(WorldError, match='heading'):
        validate_world(small_world(origin=GeoOrigin(44.0, 18.0, 0.0, 10.0)))


def test_box_obstacle_contains_respects_yaw():
    box = Obstacle('wall', 0.0, 0.0, radius=2.0, height=2.0, kind='ruin', shape='box',
                   length=4.0, width=0.5, yaw=math.pi / 2)
    assert bool(box.contains(0.0, 1.9))          # along the rotated long axis
    assert not bool(box.contains(1.9, 0.0))
    assert bool(box.contains(0.4, 0.0, margin=0.2))
    cyl = Obstacle('tree', 1.0, 1.0, radius=0.5)
    assert list(cyl.contains(np.array([1.0, 1.6]), 1.0)) == [True, False]
