"""Node ``tool_controller``: drives flail and tiller while the mission is clearing.

Inputs /tool/joint_states (rotor speeds and torques, the ride-height sensor's depth below the
local ground), /mission/state, /follower/leg (tool down on work legs only) and
/localization/odometry (forward speed for the load law); outputs every control period
/tool/command/auto, /tool/speed_limit (the governed forward speed: required depth and strike
density for the measured soil) and, while the tool is going down or working,
/tool/depth_error (measured minus required depth, m). Stalls, recoveries and lost feedback are
logged and published on /tool/events, which the mission record keeps (the supervisor escalates
repeated stalls: its ``max_tool_stalls``).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Dict, List, Optional

from demining_bringup.contract import topics
from demining_bringup.contract.component import Component, Port, Status
from demining_bringup.contract.datatypes import ToolCommand, ToolState, VehicleState
from demining_bringup.contract.parameters import param
from demining_bringup.contract.states import (DiagLevel, LegKind, MissionState, ToolEventKind,
                                              ToolPhase)
from demining_control.tools.controller import ToolController, ToolParams


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


class ToolControllerComponent(Component):
    """The tool controller, fed the fresh tool state, the leg and whether the mission clears."""

    name = 'tool_controller'
    params = ToolControllerConfig
    inputs = {'tool_state': Port(topics.TOOL_JOINT_STATES),
              'mission': Port(topics.MISSION_STATE),
              'leg': Port(topics.FOLLOWER_LEG),
              'pose': Port(topics.LOCALIZATION)}
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
        self.pose_time: Optional[float] = None

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
        """Keep the forward speed."""
        if math.isfinite(pose.v):
            self.speed, self.pose_time = float(pose.v), now

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
        self.emit('speed_limit', float(c.speed_limit_mps))
        if math.isfinite(c.depth_error_m):
            self.emit('depth_error', float(c.depth_error_m))

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
            'stall_recoveries': c.recoveries, 'mission_state': self.mission.value}


def main(args: Optional[List[str]] = None) -> int:
    """Run the node (console script ``tool_controller_node``)."""
    from demining_bringup.hosts.ros import run_component
    return run_component(ToolControllerComponent, args)


if __name__ == '__main__':
    raise SystemExit(main())
