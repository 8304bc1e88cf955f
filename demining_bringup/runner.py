"""Run the resolved stack here, in one process or one process per node.

This is what ``demine run`` does where ``ros2 launch`` is not available; it starts exactly the
nodes and parameters :func:`demining_bringup.stack.resolve_stack` returns, the same the launch
file starts. A small monitor node follows ``/mission/state`` and ``/mission/report`` so the
runner knows when the mission ended and where the report is.
"""

from __future__ import annotations

import dataclasses
import enum
import importlib
import json
import os
import signal
import subprocess
import sys
import time
from typing import Callable, Dict, List, Optional, Set

import rclpy
import rclpy.logging
from rclpy.context import Context
from rclpy.executors import Executor, MultiThreadedExecutor, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.event_handler import EventHandler
from rclpy.parameter import Parameter
from rclpy.qos import QoSCompatibility, qos_check_compatible
from rclpy.waitable import Waitable
from std_msgs.msg import Float32, String
from std_srvs.srv import Trigger

from demining_bringup import qos, topics
from demining_bringup.errors import CONFIG_ERRORS, ConfigError
from demining_bringup.stack import WILDCARD, ResolvedNode, write_params_file

#: Mission states after which the runner stops the stack.
FINAL_STATES = ('complete', 'aborted')
_PROGRESS_PERIOD_S = 5.0          # wall seconds between progress lines
_SPIN_SLICE_S = 0.1
_STOP_GRACE_S = 10.0              # wall seconds a child process gets to exit on SIGINT
_REPORT_GRACE_S = 20.0            # wall seconds to wait for the report after a final state
_EXECUTOR_THREADS = 2             # the machine has 2 cores; more threads only contend


class RunMode(str, enum.Enum):
    """How the nodes are hosted."""

    IN_PROCESS = 'inprocess'
    MULTI_PROCESS = 'multiprocess'


class ExecutorKind(str, enum.Enum):
    """The executor hosting the nodes of an in-process run."""

    SINGLE = 'single'
    MULTI = 'multi'


def make_executor(kind: ExecutorKind, context: Context) -> Executor:
    """Return the executor for an in-process run.

    Measured on the 2-core machines (bench: `demine run --executor ...`), the single-threaded
    executor runs the stack about twice as fast as the multi-threaded one: every callback holds
    the GIL, so threads only add hand-over cost, and their reordering lets the simulator's
    lockstep marks and the controllers drift apart.
    """
    if kind is ExecutorKind.MULTI:
        return MultiThreadedExecutor(num_threads=_EXECUTOR_THREADS, context=context)
    return SingleThreadedExecutor(context=context)


@dataclasses.dataclass
class RunResult:
    """How a run ended."""

    mission_state: str
    run_dir: str
    summary: Optional[dict]
    wall_time_s: float
    timed_out: bool = False
    failed_nodes: List[str] = dataclasses.field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the mission completed and wrote its report."""
        return self.mission_state == 'complete' and self.summary is not None


class MissionMonitor(Node):
    """Follows the mission's state, progress and report from outside the stack."""

    def __init__(self, **kwargs) -> None:
        super().__init__('demine_monitor', **kwargs)
        self.state = 'unknown'
        self.progress = 0.0
        self.report_dir: Optional[str] = None
        self.create_subscription(String, topics.MISSION_STATE, self._on_state, qos.LATCHED)
        self.create_subscription(String, topics.MISSION_REPORT, self._on_report, qos.LATCHED)
        self.create_subscription(Float32, topics.MISSION_PROGRESS, self._on_progress,
                                 qos.STATE)
        self._abort = self.create_client(Trigger, topics.MISSION_ABORT)

    def request_abort(self) -> bool:
        """Ask the mission manager to abort (it then writes its report); False if absent."""
        if not self._abort.service_is_ready():
            return False
        self._abort.call_async(Trigger.Request())
        return True

    def _on_state(self, msg: String) -> None:
        self.state = msg.data

    def _on_report(self, msg: String) -> None:
        self.report_dir = msg.data

    def _on_progress(self, msg: Float32) -> None:
        self.progress = float(msg.data)

    def sim_seconds(self) -> float:
        """Simulated time now (the monitor runs on /clock)."""
        return self.get_clock().now().nanoseconds * 1e-9


def _overrides(params: Dict[str, object]) -> List[Parameter]:
    return [Parameter(k, value=v) for k, v in params.items()]


def instantiate(spec: ResolvedNode, context: Context) -> Node:
    """Import a node class and construct it with its parameters in ``context``."""
    try:
        module = importlib.import_module(spec.module)
        cls = getattr(module, spec.class_name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f'node {spec.name}: cannot load {spec.module}.{spec.class_name} '
                          f'({exc})') from None
    return cls(context=context, parameter_overrides=_overrides(spec.parameters),
               cli_args=['--ros-args', '-r', f'__node:={spec.name}'])


def check_declared(nodes: List[ResolvedNode], built: Dict[str, Node],
                   profile: Dict[str, Dict[str, object]]) -> None:
    """Refuse profile parameters that no node declares (a typo must not pass silently)."""
    for spec in nodes:
        for key in profile.get(spec.name, {}):
            if not built[spec.name].has_parameter(key):
                raise ConfigError(f'parameter file: {spec.name}.{key}: unknown parameter')
    declared: Set[str] = set()
    for node in built.values():
        declared.update(node._parameters.keys())   # noqa: SLF001 (rclpy has no public list)
    for key in profile.get(WILDCARD, {}):
        if key not in declared:
            raise ConfigError(f'parameter file: /**.{key}: no node declares this parameter')


def check_qos(built: Dict[str, Node]) -> None:
    """Refuse a stack in which a subscription could not hear a publisher of its topic.

    What rclpy's default QoS event handlers would report at run time, checked before the
    start (the in-process runner detaches those handlers, see :func:`detach_qos_events`).
    """
    pubs: Dict[str, List[tuple]] = {}
    for name, node in built.items():
        for pub in node.publishers:
            pubs.setdefault(pub.topic_name, []).append((name, pub.qos_profile))
    for name, node in built.items():
        for sub in node.subscriptions:
            for pub_node, pub_qos in pubs.get(sub.topic_name, []):
                compat, reason = qos_check_compatible(pub_qos, sub.qos_profile)
                if compat == QoSCompatibility.ERROR:
                    raise ConfigError(f'{sub.topic_name}: {name} cannot hear {pub_node} '
                                      f'({reason})')


def detach_qos_events(node: Node) -> List[Waitable]:
    """Remove rclpy's default QoS event handlers from ``node``; return them.

    Every publisher and subscription carries two (incompatible QoS, incompatible type); with
    ~100 of them in one process, polling them costs about 18 % of a mission's CPU (measured:
    161 s -> 132 s wall for the training field). The stack's own QoS pairs are checked by
    :func:`check_qos` before the start instead. Re-attach before destroying the node.
    """
    handlers = [w for w in node.waitables if isinstance(w, EventHandler)]
    for handler in handlers:
        node.remove_waitable(handler)
    return handlers


def validate(nodes: List[ResolvedNode], profile: Dict[str, Dict[str, object]],
             domain_id: int) -> None:
    """Construct every node once (parameters, world, area are checked), then tear down."""
    ctx = Context()
    rclpy.init(context=ctx, domain_id=domain_id)
    built: Dict[str, Node] = {}
    # A dry construction: only errors are worth showing (start-up chatter is for real runs).
    for spec in nodes:
        rclpy.logging.set_logger_level(spec.name, rclpy.logging.LoggingSeverity.ERROR)
    try:
        for spec in nodes:
            built[spec.name] = instantiate(spec, ctx)
        check_declared(nodes, built, profile)
        check_qos(built)
    finally:
        for node in built.values():
            node.destroy_node()
        rclpy.try_shutdown(context=ctx)
        for spec in nodes:
            rclpy.logging.set_logger_level(spec.name, rclpy.logging.LoggingSeverity.INFO)


def _read_summary(run_dir: Optional[str]) -> Optional[dict]:
    if not run_dir:
        return None
    try:
        with open(os.path.join(run_dir, 'summary.json'), encoding='utf-8') as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


class StackRunner:
    """Start the nodes, wait for the mission to end, stop everything cleanly."""

    def __init__(self, nodes: List[ResolvedNode], *, run_dir: str, domain_id: int,
                 mode: RunMode = RunMode.IN_PROCESS, timeout_s: float = 900.0,
                 executor: ExecutorKind = ExecutorKind.SINGLE, qos_events: bool = False,
                 progress: Optional[Callable[[str], None]] = None) -> None:
        self.nodes = nodes
        self.executor = executor
        self.qos_events = qos_events
        self.run_dir = run_dir
        self.domain_id = domain_id
        self.mode = mode
        self.timeout_s = timeout_s
        self.progress = progress or (lambda line: None)

    def run(self) -> RunResult:
        """Run the mission to its end (or the wall-clock timeout)."""
        os.makedirs(self.run_dir, exist_ok=True)
        ctx = Context()
        rclpy.init(context=ctx, domain_id=self.domain_id)
        executor = make_executor(self.executor, ctx)
        monitor = MissionMonitor(context=ctx, parameter_overrides=[
            Parameter('use_sim_time', value=True)])
        executor.add_node(monitor)
        built: List[Node] = []
        detached: Dict[Node, List[Waitable]] = {}
        children: Dict[str, subprocess.Popen] = {}
        start = time.monotonic()
        try:
            if self.mode is RunMode.IN_PROCESS:
                for spec in self.nodes:
                    node = instantiate(spec, ctx)
                    if not self.qos_events:
                        detached[node] = detach_qos_events(node)
                    built.append(node)
                    executor.add_node(node)
            else:
                children = self._spawn()
            return self._wait(executor, monitor, children, start)
        finally:
            self._stop_children(children)
            for node in built + [monitor]:
                executor.remove_node(node)
                for handler in detached.get(node, []):
                    node.add_waitable(handler)      # destroy_node() removes them again
                node.destroy_node()
            executor.shutdown()
            rclpy.try_shutdown(context=ctx)

    def _spawn(self) -> Dict[str, subprocess.Popen]:
        params = write_params_file(self.nodes, os.path.join(self.run_dir, 'parameters.yaml'))
        env = dict(os.environ, ROS_DOMAIN_ID=str(self.domain_id))
        children = {}
        for spec in self.nodes:
            code = f'import sys; from {spec.module} import main; sys.exit(main())'
            log = open(os.path.join(self.run_dir, f'{spec.name}.log'), 'wb')
            children[spec.name] = subprocess.Popen(
                [sys.executable, '-c', code, '--ros-args', '-r', f'__node:={spec.name}',
                 '--params-file', params], env=env, stdout=log, stderr=subprocess.STDOUT)
            log.close()   # the child holds its own descriptor
        return children

    def _wait(self, executor: Executor, monitor: MissionMonitor,
              children: Dict[str, subprocess.Popen], start: float) -> RunResult:
        last_print = start
        final_at: Optional[float] = None
        failed: List[str] = []
        while True:
            try:
                executor.spin_once(timeout_sec=_SPIN_SLICE_S)
            except Exception as exc:  # noqa: BLE001 - a node's failure ends the run, not the CLI
                # In one process a callback's exception leaves spin_once (as node_crash faults
                # do on purpose); report it like a child process that died.
                self.progress(f'a node raised {type(exc).__name__}: {exc}')
                failed = ['in-process node']
                break
            now = time.monotonic()
            failed = [n for n, p in children.items() if p.poll() not in (None, 0)]
            if failed:
                self.progress(f'node(s) exited with an error: {", ".join(failed)} '
                              f'(logs in {self.run_dir})')
                break
            if now - last_print >= _PROGRESS_PERIOD_S:
                last_print = now
                self.progress(f'[{now - start:6.1f} s wall] sim {monitor.sim_seconds():7.1f} s  '
                              f'{monitor.state:<9} {monitor.progress:5.1f} % processed')
            if monitor.state in FINAL_STATES:
                final_at = final_at or now
                if monitor.report_dir or now - final_at > _REPORT_GRACE_S:
                    break
            if now - start > self.timeout_s:
                self.progress(f'timed out after {self.timeout_s:.0f} s wall time')
                return RunResult(mission_state=monitor.state, run_dir=self.run_dir,
                                 summary=_read_summary(monitor.report_dir or self.run_dir),
                                 wall_time_s=now - start, timed_out=True)
        if failed and monitor.state not in FINAL_STATES:
            self._salvage_report(executor, monitor)
        return RunResult(mission_state=monitor.state,
                         run_dir=monitor.report_dir or self.run_dir,
                         summary=_read_summary(monitor.report_dir or self.run_dir),
                         wall_time_s=time.monotonic() - start, failed_nodes=failed)

    def _salvage_report(self, executor: Executor, monitor: MissionMonitor) -> None:
        """After a node failure, have the mission aborted so what was recorded is written."""
        if not monitor.request_abort():
            self.progress('mission manager unreachable: no report')
            return
        deadline = time.monotonic() + _REPORT_GRACE_S
        while not monitor.report_dir and time.monotonic() < deadline:
            try:
                executor.spin_once(timeout_sec=_SPIN_SLICE_S)
            except Exception as exc:  # noqa: BLE001 - the failed node may raise again
                self.progress(f'while saving the report: {type(exc).__name__}: {exc}')
        self.progress(f'mission {monitor.state}; report '
                      f'{"written" if monitor.report_dir else "not written"}')

    @staticmethod
    def _stop_children(children: Dict[str, subprocess.Popen]) -> None:
        for proc in children.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        deadline = time.monotonic() + _STOP_GRACE_S
        for proc in children.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


__all__ = ['CONFIG_ERRORS', 'ExecutorKind', 'FINAL_STATES', 'MissionMonitor', 'RunMode',
           'RunResult', 'check_qos', 'detach_qos_events',
           'StackRunner', 'check_declared', 'instantiate', 'validate']
