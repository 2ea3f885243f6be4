"""A perimeter router between two lab subnets, for the network team's side (Aerleon).

A small estate of its own: a router namespace holding one bridge per subnet, and a few host
namespaces, each with one veth into its subnet's bridge, a route to the other subnet through the
router (no default route) and the lab's listener on the ports it is asked for.  The router's
forwarding rules are whatever nftables file is loaded into it (load_nft), unchanged.  Nothing
is created in the root namespace: veths are made inside the router and moved into the hosts.

compile_policies() runs Aerleon's aclgen on a policy directory (policies/ and def/), as a network
team does, and returns what it wrote with every warning or error it printed.
"""

import os
import shutil
import subprocess
import sys

from .lab import AGENTS, NETNS_SYSCTLS, PYTHON
from .probe import run_probe
from .system import LabError, kill_pids, netns_list, netns_pids, run, spawn, wait_until

# subnet -> (IPv4 /24, IPv6 /64 prefix): the router is .1 / ::1 on both
SUBNETS = {
    'mgmt': ('198.19.81', 'fd00:81::'),
    'store': ('198.19.82', 'fd00:82::'),
}
# short name -> (subnet, host part, inventory groups, pool)
HOSTS = {
    'pool1': ('mgmt', 11, ['pool_hosts'], 'p1'),
    'pool2': ('mgmt', 12, ['pool_hosts'], 'p1'),
    'filer': ('store', 31, ['nfs_filers'], None),
    'lic': ('store', 34, ['license_servers'], None),
    'xc': ('store', 51, ['xencenters'], None),
    'out': ('store', 99, [], None),  # not in the inventory: what the matrix never allows
}


def compile_policies(directory, output, aclgen=None, timeout=120):
    """aclgen on directory (its policies/ and def/) into output: ({file name: text}, [problems]).
    A problem is any warning or error line aclgen prints, but its list of policy directories."""
    aclgen = aclgen or os.path.join(os.path.dirname(sys.executable), 'aclgen')
    if not os.path.exists(aclgen):
        aclgen = shutil.which('aclgen')
    if not aclgen:
        raise LabError('aclgen not found: pip install the aerleon of tests/unit/requirements.txt')
    os.makedirs(output, exist_ok=True)
    done = subprocess.run([aclgen, '--base_directory=' + os.path.join(directory, 'policies'),
                           '--definitions_directory=' + os.path.join(directory, 'def'),
                           '--output_directory=' + output, '--max_renderers=1'],
                          capture_output=True, text=True, timeout=timeout, check=False, cwd=directory)
    lines = (done.stdout + done.stderr).splitlines()
    problems = [line for line in lines if line[:1] in 'WEF' and 'pol files found)' not in line]
    problems += [line for line in lines if 'error' in line.lower() and line not in problems]
    if done.returncode != 0:
        problems.append('aclgen exit %d' % done.returncode)
    files = {}
    for name in sorted(os.listdir(output)):
        with open(os.path.join(output, name), encoding='utf-8') as handle:
            files[name] = handle.read()
    return files, problems


class Router:
    """The router estate under one prefix: namespaces <prefix>rt (router) and <prefix><short>."""

    def __init__(self, prefix, state_dir):
        if len(prefix) > 8:
            raise LabError('router prefix %r: at most 8 characters' % prefix)
        self.prefix = prefix
        self.state_dir = state_dir
        self.router_ns = prefix + 'rt'
        self.listeners = []

    def ns(self, short):
        return self.prefix + short

    def address(self, short, family):
        subnet, part = HOSTS[short][0], HOSTS[short][1]
        return '%s.%d' % (SUBNETS[subnet][0], part) if family == 4 else '%s%d' % (SUBNETS[subnet][1], part)

    def info(self):
        """What run_probe needs (lab.json's shape): the hosts and their namespaces and addresses."""
        return {'hosts': {short: {'ns': self.ns(short), 'ipv4': self.address(short, 4), 'ipv6': self.address(short, 6)}
                          for short in HOSTS}}

    def inventory(self):
        """An inventory of the estate (the flows playbook contacts no host)."""
        hosts, groups = {}, {}
        for short, (_, _, member_of, pool) in HOSTS.items():
            if not member_of:
                continue
            hosts[short] = {'portmatrix_addresses': [self.address(short, 4), self.address(short, 6)]}
            if pool:
                hosts[short]['portmatrix_pool'] = pool
            for group in member_of:
                groups.setdefault(group, {'hosts': {}})['hosts'][short] = None
        return {'all': {'hosts': hosts, 'children': groups}}

    def _ip(self, ns, *args):
        run(['ip', '-n', ns] + list(args), timeout=20)

    def up(self, ports):
        """Build the estate; ports: {short: {'tcp': [...], 'udp': [...]}} the listeners serve."""
        if os.geteuid() != 0:
            raise LabError('the router lab needs root (network namespaces)')
        self.down()
        os.makedirs(self.state_dir, exist_ok=True)
        wanted = [self.router_ns] + [self.ns(s) for s in HOSTS]
        for ns in wanted:
            run(['ip', 'netns', 'add', ns], timeout=20)
            self._ip(ns, 'link', 'set', 'lo', 'up')
            run(['ip', 'netns', 'exec', ns, 'sysctl', '-q', '-w'] + NETNS_SYSCTLS, timeout=20)
        run(['ip', 'netns', 'exec', self.router_ns, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1',
             'net.ipv6.conf.all.forwarding=1'], timeout=20)
        for subnet, (v4, v6) in SUBNETS.items():
            bridge = 'br-' + subnet
            self._ip(self.router_ns, 'link', 'add', bridge, 'type', 'bridge')
            self._ip(self.router_ns, 'addr', 'add', v4 + '.1/24', 'dev', bridge)
            self._ip(self.router_ns, 'addr', 'add', v6 + '1/64', 'dev', bridge, 'nodad')
            self._ip(self.router_ns, 'link', 'set', bridge, 'up')
        for short, (subnet, _, _, _) in HOSTS.items():
            ns, leg = self.ns(short), 'v-' + short
            other = [s for s in SUBNETS if s != subnet][0]
            self._ip(self.router_ns, 'link', 'add', leg, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns)
            self._ip(self.router_ns, 'link', 'set', leg, 'master', 'br-' + subnet, 'up')
            self._ip(ns, 'addr', 'add', self.address(short, 4) + '/24', 'dev', 'eth0')
            self._ip(ns, 'addr', 'add', self.address(short, 6) + '/64', 'dev', 'eth0', 'nodad')
            self._ip(ns, 'link', 'set', 'eth0', 'up')
            # only the other lab subnet goes through the router
            self._ip(ns, 'route', 'add', SUBNETS[other][0] + '.0/24', 'via', SUBNETS[subnet][0] + '.1')
            self._ip(ns, '-6', 'route', 'add', SUBNETS[other][1] + '/64', 'via', SUBNETS[subnet][1] + '1')
        for short, wanted_ports in ports.items():
            self._listen(short, wanted_ports)
        return self.info()

    def _listen(self, short, ports):
        ready = os.path.join(self.state_dir, short + '.ready')
        if os.path.exists(ready):
            os.remove(ready)
        argv = ['ip', 'netns', 'exec', self.ns(short), 'env', 'PMXLAB_LISTEN_SSH=1', PYTHON,
                os.path.join(AGENTS, 'listener.py'), short, ready,
                ','.join(str(p) for p in sorted(set(ports.get('tcp', ())))),
                ','.join(str(p) for p in sorted(set(ports.get('udp', ()))))]
        self.listeners.append(spawn(argv, os.path.join(self.state_dir, short + '.log')))
        wait_until(lambda: os.path.exists(ready), 15, 'the listener of %s' % short)

    def load_nft(self, path):
        """The router's ruleset: emptied, then the file loaded as it is (nft -f)."""
        run(['ip', 'netns', 'exec', self.router_ns, 'nft', 'flush', 'ruleset'], timeout=20)
        run(['ip', 'netns', 'exec', self.router_ns, 'nft', '-f', path], timeout=20)

    def probe(self, flows, timeout=1.0):
        return run_probe(self.info(), PYTHON, flows, timeout=timeout)

    def down(self):
        """Stop the listeners, then every process left in our namespaces, and remove them."""
        kill_pids(self.listeners)
        self.listeners = []
        for ns in netns_list(self.prefix):
            if ns != self.router_ns and ns[len(self.prefix):] not in HOSTS:
                continue  # another estate under a longer prefix
            kill_pids(netns_pids(ns))
            run(['ip', 'netns', 'del', ns], check=False, timeout=20)
