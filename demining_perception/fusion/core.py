"""Sensor fusion: log-odds mine-probability grid, tracks, per-track classification (no rclpy).

* **Grid**: log-odds cells in ``map`` starting at ``prior_probability`` (a small prior, not
  "unknown": nothing is unknown in a hazard area, every cell is suspected a little). Each raw
  detection adds a Gaussian footprint (sigma = max(detection radius, ``footprint_sigma_m``))
  weighted by its confidence and by ``gpr_hit_log_odds`` / ``md_hit_log_odds``. Only positive
  evidence is accumulated (the processors report hits, not "scanned and empty"), so a cell's
  probability never falls; the map is published as 0..100 (no -1 cells).
* **Tracks**: a detection joins the nearest track within ``association_radius_m`` (a spatial
  hash keeps this cheap with tens of thousands of clutter tracks), else it starts a new one
  with the next id (ids are stable and never reused). A track is confirmed after
  ``confirm_hits`` hits or one hit of confidence ``confirm_confidence``; tentative tracks not
  seen again for ``tentative_timeout_s`` are forgotten. Tracks closer than the association
  radius are merged into the older one.
* **Classification** (recomputed on every hit). It works on what the sensors say about the
  object, not on raw amplitudes (a 20 g fragment 2 cm deep is louder than a TM-62M 20 cm
  deep): the MD processor reports a depth-corrected metal content in grams (``strength``) and
  the metal's depth, the GPR a reflector depth and the radius of its flat top. An MD hit at
  least ``md_reliable_confidence`` confident has a reliable metal estimate (weak hits scatter
  by a factor of several); the GPR radius is taken from hits at least
  ``gpr_confident_confidence`` confident. Missing a mine is worse than a false alarm, but
  calling all metal AP is useless (docs/sources.md: ~250 metal signals per mine; dual-sensor
  detectors skip 90-96 % of clutter). In order:

  - **AT / UXO (heavy metal)**: a reliable look with at least ``at_min_metal_g`` (kilograms:
    TM-62M, mortar rounds; clutter is 1-100 g). UXO when the MD flags the footprint elongated,
    or when the GPR had its chance and saw no AT-size reflector (a compact one: a shell, not
    a 32 cm disc); otherwise AT (unsure -> AT, the most dangerous to drive over);
  - **AT (plastic)**: a GPR reflector of radius ``at_min_radius_m`` at AT depth
    (``at_min_depth_m``; TM-62P: 32 cm wide, 10-30 cm deep, tens of grams of metal);
  - **clutter**: once the GPR had ``gpr_wait_s`` to report an AT-size target (it shares the
    boom with the MD but decides later along track), metal whose every reliable look is above
    ``ap_max_metal_g`` (more than an AP blast mine holds; docs/sources.md: PMN a few grams);
  - **AP**: any other metal: AP-mine metal content, or an estimate too noisy to clear it;
    with a GPR reflector at the spot at full confidence, without one (the GPR may have missed
    a low-contrast mine) at low confidence;
  - **AP / UNKNOWN without metal**: a GPR reflector of mine size (``gpr_mine_min_radius_m``)
    at AP depth (``ap_max_depth_m``) is a plastic or minimum-metal AP mine; a smaller or
    deeper one (a stone, a root) is UNKNOWN: suspect, low confidence.

  The GPR flat-top radius is not used against metal: on the simulator's data it does not
  separate point-like metal clutter (3-10 cm) from AP mines (5-11 cm).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Dict, Iterable, List, Optional, Tuple

import numpy as np

from demining_bringup.contract.datatypes import Detection, DetectionKind
from demining_bringup.contract.parameters import ParamError, param
from demining_bringup.contract import vehicle_params

#: Gaussian footprints are cut at this many sigmas.
_FOOTPRINT_SIGMAS = 3.0
#: Confidence of an AP label given while waiting for the GPR.
_UNSURE_AP_CONFIDENCE = 0.3
#: Confidence scale of a GPR-only AP label (no metal to corroborate).
_GPR_ONLY_FACTOR = 0.8
#: Smallest radius given to an AT track, m (TM-62 is 0.32 m across; docs/sources.md).
_AT_MIN_RADIUS_M = 0.16
#: Confidence scale of an UNKNOWN label (a small non-metallic GPR reflector).
_UNKNOWN_FACTOR = 0.5
#: Confidence scale of a clutter label, with and without a GPR reflector confirming a small
#: object at the spot.
_CLUTTER_GPR_FACTOR = 0.8
_CLUTTER_MD_ONLY_FACTOR = 0.6
#: Floor of an MD metal estimate before taking its log, g.
_MIN_METAL_G = 1e-3


@dataclasses.dataclass(frozen=True)
class FusionParams:
    """Parameters of the fusion node."""

    area_file: str = vehicle_params.area_file()
    resolution_m: float = param(0.1, 'grid cell size, m', min=0.01, max=5.0)
    map_margin_m: float = param(6.0, 'grid margin around the hazard area, m '
                                '(sensors run 4 m ahead of the vehicle)', min=0.0, max=1000.0)
    map_origin_x: float = param(-50.0, 'grid origin x when no area_file, m',
                                min=-1e6, max=1e6)
    map_origin_y: float = param(-50.0, 'grid origin y when no area_file, m',
                                min=-1e6, max=1e6)
    map_width_m: float = param(100.0, 'grid width when no area_file, m', min=1.0, max=5000.0)
    map_height_m: float = param(100.0, 'grid height when no area_file, m',
                                min=1.0, max=5000.0)
    prior_probability: float = param(0.01, 'mine probability of a cell before any detection',
                                     min=1e-4, max=0.5)
    gpr_hit_log_odds: float = param(1.5, 'log-odds added at the centre of a GPR hit '
                                    '(times its confidence)', min=0.0, max=20.0)
    md_hit_log_odds: float = param(0.8, 'log-odds added at the centre of an MD hit '
                                   '(times its confidence)', min=0.0, max=20.0)
    footprint_sigma_m: float = param(0.1, 'smallest Gaussian footprint sigma, m '
                                     '(localisation and sensor position error)',
                                     min=0.01, max=5.0)
    max_log_odds: float = param(8.0, 'cell log-odds clamp', min=1.0, max=50.0)
    association_radius_m: float = param(0.35, 'a detection joins a track this close, m',
                                        min=0.01, max=5.0)
    confirm_hits: int = param(2, 'hits that confirm a track', min=1, max=100)
    confirm_confidence: float = param(0.8, 'a single hit this confident confirms a track',
                                      min=0.0, max=1.0)
    tentative_timeout_s: float = param(30.0, 'unconfirmed tracks not hit again for this '
                                       'long are dropped, s', min=0.1, max=1e6)
    gpr_wait_s: float = param(3.0, 'an MD-only track stays AP this long before it may be '
                              'called clutter (the GPR decides later), s', min=0.0, max=600.0)
    at_min_metal_g: float = param(
        500.0, 'metal content (MD, g) of AT mines and UXO (docs/sources.md: TM-62M and mortar '
        'rounds kilograms; clutter 1-100 g)', min=0.0, max=1e9)
    ap_max_metal_g: float = param(
        8.0, 'most metal content (MD, g) an AP blast mine has: twice a PMN\'s 4 g for the '
        'estimate\'s spread (docs/sources.md: PMN a few g, minimum-metal < 1 g); more, on every '
        'reliable MD look, is clutter unless the GPR shows an AT-size target',
        min=0.0, max=1e9)
    md_reliable_confidence: float = param(
        0.75, 'an MD hit this confident (SNR twice the threshold) gives a metal content '
        'reliable enough to clear a track as clutter', min=0.0, max=1.0)
    gpr_confident_confidence: float = param(
        0.8, 'GPR hits this confident give the track its flat-top radius (weaker hits\' '
        'radii are noise)', min=0.0, max=1.0)
    gpr_mine_min_radius_m: float = param(
        0.04, 'GPR flat-top radius of a mine-size target without metal, m (PMN 5.6 cm)',
        min=0.0, max=5.0)
    ap_max_depth_m: float = param(
        0.2, 'a non-metallic GPR reflector deeper than this (and too small for AT) is not '
        'called AP but UNKNOWN, m (docs/sources.md: AP mines 0-15 cm)', min=0.0, max=5.0)
    at_min_radius_m: float = param(0.13, 'GPR reflector radius that means an AT mine, m '
                                   '(docs/sources.md: TM-62 32 cm across)', min=0.0, max=5.0)
    at_min_depth_m: float = param(0.08, 'AT mines are at least this deep, m (docs/sources.md: '
                                  '10-30 cm)', min=0.0, max=5.0)
    publish_period_s: float = param(1.0, 'period of /mine_map, /detections, markers and '
                                    'diagnostics, s', min=0.05, max=60.0)

    def __post_init__(self) -> None:
        """Check cross-field constraints."""
        cells = (self.map_width_m / self.resolution_m) * (self.map_height_m / self.resolution_m)
        if cells > 5e7:
            raise ParamError('map_width_m x map_height_m at resolution_m exceeds 5e7 cells')


def log_odds(p: float) -> float:
    """Return the log-odds of a probability."""
    return math.log(p / (1.0 - p))


class LogOddsGrid:
    """A log-odds grid in ``map``: rows are y, columns x, cell (0, 0) at the origin corner."""

    def __init__(self, origin_x: float, origin_y: float, width_m: float, height_m: float,
                 resolution: float, prior: float, max_log_odds: float = 8.0) -> None:
        """Create a grid of ``width_m`` x ``height_m`` metres filled with ``prior``."""
        self.origin_x = float(origin_x)
        self.origin_y = float(origin_y)
        self.resolution = float(resolution)
        self.width = max(1, int(math.ceil(width_m / resolution)))
        self.height = max(1, int(math.ceil(height_m / resolution)))
        self.prior = log_odds(prior)
        self.max_log_odds = float(max_log_odds)
        self.cells = np.full((self.height, self.width), self.prior, dtype=np.float32)

    def add_gaussian(self, x: float, y: float, sigma: float, peak_log_odds: float) -> bool:
        """Add a Gaussian bump of log-odds; return False when it misses the grid."""
        if not (math.isfinite(x) and math.isfinite(y) and sigma > 0.0):
            return False
        r = _FOOTPRINT_SIGMAS * sigma
        c0 = max(0, int(math.floor((x - r - self.origin_x) / self.resolution)))
        c1 = min(self.width, int(math.ceil((x + r - self.origin_x) / self.resolution)))
        r0 = max(0, int(math.floor((y - r - self.origin_y) / self.resolution)))
        r1 = min(self.height, int(math.ceil((y + r - self.origin_y) / self.resolution)))
        if c0 >= c1 or r0 >= r1:
            return False
        cx = self.origin_x + (np.arange(c0, c1) + 0.5) * self.resolution
        cy = self.origin_y + (np.arange(r0, r1) + 0.5) * self.resolution
        d2 = (cy[:, None] - y) ** 2 + (cx[None, :] - x) ** 2
        bump = peak_log_odds * np.exp(-0.5 * d2 / sigma ** 2)
        win = self.cells[r0:r1, c0:c1]
        np.clip(win + bump, -self.max_log_odds, self.max_log_odds, out=win)
        return True

    def probability(self) -> np.ndarray:
        """Return cell probabilities 0..1 (float32)."""
        return (1.0 / (1.0 + np.exp(-self.cells))).astype(np.float32)

    def probability_at(self, x: float, y: float) -> float:
        """Return the probability of the cell containing (x, y), NaN outside."""
        c = int(math.floor((x - self.origin_x) / self.resolution))
        r = int(math.floor((y - self.origin_y) / self.resolution))
        if not (0 <= c < self.width and 0 <= r < self.height):
            return math.nan
        return float(1.0 / (1.0 + math.exp(-float(self.cells[r, c]))))

    def occupancy(self) -> np.ndarray:
        """Return the grid as int8 0..100 (OccupancyGrid values; rows = y)."""
        return np.clip(np.rint(self.probability() * 100.0), 0, 100).astype(np.int8)


@dataclasses.dataclass
class Track:
    """A fused object hypothesis."""

    id: int
    x: float
    y: float
    first_seen: float
    last_seen: float
    weight: float = 0.0               # sum of position weights
    hits: int = 0
    gpr_hits: int = 0
    md_hits: int = 0
    gpr_conf: float = 0.0             # combined (noisy-or) confidence per sensor
    md_conf: float = 0.0
    md_best_conf: float = 0.0         # the most confident MD hit (reliability of the metal)
    metal_min_reliable: float = math.inf   # metal content (g) range over reliable MD hits
    metal_max_reliable: float = 0.0
    gpr_best_conf: float = 0.0        # the most confident GPR hit ...
    gpr_best_radius: float = 0.0      # ... and its flat-top radius, m
    gpr_max_radius: float = 0.0       # largest flat-top radius of the confident GPR hits, m
    gpr_strength: float = 0.0         # strongest GPR response (z-score)
    depth_sum: float = 0.0            # confidence-weighted GPR depth
    depth_weight: float = 0.0
    md_depth_sum: float = 0.0         # confidence^2-weighted MD depth (metal centre)
    metal_log_sum: float = 0.0        # confidence^2-weighted log of the metal content (g)
    metal_weight: float = 0.0
    uxo_hints: int = 0
    max_conf: float = 0.0
    kind: DetectionKind = DetectionKind.AP
    confidence: float = 0.0

    @property
    def gpr_depth(self) -> float:
        """GPR depth estimate (top of the reflector), 0 when the GPR has not seen the track."""
        return self.depth_sum / self.depth_weight if self.depth_weight > 0.0 else 0.0

    @property
    def md_depth(self) -> float:
        """MD depth estimate (centre of the metal), 0 when the MD has not seen the track."""
        return self.md_depth_sum / self.metal_weight if self.metal_weight > 0.0 else 0.0

    @property
    def depth(self) -> float:
        """Best depth: the GPR's (the object's top) when it saw the track, else the MD's."""
        return self.gpr_depth if self.depth_weight > 0.0 else self.md_depth

    @property
    def metal_g(self) -> float:
        """Metal content (g, MD estimate; geometric mean weighted by confidence^2), 0 if none."""
        if self.metal_weight <= 0.0:
            return 0.0
        return math.exp(self.metal_log_sum / self.metal_weight)

    @property
    def gpr_radius(self) -> float:
        """Flat-top radius (m): the largest of the confident GPR hits, else the best hit's."""
        return self.gpr_max_radius if self.gpr_max_radius > 0.0 else self.gpr_best_radius

    def add(self, det: Detection, stamp: float, reliable_md: float = 0.75,
            confident_gpr: float = 0.8) -> None:
        """Fold a raw detection into the track.

        An MD hit at least ``reliable_md`` confident counts in the reliable metal range, a
        GPR hit at least ``confident_gpr`` confident in the largest radius.
        """
        w = max(det.confidence, 1e-3)
        self.x = (self.x * self.weight + det.x * w) / (self.weight + w)
        self.y = (self.y * self.weight + det.y * w) / (self.weight + w)
        self.weight += w
        self.hits += 1
        self.last_seen = max(self.last_seen, stamp)
        self.max_conf = max(self.max_conf, det.confidence)
        depth = det.depth if math.isfinite(det.depth) else 0.0
        if det.source == 'gpr':
            self.gpr_hits += 1
            self.gpr_conf = 1.0 - (1.0 - self.gpr_conf) * (1.0 - det.confidence)
            strength = det.strength if math.isfinite(det.strength) else 0.0
            # The flat-top radius of a weak hit is noise: keep the confident hits' and the
            # most confident one's.
            if math.isfinite(det.radius):
                if (det.confidence, strength) > (self.gpr_best_conf, self.gpr_strength):
                    self.gpr_best_radius = det.radius
                    self.gpr_best_conf = det.confidence
                if det.confidence >= confident_gpr:
                    self.gpr_max_radius = max(self.gpr_max_radius, det.radius)
            self.gpr_strength = max(self.gpr_strength, strength)
            self.depth_sum += depth * w
            self.depth_weight += w
        else:
            self.md_hits += 1
            self.md_conf = 1.0 - (1.0 - self.md_conf) * (1.0 - det.confidence)
            self.md_best_conf = max(self.md_best_conf, det.confidence)
            if math.isfinite(det.strength):
                # Noisy (weak) hits give scattered metal estimates: weight by confidence^2.
                w2 = w * w
                self.metal_log_sum += math.log(max(det.strength, _MIN_METAL_G)) * w2
                self.md_depth_sum += depth * w2
                self.metal_weight += w2
                if det.confidence >= reliable_md:
                    self.metal_min_reliable = min(self.metal_min_reliable, det.strength)
                    self.metal_max_reliable = max(self.metal_max_reliable, det.strength)
            if det.kind == DetectionKind.UXO:
                self.uxo_hints += 1

    def absorb(self, other: 'Track') -> None:
        """Merge another track into this one."""
        tot = self.weight + other.weight
        if tot > 0.0:
            self.x = (self.x * self.weight + other.x * other.weight) / tot
            self.y = (self.y * self.weight + other.y * other.weight) / tot
        self.weight = tot
        self.hits += other.hits
        self.gpr_hits += other.gpr_hits
        self.md_hits += other.md_hits
        self.gpr_conf = 1.0 - (1.0 - self.gpr_conf) * (1.0 - other.gpr_conf)
        self.md_conf = 1.0 - (1.0 - self.md_conf) * (1.0 - other.md_conf)
        self.md_best_conf = max(self.md_best_conf, other.md_best_conf)
        if (other.gpr_best_conf, other.gpr_strength) > (self.gpr_best_conf, self.gpr_strength):
            self.gpr_best_radius = other.gpr_best_radius
            self.gpr_best_conf = other.gpr_best_conf
        self.gpr_max_radius = max(self.gpr_max_radius, other.gpr_max_radius)
        self.metal_min_reliable = min(self.metal_min_reliable, other.metal_min_reliable)
        self.metal_max_reliable = max(self.metal_max_reliable, other.metal_max_reliable)
        self.gpr_strength = max(self.gpr_strength, other.gpr_strength)
        self.depth_sum += other.depth_sum
        self.depth_weight += other.depth_weight
        self.md_depth_sum += other.md_depth_sum
        self.metal_log_sum += other.metal_log_sum
        self.metal_weight += other.metal_weight
        self.uxo_hints += other.uxo_hints
        self.max_conf = max(self.max_conf, other.max_conf)
        self.first_seen = min(self.first_seen, other.first_seen)
        self.last_seen = max(self.last_seen, other.last_seen)


def classify(t: Track, p: FusionParams, now: float) -> Tuple[DetectionKind, float]:
    """Return the kind and confidence of a track (see the module docstring for the rules)."""
    both = 1.0 - (1.0 - t.md_conf) * (1.0 - t.gpr_conf)
    metal = t.md_hits > 0
    reliable = t.metal_max_reliable > 0.0
    # Heavy metal on any reliable MD look (a mine under a fragment must not average away);
    # without one, the confidence-weighted estimate.
    heavy = metal and (t.metal_max_reliable if reliable else t.metal_g) >= p.at_min_metal_g
    gpr_large = (t.gpr_hits > 0 and t.gpr_radius >= p.at_min_radius_m
                 and t.gpr_depth >= p.at_min_depth_m)
    waited = now - t.first_seen >= p.gpr_wait_s
    if heavy:
        if not gpr_large and (t.uxo_hints * 2 >= t.md_hits or (waited and t.gpr_hits > 0)):
            # Elongated, or the GPR saw a compact reflector rather than a mine's large top.
            return DetectionKind.UXO, both
        return DetectionKind.AT, both
    if gpr_large:
        return DetectionKind.AT, both
    if not metal:
        if t.gpr_radius >= p.gpr_mine_min_radius_m and t.gpr_depth <= p.ap_max_depth_m:
            return DetectionKind.AP, _GPR_ONLY_FACTOR * t.gpr_conf     # plastic, minimum metal
        return DetectionKind.UNKNOWN, _UNKNOWN_FACTOR * t.gpr_conf
    if waited and reliable and t.metal_min_reliable > p.ap_max_metal_g:
        # Every reliable look says more metal than an AP blast mine holds, and the GPR had its
        # chance to report an AT-size target.
        return DetectionKind.CLUTTER, (_CLUTTER_GPR_FACTOR if t.gpr_hits else
                                       _CLUTTER_MD_ONLY_FACTOR) * t.md_conf
    if t.gpr_hits:
        return DetectionKind.AP, both
    # AP-mine metal (or an estimate too noisy to clear it) and no GPR report (yet).
    return DetectionKind.AP, _UNSURE_AP_CONFIDENCE * t.md_conf


class FusionCore:
    """Grid plus tracks; feed raw detections, read the map and the fused list."""

    def __init__(self, params: FusionParams, origin_x: float, origin_y: float,
                 width_m: float, height_m: float) -> None:
        """Create the fusion state for a grid covering the given rectangle of ``map``."""
        self.params = params
        self.grid = LogOddsGrid(origin_x, origin_y, width_m, height_m, params.resolution_m,
                                params.prior_probability, params.max_log_odds)
        self.tracks: Dict[int, Track] = {}
        self._next_id = 1
        self._hash: Dict[Tuple[int, int], List[int]] = {}
        self.detections_in = 0
        self.detections_outside = 0

    @classmethod
    def from_bounds(cls, params: FusionParams,
                    bounds: Optional[Tuple[float, float, float, float]]) -> 'FusionCore':
        """Build from ``(min_x, min_y, max_x, max_y)`` plus margin, or the explicit params."""
        if bounds is None:
            return cls(params, params.map_origin_x, params.map_origin_y, params.map_width_m,
                       params.map_height_m)
        m = params.map_margin_m
        x0, y0, x1, y1 = bounds
        return cls(params, x0 - m, y0 - m, (x1 - x0) + 2 * m, (y1 - y0) + 2 * m)

    # -- input ------------------------------------------------------------------------------

    def add(self, dets: Iterable[Detection], stamp: float) -> None:
        """Fold raw sensor detections (``source`` 'gpr' or 'md') taken around ``stamp``."""
        p = self.params
        touched = []
        for d in dets:
            if not (math.isfinite(d.x) and math.isfinite(d.y) and math.isfinite(d.confidence)):
                continue
            self.detections_in += 1
            gain = p.gpr_hit_log_odds if d.source == 'gpr' else p.md_hit_log_odds
            sigma = max(p.footprint_sigma_m, d.radius if math.isfinite(d.radius) else 0.0)
            if not self.grid.add_gaussian(d.x, d.y, sigma, gain * d.confidence):
                self.detections_outside += 1
            touched.append(self._associate(d, stamp))
        for tid in touched:
            t = self.tracks.get(tid)
            if t is not None:
                t.kind, t.confidence = classify(t, p, stamp)

    def update(self, now: float) -> None:
        """Re-classify at ``now`` (MD-only tracks become clutter once the GPR wait is over)."""
        self._prune(now)
        for t in self.tracks.values():
            t.kind, t.confidence = classify(t, self.params, now)

    # -- output -----------------------------------------------------------------------------

    def confirmed(self, t: Track) -> bool:
        """Return True when a track has enough evidence to be published."""
        return t.hits >= self.params.confirm_hits or t.max_conf >= self.params.confirm_confidence

    def fused(self) -> List[Detection]:
        """Return the confirmed tracks as fused detections, by id."""
        out = []
        for t in sorted(self.tracks.values(), key=lambda t: t.id):
            if not self.confirmed(t):
                continue
            radius = t.gpr_radius if t.gpr_hits else 0.1
            if t.kind == DetectionKind.AT:
                radius = max(radius, _AT_MIN_RADIUS_M)
            out.append(Detection(x=t.x, y=t.y, depth=t.depth, confidence=float(t.confidence),
                                 kind=t.kind, source='fused', radius=radius, id=t.id,
                                 strength=t.metal_g))
        return out

    # -- internals --------------------------------------------------------------------------

    def _key(self, x: float, y: float) -> Tuple[int, int]:
        r = self.params.association_radius_m
        return int(math.floor(x / r)), int(math.floor(y / r))

    def _near(self, x: float, y: float) -> List[Track]:
        kx, ky = self._key(x, y)
        out = []
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                out.extend(self.tracks[i] for i in self._hash.get((kx + dx, ky + dy), ()))
        return out

    def _hash_add(self, t: Track) -> None:
        self._hash.setdefault(self._key(t.x, t.y), []).append(t.id)

    def _hash_remove(self, t: Track) -> None:
        bucket = self._hash.get(self._key(t.x, t.y))
        if bucket and t.id in bucket:
            bucket.remove(t.id)

    def _associate(self, d: Detection, stamp: float) -> int:
        r = self.params.association_radius_m
        best, best_d = None, r
        for t in self._near(d.x, d.y):
            dist = math.hypot(t.x - d.x, t.y - d.y)
            if dist <= best_d:
                best, best_d = t, dist
        if best is None:
            best = Track(id=self._next_id, x=d.x, y=d.y, first_seen=stamp, last_seen=stamp)
            self._next_id += 1
            self.tracks[best.id] = best
        else:
            self._hash_remove(best)
        best.add(d, stamp, self.params.md_reliable_confidence,
                 self.params.gpr_confident_confidence)
        # The track moved: merge any other track now within the radius into the older one.
        for other in self._near(best.x, best.y):
            if other.id != best.id and math.hypot(other.x - best.x, other.y - best.y) <= r:
                keep, gone = (best, other) if best.id < other.id else (other, best)
                self._hash_remove(gone)
                if gone is other:
                    keep.absorb(other)
                else:
                    self._hash_remove(keep)
                    keep.absorb(best)
                del self.tracks[gone.id]
                best = keep
        self._hash_add(best)
        return best.id

    def _prune(self, now: float) -> None:
        timeout = self.params.tentative_timeout_s
        stale = [t for t in self.tracks.values()
                 if not self.confirmed(t) and now - t.last_seen > timeout]
        for t in stale:
            self._hash_remove(t)
            del self.tracks[t.id]
