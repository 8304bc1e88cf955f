"""Node ``safety_supervisor``: the gate between the commands and the actuators.

Inputs /cmd_vel/mux (the command mux's choice: the path follower or operator teleop) with
/cmd_vel/mux/source, /tool/command/auto, /operator/heartbeat, /operator/estop,
/localization/odometry, /tool/joint_states, /sim/events, /mission/state,
/safety/inspection_ack, /safety/people_zone (the people monitor: ``stop`` stops the vehicle
and the rotors, ``slow`` caps the speed; each zone change goes on /safety/events), /imu/data
(roll and pitch against the slope and rollover limits; a stale or frozen IMU stops),
/coverage/processed (processed ground: with declared safe ground, the parked position and the
tool's own sweep, where the tracks may go: a command whose predicted tracks leave it is a
protective stop); outputs
/cmd_vel and /tool/command (every control period),
/safety/state (latched, on change) and /safety/events (each transition with its reason, and
every reset, resume and inspection acknowledgement); services /safety/reset (clears a latch
once its cause is gone; the machine stays stopped) and /safety/resume (lets it move again).
Inputs are time-stamped on reception with the node's (sim) clock, so a remote station's clock
offset cannot make a heartbeat look fresh.
"""

from __future__ import annotations

import collections
import dataclasses
import math
from typing import Deque, Dict, List, Optional, Tuple

from demining_bringup.contract import topics, vehicle_params
from demining_bringup.contract.area import load_area
from demining_bringup.contract.component import Component, Port, Status
from demining_bringup.contract.datatypes import (STATUS_FIX, Detections, GnssFix, Grid,
                                                 Heartbeat, ImuSample, SafetyEvent, SimEvent,
                                                 ToolCommand, ToolState, Twist2D, VehicleState)
from demining_bringup.contract.geo import LocalCartesian
from demining_bringup.contract.parameters import param
from demining_bringup.contract.states import CmdSource, DiagLevel, MissionState, SafetyState
from demining_bringup.contract.datatypes import PeopleZone
from demining_bringup.contract.states import PEOPLE_ZONE_EVENT_PREFIX, ZoneState
from demining_control.safety.supervisor import (SafetyInputs, SafetyParams, SafetySupervisor,
                                                roll_pitch)

_DIAG_LEVEL = {SafetyState.OK: DiagLevel.OK, SafetyState.PROTECTIVE_STOP: DiagLevel.WARN,
               SafetyState.ESTOP: DiagLevel.ERROR}


@dataclasses.dataclass(frozen=True)
class SafetySupervisorConfig(SafetyParams):
    """Node parameters: the supervisor's plus the hazard area (geofence, interlock)."""

    area_file: str = vehicle_params.area_file()
    control_period_s: float = param(0.1, 'period of the gate (/cmd_vel, /tool/command), s',
                                    min=0.01, max=1.0, read_only=True)
    # The stack runs people_monitor: no fresh /safety/people_zone is a stop (vehicle, rotors).
    people_monitor_required: bool = param(True, 'a people zone older than '
                                          'people_zone_timeout_s (or none) counts as STOP')
    # The stack's simulator and vehicle publish both: no fresh IMU (tilt) or tool state stops.
    imu_required: bool = param(True, 'an IMU sample older than imu_timeout_s (or none) stops '
                               'the vehicle and the tool')
    tool_state_required: bool = param(True, 'a tool state older than tool_state_timeout_s '
                                      '(or none) stops the vehicle and the tool')
    pose_jump_check: bool = param(True, 'stop on a localisation jump (max_pose_jump_m)')
    # Speed over ground from GNSS positions for the slip check: 1 s holds 5 fixes at 5 Hz
    # (demining_sim/sensors/gnss.py); with RTK's 2 cm noise the speed is good to ~0.03 m/s.
    ground_speed_window_s: float = param(1.0, 'GNSS positions over this window give the speed '
                                         'over ground (slip check), s', min=0.2, max=10.0)
    stop_reason_hold_s: float = param(0.5, 'a stop whose reason changes goes on /safety/events '
                                      'once the new reason has held this long, s', min=0.0,
                                      max=10.0)
    allowed_ground_check: bool = param(True, 'refuse a motion (forward, reverse, pivot) whose '
                                       "tracks' predicted footprint leaves allowed ground "
                                       '(processed, declared safe, the parked position)')


class SafetySupervisorComponent(Component):
    """Judges the latest inputs every period and passes on commands or stops."""

    name = 'safety_supervisor'
    params = SafetySupervisorConfig
    inputs = {'cmd': Port(topics.CMD_VEL_MUX), 'tool_cmd': Port(topics.TOOL_COMMAND_AUTO),
              'heartbeat': Port(topics.OPERATOR_HEARTBEAT),
              'estop': Port(topics.OPERATOR_ESTOP), 'pose': Port(topics.LOCALIZATION),
              'tool_state': Port(topics.TOOL_JOINT_STATES), 'event': Port(topics.SIM_EVENTS),
              'mission': Port(topics.MISSION_STATE),
              'inspection_ack': Port(topics.SAFETY_INSPECTION_ACK),
              'detections': Port(topics.DETECTIONS)}
    inputs = {**inputs, 'people_zone': Port(topics.PEOPLE_ZONE), 'imu': Port(topics.IMU),
              'cmd_source': Port(topics.CMD_VEL_SOURCE),
              'processed': Port(topics.COVERAGE_PROCESSED), 'gnss': Port(topics.GNSS_FIX)}
    outputs = {'cmd_vel': Port(topics.CMD_VEL, actuator=True),
               'tool_command': Port(topics.TOOL_COMMAND, actuator=True),
               'state': Port(topics.SAFETY_STATE), 'events': Port(topics.SAFETY_EVENTS)}
    services = {'reset': topics.SAFETY_RESET, 'resume': topics.SAFETY_RESUME}

    def on_configure(self, params: SafetySupervisorConfig) -> None:
        """Load the area (geofence, interlock) and build the supervisor."""
        self.config = params
        area = load_area(params.area_file)
        self.supervisor = SafetySupervisor(area.field, params, safe_ground=area.safe_ground(),
                                           exclusion_zones=area.exclusion_zones)
        # GNSS fixes in the map's ENU (a speed needs no heading): (arrival, east, north)
        self._enu = LocalCartesian(area.origin.latitude_deg, area.origin.longitude_deg,
                                   area.origin.elevation_m)
        self._fixes: Deque[Tuple[float, float, float]] = collections.deque()
        self.latest = SafetyInputs()
        self._last_imu: Optional[ImuSample] = None
        self._published: Optional[SafetyState] = None
        self._published_reason = ''
        self._pending: Optional[Tuple[str, float]] = None
        self._last_event_reason: Optional[str] = ''

    def on_activate(self, now: float) -> None:
        """Publish the state it starts in (a protective stop, latched) and stop commands.

        The first judgement is the first timer tick, on either host: what happened before
        activation cannot change the recorded sequence of states.
        """
        self._published = None
        self.emit('cmd_vel', Twist2D())
        self.emit('tool_command', ToolCommand())
        self._publish_state(now)
        self._publish_notes(now)

    def timers(self) -> Dict[str, float]:
        """The gate."""
        return {'control': self.config.control_period_s}

    # -- inputs: stored with their arrival time, judged on the timer ---------------------------

    def on_cmd(self, cmd: Twist2D, now: float) -> None:
        """A motion command from the mux (non-finite values kept: the supervisor stops on them)."""
        self.latest.cmd, self.latest.cmd_stamp = cmd, now

    def on_cmd_source(self, source: CmdSource, now: float) -> None:
        """Which input the mux passes on (teleop may creep out of a machine-limit stop)."""
        self.latest.cmd_source = source.value

    def on_tool_cmd(self, cmd: ToolCommand, now: float) -> None:
        """An automatic tool command."""
        self.latest.tool_cmd, self.latest.tool_cmd_stamp = cmd, now

    def on_heartbeat(self, hb: Heartbeat, now: float) -> None:
        """The operator station is alive (its own stamp is not trusted)."""
        self.latest.heartbeat_stamp = now

    def on_estop(self, pressed: bool, now: float) -> None:
        """The operator's e-stop button; pressing it acts at once, not at the next tick."""
        self.latest.estop_pressed = pressed
        if pressed:
            self.control(now)

    def on_pose(self, pose: VehicleState, now: float) -> None:
        """The vehicle pose."""
        self.latest.pose, self.latest.pose_stamp = pose, now

    def on_imu(self, imu: ImuSample, now: float) -> None:
        """Roll and pitch for the slope limits; an output repeated bit for bit is frozen."""
        latest = self.latest
        same = (self._last_imu is not None
                and imu.orientation == self._last_imu.orientation
                and imu.angular_velocity == self._last_imu.angular_velocity
                and imu.linear_acceleration == self._last_imu.linear_acceleration)
        if not same:
            latest.imu_frozen_since = None
        elif latest.imu_frozen_since is None:
            latest.imu_frozen_since = latest.imu_stamp if latest.imu_stamp is not None else now
        self._last_imu = imu
        latest.roll, latest.pitch = roll_pitch(imu.orientation)
        latest.imu_stamp = now

    def on_tool_state(self, ts: ToolState, now: float) -> None:
        """The measured tool state."""
        self.latest.tool_state, self.latest.tool_state_stamp = ts, now

    def on_event(self, ev: SimEvent, now: float) -> None:
        """A blast or damage event latches the e-stop at once."""
        if self.supervisor.on_event(ev, now):
            self.log.error(f'e-stop latched: {ev.kind} {ev.item_id} {ev.detail}')
            self.control(now)

    def on_detections(self, dets: Detections, now: float) -> None:
        """Fused detections: a new AT mine or UXO is a no-go zone, judged at once."""
        added = self.supervisor.on_detections(dets.items)
        if added:
            self.log.warning(f'{added} new no-go zone(s) (AT mine or UXO): the footprint is '
                             'kept out')
            self.control(now)

    def on_gnss(self, fix: GnssFix, now: float) -> None:
        """A GNSS fix: the speed over ground for the slip check (tracks cannot measure it).

        A fix repeating the last position bit for bit (a frozen receiver) adds nothing, so a
        frozen GNSS goes stale instead of reporting a standing machine. After a gap longer
        than the window (a dropout) the window starts again: a distance over the whole gap
        is no speed (standing through it, then driving off, read as slip).
        """
        if fix.status < STATUS_FIX or not all(map(math.isfinite, (fix.latitude,
                                                                  fix.longitude))):
            return
        e, n, _ = self._enu.to_enu(fix.latitude, fix.longitude, 0.0)
        e, n = float(e), float(n)
        fixes = self._fixes
        if fixes and (e, n) == fixes[-1][1:]:
            return
        window = self.config.ground_speed_window_s
        if fixes and now - fixes[-1][0] > window:
            fixes.clear()
        fixes.append((now, e, n))
        while len(fixes) > 2 and now - fixes[1][0] >= window:
            fixes.popleft()
        t0, e0, n0 = fixes[0]
        if now - t0 >= 0.5 * window:
            self.latest.ground_speed = math.hypot(e - e0, n - n0) / (now - t0)
            self.latest.ground_speed_stamp = now

    def on_processed(self, grid: Grid, now: float) -> None:
        """The mission's processed ground: the tracks may go there (allowed ground)."""
        self.supervisor.on_processed(grid.values, grid.origin_x, grid.origin_y,
                                     grid.resolution)

    def on_people_zone(self, zone: PeopleZone, now: float) -> None:
        """The people monitor's zone; a change goes on /safety/events (the report) at once."""
        before = self.latest.people_zone
        self.latest.people_zone, self.latest.people_zone_stamp = zone, now
        if before is None or before.zone != zone.zone:
            nearest = (f' (nearest {zone.nearest_m:.1f} m)' if math.isfinite(zone.nearest_m)
                       else '')
            reason = zone.reason if zone.reason.startswith(PEOPLE_ZONE_EVENT_PREFIX) else \
                f'{PEOPLE_ZONE_EVENT_PREFIX} {zone.zone}: {zone.reason}'
            self.emit('events', SafetyEvent(now, self.supervisor.state, reason + nearest))
            if zone.zone == ZoneState.STOP.value:
                self.control(now)

    def on_mission(self, state: MissionState, now: float) -> None:
        """Whether the mission is clearing (the interlock applies then)."""
        self.latest.mission_clearing = state is MissionState.CLEARING

    def on_inspection_ack(self, text: str, now: float) -> None:
        """An inspector's acknowledgement after a detonation or damage event (recorded)."""
        ok, msg = self.supervisor.acknowledge_inspection(text, now)
        self._operator_action(ok, msg, now, judge=False)

    def srv_reset(self, now: float) -> Tuple[bool, str]:
        """/safety/reset: clear a latch whose cause is gone; the machine stays stopped."""
        ok, text = self.supervisor.reset(self.latest, now)
        self._operator_action(ok, text, now)
        return ok, text

    def srv_resume(self, now: float) -> Tuple[bool, str]:
        """/safety/resume: let the machine move again after a reset."""
        ok, text = self.supervisor.resume(self.latest, now)
        self._operator_action(ok, text, now)
        return ok, text

    def _operator_action(self, ok: bool, text: str, now: float, judge: bool = True) -> None:
        """Log an operator action and put it on /safety/events (once, with the state)."""
        (self.log.info if ok else self.log.warning)(text)
        self._last_event_reason = None
        if judge:
            self.control(now)
        else:
            self._publish_state(now)
        if self._last_event_reason != text:       # not already said by a state event
            self._event(now, self.supervisor.state, text)

    # -- output ---------------------------------------------------------------------------

    def control(self, now: float) -> bool:
        """Judge the inputs; pass on or stop the commands; publish a state change (True)."""
        _, cmd, tool = self.supervisor.update(self.latest, now)
        self.emit('cmd_vel', Twist2D(float(cmd.v), float(cmd.omega)))
        self.emit('tool_command', ToolCommand(float(tool.flail_speed), float(tool.tiller_speed),
                                              float(tool.depth)))
        published = self._publish_state(now)
        self._publish_notes(now)
        return published

    def _publish_notes(self, now: float) -> None:
        """Safety events that change no state (allowed ground recorded, not enforced)."""
        notes = self.supervisor.notes
        while notes:
            text = notes.pop(0)
            self.log.warning(text)
            self._event(now, self.supervisor.state, text)

    def _event(self, now: float, state: SafetyState, reason: str) -> None:
        self._last_event_reason = reason
        self.emit('events', SafetyEvent(now, state, reason))

    def _publish_state(self, now: float) -> bool:
        """Publish a state change; a stop whose reason changes goes on /safety/events too."""
        state = self.supervisor.state
        reason = self.supervisor.reason
        if state is self._published:
            if state is SafetyState.OK or reason == self._published_reason:
                self._pending = None
                return False
            # the same stop for another reason (e.g. waiting for inputs -> allowed ground):
            # the record must say why the machine stands now, once the reason has held (the
            # inputs arriving one by one at the start are no event each)
            if self._pending is None or self._pending[0] != reason:
                self._pending = (reason, now)
            if now - self._pending[1] < self.config.stop_reason_hold_s:
                return False
            self._pending = None
            self._published_reason = reason
            self._event(now, state, reason)
            self.log.warning(f'safety state {state.value}: {reason}')
            return True
        self._published = state
        self._published_reason = reason
        self.emit('state', state)
        self._event(now, state, reason)
        text = f'safety state {state.value}: {reason}'
        if state is SafetyState.OK:
            self.log.info(text)
        else:
            self.log.warning(text)
        return True

    def diagnostics(self, now: float) -> Status:
        """State, reason, interlock, whether a resume (and an inspection) is awaited."""
        s = self.supervisor
        return _DIAG_LEVEL[s.state], s.reason, {
            'state': s.state.value, 'reason': s.reason,
            'interlock_active': s.interlock_active, 'transitions': len(s.transitions),
            'awaiting_resume': s.awaiting_resume,
            'inspection_due': s.inspection_due or '', 'limit_latch': s.limit_latch or '',
            'tool_stalls': s.stall_count,
            'allowed_ground_recorded': s.allowed_recorded,
            'allowed_ground_refused_at': ('' if s.allowed is None or s.allowed.refused_at is None
                                          else '(%.1f, %.1f)' % s.allowed.refused_at)}


def main(args: Optional[List[str]] = None) -> int:
    """Run the node (console script ``safety_supervisor_node``)."""
    from demining_bringup.hosts.ros import run_component
    return run_component(SafetySupervisorComponent, args)


if __name__ == '__main__':
    raise SystemExit(main())
