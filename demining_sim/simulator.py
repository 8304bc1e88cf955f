"""The embedded simulator core: vehicle, tools, sensors, faults and actors on one clock.

No rclpy here: the simulator node (:mod:`demining_sim.simulator_node`) owns the ROS side and
drains :meth:`Simulator.drain` after every :meth:`Simulator.advance_to`.

Time advances in fixed physics steps (``physics_rate_hz``). Vehicle, tools, track odometry and
the hazard checks run every step on scalars; GNSS, IMU, odometry outputs, tool states, ground
truth and the operator heartbeat are sampled at the first physics step at or after each of
their sample times; the GPR and metal-detector arrays are synthesised in batches
(``scan_batch_rate_hz``) with every trace/reading at its exact sample time, the boom pose being
interpolated from a short ring buffer of physics poses. Every container is bounded (ring
buffer, ``deque(maxlen=output_queue_size)``): memory stays flat over any mission length.

Randomness: one ``numpy.random.Generator`` per subsystem, all derived from ``seed`` with
``SeedSequence.spawn`` in a fixed order, so a run is reproducible and adding noise in one
subsystem does not change the others' draws.
"""

from __future__ import annotations

import collections
import dataclasses
import enum
import math
from typing import Any, Callable, Deque, Dict, List, Optional, Sequence, Tuple

import numpy as np

from demining_bringup.contract.datatypes import (GprScan, GroundTruth, Heartbeat, MdScan, SimEvent,
                                                 ToolCommand, ToolState, Twist2D)
from demining_bringup.contract.geo import LocalCartesian
from demining_bringup.contract.parameters import ParamError, param
from demining_sim.actors import Actors, ActorState
from demining_sim.faults import Fault, FaultInjector, FaultKind, Scenario
from demining_sim.sensors.gnss import GnssFix, GnssModel, GnssParams
from demining_sim.sensors.gpr import GprModel, GprParams
from demining_sim.sensors.imu import ImuModel, ImuParams, ImuSample
from demining_sim.sensors.metal_detector import MdParams, MetalDetectorModel, coil_offsets
from demining_sim.sensors.odometry import OdometryParams, OdomSample, TrackOdometry
from demining_sim.sensors.people import PeopleSensor, PeopleSensorParams
from demining_sim.ground_processing import (SOIL_HARDNESS, Change, ContactGeometry,
                                            GroundContact, Outcome, ProcessingParams, ToolView)
from demining_sim.spatial import ItemTable, height_at, is_flat
from demining_sim.tools import ToolParams, ToolSystem
from demining_sim.truth import FATE_KEY, FateState, ItemFate, ProcessedTruth, initial_fates
from demining_sim.vehicle import Vehicle, VehicleParams, VehicleTruth
from demining_bringup.contract.world import World

# Subsystem order of the seed spawn: never reorder (it would change every run's noise).
_RNG_STREAMS = ('vehicle', 'tools', 'gnss', 'imu', 'odom', 'md', 'gpr', 'rocks', 'people')
# Small tolerance when comparing float times with sample times.
_T_EPS = 1e-9
# Lowest boom height the model allows (skids on the ground), m.
_MIN_SENSOR_HEIGHT_M = 0.005
# Rocks are scattered over the field's bounding box grown by this margin, m.
_ROCK_MARGIN_M = 5.0
_ROCK_MIN_DEPTH_M = 0.02
_ROCK_MIN_DIAMETER_M = 0.05


@dataclasses.dataclass(frozen=True)
class SimParams(VehicleParams, ToolParams, ProcessingParams, GnssParams, ImuParams,
                OdometryParams, MdParams, GprParams, PeopleSensorParams):
    """Every simulator parameter (flat: the node declares each as a ROS parameter)."""

    seed: int = param(0, 'Seed of every random process of the simulation', min=0,
                      max=2 ** 31 - 1)
    physics_rate_hz: float = param(100.0, 'Physics (vehicle, tools) integration rate, Hz',
                                   min=10.0, max=2000.0)
    real_time_factor: float = param(10.0, 'Simulated seconds per wall-clock second (node)',
                                    min=0.01, max=200.0)
    scan_batch_rate_hz: float = param(10.0, 'Rate of GPR and metal-detector batches, Hz',
                                      min=1.0, max=100.0)
    tool_state_rate_hz: float = param(10.0, 'Rate of tool joint states, Hz', min=1.0,
                                      max=1000.0)
    ground_truth_rate_hz: float = param(10.0, 'Rate of ground-truth pose and actors, Hz',
                                        min=1.0, max=1000.0)
    heartbeat_rate_hz: float = param(2.0, 'Rate of the emulated operator heartbeat, Hz',
                                     min=0.1, max=100.0)
    command_timeout_s: float = param(0.5, 'A motion or tool command older than this (sim '
                                     'time) is replaced by zero', min=0.01, max=10.0)
    sensor_offset_x_m: float = param(4.0, 'GPR/MD boom centre ahead of base_link, m',
                                     min=0.0, max=20.0)
    sensor_width_m: float = param(2.0, 'Width covered by the GPR/MD arrays, m', min=0.1,
                                  max=10.0)
    boom_bounce_amp_m: float = param(0.005, 'Amplitude of the boom height oscillation, m',
                                     min=0.0, max=0.5)
    boom_bounce_hz: float = param(0.8, 'Frequency of the boom height oscillation, Hz',
                                  min=0.0, max=50.0)
    boom_terrain_residual: float = param(0.2, 'Fraction of the terrain-under-boom deviation '
                                         'the boom height control leaves', min=0.0, max=1.0)
    rock_max_depth_m: float = param(0.4, 'Deepest rock/root scatterer, m', min=0.03,
                                    max=2.0)
    rock_max_diameter_m: float = param(0.3, 'Largest rock/root scatterer, m (docs/sources.md: '
                                       '5-30 cm)', min=0.06, max=2.0)
    intrusion_distance_m: float = param(50.0, 'An actor this close to the vehicle is an '
                                        'intrusion, m (IMAS 10.20: set by risk assessment)',
                                        min=0.0, max=10000.0)
    processed_truth_resolution_m: float = param(0.25, 'Cell size of the simulator\'s own '
                                                'record of the ground the tool processed, m',
                                                min=0.05, max=5.0)
    blast_damage_scaled_distance: float = param(
        1.5, 'A detonation disables the vehicle within this scaled distance R / W^(1/3) of '
        'its hull, m/kg^(1/3) (Hopkinson-Cranz scaling; the threshold is our estimate)',
        min=0.0, max=50.0)
    scenario_explosive_kg_at: float = param(7.5, 'Explosive mass of a scheduled AT '
                                            'detonation, kg (TM-62: 7-7.5 kg)', min=0.0,
                                            max=100.0)
    scenario_explosive_kg_ap: float = param(0.24, 'Explosive mass of a scheduled AP '
                                            'detonation, kg (PMN: 240 g)', min=0.0, max=100.0)
    output_queue_size: int = param(20000, 'Outputs kept when nobody drains them (oldest '
                                   'dropped)', min=100, max=10 ** 7)

    def __post_init__(self) -> None:
        """Check cross-field constraints."""
        VehicleParams.__post_init__(self)
        for name in ('odom_rate_hz', 'imu_rate_hz', 'gnss_rate_hz', 'tool_state_rate_hz',
                     'ground_truth_rate_hz', 'heartbeat_rate_hz', 'scan_batch_rate_hz',
                     'people_sensor_rate_hz'):
            if getattr(self, name) > self.physics_rate_hz:
                raise ParamError(f'{name} ({getattr(self, name)}) exceeds physics_rate_hz '
                                 f'({self.physics_rate_hz})')


@dataclasses.dataclass
class ActorsSample:
    """Positions of the actors in the scene (ground truth only)."""

    stamp: float
    actors: List[ActorState]


@dataclasses.dataclass
class MessageFault:
    """A message-level fault the node must enact (``node_crash``, ``garbage_message``)."""

    stamp: float
    kind: str
    topic: str = ''


class Sensor(str, enum.Enum):
    """Sensor names used by fault scenarios."""

    GPR = 'gpr'
    MD = 'md'
    IMU = 'imu'
    ODOM = 'odom'
    GNSS = 'gnss'
    PEOPLE = 'people'
    TOOL = 'tool'               # the tool's joint states (rotor speeds, depth, torques)


class _Schedule:
    """Sample times ``n / rate``; :meth:`due` says whether the next one has come."""

    __slots__ = ('rate', 'n', 'next')

    def __init__(self, rate: float) -> None:
        # The first sample is one period after the start (nothing has happened at t = 0).
        self.rate = rate
        self.n = 1
        self.next = 1.0 / rate

    def due(self, t: float) -> bool:
        if t + _T_EPS < self.next:
            return False
        while self.next <= t + _T_EPS:
            self.n += 1
            self.next = self.n / self.rate
        return True


class _PoseRing:
    """Fixed-size ring buffer of physics poses for interpolating sensor sample poses.

    Poses are Python tuples: a push every physics step is one slot assignment, and a batch
    interpolates a handful of sample times, cheaper in plain arithmetic than in numpy calls.
    Unfilled slots hold zeros (they take part in a blend with weight 0 at the start).
    """

    _FIELDS = 7   # t, x, y, yaw (unwrapped), z, pitch, roll

    def __init__(self, capacity: int) -> None:
        self.cap = capacity
        self.slots: List[Tuple[float, ...]] = [(0.0,) * self._FIELDS] * capacity
        self.head = 0
        self.count = 0

    def push(self, pose: Tuple[float, ...]) -> None:
        """Add ``(t, x, y, yaw_u, z, pitch, roll)``, the oldest pose dropping out when full."""
        self.slots[self.head] = pose
        self.head = (self.head + 1) % self.cap
        if self.count < self.cap:
            self.count += 1

    def interp(self, times: Sequence[float]) -> List[Tuple[float, ...]]:
        """The pose ``(x, y, yaw_u, z, pitch, roll)`` at each of ``times``.

        Linear between pushes, clamped to the buffered span. Pushes happen at uniform physics
        times, so the fractional position of a sample time in the buffer is arithmetic, not
        a search.
        """
        cap, slots = self.cap, self.slots
        last = (self.head - 1) % cap
        newest = slots[last]
        if self.count < 2:
            return [newest[1:]] * len(times)
        t_last = newest[0]
        dt = t_last - slots[(self.head - 2) % cap][0]
        oldest = self.count - 1.0
        out = []
        for t in times:
            back = (t_last - t) / dt
            # Clamped as np.clip would (conditionals keep NaN, like the ufuncs).
            back = 0.0 if 0.0 > back else back
            back = oldest if oldest < back else back
            k0 = math.floor(back)
            frac = back - k0
            i0 = (last - k0) % cap
            keep = 1.0 - frac
            _, x0, y0, yaw0, z0, pitch0, roll0 = slots[i0]
            _, x1, y1, yaw1, z1, pitch1, roll1 = slots[(i0 - 1) % cap]
            out.append((x0 * keep + x1 * frac, y0 * keep + y1 * frac,
                        yaw0 * keep + yaw1 * frac, z0 * keep + z1 * frac,
                        pitch0 * keep + pitch1 * frac, roll0 * keep + roll1 * frac))
        return out


class _BoomLayout:
    """Where the elements of a batch of ``n_md`` MD and ``n_gpr`` GPR sample times are.

    Elements are the MD readings then the GPR traces, time-major (every coil or channel of
    the first time, then of the next): their sample-time index, lateral offset and nominal
    height, and per array the base_link positions and channels the scans report.
    """

    def __init__(self, n_md: int, md_y: np.ndarray, md_height: float, n_gpr: int,
                 gpr_y: np.ndarray, gpr_height: float, offset_x: float) -> None:
        self.time_index = np.concatenate([np.repeat(np.arange(n_md), md_y.size),
                                          n_md + np.repeat(np.arange(n_gpr), gpr_y.size)])
        self.lateral = np.concatenate([np.tile(md_y, n_md), np.tile(gpr_y, n_gpr)])
        self.split = n_md * md_y.size
        self.height0 = np.concatenate([np.full(self.split, md_height),
                                       np.full(n_gpr * gpr_y.size, gpr_height)])
        self.md_base, self.md_channels = self._reported(n_md, md_y, md_height, offset_x)
        self.gpr_base, self.gpr_channels = self._reported(n_gpr, gpr_y, gpr_height, offset_x)

    @staticmethod
    def _reported(n_times: int, lateral: np.ndarray, height: float, offset_x: float):
        """base_link positions (float32) and channel indices of one array's elements."""
        nc = lateral.size
        base = np.column_stack([np.full(nc * n_times, offset_x), np.tile(lateral, n_times),
                                np.full(nc * n_times, height)]).astype(np.float32)
        return base, np.tile(np.arange(nc, dtype=np.uint32), n_times)


class Simulator:
    """The whole simulated machine in its world; drive it with commands, read its outputs."""

    def __init__(self, world: World, params: Optional[SimParams] = None,
                 scenario: Optional[Scenario] = None) -> None:
        """Build every subsystem from ``world``, ``params`` and an optional fault scenario."""
        p = self.p = params or SimParams()
        self.world = world
        self.scenario = scenario or Scenario()
        seqs = np.random.SeedSequence(p.seed).spawn(len(_RNG_STREAMS))
        rngs = {name: np.random.default_rng(s) for name, s in zip(_RNG_STREAMS, seqs)}
        self.dt = 1.0 / p.physics_rate_hz
        self._tick = 0
        self.t = 0.0

        self.table = ItemTable(world.items)
        self._add_rocks(rngs['rocks'])
        self.vehicle = Vehicle(p, world.terrain, world.obstacles, world.vehicle_start,
                               rngs['vehicle'], world.soil.name)
        hardness = p.soil_hardness or SOIL_HARDNESS.get(world.soil.name, 1.0)
        self.tools = ToolSystem(p, hardness, rngs['tools'])
        geometry = ContactGeometry(p.tool_offset_x_m, p.tool_width_m, p.tool_strike_length_m,
                                   p.track_gauge_m, p.track_width_m, p.track_length_m)
        self.contact = GroundContact(geometry, self.table, p, p.seed, p.mass_kg, hardness)
        self._fates: List[ItemFate] = initial_fates(world.items)
        self.processed = self._processed_grid()
        self._stamp_pose = (math.inf, math.inf)
        # The tool's travel (L1, m) after which the processed ground is stamped again.
        self._stamp_travel_m = 0.5 * p.processed_truth_resolution_m
        self._tool_view = ToolView()
        o = world.origin
        self.geo = LocalCartesian(o.latitude_deg, o.longitude_deg, o.elevation_m)
        self.gnss = GnssModel(p, self.geo, rngs['gnss'])
        self.imu = ImuModel(p, rngs['imu'])
        sx, sy, syaw = world.vehicle_start
        self.odometry = TrackOdometry(p, p.track_gauge_m, sx, sy, syaw, rngs['odom'])
        soil = world.soil
        self.md = MetalDetectorModel(p, self.table, soil.magnetic_susceptibility, rngs['md'])
        self.gpr = GprModel(p, self.table, soil.permittivity, soil.conductivity,
                            soil.roughness_m, rngs['gpr'])
        self.actors = Actors(self.scenario.actors, p.intrusion_distance_m)
        self.injector = FaultInjector(self.scenario.faults)
        self.people = PeopleSensor(p, rngs['people'])

        self._md_y = coil_offsets(p.md_num_coils, p.sensor_width_m)
        self._gpr_y = coil_offsets(p.gpr_num_channels, p.sensor_width_m)
        self._bounce_phase = float(rngs['md'].uniform(0.0, 2.0 * math.pi))
        self._flat = is_flat(world.terrain)

        self._cmd = Twist2D()
        self._cmd_t = -math.inf
        self._tool_cmd = ToolCommand()
        self._tool_cmd_t = -math.inf
        # What the tools get once their command has timed out (one object, not one a step).
        self._no_tool_cmd = ToolCommand()
        # The tool's extra depth from the ground under it (None: flat, or no ground following).
        self._ground_offset: Optional[Callable[[float, float], float]] = (
            None if self._flat or p.tool_ground_following_residual <= 0.0
            else self._tool_ground_offset)

        self._sched = {name: _Schedule(rate) for name, rate in (
            ('odom', p.odom_rate_hz), ('imu', p.imu_rate_hz), ('gnss', p.gnss_rate_hz),
            ('batch', p.scan_batch_rate_hz), ('tool', p.tool_state_rate_hz),
            ('truth', p.ground_truth_rate_hz), ('heartbeat', p.heartbeat_rate_hz),
            ('people', p.people_sensor_rate_hz))}
        self._next_due = min(sc.next for sc in self._sched.values())
        self._md_n = 1       # index of the next MD sample time (n / md_rate_hz)
        self._gpr_n = 1
        capacity = int(math.ceil(p.physics_rate_hz * max(2.0, 3.0 / p.scan_batch_rate_hz))) + 2
        self._ring = _PoseRing(capacity)
        self._layouts: Dict[Tuple[int, int], _BoomLayout] = {}
        self._yaw_u = self.vehicle.truth.yaw
        self._yaw_last = self.vehicle.truth.yaw
        # True forward speed and time at the last IMU sample (its acceleration's baseline).
        self._imu_v = self.vehicle.truth.v
        self._imu_t = 0.0

        self.outputs: Deque[Any] = collections.deque(maxlen=p.output_queue_size)
        self.dropped_outputs = 0
        self._active: List[Fault] = []
        self._fault_change = -math.inf
        self._last_fault_t = -1.0
        self._frozen_last: Dict[str, Any] = {}
        self._nan_pending: Dict[str, bool] = {}
        self.damaged = False
        self.event_counts: Dict[str, int] = collections.Counter()
        self._record_pose()

    # --- setup --------------------------------------------------------------------------

    def _add_rocks(self, rng: np.random.Generator) -> None:
        density = self.world.soil.rock_density_per_m2
        if density <= 0.0 or not self.world.field:
            return
        xs = [pt[0] for pt in self.world.field]
        ys = [pt[1] for pt in self.world.field]
        x0, x1 = min(xs) - _ROCK_MARGIN_M, max(xs) + _ROCK_MARGIN_M
        y0, y1 = min(ys) - _ROCK_MARGIN_M, max(ys) + _ROCK_MARGIN_M
        n = int(rng.poisson(density * (x1 - x0) * (y1 - y0)))
        p = self.p
        self.table.with_scatterers(
            rng.uniform(x0, x1, n), rng.uniform(y0, y1, n),
            rng.uniform(_ROCK_MIN_DEPTH_M, p.rock_max_depth_m, n),
            rng.uniform(_ROCK_MIN_DIAMETER_M, p.rock_max_diameter_m, n),
            np.full(n, p.gpr_rock_permittivity))

    # --- inputs -------------------------------------------------------------------------

    def set_command(self, cmd: Twist2D) -> None:
        """Set the motion command (non-finite values are ignored; returns nothing)."""
        if math.isfinite(cmd.v) and math.isfinite(cmd.omega):
            self._cmd = Twist2D(cmd.v, cmd.omega)
            self._cmd_t = self.t

    def set_tool_command(self, cmd: ToolCommand) -> None:
        """Set the tool command (non-finite values are ignored)."""
        if all(math.isfinite(v) for v in (cmd.flail_speed, cmd.tiller_speed, cmd.depth)):
            self._tool_cmd = ToolCommand(cmd.flail_speed, cmd.tiller_speed, cmd.depth)
            self._tool_cmd_t = self.t

    # --- time ---------------------------------------------------------------------------

    def step(self, dt: Optional[float] = None) -> None:
        """Advance one physics step, or by ``dt`` seconds (whole physics steps)."""
        if dt is None:
            self._physics_step()
        else:
            self.advance_to(self.t + dt)

    def advance_to(self, t: float) -> None:
        """Run physics steps until the simulated time reaches ``t`` (to the step)."""
        n = int(math.floor(t / self.dt + 1e-6))
        while self._tick < n:
            self._physics_step()

    def drain(self) -> List[Any]:
        """Return and clear every output produced since the last drain, oldest first."""
        out = list(self.outputs)
        self.outputs.clear()
        return out

    @property
    def truth(self) -> VehicleTruth:
        """The true vehicle state."""
        return self.vehicle.truth

    # --- the step -----------------------------------------------------------------------

    def _emit(self, obj: Any) -> None:
        if len(self.outputs) == self.outputs.maxlen:
            self.dropped_outputs += 1
        self.outputs.append(obj)

    def _event(self, ev: SimEvent) -> None:
        self.event_counts[ev.kind] += 1
        if ev.kind == 'damage':
            self.damaged = True
            if self.p.damage_disables_tool:
                self.tools.disabled = True
        self._emit(ev)

    def _physics_step(self) -> None:
        # Runs at the physics rate: attributes used more than once are read into locals.
        p = self.p
        dt = self.dt
        t_prev = self.t
        self._tick += 1
        t = self.t = self._tick * dt
        if t >= self._fault_change:
            self._update_faults(t_prev, t)
        active = self._active

        if t - self._cmd_t > p.command_timeout_s:
            v_cmd = w_cmd = 0.0
        else:
            v_cmd, w_cmd = self._cmd.v, self._cmd.omega
        if active:
            for f in active:
                if f.kind == FaultKind.DRIVE_RUNAWAY:
                    v_cmd, w_cmd = f.speed_mps, 0.0     # the drive ignores its command
        vehicle, tools = self.vehicle, self.tools
        flail, tiller = tools.flail, tools.tiller
        # The rotors' soil load (last step) resists the forward motion.
        vehicle.tool_force = (flail.load_torque + tiller.load_torque) / p.tool_rotor_radius_m
        collision = vehicle.step(v_cmd, w_cmd, dt)
        tr = vehicle.truth
        if collision is not None:
            self._event(SimEvent(stamp=t, kind='collision', item_id=collision,
                                 item_kind='obstacle', x=tr.x, y=tr.y,
                                 detail=f'hull touched {collision}'))
        tool_cmd = self._tool_cmd if t - self._tool_cmd_t <= p.command_timeout_s \
            else self._no_tool_cmd
        jam_f = jam_t = False
        if active:
            for f in active:
                if f.kind == FaultKind.ROTOR_STALL:
                    jam_f = jam_f or f.tool in ('flail', 'both')
                    jam_t = jam_t or f.tool in ('tiller', 'both')
        ground_offset = self._ground_offset
        if ground_offset is not None:
            # the terrain under the tool centre moves its depth below the local ground
            c, s = math.cos(tr.yaw), math.sin(tr.yaw)
            tools.ground_offset_m = ground_offset(tr.x + c * p.tool_offset_x_m,
                                                  tr.y + s * p.tool_offset_x_m)
        tools.step(tool_cmd, tr.v, dt, jam_f, jam_t)
        view = self._tool_view
        view.set_depth = tools.depth
        view.flail_rps = flail.speed
        view.flail_processing = flail.processing
        view.tiller_rps = tiller.speed
        view.tiller_processing = tiller.processing and tool_cmd.tiller_speed > 0.0
        x, y, yaw = tr.x, tr.y, tr.yaw
        for change in self.contact.check(t, x, y, yaw, tr.v, view, ground_offset):
            self._apply_change(t, change)
        if view.flail_processing or view.tiller_processing:
            # The stamp's own first test here: most steps the tool has not moved far enough.
            c, s = math.cos(yaw), math.sin(yaw)
            tx, ty = x + c * p.tool_offset_x_m, y + s * p.tool_offset_x_m
            sx, sy = self._stamp_pose
            travel = abs(tx - sx) + abs(ty - sy)
            if not travel < self._stamp_travel_m:
                self._stamp_processed(tr, tx, ty, travel)
        self.odometry.integrate(tr.track_left, tr.track_right, dt)
        self._record_pose()

        if t + _T_EPS >= self._next_due:
            self._sample_outputs(t, tr)
        if self.people.next_delivery <= t + _T_EPS:
            for scan in self.people.ready(t):
                self._sensor_out(Sensor.PEOPLE.value, scan)

    # --- ground processing truth -------------------------------------------------------

    def _processed_grid(self) -> ProcessedTruth:
        """The simulator's own processed-ground grid over the field (plus a margin)."""
        pts = list(self.world.field) or [self.world.vehicle_start[:2]]
        xs = [pt[0] for pt in pts]
        ys = [pt[1] for pt in pts]
        m = _ROCK_MARGIN_M
        return ProcessedTruth(min(xs) - m, max(xs) + m, min(ys) - m, max(ys) + m,
                              self.p.processed_truth_resolution_m)

    def _tool_ground_offset(self, x: float, y: float) -> float:
        """Extra tool depth at a map point from the ground's deviation from the vehicle plane.

        Ground above the plane the tracks stand on brings the hammers deeper, ground below it
        shallower; the tool's skids/float leave ``tool_ground_following_residual`` of it.
        """
        tr = self.vehicle.truth
        c, s = math.cos(tr.yaw), math.sin(tr.yaw)
        dx, dy = x - tr.x, y - tr.y
        u = c * dx + s * dy
        w = -s * dx + c * dy
        plane = tr.z - u * math.sin(tr.pitch) + w * math.sin(tr.roll)
        ground = float(height_at(self.world.terrain, np.array([x]), np.array([y]))[0])
        return self.p.tool_ground_following_residual * (ground - plane)

    def _stamp_processed(self, tr: VehicleTruth, tx: float, ty: float, travel: float) -> None:
        """Record the ground the tool processed since the last stamp, at its effective depth.

        The tool's centre (``tx``, ``ty``), not base_link (turning in place sweeps the strip
        too), has moved ``travel`` (L1) since the last stamp, at least
        :attr:`_stamp_travel_m` (the caller tests it: most steps it has not).
        """
        p = self.p
        self._stamp_pose = (tx, ty)
        passes = self.contact.tool_passes(tr.v, self._tool_view, self.tools.ground_offset_m)
        if not passes:
            return
        depth = max(tp.reach_m for tp in passes)
        half = 0.5 * p.tool_strike_length_m
        behind = half + min(travel, 2.0 * p.processed_truth_resolution_m + half)
        self.processed.stamp(tx, ty, tr.yaw, half, behind, 0.5 * p.tool_width_m, depth)

    def _apply_change(self, t: float, ch: Change) -> None:
        """Apply one change ground contact decided; record the fate; emit its events."""
        p, tb, row = self.p, self.table, ch.row
        if ch.new_xy is not None:
            tb.move(row, ch.new_xy[0], ch.new_xy[1])
        if ch.new_depth is not None:
            tb.depth[row] = ch.new_depth
        fragments = 0.0
        if ch.outcome in (Outcome.DETONATED, Outcome.DESTROYED):
            self.contact.live[row] = False
            if ch.outcome is Outcome.DETONATED:
                # The blast scatters part of the metal into the crater's topsoil; the charge
                # and the casing's plastic are gone (no dielectric contrast left).
                tb.metal_mass[row] *= p.fragment_metal_fraction
                tb.depth[row] = min(float(tb.depth[row]), p.fragment_depth_m)
                tb.permittivity[row] = self.world.soil.permittivity
            # Broken up or blown up: what is left are small pieces (fuze parts, fragments).
            tb.diameter[row] = min(float(tb.diameter[row]), p.fragment_size_m)
            tb.height[row] = min(float(tb.height[row]), p.fragment_size_m)
            fragments = float(tb.metal_mass[row])
        self.contact.invalidate()
        self.md.refresh(np.array([row]))
        self.gpr.refresh(np.array([row]))
        if ch.disables == 'vehicle':
            self.vehicle.disabled = True
        elif ch.disables == 'tool':
            self.tools.disabled = True
        fate = self._record_fate(t, ch, fragments)
        for ev in ch.events:
            if ev.item_id == fate.name:
                ev.extra = {FATE_KEY: fate.as_dict()}
                if ch.conditions:
                    ev.extra['conditions'] = dict(ch.conditions)
            self._event(ev)

    def _record_fate(self, t: float, ch: Change, fragments: float) -> ItemFate:
        row = ch.row
        if row >= len(self._fates):
            raise IndexError(f'ground contact changed row {row}, not a world item')
        f = self._fates[row]
        tb = self.table
        state = {Outcome.DETONATED: FateState.DETONATED, Outcome.DESTROYED: FateState.DESTROYED,
                 Outcome.DAMAGED: FateState.DAMAGED}.get(ch.outcome, FateState(f.state))
        live = state.live
        moved = ch.outcome in (Outcome.THROWN, Outcome.PUSHED_DEEPER)
        fate = dataclasses.replace(
            f, x=float(tb.x[row]), y=float(tb.y[row]), depth=float(tb.depth[row]),
            state=state.value, last_outcome=ch.outcome.value, cause=ch.cause, changed_at=t,
            neutralised_at=f.neutralised_at if live else (f.neutralised_at or t),
            moves=f.moves + (1 if moved else 0),
            contacts=int(self.contact.passes[row]),
            fragments_metal_kg=fragments if not live else f.fragments_metal_kg,
            processed_depth_m=self.processed.depth_at(float(tb.x[row]), float(tb.y[row])),
            history=f.history + ((round(t, 3), ch.outcome.value, ch.cause),))
        fate = dataclasses.replace(fate, in_processed_ground=fate.processed_depth_m > 0.0)
        self._fates[row] = fate
        return fate

    def item_fates(self) -> List[ItemFate]:
        """Every world item's truth now (position, state, cause, time, processed ground)."""
        out = []
        passes = self.contact.passes
        for row, f in enumerate(self._fates):
            d = self.processed.depth_at(f.x, f.y)
            out.append(dataclasses.replace(f, contacts=int(passes[row]),
                                           processed_depth_m=d, in_processed_ground=d > 0.0))
        return out

    def _sample_outputs(self, t: float, tr: VehicleTruth) -> None:
        """Emit every periodic output whose sample time has come."""
        s = self._sched
        if s['odom'].due(t):
            self._sensor_out('odom', self.odometry.sample(t))
        if s['imu'].due(t):
            # Forward specific force from the true motion: the true speed's change since the
            # last sample over the sample period (the mean of the per-step true accelerations,
            # as an accelerometer integrates between samples), never the commanded speed's.
            span = t - self._imu_t
            accel = (tr.v - self._imu_v) / span if span > 0.0 else 0.0
            self._imu_t, self._imu_v = t, tr.v
            self._sensor_out('imu', self.imu.sample(t, tr.roll, tr.pitch, tr.yaw, tr.omega,
                                                    accel, tr.v))
        if s['gnss'].due(t):
            self._gnss_out(t, tr)
        if s['batch'].due(t):
            self._batch(t)
        if s['tool'].due(t):
            self._sensor_out(Sensor.TOOL.value, self.tools.state(t))
        if s['truth'].due(t):
            self._emit(GroundTruth(t, tr.x, tr.y, tr.z, tr.roll, tr.pitch, tr.yaw, tr.v,
                                   tr.omega))
            if self.actors.actors:
                states, events = self.actors.update(t, tr.x, tr.y)
                for ev in events:
                    self._event(ev)
                self._emit(ActorsSample(t, states))
        if s['people'].due(t):
            self._people_scan(t, tr)
        if s['heartbeat'].due(t) and not self._fault_on(FaultKind.OPERATOR_LINK_LOSS):
            self._emit(Heartbeat(t))
        self._next_due = min(sc.next for sc in s.values())

    def _people_scan(self, t: float, tr: VehicleTruth) -> None:
        """One people-sensor scan of the actors present now (delivered after its latency)."""
        where = []
        for a in self.actors.actors:
            pos = a.position(t)
            if pos is not None:
                where.append(pos)
        self.people.scan(t, tr.x, tr.y, tr.yaw, where)

    def _record_pose(self) -> None:
        tr = self.vehicle.truth
        d = tr.yaw - self._yaw_last
        if d > math.pi:
            d -= 2.0 * math.pi
        elif d < -math.pi:
            d += 2.0 * math.pi
        self._yaw_u += d
        self._yaw_last = tr.yaw
        self._ring.push((self.t, tr.x, tr.y, self._yaw_u, tr.z, tr.pitch, tr.roll))

    # --- faults -------------------------------------------------------------------------

    def _fault_on(self, kind: FaultKind, sensor: str = '') -> bool:
        for f in self._active:
            if f.kind == kind and (not sensor or f.sensor == sensor):
                return True
        return False

    def _update_faults(self, t_prev: float, t: float) -> None:
        inj = self.injector
        self._active = inj.active(t)
        self._fault_change = inj.next_change(t)
        # a track_slip fault holds while active (the largest if several overlap)
        self.vehicle.fault_slip = max((f.slip for f in self._active
                                       if f.kind == FaultKind.TRACK_SLIP), default=0.0)
        for f in inj.started(self._last_fault_t if self._last_fault_t >= 0 else -1.0, t):
            self._start_fault(f, t)
        self._last_fault_t = t

    def _start_fault(self, f: Fault, t: float) -> None:
        tr = self.vehicle.truth
        self._event(SimEvent(stamp=t, kind='fault', item_id=f.kind.value, x=tr.x, y=tr.y,
                             detail=f.describe()))
        if f.kind == FaultKind.DETONATION:
            c, s = math.cos(tr.yaw), math.sin(tr.yaw)
            x = f.x if f.x is not None else tr.x + c * self.p.tool_offset_x_m
            y = f.y if f.y is not None else tr.y + s * self.p.tool_offset_x_m
            kind = 'ap_detonation' if f.item_kind == 'AP' else 'at_detonation'
            self._event(SimEvent(stamp=t, kind=kind, item_id='scenario', item_kind=f.item_kind,
                                 x=x, y=y, detail='scheduled by the fault scenario'))
            mass = (self.p.scenario_explosive_kg_ap if f.item_kind == 'AP'
                    else self.p.scenario_explosive_kg_at)
            hull = getattr(self.vehicle, 'hull_distance', None)
            gap = hull(x, y) if hull is not None else math.hypot(x - tr.x, y - tr.y)
            if gap <= self.p.blast_damage_scaled_distance * mass ** (1.0 / 3.0) \
                    and (f.item_kind != 'AP' or mass > self.p.track_blast_rating_kg):
                self.vehicle.disabled = True
                self._event(SimEvent(stamp=t, kind='damage', item_id='scenario',
                                     item_kind=f.item_kind, x=x, y=y,
                                     detail=f'scheduled {f.item_kind} detonation '
                                            f'{gap:.1f} m from the hull'))
        elif f.kind in (FaultKind.NODE_CRASH, FaultKind.GARBAGE_MESSAGE):
            self._emit(MessageFault(t, f.kind.value, f.topic))
        elif f.kind == FaultKind.NAN_MESSAGE and f.duration <= 0.0:
            self._nan_pending[f.sensor] = True

    def _sensor_out(self, sensor: str, obj: Any) -> None:
        """Emit one sensor output through the dropout/frozen/NaN faults."""
        if self._active:
            if self._fault_on(FaultKind.SENSOR_DROPOUT, sensor):
                return
            if self._fault_on(FaultKind.SENSOR_FROZEN, sensor):
                last = self._frozen_last.get(sensor)
                if last is not None:
                    self._emit(dataclasses.replace(last, stamp=obj.stamp))
                return
            if self._fault_on(FaultKind.NAN_MESSAGE, sensor):
                obj = _nanify(obj)
        if self._nan_pending.pop(sensor, False):
            obj = _nanify(obj)
        self._frozen_last[sensor] = obj
        self._emit(obj)

    def _gnss_out(self, t: float, tr: VehicleTruth) -> None:
        offset = (0.0, 0.0, 0.0)
        if self._active:
            if self._fault_on(FaultKind.GNSS_LOSS):
                return
            for f in self._active:
                if f.kind == FaultKind.GNSS_JUMP:
                    offset = tuple(a + b for a, b in zip(offset, f.offset))
        fix = self.gnss.sample(t, tr.x, tr.y, tr.z, tr.roll, tr.pitch, tr.yaw, offset)
        if fix is not None:
            self._sensor_out('gnss', fix)

    # --- sensor batches -----------------------------------------------------------------

    def _sample_times(self, attr: str, rate: float, t: float) -> List[float]:
        n0 = getattr(self, attr)
        n1 = int(math.floor(t * rate + 1e-6))
        setattr(self, attr, n1 + 1)
        return [n / rate for n in range(n0, n1 + 1)]

    def _boom_layout(self, n_md: int, n_gpr: int) -> _BoomLayout:
        """The cached element layout of a batch of ``n_md`` MD and ``n_gpr`` GPR times."""
        layout = self._layouts.get((n_md, n_gpr))
        if layout is None:
            p = self.p
            layout = self._layouts[(n_md, n_gpr)] = _BoomLayout(
                n_md, self._md_y, p.md_coil_height_m, n_gpr, self._gpr_y,
                p.gpr_antenna_height_m, p.sensor_offset_x_m)
        return layout

    def _boom(self, times: List[float], layout: _BoomLayout):
        """Map positions (2, n) and heights (n,) of the boom elements of a batch at ``times``.

        The elements are ``layout``'s (MD readings, then GPR traces, time-major). The
        per-time terms (interpolated pose, heading, bounce) are scalar arithmetic; each
        element is then ``x + c ox - s oy``, ``y + s ox + c oy`` for its lateral offset.
        """
        p = self.p
        ox = p.sensor_offset_x_m
        amp = p.boom_bounce_amp_m
        omega = 2.0 * math.pi * p.boom_bounce_hz
        phase = self._bounce_phase
        follow = not self._flat and p.boom_terrain_residual > 0.0
        per_time = []
        for t, (x, y, yaw, z, pitch, roll) in zip(times, self._ring.interp(times)):
            c, s = math.cos(yaw), math.sin(yaw)
            # (x + c ox, y + s ox) per time, then (-s, c) oy per element: x + c ox - s oy
            # exactly (a - b is a + (-b)), the boom centre's sum made once a time
            row = [x + c * ox, y + s * ox, -s, c, amp * math.sin(omega * t + phase)]
            if follow:
                row += (z - ox * math.sin(pitch), math.sin(roll))
            per_time.append(row)
        e = np.array(per_time).T[:, layout.time_index]
        lateral = layout.lateral
        xy = e[0:2] + e[2:4] * lateral
        h = layout.height0 + e[4]
        if follow:
            plane = e[5] + lateral * e[6]
            ground = height_at(self.world.terrain, xy[0], xy[1])
            h = h + p.boom_terrain_residual * (plane - ground)
        return xy, np.maximum(h, _MIN_SENSOR_HEIGHT_M)

    def _batch(self, t: float) -> None:
        p = self.p
        md_times = self._sample_times('_md_n', p.md_rate_hz, t)
        gpr_times = self._sample_times('_gpr_n', p.gpr_trace_rate_hz, t)
        active = self._active
        if not md_times or (active and self._fault_on(FaultKind.SENSOR_DROPOUT,
                                                      Sensor.MD.value)):
            md_times = []
        if not gpr_times or (active and self._fault_on(FaultKind.SENSOR_DROPOUT,
                                                       Sensor.GPR.value)):
            gpr_times = []
        if not (md_times or gpr_times):
            return
        # One pose interpolation and one boom computation for both arrays' sample times.
        layout = self._boom_layout(len(md_times), len(gpr_times))
        xy, h = self._boom(md_times + gpr_times, layout)
        # One spatial query for both arrays (they share the boom).
        r = max(p.md_range_m, p.gpr_range_m)
        # the ufuncs' reductions (what ndarray.min and max call, without their wrapper)
        (xmin, ymin), (xmax, ymax) = (np.minimum.reduce(xy, axis=1).tolist(),
                                      np.maximum.reduce(xy, axis=1).tolist())
        rows = self.table.near(xmin - r, xmax + r, ymin - r, ymax + r)
        k = layout.split
        if md_times:
            offsets = np.array([ts - t for ts in md_times]).repeat(self._md_y.size)
            self._sensor_out(Sensor.MD.value, self.md.scan(
                t, offsets, layout.md_base, layout.md_channels, xy[0, :k], xy[1, :k], h[:k],
                rows=rows))
        if gpr_times:
            offsets = np.array([ts - t for ts in gpr_times]).repeat(self._gpr_y.size)
            self._sensor_out(Sensor.GPR.value, self.gpr.scan(
                t, offsets, layout.gpr_base, layout.gpr_channels, xy[0, k:], xy[1, k:], h[k:],
                rows=rows))


def _nanify(obj: Any) -> Any:
    """A copy of a sensor output with its values replaced by NaN (the nan_message fault)."""
    nan = float('nan')
    if isinstance(obj, OdomSample):
        return dataclasses.replace(obj, x=nan, y=nan, yaw=nan, v=nan, omega=nan)
    if isinstance(obj, GnssFix):
        return dataclasses.replace(obj, latitude=nan, longitude=nan, altitude=nan)
    if isinstance(obj, ImuSample):
        return dataclasses.replace(obj, orientation=(nan, nan, nan, nan),
                                   angular_velocity=(nan, nan, nan),
                                   linear_acceleration=(nan, nan, nan))
    if isinstance(obj, MdScan):
        return dataclasses.replace(obj, signals=np.full_like(obj.signals, np.nan))
    if isinstance(obj, GprScan):
        return dataclasses.replace(obj, amplitudes=np.full_like(obj.amplitudes, np.nan))
    if isinstance(obj, ToolState):
        return dataclasses.replace(obj, flail_speed=nan, tiller_speed=nan, depth=nan,
                                   flail_torque=nan, tiller_torque=nan)
    return obj


__all__ = ['ActorsSample', 'GroundTruth', 'Heartbeat', 'MessageFault', 'Sensor', 'SimParams',
           'Simulator']
