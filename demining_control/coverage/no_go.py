"""No-go zones from the fused detections: ground nothing of the machine may enter (pure core).

A detected anti-tank mine or UXO is not processed: a flail detonates most AT mines and the
blast disables the machine, and a UXO under a track goes off by its fuze. Each becomes a disc of
the item's radius plus ``no_go_margin_m`` (anti-handling devices, AP mines laid beside AT mines;
docs/sources.md), which the coverage planner treats as an exclusion zone (lanes stop short of it,
transits go round it) and the safety supervisor keeps the predicted footprint out of. A zone,
once seen, stays: a track that is later re-labelled does not make the ground safe. The mission
journal keeps every AT/UXO labelling (:attr:`JournalContent.no_go_tracks`), so a resumed
planner and the record draw the same zones as the live mission did.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Iterable, List, Optional, Sequence, Tuple

import numpy as np
from shapely.geometry import Point, Polygon
from shapely.ops import unary_union

from demining_bringup.contract.datatypes import NO_GO_KINDS, TRACK_HAZARD_KINDS, Detection

XY = Tuple[float, float]
#: Vertices of the polygon that approximates a disc (a circumscribing 16-gon: never smaller).
_DISC_VERTICES = 16
#: A detection within this of a known zone's centre is the same item, m.
_SAME_ITEM_M = 0.5
#: Sigmas of a track's position uncertainty its hazard disc covers (~95 % in 2-D: 2.45).
_HAZARD_SIGMAS = 2.45
#: A suspect is known again by the cell of this size its position falls in, m (the fused
#: position moves by centimetres between updates).
_SUSPECT_KEY_M = 0.5
#: Round-off of the blind-ground accounting (:class:`GroundSweep`): new ground outside the
#: allowed ground below this is none, m^2 (polygon unions of nearly coincident footprints). A
#: tolerance of the field-ground bookkeeping only: keep-out ground is judged by
#: :class:`KeepOutSweep` alone (:data:`KEEP_OUT_AREA_EPS_M2`).
_BLIND_ROUND_OFF_M2 = 1e-3
#: A driven pose this near an older one, in place (m: within half a trail step and the
#: follower's cross-track error) and heading (rad), is the machine back where it was
#: (:func:`way_back`), after an excursion of at least this much travel (m).
_SAME_POSE_M = 0.2
_SAME_POSE_RAD = 0.15
_EXCURSION_M = 1.0
#: Footprint area inside a keep-out zone that counts as "further in", m^2 (numerical noise):
#: the one tolerance of :class:`KeepOutSweep`, the safety supervisor's refusal and the
#: planner's check of its own path alike.
KEEP_OUT_AREA_EPS_M2 = 1e-4


class NoGoZones:
    """The no-go discs seen so far (grows only)."""

    def __init__(self, margin_m: float) -> None:
        """Zones get ``margin_m`` around each item's radius."""
        self.margin_m = float(margin_m)
        #: (x, y, radius) of every zone, in the order they were seen.
        self.discs: List[Tuple[float, float, float]] = []

    def update(self, detections: Iterable[Detection]) -> List[Tuple[float, float, float]]:
        """Add zones for new AT/UXO detections; return the discs added now."""
        added = []
        for d in detections:
            if d.kind not in NO_GO_KINDS or not all(
                    math.isfinite(v) for v in (d.x, d.y, d.radius)):
                continue
            radius = max(0.0, float(d.radius)) + self.margin_m
            same = [i for i, (x, y, _) in enumerate(self.discs)
                    if math.hypot(x - d.x, y - d.y) < _SAME_ITEM_M]
            if same:
                i = same[0]
                x, y, r = self.discs[i]
                if radius > r:          # a larger estimate widens the zone, never shrinks it
                    self.discs[i] = (x, y, radius)
                continue
            disc = (float(d.x), float(d.y), radius)
            self.discs.append(disc)
            added.append(disc)
        return added

    def polygons(self) -> List[Polygon]:
        """Each zone as a polygon containing its disc."""
        return [disc_polygon(x, y, r) for x, y, r in self.discs]

    def rings(self) -> List[List[XY]]:
        """Each zone as a ring of points (the planner's exclusion-zone form)."""
        return [list(p.exterior.coords)[:-1] for p in self.polygons()]


def hazard_discs(detections: Iterable[Detection], margin_m: float
                 ) -> List[Tuple[float, float, float]]:
    """(x, y, radius) of the suspects the tracks may not press before the tool has processed
    them: the AP and unknown tracks (:data:`TRACK_HAZARD_KINDS`), each the object's radius,
    its position's uncertainty (``sigma_xy``) and ``margin_m`` round it.

    Unlike a no-go zone this follows the fusion's latest word: a track re-labelled CLUTTER
    drops out, and one processed by the tool no longer matters (its ground is processed).
    """
    out = []
    for d in detections:
        if d.kind not in TRACK_HAZARD_KINDS or not all(
                math.isfinite(v) for v in (d.x, d.y, d.radius)):
            continue
        sigma = d.sigma_xy if math.isfinite(d.sigma_xy) else 0.0
        out.append((float(d.x), float(d.y),
                    max(0.0, float(d.radius)) + _HAZARD_SIGMAS * max(0.0, sigma) + margin_m))
    return out


def suspect_key(x: float, y: float) -> Tuple[int, int]:
    """The key a suspect at (``x``, ``y``) is known by from one update to the next (the
    safety supervisor's records, the coverage planner's pins)."""
    return round(x / _SUSPECT_KEY_M), round(y / _SUSPECT_KEY_M)


def disc_polygon(x: float, y: float, radius: float) -> Polygon:
    """A polygon circumscribing the disc (so the disc is inside it everywhere)."""
    r = radius / math.cos(math.pi / _DISC_VERTICES)
    return Polygon([(x + r * math.cos(2 * math.pi * k / _DISC_VERTICES),
                     y + r * math.sin(2 * math.pi * k / _DISC_VERTICES))
                    for k in range(_DISC_VERTICES)])


def footprint(x: float, y: float, yaw: float, rear_m: float, front_m: float,
              half_width_m: float) -> Polygon:
    """The machine's footprint: a rectangle from ``rear_m`` behind to ``front_m`` ahead."""
    c, s = math.cos(yaw), math.sin(yaw)
    pts: Sequence[XY] = ((-rear_m, -half_width_m), (front_m, -half_width_m),
                         (front_m, half_width_m), (-rear_m, half_width_m))
    return Polygon([(x + c * a - s * b, y + s * a + c * b) for a, b in pts])


def turn_reach(rear_m: float, front_m: float, half_width_m: float) -> float:
    """Radius the footprint (:func:`footprint`) sweeps pivoting on base_link: its farthest
    corner, m. A full turn where base_link is this far from a zone sweeps none of it."""
    return math.hypot(max(abs(rear_m), abs(front_m)), half_width_m)


def _deeper(zones: Sequence[Polygon], before: Polygon, fp: Polygon) -> bool:
    """Whether footprint ``fp`` lies deeper in any of ``zones`` than ``before``, the pose
    just before it (the supervisor judges every command from where the machine is then)."""
    return any(KeepOutSweep(z, before, reverse=True).refuses(fp) for z in zones)


class KeepOutSweep:
    """The safety supervisor's keep-out rule for one motion, judged pose by pose.

    One source for the supervisor's refusal (``SafetySupervisor._enters``) and the coverage
    planner's check of the paths it hands over (:func:`first_refusal`): they disagreed, and
    the planner handed over, re-plan after re-plan, a first pivot the supervisor refused
    (gen_at_uxo_lanes seed 1: the hull's rear corner swung into a zone 3.1 m away; aborted
    after six futile re-plans). Started at the footprint ``start`` where the machine is,
    :meth:`refuses` takes the footprint at each next pose along the motion and says whether
    the motion is refused by then: a pose deeper in ``zone`` than the start, or, unless
    ``reverse``, zone ground swept that the start footprint does not cover (a pivot swings
    the flail sideways). Backing out, each pose is less deep: the path follower's small
    steering while reversing must not count as sweeping new ground (it would pin the machine).
    The verdict after the last pose is the same whatever the order the poses were judged in
    up to then: any pose deeper, or the whole sweep's zone ground more than the start's.
    """

    def __init__(self, zone, start: Polygon, reverse: bool) -> None:
        """Start the motion at footprint ``start`` (``reverse``: it backs out)."""
        self.zone, self.reverse = zone, reverse
        self._swept = start.intersection(zone)
        #: Zone ground under the footprint where the motion starts, m^2.
        self.inside = self._swept.area

    def refuses(self, fp: Polygon) -> bool:
        """Place the footprint ``fp`` next along the motion; True when that is refused."""
        hit = fp.intersection(self.zone)
        if hit.area > self.inside + KEEP_OUT_AREA_EPS_M2:
            return True                 # deeper in than where the motion started
        if self.reverse or hit.is_empty:
            return False
        self._swept = self._swept.union(hit)
        return self._swept.area > self.inside + KEEP_OUT_AREA_EPS_M2


class GroundSweep:
    """The ground a straight motion's footprint sweeps, judged against the ground it may be on.

    ``leaves(fp)`` adds the footprint ``fp`` to the sweep and says whether the sweep now
    reaches more ground outside ``ground`` than the starting footprint ``start`` did.
    """

    def __init__(self, start: Polygon, ground) -> None:
        """Start the sweep at footprint ``start``."""
        self.ground = ground
        self.swept = start
        self.off_ground = start.difference(ground).area

    def leaves(self, fp: Polygon) -> bool:
        """Sweep ``fp`` too; True when that reaches new ground outside ``ground``."""
        return self.add(fp) > _BLIND_ROUND_OFF_M2

    def add(self, fp: Polygon) -> float:
        """Sweep ``fp`` too; return the new ground outside ``ground`` swept so far, m^2."""
        self.swept = self.swept.union(fp)
        return max(0.0, self.swept.difference(self.ground).area - self.off_ground)

    def copy(self) -> 'GroundSweep':
        """An independent sweep from the same state (another way on from here)."""
        other = GroundSweep.__new__(GroundSweep)
        other.ground, other.swept, other.off_ground = self.ground, self.swept, self.off_ground
        return other


class SuspectPress:
    """Whether a motion puts a track on a detected suspect, as the safety supervisor judges
    it (``AllowedGround.judge``): the ground the two tracks and the belly between them
    (``tracks``: the outline's rear, front and half width from base_link) newly cover, where
    a suspect's disc lies on ground not allowed (``hazard``: the discs less processed and
    declared safe ground). The supervisor refuses that for an AP track and records it for an
    unknown one: a way out that presses none is preferred.
    """

    def __init__(self, hazard, tracks: Tuple[float, float, float]) -> None:
        """Judge against ``hazard`` (a geometry; empty: nothing to press)."""
        self.hazard = hazard
        self.tracks = tracks
        #: base_link's distance within which a track outline can reach the hazard, m.
        self.reach_m = turn_reach(*tracks)

    def outline(self, x: float, y: float, yaw: float) -> Polygon:
        """The tracks' outline (both tracks and the belly between) at a pose."""
        return footprint(x, y, yaw, *self.tracks)

    def near(self, x: float, y: float, travel_m: float) -> bool:
        """Whether a motion of at most ``travel_m`` from (x, y) can reach the hazard."""
        return (not self.hazard.is_empty
                and self.hazard.distance(Point(x, y)) <= travel_m + self.reach_m)

    def leg_presses(self, x: float, y: float, yaw: float, d: float) -> bool:
        """Whether a straight leg of ``d`` metres (negative: in reverse) from a pose presses
        the hazard: the outline stretched over the leg is what the tracks sweep."""
        rear, front, half = self.tracks
        return self.presses(self.outline(x, y, yaw), [footprint(
            x, y, yaw, rear + max(0.0, -d), front + max(0.0, d), half)])

    def presses(self, start: Polygon, outlines: Sequence[Polygon]) -> bool:
        """Whether any of ``outlines`` covers hazard ground the outline ``start`` did not."""
        if not outlines:
            return False
        fresh = self.hazard.difference(start)
        return any(o.intersects(fresh) and o.intersection(fresh).area > KEEP_OUT_AREA_EPS_M2
                   for o in outlines)


def back_out_point(x: float, y: float, yaw: float, zones, reach_m: float,
                   step_m: float, max_m: float,
                   hull: Optional[Tuple[float, float, float]] = None,
                   behind=None, inside=None, forward: bool = False,
                   ground=None) -> Optional[XY]:
    """Where to back out to, straight behind, before the machine may turn near a zone.

    ``zones`` is a list of polygons or one geometry. ``reach_m`` is the radius the footprint
    sweeps when it pivots on base_link. Returns None
    when no zone is within that reach now, else the first point behind (in ``step_m`` steps,
    at most ``max_m``) from which a pivot stays clear of every zone (the last one tried if none
    does: the supervisor then still keeps the footprint out).

    ``hull`` (rear, front, half width of the footprint, m): the reverse never drives the
    footprint deeper into ``behind`` (a geometry; default ``zones``): backing out of one zone
    into another behind it is refused by the supervisor, so it stops short of that one.
    ``inside`` (a geometry, e.g. the geofence): base_link never backs out of it.
    ``forward``: drive straight ahead instead, facing as now (out of a zone behind). With
    ``hull``, ahead it also stops before the first step whose footprint sweeps zone ground the
    footprint does not cover now: the safety supervisor refuses a forward motion that sweeps
    new keep-out ground, reversing only one that goes deeper (``SafetySupervisor._enters``).
    The two rules differed (the overlap in total against new ground swept): a forward way out
    that left a zone behind faster than it ran onto one beside passed here and was refused
    there.
    ``ground`` (a geometry; with ``hull``): where the footprint may go, e.g. processed,
    declared safe and driven ground. The footprint's sweep never reaches ground outside it
    that the footprint does not cover now: straight behind a machine that has just pivoted
    is ground it never drove (gen_random seed 12: a 9 m reverse there set off a TM-62M).
    """
    zone = _union(zones)
    if zone.is_empty or zone.distance(Point(x, y)) >= reach_m:
        return None
    bx, by = x, y
    if hull is not None:
        # the supervisor's rules, step by step, as every way out is judged (:class:`_Motion`)
        blocked = _zone_list(zones if behind is None else behind)
        start = _Motion(x, y, yaw, hull, blocked,
                        GroundSweep(footprint(x, y, yaw, *hull), ground)
                        if ground is not None else None)
        for state, _ in start.legs(1.0 if forward else -1.0, step_m, max_m, inside, 0.0):
            bx, by = state.x, state.y
            if zone.distance(Point(bx, by)) >= reach_m:
                break
        return (bx, by) if (bx, by) != (x, y) else None
    sign = -1.0 if forward else 1.0
    c, s = sign * math.cos(yaw), sign * math.sin(yaw)
    d = 0.0
    while d < max_m:
        d = min(d + step_m, max_m)
        nx, ny = x - c * d, y - s * d
        if inside is not None and not inside.contains(Point(nx, ny)):
            break                       # the supervisor's fence: the stop would be a breach
        bx, by = nx, ny
        if zone.distance(Point(bx, by)) >= reach_m:
            break
    return (bx, by) if (bx, by) != (x, y) else None


def way_back(trail: Sequence[Tuple[float, float, float]], same_m: float = _SAME_POSE_M,
             same_rad: float = _SAME_POSE_RAD, excursion_m: float = _EXCURSION_M
             ) -> List[Tuple[float, float, float]]:
    """The driven ``trail`` (oldest pose first) newest first, its excursions cut.

    Where the machine drove out and came back to a pose it had held before (within
    ``same_m`` and ``same_rad``: a back-out along the lane it had just driven, a probe towards
    a zone and back), the way back goes from the return straight to the first visit: the
    excursion (at least ``excursion_m`` of travel) is ground it need not drive again, and
    retraced in time order it led the machine back towards the zone it had backed away from
    (gen_slope seed 66: the retrace of a pinned machine stopped 0.3 m back, at the end of its
    own earlier back-out, and the mission aborted at 44 %).
    """
    pts = np.asarray(trail, dtype=float).reshape(-1, 3)
    n = len(pts)
    if n == 0:
        return []
    travel = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(pts[:, :2], axis=0).T))])
    out: List[Tuple[float, float, float]] = []
    i = n - 1
    while i >= 0:
        out.append(tuple(trail[i]))
        near = np.nonzero((np.hypot(pts[:i, 0] - pts[i, 0], pts[:i, 1] - pts[i, 1]) < same_m)
                          & (np.abs(np.angle(np.exp(1j * (pts[:i, 2] - pts[i, 2]))))
                             < same_rad)
                          & (travel[i] - travel[:i] >= excursion_m))[0]
        i = int(near[0]) if near.size else i - 1
    return out


def retrace(trail: Sequence[Tuple[float, float, float]], x: float, y: float, yaw: float,
            zones, reach_m: float, max_m: float, hull: Tuple[float, float, float],
            behind=None, inside=None, same_m: float = 0.05) -> List[Tuple[float, float, float]]:
    """The way back along the driven ``trail`` (oldest pose first), out of a zone's reach.

    The recovery a machine operator makes, back the way it came: where the machine pivoted
    it pivots back, where it drove it reverses (a straight back-out from a machine that has
    just turned runs onto ground it never drove). Returns waypoints (x, y, facing) from the
    pose ``(x, y, yaw)`` backwards: ``facing`` is the machine's heading on the leg that
    leaves the waypoint (the heading it drove that stretch with, so the leg is a reverse),
    up to the first trail pose from which a pivot stays ``reach_m`` clear of ``zones``, or
    the last one within ``max_m`` of travel. It stops before a pose whose footprint
    (``hull``: rear, front, half width) overlaps ``behind`` (default ``zones``) more than the
    way so far did (the safety supervisor refuses a motion going deeper into keep-out
    ground, and a pivot that sweeps new keep-out ground), and before one outside ``inside``.
    Empty when not one step back is possible.
    """
    zone = _union(zones)
    blocked = _zone_list(zones if behind is None else behind)
    here = footprint(x, y, yaw, *hull)
    # the supervisor's rule (KeepOutSweep) per motion: a stretch retraced is a reverse from the
    # pose before, a run of pivots on the spot one pivot from where it began
    pivot: Optional[List[KeepOutSweep]] = None
    out: List[Tuple[float, float, float]] = [(x, y, yaw)]
    travelled = 0.0
    for px, py, pyaw in way_back(list(trail) + [(x, y, yaw)])[1:]:
        lx, ly, _ = out[-1]
        step = math.hypot(px - lx, py - ly)
        if inside is not None and not inside.contains(Point(px, py)):
            break
        if travelled + step > max_m:
            break
        fp = footprint(px, py, pyaw, *hull)
        if _deeper(blocked, here, fp):
            break                       # deeper into keep-out ground than the pose before
        if step < same_m:
            # the leg that leaves the last waypoint runs with the heading the machine drove
            # it with (the older pose's): after a pivot on the spot, turned back to it first
            if pivot is None:
                pivot = [KeepOutSweep(z, here, reverse=False) for z in blocked]
            if any(sweep.refuses(fp) for sweep in pivot):
                break                   # the pivot back would swing the hull onto new zone
        else:
            pivot = None
        out[-1] = (lx, ly, pyaw)
        if step >= same_m:
            travelled += step
            out.append((px, py, pyaw))
        here = fp
        if zone.distance(Point(px, py)) >= reach_m:
            break
    return out if len(out) > 1 or out[0][2] != yaw else []


@dataclasses.dataclass(frozen=True)
class Escape:
    """A way out of the zones' pivot reach: straight on or back, then one or more pivots
    each followed by a straight leg."""

    #: Waypoints (x, y, facing) from the pose: ``facing`` is the heading on the leg that
    #: leaves the waypoint (against the leg's direction: a reverse); the last one is the end.
    way: List[Tuple[float, float, float]]
    #: Ground swept outside the allowed ground that the footprint did not cover at the
    #: start, m^2 (0 with no ``ground`` given).
    blind_m2: float
    #: Straight metres driven, and the first pivot's turn, rad (signed, the short way).
    length_m: float
    turn_rad: float
    #: Every pivot's turn in order, rad (one, or more for a way of several motions).
    turns_rad: Tuple[float, ...] = ()
    #: Whether the end is ``margin_m`` beyond the turning reach too (else just the reach).
    with_margin: bool = True
    #: Whether a motion of the way puts a track on a detected suspect (:class:`SuspectPress`;
    #: chosen only when no way out avoids it).
    presses_suspect: bool = False


class _Motion:
    """The footprint's state along a candidate way out, each motion judged as the safety
    supervisor judges it: :class:`KeepOutSweep` per keep-out zone from where the motion
    starts, and each pose against the one before (the supervisor judges every command from
    where the machine is then), with the one tolerance :data:`KEEP_OUT_AREA_EPS_M2`.
    ``presses``: a motion on the way here puts a track on a suspect (:class:`SuspectPress`)."""

    def __init__(self, x: float, y: float, yaw: float, hull: Tuple[float, float, float],
                 blocked: Sequence[Polygon], sweep: Optional[GroundSweep],
                 suspects: Optional[SuspectPress] = None) -> None:
        self.x, self.y, self.yaw, self.hull, self.blocked = x, y, yaw, hull, blocked
        self.fp = footprint(x, y, yaw, *hull)
        self.sweep, self.blind = sweep, 0.0
        self.suspects, self.presses = suspects, False

    def _moved(self, x: float, y: float, yaw: float, fp: Polygon, parts: List[Polygon],
               blind_m2: float, presses: bool = False) -> Optional['_Motion']:
        out = _Motion.__new__(_Motion)
        out.x, out.y, out.yaw, out.hull, out.blocked = x, y, yaw, self.hull, self.blocked
        out.fp, out.blind = fp, self.blind
        out.suspects, out.presses = self.suspects, self.presses or presses
        out.sweep = self.sweep.copy() if self.sweep is not None else None
        if out.sweep is not None:
            out.blind = out.sweep.add(unary_union(parts))
            if out.blind > blind_m2 + _BLIND_ROUND_OFF_M2:
                return None
        return out

    def _near(self, travel_m: float) -> List[Polygon]:
        """The zones a footprint can touch within ``travel_m`` of base_link's travel."""
        reach = travel_m + turn_reach(*self.hull)
        here = Point(self.x, self.y)
        return [z for z in self.blocked if z.distance(here) <= reach]

    def pivot(self, turn: float, yaw_step_rad: float, blind_m2: float) -> Optional['_Motion']:
        """The state after a pivot by ``turn``; None when the supervisor refuses it (a pose
        deeper in keep-out ground, new keep-out ground swept) or it sweeps too much blind
        ground."""
        n = max(1, int(math.ceil(abs(turn) / yaw_step_rad)))
        parts = [self.fp] + [footprint(self.x, self.y, self.yaw + turn * i / n, *self.hull)
                             for i in range(1, n + 1)]
        near = self._near(0.0)
        sweeps = [KeepOutSweep(z, self.fp, reverse=False) for z in near]
        for before, fp in zip(parts, parts[1:]):
            if any(sweep.refuses(fp) for sweep in sweeps) or _deeper(near, before, fp):
                return None
        s = self.suspects
        presses = s is not None and s.near(self.x, self.y, 0.0) and s.presses(
            s.outline(self.x, self.y, self.yaw),
            [s.outline(self.x, self.y, self.yaw + turn * i / n) for i in range(1, n + 1)])
        return self._moved(self.x, self.y, self.yaw + turn, parts[-1], parts, blind_m2,
                           presses)

    def legs(self, sign: float, step_m: float, max_m: float, inside, blind_m2: float):
        """The states every ``step_m`` of a straight leg (``sign`` +1 forwards, -1 reverse),
        with the distance, up to the first step the rules refuse."""
        c, s = sign * math.cos(self.yaw), sign * math.sin(self.yaw)
        near = self._near(max_m)
        sweeps = [KeepOutSweep(z, self.fp, reverse=sign < 0.0) for z in near]
        press = self.suspects if self.suspects is not None and self.suspects.near(
            self.x, self.y, max_m) else None
        state = self
        d = 0.0
        while d < max_m - 1e-9:
            d = min(d + step_m, max_m)
            px, py = self.x + c * d, self.y + s * d
            if inside is not None and not inside.contains(Point(px, py)):
                return
            fp = footprint(px, py, self.yaw, *self.hull)
            if any(sweep.refuses(fp) for sweep in sweeps) or _deeper(near, state.fp, fp):
                return                  # deeper into keep-out ground, or (ahead) new swept
            presses = (press is not None and not state.presses
                       and press.leg_presses(self.x, self.y, self.yaw, sign * d))
            state = state._moved(px, py, self.yaw, fp, [fp], blind_m2, presses)
            if state is None:
                return                  # too much blind ground
            yield state, d


#: Pivots an escape tries at most: one (back off, turn away, drive off), and when no such
#: way gets clear a second after a short leg (a partial turn the supervisor lets pass, a
#: short move, then the turn away), range 1-3: each more multiplies the search.
ESCAPE_MAX_PIVOTS = 2
#: States a further pivot of an escape is tried from, at most (those farthest from the zones
#: first): bounds the search to a few hundred pivots, well under a second, range 1-50.
ESCAPE_BRANCHES = 12
#: The longest straight leg an escape drives before a further pivot, m: a metre or three
#: backed off or on, as an operator does before turning away.
ESCAPE_FIRST_MAX_M = 3.0


def escape(x: float, y: float, yaw: float, zones, reach_m: float,
           hull: Tuple[float, float, float], *, behind=None, inside=None, ground=None,
           blind_m2: float = 0.0, max_m: float = 10.0,
           first_max_m: float = ESCAPE_FIRST_MAX_M,
           step_m: float = 0.5, headings: int = 24, yaw_step_rad: float = 0.05,
           min_turn_rad: float = 0.0, margin_m: float = 0.0,
           max_pivots: int = ESCAPE_MAX_PIVOTS, branches: int = ESCAPE_BRANCHES,
           first_step_m: Optional[float] = None,
           suspects: Optional[SuspectPress] = None) -> Optional[Escape]:
    """The way out of every zone's pivot reach that sweeps the least blind ground, or None.

    Where neither the straight way back nor the driven trail gets the machine ``reach_m``
    clear of ``zones`` (it pivoted to face the next lane and the boom found an AT mine ahead:
    the pivot back swings the flail across the zone, and behind lies ground it never drove),
    an operator backs off a little, turns away from the zone and drives off. Tried: a straight
    leg on the current heading (none, or forwards or in reverse in ``first_step_m`` steps,
    default ``step_m``, up to ``first_max_m``), then a pivot the short way (as the path
    follower turns) to each of ``headings`` headings (none below ``min_turn_rad``: the path
    follower drives a smaller turn as an arc, not on the spot), then a straight leg forwards
    or in reverse up to ``max_m`` in ``step_m`` steps, to the first point ``reach_m`` clear
    of ``zones``. When no such way gets clear, up to ``max_pivots`` pivots: from the
    ``branches`` states after a pivot and a leg of at most ``first_max_m`` that stand farthest
    from ``zones``, another pivot and leg (a partial turn the supervisor lets pass, a short
    move, then the turn away: where every turn that would get clear swings a corner into a
    zone beside, a metre on it may not). Each motion is judged by the safety supervisor's
    rule (:class:`KeepOutSweep`, ``SafetySupervisor._enters``) against each geometry of
    ``behind`` (default ``zones``; a list item by item, as :func:`first_refusal` does): no
    pose deeper in keep-out ground than the one before nor than where the motion began, no
    new keep-out ground swept by a pivot or a forward leg.
    ``inside``: base_link stays in it (the geofence). ``ground`` (processed, declared safe
    and driven ground): what the footprint sweeps outside it is blind ground, at most
    ``blind_m2``.

    ``suspects``: the detected suspects' ground (:class:`SuspectPress`) a track may not
    press; a way whose motions press it is taken only when none gets clear without
    (gen_at_uxo_lanes seed 65 with AP tracks refused once labelled: the escape's one leg
    crossed the marked suspect beside the machine, the supervisor refused it six times and
    the mission ended pinned).

    ``reach_m`` is the radius a full turn on base_link sweeps, what the end must be clear
    by; ``margin_m`` more (the follower stops within its tolerance of the end) is preferred,
    not required: a way that ends ``reach_m`` clear beats none.

    Chosen: presses no suspect, then ends ``margin_m`` beyond the reach, then the least
    blind ground, then the shortest (straight metres plus each turn's arc at the
    footprint's corner). None when the pose is already ``reach_m + margin_m`` clear, or
    nothing gets ``reach_m`` clear.
    """
    zone = _union(zones)
    here = Point(x, y)
    if zone.is_empty or zone.distance(here) >= reach_m + margin_m:
        return None
    blocked = _zone_list(zones if behind is None else behind)
    corner_m = turn_reach(*hull)
    start = _Motion(x, y, yaw, hull, blocked,
                    GroundSweep(footprint(x, y, yaw, *hull), ground)
                    if ground is not None else None, suspects)
    best: Optional[Escape] = None
    best_key = None

    def offer(end: _Motion, way: List[Tuple[float, float, float]], length: float,
              turns: Tuple[float, ...]) -> bool:
        """Keep the way when it gets clear and beats the best so far; True when clear."""
        nonlocal best, best_key
        clear = zone.distance(Point(end.x, end.y))
        if clear < reach_m:
            return False
        short = clear < reach_m + margin_m
        cost = length + corner_m * sum(abs(t) for t in turns)
        key = (end.presses, short, end.blind > _BLIND_ROUND_OFF_M2, end.blind, cost)
        if best_key is None or key < best_key:
            best, best_key = Escape(way, end.blind, length, turns[0] if turns else 0.0,
                                    turns, not short, end.presses), key
        return True
    # (state, waypoints to it, straight metres, turns): where a pivot may be tried from
    frontier = [(start, [], 0.0, ())]
    for sign in (-1.0, 1.0):
        for first, d1 in start.legs(sign, first_step_m or step_m, first_max_m, inside,
                                    blind_m2):
            if offer(first, [(x, y, yaw), (first.x, first.y, yaw)], d1, ()):
                continue                # clear on the current heading alone: the straight way
            frontier.append((first, [(x, y, yaw)], d1, ()))
    for level in range(max(1, max_pivots)):
        further = []
        for first, way, d1, turns in frontier:
            for k in range(1, headings):
                turn = math.atan2(math.sin(2.0 * math.pi * k / headings),
                                  math.cos(2.0 * math.pi * k / headings))
                if abs(turn) > math.pi - yaw_step_rad or abs(turn) < min_turn_rad:
                    continue            # half a turn: the follower's way round is a toss-up
                turned = first.pivot(turn, yaw_step_rad, blind_m2)
                if turned is None:
                    continue
                for sign in (1.0, -1.0):
                    for end, d2 in turned.legs(sign, step_m, max_m, inside, blind_m2):
                        leg = way + [(first.x, first.y, turned.yaw),
                                     (end.x, end.y, turned.yaw)]
                        if offer(end, leg, d1 + d2, turns + (turn,)):
                            break
                        if d2 <= first_max_m + 1e-9:
                            further.append((end, leg[:-1], d1 + d2, turns + (turn,)))
        if (best is not None and not best.presses_suspect) or level + 1 >= max_pivots:
            break
        # the states pressing no suspect and standing farthest from the zones first (ties:
        # less blind, shorter)
        further.sort(key=lambda f: (f[0].presses, -zone.distance(Point(f[0].x, f[0].y)),
                                    f[0].blind, f[2]))
        frontier = further[:branches]
    return best


def first_refusal(pose: Tuple[float, float, float], path: Sequence[Sequence[float]],
                  zones: Sequence[Polygon], hull: Tuple[float, float, float], max_m: float,
                  step_m: float = 0.25, yaw_step_rad: float = 0.05,
                  min_turn_rad: float = 0.0
                  ) -> Optional[Tuple[int, Tuple[float, float, float]]]:
    """The first motion of driving ``path`` from ``pose`` the safety supervisor refuses at
    keep-out ground: (index of the zone, the pose refused), or None.

    ``path`` holds the waypoints (x, y, facing) still ahead, ``facing`` the heading on the
    leg that leaves the waypoint (against the leg's direction: a reverse), as the path
    follower drives them: straight to each waypoint facing as on the leg before, then a
    pivot on the spot, the short way, onto the next leg's facing (a turn below
    ``min_turn_rad`` is an arc, not a pivot: the new facing is taken at once). Each motion
    (a leg, a pivot) is judged by :class:`KeepOutSweep` per zone, the footprint (``hull``:
    rear, front, half width) placed every ``step_m`` of a leg and every ``yaw_step_rad`` of a
    pivot, up to ``max_m`` of travel (the pivot at its end included).
    """
    x, y, yaw = pose
    reach = max_m + turn_reach(*hull)
    near = [i for i, z in enumerate(zones) if z.distance(Point(x, y)) <= reach]
    if not near:
        return None

    def judge(poses: List[Tuple[float, float, float]], reverse: bool):
        start = footprint(*poses[0], *hull)
        sweeps = [(i, KeepOutSweep(zones[i], start, reverse)) for i in near]
        for q in poses[1:]:
            fp = footprint(*q, *hull)
            for i, sweep in sweeps:
                if sweep.refuses(fp):
                    return i, q
        return None
    travelled = 0.0
    for wx, wy, face in path:
        dist = math.hypot(wx - x, wy - y)
        if dist > 1e-9:
            ahead = (wx - x) * math.cos(yaw) + (wy - y) * math.sin(yaw) >= 0.0
            n = max(1, math.ceil(dist / step_m))
            hit = judge([(x + k / n * (wx - x), y + k / n * (wy - y), yaw)
                         for k in range(n + 1)], not ahead)
            if hit is not None:
                return hit
            travelled += dist
            x, y = wx, wy
        turn = math.atan2(math.sin(face - yaw), math.cos(face - yaw))
        if abs(turn) >= min_turn_rad and turn != 0.0:
            n = max(1, math.ceil(abs(turn) / yaw_step_rad))
            hit = judge([(x, y, yaw + k / n * turn) for k in range(n + 1)], False)
            if hit is not None:
                return hit
        yaw = face
        if travelled >= max_m:
            break
    return None


def first_zone_entered(pose: Tuple[float, float, float], path: Sequence[Sequence[float]],
                       zones: Sequence[Polygon], hull: Tuple[float, float, float],
                       max_m: float, step_m: float = 0.25,
                       yaw_step_rad: float = 0.2) -> Optional[int]:
    """Index of the zone the footprint would enter first driving ``path`` from ``pose``
    (:func:`first_refusal`: the safety supervisor's rule, which refuses the motion), or
    None when the path keeps clear ``max_m`` far."""
    hit = first_refusal(pose, path, zones, hull, max_m, step_m, yaw_step_rad)
    return hit[0] if hit is not None else None


def _union(zones):
    """One geometry from a geometry or a list of polygons."""
    if hasattr(zones, 'geom_type'):
        return zones
    return unary_union(list(zones)) if zones else Polygon()


def _zone_list(zones) -> List:
    """The keep-out geometries a motion is judged against one by one: a geometry as one (the
    safety supervisor judges the union of its no-go zones as one), a list item by item."""
    if hasattr(zones, 'geom_type'):
        return [] if zones.is_empty else [zones]
    return [z for z in zones if not z.is_empty]


__all__ = ['ESCAPE_BRANCHES', 'ESCAPE_FIRST_MAX_M', 'ESCAPE_MAX_PIVOTS', 'KEEP_OUT_AREA_EPS_M2',
           'NO_GO_KINDS', 'Escape', 'GroundSweep', 'KeepOutSweep', 'NoGoZones', 'SuspectPress',
           'back_out_point', 'disc_polygon', 'escape', 'first_refusal', 'first_zone_entered',
           'footprint', 'hazard_discs', 'retrace', 'suspect_key', 'turn_reach', 'way_back']
