"""``demine gpr``: gprMax-format files through the online chain (test data written here)."""

import json
import math
import sys
from pathlib import Path
from typing import Any, Dict, List

import numpy as np
import pytest

from perception_synth import ricker
from demining_bringup import cli
from demining_perception import offline

h5py = pytest.importorskip('h5py')

C = 0.299792458
DT_NS = 0.02
H = 0.05
T0 = 1.0


def bscan(xs, objs, eps, noise=0.005, seed=1):
    """Traces (S x N, gprMax layout) of point targets ``(x, depth, amp)`` under a flat surface
    (the refracted hyperbola of docs/gpr_validation.md)."""
    rng = np.random.default_rng(seed)
    t = np.arange(400) * DT_NS
    n = math.sqrt(eps)
    out = np.zeros((len(xs), len(t)))
    out += ricker(t - T0)[None, :]                                  # direct coupling
    out += (1 - n) / (1 + n) * ricker(t - T0 - 2 * H / C)[None, :]   # ground bounce
    for x0, d, amp in objs:
        big_d = H + d / n
        r = np.sqrt(big_d ** 2 + (xs - x0) ** 2)
        ta = T0 + 2 * H / C + 2 * d * n / C + 2 * (r - big_d) / C
        out += (amp * (big_d / r) ** 2)[:, None] * ricker(t[None, :] - ta[:, None])
    out += rng.normal(0.0, noise, out.shape)
    return out.T


def write_gprmax(path, data, step=None, start=None, dx=0.0025):
    """gprMax's layout: ``rxsteps`` in cells of ``dx_dy_dz``; positions of source and
    receiver (here 2 cm either side of the trace position)."""
    with h5py.File(path, 'w') as f:
        f.attrs['dt'] = DT_NS * 1e-9
        if step is not None:
            f.attrs['dx_dy_dz'] = np.array([dx, dx, dx])
            f.attrs['rxsteps'] = np.array([int(round(step / dx)), 0, 0], dtype=np.int32)
        g = f.create_group('rxs/rx1')
        if start is not None:
            g.attrs['Position'] = np.array([start + 0.02, 0.25, 0.0])
            f.create_group('srcs/src1').attrs['Position'] = np.array([start - 0.02, 0.25, 0.0])
        g['Ez'] = data


@pytest.mark.parametrize('n_traces', [40, 90])
def test_short_merged_file_finds_targets_including_one_at_the_end(tmp_path, n_traces, capsys):
    step = 0.02
    xs = 0.2 + step * np.arange(n_traces)
    end = xs[-1]
    # Two targets 0.3 m or more apart (one apex per peak window), the second 8 cm before
    # the end of the scan: without the end-of-scan flush it is never reported.
    objs = [(xs[n_traces // 2] - 0.1, 0.10, 0.3), (end - 0.08, 0.08, -0.3)]
    path = tmp_path / 'scan_merged.out'
    write_gprmax(path, bscan(xs, objs, 9.0), step=step, start=0.2)
    assert offline.read([str(path)]).x[0] == pytest.approx(0.2)
    out_json, out_png = tmp_path / 'r.json', tmp_path / 'r.png'
    rc = cli.main(['gpr', str(path), '--permittivity', '9', '--json', str(out_json),
                   '--png', str(out_png), '--antenna-height', str(H)])
    assert rc == 0
    res = json.loads(out_json.read_text())
    assert res['file'] == str(path) and res['traces'] == n_traces
    assert set(res['detections'][0]) == {'x', 'depth', 'kind', 'confidence', 'polarity',
                                         'permittivity'}
    for x0, d, amp in objs:
        hits = [p for p in res['detections'] if abs(p['x'] - x0) <= 0.05]
        assert hits, (x0, res['detections'])
        best = hits[0]
        assert abs(best['depth'] - d) <= 0.02
        assert best['polarity'] == ('+' if amp > 0 else '-')
        assert best['kind'] != 'CLUTTER' or amp < 0
    assert out_png.stat().st_size > 1000
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == res


def test_ascan_files_in_order_and_flags(tmp_path):
    xs = 0.01 * np.arange(60)
    data = bscan(xs, [(0.3, 0.12, 0.3)], 9.0)
    paths = []
    for i in range(data.shape[1]):
        p = tmp_path / f'scan{i + 1}.h5'
        write_gprmax(p, data[:, i], start=xs[i])
        paths.append(str(p))
    scan = offline.read(paths)                     # positions from each file
    assert scan.traces.shape == (60, 400) and scan.dt_ns == pytest.approx(DT_NS)
    np.testing.assert_allclose(scan.x, xs)
    assert offline.read(paths, step_m=0.02, start_m=1.0).x[-1] == pytest.approx(2.18)
    dets, _ = offline.process(scan, offline.params_for(scan, 9.0, H))
    assert any(abs(d.x - 0.3) <= 0.05 and abs(d.depth - 0.12) <= 0.02 for d in dets)


def test_bad_input_is_one_error_line_exit_2(tmp_path, capsys):
    p = tmp_path / 'short.out'
    write_gprmax(p, bscan(0.01 * np.arange(20), [], 9.0), step=0.01)
    assert cli.main(['gpr', str(p)]) == 2
    assert 'at least 40' in capsys.readouterr().err
    assert cli.main(['gpr', str(tmp_path / 'missing.out')]) == 2
    q = tmp_path / 'nostep.out'
    write_gprmax(q, bscan(0.01 * np.arange(50), [], 9.0))
    assert cli.main(['gpr', str(q)]) == 2
    assert '--step' in capsys.readouterr().err
    assert cli.main(['gpr', str(p), '--permittivity', 'wet']) == 2
    d = tmp_path / 'x.dzt'
    d.write_bytes(b'\0' * 64)
    assert cli.main(['gpr', str(d)]) == 2


def write_dzt(path, channels, bits=16, spm=50.0, data_kb=None, marks=True):
    """A GSSI DZT file of ``channels`` (each S x N, gprMax layout) as a control unit writes it:
    a 1024-byte header per channel (offsets as in readgssi's ``readdzt``), then per scan
    each channel's samples, unsigned with their zero at mid-range (8/16 bits) or signed (32),
    the first two of every scan a mark word."""
    import struct
    nsamp, n = channels[0].shape
    nchan = len(channels)
    header = bytearray(1024 * nchan)
    struct.pack_into('<HHHHh', header, 0, 0x00FF, data_kb or 1024 * nchan, nsamp, bits, 0)
    struct.pack_into('<fffff', header, 10, 64.0, spm, 0.0, 0.0, nsamp * DT_NS)
    struct.pack_into('<Hf', header, 52, nchan, 9.0)
    full = max(float(np.max(np.abs(c))) for c in channels)
    dtype, top = {8: (np.uint8, 2 ** 7), 16: (np.uint16, 2 ** 15), 32: (np.int32, 2 ** 30)}[bits]
    zero = 0 if bits == 32 else top
    scans = np.concatenate([np.round(c.T / full * 0.9 * (top - 1)) + zero for c in channels],
                           axis=1)
    if marks:
        scans[:, :2] = (zero + top - 1) if bits != 32 else top
    body = scans.astype(dtype).tobytes()
    gap = b'\0' * (1024 * (data_kb or nchan) - len(header)) if data_kb else b''
    Path(path).write_bytes(bytes(header) + gap + body)


@pytest.mark.parametrize('bits', [8, 16, 32])
def test_a_gssi_dzt_file_is_read_and_its_targets_found(tmp_path, bits):
    """DZT: the window from rhf_range, the step from rhf_spm, the channel asked for, the scans'
    mark words ignored; the target within 5 cm (issue 12: GPR files as they come)."""
    step = 0.02
    xs = step * np.arange(70)
    objs = [(0.7, 0.10, 0.3)]
    target = bscan(xs, objs, 9.0)
    empty = bscan(xs, [], 9.0, seed=2)
    path = tmp_path / 'line01.dzt'
    write_dzt(path, [empty, target], bits=bits, spm=1.0 / step)
    scan = offline.read([str(path)], channel=1)
    assert scan.traces.shape == (70, 400) and scan.dt_ns == pytest.approx(DT_NS)
    # the samples as written (to the 8-bit file's quantisation), zero at mid-range removed
    assert np.corrcoef(scan.traces[:, 2:].ravel(), target.T[:, 2:].ravel())[0, 1] > 0.99
    assert abs(float(np.median(scan.traces))) < 0.05 * float(np.abs(scan.traces).max())
    assert scan.x[-1] == pytest.approx(69 * step)
    out = tmp_path / 'r.json'
    for channel, expect in ((1, objs), (0, [])):
        assert cli.main(['gpr', str(path), '--channel', str(channel), '--permittivity', '9',
                         '--antenna-height', str(H), '--json', str(out)]) == 0
        found = json.loads(out.read_text())['detections']
        for x0, d, _ in expect:
            assert any(abs(p['x'] - x0) <= 0.05 and abs(p['depth'] - d) <= 0.02
                       for p in found), found
        if not expect:
            assert not any(abs(p['x'] - 0.7) <= 0.1 for p in found), found


def test_a_dzt_with_its_data_after_an_extended_header_and_without_a_step(tmp_path, capsys):
    """rh_data below 1024 gives the data's offset in kB; a file taken on time has no scans per
    metre: --step then, else one error line."""
    xs = 0.02 * np.arange(50)
    path = tmp_path / 'timed.dzt'
    write_dzt(path, [bscan(xs, [(0.5, 0.1, 0.3)], 9.0)], spm=0.0, data_kb=4)
    assert cli.main(['gpr', str(path)]) == 2
    assert '--step' in capsys.readouterr().err
    scan = offline.read([str(path)], step_m=0.02)
    assert scan.traces.shape == (50, 400)
    assert abs(scan.traces[:, 0] - scan.traces[:, 2]).max() == 0.0      # marks dropped


@pytest.mark.parametrize('damage', ['tag', 'bits', 'channel', 'truncated', 'range'])
def test_a_broken_dzt_is_one_error_line(tmp_path, capsys, damage):
    import struct
    path = tmp_path / 'bad.dzt'
    write_dzt(path, [bscan(0.02 * np.arange(50), [], 9.0)])
    raw = bytearray(path.read_bytes())
    args = ['gpr', str(path), '--step', '0.02']
    if damage == 'tag':
        struct.pack_into('<H', raw, 0, 0x1234)
    elif damage == 'bits':
        struct.pack_into('<H', raw, 6, 12)
    elif damage == 'channel':
        args += ['--channel', '3']
    elif damage == 'truncated':
        raw = raw[:1024 + 100]
    else:
        struct.pack_into('<f', raw, 26, float('nan'))
    path.write_bytes(bytes(raw))
    assert cli.main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith('demine: error:'), err


@pytest.mark.parametrize('component', ['Ey', 'Ex'])
def test_a_gprmax_model_polarised_otherwise_and_a_receiver_not_called_rx1(
        tmp_path, component):
    """A source polarised along y (or x) puts the reflections in Ey (Ex); gprMax still
    writes the other components (near zero). ``auto`` takes the strongest; a named one is
    taken as named."""
    step = 0.02
    xs = step * np.arange(60)
    data = bscan(xs, [(0.6, 0.12, 0.3)], 9.0)
    path = tmp_path / 'ydipole_merged.out'
    with h5py.File(path, 'w') as f:
        f.attrs['dt'] = DT_NS * 1e-9
        g = f.create_group('rxs/rx2')
        for c in ('Ex', 'Ey', 'Ez'):
            g[c] = data if c == component else 1e-6 * data[::-1]
    scan = offline.read([str(path)], step_m=step)
    np.testing.assert_allclose(scan.traces, data.T)
    dets, _ = offline.process(scan, offline.params_for(scan, 9.0, H))
    assert any(abs(d.x - 0.6) <= 0.05 and abs(d.depth - 0.12) <= 0.02 for d in dets)
    np.testing.assert_allclose(offline.read([str(path)], step_m=step, component='Ez').traces,
                               1e-6 * data[::-1].T)


# -- gprMax FDTD B-scans (bench/gprmax_scans.py; TUNED lists the scans looked at while tuning) --

GPRMAX_DIR = Path(__file__).resolve().parents[1] / 'data' / 'gprmax'
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / 'bench'))
import gprmax_scans  # noqa: E402


# Held-back scans whose results (run once, with the soil's permittivity) miss what a test asks;
# reported as found in docs/gpr_validation.md, not fixed. (Issue 12's two-object and steel AT
# scans missed the 5 cm criterion up to 5e078c9: fixed on them, so no longer held back.)
_MISSED_BY_5_CM: Dict[str, str] = {
    'can_rock_wet_clay': 'held back, run once (at 1d4b252): the can at x 0.15 (0 cm off, 4.7 cm, '
                         '-), the stone at 0.36 not reported: its apex (z 67, 9 cm) is 21 cm '
                         'from the stronger can (z 331) and later than the can\'s, so the '
                         'stronger trace suppresses it (apex_separation_ns only frees an '
                         'earlier apex)',
}
_MISSED_DETAIL = dict(_MISSED_BY_5_CM, **{
    'pma2_plastic_wet_clay': 'held back, run once: x 0.27 and 3.8 cm as true (0.27, 4 cm), '
                             'but no polarity (?): the apex 0.8 cm below the window top',
    'ts50_dry_sand': 'held back, run once (at 1d4b252): x 0.19 as true, but 6.4 cm deep and '
                     'polarity -: the bottom echo (top 3 cm, at the window\'s top)',
})


def _xfail_where(missed: Dict[str, str]) -> List[Any]:
    """The scan names, those in ``missed`` marked strict xfail with the measured numbers."""
    return [pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=missed[n]))
            if n in missed else n for n in sorted(gprmax_scans.TRUTH)]


def _demine_gpr(name: str, tmp_path: Path) -> Dict[str, Any]:
    """``demine gpr`` on a stored scan with its soil's permittivity: the JSON result."""
    path = GPRMAX_DIR / f'{name}_merged.out'
    eps = gprmax_scans.TRUTH[name][2]
    out = tmp_path / 'r.json'
    assert cli.main(['gpr', str(path), '--permittivity', str(eps), '--json', str(out)]) == 0
    res = json.loads(out.read_text())
    assert res['traces'] == gprmax_scans.TRACES
    return res


@pytest.mark.parametrize('name', _xfail_where(_MISSED_DETAIL))
def test_gprmax_scans_object_within_5_cm(name, tmp_path):
    """``demine gpr`` on FDTD output: each object within 5 cm along the scan, its top within
    2 cm with the soil's permittivity given; metal reflects with '-'."""
    res = _demine_gpr(name, tmp_path)
    matched = []
    for x0, depth, material in gprmax_scans.OBJECTS[name]:
        hits = [d for d in res['detections'] if abs(d['x'] - x0) <= 0.05]
        assert hits, res
        matched += hits
        best = max(hits, key=lambda d: d['confidence'])
        # (Up to 5e078c9 the rock's pick was its bottom echo, 17 cm, and this test allowed
        # any depth within the rock for it; the top echo is taken first now: TOP_ECHO_FRACTION.)
        assert abs(best['depth'] - depth) <= 0.02, best
        # Polarity against the soil: metal and a denser stone '-', plastic or a stone in a
        # wetter soil '+'.
        assert best['polarity'] == gprmax_scans.POLARITY[material]
    # Nothing else: no detection away from the scan's objects.
    assert all(d in matched for d in res['detections']), res


@pytest.mark.parametrize('name', _xfail_where(_MISSED_BY_5_CM))
def test_gprmax_scans_every_mine_found_within_5_cm_along_the_scan(name, tmp_path):
    """Issue 12's criterion alone: every object of the scan has a detection within 5 cm of its
    centre along the scan (whatever its depth, polarity and kind)."""
    res = _demine_gpr(name, tmp_path)
    for x0, _, _ in gprmax_scans.OBJECTS[name]:
        assert any(abs(d['x'] - x0) <= 0.05 for d in res['detections']), (x0, res)


def test_auto_permittivity_tells_dry_sand_from_wet_clay():
    """The hyperbola fits order soils (dry sand 4 < wet clay 25), and read the FDTD rod's
    dry sand within 3-6.5; they are not accurate enough to replace a known permittivity
    (docs/gpr_validation.md), so the online default keeps the prior."""
    xs = 0.01 * np.arange(120)
    est = {}
    for eps in (4.0, 25.0):
        scan = offline.BScan('synthetic', bscan(xs, [(0.3, 0.08, -0.3), (0.7, 0.12, 0.3)],
                                                eps).T, DT_NS, xs)
        _, proc = offline.process(scan, offline.params_for(scan, 'auto', H))
        est[eps] = proc.permittivity
    assert est[4.0] < 6.0 < est[25.0]
    rod = offline.read([str(GPRMAX_DIR / 'metal_rod_sand_merged.out')])
    _, proc = offline.process(rod, offline.params_for(rod, 'auto'))
    assert 3.0 <= proc.permittivity <= 6.5
    assert offline.params_for(rod, 4.0).estimate_permittivity is False


def test_a_flat_reflector_over_most_of_a_short_file_is_not_its_background(tmp_path):
    """A short file's background is the median of its quietest traces: a flat echo under 33 of
    40 traces (a 32 cm AT top in a 39 cm file) stays in the data, with its own polarity, and
    is one object at its centre, not two at its ends with the sign turned (the whole-file
    median of issue 12's steel AT scan, up to 5e078c9)."""
    xs = 0.05 + 0.01 * np.arange(40)
    plate = [(x0, 0.12, -0.05) for x0 in np.arange(0.09, 0.4101, 0.005)]
    data = bscan(xs, plate, 9.0, noise=0.002)
    scan = offline.BScan('plate', data.T, DT_NS, xs)
    quiet = offline.quiet_traces(scan.traces, DT_NS, offline.params_for(scan, 9.0, H))
    assert len(quiet) == 10
    assert sum(1 for i in quiet if not 0.09 <= xs[i] <= 0.41) >= 6, xs[quiet]
    dets, _ = offline.process(scan, offline.params_for(scan, 9.0, H))
    assert len(dets) == 1, [(d.x, d.depth, d.polarity) for d in dets]
    assert abs(dets[0].x - 0.25) <= 0.05 and dets[0].polarity == -1
    assert abs(dets[0].depth - 0.12) <= 0.02


def test_a_weaker_shallower_object_beside_a_stronger_deeper_one_is_its_own(tmp_path):
    """Two objects 22 cm apart on one line, the stronger deeper: the shallower one is not the
    stronger one's flank (a flank comes after its apex), so both are reported, each at its own
    apex (issue 12's two-object scan, up to 5e078c9: the body lost, the round picked 8 cm off)."""
    xs = 0.01 * np.arange(80)
    objs = [(0.30, 0.05, 0.25), (0.52, 0.09, -0.6)]
    scan = offline.BScan('pair', bscan(xs, objs, 9.0, noise=0.002).T, DT_NS, xs)
    dets, _ = offline.process(scan, offline.params_for(scan, 9.0, H))
    for x0, d, amp in objs:
        hits = [p for p in dets if abs(p.x - x0) <= 0.05]
        assert hits, (x0, [(p.x, p.depth) for p in dets])
        assert abs(hits[0].depth - d) <= 0.02 and hits[0].polarity == np.sign(amp)


def test_the_top_echo_is_the_depth_when_a_stronger_one_lies_below(tmp_path):
    """An object's top is its first strong echo (TOP_ECHO_FRACTION of the best), not a stronger
    echo below it (a plastic body's bottom, of the other sign: the TM-62P-like body in
    laterite read 22 cm for its 15 cm top up to 5e078c9)."""
    xs = 0.01 * np.arange(60)
    objs = [(0.30, 0.10, 0.3), (0.30, 0.17, -0.45)]
    scan = offline.BScan('body', bscan(xs, objs, 9.0, noise=0.002).T, DT_NS, xs)
    dets, _ = offline.process(scan, offline.params_for(scan, 9.0, H))
    assert len(dets) == 1, [(d.x, d.depth) for d in dets]
    assert abs(dets[0].x - 0.3) <= 0.05 and abs(dets[0].depth - 0.10) <= 0.02
    assert dets[0].polarity == 1


@pytest.mark.parametrize('dt', [-1e-11, float('inf'), 0.0])
def test_a_sample_interval_no_radar_has_is_refused(tmp_path, capsys, dt):
    p = tmp_path / 'bad_dt.out'
    with h5py.File(p, 'w') as f:
        f.attrs['dt'] = dt
        f.create_dataset('rxs/rx1/Ez', data=np.random.default_rng(1).normal(size=(400, 60)))
    assert cli.main(['gpr', str(p), '--step', '0.01', '--png', str(tmp_path / 'x.png')]) == 2
    assert 'sample interval' in capsys.readouterr().err


def _focus(traces, x, dt_ns, permittivity=None):
    """Share of a B-scan's echo energy below the surface within 2 cm and 4 samples of its
    brightest sample, after time-zero alignment and background removal, migrated at
    ``permittivity`` when given (:func:`~demining_perception.gpr.processing.migrate`)."""
    from demining_perception.gpr.processing import (C_M_PER_NS, GprParams, align, envelope,
                                                    migrate, pick_surface)
    p = GprParams()
    a = traces / np.max(np.abs(traces))
    picks = pick_surface(envelope(a), max(3, int(round(p.ground_search_max_ns / dt_ns))),
                         2.0 * p.antenna_height_m / C_M_PER_NS / dt_ns)
    ref = int(round(float(np.median(picks))))
    a = align(a, picks - ref)
    a = a - np.median(a, axis=0, keepdims=True)
    if permittivity is not None:
        a = migrate(a, x, dt_ns, ref, p.antenna_height_m, permittivity, 0.25)
    e = envelope(a)[:, ref + 3:] ** 2
    i0, j0 = np.unravel_index(np.argmax(e), e.shape)
    di = max(1, int(round(0.02 / np.median(np.diff(x)))))
    return float(e[max(0, i0 - di):i0 + di + 1, max(0, j0 - 4):j0 + 5].sum() / e.sum())


def test_migration_collapses_the_fdtd_rods_hyperbola_best_at_the_soils_permittivity():
    # gprMax: a 1 cm metal rod 8 cm deep in dry sand (eps 4). Migrated at the sand's
    # permittivity its hyperbola gathers onto the apex; at a wrong one it stays open (too
    # low) or turns into a smile (too high).
    rod = offline.read([str(GPRMAX_DIR / 'metal_rod_sand_merged.out')])
    raw = _focus(rod.traces, rod.x, rod.dt_ns)
    at_soil = _focus(rod.traces, rod.x, rod.dt_ns, 4.0)
    assert at_soil >= 2.5 * raw
    assert at_soil > 1.1 * _focus(rod.traces, rod.x, rod.dt_ns, 1.5)
    assert at_soil > 1.1 * _focus(rod.traces, rod.x, rod.dt_ns, 16.0)


def test_the_png_shows_the_b_scan_and_its_migration(tmp_path):
    out = tmp_path / 'rod.png'
    assert cli.main(['gpr', str(GPRMAX_DIR / 'metal_rod_sand_merged.out'), '--permittivity',
                     '4', '--png', str(out)]) == 0
    from matplotlib import image
    img = image.imread(str(out))
    assert img.shape[0] > img.shape[1] * 0.8          # two panels, one above the other
