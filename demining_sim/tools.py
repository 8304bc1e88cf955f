"""Ground-processing tools (flail and tiller rotors) and what they and the tracks do to mines.

Rotor model (one per tool), integrated at the physics rate:

``J dω/dt = T_drive - T_load`` with ``T_drive = clip(K (ω_cmd - ω), -T_max, T_max)`` (a
hydraulic motor with a speed loop and a pressure-relief torque limit) and
``T_load = c ω + h k_soil d (1 + k_v |v_ground|)`` (bearing/air drag plus the soil the hammers
or teeth cut: more soil per second when deeper and faster, more in harder soil: ``h`` the
soil's relative hardness, :data:`demining_sim.ground_processing.SOIL_HARDNESS`). When the soil
load exceeds the drive torque the rotor slows down and stalls at zero; it only restarts when the
load drops (tool lifted, vehicle slower).
A jam (``rotor_stall`` fault) adds a load beyond any drive.

The depth actuator (the arm) follows the command at ``tool_lift_rate_mps`` both ways; the
command and the arm are depths below the plane the tracks stand on. The tool's depth below the
*local* ground is the arm's plus ``ground_offset_m`` (set by the simulator each step: the
share of the ground's deviation from the track plane under the tool that the skids' float
leaves, :meth:`demining_sim.simulator.Simulator._tool_ground_offset`). A ride-height sensor
(ultrasonic or laser skid sensor) measures that depth with Gaussian noise
(``ride_height_noise_m``) at the joint-state rate; the joint state's ``tool_depth`` is that
measurement, so the controller can follow the ground and the record sees a shallow tool. The
soil load and the processed depth use the true depth below the local ground. Ground is only
processed where a rotor turns at least at its minimum processing speed (a slow flail only
scratches the surface), so ``processed_depth`` is the depth of the fastest-enough rotor.

What the rotors and the tracks do to the items in the ground (strike density, effective depth,
outcomes, blasts): :mod:`demining_sim.ground_processing`.
"""

from __future__ import annotations

import dataclasses

import math
from typing import Optional

import numpy as np

from demining_bringup.contract import tool_physics, vehicle_params
from demining_bringup.contract.datatypes import ToolCommand, ToolState
from demining_bringup.contract.parameters import param


@dataclasses.dataclass(frozen=True)
class ToolParams:
    """Flail and tiller rotor dynamics and tool geometry."""

    tool_width_m: float = vehicle_params.tool_width_m()
    tool_offset_x_m: float = vehicle_params.tool_offset_x_m()
    tool_strike_length_m: float = param(0.4, 'Along-track length of the strip the hammers '
                                        'strike, m', min=0.05, max=2.0)
    max_tool_depth_m: float = param(0.5, 'Deepest the tool can be lowered, m (docs/sources.md: '
                                    '20-30 cm flail, to 60 cm tiller)', min=0.05, max=1.0)
    tool_lift_rate_mps: float = vehicle_params.tool_lift_rate_mps()
    flail_inertia_kgm2: float = param(120.0, 'Flail rotor inertia with chains, kg m^2',
                                      min=1.0, max=5000.0)
    flail_max_torque_nm: float = vehicle_params.flail_max_torque_nm()
    flail_speed_gain_nms: float = vehicle_params.flail_speed_gain_nms()
    flail_viscous_nms: float = vehicle_params.flail_viscous_nms()
    flail_soil_torque_nm_per_m: float = vehicle_params.flail_soil_torque_nm_per_m()
    flail_min_process_speed_rps: float = param(41.9, 'Slowest flail speed that processes '
                                               'ground, rad/s (docs/sources.md: 400 rpm)',
                                               min=0.0, max=200.0)
    tiller_inertia_kgm2: float = param(200.0, 'Tiller rotor inertia, kg m^2', min=1.0,
                                       max=5000.0)
    tiller_max_torque_nm: float = vehicle_params.tiller_max_torque_nm()
    tiller_speed_gain_nms: float = vehicle_params.tiller_speed_gain_nms()
    tiller_viscous_nms: float = vehicle_params.tiller_viscous_nms()
    tiller_soil_torque_nm_per_m: float = vehicle_params.tiller_soil_torque_nm_per_m()
    tiller_min_process_speed_rps: float = param(10.0, 'Slowest tiller speed that processes '
                                                'ground, rad/s', min=0.0, max=200.0)
    soil_speed_factor_per_mps: float = vehicle_params.soil_speed_factor_per_mps()
    track_trigger_max_depth_m: float = param(0.35, 'Deepest a track\'s load is applied to an '
                                             'item at all (below, whether it fires is not '
                                             'modelled), m', min=0.0, max=2.0)
    flail_reversible: bool = vehicle_params.flail_reversible()
    tiller_reversible: bool = vehicle_params.tiller_reversible()
    ride_height_noise_m: float = param(0.005, 'Noise (1 sigma) of the ride-height sensor that '
                                       'measures the tool depth below the local ground, m '
                                       '(ultrasonic skid sensors: a few mm; our estimate)',
                                       min=0.0, max=0.1)
    damage_disables_tool: bool = param(True, 'A disabling blast (damage event) also stops the '
                                       'tool (rotors lose drive)')


@dataclasses.dataclass
class Rotor:
    """One hydraulic rotor (flail or tiller)."""

    inertia: float
    max_torque: float
    gain: float
    viscous: float
    soil_torque_per_m: float
    min_process_speed: float
    reversible: bool = False
    speed: float = 0.0
    drive_torque: float = 0.0
    load_torque: float = 0.0

    def step(self, cmd_speed: float, depth: float, ground_speed: float, speed_factor: float,
             dt: float, jammed: bool = False, disabled: bool = False) -> None:
        """Integrate the rotor speed over ``dt``.

        Commands below zero run a reversible rotor backwards (to throw out a jam) and stop
        any other. The soil and the drag oppose the motion; they never reverse it.
        """
        # Scalar code with conditionals instead of min/max calls: this runs every physics
        # step (``max(a, b)`` is ``b if b > a else a``, NaN and signed zeros included).
        cmd = 0.0 if not self.reversible and 0.0 > cmd_speed else cmd_speed
        speed = self.speed
        if disabled:
            drive = 0.0
        else:
            limit = self.max_torque
            drive = self.gain * (cmd - speed)
            drive = -limit if -limit > drive else drive
            drive = limit if limit < drive else drive
        soil = tool_physics.soil_torque_nm(self.soil_torque_per_m, 1.0, depth, ground_speed,
                                           speed_factor)
        if jammed:
            soil += 2.0 * self.max_torque
        if speed == 0.0 and abs(drive) <= soil + 1e-9:
            # Static: the soil holds a stopped rotor as long as the drive cannot overcome it.
            self.drive_torque = drive
            self.load_torque = drive if drive > 0.0 or self.reversible else 0.0
            return
        direction = math.copysign(1.0, speed if speed != 0.0 else drive)
        load = self.viscous * speed + soil * direction
        speed = speed + (drive - load) / self.inertia * dt
        if speed * direction < 0.0:
            speed = 0.0                 # drag and soil stop a rotor, they do not reverse it
        self.speed = 0.0 if not self.reversible and 0.0 > speed else speed
        self.drive_torque = drive
        self.load_torque = load

    @property
    def processing(self) -> bool:
        """True when the rotor turns fast enough to process ground."""
        return self.speed >= self.min_process_speed and self.speed > 0.0


class ToolSystem:
    """Flail plus tiller on one depth actuator; call :meth:`step` at the physics rate."""

    def __init__(self, params: ToolParams, soil_hardness: float = 1.0,
                 rng: Optional[np.random.Generator] = None) -> None:
        """Create stopped, raised tools; ``soil_hardness`` (1 loam) scales the soil load.

        ``rng`` draws the ride-height sensor's noise (none without one).
        """
        p = params
        self.p = p
        self.flail = Rotor(p.flail_inertia_kgm2, p.flail_max_torque_nm, p.flail_speed_gain_nms,
                           p.flail_viscous_nms, p.flail_soil_torque_nm_per_m * soil_hardness,
                           p.flail_min_process_speed_rps, p.flail_reversible)
        self.tiller = Rotor(p.tiller_inertia_kgm2, p.tiller_max_torque_nm,
                            p.tiller_speed_gain_nms, p.tiller_viscous_nms,
                            p.tiller_soil_torque_nm_per_m * soil_hardness,
                            p.tiller_min_process_speed_rps, p.tiller_reversible)
        self.depth = 0.0
        #: Extra depth below the local ground under the tool (terrain), m; the simulator sets it.
        self.ground_offset_m = 0.0
        self.disabled = False
        self._rng = rng

    def step(self, cmd: ToolCommand, ground_speed: float, dt: float,
             jam_flail: bool = False, jam_tiller: bool = False) -> None:
        """Move the depth actuator toward the command and integrate both rotors."""
        # Conditionals, not min/max calls (every physics step; see Rotor.step).
        p = self.p
        target = cmd.depth
        target = 0.0 if 0.0 > target else target
        target = p.max_tool_depth_m if p.max_tool_depth_m < target else target
        dz = p.tool_lift_rate_mps * dt
        move = target - self.depth
        move = -dz if -dz > move else move
        self.depth += dz if dz < move else move
        k = p.soil_speed_factor_per_mps
        depth = self.true_depth
        self.flail.step(cmd.flail_speed, depth, ground_speed, k, dt, jam_flail, self.disabled)
        # The tiller only bites when it is commanded; an idle tiller is lifted in its frame.
        tiller_depth = depth if cmd.tiller_speed > 0.0 else 0.0
        self.tiller.step(cmd.tiller_speed, tiller_depth, ground_speed, k, dt, jam_tiller,
                         self.disabled)

    @property
    def true_depth(self) -> float:
        """Depth of the tool below the local ground, m (0 when above it)."""
        return max(self.depth + self.ground_offset_m, 0.0) if self.depth > 0.0 else 0.0

    @property
    def processed_depth(self) -> float:
        """Depth actually processed now, m (0 when no rotor turns fast enough)."""
        if self.flail.processing or self.tiller.processing:
            return self.true_depth
        return 0.0

    def measured_depth(self) -> float:
        """One ride-height sensor reading of the depth below the local ground, m."""
        d = self.true_depth
        if self._rng is not None and self.p.ride_height_noise_m > 0.0 and d > 0.0:
            d += float(self._rng.normal(0.0, self.p.ride_height_noise_m))
        return d if math.isfinite(d) else 0.0

    def state(self, stamp: float) -> ToolState:
        """The measured joint state (the depth from the ride-height sensor)."""
        return ToolState(stamp=stamp, flail_speed=self.flail.speed,
                         tiller_speed=self.tiller.speed, depth=self.measured_depth(),
                         flail_torque=self.flail.load_torque,
                         tiller_torque=self.tiller.load_torque, arm=self.depth)
