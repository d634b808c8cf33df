"""The journal's OS lock and the cluster lease (migrate/lease.py) against an in-memory datacenter notes that
checks PVE's digest the way PVE does."""

import hashlib
import json
import subprocess
import sys
import textwrap

import pytest

from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import ApiError, LockHeld
from ansible_collections.proxlb.balancer.plugins.module_utils.connect import notes
from ansible_collections.proxlb.balancer.plugins.module_utils.migrate import lease
from ansible_collections.proxlb.balancer.plugins.module_utils.migrate.journal import Journal


class Notes(object):
    """GET/PUT /cluster/options with a digest; ``before_put`` lets a test write in between (a race)."""

    def __init__(self, text=""):
        self.text = text
        self.puts = 0
        self.before_put = None

    def digest(self):
        return hashlib.sha1(self.text.encode()).hexdigest()

    def get(self, path, **params):
        assert path == "/cluster/options"
        return {"description": self.text, "digest": self.digest()} if self.text else {"digest": self.digest()}

    def put(self, path, **data):
        if self.before_put:
            hook, self.before_put = self.before_put, None
            hook()
        if data.get("digest") and data["digest"] != self.digest():
            raise ApiError("PUT /cluster/options: 500 detected modified configuration - file changed by other "
                           "user? Try again.", status_code=500)
        self.puts += 1
        self.text = "" if data.get("delete") == "description" else data["description"]


def test_edit_applies_the_change_again_after_a_digest_mismatch():
    api = Notes("ops")
    api.before_put = lambda: setattr(api, "text", api.text + "\nproxlb.balancer maintenance: pve3")
    text, written = notes.edit(api, lambda t: t + "\nmine", sleep=lambda s: None)
    assert written and api.text == "ops\nproxlb.balancer maintenance: pve3\nmine" == text


def test_a_lease_is_taken_renewed_and_released_leaving_other_lines():
    api = Notes("ops notes")
    now = [1000.0]
    held = lease.Lease(api, owner="ctl1:1:aaaa", now=lambda: now[0], sleep=lambda s: None).acquire(0)
    assert lease.parse(api.text)["owner"] == "ctl1:1:aaaa" and api.text.startswith("ops notes\n")
    now[0] += lease.RENEW_AFTER + 1
    held.renewed -= lease.RENEW_AFTER + 1
    assert held.renew() is True and lease.parse(api.text)["until"] == int(now[0]) + lease.TTL
    held.release()
    assert api.text == "ops notes"


def test_a_held_lease_makes_the_second_run_wait_then_fail_naming_the_holder():
    api = Notes()
    lease.Lease(api, owner="ctl1:1:aaaa").acquire(0)
    clock = [0.0]
    waited = []

    def sleep(seconds):
        waited.append(seconds)
        clock[0] += seconds
    with pytest.raises(LockHeld) as err:
        lease.Lease(api, owner="ctl2:2:bbbb", sleep=sleep, clock=lambda: clock[0]).acquire(5, poll=1)
    assert "ctl1:1:aaaa" in str(err.value) and "waited 5s" in str(err.value)
    assert sum(waited) == pytest.approx(5)
    assert lease.parse(api.text)["owner"] == "ctl1:1:aaaa"


def test_an_expired_lease_is_taken_over_with_a_warning():
    api = Notes("proxlb.balancer lease: owner=old:9:cccc since=2020-01-01T00:00:00Z until=2020-01-01T00:10:00Z")
    taken = lease.Lease(api, owner="ctl1:1:aaaa").acquire(0)
    assert lease.parse(api.text)["owner"] == "ctl1:1:aaaa"
    assert taken.warnings and "old:9:cccc" in taken.warnings[0] and "expired" in taken.warnings[0]


def test_a_lease_taken_from_us_is_noticed_on_renewal():
    api = Notes()
    held = lease.Lease(api, owner="ctl1:1:aaaa").acquire(0)
    api.text = lease.render(api.text, "proxlb.balancer lease: owner=x:2:dddd since=2026-01-01T00:00:00Z "
                                      "until=2999-01-01T00:00:00Z")
    assert held.renew(force=True) is False
    held.release()   # someone else's lease is left alone
    assert lease.parse(api.text)["owner"] == "x:2:dddd"


def test_a_second_process_cannot_lock_the_same_journal(tmp_path):
    path = tmp_path / "journal.jsonl"
    journal = Journal(str(path))
    journal.lock(0, owner="ctl1:1:aaaa")
    # another process (flock locks are per open file, so a thread of ours would not be refused)
    script = textwrap.dedent("""
        import sys
        sys.path.insert(0, %r)
        import simulator
        from ansible_collections.proxlb.balancer.plugins.module_utils.common.errors import LockHeld
        from ansible_collections.proxlb.balancer.plugins.module_utils.migrate.journal import Journal
        try:
            Journal(%r).lock(0.3)
        except LockHeld as exc:
            print("HELD", exc)
        else:
            print("LOCKED")
    """ % (str(__import__("pathlib").Path(__file__).resolve().parents[2]), str(path)))
    other = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert other.stdout.startswith("HELD") and "ctl1:1:aaaa" in other.stdout, other.stdout + other.stderr
    journal.unlock()
    again = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert again.stdout.startswith("LOCKED"), again.stdout + again.stderr
    assert [json.loads(line)["event"] for line in path.read_text().splitlines()] == ["locked"]
