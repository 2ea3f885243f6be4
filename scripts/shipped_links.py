#!/usr/bin/env python3
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check that the Markdown shipped in a collection artifact links only to files it ships.

A relative link from a shipped document to a file that build_ignore keeps out of the
tarball (lab/README.md, tools/...) is dead for everyone who installed the collection.
Reads the tarball's member list and every *.md in it; relative targets of inline links,
reference definitions and HTML href/src attributes must be members (a file, or a
directory with members).  Links with a scheme (https:, mailto:), pure #anchors and
anything inside code spans or fenced code blocks are not checked.

Usage: python3 scripts/shipped_links.py ARTIFACT.tar.gz     (exit 1 on a dead link)
"""

import posixpath
import re
import sys
import tarfile

FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,}).*?^ {0,3}\1[^\n]*$", re.M | re.S)
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1", re.S)
INLINE = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+[\"'(][^)]*)?\)")
REFERENCE = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.M)
HTML_ATTR = re.compile(r"\b(?:href|src)\s*=\s*[\"']([^\"']+)[\"']", re.I)
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def link_targets(text):
    text = CODE_SPAN.sub("", FENCE.sub("", text))
    for pattern in (INLINE, REFERENCE, HTML_ATTR):
        for match in pattern.finditer(text):
            yield match.group(1)


def dead_links(members, documents):
    """members: the artifact's member names; documents: {name: text} of its Markdown files."""
    names = set(name.rstrip("/") for name in members)
    directories = set()
    for name in names:
        parts = name.split("/")
        directories.update("/".join(parts[:i]) for i in range(1, len(parts)))
    dead = []
    for doc, text in sorted(documents.items()):
        for target in link_targets(text):
            if SCHEME.match(target) or target.startswith("#"):
                continue
            path = target.split("#", 1)[0].split("?", 1)[0]
            if not path:
                continue
            resolved = posixpath.normpath(posixpath.join(posixpath.dirname(doc), path))
            if resolved.startswith("../") or resolved == ".." or (resolved not in names and resolved not in directories):
                dead.append((doc, target, resolved))
    return dead


def main(argv):
    if len(argv) != 1:
        sys.stderr.write(__doc__)
        return 2
    with tarfile.open(argv[0]) as tar:
        members = [m.name[2:] if m.name.startswith("./") else m.name for m in tar.getmembers()]
        documents = {}
        for member in tar.getmembers():
            name = member.name[2:] if member.name.startswith("./") else member.name
            if member.isfile() and name.endswith(".md"):
                documents[name] = tar.extractfile(member).read().decode("utf-8")
    dead = dead_links(members, documents)
    for doc, target, resolved in dead:
        print("%s: link to %s (%s) is not in the artifact" % (doc, target, resolved))
    print("shipped Markdown: %d file(s), %d dead relative link(s)" % (len(documents), len(dead)))
    return 1 if dead else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
