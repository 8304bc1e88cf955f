"""Fault scenarios: a YAML file schedules faults (and actors) at simulated times.

Example (``config/faults/*.yaml``)::

    faults:
      - {at: 120.0, kind: gnss_loss, duration: 30.0}
      - {at: 200.0, kind: gnss_jump, offset: [5.0, 0.0], duration: 20.0}
      - {at: 300.0, kind: sensor_dropout, sensor: gpr, duration: 10.0}
      - {at: 400.0, kind: nan_message, sensor: odom}
      - {at: 500.0, kind: garbage_message, topic: /gpr/traces}
    actors:
      - {name: shepherd, kind: person, start: 100.0, speed_mps: 1.2,
         path: [[-30.0, 10.0], [20.0, 10.0]]}
      - {name: dog, kind: animal, start: 200.0, speed_mps: 2.0, loop: true, until: 500.0,
         path: [[-20.0, -10.0], [30.0, 30.0], [-20.0, 30.0]]}

An actor appears at ``start`` and leaves the scene at the end of its path or, when given, at
``until`` (a looping actor without ``until`` stays for the whole run).

The ``setup`` and ``expect`` sections belong to the fault campaign
(:mod:`demining_bringup.fault_campaign`: the world, operator actions, the expected safe outcome);
the simulator ignores them.

Fault kinds and their fields (``at`` is required everywhere; ``duration`` in seconds where
a kind lasts, with the default shown):

==================== ================================================ =========
kind                 fields                                            duration
==================== ================================================ =========
gnss_loss            -                                                  30
gnss_jump            offset: [dx, dy] or [dx, dy, dz] (m, ENU)          30
sensor_dropout       sensor: gpr|md|imu|odom|gnss|people|tool           10
sensor_frozen        sensor (the last output is repeated)               10
operator_link_loss   - (no operator heartbeat)                          10
rotor_stall          tool: flail|tiller|both (default flail)            5
detonation           item_kind: AP|AT (default AT), x, y (default: tool) instant
node_crash           - (the simulator node stops with an error)         instant
nan_message          sensor (that sensor's output carries NaN)          0 = one
garbage_message      topic: a topic the simulator publishes             instant
drive_runaway        speed_mps (default 0.5): the drive ignores its          5
                     command (a stuck hydraulic valve)
track_slip           slip (default 0.8): extra slip fraction of both         10
                     tracks (wet clay, a mud hole, a track on ice)
==================== ================================================ =========

:class:`FaultInjector` is pure: ``active(t)`` lists the faults in force at ``t`` and
``started(t0, t1)`` those that begin in ``(t0, t1]``; the simulator applies them.
:func:`shifted_scenario` moves a scenario onto the clock of a resumed mission.
"""

from __future__ import annotations

import dataclasses
import enum
import math
from typing import Any, Dict, List, Optional, Sequence, Tuple

import yaml

from demining_bringup.contract import topics


class FaultKind(str, enum.Enum):
    """Every fault a scenario may schedule."""

    GNSS_LOSS = 'gnss_loss'
    GNSS_JUMP = 'gnss_jump'
    SENSOR_DROPOUT = 'sensor_dropout'
    SENSOR_FROZEN = 'sensor_frozen'
    OPERATOR_LINK_LOSS = 'operator_link_loss'
    ROTOR_STALL = 'rotor_stall'
    DETONATION = 'detonation'
    NODE_CRASH = 'node_crash'
    NAN_MESSAGE = 'nan_message'
    GARBAGE_MESSAGE = 'garbage_message'
    DRIVE_RUNAWAY = 'drive_runaway'
    TRACK_SLIP = 'track_slip'


SENSORS = ('gpr', 'md', 'imu', 'odom', 'gnss', 'people', 'tool')
TOOLS = ('flail', 'tiller', 'both')
ACTOR_KINDS = ('person', 'animal', 'vehicle')
#: Sections read by the fault campaign (demining_bringup/fault_campaign.py), not the simulator.
CAMPAIGN_SECTIONS = ('setup', 'expect')
#: Topics the simulator publishes (what ``garbage_message`` may target).
GARBAGE_TOPICS = (topics.ODOM_TRACKS, topics.GNSS_FIX, topics.IMU, topics.GPR_TRACES,
                  topics.MD_COILS, topics.TOOL_JOINT_STATES, topics.SIM_EVENTS,
                  topics.GROUND_TRUTH, topics.OPERATOR_HEARTBEAT, topics.PEOPLE_DETECTIONS,
                  topics.SIM_ACTORS)

# Default durations (s); None: the kind is instantaneous and takes no duration.
_DURATION: Dict[FaultKind, Optional[float]] = {
    FaultKind.GNSS_LOSS: 30.0, FaultKind.GNSS_JUMP: 30.0, FaultKind.SENSOR_DROPOUT: 10.0,
    FaultKind.SENSOR_FROZEN: 10.0, FaultKind.OPERATOR_LINK_LOSS: 10.0,
    FaultKind.ROTOR_STALL: 5.0, FaultKind.DETONATION: None, FaultKind.NODE_CRASH: None,
    FaultKind.NAN_MESSAGE: 0.0, FaultKind.GARBAGE_MESSAGE: None,
    FaultKind.DRIVE_RUNAWAY: 5.0, FaultKind.TRACK_SLIP: 10.0}

# Extra fields each kind accepts (besides at, kind, duration), and which are required.
_FIELDS: Dict[FaultKind, Tuple[Tuple[str, ...], Tuple[str, ...]]] = {
    FaultKind.GNSS_LOSS: ((), ()),
    FaultKind.GNSS_JUMP: (('offset',), ('offset',)),
    FaultKind.SENSOR_DROPOUT: (('sensor',), ('sensor',)),
    FaultKind.SENSOR_FROZEN: (('sensor',), ('sensor',)),
    FaultKind.OPERATOR_LINK_LOSS: ((), ()),
    FaultKind.ROTOR_STALL: (('tool',), ()),
    FaultKind.DETONATION: (('item_kind', 'x', 'y'), ()),
    FaultKind.NODE_CRASH: ((), ()),
    FaultKind.NAN_MESSAGE: (('sensor',), ('sensor',)),
    FaultKind.GARBAGE_MESSAGE: (('topic',), ('topic',)),
    FaultKind.DRIVE_RUNAWAY: (('speed_mps',), ()),
    FaultKind.TRACK_SLIP: (('slip',), ()),
}
#: Largest extra slip fraction of a track_slip fault (the vehicle model's ceiling,
#: demining_sim/vehicle.py: the tracks still grip a little).
MAX_FAULT_SLIP = 0.9


@dataclasses.dataclass(frozen=True)
class Fault:
    """One scheduled fault (``end == start`` for instantaneous kinds)."""

    kind: FaultKind
    at: float
    duration: float = 0.0
    sensor: str = ''
    offset: Tuple[float, float, float] = (0.0, 0.0, 0.0)
    tool: str = 'flail'
    item_kind: str = 'AT'
    x: Optional[float] = None
    y: Optional[float] = None
    topic: str = ''
    #: Forward speed of a runaway drive, m/s.
    speed_mps: float = 0.5
    #: Extra slip fraction of both tracks (track_slip): the ground moves the machine by
    #: (1 - slip) of what the sprockets drive. Wet clay and mud reach 0.5-0.9 at the drawbar
    #: pull a flail needs (Wong 2008, "Theory of Ground Vehicles", slip-traction curves).
    slip: float = 0.8

    @property
    def end(self) -> float:
        """Time the fault stops being active."""
        return self.at + self.duration

    def describe(self) -> str:
        """A short human-readable description (the ``detail`` of its event)."""
        parts = [self.kind.value]
        if self.sensor:
            parts.append(f'sensor={self.sensor}')
        if self.kind == FaultKind.GNSS_JUMP:
            parts.append('offset=[' + ', '.join(f'{v:g}' for v in self.offset) + ']')
        if self.kind == FaultKind.ROTOR_STALL:
            parts.append(f'tool={self.tool}')
        if self.kind == FaultKind.DETONATION:
            parts.append(f'item_kind={self.item_kind}')
        if self.topic:
            parts.append(f'topic={self.topic}')
        if self.kind == FaultKind.DRIVE_RUNAWAY:
            parts.append(f'speed_mps={self.speed_mps:g}')
        if self.kind == FaultKind.TRACK_SLIP:
            parts.append(f'slip={self.slip:g}')
        if self.duration > 0.0:
            parts.append(f'duration={self.duration:g}s')
        return ' '.join(parts)


@dataclasses.dataclass(frozen=True)
class ActorSpec:
    """A person or animal walking a path (map metres) from ``start`` seconds."""

    name: str
    kind: str
    path: Tuple[Tuple[float, float], ...]
    speed_mps: float = 1.2
    start: float = 0.0
    loop: bool = False
    #: Time the actor leaves the scene (None: at the end of its path, never when it loops).
    until: Optional[float] = None


@dataclasses.dataclass(frozen=True)
class Scenario:
    """What a scenario file schedules."""

    faults: Tuple[Fault, ...] = ()
    actors: Tuple[ActorSpec, ...] = ()
    source: str = ''


def _number(where: str, value: Any, *, min_value: Optional[float] = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            not math.isfinite(float(value)):
        raise ValueError(f'{where}: expected a finite number, got {value!r}')
    if min_value is not None and value < min_value:
        raise ValueError(f'{where}: {value!r} is below {min_value}')
    return float(value)


def _choice(where: str, value: Any, choices: Sequence[str]) -> str:
    if value not in choices:
        raise ValueError(f'{where}: {value!r} is not one of {", ".join(choices)}')
    return str(value)


def parse_fault(entry: Any, where: str) -> Fault:
    """Validate one ``faults`` entry; raise ValueError naming ``where`` on any problem."""
    if not isinstance(entry, dict):
        raise ValueError(f'{where}: expected a mapping, got {entry!r}')
    if 'kind' not in entry:
        raise ValueError(f'{where}: missing "kind"')
    try:
        kind = FaultKind(entry['kind'])
    except ValueError:
        raise ValueError(f'{where}: unknown fault kind {entry["kind"]!r} (known: '
                         f'{", ".join(k.value for k in FaultKind)})') from None
    where = f'{where} ({kind.value})'
    allowed, required = _FIELDS[kind]
    known = {'at', 'kind'} | set(allowed)
    default_duration = _DURATION[kind]
    if default_duration is not None:
        known.add('duration')
    unknown = sorted(set(entry) - known)
    if unknown:
        raise ValueError(f'{where}: unknown field {unknown[0]!r} (allowed: '
                         f'{", ".join(sorted(known))})')
    for name in ('at',) + required:
        if name not in entry:
            raise ValueError(f'{where}: missing {name!r}')
    kw: Dict[str, Any] = {'kind': kind, 'at': _number(f'{where}.at', entry['at'], min_value=0.0)}
    if default_duration is not None:
        kw['duration'] = _number(f'{where}.duration', entry.get('duration', default_duration),
                                 min_value=0.0)
    if 'sensor' in entry:
        kw['sensor'] = _choice(f'{where}.sensor', entry['sensor'], SENSORS)
    if 'offset' in entry:
        off = entry['offset']
        if not isinstance(off, (list, tuple)) or len(off) not in (2, 3):
            raise ValueError(f'{where}.offset: expected [dx, dy] or [dx, dy, dz], got {off!r}')
        vals = [_number(f'{where}.offset[{i}]', v) for i, v in enumerate(off)]
        kw['offset'] = tuple(vals + [0.0] * (3 - len(vals)))
    if 'tool' in entry:
        kw['tool'] = _choice(f'{where}.tool', entry['tool'], TOOLS)
    if 'item_kind' in entry:
        kw['item_kind'] = _choice(f'{where}.item_kind', entry['item_kind'], ('AP', 'AT'))
    for name in ('x', 'y'):
        if name in entry:
            kw[name] = _number(f'{where}.{name}', entry[name])
    if 'speed_mps' in entry:
        kw['speed_mps'] = _number(f'{where}.speed_mps', entry['speed_mps'])
    if 'slip' in entry:
        kw['slip'] = _number(f'{where}.slip', entry['slip'], min_value=0.0)
        if kw['slip'] > MAX_FAULT_SLIP:
            raise ValueError(f'{where}.slip: {kw["slip"]:g} above {MAX_FAULT_SLIP:g}')
    if 'topic' in entry:
        # A scenario may name the topic resolved ('/gpr/traces') or relative ('gpr/traces').
        topic = entry['topic'].lstrip('/') if isinstance(entry['topic'], str) else entry['topic']
        kw['topic'] = _choice(f'{where}.topic', topic, GARBAGE_TOPICS)
    return Fault(**kw)


def parse_actor(entry: Any, where: str) -> ActorSpec:
    """Validate one ``actors`` entry."""
    if not isinstance(entry, dict):
        raise ValueError(f'{where}: expected a mapping, got {entry!r}')
    known = {'name', 'kind', 'path', 'speed_mps', 'start', 'loop', 'until'}
    unknown = sorted(set(entry) - known)
    if unknown:
        raise ValueError(f'{where}: unknown field {unknown[0]!r} (allowed: '
                         f'{", ".join(sorted(known))})')
    for name in ('name', 'path'):
        if name not in entry:
            raise ValueError(f'{where}: missing {name!r}')
    path = entry['path']
    if not isinstance(path, (list, tuple)) or len(path) < 1:
        raise ValueError(f'{where}.path: expected a list of [x, y] points')
    pts = []
    for i, pt in enumerate(path):
        if not isinstance(pt, (list, tuple)) or len(pt) != 2:
            raise ValueError(f'{where}.path[{i}]: expected [x, y], got {pt!r}')
        pts.append((_number(f'{where}.path[{i}][0]', pt[0]),
                    _number(f'{where}.path[{i}][1]', pt[1])))
    loop = entry.get('loop', False)
    if not isinstance(loop, bool):
        raise ValueError(f'{where}.loop: expected true or false, got {loop!r}')
    start = _number(f'{where}.start', entry.get('start', 0.0), min_value=0.0)
    until = (_number(f'{where}.until', entry['until'], min_value=start)
             if entry.get('until') is not None else None)
    return ActorSpec(name=str(entry['name']),
                     kind=_choice(f'{where}.kind', entry.get('kind', 'person'), ACTOR_KINDS),
                     path=tuple(pts),
                     speed_mps=_number(f'{where}.speed_mps', entry.get('speed_mps', 1.2),
                                       min_value=0.0),
                     start=start, loop=loop, until=until)


def parse_scenario(data: Any, source: str = '<scenario>') -> Scenario:
    """Validate a scenario mapping (the parsed YAML)."""
    if data is None:
        return Scenario(source=source)
    if not isinstance(data, dict):
        raise ValueError(f'{source}: expected a mapping with "faults" and/or "actors"')
    unknown = sorted(set(data) - {'faults', 'actors'} - set(CAMPAIGN_SECTIONS))
    if unknown:
        raise ValueError(f'{source}: unknown section {unknown[0]!r} (allowed: actors, faults, '
                         f'{", ".join(CAMPAIGN_SECTIONS)})')
    faults_raw = data.get('faults') or []
    actors_raw = data.get('actors') or []
    if not isinstance(faults_raw, list):
        raise ValueError(f'{source}: "faults" must be a list')
    if not isinstance(actors_raw, list):
        raise ValueError(f'{source}: "actors" must be a list')
    faults = tuple(parse_fault(e, f'{source}: faults[{i}]') for i, e in enumerate(faults_raw))
    actors = tuple(parse_actor(e, f'{source}: actors[{i}]') for i, e in enumerate(actors_raw))
    names = [a.name for a in actors]
    if len(set(names)) != len(names):
        raise ValueError(f'{source}: actor names must be unique')
    return Scenario(faults=tuple(sorted(faults, key=lambda f: f.at)), actors=actors,
                    source=source)


def load_scenario(path: str) -> Scenario:
    """Read and validate a scenario YAML file.

    :raises ValueError: naming the file and the entry on any problem (missing file too).
    """
    try:
        with open(path, 'r', encoding='utf-8') as fh:
            data = yaml.safe_load(fh)
    except OSError as exc:
        raise ValueError(f'{path}: cannot read scenario: {exc.strerror}') from None
    except yaml.YAMLError as exc:
        raise ValueError(f'{path}: not valid YAML: {exc}') from None
    return parse_scenario(data, source=path)


def shifted_scenario(scenario: Scenario, elapsed_s: float) -> Scenario:
    """``scenario`` as seen by a run whose clock starts at mission time ``elapsed_s``.

    A resumed mission (``demine run --resume``) restarts the simulator's clock at 0 while the
    scenario's times are mission times. Every fault moves ``elapsed_s`` earlier: one that
    ended before the restart (an instant one at or before it) is dropped (it already
    happened: replaying a detonation or a crash would be a second one), one in force at the
    restart keeps what is left of its duration from 0, later ones keep their place in the
    mission. Actors keep walking where they were (their start may become negative) and leave
    when they would have.
    """
    if not (math.isfinite(elapsed_s) and elapsed_s > 0.0):
        return scenario
    faults = []
    for f in scenario.faults:
        if f.duration > 0.0:
            if f.end <= elapsed_s:
                continue
            start = max(0.0, f.at - elapsed_s)
            faults.append(dataclasses.replace(f, at=start, duration=f.end - elapsed_s - start))
        elif f.at > elapsed_s:
            faults.append(dataclasses.replace(f, at=f.at - elapsed_s))
    actors = tuple(dataclasses.replace(
        a, start=a.start - elapsed_s,
        until=None if a.until is None else a.until - elapsed_s) for a in scenario.actors)
    return dataclasses.replace(scenario, faults=tuple(faults), actors=actors)


class FaultInjector:
    """Pure schedule queries over a scenario's faults."""

    def __init__(self, faults: Sequence[Fault]) -> None:
        """Keep the faults sorted by start time."""
        self.faults = tuple(sorted(faults, key=lambda f: f.at))

    def active(self, t: float) -> List[Fault]:
        """Faults in force at ``t`` (``at <= t < at + duration``; instants never are)."""
        return [f for f in self.faults if f.at <= t < f.end]

    def started(self, t0: float, t1: float) -> List[Fault]:
        """Faults that begin in ``(t0, t1]`` (``t0 < 0`` includes those at time 0)."""
        return [f for f in self.faults if t0 < f.at <= t1]

    def is_active(self, t: float, kind: FaultKind, sensor: str = '') -> bool:
        """True when a fault of ``kind`` (for ``sensor``, if given) is in force at ``t``."""
        return any(f.kind == kind and (not sensor or f.sensor == sensor)
                   for f in self.active(t))

    def next_change(self, t: float) -> float:
        """The first time after ``t`` at which a fault starts or ends (inf when none)."""
        times = [v for f in self.faults for v in (f.at, f.end) if v > t]
        return min(times) if times else math.inf
