"""Safety supervisor (pure core): every motion and tool command passes through it.

States (:class:`SafetyState`):

* ``OK``: commands pass, clamped to ``max_speed_mps``/``max_yaw_rate``, with the "tracks only on
  processed ground" interlock: while the mission is clearing and the tool is over the field,
  forward motion is clamped to zero unless the tool is at speed and at depth (the tracks follow
  2-3 m behind the tool, so they then only roll on ground it has processed).
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
from typing import Dict, List, Optional, Sequence, Tuple

import shapely
from shapely.geometry import Polygon
from shapely.ops import unary_union

from demining_bringup.contract.datatypes import (Detection, SimEvent, ToolCommand, ToolState,
                                                 Twist2D, VehicleState)
from demining_bringup.contract.parameters import param
from demining_bringup.contract import vehicle_params
from demining_bringup.contract.datatypes import PeopleZone
from demining_bringup.contract.states import SafetyState, ZoneState
from demining_control.coverage.allowed import geofence
from demining_control.coverage.no_go import NoGoZones, footprint

XY = Tuple[float, float]

#: Reason text of the operator's e-stop.
_OPERATOR_ESTOP = 'operator e-stop'
#: Protective-stop cause of a person in the people monitor's stop zone (vehicle and rotors).
PERSON_STOP = 'person in the stop zone'
#: Reason of the OK state that ends a people stop (the zone has been clear for its hold time).
PEOPLE_CLEAR_RESUME = 'people zone clear for the hold time: work resumes'
#: Poses along the commanded motion at which the footprint is placed (the sweep).
_SWEEP_STEPS = 5
#: Footprint area inside no-go zones that counts as "further in", m^2 (numerical noise).
_AREA_EPS_M2 = 1e-4
#: How many transitions are kept (bounded memory on a long mission).
_MAX_TRANSITIONS = 10_000
#: How many inspection acknowledgements are kept, and how much of each text.
_MAX_INSPECTIONS = 1_000
_MAX_INSPECTION_CHARS = 500
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
    ready_speed_fraction: float = vehicle_params.ready_speed_fraction()
    tool_state_timeout_s: float = param(0.5, 'tool state older than this: tool not ready, s',
                                        min=0.05, max=60.0)
    estop_event_kinds: List[str] = param(['at_detonation', 'damage'],
                                         'sim/blast-detector event kinds that latch the e-stop')
    no_go_margin_m: float = vehicle_params.no_go_margin_m()
    footprint_rear_m: float = vehicle_params.footprint_rear_m()
    footprint_front_m: float = vehicle_params.footprint_front_m()
    footprint_half_width_m: float = vehicle_params.footprint_half_width_m()
    keep_out_horizon_s: float = param(2.0, 'a command is refused when the footprint it would '
                                      'sweep within this time enters a no-go zone, s', min=0.1,
                                      max=10.0)


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


def _finite(*values: float) -> bool:
    return all(math.isfinite(v) for v in values)


class SafetySupervisor:
    """The safety state machine and command filter (see the module docstring)."""

    def __init__(self, field: Sequence[XY], params: Optional[SafetyParams] = None,
                 safe_ground=None) -> None:
        """Start in PROTECTIVE_STOP: nothing moves before every input has been seen.

        ``safe_ground`` (a shapely geometry: approach lanes, safe areas) joins the field in
        the geofence (:func:`demining_control.coverage.allowed.geofence`).
        """
        self.configure(params or SafetyParams())
        self._field = Polygon(field)
        self._safe = safe_ground
        self._fence = geofence(self._field, self._safe, self.params.geofence_margin_m)
        self.state = SafetyState.PROTECTIVE_STOP
        self.reason = 'starting: waiting for inputs'
        self._latched_reasons: List[str] = []
        self.transitions: List[Dict[str, object]] = []
        self.interlock_active = False
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

    def configure(self, params: SafetyParams) -> None:
        """Set the parameters."""
        self.params = params
        if hasattr(self, '_field'):
            self._fence = geofence(self._field, self._safe, params.geofence_margin_m)

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
        elif not self.awaiting_resume:
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
                self.awaiting_resume = False
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
            causes.append('no-go zone ahead (detected AT mine or UXO)')
        tc = inputs.tool_cmd
        if tc is None or self._stale(inputs.tool_cmd_stamp, now, p.command_timeout_s):
            causes.append('tool command stale')
        elif not _finite(tc.flail_speed, tc.tiller_speed, tc.depth):
            causes.append('tool command not finite')
        causes.extend(self.people_causes(inputs, now))
        return causes

    def on_detections(self, detections: Sequence[Detection]) -> int:
        """Take the fused detections; return how many new no-go zones they made."""
        added = self.no_go.update(detections)
        if added:
            self._no_go_union = unary_union(self.no_go.polygons())
        return len(added)

    def _enters_no_go(self, inputs: SafetyInputs) -> bool:
        """True when the commanded motion would sweep the footprint further into a zone.

        The footprint is placed along the command (forward, reverse or pivot) over
        ``keep_out_horizon_s``. Refused: any pose deeper in a zone than now, and, unless
        reversing, any new zone ground swept (a pivot swings the flail sideways). A command
        that only leaves a zone, or keeps clear, passes: the machine can always back out.
        """
        pose, cmd = inputs.pose, inputs.cmd
        if (self._no_go_union.is_empty or pose is None or cmd is None
                or not _finite(pose.x, pose.y, pose.yaw, cmd.v, cmd.omega)
                or (cmd.v == 0.0 and cmd.omega == 0.0)):
            return False
        p = self.params
        here = footprint(pose.x, pose.y, pose.yaw, p.footprint_rear_m, p.footprint_front_m,
                         p.footprint_half_width_m)
        swept = [here]
        x, y, yaw = pose.x, pose.y, pose.yaw
        dt = p.keep_out_horizon_s / _SWEEP_STEPS
        for _ in range(_SWEEP_STEPS):
            x += cmd.v * math.cos(yaw) * dt
            y += cmd.v * math.sin(yaw) * dt
            yaw += cmd.omega * dt
            swept.append(footprint(x, y, yaw, p.footprint_rear_m, p.footprint_front_m,
                                   p.footprint_half_width_m))
        zone = self._no_go_union
        inside_now = here.intersection(zone).area
        if any(f.intersection(zone).area > inside_now + _AREA_EPS_M2 for f in swept[1:]):
            return True             # some pose along the command is deeper in
        if cmd.v < 0.0:
            # Backing out: each pose is less deep; the path follower's small steering while
            # reversing must not count as sweeping new ground (it would pin the machine).
            return False
        return unary_union(swept).intersection(zone).area > inside_now + _AREA_EPS_M2

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
        """Reason of an OK state: says so when it ends a people stop (the report shows it)."""
        if self.state is SafetyState.PROTECTIVE_STOP and self.reason.startswith(PERSON_STOP):
            return PEOPLE_CLEAR_RESUME
        return 'all inputs fresh and valid'

    def tool_ready(self, inputs: SafetyInputs, now: float) -> bool:
        """Return whether the measured tool is at speed and at depth (fresh measurement)."""
        p = self.params
        ts = inputs.tool_state
        if ts is None or self._stale(inputs.tool_state_stamp, now, p.tool_state_timeout_s):
            return False
        return (_finite(ts.flail_speed, ts.depth)
                and ts.flail_speed >= p.ready_speed_fraction * p.flail_speed_radps
                and ts.depth >= p.working_depth_m - p.depth_tolerance_m)

    def tool_over_field(self, pose: VehicleState) -> bool:
        """Return whether the tool centre is over the field (the interlock applies)."""
        c, s = math.cos(pose.yaw), math.sin(pose.yaw)
        tx = pose.x + self.params.tool_offset_x_m * c
        ty = pose.y + self.params.tool_offset_x_m * s
        return bool(shapely.contains_xy(self._field, tx, ty)
                    or shapely.contains_xy(self._field, pose.x, pose.y))

    def update(self, inputs: SafetyInputs, now: float
               ) -> Tuple[SafetyState, Twist2D, ToolCommand]:
        """Judge the inputs at time ``now``; return (state, motion command, tool command)."""
        p = self.params
        if inputs.estop_pressed and _OPERATOR_ESTOP not in self._latched_reasons:
            self.trigger_estop(_OPERATOR_ESTOP, now)
        if self.state is SafetyState.ESTOP:
            self.interlock_active = False
            return self.state, Twist2D(), ToolCommand()
        if self.awaiting_resume:
            # reset, not resumed: the machine stays stopped (vehicle, rotors, tool up)
            self.interlock_active = False
            self._set(SafetyState.PROTECTIVE_STOP, self._waiting_reason(), now)
            return self.state, Twist2D(), ToolCommand()
        causes = self.protective_causes(inputs, now)
        if causes:
            self._set(SafetyState.PROTECTIVE_STOP, ', '.join(causes), now)
        else:
            self._set(SafetyState.OK, self._ok_reason(), now)
        tc = inputs.tool_cmd
        tool = (dataclasses.replace(tc) if tc is not None
                and _finite(tc.flail_speed, tc.tiller_speed, tc.depth)
                and not self._stale(inputs.tool_cmd_stamp, now, p.command_timeout_s)
                else ToolCommand())
        if self.people_stop(inputs, now):
            tool = ToolCommand()        # a person: rotors stopped, tool lifted
        if self.state is SafetyState.PROTECTIVE_STOP:
            self.interlock_active = False
            return self.state, Twist2D(), tool
        cmd = inputs.cmd
        assert cmd is not None and inputs.pose is not None
        v = max(-p.max_speed_mps, min(p.max_speed_mps, cmd.v))
        cap = self.people_speed_cap(inputs, now)
        v = max(-cap, min(cap, v))
        omega = max(-p.max_yaw_rate, min(p.max_yaw_rate, cmd.omega))
        self.interlock_active = False
        if (inputs.mission_clearing and v > 0.0 and self.tool_over_field(inputs.pose)
                and not self.tool_ready(inputs, now)):
            # tracks only on processed ground: no forward motion until the tool works
            v = 0.0
            self.interlock_active = True
        return self.state, Twist2D(v, omega), tool

    # -- bookkeeping -----------------------------------------------------------------------

    def _set(self, state: SafetyState, reason: str, now: float) -> None:
        if self.transitions and state is self.state and (
                state is SafetyState.OK or reason == self.reason):
            return
        changed = state is not self.state
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
