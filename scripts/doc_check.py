# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ansible-doc every plugin and role of an installed portmatrix.xenserver, then the done-when check.

Usage: python scripts/doc_check.py --collections-path DIR
DIR holds ansible_collections/portmatrix/xenserver (an installed build artifact).
The plugins are discovered from the files: plugins/<type>/<name>.py for the types
ansible-doc documents (filter and test plugins through their <name>.yml doc files),
roles through meta/argument_specs.yml. Exits non-zero if anything fails.
Run it with the Python of the venv whose ansible-doc is first on PATH.
"""
from __future__ import absolute_import, division, print_function

import argparse
import json
import os
import re
import subprocess
import sys

NAMESPACE, NAME = 'portmatrix', 'xenserver'
FQ = '%s.%s' % (NAMESPACE, NAME)

# plugins/ directory -> ansible-doc -t TYPE. Not documented by ansible-doc: action
# (documented by its module), module_utils, doc_fragments, plugin_utils.
DOC_TYPES = {
    'modules': 'module', 'lookup': 'lookup', 'filter': 'filter', 'test': 'test',
    'callback': 'callback', 'inventory': 'inventory', 'connection': 'connection',
    'become': 'become', 'cache': 'cache', 'vars': 'vars', 'shell': 'shell',
    'strategy': 'strategy', 'cliconf': 'cliconf', 'httpapi': 'httpapi', 'netconf': 'netconf',
}
# Types whose files may hold several plugins, each documented by a <name>.yml file.
YAML_DOCUMENTED = ('filter', 'test')


def discover(root):
    found = []
    plugins = os.path.join(root, 'plugins')
    for directory, doc_type in sorted(DOC_TYPES.items()):
        base = os.path.join(plugins, directory)
        if not os.path.isdir(base):
            continue
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames if d != '__pycache__')
            for filename in sorted(filenames):
                stem, ext = os.path.splitext(filename)
                if stem.startswith('_'):
                    continue
                if doc_type in YAML_DOCUMENTED:
                    if ext not in ('.yml', '.yaml'):
                        continue
                elif ext != '.py':
                    continue
                rel = os.path.relpath(os.path.join(dirpath, stem), base).replace(os.sep, '.')
                found.append((doc_type, '%s.%s' % (FQ, rel)))
    roles = os.path.join(root, 'roles')
    if os.path.isdir(roles):
        for role in sorted(os.listdir(roles)):
            meta = os.path.join(roles, role, 'meta')
            if any(os.path.isfile(os.path.join(meta, 'argument_specs' + ext)) for ext in ('.yml', '.yaml')):
                found.append(('role', '%s.%s' % (FQ, role)))
            elif os.path.isdir(os.path.join(roles, role)):
                print('note: role %s has no meta/argument_specs.yml: no role documentation to check' % role)
    return found


def run(cmd, env):
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, universal_newlines=True)
    out, errs = proc.communicate()
    return proc.returncode, out, errs


# Warnings about ansible-core itself, not about this collection: ignored.
BENIGN_WARNINGS = (
    # ansible-core 2.19+ ships internal collections (ansible._protomatter) without a
    # MANIFEST.json; `ansible-doc -t role` walks them and warns.
    re.compile(r"Collection at '[^']*/ansible/_internal/ansible_collections/[^']*' does not have a MANIFEST\.json"),
)


def real_problems(errs):
    """stderr less benign warnings: the [WARNING]/[ERROR]/ERROR blocks that remain."""
    blocks = re.split(r'(?=\[WARNING\]|\[ERROR\]|^ERROR)', errs, flags=re.M)
    kept = []
    for block in blocks:
        text = ' '.join(block.split())
        if not text:
            continue
        if any(pattern.search(text) for pattern in BENIGN_WARNINGS):
            continue
        if '[WARNING]' in text or 'ERROR' in text:
            kept.append(text)
    return kept


def check_doc(doc_type, name, env):
    """ansible-doc must succeed, print no warning and return documentation for the plugin."""
    rc, out, errs = run(['ansible-doc', '-t', doc_type, '--json', name], env)
    problems = []
    if rc != 0:
        problems.append('exit %d' % rc)
    warnings = real_problems(errs)
    if warnings:
        problems.append('stderr: %s' % ' | '.join(warnings))
    if rc == 0:
        try:
            data = json.loads(out)
        except ValueError:
            problems.append('output is not JSON')
        else:
            entry = data.get(name) or {}
            doc = entry.get('doc') if doc_type != 'role' else entry.get('entry_points')
            if not doc:
                problems.append('no documentation returned')
    if not problems:
        # The human-readable rendering must work too (it has failed where --json did not).
        rc, out, errs = run(['ansible-doc', '-t', doc_type, name], env)
        if rc != 0 or real_problems(errs):
            problems.append('text rendering: exit %d %s' % (rc, ' | '.join(real_problems(errs))))
    return problems


def done_when(env):
    """The lookup answers for the license server with ports 27000 and 7279."""
    expression = "msg={{ lookup('%s.ports', destination='license_server', wantlist=True) }}" % FQ
    cmd = ['ansible', 'localhost', '-m', 'debug', '-a', expression]
    print('$ ' + ' '.join("'%s'" % c if ' ' in c else c for c in cmd))
    rc, out, errs = run(cmd, env)
    sys.stdout.write(out)
    sys.stdout.write(errs)
    missing = [port for port in ('27000', '7279') if port not in out]
    if rc != 0 or missing:
        print('FAIL done-when check: exit %d, ports missing from the output: %s' % (rc, ', '.join(missing) or 'none'))
        return False
    print('ok   done-when check: license_server -> 27000 and 7279')
    return True


def tree_files(root):
    return sorted(os.path.join(d, f) for d, _dirs, files in os.walk(root) for f in files if '__pycache__' not in d)


def flows_from_installed(env, root):
    """docs/guides/build-out.md step 2 as written, from a directory of the user's: the flows land
    there (relative to where ansible-playbook runs), twice in a row, and also where the
    inventory says; the installed collection gets no file."""
    import shutil
    import tempfile
    inventory = os.path.join(root, 'docs', 'example-inventory.yml')
    before = tree_files(root)
    work = tempfile.mkdtemp(prefix='pmx-flows-')
    ok = True
    try:
        for attempt in (1, 2):
            cmd = ['ansible-playbook', '-i', inventory, FQ + '.flows', '-e', 'portmatrix_flows_dir=./flows']
            rc, out, errs = run_in(cmd, env, work)
            written = sorted(os.listdir(os.path.join(work, 'flows'))) if os.path.isdir(os.path.join(work, 'flows')) else []
            if rc != 0 or 'flows.csv' not in written or 'change-request.md' not in written:
                print('FAIL flows from the installed collection, run %d: exit %d, written %s\n%s%s' % (attempt, rc, written, out[-2000:], errs[-2000:]))
                ok = False
        with open(inventory) as handle:
            text = handle.read()
        own = os.path.join(work, 'inventory.yml')
        with open(own, 'w') as handle:
            handle.write(text.replace('all:\n  vars:\n', 'all:\n  vars:\n    portmatrix_flows_dir: from-inventory\n', 1))
        rc, out, errs = run_in(['ansible-playbook', '-i', own, FQ + '.flows'], env, work)
        if rc != 0 or not os.path.isfile(os.path.join(work, 'from-inventory', 'flows.json')):
            print('FAIL flows: portmatrix_flows_dir set in the inventory was not used (exit %d)' % rc)
            ok = False
        if tree_files(root) != before:
            print('FAIL flows wrote into the installed collection: %s' % sorted(set(tree_files(root)) - set(before)))
            ok = False
    finally:
        shutil.rmtree(work)
    if ok:
        print('ok   flows from the installed collection: ./flows (twice) and the inventory\'s portmatrix_flows_dir')
    return ok


def run_in(cmd, env, cwd):
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=cwd,
                          universal_newlines=True, timeout=300, check=False)
    return proc.returncode, proc.stdout, proc.stderr


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--collections-path', required=True)
    args = parser.parse_args()
    cpath = os.path.abspath(args.collections_path)
    root = os.path.join(cpath, 'ansible_collections', NAMESPACE, NAME)
    if not os.path.isdir(root):
        sys.exit('%s is not installed under %s' % (FQ, cpath))

    env = dict(os.environ)
    env.update(ANSIBLE_COLLECTIONS_PATH=cpath, ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0',
               ANSIBLE_DEPRECATION_WARNINGS='1', ANSIBLE_LOCALHOST_WARNING='0', ANSIBLE_INVENTORY_UNPARSED_WARNING='0')
    rc, out, errs = run(['ansible-doc', '--version'], env)
    print(out.splitlines()[0] if out else errs)

    failures = 0
    plugins = discover(root)
    for doc_type, name in plugins:
        problems = check_doc(doc_type, name, env)
        if problems:
            failures += 1
            print('FAIL ansible-doc -t %s %s: %s' % (doc_type, name, '; '.join(problems)))
        else:
            print('ok   ansible-doc -t %s %s' % (doc_type, name))
    print('ansible-doc: %d plugin(s)/role(s), %d failed' % (len(plugins), failures))

    if os.path.isfile(os.path.join(root, 'plugins', 'lookup', 'ports.py')):
        if not done_when(env):
            failures += 1
    else:
        print('skip done-when check: plugins/lookup/ports.py does not exist yet')
    if not flows_from_installed(env, root):
        failures += 1
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
