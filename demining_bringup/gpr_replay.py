"""``demine gpr`` on the stack's own recordings (``demine run --record``: ``mission.mcap``).

The recording's ``/gpr/traces`` batches of every channel and its ``/localization/odometry``
poses, in the order recorded, go through the GPR processor node's own component
(:class:`~demining_perception.gpr_processor_node.GprProcessorComponent`, hosted on a
:class:`~demining_bringup.hosts.runtime.ComponentRuntime` as the deterministic host hosts it),
and the scan is ended (:meth:`~demining_perception.scan_detector_node.ScanDetectorComponent.
end_of_scan`): the online chain's picks with the poses it had, in the ``map`` frame. The
JSON is the files' layout (:mod:`demining_perception.offline`) with ``"frame": "map"`` and
each pick's ``y``; the B-scan image is the ``--channel`` antenna's along its path. The
composition layer hosts the component, so this lives here and not beside the file readers.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
from typing import Any, Dict, List, Optional

import numpy as np

from demining_bringup.contract import topics
from demining_bringup.contract.datatypes import Detection, VehicleState
from demining_bringup.contract.errors import ConfigError
from demining_bringup.hosts.runtime import ComponentRuntime, RecordingLog
from demining_bringup.recording import iter_values
from demining_perception.gpr.processing import GprParams, GprProcessor
from demining_perception.gpr_processor_node import GprProcessorComponent
from demining_perception.offline import (MIN_TRACES, BScan, permittivity_arg, pick_entry,
                                         render_png, write_result)
from demining_perception.pose_buffer import PoseBuffer


#: File name ending of the stack's own recordings.
RECORDING_SUFFIX = '.mcap'


@dataclasses.dataclass
class Replay:
    """A recording replayed through the GPR processor node's component (``map`` frame)."""

    path: str
    #: Traces of every channel in the recording.
    traces: int
    detections: List[Detection]
    processor: GprProcessor
    #: The chosen channel's B-scan along its antenna's path (``x``: metres along it).
    bscan: BScan
    #: Map x, y of the B-scan's traces (N x 2).
    path_xy: np.ndarray


def replay_recording(path: str, params: GprParams, channel: int = 0) -> Replay:
    """Replay a recording's GPR batches and poses through the node's component (module
    docstring) and end the scan; keep ``channel``'s traces for the B-scan.

    :raises ConfigError: not a readable recording, no poses, or fewer than
        :data:`MIN_TRACES` traces of ``channel``.
    """
    dets: List[Detection] = []

    def sink(port: str, value: Any) -> None:
        if port == 'detections':
            dets.extend(value.items)

    runtime = ComponentRuntime(GprProcessorComponent, sink=sink, log=RecordingLog())
    runtime.configure(dataclasses.asdict(params))
    runtime.activate(0.0)
    poses: List[VehicleState] = []
    rows: List[np.ndarray] = []
    times: List[np.ndarray] = []
    at: List[np.ndarray] = []
    dt_ns = math.nan
    n = 0
    for topic, stamp, value in iter_values(path, (topics.GPR_TRACES, topics.LOCALIZATION)):
        if topic == topics.LOCALIZATION:
            poses.append(value)
            runtime.deliver('pose', value, stamp)
            continue
        amps = np.asarray(value.amplitudes)
        n += len(amps)
        mine = np.asarray(value.channels) == channel
        if np.any(mine) and np.isfinite(amps[mine]).all():
            rows.append(amps[mine])
            times.append(value.stamp + np.asarray(value.time_offsets)[mine])
            at.append(np.asarray(value.positions)[mine])
            dt_ns = float(value.sample_interval_ns)
        runtime.deliver('scan', value, stamp)
    if not poses:
        raise ConfigError(f'{path}: no poses ({topics.LOCALIZATION}) in the recording')
    got = sum(len(r) for r in rows)
    if got < MIN_TRACES:
        raise ConfigError(f'{path}: {got} GPR traces of channel {channel} '
                          f'({topics.GPR_TRACES}), at least {MIN_TRACES} needed')
    runtime.component.end_of_scan()
    # the channel's antenna along the path it took (every pose kept)
    track = PoseBuffer(history_s=math.inf, capacity=len(poses) + 1)
    for pose in poses:
        track.add(pose)
    xy, valid = track.to_map(np.concatenate(at), np.concatenate(times))
    traces = np.concatenate(rows)[valid]
    xy = xy[valid]
    along = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(xy, axis=0).T))])
    return Replay(path=path, traces=n, detections=dets, processor=runtime.component.core,
                  bscan=BScan(path=path, traces=traces, dt_ns=dt_ns, x=along), path_xy=xy)


def _recording_params(permittivity: Any, antenna_height_m: Optional[float]) -> GprParams:
    """The online processor's parameters, with the permittivity (``'auto'``: estimated as
    online with ``estimate_permittivity``) and antenna height given."""
    kw: Dict[str, Any] = {}
    if antenna_height_m is not None:
        kw['antenna_height_m'] = antenna_height_m
    if permittivity == 'auto':
        kw['estimate_permittivity'] = True
    else:
        kw.update(estimate_permittivity=False, soil_permittivity=float(permittivity))
    return dataclasses.replace(GprParams(), **kw)


def recording_result(replay: Replay) -> Dict[str, Any]:
    """The JSON object of a recording: the file layout, in the ``map`` frame (``x``, ``y``).
    """
    eps = replay.processor.permittivity
    out = [pick_entry(d, eps) for d in sorted(replay.detections, key=lambda d: (d.x, d.y))]
    return {'file': replay.path, 'frame': 'map', 'traces': replay.traces, 'detections': out}


#: A recording's picks within this of the B-scan channel's path are drawn on its image, m
#: (half the simulator's 25 cm channel pitch: the picks that channel saw best).
_DRAWN_NEAR_M = 0.125


def _picks_along(replay: Replay) -> List[Detection]:
    """The picks near the B-scan channel's path, placed at the distance along it."""
    xy = replay.path_xy
    out = []
    for d in replay.detections:
        dist = np.hypot(xy[:, 0] - d.x, xy[:, 1] - d.y)
        j = int(np.argmin(dist))
        if dist[j] <= _DRAWN_NEAR_M:
            out.append(dataclasses.replace(d, x=float(replay.bscan.x[j])))
    return out


def is_recording(files: List[str]) -> bool:
    """Whether ``demine gpr`` was given a recording (by its name)."""
    return any(f.lower().endswith(RECORDING_SUFFIX) for f in files)


def run(ns: argparse.Namespace) -> int:
    """``demine gpr`` on a recording: replay it; print and write the picks (``map`` frame)."""
    perm = permittivity_arg(ns.permittivity)
    if len(ns.files) != 1:
        raise ConfigError('give one recording at a time')
    if not os.path.isfile(ns.files[0]):
        raise ConfigError(f'{ns.files[0]}: no such file')
    params = _recording_params(perm, ns.antenna_height)
    replay = replay_recording(ns.files[0], params, ns.channel)
    if ns.png:
        render_png(replay.bscan, _picks_along(replay), dataclasses.replace(
            params, soil_permittivity=replay.processor.permittivity), ns.png,
            xlabel=f'metres along channel {ns.channel}\'s path')
    write_result(recording_result(replay), ns.json)
    return 0


__all__ = ['RECORDING_SUFFIX', 'Replay', 'is_recording', 'recording_result',
           'replay_recording', 'run']
