"""A baseline following ProxLB's documented greedy algorithm (its README, "How does it work?").

Sort the guests by usage; take the largest and place it on the node with the most free resource; repeat
until the spread is within balanciness. Ignored guests, templates and locked guests stay (ProxLB skips
them too); no capacity ledger and no rule repair beyond that, as documented.
"""

from ansible_collections.proxlb.balancer.plugins.module_utils.common import config
from ansible_collections.proxlb.balancer.plugins.module_utils.placement import objective
from ansible_collections.proxlb.balancer.plugins.module_utils.placement.load import LoadModel
from ansible_collections.proxlb.balancer.plugins.module_utils.placement.movability import ignored_guests, immovable_reason


def greedy_plan(snapshot, options, rules):
    """Moves [(vmid, source, target)] and the final placement {vmid: node}, for memory balancing."""
    options = config.behaviour(options)
    balancing = options["balancing"]
    balanciness = float(balancing["balanciness"])
    nodes = sorted(n["node"] for n in snapshot["nodes"] if n["status"] == "online")
    model = LoadModel(snapshot, balancing)
    ignored = ignored_guests(rules)
    guests = [g for g in snapshot["guests"] if not immovable_reason(g, balancing, ignored, {})]
    guests.sort(key=lambda g: (-model.guest[g["vmid"]][0], g["vmid"]))
    moves = []

    def spread():
        pct = [model.percent(n, 0) for n in nodes]
        return max(pct) - min(pct)

    for guest in guests:
        if spread() <= balanciness:
            break
        vmid = guest["vmid"]
        source = model.node_of[vmid]
        target = max(nodes, key=lambda n: (model.capacity[n][0] - model.load[n][0], n))
        if target != source:
            model.move(vmid, target)
            moves.append((vmid, source, target))
    return moves, dict(model.node_of)


def violations(snapshot, rules, placement):
    eligible = len([n for n in snapshot["nodes"] if n["status"] == "online"])
    return objective.violations(placement, rules, set(n["node"] for n in snapshot["nodes"]), eligible)
