"""GPR model against the analytic travel time, refracted hyperbolic moveout, amplitudes, beam."""

import math

import numpy as np
import pytest

from demining_sim.generator import make_item
from demining_sim.sensors.gpr import (C_M_PER_NS, GprModel, GprParams, apex_time_ns,
                                      attenuation_np_per_m, flat_top_half_width_m,
                                      reflection_coefficient, travel_time_ns)
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


def fermat_time_ns(h, d, x, eps):
    """Exact two-way time of a point at depth d, offset x: Snell refraction (Fermat, brute)."""
    s = np.linspace(0.0, x, 20001)                 # where the ray crosses the surface
    one_way = np.sqrt(h * h + s * s) / C_M_PER_NS + np.sqrt(d * d + (x - s) ** 2) * \
        math.sqrt(eps) / C_M_PER_NS
    return 2.0 * float(one_way.min())


@pytest.mark.parametrize('h,d,eps', [(0.05, 0.1, 9.0), (0.05, 0.15, 4.0), (0.05, 0.05, 9.0),
                                     (0.1, 0.2, 20.0), (0.05, 0.3, 9.0)])
def test_travel_time_is_refracted_at_the_surface(h, d, eps):
    # The paraxial "equivalent air depth" formula against exact refraction: within 2 %
    # (0.07 ns) out to 0.2 m; straight rays through the soil were 2-5x too steep.
    for x in (0.0, 0.05, 0.1, 0.15, 0.2):
        exact = fermat_time_ns(h, d, x, eps)
        t = float(travel_time_ns(h, d, x, eps))
        assert t == pytest.approx(exact, rel=0.02, abs=1e-9)
        assert abs(t - exact) < 0.07
    straight = 2 * h / C_M_PER_NS + 2 * math.hypot(d, 0.1) * math.sqrt(eps) / C_M_PER_NS
    moveout = float(travel_time_ns(h, d, 0.1, eps)) - apex_time_ns(h, d, eps)
    assert moveout < 0.7 * (straight - apex_time_ns(h, d, eps))   # flatter


def test_travel_time_formula_and_flat_top():
    # t = 2h/c + 2dn/c + (2/c)(sqrt(D^2 + x_e^2) - D), D = h + d/n, x_e = max(|x| - a, 0)
    h, d, eps, a = 0.05, 0.1, 9.0, 0.056
    big_d = h + d / 3.0
    for x in (-0.2, -0.05, 0.0, 0.03, 0.1):
        xe = max(abs(x) - a, 0.0)
        expected = (2 * h + 2 * 3.0 * d + 2 * (math.hypot(big_d, xe) - big_d)) / C_M_PER_NS
        assert float(travel_time_ns(h, d, x, eps, a)) == pytest.approx(expected, rel=1e-12)
    # Flat over the flat top, the apex time there.
    assert float(travel_time_ns(h, d, 0.05, eps, a)) == pytest.approx(apex_time_ns(h, d, eps))
    np.testing.assert_allclose(
        flat_top_half_width_m(['AP', 'AT', 'UXO', 'clutter', 'rock'], [0.112, 0.32, 0.33,
                                                                       0.04, 0.1]),
        [0.056, 0.16, 0.0, 0.0, 0.0])


@pytest.mark.parametrize('model_name,depth,eps,offsets', [
    ('mortar-82mm', 0.15, 9.0, np.linspace(0.0, 0.12, 7)),      # point-like: a = 0
    ('mortar-82mm', 0.2, 4.0, np.linspace(0.0, 0.16, 9)),
    ('TM-62M', 0.15, 9.0, np.linspace(0.0, 0.26, 14)),          # flat top, a = 0.16 m
    ('PMN', 0.08, 9.0, np.linspace(0.0, 0.14, 8)),              # flat top, a = 0.056 m
])
def test_hyperbola_travel_time_versus_offset(model_name, depth, eps, offsets):
    item = make_item(model_name, 'it', 0.0, 0.0, depth)
    a = float(flat_top_half_width_m([item.kind], [item.diameter])[0])
    traces = target_trace([item], offsets, 0.0, eps)
    dt = GprParams().gpr_sample_interval_ns
    measured = np.array([peak_time_ns(tr, dt) for tr in traces])
    expected = travel_time_ns(H, depth, offsets, eps, a)
    np.testing.assert_allclose(measured, expected, rtol=0.02)
    # The moveout itself (apex removed) to a quarter of a sample.
    np.testing.assert_allclose(measured - measured[0], expected - expected[0], atol=dt / 4)
    outside = offsets > a
    assert np.all(np.diff(measured[outside]) > 0)   # moveout: later away from the apex
    assert np.ptp(measured[~outside]) < dt / 4      # flat over a flat top


def test_flat_top_keeps_the_apex_amplitude():
    # Above a mine's flat top the reflection is specular (straight down): same amplitude.
    item = [make_item('TM-62M', 'tm', 0.0, 0.0, 0.15)]
    tr = target_trace(item, [0.0, 0.1, 0.26], 0.0)
    peaks = np.abs(tr).max(axis=1)
    assert peaks[1] == pytest.approx(peaks[0], rel=1e-6)
    assert peaks[2] < 0.5 * peaks[0]


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


def test_beam_follows_the_refracted_ray():
    # The beam acts on the angle at which the ray leaves the antenna, atan(x / D) with the
    # equivalent air depth D = h + d / n: a point at the same D is seen alike in any soil.
    p = GprParams(gpr_beam_halfwidth_deg=20.0)
    shrapnel = dict(model='shrapnel', name='s', x=0.0, y=0.0)
    big_d = 0.1
    for eps in (4.0, 9.0):
        depth = (big_d - H) * math.sqrt(eps)
        it = [make_item(depth=depth, **shrapnel)]
        apex, off = np.abs(target_trace(it, [0.0, big_d * math.tan(math.radians(20.0))], 0.0,
                                        eps, sigma=0.0, params=p)).max(axis=1)
        # Half the two-way power at 20 degrees, times the longer path's spreading.
        x = big_d * math.tan(math.radians(20.0))
        r_eq = math.hypot(big_d, x)
        sin_s = x / r_eq / math.sqrt(eps)
        path = H * r_eq / big_d + depth / math.sqrt(1.0 - sin_s ** 2)
        assert off / apex == pytest.approx(0.5 * (H + depth) / path, rel=0.02)


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
