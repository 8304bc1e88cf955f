"""Metal-detector coil array: induced-dipole response of buried metal plus soil background.

Response of one coil to one item (falls off with the sixth power of the coil-to-target
distance: Das et al. 1990, Bruschini 2002, docs/sources.md)::

    s = md_gain * metal_mass * shape_factor / max(r, md_r_min_m)^6       [mV]

with ``r`` the distance from the coil centre to the item centre (coil height above ground
plus the item's centre depth, and the horizontal offset). ``shape_factor`` grows with the
aspect ratio (elongated objects couple more flux than compact ones of the same mass).

Calibration (``md_gain`` 0.08 mV m^6/kg, coil 5 cm above ground, 1 mV noise; masses from
the generator's catalogue): a PMN (4 g of metal) at 10 cm depth gives ~12 mV (SNR ~12), a
PMA-1 (0.8 g) ~35 mV at 5 cm but only ~4 mV at 10 cm (lost in the soil background of a
magnetic soil), a TM-62M (1.8 kg) ~190 mV at 20 cm; a receiver saturates at
``md_saturation_mv``.

Background: magnetic soil (``magnetic_susceptibility``) adds the response of a half-space to a
coil of radius ``a`` (``md_coil_radius_m``) at height ``h``: by the image method the coupling
of the coil with its image ``2 h`` below, ``md_soil_gain * chi * 8 / (a^2 + 4 h^2)^(3/2)``,
which is ``md_soil_gain * chi / h^3`` for a coil high above the soil and stays finite for a
coil on the ground (Das 2006). It varies with the coil height (terrain and boom bounce: this
is what ground balancing fights). Every coil drifts slowly (Gauss-Markov) and carries white
electronic noise. Processing must remove the background (docs/interfaces.md: "background
included").
"""

from __future__ import annotations

import dataclasses
import math
from typing import Optional

import numpy as np

from demining_bringup.contract.datatypes import MdScan
from demining_bringup.contract.parameters import param
from demining_sim.spatial import ItemTable

# Aspect-ratio exponent and cap of the shape factor.
_SHAPE_EXPONENT = 0.25
_SHAPE_MAX = 2.0


@dataclasses.dataclass(frozen=True)
class MdParams:
    """Metal-detector array model."""

    md_rate_hz: float = param(50.0, 'Coil sampling rate (every coil), Hz', min=1.0,
                              max=1000.0)
    md_num_coils: int = param(8, 'Number of coils across the sensor boom', min=1, max=64)
    md_coil_height_m: float = param(0.05, 'Nominal coil height above the ground, m',
                                    min=0.005, max=1.0)
    md_gain: float = param(0.08, 'Response gain, mV m^6 / kg (calibration: PMN at 10 cm '
                           '~12 mV)', min=0.0, max=1e6)
    md_r_min_m: float = param(0.03, 'Distance floor of the r^-6 law, m', min=0.001, max=1.0)
    md_noise_mv: float = param(1.0, 'White electronic noise (1 sigma), mV', min=0.0,
                               max=1000.0)
    md_drift_sigma_mv: float = param(2.0, 'Steady-state sigma of the slow coil drift, mV',
                                     min=0.0, max=1000.0)
    md_drift_tau_s: float = param(60.0, 'Correlation time of the coil drift, s', min=0.1,
                                  max=1e6)
    md_soil_gain: float = param(7.07, 'Soil background gain, mV m^3 per SI susceptibility '
                                '(the gain x chi / h^3 of a coil high above the soil; 2 mV for '
                                'loam at 5 cm with a 10 cm coil radius)', min=0.0, max=1e6)
    md_coil_radius_m: float = param(0.1, 'Coil radius, m: below about this height the soil '
                                    'response stops growing as h^-3 (a coil on the ground '
                                    'reads 2.8 times its background at 5 cm, not 1,000 times)',
                                    min=0.005, max=1.0)
    md_range_m: float = param(1.0, 'Items farther than this from every coil are ignored, m',
                              min=0.1, max=10.0)
    md_saturation_mv: float = param(5000.0, 'Receiver saturation, mV', min=1.0, max=1e7)


def shape_factor(diameter, height):
    """Orientation-free coupling factor of an object from its aspect ratio (1 .. 2)."""
    d = np.maximum(np.asarray(diameter, dtype=float), 1e-3)
    h = np.maximum(np.asarray(height, dtype=float), 1e-3)
    ratio = np.maximum(d, h) / np.minimum(d, h)
    return np.minimum(ratio ** _SHAPE_EXPONENT, _SHAPE_MAX)


def md_response(coil_x, coil_y, coil_h, item_x, item_y, item_zc, item_strength,
                gain: float, r_min: float) -> np.ndarray:
    """Summed dipole response (mV) of items at each coil.

    :param coil_x: coil centres (M,), map metres; ``coil_h`` their height above ground.
    :param item_zc: depth of each item's centre below the ground (K,), m.
    :param item_strength: metal mass times shape factor (K,), kg.
    """
    coil_x = np.asarray(coil_x, dtype=float)
    if np.size(item_x) == 0:
        return np.zeros(coil_x.shape)
    dx = coil_x[:, None] - np.asarray(item_x)[None, :]
    dy = np.asarray(coil_y, dtype=float)[:, None] - np.asarray(item_y)[None, :]
    dz = np.asarray(coil_h, dtype=float)[:, None] + np.asarray(item_zc)[None, :]
    r2 = np.maximum(dx * dx + dy * dy + dz * dz, r_min * r_min)
    return gain * (np.asarray(item_strength)[None, :] / (r2 * r2 * r2)).sum(axis=1)


def soil_background(coil_h, susceptibility: float, soil_gain: float,
                    coil_radius_m: float = 0.1) -> np.ndarray:
    """Magnetic-soil background (mV) at coil heights ``coil_h`` (m) of a coil of radius
    ``coil_radius_m``: its coupling with its image in the half-space, ``2 h`` below."""
    h = np.maximum(np.asarray(coil_h, dtype=float), 0.0)
    d2 = coil_radius_m * coil_radius_m + 4.0 * h * h
    return soil_gain * susceptibility * 8.0 / (d2 * np.sqrt(d2))


def coil_offsets(n: int, width: float) -> np.ndarray:
    """Lateral (base_link y) centres of ``n`` coils spread evenly over ``width``, left first."""
    return width / 2.0 - (np.arange(n) + 0.5) * width / n


class MetalDetectorModel:
    """Produces :class:`MdScan` batches from coil positions computed by the simulator."""

    def __init__(self, params: MdParams, table: ItemTable, susceptibility: float,
                 rng: np.random.Generator) -> None:
        """Sense the metal of ``table`` rows (GPR-only scatterers are skipped)."""
        self.p = params
        self.table = table
        self.chi = float(susceptibility)
        self.rng = rng
        self.strength = table.metal_mass * shape_factor(table.diameter, table.height)
        self.zc = table.depth + table.height / 2.0
        # Rows a coil can sense (metal, not a GPR-only scatterer): one gather per batch.
        self._sensed = ~table.gpr_only & (self.strength > 0.0)
        self.drift = rng.standard_normal(params.md_num_coils) * params.md_drift_sigma_mv
        self._t_last = None

    def refresh(self, rows) -> None:
        """Re-read the table's rows ``rows`` (an item moved, or left fragments)."""
        t = self.table
        self.strength[rows] = t.metal_mass[rows] * shape_factor(t.diameter[rows], t.height[rows])
        self.zc[rows] = t.depth[rows] + t.height[rows] / 2.0
        self._sensed[rows] = ~t.gpr_only[rows] & (self.strength[rows] > 0.0)

    def signals(self, coil_x: np.ndarray, coil_y: np.ndarray, coil_h: np.ndarray,
                channels: np.ndarray, t: float, rows: Optional[np.ndarray] = None
                ) -> np.ndarray:
        """Signals (mV) of coil readings at map positions (M,) at batch time ``t``.

        ``rows`` optionally gives the candidate table rows (a superset of those within
        ``md_range_m``), so a caller can share one spatial query between sensors.
        """
        p = self.p
        if rows is None:
            r = p.md_range_m
            rows = self.table.near(float(coil_x.min()) - r, float(coil_x.max()) + r,
                                   float(coil_y.min()) - r, float(coil_y.max()) + r)
        if rows.size:
            rows = rows[self._sensed[rows]]
        if rows.size:
            s = md_response(coil_x, coil_y, coil_h, self.table.x[rows], self.table.y[rows],
                            self.zc[rows], self.strength[rows], p.md_gain, p.md_r_min_m)
        else:
            # md_response of no items (its zeros) without four empty gathers and the call:
            # most batches have no metal within range of the boom
            s = np.zeros(np.shape(coil_x))
        s += soil_background(coil_h, self.chi, p.md_soil_gain, p.md_coil_radius_m)
        dt = 0.0 if self._t_last is None else max(t - self._t_last, 0.0)
        self._t_last = t
        if dt > 0.0 and p.md_drift_sigma_mv > 0.0:
            a = math.exp(-dt / p.md_drift_tau_s)
            self.drift = a * self.drift + p.md_drift_sigma_mv * math.sqrt(1.0 - a * a) * \
                self.rng.standard_normal(self.drift.size)
        s += self.drift[channels]
        if p.md_noise_mv > 0.0:
            s += p.md_noise_mv * self.rng.standard_normal(s.shape)
        return np.minimum(s, p.md_saturation_mv)

    def scan(self, stamp: float, time_offsets: np.ndarray, base_positions: np.ndarray,
             channels: np.ndarray, coil_x: np.ndarray, coil_y: np.ndarray,
             coil_h: np.ndarray, rows: Optional[np.ndarray] = None) -> MdScan:
        """A batch: readings at map positions, reported at their base_link positions."""
        sig = self.signals(coil_x, coil_y, coil_h, channels, stamp, rows)
        return MdScan(stamp=stamp, positions=base_positions.astype(np.float32),
                      time_offsets=time_offsets.astype(np.float32),
                      channels=channels.astype(np.uint32), signals=sig.astype(np.float32))
