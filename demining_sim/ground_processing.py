"""What the flail, the tiller and the tracks do to the items in the ground.

Pure functions and one stateful class (:class:`GroundContact`); no rclpy. Sources are in
docs/sources.md ("Tool-soil-mine physics"); figures marked *our estimate* are modelling
choices.

Flail (chains with hammers on a rotor):

* **strike density** ``S = hammers x f_rot / (v x W)`` strikes per m^2 of ground (``f_rot`` the
  rotor's revolutions per second, ``v`` the forward speed, ``W`` the flail width): every hammer
  strikes once per revolution, and a slower machine lets more strikes fall on each square
  metre.
* **effective depth** ``d = d_ref (S / S_ref)^a / hardness``, at most the depth the rotor is
  set to (plus the local ground-following error): each strike loosens a roughly constant volume
  of soil, so the depth reached grows with the strikes per m^2 (``a = 1``: energy balance) and
  falls in hard soil. Calibration: 200 mm at 0.5 km/h (Juneja 2016, "light to medium machine"),
  with the profile's own flail (34 hammers, DOK-ING MV-4 data; 800 rpm; 2.0 m) as the reference
  machine.
* **engagement**: the strikes falling on an item's plan area (grown by a hammer's radius) that
  reach it: ``n = S x pi (D/2 + r_h)^2`` when its top lies within the effective depth,
  attenuated by ``exp(-(top - d) / lambda)`` below it (the impulse of a strike travels a few cm
  through soil); ``P(engaged) = 1 - exp(-n / n_e)``. ``n_e`` is set so an AP mine of PMN size
  in the reference conditions is engaged with probability 0.97.
* **outcome** of an engaged item, drawn from a categorical distribution per kind and per reach
  (:data:`FLAIL_SPLIT`): detonated, destroyed (broken up), damaged (still live), thrown aside
  intact, pushed deeper; an item not engaged is untouched. AP split: 80 % detonated, 13 %
  broken, 4 % thrown, 3 % damaged, so 0.97 x 0.93 = 90 % of AP mines are neutralised in the
  reference conditions: "the chain flail usually detonates all anti-tank mines in its path, but
  only detonates about 90 % of the antipersonnel mines - others are thrown to either side
  intact, buried deeper, or damaged" (Minerats 1996); AT mines 99 % detonated when engaged. The
  split within the 10 % is *our estimate*.

Tiller (teeth on a drum that mills the soil to its set depth): the effective depth is the set
depth (the drum's torque limit, :class:`demining_sim.tools.Rotor`, is what a fast or deep pass
runs into); cuts per m^2 ``teeth x f_rot / (v x W)``; an engaged item is mostly milled (broken
up) rather than detonated (GICHD 2004 on tillers; the split is *our estimate*).

Tracks: the track's ground pressure ``q = m g / (2 L B)`` spreads with depth by the 2:1 rule
(``q L B / ((L + z)(B + z))``, a standard soil-mechanics approximation); a pressure-fused item
fires when the force on its top reaches its activation force (:data:`FUZES`). An impact-fused
UXO (a mortar bomb's nose fuze) is not fired by a static load except with a small probability
(the fuze crushed); otherwise it is damaged.

Blasts: an AP detonation under the flail tears off hammers (Poisson, mean proportional to the
explosive mass; fewer hammers lower the strike density); a blast of more than the tool's rating
destroys the tool; more than the vehicle's rating disables the vehicle (AT mines under a light
or medium flail, any AT mine under a track).

Randomness: each draw uses a generator seeded from (simulation seed, item row, tool or track,
contact number), so an item's fate does not depend on the order in which the machine met other
items, or met it with a track and with the tool (the two hosts agree).
"""

from __future__ import annotations

import dataclasses
import enum
import math
from typing import Callable, Dict, List, Optional, Set, Tuple

import numpy as np

from demining_bringup.contract import tool_physics, vehicle_params
from demining_bringup.contract.datatypes import TRACK_CAUSE, SimEvent
from demining_bringup.contract.parameters import param
from demining_sim.spatial import ItemTable

#: Standard gravity, m/s^2.
GRAVITY_MPS2 = 9.80665
_TWO_PI = 2.0 * math.pi


class Outcome(str, enum.Enum):
    """What one pass of the tool (or a track) did to an item."""

    DETONATED = 'detonated'
    DESTROYED = 'destroyed'          # broken up without detonating: no longer live
    DAMAGED = 'damaged'              # still live (often more sensitive)
    THROWN = 'thrown'                # thrown aside intact to a new position: still live
    PUSHED_DEEPER = 'pushed_deeper'  # still live, deeper
    UNTOUCHED = 'untouched'


#: Outcomes after which an item is no longer a live hazard.
NEUTRALISING = (Outcome.DETONATED, Outcome.DESTROYED)


class EventKind(str, enum.Enum):
    """/sim/events kinds raised by ground contact (docs/interfaces.md, "Sim events")."""

    NEUTRALISED = 'neutralised'          # broken up (destroyed)
    AP_DETONATION = 'ap_detonation'
    AT_DETONATION = 'at_detonation'
    UXO_DETONATION = 'uxo_detonation'
    DAMAGE = 'damage'                    # the machine is disabled (vehicle or tool)
    TOOL_DAMAGE = 'tool_damage'          # hammers torn off (the tool still works)
    ITEM_DAMAGED = 'item_damaged'
    ITEM_THROWN = 'item_thrown'
    ITEM_PUSHED = 'item_pushed'


class FuzeKind(str, enum.Enum):
    """How an item is initiated."""

    PRESSURE = 'pressure'    # a load on the pressure plate
    IMPACT = 'impact'        # a blow on the fuze (projectiles' point-detonating fuzes)


@dataclasses.dataclass(frozen=True)
class Fuze:
    """An item's fuze: kind and activation force (N) for pressure fuzes."""

    kind: FuzeKind
    activation_n: float = 0.0


def _kgf(kg: float) -> float:
    return kg * GRAVITY_MPS2


#: Fuzes by catalogue model (docs/sources.md, "Tool-soil-mine physics": activation forces as
#: commonly quoted from Jane's / ORDATA, not checked here against the primary entries).
FUZES: Dict[str, Fuze] = {
    'PMN': Fuze(FuzeKind.PRESSURE, _kgf(8.0)),
    'PMN-2': Fuze(FuzeKind.PRESSURE, _kgf(25.0)),
    'PMA-1': Fuze(FuzeKind.PRESSURE, _kgf(3.0)),
    'PMA-2': Fuze(FuzeKind.PRESSURE, _kgf(7.0)),
    'VS-50': Fuze(FuzeKind.PRESSURE, _kgf(10.0)),
    'TS-50': Fuze(FuzeKind.PRESSURE, _kgf(12.5)),
    'TM-62M': Fuze(FuzeKind.PRESSURE, _kgf(200.0)),
    'TM-62P': Fuze(FuzeKind.PRESSURE, _kgf(200.0)),
    'mortar-82mm': Fuze(FuzeKind.IMPACT),
}
#: Fuze of an item whose model is not in :data:`FUZES`, by kind (same sources).
DEFAULT_FUZES: Dict[str, Fuze] = {
    'AP': Fuze(FuzeKind.PRESSURE, _kgf(10.0)),
    'AT': Fuze(FuzeKind.PRESSURE, _kgf(200.0)),
    'UXO': Fuze(FuzeKind.IMPACT),
}

#: Relative hardness of the soil presets (1 = loam): effective flail depth is divided by it.
#: Juneja 2016 shows the depth-speed curve of one machine in two soils; ITEP 2006 found hard soils
#: halve what a flail reaches. The values are *our estimate*.
SOIL_HARDNESS: Dict[str, float] = {'dry_sand': 0.8, 'loam': 1.0, 'wet_clay': 1.3,
                                   'laterite': 1.8}

_KINDS = ('AP', 'AT', 'UXO')
_O = Outcome
#: Outcome split of an engaged item whose top the flail reaches, per kind (sums to 1). AP: 90 %
#: neutralised in the reference conditions (Minerats 1996; split within the rest *our estimate*);
#: AT: "usually detonates all anti-tank mines" (same source); UXO: *our estimate*.
FLAIL_SPLIT: Dict[str, Dict[Outcome, float]] = {
    'AP': {_O.DETONATED: 0.80, _O.DESTROYED: 0.13, _O.THROWN: 0.04, _O.DAMAGED: 0.03},
    'AT': {_O.DETONATED: 0.99, _O.DAMAGED: 0.01},
    'UXO': {_O.DETONATED: 0.50, _O.DESTROYED: 0.10, _O.THROWN: 0.30, _O.DAMAGED: 0.10},
}
#: Split of an engaged item below the flail's reach (only the strikes' impulse reaches it):
#: pressure-fused items fire or are pressed deeper (*our estimate*).
FLAIL_SPLIT_BELOW: Dict[str, Dict[Outcome, float]] = {
    'AP': {_O.DETONATED: 0.6, _O.PUSHED_DEEPER: 0.4},
    'AT': {_O.DETONATED: 0.9, _O.PUSHED_DEEPER: 0.1},
    'UXO': {_O.DETONATED: 0.2, _O.PUSHED_DEEPER: 0.8},
}
#: Tiller: the teeth mill what they reach (GICHD 2004: tillers destroy mines mechanically;
#: split *our estimate*); below the teeth the drum only presses.
TILLER_SPLIT: Dict[str, Dict[Outcome, float]] = {
    'AP': {_O.DETONATED: 0.30, _O.DESTROYED: 0.65, _O.DAMAGED: 0.04, _O.THROWN: 0.01},
    'AT': {_O.DETONATED: 0.60, _O.DESTROYED: 0.35, _O.DAMAGED: 0.05},
    'UXO': {_O.DETONATED: 0.20, _O.DESTROYED: 0.60, _O.DAMAGED: 0.10, _O.THROWN: 0.10},
}
TILLER_SPLIT_BELOW: Dict[str, Dict[Outcome, float]] = {
    'AP': {_O.DETONATED: 0.3, _O.PUSHED_DEEPER: 0.7},
    'AT': {_O.DETONATED: 0.5, _O.PUSHED_DEEPER: 0.5},
    'UXO': {_O.DETONATED: 0.1, _O.PUSHED_DEEPER: 0.9},
}


@dataclasses.dataclass(frozen=True)
class ProcessingParams:
    """Parameters of the tool-soil-mine model (docs/sources.md, "Tool-soil-mine physics")."""

    flail_hammers: int = vehicle_params.flail_hammers()
    flail_hammer_radius_m: float = param(0.04, 'Half-width of a hammer head: an item is hit '
                                         'by strikes within this of its edge, m (our estimate)',
                                         min=0.0, max=0.5)
    # The depth law's calibration is shared with the tool controller's speed governor.
    flail_reference_depth_m: float = vehicle_params.flail_reference_depth_m()
    flail_reference_speed_mps: float = vehicle_params.flail_reference_speed_mps()
    flail_reference_rpm: float = vehicle_params.flail_reference_rpm()
    flail_reference_width_m: float = vehicle_params.flail_reference_width_m()
    flail_reference_hammers: int = vehicle_params.flail_reference_hammers()
    flail_depth_exponent: float = vehicle_params.flail_depth_exponent()
    flail_strikes_per_engagement: float = param(13.5, 'Strikes on an item per e-fold of its '
                                                'escape probability (calibrated: PMN engaged '
                                                'with probability 0.97 at the reference)',
                                                min=0.01, max=1e4)
    tiller_teeth: int = vehicle_params.tiller_teeth()
    tiller_tooth_radius_m: float = param(0.03, 'Half-width of a tiller tooth\'s cut, m',
                                         min=0.0, max=0.5)
    tiller_cuts_per_engagement: float = param(1.0, 'Tooth cuts on an item per e-fold of its '
                                              'escape probability (our estimate: a drum mills '
                                              'all the soil it reaches)', min=0.01, max=1e4)
    soil_transmission_length_m: float = param(0.03, 'E-folding depth of a strike\'s impulse '
                                              'below the processed soil, m (our estimate)',
                                              min=0.001, max=0.5)
    tool_ground_following_residual: float = param(0.3, 'Fraction of the ground\'s deviation '
                                                  'from the vehicle plane the tool\'s skids '
                                                  'leave in its depth', min=0.0, max=1.0)
    soil_hardness: float = param(0.0, 'Relative soil hardness for the tool (1 loam); 0 takes '
                                 'it from the world\'s soil name', min=0.0, max=10.0)
    min_ground_speed_mps: float = param(tool_physics.MIN_GROUND_SPEED_MPS, 'Speed floor of the '
                                        'strike density (a machine standing still still moves '
                                        'a little), m/s', min=0.001, max=1.0)
    thrown_min_m: float = param(1.0, 'Shortest throw of an intact item, m (our estimate)',
                                min=0.0, max=50.0)
    thrown_max_m: float = param(6.0, 'Longest throw of an intact item, m (our estimate)',
                                min=0.0, max=50.0)
    pushed_min_m: float = param(0.02, 'Least an item is pushed deeper, m (our estimate)',
                                min=0.0, max=1.0)
    pushed_max_m: float = param(0.08, 'Most an item is pushed deeper, m (our estimate)',
                                min=0.0, max=1.0)
    damaged_activation_factor: float = param(0.5, 'Activation force of a damaged fuze over '
                                             'the intact one (damaged mines are more '
                                             'sensitive; our estimate)', min=0.0, max=1.0)
    fragment_metal_fraction: float = param(0.6, 'Share of a detonated item\'s metal left in '
                                           'the soil as fragments (our estimate)', min=0.0,
                                           max=1.0)
    fragment_depth_m: float = param(0.05, 'Deepest fragments of a detonation lie, m (our '
                                    'estimate: the crater mixes them into the topsoil)',
                                    min=0.0, max=1.0)
    fragment_size_m: float = param(0.03, 'Size of the fragments left in the soil, m', min=0.001,
                                   max=0.5)
    hammers_lost_per_kg: float = param(2.0, 'Hammers torn off per kg of explosive detonated '
                                       'under the flail (Poisson mean; our estimate)', min=0.0,
                                       max=100.0)
    tool_blast_rating_kg: float = param(1.0, 'Explosive mass under the tool above which the '
                                        'tool is destroyed, kg (CWA 15044 survivability test; '
                                        'our estimate for this profile)', min=0.0, max=100.0)
    vehicle_blast_rating_kg: float = param(5.0, 'Explosive mass under the tool above which the '
                                           'vehicle is disabled, kg (AP-rated machine class; '
                                           'our estimate)', min=0.0, max=100.0)
    track_blast_rating_kg: float = param(0.3, 'Explosive mass under a track above which the '
                                         'vehicle is disabled, kg (an AP blast under an '
                                         'armoured track is repairable; our estimate)',
                                         min=0.0, max=100.0)
    tool_rotor_radius_m: float = param(0.7, 'Radius at which the soil resists the rotors '
                                       '(drum plus chain), m: the soil torque over it is the '
                                       'tool\'s drag on the vehicle (our estimate)', min=0.05,
                                       max=3.0)
    uxo_track_initiation_probability: float = param(0.1, 'Probability that an impact-fused '
                                                    'UXO fires when a track crushes it (our '
                                                    'estimate)', min=0.0, max=1.0)


# --------------------------------------------------------------------------------------------
# The model as plain functions
# --------------------------------------------------------------------------------------------

def strikes_per_m2(blows: float, rotor_rps: float, ground_speed: float, width: float,
                   min_speed: float = tool_physics.MIN_GROUND_SPEED_MPS) -> float:
    """Strikes (or tooth cuts) per m^2: ``blows x f_rot / (v x W)``; ``rotor_rps`` in rad/s."""
    return tool_physics.strikes_per_m2(blows, rotor_rps, ground_speed, width, min_speed)


def flail_reference(p: ProcessingParams) -> tool_physics.FlailReference:
    """The calibration point of the depth law from the parameters."""
    return tool_physics.FlailReference(p.flail_reference_depth_m, p.flail_reference_speed_mps,
                                       p.flail_reference_rpm, p.flail_reference_width_m,
                                       p.flail_reference_hammers, p.flail_depth_exponent)


def reference_strikes_per_m2(p: ProcessingParams) -> float:
    """Strike density of the reference flail at the reference speed (the calibration point)."""
    return tool_physics.reference_strikes_per_m2(flail_reference(p))


def flail_reach_m(p: ProcessingParams, strikes: float, hardness: float) -> float:
    """Depth the flail's strikes loosen to at ``strikes`` per m^2 in soil of ``hardness``."""
    return tool_physics.flail_reach_m(flail_reference(p), strikes, hardness)


def flail_speed_for_depth(p: ProcessingParams, depth_m: float, rotor_rps: float, width_m: float,
                          hammers: int, hardness: float = 1.0) -> float:
    """Fastest forward speed (m/s) at which the flail still reaches ``depth_m`` (inverse model)."""
    return tool_physics.flail_speed_for_depth(flail_reference(p), depth_m, rotor_rps, width_m,
                                              hammers, hardness)


def catch_area_m2(diameter: float, radius: float) -> float:
    """Plan area within which a strike hits an item of ``diameter``, m^2."""
    return math.pi * (0.5 * diameter + radius) ** 2


def engagement_probability(strikes: float, area: float, top: float, reach: float,
                           per_engagement: float, transmission: float) -> float:
    """Probability that at least one effective strike reaches an item (top at ``top`` m)."""
    n = strikes * area
    if top > reach:
        n *= math.exp(-(top - reach) / transmission)
    return 1.0 - math.exp(-n / per_engagement)


def outcome_probabilities(split: Dict[Outcome, float], engaged: float) -> Dict[Outcome, float]:
    """The full outcome distribution: ``engaged`` x split, the rest untouched."""
    probs = {o: engaged * w for o, w in split.items()}
    probs[Outcome.UNTOUCHED] = probs.get(Outcome.UNTOUCHED, 0.0) + 1.0 - engaged
    return probs


@dataclasses.dataclass(frozen=True)
class ToolPass:
    """The conditions of one tool pass over an item."""

    tool: str                # 'flail' or 'tiller'
    strikes_per_m2: float
    reach_m: float           # effective depth at the item
    set_depth_m: float       # depth the tool is set to at the item (ground following included)


def pass_probabilities(p: ProcessingParams, kind: str, diameter: float, top: float,
                       tp: ToolPass) -> Dict[Outcome, float]:
    """Outcome distribution of one tool pass over an item of ``kind`` (AP, AT, UXO)."""
    kind = kind if kind in _KINDS else 'AP'
    reached = top <= tp.reach_m
    if tp.tool == 'tiller':
        split = (TILLER_SPLIT if reached else TILLER_SPLIT_BELOW)[kind]
        radius, per = p.tiller_tooth_radius_m, p.tiller_cuts_per_engagement
    else:
        split = (FLAIL_SPLIT if reached else FLAIL_SPLIT_BELOW)[kind]
        radius, per = p.flail_hammer_radius_m, p.flail_strikes_per_engagement
    engaged = engagement_probability(tp.strikes_per_m2, catch_area_m2(diameter, radius), top,
                                     tp.reach_m, per, p.soil_transmission_length_m)
    return outcome_probabilities(split, engaged)


def draw(probs: Dict[Outcome, float], rng: np.random.Generator) -> Outcome:
    """One outcome drawn from ``probs``."""
    u = float(rng.random())
    acc = 0.0
    last = Outcome.UNTOUCHED
    for o, w in probs.items():
        acc += w
        last = o
        if u < acc:
            return o
    return last


def fuze_of(model: str, kind: str) -> Fuze:
    """The fuze of a catalogue model, or the default of its kind."""
    return FUZES.get(model) or DEFAULT_FUZES.get(kind, DEFAULT_FUZES['AP'])


def track_force_n(mass_kg: float, track_length: float, track_width: float, depth: float,
                  top_area: float) -> float:
    """Force (N) one track's load puts on an item's top ``depth`` m below (2:1 spreading)."""
    q = mass_kg * GRAVITY_MPS2 / (2.0 * track_length * track_width)
    z = max(depth, 0.0)
    sigma = q * track_length * track_width / ((track_length + z) * (track_width + z))
    return sigma * min(top_area, track_width * track_length)


def hammers_lost(p: ProcessingParams, explosive_kg: float, rng: np.random.Generator) -> int:
    """Hammers an AP blast under the flail tears off (Poisson)."""
    return int(rng.poisson(p.hammers_lost_per_kg * max(explosive_kg, 0.0)))


# --------------------------------------------------------------------------------------------
# Ground contact: the machine meets the items
# --------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class ContactGeometry:
    """Where the tool strip and the tracks touch the ground, in base_link."""

    tool_offset_x_m: float
    tool_width_m: float
    tool_strike_length_m: float
    track_gauge_m: float
    track_width_m: float
    track_length_m: float


@dataclasses.dataclass
class ToolView:
    """The tool state ground contact needs this step."""

    set_depth: float = 0.0
    flail_rps: float = 0.0
    flail_processing: bool = False
    tiller_rps: float = 0.0
    tiller_processing: bool = False


@dataclasses.dataclass
class Change:
    """One change to an item made by the machine (the simulator applies and records it)."""

    row: int
    outcome: Outcome
    cause: str                      # 'flail', 'tiller', 'left track', 'right track'
    events: List[SimEvent]
    new_xy: Optional[Tuple[float, float]] = None
    new_depth: Optional[float] = None
    hammers_lost: int = 0
    disables: str = ''              # '', 'tool' or 'vehicle'
    conditions: Optional[dict] = None


# Candidate hazards are those within this distance of base_link, refreshed after this much
# travel; the radius covers the tool strip and the tracks with a wide margin.
_CANDIDATE_MARGIN_M = 4.0
_CANDIDATE_REFRESH_M = 1.5
#: Kinds the physics handles as hazards.
HAZARD_KINDS = _KINDS


class GroundContact:
    """Finds hazards entering the tool strip or a track patch and decides what happens to them.

    An item is judged once per *pass*: when it enters the strip of a processing rotor (or a
    track's contact patch); it can be judged again on a later pass once it has left it.
    """

    def __init__(self, geometry: ContactGeometry, table: ItemTable, params,
                 seed: int, vehicle_mass_kg: float, hardness: float) -> None:
        """Watch the live hazards of ``table`` (``params`` is a ProcessingParams subclass)."""
        self.g = geometry
        self.table = table
        self.p = params
        self.seed = int(seed)
        self.mass = float(vehicle_mass_kg)
        self.hardness = float(hardness)
        g = geometry
        self._reach = (max(g.tool_offset_x_m + g.tool_strike_length_m,
                           g.track_length_m / 2.0)
                       + max(g.tool_width_m, g.track_gauge_m + g.track_width_m)
                       + _CANDIDATE_MARGIN_M)
        self.live = np.array([k in _KINDS for k in table.kinds], dtype=bool)
        self.damaged = np.zeros(len(table), dtype=bool)
        # Contacts per item, counted apart for the tool and the tracks: each draw's stream is
        # (seed, row, contact kind, count), so the order in which a track and the tool met an
        # item (which may differ between hosts by a step) does not change either's draws.
        self.tool_contacts = np.zeros(len(table), dtype=np.int64)
        self.track_contacts = np.zeros(len(table), dtype=np.int64)
        self._cand: List[Tuple[float, float, float, int]] = []
        self._anchor = (math.inf, math.inf)
        self._in_strip: Set[int] = set()
        self._in_track: Set[int] = set()
        self.hammers = int(params.flail_hammers)
        self.fuzes = [fuze_of(table.models[i], table.kinds[i]) for i in range(len(table))]
        self._ref_strikes = reference_strikes_per_m2(params)

    def invalidate(self) -> None:
        """Rebuild the candidate list at the next check (an item moved or died)."""
        self._anchor = (math.inf, math.inf)

    def _refresh(self, x: float, y: float) -> None:
        self._anchor = (x, y)
        t = self.table
        rows = np.nonzero(self.live)[0]
        if rows.size == 0:
            self._cand = []
            return
        d = np.hypot(t.x[rows] - x, t.y[rows] - y)
        near = rows[d < self._reach]
        self._cand = [(float(t.x[i]), float(t.y[i]), float(t.depth[i]), int(i)) for i in near]

    # --- per step ---------------------------------------------------------------------------

    def check(self, stamp: float, x: float, y: float, yaw: float, v: float, tool: ToolView,
              ground_offset: Optional[Callable[[float, float], float]] = None
              ) -> List[Change]:
        """Changes to items the tool or the tracks meet at this pose."""
        ax, ay = self._anchor
        if abs(x - ax) + abs(y - ay) > _CANDIDATE_REFRESH_M:
            self._refresh(x, y)
        if not self._cand:
            return []
        g = self.g
        c, s = math.cos(yaw), math.sin(yaw)
        half_tool_w = g.tool_width_m / 2.0
        half_strike = g.tool_strike_length_m / 2.0
        half_track_l = g.track_length_m / 2.0
        half_track_w = g.track_width_m / 2.0
        half_gauge = g.track_gauge_m / 2.0
        processing = (tool.flail_processing or tool.tiller_processing) and tool.set_depth > 0.0
        changes: List[Change] = []
        for ix, iy, depth, row in self._cand:
            dx, dy = ix - x, iy - y
            u = c * dx + s * dy          # ahead of base_link
            w = -s * dx + c * dy         # to the left
            if abs(u - g.tool_offset_x_m) <= half_strike and abs(w) <= half_tool_w:
                if processing and row not in self._in_strip:
                    self._in_strip.add(row)
                    off = ground_offset(ix, iy) if ground_offset is not None else 0.0
                    ch = self._tool_pass(stamp, row, depth, v, tool, off)
                    if ch is not None:
                        changes.append(ch)
                        continue
            elif row in self._in_strip:
                self._in_strip.discard(row)
            if abs(u) <= half_track_l and abs(abs(w) - half_gauge) <= half_track_w:
                if row not in self._in_track:
                    self._in_track.add(row)
                    side = f'left {TRACK_CAUSE}' if w > 0 else f'right {TRACK_CAUSE}'
                    ch = self._track(stamp, row, depth, side)
                    if ch is not None:
                        changes.append(ch)
            elif row in self._in_track:
                self._in_track.discard(row)
        return changes

    # --- the tool ---------------------------------------------------------------------------

    def tool_passes(self, v: float, tool: ToolView, ground_offset_m: float = 0.0
                    ) -> List[ToolPass]:
        """The passes the processing rotors make now (flail first, then the tiller).

        None while the arm is at the track plane: that is the tool lifted clear, above the
        ground whatever the terrain under it (:attr:`demining_sim.tools.ToolSystem.true_depth`),
        so its turning rotors meet no soil.
        """
        p, g = self.p, self.g
        if tool.set_depth <= 0.0:
            return []
        set_depth = max(tool.set_depth + ground_offset_m, 0.0)
        out = []
        if tool.flail_processing and self.hammers > 0:
            s = strikes_per_m2(self.hammers, tool.flail_rps, v, g.tool_width_m,
                               p.min_ground_speed_mps)
            out.append(ToolPass('flail', s, min(set_depth, flail_reach_m(p, s, self.hardness)),
                                set_depth))
        if tool.tiller_processing:
            s = strikes_per_m2(p.tiller_teeth, tool.tiller_rps, v, g.tool_width_m,
                               p.min_ground_speed_mps)
            out.append(ToolPass('tiller', s, set_depth, set_depth))
        return out

    @property
    def passes(self) -> np.ndarray:
        """Contacts per item (tool passes plus track contacts)."""
        return self.tool_contacts + self.track_contacts

    def _rng(self, row: int, track: bool = False) -> np.random.Generator:
        counts = self.track_contacts if track else self.tool_contacts
        counts[row] += 1
        return np.random.default_rng([self.seed, int(row), int(track), int(counts[row])])

    def _tool_pass(self, stamp: float, row: int, depth: float, v: float, tool: ToolView,
                   ground_offset_m: float) -> Optional[Change]:
        t = self.table
        kind = t.kinds[row]
        rng = self._rng(row)
        for tp in self.tool_passes(v, tool, ground_offset_m):
            probs = pass_probabilities(self.p, kind, float(t.diameter[row]), depth, tp)
            outcome = draw(probs, rng)
            if outcome is Outcome.UNTOUCHED:
                continue
            cond = {'tool': tp.tool, 'strikes_per_m2': round(tp.strikes_per_m2, 1),
                    'reach_m': round(tp.reach_m, 4), 'set_depth_m': round(tp.set_depth_m, 4),
                    'speed_mps': round(abs(v), 3)}
            return self._apply(stamp, row, outcome, tp.tool, rng, cond)
        return None

    def _apply(self, stamp: float, row: int, outcome: Outcome, cause: str,
               rng: np.random.Generator, cond: Optional[dict]) -> Change:
        t, p = self.table, self.p
        kind = t.kinds[row]
        x, y = float(t.x[row]), float(t.y[row])
        ch = Change(row, outcome, cause, [], conditions=cond)

        def event(kind_: str, detail: str, ex: float = x, ey: float = y) -> SimEvent:
            return SimEvent(stamp=stamp, kind=kind_, item_id=t.names[row], item_kind=kind,
                            x=ex, y=ey, detail=detail)

        if outcome is Outcome.DETONATED:
            ev_kind = {'AP': EventKind.AP_DETONATION, 'AT': EventKind.AT_DETONATION}.get(
                kind, EventKind.UXO_DETONATION)
            ch.events.append(event(ev_kind.value, cause))
            self._blast(stamp, row, cause, rng, ch, event)
        elif outcome is Outcome.DESTROYED:
            ch.events.append(event(EventKind.NEUTRALISED.value, cause))
        elif outcome is Outcome.DAMAGED:
            self.damaged[row] = True
            ch.events.append(event(EventKind.ITEM_DAMAGED.value, cause))
        elif outcome is Outcome.THROWN:
            heading = float(rng.uniform(0.0, _TWO_PI))
            dist = float(rng.uniform(p.thrown_min_m, max(p.thrown_max_m, p.thrown_min_m)))
            ch.new_xy = (x + dist * math.cos(heading), y + dist * math.sin(heading))
            ch.new_depth = 0.0
            ch.events.append(event(EventKind.ITEM_THROWN.value, f'{cause}: {dist:.1f} m',
                                   *ch.new_xy))
        elif outcome is Outcome.PUSHED_DEEPER:
            ch.new_depth = float(t.depth[row]) + float(
                rng.uniform(p.pushed_min_m, max(p.pushed_max_m, p.pushed_min_m)))
            ch.events.append(event(EventKind.ITEM_PUSHED.value,
                                   f'{cause}: to {ch.new_depth:.2f} m'))
        return ch

    def _blast(self, stamp: float, row: int, cause: str, rng: np.random.Generator, ch: Change,
               event) -> None:
        """Blast effects of a detonation by its explosive mass and where it is."""
        p, t = self.p, self.table
        mass = float(t.explosive_mass[row])
        if TRACK_CAUSE in cause:
            if mass > p.track_blast_rating_kg:
                ch.disables = 'vehicle'
                ch.events.append(event(EventKind.DAMAGE.value,
                                       f'{mass:.2f} kg {t.kinds[row]} blast under the {cause}'))
            return
        if mass > p.vehicle_blast_rating_kg:
            ch.disables = 'vehicle'
        elif mass > p.tool_blast_rating_kg:
            ch.disables = 'tool'
        if ch.disables:
            ch.events.append(event(EventKind.DAMAGE.value,
                                   f'{mass:.2f} kg {t.kinds[row]} blast under the {cause}: '
                                   f'{ch.disables} disabled'))
            return
        if cause == 'flail':
            lost = min(hammers_lost(p, mass, rng), self.hammers)
            if lost:
                self.hammers -= lost
                ch.hammers_lost = lost
                ch.events.append(event(EventKind.TOOL_DAMAGE.value,
                                       f'{lost} hammer(s) lost, {self.hammers} left'))

    # --- the tracks -------------------------------------------------------------------------

    def _track(self, stamp: float, row: int, depth: float, side: str) -> Optional[Change]:
        t, p, g = self.table, self.p, self.g
        if depth > getattr(p, 'track_trigger_max_depth_m', math.inf):
            return None
        fuze = self.fuzes[row]
        rng = self._rng(row, track=True)
        if fuze.kind is FuzeKind.IMPACT:
            if float(rng.random()) < p.uxo_track_initiation_probability:
                return self._apply(stamp, row, Outcome.DETONATED, side, rng, None)
            if self.damaged[row]:
                return None
            return self._apply(stamp, row, Outcome.DAMAGED, side, rng, None)
        diameter = float(t.diameter[row])
        area = math.pi * diameter * diameter / 4.0
        force = track_force_n(self.mass, g.track_length_m, g.track_width_m, depth, area)
        need = fuze.activation_n * (p.damaged_activation_factor if self.damaged[row] else 1.0)
        if force >= need:
            return self._apply(stamp, row, Outcome.DETONATED, side, rng,
                               {'force_n': round(force, 1), 'activation_n': round(need, 1)})
        return None


__all__ = ['ContactGeometry', 'Change', 'DEFAULT_FUZES', 'EventKind', 'FLAIL_SPLIT',
           'FLAIL_SPLIT_BELOW', 'FUZES', 'Fuze', 'FuzeKind', 'GroundContact', 'HAZARD_KINDS',
           'NEUTRALISING', 'Outcome', 'ProcessingParams', 'SOIL_HARDNESS', 'TILLER_SPLIT',
           'TILLER_SPLIT_BELOW', 'ToolPass', 'ToolView', 'catch_area_m2', 'draw',
           'engagement_probability', 'flail_reach_m', 'flail_speed_for_depth', 'fuze_of',
           'hammers_lost', 'outcome_probabilities', 'pass_probabilities',
           'reference_strikes_per_m2', 'strikes_per_m2', 'track_force_n']
