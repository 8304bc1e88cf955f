"""Run the resolved stack here, in one process or one process per node.

This is what ``demine run`` does where ``ros2 launch`` is not available; it starts exactly the
nodes and parameters :func:`demining_bringup.stack.resolve_stack` returns, the same the launch
file starts: every component hosted as a lifecycle node
(:class:`demining_bringup.hosts.ros.ComponentNode`), brought up by the lifecycle manager node
(in this process in both modes). A small monitor node follows ``/mission/state`` and
``/mission/report`` so the runner knows when the mission ended and where the report is.

Every way a run ends leaves a complete report folder written by the mission manager: after a
node failure, at the wall-clock timeout and on a stop request (SIGINT/SIGTERM set a
:class:`demining_bringup.results.StopRequest` the loop polls; rclpy's own signal handlers are
not installed), the runner asks the mission manager to abort through /mission/abort
(:meth:`MissionMonitor.request_abort`), waits for /mission/report, and only then shuts the
stack down (child processes get SIGINT after that). In one process the reason ('timed out
after 20 s wall', 'interrupted by SIGTERM') is handed to the component first; a mission
manager in another process records its service's reason, 'aborted by operator'.
"""

from __future__ import annotations

import dataclasses
import enum
import os
import signal
import subprocess
import sys
import time
from typing import Callable, Dict, List, Optional

import rclpy
import rclpy.logging
from rclpy.signals import SignalHandlerOptions
from rclpy.task import Future
from rclpy.context import Context
from rclpy.executors import Executor, MultiThreadedExecutor, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.event_handler import EventHandler
from rclpy.parameter import Parameter
from rclpy.waitable import Waitable
from std_msgs.msg import Float32, String
from std_srvs.srv import Trigger

from demining_bringup.contract import qos, topics
from demining_bringup.contract.errors import CONFIG_ERRORS, JournalError
from demining_bringup.contract.journal import journal_path
from demining_bringup.contract.states import MissionState
from demining_bringup.hosts.deterministic import HostLog
from demining_bringup.hosts.ros import ComponentNode, share_sim_time
from demining_bringup.hosts.runtime import ComponentRuntime, RecordingLog
from demining_bringup.lifecycle_manager_node import LifecycleManagerNode
from demining_bringup.record import report_if_missing
from demining_bringup.results import RunResult, StopRequest, read_summary
from demining_bringup.stack import ResolvedNode, check_profile, write_params_file

#: Mission states after which the runner stops the stack.
FINAL_STATES = tuple(s.value for s in MissionState if s.terminal)
_PROGRESS_PERIOD_S = 5.0          # wall seconds between progress lines
_SPIN_SLICE_S = 0.1
#: Wall seconds the run loop lets the executor work between two looks at the mission (its
#: state, the stop request, the timeout): one look per callback cost ~5 % of a run's CPU.
_POLL_SLICE_S = 0.05
_STOP_GRACE_S = 10.0              # wall seconds a child process gets to exit on SIGINT
_REPORT_GRACE_S = 20.0            # wall seconds to wait for the report after a final state
_ABORT_RETRY_S = 1.0              # wall seconds between /mission/abort requests until served
_EXECUTOR_THREADS = 2             # the machine has 2 cores; more threads only contend


class RunMode(str, enum.Enum):
    """How the nodes are hosted."""

    IN_PROCESS = 'inprocess'
    MULTI_PROCESS = 'multiprocess'


class ExecutorKind(str, enum.Enum):
    """The executor hosting the nodes of an in-process run."""

    SINGLE = 'single'
    MULTI = 'multi'
    #: rclpy's C++ events executor (rclpy.experimental, in Jazzy since rclpy 7.1).
    EVENTS = 'events'


def make_executor(kind: ExecutorKind, context: Context) -> Executor:
    """Return the executor for an in-process run.

    Measured on the 2-core machines (bench: `demine run --executor ...`), the single-threaded
    executor runs the stack about twice as fast as the multi-threaded one: every callback holds
    the GIL, so threads only add hand-over cost, and their reordering lets the simulator's
    lockstep marks and the controllers drift apart.
    """
    if kind is ExecutorKind.MULTI:
        return MultiThreadedExecutor(num_threads=_EXECUTOR_THREADS, context=context)
    if kind is ExecutorKind.EVENTS:
        from rclpy.experimental import EventsExecutor
        return EventsExecutor(context=context)
    return SingleThreadedExecutor(context=context)


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
        #: The last /mission/abort request (its result is (success, message) once served).
        self.abort_future = None

    def request_abort(self) -> bool:
        """Ask the mission manager to abort (it then writes its report); False if absent."""
        if not self._abort.service_is_ready():
            return False
        self.abort_future = self._abort.call_async(Trigger.Request())
        return True

    def abort_answer(self) -> Optional[Trigger.Response]:
        """The answer to the last :meth:`request_abort` (None while pending or none sent)."""
        f = self.abort_future
        return f.result() if f is not None and f.done() else None

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


def instantiate(spec: ResolvedNode, context: Context, *, qos_events: bool = True) -> Node:
    """Host a resolved node's component as a lifecycle node in ``context`` (unconfigured)."""
    return ComponentNode(spec.component(), node_name=spec.name, context=context,
                         parameter_overrides=_overrides(spec.parameters),
                         qos_events=qos_events)


def lifecycle_manager(nodes: List[ResolvedNode], context: Context) -> LifecycleManagerNode:
    """The lifecycle manager of ``nodes`` (autostart; the runner ends the mission itself)."""
    return LifecycleManagerNode(context=context, parameter_overrides=[
        Parameter('node_names', value=[n.name for n in nodes]),
        Parameter('autostart', value=True)])


def detach_qos_events(node: Node) -> List[Waitable]:
    """Remove rclpy's default QoS event handlers from ``node``; return them.

    Every publisher and subscription carries two (incompatible QoS, incompatible type); with
    ~100 of them in one process, polling them costs about 18 % of a mission's CPU (measured:
    161 s -> 132 s wall for the training field). The stack's own QoS pairs are checked by
    the contract's wire instead: a topic's publishers and subscribers share one QoS. Re-attach
    before destroying the node.
    """
    handlers = [w for w in node.waitables if isinstance(w, EventHandler)]
    for handler in handlers:
        node.remove_waitable(handler)
    return handlers


def validate(nodes: List[ResolvedNode], profile: Dict[str, Dict[str, object]]) -> None:
    """Configure every component once, without DDS (parameters, world, area are checked).

    Raises the configuration error of the first node that refuses, as one line.
    """
    check_profile(nodes, profile)
    for spec in nodes:
        rt = ComponentRuntime(spec.component(), name=spec.name, sink=lambda port, value: None,
                              log=HostLog(spec.name, lambda: 0.0))
        rt.configure(spec.parameters)
        rt.shutdown(0.0)


class StackRunner:
    """Start the nodes, wait for the mission to end, stop everything cleanly."""

    def __init__(self, nodes: List[ResolvedNode], *, run_dir: str, domain_id: int,
                 mode: RunMode = RunMode.IN_PROCESS, timeout_s: float = 900.0,
                 executor: ExecutorKind = ExecutorKind.EVENTS, qos_events: bool = False,
                 progress: Optional[Callable[[str], None]] = None,
                 stop: Optional[StopRequest] = None, record_path: str = '') -> None:
        self.stop = stop if stop is not None else StopRequest()
        #: MCAP file of every topic ('' for none; demining_bringup.recording).
        self.record_path = record_path
        self._built: List[Node] = []
        #: Why the runner stopped the mission ('' when it ended by itself).
        self._abort_reason = ''
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
        # No rclpy signal handlers: they would shut the context down before the mission
        # manager could abort and write its report (the CLI's StopRequest handles signals).
        rclpy.init(context=ctx, domain_id=self.domain_id,
                   signal_handler_options=SignalHandlerOptions.NO)
        executor = make_executor(self.executor, ctx)
        monitor = MissionMonitor(context=ctx, parameter_overrides=[
            Parameter('use_sim_time', value=True)])
        executor.add_node(monitor)
        manager = lifecycle_manager(self.nodes, ctx)
        executor.add_node(manager)
        recorder = recording = None
        if self.record_path:
            from demining_bringup.recording import McapRecorder, recorder_node
            recording = McapRecorder(self.record_path)
            recorder = recorder_node(recording, ctx)
            executor.add_node(recorder)
        built: List[Node] = []
        self._built = built
        detached: Dict[Node, List[Waitable]] = {}
        if not self.qos_events:
            detached = {node: detach_qos_events(node) for node in (monitor, manager)}
        children: Dict[str, subprocess.Popen] = {}
        start = time.monotonic()
        try:
            if self.mode is RunMode.IN_PROCESS:
                for spec in self.nodes:
                    # The ports are created when the node is configured, without rclpy's
                    # default QoS event handlers unless asked for (see ComponentNode).
                    node = instantiate(spec, ctx, qos_events=self.qos_events)
                    # One /clock subscription, the monitor's, sets every hosted node's clock
                    # (hosts.ros.share_sim_time): before the QoS event handlers are detached,
                    # as destroying the node's own takes its handlers with it.
                    share_sim_time(monitor, [node])
                    if not self.qos_events:
                        detached[node] = detach_qos_events(node)
                    built.append(node)
                    executor.add_node(node)
                if recorder is not None:
                    share_sim_time(monitor, [recorder])
            else:
                children = self._spawn()
            result = self._wait(executor, monitor, manager, children, start)
            self._shut_down(executor, manager)
        finally:
            self._stop_children(children)
            sim_s = monitor.sim_seconds()
            for node in built + [monitor, manager] + ([recorder] if recorder else []):
                executor.remove_node(node)
                for handler in detached.get(node, []):
                    node.add_waitable(handler)      # destroy_node() removes them again
                node.destroy_node()
            executor.shutdown()
            rclpy.try_shutdown(context=ctx)
            if recording is not None:
                recording.close()
                self.progress(recording.cost_line(sim_s))
        # The nodes are stopped, the journal closed. A run stopped for a reason whose mission
        # manager wrote no report (not yet started, unreachable under load, killed) has its
        # mission aborted here with that reason; failing that, the report is rebuilt from
        # the journal as it stands.
        if result.summary is None and self._abort_reason:
            result = abort_record(result, self.nodes, self._abort_reason, self.progress)
        return report_if_missing(result, self.progress)

    def _spawn(self) -> Dict[str, subprocess.Popen]:
        params = write_params_file(self.nodes, os.path.join(self.run_dir, 'parameters.yaml'))
        env = dict(os.environ, ROS_DOMAIN_ID=str(self.domain_id))
        children = {}
        for spec in self.nodes:
            code = f'import sys; from {spec.module} import main; sys.exit(main())'
            log = open(os.path.join(self.run_dir, f'{spec.name}.log'), 'wb')
            # Own process group: a Ctrl-C at the terminal reaches the runner only, which
            # has the mission aborted and reported before it sends SIGINT to the children.
            children[spec.name] = subprocess.Popen(
                [sys.executable, '-c', code, '--ros-args', '-r', f'__node:={spec.name}',
                 '--params-file', params], env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
            log.close()   # the child holds its own descriptor
        return children

    def _shut_down(self, executor: Executor, manager: LifecycleManagerNode) -> None:
        """Deactivate, clean up and shut down the nodes through the manager (bounded)."""
        manager.shutdown()
        deadline = time.monotonic() + _STOP_GRACE_S
        while not manager.finished and not manager.failure and time.monotonic() < deadline:
            try:
                executor.spin_once(timeout_sec=_SPIN_SLICE_S)
            except Exception as exc:  # noqa: BLE001 - a failed node must not stop the others
                self.progress(f'while shutting down: {type(exc).__name__}: {exc}')
                return

    def _wait(self, executor: Executor, monitor: MissionMonitor,
              manager: LifecycleManagerNode, children: Dict[str, subprocess.Popen],
              start: float) -> RunResult:
        last_print = start
        final_at: Optional[float] = None
        failed: List[str] = []
        abort_reason = ''
        timed_out = False
        never = Future()            # spin for a slice of wall time, whatever arrives
        while True:
            try:
                executor.spin_until_future_complete(never, timeout_sec=_POLL_SLICE_S)
            except Exception as exc:  # noqa: BLE001 - a node's failure ends the run, not the CLI
                # In one process a callback's exception leaves the spin (as node_crash faults
                # do on purpose); report it like a child process that died.
                self.progress(f'a node raised {type(exc).__name__}: {exc}')
                failed = ['in-process node']
                abort_reason = f'a node failed: {type(exc).__name__}: {exc}'
                break
            now = time.monotonic()
            if manager.failure:
                self.progress(manager.failure)
                failed = [manager.failure.split()[1]]
                abort_reason = manager.failure
                break
            failed = [n for n, p in children.items() if p.poll() not in (None, 0)]
            if failed:
                self.progress(f'node(s) exited with an error: {", ".join(failed)} '
                              f'(logs in {self.run_dir})')
                abort_reason = f'node(s) exited with an error: {", ".join(failed)}'
                break
            if now - last_print >= _PROGRESS_PERIOD_S:
                last_print = now
                self.progress(f'[{now - start:6.1f} s wall] sim {monitor.sim_seconds():7.1f} s  '
                              f'{monitor.state:<9} {monitor.progress:5.1f} % processed')
            if monitor.state in FINAL_STATES:
                final_at = final_at or now
                if monitor.report_dir or now - final_at > _REPORT_GRACE_S:
                    break
                continue
            if self.stop:
                abort_reason = self.stop.reason
                self.progress(f'{abort_reason}: aborting the mission')
                break
            if now - start > self.timeout_s:
                timed_out = True
                abort_reason = f'timed out after {self.timeout_s:g} s wall'
                self.progress(f'{abort_reason}: aborting the mission')
                break
        self._abort_reason = abort_reason
        if abort_reason and monitor.state not in FINAL_STATES:
            self._salvage_report(executor, monitor, abort_reason)
        return RunResult(mission_state=monitor.state,
                         run_dir=monitor.report_dir or self.run_dir,
                         summary=read_summary(monitor.report_dir or self.run_dir),
                         wall_time_s=time.monotonic() - start, failed_nodes=failed,
                         timed_out=timed_out, interrupted=self.stop.reason)

    def _hand_reason(self, reason: str) -> None:
        """Give an in-process mission manager the reason its next /mission/abort records."""
        for node in self._built:
            component = getattr(getattr(node, 'runtime', None), 'component', None)
            if topics.MISSION_ABORT in getattr(type(component), 'services', {}).values() \
                    and hasattr(component, 'abort_reason'):
                component.abort_reason = reason

    def _salvage_report(self, executor: Executor, monitor: MissionMonitor,
                        reason: str) -> None:
        """Have the mission aborted through /mission/abort and wait for its report.

        The request is repeated (every second) until the mission manager served it with
        success or the mission reached a final state by itself; bounded by _REPORT_GRACE_S.
        """
        self._hand_reason(reason)
        deadline = time.monotonic() + _REPORT_GRACE_S
        asked_at: Optional[float] = None
        while not monitor.report_dir and time.monotonic() < deadline:
            now = time.monotonic()
            answer = monitor.abort_answer()
            pending = monitor.abort_future is not None and answer is None
            retry = asked_at is None or (not pending and not answer.success
                                         and now - asked_at > _ABORT_RETRY_S)
            if monitor.state not in FINAL_STATES and retry and monitor.request_abort():
                asked_at = now
            try:
                executor.spin_once(timeout_sec=_SPIN_SLICE_S)
            except Exception as exc:  # noqa: BLE001 - the failed node may raise again
                self.progress(f'while saving the report: {type(exc).__name__}: {exc}')
        if asked_at is None:
            self.progress('mission manager unreachable: no report')
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


def abort_record(result: RunResult, nodes: List[ResolvedNode], reason: str,
                 progress: Callable[[str], None]) -> RunResult:
    """``result``, with its mission aborted for ``reason`` and reported by a mission manager
    hosted here, for a run whose own wrote no report (stopped before it was configured, never
    reachable, killed). Call it once the stack's nodes are stopped: it owns the run folder.

    The component is the stack's (:class:`ComponentRuntime`, with the node's parameters): on
    the folder's journal when there is one (its next segment: the record so far is kept),
    else on a new one, so that a mission stopped before it began still has its record.
    ``result`` unchanged when it cannot be done (no mission manager among ``nodes``, a journal
    it cannot continue): :func:`report_if_missing` then rebuilds what the journal holds.
    """
    spec = next((n for n in nodes
                 if topics.MISSION_ABORT in n.component().services.values()), None)
    if spec is None:
        return result
    run_dir = result.run_dir
    values = dict(spec.parameters, report_dir=run_dir,
                  resume_dir=run_dir if os.path.exists(journal_path(run_dir)) else '')
    log = RecordingLog()
    runtime = ComponentRuntime(spec.component(), name=spec.name,
                               sink=lambda port, value: None, log=log)
    try:
        runtime.configure(values)
        runtime.component.abort(reason, 0.0)
        runtime.shutdown(0.0)
    except (*CONFIG_ERRORS, JournalError, OSError) as exc:
        progress(f'the mission could not be aborted here: {exc}')
        return result
    summary = read_summary(run_dir)
    if summary is None:
        progress('the mission could not be aborted here: ' + '; '.join(log.at('error')))
        return result
    progress(f'the mission manager wrote no report: mission aborted here ({reason})')
    return dataclasses.replace(result, summary=summary, mission_state=summary['outcome'])


__all__ = ['CONFIG_ERRORS', 'ExecutorKind', 'FINAL_STATES', 'MissionMonitor', 'RunMode',
           'RunResult', 'detach_qos_events', 'lifecycle_manager',
           'StackRunner', 'abort_record', 'instantiate', 'validate']
