"""Lead-ins: the tool is lowered only where the sensor boom has looked first (pure core).

The GPR/MD boom runs ``sensor_offset_x_m`` ahead of base_link, the flail
``tool_offset_x_m``; driving straight, every strip of ground reaches the flail
``sensor_offset_x_m - tool_offset_x_m`` (1.4 m on the shipped carrier) after the boom passed
over it. Where the tool is *lowered* (the first work leg after a transit, a pivot or a
reverse) the ground from the hammers' rear reach to the boom's line is under or ahead of the
tool but behind the boom: no sensor has looked at it unless an earlier leg did. Lowering
there processes ground blind: a flail over an undetected AT mine sets it off (bench/
missions.py gen_random seed 9, stop 39: a 0.8 rad pivot at a lane's end lowered the flail
onto a TM-62M 1.7 m beside that lane), and the tracks follow the tool onto it.

Mechanical clearance works from ground already cleared (IMAS 09.50 "Mechanical demining";
GICHD, *A Study of Mechanical Application in Demining*, 2004): here, where the lead band
(:func:`lead_band`) at a lowering holds ground of the field that is neither processed, nor
declared safe, nor under the boom on an earlier leg or plan, the machine backs up straight
along the new heading (tool raised), far enough that the band lies on ground already covered,
and lowers the tool there. The tracks back onto ground processed before or by the path's
earlier legs, declared safe, pressed by their own earlier legs inside the field (the machine's
own track), or outside the field when the surroundings are its turning ground; the boom then
looks at the blind band before the flail reaches it (:func:`add_lead_ins`). Where no full
back-up fits (the ground behind is unprocessed, a keep-out zone or outside the geofence) the
machine backs up on the allowed ground there is, which moves the band back onto ground seen
before where it can, and the rest is kept and reported (:attr:`LeadIns.blind`), never
silently.
"""

from __future__ import annotations

import dataclasses
import math
from typing import List, Optional, Tuple

import numpy as np
import shapely
from shapely.geometry import Polygon
from shapely.ops import unary_union

from demining_control.coverage.allowed import rectangle, robust
from demining_control.coverage.no_go import SuspectPress, footprint

XY = Tuple[float, float]

#: Depth of the tool (its hammers' reach along the heading) beyond its centre line, m.
TOOL_DEPTH_M = 0.4
#: Blind ground in a lead band up to this counts as none, m^2: polygon round-off and the
#: corners of a band that grazes an earlier strip (a 2.5 cm sliver along the 2 m band).
BLIND_TOLERANCE_M2 = 0.05
#: Back-up distances tried, m: steps of this up to :attr:`LeadGeometry.max_back_m`.
BACK_STEP_M = 0.2
#: Ground of the field neither processed nor declared safe a back-up longer than the band's
#: length and a step may put its tracks on, m^2: round-off only (such a back-up is taken only
#: onto processed or declared ground).
_LONG_BARE_M2 = 1e-3
#: Below this a leg is degenerate, m.
_EPS = 1e-9
#: Yaw step at which a pivot's swept tracks are drawn, rad: the hull of two consecutive
#: positions misses the arc's sagitta, 1.7 cm at a 2.2 m reach.
_PIVOT_STEP_RAD = 0.25
#: Yaw step of the outlines a pivot is judged by for suspects (:func:`head_presses`), rad:
#: a track's end 2.2 m out moves 0.11 m a step, under a suspect disc's 0.3-0.5 m radius.
_PRESS_STEP_RAD = 0.05
#: Cell of the grid on which a pivot's swept ground is checked against earlier legs, m.
_PIVOT_CELL_M = 0.15
#: Consecutive legs whose headings and facings differ by no more than this run on one
#: straight line (a lane resampled into waypoints: round-off only), rad.
_STRAIGHT_RAD = 1e-9
#: Steps of the straight move tried before a blind start pivot (:func:`start_moves`), m.
START_MOVE_STEP_M = 0.5


@dataclasses.dataclass(frozen=True)
class LeadGeometry:
    """The machine as the lead-in sees it (from the coverage planner's parameters)."""

    tool_offset_x_m: float
    tool_width_m: float
    sensor_offset_x_m: float
    sensor_width_m: float
    track_length_m: float
    contact_half_width_m: float
    footprint_rear_m: float
    footprint_front_m: float
    footprint_half_width_m: float
    corner_angle_rad: float
    #: The tracks' edges are judged this far inside them (the allowed-ground tolerance); the
    #: lead band is the tool's whole width (:func:`lead_band`).
    tolerance_m: float = 0.05
    #: Whether blind lowerings get a back-up (False: they are only counted and reported).
    back_up: bool = True
    #: Whether, where no back-up on allowed ground sees the whole band, one whose tracks leave
    #: the field (onto ground not declared safe; never keep-out, base_link in the fence) may
    #: be taken when it leaves less of the band blind (:func:`add_lead_ins`).
    back_up_outside: bool = True
    #: Longest back-up tried, m (:attr:`max_back_m`).
    back_up_max_m: float = 5.0
    #: The boom's swath counts as seen only this far inside its edges (:attr:`seen_half_m`).
    scan_margin_m: float = 0.0
    #: Whether, where no back-up on allowed ground (or outside the field) sees the whole band,
    #: one whose tracks press the field's ground the boom has scanned (before the path or on
    #: its earlier legs; never a detected suspect's disc) may be taken (:func:`_back_up`).
    back_up_scanned: bool = True

    @property
    def seen_half_m(self) -> float:
        """Half the width of the ground a boom swath counts as seen, m: the boom's half
        width less :attr:`scan_margin_m`.

        A lead band the plan counted seen at the very edge of an earlier leg's swath was
        not (bench/missions.py gen_random seed 8: a TM-62P 1.45-1.5 m off that leg's line,
        under a 1.6 m half width, went off under the flail lowered there): the outer GPR
        channel and MD coil sit half a pitch inside the boom's edge, and the machine drives
        its lanes tenths of a metre off the plan.
        """
        return max(0.5 * self.sensor_width_m - self.scan_margin_m, 0.0)

    @property
    def band_back_m(self) -> float:
        """Where the lead band starts ahead of base_link: the hammers' rear reach, m."""
        return self.tool_offset_x_m - TOOL_DEPTH_M

    @property
    def band_back_up_m(self) -> float:
        """A back-up that moves the band back by its own length, and one step, m: the
        longest that may also put the tracks on the machine's own track (:func:`_back_up`)."""
        return max(0.0, self.sensor_offset_x_m - self.band_back_m) + BACK_STEP_M

    @property
    def max_back_m(self) -> float:
        """Longest back-up tried, m: :attr:`back_up_max_m`, and never less than the band's
        length and one step.

        Behind a pivot onto a straight-on lane the band's length moves it onto the ground the
        boom swept coming in. Behind a turn of a headland pass at a field corner it does
        not: the new side runs off the incoming side's swath at the turn's angle, and the
        band's inner edge (the tool's half width beside the new heading) comes onto that
        swath (the boom's half width beside the old one) only where the new side is within
        ``(sensor_width / 2 - tool_width / 2) / sin(turn)`` of the corner: 1.5 m at a 24
        degree turn of the shipped carrier, so the band's far edge (``sensor_offset_x_m``
        ahead) needs a back-up of about 2.5 m, and the band's rear corners more. A 24 degree
        headland corner of bench/missions.py gen_random seed 1 (a re-plan) left 0.94 m^2 of
        the band unseen after every back-up up to the band's 1.8 m and one step, 0.03 m^2
        after 4.6 m; the flail, lowered there, set off a TM-62P the boom had seen only at
        its edge (one weak GPR report, labelled unknown).
        """
        return max(self.back_up_max_m, self.band_back_up_m)


@dataclasses.dataclass
class LeadIns:
    """What :func:`add_lead_ins` did."""

    #: Lowerings given a back-up, with where the tool was to be lowered and the metres.
    added: List[Tuple[XY, float]] = dataclasses.field(default_factory=list)
    #: Lowerings left blind (no back-up, or only a part of one, fits), with the blind area
    #: of the band left, m^2. A lowering with a partial back-up is in both lists.
    blind: List[Tuple[XY, float]] = dataclasses.field(default_factory=list)
    #: Back-ups (of :attr:`added`) whose tracks leave the field onto ground not declared safe,
    #: with the ground they newly press out there, m^2 (:attr:`LeadGeometry.back_up_outside`).
    outside: List[Tuple[XY, float]] = dataclasses.field(default_factory=list)
    #: Back-ups (of :attr:`added`) whose tracks press the field's ground the boom has scanned
    #: but no tool processed, with the metres (:attr:`LeadGeometry.back_up_scanned`).
    scanned: List[Tuple[XY, float]] = dataclasses.field(default_factory=list)
    #: Pivots whose tracks sweep ground of the field nothing has looked at (:func:`blind_pivots`),
    #: with where they turn and that area, m^2 (the start pivot included).
    blind_pivots: List[Tuple[XY, float]] = dataclasses.field(default_factory=list)
    #: The pivot from the machine's facing at the start onto the path's first leg when it is
    #: one of :attr:`blind_pivots` (where, the area, m^2); None when it is not.
    start_pivot: Optional[Tuple[XY, float]] = None


def lead_band(x: float, y: float, yaw: float, g: LeadGeometry) -> Polygon:
    """Ground a tool lowered at pose (x, y, yaw) reaches before the boom has looked at it.

    The band is the tool's whole width: its outer hammers strike there too. Narrowed by the
    allowed-ground tolerance, as it was, a band left 0.15 m each side unjudged, and a TM-62M
    0.98 m off the tool's centre line, in such an edge, went off under the flail after a
    re-plan's lowering (bench/missions.py gen_at_uxo_lanes seed 1).
    """
    half = 0.5 * g.tool_width_m
    return Polygon(rectangle(x, y, yaw, -g.band_back_m, g.sensor_offset_x_m, half))


def blind_ground(x: float, y: float, yaw: float, g: LeadGeometry, *, field, seen=None):
    """The field's ground in the lead band of a tool lowered at (x, y, yaw) that ``seen``
    (processed, declared safe or scanned ground; shapely, None: nothing) does not cover: what
    the flail would strike, and the tracks then press, before any sensor has looked at it."""
    rest = robust(shapely.intersection, lead_band(x, y, yaw, g), field)
    if rest.is_empty or seen is None or seen.is_empty:
        return rest
    return robust(shapely.difference, rest, seen)


def _swept(a: np.ndarray, b: np.ndarray, yaw: np.ndarray, offset: float, half: float
           ) -> np.ndarray:
    """Per leg the quadrilateral a line ``offset`` ahead, ``half`` each side, sweeps."""
    c, s = np.cos(yaw), np.sin(yaw)
    ox, oy = offset * c, offset * s
    sx, sy = -half * s, half * c
    corners = np.stack([
        np.column_stack([a[:, 0] + ox + sx, a[:, 1] + oy + sy]),
        np.column_stack([a[:, 0] + ox - sx, a[:, 1] + oy - sy]),
        np.column_stack([b[:, 0] + ox - sx, b[:, 1] + oy - sy]),
        np.column_stack([b[:, 0] + ox + sx, b[:, 1] + oy + sy]),
    ], axis=1)
    return shapely.polygons(corners)


class _Replay:
    """The ground each leg of a path has seen (boom) and processed (tool), by leg index.

    A straight run of legs (a lane resampled every ``waypoint_spacing_m``) sweeps what one
    leg over its length would: the ground earlier legs swept (:meth:`seen_before`,
    :meth:`stood_before`) is the union of one swath per straight run, not of dozens of
    abutting pieces (a union's cost grows with its parts: most of the lead-ins' time).
    """

    def __init__(self, xy: np.ndarray, work: np.ndarray, facing: np.ndarray,
                 g: LeadGeometry, before: Optional[Tuple['_Replay', np.ndarray]] = None
                 ) -> None:
        """``before``: the replay of the path this one is with back-ups inserted into
        (:func:`_with_back_ups`), and the new index of each of its legs: their swaths are
        the same (the same ends, facing and work), taken from it and not built again (a
        10 ha plan has 10^5 legs)."""
        a, b = xy[:-1], xy[1:]
        moving = np.hypot(*(b - a).T) > _EPS
        self.seen_idx = np.flatnonzero(moving)
        tool = moving & work[:-1]
        self.tool_idx = np.flatnonzero(tool)

        def layer(idx: np.ndarray, name: str, build) -> np.ndarray:
            if before is None:
                return build(idx)
            old, new_of_old = before
            return _carried(idx, new_of_old[getattr(old, name + '_idx')],
                            getattr(old, name), build)
        self.seen = layer(self.seen_idx, 'seen', lambda legs: _swept(
            a[legs], b[legs], facing[legs], g.sensor_offset_x_m, g.seen_half_m))
        self.tool = layer(self.tool_idx, 'tool', lambda legs: _swept(
            a[legs], b[legs], facing[legs], g.tool_offset_x_m, 0.5 * g.tool_width_m))
        # the tracks' swept rectangle per leg, from half their length behind its start to
        # half their length past its end (along the leg: the same forward or in reverse)
        self.driven = layer(self.seen_idx, 'driven', lambda legs: _driven(a[legs], b[legs], g))
        self.driven_idx = self.seen_idx
        self._seen_tree = shapely.STRtree(self.seen)
        self._tool_tree = shapely.STRtree(self.tool)
        self._driven_tree = shapely.STRtree(self.driven)
        self._xy, self._facing, self._g = xy, facing, g
        # per leg: whether the next leg goes straight on from it (its heading and facing)
        d = b - a
        heading = np.arctan2(d[:, 1], d[:, 0])
        self._straight_on = ((np.abs(np.diff(heading)) <= _STRAIGHT_RAD)
                             & (np.abs(np.diff(facing[:-1])) <= _STRAIGHT_RAD))

    def _runs(self, legs: np.ndarray, layer: str) -> List[Polygon]:
        """The swaths of ``legs`` (indices, each a moving leg) of ``layer`` ('seen', 'tool',
        'driven'), one per straight run of consecutive legs among them."""
        if not len(legs):
            return []
        legs = np.sort(legs)
        joined = (np.diff(legs) == 1) & self._straight_on[legs[:-1]]
        starts = np.concatenate([[0], np.flatnonzero(~joined) + 1])
        ends = np.concatenate([starts[1:], [len(legs)]]) - 1
        a, b = self._xy[legs[starts]], self._xy[legs[ends] + 1]
        yaw, g = self._facing[legs[starts]], self._g
        if layer == 'seen':
            return list(_swept(a, b, yaw, g.sensor_offset_x_m, g.seen_half_m))
        if layer == 'tool':
            return list(_swept(a, b, yaw, g.tool_offset_x_m, 0.5 * g.tool_width_m))
        return list(_driven(a, b, g))

    def seen_before(self, k: int, geom: Polygon):
        """Ground of ``geom`` the boom or the tool swept on the legs before ``k``."""
        parts = []
        for tree, idx, layer in ((self._seen_tree, self.seen_idx, 'seen'),
                                 (self._tool_tree, self.tool_idx, 'tool')):
            legs = idx[tree.query(geom)]
            parts += self._runs(legs[legs < k], layer)
        return robust(shapely.union_all, parts) if parts else Polygon()

    def covered_before(self, k: int, points: np.ndarray) -> np.ndarray:
        """Which of ``points`` (shapely points) the legs before ``k`` swept with the boom or
        the tool or drove on with the tracks (:meth:`seen_before`, :meth:`stood_before`)."""
        hit = np.zeros(len(points), dtype=bool)
        for tree, idx in ((self._seen_tree, self.seen_idx), (self._tool_tree, self.tool_idx),
                          (self._driven_tree, self.seen_idx)):
            left = np.flatnonzero(~hit)       # each tree asked only about points left open
            if not len(left):
                break
            pt, poly = tree.query(points[left], predicate='intersects')
            hit[left[pt[idx[poly] < k]]] = True
        return hit

    def stood_before(self, k: int, geom: Polygon, driven: bool = True):
        """Ground of ``geom`` the tool processed or (``driven``) the tracks drove on the legs
        before ``k`` (backing up along the machine's own track is the recovery an operator
        makes)."""
        layers = [(self._tool_tree, self.tool_idx, 'tool')]
        if driven:
            layers.append((self._driven_tree, self.seen_idx, 'driven'))
        parts = []
        for tree, idx, layer in layers:
            legs = idx[tree.query(geom)]
            parts += self._runs(legs[legs < k], layer)
        return robust(shapely.union_all, parts) if parts else Polygon()


def _carried(idx: np.ndarray, kept_at: np.ndarray, kept: np.ndarray, build) -> np.ndarray:
    """Per leg of ``idx`` (sorted leg indices) its polygon: ``kept[i]`` for the leg at
    ``kept_at[i]`` (each one of ``idx``), ``build`` (leg indices -> polygons) for the rest."""
    out = np.empty(len(idx), dtype=object)
    at = np.searchsorted(idx, kept_at)
    assert not len(at) or (at.max() < len(idx) and np.array_equal(idx[at], kept_at))
    out[at] = kept
    fresh = np.ones(len(idx), dtype=bool)
    fresh[at] = False
    if fresh.any():
        out[fresh] = build(idx[fresh])
    return out


def _driven(a: np.ndarray, b: np.ndarray, g: LeadGeometry) -> np.ndarray:
    """Per leg a -> b the rectangle the tracks sweep, from half their length behind its start
    to half their length past its end (along the leg: the same forward or in reverse)."""
    d = b - a
    heading = np.arctan2(d[:, 1], d[:, 0])
    half_len = 0.5 * g.track_length_m * np.column_stack([np.cos(heading), np.sin(heading)])
    return _swept(a - half_len, b + half_len, heading, 0.0, g.contact_half_width_m)


def lowerings(xy: np.ndarray, work: np.ndarray, facing: np.ndarray, corner_angle_rad: float,
              start_yaw: Optional[float]) -> List[int]:
    """Indices of the legs on which the tool goes down (a work leg after a transit, a reverse
    or a pivot). The first leg counts only after a pivot from ``start_yaw`` (a re-plan
    while working goes on straight with the tool down; None: the machine's facing unknown)."""
    d = np.diff(xy, axis=0)
    heading = np.arctan2(d[:, 1], d[:, 0])
    moving = np.hypot(d[:, 0], d[:, 1]) > _EPS
    reverse = np.abs(np.angle(np.exp(1j * (facing[:-1] - heading)))) > 0.5 * math.pi
    out: List[int] = []
    prev: Optional[int] = None
    for k in np.flatnonzero(moving):
        k = int(k)
        if work[k] and not reverse[k]:
            if prev is None:
                down = start_yaw is None or _turned_beyond(start_yaw, float(facing[k]),
                                                           corner_angle_rad)
            else:
                down = (not work[prev]) or bool(reverse[prev]) or _turned_beyond(
                    float(facing[prev]), float(facing[k]), corner_angle_rad)
            if down:
                out.append(k)
        prev = k
    return out


def add_lead_ins(xy: np.ndarray, work: np.ndarray, facing: np.ndarray, g: LeadGeometry, *,
                 field, processed=None, safe=None, keep_out=None, fence=None,
                 start_yaw: Optional[float] = None, outside_safe: bool = False,
                 scanned=None, driven=None, suspects=None
                 ) -> Tuple[np.ndarray, np.ndarray, np.ndarray, LeadIns]:
    """Back up before each lowering whose lead band is blind, where the ground allows.

    :param xy: the path for base_link (N x 2); ``work[i]``: the leg from i is a work leg;
        ``facing[i]``: the machine's yaw on it (+pi against the leg: driven in reverse).
    :param field: the hazard field: only its ground is searched for blind lead bands.
    :param processed: ground processed before the path (shapely; None: none).
    :param safe: declared safe ground; ``keep_out``: ground the hull never enters (exclusion
        and no-go zones); ``fence``: the geofence base_link stays in (None: none).
    :param outside_safe: a back-up may put the tracks anywhere outside the field (the
        surroundings are the machine's turning ground); else only where ``safe`` says, and
        (``g.back_up_outside``) outside the field where no back-up on that ground sees the
        whole band and one out there leaves less of it blind: the tracks then press ground
        outside the hazard area, not declared safe, instead of the flail striking the field's
        ground nothing has looked at. The field is the confirmed hazardous area (IMAS 07.11,
        land release: drawn round the evidence of mines), so its unseen ground is the likelier
        to hold a mine; the planner's corner turns make the same choice
        (:meth:`~demining_control.coverage.planner._Planner._corner_turns`). Such back-ups
        are listed in :attr:`LeadIns.outside`; the path check counts their tracks as
        footprint violations outside the field (not field violations).
    :param scanned: ground the sensor boom swept before the path (shapely; None: none):
        seen for the lead bands and the pivots' tracks (:func:`blind_pivots`,
        :func:`start_pivot`). A band the boom swept on an earlier plan needs no back-up: a
        re-plan from where the machine stands lowered the flail over ground it had looked
        at as blind (and, with no back-up fitting, kept it), while it also lowered it over
        ground nothing had looked at. The back-ups' tracks go on processed, declared safe or
        their own driven ground; only where no such back-up sees the whole band (with
        ``g.back_up_scanned``) onto ground the boom swept, before the path or on its earlier
        legs, listed in :attr:`LeadIns.scanned`: a footprint violation the path check
        counts, on ground whose AT mines would have been found, instead of the flail
        striking ground nothing has looked at (bench/missions.py gen_at_uxo_lanes seed 1 at
        5e078c9: the flail lowered after a pivot set off a TM-62M 16 cm deep that the boom
        had never passed over).
    :param suspects: the detected suspects' discs (shapely; None: none): a back-up onto
        scanned ground never presses them.
    :param driven: ground the machine drove on before the path (its trail; None: none): its
        tracks' own ground, covered for the pivot onto the first leg (:func:`start_pivot`)
        as a leg's tracks are for the pivots after it.
    :returns: the path with the back-ups inserted (a reverse leg, tool raised, facing the
        work leg; then the work leg from the backed-up pose) and what was done, with the
        final path's blind pivots (:func:`blind_pivots`, the start pivot from ``start_yaw``
        included).
    """
    xy = np.asarray(xy, dtype=float)
    work = np.asarray(work, dtype=bool)
    facing = np.asarray(facing, dtype=float)
    report = LeadIns()
    if len(xy) < 2:
        return xy, work, facing, report
    field = field if hasattr(field, 'geom_type') else Polygon(field)
    known = _seen(processed, safe)
    seen = known if scanned is None or scanned.is_empty else robust(
        shapely.union, known, scanned)
    # where a back-up may press the field's unprocessed ground as a last resort: scanned
    # before the path (the path's own boom swaths are added per lowering), no suspect on it
    pressable = None
    if g.back_up_scanned:
        pressable = Polygon() if scanned is None or scanned.is_empty else scanned
        if suspects is not None and not suspects.is_empty and not pressable.is_empty:
            pressable = robust(shapely.difference, pressable, suspects)
    replay = _Replay(xy, work, facing, g)
    inserts: List[Tuple[int, np.ndarray]] = []
    for k in lowerings(xy, work, facing, g.corner_angle_rad, start_yaw):
        x, y, yaw = float(xy[k, 0]), float(xy[k, 1]), float(facing[k])

        def blind(back: float) -> float:
            rest = blind_ground(x - back * math.cos(yaw), y - back * math.sin(yaw), yaw, g,
                                field=field, seen=seen)
            if rest.is_empty:
                return 0.0
            return float(robust(shapely.difference, rest, replay.seen_before(k, rest)).area)

        area = blind(0.0)
        if area <= BLIND_TOLERANCE_M2:
            continue
        back, left, out_m2, on_scanned = _back_up(
            x, y, yaw, k, g, blind, replay, field, known, safe, keep_out, fence, outside_safe,
            area, pressable, suspects)
        if left > BLIND_TOLERANCE_M2:
            report.blind.append(((x, y), left))
        if back is None:
            continue
        report.added.append(((x, y), back))
        if out_m2 > 0.0:
            report.outside.append(((x, y), out_m2))
        if on_scanned:
            report.scanned.append(((x, y), back))
        inserts.append((k, np.array([x - back * math.cos(yaw), y - back * math.sin(yaw)])))
    if inserts:
        legs = np.arange(len(xy) - 1)
        xy, work, facing = _with_back_ups(xy, work, facing, inserts)
        # the path's legs move on by the two legs of each back-up before them; replayed
        # again with their swaths kept
        new_of_old = legs + 2 * np.searchsorted([k for k, _ in inserts], legs, side='right')
        replay = _Replay(xy, work, facing, g, before=(replay, new_of_old))
    report.start_pivot = start_pivot(xy, facing, g, start_yaw, field=field, known=seen
                                     if driven is None or driven.is_empty
                                     else robust(shapely.union, seen, driven))
    report.blind_pivots = ([report.start_pivot] if report.start_pivot else []) + blind_pivots(
        xy, work, facing, g, field=field, known=seen, replay=replay)
    return xy, work, facing, report


def lead_in_ahead(path: np.ndarray, work: np.ndarray, k: int, pose: Tuple[float, float, float],
                  g: LeadGeometry, *, field, scanned=None, processed=None, safe=None,
                  keep_out=None, fence=None, suspects=None
                  ) -> Tuple[Optional[Tuple[np.ndarray, np.ndarray]], LeadIns]:
    """The lead-in of the path's next lowering judged again where the machine is, against
    the ground the boom has scanned: (the remaining path and its work flags with a back-up
    before it, or None when it needs none or none fits; what :func:`add_lead_ins` did).

    A plan judges its lowerings against its own boom swaths as planned, a repair keeps lanes
    whose lowerings it does not judge at all, and the machine drives off its plan by tenths
    of a metre: bench/missions.py gen_random seed 8 lowered the flail after a repair with a
    TM-62P in its lead band that the plan's earlier leg had swept at its edge, 1.45 m off the
    line, and the boom driven 0.2 m off it never saw (a detonation). Here the band of the
    lowering at leg ``k`` of ``path`` (N x 3: x, y and the facing on the leg from each row;
    ``work`` its N flags) is judged against ``scanned`` (the boom's swept ground at the
    driven poses; the caller narrows it by a margin), ``processed`` and ``safe``, and the
    stretch from ``pose`` to the lowering (driven next); the back-up, when one is needed,
    is searched as :func:`add_lead_ins` searches a plan's (the remaining path's earlier legs
    are driven: only processed, declared safe and, as a last resort, scanned ground take the
    tracks).
    """
    path = np.asarray(path, dtype=float)
    x, y, yaw = (float(v) for v in pose)
    k = int(k)
    facing_in = float(path[k - 1, 2]) if k >= 1 else yaw
    # the stretch to the lowering (tool as it is: not judged here), the lowering's leg
    head = np.vstack([[x, y, facing_in], path[k:k + 2]])
    flags = np.array([False, bool(work[k]), bool(work[k + 1]) if k + 1 < len(work) else False])
    xy, new_work, facing, report = add_lead_ins(
        head[:, :2], flags, head[:, 2], g, field=field, processed=processed, safe=safe,
        keep_out=keep_out, fence=fence, start_yaw=None, scanned=scanned, suspects=suspects)
    if not report.added:
        return None, report
    # pose, lowering point, backed-up point, lowering point: then the path goes on from k
    rows = np.column_stack([xy, facing])[:4]
    if suspects is not None and not suspects.is_empty:
        if head_presses(rows, yaw, g, suspect_hazard(suspects, processed, safe)):
            # the band stays as blind as before the back-up: the caller plans round it
            band = blind_ground(float(path[k, 0]), float(path[k, 1]), float(path[k, 2]), g,
                                field=field, seen=_seen(scanned, processed, safe))
            return None, LeadIns(blind=[(report.added[0][0], float(band.area))])
    flags_out = new_work[:4].copy()
    flags_out[0] = bool(work[k - 1]) if k >= 1 else False
    return (np.vstack([rows, path[k + 1:]]),
            np.concatenate([flags_out, np.asarray(work[k + 1:], dtype=bool)])), report


def head_presses(rows: np.ndarray, yaw: float, g: LeadGeometry, hazard) -> bool:
    """Whether driving ``rows`` (N x 3: x, y and the facing on the leg from each row) from
    facing ``yaw`` at the first puts a track on ``hazard`` (detected suspects' ground not
    processed nor declared safe) it does not stand on at the start: each pivot onto a leg
    and each leg, as the follower drives them (a leg facing against its direction in
    reverse), judged as the safety supervisor judges a track on a suspect
    (:class:`.coverage.no_go.SuspectPress`).

    A lowering's back-up judged where the machine is starts with a leg from its pose that no
    plan judged: bench/missions.py gen_random seed 67 pivoted onto it with a rear track over
    a detected PMN 2.2 m away (an AP detonation under the track).
    """
    if hazard is None or hazard.is_empty or len(rows) < 2:
        return False
    press = _press(hazard, g)
    x, y = float(rows[0, 0]), float(rows[0, 1])
    reach = float(np.hypot(*np.diff(rows[:, :2], axis=0).T).sum())
    if not press.near(x, y, reach):
        return False
    start = press.outline(x, y, yaw)
    outlines: List[Polygon] = []
    for i in range(len(rows) - 1):
        dx, dy = rows[i + 1, 0] - rows[i, 0], rows[i + 1, 1] - rows[i, 1]
        length = math.hypot(dx, dy)
        if length < BACK_STEP_M:
            continue        # a leg this short ends within the follower's corner reach: no pivot
        facing, reverse = driven_facing(rows[i, :2], rows[i + 1, :2], float(rows[i, 2]))
        px, py = float(rows[i, 0]), float(rows[i, 1])
        outlines += _pivot_outlines(press, px, py, yaw, facing)
        rear, front, half = press.tracks
        d = -length if reverse else length
        outlines.append(footprint(px, py, facing, rear + max(0.0, -d), front + max(0.0, d),
                                  half))
        yaw = facing
    return press.presses(start, outlines)


def driven_facing(a, b, facing: float) -> Tuple[float, bool]:
    """How the follower drives the leg from ``a`` to ``b`` planned with ``facing``: (the
    machine's yaw on it, whether in reverse: a facing against the leg's direction)."""
    heading = math.atan2(float(b[1]) - float(a[1]), float(b[0]) - float(a[0]))
    reverse = abs(math.remainder(facing - heading, math.tau)) > 0.5 * math.pi
    return (heading + math.pi if reverse else heading), reverse


def pivot_presses(x: float, y: float, yaw0: float, yaw1: float, g: LeadGeometry,
                  hazard) -> bool:
    """Whether pivoting on base_link at (x, y) from ``yaw0`` to ``yaw1`` the short way puts
    a track on ``hazard`` it does not stand on at the start (:func:`head_presses`)."""
    if hazard is None or hazard.is_empty:
        return False
    press = _press(hazard, g)
    if not press.near(x, y, 0.0):
        return False
    return press.presses(press.outline(x, y, yaw0), _pivot_outlines(press, x, y, yaw0, yaw1))


def _pivot_outlines(press: SuspectPress, x: float, y: float, yaw0: float,
                    yaw1: float) -> List[Polygon]:
    """The tracks' outlines every :data:`_PRESS_STEP_RAD` of a pivot at (x, y) from ``yaw0``
    to ``yaw1`` the short way (none when it turns by nothing)."""
    turn = math.remainder(yaw1 - yaw0, math.tau)
    if abs(turn) <= _EPS:
        return []
    steps = max(1, int(math.ceil(abs(turn) / _PRESS_STEP_RAD)))
    return [press.outline(x, y, yaw0 + turn * j / steps) for j in range(1, steps + 1)]


def suspect_hazard(suspects, *allowed):
    """The suspects' ground (a geometry) a track may not press: less the ``allowed`` ground
    (processed, declared safe; None or empty ones skipped)."""
    hazard = suspects
    for geom in allowed:
        if geom is not None and not geom.is_empty and not hazard.is_empty:
            hazard = robust(shapely.difference, hazard, geom)
    return hazard


def _press(hazard, g: LeadGeometry) -> SuspectPress:
    """The supervisor's judgement of a track on ``hazard``, with the tracks' outline (both
    tracks and the belly between) of ``g``."""
    return SuspectPress(hazard, (0.5 * g.track_length_m, 0.5 * g.track_length_m,
                                 g.contact_half_width_m))


def _seen(*geoms):
    """The union of the geometries given (None and empty ones skipped)."""
    return unary_union([geom for geom in geoms if geom is not None and not geom.is_empty])


def _with_back_ups(xy: np.ndarray, work: np.ndarray, facing: np.ndarray,
                   inserts: List[Tuple[int, np.ndarray]]
                   ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The path with a back-up before each lowering of ``inserts`` (leg index, the pose
    backed up to): a reverse leg, tool raised, facing the work leg, then the work leg."""
    out_xy, out_work, out_facing = [], [], []
    last = 0
    for k, where in inserts:
        out_xy += [xy[last:k + 1], where[None, :]]
        out_work += [work[last:k], [False, True]]
        out_facing += [facing[last:k], [facing[k], facing[k]]]
        last = k
    out_xy.append(xy[last:])
    out_work.append(work[last:])
    out_facing.append(facing[last:])
    return (np.vstack(out_xy), np.concatenate(out_work).astype(bool),
            np.concatenate(out_facing))


def blind_pivots(xy: np.ndarray, work: np.ndarray, facing: np.ndarray, g: LeadGeometry, *,
                 field, known=None, replay: Optional[_Replay] = None
                 ) -> List[Tuple[XY, float]]:
    """Pivots between the path's legs whose tracks sweep ground of the field nothing has
    looked at, with the area (the start pivot onto the first leg: :func:`start_pivot`).

    In a pivot the tracks' ends swing out to the disc of ``hypot(track_length_m / 2,
    contact_half_width_m)`` (2.2 m on the shipped carrier), past the boom's half width (1.6 m)
    and behind it: ground there was seen only if the path's earlier legs swept it with the
    boom or the tool, its tracks drove it, or it was ``known`` (processed before the path,
    declared safe, scanned by the boom before). A mine on the rest is one no sensor could have
    found (bench/missions.py gen_random seeds 12 and 23: a TM-62M under a rear track corner).
    Counted and reported, not avoided: the fix is a plan that turns where the disc has been
    seen. The unseen part is the band between the boom's half width and the disc beside the
    line the machine came along, i.e. the neighbouring strip, so moving the pivot along its
    legs does not clear it (docs/architecture.md, "tracks_on_unscanned_m2").
    """
    field = field if hasattr(field, 'geom_type') else Polygon(field)
    known = Polygon() if known is None else known
    d = np.diff(xy, axis=0)
    moving = np.flatnonzero(np.hypot(d[:, 0], d[:, 1]) > _EPS)
    if len(moving) < 2:
        return []
    replay = replay or _Replay(xy, work, facing, g)
    out: List[Tuple[XY, float]] = []
    yaws = np.asarray(facing, dtype=float).tolist()
    for prev, k in zip(moving[:-1].tolist(), moving[1:].tolist()):
        # most legs go straight on: no pivot, nothing swept (asked before any geometry)
        if not is_pivot(yaws[prev], yaws[k], g):
            continue
        x, y = float(xy[k, 0]), float(xy[k, 1])
        rest = _pivot_blind_m2(x, y, yaws[prev], yaws[k], g, field, known,
                               lambda points, k=k: replay.covered_before(k, points))
        if rest > BLIND_TOLERANCE_M2:
            out.append(((x, y), rest))
    return out


def start_pivot(xy: np.ndarray, facing: np.ndarray, g: LeadGeometry,
                start_yaw: Optional[float], *, field, known=None
                ) -> Optional[Tuple[XY, float]]:
    """The pivot from ``start_yaw`` onto the path's first leg, with the ground of the field
    its tracks sweep that nothing has looked at (m^2), when it is blind; else None.

    A re-plan starts at the machine's pose; its first leg rarely goes on as the machine
    faces, so the machine pivots on the spot first (bench/missions.py gen_at_uxo_lanes seed
    1: a third of the tracks on unscanned ground came from such pivots). Nothing of the path
    has looked at ground before it: only ``known`` ground (processed, declared safe, scanned
    by the boom before the plan, driven by the machine's tracks before) is seen. None too
    when ``start_yaw`` is unknown or the turn is not a pivot (within ``corner_angle_rad``:
    the follower drives it as an arc).
    """
    if start_yaw is None:
        return None
    first = _first_moving(xy)
    if first is None:
        return None
    field = field if hasattr(field, 'geom_type') else Polygon(field)
    x, y = float(xy[first, 0]), float(xy[first, 1])
    rest = _pivot_blind_m2(x, y, start_yaw, float(facing[first]), g, field,
                           Polygon() if known is None else known, None)
    return ((x, y), rest) if rest > BLIND_TOLERANCE_M2 else None


def _first_moving(xy: np.ndarray) -> Optional[int]:
    """Index of the path's first leg that moves, or None."""
    if len(xy) < 2:
        return None
    d = np.diff(np.asarray(xy, dtype=float), axis=0)
    moving = np.flatnonzero(np.hypot(d[:, 0], d[:, 1]) > _EPS)
    return int(moving[0]) if len(moving) else None


def is_pivot(yaw0: float, yaw1: float, g: LeadGeometry) -> bool:
    """Whether turning from ``yaw0`` to ``yaw1`` is a pivot: the short way round, by more than
    ``corner_angle_rad`` (within it the follower drives the turn as an arc)."""
    return _turned_beyond(yaw0, yaw1, g.corner_angle_rad)


def _turned_beyond(yaw0: float, yaw1: float, angle: float) -> bool:
    """Whether the short way from ``yaw0`` to ``yaw1`` turns by more than ``angle``."""
    return abs(math.remainder(yaw1 - yaw0, math.tau)) > angle


def pivot_sweep(x: float, y: float, yaw0: float, yaw1: float, g: LeadGeometry):
    """The ground the tracks sweep pivoting on base_link at (x, y) from ``yaw0`` to ``yaw1``
    the short way (empty when the turn is no pivot: :func:`is_pivot`)."""
    if not is_pivot(yaw0, yaw1, g):
        return Polygon()
    turn = math.remainder(yaw1 - yaw0, math.tau)
    half = max(g.contact_half_width_m - g.tolerance_m, 0.0)
    steps = max(1, int(math.ceil(abs(turn) / _PIVOT_STEP_RAD)))
    yaws = yaw0 + turn * np.arange(steps + 1) / steps
    rects = [rectangle(x, y, float(a), 0.5 * g.track_length_m, 0.5 * g.track_length_m, half)
             for a in yaws]
    return unary_union([shapely.convex_hull(shapely.multipoints(np.vstack(pair)))
                        for pair in zip(rects[:-1], rects[1:])])


def pivot_blind_m2(x: float, y: float, yaw0: float, yaw1: float, g: LeadGeometry, *,
                   field, known=None) -> float:
    """Ground of ``field`` the tracks sweep pivoting on base_link at (x, y) from ``yaw0`` to
    ``yaw1`` (:func:`pivot_sweep`) that ``known`` (what the boom scanned, the tool
    processed, the tracks drove, declared safe) does not hold, m^2; 0 within
    :data:`BLIND_TOLERANCE_M2` or when the turn is no pivot."""
    field = field if hasattr(field, 'geom_type') else Polygon(field)
    return _pivot_blind_m2(x, y, yaw0, yaw1, g, field,
                           Polygon() if known is None else known, None)


def _pivot_blind_m2(x: float, y: float, yaw0: float, yaw1: float, g: LeadGeometry, field,
                    known, covered) -> float:
    """Ground of ``field`` a pivot's tracks sweep (:func:`pivot_sweep`) outside ``known`` and
    the points ``covered`` says the path covered before (None: nothing), m^2."""
    swept = pivot_sweep(x, y, yaw0, yaw1, g)
    if swept.is_empty:
        return 0.0
    swept = robust(shapely.intersection, swept, field)
    if not known.is_empty:
        swept = robust(shapely.difference, swept, known)
    if swept.area <= BLIND_TOLERANCE_M2:
        return 0.0
    if covered is None:
        return float(swept.area)
    # what earlier legs covered, sampled on a grid (a union of their many short swaths
    # per pivot cost the planner up to 1.5 s on a 0.5 ha field)
    minx, miny, maxx, maxy = swept.bounds
    gx, gy = np.meshgrid(np.arange(minx + 0.5 * _PIVOT_CELL_M, maxx, _PIVOT_CELL_M),
                         np.arange(miny + 0.5 * _PIVOT_CELL_M, maxy, _PIVOT_CELL_M))
    inside = shapely.contains_xy(swept, gx, gy)
    points = shapely.points(gx[inside], gy[inside])
    return float(np.count_nonzero(~covered(points))) * _PIVOT_CELL_M ** 2


def start_moves(x: float, y: float, yaw: float, g: LeadGeometry, max_m: float, *, field,
                known=None, seen=None, driven=None, safe=None, keep_out=None, fence=None,
                outside_safe: bool = False) -> List[Tuple[float, float]]:
    """Straight moves from the start pose before its pivot: (metres, + ahead, - in reverse;
    the ground of the field the tracks' pivot disc there holds that nothing has seen, m^2).

    Where the pivot at the start is blind (:func:`start_pivot`) the machine may first move
    straight, tool raised, as it faces, to where the disc its tracks sweep in any pivot has
    been looked at: back along its own trail, or on over processed ground, as an operator
    turns where the ground round the machine is known. Each move, in :data:`START_MOVE_STEP_M`
    steps up to ``max_m`` either way, keeps base_link in ``fence``, the hull out of
    ``keep_out`` and the tracks on ground ``known`` (processed, declared safe), ``driven``
    (the machine's own trail) or, when ``outside_safe``, outside the field; a way stops at
    its first step that does not. The disc (radius ``hypot(track_length_m / 2,
    contact_half_width_m)``, the tracks' reach in a pivot of any angle) counts ``seen``
    ground (``known`` and what the boom scanned before), ``driven`` ground and what the
    boom sweeps on a move ahead as looked at.
    """
    field = field if hasattr(field, 'geom_type') else Polygon(field)
    half = max(g.contact_half_width_m - g.tolerance_m, 0.0)
    radius = math.hypot(0.5 * g.track_length_m, half)
    # only the ground round the moves matters: the overlays below are cut to it
    reach = max_m + max(radius, g.footprint_front_m, g.footprint_rear_m,
                        g.sensor_offset_x_m) + BACK_STEP_M
    local = shapely.box(x - reach, y - reach, x + reach, y + reach)

    def near(geom):
        if geom is None or geom.is_empty:
            return Polygon()
        return robust(shapely.intersection, geom, local)
    field, safe, driven = near(field), near(safe), near(driven)
    stand = robust(shapely.union_all, [near(known), driven])
    looked = robust(shapely.union_all, [near(seen), near(known), driven])
    c, s = math.cos(yaw), math.sin(yaw)
    out: List[Tuple[float, float]] = []
    steps = int(math.floor(max_m / START_MOVE_STEP_M + _EPS))
    for sign in (-1.0, 1.0):
        for i in range(1, steps + 1):
            d = i * START_MOVE_STEP_M
            px, py = x + sign * d * c, y + sign * d * s
            if fence is not None and not fence.covers(shapely.Point(px, py)):
                break
            # the ground the hull newly covers and the tracks newly press on the way
            if sign < 0.0:
                hull = rectangle(x, y, yaw, g.footprint_rear_m + d, -g.footprint_rear_m,
                                 g.footprint_half_width_m)
                tracks = rectangle(x, y, yaw, 0.5 * g.track_length_m + d,
                                   -0.5 * g.track_length_m, half)
            else:
                hull = rectangle(x, y, yaw, -g.footprint_front_m, g.footprint_front_m + d,
                                 g.footprint_half_width_m)
                tracks = rectangle(x, y, yaw, -0.5 * g.track_length_m,
                                   0.5 * g.track_length_m + d, half)
            if keep_out is not None and not keep_out.is_empty and \
                    Polygon(hull).intersects(keep_out):
                break
            tracks = Polygon(tracks)
            bare = robust(shapely.difference, robust(shapely.intersection, tracks, field), stand)
            off = Polygon() if outside_safe else robust(
                shapely.difference, robust(shapely.difference, tracks, field),
                robust(shapely.union, safe, driven))
            if bare.area + off.area > BLIND_TOLERANCE_M2:
                break
            disc = robust(shapely.intersection, shapely.Point(px, py).buffer(radius), field)
            ahead = looked
            if sign > 0.0:
                # driving on, the boom sweeps the ground ahead before the pivot
                ahead = robust(shapely.union, looked, Polygon(rectangle(
                    x, y, yaw, -g.sensor_offset_x_m, g.sensor_offset_x_m + d,
                    g.seen_half_m)))
            out.append((sign * d, float(robust(shapely.difference, disc, ahead).area)))
    return out


def back_up_blocked(x: float, y: float, yaw: float, back: float, g: LeadGeometry, keep_out,
                    fence) -> bool:
    """Whether backing up ``back`` from pose (x, y, yaw) puts the hull in ``keep_out`` or
    base_link out of ``fence`` (either None: none). Only the ground the hull newly covers is
    judged: where it stands now the plan has judged."""
    c, s = math.cos(yaw), math.sin(yaw)
    if fence is not None and not fence.covers(shapely.Point(x - back * c, y - back * s)):
        return True
    if keep_out is None or keep_out.is_empty:
        return False
    return Polygon(rectangle(x, y, yaw, g.footprint_rear_m + back, -g.footprint_rear_m,
                             g.footprint_half_width_m)).intersects(keep_out)


def _back_up(x: float, y: float, yaw: float, k: int, g: LeadGeometry, blind, replay: _Replay,
             field, known, safe, keep_out, fence, outside_safe: bool, area: float,
             pressable=None, suspects=None
             ) -> Tuple[Optional[float], float, float, bool]:
    """The back-up before a lowering whose lead band holds ``area`` m^2 nothing has looked
    at: (m or None, the blind area left after it, m^2, the ground its tracks newly press
    outside the field, not declared safe, m^2, whether they press the field's scanned,
    unprocessed ground).

    The shortest back-up after which the band is seen, keeping the tracks on ground
    processed (before the path or by its earlier legs), driven on by its earlier legs
    (inside the field: the machine's own track), declared safe or (when ``outside_safe``)
    outside the field, the hull out of ``keep_out`` and base_link in ``fence``. Where the
    allowed ground ends before the band is all seen, the back-up on it that leaves the least
    blind ground: the band moves back with the machine onto ground seen before (a re-plan of
    bench/missions.py gen_at_uxo_lanes seed 1 lowered the flail over 2.4 m^2 of unseen band
    where a shorter back-up left 0.3 m^2). None (and ``area``) when no step leaves less.
    Failing a full back-up on that ground, with ``g.back_up_outside``, the same search that
    may also put the tracks outside the field (:func:`add_lead_ins`), when it leaves less
    of the band blind. Failing a full one there too, with ``pressable`` (not None), a full
    back-up whose tracks also press the field's ground in ``pressable`` or swept by the
    path's boom before ``k``, off every disc of ``suspects``.
    """
    steps = int(math.ceil(g.max_back_m / BACK_STEP_M - _EPS)) if g.back_up else 0
    band_reach = g.band_back_up_m + _EPS
    best: Tuple[Optional[float], float, float] = (None, area, 0.0)
    # the same steps, the tracks also allowed outside the field (not declared safe)
    wider: Tuple[Optional[float], float, float] = (None, area, 0.0)
    # a full back-up whose tracks press scanned ground of the field (the last resort)
    scan_full: Optional[float] = None
    on_scanned = False
    on_allowed = True
    for i in range(1, steps + 1):
        back = i * BACK_STEP_M
        if back_up_blocked(x, y, yaw, back, g, keep_out, fence):
            break
        # the ground the tracks newly press while backing up
        long = back > band_reach
        tracks = Polygon(rectangle(x, y, yaw, 0.5 * g.track_length_m + back,
                                   -0.5 * g.track_length_m,
                                   g.contact_half_width_m - g.tolerance_m))
        bare = robust(shapely.intersection, tracks, field)
        if not bare.is_empty and not known.is_empty:
            bare = robust(shapely.difference, bare, known)
        # a partial back-up leaves the band partly blind: it is taken only where the
        # tracks stay on processed or declared ground (the machine's own track, enough
        # for a full one, is not allowed ground: check_path counts it)
        own = bare if not bare.is_empty else None
        if not bare.is_empty:
            # past the band's length and a step only onto processed ground: a longer
            # reverse along the machine's own track (ground no tool has processed) adds
            # tracks on the field's unprocessed ground (cratered_field: 8 m more)
            bare = robust(shapely.difference, bare,
                          replay.stood_before(k, bare, driven=not long))
        if bare.area > (_LONG_BARE_M2 if long else BLIND_TOLERANCE_M2):
            if pressable is None or not _scanned_only(bare, pressable, replay, k, suspects):
                break
            on_scanned = True
        out = Polygon() if outside_safe else robust(shapely.difference, tracks, field)
        if not out.is_empty and safe is not None and not safe.is_empty:
            out = robust(shapely.difference, out, safe)
        out_m2 = float(out.area)
        on_allowed = on_allowed and out_m2 <= BLIND_TOLERANCE_M2
        if not (on_allowed or g.back_up_outside):
            break
        left = blind(back)
        if on_scanned:
            if left <= BLIND_TOLERANCE_M2:
                scan_full = back
                break
            continue
        partial_ok = own is None or robust(
            shapely.difference, own, replay.stood_before(k, own, driven=False)).area \
            <= BLIND_TOLERANCE_M2
        if on_allowed:
            if left <= BLIND_TOLERANCE_M2:
                return back, 0.0, 0.0, False
            if left < best[1] - BLIND_TOLERANCE_M2 and partial_ok:
                best = (back, left, 0.0)
        elif left <= BLIND_TOLERANCE_M2:
            wider = (back, 0.0, out_m2)
            break
        elif left < wider[1] - BLIND_TOLERANCE_M2 and partial_ok:
            wider = (back, left, out_m2)
    if wider[1] > BLIND_TOLERANCE_M2 and scan_full is not None:
        return scan_full, 0.0, 0.0, True
    return (*(wider if wider[1] < best[1] - BLIND_TOLERANCE_M2 else best), False)


def _scanned_only(bare, pressable, replay: _Replay, k: int, suspects) -> bool:
    """Whether the tracks' new ground ``bare`` lies on ``pressable`` ground or ground the
    path's boom swept before leg ``k``, off every suspect's disc."""
    if suspects is not None and not suspects.is_empty and bare.intersects(suspects) and \
            robust(shapely.intersection, bare, suspects).area > BLIND_TOLERANCE_M2:
        return False
    rest = bare if pressable.is_empty else robust(shapely.difference, bare, pressable)
    if rest.area <= BLIND_TOLERANCE_M2:
        return True
    return robust(shapely.difference, rest, replay.seen_before(k, rest)).area \
        <= BLIND_TOLERANCE_M2
