"""GPR processing chain: time-zero, background removal, gain, whitening, apex picking (no rclpy).

Per channel, each trace goes through

1. **time-zero / surface pick** (:func:`pick_surface`): the surface echo cannot come before
   the direct coupling (the strongest early envelope maximum, the transmit time) plus the
   two-way air time ``2 h / c`` (``antenna_height_m``), where it hides in the coupling's tail;
   with the antenna higher (terrain under the boom, pitch) it is the strongest envelope
   maximum after that, up to ``ground_search_max_ns``. A running median of these picks (sorted
   list, ``alignment_smoothing_traces``) follows the terrain, and the trace is shifted so the
   surface sits at the channel's reference sample (the first smoothed pick). While it lags a
   changing height, the misaligned bounce's residual at the window's top is no object
   (``surface_guard_depth_m``, :meth:`GprProcessor._surface_residual`);
2. **background removal**: a robust location (median) and scale (MAD) per sample over the last
   ``background_window_traces`` aligned traces (a sliding along-track window, only traces
   taken after the antenna moved ``min_trace_step_m`` along its track,
   :mod:`demining_perception.along_track`, so a stopped vehicle does not erase a target below
   it) are subtracted / divided out: this removes the ground bounce and antenna
   ringing and keeps hyperbolas. The exact median/MAD is computed once when a channel becomes
   ready; afterwards, every ``background_refresh_traces`` traces, one Newton step of each
   quantile equation (``fraction above = fraction below`` for the median, the same on the
   absolute residuals for the MAD) over the whole window moves the estimates towards the
   window's median/MAD. Like the median, a target trace can only move the fraction by one
   window slot, so targets do not leak into the background, at a small fraction of the cost
   of a full median (a strided ``np.partition`` over 128 x 256 samples costs ~2 ms);
3. **gain**: an exponential time-varying gain after the ground bounce (``gain_db_per_ns``)
   for display (:func:`render_bscan`); detection instead divides every sample by its own robust
   noise level, which is the same as gain plus a per-depth noise normalisation and makes the
   threshold a plain SNR;
4. **detection**: a diffraction stack (the whitened envelopes of the neighbouring traces
   averaged along the hyperbola an object at each depth of ``[min_depth_m, max_depth_m]``
   would draw) gives a per-trace score and apex time (the first echo in depth reaching
   :data:`TOP_ECHO_FRACTION` of the best, at least :data:`TOP_ECHO_MIN_GAP_NS` before it: an
   object's top, not a stronger bottom echo); an along-track peak picker keeps local maxima
   above ``snr_threshold`` within ``peak_half_window_m``, where (``apex_separation_ns`` > 0,
   files) a stronger trace whose apex comes that much later is another object, not this one's
   flank (and the hyperbola fit stops short of it). Stacking along the predicted
   moveout is the hyperbola check. The moveout is that of a ray refracted at the surface
   (:func:`moveout_ns`): an object at depth ``d`` draws the hyperbola of an object at the
   equivalent air depth ``D = h + d / sqrt(eps)`` below the antenna in air (the simulator's
   model, within 0.035 ns of gprMax FDTD, docs/gpr_validation.md), much flatter than a
   straight ray through the soil would give; the stack's aperture is a cone of fixed angle at
   the antenna over that geometry. The moveout is tabulated per channel against the neighbour
   distance (1 mm bins), so stacking every trace of a batch is one gather.

5. **hyperbola fit** (:func:`fit_hyperbola`) at every detection: the neighbouring envelopes
   (within ``peak_half_window_m``) are stacked along the refracted moveout of a flat-topped
   reflector for a grid of soil permittivities and flat-top half widths; the best pair gives
   the object's half width (mines are flat discs, stones and fragments point-like: a point
   target's *extent* always measured ~8 cm, its fitted half width is ~0) and the wave speed
   (the moveout's curvature sets the equivalent air depth ``D = h + c t_soil / (2 eps)``: the
   standard hyperbola velocity analysis, Annan 2009, docs/sources.md: :func:`fit_velocity`).
   The median of the last ``velocity_fit_count`` fits of point-like targets estimates the
   permittivity of the ground being scanned and is published in the diagnostics
   (``permittivity_estimate``); with ``estimate_permittivity`` it replaces the prior
   ``soil_permittivity`` once ``velocity_min_fits`` fits agree, and then sets the depth of
   every detection and the stack's moveout (off by default: the fits are not yet accurate
   enough, docs/gpr_validation.md);
6. **polarity**: the sign of the whitened trace at the apex against the sign of the
   transmitted pulse (the direct coupling in the channel's background): +1 for a positive
   reflection coefficient (an object of lower permittivity than the soil: a plastic or TNT
   mine body, eps ~3), -1 for metal (coefficient -1) or a stone in dry sand (Daniels 2004:
   polarity separates metal from non-metal and low- from high-permittivity targets); none
   (0) for an apex within ``polarity_guard_m`` of the window's top, where the lobe read may
   be the one after a centre lobe above the window;
7. **end-of-scan flush** (:meth:`GprProcessor.flush`): traces near the end of a scan (the
   last ``peak_half_window_m``) wait for neighbours that will never come; when the antenna
   stops (no step along its track for ``stop_flush_s``) or the file ends they are stacked with
   the neighbours there are and decided.

Depth is ``v * (t_apex - t_surface) / 2`` (the object's top) with the estimated wave speed,
position the centre of the fitted top in ``map``. State per channel is bounded (ring buffers,
compacted pending arrays), a batch is processed with array operations across channels and
traces, and every trace is treated the same whichever batch it came in, so results do not
depend on batch boundaries. A batch in which nothing can be decided (no channel has enough
traces ready to be scored) waits and is processed with the next one, in the same array calls
(:meth:`GprProcessor._can_wait`): what each batch returns is unchanged.
"""

from __future__ import annotations

import bisect
import collections
import dataclasses
import itertools
import math
from typing import Deque, Dict, Iterator, List, NamedTuple, Optional, Set, Tuple

import numpy as np

from demining_bringup.contract.datatypes import Detection, DetectionKind, GprScan
from demining_bringup.contract.parameters import ParamError, param
from demining_perception.along_track import AlongTrack, Move
from demining_perception.pose_buffer import PoseBuffer

#: Speed of light in vacuum, m/ns.
C_M_PER_NS = 0.299792458
#: MAD to standard deviation for Gaussian noise.
MAD_TO_SIGMA = 1.4826
#: A local envelope maximum after the direct coupling counts as the surface echo when it
#: reaches this fraction of the coupling's: the air-soil (normal-incidence Fresnel)
#: reflection coefficient (1 - sqrt(eps)) / (1 + sqrt(eps)) is 0.33 in dry sand (eps 4) to
#: 0.64 in wet clay (eps 20), the ringing tail has no maxima, and the noise stays far below.
SURFACE_PICK_FRACTION = 0.1
#: Diffraction-stack aperture: tangent of the half angle of the cone at the antenna (rays
#: leaving it, before refraction; the stack reaches ``D * APERTURE_TAN`` along track), and the
#: smallest half width, m.
APERTURE_TAN = 1.0
MIN_APERTURE_M = 0.03
#: Mean and standard deviation of a Rayleigh(sigma=1) variable (whitened noise envelope).
RAYLEIGH_MEAN = math.sqrt(math.pi / 2.0)
RAYLEIGH_STD = math.sqrt(2.0 - math.pi / 2.0)
#: Newton step of the median equation for Gaussian data: 1 / (2 pdf(0)) in sigmas.
_MEDIAN_STEP = math.sqrt(2.0 * math.pi) / 2.0
#: Same for the MAD equation: 1 / (2 pdf_|r|(MAD)) in MADs (pdf_|r|(MAD) = 0.4287 / MAD).
_MAD_STEP = 1.0 / (2.0 * 0.42873)
#: Largest change of the background per refresh (sigmas) and of the MAD (fraction).
_MAX_BG_STEP = 1.0
_MAX_MAD_STEP = 0.5
#: Neighbour-distance bin of the tabulated moveout, m (0.25 sample at the steepest moveout).
_MOVEOUT_BIN_M = 0.001
#: Velocity and hyperbola fit grids: soil permittivity (log-spaced; dry sand 3 to wet clay
#: 40, Davis & Annan 1989, docs/sources.md) and flat-top half width (a TM-62 is 0.16 m, one
#: step ~ half a trace spacing).
_FIT_EPS = np.geomspace(2.5, 40.0, 41)
_FIT_HALF_WIDTH_M = np.arange(0.0, 0.2501, 0.01)
#: A fit is a velocity estimate only for a point-like target (a flat top trades its half
#: width against the curvature) whose best permittivity is inside the grid.
_FIT_POINT_MAX_M = 0.03
#: Largest spread (median absolute deviation of the log permittivity) of the recent fits for
#: the estimate to replace the prior: a factor ~1.4, between dry sand (4) and loam (9).
_MAX_FIT_SPREAD = 0.35
#: The table is re-tabulated when the estimate moved by more than this fraction.
_RETABULATE_FRACTION = 0.1
#: Samples of zero padding beyond the largest alignment shift: room for the fractional
#: shift's interpolation tail, so nothing of the trace's start wraps onto its end.
_ALIGN_PAD_SAMPLES = 8
#: Initial number of pending rows per channel (grows if ever needed; bounded by geometry).
_PENDING_CAPACITY = 256
#: What a channel keeps per pending trace besides its window (:meth:`_Channel.append`).
_ALONG_FIELDS = ('s', 'x', 'y', 'surf')


@dataclasses.dataclass(frozen=True)
class GprParams:
    """Parameters of the GPR processor (node ``gpr_processor``)."""

    soil_permittivity: float = param(
        9.0, 'prior relative permittivity of the soil (wave speed, refraction at the surface) '
        'until hyperbola fits estimate it (Topp et al. 1980, docs/sources.md: loam 8-12)',
        min=1.0, max=81.0)
    estimate_permittivity: bool = param(
        False, 'use the soil permittivity estimated from hyperbola fits instead of '
        'soil_permittivity once the fits agree (the estimate is always published in the '
        'diagnostics; off by default: with the antenna 5 cm above the ground the moveout is '
        'mostly the air path and single fits scatter by a factor ~1.5-3, docs/gpr_validation.md)')
    velocity_fit_count: int = param(
        15, 'the permittivity estimate is the median of this many latest hyperbola fits',
        min=1, max=1000)
    velocity_min_fits: int = param(
        5, 'hyperbola fits needed before the estimate replaces the prior', min=1, max=1000)
    velocity_min_snr: float = param(
        12.0, 'a detection gives a velocity fit from this stack z-score up (weaker ones '
        'have too few flank samples above the noise)', min=1.0, max=1000.0)
    antenna_height_m: float = param(
        0.05, 'nominal antenna height above ground, m: the surface echo comes at least 2h/c '
        'after the direct coupling, and the hyperbolas curve as for an object h + d/sqrt(eps) '
        'below the antenna (docs/sources.md: 2-10 cm; the simulator default)',
        min=0.0, max=1.0)
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
    background_refresh_traces: int = param(
        32, 'the background and noise estimates are refreshed every this many traces',
        min=1, max=4096)
    stack_every_traces: int = param(
        8, 'traces are scored and judged in groups of this many per channel (fewer array '
        'calls; delays a detection by up to this many traces)', min=1, max=256)
    min_trace_step_m: float = param(
        0.012, 'a trace is used only after the antenna moved this far in map, m (a slow '
        'antenna is resampled to about the 16 mm of 25 traces/s at 0.4 m/s: at 5 mm, a '
        'machine crawling through wet clay at 0.05 m/s had its 128-trace background window '
        'span 0.6 m, and the median took in an AT mine\'s 0.32 m flat top)', min=0.0, max=1.0)
    scan_break_m: float = param(
        0.1, 'the antenna moving back (the vehicle reverses) or sideways (a pivot) this far '
        'from the last trace used ends the scan; smaller moves are the pose\'s jitter (an RTK '
        'fix moves the map pose by 1-3 cm, the heading noise a boom 4 m ahead by as much), m',
        min=0.0, max=1.0)
    stop_flush_s: float = param(
        1.0, 'an antenna that has not moved min_trace_step_m for this long has stopped: the '
        'traces waiting for neighbours ahead are decided with those there are, s (per batch, '
        'a crawl was taken for a stop and every trace decided half-seen)', min=0.0,
        max=60.0)
    gain_db_per_ns: float = param(
        3.0, 'display gain after the ground bounce, dB per ns (B-scans)', min=0.0, max=40.0)
    snr_threshold: float = param(
        8.0, 'detection threshold on the diffraction-stack z-score (noise-only stack: '
        'mean 0, standard deviation 1)', min=1.0, max=1000.0)
    per_sample_noise: bool = param(
        True, 'normalise every sample by its own noise level (gain plus depth-dependent '
        'noise, the online default); false: one noise level per channel (short or '
        'noise-free files where one target fills much of the background window)')
    noise_floor: float = param(
        1e-4, 'lower bound of the per-sample noise level, normalised amplitude',
        min=1e-9, max=1.0)
    peak_half_window_m: float = param(
        0.25, 'an apex must be the strongest within this along-track distance, m',
        min=0.01, max=2.0)
    apex_separation_ns: float = param(
        0.0, 'a stronger trace within peak_half_window_m does not suppress an apex when its '
        'own apex comes this much later, ns: it is another, deeper object, since a flank '
        'arrives after its apex (the moveout is never negative), not before it (an object 5 cm '
        'deep 23 cm from a steel round 8 cm deep in loam was suppressed: '
        'docs/gpr_validation.md); the hyperbola fit then stops short of such objects. 0: off, '
        'the online default: on the boom the extra reports moved the fusion\'s report counts '
        '(bench/perception.py: false AT labels 22 -> 24, a can the MD missed and a stone); '
        'demine gpr uses half a period of the 1.5 GHz pulse (offline.APEX_SEPARATION_NS)',
        min=0.0, max=10.0)
    hyperbola_check: bool = param(
        True, 'score traces by a diffraction stack along the hyperbola of a ray refracted at '
        'the surface (set by soil_permittivity and antenna_height_m; false: single-trace '
        'envelope)')
    hyperbola_half_width_m: float = param(
        0.1, 'along-track half width of the diffraction stack, m', min=0.01, max=1.0)
    hyperbola_tolerance_ns: float = param(
        0.2, 'time tolerance when measuring the flat top of a reflector (radius), ns',
        min=0.0, max=5.0)
    polarity_guard_m: float = param(
        0.01, 'an apex less than this below the window\'s top (min_depth_m) has no polarity, m: '
        'the centre lobe of an object just above the window lies outside it and the lobe read '
        'is the one after it, of the other sign (a nail 2 cm deep read +1 like a plastic body, a '
        'PMN 2-3 cm deep -1 like metal: the simulator\'s traces in loam and dry sand); 0: off',
        min=0.0, max=0.5)
    open_width_guard_m: float = param(
        0.01, 'an apex less than this below the window\'s top (min_depth_m) gives no narrowest '
        'allowed flat top (Detection.radius_min 0), m: the apex of an object just above the '
        'window lies outside it and the flanks in it stack as a wide flat top (a PMN or a '
        'TS-50 1-1.5 cm deep: 7-12 cm, against their 4.5-5.6 cm); 0: off', min=0.0, max=0.5)
    surface_guard_depth_m: float = param(
        0.06, 'an apex this shallow is taken for a misaligned ground bounce when the surface '
        'above it is disturbed along the track (surface_context_m) and it is not far stronger '
        'than the disturbance (the boom rising over a dip or a crest, pitching, pivoting on a '
        'slope), m', min=0.0, max=1.0)
    surface_context_m: float = param(
        0.75, 'along-track half length over which the surface residual is judged, m: longer '
        "than the footprint of a shallow AT mine's echo, so an object's own residual is not "
        'the median', min=0.05, max=5.0)
    surface_residual_max_z: float = param(
        4.5, 'median whitened envelope between the aligned surface and the window top above '
        'which the surface counts as disturbed (aligned: about 2-3; at 8, sloped fields kept '
        'half of their bounce residuals as 3-4 cm objects: bench/perception.py --worlds '
        'mission:gen_random, docs/gpr_validation.md)', min=1.0, max=1000.0)
    surface_residual_ratio: float = param(
        10.0, 'under a disturbed surface a shallow apex is kept only when its stack z-score '
        'is this many times the disturbance (a mine right there: 100 or more)', min=1.0,
        max=1000.0)
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


def equivalent_air_depth_m(depth_m, antenna_height_m: float, soil_permittivity: float):
    """Depth below the antenna, in air, that gives the same moveout: ``h + d / sqrt(eps)``."""
    return antenna_height_m + np.asarray(depth_m, dtype=float) / math.sqrt(soil_permittivity)


def moveout_ns(depth_m, offset_m, antenna_height_m: float, soil_permittivity: float):
    """Extra two-way time (ns) at horizontal ``offset_m`` from an object at ``depth_m``.

    Paraxial refraction at the surface: ``(2 / c) (sqrt(D^2 + x^2) - D)`` with the equivalent
    air depth ``D = h + d / sqrt(eps)`` (:func:`equivalent_air_depth_m`). The apex time itself
    is ``2 h / c + 2 d sqrt(eps) / c``; arguments broadcast.
    """
    big_d = equivalent_air_depth_m(depth_m, antenna_height_m, soil_permittivity)
    x = np.asarray(offset_m, dtype=float)
    return 2.0 * (np.sqrt(big_d * big_d + x * x) - big_d) / C_M_PER_NS


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
    spectrum = np.fft.fft(x, axis=-1)
    spectrum *= h
    return np.abs(np.fft.ifft(spectrum, axis=-1))


#: The samples a parabola is fitted through, relative to a peak.
_PARABOLA_TAPS = np.array([-1, 0, 1])


def _parabolic_offset(e: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Sub-sample offset (-0.5..0.5) of a peak at ``idx`` from a parabola through 3 samples."""
    # np.minimum/np.maximum: np.clip's dispatch costs more than the few samples it clips.
    i = np.minimum(np.maximum(idx, 1), e.shape[1] - 2)
    a, b, c = e[np.arange(e.shape[0])[:, None], i[:, None] + _PARABOLA_TAPS].T
    den = a - 2.0 * b + c
    # A peak on the trace's edge, or without a downward parabola, keeps its sample.
    fit = (den < 0.0) & (idx == i)
    off = np.divide(0.5 * (a - c), den, out=np.zeros(den.shape), where=fit)
    return np.minimum(np.maximum(off, -0.5), 0.5)


def _as_rows(a: np.ndarray) -> np.ndarray:
    """``a`` as an array of at least two dimensions (rows of samples)."""
    a = np.asarray(a)
    return a if a.ndim >= 2 else np.atleast_2d(a)


def pick_direct(env: np.ndarray, search_samples: int) -> np.ndarray:
    """Return the direct-coupling time (the strongest early envelope maximum), samples."""
    e = _as_rows(env)[:, :max(3, search_samples)]
    idx = e.argmax(axis=1)
    return idx + _parabolic_offset(e, idx)


def pick_surface(env: np.ndarray, search_samples: int, air_samples: float) -> np.ndarray:
    """Return the surface-echo time of each trace in (fractional) samples.

    The surface echo cannot come before the direct coupling (:func:`pick_direct`, the transmit
    time) plus the two-way air time ``air_samples`` (``2 h / c`` at the nominal antenna
    height): at that height or lower it hides in the coupling's tail, and that earliest time
    is the pick. Higher up (a boom over a dip or past a crest, a pitching machine, a pivot on a
    slope) it comes later, as its own envelope maximum: the strongest local maximum from the
    earliest time to ``search_samples`` that reaches :data:`SURFACE_PICK_FRACTION` of the
    coupling's envelope, refined by a parabola through its neighbours. Left where the nominal
    height puts it, a risen ground bounce walks into the detection window below the surface
    and stacks like a row of shallow objects across the whole boom.
    """
    e = _as_rows(env)
    hi = min(max(3, search_samples), e.shape[1])
    w = e[:, :hi]
    direct = pick_direct(w, hi)
    floor = direct + air_samples
    cand = np.zeros(w.shape, dtype=bool)
    cand[:, 1:-1] = (w[:, 1:-1] >= w[:, :-2]) & (w[:, 1:-1] > w[:, 2:])     # local maxima
    cand &= np.arange(hi)[None, :] >= floor[:, None]
    cand &= w >= SURFACE_PICK_FRACTION * w.max(axis=1, keepdims=True)
    if not cand.any():
        return floor            # the usual case: the echo hides in the coupling's tail
    score = np.where(cand, w, -1.0)
    idx = score.argmax(axis=1)
    pick = np.where(score.max(axis=1) >= 0.0, idx + _parabolic_offset(w, idx), floor)
    return np.maximum(pick, floor)


def align(traces: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    """Advance each trace by ``shifts`` (fractional) samples with an exact spectral shift.

    A whole-sample shift would turn a pick jitter of one sample into a residual of the strong
    ground bounce larger than most targets; the Fourier shift moves band-limited traces
    without that error. The traces are zero-padded by the largest shift first: a circular
    shift would wrap the strong direct coupling, advanced out of the trace's start, onto its
    last samples, where it stacked as a deep object on every channel at once (a boom raised
    12 cm over a dip: eight "targets" at the window's bottom, confidence 0.9).
    """
    a = np.asarray(traces, dtype=np.float64)
    shifts = np.asarray(shifts, dtype=float)
    n = a.shape[1]
    pad = int(np.ceil(np.max(np.abs(shifts), initial=0.0))) + _ALIGN_PAD_SAMPLES
    f = np.fft.rfftfreq(n + pad)
    phase = np.exp(2j * np.pi * f[None, :] * shifts[:, None])
    return np.fft.irfft(np.fft.rfft(a, n=n + pad, axis=1) * phase, n=n + pad, axis=1)[:, :n]


#: Widest migration aperture either side of an image trace, traces (bounds the cost of a
#: long recording's B-scan; at 2 cm steps 0.64 m, beyond a 30-degree beam's reach at 0.4 m).
_MIGRATION_MAX_TRACES = 32


def migrate(traces: np.ndarray, x_m: np.ndarray, sample_interval_ns: float, surface: int,
            antenna_height_m: float, permittivity: float, aperture_m: float) -> np.ndarray:
    """Kirchhoff (diffraction-summation) time migration of an aligned B-scan.

    ``traces`` N x S, time-zero aligned with the surface at sample ``surface``, at positions
    ``x_m`` (increasing). Each image sample below the surface is the weighted mean of the
    traces within ``aperture_m`` taken along the refracted hyperbola of a point there
    (the moveout of :func:`moveout_ns` at ``permittivity``, its ray length kept for the
    weights; linear interpolation between samples; weights the
    squared obliquity, as the echo's amplitude falls off): a hyperbola's energy collapses
    onto its apex, a flat top's onto its width (Yilmaz, *Seismic Data Analysis*, 2001, ch. 4;
    Daniels, *Ground Penetrating Radar*, 2004, on migration of GPR data). At a wrong
    permittivity the hyperbolas stay open (under-migrated) or turn into smiles (over-).
    Above the surface the traces are kept as they are.
    """
    a = np.asarray(traces, dtype=np.float64)
    x = np.asarray(x_m, dtype=float)
    n, n_s = a.shape
    out = a.copy()
    if n == 0 or surface >= n_s - 1:
        return out
    j = np.arange(surface, n_s)
    depth = C_M_PER_NS / math.sqrt(permittivity) * (j - surface) * sample_interval_ns / 2.0
    total = np.zeros((n, len(j)))
    weight = np.zeros((n, len(j)))
    padded = np.concatenate([a, np.zeros((n, 1))], axis=1)     # reads past the end are 0
    big_d = equivalent_air_depth_m(depth, antenna_height_m, permittivity)[None, :]
    reach = min(_MIGRATION_MAX_TRACES, n - 1)
    for step in range(-reach, reach + 1):
        lo, hi = max(0, -step), min(n, n - step)
        if lo >= hi:
            continue
        i = np.arange(lo, hi)
        off = x[i + step] - x[i]
        near = np.abs(off) <= aperture_m
        if not near.any():
            continue
        i, off = i[near], off[near]
        r = np.sqrt(big_d * big_d + off[:, None] ** 2)
        k = j[None, :] + 2.0 * (r - big_d) / C_M_PER_NS / sample_interval_ns
        k0 = np.minimum(np.floor(k).astype(np.intp), n_s)
        frac = k - k0
        rows = (i + step)[:, None]
        # the obliquity weight (cos of the ray's angle, squared: the spreading a diffraction's
        # amplitude falls off with) sums each trace as the point's echo is in it
        w = (big_d / r) ** 2
        total[i] += w * ((1.0 - frac) * padded[rows, k0]
                         + frac * padded[rows, np.minimum(k0 + 1, n_s)])
        weight[i] += w
    out[:, surface:] = total / np.maximum(weight, 1e-12)
    return out


def render_bscan(traces: np.ndarray, sample_interval_ns: float, *,
                 gain_db_per_ns: float = 3.0, remove_background: bool = True,
                 ground_search_max_ns: float = 2.0, clip_percentile: float = 99.0,
                 antenna_height_m: float = 0.05, x_m: Optional[np.ndarray] = None,
                 migrate_permittivity: Optional[float] = None,
                 migration_aperture_m: float = 0.3) -> np.ndarray:
    """Render one channel's traces (N x S, along-track order) as an 8-bit B-scan image.

    Rows are time (depth) samples, columns traces; mid-grey is zero, so hyperbolas show as
    dark/bright bands. Time-zero alignment, mean-trace background removal and the display gain
    are applied as in the detector (``antenna_height_m`` as in :class:`GprParams`). With
    ``migrate_permittivity`` (and the traces' positions ``x_m``) the aligned traces are
    migrated first (:func:`migrate`), so each object shows at its apex.
    """
    a = np.asarray(traces, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] == 0:
        return np.zeros((0, 0), dtype=np.uint8)
    search = max(3, int(round(ground_search_max_ns / sample_interval_ns)))
    air = 2.0 * antenna_height_m / C_M_PER_NS / sample_interval_ns
    picks = pick_surface(envelope(a), search, air)
    ref = int(round(float(np.median(picks))))
    a = align(a, picks - ref)
    if remove_background:
        a = a - np.median(a, axis=0, keepdims=True)
    if migrate_permittivity is not None and x_m is not None:
        a = migrate(a, x_m, sample_interval_ns, ref, antenna_height_m, migrate_permittivity,
                    migration_aperture_m)
    a = a * time_gain(a.shape[1], sample_interval_ns, ref, gain_db_per_ns)[None, :]
    scale = np.percentile(np.abs(a), clip_percentile) or 1.0
    img = np.clip(a / scale, -1.0, 1.0) * 127.5 + 127.5
    return img.T.astype(np.uint8)


class _Kept(NamedTuple):
    """A batch's traces past the movement gate (sorted by channel, then time)."""

    traces: np.ndarray          # N x S raw samples
    chs: List[int]              # channel of each
    s: List[float]              # along-track distance of each
    xy: np.ndarray              # N x 2 map position of each


class _Channel:
    """Bounded per-channel state: time-zero picks, movement gate and pending traces.

    Pending traces live in arrays indexed ``[start, n)``; ``stacked`` and ``decided`` are
    absolute row indices (rows below them have a stack score / were judged). The arrays are
    compacted when full, so memory is bounded by the along-track reach of a decision.
    """

    def __init__(self, smoothing: int, track: AlongTrack, versions: Iterator[int]) -> None:
        self.smoothing = smoothing
        #: The processor's source of table identifiers (:attr:`table_version`).
        self._versions = versions
        self.picks: Deque[float] = collections.deque()
        self.sorted_picks: List[float] = []
        self.ref: Optional[float] = None
        #: The antenna's progress along its direction of travel (movement gate, reversals).
        self.track = track
        #: Stamp of the latest trace used (the antenna had moved), s.
        self.last_move_t = -math.inf
        #: Along-track distances of its traces in the batches waiting to be processed.
        self.waiting_s: List[float] = []
        self.s = 0.0
        self.k_lo = 0
        self.n_win = 0
        self.start = self.n = self.stacked = self.decided = 0
        self.cap = 0
        #: Per pending trace, one row each (``_ALONG_FIELDS``): along-track distance, map x,
        #: map y, surface residual; ``s_arr``, ``x``, ``y`` and ``surf`` are its rows, so a
        #: batch's traces are appended with one assignment.
        self.along = np.zeros((len(_ALONG_FIELDS), 0))
        self.s_arr, self.x, self.y, self.surf = self.along
        self.score = self.amp = np.zeros(0)
        self.k = np.zeros(0, dtype=np.intp)
        self.env = np.zeros((0, 0))
        self.sig = np.zeros((0, 0))
        self.table = np.zeros((0, 0), dtype=np.intp)
        #: Where the table points inside the window (the samples a stack counts).
        self.inside = np.zeros((0, 0), dtype=bool)
        #: Per window sample, one past the last bin inside (:func:`_inside_prefix`; None: the
        #: counts come from ``inside`` itself).
        self.inside_end: Optional[np.ndarray] = None
        #: Sign of the transmitted pulse (the direct coupling) in this channel.
        self.pulse_sign = 1.0
        #: Permittivity the moveout table was built with.
        self.table_eps = math.nan
        #: Identifies the table (unique across channels and over time: the processor's joint
        #: table is kept while every channel's is the same).
        self.table_version = 0

    def smooth_pick(self, pick: float) -> float:
        """Add a pick; return the running median of the last ``smoothing`` picks."""
        if len(self.picks) == self.smoothing:
            old = self.picks.popleft()
            del self.sorted_picks[bisect.bisect_left(self.sorted_picks, old)]
        self.picks.append(pick)
        bisect.insort(self.sorted_picks, pick)
        m = len(self.sorted_picks)
        h = m // 2
        if m % 2:
            return self.sorted_picks[h]
        return 0.5 * (self.sorted_picks[h - 1] + self.sorted_picks[h])

    def setup(self, k_lo: int, n_win: int, table: np.ndarray) -> None:
        """Allocate the pending arrays for a depth window of ``n_win`` samples."""
        self.k_lo, self.n_win = k_lo, n_win
        self.set_table(table)
        self._allocate(_PENDING_CAPACITY)

    def set_table(self, table: np.ndarray) -> None:
        """Use the moveout ``table`` (neighbour-distance bins x window samples)."""
        self.table = table
        self.inside = table < self.n_win
        self.inside_end = _inside_prefix(self.inside)
        self.table_version = next(self._versions)

    def _allocate(self, cap: int) -> None:
        old = (self.along.T, self.score, self.amp, self.k, self.env, self.sig)
        used = slice(self.start, self.n)
        count = self.n - self.start
        self.along = np.zeros((len(_ALONG_FIELDS), cap))
        self.s_arr, self.x, self.y, self.surf = self.along
        self.score, self.amp = np.zeros(cap), np.zeros(cap)
        self.k = np.zeros(cap, dtype=np.intp)
        # One extra zero column: the moveout table points there for samples outside the
        # aperture or the window.
        self.env = np.zeros((cap, self.n_win + 1))
        self.sig = np.zeros((cap, self.n_win + 1))
        if count:
            for new, prev in zip((self.along.T, self.score, self.amp, self.k, self.env,
                                  self.sig), old):
                new[:count] = prev[used]
        self.stacked -= self.start
        self.decided -= self.start
        self.n = count
        self.start = 0
        self.cap = cap

    def append(self, along: np.ndarray, env: np.ndarray, sig: np.ndarray) -> None:
        """Append traces: ``along`` (``_ALONG_FIELDS`` x traces: along-track distance, map
        position, surface residual), the whole traces' envelopes and whitened signals (traces
        x samples; the window is cut here)."""
        m = along.shape[1]
        if self.n + m > self.cap:
            live = self.n - self.start + m
            self._allocate(self.cap if live <= self.cap // 2 else 2 * max(self.cap, live))
        i, j = self.n, self.n + m
        win = slice(self.k_lo, self.k_lo + self.n_win)
        self.along[:, i:j] = along
        self.env[i:j, :self.n_win] = env[:, win]
        self.sig[i:j, :self.n_win] = sig[:, win]
        self.n = j


@dataclasses.dataclass
class GprStats:
    """Counters for diagnostics."""

    traces: int = 0
    traces_no_pose: int = 0
    traces_still: int = 0
    detections: int = 0
    velocity_fits: int = 0
    unresolved_widths: int = 0      # detections whose flat-top half width the data left open
    surface_suppressed: int = 0     # shallow apexes taken for a misaligned ground bounce
    reversals: int = 0
    permittivity_estimate: float = math.nan
    permittivity_in_use: float = math.nan


class GprProcessor:
    """Streaming GPR detector: feed :class:`GprScan` batches, get ``Detection(source='gpr')``.

    Detection is a diffraction stack: for every trace and every apex time in the depth window
    the whitened envelopes of the neighbouring traces (within ``hyperbola_half_width_m``) are
    averaged along the hyperbola an object at that depth would draw (refracted at the surface:
    :func:`moveout_ns`); the
    best apex time gives the trace's score. Along-track local maxima of that score above
    ``snr_threshold`` are objects. Averaging along the predicted moveout is the hyperbola check:
    isolated spikes and flat layers do not stack, and the score peaks at the true apex even
    when the raw amplitudes are flat over the apex.
    """

    def __init__(self, params: Optional[GprParams] = None) -> None:
        """Create a processor with ``params`` (defaults when None)."""
        self.params = params or GprParams()
        self.stats = GprStats()
        p = self.params
        #: Identifiers of the moveout tables its channels set (:attr:`_Channel.table_version`:
        #: unique across the channels and over time, the key of the joint table).
        self._table_versions = itertools.count(1)
        #: Along-track gap put between the passes before and after a reversal: beyond the
        #: reach of the stack, the decision window and the fit together.
        self._reversal_gap_m = 2.0 * (p.hyperbola_half_width_m + p.peak_half_window_m
                                      + _FIT_MAX_SHIFT_M)
        self.reset()

    def reset(self) -> None:
        """Forget all per-channel state."""
        self._channels: Dict[int, _Channel] = {}
        self._dt: Optional[float] = None
        self._n_samples = 0
        self._index: Dict[int, int] = {}
        w = self.params.background_window_traces
        self._buf = np.zeros((0, w, 0), dtype=np.float32)
        # Per background slot (plain lists: a batch holds a trace or two per channel):
        # traces in the window, next slot to write, traces since the last refresh, whether
        # the estimates exist.
        self._count: List[int] = []
        self._head: List[int] = []
        self._since: List[int] = []
        self._has: List[bool] = []
        self._bg = self._mad = self._inv = np.zeros((0, 0))
        self._eps_fits: Deque[float] = collections.deque(
            maxlen=self.params.velocity_fit_count)
        #: :attr:`permittivity` of these fits (None: not computed since they changed); it is
        #: read per channel and batch, and only a fit moves it.
        self._eps_in_use: Optional[float] = None
        self._eps_estimated = False
        #: Batches past the movement gate whose processing waits (:meth:`_can_wait`).
        self._waiting: List[_Kept] = []
        #: The joint moveout table of the channels last stacked together (:meth:`_joint_table`).
        self._joint: Optional[Tuple[tuple, Tuple[np.ndarray, np.ndarray]]] = None

    def process(self, scan: GprScan, poses: PoseBuffer) -> List[Detection]:
        """Process one batch; return the apexes decided during it (map frame)."""
        p = self.params
        amps = np.asarray(scan.amplitudes)
        n = amps.shape[0] if amps.ndim == 2 else 0
        if n == 0 or not (scan.sample_interval_ns > 0.0) or not np.isfinite(amps).all():
            return []
        if (self._dt is not None and abs(self._dt - scan.sample_interval_ns) > 1e-9) \
                or amps.shape[1] != self._n_samples:
            self.reset()      # a different radar setting: start over
        self._dt = float(scan.sample_interval_ns)
        self._n_samples = amps.shape[1]
        times = scan.stamp + np.asarray(scan.time_offsets, dtype=float)
        xy, valid = poses.to_map(np.asarray(scan.positions, dtype=float), times)
        self.stats.traces += n
        self.stats.traces_no_pose += int(np.count_nonzero(~valid))
        channels = np.asarray(scan.channels).astype(np.int64)
        order = np.lexsort((times, channels))
        order = order[valid[order]]
        # Movement gate and along-track distance per channel (sequential by nature; plain
        # floats are cheaper than numpy scalars for the few traces of a batch).
        xs, ys, chl = xy[:, 0].tolist(), xy[:, 1].tolist(), channels.tolist()
        ts = times.tolist()
        kept: List[int] = []
        s_list: List[float] = []
        seen, moved = set(), set()
        known = self._channels.get
        still, turn = Move.STILL, Move.BREAK
        for i in order.tolist():
            c = chl[i]
            st = known(c) or self._channel(c)
            seen.add(c)
            move, dist = st.track.advance(xs[i], ys[i])
            if move is still:
                continue
            if move is turn:
                # The antenna reversed (the vehicle backs up) or turned (a pivot): it
                # retraces or crosses ground it has just scanned, and a path-length
                # coordinate would fold the two passes over a point target into one
                # flat-topped "AT-sized" apex. That ends the scan: the gap keeps the passes
                # out of each other's stack, decision window and fit.
                dist += self._reversal_gap_m
                self.stats.reversals += 1
            st.s += dist
            st.last_move_t = ts[i]
            moved.add(c)
            kept.append(i)
            s_list.append(st.s)
        self.stats.traces_still += len(order) - len(kept)
        # The antenna stopped over these channels (no step for stop_flush_s): the scan has
        # ended there for now, so the traces still waiting for neighbours ahead are decided
        # with those there are.
        out: List[Detection] = []
        t_now = max(ts) if ts else -math.inf
        stopped = [c for c in sorted(seen - moved)
                   if t_now - self._channels[c].last_move_t >= p.stop_flush_s]
        if stopped:
            self._catch_up()
        for c in stopped:
            out.extend(self._flush_channel(self._channels[c]))
        if kept:
            rows = np.array(kept, dtype=np.intp)
            batch = _Kept(amps[rows].astype(np.float64), [chl[i] for i in kept], s_list,
                          xy[rows])
            if self._can_wait(batch):
                self._waiting.append(batch)
            else:
                out.extend(self._run(self._waiting + [batch], batch))
        self.stats.detections += len(out)
        return out

    def _can_wait(self, batch: _Kept) -> bool:
        """Whether the batch's processing can wait for the next batch's (and then be done in
        the same array calls): nothing in it can be decided now.

        Its traces only fill the channels' pending arrays, as long as every channel in it is
        set up (its traces are past the background warm-up, its window is fixed) and none has
        enough traces ready to be scored (the test of :meth:`_stack`, on the distances the
        movement gate gave them). With an estimated permittivity, none of them may need its
        moveout table rebuilt either: the estimate only moves when something is decided, so a
        table that is current now stays so until the next batch's processing (which rebuilds
        it, if it must, at the same point as it would have).
        """
        p = self.params
        new: Dict[int, List[float]] = {}
        for c, s in zip(batch.chs, batch.s):
            new.setdefault(c, []).append(s)
        eps = self.permittivity if p.estimate_permittivity else math.nan
        for c, s_batch in new.items():
            st = self._channels[c]
            if not st.n_win or (p.estimate_permittivity and _stale_table(st, eps)):
                return False
            s_new = st.waiting_s + s_batch
            n = st.n + len(s_new)
            last = st.stacked + p.stack_every_traces - 1
            if last < n:
                s_last = s_new[last - st.n] if last >= st.n else st.s_arr[last]
                if not s_last > s_new[-1] - p.hyperbola_half_width_m:
                    return False
        for c, s_batch in new.items():
            self._channels[c].waiting_s += s_batch
        return True

    def _catch_up(self) -> None:
        """Process the batches waiting (before a channel is flushed)."""
        if self._waiting:
            self._run(self._waiting, None)

    def _run(self, batches: List[_Kept], current: Optional[_Kept]) -> List[Detection]:
        """Time-zero, background removal and whitening of the traces of ``batches`` (in
        order), then the stack and decision of the channels of the ``current`` batch.

        Every trace is treated as it would be alone in its batch (row by row, channel by
        channel in order), so batches run together give what they give one by one.
        """
        p = self.params
        dt = self._dt
        self._waiting = []
        for st in self._channels.values():
            st.waiting_s = []
        traces = np.concatenate([b.traces for b in batches]) if len(batches) > 1 \
            else batches[0].traces
        chs = [c for b in batches for c in b.chs]
        # Time-zero for all the traces at once.
        picks = pick_surface(envelope(traces), int(round(p.ground_search_max_ns / dt)),
                             2.0 * p.antenna_height_m / C_M_PER_NS / dt)
        shifts = []
        for c, pick in zip(chs, picks.tolist()):
            st = self._channels[c]
            # A running median of the picks follows the terrain but not the per-trace pick
            # noise: shifting a trace by noise would misalign the (fixed) direct coupling.
            smooth = st.smooth_pick(pick)
            if st.ref is None:
                st.ref = smooth
            shifts.append(smooth - st.ref)
        # Each batch aligned as one (its padding is its own largest shift).
        aligned = []
        start = 0
        for b in batches:
            end = start + len(b.chs)
            aligned.append(self._align(traces[start:end], shifts[start:end]))
            start = end
        aligned = np.concatenate(aligned) if len(aligned) > 1 else aligned[0]
        s_vals = [s for b in batches for s in b.s]
        xy = np.concatenate([b.xy for b in batches]) if len(batches) > 1 else batches[0].xy
        if len(batches) > 1:
            # Channel by channel, each in time order (a stable sort).
            order = sorted(range(len(chs)), key=chs.__getitem__)
            aligned, xy = aligned[order], xy[order]
            chs = [chs[j] for j in order]
            s_vals = [s_vals[j] for j in order]
        white, ready = self._whiten(aligned, [self._index[c] for c in chs])
        # The traces past their channel's background warm-up, with their along-track
        # distance and map position (rows: _ALONG_FIELDS; the surface residual below).
        along = np.empty((len(_ALONG_FIELDS), len(chs)))
        along[0], along[1:3] = s_vals, xy.T
        if not ready.all():
            if not ready.any():
                return []
            sel = np.flatnonzero(ready)
            white, along = white[sel], along[:, sel]
            chs = [chs[j] for j in sel.tolist()]
        env = envelope(white)
        # Rows are sorted by channel: one contiguous block per channel.
        blocks = _runs(chs)
        along[3] = self._surface_residuals(env, blocks)
        scored = set(current.chs) if current is not None else set()
        chans = [(ch, a, b, self._channels[ch]) for ch, a, b in blocks]
        scan = self._scan_channels if len(scored) > 1 and all(
            st.n_win for _, _, _, st in chans) else self._scan_one_by_one
        return scan(chans, along, env, white, scored)

    def _scan_one_by_one(self, chans: List[Tuple[int, int, int, _Channel]],
                         along: np.ndarray, env: np.ndarray, white: np.ndarray,
                         scored: Set[int]) -> List[Detection]:
        """The end of :meth:`_run`, channel by channel: set up (on its first ready trace),
        table brought up to date, traces appended, then (``scored``) stacked and decided."""
        p = self.params
        out: List[Detection] = []
        for ch, a, b, st in chans:
            if not st.n_win and not self._setup(st, ch):
                continue
            if p.estimate_permittivity:
                self._retabulate(st)
            st.append(along[:, a:b], env[a:b], white[a:b])
            if ch in scored and self._stack(st):
                out.extend(self._decide(st))
        return out

    def _scan_channels(self, chans: List[Tuple[int, int, int, _Channel]], along: np.ndarray,
                       env: np.ndarray, white: np.ndarray, scored: Set[int]
                       ) -> List[Detection]:
        """:meth:`_scan_one_by_one` for channels all set up, their stacks scored jointly.

        Each channel's table is brought up to date and its traces appended, then the ready
        channels are stacked in one set of array calls (:meth:`_stack_joint`: some 35 calls
        per stack, a third of its cost on one channel's 8-10 traces) and decided in channel
        order, as the loop does. A decision that adds a velocity fit can move the permittivity
        a later channel's table is built with: the later channels then go again one by one
        from the tables they had, so every channel sees what it would have seen in the loop.
        """
        p = self.params
        saved = []
        for _, a, b, st in chans:
            table = (st.table, st.inside, st.inside_end, st.table_eps, st.table_version)
            if p.estimate_permittivity:
                self._retabulate(st)
            st.append(along[:, a:b], env[a:b], white[a:b])
            # (The rows scored so far counted after the append: it may compact the rows.)
            saved.append(table + (st.stacked,))
        stacked = self._stack_joint([(self._index[ch], st) for ch, _, _, st in chans
                                     if ch in scored])
        out: List[Detection] = []
        fits = self.stats.velocity_fits
        for i, (_, _, _, st) in enumerate(chans):
            if id(st) in stacked:
                out.extend(self._decide(st))
            if self.stats.velocity_fits == fits:
                continue
            for (ch, _, _, later), state in zip(chans[i + 1:], saved[i + 1:]):
                (later.table, later.inside, later.inside_end, later.table_eps,
                 later.table_version, later.stacked) = state
                if p.estimate_permittivity:
                    self._retabulate(later)
                if ch in scored and self._stack(later):
                    out.extend(self._decide(later))
            break
        return out

    def _joint_table(self) -> Optional[Tuple[np.ndarray, np.ndarray]]:
        """Every channel's moveout table one after the other (in background-slot order, its
        bins x samples rows) and their ``inside_end`` rows, when all are set up with one shape
        and prefixes; else None.

        Kept while no table changes (they change when a channel is set up or the permittivity
        estimate moves).
        """
        sts = list(self._channels.values())     # (in slot order: both follow first arrival)
        key = tuple(st.table_version for st in sts)
        if self._joint is not None and self._joint[0] == key:
            return self._joint[1]
        shape = sts[0].table.shape
        if any(not st.n_win or st.table.shape != shape or st.inside_end is None
               for st in sts):
            return None
        joint = (np.concatenate([st.table for st in sts]),
                 np.stack([st.inside_end for st in sts]))
        self._joint = (key, joint)
        return joint

    def _stack_joint(self, sts: List[Tuple[int, _Channel]]) -> Set[int]:
        """:meth:`_stack` on each of ``sts`` (background slot, channel) in one set of array
        calls; the ids of those scored.

        Their pending rows are laid one channel after the other; each trace's neighbours are
        searched in its own channel's distances, and its bins read its own channel's table.
        The neighbours are padded to the most any trace has with the missing neighbour's bin
        (the zero column, as :meth:`_stack` pads its own): adding those zeros at the end of
        a sum leaves it as it was, so every score has the bits :meth:`_stack` gives it.
        """
        p = self.params
        w = p.hyperbola_half_width_m
        todo = []
        slots = []
        for slot, st in sts:
            lo_row, n = st.start, st.n
            # The readiness test of _stack.
            last = st.stacked + p.stack_every_traces - 1
            if last >= n or st.s_arr[last] > st.s_arr[n - 1] - w:
                continue
            s = st.s_arr[lo_row:n]
            lim = lo_row + int(s.searchsorted(s[-1] - w, side='right'))
            if lim > st.stacked:
                todo.append((st, s, lim))
                slots.append(slot)
        joint = self._joint_table() if len(todo) > 1 and p.hyperbola_check else None
        if joint is None:
            return {id(st) for st, _, _ in todo if self._stack(st)}
        tables, ends = joint
        n_bins = len(todo[0][0].table)
        # Per channel: its traces to score (absolute rows [stacked, lim)), their neighbours'
        # range in its pending rows, and where those rows start in the joint arrays.
        s_i = np.concatenate([st.s_arr[st.stacked:lim] for st, _, lim in todo])
        lo_q, hi_q = s_i - w, s_i + w
        lo_parts, hi_parts, base, last_row, which = [], [], [], [], []
        q = row = 0
        for j, (st, s, lim) in enumerate(todo):
            k = lim - st.stacked
            lo_parts.append(s.searchsorted(lo_q[q:q + k], side='left'))
            hi_parts.append(s.searchsorted(hi_q[q:q + k], side='right'))
            base += [row] * k
            last_row += [row + len(s) - 1] * k
            which += [slots[j]] * k
            q += k
            row += len(s)
        base_a = np.array(base)
        lo = np.concatenate(lo_parts) + base_a
        hi = np.concatenate(hi_parts) + base_a
        m = int((hi - lo).max())
        nb = lo[:, None] + np.arange(m)[None, :]
        missing = nb >= hi[:, None]
        nb = np.minimum(nb, np.array(last_row)[:, None])
        s_all = np.concatenate([s for _, s, _ in todo])
        b = np.rint(np.abs(s_all[nb] - s_i[:, None]) / _MOVEOUT_BIN_M).astype(np.intp)
        b = np.where(missing, n_bins - 1, np.minimum(b, n_bins - 2))
        which_a = np.array(which)
        cols = tables[b + (which_a * n_bins)[:, None]]
        # The neighbours inside at each sample, as in _stack (per trace, its channel's ends).
        n_t, n_rows = b.shape[0], n_bins + 1
        first = (np.arange(n_t) * n_rows)[:, None]
        hist = np.bincount((b + first + 1).ravel(), minlength=n_t * n_rows)
        inside_n = hist.reshape(n_t, n_rows).cumsum(axis=1).ravel().take(ends[which_a] + first)
        count = np.maximum(inside_n, 1.0)
        env_all = np.concatenate([st.env[st.start:st.n] for st, _, _ in todo])
        cols += (nb * env_all.shape[1])[:, :, None]
        vals = env_all.ravel().take(cols)
        stack = vals.sum(axis=1) / count
        z = (stack - RAYLEIGH_MEAN) * (np.sqrt(count) / RAYLEIGH_STD)
        z[:, 0] = z[:, -1] = -np.inf
        kbest = _top_echo(z, TOP_ECHO_MIN_GAP_NS / self._dt)
        t = np.arange(n_t)
        score, amp = z[t, kbest], stack[t, kbest]
        q = 0
        for st, _, lim in todo:
            k = lim - st.stacked
            ids = slice(st.stacked, lim)
            st.score[ids] = score[q:q + k]
            st.amp[ids] = amp[q:q + k]
            st.k[ids] = kbest[q:q + k]
            st.stacked = lim
            q += k
        return {id(st) for st, _, _ in todo}

    def _align(self, traces: np.ndarray, shifts: List[float]) -> np.ndarray:
        """One batch's traces advanced by their time-zero shifts (small ones ignored)."""
        p = self.params
        deadband = p.alignment_deadband_ns / self._dt
        if all(abs(v) < deadband for v in shifts):
            return traces          # the usual batch: no shift to apply
        shifts = np.array(shifts)
        max_shift = p.max_alignment_shift_ns / self._dt
        shifts = np.where(np.abs(shifts) < deadband, 0.0,
                          np.clip(shifts, -max_shift, max_shift))
        return align(traces, shifts) if np.any(shifts) else traces

    def _surface_residuals(self, env: np.ndarray, blocks: List[Tuple[int, int, int]]
                           ) -> np.ndarray:
        """Per trace, the largest whitened envelope between the aligned surface and the
        window's top (0 where they meet), where nothing but a misaligned ground bounce can
        be; ``blocks``: the channel of each row range."""
        first: List[int] = []
        top: List[int] = []
        for ch, a, b in blocks:
            st = self._channels[ch]
            # A channel is set up (its window fixed) at its first ready trace, just below.
            k_lo = st.k_lo if st.n_win else self._window(st.ref)[0]
            first += [_surface_sample(st.ref, k_lo)] * (b - a)
            top += [k_lo] * (b - a)
        lo, hi = min(first), max(top)
        if hi <= lo:
            return np.zeros(len(env))
        # All the channels' ranges at once: the envelope is >= 0, so zeros outside a
        # trace's range leave its maximum as it is.
        k = np.arange(lo, hi)
        inside = (k >= np.array(first)[:, None]) & (k < np.array(top)[:, None])
        return np.where(inside, env[:, lo:hi], 0.0).max(axis=1)

    def flush(self) -> List[Detection]:
        """End of the scan: decide every trace still waiting for neighbours ahead.

        Without it, objects in the last ``peak_half_window_m`` of a scan (of a file, before a
        stop) are never reported.
        """
        self._catch_up()
        out: List[Detection] = []
        for c in sorted(self._channels):
            out.extend(self._flush_channel(self._channels[c]))
        self.stats.detections += len(out)
        return out

    @property
    def permittivity_estimate(self) -> Tuple[float, float]:
        """Median of the recent velocity fits and their spread (MAD of the logs); NaN if none."""
        if not self._eps_fits:
            return math.nan, math.nan
        logs = np.log(np.asarray(self._eps_fits))
        med = float(np.median(logs))
        return math.exp(med), float(np.median(np.abs(logs - med)))

    @property
    def permittivity(self) -> float:
        """Soil permittivity in use: the fits' median once there are enough and they agree
        (spread within ``_MAX_FIT_SPREAD``), else the prior ``soil_permittivity``."""
        if self._eps_in_use is None:
            p = self.params
            self._eps_in_use = p.soil_permittivity
            self._eps_estimated = False
            if p.estimate_permittivity and len(self._eps_fits) >= p.velocity_min_fits:
                eps, spread = self.permittivity_estimate
                if spread <= _MAX_FIT_SPREAD:
                    self._eps_in_use = eps
                    self._eps_estimated = True
        return self._eps_in_use

    @property
    def permittivity_estimated(self) -> bool:
        """Whether :attr:`permittivity` is the estimate (else the prior)."""
        self.permittivity       # brings the flag up to date with the fits
        return self._eps_estimated

    @property
    def velocity_m_per_ns(self) -> float:
        """Wave speed in the soil in use, m/ns."""
        return C_M_PER_NS / math.sqrt(self.permittivity)

    def _flush_channel(self, st: _Channel) -> List[Detection]:
        if not st.n_win or st.decided >= st.n:
            return []
        self._stack(st, final=True)
        return self._decide(st, final=True)

    # -- internals ---------------------------------------------------------------------------

    def _channel(self, ch: int) -> _Channel:
        st = self._channels.get(ch)
        if st is None:
            p = self.params
            st = _Channel(p.alignment_smoothing_traces,
                          AlongTrack(p.min_trace_step_m, p.scan_break_m), self._table_versions)
            self._channels[ch] = st
            self._add_background(ch)
        return st

    def _add_background(self, ch: int) -> None:
        """Give channel ``ch`` a slot in the background arrays."""
        self._index[ch] = len(self._index)
        w, s = self.params.background_window_traces, self._n_samples
        self._buf = np.concatenate([self._buf.reshape(-1, w, s),
                                    np.zeros((1, w, s), dtype=np.float32)])
        self._count.append(0)
        self._head.append(0)
        self._since.append(0)
        self._has.append(False)
        grow = np.zeros((1, s))
        self._bg = np.concatenate([self._bg.reshape(-1, s), grow])
        self._mad = np.concatenate([self._mad.reshape(-1, s), grow])
        self._inv = np.concatenate([self._inv.reshape(-1, s), grow])

    def _whiten(self, aligned: np.ndarray, idx: List[int]) -> Tuple[np.ndarray, np.ndarray]:
        """Background-remove and whiten each trace with its channel's estimates *before* it.

        ``idx``: each trace's background slot, a slot's traces adjacent and in time order.
        Each trace sees exactly the state it would see arriving alone: the traces are taken
        in phases, each the run of every slot's next traces up to one that needs its slot's
        estimates refreshed (refreshes are done between phases, on the traces before). Rows
        not ready (their channel's window still filling) are left undefined in the whitened
        traces.
        """
        p = self.params
        w = p.background_window_traces
        count, head, since, has = self._count, self._head, self._since, self._has
        min_bg, every = p.min_background_traces, p.background_refresh_traces

        def stale(c: int) -> bool:
            return count[c] >= min_bg and (not has[c] or since[c] >= every)

        white = np.empty_like(aligned)
        ready = np.zeros(len(idx), dtype=bool)
        todo = _runs(idx)
        while todo:
            due = [c for c, a, _ in todo if stale(c)]
            if due:
                self._refresh(due)
            rows: List[int] = []
            heads: List[int] = []
            slots: List[int] = []
            later = []
            for c, a, b in todo:
                # The slot's next traces up to the first after which it is stale (its count
                # reaches min_bg and, once it has estimates, ``every`` traces came since the
                # last refresh), counted instead of tested trace by trace: the first one is
                # always taken (the slot was refreshed just above if it was due).
                c0 = count[c]
                due_in = min_bg - c0 if not has[c] else max(min_bg - c0, every - since[c])
                take = min(max(due_in, 1), b - a)
                rows.extend(range(a, a + take))
                h0 = head[c]
                heads.extend(range(h0, h0 + take) if h0 + take <= w else
                             [(h0 + i) % w for i in range(take)])
                slots.extend([c] * take)
                # A trace is ready when its slot held min_bg traces before it.
                first_ready = a + max(min_bg - c0, 0)
                if first_ready < a + take:
                    ready[first_ready:a + take] = True
                head[c] = (h0 + take) % w
                count[c] = min(c0 + take, w)
                since[c] += take
                if a + take < b:
                    later.append((c, a + take, b))
            whole = len(rows) == len(idx)   # one phase, the usual batch: no row gathers
            if whole and ready.all():
                white = (aligned - self._bg[slots]) * self._inv[slots]
            else:
                rr = [j for j in rows if ready[j]]
                if rr:
                    cc = [idx[j] for j in rr]
                    white[rr] = (aligned[rr] - self._bg[cc]) * self._inv[cc]
            self._buf[slots, heads] = aligned if whole else aligned[rows]
            todo = later
        return white, ready

    def _refresh(self, cs: List[int]) -> None:
        """Update the background (median) and noise (MAD) of channels ``cs``."""
        p = self.params
        mad_floor = p.noise_floor / MAD_TO_SIGMA
        groups: Dict[Tuple[int, bool], List[int]] = {}
        for c in cs:
            groups.setdefault((self._count[c], self._has[c]), []).append(c)
        for (count, has), members in groups.items():
            g = np.array(members, dtype=np.intp)
            win = self._buf[g, :count]
            if not has:
                # First time: the exact median and MAD of the window.
                bg = np.median(win, axis=1)
                mad = np.median(np.abs(win - bg[:, None, :]), axis=1)
            else:
                # One Newton step of "as many samples above as below" for the median and for
                # the MAD: robust like them (a target moves a fraction by one slot), cheap.
                bg, mad = self._bg[g], np.maximum(self._mad[g], mad_floor)
                sigma = MAD_TO_SIGMA * mad
                # Float32 sums of signs over the window (axis 1 adds contiguous rows).
                r = win - bg[:, None, :].astype(np.float32)
                frac = np.sign(r).sum(axis=1, dtype=np.float32) / count
                bg = bg + np.clip(frac * _MEDIAN_STEP * sigma, -_MAX_BG_STEP * sigma,
                                  _MAX_BG_STEP * sigma)
                np.subtract(win, bg[:, None, :].astype(np.float32), out=r)
                np.abs(r, out=r)
                r -= mad[:, None, :].astype(np.float32)
                frac = np.sign(r).sum(axis=1, dtype=np.float32) / count
                mad = mad * (1.0 + np.clip(frac * _MAD_STEP, -_MAX_MAD_STEP, _MAX_MAD_STEP))
            if not p.per_sample_noise:
                # One level per channel: the median of the per-sample ones.
                mad = np.broadcast_to(np.median(mad, axis=1, keepdims=True), mad.shape)
            self._bg[g] = bg
            self._mad[g] = mad
            self._inv[g] = 1.0 / np.maximum(MAD_TO_SIGMA * mad, p.noise_floor)
            for c in members:
                self._has[c] = True
                self._since[c] = 0

    def _window(self, ref: float) -> Tuple[int, int]:
        """First sample and length of the depth window below the surface sample ``ref``."""
        p = self.params
        spread = 2.0 if p.estimate_permittivity else 1.0
        v_slow = C_M_PER_NS / math.sqrt(p.soil_permittivity * spread)
        k_lo = int(math.ceil(ref + 2.0 * p.min_depth_m / p.velocity_m_per_ns / self._dt))
        k_hi = min(self._n_samples,
                   int(math.floor(ref + 2.0 * p.max_depth_m / v_slow / self._dt)) + 1)
        return k_lo, k_hi - k_lo

    def _setup(self, st: _Channel, ch: int) -> bool:
        """Fix the channel's depth window and tabulate its moveout; False if too short.

        With the permittivity estimated, the window reaches the deepest object for twice the
        prior (a wetter soil); its top stays where the prior puts ``min_depth_m`` (earlier,
        the ground-bounce residual of a rough surface would be taken for objects).
        """
        p = self.params
        dt = self._dt
        k_lo, n_win = self._window(st.ref)
        if n_win < 2:
            return False
        # The transmitted pulse's sign: the strongest early sample of the background (the
        # direct coupling), the reference of the reflection polarity.
        bg = self._bg[self._index[ch]]
        search = max(3, int(round(p.ground_search_max_ns / dt)))
        early = bg[:min(search, len(bg))]
        st.pulse_sign = 1.0 if early.size == 0 or early[np.argmax(np.abs(early))] >= 0 else -1.0
        eps = self.permittivity
        st.setup(k_lo, n_win, self._table(st.ref, k_lo, n_win, eps))
        st.table_eps = eps
        return True

    def _retabulate(self, st: _Channel) -> None:
        """Rebuild the moveout table once the permittivity estimate has moved."""
        eps = self.permittivity
        if _stale_table(st, eps):
            st.set_table(self._table(st.ref, st.k_lo, st.n_win, eps))
            st.table_eps = eps

    def _table(self, ref: float, k_lo: int, n_win: int, eps: float) -> np.ndarray:
        """Moveout table: sample reached at each neighbour distance bin for each apex sample."""
        p = self.params
        dt = self._dt
        v = C_M_PER_NS / math.sqrt(eps)
        k = np.arange(n_win)
        depth = np.maximum(v * (k + k_lo - ref) * dt / 2.0, 0.0)
        w = p.hyperbola_half_width_m
        # The refracted moveout is that of the equivalent air depth D (module docstring).
        big_d = equivalent_air_depth_m(depth, p.antenna_height_m, eps)
        aperture = np.clip(big_d * APERTURE_TAN, MIN_APERTURE_M, w)
        n_bins = int(round(w / _MOVEOUT_BIN_M)) + 1
        ds = np.arange(n_bins)[:, None] * _MOVEOUT_BIN_M
        extra = moveout_ns(depth[None, :], ds, p.antenna_height_m, eps) / dt
        kk = np.rint(k[None, :] + extra).astype(np.intp)
        # Aperture of about 45 degrees at the antenna: farther out the beam is weak.
        inside = (kk < n_win) & (ds <= aperture[None, :] + 1e-12)
        table = np.where(inside, kk, n_win)
        # Last row: a missing neighbour (every sample outside).
        return np.vstack([table, np.full((1, n_win), n_win, dtype=np.intp)])

    def _stack(self, st: _Channel, final: bool = False) -> bool:
        """Score every trace whose neighbours have arrived; False when too few are ready.

        Deferring until ``stack_every_traces`` traces are ready does not change any score (a
        score depends only on the trace's neighbours, and none of them is dropped before the
        trace is judged), only how many array calls are spent on it. ``final``: the scan
        ended, every remaining trace is scored with the neighbours there are.
        """
        p = self.params
        w = p.hyperbola_half_width_m
        lo_row, n = st.start, st.n
        if not final:
            # A trace is ready once a trace beyond its aperture (w ahead) has arrived; the
            # ``stack_every_traces``-th unscored one being ready is what the group needs
            # (``s`` increases: a scalar test instead of a search on every append).
            last = st.stacked + p.stack_every_traces - 1
            if last >= n or st.s_arr[last] > st.s_arr[n - 1] - w:
                return False
        s = st.s_arr[lo_row:n]
        lim = n if final else lo_row + int(s.searchsorted(s[-1] - w, side='right'))
        if lim <= st.stacked:
            return False
        ids = slice(st.stacked, lim)
        s_i = st.s_arr[ids]
        if p.hyperbola_check:
            lo = s.searchsorted(s_i - w, side='left') + lo_row
            hi = s.searchsorted(s_i + w, side='right') + lo_row
            m = int((hi - lo).max())
            nb = lo[:, None] + np.arange(m)[None, :]
            missing = nb >= hi[:, None]
            nb = np.minimum(nb, n - 1)
            b = np.rint(np.abs(st.s_arr[nb] - s_i[:, None]) / _MOVEOUT_BIN_M).astype(np.intp)
            b = np.where(missing, len(st.table) - 1, np.minimum(b, len(st.table) - 2))
        else:
            nb = np.arange(st.stacked, lim)[:, None]
            b = np.zeros(nb.shape, dtype=np.intp)
        # The gather as one flat take (a fraction of the cost of indexing with two index
        # arrays); the samples inside the window counted on the table itself (``inside``).
        cols = st.table[b]
        if st.inside_end is not None:
            # The neighbours counted at each sample are those whose bin is inside there, i.e.
            # before its ``inside_end``: each trace's histogram of bins, cumulated, read there
            # (the same integers as summing ``inside`` over the gathered rows, in a fraction
            # of the time: that gather and sum cost as much as the stack's own).
            n_t, n_rows = b.shape[0], len(st.table) + 1
            hist = np.bincount((b + (np.arange(n_t) * n_rows + 1)[:, None]).ravel(),
                               minlength=n_t * n_rows)
            inside_n = hist.reshape(n_t, n_rows).cumsum(axis=1).take(st.inside_end, axis=1)
        else:
            inside_n = st.inside[b].sum(axis=1)
        count = np.maximum(inside_n, 1.0)
        cols += (nb * st.env.shape[1])[:, :, None]
        vals = st.env.ravel().take(cols)
        stack = vals.sum(axis=1) / count
        # Under noise alone a whitened envelope is Rayleigh(1): the mean of ``count`` of
        # them has a known mean and spread, so z is comparable across depths and apertures.
        z = (stack - RAYLEIGH_MEAN) * (np.sqrt(count) / RAYLEIGH_STD)
        # A maximum on the window's first or last sample is the flank of something
        # outside it (the ground-bounce residual above, a deeper object below).
        z[:, 0] = z[:, -1] = -np.inf
        kbest = _top_echo(z, TOP_ECHO_MIN_GAP_NS / self._dt)
        t = np.arange(len(s_i))
        st.score[ids] = z[t, kbest]
        st.amp[ids] = stack[t, kbest]
        st.k[ids] = kbest
        st.stacked = lim
        return True

    def _decide(self, st: _Channel, final: bool = False) -> List[Detection]:
        p = self.params
        half = p.peak_half_window_m
        w = p.hyperbola_half_width_m
        sep = p.apex_separation_ns / self._dt if p.apex_separation_ns > 0.0 else math.inf
        out: List[Detection] = []
        lo_row = st.start
        if st.stacked > lo_row:
            s = st.s_arr[lo_row:st.stacked]
            lim = st.stacked if final else \
                lo_row + int(s.searchsorted(s[-1] - half, side='right'))
            if lim > st.decided:
                above = st.score[st.decided:lim] >= p.snr_threshold
                # (Mostly none: a cheap test first.)
                cand = (st.decided + np.flatnonzero(above)).tolist() if above.any() else []
                for i in cand:
                    e = st.score[i]
                    lo = lo_row + int(np.searchsorted(s, st.s_arr[i] - half, side='left'))
                    hi = lo_row + int(np.searchsorted(s, st.s_arr[i] + half, side='right'))
                    near = st.score[lo:hi]
                    # Strongest in the window; on an exact tie the earliest trace wins. A
                    # stronger trace whose apex comes later than this one's by more than
                    # apex_separation_ns is another object: a reflector's flank arrives
                    # after its apex (the moveout is never negative), so this apex is not it.
                    beats = (near > e) | ((near == e) & (np.arange(lo, hi) < i))
                    if np.any(beats & (st.k[lo:hi] <= st.k[i] + sep)):
                        continue
                    det = self._detection(st, i, float(e))
                    if det is not None:
                        out.append(det)
                st.decided = lim
        # Drop what no undecided trace can still need.
        first = st.s_arr[st.decided] if st.decided < st.n else st.s_arr[st.n - 1]
        s_done = st.s_arr[lo_row:st.decided]
        st.start = lo_row + int(s_done.searchsorted(first - half - w, side='left'))
        return out

    def _surface_residual(self, st: _Channel, i: int, z: float) -> bool:
        """Whether the apex at trace ``i`` is the ground bounce's residual, not an object.

        The surface pick tracks the antenna's height only as a running median; while the
        height changes (terrain under the boom, pitch, a pivot on a slope) the bounce is
        misaligned, the background does not cancel it, and its tail at the window's top stacks
        like a shallow object on every channel. Its sign is that misalignment: a residual
        between the aligned surface and the window's top all along the track round the apex,
        where an object's own echo leaves one only over its footprint.
        """
        p = self.params
        depth = self.velocity_m_per_ns * (st.k[i] + st.k_lo - st.ref) * self._dt / 2.0
        if depth > p.surface_guard_depth_m:
            return False
        s = st.s_arr[st.start:st.n]
        lo = int(np.searchsorted(s, s[i - st.start] - p.surface_context_m, side='left'))
        hi = int(np.searchsorted(s, s[i - st.start] + p.surface_context_m, side='right'))
        disturbance = float(np.median(st.surf[st.start + lo:st.start + hi]))
        return disturbance >= p.surface_residual_max_z and \
            z < p.surface_residual_ratio * disturbance

    def _detection(self, st: _Channel, i: int, z: float) -> Optional[Detection]:
        """Fit the hyperbola around apex trace ``i``: position, depth, half width, polarity.

        None when the object is deeper than ``max_depth_m`` at the permittivity in use and at
        the prior ``soil_permittivity`` both (the window reaches deeper to allow for a wetter
        soil than the prior). An estimate below the soil's permittivity reads every echo
        deeper than it is, and cut on the estimate alone a TM-62P 26 cm deep in laterite (eps
        10, estimate 3.9: read 41 cm deep, a z-score of 94) was never reported
        (bench/perception.py gen:laterite seed 3). A missed AT mine costs a detonation, a
        deep stone reported costs a track the fusion weighs.
        """
        p = self.params
        dt = self._dt
        if self._surface_residual(st, i, z):
            self.stats.surface_suppressed += 1
            return None
        reach = p.peak_half_window_m
        rows = np.arange(st.start, st.n)
        off = st.s_arr[rows] - st.s_arr[i]
        keep = np.abs(off) <= reach + _FIT_MAX_SHIFT_M
        rows, off = rows[keep], off[keep]
        # The fit stops short of another object's traces (the nearest either side): an echo
        # above the apex by more than apex_separation_ns (no flank of this one comes before its
        # apex), or a stronger one below it (that did not suppress this apex, :meth:`_decide`).
        # Otherwise a flat top stretched to take in its echo at a similar time moved the
        # centre: a steel round 8 cm deep fitted 8 cm off towards a plastic body 23 cm away,
        # whose bottom echo comes at the round's apex time.
        sep = p.apex_separation_ns / dt if p.apex_separation_ns > 0.0 else math.inf
        scored = rows < st.stacked
        k_r, z_r = st.k[rows], st.score[rows]
        other = scored & (z_r >= p.snr_threshold) & (
            (k_r < st.k[i] - sep) | ((k_r > st.k[i] + sep) & (z_r > z)))
        left = np.flatnonzero(other & (off < 0.0))
        right = np.flatnonzero(other & (off > 0.0))
        first = left[-1] + 1 if len(left) else 0
        last = right[0] if len(right) else len(rows)
        rows, off = rows[first:last], off[first:last]
        half_width, shift, k0, resolved, narrowest = fit_hyperbola(
            off, st.env[rows], float(st.k[i]), st.k_lo - st.ref, dt, p.antenna_height_m,
            self.permittivity)
        below_top = k0 * self.velocity_m_per_ns * dt / 2.0
        polarity = 0 if below_top < p.polarity_guard_m else polarity_at(
            st.sig[rows], st.env[rows], off - shift, k0, half_width, st.pulse_sign)
        # Only a point whose width the data pin down has a curvature to measure, and only a
        # reflector against the pulse's sign (metal, a stone in dry soil): a plastic mine is a
        # flat disc whose top, fitted at a wrong prior, passes for a point and flattens the
        # moveout, which reads as a drier soil (the fits gave eps 2.7-3.2 in loam and wet
        # clay on bench/perception.py's fields).
        if z >= p.velocity_min_snr and resolved and half_width <= _FIT_POINT_MAX_M and \
                polarity < 0:
            eps = fit_velocity(off - shift, st.env[rows], k0, st.k_lo - st.ref, dt,
                               p.antenna_height_m)
            if _FIT_EPS[0] < eps < _FIT_EPS[-1]:
                self._eps_fits.append(eps)
                self._eps_in_use = None
                self.stats.velocity_fits += 1
        self.stats.permittivity_estimate = round(self.permittivity_estimate[0], 2)
        self.stats.permittivity_in_use = round(self.permittivity, 2)
        # Depth from the stack's apex sample (validated within 6 mm on the simulator's PMN,
        # test_gpr_simulator_traces.py); the fit's refined sample serves the polarity.
        t_soil = (st.k[i] + st.k_lo - st.ref) * dt
        depth = max(0.0, self.velocity_m_per_ns * t_soil / 2.0)
        slowest = C_M_PER_NS / math.sqrt(max(self.permittivity, p.soil_permittivity))
        if slowest * t_soil / 2.0 > p.max_depth_m:
            return None
        # Position: the fitted centre of the top, interpolated along the antenna's path.
        s_c = st.s_arr[i] + shift
        s_all = st.s_arr[rows]
        x = float(np.interp(s_c, s_all, st.x[rows]))
        y = float(np.interp(s_c, s_all, st.y[rows]))
        if half_width >= _FIT_HALF_WIDTH_M[-1] or not resolved:
            # The best flat top is the widest the grid holds (a deep or overlapping reflector)
            # or the data do not pin it down (a shallow object): the half width is unknown
            # (the wire carries NaN); ``narrowest`` (radius_min) still says which chord of a
            # neighbour channel cannot be the object's widest top.
            half_width = math.nan
            self.stats.unresolved_widths += 1
        return Detection(x=x, y=y, depth=float(depth),
                         confidence=snr_confidence(z, p.snr_threshold),
                         kind=DetectionKind.UNKNOWN, source='gpr', radius=half_width,
                         strength=float(st.amp[i]), polarity=polarity,
                         radius_min=narrowest if below_top >= p.open_width_guard_m else 0.0)


#: Fit grids of the apex position along track (the stack's apex trace may be anywhere on a
#: flat top) and of the apex sample (the stack's best sample, refined by half samples).
_FIT_MAX_SHIFT_M = 0.1
_FIT_SHIFTS_M = np.linspace(-_FIT_MAX_SHIFT_M, _FIT_MAX_SHIFT_M, 11)
_FIT_SAMPLE_STEPS = np.array([-1.0, -0.5, 0.0, 0.5, 1.0])
#: A half width is resolved when every flat top this much wider or narrower scores worse by
#: this many standard deviations of the score's noise (:func:`fit_hyperbola`): the span is
#: half the difference between an AP mine's and an AT mine's (0.04 and 0.16 m, fusion's
#: class models), so an unresolved width cannot decide between them.
_RESOLVED_SPAN_M = 0.06
_RESOLVED_Z = 2.0
#: Traces within this distance beyond the flat top give the apex polarity, m.
_POLARITY_REACH_M = 0.03


def _interp_rows(env: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Linear interpolation of each row of ``env`` (N x S+1, last column 0) at ``q`` (.. x N)."""
    n_s = env.shape[1] - 1
    qi = np.floor(q).astype(np.intp)
    frac = q - qi
    bad = (qi < 0) | (qi >= n_s - 1)
    qi = np.where(bad, n_s, qi)
    qn = np.where(bad, n_s, qi + 1)
    r = np.arange(env.shape[0])
    return env[r, qi] * (1.0 - frac) + env[r, qn] * frac


def fit_hyperbola(offsets_m: np.ndarray, env: np.ndarray, k_apex: float, k_to_surface: float,
                  dt_ns: float, antenna_height_m: float, permittivity: float
                  ) -> Tuple[float, float, float, bool, float]:
    """Fit a flat-topped refracted hyperbola to the envelopes around an apex.

    ``offsets_m`` are the traces' along-track distances from the apex trace, ``env`` their
    window envelopes (N x S+1, last column 0), ``k_apex`` the apex window sample and
    ``k_to_surface`` the window's first sample minus the surface sample (so the soil two-way
    time is ``(k + k_to_surface) dt``). Every model (half width, centre shift, apex sample;
    the soil's ``permittivity``) predicts the arrival in every trace; the envelopes summed
    along it are its score (a diffraction stack, as in velocity analysis: Yilmaz, *Seismic
    Data Analysis*, 2001, ch. 3), and the best model wins. Returns
    ``(half_width_m, shift_m, k0, resolved, narrowest_m)``.

    ``resolved``: whether the data pin the half width down. Every flat top at least
    :data:`_RESOLVED_SPAN_M` wider or narrower than the best one (each with its best centre and
    apex sample) must score worse by more than the noise of a score (:data:`_RESOLVED_Z`
    standard deviations of a sum of N whitened noise envelopes, Rayleigh(1)). A shallow
    object under an antenna ~0.1 m above the ground has almost no moveout within the fit's
    reach: every width stacks the same peak and the widest won (a 1 cm deep TS-50 fitted
    0.15 m, AT-sized, and made a no-go zone on one run of two: issue 12).

    ``narrowest_m``: the narrowest flat top that scores within that noise of the best one
    (every narrower top scores worse): what the fit still says of a width it does not
    resolve. Over a wide disc laid shallow the data rule out the narrow tops but not the
    wider ones: a TM-62P 5 cm deep in laterite, under a channel 3 cm off its centre, scored
    the AP mines' tops (0-8 cm) 6-89 noise units under its best (20 cm) and 22-24 cm within
    3, so its width was open (NaN), and the fusion took the 3 cm chord a neighbour channel
    crossed for the mine's size (bench/classification.py --worlds shallow_at: 3 of 56 AT
    mines labelled AP). It is no width: the noise alone sets the margin, so a strong echo
    the model fits imperfectly rules narrow tops out too, and an object whose apex lies
    above the window's top (``min_depth_m``) stacks only its flanks, which read flat (a PMN
    1 cm deep: 9-12 cm); a top whose every width stacks the same peak gets 0.
    """
    eps = np.full((1, 1, 1, 1), float(permittivity))
    a = _FIT_HALF_WIDTH_M[None, :, None, None]
    shift = _FIT_SHIFTS_M[None, None, :, None]
    k0 = k_apex + _FIT_SAMPLE_STEPS[None, None, None, :]
    t_soil = np.maximum((k0 + k_to_surface) * dt_ns, 0.0)
    big_d = antenna_height_m + C_M_PER_NS * t_soil / (2.0 * eps)
    shape = np.broadcast_shapes(eps.shape, a.shape, shift.shape, k0.shape)
    models = [np.broadcast_to(v, shape).ravel() for v in (eps, a, shift, k0, big_d)]
    _, m_a, m_shift, m_k0, m_d = models
    xe = np.maximum(np.abs(offsets_m[None, :] - m_shift[:, None]) - m_a[:, None], 0.0)
    q = m_k0[:, None] + 2.0 * (np.sqrt(m_d[:, None] ** 2 + xe * xe) - m_d[:, None]) \
        / C_M_PER_NS / dt_ns
    score = _interp_rows(env, q).sum(axis=1)
    # Ties (a flat top seen by few traces): the smallest half width, then the smallest shift.
    best = int(np.argmax(score))
    # Resolution: the best score of each half width (over centre and apex sample) against
    # the noise of a score, a sum of len(offsets_m) whitened noise envelopes.
    profile = score.reshape(len(_FIT_HALF_WIDTH_M), -1).max(axis=1)
    noise = _RESOLVED_Z * RAYLEIGH_STD * math.sqrt(max(len(offsets_m), 1))
    far = np.abs(_FIT_HALF_WIDTH_M - m_a[best]) >= _RESOLVED_SPAN_M - 1e-9
    within = profile >= score[best] - noise
    resolved = bool(not np.any(within[far]))
    # the best width itself is within, so there is a first one
    narrowest = float(_FIT_HALF_WIDTH_M[int(np.argmax(within))])
    return float(m_a[best]), float(m_shift[best]), float(m_k0[best]), resolved, narrowest


#: Picks used by the velocity fit: envelope peaks at least this many noise units (whitened
#: envelopes: Rayleigh(1), mean 1.25) and at least this many of them off the apex.
_PICK_MIN_ENV = 4.0
_MIN_FLANK_PICKS = 4
#: Margin of the pick band around the hyperbolas of the permittivity grid, samples.
_PICK_BAND_SAMPLES = 2.0


def fit_velocity(offsets_m: np.ndarray, env: np.ndarray, k0: float, k_to_surface: float,
                 dt_ns: float, antenna_height_m: float) -> float:
    """Soil permittivity from the arrival-time picks of a point target's hyperbola.

    In each trace the envelope peak is picked (sub-sample, parabolic) inside the band the
    hyperbola can occupy for any permittivity of the grid (so a neighbouring object's echo
    outside it is not taken), where it stands clear of the noise; the permittivity whose
    refracted moveout (equivalent air depth ``D = h + c t_soil / (2 eps)``) fits these times
    best in weighted least squares (weights: squared envelope; the apex time fitted too) is
    returned; NaN when too few flank picks. This is the hyperbola velocity analysis of GPR
    practice (Annan 2009; docs/sources.md).
    """
    t_soil = max((k0 + k_to_surface) * dt_ns, 0.0)
    n_s = env.shape[1] - 1
    x = np.abs(offsets_m)
    big_d = antenna_height_m + C_M_PER_NS * t_soil / (2.0 * _FIT_EPS[:, None])
    move = 2.0 * (np.sqrt(big_d ** 2 + x[None, :] ** 2) - big_d) / C_M_PER_NS / dt_ns
    lo = np.floor(k0 + move.min(axis=0) - _PICK_BAND_SAMPLES).astype(np.intp)
    hi = np.ceil(k0 + move.max(axis=0) + _PICK_BAND_SAMPLES).astype(np.intp) + 1
    lo, hi = np.clip(lo, 0, n_s - 1), np.clip(hi, 1, n_s)
    width = int((hi - lo).max())
    if width < 3:
        return math.nan
    cols = lo[:, None] + np.arange(width)[None, :]
    inside = cols < hi[:, None]
    e = np.where(inside, env[np.arange(len(env))[:, None], np.minimum(cols, n_s - 1)], 0.0)
    j = np.argmax(e, axis=1)
    peak = e[np.arange(len(e)), j]
    q = lo + j + _parabolic_offset(e, j)
    ok = peak >= _PICK_MIN_ENV
    flank = ok & (q - k0 > 1.0)
    if np.count_nonzero(flank) < _MIN_FLANK_PICKS:
        return math.nan
    pred = k0 + move[:, ok]
    w = peak[ok] ** 2
    # The apex time is fitted too (a constant offset per model: the pick of the apex sample
    # and the stack's apex differ by a fraction of a sample).
    res = q[ok][None, :] - pred
    res -= (res * w[None, :]).sum(axis=1, keepdims=True) / w.sum()
    cost = (res ** 2 * w[None, :]).sum(axis=1)
    return float(_FIT_EPS[int(np.argmin(cost))])


def polarity_at(sig: np.ndarray, env: np.ndarray, offsets_m: np.ndarray, k0: float,
                half_width_m: float, pulse_sign: float) -> int:
    """Reflection polarity at the apex: +1 with the pulse's sign, -1 against it, 0 unknown.

    The whitened signal of the traces over the flat top (plus :data:`_POLARITY_REACH_M`) is
    read at the apex sample where its envelope peaks (the zero-phase wavelet's centre lobe).
    """
    near = np.abs(offsets_m) <= half_width_m + _POLARITY_REACH_M
    if not np.any(near):
        return 0
    lo = max(0, int(math.floor(k0)) - 1)
    hi = min(env.shape[1] - 1, int(math.ceil(k0)) + 2)
    if hi <= lo:
        return 0
    e = env[near, lo:hi]
    r = np.arange(e.shape[0])
    j = lo + np.argmax(e, axis=1)
    total = float(np.sum(sig[near][r, j]))
    if total == 0.0:
        return 0
    return 1 if total * pulse_sign > 0.0 else -1


#: An echo is an object's top when it is the first local maximum of the stack's z-score in
#: depth reaching this fraction of the trace's best (the first-break rule of
#: docs/gpr_validation.md's picking: the first envelope maximum reaching 50 % of the
#: window's maximum). A body of lower permittivity than the soil (plastic, TNT) reflects at
#: its top and, with the opposite sign, at its bottom (Daniels 2004: the sign of the
#: reflection coefficient follows the impedance step); the bottom echo can stack stronger
#: (a 32 x 12.5 cm TM-62P-like body in laterite, gprMax: bottom 21.5 cm, top 15 cm).
TOP_ECHO_FRACTION = 0.5
#: ... and it comes at least this long before the best, ns: one period of the 1.5 GHz pulse.
#: Closer maxima are the same echo's side lobes (a stack along a moveout for the wrong
#: permittivity smears one echo into several lobes: a steel can 14 cm deep in wet clay
#: stacked at the prior eps 9 read an earlier lobe, polarity + like plastic, and was
#: labelled AT; bench/perception.py --quick).
TOP_ECHO_MIN_GAP_NS = 0.67


def _top_echo(z: np.ndarray, min_gap: float) -> np.ndarray:
    """Per row of ``z`` (traces x window samples), the apex sample: the first local maximum
    reaching :data:`TOP_ECHO_FRACTION` of the row's maximum at least ``min_gap`` samples
    before it (its maximum when none)."""
    best = np.argmax(z, axis=1)
    zmax = z[np.arange(len(z)), best]
    peak = np.zeros(z.shape, dtype=bool)
    peak[:, 1:-1] = (z[:, 1:-1] >= z[:, :-2]) & (z[:, 1:-1] > z[:, 2:])
    peak &= z >= (TOP_ECHO_FRACTION * np.maximum(zmax, 0.0))[:, None]
    peak &= np.arange(z.shape[1])[None, :] <= best[:, None] - min_gap
    first = np.argmax(peak, axis=1)
    return np.where(peak.any(axis=1) & (zmax > 0.0), first, best)


def _inside_prefix(inside: np.ndarray) -> Optional[np.ndarray]:
    """Per column of ``inside`` (bins x samples), one past its last True row, when its True
    rows are a prefix (every bin up to there, none after), else None.

    The moveout table's samples are inside the window for the nearest bins only: the moveout
    and the aperture both grow with the neighbour's distance (the last row, a missing
    neighbour, is all outside); checked, not assumed.
    """
    end = inside.sum(axis=0)
    if not np.array_equal(inside, np.arange(len(inside))[:, None] < end[None, :]):
        return None
    return end


def _stale_table(st: _Channel, eps: float) -> bool:
    """Whether the channel's moveout table must be rebuilt for the permittivity ``eps``."""
    return abs(eps - st.table_eps) > _RETABULATE_FRACTION * st.table_eps


def _surface_sample(ref: float, k_lo: int) -> int:
    """The aligned surface's sample (``ref`` rounded), at most the window's top ``k_lo``."""
    return min(max(int(round(ref)), 0), k_lo)


def _runs(keys: List[int]) -> List[Tuple[int, int, int]]:
    """``(key, start, end)`` of each run of equal consecutive ``keys``."""
    runs = []
    start = 0
    for j in range(1, len(keys) + 1):
        if j == len(keys) or keys[j] != keys[start]:
            runs.append((keys[start], start, j))
            start = j
    return runs


def snr_confidence(snr: float, threshold: float) -> float:
    """Map an SNR to a 0..1 confidence: 0.5 at the threshold, towards 1 as SNR grows."""
    if not math.isfinite(snr) or snr <= 0.0:
        return 0.0
    return float(min(1.0, max(0.0, 1.0 - 0.5 * threshold / snr)))
