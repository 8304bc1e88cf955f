"""Ground-penetrating radar antenna array: synthetic traces with hyperbolic target moveout.

Each trace (``gpr_samples`` samples every ``gpr_sample_interval_ns``, sample 0 at the
transmit pulse) is the sum of

* direct coupling and antenna ringing (the same every trace, a little different per channel);
* the ground bounce: a Ricker wavelet at ``2 h / c`` with the air-soil reflection coefficient
  ``(1 - sqrt(eps)) / (1 + sqrt(eps))`` (``h`` the antenna height, jittered by roughness);
* every object in the beam: a Ricker wavelet at the two-way time of a ray refracted at the
  surface (:func:`travel_time_ns`, the paraxial "equivalent air depth" hyperbola validated
  against gprMax in docs/gpr_validation.md)
  ``t = 2 h / c + 2 d n / c + (2 / c) (sqrt(D^2 + x_e^2) - D)``, ``n = sqrt(eps_soil)``,
  ``D = h + d / n``, ``x_e = max(x - a, 0)`` (``d`` the depth of its top, ``x`` the horizontal
  antenna-to-target distance, ``a`` the half-width of a flat top: mines are flat-topped
  discs and boxes, other objects point-like), with amplitude from the reflection coefficient
  ``(sqrt(eps_soil) - sqrt(eps_obj)) / (sqrt(eps_soil) + sqrt(eps_obj))`` (metal: -1), the
  two-way transmission through the surface, a size factor, geometric spreading over the
  refracted path, attenuation ``exp(-2 alpha L_soil)`` over its soil leg with the low-loss
  ``alpha = 0.5 sigma sqrt(mu0 / (eps0 eps_r))`` and a Gaussian two-way beam pattern in the
  angle at which the ray leaves the antenna, which limits the width of the hyperbola;
* soil clutter: rocks and roots as weak point scatterers (rows of the item table marked
  GPR-only, laid out once from the seed);
* white noise.

Only targets within beam range are evaluated, and each wavelet is only evaluated in a short
window around its arrival, so a batch costs O(traces x targets-in-beam x window).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Optional

import numpy as np

from demining_bringup.contract.datatypes import GprScan
from demining_bringup.contract.parameters import param
from demining_sim.spatial import ItemTable

C_M_PER_NS = 0.299792458            # speed of light, m/ns
ETA0_OHM = 376.730313668            # impedance of free space, sqrt(mu0/eps0)
# A wavelet is evaluated over +/- this many periods of the centre frequency.
_WAVELET_HALF_PERIODS = 1.5
# Beam gain below which a target is not evaluated.
_BEAM_FLOOR = 1e-2
# Object sizes are compared with this to scale the scattered amplitude (0.1 m: a PMN-size
# object reflects like a plate at 1.5 GHz, a 2 cm fragment one fifth of that).
_SIZE_REF_M = 0.1
_SIZE_MIN = 0.05
# Channel-to-channel spread of the direct coupling and ringing (antenna manufacturing).
_CHANNEL_GAIN_SPREAD = 0.05
# Surface roughness jitters the antenna height by this fraction of its rms.
_ROUGHNESS_JITTER = 0.25
_MIN_HEIGHT_M = 1e-3
# Size of the white-noise bank traces draw their noise from.
_NOISE_BANK_SIZE = 1 << 18
# Item kinds with a flat top (``ItemKind`` values): mines are discs and boxes lying flat.
_FLAT_TOP_KINDS = frozenset({'AP', 'AT'})


@dataclasses.dataclass(frozen=True)
class GprParams:
    """GPR array model (defaults: a 1.5 GHz landmine GPR, docs/sources.md)."""

    gpr_trace_rate_hz: float = param(25.0, 'Traces per second per channel', min=1.0,
                                     max=1000.0)
    gpr_num_channels: int = param(8, 'Antenna channels across the sensor boom', min=1,
                                  max=64)
    gpr_antenna_height_m: float = param(0.05, 'Nominal antenna height above ground, m '
                                        '(docs/sources.md: 2-10 cm)', min=0.005, max=1.0)
    gpr_center_freq_ghz: float = param(1.5, 'Ricker wavelet centre frequency, GHz '
                                       '(docs/sources.md: 1-3 GHz)', min=0.1, max=10.0)
    gpr_samples: int = param(256, 'Samples per trace', min=16, max=4096)
    gpr_sample_interval_ns: float = param(0.04, 'Time between samples, ns', min=0.001,
                                          max=1.0)
    gpr_noise: float = param(0.002, 'White noise (1 sigma), normalised units', min=0.0,
                             max=1.0)
    # 30 deg at the antenna puts the half-power footprint at D tan(30 deg) (D = h + d / n):
    # 4.8 cm for 10 cm in loam, Annan's lambda / 4 + d / sqrt(eps + 1) gives 4.8 cm (and 6.6
    # vs 7.9 cm at 19.5 cm); the PMN's picked hyperbola then spans what gprMax's does (+/-16
    # cm, docs/gpr_validation.md).
    gpr_beam_halfwidth_deg: float = param(30.0, 'Two-way half-power beam half-angle, deg, of '
                                          'the ray leaving the antenna (in the air, before '
                                          'refraction at the surface)', min=1.0, max=89.0)
    gpr_direct_amplitude: float = param(1.0, 'Direct-coupling peak amplitude', min=0.0,
                                        max=100.0)
    gpr_ringing_amplitude: float = param(0.3, 'Antenna ringing amplitude', min=0.0,
                                         max=100.0)
    gpr_ringing_tau_ns: float = param(0.4, 'Antenna ringing decay time, ns', min=0.01,
                                      max=100.0)
    gpr_ground_gain: float = param(0.6, 'Ground-bounce gain (times the air-soil reflection '
                                   'coefficient)', min=0.0, max=100.0)
    gpr_target_gain: float = param(1.0, 'Target-reflection gain', min=0.0, max=1000.0)
    gpr_spreading_ref_m: float = param(0.1, 'Range at which geometric spreading is 1, m',
                                       min=0.001, max=10.0)
    gpr_metal_min_kg: float = param(0.1, 'Items with at least this much metal reflect as '
                                    'metal (coefficient -1)', min=0.0, max=1000.0)
    gpr_rock_permittivity: float = param(6.0, 'Relative permittivity of rocks and roots',
                                         min=1.0, max=80.0)
    gpr_range_m: float = param(1.0, 'Items farther than this horizontally are ignored, m',
                               min=0.1, max=10.0)


def wave_speed_m_per_ns(eps_r: float) -> float:
    """Propagation speed in a medium of relative permittivity ``eps_r``, m/ns."""
    return C_M_PER_NS / math.sqrt(eps_r)


def refraction_index(eps_r: float) -> float:
    """Refraction index ``n = sqrt(eps_r)`` of a non-magnetic medium."""
    return math.sqrt(eps_r)


def equivalent_air_depth_m(antenna_height_m, depth_m, eps_r: float):
    """Antenna-to-object depth of the equivalent air-only geometry, ``D = h + d / n``.

    Paraxially, a ray refracted at the air/soil surface bends as if the object were at this
    depth below the antenna in air: the hyperbola's curvature is set by ``D``, not ``h + d``.
    """
    return np.asarray(antenna_height_m) + np.asarray(depth_m) / refraction_index(eps_r)


def travel_time_ns(antenna_height_m, depth_m, offset_m, eps_r: float, half_width_m=0.0):
    """Two-way time (ns) to an object at ``depth_m`` (top) and horizontal ``offset_m``.

    Refraction at the air/soil surface in the paraxial "equivalent air depth" form::

        t = 2 h / c + 2 d n / c + (2 / c) (sqrt(D^2 + x_e^2) - D)
        n = sqrt(eps_r), D = h + d / n, x_e = max(|x| - a, 0)

    The apex (``x_e = 0``) is the straight-down ``2 h / c + 2 d / v``; away from it the slant
    path runs mostly in the air, so the moveout is that of an object at ``D`` in air (2-5x
    flatter than straight rays through the soil). ``half_width_m`` (``a``) is the half-width
    of a flat top, which reflects straight back while the antenna is above it; 0 for a
    point-like object. Against gprMax the moveout is within 0.035 ns (docs/gpr_validation.md).
    All arguments broadcast (numpy arrays).
    """
    h = np.asarray(antenna_height_m, dtype=float)
    d = np.asarray(depth_m, dtype=float)
    n = refraction_index(eps_r)
    x_e = np.maximum(np.abs(np.asarray(offset_m, dtype=float))
                     - np.asarray(half_width_m, dtype=float), 0.0)
    big_d = equivalent_air_depth_m(h, d, eps_r)
    return (2.0 * h + 2.0 * n * d + 2.0 * (np.sqrt(big_d * big_d + x_e * x_e) - big_d)
            ) / C_M_PER_NS


def apex_time_ns(antenna_height_m: float, depth_m: float, eps_r: float) -> float:
    """Two-way time (ns) of the hyperbola apex, ``2 h / c + 2 d sqrt(eps_r) / c``.

    The antenna straight above the object (or above its flat top): no refraction, the same
    as a straight ray.
    """
    return float(travel_time_ns(antenna_height_m, depth_m, 0.0, eps_r))


def flat_top_half_width_m(kinds, diameters) -> np.ndarray:
    """Half-width ``a`` of the flat top of each object (0 for point-like ones), m.

    Landmines (AP, AT) are flat-topped discs or boxes lying flat: ``diameter / 2`` (the
    gprMax PMN's moveout is matched by a = 56 mm, its radius). UXO (rounds lying on their
    side), clutter and rocks reflect from a rounded top: 0.
    """
    flat = np.array([str(getattr(k, 'value', k)) in _FLAT_TOP_KINDS for k in kinds],
                    dtype=bool)
    return np.where(flat, 0.5 * np.asarray(diameters, dtype=float), 0.0)


def reflection_coefficient(eps_soil, eps_obj):
    """Normal-incidence amplitude reflection coefficient, soil to object."""
    a = np.sqrt(np.asarray(eps_soil, dtype=float))
    b = np.sqrt(np.asarray(eps_obj, dtype=float))
    return (a - b) / (a + b)


def attenuation_np_per_m(conductivity: float, eps_r: float) -> float:
    """Low-loss amplitude attenuation ``0.5 sigma sqrt(mu0 / eps)``, neper per metre."""
    return 0.5 * conductivity * ETA0_OHM / math.sqrt(eps_r)


def ricker(t_ns, freq_ghz: float):
    """Zero-phase Ricker wavelet, peak 1 at t = 0."""
    a = (math.pi * freq_ghz * np.asarray(t_ns)) ** 2
    return (1.0 - 2.0 * a) * np.exp(-a)


class GprModel:
    """Produces :class:`GprScan` batches from antenna positions computed by the simulator."""

    def __init__(self, params: GprParams, table: ItemTable, permittivity: float,
                 conductivity: float, roughness_m: float, rng: np.random.Generator) -> None:
        """Sense the rows of ``table`` (items and scatterers) in the given soil."""
        p = self.p = params
        self.table = table
        self.rng = rng
        self.eps = float(permittivity)
        self.v = wave_speed_m_per_ns(self.eps)
        self.n = refraction_index(self.eps)
        self.alpha = attenuation_np_per_m(conductivity, self.eps)
        self.roughness = float(roughness_m)
        self.r_ground = float(reflection_coefficient(1.0, self.eps))
        self.t_axis = np.arange(p.gpr_samples) * p.gpr_sample_interval_ns
        half_win = max(2, int(math.ceil(_WAVELET_HALF_PERIODS / p.gpr_center_freq_ghz
                                        / p.gpr_sample_interval_ns)))
        self._win = np.arange(-half_win, half_win + 1)
        self.beam_k = math.log(2.0) / math.radians(p.gpr_beam_halfwidth_deg) ** 2
        self.theta_max = math.sqrt(math.log(1.0 / _BEAM_FLOOR) / self.beam_k)
        # Pairs are selected by x_e < D tan(theta_max) (no arctan over every pair).
        self.tan_theta_max = (math.tan(self.theta_max) if self.theta_max < 0.5 * math.pi
                              else math.inf)
        self.half_width = flat_top_half_width_m(table.kinds, table.diameter)
        # Per-row reflection amplitude (without geometry), computed once.
        self.row_amp = self._amplitudes(np.arange(len(table)))
        self._noise_bank = p.gpr_noise * rng.standard_normal(_NOISE_BANK_SIZE)
        # Direct coupling and ringing, a little different per channel (fixed per seed).
        t = self.t_axis
        ring = (np.exp(-t / p.gpr_ringing_tau_ns)
                * np.sin(2.0 * math.pi * p.gpr_center_freq_ghz * t))
        gains = 1.0 + _CHANNEL_GAIN_SPREAD * rng.standard_normal((p.gpr_num_channels, 2))
        self.background = (gains[:, :1] * p.gpr_direct_amplitude
                           * ricker(t, p.gpr_center_freq_ghz)[None, :]
                           + gains[:, 1:] * p.gpr_ringing_amplitude * ring[None, :])

    def _amplitudes(self, rows: np.ndarray) -> np.ndarray:
        p, t = self.p, self.table
        metal = t.metal_mass[rows] >= p.gpr_metal_min_kg
        refl = np.where(metal, -1.0, reflection_coefficient(self.eps, t.permittivity[rows]))
        size = np.clip(t.diameter[rows] / _SIZE_REF_M, _SIZE_MIN, 1.0)
        return p.gpr_target_gain * refl * (1.0 - self.r_ground ** 2) * size

    def refresh(self, rows) -> None:
        """Re-read the table's rows ``rows`` (an item moved, or left fragments)."""
        rows = np.atleast_1d(np.asarray(rows, dtype=np.int64))
        t = self.table
        self.half_width[rows] = flat_top_half_width_m([t.kinds[i] for i in rows],
                                                      t.diameter[rows])
        self.row_amp[rows] = self._amplitudes(rows)

    def synthesize(self, ant_x: np.ndarray, ant_y: np.ndarray, ant_h: np.ndarray,
                   channels: np.ndarray, noise: bool = True,
                   rows: Optional[np.ndarray] = None) -> np.ndarray:
        """Traces (T, S) at antenna map positions and heights above ground.

        ``rows`` optionally gives the candidate table rows (a superset of those within
        ``gpr_range_m``), so a caller can share one spatial query between sensors.
        """
        p = self.p
        ant_x = np.asarray(ant_x, dtype=float)
        ant_y = np.asarray(ant_y, dtype=float)
        h = np.asarray(ant_h, dtype=float)
        n_tr = ant_x.size
        out = self.background[np.asarray(channels) % p.gpr_num_channels]
        if noise and self.roughness > 0.0:
            h = np.maximum(h + _ROUGHNESS_JITTER * self.roughness
                           * self.rng.standard_normal(n_tr), _MIN_HEIGHT_M)
        # Ground bounce: one arrival per trace.
        trace_idx = np.arange(n_tr)
        t_arr = 2.0 * h / C_M_PER_NS
        amp = np.full(n_tr, self.r_ground * p.gpr_ground_gain)
        if rows is None:
            r = p.gpr_range_m
            rows = self.table.near(float(ant_x.min()) - r, float(ant_x.max()) + r,
                                   float(ant_y.min()) - r, float(ant_y.max()) + r)
        if rows.size:
            ti, ta, aa = self._targets(ant_x, ant_y, h, rows)
            if ti.size:
                trace_idx = np.concatenate([trace_idx, ti])
                t_arr = np.concatenate([t_arr, ta])
                amp = np.concatenate([amp, aa])
        self._add_wavelets(out, trace_idx, t_arr, amp)
        if noise and p.gpr_noise > 0.0:
            out += self._noise_chunk(out.size).reshape(out.shape)
        return out

    def _noise_chunk(self, n: int) -> np.ndarray:
        """``n`` white-noise samples: a random slice of a bank drawn once from the seed.

        Drawing 4096 normals per batch would be the costliest step of a batch; a slice of
        a 256 k-sample bank at a random offset is statistically the same for processing.
        """
        if n > self._noise_bank.size:
            return self.p.gpr_noise * self.rng.standard_normal(n)
        start = int(self.rng.integers(0, self._noise_bank.size - n + 1))
        return self._noise_bank[start:start + n]

    def _targets(self, ax: np.ndarray, ay: np.ndarray, h: np.ndarray, rows: np.ndarray):
        """(trace index, arrival time ns, amplitude) of every in-beam trace-target pair.

        The ray to the nearest point of the object's top (``x_e`` beyond its flat top) is
        refracted at the surface; paraxially it leaves the antenna at
        ``theta = atan(x_e / D)`` (``D = h + d / n``, the equivalent air depth), which sets
        the beam gain. Its air leg ``h / cos(theta)`` and soil leg ``d / cos(theta_soil)``
        (Snell: ``sin(theta_soil) = sin(theta) / n``) set spreading and attenuation; above
        the object both equal the straight-down path.
        """
        tb = self.table
        n = self.n
        d = tb.depth[rows]
        xh = np.hypot(ax[:, None] - tb.x[rows][None, :], ay[:, None] - tb.y[rows][None, :])
        xe = np.maximum(xh - self.half_width[rows][None, :], 0.0)
        big_d = h[:, None] + d[None, :] / n
        ti, ki = np.nonzero(xe < big_d * self.tan_theta_max)
        if ti.size == 0:
            return ti, np.zeros(0), np.zeros(0)
        xs = xe[ti, ki]
        ds = d[ki]
        hs = h[ti]
        dd = big_d[ti, ki]
        r_eq = np.sqrt(dd * dd + xs * xs)
        t_arr = (2.0 * hs + 2.0 * n * ds + 2.0 * (r_eq - dd)) / C_M_PER_NS
        sin_air = xs / r_eq
        theta = np.arcsin(sin_air)
        air_leg = hs * r_eq / dd
        soil_leg = ds / np.sqrt(1.0 - (sin_air / n) ** 2)
        amp = (self.row_amp[rows][ki] * np.exp(-self.beam_k * theta * theta
                                               - 2.0 * self.alpha * soil_leg)
               * (self.p.gpr_spreading_ref_m / (air_leg + soil_leg)))
        return ti, t_arr, amp

    def _add_wavelets(self, out: np.ndarray, trace_idx: np.ndarray, t_arr: np.ndarray,
                      amp: np.ndarray) -> None:
        """Add Ricker wavelets (only a window around each arrival) to the traces."""
        n_s = out.shape[1]
        dt = self.p.gpr_sample_interval_ns
        centre = np.rint(t_arr / dt).astype(np.int64)
        idx = centre[:, None] + self._win[None, :]
        vals = amp[:, None] * ricker(idx * dt - t_arr[:, None], self.p.gpr_center_freq_ghz)
        # 0 <= idx < n_s in one comparison: a negative index read as unsigned is huge
        ok = idx.view(np.uint64) < n_s
        flat = (trace_idx[:, None] * n_s + idx)[ok]
        out += np.bincount(flat, weights=vals[ok], minlength=out.size).reshape(out.shape)

    def scan(self, stamp: float, time_offsets: np.ndarray, base_positions: np.ndarray,
             channels: np.ndarray, ant_x: np.ndarray, ant_y: np.ndarray,
             ant_h: np.ndarray, rows: Optional[np.ndarray] = None) -> GprScan:
        """A batch: traces at map positions, reported at their base_link positions."""
        amps = self.synthesize(ant_x, ant_y, ant_h, channels, rows=rows)
        return GprScan(stamp=stamp, positions=base_positions.astype(np.float32),
                       time_offsets=time_offsets.astype(np.float32),
                       channels=channels.astype(np.uint32),
                       sample_interval_ns=self.p.gpr_sample_interval_ns,
                       amplitudes=amps.astype(np.float32))
