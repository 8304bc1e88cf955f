"""tool_controller node: drives flail and tiller while the mission is clearing.

Subscribes /tool/joint_states and /mission/state; publishes /tool/command/auto (10 Hz) and
/diagnostics.
"""

from __future__ import annotations

from typing import Optional

from diagnostic_msgs.msg import DiagnosticArray
from rclpy.node import Node
from sensor_msgs.msg import JointState
from std_msgs.msg import String

from demining_bringup import codec, qos, topics
from demining_bringup.datatypes import ToolState
from demining_bringup.node_main import run_node
from demining_bringup.ros_params import declare_parameters
from demining_bringup import diagnostics as diag
from demining_control.tools.controller import ToolController, ToolParams

_CONTROL_PERIOD_S = 0.1
_DIAG_PERIOD_S = 1.0
_LOG_THROTTLE_S = 5.0
#: A tool state older than this is not trusted (the controller then lifts), s.
_TOOL_STATE_TIMEOUT_S = 0.5
_CLEARING = 'clearing'


class ToolControllerNode(Node):
    """Thin adapter around :class:`ToolController`."""

    def __init__(self, **kwargs) -> None:
        """Declare parameters and wire topics."""
        super().__init__('tool_controller', **kwargs)
        self.config = declare_parameters(self, ToolParams)
        self.controller = ToolController(self.config)
        self.mission_state = ''
        self.tool_state: Optional[ToolState] = None
        self.tool_time: Optional[float] = None
        self._pub = self.create_publisher(JointState, topics.TOOL_COMMAND_AUTO, qos.COMMAND)
        self._diag_pub = self.create_publisher(DiagnosticArray, topics.DIAGNOSTICS, qos.STATE)
        self.create_subscription(JointState, topics.TOOL_JOINT_STATES, self._on_tool,
                                 qos.SENSOR)
        self.create_subscription(String, topics.MISSION_STATE, self._on_mission, qos.LATCHED)
        self.create_timer(_CONTROL_PERIOD_S, self._on_control)
        self.create_timer(_DIAG_PERIOD_S, self._on_diag)

    def _now(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    def _on_tool(self, msg: JointState) -> None:
        try:
            self.tool_state = codec.decode_tool_state(msg)
            self.tool_time = self._now()
        except codec.DecodeError as exc:
            self.get_logger().warning(f'bad tool state dropped: {exc}',
                                      throttle_duration_sec=_LOG_THROTTLE_S)

    def _on_mission(self, msg: String) -> None:
        self.mission_state = msg.data

    def _on_control(self) -> None:
        now = self._now()
        ts = self.tool_state
        if self.tool_time is None or now - self.tool_time > _TOOL_STATE_TIMEOUT_S:
            ts = None
        cmd = self.controller.update(None, ts, self.mission_state == _CLEARING,
                                     _CONTROL_PERIOD_S)
        self._pub.publish(codec.encode_tool_command(cmd, now))

    def _on_diag(self) -> None:
        c = self.controller
        level = diag.WARN if c.phase.value == 'stall_recovery' else diag.OK
        values = {'phase': c.phase.value, 'ready': c.ready,
                  'speed_limit_mps': f'{c.speed_limit_mps:.2f}', 'stalls': c.stall_count,
                  'mission_state': self.mission_state}
        self._diag_pub.publish(diag.diagnostics(self.get_name(), self._now(), level,
                                                c.phase.value, values))


def main(args=None) -> int:
    """Run the node."""
    return run_node(ToolControllerNode, args)


if __name__ == '__main__':
    raise SystemExit(main())
