"""Metal-detector processing: drift removal, MAD noise, 2-D peak picking, interpolation (no rclpy).

The coil readings of a batch are arranged as rows (one per sampling instant) by columns (one
per coil). Per coil, a slow running median of past readings (taken only while the boom moves,
so a stop does not absorb a target) is the soil background and drift, and the MAD of the
residual is the noise. A reading is a detection when its SNR passes ``snr_threshold`` and it is
the largest within ``peak_half_window_m`` along track and one coil either side, so a target
between two coils gives one detection. Its position is interpolated between coils with a
parabola through the log amplitudes (exact for a Gaussian-like footprint), its strength is the
interpolated peak amplitude (detector units, ~mV: a metal-content proxy), its radius half the
larger half-maximum extent of the footprint, and a strong elongated footprint is flagged
``DetectionKind.UXO`` as a hint for fusion.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from typing import List, Optional

import numpy as np

from demining_bringup.datatypes import Detection, DetectionKind, MdScan
from demining_bringup.parameters import ParamError, param
from demining_perception.gpr.processing import MAD_TO_SIGMA, snr_confidence
from demining_perception.pose_buffer import PoseBuffer

#: Readings whose time offsets differ by less than this share a row (simultaneous coils), s.
ROW_TOLERANCE_S = 1e-3
#: The background median and noise MAD are refreshed after this many rows.
STATS_EVERY_ROWS = 5
#: Initial number of pending rows (grows if ever needed; bounded by the decision reach).
_PENDING_CAPACITY = 256
#: Full width at half maximum of a Gaussian, in sigmas.
FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))
#: Smallest footprint extent reported, m.
MIN_EXTENT_M = 0.02
#: Floor of the amplitude used in the log-parabola interpolation, detector units.
_LOG_FLOOR = 1e-3


@dataclasses.dataclass(frozen=True)
class MdParams:
    """Parameters of the metal-detector processor (node ``md_processor``)."""

    background_window_samples: int = param(
        250, 'samples per coil in the running-median background (5 s at 50 Hz)',
        min=8, max=10000)
    min_background_samples: int = param(
        25, 'samples needed before detection starts on a coil', min=4, max=10000)
    min_step_m: float = param(
        0.004, 'a row is used only after the boom moved this far in map, m',
        min=0.0, max=1.0)
    snr_threshold: float = param(
        6.0, 'peak amplitude over the noise sigma (MAD) a detection needs', min=1.0, max=1e4)
    noise_floor_mv: float = param(0.3, 'lower bound of the per-coil noise sigma, mV',
                                  min=1e-6, max=1e3)
    peak_half_window_m: float = param(
        0.15, 'a peak must be the largest within this along-track distance, m',
        min=0.01, max=2.0)
    footprint_half_window_m: float = param(
        0.4, 'along-track reach when measuring a footprint (delays decisions), m',
        min=0.01, max=5.0)
    uxo_min_strength_mv: float = param(
        500.0, 'a footprint this strong and elongated is hinted as UXO, mV', min=0.0, max=1e9)
    uxo_min_elongation: float = param(
        2.0, 'footprint length over width that counts as elongated', min=1.0, max=100.0)
    pose_history_s: float = param(10.0, 'poses kept for placing readings in map, s',
                                  min=1.0, max=600.0)
    max_pose_extrapolation_s: float = param(
        0.3, 'readings this much newer than the newest pose are dead-reckoned, s',
        min=0.0, max=2.0)

    def __post_init__(self) -> None:
        """Check cross-field constraints."""
        if self.min_background_samples > self.background_window_samples:
            raise ParamError('min_background_samples must not exceed '
                             'background_window_samples')


@dataclasses.dataclass
class MdStats:
    """Counters for diagnostics."""

    readings: int = 0
    readings_no_pose: int = 0
    rows_still: int = 0
    detections: int = 0


class MdProcessor:
    """Streaming metal-detector processor: :class:`MdScan` in, ``Detection(source='md')`` out."""

    def __init__(self, params: Optional[MdParams] = None) -> None:
        """Create a processor with ``params`` (defaults when None)."""
        self.params = params or MdParams()
        self.stats = MdStats()
        self.reset()

    def reset(self) -> None:
        """Forget all state (for example when the coil count changes)."""
        self._n_coils = 0
        self._buf = np.zeros((0, 0))
        self._count = 0
        self._head = 0
        self._last_xy: Optional[np.ndarray] = None
        self._s = 0.0
        # Pending rows [start, n): along-track distance, coil map positions, residual, snr.
        self._start = self._n = self._decided = 0
        self._p_s = np.zeros(0)
        self._p_xy = np.zeros((0, 0, 2))
        self._p_res = np.zeros((0, 0))
        self._p_snr = np.zeros((0, 0))
        self._bg: Optional[np.ndarray] = None
        self._sigma: Optional[np.ndarray] = None
        self._since_stats = 0

    def process(self, scan: MdScan, poses: PoseBuffer) -> List[Detection]:
        """Process one batch; return the detections decided during it (map frame)."""
        sig = np.asarray(scan.signals, dtype=float)
        n = sig.shape[0]
        if n == 0:
            return []
        self.stats.readings += n
        ch = np.asarray(scan.channels, dtype=int)
        times = scan.stamp + np.asarray(scan.time_offsets, dtype=float)
        xy, valid = poses.to_map(np.asarray(scan.positions, dtype=float), times)
        valid &= np.isfinite(sig) & (ch >= 0)
        self.stats.readings_no_pose += int(np.count_nonzero(~valid))
        if not np.any(valid):
            return []
        n_coils = int(ch[valid].max()) + 1
        if n_coils != self._n_coils:
            self.reset()
            self._n_coils = n_coils
            self._buf = np.full((self.params.background_window_samples, n_coils), np.nan)
        # Rows: readings taken at the same instant.
        t_v = times[valid]
        order = np.argsort(t_v, kind='stable')
        t_sorted = t_v[order]
        row_id = np.concatenate([[0], np.cumsum(np.diff(t_sorted) > ROW_TOLERANCE_S)])
        n_rows = int(row_id[-1]) + 1
        vals = np.full((n_rows, n_coils), np.nan)
        pos = np.full((n_rows, n_coils, 2), np.nan)
        idx = np.flatnonzero(valid)[order]
        vals[row_id, ch[idx]] = sig[idx]
        pos[row_id, ch[idx]] = xy[idx]
        kept, bgs, sigmas, s_vals = self._rows(vals, pos)
        out: List[Detection] = []
        if kept:
            k = np.array(kept, dtype=np.intp)
            res = vals[k] - np.array(bgs)
            snr = np.nan_to_num(res / np.array(sigmas), nan=-np.inf)
            self._append(np.array(s_vals), pos[k], res, snr)
            out = self._decide()
        self.stats.detections += len(out)
        return out

    # -- internals ---------------------------------------------------------------------------

    def _rows(self, vals: np.ndarray, pos: np.ndarray):
        """Movement gate, background window and statistics, row by row (cheap per row).

        Returns the rows kept for detection with the background, noise and along-track
        distance each was judged with (the statistics from before the row, as streaming).
        """
        p = self.params
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', RuntimeWarning)   # a row without any coil
            centres = np.nanmean(pos, axis=1).tolist()
        kept: List[int] = []
        bgs: List[np.ndarray] = []
        sigmas: List[np.ndarray] = []
        s_vals: List[float] = []
        w = self._buf.shape[0]
        for r, (cx, cy) in enumerate(centres):
            if self._last_xy is not None:
                step = math.hypot(cx - self._last_xy[0], cy - self._last_xy[1])
                if not step >= p.min_step_m:
                    self.stats.rows_still += 1
                    continue
                self._s += step
            self._last_xy = (cx, cy)
            ready = self._count >= p.min_background_samples
            if ready and (self._bg is None or self._since_stats >= STATS_EVERY_ROWS):
                self._refresh()
            self._since_stats += 1
            self._buf[self._head] = vals[r]
            self._head = (self._head + 1) % w
            self._count = min(self._count + 1, w)
            if ready:
                kept.append(r)
                bgs.append(self._bg)
                sigmas.append(self._sigma)
                s_vals.append(self._s)
        return kept, bgs, sigmas, s_vals

    def _refresh(self) -> None:
        """Median and MAD over the window (``nanmedian`` only when a coil was missing)."""
        p = self.params
        win = self._buf[:self._count]
        if np.isnan(win).any():
            with warnings.catch_warnings():
                warnings.simplefilter('ignore', RuntimeWarning)   # an all-NaN coil
                bg = np.nanmedian(win, axis=0)
                sigma = MAD_TO_SIGMA * np.nanmedian(np.abs(win - bg), axis=0)
        else:
            # np.median is several times cheaper than np.nanmedian on a complete window.
            bg = np.median(win, axis=0)
            sigma = MAD_TO_SIGMA * np.median(np.abs(win - bg), axis=0)
        self._bg = bg
        self._sigma = np.maximum(np.nan_to_num(sigma, nan=p.noise_floor_mv), p.noise_floor_mv)
        self._since_stats = 0

    def _append(self, s: np.ndarray, xy: np.ndarray, res: np.ndarray, snr: np.ndarray) -> None:
        """Append pending rows, compacting (or growing) the arrays when full."""
        m, nc = res.shape
        cap = len(self._p_s)
        if self._n + m > cap or self._p_res.shape[1] != nc:
            live = self._n - self._start
            new_cap = max(_PENDING_CAPACITY, 2 * (live + m))
            keep = slice(self._start, self._n)
            arrays = []
            for arr, shape in ((self._p_s, (new_cap,)), (self._p_xy, (new_cap, nc, 2)),
                               (self._p_res, (new_cap, nc)), (self._p_snr, (new_cap, nc))):
                new = np.zeros(shape)
                if live:
                    new[:live] = arr[keep]
                arrays.append(new)
            self._p_s, self._p_xy, self._p_res, self._p_snr = arrays
            self._decided -= self._start
            self._n, self._start = live, 0
        i, j = self._n, self._n + m
        self._p_s[i:j] = s
        self._p_xy[i:j] = xy
        self._p_res[i:j] = res
        self._p_snr[i:j] = snr
        self._n = j

    def _decide(self) -> List[Detection]:
        p = self.params
        half = p.peak_half_window_m
        reach = max(half, p.footprint_half_window_m)
        a = self._start
        s_arr = self._p_s[a:self._n]
        snr = self._p_snr[a:self._n]
        res = self._p_res[a:self._n]
        n_rows, n_coils = snr.shape
        out: List[Detection] = []
        d0 = self._decided - a
        lim = int(np.searchsorted(s_arr, s_arr[-1] - reach, side='right'))
        if lim > d0:
            rows_c, coils_c = np.nonzero(snr[d0:lim] >= p.snr_threshold)
            if rows_c.size:
                amp = np.nan_to_num(res, nan=-np.inf)
            for i, c in zip((rows_c + d0).tolist(), coils_c.tolist()):
                # Local maximum of the amplitude (the noise estimate moves as a strong target
                # enters the window, so the SNR would peak early).
                r0 = int(np.searchsorted(s_arr, s_arr[i] - half, side='left'))
                r1 = int(np.searchsorted(s_arr, s_arr[i] + half, side='right'))
                lo, hi = max(0, c - 1), min(n_coils, c + 2)
                block = amp[r0:r1, lo:hi]
                v = amp[i, c]
                if np.any(block > v):
                    continue
                # Exact ties (symmetric target between coils): the first row/coil wins.
                tie_r, tie_c = np.nonzero(block == v)
                if any((r0 + ra, lo + cb) < (i, c) for ra, cb in zip(tie_r, tie_c)):
                    continue
                out.append(self._detection(i, c, s_arr, res, snr))
            self._decided = a + lim
        # Keep only rows a future decision may look at.
        d0 = self._decided - a
        first = s_arr[d0] if d0 < n_rows else s_arr[-1]
        self._start = a + int(np.searchsorted(s_arr[:d0], first - reach, side='left'))
        return out

    def _detection(self, i: int, c: int, s_arr: np.ndarray, res: np.ndarray,
                   snr: np.ndarray) -> Detection:
        p = self.params
        row = res[i]
        n_coils = len(row)
        peak = row[c]
        # Log-parabola through the peak coil and its neighbours (floored where missing).
        left = row[c - 1] if c > 0 and np.isfinite(row[c - 1]) else np.nan
        right = row[c + 1] if c + 1 < n_coils and np.isfinite(row[c + 1]) else np.nan
        offset, amp = 0.0, float(peak)
        xy = self._p_xy[self._start + i]
        spacing = _coil_spacing(xy)
        across = spacing
        if np.isfinite(left) or np.isfinite(right):
            la = math.log(max(left if np.isfinite(left) else _LOG_FLOOR, _LOG_FLOOR))
            lb = math.log(max(peak, _LOG_FLOOR))
            lc = math.log(max(right if np.isfinite(right) else _LOG_FLOOR, _LOG_FLOOR))
            den = la - 2.0 * lb + lc
            if den < 0.0:
                offset = float(np.clip(0.5 * (la - lc) / den, -0.5, 0.5))
                amp = float(math.exp(lb - 0.25 * (la - lc) * offset))
                # Gaussian fit across coils: full width at half maximum.
                across = FWHM_PER_SIGMA * spacing / math.sqrt(-den)
        nb = c + (1 if offset > 0 else -1)
        base = xy[c]
        if 0 <= nb < n_coils and np.all(np.isfinite(xy[nb])) and offset != 0.0:
            base = xy[c] + abs(offset) * (xy[nb] - xy[c])
        # Footprint extents at half maximum: along track (this coil) and across (this row).
        half_level = 0.5 * peak
        above = np.flatnonzero(np.nan_to_num(res[:, c]) >= half_level)
        run = _run_around(above, i)
        along = (s_arr[run[-1]] - s_arr[run[0]]) if len(run) else 0.0
        along = max(along, MIN_EXTENT_M)
        across = max(across, MIN_EXTENT_M)
        elongation = max(along, across) / max(min(along, across), 1e-6)
        kind = (DetectionKind.UXO if amp >= p.uxo_min_strength_mv
                and elongation >= p.uxo_min_elongation else DetectionKind.UNKNOWN)
        return Detection(x=float(base[0]), y=float(base[1]), depth=0.0,
                         confidence=snr_confidence(float(snr[i, c]), p.snr_threshold),
                         kind=kind, source='md', radius=0.5 * max(along, across),
                         strength=amp)


def _run_around(indices: np.ndarray, centre: int) -> np.ndarray:
    """Return the contiguous run of sorted ``indices`` that contains ``centre``."""
    if centre not in indices:
        return np.array([], dtype=int)
    k = int(np.searchsorted(indices, centre))
    lo = k
    while lo > 0 and indices[lo - 1] == indices[lo] - 1:
        lo -= 1
    hi = k
    while hi + 1 < len(indices) and indices[hi + 1] == indices[hi] + 1:
        hi += 1
    return indices[lo:hi + 1]


def _coil_spacing(xy: np.ndarray) -> float:
    """Median distance between neighbouring coils of a row, m."""
    d = np.hypot(*np.diff(xy, axis=0).T)
    d = d[np.isfinite(d)]
    return float(np.median(d)) if d.size else 0.25
