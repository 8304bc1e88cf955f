"""The tool-soil relation, written once for the simulator and the tool controller.

The simulator (:mod:`demining_sim.ground_processing`, :mod:`demining_sim.tools`) uses these
functions to decide what the tool really does; the tool controller
(:mod:`demining_control.tools.governor`) inverts them, from what the machine can know (its
profile, the measured rotor speed, torque and depth, the forward speed), to find the fastest
forward speed that still gives the required depth and strike density. Sources:
docs/sources.md, "Tool-soil-mine physics".

* strike (or tooth-cut) density ``S = blows x f_rot / (v x W)`` per m^2;
* flail reach ``d = d_ref (S / S_ref)^a / h`` (Juneja 2016: 200 mm at 0.5 km/h with the MV-4's
  34 hammers at 800 rpm, 2.0 m; proportional law and hardness ``h``: our model);
* rotor soil load ``T = k h d (1 + k_v |v|)`` (more soil cut per second when deeper and
  faster, more in harder soil; calibration ``k`` of the drive: our estimate).
"""

from __future__ import annotations

import dataclasses
import math

#: 2 pi: one revolution, rad.
TWO_PI = 2.0 * math.pi
#: Speed floor of the strike density: a machine standing still still moves a little, m/s.
MIN_GROUND_SPEED_MPS = 0.02


@dataclasses.dataclass(frozen=True)
class FlailReference:
    """The calibration point of the flail-depth law (vehicle_params' defaults)."""

    depth_m: float = 0.2
    speed_mps: float = 0.5 / 3.6
    rpm: float = 800.0
    width_m: float = 2.0
    hammers: int = 34
    exponent: float = 1.0


def strikes_per_m2(blows: float, rotor_radps: float, ground_speed: float, width: float,
                   min_speed: float = MIN_GROUND_SPEED_MPS) -> float:
    """Strikes (or tooth cuts) per m^2: ``blows x f_rot / (v x W)``; ``rotor_radps`` in rad/s."""
    v = max(abs(ground_speed), min_speed)
    return blows * (max(rotor_radps, 0.0) / TWO_PI) / (v * width)


def reference_strikes_per_m2(ref: FlailReference) -> float:
    """Strike density of the reference flail at the reference speed."""
    return strikes_per_m2(ref.hammers, ref.rpm * TWO_PI / 60.0, ref.speed_mps, ref.width_m)


def flail_reach_m(ref: FlailReference, strikes: float, hardness: float) -> float:
    """Depth the flail's strikes loosen to at ``strikes`` per m^2 in soil of ``hardness``."""
    ratio = strikes / reference_strikes_per_m2(ref)
    return ref.depth_m * ratio ** ref.exponent / max(hardness, 1e-6)


def strikes_for_depth(ref: FlailReference, depth_m: float, hardness: float) -> float:
    """Strikes per m^2 the flail needs to reach ``depth_m`` in soil of ``hardness``."""
    need = (max(depth_m, 0.0) * hardness / ref.depth_m) ** (1.0 / ref.exponent)
    return need * reference_strikes_per_m2(ref)


def speed_for_strikes(strikes: float, blows: float, rotor_radps: float, width: float) -> float:
    """Fastest forward speed (m/s) at which ``blows`` per revolution give ``strikes`` per m^2."""
    if strikes <= 0.0:
        return math.inf
    return blows * (max(rotor_radps, 0.0) / TWO_PI) / (strikes * width)


def flail_speed_for_depth(ref: FlailReference, depth_m: float, rotor_radps: float,
                          width_m: float, hammers: int, hardness: float = 1.0) -> float:
    """Fastest forward speed (m/s) at which the flail still reaches ``depth_m``."""
    return speed_for_strikes(strikes_for_depth(ref, depth_m, hardness), hammers, rotor_radps,
                             width_m)


def soil_torque_nm(per_m: float, hardness: float, depth: float, ground_speed: float,
                   speed_factor: float) -> float:
    """Soil load on a rotor cutting ``depth`` m at ``ground_speed``: ``k h d (1 + k_v |v|)``."""
    return per_m * hardness * max(depth, 0.0) * (1.0 + speed_factor * abs(ground_speed))


def hardness_from_torque(soil_torque: float, per_m: float, depth: float, ground_speed: float,
                         speed_factor: float) -> float:
    """The soil hardness a measured soil load means (NaN when the tool is not in the soil)."""
    unit = soil_torque_nm(per_m, 1.0, depth, ground_speed, speed_factor)
    return soil_torque / unit if unit > 0.0 else math.nan


def speed_for_torque(torque_nm: float, per_m: float, hardness: float, depth: float,
                     speed_factor: float) -> float:
    """Fastest forward speed (m/s) at which the soil load stays at ``torque_nm``."""
    base = per_m * hardness * max(depth, 0.0)
    if base <= 0.0 or torque_nm >= math.inf:
        return math.inf
    if speed_factor <= 0.0:
        return math.inf if torque_nm >= base else 0.0
    return max(0.0, (torque_nm / base - 1.0) / speed_factor)
