"""Privilege preflight: what each action needs, ACL inheritance, one-line messages, the privsep trap."""

import pytest

from ansible_collections.proxlb.balancer.plugins.module_utils.connect import permissions
from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import PermissionDenied

PROXLB_ROLE = {"Datastore.Audit": 1, "Sys.Audit": 1, "VM.Audit": 1, "VM.Migrate": 1}
POOLS = {"balancing": {"pools": {"dev": {"type": "affinity", "pin": [], "strict": True}}}}


def test_required_per_action():
    assert permissions.required({}, ["read"]) == {"/nodes": ["Sys.Audit"], "/vms": ["VM.Audit"],
                                                  "/storage": ["Datastore.Audit"]}
    assert permissions.required({}, ["migrate"]) == {"/vms": ["VM.Migrate"]}
    assert permissions.required({}, ["write_tags"]) == {"/vms": ["VM.Config.Options"]}
    assert permissions.required(POOLS, ["read"])["/pool"] == ["Pool.Audit"]
    assert "/pool" not in permissions.required({}, ["read", "migrate"])
    with pytest.raises(ValueError):
        permissions.required({}, ["delete"])


def test_proxlb_role_on_root_is_enough():
    needed = permissions.required({}, ["read", "migrate"])
    assert permissions.missing({"/": PROXLB_ROLE}, needed) == []


def test_inheritance_needs_propagation():
    needed = {"/vms": ["VM.Audit"]}
    assert permissions.missing({"/": {"VM.Audit": 1}}, needed) == []
    assert permissions.missing({"/": {"VM.Audit": 0}}, needed) == ["VM.Audit on /vms"]
    assert permissions.missing({"/vms": {"VM.Audit": 0}}, needed) == []
    # a grant on one guest does not cover all guests
    assert permissions.missing({"/vms/100": {"VM.Audit": 1}}, needed) == ["VM.Audit on /vms"]
    assert permissions.missing({"/vm": {"VM.Audit": 1}}, needed) == ["VM.Audit on /vms"]


def test_missing_migrate_is_one_line_naming_it():
    granted = {"/": {"Datastore.Audit": 1, "Sys.Audit": 1, "VM.Audit": 1}}
    with pytest.raises(PermissionDenied) as err:
        permissions.check(granted, {}, ["read", "migrate"], "proxlb@pve", "proxlb")
    message = str(err.value)
    assert message == "API token proxlb@pve!proxlb lacks VM.Migrate on /vms (needed to migrate guests)"


def test_missing_pool_audit_with_pool_rules():
    with pytest.raises(PermissionDenied) as err:
        permissions.check({"/": PROXLB_ROLE}, POOLS, ["read", "migrate"], "proxlb@pve")
    assert str(err.value) == "user proxlb@pve lacks Pool.Audit on /pool (needed to read pool members for " \
                             "balancing.pools)"
    permissions.check({"/": PROXLB_ROLE}, {}, ["read", "migrate"], "proxlb@pve")  # no pool rules: fine


def test_every_missing_privilege_is_named():
    with pytest.raises(PermissionDenied) as err:
        permissions.check({"/": {"Sys.Audit": 1}}, POOLS, ["read", "migrate", "write_tags"], "proxlb@pve")
    message = str(err.value)
    assert "\n" not in message
    for gap in ("VM.Audit on /vms", "VM.Migrate on /vms", "VM.Config.Options on /vms",
                "Datastore.Audit on /storage", "Pool.Audit on /pool"):
        assert gap in message
    assert "Sys.Audit" not in message


@pytest.mark.parametrize("granted", [{}, {"/access": {}}, {"/": {"Realm.Allocate": 1}}])
def test_privsep_token_without_acl_is_recognised(granted):
    with pytest.raises(PermissionDenied) as err:
        permissions.check(granted, {}, ["read"], "proxlb@pve", "proxlb")
    message = str(err.value)
    assert "token has privilege separation enabled and no ACL of its own: grant the token ACLs or disable " \
           "privsep" in message
    assert "proxlb@pve!proxlb" in message and "\n" not in message


def test_password_user_without_acl_is_not_called_a_token():
    with pytest.raises(PermissionDenied) as err:
        permissions.check({}, {}, ["read"], "proxlb@pve")
    assert "privsep" not in str(err.value) and str(err.value).startswith("user proxlb@pve lacks")
