"""Node ``mission_manager``: mission state machine, progress, processed ground and report.

Inputs /coverage/path, /localization/odometry, /tool/joint_states, /follower/status,
/safety/events, /detections, /sim/events; outputs /mission/state (latched, on change),
/mission/progress and /coverage/processed (every update period), /mission/report (latched,
once: the run folder); services /mission/start and /mission/abort. The report is written once,
when the mission reaches a terminal state, by this component in every host; a mission still
running when the component shuts down is aborted first, so it too gets its report.

The reason /mission/abort records is :attr:`MissionManagerComponent.abort_reason` ('aborted by
operator' unless a runner hosting this component in its own process set another one, e.g.
'timed out after 20 s wall', just before calling the service: docs/report.md).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Dict, List, Optional, Tuple

import numpy as np

from demining_bringup.contract import topics, vehicle_params
from demining_bringup.contract.area import HazardArea, load_area
from demining_bringup.contract.component import Component, Port, Status
from demining_bringup.contract.datatypes import (Detections, Grid, PlanStatus, SafetyEvent,
                                                 SimEvent, ToolState, VehicleState)
from demining_bringup.contract.parameters import param
from demining_bringup.contract.states import DiagLevel, FollowerStatus, MissionState
from demining_bringup.report import MissionRecord, new_run_dir, write_report
from demining_control.mission.manager import MissionManager, MissionParams

#: Parent folder of run folders when report_dir is '' (a new runs/<UTC time>[-N] each run).
RUNS_DIR = 'runs'
#: The reason /mission/abort records unless a runner set another one.
OPERATOR_ABORT = 'aborted by operator'
#: The reason when the component shuts down while the mission is still running.
SHUTDOWN_ABORT = 'stack shut down before the mission ended'


@dataclasses.dataclass(frozen=True)
class MissionManagerConfig(MissionParams):
    """Node parameters: the mission's plus the hazard area."""

    area_file: str = vehicle_params.area_file()
    update_period_s: float = param(1.0, 'period of the state machine, /mission/progress and '
                                   '/coverage/processed, s', min=0.05, max=10.0, read_only=True)


class MissionManagerComponent(Component):
    """The mission state machine and its record; writes the report on a terminal state."""

    name = 'mission_manager'
    params = MissionManagerConfig
    inputs = {'path': Port(topics.COVERAGE_PATH), 'pose': Port(topics.LOCALIZATION),
              'tool_state': Port(topics.TOOL_JOINT_STATES),
              'follower': Port(topics.FOLLOWER_STATUS),
              # The transitions with their reasons (the report's safety_events).
              'safety': Port(topics.SAFETY_EVENTS),
              'detections': Port(topics.DETECTIONS), 'event': Port(topics.SIM_EVENTS),
              'plan_status': Port(topics.COVERAGE_STATUS)}
    outputs = {'state': Port(topics.MISSION_STATE), 'progress': Port(topics.MISSION_PROGRESS),
               'processed': Port(topics.COVERAGE_PROCESSED),
               'report': Port(topics.MISSION_REPORT)}
    services = {'start': topics.MISSION_START, 'abort': topics.MISSION_ABORT}

    def on_configure(self, params: MissionManagerConfig) -> None:
        """Load the area and create an idle mission."""
        self.config = params
        self.area: HazardArea = load_area(params.area_file)
        self.mission = MissionManager(self.area.field, self.area.exclusion_zones, params)
        self._published: Optional[MissionState] = None
        self._report_written = False
        self.report_path = ''
        #: What the next /mission/abort records (then back to 'aborted by operator').
        self.abort_reason = OPERATOR_ABORT

    def on_activate(self, now: float) -> None:
        """Publish the state (latched) and let the state machine move."""
        self._published = None
        self.mission.update(now)
        self._after_change()

    def timers(self) -> Dict[str, float]:
        """The state machine's update."""
        return {'update': self.config.update_period_s}

    # -- inputs ----------------------------------------------------------------------------

    def on_path(self, xy: np.ndarray, now: float) -> None:
        """The coverage path: planning -> clearing."""
        self.mission.on_path(xy, now)
        self._after_change()

    def on_plan_status(self, status: PlanStatus, now: float) -> None:
        """The coverage planner's verdict: a refused plan ends the mission with its reason."""
        self.mission.on_plan_status(status, now)
        self._after_change()

    def on_pose(self, pose: VehicleState, now: float) -> None:
        """Mark processed ground (one time base with the tool state: reception time)."""
        self.mission.on_pose(dataclasses.replace(pose, stamp=now))

    def on_tool_state(self, ts: ToolState, now: float) -> None:
        """The measured tool state."""
        self.mission.on_tool_state(ts, now)

    def on_follower(self, status: FollowerStatus, now: float) -> None:
        """The follower's status (done -> complete)."""
        self.mission.on_follower_status(status, now)
        self._after_change()

    def on_safety(self, ev: SafetyEvent, now: float) -> None:
        """A safety transition with its reason."""
        self.mission.on_safety_state(ev.state, ev.stamp, ev.reason)
        self._after_change()

    def on_detections(self, dets: Detections, now: float) -> None:
        """The fused detection list."""
        self.mission.on_detections(dets.items)

    def on_event(self, ev: SimEvent, now: float) -> None:
        """A simulator event for the record."""
        self.mission.on_event(ev)

    def srv_start(self, now: float) -> Tuple[bool, str]:
        """/mission/start."""
        result = self.mission.request_start(now)
        self._after_change()
        return result

    def srv_abort(self, now: float) -> Tuple[bool, str]:
        """/mission/abort (also what a runner calls to stop: failure, timeout, signal)."""
        reason, self.abort_reason = self.abort_reason or OPERATOR_ABORT, OPERATOR_ABORT
        return self.abort(reason, now)

    def abort(self, reason: str, now: float) -> Tuple[bool, str]:
        """Abort the mission with ``reason``; the report is written at once."""
        result = self.mission.abort(reason, now)
        self._after_change()
        return result

    def on_shutdown(self, now: float) -> None:
        """A mission still running when the stack goes away is aborted and reported."""
        if getattr(self, 'mission', None) is None:
            return
        if self.mission.state is not MissionState.IDLE and not self.mission.state.terminal:
            self.abort(SHUTDOWN_ABORT, now)

    # -- outputs ---------------------------------------------------------------------------

    def update(self, now: float) -> None:
        """Advance the state machine; publish progress and the processed-ground grid."""
        self.mission.update(now)
        self._after_change()
        g = self.mission.grid
        self.emit('progress', float(self.mission.coverage_percent()))
        self.emit('processed', Grid(now, g.occupancy_values(), g.origin_x, g.origin_y,
                                    g.resolution))

    def _after_change(self) -> None:
        state = self.mission.state
        if state is self._published:
            return
        self._published = state
        self.emit('state', state)
        self.log.info(f'mission {state.value}: {self.mission.reason}')
        if state.terminal and not self._report_written:
            self._report_written = True
            self._write_report()

    def _write_report(self) -> None:
        """Build the MissionRecord and write the report; never raises (logs instead)."""
        run_dir = self.config.report_dir or RUNS_DIR
        try:
            if not self.config.report_dir:
                run_dir = new_run_dir(RUNS_DIR)
            record = MissionRecord(world_name=self.area.name, origin=self.area.origin,
                                   vehicle_profile=self.config.vehicle_profile,
                                   simulated=self.config.simulated,
                                   **self.mission.record_kwargs())
            os.makedirs(run_dir, exist_ok=True)
            write_report(record, run_dir)
        except Exception as exc:  # noqa: BLE001 - the report must never take the node down
            self.log.error(f'could not write the mission report to {run_dir}: '
                           f'{type(exc).__name__}: {exc}')
            return
        self.report_path = os.path.abspath(run_dir)
        self.emit('report', self.report_path)
        self.log.info(f'mission report written to {self.report_path}')

    def diagnostics(self, now: float) -> Status:
        """State, reason, coverage."""
        m = self.mission
        g = m.grid
        level = DiagLevel.ERROR if m.state is MissionState.ABORTED else DiagLevel.OK
        return level, m.reason, {
            'state': m.state.value, 'reason': m.reason,
            'coverage_percent': f'{m.coverage_percent():.2f}',
            'processed_m2': f'{g.processed_area_m2():.1f}', 'field_m2': f'{m.area_field_m2:.1f}',
            'follower': m.follower_status.value, 'report': self.report_path}


def main(args: Optional[List[str]] = None) -> int:
    """Run the node (console script ``mission_manager_node``)."""
    from demining_bringup.hosts.ros import run_component
    return run_component(MissionManagerComponent, args)


if __name__ == '__main__':
    raise SystemExit(main())
