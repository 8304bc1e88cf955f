"""The deterministic host: the stack's components stepped on the simulator clock, no DDS.

Every ``clock_period_s`` simulated seconds, in this fixed order:

1. the clock source (the simulator) advances to the tick and emits what happened;
2. every emitted value is delivered, first in first out, to the input ports bound to its
   topic, each subscriber getting its own ``wire.decode(wire.encode(value))`` (the codec's
   float32 clouds, nanosecond stamps, quaternion yaw and its checks: both hosts hand a
   component the same numbers and drop the same malformed messages); what a handler emits
   joins the end of the queue. Where the topic's wire has a ``wire.FastPath`` and nothing
   records the run, that round trip is made without building the ROS message (the same
   values, held to the real one by ``test/demining_bringup/test_wire_fast.py``); a garbage
   value always takes the real path;
3. the components' timers that are due fire in stack order (config/stack.yaml), each timer in
   its component's declaration order, the queue drained after each.

Nothing depends on thread or message timing, so one seed gives one run, byte for byte. The
lifecycle (configure all, activate all, in stack order) is the lifecycle manager's plan
(:mod:`.lifecycle`). Diagnostics are computed by the components but not published here.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import math
import sys
from typing import Any, Callable, Deque, Dict, List, Mapping, Optional, Tuple, Type

from demining_bringup.contract.codec import DecodeError
from demining_bringup.contract.component import ClockSource, Component
from demining_bringup.contract.datatypes import Garbage
from demining_bringup.contract.errors import ConfigError
from demining_bringup.contract.wire import Wires, wires
from demining_bringup.hosts.lifecycle import (Transition, TransitionSequence, shutdown_plan,
                                              startup_plan)
from demining_bringup.hosts.runtime import ComponentRuntime, Throttle

#: Float tolerance when comparing simulated times with timer deadlines, s.
_T_EPS = 1e-9
#: Logger of the deterministic host (each component logs to a child of it).
LOGGER_NAME = 'demining'


class _Timer:
    """A periodic timer on simulated time (first fire one period after the start)."""

    def __init__(self, period_s: float) -> None:
        self.period_s = period_s
        self._n = 1

    def due(self, t: float) -> bool:
        if t + _T_EPS < self._n * self.period_s:
            return False
        self._n = int(math.floor(t / self.period_s + _T_EPS)) + 1
        return True


#: rcutils' severity names (the console's ``[WARN]``), by Python logging level.
_SEVERITY = {logging.DEBUG: 'DEBUG', logging.INFO: 'INFO', logging.WARNING: 'WARN',
             logging.ERROR: 'ERROR', logging.CRITICAL: 'FATAL'}


class HostLog:
    """A component's log: Python logging, throttled on simulated time; each record carries
    the simulated time it was made at (``sim_time``, for :class:`LogFormatter`)."""

    def __init__(self, name: str, clock: Callable[[], float]) -> None:
        """Log as ``demining.<name>``; throttle on ``clock()`` (simulated seconds)."""
        self._logger = logging.getLogger(f'{LOGGER_NAME}.{name}')
        self._clock = clock
        self._throttle = Throttle(clock)

    def _log(self, level: int, text: str, throttle_s: float) -> None:
        if self._throttle.allow(level, text, throttle_s):
            self._logger.log(level, text, extra={'sim_time': self._clock()})

    def debug(self, text: str, *, throttle_s: float = 0.0) -> None:
        """Log at DEBUG."""
        self._log(logging.DEBUG, text, throttle_s)

    def info(self, text: str, *, throttle_s: float = 0.0) -> None:
        """Log at INFO."""
        self._log(logging.INFO, text, throttle_s)

    def warning(self, text: str, *, throttle_s: float = 0.0) -> None:
        """Log at WARNING."""
        self._log(logging.WARNING, text, throttle_s)

    def error(self, text: str, *, throttle_s: float = 0.0) -> None:
        """Log at ERROR."""
        self._log(logging.ERROR, text, throttle_s)


class LogFormatter(logging.Formatter):
    """A log line as a ROS 2 console prints one (rcutils' default
    ``[{severity}] [{time}] [{name}]: {message}``), the time being the simulated seconds of
    the record (:class:`HostLog`) so that it matches the journal's and the report's stamps;
    the node name without the ``demining.`` prefix. A record from elsewhere (no simulated
    time) shows ``-``."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line (a traceback, if any, on the lines after it)."""
        t = getattr(record, 'sim_time', None)
        stamp = f'{t:.3f}' if isinstance(t, (int, float)) and math.isfinite(t) else '-'
        name = record.name
        if name.startswith(LOGGER_NAME + '.'):
            name = name[len(LOGGER_NAME) + 1:]
        line = (f'[{_SEVERITY.get(record.levelno, record.levelname)}] [{stamp}] [{name}]: '
                f'{record.getMessage()}')
        if record.exc_info:
            line += '\n' + self.formatException(record.exc_info)
        return line


class ConsoleHandler(logging.Handler):
    """Writes :class:`LogFormatter` lines to the ``sys.stderr`` of the moment (as Python's
    last-resort handler does: a test's captured stream, the CLI's terminal)."""

    def __init__(self, level: int = logging.NOTSET) -> None:
        """A handler at ``level`` with a :class:`LogFormatter`."""
        super().__init__(level)
        self.setFormatter(LogFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        """Write the record's line."""
        try:
            sys.stderr.write(self.format(record) + '\n')
        except Exception:  # noqa: BLE001 - logging's contract: a failed write is reported
            self.handleError(record)


@dataclasses.dataclass(frozen=True)
class Hosted:
    """What to host: a component class, its node name and its parameter values."""

    cls: Type[Component]
    name: str
    parameters: Mapping[str, Any]


class ComponentFailure(RuntimeError):
    """A component raised: the node ``name`` is gone (as a crashed process would be)."""

    def __init__(self, name: str, exc: BaseException) -> None:
        """Wrap the exception ``exc`` raised by node ``name``."""
        super().__init__(f'{name}: {type(exc).__name__}: {exc}')
        self.name = name
        self.exc = exc


class DeterministicHost:
    """Hosts components in one synchronous loop on the clock source's time."""

    def __init__(self, hosted: List[Hosted]) -> None:
        """Instantiate every component (unconfigured); exactly one must be a clock source."""
        self.now = 0.0
        self._wires: Wires = wires()
        #: (topic, message or packed value, sender, its decode or unpack), first in first out.
        self._queue: Deque[Tuple[str, Any, ComponentRuntime, Optional[Callable[[Any], Any]]]] \
            = collections.deque()
        self.runtimes: Dict[str, ComponentRuntime] = {}
        self._params: Dict[str, Mapping[str, Any]] = {}
        self._subscribers: Dict[str, List[Tuple[ComponentRuntime, str]]] = {}
        self._taps: Dict[str, List[Callable[[Any], None]]] = {}
        #: Called with (topic, encoded message, now) for every value emitted (a recording).
        self._recorder: Optional[Callable[[str, Any, float], None]] = None
        #: Values emitted per topic (all, including those no component subscribes to).
        self.emitted: Dict[str, int] = collections.Counter()
        self.failed: List[str] = []
        for h in hosted:
            rt = ComponentRuntime(h.cls, name=h.name, sink=self._sink_for(h.name, h.cls),
                                  log=HostLog(h.name, lambda: self.now))
            self.runtimes[h.name] = rt
            self._params[h.name] = h.parameters
            for port, spec in h.cls.inputs.items():
                self._wires[spec.topic]     # KeyError: a topic outside the contract
                self._subscribers.setdefault(spec.topic, []).append((rt, port))
        clocks = [rt for rt in self.runtimes.values() if rt.cls.clock_source]
        if len(clocks) != 1:
            raise ConfigError(f'the deterministic host needs exactly one clock source '
                              f'(the simulator), got {len(clocks)}')
        self._clock_rt = clocks[0]
        self._timers: List[Tuple[ComponentRuntime, str, _Timer]] = []

    @property
    def clock(self) -> ClockSource:
        """The clock source component."""
        return self._clock_rt.component  # type: ignore[return-value]

    # -- wiring -----------------------------------------------------------------------------

    def _sink_for(self, name: str, cls: Type[Component]) -> Callable[[str, Any], None]:
        # the port's topic looked up once (every value a component emits passes here), and
        # its wire at its first delivery (a topic outside the contract raises there, as before)
        port_topics = {port: spec.topic for port, spec in cls.outputs.items()}
        topic_wires: Dict[str, Any] = {}

        def sink(port: str, value: Any) -> None:
            rt = self.runtimes[name]
            topic = port_topics[port]
            self.emitted[topic] += 1
            if topic in self._subscribers or topic in self._taps or self._recorder:
                wire = topic_wires.get(topic)
                if wire is None:
                    wire = topic_wires[topic] = self._wires[topic]
                fast = wire.fast
                if fast is not None and self._recorder is None \
                        and not isinstance(value, Garbage):
                    # The same numbers without building the ROS message (wire.FastPath).
                    self._queue.append((topic, fast.pack(value, self.now), rt, fast.unpack))
                    return
                msg = wire.encode(value, self.now)
                if self._recorder is not None:
                    self._recorder(topic, msg, self.now)
                self._queue.append((topic, msg, rt, wire.decode))
        return sink

    def record_with(self, recorder: Callable[[str, Any, float], None]) -> None:
        """Hand every message emitted to ``recorder(topic, msg, now)`` (``demine --record``)."""
        self._recorder = recorder

    def tap(self, topic: str, callback: Callable[[Any], None]) -> None:
        """Observe ``topic`` from outside the stack (decoded values; the runner's monitor)."""
        self._wires[topic]
        self._taps.setdefault(topic, []).append(callback)

    def _drain(self) -> None:
        # ~300 deliveries a simulated second: the containers read once (none is replaced)
        queue, failed, subscribers, taps = self._queue, self.failed, self._subscribers, \
            self._taps
        while queue:
            topic, msg, sender, decode = queue.popleft()
            if decode is None:
                continue
            for rt, port in subscribers.get(topic, ()):
                if failed and rt.name in failed:
                    continue
                try:
                    value = decode(msg)
                except DecodeError as exc:
                    rt.log.warning(f'bad {topic} from {sender.name} dropped: {exc}',
                                   throttle_s=5.0)
                    continue
                self._guard(rt, lambda: rt.deliver(port, value, self.now))
            for callback in taps.get(topic, ()):
                try:
                    callback(decode(msg))
                except DecodeError:
                    pass

    def _guard(self, rt: ComponentRuntime, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except Exception as exc:  # noqa: BLE001 - a component's failure is a node's crash
            self.failed.append(rt.name)
            self._queue.clear()
            raise ComponentFailure(rt.name, exc) from exc

    # -- lifecycle --------------------------------------------------------------------------

    def _transition(self, name: str, transition: Transition) -> None:
        rt = self.runtimes[name]
        if transition is Transition.CONFIGURE:
            rt.configure(self._params[name])
        elif transition is Transition.ACTIVATE:
            rt.activate(self.now)
        elif transition is Transition.DEACTIVATE:
            rt.deactivate(self.now)
        elif transition is Transition.CLEANUP:
            rt.cleanup()
        else:
            rt.shutdown(self.now)

    def startup(self) -> None:
        """Configure, then activate, every component in stack order (config errors raise)."""
        seq = TransitionSequence(startup_plan(list(self.runtimes)))
        for step in seq:
            self._transition(step.node, step.transition)
            seq.report(True)
            self._drain()
        self._timers = [(rt, name, _Timer(period)) for rt in self.runtimes.values()
                        for name, period in rt.periods.items()]

    def shutdown(self) -> None:
        """Deactivate, clean up and shut down every component still alive, in reverse."""
        alive = [n for n in self.runtimes if n not in self.failed]
        for step in shutdown_plan(alive):
            try:
                self._transition(step.node, step.transition)
            except Exception as exc:  # noqa: BLE001 - shut-down goes on for the others
                self.runtimes[step.node].log.error(
                    f'{step.transition.value} failed: {type(exc).__name__}: {exc}')
        self._queue.clear()

    # -- stepping ---------------------------------------------------------------------------

    def step(self, t: float) -> None:
        """Advance to tick ``t``: clock source, deliveries, due timers (the documented order).

        :raises ComponentFailure: when a component raises (the run should then end).
        """
        self.now = t
        clock = self._clock_rt
        if clock.name not in self.failed:
            self._guard(clock, lambda: (clock.component.advance_to(t),
                                        clock.component.emit('clock', t)))
            self._drain()
        for rt, name, timer in self._timers:
            if rt.name not in self.failed and timer.due(t):
                self._guard(rt, lambda: rt.fire(name, t))
                self._drain()

    def call(self, service: str) -> Tuple[bool, str]:
        """Call the Trigger service named ``service`` (a contract name, e.g. /mission/abort).

        Deliveries it causes follow before it returns; (False, why) when no live component
        offers it.
        """
        for rt in self.runtimes.values():
            for name, offered in rt.cls.services.items():
                if offered == service:
                    if rt.name in self.failed:
                        return False, f'{rt.name} has failed'
                    result = self._guard(rt, lambda: rt.call(name, self.now))
                    self._drain()
                    return result
        return False, f'no component offers {service}'

    def run(self, until: Callable[[], bool], *, sim_time_limit_s: float = math.inf,
            on_tick: Optional[Callable[[float], None]] = None) -> float:
        """Step ticks until ``until()`` or the time limit; return the simulated time reached."""
        period = self.clock.clock_period_s()
        k = 0
        while True:
            t = k * period
            self.step(t)
            if on_tick is not None:
                on_tick(t)
            if until() or t >= sim_time_limit_s:
                return t
            k += 1


__all__ = ['ComponentFailure', 'DeterministicHost', 'HostLog', 'Hosted', 'LOGGER_NAME',
           'ConsoleHandler', 'LogFormatter']
