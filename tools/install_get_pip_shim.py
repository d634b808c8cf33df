"""Install the offline stand-in for ansible-test's get-pip download (its host is unreachable here).

ansible-test bootstraps pip in each sanity venv from a cached file named after the pip version it pins;
our shim uses the interpreter's bundled ensurepip instead.
"""

import pathlib
import re
import shutil

import ansible_test

source = (pathlib.Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py").read_text()
version = re.search(r"pip='([0-9.]+)'", source) or re.search(r'pip="([0-9.]+)"', source)
target = pathlib.Path.home() / ".ansible" / "test" / "cache" / ("get_pip_%s.py" % version.group(1).replace(".", "_"))
target.parent.mkdir(parents=True, exist_ok=True)
shutil.copyfile(pathlib.Path(__file__).with_name("get_pip_shim.py"), target)
print("get-pip shim installed as %s" % target)
