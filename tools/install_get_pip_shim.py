"""Prepare the home directory ansible-test runs with (``make sanity`` sets HOME to one inside .build/).

ansible-test bootstraps pip in each sanity venv from a file it downloads (its host is unreachable here) and
caches as ``~/.ansible/test/cache/get_pip_<version>.py``: put our offline stand-in there instead, which uses
the interpreter's bundled ensurepip. ansible-test passes pip no PIP_* variables, so pip in those venvs reads
only /etc/pip.conf and the pip configuration in that home: copy the user's pip configuration (the package
indexes this machine uses) into it. Nothing is written into the user's own home.
"""

import os
import pathlib
import pwd
import re
import shutil

import ansible_test

home = pathlib.Path.home()   # $HOME: the project's sanity home when run by make
user_home = pathlib.Path(pwd.getpwuid(os.getuid()).pw_dir)

source = (pathlib.Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py").read_text()
version = re.search(r"pip='([0-9.]+)'", source) or re.search(r'pip="([0-9.]+)"', source)
target = home / ".ansible" / "test" / "cache" / ("get_pip_%s.py" % version.group(1).replace(".", "_"))
target.parent.mkdir(parents=True, exist_ok=True)
shutil.copyfile(pathlib.Path(__file__).with_name("get_pip_shim.py"), target)
print("get-pip shim installed as %s" % target)

if home.resolve() != user_home.resolve():
    for relative in (".config/pip/pip.conf", ".pip/pip.conf"):
        found, copy = user_home / relative, home / relative
        if found.is_file():
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(found, copy)
            print("pip configuration %s copied to %s" % (found, copy))
