"""Node ``coverage_planner``: plans boustrophedon coverage once it has the area and a pose.

Inputs /localization/odometry, /detections, /coverage/processed; outputs /coverage/path and
/coverage/status (both latched). A detected AT mine or UXO becomes a no-go zone
(:mod:`.coverage.no_go`); when one appears, the path is repaired round it from the waypoint the
machine is at (:mod:`.coverage.repair`: the legs that pass it are cut, the machine backs out
and re-joins the path; what is cut is re-covered after the path), or, when no repair is clear
or ``replan_mode`` is ``full``, the remaining (unprocessed) ground is re-planned from where the
vehicle is, with every no-go zone as an exclusion zone; the new path replaces the old one. A
plan that would leave the geofence (the field and the declared safe ground, grown by
``geofence_margin_m``: the supervisor's fence) is refused, as is an area that cannot be
planned: /coverage/status says ``refused`` and why, and the mission manager ends the mission
with that reason instead of waiting for a path that will not come.

No dead end: when the safety supervisor keeps refusing the path's motion because the machine's
footprint would enter keep-out ground (a no-go or exclusion zone) for ``pin_replan_s``, the
planner widens that zone for planning by ``pin_inflation_m``, backs the machine out and
re-plans the remaining ground. When one zone has pinned the machine more than
``max_pin_replans`` times the plan is refused with the reason, and the mission ends with its
report instead of standing in a protective stop. The budget is per zone: a field with many AT
mines pins the machine once at several of them, and each pin moved it on (gen_at_uxo_lanes
seed 2 ended at its seventh pin, at its sixth zone, with a per-mission budget); each zone's
pins are bounded, and so is the number of zones. No path is handed over whose first motions
(over the footprint's pivot reach) the supervisor would refuse: each is judged first by the
supervisor's own keep-out rule (:class:`.coverage.no_go.KeepOutSweep`, through
:func:`.coverage.no_go.first_refusal`); a local repair so refused falls back to the full
re-plan, and a re-plan so refused is a pin at that zone at once (widened, counted, planned
again), so a machine no planned way gets away from ends with the reason at once, not after
waiting out each refusal (gen_at_uxo_lanes seed 1: six futile re-plans, 45 s). When the
refusal is the supervisor's ``suspect_track_enforce`` (a track would press a detected AP or
unknown track on unprocessed ground), the first pin at that suspect (the unmarked one nearest
the machine) backs out and re-plans (every re-plan keeps its turns off the suspects where
it can: ``suspects`` of :func:`.coverage.planner.plan_coverage`); a second marks it and plans
round it like a no-go zone, left for manual clearance, without widening it; past
``max_marked_suspects`` the plan is refused.

Suspects ahead: a suspect (an AP or unknown track on ground not processed) found after the
path in force was made is not in it: the full planner keeps its turns off the suspects it
knows (``suspect_pivot_penalty_m2``), a repair routes round no-go zones only. Each new suspect
(after a repair, every suspect) within the tracks' pivot reach of the path's next
``suspect_lookahead_m`` is checked by :func:`.coverage.allowed.check_path` (allowed ground:
processed so far or by the path's own tool first, or declared safe); when a track would press
it, the remaining ground is re-planned, knowing it. Such a re-plan is optional: one that fails,
or whose first motion the supervisor would refuse, leaves the path in force with a warning, and
after one the next check waits ``suspect_replan_min_s``. gen_at_uxo_lanes seed 14: a TM-62P 12
cm deep seen only at the boom's edge (one GPR channel, no MD answer) stayed an unknown track,
and 135 s later a repair's pivot swung the left track onto it.

Too steep: a slope stop (the supervisor's ``slope above the work limit``) that lasts
``pin_replan_s`` marks the ground under the machine's footprint, grown by ``steep_margin_m``, too
steep: it is planned round like an exclusion zone, the path backs out of it first (the
supervisor lets autonomy reverse straight out of a slope stop, and first turn back where it
pivoted into one) and the ground is reported unreached with that reason. The way out is the
driven trail (below): after a pivot it turns back, then reverses; the steep zone the machine
stands on does not block it (rugged_terrain seed 1: its margin refused the pivot back, no way
out was planned, and the machine stood 900 s in the stop until the mission was aborted).
At most ``max_steep_zones`` are marked; past that the plan is refused and the mission ends
with its report. The zones are not journaled: a resumed mission finds them again.

Re-cover: when the follower has driven the whole path (``done``), ground it left unprocessed
(a stop that lifted the tool on a work leg, a lane cut short) is planned again from where the
machine stands, up to ``max_recover_passes`` times. When nothing is left that a lane or pass
reaches, or the passes are used up, a second pass of the tool goes once over the detected
suspects on processed ground (``reprocess_suspects``: a flail leaves about one AP mine in ten
it meets live), the likeliest mines first, within ``reprocess_max_s`` at the mission's pace;
then /coverage/status says ``complete`` with what is left: the mission manager's cue that the
coverage is final.

The way back: a back-out (out of a new zone's pivot reach, or after a pin) sweeps only
ground the tracks may be on: processed, declared safe, or the driven trail (the footprint at
the poses of the last ``back_out_max_m`` and more, pivots included). Straight behind a machine
that has just pivoted lies ground it never drove (gen_random seed 12: a 9 m straight reverse
there set off a TM-62M), so the planner then retraces the trail instead, as an operator backs
out the way the machine came: it pivots back where it pivoted and reverses where it drove
(:func:`.coverage.no_go.retrace`), a stretch it drove out and back along left out
(:func:`.coverage.no_go.way_back`). Where neither gets out of the zone's reach (the pivot
back would sweep the zone: the boom found the mine just after the machine turned to face it),
the planner searches the ways an operator would take (:func:`.coverage.no_go.escape`): a
straight move on or back, a pivot away from the zone, a straight leg off, each judged by the
supervisor's keep-out rules, the way that sweeps the least ground outside the processed, safe
and driven ground chosen, then the shortest. That blind ground is at most
``back_out_blind_max_m`` of the footprint's width (a 2 m straight reverse's worth) and said in
a warning; past that the machine stays, the supervisor refuses what would sweep the zone, and
the pin budget ends the mission with its report: standing is safer than driving metres blind
(0 forbids blind ground altogether). gen_random seed 11: between a zone found on the lane
ahead and one found after the pivot, no straight way and no retrace got clear; the machine
stood pinned until the mission aborted at 8 %. A pinned machine's way out is searched against
every keep-out zone as planned (widened round the pins, too steep ground); where none gets
clear of them all, against the zones the supervisor keeps (no-go and exclusion zones as they
are), before the pin budget is spent on re-plans that cannot move it.

Lead-ins where the machine is: each tool lowering of the path (a plan's, a re-plan's or a
repair's) is judged again as the machine comes to it (base_link within ``lowering_check_m``,
facing as on the leg to it or on it): its lead band against the ground the boom swept at the
driven poses (``lead_in_scan_margin_m`` inside the swath's edges), processed or declared
safe. Where the boom missed part of it, the machine backs up first, tool raised
(:func:`.coverage.lead_in.lead_in_ahead`), and the path is replaced by the remaining one with
that back-up. A lowering no back-up clears (or clears only in part) is not lowered blind:
the unseen ground of its band (:func:`.coverage.lead_in.blind_ground`) is marked and the
remaining ground re-planned round it, like a marked suspect, so neither the flail nor a track
goes on ground no sensor has looked at; a mark the boom has since swept completely is lifted at
the next plan, and every mark is lifted for the next re-cover pass (by then the ground round
it is mostly processed, and a back-up there clears the band; one still blind is marked
again), also when a re-plan finds nothing left but marked ground. gen_at_uxo_lanes seed 67:
a lowering after a pivot whose band no back-up on allowed ground cleared was lowered with a
warning, and the flail set off a TM-62M 17.5 cm deep, 3.2 m ahead of base_link, that the boom
had never passed over (the pivot swings the boom on a 4 m arc: the ground inside it stays
unseen). At most ``max_unseen_marks`` are marked; past
that the plan is refused and the mission ends with its report.

On resume (``resume_dir``) the journal's processed ground and no-go zones are known before the
first plan, so the first path covers only the remaining ground, around every zone.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import math
import os
from typing import Deque, List, Optional, Set, Tuple

import numpy as np
import shapely
from shapely.errors import GEOSException
from shapely.geometry import LineString, Point, Polygon, box
from shapely.ops import nearest_points, unary_union

from demining_bringup.contract import topics, vehicle_params
from demining_bringup.contract.area import HazardArea, load_area
from demining_bringup.contract.component import Component, Port, Status
from demining_bringup.contract.datatypes import (TRACK_HAZARD_KINDS, Detection, DetectionKind,
                                                 Detections, Grid, PlanStatus, SafetyEvent,
                                                 VehicleState)
from demining_bringup.contract.journal import journal_path, read_journal
from demining_bringup.contract.parameters import param
from demining_bringup.contract.states import (HAZARD_UNDER_TRACK, KEEP_OUT_CAUSES, SLOPE_STOP,
                                              DiagLevel, FollowerStatus, PlanState,
                                              SafetyState, hazard_position)
from demining_control.coverage.allowed import (check_path, contact_for, geofence,
                                               metres_outside, robust)
from demining_control.coverage.no_go import (ESCAPE_FIRST_MAX_M, ESCAPE_MAX_PIVOTS, NoGoZones,
                                             SuspectPress, back_out_point, disc_polygon,
                                             escape, first_refusal, first_zone_entered,
                                             footprint, hazard_discs, retrace, suspect_key,
                                             turn_reach)
from demining_control.coverage.planner import (MIN_GAP_M2, NOTHING_LEFT, SLIVER_M,
                                               CoverageParams, CoveragePlan, PlanningError,
                                               lead_geometry, plan_coverage)
from demining_control.coverage.lead_in import (BLIND_TOLERANCE_M2, LeadGeometry, blind_ground,
                                               lead_in_ahead, lowerings)
from demining_control.coverage.processed import (ProcessedGrid, cells_geometry_near,
                                                 processed_geometry)
from demining_control.coverage.requests import PlanRequest, write_request
from demining_control.coverage.repair import (PivotSight, RepairGeometry, allowed_router,
                                              dropped_area, progress_index, repair_path)


@dataclasses.dataclass(frozen=True)
class CoveragePlannerConfig(CoverageParams):
    """Node parameters: the planner's plus the hazard area file."""

    area_file: str = vehicle_params.area_file()
    no_go_margin_m: float = vehicle_params.no_go_margin_m()
    hazard_track_margin_m: float = vehicle_params.hazard_track_margin_m()
    max_marked_suspects: int = param(
        50, 'suspects (AP or unknown tracks) a track would have pressed on unprocessed ground '
        'that are marked and planned round (left for manual clearance); one more refuses the '
        'plan and the mission ends with its report', min=0, max=10000)
    max_unseen_marks: int = param(
        50, 'lead bands of tool lowerings no back-up clears whose unseen ground is marked and '
        'planned round (left for manual clearance unless the boom sweeps it later); one more '
        'refuses the plan and the mission ends with its report', min=0, max=10000)
    geofence_margin_m: float = vehicle_params.geofence_margin_m()
    pivot_threshold_rad: float = vehicle_params.pivot_threshold_rad()
    back_out_max_m: float = param(10.0, 'longest straight reverse out of a new no-go zone '
                                  'before the re-planned path turns, m', min=0.0, max=50.0)
    back_out_blind_max_m: float = param(
        2.0, 'ground neither processed, declared safe nor driven that a way out of a new '
        "zone's pivot reach may sweep, as metres of the footprint's width (a straight "
        'reverse this long), taken only when the way the machine came does not lead out '
        '(just after a pivot: the boom found the mine ahead); the tracks press ground '
        'nothing has cleared there, so 0 stops the machine instead and the mission ends with '
        'its report when it stays pinned, m', min=0.0, max=50.0)
    resume_dir: str = vehicle_params.resume_dir()
    pin_replan_s: float = param(
        5.0, 'the supervisor refusing motion at keep-out ground this long pins the machine: '
        'the planner backs out and re-plans round the zone, s', min=0.5, max=600.0)
    pin_inflation_m: float = param(
        0.5, 'each pin widens the offending zone by this for planning, m', min=0.05, max=5.0)
    max_recover_passes: int = param(
        2, 're-cover passes over ground the finished path left unprocessed (a stop that '
        'lifted the tool, a lane cut short) before the coverage is final', min=0, max=20)
    max_pin_replans: int = param(
        6, 'pins re-planned round one keep-out zone before the plan is refused (the mission '
        'then ends with its report)', min=0, max=100)
    steep_margin_m: float = param(
        1.0, 'a slope stop marks the footprint grown by this too steep (planned round, '
        'reported unreached), m', min=0.0, max=20.0)
    max_steep_zones: int = param(
        12, 'slope stops marked too steep before the plan is refused (the mission then ends '
        'with its report)', min=0, max=200)
    plan_requests_dir: str = param(
        '', "run folder whose plan_requests/ gets every plan request as JSON, to be planned "
        "again offline (bench/coverage.py --replay); '' for none", read_only=True)
    replan_mode: str = param(
        'repair', "how the path changes round a new no-go zone: 'repair' (cut the legs that "
        'pass it, back out and re-join the path; what is cut is re-covered after the path; '
        "a full re-plan when no repair is clear) or 'full' (re-plan the remaining ground)",
        choices=('repair', 'full'))
    suspect_lookahead_m: float = param(
        60.0, 'the path ahead, this long, is checked against each new suspect the fusion '
        'reports (an AP or unknown track on ground not processed) and against every one after '
        'a repair (which routes round no-go zones only): when a track of it would press one '
        'before the tool has processed it, the remaining ground is re-planned with the turns '
        'kept off the suspects (a TM-62P seen at the boom\'s edge, unknown, went off under '
        'a track in a repair\'s pivot: gen_at_uxo_lanes seed 14); 0: not checked, m',
        min=0.0, max=100000.0)
    suspect_replan_min_s: float = param(
        30.0, 'after such a re-plan, new suspects wait this long before the path is checked '
        'against them (each re-plan costs up to seconds of CPU on a hectare), s',
        min=0.0, max=3600.0)
    suspect_replans_idle_max: int = param(
        3, 'at most this many re-plans for suspects ahead follow one another without the tool '
        'processing new ground of the field between them (suspect_replan_progress_m2); past '
        'that, new suspects wait for it. Suspects found on the turning ground outside a field '
        'whose own ground was all planned re-planned every 30-100 s for 1,800 s while only '
        'turning ground was worked, until the no-progress watchdog aborted the mission '
        '(gen_random seed 64); 0: no limit', min=0, max=1000)
    suspect_replan_progress_m2: float = param(
        2.0, 'new ground of the field the tool must process to end a run of re-plans for '
        'suspects (suspect_replans_idle_max), m^2', min=0.0, max=10000.0)
    reprocess_suspects: bool = param(
        True, 'when the coverage is final, one more pass of the tool over each detected '
        'suspect (an AP or unknown track) on processed ground of the field (its disc: '
        'hazard_discs): a chain flail leaves about 10 % of the AP mines it meets live, '
        'untouched, damaged or thrown aside (Minerats 1996; GICHD 2004), and a second pass over '
        'a mine the sensors found leaves about 1 %. bench/missions.py gen_lshape_sand_rows '
        'seeds 66 and 67: a PMA-2 each, tracked as unknown, left intact in processed ground')
    reprocess_max_s: float = param(
        1500.0, "that pass's time at most: planned to take no longer at the mission's pace "
        "(the plan's expected_time_s times the time the mission has taken over its first "
        "plan's: gen_lshape_sand_rows seed 67 took 4.5 times it, the tool governed slower "
        'in sand), the likeliest mines first, and ended where the machine is when it lasts '
        'longer, or sooner when the mission manager\'s no_progress_abort_s would end the '
        'mission (the pass processes no new ground), s', min=0.0, max=86400.0)
    no_progress_abort_s: float = vehicle_params.no_progress_abort_s()
    reprocess_margin_m: float = param(
        0.5, "the second pass processes each suspect's disc (hazard_discs) grown by this: "
        "the track's position errs by centimetres and the tool's by more, and the planner "
        'plans no gap below 0.5 m^2 (a 0.3 m disc is 0.28 m^2), m', min=0.0, max=5.0)
    lowering_check_m: float = param(
        1.0, "the path's next tool lowering is judged again (its lead band against the ground "
        'the boom has scanned at the driven poses) when base_link comes this near it, m',
        min=0.1, max=10.0)


#: The second pass ends this long before the mission manager's no-progress watchdog would
#: end the mission: its processed grid comes at 1 Hz, and the path ends at the next pose, s.
_WATCHDOG_MARGIN_S = 60.0
#: Waypoints ahead of the last one reached searched for the machine's progress (20 m at the
#: planner's 0.5 m spacing: a pose every 0.1 s at 0.8 m/s moves 0.08 m).
_PROGRESS_WINDOW = 40
#: The first waypoint this near the window's nearest is the one reached (a path that comes
#: back over itself is not skipped along), m.
_PROGRESS_TOLERANCE_M = 0.25
#: Farther than this from every waypoint of the window, the machine is looked for along the
#: whole rest of the path (poses missed), m.
_PROGRESS_LOST_M = 2.0
#: A tool lowering is looked at once the machine's progress is this many waypoints before it
#: (its distance decides: ``lowering_check_m``), and only while the machine faces within this
#: of the leg to it or of the lowering leg, rad (:meth:`_lowering_here`).
_LOWERING_AHEAD = 4
_LOWERING_YAW_RAD = 0.5
#: A path with a lead-in added where the machine is runs pose, lowering point, backed-up
#: point: its leg from the backed-up point (this index) is the lowering just judged.
_BACKED_UP_LOWERING = 2
#: A plan may touch the geofence by this much (polygon round-off), m.
_FENCE_TOLERANCE_M = 0.05
#: Steps in which the back-out distance is searched, m.
_BACK_OUT_STEP_M = 0.5
#: Clearance beyond the pivot reach at the back-out point (the follower stops within its
#: corner tolerance of the point, and localisation drifts), m.
_BACK_OUT_CLEARANCE_M = 0.5
#: The driven trail keeps a pose each time the machine has moved this far, m, or turned this
#: much, rad: consecutive footprints overlap (0.1 rad moves a 3.5 m corner 0.35 m).
_TRAIL_STEP_M = 0.25
_TRAIL_YAW_RAD = 0.1
#: The back-out may sweep this far beyond the processed, safe and driven ground: localisation
#: noise between the trail's poses and the footprint's heading wobble on a straight reverse, m.
_TRAIL_TOLERANCE_M = 0.25
#: Cell size of the path-ahead check against new suspects (:meth:`_check_suspects`), m: the
#: allowed-ground check's default.
_SUSPECT_CHECK_RESOLUTION_M = 0.1
#: The suspect a refusal names (the supervisor's position, to 0.1 m) is the one within this of
#: it: a suspect's fused position moves by centimetres between updates, m.
_SUSPECT_MATCH_M = 0.5


def _pivot_reach(c: 'CoveragePlannerConfig') -> float:
    """Radius the footprint sweeps pivoting on base_link, plus the back-out clearance, m."""
    return turn_reach(c.footprint_rear_m, c.footprint_front_m,
                      c.footprint_half_width_m) + _BACK_OUT_CLEARANCE_M


def _blind_at_start(plan: CoveragePlan, start: Tuple[float, float], reach: float) -> float:
    """Ground of the field a plan reaches blind where it starts, m^2: its first pivot's
    (:attr:`.lead_in.LeadIns.start_pivot`) and its tool lowerings' within ``reach`` of
    ``start`` (:attr:`.lead_in.LeadIns.blind`)."""
    first = plan.lead_ins.start_pivot
    return (first[1] if first is not None else 0.0) + sum(
        a for (x, y), a in plan.lead_ins.blind if math.dist((x, y), start) <= reach)


def _trail_length(way: List[Tuple[float, float, float]]) -> float:
    """Length of a way of waypoints (x, y, facing), m."""
    return sum(math.dist(a[:2], b[:2]) for a, b in zip(way, way[1:]))


def _nothing_left(pose: VehicleState, c: CoveragePlannerConfig) -> CoveragePlan:
    """The plan when every lane is processed: stay where the machine is."""
    return CoveragePlan(waypoints=np.array([[pose.x, pose.y]]), work=np.zeros(1, dtype=bool),
                        facing=np.array([pose.yaw]), lanes=[], lane_angle_rad=0.0,
                        lane_spacing_m=c.lane_spacing_m,
                        length_m=0.0, work_length_m=0.0, transit_length_m=0.0,
                        expected_time_s=0.0, transit_over_unprocessed_m=0.0)


class CoveragePlannerComponent(Component):
    """Plans from the first pose, re-plans around each new no-go zone; the path is latched."""

    name = 'coverage_planner'
    params = CoveragePlannerConfig
    inputs = {'pose': Port(topics.LOCALIZATION), 'detections': Port(topics.DETECTIONS),
              'processed': Port(topics.COVERAGE_PROCESSED),
              # refusals at keep-out ground: the planner's cue that its path pins the machine
              'safety': Port(topics.SAFETY_EVENTS),
              # the follower's "done": the cue for a re-cover pass
              'follower': Port(topics.FOLLOWER_STATUS)}
    outputs = {'path': Port(topics.COVERAGE_PATH), 'status': Port(topics.COVERAGE_STATUS)}

    def on_configure(self, params: CoveragePlannerConfig) -> None:
        """Load the hazard area."""
        self.config = params
        self.area: HazardArea = load_area(params.area_file)
        self.safe_ground = self.area.safe_ground()
        self.fence = geofence(self.area.field, self.safe_ground, params.geofence_margin_m)
        self.status = PlanStatus(0.0, PlanState.WAITING.value, 'waiting for the first pose')
        self.plan: Optional[CoveragePlan] = None
        self.path = np.zeros((0, 2))
        #: The path's work legs (leg i: pose i -> i + 1), as the status publishes them.
        self.work = np.zeros(0, dtype=bool)
        self.error = ''
        self.no_go = NoGoZones(params.no_go_margin_m)
        self.pose: Optional[VehicleState] = None
        #: The driven trail: poses (x, y, yaw) a back-out may retrace (the tracks pressed that
        #: ground), enough for the longest back-out and the machine's length, pivots included.
        hull_m = params.footprint_front_m + params.footprint_rear_m
        self.trail: Deque[Tuple[float, float, float]] = collections.deque(
            maxlen=int(math.ceil(2.0 * (params.back_out_max_m + hull_m) / _TRAIL_STEP_M)))
        self.processed: Optional[Grid] = None
        #: The ground the sensor boom has swept (its line ``sensor_offset_x_m`` ahead, along
        #: every pose, ``lead_in_scan_margin_m`` inside its edges), on the processed grid's
        #: cells once the first one came: a re-plan's pivots over it are not blind
        #: (:func:`.coverage.lead_in.start_pivot`), nor are lead bands
        #: (:meth:`_check_lowering`).
        self.scanned: Optional[ProcessedGrid] = None
        #: The path whose tool lowerings (leg indices) are known, those, and the last one
        #: judged again where the machine was (:meth:`_check_lowering`).
        self._lowerings_of: Optional[np.ndarray] = None
        self._lowerings: List[int] = []
        self._judged = -1
        #: Back-ups added and lowerings left blind when judged again (for the diagnostics).
        self.late_lead_ins = 0
        self.late_blind = 0
        self.replans = 0
        #: Local repairs round new no-go zones (see ``replan_mode``), and the waypoint of the
        #: path the machine is at (the repair keeps the path from there).
        self.repairs = 0
        #: the path in force is a repair's (:meth:`_repair`), not judged again as a whole
        self.repaired = False
        self.progress = 0
        #: Re-cover passes planned so far; True once the coverage is final (status complete).
        self.recover_passes = 0
        self.final = False
        #: The second pass over the suspects on processed ground (``reprocess_suspects``):
        #: None before the coverage was first final, else (the reason it was, the suspects
        #: the pass re-processes; 0: none).
        self.second_pass: Optional[Tuple[str, int]] = None
        #: when that pass began (None: it is not under way)
        self.second_pass_since: Optional[float] = None
        #: (stamp, expected_time_s) of the first plan: the mission's pace against it
        self.first_plan: Optional[Tuple[float, float]] = None
        #: (cells of the field processed, when that count last grew): the mission manager's
        #: no-progress watchdog, which the second pass must not run into
        self.field_progress: Tuple[int, float] = (0, 0.0)
        #: Pin recovery: since when the supervisor refuses motion at keep-out ground (None:
        #: it does not), when it last let the machine go, the re-plans so far, and per zone
        #: its pins and extra planning margin (key: ('x', index) exclusion, ('n', index) no-go).
        self.pinned_since: Optional[float] = None
        #: the reason of the refusal going on (empty: none)
        self.refusal = ''
        self.released_at: Optional[float] = None
        self.pins = 0
        self.zone_pins: dict = {}
        self.inflation: dict = {}
        #: Ground found too steep (a slope stop lasting ``pin_replan_s``), and since when the
        #: current slope stop lasts (None: there is none).
        self.steep: List[Polygon] = []
        self.slope_since: Optional[float] = None
        #: The suspects (AP and unknown tracks) the tracks may not press before the tool has
        #: processed them, as the latest detections give them (:func:`hazard_discs`), whether
        #: the supervisor's refusals of the current pin were one, and the ones that pinned it:
        #: planned round like a no-go zone and left for manual clearance.
        self.hazards: List[Tuple[float, float, float]] = []
        #: the fusion's AP and unknown tracks behind them (kind and confidence: which ones a
        #: second pass takes first)
        self.suspect_tracks: List[Detection] = []
        self.hazard_refused = False
        #: where the latest such refusal said the suspect is (None: it did not say)
        self.hazard_refused_at: Optional[Tuple[float, float]] = None
        self.marked: List[Polygon] = []
        #: The unseen ground of lead bands no back-up cleared, planned round (an empty
        #: polygon once the boom has swept it: keys stay the list's indices)
        self.unseen: List[Polygon] = []
        #: the re-cover pass each unseen mark was made in (0: the path before any)
        self.unseen_pass: List[int] = []
        #: the suspects (:func:`suspect_key`) that pinned the machine once
        self.suspect_pins: Set[Tuple[int, int]] = set()
        #: the suspects the path ahead was checked against (:meth:`_check_suspects`), when
        #: the last re-plan for one was made, and how many were made
        self.suspects_checked: Set[Tuple[int, int]] = set()
        self.suspect_replan_at = -math.inf
        self.suspect_replans = 0
        #: the re-plans for suspects since the tool last processed new ground of the field
        #: (``suspect_replan_progress_m2``), and the field's processed cells at the first
        self.suspect_replans_idle = 0
        self.suspect_idle_cells = 0
        #: the processed-ground grid last counted and its processed cells
        self._cells_counted: Tuple[Optional[Grid], int] = (None, 0)
        #: Ground a resumed mission processed before (shapely), for the first plan.
        self.restored_processed = None
        if params.resume_dir:
            content = read_journal(journal_path(params.resume_dir))
            self.no_go.update([*content.no_go_tracks, *content.tracks])
            if content.processed is not None and content.grid is not None:
                g = content.grid
                self.restored_processed = processed_geometry(
                    content.processed.astype(np.int8) * 100, g.origin_x, g.origin_y,
                    g.resolution)
            self.log.info(f'resuming: {len(self.no_go.discs)} no-go zones and '
                          f'{self.restored_processed.area if self.restored_processed else 0:.0f}'
                          ' m^2 of processed ground from the journal')
        self.log.info(f'area {self.area.name!r}: waiting for the first pose')

    def on_activate(self, now: float) -> None:
        """Publish the status, and the plan again if there is one (latched)."""
        self.emit('status', self.status)
        if self.plan is not None:
            self.emit('path', self.path)

    def on_pose(self, pose: VehicleState, now: float) -> None:
        """Keep the pose (and the driven trail); plan from the first one; re-plan when the
        path pins the machine."""
        self.pose = pose
        self._extend_trail(pose)
        if self.error:
            return
        if self.plan is None:
            self._plan(pose, self.restored_processed, now)
            return
        self.progress = progress_index(self.path, self.progress, (pose.x, pose.y),
                                       _PROGRESS_WINDOW, _PROGRESS_TOLERANCE_M, _PROGRESS_LOST_M)
        self._check_pinned(pose, now)
        self._check_steep(pose, now)
        self._check_lowering(pose, now)
        self._check_second_pass(pose, now)

    def _extend_trail(self, pose: VehicleState) -> None:
        """Add the pose to the driven trail when it moved or turned a trail step (and the
        boom's sweep since the last one to the scanned ground)."""
        if not all(math.isfinite(v) for v in (pose.x, pose.y, pose.yaw)):
            return
        if self.trail:
            x, y, yaw = self.trail[-1]
            turned = abs(math.atan2(math.sin(pose.yaw - yaw), math.cos(pose.yaw - yaw)))
            if math.hypot(pose.x - x, pose.y - y) < _TRAIL_STEP_M and turned < _TRAIL_YAW_RAD:
                return
        self.trail.append((pose.x, pose.y, pose.yaw))
        if self.scanned is not None:
            # the boom's line swept from the last trail pose (a straight step or a turn the
            # grid splits into small ones): the same swath as every pose's, a fraction of the
            # time
            self.scanned.update(pose.x, pose.y, pose.yaw, working=True)

    def _check_lowering(self, pose: VehicleState, now: float) -> None:
        """Judge the path's next tool lowering again as the machine comes to it.

        Where its lead band holds ground of the field neither scanned by the boom at the
        driven poses (:attr:`scanned`), nor processed, nor declared safe, the machine backs up
        first, tool raised, as a plan's lead-in does (:func:`.coverage.lead_in.lead_in_ahead`):
        the path is replaced by the remaining one with the back-up. A lowering no back-up
        clears is said in a warning.
        """
        path = self.path
        if self._lowerings_of is not path:
            self._index_lowerings(-1)
        if self.error or self.scanned is None:
            return      # no grid yet: what the boom swept is not known
        nxt = self._lowering_here(pose)
        if nxt is None:
            return
        self._judged = nxt
        c = self.config
        g = lead_geometry(c)
        reach = (g.max_back_m + max(g.sensor_offset_x_m, g.footprint_rear_m)
                 + c.lowering_check_m + g.footprint_half_width_m)
        x, y = float(path[nxt, 0]), float(path[nxt, 1])
        bounds = (x - reach, y - reach, x + reach, y + reach)
        near = box(*bounds)
        scanned, processed = self._scanned_now(bounds), self._processed_near(bounds)
        keep_out = unary_union([p for _, p in self._keep_out() if p.intersects(near)])
        suspects = unary_union([Point(hx, hy).buffer(r) for hx, hy, r in self._unmarked()])
        ahead, report = lead_in_ahead(
            path, self.work, nxt, (pose.x, pose.y, pose.yaw), g,
            field=Polygon(self.area.field), scanned=scanned, processed=processed,
            safe=self.safe_ground, keep_out=keep_out, fence=self.fence, suspects=suspects)
        if report.blind:
            self.late_blind += 1
            if self._mark_unseen(x, y, float(path[nxt, 2]), g, scanned, processed, now):
                if self._plan(pose, self._processed_now(), now):
                    self.replans += 1
                return
            if self.error:
                return          # too many marked: the plan is refused
            self.log.warning(f'the tool is lowered at ({x:.1f}, {y:.1f}) over '
                             f'{report.blind[0][1]:.1f} m^2 the boom has not scanned: no '
                             'back-up on allowed ground clears it')
        if ahead is None:
            return
        self.late_lead_ins += 1
        self.path, self.work = ahead
        self.progress = 0
        # the lowering after the back-up is the one just judged
        self._index_lowerings(_BACKED_UP_LOWERING)
        back = report.added[0][1]
        self.emit('path', self.path)
        self._publish_status(PlanState.PLANNED, f'lead-in added: backing up {back:.1f} m '
                             f'before the tool is lowered at ({x:.1f}, {y:.1f})', now)
        self.log.warning(f'the lead band of the tool lowering at ({x:.1f}, {y:.1f}) holds '
                         'ground the boom has not scanned: backing up '
                         f'{back:.1f} m first, tool raised')

    def _mark_unseen(self, x: float, y: float, yaw: float, g: LeadGeometry, scanned,
                     processed, now: float) -> bool:
        """Mark the unseen ground of the lead band of the lowering at (x, y, yaw) to be
        planned round; False when there is none to mark (the judgement's round-off), or when
        ``max_unseen_marks`` are marked already (the plan is refused)."""
        c = self.config
        seen = unary_union([geom for geom in (scanned, processed, self.safe_ground)
                            if geom is not None and not geom.is_empty])
        rest = blind_ground(x, y, yaw, g, field=Polygon(self.area.field), seen=seen)
        if rest.area <= BLIND_TOLERANCE_M2:
            return False
        marked = sum(1 for p in self.unseen if not p.is_empty)
        if marked >= c.max_unseen_marks:
            self.error = (f'the tool would be lowered at ({x:.1f}, {y:.1f}) over ground the '
                          f'boom has not scanned and {c.max_unseen_marks} such bands are '
                          'marked already')
            self._publish_status(PlanState.REFUSED, f'cannot plan coverage: {self.error}', now)
            self.log.error(f'cannot plan coverage: {self.error}')
            return False
        # the band is convex: the hull of its unseen parts stays in it
        self.unseen.append(rest.convex_hull)
        self.unseen_pass.append(self.recover_passes)
        self.log.warning(f'the tool would be lowered at ({x:.1f}, {y:.1f}) over '
                         f'{rest.area:.1f} m^2 the boom has not scanned, and no back-up on '
                         'allowed ground clears it: not lowered; that ground is marked, planned '
                         f'round and left unless the boom sweeps it later ({marked + 1} of at '
                         f'most {c.max_unseen_marks})')
        return True

    def _lift_unseen(self) -> None:
        """Lift the marks of unseen ground the boom has swept since (or the tool processed,
        or declared safe): ordinary ground to plan again."""
        live = [i for i, p in enumerate(self.unseen) if not p.is_empty]
        if not live:
            return
        field = Polygon(self.area.field)
        for i in live:
            mark = self.unseen[i]
            seen = unary_union([geom for geom in (self._scanned_now(mark.bounds),
                                                  self._processed_near(mark.bounds),
                                                  self.safe_ground)
                                if geom is not None and not geom.is_empty])
            rest = mark.intersection(field)
            if not seen.is_empty:
                rest = rest.difference(seen)
            if rest.area <= BLIND_TOLERANCE_M2:
                self.unseen[i] = Polygon()
                c = mark.centroid
                self.log.info(f'the unseen ground marked near ({c.x:.1f}, {c.y:.1f}) has been '
                              'swept by the boom: no longer planned round')

    def _index_lowerings(self, judged: int) -> None:
        """Find the current path's tool lowerings; those up to leg ``judged`` count as
        judged."""
        path = self.path
        self._lowerings_of, self._judged = path, judged
        self._lowerings = (lowerings(path[:, :2], self.work, path[:, 2],
                                     self.config.corner_angle_rad, None)
                           if path.ndim == 2 and path.shape[1] == 3 and len(path) > 1 else [])

    def _lowering_here(self, pose: VehicleState) -> Optional[int]:
        """The path's first lowering not judged yet that the machine is at: base_link within
        ``lowering_check_m`` of its waypoint, facing as on the leg to it or as on it, at
        most :data:`_LOWERING_AHEAD` waypoints past the progress; None when there is none.

        Not the first lowering past the progress: the progress is the nearest waypoint, and on
        a path that comes back over itself (a back-up, a repair's back-out and re-join) a
        machine a few tenths off its leg is nearer the other pass; gen_random seed 8 put it
        past a lowering it had not reached, which was never judged.
        """
        c, path = self.config, self.path
        ahead = [k for k in self._lowerings
                 if self._judged < k <= self.progress + _LOWERING_AHEAD]
        for k in ahead:
            if math.hypot(pose.x - path[k, 0], pose.y - path[k, 1]) > c.lowering_check_m:
                continue
            facings = [path[k, 2]] + ([path[k - 1, 2]] if k else [])
            if any(abs(math.remainder(pose.yaw - f, math.tau)) <= _LOWERING_YAW_RAD
                   for f in facings):
                return k
        return None

    def _unmarked(self) -> List[Tuple[float, float, float]]:
        """The suspects' discs (x, y, radius) the tool has not processed, but the marked
        ones (planned round as keep-out ground)."""
        if not self.marked or not self.hazards:
            return list(self.hazards)
        # asked at every detections message: every suspect against every mark at once (one
        # Point and one predicate per pair: a quarter of the samples of mixed_field seed 2 at
        # 7,000 s simulated, stop 76)
        xy = np.asarray([(x, y) for x, y, _ in self.hazards], dtype=float)
        inside = np.zeros(len(xy), dtype=bool)
        for m in self.marked:
            inside |= shapely.contains_xy(m, xy[:, 0], xy[:, 1])
        return [h for h, gone in zip(self.hazards, inside.tolist()) if not gone]

    def _back_out_ground(self, pose: VehicleState, processed):
        """Ground a back-out may sweep: processed, declared safe, and the driven trail (the
        machine's footprint at its poses), grown by :data:`_TRAIL_TOLERANCE_M`."""
        c = self.config
        hull = (c.footprint_rear_m, c.footprint_front_m, c.footprint_half_width_m)
        parts = [footprint(x, y, yaw, *hull) for x, y, yaw in self.trail]
        parts.append(footprint(pose.x, pose.y, pose.yaw, *hull))
        parts.append(self.safe_ground)
        if processed is not None:
            parts.append(processed)
        return unary_union(parts).buffer(_TRAIL_TOLERANCE_M, join_style='mitre')

    def _tracks_outline(self) -> Tuple[float, float, float]:
        """The two tracks' outline (rear, front, half width from base_link): both tracks and
        the belly between them, the ground the supervisor counts as pressed."""
        c = self.config
        return 0.5 * c.track_length_m, 0.5 * c.track_length_m, c.contact_half_width_m

    def _pressed_ground(self, pose: VehicleState):
        """The ground the tracks pressed along the driven trail and at ``pose`` (their two
        patches' outline at each pose: the hull's reaches further, over the flail's and the
        boom's ground, and in a pivot far past the tracks)."""
        tracks = self._tracks_outline()
        return unary_union([footprint(x, y, yaw, *tracks)
                            for x, y, yaw in [*self.trail, (pose.x, pose.y, pose.yaw)]])

    def _pivot_sight(self, pose: VehicleState, processed) -> PivotSight:
        """What a repair judges its turns against: the ground the boom scanned, the tool
        processed (``processed``), the tracks pressed or the area file declares safe, and the
        trail."""
        parts = [self._pressed_ground(pose), self.safe_ground]
        parts += [g for g in (self._scanned_now(), processed) if g is not None]
        return PivotSight(lead_geometry(self.config), Polygon(self.area.field),
                          unary_union(parts), list(self.trail))

    def _scanned_now(self, bounds: Optional[Tuple[float, float, float, float]] = None):
        """The ground the boom has swept so far (shapely; :attr:`scanned`), within
        ``bounds`` (None: all), or None before the first grid."""
        if self.scanned is None:
            return None
        g = self.scanned
        if bounds is None:
            # read once, at once: the cache's read-only view, not a copy of a hectare's grid
            return processed_geometry(g.occupancy_view(), g.origin_x, g.origin_y,
                                      g.resolution)
        return cells_geometry_near(g.processed, g.origin_x, g.origin_y, g.resolution, bounds)

    def _way_back(self, pose: VehicleState, avoid, back, reach: float, hull, blocking
                  ) -> List[Tuple[float, float, float]]:
        """The driven trail backwards out of the zones' pivot reach (:func:`retrace`), when
        the straight way out (``back``) does not reach as far from them; else []."""
        if not avoid or not self.trail:
            return []
        union = unary_union(avoid)
        straight = union.distance(Point(*(back if back is not None else (pose.x, pose.y))))
        if straight >= reach:
            return []
        way = retrace(self.trail, pose.x, pose.y, pose.yaw, avoid, reach,
                      self.config.back_out_max_m, hull, behind=blocking, inside=self.fence)
        if len(way) < 2 or union.distance(Point(*way[-1][:2])) <= straight + _BACK_OUT_STEP_M:
            return []
        return way

    def _supervisor_way_out(self, pose: VehicleState, back, reach: float, hull, ground,
                            processed) -> List[Tuple[float, float, float]]:
        """The way out of the pivot reach of the zones the safety supervisor keeps (no-go and
        exclusion zones as they are), for a pinned machine no way out of every zone as planned
        (widened by the pins, too steep ground included) gets clear of; else [].

        gen_random seed 66 at stop 72: a false AT label ahead of a machine that had just
        pivoted, a too steep zone behind it and a no-go zone beside: no pose within reach lay a
        pivot's reach from all of them, every re-plan began with a motion the supervisor
        refused, and the mission aborted at 48 %. A metre back, a pivot away from the new
        zone and half a metre on got it out of the supervisor's zones' reach (0.2 m^2 of
        ground not driven); the re-plan from there keeps to the planner's zones again.
        """
        zones = [p for _, p in self._supervisor_zones()]
        if not zones:
            return []
        way = (self._way_back(pose, zones, back, reach, hull, zones)
               or self._escape(pose, zones, back, reach, hull, zones, ground, processed))
        if way:
            self.log.warning('no way out of the reach of the keep-out zones as planned (widened '
                             'round pins, too steep ground): leaving the reach of the zones '
                             'the supervisor keeps')
        return way

    def _suspect_press(self, pose: VehicleState, processed) -> Optional[SuspectPress]:
        """The suspects' ground (every detected suspect's disc, marked ones too) a way out may
        not put a track on, as the supervisor judges it: less the processed and declared safe
        ground (the ruts of the trail are not: the supervisor refuses a second press of an AP
        track too); None when no suspect is within an escape's travel."""
        c = self.config
        tracks = self._tracks_outline()
        # an escape's travel at most: a short leg before each pivot, then the long one
        bound = ESCAPE_MAX_PIVOTS * ESCAPE_FIRST_MAX_M + c.back_out_max_m + turn_reach(*tracks)
        discs = [disc_polygon(x, y, r) for x, y, r in self.hazards
                 if math.hypot(x - pose.x, y - pose.y) <= bound + r]
        if not discs:
            return None
        hazard = unary_union(discs).difference(self.safe_ground)
        if processed is not None and not hazard.is_empty:
            # only the processed ground round the discs: the field's whole outline is the
            # costly side of the overlay
            hazard = hazard.difference(shapely.clip_by_rect(processed, *hazard.bounds))
        return SuspectPress(hazard, tracks) if not hazard.is_empty else None

    def _escape(self, pose: VehicleState, avoid, back, reach: float, hull, blocking, ground,
                processed=None) -> List[Tuple[float, float, float]]:
        """Waypoints of the way out of the zones' pivot reach that sweeps the least ground
        outside ``ground`` (at most ``back_out_blind_max_m`` of the footprint's width) and
        presses no detected suspect if any way does, when the straight way out (``back``)
        does not get clear or presses one; else [] (module docstring)."""
        c = self.config
        if not avoid:
            return []
        union = unary_union(avoid)
        suspects = self._suspect_press(pose, processed)
        straight = union.distance(Point(*(back if back is not None else (pose.x, pose.y))))
        # the straight way out, when it gets clear, unless it presses a suspect a way round
        # avoids
        pressing = back is not None and suspects is not None and suspects.leg_presses(
            pose.x, pose.y, pose.yaw,
            (back[0] - pose.x) * math.cos(pose.yaw) + (back[1] - pose.y) * math.sin(pose.yaw))
        if straight >= reach and not pressing:
            return []
        found = escape(pose.x, pose.y, pose.yaw, avoid, reach, hull, behind=blocking,
                       inside=self.fence, ground=ground,
                       blind_m2=c.back_out_blind_max_m * 2.0 * c.footprint_half_width_m,
                       max_m=c.back_out_max_m,
                       min_turn_rad=c.pivot_threshold_rad + vehicle_params.PIVOT_MARGIN_RAD,
                       suspects=suspects)
        if found is None or (straight >= reach and found.presses_suspect):
            return []
        if found.presses_suspect:
            self.log.warning('every way out of the no-go reach puts a track on a detected '
                             'suspect: taking the one with the least blind ground')
        if found.blind_m2 > 0.0:
            self.log.warning(f'no way over processed, safe or driven ground leads out of the '
                             f'no-go reach: {found.blind_m2:.1f} m^2 of it blind (at most '
                             f'back_out_blind_max_m {c.back_out_blind_max_m:g} m of the '
                             'footprint\'s width)')
        return found.way

    def on_safety(self, event: SafetyEvent, now: float) -> None:
        """Follow the supervisor's refusals at keep-out ground (a suspect under a track
        included), and its slope stops."""
        slope = event.state == SafetyState.PROTECTIVE_STOP.value and SLOPE_STOP in event.reason
        if not slope:
            self.slope_since = None
        elif self.slope_since is None:
            self.slope_since = now
        refused = event.state == SafetyState.PROTECTIVE_STOP.value and any(
            cause in event.reason for cause in KEEP_OUT_CAUSES)
        self.refusal = event.reason if refused else ''
        # kept through the pin (the supervisor lets each slower command go in between)
        if refused and HAZARD_UNDER_TRACK in event.reason:
            self.hazard_refused = True
            self.hazard_refused_at = hazard_position(event.reason) or self.hazard_refused_at
        if refused:
            if self.pinned_since is None:
                self.pinned_since = now
            self.released_at = None
        elif self.released_at is None:
            self.released_at = now

    def on_follower(self, status: FollowerStatus, now: float) -> None:
        """The path is driven: re-cover what it left, or say the coverage is final."""
        if (FollowerStatus(status) is not FollowerStatus.DONE or self.plan is None
                or self.pose is None or self.error or self.final):
            return
        if self.recover_passes >= self.config.max_recover_passes:
            left = self._left_m2()
            self._finish(f'{self.recover_passes} re-cover passes made; {left:.1f} m^2 of the '
                         'field left unprocessed', now)
            return
        self.recover_passes += 1
        self._lift_unseen_for_recover()
        self._plan(self.pose, self._processed_now(), now, recover=True)

    def _recover_unseen(self, pose: VehicleState, now: float) -> bool:
        """Nothing left to plan but unseen marks: a re-cover pass with them lifted
        (:meth:`_lift_unseen_for_recover`), within ``max_recover_passes``; False when there
        is none to lift or the passes are used up (the coverage is then final).

        A mark's re-plan that found nothing else to plan made the coverage final with the
        marks' ground unprocessed, before any re-cover pass could lift them
        (gen_notch_clay_exclusion seed 67: ten marks, complete at 70.1 %).
        """
        if self.recover_passes >= self.config.max_recover_passes or all(
                m.is_empty for m in self.unseen):
            return False
        self.recover_passes += 1
        self._lift_unseen_for_recover()
        return self._plan(pose, self._processed_now(), now, recover=True)

    def _lift_unseen_for_recover(self) -> None:
        """Lift the unseen marks made before this re-cover pass: their ground is planned
        again, and each lowering onto it judged again as the machine comes to it.

        A mark is made where no back-up on allowed ground cleared a lowering's band, mostly
        with unprocessed ground behind the machine; when the path is done that ground is
        mostly processed, and a back-up there lets the boom look at the band before the flail
        reaches it. A lowering still blind is marked again (not lifted again this pass)."""
        lifted = 0
        for i, mark in enumerate(self.unseen):
            if not mark.is_empty and self.unseen_pass[i] < self.recover_passes:
                self.unseen[i] = Polygon()
                lifted += 1
        if lifted:
            self.log.info(f're-cover pass {self.recover_passes}: {lifted} unseen mark(s) '
                          'lifted, their ground planned again (each lowering judged again '
                          'where the machine comes to it)')

    def _left_m2(self) -> float:
        """Field area not processed yet, m^2 (the processed grid's view)."""
        done = self._processed_now()
        field = Polygon(self.area.field)
        return float(field.area - (field.intersection(done).area if done is not None else 0.0))

    def _finish(self, reason: str, now: float) -> None:
        """The coverage is final: latch ``complete`` with ``reason``; the first time, the
        second pass over the suspects on processed ground comes first
        (:meth:`_second_pass`)."""
        if self._second_pass(reason, now):
            return
        if self.second_pass is not None and self.second_pass[1]:
            first, n = self.second_pass
            reason = (f'{first}; then a second pass over {n} detected suspect(s) on processed '
                      f'ground: {reason}')
        self.second_pass_since = None
        self.final = True
        self._publish_status(PlanState.COMPLETE, reason, now)
        self.log.info(f'coverage final: {reason}')

    def _second_pass(self, reason: str, now: float) -> bool:
        """The first time the coverage is final: plan one more pass of the tool over the
        detected suspects on processed ground (``reprocess_suspects``), within
        ``reprocess_max_s`` at the mission's pace (:meth:`_pace`), the likeliest mines
        first; False when none is due (the coverage is then final).

        The pass is a re-cover pass (:meth:`_plan` ``recover``) on the processed ground less
        the suspects' discs: the planner plans lanes over them and keeps its pivots off them,
        the tracks drive processed ground. The record is unchanged: the discs are processed
        ground, and what the last pass left unprocessed is still what is reported.
        """
        c = self.config
        if self.second_pass is not None or not c.reprocess_suspects or self.error \
                or self.pose is None:
            return False
        processed = self._processed_now()
        spots = self._second_pass_spots(processed)
        self.second_pass = (reason, 0)
        pace = self._pace(now)
        while spots:
            self.second_pass = (reason, len(spots))
            self.log.info(f'coverage: {reason}; a second pass over {len(spots)} detected '
                          'suspect(s) on processed ground')
            planned = self._plan(self.pose, processed, now, recover=True,
                                 reprocess=unary_union(spots))
            if self.final or self.error or not planned:
                return self.final or bool(self.error)
            if self.plan.expected_time_s * pace <= c.reprocess_max_s or len(spots) == 1:
                self.second_pass_since = now
                return True
            spots = spots[:len(spots) // 2]
        return False

    def _pace(self, now: float) -> float:
        """The time the mission has taken over its first plan's expected time (at least
        1): the planner's expected times assume ``working_speed_mps``, the tool controller
        governs slower in most soils, and stops and re-plans add more."""
        if self.first_plan is None or self.first_plan[1] <= 0.0:
            return 1.0
        stamp, expected = self.first_plan
        return max(1.0, (now - stamp) / expected)

    def _check_second_pass(self, pose: VehicleState, now: float) -> None:
        """End the second pass where the machine is once it has lasted ``reprocess_max_s``,
        or when the mission manager's no-progress watchdog would end the mission within
        :data:`_WATCHDOG_MARGIN_S` (the pass processes no new ground: one that began after a
        re-cover pass that processed none has less than ``reprocess_max_s`` left)."""
        since = self.second_pass_since
        c = self.config
        if since is None or self.final or (
                now - since < c.reprocess_max_s and now - self.field_progress[1]
                < c.no_progress_abort_s - _WATCHDOG_MARGIN_S):
            return
        why = ('reprocess_max_s' if now - since >= c.reprocess_max_s
               else 'before the no-progress watchdog')
        self._stay(pose, f'ended after {now - since:.0f} s ({why})', now)

    def _stay(self, pose: VehicleState, reason: str, now: float) -> None:
        """Hand over a path that is where the machine stands (done at once, so the mission
        completes), keeping what the last plan left unprocessed, and say the coverage is
        final with ``reason``."""
        unplanned = self.plan.unplanned if self.plan is not None else []
        self.plan = _nothing_left(pose, self.config)
        self.plan.unplanned = unplanned
        self.path, self.work = np.array([[pose.x, pose.y, pose.yaw]]), np.zeros(0, dtype=bool)
        self.progress = 0
        self.emit('path', self.path)
        self._finish(reason, now)

    def _second_pass_spots(self, processed) -> List[Polygon]:
        """The discs of the suspects (:func:`hazard_discs`, grown by
        ``reprocess_margin_m``) whose centre lies on processed ground of the field, not
        marked: the likeliest mines first (the fusion publishes an AP track's P(AP) and an
        unknown one's P(no hazard) as its confidence: demining_perception/fusion/core.py)."""
        if processed is None or processed.is_empty:
            return []
        field = Polygon(self.area.field)
        margin = self.config.hazard_track_margin_m + self.config.reprocess_margin_m

        def hazard(d: Detection) -> float:
            c = float(d.confidence)
            return c if d.kind == DetectionKind.AP else 1.0 - c

        ranked = sorted(self.suspect_tracks, key=hazard, reverse=True)
        spots = []
        for d in ranked:
            disc = hazard_discs([d], margin)
            if not disc:
                continue
            x, y, r = disc[0]
            here = Point(x, y)
            if field.contains(here) and processed.contains(here) and not any(
                    m.contains(here) for m in self.marked):
                spots.append(disc_polygon(x, y, r))
        return spots

    def _check_pinned(self, pose: VehicleState, now: float) -> None:
        """Re-plan round the keep-out zone that keeps refusing the path (module docstring).

        The supervisor lets a refused command go again as soon as the follower slows, so a
        pin is a refusal not followed by ``pin_replan_s`` of free motion.
        """
        c = self.config
        if self.pinned_since is None:
            return
        if self.released_at is not None and now - self.released_at >= c.pin_replan_s:
            self.pinned_since = self.released_at = None      # moving freely again
            self.hazard_refused, self.hazard_refused_at = False, None
            return
        if now - self.pinned_since < c.pin_replan_s:
            return
        # a stop that goes on sends no new event: the clock restarts for the new path, and
        # its cause holds for the next pin (gen_notch_clay_exclusion seed 10 with
        # suspect_track_enforce: a suspect's stop went on after the first pin's re-plan, and
        # the next five pins widened the exclusion zone nearest the machine until the plan
        # was refused)
        self.pinned_since = now if self.refusal else None
        self.released_at = None
        if self.hazard_refused:
            at = self.hazard_refused_at
            self.hazard_refused = HAZARD_UNDER_TRACK in self.refusal
            self.hazard_refused_at = hazard_position(self.refusal) if self.hazard_refused \
                else None
            marked = self._marked_at(at)
            if marked is not None:
                # planned round already, and still in the way: a pin at that mark, as at any
                # keep-out zone (not at a zone the refusal was not about: gen_random seed 51
                # widened a no-go zone six times while a suspect refused every motion)
                where = nearest_points(self.marked[marked[1]], Point(pose.x, pose.y))[0]
                if self._count_pin(marked, (where.x, where.y), now, 'a track would press the '
                                   f'marked suspect at ({at[0]:.1f}, {at[1]:.1f})'):
                    if self._plan(pose, self._processed_now(), now, force_back_out=True):
                        self.replans += 1
                return
            if self._suspect_pinned(pose, now, at) or self._mark_hazard(pose, now, at):
                # a re-plan or a new mark is the pin's answer: the supervisor's rule is exact,
                # so the suspect is not widened and other zones' pin budgets are not spent
                self.pins += 1
                if self._plan(pose, self._processed_now(), now, force_back_out=True):
                    self.replans += 1
                return
            if self.error:
                return          # too many marked: the plan is refused
        key, where = self._offending_zone(pose)
        if key is None:
            return
        if self._count_pin(key, where, now, f'pinned at keep-out ground near ({where[0]:.1f}, '
                           f'{where[1]:.1f}) for {c.pin_replan_s:g} s'):
            if self._plan(pose, self._processed_now(), now, force_back_out=True):
                self.replans += 1

    def _count_pin(self, key: Tuple[str, int], where: Tuple[float, float], now: float,
                   what: str, futile: bool = False) -> bool:
        """Count a pin at keep-out zone ``key`` (its point nearest the footprint ``where``)
        and widen it for planning; False, and the plan refused with the reason, past its
        ``max_pin_replans``. ``what`` says the pin in the warning; ``futile``: it is the
        re-planned path's own first motion (:meth:`_refused_start`), said in the reason."""
        c = self.config
        self.pins += 1
        self.zone_pins[key] = self.zone_pins.get(key, 0) + 1
        if self.zone_pins[key] > c.max_pin_replans:
            self.error = (f'the machine is pinned at keep-out ground near ({where[0]:.1f}, '
                          f'{where[1]:.1f}) after {c.max_pin_replans} re-plans round it'
                          + (': every way out planned from where it stands would sweep the '
                             'footprint into it' if futile else ''))
            self._publish_status(PlanState.REFUSED, f'cannot plan coverage: {self.error}', now)
            self.log.error(f'cannot plan coverage: {self.error}')
            return False
        self.inflation[key] = self.inflation.get(key, 0.0) + c.pin_inflation_m
        self.log.warning(f'{what}: re-planning with that zone {self.inflation[key]:.1f} m '
                         f'wider (pin {self.zone_pins[key]} of at most {c.max_pin_replans} '
                         f'there, {self.pins} in all)')
        return True

    def _supervisor_zones(self) -> List[Tuple[Tuple[str, int], Polygon]]:
        """The keep-out zones as the safety supervisor keeps them, with their keys: no-go
        zones and exclusion zones but where declared safe ground lies over them, not widened
        (the supervisor knows neither steep ground nor marked suspects)."""
        out = []
        for k, p in self._keep_out(widened=False):
            if k[0] == 'x' and not self.safe_ground.is_empty:
                p = p.difference(self.safe_ground)
            if k[0] in ('n', 'x') and not p.is_empty:
                out.append((k, p))
        return out

    def _refused_start(self, pose: VehicleState, path: np.ndarray
                       ) -> Tuple[Optional[Tuple[str, int]], Optional[Tuple[float, float]]]:
        """The keep-out zone the path's first motions, driven from ``pose``, would sweep the
        footprint into as the safety supervisor judges it (:func:`first_refusal`, the
        supervisor's own rule), with its point nearest the footprint there; (None, None) when
        the supervisor lets them pass. Judged over the pivot reach: the motions the machine
        makes where it stands, the ones a pin is about."""
        c = self.config
        zones = self._supervisor_zones()
        if not zones:
            return None, None
        hull = (c.footprint_rear_m, c.footprint_front_m, c.footprint_half_width_m)
        hit = first_refusal((pose.x, pose.y, pose.yaw), path, [p for _, p in zones], hull,
                            _pivot_reach(c), min_turn_rad=c.pivot_threshold_rad)
        if hit is None:
            return None, None
        (key, poly), at = zones[hit[0]], footprint(*hit[1], *hull)
        pt = nearest_points(poly, at)[0]
        return key, (pt.x, pt.y)

    def _check_steep(self, pose: VehicleState, now: float) -> None:
        """Mark the ground of a lasting slope stop too steep and re-plan round it (module
        docstring). Once per stop: a stop the re-plan does not end sends no new event, and the
        mission manager's ``protective_stop_abort_s`` ends it."""
        c = self.config
        if self.slope_since is None or now - self.slope_since < c.pin_replan_s:
            return
        self.slope_since = None
        if len(self.steep) >= c.max_steep_zones:
            self.error = (f'the slope stopped the machine at {len(self.steep) + 1} places (at '
                          f'most {c.max_steep_zones} are planned round)')
            self._publish_status(PlanState.REFUSED, f'cannot plan coverage: {self.error}', now)
            self.log.error(f'cannot plan coverage: {self.error}')
            return
        zone = footprint(pose.x, pose.y, pose.yaw, c.footprint_rear_m, c.footprint_front_m,
                         c.footprint_half_width_m).buffer(c.steep_margin_m, join_style='mitre')
        self.steep.append(zone)
        self.log.warning(f'slope above the work limit at ({pose.x:.1f}, {pose.y:.1f}) for '
                         f'{c.pin_replan_s:g} s: {zone.area:.0f} m^2 marked too steep, backing '
                         f'out and re-planning round it ({len(self.steep)} of at most '
                         f'{c.max_steep_zones})')
        if self._plan(pose, self._processed_now(), now, force_back_out=True):
            self.replans += 1

    def _nearest_suspect(self, pose: VehicleState, at: Optional[Tuple[float, float]] = None
                         ) -> Optional[Tuple[float, float, float]]:
        """The unmarked suspect the supervisor's refusal is about: the one within
        :data:`_SUSPECT_MATCH_M` of ``at`` (where the refusal said it is), else the one nearest
        the machine within the footprint's pivot reach; or None."""
        if at is not None:
            named = [(math.hypot(x - at[0], y - at[1]), x, y, r) for x, y, r in self._unmarked()]
            named = [n for n in named if n[0] <= _SUSPECT_MATCH_M]
            if named:
                return min(named)[1:]
        reach = _pivot_reach(self.config)
        near = [(math.hypot(x - pose.x, y - pose.y), x, y, r) for x, y, r in self._unmarked()
                if math.hypot(x - pose.x, y - pose.y) <= reach + r]
        return min(near)[1:] if near else None

    def _marked_at(self, at: Optional[Tuple[float, float]]) -> Optional[Tuple[str, int]]:
        """The key (('h', i)) of the marked suspect the refusal names (its mark holds ``at``,
        within :data:`_SUSPECT_MATCH_M`) when no unmarked one is nearer, else None."""
        if at is None:
            return None
        here = Point(at)
        d = [(m.distance(here), i) for i, m in enumerate(self.marked)]
        d = [(dist, i) for dist, i in d if dist <= _SUSPECT_MATCH_M]
        if not d:
            return None
        unmarked = [math.hypot(x - at[0], y - at[1]) for x, y, _ in self._unmarked()]
        if unmarked and min(unmarked) < min(d)[0]:
            return None
        return ('h', min(d)[1])

    def _suspect_pinned(self, pose: VehicleState, now: float,
                        at: Optional[Tuple[float, float]] = None) -> bool:
        """The first pin at a suspect: re-plan (every re-plan knows the suspects and keeps
        its pivots off them where it can) instead of marking it at once; False when this
        suspect pinned the machine before (then it is marked) or there is none. ``at``: where
        the refusal said the suspect is (:meth:`_nearest_suspect`)."""
        found = self._nearest_suspect(pose, at)
        if found is None:
            return False
        key = suspect_key(found[0], found[1])
        if key in self.suspect_pins:
            return False
        self.suspect_pins.add(key)
        self.log.warning(f'a track would press the detected suspect at ({found[0]:.1f}, '
                         f'{found[1]:.1f}) on unprocessed ground: backing out and re-planning '
                         'with the turns kept off the suspects')
        return True

    def _mark_hazard(self, pose: VehicleState, now: float,
                     at: Optional[Tuple[float, float]] = None) -> bool:
        """Mark the suspect a track would press (the supervisor's refusal): the unmarked one
        nearest the tracks within the footprint's pivot reach, planned round from now on.
        False when there is none (the refusal is then a pin at the zone it meets), or when
        ``max_marked_suspects`` are marked already (the plan is refused: the mission ends
        with its report). ``at``: where the refusal said the suspect is."""
        c = self.config
        found = self._nearest_suspect(pose, at)
        if found is None:
            return False
        x, y, r = found
        dist = math.hypot(x - pose.x, y - pose.y)
        if len(self.marked) >= c.max_marked_suspects:
            self.error = (f'a track would press a detected suspect at ({x:.1f}, {y:.1f}) and '
                          f'{c.max_marked_suspects} are marked already')
            self._publish_status(PlanState.REFUSED, f'cannot plan coverage: {self.error}', now)
            self.log.error(f'cannot plan coverage: {self.error}')
            return False
        self.marked.append(disc_polygon(x, y, r))
        self.log.warning(f'a track would press the detected suspect at ({x:.1f}, {y:.1f}) '
                         f'({dist:.1f} m from base_link) on unprocessed ground: marked, '
                         f'planned round (radius {r:.2f} m) and left for manual clearance '
                         f'({len(self.marked)} of at most {c.max_marked_suspects})')
        return True

    def _keep_out(self, widened: bool = True) -> List:
        """(key, polygon) of every keep-out zone (key: ('x', i) exclusion, ('n', i) no-go,
        ('s', i) too steep, ('h', i) a marked suspect, ('u', i) marked unseen ground): as
        planned, widened by its pins, or as the supervisor keeps it (``widened`` False)."""
        out = [(('x', i), Polygon(z)) for i, z in enumerate(self.area.exclusion_zones)]
        out += [(('n', i), p) for i, p in enumerate(self.no_go.polygons())]
        out += [(('s', i), p) for i, p in enumerate(self.steep)]
        out += [(('h', i), p) for i, p in enumerate(self.marked)]
        out += [(('u', i), p) for i, p in enumerate(self.unseen) if not p.is_empty]
        return [(k, p.buffer(self.inflation[k], join_style='mitre')
                 if widened and k in self.inflation else p) for k, p in out]

    def _offending_zone(self, pose: VehicleState):
        """The keep-out zone the path's next motion would sweep the footprint into (the one
        the supervisor refuses), else the one nearest the footprint; and its nearest point.

        Nearest alone picked a zone beside or behind the machine while one ahead refused
        it: each pin widened the wrong zone, the wider zone then blocked the way back, and
        the machine stood pinned until the plan was refused (mixed_field seed 1).
        """
        c = self.config
        hull = (c.footprint_rear_m, c.footprint_front_m, c.footprint_half_width_m)
        here = footprint(pose.x, pose.y, pose.yaw, *hull)
        # the supervisor knows neither the steep ground nor the unseen marks: it refuses
        # nothing there
        zones = [(k, p) for k, p in self._keep_out(widened=False)
                 if k[0] not in ('s', 'u') and not (k[0] == 'x' and p.within(self.safe_ground))]
        if not zones:
            return None, None
        reach = _pivot_reach(c)
        ahead = first_zone_entered((pose.x, pose.y, pose.yaw), self.path[self.progress:],
                                   [p for _, p in zones], hull, reach)
        key, poly = (zones[ahead] if ahead is not None
                     else min(zones, key=lambda kp: kp[1].distance(here)))
        pt = nearest_points(poly, here)[0]
        return key, (pt.x, pt.y)

    def _processed_near(self, bounds: Tuple[float, float, float, float]):
        """The processed ground so far within ``bounds`` (shapely), or None before the first
        grid."""
        if self.processed is None:
            return None
        grid = self.processed
        return cells_geometry_near(np.asarray(grid.values) == topics.PROCESSED_VALUE,
                                   grid.origin_x, grid.origin_y, grid.resolution, bounds)

    def _processed_now(self):
        """The processed ground so far (shapely), or None before the first grid."""
        if self.processed is None:
            return None
        return processed_geometry(self.processed.values, self.processed.origin_x,
                                  self.processed.origin_y, self.processed.resolution)

    def _keep_request(self, request: PlanRequest) -> None:
        """Write the request to ``plan_requests_dir`` when set; a failure to write is a
        warning, never a lost plan."""
        if not self.config.plan_requests_dir:
            return
        try:
            write_request(os.path.join(self.config.plan_requests_dir, 'plan_requests'),
                          request)
        except OSError as exc:
            self.log.warning(f'plan request not kept: {exc}', throttle_s=60.0)

    def on_processed(self, grid: Grid, now: float) -> None:
        """Keep the processed-ground grid (what a re-plan need not cover again), and when
        the field's processed ground last grew; the first one sets the cells of the boom's
        swept ground (:attr:`scanned`)."""
        self.processed = grid
        cells = self._field_cells_processed()
        if cells > self.field_progress[0]:
            self.field_progress = (cells, now)
        if self.scanned is None:
            c = self.config
            # the swath's sides taken inside the boom's edges, as the plan's own swaths are
            # (its ends are where the boom's line was: they are not narrowed)
            self.scanned = ProcessedGrid(self.area.field, resolution=grid.resolution,
                                         tool_width_m=2.0 * lead_geometry(c).seen_half_m,
                                         tool_offset_x_m=c.sensor_offset_x_m)

    def on_detections(self, dets: Detections, now: float) -> None:
        """A new AT/UXO no-go zone: re-plan the remaining ground around every zone (and keep
        the suspects a track may not press)."""
        self.hazards = hazard_discs(dets.items, self.config.hazard_track_margin_m)
        self.suspect_tracks = [d for d in dets.items if d.kind in TRACK_HAZARD_KINDS]
        added = self.no_go.update(dets.items)
        for x, y, r in added:
            self.log.warning(f'no-go zone: AT mine or UXO at ({x:.1f}, {y:.1f}), radius '
                             f'{r:.1f} m')
        if self.plan is None or self.pose is None or self.error:
            return          # the first plan will include it
        if not added:
            self._check_suspects(now)
        elif self.config.replan_mode == 'repair' and not self.final and self._repair(now):
            self.repairs += 1
            # the repair routes round the zones, not the suspects: every one is new to it
            self.suspects_checked.clear()
            self._check_suspects(now)
        elif self._plan(self.pose, self._processed_now(), now):
            self.replans += 1

    def _check_suspects(self, now: float) -> None:
        """Re-plan when a track of the path ahead would press a suspect before the tool has
        processed it (``suspect_lookahead_m``): the suspects not checked yet, on ground not
        processed, within the tracks' pivot reach of the path's next
        ``suspect_lookahead_m``, judged by :func:`.coverage.allowed.check_path` (allowed: the
        ground processed so far, by the path's own tool first, or declared safe). A re-plan
        knows every suspect and keeps its turns off them where it can; each suspect causes at
        most one, and after one the next check waits ``suspect_replan_min_s`` (the suspects
        not checked stay so until then)."""
        c = self.config
        if c.suspect_lookahead_m <= 0.0 or self.final or self.error or self.pose is None \
                or self.path is None or now - self.suspect_replan_at < c.suspect_replan_min_s:
            return
        pending = [(x, y, r) for x, y, r in self._unmarked()
                   if suspect_key(x, y) not in self.suspects_checked
                   and not self._processed_at(x, y)]
        if not pending or not self._suspect_replan_due():
            return
        self.suspects_checked.update(suspect_key(x, y) for x, y, _ in pending)
        pose, k = self.pose, min(self.progress, len(self.path) - 1)
        legs = np.hypot(*np.diff(self.path[k:, :2], axis=0).T)
        end = k + 1 + int(np.searchsorted(np.cumsum(legs), c.suspect_lookahead_m))
        ahead = np.vstack([[pose.x, pose.y, pose.yaw], self.path[k:end + 1]])
        work = np.concatenate([[bool(self.work[k - 1]) if k > 0 else False],
                               np.asarray(self.work[k:end + 1], dtype=bool)])
        contact = contact_for(c, _SUSPECT_CHECK_RESOLUTION_M)
        reach = contact.pivot_radius_m
        near = [(x, y, r) for x, y, r in pending
                if np.min(np.hypot(ahead[:, 0] - x, ahead[:, 1] - y)) <= reach + r]
        if not near:
            return
        processed = self._processed_now()
        allowed = unary_union([g for g in (self.safe_ground, processed)
                               if g is not None and not g.is_empty])
        keep_out = [list(p.exterior.coords)[:-1] for _, p in self._keep_out(widened=False)]
        check = check_path(ahead, work, self.area.field, keep_out, allowed, contact,
                           suspects=near)
        if not check.suspects_pressed:
            return
        x, y = check.suspects_pressed[0]
        self.log.warning(f'a track of the path ahead would press the detected suspect at '
                         f'({x:.1f}, {y:.1f}) on ground not processed: re-planning the '
                         'remaining ground with the turns kept off the suspects')
        self.suspect_replan_at = now
        if self.suspect_replans_idle == 0:
            self.suspect_idle_cells = self._field_cells_processed()
        self.suspect_replans_idle += 1
        if self._plan(pose, processed, now, optional=True):
            self.replans += 1
            self.suspect_replans += 1

    def _suspect_replan_due(self) -> bool:
        """Whether a re-plan for suspects ahead may follow: fewer than
        ``suspect_replans_idle_max`` were made since the tool last processed
        ``suspect_replan_progress_m2`` of new ground of the field (which starts the count
        again). Bounds the re-plans that only move the machine about its turning ground."""
        c = self.config
        if not c.suspect_replans_idle_max or not self.suspect_replans_idle:
            return True
        cells = self._field_cells_processed()
        res = self.processed.resolution if self.processed is not None else 0.0
        if (cells - self.suspect_idle_cells) * res * res >= c.suspect_replan_progress_m2:
            self.suspect_replans_idle = 0
            return True
        return self.suspect_replans_idle < c.suspect_replans_idle_max

    def _field_cells_processed(self) -> int:
        """Cells of the field the processed-ground grid says are processed (0 before one);
        counted once per grid (a hectare's is a million cells, the detections come at 5 Hz
        and the grid at 1 Hz)."""
        grid = self.processed
        if grid is None:
            return 0
        if self._cells_counted[0] is not grid:
            count = int(np.count_nonzero(np.asarray(grid.values) == topics.PROCESSED_VALUE))
            self._cells_counted = (grid, count)
        return self._cells_counted[1]

    def _processed_at(self, x: float, y: float) -> bool:
        """Whether the processed-ground grid's cell at (``x``, ``y``) is processed."""
        g = self.processed
        if g is None:
            return False
        i = math.floor((x - g.origin_x) / g.resolution)
        j = math.floor((y - g.origin_y) / g.resolution)
        values = np.asarray(g.values)
        return (0 <= j < values.shape[0] and 0 <= i < values.shape[1]
                and int(values[j, i]) == topics.PROCESSED_VALUE)

    def _repair(self, now: float) -> bool:
        """Cut the path's legs that pass a no-go zone and re-join it (:mod:`.coverage.repair`).

        False when no repair keeps the path clear: the caller re-plans in full.
        """
        c, pose = self.config, self.pose
        self._lift_unseen()
        geometry = RepairGeometry.of(c, c.back_out_max_m)

        def router():
            keep_out = [p for k, p in self._keep_out()
                        if not (k[0] == 'x' and p.within(self.safe_ground))]
            out = allowed_router(c, geometry, self.safe_ground, keep_out, self.fence)
            if self.processed is not None:
                # the grid's cells, not its polygons: milliseconds on a hectare
                g = self.processed
                out.allow_grid(np.asarray(g.values) == topics.PROCESSED_VALUE, g.origin_x,
                               g.origin_y, g.resolution)
            return out
        # the processed ground's polygons, built once for the back-out and the turn's sight
        processed = functools.lru_cache(maxsize=1)(self._processed_now)
        repair = repair_path(self.path, self.work, self.progress, (pose.x, pose.y, pose.yaw),
                             self.no_go.discs, geometry, router, fence=self.fence,
                             ground_for=lambda: self._back_out_ground(pose, processed()),
                             sight_for=lambda: self._pivot_sight(pose, processed()))
        if repair is None:
            self.log.warning('no local repair keeps the path clear of the no-go zones: '
                             're-planning the remaining ground')
            return False
        key, where = self._refused_start(pose, repair.path)
        if key is not None:
            # the supervisor would refuse it where the machine stands: the full re-plan
            # judges its own path the same way and counts the pin
            self.log.warning('the repaired path\'s first motion would sweep the footprint into '
                             f'keep-out ground near ({where[0]:.1f}, {where[1]:.1f}) (the '
                             'supervisor would refuse it): re-planning the remaining ground')
            return False
        left = dropped_area(repair.dropped)
        self.path, self.work, self.progress = repair.path, repair.work, 0
        self.repaired = True
        self.emit('path', self.path)
        self._publish_status(PlanState.PLANNED, f'path repaired round {len(self.no_go.discs)} '
                             f'no-go zone(s): {repair.cuts} stretch(es) cut', now)
        self.log.warning(f'path repaired round the no-go zones: {repair.cuts} stretch(es) '
                         f'cut, {len(self.path)} waypoints, {left:.1f} m^2 of lanes left for '
                         'the re-cover pass')
        return True

    def _outside_fence(self, plan: CoveragePlan, outside_m: float, processed) -> str:
        """Why a plan that leaves the geofence for ``outside_m`` is refused, and what to do.

        Before any ground is processed the start or the area file is at fault. In a re-plan
        the way on to the ground left leaves the fence, typically where new no-go zones have
        closed every way inside it (irregular_area seed 1: a false zone 5.3 m from the machine
        shut a corner between two others and the fence, and the mission ended telling the
        operator to "move the start"): said with where it leaves.
        """
        fence = (f'the geofence (field and declared safe ground + '
                 f'{self.config.geofence_margin_m:g} m)')
        if processed is None or processed.is_empty:
            return (f'the plan leaves {fence} for {outside_m:.1f} m; declare the safe ground '
                    'round the field or move the start')
        # where the path first crosses out of the fence (the parts of a difference keep the
        # line's order)
        gone = LineString(np.asarray(plan.waypoints)[:, :2]).difference(self.fence)
        x, y = (gone.geoms[0] if hasattr(gone, 'geoms') else gone).coords[0]
        return (f'the re-plan leaves {fence} for {outside_m:.1f} m, first at ({x:.1f}, '
                f'{y:.1f}): the ground left is cut off inside it (zones found since the start '
                'can close the ways); declare the safe ground round the field, or leave the rest '
                'for manual clearance')

    def _plan(self, pose: VehicleState, processed, now: float,
              force_back_out: bool = False, recover: bool = False,
              pinned_at: Optional[Tuple[float, float]] = None, optional: bool = False,
              reprocess=None) -> bool:
        """Plan from ``pose`` (around every no-go zone); emit the path; False on failure.

        When a zone is within the machine's pivot reach (it was detected ahead, under the
        boom), the path first reverses straight out, on the ground just driven, to where the
        machine can turn without its footprint touching the zone. ``force_back_out``: so it
        does after a pin, against any keep-out zone (exclusion zones too). ``recover``: a
        re-cover pass after the path was driven; nothing left to plan makes the coverage final.
        ``pinned_at``: the keep-out ground the last plan's first motion would have swept the
        footprint into (:meth:`_refused_start`): a plan that fails now says so. ``optional``:
        the path in force stays valid (a re-plan for a suspect ahead): a plan that fails, whose
        first motion the supervisor would refuse, or (when the path in force is a full plan's,
        not a repair's) whose first pivot or tool lowering where the machine stands reaches
        ground no sensor has looked at (:func:`_blind_at_start`), leaves it in force with a
        warning.
        ``reprocess``: processed ground (a shapely geometry) the plan processes again (the
        second pass over the suspects, :meth:`_second_pass`); what the last plan left
        unprocessed stays what the status reports.
        """
        c = self.config
        self._lift_unseen()
        keep_out = self._keep_out()
        zones = [list(p.exterior.coords)[:-1] for k, p in keep_out if k[0] in ('x', 's')]
        # a marked suspect or unseen ground is planned round as a no-go zone is (nothing of
        # the machine on it)
        no_go = [list(p.exterior.coords)[:-1] for k, p in keep_out if k[0] in ('n', 'h', 'u')]
        reach = _pivot_reach(c)
        avoid = [p for k, p in keep_out if k[0] in ('n', 'h', 'u') or (
            force_back_out and not p.within(self.safe_ground))]
        union = unary_union(avoid) if avoid else None
        hull = (c.footprint_rear_m, c.footprint_front_m, c.footprint_half_width_m)
        # the supervisor keeps the zones as they are, not as widened: the way back is
        # blocked by those only (a widened zone behind stopped every back-out short). A too
        # steep zone the footprint is on now is the one it leaves, under the supervisor's
        # slope recovery (it knows no steep ground): as a block, its margin refused the pivot
        # back that undoes a pivot into the slope stop, and the machine stood (rugged_terrain)
        here = footprint(pose.x, pose.y, pose.yaw, *hull)
        blocking = [p for k, p in self._keep_out(widened=False)
                    if not (k[0] == 'x' and p.within(self.safe_ground))
                    and not (k[0] in ('s', 'u') and p.intersects(here))]
        # straight back only over ground the tracks may be on: behind a machine that has
        # just pivoted lies ground it never drove
        ground = self._back_out_ground(pose, processed) if avoid else None
        back = back_out_point(pose.x, pose.y, pose.yaw, avoid, reach, _BACK_OUT_STEP_M,
                              c.back_out_max_m, hull=hull, behind=blocking, inside=self.fence,
                              ground=ground)
        if force_back_out and avoid:
            # pinned: out the way that gets furthest from keep-out ground, backwards or, with
            # a zone behind, straight ahead (a pivot there would swing the hull into it)
            ahead = back_out_point(pose.x, pose.y, pose.yaw, avoid, reach, _BACK_OUT_STEP_M,
                                   c.back_out_max_m, hull=hull, behind=blocking,
                                   inside=self.fence, forward=True, ground=ground)
            if ahead is not None and (back is None or union.distance(Point(*ahead))
                                      > union.distance(Point(*back)) + _BACK_OUT_STEP_M):
                back = ahead
        way_back = (self._way_back(pose, avoid, back, reach, hull, blocking)
                    or self._escape(pose, avoid, back, reach, hull, blocking, ground,
                                    processed))
        if force_back_out and not way_back and union is not None and union.distance(
                Point(*(back if back is not None else (pose.x, pose.y)))) < reach:
            # still within a pivot's reach of the planned zones: the supervisor's own
            way_back = self._supervisor_way_out(pose, back, reach, hull, ground, processed)
        start = back if back is not None else (pose.x, pose.y)
        start_yaw = pose.yaw
        if way_back:
            back = start = way_back[-1][:2]
            start_yaw = way_back[-2][2]     # as it reversed onto the last waypoint
        # what the boom has seen and the tracks have pressed: where the first pivot may be
        scanned = self._scanned_now()
        driven = self._pressed_ground(pose)
        suspects = self._unmarked()
        # the ground the plan takes as processed: less what it processes again
        done = (processed if reprocess is None or processed is None
                else robust(shapely.difference, processed, reprocess))
        try:
            # the machine faces as at the start: as now, or as it backed out the way it came
            self._keep_request(PlanRequest(
                field=list(self.area.field), exclusion_zones=zones, start=start, params=c,
                start_yaw=start_yaw, processed=done, safe_ground=self.safe_ground,
                no_go_zones=no_go, fence=self.fence, stamp=now, scanned=scanned,
                driven=driven, suspects=suspects))
            try:
                plan = plan_coverage(self.area.field, zones, start, c, processed=done,
                                     safe_ground=self.safe_ground, no_go_zones=no_go,
                                     fence=self.fence, start_yaw=start_yaw, scanned=scanned,
                                     driven=driven, suspects=suspects)
            except GEOSException as exc:
                # GEOS's floating-point overlay can fail on nearly coincident edges (the
                # planner retries its known cases snap-rounded, allowed.robust): any other is
                # a refused plan with its reason and the request kept for --replay, not a
                # crashed node that takes the stack in its process down with it
                raise PlanningError(f'geometry error in the planner ({exc}); the request is '
                                    'kept in plan_requests for bench/coverage.py --replay'
                                    ) from exc
            outside = metres_outside(plan.waypoints, self.fence)
            if outside > _FENCE_TOLERANCE_M:
                raise PlanningError(self._outside_fence(plan, outside, processed))
        except PlanningError as exc:
            if optional:
                self.log.warning(f'no re-plan ({exc}): the path in force is kept')
                return False
            if str(exc).startswith(NOTHING_LEFT) and self._recover_unseen(pose, now):
                return True
            if recover:
                # the path was driven: what no pass can reach is reported, the mission ends
                self._finish(f're-cover: {exc}', now)
                return True
            if processed is not None and not processed.is_empty and \
                    str(exc).startswith(NOTHING_LEFT):
                # every lane processed: final (a resumed or re-planned mission too)
                self._stay(pose, str(exc), now)
                return True
            else:
                # A plan the supervisor would stop, or none: refused, and the mission ends
                # with this reason (a path through a new no-go zone is never kept).
                self.error = str(exc)
                if pinned_at is not None:
                    # the zone widened round the machine is why, not the ground it cut off
                    self.error = (f'the machine is pinned at keep-out ground near '
                                  f'({pinned_at[0]:.1f}, {pinned_at[1]:.1f}): no path from '
                                  'where it stands begins with a motion the supervisor lets '
                                  f'pass (the re-plan round it: {exc})')
                self._publish_status(PlanState.REFUSED, f'cannot plan coverage: {self.error}',
                                     now)
                self.log.error(f'cannot plan coverage: {self.error}')
                return False
        path = np.column_stack([plan.waypoints, plan.facing])
        work = np.asarray(plan.work, dtype=bool)
        if way_back:
            # back along the driven trail: pivots undone, stretches reversed (tool up)
            path = np.vstack([np.asarray(way_back[:-1], dtype=float), path])
            work = np.concatenate([np.zeros(len(way_back) - 1, dtype=bool), work])
            self.log.warning(f'leaving the no-go reach over {len(way_back) - 1} waypoint(s) '
                             f'({_trail_length(way_back):.1f} m) before turning away from '
                             'keep-out ground')
        elif back is not None:
            # From here straight to the back-out point, facing as now: a reverse leg (or, out
            # of a zone behind, a forward one).
            path = np.vstack([[pose.x, pose.y, pose.yaw], path])
            work = np.concatenate([[False], work])
            ahead = (back[0] - pose.x) * math.cos(pose.yaw) + \
                (back[1] - pose.y) * math.sin(pose.yaw) > 0.0
            self.log.warning(f'{"driving straight on" if ahead else "backing out"} '
                             f'{math.dist(start, (pose.x, pose.y)):.1f} m before turning away '
                             'from keep-out ground')
        blind_start = _blind_at_start(
            plan, start, contact_for(c, _SUSPECT_CHECK_RESOLUTION_M).pivot_radius_m
        ) if optional and not self.repaired else 0.0
        if blind_start > 0.0:
            # mixed_field seed 2: a re-plan for a suspect 1.2 m beside the lane ahead pivoted
            # mid-lane, a track swept the neighbouring strip no sensor had looked at, and an
            # undetected TM-62M 2.2 m off went off under it. A full plan's path goes on over
            # ground its own judgement kept seen; the re-plan would start on ground it has not.
            # A repair's is not judged so (its stretches re-joined round the zones): kept, its
            # re-join's transit over unprocessed ground, driven tool down by the interlock,
            # lowered the flail onto a TM-62M no sensor had reported (gen_at_uxo_lanes seed 67)
            self.log.warning(f'no re-plan: its first pivot or tool lowering, where the machine '
                             f'stands, reaches {blind_start:.1f} m^2 of the field no sensor '
                             'has looked at; the path in force is kept')
            return False
        key, where = self._refused_start(pose, path)
        if key is not None and optional:
            self.log.warning('no re-plan: its first motion would sweep the footprint into '
                             f'keep-out ground near ({where[0]:.1f}, {where[1]:.1f}); the '
                             'path in force is kept')
            return False
        if key is not None:
            # The supervisor would refuse the path's first motion where the machine stands:
            # handed over, it pinned the machine again after every re-plan, each one widening
            # a zone without changing that motion (gen_at_uxo_lanes seed 1: six futile pins,
            # 45 s, aborted). The pin is counted now and the plan made again round the wider
            # zone, until one gets away or the zone's pin budget ends the mission at once.
            if not self._count_pin(key, where, now, 'the planned path\'s first motion would '
                                   'sweep the footprint into keep-out ground near '
                                   f'({where[0]:.1f}, {where[1]:.1f}) (the supervisor would '
                                   'refuse it)', futile=True):
                return False
            return self._plan(pose, processed, now, force_back_out=True, recover=recover,
                              pinned_at=where, reprocess=reprocess)
        if reprocess is not None and self.plan is not None:
            # the discs are processed ground: what is left unprocessed is the last pass's
            plan.unplanned = list(self.plan.unplanned)
        else:
            plan.unplanned += self._steep_unreached(processed)
        # the plan knew these suspects (and kept its turns off them where it could)
        self.suspects_checked.update(suspect_key(x, y) for x, y, _ in suspects)
        self.plan, self.path, self.work = plan, path, work
        self.progress = 0
        self.repaired = False
        if self.first_plan is None:
            self.first_plan = (now, plan.expected_time_s)
        self.final = False
        self.emit('path', path)
        self._publish_status(PlanState.PLANNED, plan.summary(), now)
        self.log.info(f'{"re-cover pass " + str(self.recover_passes) + ": " if recover else ""}'
                      f'coverage path: {plan.summary()}')
        for gap, reason in plan.unplanned:
            self.log.warning(f'{gap.area:.1f} m^2 near ({gap.centroid.x:.1f}, '
                             f'{gap.centroid.y:.1f}) not planned: {reason}')
        for note in plan.notes:
            self.log.warning(note)
        for blind, what in (
                (plan.lead_ins.blind, 'tool lowering(s) over {:.1f} m^2 the boom has not seen '
                 '(no full back-up on allowed ground fits)'),
                ([plan.lead_ins.start_pivot] if plan.lead_ins.start_pivot else [],
                 'first pivot(s), from the facing at the start, sweep the tracks over {:.1f} '
                 'm^2 of the field no sensor has looked at (no move on known ground avoids '
                 'it)'),
                (plan.lead_ins.blind_pivots, 'pivot(s) sweep the tracks over {:.1f} m^2 of the '
                 'field no sensor has looked at')):
            if blind:
                (x, y), _ = blind[0]
                self.log.warning(f'{len(blind)} ' + what.format(sum(a for _, a in blind))
                                 + f', the first near ({x:.1f}, {y:.1f})')
        return True

    def _steep_unreached(self, processed) -> List:
        """The field's unprocessed ground marked too steep, with the reason."""
        if not self.steep:
            return []
        left = unary_union(self.steep).intersection(Polygon(self.area.field))
        if processed is not None and not processed.is_empty:
            # the processed raster's edge leaves slivers: not ground anyone would clear
            left = left.difference(processed).buffer(-SLIVER_M).buffer(SLIVER_M)
        parts = getattr(left, 'geoms', [left])
        return [(g, 'too steep: the slope stopped the machine here (slope above the work '
                 'limit); left for manual clearance') for g in parts
                if hasattr(g, 'exterior') and g.area >= MIN_GAP_M2]

    def _publish_status(self, state: PlanState, reason: str, now: float) -> None:
        """Latch the planner's verdict (the mission manager ends a refused mission)."""
        unreached = [] if self.plan is None or state is PlanState.REFUSED else [
            (why, [(float(x), float(y)) for x, y in list(g.exterior.coords)[:-1]])
            for g, why in self.plan.unplanned if hasattr(g, 'exterior')]
        planned = state is PlanState.PLANNED and self.plan is not None
        self.status = PlanStatus(now, state.value, reason, unreached, list(self.no_go.discs),
                                 waypoints=len(self.path) if planned else 0,
                                 work=PlanStatus.work_ranges(self.work) if planned else [])
        self.emit('status', self.status)

    def diagnostics(self, now: float) -> Status:
        """The plan's figures, or why there is none."""
        if self.error:
            return DiagLevel.ERROR, self.error, {}
        if self.plan is None:
            return DiagLevel.WARN, 'waiting for the first pose', {}
        p = self.plan
        return DiagLevel.OK, 'path published', {
            'lanes': len(p.lanes), 'waypoints': len(self.path),
            'length_m': f'{p.length_m:.1f}', 'work_length_m': f'{p.work_length_m:.1f}',
            'expected_time_s': f'{p.expected_time_s:.0f}',
            'transit_over_unprocessed_m': f'{p.transit_over_unprocessed_m:.1f}',
            'no_go_zones': len(self.no_go.discs), 'replans': self.replans,
            'repairs': self.repairs, 'late_lead_ins': self.late_lead_ins,
            'late_blind_lowerings': self.late_blind,
            'unseen_marks': sum(1 for m in self.unseen if not m.is_empty),
            'pin_replans': self.pins, 'suspect_replans': self.suspect_replans,
            'suspect_replans_idle': self.suspect_replans_idle,
            'steep_zones': len(self.steep),
            'recover_passes': self.recover_passes,
            'final': self.final}


def main(args: Optional[List[str]] = None) -> int:
    """Run the node (console script ``coverage_planner_node``)."""
    from demining_bringup.hosts.ros import run_component
    return run_component(CoveragePlannerComponent, args)


if __name__ == '__main__':
    raise SystemExit(main())
