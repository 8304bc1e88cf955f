"""Forward-speed governing: the fastest speed at which the tool still does its work.

From what the machine knows (its profile: hammers, teeth, width, rotor speeds, drive torque
limits, the depth law's calibration; and its measurements: rotor speed, torque, depth, forward
speed) the governor computes, with the simulator's own relation
(:mod:`demining_bringup.contract.tool_physics`, one source):

* flail, depth: the strike density that reaches ``working_depth_m + depth_margin_m`` in the
  soil's hardness, and the speed that gives it at the measured rotor speed (a flail alone: on
  a combined machine the tiller behind it mills to the set depth, GICHD 2004);
* flail, density: the speed that still gives ``min_strike_density_per_m2``;
* tiller, cuts: the speed that still gives ``min_cut_density_per_m2``;
* every rotor, torque: the speed at which the soil load stays at ``max_torque_fraction`` of
  the drive's relief torque (a faster pass stalls it);
* stalls: each stall multiplies the limit by ``stall_speed_factor``; the factor recovers
  linearly over ``stall_derate_recovery_s`` of stall-free work.

Soil hardness: estimated from the measured rotor torque through the same load law (torque
minus drag over the calibrated soil load per metre at the measured depth and speed), low-pass
filtered over ``hardness_time_constant_s``; before the tool has been in the soil the prior
``soil_hardness_prior`` (the hardest soil expected: slow first, faster once measured) is used.
The simulator's relation has no slope term: slope acts through the measured load (a harder
pull uphill shows as torque) and through the depth loop (ground following on rough slopes).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Dict

from demining_bringup.contract import tool_physics


@dataclasses.dataclass(frozen=True)
class GovernorInputs:
    """One step's measurements."""

    flail_speed: float          # rad/s measured
    tiller_speed: float         # rad/s measured
    flail_torque: float         # N m measured
    tiller_torque: float        # N m measured
    depth: float                # m below the local ground, measured
    ground_speed: float         # m/s, from the localisation
    in_soil: bool               # the tool works at depth (the estimate is meaningful)


class SpeedGovernor:
    """Speed limit from depth, strike density and torque (see the module docstring)."""

    def __init__(self, params) -> None:
        """Take the tool controller's parameters (:class:`ToolParams`)."""
        self.p = params
        self.ref = tool_physics.FlailReference(
            params.flail_reference_depth_m, params.flail_reference_speed_mps,
            params.flail_reference_rpm, params.flail_reference_width_m,
            params.flail_reference_hammers, params.flail_depth_exponent)
        self.hardness = params.soil_hardness_prior
        self.hardness_measured = False
        self.derate = 1.0
        self.limit_mps = params.working_speed_mps
        self.reasons: Dict[str, float] = {}

    def on_stall(self) -> None:
        """A stall: lower the limit."""
        self.derate = max(self.p.min_stall_derate, self.derate * self.p.stall_speed_factor)

    def _estimate(self, m: GovernorInputs, dt: float) -> None:
        p = self.p
        if not m.in_soil or m.depth < p.min_estimate_depth_m:
            return
        est = []
        if p.flail_speed_radps > 0.0:
            soil = m.flail_torque - p.flail_viscous_nms * m.flail_speed
            est.append(tool_physics.hardness_from_torque(
                soil, p.flail_soil_torque_nm_per_m, m.depth, m.ground_speed,
                p.soil_speed_factor_per_mps))
        if p.tiller_speed_radps > 0.0:
            soil = m.tiller_torque - p.tiller_viscous_nms * m.tiller_speed
            est.append(tool_physics.hardness_from_torque(
                soil, p.tiller_soil_torque_nm_per_m, m.depth, m.ground_speed,
                p.soil_speed_factor_per_mps))
        est = [e for e in est if math.isfinite(e) and e > 0.0]
        if not est:
            return
        h = max(est)
        if not self.hardness_measured:
            self.hardness, self.hardness_measured = h, True
            return
        a = min(1.0, dt / p.hardness_time_constant_s)
        self.hardness += a * (h - self.hardness)

    def update(self, m: GovernorInputs, dt: float) -> float:
        """Return the forward speed limit for this step, m/s."""
        p = self.p
        self._estimate(m, dt)
        if self.derate < 1.0:
            self.derate = min(1.0, self.derate + dt / p.stall_derate_recovery_s)
        h = self.hardness * (1.0 + p.hardness_margin)
        depth = p.working_depth_m + p.depth_margin_m
        r: Dict[str, float] = {'working_speed': p.working_speed_mps}
        if p.flail_speed_radps > 0.0:
            w = min(max(m.flail_speed, 0.0), p.flail_speed_radps)
            if p.tiller_speed_radps <= 0.0:
                # with a tiller behind it the drum mills to the set depth whatever the speed;
                # the flail alone must reach it by its strikes
                r['flail_depth'] = tool_physics.flail_speed_for_depth(
                    self.ref, depth, w, p.tool_width_m, p.flail_hammers, h)
            r['flail_strikes'] = tool_physics.speed_for_strikes(
                p.min_strike_density_per_m2, p.flail_hammers, w, p.tool_width_m)
            r['flail_torque'] = tool_physics.speed_for_torque(
                p.max_torque_fraction * p.flail_max_torque_nm - p.flail_viscous_nms * w,
                p.flail_soil_torque_nm_per_m, h, depth, p.soil_speed_factor_per_mps)
        if p.tiller_speed_radps > 0.0:
            w = min(max(m.tiller_speed, 0.0), p.tiller_speed_radps)
            r['tiller_cuts'] = tool_physics.speed_for_strikes(
                p.min_cut_density_per_m2, p.tiller_teeth, w, p.tool_width_m)
            r['tiller_torque'] = tool_physics.speed_for_torque(
                p.max_torque_fraction * p.tiller_max_torque_nm - p.tiller_viscous_nms * w,
                p.tiller_soil_torque_nm_per_m, h, depth, p.soil_speed_factor_per_mps)
        self.reasons = r
        v = min(r.values()) * self.derate
        self.limit_mps = max(p.min_speed_limit_mps, v)
        return self.limit_mps

    @property
    def binding(self) -> str:
        """Which requirement sets the limit now."""
        return min(self.reasons, key=self.reasons.get) if self.reasons else 'none'
