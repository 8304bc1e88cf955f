"""Metal-detector processing: drift removal, peak picking, depth and metal content (no rclpy).

The coil readings of a batch are arranged as rows (one per sampling instant) by columns (one
per coil). Per coil, a slow running median of past readings (taken only while the boom moves,
so a stop does not absorb a target) is the soil background and drift. Detection runs on the
residual averaged along track over ``average_half_window_m`` either side (a boxcar matched
filter: a target's footprint is 7-30 cm long at half maximum, while the readings come every
4-12 mm, so white electronic noise averages down by a factor of ~3 and the footprint's peak by a
few per cent; Kay, *Fundamentals of Statistical Signal Processing: Detection Theory*, 1998,
ch. 4), and the noise is the MAD of the background window's residual averaged the same way
(measured, since drift and the soil's response to boom bounce do not average down). A reading is
a detection when that SNR passes ``snr_threshold`` and the average is the largest within
``peak_half_window_m`` along track and one coil either side, so a target between two coils
gives one detection. The footprint's measurements below use the readings themselves, about the
peak reading, and its confidence is that reading's SNR; a *faint* detection, whose peak
reading is under the threshold (found on the average only), has the threshold's confidence
(0.5, which no reading over the threshold has) and no metal estimate (NaN: too little signal
for the footprint fit, see below). The fusion reads such an answer as "a little metal, how
little as deep as the GPR says" (demining_perception/fusion/core.py, "Faint MD answers").
Reading by reading, a TS-50 (0.5 g of metal) 1.5 cm deep midway between two coils 25 cm apart
(~4 mV against ~1.3 mV of noise) was found on some passes and not others.

**Measured** (bench/perception.py, 21 runs). Before the fusion had its own model of a faint
answer (one that moved a stone's share of the posterior to every metal class, AT's too: the
faint answers that found AP mines the readings missed made AP mines and stones AT, gen:loam
seed 3, gen:dry_sand and gen:wet_clay seed 2), no variant of the average found more AP mines
without more false AT labels (main: ``pd_ap`` 0.942, 129 of 137 AP mines, 22 false AT labels;
detection on the average alone 0.949 / 24 false AT; faint footprints without metal 0.956 / 26;
those on an outer coil left out too, the tail of a TM-62M beyond the edge, 0.942 / 24).
With the fusion's likelihood of a faint answer (the metal its amplitude allows at the GPR's
depth), 0.03 m either side and faint judged on the readings about the peak: outer coils'
faint footprints left out, 0.942 / 23 (the same 129 AP mines); reported (``faint_at_edge``),
0.956 / 24 (131 AP mines). The new false AT labels: a PMN 9 cm deep in wet clay heard faintly
under a GPR top read 14 cm deep (permittivity 9 in use, 20 true: a fuze's depth, P(AT) 0.09,
gen:wet_clay seed 2), and the faint tail of an AT mine beyond the edge on a 29 cm GPR
reflector ("on nothing", P(AT) + P(UXO) 0.056 at a cost tie, mixed_field seed 3). Neither
finds more AP mines without more false AT labels (issue 12), so **the average is off by
default** (``average_half_window_m`` 0: every reading alone, no faint answers).

**Depth and metal content.** The amplitude of a small target's induced dipole falls as the
sixth power of the coil-to-target distance (docs/sources.md), so the amplitude alone says little
about how much metal there is: a 20 g fragment 2 cm deep gives a larger signal than a
kilogram-class AT mine 20 cm deep. But the footprint's width grows with that distance: for
``A = k / (x^2 + y^2 + z^2)^3`` a coil passing at lateral offset ``y`` sees an along-track
full width at half maximum of ``FWHM_PER_DISTANCE * sqrt(z^2 + y^2)`` (1.02). The processor

1. measures the along-track FWHM on the peak coil and the lateral offset (log-parabola across
   three coils) for a first guess of ``z``;
2. fits ``A = k / (|p - q|^2 + z^2)^3 + b`` to the background-removed readings of the peak
   coil and ``FIT_COILS_EITHER_SIDE`` coils either side within about two FWHMs along track
   (their true map positions ``p``; ``q`` the target position, ``b`` residual drift; saturated
   readings left out), which uses the cross-coil spread as well;
3. at the array's edge (the peak on an outer coil, one side unseen) splits the fitted
   coil-to-target distance into depth and lateral offset by the peak's ratio to the inner
   neighbour (:meth:`MdProcessor._beyond_edge`): the fit alone slid to its shallowest bound
   there, and the metal with it (a TM-62M 20 cm deep read 0.00 m and a few grams);
4. reports ``depth = z - coil_height_m`` (the depth of the metal's centre, not the object's
   top: the MD cannot see the top) and the depth-corrected **metal content**
   ``k / metal_gain_mv_m6_per_kg`` in grams as ``strength`` (NaN when the fit ended farther
   from the peak coil than ``max_distance_m``: the distance, and so the metal, is unknown).

``metal_gain_mv_m6_per_kg`` is a calibration: the response (mV) of 1 kg of compact metal at
1 m. The default matches the simulator's model (``md_gain`` 0.08 mV m^6/kg times a shape factor
of about 1.2 for a compact PMN-like part), so the figure is "grams of compact-metal
equivalent": elongated parts read up to ~1.7 times their mass. A real integrator replaces it
by measuring test pieces of known mass at known depths with the real coils and electronics
(and replaces the r^-6 law by the coil's measured depth response where that is not a dipole).

``radius`` is half the along-track FWHM of the footprint (a blur size for the fusion grid,
not the object's size). A footprint with ``uxo_min_metal_g`` of metal and an along-track FWHM
``uxo_min_elongation`` times that of a point target at the fitted distance is flagged
``DetectionKind.UXO`` as a hint for fusion (the 25 cm coil pitch does not resolve the
footprint across track).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from typing import List, Optional, Tuple

import numpy as np
from scipy.optimize import least_squares

from demining_bringup.contract.datatypes import Detection, DetectionKind, MdScan
from demining_bringup.contract.parameters import ParamError, param
from demining_perception.along_track import AlongTrack, Move
from demining_perception.gpr.processing import MAD_TO_SIGMA, snr_confidence
from demining_perception.pose_buffer import PoseBuffer

#: Readings whose time offsets differ by less than this share a row (simultaneous coils), s.
ROW_TOLERANCE_S = 1e-3
#: The background median and noise MAD are refreshed after this many rows.
STATS_EVERY_ROWS = 5
#: The ratio of the along-track average's noise to a reading's is measured again after this
#: many rows (the noise itself follows a reading's, refreshed every ``STATS_EVERY_ROWS``): a
#: slow property of the 250-row window (how much of the noise is white), and averaging the
#: whole window costs several times the median's refresh. After 25 rows it lagged a crest
#: entering the window (test_md_depth_metal.py: a coil pressed onto loam found as metal).
AVERAGED_NOISE_EVERY_ROWS = 10
#: Initial number of pending rows (grows if ever needed; bounded by the decision reach).
_PENDING_CAPACITY = 256
#: Smallest footprint extent reported, m.
MIN_EXTENT_M = 0.02
#: Largest finite float (what np.nan_to_num makes of an infinite SNR).
_FLOAT_MAX = float(np.finfo(float).max)
#: Floor of the amplitude used in the log-parabola interpolation, detector units.
_LOG_FLOOR = 1e-3
#: Along-track FWHM of ``1 / (x^2 + R^2)^3`` over ``R``: 2 sqrt(2^(1/3) - 1).
FWHM_PER_DISTANCE = 2.0 * math.sqrt(2.0 ** (1.0 / 3.0) - 1.0)
#: The dipole fit uses rows within this many along-track FWHMs of the peak ...
FIT_WINDOW_PER_FWHM = 1.5
#: ... but at least this far, m (a shallow target's footprint is a few samples wide) ...
MIN_FIT_HALF_WINDOW_M = 0.1
#: ... and the peak coil plus this many coils either side.
FIT_COILS_EITHER_SIDE = 2
#: Fewest unsaturated readings a fit needs (4 unknowns, noisy data).
MIN_FIT_SAMPLES = 12
#: Typical scale of the fitted coordinates, m (least-squares variable scaling).
FIT_XY_SCALE_M = 0.05
#: Evaluation budget of one fit (converges in ~10-30).
FIT_MAX_EVALUATIONS = 100
#: The fitted coil-to-target distance is at least this fraction of the coil height (boom
#: bounce lowers the coils a little; a target cannot be above the ground).
MIN_DISTANCE_FRACTION = 0.8
#: A reading at this fraction of ``saturation_mv`` or above is saturated (left out of fits).
SATURATION_FRACTION = 0.999
GRAMS_PER_KG = 1000.0
#: A coil this many noise sigmas under a plateau's level is on it (``_ground_response``).
GROUND_NOISE_SIGMAS = 2.0
#: A neighbour coil weaker than this SNR counts as this level (across-track distance, edge).
ACROSS_MIN_SNR = 2.0
#: A neighbour informs the across-track distance when it is this fraction of the coil pitch
#: farther from the target than the peak coil.
ACROSS_MIN_LEVER = 0.25


@dataclasses.dataclass(frozen=True)
class MdParams:
    """Parameters of the metal-detector processor (node ``md_processor``)."""

    background_window_samples: int = param(
        250, 'samples per coil in the running-median background (5 s at 50 Hz)',
        min=8, max=10000)
    min_background_samples: int = param(
        25, 'samples needed before detection starts on a coil', min=4, max=10000)
    min_step_m: float = param(
        0.004, 'a row is used only after the boom moved this far along its direction of '
        'travel in map, m', min=0.0, max=1.0)
    scan_break_m: float = param(
        0.1, 'the boom moving back or sideways this far from the last row used is a reversal '
        'or a turn; smaller moves are the map pose\'s jitter (1-3 cm at an RTK fix), m',
        min=0.0, max=1.0)
    snr_threshold: float = param(
        6.0, 'peak amplitude over the noise sigma (MAD) a detection needs', min=1.0, max=1e4)
    noise_floor_mv: float = param(0.3, 'lower bound of the per-coil noise sigma, mV',
                                  min=1e-6, max=1e3)
    average_half_window_m: float = param(
        0.0, 'detection runs on each coil\'s residual averaged over this along-track '
        'distance either side, its noise measured the same way (a matched filter for '
        'footprints several centimetres long); 0, the default: every reading alone. 0.03 '
        'found 2 more of 137 AP mines on bench/perception.py and made 2 more false AT labels, '
        'with the fusion\'s faint-answer likelihood (module docstring), m', min=0.0, max=0.2)
    faint_at_edge: bool = param(
        True, 'report faint footprints (found on the average only) on an outer coil too. One '
        'side is unseen there, so one is as likely the tail of a loud target beyond the edge '
        '(a TM-62M 0.56 m beyond the outer coil read SNR 4.6 averaged) as a faint target '
        'under the coil. Left out, the AP mines heard only there are missed (2 of 137 on '
        'bench/perception.py); reported, the fusion reads them as a little metal at the '
        'coil, but one such tail on a deep GPR reflector was AT at a cost tie (mixed_field '
        'seed 3: module docstring)')
    peak_half_window_m: float = param(
        0.15, 'a peak must be the largest within this along-track distance, m',
        min=0.01, max=2.0)
    footprint_half_window_m: float = param(
        0.4, 'along-track reach when measuring a footprint (delays decisions), m',
        min=0.01, max=5.0)
    coil_height_m: float = param(
        0.05, 'coil height above the ground, m (depth = fitted coil-to-target distance minus '
        'this; the simulator default)', min=0.0, max=1.0)
    metal_gain_mv_m6_per_kg: float = param(
        0.096, 'calibration: response of 1 kg of compact metal at 1 m, mV m^6/kg (metal '
        'content = fitted scale / this; default = simulator md_gain 0.08 x shape factor 1.2; '
        'replace by a test-piece calibration of the real detector)', min=1e-9, max=1e9)
    max_distance_m: float = param(
        0.8, 'largest coil-to-target distance a fit may return, m', min=0.05, max=5.0)
    saturation_mv: float = param(
        5000.0, 'receiver saturation: readings at this level are left out of the fit, mV',
        min=1.0, max=1e9)
    uxo_min_metal_g: float = param(
        300.0, 'a footprint with this much metal and elongated is hinted as UXO, g '
        '(docs/sources.md: 82 mm mortar ~2.5 kg steel; clutter 1-100 g)', min=0.0, max=1e9)
    uxo_min_elongation: float = param(
        2.0, 'along-track FWHM over that of a point target that counts as elongated',
        min=1.0, max=100.0)
    ground_min_coils: int = param(
        3, 'a peak with this many coils within ground_coil_fraction of it in its row is the '
        'ground (a coil pressed onto magnetic soil over a crest), not metal: a compact '
        'object puts at most two coils that close to its peak (0 disables)', min=0, max=64)
    ground_coil_fraction: float = param(
        0.85, 'share of the peak a coil must reach to count as part of the same plateau',
        min=0.05, max=1.0)
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
    ground_responses: int = 0       # array-wide peaks taken for the ground, not metal
    faint_at_edge: int = 0          # faint footprints on an outer coil, left out


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
        #: Background window, one row per coil (so each coil's readings are contiguous for
        #: the medians), filled as a ring at ``_head``.
        self._buf = np.zeros((0, 0))
        #: The along-track distance of each background row (the averaging needs their order).
        self._buf_s = np.zeros(0)
        self._count = 0
        self._head = 0
        self._track = AlongTrack(self.params.min_step_m, self.params.scan_break_m)
        self._s = 0.0
        # Pending rows [start, n): along-track distance, coil map positions, residual, snr.
        self._start = self._n = self._decided = 0
        self._p_s = np.zeros(0)
        self._p_xy = np.zeros((0, 0, 2))
        self._p_res = np.zeros((0, 0))
        self._p_snr = np.zeros((0, 0))
        self._p_sat = np.zeros((0, 0), dtype=bool)
        self._p_sig_avg = np.zeros((0, 0))
        self._bg: Optional[np.ndarray] = None
        self._sigma: Optional[np.ndarray] = None
        self._sigma_avg: Optional[np.ndarray] = None
        self._avg_ratio: Optional[np.ndarray] = None
        self._since_stats = 0
        self._since_avg_noise = 0

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
        n_valid = int(np.count_nonzero(valid))
        self.stats.readings_no_pose += n - n_valid
        if not n_valid:
            return []
        n_coils = int(ch[valid].max()) + 1
        if n_coils != self._n_coils:
            self.reset()
            self._n_coils = n_coils
            self._buf = np.full((n_coils, self.params.background_window_samples), np.nan)
            self._buf_s = np.full(self.params.background_window_samples, np.nan)
        # Rows: readings taken at the same instant.
        t_v = times[valid]
        order = np.argsort(t_v, kind='stable')
        t_sorted = t_v[order]
        row_id = np.zeros(n_valid, dtype=np.intp)
        # (np.diff's subtraction without its set-up)
        np.cumsum(t_sorted[1:] - t_sorted[:-1] > ROW_TOLERANCE_S, out=row_id[1:])
        n_rows = int(row_id[-1]) + 1
        vals = np.full((n_rows, n_coils), np.nan)
        pos = np.full((n_rows, n_coils, 2), np.nan)
        idx = np.flatnonzero(valid)[order]
        vals[row_id, ch[idx]] = sig[idx]
        pos[row_id, ch[idx]] = xy[idx]
        kept, bgs, sigmas, sigmas_avg, s_vals = self._rows(vals, pos)
        out: List[Detection] = []
        if kept:
            if len(kept) < n_rows:      # (the rows kept are in order: all of them, or fewer)
                vals, pos = vals[kept], pos[kept]
            res = vals - np.array(bgs)
            snr = res / np.array(sigmas)
            # np.nan_to_num(snr, nan=-inf) without its overhead: a missing coil is no peak
            np.clip(snr, -_FLOAT_MAX, _FLOAT_MAX, out=snr)
            snr[np.isnan(snr)] = -np.inf
            sat = vals >= self.params.saturation_mv * SATURATION_FRACTION
            self._append(np.array(s_vals), pos, res, snr, sat,
                         np.array(sigmas_avg) if sigmas_avg else None)
            out = self._decide()
        self.stats.detections += len(out)
        return out

    # -- internals ---------------------------------------------------------------------------

    def _rows(self, vals: np.ndarray, pos: np.ndarray):
        """Movement gate, background window and statistics, row by row (cheap per row).

        Returns the rows kept for detection with the background, noise (of a reading and of
        the along-track average) and along-track distance each was judged with (the
        statistics from before the row, as streaming).
        """
        p = self.params
        centres = _row_centres(pos).tolist()
        kept: List[int] = []
        bgs: List[np.ndarray] = []
        sigmas: List[np.ndarray] = []
        sigmas_avg: List[np.ndarray] = []
        s_vals: List[float] = []
        w = self._buf.shape[1]
        averaging = p.average_half_window_m > 0.0
        for r, (cx, cy) in enumerate(centres):
            # Progress along the direction of travel (a ratchet over the map pose's jitter:
            # demining_perception/along_track.py); a row without a position is skipped.
            move, dist = self._track.advance(cx, cy) if math.isfinite(cx + cy) else \
                (Move.STILL, 0.0)
            if move is Move.STILL:
                self.stats.rows_still += 1
                continue
            self._s += dist
            ready = self._count >= p.min_background_samples
            if ready and (self._bg is None or self._since_stats >= STATS_EVERY_ROWS):
                self._refresh()
            self._since_stats += 1
            self._since_avg_noise += 1
            self._buf[:, self._head] = vals[r]
            self._buf_s[self._head] = self._s
            self._head = (self._head + 1) % w
            self._count = min(self._count + 1, w)
            if ready:
                kept.append(r)
                bgs.append(self._bg)
                sigmas.append(self._sigma)
                if averaging:
                    sigmas_avg.append(self._sigma_avg)
                s_vals.append(self._s)
        return kept, bgs, sigmas, sigmas_avg, s_vals

    def _refresh(self) -> None:
        """Median and MAD over the window (``nanmedian`` only when a coil was missing)."""
        p = self.params
        win = self._buf[:, :self._count]
        if np.isnan(win).any():
            with warnings.catch_warnings():
                warnings.simplefilter('ignore', RuntimeWarning)   # an all-NaN coil
                bg = np.nanmedian(win, axis=1)
                sigma = MAD_TO_SIGMA * np.nanmedian(np.abs(win - bg[:, None]), axis=1)
            sigma = np.nan_to_num(sigma, nan=p.noise_floor_mv)
        else:
            # A complete window has no NaN to skip: plain order statistics, several times
            # cheaper than np.nanmedian (and than np.median, which checks for NaN again).
            bg = _median_rows(win.copy())
            dev = win - bg[:, None]
            sigma = MAD_TO_SIGMA * _median_rows(np.abs(dev, out=dev))
        self._bg = bg
        self._sigma = np.maximum(sigma, p.noise_floor_mv)
        if p.average_half_window_m <= 0.0:
            self._sigma_avg = self._sigma
        else:
            if self._avg_ratio is None or self._since_avg_noise >= AVERAGED_NOISE_EVERY_ROWS:
                self._avg_ratio = self._averaged_noise(win, bg) / self._sigma
                self._since_avg_noise = 0
            self._sigma_avg = np.maximum(self._sigma * self._avg_ratio, p.noise_floor_mv)
        self._since_stats = 0

    def _averaged_noise(self, win: np.ndarray, bg: np.ndarray) -> np.ndarray:
        """Noise sigma (MAD) of the window's residuals averaged as detection averages them.

        Measured, not assumed: white electronic noise averages down with the number of
        readings, the slow drift and the soil's response to boom bounce do not, and the
        threshold must hold against what is left.
        """
        n = self._count
        # the ring in the order the rows came (the averaging needs their along-track order)
        order = np.arange(n) if n < self._buf.shape[1] else \
            np.add(np.arange(n), self._head) % n
        avg = along_track_average(self._buf_s.take(order), win.take(order, axis=1).T,
                                  self.params.average_half_window_m)
        dev = np.subtract(avg.T, bg[:, None], order='C')
        np.abs(dev, out=dev)
        if np.isnan(dev).any():
            with warnings.catch_warnings():
                warnings.simplefilter('ignore', RuntimeWarning)   # an all-NaN coil
                sigma = MAD_TO_SIGMA * np.nanmedian(dev, axis=1)
            return np.nan_to_num(sigma, nan=self.params.noise_floor_mv)
        return MAD_TO_SIGMA * _median_rows(dev)

    def _append(self, s: np.ndarray, xy: np.ndarray, res: np.ndarray, snr: np.ndarray,
                sat: np.ndarray, sig_avg: Optional[np.ndarray]) -> None:
        """Append pending rows, compacting (or growing) the arrays when full."""
        m, nc = res.shape
        cap = len(self._p_s)
        if self._n + m > cap or self._p_res.shape[1] != nc:
            live = self._n - self._start
            new_cap = max(_PENDING_CAPACITY, 2 * (live + m))
            keep = slice(self._start, self._n)
            arrays = []
            for arr, shape in ((self._p_s, (new_cap,)), (self._p_xy, (new_cap, nc, 2)),
                               (self._p_res, (new_cap, nc)), (self._p_snr, (new_cap, nc)),
                               (self._p_sat, (new_cap, nc)),
                               (self._p_sig_avg, (new_cap, nc))):
                new = np.zeros(shape, dtype=arr.dtype)
                if live:
                    new[:live] = arr[keep]
                arrays.append(new)
            (self._p_s, self._p_xy, self._p_res, self._p_snr, self._p_sat,
             self._p_sig_avg) = arrays
            self._decided -= self._start
            self._n, self._start = live, 0
        i, j = self._n, self._n + m
        self._p_s[i:j] = s
        self._p_xy[i:j] = xy
        self._p_res[i:j] = res
        self._p_snr[i:j] = snr
        self._p_sat[i:j] = sat
        if sig_avg is not None:
            self._p_sig_avg[i:j] = sig_avg
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
            # Detection and the peak pick run on the along-track average (rows ``reach``
            # before and after a decided row are pending, so its window is whole); the
            # footprint's measurements below use the readings themselves.
            averaged = p.average_half_window_m > 0.0
            if averaged:
                amp, score = self._averaged(s_arr, res, d0, lim)
            else:
                amp, score = None, snr[d0:lim]
            rows_c, coils_c = np.nonzero(score >= p.snr_threshold)
            if rows_c.size and amp is None:
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
                # (a noise allowance for the average only: reading by reading a plateau's
                # coils sit within the fraction of its peak)
                noise = self._p_sig_avg[a + i] if averaged else 0.0
                if self._ground_response(amp[i], v, self._p_sat[a + i, c], noise):
                    self.stats.ground_responses += 1
                    continue
                found = float(score[i - d0, c])
                if averaged:
                    # the footprint is measured about the peak reading of the averaged peak
                    # (the average's maximum lies a little off it on a sloped footprint)
                    w0 = int(np.searchsorted(s_arr, s_arr[i] - p.average_half_window_m,
                                             side='left'))
                    w1 = int(np.searchsorted(s_arr, s_arr[i] + p.average_half_window_m,
                                             side='right'))
                    i = w0 + int(np.argmax(np.nan_to_num(res[w0:w1, c], nan=-np.inf)))
                # Faint: no reading of the footprint's peak (its row and coil, and the
                # readings either side within the average's reach) passes the threshold; a
                # neighbour's may where the average picked the coil beside the loudest one.
                raw = float(snr[w0:w1, lo:hi].max()) if averaged else float(snr[i, c])
                faint = raw < p.snr_threshold
                if faint and not p.faint_at_edge and not (
                        0 < c < n_coils - 1 and np.isfinite(res[i, c - 1])
                        and np.isfinite(res[i, c + 1])):
                    # (faint_at_edge) one side is unseen there: the tail of a loud target
                    # beyond the edge reads as faint as a faint target under the coil
                    self.stats.faint_at_edge += 1
                    continue
                out.append(self._detection(i, c, s_arr, res, snr, faint=faint,
                                           score=min(found, max(raw, p.snr_threshold))))
            self._decided = a + lim
        # Keep only rows a future decision may look at.
        d0 = self._decided - a
        first = s_arr[d0] if d0 < n_rows else s_arr[-1]
        self._start = a + int(np.searchsorted(s_arr[:d0], first - reach, side='left'))
        return out

    def _averaged(self, s_arr: np.ndarray, res: np.ndarray, d0: int, lim: int
                  ) -> Tuple[np.ndarray, np.ndarray]:
        """Along-track average of the pending residuals and its SNR for deciding rows d0:lim.

        Returns the average (``-inf`` where no reading, and on the rows the decision does not
        look at: only those within ``peak_half_window_m`` of a row decided are computed, from
        the readings within ``average_half_window_m`` of them) and the SNR of rows d0:lim.
        """
        p = self.params
        half, avg_half = p.peak_half_window_m, p.average_half_window_m
        t0 = int(s_arr.searchsorted(s_arr[d0] - half, side='left'))
        t1 = int(s_arr.searchsorted(s_arr[lim - 1] + half, side='right'))
        b0 = int(s_arr.searchsorted(s_arr[t0] - avg_half, side='left'))
        b1 = int(s_arr.searchsorted(s_arr[t1 - 1] + avg_half, side='right'))
        amp = np.full(res.shape, -np.inf)
        avg = along_track_average(s_arr[b0:b1], res[b0:b1], avg_half)
        np.fmax(avg[t0 - b0:t1 - b0], -np.inf, out=amp[t0:t1])     # NaN (no reading): -inf
        a = self._start
        return amp, amp[d0:lim] / self._p_sig_avg[a + d0:a + lim]

    def _ground_response(self, row: np.ndarray, peak: float, saturated: bool,
                         noise: np.ndarray | float) -> bool:
        """Whether a peak is the ground's response across the array rather than metal.

        A compact metal object is a dipole whose response falls as
        ``(z^2 / (z^2 + d^2))^3`` with the across-track distance ``d`` from it: at the 25 cm coil
        pitch the coils either side of the one above it read at most half of it down to 0.45 m
        (``z`` 0.5 m), and one between two coils gives those two alike and the next ones a
        third or less. Three or more coils at the peak's level is a plateau no compact object
        makes: the array itself moving against the soil, a coil pressed onto magnetic soil
        (the soil response grows as ``h^-3``) as the boom passes a crest or the machine
        pitches. Left in, the dipole fit reads it as tens of kilograms of metal deep down and
        the fusion as an AT mine. Metal longer than the span across the
        track (rails, wire) is not a mine; the GPR sees large metal. A saturated peak is not
        judged (a large shallow metal object saturates several coils). A coil within
        ``GROUND_NOISE_SIGMAS`` of its noise (``noise``, per coil, of the data judged) below
        that level counts too: a coil pressed onto loam reads ~4 mV over its background, which
        the along-track average detects, and its noise spreads the plateau's coils by more
        than the fraction.
        """
        p = self.params
        if p.ground_min_coils <= 0 or saturated or not peak > 0.0:
            return False
        level = p.ground_coil_fraction * peak - GROUND_NOISE_SIGMAS * np.nan_to_num(noise)
        return int(np.count_nonzero(row >= level)) >= p.ground_min_coils

    def _detection(self, i: int, c: int, s_arr: np.ndarray, res: np.ndarray,
                   snr: np.ndarray, faint: bool = False, score: float = math.inf) -> Detection:
        """The detection of the peak reading at row ``i``, coil ``c``.

        ``faint``: no reading about the peak passes the threshold (found on the along-track
        average only): no fit, no metal estimate. ``score``: the SNR of its confidence, that of
        the loudest reading about the peak (as without the average), the threshold's for a
        faint one: the fusion reads a confidence of twice the threshold's SNR as a metal
        estimate within a factor ~1.5 (``md_reliable_confidence``), which holds for the
        footprint's readings, not for their average (a rock's 10 mV reading of SNR 7.9 averaged
        to 13: its 17.7 g counted as reliable and made it an AT mine, mixed_field seed 1).
        """
        p = self.params
        row = res[i]
        n_coils = len(row)
        peak = row[c]
        # Log-parabola through the peak coil and its neighbours (floored where missing).
        left = row[c - 1] if c > 0 and np.isfinite(row[c - 1]) else np.nan
        right = row[c + 1] if c + 1 < n_coils and np.isfinite(row[c + 1]) else np.nan
        offset = 0.0
        xy = self._p_xy[self._start + i]
        spacing = _coil_spacing(xy)
        # At the array's edge (or beside a dead coil) one side is unknown, not zero: floored,
        # it pulled a target beyond the outer coil inwards (:meth:`_beyond_edge` places it).
        edge = not (np.isfinite(left) and np.isfinite(right))
        if not edge:
            la = math.log(max(left if np.isfinite(left) else _LOG_FLOOR, _LOG_FLOOR))
            lb = math.log(max(peak, _LOG_FLOOR))
            lc = math.log(max(right if np.isfinite(right) else _LOG_FLOOR, _LOG_FLOOR))
            den = la - 2.0 * lb + lc
            if den < 0.0:
                offset = float(np.clip(0.5 * (la - lc) / den, -0.5, 0.5))
        nb = c + (1 if offset > 0 else -1)
        base = xy[c]
        if 0 <= nb < n_coils and np.all(np.isfinite(xy[nb])) and offset != 0.0:
            base = xy[c] + abs(offset) * (xy[nb] - xy[c])
        # Along-track extent at half maximum on the peak coil (only rows within the decision
        # reach, so the result does not depend on batch boundaries), edges interpolated.
        reach = max(p.peak_half_window_m, p.footprint_half_window_m)
        r0 = int(np.searchsorted(s_arr, s_arr[i] - reach, side='left'))
        r1 = int(np.searchsorted(s_arr, s_arr[i] + reach, side='right'))
        along = max(_half_max_width(s_arr[r0:r1], res[r0:r1, c], i - r0), MIN_EXTENT_M)
        # First guess of the coil-to-target distance: for A ~ 1 / (z^2 + y^2 + x^2)^3 the
        # along-track FWHM of a coil at lateral offset y is FWHM_PER_DISTANCE * sqrt(z^2 + y^2).
        lateral = abs(offset) * spacing
        slant = along / FWHM_PER_DISTANCE
        z0 = math.sqrt(max(slant * slant - lateral * lateral, (0.5 * slant) ** 2))
        # A saturated peak is a plateau: its first reading won the peak pick and its width
        # is not the footprint's; the fit (which leaves saturated readings out) decides.
        saturated = bool(self._p_sat[self._start + i, c])
        # A footprint found on the along-track average only has too little signal in its
        # readings for the fit: noise widens it, and the metal grows as the sixth power of the
        # distance (a TS-50 1.5 cm deep between two coils read 13-101 g at 0.20-0.30 m).
        est = None if faint else self._fit(i, c, s_arr, res, base, z0, along)
        # A fit farther from the peak coil than any target it can hear (``max_distance_m``)
        # is no fit at all: its distance and scale belong to that far point (a TM-62M beyond
        # the outer coil fitted 30 m aside read 31 m deep and 9e13 g, and the track's metal
        # estimate became tens of kilograms).
        wandered = est is not None and math.hypot(est[0] - xy[c][0], est[1] - xy[c][1]) > \
            p.max_distance_m
        if wandered:
            est = None
        if est is not None:
            fx, fy, z, k = est
            # The fit's position is better than the 3-coil interpolation unless it wandered
            # (beyond the edge :meth:`_beyond_edge` places it from the fit's distance).
            tol = max(0.5 * spacing, MIN_EXTENT_M, along if saturated else 0.0)
            if math.hypot(fx - base[0], fy - base[1]) <= tol:
                base = np.array([fx, fy])
        else:
            z = max(z0, p.coil_height_m)
            k = max(float(peak), 0.0) * (z * z + lateral * lateral) ** 3
        if edge and est is not None and not saturated:
            outside = self._beyond_edge(c, row, snr[i], xy, est)
            if outside is not None:
                base, z, lateral = outside
                k = float(peak) * (z * z + lateral * lateral) ** 3
        # Elongation (a hint): for a point target the distance from the along-track FWHM of
        # the peak coil and the one from the amplitude ratio of the peak coil and its
        # stronger neighbour across track agree (the fit balances both); an object stretched
        # along track (a shell, a rod) widens the first and not the second. Its point-dipole
        # fit then puts it too deep and too heavy, so the across-track distance is used.
        elongation = 1.0
        if est is not None and not saturated:
            z_across, lateral = self._across_distance(c, row, snr[i], xy, base, peak)
            z_along = math.sqrt(max(slant * slant - lateral * lateral, MIN_EXTENT_M ** 2))
            elongation = z_along / z_across if z_across else 1.0
            if z_across and elongation >= p.uxo_min_elongation:
                z = max(z_across, MIN_DISTANCE_FRACTION * p.coil_height_m)
                k = float(peak) * (z * z + lateral * lateral) ** 3
        # after a wandered fit, or without one, the distance, and so the metal, is unknown:
        # reported as NaN (the fusion counts the hit, not a metal estimate), neither grams nor
        # tonnes
        metal_g = math.nan if wandered or faint else GRAMS_PER_KG * k / p.metal_gain_mv_m6_per_kg
        depth = max(0.0, z - p.coil_height_m)
        kind = (DetectionKind.UXO if metal_g >= p.uxo_min_metal_g
                and elongation >= p.uxo_min_elongation else DetectionKind.UNKNOWN)
        return Detection(x=float(base[0]), y=float(base[1]), depth=float(depth),
                         confidence=snr_confidence(score, p.snr_threshold), kind=kind,
                         source='md', radius=0.5 * along, strength=float(metal_g))

    def _neighbour_level(self, row: np.ndarray, snr_row: np.ndarray, nb: int) -> float:
        """A neighbour coil's reading, or ``ACROSS_MIN_SNR`` times its noise sigma when weaker."""
        # the noise sigma the reading was judged with (snr = residual / sigma)
        ratio = abs(float(row[nb] / snr_row[nb])) if snr_row[nb] != 0.0 else math.nan
        sigma = ratio if math.isfinite(ratio) else self.params.noise_floor_mv
        return max(float(row[nb]), ACROSS_MIN_SNR * sigma)

    def _beyond_edge(self, c: int, row: np.ndarray, snr_row: np.ndarray, xy: np.ndarray,
                     est: Tuple[float, float, float, float]
                     ) -> Optional[Tuple[np.ndarray, float, float]]:
        """Position, coil-to-target distance and lateral offset of a target at the array's edge.

        Seen from one side only, the dipole fit gets the distance from the peak coil right (the
        along-track shape) but trades lateral offset for depth along it and ends at its
        shallowest bound: a TM-62P 0.18 m deep, 0.1 m beyond the outer coil, was reported
        0.00 m deep and 0.15 m too far out (its metal right). The ratio ``q`` of the peak to
        the inner neighbour, a coil spacing ``d`` farther, splits that distance ``s``:
        ``s^2 = z^2 + y^2`` and ``q s^2 = z^2 + (y + d)^2`` give ``y = ((q - 1) s^2 - d^2) /
        (2 d)`` (``y`` the offset from the peak coil, outwards). A neighbour below
        ``ACROSS_MIN_SNR`` counts as that level (as in :meth:`_across_distance`): ``y`` is
        then a lower bound and the depth an upper one (a TM-62P beyond the edge whose inner
        neighbour read -0.6 mV, noise, was otherwise left at 0.00 m). None when there is no
        inner neighbour or the distance is all lateral.
        """
        n_coils = len(row)
        inner = c + 1 if (c + 1 < n_coils and np.isfinite(row[c + 1])) else c - 1
        peak = float(row[c])
        if not (0 <= inner < n_coils and np.isfinite(row[inner]) and peak > 0.0
                and np.all(np.isfinite(xy[[c, inner]]))):
            return None
        out = xy[c] - xy[inner]
        d = float(np.hypot(*out))
        if not d > 0.0:
            return None
        out = out / d
        fx, fy, fz, _ = est
        y_fit = float(np.dot(np.array([fx, fy]) - xy[c], out))
        s2 = fz * fz + y_fit * y_fit
        q = (peak / max(self._neighbour_level(row, snr_row, inner), _LOG_FLOOR)) ** (1.0 / 3.0)
        # the peak is on the edge coil: the target is not inside it (noise in q said so)
        y = float(np.clip(((q - 1.0) * s2 - d * d) / (2.0 * d), 0.0, d))
        z2 = s2 - y * y
        if not z2 > (MIN_DISTANCE_FRACTION * self.params.coil_height_m) ** 2:
            return None
        along = np.array([fx, fy]) - xy[c] - y_fit * out      # the fit's along-track position
        return xy[c] + along + y * out, math.sqrt(z2), y

    def _across_distance(self, c: int, row: np.ndarray, snr_row: np.ndarray, xy: np.ndarray,
                         base: np.ndarray, peak: float) -> Tuple[Optional[float], float]:
        """Coil-to-target distance from the peak row across coils, and the lateral offset.

        ``A_n / A_c = ((z^2 + y_c^2) / (z^2 + y_n^2))^3`` for the peak coil ``c`` and a
        neighbour ``n`` at lateral offsets ``y_c``, ``y_n`` from the target; a neighbour below
        ``ACROSS_MIN_SNR`` counts as that level (an upper bound on z). Only neighbours clearly
        farther from the target than the peak coil inform (between two coils the ratio is ~1
        whatever z); the larger estimate is kept. None when no neighbour informs.
        """
        n_coils = len(row)
        best: Optional[float] = None
        lateral = 0.0
        if not peak > 0.0:
            return None, lateral
        for nb in (c - 1, c + 1):
            if not (0 <= nb < n_coils and np.isfinite(row[nb]) and np.all(np.isfinite(xy[nb]))):
                continue
            across = xy[nb] - xy[c]
            norm = float(np.hypot(*across))
            if not norm > 0.0:
                continue
            y_c = float(np.dot(base - xy[c], across)) / norm
            y_n = norm - y_c
            lateral = abs(y_c)
            if abs(y_n) - abs(y_c) < ACROSS_MIN_LEVER * norm:
                continue
            level = self._neighbour_level(row, snr_row, nb)
            q = (peak / level) ** (1.0 / 3.0)       # (z^2 + y_n^2) / (z^2 + y_c^2)
            if not q > 1.0 + 1e-9:
                continue
            z2 = (y_n * y_n - q * y_c * y_c) / (q - 1.0)
            z = math.sqrt(z2) if z2 > 0.0 else MIN_EXTENT_M
            z = float(np.clip(z, MIN_EXTENT_M, self.params.max_distance_m))
            best = z if best is None else max(best, z)
        return best, lateral

    def _fit(self, i: int, c: int, s_arr: np.ndarray, res: np.ndarray, base: np.ndarray,
             z0: float, along: float) -> Optional[Tuple[float, float, float, float]]:
        """Fit the dipole footprint around row ``i``, coil ``c``; None when it fails."""
        p = self.params
        half = float(np.clip(FIT_WINDOW_PER_FWHM * along, MIN_FIT_HALF_WINDOW_M,
                             p.footprint_half_window_m))
        r0 = int(np.searchsorted(s_arr, s_arr[i] - half, side='left'))
        r1 = int(np.searchsorted(s_arr, s_arr[i] + half, side='right'))
        lo = max(0, c - FIT_COILS_EITHER_SIDE)
        hi = min(res.shape[1], c + FIT_COILS_EITHER_SIDE + 1)
        a = self._start
        amp = res[r0:r1, lo:hi].ravel()
        pts = self._p_xy[a + r0:a + r1, lo:hi].reshape(-1, 2)
        coil = np.broadcast_to(np.arange(lo, hi), (r1 - r0, hi - lo)).ravel()
        ok = (np.isfinite(amp) & np.all(np.isfinite(pts), axis=1)
              & ~self._p_sat[a + r0:a + r1, lo:hi].ravel())
        if np.count_nonzero(ok) < MIN_FIT_SAMPLES:
            return None
        return fit_dipole(pts[ok], amp[ok], float(base[0]), float(base[1]), z0,
                          z_min=MIN_DISTANCE_FRACTION * p.coil_height_m, z_max=p.max_distance_m,
                          coil=coil[ok])


def along_track_average(s: np.ndarray, values: np.ndarray, half_window: float) -> np.ndarray:
    """Mean of ``values`` (rows x coils) over the rows within ``half_window`` along track.

    ``s`` (rows) is the rows' along-track distance, non-decreasing; NaN readings (a missing
    coil) are left out of the mean, and a window without any reading is NaN.
    """
    lo = s.searchsorted(s - half_window, side='left')
    hi = s.searchsorted(s + half_window, side='right')
    total = np.zeros((values.shape[0] + 1, values.shape[1]))
    finite = np.isfinite(values)
    # (np.add.accumulate and take: np.cumsum and fancy indexing cost twice as much here)
    if finite.all():
        # the usual case (every coil read): each window holds its own row, no count to keep
        np.add.accumulate(values, axis=0, out=total[1:])
        return (total.take(hi, axis=0) - total.take(lo, axis=0)) / (hi - lo)[:, None]
    np.add.accumulate(np.where(finite, values, 0.0), axis=0, out=total[1:])
    count = np.zeros(total.shape)
    np.add.accumulate(finite, axis=0, out=count[1:])
    n = count.take(hi, axis=0) - count.take(lo, axis=0)
    return np.divide(total.take(hi, axis=0) - total.take(lo, axis=0), n,
                     out=np.full(n.shape, np.nan), where=n > 0)


def _row_centres(pos: np.ndarray) -> np.ndarray:
    """Mean position of each row's coils, NaN for a row without any (``np.nanmean`` over
    axis 1, the same sums, without its warnings machinery)."""
    missing = np.isnan(pos)
    if not missing.any():
        # Every coil placed (the usual row): the same sums over the same values.
        return pos.sum(axis=1) / pos.shape[1]
    total = np.where(missing, 0.0, pos).sum(axis=1)
    count = np.count_nonzero(~missing, axis=1)
    return np.divide(total, count, out=np.full_like(total, np.nan), where=count > 0)


def _median_rows(a: np.ndarray) -> np.ndarray:
    """Median of each row of ``a`` (no NaN; ``a`` is partitioned in place), as ``np.median``
    computes it: the middle order statistic, or the mean of the two middle ones."""
    n = a.shape[1]
    half = n // 2
    a.partition(half, axis=1)
    if n % 2:
        return a[:, half].copy()
    # The other middle one is the largest below ``half``: a maximum costs a fraction of a
    # second selection (np.partition with two kth is ~3x one on 8 x 250 samples).
    return (a[:, :half].max(axis=1) + a[:, half]) / 2.0


def _coil_spacing(xy: np.ndarray) -> float:
    """Median distance between neighbouring coils of a row, m."""
    d = np.hypot(*np.diff(xy, axis=0).T)
    d = d[np.isfinite(d)]
    return float(np.median(d)) if d.size else 0.25


def _half_max_width(s: np.ndarray, a: np.ndarray, i: int) -> float:
    """Width of the run of ``a`` above half of ``a[i]`` around ``i``, edges interpolated."""
    half = 0.5 * a[i]
    v = np.nan_to_num(a, nan=-np.inf)
    lo = i
    while lo > 0 and v[lo - 1] >= half:
        lo -= 1
    hi = i
    while hi + 1 < len(v) and v[hi + 1] >= half:
        hi += 1
    left, right = s[lo], s[hi]
    if lo > 0 and np.isfinite(v[lo - 1]):
        left -= (s[lo] - s[lo - 1]) * (v[lo] - half) / max(v[lo] - v[lo - 1], 1e-12)
    if hi + 1 < len(v) and np.isfinite(v[hi + 1]):
        right += (s[hi + 1] - s[hi]) * (v[hi] - half) / max(v[hi] - v[hi + 1], 1e-12)
    return float(right - left)


def dipole_basis(pts: np.ndarray, x0: float, y0: float, z: float) -> np.ndarray:
    """Unit-scale dipole response ``1 / (dx^2 + dy^2 + z^2)^3`` at coil positions ``pts``."""
    r2 = (pts[:, 0] - x0) ** 2 + (pts[:, 1] - y0) ** 2 + z * z
    return 1.0 / (r2 * r2 * r2)


def fit_dipole(pts: np.ndarray, amp: np.ndarray, x0: float, y0: float, z0: float,
               z_min: float, z_max: float, coil: Optional[np.ndarray] = None
               ) -> Optional[Tuple[float, float, float, float]]:
    """Least-squares fit of ``amp = k / (|pts - (x, y)|^2 + z^2)^3 + b_coil`` to coil readings.

    ``pts`` are coil positions in map (N x 2), ``amp`` their background-removed readings,
    ``coil`` the coil index of each (one offset ``b`` per coil absorbs what the running-median
    background left of each coil's drift; None: one common offset); the start is
    ``(x0, y0, z0)``, ``z`` (the coil-to-target distance) is kept within ``[z_min, z_max]``.
    The scale ``k`` and the offsets enter linearly and are solved for at every step (variable
    projection). Returns ``(x, y, z, k)`` or None when the fit fails or gives no positive
    response.
    """
    z0 = float(np.clip(z0, z_min, z_max))
    if coil is None:
        offsets = np.ones((len(amp), 1))
    else:
        _, inverse = np.unique(coil, return_inverse=True)
        offsets = np.zeros((len(amp), int(inverse.max()) + 1))
        offsets[np.arange(len(amp)), inverse] = 1.0
    scale = max(float(np.max(np.abs(amp))), 1e-9)

    def linear(theta):
        g = dipole_basis(pts, theta[0], theta[1], theta[2])
        coef, *_ = np.linalg.lstsq(np.column_stack([g, offsets]), amp, rcond=None)
        return g, coef

    def residual(theta):
        g, coef = linear(theta)
        return (g * coef[0] + offsets @ coef[1:] - amp) / scale

    try:
        sol = least_squares(residual, [x0, y0, z0],
                            bounds=([-np.inf, -np.inf, z_min], [np.inf, np.inf, z_max]),
                            x_scale=[FIT_XY_SCALE_M, FIT_XY_SCALE_M, FIT_XY_SCALE_M],
                            max_nfev=FIT_MAX_EVALUATIONS)
    except (ValueError, np.linalg.LinAlgError):
        return None
    if not np.all(np.isfinite(sol.x)):
        return None
    _, coef = linear(sol.x)
    if not coef[0] > 0.0:
        return None
    return float(sol.x[0]), float(sol.x[1]), float(sol.x[2]), float(coef[0])
