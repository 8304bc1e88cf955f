"""Allowed ground: where the machine may stand, and a check of a path against it (pure core).

The rule every layer shares (issue: "allowed ground, one geometry for everyone"): the parts of
the machine that press the ground, its tracks, may only be on

* ground its tool has already processed,
* ground the area file declares safe: approach lanes, safe areas, a safe margin round the field
  (:meth:`demining_bringup.contract.area.HazardArea.safe_ground`; default: none),

and never in an exclusion zone or a no-go zone (detected AT mines and UXO), processed or not.
Why the tracks: a buried mine is initiated by pressure (IMAS 04.10, "mine": "designed to be
exploded by the presence, proximity or contact of a person or vehicle"; pressure fuzes of
AP and AT blast mines), and mechanical clearance works by having the tool reach the ground
before the tracks do (GICHD, *A Study of Mechanical Application in Demining*, 2004). The hull
overhang and the raised tool press nothing; the lowered, turning tool is what processes.

:func:`check_path` replays a path as the follower drives it (straight legs, pivots at corners,
reverse where the planner says so: :mod:`demining_control.follower.pure_pursuit`) on a
raster: the tool marks the ground it sweeps on work legs (pivots included: the flail stays down
and turning, as the mission's processed-ground grid counts it), then the tracks' swept
rectangle is checked against allowed ground at that moment. A bend below the corner angle is
no pivot (the follower drives it as a curve), but the tool, the boom and the tracks turn
through it all the same: the check turns them at the vertex, so a curved field's pass (its
polyline bends 1-2 degrees every few metres) leaves no wedge between two legs' tool strips
that the tracks would then roll over. It is the yardstick of the planner
(tests, ``bench/coverage.py``): how many metres of path put a track on ground not known safe.
The sensor boom's sweep is replayed too (every leg and pivot, ahead of the tracks driving
forward, behind them in reverse): where a track presses ground of the field that is neither
processed, declared safe, nor swept by the boom before (:attr:`PathCheck.blind_track_m2`), a
mine there is one no sensor could have found. Scanned ground is not allowed ground (the
sensors miss some mines); it only tells the blind part of a violation from the rest.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import shapely
from shapely.geometry import Polygon
from shapely.ops import unary_union

from demining_bringup.contract import vehicle_params
from demining_bringup.contract.parameters import param
from demining_control.coverage.processed import convex_cells, convex_hull, polygon_cells

XY = Tuple[float, float]

#: Below this a leg or an angle is degenerate.
_EPS = 1e-9
#: Consecutive legs whose headings differ by less than this are one straight leg, rad.
_COLLINEAR_RAD = 1e-6
#: Grid margin round the field and the path, m (the tracks reach past a lane end).
_GRID_MARGIN_M = 6.0
#: Upper bound of the check raster (cells), so a huge area cannot exhaust memory.
_MAX_CELLS = 60_000_000


@dataclasses.dataclass(frozen=True)
class ContactParams:
    """The machine's ground contact (its tracks) and the check's resolution."""

    track_gauge_m: float = vehicle_params.track_gauge_m()
    track_width_m: float = vehicle_params.track_width_m()
    track_length_m: float = vehicle_params.track_length_m()
    tool_width_m: float = vehicle_params.tool_width_m()
    tool_offset_x_m: float = vehicle_params.tool_offset_x_m()
    sensor_offset_x_m: float = vehicle_params.sensor_offset_x_m()
    sensor_width_m: float = vehicle_params.sensor_width_m()
    resolution_m: float = param(0.1, 'cell size of the allowed-ground check, m', min=0.02,
                                max=1.0)
    tolerance_m: float = param(0.05, 'a track may overlap ground not known safe by this much '
                               '(localisation and raster error), m', min=0.0, max=1.0)
    step_m: float = param(2.0, 'length of one checked stretch of a leg, m', min=0.1, max=10.0)
    pivot_step_rad: float = param(0.09, 'yaw step of a checked pivot, rad', min=0.01, max=0.5)
    corner_angle_rad: float = param(0.35, 'a heading change above this is a pivot (the '
                                    "follower's corner_angle_rad), rad", min=0.01, max=1.5)
    reverse_turn_rad: float = param(2.8, 'a turn sharper than this is driven in reverse (the '
                                    "follower's reverse_turn_rad), rad", min=1.6, max=3.14)

    @property
    def contact_half_width_m(self) -> float:
        """Half the width over both tracks, m."""
        return 0.5 * (self.track_gauge_m + self.track_width_m)

    @property
    def pivot_radius_m(self) -> float:
        """Radius of the disc the tracks sweep in a pivot on base_link, m."""
        return math.hypot(0.5 * self.track_length_m, self.contact_half_width_m)


def contact_for(params: Any, resolution_m: float, **override: Any) -> ContactParams:
    """The allowed-ground check of the machine a planner's ``params``
    (:class:`~.planner.CoverageParams`) plan for: its tracks, tool and sensor boom (the
    boom's sweep decides the blind track figure), at ``resolution_m``; ``override``: other
    fields."""
    fields = {f.name for f in dataclasses.fields(ContactParams)}
    values = {k: getattr(params, k) for k in fields if hasattr(params, k)}
    values.update(resolution_m=resolution_m, **override)
    return ContactParams(**values)


@dataclasses.dataclass
class PathCheck:
    """What a path does to allowed ground."""

    length_m: float = 0.0
    #: Metres of path along which a track is on ground not known safe (unprocessed, unsafe).
    outside_allowed_m: float = 0.0
    #: Separate stretches of such metres (a violation each), with their first position.
    violations: List[XY] = dataclasses.field(default_factory=list)
    #: Of those, metres along which a track is on unprocessed ground of the hazard field
    #: itself (confirmed hazardous ground, not only ground outside not declared safe).
    field_outside_allowed_m: float = 0.0
    #: Separate stretches of such metres, with their first position.
    field_violations: List[XY] = dataclasses.field(default_factory=list)
    #: Ground of the field a track pressed before anything had looked at it: neither
    #: processed, nor declared safe, nor swept by the sensor boom before, m^2. A mine there
    #: is one no sensor could have found (bench/missions.py gen_random seeds 12 and 23: the
    #: rear corners of a track swung onto a TM-62M in a pivot), the worst of the violations.
    blind_track_m2: float = 0.0
    #: Separate stretches (or pivots) pressing such ground, with their first position.
    blind_track_at: List[XY] = dataclasses.field(default_factory=list)
    #: Metres of path along which a track or the working tool is in a keep-out zone.
    keep_out_m: float = 0.0
    #: Where each stretch (or pivot) with a track or the working tool in a keep-out zone starts.
    keep_out_at: List[XY] = dataclasses.field(default_factory=list)
    #: Share of the ground to process (field minus keep-out) the tool swept, percent.
    coverage_pct: float = 0.0
    #: Pivots (heading changes above the corner angle).
    turns: int = 0
    #: The known suspects (``check_path``'s ``suspects``: AP and unknown tracks) a track
    #: presses on ground not allowed before the tool has processed them, each once, in the
    #: order pressed (x, y): what the safety supervisor records (or, with
    #: ``suspect_track_enforce``, refuses) as a suspect under a track.
    suspects_pressed: List[XY] = dataclasses.field(default_factory=list)

    def as_dict(self) -> dict:
        """Figures for logs and benches."""
        return {'length_m': round(self.length_m, 1),
                'outside_allowed_m': round(self.outside_allowed_m, 1),
                'footprint_violations': len(self.violations),
                'field_outside_allowed_m': round(self.field_outside_allowed_m, 1),
                'field_violations': len(self.field_violations),
                'blind_track_m2': round(self.blind_track_m2, 2),
                'blind_track_stretches': len(self.blind_track_at),
                'keep_out_m': round(self.keep_out_m, 1), 'keep_out_entries': len(self.keep_out_at),
                'coverage_pct': round(self.coverage_pct, 3), 'turns': self.turns,
                'suspects_pressed': len(self.suspects_pressed)}


#: Grid an overlay is snap-rounded to when GEOS's floating-point overlay fails, m (a
#: micrometre: nothing the planner judges, 0.05 m^2 and up, moves).
ROBUST_GRID_M = 1e-6


def robust(op, *geoms):
    """``op(*geoms)`` for a shapely overlay (``shapely.difference``, ``shapely.intersection``,
    ``shapely.union_all`` of a list).

    GEOS's floating-point overlay can fail on nearly coincident edges ("Unable to determine
    overlay result geometry dimension", "side location conflict": a pivot's swept tracks
    against processed ground, the union of a path's swaths; found by test_planner's random
    fields); snap-rounding to :data:`ROBUST_GRID_M` does not, so the
    overlay is made again on that grid. The usual case is the plain overlay, bit for bit.
    """
    try:
        return op(*geoms)
    except shapely.errors.GEOSException:
        return op(*geoms, grid_size=ROBUST_GRID_M)


def rectangle(x: float, y: float, yaw: float, back: float, front: float, half: float,
              inset: float = 0.0) -> np.ndarray:
    """The 4 corners of a rectangle from ``back`` behind to ``front`` ahead of a pose."""
    c, s = math.cos(yaw), math.sin(yaw)
    b, f, h = back - inset, front - inset, half - inset
    local = ((-b, -h), (f, -h), (f, h), (-b, h))
    return np.array([(x + c * u - s * v, y + s * u + c * v) for u, v in local])


def machine_poses(xy: np.ndarray, params: ContactParams, facing: Optional[np.ndarray] = None
                  ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return per leg the machine heading, whether it reverses, and whether a pivot precedes it.

    The follower's semantics: a turn above ``corner_angle_rad`` is a pivot in place. With the
    planner's ``facing`` per waypoint, a leg whose facing is against its direction is driven in
    reverse; without, a run that starts with a turn above ``reverse_turn_rad`` (the path
    retraces itself) is, up to the next corner.
    """
    d = np.diff(xy, axis=0)
    heading = np.arctan2(d[:, 1], d[:, 0])
    n = len(heading)
    reverse = np.zeros(n, dtype=bool)
    corner = np.zeros(n, dtype=bool)
    if n > 1:
        turn = np.abs(np.angle(np.exp(1j * np.diff(heading))))
        corner[1:] = turn > params.corner_angle_rad
        current = False
        for k in range(1, n):
            if corner[k]:
                current = bool(turn[k - 1] > params.reverse_turn_rad)
            reverse[k] = current
    if facing is not None and n:
        reverse = np.abs(np.angle(np.exp(1j * (facing[:n] - heading)))) > 0.5 * math.pi
    facing = np.where(reverse, heading + math.pi, heading)
    return np.angle(np.exp(1j * facing)), reverse, corner


class _Raster:
    """Boolean layers over the check area: keep-out, safe, processed, to-process."""

    def __init__(self, bounds: Tuple[float, float, float, float], res: float) -> None:
        minx, miny, maxx, maxy = bounds
        self.res = res
        self.x0, self.y0 = minx - _GRID_MARGIN_M, miny - _GRID_MARGIN_M
        self.w = int(math.ceil((maxx - minx + 2 * _GRID_MARGIN_M) / res))
        self.h = int(math.ceil((maxy - miny + 2 * _GRID_MARGIN_M) / res))
        if self.w * self.h > _MAX_CELLS:
            raise ValueError(f'allowed-ground raster of {self.w} x {self.h} cells exceeds '
                             f'{_MAX_CELLS}; use a coarser resolution_m')
        self.processed = np.zeros((self.h, self.w), dtype=bool)
        #: Cells the sensor boom has swept.
        self.scanned = np.zeros((self.h, self.w), dtype=bool)
        #: Cells of the field a track pressed while nothing had looked at them.
        self.blind = np.zeros((self.h, self.w), dtype=bool)

    def layer(self, geom) -> np.ndarray:
        """Cells whose centres are in ``geom``."""
        return polygon_cells(geom, self.x0, self.y0, self.res, self.w, self.h)

    def window(self, quad: np.ndarray):
        """(row slice, column slice, mask) of the cells inside a convex polygon."""
        return convex_cells(quad, self.x0, self.y0, self.res, self.w, self.h)

    def labels(self, discs: Sequence[Tuple[float, float, float]]) -> np.ndarray:
        """Cells whose centres are in disc i (x, y, radius) labelled i, others -1 (where discs
        overlap, the later one's label)."""
        out = np.full((self.h, self.w), -1, dtype=np.int32)
        for i, (x, y, r) in enumerate(discs):
            i0 = max(int(math.floor((x - r - self.x0) / self.res)), 0)
            i1 = min(int(math.ceil((x + r - self.x0) / self.res)) + 1, self.w)
            j0 = max(int(math.floor((y - r - self.y0) / self.res)), 0)
            j1 = min(int(math.ceil((y + r - self.y0) / self.res)) + 1, self.h)
            if i1 <= i0 or j1 <= j0:
                continue
            cx = self.x0 + (np.arange(i0, i1) + 0.5) * self.res
            cy = self.y0 + (np.arange(j0, j1) + 0.5) * self.res
            inside = (cx[None, :] - x) ** 2 + (cy[:, None] - y) ** 2 <= r * r
            out[j0:j1, i0:i1][inside] = i
        return out


def _hull(points: np.ndarray) -> np.ndarray:
    """The convex hull's vertices, counter-clockwise (Andrew's monotone chain)."""
    return convex_hull(points)


def check_path(xy: Sequence[XY], work: Optional[Sequence[bool]], field: Sequence[XY],
               keep_out: Sequence[Sequence[XY]] = (), safe_ground=None,
               params: Optional[ContactParams] = None, clearance_m: float = 0.0,
               suspects: Sequence[Tuple[float, float, float]] = ()) -> PathCheck:
    """Replay a base_link path and measure where its tracks leave allowed ground.

    :param xy: the path (N x 2, map frame, or N x 3 with the planner's facing yaw), driven
        as the follower drives it.
    :param work: ``work[i]``: the leg i -> i+1 is a work leg (tool lowered); None: all are.
    :param field: the hazard field; ``keep_out``: exclusion and no-go zones.
    :param clearance_m: the tool keeps this off keep-out zones: the ground to process (the
        coverage figure's denominator) is the field minus the zones grown by it.
    :param safe_ground: a shapely geometry of declared safe ground (None: none); where it
        overlaps a keep-out zone (a road excluded from processing) the tracks may cross.
    :param suspects: discs (x, y, radius) of detected suspects
        (:func:`.no_go.hazard_discs`): a track on one where the ground is not allowed is
        counted in :attr:`PathCheck.suspects_pressed`.
    """
    p = params or ContactParams()
    xy = np.asarray(xy, dtype=float)
    facing_in = xy[:, 2] if xy.ndim == 2 and xy.shape[1] == 3 else None
    xy = xy[:, :2] if facing_in is not None else xy.reshape(-1, 2)
    keep = np.ones(len(xy), dtype=bool)
    keep[1:] = np.hypot(*np.diff(xy, axis=0).T) > 1e-6
    flags = (np.ones(len(xy), dtype=bool) if work is None
             else np.asarray(work, dtype=bool).reshape(-1))[keep]
    xy = xy[keep]
    facing_in = facing_in[keep] if facing_in is not None else None
    if len(xy) > 2:
        # merge runs of collinear legs with the same work flag (dense waypoints): fewer steps
        d = np.diff(xy, axis=0)
        h = np.arctan2(d[:, 1], d[:, 0])
        same = (np.abs(np.angle(np.exp(1j * np.diff(h)))) < _COLLINEAR_RAD) & (
            flags[1:-1] == flags[:-2])
        if facing_in is not None:
            same &= np.abs(np.angle(np.exp(1j * np.diff(facing_in[:-1])))) < _COLLINEAR_RAD
        keep = np.concatenate([[True], ~same, [True]])
        xy, flags = xy[keep], flags[keep]
        facing_in = facing_in[keep] if facing_in is not None else None
    out = PathCheck()
    field_poly = Polygon(field)
    zone = unary_union([Polygon(z) for z in keep_out]) if keep_out else Polygon()
    bounds = field_poly.bounds
    if len(xy):
        bounds = (min(bounds[0], xy[:, 0].min()), min(bounds[1], xy[:, 1].min()),
                  max(bounds[2], xy[:, 0].max()), max(bounds[3], xy[:, 1].max()))
    grid = _Raster(bounds, p.resolution_m)
    declared = grid.layer(safe_ground)
    blocked = grid.layer(zone) & ~declared      # a zone declared safe to drive (a road)
    safe = declared
    todo = grid.layer(field_poly.difference(zone.buffer(clearance_m)) if not zone.is_empty
                      else field_poly)
    in_field = grid.layer(field_poly)
    suspect_ids = grid.labels(suspects) if len(suspects) else None
    pressed: Dict[int, XY] = {}
    if len(xy) < 2:
        out.coverage_pct = 0.0
        return out
    facing, reverse_leg, corner = machine_poses(xy, p, facing_in)
    half, back, front = p.contact_half_width_m, 0.5 * p.track_length_m, 0.5 * p.track_length_m
    tool_half = 0.5 * p.tool_width_m
    tol = min(p.tolerance_m, 0.49 * min(half, back))
    boom_half = 0.5 * p.sensor_width_m
    in_violation = in_keep_out = in_field_violation = in_blind = False

    def stretch(hit: bool, was: bool, starts: List[XY], at: XY) -> bool:
        """Note where a stretch of hits begins; return ``hit`` (the state for the next)."""
        if hit and not was:
            starts.append((float(at[0]), float(at[1])))
        return hit

    def judge(quad_tracks: np.ndarray, length: float, at: XY, tool: Optional[np.ndarray]
              ) -> None:
        nonlocal in_violation, in_keep_out, in_field_violation, in_blind
        rows, cols, mask = grid.window(quad_tracks)
        unknown = mask & ~(safe[rows, cols] | grid.processed[rows, cols])
        if suspect_ids is not None:
            for i in np.unique(suspect_ids[rows, cols][unknown]).tolist():
                if i >= 0 and i not in pressed:
                    pressed[i] = (float(suspects[i][0]), float(suspects[i][1]))
        field_unknown = unknown & in_field[rows, cols]
        field_hit = bool(field_unknown.any())
        unseen = field_unknown & ~grid.scanned[rows, cols]
        in_blind = stretch(bool(unseen.any()), in_blind, out.blind_track_at, at)
        grid.blind[rows, cols] |= unseen
        out.field_outside_allowed_m += length if field_hit else 0.0
        in_field_violation = stretch(field_hit, in_field_violation, out.field_violations, at)
        tracks_in = bool((mask & blocked[rows, cols]).any())
        keep_out_hit = tracks_in
        if tool is not None:
            r2, c2, m2 = grid.window(tool)
            keep_out_hit |= bool((m2 & blocked[r2, c2]).any())
        out.keep_out_m += length if keep_out_hit else 0.0
        in_keep_out = stretch(keep_out_hit, in_keep_out, out.keep_out_at, at)
        hit = tracks_in or bool(unknown.any())
        out.outside_allowed_m += length if hit else 0.0
        in_violation = stretch(hit, in_violation, out.violations, at)

    def line(x: float, y: float, yaw: float, offset: float, half_width: float) -> np.ndarray:
        c, s = math.cos(yaw), math.sin(yaw)
        cx, cy = x + offset * c, y + offset * s
        return np.array([(cx - half_width * s, cy + half_width * c),
                         (cx + half_width * s, cy - half_width * c)])

    def tool_line(x: float, y: float, yaw: float) -> np.ndarray:
        return line(x, y, yaw, p.tool_offset_x_m, tool_half)

    def scan(quad: np.ndarray) -> None:
        rows, cols, mask = grid.window(quad)
        grid.scanned[rows, cols] |= mask

    prev_yaw = float(facing[0])
    for k in range(len(xy) - 1):
        a, b = xy[k], xy[k + 1]
        yaw = float(facing[k])
        dyaw = math.atan2(math.sin(yaw - prev_yaw), math.cos(yaw - prev_yaw))
        if k and (corner[k] or abs(dyaw) > _COLLINEAR_RAD):
            # a pivot in place: the tracks sweep the rectangle through every heading between.
            # A bend below the corner angle is driven as a curve, not a pivot (no turn), but
            # the tool, the boom and the tracks still turn through it: modelled as a rotation
            # at the vertex, the tool's line sweeps the wedge between the two legs' strips (a
            # 1.2 degree bend of a curved field's pass leaves a 2 cm wedge at the tool's edge
            # that the tracks then roll over: no such gap is left by the driven curve)
            steps = max(1, int(math.ceil(abs(dyaw) / p.pivot_step_rad)))
            out.turns += int(bool(corner[k]))
            for i in range(steps):
                y0 = prev_yaw + dyaw * i / steps
                y1 = prev_yaw + dyaw * (i + 1) / steps
                tool = None
                if flags[k]:
                    # the flail stays down and turning on a work leg: it processes its arc
                    tool = _hull(np.vstack([tool_line(a[0], a[1], y0),
                                            tool_line(a[0], a[1], y1)]))
                    rows, cols, mask = grid.window(tool)
                    grid.processed[rows, cols] |= mask
                # the boom sweeps its arc ahead as the machine turns (in step with the tracks)
                scan(_hull(np.vstack([line(a[0], a[1], y0, p.sensor_offset_x_m, boom_half),
                                      line(a[0], a[1], y1, p.sensor_offset_x_m, boom_half)])))
                quad = _hull(np.vstack([rectangle(a[0], a[1], y0, back, front, half, tol),
                                        rectangle(a[0], a[1], y1, back, front, half, tol)]))
                judge(quad, 0.0, a, tool)
        prev_yaw = yaw
        leg = float(np.hypot(*(b - a)))
        out.length_m += leg
        n = max(1, int(math.ceil(leg / p.step_m)))
        for i in range(n):
            s0, s1 = a + (b - a) * (i / n), a + (b - a) * ((i + 1) / n)
            tool = None
            if flags[k]:
                t0, t1 = tool_line(s0[0], s0[1], yaw), tool_line(s1[0], s1[1], yaw)
                tool = np.array([t0[0], t0[1], t1[1], t1[0]])     # a convex quad in order
                rows, cols, mask = grid.window(tool)
                grid.processed[rows, cols] |= mask
            # the boom's sweep over the stretch: driving forward it is ahead of the tracks
            # (judged after it), in reverse behind them (judged before it)
            b0, b1 = (line(s0[0], s0[1], yaw, p.sensor_offset_x_m, boom_half),
                      line(s1[0], s1[1], yaw, p.sensor_offset_x_m, boom_half))
            boom = np.array([b0[0], b0[1], b1[1], b1[0]])
            if not reverse_leg[k]:
                scan(boom)
            # the tracks swept along a straight stretch: one rectangle (same heading)
            # (from the end that is behind in the machine's facing, front extended by the step)
            base = s1 if reverse_leg[k] else s0
            quad = rectangle(base[0], base[1], yaw, back, front + leg / n, half, tol)
            judge(quad, leg / n, s0, tool)
            if reverse_leg[k]:
                scan(boom)
    out.blind_track_m2 = float(grid.blind.sum()) * p.resolution_m ** 2
    out.suspects_pressed = list(pressed.values())
    total = int(todo.sum())
    out.coverage_pct = 100.0 * float((grid.processed & todo).sum()) / total if total else 0.0
    return out


def geofence(field, safe_ground, margin_m: float) -> Polygon:
    """The geofence: the field and the declared safe ground, grown by ``margin_m``.

    One geometry for the planner (a plan that leaves it is refused before the start) and the
    safety supervisor (a pose outside it is a protective stop).
    """
    base = Polygon(field) if not hasattr(field, 'geom_type') else field
    if safe_ground is not None and not safe_ground.is_empty:
        base = unary_union([base, safe_ground])
    return base.buffer(margin_m, join_style='mitre')


def metres_outside(xy: np.ndarray, fence) -> float:
    """Length of a path (N x 2 or N x 3) outside a geofence, m."""
    xy = np.asarray(xy, dtype=float)
    xy = xy[:, :2] if xy.ndim == 2 and xy.shape[1] >= 2 else xy.reshape(-1, 2)
    if len(xy) < 2:
        return 0.0 if not len(xy) or fence.covers(shapely.Point(xy[0])) else math.inf
    line = shapely.LineString(xy)
    return float(line.difference(fence).length)


#: The layered raster, shared with the safety supervisor's footprint check
#: (:mod:`demining_control.safety.allowed_ground`): one geometry for everyone.
Raster = _Raster

__all__ = ['ContactParams', 'PathCheck', 'ROBUST_GRID_M', 'Raster', 'check_path', 'geofence',
           'machine_poses', 'robust',
           'metres_outside', 'rectangle']
