"""The simulator's parameter definitions agree with PVE's official schema, and its check answers like PVE."""

import pytest
from hypothesis import given, settings, strategies as st

from simulator import params as P

from helpers import load_json


def _schema():
    """PVE's official API schema, the subset vendored under tests/data/ (see tests/data/README.md)."""
    return load_json("tests", "data", "pve-api", "schema-subset.json")["operations"]


def _number(value):
    return None if value is None else float(value)


def test_definitions_match_the_official_schema():
    operations = _schema()
    compared = 0
    for key, mine in P.PARAMETERS.items():
        if key not in operations:
            continue  # our own additions (PUT config, node reboot) are not in the subset
        theirs = operations[key]["parameters"].get("properties", {})
        assert set(mine) == set(theirs), key
        for name, spec in mine.items():
            official = theirs[name]
            where = "%s %s" % (key, name)
            assert spec["type"] == official["type"], where
            assert bool(spec.get("optional")) == bool(official.get("optional")), where
            assert spec.get("enum") == official.get("enum"), where
            assert _number(spec.get("minimum")) == _number(official.get("minimum")), where
            assert _number(spec.get("maximum")) == _number(official.get("maximum")), where
        compared += 1
    assert compared >= 25


def test_booleans_only_as_one_or_zero():
    template = "POST /nodes/{node}/qemu/{vmid}/migrate"
    base = {"node": "pve1", "vmid": "100", "target": "pve2"}
    assert P.validate(template, dict(base, online="1"), "9.1.2")["online"] is True
    assert P.validate(template, dict(base, online="0"), "9.1.2")["online"] is False
    for bad in ("True", "true", "yes", "2"):
        with pytest.raises(P.ParamError) as err:
            P.validate(template, dict(base, online=bad), "9.1.2")
        assert err.value.errors == {"online": "type check ('boolean') failed - got '%s'" % bad}


def test_version_gated_parameter_and_missing_required():
    template = "POST /nodes/{node}/qemu/{vmid}/migrate"
    base = {"node": "pve1", "vmid": "100", "target": "pve2", "with-conntrack-state": "1"}
    assert P.validate(template, base, "9.0.5")["with-conntrack-state"] is True
    with pytest.raises(P.ParamError) as err:
        P.validate(template, base, "8.4.1")
    assert "with-conntrack-state" in err.value.errors and err.value.status == 400
    with pytest.raises(P.ParamError) as err:
        P.validate(template, {"node": "pve1", "vmid": "99"}, "9.1.2")
    assert err.value.errors == {"target": "property is missing and it is not optional",
                                "vmid": "value must have a minimum value of 100"}


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["node", "vmid", "target", "online", "bwlimit", "timeout", "x"]),
                       st.one_of(st.text(max_size=30), st.integers(), st.booleans())),
       st.sampled_from(sorted(P.PARAMETERS)))
def test_validate_accepts_or_refuses_but_never_crashes(values, template):
    try:
        out = P.validate(template, values, "9.1.2")
    except P.ParamError as err:
        assert err.errors and all(isinstance(v, str) for v in err.errors.values())
    else:
        assert set(out) <= set(P.PARAMETERS[template])
