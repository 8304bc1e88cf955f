#!/usr/bin/env python3
"""Benchmark of the perception chain in closed loop: EKF poses, estimated permittivity.

The simulator core (:class:`demining_sim.simulator.Simulator`) drives the lawnmower of
``bench/perception_rate.py`` (lanes along x, the 2 m boom 4 m ahead of base_link, 0.4 m/s,
flail on), steered on the **EKF's** pose: the simulated track odometry, IMU and GNSS go
through :class:`LocalizationCore` (the localisation node's core) and its state, with its
covariance, fills the :class:`PoseBuffer` the processors place their detections with. The GPR
processor starts from the stack's prior permittivity (loam, 9) and **estimates** the soil's
from its hyperbola fits (``estimate_permittivity``); the MD processor and the fusion run with
their defaults, re-classified every second like the node's publish timer.

Worlds (``--worlds``): the shipped worlds (``mixed_field`` cut to ``--mixed-ymax`` m) and
generated fields over the four soil presets (``gen:dry_sand``, ``gen:loam``, ``gen:wet_clay``,
``gen:laterite``: minimum-metal and metal AP mines, AT mines, UXO, dense clutter;
:func:`demining_sim.generator.generate_world`, generator seed = simulator seed) and
``mission:<family>``, a family of ``bench/missions.py`` (``mission:gen_random``: random
polygons, soils and slopes), each for every ``--seeds``. ``--quick``: two small generated
fields (loam, wet clay) and one seed, under a minute. Lanes whose hull corridor meets an
obstacle are not driven (the lawnmower is blind: :func:`perception_rate.clear_lanes`), and
the items beside them are not scored. The lanes are driven by the stack's path follower
(pure pursuit, pivots at the U-turns' corners), which keeps the boom on them: every point
scored as covered has a GPR channel pass within half a channel pitch of it (up to stop 69 a
waypoint chaser left the boom up to 0.5 m beside a lane for metres after each U-turn, and
items no channel had passed near were scored as missed). A hazard not tracked is printed
with how near a GPR channel passed it and the tentative track the fusion dropped
unconfirmed beside it, if any.

Scored against the simulator's truth over the hazard area covered by the lanes. Each hazard
(AP, AT, UXO) is matched first, to every fused track within 0.5 m of it (its halo: trials
score a detector's declaration within a halo round a target as a detection of it, CEN CWA
14747-1:2003, humanitarian mine action, test and evaluation of metal detectors), and takes the
most severe label among them: the machine acts on that one (an AT label's no-go zone, though a
second track beside it reads UNKNOWN). A track within the halos of several hazards is the
nearest's. The other tracks are then matched one-to-one to the nearest other item within
0.5 m (the simulator's soil scatterers count as stones). Before (up to stop 52) every track
was matched one-to-one to the nearest item of any kind: a stone beside a mine, or a second
track on the mine, took the match and the mine read "not tracked" or unlabelled.

* ``pd_ap``: AP mines tracked as a hazard (AP, AT, UXO or UNKNOWN: processed as suspect);
  ``pd_at``: AT mines labelled AT (or UXO); ``pd_uxo``: UXO labelled UXO or AT;
* ``fa_per_m2``: hazard-labelled tracks on no hazard (stones, clutter, nothing) per m^2;
* ``ap_called_clutter``: AP mines labelled CLUTTER (must be 0);
* ``clutter_rejection``: metal clutter tracked and labelled CLUTTER over metal clutter
  tracked;
* ``median_pos_err_m`` and ``median_depth_err_m``: of the hazards' tracks (depth: the top, as
  the GPR measures it, against the item's depth);
* ``cpu_ms_per_sim_s``: CPU time of the chain (EKF, GPR, MD, fusion) per simulated second;
* ``permittivity_log_error``: median over the runs with an estimate of
  ``|ln(estimate / soil permittivity)|`` (0.69 is a factor 2), ``permittivity_estimated_runs``
  how many runs had one (each run's estimate is on its line);
* ``false_uxo_labels``: the same for UXO labels, which make a no-go zone too (each printed
  as a ``false UXO`` line);
* ``false_at_labels``: tracks labelled AT at any update on an item that is no AT mine or UXO
  (a no-go zone is permanent; each is printed as a ``false AT`` line with what lies under it,
  an item's catalogue model or a soil scatterer, and the rule and evidence that made it AT),
  and ``at_labelled_late``: AT mines not AT before the flail.

``--roc OUT.png`` draws the ROC: detection probability of the hazards against false alarms
per m^2 as the threshold on a track's hazard posterior (P(AP) + P(AT) + P(UXO)) moves. The last
line is a JSON object with the figures. Reproduce: ``python bench/perception.py --quick``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from typing import Dict, List, Optional, Tuple

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, '..')
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

from classification import (MATCH_RADIUS_M, COVER_MARGIN_M, UPDATE_PERIOD_S, make_world,  # noqa
                            note_at, tool_reach_time, true_kind)
from perception_rate import DRAIN_PERIOD_S, FLAIL_RPS, MAX_SIM_S, TOOL_DEPTH_M  # noqa: E402
from perception_rate import Follower, bench_sim_params, clear_lanes, lanes, route  # noqa: E402
from demining_bringup.contract.datatypes import (  # noqa: E402
    NOT_PROVIDED, STATUS_FIX, Detection, GnssFix, GprScan, ImuSample, MdScan, OdomSample,
    ToolCommand, VehicleState)
from demining_bringup.contract.geo import yaw_from_xyzw  # noqa: E402
from demining_bringup.contract.world import World  # noqa: E402
from demining_perception.fusion.core import (FusionCore, FusionParams, Hypothesis,  # noqa
                                             evidence)
from demining_perception.gpr.processing import GprParams, GprProcessor  # noqa: E402
from demining_perception.localization.ekf import LocalizationCore, LocalizationParams  # noqa
from demining_perception.metal_detector.processing import MdParams, MdProcessor  # noqa: E402
from demining_perception.pose_buffer import PoseBuffer  # noqa: E402
from demining_sim.generator import generate_world  # noqa: E402
from demining_sim.sensors.metal_detector import coil_offsets  # noqa: E402
from demining_sim.simulator import Simulator  # noqa: E402

#: The generated fields: size (m) and item densities (AP, AT, UXO per 100 m^2, clutter per m^2:
#: dense, as on a former battlefield, docs/sources.md).
GEN_SIZE_M = (24.0, 12.0)
QUICK_SIZE_M = (14.0, 6.0)
GEN_DENSITIES = dict(ap_per_100m2=3.0, at_per_100m2=1.0, uxo_per_100m2=0.5, clutter_per_m2=0.1)
SOILS = ('dry_sand', 'loam', 'wet_clay', 'laterite')
FULL_WORLDS = ('training_field,mixed_field,rugged_terrain,gen:dry_sand,gen:loam,gen:wet_clay,'
               'gen:laterite')
QUICK_WORLDS = 'gen:loam,gen:wet_clay'
HAZARDS = ('AP', 'AT', 'UXO')
HAZARD_LABELS = ('AP', 'AT', 'UXO', 'UNKNOWN')
#: Labels from the most severe (what the machine acts on first) to the least
SEVERITY = ('AT', 'UXO', 'AP', 'UNKNOWN', 'CLUTTER')


def build_world(name: str, seed: int, mixed_ymax: float, quick: bool) -> World:
    """A shipped world, ``gen:<soil>`` (a generated field over that soil) or
    ``mission:<family>`` (the field of ``bench/missions.py``'s family for ``seed``, e.g.
    ``mission:gen_random``: sloped heightmaps, polygons no one tuned on)."""
    if name.startswith('mission:'):
        from missions import FAMILIES, generate_family
        family = name.split(':', 1)[1]
        if family not in FAMILIES:
            raise ValueError(f'unknown bench/missions.py family {family!r} (one of '
                             f'{", ".join(FAMILIES)})')
        return generate_family(family, seed)[0]
    if name.startswith('gen:'):
        soil = name.split(':', 1)[1]
        w, h = QUICK_SIZE_M if quick else GEN_SIZE_M
        return generate_world([(0.0, 0.0), (w, 0.0), (w, h), (0.0, h)], seed=seed, soil=soil,
                              name=f'gen_{soil}_s{seed}', **GEN_DENSITIES)
    return make_world(name, seed, mixed_ymax)


class Chain:
    """The perception chain with its CPU time: EKF -> pose buffer -> processors -> fusion."""

    def __init__(self, world: World) -> None:
        o = world.origin
        self.ekf = LocalizationCore(LocalizationParams(),
                                    (o.latitude_deg, o.longitude_deg, o.elevation_m))
        self.gpr_params = GprParams(estimate_permittivity=True)
        self.gpr = GprProcessor(self.gpr_params)
        self.md = MdProcessor(MdParams())
        self.poses = PoseBuffer(history_s=self.gpr_params.pose_history_s,
                                max_extrapolation_s=self.gpr_params.max_pose_extrapolation_s)
        xs = [p[0] for p in world.field]
        ys = [p[1] for p in world.field]
        self.fusion = FusionCore.from_bounds(FusionParams(),
                                             (min(xs), min(ys), max(xs), max(ys)))
        self.cpu_s = 0.0
        #: (x, y, GPR hits, MD hits, best confidence) of each tentative track the fusion
        #: dropped unconfirmed (``tentative_timeout_s``), for the misses' lines.
        self.dropped: List[Tuple[float, float, int, int, float]] = []

    def feed(self, out: list, now: float) -> VehicleState:
        """Fuse a step's sensor outputs; return the EKF state at ``now`` (None before)."""
        c0 = time.process_time()
        ekf = self.ekf
        for o in out:
            if isinstance(o, OdomSample):
                ekf.update_odometry(o.stamp, o.v, o.omega)
            elif isinstance(o, ImuSample):
                yaw = None if o.orientation_variance[0] == NOT_PROVIDED else \
                    yaw_from_xyzw(*o.orientation)
                w = None if o.angular_velocity_variance == NOT_PROVIDED else \
                    o.angular_velocity[2]
                ekf.update_imu(o.stamp, yaw, w)
            elif isinstance(o, GnssFix):
                cov = (o.covariance[0], o.covariance[1]) if len(o.covariance) else None
                ekf.update_gnss(o.stamp, o.latitude, o.longitude, o.altitude, cov,
                                o.status >= STATUS_FIX)
        state = ekf.state(now)
        if state is not None:
            self.poses.add(state)
            self.fusion.sweep(state.x, state.y, state.yaw, state.stamp)
        for o in out:
            if isinstance(o, GprScan):
                self.fusion.add(self.gpr.process(o, self.poses), o.stamp)
            elif isinstance(o, MdScan):
                self.fusion.add(self.md.process(o, self.poses), o.stamp)
        self.cpu_s += time.process_time() - c0
        return state

    def update(self, now: float) -> None:
        """The fusion node's publish: re-classify."""
        # The tracks the update drops (outside the timed chain: the bench's record).
        self.dropped += [(t.x, t.y, t.gpr_hits, t.md_hits, t.max_conf)
                         for t in self.fusion.stale_tentative(now)]
        c0 = time.process_time()
        self.fusion.update(now)
        self.cpu_s += time.process_time() - c0


def run_world(world: World, seed: int) -> Dict:
    """Drive the lanes on the EKF's pose; return the scored tracks and the figures' parts."""
    sim = Simulator(world, bench_sim_params(seed))
    lane_ys = clear_lanes(world, lanes(world.field, 1000))
    path, _ = route(world.field, lane_ys)
    follower = Follower([world.vehicle_start[:2]] + path)
    chain = Chain(world)
    fp = chain.fusion.params
    tool = ToolCommand(FLAIL_RPS, 0.0, TOOL_DEPTH_M)
    ever_at: Dict[int, Tuple[float, float, float, str]] = {}
    ever_uxo: Dict[int, Tuple[float, float, float, str]] = {}
    vehicle: List[Tuple[float, float, float, float]] = []
    pos_err: List[float] = []
    next_update = UPDATE_PERIOD_S
    wall0 = time.perf_counter()
    state = None
    while not follower.done and sim.t < MAX_SIM_S:
        tr = sim.truth
        nav = state if state is not None else tr
        sim.set_command(follower.command(nav.x, nav.y, nav.yaw))
        sim.set_tool_command(tool)
        sim.advance_to(sim.t + DRAIN_PERIOD_S)
        out = sim.drain()
        tr = sim.truth
        vehicle.append((sim.t, tr.x, tr.y, tr.yaw))
        state = chain.feed(out, sim.t)
        if state is not None:
            pos_err.append(math.hypot(state.x - tr.x, state.y - tr.y))
        if sim.t >= next_update:
            chain.update(sim.t)
            note_at(chain.fusion, ever_at, sim.t)
            note_at(chain.fusion, ever_uxo, sim.t, kind='UXO')
            next_update += UPDATE_PERIOD_S
    c0 = time.process_time()
    chain.fusion.add(chain.gpr.flush(), sim.t)
    chain.cpu_s += time.process_time() - c0
    chain.update(sim.t + fp.gpr_wait_s)
    note_at(chain.fusion, ever_at, sim.t + fp.gpr_wait_s)
    note_at(chain.fusion, ever_uxo, sim.t + fp.gpr_wait_s, kind='UXO')
    wall = time.perf_counter() - wall0
    return score(world, sim, chain, lane_ys, ever_at, vehicle, ever_uxo) | {
        'world': world.name, 'seed': seed, 'sim_s': round(sim.t, 1), 'wall_s': round(wall, 1),
        'lanes_done': follower.done,
        'cpu_s': chain.cpu_s, 'ekf_err_median_m': statistics.median(pos_err) if pos_err else None,
        'permittivity': {'soil': world.soil.permittivity,
                         'estimate': round(chain.gpr.permittivity_estimate[0], 2),
                         'in_use': round(chain.gpr.permittivity, 2)}}


def match(items: List[Tuple[str, float, float, float]], fused: List[Detection]
          ) -> Tuple[Dict[int, int], Dict[int, int]]:
    """(item of each matched track, track of each matched item), by index.

    Hazards first, each with every track within ``MATCH_RADIUS_M`` (its halo, module
    docstring): the item's track is the one with the most severe label (:data:`SEVERITY`),
    the label the machine acts on; a track in several halos is the nearest hazard's. Then
    the other items, one-to-one with the nearest track left within the radius.
    """
    pairs = sorted((math.hypot(d.x - ix, d.y - iy), i, j)
                   for i, (_, ix, iy, _) in enumerate(items) for j, d in enumerate(fused)
                   if math.hypot(d.x - ix, d.y - iy) <= MATCH_RADIUS_M)
    item_of: Dict[int, int] = {}
    track_of: Dict[int, int] = {}
    for _, i, j in pairs:
        if items[i][0] in HAZARDS and j not in item_of:
            item_of[j] = i
            best = track_of.get(i)
            if best is None or SEVERITY.index(fused[j].kind.name) < SEVERITY.index(
                    fused[best].kind.name):
                track_of[i] = j
    for _, i, j in pairs:
        if i not in track_of and j not in item_of:
            track_of[i], item_of[j] = j, i
    return item_of, track_of


def channel_pass_m(sim: Simulator, vehicle: list, x: float, y: float) -> float:
    """How near the point (x, y) any GPR channel passed, m (its lateral distance from the
    nearest channel when the boom's line crossed it, the boom's true pose; inf if never).

    An item no channel passed near was never under a sensor: a miss of the lawnmower's
    lanes, not of the processors (the scoring counts items within ``COVER_MARGIN_M`` of a
    lane as covered).
    """
    p = sim.p
    lateral = coil_offsets(p.gpr_num_channels, p.sensor_width_m)
    v = np.asarray(vehicle, dtype=float).reshape(-1, 4)
    c, s_ = np.cos(v[:, 3]), np.sin(v[:, 3])
    dx = x - (v[:, 1] + p.sensor_offset_x_m * c)
    dy = y - (v[:, 2] + p.sensor_offset_x_m * s_)
    along = dx * c + dy * s_
    across = -dx * s_ + dy * c
    # The boom's line passed the point between two samples where ``along`` changes sign.
    cross = np.flatnonzero(np.sign(along[:-1]) != np.sign(along[1:]))
    if not len(cross):
        return math.inf
    return float(np.abs(across[cross][:, None] - lateral[None, :]).min())


def score(world: World, sim: Simulator, chain: Chain, lane_ys: List[float],
          ever_at: Dict[int, Tuple[float, float, float, str]], vehicle: list,
          ever_uxo: Optional[Dict[int, Tuple[float, float, float, str]]] = None) -> Dict:
    """Match tracks to the truth; counts, errors and the ROC points of one run."""
    xs = [p[0] for p in world.field]
    ys = [p[1] for p in world.field]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    fusion = chain.fusion
    fused = [d for d in fusion.fused() if x0 <= d.x <= x1 and y0 <= d.y <= y1]

    def covered(x: float, y: float) -> bool:
        return min(abs(y - ly) for ly in lane_ys) <= COVER_MARGIN_M and x0 <= x <= x1 \
            and y0 <= y <= y1

    items = [(true_kind(it), it.x, it.y, it.depth) for it in world.items if covered(it.x, it.y)]
    t = sim.table
    for k in np.flatnonzero(t.gpr_only):
        if covered(float(t.x[k]), float(t.y[k])):
            items.append(('rock', float(t.x[k]), float(t.y[k]), float(t.depth[k])))
    item_of, track_of = match(items, fused)
    counts = {k: {'total': 0, 'tracked': 0, 'hazard': 0, 'right': 0, 'clutter': 0}
              for k in HAZARDS + ('clutter', 'rock')}
    pos, depth = [], []
    #: the hazards given a wrong label (or none), with what their track rests on
    wrong: List[str] = []
    for i, (kind, ix, iy, idepth) in enumerate(items):
        c = counts[kind]
        c['total'] += 1
        j = track_of.get(i)
        if j is None:
            if kind in HAZARDS:
                gap = channel_pass_m(sim, vehicle, ix, iy)
                near = [(math.hypot(x - ix, y - iy), g, m, conf)
                        for x, y, g, m, conf in chain.dropped
                        if math.hypot(x - ix, y - iy) <= MATCH_RADIUS_M]
                why = '' if not near else ', a tentative track {:.0f} cm from it ({} GPR and ' \
                    '{} MD report(s), best confidence {:.2f}) dropped unconfirmed'.format(
                        100 * min(near)[0], *min(near)[1:])
                wrong.append(f'{kind} at ({ix:.2f}, {iy:.2f}) {100 * idepth:.0f} cm deep: '
                             f'not tracked (the nearest GPR channel passed {100 * gap:.0f} '
                             f'cm from it{why})')
            continue
        d = fused[j]
        label = d.kind.name
        c['tracked'] += 1
        c['hazard'] += label in HAZARD_LABELS
        c['clutter'] += label == 'CLUTTER'
        c['right'] += (label in HAZARD_LABELS if kind == 'AP' else
                       label in ('AT', 'UXO') if kind in ('AT', 'UXO') else label == 'CLUTTER')
        if kind in HAZARDS:
            pos.append(math.hypot(d.x - ix, d.y - iy))
            tr = fusion.tracks.get(d.id)
            ok = label in (HAZARD_LABELS if kind == 'AP' else ('AT', 'UXO'))
            if not ok:
                wrong.append(f'{kind} at ({ix:.2f}, {iy:.2f}) {100 * idepth:.0f} cm deep: '
                             f'{label} {d.confidence:.2f}'
                             + ('' if tr is None else f', {evidence(tr)}'))
            if tr is not None and tr.depth_weight > 0.0:
                depth.append(abs(d.depth - idepth))
    false_alarms = sum(1 for j, d in enumerate(fused) if d.kind.name in HAZARD_LABELS and (
        j not in item_of or items[item_of[j]][0] not in HAZARDS))
    # ROC points: (hazard posterior, is a hazard) per track; the hazards never tracked count
    # in the denominator only.
    roc = []
    for j, d in enumerate(fused):
        tr = fusion.tracks.get(d.id)
        if tr is None or not tr.posterior:
            continue
        s = sum(tr.posterior[h] for h in (Hypothesis.AP, Hypothesis.AT, Hypothesis.UXO))
        roc.append((s, j in item_of and items[item_of[j]][0] in HAZARDS))
    # (kind, x, y, what it is: catalogue model or soil scatterer, depth of its top)
    every = [(true_kind(it), it.x, it.y, it.model, it.depth) for it in world.items] + [
        ('rock', float(t.x[k]), float(t.y[k]), 'soil scatterer', float(t.depth[k]))
        for k in np.flatnonzero(t.gpr_only)]
    def false_labels(kind: str, ever: Dict[int, Tuple[float, float, float, str]]
                     ) -> List[str]:
        """The ``kind`` labels (AT or UXO: a no-go zone) on no AT mine or UXO: what lies
        under each and the rule and evidence that made it so."""
        out = []
        # (time, x, y, why) of each track's first such label (classification.note_at)
        for stamp, ax, ay, why in ever.values():
            if not (x0 <= ax <= x1 and y0 <= ay <= y1):
                continue
            near = min(((math.hypot(ax - ix, ay - iy), k, model, idepth)
                        for k, ix, iy, model, idepth in every),
                       default=(math.inf, 'none', '', math.nan))
            if not (near[0] <= MATCH_RADIUS_M and near[1] in ('AT', 'UXO')):
                under = (f'{near[1]} ({near[2]}, {100 * near[3]:.0f} cm deep) '
                         f'{near[0]:.2f} m away' if near[0] <= MATCH_RADIUS_M else 'nothing')
                out.append(f'{kind} at ({ax:.2f}, {ay:.2f}) at {stamp:.0f} s on {under}: '
                           f'{why}')
        return out

    false_at = false_labels('AT', ever_at)
    false_uxo = false_labels('UXO', ever_uxo or {})
    late = 0
    for kind, ix, iy, _ in items:
        if kind == 'AT':
            t_tool = tool_reach_time(vehicle, ix, iy, sim.p)
            t_at = min((v[0] for v in ever_at.values()
                        if math.hypot(v[1] - ix, v[2] - iy) <= MATCH_RADIUS_M), default=math.inf)
            late += math.isfinite(t_tool) and t_at > t_tool
    area = covered_area(world, lane_ys)
    return {'counts': counts, 'pos_err': pos, 'depth_err': depth, 'false_alarms': false_alarms,
            'area_m2': area, 'roc': roc, 'false_at_labels': len(false_at),
            'false_uxo_labels': len(false_uxo), 'at_labelled_late': late, 'wrong': wrong,
            'false_no_go': false_at + false_uxo}


def covered_area(world: World, lane_ys: List[float]) -> float:
    """Area of the field's bounding box the lanes cover (within COVER_MARGIN_M), m^2."""
    xs = [p[0] for p in world.field]
    ys = [p[1] for p in world.field]
    grid = np.arange(min(ys), max(ys), 0.05) + 0.025
    frac = np.mean([min(abs(y - ly) for ly in lane_ys) <= COVER_MARGIN_M for y in grid])
    return float(frac * (max(xs) - min(xs)) * (max(ys) - min(ys)))


def figures(runs: List[Dict]) -> Dict:
    """The headline figures over all runs."""
    tot = {k: {f: sum(r['counts'][k][f] for r in runs) for f in
               ('total', 'tracked', 'hazard', 'right', 'clutter')}
           for k in HAZARDS + ('clutter', 'rock')}

    def ratio(a: int, b: int):
        return round(a / b, 3) if b else None

    area = sum(r['area_m2'] for r in runs)
    pos = [e for r in runs for e in r['pos_err']]
    dep = [e for r in runs for e in r['depth_err']]
    sim_s = sum(r['sim_s'] for r in runs)
    return {
        'pd_ap': ratio(tot['AP']['hazard'], tot['AP']['total']),
        'pd_at': ratio(tot['AT']['right'], tot['AT']['total']),
        'pd_uxo': ratio(tot['UXO']['right'], tot['UXO']['total']),
        'fa_per_m2': round(sum(r['false_alarms'] for r in runs) / area, 4) if area else None,
        'ap_called_clutter': tot['AP']['clutter'],
        'clutter_rejection': ratio(tot['clutter']['clutter'], tot['clutter']['tracked']),
        'median_pos_err_m': round(statistics.median(pos), 3) if pos else None,
        'median_depth_err_m': round(statistics.median(dep), 3) if dep else None,
        'cpu_ms_per_sim_s': round(1000.0 * sum(r['cpu_s'] for r in runs) / sim_s, 2)
        if sim_s else None,
        'false_at_labels': sum(r['false_at_labels'] for r in runs),
        'false_uxo_labels': sum(r['false_uxo_labels'] for r in runs),
        'at_labelled_late': sum(r['at_labelled_late'] for r in runs),
        **permittivity_figures(runs),
        'items': {k: v['total'] for k, v in tot.items()},
        'area_m2': round(area, 1),
    }


def permittivity_figures(runs: List[Dict]) -> Dict:
    """How far the permittivity estimates were from the soils': the median over the runs
    with an estimate of ``|ln(estimate / soil)|`` (0.69: a factor 2), and how many runs had
    one (a run without a hyperbola fit has none)."""
    errs = [abs(math.log(r['permittivity']['estimate'] / r['permittivity']['soil']))
            for r in runs if math.isfinite(r['permittivity']['estimate'])
            and r['permittivity']['estimate'] > 0.0]
    return {'permittivity_log_error': round(statistics.median(errs), 3) if errs else None,
            'permittivity_estimated_runs': len(errs)}


def roc_png(runs: List[Dict], path: str) -> None:
    """Pd of the hazards against false alarms per m^2 over the hazard-posterior threshold."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    pts = [p for r in runs for p in r['roc']]
    n_haz = sum(r['counts'][k]['total'] for r in runs for k in HAZARDS)
    area = sum(r['area_m2'] for r in runs)
    thr = np.concatenate([[0.0], np.geomspace(1e-6, 1.0, 200)])
    pd = [sum(1 for s, h in pts if h and s >= t) / max(n_haz, 1) for t in thr]
    fa = [sum(1 for s, h in pts if not h and s >= t) / max(area, 1e-9) for t in thr]
    fig, ax = plt.subplots(figsize=(6, 4.5))
    ax.plot(fa, pd, '-o', ms=2)
    ax.set_xlabel('false alarms per m$^2$ (tracks on no hazard above the threshold)')
    ax.set_ylabel('probability of detection (hazards)')
    ax.set_title('Fused hazard posterior P(AP)+P(AT)+P(UXO): ROC')
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--worlds', default=None,
                    help=f'comma-separated shipped worlds, gen:<soil> and mission:<family> '
                    f'(default {FULL_WORLDS})')
    ap.add_argument('--seeds', default=None, help='comma-separated seeds (default 1,2,3)')
    ap.add_argument('--quick', action='store_true',
                    help=f'{QUICK_WORLDS} on {QUICK_SIZE_M[0]:.0f} x {QUICK_SIZE_M[1]:.0f} m, '
                    'seed 1 (a few minutes)')
    ap.add_argument('--mixed-ymax', type=float, default=12.0,
                    help='mixed_field is cut to this many metres from its south edge')
    ap.add_argument('--roc', default='', help='write the ROC image here (PNG)')
    args = ap.parse_args()
    worlds = args.worlds or (QUICK_WORLDS if args.quick else FULL_WORLDS)
    seeds = [int(s) for s in (args.seeds or ('1' if args.quick else '1,2,3')).split(',')]
    cmdline = ('python bench/perception.py ' + ' '.join(sys.argv[1:])).strip()
    print(f'reproduce: cd {os.path.abspath(ROOT)} && {cmdline}', flush=True)
    runs = []
    for name in [w.strip() for w in worlds.split(',') if w.strip()]:
        for seed in seeds:
            world = build_world(name, seed, args.mixed_ymax, args.quick)
            r = run_world(world, seed)
            runs.append(r)
            f = figures([r])
            done = '' if r['lanes_done'] else ' (lanes NOT finished: stuck or out of time)'
            print(f'{r["world"]} seed {seed}: {r["sim_s"]:.0f} s simulated{done} in '
                  f'{r["wall_s"]:.0f} s wall, EKF median error {r["ekf_err_median_m"]:.3f} m, '
                  f'permittivity {json.dumps(r["permittivity"])}: {json.dumps(f)}', flush=True)
            for line in r['wrong']:
                print(f'    wrong: {line}', flush=True)
            for line in r['false_no_go']:
                print(f'    false {line}', flush=True)
    if args.roc:
        roc_png(runs, args.roc)
        print(f'ROC: {args.roc}')
    result = figures(runs)
    result.update({'runs': len(runs), 'unfinished_runs': sum(not r['lanes_done'] for r in runs),
                   'seeds': seeds, 'worlds': worlds, 'command': cmdline})
    print(json.dumps(result))
    return 0


if __name__ == '__main__':
    sys.exit(main())
