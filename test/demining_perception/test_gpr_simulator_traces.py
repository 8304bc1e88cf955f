"""GPR processor on traces from the simulator's own GPR model (demining_sim.sensors.gpr).

The simulator puts the direct coupling at t = 0 and the ground bounce at 2h/c inside its
tail; the processor must take the surface time from the antenna height there, not from the
coupling (which made every depth ~1.1 cm too deep), and must not see the surface-roughness
residual as shallow objects. Its hyperbolas are refracted at the surface (validated against
gprMax), and the processor's diffraction stack must follow the same moveout.
"""

import numpy as np
import pytest

from demining_bringup.contract.datatypes import VehicleState
from perception_synth import sim_gpr_batch
from demining_perception.gpr import processing as gp
from demining_perception.gpr.processing import (
    C_M_PER_NS, GprParams, GprProcessor, envelope, moveout_ns, pick_surface)
from demining_perception.pose_buffer import PoseBuffer
from demining_sim.generator import soil_preset
from demining_sim.sensors.gpr import (GprModel, GprParams as SimGprParams, apex_time_ns,
                                      travel_time_ns)
from demining_sim.spatial import ItemTable
from demining_bringup.contract.world import BuriedItem, ItemKind

SPEED = 0.4
SENSOR_X = 4.0
BATCH_HZ = 10.0


def _soil(name, **overrides):
    """The GPR model's soil arguments of a generator preset (one source for the soils)."""
    s = soil_preset(name)
    return dict(permittivity=s.permittivity, conductivity=s.conductivity,
                roughness_m=s.roughness_m) | overrides


LOAM, WET_CLAY = _soil('loam'), _soil('wet_clay')
#: dry sand as rough as the other soils (the preset's surface is 1 cm rough)
DRY_SAND = _soil('dry_sand', roughness_m=0.02)
CH_Y = 1.0 - (np.arange(8) + 0.5) * 0.25          # the simulator's channel layout


def pmn(x, y, depth):
    return BuriedItem(name='pmn', kind=ItemKind.AP, x=x, y=y, depth=depth, diameter=0.112,
                      height=0.056, metal_mass=0.004, permittivity=3.0, model='PMN')


def straight(t):
    """base_link x at time t: straight ahead at SPEED."""
    return SPEED * t


def drive(items, duration, seed=4, params=None, path=straight, soil=None, processors=None,
          height=None):
    """Drive along the x axis over ``items`` (base_link x = ``path(t)``, facing +x) with the
    simulator's GPR model in ``soil`` (default loam); return detections (and append the
    processor to ``processors`` when given). ``height(x)``: the antenna's height over the
    ground at antenna position x (default: the nominal height)."""
    sp = SimGprParams()
    model = GprModel(sp, ItemTable(items), rng=np.random.default_rng(seed), **(soil or LOAM))
    proc = GprProcessor(params)
    if processors is not None:
        processors.append(proc)
    poses = PoseBuffer()
    dets = []
    k = 0
    for b in range(1, int(duration * BATCH_HZ) + 1):
        stamp = b / BATCH_HZ
        for t in np.arange(stamp - 0.1, stamp + 1e-9, 0.05):
            poses.add(VehicleState(stamp=float(t), x=path(float(t)), y=0.0, yaw=0.0))
        scan, k = sim_gpr_batch(model, stamp, k, CH_Y, SENSOR_X,
                                lambda t: (path(t), 0.0, 0.0), height)
        dets += proc.process(scan, poses)
    return dets


def test_surface_pick_is_the_ground_bounce_not_the_coupling():
    sp = SimGprParams()
    model = GprModel(sp, ItemTable([]), rng=np.random.default_rng(1), **LOAM)
    traces = model.synthesize(np.zeros(64), np.zeros(64), np.full(64, 0.05),
                              np.arange(64) % 8)
    dt = sp.gpr_sample_interval_ns
    air = 2.0 * 0.05 / C_M_PER_NS / dt
    picks = pick_surface(envelope(traces), int(round(2.0 / dt)), air)
    # The bounce is at 2h/c = 8.34 samples; the old pick (coupling) was at ~2.7.
    assert abs(float(np.median(picks)) - air) < 0.5


def _dip(rise_m):
    """Antenna height over a 2 m dip from x = 8 m, up to ``rise_m`` above nominal."""
    h0 = SimGprParams().gpr_antenna_height_m
    return lambda x: h0 + rise_m * 0.5 * (
        1.0 - np.cos(2.0 * np.pi * np.clip((x - 8.0) / 2.0, 0, 1)))


@pytest.mark.parametrize('rise_m', [0.04, 0.08, 0.12])
def test_a_boom_rising_over_a_dip_is_no_row_of_shallow_objects(rise_m):
    # The boom over a 2 m dip (or past a crest, or pitching): the antenna is up to rise_m
    # higher and the ground bounce comes later. Left at the nominal height's time, it walked
    # into the window below the surface and stacked as an object on every channel
    # (rugged_terrain: dozens of AT-sized "objects" 3 cm deep, pinned missions).
    shallow = [d for d in drive([], 16.0, height=_dip(rise_m)) if d.depth < 0.1]
    assert not shallow, [(round(d.x, 2), round(d.y, 2), round(d.depth, 3)) for d in shallow]


def _rolling(amplitude_m, period_m=1.5):
    """Antenna height over rolling ground: nominal +/- ``amplitude_m``."""
    h0 = SimGprParams().gpr_antenna_height_m
    return lambda x: h0 + amplitude_m * np.sin(2.0 * np.pi * x / period_m)


@pytest.mark.parametrize('soil', [DRY_SAND, LOAM, WET_CLAY], ids=['dry_sand', 'loam', 'wet_clay'])
@pytest.mark.parametrize('depth', [0.03, 0.05])
def test_shallow_pmns_under_a_boom_over_rolling_ground_are_found(soil, depth):
    # The surface guard takes shallow apexes under a disturbed surface for the ground
    # bounce's residual; its threshold came down from 8 to 4.5 (half the 3-4 cm false objects
    # of sloped fields were under a surface residual of 4.5-8). A minimum-metal mine just
    # under a surface that disturbed must still be found, in every soil.
    xs = (5.0, 6.4, 7.8)
    dets = drive([pmn(x, CH_Y[3], depth) for x in xs], 14.0, soil=soil,
                 height=_rolling(0.015))
    for x in xs:
        assert any(np.hypot(d.x - x, d.y - CH_Y[3]) <= 0.1 for d in dets), (x, depth)


@pytest.mark.xfail(strict=True, reason='known: in the dry-sand preset (1 cm roughness) the '
                   'surface guard takes the first PMN 3 cm deep for the bounce residual, at a '
                   'threshold of 8 as at 4.5; without the guard it is found (the MD hears its '
                   'fuze; the GPR alone misses it)')
def test_a_3_cm_pmn_in_smooth_dry_sand_over_rolling_ground_is_found():
    xs = (5.0, 6.4, 7.8)
    dets = drive([pmn(x, CH_Y[3], 0.03) for x in xs], 14.0, soil=_soil('dry_sand'),
                 height=_rolling(0.015))
    for x in xs:
        assert any(np.hypot(d.x - x, d.y - CH_Y[3]) <= 0.1 for d in dets), x


@pytest.mark.parametrize('rise_m', [0.04, 0.08, 0.12])
def test_a_boom_rising_over_a_dip_leaves_no_deep_row_and_finds_a_pmn(rise_m):
    # The alignment's circular shift wrapped the direct coupling onto the traces' end: under
    # a boom raised 12 cm, a row of eight "objects" at the window's bottom (0.39 m,
    # confidence 0.9), which fuses into an AT-sized object.
    deep = [d for d in drive([], 16.0, height=_dip(rise_m)) if d.depth >= 0.1]
    assert not deep, [(round(d.x, 2), round(d.y, 2), round(d.depth, 3)) for d in deep]
    # and a PMN in the dip's flank is still found, at its depth
    dets = drive([pmn(8.6, CH_Y[3], 0.08)], 16.0, height=_dip(rise_m))
    hits = [d for d in dets if np.hypot(d.x - 8.6, d.y - CH_Y[3]) <= 0.1]
    assert hits, 'PMN missed'
    assert abs(max(hits, key=lambda d: d.confidence).depth - 0.08) <= 0.015


@pytest.mark.parametrize('depth', [0.05, 0.08, 0.12])
def test_pmn_depth_in_loam_within_6_mm(depth):
    # Target of the brief: 1.5 cm; the coupling-locked time-zero gave +1.1 to +1.5 cm here.
    dets = drive([pmn(9.0, CH_Y[3], depth)], 16.0)
    hits = [d for d in dets if np.hypot(d.x - 9.0, d.y - CH_Y[3]) <= 0.1]
    assert hits, 'PMN missed'
    best = max(hits, key=lambda d: d.confidence)
    assert abs(best.depth - depth) <= 0.006, best.depth
    # Nothing elsewhere: the roughness residual under the surface is not an object.
    strays = [d for d in dets if np.hypot(d.x - 9.0, d.y - CH_Y[3]) > 0.35]
    assert not strays, [(round(d.x, 2), round(d.y, 2), round(d.depth, 3)) for d in strays]


def test_wrong_antenna_height_biases_depth():
    # Told the antenna is 10 cm up (the bounce 0.33 ns later), depths come out ~1.7 cm
    # shallower: the parameter is what sets the surface time on this radar.
    dets = drive([pmn(9.0, CH_Y[3], 0.08)], 16.0,
                 params=GprParams(antenna_height_m=0.10))
    hits = [d for d in dets if np.hypot(d.x - 9.0, d.y - CH_Y[3]) <= 0.1]
    assert hits
    best = max(hits, key=lambda d: d.confidence)
    assert -0.025 <= best.depth - 0.08 <= -0.01


def shrapnel(x, y, depth):
    return BuriedItem(name='shrapnel', kind=ItemKind.CLUTTER, x=x, y=y, depth=depth,
                      diameter=0.04, height=0.01, metal_mass=0.02, permittivity=80.0,
                      model='shrapnel')


@pytest.mark.parametrize('h,eps', [(0.05, 9.0), (0.1, 4.0), (0.02, 20.0)])
def test_template_moveout_is_the_simulators_refracted_moveout(h, eps):
    depth = np.linspace(0.0, 0.4, 9)[:, None]
    x = np.linspace(0.0, 0.3, 7)[None, :]
    sim = travel_time_ns(h, depth, x, eps) - np.vectorize(apex_time_ns)(h, depth, eps)
    np.testing.assert_allclose(moveout_ns(depth, x, h, eps), sim, atol=1e-12)
    # Much flatter than a straight ray through the soil (what the stack used to assume).
    straight = 2.0 * (np.hypot(0.1, 0.1) - 0.1) * np.sqrt(eps) / C_M_PER_NS
    assert moveout_ns(0.1, 0.1, h, eps) < 0.7 * straight


def test_refracted_template_stacks_more_of_a_point_reflector(monkeypatch):
    # A shrapnel-size point at 10 cm: the stack along the refracted hyperbola collects more
    # of its energy, and places it better, than the straight-ray template.
    def best(dets):
        hits = [d for d in dets if np.hypot(d.x - 9.0, d.y - CH_Y[3]) <= 0.1]
        assert hits
        return max(hits, key=lambda d: d.confidence)

    item = [shrapnel(9.0, CH_Y[3], 0.10)]
    refracted = best(drive(item, 16.0))

    def straight_moveout(depth, offset, antenna_height_m, soil_permittivity):
        v = C_M_PER_NS / np.sqrt(soil_permittivity)
        depth = np.asarray(depth, dtype=float)
        return 2.0 * (np.sqrt(depth ** 2 + np.asarray(offset) ** 2) - depth) / v

    monkeypatch.setattr(gp, 'moveout_ns', straight_moveout)
    straight = best(drive(item, 16.0))
    assert refracted.strength > 1.08 * straight.strength, (refracted.strength,
                                                           straight.strength)
    assert abs(refracted.depth - 0.10) <= 0.002


def stone(x, y, depth, diameter=0.2):
    """A stone: no metal, point-like for the GPR (the simulator's soil scatterers)."""
    return BuriedItem(name='stone', kind=ItemKind.CLUTTER, x=x, y=y, depth=depth,
                      diameter=diameter, height=0.1, metal_mass=0.0, permittivity=4.0,
                      model='stone')


@pytest.mark.parametrize('before_stop_m', [0.04, 0.08, 0.12])
def test_backing_up_over_a_stone_does_not_make_an_at_sized_top(before_stop_m):
    """The vehicle stops with the boom just past a stone and backs up (backing out of a
    no-go zone, issue 12: three false AT tracks on a field with no AT mine). Along the path
    length the two passes fold into one flat top ~2x the overshoot wide: the stone read as
    a 12-14 cm half width, an AT mine's. A reversal ends the scan instead."""
    t_stop, pause = 8.0, 1.0
    x_stop = SPEED * t_stop

    def back_up(t):
        if t <= t_stop:
            return SPEED * t
        if t <= t_stop + pause:
            return x_stop
        return x_stop - SPEED * (t - t_stop - pause)

    x_item = x_stop + SENSOR_X - before_stop_m
    dets = drive([stone(x_item, CH_Y[3], 0.1)], 16.0, path=back_up)
    hits = [d for d in dets if abs(d.x - x_item) <= 0.3 and abs(d.y - CH_Y[3]) <= 0.1]
    assert hits, 'stone not seen'
    assert all(not d.radius >= 0.08 for d in hits), [(round(d.x, 2), d.radius) for d in hits]


def ts50(x, y, depth):
    """A minimum-metal AP mine (TS-50: 90 mm across, 0.1 g of metal; docs/sources.md)."""
    return BuriedItem(name='ts50', kind=ItemKind.AP, x=x, y=y, depth=depth, diameter=0.09,
                      height=0.045, metal_mass=0.0001, permittivity=3.0, model='TS-50')


def tm62(x, y, depth):
    """An AT mine (TM-62P: 320 mm across, plastic case)."""
    return BuriedItem(name='tm62', kind=ItemKind.AT, x=x, y=y, depth=depth, diameter=0.32,
                      height=0.13, metal_mass=0.03, permittivity=3.0, model='TM-62P')


@pytest.mark.parametrize('depth', [0.011, 0.015, 0.03])
def test_a_shallow_ap_mine_gets_no_at_sized_top(depth):
    """Just under the surface the hyperbola has no moveout within the fit's reach: every
    flat top stacks the same peak and the widest won (a 1.1 cm TS-50 fitted 0.15 m and made
    a no-go zone: issue 12). A width the data leave open is unknown (NaN), not AT-sized."""
    dets = drive([ts50(9.0, CH_Y[3], depth)], 16.0)
    hits = [d for d in dets if np.hypot(d.x - 9.0, d.y - CH_Y[3]) <= 0.15]
    assert hits, 'TS-50 missed'
    assert all(not d.radius >= 0.08 for d in hits), [(round(d.x, 2), d.radius) for d in hits]


@pytest.mark.parametrize('depth', [0.1, 0.2])
def test_an_at_mine_keeps_its_wide_top(depth):
    """The resolution test must not cost the AT mine its size: a TM-62's top is measured."""
    dets = drive([tm62(9.0, CH_Y[3], depth)], 16.0)
    hits = [d for d in dets if np.hypot(d.x - 9.0, d.y - CH_Y[3]) <= 0.25]
    assert hits, 'TM-62 missed'
    assert max(d.radius for d in hits if np.isfinite(d.radius)) >= 0.1, \
        [(round(d.x, 2), round(d.y, 2), d.radius) for d in hits]


def test_a_crawling_antenna_measures_an_at_mine_as_a_moving_one():
    """Wet clay slows the machine to a crawl (0.05 m/s). Each 0.1 s batch then moved the
    antenna less than the trace step and was taken for a stop: every waiting trace was decided
    half-seen, dozens of times per object, and the 5 mm trace step let the background median
    take in the mine's flat top. The crawl must give what 0.4 m/s gives."""
    crawl = 0.05
    dets = drive([tm62(9.0, CH_Y[3], 0.12)], 8.0 / crawl, path=lambda t: crawl * t)
    hits = [d for d in dets if np.hypot(d.x - 9.0, d.y - CH_Y[3]) <= 0.25]
    assert hits, 'TM-62 missed'
    assert len(hits) <= 6, len(hits)          # one per channel that sees it, not one per batch
    assert max(d.radius for d in hits if np.isfinite(d.radius)) >= 0.1, \
        [(round(d.y, 2), d.radius) for d in hits]


def test_the_map_pose_jumping_at_each_fix_does_not_cut_the_scan():
    """The map pose jumps by 1-3 cm at each RTK fix (5 Hz) while the boom crawls forward at
    0.1 m/s (2 cm per fix): each jump back was a "reversal", the scan was cut into pieces a
    few centimetres long and an AT mine became a row of unresolved point reports."""
    speed = 0.1
    jumps = np.random.default_rng(11).normal(0.0, 0.02, 2000)

    def jumpy(t):
        return speed * t + jumps[int(t * 5.0)]

    dets = drive([tm62(9.0, CH_Y[3], 0.12)], 7.0 / speed, path=jumpy)
    hits = [d for d in dets if np.hypot(d.x - 9.0, d.y - CH_Y[3]) <= 0.25]
    assert hits, 'TM-62 missed'
    assert len(hits) <= 6, [(round(d.x, 3), round(d.y, 2)) for d in hits]
    assert max(d.radius for d in hits if np.isfinite(d.radius)) >= 0.1, \
        [(round(d.y, 2), d.radius) for d in hits]


@pytest.mark.parametrize('soil', [LOAM, WET_CLAY])
def test_plastic_mines_give_no_velocity_fit_metal_does(soil):
    """A plastic mine is a flat disc: fitted at a wrong prior its top passes for a point and
    its flattened moveout reads as a drier soil (the fits gave eps 2.7-3.2 in loam and wet
    clay on bench/perception.py's fields). Only reflectors against the pulse's sign (metal,
    a stone in dry soil) measure the wave speed."""
    params = GprParams(estimate_permittivity=True)
    procs = []
    drive([pmn(5.0 + 1.5 * k, CH_Y[3], 0.06 + 0.02 * k) for k in range(5)], 25.0,
          params=params, soil=soil, processors=procs)
    assert procs[0].stats.velocity_fits == 0
    if soil is WET_CLAY:
        return      # fragments there are too weak for a fit (z < velocity_min_snr)
    procs = []
    dets = drive([shrapnel(5.0 + 1.5 * k, CH_Y[3], 0.06 + 0.02 * k) for k in range(5)], 25.0,
                 params=params, soil=soil, processors=procs)
    assert dets and procs[0].stats.velocity_fits >= 1


def nail(x, y, depth):
    return BuriedItem(name='nail', kind=ItemKind.CLUTTER, x=x, y=y, depth=depth, diameter=0.005,
                      height=0.08, metal_mass=0.005, permittivity=80.0, model='nail')


def _polarities(make, depth, soil):
    """Polarities of the detections over four ``make`` items ``depth`` deep in ``soil``."""
    items = [make(5.0 + 1.5 * k, CH_Y[3], depth) for k in range(4)]
    dets = drive(items, 20.0, soil=soil)
    found = [d for d in dets if min(np.hypot(d.x - it.x, d.y - it.y) for it in items) < 0.3]
    assert found
    return {d.polarity for d in found}


@pytest.mark.parametrize('soil', [LOAM, DRY_SAND], ids=['loam', 'dry_sand'])
@pytest.mark.parametrize('depth', [0.02, 0.03])
def test_an_object_at_the_window_top_gets_no_polarity_of_the_wrong_sign(soil, depth):
    """Just above the window's top (min_depth_m 3 cm) the lobe read is the one after the centre
    lobe: a nail read +1 like a plastic body (with the MD's grams, a flush TM-62P's fuze: P(AT)
    0.01 -> 0.09, a no-go zone round a nail) and a PMN -1 like metal (towards clutter)."""
    assert 1 not in _polarities(nail, depth, soil)
    assert -1 not in _polarities(pmn, depth, soil)


def test_polarity_below_the_window_top_is_kept():
    assert _polarities(nail, 0.06, LOAM) == {-1}
    assert _polarities(pmn, 0.06, LOAM) == {1}


def test_waiting_batches_with_an_estimated_permittivity_change_nothing(monkeypatch):
    """With the permittivity estimated, a batch nothing can be decided in waits for the next
    one as long as no channel's moveout table is due to be rebuilt: the detections and the
    estimate are those of every batch processed at once, across the estimate's moves."""
    params = GprParams(estimate_permittivity=True, velocity_min_fits=1)
    items = [shrapnel(5.0 + 1.5 * k, CH_Y[3], 0.06 + 0.02 * k) for k in range(5)]
    waited = []
    can_wait = GprProcessor._can_wait

    def counted(self, batch):
        waited.append(can_wait(self, batch))
        return waited[-1]

    monkeypatch.setattr(GprProcessor, '_can_wait', counted)
    lazy = []
    got = drive(items, 25.0, params=params, processors=lazy)
    monkeypatch.setattr(GprProcessor, '_can_wait', lambda self, batch: False)
    eager = []
    want = drive(items, 25.0, params=params, processors=eager)
    assert any(waited) and not all(waited)
    assert eager[0].stats.velocity_fits >= 1 and eager[0].permittivity != 9.0
    assert repr(got) == repr(want) and len(want) >= 3
    assert repr(lazy[0].stats) == repr(eager[0].stats)


LATERITE = _soil('laterite')


def _laterite(items, seed):
    """Reports of a pass over ``items`` in laterite, the processor told the soil."""
    return drive(items, 16.0, seed=seed, soil=LATERITE,
                 params=GprParams(soil_permittivity=LATERITE['permittivity']))


def test_an_open_width_over_a_shallow_at_mines_centre_rules_its_neighbours_chord_out():
    """A TM-62P 5 cm deep in laterite, 6 cm off a channel: the report over its centre leaves
    its width open (the wider tops all fit within the noise), but the narrowest top it allows
    is wider than the chord the neighbour channel 19 cm off crossed, which the fusion took
    for the mine's width (an AT mine labelled AP: bench/classification.py shallow_at)."""
    dets = _laterite([tm62(9.0, CH_Y[3] - 0.06, 0.05)], seed=6)
    hits = [d for d in dets if abs(d.x - 9.0) <= 0.3 and d.confidence >= 0.8]
    centre = max(hits, key=lambda d: d.strength)
    chords = [d.radius for d in hits if np.isfinite(d.radius)]
    assert np.isnan(centre.radius) and chords, [(d.y, d.radius, d.radius_min) for d in hits]
    assert centre.radius_min >= 0.1 and centre.radius_min > max(chords), \
        [(round(d.y, 2), d.radius, d.radius_min, round(d.strength)) for d in hits]


@pytest.mark.parametrize('depth', [0.05, 0.08])
def test_an_ap_mines_narrowest_allowed_top_is_ap_sized(depth):
    """A PMN (5.6 cm half width) allows tops of its own size."""
    dets = _laterite([pmn(9.0, CH_Y[3] - 0.03, depth)], seed=4)
    hits = [d for d in dets if np.hypot(d.x - 9.0, d.y - CH_Y[3] + 0.03) <= 0.15]
    assert hits, 'PMN missed'
    assert all(d.radius_min < 0.08 for d in hits), [(d.radius, d.radius_min) for d in hits]


@pytest.mark.parametrize('make', [pmn, ts50])
def test_an_object_above_the_window_gives_no_narrowest_allowed_top(make):
    """1 cm deep, the apex lies above the window's top (min_depth_m, 3 cm): the flanks in it
    stack as a wide flat top, and the narrowest one within the noise read 7-12 cm for mines
    4.5-5.6 cm across (open_width_guard_m)."""
    dets = _laterite([make(9.0, CH_Y[3], 0.011)], seed=4)
    hits = [d for d in dets if np.hypot(d.x - 9.0, d.y - CH_Y[3]) <= 0.15]
    assert hits, 'mine missed'
    assert all(d.radius_min == 0.0 for d in hits), [(d.radius, d.radius_min) for d in hits]
