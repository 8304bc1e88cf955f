"""Parameters as a typed schema with ranges, in the spirit of generate_parameter_library.

A core declares its parameters once, as a frozen dataclass whose fields are built with
:func:`param`. The same schema is used

* by the node adapters (``demining_bringup.hosts.ros_params``) to declare ROS parameters with
  descriptors (description, range, read-only) and read them back into the dataclass;
* by the CLI to validate a vehicle profile YAML before anything starts;
* by the cores and tests directly, with plain keyword arguments.

This module has no rclpy import on purpose: it is shared by pure cores.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple, Type, TypeVar

T = TypeVar('T')

_META_KEY = 'demining_param'


class ParamError(ValueError):
    """A parameter value or a parameter file does not fit its schema."""


@dataclasses.dataclass(frozen=True)
class ParamSpec:
    """What the schema says about one parameter."""

    name: str
    type: type
    default: Any
    description: str
    min: Optional[float] = None
    max: Optional[float] = None
    read_only: bool = False
    choices: Optional[Tuple[Any, ...]] = None
    item_type: Optional[type] = None


def param(default: Any, description: str, *, min: Optional[float] = None,
          max: Optional[float] = None, read_only: bool = False,
          choices: Optional[Sequence[Any]] = None) -> Any:
    """Build a dataclass field that carries a parameter's descriptor.

    :param default: default value; lists are copied per instance.
    :param description: one line shown by ``ros2 param describe``.
    :param min: inclusive lower bound (numbers, and each item of a number list).
    :param max: inclusive upper bound.
    :param read_only: the value can only be set at start-up.
    :param choices: the allowed values of a string parameter.
    """
    meta = {_META_KEY: dict(description=description, min=min, max=max,
                            read_only=read_only,
                            choices=tuple(choices) if choices is not None else None)}
    if isinstance(default, (list, dict)):
        return dataclasses.field(default_factory=lambda d=default: list(d) if isinstance(
            d, list) else dict(d), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def _resolve_type(tp: Any) -> Tuple[type, Optional[type]]:
    origin = typing.get_origin(tp)
    if origin in (list, tuple, Sequence):
        args = typing.get_args(tp)
        return list, (args[0] if args else float)
    return tp, None


def schema_of(cls: Type[Any]) -> Dict[str, ParamSpec]:
    """Return the parameter specs of a schema dataclass, by name, in declaration order."""
    hints = typing.get_type_hints(cls)
    specs: Dict[str, ParamSpec] = {}
    for f in dataclasses.fields(cls):
        meta = f.metadata.get(_META_KEY)
        if meta is None:
            continue
        tp, item = _resolve_type(hints[f.name])
        if f.default is not dataclasses.MISSING:
            default = f.default
        else:
            default = f.default_factory()  # type: ignore[misc]
        specs[f.name] = ParamSpec(name=f.name, type=tp, default=default, item_type=item, **meta)
    return specs


def _check_number(where: str, value: Any, spec: ParamSpec, want: type,
                  strict: bool = False) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParamError(f'{where}: expected {want.__name__}, got {value!r}')
    if strict and want is float and isinstance(value, int):
        # ROS 2 refuses an integer for a double parameter: say so before launch does.
        raise ParamError(f'{where}: expected a floating-point value, write {value}.0')
    if strict and want is int and isinstance(value, float):
        raise ParamError(f'{where}: expected an integer, got {value!r}')
    if want is int:
        if isinstance(value, float):
            if not value.is_integer():
                raise ParamError(f'{where}: expected an integer, got {value!r}')
            value = int(value)
    else:
        value = float(value)
        if not math.isfinite(value):
            raise ParamError(f'{where}: must be finite, got {value!r}')
    if spec.min is not None and value < spec.min:
        raise ParamError(f'{where}: {value!r} is below the minimum {spec.min}')
    if spec.max is not None and value > spec.max:
        raise ParamError(f'{where}: {value!r} is above the maximum {spec.max}')
    return value


def check_value(spec: ParamSpec, value: Any, *, where: str = '', strict: bool = False) -> Any:
    """Validate and normalise one value against its spec; raise :class:`ParamError`.

    :param strict: refuse what ROS 2 refuses (an integer for a double), as a YAML check.
    """
    where = where or spec.name
    if spec.type is bool:
        if not isinstance(value, bool):
            raise ParamError(f'{where}: expected true or false, got {value!r}')
        return value
    if spec.type in (int, float):
        return _check_number(where, value, spec, spec.type, strict)
    if spec.type is str:
        if not isinstance(value, str):
            raise ParamError(f'{where}: expected a string, got {value!r}')
        if spec.choices is not None and value not in spec.choices:
            raise ParamError(f'{where}: {value!r} is not one of {list(spec.choices)}')
        return value
    if spec.type is list:
        if not isinstance(value, (list, tuple)):
            raise ParamError(f'{where}: expected a list, got {value!r}')
        item = spec.item_type or float
        out = []
        for i, v in enumerate(value):
            if item in (int, float):
                out.append(_check_number(f'{where}[{i}]', v, spec, item, strict))
            elif item is str:
                if not isinstance(v, str):
                    raise ParamError(f'{where}[{i}]: expected a string, got {v!r}')
                out.append(v)
            else:
                out.append(v)
        return out
    return value


def from_dict(cls: Type[T], values: Optional[Mapping[str, Any]] = None, *,
              where: str = '', allow_unknown: bool = False, strict: bool = False) -> T:
    """Build a schema dataclass from a mapping, validating names, types and ranges.

    :param where: a prefix for error messages, such as the node name.
    :param allow_unknown: ignore keys the schema does not know (ROS adds ``use_sim_time``).
    :param strict: refuse what ROS 2 refuses (an integer for a double), as a YAML check.
    :raises ParamError: on the first value that does not fit.
    """
    values = dict(values or {})
    specs = schema_of(cls)
    prefix = f'{where}.' if where else ''
    unknown = sorted(set(values) - set(specs))
    if unknown and not allow_unknown:
        raise ParamError(f'{prefix}{unknown[0]}: unknown parameter (known: '
                         f'{", ".join(specs)})')
    kwargs = {name: check_value(spec, values[name], where=prefix + name, strict=strict)
              for name, spec in specs.items() if name in values}
    try:
        return cls(**kwargs)
    except ParamError as exc:
        raise ParamError(f'{prefix}{exc}') from None
    except (TypeError, ValueError) as exc:
        raise ParamError(f'{prefix}{exc}') from None


def to_dict(obj: Any) -> Dict[str, Any]:
    """Return the parameter values of a schema dataclass instance."""
    return {name: getattr(obj, name) for name in schema_of(type(obj))}
