"""Node ``md_processor``: /metal_detector/coils + /localization/odometry -> MD detections."""

from __future__ import annotations

import dataclasses
from typing import List, Optional

from demining_bringup.contract import topics
from demining_bringup.contract.component import Port
from demining_perception.metal_detector.processing import MdParams, MdProcessor
from demining_perception.scan_detector_node import (POSE_PORT, PoseWaitParams,
                                                    ScanDetectorComponent)


@dataclasses.dataclass(frozen=True)
class MdProcessorConfig(MdParams, PoseWaitParams):
    """Node parameters: the processor's plus how long a scan waits for its poses."""


class MdProcessorComponent(ScanDetectorComponent):
    """Coil reading batches (:class:`MdScan`) + poses -> MD detections, by :class:`MdProcessor`."""

    name = 'md_processor'
    params = MdProcessorConfig
    inputs = {'scan': Port(topics.MD_COILS), 'pose': POSE_PORT}
    outputs = {'detections': Port(topics.MD_DETECTIONS)}
    core_type = MdProcessor
    input_label = 'MD readings'
    no_pose_counter = 'readings_no_pose'


def main(args: Optional[List[str]] = None) -> int:
    """Run the node (a lifecycle node hosting :class:`MdProcessorComponent`)."""
    from demining_bringup.hosts.ros import run_component
    return run_component(MdProcessorComponent, args)


if __name__ == '__main__':
    raise SystemExit(main())
