"""levels: the table is monotone, explicit options win, level 1 turns balancing off."""

import pytest

from ansible_collections.proxlb.balancer.plugins.module_utils.common import levels
from ansible_collections.proxlb.balancer.plugins.module_utils.common.config import behaviour
from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import ConfigError
from ansible_collections.proxlb.balancer.plugins.module_utils.plan.planner import plan
from ansible_collections.proxlb.balancer.plugins.module_utils.facts.snapshot import normalize

GIB = 1024 ** 3


def test_table_gets_tighter_with_the_level():
    rows = levels.table()
    assert [r[0] for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0][1] is False and all(r[1] for r in rows[1:])
    for earlier, later in zip(rows[1:], rows[2:]):
        assert later[2] < earlier[2] and later[3] < earlier[3]


def test_explicit_options_override_the_level():
    out = levels.apply_level({"balanciness": 7, "method": "cpu"}, 5)
    assert out["balanciness"] == 7 and out["method"] == "cpu"
    assert out["margin"] == levels.LEVELS[5][2]
    assert levels.apply_level({"enable": True}, 1)["enable"] is False
    assert levels.apply_level({"balanciness": 3}, None) == {"balanciness": 3}


@pytest.mark.parametrize("bad", [0, 6, "x", True, 2.5])
def test_bad_level(bad):
    with pytest.raises(ConfigError, match="level"):
        levels.check_level(bad)


def snapshot():
    # balanced memory, but two anti-affinity members share node a
    nodes = [{"node": n, "maxcpu": 8, "maxmem": 64 * GIB, "mem": 20 * GIB} for n in ("a", "b", "c")]
    guests = [{"vmid": 100 + i, "type": "qemu", "node": node, "maxmem": 4 * GIB, "mem": 4 * GIB, "tags": tags}
              for i, (node, tags) in enumerate([("a", ["plb_anti_affinity_x"]), ("a", ["plb_anti_affinity_x"]),
                                                ("b", []), ("c", []), ("c", [])])]
    return normalize({"nodes": nodes, "guests": guests})


def test_level_1_repairs_only_the_violation():
    options = behaviour({"balancing": levels.apply_level({}, 1)})
    result = plan(snapshot(), options)
    assert len(result["moves"]) == 1
    assert result["moves"][0]["vmid"] in (100, 101)
    assert result["moves"][0]["reason"].startswith("anti-affinity")
    assert result["metrics"]["after"]["violations"] == 0
