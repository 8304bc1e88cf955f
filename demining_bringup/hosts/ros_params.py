"""Declare a schema dataclass as ROS parameters with descriptors and read it back, validated.

The node-side half of :mod:`demining_bringup.contract.parameters`: ranges become
``FloatingPointRange``/``IntegerRange`` so ``ros2 param describe`` shows them, and the values
are read into the typed dataclass the core consumes.
"""

from __future__ import annotations

from typing import Any, Type, TypeVar

from rcl_interfaces.msg import (FloatingPointRange, IntegerRange, ParameterDescriptor,
                                ParameterType)
from rclpy.exceptions import ParameterException
from rclpy.node import Node
from rclpy.parameter import Parameter

from demining_bringup.contract.parameters import ParamError, ParamSpec, from_dict, schema_of

T = TypeVar('T')

_LIST_TYPES = {float: ParameterType.PARAMETER_DOUBLE_ARRAY,
               int: ParameterType.PARAMETER_INTEGER_ARRAY,
               str: ParameterType.PARAMETER_STRING_ARRAY,
               bool: ParameterType.PARAMETER_BOOL_ARRAY}
_SCALAR_TYPES = {float: ParameterType.PARAMETER_DOUBLE, int: ParameterType.PARAMETER_INTEGER,
                 str: ParameterType.PARAMETER_STRING, bool: ParameterType.PARAMETER_BOOL}


def descriptor_for(spec: ParamSpec) -> ParameterDescriptor:
    """Return the ParameterDescriptor of one schema entry."""
    if spec.type is list:
        ptype = _LIST_TYPES.get(spec.item_type or float, ParameterType.PARAMETER_DOUBLE_ARRAY)
    else:
        ptype = _SCALAR_TYPES.get(spec.type, ParameterType.PARAMETER_NOT_SET)
    desc = ParameterDescriptor(name=spec.name, type=ptype, description=spec.description,
                               read_only=spec.read_only)
    if spec.choices:
        desc.additional_constraints = 'one of: ' + ', '.join(map(str, spec.choices))
    numeric = spec.item_type if spec.type is list else spec.type
    if spec.min is not None and spec.max is not None and spec.type is not list:
        if numeric is float:
            desc.floating_point_range = [FloatingPointRange(
                from_value=float(spec.min), to_value=float(spec.max), step=0.0)]
        elif numeric is int:
            desc.integer_range = [IntegerRange(from_value=int(spec.min),
                                               to_value=int(spec.max), step=1)]
    elif spec.min is not None or spec.max is not None:
        desc.additional_constraints = (desc.additional_constraints + ' ' if
                                       desc.additional_constraints else '') + \
            f'range [{spec.min}, {spec.max}]'
    return desc


def _ros_default(spec: ParamSpec) -> Any:
    if spec.type is float:
        return float(spec.default)
    if spec.type is list:
        item = spec.item_type or float
        return [item(v) for v in spec.default]
    return spec.default


def declare_parameters(node: Node, schema: Type[T]) -> T:
    """Declare every schema field on ``node`` and return the validated dataclass.

    :raises ParamError: when an override (YAML, command line) does not fit the schema.
    """
    specs = schema_of(schema)
    values = {}
    for name, spec in specs.items():
        try:
            if spec.type is list and not spec.default:
                # An empty list has no type for rclpy: declare the type explicitly.
                desc = descriptor_for(spec)
                p = node.declare_parameter(name, Parameter.Type(desc.type), desc)
            else:
                p = node.declare_parameter(name, _ros_default(spec), descriptor_for(spec))
        except ParameterException as exc:
            raise ParamError(f'{node.get_name()}.{name}: {exc}') from None
        except (TypeError, ValueError) as exc:
            raise ParamError(f'{node.get_name()}.{name}: {exc}') from None
        value = p.value
        if value is None and spec.type is list:
            value = []
        if spec.type is list and value is not None:
            value = list(value)
        values[name] = value
    return from_dict(schema, values, where=node.get_name())
