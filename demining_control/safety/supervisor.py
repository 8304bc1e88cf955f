"""Safety supervisor (pure core): every motion and tool command passes through it.

States (:class:`SafetyState`):

* ``OK``: commands pass, clamped to ``max_speed_mps``/``max_yaw_rate``, with the "tracks only on
  processed ground" interlock: while the mission is clearing and the tool is over the field,
  forward motion is clamped to zero unless the tool is at speed and at depth (the tracks follow
  2-3 m behind the tool, so they then only roll on ground it has processed) or the whole tool
  line is over allowed ground already (processed, declared safe: a transit with the tool up).
  A pivot is held while the measured tool is deeper than ``pivot_tool_clear_depth_m``, over any
  ground: turned in place, a working flail sweeps an arc the sensor boom never scanned (the
  follower's ``pivot`` leg lifts it). The ground under the tool cannot decide it: the working
  tool's own sweep is marked processed as it turns.
* ``PROTECTIVE_STOP`` (recovers by itself when every cause is gone): operator heartbeat older than
  ``heartbeat_timeout_s``, no or stale localisation, stale or non-finite commands, pose outside the
  field buffered by ``geofence_margin_m``. The vehicle stands; the rotors may keep turning (a
  stopped flail over a mine is no safer than a turning one, and spin-up takes time).
* ``ESTOP`` (latched): operator e-stop, AT detonation or damage event. Zero velocity, rotors
  stopped, tool lifted. Only :meth:`SafetySupervisor.reset` leaves it, and only once the cause is
  gone (the e-stop released).

People (the people monitor's /safety/people_zone): ``stop`` is a protective-stop cause ("person
in the stop zone") that, unlike the others, also stops the rotors and lifts the tool; ``slow``
caps |v| at ``people_slow_speed_mps``; with ``people_monitor_required`` a zone older than
``people_zone_timeout_s`` (or none) counts as ``stop``. The monitor holds ``stop`` until its
zone has been clear for its hold time, so the OK state that follows says work resumes.

Machine limits (inputs: roll and pitch from the IMU, the measured tool state, the localisation's
speed): a tilt above ``max_work_pitch_deg`` / ``max_work_roll_deg`` is a protective stop of the
vehicle and the tool (no work above the slope limit; work resumes ``tilt_hysteresis_deg`` below
it); a tilt past ``rollover_pitch_deg`` / ``rollover_roll_deg`` latches the e-stop (stop before
rollover; a reset is refused until the machine is level again). With ``imu_required`` a stale,
non-finite or frozen IMU (its output repeating bit for bit for ``imu_frozen_s``) stops vehicle and
tool; with ``tool_state_required`` so does a stale tool state. The supervisor counts tool stalls
itself (a second channel beside the tool controller); ``max_tool_stalls`` within
``tool_stall_window_s``, or track slip beyond ``max_slip_fraction`` of the commanded speed for
``motion_mismatch_time_s``, or a localisation jump (the pose moving ``max_pose_jump_m``
further between two judgements than the machine can drive), is a protective stop that waits
for the operator's resume
(:attr:`SafetySupervisor.limit_latch`); motion faster than commanded by ``runaway_margin_mps`` for
that long (a stuck valve) latches the e-stop. Operator teleop (``cmd_source`` ``teleop``, from
the command mux: hold-to-run with the deadman) may drive out of a slope or machine-limit stop at
``teleop_creep_speed_mps`` with the rotors stopped; every other cause still stops it. Autonomy
may reverse straight out of a slope stop (no turn, the same creep speed, rotors stopped and the
tool lifted) for at most ``slope_recovery_m`` from where the stop began: back along the track it
came up at a tilt within the limits (issue 7, no dead end: the coverage planner marks the ground
too steep and re-plans round it). A slope stop that began during or just after a pivot (within
``slope_undo_place_m`` of where the machine began turning on the spot) may first be undone:
autonomy may turn back on the spot towards the heading the machine had there, where its
attitude was within the limits, and no further (at ``teleop_creep_yaw_rate``, rotors stopped,
tool lifted), once it is back within ``slope_undo_place_m`` of that place: the stop holds the
turn while the machine rolls on past it and reverses. Straight back from a machine that has
just pivoted is ground it never drove; the reversed pivot sweeps exactly the ground the tracks
just swept and brings the attitude back to one within the limits, and from there the straight
reverse is back down the driven trail (rugged_terrain seed 1 stood 900 s after a pivot into a
slope stop and was aborted at 40 %).

Keep-out on the footprint (allowed ground, :mod:`demining_control.safety.allowed_ground`;
``allowed_ground_check``): the motion passed on (forward, reverse or pivot, after the clamps
and the interlock) is placed over ``allowed_ground_horizon_s`` and its tracks must stay on declared
safe ground, processed ground (the mission's grid and the tool's own sweep), the parked
position, the ground under them now, or, while the tool works, ground it sweeps before the
tracks get there; else a protective stop ("tracks would leave allowed ground (...)"). On an
area that declares no safe ground such motions are recorded in :attr:`notes`, not refused,
unless ``allowed_ground_enforce_undeclared``. A motion whose tracks would press, on such
ground, a detected suspect the tool has not processed (an AP or unknown track, its radius,
position uncertainty and ``hazard_track_margin_m`` round it:
:func:`demining_control.coverage.no_go.hazard_discs`) is recorded once a suspect, and refused
with ``suspect_track_enforce`` (a protective stop, :data:`HAZARD_UNDER_TRACK`, that the coverage
planner re-plans and then plans round when it pins the machine); one the fusion labels AP is
refused without it (``ap_track_enforce``, on by default). A TM-62P 12 cm deep in
laterite, seen only at the boom's edge, was an unknown track for 300 s before a pivot put a
track on it. Track slip is judged on an independent speed over
ground (GNSS) when one is fresh (:attr:`SafetyInputs.ground_speed`).

Reset and resume (IEC 60204-1, ISO 13850: resetting a stop must not restart the machine): a
successful reset clears the latch but leaves the supervisor in ``PROTECTIVE_STOP`` ("reset:
waiting for resume") with zero velocity, rotors stopped and the tool lifted, until an explicit
:meth:`SafetySupervisor.resume`. A resume is refused while the e-stop is latched or pressed,
while any protective-stop cause is present and, after an event that latched the e-stop (AT
detonation, damage), until an inspection has been acknowledged
(:meth:`SafetySupervisor.acknowledge_inspection`) after that event; the accepted resume's reason
carries the inspector's text. Protective stops themselves (no latch) still recover by
themselves.

Every transition is recorded with time and reason (:attr:`SafetySupervisor.transitions`), and so
is every reset, resume and inspection acknowledgement, accepted or refused.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Dict, List, Optional, Sequence, Set, Tuple

import numpy as np
import shapely
from shapely.geometry import Polygon
from shapely.ops import unary_union

from demining_bringup.contract.datatypes import (Detection, DetectionKind, SimEvent,
                                                 ToolCommand, ToolState, Twist2D, VehicleState)
from demining_bringup.contract.parameters import param
from demining_bringup.contract import vehicle_params
from demining_bringup.contract.datatypes import PeopleZone
from demining_bringup.contract.states import (ALLOWED_GROUND_EVENT_PREFIX,  # noqa: F401
                                              ALLOWED_GROUND_RECORDED, ALLOWED_GROUND_STOP,
                                              allowed_ground_departure, EXCLUSION_AHEAD,
                                              HAZARD_UNDER_TRACK, INTERLOCK_HOLD, NO_GO_AHEAD,
                                              PIVOT_HOLD, hazard_refusal,
                                              SLOPE_RECOVERY, SLOPE_STOP,
                                              SLOPE_UNDO_PIVOT, CmdSource,
                                              SafetyState, ZoneState, suspect_under_track)
from demining_control.coverage.allowed import ContactParams, geofence
from demining_control.coverage.no_go import (KeepOutSweep, NoGoZones, footprint, hazard_discs,
                                             suspect_key, turn_reach)
from demining_control.safety.allowed_ground import AllowedGround, Motion, motion_kind

XY = Tuple[float, float]
#: An axis-aligned box (min x, min y, max x, max y), m.
Box = Tuple[float, float, float, float]

#: Reason text of the operator's e-stop.
_OPERATOR_ESTOP = 'operator e-stop'
#: Protective-stop cause of a person in the people monitor's stop zone (vehicle and rotors).
PERSON_STOP = 'person in the stop zone'
#: Reason of the OK state that ends a people stop (the zone has been clear for its hold time).
PEOPLE_CLEAR_RESUME = 'people zone clear for the hold time: work resumes'
#: Poses along the commanded motion at which the footprint is placed (the sweep).
_SWEEP_STEPS = 5
#: Slack of the keep-out's box pre-test, m: far above the rounding of a footprint's corners,
#: so a footprint the pre-test rules out is apart from the zone by a margin.
_BOX_SLACK_M = 1e-3
#: How many recorded (not enforced) allowed-ground departures go on the safety events each
#: (after them, only the 2^k-th).
_MAX_ALLOWED_RECORDS = 20
#: Suspects under a track recorded at most (each once: :func:`suspect_key`).
_MAX_SUSPECT_RECORDS = 1000
#: How many transitions are kept (bounded memory on a long mission).
_MAX_TRANSITIONS = 10_000
#: A judgement of the interlock this long after the last one starts a new hold, s (the
#: supervisor judges every control period, 0.1 s; a stop in between skips the interlock).
_INTERLOCK_GAP_S = 1.0
#: How many inspection acknowledgements are kept, and how much of each text.
_MAX_INSPECTIONS = 1_000
_MAX_INSPECTION_CHARS = 500
#: E-stop reason of a tilt past the rollover stop limits.
TILT_ESTOP = 'tilt beyond the rollover stop limit'
#: E-stop reason of a vehicle moving faster than commanded (stuck valve, brake failure).
RUNAWAY_ESTOP = 'runaway: measured motion exceeds the command'
#: Reason head of the stop after repeated tool stalls.
STALL_STOP = 'repeated tool stalls'
#: Reason head of the stop after a localisation jump.
JUMP_STOP = 'localisation jump'
#: Reason head of the stop after track slip beyond the limit.
SLIP_STOP = 'track slip beyond the limit'
#: Reason head of the OK state while teleop drives out of a machine-limit stop.
TELEOP_RECOVERY = 'teleop recovery at creep speed'
#: Head of the event of a motion leaving allowed ground that is recorded, not refused.
#: Event at the start when the area declares no safe ground (the check records only).
ALLOWED_GROUND_RECORD_ONLY = (f'{ALLOWED_GROUND_EVENT_PREFIX}: motions leaving processed or '
                              'declared safe ground are recorded, not refused '
                              '(allowed_ground_enforce_declared)')
ALLOWED_GROUND_UNDECLARED = (f'{ALLOWED_GROUND_EVENT_PREFIX}: the area declares no safe ground '
                             '(approach lane, safe area or margin): motions leaving processed '
                             'ground are recorded, not refused '
                             '(allowed_ground_enforce_undeclared)')
#: Reason tail while a machine-limit stop waits for the operator's resume.
LIMIT_WAITING = 'waiting for resume'
#: Reason while a reset latch waits for the operator's resume.
WAITING_FOR_RESUME = 'reset: waiting for resume'
#: Reason while it also waits for an inspection acknowledgement (after a detonation or damage).
WAITING_FOR_INSPECTION = 'reset: waiting for inspection acknowledgement and resume'


@dataclasses.dataclass(frozen=True)
class SafetyParams:
    """Parameters of the safety supervisor."""

    heartbeat_timeout_s: float = param(1.0, 'operator heartbeat older than this stops the '
                                       'vehicle, s', min=0.05, max=60.0)
    localization_timeout_s: float = param(0.5, 'pose older than this stops the vehicle, s',
                                          min=0.05, max=60.0)
    command_timeout_s: float = param(0.5, 'auto command older than this stops the vehicle, s',
                                     min=0.05, max=60.0)
    geofence_margin_m: float = vehicle_params.geofence_margin_m()
    max_speed_mps: float = param(1.0, 'largest |linear velocity| passed on, m/s', min=0.0,
                                 max=10.0)
    max_yaw_rate: float = param(0.5, 'largest |yaw rate| passed on, rad/s', min=0.0, max=5.0)
    # People monitor (/safety/people_zone): STOP stops the vehicle and the rotors, SLOW caps the
    # speed. The core's default leaves it out (unit tests of the rest); the node requires it.
    people_monitor_required: bool = param(False, 'a people zone older than '
                                          'people_zone_timeout_s (or none) counts as STOP')
    people_zone_timeout_s: float = param(0.5, 'people zone older than this is stale, s',
                                         min=0.05, max=60.0)
    people_slow_speed_mps: float = param(0.2, 'largest |linear velocity| while a person is in '
                                         'the slow-down zone, m/s', min=0.0, max=10.0)
    tool_offset_x_m: float = vehicle_params.tool_offset_x_m()
    working_depth_m: float = vehicle_params.working_depth_m()
    depth_tolerance_m: float = vehicle_params.depth_tolerance_m()
    flail_speed_radps: float = vehicle_params.flail_speed_radps()
    tiller_speed_radps: float = vehicle_params.tiller_speed_radps()
    ready_speed_fraction: float = vehicle_params.ready_speed_fraction()
    tool_state_timeout_s: float = param(0.5, 'tool state older than this: tool not ready, s',
                                        min=0.05, max=60.0)
    estop_event_kinds: List[str] = param(['at_detonation', 'damage'],
                                         'sim/blast-detector event kinds that latch the e-stop')
    no_go_margin_m: float = vehicle_params.no_go_margin_m()
    hazard_track_margin_m: float = vehicle_params.hazard_track_margin_m()
    footprint_rear_m: float = vehicle_params.footprint_rear_m()
    footprint_front_m: float = vehicle_params.footprint_front_m()
    footprint_half_width_m: float = vehicle_params.footprint_half_width_m()
    keep_out_horizon_s: float = vehicle_params.keep_out_horizon_s()
    # -- machine limits (issue 8 item 2). The core's defaults leave the IMU and tool-state
    # freshness out (unit tests of the rest); the node requires both.
    imu_required: bool = param(False, 'an IMU sample older than imu_timeout_s (or none) '
                               'stops the vehicle and the tool')
    imu_timeout_s: float = param(0.5, 'IMU sample older than this is stale, s', min=0.05,
                                 max=60.0)
    # A live MEMS IMU never repeats its orientation and rates bit for bit (white noise of
    # ~0.005 rad on each axis, demining_sim/sensors/imu.py); a stuck-at output does.
    imu_frozen_s: float = param(1.0, 'IMU output repeated bit for bit this long is a frozen '
                                'IMU (stop), s', min=0.1, max=60.0)
    # Slope limits: the MV-10 climbs 37 deg (DOK-ING data), the simulated machine 30 deg
    # (docs/sources.md, "slopes"). Working (flail down, rotors turning) is allowed well below
    # that: 20 deg pitch and 15 deg roll are our choice, to be replaced by the manufacturer's
    # figures for the machine in hand (ISO 20474-1 asks for them in the operator's manual).
    max_work_pitch_deg: float = param(20.0, 'no work (vehicle and tool stopped) above this '
                                      '|pitch|, deg', min=0.0, max=90.0)
    max_work_roll_deg: float = param(15.0, 'no work (vehicle and tool stopped) above this '
                                     '|roll|, deg', min=0.0, max=90.0)
    # Stop before rollover: latched e-stop a margin below the climb limit (our choice: 25 deg
    # pitch, 20 deg roll for a tracked machine whose track gauge (1.6 m) is well under its
    # length (6 m), so it tips sideways first).
    rollover_pitch_deg: float = param(25.0, 'latched e-stop above this |pitch| (before a '
                                      'rollover), deg', min=0.0, max=90.0)
    rollover_roll_deg: float = param(20.0, 'latched e-stop above this |roll| (before a '
                                     'rollover), deg', min=0.0, max=90.0)
    tilt_hysteresis_deg: float = param(2.0, 'work resumes once the tilt is this far below the '
                                       'work limit, deg', min=0.0, max=20.0)
    tool_state_required: bool = param(False, 'a tool state older than tool_state_timeout_s '
                                      '(or none) stops the vehicle and the tool')
    # Independent stall detection (a second channel beside the tool controller's own, IEC
    # 62061 / ISO 13849 diversity): the controller's criteria (demining_control/tools).
    stall_speed_fraction: float = param(0.6, 'a rotor below this fraction of its speed (flail '
                                        'or tiller) under stall torque is stalled', min=0.05,
                                        max=0.95)
    stall_torque_nm: float = param(8000.0, 'torque above which a slow rotor counts as stalled, '
                                   'N m', min=0.0, max=1e6)
    stall_time_s: float = param(0.5, 'a stall counts once it lasts this long, s', min=0.0,
                                max=10.0)
    # Repeated stalls mean something is caught in the flail (wire, stump, a mine casing): the
    # machine waits for the operator (inspection) instead of hammering on (our choice: 3 in
    # 2 min; the controller recovers from one stall in a few seconds).
    max_tool_stalls: int = param(3, 'this many tool stalls within tool_stall_window_s is a '
                                 'protective stop that waits for a resume', min=1, max=100)
    tool_stall_window_s: float = param(120.0, 'window of the tool-stall count, s', min=1.0,
                                       max=3600.0)
    # Commanded against measured motion (the localisation's speed over ground). A heavy
    # tracked machine reaches working speed in ~1 s (0.5 m/s^2, demining_sim/vehicle.py), so
    # a mismatch lasting motion_mismatch_time_s is no transient.
    motion_mismatch_time_s: float = param(2.0, 'a commanded/measured motion mismatch lasting '
                                          'this long stops the vehicle, s', min=0.1, max=60.0)
    runaway_margin_mps: float = param(0.3, 'measured |v| above the commanded |v| by this is a '
                                      'runaway (latched e-stop), m/s', min=0.01, max=10.0)
    max_slip_fraction: float = param(0.6, 'measured |v| below (1 - this) x the commanded |v| '
                                     'is track slip beyond the limit (stop, waits for a '
                                     'resume)', min=0.05, max=1.0)
    # Operator teleop (the command mux's source) may drive out of a machine-limit stop (slope,
    # repeated stalls, slip) hold-to-run at a reduced speed: 0.25 m/s is ISO 10218-1:2011 5.6's
    # reduced speed for manual motion; e-stop, heartbeat, keep-out, people and the geofence
    # still apply.
    teleop_creep_speed_mps: float = param(0.25, 'largest |v| of teleop out of a machine-limit '
                                          'stop, m/s', min=0.0, max=1.0)
    teleop_creep_yaw_rate: float = param(0.2, 'largest |yaw rate| of teleop out of a '
                                         'machine-limit stop, rad/s', min=0.0, max=1.0)
    slope_recovery_m: float = param(
        6.0, 'autonomy may reverse straight out of a slope stop this far from where it began '
        '(at teleop_creep_speed_mps, tool lifted; the length of the machine: the tracks are '
        'then back where they were within the limits), m; 0: it waits for teleop (no undo '
        'of a pivot either)', min=0.0, max=50.0)
    # Where the machine turns on the spot: the localisation's noise (centimetres with RTK) and
    # a skid-steer pivot's drift stay well inside 0.5 m, and a straight drive at the working
    # speed (0.4 m/s) leaves it within about a second. A slope stop this near where the turn
    # began may undo the turn; further off, the undo would sweep ground the pivot never swept.
    slope_undo_place_m: float = param(
        0.5, 'a slope stop within this of where the machine began turning on the spot '
        '(during or just after a pivot) may undo the turn: autonomy may turn back towards '
        'the heading it had there, within the limits, at teleop_creep_yaw_rate, tool lifted, '
        'm', min=0.05, max=5.0)
    # Below this the turn is undone: a pivot's own exit tolerance (the path follower's
    # pivot_exit_rad, 0.03 rad) and one control period at the creep yaw rate (0.02 rad) fit
    # inside it, so the follower's last correction is not refused, and a turn that small is
    # no pivot to undo (steering on a straight leg).
    slope_undo_tolerance_rad: float = param(
        0.05, 'a turn on the spot smaller than this is not undone out of a slope stop (and an '
        'undo ends this near the heading it had), rad', min=0.001, max=0.5)
    # A pose that moves further between two judgements than the machine can drive is a
    # localisation jump (a GNSS multipath fix accepted, a re-anchoring): the keep-out and the
    # clearance record are then judged on a wrong pose, so the machine waits for the operator.
    # 1 m is our choice: ten times the largest true step at 1 m/s between 10 Hz poses, well
    # above RTK-fixed noise (centimetres).
    pose_jump_check: bool = param(False, 'stop on a localisation jump (max_pose_jump_m); the '
                                  'node checks, the core leaves it to its unit tests')
    max_pose_jump_m: float = param(1.0, 'a pose step this much longer than the motion since '
                                   'the last judgement allows is a localisation jump (stop, '
                                   'waits for a resume), m', min=0.1, max=100.0)
    motion_check_min_speed_mps: float = vehicle_params.motion_check_min_speed_mps()
    ground_speed_timeout_s: float = param(1.0, 'a speed over ground (GNSS) older than this is '
                                          'not used for the slip check (the localisation\'s '
                                          'speed is), s', min=0.1, max=60.0)
    # -- keep-out on the footprint: allowed ground (issue 8 item 3; the rule of
    # demining_control/coverage/allowed.py). The core's default leaves it out (unit tests of
    # the rest); the node enforces it.
    allowed_ground_check: bool = param(False, 'refuse a motion (forward, reverse, pivot) whose '
                                       "tracks' predicted footprint leaves allowed ground "
                                       '(processed, declared safe, the parked position)')
    # Without declared safe ground the machine cannot reach the field, nor turn at the corners
    # of its headland, under the rule (the planner of issue 7 does not yet plan it): enforcing
    # there would stop every mission at its start, so the default records what it would refuse.
    # Enforced, a refusal can pin the machine where the plan turns (a pivot after a new no-go
    # zone on the training field stood 900 s and aborted the mission at 42 %): the coverage
    # planner re-plans on keep-out refusals only. Until it recovers from these too, the default
    # records them (safety events, the report) and refuses nothing.
    allowed_ground_enforce_declared: bool = param(False, 'refuse motions leaving allowed ground '
                                                  'on an area that declares safe ground (else '
                                                  'they are recorded as safety events)')
    # Refused, pins at suspects end in marks planned round as no-go zones (left for manual
    # clearance): on stony soils that walled the machine in (a trial laterite field aborted at
    # 9.7 %, pinned beside a marked suspect; README "Suspects under a track") because the
    # back-out and escape do not keep the tracks off suspects yet; until they do, the default
    # records each suspect a track went over (issue 7).
    suspect_track_enforce: bool = param(False, 'refuse a motion whose tracks would press a '
                                        'detected AP or unknown track on ground not allowed '
                                        '(else it is recorded in the safety events)')
    # An AP label is the fusion's word that a mine is there: refused, a pin re-plans and then
    # marks it (left for manual clearance), as every suspect is with suspect_track_enforce;
    # AP labels are a few per field, where unknowns (stones, clutter the fusion cannot yet
    # call) are dozens to hundreds, and those are what walled the machine in.
    ap_track_enforce: bool = param(True, 'refuse a motion whose tracks would press a track '
                                   'the fusion labels AP on ground not allowed, even without '
                                   'suspect_track_enforce (rect_loam seed 64: a PMN tracked '
                                   'as AP went off under a track at a re-planned lane start, '
                                   'recorded 1.8 s before)')
    allowed_ground_enforce_undeclared: bool = param(False, 'enforce allowed ground also on an '
                                                    'area that declares no safe ground (else '
                                                    'motions leaving it are recorded as safety '
                                                    'events, not refused)')
    track_gauge_m: float = vehicle_params.track_gauge_m()
    track_width_m: float = vehicle_params.track_width_m()
    track_length_m: float = vehicle_params.track_length_m()
    tool_width_m: float = vehicle_params.tool_width_m()
    # The mission's processed-ground grid is 0.1 m (mission_manager processed_resolution_m);
    # the same cell here.
    allowed_ground_resolution_m: float = param(0.1, 'cell size of the allowed-ground raster, m',
                                               min=0.02, max=1.0, read_only=True)
    # Tolerance: one raster cell plus the localisation's noise between the pose that marked
    # the ground and the pose judged now (a few cm for RTK GNSS with the EKF); wider than the
    # planner's 0.05 m (an ideal path) so a followed plan is never refused for tracking error.
    # The horizon covers one judgement (0.1 s) and the stop: at the 0.4 m/s working speed
    # and 0.5 m/s^2 (demining_sim/vehicle.py max_accel_mps2) 0.04 + 0.16 m, i.e. 0.5 s of
    # travel; at the 0.8 m/s transit speed 0.08 + 0.64 m, 0.9 s. Longer, a steering correction
    # held constant over it would swing the predicted tracks off the tool's strip although
    # the follower straightens out long before (the keep-out zones keep their own horizon).
    allowed_ground_horizon_s: float = param(1.0, 'a motion is refused when the tracks it '
                                            'would sweep within this time leave allowed '
                                            'ground, s', min=0.1, max=10.0)
    allowed_ground_tolerance_m: float = vehicle_params.allowed_ground_tolerance_m()
    # A pivot swings a working flail sideways through an arc its sensor boom, 1.4 m ahead of
    # it, never scanned (a TM-62M 2.9 m off the machine's line was struck by a flail still
    # lifting as the machine turned: gen_at_uxo_lanes seed 1). The tool measured deeper than
    # this holds the pivot until it is lifted.
    pivot_tool_clear_depth_m: float = param(0.02, 'a pivot is held while the measured tool is '
                                            'deeper than this, m',
                                            min=0.0, max=0.5)
    interlock_hold_note_s: float = param(
        10.0, 'a forward motion the processed-ground interlock holds this long is said on '
        '/safety/events (the path follower then lowers the tool on a transit): longer than '
        'a tool\'s lowering and spin-up at the start of a work leg, s', min=0.5, max=600.0)


@dataclasses.dataclass
class SafetyInputs:
    """The latest inputs the supervisor judges (stamps in seconds; ``None`` = never received)."""

    cmd: Optional[Twist2D] = None
    cmd_stamp: Optional[float] = None
    tool_cmd: Optional[ToolCommand] = None
    tool_cmd_stamp: Optional[float] = None
    heartbeat_stamp: Optional[float] = None
    estop_pressed: bool = False
    pose: Optional[VehicleState] = None
    pose_stamp: Optional[float] = None
    tool_state: Optional[ToolState] = None
    tool_state_stamp: Optional[float] = None
    mission_clearing: bool = False
    #: The people monitor's latest verdict (/safety/people_zone) and its arrival time.
    people_zone: Optional[PeopleZone] = None
    people_zone_stamp: Optional[float] = None
    #: Roll and pitch (rad) of the latest IMU sample, and its arrival time; ``imu_frozen_since``
    #: the arrival of the first of the identical samples now repeating (None: it changes).
    roll: float = 0.0
    pitch: float = 0.0
    imu_stamp: Optional[float] = None
    imu_frozen_since: Optional[float] = None
    #: Where the motion command comes from (the command mux): teleop may drive out of a
    #: machine-limit stop at a creep speed.
    cmd_source: str = ''
    #: Speed over ground from a sensor independent of the tracks (GNSS positions), m/s, and
    #: when it was last updated; the slip check's measurement (the localisation's speed
    #: follows the track odometry, which cannot see slip).
    ground_speed: Optional[float] = None
    ground_speed_stamp: Optional[float] = None


def _finite(*values: float) -> bool:
    # map, not a generator: ~20 calls a control tick
    return all(map(math.isfinite, values))


def _part_boxes(zone) -> List[Box]:
    """The bounding box of each part of a zone (polygon or multipolygon; none when empty)."""
    return [tuple(part.bounds) for part in shapely.get_parts(zone) if not part.is_empty]


def _boxes_near(poses: Sequence[Tuple[float, float, float]], reach: float,
                boxes: Sequence[Box]) -> bool:
    """Whether a footprint no further than ``reach`` from any of ``poses`` (x, y, yaw) may
    touch one of ``boxes`` (False: every footprint is apart from them)."""
    pad = reach + _BOX_SLACK_M
    x0 = min(q[0] for q in poses) - pad
    x1 = max(q[0] for q in poses) + pad
    y0 = min(q[1] for q in poses) - pad
    y1 = max(q[1] for q in poses) + pad
    return any(bx0 <= x1 and x0 <= bx1 and by0 <= y1 and y0 <= by1
               for bx0, by0, bx1, by1 in boxes)


def roll_pitch(q: Tuple[float, float, float, float]) -> Tuple[float, float]:
    """Roll and pitch (rad, REP-103) of a quaternion (x, y, z, w); NaN in, NaN out."""
    x, y, z, w = q
    roll = math.atan2(2.0 * (w * x + y * z), 1.0 - 2.0 * (x * x + y * y))
    sinp = 2.0 * (w * y - z * x)
    pitch = math.asin(max(-1.0, min(1.0, sinp))) if math.isfinite(sinp) else math.nan
    return roll, pitch


class SafetySupervisor:
    """The safety state machine and command filter (see the module docstring)."""

    def __init__(self, field: Sequence[XY], params: Optional[SafetyParams] = None,
                 safe_ground=None, exclusion_zones: Sequence[Sequence[XY]] = ()) -> None:
        """Start in PROTECTIVE_STOP: nothing moves before every input has been seen.

        ``safe_ground`` (a shapely geometry: approach lanes, safe areas) joins the field in
        the geofence (:func:`demining_control.coverage.allowed.geofence`); the footprint is
        kept out of ``exclusion_zones`` except where safe ground is declared over them.
        """
        self.configure(params or SafetyParams())
        self._field = Polygon(field)
        self._safe = safe_ground
        self._fence = geofence(self._field, self._safe, self.params.geofence_margin_m)
        self.state = SafetyState.PROTECTIVE_STOP
        self.reason = 'starting: waiting for inputs'
        #: The current stop began (or went on) with a person in the stop zone.
        self._people_stop = False
        self._latched_reasons: List[str] = []
        self.transitions: List[Dict[str, object]] = []
        self.interlock_active = False
        #: A pivot is held until the tool is out of the ground (see :meth:`update`).
        self.pivot_hold = False
        self._pivot_hold_said = False
        #: Since when the interlock has held forward motion without a break (None: it does
        #: not), and whether that hold was said.
        self._interlock_since: Optional[float] = None
        self._interlock_last = -math.inf
        self._interlock_said = False
        #: A latch happened and no resume has been accepted since: no motion, no tool.
        self.awaiting_resume = False
        #: The latching event that needs an inspection before a resume (None: none due).
        self.inspection_due: Optional[str] = None
        #: The inspection acknowledged since that event (its text), None before.
        self._inspection: Optional[str] = None
        #: Every acknowledgement received: {'stamp', 'text'} (bounded).
        self.inspections: List[Dict[str, object]] = []
        #: Detected AT mines and UXO: ground the footprint must not enter.
        self.no_go = NoGoZones(self.params.no_go_margin_m)
        self._no_go_union = Polygon()
        excl = unary_union([Polygon(z) for z in exclusion_zones]) if exclusion_zones \
            else Polygon()
        self._exclusion_union = (excl.difference(safe_ground) if safe_ground is not None
                                 and not safe_ground.is_empty else excl)
        #: The bounding boxes of the zones' parts (:func:`_part_boxes`), kept with them.
        self._no_go_boxes: List[Box] = []
        self._exclusion_boxes = _part_boxes(self._exclusion_union)
        #: A machine-limit protective stop that waits for the operator's resume (repeated tool
        #: stalls, track slip); None when there is none.
        self.limit_latch: Optional[str] = None
        #: Tool stalls counted (the supervisor's own detection) and the times they began.
        self.stall_count = 0
        self._stall_times: List[float] = []
        self._stall_since: Optional[float] = None
        self._stall_counted = False
        self._over_slope = False
        #: Where the current slope stop began (x, y); None without one.
        self._slope_from: Optional[XY] = None
        #: Where the machine is turning on the spot (x, y) and whether its attitude was within
        #: the limits when it came there; the yaw it has turned there since (unwrapped, rad);
        #: and the yaw of the last pose judged. None before a fresh, finite pose.
        self._turn_place: Optional[XY] = None
        self._turn_place_level = False
        self._turned = 0.0
        self._turn_yaw: Optional[float] = None
        self._slip_since: Optional[float] = None
        self._runaway_since: Optional[float] = None
        #: The linear velocity passed on at the last judgement (the commanded motion).
        self.last_v = 0.0
        #: The last fresh, finite pose judged: (x, y, time).
        self._last_pose: Optional[Tuple[float, float, float]] = None
        #: Allowed ground over the geofence (None while the check is off).
        self.allowed: Optional[AllowedGround] = (
            AllowedGround(self._fence.bounds, self._contact(), safe_ground)
            if self.params.allowed_ground_check else None)
        declared = safe_ground is not None and not safe_ground.is_empty
        #: Whether a motion leaving allowed ground is refused (else recorded in ``notes``).
        self.allowed_enforced = self.allowed is not None and (
            (declared and self.params.allowed_ground_enforce_declared)
            or self.params.allowed_ground_enforce_undeclared)
        #: Texts for the safety events that change no state (drained by the node).
        self.notes: List[str] = []
        if self.allowed is not None and not self.allowed_enforced:
            self.notes.append(ALLOWED_GROUND_UNDECLARED if not declared
                              else ALLOWED_GROUND_RECORD_ONLY)
        self._recorded_leave = ''
        #: Motions leaving allowed ground recorded, not refused (area without safe ground).
        self.allowed_recorded = 0
        #: The suspects a passed motion put a track on (recorded, not enforced), by key.
        self._suspects_recorded: Set[Tuple[int, int]] = set()
        #: The suspects the fusion labels AP now, by key (``ap_track_enforce``).
        self._ap_suspects: Set[Tuple[int, int]] = set()

    def configure(self, params: SafetyParams) -> None:
        """Set the parameters."""
        self.params = params
        if hasattr(self, '_field'):
            self._fence = geofence(self._field, self._safe, params.geofence_margin_m)
        if getattr(self, 'allowed', None) is not None:
            self.allowed.contact = self._contact()

    def _contact(self) -> ContactParams:
        """The tracks and tool of the allowed-ground check (the planner's own type)."""
        p = self.params
        return ContactParams(track_gauge_m=p.track_gauge_m, track_width_m=p.track_width_m,
                             track_length_m=p.track_length_m, tool_width_m=p.tool_width_m,
                             tool_offset_x_m=p.tool_offset_x_m,
                             resolution_m=p.allowed_ground_resolution_m,
                             tolerance_m=p.allowed_ground_tolerance_m)

    # -- latched causes --------------------------------------------------------------------

    def trigger_estop(self, reason: str, now: float) -> None:
        """Latch the e-stop (operator e-stop, detonation, damage)."""
        if reason not in self._latched_reasons:
            self._latched_reasons.append(reason)
        self.awaiting_resume = True
        self._set(SafetyState.ESTOP, '; '.join(self._latched_reasons), now)

    def on_event(self, ev: SimEvent, now: float) -> bool:
        """Handle a blast-detector/sim event; return whether it latched the e-stop.

        A latching event (AT detonation, damage) also makes an inspection due: an
        acknowledgement received before it does not count.
        """
        if ev.kind in self.params.estop_event_kinds:
            where = f' at ({ev.x:.1f}, {ev.y:.1f})' if _finite(ev.x, ev.y) else ''
            self.inspection_due = f'{ev.kind}{where}'
            self._inspection = None
            self.trigger_estop(self.inspection_due, now)
            return True
        return False

    def reset(self, inputs: SafetyInputs, now: float) -> Tuple[bool, str]:
        """Clear a latched e-stop if its cause is gone; return (accepted, message).

        A reset never restarts the machine: the supervisor stays in PROTECTIVE_STOP, vehicle
        and tool stopped, until :meth:`resume`.
        """
        if inputs.estop_pressed:
            ok, text = False, 'reset refused: operator e-stop still pressed: release it first'
        elif self.beyond_rollover(inputs):
            ok, text = False, f'reset refused: {TILT_ESTOP}: recover the machine first'
        elif self.state is not SafetyState.ESTOP:
            ok, text = True, f'reset: nothing to reset (state {self.state.value})'
        else:
            self._latched_reasons = []
            self._set(SafetyState.PROTECTIVE_STOP, self._waiting_reason(), now)
            return True, self.reason
        self._record_action(text, now)
        return ok, text

    def acknowledge_inspection(self, text: str, now: float) -> Tuple[bool, str]:
        """Record an inspector's acknowledgement (after a detonation or damage event)."""
        text = str(text).strip()[:_MAX_INSPECTION_CHARS]
        if not text:
            ok, msg = False, 'inspection acknowledgement refused: empty text'
        else:
            self.inspections.append({'stamp': float(now), 'text': text})
            del self.inspections[:-_MAX_INSPECTIONS]
            ok, msg = True, f'inspection acknowledged: "{text}"'
            if self.inspection_due is not None:
                self._inspection = text
                if self.awaiting_resume and self.state is not SafetyState.ESTOP:
                    self._set(SafetyState.PROTECTIVE_STOP, self._waiting_reason(), now)
            else:
                msg += ' (none due)'
        self._record_action(msg, now)
        return ok, msg

    def resume(self, inputs: SafetyInputs, now: float) -> Tuple[bool, str]:
        """Let the machine move again after a reset; return (accepted, message).

        Refused while the e-stop is latched or pressed, without an inspection acknowledgement
        after a detonation or damage event, and while any protective-stop cause is present.
        """
        if self.state is SafetyState.ESTOP or inputs.estop_pressed:
            ok, text = False, (f'resume refused: e-stop pressed or latched ({self.reason}): '
                               'release and reset it first')
        elif not self.awaiting_resume and self.limit_latch is None:
            ok, text = True, f'resume: nothing to resume (state {self.state.value})'
        elif self.inspection_due is not None and self._inspection is None:
            ok, text = False, (f'resume refused: {self.inspection_due} needs an inspection '
                               'acknowledgement (safety/inspection_ack) first')
        else:
            causes = self.protective_causes(inputs, now)
            if causes:
                ok, text = False, f'resume refused: {", ".join(causes)}'
            else:
                reason = 'resumed by operator'
                if self.inspection_due is not None:
                    reason += f' after inspection: "{self._inspection}"'
                elif self.limit_latch is not None:
                    reason += f' after: {self.limit_latch}'
                self.awaiting_resume = False
                self.limit_latch = None
                self._stall_times = []
                self._slip_since = None
                self.inspection_due = self._inspection = None
                self._set(SafetyState.OK, reason, now)
                return True, reason
        self._record_action(text, now)
        return ok, text

    def _waiting_reason(self) -> str:
        if self.inspection_due is not None and self._inspection is None:
            return WAITING_FOR_INSPECTION
        return WAITING_FOR_RESUME

    # -- evaluation ------------------------------------------------------------------------

    def _stale(self, stamp: Optional[float], now: float, timeout: float) -> bool:
        return stamp is None or not math.isfinite(stamp) or now - stamp > timeout

    def protective_causes(self, inputs: SafetyInputs, now: float) -> List[str]:
        """Return every current protective-stop cause (empty when all is well)."""
        return self._input_causes(inputs, now) + self.tool_stop_causes(inputs, now)

    def tool_stop_causes(self, inputs: SafetyInputs, now: float) -> List[str]:
        """The protective-stop causes that stop the rotors too (people, machine limits)."""
        return self.people_causes(inputs, now) + self.machine_causes(inputs, now)

    def _input_causes(self, inputs: SafetyInputs, now: float) -> List[str]:
        """The protective-stop causes of the inputs and the keep-out (the vehicle only)."""
        p = self.params
        causes = []
        if self._stale(inputs.heartbeat_stamp, now, p.heartbeat_timeout_s):
            causes.append('operator heartbeat lost')
        pose = inputs.pose
        if pose is None or self._stale(inputs.pose_stamp, now, p.localization_timeout_s):
            causes.append('localisation stale')
        elif not _finite(pose.x, pose.y, pose.yaw):
            causes.append('localisation not finite')
        elif not shapely.contains_xy(self._fence, pose.x, pose.y):
            causes.append('geofence breach')
        cmd = inputs.cmd
        if cmd is None or self._stale(inputs.cmd_stamp, now, p.command_timeout_s):
            causes.append('motion command stale')
        elif not _finite(cmd.v, cmd.omega):
            causes.append('motion command not finite')
        if self._enters_no_go(inputs):
            causes.append(NO_GO_AHEAD)
        elif self._enters_exclusion(inputs):
            causes.append(EXCLUSION_AHEAD)
        tc = inputs.tool_cmd
        if tc is None or self._stale(inputs.tool_cmd_stamp, now, p.command_timeout_s):
            causes.append('tool command stale')
        elif not _finite(tc.flail_speed, tc.tiller_speed, tc.depth):
            causes.append('tool command not finite')
        return causes

    # -- machine limits ----------------------------------------------------------------------

    def imu_valid(self, inputs: SafetyInputs, now: float) -> bool:
        """Whether the IMU's roll and pitch can be trusted (fresh, finite, not frozen)."""
        p = self.params
        return (not self._stale(inputs.imu_stamp, now, p.imu_timeout_s)
                and _finite(inputs.roll, inputs.pitch)
                and (inputs.imu_frozen_since is None
                     or now - inputs.imu_frozen_since < p.imu_frozen_s))

    def beyond_rollover(self, inputs: SafetyInputs) -> bool:
        """Whether the measured tilt is past the rollover stop limits."""
        p = self.params
        return (inputs.imu_stamp is not None and _finite(inputs.roll, inputs.pitch)
                and (abs(inputs.roll) > math.radians(p.rollover_roll_deg)
                     or abs(inputs.pitch) > math.radians(p.rollover_pitch_deg)))

    def over_work_slope(self, inputs: SafetyInputs) -> bool:
        """Whether the tilt is above the work limits (with hysteresis once above)."""
        p = self.params
        if inputs.imu_stamp is None or not _finite(inputs.roll, inputs.pitch):
            return False
        slack = math.radians(p.tilt_hysteresis_deg) if self._over_slope else 0.0
        return (abs(inputs.roll) > math.radians(p.max_work_roll_deg) - slack
                or abs(inputs.pitch) > math.radians(p.max_work_pitch_deg) - slack)

    def machine_causes(self, inputs: SafetyInputs, now: float) -> List[str]:
        """Machine-limit protective-stop causes that stop the tool too (stable texts)."""
        p = self.params
        causes = []
        if p.imu_required:
            if self._stale(inputs.imu_stamp, now, p.imu_timeout_s):
                causes.append('IMU stale')
            elif not _finite(inputs.roll, inputs.pitch):
                causes.append('IMU not finite')
            elif (inputs.imu_frozen_since is not None
                  and now - inputs.imu_frozen_since >= p.imu_frozen_s):
                causes.append('IMU frozen (output repeats bit for bit)')
        if self._over_slope:
            causes.append(SLOPE_STOP)
        if p.tool_state_required and (inputs.tool_state is None or self._stale(
                inputs.tool_state_stamp, now, p.tool_state_timeout_s)):
            causes.append('tool state stale')
        return causes

    def _slope_backout(self, inputs: SafetyInputs) -> bool:
        """Whether autonomy's command is a way straight back out of a slope stop: the slope
        is the only machine limit, the command reverses, and the machine is less than
        ``slope_recovery_m`` from where the stop began."""
        cmd, pose, start = inputs.cmd, inputs.pose, self._slope_from
        return (self._over_slope and self.limit_latch is None and start is not None
                and self.params.slope_recovery_m > 0.0 and cmd is not None and pose is not None
                and _finite(cmd.v, pose.x, pose.y) and cmd.v < 0.0
                and math.hypot(pose.x - start[0], pose.y - start[1])
                < self.params.slope_recovery_m)

    def _slope_undo(self, inputs: SafetyInputs) -> bool:
        """Whether autonomy's command undoes a pivot into a slope stop: the slope is the only
        machine limit, the machine is still where it began turning on the spot (its attitude
        within the limits there), it has turned more than ``slope_undo_tolerance_rad`` since,
        and the command is a pivot back towards the heading it had there."""
        cmd, p, pose = inputs.cmd, self.params, inputs.pose
        return (self._over_slope and self.limit_latch is None and p.slope_recovery_m > 0.0
                and self._turn_place_level and abs(self._turned) > p.slope_undo_tolerance_rad
                and cmd is not None and _finite(cmd.v, cmd.omega)
                and motion_kind(cmd.v, cmd.omega) is Motion.PIVOT
                and cmd.omega * self._turned < 0.0
                and pose is not None and _finite(pose.x, pose.y) and self._at_turn_place(pose))

    def _at_turn_place(self, pose: VehicleState) -> bool:
        """Whether a (finite) pose is within ``slope_undo_place_m`` of where the machine began
        turning on the spot."""
        place = self._turn_place
        return place is not None and math.hypot(
            pose.x - place[0], pose.y - place[1]) <= self.params.slope_undo_place_m

    def _track_turn(self, pose: Optional[VehicleState], fresh: bool) -> None:
        """Follow where the machine turns on the spot and how far it has turned there.

        Until it has turned ``slope_undo_tolerance_rad`` the place follows the machine (a
        straight drive), so it is where the turn began; it begins anew, with nothing turned,
        once the pose is ``slope_undo_place_m`` from it (the machine drove on), but not while
        a slope stop holds (the undo then waits for the machine at the place). The turn is
        counted from the heading the machine came with (the one an undo turns back to), and
        the place remembers whether the attitude was within the limits where it began.
        """
        if not fresh or not _finite(pose.x, pose.y, pose.yaw):
            return
        p = self.params
        # A slope stop holds the turn wherever the machine is: it rolls on a few centimetres
        # after the stop, or backs out straight, and may come back to the place to undo it
        # (:meth:`_slope_undo` asks it to be there; rugged_terrain seed 9 stopped 0.46 m on
        # from its pivot, coasted to 0.50 m and forgot the turn: every way out was refused
        # and the mission was aborted at 45.3 %). The turn counts every heading change since
        # it began, so an undo still turns back to the heading the machine came with.
        held = self._turn_place is not None and self._turn_yaw is not None and (
            self._over_slope or self._at_turn_place(pose))
        if held:
            d = pose.yaw - self._turn_yaw
            self._turned += math.atan2(math.sin(d), math.cos(d))
        else:
            self._turned = 0.0
        if abs(self._turned) <= p.slope_undo_tolerance_rad:
            self._turn_place = (pose.x, pose.y)
            self._turn_place_level = not self._over_slope
        self._turn_yaw = pose.yaw

    def tool_must_stop(self, inputs: SafetyInputs, now: float) -> bool:
        """Whether the rotors must stop and the tool lift (people, slope, IMU, tool state)."""
        return bool(self.tool_stop_causes(inputs, now))

    def _track_machine(self, inputs: SafetyInputs, now: float) -> None:
        """Update the machine-limit trackers once per judgement; latch what must latch."""
        p = self.params
        if self.beyond_rollover(inputs) and self.imu_valid(inputs, now):
            self.trigger_estop(TILT_ESTOP, now)
        self._over_slope = self.imu_valid(inputs, now) and self.over_work_slope(inputs)
        pose = inputs.pose
        if not self._over_slope:
            self._slope_from = None
        elif self._slope_from is None and pose is not None and _finite(pose.x, pose.y):
            self._slope_from = (pose.x, pose.y)
        self._track_stalls(inputs, now)
        fresh = (pose is not None and not self._stale(inputs.pose_stamp, now,
                                                      p.localization_timeout_s)
                 and _finite(pose.v))
        measured = abs(pose.v) if fresh else 0.0
        self._track_turn(pose, fresh)
        if p.pose_jump_check and fresh and _finite(pose.x, pose.y):
            self._track_pose_jump(pose, now)
        if self.allowed is not None and fresh:
            # the parked position, and the ground the tool processes (the mission's rule)
            self.allowed.park(pose.x, pose.y, pose.yaw)
            self.allowed.mark_tool(pose.x, pose.y, pose.yaw, self.tool_ready(inputs, now))
        commanded = abs(self.last_v)
        runaway = fresh and measured > commanded + p.runaway_margin_mps
        self._runaway_since = (self._runaway_since if self._runaway_since is not None else now) \
            if runaway else None
        if runaway and now - self._runaway_since >= p.motion_mismatch_time_s:
            self.trigger_estop(RUNAWAY_ESTOP, now)
        # Slip: the tracks turn, the ground does not move. Judged on the speed over ground of
        # a sensor the tracks do not drive (GNSS) when there is one: a localisation fusing
        # track odometry reports the sprockets' speed while the machine stands in mud.
        # The mismatch is timed on the measurements' own stamps: a speed over ground is an
        # average over the fixes of its window, and one held through a GNSS dropout (fresh
        # for ground_speed_timeout_s) says nothing new. Timed on the ticks, the last speed
        # of a machine driving off from standing, held through a dropout, was a slip stop.
        gs = inputs.ground_speed
        over_ground = gs is not None and _finite(gs) and not self._stale(
            inputs.ground_speed_stamp, now, p.ground_speed_timeout_s)
        ground = abs(gs) if over_ground else measured
        seen = inputs.ground_speed_stamp if over_ground else now
        slip = ((fresh or over_ground) and commanded >= p.motion_check_min_speed_mps
                and ground < (1.0 - p.max_slip_fraction) * commanded)
        self._slip_since = (self._slip_since if self._slip_since is not None else seen) \
            if slip else None
        if slip and seen - self._slip_since >= p.motion_mismatch_time_s:
            self._latch_limit(f'{SLIP_STOP} (measured {ground:.2f} m/s over ground, commanded '
                              f'{commanded:.2f} m/s)')

    def _track_pose_jump(self, pose: VehicleState, now: float) -> None:
        p = self.params
        last = self._last_pose
        self._last_pose = (pose.x, pose.y, now)
        if last is None:
            return
        step = math.hypot(pose.x - last[0], pose.y - last[1])
        reach = max(p.max_speed_mps, abs(pose.v)) * max(now - last[2], 0.0)
        if step > reach + p.max_pose_jump_m:
            self._latch_limit(f'{JUMP_STOP} of {step:.1f} m')

    def _track_stalls(self, inputs: SafetyInputs, now: float) -> None:
        p = self.params
        ts = inputs.tool_state
        stalled = (ts is not None and not self._stale(inputs.tool_state_stamp, now,
                                                      p.tool_state_timeout_s)
                   and _finite(ts.flail_speed, ts.tiller_speed, ts.flail_torque,
                               ts.tiller_torque)
                   and (ts.flail_speed < p.stall_speed_fraction * p.flail_speed_radps
                        or ts.tiller_speed < p.stall_speed_fraction * p.tiller_speed_radps)
                   and max(abs(ts.flail_torque), abs(ts.tiller_torque)) >= p.stall_torque_nm)
        if not stalled:
            self._stall_since, self._stall_counted = None, False
            return
        if self._stall_since is None:
            self._stall_since = now
        if self._stall_counted or now - self._stall_since < p.stall_time_s:
            return
        self._stall_counted = True
        self.stall_count += 1
        self._stall_times = [t for t in self._stall_times if now - t <= p.tool_stall_window_s]
        self._stall_times.append(now)
        if len(self._stall_times) >= p.max_tool_stalls:
            self._latch_limit(f'{STALL_STOP} ({len(self._stall_times)} stalls within '
                              f'{p.tool_stall_window_s:g} s)')

    def _latch_limit(self, reason: str) -> None:
        if self.limit_latch is None:
            self.limit_latch = reason

    def on_detections(self, detections: Sequence[Detection]) -> int:
        """Take the fused detections; return how many new no-go zones they made."""
        added = self.no_go.update(detections)
        if self.allowed is not None:
            self.allowed.set_hazards(hazard_discs(detections, self.params.hazard_track_margin_m))
            self._ap_suspects = {suspect_key(d.x, d.y) for d in detections
                                 if d.kind == DetectionKind.AP
                                 and math.isfinite(d.x) and math.isfinite(d.y)}
        if added:
            self._no_go_union = unary_union(self.no_go.polygons())
            self._no_go_boxes = _part_boxes(self._no_go_union)
        return len(added)

    def on_processed(self, values, origin_x: float, origin_y: float, resolution: float) -> None:
        """Take the mission's processed-ground grid (/coverage/processed; 100 = processed)."""
        if self.allowed is not None:
            self.allowed.merge_grid(values, origin_x, origin_y, resolution)

    def leaves_allowed_ground(self, inputs: SafetyInputs, now: float, v: float,
                              omega: float, tool_stops: Optional[bool] = None) -> str:
        """The cause text when the motion (v, omega)'s tracks would leave allowed ground, else ''.

        The motion is placed over ``allowed_ground_horizon_s`` (forward, reverse or pivot); while
        the measured tool works and may keep working, its sweep ahead of the tracks counts
        (the tracks follow it onto ground it will have processed). ``tool_stops``: whether
        :meth:`tool_must_stop` (when the caller knows it already).
        """
        pose = inputs.pose
        if (self.allowed is None or pose is None
                or not _finite(pose.x, pose.y, pose.yaw, v, omega)
                or self._stale(inputs.pose_stamp, now, self.params.localization_timeout_s)):
            return ''
        if tool_stops is None:
            tool_stops = self.tool_must_stop(inputs, now)
        working = self.tool_ready(inputs, now) and not tool_stops
        kind = self.allowed.judge(pose.x, pose.y, pose.yaw, v, omega,
                                  self.params.allowed_ground_horizon_s, _SWEEP_STEPS, working)
        if kind is None:
            return ''
        return (f'{ALLOWED_GROUND_STOP} ({kind.value}: neither processed, nor to be processed '
                'by the tool first, nor declared safe)')

    def _enters_no_go(self, inputs: SafetyInputs) -> bool:
        """True when the commanded motion would sweep the footprint further into a no-go zone."""
        return self._enters(inputs, self._no_go_union, self._no_go_boxes)

    def _enters_exclusion(self, inputs: SafetyInputs) -> bool:
        """True when it would sweep the footprint further into an exclusion zone.

        Exclusion zones (ruins, a road, protected trees) are kept out like no-go zones, except
        where a safe area is declared over them (a road the machine may cross).
        """
        return self._enters(inputs, self._exclusion_union, self._exclusion_boxes)

    def _enters(self, inputs: SafetyInputs, zone, boxes: Sequence[Box]) -> bool:
        """True when the commanded motion would sweep the footprint further into ``zone``.

        The footprint is placed along the command (forward, reverse or pivot) over
        ``keep_out_horizon_s``. Refused: any pose deeper in a zone than now, and, unless
        reversing, any new zone ground swept (a pivot swings the flail sideways). A command
        that only leaves a zone, or keeps clear, passes: the machine can always back out.
        ``boxes`` are the bounding boxes of ``zone``'s parts (:func:`_part_boxes`).
        """
        pose, cmd = inputs.pose, inputs.cmd
        if (zone.is_empty or pose is None or cmd is None
                or not _finite(pose.x, pose.y, pose.yaw, cmd.v, cmd.omega)
                or (cmd.v == 0.0 and cmd.omega == 0.0)):
            return False
        p = self.params
        poses = [(pose.x, pose.y, pose.yaw)]
        x, y, yaw = pose.x, pose.y, pose.yaw
        dt = p.keep_out_horizon_s / _SWEEP_STEPS
        for _ in range(_SWEEP_STEPS):
            x += cmd.v * math.cos(yaw) * dt
            y += cmd.v * math.sin(yaw) * dt
            yaw += cmd.omega * dt
            poses.append((x, y, yaw))
        reach = turn_reach(p.footprint_rear_m, p.footprint_front_m, p.footprint_half_width_m)
        if not _boxes_near(poses, reach, boxes):
            # No footprint can touch the zone: nothing is inside now nor swept (the test below
            # would find empty intersections; the zones are far from the machine most of the
            # time, and building the six footprints and their union cost ~0.3 ms a tick).
            return False
        swept = [footprint(px, py, pyaw, p.footprint_rear_m, p.footprint_front_m,
                           p.footprint_half_width_m) for px, py, pyaw in poses]
        # the rule the coverage planner checks its paths with (one source: KeepOutSweep)
        sweep = KeepOutSweep(zone, swept[0], reverse=cmd.v < 0.0)
        return any(sweep.refuses(f) for f in swept[1:])

    # -- people (the people monitor's zone) -------------------------------------------------

    def people_causes(self, inputs: SafetyInputs, now: float) -> List[str]:
        """The people-zone stop cause, if any (stable texts: one transition per stop)."""
        z = inputs.people_zone
        if z is None or self._stale(inputs.people_zone_stamp, now,
                                    self.params.people_zone_timeout_s):
            return ['people zone stale'] if self.params.people_monitor_required else []
        if z.zone != ZoneState.STOP.value:
            return []
        if 'stop polygon' in z.reason:
            return [PERSON_STOP + ' (near the vehicle)']
        if 'safety distance' in z.reason:
            return [PERSON_STOP + ' (inside the flail work safety distance)']
        return ['people monitor stop: ' + z.reason.split(': ', 1)[-1]]

    def people_stop(self, inputs: SafetyInputs, now: float) -> bool:
        """Whether the people zone stops the rotors too (STOP, or stale when required)."""
        return bool(self.people_causes(inputs, now))

    def people_speed_cap(self, inputs: SafetyInputs, now: float) -> float:
        """Largest |v| the people zone allows (inf unless SLOW)."""
        z = inputs.people_zone
        if z is not None and z.zone == ZoneState.SLOW.value and not self._stale(
                inputs.people_zone_stamp, now, self.params.people_zone_timeout_s):
            return self.params.people_slow_speed_mps
        return math.inf

    def _ok_reason(self) -> str:
        """Reason of an OK state: says so when it ends a people stop (the report shows it).

        A stop that began with a person ends with the people reason even when its last cause
        was another (e.g. a back-up over ground the stop left unprocessed).
        """
        if self.state is SafetyState.PROTECTIVE_STOP and self._people_stop:
            return PEOPLE_CLEAR_RESUME
        return 'all inputs fresh and valid'

    def tool_ready(self, inputs: SafetyInputs, now: float) -> bool:
        """Return whether the measured tool is at speed and at depth (fresh measurement)."""
        p = self.params
        ts = inputs.tool_state
        if ts is None or self._stale(inputs.tool_state_stamp, now, p.tool_state_timeout_s):
            return False
        return (_finite(ts.flail_speed, ts.tiller_speed, ts.depth)
                and ts.flail_speed >= p.ready_speed_fraction * p.flail_speed_radps
                and ts.tiller_speed >= p.ready_speed_fraction * p.tiller_speed_radps
                and ts.depth >= p.working_depth_m - p.depth_tolerance_m)

    def tool_in_ground(self, inputs: SafetyInputs, now: float) -> bool:
        """Whether the fresh measured tool is deeper than ``pivot_tool_clear_depth_m`` (a
        stale or non-finite measurement is a machine cause of its own)."""
        ts = inputs.tool_state
        if ts is None or not _finite(ts.depth) or self._stale(
                inputs.tool_state_stamp, now, self.params.tool_state_timeout_s):
            return False
        return ts.depth > self.params.pivot_tool_clear_depth_m

    def tool_over_field(self, pose: VehicleState) -> bool:
        """Return whether the tool centre is over the field (the interlock applies)."""
        c, s = math.cos(pose.yaw), math.sin(pose.yaw)
        tx = pose.x + self.params.tool_offset_x_m * c
        ty = pose.y + self.params.tool_offset_x_m * s
        return bool(shapely.contains_xy(self._field, tx, ty)
                    or shapely.contains_xy(self._field, pose.x, pose.y))

    def tool_over_allowed(self, pose: VehicleState) -> bool:
        """Whether the tool line, where it is over the field, is over allowed ground
        (processed, swept by the working tool, declared safe): driving on, the tracks follow
        onto ground that needs no tool. False while the allowed-ground check is off (the
        interlock then always applies) or on a pose that is not finite."""
        if self.allowed is None or not _finite(pose.x, pose.y, pose.yaw):
            return False
        pts = self.allowed.tool_points(pose.x, pose.y, pose.yaw)
        over_field = shapely.contains_xy(self._field, pts[:, 0], pts[:, 1])
        return bool(np.all(self.allowed.allowed_at(pts) | ~over_field))

    def update(self, inputs: SafetyInputs, now: float
               ) -> Tuple[SafetyState, Twist2D, ToolCommand]:
        """Judge the inputs at time ``now``; return (state, motion command, tool command)."""
        p = self.params
        if inputs.estop_pressed and _OPERATOR_ESTOP not in self._latched_reasons:
            self.trigger_estop(_OPERATOR_ESTOP, now)
        self._track_machine(inputs, now)
        self.last_v = 0.0
        if self.state is SafetyState.ESTOP:
            self.interlock_active = False
            return self.state, Twist2D(), ToolCommand()
        if self.awaiting_resume:
            # reset, not resumed: the machine stays stopped (vehicle, rotors, tool up)
            self.interlock_active = False
            self._set(SafetyState.PROTECTIVE_STOP, self._waiting_reason(), now)
            return self.state, Twist2D(), ToolCommand()
        teleop = inputs.cmd_source == CmdSource.TELEOP.value
        creep = teleop and (self.limit_latch is not None or self._over_slope)
        backout = not teleop and self._slope_backout(inputs)
        # a reverse is the straight back-out; only a pivot may undo the turn
        undo = not teleop and not backout and self._slope_undo(inputs)
        creep = creep or backout or undo
        if self.limit_latch is not None and not teleop:
            # a machine limit waits for the operator: vehicle and tool stopped
            self.interlock_active = False
            self._set(SafetyState.PROTECTIVE_STOP, f'{self.limit_latch}: {LIMIT_WAITING}', now)
            return self.state, Twist2D(), ToolCommand()
        # the people and machine causes once a judgement: they stop the rotors too
        tool_stop = self.tool_stop_causes(inputs, now)
        causes = self._input_causes(inputs, now) + tool_stop
        if creep:
            causes = [c for c in causes if c != SLOPE_STOP]
        tc = inputs.tool_cmd
        tool = (dataclasses.replace(tc) if tc is not None
                and _finite(tc.flail_speed, tc.tiller_speed, tc.depth)
                and not self._stale(inputs.tool_cmd_stamp, now, p.command_timeout_s)
                else ToolCommand())
        if tool_stop or creep:
            tool = ToolCommand()        # a person, a slope, no IMU: rotors stopped, tool lifted
        v = omega = 0.0
        self.interlock_active = self.pivot_hold = False
        if not causes:
            cmd = inputs.cmd
            assert cmd is not None and inputs.pose is not None
            v = max(-p.max_speed_mps, min(p.max_speed_mps, cmd.v))
            cap = self.people_speed_cap(inputs, now)
            v = max(-cap, min(cap, v))
            omega = max(-p.max_yaw_rate, min(p.max_yaw_rate, cmd.omega))
            if creep:
                v = max(-p.teleop_creep_speed_mps, min(p.teleop_creep_speed_mps, v))
                omega = max(-p.teleop_creep_yaw_rate, min(p.teleop_creep_yaw_rate, omega))
            if backout:
                v, omega = min(v, 0.0), 0.0     # straight back: the way it came
            elif undo:
                v = 0.0                         # on the spot: over the ground just swept
            if (inputs.mission_clearing and v > 0.0 and self.tool_over_field(inputs.pose)
                    and not self.tool_ready(inputs, now)
                    and not self.tool_over_allowed(inputs.pose)):
                # tracks only on processed ground: no forward motion until the tool works
                # (over processed or declared safe ground it need not: a transit, tool up)
                v = 0.0
                self.interlock_active = True
            self._note_interlock(now)
            leaves = self.leaves_allowed_ground(inputs, now, v, omega, bool(tool_stop))
            if leaves and self.allowed_enforced:
                causes.append(leaves)
            elif leaves and self.allowed.hazard_at is not None and (
                    p.suspect_track_enforce or (p.ap_track_enforce and suspect_key(
                        *self.allowed.hazard_at) in self._ap_suspects)):
                # a suspect the tool has not processed must not go off under a track (an AT
                # mine seen only at the boom's edge is an unknown: a trial laterite field,
                # a TM-62P under a pivot); which one, for the coverage planner's answer
                causes.append(hazard_refusal(*self.allowed.hazard_at))
            elif leaves != self._recorded_leave:
                if leaves:
                    # an area without declared safe ground: recorded, not enforced (bounded)
                    self.allowed_recorded += 1
                    n = self.allowed_recorded
                    # the first ones each, then the 2^k-th: the record gets where they began
                    # and their count within a factor of two, in bounded space
                    if n <= _MAX_ALLOWED_RECORDS or n & (n - 1) == 0:
                        pose = inputs.pose
                        self.notes.append(allowed_ground_departure(leaves, pose.x, pose.y, n))
                        self._record_action(self.notes[-1], now)
                self._recorded_leave = leaves
            if leaves and not causes and self.allowed.hazard_at is not None:
                self._record_suspect(self.allowed.hazard_at, now)
            # over any ground: a working tool marks its own sweep processed as it turns, so
            # the ground under it never said stop (the flail worked 2.6 m arcs round every
            # corner of a 12 x 8 m field). Judged after the allowed ground: a pivot that would
            # also put the tracks where they may not go is refused with that reason, not held
            # in silence.
            self.pivot_hold = (omega != 0.0 and motion_kind(v, omega) is Motion.PIVOT
                               and self.tool_in_ground(inputs, now))
            if self.pivot_hold:
                # the tool first: the follower's 'pivot' leg lifts it within seconds, so
                # autonomy's holds are not said (one per corner); an operator, whose tool
                # nothing lifts, is told once a hold why the turn does not come
                omega = 0.0
                if teleop and not self._pivot_hold_said:
                    self.notes.append(f'{PIVOT_HOLD}: the tool is in the ground (lift it '
                                      'first)')
                    self._record_action(self.notes[-1], now)
                self._pivot_hold_said = teleop
            else:
                self._pivot_hold_said = False
        if causes:
            self._set(SafetyState.PROTECTIVE_STOP, ', '.join(causes), now)
            self.interlock_active = False
            return self.state, Twist2D(), tool
        if backout:
            self._set(SafetyState.OK, SLOPE_RECOVERY, now)
        elif undo:
            self._set(SafetyState.OK, SLOPE_UNDO_PIVOT, now)
        elif creep:
            self._set(SafetyState.OK, f'{TELEOP_RECOVERY}: {self.limit_latch or SLOPE_STOP}',
                      now)
        else:
            self._set(SafetyState.OK, self._ok_reason(), now)
        self.last_v = v
        return self.state, Twist2D(v, omega), tool

    def _record_suspect(self, at: Tuple[float, float], now: float) -> None:
        """Record, once a suspect, a motion passed on that puts a track on it (not enforced:
        ``suspect_track_enforce``); bounded by ``_MAX_SUSPECT_RECORDS`` suspects."""
        key = suspect_key(*at)
        if key in self._suspects_recorded or \
                len(self._suspects_recorded) >= _MAX_SUSPECT_RECORDS:
            return
        self._suspects_recorded.add(key)
        self.notes.append(suspect_under_track(*at))
        self._record_action(self.notes[-1], now)

    def _note_interlock(self, now: float) -> None:
        """Say a hold of the interlock once it lasts ``interlock_hold_note_s`` (once a hold).

        A transit planned with the tool raised whose tool line grazes unprocessed ground (the
        planner's and the record's edges differ by centimetres) was held here for good while
        the follower waited for the motion it commanded: the no-progress abort ended the
        mission at 22 % (quick_mixed).
        """
        if not self.interlock_active:
            self._interlock_since, self._interlock_said = None, False
            return
        if self._interlock_since is None or now - self._interlock_last > _INTERLOCK_GAP_S:
            # a new hold (a stop in between returns without judging the interlock)
            self._interlock_since, self._interlock_said = now, False
        self._interlock_last = now
        if not self._interlock_said and \
                now - self._interlock_since >= self.params.interlock_hold_note_s:
            self._interlock_said = True
            self.notes.append(f'{INTERLOCK_HOLD}: the tool is not working over unprocessed '
                              f'ground ahead ({now - self._interlock_since:.0f} s)')
            self._record_action(self.notes[-1], now)

    # -- bookkeeping -----------------------------------------------------------------------

    def _set(self, state: SafetyState, reason: str, now: float) -> None:
        if self.transitions and state is self.state and (
                state is SafetyState.OK or reason == self.reason):
            return
        changed = state is not self.state
        if state is SafetyState.OK:
            self._people_stop = False
        elif state is SafetyState.PROTECTIVE_STOP and reason.startswith(PERSON_STOP):
            self._people_stop = True
        self.state = state
        self.reason = reason
        if changed or state is not SafetyState.OK or not self.transitions:
            self._record(now)

    def _record_action(self, text: str, now: float) -> None:
        """Record an operator action that changed no state (the state's reason stays)."""
        self._record(now, text)

    def _record(self, now: float, reason: Optional[str] = None) -> None:
        self.transitions.append({'stamp': float(now), 'state': self.state.value,
                                 'reason': self.reason if reason is None else reason})
        if len(self.transitions) > _MAX_TRANSITIONS:
            del self.transitions[: len(self.transitions) - _MAX_TRANSITIONS]
