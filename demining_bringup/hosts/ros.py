"""The ROS host: any component as a real ``rclpy.lifecycle`` node.

:class:`ComponentNode` declares the component's schema as parameters with descriptors at
construction (a bad override is a one-line configuration error), and on ``configure`` binds
each port to its topic through the contract's wire (message type, named QoS, codec), creates
lifecycle publishers, timers on the node clock, Trigger services and /diagnostics. Outputs
are lifecycle publishers and the shared runtime drops emits while not active, so a motion or
tool command cannot leave an inactive node. A clock source (the simulator) is stepped from a
wall-clock timer at its real-time factor, paced in lockstep with the control loop.

Every node module's ``main`` is ``run_component(TheComponent, args)``.
"""

from __future__ import annotations

import functools
import logging
import math
import sys
import time
from typing import Any, Callable, Dict, Iterable, List, Optional, Type

import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rclpy.clock import Clock, ClockType
from rclpy.event_handler import PublisherEventCallbacks, SubscriptionEventCallbacks
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.lifecycle import LifecycleNode, LifecycleState as RclState, TransitionCallbackReturn
from rclpy.node import Node
from rclpy.parameter import Parameter
from std_srvs.srv import Trigger

from demining_bringup.contract import codec, qos, topics
from demining_bringup.contract.codec import DecodeError
from demining_bringup.contract.component import ClockSource, Component
from demining_bringup.contract.errors import CONFIG_ERRORS, EXIT_CONFIG_ERROR, EXIT_OK
from demining_bringup.contract.parameters import schema_of
from demining_bringup.contract.states import DiagLevel, LifecycleState
from demining_bringup.contract.wire import wires
from demining_bringup.hosts.ros_params import declare_parameters
from demining_bringup.hosts.runtime import ComponentRuntime, Throttle

#: Wall-clock period of a clock source's stepping timer, s.
TICK_PERIOD_S = 0.01
#: A clock source never runs more than this much wall time behind its target: when it cannot
#: keep up with its real-time factor, simulated time slows down instead of piling up work.
MAX_BACKLOG_WALL_S = 0.1
#: Longest gap between two calls of a clock source's lockstep counted as awake time, s: a few
#: stepping periods, so a blocked executor does not count as a control loop gone silent.
LOCKSTEP_MAX_GAP_S = 5 * TICK_PERIOD_S
#: Throttle of repeated warnings about dropped input, s.
_WARN_THROTTLE_S = 5.0
_T_EPS = 1e-9
_HARDWARE_ID = 'demining'


class RosLog:
    """A component's log on the node's rclpy logger, throttled on the node's clock."""

    def __init__(self, node: LifecycleNode) -> None:
        """Log through ``node``'s logger."""
        self._logger = node.get_logger()
        self._throttle = Throttle(lambda: node.get_clock().now().nanoseconds * 1e-9)

    def debug(self, text: str, *, throttle_s: float = 0.0) -> None:
        """Log at DEBUG."""
        if self._throttle.allow(logging.DEBUG, text, throttle_s):
            self._logger.debug(text)

    def info(self, text: str, *, throttle_s: float = 0.0) -> None:
        """Log at INFO."""
        if self._throttle.allow(logging.INFO, text, throttle_s):
            self._logger.info(text)

    def warning(self, text: str, *, throttle_s: float = 0.0) -> None:
        """Log at WARN."""
        if self._throttle.allow(logging.WARNING, text, throttle_s):
            self._logger.warning(text)

    def error(self, text: str, *, throttle_s: float = 0.0) -> None:
        """Log at ERROR."""
        if self._throttle.allow(logging.ERROR, text, throttle_s):
            self._logger.error(text)


class Lockstep:
    """Keeps simulated time from running away from a control loop that cannot keep up.

    On a loaded machine the nodes may process slower than the real-time factor; without a
    bound the vehicle would drive on stale commands and the mission would be judged on the
    machine's load, not on the stack. Each pacing input marks the simulated time it has
    reached; the simulation may lead the slowest of them by ``max_lead_s``. Pacing starts with
    an input's first message and is suspended after ``timeout_s`` wall seconds without any
    progress, so a crashed node cannot freeze the clock (its watchdogs must see time pass).

    Only wall time the clock source was awake for counts towards the timeout: a gap between
    two of its calls longer than ``max_gap_s`` counts as ``max_gap_s``. In one process a long
    callback (a re-plan, a report) blocks the clock source and the control loop alike; counted
    in full, a 2 s stall on a slow machine would suspend pacing and let the simulation jump
    ahead of the controllers that were blocked with it (stale-input stops, skipped ground).
    """

    def __init__(self, max_lead_s: float, timeout_s: float, max_gap_s: float) -> None:
        """``max_lead_s`` 0 disables pacing; ``max_gap_s``: the longest call gap counted."""
        self.max_lead_s = max_lead_s
        self.timeout_s = timeout_s
        self.max_gap_s = max_gap_s
        self._marks: Dict[str, float] = {}
        self._progress_awake: Dict[str, float] = {}
        self._awake = 0.0
        self._last_wall: Optional[float] = None

    def _wake(self, wall_t: float) -> float:
        if self._last_wall is not None:
            self._awake += min(max(wall_t - self._last_wall, 0.0), self.max_gap_s)
        self._last_wall = wall_t
        return self._awake

    def mark(self, name: str, sim_t: float, wall_t: float) -> None:
        """Record that input ``name`` has reached simulated time ``sim_t``."""
        awake = self._wake(wall_t)
        if sim_t > self._marks.get(name, -math.inf):
            self._marks[name] = sim_t
            self._progress_awake[name] = awake

    def limit(self, wall_t: float) -> float:
        """Return how far the simulation may advance now (inf when not pacing)."""
        awake = self._wake(wall_t)
        if self.max_lead_s <= 0.0:
            return math.inf
        live = [t for name, t in self._marks.items()
                if awake - self._progress_awake[name] <= self.timeout_s]
        return min(live) + self.max_lead_s if live else math.inf


def diagnostic_array(name: str, stamp: float, level: DiagLevel, message: str,
                     values: Dict[str, object]) -> DiagnosticArray:
    """One DiagnosticStatus named after the node, in a DiagnosticArray."""
    status = DiagnosticStatus(level=bytes([int(level)]), name=name, message=message,
                              hardware_id=_HARDWARE_ID)
    status.values = [KeyValue(key=str(k), value=str(v)) for k, v in values.items()]
    return DiagnosticArray(header=codec.make_header(stamp, ''), status=[status])


class ComponentNode(LifecycleNode):
    """A component hosted as a managed (lifecycle) node."""

    def __init__(self, cls: Type[Component], *, node_name: str = '', qos_events: bool = True,
                 **kwargs: Any) -> None:
        """Declare the schema as parameters (a bad override raises ParamError).

        :param qos_events: attach rclpy's default QoS event handlers (incompatible QoS and
            type) to the ports. In one process with many nodes polling them costs ~18 % of
            the CPU; the contract's wire gives both ends of a topic one QoS, so a runner may
            leave them out.
        """
        super().__init__(node_name or cls.name, **kwargs)
        self._qos_events = qos_events
        if cls.clock_source and self.get_parameter('use_sim_time').value:
            # The clock source is the clock: on sim time its own timers would never fire.
            self.get_logger().warning('use_sim_time ignored: this node is the clock')
            self.set_parameters([Parameter('use_sim_time', Parameter.Type.BOOL, False)])
        self.cls = cls
        self._clock_handle = self.get_clock().handle
        self._wires = wires()
        declare_parameters(self, cls.params)
        self.runtime = ComponentRuntime(cls, name=self.get_name(), sink=self._publish,
                                        log=RosLog(self))
        self._pubs: Dict[str, Any] = {}
        self._encoders: Dict[str, Callable[[Any, float], Any]] = {}
        self._port_subs: List[Any] = []
        self._component_timers: List[Any] = []
        self._trigger_services: List[Any] = []
        self._diag_pub = self.create_publisher(DiagnosticArray, topics.DIAGNOSTICS, qos.STATE)
        self._lockstep: Optional[Lockstep] = None
        self._wall_last = 0.0
        self._wall_start = 0.0
        self._target = 0.0
        self._clock_n = 0

    @property
    def component(self) -> Component:
        """The hosted component."""
        return self.runtime.component

    def _now(self) -> float:
        # The clock's handle read directly: Clock.now() builds an rclpy Time (an import, a
        # lock, argument checks: ~4 us against ~0.8 us), and a one-process run asks ~600
        # times a simulated second (every delivery, timer and publish). The same nanoseconds.
        return self._clock_handle.get_now().nanoseconds * 1e-9

    # -- lifecycle --------------------------------------------------------------------------

    def on_configure(self, state: RclState) -> TransitionCallbackReturn:
        """Read parameters, configure the component, bind ports, timers and services."""
        values = {name: self.get_parameter(name).value for name in schema_of(self.cls.params)}
        try:
            self.runtime.configure(values)
        except CONFIG_ERRORS as exc:
            self.get_logger().error(f'configure failed: {exc}')
            return TransitionCallbackReturn.FAILURE
        pub_events = PublisherEventCallbacks(use_default_callbacks=self._qos_events)
        sub_events = SubscriptionEventCallbacks(use_default_callbacks=self._qos_events)
        for port, spec in self.cls.outputs.items():
            if spec.topic not in self._pubs:
                w = self._wires[spec.topic]
                self._pubs[spec.topic] = self.create_lifecycle_publisher(
                    w.msg_type, spec.topic, w.qos, event_callbacks=pub_events)
                # the busiest topics leave as bytes written without rclpy messages
                self._encoders[spec.topic] = w.encode if w.raw is None else w.raw.encode
        for port, spec in self.cls.inputs.items():
            w = self._wires[spec.topic]
            raw = w.raw is not None and w.raw.decode is not None
            self._port_subs.append(self.create_subscription(
                w.msg_type, spec.topic,
                functools.partial(self._on_msg, port, w.raw.decode if raw else w.decode),
                w.qos, event_callbacks=sub_events, raw=raw))
        for name, period in self.runtime.periods.items():
            self._component_timers.append(self.create_timer(
                period, functools.partial(self._fire, name)))
        for name, service in self.cls.services.items():
            self._trigger_services.append(self.create_service(
                Trigger, service, functools.partial(self._on_service, name)))
        self._component_timers.append(self.create_timer(self.cls.diagnostics_period_s,
                                                        self._publish_diagnostics))
        if isinstance(self.component, ClockSource):
            rtf, lead, timeout = self.component.pacing()
            self._lockstep = Lockstep(lead, timeout, max_gap_s=LOCKSTEP_MAX_GAP_S)
            self._rtf = rtf
            self._component_timers.append(self.create_timer(
                TICK_PERIOD_S, self._on_tick, clock=Clock(clock_type=ClockType.STEADY_TIME)))
        self.get_logger().info('configured')
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: RclState) -> TransitionCallbackReturn:
        """Enable the publishers, then activate the component."""
        ret = super().on_activate(state)
        if ret != TransitionCallbackReturn.SUCCESS:
            return ret
        self._wall_start = self._wall_last = time.monotonic()
        self.runtime.activate(self._now())
        self.get_logger().info('active')
        return TransitionCallbackReturn.SUCCESS

    def on_deactivate(self, state: RclState) -> TransitionCallbackReturn:
        """Deactivate the component, then disable the publishers."""
        self.runtime.deactivate(self._now())
        return super().on_deactivate(state)

    def on_cleanup(self, state: RclState) -> TransitionCallbackReturn:
        """Destroy what configure created."""
        self._destroy_entities()
        self.runtime.cleanup()
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: RclState) -> TransitionCallbackReturn:
        """Shut the component down (from any state)."""
        self.runtime.shutdown(self._now())
        self._destroy_entities()
        return TransitionCallbackReturn.SUCCESS

    def _destroy_entities(self) -> None:
        for timer in self._component_timers:
            self.destroy_timer(timer)
        for sub in self._port_subs:
            self.destroy_subscription(sub)
        for srv in self._trigger_services:
            self.destroy_service(srv)
        self._component_timers, self._port_subs, self._trigger_services = [], [], []
        for pub in self._pubs.values():
            self.destroy_lifecycle_publisher(pub)
        self._pubs, self._encoders = {}, {}

    # -- ports ------------------------------------------------------------------------------

    def _publish(self, port: str, value: Any) -> None:
        topic = self.cls.outputs[port].topic
        self._pubs[topic].publish(self._encoders[topic](value, self._now()))

    def _on_msg(self, port: str, decode: Any, msg: Any) -> None:
        try:
            value = decode(msg)
        except DecodeError as exc:
            self.get_logger().warning(f'bad {self.cls.inputs[port].topic} dropped: {exc}',
                                      throttle_duration_sec=_WARN_THROTTLE_S)
            return
        if self._lockstep is not None and port in self.component.pacing_inputs:
            stamp = getattr(value, 'stamp', None)
            self._lockstep.mark(port, self.component.time if stamp is None else stamp,
                                time.monotonic())
        self.runtime.deliver(port, value, self._now())

    def _fire(self, name: str) -> None:
        self.runtime.fire(name, self._now())

    def _on_service(self, name: str, request: Trigger.Request,
                    response: Trigger.Response) -> Trigger.Response:
        response.success, response.message = self.runtime.call(name, self._now())
        return response

    def _publish_diagnostics(self) -> None:
        now = self._now()
        status = self.runtime.diagnostics(now)
        if status is None:
            return
        level, message, values = status
        if isinstance(self.component, ClockSource):
            wall = max(time.monotonic() - self._wall_start, _T_EPS)
            values = {**values, 'achieved_rtf': f'{self.component.time / wall:.1f}',
                      'target_rtf': f'{self._rtf:g}'}
        self._diag_pub.publish(diagnostic_array(self.get_fully_qualified_name(), now, level,
                                                message, dict(values)))

    # -- clock source -----------------------------------------------------------------------

    def _on_tick(self) -> None:
        if self.runtime.state is not LifecycleState.ACTIVE:
            return
        clock: ClockSource = self.component  # type: ignore[assignment]
        wall = time.monotonic()
        self._target += (wall - self._wall_last) * self._rtf
        self._wall_last = wall
        self._target = min(self._target, clock.time + MAX_BACKLOG_WALL_S * self._rtf,
                           self._lockstep.limit(wall))
        period = clock.clock_period_s()
        while True:
            t_clock = self._clock_n * period
            if t_clock > self._target + _T_EPS:
                break
            clock.advance_to(t_clock)
            clock.emit('clock', t_clock)
            self._clock_n += 1
        clock.advance_to(max(self._target, clock.time))


def share_sim_time(carrier: Node, nodes: Iterable[Node]) -> int:
    """Drive the ROS clocks of ``nodes`` from ``carrier``'s one /clock subscription.

    On sim time each rclpy node subscribes to /clock itself (its own ``TimeSource``): alone
    in its process it must, but with a dozen nodes in one process every tick is taken,
    deserialised and dispatched a dozen times (~4 % of a DDS mission's CPU). Here each node
    on sim time drops its own subscription and its clock joins the carrier's time source,
    which sets all of them from one message. ``carrier`` must be on sim time and outlive the
    nodes. A node off sim time (the clock source) is left alone. Returns how many nodes share
    the carrier's subscription. Call it before a node's QoS event handlers are detached
    (``runner.detach_qos_events``): destroying its subscription removes them from the node.

    The nodes' clocks only change who updates them: their timers, ``now()`` and jump
    callbacks are rclpy's as before, and ``use_sim_time`` set on a node later still switches
    its clock (its own time source keeps the parameter; the carrier keeps the sim time).
    Returns 0, sharing nothing, on an rclpy whose nodes keep no time source where this one's do.
    """
    # rclpy keeps a node's time source private; attach_clock and detach_node are public. An
    # rclpy without it (another release on the vehicle) leaves every node its own /clock.
    source = getattr(carrier, '_time_source', None)
    if source is None:
        return 0
    if not source.ros_time_is_active:
        raise ValueError(f'{carrier.get_name()}: the carrier of /clock must be on sim time')
    shared = 0
    for node in nodes:
        own = getattr(node, '_time_source', None)
        if node is carrier or own is None or not own.ros_time_is_active:
            continue
        own.detach_node()                   # destroys the node's /clock subscription
        source.attach_clock(node.get_clock())
        shared += 1
    return shared


def run_component(cls: Type[Component], args: Optional[List[str]] = None) -> int:
    """Run one component as a lifecycle node until shutdown; return the exit code.

    The node starts unconfigured: the lifecycle manager configures and activates it.
    Configuration problems end the process with one line and exit code 2.
    """
    rclpy.init(args=args)
    node = None
    try:
        node = ComponentNode(cls)
        executor = SingleThreadedExecutor()
        executor.add_node(node)
        executor.spin()
    except CONFIG_ERRORS as exc:
        sys.stderr.write(f'error: {cls.name}: {exc}\n')
        return EXIT_CONFIG_ERROR
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            node.destroy_node()
        if rclpy.ok():
            rclpy.try_shutdown()
    return EXIT_OK


__all__ = ['ComponentNode', 'Lockstep', 'RosLog', 'diagnostic_array', 'run_component',
           'share_sim_time']
