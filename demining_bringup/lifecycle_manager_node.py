"""Node ``lifecycle_manager``: brings the stack's managed nodes up and down, as Nav2's.

Parameters: ``node_names`` (in dependency order, config/stack.yaml's order), ``autostart``
(configure and activate at start), ``transition_timeout_s`` and ``shutdown_on_mission_end``
(when the mission reaches a terminal state and its report is out, deactivate, clean up and
shut down every node, then leave: ``ros2 launch`` ends with it). Services
``lifecycle_manager/startup`` and ``lifecycle_manager/shutdown`` (std_srvs/Trigger).
A transition that fails or times out is logged as one error line naming the node and the
transition, the sequence stops and :attr:`failure` holds that line.

Each step is a ``lifecycle_msgs/ChangeState`` request sent from a timer and checked on the
next ticks, never waited for inside a callback, so the manager works in a single-threaded
executor next to the nodes it manages.
"""

from __future__ import annotations

import time
from typing import List, Optional

import rclpy
from lifecycle_msgs.msg import Transition as TransitionMsg
from lifecycle_msgs.srv import ChangeState
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from std_msgs.msg import String
from std_srvs.srv import Trigger

from demining_bringup.contract import topics
from demining_bringup.contract.errors import EXIT_MISSION_FAILED, EXIT_OK
from demining_bringup.contract.states import MissionState
from demining_bringup.contract.wire import wires
from demining_bringup.hosts.lifecycle import (Transition, TransitionSequence, shutdown_plan,
                                              startup_plan)

#: The node's name (the launch file and the runners use it).
NAME = 'lifecycle_manager'
#: Period of the sequencing timer (wall clock: transitions happen before /clock runs), s.
_STEP_PERIOD_S = 0.02
_TRANSITION_IDS = {Transition.CONFIGURE: TransitionMsg.TRANSITION_CONFIGURE,
                   Transition.ACTIVATE: TransitionMsg.TRANSITION_ACTIVATE,
                   Transition.DEACTIVATE: TransitionMsg.TRANSITION_DEACTIVATE,
                   Transition.CLEANUP: TransitionMsg.TRANSITION_CLEANUP}
# Shutdown goes by label: its id depends on the node's current state.
_SHUTDOWN_LABEL = 'shutdown'


class LifecycleManagerNode(Node):
    """Sequences ChangeState requests over the managed nodes."""

    def __init__(self, **kwargs) -> None:
        """Declare parameters; start up at once when ``autostart``."""
        super().__init__(NAME, **kwargs)
        self.node_names: List[str] = list(self.declare_parameter(
            'node_names', rclpy.Parameter.Type.STRING_ARRAY).value or [])
        self.autostart = bool(self.declare_parameter('autostart', True).value)
        self.timeout_s = float(self.declare_parameter('transition_timeout_s', 30.0).value)
        self.exit_on_end = bool(self.declare_parameter('shutdown_on_mission_end', False).value)
        self._change_state = {n: self.create_client(ChangeState, f'{n}/change_state')
                              for n in self.node_names}
        self._seq: Optional[TransitionSequence] = None
        self._pending = None
        self._sent_at = 0.0
        self.active = False
        self.finished = False
        self.failure = ''
        self.mission_state: Optional[MissionState] = None
        self.report = ''
        self.create_service(Trigger, f'{NAME}/startup', self._on_startup)
        self.create_service(Trigger, f'{NAME}/shutdown', self._on_shutdown)
        mission = wires()[topics.MISSION_STATE]
        report = wires()[topics.MISSION_REPORT]
        self.create_subscription(mission.msg_type, topics.MISSION_STATE, self._on_mission,
                                 mission.qos)
        self.create_subscription(report.msg_type, topics.MISSION_REPORT, self._on_report,
                                 report.qos)
        self.create_timer(_STEP_PERIOD_S, self._step,
                          clock=rclpy.clock.Clock(clock_type=rclpy.clock.ClockType.STEADY_TIME))
        if self.autostart:
            self.startup()

    def startup(self) -> None:
        """Configure, then activate, every managed node in order."""
        self.get_logger().info(f'starting up {", ".join(self.node_names)}')
        self._seq = TransitionSequence(startup_plan(self.node_names))

    def shutdown(self) -> None:
        """Deactivate, clean up and shut down every managed node, in reverse order."""
        self.get_logger().info('shutting down the managed nodes')
        self.active = False
        self._seq = TransitionSequence(shutdown_plan(self.node_names))
        self._pending = None

    @property
    def busy(self) -> bool:
        """True while a sequence is running."""
        return self._seq is not None and not self._seq.done

    def _on_startup(self, request: Trigger.Request, response: Trigger.Response
                    ) -> Trigger.Response:
        if self.busy:
            response.success, response.message = False, 'a transition sequence is running'
        else:
            self.startup()
            response.success, response.message = True, 'starting up'
        return response

    def _on_shutdown(self, request: Trigger.Request, response: Trigger.Response
                     ) -> Trigger.Response:
        self.shutdown()
        response.success, response.message = True, 'shutting down'
        return response

    def _on_mission(self, msg: String) -> None:
        try:
            self.mission_state = MissionState(msg.data)
        except ValueError:
            return
        self._maybe_end()

    def _on_report(self, msg: String) -> None:
        self.report = msg.data
        self._maybe_end()

    def _maybe_end(self) -> None:
        if (self.exit_on_end and self.active and self.mission_state is not None
                and self.mission_state.terminal and self.report):
            self.get_logger().info(f'mission {self.mission_state.value}, report '
                                   f'{self.report}: ending the run')
            self.shutdown()

    def _step(self) -> None:
        seq = self._seq
        if seq is None or seq.done:
            return
        step = seq.next_step()
        if self._pending is None:
            client = self._change_state[step.node]
            if not client.service_is_ready():
                if time.monotonic() - self._sent_at > self.timeout_s and self._sent_at:
                    self._fail(seq, f'{step.node}/change_state not available')
                elif not self._sent_at:
                    self._sent_at = time.monotonic()
                return
            req = ChangeState.Request()
            if step.transition is Transition.SHUTDOWN:
                req.transition.label = _SHUTDOWN_LABEL
            else:
                req.transition.id = _TRANSITION_IDS[step.transition]
            self._pending = client.call_async(req)
            self._sent_at = time.monotonic()
            return
        if not self._pending.done():
            if time.monotonic() - self._sent_at > self.timeout_s:
                self._fail(seq, f'no answer within {self.timeout_s:.0f} s')
            return
        result = self._pending.result()
        self._pending = None
        self._sent_at = 0.0
        ok = result is not None and result.success
        if ok or step.transition in (Transition.DEACTIVATE, Transition.CLEANUP,
                                     Transition.SHUTDOWN):
            # Shut-down goes on past a node that refuses (it may have failed already).
            seq.report(True)
        else:
            self._fail(seq, 'transition refused (see that node\'s log)')
            return
        if seq.done and seq.ok:
            if step.transition is Transition.ACTIVATE:
                self.active = True
                self.get_logger().info('all managed nodes are active')
                self._maybe_end()
            else:
                self.finished = True
                self.get_logger().info('all managed nodes are shut down')

    def _fail(self, seq: TransitionSequence, reason: str) -> None:
        seq.report(False, reason)
        self._pending = None
        self._sent_at = 0.0
        self.failure = seq.describe_failure()
        self.get_logger().error(self.failure)


def main(args: Optional[List[str]] = None) -> int:
    """Run the lifecycle manager until it has shut the stack down (or is interrupted)."""
    rclpy.init(args=args)
    node = LifecycleManagerNode()
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    try:
        while rclpy.ok() and not node.finished and not node.failure:
            executor.spin_once(timeout_sec=_STEP_PERIOD_S)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        failed = bool(node.failure)
        node.destroy_node()
        rclpy.try_shutdown()
    return EXIT_MISSION_FAILED if failed else EXIT_OK


if __name__ == '__main__':
    raise SystemExit(main())
