"""Node ``gpr_processor``: /gpr/traces + /localization/odometry -> /gpr/detections."""

from __future__ import annotations

import dataclasses
from typing import List, Optional

from demining_bringup.contract import topics
from demining_bringup.contract.component import Port
from demining_perception.gpr.processing import GprParams, GprProcessor
from demining_perception.scan_detector_node import (POSE_PORT, PoseWaitParams,
                                                    ScanDetectorComponent)


@dataclasses.dataclass(frozen=True)
class GprProcessorConfig(GprParams, PoseWaitParams):
    """Node parameters: the processor's plus how long a scan waits for its poses."""


class GprProcessorComponent(ScanDetectorComponent):
    """GPR trace batches (:class:`GprScan`) + poses -> GPR detections, by :class:`GprProcessor`."""

    name = 'gpr_processor'
    params = GprProcessorConfig
    inputs = {'scan': Port(topics.GPR_TRACES), 'pose': POSE_PORT}
    outputs = {'detections': Port(topics.GPR_DETECTIONS)}
    core_type = GprProcessor
    input_label = 'GPR traces'
    no_pose_counter = 'traces_no_pose'


def main(args: Optional[List[str]] = None) -> int:
    """Run the node (a lifecycle node hosting :class:`GprProcessorComponent`)."""
    from demining_bringup.hosts.ros import run_component
    return run_component(GprProcessorComponent, args)


if __name__ == '__main__':
    raise SystemExit(main())
