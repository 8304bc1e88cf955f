"""Node ``mission_manager``: mission state machine, progress, processed ground and report.

Inputs /coverage/path, /localization/odometry, /tool/joint_states, /follower/status,
/safety/events, /detections, /mine_map, /sim/events, /gpr/soil_permittivity; outputs
/mission/state (latched, on change), /mission/progress and /coverage/processed (every update
period), /mission/report (latched, once: the run folder); services /mission/start and
/mission/abort. The report is written once, when the mission reaches a terminal state, by
this component in every host; a mission still running when the component shuts down is
aborted first, so it too gets its report.

The component owns the mission journal (``journal.sqlite`` in the run folder,
:mod:`demining_bringup.contract.journal`), opened at activation: transitions, safety events and
events as they happen, and every ``journal_commit_period_s`` the tracks, trajectory, tool state,
processed ground and progress, committed in one transaction (a kill loses at most that
period); every ``journal_map_period_s`` the changed tiles of the fusion's mine map (a resumed
fusion starts from it). The report is built from the journal
(:func:`demining_bringup.record.rebuild_report`), so a report rebuilt later by ``demine
report`` is the same. With ``resume_dir`` the mission a
journal records is continued (:meth:`MissionManager.restore`) and the journal grows a segment.

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
from demining_bringup.contract.errors import ConfigError
from demining_bringup.contract.journal import (MAP_PERIOD_S, GridGeometry, JournalContent,
                                               JournalWriter, file_sha256, journal_path,
                                               read_journal)
from demining_bringup.contract.datatypes import (Detections, Grid, PlanStatus, SafetyEvent,
                                                 SimEvent, SoilPermittivity, ToolEvent,
                                                 ToolState, VehicleState)
from demining_bringup.contract.parameters import param
from demining_bringup.contract.states import DiagLevel, FollowerStatus, MissionState
from demining_bringup.record import (SOIL_PERMITTIVITY_KEY, rebuild_report,
                                     soil_permittivity_record)
from demining_bringup.report import new_run_dir
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
    resume_dir: str = vehicle_params.resume_dir()
    journal_commit_period_s: float = param(1.0, 'the journal commits at this period: the most '
                                           'a kill can lose, s', min=0.05, max=1.0,
                                           read_only=True)
    # journaled with the parameters: the report's no-go zones are the planner's and supervisor's,
    # and the ground round them the tool keeps clear of is the planner's
    no_go_margin_m: float = vehicle_params.no_go_margin_m()
    exclusion_clearance_m: float = vehicle_params.exclusion_clearance_m()
    journal_map_period_s: float = param(MAP_PERIOD_S, 'the mine map\'s changed tiles go to '
                                        'the journal at this period, s', min=1.0, max=60.0,
                                        read_only=True)
    task_id: str = param('', 'mine-action task id for the completion report (IMAS 08.30)')
    hazard_id: str = param('', 'hazard (SHA/CHA) id for the completion report (IMAS 08.30)')
    organisation: str = param('', 'operating organisation for the completion report')


class MissionManagerComponent(Component):
    """The mission state machine and its record; writes the report on a terminal state."""

    name = 'mission_manager'
    params = MissionManagerConfig
    inputs = {'path': Port(topics.COVERAGE_PATH), 'pose': Port(topics.LOCALIZATION),
              'tool_state': Port(topics.TOOL_JOINT_STATES),
              'follower': Port(topics.FOLLOWER_STATUS),
              # The transitions with their reasons (the report's safety_events).
              'safety': Port(topics.SAFETY_EVENTS),
              # stalls, recoveries, lost tool feedback: in the record beside the safety events
              'tool_event': Port(topics.TOOL_EVENTS),
              'detections': Port(topics.DETECTIONS), 'event': Port(topics.SIM_EVENTS),
              # the fusion's evidence, journaled so that a resumed fusion starts from it
              'mine_map': Port(topics.MINE_MAP),
              'plan_status': Port(topics.COVERAGE_STATUS),
              # the soil permittivity every GPR depth was read with, for the report
              'permittivity': Port(topics.GPR_PERMITTIVITY)}
    outputs = {'state': Port(topics.MISSION_STATE), 'progress': Port(topics.MISSION_PROGRESS),
               'processed': Port(topics.COVERAGE_PROCESSED),
               'report': Port(topics.MISSION_REPORT)}
    services = {'start': topics.MISSION_START, 'abort': topics.MISSION_ABORT}

    def on_configure(self, params: MissionManagerConfig) -> None:
        """Load the area and create an idle mission."""
        self.config = params
        self.area: HazardArea = load_area(params.area_file)
        self.mission = MissionManager(self.area.field, self.area.exclusion_zones, params)
        self.journal: Optional[JournalWriter] = None
        self._resume: Optional[JournalContent] = None
        if params.resume_dir:
            self._resume = read_journal(journal_path(params.resume_dir))
            world = file_sha256(params.area_file)
            if self._resume.meta.get('world_sha256') not in ('', world):
                raise ConfigError(f'{params.area_file}: not the world of the journal in '
                                  f'{params.resume_dir} (its SHA-256 differs)')
            try:
                self.mission.restore(self._resume, self._resume.last_stamp)
            except ValueError as exc:
                raise ConfigError(f'{params.resume_dir}: {exc}') from None
        m = self.mission
        self._field_m2 = m.grid.field_area_m2()
        #: What the journal already holds of the mission's lists (restored from it).
        self._restored = (len(m.transitions), len(m.safety_events), len(m.events))
        #: The GPR's soil permittivity as last published (journal form), None before any.
        self._permittivity: Optional[Dict[str, object]] = None
        self.run_dir = params.resume_dir or params.report_dir
        if params.report_dir:
            # A run folder given (demine run): the journal opens now, so nothing the mission
            # does between configuration and activation escapes it. Without one (launch
            # default, validation) it opens at activation.
            self._open_journal(None)
        #: The last time a lifecycle transition saw (cleanup is not given one).
        self._last_now = 0.0
        self._published: Optional[MissionState] = None
        self._report_written = False
        self._stall_logged = False
        self.report_path = ''
        #: What the next /mission/abort records (then back to 'aborted by operator').
        self.abort_reason = OPERATOR_ABORT

    def on_activate(self, now: float) -> None:
        """Open the journal (the first time), publish the state, let the state machine move."""
        if self.journal is None:
            self._open_journal(now)
        self._published = None
        self.mission.update(now)
        self._after_change(now)

    def _open_journal(self, now: Optional[float]) -> None:
        """Open the run folder's journal: a new one, or the next segment of a resumed one.

        :raises JournalError: when the folder's journal belongs to another area or is corrupt.
        """
        c = self.config
        if not self.run_dir:
            self.run_dir = new_run_dir(RUNS_DIR)
        os.makedirs(self.run_dir, exist_ok=True)
        g = self.mission.grid
        geometry = GridGeometry(g.origin_x, g.origin_y, g.resolution, g.width, g.height)
        meta = {'world_name': self.area.name, 'area_file': os.path.abspath(c.area_file),
                'world_sha256': file_sha256(c.area_file),
                'area': {'field': self.area.field, 'exclusion_zones': self.area.exclusion_zones,
                         'origin': dataclasses.asdict(self.area.origin)},
                'parameters': dataclasses.asdict(c), 'vehicle_profile': c.vehicle_profile,
                'simulated': c.simulated,
                # the parameters (CLI flags, launch arguments) override the area file's ids
                'task_id': c.task_id or self.area.task_id,
                'hazard_id': c.hazard_id or self.area.hazard_id,
                'organisation': c.organisation or self.area.organisation}
        # every pose reaches the journal (on_pose), so it compares only the ground within the
        # tool's reach of them
        self.journal = JournalWriter(journal_path(self.run_dir), meta, geometry,
                                     c.journal_commit_period_s, c.trajectory_spacing_m,
                                     reach_m=c.tool_offset_x_m + 0.5 * c.tool_width_m,
                                     map_period_s=c.journal_map_period_s)
        m = self.mission
        # what the mission did before the journal opened (inputs arrive once configured)
        n_tr, n_safety, n_ev = self._restored
        for t in m.transitions[n_tr:]:
            self.journal.transition(t['stamp'], t['state'], t['reason'])
        for e in m.safety_events[n_safety:]:
            self.journal.safety(e['stamp'], e['state'], e['reason'])
        for ev in m.events[n_ev:]:
            self.journal.event(ev)
        m.journal = self.journal
        if self._permittivity is not None:
            # published (latched) before the journal opened (activation, without a run folder)
            self.journal.note(SOIL_PERMITTIVITY_KEY, self._permittivity)
        if now is not None:
            self.journal.commit(now)
        self.log.info(f'mission journal {journal_path(self.run_dir)} (segment '
                      f'{self.journal.segment}, mission time from '
                      f'{self.journal.offset_s:.1f} s)')

    def on_deactivate(self, now: float) -> None:
        """Commit what the journal gathered."""
        self._last_now = now
        self._commit(now)

    def on_cleanup(self) -> None:
        """A running mission is aborted and reported (cleanup drops it); close the journal."""
        self._end_running_mission(self._last_now)
        self._close_journal(None)

    def timers(self) -> Dict[str, float]:
        """The state machine's update and the journal's commit."""
        return {'update': self.config.update_period_s,
                'journal_commit': self.config.journal_commit_period_s}

    def journal_commit(self, now: float) -> None:
        """Hand the journal the period's samples and commit them (one transaction)."""
        self._last_now = now
        j = self.journal
        if j is None:
            return
        m = self.mission
        g = m.grid
        j.tracks(now, m.detections)
        area = g.processed_area_m2()
        j.progress(now, g.processed, 100.0 * area / self._field_m2 if self._field_m2 else 0.0,
                   area)
        self._commit(now)

    def _commit(self, now: float) -> None:
        """Commit; a failing journal is logged, never takes the node down."""
        if self.journal is None:
            return
        try:
            self.journal.commit(now)
        except Exception as exc:  # noqa: BLE001 - a full disk must not stop the machine's record
            self.log.error(f'mission journal: commit failed: {type(exc).__name__}: {exc}',
                           throttle_s=10.0)

    def _close_journal(self, now: Optional[float]) -> None:
        if self.journal is not None:
            try:
                self.journal.close(now)
            except Exception as exc:  # noqa: BLE001 - closing must not fail the shutdown
                self.log.error(f'mission journal: close failed: {type(exc).__name__}: {exc}')
            self.journal = None

    # -- inputs ----------------------------------------------------------------------------

    def on_path(self, xy: np.ndarray, now: float) -> None:
        """The coverage path: planning -> clearing."""
        self.mission.on_path(xy, now)
        if self.journal is not None:
            self.journal.path(now, xy)
        self._after_change(now)

    def on_plan_status(self, status: PlanStatus, now: float) -> None:
        """The coverage planner's verdict: a refused plan ends the mission with its reason."""
        self.mission.on_plan_status(status, now)
        self._after_change(now)

    def on_pose(self, pose: VehicleState, now: float) -> None:
        """Mark processed ground (one time base with the tool state: reception time)."""
        self.mission.on_pose(dataclasses.replace(pose, stamp=now))
        if self.journal is not None:
            self.journal.pose(now, pose.x, pose.y, pose.yaw)

    def on_tool_state(self, ts: ToolState, now: float) -> None:
        """The measured tool state."""
        self.mission.on_tool_state(ts, now)
        if self.journal is not None:
            self.journal.tool(now, ts.flail_speed, ts.depth, self.mission.tool_working(now))

    def on_follower(self, status: FollowerStatus, now: float) -> None:
        """The follower's status (done -> complete)."""
        self.mission.on_follower_status(status, now)
        self._after_change(now)

    def on_safety(self, ev: SafetyEvent, now: float) -> None:
        """A safety transition with its reason."""
        self.mission.on_safety_state(ev.state, ev.stamp, ev.reason)
        self._after_change(now)

    def on_tool_event(self, ev: ToolEvent, now: float) -> None:
        """A tool controller event (stall, recovery, feedback lost or back)."""
        self.mission.on_tool_event(ev.kind, ev.stamp, ev.detail)

    def on_detections(self, dets: Detections, now: float) -> None:
        """The fused detection list."""
        self.mission.on_detections(dets.items)

    def on_mine_map(self, grid: Grid, now: float) -> None:
        """The fusion's mine map: the journal writes its changed tiles at its own period."""
        if self.journal is not None:
            self.journal.mine_map(now, grid.values, grid.origin_x, grid.origin_y,
                                  grid.resolution)

    def on_permittivity(self, p: SoilPermittivity, now: float) -> None:
        """The GPR's soil permittivity: the journal keeps the latest (the report's)."""
        self._permittivity = soil_permittivity_record(p)
        if self.journal is not None:
            self.journal.note(SOIL_PERMITTIVITY_KEY, self._permittivity)

    def on_event(self, ev: SimEvent, now: float) -> None:
        """A simulator event for the record."""
        self.mission.on_event(ev)

    def srv_start(self, now: float) -> Tuple[bool, str]:
        """/mission/start."""
        result = self.mission.request_start(now)
        self._after_change(now)
        return result

    def srv_abort(self, now: float) -> Tuple[bool, str]:
        """/mission/abort (also what a runner calls to stop: failure, timeout, signal)."""
        reason, self.abort_reason = self.abort_reason or OPERATOR_ABORT, OPERATOR_ABORT
        return self.abort(reason, now)

    def abort(self, reason: str, now: float) -> Tuple[bool, str]:
        """Abort the mission with ``reason``; the report is written at once."""
        result = self.mission.abort(reason, now)
        self._after_change(now)
        return result

    def on_shutdown(self, now: float) -> None:
        """A mission still running when the stack goes away is aborted and reported."""
        self._end_running_mission(now)
        self._close_journal(now)

    def _end_running_mission(self, now: float) -> None:
        """Abort a mission still running (its report is written) when the stack goes away."""
        if getattr(self, 'mission', None) is None:
            return
        if self.mission.state is not MissionState.IDLE and not self.mission.state.terminal:
            self.abort(SHUTDOWN_ABORT, now)

    # -- outputs ---------------------------------------------------------------------------

    def update(self, now: float) -> None:
        """Advance the state machine; publish progress and the processed-ground grid."""
        self.mission.update(now)
        self._after_change(now)
        stalled = self.mission.stalled(now)
        if stalled is not None and not self._stall_logged:
            self.log.warning(f'mission {self.mission.state.value}: {stalled}')
        self._stall_logged = stalled is not None
        g = self.mission.grid
        self.emit('progress', float(self.mission.coverage_percent()))
        # Both hosts encode (copy) the grid as it is emitted: the cache itself is handed over.
        self.emit('processed', Grid(now, g.occupancy_view(), g.origin_x, g.origin_y,
                                    g.resolution))

    def _after_change(self, now: float) -> None:
        state = self.mission.state
        if state is self._published:
            return
        self._published = state
        self.emit('state', state)
        self.log.info(f'mission {state.value}: {self.mission.reason}')
        if state.terminal and not self._report_written and self.journal is not None:
            self._report_written = True
            self._write_report(now)

    def _write_report(self, now: float) -> None:
        """Commit the journal and build the report from it; never raises (logs instead)."""
        run_dir = self.run_dir
        try:
            self.journal_commit(now)
            rebuild_report(run_dir)
        except Exception as exc:  # noqa: BLE001 - the report must never take the node down
            self.log.error(f'could not write the mission report to {run_dir}: '
                           f'{type(exc).__name__}: {exc}')
            return
        self.report_path = os.path.abspath(run_dir)
        self.emit('report', self.report_path)
        self.log.info(f'mission report written to {self.report_path}')

    def diagnostics(self, now: float) -> Status:
        """State, reason, coverage, the time limit."""
        m = self.mission
        g = m.grid
        level = DiagLevel.ERROR if m.state is MissionState.ABORTED else DiagLevel.OK
        return level, m.reason, {
            'state': m.state.value, 'reason': m.reason,
            'coverage_percent': f'{m.coverage_percent():.2f}',
            'processed_m2': f'{g.processed_area_m2():.1f}', 'field_m2': f'{m.area_field_m2:.1f}',
            'follower': m.follower_status.value, 'report': self.report_path,
            'time_limit_s': f'{m.time_limit_s:.0f}'}


def main(args: Optional[List[str]] = None) -> int:
    """Run the node (console script ``mission_manager_node``)."""
    from demining_bringup.hosts.ros import run_component
    return run_component(MissionManagerComponent, args)


if __name__ == '__main__':
    raise SystemExit(main())
