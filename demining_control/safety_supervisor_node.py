"""safety_supervisor node: the gate between automatic commands and the actuators.

Subscribes /cmd_vel/auto, /tool/command/auto, /operator/heartbeat, /operator/estop,
/localization/odometry, /tool/joint_states, /sim/events, /mission/state; publishes /cmd_vel and
/tool/command (10 Hz), /safety/state (latched, on change) and /diagnostics; offers /safety/reset.
Inputs are time-stamped on reception with the node's (sim) clock, so a remote station's clock
offset cannot make a heartbeat look fresh.
"""

from __future__ import annotations

import dataclasses

from diagnostic_msgs.msg import DiagnosticArray
from geometry_msgs.msg import Twist
from nav_msgs.msg import Odometry
from rclpy.node import Node
from sensor_msgs.msg import JointState
from std_msgs.msg import Bool, Header, String
from std_srvs.srv import Trigger

from demining_bringup import codec, qos, topics
from demining_bringup.area import load_area
from demining_bringup.datatypes import Twist2D
from demining_bringup.node_main import run_node
from demining_bringup import vehicle_params
from demining_bringup.ros_params import declare_parameters
from demining_bringup import diagnostics as diag
from demining_control.safety.supervisor import (SafetyInputs, SafetyParams, SafetyState,
                                                SafetySupervisor)

_CONTROL_PERIOD_S = 0.1
_DIAG_PERIOD_S = 1.0
_LOG_THROTTLE_S = 5.0
_CLEARING = 'clearing'


@dataclasses.dataclass(frozen=True)
class SafetySupervisorConfig(SafetyParams):
    """Node parameters: the supervisor's plus the hazard area (geofence, interlock)."""

    area_file: str = vehicle_params.area_file()


class SafetySupervisorNode(Node):
    """Thin adapter around :class:`SafetySupervisor`."""

    def __init__(self, **kwargs) -> None:
        """Declare parameters, load the area and wire topics."""
        super().__init__('safety_supervisor', **kwargs)
        self.config = declare_parameters(self, SafetySupervisorConfig)
        area = load_area(self.config.area_file)
        self.supervisor = SafetySupervisor(area.field, self.config)
        self.inputs = SafetyInputs()
        self._published_state = ''
        self._cmd_pub = self.create_publisher(Twist, topics.CMD_VEL, qos.COMMAND)
        self._tool_pub = self.create_publisher(JointState, topics.TOOL_COMMAND, qos.COMMAND)
        self._state_pub = self.create_publisher(String, topics.SAFETY_STATE, qos.LATCHED)
        self._events_pub = self.create_publisher(String, topics.SAFETY_EVENTS, qos.EVENTS)
        self._diag_pub = self.create_publisher(DiagnosticArray, topics.DIAGNOSTICS, qos.STATE)
        self.create_subscription(Twist, topics.CMD_VEL_AUTO, self._on_cmd, qos.COMMAND)
        self.create_subscription(JointState, topics.TOOL_COMMAND_AUTO, self._on_tool_cmd,
                                 qos.COMMAND)
        self.create_subscription(Header, topics.OPERATOR_HEARTBEAT, self._on_heartbeat,
                                 qos.COMMAND)
        self.create_subscription(Bool, topics.OPERATOR_ESTOP, self._on_estop, qos.LATCHED)
        self.create_subscription(Odometry, topics.LOCALIZATION, self._on_odom, qos.STATE)
        self.create_subscription(JointState, topics.TOOL_JOINT_STATES, self._on_tool_state,
                                 qos.SENSOR)
        self.create_subscription(String, topics.SIM_EVENTS, self._on_event, qos.EVENTS)
        self.create_subscription(String, topics.MISSION_STATE, self._on_mission, qos.LATCHED)
        self.create_service(Trigger, topics.SAFETY_RESET, self._on_reset)
        self.create_timer(_CONTROL_PERIOD_S, self._on_control)
        self.create_timer(_DIAG_PERIOD_S, self._on_diag)
        self._publish_state()

    def _now(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    def _warn(self, text: str) -> None:
        self.get_logger().warning(text, throttle_duration_sec=_LOG_THROTTLE_S)

    # -- inputs (convert and store; judged on the timer) ------------------------------------

    def _on_cmd(self, msg: Twist) -> None:
        # non-finite values are kept on purpose: the supervisor stops on them
        self.inputs.cmd = Twist2D(float(msg.linear.x), float(msg.angular.z))
        self.inputs.cmd_stamp = self._now()

    def _on_tool_cmd(self, msg: JointState) -> None:
        try:
            self.inputs.tool_cmd = codec.decode_tool_command(msg)
            self.inputs.tool_cmd_stamp = self._now()
        except codec.DecodeError as exc:
            # a malformed command is not a fresh command: it goes stale -> protective stop
            self._warn(f'bad tool command dropped: {exc}')

    def _on_heartbeat(self, msg: Header) -> None:
        del msg
        self.inputs.heartbeat_stamp = self._now()

    def _on_estop(self, msg: Bool) -> None:
        self.inputs.estop_pressed = bool(msg.data)
        if msg.data:
            self._on_control()   # act at once, not at the next tick

    def _on_odom(self, msg: Odometry) -> None:
        try:
            self.inputs.pose = codec.odometry_to_state(msg)
            self.inputs.pose_stamp = self._now()
        except codec.DecodeError as exc:
            self._warn(f'bad odometry dropped: {exc}')

    def _on_tool_state(self, msg: JointState) -> None:
        try:
            self.inputs.tool_state = codec.decode_tool_state(msg)
            self.inputs.tool_state_stamp = self._now()
        except codec.DecodeError as exc:
            self._warn(f'bad tool state dropped: {exc}')

    def _on_event(self, msg: String) -> None:
        try:
            ev = codec.decode_event(msg)
        except codec.DecodeError as exc:
            self._warn(f'bad event dropped: {exc}')
            return
        if self.supervisor.on_event(ev, self._now()):
            self.get_logger().error(f'e-stop latched: {ev.kind} {ev.item_id} {ev.detail}')
            self._on_control()

    def _on_mission(self, msg: String) -> None:
        self.inputs.mission_clearing = msg.data == _CLEARING

    def _on_reset(self, request: Trigger.Request, response: Trigger.Response
                  ) -> Trigger.Response:
        ok, text = self.supervisor.reset(self.inputs, self._now())
        response.success, response.message = ok, text
        self.get_logger().info(f'/safety/reset: {text}')
        self._on_control()
        return response

    # -- output ----------------------------------------------------------------------------

    def _on_control(self) -> None:
        now = self._now()
        _, cmd, tool = self.supervisor.update(self.inputs, now)
        out = Twist()
        out.linear.x, out.angular.z = float(cmd.v), float(cmd.omega)
        self._cmd_pub.publish(out)
        self._tool_pub.publish(codec.encode_tool_command(tool, now))
        self._publish_state()

    def _publish_state(self) -> None:
        state = self.supervisor.state.value
        if state != self._published_state:
            self._published_state = state
            self._state_pub.publish(String(data=state))
            self._events_pub.publish(codec.encode_safety_event(self._now(), state,
                                                               self.supervisor.reason))
            text = f'safety state {state}: {self.supervisor.reason}'
            # rclpy wants one severity per call site
            if self.supervisor.state is SafetyState.OK:
                self.get_logger().info(text)
            else:
                self.get_logger().warning(text)

    def _on_diag(self) -> None:
        s = self.supervisor
        level = {SafetyState.OK: diag.OK, SafetyState.PROTECTIVE_STOP: diag.WARN,
                 SafetyState.ESTOP: diag.ERROR}[s.state]
        values = {'state': s.state.value, 'reason': s.reason,
                  'interlock_active': s.interlock_active,
                  'transitions': len(s.transitions)}
        self._diag_pub.publish(diag.diagnostics(self.get_name(), self._now(), level,
                                                s.reason, values))


def main(args=None) -> int:
    """Run the node."""
    return run_node(SafetySupervisorNode, args)


if __name__ == '__main__':
    raise SystemExit(main())
