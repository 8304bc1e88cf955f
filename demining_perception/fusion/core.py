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
* **Classification** (recomputed on every hit; missing a mine is worse than a false alarm, so
  the default when unsure is AP):

  - UXO: very strong metal (``md_strong_mv``) flagged elongated by the MD processor;
  - AT: very strong metal, or a large GPR reflector (radius ``at_min_radius_m`` or strength
    ``at_gpr_strength``) at AT depth (``at_min_depth_m``);
  - AP: a GPR target of mine size with weak-to-medium or no metal (plastic / minimum-metal);
  - clutter: metal without a GPR target of mine size, once the GPR had ``gpr_wait_s`` to
    report (the GPR decides later than the MD along track); until then AP, low confidence.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Dict, Iterable, List, Optional, Tuple

import numpy as np

from demining_bringup.datatypes import Detection, DetectionKind
from demining_bringup.parameters import ParamError, param

#: Gaussian footprints are cut at this many sigmas.
_FOOTPRINT_SIGMAS = 3.0
#: Confidence of an AP label given while waiting for the GPR.
_UNSURE_AP_CONFIDENCE = 0.3
#: Confidence scale of a GPR-only AP label (no metal to corroborate).
_GPR_ONLY_FACTOR = 0.8
#: Smallest radius given to an AT track, m (TM-62 is 0.32 m across; field-facts).
_AT_MIN_RADIUS_M = 0.16


@dataclasses.dataclass(frozen=True)
class FusionParams:
    """Parameters of the fusion node."""

    area_file: str = param('', 'world SDF or GeoJSON hazard area; sizes the grid (shared)')
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
    md_strong_mv: float = param(500.0, 'metal response of AT mines and UXO, detector units',
                                min=0.0, max=1e9)
    gpr_min_strength: float = param(0.0, 'GPR strength of a mine-size target (smaller GPR '
                                    'responses are clutter-size)', min=0.0, max=1e6)
    at_min_radius_m: float = param(0.13, 'GPR reflector radius that means an AT mine, m',
                                   min=0.0, max=5.0)
    at_gpr_strength: float = param(40.0, 'GPR strength that means an AT-size reflector',
                                   min=0.0, max=1e6)
    at_min_depth_m: float = param(0.08, 'AT mines are at least this deep, m (field-facts: '
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
    gpr_strength: float = 0.0         # strongest response per sensor
    md_strength: float = 0.0
    gpr_radius: float = 0.0
    depth_sum: float = 0.0            # confidence-weighted GPR depth
    depth_weight: float = 0.0
    uxo_hints: int = 0
    max_conf: float = 0.0
    kind: DetectionKind = DetectionKind.AP
    confidence: float = 0.0

    @property
    def depth(self) -> float:
        """GPR depth estimate, 0 when only the MD has seen the track."""
        return self.depth_sum / self.depth_weight if self.depth_weight > 0.0 else 0.0

    def add(self, det: Detection, stamp: float) -> None:
        """Fold a raw detection into the track."""
        w = max(det.confidence, 1e-3)
        self.x = (self.x * self.weight + det.x * w) / (self.weight + w)
        self.y = (self.y * self.weight + det.y * w) / (self.weight + w)
        self.weight += w
        self.hits += 1
        self.last_seen = max(self.last_seen, stamp)
        self.max_conf = max(self.max_conf, det.confidence)
        if det.source == 'gpr':
            self.gpr_hits += 1
            self.gpr_conf = 1.0 - (1.0 - self.gpr_conf) * (1.0 - det.confidence)
            self.gpr_strength = max(self.gpr_strength, det.strength)
            self.gpr_radius = max(self.gpr_radius, det.radius)
            self.depth_sum += det.depth * w
            self.depth_weight += w
        else:
            self.md_hits += 1
            self.md_conf = 1.0 - (1.0 - self.md_conf) * (1.0 - det.confidence)
            self.md_strength = max(self.md_strength, det.strength)
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
        self.gpr_strength = max(self.gpr_strength, other.gpr_strength)
        self.md_strength = max(self.md_strength, other.md_strength)
        self.gpr_radius = max(self.gpr_radius, other.gpr_radius)
        self.depth_sum += other.depth_sum
        self.depth_weight += other.depth_weight
        self.uxo_hints += other.uxo_hints
        self.max_conf = max(self.max_conf, other.max_conf)
        self.first_seen = min(self.first_seen, other.first_seen)
        self.last_seen = max(self.last_seen, other.last_seen)


def classify(t: Track, p: FusionParams, now: float) -> Tuple[DetectionKind, float]:
    """Return the kind and confidence of a track (see the module docstring for the rules)."""
    strong_metal = t.md_hits > 0 and t.md_strength >= p.md_strong_mv
    gpr_mine = t.gpr_hits > 0 and t.gpr_strength >= p.gpr_min_strength
    if strong_metal and t.uxo_hints * 2 >= t.md_hits:
        return DetectionKind.UXO, t.md_conf
    large_gpr = gpr_mine and (t.gpr_radius >= p.at_min_radius_m
                              or t.gpr_strength >= p.at_gpr_strength)
    if strong_metal or (large_gpr and t.depth >= p.at_min_depth_m):
        conf = 1.0 - (1.0 - t.md_conf) * (1.0 - t.gpr_conf)
        return DetectionKind.AT, conf
    if gpr_mine:
        if t.md_hits:
            return DetectionKind.AP, 1.0 - (1.0 - t.md_conf) * (1.0 - t.gpr_conf)
        return DetectionKind.AP, _GPR_ONLY_FACTOR * t.gpr_conf
    if t.md_hits and now - t.first_seen >= p.gpr_wait_s:
        # Metal and no mine-size GPR target: clutter, the more sure the more the GPR
        # had a chance (GPR hits too small to be a mine lower it less than none at all).
        return DetectionKind.CLUTTER, t.md_conf * (0.8 if t.gpr_hits == 0 else 0.6)
    return DetectionKind.AP, _UNSURE_AP_CONFIDENCE * max(t.md_conf, t.gpr_conf)


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
                                 strength=max(t.md_strength, t.gpr_strength)))
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
        best.add(d, stamp)
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
