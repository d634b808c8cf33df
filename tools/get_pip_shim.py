"""Offline stand-in for get-pip.py: bootstrap pip with ensurepip, then install what was asked for."""

import subprocess
import sys

# In a subprocess: ensurepip blanks PIP_CONFIG_FILE in-process, which would drop the machine's pip.conf.
subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"])
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", "--disable-pip-version-check"] + args))
