"""Run a whole mission on the deterministic host: ``demine run --backend core``.

The same resolved node list as the DDS runner and the launch file
(:func:`demining_bringup.stack.resolve_stack`): the same component classes with the same
parameters, hosted by :class:`demining_bringup.hosts.deterministic.DeterministicHost` in
one synchronous loop on the simulator clock, brought up by the lifecycle manager's plan.
One seed gives one clearance report, byte for byte (``report.md`` carries its generation
time; the other files do not). What this host does not reproduce of a DDS run is listed in
:data:`DIFFERENCES`.

No rclpy here. Every way a run ends leaves a complete report folder, written by the mission
manager: a component that raises ends the run like a crashed process, and the wall-clock limit,
the simulated-time limit and a stop request (SIGINT/SIGTERM through
:class:`demining_bringup.results.StopRequest`) end it the same way: the mission is aborted through
its /mission/abort service, with the reason (:func:`abort_mission`), before the host shuts down.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any, Callable, List, Optional, Tuple

from demining_bringup.contract import topics
from demining_bringup.contract.states import MissionState
from demining_bringup.hosts.deterministic import (LOGGER_NAME, ComponentFailure,
                                                  DeterministicHost, Hosted)
from demining_bringup.results import RunResult, StopRequest, read_summary
from demining_bringup.stack import ResolvedNode

#: What the deterministic host does not reproduce of a DDS run (for the docs).
DIFFERENCES = (
    'commands change only at clock ticks (the DDS simulator also steps between ticks)',
    'no lockstep or real_time_factor: the loop runs as fast as the components allow',
    'no /diagnostics (the components compute them; nothing publishes them)',
)
_DEFAULT_PROGRESS_PERIOD_S = 60.0
#: The runner's own simulated-time limit is the mission manager's time limit (its budget,
#: which grows with the field) plus this margin, s (30 min): the mission manager ends every
#: mission by its limit; the runner only backs it up. A fixed cap here cut a 1,070 m^2 wet-clay
#: field at 4 h and 80 % while the mission's own budget was 22 h.
TIME_LIMIT_MARGIN_S = 1800.0
#: The runner's limit where no mission manager is hosted (nothing else would end the run), s.
_NO_MISSION_SIM_TIME_LIMIT_S = 4 * 3600.0


class _Monitor:
    """Follows the mission from outside the stack (taps, like the DDS runner's monitor)."""

    def __init__(self, host: DeterministicHost) -> None:
        self.state = MissionState.IDLE
        self.progress = 0.0
        self.report_dir: Optional[str] = None
        host.tap(topics.MISSION_STATE, self._on_state)
        host.tap(topics.MISSION_PROGRESS, self._on_progress)
        host.tap(topics.MISSION_REPORT, self._on_report)

    def _on_state(self, state: MissionState) -> None:
        self.state = state

    def _on_progress(self, value: float) -> None:
        self.progress = value

    def _on_report(self, path: str) -> None:
        self.report_dir = path


def abort_mission(host: DeterministicHost, reason: str) -> Tuple[bool, str]:
    """Abort the mission through /mission/abort, recording ``reason`` in its report.

    The mission manager runs in this process, so the reason is handed to the component
    (``abort_reason``, what its next /mission/abort records) before the service is called.
    """
    for rt in host.runtimes.values():
        if topics.MISSION_ABORT in rt.cls.services.values() and rt.name not in host.failed:
            if hasattr(rt.component, 'abort_reason'):
                rt.component.abort_reason = reason
    try:
        return host.call(topics.MISSION_ABORT)
    except ComponentFailure as exc:
        return False, f'abort failed: {exc}'


def backstop_limit_s(mission_time_limit_s: float, start_stamp: Optional[float]) -> float:
    """Simulated time at which a mission still running is aborted from outside the stack: the
    mission manager's time limit (``MissionManager.time_limit_s``, counted from the mission's
    start, or from 0 before it started) plus :data:`TIME_LIMIT_MARGIN_S`."""
    start = float(start_stamp) if start_stamp is not None and math.isfinite(start_stamp) else 0.0
    return start + float(mission_time_limit_s) + TIME_LIMIT_MARGIN_S


def mission_core(host: DeterministicHost) -> Optional[Any]:
    """The hosted mission manager's core (the component serving /mission/abort), or None."""
    for rt in host.runtimes.values():
        if topics.MISSION_ABORT in rt.cls.services.values():
            return getattr(rt.component, 'mission', None)
    return None


def hosted(nodes: List[ResolvedNode]) -> List[Hosted]:
    """The resolved nodes as (component class, name, parameters)."""
    return [Hosted(spec.component(), spec.name, spec.parameters) for spec in nodes]


def run_deterministic(nodes: List[ResolvedNode], *, run_dir: str = '',
                      progress: Optional[Callable[[str], None]] = None,
                      progress_period_s: float = _DEFAULT_PROGRESS_PERIOD_S,
                      sim_time_limit_s: Optional[float] = None,
                      wall_time_limit_s: Optional[float] = None,
                      log_level: int = logging.WARNING,
                      stop: Optional[StopRequest] = None,
                      record_path: str = '') -> RunResult:
    """Run the mission to its end (or a time limit, or ``stop``) and return how it ended.

    ``run_dir`` is the report folder the stack was given (the result names it even when no
    report could be written). ``stop`` is polled every tick; once set, the mission is aborted
    with its reason and the report written. ``record_path``: write every message to this
    MCAP file (:mod:`demining_bringup.recording`). ``sim_time_limit_s``: abort a mission still
    running at this simulated time; None: :func:`backstop_limit_s` of the mission's own limit.
    """
    say = progress or (lambda line: None)
    logging.getLogger(LOGGER_NAME).setLevel(log_level)
    start = time.monotonic()
    host = DeterministicHost(hosted(nodes))
    recorder = None
    if record_path:
        from demining_bringup.recording import McapRecorder
        recorder = McapRecorder(record_path)
        host.record_with(recorder.write_message)
    monitor = _Monitor(host)
    host.startup()
    state = {'next_progress': progress_period_s, 'timed_out': False}
    mission = mission_core(host)

    def sim_limit() -> float:
        if sim_time_limit_s is not None:
            return sim_time_limit_s
        if mission is None:
            return _NO_MISSION_SIM_TIME_LIMIT_S
        return backstop_limit_s(mission.time_limit_s, mission.start_stamp)

    def on_tick(t: float) -> None:
        if t >= state['next_progress']:
            state['next_progress'] += progress_period_s
            say(f'[{time.monotonic() - start:6.1f} s wall] sim {t:7.1f} s  '
                f'{monitor.state.value:<9} {monitor.progress:5.1f} % processed')

    why = {'reason': ''}

    def done() -> bool:
        if monitor.state.terminal:
            return True
        if stop:
            why['reason'] = stop.reason
            return True
        if wall_time_limit_s is not None and time.monotonic() - start > wall_time_limit_s:
            state['timed_out'] = True
            why['reason'] = f'timed out after {wall_time_limit_s:g} s wall'
            return True
        limit = sim_limit()
        if host.now >= limit:
            state['timed_out'] = True
            why['reason'] = f'simulated-time limit of {limit:g} s reached'
            return True
        return False

    failed: List[str] = []
    sim_t = 0.0
    try:
        sim_t = host.run(done, on_tick=on_tick)
        if not monitor.state.terminal:
            say(f'{why["reason"]} at {sim_t:.0f} s simulated: aborting the mission')
            ok, message = abort_mission(host, why['reason'])
            say(message)
    except ComponentFailure as exc:
        failed = [exc.name]
        sim_t = host.now
        say(f'node {exc}: the run ends')
        ok, message = abort_mission(host, f'node {exc.name} failed: '
                                    f'{type(exc.exc).__name__}: {exc.exc}')
        say(f'mission {monitor.state.value}: {message}')
    finally:
        host.shutdown()
        if recorder is not None:
            recorder.close()
            say(recorder.cost_line(sim_t))
    run_dir = monitor.report_dir or run_dir
    return RunResult(mission_state=monitor.state.value, run_dir=run_dir,
                     summary=read_summary(monitor.report_dir),
                     wall_time_s=time.monotonic() - start, sim_time_s=sim_t,
                     timed_out=bool(state['timed_out']), failed_nodes=failed,
                     interrupted=stop.reason if stop else '')


__all__ = ['DIFFERENCES', 'TIME_LIMIT_MARGIN_S', 'abort_mission', 'backstop_limit_s', 'hosted',
           'mission_core', 'run_deterministic']
