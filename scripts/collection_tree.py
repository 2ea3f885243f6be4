# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Mirror the checkout into DEST (a .../ansible_collections/portmatrix/xenserver directory).

ansible-test only works from a directory laid out as ansible_collections/NS/NAME, and
the checkout is not. This copies what git would commit (tracked files plus untracked
files that .gitignore does not exclude; tracked files deleted from the work tree are
left out) into DEST, updating changed files and removing everything else, except
tests/output/ (ansible-test's own cache, e.g. its delegation virtualenv) and .git/.

DEST gets an empty git repository of its own: ansible-test and ansible-lint look for the
nearest .git above their working directory and list files with git; without one they
would find the checkout's repository, where DEST is ignored (.cache/), and see nothing.
In the empty repository every file is untracked, which git lists all the same.

With --shipped, only what `ansible-galaxy collection build` would ship is copied: the
build_ignore patterns of galaxy.yml are applied the way ansible-galaxy applies them
(fnmatch against each directory and file path relative to the root). tests/run runs
ansible-test sanity on that copy, so sanity covers the collection as published and not
the development-only trees that galaxy.yml keeps out of it (lab/, tools/, ...).

Run with any Python 3: python3 scripts/collection_tree.py --repo . --dest DEST [--shipped]
"""
from __future__ import absolute_import, division, print_function

import argparse
import fnmatch
import os
import shutil
import subprocess
import sys

KEEP = ('tests/output', '.git')


def git_files(repo):
    out = subprocess.check_output(
        ['git', '-C', repo, 'ls-files', '-z', '--cached', '--others', '--exclude-standard'])
    files = set()
    for raw in out.split(b'\0'):
        if not raw:
            continue
        rel = raw.decode('utf-8', 'surrogateescape')
        path = os.path.join(repo, rel)
        if os.path.islink(path) or os.path.isfile(path):
            files.add(rel)
    return files


def build_ignore_patterns(repo):
    """The build_ignore list of galaxy.yml (PyYAML if importable, else a plain reading)."""
    path = os.path.join(repo, 'galaxy.yml')
    with open(path) as handle:
        text = handle.read()
    try:
        import yaml
    except ImportError:
        patterns, inside = [], False
        for line in text.splitlines():
            if not line.strip() or line.lstrip().startswith('#'):
                continue
            if not line[0].isspace() and not line.startswith('-'):
                inside = line.split(':', 1)[0].strip() == 'build_ignore'
                continue
            item = line.strip()
            if inside and item.startswith('- '):
                patterns.append(item[2:].strip().strip('\'"'))
        return patterns
    return list((yaml.safe_load(text) or {}).get('build_ignore') or [])


def shipped(rel, patterns):
    """False if ansible-galaxy would leave rel out of the artifact (galaxy.yml is kept here)."""
    parts = rel.split('/')
    if any(part in ('CVS', '.bzr', '.hg', '.git', '.svn', '__pycache__', '.tox') for part in parts[:-1]):
        return False
    prefixes = ['/'.join(parts[:i]) for i in range(1, len(parts) + 1)]
    default = ['*.pyc', '*.retry', 'tests/output']
    return not any(fnmatch.fnmatch(prefix, pattern) for prefix in prefixes for pattern in list(patterns) + default)


def same(src, dst):
    if os.path.islink(src) or os.path.islink(dst):
        return os.path.islink(src) and os.path.islink(dst) and os.readlink(src) == os.readlink(dst)
    try:
        s, d = os.stat(src), os.stat(dst)
    except OSError:
        return False
    return s.st_size == d.st_size and int(s.st_mtime) == int(d.st_mtime) and s.st_mode == d.st_mode


def kept(rel):
    return any(rel == k or rel.startswith(k + '/') for k in KEEP)


def sync(repo, dest, only_shipped=False):
    files = git_files(repo)
    if only_shipped:
        patterns = build_ignore_patterns(repo)
        files = set(rel for rel in files if shipped(rel, patterns))
    copied = removed = 0
    for rel in sorted(files):
        src, dst = os.path.join(repo, rel), os.path.join(dest, rel)
        if same(src, dst):
            continue
        parent = os.path.dirname(dst)
        if os.path.lexists(parent) and not os.path.isdir(parent):
            os.remove(parent)
        if not os.path.isdir(parent):
            os.makedirs(parent)
        if os.path.isdir(dst) and not os.path.islink(dst):
            shutil.rmtree(dst)
        elif os.path.lexists(dst):
            os.remove(dst)
        if os.path.islink(src):
            os.symlink(os.readlink(src), dst)
        else:
            shutil.copy2(src, dst)
        copied += 1
    for root, dirs, names in os.walk(dest, topdown=True):
        rel_root = os.path.relpath(root, dest)
        rel_root = '' if rel_root == '.' else rel_root
        for name in list(dirs):
            rel = os.path.join(rel_root, name)
            full = os.path.join(root, name)
            if kept(rel):
                dirs.remove(name)
            elif os.path.islink(full):
                dirs.remove(name)
                if rel not in files:
                    os.remove(full)
                    removed += 1
        for name in names:
            rel = os.path.join(rel_root, name)
            if rel not in files and not kept(rel):
                os.remove(os.path.join(root, name))
                removed += 1
    for root, dirs, names in os.walk(dest, topdown=False):
        rel_root = os.path.relpath(root, dest)
        if root != dest and not kept(rel_root) and not os.listdir(root):
            os.rmdir(root)
    return len(files), copied, removed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repo', required=True)
    parser.add_argument('--dest', required=True)
    parser.add_argument('--shipped', action='store_true', help="only what galaxy.yml's build_ignore lets ship")
    args = parser.parse_args()
    repo, dest = os.path.abspath(args.repo), os.path.abspath(args.dest)
    parts = dest.split(os.sep)
    if len(parts) < 4 or parts[-3] != 'ansible_collections':
        sys.exit('--dest must end in ansible_collections/NAMESPACE/NAME: %s' % dest)
    if not os.path.isdir(dest):
        os.makedirs(dest)
    if not os.path.isdir(os.path.join(dest, '.git')):
        subprocess.check_call(['git', 'init', '-q', dest])
    total, copied, removed = sync(repo, dest, args.shipped)
    print('collection tree %s: %d files (%d copied, %d removed)' % (dest, total, copied, removed))


if __name__ == '__main__':
    main()
