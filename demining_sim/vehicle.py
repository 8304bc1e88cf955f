"""Tracked skid-steer vehicle: kinematics with slip, slope traction, attitude and collisions.

The vehicle is integrated with plain ``math`` on scalars at the physics rate (numpy call
overhead would dominate for a single pose); terrain queries (vectorised numpy) are only made
when the vehicle has moved or turned noticeably since the last one.

Model, per physics step:

* the command (v, omega) is clamped to the speed and yaw-rate limits, then to the track speed
  limit (both track speeds ``v -/+ omega * gauge / 2`` within ``max_speed_mps``), then
  rate-limited by the acceleration limits: this gives the sprocket (encoder) track speeds;
* the ground moves the vehicle less than the sprockets say: a slip fraction grows with the
  turning rate and the slope (tracks shear the soil), with a little random variation; skid
  steering additionally loses a fraction of the yaw rate (lateral track scrubbing);
* per track, the longitudinal slip follows from the force it must develop (Janosi-Hanamoto):
  half the resistance to motion plus or minus the skid-steer turning resistance. A turn the
  tracks' grip cannot pay for is not made (Wong 2008, "Theory of Ground Vehicles", ch. 7, the
  steerability of skid-steered vehicles): the outer track may develop at most
  ``_STEER_GRIP_RATIO`` of its grip, the yaw rate is held to what that pays for, and the rest
  of the tracks' speed difference is lateral skid. The forward motion is kept: a tracked
  machine asked for a turn in wet clay drives on nearly straight, it does not stall;
* uphill, traction falls with the slope (speed loss) and above ``max_climb_slope_deg`` the
  vehicle cannot climb at all; on a side slope it creeps downhill;
* pitch and roll come from terrain heights at the front, rear, left and right of the
  footprint (the footprint averages the ground, unlike a point gradient);
* obstacles are vertical cylinders or boxes (SDF ``<box>``: an oriented rectangle in plan); a
  move that would make the footprint rectangle touch one is not taken, the vehicle stops and
  one ``collision`` is reported per contact. A cylinder is tested against the rectangle
  exactly (distance from its axis to the rectangle); a box by the separating-axis theorem on
  the four edge normals of the two rectangles (exact for overlap; as a gap it is the largest
  separation along those axes, a lower bound of the true distance that equals it unless two
  corners face each other). A box's bounding circle only pre-selects nearby candidates;
* ``accel`` is the true forward acceleration of the last step (change of the true speed over
  ground), not the commanded one: a blocked vehicle, or one whose tracks spin without grip,
  has none.
"""

from __future__ import annotations

import dataclasses
import math
from typing import List, Optional, Sequence, Tuple

import numpy as np

from demining_bringup.contract.parameters import ParamError, param
from demining_bringup.contract import vehicle_params
from demining_sim.spatial import height_at, is_flat
from demining_bringup.contract.world import Obstacle, ObstacleShape, Terrain

# A box obstacle's plan rectangle: (cos yaw, sin yaw, half length, half width).
_Box = Tuple[float, float, float, float]


@dataclasses.dataclass(frozen=True)
class VehicleParams:
    """Vehicle geometry and drive limits (defaults: a heavy remote flail, docs/sources.md)."""

    max_speed_mps: float = param(1.0, 'Top track speed, m/s (docs/sources.md: 0.3-1.5 km/h '
                                 'working, transit faster)', min=0.05, max=5.0)
    max_reverse_speed_mps: float = param(0.5, 'Top reverse speed, m/s', min=0.0, max=5.0)
    max_accel_mps2: float = param(0.5, 'Longitudinal acceleration limit, m/s^2',
                                  min=0.01, max=10.0)
    max_yaw_rate_rps: float = param(0.5, 'Yaw-rate limit, rad/s', min=0.01, max=3.0)
    max_yaw_accel_rps2: float = param(1.0, 'Yaw acceleration limit, rad/s^2', min=0.01,
                                      max=20.0)
    length_m: float = param(6.0, 'Hull length (footprint for collisions and pitch), m',
                            min=0.5, max=20.0)
    width_m: float = param(2.2, 'Hull width (footprint), m', min=0.5, max=10.0)
    mass_kg: float = param(12000.0, 'Vehicle mass, kg (docs/sources.md: heavy flails 10-20 t)',
                           min=100.0, max=100000.0)
    track_gauge_m: float = vehicle_params.track_gauge_m()
    track_width_m: float = vehicle_params.track_width_m()
    track_length_m: float = vehicle_params.track_length_m()
    slip_base: float = param(0.01, 'Track slip fraction when driving straight on level '
                             'ground', min=0.0, max=0.5)
    slip_turn_coeff: float = param(0.15, 'Extra slip fraction per rad/s of yaw rate',
                                   min=0.0, max=2.0)
    slip_slope_coeff: float = param(0.3, 'Extra slip fraction per unit slope (tan)',
                                    min=0.0, max=2.0)
    slip_noise: float = param(0.005, 'Standard deviation of the random slip fraction',
                              min=0.0, max=0.2)
    skid_yaw_loss: float = param(0.1, 'Fraction of the kinematic yaw rate lost to lateral '
                                 'track scrubbing when skid steering', min=0.0, max=0.9)
    uphill_speed_loss: float = param(1.2, 'Uphill speed loss per sin(slope) (traction)',
                                     min=0.0, max=5.0)
    max_climb_slope_deg: float = param(30.0, 'Steepest slope the vehicle can climb, deg '
                                       '(docs/sources.md: MV-10 to 37 deg)', min=1.0, max=60.0)
    side_slip_coeff: float = param(0.05, 'Downhill creep on a side slope, fraction of the '
                                   'speed per sin(roll)', min=0.0, max=1.0)
    traction_coefficient: float = param(0.0, 'Tracks\' coefficient of traction (largest '
                                        'tractive force over weight); 0 takes it from the '
                                        'world\'s soil (SOIL_TRACTION)', min=0.0, max=1.5)
    turning_resistance_coeff: float = param(0.4, 'Coefficient of lateral resistance of the '
                                            'tracks when skid steering (Wong 2008: '
                                            'M_r = mu_t W L / 4; our value)', min=0.0,
                                            max=1.5)
    shear_deformation_modulus_m: float = param(0.025, 'Shear deformation modulus K of the '
                                               'soil under the tracks, m (Janosi-Hanamoto; '
                                               'Wong 2008: 1-5 cm)', min=0.0, max=0.5)
    rolling_resistance_coeff: float = param(0.05, 'Rolling resistance of the tracks over '
                                            'weight (Wong 2008: 0.05-0.1 on soil)',
                                            min=0.0, max=0.5)
    terrain_update_m: float = param(0.05, 'Re-query terrain attitude after this much travel, '
                                    'm', min=0.001, max=1.0)

    def __post_init__(self) -> None:
        """Check cross-field constraints."""
        if self.track_gauge_m + self.track_width_m > self.width_m + 1e-9:
            raise ParamError(f'track_gauge_m + track_width_m ({self.track_gauge_m} + '
                             f'{self.track_width_m}) exceeds width_m ({self.width_m})')


@dataclasses.dataclass
class VehicleTruth:
    """True vehicle state in ``map`` (what the ground-truth topic reports)."""

    x: float = 0.0
    y: float = 0.0
    z: float = 0.0
    yaw: float = 0.0
    pitch: float = 0.0          # REP-103: positive nose down
    roll: float = 0.0           # positive left side up
    v: float = 0.0              # true forward speed over ground, m/s
    omega: float = 0.0          # true yaw rate, rad/s
    accel: float = 0.0          # true forward acceleration over the last step, m/s^2
    track_left: float = 0.0     # sprocket (encoder) track speeds, m/s
    track_right: float = 0.0
    slip: float = 0.0           # current slip fraction
    blocked: bool = False       # in contact with an obstacle


# Extra search margin around the hull for obstacle candidates, and the travel after which
# the candidate list is refreshed (it is valid while the vehicle stays within the margin).
_OBSTACLE_MARGIN_M = 6.0
_OBSTACLE_REFRESH_M = 2.0
# After a contact, the hull must get this far from the obstacle before another contact with
# it counts as a new collision (creeping against it is one collision, not hundreds).
_CONTACT_REARM_M = 0.1
# Highest slip fraction (the tracks still grip a little).
_MAX_SLIP = 0.9
GRAVITY_MPS2 = 9.80665
#: Coefficient of traction of tracks by soil preset (Wong 2008, "Theory of Ground Vehicles":
#: tracked vehicles reach about 0.5-0.9 of their weight on firm soils, less in loose sand and
#: wet clay; these values are our estimate within that range).
SOIL_TRACTION = {'dry_sand': 0.45, 'loam': 0.6, 'wet_clay': 0.35, 'laterite': 0.65}
DEFAULT_TRACTION = SOIL_TRACTION['loam']
# Yaw rate at which the turning resistance is fully developed (smooths Coulomb friction at
# zero yaw rate), rad/s.
_TURN_RESISTANCE_W0 = 0.05
# Largest ratio of track force to grip the slip law is evaluated at (beyond: spinning).
_MAX_GRIP_RATIO = 0.999
# Share of a track's grip that may go into a turn with the longitudinal force: beyond it the
# turn is not made (module docstring) instead of both tracks spinning. Below 1 so the
# steering slip stays finite (Janosi-Hanamoto at 0.95: 3 K / L).
_STEER_GRIP_RATIO = 0.95


def track_slip(force: float, grip: float, shear_over_length: float) -> float:
    """Slip of a track developing ``force`` (N) out of ``grip`` (N) (Janosi-Hanamoto).

    ``F = F_max (1 - exp(-i L / K))`` inverted: ``i = -(K / L) ln(1 - F / F_max)``; a track
    asked for its whole grip or more spins (:data:`_MAX_SLIP`).
    """
    if grip <= 0.0:
        return _MAX_SLIP
    ratio = abs(force) / grip
    if ratio >= _MAX_GRIP_RATIO:
        return _MAX_SLIP
    return min(-shear_over_length * math.log(1.0 - ratio), _MAX_SLIP)


# Slip noise is drawn in blocks of this many steps (one generator call per block).
_NOISE_BLOCK = 256


def rect_gap(c1: float, s1: float, hl1: float, hw1: float, dx: float, dy: float,
             c2: float, s2: float, hl2: float, hw2: float) -> float:
    """Separating-axis gap (m) between two oriented rectangles (negative: they overlap).

    Rectangle 1 has its x axis along (c1, s1) and half sizes ``hl1`` x ``hw1``; rectangle 2
    is centred ``(dx, dy)`` from it, x axis along (c2, s2), half sizes ``hl2`` x ``hw2``. The
    result is the largest separation of the two projections over the four edge normals: below
    zero exactly when the rectangles overlap (then it is minus the smallest penetration
    depth); above zero it is a lower bound of the distance between them (equal unless the
    closest points are two corners).
    """
    # |cos| and |sin| of the relative angle project one rectangle's half sizes on the other's
    # axes.
    k = c1 * c2 + s1 * s2
    m = s1 * c2 - c1 * s2
    if k < 0.0:
        k = -k
    if m < 0.0:
        m = -m
    # Axes of rectangle 1.
    g = abs(c1 * dx + s1 * dy) - hl1 - hl2 * k - hw2 * m
    g2 = abs(c1 * dy - s1 * dx) - hw1 - hl2 * m - hw2 * k
    if g2 > g:
        g = g2
    # Axes of rectangle 2.
    g2 = abs(c2 * dx + s2 * dy) - hl2 - hl1 * k - hw1 * m
    if g2 > g:
        g = g2
    g2 = abs(c2 * dy - s2 * dx) - hw2 - hl1 * m - hw1 * k
    return g2 if g2 > g else g


class Vehicle:
    """The tracked vehicle's kinematics; call :meth:`step` at the physics rate."""

    def __init__(self, params: VehicleParams, terrain: Terrain,
                 obstacles: Sequence[Obstacle], start: Tuple[float, float, float],
                 rng: np.random.Generator, soil: str = '') -> None:
        """Place the vehicle at ``start`` (x, y, yaw) on ``terrain`` among ``obstacles``.

        ``soil`` (a soil preset name) sets the traction when ``traction_coefficient`` is 0.
        """
        self.p = params
        self.mu = params.traction_coefficient or SOIL_TRACTION.get(soil, DEFAULT_TRACTION)
        weight = params.mass_kg * GRAVITY_MPS2
        self._weight = weight
        # Per-track grip and the force each track needs against skid-steer turning resistance
        # (Wong 2008: M_r = mu_t W L / 4, shared by the two tracks over the gauge).
        self._turn_force = (params.turning_resistance_coeff * weight * params.track_length_m
                            / 4.0 / params.track_gauge_m)
        self._k_over_l = params.shear_deformation_modulus_m / params.track_length_m
        self._slide = 0.0
        #: External force resisting forward motion (the tool in the soil), N.
        self.tool_force = 0.0
        #: Extra slip fraction of both tracks (a track_slip fault: mud, ice).
        self.fault_slip = 0.0
        self.slip_left = self.slip_right = 0.0
        self.terrain = terrain
        self.rng = rng
        self.truth = VehicleTruth(x=float(start[0]), y=float(start[1]), yaw=float(start[2]))
        self._v_ref = 0.0
        self._w_ref = 0.0
        self._noise: List[float] = []
        self._noise_left = 0
        self._obs = np.array([[o.x, o.y, o.radius] for o in obstacles], dtype=float) \
            if obstacles else np.zeros((0, 3))
        self._obs_names = [o.name for o in obstacles]
        self._has_obstacles = bool(self._obs_names)
        # Box obstacles: (cos yaw, sin yaw, half length, half width); None for a cylinder.
        self._obs_box: List[Optional[_Box]] = [
            (math.cos(o.yaw), math.sin(o.yaw), o.length / 2.0, o.width / 2.0)
            if o.shape == ObstacleShape.BOX.value else None for o in obstacles]
        self._obs_near: List[Tuple[float, float, float, int, Optional[_Box]]] = []
        self._contact: Optional[int] = None
        self._obs_anchor = (math.inf, math.inf)
        self._terrain_anchor = (math.inf, math.inf, math.inf)
        self._flat = is_flat(terrain)
        self._max_climb_tan = math.tan(math.radians(params.max_climb_slope_deg))
        self._half_gauge = params.track_gauge_m / 2.0
        self._grade_fwd = self._slope_slip = self._side_creep = 0.0
        # Constants of the per-step arithmetic, read once (step runs at the physics rate):
        # each is the same sub-expression step evaluated, so results keep every bit.
        self._rolling_force = params.rolling_resistance_coeff * weight
        self._yaw_keep = 1.0 - params.skid_yaw_loss
        self._accel_dt = (math.nan, 0.0, 0.0)      # (dt, max_accel dt, max_yaw_accel dt)
        self._update_attitude(force=True)
        self.last_collision: Optional[str] = None
        # A disabling blast leaves the vehicle where it is (tracks or drive destroyed).
        self.disabled = False

    # --- terrain ------------------------------------------------------------------------

    def _update_attitude(self, force: bool = False) -> None:
        if self._flat and not force:
            return          # the plane's attitude was set once and never changes
        t = self.truth
        ax, ay, ayaw = self._terrain_anchor
        if not force and (abs(t.x - ax) + abs(t.y - ay) < self.p.terrain_update_m
                          and abs(t.yaw - ayaw) < self.p.terrain_update_m):
            return
        self._terrain_anchor = (t.x, t.y, t.yaw)
        if self._flat:
            t.z, t.pitch, t.roll = self.terrain.flat_height, 0.0, 0.0
            self._cache_slope_terms()
            return
        c, s = math.cos(t.yaw), math.sin(t.yaw)
        hl, hw = self.p.length_m / 2.0, self.p.track_gauge_m / 2.0
        # Centre, front, rear, left, right of the footprint.
        px = np.array([t.x, t.x + c * hl, t.x - c * hl, t.x - s * hw, t.x + s * hw])
        py = np.array([t.y, t.y + s * hl, t.y - s * hl, t.y + c * hw, t.y - c * hw])
        h = height_at(self.terrain, px, py)
        t.z = float(h.mean())
        t.pitch = -math.atan2(float(h[1] - h[2]), self.p.length_m)
        t.roll = math.atan2(float(h[3] - h[4]), self.p.track_gauge_m)
        self._cache_slope_terms()

    def _cache_slope_terms(self) -> None:
        """Slope-derived terms of the dynamics, recomputed only when the attitude changes."""
        t, p = self.truth, self.p
        self._grade_fwd = math.tan(-t.pitch)          # pitch is positive nose down
        cos_slope = math.cos(t.pitch)
        self._grip = 0.5 * self.mu * self._weight * cos_slope       # per track
        # Beyond the friction angle the tracks cannot hold the vehicle: it slides downhill at
        # g (sin - mu cos) along its heading (no grip left for anything else).
        sin_p = math.sin(-t.pitch)
        self._slide_accel = 0.0
        if abs(sin_p) > self.mu * cos_slope:
            self._slide_accel = -math.copysign(
                GRAVITY_MPS2 * (abs(sin_p) - self.mu * cos_slope), sin_p)
        self._grade_force = self.p.mass_kg * GRAVITY_MPS2 * sin_p
        self._slope_slip = p.slip_slope_coeff * math.hypot(math.tan(t.pitch), math.tan(t.roll))
        self._side_creep = -p.side_slip_coeff * math.sin(t.roll)

    # --- obstacles ----------------------------------------------------------------------

    def _refresh_obstacles(self) -> None:
        t = self.truth
        self._obs_anchor = (t.x, t.y)
        if self._obs.shape[0] == 0:
            self._obs_near = []
            return
        reach = math.hypot(self.p.length_m, self.p.width_m) / 2.0 + _OBSTACLE_MARGIN_M
        d = np.hypot(self._obs[:, 0] - t.x, self._obs[:, 1] - t.y) - self._obs[:, 2]
        idx = np.nonzero(d < reach)[0]
        self._obs_near = [(float(self._obs[i, 0]), float(self._obs[i, 1]),
                           float(self._obs[i, 2]), int(i), self._obs_box[i]) for i in idx]

    def _clearance(self, x: float, y: float, yaw: float, ox: float, oy: float,
                   r: float, box: Optional[_Box] = None) -> float:
        """Gap (m) between the footprint at (x, y, yaw) and an obstacle (negative: overlap).

        ``box`` (cos yaw, sin yaw, half length, half width) makes the obstacle a box centred
        at (ox, oy); otherwise it is a cylinder of radius ``r``.
        """
        c, s = math.cos(yaw), math.sin(yaw)
        dx, dy = ox - x, oy - y
        hl, hw = self.p.length_m / 2.0, self.p.width_m / 2.0
        if box is not None:
            return rect_gap(c, s, hl, hw, dx, dy, *box)
        u = c * dx + s * dy
        w = -s * dx + c * dy
        ex = max(abs(u) - hl, 0.0)
        ey = max(abs(w) - hw, 0.0)
        return math.hypot(ex, ey) - r

    def hull_distance(self, x: float, y: float) -> float:
        """Distance (m) from a map point to the hull footprint (0 inside)."""
        t = self.truth
        return max(self._clearance(t.x, t.y, t.yaw, x, y, 0.0), 0.0)

    def hits(self, x: float, y: float, yaw: float) -> Optional[int]:
        """Index of an obstacle the footprint at (x, y, yaw) touches, or None."""
        ax, ay = self._obs_anchor
        if abs(x - ax) + abs(y - ay) > _OBSTACLE_REFRESH_M:
            self._refresh_obstacles()
        if not self._obs_near:
            return None
        c, s = math.cos(yaw), math.sin(yaw)
        hl, hw = self.p.length_m / 2.0, self.p.width_m / 2.0
        for ox, oy, r, i, box in self._obs_near:
            dx, dy = ox - x, oy - y
            if box is not None:
                if rect_gap(c, s, hl, hw, dx, dy, *box) < 0.0:
                    return i
                continue
            u = c * dx + s * dy
            w = -s * dx + c * dy
            ex = abs(u) - hl
            ey = abs(w) - hw
            if ex < 0.0:
                ex = 0.0
            if ey < 0.0:
                ey = 0.0
            if math.hypot(ex, ey) < r:       # as _clearance(...) < 0, without the call
                return i
        return None

    # --- dynamics -----------------------------------------------------------------------

    def step(self, v_cmd: float, w_cmd: float, dt: float) -> Optional[str]:
        """Advance ``dt`` seconds under the command; return an obstacle's name on a new contact."""
        # Scalar code with conditionals instead of min/max calls: this runs every physics step.
        p, t = self.p, self.truth
        if self.disabled:
            v_cmd = w_cmd = 0.0
        vmax = p.max_speed_mps
        if v_cmd > vmax:
            v_cmd = vmax
        elif v_cmd < -p.max_reverse_speed_mps:
            v_cmd = -p.max_reverse_speed_mps
        wmax = p.max_yaw_rate_rps
        if w_cmd > wmax:
            w_cmd = wmax
        elif w_cmd < -wmax:
            w_cmd = -wmax
        # Track speed limit: scale the command so neither track exceeds the top speed.
        half_b = self._half_gauge
        peak = abs(v_cmd) + abs(w_cmd) * half_b
        if peak > vmax:
            k = vmax / peak
            v_cmd *= k
            w_cmd *= k
        v_ref = self._v_ref
        w_ref = self._w_ref
        step_dt, dv, dw = self._accel_dt
        if dt != step_dt:
            dv, dw = p.max_accel_mps2 * dt, p.max_yaw_accel_rps2 * dt
            self._accel_dt = (dt, dv, dw)
        d = v_cmd - v_ref
        v_ref += dv if d > dv else (-dv if d < -dv else d)
        d = w_cmd - w_ref
        w_ref += dw if d > dw else (-dw if d < -dw else d)
        self._v_ref, self._w_ref = v_ref, w_ref
        t.track_left = v_ref - w_ref * half_b
        t.track_right = v_ref + w_ref * half_b

        # Slope along the direction of travel (cached when the attitude was last queried).
        traction = 1.0
        if v_ref != 0.0:
            uphill = self._grade_fwd if v_ref > 0.0 else -self._grade_fwd
            if uphill > 0.0:
                if uphill > self._max_climb_tan:
                    traction = 0.0
                else:
                    sin_slope = uphill / math.sqrt(1.0 + uphill * uphill)
                    traction = 1.0 - p.uphill_speed_loss * sin_slope
                    if traction < 0.0:
                        traction = 0.0
        slip = p.slip_base + p.slip_turn_coeff * abs(w_ref) + self._slope_slip + self.fault_slip
        if p.slip_noise > 0.0:
            if self._noise_left == 0:
                self._noise = (p.slip_noise * self.rng.standard_normal(_NOISE_BLOCK)).tolist()
                self._noise_left = _NOISE_BLOCK
            self._noise_left -= 1
            slip += self._noise[self._noise_left]
        # Per-track slip from the force each track must develop (Janosi-Hanamoto): half the
        # resistance to motion (rolling, grade, the tool in the soil) plus or minus the
        # skid-steer turning resistance (outer track drives, inner track brakes).
        slip_l = slip_r = slip
        w_max = math.inf     # the yaw rate the tracks' grip pays for
        k_over_l = self._k_over_l
        if k_over_l > 0.0 and (v_ref != 0.0 or w_ref != 0.0):
            direction = 1.0 if v_ref >= 0.0 else -1.0
            resist = (self._rolling_force
                      + self.tool_force) * (1.0 if v_ref != 0.0 else 0.0)
            f_long = 0.5 * (resist * direction + self._grade_force)
            f_turn = self._turn_force * math.tanh(w_ref / _TURN_RESISTANCE_W0)
            grip = self._grip
            # Steerability: the outer track develops |f_long| + |f_turn|; what its grip
            # cannot pay for is not turned (the rest of the speed difference is lateral skid).
            room = _STEER_GRIP_RATIO * grip - abs(f_long)
            if abs(f_turn) > room:
                room = room if room > 0.0 else 0.0
                f_turn = math.copysign(room, f_turn)
                w_max = _TURN_RESISTANCE_W0 * math.atanh(min(room / self._turn_force,
                                                             _MAX_GRIP_RATIO))
            slip_l += track_slip(f_long - f_turn, grip, k_over_l)
            slip_r += track_slip(f_long + f_turn, grip, k_over_l)
        slip_l = 0.0 if slip_l < 0.0 else (_MAX_SLIP if slip_l > _MAX_SLIP else slip_l)
        slip_r = 0.0 if slip_r < 0.0 else (_MAX_SLIP if slip_r > _MAX_SLIP else slip_r)
        self.slip_left, self.slip_right = slip_l, slip_r
        slip = 0.5 * (slip_l + slip_r)
        # Ground speeds of the two tracks, then the hull's motion from them.
        g_l = t.track_left * (1.0 - slip_l)
        g_r = t.track_right * (1.0 - slip_r)
        v = 0.5 * (g_l + g_r) * traction
        w = (g_r - g_l) / (2.0 * half_b) * self._yaw_keep
        if w > w_max:
            w = w_max
        elif w < -w_max:
            w = -w_max
        if self._slide_accel != 0.0:
            self._slide += self._slide_accel * dt
            v += self._slide
        elif self._slide != 0.0:
            self._slide = 0.0
        # Downhill creep on a side slope (roll > 0: left side up, so drift to the right).
        v_lat = self._side_creep * abs(v_ref) if self._side_creep != 0.0 else 0.0

        yaw_mid = t.yaw + 0.5 * w * dt
        c, s = math.cos(yaw_mid), math.sin(yaw_mid)
        nx = t.x + (v * c - v_lat * s) * dt
        ny = t.y + (v * s + v_lat * c) * dt
        nyaw = t.yaw + w * dt
        hit = None
        if self._has_obstacles and (v != 0.0 or w != 0.0 or v_lat != 0.0):
            hit = self.hits(nx, ny, nyaw)
        if hit is not None:
            self._slide = 0.0
        if self._contact is not None:
            ox, oy, r = self._obs[self._contact]
            if self._clearance(t.x, t.y, t.yaw, ox, oy, r,
                               self._obs_box[self._contact]) > _CONTACT_REARM_M:
                self._contact = None
        new_contact = None
        if hit is not None:
            if self._contact != hit:
                new_contact = self._obs_names[hit]
                self._contact = hit
            t.blocked = True
            self._v_ref = self._w_ref = 0.0
            # The hull stops against the obstacle: the true speed drops to zero this step.
            t.accel = (0.0 - t.v) / dt if dt > 0 else 0.0
            t.v = t.omega = 0.0
            t.track_left = t.track_right = 0.0
            self.last_collision = new_contact or self.last_collision
            return new_contact
        t.blocked = False
        t.x, t.y = nx, ny
        t.yaw = (nyaw + math.pi) % (2.0 * math.pi) - math.pi
        # True forward acceleration: the change of the true speed over ground (slip, traction
        # and blocking included), not of the commanded sprocket speed.
        t.accel = (v - t.v) / dt if dt > 0 else 0.0
        t.v, t.omega, t.slip = v, w, slip
        if not self._flat:          # the plane's attitude never changes
            self._update_attitude()
        return None

    def stop(self) -> None:
        """Zero the internal speed references (e.g. after a command timeout)."""
        self._v_ref = self._w_ref = 0.0
