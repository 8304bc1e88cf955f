"""What both hosts do the same way around a component: lifecycle state, gating, dispatch.

The ROS host and the deterministic host each wrap a :class:`ComponentRuntime`; the runtime
alone decides whether an input reaches the component (configured), a timer fires (active) or
an output leaves it (active), so the two hosts cannot differ there.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple, Type

from demining_bringup.contract.component import Component, Log
from demining_bringup.contract.parameters import from_dict
from demining_bringup.contract.states import LifecycleState

#: Where an emitted value goes: ``sink(port, value)``.
Sink = Callable[[str, Any], None]
#: States in which a component takes its inputs.
_RECEIVING = frozenset((LifecycleState.INACTIVE, LifecycleState.ACTIVE))


class ComponentRuntime:
    """One component, its lifecycle state and the gates around it."""

    def __init__(self, cls: Type[Component], *, name: str = '', sink: Sink, log: Log) -> None:
        """Instantiate ``cls`` (nothing is configured yet); check its handlers exist."""
        self.cls = cls
        self.name = name or cls.name
        self.log = log
        self._sink = sink
        self.state = LifecycleState.UNCONFIGURED
        self.component = cls(self)
        self.params: Any = None
        self.periods: Dict[str, float] = {}
        #: Outputs a component tried to emit while not active (dropped), per port.
        self.dropped: Dict[str, int] = {}
        self._handlers = {port: self._method(f'on_{port}') for port in cls.inputs}
        self._services = {name: self._method(f'srv_{name}') for name in cls.services}

    def _method(self, name: str) -> Callable[..., Any]:
        method = getattr(self.component, name, None)
        if not callable(method):
            raise TypeError(f'component {self.cls.__name__} declares a port or service '
                            f'without its handler {name}()')
        return method

    # -- what the component calls ---------------------------------------------------------

    def emit(self, port: str, value: Any) -> None:
        """Pass an output on to the host while active; count and drop it otherwise."""
        if port not in self.cls.outputs:
            raise KeyError(f'{self.name}: no output port {port!r}')
        if self.state is not LifecycleState.ACTIVE:
            self.dropped[port] = self.dropped.get(port, 0) + 1
            return
        self._sink(port, value)

    # -- lifecycle transitions (the lifecycle manager drives these) ------------------------

    def configure(self, values: Mapping[str, Any]) -> None:
        """Validate parameters into the schema and configure; raises a config error."""
        params = from_dict(self.cls.params, values, where=self.name, allow_unknown=True)
        self.component.on_configure(params)
        self.params = params
        self.periods = dict(self.component.timers())
        for timer in self.periods:
            self._method(timer)
        self.state = LifecycleState.INACTIVE

    def activate(self, now: float) -> None:
        """Open the outputs, then let the component start (it may emit at once)."""
        self.state = LifecycleState.ACTIVE
        self.component.on_activate(now)

    def deactivate(self, now: float) -> None:
        """Let the component stop, then close the outputs."""
        self.component.on_deactivate(now)
        self.state = LifecycleState.INACTIVE

    def cleanup(self) -> None:
        """Drop what configure built."""
        self.component.on_cleanup()
        self.params = None
        self.periods = {}
        self.state = LifecycleState.UNCONFIGURED

    def shutdown(self, now: float) -> None:
        """Final transition from any state."""
        if self.state is not LifecycleState.FINALIZED:
            self.component.on_shutdown(now)
        self.state = LifecycleState.FINALIZED

    # -- dispatch ---------------------------------------------------------------------------

    def deliver(self, port: str, value: Any, now: float) -> None:
        """Hand a decoded input to the component (configured or active)."""
        if self.state in _RECEIVING:
            self._handlers[port](value, now)

    def fire(self, timer: str, now: float) -> None:
        """Run a timer's method (active only)."""
        if self.state is LifecycleState.ACTIVE:
            getattr(self.component, timer)(now)

    def call(self, service: str, now: float) -> Tuple[bool, str]:
        """Serve a Trigger request (active only)."""
        if self.state is not LifecycleState.ACTIVE:
            return False, f'{self.name} is {self.state.value}'
        ok, message = self._services[service](now)
        return bool(ok), str(message)

    def diagnostics(self, now: float) -> Optional[tuple]:
        """The component's diagnostics, with the lifecycle state added."""
        status = self.component.diagnostics(now) if self.params is not None else None
        if status is None:
            return None
        level, message, values = status
        return level, message, {'lifecycle_state': self.state.value, **dict(values)}


class RecordingLog:
    """A component log that keeps every line: (level, text, throttle_s).

    What a test or a tool hands :class:`ComponentRuntime` to read a component's log back.
    """

    LEVELS = ('debug', 'info', 'warning', 'error')

    def __init__(self) -> None:
        """Start empty."""
        self.lines: List[Tuple[str, str, float]] = []

    def debug(self, text: str, *, throttle_s: float = 0.0) -> None:
        """Keep a DEBUG line."""
        self.lines.append(('debug', text, throttle_s))

    def info(self, text: str, *, throttle_s: float = 0.0) -> None:
        """Keep an INFO line."""
        self.lines.append(('info', text, throttle_s))

    def warning(self, text: str, *, throttle_s: float = 0.0) -> None:
        """Keep a WARN line."""
        self.lines.append(('warning', text, throttle_s))

    def error(self, text: str, *, throttle_s: float = 0.0) -> None:
        """Keep an ERROR line."""
        self.lines.append(('error', text, throttle_s))

    def at(self, level: str) -> List[str]:
        """The texts logged at ``level``."""
        return [text for lv, text, _ in self.lines if lv == level]

    def has(self, level: str, fragment: str) -> bool:
        """True when a line at ``level`` contains ``fragment``."""
        return any(fragment in text for text in self.at(level))


class Throttle:
    """Per-message throttling of a component's log lines, on the host's clock.

    Keyed by level and the message's head (its first words, before any number), as rclpy
    throttles per call site: a component logs through one host call site, so the host
    throttles here and never asks rclpy to.
    """

    #: Characters of a message that identify it.
    HEAD_CHARS = 40

    def __init__(self, clock: Callable[[], float]) -> None:
        """Throttle on ``clock()`` (seconds)."""
        self._clock = clock
        self._last: Dict[Tuple[int, str], float] = {}

    def allow(self, level: int, text: str, throttle_s: float) -> bool:
        """True when the line may be logged now."""
        if throttle_s <= 0.0:
            return True
        key = (level, text[:self.HEAD_CHARS])
        now = self._clock()
        last = self._last.get(key)
        if last is not None and 0.0 <= now - last < throttle_s:
            return False
        self._last[key] = now
        return True


__all__ = ['ComponentRuntime', 'RecordingLog', 'Sink', 'Throttle']
