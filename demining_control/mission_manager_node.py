"""mission_manager node: mission state machine, progress, processed-ground grid and report.

Subscribes /coverage/path, /localization/odometry, /tool/joint_states, /follower/status,
/safety/state, /detections, /sim/events; publishes /mission/state (latched, on change),
/mission/progress (1 Hz), /coverage/processed (1 Hz), /mission/report (latched, once) and
/diagnostics; offers /mission/start and /mission/abort.
"""

from __future__ import annotations

import dataclasses
import datetime
import os

from diagnostic_msgs.msg import DiagnosticArray
from nav_msgs.msg import OccupancyGrid, Odometry, Path
from rclpy.node import Node
from sensor_msgs.msg import JointState, PointCloud2
from std_msgs.msg import Float32, String
from std_srvs.srv import Trigger

from demining_bringup import codec, qos, topics
from demining_bringup.area import load_area
from demining_bringup.node_main import run_node
from demining_bringup import vehicle_params
from demining_bringup.report import MissionRecord, write_report
from demining_bringup.ros_params import declare_parameters
from demining_bringup import diagnostics as diag
from demining_control.mission.manager import TERMINAL, MissionManager, MissionParams

_UPDATE_PERIOD_S = 1.0
_LOG_THROTTLE_S = 5.0
#: Default parent folder of run folders (parameter report_dir = '').
_RUNS_DIR = 'runs'


@dataclasses.dataclass(frozen=True)
class MissionManagerConfig(MissionParams):
    """Node parameters: the mission's plus the hazard area."""

    area_file: str = vehicle_params.area_file()


class MissionManagerNode(Node):
    """Thin adapter around :class:`MissionManager`."""

    def __init__(self, **kwargs) -> None:
        """Declare parameters, load the area and wire topics."""
        super().__init__('mission_manager', **kwargs)
        self.config = declare_parameters(self, MissionManagerConfig)
        self.area = load_area(self.config.area_file)
        self.mission = MissionManager(self.area.field, self.area.exclusion_zones, self.config)
        self._published_state = ''
        self._report_written = False
        self.report_path = ''
        self._state_pub = self.create_publisher(String, topics.MISSION_STATE, qos.LATCHED)
        self._progress_pub = self.create_publisher(Float32, topics.MISSION_PROGRESS, qos.STATE)
        self._grid_pub = self.create_publisher(OccupancyGrid, topics.COVERAGE_PROCESSED,
                                               qos.LATCHED)
        self._report_pub = self.create_publisher(String, topics.MISSION_REPORT, qos.LATCHED)
        self._diag_pub = self.create_publisher(DiagnosticArray, topics.DIAGNOSTICS, qos.STATE)
        self.create_subscription(Path, topics.COVERAGE_PATH, self._on_path, qos.LATCHED)
        self.create_subscription(Odometry, topics.LOCALIZATION, self._on_odom, qos.STATE)
        self.create_subscription(JointState, topics.TOOL_JOINT_STATES, self._on_tool,
                                 qos.SENSOR)
        self.create_subscription(String, topics.FOLLOWER_STATUS, self._on_follower,
                                 qos.LATCHED)
        # The transitions with their reasons (the report's safety_events), not just the state.
        self.create_subscription(String, topics.SAFETY_EVENTS, self._on_safety, qos.EVENTS)
        self.create_subscription(PointCloud2, topics.DETECTIONS, self._on_detections,
                                 qos.LATCHED)
        self.create_subscription(String, topics.SIM_EVENTS, self._on_event, qos.EVENTS)
        self.create_service(Trigger, topics.MISSION_START, self._on_start)
        self.create_service(Trigger, topics.MISSION_ABORT, self._on_abort)
        self.create_timer(_UPDATE_PERIOD_S, self._on_timer)
        self._after_change()

    def _now(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    def _warn(self, text: str) -> None:
        self.get_logger().warning(text, throttle_duration_sec=_LOG_THROTTLE_S)

    # -- inputs ----------------------------------------------------------------------------

    def _on_path(self, msg: Path) -> None:
        try:
            self.mission.on_path(codec.path_to_xy(msg), self._now())
        except codec.DecodeError as exc:
            self._warn(f'bad path dropped: {exc}')
        self._after_change()

    def _on_odom(self, msg: Odometry) -> None:
        try:
            pose = codec.odometry_to_state(msg)
        except codec.DecodeError as exc:
            self._warn(f'bad odometry dropped: {exc}')
            return
        pose.stamp = self._now()   # one time base with the tool state (reception time)
        self.mission.on_pose(pose)

    def _on_tool(self, msg: JointState) -> None:
        try:
            self.mission.on_tool_state(codec.decode_tool_state(msg), self._now())
        except codec.DecodeError as exc:
            self._warn(f'bad tool state dropped: {exc}')

    def _on_follower(self, msg: String) -> None:
        self.mission.on_follower_status(msg.data, self._now())
        self._after_change()

    def _on_safety(self, msg: String) -> None:
        try:
            ev = codec.decode_safety_event(msg)
        except codec.DecodeError as exc:
            self._warn(f'bad safety event dropped: {exc}')
            return
        self.mission.on_safety_state(ev['state'], ev['stamp'], ev['reason'])
        self._after_change()

    def _on_detections(self, msg: PointCloud2) -> None:
        try:
            self.mission.on_detections(codec.decode_detections(msg))
        except codec.DecodeError as exc:
            self._warn(f'bad detections dropped: {exc}')

    def _on_event(self, msg: String) -> None:
        try:
            self.mission.on_event(codec.decode_event(msg))
        except codec.DecodeError as exc:
            self._warn(f'bad event dropped: {exc}')

    def _on_start(self, request: Trigger.Request, response: Trigger.Response
                  ) -> Trigger.Response:
        response.success, response.message = self.mission.request_start(self._now())
        self._after_change()
        return response

    def _on_abort(self, request: Trigger.Request, response: Trigger.Response
                  ) -> Trigger.Response:
        response.success, response.message = self.mission.abort('aborted by operator',
                                                                self._now())
        self._after_change()
        return response

    # -- outputs ---------------------------------------------------------------------------

    def _on_timer(self) -> None:
        now = self._now()
        self.mission.update(now)
        self._after_change()
        g = self.mission.grid
        self._progress_pub.publish(Float32(data=float(self.mission.coverage_percent())))
        self._grid_pub.publish(codec.grid_to_occupancy(g.occupancy_values(), g.origin_x,
                                                       g.origin_y, g.resolution, now))
        m = self.mission
        level = diag.ERROR if m.state.value == 'aborted' else diag.OK
        values = {'state': m.state.value, 'reason': m.reason,
                  'coverage_percent': f'{m.coverage_percent():.2f}',
                  'processed_m2': f'{g.processed_area_m2():.1f}',
                  'field_m2': f'{m.area_field_m2:.1f}', 'follower': m.follower_status,
                  'report': self.report_path}
        self._diag_pub.publish(diag.diagnostics(self.get_name(), now, level, m.reason, values))

    def _after_change(self) -> None:
        state = self.mission.state.value
        if state == self._published_state:
            return
        self._published_state = state
        self._state_pub.publish(String(data=state))
        self.get_logger().info(f'mission {state}: {self.mission.reason}')
        if self.mission.state in TERMINAL and not self._report_written:
            self._report_written = True
            self._write_report()

    def _run_dir(self) -> str:
        if self.config.report_dir:
            return self.config.report_dir
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime('%Y%m%dT%H%M%SZ')
        return os.path.join(_RUNS_DIR, stamp)

    def _write_report(self) -> None:
        """Build the MissionRecord and write the report; never raises (logs instead)."""
        run_dir = self._run_dir()
        try:
            record = MissionRecord(world_name=self.area.name, origin=self.area.origin,
                                   vehicle_profile=self.config.vehicle_profile,
                                   **self.mission.record_kwargs())
            os.makedirs(run_dir, exist_ok=True)
            write_report(record, run_dir)
        except Exception as exc:  # noqa: BLE001 - the report must never take the node down
            self.get_logger().error(f'could not write the mission report to {run_dir}: '
                                    f'{type(exc).__name__}: {exc}')
            return
        self.report_path = os.path.abspath(run_dir)
        self._report_pub.publish(String(data=self.report_path))
        self.get_logger().info(f'mission report written to {self.report_path}')


def main(args=None) -> int:
    """Run the node."""
    return run_node(MissionManagerNode, args)


if __name__ == '__main__':
    raise SystemExit(main())
