"""Hazard-area shapes the stack was not built on, for planning benches and generated worlds.

Each shape is a :class:`Shape`: a field polygon, exclusion zones, an approach lane and a start
pose, in map metres, deterministic for its arguments. They are the shapes mechanical clearance
meets in the field: a road verge (a long, narrow, gently curved strip), a U round a pond,
a cratered field, terraces (a comb), a field cut by a road that must not be driven on, a large
rotated rectangle (GICHD, *A Guide to Mechanical Demining*, 2014: verges, terraces and
battle-area craters are named working conditions).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np
from shapely import affinity
from shapely.geometry import LineString, Point, Polygon, box

XY = Tuple[float, float]

#: Width of a generated approach lane, m (a cleared lane the machine drives in on).
APPROACH_WIDTH_M = 4.0
#: Where a generated machine starts: this far out along the approach lane, m.
START_STANDOFF_M = 8.0


@dataclasses.dataclass
class Shape:
    """A hazard area: field, exclusion zones, approach lane, start pose (x, y, yaw)."""

    name: str
    field: List[XY]
    exclusion_zones: List[List[XY]] = dataclasses.field(default_factory=list)
    approach_lane: Optional[List[XY]] = None
    start: Tuple[float, float, float] = (0.0, 0.0, 0.0)
    safe_areas: List[List[XY]] = dataclasses.field(default_factory=list)

    @property
    def area_m2(self) -> float:
        """Field minus exclusion zones, m^2."""
        poly = Polygon(self.field)
        for z in self.exclusion_zones:
            poly = poly.difference(Polygon(z))
        return float(poly.area)


def _ring(poly: Polygon) -> List[XY]:
    return [(round(float(x), 3), round(float(y), 3)) for x, y in poly.exterior.coords[:-1]]


def _approach(field: Polygon, at: XY, length_m: float) -> Tuple[List[XY], Tuple[float, ...]]:
    """An approach lane reaching the field boundary at its point nearest ``at``, from outside."""
    edge = field.exterior
    p = edge.interpolate(edge.project(Point(at)))
    outward = np.array(at, dtype=float) - np.array([p.x, p.y])
    n = float(np.hypot(*outward))
    if n < 1e-9:
        raise ValueError('approach point lies on the boundary')
    outward /= n
    far = np.array([p.x, p.y]) + outward * length_m
    lane = LineString([(p.x, p.y), tuple(far)]).buffer(0.5 * APPROACH_WIDTH_M, cap_style='flat')
    start = np.array([p.x, p.y]) + outward * min(START_STANDOFF_M, length_m - 1.0)
    yaw = math.atan2(-outward[1], -outward[0])
    return _ring(lane), (float(start[0]), float(start[1]), yaw)


def curved_strip(length_m: float = 400.0, width_m: float = 12.0,
                 radius_m: float = 300.0) -> Shape:
    """A road verge: a strip ``width_m`` wide along an arc of ``radius_m``."""
    sweep = length_m / radius_m
    angles = np.linspace(-0.5 * sweep, 0.5 * sweep, 64)
    outer = [(radius_m * math.sin(a), radius_m * (1 - math.cos(a))) for a in angles]
    inner = [(x, y + width_m) for x, y in outer]   # constant-width band, no self-crossing
    field = Polygon(outer + inner[::-1])
    lane, start = _approach(field, (outer[0][0] - 10.0, outer[0][1]), 15.0)
    return Shape('curved_strip', _ring(field), [], lane, start)


def u_round_pond(size_m: float = 80.0, arm_m: float = 25.0) -> Shape:
    """A U of fields round a pond (the pond is not part of the field)."""
    field = box(0, 0, size_m, size_m).difference(
        box(arm_m, arm_m, size_m - arm_m, size_m + 1.0))
    lane, start = _approach(field, (-10.0, 10.0), 15.0)
    return Shape('u_round_pond', _ring(field), [], lane, start)


def cratered_field(width_m: float = 250.0, height_m: float = 200.0, craters: int = 25,
                   seed: int = 1) -> Shape:
    """A 5 ha field with ``craters`` shell craters (exclusion zones, 2-5 m radius)."""
    rng = np.random.default_rng(seed)
    field = box(0, 0, width_m, height_m)
    zones: List[Polygon] = []
    while len(zones) < craters:
        r = float(rng.uniform(2.0, 5.0))
        c = Point(rng.uniform(15.0, width_m - 15.0), rng.uniform(15.0, height_m - 15.0))
        disc = c.buffer(r, quad_segs=4)
        if all(disc.distance(z) > 6.0 for z in zones):
            zones.append(disc)
    lane, start = _approach(field, (-10.0, 5.0), 15.0)
    return Shape('cratered_field', _ring(field), [_ring(z) for z in zones], lane, start)


def comb_terraces(teeth: int = 4, tooth_w: float = 14.0, gap_w: float = 8.0,
                  tooth_l: float = 50.0, base_h: float = 14.0) -> Shape:
    """Terraces: a base strip with ``teeth`` parallel strips (a comb)."""
    width = teeth * tooth_w + (teeth - 1) * gap_w
    parts = [box(0, 0, width, base_h)]
    for k in range(teeth):
        x0 = k * (tooth_w + gap_w)
        parts.append(box(x0, base_h - 1.0, x0 + tooth_w, base_h + tooth_l))
    from shapely.ops import unary_union
    field = unary_union(parts)
    lane, start = _approach(field, (-10.0, 5.0), 15.0)
    return Shape('comb_terraces', _ring(field), [], lane, start)


def split_by_road(width_m: float = 120.0, height_m: float = 80.0,
                  road_w: float = 6.0) -> Shape:
    """A field cut by a road that must not be driven on (an exclusion zone, not safe)."""
    field = box(0, 0, width_m, height_m)
    road = Polygon([(-5.0, 0.45 * height_m), (width_m + 5.0, 0.55 * height_m),
                    (width_m + 5.0, 0.55 * height_m + road_w), (-5.0, 0.45 * height_m + road_w)])
    lane, start = _approach(field, (-10.0, 5.0), 15.0)
    return Shape('split_by_road', _ring(field), [_ring(road)], lane, start)


def rotated_rectangle(width_m: float = 400.0, height_m: float = 250.0,
                      angle_deg: float = 30.0) -> Shape:
    """A 10 ha rectangle turned ``angle_deg`` off the map axes."""
    field = affinity.rotate(box(0, 0, width_m, height_m), angle_deg, origin=(0, 0))
    lane, start = _approach(field, (5.0, -10.0), 15.0)
    return Shape('rotated_rectangle', _ring(field), [], lane, start)


#: Every shape by name, with its default arguments.
SHAPES: Dict[str, Callable[[], Shape]] = {
    'curved_strip': curved_strip,
    'u_round_pond': u_round_pond,
    'cratered_field': cratered_field,
    'comb_terraces': comb_terraces,
    'split_by_road': split_by_road,
    'rotated_rectangle': rotated_rectangle,
}


__all__ = ['SHAPES', 'Shape', 'comb_terraces', 'cratered_field', 'curved_strip',
           'rotated_rectangle', 'split_by_road', 'u_round_pond']
