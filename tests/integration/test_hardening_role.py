"""Hardening of the rebalance role (issue 17): the webhook keeps its secrets at -vvv when the endpoint fails,
and the systemd units run as a dedicated user with hardening directives that systemd-analyze accepts."""

import grp
import http.server
import json
import os
import pathlib
import pwd
import shutil
import stat
import subprocess
import sys
import threading

import pytest
import yaml

from ansible_run import ROOT, sim_env, collections_path

PLAYBOOK = ROOT / "playbooks" / "rebalance.yml"
QUERY_SECRET = "q5ecret-in-the-query"
HEADER_SECRET = "h5ecret-in-the-header"
SERVICE_USER = "daemon"


def run_rebalance(env, tmp_path, *args, **extra_vars):
    extra_vars.setdefault("rebalance_report_dir", str(tmp_path / "reports"))
    binary = pathlib.Path(sys.executable).with_name("ansible-playbook")
    return subprocess.run([str(binary), str(PLAYBOOK), "-e", json.dumps(extra_vars)] + list(args),
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)


class FailingHook(http.server.BaseHTTPRequestHandler):
    """Answers every POST with a 500 and remembers what it was sent."""
    received = []

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        FailingHook.received.append((self.path, self.headers.get("Authorization")))
        self.send_response(500)
        self.end_headers()
        self.wfile.write(b"internal error")

    def log_message(self, *args):
        pass


@pytest.fixture
def failing_hook():
    FailingHook.received = []
    server = http.server.HTTPServer(("127.0.0.1", 0), FailingHook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("endpoint", ["answers-500", "refuses"])
def test_webhook_failure_at_vvv_shows_neither_query_nor_header(simulator, tmp_path, failing_hook, endpoint):
    port = failing_hook
    if endpoint == "refuses":
        # a port nobody listens on: bind one, note it, close it
        import socket
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.close()
    url = "http://127.0.0.1:%d/hooks/proxlb?token=%s&x=1" % (port, QUERY_SECRET)
    sim = simulator("small.json")
    proc = run_rebalance(sim_env(sim), tmp_path, "-vvv", rebalance_approve="manual", rebalance_report_name="hooked",
                         rebalance_webhook=url, rebalance_webhook_headers={"Authorization": "Bearer " + HEADER_SECRET})
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, "a failed webhook fails the run"
    assert QUERY_SECRET not in output and HEADER_SECRET not in output
    expected = "webhook http://127.0.0.1:%d/hooks/proxlb did not take the summary: " % port
    if endpoint == "answers-500":
        assert expected + "HTTP status 500" in output, output[-3000:]
        # the POST did go out, with its header and query: only the output is kept clean
        assert FailingHook.received == [("/hooks/proxlb?token=%s&x=1" % QUERY_SECRET, "Bearer " + HEADER_SECRET)]
    else:
        assert expected + "no answer" in output, output[-3000:]
    assert (tmp_path / "reports" / "hooked.md").exists(), "the report is written before the webhook"


# --- systemd ---------------------------------------------------------------------------------------------

def schedule_env():
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path(), ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
               ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    return dict((k, v) for k, v in env.items() if not k.startswith("PROXMOX_"))


def render_units(tmp_path, **role_vars):
    """Install the timer into tmp_path as the existing system user 'daemon' (no user is created here;
    systemd calls 'nobody' unsafe for services)."""
    role_vars.setdefault("rebalance_schedule_user", SERVICE_USER)
    role_vars.setdefault("rebalance_schedule_group", grp.getgrgid(pwd.getpwnam(SERVICE_USER).pw_gid).gr_name)
    role_vars.setdefault("rebalance_schedule_create_user", False)
    role_vars.update(rebalance_schedule=True, rebalance_systemd_dir=str(tmp_path / "units"),
                     rebalance_schedule_vars_file=str(tmp_path / "etc" / "rebalance-vars.yml"),
                     rebalance_schedule_environment_file=str(tmp_path / "etc" / "rebalance.env"),
                     rebalance_schedule_working_dir=str(tmp_path / "work"),
                     rebalance_schedule_ansible_playbook=str(pathlib.Path(sys.executable).with_name("ansible-playbook")))
    proc = run_rebalance(schedule_env(), tmp_path, **role_vars)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return proc


def directives(text):
    out = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            out.setdefault(key, []).append(value)
    return out


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="the role sets owners: it runs as root (become)")


@needs_root
def test_units_run_as_a_dedicated_user_with_hardening(tmp_path):
    secret = 'tok"en$with\\specials'
    proc = render_units(tmp_path, rebalance_journal=str(tmp_path / "journal" / "run.jsonl"),
                        rebalance_webhook="https://hooks.example.com/x?token=" + QUERY_SECRET,
                        rebalance_schedule_credentials={"PROXMOX_HOST": "pve1.example.com",
                                                        "PROXMOX_TOKEN_SECRET": secret})
    assert secret not in proc.stdout and QUERY_SECRET not in proc.stdout
    service = directives((tmp_path / "units" / "proxlb-rebalance.service").read_text())
    nobody = pwd.getpwnam(SERVICE_USER)
    assert service["User"] == [SERVICE_USER]
    for key, value in (("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"), ("PrivateTmp", "yes"),
                       ("ProtectHome", "yes"), ("WorkingDirectory", str(tmp_path / "work"))):
        assert service[key] == [value], key
    writable = service["ReadWritePaths"][0].split()
    assert writable == ["-" + str(tmp_path / "work"), "-" + str(tmp_path / "reports"), "-" + str(tmp_path / "journal")]
    assert "HOME=%s" % (tmp_path / "work") in service["Environment"]

    work = os.stat(str(tmp_path / "work"))
    assert stat.S_IMODE(work.st_mode) == 0o750 and work.st_uid == nobody.pw_uid
    for directory in ("reports", "journal"):
        assert os.stat(str(tmp_path / directory)).st_uid == nobody.pw_uid
    variables = os.stat(str(tmp_path / "etc" / "rebalance-vars.yml"))
    assert stat.S_IMODE(variables.st_mode) == 0o640 and variables.st_uid == 0 and variables.st_gid == nobody.pw_gid
    env_file = tmp_path / "etc" / "rebalance.env"
    credentials = os.stat(str(env_file))
    assert stat.S_IMODE(credentials.st_mode) == 0o600 and credentials.st_uid == nobody.pw_uid
    assert 'PROXMOX_TOKEN_SECRET="tok\\"en\\$with\\\\specials"' in env_file.read_text()
    scheduled = yaml.safe_load((tmp_path / "etc" / "rebalance-vars.yml").read_text())
    assert not [k for k in scheduled if "token" in k or "password" in k or "credentials" in k]


def test_the_role_defaults_to_a_dedicated_user_it_creates():
    defaults = yaml.safe_load((ROOT / "roles" / "rebalance" / "defaults" / "main.yml").read_text())
    assert defaults["rebalance_schedule_user"] == "proxlb"
    tasks = yaml.safe_load((ROOT / "roles" / "rebalance" / "tasks" / "schedule.yml").read_text())
    creating = [t for t in tasks if "ansible.builtin.user" in t]
    assert creating and creating[0]["ansible.builtin.user"]["system"] is True
    assert "rebalance_schedule_create_user | bool" in creating[0]["when"]


@needs_root
@pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                    reason="systemd-analyze is not installed (apt-get install systemd)")
@pytest.mark.parametrize("schedule", ["interval", "calendar"])
def test_systemd_analyze_verify_accepts_the_rendered_units(tmp_path, schedule):
    role_vars = {"rebalance_service": {"schedule": {"interval": 30, "format": "minutes"},
                                       "delay": {"enable": True, "time": 5, "format": "minutes"}}}
    if schedule == "calendar":
        role_vars = {"rebalance_schedule_calendar": "*-*-* 02:30"}
    render_units(tmp_path, rebalance_schedule_credentials={"PROXMOX_HOST": "pve1"}, **role_vars)
    units = [str(tmp_path / "units" / ("proxlb-rebalance" + suffix)) for suffix in (".service", ".timer")]
    def verify():
        proc = subprocess.run(["systemd-analyze", "verify", "--man=no"] + units, capture_output=True, text=True,
                              timeout=120)
        return proc.returncode, [line for line in (proc.stdout + proc.stderr).splitlines() if "proxlb-rebalance" in line]

    assert verify() == (0, [])
    # and it does read our files: a wrong directive is reported
    with open(units[0], "a") as handle:
        handle.write("ProtectSytem=strict\n")
    assert "Unknown key 'ProtectSytem'" in " ".join(verify()[1])
