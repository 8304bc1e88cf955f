"""Plain data exchanged between the stack's cores (no rclpy, no message types).

Nodes convert ROS messages to and from these with :mod:`demining_bringup.codec`; the
cores and their tests only ever see these dataclasses and numpy arrays. Units are SI
(REP-103): metres, seconds, radians, kilograms; angles in ENU, yaw counter-clockwise from east.
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Optional

import numpy as np


class DetectionKind(enum.IntEnum):
    """What a detection is believed to be (also the ``kind`` field on the wire)."""

    UNKNOWN = 0
    AP = 1        # anti-personnel mine
    AT = 2        # anti-tank mine: never drive over it
    UXO = 3       # unexploded ordnance
    CLUTTER = 4   # metal or GPR clutter, no threat


@dataclasses.dataclass
class Detection:
    """One suspected buried object, in the ``map`` frame."""

    x: float
    y: float
    depth: float                 # metres below the surface, positive down
    confidence: float            # 0..1
    kind: DetectionKind = DetectionKind.UNKNOWN
    source: str = 'fused'        # 'gpr', 'md' or 'fused'
    radius: float = 0.1          # metres, the object's estimated horizontal extent
    id: int = 0
    strength: float = 0.0        # source specific: GPR stack z-score; MD and fused: metal, g


@dataclasses.dataclass
class GprScan:
    """A batch of GPR traces.

    ``positions`` are antenna positions in ``base_link`` (N x 3), ``time_offsets`` the time
    of each trace relative to ``stamp`` (seconds, <= 0), ``channels`` the antenna channel
    index, ``amplitudes`` the trace samples (N x S, float32) sampled every
    ``sample_interval_ns`` nanoseconds from the transmit pulse.
    """

    stamp: float
    positions: np.ndarray
    time_offsets: np.ndarray
    channels: np.ndarray
    sample_interval_ns: float
    amplitudes: np.ndarray
    frame_id: str = 'base_link'


@dataclasses.dataclass
class MdScan:
    """A batch of metal-detector coil readings (``signals`` in detector units, ~mV)."""

    stamp: float
    positions: np.ndarray        # N x 3, coil centres in base_link
    time_offsets: np.ndarray     # N, seconds relative to stamp (<= 0)
    channels: np.ndarray         # N, coil index
    signals: np.ndarray          # N, float32
    frame_id: str = 'base_link'


@dataclasses.dataclass
class VehicleState:
    """Planar vehicle state in the ``map`` frame, as controllers see it."""

    stamp: float
    x: float
    y: float
    yaw: float
    v: float = 0.0               # forward speed, m/s
    omega: float = 0.0           # yaw rate, rad/s
    covariance_xy: float = 0.0   # position variance, m^2 (max of x, y)


@dataclasses.dataclass
class Twist2D:
    """A planar velocity command (geometry_msgs/Twist linear.x and angular.z)."""

    v: float = 0.0
    omega: float = 0.0


@dataclasses.dataclass
class ToolCommand:
    """Command of the ground-processing tools.

    On the wire: sensor_msgs/JointState, joints ``flail_rotor`` and ``tiller_rotor``
    (velocity, rad/s) and ``tool_depth`` (position, metres below the surface).
    """

    flail_speed: float = 0.0
    tiller_speed: float = 0.0
    depth: float = 0.0


@dataclasses.dataclass
class ToolState:
    """Measured tool state (sensor_msgs/JointState on /tool/joint_states)."""

    stamp: float
    flail_speed: float = 0.0     # rad/s
    tiller_speed: float = 0.0    # rad/s
    depth: float = 0.0           # m below the surface
    flail_torque: float = 0.0    # N m (effort)
    tiller_torque: float = 0.0   # N m (effort)


@dataclasses.dataclass
class SimEvent:
    """A ground-truth event from the simulator (/sim/events; never used by perception).

    ``kind`` is one of ``neutralised``, ``ap_detonation``, ``at_detonation``, ``damage``,
    ``collision``, ``intrusion``, ``fault``.
    """

    stamp: float
    kind: str
    item_id: str = ''
    item_kind: str = ''
    x: float = 0.0
    y: float = 0.0
    detail: str = ''
    extra: Optional[dict] = None
