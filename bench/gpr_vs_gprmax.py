#!/usr/bin/env python3
"""Validate the embedded GPR model (demining_sim.sensors.gpr) against gprMax FDTD B-scans.

Two 2D cases (docs/gpr_validation.md has the method and the numbers):

* ``pmn_loam``: a PMN-like AP blast mine (TNT/plastic, eps 3, 112 x 56 mm cross-section),
  top 0.10 m deep in loam (eps 9, 0.01 S/m);
* ``metal_sand``: an 82 mm mortar round (PEC circular cross-section, lying across the scan
  line), top 0.15 m deep in dry sand (eps 4, 0.001 S/m).

Both are scanned by a common-offset antenna pair 0.05 m above the ground, Ricker 1.5 GHz.
From each B-scan the ground-bounce time and the target reflection's time per trace are
picked (envelope peak after exact background removal); the compared quantity is the
target's delay after the ground bounce, ``dt(x) = t_target(x) - t_ground``.

Usage (from the package root)::

    python bench/gpr_vs_gprmax.py --out /tmp/gpr_validation            # stored reference
    python bench/gpr_vs_gprmax.py --run-gprmax --out /tmp/gpr_validation  # re-run gprMax
    python bench/gpr_vs_gprmax.py --run-gprmax --write-reference      # refresh the JSON

``--run-gprmax`` needs ``pip install gprmax`` (4.0.1 was used) and takes about a minute
per case on 2 cores at the default 2 mm cell.
"""

from __future__ import annotations

import argparse
import json
import math
import pathlib
import shlex
import sys
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from scipy.signal import hilbert

ROOT = pathlib.Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

REFERENCE_FILE = ROOT / 'test' / 'demining_sim' / 'data' / 'gprmax_reference.json'
SCHEMA_VERSION = 1
RAW_CACHE = 'gprmax_raw.npz'    # raw gprMax traces of the last --run-gprmax (for figures)

C0 = 299_792_458.0                 # m/s, speed of light in vacuum
NS = 1e-9

# -- gprMax grid and domain -----------------------------------------------------------------
CELL_M = 0.002                     # 2 mm: >= 11 cells per shortest wavelength in loam
TIME_WINDOW_S = 7e-9               # covers the widest hyperbola branch of both cases
PML_CELLS = 10                     # gprMax default PML thickness
SOIL_THICKNESS_M = 0.35            # below the surface, keeps the PML far from the target
AIR_ABOVE_ANTENNA_M = 0.07         # antenna to the top of the domain (PML included)
SIDE_MARGIN_M = 0.11               # outermost antenna to the domain's side (PML included)

# -- picking ---------------------------------------------------------------------------------
#: a picked peak is the first local envelope maximum reaching this share of the window maximum
PICK_RELATIVE_THRESHOLD = 0.5
#: traces whose target envelope is below this share of the B-scan's strongest target
#: response are not picked (too weak to be seen by a real processor)
PICK_MIN_RELATIVE_AMPLITUDE = 0.05
#: the target window starts this long after the ground-bounce pick (the bounce itself is
#: removed by background subtraction, only its residue can remain)
TARGET_WINDOW_GUARD_S = 0.3e-9

# -- acceptance (the test uses the same numbers) ---------------------------------------------
APEX_TOLERANCE_PCT = 2.0
HYPERBOLA_RMS_TOLERANCE_NS = 0.10


def _offsets(half_span: float, step: float) -> List[float]:
    n = int(round(half_span / step))
    return [round(i * step, 6) for i in range(-n, n + 1)]


#: The validation cases.  Depths are to the target's top (as ``BuriedItem.depth``), x offsets
#: are antenna (Tx/Rx midpoint) positions relative to the target centre.
CASES: List[Dict[str, Any]] = [
    {
        'name': 'pmn_loam',
        'description': 'PMN-like AP blast mine (TNT/plastic case, eps 3) top 0.10 m deep in '
                       'loam (eps 9, 0.01 S/m)',
        # docs/sources.md: loam eps 8-12, ~0.01 S/m; PMN 112 x 56 mm, TNT eps ~2.9, plastic ~3
        'soil': {'name': 'loam', 'permittivity': 9.0, 'conductivity': 0.01},
        'target': {'name': 'pmn', 'kind': 'AP', 'model': 'PMN', 'material': 'dielectric',
                   'shape': 'box', 'permittivity': 3.0, 'conductivity': 0.0,
                   'depth_m': 0.10, 'diameter_m': 0.112, 'height_m': 0.056,
                   'metal_mass_kg': 0.005, 'explosive_mass_kg': 0.24},
        'antenna_height_m': 0.05,
        'tx_rx_offset_m': 0.02,
        'centre_frequency_hz': 1.5e9,
        'trace_offsets_m': _offsets(0.24, 0.02),
    },
    {
        'name': 'metal_sand',
        'description': '82 mm mortar round (metal, PEC, lying across the scan line) top '
                       '0.15 m deep in dry sand (eps 4, 0.001 S/m)',
        # docs/sources.md: dry sand eps 3-5, ~0.001 S/m; 82 mm mortar round, ~2.5 kg steel
        'soil': {'name': 'dry_sand', 'permittivity': 4.0, 'conductivity': 0.001},
        'target': {'name': 'mortar82', 'kind': 'UXO', 'model': '82 mm mortar',
                   'material': 'pec', 'shape': 'circle', 'permittivity': 1.0,
                   'conductivity': math.inf, 'depth_m': 0.15, 'diameter_m': 0.082,
                   'height_m': 0.082, 'metal_mass_kg': 2.5, 'explosive_mass_kg': 0.4},
        'antenna_height_m': 0.05,
        'tx_rx_offset_m': 0.02,
        'centre_frequency_hz': 1.5e9,
        'trace_offsets_m': _offsets(0.24, 0.02),
    },
]


def case_by_name(name: str) -> Dict[str, Any]:
    """Return the case definition called ``name``."""
    for case in CASES:
        if case['name'] == name:
            return case
    raise KeyError(f'unknown case {name!r}; known: {[c["name"] for c in CASES]}')


# ===========================================================================================
# gprMax side
# ===========================================================================================

def _domain(case: Dict[str, Any], cell: float) -> Dict[str, float]:
    """Domain size and the positions (gprMax coordinates) of surface and target centre."""
    offsets = case['trace_offsets_m']
    half = max(abs(o) for o in offsets) + case['tx_rx_offset_m'] / 2.0 + SIDE_MARGIN_M
    width = 2.0 * half
    surface_y = SOIL_THICKNESS_M
    antenna_y = surface_y + case['antenna_height_m']
    height = antenna_y + AIR_ABOVE_ANTENNA_M

    def snap(v: float) -> float:
        return round(round(v / cell) * cell, 6)

    return {'width': snap(width), 'height': snap(height), 'surface_y': snap(surface_y),
            'antenna_y': snap(antenna_y), 'centre_x': snap(half)}


def gprmax_input(case: Dict[str, Any], offset: Optional[float], scene: str,
                 cell: float = CELL_M) -> str:
    """Return a gprMax input file (text) for one A-scan.

    :param offset: antenna midpoint relative to the target centre, m.
    :param scene: ``'target'`` (soil and target), ``'ground'`` (soil only) or ``'air'``
        (free space: the direct Tx-Rx coupling, removed from the ground-bounce pick).
    """
    dom = _domain(case, cell)
    soil = case['soil']
    tgt = case['target']
    x_mid = dom['centre_x'] + (offset or 0.0)
    half_sep = case['tx_rx_offset_m'] / 2.0
    lines = [
        f'#title: {case["name"]} {scene} x={offset or 0.0:+.3f}',
        '#domain_mode: TM',
        f'#domain: {dom["width"]:.4f} {dom["height"]:.4f} inf',
        f'#dx_dy_dz: {cell} {cell} {cell}',
        f'#time_window: {TIME_WINDOW_S:.3e}',
        f'#material: {soil["permittivity"]} {soil["conductivity"]} 1 0 {soil["name"]}',
        f'#waveform: ricker 1 {case["centre_frequency_hz"]:.4e} src_wavelet',
        f'#hertzian_dipole: z {x_mid - half_sep:.4f} {dom["antenna_y"]:.4f} inf src_wavelet',
        f'#rx: {x_mid + half_sep:.4f} {dom["antenna_y"]:.4f} inf',
    ]
    if scene in ('target', 'ground'):
        lines.append(f'#box: 0 0 0 {dom["width"]:.4f} {dom["surface_y"]:.4f} inf {soil["name"]}')
    if scene == 'target':
        top = dom['surface_y'] - tgt['depth_m']
        cx = dom['centre_x']
        if tgt['material'] == 'pec':
            mat = 'pec'
        else:
            mat = tgt['name']
            lines.append(f'#material: {tgt["permittivity"]} {tgt["conductivity"]} 1 0 {mat}')
        if tgt['shape'] == 'box':
            # a flat cylinder (PMN) cut through its axis: a rectangle in the 2D plane
            half_w = tgt['diameter_m'] / 2.0
            lines.append(f'#box: {cx - half_w:.4f} {top - tgt["height_m"]:.4f} 0 '
                         f'{cx + half_w:.4f} {top:.4f} inf {mat}')
        elif tgt['shape'] == 'circle':
            # a long cylinder lying across the scan line: a circle in the 2D plane
            r = tgt['diameter_m'] / 2.0
            lines.append(f'#cylinder: {cx:.4f} {top - r:.4f} 0 {cx:.4f} {top - r:.4f} inf '
                         f'{r:.4f} {mat}')
        else:
            raise ValueError(f'unknown target shape {tgt["shape"]!r}')
    return '\n'.join(lines) + '\n'


def _read_ez(path: pathlib.Path) -> Tuple[np.ndarray, float]:
    import h5py
    with h5py.File(path, 'r') as f:
        ds = f['rxs/rx1/Ez']
        data = np.asarray(ds, dtype=float)
        dt = float(ds.attrs.get('SampleInterval', f.attrs['dt']))
    return data, dt


def run_gprmax_case(case: Dict[str, Any], workdir: pathlib.Path, cell: float = CELL_M,
                    log=print, offsets: Optional[Sequence[float]] = None) -> Dict[str, Any]:
    """Run every A-scan of one case with gprMax; return the raw Ez traces.

    :param offsets: run only these trace offsets (same domain); all of the case's if None.
    :returns: ``{'dt': s, 'air': (S,), 'ground': (S,), 'target': (N, S)}``.
    """
    import gprMax  # imported here: only needed with --run-gprmax

    workdir.mkdir(parents=True, exist_ok=True)
    runs: List[Tuple[str, Optional[float]]] = [('air', None), ('ground', None)]
    runs += [('target', o) for o in (case['trace_offsets_m'] if offsets is None else offsets)]
    traces: Dict[str, Any] = {'target': []}
    dt = None
    for i, (scene, offset) in enumerate(runs):
        stem = f'{case["name"]}_{scene}' + ('' if offset is None else f'_{i:03d}')
        infile = workdir / f'{stem}.in'
        outfile = workdir / f'{stem}.h5'
        text = gprmax_input(case, offset, scene, cell)
        t0 = time.monotonic()
        # An identical input with its output already in the workdir is not run again.
        reused = outfile.is_file() and infile.is_file() and infile.read_text() == text
        if not reused:
            outfile.unlink(missing_ok=True)
            infile.write_text(text)
            gprMax.run(inputfile=str(infile), n=1, log_level=40, hide_progress_bars=True)
        data, dt = _read_ez(outfile)
        where = '' if offset is None else f' x={offset:+.2f} m'
        log(f'  gprMax {case["name"]}: model {i + 1}/{len(runs)} ({scene}{where}) '
            + ('reused' if reused else f'{time.monotonic() - t0:.1f} s'))
        if scene == 'target':
            traces['target'].append(data)
        else:
            traces[scene] = data
    traces['target'] = np.vstack(traces['target'])
    traces['dt'] = dt
    return traces


# ===========================================================================================
# Picking (shared by both models)
# ===========================================================================================

def envelope(trace: np.ndarray) -> np.ndarray:
    """Return the instantaneous amplitude (magnitude of the analytic signal) of a trace."""
    return np.abs(hilbert(np.asarray(trace, dtype=float)))


def pick_peak(env: np.ndarray, dt: float, t_min: float = 0.0,
              t_max: float = math.inf,
              rel_threshold: float = PICK_RELATIVE_THRESHOLD) -> Tuple[float, float]:
    """Pick the first envelope peak in ``[t_min, t_max]`` reaching ``rel_threshold`` of the max.

    The peak time is refined by a parabola through the three samples around it (sub-sample
    accuracy, so a 0.04 ns and a 0.005 ns trace are picked alike).

    :returns: (time in s from sample 0, envelope value at the peak); (nan, 0) if the
        window is empty.
    """
    n = len(env)
    i0 = max(int(math.ceil(t_min / dt)), 1)
    i1 = min(int(math.floor(t_max / dt)) if math.isfinite(t_max) else n - 2, n - 2)
    if i1 <= i0:
        return math.nan, 0.0
    window = env[i0:i1 + 1]
    level = rel_threshold * float(window.max())
    peak = None
    for i in range(i0, i1 + 1):
        if env[i] >= level and env[i] >= env[i - 1] and env[i] >= env[i + 1]:
            peak = i
            break
    if peak is None:
        peak = i0 + int(np.argmax(window))
    y0, y1, y2 = env[peak - 1], env[peak], env[peak + 1]
    denom = y0 - 2.0 * y1 + y2
    frac = 0.5 * (y0 - y2) / denom if denom != 0.0 else 0.0
    frac = float(np.clip(frac, -0.5, 0.5))
    return (peak + frac) * dt, float(y1 - 0.25 * (y0 - y2) * frac)


def pick_bscan(ground_bounce: np.ndarray, target_response: np.ndarray,
               dt: float) -> Dict[str, Any]:
    """Pick the ground bounce and the target's reflection time per trace.

    :param ground_bounce: one trace holding only the ground reflection (direct coupling
        removed).
    :param target_response: N x S traces holding only the target's response (the
        target-free trace at the same position subtracted).
    :returns: ``t_ground_s``, ``t_target_s`` (per trace, nan where too weak) and
        ``delay_s`` = ``t_target_s - t_ground_s``.
    """
    t_ground, _ = pick_peak(envelope(ground_bounce), dt)
    envs = np.array([envelope(tr) for tr in np.atleast_2d(target_response)])
    t_start = t_ground + TARGET_WINDOW_GUARD_S
    strongest = float(envs[:, int(t_start / dt):].max())
    times, amps = [], []
    for env in envs:
        t, a = pick_peak(env, dt, t_min=t_start)
        if a < PICK_MIN_RELATIVE_AMPLITUDE * strongest:
            t = math.nan
        times.append(t)
        amps.append(a / strongest if strongest > 0 else 0.0)
    times_arr = np.array(times)
    return {'t_ground_s': t_ground, 't_target_s': times_arr,
            'delay_s': times_arr - t_ground, 'relative_amplitude': np.array(amps)}


def picks_from_gprmax(raw: Dict[str, Any]) -> Dict[str, Any]:
    """Pick a gprMax run: ground bounce = ground - air, target = target - ground (per trace)."""
    bounce = raw['ground'] - raw['air']
    response = raw['target'] - raw['ground'][None, :]
    return pick_bscan(bounce, response, raw['dt'])


# ===========================================================================================
# Analytic references (what the comparison's residuals are explained with)
# ===========================================================================================

def straight_ray_delay(case: Dict[str, Any], offsets: Sequence[float]) -> np.ndarray:
    """Delay after the ground bounce of a point reflector at the target's top, straight rays.

    ``2 sqrt(d^2 + x^2) / v`` with ``v = c / sqrt(eps_soil)``: the embedded model's formula
    before surface refraction was added, ``t = 2h/c + 2 sqrt(d^2 + x^2)/v``, minus its
    ground-bounce time ``2h/c`` (kept as the "no refraction" reference).
    """
    v = C0 / math.sqrt(case['soil']['permittivity'])
    d = case['target']['depth_m']
    x = np.asarray(offsets, dtype=float)
    return 2.0 * np.sqrt(d * d + x * x) / v


def refracted_delay(case: Dict[str, Any], offsets: Sequence[float],
                    finite_size: bool = True) -> np.ndarray:
    """Delay after the ground bounce with Snell refraction at the surface (Fermat).

    With ``finite_size`` the reflector is the target's real cross-section (the nearest
    point of the circle, or of the flat top of the box), otherwise a point at the top.
    Monostatic, minimum two-way time over the surface crossing point (brute force on a
    0.1 mm grid, plenty for ns-level comparisons).
    """
    h = case['antenna_height_m']
    eps = case['soil']['permittivity']
    v = C0 / math.sqrt(eps)
    tgt = case['target']
    d = tgt['depth_m']
    out = []
    for x in np.asarray(offsets, dtype=float):
        # candidate reflection points (horizontal position, depth)
        if finite_size and tgt['shape'] == 'box':
            half = tgt['diameter_m'] / 2.0
            px = np.array([float(np.clip(x, -half, half))])
            pd = np.array([d])
        elif finite_size and tgt['shape'] == 'circle':
            r = tgt['diameter_m'] / 2.0
            ang = np.linspace(-math.pi / 2, math.pi / 2, 721)
            px = r * np.sin(ang)
            pd = d + r - r * np.cos(ang)
        else:
            px = np.array([0.0])
            pd = np.array([d])
        best = math.inf
        for qx, qd in zip(px, pd):
            s = np.linspace(min(x, qx), max(x, qx), 2001)   # surface crossing point
            one_way = np.sqrt(h * h + (x - s) ** 2) / C0 + np.sqrt(qd * qd + (s - qx) ** 2) / v
            best = min(best, 2.0 * float(one_way.min()))
        out.append(best - 2.0 * h / C0)
    return np.array(out)


# ===========================================================================================
# Comparison
# ===========================================================================================

def compare(reference: Dict[str, Any], model: Dict[str, Any],
            apex_ref_ns: Optional[float] = None) -> Dict[str, float]:
    """Compare one case's picks (reference = gprMax, model = embedded).

    * apex delay error: ``(dt_model(0) - dt_ref(0)) / dt_ref(0)`` in %, where ``dt`` is the
      target pick minus the ground-bounce pick of the same B-scan (so wavelet and source
      delays cancel); ``apex_ref_ns`` replaces ``dt_ref(0)`` (the finer apex-only run);
    * hyperbola RMS error: RMS over the traces picked in both of
      ``(dt_model(x) - dt_model(0)) - (dt_ref(x) - dt_ref(0))``, in ns (the shape, with the
      apex error removed).
    """
    x_ref = np.asarray(reference['offsets_m'], dtype=float)
    x_mod = np.asarray(model['offsets_m'], dtype=float)
    if x_ref.shape != x_mod.shape or not np.allclose(x_ref, x_mod):
        raise ValueError('reference and model were picked at different offsets')
    d_ref = np.asarray(reference['delay_ns'], dtype=float)
    d_mod = np.asarray(model['delay_ns'], dtype=float)
    apex = int(np.argmin(np.abs(x_ref)))
    apex_ref = float(d_ref[apex]) if apex_ref_ns is None else float(apex_ref_ns)
    apex_err_pct = 100.0 * (d_mod[apex] - apex_ref) / apex_ref
    m_ref = d_ref - d_ref[apex]
    m_mod = d_mod - d_mod[apex]
    both = np.isfinite(m_ref) & np.isfinite(m_mod)
    resid = m_mod[both] - m_ref[both]
    rms = float(np.sqrt(np.mean(resid ** 2))) if resid.size else math.nan
    return {'apex_delay_ref_ns': apex_ref, 'apex_delay_model_ns': float(d_mod[apex]),
            'apex_error_pct': float(apex_err_pct), 'hyperbola_rms_ns': rms,
            'hyperbola_max_abs_ns': float(np.max(np.abs(resid))) if resid.size else math.nan,
            'traces_compared': int(both.sum())}


def picks_to_record(case: Dict[str, Any], picks: Dict[str, Any], dt: float) -> Dict[str, Any]:
    """Round a pick dict into the JSON-friendly record stored in the reference file."""
    def ns(values):
        return [None if not np.isfinite(v) else round(float(v) / NS, 5)
                for v in np.atleast_1d(values)]
    return {'offsets_m': list(case['trace_offsets_m']),
            't_ground_ns': round(picks['t_ground_s'] / NS, 5),
            't_target_ns': ns(picks['t_target_s']),
            'delay_ns': ns(picks['delay_s']),
            'relative_amplitude': [round(float(a), 4) for a in picks['relative_amplitude']],
            'sample_interval_ns': round(dt / NS, 6)}


def _nan(values: Sequence[Optional[float]]) -> np.ndarray:
    return np.array([math.nan if v is None else v for v in values], dtype=float)


# ===========================================================================================
# Embedded model side
# ===========================================================================================

def embedded_bscan(case: Dict[str, Any]) -> Dict[str, Any]:
    """Synthesise the case with the embedded model (noise, roughness and clutter off).

    Returns the same structure as :func:`run_gprmax_case` (``dt`` in s, ``air`` = the
    model's direct coupling and ringing, ``ground`` = air plus ground bounce, ``target`` =
    N traces with the target), so both are picked by the same code.
    """
    from demining_sim.sensors.gpr import GprModel, GprParams
    from demining_sim.spatial import ItemTable
    from demining_bringup.contract.world import BuriedItem, ItemKind

    tgt = case['target']
    params = GprParams(gpr_num_channels=1, gpr_noise=0.0,
                       gpr_antenna_height_m=case['antenna_height_m'],
                       gpr_center_freq_ghz=case['centre_frequency_hz'] / 1e9)
    if tgt['shape'] == 'circle':
        # a mortar round lying across the scan line: long horizontally, round vertically
        diameter, height = 0.33, tgt['diameter_m']
    else:
        diameter, height = tgt['diameter_m'], tgt['height_m']
    item = BuriedItem(name=tgt['name'], kind=ItemKind(tgt['kind']), x=0.0, y=0.0,
                      depth=tgt['depth_m'], diameter=diameter, height=height,
                      metal_mass=tgt['metal_mass_kg'],
                      explosive_mass=tgt['explosive_mass_kg'],
                      permittivity=tgt['permittivity'] if tgt['material'] != 'pec' else 1.0,
                      model=tgt['model'])
    soil = case['soil']
    x = np.asarray(case['trace_offsets_m'], dtype=float)
    zeros = np.zeros_like(x)
    heights = np.full_like(x, case['antenna_height_m'])
    channels = np.zeros(x.size, dtype=np.int64)
    out = {}
    for scene, items in (('ground', []), ('target', [item])):
        model = GprModel(params, ItemTable(items), soil['permittivity'],
                         soil['conductivity'], 0.0, np.random.default_rng(0))
        out[scene] = model.synthesize(x, zeros, heights, channels, noise=False)
        out['air'] = model.background[0].copy()
    out['ground'] = out['ground'][0]
    out['dt'] = params.gpr_sample_interval_ns * NS
    return out


def embedded_analytic(case: Dict[str, Any]) -> Dict[str, float]:
    """The embedded model's own analytic apex time (``apex_time_ns``) for the case."""
    from demining_sim.sensors.gpr import apex_time_ns
    h = case['antenna_height_m']
    t_apex = apex_time_ns(h, case['target']['depth_m'], case['soil']['permittivity'])
    t_ground = 2.0 * h / (C0 * NS)
    return {'apex_time_ns': t_apex, 'ground_time_ns': t_ground,
            'apex_delay_ns': t_apex - t_ground}


# ===========================================================================================
# Reference file, table, figure
# ===========================================================================================

def load_reference(path: pathlib.Path = REFERENCE_FILE) -> Dict[str, Any]:
    """Read the stored gprMax picks."""
    with open(path, 'r', encoding='utf-8') as f:
        ref = json.load(f)
    if ref.get('schema_version') != SCHEMA_VERSION:
        raise ValueError(f'{path}: schema_version {ref.get("schema_version")!r}, '
                         f'expected {SCHEMA_VERSION}')
    for case in ref['cases'].values():
        case['gprmax']['delay_ns'] = _nan(case['gprmax']['delay_ns'])
    return ref


def _json_case(case: Dict[str, Any]) -> Dict[str, Any]:
    out = json.loads(json.dumps(case, default=str))
    if math.isinf(case['target']['conductivity']):
        out['target']['conductivity'] = 'inf'
    return out


def write_reference(results: Dict[str, Dict[str, Any]], cell: float,
                    path: pathlib.Path = REFERENCE_FILE) -> None:
    """Store the gprMax picks (not the fields) with the case definitions."""
    import gprMax
    doc = {
        'schema_version': SCHEMA_VERSION,
        'generator': 'bench/gpr_vs_gprmax.py --run-gprmax --write-reference',
        'gprmax_version': gprMax.__version__,
        'grid': {'cell_m': cell, 'time_window_ns': TIME_WINDOW_S / NS, 'mode': '2D TMz',
                 'pml_cells': PML_CELLS},
        'picking': {'method': 'first envelope (|analytic signal|) peak reaching '
                              f'{PICK_RELATIVE_THRESHOLD} of the window maximum, parabolic '
                              'sub-sample refinement',
                    'ground_bounce': 'A-scan (soil, no target) minus A-scan (free space)',
                    'target': 'A-scan (soil and target) minus A-scan (soil, no target)',
                    'min_relative_amplitude': PICK_MIN_RELATIVE_AMPLITUDE,
                    'delay': 't_target - t_ground, ns'},
        'cases': {name: {'definition': _json_case(case_by_name(name)),
                         'gprmax': r} for name, r in results.items()},
    }
    if path.is_file():
        # keep the finer apex-only picks (--apex-only --write-reference): a B-scan refresh
        # does not invalidate them
        with open(path, 'r', encoding='utf-8') as f:
            old = json.load(f)
        for name, case in doc['cases'].items():
            apex = old.get('cases', {}).get(name, {}).get('gprmax_apex')
            if apex is not None:
                case['gprmax_apex'] = apex
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(doc, f, indent=1)
        f.write('\n')


def render(name: str, ref_raw: Optional[Dict[str, Any]], mod_raw: Dict[str, Any],
           ref_rec: Dict[str, Any], mod_rec: Dict[str, Any], out_dir: pathlib.Path) -> str:
    """Draw the gprMax and embedded B-scans (target response) side by side with the picks."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    x = np.asarray(ref_rec['offsets_m'])
    panels = []
    if ref_raw is not None:
        panels.append(('gprMax 2D FDTD', ref_raw))
    panels.append(('embedded model', mod_raw))
    fig, axes = plt.subplots(1, len(panels) + 1, figsize=(5 * (len(panels) + 1), 4.5))
    for ax, (title, raw) in zip(axes, panels):
        resp = raw['target'] - raw['ground'][None, :]
        t_ns = np.arange(resp.shape[1]) * raw['dt'] / NS
        lim = float(np.abs(resp).max()) or 1.0
        step = x[1] - x[0] if x.size > 1 else 0.02
        ax.imshow(resp.T, aspect='auto', cmap='seismic', vmin=-lim, vmax=lim,
                  extent=[x[0] - step / 2, x[-1] + step / 2, t_ns[-1], t_ns[0]])
        ax.set_ylim(TIME_WINDOW_S / NS, 0.0)
        ax.set_title(f'{name}: {title}')
        ax.set_xlabel('antenna offset from target, m')
        # gprMax's Ricker peaks sqrt(2)/f after t = 0, the model's at t = 0
        ax.set_ylabel('time, ns (gprMax: + source delay)' if raw is ref_raw else 'time, ns')
    ax = axes[-1]
    ax.plot(x, ref_rec['delay_ns'], 'o-', label='gprMax')
    ax.plot(x, mod_rec['delay_ns'], 's--', label='embedded')
    case = case_by_name(name)
    ax.plot(x, refracted_delay(case, x) / NS, 'k:', label='ray theory, refraction + shape')
    ax.invert_yaxis()
    ax.set_xlabel('antenna offset from target, m')
    ax.set_ylabel('target delay after ground bounce, ns')
    ax.set_title('picked hyperbolas')
    ax.legend()
    fig.tight_layout()
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f'gpr_vs_gprmax_{name}.png'
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return str(path)


def format_table(rows: List[Dict[str, Any]]) -> str:
    """Plain-text table of the comparison."""
    head = (f'{"case":<11} {"apex dt gprMax":>14} {"apex dt model":>13} {"apex err":>9} '
            f'{"hyp RMS":>8} {"hyp max":>8} {"traces":>6}')
    unit = f'{"":<11} {"ns":>14} {"ns":>13} {"%":>9} {"ns":>8} {"ns":>8} {"":>6}'
    lines = [head, unit]
    for r in rows:
        lines.append(f'{r["case"]:<11} {r["apex_delay_ref_ns"]:>14.4f} '
                     f'{r["apex_delay_model_ns"]:>13.4f} {r["apex_error_pct"]:>+9.2f} '
                     f'{r["hyperbola_rms_ns"]:>8.4f} '
                     f'{r["hyperbola_max_abs_ns"]:>8.4f} {r["traces_compared"]:>6d}')
    return '\n'.join(lines)


def _cached_raw(folder: pathlib.Path, ref_rec: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """The gprMax fields of an earlier --run-gprmax, if they match the stored picks."""
    path = folder / RAW_CACHE
    if not path.is_file():
        return None
    raw = dict(np.load(path))
    raw['dt'] = float(raw['dt'])
    if raw['target'].shape[0] != len(ref_rec['offsets_m']):
        return None
    return raw


def _apex_only(names: Sequence[str], args: argparse.Namespace) -> int:
    """Run gprMax for the apex trace only; compare with (or store into) the reference."""
    reference = load_reference()
    fine = {}
    for name in names:
        case = case_by_name(name)
        raw = run_gprmax_case(case, args.workdir / f'{name}_apex', args.cell,
                              log=lambda s: print(s, flush=True), offsets=[0.0])
        picks = picks_from_gprmax(raw)
        delay = float(picks['delay_s'][0]) / NS
        fine[name] = {'cell_m': args.cell, 't_ground_ns': round(picks['t_ground_s'] / NS, 5),
                      't_target_ns': round(float(picks['t_target_s'][0]) / NS, 5),
                      'delay_ns': round(delay, 5)}
        ref = reference['cases'][name]['gprmax']
        stored = ref['delay_ns'][int(np.argmin(np.abs(np.asarray(ref['offsets_m']))))]
        cell_ref = reference['grid']['cell_m']
        print(f'{name}: apex delay {delay:.4f} ns at {args.cell * 1000:.1f} mm cells, B-scan '
              f'{stored:.4f} ns at {cell_ref * 1000:.1f} mm ({100 * (delay / stored - 1):+.2f} %)')
    if args.write_reference:
        with open(REFERENCE_FILE, 'r', encoding='utf-8') as f:
            doc = json.load(f)
        for name, rec in fine.items():
            doc['cases'][name]['gprmax_apex'] = rec
        with open(REFERENCE_FILE, 'w', encoding='utf-8') as f:
            json.dump(doc, f, indent=1)
            f.write('\n')
        print(f'wrote the apex picks into {REFERENCE_FILE}')
    return 0


def apex_reference(ref_case: Dict[str, Any]) -> Tuple[float, float]:
    """The reference apex delay (ns) and its cell size (m).

    The finer apex-only run (``gprmax_apex``, 1 mm) if stored, else the B-scan's apex trace.
    """
    fine = ref_case.get('gprmax_apex')
    if fine is not None:
        return float(fine['delay_ns']), float(fine['cell_m'])
    rec = ref_case['gprmax']
    apex = int(np.argmin(np.abs(np.asarray(rec['offsets_m']))))
    return float(rec['delay_ns'][apex]), float('nan')


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Command line: compare, print the table, draw the figures."""
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--run-gprmax', action='store_true',
                    help='re-run gprMax (needs `pip install gprmax`) instead of using the '
                         'stored reference picks')
    ap.add_argument('--write-reference', action='store_true',
                    help=f'with --run-gprmax: store the new picks in {REFERENCE_FILE}')
    ap.add_argument('--cell', type=float, default=CELL_M, help='gprMax cell size, m')
    ap.add_argument('--workdir', type=pathlib.Path, default=pathlib.Path('/tmp/gprmax_work'),
                    help='gprMax input/output files go here')
    ap.add_argument('--out', type=pathlib.Path, default=None,
                    help='folder for the side-by-side B-scan PNGs (none if omitted)')
    ap.add_argument('--case', action='append', choices=[c['name'] for c in CASES],
                    help='run only this case (repeatable)')
    ap.add_argument('--apex-only', action='store_true',
                    help='with --run-gprmax: run only the trace above the target and print '
                         'its apex delay (a quick grid-convergence check, e.g. --cell 0.001)')
    args = ap.parse_args(argv)
    names = args.case or [c['name'] for c in CASES]
    if args.apex_only:
        if not args.run_gprmax:
            print('--apex-only needs --run-gprmax', file=sys.stderr)
            return 2
        return _apex_only(names, args)

    reference = None if args.run_gprmax else load_reference()
    rows, fresh = [], {}
    for name in names:
        case = case_by_name(name)
        ref_raw = None
        if args.run_gprmax:
            print(f'{name}: running gprMax ({len(case["trace_offsets_m"]) + 2} models, '
                  f'cell {args.cell * 1000:.1f} mm)', flush=True)
            ref_raw = run_gprmax_case(case, args.workdir / name, args.cell,
                                      log=lambda s: print(s, flush=True))
            np.savez_compressed(args.workdir / name / RAW_CACHE, **ref_raw)
            ref_rec = picks_to_record(case, picks_from_gprmax(ref_raw), ref_raw['dt'])
            fresh[name] = ref_rec
            ref_rec = dict(ref_rec, delay_ns=_nan(ref_rec['delay_ns']))
        else:
            ref_rec = reference['cases'][name]['gprmax']
            ref_raw = _cached_raw(args.workdir / name, ref_rec)
        mod_raw = embedded_bscan(case)
        mod_picks = pick_bscan(mod_raw['ground'] - mod_raw['air'],
                               mod_raw['target'] - mod_raw['ground'][None, :], mod_raw['dt'])
        mod_rec = picks_to_record(case, mod_picks, mod_raw['dt'])
        mod_rec['delay_ns'] = _nan(mod_rec['delay_ns'])
        apex_ref = None if args.run_gprmax else apex_reference(reference['cases'][name])[0]
        row = dict(case=name, **compare(ref_rec, mod_rec, apex_ref))
        row['apex_error_bscan_pct'] = compare(ref_rec, mod_rec)['apex_error_pct']
        analytic = embedded_analytic(case)
        row['analytic_apex_delay_ns'] = analytic['apex_delay_ns']
        rows.append(row)
        if args.out is not None:
            print(f'  figure: {render(name, ref_raw, mod_raw, ref_rec, mod_rec, args.out)}')
    print()
    print(format_table(rows))
    print()
    if not args.run_gprmax:
        print('apex reference: the stored apex-only run (' + ', '.join(
            f'{n}: {apex_reference(reference["cases"][n])[1] * 1000:.1f} mm cells'
            for n in names) + f'); against the {reference["grid"]["cell_m"] * 1000:.1f} mm '
            'B-scans\' apex traces the apex errors are ' + ', '.join(
                f'{r["case"]} {r["apex_error_bscan_pct"]:+.2f} %' for r in rows))
    for r in rows:
        print(f'{r["case"]}: analytic apex delay (gpr.apex_time_ns - 2h/c) '
              f'{r["analytic_apex_delay_ns"]:.4f} ns, '
              f'{100 * (r["analytic_apex_delay_ns"] / r["apex_delay_ref_ns"] - 1):+.2f} % '
              f'vs gprMax')
    print(f'\nacceptance: |apex err| <= {APEX_TOLERANCE_PCT} %, hyperbola RMS <= '
          f'{HYPERBOLA_RMS_TOLERANCE_NS} ns')
    if args.write_reference:
        if not args.run_gprmax:
            print('--write-reference needs --run-gprmax', file=sys.stderr)
            return 2
        write_reference(fresh, args.cell)
        print(f'wrote {REFERENCE_FILE}')
    cmd = 'python bench/gpr_vs_gprmax.py ' + ' '.join(
        shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    print(f'reproduce: cd {ROOT} && {cmd.strip()}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
