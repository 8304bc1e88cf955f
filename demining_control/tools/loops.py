"""The tool's closed loops: rotor speed (PI + load feedforward) and depth (ground following).

Rotor: the hydraulic drive has its own stiff speed loop (its torque is ``K (w_cmd - w)`` up to
the relief-valve torque, ``vehicle_params.flail_speed_gain_nms``), so under a soil load ``T`` it
droops by ``T / K``. The outer loop here commands ``w_ref + T_meas / K`` (feedforward from the
measured torque, the drive's effort) plus a PI on the remaining error; the reference ``w_ref``
is ramp-limited (``spin_ramp_radps2``: a flail spun up too fast throws its chains) and the
integrator stops while the command saturates or the rotor is not in the loop (anti-windup by
conditional integration, Astrom & Hagglund, *Advanced PID Control*, 2006, ch. 3.5).

Depth: the arm command is the required depth below the local ground plus a correction that a
PI builds from the ride-height sensor's measured depth below the local ground, so the tool
follows the ground the tracks do not stand on (a ridge under the flail, a hollow). The
correction is clamped (``max_depth_correction_m``) and the arm command rate-limited
(``depth_rate_mps``) so a bad reading cannot drive the tool into the ground. Over a network
the measurement arrives late (DDS: 0.1-0.3 s) and less often than the loop runs: it is compared
with the arm model at the measurement's own stamp, and each measurement is used once. Compared
with the arm's present position, a late reading of a moving arm looks like a ground offset and
the loop oscillates (the depth swung 0.12-0.20 m over DDS while it held 0.15-0.17 m on the
deterministic host; a Smith predictor's idea: Astrom & Hagglund 2006, ch. 7). The model cannot
know when a late *command* reached the arm, so where the machine reports the arm's own position
(``ToolState.arm``: the cylinder's stroke sensor that hydraulic arms carry) the measurement is
compared with that, taken at the same instant: then neither delay moves the estimate.
"""

from __future__ import annotations

import collections
import dataclasses
import math
from typing import Deque, Optional, Tuple


def ramp(current: float, target: float, rate: float, dt: float) -> float:
    """``current`` moved toward ``target`` by at most ``rate x dt``."""
    step = rate * dt
    if target > current:
        return min(target, current + step)
    return max(target, current - step)


@dataclasses.dataclass
class RotorLoop:
    """PI + load feedforward speed loop of one rotor (see the module docstring)."""

    kp: float
    ki: float
    drive_gain_nms: float
    max_cmd_radps: float
    ramp_radps2: float
    reversible: bool = False
    ref: float = 0.0
    integral: float = 0.0
    command: float = 0.0

    def reset_integral(self) -> None:
        """Forget the integral (a stall, a reversal: the loop starts afresh)."""
        self.integral = 0.0

    def update(self, target: float, measured: float, torque: float, dt: float,
               closed: bool = True) -> float:
        """Return the rotor speed command for ``target``; ``closed`` is False while the rotor
        is not under control (spin-up from rest, reversal, feedback lost): feedforward and
        integral are then held at zero."""
        low = -self.max_cmd_radps if self.reversible else 0.0
        target = min(max(target, low), self.max_cmd_radps)
        self.ref = ramp(self.ref, target, self.ramp_radps2, dt)
        if not closed or not (math.isfinite(measured) and math.isfinite(torque)):
            self.integral = 0.0
            self.command = self.ref
            return self.command
        err = self.ref - measured
        ff = max(torque, 0.0) / self.drive_gain_nms if self.ref > 0.0 else 0.0
        raw = self.ref + ff + self.kp * err + self.integral
        cmd = min(max(raw, low), self.max_cmd_radps)
        # Conditional integration: only while unsaturated, or when the error pulls back out.
        if cmd == raw or (err > 0.0) != (raw > cmd):
            self.integral += self.ki * err * dt
        self.command = cmd
        return cmd


#: Arm model positions kept for late measurements (at a 0.05 s period: 2.5 s).
_ARM_HISTORY = 50
#: Longest gap between two measurements that still counts as one step of the loop, s (after
#: a longer silence the loop does not integrate the whole gap at once).
_MAX_MEASUREMENT_GAP_S = 0.5


@dataclasses.dataclass
class DepthLoop:
    """Ground following from the ride-height sensor (see the module docstring).

    A disturbance observer: the ground's offset under the tool is the measured depth minus where
    the arm is (a model of the arm: it follows the command at ``arm_rate_mps``), low-pass
    filtered over ``filter_s`` against the sensor's noise; the arm is commanded to the required
    depth minus that offset, plus an integral of the remaining error (bias), at no more than
    the arm's rate (so the model stays true).
    """

    ki: float
    filter_s: float
    max_correction_m: float
    max_depth_m: float
    arm_rate_mps: float
    offset: float = 0.0
    integral: float = 0.0
    arm: float = math.nan
    #: The arm model's recent positions (time, m), to compare a late measurement with.
    history: Deque[Tuple[float, float]] = dataclasses.field(
        default_factory=lambda: collections.deque(maxlen=_ARM_HISTORY))
    #: Stamp of the last measurement used (each is used once).
    last_stamp: float = -math.inf

    def reset(self) -> None:
        """Forget what was learnt (the tool left the ground)."""
        self.offset = self.integral = 0.0
        self.arm = math.nan
        self.history.clear()
        self.last_stamp = -math.inf

    def track(self, command: float, dt: float, now: Optional[float] = None) -> None:
        """Follow the arm model to ``command`` (also while the loop is not in charge)."""
        self.arm = command if not math.isfinite(self.arm) else \
            ramp(self.arm, command, self.arm_rate_mps, dt)
        if now is not None and math.isfinite(now):
            self.history.append((now, self.arm))

    def arm_at(self, stamp: float) -> float:
        """Return the arm model's position at ``stamp`` (its latest one not after it)."""
        then = self.arm
        for t, arm in reversed(self.history):
            then = arm
            if t <= stamp:
                break
        return then

    def update(self, required: float, measured: float, dt: float,
               stamp: Optional[float] = None, arm: float = math.nan) -> float:
        """Return the arm command that brings the measured depth to ``required``.

        :param stamp: when ``measured`` was taken; a stamp already used adds nothing, and the
            measurement is compared with the arm where it was then.
        :param arm: the arm's measured position at ``stamp`` (its position sensor), m; NaN:
            the arm model's position is used.
        """
        lim = self.max_correction_m
        fresh = stamp is None or not math.isfinite(stamp) or stamp > self.last_stamp
        if fresh and math.isfinite(measured) and math.isfinite(self.arm):
            if stamp is not None and math.isfinite(stamp):
                # the time since the last measurement used (the first: one period)
                step = stamp - self.last_stamp if math.isfinite(self.last_stamp) else dt
                dt_meas, arm_then = min(step, _MAX_MEASUREMENT_GAP_S), self.arm_at(stamp)
                self.last_stamp = stamp
            else:
                dt_meas, arm_then = dt, self.arm
            if math.isfinite(arm):
                arm_then = arm
            seen = measured - arm_then
            # a first-order low-pass discretised for any step (exact for a held input)
            a = 1.0 - math.exp(-dt_meas / self.filter_s) if self.filter_s > 0.0 else 1.0
            self.offset = min(max(self.offset + a * (seen - self.offset), -lim), lim)
            self.integral = min(max(self.integral + self.ki * (required - measured) * dt_meas,
                                    -lim), lim)
        cmd = min(max(required - self.offset + self.integral, 0.0), self.max_depth_m)
        if math.isfinite(self.arm):
            cmd = ramp(self.arm, cmd, self.arm_rate_mps, dt)
        return cmd
