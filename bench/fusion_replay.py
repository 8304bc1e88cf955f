#!/usr/bin/env python3
"""Replay a mission's fusion inputs through this checkout's fusion: its no-go labels, scored.

``bench/missions.py --record-fusion --out DIR`` keeps, in each mission's run folder, every
call the mission's fusion node made on its :class:`FusionCore` (``fusion_calls.pkl``: the
GPR and MD detections, the boom's sweeps, the processed ground and the publishing times, in
order). Replayed here, they give the labels a changed fusion rule or parameter would have
given on the same inputs, in seconds instead of a whole mission. A replay measures the
labelling only: in a mission the path parts from the recorded one after the first label that
changes (a no-go zone is planned round), and what the machine then meets is not in the
recording.

Each track's first AT or UXO label (a no-go zone) is scored against the run's ``truth.json``
with ``bench/perception.py``'s halo: on an AT mine or UXO within ``MATCH_RADIUS_M`` it labels
that item, else it is false (what lies under it is named). ``--json OUT`` keeps, per run, the
time of each AT mine's and UXO's first label and the false labels; ``--against BASE.json``
(an earlier ``--json``, e.g. from another checkout) lists the hazards labelled there and not
here, or later (each is an AT mine the machine would have met unmarked: must be 0), and the
false labels before and after. ``--set NAME=VALUE`` overrides a fusion parameter.

The last line is a JSON object: ``runs``, ``no_go_labels``, ``false_no_go_labels``,
``hazards`` (AT mines and UXO in the runs' truth), ``hazards_labelled``, and with
``--against`` ``hazards_lost``, ``hazards_later`` and ``false_no_go_labels_before``.
Reproduce: ``.venv/bin/python bench/missions.py --only 'rugged_terrain' --seeds 1
--record-fusion --out /tmp/rec`` then ``.venv/bin/python bench/fusion_replay.py
/tmp/rec/runs/*``.

The recording holds numbers, strings and byte strings only (no pickled classes): loading one
never runs code (:class:`_Plain`).
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import math
import os
import pickle
import sys
import time
import zlib
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..'))

from demining_bringup.contract.datatypes import Detection, DetectionKind  # noqa: E402
from demining_perception.fusion.core import FusionCore, FusionParams, no_go_rule  # noqa: E402

#: The recording's file name in a run folder.
RECORDING = 'fusion_calls.pkl'
#: Its layout (a recording of another version is refused with one line).
VERSION = 1
#: A no-go label within this of an AT mine or UXO labels it, m (bench/perception.py's halo
#: round a target, CEN CWA 14747-1:2003).
MATCH_RADIUS_M = 0.5
#: A hazard labelled this much later than in the base replay counts as later, s.
LATER_S = 1e-6
#: The kinds that make a no-go zone.
NO_GO = (DetectionKind.AT.name, DetectionKind.UXO.name)
#: The FusionCore methods a mission's fusion node calls that change its state.
_RECORDED = ('add', 'sweep', 'set_processed', 'update')


class RecordingError(ValueError):
    """A file that is not a fusion recording of this version."""


class FusionRecorder:
    """Records the state-changing calls on one :class:`FusionCore` (its instance methods are
    wrapped; the class is untouched, so other cores in the process are not recorded)."""

    def __init__(self, core: FusionCore) -> None:
        """Wrap ``core``'s recorded methods; its parameters and map bounds are kept now."""
        g = core.grid
        self.head = {'version': VERSION, 'params': dataclasses.asdict(core.params),
                     'grid': (g.origin_x, g.origin_y, g.width * g.resolution,
                              g.height * g.resolution),
                     'detection_fields': [f.name for f in dataclasses.fields(Detection)]}
        self.calls: List[Tuple[str, tuple]] = []
        for name in _RECORDED:
            setattr(core, name, self._wrap(name, getattr(core, name)))

    def _wrap(self, name: str, method: Callable) -> Callable:
        calls = self.calls

        def recorded(*args, **kwargs):
            calls.append((name, _plain_args(name, args, kwargs)))
            return method(*args, **kwargs)
        return recorded

    def save(self, path: str) -> str:
        """Write the recording to ``path`` (a temporary file renamed: never half a file)."""
        tmp = path + '.tmp'
        with open(tmp, 'wb') as f:
            pickle.dump(dict(self.head, calls=self.calls), f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
        return path


def _plain_args(name: str, args: tuple, kwargs: dict) -> tuple:
    """A call's arguments as numbers, strings and bytes (:func:`replay` undoes it)."""
    if name == 'add':
        dets = args[0] if args else kwargs['dets']
        stamp = args[1] if len(args) > 1 else kwargs['stamp']
        return (tuple(_det_row(d) for d in dets), float(stamp))
    if name == 'set_processed':
        cells = np.ascontiguousarray(args[0])
        rest = tuple(float(v) for v in args[1:4])
        value = kwargs.get('processed_value', args[4] if len(args) > 4 else None)
        return (zlib.compress(cells.tobytes(), 1), cells.shape, str(cells.dtype)) + rest + (
            None if value is None else int(value),)
    return tuple(float(v) for v in args) + tuple(float(v) for v in kwargs.values())


def _det_row(d: Detection) -> tuple:
    """A detection as its field values (the kind as its number)."""
    return tuple(int(v) if isinstance(v, DetectionKind) else v
                 for v in dataclasses.astuple(d))


class _Plain(pickle.Unpickler):
    """Unpickles plain data only: any class or function in the file is refused."""

    def find_class(self, module: str, name: str):
        raise RecordingError(f'it holds a {module}.{name}, not plain data')


def load(path: str) -> Dict[str, Any]:
    """Read a recording (:class:`RecordingError` when it is not one of this version)."""
    try:
        with open(path, 'rb') as f:
            data = _Plain(io.BytesIO(f.read())).load()
    except RecordingError as exc:
        raise RecordingError(f'{path}: not a fusion recording ({exc})') from None
    except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError) as exc:
        raise RecordingError(f'{path}: not a fusion recording ({exc})') from None
    if not isinstance(data, dict) or data.get('version') != VERSION:
        raise RecordingError(f'{path}: not a fusion recording of version {VERSION}')
    return data


def replay(data: Dict[str, Any], overrides: Optional[Dict[str, Any]] = None
           ) -> Tuple[Dict[int, Dict[str, Any]], FusionCore]:
    """Run a recording through a new :class:`FusionCore`: ({track id: its first no-go
    label}, the core). The recorded parameters apply (a field this checkout does not know
    is dropped, one the recording lacks keeps its default), then ``overrides``."""
    known = {f.name for f in dataclasses.fields(FusionParams)}
    kwargs = {k: v for k, v in data['params'].items() if k in known}
    kwargs.update(overrides or {})
    core = FusionCore(FusionParams(**kwargs), *data['grid'])
    fields = data['detection_fields']
    det_known = {f.name for f in dataclasses.fields(Detection)}
    labels: Dict[int, Dict[str, Any]] = {}
    for name, args in data['calls']:
        if name == 'add':
            rows, stamp = args
            dets = []
            for row in rows:
                values = {k: v for k, v in zip(fields, row) if k in det_known}
                values['kind'] = DetectionKind(values.get('kind', 0))
                dets.append(Detection(**values))
            core.add(dets, stamp)
        elif name == 'set_processed':
            blob, shape, dtype, ox, oy, res, value = args
            cells = np.frombuffer(zlib.decompress(blob), dtype=dtype).reshape(shape)
            core.set_processed(cells, ox, oy, res, processed_value=value)
        elif name == 'sweep':
            core.sweep(*args)
        elif name == 'update':
            now = args[0]
            core.update(now)
            for d in core.fused():
                if d.kind.name in NO_GO and d.id not in labels:
                    t = core.tracks.get(d.id)
                    labels[d.id] = {'t': now, 'x': d.x, 'y': d.y, 'kind': d.kind.name,
                                    'rule': no_go_rule(t, core.params) if t else ''}
        else:
            raise RecordingError(f'unknown call {name!r} in the recording')
    return labels, core


def truth_items(run_dir: str) -> List[Dict[str, Any]]:
    """The run's buried items (``truth.json``): kind, model, position where laid, depth."""
    path = os.path.join(run_dir, 'truth.json')
    with open(path, encoding='utf-8') as f:
        items = json.load(f)['items']
    # The simulator's truth names the depth as laid depth0 (now: depth); the record a mission
    # that ran out of time writes instead (demining_bringup's report) depth_m, without a model.
    return [{'kind': it['kind'], 'model': it.get('model') or '',
             'x': _first(it, 'x0', 'x'), 'y': _first(it, 'y0', 'y'),
             'depth': _first(it, 'depth0', 'depth', 'depth_m')} for it in items]


def _first(item: Dict[str, Any], *keys: str) -> Any:
    """The first of ``keys`` that ``item`` holds a value for (None: none)."""
    return next((item[k] for k in keys if item.get(k) is not None), None)


def score(labels: Dict[int, Dict[str, Any]], items: Sequence[Dict[str, Any]]
          ) -> Dict[str, Any]:
    """Each label on an AT mine or UXO (the nearest within :data:`MATCH_RADIUS_M`) or false;
    per hazard the time of its first label (None: never)."""
    hazards = [i for i, it in enumerate(items) if it['kind'] in NO_GO]
    first: Dict[int, float] = {}
    false = []
    for lab in sorted(labels.values(), key=lambda v: v['t']):
        near = min(((math.hypot(lab['x'] - it['x'], lab['y'] - it['y']), i)
                    for i, it in enumerate(items)), default=(math.inf, -1))
        if near[0] <= MATCH_RADIUS_M and items[near[1]]['kind'] in NO_GO:
            first.setdefault(near[1], lab['t'])
            continue
        under = items[near[1]] if near[0] <= MATCH_RADIUS_M else None
        depth = '' if under is None or under['depth'] is None else \
            f" {100 * under['depth']:.0f} cm"
        false.append(dict(lab, under=None if under is None else
                          f"{under['kind']} {under['model']}{depth}"))
    return {'labels': len(labels), 'false': false,
            'hazards': [dict(items[i], index=i, t=first.get(i)) for i in hazards]}


def compare(base: Dict[str, Any], now: Dict[str, Any]) -> Dict[str, List[str]]:
    """The hazards labelled in ``base`` and not in ``now`` (lost) or later (later)."""
    out: Dict[str, List[str]] = {'lost': [], 'later': []}
    for run, b in base.items():
        mine = {h['index']: h for h in now.get(run, {}).get('hazards', [])}
        for h in b['hazards']:
            if h['t'] is None:
                continue
            m = mine.get(h['index'])
            what = f"{run}: {h['kind']} {h['model']} at ({h['x']:.2f}, {h['y']:.2f})"
            if m is None or m['t'] is None:
                out['lost'].append(what)
            elif m['t'] > h['t'] + LATER_S:
                out['later'].append(f"{what}: {h['t']:.1f} -> {m['t']:.1f} s")
    return out


def _override(text: str) -> Tuple[str, Any]:
    """``NAME=VALUE`` as a FusionParams field and its typed value."""
    name, sep, value = text.partition('=')
    fields = {f.name: f for f in dataclasses.fields(FusionParams)}
    if not sep or name not in fields:
        raise argparse.ArgumentTypeError(f'--set {text!r}: NAME=VALUE with NAME a fusion '
                                         'parameter')
    kind = type(getattr(FusionParams(), name))
    try:
        return name, (value.lower() in ('1', 'true', 'yes') if kind is bool else kind(value))
    except ValueError:
        raise argparse.ArgumentTypeError(f'--set {text!r}: not a {kind.__name__}') from None


def main(argv: Optional[Sequence[str]] = None) -> int:
    """The command line (module docstring); exit 2 on a bad file or argument."""
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('runs', nargs='+', metavar='RUN_DIR',
                    help='run folders of bench/missions.py --record-fusion')
    ap.add_argument('--set', dest='overrides', action='append', type=_override, default=[],
                    metavar='NAME=VALUE', help='override a fusion parameter (repeatable)')
    ap.add_argument('--json', metavar='OUT', help='write the per-run scores here')
    ap.add_argument('--against', metavar='BASE.json',
                    help='an earlier --json: hazards lost or labelled later, false labels')
    ns = ap.parse_args(argv)
    base = None
    if ns.against:
        try:
            with open(ns.against, encoding='utf-8') as f:
                base = json.load(f)
        except (OSError, ValueError) as exc:
            print(f'error: --against {ns.against}: {exc}', file=sys.stderr)
            return 2
    results: Dict[str, Any] = {}
    for k, run in enumerate(ns.runs, 1):
        t0 = time.perf_counter()
        try:
            data = load(os.path.join(run, RECORDING))
            items = truth_items(run)
        except (RecordingError, OSError, ValueError, KeyError) as exc:
            print(f'error: {run}: {exc}', file=sys.stderr)
            return 2
        labels, _ = replay(data, dict(ns.overrides))
        name = os.path.basename(os.path.normpath(run))
        results[name] = score(labels, items)
        r = results[name]
        print(f'[{k}/{len(ns.runs)}] {name}: {r["labels"]} no-go label(s), '
              f'{len(r["false"])} false, {sum(h["t"] is not None for h in r["hazards"])} of '
              f'{len(r["hazards"])} hazards labelled ({time.perf_counter() - t0:.1f} s)',
              flush=True)
    summary: Dict[str, Any] = {
        'runs': len(results),
        'no_go_labels': sum(r['labels'] for r in results.values()),
        'false_no_go_labels': sum(len(r['false']) for r in results.values()),
        'hazards': sum(len(r['hazards']) for r in results.values()),
        'hazards_labelled': sum(h['t'] is not None for r in results.values()
                                for h in r['hazards'])}
    if base is not None:
        diff = compare({k: v for k, v in base.items() if k in results}, results)
        for what in diff['lost']:
            print(f'LOST {what}')
        for what in diff['later']:
            print(f'LATER {what}')
        summary.update(hazards_lost=len(diff['lost']), hazards_later=len(diff['later']),
                       false_no_go_labels_before=sum(len(base[k]['false']) for k in results
                                                     if k in base))
    if ns.json:
        with open(ns.json, 'w', encoding='utf-8') as f:
            json.dump(results, f, indent=1)
    print(json.dumps(summary))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
