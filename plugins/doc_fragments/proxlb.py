# -*- coding: utf-8 -*-
# Copyright: (c) 2026, proxlb.balancer contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # The connection and behaviour options every module of the collection shares.
    DOCUMENTATION = r"""
options:
  api_host:
    description:
      - Proxmox VE API hosts, tried in order until one answers (failover).
      - Each entry is C(host), C(host:port), C([v6]), C([v6]:port) or a bare IPv6 literal, which is always
        an address. The default port is O(api_port).
      - A URL as copied from the browser, C(https://host[:port][/path]), is read as C(host[:port]) with a
        warning. User name or password in an entry (C(user:pw@host)) are refused without echoing them;
        host names are DNS names (labels up to 63 characters, 253 in all).
      - A comma-separated string is split into several hosts.
      - Precedence for every connection option is task option, then O(config_file), then the environment,
        then the default. Environment variable E(PROXMOX_HOST) (may hold a comma-separated list).
    type: list
    elements: str
  api_port:
    description:
      - Port used for hosts that name none. Environment variable E(PROXMOX_PORT).
      - The default applies only when neither the task, O(config_file) nor the environment sets a value; so
        do the other connection defaults.
    type: int
    default: 8006
  api_user:
    description:
      - User with realm, for example C(root@pam) or C(proxlb@pve). Environment variable E(PROXMOX_USER).
    type: str
  api_password:
    description:
      - Password of O(api_user). Prefer an API token. Environment variable E(PROXMOX_PASSWORD).
    type: str
  api_token_id:
    description:
      - API token name of O(api_user), for example C(balancer), or the full C(user@realm!name).
        Environment variable E(PROXMOX_TOKEN_ID).
    type: str
  api_token_secret:
    description:
      - Secret of the API token. Environment variable E(PROXMOX_TOKEN_SECRET).
    type: str
  validate_certs:
    description:
      - Verify the API's TLS certificate, against the system's CAs or O(ca_path). Environment variable
        E(PROXMOX_VALIDATE_CERTS).
      - True by default, as in community.proxmox 2.x (its 1.x defaulted to false). A stock Proxmox VE cluster
        signs its API certificate with its own CA; give its C(/etc/pve/pve-root-ca.pem) as O(ca_path) rather
        than turning this off.
      - Every run with verification off warns, naming where it was turned off (this option, E(PROXMOX_VALIDATE_CERTS)
        or C(ssl_verification) in O(config_file)).
    type: bool
    default: true
  ca_path:
    description:
      - PEM file of the CA that signed the API certificate (for example the cluster's own
        C(/etc/pve/pve-root-ca.pem)). Environment variable E(PROXMOX_CA_PATH).
    type: path
  api_timeout:
    description:
      - Seconds to wait for an API answer, 1 to 86400.
    type: int
    default: 10
  api_retries:
    description:
      - Connection attempts per API host before the next host is tried.
    type: int
    default: 1
  api_wait_time:
    description:
      - Seconds between two connection attempts to the same host.
    type: int
    default: 1
  config_file:
    description:
      - A ProxLB configuration file (C(proxlb.yaml)) on the controller. Its C(proxmox_api) section maps onto
        the connection options and its C(proxmox_cluster), C(balancing) and C(service) sections onto the
        options of the same names; task options win key by key. Unknown keys warn.
      - See the collection's C(docs/proxlb-migration.md) for what each ProxLB key does here.
    type: path
  proxmox_cluster:
    description:
      - ProxLB's C(proxmox_cluster) section, for example C(maintenance_nodes), C(ignore_nodes),
        C(overprovisioning).
    type: dict
  balancing:
    description:
      - ProxLB's C(balancing) section with its keys and defaults, for example C(method), C(mode),
        C(balanciness), C(memory_threshold), C(balance_types), C(node_resource_reserve), C(pools), and this
        collection's additions (C(weights), C(cpu_overcommit), C(margin), C(max_migrations),
        C(exclude_vmids), C(exclude_names), C(include_vmids)). See C(docs/engine.md).
      - C(windows) and C(blackouts) (lists of C("DAYS HH:MM-HH:MM") such as C("mon-fri 22:00-06:00"); an end before
        the start runs past midnight; a blackout wins) say when moves may run, in C(timezone) (an IANA name; the
        controller's zone by default); outside them a plan has no moves and a run starts no more. See
        C(docs/operations.md).
    type: dict
  service:
    description:
      - ProxLB's C(service) section (C(schedule), C(delay), C(log_level)); used by the rebalance role.
    type: dict
requirements:
  - proxmoxer >= 2.0
  - requests
  - PyYAML (for O(config_file))
notes:
  - Runs on the controller through an action plugin of the same name; no SSH to the Proxmox VE nodes.
  - Secrets are never written to results, snapshots, plans or journals.
"""

    # The planning knobs of the modules that plan (proxlb_plan, proxlb_migrate, proxlb_maintenance).
    PLANNING = r"""
options:
  level:
    description:
      - Aggressiveness, as in VMware DRS. V(1) makes only mandatory moves (rules, maintenance), V(5) balances
        tightest. Sets C(balancing.balanciness), C(balancing.margin) and C(balancing.max_migrations) unless
        given explicitly; the table is in the collection's C(docs/levels.md).
    type: int
    choices: [1, 2, 3, 4, 5]
  window:
    description:
      - Balance on averaged load instead of the last sample, from PVE's rrddata, for example C(hour) or
        a dict with C(timeframe) and C(cf) (V(AVERAGE) or V(MAX)). One extra API call per node and per running guest.
    type: raw
  cooldown:
    description:
      - A guest migrated within this time (cluster task history), for example C(6h), is not moved again by
        balancing; rules and maintenance still move it. Prevents oscillation.
      - "V(adaptive) (or C({adaptive: true, base: 15m, cap: 6h, window: 24h})) learns per guest - it is held for
        the longer of C(base) and its last migration's duration, doubled for each repeat within C(window), at most
        C(cap); a guest that went there and back (A -> B -> A) is reported as ping-pong. See C(docs/operations.md)."
    type: raw
  ha_guests:
    description:
      - With PVE 9.2 CRS auto-rebalance on, V(skip) leaves HA-managed guests to it (the plan lists them as
        skipped); V(include) plans them too.
    type: str
    choices: [skip, include]
    default: skip
  psi_max_moves:
    description:
      - With C(balancing.mode=psi), at most this many guests are moved off pressured nodes per run.
    type: int
    default: 1
"""

    # Planning from a saved snapshot instead of the live cluster (proxlb_plan, proxlb_best_node).
    SNAPSHOT_INPUT = r"""
options:
  snapshot:
    description:
      - A snapshot as returned by M(proxlb.balancer.proxlb_facts) (its C(snapshot)); no connection is made.
      - Mutually exclusive with O(snapshot_file).
    type: dict
  snapshot_file:
    description:
      - A snapshot JSON file on the controller; no connection is made.
    type: path
"""

    ACTIONGROUP_PROXLB = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/proxlb.balancer.proxlb) in C(module_defaults) to set the connection options once.
    support: full
    membership:
      - proxlb.balancer.proxlb
"""

    ATTRIBUTES_READ_ONLY = r"""
options: {}
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
"""
