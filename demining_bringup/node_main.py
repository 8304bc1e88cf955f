"""The ``main`` every node module shares: init, construct, spin, and a clean shutdown.

Configuration problems (bad parameters, a missing or malformed world) end the process with a
one-line error and exit code 2, never a traceback; other exceptions propagate.
"""

from __future__ import annotations

import sys
from typing import Callable, List, Optional

import rclpy
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node

from demining_bringup.errors import CONFIG_ERRORS, EXIT_CONFIG_ERROR, EXIT_OK


def run_node(node_factory: Callable[..., Node], args: Optional[List[str]] = None) -> int:
    """Run one node until shutdown; return the process exit code."""
    rclpy.init(args=args)
    node = None
    try:
        node = node_factory()
        executor = SingleThreadedExecutor()
        executor.add_node(node)
        executor.spin()
    except CONFIG_ERRORS as exc:
        name = getattr(node_factory, '__name__', 'node')
        sys.stderr.write(f'error: {name}: {exc}\n')
        return EXIT_CONFIG_ERROR
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            node.destroy_node()
        if rclpy.ok():
            rclpy.try_shutdown()
    return EXIT_OK
