"""The component model: every node's behaviour is one plain class, hosted twice.

As ros2_control's controllers (``on_configure``, ``on_activate``, ``update``) run unchanged
against simulated or real hardware, a :class:`Component` runs unchanged in two hosts:

* the ROS host (:mod:`demining_bringup.hosts.ros`) makes it a real ``rclpy.lifecycle`` node:
  parameters declared from the schema, ports bound to topics through :mod:`.wire` with the
  contract's QoS, timers on the node clock, Trigger services, /diagnostics;
* the deterministic host (:mod:`demining_bringup.hosts.deterministic`) steps the same
  components on the simulator clock in a fixed order, ports bound in memory (still through the
  codec, so both hosts see the same values).

A component declares, as class attributes:

``name``
    the node name; ``params`` the parameter schema (a dataclass of
    :func:`demining_bringup.contract.parameters.param` fields);
``inputs`` / ``outputs``
    ``{port: Port(topic)}``; an input port ``p`` is handled by ``on_p(value, now)``;
``services``
    ``{name: service}`` (std_srvs/Trigger), handled by ``srv_<name>(now) -> (ok, message)``;
``timers()``
    ``{method name: period s}`` after configuration; the method is called as ``method(now)``.

It emits with ``self.emit(port, value)`` and logs with ``self.log``; it never imports rclpy.
Lifecycle (ROS 2 managed nodes): inputs are delivered once the component is configured (so
latched state is not lost while inactive), timers fire and outputs leave only while it is
active: an actuator command can never leave an inactive node.
"""

from __future__ import annotations

import dataclasses
from typing import (Any, ClassVar, Dict, Mapping, Optional, Protocol, Sequence, Tuple)

from demining_bringup.contract.states import DiagLevel

#: A diagnostics report: level, message, key-values.
Status = Tuple[DiagLevel, str, Mapping[str, object]]


@dataclasses.dataclass(frozen=True)
class Port:
    """A component's end of a topic of the contract."""

    topic: str
    #: An actuator output (motion or tool command): the hosts and tests check that nothing
    #: leaves it before the component is active.
    actuator: bool = False


class Log(Protocol):
    """What a component may log with (the host maps it to rclpy's logger or to a sink)."""

    def debug(self, text: str, *, throttle_s: float = 0.0) -> None:
        """Log at DEBUG."""

    def info(self, text: str, *, throttle_s: float = 0.0) -> None:
        """Log at INFO."""

    def warning(self, text: str, *, throttle_s: float = 0.0) -> None:
        """Log at WARN."""

    def error(self, text: str, *, throttle_s: float = 0.0) -> None:
        """Log at ERROR."""


class HostHandle(Protocol):
    """What a host gives its component."""

    log: Log

    def emit(self, port: str, value: Any) -> None:
        """Send ``value`` on output ``port`` (dropped unless the component is active)."""


class Component:
    """Base class of every node's behaviour (see the module docstring)."""

    name: ClassVar[str] = ''
    params: ClassVar[type]
    inputs: ClassVar[Mapping[str, Port]] = {}
    outputs: ClassVar[Mapping[str, Port]] = {}
    services: ClassVar[Mapping[str, str]] = {}
    #: Period of the diagnostics the host publishes from :meth:`diagnostics`, s.
    diagnostics_period_s: ClassVar[float] = 1.0
    #: True for the component that owns simulated time (:class:`ClockSource`).
    clock_source: ClassVar[bool] = False

    def __init__(self, host: HostHandle) -> None:
        """Bind to the host; nothing is built before :meth:`on_configure`."""
        self._host = host
        self.log: Log = host.log

    def emit(self, port: str, value: Any) -> None:
        """Send ``value`` on output ``port``."""
        self._host.emit(port, value)

    # -- lifecycle hooks (override what you need) -------------------------------------------

    def on_configure(self, params: Any) -> None:
        """Build the cores from validated parameters; raise a config error to refuse."""

    def on_activate(self, now: float) -> None:
        """Start working (emit latched initial states here)."""

    def on_deactivate(self, now: float) -> None:
        """Stop working (outputs are closed after this returns)."""

    def on_cleanup(self) -> None:
        """Drop what :meth:`on_configure` built."""

    def on_shutdown(self, now: float) -> None:
        """Last call before the host goes away, from any state."""

    def timers(self) -> Dict[str, float]:
        """Return ``{method name: period s}``; called after :meth:`on_configure`."""
        return {}

    def diagnostics(self, now: float) -> Optional[Status]:
        """Return this component's diagnostics (None: nothing to report)."""
        return None

    # -- introspection used by the hosts --------------------------------------------------

    @classmethod
    def actuator_ports(cls) -> Sequence[str]:
        """The output ports that command actuators."""
        return [name for name, port in cls.outputs.items() if port.actuator]


class ClockSource(Component):
    """A component that owns simulated time (the embedded simulator).

    The deterministic host calls :meth:`advance_to` at every clock tick; the ROS host calls it
    from a wall-clock timer at ``real_time_factor``, paced by :attr:`pacing_inputs`: simulated
    time may lead the last value received on those ports (its stamp, or its arrival time) by
    ``lockstep_max_lead_s`` only.
    """

    clock_source: ClassVar[bool] = True
    pacing_inputs: ClassVar[Tuple[str, ...]] = ()

    @property
    def time(self) -> float:
        """Simulated time reached, s."""
        raise NotImplementedError

    def advance_to(self, t: float) -> None:
        """Advance simulated time to ``t`` and emit what happened meanwhile."""
        raise NotImplementedError

    def clock_period_s(self) -> float:
        """Simulated seconds between /clock ticks."""
        raise NotImplementedError

    def pacing(self) -> Tuple[float, float, float]:
        """Return (real_time_factor, lockstep_max_lead_s, lockstep_timeout_s)."""
        raise NotImplementedError


__all__ = ['ClockSource', 'Component', 'HostHandle', 'Log', 'Port', 'Status']
