"""Node ``gpr_processor``: /gpr/traces + /localization/odometry -> /gpr/detections."""

from __future__ import annotations

from demining_bringup import codec, topics
from demining_bringup.node_main import run_node
from demining_perception.gpr.processing import GprParams, GprProcessor
from demining_perception.scan_detector_node import ScanDetectorNode


class GprProcessorNode(ScanDetectorNode):
    """Thin adapter around :class:`GprProcessor`."""

    node_name = 'gpr_processor'
    params_type = GprParams
    core_type = GprProcessor
    decode = staticmethod(codec.decode_gpr_scan)
    input_topic = topics.GPR_TRACES
    output_topic = topics.GPR_DETECTIONS
    input_label = 'GPR traces'
    no_pose_counter = 'traces_no_pose'


def main(args=None) -> int:
    """Run the node."""
    return run_node(GprProcessorNode, args)


if __name__ == '__main__':
    raise SystemExit(main())
