"""The Gazebo backend: bridge configuration, world requirements and the sensor emulator.

Gazebo itself does not run here; tests that need it skip with "Gazebo (gz sim) is not
installed". Everything else is checked without it: the ros_gz_bridge YAML against
docs/interfaces.md, the worlds against what the bridge expects, and the emulator core against
the embedded simulator (same world, same seed, fed the embedded run's ground truth: the
outputs must be the ones the embedded backend publishes). One DDS test hosts the emulator
component as a lifecycle node.
"""

import math
import pathlib
import re
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import yaml

from demining_bringup.contract import topics
from demining_bringup.contract.datatypes import (GprScan, MdScan, SimEvent, ToolCommand,
                                                 ToolState, Twist2D)
from demining_sim.sensor_emulator_node import SensorEmulator, TruthPose, rpy_from_quaternion
from demining_sim.simulator import GroundTruth, Heartbeat, SimParams, Simulator
from demining_bringup.contract.world import BuriedItem, GeoOrigin, ItemKind, Obstacle, World

ROOT = pathlib.Path(__file__).resolve().parents[2]
BRIDGE_YAML = ROOT / 'config' / 'gz_bridge.yaml'
INTERFACES = ROOT / 'docs' / 'interfaces.md'
WORLDS = sorted((ROOT / 'demining_sim' / 'worlds').glob('*.sdf'))
GZ_MISSING = 'Gazebo (gz sim) is not installed'
TIMEOUT_S = 30.0

#: ROS <-> Gazebo message pairs ros_gz_bridge (Jazzy) converts, for the types used here.
BRIDGE_PAIRS = {
    'rosgraph_msgs/msg/Clock': 'gz.msgs.Clock',
    'geometry_msgs/msg/Twist': 'gz.msgs.Twist',
    'nav_msgs/msg/Odometry': 'gz.msgs.Odometry',
    'sensor_msgs/msg/NavSatFix': 'gz.msgs.NavSat',
    'sensor_msgs/msg/Imu': 'gz.msgs.IMU',
}
DIRECTIONS = {'GZ_TO_ROS', 'ROS_TO_GZ', 'BIDIRECTIONAL'}
#: What Gazebo simulates (through the bridge) and what the emulator publishes.
#: Topic names as resolved without a namespace (docs/interfaces.md lists them so).
R = topics.resolved
GAZEBO_TOPICS = {R(topics.CLOCK): 'GZ_TO_ROS', R(topics.CMD_VEL): 'ROS_TO_GZ',
                 R(topics.ODOM_TRACKS): 'GZ_TO_ROS', R(topics.GNSS_FIX): 'GZ_TO_ROS',
                 R(topics.IMU): 'GZ_TO_ROS', R(topics.GROUND_TRUTH): 'GZ_TO_ROS'}
EMULATOR_TOPICS = {R(t) for t in (topics.GPR_TRACES, topics.MD_COILS, topics.TOOL_JOINT_STATES,
                                  topics.SIM_EVENTS, topics.OPERATOR_HEARTBEAT,
                                  topics.PEOPLE_DETECTIONS,
                                  topics.DIAGNOSTICS)}


def bridge_entries():
    with open(BRIDGE_YAML, encoding='utf-8') as f:
        return yaml.safe_load(f)


def documented_topics():
    """{topic: (type, from -> to)} from the topic table of docs/interfaces.md."""
    rows = {}
    for line in INTERFACES.read_text(encoding='utf-8').splitlines():
        m = re.match(r'\| `(/[^`]+)` \| ([a-z_]+/[A-Za-z0-9]+)[^|]*\|(.*)\|\s*$', line)
        if m:
            rows[m.group(1)] = (m.group(2), m.group(3).split('|')[-1].strip())
    return rows


def short_type(ros_type_name):
    """'nav_msgs/msg/Odometry' -> 'nav_msgs/Odometry'."""
    pkg, kind, name = ros_type_name.split('/')
    assert kind == 'msg', ros_type_name
    return f'{pkg}/{name}'


# --- the bridge YAML --------------------------------------------------------------------------

def test_bridge_yaml_is_a_valid_parameter_bridge_config():
    entries = bridge_entries()
    assert isinstance(entries, list) and entries
    required = {'ros_topic_name', 'gz_topic_name', 'ros_type_name', 'gz_type_name',
                'direction'}
    optional = {'subscriber_queue', 'publisher_queue', 'lazy'}
    for e in entries:
        assert required <= set(e), e
        assert set(e) <= required | optional, f'unknown keys in {e}'
        assert e['direction'] in DIRECTIONS
        assert BRIDGE_PAIRS.get(e['ros_type_name']) == e['gz_type_name'], e
        # ROS names relative (a namespace applies), but for the shared /clock.
        assert e['gz_topic_name'].startswith('/')
        assert e['ros_topic_name'] in topics.TOPICS, e['ros_topic_name']
        for key in ('subscriber_queue', 'publisher_queue'):
            if key in e:
                assert isinstance(e[key], int) and e[key] > 0
    names = [e['ros_topic_name'] for e in entries]
    assert len(names) == len(set(names)), 'a ROS topic is bridged twice'


def test_every_bridged_topic_is_in_the_contract_with_the_same_type():
    documented = documented_topics()
    for e in bridge_entries():
        topic = R(e['ros_topic_name'])
        assert topic in documented, f'{topic} is not in docs/interfaces.md'
        assert documented[topic][0] == short_type(e['ros_type_name']), topic


def test_bridge_carries_what_gazebo_simulates_in_the_right_direction():
    got = {R(e['ros_topic_name']): e['direction'] for e in bridge_entries()}
    assert got == GAZEBO_TOPICS


def test_bridge_and_emulator_together_replace_the_simulator():
    """Every topic the contract gives the simulator comes from Gazebo or the emulator."""
    flows = {t: flow.split('->') for t, (_, flow) in documented_topics().items()}
    from_sim = {t for t, f in flows.items() if 'simulator' in f[0]}
    to_sim = {t for t, f in flows.items() if 'simulator' in f[-1]}
    assert R(topics.GPR_TRACES) in from_sim and R(topics.CMD_VEL) in to_sim   # parser sanity
    bridged = {R(e['ros_topic_name']) for e in bridge_entries()}
    provided = bridged | EMULATOR_TOPICS
    assert from_sim - provided == set()
    # inputs: /cmd_vel goes to Gazebo, /tool/command to the emulator (tested below);
    # /localization/odometry only paces the embedded simulator's lockstep
    assert to_sim - bridged == {R(topics.TOOL_COMMAND), R(topics.LOCALIZATION)}


# --- what a world must provide ----------------------------------------------------------------

def _vehicle(path):
    root = ET.parse(path).getroot()
    models = [m for m in root.iter('model') if m.get('name') == 'vehicle']
    assert len(models) == 1, f'{path.name}: needs exactly one model named "vehicle"'
    return root, models[0]


def _plugin(model, suffix):
    return [p for p in model.iter('plugin') if p.get('name', '').endswith(suffix)]


def _text(el, tag):
    child = el.find(tag)
    return child.text.strip() if child is not None and child.text else None


@pytest.mark.parametrize('path', WORLDS, ids=[p.stem for p in WORLDS])
def test_world_provides_drive_and_sensor_topics(path):
    root, vehicle = _vehicle(path)
    world = root.find('world')
    systems = {p.get('name') for p in world.findall('plugin')}
    for needed in ('gz::sim::systems::Physics', 'gz::sim::systems::Sensors',
                   'gz::sim::systems::Imu', 'gz::sim::systems::NavSat'):
        assert needed in systems, f'{path.name}: world lacks {needed}'
    assert world.find('spherical_coordinates') is not None
    drive = _plugin(vehicle, '::DiffDrive')
    assert len(drive) == 1, f'{path.name}: the vehicle needs one DiffDrive system'
    gz = {e['ros_topic_name']: e['gz_topic_name'] for e in bridge_entries()}
    assert _text(drive[0], 'topic') == gz[topics.CMD_VEL]
    assert _text(drive[0], 'odom_topic') == gz[topics.ODOM_TRACKS]
    assert _text(drive[0], 'frame_id') == topics.ODOM_FRAME
    assert _text(drive[0], 'child_frame_id') == topics.BASE_FRAME
    sensors = {s.get('type'): _text(s, 'topic') for s in vehicle.iter('sensor')}
    assert sensors.get('imu') == gz[topics.IMU]
    assert sensors.get('navsat') == gz[topics.GNSS_FIX]


@pytest.mark.parametrize('path', WORLDS, ids=[p.stem for p in WORLDS])
def test_world_provides_ground_truth(path):
    """The OdometryPublisher system publishes the pose the emulator follows (docs/gazebo.md)."""
    _, vehicle = _vehicle(path)
    gz = {e['ros_topic_name']: e['gz_topic_name'] for e in bridge_entries()}
    pubs = _plugin(vehicle, '::OdometryPublisher')
    assert len(pubs) == 1, f'{path.name}: the vehicle has no OdometryPublisher system'
    assert _text(pubs[0], 'odom_topic') == gz[topics.GROUND_TRUTH]
    assert _text(pubs[0], 'odom_frame') == topics.MAP_FRAME
    assert _text(pubs[0], 'robot_base_frame') == topics.BASE_FRAME
    assert _text(pubs[0], 'dimensions') == '3'


# --- the emulator core (no DDS) ---------------------------------------------------------------

def straight_world():
    """A flat strip with a PMN and a metal can on the vehicle's path (x east)."""
    items = [BuriedItem('pmn', ItemKind.AP, x=7.0, y=0.2, depth=0.05, diameter=0.112,
                        height=0.056, metal_mass=0.004, explosive_mass=0.24, model='PMN'),
             BuriedItem('can', ItemKind.CLUTTER, x=9.0, y=-0.4, depth=0.04, diameter=0.07,
                        height=0.1, metal_mass=0.03, model='can')]
    return World(name='strip', origin=GeoOrigin(44.87, 18.81, 95.0),
                 field=[(-2.0, -5.0), (30.0, -5.0), (30.0, 5.0), (-2.0, 5.0)],
                 items=items, obstacles=[Obstacle('rock', x=25.0, y=0.0, radius=0.5)],
                 vehicle_start=(0.0, 0.0, 0.0))


FLAIL = ToolCommand(flail_speed=90.0, tiller_speed=0.0, depth=0.15)
DRIVE_S = 14.0
STEP_S = 0.1


def run_embedded(world, seed):
    """Drive the embedded simulator straight at 0.4 m/s with the flail on; all outputs."""
    sim = Simulator(world, SimParams(seed=seed))
    out = []
    for k in range(1, int(DRIVE_S / STEP_S) + 1):
        sim.set_command(Twist2D(0.4, 0.0))
        sim.set_tool_command(FLAIL)
        sim.advance_to(k * STEP_S)
        out += sim.drain()
    return out


def run_emulator(world, seed, truth):
    """Feed the embedded run's ground truth to the emulator, as the bridge would."""
    emu = SensorEmulator(world, SimParams(seed=seed))
    out = []
    for g in truth:
        emu.set_tool_command(FLAIL)
        out += emu.add_truth(TruthPose(g.stamp, g.x, g.y, g.z, g.roll, g.pitch, g.yaw, g.v,
                                       g.omega))
    return emu, out


def of(outputs, kind):
    return [o for o in outputs if isinstance(o, kind)]


@pytest.fixture(scope='module')
def both_backends():
    world = straight_world()
    embedded = run_embedded(world, seed=5)
    emu, emulated = run_emulator(world, 5, of(embedded, GroundTruth))
    return embedded, emu, emulated


def test_emulator_publishes_only_what_gazebo_cannot(both_backends):
    _, _, emulated = both_backends
    kinds = {type(o) for o in emulated}
    assert kinds <= {GprScan, MdScan, ToolState, SimEvent, Heartbeat}
    assert {GprScan, MdScan, ToolState, Heartbeat} <= kinds


def test_emulator_scans_match_the_embedded_backend(both_backends):
    """Same world, seed and truth: the scans the stack sees are the embedded ones."""
    embedded, _, emulated = both_backends
    for kind, values in ((GprScan, 'amplitudes'), (MdScan, 'signals')):
        a, b = of(embedded, kind), of(emulated, kind)
        # the emulator starts at the first ground-truth stamp, so it may lack the t=0 batch
        stamps_b = [s.stamp for s in b]
        a = [s for s in a if s.stamp >= stamps_b[0] - 1e-9]
        assert len(a) == len(b) >= DRIVE_S / STEP_S - 2
        assert [s.stamp for s in a] == pytest.approx(stamps_b)
        for sa, sb in zip(a, b):
            np.testing.assert_array_equal(sa.channels, sb.channels)
            np.testing.assert_allclose(sa.positions, sb.positions)
            np.testing.assert_allclose(sa.time_offsets, sb.time_offsets)
        va = np.concatenate([getattr(s, values).ravel() for s in a])
        vb = np.concatenate([getattr(s, values).ravel() for s in b])
        # Poses between 10 Hz truth samples are interpolated: tiny differences only.
        scale = float(np.max(np.abs(va)))
        assert np.max(np.abs(va - vb)) < 0.05 * scale, kind.__name__


def test_emulator_sees_the_buried_items(both_backends):
    """The metal detector peaks where the boom passes the can and the PMN."""
    _, _, emulated = both_backends
    md = of(emulated, MdScan)
    peak = max(md, key=lambda s: float(np.max(s.signals)))
    # boom 4 m ahead of base_link, 0.4 m/s from x=0: over the can (x=9) at t ~ 12.5 s,
    # over the PMN (x=7) at t ~ 7.5 s (plus the 1 s acceleration); the can has more metal
    assert 11.5 < peak.stamp < 14.0
    early = [s for s in md if 6.5 < s.stamp < 9.5]
    assert max(float(np.max(s.signals)) for s in early) > 5.0 * float(
        np.median(np.concatenate([s.signals for s in md])))


def test_emulator_tool_states_and_events_match(both_backends):
    embedded, emu, emulated = both_backends
    ta, tb = of(embedded, ToolState), of(emulated, ToolState)
    tb_stamps = {round(s.stamp, 6) for s in tb}
    ta = [s for s in ta if round(s.stamp, 6) in tb_stamps]
    assert len(ta) == len(tb) > 100
    assert [s.flail_speed for s in ta] == pytest.approx([s.flail_speed for s in tb],
                                                        rel=1e-3, abs=1e-3)
    ea = [(e.kind, e.item_id) for e in of(embedded, SimEvent)]
    eb = [(e.kind, e.item_id) for e in of(emulated, SimEvent)]
    assert ea == eb
    # the flail met the PMN (2.6 m ahead of base_link) within the 14 s drive; what it did to
    # it is drawn from the tool-soil-mine model (demining_sim/ground_processing.py)
    fate = next(f for f in emu.sim.item_fates() if f.name == 'pmn')
    assert fate.contacts >= 1 and fate.in_processed_ground


def test_emulator_reports_a_collision_from_the_truth_pose():
    """A truth pose with the hull on an obstacle gives one collision event, like embedded."""
    world = straight_world()
    emu = SensorEmulator(world, SimParams(seed=1))
    events = []
    for k in range(1, 31):
        t = k * STEP_S
        x = 21.0 + min(t, 1.5)        # drives into the rock at x=25 (hull 3 m ahead of x)
        events += of(emu.add_truth(TruthPose(t, x, 0.0, v=0.4)), SimEvent)
    assert [(e.kind, e.item_id) for e in events] == [('collision', 'rock')]


def test_emulator_rejects_bad_truth_without_crashing():
    emu = SensorEmulator(straight_world(), SimParams(seed=1))
    assert emu.add_truth(TruthPose(0.5, 1.0, 0.0)) != []
    assert emu.add_truth(TruthPose(0.6, math.nan, 0.0)) == []
    assert emu.add_truth(TruthPose(0.2, 1.0, 0.0)) == []          # older than the newest
    assert emu.rejected_truth == 2
    assert emu.time == pytest.approx(0.5)
    assert emu.add_truth(TruthPose(0.7, 1.1, 0.0)) != []


def test_emulator_started_late_publishes_nothing_stale():
    """Joining a Gazebo run at t=30 s: no batch older than the first pose is published."""
    emu = SensorEmulator(straight_world(), SimParams(seed=1))
    out = emu.add_truth(TruthPose(30.0, 5.0, 0.0))
    out += emu.add_truth(TruthPose(30.1, 5.04, 0.0, v=0.4))
    scans = of(out, GprScan) + of(out, MdScan) + of(out, ToolState) + of(out, Heartbeat)
    assert scans and min(o.stamp for o in scans) >= 30.0 - 1e-9
    assert len(of(out, GprScan)) == 2                  # the batches at 30.0 and 30.1 s


def test_rpy_from_quaternion_round_trip():
    from demining_bringup.contract.codec import quaternion_from_rpy
    for r, p, y in ((0.1, -0.2, 2.5), (-0.3, 0.25, -3.0), (0.0, 0.0, 0.0)):
        q = quaternion_from_rpy(r, p, y)
        assert rpy_from_quaternion(q.x, q.y, q.z, q.w) == pytest.approx((r, p, y), abs=1e-9)


# --- the emulator node over DDS ---------------------------------------------------------------

def test_emulator_node_publishes_scans_over_dds(tmp_path, ros_domain_id):
    rclpy = pytest.importorskip('rclpy')
    from nav_msgs.msg import Odometry
    from rclpy.context import Context
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.lifecycle import TransitionCallbackReturn
    from rclpy.parameter import Parameter
    from sensor_msgs.msg import JointState, PointCloud2
    from std_msgs.msg import Header

    from demining_bringup.contract import codec, qos
    from demining_bringup.contract.datatypes import VehicleState
    from demining_bringup.contract.sdf import write_world
    from demining_bringup.hosts.ros import ComponentNode
    from demining_sim.sensor_emulator_node import SensorEmulatorComponent

    world_file = write_world(straight_world(), str(tmp_path / 'strip.sdf'))
    ctx = Context()
    rclpy.init(context=ctx, domain_id=ros_domain_id)
    try:
        node = ComponentNode(SensorEmulatorComponent, context=ctx, parameter_overrides=[
            Parameter('world', value=world_file), Parameter('seed', value=3)])
        assert node.trigger_configure() == TransitionCallbackReturn.SUCCESS
        assert node.trigger_activate() == TransitionCallbackReturn.SUCCESS
        pubs = {p.topic_name for p in node.publishers}
        subs = {s.topic_name for s in node.subscriptions}
        assert EMULATOR_TOPICS <= pubs
        assert {R(topics.GROUND_TRUTH), R(topics.TOOL_COMMAND)} <= subs
        assert topics.CLOCK not in pubs            # Gazebo owns /clock
        probe = rclpy.create_node('gz_probe', context=ctx)
        got = {}
        for msg_type, topic in ((PointCloud2, topics.GPR_TRACES),
                                (PointCloud2, topics.MD_COILS),
                                (JointState, topics.TOOL_JOINT_STATES),
                                (Header, topics.OPERATOR_HEARTBEAT)):
            probe.create_subscription(
                msg_type, topic, lambda m, t=topic: got.setdefault(t, []).append(m),
                qos.COMMAND if topic == topics.OPERATOR_HEARTBEAT else qos.SENSOR)
        truth_pub = probe.create_publisher(Odometry, topics.GROUND_TRUTH, qos.SENSOR)
        clock = {'t': 0.0}

        def publish_truth():
            # what the bridge delivers from Gazebo's OdometryPublisher, 10 Hz sim time
            clock['t'] += STEP_S
            state = VehicleState(stamp=clock['t'], x=0.4 * clock['t'], y=0.0, yaw=0.0, v=0.4)
            truth_pub.publish(codec.state_to_odometry(state))
        probe.create_timer(0.02, publish_truth)
        executor = SingleThreadedExecutor(context=ctx)
        executor.add_node(node)
        executor.add_node(probe)
        deadline = time.monotonic() + TIMEOUT_S
        want = {topics.GPR_TRACES: 3, topics.MD_COILS: 3, topics.TOOL_JOINT_STATES: 3,
                topics.OPERATOR_HEARTBEAT: 1}
        while time.monotonic() < deadline and not all(
                len(got.get(t, [])) >= n for t, n in want.items()):
            executor.spin_once(timeout_sec=0.05)
        assert all(len(got.get(t, [])) >= n for t, n in want.items()), \
            {t: len(v) for t, v in got.items()}
        scan = codec.decode_gpr_scan(got[topics.GPR_TRACES][-1])
        params = SimParams()
        assert scan.amplitudes.shape[1] == params.gpr_samples
        assert scan.amplitudes.shape[0] % params.gpr_num_channels == 0
        assert np.all(scan.time_offsets <= 0.0)
        assert scan.positions[:, 0] == pytest.approx(params.sensor_offset_x_m)
        md = codec.decode_md_scan(got[topics.MD_COILS][-1])
        assert md.signals.size % params.md_num_coils == 0
        executor.shutdown()
        node.destroy_node()
        probe.destroy_node()
    finally:
        rclpy.try_shutdown(context=ctx)


# --- Gazebo itself ----------------------------------------------------------------------------

@pytest.mark.skipif(shutil.which('gz') is None, reason=GZ_MISSING)
@pytest.mark.parametrize('path', WORLDS, ids=[p.stem for p in WORLDS])
def test_gz_sim_publishes_the_bridged_topics(path):
    """gz sim loads the world headless and advertises every Gazebo topic of the bridge."""
    proc = subprocess.Popen(['gz', 'sim', '-s', '-r', '--headless-rendering', str(path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wanted = {e['gz_topic_name'] for e in bridge_entries()
                  if e['direction'] == 'GZ_TO_ROS'}
        deadline = time.monotonic() + 60.0
        listed = set()
        while time.monotonic() < deadline and not wanted <= listed:
            out = subprocess.run(['gz', 'topic', '-l'], capture_output=True, text=True,
                                 timeout=20.0).stdout
            listed = set(out.split())
        assert wanted <= listed, f'missing: {sorted(wanted - listed)}'
    finally:
        proc.terminate()
        proc.wait(timeout=20.0)
