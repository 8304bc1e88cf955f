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
  they follow a ring around the field on the headland, or go round each cluster of zones on the
  way a turning reach out; where none avoids unprocessed ground the metres over it are reported.
  Every candidate is judged on the safety supervisor's whole footprint along its legs and through
  its pivots (at its start from the machine's facing, at every bend, onto the next lane), and
  near a zone a run-in or run-out at an angle whose pivot stays clear is tried. Keep-out ground
  outweighs everything else; then metres over ground that is not allowed (unprocessed, or
  outside the field and not declared safe), where each pivot counts the unprocessed ground its
  tracks' disc sweeps; then length. When the best candidate still crosses ground not allowed,
  the cheapest route through allowed ground is searched on a raster
  (:class:`demining_control.coverage.route.AllowedRouter`): e.g. back round a headland ring
  instead of out of the field round a no-go zone.
* Headland corners (no safe surroundings): a pivot at a pass's corner would sweep the
  tracks' disc over ground not yet processed (a 2 m strip cannot hold the 4.4 m disc). The
  passes are driven as one spiral, handing over to the next pass at a corner, and each
  corner is turned as a bulb (run on past it, pivot, back onto the next side's line, pivot)
  whose pivots lie on processed bands or outside the field (:meth:`_Planner._corner_turns`):
  ground outside is not declared safe either, so the turns there are still counted by
  :func:`demining_control.coverage.allowed.check_path`, but the field is confirmed hazardous
  ground and the outside is not (bench/coverage.py ``field_violations``: farmland_rows 15 ->
  1). The innermost pass turns into a lane at a corner where it can (:meth:`_Planner.
  _into_lane`); a pivot on it, the disc reaching into the lanes' ground, is left where it
  cannot (e.g. lanes parallel to its last run). Passes cut by keep-out zones are driven one
  by one, their corners turned alike.
* A segment bounded by exclusion zones at both ends cannot have its start strip processed (the
  base would have to stand in the zone); that strip, ``tool_offset_x_m`` long, is left.
* Where a zone's edge is slanted across a lane band, the rectangle tool stops at the band's
  nearest zone point, leaving a small wedge beside the zone.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable, Collection, List, Optional, Sequence, Tuple

import numpy as np
import shapely
import shapely.prepared
from shapely import affinity
from shapely.geometry import LineString, MultiPoint, MultiPolygon, Point, Polygon, box
from shapely.ops import substring, unary_union
from shapely.validation import explain_validity

from demining_bringup.contract.parameters import ParamError, param
from demining_bringup.contract import vehicle_params
from demining_control.coverage.allowed import rectangle, robust
from demining_control.coverage.lead_in import (BLIND_TOLERANCE_M2, TOOL_DEPTH_M, LeadGeometry,
                                               LeadIns, add_lead_ins, back_up_blocked,
                                               driven_facing, head_presses, lead_band,
                                               pivot_presses, pivot_sweep, start_moves,
                                               suspect_hazard)
from demining_control.coverage.no_go import back_out_point, turn_reach
from demining_control.coverage.route import AllowedRouter

XY = Tuple[float, float]

#: Lane angle value that picks the direction with the fewest lanes.
AUTO = 'auto'
#: Below this, geometry is considered degenerate (m, m^2).
_EPS = 1e-6
#: Input geometry is snapped to a grid (m) before any overlay. GEOS overlays raise
#: ``TopologyException: non-noded intersection`` on vertices a denormal apart (processed
#: ground's edge at y = 2e-311 met a lane at y = 0). The grid is far below the float noise a
#: surveyed polygon carries (a WGS84 round trip leaves ~1e-10 m), which it keeps: a coarser
#: one squared a GeoJSON field's corners and changed which of two equal lane directions won.
#: Polygon corners are rounded to as many decimals (decimal rounding keeps 0.1 as 0.1).
_SNAP_DECIMALS = 12
_SNAP_GRID_M = 10.0 ** -_SNAP_DECIMALS
#: Segments shorter than this are dropped (a sliver the band only grazes), m.
_MIN_SEGMENT_M = 0.05
#: Penalty per metre of transit over unprocessed ground (vs. one metre of detour): tracks on
#: unprocessed ground are what the whole machine design avoids, a detour only costs time.
UNPROCESSED_PENALTY = 1000.0
#: Penalty weight per metre of transit through an exclusion zone.
_EXCLUSION_PENALTY = 1.0e6
#: A gap's sub-plan judges its transits on the field's unprocessed ground this far round the
#: box of the machine and the gap, m: the runs out and in of a transit (at most 4.5 m) and
#: its pivot discs (2.2 m) stay within it, and far ground cannot change the cheapest way; a
#: detour round a large cluster of zones may leave it (its ground then counts as allowed).
_OUTER_REACH_M = 10.0
#: A best transit that crosses more than this of ground not allowed (unprocessed, or outside
#: the field and not declared safe) is searched again through allowed ground, m.
_ROUTE_FALLBACK_M = 1.0
#: Segments of the quarter circle of a pivot disc judged for the ground a pivot sweeps.
_DISC_SEGMENTS = 8
#: How far short of a gap lane's end the tool may start or stop so that the hull stays on
#: known ground (a field's edge a hull length away), m: the sliver left is below
#: :data:`MIN_GAP_M2` for a tool of 2 m.
_RUN_SHORTFALL_M = 0.2
#: A lane whose tool strip is processed to at least this share is not planned again.
_PROCESSED_SHARE = 0.95
#: Round-off slivers thinner than this between headland passes and the boundary are ignored, m.
SLIVER_M = 0.05
#: Steps and longest distance of the straight run-in onto a pass beside a zone, m.
_BACK_OUT_STEP_M = 0.5
_BACK_OUT_MAX_M = 15.0
#: A lane ending at a zone stops the footprint's front this much short of the clearance line:
#: the supervisor refuses a command whose predicted footprint (over its keep-out horizon, at the
#: follower's slowest approach speed) would enter it, m.
STOP_MARGIN_M = 0.3
#: Resolution to which a pass is cut short of a keep-out zone ahead, m.
_CLIP_TOLERANCE_M = 0.05
#: Transit points closer than this to their neighbours are dropped (spurious hops), m.
_MIN_HOP_M = 0.5
#: Rounds of gap re-cover after the main plan (a gap's own lanes or its pass along a zone
#: may leave a smaller gap).
_GAP_ROUNDS = 3
#: What a zone pass leaves of a gap gets lanes when it holds this many tool squares and
#: reaches the field's edge (a strip between a zone and the boundary, where the headland
#: passes are cut); a smaller rest, or one round a hole inside the field, is a wedge whose
#: lanes cost long transits for little ground: the next round's pass or the report takes it.
_MIN_REST_LANES = 2.0
#: Gaps smaller than this are not re-planned (a sliver the tool only grazes), m^2.
MIN_GAP_M2 = 0.5
#: An unprocessed stretch of a headland pass shorter than this (a few grid cells the tool
#: skimmed) is left to the gap re-cover, not driven as a pass of its own, m.
_MIN_STRETCH_M = 0.5
#: Holes in the processed ground narrower than twice this are closed when a headland pass's
#: unprocessed stretches are found, m.
_PINHOLE_M = 0.3
#: Holes and parts of the unprocessed ground this small are overlay round-off (the largest
#: seen: 8e-14), m^2 (:func:`without_slivers`).
_SLIVER_M2 = 1e-6
#: A transit's line is judged against the unprocessed ground within its bounds grown by this
#: (so that an edge along the line is kept whole), m.
_CLIP_PAD_M = 0.1
#: Angles off the facing at which a run-in or run-out near a zone is tried, degrees.
_FAN_STEPS_DEG = (0, 20, 40, 60, 90, 120, 150)
#: Run-ins (run-outs) kept per transit end: the nearest angles to the facing that work.
_FAN_KEEP = 3
#: Detour rings round zones lie this far beyond the footprint's turning reach, m.
_RING_MARGIN_M = 0.25
#: Yaw step at which a pivot's footprint is checked against keep-out zones, rad.
_TURN_STEP_RAD = 0.1
#: A pivot that swings the footprint into a zone counts as this much keep-out ground, m.
_TURN_HIT_M = 1.0
#: Most headland passes a profile may ask for.
_MAX_HEADLAND_PASSES = 20
#: Declared safe ground may miss this share of the outside turning belt and still count as
#: safe surroundings (raster and polygon rounding).
_SAFE_BELT_SHARE = 0.99
#: Runs past a headland corner and back onto the next side's line tried for a corner turn,
#: m (a right-angle corner needs ~2.8 m of each for a 2.2 m pivot disc beside 2 m passes).
_CORNER_RUNS_M = (1.0, 2.0, 2.5, 3.0, 3.5, 4.5)
#: A headland pass hands over to the next where that pass's side line crosses its own, at
#: most this many lane spacings from the next pass's corner (else they are driven apart).
_HANDOVER_SPACINGS = 3.0
#: Headings off a lane's own of a straight run onto the lane's start tried when the pivot
#: there would sweep ground nothing has looked at, degrees (0: a run-in along the lane's line;
#: a lane that starts with its hull's rear at a zone has the zone behind it).
_APPROACH_DEG = (0, 30, 60, 90)
#: Runs onto a lane's start costed in full (a transit each): the least blind ones.
_APPROACH_KEEP = 3
#: Unprocessed ground of the field a corner turn's pivots may sweep and still count as none
#: (polygon round-off: one cell of the 0.1 m allowed-ground raster), m^2.
_CORNER_SLIVER_M2 = 0.01
#: Moves before a blind start pivot planned again at most (each is a whole plan's time).
_START_MOVE_TRIES = 1
#: Plans made again at most with the places of the last one's blind tool lowerings avoided
#: as starts of lanes and headland stretches (each is a whole plan's time: :func:`_unblind`).
_UNBLIND_TRIES = 2
#: A lane or side lowers the tool at an avoided place when that lies this near its line,
#: from this ahead of its start to a run-in behind it, m (:func:`_lowers_at`; the lowering is
#: at a waypoint: half the planner's waypoint spacing, and round-off).
_AVOID_RADIUS_M = 0.3
#: A lowering is at an avoided place only when it faces within this of the avoided one, rad.
_AVOID_YAW_RAD = math.radians(10.0)
#: Cost of a lane start at an avoided place, as metres of transit: a metre over unprocessed
#: ground (:data:`UNPROCESSED_PENALTY`), never a keep-out zone's (:data:`_EXCLUSION_PENALTY`).
_AVOID_PENALTY = UNPROCESSED_PENALTY


#: Why a gap's lane or pass is left: the machine cannot reach it without its footprint
#: entering a keep-out zone (a pocket between close zones).
_NO_CLEAN_APPROACH = 'no approach keeps the footprint out of keep-out zones'

#: Why a gap beside a keep-out zone gets no lane.
_BESIDE_ZONE = ("beside a keep-out zone: the tool's strip over it would touch the zone's "
                'clearance')

#: Why ground is left after the last round of gap re-cover.
_LEFT_AFTER_RECOVER = ('left after the gap re-cover: a wedge beside a keep-out zone or a field '
                       'corner no lane or pass reaches')

#: Grid the inputs are snapped to for the second try when GEOS fails on a plan's own
#: intermediate geometry, m (a millimetre: far below the 0.2 m raster the plans are judged on,
#: far above the float noise that makes GEOS's overlay fail).
FALLBACK_GRID_M = 1e-3
#: Note of a plan made on :data:`FALLBACK_GRID_M` (the planner node logs it).
GEOMETRY_FALLBACK = ('the first plan failed in a geometry overlay (GEOS): planned again on '
                     'the inputs snapped to a 1 mm grid')
#: Why a plan has no headland passes although they were asked for ('auto').
NO_HEADLAND = ('no headland pass fits (every pass comes within the tool\'s reach of a keep-out '
               'zone): the lanes turn outside the field, on ground not declared safe')

#: The planning error when every lane is already processed.
NOTHING_LEFT = 'nothing left to process'
#: Why a plan fails when unprocessed ground is left but none of it can be reached.
CUT_OFF = ('the remaining ground is cut off from the machine by keep-out zones (exclusion or '
           'no-go): left for manual clearance')


class PlanningError(ValueError):
    """The area cannot be planned (invalid polygon, nothing to cover)."""


@dataclasses.dataclass(frozen=True)
class CoverageParams:
    """Parameters of the coverage planner."""

    tool_width_m: float = vehicle_params.tool_width_m()
    tool_offset_x_m: float = vehicle_params.tool_offset_x_m()
    sensor_offset_x_m: float = vehicle_params.sensor_offset_x_m()
    sensor_width_m: float = vehicle_params.sensor_width_m()
    # A back-up moves the lane that follows by centimetres across: on the small field of
    # test/integration/test_mission.py it put a TS-50 2 cm deep 6-10 cm from the nearest GPR
    # channel and MD coil instead of 0.6 cm (weaker looks: GPR z 8 instead of 27; over DDS
    # the MD fitted 17-25 g at 21 cm, which docs/architecture.md "Vehicle concept" tells).
    # The reversal itself does not weaken the GPR: with the weak MD looks' metal checked
    # against the GPR's depth (fusion/core.py) the test passed 25 of 26 runs with back-ups.
    lead_in_back_up: bool = param(True, 'back up before a tool lowering whose band ahead the '
                                  'boom has not scanned (coverage/lead_in.py); false: such '
                                  'lowerings are only counted and logged')
    lead_in_back_up_outside: bool = param(
        True, 'where no back-up on processed or declared safe ground sees the whole band, '
        'one whose tracks leave the field (never keep-out, inside the geofence) is taken '
        'when it leaves less of the band blind (coverage/lead_in.py add_lead_ins)')
    lead_in_back_up_scanned: bool = param(
        True, 'where no back-up on processed, declared safe or outside ground sees the whole '
        "band, one whose tracks press the field's ground the boom has scanned (never a "
        "detected suspect) is taken instead of lowering the tool over ground nothing has "
        'looked at (coverage/lead_in.py add_lead_ins)')
    lead_in_back_up_max_m: float = param(
        5.0, 'longest back-up tried before a blind tool lowering (never less than the lead '
        "band's length and 0.2 m): behind a turn of a headland pass the band comes onto the "
        "incoming side's swath only metres back (coverage/lead_in.py LeadGeometry.max_back_m)"
        ', m', min=0.0, max=20.0)
    lead_in_scan_margin_m: float = param(
        0.2, "a boom swath counts as seen only this far inside its edges, for the lead "
        'bands, the pivots and the start moves (coverage/lead_in.py '
        'LeadGeometry.seen_half_m) and when the coverage planner node judges a lowering '
        'again against the ground scanned at the driven poses: the outer GPR channel and MD '
        "coil sit half a pitch inside the boom's edge (0.125 m for 13 on a 3.2 m boom) and "
        'the pose estimate errs by centimetres, m', min=0.0, max=1.0)
    start_move_max_m: float = param(
        6.0, "longest straight move (tool raised, as the machine faces, over processed, "
        "declared safe or its own driven ground) before a plan's first pivot when pivoting "
        "where the machine stands would sweep the tracks over ground no sensor has looked at "
        '(coverage/lead_in.py start_moves); 0: pivot where it stands, m', min=0.0, max=30.0)
    suspect_pivot_penalty_m2: float = param(
        50.0, 'a re-plan knowing the detected suspects (AP and unknown tracks the tool has not '
        'processed: plan_coverage suspects) counts each one in a pivot\'s disc over unprocessed '
        'ground as this much more unprocessed ground there, so its turns keep the tracks off '
        'them while the lanes still process them (a pivot disc is ~15 m^2), m^2', min=0.0,
        max=1e6)
    overlap: float = param(0.1, 'lane overlap as a fraction of the tool width', min=0.0,
                           max=0.5)
    lane_angle_deg: str = param(AUTO, "lane direction, degrees from east (ENU), or 'auto' for "
                                'the direction with the fewest lanes')
    lane_end_margin_m: float = param(1.0, 'extra distance past the boundary at each lane end, m',
                                     min=0.0, max=20.0)
    exclusion_clearance_m: float = vehicle_params.exclusion_clearance_m()
    # the tool line's ends are judged over unprocessed ground this far inside them, as the
    # safety supervisor's interlock judges them
    allowed_ground_tolerance_m: float = vehicle_params.allowed_ground_tolerance_m()
    headland_offset_m: float = param(4.0, 'distance of the headland transit ring outside the '
                                     'field, m', min=0.5, max=50.0)
    waypoint_spacing_m: float = param(0.5, 'spacing of the dense output waypoints, m', min=0.05,
                                      max=5.0)
    working_speed_mps: float = vehicle_params.working_speed_mps()
    transit_speed_mps: float = param(0.8, 'speed on transit legs, m/s', min=0.01, max=5.0)
    pivot_rate_radps: float = param(0.3, 'yaw rate of a pivot turn, for the time estimate, '
                                    'rad/s', min=0.01, max=3.0)
    headland_passes: str = param(AUTO, "passes along the boundary processed first so the "
                                 "machine turns on processed ground, or 'auto' (as many as a "
                                 'pivot of the tracks needs; none when the surroundings are '
                                 'declared safe)')
    track_gauge_m: float = vehicle_params.track_gauge_m()
    track_width_m: float = vehicle_params.track_width_m()
    track_length_m: float = vehicle_params.track_length_m()
    corner_angle_rad: float = vehicle_params.corner_angle_rad()
    reverse_turn_rad: float = vehicle_params.reverse_turn_rad()
    footprint_half_width_m: float = vehicle_params.footprint_half_width_m()
    footprint_front_m: float = vehicle_params.footprint_front_m()
    footprint_rear_m: float = vehicle_params.footprint_rear_m()

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
        if self.headland_passes != AUTO:
            try:
                passes = int(self.headland_passes)
            except ValueError:
                raise ParamError(f"headland_passes: expected 'auto' or a whole number, got "
                                 f'{self.headland_passes!r}') from None
            if not 0 <= passes <= _MAX_HEADLAND_PASSES:
                raise ParamError(f'headland_passes: must be within 0..{_MAX_HEADLAND_PASSES}')

    @property
    def lane_spacing_m(self) -> float:
        """Distance between lane centre lines, m."""
        return self.tool_width_m * (1.0 - self.overlap)

    @property
    def contact_half_width_m(self) -> float:
        """Half the tracks' width over their outer edges, m."""
        return 0.5 * (self.track_gauge_m + self.track_width_m)

    @property
    def pivot_radius_m(self) -> float:
        """Radius of the disc the tracks sweep in a pivot on base_link, m."""
        return math.hypot(0.5 * self.track_length_m, self.contact_half_width_m)

    def auto_headland_passes(self) -> int:
        """Passes whose processed band holds a pivot with the tool just at the boundary."""
        need = self.tool_offset_x_m + self.pivot_radius_m
        return 1 + max(0, int(math.ceil((need - self.tool_width_m) / self.lane_spacing_m)))


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
    facing: np.ndarray          # (N,) machine yaw on the leg from i (+pi on a reverse leg)
    lanes: List[Lane]
    lane_angle_rad: float
    lane_spacing_m: float
    length_m: float
    work_length_m: float        # driven tool down (work flags), m
    transit_length_m: float     # driven tool up, m
    #: Work at ``working_speed_mps``, transit at ``transit_speed_mps``, pivots at
    #: ``pivot_rate_radps``, s (the tool controller governs work legs slower in most soils).
    expected_time_s: float
    transit_over_unprocessed_m: float
    #: Headland passes (closed base_link loops along the boundary), driven before the lanes.
    headland: List[List[XY]] = dataclasses.field(default_factory=list)
    #: Patches of ground to process that no lane reaches, with the reason (for the report).
    unplanned: List[Tuple[Polygon, str]] = dataclasses.field(default_factory=list)
    #: Back-ups before lowerings whose lead band the boom had not seen, and lowerings left
    #: blind (:mod:`demining_control.coverage.lead_in`).
    lead_ins: LeadIns = dataclasses.field(default_factory=LeadIns)
    #: How the plan departs from the parameters asked for (for the log and the report).
    notes: List[str] = dataclasses.field(default_factory=list)

    @property
    def unplanned_m2(self) -> float:
        """Area of the patches no lane reaches (:attr:`unplanned`), m^2."""
        return float(sum(gap.area for gap, _ in self.unplanned))

    def summary(self) -> str:
        """Return a one-line description for logs."""
        return (f'{len(self.lanes)} lane segments at {math.degrees(self.lane_angle_rad):.1f} deg, '
                f'spacing {self.lane_spacing_m:.2f} m, path {self.length_m:.0f} m '
                f'(work {self.work_length_m:.0f} m), expected {self.expected_time_s / 60:.1f} min,'
                f' transit over unprocessed ground {self.transit_over_unprocessed_m:.1f} m, '
                f'{len(self.lead_ins.added)} lead-ins ({len(self.lead_ins.outside)} backing '
                f'out of the field), {len(self.lead_ins.blind)} '
                f'lowerings over unseen ground, {len(self.lead_ins.blind_pivots)} pivots '
                'sweeping it')


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
    pts = [(round(x, _SNAP_DECIMALS), round(y, _SNAP_DECIMALS)) for x, y in pts]
    pts = [p for i, p in enumerate(pts) if p != pts[i - 1]]
    if len(pts) < 3:
        raise PlanningError(f'{what}: a polygon needs at least 3 distinct points')
    poly = Polygon(pts)
    if not poly.is_valid:
        raise PlanningError(f'{what}: invalid polygon ({explain_validity(poly)})')
    if poly.area <= _EPS:
        raise PlanningError(f'{what}: polygon has zero area')
    return poly


def snapped(geom, grid_m: float = _SNAP_GRID_M):
    """Return ``geom`` (a shapely geometry or None) on the planner's input grid (or on
    ``grid_m``)."""
    if geom is None or geom.is_empty:
        return geom
    # denormal inputs set the FPU's divide/invalid flags inside GEOS; the output is valid
    # and finite all the same (the snap removes them), so the flags are not an error here
    with np.errstate(divide='ignore', invalid='ignore'):
        return shapely.set_precision(geom, grid_m)


def without_slivers(geom):
    """``geom`` less the holes and parts of area at most :data:`_SLIVER_M2`: round-off of
    overlays, no ground. Each lane's strip taken from the unprocessed ground leaves such
    holes along coincident edges; gen_random seed 67 held 1,321 of them (1e-15 m^2 each),
    and every transit's overlay with that ground took 60 ms instead of 4: a re-plan 160 s.
    """
    if geom is None or geom.is_empty:
        return geom
    parts = getattr(geom, 'geoms', [geom])
    if not any(p.geom_type == 'Polygon' and (p.area <= _SLIVER_M2 or any(
            _ring_area(r) <= _SLIVER_M2 for r in p.interiors)) for p in parts):
        return geom
    polys = [Polygon(p.exterior, [r for r in p.interiors if _ring_area(r) > _SLIVER_M2])
             for p in parts if p.geom_type == 'Polygon' and p.area > _SLIVER_M2]
    return unary_union(polys) if polys else Polygon()


def _ring_area(ring) -> float:
    """The area a ring encloses (the shoelace formula: also for a degenerate ring of fewer
    than four points, which no polygon can be made of), m^2."""
    xy = np.asarray(ring.coords, dtype=float)
    if len(xy) < 3:
        return 0.0
    x, y = xy[:, 0], xy[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


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


def _ring_paths(ring: LineString, a: Point, b: Point) -> Tuple[List[XY], List[XY]]:
    """Return the ring's vertices from the projection of ``a`` to that of ``b``, each way
    round (forward along the ring, then backward)."""
    total = ring.length
    da, db = ring.project(a), ring.project(b)
    back = LineString(list(ring.coords)[::-1])
    out = []
    for way, d0, d1 in ((ring, da, db), (back, total - da, total - db)):
        if d1 >= d0:
            pts = list(substring(way, d0, d1).coords)
        else:
            pts = list(substring(way, d0, total).coords) + \
                list(substring(way, 0.0, d1).coords)[1:]
        out.append([(float(x), float(y)) for x, y in pts])
    return out[0], out[1]


def _along(lane: Lane) -> float:
    """How far a lane's tool works in its driving direction (negative: not at all), m."""
    dx, dy = lane.end[0] - lane.start[0], lane.end[1] - lane.start[1]
    tx, ty = lane.tool_end[0] - lane.tool_start[0], lane.tool_end[1] - lane.tool_start[1]
    return (dx * tx + dy * ty) / max(math.hypot(dx, dy), _EPS) if math.hypot(dx, dy) > _EPS \
        else -1.0


def _line_xy(line: LineString) -> List[XY]:
    """A line's vertices as python floats."""
    return [(float(x), float(y)) for x, y in line.coords]


def _coords(geom) -> List[XY]:
    """Every vertex of a (multi)polygon's exterior(s)."""
    return [c for g in _polys(geom) for c in g.exterior.coords]


def _backs_out(here: Optional[XY], back_to: Optional[XY]) -> bool:
    """Whether a transit from ``here`` starts by backing out to ``back_to``."""
    return here is not None and back_to is not None and math.dist(here, back_to) > _EPS


def _heading(pts: Sequence[XY], last: bool = False) -> Optional[float]:
    """The heading of a polyline's first (``last``: last) moving segment; None if none."""
    pairs = list(zip(pts[:-1], pts[1:]))
    for a, b in (reversed(pairs) if last else pairs):
        if math.dist(a, b) > _EPS:
            return math.atan2(b[1] - a[1], b[0] - a[0])
    return None


def _facing(xy: np.ndarray, reverse: np.ndarray) -> np.ndarray:
    """The machine's yaw on the leg from each waypoint: the leg's heading, +pi in reverse.

    The last waypoint keeps the yaw of the leg into it; a zero-length leg keeps the yaw before.
    """
    n = len(xy)
    if n < 2:
        return np.zeros(n)
    d = np.diff(xy, axis=0)
    yaw = np.arctan2(d[:, 1], d[:, 0]) + np.where(reverse[:n - 1], math.pi, 0.0)
    moving = np.hypot(d[:, 0], d[:, 1]) > _EPS
    # a zero-length leg takes the yaw of the last moving leg before it (0 at the start)
    idx = np.where(moving, np.arange(n - 1), -1)
    idx = np.maximum.accumulate(idx)
    yaw = np.where(idx >= 0, yaw[np.maximum(idx, 0)], 0.0)
    out = np.empty(n)
    out[:-1] = np.angle(np.exp(1j * yaw))
    out[-1] = out[-2]
    return out


def _retraces_in_reverse(xy: np.ndarray, work: np.ndarray, rev: np.ndarray,
                         corner_angle_rad: float, reverse_turn_rad: float,
                         turn_hits: Optional[Callable[[XY, float, float], bool]] = None
                         ) -> np.ndarray:
    """``rev`` with every transit run that retraces the straight run before it marked reverse.

    Where the path turns back on itself (sharper than ``reverse_turn_rad``: a headland pass
    cut short by a keep-out zone, then the way back along it) the transit costing counts no
    pivot (:meth:`_Planner._pivots_not_allowed_m`): the machine backs out along its own track.
    A run marked forward would make the follower pivot by ~180 degrees there instead, its
    tracks sweeping the disc round the pass's end beside it, which no sensor has seen
    (``bench/coverage.py --quick`` split_by_road: all 4 of its blind pivots). Marked: a run of
    transit legs, up to the next corner, no longer than the straight run it retraces (beyond
    that the tracks would back onto ground the machine never drove).

    ``turn_hits(point, yaw0, yaw1)``: whether a pivot there puts the footprint in a keep-out
    zone (None: no zone). The transit was judged driven forward; backed out, the machine
    faces the other way at the run's end and pivots from there onto the next leg, a sweep
    the transit's judgement never saw (gen_at_uxo_lanes seed 65: the hull's rear through a
    TM-62M's no-go zone). A run whose pivot at its end would hit a zone so, where the pivots
    driven forward would not, stays forward.
    """
    out = np.asarray(rev, dtype=bool).copy()
    d = np.diff(xy, axis=0)
    step = np.hypot(d[:, 0], d[:, 1])
    legs = np.flatnonzero(step > _EPS)
    if len(legs) < 2:
        return out
    heading = np.arctan2(d[legs, 1], d[legs, 0])
    turn = np.abs(np.angle(np.exp(1j * np.diff(heading))))
    corner = np.flatnonzero(turn > corner_angle_rad) + 1      # run starts, in ``legs``
    starts = np.concatenate([[0], corner, [len(legs)]])
    for a, b, c in zip(starts[:-2], starts[1:-1], starts[2:]):
        back, run = legs[b:c], legs[a:b]
        if turn[b - 1] <= reverse_turn_rad or out[run[-1]] or out[back].any() \
                or work[back].any() or step[back].sum() > step[run].sum() + _EPS:
            continue
        if turn_hits is not None and c < len(legs):
            end = tuple(xy[back[-1] + 1])
            if turn_hits(end, heading[b] + math.pi, heading[c]) and not (
                    turn_hits(tuple(xy[back[0]]), heading[b - 1], heading[b])
                    or turn_hits(end, heading[b], heading[c])):
                continue
        out[back] = True
    return out


def _strip(a: np.ndarray, b: np.ndarray, face: float, ahead: float, half: float,
           behind: float = 0.0) -> Polygon:
    """What a line ``ahead`` of base_link along ``face``, ``half`` each side, sweeps while
    base_link drives from ``a`` to ``b`` (run on by ``behind`` either way along the leg)."""
    u = np.array([math.cos(face), math.sin(face)])
    n = np.array([-u[1], u[0]]) * half
    d = b - a
    m = d / max(float(np.hypot(*d)), _EPS) * behind
    a, b = a - m + ahead * u, b + m + ahead * u
    return Polygon([a + n, b + n, b - n, a - n])


def _turns(pts: Sequence[XY], yaw_a: Optional[float], yaw_b: Optional[float]
           ) -> List[Tuple[XY, float, float]]:
    """The pivots of driving ``pts``: (where, heading before, heading after), from ``yaw_a``
    at the start and onto ``yaw_b`` at the end when given, at every bend between."""
    heads = [math.atan2(q[1] - p[1], q[0] - p[0]) for p, q in zip(pts[:-1], pts[1:])
             if math.dist(p, q) > _EPS]
    verts = [p for p, q in zip(pts[:-1], pts[1:]) if math.dist(p, q) > _EPS]
    if not heads:
        return []
    turns = [(verts[0], yaw_a, heads[0])] if yaw_a is not None else []
    turns += [(v, h0, h1) for v, h0, h1 in zip(verts[1:], heads[:-1], heads[1:])]
    if yaw_b is not None:
        turns.append((pts[-1], heads[-1], yaw_b))
    return turns


def _line_cross(a: XY, b: XY, c: XY, d: XY) -> Optional[Tuple[XY, float]]:
    """Where the line through ``a``, ``b`` crosses the line through ``c``, ``d``, and how far
    along ``a`` -> ``b`` (0 at ``a``, 1 at ``b``); None when they are parallel."""
    rx, ry = b[0] - a[0], b[1] - a[1]
    sx, sy = d[0] - c[0], d[1] - c[1]
    den = rx * sy - ry * sx
    if abs(den) < _EPS * max(1.0, math.hypot(rx, ry) * math.hypot(sx, sy)):
        return None
    t = ((c[0] - a[0]) * sy - (c[1] - a[1]) * sx) / den
    return (a[0] + t * rx, a[1] + t * ry), t


def _turn_at(a: XY, b: XY, c: XY) -> float:
    """The heading change at ``b`` driving ``a`` -> ``b`` -> ``c``, rad (0: degenerate)."""
    if math.dist(a, b) < _EPS or math.dist(b, c) < _EPS:
        return 0.0
    h0 = math.atan2(b[1] - a[1], b[0] - a[0])
    h1 = math.atan2(c[1] - b[1], c[0] - b[0])
    return math.atan2(math.sin(h1 - h0), math.cos(h1 - h0))


def _field_m2(area: float) -> float:
    """Unprocessed field ground a pivot sweeps, round-off slivers counted as none, m^2."""
    return area if area > _CORNER_SLIVER_M2 else 0.0


def _drop_repeats(pts: List[XY]) -> List[XY]:
    """The points without consecutive repeats."""
    out = pts[:1]
    for q in pts[1:]:
        if math.dist(q, out[-1]) > _EPS:
            out.append(q)
    return out


def _drop_short_hops(pts: List[XY]) -> List[XY]:
    """Drop inner points closer than a hop to their successor.

    A ring point a few centimetres from the target would make a hop the follower drives by
    its geometry (a 180 degree turn after it is a reversal), not a turn.
    """
    out = [pts[0]]
    for k, p in enumerate(pts[1:-1], start=1):
        if math.dist(p, pts[k + 1]) >= _MIN_HOP_M and math.dist(p, out[-1]) >= _MIN_HOP_M:
            out.append(p)
    out.append(pts[-1])
    return out


def _loop_from(ring: List[XY], here: Optional[XY], overlap_m: float = 0.0) -> List[XY]:
    """The closed ring as a loop from its vertex nearest ``here``, round and ``overlap_m`` on.

    The tool leads base_link by the tool offset: at the start the ground between the two is
    not processed, so the loop runs that far along its first edge again.
    """
    pts = ring[:-1] if ring[0] == ring[-1] else list(ring)
    if here is not None:
        k = min(range(len(pts)), key=lambda i: math.dist(pts[i], here))
        pts = pts[k:] + pts[:k]
    loop = pts + [pts[0]]
    if overlap_m > 0.0 and len(pts) > 1:
        a, b = np.asarray(pts[0], dtype=float), np.asarray(pts[1], dtype=float)
        d = float(np.hypot(*(b - a)))
        if d > _EPS:
            end = a + (b - a) * min(1.0, overlap_m / d)
            loop.append((float(end[0]), float(end[1])))
    return loop


def _corners(way: Sequence[XY]) -> List[Tuple[XY, float]]:
    """(point, heading on) of each vertex of ``way`` a leg leaves (its start included)."""
    return [(a, math.atan2(b[1] - a[1], b[0] - a[0]))
            for a, b in zip(way[:-1], way[1:]) if math.dist(a, b) > _EPS]


def _lowers_at(place: Tuple[float, float, float], xy: XY, heading: float) -> bool:
    """Whether a lane or headland side starting at ``xy`` onto ``heading`` lowers the tool at
    ``place`` (x, y, yaw): facing as it does, on its line up to a run-in
    (:data:`_CORNER_RUNS_M`) behind it, where a run-in or a corner turn lowers it."""
    ax, ay, ayaw = place
    if abs(math.remainder(ayaw - heading, math.tau)) > _AVOID_YAW_RAD:
        return False
    c, s = math.cos(heading), math.sin(heading)
    behind = (xy[0] - ax) * c + (xy[1] - ay) * s
    aside = (xy[1] - ay) * c - (xy[0] - ax) * s
    return -_AVOID_RADIUS_M <= behind <= max(_CORNER_RUNS_M) + _AVOID_RADIUS_M and \
        abs(aside) <= _AVOID_RADIUS_M


class _Planner:
    """One planning run (keeps the rotated geometry together)."""

    def __init__(self, field: Sequence[XY], exclusion_zones: Sequence[Sequence[XY]],
                 params: CoverageParams, processed=None, safe_ground=None,
                 no_go_zones: Sequence[Sequence[XY]] = (), fence=None, scanned=None,
                 driven=None, suspects: Sequence[Tuple[float, float, float]] = ()) -> None:
        self.p = params
        #: the detected suspects' discs (x, y, radius) the tracks may not press before the
        #: tool has processed them (judged in every pivot disc: :meth:`_disc_areas`)
        discs = [Point(x, y).buffer(r, _DISC_SEGMENTS) for x, y, r in suspects
                 if all(math.isfinite(v) for v in (x, y, r)) and r > 0.0]
        self._suspects = shapely.STRtree(discs) if discs else None
        self._suspect_ground = unary_union(discs) if discs else None
        #: ground the sensor boom swept before the plan (None: none): seen, not processed;
        #: and the ground the machine's tracks pressed (its trail; None: none)
        self.scanned = snapped(scanned) if scanned is not None else None
        self.driven = snapped(driven) if driven is not None else None
        #: the supervisor's geofence (None: unbounded): transits keep inside it
        self.fence = snapped(fence)
        self._exclusion_rings = [list(z) for z in exclusion_zones]
        self._no_go_rings = [list(z) for z in no_go_zones]
        exclusion_zones = self._exclusion_rings + self._no_go_rings
        self.processed = snapped(processed) if processed is not None else Polygon()
        self._closed_processed = None       # the processed ground without pinholes, on use
        self.safe = snapped(safe_ground) if safe_ground is not None else Polygon()
        self.field = validate_polygon(field, 'field')
        self.zones = [validate_polygon(z, f'exclusion zone {i}')
                      for i, z in enumerate(exclusion_zones)]
        self.region = work_region(field, exclusion_zones)
        self.zone_union = unary_union(self.zones) if self.zones else Polygon()
        # keep-out for transits: zones, except where declared safe to drive (a road); a
        # no-go zone (a detected AT mine or UXO) blocks whatever the area file declares
        excl = unary_union(self.zones[:len(self._exclusion_rings)])
        no_go = unary_union(self.zones[len(self._exclusion_rings):])
        self.zone_block = unary_union([excl.difference(self.safe) if not self.safe.is_empty
                                       else excl, no_go])
        # a transit is costed against the no-go zones grown by the clearance (:meth:`
        # _excluded_m`): the supervisor extrapolates the follower's command, and a correction
        # towards the path swings the hull's far end sideways (3 m behind base_link, 0.04 rad
        # is 0.12 m). A transit 0.09 m beside a TM-62's zone pinned the machine there
        # (gen_slope seed 66: judged clear of the zone itself, six pins, aborted at 44 %).
        # Lanes, passes and approaches keep the exact zones: judged with the clearance too,
        # they left a quarter more ground unplanned on 41 held-out re-plans. Exclusion zones
        # alike (stop 74): a first transit of a re-plan, straight across the field, passed an
        # exclusion zone's corner with the hull 4 cm off; the supervisor stopped it there,
        # six pins, aborted at 33 % (gen_notch_clay_exclusion seed 66)
        self.zone_judge = (self.zone_block.buffer(params.exclusion_clearance_m)
                           if not self.zone_block.is_empty else self.zone_block)
        #: radius the footprint (tool or hull) sweeps in a pivot, plus a margin
        self.pivot_reach = math.hypot(
            max(params.tool_offset_x_m + TOOL_DEPTH_M, 0.5 * params.track_length_m),
            params.footprint_half_width_m) + params.exclusion_clearance_m
        #: how far ahead of base_link the footprint reaches, with the supervisor's margin
        self._front = params.footprint_front_m + STOP_MARGIN_M
        #: radius the footprint sweeps in a pivot, as the supervisor places it
        self._turn_reach = turn_reach(params.footprint_rear_m, self._front,
                                      params.footprint_half_width_m)
        #: the footprint's corners in the machine frame, and the pivots judged so far
        self._local = np.array([(-params.footprint_rear_m, -params.footprint_half_width_m),
                                (self._front, -params.footprint_half_width_m),
                                (self._front, params.footprint_half_width_m),
                                (-params.footprint_rear_m, params.footprint_half_width_m)])
        self._turns: dict = {}
        self._turn_answers: dict = {}
        self._near: dict = {}
        #: whether a zone's bounding box lies within a reach of a point (:meth:`_near_zone`)
        self._near_box: dict = {}
        #: per cluster of keep-out zones (zones closer than two turning reaches merge: a ring
        #: round one alone would run the machine into its neighbour): the cluster grown by
        #: the footprint's half width (a straight transit that meets it goes round) and the
        #: detour ring out of a pivot's reach (a turn onto or off it swings nothing in)
        self._detours = []
        if self.zones:
            ring_m = max(self.pivot_reach, self._turn_reach) + _RING_MARGIN_M
            for ring_poly in _polys(self.zone_block.buffer(ring_m, join_style='mitre')):
                grown = self.zone_block.intersection(ring_poly).buffer(
                    params.footprint_half_width_m)
                shapely.prepare(grown)
                self._detours.append((grown, ring_poly.exterior))
        #: the clusters' grown ground's bounding boxes, asked first (:meth:`_detours_met`)
        self._detour_bounds = shapely.bounds(np.asarray([g for g, _ in self._detours],
                                                        dtype=object).reshape(-1))
        #: the keep-out zones' pieces, for near-zone queries (None: no zone)
        block = _polys(self.zone_block)
        self._tree = shapely.STRtree(block) if block else None
        self._zone_bounds = shapely.bounds(np.asarray(block, dtype=object)) if block else None
        #: the keep-out ground's pieces (disjoint polygons), as judged without and with the
        #: clearance, each with its tree: a footprint's area in the zones is summed over the
        #: pieces it meets, not cut from the whole union (with a hundred zones that overlay
        #: was a seventh of a re-plan's time: mixed_field seed 1, stop 76)
        self._zone_pieces = {}
        for judged, zone in ((False, self.zone_block), (True, self.zone_judge)):
            pieces = np.asarray(_polys(zone), dtype=object)
            self._zone_pieces[judged] = (shapely.STRtree(pieces) if len(pieces) else None,
                                         pieces)
        if self.zones:
            shapely.prepare(self.zone_block)
            shapely.prepare(self.zone_judge)
        # a transit keeps the whole machine out, not only base_link: zones grown by the
        # footprint's half width (the hull, wider than the tracks)
        self.zone_keep = self.zone_block.buffer(params.footprint_half_width_m)
        self._edges = None          # zone-edge passes, built on first use
        #: routes through allowed ground, for the ground left at one step (built on use)
        self._route_cache = None
        #: ground not allowed in the pivot disc at each vertex, for the ground left (on use)
        self._pivot_cache = None
        #: a gap's sub-plan: lanes whose best approach still puts the footprint in a zone
        #: are left (``skipped``, their tool strips) and reported, not driven
        self.strict = False
        self.skipped: List[Polygon] = []
        #: places an earlier plan lowered the tool blind at, as starts of lanes and headland
        #: stretches: lanes and stretches starting there are driven the other way where they
        #: can (:func:`_unblind`)
        self.avoid: List[Tuple[float, float, float]] = []
        #: (start, heading) of every corner of the lanes and stretches chosen where another
        #: direction or stretch was open: where avoiding a place may change the plan
        self.choices: List[Tuple[XY, float]] = []
        #: The way in goes outside the field: keep-out zones cut the remaining ground off from
        #: the start on the field and declared safe ground (:meth:`reachable`).
        self.enters_outside = False
        #: a gap's sub-plan: the rest of the field's unprocessed ground (the other gaps, the
        #: clearance round the zones), which its transits are judged on as much as the gap's
        self.outer_unprocessed: Polygon = Polygon()
        self.zone_clear = (self.zone_union.buffer(params.exclusion_clearance_m)
                           if self.zones else Polygon())
        #: what the tool may process: the field minus the zones and their clearance
        self.workable = (self.field.difference(self.zone_clear) if self.zones
                         else self.field)
        if params.lane_angle_deg == AUTO:
            self.angle = auto_lane_angle(self.field)
        else:
            self.angle = math.radians(float(params.lane_angle_deg))
        self._headland_geometry()
        #: Where the machine may drive without processing first: the field (processed or to
        #: be) and declared safe ground. A plan that turns on its headland knows nothing
        #: outside to be safe, so a transit there costs like one over unprocessed ground;
        #: None (turning outside, the belt declared safe or chosen by the operator): no cost.
        #: A gap's sub-plan inherits its parent's (see :meth:`_sub_plan`): its lane ends stay
        #: on it.
        self.known_ground = (unary_union([self.field, self.safe]).buffer(
            SLIVER_M, join_style='mitre') if self.passes else None)
        # every transit candidate is judged against both (:meth:`_transit_cost`): their
        # predicates prepared once (the planner's own copies: snapped or built here)
        for ground in (self.fence, self.known_ground):
            if ground is not None and not ground.is_empty:
                shapely.prepare(ground)

    def _headland_geometry(self) -> None:
        """Decide where the machine turns: on safe surroundings, or on a processed headland.

        With the belt round the field that a lane end needs (tool offset, end margin and the
        tracks' pivot disc) declared safe, lanes run past the boundary and the machine turns
        outside. Otherwise (the default: nothing outside the field is known to be safe) it
        processes ``headland_passes`` loops along the boundary and round every exclusion zone
        first, as flail operators do, then drives lanes that end on that headland and turns
        there, on processed ground (the turning line lies ``turn_depth`` inside the boundary).
        """
        p = self.p
        # Zones get no headland of their own: lanes that end at one back out along themselves
        # (no turn near a zone), and the headland passes stop short of them.
        self.work_zone = self.field
        belt = self.field.buffer(p.tool_offset_x_m + p.lane_end_margin_m + p.pivot_radius_m,
                                 join_style='mitre').difference(self.field)
        outside_safe = (not self.safe.is_empty and belt.intersection(self.safe).area
                        >= _SAFE_BELT_SHARE * belt.area)
        if p.headland_passes == AUTO:
            self.passes = 0 if outside_safe else p.auto_headland_passes()
        else:
            self.passes = int(p.headland_passes)
        self.turn_region = Polygon()
        self.interior = self.work_zone
        if not self.passes:
            return
        spacing = p.lane_spacing_m
        depth = p.tool_width_m + (self.passes - 1) * spacing
        self.turn_depth = min(max(p.tool_offset_x_m, p.pivot_radius_m),
                              max(depth - p.pivot_radius_m, 0.5 * p.tool_width_m))
        self.turn_region = self.work_zone.buffer(-self.turn_depth, join_style='mitre')
        self.interior = self.work_zone.buffer(-(depth - (p.tool_width_m - spacing)),
                                              join_style='mitre')
        rings = self.headland_rings()
        cover = unary_union([LineString(r).buffer(0.5 * p.tool_width_m, cap_style='flat')
                             for r in rings]) if rings else Polygon()
        # what lanes must cover: the interior, and whatever the cut passes leave near zones
        # (shrunk a little: polygon round-off leaves slivers along the passes)
        self.interior = self.region.difference(cover).buffer(-SLIVER_M)

    def headland_rings(self) -> List[List[XY]]:
        """The headland passes as base_link polylines, outermost first.

        A pass is a closed loop along the field boundary, cut where it comes within the
        tool's reach (``tool_offset_x_m`` + half the tool width) of an exclusion zone's
        clearance line: the tool, ahead of the base, never reaches into a zone, and lanes
        (which stop short of zones and back out) cover what the cut leaves.
        """
        rings: List[List[XY]] = []
        reach = self.p.tool_offset_x_m + 0.5 * self.p.tool_width_m
        keep_off = self.zone_clear.buffer(reach) if self.zones else Polygon()
        for k in range(self.passes):
            inset = 0.5 * self.p.tool_width_m + k * self.p.lane_spacing_m
            for poly in _polys(self.field.buffer(-inset, join_style='mitre')):
                ring = LineString(poly.exterior.coords)
                pieces = ring.difference(keep_off) if not keep_off.is_empty else ring
                for piece in getattr(pieces, 'geoms', [pieces]):
                    if isinstance(piece, LineString) and piece.length > self.p.lane_spacing_m:
                        rings.append([(float(x), float(y)) for x, y in piece.coords])
        return rings

    def transit_rings(self) -> List[LineString]:
        """Rings transits may follow: on the processed headland, or outside the field."""
        if self.passes:
            return [LineString(poly.exterior.coords) for poly in _polys(self.turn_region)]
        return [self.field.buffer(self.p.tool_offset_x_m + self.p.headland_offset_m,
                                  join_style='mitre').exterior]

    # rotation helpers: lanes run along +x in the rotated frame
    def _to_lane(self, geom):
        return affinity.rotate(geom, -self.angle, origin=(0.0, 0.0), use_radians=True)

    def _from_lane_geom(self, geom):
        return affinity.rotate(geom, self.angle, origin=(0.0, 0.0), use_radians=True)

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
        if maxy - miny <= p.tool_width_m:
            # One band covers a strip no wider than the tool (a gap along a field's edge or
            # beside a zone), not a half spacing past its far side (outside the field, where
            # its ends are unknown): of the places where it covers it all, the one whose tool
            # strip touches the zones' clearance least (flush with it, less a sliver: exactly
            # on the clearance's edge it intersects it in rounding noise all along)
            spots = (0.5 * (miny + maxy), maxy - half - SLIVER_M, miny + half + SLIVER_M)
            y = min(spots, key=lambda c: zones.intersection(
                box(minx, c - half, maxx, c + half)).area if self.zones else 0.0)
        run = p.tool_offset_x_m + p.lane_end_margin_m + p.footprint_front_m
        while True:
            if k and y + half > maxy:
                # the last band overshoots the far side no more than the first one does the
                # near side: a band whose line runs outside the field would have its ends
                # judged on ground outside it
                y = max(y - spacing + _EPS, min(y, maxy - 0.5 * spacing))
            band = box(minx - run - 1.0, y - half, maxx + run + 1.0, y + half)
            # blocked x-intervals: the tool rectangle must not touch a zone anywhere in its band,
            # and the machine's front (the hammers, ahead of the tool's centre line) stops short
            # of it by the safety supervisor's own footprint: one geometry for both
            reach = max(0.0, p.footprint_front_m - p.tool_offset_x_m) + STOP_MARGIN_M
            blocked = sorted((g.bounds[0] - reach, g.bounds[2] + reach)
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
                    # a zone just past the stretch's end (outside this piece of field: a
                    # gap's sub-plan ends at the zone's clearance line) is met by the lane's
                    # extension and the machine's front: that end is a zone end too
                    z0 = z0 or any(x0 - run <= e1 <= x0 for _, e1 in blocked)
                    z1 = z1 or any(x1 <= e0 <= x1 + run for e0, _ in blocked)
                    if x1 - x0 >= _MIN_SEGMENT_M:
                        out.append((k, y, x0, x1, z0, z1))
            if y + half >= maxy - _EPS:
                break
            k += 1
            y += spacing
        return out

    def inner_lanes(self) -> List[List[Lane]]:
        """Lanes whose boundary ends are on the headland's turning line.

        The tool stretches are those of :meth:`lanes` (the band over the field, stopped short
        of exclusion zones). At a boundary end the base drives to the turning line, where it
        pivots on the processed headland, and the tool, ``tool_offset_x_m`` ahead, reaches the
        boundary; at a zone end the tool stops at the zone and the base backs out along the
        lane (no turn near a zone). Stretches wholly inside the headland are left to it.
        """
        p = self.p
        if self.turn_region.is_empty:
            return []
        turn = self._to_lane(self.turn_region)
        inner = self._to_lane(self.interior)
        off, half = p.tool_offset_x_m, 0.5 * p.tool_width_m
        cands: List[List[Lane]] = []
        for k, y, x0, x1, z0, z1 in self.lanes():
            if box(x0, y - half, x1, y + half).intersection(inner).area < (
                    _MIN_SEGMENT_M * p.tool_width_m):
                continue
            line = LineString([(x0 - off, y), (x1 + off, y)]).intersection(turn)
            segs = [g for g in getattr(line, 'geoms', [line]) if not g.is_empty]
            if not segs:
                continue
            seg = max(segs, key=lambda g: g.length)
            t0, t1 = seg.bounds[0], seg.bounds[2]

            def lane(start: float, end: float, tool_start: float, tool_end: float,
                     at_zone: bool) -> Lane:
                return Lane(k, self._from_lane(start, y), self._from_lane(end, y),
                            self._from_lane(tool_start, y), self._from_lane(tool_end, y),
                            at_zone)
            # a start at a zone: the base stands with its hull (the rear) clear of it
            f_start = x0 + p.footprint_rear_m if z0 else t0
            f_end = x1 - off if z1 else t1
            # a boundary end whose pivot would swing the machine into a zone is no place to
            # turn: the lane is driven towards it and backs out, like a zone end
            near0 = z0 or self._pivot_hits_zone(self._from_lane(t0, y))
            near1 = z1 or self._pivot_hits_zone(self._from_lane(t1, y))
            fwd = lane(f_start, f_end, f_start + off, x1 if z1 else f_end + off, near1)
            r_start = x1 - p.footprint_rear_m if z1 else t1
            r_end = x0 + off if z0 else t0
            rev = lane(r_start, r_end, r_start - off, x0 if z0 else r_end - off, near0)
            options = []
            if (z0 or near0) and (z1 or near1) and (near0 and not z0 or near1 and not z1):
                # no end to turn at (a zone or a pivot into one at each): the gap re-cover's
                # passes along the zone take this strip
                continue
            if f_end - f_start > _MIN_SEGMENT_M and not (near0 and not near1):
                options.append(fwd)
            if r_start - r_end > _MIN_SEGMENT_M and not (near1 and not near0):
                options.append(rev)
            if options:
                cands.append(options)
        return cands

    def _avoided(self, xy: XY, heading: float) -> bool:
        """Whether a lane or headland side starting at ``xy`` onto ``heading`` lowers the tool
        at an avoided place (:attr:`avoid`, :func:`_lowers_at`)."""
        return any(_lowers_at(place, xy, heading) for place in self.avoid)

    def _no_room_behind(self, place: Tuple[float, float, float]) -> bool:
        """Whether a keep-out zone or the geofence leaves no room for a back-up before a
        tool lowering at ``place`` (x, y, yaw) that moves its lead band back by its length
        (:attr:`.lead_in.LeadGeometry.band_back_up_m`; :func:`.lead_in.back_up_blocked`)."""
        g = lead_geometry(self.p)
        return back_up_blocked(*place, g.band_back_up_m, g,
                               self.zone_block if self.zones else None, self.fence)

    def _avoided_on(self, way: Sequence[XY]) -> int:
        """How many of the corners of ``way`` (its start included) lower the tool at an
        avoided place (:meth:`_avoided`)."""
        if not self.avoid:
            return 0
        return sum(self._avoided(a, h) for a, h in _corners(way))

    def _pivot_hits_zone(self, xy: XY) -> bool:
        """Whether a pivot at ``xy`` would swing the tool or the hull into a keep-out zone."""
        return self._near_zone(xy, self.pivot_reach)

    def _near_zone(self, xy: XY, reach: float, exact: bool = True) -> bool:
        """Whether a keep-out zone lies within ``reach`` of ``xy`` (an STRtree query).

        ``exact`` False: whether one's bounding box does (enough where an exact test follows).
        """
        if self._tree is None:
            return False
        # the zones' bounding boxes first (numpy, no geometry built): most points are far.
        # Transits share their vertices (a pivot is judged at each candidate's every bend):
        # each point's answer is kept, on its exact coordinates
        box_key = (xy[0], xy[1], reach)
        boxed = self._near_box.get(box_key)
        if boxed is None:
            b = self._zone_bounds
            dx = np.maximum(np.maximum(b[:, 0] - xy[0], xy[0] - b[:, 2]), 0.0)
            dy = np.maximum(np.maximum(b[:, 1] - xy[1], xy[1] - b[:, 3]), 0.0)
            boxed = self._near_box[box_key] = bool(np.any(dx * dx + dy * dy < reach * reach))
        if not boxed:
            return False
        if not exact:
            return True
        key = (round(xy[0], 2), round(xy[1], 2), reach)
        near = self._near.get(key)
        if near is None:
            near = len(self._tree.query(Point(xy), predicate='dwithin', distance=reach)) > 0
            self._near[key] = near
        return near

    def build_lanes(self) -> List[List[Lane]]:
        """Return, per segment, the allowed driving directions as lanes in the map frame.

        A segment with an exclusion zone at one end is only driven towards the zone (the tool
        reaches the zone's clearance line; the vehicle then backs out).
        """
        if self.passes:
            return self.inner_lanes()
        ext = self.p.tool_offset_x_m + self.p.lane_end_margin_m
        off = self.p.tool_offset_x_m
        cands = []
        known = (shapely.prepared.prep(self.known_ground) if self.known_ground is not None
                 else None)
        rear, front = self.p.footprint_rear_m, self.p.footprint_front_m
        for k, y, x0, x1, z0, z1 in self.lanes():
            # run-in/out of the base past each end of the tool stretch (:meth:`_run`), per
            # direction: (run, zone) at its start (the hull's rear behind the base) and at
            # its end (the front ahead of it)
            start0, end1 = (ext, z0), (ext, z1)        # driven from x0 to x1
            start1, end0 = (ext, z1), (ext, z0)        # driven from x1 to x0
            if known is not None:
                # a gap at the field's edge, with nothing outside it declared safe: the lane
                # ends there as at a zone (driven towards it, the tool reaching the edge, the
                # machine backing out), never with the hull run out past the boundary (its
                # front ahead of base_link at a lane's end, its rear behind at a start)
                start0 = self._run(known, x0, y, -1.0, z0, rear)
                end1 = self._run(known, x1, y, 1.0, z1, front)
                start1 = self._run(known, x1, y, 1.0, z1, rear)
                end0 = self._run(known, x0, y, -1.0, z0, front)

            def make(a: float, b: float, za: bool, zb: bool, sign: float, ea: float,
                     eb: float) -> Optional[Lane]:
                # base starts 'ea' before the tool stretch (tool passes the boundary) unless
                # a zone is there: then the base starts with its hull (the rear) clear of the
                # zone, and the strip up to the tool there is left to the gap re-cover
                start = a - sign * (ea if not za else -self.p.footprint_rear_m)
                # (a run-in shorter than the tool's offset starts the tool inside the stretch)
                tool_start = a if not za and ea >= off else start + sign * off
                end = b + sign * (eb if not zb else -off)
                if sign * (end - start) <= _MIN_SEGMENT_M or \
                        sign * (b - tool_start) <= _MIN_SEGMENT_M:
                    # a stretch between two zones too short for the hull to start clear of
                    # one and the flail to stop short of the other: driven this way, the
                    # lane would run backwards, into a zone; it is left to the re-cover
                    return None
                return Lane(k, self._from_lane(start, y), self._from_lane(end, y),
                            self._from_lane(tool_start, y), self._from_lane(b, y), zb)
            fwd = (make(x0, x1, start0[1], end1[1], 1.0, start0[0], end1[0]), start0[1])
            rev = (make(x1, x0, start1[1], end0[1], -1.0, start1[0], end0[0]), start1[1])
            # a direction that starts at a zone is dropped when the other one drives towards
            # it (the tool reaches the zone's line; started there, the hull would stand on it)
            options = [ln for ln, za in (fwd, rev) if not za] or [ln for ln, _ in (fwd, rev)]
            # a stretch too short for the hull to start clear of a zone is left to the re-cover
            options = [ln for ln in options if ln is not None and _along(ln) > _MIN_SEGMENT_M]
            if options:
                cands.append(options)
        return cands

    def _run(self, known, x: float, y: float, sign: float, zone: bool,
             body: float) -> Tuple[float, bool]:
        """(run of the base past a lane end at ``x``, whether the end is a zone end).

        The full run (``tool_offset_x_m`` + ``lane_end_margin_m``: the tool over the boundary
        by the margin) when the hull there (its part ``body`` m beyond the base: the rear at
        a start, the front at an end) is on ``known`` ground, else the tool's offset alone
        (the tool just reaching the end: a gap inside processed ground a hull length from the
        field's edge), else up to ``_RUN_SHORTFALL_M`` less, else the end is treated as a
        zone's (driven towards, backed out of).
        """
        off = self.p.tool_offset_x_m
        if not zone:
            for run in (off + self.p.lane_end_margin_m, off):
                if known.contains(Point(self._from_lane(x + sign * (run + body), y))):
                    return run, False
            # the hull's end on the known ground's edge: at a start the tool then starts a
            # little inside the stretch, a sliver below what the re-cover plans again
            line = LineString([self._from_lane(x + sign * (off - _RUN_SHORTFALL_M + body), y),
                               self._from_lane(x + sign * (off + body), y)])
            inside = line.intersection(known.context)
            if not inside.is_empty and inside.distance(Point(line.coords[0])) < _EPS:
                run = off - _RUN_SHORTFALL_M + inside.length - _EPS
                return run, False
        return off + self.p.lane_end_margin_m, True

    def _processed_ring(self, ring: List[XY]) -> bool:
        strip = LineString(ring).buffer(0.5 * self.p.tool_width_m, cap_style='flat')
        return strip.area > _EPS and (
            strip.intersection(self.processed).area >= _PROCESSED_SHARE * strip.area)

    def _unprocessed_stretches(self, ring: List[XY]) -> List[List[XY]]:
        """The stretches of a partly processed headland pass still to drive.

        A pass cut short (a no-go zone found on it, a stop) is not driven again whole: each
        stretch whose tool line is over unprocessed ground, stretches less than a lane spacing
        apart merged, is lengthened by the tool's offset at either end along the pass, so the
        tool, ahead of the base, covers the stretch's start whichever way it is driven and the
        base runs in on the processed pass. A pass with nothing processed on it stays whole.
        """
        line = LineString(ring)
        # closed over holes a few grid cells wide (the tool skimming a bump): a pass with
        # pinholes along its centre line is processed there
        if self._closed_processed is None:
            self._closed_processed = self.processed.buffer(_PINHOLE_M).buffer(-_PINHOLE_M)
        done = self._closed_processed
        todo = line.difference(done) if line.intersects(done) else line
        if todo.equals(line):
            return [ring]
        closed = ring[0] == ring[-1]
        if closed:
            # start the loop on processed ground, so no stretch wraps round its first point
            done_line = line.intersection(done)
            first = next((g for g in getattr(done_line, 'geoms', [done_line])
                          if isinstance(g, LineString) and g.length > 0.0), None)
            if first is None:
                return [ring]
            at = line.project(first.interpolate(0.5, normalized=True))
            line = LineString(_line_xy(substring(line, at, line.length))
                              + _line_xy(substring(line, 0.0, at))[1:])
            todo = line.difference(done)
        spans = sorted((line.project(Point(g.coords[0])), line.project(Point(g.coords[-1])))
                       for g in getattr(todo, 'geoms', [todo])
                       if isinstance(g, LineString) and g.length > _MIN_SEGMENT_M)
        merged: List[List[float]] = []
        for a, b in spans:
            a, b = min(a, b), max(a, b)
            if merged and a - merged[-1][1] < self.p.lane_spacing_m:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        lead = self.p.tool_offset_x_m
        return [_line_xy(substring(line, max(a - lead, 0.0), min(b + lead, line.length)))
                for a, b in merged if b - a >= _MIN_STRETCH_M]

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

    def transit(self, a: XY, b: XY, unprocessed, back_to: Optional[XY] = None,
                yaw_a: Optional[float] = None, yaw_b: Optional[float] = None,
                search: bool = True) -> Tuple[List[XY], float, float]:
        """Return (points, cost, metres over unprocessed ground) of the best transit a -> b.

        Candidates: the straight leg, the two ways round a ring on the headland and round
        each cluster of keep-out zones, and, where ``a`` or ``b`` is within the footprint's
        turning reach of a zone, a run-out from ``a`` and a run-in onto ``b`` in the headings
        whose pivots keep the footprint out of it. ``yaw_a`` is the machine's facing at
        ``a`` (it pivots from it there), ``yaw_b`` the facing it must have at ``b`` (the next
        lane's heading). Each candidate is judged on the supervisor's whole footprint along
        its legs and through its pivots (:meth:`_keep_out_m`). With ``back_to`` (the start of
        a lane that ended at an exclusion zone): first back out along the lane just processed
        (the follower reverses on a 180 degree turn), then the best of those from its start;
        the lane is processed ground, so backing never crosses unprocessed ground.
        ``search``: when the best still crosses ground not allowed, search a route through
        allowed ground too (off when many candidates are ranked: the chosen one searches).
        """
        if back_to is not None and math.dist(a, back_to) > _EPS:
            # Always back out: turning at the zone's edge would swing the flail and the hull
            # into it (the footprint's pivot reach is metres), whatever a straight leg costs.
            # Backing out keeps the facing the machine had at ``a``.
            if yaw_a is None:
                yaw_a = math.atan2(a[1] - back_to[1], a[0] - back_to[0])
            pts, cost, over = self.transit(back_to, b, unprocessed, yaw_a=yaw_a, yaw_b=yaw_b,
                                           search=search)
            return [a] + pts, cost + math.dist(a, back_to), over
        if math.dist(a, b) < _EPS:
            pivot = (_EXCLUSION_PENALTY if yaw_a is not None and yaw_b is not None
                     and self._turn_hits(a, yaw_a, yaw_b) else 0.0)
            return [a, b], pivot, 0.0
        outs = [[a]] + [[a, q] for q in self._fan(a, yaw_a, out=True)]
        ins = [[b]] + [[q, b] for q in self._fan(b, yaw_b, out=False)]
        options = []
        for head in outs:
            for tail in ins:
                for mid in self._routes(head[-1], tail[0]):
                    options.append(head[:-1] + mid + tail[1:])
        best = None
        for pts in options:
            # one that cannot cost less than the best so far is not judged in full (the
            # first of equal costs is kept)
            judged = self._transit_cost(pts, unprocessed, yaw_a, yaw_b,
                                        math.inf if best is None else best[1])
            if judged is not None:
                best = (pts, *judged)
        if search and best is not None and best[2] > _ROUTE_FALLBACK_M:
            # every shape above crosses ground the tracks may not use (a no-go zone on the
            # first headland pass: each way round it leaves the field): the cheapest way
            # through allowed ground, when there is one
            pts = self._router(unprocessed).route(a, b)
            judged = (self._transit_cost(pts, unprocessed, yaw_a, yaw_b, best[1])
                      if pts is not None and len(pts) > 1 else None)
            if judged is not None:
                best = (pts, *judged)
        assert best is not None
        return _drop_short_hops(best[0]), best[1], best[2]

    def _transit_cost(self, pts: List[XY], unprocessed, yaw_a: Optional[float],
                      yaw_b: Optional[float], bound: float = math.inf
                      ) -> Optional[Tuple[float, float]]:
        """(cost, metres over ground not allowed) of driving ``pts`` (see :meth:`transit`);
        None when it costs ``bound`` or more.

        The cost is its length plus penalties, each term at least 0; IEEE sums and products
        of such terms never drop as a term grows, so a partial sum at ``bound`` already puts
        the whole cost there. The terms are judged in turn, and a candidate that cannot win
        is not judged further (most lose on keep-out ground or the ground they cross).
        """
        line = LineString(pts)
        length = line.length
        if length >= bound:
            return None
        excl = self._excluded_m(pts, yaw_a, yaw_b, line)
        if length + _EXCLUSION_PENALTY * excl >= bound:
            return None
        over = 0.0
        if not unprocessed.is_empty:
            # the ground round the line only: the overlay's cost grows with the whole
            # field's outline (clipping is a linear pass, no noding)
            minx, miny, maxx, maxy = line.bounds
            try:
                near = shapely.clip_by_rect(unprocessed, minx - _CLIP_PAD_M,
                                            miny - _CLIP_PAD_M, maxx + _CLIP_PAD_M,
                                            maxy + _CLIP_PAD_M)
                over = shapely.intersection(line, near).length if not near.is_empty else 0.0
            except shapely.errors.GEOSException:
                # the clip need not be valid (a ring cut to fewer than four points, a
                # denormal's sliver): the whole overlay then
                over = robust(shapely.intersection, line, unprocessed).length
        if self.known_ground is not None and not self.known_ground.covers(line):
            over += line.difference(self.known_ground).length
        if length + UNPROCESSED_PENALTY * over + _EXCLUSION_PENALTY * excl >= bound:
            return None
        swept = self._pivots_not_allowed_m(pts, unprocessed, yaw_a, yaw_b)
        cost = length + UNPROCESSED_PENALTY * (over + swept) + _EXCLUSION_PENALTY * excl
        return (cost, over) if cost < bound else None

    def _pivots_not_allowed_m(self, pts: Sequence[XY], unprocessed, yaw_a: Optional[float],
                              yaw_b: Optional[float]) -> float:
        """Ground not allowed that the tracks sweep in the pivots of driving ``pts``, as metres
        of a track-wide strip (the unit of :meth:`transit`'s metres over unprocessed ground).

        The follower pivots in place where the path turns by more than ``corner_angle_rad``
        (not where it retraces itself: it reverses there); the tracks then sweep the disc of
        ``pivot_radius_m``. Where that disc is not processed, declared safe or to be
        processed before, a turn there is as bad as driving a track over it.
        """
        if self._pivot_cache is None or self._pivot_cache[0] is not unprocessed:
            self._pivot_cache = (unprocessed, {})
        cache = self._pivot_cache[1]
        total = 0.0
        for v, h0, h1 in _turns(pts, yaw_a, yaw_b):
            d = abs(math.atan2(math.sin(h1 - h0), math.cos(h1 - h0)))
            if d <= self.p.corner_angle_rad or d >= self.p.reverse_turn_rad:
                continue
            key = (round(v[0], 2), round(v[1], 2))
            bad = cache.get(key)
            if bad is None:
                bad = cache[key] = sum(self._disc_areas(v, unprocessed))
            total += bad / (2.0 * self.p.contact_half_width_m)
        return total

    def _router(self, unprocessed) -> AllowedRouter:
        """Cheapest paths through allowed ground while ``unprocessed`` is left (cached)."""
        if self._route_cache is not None and self._route_cache[0] is unprocessed:
            return self._route_cache[1]
        allowed = unary_union([self.safe, self.processed, self.field.difference(unprocessed)])
        if self._route_cache is not None:
            router = self._route_cache[1].with_allowed(allowed)
        else:
            # base_link keeps a pivot's reach from keep-out zones (the route may turn at any
            # vertex), and inside the geofence (else the field's turning reach)
            blocked = self.zone_block.buffer(self._turn_reach) \
                if not self.zone_block.is_empty else Polygon()
            outer = self.fence if self.fence is not None else unary_union(
                [self.field, self.safe, self.processed]).buffer(self._turn_reach + _RING_MARGIN_M)
            blocked = unary_union([blocked, outer.envelope.difference(outer)])
            # the tracks may overlap ground not known allowed by the supervisor's tolerance (a
            # processed strip is as wide as the tracks: without it no route fits in one)
            half = max(0.0, self.p.contact_half_width_m - self.p.allowed_ground_tolerance_m)
            router = AllowedRouter(outer.bounds, allowed, blocked, half, UNPROCESSED_PENALTY)
        self._route_cache = (unprocessed, router)
        return router

    def _routes(self, a: XY, b: XY) -> List[List[XY]]:
        """Point lists from ``a`` to ``b``: straight, and round rings and zone clusters."""
        options = [[a, b]]
        if math.dist(a, b) < _EPS:
            return options
        pa, pb = Point(a), Point(b)
        met = self._detours_met(self._swept_parts([a, b])) if self._detours else []
        for k in met:
            # round the zones, far enough out that a pivot at a corner swings nothing in
            options += [[a] + way + [b] for way in _ring_paths(self._detours[k][1], pa, pb)]
        for ring in self._rings:
            if ring.distance(pa) > self._ring_reach or ring.distance(pb) > self._ring_reach:
                continue
            options += [[a] + way + [b] for way in _ring_paths(ring, pa, pb)]
        chain = self._round_each(a, b, met)
        if chain is not None:
            options.append(chain)
        return options

    def _detours_met(self, parts: np.ndarray, done: Collection[int] = ()) -> List[int]:
        """The zone clusters (indices into :attr:`_detours`, in order; but ``done``) whose
        grown ground the footprint rectangles ``parts`` meet. Most are far from a transit:
        their bounding boxes are asked first (a test on all at once)."""
        if not len(parts) or not self._detours:
            return []
        b = shapely.bounds(parts)
        x0, y0 = b[:, 0].min(), b[:, 1].min()
        x1, y1 = b[:, 2].max(), b[:, 3].max()
        box_ = self._detour_bounds
        near = np.flatnonzero((box_[:, 0] <= x1) & (x0 <= box_[:, 2])
                              & (box_[:, 1] <= y1) & (y0 <= box_[:, 3]))
        return [int(k) for k in near if int(k) not in done
                and np.any(shapely.intersects(self._detours[k][0], parts))]

    def _round_each(self, a: XY, b: XY, met: Optional[List[int]] = None
                    ) -> Optional[List[XY]]:
        """A -> b round every cluster of zones the way meets, in turn, each the shorter way.

        A straight transit across a field of holes meets several clusters: going round one
        alone leaves the leg through the next. None when there is no zone on the way.
        ``met``: the clusters the straight way a -> b meets (:meth:`_detours_met`), when
        known.
        """
        if not self._detours:
            return None
        pts, cur, done = [a], a, set()
        pb = Point(b)
        for step in range(len(self._detours)):
            hits = met if not step and met is not None else self._detours_met(
                self._swept_parts([cur, b]), done)
            if not hits:
                break
            here = Point(cur)
            k = min(hits, key=lambda i: self._detours[i][0].distance(here))
            done.add(k)
            ways = _ring_paths(self._detours[k][1], here, pb)
            way = min(ways, key=lambda w: LineString([cur] + w + [b]).length)
            pts += way
            cur = pts[-1]
        if len(pts) == 1:
            return None
        return pts + [b]

    def _fan(self, xy: XY, yaw: Optional[float], out: bool) -> List[XY]:
        """Points to leave ``xy`` towards (``out``) or arrive at it from, turning clear.

        Only near a zone (within the footprint's turning reach) with a known facing: a pivot
        there onto the straight leg, or off it onto ``yaw``, may swing the footprint in. The
        points lie a turning reach away, in headings at growing angles to ``yaw``, where the
        leg and the pivot at ``xy`` keep the footprint out (a run-in is driven forwards in
        its own heading, a run-out leaves in it).
        """
        if yaw is None or not self._near_zone(xy, self._turn_reach):
            return []
        found = []
        for step in _FAN_STEPS_DEG:
            for sign in ((1.0,) if step == 0 else (1.0, -1.0)):
                heading = yaw + sign * math.radians(step)
                for dist in (self._turn_reach, 2.0 * self._turn_reach):
                    if out:
                        q = (xy[0] + dist * math.cos(heading), xy[1] + dist * math.sin(heading))
                        leg = [xy, q]
                    else:
                        q = (xy[0] - dist * math.cos(heading), xy[1] - dist * math.sin(heading))
                        leg = [q, xy]
                    if self._swept_hits(leg) or \
                            self._turn_hits(xy, yaw, heading):
                        continue
                    found.append(q)
                    break
            if len(found) >= _FAN_KEEP:
                break
        return found

    def _turn_hits(self, xy: XY, yaw0: float, yaw1: float) -> bool:
        """Whether a pivot at ``xy`` from ``yaw0`` to ``yaw1`` puts the footprint in a zone.

        Transits share their vertices (ring corners, lane ends): each pivot is judged once
        (:meth:`_judge_turn`), and its answer kept per exact pivot too (a ring path's
        hundreds of vertices are asked again by every candidate that follows it).
        """
        key = (xy[0], xy[1], yaw0, yaw1)
        hit = self._turn_answers.get(key)
        if hit is None:
            hit = self._turn_answers[key] = self._judge_turn(xy, yaw0, yaw1)
        return hit

    def _judge_turn(self, xy: XY, yaw0: float, yaw1: float) -> bool:
        """:meth:`_turn_hits` judged: near a zone, once per pivot rounded to a centimetre and
        a milliradian."""
        if not self._near_zone(xy, self._turn_reach, exact=False):
            return False
        key = (round(xy[0], 2), round(xy[1], 2), round(yaw0, 3), round(yaw1, 3))
        hit = self._turns.get(key)
        if hit is None:
            d = math.atan2(math.sin(yaw1 - yaw0), math.cos(yaw1 - yaw0))
            n = max(1, int(math.ceil(abs(d) / _TURN_STEP_RAD)))
            yaw = yaw0 + d * np.arange(n + 1) / n
            c, s_ = np.cos(yaw)[:, None], np.sin(yaw)[:, None]
            lx, ly = self._local[:, 0][None, :], self._local[:, 1][None, :]
            ring = np.stack([xy[0] + c * lx - s_ * ly, xy[1] + s_ * lx + c * ly], axis=-1)
            hit = bool(np.any(shapely.intersects(self.zone_block, shapely.polygons(ring))))
            self._turns[key] = hit
        return hit

    def _keep_out_m(self, pts: Sequence[XY], yaw_a: Optional[float] = None,
                    yaw_b: Optional[float] = None, clearance: bool = False) -> float:
        """Keep-out ground the footprint meets driving ``pts``, pivots included, m.

        Legs: metres of keep-out ground across the machine's width (front and rear in, as the
        supervisor sees them; with ``clearance``, a no-go zone grown by its
        ``exclusion_clearance_m``); each pivot (at the start from ``yaw_a``, at every bend, at
        the end onto ``yaw_b``) that swings it into a zone counts ``_TURN_HIT_M``.
        """
        if not self.zones:
            return 0.0
        parts = self._swept_parts(pts)
        tree, pieces = self._zone_pieces[clearance]
        excl = 0.0
        if len(parts) and tree is not None:
            part, piece = tree.query(parts, predicate='intersects')
            if len(part):
                met = shapely.intersection(parts[part], pieces[piece])
                excl = float(np.sum(shapely.area(met))) / (2.0 * self.p.footprint_half_width_m)
        for v, h0, h1 in _turns(pts, yaw_a, yaw_b):
            if self._turn_hits(v, h0, h1):
                excl += _TURN_HIT_M
        return excl

    def plan(self, start_xy: Optional[XY], start_yaw: Optional[float] = None) -> CoveragePlan:
        """Order the lanes greedily from the vehicle, re-cover the gaps, build the path.

        ``start_yaw``: the machine's facing at ``start_xy`` (None: free to pivot there).
        """
        try:
            legs, chosen, over, headland, here, back_to, yaw = self._legs(
                start_xy, yaw=start_yaw)
        except PlanningError as exc:
            if not str(exc).startswith(NOTHING_LEFT) or start_xy is None:
                raise
            # Every lane is processed, but gaps may be left beside keep-out zones (a re-plan
            # round a zone found late): the re-cover below, never "nothing left" before it.
            legs, chosen, over, headland, here, back_to, yaw = [], [], 0.0, [], start_xy, \
                None, start_yaw
            self._prepare_transits()
        covered = unary_union([self.processed, lane_strips(chosen, headland,
                                                           self.p.tool_width_m)])
        unplanned = []
        reach = self.reachable(start_xy)
        cut_off = []
        for _ in range(_GAP_ROUNDS):
            gaps = [g for g in _polys(self.workable.difference(covered).buffer(-SLIVER_M)
                                      .buffer(SLIVER_M))
                    if g.area >= MIN_GAP_M2]
            if reach is not None:
                # ground the tool cannot reach from the reachable side (a tool's reach beyond)
                reach_tool = reach.buffer(self.p.tool_offset_x_m + 0.5 * self.p.tool_width_m)
                cut_off = [g for g in gaps if not g.intersects(reach_tool)]
                gaps = [g for g in gaps if g.intersects(reach_tool)]
            if not gaps:
                break
            gaps.sort(key=lambda g: g.distance(Point(here)))
            unplanned = []
            for whole in gaps:
                along = self._zone_pass(whole, here)
                rest = [whole]
                if along is not None:
                    pts, cost, over_m = self.transit(here, along[0], self.region.difference(
                        covered), back_to, yaw, _heading(along))
                    if self._approach_hits(pts, here, back_to, yaw, _heading(along)):
                        along = None
                if along is not None:
                    legs += [(pts, False, _backs_out(here, back_to)), (along, True, False)]
                    over += over_m
                    # the tool leads the base by its offset: its strip is the pass moved on
                    tool = _ahead(along, self.p.tool_offset_x_m)
                    headland.append(tool)
                    here, back_to = along[-1], along[0]
                    yaw = _heading(along, last=True)
                    strip = lane_strips([], [tool], self.p.tool_width_m)
                    covered = unary_union([covered, strip])
                    # a pass along a zone covers the strip beside it; what else the gap holds
                    # (it may reach a field edge away from the zone) gets lanes of its own
                    rest = [g for g in _polys(whole.difference(strip).buffer(-SLIVER_M)
                                              .buffer(SLIVER_M))
                            if g.area >= _MIN_REST_LANES * self.p.tool_width_m ** 2
                            and g.distance(self.field.exterior) < self.p.tool_width_m]
                for gap in rest:
                    try:
                        s_legs, s_chosen, s_over, here, back_to, yaw = self._sub_plan(
                            gap, covered, here, back_to, yaw, unplanned)
                    except PlanningError as exc:
                        unplanned.append((gap, str(exc)))
                        continue
                    legs += s_legs
                    chosen += s_chosen
                    over += s_over
                    covered = unary_union([covered, lane_strips(s_chosen, [],
                                                                self.p.tool_width_m)])
        # whatever the rounds leave is reported, never silently skipped
        known = unary_union([g for g, _ in unplanned] + cut_off)
        for g in _polys(self.workable.difference(covered).buffer(-SLIVER_M)
                        .buffer(SLIVER_M)):
            rest = g.difference(known) if not known.is_empty else g
            if rest.area >= MIN_GAP_M2:
                unplanned.append((rest, _LEFT_AFTER_RECOVER))
        if not legs:
            left = sum(g.area for g, _ in unplanned) + sum(g.area for g in cut_off)
            raise PlanningError(NOTHING_LEFT + (f' the machine can reach ({left:.1f} m^2 '
                                                'beside keep-out zones no lane or pass reaches)'
                                                if left > 0.0 else ''))
        plan = self._assemble(legs, chosen, over, start_yaw)
        plan.headland = headland
        plan.unplanned = [(g, reason) for g, reason in unplanned] + [
            (g, 'cut off from the start by keep-out zones (exclusion or no-go)')
            for g in cut_off]
        return plan

    def _sub_plan(self, gap, covered, here: XY, back_to: Optional[XY],
                  yaw: Optional[float], unplanned: list):
        """Lanes over one gap from ``here``: (legs, lanes, metres over unprocessed ground,
        end point, back-out, yaw); raises :class:`PlanningError` when none fits. Lanes no
        approach reaches cleanly go to ``unplanned`` with the reason."""
        sub = _Planner(list(gap.exterior.coords), self._exclusion_rings,
                       dataclasses.replace(self.p, headland_passes='0', lane_angle_deg=AUTO),
                       processed=covered, safe_ground=self.safe,
                       no_go_zones=self._no_go_rings)
        sub.strict = True
        # this plan turns on its headland (if it does): nothing outside the field is known safe
        sub.known_ground = self.known_ground
        sub.avoid, sub.choices = self.avoid, self.choices
        # the way to the gap and between its lanes crosses the rest of the field: its
        # unprocessed ground is no more allowed than the gap's (judged on the gap alone, a
        # transit ran straight over another gap and the clearance round a no-go zone)
        # (near the way there only: far ground cannot change which way is cheapest)
        near = MultiPoint([here, *gap.exterior.coords]).envelope.buffer(
            _OUTER_REACH_M, join_style='mitre')
        sub.outer_unprocessed = self.region.intersection(near).difference(covered).difference(
            gap)
        try:
            s_legs, s_chosen, s_over, _, end, s_back, s_yaw = sub._legs(here, back_to, yaw)
        finally:
            unplanned += [(g.intersection(gap), _NO_CLEAN_APPROACH) for g in sub.skipped]
        return s_legs, s_chosen, s_over, end, s_back, s_yaw

    def _approach_hits(self, pts: List[XY], here: XY, back_to: Optional[XY],
                       yaw: Optional[float], yaw_b: Optional[float]) -> bool:
        """Whether a transit (as :meth:`transit` returns it) puts the footprint in a zone.

        A back-out (its first leg, in reverse along the lane just processed) is that lane's
        ground; the rest is judged from the facing kept while backing out.
        """
        if _backs_out(here, back_to):
            pts = pts[1:]
        return len(pts) > 1 and self._keep_out_m(pts, yaw, yaw_b) > 0.0

    @staticmethod
    def _within_reach(reach, cands: List[List[Lane]], rings: List[List[XY]]
                      ) -> Tuple[List[List[Lane]], List[List[XY]]]:
        """The lane options and headland passes that ``reach`` (:meth:`reachable`) meets."""
        cands = [[ln for ln in c if reach.intersects(LineString([ln.start, ln.end]))]
                 for c in cands]
        return [c for c in cands if c], [r for r in rings if reach.intersects(LineString(r))]

    def reachable(self, start_xy: Optional[XY]):
        """The ground base_link can reach from the start without the machine entering a zone.

        The field and declared safe ground, minus keep-out zones grown by the footprint's
        half width, in one piece with the start; None when there is no start (everything).
        A field cut in two by a zone that must not be crossed keeps only the start's side.
        Without headland passes the machine turns outside, and the belt round the field counts
        as drivable (declared safe, or ``headland_passes`` set to 0 by the operator). So does
        it when :attr:`enters_outside` is set: the way in then goes round the zones outside
        the field (within the geofence), on ground not declared safe but not the confirmed
        hazardous area either, where the bulb turns at the headland's corners go too.
        """
        if start_xy is None:
            return None
        # turning outside (no headland passes) drives the belt round the field as safe ground
        field = self.field if self.passes and not self.enters_outside else self.field.buffer(
            self.p.tool_offset_x_m + self.p.headland_offset_m + self.p.lane_spacing_m,
            join_style='mitre')
        if self.fence is not None and self.enters_outside:
            field = field.intersection(self.fence)
        ground = unary_union([field, self.safe]) if not self.safe.is_empty else field
        if self.zones:
            ground = ground.difference(self.zone_keep)
        here = Point(start_xy)
        # grown a little: ground that only touches (a lane meeting the field at a corner) joins
        parts = _polys(ground.buffer(SLIVER_M))
        if not parts:
            return None
        return min(parts, key=lambda g: g.distance(here))

    def _zone_edges(self):
        """Per zone (with its clearance): its pass edges and what else the pass must avoid."""
        if self._edges is None:
            half = 0.5 * self.p.tool_width_m
            self._edges = []
            for zone in _polys(self.zone_clear):
                others = shapely.prepared.prep(self.zone_block.difference(zone).buffer(half))
                keep = shapely.prepared.prep(self.zone_keep.difference(zone.buffer(half)))
                # The zone's own edges, and the sides of its box in the lane frame: a round
                # zone (a no-go disc, a 16-gon) has only ~1 m edges, whose passes cover little;
                # a tangent pass along a box side covers the whole strip the lanes leave on
                # that side (the tool's band touches the zone at one point).
                box_ = self._from_lane_geom(self._to_lane(zone).envelope)
                edges = []
                for shape in (zone, box_):
                    ring = list(shape.buffer(half, join_style='mitre').exterior.coords)
                    edges += [(a, b) for a, b in zip(ring[:-1], ring[1:])
                              if math.dist(a, b) >= _MIN_SEGMENT_M]
                # each edge with the strip its pass's tool covers (built once, not per gap)
                edges = [(a, b, LineString([a, b]).buffer(half, cap_style='flat'))
                         for a, b in edges]
                self._edges.append((zone, edges, others, keep))
        return self._edges

    def _zone_pass(self, gap, here: XY) -> Optional[List[XY]]:
        """A straight base path along an exclusion zone's edge whose tool covers a gap there.

        Lanes at an angle to a zone's edge stop where their band first touches it, which
        leaves a strip along the edge. The pass drives parallel to one edge, half a tool width
        off the clearance line, over the gap's extent along it, starting ``tool_offset_x_m``
        early (the tool leads). Corners are never driven round: a pivot there would swing the
        tool, metres ahead, over the zone.
        """
        if not self.zones:
            return None
        off = self.p.tool_offset_x_m
        best = None
        for zone, edges, others, keep in self._zone_edges():
            if zone.distance(gap) > SLIVER_M:
                continue
            for a, b, strip in edges:
                if not strip.intersects(gap):
                    continue
                edge = LineString([a, b])
                covered = strip.intersection(gap)
                if covered.area < MIN_GAP_M2:
                    continue
                along = shapely.line_locate_point(edge, shapely.points(_coords(covered)))
                s0, s1 = float(along.min()), float(along.max())
                ux, uy = (b[0] - a[0]) / edge.length, (b[1] - a[1]) / edge.length
                for d0, d1, sign in ((s0 - off, s1 - off, 1.0), (s1 + off, s0 + off, -1.0)):
                    p0 = (a[0] + ux * d0, a[1] + uy * d0)
                    p1 = (a[0] + ux * d1, a[1] + uy * d1)
                    if sign * (d1 - d0) <= _MIN_SEGMENT_M:
                        continue
                    path = LineString([p0, p1])
                    if others.intersects(path) or keep.intersects(path):
                        continue
                    # pivot onto the pass where the tool's swing clears every zone, then
                    # drive straight in (and back out the same way afterwards)
                    yaw = math.atan2(sign * uy, sign * ux)
                    pre = back_out_point(p0[0], p0[1], yaw, self.zone_block, self.pivot_reach,
                                         _BACK_OUT_STEP_M, _BACK_OUT_MAX_M) or p0
                    late = self.known_ground is not None and not self.known_ground.contains(
                        LineString([pre, p0]))
                    if late:
                        # the run-in (the tool's offset, the pivot's clearance) would start
                        # past the field's edge, on ground nobody declared safe: start
                        # later, where it is all inside (the tool then covers less of the gap)
                        pre = self._run_in_inside(pre, p1)
                        if pre is None:
                            continue
                        p0 = pre
                    p1 = self._clip_pass(pre, p1)
                    # a pass started late must still be long enough to be worth its approach
                    # (its run-in from outside the field is what the start moved off)
                    shortest = self.p.tool_width_m if late else _MIN_SEGMENT_M
                    if p1 is None or sign * ((p1[0] - p0[0]) * ux + (p1[1] - p0[1]) * uy) \
                            <= shortest:
                        continue
                    # the pass that covers most of the gap, the nearest of those (a
                    # tenth of a square metre decides: the rest is the transit's)
                    key = (-round(covered.area, 1), math.dist(here, pre))
                    if best is None or key < best[0]:
                        best = (key, [pre, p0, p1] if pre != p0 else [p0, p1])
        return best[1] if best is not None else None

    def _run_in_inside(self, a: XY, b: XY) -> Optional[XY]:
        """The first point of the straight pass ``a`` -> ``b`` from which the rest of it is
        on known ground (None: no such stretch longer than ``_MIN_SEGMENT_M``)."""
        inside = LineString([a, b]).intersection(self.known_ground)
        pieces = [g for g in getattr(inside, 'geoms', [inside])
                  if isinstance(g, LineString) and g.length > _MIN_SEGMENT_M]
        last = [g for g in pieces if g.distance(Point(b)) < SLIVER_M]
        if not last:
            return None
        ends = list(last[0].coords)
        start = max((ends[0], ends[-1]), key=lambda c: math.dist(c, b))
        return (float(start[0]), float(start[1]))

    def _swept_parts(self, pts: Sequence[XY]) -> np.ndarray:
        """The ground the footprint (hull and flail, plus the supervisor's stop margin ahead)
        covers driving straight along ``pts``: one rectangle per segment (shapely array)."""
        xy = np.asarray(pts, dtype=float).reshape(-1, 2)
        if len(xy) < 2:
            return np.empty(0, dtype=object)
        a, b = xy[:-1], xy[1:]
        d = np.hypot(*(b - a).T)
        keep = d > _EPS
        a, b, d = a[keep], b[keep], d[keep]
        if not len(d):
            return np.empty(0, dtype=object)
        u = (b - a) / d[:, None]
        n = np.column_stack([-u[:, 1], u[:, 0]])
        rear = self.p.footprint_rear_m
        half = self.p.footprint_half_width_m
        back = a - rear * u
        ahead = b + self._front * u
        ring = np.stack([back - half * n, ahead - half * n, ahead + half * n, back + half * n],
                        axis=1)
        return shapely.polygons(ring)

    def _swept(self, pts: Sequence[XY]):
        """The footprint swept along ``pts`` (see :meth:`_swept_parts`) as one geometry."""
        parts = self._swept_parts(pts)
        return unary_union(list(parts)) if len(parts) else Polygon()

    def _swept_hits(self, pts: Sequence[XY]) -> bool:
        """Whether the footprint swept along ``pts`` meets a keep-out zone."""
        parts = self._swept_parts(pts)
        return bool(len(parts)) and bool(np.any(shapely.intersects(self.zone_block, parts)))

    def _clip_pass(self, a: XY, b: XY) -> Optional[XY]:
        """Where a straight pass from ``a`` towards ``b`` must end so that the whole footprint
        (hull and flail, as the safety supervisor places it, plus its stop margin) stays out of
        every keep-out zone; None when even its start is not clear.

        The check is on the footprint swept from ``a`` to the end, not on base_link's line: a
        pass along one zone's edge may otherwise end with the flail metres into the next zone
        ahead, where the supervisor refuses every command and the machine is pinned.
        """
        if self.zone_block.is_empty:
            return b
        length = math.dist(a, b)
        if length < _EPS:
            return b
        ux, uy = (b[0] - a[0]) / length, (b[1] - a[1]) / length
        rear, front = self.p.footprint_rear_m, self.p.footprint_front_m + STOP_MARGIN_M
        half = self.p.footprint_half_width_m

        def swept(d: float) -> Polygon:
            pts = [(-rear, -half), (d + front, -half), (d + front, half), (-rear, half)]
            return Polygon([(a[0] + ux * s - uy * t, a[1] + uy * s + ux * t) for s, t in pts])

        if not self.zone_block.intersects(swept(length)):
            return b
        if self.zone_block.intersects(swept(0.0)):
            return None
        lo, hi = 0.0, length          # clear at lo, blocked at hi: bisect to a few cm
        while hi - lo > _CLIP_TOLERANCE_M:
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if not self.zone_block.intersects(swept(mid)) else (lo, mid)
        return (a[0] + ux * lo, a[1] + uy * lo)

    def _prepare_transits(self) -> None:
        """The rings transits may follow, and how far from one a lane end may join it."""
        self._rings = self.transit_rings()
        self._ring_reach = (self.p.tool_offset_x_m + self.p.headland_offset_m
                            + self.p.lane_end_margin_m + self.p.lane_spacing_m
                            if not self.passes else self.turn_depth + self.p.lane_spacing_m)

    def _legs(self, start_xy: Optional[XY], back_to: Optional[XY] = None,
              yaw: Optional[float] = None):
        """Return (legs, lanes, metres over unprocessed, headland, end point, back-out, yaw).

        ``yaw``: the machine's facing at ``start_xy`` (None: free to pivot anywhere).

        A leg is (points, work leg, whether its first segment is a back-out in reverse).
        """
        cands = self.build_lanes()
        rings = self.headland_rings()
        if not cands and not rings:
            if not self.processed.is_empty and not self.strict:
                # a re-plan after keep-out ground grew (a no-go zone, a place too steep)
                # round the work done: no lane fits what is left, but passes along the zones
                # may (the gap re-cover of :meth:`plan`); what none reaches is reported there
                # with its reason (a gap's own sub-plan, strict, says why it fits no lane)
                raise PlanningError(NOTHING_LEFT)
            if self.zones and self.field.distance(self.zone_clear) < self.p.tool_width_m:
                raise PlanningError(_BESIDE_ZONE)
            raise PlanningError('no lane fits the area (is it narrower than the tool?)')
        if not self.processed.is_empty:
            cands = [c for c in cands if not self._processed_already(c[0])]
            rings = [piece for r in rings if not self._processed_ring(r)
                     for piece in self._unprocessed_stretches(r)]
            if not cands and not rings:
                raise PlanningError(NOTHING_LEFT)
        reach = self.reachable(start_xy)
        if reach is not None:
            within = self._within_reach(reach, cands, rings)
            if not any(within) and self.passes and not self.enters_outside:
                # Keep-out zones cut the field off from the start (gen_at_uxo_lanes seed 9:
                # a TM-62P 1.7 m inside the field where the 3 m approach lane meets it; the
                # mission was aborted at 0.4 %, the whole field left): the way in goes round
                # them outside the field, as the headland's corner turns do, not nowhere.
                self.enters_outside = True
                reach = self.reachable(start_xy)
                within = self._within_reach(reach, cands, rings)
            cands, rings = within
            if not cands and not rings:
                # ground is left, but keep-out zones cut it off from the machine: never
                # "nothing left" (a mission would complete with that ground unprocessed)
                raise PlanningError(CUT_OFF)
        unprocessed = robust(shapely.difference, self.region, self.processed)
        if not self.outer_unprocessed.is_empty:
            # a zone's edge nearly on the field's (gen_at_uxo_lanes seed 11, pinned six times
            # round a suspect: "non-noded intersection")
            unprocessed = robust(shapely.union_all, [unprocessed, self.outer_unprocessed])
        unprocessed = without_slivers(unprocessed)
        self._prepare_transits()
        here = start_xy
        # (points, work leg, the first segment is driven in reverse: a back-out)
        legs: List[Tuple[List[XY], bool, bool]] = []
        chosen: List[Lane] = []
        remaining = list(range(len(cands)))
        over_total = 0.0
        first = True
        headland = []
        spiral = self._spiral(rings, here, yaw, unprocessed)
        if spiral is not None:
            if here is not None:
                pts, over = self._run_in(here, yaw, spiral[0], _heading(spiral), unprocessed)
                legs.append((pts, False, False))
                over_total += over
            first = False
            into = self._into_lane(spiral, cands, remaining)
            if into is not None:
                # the innermost pass turns straight into a lane at a corner
                i, lane, head = into
                spiral = self._corner_turns(head + [lane.end], unprocessed)[:-1]
                legs.append((spiral + [lane.end], True, False))
                chosen.append(lane)
                remaining.remove(i)
                unprocessed = without_slivers(unprocessed.difference(self.tool_footprint(lane)))
                here, yaw = lane.end, _heading([lane.start, lane.end])
                back_to = lane.start if lane.ends_at_zone else None
            else:
                spiral = self._corner_turns(spiral, unprocessed)
                legs.append((spiral, True, False))
                here, yaw = spiral[-1], _heading(spiral, last=True)
            headland.append(spiral)
            for ring in rings:
                unprocessed = without_slivers(unprocessed.difference(
                    LineString(ring).buffer(0.5 * self.p.tool_width_m, cap_style='flat')))
            rings = []
        while rings:
            ring, loop, run = self._next_pass(rings, here, yaw, unprocessed)
            rings.remove(ring)
            strip = LineString(ring).buffer(0.5 * self.p.tool_width_m, cap_style='flat')
            if run is not None:
                pts, over = run
                legs.append((pts, False, False))
                over_total += over
            first = False
            legs.append((loop, True, False))
            headland.append(loop)
            unprocessed = without_slivers(unprocessed.difference(strip))
            here = loop[-1]
            yaw = _heading(loop, last=True)
        if here is None:
            here = cands[0][0].start if cands else rings[0][0]
        # the swaths of the legs so far, up to ``legs[noted]`` (:meth:`_lane_approach`)
        done: List[Tuple[Tuple[float, float, float, float], Polygon]] = []
        noted = 0
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
            # refine among lanes whose start is within a few spacings of the nearest (and,
            # where one starts at an avoided place, among the lane's other directions)
            limit = best[0] + 3.0 * self.p.lane_spacing_m
            near = {i for i in remaining for lane in cands[i]
                    if min(math.dist(here, lane.start), math.dist(origin, lane.start)) <= limit}
            scored = []
            for i in sorted(near):
                avoided = [self._avoided(lane.start, _heading([lane.start, lane.end]))
                           for lane in cands[i]]
                for lane, at in zip(cands[i], avoided):
                    if not any(avoided) and min(math.dist(here, lane.start),
                                                math.dist(origin, lane.start)) > limit:
                        continue
                    pts, cost, over = self.transit(here, lane.start, unprocessed, back_to,
                                                   yaw, _heading([lane.start, lane.end]),
                                                   search=False)
                    scored.append((cost + (_AVOID_PENALTY if at else 0.0), i, lane, pts, over))
            cost, i, lane, pts, over = min(scored, key=lambda s: s[0])
            if len(cands[i]) > 1:
                self.choices.append((lane.start, _heading([lane.start, lane.end])))
            if over > _ROUTE_FALLBACK_M:
                pts, cost, over = self.transit(here, lane.start, unprocessed, back_to, yaw,
                                               _heading([lane.start, lane.end]))
            # (the transit from a plan's start pose is the start's: a gap's sub-plan starts
            # where the plan before it left the machine)
            if not first or self.strict and start_xy is not None:
                done += self._leg_swaths(legs[noted:])
                noted = len(legs)
                pts, cost, over = self._lane_approach(here, back_to, yaw, lane, pts, cost,
                                                      over, unprocessed, done)
            if self.strict and start_xy is not None and self._approach_hits(
                    pts, here, back_to, yaw, _heading([lane.start, lane.end])):
                # a gap's lane no approach reaches with the footprint out of every zone
                self.skipped.append(self.tool_footprint(lane))
                remaining.remove(i)
                continue
            if not first or start_xy is not None:
                legs.append((pts, False, _backs_out(here, back_to)))
                over_total += over
            first = False
            legs.append(([lane.start, lane.end], True, False))
            chosen.append(lane)
            unprocessed = without_slivers(unprocessed.difference(self.tool_footprint(lane)))
            remaining.remove(i)
            here = lane.end
            back_to = lane.start if lane.ends_at_zone else None
            yaw = _heading([lane.start, lane.end])
        return legs, chosen, over_total, headland, here, back_to, yaw

    def _approach_runs(self) -> Tuple[float, ...]:
        """Lengths of the straight run onto a lane's start tried by :meth:`_lane_approach`,
        m: the pivot disc's radius (the tracks' rear off the disc), the boom's offset, and
        that plus the radius (the boom, ahead of base_link, has looked at the whole disc
        behind the start on the run)."""
        p = self.p
        return (p.pivot_radius_m, p.sensor_offset_x_m, p.sensor_offset_x_m + p.pivot_radius_m)

    def _leg_swaths(self, legs: Sequence[Tuple[List[XY], bool, bool]]
                    ) -> List[Tuple[Tuple[float, float, float, float], Polygon]]:
        """Per moving segment of ``legs`` (as :meth:`_legs` builds them): (bounds, the ground
        the boom, the tool and the tracks swept on it), as :func:`.lead_in.blind_pivots`
        counts it seen."""
        p = self.p
        out = []
        for pts, _, backs in legs:
            for k, (a, b) in enumerate(zip(pts[:-1], pts[1:])):
                if math.dist(a, b) <= _EPS:
                    continue
                a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
                # a back-out (the first segment) is driven facing against it
                face = math.atan2(b[1] - a[1], b[0] - a[0]) + (math.pi if backs and not k
                                                               else 0.0)
                seen = robust(shapely.union_all, [
                    _strip(a, b, face, p.sensor_offset_x_m, 0.5 * p.sensor_width_m),
                    _strip(a, b, face, p.tool_offset_x_m, 0.5 * p.tool_width_m),
                    _strip(a, b, face, 0.0, p.contact_half_width_m, 0.5 * p.track_length_m)])
                out.append((seen.bounds, seen))
        return out

    def _track_ground(self, pts: Sequence[XY], back_out: bool, yaw_a: Optional[float],
                      yaw_b: float, unprocessed, not_allowed, seen_before=None
                      ) -> Tuple[float, int, int, float]:
        """(blind m^2, stretches on unprocessed ground, stretches on ground not allowed, that
        ground m^2) of the tracks driving ``pts``.

        Blind: what the pivots sweep of ``unprocessed`` ground that nothing has looked at
        (per pivot none up to :data:`.lead_in.BLIND_TOLERANCE_M2`, as
        :func:`.lead_in.blind_pivots` counts them): the tracks' rectangle turned in steps,
        less what the legs before swept with the boom (``sensor_offset_x_m`` ahead), the
        tool and the tracks, and ``seen_before`` (the path's earlier legs). Stretches: runs
        of pivots and legs whose tracks press ``unprocessed`` (``not_allowed``: with ground
        outside the field not declared safe) ground the tool has not processed first, as
        :func:`.allowed.check_path` counts field (footprint) violations: the tool is down,
        it leads on a leg driven forwards; a leg is judged over its length and where it
        ends. The area is what the legs and pivots press of it.

        ``back_out``: the first leg is driven in reverse; a run that retraces the one before
        it is too, as the path is assembled. The machine faces ``yaw_a`` at the start,
        having come straight along it (a lane: its swaths count, a run of the boom's reach),
        and pivots onto ``yaw_b`` at the end.
        """
        p = self.p
        xy = np.asarray(pts, dtype=float).reshape(-1, 2)
        if len(xy) < 2 or not_allowed.is_empty:
            return 0.0, 0, 0, 0.0
        flags = np.zeros(len(xy), dtype=bool)
        flags[0] = back_out
        flags = _retraces_in_reverse(xy, np.zeros(len(xy), dtype=bool), flags,
                                     p.corner_angle_rad, p.reverse_turn_rad)
        facing = _facing(xy, flags)
        half_len = 0.5 * p.track_length_m
        half = max(p.contact_half_width_m - p.allowed_ground_tolerance_m, 0.0)
        geometry = lead_geometry(p)
        tool: List[Polygon] = []        # processed by the tool on the legs so far
        # looked at by the boom, processed by the tool or pressed by the tracks
        seen: List[Polygon] = [] if seen_before is None else [seen_before]
        hits: List[Tuple[bool, bool]] = []      # per leg, leg's end and pivot: (field, any)
        pressed: List[float] = []               # per leg and pivot: ground not allowed, m^2

        def judge(ground: Polygon, more: Sequence[Polygon] = (), count: bool = True
                  ) -> Polygon:
            """Note whether the tracks on ``ground`` press ground not allowed that the tool
            has not processed (with ``more``); return that ground of the field."""
            bare = robust(shapely.intersection, ground, not_allowed)
            done = tool + list(more)
            if not bare.is_empty and done:
                bare = robust(shapely.difference, bare, robust(shapely.union_all, done))
            field = (robust(shapely.intersection, bare, unprocessed)
                     if not bare.is_empty and not_allowed is not unprocessed else bare)
            hits.append((field.area > BLIND_TOLERANCE_M2, bare.area > BLIND_TOLERANCE_M2))
            if count:
                pressed.append(float(bare.area))
            return field

        def drive(a: np.ndarray, b: np.ndarray, face: float, count: bool = True) -> None:
            """Judge a leg's tracks (over it, where it ends); note its swaths."""
            own = _strip(a, b, face, p.tool_offset_x_m, 0.5 * p.tool_width_m)
            led = [own] if math.cos(math.atan2(b[1] - a[1], b[0] - a[0]) - face) > 0.0 \
                else []
            if count:
                judge(_strip(a, b, face, 0.0, half, half_len), led)
                judge(Polygon(rectangle(b[0], b[1], face, half_len, half_len, half)), led,
                      count=False)
            tool.append(own)
            seen.extend([own, _strip(a, b, face, p.sensor_offset_x_m, 0.5 * p.sensor_width_m),
                         _strip(a, b, face, 0.0, p.contact_half_width_m, half_len)])

        def turn(v: np.ndarray, h0: float, h1: float) -> float:
            """Judge a pivot at v from h0 onto h1; its blind ground, m^2."""
            sweep = pivot_sweep(float(v[0]), float(v[1]), h0, h1, geometry)
            if sweep.is_empty:
                return 0.0
            field = judge(sweep)
            if field.is_empty:
                return 0.0
            blind = robust(shapely.difference, field, robust(shapely.union_all, seen)).area
            return float(blind) if blind > BLIND_TOLERANCE_M2 else 0.0

        face = yaw_a
        if yaw_a is not None:
            # the lane (or leg) the machine came along: its swaths count, not its ground
            came = p.sensor_offset_x_m + p.pivot_radius_m
            drive(xy[0] - came * np.array([math.cos(yaw_a), math.sin(yaw_a)]), xy[0], yaw_a,
                  count=False)
        blind = 0.0
        for i in range(len(xy) - 1):
            if math.dist(xy[i], xy[i + 1]) <= _EPS:
                continue
            if face is not None:
                blind += turn(xy[i], face, float(facing[i]))
            face = float(facing[i])
            drive(xy[i], xy[i + 1], face)
        if face is not None:
            blind += turn(xy[-1], face, yaw_b)
        # a stretch begins where the tracks go onto such ground from allowed ground
        rises = [sum(1 for k, h in enumerate(hits) if h[j] and (k == 0 or not hits[k - 1][j]))
                 for j in (0, 1)]
        return blind, rises[0], rises[1], sum(pressed)

    def _lane_approach(self, here: XY, back_to: Optional[XY], yaw: Optional[float],
                       lane: Lane, pts: List[XY], cost: float, over: float, unprocessed,
                       done: Sequence[Tuple[Tuple[float, float, float, float], Polygon]] = ()
                       ) -> Tuple[List[XY], float, float]:
        """(points, cost, metres over unprocessed ground) of the transit onto ``lane``'s start.

        The transit ``pts`` (as :meth:`transit` returns it) pivots onto the lane at its start.
        Where that pivot's tracks sweep ground nothing has looked at (a lane starting inside
        unprocessed ground: in a gap, in a wedge between zones) an undetected AT mine there
        goes off under a track. Tried instead: a transit to a point behind the start, at a
        heading of :data:`_APPROACH_DEG` off the lane's, :meth:`_approach_runs` back, where
        the tracks' disc lies on processed (or declared safe) ground, a pivot there and
        straight on to the start (the tool working where the run crosses unprocessed ground,
        the boom ahead looking at what the pivot at the start then sweeps). The run stays on
        known ground and in the geofence, and neither it nor the pivot puts the footprint in
        a keep-out zone. Ranked by the blind ground of the pivot at the start; the least
        blind few get a transit. A way is taken only when none of its pivots near sweeps
        blind ground (:meth:`_track_ground`, with ``done``: the swaths of the path's legs
        so far, :meth:`_leg_swaths`, and the ground scanned or driven before the plan) and
        its tracks press no more ground not allowed, in area or in separate stretches, than
        the transit's; the cheapest such way wins.
        Otherwise the transit is kept, its blind pivot counted and reported.
        """
        v = lane.start
        if len(pts) < 2 or math.dist(pts[-1], v) > _EPS or unprocessed.is_empty:
            return pts, cost, over
        p = self.p
        yaw_b = _heading([lane.start, lane.end])
        backs = _backs_out(here, back_to)
        # nothing to gain where the pivot onto the lane sweeps no unprocessed ground
        if not unprocessed.intersects(Point(v).buffer(p.pivot_radius_m, _DISC_SEGMENTS)):
            return pts, cost, over
        # the ground the pivots judged here reach, clipped once: unprocessed, and not
        # allowed (with the outside of the field not declared safe, on a plan that turns on
        # its headland)
        reach = max(self._approach_runs()) + p.pivot_radius_m + p.sensor_offset_x_m
        near = MultiPoint([here, v]).envelope.buffer(reach, join_style='mitre')
        local = robust(shapely.intersection, unprocessed, near)
        bad = local if self.known_ground is None else robust(
            shapely.union_all, [local, robust(shapely.difference, near, self.known_ground)])
        x0, y0, x1, y1 = near.bounds
        close = [g for (a0, b0, a1, b1), g in done
                 if a0 <= x1 and x0 <= a1 and b0 <= y1 and y0 <= b1]
        # and what the boom scanned and the tracks drove before the plan (as
        # :func:`.lead_in.blind_pivots` counts it seen)
        close += [robust(shapely.intersection, g, near) for g in (self.scanned, self.driven)
                  if g is not None and not g.is_empty]
        seen = robust(shapely.union_all, close) if close else None
        base, *base_hits = self._track_ground(pts, backs, yaw, yaw_b, local, bad, seen)
        if base <= 0.0:
            return pts, cost, over

        def clean(q: XY) -> bool:
            """Whether the tracks' disc at ``q`` lies on processed, known ground."""
            inside, outside = self._disc_areas(q, local)
            return inside <= _CORNER_SLIVER_M2 and outside <= _CORNER_SLIVER_M2

        found = []
        for step in _APPROACH_DEG:
            for sign in ((1.0,) if step == 0 else (1.0, -1.0)):
                heading = yaw_b + sign * math.radians(step)
                for run in self._approach_runs():
                    q = (v[0] - run * math.cos(heading), v[1] - run * math.sin(heading))
                    leg = LineString([q, v])
                    if (self.known_ground is not None
                            and not self.known_ground.covers(leg)) or (
                            self.fence is not None and not self.fence.covers(leg)) or \
                            not clean(q) or self._keep_out_m([q, v], heading, yaw_b) > 0.0:
                        continue
                    rank = self._track_ground([q, v], False, None, yaw_b, local, bad, seen)[0]
                    if rank < base:
                        found.append((rank, run, q, heading))
        best = None
        for _, run, q, heading in sorted(found)[:_APPROACH_KEEP]:
            q_pts, q_cost, q_over = self.transit(here, q, unprocessed, back_to, yaw, heading,
                                                 search=False)
            way = q_pts + [v]
            if q_cost >= _EXCLUSION_PENALTY or self._approach_hits(way, here, back_to, yaw,
                                                                   yaw_b):
                continue
            blind, *hits = self._track_ground(way, backs, yaw, yaw_b, local, bad, seen)
            if blind > 0.0 or any(h > b for h, b in zip(hits[:2], base_hits[:2])) or \
                    hits[2] > base_hits[2] + _EPS:
                continue
            run_over = LineString([q, v]).intersection(unprocessed).length
            total = q_cost + run + UNPROCESSED_PENALTY * run_over
            if best is None or total < best[1]:
                best = (way, total, q_over + run_over)
        return best if best is not None else (pts, cost, over)

    def _next_pass(self, rings: List[List[XY]], here: Optional[XY], yaw: Optional[float],
                   unprocessed) -> Tuple[List[XY], List[XY], Optional[Tuple[List[XY], float]]]:
        """(ring, the pass to drive, its run-in or None) of the headland pass to drive next.

        A re-plan leaves stretches of the passes (a no-go zone or the work done cut them):
        each may be driven from either end, and its first pivot sweeps the tracks' disc there.
        The nearest end is often on the field's unprocessed ground, where an undetected
        mine is under the disc (the boom never scanned it: quick_mixed, a TM-62M under a
        track); the far one on processed ground or on the approach lane. So every stretch,
        each way, is judged as :meth:`_run_in` judges a run-in (the disc's unprocessed
        ground, then the cost; transits ranked without the raster search), and the best is
        driven first. Closed passes alone (nothing cut them) are driven in turn, each from its
        vertex nearest the machine, as before.
        """
        if here is None or all(r[0] == r[-1] for r in rings):
            ring = rings[0]
            loop = self._corner_turns(_loop_from(ring, here, self.p.tool_offset_x_m)
                                      if ring[0] == ring[-1] else ring, unprocessed)
            if here is None:
                return ring, loop, None
            pts, _, over = self.transit(here, loop[0], unprocessed, yaw_a=yaw,
                                        yaw_b=_heading(loop))
            return ring, loop, (pts, over)
        ways = [(ring, way) for ring in rings
                for way in ([_loop_from(ring, here, self.p.tool_offset_x_m)]
                            if ring[0] == ring[-1] else [ring, ring[::-1]])]
        # ways that lower the tool where an earlier plan lowered it blind (:attr:`avoid`), at
        # their start or a corner, are taken only when every way that does so less often puts
        # the footprint in keep-out or leaves the fence
        hits = [self._avoided_on(way) for _, way in ways]
        best = None
        for n in sorted(set(hits)):
            group = [w for w, h in zip(ways, hits) if h == n]
            if best is not None and not best[0][0]:
                break
            found = None
            for ring, way in group:
                # (the corner turns keep a pass's start and first heading)
                scored = self._run_in_scored(here, yaw, way[0], _heading(way), unprocessed,
                                             search=False,
                                             bound=found[0] if found is not None else None)
                if scored is not None:
                    found = (scored[0], ring, way)
            if found is not None and (best is None or found[0][0] < best[0][0]):
                best = found
        assert best is not None
        _, ring, way = best
        if len(ways) > 1:
            self.choices += _corners(way)
        loop = self._corner_turns(way, unprocessed)
        return ring, loop, self._run_in(here, yaw, loop[0], _heading(loop), unprocessed)

    def _spiral(self, rings: List[List[XY]], here: Optional[XY], yaw: Optional[float],
                unprocessed) -> Optional[List[XY]]:
        """The headland passes as one path, each pass handing over to the next at a corner.

        Driven as separate loops, each pass ends where it began and a transit hops inwards
        to the next: two pivots whose discs sweep the inner passes' ground, not processed yet.
        Here the outermost pass runs round from its start and on along its first side to where
        the next pass's side line crosses it, turns onto that line at the corner, and so on
        inwards (a spiral): every change of pass is a corner, turned by :meth:`_corner_turns`
        like the others. The direction round (and the start corner) is the one the machine
        reaches best from ``here``. None when the passes are not one closed loop each, nested
        (zones cut them, or the field splits), or a single pass: they are then driven one by
        one. The path's corners are turned by the caller (:meth:`_corner_turns`).
        """
        if len(rings) < 2 or any(len(r) < 4 or r[0] != r[-1] for r in rings):
            return None
        polys = [Polygon(r) for r in rings]
        if any(not (a.is_valid and b.is_valid and a.contains(b))
               for a, b in zip(polys[:-1], polys[1:])):
            return None
        best = None
        for pts in (rings[0][:-1], rings[0][::-1][:-1]):
            loop = _loop_from(pts + [pts[0]], here)
            cost = (self.transit(here, loop[0], unprocessed, yaw_a=yaw, yaw_b=_heading(loop),
                                 search=False)[1] if here is not None else 0.0)
            if best is None or cost < best[0]:
                best = (cost, loop)
        path = list(best[1])
        ccw = shapely.LinearRing(path).is_ccw
        # the outermost pass runs on round to its first corner after the start (a vertex
        # where the follower pivots: a curved side has many it drives through)
        cycle = path[:-1]
        n = len(cycle)
        sharp = [k for k in range(1, n + 1) if self.p.corner_angle_rad < abs(_turn_at(
            cycle[k - 1], cycle[k % n], cycle[(k + 1) % n]))]
        if not sharp:
            return None
        c = sharp[0]
        mark = len(path) - 1            # where the pass's run into its handover corner starts
        path.extend(cycle[1:c])
        corner = cycle[c % n]
        reach = _HANDOVER_SPACINGS * self.p.lane_spacing_m
        for ring in rings[1:]:
            inner = ring[:-1] if shapely.LinearRing(ring).is_ccw == ccw else ring[::-1][:-1]
            j = min(range(len(inner)), key=lambda i: math.dist(inner[i], corner))
            inner = inner[j:] + inner[:j]
            # the next pass's first side, back from its corner, crosses this pass's last run
            d = math.dist(inner[0], inner[1])
            if d < _EPS:
                return None
            back = (inner[0][0] - reach * (inner[1][0] - inner[0][0]) / d,
                    inner[0][1] - reach * (inner[1][1] - inner[0][1]) / d)
            run = LineString(path[mark:] + [corner])
            hit = run.intersection(LineString([inner[0], back]))
            hits = [g for g in getattr(hit, 'geoms', [hit]) if isinstance(g, Point)]
            if not hits:
                return None
            at = max(run.project(q) for q in hits)
            path[mark:] = _line_xy(substring(run, 0.0, at)) if at > _EPS else path[mark:mark + 1]
            mark = len(path)
            path.extend(inner)
            corner = inner[0]
        # the innermost pass closes, and runs on by the tool's lead (as :func:`_loop_from`)
        last, nxt = path[mark], path[mark + 1]
        d = math.dist(last, nxt)
        path.append(last)
        if d > _EPS:
            f = min(1.0, self.p.tool_offset_x_m / d)
            path.append((last[0] + f * (nxt[0] - last[0]), last[1] + f * (nxt[1] - last[1])))
        return _drop_repeats(path)

    def _into_lane(self, spiral: List[XY], cands: List[List[Lane]], remaining: List[int]
                   ) -> Optional[Tuple[int, Lane, List[XY]]]:
        """(index, lane, spiral path up to the lane) of the lane the spiral's innermost pass
        turns into at a corner, or None.

        The innermost pass ends by closing its last side and running on along its first, on
        ground it processed; from there a transit to the first lane would pivot on the pass,
        its disc reaching into the lanes' unprocessed ground. Instead the pass turns into a
        lane where the lane's line crosses that run (a lane starting on the headland there),
        at a corner turned like the others (:meth:`_corner_turns`). The crossing may also lie
        on the last side within a lane spacing of its end: the corner it cuts lies in the
        first side's band and the lane's. The lane reached first wins; None when no lane's
        line crosses there at a corner's angle near the lane's start.
        """
        if len(spiral) < 3:
            return None
        runs = ((spiral[-2], spiral[-1], spiral[:-1], 1.0 - _EPS, math.inf),
                (spiral[-3], spiral[-2], spiral[:-2], -math.inf, 1.0 + _EPS))
        reach = _HANDOVER_SPACINGS * self.p.lane_spacing_m
        best = None
        for rank, (a, b, head, t_min, t_max) in enumerate(runs):
            for i in remaining:
                for lane in cands[i]:
                    cross = _line_cross(a, b, lane.start, lane.end)
                    if cross is None or not (t_min <= cross[1] <= t_max) or (
                            rank and math.dist(cross[0], b) > self.p.lane_spacing_m + _EPS):
                        continue
                    along = _line_cross(lane.start, lane.end, a, b)
                    turn = abs(_turn_at(a, cross[0], lane.end))
                    if not (self.p.corner_angle_rad < turn < self.p.reverse_turn_rad) or \
                            along is None or not (0.0 <= along[1] < 0.5) or math.dist(
                                cross[0], lane.start) > reach:
                        continue
                    key = (rank, abs(cross[1] - 1.0))
                    if best is None or key < best[0]:
                        best = (key, i, lane, head + [cross[0]])
        return None if best is None else best[1:]

    def _disc_areas(self, v: XY, unprocessed, done: Optional[Polygon] = None,
                    heading: Optional[float] = None) -> Tuple[float, float]:
        """(unprocessed ground of the field, ground outside it not declared safe) in the
        tracks' pivot disc at ``v``, m^2; ``done``: ground processed besides. The first counts
        ``suspect_pivot_penalty_m2`` more for each known suspect on that unprocessed ground
        (:meth:`_suspects_m2`): a cost for the choices, not a measured area; so does each
        suspect on the disc's ground outside the field that is not declared safe (the boom
        sweeps the turning ground outside too, and a suspect it found there is as much a
        suspect under a track: gen_at_uxo_lanes seed 1, stop 57's code, recorded 40 suspects
        under a track, 28 of them more than 0.5 m outside the 24 x 18 m field, where it
        turns).

        ``heading``: the machine drives on in it with the tool working. The tool's line is
        ``tool_offset_x_m`` ahead, past the tracks' front: the ground between them is
        stood on before the tool processes it, also where the disc does not reach it (its
        corners at the tracks' front; gen_random seed 8: a TM-62M 2.3 m ahead, 0.97 m to
        the side of a headland corner's pivot went off under the left track's front).
        """
        disc = Point(v).buffer(self.p.pivot_radius_m, _DISC_SEGMENTS)
        if heading is not None:
            fx, fy = math.cos(heading), math.sin(heading)
            ax, ay = self.p.tool_offset_x_m * fx, self.p.tool_offset_x_m * fy
            sx, sy = -self.p.contact_half_width_m * fy, self.p.contact_half_width_m * fx
            disc = disc.union(Polygon([(v[0] + sx, v[1] + sy), (v[0] + ax + sx, v[1] + ay + sy),
                                       (v[0] + ax - sx, v[1] + ay - sy), (v[0] - sx, v[1] - sy)]))
        inside = disc.intersection(unprocessed) if not unprocessed.is_empty else Polygon()
        if done is not None and not inside.is_empty:
            inside = inside.difference(done)
        beyond = (disc.difference(self.known_ground) if self.known_ground is not None
                  else Polygon())
        return inside.area + self._suspects_m2(inside, beyond), beyond.area

    def suspect_hazard(self):
        """The detected suspects' ground a track may not press: their discs less the
        processed and declared safe ground (None: no suspect, or none left there)."""
        if self._suspect_ground is None:
            return None
        hazard = suspect_hazard(self._suspect_ground, self.processed, self.safe)
        return None if hazard.is_empty else hazard

    def _suspects_m2(self, *grounds) -> float:
        """The penalty of the suspects whose disc meets any of ``grounds`` (a pivot disc's
        ground not allowed), m^2 (``suspect_pivot_penalty_m2`` each, once; 0 without
        suspects)."""
        if self._suspects is None:
            return 0.0
        hits = set()
        for ground in grounds:
            if not ground.is_empty:
                hits.update(self._suspects.query(ground, predicate='intersects').tolist())
        return float(len(hits)) * self.p.suspect_pivot_penalty_m2

    def _run_in(self, here: XY, yaw: Optional[float], b: XY, yaw_b: float, unprocessed
                ) -> Tuple[List[XY], float]:
        """(points, metres over ground not allowed) of the transit onto ``b`` in ``yaw_b``
        (:meth:`_run_in_scored`)."""
        best = self._run_in_scored(here, yaw, b, yaw_b, unprocessed)
        assert best is not None
        return best[1:]

    def _run_in_scored(self, here: XY, yaw: Optional[float], b: XY, yaw_b: float,
                       unprocessed, search: bool = True,
                       bound: Optional[Tuple[bool, float, float]] = None
                       ) -> Optional[Tuple[Tuple[bool, float, float], List[XY], float]]:
        """(key, points, metres over ground not allowed) of the transit onto ``b`` in
        ``yaw_b``; key: (whether it puts the footprint in a keep-out zone or leaves the
        geofence at all, :meth:`_leaves_allowed`;
        unprocessed field ground under the tracks at its last pivot and where they stand
        before the tool, m^2; cost), lower is better. None when no key is below ``bound``
        (None: no bound). The first term ranks before the disc: a run-in whose tracks stay
        on processed ground but whose pivot swings the hull into a zone, or whose transit
        leaves the fence, must never beat one that does neither (the supervisor would stop
        it there; a plan leaving the fence is refused).

        Besides the transit straight onto ``b`` (a pivot there), a run-in: a transit to a
        point behind ``b`` on its line (:data:`_CORNER_RUNS_M`), a pivot there and straight
        on, so the pivot's disc lies on processed ground or outside the field, not on the
        field's unprocessed ground (as :meth:`_corner_turns` does at a corner). The ground
        is judged first: a run-in with more of it than the best so far (or ``bound``), when
        that one is clear of keep-out, cannot win, and its transit is not searched.
        """
        best = None
        for d in (0.0,) + _CORNER_RUNS_M:
            q = (b[0] - d * math.cos(yaw_b), b[1] - d * math.sin(yaw_b))
            if d > 0.0 and self._keep_out_m([q, b], yaw_b, yaw_b) > 0.0:
                continue
            # the tracks stand between their rear and the tool at q: ground there the tool
            # has not processed is stood on (or swept) before the tool reaches it
            stand = LineString([(q[0] - 0.5 * self.p.track_length_m * math.cos(yaw_b),
                                 q[1] - 0.5 * self.p.track_length_m * math.sin(yaw_b)),
                                (q[0] + self.p.tool_offset_x_m * math.cos(yaw_b),
                                 q[1] + self.p.tool_offset_x_m * math.sin(yaw_b))]).buffer(
                self.p.contact_half_width_m, cap_style='flat')
            stood = stand.intersection(unprocessed).area if not unprocessed.is_empty else 0.0
            ground = _field_m2(self._disc_areas(q, unprocessed)[0]) + _field_m2(stood)
            limit = best[0] if best is not None else bound
            # more ground than a run-in clear of keep-out cannot win (one with the penalty
            # can lose to any without it, whatever its ground)
            if limit is not None and not limit[0] and ground > limit[1]:
                continue
            pts, cost, over = self.transit(here, q, unprocessed, yaw_a=yaw, yaw_b=yaw_b,
                                           search=search)
            key = (self._leaves_allowed(pts, cost, yaw, yaw_b), ground, cost + d)
            if limit is None or key < limit:
                best = (key, (pts + [b]) if d > 0.0 else pts, over)
        return best

    def _leaves_allowed(self, pts: Sequence[XY], cost: float, yaw_a: Optional[float],
                        yaw_b: Optional[float]) -> bool:
        """Whether the transit ``pts`` (of ``cost``, :meth:`_transit_cost`) puts the footprint
        in a keep-out zone or leaves the geofence, however little.

        A cost of :data:`_EXCLUSION_PENALTY` is a metre of it; a few centimetres cost less
        than the ground the run-ins are ranked on before their cost (bench/coverage.py
        --replay: mixed_field seed 1's plan_003 entered a no-go zone; ranked blind-first, a
        run-in of gen_at_uxo_lanes seed 1's plan_002 with the hull 12 cm into one won), so
        the footprint itself is judged whenever the cost holds any penalty (it is above the
        transit's length)."""
        if cost >= _EXCLUSION_PENALTY:
            return True
        line = LineString(pts)
        return cost > line.length + _EPS and self._excluded_m(pts, yaw_a, yaw_b, line) > 0.0

    def _excluded_m(self, pts: Sequence[XY], yaw_a: Optional[float], yaw_b: Optional[float],
                    line: LineString) -> float:
        """Metres of driving ``pts`` (as ``line``) that count as keep-out in a transit's cost:
        the footprint's keep-out ground (:meth:`_keep_out_m`), and the path outside the
        geofence (stopped there: as bad as keep-out)."""
        excl = self._keep_out_m(pts, yaw_a, yaw_b, clearance=True)
        if self.fence is not None and not self.fence.covers(line):
            excl += line.difference(self.fence).length
        return excl

    def _corner_turns(self, loop: List[XY], unprocessed) -> List[XY]:
        """The headland pass ``loop`` with each corner turned where its pivots sweep least.

        A pivot at a pass's corner sweeps the tracks' disc (``pivot_radius_m``, 2.2 m) over
        ground the pass has not processed: a 2 m pass cannot hold the disc, the inner passes
        are not driven yet, and on the outermost pass part of the disc is outside the field.
        Instead the pass may run on past the corner (the tool processing ahead), pivot there,
        drive back to the next side's line behind the corner and pivot onto it: a bulb turn
        of two pivots. With ~2.8 m of each at a right angle both discs lie on the processed
        bands and, on the outermost pass, outside the field. Each corner keeps the turn (the
        plain pivot or a bulb of :data:`_CORNER_RUNS_M`) whose pivots sweep the least
        unprocessed ground of the field, then the least ground outside it not declared safe,
        then the shortest: both are ground not allowed, but the field is confirmed hazardous
        (a confirmed hazardous area is drawn round the evidence of mines: IMAS 07.11, land
        release), so where the tracks must sweep one or the other they sweep the outside. A
        bulb keeps the footprint out of keep-out zones and inside the geofence. Processed is
        what ``unprocessed`` leaves out and the loop's tool strip so far (the tool leads the
        base by ``tool_offset_x_m``).

        Between turns that sweep as much of the field, the one whose lowerings (the tool goes
        down after each pivot) leave the least blind ground in their lead bands wins
        (:func:`.lead_in.lead_band`: ground the tool reaches before the boom has seen it),
        before the ground outside: a bulb that drives back far enough behind the corner puts
        the band onto the swath the boom swept along the incoming side (``sensor_width_m``
        wide), a short one leaves it on the field's unseen ground.
        """
        p = self.p
        if len(loop) < 3 or p.pivot_radius_m <= 0.0:
            return loop
        lead = lead_geometry(p)

        def swath(a: XY, b: XY, ahead: float, width: float):
            """What a line ``ahead`` of the base, ``width`` wide, sweeps from ``a`` to ``b``."""
            if math.dist(a, b) < _EPS:
                return Polygon()
            return LineString(_ahead([a, b], ahead)).buffer(0.5 * width, cap_style='flat')

        def boom(a: XY, b: XY):
            """The boom's swath while the base drives from ``a`` to ``b``."""
            return swath(a, b, p.sensor_offset_x_m, p.sensor_width_m)

        seen: List[Polygon] = []        # the boom's swaths so far, and their bounds
        seen_bounds: List[Tuple[float, float, float, float]] = []
        # a corner's lowerings lie within its longest runs of it, their bands a boom's reach on
        band_reach = max(_CORNER_RUNS_M) + p.sensor_offset_x_m + 0.5 * p.tool_width_m

        def near(polys, boxes, v: XY, radius: float):
            """Of ``polys`` those whose bounds come within ``radius`` of ``v``, as one."""
            hits = [g for g, (x0, y0, x1, y1) in zip(polys, boxes)
                    if x0 <= v[0] + radius and v[0] - radius <= x1
                    and y0 <= v[1] + radius and v[1] - radius <= y1]
            return unary_union(hits) if hits else Polygon()

        def looked(v: XY):
            """The swaths and strips so far that a lead band near corner ``v`` may touch."""
            return near(strips + seen, bounds + seen_bounds, v, band_reach)

        def blind(v: XY, heading: float, before, *more: Polygon) -> float:
            """Unseen unprocessed ground of the lead band of a lowering at ``v`` onto
            ``heading``, ``before`` (:func:`looked`) and ``more`` seen, m^2."""
            band = lead_band(v[0], v[1], heading, lead).intersection(unprocessed)
            if band.is_empty:
                return 0.0
            area = band.difference(unary_union([before, *more])).area
            return _field_m2(area) if area > BLIND_TOLERANCE_M2 else 0.0

        def strip(a: XY, b: XY):
            """The tool's strip while the base drives from ``a`` to ``b``: the tool leads."""
            return swath(a, b, p.tool_offset_x_m, p.tool_width_m)

        strips: List[Polygon] = []      # the tool's strips so far, and their bounds
        bounds: List[Tuple[float, float, float, float]] = []
        reach = p.pivot_radius_m

        def swept(v: XY, heading: float, before, *more: Polygon) -> Tuple[float, float]:
            """What the pivot at ``v`` onto ``heading`` sweeps with ``before`` (the strips near)
            and ``more`` processed (the disc, and the tracks' way on to the tool's line)."""
            inside, outside = self._disc_areas(v, unprocessed, unary_union([before, *more]),
                                               heading)
            return _field_m2(inside), outside

        def add(*pieces: Polygon) -> None:
            for g in pieces:
                if not g.is_empty:
                    strips.append(g)
                    bounds.append(g.bounds)

        out: List[XY] = [loop[0]]
        for i in range(1, len(loop) - 1):
            prev, v, nxt = out[-1], loop[i], loop[i + 1]
            h_in = math.atan2(v[1] - prev[1], v[0] - prev[0])
            h_out = math.atan2(nxt[1] - v[1], nxt[0] - v[0])
            best: List[XY] = []
            if p.corner_angle_rad < abs(_turn_at(prev, v, nxt)) < p.reverse_turn_rad:
                before = looked(v)
                # a bulb's pivots lie within its longest runs of the corner
                processed = near(strips, bounds, v, reach + max(_CORNER_RUNS_M))
                inside, outside = swept(v, h_out, processed, strip(prev, v))
                best_cost = (inside, blind(v, h_out, before, strip(prev, v), boom(prev, v)),
                             outside, 0.0)
                for e_in in _CORNER_RUNS_M if best_cost[0] + best_cost[1] > 0.0 else ():
                    p1 = (v[0] + e_in * math.cos(h_in), v[1] + e_in * math.sin(h_in))
                    run1 = strip(prev, p1)
                    processed1 = unary_union([processed, run1])
                    before1 = unary_union([before, run1, boom(prev, p1)])
                    for e_out in _CORNER_RUNS_M:
                        p2 = (v[0] - e_out * math.cos(h_out), v[1] - e_out * math.sin(h_out))
                        h12 = math.atan2(p2[1] - p1[1], p2[0] - p1[0])
                        in1, out1 = swept(p1, h12, processed1)
                        if in1 > best_cost[0]:
                            continue
                        in2, out2 = swept(p2, h_out, processed1, strip(p1, p2))
                        if in1 + in2 > best_cost[0]:
                            # more of the field swept than the best so far: it cannot win
                            # whatever its lowerings leave blind (asked only of the rest)
                            continue
                        cost = (in1 + in2, blind(p1, h12, before1) + blind(
                            p2, h_out, before1, strip(p1, p2), boom(p1, p2)), out1 + out2,
                            e_in + math.dist(p1, p2) + e_out)
                        if cost >= best_cost or (self.fence is not None and not self.fence.covers(
                                LineString([p1, p2]))) or self._keep_out_m(
                                    [v, p1, p2, v], h_in, h_out) > 0.0:
                            continue
                        best_cost, best = cost, [p1, p2]
            legs = list(zip([prev] + best, best + [v]))
            add(*(strip(a, b) for a, b in legs))
            for g in (boom(a, b) for a, b in legs):
                if not g.is_empty:
                    seen.append(g)
                    seen_bounds.append(g.bounds)
            out.extend(best + [v])
        out.append(loop[-1])
        return out

    def _crosses_unprocessed(self, xy: np.ndarray, rev: np.ndarray) -> np.ndarray:
        """Forward legs on which the base or the tool is over unprocessed ground of the field.

        A transit is driven with the tool raised, but where it crosses ground not processed
        yet (the approach from the start, a run-in beside a lane) the tool must process it
        before the tracks get there (the safety supervisor's interlock), so such a leg is a
        work leg: the tool is down and the machine at working speed.
        """
        out = np.zeros(len(xy), dtype=bool)
        if len(xy) < 2:
            return out
        ground = self.region.difference(self.processed) if not self.processed.is_empty \
            else self.region
        if ground.is_empty:
            return out
        ground = ground.buffer(-SLIVER_M)      # not for a graze along a processed edge
        d = np.diff(xy, axis=0)
        heading = np.arctan2(d[:, 1], d[:, 0])
        unit = np.column_stack([np.cos(heading), np.sin(heading)])
        ahead = self.p.tool_offset_x_m * unit
        # the tool line's centre and ends (inset by the supervisor's track tolerance, as its
        # interlock looks at them)
        side = max(0.0, 0.5 * self.p.tool_width_m - self.p.allowed_ground_tolerance_m) * \
            np.column_stack([-unit[:, 1], unit[:, 0]])
        hits = np.zeros(len(d), dtype=bool)
        for base in (xy[:-1], xy[1:]):
            hits |= shapely.contains_xy(ground, base[:, 0], base[:, 1])
            for off in (ahead, ahead + side, ahead - side):
                pts = base + off
                hits |= shapely.contains_xy(ground, pts[:, 0], pts[:, 1])
        out[:-1] = hits & ~rev[:-1] & (np.hypot(d[:, 0], d[:, 1]) > _EPS)
        return out

    def _assemble(self, legs: List[Tuple[List[XY], bool, bool]], lanes: List[Lane],
                  over: float, start_yaw: Optional[float] = None) -> CoveragePlan:
        p = self.p
        pts: List[np.ndarray] = []
        flags: List[bool] = []
        rev: List[bool] = []
        for leg, work, backs_out in legs:
            if backs_out and len(leg) > 2:
                first = _resample(np.asarray(leg[:2], dtype=float), p.waypoint_spacing_m)
                rest = _resample(np.asarray(leg[1:], dtype=float), p.waypoint_spacing_m)
                dense = np.vstack([first, rest[1:]])
                back = [True] * (len(first) - 1) + [False] * len(rest)
            else:
                dense = _resample(np.asarray(leg, dtype=float), p.waypoint_spacing_m)
                back = [backs_out] * len(dense)
            if pts and np.allclose(pts[-1], dense[0]):
                dense = dense[1:]
                if not len(dense):
                    continue
                flags[-1] = work
                rev[-1] = back[0]
                back = back[1:]
            else:
                if pts:
                    flags[-1] = False
                    rev[-1] = False
            pts.extend(dense)
            flags.extend([work] * len(dense))
            rev.extend(back)
        xy = np.asarray(pts)
        work = np.asarray(flags, dtype=bool)
        if len(work):
            work[-1] = False
        rev = _retraces_in_reverse(xy, work, np.asarray(rev, dtype=bool), p.corner_angle_rad,
                                   p.reverse_turn_rad,
                                   self._turn_hits if self.zones else None)
        work |= self._crosses_unprocessed(xy, rev)
        facing = _facing(xy, rev)
        xy, work, facing, leads = add_lead_ins(
            xy, work, facing, lead_geometry(self.p), field=self.field, processed=self.processed,
            safe=self.safe, keep_out=self.zone_block, fence=self.fence, start_yaw=start_yaw,
            outside_safe=self.known_ground is None, scanned=self.scanned, driven=self.driven,
            suspects=self._suspect_ground)
        steps = np.hypot(*np.diff(xy, axis=0).T) if len(xy) > 1 else np.zeros(0)
        # pivots turn the machine's facing (a reverse leg's cusp turns none)
        moving = facing[:-1][steps > _EPS] if len(xy) > 1 else np.zeros(0)
        turn = float(np.sum(np.abs(np.angle(np.exp(1j * np.diff(moving)))))) if len(moving) > 1 \
            else 0.0
        # Timed as driven: a transit over unprocessed ground is driven tool down (the flags
        # above), at the working speed.
        work_len = float(np.sum(steps[work[:-1]])) if len(steps) else 0.0
        transit_len = float(np.sum(steps[~work[:-1]])) if len(steps) else 0.0
        time_s = (work_len / p.working_speed_mps + transit_len / p.transit_speed_mps
                  + turn / p.pivot_rate_radps)
        return CoveragePlan(waypoints=xy, work=work, facing=facing, lanes=lanes,
                            lane_angle_rad=self.angle,
                            lane_spacing_m=p.lane_spacing_m, length_m=work_len + transit_len,
                            work_length_m=work_len, transit_length_m=transit_len,
                            expected_time_s=time_s, transit_over_unprocessed_m=over,
                            lead_ins=leads)


def lead_geometry(p: CoverageParams) -> LeadGeometry:
    """The machine as :mod:`.lead_in` sees it, from the planner's parameters."""
    return LeadGeometry(
        tool_offset_x_m=p.tool_offset_x_m, tool_width_m=p.tool_width_m,
        sensor_offset_x_m=p.sensor_offset_x_m, sensor_width_m=p.sensor_width_m,
        track_length_m=p.track_length_m, contact_half_width_m=p.contact_half_width_m,
        footprint_rear_m=p.footprint_rear_m, footprint_front_m=p.footprint_front_m,
        footprint_half_width_m=p.footprint_half_width_m,
        corner_angle_rad=p.corner_angle_rad, tolerance_m=p.allowed_ground_tolerance_m,
        back_up=p.lead_in_back_up, back_up_outside=p.lead_in_back_up_outside,
        back_up_max_m=p.lead_in_back_up_max_m, back_up_scanned=p.lead_in_back_up_scanned,
        scan_margin_m=p.lead_in_scan_margin_m)


def plan_coverage(field: Sequence[XY], exclusion_zones: Sequence[Sequence[XY]] = (),
                  start_xy: Optional[XY] = None,
                  params: Optional[CoverageParams] = None, processed=None,
                  safe_ground=None, no_go_zones: Sequence[Sequence[XY]] = (),
                  fence=None, start_yaw: Optional[float] = None, scanned=None,
                  driven=None, suspects: Sequence[Tuple[float, float, float]] = ()
                  ) -> CoveragePlan:
    """Plan boustrophedon coverage of ``field`` minus ``exclusion_zones`` for base_link.

    GEOS's floating-point overlay can still fail on an intermediate geometry the planner
    makes (nearly coincident edges no input snap foresees: "non-noded intersection"). The
    plan is then made once more from the inputs snapped to :data:`FALLBACK_GRID_M`, which
    moves every edge it made (a re-plan must not end a mission over a micrometre; the
    planner node refuses a plan that fails again, with the request kept for ``--replay``).
    The plan says so in its notes (:data:`GEOMETRY_FALLBACK`).

    :param start_xy: the vehicle position; the path starts there and goes to the nearest lane end.
    :param start_yaw: the vehicle's heading at ``start_xy`` (ENU, rad; None: unknown): the
        first pivot, from it, is judged like every other (a pivot that would swing the
        footprint into a keep-out zone is avoided, e.g. by driving straight on first). When
        its tracks would sweep ground nothing has looked at (:func:`.lead_in.start_pivot`),
        the machine first moves straight as it faces, tool raised, to where they do not
        (:func:`_start_move`).
    :param processed: ground already processed (a shapely geometry): lanes whose tool strip it
        covers are not planned again, and transits over it cost nothing extra (a re-plan of
        the remaining ground, e.g. around a new no-go zone).
    :param safe_ground: ground declared safe outside the field (a shapely geometry; None:
        none): when it holds the turning belt round the field the machine turns outside,
        else on a processed headland (see :meth:`_Planner._headland_geometry`).
    :param no_go_zones: zones round detected AT mines and UXO: like ``exclusion_zones``, but
        declared safe ground never relaxes them (the item is there whatever the area file says).
    :param fence: the supervisor's geofence (a shapely polygon; None: none): of the ways a
        transit may take (round a zone one way or the other), one that stays inside wins.
    :param scanned: ground the sensor boom has swept so far (a shapely geometry; None: none):
        a pivot over it is not blind (the boom looked, and found nothing to keep out of).
    :param driven: ground the machine's tracks have pressed (its driven trail; None: none):
        they may press it again moving before the first pivot, and a pivot over it is not
        blind (pressed already).
    :param suspects: discs (x, y, radius) of the detected suspects (AP and unknown tracks,
        :func:`.no_go.hazard_discs`) the tracks may not press before the tool has processed
        them: a pivot whose disc meets one on unprocessed ground costs
        ``suspect_pivot_penalty_m2`` more; the lanes still process them.
    :raises PlanningError: on an invalid polygon, an area no lane fits, or nothing left.
    :raises shapely.errors.GEOSException: when the fallback's overlays fail too.
    """
    args = (field, exclusion_zones, start_xy, params, processed, safe_ground, no_go_zones,
            fence, start_yaw, scanned, driven, suspects)
    try:
        return _plan_coverage(*args)
    except shapely.errors.GEOSException:
        pass
    plan = _plan_coverage(*_on_grid(*args, grid_m=FALLBACK_GRID_M))
    plan.notes.append(GEOMETRY_FALLBACK)
    return plan


def _on_grid(field, exclusion_zones, start_xy, params, processed, safe_ground, no_go_zones,
             fence, start_yaw, scanned, driven, suspects, *, grid_m: float) -> tuple:
    """:func:`plan_coverage`'s arguments with every geometry snapped to ``grid_m``."""
    decimals = max(0, round(-math.log10(grid_m)))

    def ring(points):
        return [(round(float(x), decimals), round(float(y), decimals)) for x, y in points]

    return (ring(field), [ring(z) for z in exclusion_zones], start_xy, params,
            snapped(processed, grid_m), snapped(safe_ground, grid_m),
            [ring(z) for z in no_go_zones], snapped(fence, grid_m), start_yaw,
            snapped(scanned, grid_m), snapped(driven, grid_m), suspects)


def _plan_coverage(field: Sequence[XY], exclusion_zones: Sequence[Sequence[XY]],
                   start_xy: Optional[XY], params: Optional[CoverageParams], processed,
                   safe_ground, no_go_zones: Sequence[Sequence[XY]], fence,
                   start_yaw: Optional[float], scanned, driven,
                   suspects: Sequence[Tuple[float, float, float]]) -> CoveragePlan:
    """:func:`plan_coverage` on its inputs as given."""
    params = params or CoverageParams()
    if start_xy is not None and not all(math.isfinite(c) for c in start_xy):
        raise PlanningError('start position must be finite')
    if start_yaw is not None and not math.isfinite(start_yaw):
        start_yaw = None

    # places the plans avoid as starts (:func:`_unblind`), shared by every plan made here
    avoid: List[Tuple[float, float, float]] = []

    def plan_from(xy: Optional[XY], yaw: Optional[float]) -> Tuple[CoveragePlan, _Planner]:
        planner = _Planner(field, exclusion_zones, params, processed, safe_ground,
                           no_go_zones, fence, scanned, driven, suspects)
        planner.avoid = avoid
        try:
            return planner.plan(xy, yaw), planner
        except PlanningError:
            if params.headland_passes != AUTO or not planner.passes or \
                    planner.headland_rings():
                raise
        # A field so small round a keep-out zone that every headland pass comes within the
        # tool's reach of the zone's clearance has no headland to turn on, and then no lane
        # that ends on one: without a fallback the mission never started (bench/missions.py
        # gen_random seed 20: 104 m^2 round a 12 m^2 ruin). Its lanes turn outside the field
        # instead, where nothing is declared safe: the turns are counted as footprint
        # violations, not refused.
        planner = _Planner(field, exclusion_zones,
                           dataclasses.replace(params, headland_passes='0'), processed,
                           safe_ground, no_go_zones, fence, scanned, driven, suspects)
        planner.avoid = avoid
        plan = planner.plan(xy, yaw)
        plan.notes.append(NO_HEADLAND)
        return plan, planner

    plan, planner = plan_from(start_xy, start_yaw)
    if plan.lead_ins.blind:
        plan, planner = _unblind(plan, planner, plan_from, start_xy, start_yaw, avoid)
    if start_xy is not None and start_yaw is not None and params.start_move_max_m > 0.0 and (
            plan.lead_ins.start_pivot is not None
            or _start_pivot_presses(plan, planner, start_xy, start_yaw)):
        plan = _start_move(plan, planner, plan_from, start_xy, start_yaw)
    return plan


def _start_pivot_presses(plan: CoveragePlan, planner: _Planner, start_xy: Optional[XY],
                         start_yaw: Optional[float]) -> bool:
    """Whether the plan's first pivot (at ``start_xy`` from ``start_yaw`` onto its first
    leg, as the follower drives it) puts a track on a detected suspect's ground the tool has
    not processed (:meth:`_Planner.suspect_hazard`)."""
    hazard = planner.suspect_hazard()
    if hazard is None or start_yaw is None or start_xy is None:
        return False
    xy = np.asarray(plan.waypoints, dtype=float).reshape(-1, 2)
    d = np.hypot(*np.diff(xy, axis=0).T) if len(xy) > 1 else np.zeros(0)
    moving = np.flatnonzero(d > _EPS)
    if not len(moving):
        return False
    first = int(moving[0])
    facing, _ = driven_facing(xy[first], xy[first + 1], float(plan.facing[first]))
    return pivot_presses(float(xy[first, 0]), float(xy[first, 1]), start_yaw, facing,
                         lead_geometry(planner.p), hazard)


def _blind_m2(plan: CoveragePlan) -> float:
    """Ground of the field the plan's pivots and tool lowerings reach blind, m^2."""
    return (sum(a for _, a in plan.lead_ins.blind_pivots)
            + sum(a for _, a in plan.lead_ins.blind))


def _blind_lowerings(plan: CoveragePlan) -> List[Tuple[float, float, float]]:
    """(x, y, yaw) of the plan's blind tool lowerings (:attr:`.lead_in.LeadIns.blind`)."""
    xy = np.asarray(plan.waypoints, dtype=float).reshape(-1, 2)
    out = []
    for (x, y), _ in plan.lead_ins.blind:
        k = int(np.argmin(np.hypot(xy[:, 0] - x, xy[:, 1] - y))) if len(xy) else -1
        if k >= 0:
            out.append((float(x), float(y), float(plan.facing[k])))
    return out


def _unblind(plan: CoveragePlan, planner: _Planner, plan_from, start_xy: Optional[XY],
             start_yaw: Optional[float], avoid: List[Tuple[float, float, float]]
             ) -> Tuple[CoveragePlan, _Planner]:
    """The plan made again with the places of its blind tool lowerings avoided as starts of
    lanes and headland stretches (``avoid``, which ``plan_from``'s planners read), when that
    reaches less ground blind; ``plan`` if it does not.

    A lowering is blind where its lead band (:func:`.lead_in.lead_band`: the ground the
    flail strikes before the boom has looked at it) holds unseen ground and no back-up on
    allowed ground clears it (:func:`.lead_in.add_lead_ins`): most often a lane or a stretch
    of the headland cut by a no-go zone, started with that zone right behind it. Driven from
    its other end, its start has room behind it. bench/missions.py gen_at_uxo_lanes seed 65
    at ab303ef: a re-plan started a stretch westwards with a TM-62P's zone 4.8 m behind the
    machine; the flail, lowered there, set off a TM-62M 16 cm deep that the boom had never
    passed over, and the mission was aborted at 42 %.

    Only lowerings a keep-out zone or the fence leaves no room behind
    (:meth:`_Planner._no_room_behind`), at a corner of a lane or stretch chosen where another
    was open (:attr:`_Planner.choices`), are avoided: no other plan can change the rest.
    Lanes starting at an avoided place cost :data:`_AVOID_PENALTY` more (they are driven the
    other way, or later, where that is cheaper), never more than one entering a keep-out
    zone; of the headland stretches, those lowering the tool at fewer avoided places go
    first unless each of them puts the footprint in keep-out. At most
    :data:`_UNBLIND_TRIES` plans more, each taken only when it reaches less of the field
    blind in all (lead bands and pivot discs together, :func:`_blind_m2`) and leaves no
    more ground unplanned; the places of a plan not taken are avoided no more.
    """
    def open_to(p: CoveragePlan, choices) -> List[Tuple[float, float, float]]:
        """The blind lowerings of ``p`` at the corners of a lane or stretch chosen where
        another was open: the only ones avoiding them may change."""
        return [place for place in _blind_lowerings(p)
                if planner._no_room_behind(place)
                and any(_lowers_at(place, xy, h) for xy, h in choices)]

    blind = _blind_m2(plan)
    first = sum(a for _, a in plan.lead_ins.blind)
    for _ in range(_UNBLIND_TRIES):
        kept = len(avoid)
        avoid.extend(place for place in open_to(plan, planner.choices) if place not in avoid)
        if len(avoid) == kept:
            break
        try:
            other, other_planner = plan_from(start_xy, start_yaw)
        except PlanningError:
            other = None
        now = _blind_m2(other) if other is not None else blind
        if other is None or now >= blind - BLIND_TOLERANCE_M2 or \
                other.unplanned_m2 > plan.unplanned_m2 + MIN_GAP_M2:
            del avoid[kept:]
            break
        plan, planner, blind = other, other_planner, now
    if avoid:
        plan.notes.append(
            f'planned again with {len(avoid)} start(s) of lanes or headland stretches moved '
            f'off blind tool lowerings: {first:.1f} -> '
            f'{sum(a for _, a in plan.lead_ins.blind):.1f} m^2 of lead bands unseen')
    return plan, planner


def _start_move(plan: CoveragePlan, planner: _Planner, plan_from, start_xy: XY,
                start_yaw: float) -> CoveragePlan:
    """The plan from a pose straight ahead or behind the start where the first pivot is not
    blind, after the move there (tool raised, facing as at the start); ``plan`` if none is.

    The moves (:func:`.lead_in.start_moves`) are tried best first (the least blind pivot disc,
    then the shortest), at most :data:`_START_MOVE_TRIES` of them, each planned again from
    there (a pivot disc seen in full is the usual case: the first is taken). None ends nearer
    a keep-out zone than its turning reach, unless the start is already. A plan from a
    moved start is taken only when it reaches less ground blind in all (its pivots and
    lowerings, :func:`_blind_m2`) and leaves no more ground unplanned: never worse elsewhere.

    A first pivot that puts a track on a detected suspect (:func:`_start_pivot_presses`) is
    moved so too, to where the tracks' pivot disc holds none, by a move that presses none,
    and that plan is taken unless it leaves more ground unplanned: a known AP under a track
    weighs more than blind ground (bench/missions.py gen_random seed 67: a re-plan after an
    8.5 m way out of a no-go zone's reach pivoted a track over a PMN 1.6 m away).
    """
    p = planner.p
    g = lead_geometry(p)
    moves = start_moves(start_xy[0], start_xy[1], start_yaw, g, p.start_move_max_m,
                        field=planner.field, known=unary_union([planner.processed,
                                                                planner.safe]),
                        seen=planner.scanned, driven=planner.driven, safe=planner.safe,
                        keep_out=planner.zone_block, fence=planner.fence,
                        outside_safe=planner.known_ground is None)
    before = plan.lead_ins.start_pivot[1] if plan.lead_ins.start_pivot is not None else 0.0
    # a pivot over a detected suspect is moved off it first, blind ground or not
    hazard = planner.suspect_hazard()
    pressing = _start_pivot_presses(plan, planner, start_xy, start_yaw)
    c, s = math.cos(start_yaw), math.sin(start_yaw)
    # never back into a keep-out zone's turning reach: the machine has often just left it
    # (the node's back-out), and a pivot there swings the footprint into the zone
    reach = max(planner.pivot_reach, planner._turn_reach)
    clear = planner.zone_block.distance(Point(start_xy)) if planner.zones else math.inf

    def nearer(d: float) -> bool:
        there = (start_xy[0] + d * c, start_xy[1] + d * s)
        return planner._near_zone(there, reach) and \
            planner.zone_block.distance(Point(there)) < min(clear, reach)

    def clear_of_suspects(d: float) -> bool:
        # the move's own tracks, and a pivot of any angle there (its disc), off the suspects
        there = (start_xy[0] + d * c, start_xy[1] + d * s)
        return not head_presses(np.array([[*start_xy, start_yaw], [*there, start_yaw]]),
                                start_yaw, g, hazard) and \
            hazard.distance(Point(there)) > planner.p.pivot_radius_m
    moves = sorted((m for m in moves if (m[1] < before - BLIND_TOLERANCE_M2 or pressing)
                    and not nearer(m[0]) and (hazard is None or clear_of_suspects(m[0]))),
                   key=lambda m: (m[1] > BLIND_TOLERANCE_M2, m[1], abs(m[0])))
    blind = _blind_m2(plan)
    left = plan.unplanned_m2
    for d, _ in moves[:_START_MOVE_TRIES]:
        there = (start_xy[0] + d * c, start_xy[1] + d * s)
        try:
            moved, _ = plan_from(there, start_yaw)
        except PlanningError:
            continue
        if moved.unplanned_m2 > left + MIN_GAP_M2 or (
                not pressing and _blind_m2(moved) >= blind - BLIND_TOLERANCE_M2):
            continue
        way = _resample(np.array([start_xy, there], dtype=float), p.waypoint_spacing_m)
        moved.waypoints = np.vstack([way[:-1], moved.waypoints])
        moved.work = np.concatenate([np.zeros(len(way) - 1, dtype=bool), moved.work])
        moved.facing = np.concatenate([np.full(len(way) - 1, start_yaw), moved.facing])
        moved.length_m += abs(d)
        moved.transit_length_m += abs(d)
        moved.expected_time_s += abs(d) / p.transit_speed_mps
        why = ('a track over a detected suspect' if pressing else
               f'the tracks over {before:.1f} m^2 of the field no sensor has looked at')
        moved.notes.append(
            f'{"driving on" if d > 0.0 else "backing up"} {abs(d):.1f} m (tool raised) before '
            f'the first pivot: where the machine stands it would sweep {why}')
        return moved
    return plan


def _ahead(pts: Sequence[XY], distance: float) -> List[XY]:
    """A straight path's points moved ``distance`` on along its heading (the tool's path)."""
    (x0, y0), (x1, y1) = pts[0], pts[-1]
    n = math.hypot(x1 - x0, y1 - y0)
    if n < _EPS:
        return list(pts)
    dx, dy = distance * (x1 - x0) / n, distance * (y1 - y0) / n
    return [(x + dx, y + dy) for x, y in pts]


def lane_strips(lanes: Sequence[Lane], headland: Sequence[Sequence[XY]], tool_width_m: float):
    """The ground the tool processes along lanes and headland passes (one geometry)."""
    return unary_union([LineString([ln.tool_start, ln.tool_end]).buffer(
        0.5 * tool_width_m, cap_style='flat') for ln in lanes] + [
        LineString(loop).buffer(0.5 * tool_width_m, join_style='mitre')
        for loop in headland])


def lane_footprints(plan: CoveragePlan, tool_width_m: float):
    """Return the union of the tool footprints of a plan's lanes and headland passes."""
    return lane_strips(plan.lanes, plan.headland, tool_width_m)


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
