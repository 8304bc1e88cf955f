"""Metal-detector model: r^-6 falloff, mass scaling, calibration (mines: docs/sources.md)."""

import numpy as np
import pytest

from demining_sim.generator import make_item
from demining_sim.sensors.metal_detector import (MdParams, MetalDetectorModel, coil_offsets,
                                                 md_response, shape_factor, soil_background)
from demining_sim.spatial import ItemTable

P = MdParams()


def peak_signal(item):
    """Noise-free response of a coil straight above the item (no background)."""
    zc = item.depth + item.height / 2.0
    strength = item.metal_mass * shape_factor(item.diameter, item.height)
    return float(md_response(np.array([item.x]), np.array([item.y]),
                             np.array([P.md_coil_height_m]), [item.x], [item.y], [zc],
                             [strength], P.md_gain, P.md_r_min_m)[0])


def test_falloff_is_sixth_power_of_distance():
    h = np.array([0.1, 0.2, 0.4])
    s = md_response(np.zeros(3), np.zeros(3), h, [0.0], [0.0], [0.0], [0.01], 1.0, 0.01)
    np.testing.assert_allclose(s[:-1] / s[1:], 64.0, rtol=1e-9)
    # Horizontal offsets count the same as vertical distance.
    lateral = md_response(np.array([0.3]), np.zeros(1), np.array([0.4]), [0.0], [0.0], [0.0],
                          [0.01], 1.0, 0.01)
    assert lateral[0] == pytest.approx(1.0 * 0.01 / 0.5 ** 6)


def test_mass_scaling_and_distance_floor():
    s1 = md_response(np.zeros(1), np.zeros(1), np.array([0.1]), [0], [0], [0.05], [0.002],
                     1.0, 0.01)
    s2 = md_response(np.zeros(1), np.zeros(1), np.array([0.1]), [0], [0], [0.05], [0.004],
                     1.0, 0.01)
    assert s2[0] == pytest.approx(2 * s1[0])
    floor = md_response(np.zeros(1), np.zeros(1), np.array([0.0]), [0], [0], [0.0], [0.001],
                        1.0, 0.03)
    assert np.isfinite(floor[0]) and floor[0] == pytest.approx(0.001 / 0.03 ** 6)


def test_calibration_against_catalogue_mines():
    noise = P.md_noise_mv
    assert peak_signal(make_item('PMN', 'a', 0, 0, 0.10)) / noise >= 10.0
    # Minimum-metal mine: clear at 3 cm, marginal at 10 cm.
    assert peak_signal(make_item('PMA-1', 'b', 0, 0, 0.03)) / noise >= 10.0
    assert peak_signal(make_item('PMA-1', 'b', 0, 0, 0.10)) / noise < 6.0
    tm = peak_signal(make_item('TM-62M', 'c', 0, 0, 0.20))
    assert tm > 100.0 * noise
    assert tm > 10 * peak_signal(make_item('PMN', 'a', 0, 0, 0.10))


def test_scan_statistics_background_and_saturation():
    items = [make_item('TM-62M', 'tm', 0.0, 0.0, 0.0)]
    model = MetalDetectorModel(P, ItemTable(items), 1e-3, np.random.default_rng(0))
    n = 4000
    far_x = np.full(n, 5.0)
    sig = model.signals(far_x, np.zeros(n), np.full(n, 0.05), np.zeros(n, int), 1.0)
    bg = soil_background(0.05, 1e-3, P.md_soil_gain, P.md_coil_radius_m)
    assert np.mean(sig) == pytest.approx(bg + model.drift[0], abs=0.1)
    assert np.std(sig) == pytest.approx(P.md_noise_mv, rel=0.1)
    # Magnetic soil raises the background in proportion to the susceptibility.
    assert soil_background(0.05, 1e-3, 2.5) == pytest.approx(10 * soil_background(0.05, 1e-4, 2.5))
    # A coil high above the soil sees the h^-3 law, one on the ground a finite background
    # (the half-space's image: 2.8 times the nominal 5 cm reading, Das 2006), not 1,000 times.
    assert soil_background(1.0, 1e-3, 2.5) == pytest.approx(2.5e-3, rel=0.01)
    assert soil_background(0.005, 1e-4, P.md_soil_gain, 0.1) == pytest.approx(
        2.79 * soil_background(0.05, 1e-4, P.md_soil_gain, 0.1), rel=0.01)
    assert soil_background(0.05, 1e-4, P.md_soil_gain, 0.1) == pytest.approx(2.0, rel=0.01)
    # Coil straight over a TM-62M at the surface saturates.
    top = model.signals(np.zeros(1), np.zeros(1), np.full(1, 0.05), np.zeros(1, int), 2.0)
    assert top[0] == P.md_saturation_mv


def test_coil_layout():
    y = coil_offsets(8, 2.0)
    assert y[0] == pytest.approx(0.875) and y[-1] == pytest.approx(-0.875)
    np.testing.assert_allclose(np.diff(y), -0.25)


def test_an_item_refreshed_without_metal_is_no_longer_sensed():
    pmn = make_item('PMN', 'pmn', 0.0, 0.0, 0.05)
    table = ItemTable([pmn])
    p = MdParams(md_noise_mv=0.0, md_drift_sigma_mv=0.0)
    md = MetalDetectorModel(p, table, 0.0, np.random.default_rng(0))
    coil = (np.zeros(1), np.zeros(1), np.array([0.05]), np.zeros(1, dtype=int))
    assert md.signals(*coil, t=0.0)[0] > 1.0
    table.metal_mass[0] = 0.0
    md.refresh([0])
    assert md.signals(*coil, t=0.1)[0] == 0.0
    table.metal_mass[0] = pmn.metal_mass
    md.refresh([0])
    assert md.signals(*coil, t=0.2)[0] > 1.0
