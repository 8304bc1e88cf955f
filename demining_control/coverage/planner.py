"""Boustrophedon coverage planning of a hazard area for a front-mounted flail (pure core).

The path is for ``base_link``: the tool works ``tool_offset_x_m`` ahead of it, so every lane is
extended at both ends by ``tool_offset_x_m + lane_end_margin_m``. At a field-boundary end this puts
the whole vehicle on the headland (safe ground) before it pivots to the next lane, and the next
lane, driven the other way, starts with the tool already past the boundary.

Lanes are clipped to the work region (field minus exclusion zones) with the tool's full-width band,
so a slanted boundary is still covered where the band reaches furthest. Exclusion zones are
no-go for the tool and the vehicle: a segment that ends at a zone is driven towards the zone, the
tool stops ``exclusion_clearance_m`` short of it and no extension is added there.

Limitations (documented, measured in :attr:`CoveragePlan.transit_over_unprocessed_m`):

* After a lane that ends at an exclusion zone the vehicle backs out along that lane (processed
  ground; the path retraces the lane and the follower reverses on such a 180 degree turn). Transit
  legs are otherwise straight when they cross no unprocessed ground and no exclusion zone, else
  they follow a ring around the field on the headland; where neither avoids unprocessed ground
  the metres over it are reported.
* A segment bounded by exclusion zones at both ends cannot have its start strip processed (the
  base would have to stand in the zone); that strip, ``tool_offset_x_m`` long, is left.
* Where a zone's edge is slanted across a lane band, the rectangle tool stops at the band's
  nearest zone point, leaving a small wedge beside the zone.
"""

from __future__ import annotations

import dataclasses
import math
from typing import List, Optional, Sequence, Tuple

import numpy as np
import shapely
from shapely import affinity
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box
from shapely.ops import substring, unary_union
from shapely.validation import explain_validity

from demining_bringup.contract.parameters import ParamError, param
from demining_bringup.contract import vehicle_params

XY = Tuple[float, float]

#: Lane angle value that picks the direction with the fewest lanes.
AUTO = 'auto'
#: Below this, geometry is considered degenerate (m, m^2).
_EPS = 1e-6
#: Segments shorter than this are dropped (a sliver the band only grazes), m.
_MIN_SEGMENT_M = 0.05
#: Penalty per metre of transit over unprocessed ground (vs. one metre of detour): tracks on
#: unprocessed ground are what the whole machine design avoids, a detour only costs time.
_UNPROCESSED_PENALTY = 1000.0
#: Penalty weight per metre of transit through an exclusion zone.
_EXCLUSION_PENALTY = 10000.0
#: A lane whose tool strip is processed to at least this share is not planned again.
_PROCESSED_SHARE = 0.95


#: The planning error when every lane is already processed.
NOTHING_LEFT = 'nothing left to process'


class PlanningError(ValueError):
    """The area cannot be planned (invalid polygon, nothing to cover)."""


@dataclasses.dataclass(frozen=True)
class CoverageParams:
    """Parameters of the coverage planner."""

    tool_width_m: float = vehicle_params.tool_width_m()
    tool_offset_x_m: float = vehicle_params.tool_offset_x_m()
    overlap: float = param(0.1, 'lane overlap as a fraction of the tool width', min=0.0,
                           max=0.5)
    lane_angle_deg: str = param(AUTO, "lane direction, degrees from east (ENU), or 'auto' for "
                                'the direction with the fewest lanes')
    lane_end_margin_m: float = param(1.0, 'extra distance past the boundary at each lane end, m',
                                     min=0.0, max=20.0)
    exclusion_clearance_m: float = param(0.5, 'distance kept between tool and exclusion zones, m',
                                         min=0.0, max=10.0)
    headland_offset_m: float = param(4.0, 'distance of the headland transit ring outside the '
                                     'field, m', min=0.5, max=50.0)
    waypoint_spacing_m: float = param(0.5, 'spacing of the dense output waypoints, m', min=0.05,
                                      max=5.0)
    working_speed_mps: float = vehicle_params.working_speed_mps()
    transit_speed_mps: float = param(0.8, 'speed on transit legs, m/s', min=0.01, max=5.0)
    pivot_rate_radps: float = param(0.3, 'yaw rate of a pivot turn, for the time estimate, '
                                    'rad/s', min=0.01, max=3.0)

    def __post_init__(self) -> None:
        """Check the lane angle string."""
        if self.lane_angle_deg != AUTO:
            try:
                value = float(self.lane_angle_deg)
            except ValueError:
                raise ParamError(f"lane_angle_deg: expected 'auto' or a number, got "
                                 f'{self.lane_angle_deg!r}') from None
            if not math.isfinite(value):
                raise ParamError('lane_angle_deg: must be finite')

    @property
    def lane_spacing_m(self) -> float:
        """Distance between lane centre lines, m."""
        return self.tool_width_m * (1.0 - self.overlap)


@dataclasses.dataclass
class Lane:
    """One work segment: ``start``/``end`` of base_link, and of the tool's processed stretch."""

    index: int                  # lane number (band) it belongs to
    start: XY
    end: XY
    tool_start: XY
    tool_end: XY
    ends_at_zone: bool = False  # the tool stops at an exclusion zone (the base then backs out)


@dataclasses.dataclass
class CoveragePlan:
    """A dense coverage path for base_link with per-waypoint work/transit flags."""

    waypoints: np.ndarray       # (N, 2) map frame
    work: np.ndarray            # (N,) bool: the leg from waypoint i to i+1 is a work leg
    lanes: List[Lane]
    lane_angle_rad: float
    lane_spacing_m: float
    length_m: float
    work_length_m: float
    transit_length_m: float
    expected_time_s: float
    transit_over_unprocessed_m: float

    def summary(self) -> str:
        """Return a one-line description for logs."""
        return (f'{len(self.lanes)} lane segments at {math.degrees(self.lane_angle_rad):.1f} deg, '
                f'spacing {self.lane_spacing_m:.2f} m, path {self.length_m:.0f} m '
                f'(work {self.work_length_m:.0f} m), expected {self.expected_time_s / 60:.1f} min,'
                f' transit over unprocessed ground {self.transit_over_unprocessed_m:.1f} m')


def validate_polygon(points: Sequence[XY], what: str) -> Polygon:
    """Return a valid shapely polygon or raise :class:`PlanningError` naming the fault."""
    try:
        pts = [(float(x), float(y)) for x, y in points]
    except (TypeError, ValueError):
        raise PlanningError(f'{what}: points must be (x, y) number pairs') from None
    if len(pts) > 1 and pts[0] == pts[-1]:
        pts = pts[:-1]
    if len(pts) < 3:
        raise PlanningError(f'{what}: a polygon needs at least 3 points, got {len(pts)}')
    if not all(math.isfinite(c) for p in pts for c in p):
        raise PlanningError(f'{what}: coordinates must be finite')
    poly = Polygon(pts)
    if not poly.is_valid:
        raise PlanningError(f'{what}: invalid polygon ({explain_validity(poly)})')
    if poly.area <= _EPS:
        raise PlanningError(f'{what}: polygon has zero area')
    return poly


def work_region(field: Sequence[XY], exclusion_zones: Sequence[Sequence[XY]]) -> Polygon:
    """Return field minus exclusion zones as a shapely geometry (validated)."""
    region = validate_polygon(field, 'field')
    for i, zone in enumerate(exclusion_zones):
        region = region.difference(validate_polygon(zone, f'exclusion zone {i}'))
    if region.is_empty or region.area <= _EPS:
        raise PlanningError('nothing to cover: the exclusion zones cover the field')
    return region


def auto_lane_angle(field: Polygon) -> float:
    """Return the lane direction (rad) with the fewest lanes: the hull edge of least width.

    The width of a convex hull perpendicular to a direction is minimal along one of its edges
    (rotating calipers); ties go to the longest edge (fewer, longer lanes).
    """
    hull = np.asarray(field.convex_hull.exterior.coords)
    best: Optional[Tuple[float, float, float]] = None
    for a, b in zip(hull[:-1], hull[1:]):
        d = b - a
        length = float(np.hypot(*d))
        if length < _EPS:
            continue
        ang = math.atan2(d[1], d[0])
        normal = np.array([-math.sin(ang), math.cos(ang)])
        proj = hull @ normal
        width = float(proj.max() - proj.min())
        key = (round(width, 6), -length, ang)
        if best is None or key < best:
            best = key
    assert best is not None
    # a lane direction and its opposite are the same lanes: keep it in [-90, 90) degrees
    return (best[2] + 0.5 * math.pi) % math.pi - 0.5 * math.pi


def _polys(geom) -> List[Polygon]:
    if geom.is_empty:
        return []
    if isinstance(geom, Polygon):
        return [geom]
    if isinstance(geom, MultiPolygon):
        return list(geom.geoms)
    return [g for g in getattr(geom, 'geoms', []) if isinstance(g, Polygon)]


def _resample(points: np.ndarray, spacing: float) -> np.ndarray:
    """Return the polyline ``points`` with vertices kept and extra points every ``spacing``."""
    out = [points[0]]
    for a, b in zip(points[:-1], points[1:]):
        d = float(np.hypot(*(b - a)))
        n = max(1, int(math.ceil(d / spacing)))
        for k in range(1, n + 1):
            out.append(a + (b - a) * (k / n))
    return np.asarray(out)


def _ring_path(ring: LineString, a: Point, b: Point, forward: bool) -> List[XY]:
    """Return the ring's vertices from the projection of ``a`` to that of ``b``, one way round."""
    total = ring.length
    da, db = ring.project(a), ring.project(b)
    if not forward:
        coords = list(ring.coords)[::-1]
        ring = LineString(coords)
        da, db = total - da, total - db
    if db >= da:
        pts = list(substring(ring, da, db).coords)
    else:
        pts = list(substring(ring, da, total).coords) + list(substring(ring, 0.0, db).coords)[1:]
    return [(float(x), float(y)) for x, y in pts]


class _Planner:
    """One planning run (keeps the rotated geometry together)."""

    def __init__(self, field: Sequence[XY], exclusion_zones: Sequence[Sequence[XY]],
                 params: CoverageParams, processed=None) -> None:
        self.p = params
        self.processed = processed if processed is not None else Polygon()
        self.field = validate_polygon(field, 'field')
        self.zones = [validate_polygon(z, f'exclusion zone {i}')
                      for i, z in enumerate(exclusion_zones)]
        self.region = work_region(field, exclusion_zones)
        self.zone_union = unary_union(self.zones) if self.zones else Polygon()
        self.zone_clear = (self.zone_union.buffer(params.exclusion_clearance_m)
                           if self.zones else Polygon())
        if params.lane_angle_deg == AUTO:
            self.angle = auto_lane_angle(self.field)
        else:
            self.angle = math.radians(float(params.lane_angle_deg))

    # rotation helpers: lanes run along +x in the rotated frame
    def _to_lane(self, geom):
        return affinity.rotate(geom, -self.angle, origin=(0.0, 0.0), use_radians=True)

    def _from_lane(self, x: float, y: float) -> XY:
        c, s = math.cos(self.angle), math.sin(self.angle)
        return (c * x - s * y, s * x + c * y)

    def lanes(self) -> List[Tuple[int, float, float, float, bool, bool]]:
        """Return (band, y, x0, x1, zone_at_x0, zone_at_x1) tool stretches in the lane frame."""
        p = self.p
        field = self._to_lane(self.field)
        zones = self._to_lane(self.zone_clear) if self.zones else Polygon()
        minx, miny, maxx, maxy = field.bounds
        spacing, half = p.lane_spacing_m, 0.5 * p.tool_width_m
        out = []
        k = 0
        y = miny + 0.5 * spacing
        while True:
            band = box(minx - 1.0, y - half, maxx + 1.0, y + half)
            # blocked x-intervals: the tool rectangle must not touch a zone anywhere in its band
            blocked = sorted((g.bounds[0], g.bounds[2])
                             for g in _polys(zones.intersection(band)))
            for comp in sorted(_polys(field.intersection(band)), key=lambda g: g.bounds[0]):
                free = [[comp.bounds[0], comp.bounds[2], False, False]]
                for e0, e1 in blocked:
                    nxt = []
                    for a, b, za, zb in free:
                        if e1 <= a or e0 >= b:
                            nxt.append([a, b, za, zb])
                            continue
                        if e0 > a:
                            nxt.append([a, e0, za, True])
                        if e1 < b:
                            nxt.append([e1, b, True, zb])
                    free = nxt
                for x0, x1, z0, z1 in free:
                    if x1 - x0 >= _MIN_SEGMENT_M:
                        out.append((k, y, x0, x1, z0, z1))
            if y + half >= maxy - _EPS:
                break
            k += 1
            y += spacing
        return out

    def build_lanes(self) -> List[List[Lane]]:
        """Return, per segment, the allowed driving directions as lanes in the map frame.

        A segment with an exclusion zone at one end is only driven towards the zone (the tool
        reaches the zone's clearance line; the vehicle then backs out).
        """
        ext = self.p.tool_offset_x_m + self.p.lane_end_margin_m
        off = self.p.tool_offset_x_m
        cands = []
        for k, y, x0, x1, z0, z1 in self.lanes():
            def make(a: float, b: float, za: bool, zb: bool, sign: float) -> Lane:
                # base starts 'ext' before the tool stretch (tool passes the boundary) unless
                # a zone is there: then the base stands at the zone edge (start strip is lost)
                start = a - sign * (ext if not za else 0.0)
                tool_start = a if not za else a + sign * off
                end = b + sign * (ext if not zb else -off)
                return Lane(k, self._from_lane(start, y), self._from_lane(end, y),
                            self._from_lane(tool_start, y), self._from_lane(b, y), zb)
            fwd = make(x0, x1, z0, z1, 1.0)
            rev = make(x1, x0, z1, z0, -1.0)
            if z1 and not z0:
                cands.append([fwd])          # drive towards the zone
            elif z0 and not z1:
                cands.append([rev])
            else:
                cands.append([fwd, rev])
        return cands

    def _processed_already(self, lane: Lane) -> bool:
        # only the part of the strip inside the work region needs processing (a boundary
        # lane's strip reaches past the field, where no processed cell is ever kept)
        strip = self.tool_footprint(lane).intersection(self.region)
        return strip.area < _EPS or (
            strip.intersection(self.processed).area >= _PROCESSED_SHARE * strip.area)

    def tool_footprint(self, lane: Lane) -> Polygon:
        """Return the ground the tool processes along a lane."""
        line = LineString([lane.tool_start, lane.tool_end])
        return line.buffer(0.5 * self.p.tool_width_m, cap_style='flat')

    def transit(self, a: XY, b: XY, unprocessed, back_to: Optional[XY] = None
                ) -> Tuple[List[XY], float, float]:
        """Return (points, cost, metres over unprocessed ground) of the best transit a -> b.

        Candidates: the straight leg, and the two ways round a ring on the headland. With
        ``back_to`` (the start of a lane that ended at an exclusion zone): first back out along
        the lane just processed (the follower reverses on a 180 degree turn), then the best of
        those from its start; the lane is processed ground, so backing never crosses
        unprocessed ground.
        """
        if back_to is not None and math.dist(a, back_to) > _EPS:
            # Always back out: turning at the zone's edge would swing the flail and the hull
            # into it (the footprint's pivot reach is metres), whatever a straight leg costs.
            pts, cost, over = self.transit(back_to, b, unprocessed)
            return [a] + pts, cost + math.dist(a, back_to), over
        if math.dist(a, b) < _EPS:
            return [a, b], 0.0, 0.0
        ring = self.field.buffer(self.p.tool_offset_x_m + self.p.headland_offset_m,
                                 join_style='mitre').exterior
        options = [[a, b]]
        for forward in (True, False):
            options.append([a] + _ring_path(ring, Point(a), Point(b), forward) + [b])
        best = None
        for pts in options:
            line = LineString(pts)
            over = line.intersection(unprocessed).length if not unprocessed.is_empty else 0.0
            excl = line.intersection(self.zone_union).length if self.zones else 0.0
            cost = line.length + _UNPROCESSED_PENALTY * over + _EXCLUSION_PENALTY * excl
            if best is None or cost < best[1]:
                best = (pts, cost, over)
        assert best is not None
        return best

    def plan(self, start_xy: Optional[XY]) -> CoveragePlan:
        """Order the lanes greedily from the vehicle and build the dense path."""
        cands = self.build_lanes()
        if not cands:
            raise PlanningError('no lane fits the area (is it narrower than the tool?)')
        if not self.processed.is_empty:
            cands = [c for c in cands if not self._processed_already(c[0])]
            if not cands:
                raise PlanningError(NOTHING_LEFT)
        unprocessed = self.region.difference(self.processed)
        here = start_xy
        if here is None:
            here = cands[0][0].start
        legs: List[Tuple[List[XY], bool]] = []
        chosen: List[Lane] = []
        remaining = list(range(len(cands)))
        over_total = 0.0
        first = True
        back_to: Optional[XY] = None
        while remaining:
            best = None
            origin = here if back_to is None else back_to
            for i in remaining:
                for lane in cands[i]:
                    d = min(math.dist(here, lane.start), math.dist(origin, lane.start))
                    # cheap pre-ranking by distance; the k nearest get the full transit cost
                    if best is None or d < best[0] - _EPS:
                        best = (d, i, lane)
            assert best is not None
            # refine among lanes whose start is within a few spacings of the nearest
            limit = best[0] + 3.0 * self.p.lane_spacing_m
            scored = []
            for i in remaining:
                for lane in cands[i]:
                    if min(math.dist(here, lane.start), math.dist(origin, lane.start)) <= limit:
                        pts, cost, over = self.transit(here, lane.start, unprocessed, back_to)
                        scored.append((cost, i, lane, pts, over))
            cost, i, lane, pts, over = min(scored, key=lambda s: s[0])
            if not first or start_xy is not None:
                legs.append((pts, False))
                over_total += over
            first = False
            legs.append(([lane.start, lane.end], True))
            chosen.append(lane)
            unprocessed = unprocessed.difference(self.tool_footprint(lane))
            remaining.remove(i)
            here = lane.end
            back_to = lane.start if lane.ends_at_zone else None
        return self._assemble(legs, chosen, over_total)

    def _assemble(self, legs: List[Tuple[List[XY], bool]], lanes: List[Lane],
                  over: float) -> CoveragePlan:
        p = self.p
        pts: List[np.ndarray] = []
        flags: List[bool] = []
        work_len = transit_len = 0.0
        for leg, work in legs:
            dense = _resample(np.asarray(leg, dtype=float), p.waypoint_spacing_m)
            if pts and np.allclose(pts[-1], dense[0]):
                dense = dense[1:]
                if not len(dense):
                    continue
                flags[-1] = work
            else:
                if pts:
                    flags[-1] = False
            pts.extend(dense)
            flags.extend([work] * len(dense))
            seg = float(np.sum(np.hypot(*np.diff(np.asarray(leg, dtype=float), axis=0).T)))
            if work:
                work_len += seg
            else:
                transit_len += seg
        xy = np.asarray(pts)
        work = np.asarray(flags, dtype=bool)
        if len(work):
            work[-1] = False
        heading = np.arctan2(*np.diff(xy, axis=0)[:, ::-1].T) if len(xy) > 1 else np.zeros(0)
        steps = np.hypot(*np.diff(xy, axis=0).T) if len(xy) > 1 else np.zeros(0)
        moving = heading[steps > _EPS]
        turn = float(np.sum(np.abs(np.angle(np.exp(1j * np.diff(moving)))))) if len(moving) > 1 \
            else 0.0
        time_s = (work_len / p.working_speed_mps + transit_len / p.transit_speed_mps
                  + turn / p.pivot_rate_radps)
        return CoveragePlan(waypoints=xy, work=work, lanes=lanes, lane_angle_rad=self.angle,
                            lane_spacing_m=p.lane_spacing_m, length_m=work_len + transit_len,
                            work_length_m=work_len, transit_length_m=transit_len,
                            expected_time_s=time_s, transit_over_unprocessed_m=over)


def plan_coverage(field: Sequence[XY], exclusion_zones: Sequence[Sequence[XY]] = (),
                  start_xy: Optional[XY] = None,
                  params: Optional[CoverageParams] = None, processed=None) -> CoveragePlan:
    """Plan boustrophedon coverage of ``field`` minus ``exclusion_zones`` for base_link.

    :param start_xy: the vehicle position; the path starts there and goes to the nearest lane end.
    :param processed: ground already processed (a shapely geometry): lanes whose tool strip it
        covers are not planned again, and transits over it cost nothing extra (a re-plan of
        the remaining ground, e.g. around a new no-go zone).
    :raises PlanningError: on an invalid polygon, an area no lane fits, or nothing left.
    """
    params = params or CoverageParams()
    if start_xy is not None and not all(math.isfinite(c) for c in start_xy):
        raise PlanningError('start position must be finite')
    return _Planner(field, exclusion_zones, params, processed).plan(start_xy)


def lane_footprints(plan: CoveragePlan, tool_width_m: float):
    """Return the union of the tool footprints of a plan's lanes (for checks and tests)."""
    return unary_union([LineString([ln.tool_start, ln.tool_end]).buffer(
        0.5 * tool_width_m, cap_style='flat') for ln in plan.lanes])


def classify_work(xy: np.ndarray, field: Sequence[XY], reach_m: float) -> np.ndarray:
    """Flag waypoints within ``reach_m`` of the field as work (slow) legs.

    A nav_msgs/Path carries no flags, so the follower node derives them from the geometry: the
    lane extensions are exactly ``tool_offset_x_m + lane_end_margin_m`` long, so a reach a little
    larger than that marks every lane point as work and far headland transits as transit.
    """
    poly = validate_polygon(field, 'field').buffer(reach_m)
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    if not len(xy):
        return np.zeros(0, dtype=bool)
    inside = shapely.contains_xy(poly, xy[:, 0], xy[:, 1])
    nxt = np.roll(inside, -1)
    nxt[-1] = False
    return inside & nxt
