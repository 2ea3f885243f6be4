#!/usr/bin/env python3
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The baseline collections the integration tests run beside this one (tests/integration/
test_baselines.py): ansible.posix (firewalld) and community.general's ufw module, taken from the
`ansible` wheel on PyPI (Galaxy is not reachable). Only their files are unpacked into a
collections path (about 1 MB), not the whole package (about 50 MB download, 500 MB installed).

Usage: scripts/baseline_collections.py DEST [PIP]   (idempotent; prints DEST)
"""

import os
import subprocess
import sys
import tempfile
import zipfile

WHEEL = "ansible==9.13.0"  # ansible.posix 1.6.2, community.general 8.6.8 (for ansible-core 2.16)
WANTED = ("ansible_collections/ansible/posix/",
          "ansible_collections/community/general/plugins/modules/ufw.py",
          "ansible_collections/community/general/meta/",
          "ansible_collections/community/general/MANIFEST.json")


def main(argv):
    dest = os.path.abspath(argv[1])
    pip = argv[2] if len(argv) > 2 else sys.executable
    stamp = os.path.join(dest, ".%s" % WHEEL)
    if os.path.exists(stamp):
        print(dest)
        return 0
    with tempfile.TemporaryDirectory() as download:
        subprocess.run([pip, "-m", "pip", "download", "-q", "--no-deps", "--only-binary", ":all:", "-d", download, WHEEL],
                       check=True)
        wheel = [name for name in os.listdir(download) if name.endswith(".whl")][0]
        with zipfile.ZipFile(os.path.join(download, wheel)) as archive:
            members = [name for name in archive.namelist() if name.startswith(WANTED)]
            archive.extractall(dest, members)
    with open(stamp, "w") as handle:
        handle.write("%d files\n" % len(members))
    print(dest)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
