"""Repair the remaining path round a new no-go zone without a full re-plan (pure core).

A full re-plan of the remaining ground (:func:`~.planner.plan_coverage`) re-orders every lane
and takes seconds on a hectare (issue 7 item 2 asks for the remaining plan round a new AT/UXO
zone within 200 ms on a 10 ha field with 25 holes). A new zone blocks only the few legs that
pass it, so the path is repaired where they do and kept everywhere else, the way an operator
marks the mine and carries on with the next lane (GICHD, *A Guide to Mechanical Demining*,
2014: the machine works round a marked item, which is left to the EOD team):

* **Blocked** waypoints are those where the hull (``footprint_rear_m`` behind base_link to
  ``footprint_front_m`` ahead, with the supervisor's stop margin) comes within
  ``exclusion_clearance_m`` of a zone, or where a pivot's reach does.
* A blocked stretch is **cut**: the path stops at the last clear waypoint (on a work leg the
  tool stops short of the zone), **backs out** straight over the ground just driven until a
  pivot keeps clear of every zone, and is **re-joined** at the first leg of the old path that
  begins after the stretch (a lane's start, or the transit after a lane's end) which a route
  over allowed ground reaches (processed or declared safe, the strips the kept legs process
  first included; see :mod:`.route`); legs the link skips are dropped. The route's corners
  are pivots: one whose pivot would sweep the tracks over ground that is not allowed (the
  raster route hugs a strip's inner edge) moves to the nearest point with the room, and the
  back-out goes on over the ground just driven when its own pivot onto the route lacks it
  (never onto more ground that is not allowed). When no leg after the stretch is one a route
  may reach (the rest of the path runs within a pivot's reach of an exclusion zone, a last
  pass along a road), the path ends at the cut instead, backed out only as far as a pivot
  keeps clear of the no-go zones: no route starts there.
* **Dropped** work (the far part of a cut lane, the parts of the next lanes beside the zone)
  is returned as the tool's strips: the node reports them, and the re-cover pass after the
  path (``max_recover_passes``) plans them with the whole planner.

None is returned when no repair keeps the path clear of every zone and on allowed ground (the
pose is inside a zone's reach with no way out backwards, or no route over allowed ground
re-joins the path): the caller re-plans in full. Measured (``bench/coverage.py --profile
mv4_flail``, stop 48): 12-76 ms where a repair is found, 69-73 ms on the 10 ha field with 25
craters, and no trial of that bench or of its ``--quick`` set falls back to the full re-plan
(1.2-12 s).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np
from shapely.geometry import LineString, Point, Polygon
from shapely.ops import unary_union

from demining_control.coverage.lead_in import LeadGeometry, is_pivot, pivot_blind_m2
from demining_control.coverage.no_go import (GroundSweep, disc_polygon, footprint, retrace,
                                             turn_reach)
from demining_control.coverage.planner import STOP_MARGIN_M, UNPROCESSED_PENALTY, CoverageParams
from demining_control.coverage.route import AllowedRouter

XY = Tuple[float, float]
Disc = Tuple[float, float, float]

#: Steps of the straight back-out, m.
_BACK_STEP_M = 0.25
#: A route vertex closer than this to the previous one is dropped, m.
_MIN_HOP_M = 0.05
#: Points closer than this are the same, m.
_EPS_M = 1e-6
#: A link may cross this much ground that is not allowed (the router's cell round-off), m.
_OFF_ALLOWED_M = 0.5
#: Re-join candidates priced per cut (each after the last), before a full re-plan.
_MAX_JOINS = 12
#: Points tried for a route corner whose pivot sweeps ground not allowed (nearest first):
#: the cells within two pivot radii at the router's finest cell, about 220 on a mv4_flail.
_MAX_CORNERS = 400
#: Along a retrace (:func:`_turn_where_seen`), a turning point is tried every this many
#: metres, and where the machine pivoted before; at most :data:`_MAX_SIGHTS` of them (each
#: prices a route: a few milliseconds on a hectare).
_SIGHT_STEP_M = 0.25
_MAX_SIGHTS = 24


@dataclasses.dataclass(frozen=True)
class RepairGeometry:
    """The machine and planner figures a repair needs, m and rad."""

    footprint_rear_m: float
    footprint_front_m: float        # with the supervisor's stop margin
    footprint_half_width_m: float
    tool_offset_x_m: float
    tool_width_m: float
    clearance_m: float              # hull and pivot reach from a zone (exclusion clearance)
    turn_reach_m: float             # radius the footprint sweeps in a pivot on base_link
    corner_angle_rad: float         # a sharper heading change is a pivot
    reverse_turn_rad: float         # a sharper one is a reversal (no pivot)
    back_out_max_m: float           # longest straight back-out before the route
    waypoint_spacing_m: float
    #: radius the tracks sweep in a pivot, less the allowed-ground tolerance (0: a route's
    #: corners are not moved to where that sweep stays on allowed ground)
    track_pivot_m: float = 0.0

    @classmethod
    def of(cls, p: CoverageParams, back_out_max_m: float) -> 'RepairGeometry':
        """The figures as the planner uses them (its stop margin, its pivot reach)."""
        front = p.footprint_front_m + STOP_MARGIN_M
        return cls(footprint_rear_m=p.footprint_rear_m, footprint_front_m=front,
                   footprint_half_width_m=p.footprint_half_width_m,
                   tool_offset_x_m=p.tool_offset_x_m, tool_width_m=p.tool_width_m,
                   clearance_m=p.exclusion_clearance_m,
                   turn_reach_m=turn_reach(p.footprint_rear_m, front,
                                           p.footprint_half_width_m),
                   corner_angle_rad=p.corner_angle_rad, reverse_turn_rad=p.reverse_turn_rad,
                   back_out_max_m=back_out_max_m, waypoint_spacing_m=p.waypoint_spacing_m,
                   track_pivot_m=max(0.0, p.pivot_radius_m - p.allowed_ground_tolerance_m))


def allowed_router(p: CoverageParams, g: RepairGeometry, allowed, keep_out,
                   fence) -> AllowedRouter:
    """The router of the links: through ``allowed`` ground, base_link inside ``fence`` and a
    pivot's reach (with the clearance) from every polygon of ``keep_out``."""
    reach = g.turn_reach_m + g.clearance_m + 0.5 * g.waypoint_spacing_m
    blocked = unary_union([z.buffer(reach) for z in keep_out]) if keep_out else Polygon()
    blocked = unary_union([blocked, fence.envelope.difference(fence)])
    # the tracks may overlap ground not known allowed by the supervisor's tolerance (a
    # processed strip is as wide as the tracks), as in the planner's own routes
    half = max(0.0, p.contact_half_width_m - p.allowed_ground_tolerance_m)
    return AllowedRouter(fence.bounds, allowed, blocked, half, UNPROCESSED_PENALTY)


@dataclasses.dataclass(frozen=True)
class PivotSight:
    """What a repair judges a pivot's tracks against: the ground nothing has looked at.

    A pivot swings the tracks' ends out to a disc (2.2 m on the shipped carrier) past the
    boom's half width (1.6 m): beside a lane whose neighbouring strip was never driven, the
    disc's edge is ground no sensor has seen, and a mine there is one nobody could have found
    (bench/missions.py gen_at_uxo_lanes seed 2 at 5e078c9: a pivot 2.1 m from a TM-62P 16 cm
    deep that the boom had never passed over set it off under the left track). A repair that
    stops the machine a few metres into such a lane short of a new zone turns there unless
    it is told what has been seen.
    """

    lead: LeadGeometry
    #: the hazard field (shapely): ground outside it is not judged
    field: object
    #: scanned by the boom, processed, declared safe or pressed by the tracks (shapely)
    seen: object
    #: the machine's driven poses (x, y, yaw), oldest first: the way back a retrace takes
    trail: Sequence[Tuple[float, float, float]] = ()

    def blind_m2(self, x: float, y: float, yaw0: float, yaw1: float) -> float:
        """Unseen ground of the field the tracks sweep pivoting at (x, y), m^2."""
        return pivot_blind_m2(x, y, yaw0, yaw1, self.lead, field=self.field, known=self.seen)


@dataclasses.dataclass
class Repair:
    """A repaired path: ``path`` (N x 3: x, y, facing yaw) and ``work`` (leg i -> i + 1)."""

    path: np.ndarray
    work: np.ndarray
    #: the tool's strips of the work legs the repair dropped (for the re-cover pass)
    dropped: List[Polygon]
    #: how many stretches of the old path were cut
    cuts: int


def blocked(path: np.ndarray, discs: Sequence[Disc], g: RepairGeometry) -> np.ndarray:
    """Per waypoint: the hull, or a pivot's reach at a corner, comes too near a zone."""
    n = len(path)
    out = np.zeros(n, dtype=bool)
    if not n or not discs:
        return out
    x, y, yaw = path[:, 0], path[:, 1], path[:, 2]
    c, s = np.cos(yaw), np.sin(yaw)
    turn = np.zeros(n)
    if n > 1:
        turn[1:] = np.abs(np.angle(np.exp(1j * np.diff(yaw))))
    # a pivot sweeps the reach disc; a reversal (the path retraces itself) does not turn
    pivot = (turn > g.corner_angle_rad) & (turn < g.reverse_turn_rad)
    # a waypoint stands for the half leg either side of it
    pad = g.clearance_m + 0.5 * g.waypoint_spacing_m
    for dx0, dy0, r in discs:
        dx, dy = dx0 - x, dy0 - y
        u, v = c * dx + s * dy, -s * dx + c * dy
        du = u - np.clip(u, -g.footprint_rear_m, g.footprint_front_m)
        dv = v - np.clip(v, -g.footprint_half_width_m, g.footprint_half_width_m)
        out |= np.hypot(du, dv) < r + pad
        out |= pivot & (np.hypot(dx, dy) < r + g.turn_reach_m + pad)
    return out


def progress_index(path: np.ndarray, start: int, xy: XY, window: int,
                   tolerance_m: float, lost_m: float) -> int:
    """The waypoint the machine is at: the first near-nearest within ``window`` of ``start``.

    Searched forward only (a path that comes back over itself, a back-out, is not mistaken
    for its later leg), the first waypoint within ``tolerance_m`` of the window's nearest.
    When even that is farther than ``lost_m`` (poses missed), the rest of the path is searched,
    unless the machine is within ``lost_m`` of the ``window`` waypoints before ``start`` (a
    recovery drove it back along its path) or that far from all of it (off the path): the
    progress then stays. gen_random seed 8: a machine driven 2.4 m back along its path was put
    100 waypoints on, at a later lane 1.8 m away, and the tool lowerings in between went
    unjudged (:meth:`.coverage_planner_node.CoveragePlannerComponent._check_lowering`).
    Nor is a machine lost within ``lost_m`` of a leg of the window whose ends are farther (a
    straight back-out has no waypoint between its ends): the progress is the leg's first
    waypoint.
    gen_random seed 67: 2.3 m down a 4.5 m back-out the machine was put 590 waypoints on, at
    a later lane's tool lowering 0.5 m away, and the back-up judged for that lowering
    pivoted a track onto a detected PMN.
    """
    if not len(path):
        return 0
    start = min(max(start, 0), len(path) - 1)
    stop = min(len(path), start + window)
    d = np.hypot(path[start:stop, 0] - xy[0], path[start:stop, 1] - xy[1])
    if d.min() > lost_m:
        leg = _nearest_leg(path[start:stop, :2], xy)
        if leg is not None and leg[1] <= lost_m:
            return start + leg[0]
        back = path[max(start - window, 0):start]
        if len(back) and np.hypot(back[:, 0] - xy[0], back[:, 1] - xy[1]).min() <= lost_m:
            return start
        d = np.hypot(path[start:, 0] - xy[0], path[start:, 1] - xy[1])
        if d.min() > lost_m:
            return start
    near = np.flatnonzero(d <= d.min() + tolerance_m)
    return start + int(near[0])


def _nearest_leg(points: np.ndarray, xy: XY) -> Optional[Tuple[int, float]]:
    """The leg of the polyline ``points`` nearest ``xy``: (index of its first point, the
    distance, m), None for fewer than two points."""
    if len(points) < 2:
        return None
    a, b = points[:-1], points[1:]
    ab = b - a
    length2 = np.einsum('ij,ij->i', ab, ab)
    p = np.asarray(xy, dtype=float)[None, :2]
    t = np.clip(np.einsum('ij,ij->i', p - a, ab) / np.maximum(length2, _EPS_M ** 2), 0.0, 1.0)
    d = np.hypot(*(a + t[:, None] * ab - p).T)
    i = int(np.argmin(d))
    return i, float(d[i])


def _back_out(here: np.ndarray, travel: Optional[np.ndarray], discs: Sequence[Disc],
              g: RepairGeometry, fence, router: AllowedRouter,
              ground=None, link: bool = True) -> Optional[np.ndarray]:
    """Straight back the way the machine came (facing kept) until a pivot keeps clear.

    ``travel`` is the last step driven (None: the machine's facing): a machine that drove
    forward reverses, one that reversed drives on. With ``link`` the point is also one the
    ``router`` may start from (a route leaves from it); without, the path ends there and only
    the pivot the next plan may start with must keep clear of the zones. None when the way
    back enters a zone's clearance or leaves ``fence`` before such a point, or is longer than
    ``back_out_max_m``; with ``ground`` (shapely: what the footprint may sweep), also when the
    footprint's sweep reaches ground outside it that it does not cover at ``here`` (after a
    pivot, straight behind is ground the machine never drove).
    """
    x, y, yaw = here
    if travel is not None and math.hypot(travel[0], travel[1]) > _EPS_M:
        ux, uy = travel[:2] / math.hypot(travel[0], travel[1])
    else:
        ux, uy = math.cos(yaw), math.sin(yaw)

    def clear(px: float, py: float) -> bool:
        # the router's passable ground keeps a pivot's reach from exclusion zones as well: it
        # matters only where a route starts (beside a road the planner's own lanes run
        # closer, and a path that ends there needs no route)
        return (not link or router.can_stand((px, py))) and _pivot_clear((px, py), discs, g)
    if clear(x, y):
        return here
    hull_only = dataclasses.replace(g, turn_reach_m=0.0)
    # a machine already touching a zone's clearance may back out through it
    inside = bool(blocked(np.array([[x, y, yaw]]), discs, hull_only)[0])
    hull = (g.footprint_rear_m, g.footprint_front_m, g.footprint_half_width_m)
    sweep = GroundSweep(footprint(x, y, yaw, *hull), ground) if ground is not None else None
    d = 0.0
    while d < g.back_out_max_m:
        d = min(d + _BACK_STEP_M, g.back_out_max_m)
        px, py = x - d * ux, y - d * uy
        if fence is not None and not fence.contains(Point(px, py)):
            return None
        if not inside and blocked(np.array([[px, py, yaw]]), discs, hull_only)[0]:
            return None                 # backing into a zone behind
        if sweep is not None and sweep.leaves(footprint(px, py, yaw, *hull)):
            return None                 # onto ground neither processed, safe nor driven
        if clear(px, py):
            return np.array([px, py, yaw])
    return None


def _pivot_clear(xy: Sequence[float], discs: Sequence[Disc], g: RepairGeometry) -> bool:
    """Whether a pivot on base_link at ``xy`` keeps clear of every zone (as :func:`blocked`)."""
    pad = g.clearance_m + 0.5 * g.waypoint_spacing_m
    return all(math.hypot(xy[0] - zx, xy[1] - zy) >= r + g.turn_reach_m + pad
               for zx, zy, r in discs)


def _legs(work: np.ndarray, path: np.ndarray, g: RepairGeometry) -> np.ndarray:
    """Indices where a leg of the old path begins (work on/off, a pivot): re-join points."""
    n = len(path)
    starts = np.zeros(n, dtype=bool)
    if n < 2:
        return np.flatnonzero(starts)
    starts[0] = True
    starts[1:-1] |= work[1:-1] != work[:-2]
    turn = np.abs(np.angle(np.exp(1j * np.diff(path[:, 2]))))
    starts[1:] |= turn > g.corner_angle_rad
    return np.flatnonzero(starts)


def _strips(path: np.ndarray, work: np.ndarray, lo: int, hi: int,
            g: RepairGeometry) -> List[Polygon]:
    """The tool's strips of the work legs from waypoint ``lo`` to ``hi`` (dropped)."""
    out = []
    k = lo
    while k < hi:
        if not work[k]:
            k += 1
            continue
        j = k
        while j < hi and work[j]:
            j += 1
        pts = path[k:j + 1]
        c, s = np.cos(pts[:, 2]), np.sin(pts[:, 2])
        tool = np.column_stack([pts[:, 0] + g.tool_offset_x_m * c,
                                pts[:, 1] + g.tool_offset_x_m * s])
        if len(tool) > 1 and np.hypot(*(tool[-1] - tool[0])) > _EPS_M:
            out.append(LineString(tool).buffer(0.5 * g.tool_width_m, cap_style='flat'))
        k = j
    return [p for p in out if p.area > 0.0]


def _hops(pts: Sequence[XY]) -> List[XY]:
    """A route's points without the hops too short to drive."""
    return [p for k, p in enumerate(pts) if k == 0 or math.dist(p, pts[k - 1]) > _MIN_HOP_M]


def _facings(pts: Sequence[XY], a: np.ndarray, g: RepairGeometry) -> List[float]:
    """The facing yaw of each leg of a route from the machine at ``a``, as driven.

    While the route heads back the way the machine at ``a`` faces it is driven in reverse
    (the back-out goes on along the strip just processed); after that, forward.
    """
    out = []
    reverse = True
    for p, q in zip(pts[:-1], pts[1:]):
        heading = math.atan2(q[1] - p[1], q[0] - p[0])
        back = abs(math.remainder(heading - (a[2] + math.pi), 2 * math.pi))
        reverse = reverse and back < g.corner_angle_rad
        out.append(math.remainder(heading + (math.pi if reverse else 0.0), 2 * math.pi))
    return out


def _rows(pts: Sequence[XY], a: np.ndarray, g: RepairGeometry) -> np.ndarray:
    """A route's points as x, y, yaw rows (its ends excluded), facing as driven
    (:func:`_facings`)."""
    pts = _hops(pts)
    rows = []
    for p, q, yaw in zip(pts[:-1], pts[1:], _facings(pts, a, g)):
        seg = max(1, int(math.ceil(math.dist(p, q) / g.waypoint_spacing_m)))
        for k in range(seg):
            t = k / seg
            rows.append((p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1]), yaw))
    return np.asarray(rows[1:] if rows else [], dtype=float).reshape(-1, 3)


def _off_allowed(router: AllowedRouter, pts: Sequence[XY]) -> float:
    """Metres of the straight legs through ``pts`` on ground that is not allowed (inf when
    one enters blocked ground), as the router prices them."""
    off = 0.0
    for p, q in zip(pts[:-1], pts[1:]):
        off += (router.line_cost(p, q) - math.dist(p, q)) / max(router.penalty - 1.0, 1.0)
    return off


def _tight(router: AllowedRouter, pts: Sequence[XY], a: np.ndarray, join_yaw: float,
           g: RepairGeometry) -> List[bool]:
    """Per point of a route: the machine pivots there (from ``a``'s facing at the first, onto
    ``join_yaw`` at the last) and the tracks' pivot sweeps ground that is not allowed."""
    facings = [float(a[2]), *_facings(pts, a, g), join_yaw]
    out = []
    for p, f0, f1 in zip(pts, facings[:-1], facings[1:]):
        turn = abs(math.remainder(f1 - f0, 2 * math.pi))
        pivot = g.corner_angle_rad < turn < g.reverse_turn_rad
        out.append(pivot and router.room(p) < g.track_pivot_m)
    return out


def _roomy_corners(router: AllowedRouter, pts: Sequence[XY], a: np.ndarray, join_yaw: float,
                   g: RepairGeometry) -> List[XY]:
    """The route with each corner whose pivot sweeps ground not allowed moved, where it can
    be, to the nearest point whose pivot does not.

    The router keeps the tracks' half-width on allowed ground, not a pivot's sweep: its corners
    hug the inner edge of a strip (the machine backed out along a lane pivots onto the headland
    with its rear corners over the unprocessed lane beside it), and the raster's diagonal steps
    make two pivots of one turn. The corners within a pivot's sweep of a tight one turn with it
    and are replaced with it. The first point (where the back-out turns onto the route) stays,
    but the back-out may go on straight over allowed ground to a point that has the room. A
    move is taken only when the legs either side cross no more ground that is not allowed and
    the route has fewer such pivots (its ends included).
    """
    pts = _hops(pts)
    if g.track_pivot_m <= 0.0 or len(pts) < 2:
        return pts
    tight = _tight(router, pts, a, join_yaw, g)
    if tight[0]:
        # the pivot where the back-out turns onto the route: the back-out goes on, straight
        # back over the ground just driven, to where the pivot's sweep is allowed
        ux, uy = -math.cos(a[2]), -math.sin(a[2])
        off = _off_allowed(router, pts[:2])
        d = _BACK_STEP_M
        while d <= g.back_out_max_m:
            c = (pts[0][0] + d * ux, pts[0][1] + d * uy)
            d += _BACK_STEP_M
            if _off_allowed(router, pts[:1] + [c]) > _EPS_M:
                break                   # off the ground just driven
            if router.room(c) < g.track_pivot_m or \
                    _off_allowed(router, [c, pts[1]]) > off + _EPS_M:
                continue
            moved = [pts[0], c, *pts[1:]]
            now = _tight(router, moved, a, join_yaw, g)
            if sum(now) < sum(tight):
                pts, tight = moved, now
                break
    reach = 2.0 * g.track_pivot_m
    k = 1
    while k < len(pts) - 1:
        if not tight[k]:
            k += 1
            continue
        m = k
        while m + 1 < len(pts) - 1 and math.dist(pts[m + 1], pts[k]) < reach:
            m += 1
        # on along the leg in first (it keeps to the ground the router chose), then the cells
        # round the corner, nearest first
        run = math.dist(pts[k - 1], pts[k])
        ux, uy = ((pts[k][0] - pts[k - 1][0]) / run, (pts[k][1] - pts[k - 1][1]) / run)
        ahead = [(pts[k][0] + t * ux, pts[k][1] + t * uy)
                 for t in np.arange(router.res, reach + _EPS_M, router.res)]
        roomy = [c for c in ahead + router.centres_near(pts[k], reach)[:_MAX_CORNERS]
                 if router.can_stand(c) and router.room(c) >= g.track_pivot_m]
        # the most corners one point replaces first, then fewer
        moved = None
        for last in range(m, k - 1, -1):
            off = _off_allowed(router, pts[k - 1:last + 2])
            for c in roomy:
                if min(math.dist(c, pts[k - 1]), math.dist(c, pts[last + 1])) <= _MIN_HOP_M or \
                        _off_allowed(router, [pts[k - 1], c, pts[last + 1]]) > off + _EPS_M:
                    continue
                trial = [*pts[:k], c, *pts[last + 1:]]
                now = _tight(router, trial, a, join_yaw, g)
                if sum(now) < sum(tight):
                    moved = (trial, now)
                    break
            if moved is not None:
                pts, tight = moved
                break
        k += 1
    return pts


def _link(router: AllowedRouter, a: np.ndarray, rest: np.ndarray, candidates: Sequence[int],
          g: RepairGeometry) -> Optional[Tuple[int, np.ndarray]]:
    """The first re-join candidate a route reaches over allowed ground, and the route's rows.

    One search from ``a`` prices every candidate; a route whose cost says it crosses more than
    ``_OFF_ALLOWED_M`` of ground that is not allowed (the far end of a cut lane, left
    unprocessed) is passed over for the next candidate. None when none is reached so.
    """
    found = router.search((float(a[0]), float(a[1])))
    if found is None:
        return None
    for j in candidates:
        b = (float(rest[j, 0]), float(rest[j, 1]))
        cost = router.cost_to(found, b)
        if not math.isfinite(cost):
            continue
        pts = router.route((float(a[0]), float(a[1])), b, found)
        if pts is None:
            continue
        length = sum(math.dist(p, q) for p, q in zip(pts[:-1], pts[1:]))
        if (cost - length) / max(router.penalty - 1.0, 1.0) > _OFF_ALLOWED_M:
            continue
        return j, _rows(_roomy_corners(router, pts, a, float(rest[j, 2]), g), a, g)
    return None


def _lead_yaw(at: np.ndarray, link: np.ndarray, join_row: np.ndarray) -> float:
    """The facing of the leg from ``at`` onto ``link`` (straight to ``join_row`` without)."""
    if len(link):
        return float(link[0, 2])
    return math.atan2(join_row[1] - at[1], join_row[0] - at[0])


def _link_blind_m2(sight: PivotSight, at: np.ndarray, arrive_yaw: float, link: np.ndarray,
                   join_row: np.ndarray, g: RepairGeometry) -> float:
    """Unseen ground the tracks sweep in the pivots from ``at`` (arrived facing
    ``arrive_yaw``) onto ``link``, along it and onto the re-joined leg, m^2."""
    rows = np.vstack([[[at[0], at[1], _lead_yaw(at, link, join_row)]],
                      link.reshape(-1, 3), join_row[None, :]])
    total = 0.0
    prev = arrive_yaw
    for x, y, yaw in rows.tolist():
        if is_pivot(prev, yaw, sight.lead) and \
                abs(math.remainder(yaw - prev, math.tau)) < g.reverse_turn_rad:
            total += sight.blind_m2(x, y, prev, yaw)
        prev = yaw
    return total


def _turn_where_seen(sight: PivotSight, kept: np.ndarray, here: np.ndarray, back: np.ndarray,
                     join: int, link: np.ndarray, rest: np.ndarray, after: Sequence[int],
                     discs: Sequence[Disc], g: RepairGeometry, fence, router: AllowedRouter
                     ) -> Optional[Tuple[np.ndarray, int, np.ndarray]]:
    """A way back along the driven trail to a turn onto a link that sweeps less unseen
    ground than the turn at ``back``: (the way's rows from ``here``, the join, the link), or
    None when the turn at ``back`` is seen or no point within ``back_out_max_m`` does better.

    The way is the machine's own (:func:`~.no_go.retrace`: its trail, then ``kept``, the
    rows it drives before the cut), so the tracks run back over ground they pressed and
    pivot back where they pivoted; where it stops the machine turns onto a new link routed
    from there. The first point whose turn is seen is taken, else the least blind one.
    """
    blind = _link_blind_m2(sight, back, float(back[2]), link, rest[join], g)
    if blind <= 0.0:
        return None
    zones = [disc_polygon(*d) for d in discs]
    hull = (g.footprint_rear_m, g.footprint_front_m, g.footprint_half_width_m)
    trail = [*map(tuple, sight.trail), *map(tuple, kept.tolist())]
    way = np.asarray(retrace(trail, float(here[0]), float(here[1]), float(here[2]), zones,
                             math.inf, g.back_out_max_m, hull, inside=fence), dtype=float)
    if len(way) < 2:
        return None
    hull_only = dataclasses.replace(g, turn_reach_m=0.0)
    best = None
    tried = 0
    since = 0.0
    for i in range(1, len(way)):
        since += math.dist(way[i - 1, :2], way[i, :2])
        if blocked(way[i:i + 1], discs, hull_only)[0]:
            break                       # the hull comes near a zone: no further back
        turned = i + 1 < len(way) and is_pivot(float(way[i - 1, 2]), float(way[i, 2]),
                                               sight.lead)
        if since < _SIGHT_STEP_M - _EPS_M and not turned:
            continue
        c = (float(way[i, 0]), float(way[i, 1]))
        if not (router.can_stand(c) and _pivot_clear(c, discs, g)):
            continue
        since = 0.0
        tried += 1
        at = np.array([c[0], c[1], float(way[i - 1, 2])])
        linked = _link(router, at, rest, after, g)
        if linked is not None:
            j, rows = linked
            rest_blind = _link_blind_m2(sight, at, at[2], rows, rest[j], g)
            trial = np.vstack([way[1:i + 1], rows])
            trial[i - 1, 2] = _lead_yaw(at, rows, rest[j])
            if rest_blind < blind - _EPS_M and (best is None or rest_blind < best[0]) and \
                    not blocked(trial, discs, g).any():
                best = (rest_blind, i, j, rows)
                if rest_blind <= 0.0:
                    break
        if tried >= _MAX_SIGHTS:
            break
    if best is None:
        return None
    _, i, j, rows = best
    out = way[:i + 1].copy()
    # the last point faces as it arrived (the turn onto the link is made there)
    out[i, 2] = out[i - 1, 2]
    return out, j, rows


def repair_path(path: np.ndarray, work: np.ndarray, start: int, pose: Sequence[float],
                discs: Sequence[Disc], g: RepairGeometry, router_for,
                fence=None, ground_for=None,
                sight_for: Optional[Callable[[], PivotSight]] = None) -> Optional[Repair]:
    """The remaining path from the machine at ``pose`` (x, y, yaw), kept clear of ``discs``.

    :param path: the path being driven (N x 3: x, y, facing yaw); ``work``: leg i -> i + 1.
    :param start: the waypoint the machine is at (:func:`progress_index`).
    :param discs: every no-go zone (x, y, radius), old ones too: the link keeps clear of all.
    :param router_for: a callable returning the :class:`~.route.AllowedRouter` of the
        current allowed ground (built only when a stretch is cut), whose blocked ground holds
        every zone grown by at least the pivot reach, the clearance and half a waypoint step.
    :param fence: the geofence (shapely): a back-out never leaves it.
    :param ground_for: a callable returning the ground the footprint may sweep now
        (processed, declared safe, driven; shapely), built only when a stretch is cut; a
        back-out sweeps only that and what the kept path drives before it. None: unchecked.
    :param sight_for: a callable returning the :class:`PivotSight` (built only when a stretch
        is cut): where the turn onto a link would sweep the tracks over ground nothing has
        looked at, the machine first goes back the way it came (its trail, then the kept
        path's rows: where it pivoted it pivots back) to the first point whose turn is seen
        (:func:`_turn_where_seen`). None: the turn is where the back-out ends.
    :returns: the repaired path from the pose, or None when the caller must re-plan in full.
    """
    pose_row = np.asarray([[float(pose[0]), float(pose[1]), float(pose[2])]])
    rest = np.vstack([pose_row, path[start + 1:]])
    rest_work = np.concatenate([[bool(work[start]) if start < len(work) else False],
                                np.asarray(work[start + 1:], dtype=bool)])
    hit = blocked(rest, discs, g)
    if not hit.any():
        return Repair(rest, rest_work, [], 0)
    joins = _legs(rest_work, rest, g)
    sight: Optional[PivotSight] = None
    # the pose, and the back-out from it, may be within a zone's reach (detected under the boom)
    exempt = 0
    router = None
    rows: List[np.ndarray] = []
    flags: List[np.ndarray] = []
    dropped: List[Polygon] = []
    cuts = 0
    k = 0
    while k < len(rest):
        later = np.flatnonzero(hit[k:])
        if not len(later):
            rows.append(rest[k:])
            flags.append(rest_work[k:])
            break
        a = k + int(later[0])
        cuts += 1
        # the last clear waypoint (the pose itself when it is already within a zone's reach)
        last = max(a - 1, k)
        rows.append(rest[k:last + 1])
        flags.append(np.concatenate([rest_work[k:last], [False]]))
        here = rest[last]
        travel = rest[last] - rest[last - 1] if last > 0 else None
        if router is None:
            router = router_for()
        ground = None
        if ground_for is not None:
            hull = (g.footprint_rear_m, g.footprint_front_m, g.footprint_half_width_m)
            ground = unary_union([ground_for()] + [footprint(r[0], r[1], r[2], *hull)
                                                   for r in np.vstack(rows)])
        # re-join at the first clear leg start after the blocked stretch that a route over
        # allowed ground reaches (the link arrives from any side: the machine may pivot there)
        end = a
        while end < len(rest) and hit[end]:
            end += 1
        after = list(itertools.islice(
            (int(j) for j in joins if j >= end and not hit[j] and _pivot_clear(rest[j], discs, g)
             and router.can_stand((float(rest[j, 0]), float(rest[j, 1])))), _MAX_JOINS))
        # with nothing to re-join the path ends after the back-out: no route starts there
        back = _back_out(here, travel, discs, g, fence, router, ground, link=bool(after))
        if back is None:
            return None
        if math.dist(back[:2], here[:2]) > _EPS_M:
            n = max(1, int(math.ceil(math.dist(back[:2], here[:2]) / g.waypoint_spacing_m)))
            t = np.linspace(0.0, 1.0, n + 1)[1:, None]
            rows.append(here[None, :] + t * (back - here)[None, :])
            flags.append(np.zeros(n, dtype=bool))
            if a == 0:
                exempt = 1 + n
        if not after:
            dropped += _strips(rest, rest_work, last, len(rest) - 1, g)
            break
        # the ground the kept legs process before the cut is processed when the link is driven
        router.allow(_strips(rest, rest_work, k, last, g))
        linked = _link(router, back, rest, after, g)
        if linked is None:
            return None
        join, link = linked
        if sight is None and sight_for is not None:
            sight = sight_for()
        seen_turn = None if sight is None or a == 0 else _turn_where_seen(
            sight, np.vstack(rows), here, back, join, link, rest, after, discs, g, fence,
            router)
        if seen_turn is not None:
            # back along the way the machine came, to where its turn onto the link is seen
            way, join, link = seen_turn
            if math.dist(back[:2], here[:2]) > _EPS_M:
                rows.pop()
                flags.pop()
            rows[-1] = rows[-1].copy()
            rows[-1][-1, 2] = way[0, 2]
            rows.append(way[1:])
            flags.append(np.zeros(len(way) - 1, dtype=bool))
        dropped += _strips(rest, rest_work, last, join, g)
        # the machine turns where the back-out ends: the leg from there faces as the link
        rows[-1] = rows[-1].copy()
        rows[-1][-1, 2] = _lead_yaw(rows[-1][-1], link, rest[join])
        rows.append(link)
        flags.append(np.zeros(len(link), dtype=bool))
        k = join
    out = np.vstack(rows)
    out_work = np.concatenate(flags).astype(bool)
    if len(out_work):
        out_work[-1] = False
    # nothing of the repaired path comes near a zone, but a back-out that starts within reach
    check = blocked(out, discs, g)
    check[:exempt] = False
    if check.any():
        return None
    return Repair(out, out_work, [p for p in dropped if not p.is_empty], cuts)


def dropped_area(dropped: Sequence[Polygon]) -> float:
    """Area of the dropped strips, m^2."""
    return float(unary_union(list(dropped)).area) if dropped else 0.0


__all__ = ['PivotSight', 'Repair', 'RepairGeometry', 'allowed_router', 'blocked', 'dropped_area',
           'progress_index', 'repair_path']
