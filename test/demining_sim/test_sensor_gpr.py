"""GPR model against the analytic travel time, hyperbolic moveout, amplitudes and the beam."""

import math

import numpy as np
import pytest

from demining_sim.generator import make_item
from demining_sim.sensors.gpr import (C_M_PER_NS, GprModel, GprParams, apex_time_ns,
                                      attenuation_np_per_m, reflection_coefficient,
                                      travel_time_ns)
from demining_sim.spatial import ItemTable

H = 0.05


def model(items, eps=9.0, sigma=0.01, params=GprParams()):
    return GprModel(params, ItemTable(items), eps, sigma, 0.0, np.random.default_rng(0))


def target_trace(items, ax, ay, eps=9.0, sigma=0.01, params=GprParams()):
    """Traces with the targets minus traces without them (removes coupling and ground)."""
    ax = np.atleast_1d(np.asarray(ax, float))
    ay = np.atleast_1d(np.asarray(ay, float)) * np.ones_like(ax)
    h = np.full(ax.size, H)
    ch = np.zeros(ax.size, dtype=int)
    with_t = model(items, eps, sigma, params).synthesize(ax, ay, h, ch, noise=False)
    without = model([], eps, sigma, params).synthesize(ax, ay, h, ch, noise=False)
    return with_t - without


def peak_time_ns(trace, dt):
    """Time of the largest |sample|, refined with a parabola through its neighbours."""
    a = np.abs(trace)
    i = int(np.argmax(a))
    y0, y1, y2 = a[i - 1], a[i], a[i + 1]
    shift = 0.5 * (y0 - y2) / (y0 - 2 * y1 + y2)
    return (i + shift) * dt


def test_apex_time_formula():
    # 2 h / c + 2 d sqrt(eps) / c
    assert apex_time_ns(0.05, 0.1, 9.0) == pytest.approx((0.1 + 0.6) / C_M_PER_NS)


@pytest.mark.parametrize('depth,eps', [(0.05, 9.0), (0.1, 9.0), (0.2, 4.0), (0.15, 20.0)])
def test_apex_time_of_a_buried_mine_within_2_percent(depth, eps):
    trace = target_trace([make_item('PMN', 'pmn', 0.0, 0.0, depth)], 0.0, 0.0, eps)[0]
    t = peak_time_ns(trace, GprParams().gpr_sample_interval_ns)
    assert t == pytest.approx(apex_time_ns(H, depth, eps), rel=0.02)


def test_hyperbola_travel_time_versus_offset():
    item = make_item('TM-62M', 'tm', 0.0, 0.0, 0.15)
    offsets = np.linspace(0.0, 0.12, 7)
    traces = target_trace([item], offsets, 0.0)
    dt = GprParams().gpr_sample_interval_ns
    measured = np.array([peak_time_ns(tr, dt) for tr in traces])
    expected = travel_time_ns(H, 0.15, offsets, 9.0)
    np.testing.assert_allclose(measured, expected, rtol=0.02)
    assert np.all(np.diff(measured) > 0)        # moveout: later away from the apex


def test_reflection_sign_and_attenuation():
    metal = target_trace([make_item('TM-62M', 'tm', 0.0, 0.0, 0.1)], 0.0, 0.0)[0]
    plastic = target_trace([make_item('TM-62P', 'tp', 0.0, 0.0, 0.1)], 0.0, 0.0)[0]
    # Metal: coefficient -1, negative peak; TNT (eps 3) in loam (eps 9): positive.
    assert metal[np.argmax(np.abs(metal))] < 0
    assert plastic[np.argmax(np.abs(plastic))] > 0
    ratio = np.abs(plastic).max() / np.abs(metal).max()
    assert ratio == pytest.approx(float(reflection_coefficient(9.0, 3.0)), rel=0.05)
    # Conductive soil attenuates: exp(-2 alpha R) with the low-loss alpha.
    item = [make_item('TM-62M', 'tm', 0.0, 0.0, 0.2)]
    low = np.abs(target_trace(item, 0.0, 0.0, sigma=0.001)[0]).max()
    high = np.abs(target_trace(item, 0.0, 0.0, sigma=0.1)[0]).max()
    expected = math.exp(-2 * 0.2 * (attenuation_np_per_m(0.1, 9) - attenuation_np_per_m(0.001, 9)))
    assert high / low == pytest.approx(expected, rel=0.02)


def test_beam_limits_the_hyperbola():
    item = [make_item('PMN', 'pmn', 0.0, 0.0, 0.1)]
    near = np.abs(target_trace(item, 0.0, 0.0)[0]).max()
    far = np.abs(target_trace(item, 0.6, 0.0)[0]).max()
    assert near > 0.05
    assert far < 1e-3 * near


def test_ground_bounce_time_and_polarity():
    m = model([])
    tr = m.synthesize(np.zeros(1), np.zeros(1), np.array([0.3]), np.zeros(1, int),
                      noise=False)[0] - m.background[0]
    t = peak_time_ns(tr, GprParams().gpr_sample_interval_ns)
    assert t == pytest.approx(2 * 0.3 / C_M_PER_NS, rel=0.02)
    assert tr[np.argmax(np.abs(tr))] < 0       # air (1) to soil (9): coefficient -0.5


def test_noise_level_and_scan_layout():
    m = model([])
    p = GprParams()
    base = np.zeros((16, 3), dtype=np.float32)
    scan = m.scan(5.0, -np.linspace(0.1, 0.0, 16), base, np.arange(16) % 8,
                  np.zeros(16), np.zeros(16), np.full(16, H))
    assert scan.amplitudes.shape == (16, p.gpr_samples)
    assert scan.amplitudes.dtype == np.float32
    assert scan.sample_interval_ns == p.gpr_sample_interval_ns
    clean = m.synthesize(np.zeros(16), np.zeros(16), np.full(16, H), np.arange(16) % 8,
                         noise=False)
    assert np.std(scan.amplitudes - clean) == pytest.approx(p.gpr_noise, rel=0.1)
