"""GPR processing chain: time-zero, background removal, gain, whitening, apex picking (no rclpy).

Per channel, each trace goes through

1. **time-zero alignment**: the ground bounce is picked on the trace envelope (the latest
   strong envelope maximum in the first ``ground_search_max_ns``, so a direct-coupling lump at
   t = 0 is not taken for it) and the trace is shifted so the bounce sits at the channel's
   reference sample (the median pick of the first batch);
2. **background removal**: the median of the last ``background_window_traces`` aligned traces
   (a sliding along-track window, only traces taken after the antenna moved
   ``min_trace_step_m``, so a stopped vehicle does not erase a target below it) is subtracted:
   this removes the ground bounce and antenna ringing and keeps hyperbolas;
3. **gain**: an exponential time-varying gain after the ground bounce (``gain_db_per_ns``)
   for display (:func:`render_bscan`); detection instead divides every sample by its own robust
   noise level (MAD over the background window), which is the same as gain plus a per-depth
   noise normalisation and makes the threshold a plain SNR;
4. **detection**: a diffraction stack (the whitened envelopes of the neighbouring traces
   averaged along the hyperbola an object at each depth of ``[min_depth_m, max_depth_m]``
   would draw for the soil velocity ``c / sqrt(eps)``) gives a per-trace score and apex time;
   an along-track peak picker keeps local maxima above ``snr_threshold`` within
   ``peak_half_window_m``. Stacking along the predicted moveout is the hyperbola check.

Depth is ``v * (t_apex - t_ground) / 2`` (the object's top), position the antenna position at
the apex in ``map``. State per channel is bounded (ring buffers), and a batch is processed with
array operations per channel, so cost does not grow with mission length.
"""

from __future__ import annotations

import collections
import dataclasses
import math
from typing import Deque, Dict, List, Optional

import numpy as np

from demining_bringup.datatypes import Detection, DetectionKind, GprScan
from demining_bringup.parameters import ParamError, param
from demining_perception.pose_buffer import PoseBuffer

#: Speed of light in vacuum, m/ns.
C_M_PER_NS = 0.299792458
#: MAD to standard deviation for Gaussian noise.
MAD_TO_SIGMA = 1.4826
#: A local envelope maximum counts as the ground bounce when at least this fraction of the
#: strongest one in the search window (the bounce follows the direct coupling).
GROUND_PICK_FRACTION = 0.5
#: Extent of a flat reflector top is measured where the envelope stays above this fraction of
#: the apex value.
RADIUS_LEVEL = 0.5
#: Smallest radius reported (about one trace spacing), m.
MIN_RADIUS_M = 0.02
#: The background median and noise MAD are refreshed after this many new traces.
STATS_EVERY_TRACES = 16
#: Diffraction-stack aperture: tangent of the half angle, and the smallest half width, m.
APERTURE_TAN = 1.0
MIN_APERTURE_M = 0.03
#: Mean and standard deviation of a Rayleigh(sigma=1) variable (whitened noise envelope).
RAYLEIGH_MEAN = math.sqrt(math.pi / 2.0)
RAYLEIGH_STD = math.sqrt(2.0 - math.pi / 2.0)


@dataclasses.dataclass(frozen=True)
class GprParams:
    """Parameters of the GPR processor (node ``gpr_processor``)."""

    soil_permittivity: float = param(
        9.0, 'relative permittivity of the soil, sets the wave speed (field-facts: loam 8-12)',
        min=1.0, max=81.0)
    max_depth_m: float = param(0.4, 'deepest object searched for, m', min=0.05, max=3.0)
    min_depth_m: float = param(
        0.03, 'shallowest object searched for, m (shallower, the ground-bounce residual of '
        'surface roughness dominates; the MD covers surface-laid items)', min=0.0, max=1.0)
    ground_search_max_ns: float = param(
        2.0, 'the ground bounce is searched from t=0 to this time, ns', min=0.1, max=50.0)
    max_alignment_shift_ns: float = param(
        1.0, 'largest time-zero correction applied to a trace, ns', min=0.0, max=20.0)
    alignment_smoothing_traces: int = param(
        31, 'running median length of the ground-bounce picks used for time-zero, traces',
        min=1, max=256)
    alignment_deadband_ns: float = param(
        0.08, 'time-zero corrections smaller than this are not applied, ns (pick noise)',
        min=0.0, max=5.0)
    background_window_traces: int = param(
        128, 'traces per channel in the sliding background (median) window', min=8, max=4096)
    min_background_traces: int = param(
        48, 'traces needed before detection starts on a channel', min=4, max=4096)
    min_trace_step_m: float = param(
        0.005, 'a trace is used only after the antenna moved this far in map, m',
        min=0.0, max=1.0)
    gain_db_per_ns: float = param(
        3.0, 'display gain after the ground bounce, dB per ns (B-scans)', min=0.0, max=40.0)
    snr_threshold: float = param(
        8.0, 'detection threshold on the diffraction-stack z-score (noise-only stack: '
        'mean 0, standard deviation 1)', min=1.0, max=1000.0)
    noise_floor: float = param(
        1e-4, 'lower bound of the per-sample noise level, normalised amplitude',
        min=1e-9, max=1.0)
    peak_half_window_m: float = param(
        0.25, 'an apex must be the strongest within this along-track distance, m',
        min=0.01, max=2.0)
    hyperbola_check: bool = param(
        True, 'score traces by a diffraction stack along the soil-velocity hyperbola '
        '(false: single-trace envelope)')
    hyperbola_half_width_m: float = param(
        0.1, 'along-track half width of the diffraction stack, m', min=0.01, max=1.0)
    hyperbola_tolerance_ns: float = param(
        0.2, 'time tolerance when measuring the flat top of a reflector (radius), ns',
        min=0.0, max=5.0)
    pose_history_s: float = param(10.0, 'poses kept for placing traces in map, s',
                                  min=1.0, max=600.0)
    max_pose_extrapolation_s: float = param(
        0.3, 'readings this much newer than the newest pose are dead-reckoned, s',
        min=0.0, max=2.0)

    def __post_init__(self) -> None:
        """Check cross-field constraints."""
        if self.min_depth_m >= self.max_depth_m:
            raise ParamError('min_depth_m must be below max_depth_m')
        if self.min_background_traces > self.background_window_traces:
            raise ParamError('min_background_traces must not exceed background_window_traces')

    @property
    def velocity_m_per_ns(self) -> float:
        """Wave speed in the soil, m/ns."""
        return C_M_PER_NS / math.sqrt(self.soil_permittivity)


def time_gain(n_samples: int, sample_interval_ns: float, t0_index: int,
              db_per_ns: float) -> np.ndarray:
    """Return an exponential gain curve: 1 up to ``t0_index``, then ``db_per_ns`` dB per ns."""
    t = (np.arange(n_samples) - t0_index) * sample_interval_ns
    return np.power(10.0, np.clip(t, 0.0, None) * db_per_ns / 20.0)


def envelope(traces: np.ndarray) -> np.ndarray:
    """Return the instantaneous amplitude (Hilbert envelope) along the last axis."""
    x = np.asarray(traces, dtype=np.float64)
    n = x.shape[-1]
    h = np.zeros(n)
    h[0] = 1.0
    if n % 2 == 0:
        h[n // 2] = 1.0
        h[1:n // 2] = 2.0
    else:
        h[1:(n + 1) // 2] = 2.0
    # The analytic signal (what scipy.signal.hilbert returns) without importing scipy.signal.
    return np.abs(np.fft.ifft(np.fft.fft(x, axis=-1) * h, axis=-1))


def pick_ground(env: np.ndarray, search_samples: int) -> np.ndarray:
    """Return the ground-bounce time of each trace in (fractional) samples.

    The latest local maximum of the envelope that reaches :data:`GROUND_PICK_FRACTION` of the
    window's maximum is taken (the ground bounce comes after the direct antenna coupling) and
    refined by a parabola through its neighbours, so noise does not jitter it by whole samples.
    """
    e = np.atleast_2d(env)[:, :max(3, search_samples)]
    strongest = e.max(axis=1, keepdims=True)
    local = np.zeros_like(e, dtype=bool)
    local[:, 1:-1] = (e[:, 1:-1] >= e[:, :-2]) & (e[:, 1:-1] >= e[:, 2:])
    local &= e >= GROUND_PICK_FRACTION * strongest
    idx = np.where(local, np.arange(e.shape[1])[None, :], -1).max(axis=1)
    idx = np.where(idx >= 0, idx, np.argmax(e, axis=1))
    return idx + _parabolic_offset(e, idx)


def _parabolic_offset(e: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Sub-sample offset (-0.5..0.5) of a peak at ``idx`` from a parabola through 3 samples."""
    rows = np.arange(e.shape[0])
    i = np.clip(idx, 1, e.shape[1] - 2)
    a, b, c = e[rows, i - 1], e[rows, i], e[rows, i + 1]
    den = a - 2.0 * b + c
    off = np.where(den < 0.0, 0.5 * (a - c) / np.where(den < 0.0, den, -1.0), 0.0)
    return np.where(idx == i, np.clip(off, -0.5, 0.5), 0.0)


def align(traces: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    """Advance each trace by ``shifts`` (fractional) samples with an exact spectral shift.

    A whole-sample shift would turn a pick jitter of one sample into a residual of the strong
    ground bounce larger than most targets; the Fourier shift moves band-limited traces
    without that error (the trace wraps around, which only touches its last samples).
    """
    a = np.asarray(traces, dtype=np.float64)
    n = a.shape[1]
    f = np.fft.rfftfreq(n)
    phase = np.exp(2j * np.pi * f[None, :] * np.asarray(shifts, dtype=float)[:, None])
    return np.fft.irfft(np.fft.rfft(a, axis=1) * phase, n=n, axis=1)


def render_bscan(traces: np.ndarray, sample_interval_ns: float, *,
                 gain_db_per_ns: float = 3.0, remove_background: bool = True,
                 ground_search_max_ns: float = 2.0, clip_percentile: float = 99.0
                 ) -> np.ndarray:
    """Render one channel's traces (N x S, along-track order) as an 8-bit B-scan image.

    Rows are time (depth) samples, columns traces; mid-grey is zero, so hyperbolas show as
    dark/bright bands. Time-zero alignment, mean-trace background removal and the display gain
    are applied as in the detector.
    """
    a = np.asarray(traces, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] == 0:
        return np.zeros((0, 0), dtype=np.uint8)
    search = max(3, int(round(ground_search_max_ns / sample_interval_ns)))
    picks = pick_ground(envelope(a), search)
    ref = int(round(float(np.median(picks))))
    a = align(a, picks - ref)
    if remove_background:
        a = a - np.median(a, axis=0, keepdims=True)
    a = a * time_gain(a.shape[1], sample_interval_ns, ref, gain_db_per_ns)[None, :]
    scale = np.percentile(np.abs(a), clip_percentile) or 1.0
    img = np.clip(a / scale, -1.0, 1.0) * 127.5 + 127.5
    return img.T.astype(np.uint8)


@dataclasses.dataclass
class _Pending:
    """A scored trace waiting for its along-track neighbours."""

    s: float                  # along-track distance travelled by this antenna, m
    x: float                  # antenna position in map
    y: float
    env: np.ndarray           # whitened envelope of the depth window
    score: float = -1.0       # diffraction-stack z-score (set once the neighbours are in)
    amp: float = 0.0          # diffraction-stack amplitude SNR at the apex
    k: int = 0                # window sample of the stack maximum (apex time)


class _Channel:
    """Bounded per-channel state."""

    def __init__(self, n_samples: int, window: int, smoothing: int) -> None:
        self.n_samples = n_samples
        self.buf = np.zeros((window, n_samples))
        self.count = 0
        self.head = 0
        self.since_stats = 0
        self.bg: Optional[np.ndarray] = None
        self.sigma: Optional[np.ndarray] = None
        self.ref: Optional[float] = None
        self.picks: Deque[float] = collections.deque(maxlen=smoothing)
        self.last_xy: Optional[np.ndarray] = None
        self.s = 0.0
        self.pending: List[_Pending] = []
        self.stacked = 0          # pending[:stacked] have a stack score
        self.decided = 0          # pending[:decided] were already judged

    def push(self, traces: np.ndarray) -> None:
        for tr in traces:
            self.buf[self.head] = tr
            self.head = (self.head + 1) % self.buf.shape[0]
            self.count = min(self.count + 1, self.buf.shape[0])
        self.since_stats += len(traces)

    def window(self) -> np.ndarray:
        return self.buf[:self.count]


@dataclasses.dataclass
class GprStats:
    """Counters for diagnostics."""

    traces: int = 0
    traces_no_pose: int = 0
    traces_still: int = 0
    detections: int = 0


class GprProcessor:
    """Streaming GPR detector: feed :class:`GprScan` batches, get ``Detection(source='gpr')``.

    Detection is a diffraction stack: for every trace and every apex time in the depth window
    the whitened envelopes of the neighbouring traces (within ``hyperbola_half_width_m``) are
    averaged along the hyperbola an object at that depth would draw for the soil velocity; the
    best apex time gives the trace's score. Along-track local maxima of that score above
    ``snr_threshold`` are objects. Averaging along the predicted moveout is the hyperbola check:
    isolated spikes and flat layers do not stack, and the score peaks at the true apex even
    when the raw amplitudes are flat over the apex.
    """

    def __init__(self, params: Optional[GprParams] = None) -> None:
        """Create a processor with ``params`` (defaults when None)."""
        self.params = params or GprParams()
        self.stats = GprStats()
        self._channels: Dict[int, _Channel] = {}
        self._dt: Optional[float] = None

    def reset(self) -> None:
        """Forget all per-channel state."""
        self._channels.clear()
        self._dt = None

    def process(self, scan: GprScan, poses: PoseBuffer) -> List[Detection]:
        """Process one batch; return the apexes decided during it (map frame)."""
        p = self.params
        amps = np.asarray(scan.amplitudes, dtype=np.float64)
        n = amps.shape[0] if amps.ndim == 2 else 0
        if n == 0 or not (scan.sample_interval_ns > 0.0) or not np.isfinite(amps).all():
            return []
        if self._dt is not None and abs(self._dt - scan.sample_interval_ns) > 1e-9:
            self.reset()      # a different radar setting: start over
        dt = self._dt = float(scan.sample_interval_ns)
        times = scan.stamp + np.asarray(scan.time_offsets, dtype=float)
        xy, valid = poses.to_map(np.asarray(scan.positions, dtype=float), times)
        self.stats.traces += n
        self.stats.traces_no_pose += int(np.count_nonzero(~valid))
        channels = np.asarray(scan.channels)
        order = np.lexsort((times, channels))
        order = order[valid[order]]
        # Movement gate and along-track distance per channel (a few traces: plain loop).
        keep = np.zeros(len(order), dtype=bool)
        s_vals = np.zeros(len(order))
        for j, i in enumerate(order):
            st = self._channel(int(channels[i]), amps.shape[1])
            step = 0.0 if st.last_xy is None else float(np.hypot(*(xy[i] - st.last_xy)))
            if st.last_xy is None or step >= p.min_trace_step_m:
                keep[j] = True
                st.s += step
                st.last_xy = xy[i].copy()
            s_vals[j] = st.s
        self.stats.traces_still += int(np.count_nonzero(~keep))
        order, s_vals = order[keep], s_vals[keep]
        if not len(order):
            return []
        traces = amps[order]
        chs = channels[order]
        # Time-zero for the whole batch at once.
        picks = pick_ground(envelope(traces), int(round(p.ground_search_max_ns / dt)))
        shifts = np.zeros(len(order))
        for j, ch in enumerate(chs):
            st = self._channels[int(ch)]
            st.picks.append(float(picks[j]))
            # A running median of the picks follows the terrain but not the per-trace pick
            # noise: shifting a trace by noise would misalign the (fixed) direct coupling.
            smooth = float(np.median(st.picks))
            if st.ref is None:
                st.ref = smooth
            shifts[j] = smooth - st.ref
        max_shift = p.max_alignment_shift_ns / dt
        shifts = np.where(np.abs(shifts) < p.alignment_deadband_ns / dt, 0.0,
                          np.clip(shifts, -max_shift, max_shift))
        aligned = align(traces, shifts)
        # Background removal and whitening per trace (so the result does not depend on how
        # traces are cut into batches), one envelope call for the batch.
        white = np.zeros_like(aligned)
        ready = np.zeros(len(order), dtype=bool)
        for j, ch in enumerate(chs):
            st = self._channels[int(ch)]
            if st.count >= p.min_background_traces:
                if st.bg is None or st.since_stats >= STATS_EVERY_TRACES:
                    # Median and MAD of the window are the costly part: refresh sometimes.
                    win = st.window()
                    st.bg = np.median(win, axis=0)
                    st.sigma = np.maximum(
                        MAD_TO_SIGMA * np.median(np.abs(win - st.bg), axis=0), p.noise_floor)
                    st.since_stats = 0
                white[j] = (aligned[j] - st.bg) / st.sigma
                ready[j] = True
            st.push(aligned[j:j + 1])
        if not np.any(ready):
            return []
        env = envelope(white[ready])
        out: List[Detection] = []
        rows = np.flatnonzero(ready)
        for ch in np.unique(chs[ready]):
            st = self._channels[int(ch)]
            k_lo, k_hi = self._window(st)
            if k_hi - k_lo < 2:
                continue
            for r in np.flatnonzero(chs[ready] == ch):
                i = order[rows[r]]
                st.pending.append(_Pending(s=float(s_vals[rows[r]]), x=float(xy[i, 0]),
                                           y=float(xy[i, 1]), env=env[r, k_lo:k_hi]))
            self._stack(st, k_lo)
            out.extend(self._decide(st, k_lo))
        self.stats.detections += len(out)
        return out

    # -- internals ---------------------------------------------------------------------------

    def _channel(self, ch: int, n_samples: int) -> _Channel:
        st = self._channels.get(ch)
        if st is None or st.n_samples != n_samples:
            st = _Channel(n_samples, self.params.background_window_traces,
                          self.params.alignment_smoothing_traces)
            self._channels[ch] = st
        return st

    def _window(self, st: _Channel) -> tuple:
        """Depth window ``[k_lo, k_hi)`` in aligned samples."""
        p = self.params
        v, dt = p.velocity_m_per_ns, self._dt
        k_lo = int(math.ceil(st.ref + 2.0 * p.min_depth_m / v / dt))
        k_hi = min(st.n_samples, int(math.floor(st.ref + 2.0 * p.max_depth_m / v / dt)) + 1)
        return k_lo, k_hi

    def _stack(self, st: _Channel, k_lo: int) -> None:
        """Give a diffraction-stack score to every trace whose neighbours have arrived."""
        p = self.params
        w = p.hyperbola_half_width_m
        s_latest = st.pending[-1].s
        if st.stacked >= len(st.pending) or st.pending[st.stacked].s + w > s_latest:
            return
        s_arr = np.array([e.s for e in st.pending])
        env = np.stack([e.env for e in st.pending])
        n_win = env.shape[1]
        v, dt = p.velocity_m_per_ns, self._dt
        k = np.arange(n_win)
        depth = np.maximum(v * (k + k_lo - st.ref) * dt / 2.0, 0.0)
        aperture = np.clip(depth * APERTURE_TAN, MIN_APERTURE_M, w)
        while st.stacked < len(st.pending) and st.pending[st.stacked].s + w <= s_latest:
            i = st.stacked
            st.stacked += 1
            ds = s_arr - s_arr[i]
            nb = np.flatnonzero(np.abs(ds) <= w)
            if not p.hyperbola_check:
                nb = np.array([i])
            extra = 2.0 * (np.sqrt(depth[None, :] ** 2 + ds[nb, None] ** 2)
                           - depth[None, :]) / v / dt
            kk = np.rint(k[None, :] + extra).astype(int)
            # Aperture of about 45 degrees: a shallow object's wings are weak and steep.
            inside = (kk < n_win) & (np.abs(ds[nb, None]) <= aperture[None, :])
            vals = np.where(inside, env[nb[:, None], np.minimum(kk, n_win - 1)], 0.0)
            count = np.maximum(inside.sum(axis=0), 1)
            stack = vals.sum(axis=0) / count
            # Under noise alone a whitened envelope is Rayleigh(1): the mean of ``count`` of
            # them has a known mean and spread, so z is comparable across depths and apertures.
            z = (stack - RAYLEIGH_MEAN) / (RAYLEIGH_STD / np.sqrt(count))
            # A maximum on the window's first or last sample is the flank of something
            # outside it (the ground-bounce residual above, a deeper object below).
            z[0] = z[-1] = -np.inf
            kbest = int(np.argmax(z))
            st.pending[i].score = float(z[kbest])
            st.pending[i].amp = float(stack[kbest])
            st.pending[i].k = kbest

    def _decide(self, st: _Channel, k_lo: int) -> List[Detection]:
        p = self.params
        half = p.peak_half_window_m
        w = p.hyperbola_half_width_m
        s_last_stacked = st.pending[st.stacked - 1].s if st.stacked else -math.inf
        s_arr = np.array([e.s for e in st.pending[:st.stacked]])
        sc_arr = np.array([e.score for e in st.pending[:st.stacked]])
        out: List[Detection] = []
        while st.decided < st.stacked and st.pending[st.decided].s + half <= s_last_stacked:
            i = st.decided
            st.decided += 1
            e = st.pending[i]
            if e.score < p.snr_threshold:
                continue
            near = np.abs(s_arr - e.s) <= half
            # Strongest in the window; on an exact tie the earliest trace wins.
            earlier = near & (np.arange(len(sc_arr)) < i)
            if np.any(sc_arr[near] > e.score) or np.any(sc_arr[earlier] == e.score):
                continue
            depth = p.velocity_m_per_ns * (e.k + k_lo - st.ref) * self._dt / 2.0
            out.append(Detection(x=e.x, y=e.y, depth=max(0.0, depth),
                                 confidence=snr_confidence(e.score, p.snr_threshold),
                                 kind=DetectionKind.UNKNOWN, source='gpr',
                                 radius=self._radius(st, i), strength=e.amp))
        # Drop what no undecided trace can still need.
        first = st.pending[st.decided].s if st.decided < len(st.pending) else st.pending[-1].s
        drop = 0
        while drop < st.decided and st.pending[drop].s < first - half - w:
            drop += 1
        del st.pending[:drop]
        st.decided -= drop
        st.stacked -= drop
        return out

    def _radius(self, st: _Channel, i: int) -> float:
        """Half the along-track extent over which the apex time keeps its level (flat top)."""
        p = self.params
        e = st.pending[i]
        tol = max(1, int(round(p.hyperbola_tolerance_ns / self._dt)))
        lo, hi = max(0, e.k - tol), e.k + tol + 1
        apex = float(e.env[lo:hi].max())
        if apex <= 0.0:
            return MIN_RADIUS_M
        radius = MIN_RADIUS_M
        for o in sorted(st.pending, key=lambda o: abs(o.s - e.s)):
            ds = abs(o.s - e.s)
            if ds > p.peak_half_window_m or float(o.env[lo:hi].max()) < RADIUS_LEVEL * apex:
                break
            radius = max(radius, ds)
        return radius


def snr_confidence(snr: float, threshold: float) -> float:
    """Map an SNR to a 0..1 confidence: 0.5 at the threshold, towards 1 as SNR grows."""
    if not math.isfinite(snr) or snr <= 0.0:
        return 0.0
    return float(min(1.0, max(0.0, 1.0 - 0.5 * threshold / snr)))
