"""Tests of the pure parameter schema."""

import dataclasses
from typing import List

import pytest

from demining_bringup.contract.parameters import ParamError, from_dict, param, schema_of, to_dict


@dataclasses.dataclass(frozen=True)
class Example:
    speed_mps: float = param(0.4, 'forward speed', min=0.0, max=2.0)
    lanes: int = param(3, 'lane count', min=1, max=100)
    mode: str = param('auto', 'mode', choices=['auto', 'manual'])
    offsets: List[float] = param([0.0, 1.0], 'offsets', min=-5.0, max=5.0)
    enabled: bool = param(True, 'switch', read_only=True)

    def __post_init__(self):
        if self.lanes > 50 and self.speed_mps > 1.0:
            raise ParamError('too many lanes at that speed')


def test_schema_lists_every_field_with_its_descriptor():
    specs = schema_of(Example)
    assert list(specs) == ['speed_mps', 'lanes', 'mode', 'offsets', 'enabled']
    assert specs['speed_mps'].min == 0.0 and specs['speed_mps'].max == 2.0
    assert specs['offsets'].type is list and specs['offsets'].item_type is float
    assert specs['enabled'].read_only
    assert specs['mode'].choices == ('auto', 'manual')


def test_from_dict_normalises_and_keeps_defaults():
    p = from_dict(Example, {'speed_mps': 1, 'offsets': [1, 2]})
    assert p.speed_mps == 1.0 and isinstance(p.speed_mps, float)
    assert p.offsets == [1.0, 2.0]
    assert p.lanes == 3
    assert to_dict(p)['mode'] == 'auto'


def test_list_defaults_are_not_shared():
    a, b = Example(), Example()
    a.offsets.append(9.0)
    assert b.offsets == [0.0, 1.0]


@pytest.mark.parametrize('values, fragment', [
    ({'speed_mps': 3.0}, 'above the maximum'),
    ({'speed_mps': -0.1}, 'below the minimum'),
    ({'speed_mps': float('nan')}, 'finite'),
    ({'speed_mps': 'fast'}, 'expected float'),
    ({'lanes': 2.5}, 'integer'),
    ({'mode': 'turbo'}, 'not one of'),
    ({'offsets': [0.0, 9.0]}, 'offsets[1]'),
    ({'enabled': 'yes'}, 'true or false'),
    ({'speeed': 1.0}, 'unknown parameter'),
    ({'lanes': 60, 'speed_mps': 1.5}, 'too many lanes'),
])
def test_from_dict_rejects_with_a_message_naming_the_parameter(values, fragment):
    with pytest.raises(ParamError) as err:
        from_dict(Example, values, where='node')
    assert fragment in str(err.value)
    assert str(err.value).startswith('node')


def test_strict_mode_refuses_what_ros_refuses():
    with pytest.raises(ParamError, match='write 1.0'):
        from_dict(Example, {'speed_mps': 1}, strict=True)
    assert from_dict(Example, {'speed_mps': 1.0}, strict=True).speed_mps == 1.0


def test_unknown_keys_can_be_allowed():
    assert from_dict(Example, {'use_sim_time': True}, allow_unknown=True).lanes == 3
