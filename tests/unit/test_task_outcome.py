"""migrate/tasks.py: task exit statuses and task logs in the shapes real PVE writes (docs/pve-answers.md)."""

import pytest

from ansible_collections.proxlb.balancer.plugins.module_utils.migrate.tasks import task_error, task_outcome, \
    task_warnings


@pytest.mark.parametrize("status, expected", [
    ({"status": "stopped", "exitstatus": "OK"}, (True, 0)),
    ({"status": "stopped", "exitstatus": "WARNINGS: 1"}, (True, 1)),
    ({"status": "stopped", "exitstatus": "WARNINGS: 12"}, (True, 12)),
    ({"status": "stopped", "exitstatus": "migration aborted"}, (False, 0)),
    ({"status": "stopped", "exitstatus": "migration problems"}, (False, 0)),
    ({"status": "stopped", "exitstatus": "unexpected status"}, (False, 0)),
    ({"status": "stopped", "exitstatus": "WARNINGS: x"}, (False, 0)),
    ({"status": "stopped"}, (False, 0)),
    ({"status": "running"}, (None, 0)),
    ({}, (None, 0)),
    (None, (None, 0)),
])
def test_outcome_counts_warnings_as_success(status, expected):
    # pve-common upid_status_is_error: only OK and 'WARNINGS: <n>' are successes
    assert task_outcome(status) == expected


def lines(*texts):
    return [{"n": i + 1, "t": t} for i, t in enumerate(texts)]


def test_cause_of_an_aborted_migration_with_timestamps():
    log = lines("2026-11-28 10:00:01 starting migration of VM 100 to node 'pve2' (10.0.0.2)",
                "2026-11-28 10:00:03 ERROR: migration aborted (duration 00:00:03): can't migrate VM which uses "
                "local devices: hostpci0",
                "TASK ERROR: migration aborted")
    assert task_error(log) == "can't migrate VM which uses local devices: hostpci0"


def test_first_error_line_is_the_cause_and_summaries_are_skipped():
    log = lines("2026-11-28 10:00:01 starting migration of VM 100 to node 'pve2' (10.0.0.2)",
                "2026-11-28 10:00:09 ERROR: online migrate failure - node 'pve2' went offline during migration",
                "2026-11-28 10:00:09 ERROR: migration finished with problems (duration 00:00:08)",
                "TASK ERROR: migration problems")
    assert task_error(log) == "online migrate failure - node 'pve2' went offline during migration"


def test_error_lines_without_timestamp_and_plain_strings():
    assert task_error(["starting", "ERROR: CT is locked (backup)", "TASK ERROR: migration aborted"]) == \
        "CT is locked (backup)"
    assert task_error(lines("ERROR: migration aborted (duration 00:00:00): CT is locked (backup)")) == \
        "CT is locked (backup)"


def test_final_task_error_when_no_error_line_and_nothing_when_log_is_silent():
    assert task_error(lines("Requesting HA migration for VM 100 to node pve2",
                            "TASK ERROR: service 'vm:100' not HA managed")) == "service 'vm:100' not HA managed"
    assert task_error(lines("no content")) == ""
    assert task_error(None) == ""
    # a line that merely contains ERROR is not an error line
    assert task_error(lines("2026-11-28 10:00:01 copying ERROR_LOG.txt", "TASK OK")) == ""


def test_warnings_from_the_log():
    log = lines("2026-11-28 10:00:01 starting migration of VM 100 to node 'pve2' (10.0.0.2)",
                "WARN: block job mirror-scsi1: bandwidth limit reached",
                "2026-11-28 10:00:05 WARN: volume 'local:iso/x.iso' not found on target",
                "2026-11-28 10:00:09 migration finished successfully (duration 00:00:08)",
                "TASK WARNINGS: 2")
    assert task_warnings(log) == ["block job mirror-scsi1: bandwidth limit reached",
                                  "volume 'local:iso/x.iso' not found on target"]
    assert task_warnings(lines("TASK OK")) == []
