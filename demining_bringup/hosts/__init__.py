"""The two hosts of the component model and the lifecycle manager both use.

:mod:`.runtime` is what both hosts share (lifecycle state, gating, dispatch), :mod:`.ros` makes
a component an ``rclpy.lifecycle`` node, :mod:`.deterministic` steps components on the
simulator clock without DDS, :mod:`.lifecycle` orders their transitions as Nav2's lifecycle
manager does.
"""
