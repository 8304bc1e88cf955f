"""The simulator and the sensor emulator as components, through the runtime (no ROS).

The test plays the host: it configures and activates the component with
:class:`ComponentRuntime`, delivers inputs, and for the simulator calls ``advance_to(t)`` then
emits ``clock`` at every tick, as both hosts do.
"""

import math

import numpy as np
import pytest

from demining_bringup.contract import topics
from demining_bringup.contract.component import ClockSource
from demining_bringup.contract.datatypes import (Garbage, GnssFix, GprScan, GroundTruth,
                                                 Heartbeat, ImuSample, MdScan, OdomSample,
                                                 PlanarPoints, SimEvent, ToolCommand, ToolState,
                                                 Twist2D, VehicleState)
from demining_bringup.contract.errors import CONFIG_ERRORS, ConfigError
from demining_bringup.contract.parameters import ParamError
from demining_bringup.contract.sdf import write_world
from demining_bringup.contract.states import DiagLevel, LifecycleState
from demining_bringup.contract.world import GeoOrigin, World
from demining_bringup.hosts.runtime import ComponentRuntime, RecordingLog
from demining_sim import worlds_index
from demining_sim.sensor_emulator_node import SensorEmulatorComponent
from demining_sim.simulator_node import SimulatedCrash, SimulatorComponent

CLOCK_PERIOD_S = 0.1
#: A short fault: its start is a /sim/events message (nothing else happens in 1 s of driving).
LINK_LOSS = '{at: 0.3, kind: operator_link_loss, duration: 0.1}'
#: The type each simulator port carries (what the wire encodes on its topic).
PORT_TYPES = {'clock': float, 'odom': OdomSample, 'gnss': GnssFix, 'imu': ImuSample,
              'gpr': GprScan, 'md': MdScan, 'tool_state': ToolState, 'events': SimEvent,
              'truth': GroundTruth, 'heartbeat': Heartbeat, 'people': PlanarPoints,
              'actors': PlanarPoints}
#: An actor, so /sim/actors carries something within a second.
WALKER = "actors:\n  - {name: walker, kind: person, path: [[20.0, 0.0], [20.0, 30.0]]}\n"


class Host:
    """A component in a runtime, with what it emitted and logged."""

    def __init__(self, cls, **params):
        self.out = []
        self.log = RecordingLog()
        self.rt = ComponentRuntime(cls, sink=lambda port, value: self.out.append((port, value)),
                                   log=self.log)
        self.rt.configure(params)
        self.rt.activate(0.0)

    @property
    def c(self):
        return self.rt.component

    def run_to(self, t_end, cmd=None):
        """Tick the clock to ``t_end`` as a host does (commands delivered every tick)."""
        while self.c.time < t_end - 1e-9:
            t = round(self.c.time + self.c.clock_period_s(), 9)
            if cmd is not None:
                self.rt.deliver('cmd_vel', cmd, self.c.time)
            self.c.advance_to(t)
            self.rt.emit('clock', t)

    def on(self, port):
        return [v for p, v in self.out if p == port]


def scenario(tmp_path, *faults):
    path = tmp_path / 'scenario.yaml'
    path.write_text('faults:\n' + ''.join(f'  - {f}\n' for f in faults) + WALKER)
    return str(path)


# --- the simulator ---------------------------------------------------------------------------

def test_is_a_clock_source_with_its_pacing():
    h = Host(SimulatorComponent, world='training_field', real_time_factor=20.0,
             clock_rate_hz=10.0)
    assert isinstance(h.c, ClockSource) and SimulatorComponent.clock_source
    assert set(SimulatorComponent.pacing_inputs) <= set(SimulatorComponent.inputs)
    assert h.c.clock_period_s() == pytest.approx(CLOCK_PERIOD_S)
    # the lockstep lets the simulation lead the control loop by one clock tick: every 10 Hz
    # timer of the stack fires at every tick (more, and they skip ticks under load)
    assert h.c.pacing() == (20.0, pytest.approx(CLOCK_PERIOD_S), 2.0)
    assert h.c.time == 0.0
    assert set(SimulatorComponent.outputs) == set(PORT_TYPES)
    assert SimulatorComponent.actuator_ports() == []


def test_emits_every_contract_output_within_one_second(tmp_path):
    h = Host(SimulatorComponent, world='training_field',
             scenario_file=scenario(tmp_path, LINK_LOSS))
    h.run_to(1.0, cmd=Twist2D(0.3, 0.0))
    for port, kind in PORT_TYPES.items():
        values = h.on(port)
        assert values, f'nothing on {port}'
        assert all(isinstance(v, kind) for v in values), port
    assert h.on('clock') == pytest.approx([0.1 * k for k in range(1, 11)])
    assert h.c.time == pytest.approx(1.0)
    assert any(e.kind == 'fault' for e in h.on('events'))
    assert any('event fault' in line for line in h.log.at('info'))


def test_every_output_goes_through_its_topic_wire(tmp_path):
    """Each port carries what the wire of its topic encodes and decodes."""
    pytest.importorskip('rclpy')
    from demining_bringup.contract.wire import wires
    w = wires()
    h = Host(SimulatorComponent, world='training_field',
             scenario_file=scenario(tmp_path, LINK_LOSS))
    h.run_to(1.0, cmd=Twist2D(0.3, 0.0))
    seen = set()
    for port, value in h.out:
        topic = SimulatorComponent.outputs[port].topic
        msg = w[topic].encode(value, h.c.time)
        assert isinstance(msg, w[topic].msg_type)
        w[topic].decode(msg)
        seen.add(port)
    assert seen == set(PORT_TYPES)


def _truth_x(h):
    return h.on('truth')[-1].x


def test_drives_on_cmd_vel():
    h = Host(SimulatorComponent, world='training_field')
    h.run_to(1.0)
    start = h.on('truth')[-1]
    h.run_to(6.0)
    idle = h.on('truth')[-1]
    assert math.hypot(idle.x - start.x, idle.y - start.y) < 0.01
    h.run_to(11.0, cmd=Twist2D(0.5, 0.0))
    moved = h.on('truth')[-1]
    assert math.hypot(moved.x - idle.x, moved.y - idle.y) > 1.5
    assert moved.v == pytest.approx(0.5, abs=0.05)


def test_ignores_a_non_finite_cmd_vel():
    h = Host(SimulatorComponent, world='training_field')
    h.run_to(1.0)
    start = h.on('truth')[-1]
    for bad in (Twist2D(math.nan, 0.0), Twist2D(0.5, math.inf)):
        h.run_to(h.c.time + 3.0, cmd=bad)
    end = h.on('truth')[-1]
    assert math.hypot(end.x - start.x, end.y - start.y) < 0.01
    warnings = [(text, throttle) for lv, text, throttle in h.log.lines if lv == 'warning']
    assert warnings and all(topics.CMD_VEL in text and throttle > 0.0
                            for text, throttle in warnings)


def test_tool_command_spins_the_flail():
    h = Host(SimulatorComponent, world='training_field')
    for _ in range(30):
        h.rt.deliver('tool_command', ToolCommand(flail_speed=90.0), h.c.time)
        h.run_to(h.c.time + 0.1)
    assert h.on('tool_state')[-1].flail_speed > 10.0


def test_localization_only_paces():
    h = Host(SimulatorComponent, world='training_field')
    h.rt.deliver('localization', VehicleState(0.0, 1.0, 2.0, 0.0), 0.0)
    assert h.out == []


def test_garbage_fault_emits_garbage_on_the_topics_port(tmp_path):
    h = Host(SimulatorComponent, world='training_field',
             scenario_file=scenario(tmp_path,
                                    '{at: 0.5, kind: garbage_message, topic: /gpr/traces}',
                                    '{at: 0.7, kind: garbage_message, topic: /sim/events}'))
    h.run_to(1.0)
    garbage = [(p, v) for p, v in h.out if isinstance(v, Garbage)]
    assert [(p, v.stamp) for p, v in garbage] == [('gpr', pytest.approx(0.5)),
                                                  ('events', pytest.approx(0.7))]
    assert len(h.log.at('warning')) == 2
    # The sensor keeps publishing around the garbage.
    assert any(isinstance(v, GprScan) and v.stamp > 0.5 for v in h.on('gpr'))


def test_garbage_is_malformed_on_the_wire(tmp_path):
    pytest.importorskip('rclpy')
    from demining_bringup.contract.codec import DecodeError
    from demining_bringup.contract.wire import wires
    w = wires()
    h = Host(SimulatorComponent, world='training_field',
             scenario_file=scenario(tmp_path,
                                    '{at: 0.5, kind: garbage_message, topic: /gpr/traces}'))
    h.run_to(1.0)
    (port, value), = [(p, v) for p, v in h.out if isinstance(v, Garbage)]
    wire = w[SimulatorComponent.outputs[port].topic]
    with pytest.raises(DecodeError):
        wire.decode(wire.encode(value, 1.0))


def test_node_crash_raises_and_stops_the_simulation(tmp_path):
    h = Host(SimulatorComponent, world='training_field',
             scenario_file=scenario(tmp_path, '{at: 0.5, kind: node_crash}'))
    with pytest.raises(SimulatedCrash):
        h.run_to(1.0)
    assert any('node_crash' in line for line in h.log.at('error'))
    t = h.c.time
    assert t == pytest.approx(0.5, abs=CLOCK_PERIOD_S)
    n = len(h.out)
    h.c.advance_to(t + 1.0)                       # a crashed simulator is silent
    assert h.c.time == t and len(h.out) == n


def test_nothing_leaves_before_activation():
    out = []
    rt = ComponentRuntime(SimulatorComponent, sink=lambda p, v: out.append(p), log=RecordingLog())
    rt.configure({'world': 'training_field'})
    rt.component.advance_to(1.0)
    assert out == [] and rt.dropped.get('odom', 0) > 0
    rt.activate(1.0)
    rt.component.advance_to(2.0)
    assert 'odom' in out


def test_diagnostics_report_time_losses_and_damage():
    h = Host(SimulatorComponent, world='training_field')
    h.run_to(1.0)
    level, message, values = h.rt.diagnostics(1.0)
    assert level is DiagLevel.OK and message
    assert values['sim_time_s'] == '1.0'
    assert values['dropped_outputs'] == '0' and values['damaged'] == 'false'
    assert values['lifecycle_state'] == LifecycleState.ACTIVE.value


@pytest.mark.parametrize('params,error', [
    ({'world': '/nonexistent/world.sdf'}, ConfigError),
    ({'world': 'no_such_world'}, ConfigError),
    ({'world': ''}, ConfigError),
    ({'world': 'training_field', 'real_time_factor': 500.0}, ParamError),
])
def test_bad_configuration_refuses_configure(params, error):
    rt = ComponentRuntime(SimulatorComponent, sink=lambda p, v: None, log=RecordingLog())
    with pytest.raises(error):
        rt.configure(params)
    assert rt.state is LifecycleState.UNCONFIGURED


def test_bad_scenario_or_world_file_is_a_config_error(tmp_path):
    bad = tmp_path / 'bad.yaml'
    bad.write_text('faults:\n  - {at: 1.0, kind: no_such_fault}\n')
    rt = ComponentRuntime(SimulatorComponent, sink=lambda p, v: None, log=RecordingLog())
    with pytest.raises(ConfigError):
        rt.configure({'world': 'training_field', 'scenario_file': str(bad)})
    broken = tmp_path / 'broken.sdf'
    broken.write_text('<sdf><world>')
    with pytest.raises(CONFIG_ERRORS):
        rt.configure({'world': str(broken)})


def test_cleanup_and_configure_restart_at_zero():
    h = Host(SimulatorComponent, world='training_field')
    h.run_to(0.5)
    h.rt.deactivate(0.5)
    h.rt.cleanup()
    assert h.c.time == 0.0
    h.rt.configure({'world': 'training_field'})
    assert h.c.time == 0.0


# --- the world index -------------------------------------------------------------------------

def test_worlds_index_resolves_names_and_paths(tmp_path):
    names = worlds_index.list_worlds()
    assert 'training_field' in names
    path = worlds_index.find_world('training_field')
    assert path.endswith('training_field.sdf')
    assert worlds_index.find_world('training_field.sdf') == path
    assert worlds_index.find_world(path) == path
    with pytest.raises(ConfigError, match='training_field'):
        worlds_index.find_world('nope')


# --- the sensor emulator ---------------------------------------------------------------------

def flat_world_file(tmp_path):
    world = World(name='flat', origin=GeoOrigin(44.87, 18.81, 95.0),
                  field=[(-2.0, -5.0), (30.0, -5.0), (30.0, 5.0), (-2.0, 5.0)],
                  vehicle_start=(0.0, 0.0, 0.0))
    return write_world(world, str(tmp_path / 'flat.sdf'))


def feed_truth(h, t_end, step=0.1, v=0.4, truth_type=VehicleState):
    """Deliver ground truth at 10 Hz of sim time, as the bridge would."""
    t = 0.0
    while t < t_end - 1e-9:
        t = round(t + step, 9)
        if truth_type is GroundTruth:
            value = GroundTruth(t, v * t, 0.0, 0.0, 0.0, 0.0, 0.0, v, 0.0)
        else:
            value = VehicleState(stamp=t, x=v * t, y=0.0, yaw=0.0, v=v)
        h.rt.deliver('truth', value, t)


@pytest.mark.parametrize('truth_type', [VehicleState, GroundTruth])
def test_emulator_emits_what_gazebo_cannot(tmp_path, truth_type):
    h = Host(SensorEmulatorComponent, world=flat_world_file(tmp_path), seed=3)
    assert not SensorEmulatorComponent.clock_source
    for _ in range(5):
        h.rt.deliver('tool_command', ToolCommand(flail_speed=90.0), 0.0)
    feed_truth(h, 2.0, truth_type=truth_type)
    kinds = {'gpr': GprScan, 'md': MdScan, 'tool_state': ToolState, 'heartbeat': Heartbeat}
    for port, kind in kinds.items():
        assert h.on(port) and all(isinstance(v, kind) for v in h.on(port)), port
    assert h.c.core.time == pytest.approx(2.0)
    scan = h.on('gpr')[-1]
    assert np.all(scan.time_offsets <= 0.0)
    assert {p for p, _ in h.out} <= set(SensorEmulatorComponent.outputs)


def test_emulator_warns_on_bad_truth(tmp_path):
    h = Host(SensorEmulatorComponent, world=flat_world_file(tmp_path))
    h.rt.deliver('truth', VehicleState(stamp=0.5, x=0.0, y=0.0, yaw=0.0), 0.5)
    h.rt.deliver('truth', VehicleState(stamp=0.6, x=math.nan, y=0.0, yaw=0.0), 0.6)
    assert h.c.core.rejected_truth == 1
    assert h.log.at('warning')
    level, _, values = h.rt.diagnostics(0.6)
    assert level is DiagLevel.OK and values['rejected_truth'] == '1'


def test_emulator_message_faults(tmp_path):
    h = Host(SensorEmulatorComponent, world=flat_world_file(tmp_path),
             scenario_file=scenario(tmp_path,
                                    '{at: 0.3, kind: garbage_message, topic: /odom/tracks}',
                                    '{at: 0.5, kind: garbage_message, topic: /gpr/traces}',
                                    '{at: 1.0, kind: node_crash}'))
    with pytest.raises(SimulatedCrash):
        feed_truth(h, 2.0)
    garbage = [(p, v.stamp) for p, v in h.out if isinstance(v, Garbage)]
    assert garbage == [('gpr', pytest.approx(0.5))]
    assert any(topics.ODOM_TRACKS in line and 'not injected' in line
               for line in h.log.at('warning'))
    n = len(h.out)
    h.rt.deliver('truth', VehicleState(stamp=3.0, x=1.2, y=0.0, yaw=0.0), 3.0)
    assert len(h.out) == n                        # crashed: silent


def test_emulator_bad_world_is_a_config_error():
    rt = ComponentRuntime(SensorEmulatorComponent, sink=lambda p, v: None, log=RecordingLog())
    with pytest.raises(ConfigError):
        rt.configure({'world': '/nonexistent/world.sdf'})
