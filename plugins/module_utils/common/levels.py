# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Aggressiveness ``level`` 1..5, as VMware DRS names it: one knob for balanciness, margin and move budget.

Level 1 makes only mandatory moves (rules, maintenance); level 5 balances tightest. The table is in
docs/levels.md. Options the user gives explicitly (task or config file) win over the level's value.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.proxlb.balancer.plugins.module_utils.common import documents
from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import ConfigError

# level: (balance at all, balanciness pp, margin pp, max_migrations or None for unlimited)
LEVELS = {
    1: (False, 100, 100.0, None),
    2: (True, 20, 5.0, 5),
    3: (True, 10, 1.0, 20),
    4: (True, 5, 0.5, 50),
    5: (True, 2, 0.1, None),
}
KNOBS = ("balanciness", "margin", "max_migrations")


def check_level(level, path="level"):
    """The level as an int 1..5, or None when not set."""
    if level is None:
        return None
    if isinstance(level, str) and level.strip().isdigit():
        level = int(level.strip())
    if isinstance(level, bool) or not isinstance(level, int) or level not in LEVELS:
        raise ConfigError("%s: expected 1 (only mandatory moves) to 5 (tightest balance), got %s"
                          % (path, documents.shown(level)))
    return level


def level_balancing(level):
    """The balancing keys a level sets."""
    balance, balanciness, margin, budget = LEVELS[check_level(level)]
    out = {"balanciness": balanciness, "margin": margin, "max_migrations": budget}
    if not balance:
        out["enable"] = False
    return out


def apply_level(balancing, level):
    """``balancing`` (only the keys the user gave, before defaults) with the level's values beneath them.

    Level 1 always turns balancing off: it is what the level means, and rules and maintenance still move
    guests. Returns a new dict; ``level`` None returns ``balancing`` unchanged."""
    balancing = dict(balancing or {})
    if check_level(level) is None:
        return balancing
    out = level_balancing(level)
    for key, value in balancing.items():
        if key == "enable" and out.get("enable") is False:
            continue
        if value is not None or key not in KNOBS:
            out[key] = value
    return out


def table():
    """Rows (level, balance, balanciness, margin, max_migrations) for the documentation and tests."""
    return [(level,) + LEVELS[level] for level in sorted(LEVELS)]
