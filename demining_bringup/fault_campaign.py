"""The fault campaign: each scenario of ``config/faults/`` run on the deterministic host and
judged against the safe outcome it declares (issue 8, "Fault campaign").

A scenario file is the simulator's (``faults``, ``actors``; :mod:`demining_sim.faults`) plus two
sections the simulator ignores:

``setup``
    ``world``: a shipped world's name, or a generated field (``field`` polygon, ``seed``, item
    densities, ``at`` items ``[[x, y, depth], ...]``, a ``slope`` ramp ``{x0, grade_deg}``
    rising eastwards from ``x0``, ``safe_margin_m`` a declared safe belt round the field);
    ``seed`` of the run; ``run_s`` simulated seconds (the run also ends when the mission ends
    or the clock's node fails); ``parameters``: node -> parameter overrides on the vehicle
    profile; ``operator``: timed operator actions ``{at, estop: true|false}``,
    ``{at, call: reset|resume}``, ``{at, inspection_ack: text}``, ``{at, pause: true|false}``,
    ``{at, teleop: [v, omega], until}`` (driven with the deadman held), and
    ``{at, kill: node}`` (the node goes silent, as a crashed process).
``expect``
    ``mission`` / ``safety_state``: the allowed final states; ``events`` / ``absent_events``:
    text every (no) /safety/events reason must contain; ``event_counts``: ``{text: n}``, at
    least ``n`` events whose reason contains ``text`` (a stop that must come back, whenever
    the run's draws put it); ``stops``: ``{trigger, within_s, until, tool_within_s}`` -- from
    ``trigger + within_s`` to ``until`` the vehicle stands (true speed and yaw rate) and, from
    ``trigger + tool_within_s`` (when given), the flail has run down (the rotor's inertia:
    ~1.5-2 s from 800 rpm); ``moves_after``: the vehicle moves again after this time (the stop
    was not permanent); ``no_at_detonation`` (default true); ``failed_nodes``;
    ``people_clearance_m``: no person or animal this close to the flail while it turns or the
    vehicle moves; ``max_tilt_deg``: the true tilt stays below.

:func:`run_scenario` runs one file and returns a :class:`Outcome`; :func:`judge` lists every
expectation it misses (empty: the scenario ended safe). The test
``test/demining_bringup/test_fault_campaign.py`` runs every file in ``make test``;
``bench/faults.py`` runs them at other seeds.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import yaml

from demining_bringup import stack as st
from demining_bringup.contract import topics
from demining_bringup.contract.component import Component, Port
from demining_bringup.contract.datatypes import Twist2D
from demining_bringup.contract.parameters import param
from demining_bringup.contract.sdf import write_world
from demining_bringup.contract.states import MissionState, SafetyState
from demining_bringup.contract.world import Terrain
from demining_bringup.deterministic_runner import abort_mission, hosted
from demining_bringup.hosts.deterministic import ComponentFailure, DeterministicHost, Hosted
from demining_sim.faults import FaultKind, load_scenario
from demining_sim.generator import generate_world, make_item

#: |true speed| (m/s) and |true yaw rate| (rad/s) below which the vehicle stands (odometry
#: noise floor of a tracked machine at rest is far below; 2 cm/s is a creep nobody calls motion).
STAND_SPEED_MPS = 0.02
STAND_YAW_RATE = 0.02
#: |true speed| above which the vehicle moves again (moves_after).
MOVING_SPEED_MPS = 0.05
#: Flail speed below which it has run down, rad/s (~10 % of the 800 rpm working speed).
FLAIL_STOPPED_RADPS = 8.0
#: The operator station's period (its e-stop and acknowledgement publications), s.
OPERATOR_PERIOD_S = 0.1
#: Heightmap of a slope: 2^n + 1 pixels a side (Gazebo's rule, demining_bringup/contract/sdf.py).
SLOPE_GRID_PX = 65
SLOPE_RESOLUTION_M = 1.0


# -- the operator station (e-stop button and inspection acknowledgements) ----------------------

@dataclasses.dataclass(frozen=True)
class OperatorScriptParams:
    """Parameters of the scripted operator station."""

    script: str = param('[]', 'JSON list of {at, estop}, {at, inspection_ack}, {at, pause} '
                        'and {at, teleop: [v, omega], until} actions', read_only=True)


class OperatorStation(Component):
    """A scripted operator station: e-stop button, inspection acknowledgements, pause, teleop.

    The e-stop and the pause are latched (re-published every period, as a real station's
    switch states); teleop sends its command with the deadman held every period from ``at``
    to ``until``, then releases the deadman.
    """

    name = 'operator_station'
    params = OperatorScriptParams
    outputs = {'estop': Port(topics.OPERATOR_ESTOP),
               'inspection_ack': Port(topics.SAFETY_INSPECTION_ACK),
               'pause': Port(topics.OPERATOR_PAUSE), 'teleop': Port(topics.CMD_VEL_TELEOP),
               'deadman': Port(topics.OPERATOR_DEADMAN)}

    def on_configure(self, params: OperatorScriptParams) -> None:
        """Read the script."""
        self.actions = sorted(json.loads(params.script), key=lambda a: a['at'])
        self.pressed = self.paused = False
        self.driving: Optional[Dict[str, Any]] = None
        self._next = 0

    def timers(self) -> Dict[str, float]:
        """The station's period."""
        return {'tick': OPERATOR_PERIOD_S}

    def tick(self, now: float) -> None:
        """Act on what is due; publish the button state."""
        while self._next < len(self.actions) and self.actions[self._next]['at'] <= now + 1e-9:
            a = self.actions[self._next]
            self._next += 1
            if 'estop' in a:
                self.pressed = bool(a['estop'])
            if 'inspection_ack' in a:
                self.emit('inspection_ack', str(a['inspection_ack']))
            if 'pause' in a:
                self.paused = bool(a['pause'])
            if 'teleop' in a:
                self.driving = a
        self.emit('estop', self.pressed)
        self.emit('pause', self.paused)
        if self.driving is not None:
            if now + 1e-9 < float(self.driving['until']):
                v, omega = self.driving['teleop']
                self.emit('deadman', True)
                self.emit('teleop', Twist2D(float(v), float(omega)))
            else:
                self.emit('deadman', False)
                self.driving = None


# -- the scenario -----------------------------------------------------------------------------

@dataclasses.dataclass
class Outcome:
    """What a run showed (sampled every clock tick)."""

    source: str
    end_s: float = 0.0
    mission: str = MissionState.IDLE.value
    safety_state: str = ''
    events: List[Tuple[float, str, str]] = dataclasses.field(default_factory=list)
    sim_events: List[Tuple[float, str]] = dataclasses.field(default_factory=list)
    failed_nodes: List[str] = dataclasses.field(default_factory=list)
    #: (t, |v|, |omega|, flail speed, max |tilt| deg, nearest actor to the flail m) per tick.
    samples: List[Tuple[float, float, float, float, float, float]] = dataclasses.field(
        default_factory=list)
    service_replies: List[Tuple[float, str, bool, str]] = dataclasses.field(
        default_factory=list)


def _load(path: str) -> Dict[str, Any]:
    load_scenario(path)             # the simulator's own validation of faults and actors
    with open(path, 'r', encoding='utf-8') as fh:
        data = yaml.safe_load(fh) or {}
    for section in ('setup', 'expect'):
        if not isinstance(data.get(section), dict):
            raise ValueError(f'{path}: missing the {section!r} mapping')
    return data


def _world(setup: Mapping[str, Any], workdir: str) -> str:
    spec = setup['world']
    if isinstance(spec, str):
        return spec
    world = generate_world([tuple(p) for p in spec['field']], seed=int(spec.get('seed', 1)),
                           ap_per_100m2=float(spec.get('ap_per_100m2', 0.0)),
                           clutter_per_m2=float(spec.get('clutter_per_m2', 0.0)),
                           name='campaign_field')
    # declared safe surroundings (a belt round the field): the supervisor then enforces the
    # allowed ground (demining_control/safety/allowed_ground.py) instead of recording it
    world.safe_margin_m = float(spec.get('safe_margin_m', 0.0))
    for k, (x, y, depth) in enumerate(spec.get('at', [])):
        world.items.append(make_item('TM-62M', f'at_campaign_{k + 1}', x, y, depth))
    slope = spec.get('slope')
    if slope:
        # A ramp rising eastwards from x0 at grade_deg, flat before it.
        x0 = world.vehicle_start[0] - SLOPE_RESOLUTION_M
        xs = x0 + SLOPE_RESOLUTION_M * np.arange(SLOPE_GRID_PX)
        rise = np.maximum(xs - float(slope['x0']), 0.0) * math.tan(
            math.radians(float(slope['grade_deg'])))
        heights = np.tile(rise, (SLOPE_GRID_PX, 1))
        world.terrain = Terrain(heights=heights, origin_x=x0,
                                origin_y=world.vehicle_start[1] - SLOPE_GRID_PX // 2,
                                resolution=SLOPE_RESOLUTION_M)
    return write_world(world, os.path.join(workdir, 'campaign_field.sdf'))


def run_scenario(path: str, workdir: str, seed: Optional[int] = None) -> Outcome:
    """Run the scenario file ``path`` on the deterministic host (files go to ``workdir``).

    ``seed``: the run's seed (sensor noise, dropouts, the simulator's draws) instead of the
    file's ``setup.seed``; the world stays the file's (bench/faults.py: other seeds).
    """
    data = _load(path)
    setup = data['setup']
    operator = list(setup.get('operator') or [])
    world = _world(setup, workdir)
    desc = st.load_stack()
    args = st.resolve_arguments(desc, {
        'world': world, 'seed': int(setup.get('seed', 1) if seed is None else seed),
        'scenario': path,
        'run_dir': os.path.join(workdir, 'run'), 'profile': 'mv4_flail'})
    params = st.with_overrides(st.load_profile(args['profile']),
                               st.scenario_overrides(setup, path))
    resolved = st.resolve_stack(desc, args, params)
    st.check_profile(resolved, params)
    nodes = hosted(resolved)
    station = [a for a in operator if {'estop', 'inspection_ack', 'pause', 'teleop'} & set(a)]
    nodes.append(Hosted(OperatorStation, OperatorStation.name,
                        {'script': json.dumps(station)}))
    host = DeterministicHost(nodes)
    out = Outcome(source=path)
    seen = {'mission': MissionState.IDLE, 'safety': None}
    host.tap(topics.MISSION_STATE, lambda s: seen.__setitem__('mission', s))
    host.tap(topics.SAFETY_STATE, lambda s: seen.__setitem__('safety', s))
    host.tap(topics.SAFETY_EVENTS, lambda e: out.events.append(
        (e.stamp, e.state.value, e.reason)))
    host.tap(topics.SIM_EVENTS, lambda e: out.sim_events.append((e.stamp, e.kind)))
    host.startup()
    sim = host.runtimes['simulator'].component.sim
    tool_offset = sim.p.tool_offset_x_m
    calls = sorted((a for a in operator if 'call' in a or 'kill' in a), key=lambda a: a['at'])

    def on_tick(t: float) -> None:
        while calls and calls[0]['at'] <= t + 1e-9:
            a = calls.pop(0)
            if 'kill' in a:
                host.failed.append(str(a['kill']))
                continue
            ok, text = host.call(getattr(topics, f'SAFETY_{str(a["call"]).upper()}'))
            out.service_replies.append((t, a['call'], ok, text))
        tr = sim.truth
        fx = tr.x + tool_offset * math.cos(tr.yaw)
        fy = tr.y + tool_offset * math.sin(tr.yaw)
        nearest = math.inf
        for actor in sim.actors.actors:
            pos = actor.position(t)
            if pos is not None:
                nearest = min(nearest, math.hypot(pos[0] - fx, pos[1] - fy))
        tilt = math.degrees(max(abs(tr.roll), abs(tr.pitch)))
        out.samples.append((t, abs(tr.v), abs(tr.omega), sim.tools.flail.speed, tilt,
                            nearest))

    run_s = float(setup['run_s'])
    ended = False
    try:
        out.end_s = host.run(lambda: seen['mission'].terminal, sim_time_limit_s=run_s,
                             on_tick=on_tick)
        ended = seen['mission'].terminal
    except ComponentFailure as exc:
        out.end_s = host.now
        abort_mission(host, f'node {exc.name} failed: {type(exc.exc).__name__}: {exc.exc}')
        ended = True
    finally:
        out.failed_nodes = list(host.failed)
        # A run cut at run_s is not shut down: the report written on exit (tested by
        # test/demining_bringup/test_report_on_exit.py) costs seconds of plotting per run.
        if ended:
            host.shutdown()
    out.mission = seen['mission'].value
    out.safety_state = seen['safety'].value if isinstance(seen['safety'], SafetyState) else ''
    return out


# -- the judgement --------------------------------------------------------------------------

def _window(out: Outcome, t0: float, t1: float) -> List[Tuple[float, ...]]:
    return [s for s in out.samples if t0 - 1e-9 <= s[0] <= t1 + 1e-9]


def _judge_stop(out: Outcome, stop: Mapping[str, Any]) -> List[str]:
    t0 = float(stop['trigger']) + float(stop['within_s'])
    t1 = min(float(stop.get('until', out.end_s)), out.end_s)
    window = _window(out, t0, t1)
    if not window:
        return [f'stop after {stop["trigger"]} s: the run ended at {out.end_s:g} s, before '
                f'{t0:g} s']
    bad = []
    moving = next((s for s in window if s[1] > STAND_SPEED_MPS or s[2] > STAND_YAW_RATE), None)
    if moving is not None:
        bad.append(f'vehicle moving at {moving[0]:.1f} s (|v| {moving[1]:.3f} m/s, |omega| '
                   f'{moving[2]:.3f} rad/s): should stand from {t0:g} s to {t1:g} s')
    if 'tool_within_s' in stop:
        t0 = float(stop['trigger']) + float(stop['tool_within_s'])
        turning = next((s for s in _window(out, t0, t1) if s[3] > FLAIL_STOPPED_RADPS), None)
        if turning is not None:
            bad.append(f'flail turning at {turning[0]:.1f} s ({turning[3]:.1f} rad/s): should '
                       f'be stopped from {t0:g} s to {t1:g} s')
    return bad


def _at_scheduled(path: str) -> bool:
    return any(f.kind is FaultKind.DETONATION and f.item_kind == 'AT'
               for f in load_scenario(path).faults)


def judge(out: Outcome, expect: Mapping[str, Any]) -> List[str]:
    """Every expectation of ``expect`` the outcome misses (empty: the scenario ended safe)."""
    bad: List[str] = []
    if 'mission' in expect and out.mission not in _list(expect['mission']):
        bad.append(f'mission ended {out.mission!r}, expected one of {_list(expect["mission"])}')
    if 'safety_state' in expect and out.safety_state not in _list(expect['safety_state']):
        bad.append(f'safety state {out.safety_state!r} at the end, expected one of '
                   f'{_list(expect["safety_state"])}')
    reasons = [r for _, _, r in out.events]
    for text in _list(expect.get('events', [])):
        if not any(text in r for r in reasons):
            bad.append(f'no safety event containing {text!r}')
    for text, least in dict(expect.get('event_counts') or {}).items():
        seen = sum(text in r for r in reasons)
        if seen < int(least):
            bad.append(f'{seen} safety event(s) containing {text!r}, expected at least {least}')
    for text in _list(expect.get('absent_events', [])):
        hit = next((r for r in reasons if text in r), None)
        if hit is not None:
            bad.append(f'unexpected safety event {hit!r}')
    for stop in expect.get('stops', []):
        bad.extend(_judge_stop(out, stop))
    if 'moves_after' in expect:
        t = float(expect['moves_after'])
        if not any(s[1] > MOVING_SPEED_MPS for s in _window(out, t, out.end_s)):
            bad.append(f'the vehicle never moved again after {t:g} s')
    if expect.get('no_at_detonation', not _at_scheduled(out.source)):
        if any(kind == 'at_detonation' for _, kind in out.sim_events):
            bad.append('an AT mine detonated')
    if 'failed_nodes' in expect and sorted(out.failed_nodes) != sorted(
            _list(expect['failed_nodes'])):
        bad.append(f'failed nodes {out.failed_nodes}, expected {_list(expect["failed_nodes"])}')
    if 'people_clearance_m' in expect:
        limit = float(expect['people_clearance_m'])
        close = [s for s in out.samples if s[5] < limit
                 and (s[3] > FLAIL_STOPPED_RADPS or s[1] > STAND_SPEED_MPS)]
        if close:
            s = close[0]
            bad.append(f'an actor {s[5]:.1f} m from the flail at {s[0]:.1f} s while the flail '
                       f'turned ({s[3]:.1f} rad/s) or the vehicle moved ({s[1]:.2f} m/s)')
    if 'max_tilt_deg' in expect:
        worst = max((s[4] for s in out.samples), default=0.0)
        if worst > float(expect['max_tilt_deg']):
            bad.append(f'true tilt reached {worst:.1f} deg (limit {expect["max_tilt_deg"]})')
    return bad


def _list(value: Any) -> List[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def scenario_files(folder: str) -> List[str]:
    """The campaign's scenario files in ``folder`` (sorted)."""
    return sorted(os.path.join(folder, f) for f in os.listdir(folder)
                  if f.endswith(('.yaml', '.yml')))


def campaign_files(folder: str) -> List[str]:
    """The scenario files in ``folder`` with an ``expect`` section: the campaign (sorted)."""
    out = []
    for path in scenario_files(folder):
        with open(path, encoding='utf-8') as fh:
            if 'expect' in (yaml.safe_load(fh) or {}):
                out.append(path)
    return out


def expectations(path: str) -> Dict[str, Any]:
    """The ``expect`` section of a scenario file."""
    return dict(_load(path)['expect'])


def run_and_judge(path: str, workdir: str, seed: Optional[int] = None
                  ) -> Tuple[Outcome, List[str]]:
    """Run one scenario (``seed``: see :func:`run_scenario`) and judge it."""
    out = run_scenario(path, workdir, seed)
    return out, judge(out, expectations(path))


def describe(out: Outcome, failures: Sequence[str]) -> str:
    """A readable account of a run for a failed test."""
    lines = [f'{out.source}: ended at {out.end_s:g} s, mission {out.mission}, safety '
             f'{out.safety_state}, failed nodes {out.failed_nodes}']
    lines += [f'  MISSED: {f}' for f in failures]
    lines += [f'  event {t:7.1f} {s:<16} {r}' for t, s, r in out.events]
    lines += [f'  call  {t:7.1f} {c}: {ok} {text}' for t, c, ok, text in out.service_replies]
    return '\n'.join(lines)


__all__ = ['OperatorStation', 'Outcome', 'campaign_files', 'describe', 'expectations', 'judge',
           'run_and_judge', 'run_scenario', 'scenario_files']
