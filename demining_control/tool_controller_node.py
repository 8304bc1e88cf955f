"""Node ``tool_controller``: drives flail and tiller while the mission is clearing.

Inputs /tool/joint_states (rotor speeds and torques, the ride-height sensor's depth below the
local ground), /mission/state, /follower/leg (tool down on work legs only) and
/localization/odometry (forward speed for the load law); outputs every control period
/tool/command/auto, /tool/speed_limit (the governed forward speed: required depth and strike
density for the measured soil) and, while the tool is going down or working,
/tool/depth_error (measured minus required depth, m). Stalls, recoveries and lost feedback are
logged and published on /tool/events, which the mission record keeps (the supervisor escalates
repeated stalls: its ``max_tool_stalls``). From /detections it takes the suspects (AP and
unknown tracks): on a work leg with one in the tool's strip just ahead of or under the tool,
the speed limit is ``suspect_speed_factor`` of the governed one, so the flail strikes that
ground more often and deeper (:mod:`demining_control.tools.suspects`).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Dict, List, Optional, Tuple

from demining_bringup.contract import topics, vehicle_params
from demining_bringup.contract.component import Component, Port, Status
from demining_bringup.contract.datatypes import (TRACK_HAZARD_KINDS, Detections, ToolCommand,
                                                 ToolState, VehicleState)
from demining_bringup.contract.parameters import param
from demining_bringup.contract.states import (DiagLevel, LegKind, MissionState, ToolEventKind,
                                              ToolPhase)
from demining_control.tools.controller import ToolController, ToolParams
from demining_control.tools.suspects import suspect_at_tool


@dataclasses.dataclass(frozen=True)
class ToolControllerConfig(ToolParams):
    """Node parameters: the controller's plus its loop timing."""

    control_period_s: float = param(0.1, 'period of the control loop (/tool/command/auto), s',
                                    min=0.01, max=1.0, read_only=True)
    tool_state_timeout_s: float = param(0.5, 'a tool state older than this is not trusted '
                                        '(the controller then lifts), s', min=0.05, max=10.0)
    pose_timeout_s: float = param(0.5, 'an odometry older than this gives no forward speed '
                                  '(the load law then assumes standstill), s', min=0.05,
                                  max=10.0)
    tool_offset_x_m: float = vehicle_params.tool_offset_x_m()
    # the slower pass never commands less than the supervisor judges slip at (a machine
    # slipping in mud over a suspect, slowed below it, went unstopped: config/faults/
    # track_slip.yaml)
    motion_check_min_speed_mps: float = vehicle_params.motion_check_min_speed_mps()
    # Halving the speed doubles the strikes per m^2 and, by the shared depth law, the depth
    # they loosen: P(miss) = exp(-n / n_e) is squared (demining_control/tools/suspects.py)
    suspect_speed_factor: float = param(
        0.5, 'on a work leg with a detected AP or unknown suspect in the tool\'s strip (from '
        'suspect_slow_ahead_m ahead of the tool\'s line to suspect_slow_behind_m behind it), '
        'the speed limit is this share of the governed one: more and deeper strikes on it; '
        '1: not slowed', min=0.1, max=1.0)
    suspect_slow_ahead_m: float = param(
        1.5, 'slowing for a suspect begins with it this far ahead of the tool\'s line (the '
        'follower decelerates in well under a second), m', min=0.0, max=20.0)
    suspect_slow_behind_m: float = param(
        0.5, 'slowing for a suspect ends with it this far behind the tool\'s line (the '
        'hammers\' reach behind the rotor), m', min=0.0, max=5.0)


class ToolControllerComponent(Component):
    """The tool controller, fed the fresh tool state, the leg and whether the mission clears."""

    name = 'tool_controller'
    params = ToolControllerConfig
    inputs = {'tool_state': Port(topics.TOOL_JOINT_STATES),
              'mission': Port(topics.MISSION_STATE),
              'leg': Port(topics.FOLLOWER_LEG),
              'pose': Port(topics.LOCALIZATION),
              'detections': Port(topics.DETECTIONS)}
    outputs = {'command': Port(topics.TOOL_COMMAND_AUTO, actuator=True),
               'speed_limit': Port(topics.TOOL_SPEED_LIMIT),
               'depth_error': Port(topics.TOOL_DEPTH_ERROR),
               'events': Port(topics.TOOL_EVENTS)}

    def on_configure(self, params: ToolControllerConfig) -> None:
        """Build the controller."""
        self.config = params
        self.controller = ToolController(params)
        self.mission = MissionState.IDLE
        self.leg = LegKind.NONE
        self.tool_state: Optional[ToolState] = None
        self.tool_time: Optional[float] = None
        self.speed = 0.0
        self.pose: Optional[VehicleState] = None
        self.pose_time: Optional[float] = None
        #: the suspects' positions (AP and unknown tracks), and the one slowed for now
        self.suspects: List[Tuple[float, float]] = []
        self.slowed_for: Optional[Tuple[float, float]] = None
        self.slowdowns = 0

    def timers(self) -> Dict[str, float]:
        """The control loop."""
        return {'control': self.config.control_period_s}

    def on_tool_state(self, ts: ToolState, now: float) -> None:
        """Keep the latest measured tool state and when it arrived."""
        self.tool_state, self.tool_time = ts, now

    def on_mission(self, state: MissionState, now: float) -> None:
        """Keep the mission state (the tool works only while clearing)."""
        self.mission = state

    def on_leg(self, leg: LegKind, now: float) -> None:
        """Keep how the follower drives (tool down on work legs)."""
        self.leg = LegKind(leg)

    def on_pose(self, pose: VehicleState, now: float) -> None:
        """Keep the pose and the forward speed."""
        if math.isfinite(pose.v):
            self.speed, self.pose, self.pose_time = float(pose.v), pose, now

    def on_detections(self, dets: Detections, now: float) -> None:
        """Keep the suspects the tool is slowed for."""
        self.suspects = [(d.x, d.y) for d in dets.items if d.kind in TRACK_HAZARD_KINDS]

    def control(self, now: float) -> None:
        """One control step."""
        ts = self.tool_state
        if self.tool_time is None or now - self.tool_time > self.config.tool_state_timeout_s:
            ts = None
        v = self.speed if self.pose_time is not None and \
            now - self.pose_time <= self.config.pose_timeout_s else 0.0
        c = self.controller
        cmd = c.update(ts, self.mission is MissionState.CLEARING, self.config.control_period_s,
                       self.leg, abs(v), now)
        for ev in c.take_events():
            if ev.kind in (ToolEventKind.STALL, ToolEventKind.FEEDBACK_LOST):
                self.log.warning(f'tool {ev.kind}: {ev.detail}')
            else:
                self.log.info(f'tool {ev.kind}: {ev.detail}')
            self.emit('events', ev)
        self.emit('command', ToolCommand(float(cmd.flail_speed), float(cmd.tiller_speed),
                                         float(cmd.depth)))
        self.emit('speed_limit', float(self._limit(c.speed_limit_mps, now)))
        if math.isfinite(c.depth_error_m):
            self.emit('depth_error', float(c.depth_error_m))

    def _limit(self, governed: float, now: float) -> float:
        """The speed limit: ``governed``, or over a suspect at the tool
        ``suspect_speed_factor`` of it but not below ``motion_check_min_speed_mps`` (nor above
        ``governed``)."""
        factor = self._suspect_factor(now)
        if factor >= 1.0:
            return governed
        return min(governed, max(factor * governed, self.config.motion_check_min_speed_mps))

    def _suspect_factor(self, now: float) -> float:
        """``suspect_speed_factor`` on a work leg with a suspect at the tool (a fresh pose),
        else 1; the start of each slow-down is logged."""
        c = self.config
        at = None
        if self.leg is LegKind.WORK and self.pose is not None and c.suspect_speed_factor < 1.0 \
                and now - self.pose_time <= c.pose_timeout_s:
            p = self.pose
            at = suspect_at_tool(p.x, p.y, p.yaw, self.suspects,
                                 tool_offset_x_m=c.tool_offset_x_m,
                                 half_width_m=0.5 * c.tool_width_m,
                                 ahead_m=c.suspect_slow_ahead_m,
                                 behind_m=c.suspect_slow_behind_m)
        if at is not None and self.slowed_for is None:
            self.slowdowns += 1
            self.log.info(f'slowing to {c.suspect_speed_factor:g} of the governed speed over '
                          f'the detected suspect at ({at[0]:.1f}, {at[1]:.1f})')
        self.slowed_for = at
        return c.suspect_speed_factor if at is not None else 1.0

    def diagnostics(self, now: float) -> Status:
        """Phase, readiness, speed limit and what sets it, soil, stalls."""
        c = self.controller
        level = DiagLevel.WARN if c.phase in (ToolPhase.STALL_RECOVERY,
                                              ToolPhase.FEEDBACK_LOST) else DiagLevel.OK
        return level, c.phase.value, {
            'phase': c.phase.value, 'ready': c.ready, 'leg': self.leg.value,
            'speed_limit_mps': f'{c.speed_limit_mps:.3f}',
            'speed_limit_by': c.governor.binding,
            'soil_hardness': f'{c.governor.hardness:.2f}',
            'depth_error_m': f'{c.depth_error_m:.3f}', 'stalls': c.stall_count,
            'stall_recoveries': c.recoveries, 'mission_state': self.mission.value,
            'suspect_slowdowns': self.slowdowns}


def main(args: Optional[List[str]] = None) -> int:
    """Run the node (console script ``tool_controller_node``)."""
    from demining_bringup.hosts.ros import run_component
    return run_component(ToolControllerComponent, args)


if __name__ == '__main__':
    raise SystemExit(main())
