"""GNSS noise statistics and dropouts, IMU gravity and attitude, odometry drift with slip."""

import math

import numpy as np
import pytest

from demining_bringup.contract.datatypes import Twist2D
from demining_bringup.contract.geo import LocalCartesian
from demining_sim.sensors.gnss import GnssModel, GnssParams
from demining_sim.sensors.imu import GRAVITY_MPS2, ImuModel, ImuParams, ImuSample
from demining_sim.sensors.odometry import OdomSample
from demining_sim.simulator import SimParams, Simulator
from demining_bringup.contract.world import GeoOrigin, Obstacle, Terrain, World

ORIGIN = LocalCartesian(44.87, 18.81, 95.0)


def fixes(params, n=3000, rate=5.0, **pose):
    g = GnssModel(params, ORIGIN, np.random.default_rng(4))
    out = [g.sample(i / rate, 10.0, -20.0, 0.0, **pose) for i in range(n)]
    return out


def to_enu(fs):
    lat = np.array([f.latitude for f in fs])
    lon = np.array([f.longitude for f in fs])
    alt = np.array([f.altitude for f in fs])
    return np.column_stack(ORIGIN.to_enu(lat, lon, alt))


def test_gnss_white_noise_statistics():
    p = GnssParams(gnss_bias_sigma_m=0.0, gnss_dropouts_per_hour=0.0)
    enu = to_enu(fixes(p))
    assert enu[:, 0].mean() == pytest.approx(10.0, abs=0.003)
    assert enu[:, 1].mean() == pytest.approx(-20.0, abs=0.003)
    assert enu[:, 0].std() == pytest.approx(0.02, rel=0.08)
    assert enu[:, 1].std() == pytest.approx(0.02, rel=0.08)
    assert enu[:, 2].std() == pytest.approx(0.04, rel=0.08)


def test_gnss_bias_is_slow_and_bounded():
    p = GnssParams(gnss_sigma_h_m=0.0, gnss_sigma_v_m=0.0, gnss_bias_sigma_m=0.05,
                   gnss_bias_tau_s=100.0, gnss_dropouts_per_hour=0.0)
    enu = to_enu(fixes(p, n=20000))
    err = enu[:, 0] - 10.0
    # Consecutive fixes (0.2 s apart) barely differ; over the run the bias wanders ~0.05 m.
    assert np.diff(err).std() < 0.1 * err.std()
    assert err.std() == pytest.approx(0.05, rel=0.35)


def test_gnss_dropouts_and_covariance():
    p = GnssParams(gnss_dropouts_per_hour=360.0, gnss_dropout_mean_s=2.0)
    out = fixes(p, n=5000)
    missing = sum(f is None for f in out) / len(out)
    # 0.1 dropouts/s of 2 s: the receiver is out about 1/6 of the time.
    assert 0.08 < missing < 0.3
    good = next(f for f in out if f is not None)
    assert good.covariance[0] == pytest.approx(0.02 ** 2 + 0.01 ** 2)


def test_gnss_jump_offset():
    p = GnssParams(gnss_sigma_h_m=0.0, gnss_sigma_v_m=0.0, gnss_bias_sigma_m=0.0,
                   gnss_dropouts_per_hour=0.0)
    g = GnssModel(p, ORIGIN, np.random.default_rng(0))
    enu = to_enu([g.sample(0.0, 1.0, 2.0, 0.0, offset=(5.0, 0.0, 0.0))])
    np.testing.assert_allclose(enu[0], [6.0, 2.0, 0.0], atol=1e-6)


def test_imu_gravity_and_attitude():
    p = ImuParams(imu_attitude_noise_rad=0.0, imu_heading_noise_rad=0.0,
                  imu_heading_drift_sigma_rad=0.0, imu_gyro_noise_rps=0.0,
                  imu_gyro_bias_walk=0.0, imu_accel_noise_mps2=0.0)
    imu = ImuModel(p, np.random.default_rng(0))
    s = imu.sample(0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0)
    assert s.linear_acceleration == pytest.approx((0.0, 0.0, GRAVITY_MPS2))
    qx, qy, qz, qw = s.orientation
    assert math.atan2(2 * (qw * qz + qx * qy), 1 - 2 * (qy * qy + qz * qz)) == pytest.approx(1.0)
    pitch = -0.2                                   # nose up
    s = imu.sample(0.1, 0.0, pitch, 0.0, 0.3, 0.5, 1.0)
    assert s.linear_acceleration[0] == pytest.approx(0.5 + GRAVITY_MPS2 * math.sin(0.2))
    assert s.linear_acceleration[1] == pytest.approx(0.3)      # v * omega, centripetal
    assert s.angular_velocity[2] == pytest.approx(0.3)


def imu_forward(sim, seconds, v_cmd=1.0):
    """(stamp, forward specific force, true speed) of the IMU samples over ``seconds``."""
    out = []
    end = sim.t + seconds
    while sim.t < end - 1e-9:
        sim.set_command(Twist2D(v_cmd, 0.0))
        sim.advance_to(sim.t + 0.1)
        out += [(o.stamp, o.linear_acceleration[0], sim.truth.v) for o in sim.drain()
                if isinstance(o, ImuSample)]
    return out


def quiet_sim(terrain=None, obstacles=(), **params):
    """A simulator with a noiseless IMU and no slip noise on an open field.

    No force-dependent track slip either (``shear_deformation_modulus_m`` 0): the derivations
    below use the fixed ``slip_base`` only.
    """
    world = World('i', GeoOrigin(45.0, 16.0), [(-50, -50), (50, -50), (50, 50), (-50, 50)],
                  terrain=terrain or Terrain(), obstacles=list(obstacles))
    params.setdefault('shear_deformation_modulus_m', 0.0)
    return Simulator(world, SimParams(seed=3, slip_noise=0.0, imu_accel_noise_mps2=0.0,
                                      imu_attitude_noise_rad=0.0, **params))


def test_imu_forward_acceleration_of_a_free_start():
    # From rest to 0.5 m/s the sprockets speed up at 0.5 m/s^2 for 1 s; the ground moves
    # (1 - 0.01) of that (slip_base): the IMU feels 0.495 m/s^2 until 1 s, then nothing.
    samples = imu_forward(quiet_sim(), 2.0, v_cmd=0.5)
    ramp = [a for t, a, _ in samples if t <= 1.0 + 1e-9]
    cruise = [a for t, a, _ in samples if t > 1.0 + 1e-9]
    assert len(ramp) == 20
    assert ramp == pytest.approx([0.5 * 0.99] * 20, abs=1e-9)
    assert cruise == pytest.approx([0.0] * len(cruise), abs=1e-9)


def test_imu_feels_no_acceleration_when_the_vehicle_cannot_accelerate():
    # A 35 deg climb is beyond the 30 deg the tracks can climb: commanded to 1 m/s, the
    # sprockets spin up but the vehicle stays put (on a soil that grips at 35 deg: traction
    # 0.9; in loam it would slide back). The accelerometer reads gravity only (nose up,
    # REP-103 pitch -35 deg: +g sin 35 deg forward), not the commanded 0.5 m/s^2.
    xs = np.arange(-50.0, 51.0)
    ramp = Terrain(heights=np.tile(math.tan(math.radians(35.0)) * xs, (101, 1)),
                   origin_x=-50.0, origin_y=-50.0, resolution=1.0)
    sim = quiet_sim(terrain=ramp, traction_coefficient=0.9)
    samples = imu_forward(sim, 2.0)
    assert sim.truth.track_left > 0.9 and sim.truth.v == 0.0
    gravity = GRAVITY_MPS2 * math.sin(math.radians(35.0))
    assert [a for _, a, _ in samples] == pytest.approx([gravity] * 40, abs=1e-6)

    # Blocked by an obstacle: after the impact (a deceleration), pushing on feels nothing.
    sim = quiet_sim(obstacles=[Obstacle('tree_1', 5.0, 0.0, 0.4)])
    samples = imu_forward(sim, 6.0)
    assert sim.truth.blocked
    stopped = next(i for i, (_, _, v) in enumerate(samples) if v == 0.0 and i > 0)
    assert min(a for _, a, _ in samples) < -2.0            # the impact
    assert [a for _, a, _ in samples[stopped + 1:]] == pytest.approx(
        [0.0] * (len(samples) - stopped - 1), abs=1e-9)
    assert len(samples) - stopped > 40


def test_imu_noise_statistics():
    imu = ImuModel(ImuParams(imu_gyro_bias_walk=0.0), np.random.default_rng(1))
    gz = np.array([imu.sample(i * 0.05, 0, 0, 0, 0, 0, 0).angular_velocity[2]
                   for i in range(4000)])
    assert (gz - gz.mean()).std() == pytest.approx(0.002, rel=0.1)


def odom_error(v, w, seconds=60.0, **params):
    """Final odometry (position, heading) error against the truth."""
    world = World('o', GeoOrigin(45.0, 16.0), [(-50, -50), (50, -50), (50, 50), (-50, 50)])
    params.setdefault('shear_deformation_modulus_m', 0.0)     # slip_base only (derivations)
    sim = Simulator(world, SimParams(seed=2, slip_noise=0.0, odom_encoder_noise=0.0, **params))
    last = None
    while sim.t < seconds:
        sim.set_command(Twist2D(v, w))
        sim.advance_to(sim.t + 0.1)
        odo = [o for o in sim.drain() if isinstance(o, OdomSample)]
        last = odo[-1] if odo else last
    dyaw = (last.yaw - sim.truth.yaw + math.pi) % (2 * math.pi) - math.pi
    return math.hypot(last.x - sim.truth.x, last.y - sim.truth.y), abs(dyaw)


def test_odometry_is_exact_without_slip():
    pos, yaw = odom_error(0.5, 0.1, slip_base=0.0, slip_turn_coeff=0.0, skid_yaw_loss=0.0)
    assert pos < 1e-6 and yaw < 1e-6


def test_odometry_drift_grows_with_slip():
    # Straight: the sprockets overstate the distance by the slip fraction. Derivation (no
    # noise, flat ground, dt = 0.01 s, 6000 steps to t = 60 s): the sprocket speed v_ref rises
    # by max_accel_mps2 * dt = 0.005 m/s per step, so in step k = 1..100 it is 0.005 k m/s
    # (sum 0.005 * 0.01 * 5050 = 0.2525 m over the 1 s ramp), then 0.5 m/s for the other
    # 5900 steps (29.5 m): the odometry integrates D = 29.7525 m. The ground moves
    # v = v_ref (1 - slip) with slip = slip_base = 0.05 (no turn, no slope, no noise), along
    # the same line, so the odometry leads the truth by slip * D = 0.05 * 29.7525 = 1.487625 m.
    # (Not 0.05 * 0.5 * 59.5 / 0.95 = 1.566: slip is a fraction of the sprocket speed, not
    # of the true speed, and the discrete ramp covers 0.2525 m, not 0.25 m.)
    pos, _ = odom_error(0.5, 0.0, slip_base=0.05, slip_turn_coeff=0.0, skid_yaw_loss=0.0)
    assert pos == pytest.approx(0.05 * (0.005 * 0.01 * 5050 + 0.5 * 5900 * 0.01), abs=1e-6)
    # Turning: skid steering turns less than the track speeds say; more slip, more drift.
    _, yaw_low = odom_error(0.3, 0.05, seconds=30.0, slip_turn_coeff=0.0, skid_yaw_loss=0.05)
    _, yaw_high = odom_error(0.3, 0.05, seconds=30.0, slip_turn_coeff=0.5, skid_yaw_loss=0.2)
    assert yaw_high > 2.5 * yaw_low > 0.0
