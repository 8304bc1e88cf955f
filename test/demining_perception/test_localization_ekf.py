"""EKF localisation core against a simulated drive with known truth."""

import math

import numpy as np
import pytest

from demining_perception.localization.ekf import (B, G, LocalizationCore, LocalizationParams,
                                                  Outcome)

ORIGIN = (45.0, 16.0, 100.0)
DT = 0.05          # odometry / IMU at 20 Hz
GNSS_EVERY = 4     # GNSS at 5 Hz


def drive(core, duration, rng, *, outage=None, jump=None, gnss_sigma=0.05, start=(3.0, -2.0),
          imu_yaw_error=0.0):
    """Drive an S-curve; return the list of (truth, estimate) and the GNSS outcomes.

    ``imu_yaw_error``: a constant error of the IMU's heading, rad."""
    x, y, yaw = start[0], start[1], 0.3
    log, outcomes = [], []
    for k in range(int(duration / DT)):
        t = k * DT
        v = 0.4
        w = 0.08 * math.sin(0.05 * t)
        x += v * math.cos(yaw) * DT
        y += v * math.sin(yaw) * DT
        yaw += w * DT
        core.update_odometry(t, v * (1.02) + rng.normal(0, 0.02), w + rng.normal(0, 0.01))
        core.update_imu(t, yaw + imu_yaw_error + rng.normal(0, 0.01),
                        w + rng.normal(0, 0.005))
        if k % GNSS_EVERY == 0 and not (outage and outage[0] <= t < outage[1]):
            ex, ny = x + rng.normal(0, gnss_sigma), y + rng.normal(0, gnss_sigma)
            if jump and jump[0] <= t < jump[1]:
                ex += 10.0
            lat, lon, alt = core.geo.to_geodetic(ex, ny, 0.0)
            outcomes.append((t, core.update_gnss(t, float(lat), float(lon), float(alt))))
        st = core.state(t)
        if st is not None:
            log.append((t, x, y, yaw, st))
    return log, outcomes


def errors(log, t0=0.0, t1=math.inf):
    return np.array([math.hypot(st.x - x, st.y - y) for t, x, y, _, st in log if t0 <= t < t1])


def test_converges_with_noisy_gnss():
    rng = np.random.default_rng(3)
    core = LocalizationCore(LocalizationParams(), ORIGIN)
    log, _ = drive(core, 60.0, rng, gnss_sigma=0.05)
    err = errors(log, 10.0)
    assert err.max() < 0.12 and err.mean() < 0.05
    yaw_err = [abs(math.remainder(st.yaw - yaw, 2 * math.pi)) for t, _, _, yaw, st in log
               if t > 10.0]
    assert max(yaw_err) < 0.05
    assert log[-1][4].covariance_xy < 0.01


def yaw_errors(log, t0):
    return np.array([abs(math.remainder(st.yaw - yaw, 2 * math.pi)) for t, _, _, yaw, st in log
                     if t > t0])


@pytest.mark.parametrize('error_deg', [-3.0, 2.0])
def test_a_steady_imu_heading_error_is_learnt_from_the_gnss_track(error_deg):
    """An AHRS heading off by 2-3 degrees for minutes (a steel hull, declination) was fused as
    white noise and became the heading: 0.14 m across the track at a boom 4 m ahead. The
    GNSS track measures it once the vehicle moves."""
    rng = np.random.default_rng(5)
    core = LocalizationCore(LocalizationParams(), ORIGIN)
    log, _ = drive(core, 120.0, rng, imu_yaw_error=math.radians(error_deg))
    early = yaw_errors(log, 0.0)[:10]
    assert np.all(early > math.radians(0.6 * abs(error_deg)))   # it starts on the IMU's word
    # Without the error in the state the heading stays off by all of it.
    assert np.percentile(yaw_errors(log, 60.0), 95) < math.radians(1.0)
    assert abs(math.degrees(core.x[B]) - error_deg) < 0.75          # the error is estimated


def test_survives_30s_gnss_outage_with_bounded_error():
    rng = np.random.default_rng(4)
    core = LocalizationCore(LocalizationParams(), ORIGIN)
    log, _ = drive(core, 80.0, rng, outage=(30.0, 60.0))
    during = errors(log, 30.0, 60.0)
    # 12 m driven on odometry with a 2 % scale error (mostly corrected by then) + IMU yaw.
    assert during.max() < 0.5
    cov = [st.covariance_xy for t, _, _, _, st in log]
    times = [t for t, *_ in log]
    c_start = cov[times.index(30.0)] if 30.0 in times else cov[600]
    c_end = cov[int(59.9 / DT)]
    assert c_end > 5 * c_start          # covariance grows while GNSS is out
    after = errors(log, 65.0)
    assert after.max() < 0.12           # and GNSS is accepted again afterwards


def test_rejects_10m_gnss_jump():
    rng = np.random.default_rng(5)
    core = LocalizationCore(LocalizationParams(), ORIGIN)
    log, outcomes = drive(core, 50.0, rng, jump=(30.0, 33.0))
    during = [o for t, o in outcomes if 30.0 <= t < 33.0]
    assert during and all(o == Outcome.GATED for o in during)
    assert errors(log, 30.0, 40.0).max() < 0.15


def test_does_not_follow_a_persistent_wrong_fix():
    """A fix 10 m off for 30 s (multipath, a receiver without its corrections still saying
    fixed) is rejected all along and flagged; the filter does not jump onto it (it used to
    re-anchor after 10 s of rejected fixes)."""
    rng = np.random.default_rng(6)
    core = LocalizationCore(LocalizationParams(), ORIGIN)
    log, outcomes = drive(core, 50.0, rng, jump=(20.0, 50.0))
    during = [o for t, o in outcomes if t >= 20.0]
    assert during and all(o == Outcome.GATED for o in during)
    assert core.gnss_rejected_s >= 29.0
    assert core.gnss_rejected_s >= core.params.gnss_reject_warn_s
    assert errors(log, 20.0, 50.0).max() < 0.5
    assert core.counts[Outcome.REANCHORED] == 0


def slipping(core, rng, ground_speed, duration=60.0):
    """Tracks running at 0.4 m/s while the ground moves the vehicle ``ground_speed(t)``;
    return the along-track errors."""
    x = 0.0
    errs = []
    for k in range(int(duration / DT)):
        t = k * DT
        x += ground_speed(t) * DT
        core.update_odometry(t, 0.4 + rng.normal(0, 0.02), rng.normal(0, 0.01))
        core.update_imu(t, rng.normal(0, 0.01), rng.normal(0, 0.005))
        if k % GNSS_EVERY == 0:
            lat, lon, alt = core.geo.to_geodetic(x + rng.normal(0, 0.03), rng.normal(0, 0.03),
                                                 0.0)
            core.update_gnss(t, float(lat), float(lon), float(alt))
        st = core.state(t)
        if st is not None:
            errs.append(abs(st.x - x))
    return np.array(errs)


def test_follows_gnss_when_the_tracks_slip():
    """The tracks slip in wet clay: the odometry reads 0.4 m/s while the vehicle makes 0.1
    from 20 s on. The ratio of ground to track speed is learnt from the GNSS track (it was
    fused as the speed: a pose pulled ahead between fixes and back at each, 0.3 m off)."""
    core = LocalizationCore(LocalizationParams(), ORIGIN)
    errs = slipping(core, np.random.default_rng(9), lambda t: 0.4 if t < 20.0 else 0.1)
    assert errs[int(45.0 / DT):].max() < 0.06
    assert core.x[G] == pytest.approx(0.25, abs=0.05)
    assert errs[int(20.0 / DT):].max() < 0.2


def test_re_anchors_when_the_vehicle_slides_back():
    """A vehicle sliding back down a muddy slope while its tracks run forward: no slip ratio
    explains it, the fixes' innovations drift (the GNSS moves consistently, the dead reckoning
    runs away), so the filter is wrong, not the GNSS, and is re-anchored on it."""
    core = LocalizationCore(LocalizationParams(), ORIGIN)
    errs = slipping(core, np.random.default_rng(9), lambda t: 0.3 if t < 20.0 else -0.2)
    assert core.counts[Outcome.REANCHORED] >= 1
    assert float(np.median(errs)) < 0.5


def test_covariance_grows_while_gnss_is_rejected():
    """The published covariance says the position is dead-reckoned while fixes are gated."""
    rng = np.random.default_rng(7)
    core = LocalizationCore(LocalizationParams(), ORIGIN)
    log, _ = drive(core, 50.0, rng, jump=(20.0, 50.0))
    var = {round(t, 2): st.covariance_xy for t, _, _, _, st in log}
    assert var[49.95] > 5.0 * var[19.95]


def drive_lagged(core, duration, rng, lag_s):
    """Straight at 0.4 m/s along x; GNSS at 5 Hz delivered ``lag_s`` after its stamp."""
    pending, log = [], []
    for k in range(int(duration / DT)):
        t = k * DT
        x = 0.4 * t
        core.update_odometry(t, 0.4 + rng.normal(0, 0.02), rng.normal(0, 0.01))
        core.update_imu(t, rng.normal(0, 0.01), rng.normal(0, 0.005))
        if k % GNSS_EVERY == 0:
            pending.append((t + lag_s, t, x + rng.normal(0, 0.03), rng.normal(0, 0.03)))
        while pending and pending[0][0] <= t + 1e-9:
            _, stamp, ex, ny = pending.pop(0)
            lat, lon, alt = core.geo.to_geodetic(ex, ny, 0.0)
            core.update_gnss(stamp, float(lat), float(lon), float(alt))
        st = core.state(t)
        if st is not None:
            log.append((t, x, st))
    return log


def test_lagged_gnss_is_fused_at_its_stamp():
    """A 0.4 s RTK latency fused as current put the vehicle 16 cm back along track; fused at
    its stamp (buffer and re-propagation) the along-track error stays at the noise."""
    core = LocalizationCore(LocalizationParams(), ORIGIN)
    log = drive_lagged(core, 40.0, np.random.default_rng(8), 0.4)
    along = np.array([st.x - x for t, x, st in log if t >= 10.0])
    assert abs(float(np.mean(along))) < 0.03, float(np.mean(along))
    assert core.counts[Outcome.LAGGED] > 100
    assert core.counts[Outcome.STALE] == 0


@pytest.mark.parametrize('bad', [math.nan, math.inf])
def test_invalid_inputs_are_dropped(bad):
    core = LocalizationCore(LocalizationParams(), ORIGIN)
    assert core.update_gnss(0.0, 45.0, 16.0) == Outcome.INITIALISED
    before = core.x.copy()
    assert core.update_odometry(0.1, bad, 0.0) == Outcome.INVALID
    assert core.update_odometry(0.1, 50.0, 0.0) == Outcome.INVALID     # out of range
    assert core.update_imu(0.1, bad, 0.0) == Outcome.INVALID
    assert core.update_gnss(0.1, bad, 16.0) == Outcome.INVALID
    assert core.update_gnss(0.1, 45.0, 16.0, fix=False) == Outcome.INVALID
    assert np.array_equal(core.x, before)


def test_not_initialised_until_gnss_and_stale_dropped():
    core = LocalizationCore(LocalizationParams(), ORIGIN)
    assert core.update_odometry(0.0, 0.4, 0.0) == Outcome.NOT_INITIALISED
    assert core.update_imu(0.0, 1.0, 0.0) == Outcome.NOT_INITIALISED
    assert core.state(0.0) is None
    lat, lon, alt = core.geo.to_geodetic(5.0, 7.0, 0.0)
    assert core.update_gnss(1.0, float(lat), float(lon), float(alt)) == Outcome.INITIALISED
    st = core.state(1.0)
    assert abs(st.x - 5.0) < 1e-6 and abs(st.y - 7.0) < 1e-6
    assert abs(st.yaw - 1.0) < 1e-9          # yaw taken from the IMU seen before
    assert core.update_odometry(0.2, 0.4, 0.0) == Outcome.STALE


def test_the_filters_inverse_is_numpys_bit_for_bit_and_falls_back(monkeypatch):
    """``ekf._inv`` skips np.linalg.inv's set-up, not its arithmetic: the same bits; a
    singular matrix still raises, and a numpy without the private gufunc module is served by
    np.linalg.inv."""
    from demining_perception.localization import ekf
    rng = np.random.default_rng(3)
    for n in (1, 2, 3):
        a = rng.normal(size=(n, n)) + n * np.eye(n)
        assert np.array_equal(ekf._inv(a), np.linalg.inv(a))
    with pytest.raises(np.linalg.LinAlgError), np.errstate(invalid='ignore'):
        ekf._inv(np.zeros((2, 2)))
    monkeypatch.setattr(ekf, '_umath_linalg', None)
    a = np.array([[2.0, 1.0], [1.0, 3.0]])
    assert np.array_equal(ekf._inv(a), np.linalg.inv(a))
