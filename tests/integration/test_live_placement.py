"""The executor asks the placement core against the live cluster right before each POST (#13, #14):
a plan carried out after the cluster changed never breaks a rule the planner kept. Each test plans (or
hand-writes a plan), changes the cluster behind it over the API, runs it, and reads the cluster back."""

from ansible_collections.proxlb.balancer.plugins.module_utils.facts import maintenance_marker
from ansible_collections.proxlb.balancer.plugins.module_utils.entry.migrate import run_migrate

from helpers import make_plan, migrations, params, placements, scenario, statuses, wait_until

THREE = [("pve1", "9.1.2", 64), ("pve2", "9.1.2", 64), ("pve3", "9.1.2", 64)]


def _tagged(doc, tags):
    for guest in doc["guests"]:
        guest["tags"] = tags.get(guest["vmid"], [])
    return doc


def _move_now(sim, vmid, source, target):
    """Someone else migrates a guest (the admin, PVE's CRS): wait until it is there."""
    sim.proxmox().nodes(source).qemu(vmid).migrate.post(target=target, online=1)
    wait_until(lambda: placements(sim)[vmid] == target, "guest %d on %s" % (vmid, target))


def _run(sim, plan, **extra):
    return run_migrate(params(sim, plan=plan, poll_interval=0.5, **extra), environ={})


def test_a_partner_moved_after_planning_keeps_anti_affinity(simulator):
    sim = simulator(_tagged(scenario(THREE, [(101, "qemu", "pve1", "running", 2), (102, "qemu", "pve2", "running", 2)]),
                            {101: ["plb_anti_affinity_web"], 102: ["plb_anti_affinity_web"]}))
    plan = make_plan((1, 102, "pve2", "pve3"))
    _move_now(sim, 101, "pve1", "pve3")
    result = _run(sim, plan)
    assert statuses(result) == {102: "skipped"}
    assert "anti-affinity tag:plb_anti_affinity_web already has 101 there" in result["results"]["results"][0]["error"]
    assert placements(sim) == {101: "pve3", 102: "pve2"}
    assert result["changed"] is False


def test_a_node_marked_for_maintenance_after_planning_takes_no_guest(simulator):
    sim = simulator(scenario(THREE, [(101, "qemu", "pve1", "running", 2), (102, "qemu", "pve1", "running", 2)]))
    plan = make_plan((1, 101, "pve1", "pve2"), (1, 102, "pve1", "pve3"))
    sim.proxmox().cluster.options.put(description=maintenance_marker.render("", ["pve2"]))
    result = _run(sim, plan)
    assert statuses(result) == {101: "skipped", 102: "done"}
    assert result["results"]["results"][0]["error"] == "pve2: in maintenance (cluster marker)"
    assert placements(sim) == {101: "pve1", 102: "pve3"}
    assert [t["vmid"] for t in migrations(sim)] == [102]


def test_a_hand_edited_plan_never_moves_an_ignored_or_pinned_guest(simulator):
    sim = simulator(_tagged(scenario(THREE, [(101, "qemu", "pve1", "running", 2), (102, "qemu", "pve1", "running", 2),
                                             (103, "qemu", "pve1", "running", 2)]),
                            {101: ["plb_ignore"], 102: ["plb_pin_pve1"]}))
    plan = make_plan((1, 101, "pve1", "pve2"), (1, 102, "pve1", "pve2"), (1, 103, "pve1", "pve3"))
    result = _run(sim, plan)
    errors = dict((r["vmid"], r["error"]) for r in result["results"]["results"])
    assert statuses(result) == {101: "skipped", 102: "skipped", 103: "done"}
    assert errors[101] == "guest 101 cannot move: ignored (tag plb_ignore)"
    assert errors[102] == "pve2: guest 102 is pinned to pve1 (tag:plb_pin_pve1)"
    assert placements(sim) == {101: "pve1", 102: "pve1", 103: "pve3"}


def test_affinity_partners_planned_together_both_move(simulator):
    sim = simulator(_tagged(scenario(THREE, [(101, "qemu", "pve1", "running", 2), (102, "qemu", "pve1", "running", 2)]),
                            {101: ["plb_affinity_app"], 102: ["plb_affinity_app"]}))
    result = _run(sim, make_plan((1, 101, "pve1", "pve3"), (1, 102, "pve1", "pve3")))
    assert statuses(result) == {101: "done", 102: "done"}
    assert placements(sim) == {101: "pve3", 102: "pve3"}
    # a plan that would split them is refused at the point of action
    sim2 = simulator(_tagged(scenario(THREE, [(101, "qemu", "pve1", "running", 2), (102, "qemu", "pve1", "running", 2)]),
                             {101: ["plb_affinity_app"], 102: ["plb_affinity_app"]}))
    split = _run(sim2, make_plan((1, 101, "pve1", "pve3")))
    assert statuses(split) == {101: "skipped"}
    assert "keeps guest 101 with 102 on pve1" in split["results"]["results"][0]["error"]
    assert placements(sim2) == {101: "pve1", 102: "pve1"}


def test_a_planned_swap_through_a_park_node_is_carried_out(simulator):
    # the planner's golden swap: 100 is pinned to pve2 where its anti-affine partner 200 runs; 200 waits on a
    # third node for one step (kind: park), then takes 100's old place
    from ansible_collections.proxlb.balancer.plugins.module_utils.plan.planner import plan
    from helpers import load_json
    case = load_json("tests", "scenarios", "plan_anti_affinity_swap_park.json")
    sim = simulator(dict(case["snapshot"], simulator={"migration_overhead": 2}))
    planned = plan(case["snapshot"], case["options"])
    parks = [m for m in planned["moves"] if m.get("kind") == "park"]
    assert [m["vmid"] for m in parks] == [200]
    result = _run(sim, planned, balancing={"enable": False})
    moves = result["results"]["results"]
    assert [r["status"] for r in moves] == ["done"] * len(planned["moves"]), moves
    where = placements(sim)
    assert where[100] == "pve2" and where[200] == "pve1"
    log = [t for t in migrations(sim) if t["vmid"] == 200]
    assert [(t["source"], t["target"]) for t in log] == [("pve2", parks[0]["target"]), (parks[0]["target"], "pve1")]
