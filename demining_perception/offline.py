"""Offline GPR files through the online processing chain (``demine gpr``; no rclpy).

Readers give one B-scan (traces along x, samples in time) from

* **gprMax** output (HDF5, Warren, Giannopoulos & Giannakis 2016, gprmax.com docs "Output
  file"; ``.out`` in version 3, ``.h5`` in 4): a merged B-scan ``*_merged.out`` (``rxs/rx1/Ez``
  of S x N) or one A-scan per file (several files in order make the B-scan); the sample
  interval is the root attribute ``dt`` (s); a trace's position is midway between the
  transmitter (``srcs/src1``) and receiver (``rxs/rx1``) attribute ``Position``, a merged
  file's step the root attribute ``rxsteps`` (cells) times ``dx_dy_dz``; the ``--step`` and
  ``--start`` flags override. The receiver is ``rx1`` (else the file's only or first one);
  the field component is the one given, else (``auto``) the electric component with the most
  energy: ``Ez`` for the usual z-polarised dipole, ``Ey`` or ``Ex`` for a model whose source
  is polarised so (chosen on the first file, kept for the rest of an A-scan series);
* **GSSI DZT**, read here (no dependency): a 1024-byte header per channel, then the scans,
  each channel's samples in turn, as 8-bit or 16-bit unsigned or 32-bit signed integers
  (GSSI, *SIR-3000 Manual* MN72-433, appendix "DZT file format"; the open reader
  ``readgssi``, Nesbit et al. 2022, JOSS 7(70) 4004, was the reference for the fields'
  offsets). The time window is ``rhf_range`` (ns) over ``rh_nsamp`` samples, the trace step
  1 / ``rhf_spm`` (scans per metre; ``--step`` when the file was taken on time, not
  distance), the channel ``--channel``. The first two samples of every scan hold its mark
  word, not radar data: they are set to the third.

* **the stack's own recordings** (``demine run --record``: ``mission.mcap``) are replayed
  through the GPR processor node's component by the composition layer
  (:mod:`demining_bringup.gpr_replay`), which uses this module's classification, image and
  output.

The files' traces are fed as :class:`GprScan` batches through :class:`GprProcessor`, the online
node's core, with the antenna moving along the map x axis at the trace positions, and the
scan is flushed at its end (objects in the last ~0.3 m are reported). A short file (at least
``MIN_TRACES`` traces but no more than the background window) has one background for the
whole file (:func:`quiet_traces`): the window is primed, before the first trace, with the
file's quietest traces (least energy below the surface), not refreshed afterwards, and no
pick is made on the priming traces. A median over the whole file would take a wide flat
reflector for background wherever it covers more than half the file (a 32 cm AT body in a
39 cm file: only its two ends were left, picked as two objects of the wrong polarity). Each
pick is classified by the fusion's likelihood model as a GPR-only track
(:func:`demining_perception.fusion.core.classify`).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import struct
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from demining_bringup.contract.datatypes import (Detection, DetectionKind, GprScan,
                                                 VehicleState)
from demining_bringup.contract.errors import ConfigError
from demining_perception.fusion.core import FusionParams, Track, classify
from demining_perception.gpr.processing import (C_M_PER_NS, GprParams, GprProcessor,
                                                envelope, pick_surface, render_bscan)
from demining_perception.pose_buffer import PoseBuffer

#: Fewest traces a file must have (a background needs at least this many; 40 traces at
#: 2 cm are 0.8 m of ground, twice the stack's reach either side of an apex).
MIN_TRACES = 40
#: Virtual trace rate of the replay, Hz (only orders the traces in time).
_REPLAY_HZ = 20.0
#: Traces per replayed batch (the simulator's 10 Hz batches of a 20 Hz radar).
_BATCH_TRACES = 2
#: Seconds per metre of the replay's pose track (any positive value; poses are exact).
_S_PER_M = 1.0
#: Seconds from s to ns.
_NS_PER_S = 1e9
#: Noise floor of a file's samples as a fraction of its largest one: a receiver's dynamic
#: range of 60 dB (Daniels 2004: GPR systems 60-100 dB). Without it, noise-free FDTD output
#: would be "whitened" by a zero noise level and every rounding residue would be a target.
_FILE_NOISE_FLOOR = 1e-3
#: A GPR-only track is classified as seen long after the sensors' wait (s).
_CLASSIFY_AFTER_S = 1e6
#: Time by which a stronger trace's apex must come later than an apex for it not to suppress
#: it (GprParams.apex_separation_ns), ns: half a period of the 1.5 GHz pulse (the spacing of
#: its lobes), beyond a flat top's apex jitter. A flank arrives after its apex, never before.
#: Off online, where the extra reports moved the fusion's report counts (GprParams).
APEX_SEPARATION_NS = 0.33
#: Fraction of a short file's traces, the quietest, whose median is its background: the
#: median is clear of targets wherever more than half of these are, i.e. when at least one
#: eighth of the file (5 of 40 traces) is free of echoes below the surface. Background
#: removal takes out whatever is the same on most traces, a horizontal reflector included
#: (Daniels 2004, on background removal); a quarter keeps a target that covers up to
#: seven eighths of a file (the 32 cm AT bodies of the 39 cm gprMax files, 33 of 40 traces).
QUIET_FRACTION = 0.25


@dataclasses.dataclass
class BScan:
    """One B-scan: ``traces`` N x S, ``dt_ns`` sample interval, ``x`` trace positions (m)."""

    path: str
    traces: np.ndarray
    dt_ns: float
    x: np.ndarray


def _gprmax_position(f: Any, rx_group: str) -> Optional[float]:
    """x of the file's (first) trace: midway between transmitter and receiver, m."""
    rx = f[rx_group].attrs.get('Position')
    if rx is None:
        return None
    src = f['srcs/src1'].attrs.get('Position') if 'srcs/src1' in f else None
    x = float(np.atleast_1d(rx)[0])
    return 0.5 * (x + float(np.atleast_1d(src)[0])) if src is not None else x


def _gprmax_step(f: Any) -> Optional[float]:
    """Trace step of a merged B-scan, m: ``rxsteps`` (cells) times the cell size ``dx``."""
    if 'rxsteps' not in f.attrs:
        return None
    steps = float(np.atleast_1d(f.attrs['rxsteps'])[0])
    if 'dx_dy_dz' in f.attrs:
        steps *= float(np.atleast_1d(f.attrs['dx_dy_dz'])[0])
    return steps if steps > 0.0 else None


#: Electric field components of a gprMax receiver, in the order ``auto`` prefers on a tie.
GPRMAX_COMPONENTS = ('Ez', 'Ey', 'Ex')
#: ``--component`` value that picks the component with the most energy.
AUTO_COMPONENT = 'auto'


def _gprmax_rx(f: Any) -> str:
    """The receiver group: ``rxs/rx1``, else the lowest-numbered one (KeyError: none)."""
    names = sorted(f['rxs'].keys(), key=lambda n: (len(n), n))
    if not names:
        raise KeyError('no receiver under rxs')
    return 'rxs/rx1' if 'rx1' in names else f'rxs/{names[0]}'


def _gprmax_field(f: Any, rx: str, component: str) -> Tuple[str, np.ndarray]:
    """(name, samples) of the receiver's ``component``, or with ``auto`` of the electric
    component with the most energy (KeyError: not there)."""
    if component != AUTO_COMPONENT:
        return component, np.asarray(f[f'{rx}/{component}'], dtype=np.float64)
    present = [c for c in GPRMAX_COMPONENTS if c in f[rx]]
    if not present:
        raise KeyError(f'no electric field component ({", ".join(GPRMAX_COMPONENTS)}) '
                       f'under {rx}')
    fields = [np.asarray(f[f'{rx}/{c}'], dtype=np.float64) for c in present]
    energy = [float(np.sum(np.square(np.nan_to_num(a)))) for a in fields]
    best = int(np.argmax(energy))
    return present[best], fields[best]


def read_gprmax(paths: Sequence[str], step_m: Optional[float] = None,
                start_m: Optional[float] = None, component: str = AUTO_COMPONENT) -> BScan:
    """Read gprMax output: one merged B-scan file, or A-scan files in trace order.

    Trace positions: the flags when given; else each A-scan file's own transmitter/receiver
    midpoint, or a merged file's first position plus ``rxsteps`` cells of ``dx``. The
    receiver and the component: the module docstring.

    :raises ConfigError: unreadable file, missing dataset or attribute, inconsistent files.
    """
    try:
        import h5py
    except ImportError as exc:          # declared in requirements/python.txt
        raise ConfigError(f'reading gprMax files needs h5py ({exc})') from exc
    columns: List[np.ndarray] = []
    positions: List[Optional[float]] = []
    dt = None
    file_step: Optional[float] = None
    for path in paths:
        try:
            with h5py.File(path, 'r') as f:
                rx = _gprmax_rx(f)
                component, data = _gprmax_field(f, rx, component)
                this_dt = float(f.attrs['dt'])
                file_step = _gprmax_step(f)
                positions.append(_gprmax_position(f, rx))
        except (OSError, KeyError) as exc:
            what = 'an electric field component' if component == AUTO_COMPONENT \
                else component
            raise ConfigError(f'{path}: not a gprMax output file with a receiver under rxs, '
                              f'{what} there and attribute dt ({exc})') from exc
        if dt is not None and abs(this_dt - dt) > 1e-18:
            raise ConfigError(f'{path}: dt {this_dt} differs from the first file\'s {dt}')
        dt = this_dt
        columns.append(data.reshape(len(data), -1))
    try:
        traces = np.hstack(columns).T
    except ValueError as exc:
        raise ConfigError(f'{paths[0]}: files of different lengths ({exc})') from exc
    n = len(traces)
    if step_m is None and len(paths) == n and len(paths) > 1 and None not in positions:
        x = np.asarray(positions, dtype=float)
        if start_m is not None:
            x = x - x[0] + start_m
    else:
        step = step_m if step_m is not None else file_step
        if step is None or not step > 0.0:
            raise ConfigError(f'{paths[0]}: no trace step in the file (rxsteps); give --step')
        x0 = start_m if start_m is not None else (positions[0] or 0.0)
        x = x0 + step * np.arange(n)
    if n > 1 and not np.all(np.diff(x) > 0.0):
        raise ConfigError(f'{paths[0]}: trace positions do not increase along the scan')
    return BScan(path=paths[0], traces=traces, dt_ns=dt * _NS_PER_S, x=x)


#: Bytes of a DZT header per channel (the data follow the last one's, or start at
#: ``rh_data`` kB when that is below 1024 and not inside the headers).
DZT_HEADER_BYTES = 1024
#: Header fields read: (name, struct format, byte offset), little-endian (module docstring).
_DZT_FIELDS = (('rh_tag', '<H', 0), ('rh_data', '<H', 2), ('rh_nsamp', '<H', 4),
               ('rh_bits', '<H', 6), ('rhf_spm', '<f', 14), ('rhf_range', '<f', 26),
               ('rh_nchan', '<H', 52))
#: The low byte of ``rh_tag`` in every DZT header (0x00ff; older files 0xfnff).
_DZT_TAG = 0x00FF
#: Sample types by ``rh_bits``: (numpy type, offset of an unsigned type's zero).
_DZT_TYPES = {8: (np.uint8, 2.0 ** 7), 16: (np.uint16, 2.0 ** 15), 32: (np.int32, 0.0)}
#: Most channels a DZT file holds (GSSI control units record up to 4; 16 is generous).
_DZT_MAX_CHANNELS = 16
#: Samples at the start of every scan that hold its mark word, not radar data.
_DZT_MARK_SAMPLES = 2


def dzt_header(raw: bytes, path: str) -> Dict[str, float]:
    """The DZT header fields this reader uses (:data:`_DZT_FIELDS`), checked.

    :raises ConfigError: too short, not a DZT header, or values no scan can have.
    """
    if len(raw) < DZT_HEADER_BYTES:
        raise ConfigError(f'{path}: {len(raw)} bytes, shorter than a DZT header '
                          f'({DZT_HEADER_BYTES})')
    h = {name: struct.unpack_from(fmt, raw, off)[0] for name, fmt, off in _DZT_FIELDS}
    if h['rh_tag'] & 0xFF != _DZT_TAG:
        raise ConfigError(f'{path}: not a GSSI DZT file (header tag {h["rh_tag"]:#06x})')
    if h['rh_bits'] not in _DZT_TYPES:
        raise ConfigError(f'{path}: DZT samples of {h["rh_bits"]} bits (8, 16 or 32 expected)')
    if not 1 <= h['rh_nchan'] <= _DZT_MAX_CHANNELS:
        raise ConfigError(f'{path}: DZT header says {h["rh_nchan"]} channels')
    if h['rh_nsamp'] <= _DZT_MARK_SAMPLES + 1:
        raise ConfigError(f'{path}: DZT header says {h["rh_nsamp"]} samples per scan')
    if not (math.isfinite(h['rhf_range']) and h['rhf_range'] > 0.0):
        raise ConfigError(f'{path}: DZT header has no time range (rhf_range)')
    return h


def read_dzt(path: str, step_m: Optional[float] = None,
             start_m: Optional[float] = None, channel: int = 0) -> BScan:
    """Read one channel of a GSSI DZT file (module docstring).

    :raises ConfigError: not a DZT file, no such channel, no whole scan, no trace step.
    """
    with open(path, 'rb') as fh:
        raw = fh.read()
    h = dzt_header(raw, path)
    nchan, nsamp = int(h['rh_nchan']), int(h['rh_nsamp'])
    if not 0 <= channel < nchan:
        raise ConfigError(f'{path}: no channel {channel} (the file has {nchan})')
    kb = h['rh_data'] if h['rh_data'] < DZT_HEADER_BYTES else nchan
    offset = DZT_HEADER_BYTES * max(kb, nchan)
    dtype, zero = _DZT_TYPES[int(h['rh_bits'])]
    scan_words = nchan * nsamp
    words = max(0, len(raw) - offset) // np.dtype(dtype).itemsize
    n_scans = words // scan_words
    if n_scans < 1:
        raise ConfigError(f'{path}: no whole scan after the DZT header')
    data = np.frombuffer(raw, dtype=dtype, count=n_scans * scan_words, offset=offset)
    traces = data.reshape(n_scans, scan_words)[:, channel * nsamp:(channel + 1) * nsamp]
    traces = traces.astype(np.float64) - zero
    traces[:, :_DZT_MARK_SAMPLES] = traces[:, _DZT_MARK_SAMPLES:_DZT_MARK_SAMPLES + 1]
    spm = float(h['rhf_spm'])
    step = step_m if step_m is not None else (1.0 / spm if math.isfinite(spm) and spm > 0.0
                                              else None)
    if step is None:
        raise ConfigError(f'{path}: DZT without distance calibration (rhf_spm); give --step')
    return BScan(path=path, traces=traces, dt_ns=float(h['rhf_range']) / nsamp,
                 x=(start_m or 0.0) + step * np.arange(n_scans))


def read(paths: Sequence[str], step_m: Optional[float] = None,
         start_m: Optional[float] = None, component: str = AUTO_COMPONENT,
         channel: int = 0) -> BScan:
    """Read one B-scan from ``paths`` (several ``.out`` A-scans, one merged file or one DZT;
    ``component`` for gprMax, ``channel`` for DZT)."""
    if not paths:
        raise ConfigError('no GPR file given')
    for p in paths:
        if not os.path.isfile(p):
            raise ConfigError(f'{p}: no such file')
    if all(p.lower().endswith('.dzt') for p in paths):
        if len(paths) != 1:
            raise ConfigError('give one DZT file at a time')
        scan = read_dzt(paths[0], step_m, start_m, channel)
    elif all(p.lower().endswith(('.out', '.h5', '.hdf5')) for p in paths):
        scan = read_gprmax(paths, step_m, start_m, component)
    else:
        raise ConfigError(f'{paths[0]}: unknown GPR file type (gprMax .out, GSSI .dzt or a '
                          'recording .mcap)')
    if not (math.isfinite(scan.dt_ns) and scan.dt_ns > 0.0):
        raise ConfigError(f'{scan.path}: sample interval {scan.dt_ns} ns (a positive finite '
                          'time is needed)')
    if len(scan.traces) < MIN_TRACES:
        raise ConfigError(f'{scan.path}: {len(scan.traces)} traces, at least {MIN_TRACES} '
                          'needed for a background')
    if not np.isfinite(scan.traces).all():
        raise ConfigError(f'{scan.path}: non-finite samples')
    return scan


def params_for(scan: BScan, permittivity: Any, antenna_height_m: Optional[float] = None,
               base: Optional[GprParams] = None) -> GprParams:
    """Processor parameters for a file: whole-file background when short, the permittivity
    given (a number) or estimated from the file's hyperbolas (``'auto'``: the default prior,
    every fit counts)."""
    base = base or GprParams()
    n = len(scan.traces)
    window = min(base.background_window_traces, n)
    # A short file's background is primed once (quiet_traces) and never refreshed: a refresh
    # would move it towards the median of the file, flat reflectors and all.
    refresh = window if n <= base.background_window_traces \
        else base.background_refresh_traces
    kw: Dict[str, Any] = dict(background_window_traces=window,
                              background_refresh_traces=refresh,
                              min_background_traces=min(base.min_background_traces, window),
                              noise_floor=max(base.noise_floor, _FILE_NOISE_FLOOR),
                              per_sample_noise=False,
                              apex_separation_ns=APEX_SEPARATION_NS,
                              # every trace of a file is data: none is resampled away
                              min_trace_step_m=min(base.min_trace_step_m,
                                                   0.5 * _trace_step(scan.x)))
    if antenna_height_m is not None:
        kw['antenna_height_m'] = antenna_height_m
    if permittivity == 'auto':
        kw.update(estimate_permittivity=True, velocity_min_fits=1)
    else:
        kw.update(estimate_permittivity=False, soil_permittivity=float(permittivity))
    return dataclasses.replace(base, **kw)


def process(scan: BScan, params: GprParams) -> Tuple[List[Detection], GprProcessor]:
    """Run the online chain over a B-scan; return the detections (x in file metres)."""
    proc = GprProcessor(params)
    poses = PoseBuffer(history_s=1e9, max_gap_s=1e9)
    x = np.asarray(scan.x, dtype=float)
    # Full scale = 1 (the noise floor is relative to it; units of a file are arbitrary).
    peak = float(np.max(np.abs(scan.traces))) or 1.0
    traces = scan.traces / peak
    order = np.arange(len(x))
    xs = x
    if len(x) <= params.background_window_traces:
        # Prime the background with the quietest traces (module docstring), at positions
        # one step apart before the first trace (every real trace then moves the antenna).
        quiet = quiet_traces(traces, scan.dt_ns, params)
        order = np.concatenate([np.resize(quiet, len(x)), order])
        xs = np.concatenate([x[0] - _trace_step(x) * np.arange(len(x), 0, -1), x])
    n = len(order)
    times = np.arange(n) / _REPLAY_HZ
    # The antenna is base_link itself, driven along map x through the trace positions.
    for t, xx in zip(times, xs):
        poses.add(VehicleState(stamp=float(t), x=float(xx), y=0.0, yaw=0.0))
    dets: List[Detection] = []
    for b0 in range(0, n, _BATCH_TRACES):
        idx = np.arange(b0, min(n, b0 + _BATCH_TRACES))
        stamp = float(times[idx[-1]])
        batch = GprScan(stamp=stamp, positions=np.zeros((len(idx), 3)),
                        time_offsets=times[idx] - stamp,
                        channels=np.zeros(len(idx), dtype=np.int64),
                        sample_interval_ns=scan.dt_ns,
                        amplitudes=traces[order[idx]].astype(np.float32))
        dets += proc.process(batch, poses)
    dets += proc.flush()
    lo = x[0] - 0.5 * _trace_step(x)
    return [d for d in dets if d.x >= lo], proc


def quiet_traces(traces: np.ndarray, dt_ns: float, params: GprParams) -> np.ndarray:
    """Indices of a file's quietest traces (:data:`QUIET_FRACTION` of them, at least one),
    quietest first: least energy from the depth window's top (``min_depth_m`` below each
    trace's surface pick) to the trace's end. The direct coupling and the ground bounce,
    the background proper, come before that; targets add energy there."""
    env = envelope(traces)
    surface = pick_surface(env, max(3, int(round(params.ground_search_max_ns / dt_ns))),
                           2.0 * params.antenna_height_m / C_M_PER_NS / dt_ns)
    top = np.ceil(surface + 2.0 * params.min_depth_m / params.velocity_m_per_ns / dt_ns)
    below = np.arange(traces.shape[1])[None, :] >= top[:, None]
    energy = np.where(below, traces * traces, 0.0).sum(axis=1)
    count = max(1, int(round(QUIET_FRACTION * len(traces))))
    return np.argsort(energy, kind='stable')[:count]


def _trace_step(x: np.ndarray) -> float:
    return float(np.median(np.diff(x))) if len(x) > 1 else 0.0


def classify_gpr_only(det: Detection) -> Tuple[DetectionKind, float]:
    """Kind and confidence of a lone GPR pick by the fusion's likelihood model."""
    t = Track(id=0, x=det.x, y=det.y, first_seen=0.0, last_seen=0.0)
    t.add(det, 0.0)
    return classify(t, FusionParams(), _CLASSIFY_AFTER_S)


def result(scan: BScan, dets: List[Detection], proc: GprProcessor) -> Dict[str, Any]:
    """The JSON object of a file (issue 12 layout)."""
    out = [pick_entry(d, proc.permittivity) for d in sorted(dets, key=lambda d: d.x)]
    for e in out:
        del e['y']                      # a file's picks lie along its own x axis
    return {'file': scan.path, 'traces': int(len(scan.traces)), 'detections': out}


def pick_entry(d: Detection, permittivity: float) -> Dict[str, Any]:
    """A pick's JSON entry (issue 12 layout, with its ``y``): position, depth, the fusion
    model's kind and confidence for a GPR-only track, polarity and the permittivity."""
    kind, conf = classify_gpr_only(d)
    return {'x': round(d.x, 4), 'y': round(d.y, 4), 'depth': round(d.depth, 4),
            'kind': kind.name, 'confidence': round(conf, 3),
            'polarity': '+' if d.polarity > 0 else '-' if d.polarity < 0 else '?',
            'permittivity': round(permittivity, 2)}


def render_png(scan: BScan, dets: List[Detection], params: GprParams, path: str, *,
               xlabel: str = 'x along the scan, m') -> None:
    """Write the B-scan (time-zero aligned, background removed, gained) with the picks, and
    below it the same migrated at the permittivity in use (``params.soil_permittivity``:
    :func:`~demining_perception.gpr.processing.migrate`), where each object is its apex."""
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib import pyplot as plt
    common = dict(gain_db_per_ns=params.gain_db_per_ns,
                  ground_search_max_ns=params.ground_search_max_ns,
                  antenna_height_m=params.antenna_height_m)
    images = [('B-scan', render_bscan(scan.traces, scan.dt_ns, **common)),
              (f'migrated at permittivity {params.soil_permittivity:.1f}',
               render_bscan(scan.traces, scan.dt_ns, x_m=scan.x,
                            migrate_permittivity=params.soil_permittivity,
                            migration_aperture_m=params.peak_half_window_m, **common))]
    fig, axes = plt.subplots(2, 1, figsize=(8, 7), sharex=True)
    v = C_M_PER_NS / math.sqrt(params.soil_permittivity)
    # The picture is aligned on the median surface pick (render_bscan): each pick is drawn
    # at that time plus its two-way time in the soil.
    picks = pick_surface(envelope(scan.traces),
                         max(3, int(round(params.ground_search_max_ns / scan.dt_ns))),
                         2.0 * params.antenna_height_m / C_M_PER_NS / scan.dt_ns)
    t_surface = float(np.median(picks)) * scan.dt_ns
    for ax, (title, img) in zip(axes, images):
        t_max = img.shape[0] * scan.dt_ns
        ax.imshow(img, cmap='gray', aspect='auto',
                  extent=(float(scan.x[0]), float(scan.x[-1]), t_max, 0.0))
        for d in dets:
            ax.plot(d.x, t_surface + 2.0 * d.depth / v, 'r+', ms=14, mew=2)
        ax.set_ylabel('two-way time, ns')
        ax.set_title(f'{os.path.basename(scan.path)}: {title}')
    axes[-1].set_xlabel(xlabel)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Arguments of ``demine gpr``."""
    p.add_argument('files', nargs='+', metavar='FILE',
                   help='gprMax .out (one merged B-scan, or A-scans in order), GSSI .dzt, '
                   'or a recording of the stack (demine run --record: mission.mcap)')
    p.add_argument('--permittivity', default='auto',
                   help="soil permittivity: 'auto' (estimated from the hyperbolas) or a value")
    p.add_argument('--step', type=float, default=None, help='trace step, m (if not in file)')
    p.add_argument('--start', type=float, default=None, help='first trace position, m')
    p.add_argument('--antenna-height', type=float, default=None,
                   help='antenna height above the ground, m (default: the processor\'s)')
    p.add_argument('--component', default=AUTO_COMPONENT,
                   choices=(AUTO_COMPONENT,) + GPRMAX_COMPONENTS,
                   help="gprMax field component (default 'auto': the electric one with the "
                   'most energy)')
    p.add_argument('--channel', type=int, default=0,
                   help='DZT channel, or the recording\'s channel drawn in --png (default 0)')
    p.add_argument('--json', default=None, metavar='OUT', help='write the picks as JSON')
    p.add_argument('--png', default=None, metavar='OUT', help='write the B-scan with picks')


def permittivity_arg(perm: Any) -> Any:
    """``--permittivity``: 'auto' or a number in 1..81 (ConfigError otherwise)."""
    if perm == 'auto':
        return perm
    try:
        value = float(perm)
    except ValueError as exc:
        raise ConfigError(f"--permittivity must be 'auto' or a number, not {perm!r}") \
            from exc
    if not 1.0 <= value <= 81.0:
        raise ConfigError(f'--permittivity {value} outside 1..81')
    return value


def write_result(res: Dict[str, Any], json_path: Optional[str]) -> None:
    """Print the JSON object and write it to ``json_path`` when given."""
    text = json.dumps(res)
    if json_path:
        with open(json_path, 'w', encoding='utf-8') as f:
            f.write(text + '\n')
    print(text)


def run(ns: argparse.Namespace) -> int:
    """``demine gpr`` on files: process them as one B-scan; print and write the picks.
    (A recording of the stack is the CLI's to replay: :mod:`demining_bringup.gpr_replay`.)"""
    perm = permittivity_arg(ns.permittivity)
    scan = read(ns.files, ns.step, ns.start, ns.component, ns.channel)
    params = params_for(scan, perm, ns.antenna_height)
    dets, proc = process(scan, params)
    if ns.png:
        render_png(scan, dets, dataclasses.replace(params,
                                                   soil_permittivity=proc.permittivity),
                   ns.png)
    write_result(result(scan, dets, proc), ns.json)
    return 0
