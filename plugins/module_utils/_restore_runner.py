# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The restore runner: runs restore steps, in the module and on its own.

A backend's ``snapshot()`` returns a JSON-serialisable list of steps that put its owned
scope back exactly as it was (runtime and, where the backend has them, permanent files).
The steps must still work when this collection's code is gone (a rollback started after
the module ended), so this file is a program of its own: standard library only, Python
3.6+, no import of the collection.  The module imports it; commit confirmed writes it out
beside its waiter (confirm.py), and ``python _restore_runner.py STEPS.json`` runs it alone.

Steps (each a dict with one of these keys):

- ``{"run": argv, "stdin": text, "ok": [rc, ...]}``: run a command (``ok`` defaults to [0]).
- ``{"write": path, "text": text, "mode": int}``: write a file atomically (temp file, rename).
- ``{"remove": path}``: remove a file if it exists.
- ``{"sync": dir, "prefix": p, "suffix": s, "files": {name: {"text": t, "mode": m}}}``: the files
  of dir whose names start with p and end with s become exactly ``files``.
- ``{"iptables": {"save": argv, "restore": argv, "prefix": p, "chains": [[name, [rules]]],
  "jumps": [[chain, index, rule]]}}``: one ``restore --noflush`` transaction (tested first
  with ``--test``) that removes every chain named p* and every rule elsewhere that jumps
  into one, then declares ``chains`` with their rules and inserts each jump rule into its
  chain after ``index`` rules that are not ours (as many as there are, when fewer).
- ``{"nft": {"nft": path, "prefix": p, "tables": [...]}}``: the same for nftables, one
  ``nft -j -f`` batch (checked first with ``nft -c``): see nft_commands().
- ``{"lock": path, "timeout": seconds}``: hold an exclusive flock on path until the steps end.

Every step is tried even when an earlier one failed; the errors are returned (the runner
exits 1 and prints them).  Text is read and written as UTF-8 with surrogateescape, so any
bytes come back as they were.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import fcntl
import json
import os
import subprocess
import sys
import time

ENCODING = {"encoding": "utf-8", "errors": "surrogateescape"}


def call(argv, stdin=None):
    """(rc, stdout, stderr) of argv, with stdin text.  The module passes its run_command instead;
    this one serves where no AnsibleModule exists (the runner on its own)."""
    process = subprocess.Popen(  # pylint: disable=ansible-bad-function
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    data = None if stdin is None else stdin.encode("utf-8", "surrogateescape")
    out, err = process.communicate(data)
    return (process.returncode, out.decode("utf-8", "surrogateescape"), err.decode("utf-8", "surrogateescape"))


def read_file(path):
    """Text of path, or None when it does not exist."""
    try:
        with open(path, "r", **ENCODING) as handle:
            return handle.read()
    except IOError as exc:
        if exc.errno == 2:
            return None
        raise


def write_file(path, text, mode):
    """Make path hold text with mode, by a temp file and a rename in its directory."""
    if read_file(path) == text and os.stat(path).st_mode & 0o7777 == mode:
        return  # already so: a restore touches nothing that is right
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
    tmp = os.path.join(directory, ".%s.portmatrix-tmp" % os.path.basename(path))
    with open(tmp, "w", **ENCODING) as handle:
        handle.write(text)
    os.chmod(tmp, mode)
    os.rename(tmp, path)


def remove_file(path):
    """Remove path if it exists."""
    if os.path.lexists(path):
        os.remove(path)


def sync_dir(directory, prefix, suffix, files):
    """Make the files of directory named prefix*suffix exactly files ({name: {"text", "mode"}})."""
    if os.path.isdir(directory):
        for name in sorted(os.listdir(directory)):
            if name.startswith(prefix) and name.endswith(suffix) and name not in files:
                os.remove(os.path.join(directory, name))
    for name in sorted(files):
        write_file(os.path.join(directory, name), files[name]["text"], files[name]["mode"])


# --- iptables: iptables-save text in, iptables-restore --noflush payload out ---

def parse_filter(text):
    """The filter table of iptables-save output: (chains {name: policy}, rules {chain: [lines]})."""
    chains = collections.OrderedDict()
    rules = collections.OrderedDict()
    in_filter = False
    for raw in (text or "").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("*"):
            in_filter = line == "*filter"
        elif not in_filter:
            continue
        elif line == "COMMIT":
            in_filter = False
        elif line.startswith(":"):
            name, policy = line[1:].split()[:2]
            chains[name] = policy
            rules.setdefault(name, [])
        elif line.startswith("-A "):
            chain = line.split()[1]
            rules.setdefault(chain, []).append(line)
            chains.setdefault(chain, "-")
    return chains, rules


def rule_target(rule):
    """The chain an iptables-save rule jumps or goes to, or None."""
    words = rule.split()
    for index, word in enumerate(words[:-1]):
        if word in ("-j", "--jump", "-g", "--goto"):
            return words[index + 1]
    return None


def owned_iptables(text, prefix):
    """The owned scope of iptables-save text: (chains [[name, [rules]]], jumps [[chain, index, rule]]);
    index counts the rules of that chain before the jump that are not ours."""
    chains, rules = parse_filter(text)
    owned = [[name, list(rules.get(name, []))] for name in chains if name.startswith(prefix)]
    jumps = []
    for chain, lines in rules.items():
        if chain.startswith(prefix):
            continue
        foreign = 0
        for rule in lines:
            if (rule_target(rule) or "").startswith(prefix):
                jumps.append([chain, foreign, rule])
            else:
                foreign += 1
    return owned, jumps


def iptables_payload(text, prefix, chains, jumps):
    """One iptables-restore --noflush transaction from the state in text to the owned scope given.

    Declaring a chain creates or flushes it; stray jumps are deleted before the wanted ones are
    inserted (positions count rules that are not ours); chains no longer wanted go last."""
    current, current_jumps = owned_iptables(text, prefix)
    existing_rules = parse_filter(text)[1]
    wanted = [name for name, unused in chains]
    stale = [name for name, unused in current if name not in wanted]
    lines = ["*filter"]
    lines += [":%s - [0:0]" % name for name in wanted + stale]
    for unused, rules in chains:
        lines.extend(rules)
    for chain, unused, rule in current_jumps:
        lines.append("-D" + rule[2:])
    inserted = {}
    for chain, index, rule in sorted(jumps, key=lambda jump: jump[1]):
        foreign = len([r for r in existing_rules.get(chain, []) if not (rule_target(r) or "").startswith(prefix)])
        position = min(index, foreign) + inserted.get(chain, 0) + 1
        inserted[chain] = inserted.get(chain, 0) + 1
        lines.append("-I %s %d %s" % (chain, position, rule.split(None, 2)[2]))
    lines += ["-X %s" % name for name in stale]
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"


def restore_iptables(spec, run):
    """Run an "iptables" step: read the table, then one tested restore --noflush transaction."""
    rc, out, err = run(spec["save"])
    if rc != 0:
        raise RuntimeError("%s failed: %s" % (" ".join(spec["save"]), (err or out).strip()))
    payload = iptables_payload(out, spec["prefix"], spec["chains"], spec["jumps"])
    for argv in (spec["restore"] + ["--test", "--noflush"], spec["restore"] + ["--noflush"]):
        rc, out, err = run(argv, payload)
        if rc != 0:
            raise RuntimeError("%s refused the change: %s\n%s" % (" ".join(argv), (err or out).strip(), payload))


# --- nftables: `nft -j list ruleset` in, one JSON batch for `nft -j -f` out ---

def nft_items(ruleset, kind):
    """The objects of one kind ("rule", "chain", "set") of an `nft -j list ruleset` document."""
    return [item[kind] for item in ruleset.get("nftables", []) if kind in item]


def nft_target(rule):
    """The chain an nftables rule jumps or goes to, or None."""
    for statement in rule.get("expr", []):
        for verdict in ("jump", "goto"):
            if isinstance(statement, dict) and verdict in statement:
                return statement[verdict].get("target")
    return None


def nft_owned_jumps(ruleset, prefix):
    """Rules outside our chains that jump (or go) into one, in list order."""
    return [rule for rule in nft_items(ruleset, "rule")
            if not rule["chain"].startswith(prefix) and (nft_target(rule) or "").startswith(prefix)]


def nft_commands(ruleset, prefix, tables):
    """One batch from the ruleset given to the owned scope given.

    Everything named prefix* goes (jumps into our chains by handle, our chains flushed then
    deleted, our sets deleted), then each table gets its sets, chains, rules and jumps; a
    jump at index i is inserted before the i-th rule of its chain that is not ours (appended
    when there are fewer).  tables: [{"family", "name", "sets": [set], "chains": [{"name",
    "rules": [{"expr", "comment"?}]}], "jumps": [{"chain", "index", "expr"}]}]."""
    commands = []
    strays = nft_owned_jumps(ruleset, prefix)
    for rule in strays:
        commands.append({"delete": {"rule": dict((k, rule[k]) for k in ("family", "table", "chain", "handle"))}})
    owned_chains = [c for c in nft_items(ruleset, "chain") if c["name"].startswith(prefix)]
    for verb in ("flush", "delete"):
        for chain in owned_chains:
            commands.append({verb: {"chain": dict((k, chain[k]) for k in ("family", "table", "name"))}})
    for found in nft_items(ruleset, "set"):
        if found["name"].startswith(prefix):
            commands.append({"delete": {"set": dict((k, found[k]) for k in ("family", "table", "name"))}})
    stray_handles = set((r["family"], r["table"], r["chain"], r["handle"]) for r in strays)
    for table in tables:
        where = {"family": table["family"], "table": table["name"]}
        commands.append({"add": {"table": {"family": table["family"], "name": table["name"]}}})
        for found in table["sets"]:
            commands.append({"add": {"set": dict(found, **where)}})
        for chain in table["chains"]:
            commands.append({"add": {"chain": dict(where, name=chain["name"])}})
        for chain in table["chains"]:
            for rule in chain["rules"]:
                commands.append({"add": {"rule": dict(rule, chain=chain["name"], **where)}})
        for jump in sorted(table["jumps"], key=lambda j: j["index"]):
            foreign = [r for r in nft_items(ruleset, "rule")
                       if (r["family"], r["table"], r["chain"]) == (table["family"], table["name"], jump["chain"])
                       and (r["family"], r["table"], r["chain"], r["handle"]) not in stray_handles]
            rule = dict(where, chain=jump["chain"], expr=jump["expr"])
            if jump["index"] < len(foreign):
                commands.append({"insert": {"rule": dict(rule, handle=foreign[jump["index"]]["handle"])}})
            else:
                commands.append({"add": {"rule": rule}})
    return {"nftables": commands}


def nft_owned(ruleset, prefix):
    """The owned scope of a ruleset as the tables argument of nft_commands()."""
    tables = collections.OrderedDict()

    def table(item):
        key = (item["family"], item["table"])
        if key not in tables:
            tables[key] = {"family": key[0], "name": key[1], "sets": [], "chains": [], "jumps": []}
        return tables[key]
    for found in nft_items(ruleset, "set"):
        if found["name"].startswith(prefix):
            table(found)["sets"].append(dict((k, v) for k, v in found.items() if k not in ("family", "table", "handle")))
    chains = collections.OrderedDict()
    for chain in nft_items(ruleset, "chain"):
        if chain["name"].startswith(prefix):
            chains[(chain["family"], chain["table"], chain["name"])] = {"name": chain["name"], "rules": []}
            table(chain)["chains"].append(chains[(chain["family"], chain["table"], chain["name"])])
    foreign = {}
    for rule in nft_items(ruleset, "rule"):
        key = (rule["family"], rule["table"], rule["chain"])
        kept = dict((k, v) for k, v in rule.items() if k in ("expr", "comment"))
        if key in chains:
            chains[key]["rules"].append(kept)
        elif (nft_target(rule) or "").startswith(prefix):
            table(rule)["jumps"].append({"chain": rule["chain"], "index": foreign.get(key, 0), "expr": rule["expr"]})
        else:
            foreign[key] = foreign.get(key, 0) + 1
    return list(tables.values())


def restore_nft(spec, run):
    """Run an "nft" step: read the ruleset, then one batch, checked first with nft -c."""
    nft = spec["nft"]
    rc, out, err = run([nft, "-j", "list", "ruleset"])
    if rc != 0:
        raise RuntimeError("nft -j list ruleset failed: %s" % (err or out).strip())
    batch = json.dumps(nft_commands(json.loads(out), spec["prefix"], spec["tables"]))
    for argv in ([nft, "-j", "-c", "-f", "/dev/stdin"], [nft, "-j", "-f", "/dev/stdin"]):
        rc, out, err = run(argv, batch)
        if rc != 0:
            raise RuntimeError("%s refused the change: %s\n%s" % (" ".join(argv), (err or out).strip(), batch))


# --- is the owned scope still as a step would make it? (the confirmation checks this first) ---

def differs(step, run=call):
    """'' when the running owned scope is what the "iptables" or "nft" step describes, else what
    differs; other steps describe no running state ('')."""
    if "iptables" in step:
        spec = step["iptables"]
        rc, out, err = run(spec["save"])
        if rc != 0:
            return "%s failed: %s" % (" ".join(spec["save"]), (err or out).strip())
        chains, jumps = owned_iptables(out, spec["prefix"])
        if [chains, jumps] != [spec["chains"], spec["jumps"]]:
            return "the owned chains or jumps of %s are no longer those of the change" % spec["save"][0]
    elif "nft" in step:
        spec = step["nft"]
        rc, out, err = run([spec["nft"], "-j", "list", "ruleset"])
        if rc != 0:
            return "nft -j list ruleset failed: %s" % (err or out).strip()
        if nft_owned(json.loads(out), spec["prefix"]) != spec["tables"]:
            return "the owned nftables objects are no longer those of the change"
    return ""


# --- the runner ---

def take_lock(path, timeout):
    """An open handle holding an exclusive flock on path; RuntimeError after timeout seconds."""
    handle = open(path, "a")
    deadline = time.time() + timeout
    while True:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            return handle
        except (IOError, OSError):
            if time.time() >= deadline:
                handle.close()
                raise RuntimeError("%s is still locked after %ss" % (path, timeout))
            time.sleep(0.2)


def run_step(step, run, held):
    """Run one step; locks taken are appended to held (released when the steps end)."""
    if "run" in step:
        rc, out, err = run(step["run"], step.get("stdin"))
        if rc not in step.get("ok", [0]):
            raise RuntimeError("%s: exit %d: %s" % (" ".join(step["run"]), rc, (err or out).strip()))
    elif "write" in step:
        write_file(step["write"], step["text"], step["mode"])
    elif "remove" in step:
        remove_file(step["remove"])
    elif "sync" in step:
        sync_dir(step["sync"], step["prefix"], step["suffix"], step["files"])
    elif "iptables" in step:
        restore_iptables(step["iptables"], run)
    elif "nft" in step:
        restore_nft(step["nft"], run)
    elif "lock" in step:
        held.append(take_lock(step["lock"], step.get("timeout", 60)))
    else:
        raise ValueError("unknown step %r" % (sorted(step),))


def run_steps(steps, run=call):
    """Run every step; return the errors as text (empty when all went well)."""
    errors = []
    held = []
    try:
        for number, step in enumerate(steps, 1):
            try:
                run_step(step, run, held)
            except Exception as exc:  # every step is tried: a restore does what it can
                errors.append("step %d (%s): %s" % (number, sorted(step)[0], exc))
    finally:
        for handle in held:
            handle.close()
    return errors


def main(argv):
    """Run the steps in the JSON file argv[1] (stdin when missing or "-"); 1 when any failed."""
    if len(argv) < 2 or argv[1] == "-":
        steps = json.load(sys.stdin)
    else:
        with open(argv[1], **ENCODING) as handle:
            steps = json.load(handle)
    errors = run_steps(steps)
    for error in errors:
        sys.stderr.write(error + "\n")
    return 1 if errors else 0


if __name__ == "__main__":  # the runner on its own: no AnsibleModule, its exit code is its result
    sys.exit(main(sys.argv))  # pylint: disable=ansible-bad-function
