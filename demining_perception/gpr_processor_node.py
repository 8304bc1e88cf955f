"""Node ``gpr_processor``: /gpr/traces + /localization/odometry -> /gpr/detections."""

from __future__ import annotations

import dataclasses
from typing import List, Optional, Tuple

from demining_bringup.contract import topics
from demining_bringup.contract.component import Port
from demining_bringup.contract.datatypes import GprScan, SoilPermittivity
from demining_perception.gpr.processing import GprParams, GprProcessor
from demining_perception.scan_detector_node import (POSE_PORT, PoseWaitParams,
                                                    ScanDetectorComponent)


@dataclasses.dataclass(frozen=True)
class GprProcessorConfig(GprParams, PoseWaitParams):
    """Node parameters: the processor's plus how long a scan waits for its poses."""


class GprProcessorComponent(ScanDetectorComponent):
    """GPR trace batches (:class:`GprScan`) + poses -> GPR detections, by :class:`GprProcessor`;
    and the soil permittivity it uses (latched, at activation and whenever it or its estimate
    moves), which sets every depth it reports: the mission's record keeps it."""

    name = 'gpr_processor'
    params = GprProcessorConfig
    inputs = {'scan': Port(topics.GPR_TRACES), 'pose': POSE_PORT}
    outputs = {'detections': Port(topics.GPR_DETECTIONS),
               'permittivity': Port(topics.GPR_PERMITTIVITY)}
    core_type = GprProcessor
    input_label = 'GPR traces'
    no_pose_counter = 'traces_no_pose'

    def on_configure(self, params: GprProcessorConfig) -> None:
        """The base's; nothing published of the permittivity yet."""
        super().on_configure(params)
        self._prior = params.soil_permittivity
        #: (in use, fits) last published (None: nothing yet).
        self._told: Optional[Tuple[float, int]] = None

    def on_activate(self, now: float) -> None:
        """Start processing; publish the permittivity in use (the prior, at first)."""
        super().on_activate(now)
        self._told = None
        self._tell_permittivity(now)

    def _process(self, scan: GprScan) -> None:
        super()._process(scan)
        self._tell_permittivity(scan.stamp)

    def _tell_permittivity(self, stamp: float) -> None:
        """Publish the permittivity when it or the fits behind its estimate changed."""
        core = self.core
        now = (core.permittivity, core.stats.velocity_fits)
        if now == self._told:
            return
        self._told = now
        self.emit('permittivity', SoilPermittivity(
            stamp=stamp, in_use=now[0], prior=self._prior,
            estimate=core.permittivity_estimate[0], fits=now[1],
            estimated=core.permittivity_estimated))


def main(args: Optional[List[str]] = None) -> int:
    """Run the node (a lifecycle node hosting :class:`GprProcessorComponent`)."""
    from demining_bringup.hosts.ros import run_component
    return run_component(GprProcessorComponent, args)


if __name__ == '__main__':
    raise SystemExit(main())
