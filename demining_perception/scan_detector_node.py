"""The shared shape of the two sensor-processing components (GPR and metal detector).

Both take batched raw scans in ``base_link`` plus ``/localization/odometry``, buffer poses,
run a streaming detector core and emit raw detections in ``map``. Subclasses name the ports,
the parameter schema and the core; nothing here knows GPR from MD. No rclpy: the hosts wire
the ports.

A scan is processed once the poses cover its newest reading, as tf2's MessageFilter holds a
message until its transform is available: the localisation publishes a little after the
sensors (one control tick, more on a loaded machine), and placing readings by dead reckoning
or dropping them would make detections depend on delivery timing. A scan still uncovered
``pose_wait_s`` after it arrived is processed with what there is (the core dead-reckons a
little and counts the readings it cannot place).
"""

from __future__ import annotations

import collections
import dataclasses
from typing import Any, Callable, ClassVar, Deque, List, Optional, Tuple

from demining_bringup.contract import topics
from demining_bringup.contract.component import Component, Port, Status
from demining_bringup.contract.datatypes import Detection, Detections, VehicleState
from demining_bringup.contract.parameters import param
from demining_perception.input_monitor import InputMonitor
from demining_perception.pose_buffer import PoseBuffer

#: Throttle of the "readings without a pose" warning, s (it repeats every batch until
#: localisation publishes).
_LOG_THROTTLE_S = 5.0
#: The input port of the vehicle poses, the same for both sensors.
POSE_PORT = Port(topics.LOCALIZATION)
#: Scans held at most while waiting for poses (bounded memory if localisation stops).
_MAX_PENDING_SCANS = 100


@dataclasses.dataclass(frozen=True)
class PoseWaitParams:
    """How long a scan waits for the poses that place it (both processors)."""

    pose_wait_s: float = param(
        1.0, 'a scan waits at most this long for a pose at or after its newest reading, s',
        min=0.0, max=10.0)


class ScanDetectorComponent(Component):
    """Scans + poses -> detections; subclasses set the class attributes below.

    Ports: inputs ``scan`` (the sensor's batches) and ``pose`` (``POSE_PORT``), output
    ``detections`` (:class:`Detections` stamped with the scan's stamp, emitted only when the
    batch produced detections).
    """

    #: Builds the streaming detector from the validated parameters.
    core_type: ClassVar[Callable[[Any], Any]]
    #: Diagnostics key and log wording of the scan input, e.g. 'GPR traces'.
    input_label: ClassVar[str]
    #: The core's stats field counting readings without a pose at their time.
    no_pose_counter: ClassVar[str]

    def on_configure(self, params: Any) -> None:
        """Create the detector core, the pose buffer and the input monitor."""
        self.core = type(self).core_type(params)
        self.poses = PoseBuffer(history_s=params.pose_history_s,
                                max_extrapolation_s=params.max_pose_extrapolation_s)
        self.monitor = InputMonitor()
        self.monitor.expect(self.input_label, 'pose')
        self._active = False
        self._wait_s = params.pose_wait_s
        #: Scans waiting for poses, with their arrival time, oldest first.
        self._pending: Deque[Tuple[Any, float]] = collections.deque()

    def on_activate(self, now: float) -> None:
        """Start processing scans."""
        self._active = True

    def on_deactivate(self, now: float) -> None:
        """Stop processing scans (poses are still buffered)."""
        self._active = False

    def on_cleanup(self) -> None:
        """Drop the core and the poses."""
        self.core = None
        self.poses = PoseBuffer()
        self._pending.clear()

    def on_pose(self, state: VehicleState, now: float) -> None:
        """Buffer a pose (the buffer refuses non-finite and out-of-order ones)."""
        self.poses.add(state)
        self.monitor.tick('pose', now)
        self._process_ready(now)

    def on_scan(self, scan: Any, now: float) -> None:
        """Queue the batch; process every queued batch the poses now cover."""
        self.monitor.tick(self.input_label, now)
        if not self._active:
            # The streaming detector reports an object once: a detection found while the
            # outputs are closed would be lost, so inactive means "not processing" too.
            return
        if len(self._pending) >= _MAX_PENDING_SCANS:
            self._process(self._pending.popleft()[0])
        self._pending.append((scan, now))
        self._process_ready(now)

    def _process_ready(self, now: float) -> None:
        """Process, in order, the queued scans covered by poses or waiting too long."""
        while self._pending:
            scan, arrived = self._pending[0]
            covered = len(self.poses) > 0 and self.poses.latest_stamp >= scan.stamp
            if not covered and now - arrived < self._wait_s:
                return
            self._pending.popleft()
            self._process(scan)

    def end_of_scan(self) -> None:
        """Process every waiting scan, then have a core that can (``flush``) decide what
        still waits for traces ahead: the end of a recording replayed offline, where no
        more scans come."""
        self._process_ready(float('inf'))
        flush = getattr(self.core, 'flush', None)
        if flush is None:
            return
        self._emit(flush(), self.poses.latest_stamp)

    def _process(self, scan: Any) -> None:
        no_pose = getattr(self.core.stats, self.no_pose_counter)
        dets = self.core.process(scan, self.poses)
        if getattr(self.core.stats, self.no_pose_counter) > no_pose:
            self.log.warning(f'{self.input_label} without a pose at their time are dropped',
                             throttle_s=_LOG_THROTTLE_S)
        self._emit(dets, scan.stamp)

    def _emit(self, dets: List[Detection], stamp: float) -> None:
        """Emit ``dets`` (if any) stamped ``stamp``, each with the pose uncertainty there:
        the fusion widens its association gate and map footprint by it."""
        if dets:
            sigma = self.poses.position_sigma(stamp)
            for d in dets:
                d.sigma_xy = sigma
            self.emit('detections', Detections(stamp, dets))

    def diagnostics(self, now: float) -> Optional[Status]:
        """Inputs (rate, age) and the detector's counters."""
        level, message, values = self.monitor.report(now)
        values.update({k: str(v) for k, v in dataclasses.asdict(self.core.stats).items()})
        return level, message, values


__all__ = ['POSE_PORT', 'ScanDetectorComponent']
