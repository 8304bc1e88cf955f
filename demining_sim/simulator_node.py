"""simulator node: the embedded simulator as a component, and the stack's clock.

:class:`SimulatorComponent` owns simulated time (a :class:`ClockSource`): the host calls
:meth:`SimulatorComponent.advance_to` at every clock tick, and the component emits every
output of :class:`demining_sim.simulator.Simulator` produced meanwhile on its port
(/odom/tracks, /gnss/fix, /imu/data, /gpr/traces, /metal_detector/coils,
/tool/joint_states, /sim/events, /sim/ground_truth/odometry, /operator/heartbeat,
/people/detections, and the actors' true positions on /sim/actors for the record; the host
adds /clock and /diagnostics). /cmd_vel and /tool/command are fed to the core;
/cmd_vel and /localization/odometry also pace the ROS host's lockstep (:attr:`pacing_inputs`).
Wall-clock pacing and lockstep belong to the ROS host, not to this module.

Message-level faults of the scenario are enacted here: ``garbage_message`` emits
:class:`Garbage` on the port of its topic (the wire turns it into a malformed message),
``node_crash`` logs an error and raises :class:`SimulatedCrash` out of the host.

No rclpy in this module: ``main()`` imports the ROS host only when it runs.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Dict, List, Mapping, Optional, Tuple

from demining_bringup.contract import topics, vehicle_params
from demining_bringup.contract.component import (ClockSource, Component, HostHandle, Port,
                                                 Status)
from demining_bringup.contract.datatypes import (Garbage, GnssFix, GprScan, GroundTruth,
                                                 Heartbeat, ImuSample, MdScan, OdomSample,
                                                 PlanarPoints, SimEvent, ToolCommand,
                                                 ToolState, Twist2D, VehicleState)
from demining_bringup.contract.errors import ConfigError
from demining_bringup.contract.parameters import param
from demining_bringup.contract.sdf import load_world
from demining_bringup.contract.states import DiagLevel
from demining_bringup.contract.world import World
from demining_sim.faults import FaultKind, Scenario, load_scenario
from demining_sim.resume import resumed_scenario, resumed_world
from demining_sim.simulator import ActorsSample, MessageFault, SimParams, Simulator
from demining_sim.worlds_index import find_world

#: Throttle period of repeated warnings, s.
WARN_PERIOD_S = 5.0
#: Event kinds worth a line in the log (the others are routine: neutralised, intrusion...).
NOTABLE_EVENTS = ('at_detonation', 'damage', 'collision', 'fault')

#: The output port of each kind of simulator output (shared with the sensor emulator, which
#: publishes a subset). ActorsSample (the actors' true positions) leaves as PlanarPoints in map
#: on 'actors' (:func:`actors_points`); MessageFault is enacted (:func:`enact_message_fault`).
PORT_OF_OUTPUT: Mapping[type, str] = {
    OdomSample: 'odom', GnssFix: 'gnss', ImuSample: 'imu', GprScan: 'gpr', MdScan: 'md',
    ToolState: 'tool_state', SimEvent: 'events', GroundTruth: 'truth', Heartbeat: 'heartbeat',
    PlanarPoints: 'people', ActorsSample: 'actors'}


def actors_points(sample: ActorsSample) -> PlanarPoints:
    """The actors' true positions as a /sim/actors value (map frame)."""
    return PlanarPoints(sample.stamp, [(a.x, a.y) for a in sample.actors], topics.MAP_FRAME)


class SimulatedCrash(RuntimeError):
    """Raised by the node_crash fault to leave the host (the process ends as if it crashed)."""


@dataclasses.dataclass(frozen=True)
class SimNodeParams(SimParams):
    """The simulator's parameters plus the world and the fault scenario."""

    world: str = param('', 'World SDF file (path, or a name in demining_sim/worlds)',
                       read_only=True)
    scenario_file: str = param('', 'Fault-injection scenario YAML ("" for none)',
                               read_only=True)
    clock_rate_hz: float = param(
        10.0, '/clock rate in simulated time, Hz: the time resolution of every node on sim '
        'time (10 Hz suits a vehicle at 0.4 m/s; each tick wakes every node)', min=1.0,
        max=1000.0)
    # One /clock tick: every 10 Hz timer of the stack fires at every tick. With 0.3 s, a
    # loaded machine (a DDS run beside the test suite's workers) advanced three ticks per
    # executor round; rcl timers skip missed periods, so the control loop ran at ~3 Hz with
    # 0.3-0.6 s of lag: the machine overran corners by 0.25 m and started lanes off their
    # lines, leaving strips unprocessed that the deterministic host never leaves.
    lockstep_max_lead_s: float = param(
        0.1, 'Lockstep: simulated time may run at most this far ahead of the control loop '
        '(last /cmd_vel arrival, last /localization/odometry stamp); 0 disables', min=0.0,
        max=10.0)
    lockstep_timeout_s: float = param(
        2.0, 'Lockstep: wall seconds without control-loop progress after which the '
        'simulation runs on free (a crashed node must not freeze time)', min=0.1, max=60.0)
    resume_dir: str = vehicle_params.resume_dir()


# --- helpers shared with the sensor emulator ----------------------------------------------------

def load_world_and_scenario(world: str, scenario_file: str) -> Tuple[World, Optional[Scenario]]:
    """Resolve and load the world and the optional scenario; raise a config error if unusable."""
    loaded = load_world(find_world(world))
    scenario = None
    if scenario_file:
        try:
            scenario = load_scenario(scenario_file)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    return loaded, scenario


def sim_params_of(params: SimParams) -> SimParams:
    """The plain :class:`SimParams` part of a node schema that extends it."""
    return SimParams(**{f.name: getattr(params, f.name) for f in dataclasses.fields(SimParams)})


def enact_message_fault(component: Component, fault: MessageFault) -> None:
    """Enact a message-level fault on ``component``'s outputs.

    ``node_crash`` logs an error and raises :class:`SimulatedCrash`; ``garbage_message`` emits
    :class:`Garbage` on the output port bound to the fault's topic (a warning when the
    component has no such port: another process publishes that topic).
    """
    if fault.kind == FaultKind.NODE_CRASH.value:
        component.log.error(f'simulated crash (node_crash fault) at t={fault.stamp:.2f} s')
        raise SimulatedCrash(f'node_crash fault at t={fault.stamp:.2f} s')
    if fault.kind != FaultKind.GARBAGE_MESSAGE.value:
        return
    port = next((name for name, p in component.outputs.items() if p.topic == fault.topic),
                None)
    if port is None:
        component.log.warning(f'garbage_message on {fault.topic}: not published by '
                              f'{component.name}, not injected')
        return
    component.log.warning(f'publishing a malformed message on {fault.topic} '
                          '(garbage_message fault)')
    component.emit(port, Garbage(fault.stamp))


def log_notable_event(component: Component, ev: SimEvent) -> None:
    """Log an event an operator reading the log should see (detonation, damage...)."""
    if ev.kind in NOTABLE_EVENTS:
        component.log.info(f'event {ev.kind} {ev.item_id} at ({ev.x:.1f}, {ev.y:.1f}) '
                           f'{ev.detail}')


# --- the component ------------------------------------------------------------------------------

class SimulatorComponent(ClockSource):
    """The embedded simulator (node ``simulator``): the vehicle, its sensors, and /clock."""

    name = 'simulator'
    params = SimNodeParams
    inputs = {'cmd_vel': Port(topics.CMD_VEL),
              'tool_command': Port(topics.TOOL_COMMAND),
              'localization': Port(topics.LOCALIZATION)}
    outputs = {'clock': Port(topics.CLOCK),
               'odom': Port(topics.ODOM_TRACKS),
               'gnss': Port(topics.GNSS_FIX),
               'imu': Port(topics.IMU),
               'gpr': Port(topics.GPR_TRACES),
               'md': Port(topics.MD_COILS),
               'tool_state': Port(topics.TOOL_JOINT_STATES),
               'events': Port(topics.SIM_EVENTS),
               'truth': Port(topics.GROUND_TRUTH),
               'heartbeat': Port(topics.OPERATOR_HEARTBEAT),
               'people': Port(topics.PEOPLE_DETECTIONS),
               'actors': Port(topics.SIM_ACTORS)}
    # /cmd_vel (its arrival) and /localization/odometry (its stamp) show how far the control
    # loop has got: simulated time must not run away from it.
    pacing_inputs = ('cmd_vel', 'localization')

    def __init__(self, host: HostHandle) -> None:
        """Bind to the host; the simulator is built by :meth:`on_configure`."""
        super().__init__(host)
        self.sim: Optional[Simulator] = None
        self._config: Optional[SimNodeParams] = None
        self._crashed = False

    # --- lifecycle ------------------------------------------------------------------------

    def on_configure(self, params: SimNodeParams) -> None:
        """Load the world and the scenario and build the simulator (config errors refuse)."""
        world, scenario = load_world_and_scenario(params.world, params.scenario_file)
        if params.resume_dir:
            # the machine where the crashed mission's journal left it, its kills still gone
            world = resumed_world(world, params.resume_dir)
            scenario = resumed_scenario(scenario, params.resume_dir)
        self.sim = Simulator(world, sim_params_of(params), scenario)
        self._config = params
        self._crashed = False
        self.log.info(
            f'simulating {world.name!r} ({len(world.items)} items, '
            f'{len(world.obstacles)} obstacles) at {params.real_time_factor:g}x real time, '
            f'seed {params.seed}'
            + (f', scenario {params.scenario_file}' if params.scenario_file else ''))

    def on_cleanup(self) -> None:
        """Drop the simulator (a new configure starts a new run at t = 0)."""
        self.sim = None
        self._config = None

    # --- ClockSource ----------------------------------------------------------------------

    @property
    def time(self) -> float:
        """Simulated time reached, s (0 before configuration)."""
        return self.sim.t if self.sim is not None else 0.0

    def clock_period_s(self) -> float:
        """Simulated seconds between /clock ticks."""
        return 1.0 / self._params().clock_rate_hz

    def pacing(self) -> Tuple[float, float, float]:
        """Return (real_time_factor, lockstep_max_lead_s, lockstep_timeout_s)."""
        p = self._params()
        return p.real_time_factor, p.lockstep_max_lead_s, p.lockstep_timeout_s

    def advance_to(self, t: float) -> None:
        """Advance the simulation to ``t`` and emit every output it produced, oldest first.

        After a ``node_crash`` fault nothing advances any more (a crashed node is silent).
        """
        sim = self.sim
        if sim is None or self._crashed:
            return
        sim.advance_to(t)
        for obj in sim.drain():
            port = PORT_OF_OUTPUT.get(type(obj))
            if port is not None:
                self.emit(port, actors_points(obj) if port == 'actors' else obj)
                if port == 'events':
                    log_notable_event(self, obj)
            elif isinstance(obj, MessageFault):
                if obj.kind == FaultKind.NODE_CRASH.value:
                    self._crashed = True
                enact_message_fault(self, obj)

    # --- inputs ---------------------------------------------------------------------------

    def on_cmd_vel(self, cmd: Twist2D, now: float) -> None:
        """Feed a motion command to the vehicle (non-finite commands are ignored)."""
        if not (math.isfinite(cmd.v) and math.isfinite(cmd.omega)):
            self.log.warning(f'ignored a non-finite {topics.CMD_VEL}', throttle_s=WARN_PERIOD_S)
            return
        self._sim().set_command(cmd)

    def on_tool_command(self, cmd: ToolCommand, now: float) -> None:
        """Feed a tool command (the core ignores non-finite values)."""
        self._sim().set_tool_command(cmd)

    def on_localization(self, state: VehicleState, now: float) -> None:
        """Nothing to do: the estimate only paces simulated time (the host's lockstep)."""

    # --- diagnostics ----------------------------------------------------------------------

    def diagnostics(self, now: float) -> Optional[Status]:
        """Simulated time, outputs lost to a full queue, and whether the vehicle is damaged."""
        sim = self.sim
        if sim is None:
            return None
        values: Dict[str, object] = {'sim_time_s': f'{sim.t:.1f}',
                                     'dropped_outputs': str(sim.dropped_outputs),
                                     'damaged': str(sim.damaged).lower()}
        return DiagLevel.OK, 'running', values

    # --- internals ------------------------------------------------------------------------

    def _sim(self) -> Simulator:
        if self.sim is None:
            raise RuntimeError('simulator used before configuration')
        return self.sim

    def _params(self) -> SimNodeParams:
        if self._config is None:
            raise RuntimeError('simulator used before configuration')
        return self._config


def main(args: Optional[List[str]] = None) -> int:
    """Console script ``simulator_node``."""
    from demining_bringup.hosts.ros import run_component
    return run_component(SimulatorComponent, args)


__all__ = ['NOTABLE_EVENTS', 'PORT_OF_OUTPUT', 'actors_points', 'SimNodeParams', 'SimulatedCrash',
           'SimulatorComponent', 'enact_message_fault', 'load_world_and_scenario',
           'log_notable_event', 'main', 'sim_params_of']
