"""Plain data exchanged between the stack's cores (no rclpy, no message types).

Nodes convert ROS messages to and from these with :mod:`demining_bringup.contract.codec`; the
cores and their tests only ever see these dataclasses and numpy arrays. Units are SI
(REP-103): metres, seconds, radians, kilograms; angles in ENU, yaw counter-clockwise from east.
"""

from __future__ import annotations

import dataclasses
import math
import enum
from typing import List, Optional, Sequence, Tuple

import numpy as np

#: sensor_msgs/NavSatStatus.STATUS_GBAS_FIX: an RTK (ground-based augmentation) fix.
STATUS_GBAS_FIX = 2
#: sensor_msgs/NavSatStatus.STATUS_FIX: a status at or above it is a fix.
STATUS_FIX = 0
#: REP-145: a covariance[0] (or variance) of -1 means "this field is not provided".
NOT_PROVIDED = -1.0


class DetectionKind(enum.IntEnum):
    """What a detection is believed to be (also the ``kind`` field on the wire)."""

    UNKNOWN = 0
    AP = 1        # anti-personnel mine
    AT = 2        # anti-tank mine: never drive over it
    UXO = 3       # unexploded ordnance
    CLUTTER = 4   # metal or GPR clutter, no threat


#: Kinds of track that make a no-go zone (never processed, never driven over; the coverage
#: planner, the safety supervisor and the mission record all use this one definition).
NO_GO_KINDS = (DetectionKind.AT, DetectionKind.UXO)
#: Kinds of track the tool processes but the tracks must not press before it has (a suspect:
#: an AP mine, or an unknown that may be anything, an AT mine seen only at the boom's edge
#: included); the safety supervisor refuses such a motion and the coverage planner plans
#: round the track when that pins the machine.
TRACK_HAZARD_KINDS = (DetectionKind.AP, DetectionKind.UNKNOWN)


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
    #: source specific: GPR the stack's mean whitened envelope along the hyperbola (~1.25 over
    #: noise alone); MD and fused: metal, g
    strength: float = 0.0
    #: GPR reflection polarity: +1 when the echo has the sign of the transmitted pulse (a
    #: positive reflection coefficient: an object of lower permittivity than the soil, e.g. a
    #: plastic mine body), -1 the opposite (metal, a stone in dry soil), 0 unknown / not GPR.
    polarity: int = 0
    #: 1-sigma horizontal position uncertainty from the pose covariance at the time, m (0: none).
    sigma_xy: float = 0.0
    #: GPR: the narrowest flat-top half width the hyperbola fit allows within the noise, m
    #: (every narrower top fits the echo worse), also when it cannot pin the width down
    #: (``radius`` NaN). 0: none ruled out, or not a GPR report.
    radius_min: float = 0.0


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


@dataclasses.dataclass(frozen=True)
class SoilPermittivity:
    """The soil permittivity the GPR processor uses (gpr/soil_permittivity, std_msgs/String
    JSON, latched): ``in_use`` (it sets every GPR depth), ``prior`` (the ``soil_permittivity``
    parameter), ``estimate`` (median of the recent hyperbola fits; NaN, JSON null, before
    any), ``fits`` (the fits it took) and ``estimated`` (the estimate is in use, not the
    prior: ``estimate_permittivity`` on and the fits agree)."""

    stamp: float
    in_use: float
    prior: float
    estimate: float = math.nan
    fits: int = 0
    estimated: bool = False


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
    #: Full 6x6 pose and twist covariances (row-major, 36 values) where an estimator has them;
    #: empty otherwise (the codec then fills the x/y variances from ``covariance_xy``).
    pose_covariance: Tuple[float, ...] = ()
    twist_covariance: Tuple[float, ...] = ()


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
    #: The arm's extension below the track plane from its position sensor, m; NaN when the
    #: machine reports none (the depth loop then uses its model of the arm).
    arm: float = math.nan


@dataclasses.dataclass
class ToolEvent:
    """A tool controller event for the record (/tool/events): a stall, a recovery, tool
    feedback lost or back."""

    stamp: float
    kind: str          # a ToolEventKind value (contract/states.py)
    detail: str = ''


#: The word an event's ``detail`` holds when a track reached the item (the simulator's causes
#: ``left track`` and ``right track``): a blast under a track, where the machine's armour is not
#: rated for it, unlike the tool's.
TRACK_CAUSE = 'track'


@dataclasses.dataclass
class SimEvent:
    """A ground-truth event from the simulator (/sim/events; never used by perception).

    ``kind`` is one of ``neutralised``, ``ap_detonation``, ``at_detonation``,
    ``uxo_detonation``, ``damage``, ``tool_damage``, ``item_damaged``, ``item_thrown``,
    ``item_pushed``, ``collision``, ``intrusion``, ``fault`` (docs/interfaces.md).
    An item's event names in ``detail`` the machine part that reached it: the tool
    (``flail``, ``tiller``) or a track (``left track``, ``right track``).
    """

    stamp: float
    kind: str
    item_id: str = ''
    item_kind: str = ''
    x: float = 0.0
    y: float = 0.0
    detail: str = ''
    extra: Optional[dict] = None

    @property
    def under_track(self) -> bool:
        """Whether a track, not the tool, reached the item (:data:`TRACK_CAUSE`)."""
        return TRACK_CAUSE in self.detail


@dataclasses.dataclass
class ImuSample:
    """One IMU reading in ``imu_link`` (aligned with base_link)."""

    stamp: float
    orientation: Tuple[float, float, float, float]          # x, y, z, w
    angular_velocity: Tuple[float, float, float]            # rad/s
    linear_acceleration: Tuple[float, float, float]         # m/s^2, specific force
    orientation_variance: Tuple[float, float, float]        # roll, pitch, yaw
    angular_velocity_variance: float
    linear_acceleration_variance: float


@dataclasses.dataclass
class GnssFix:
    """One fix: geodetic position, its diagonal covariance (E, N, U variances, m^2)."""

    stamp: float
    latitude: float
    longitude: float
    altitude: float
    covariance: Sequence[float]
    status: int = STATUS_GBAS_FIX


@dataclasses.dataclass
class OdomSample:
    """One odometry output in ``odom`` -> ``base_link``."""

    stamp: float
    x: float
    y: float
    yaw: float
    v: float
    omega: float
    variance_xy: float
    variance_yaw: float


@dataclasses.dataclass
class GroundTruth:
    """True vehicle pose and motion in ``map``."""

    stamp: float
    x: float
    y: float
    z: float
    roll: float
    pitch: float
    yaw: float
    v: float
    omega: float


@dataclasses.dataclass
class Heartbeat:
    """The emulated remote station's heartbeat (absent during operator_link_loss)."""

    stamp: float


@dataclasses.dataclass
class Detections:
    """A list of detections in ``map`` at one time (a processor's batch or the fused list)."""

    stamp: float
    items: List[Detection] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Grid:
    """A 2-D grid of int8 cells (rows = y, columns = x; -1 unknown, 0..100), as OccupancyGrid."""

    stamp: float
    values: np.ndarray
    origin_x: float
    origin_y: float
    resolution: float


@dataclasses.dataclass
class SafetyEvent:
    """A safety supervisor transition with its reason (/safety/events)."""

    stamp: float
    state: str
    reason: str = ''


@dataclasses.dataclass
class PlanarPoints:
    """Points on the ground plane in one frame at one time (geometry_msgs/PoseArray).

    /people/detections: people (and animals) a people sensor detected, in ``base_link``,
    stamped with the measurement time; /sim/actors: the actors' true positions in ``map``.
    """

    stamp: float
    points: List[Tuple[float, float]] = dataclasses.field(default_factory=list)
    frame_id: str = 'base_link'


@dataclasses.dataclass
class PlanStatus:
    """The coverage planner's verdict (coverage/status, std_msgs/String JSON, latched).

    ``state`` is a :class:`demining_bringup.contract.states.PlanState` value; ``reason`` why
    (for a refusal, one line for the operator); ``unreached`` the ground to process the plan
    cannot reach, as (reason, ring of map-frame points) pairs; ``no_go`` the no-go zones
    (x, y, radius) it plans around. ``waypoints`` is the number of poses of the path it
    published with this status (0: none) and ``work`` its work legs as half-open ranges
    ``[i, j)`` of leg indices (leg ``i`` runs from pose ``i`` to ``i + 1``): the tool is down on
    those and raised on every other leg. nav_msgs/Path has no per-pose flags, and a transit
    that skirts the field is not a work leg however near it passes.
    """

    stamp: float
    state: str
    reason: str = ''
    unreached: List[Tuple[str, List[Tuple[float, float]]]] = dataclasses.field(
        default_factory=list)
    no_go: List[Tuple[float, float, float]] = dataclasses.field(default_factory=list)
    waypoints: int = 0
    work: List[Tuple[int, int]] = dataclasses.field(default_factory=list)

    @staticmethod
    def work_ranges(flags: Sequence[bool]) -> List[Tuple[int, int]]:
        """The ``work`` form of per-leg flags: half-open ranges of their True runs."""
        w = np.concatenate([[False], np.asarray(flags, dtype=bool), [False]]).astype(np.int8)
        edges = np.flatnonzero(np.diff(w))
        return [(int(a), int(b)) for a, b in zip(edges[0::2], edges[1::2])]

    def work_flags(self) -> np.ndarray:
        """Per-leg work flags of the path this status names (``waypoints`` of them)."""
        n = max(0, int(self.waypoints))
        flags = np.zeros(n, dtype=bool)
        for a, b in self.work:
            flags[max(0, a):min(n, b)] = True
        return flags


@dataclasses.dataclass
class PeopleZone:
    """The people monitor's verdict (/safety/people_zone, std_msgs/String JSON).

    ``zone`` is a :class:`demining_bringup.contract.states.ZoneState` value (``clear``,
    ``slow``, ``stop``); ``nearest_m`` the distance from base_link to the nearest confirmed
    person (inf: none); ``reason`` says which zone and why (or what the hold waits for).
    """

    stamp: float
    zone: str
    reason: str = ''
    nearest_m: float = float('inf')
    people: int = 0


@dataclasses.dataclass
class Garbage:
    """A message that violates its topic's documented layout (the ``garbage_message`` fault).

    The codec encodes it as a malformed message of the topic's type; every decoder refuses it.
    """

    stamp: float
