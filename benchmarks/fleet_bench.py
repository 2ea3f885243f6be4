#!/usr/bin/env python3
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet benchmark: ping, site and drift over real SSH on N dom0-like lab hosts (root).

    .venv/core216/bin/python benchmarks/fleet_bench.py --hosts 50,200 [--prefix qhf-] [--json out.json]
    .venv/core216/bin/python benchmarks/fleet_bench.py --quick            # 10 hosts, a smoke run

The lab (lab/README.md) builds an estate generated here (fleet_estate()): N hosts with sshd and
iptables only, no firewalld: pool hosts of the XenServer 8 kind (dom0's stock iptables, xapi's
chain, the xe stand-in, Python 3.6) in pools of 16 (one pool in four clustered), one NFS filer
per about 70 hosts and one license server per 1,000 (at least one each; Debian kind, iptables).
Ansible connects as in the lab: from the lab's controller namespace (ProxyCommand `ip netns exec
<prefix>ctl nc <host> 22`), so every host's sshd and firewall are in the path.

For each settings profile it times, each from closed SSH connections (a new AWX job):
  - `ansible all -m ping`;
  - the site playbook on stock hosts (first run: every host changes, with commit confirmed);
  - the site playbook again (no change);
  - the drift playbook (check mode, no drift);
and for a ControlPersist profile also ping and drift again with the connections kept open.
Profiles: defaults (ansible-core's: forks 5, no pipelining, ControlPersist=60s), fast (forks
--forks, pipelining, ControlPersist=30m, no SSH compression; default rollout) and
fast-unstaged (the same with portmatrix_rollout_staged=false: every host in one batch).
The lab is put back to stock (labctl reset) before each profile's first run.

Reported per run: wall seconds, seconds per host, the ratio to the profile's ping, the CPU
seconds of the controller (ansible, its workers and ssh clients) and of the hosts (their SSH
sessions: each sshd's reaped children, counted once the connections are closed; not for the
warm runs), the ratio of that CPU to the ping's (what the load of a shared machine changes
least), the load average, the rollout's batches.
Then where the no-change drift of the largest N spends its time (per task: wall and host
seconds, from the fleet_timing callback beside this file; SSH commands per host counted from
-vvv on one host), and the extrapolation to 1,000 and 5,000 hosts: linear in the hosts from the
two largest sizes, plus the waves of the default rollout (engine.rollout on the same estate
shape and on controller_bench's synthetic inventory) times the measured cost of a wave.
Goal: a no-change drift costs at most 2x a ping at 200 hosts (exit 1 when missed, 2 on error).

Not measured: the sliced apply of issue 15 (it needs the plan artifact, not built yet).
The lab is torn down at the end, also after a failure or Ctrl-C; every run has a time bound.
"""

import argparse
import json
import math
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(ROOT, "lab"))

POOL_SIZE = 16
HOSTS_PER_FILER = 70
HOSTS_PER_LICENSE_SERVER = 1000
DOM0_PYTHON = "/root/.pyenv/versions/3.6.15/bin/python3.6"   # XenServer 8 dom0's Python
MAX_LAB_HOSTS = 249            # one /24; the controller has .250
GOAL_HOSTS, GOAL_RATIO = 200, 2.0
EXTRAPOLATE = (1000, 5000)
RECAP_RE = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)
FAST_SSH_ARGS = "-o ControlMaster=auto -o ControlPersist=30m"


class BenchError(RuntimeError):
    """A run failed or did not do what it should (the numbers would mean nothing)."""


# ---- the estate ------------------------------------------------------------------------------

def fleet_shape(size):
    """(pool hosts, filers, license servers) of a fleet of `size` hosts."""
    license_servers = 1 + size // HOSTS_PER_LICENSE_SERVER
    filers = max(1, int(round(size / float(HOSTS_PER_FILER))))
    return size - filers - license_servers, filers, license_servers


def fleet_hosts(size):
    """[(name, short, component, pool or None)] of a fleet of `size` hosts."""
    pool_hosts, filers, license_servers = fleet_shape(size)
    hosts = []
    for i in range(pool_hosts):
        pool, member = i // POOL_SIZE + 1, i % POOL_SIZE + 1
        hosts.append(("xs%03d-%02d" % (pool, member), "p%dh%d" % (pool, member), "pool_host", "pool%03d" % pool))
    hosts += [("filer%02d" % (i + 1), "f%d" % (i + 1), "nfs_filer", None) for i in range(filers)]
    hosts += [("license%02d" % (i + 1), "l%d" % (i + 1), "license_server", None) for i in range(license_servers)]
    return hosts


def clustered(pool):
    return int(pool[4:]) % 4 == 1   # pool001, pool005, ...: one in four


def fleet_estate(size):
    """The lab estate (lab/README.md schema) of `size` hosts: sshd and iptables only."""
    if not 3 <= size <= MAX_LAB_HOSTS:
        raise BenchError("the lab has one /24: 3 to %d hosts, not %d" % (MAX_LAB_HOSTS, size))
    hosts, pools = {}, {}
    for addr, (name, short, component, pool) in enumerate(fleet_hosts(size), start=1):
        spec = {"short": short, "addr": addr, "components": [component]}
        if pool:
            pools[pool] = {"clustered": clustered(pool)}
            spec.update(firewall="xenserver", pool=pool, iface="xenbr0", python=DOM0_PYTHON)
        else:
            spec["firewall"] = "debian"
        hosts[name] = spec
    return {"network": {"ipv4": "198.18.77.0/24", "ipv6": "fd77:18:77::/64"}, "pools": pools,
            "groups": {"pool_host": "pool_hosts", "nfs_filer": "nfs_filers", "license_server": "license_servers"},
            # no listener ports: the benchmark sends no traffic but SSH
            "listen": {"tcp": [], "udp": []}, "control_ports": {"tcp": [], "udp": []}, "hosts": hosts}


def fleet_inventory(size):
    """The same shape as an inventory without the lab (any size): (groups, hostvars, estate vars)."""
    groups, hostvars, pools = {}, {}, set()
    for index, (name, _short, component, pool) in enumerate(fleet_hosts(size)):
        hostvars[name] = {"portmatrix_addresses": ["198.18.%d.%d" % (index // 250, index % 250 + 1),
                                                  "fd00:18::%x" % (index + 1)]}
        groups.setdefault(component + "s", []).append(name)
        if pool:
            hostvars[name]["portmatrix_pool"] = pool
            pools.add(pool)
    groups["all"] = list(hostvars)
    return groups, hostvars, {"portmatrix_clustered_pools": sorted(p for p in pools if clustered(p))}


def rollout_waves(groups, hostvars, extra):
    """Waves of the default rollout (canary 1) over every host, as the site playbook orders them."""
    from ansible_collections.portmatrix.xenserver.plugins.plugin_utils import engine, inventory
    hosts = list(groups["all"])
    data = inventory.compute(groups, hostvars, hosts, extra)
    if data["errors"]:
        raise BenchError("inventory of %d hosts: %s" % (len(hosts), data["errors"][:3]))
    return len(engine.rollout(data["calls"], hosts, 1)["batches"])


def wave_counts(sizes):
    """{size: {"fleet": waves, "synthetic": waves}}: the fleet shape and controller_bench's inventory."""
    sys.path.insert(0, HERE)
    from controller_bench import synthetic_inventory
    counts = {}
    for size in sizes:
        _inv, groups, hostvars, clustered_pools = synthetic_inventory(size)
        counts[size] = {"fleet": rollout_waves(*fleet_inventory(size)),
                        "synthetic": rollout_waves(groups, hostvars, {"portmatrix_clustered_pools": clustered_pools})}
    return counts


# ---- running Ansible -------------------------------------------------------------------------

class Runner:
    """Runs ansible / ansible-playbook against the lab, each run bounded in time."""

    def __init__(self, lab, bindir, collections, logdir):
        self.lab, self.bindir, self.logdir = lab, bindir, logdir
        self.cp_dir = os.path.join(lab.state_dir, "ansible-cp")
        self.base_env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_NOCOLOR="1",
                             ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_RETRY_FILES_ENABLED="False",
                             ANSIBLE_CALLBACK_PLUGINS=os.path.join(HERE, "fleet_timing"),
                             ANSIBLE_CALLBACKS_ENABLED="fleet_timing", ANSIBLE_LOCAL_TEMP=os.path.join(logdir, "tmp"))
        self.serial = 0

    def close_connections(self):
        """Close the SSH masters of the lab's control path dir (a cold start, like a new AWX job)."""
        if not os.path.isdir(self.cp_dir):
            return 0
        sockets = sorted(os.listdir(self.cp_dir))[:4 * MAX_LAB_HOSTS]   # bounded: at most a few per host
        for name in sockets:
            subprocess.run(["ssh", "-o", "ControlPath=" + os.path.join(self.cp_dir, name), "-O", "exit", "lab"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=15, check=False)
        return len(sockets)

    def run(self, label, argv, env, timeout):
        """(seconds, controller CPU seconds, output, timing report, rc) of one run."""
        self.serial += 1
        log = os.path.join(self.logdir, "%02d-%s.log" % (self.serial, label))
        timing = os.path.join(self.logdir, "%02d-%s.timing.json" % (self.serial, label))
        env = dict(self.base_env, FLEET_TIMING_FILE=timing, **env)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        with open(log, "w") as out:
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=self.logdir,
                                    start_new_session=True)
            try:
                rc = proc.wait(timeout=timeout)
            except BaseException:
                _stop_group(proc)
                raise
        elapsed = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        with open(log) as handle:
            output = handle.read()
        report = None
        if os.path.exists(timing):
            with open(timing) as handle:
                report = json.load(handle)
        return elapsed, cpu, output, report, rc, log


def _stop_group(proc):
    """Stop the run we started and its workers (its own session: pgid = its pid)."""
    for sig, grace in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def lab_cpu(lab):
    """CPU seconds the lab hosts' SSH sessions used so far: each sshd's reaped children (the
    sessions, their shells and modules), from /proc/<pid>/stat cutime + cstime."""
    ticks, total = os.sysconf("SC_CLK_TCK"), 0
    for host in lab.info()["hosts"].values():
        pid = host.get("pids", {}).get("sshd")
        try:
            with open("/proc/%d/stat" % pid) as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except (OSError, TypeError, IndexError):
            continue
        total += int(fields[13]) + int(fields[14])   # cutime, cstime (fields 16 and 17 of stat)
    return total / float(ticks)


def recap(output):
    return {m.group(1): {"ok": int(m.group(2)), "changed": int(m.group(3)), "unreachable": int(m.group(4)),
                         "failed": int(m.group(5))} for m in RECAP_RE.finditer(output)}


def profiles(forks):
    fast = {"ANSIBLE_PIPELINING": "True", "ANSIBLE_SSH_ARGS": FAST_SSH_ARGS}
    return [
        {"name": "defaults", "forks": 5, "env": {}, "extra": [], "warm": False, "ping": True, "drift": True},
        {"name": "fast", "forks": forks, "env": fast, "extra": [], "warm": True, "ping": True, "drift": True},
        # drift is not staged when it only reports: it would repeat the fast profile's drift
        {"name": "fast-unstaged", "forks": forks, "env": fast, "extra": ["-e", "portmatrix_rollout_staged=false"],
         "warm": False, "ping": False, "drift": False},
    ]


def bench_size(lab, runner, size, chosen, log, rows):
    """Every run of every profile on a lab of `size` hosts, appended to rows as they end."""
    inventory = lab.inventory_path
    ansible, playbook = os.path.join(runner.bindir, "ansible"), os.path.join(runner.bindir, "ansible-playbook")
    bound = 300 + 15 * size   # seconds per run: far above what a run takes here
    pings = {}

    def measure(profile, what, argv, check, warm=False):
        if not warm:
            runner.close_connections()
        load = os.getloadavg()[0]
        env = dict(profile["env"], ANSIBLE_FORKS=str(profile["forks"]))
        label = "%d-%s-%s" % (size, profile["name"], what.replace(" ", "-"))
        hosts_cpu = lab_cpu(lab)
        seconds, cpu, output, report, rc, logfile = runner.run(label, argv, env, bound)
        if not warm:
            # a session's CPU is counted when it ends: close them (ControlPersist keeps them open)
            runner.close_connections()
            time.sleep(1)
        hosts_cpu = None if warm else lab_cpu(lab) - hosts_cpu
        problem = check(rc, output)
        if problem:
            raise BenchError("%s, %s, %d hosts: %s (log: %s)" % (profile["name"], what, size, problem, logfile))
        if what.startswith("ping"):
            pings[(profile["name"], warm)] = seconds
        row = {"hosts": size, "profile": profile["name"], "forks": profile["forks"], "run": what, "seconds": round(seconds, 2),
               "per_host": round(seconds / size, 3), "controller_cpu": round(cpu, 1),
               "hosts_cpu": round(hosts_cpu, 1) if hosts_cpu is not None else None,
               "load": round((load + os.getloadavg()[0]) / 2, 1),
               "batches": len((report or {}).get("rollout_batches") or []) or None, "timing": report, "log": logfile}
        ping = pings.get((profile["name"], warm)) or pings.get(("fast", warm)) or pings.get(("fast", False))
        row["vs_ping"] = round(seconds / ping, 2) if ping else None
        rows.append(row)
        log("  %-13s %-22s %7.1f s  %5.3f s/host  x%-5s cpu %6.1f + %6s s  load %.1f%s" % (
            profile["name"], what, seconds, row["per_host"], row["vs_ping"], cpu, row["hosts_cpu"], row["load"],
            "  batches %d" % row["batches"] if row["batches"] else ""))
        return row

    def pinged(rc, output):
        ok = output.count(" | SUCCESS")
        return None if rc == 0 and ok == size else "rc %d, %d of %d hosts answered" % (rc, ok, size)

    def every_host_changed(rc, output):
        hosts = recap(output)
        changed = sum(1 for r in hosts.values() if r["changed"])
        bad = [h for h, r in hosts.items() if r["failed"] or r["unreachable"]]
        if rc or bad or changed != size:
            return "rc %d, %d of %d hosts changed, failed or unreachable: %s" % (rc, changed, size, bad[:5])
        return None

    def nothing_changed(rc, output):
        hosts = recap(output)
        changed = [h for h, r in hosts.items() if r["changed"]]
        bad = [h for h, r in hosts.items() if r["failed"] or r["unreachable"]]
        if rc or changed or bad or len(hosts) < size:
            return "rc %d, changed: %s, failed or unreachable: %s, %d hosts in the recap" % (
                rc, changed[:5], bad[:5], len(hosts))
        return None

    for number, profile in enumerate(p for p in profiles(chosen["forks"]) if p["name"] in chosen["profiles"]):
        if number:
            runner.close_connections()
            started = time.perf_counter()
            lab.reset()
            log("  (lab reset to stock in %.1f s)" % (time.perf_counter() - started))
        ping = [ansible, "all", "-i", inventory, "-m", "ansible.builtin.ping"]
        site = [playbook, "-i", inventory, "portmatrix.xenserver.site"] + profile["extra"]
        drift = [playbook, "-i", inventory, "portmatrix.xenserver.drift"]
        if profile["ping"] or "fast" not in chosen["profiles"]:
            measure(profile, "ping", ping, pinged)
        measure(profile, "site first run", site, every_host_changed)
        measure(profile, "site no change", site, nothing_changed)
        if profile["drift"]:
            measure(profile, "drift no change", drift, nothing_changed)
        if profile["warm"] and chosen["warm"]:
            measure(profile, "ping warm", ping, pinged, warm=True)
            measure(profile, "drift no change warm", drift, nothing_changed, warm=True)


def ssh_commands(runner, lab, bindir, host, forks):
    """SSH commands (ssh, sftp, scp invocations) per host for ping and drift, from -vvv on one host."""
    counts = {}
    for name, env in (("defaults", {}), ("fast", {"ANSIBLE_PIPELINING": "True", "ANSIBLE_SSH_ARGS": FAST_SSH_ARGS})):
        for what, argv in (("ping", [os.path.join(bindir, "ansible"), host, "-m", "ansible.builtin.ping"]),
                           ("drift", [os.path.join(bindir, "ansible-playbook"), "portmatrix.xenserver.drift",
                                      "--limit", host])):
            runner.close_connections()
            full = argv[:1] + ["-i", lab.inventory_path, "-vvv"] + argv[1:]
            _s, _c, output, _r, rc, logfile = runner.run("vvv-%s-%s" % (name, what), full,
                                                           dict(env, ANSIBLE_FORKS=str(forks)), 300)
            if rc:
                raise BenchError("-vvv %s on %s failed (rc %d, log %s)" % (what, host, rc, logfile))
            counts[(name, what)] = len(re.findall(r"SSH: EXEC (?:ssh|sftp|scp) ", output))
    return counts


# ---- the report ------------------------------------------------------------------------------

def cpu_ratios(rows):
    """(controller + hosts CPU) of each cold run over its profile's cold ping's: the cost ratio that
    the machine's load does not change much."""
    pings = dict(((r["hosts"], r["profile"]), r) for r in rows if r["run"] == "ping" and r.get("hosts_cpu") is not None)
    for r in rows:
        ping = pings.get((r["hosts"], r["profile"])) or pings.get((r["hosts"], "fast"))
        r["vs_ping_cpu"] = (round((r["controller_cpu"] + r["hosts_cpu"]) / (ping["controller_cpu"] + ping["hosts_cpu"]), 2)
                            if ping and r.get("hosts_cpu") is not None else None)


def table(rows):
    cpu_ratios(rows)
    lines = ["| hosts | profile (forks) | run | seconds | s/host | x ping | CPU s: controller | hosts | x ping (CPU) | load |",
             "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append("| %d | %s (%d) | %s | %.1f | %.3f | %s | %.1f | %s | %s | %.1f |" % (
            r["hosts"], r["profile"], r["forks"], r["run"] + (" (%d batches)" % r["batches"] if r["batches"] else ""),
            r["seconds"], r["per_host"], "%.2f" % r["vs_ping"] if r["vs_ping"] else "-", r["controller_cpu"],
            "-" if r.get("hosts_cpu") is None else "%.1f" % r["hosts_cpu"],
            "-" if r.get("vs_ping_cpu") is None else "%.2f" % r["vs_ping_cpu"], r["load"]))
    return "\n".join(lines)


def cost_centres(row, top=8):
    """Lines: where a run spent its time, per task (from the fleet_timing callback)."""
    report = row["timing"] or {}
    tasks = sorted(report.get("tasks", []), key=lambda t: -t["wall"])
    counted = sum(t["wall"] for t in tasks)
    lines = ["%s, %s, %d hosts: %.1f s wall (callback: %.1f s; %.1f s in tasks, %.1f s between them: "
             "inventory, includes, strategy)" % (row["profile"], row["run"], row["hosts"], row["seconds"],
                                                  report.get("wall", 0), counted, report.get("wall", 0) - counted)]
    lines.append("  %-58s %8s %8s %9s %8s" % ("task", "wall s", "hosts", "host-s", "max s"))
    for t in tasks[:top]:
        lines.append("  %-58s %8.1f %8d %9.1f %8.2f" % (t["task"].replace("portmatrix.xenserver.", "")[:58], t["wall"],
                                                        t["hosts"], t["host_seconds"], t["max_host"]))
    return lines


def extrapolate(rows, waves):
    """{(profile, run): {size: seconds}}: linear in hosts from the two largest sizes measured; staged
    site runs add (waves(size) - waves measured) x the cost of one wave (staged minus unstaged)."""
    measured = {}
    for r in rows:
        measured.setdefault((r["profile"], r["run"]), {})[r["hosts"]] = r
    sizes = sorted({r["hosts"] for r in rows})
    if len(sizes) < 2:
        return {}, None
    small, large = sizes[-2], sizes[-1]
    wave_cost = None
    staged = measured.get(("fast", "site no change"), {}).get(large)
    unstaged = measured.get(("fast-unstaged", "site no change"), {}).get(large)
    if staged and unstaged and staged["batches"] and staged["batches"] > 1:
        wave_cost = max(0.0, (staged["seconds"] - unstaged["seconds"]) / (staged["batches"] - 1))
    else:
        # without an unstaged run: the apply play of the smallest size's staged run, per wave (its
        # waves hold few hosts, so a wave takes about one host's time); Ansible starts the play
        # again for each batch: plays after the first (the rollout's) are the waves
        staged = measured.get(("fast", "site no change"), {}).get(sizes[0])
        plays = ((staged or {}).get("timing") or {}).get("plays") or []
        if staged and staged["batches"] and len(plays) > 1:
            wave_cost = sum(p["wall"] for p in plays[1:]) / len(plays[1:])
    out = {}
    for key, by_size in measured.items():
        if small not in by_size or large not in by_size:
            continue
        per_host = (by_size[large]["seconds"] - by_size[small]["seconds"]) / float(large - small)
        estimates = {}
        for size in EXTRAPOLATE:
            seconds = by_size[large]["seconds"] + per_host * (size - large)
            batches = by_size[large]["batches"]
            if wave_cost and batches and batches > 1 and size in waves:
                seconds += (waves[size]["fleet"] - batches) * wave_cost
            estimates[size] = seconds
        out[key] = estimates
    return out, wave_cost


def machine():
    model = "?"
    with open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as handle:
        mem_kb = int(handle.readline().split()[1])
    return {"nproc": os.cpu_count(), "memory_gb": round(mem_kb / 1024.0 / 1024.0, 1), "cpu": model,
            "python": sys.version.split()[0]}


def save_json(path, info, rows, waves, **more):
    with open(path, "w") as handle:
        json.dump(dict({"machine": info, "rows": rows, "waves": waves}, **more), handle, indent=1)


def collections_tree():
    root = tempfile.mkdtemp(prefix="pmx-fleet-bench-collections-")
    os.makedirs(os.path.join(root, "ansible_collections", "portmatrix"))
    os.symlink(ROOT, os.path.join(root, "ansible_collections", "portmatrix", "xenserver"))
    return root


def _interrupted(signum, _frame):
    raise KeyboardInterrupt("signal %d" % signum)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", default="50,200", help="lab sizes, comma-separated (default 50,200)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 10 hosts")
    parser.add_argument("--prefix", default="qhf-", help="lab prefix (3-9 of [a-z0-9], ending in -)")
    parser.add_argument("--forks", type=int, default=50, help="forks of the fast profiles (default 50)")
    parser.add_argument("--profiles", default="defaults,fast,fast-unstaged")
    parser.add_argument("--no-warm", action="store_true", help="skip the runs over kept SSH connections")
    parser.add_argument("--previous", help="the --json of an earlier run (other sizes): its rows join the table "
                                            "and the extrapolation")
    parser.add_argument("--json", help="write every row, the machine and the extrapolation here")
    parser.add_argument("--keep-logs", action="store_true", help="keep the run logs (their directory is printed)")
    args = parser.parse_args(argv)
    sizes = [10] if args.quick else [int(s) for s in args.hosts.split(",")]
    chosen = {"forks": args.forks, "profiles": args.profiles.split(","), "warm": not args.no_warm}
    unknown = set(chosen["profiles"]) - {p["name"] for p in profiles(args.forks)}
    if unknown:
        parser.error("unknown profiles: %s" % ", ".join(sorted(unknown)))
    if os.geteuid() != 0:
        parser.error("run as root: the lab uses network and mount namespaces")
    for size in sizes:
        fleet_estate(size)   # a size the lab cannot hold fails before anything is built
    signal.signal(signal.SIGTERM, _interrupted)
    signal.signal(signal.SIGHUP, _interrupted)

    from portmatrix_lab.lab import Lab

    def log(message):
        print(message, flush=True)

    bindir = os.path.dirname(sys.executable)
    collections = collections_tree()
    sys.path.insert(0, collections)
    work = tempfile.mkdtemp(prefix="pmx-fleet-bench-")
    os.makedirs(os.path.join(work, "tmp"))
    info = machine()
    log("machine: %(nproc)d CPUs (%(cpu)s), %(memory_gb).1f GB, Python %(python)s" % info)
    rows, failures, vvv, status = [], [], None, 0
    lab = Lab(prefix=args.prefix, state_dir="/tmp/" + args.prefix.rstrip("-"), log=lambda m: None)
    try:
        waves = wave_counts(sorted(set(sizes) | set(EXTRAPOLATE)))
        for size in sizes:
            estate_file = os.path.join(work, "estate-%d.yml" % size)
            with open(estate_file, "w") as handle:
                yaml.safe_dump(fleet_estate(size), handle, sort_keys=False)
            pool_hosts, filers, license_servers = fleet_shape(size)
            log("%d hosts: %d pool hosts in %d pools, %d NFS filers, %d license servers; default rollout: %d waves"
                % (size, pool_hosts, int(math.ceil(pool_hosts / float(POOL_SIZE))), filers, license_servers,
                   waves[size]["fleet"]))
            started = time.perf_counter()
            lab.up(estate_file)
            log("  lab up in %.1f s (load %.1f)" % (time.perf_counter() - started, os.getloadavg()[0]))
            first = fleet_hosts(size)[0][0]
            seen = lab.ssh(first, 'echo "$SSH_CONNECTION"')
            controller = lab.info()["controller"]["ipv4"]
            if seen.returncode or not seen.stdout.startswith(controller + " "):
                raise BenchError("SSH to %s does not come from the lab controller %s: %r" % (first, controller, seen.stdout))
            runner = Runner(lab, bindir, collections, work)
            bench_size(lab, runner, size, chosen, log, rows)
            if args.json:   # what is measured so far, in case a later size fails
                save_json(args.json, info, rows, waves)
            if size == max(sizes):
                vvv = ssh_commands(runner, lab, bindir, first, args.forks)
            runner.close_connections()
            started = time.perf_counter()
            lab.down()
            log("  lab down in %.1f s" % (time.perf_counter() - started))
    except BenchError as exc:
        log("FAILED: %s" % exc)
        status = 2
    except KeyboardInterrupt:
        log("interrupted")
        status = 130
    finally:
        try:
            if os.path.isdir(os.path.join(lab.state_dir, "ansible-cp")):
                Runner(lab, bindir, collections, work).close_connections()
        finally:
            lab.down()
            os.unlink(os.path.join(collections, "ansible_collections", "portmatrix", "xenserver"))
            shutil.rmtree(collections, ignore_errors=True)
    if not rows:
        return status or 2
    if args.previous:
        with open(args.previous) as handle:
            rows = [r for r in json.load(handle)["rows"] if r["hosts"] not in sizes] + rows

    print("\n" + table(rows))
    largest = max(r["hosts"] for r in rows)
    drift = [r for r in rows if r["run"] == "drift no change" and r["hosts"] == largest]
    for row in drift:
        print()
        print("\n".join(cost_centres(row)))
    if vvv:
        print("\nSSH commands per host (-vvv, one host): " + ", ".join(
            "%s %s %d" % (profile, what, count) for (profile, what), count in sorted(vvv.items())))
    estimates, wave_cost = extrapolate(rows, waves)
    if estimates:
        print("\nExtrapolated (linear in hosts from %s; waves of the default rollout: %s; one wave %s):" % (
            " and ".join(str(s) for s in sorted({r["hosts"] for r in rows})[-2:]),
            ", ".join("%d hosts %d (controller_bench's inventory: %d)" % (s, w["fleet"], w["synthetic"])
                      for s, w in sorted(waves.items()) if s in EXTRAPOLATE),
            "%.1f s" % wave_cost if wave_cost is not None else "not measured"))
        for (profile, run), by_size in sorted(estimates.items()):
            print("  %-13s %-22s %s" % (profile, run, "  ".join("%d hosts %7.0f s (%.1f min)" % (s, v, v / 60.0)
                                                                 for s, v in sorted(by_size.items()))))
    for row in drift:
        ping = next((r for r in rows if r["hosts"] == row["hosts"] and r["profile"] == row["profile"] and r["run"] == "ping"),
                    None)
        if row["hosts"] == GOAL_HOSTS and ping and row["seconds"] > GOAL_RATIO * ping["seconds"]:
            failures.append("%s: no-change drift at %d hosts costs %.2fx a ping (goal: at most %.0fx)" % (
                row["profile"], row["hosts"], row["seconds"] / ping["seconds"], GOAL_RATIO))
    if args.json:
        save_json(args.json, info, rows, waves, wave_cost=wave_cost, ssh_commands_per_host=dict(
            ("%s %s" % k, v) for k, v in (vvv or {}).items()), extrapolated=dict(
                ("%s %s" % k, v) for k, v in estimates.items()))
    if args.keep_logs:
        print("\nlogs: %s" % work)
    else:
        shutil.rmtree(work, ignore_errors=True)
    for failure in failures:
        print("GOAL MISSED: " + failure)
    if not status and GOAL_HOSTS in {r["hosts"] for r in rows}:
        print("goal (no-change drift at most %.0fx a ping at %d hosts): %s" % (GOAL_RATIO, GOAL_HOSTS,
                                                                               "missed" if failures else "met"))
    return status or (1 if failures else 0)


if __name__ == "__main__":
    sys.exit(main())
