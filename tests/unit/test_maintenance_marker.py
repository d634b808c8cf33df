from ansible_collections.proxlb.balancer.plugins.module_utils.facts.maintenance_marker import parse, render


def test_marker_round_trip_keeps_the_admins_notes():
    notes = "# Cluster A\nBackups at 02:00\n"
    marked = render(notes, ["pve3", "pve1", "pve3"])
    assert marked == "# Cluster A\nBackups at 02:00\nproxlb.balancer maintenance: pve1, pve3"
    assert parse(marked) == ["pve1", "pve3"]
    assert render(marked, ["pve1"]).endswith("maintenance: pve1")
    assert render(marked, []) == "# Cluster A\nBackups at 02:00"
    assert parse(render(marked, [])) == []


def test_no_notes_no_marker():
    assert parse(None) == []
    assert parse("proxlb.balancer maintenance:") == []
    assert render("", []) == ""


def test_marked_nodes_become_a_maintenance_rule():
    from ansible_collections.proxlb.balancer.plugins.module_utils.common import config
    from ansible_collections.proxlb.balancer.plugins.module_utils.facts import snapshot
    from ansible_collections.proxlb.balancer.plugins.module_utils.rules.build import build_rules
    snap = snapshot.normalize({
        "cluster": {"maintenance_nodes": ["pve2"]},
        "nodes": [{"node": "pve1", "maxcpu": 8, "maxmem": 64}, {"node": "pve2", "maxcpu": 8, "maxmem": 64}],
        "guests": [{"vmid": 100, "type": "qemu", "node": "pve2", "maxmem": 4}]})
    rules, _ = build_rules(snap, config.behaviour({}))
    marker = [r for r in rules if r["id"] == "cluster:maintenance"]
    assert marker and marker[0]["kind"] == "maintenance" and marker[0]["nodes"] == ["pve2"]
