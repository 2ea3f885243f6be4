# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""scripts/shipped_links.py: the build stage's check that shipped Markdown links only to shipped files."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib.util
import io
import os
import tarfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir))


def _checker():
    spec = importlib.util.spec_from_file_location("shipped_links", os.path.join(ROOT, "scripts", "shipped_links.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MEMBERS = ["README.md", "docs/", "docs/README.md", "docs/guides/awx.md", "roles/peers/README.md", "meta/runtime.yml"]


def test_dead_relative_links_are_found():
    docs = {
        "README.md": "[docs](docs/README.md) [lab](lab/README.md) [m](meta/runtime.yml#L1) [d](docs/)\n"
                     "[ref]: tools/demo\n<a href=\"scripts/lib.sh\">x</a> ![img](docs/missing.png)",
        "docs/README.md": "[lab](../lab/README.md) [awx](guides/awx.md) [up](../README.md) [out](../../etc/passwd)",
    }
    dead = [(doc, target) for doc, target, _resolved in _checker().dead_links(MEMBERS, docs)]
    assert dead == [("README.md", "lab/README.md"), ("README.md", "docs/missing.png"), ("README.md", "tools/demo"),
                    ("README.md", "scripts/lib.sh"), ("docs/README.md", "../lab/README.md"),
                    ("docs/README.md", "../../etc/passwd")]


def test_urls_anchors_and_code_are_not_links():
    docs = {"docs/guides/awx.md": "[gh](https://github.com/x/y/blob/main/lab/README.md) [a](#setup) "
                                  "[m](mailto:a@b.c) `[x](lab/README.md)`\n\n```md\n[y](../../lab/README.md)\n```\n"
                                  "[roles](../../roles/peers/README.md#variables)"}
    assert _checker().dead_links(MEMBERS, docs) == []


def test_main_reads_the_artifact(tmp_path, capsys):
    artifact = tmp_path / "c.tar.gz"
    with tarfile.open(str(artifact), "w:gz") as tar:
        for name, text in (("README.md", "[lab](lab/README.md)"), ("docs/README.md", "[top](../README.md)")):
            data = text.encode("utf-8")
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    assert _checker().main([str(artifact)]) == 1
    out = capsys.readouterr().out
    assert "README.md: link to lab/README.md (lab/README.md) is not in the artifact" in out
    assert "2 file(s), 1 dead relative link(s)" in out
