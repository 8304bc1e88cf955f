"""Node ``md_processor``: /metal_detector/coils + /localization/odometry -> MD detections."""

from __future__ import annotations

from demining_bringup import codec, topics
from demining_bringup.node_main import run_node
from demining_perception.metal_detector.processing import MdParams, MdProcessor
from demining_perception.scan_detector_node import ScanDetectorNode


class MdProcessorNode(ScanDetectorNode):
    """Thin adapter around :class:`MdProcessor`."""

    node_name = 'md_processor'
    params_type = MdParams
    core_type = MdProcessor
    decode = staticmethod(codec.decode_md_scan)
    input_topic = topics.MD_COILS
    output_topic = topics.MD_DETECTIONS
    input_label = 'MD readings'
    no_pose_counter = 'readings_no_pose'


def main(args=None) -> int:
    """Run the node."""
    return run_node(MdProcessorNode, args)


if __name__ == '__main__':
    raise SystemExit(main())
