"""The lab: build, inspect, use and tear down the estate in network and mount namespaces."""

import concurrent.futures
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid

import yaml

from . import extras, render, stock
from .estate import BACKEND_OF_KIND, CONTROLLER_SHORT, DEFAULT_PYTHON, SSH_VIA, XAPI_KINDS, load_estate
from .probe import run_probe
from .system import LabError, in_host, kill_pids, listening, netns_list, netns_pids, pid_alive, pid_in_netns, run, spawn, wait_until

AGENTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'agents')
MARKER = '.pmxlab-state'  # down removes a state dir only when it holds this file
PREFIX_RE = re.compile(r'^[a-z][a-z0-9]{1,7}-$')
SAFE_PATH_RE = re.compile(r'^/[A-Za-z0-9._/-]+$')  # also goes into overlay mount options
TOOLS = ('ip', 'nsenter', 'unshare', 'setsid', 'nc', 'iptables-restore', 'ip6tables-restore', 'nft', 'ssh-keygen', 'sshd')
FIREWALLD_TOOLS = ('firewalld', 'firewall-cmd', 'dbus-daemon', 'dbus-send')
# firewalld's state over D-Bus: polled with dbus-send, not firewall-cmd (a Python start per
# poll, which slowed the very daemon it waited for)
FIREWALLD_STATE = ['dbus-send', '--system', '--print-reply', '--reply-timeout=2000', '--dest=org.fedoraproject.FirewallD1',
                   '/org/fedoraproject/FirewallD1', 'org.freedesktop.DBus.Properties.Get',
                   'string:org.fedoraproject.FirewallD1', 'string:state']
PYTHON = '/usr/bin/python3' if os.path.exists('/usr/bin/python3') else sys.executable
# private directories of a dom0 besides /etc: the iptables-services and xe stand-ins
XS_OVERLAYS = {
    'xenserver': (('/usr/libexec', 'libexec'), ('/usr/local/bin', 'localbin'), ('/opt', 'opt')),
    'xenserver9': (('/usr/local/bin', 'localbin'), ('/opt', 'opt')),
}
SHIPPED_FIREWALLD_SERVICES = '/usr/lib/firewalld/services'
BUILD_WORKERS = 4
FIREWALLD_ENABLED_LINK = '/etc/systemd/system/multi-user.target.wants/firewalld.service'
# The hosts log in as root and share this machine's /root: its ~/.bashrc, which bash reads for every
# SSH command (Debian's SSH_SOURCE_BASHRC), may set up a developer's tools (pyenv init costs
# 0.07-0.1 s per session here). A host's root gets a stock one instead, as a server's root has.
ROOT_BASHRC = '/root/.bashrc'
STOCK_BASHRC = '# portmatrix lab: a stock root ~/.bashrc (the machine\'s own one is not read on lab hosts)\n'
# per-netns: v6 usable at once (no DAD); no ICMP error rate limit, so a probe of hundreds of
# refused flows gets an answer for each instead of timeouts
NETNS_SYSCTLS = ['net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0', 'net.ipv4.icmp_ratelimit=0',
                 'net.ipv6.icmp.ratelimit=0', 'net.ipv4.icmp_msgs_per_sec=100000', 'net.ipv4.icmp_msgs_burst=100000']


def default_prefix():
    return os.environ.get('PMXLAB_PREFIX') or 'pmxlab-'


def _write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w', encoding='utf-8') as handle:
        handle.write(text)
    os.chmod(path, mode)


def _read_pid(path):
    try:
        with open(path, encoding='utf-8') as handle:
            return int(handle.read().strip() or 0) or None
    except (OSError, ValueError):
        return None


def _read(path):
    """Text of path, '' when it cannot be read."""
    try:
        with open(path, encoding='utf-8', errors='replace') as handle:
            return handle.read()
    except OSError:
        return ''


def _stock_file_mode(path):
    """Mode of a stock file as the distribution ships it."""
    if path.startswith('/etc/sysconfig/ip'):
        return 0o600  # iptables-services
    if path == '/etc/nftables.conf':
        return 0o755  # Debian's, run as a script (#!/usr/sbin/nft -f)
    return 0o644


def _has_firewalld(host):
    return BACKEND_OF_KIND[host['firewall']] == 'firewalld'


def _tail(path, lines=15):
    return ''.join(_read(path).splitlines(True)[-lines:])


class Lab:
    """One lab, named by its prefix. Every namespace it makes is <prefix><short>."""

    def __init__(self, prefix=None, state_dir=None, estate=None, log=None):
        self.prefix = prefix or default_prefix()
        if not PREFIX_RE.match(self.prefix):
            raise LabError('prefix %r: 3-9 characters of [a-z0-9], starting with a letter, ending in "-"' % self.prefix)
        self.state_dir = os.path.abspath(state_dir or os.environ.get('PMXLAB_STATE_DIR') or '/tmp/' + self.prefix.rstrip('-'))
        if not SAFE_PATH_RE.match(self.state_dir) or self.state_dir.count('/') < 2:
            raise LabError('state dir %r: use a dedicated directory (/a/b or deeper, characters [A-Za-z0-9._/-])' % self.state_dir)
        self.estate_path = estate
        self.log = log or (lambda message: print(message, file=sys.stderr))
        self.bridge_ns = self.prefix + 'br'
        self.controller_ns = self.prefix + CONTROLLER_SHORT

    # ---- paths and recorded state -------------------------------------------------------
    def path(self, *parts):
        return os.path.join(self.state_dir, *parts)

    def host_dir(self, name):
        return self.path('hosts', name)

    @property
    def inventory_path(self):
        return self.path('inventory.yml')

    @property
    def ssh_config_path(self):
        return self.path('ssh_config')

    @property
    def key_path(self):
        return self.path('id_ed25519')

    def info(self):
        """lab.json as a dict; LabError when the lab is not up."""
        try:
            with open(self.path('lab.json'), encoding='utf-8') as handle:
                return json.load(handle)
        except OSError as exc:
            raise LabError('no %s: is the lab up (labctl up)?' % self.path('lab.json')) from exc

    def _pid(self, host, service, needle):
        """pid of a running lab service of host, or None (checked against its netns and command line)."""
        pid = _read_pid(os.path.join(self.host_dir(host['name']), service + '.pid'))
        return pid if pid and pid_in_netns(pid, host['ns'], needle) else None

    def holder(self, name):
        host = self.info()['hosts'].get(name)
        if host is None:
            raise LabError('no host %r in this lab' % name)
        pid = self._pid(host, 'holder', 'sleep')
        if not pid:
            raise LabError('host %s is not running: run labctl up' % name)
        return pid

    # ---- checks ---------------------------------------------------------------------------
    @staticmethod
    def missing_tools(firewalld=True):
        wanted = TOOLS + (FIREWALLD_TOOLS if firewalld else ())
        path = os.environ.get('PATH', '') + ':/usr/sbin:/sbin'
        return [tool for tool in wanted if not shutil.which(tool, path=path)]

    def _check_can_run(self, hosts):
        if os.geteuid() != 0:
            raise LabError('the lab needs root (network and mount namespaces)')
        missing = self.missing_tools(firewalld=any(_has_firewalld(host) for host in hosts.values()))
        if missing:
            raise LabError('missing tools: %s (run lab/install-deps)' % ', '.join(missing))

    # ---- up -------------------------------------------------------------------------------
    def up(self, estate=None):
        """Build the estate (idempotent) and return lab.json's content."""
        started = time.monotonic()
        estate = load_estate(estate or self.estate_path, self.prefix)
        hosts = estate['hosts']
        self._check_can_run(hosts)
        self._prepare_state_dir()
        self._plan_hosts(estate)
        wanted = {h['ns'] for h in hosts.values()} | {self.bridge_ns, self.controller_ns}
        stale = [ns for ns in netns_list(self.prefix) if ns not in wanted]
        if stale:
            self.log('removing namespaces no longer in the estate: %s' % ' '.join(stale))
            self._remove_namespaces(stale)
        self._ensure_bridge()
        self._ensure_link(estate['controller'])  # no process, no listener, no firewall: an address SSH comes from
        with concurrent.futures.ThreadPoolExecutor(max_workers=BUILD_WORKERS) as pool:
            # firewalld hosts first: their daemon takes the longest to start, the others fit around it
            order = sorted(hosts, key=lambda name: not _has_firewalld(hosts[name]))
            jobs = {name: pool.submit(self._build_host, hosts[name], estate) for name in order}
            failures = []
            for name, job in jobs.items():
                try:
                    hosts[name]['pids'] = job.result()
                except LabError as exc:
                    failures.append('%s: %s' % (name, exc))
        if failures:
            raise LabError('up failed (run up again, or down):\n  ' + '\n  '.join(failures))
        info = {
            'schema': 1,
            'prefix': self.prefix,
            'state_dir': self.state_dir,
            'estate': estate['path'],
            'bridge_ns': self.bridge_ns,
            'network': estate['network'],
            'pools': estate['pools'],
            'listen': estate['listen'],
            'control_ports': estate['control_ports'],
            'controller': estate['controller'],
            'inventory': self.inventory_path,
            'ssh_config': self.ssh_config_path,
            'ssh_key': self.key_path,
            'hosts': hosts,
        }
        _write(self.inventory_path, yaml.safe_dump(render.inventory(estate, hosts, self.key_path), sort_keys=False, width=200))
        _write(self.ssh_config_path, render.ssh_config(hosts, estate['controller'], self.key_path))
        _write(self.path('lab.json.tmp'), json.dumps(info, indent=1) + '\n')
        os.replace(self.path('lab.json.tmp'), self.path('lab.json'))
        self.log('lab %s up: %d hosts in %.1fs' % (self.prefix, len(hosts), time.monotonic() - started))
        return info

    def _prepare_state_dir(self):
        os.makedirs(self.state_dir, exist_ok=True)
        if not os.path.exists(self.path(MARKER)):
            # ansible-cp/ may come back after a down: Ansible's SSH mux masters recreate it.
            if set(os.listdir(self.state_dir)) - {'ansible-cp'}:
                raise LabError('%s exists, is not empty and is not a lab state dir' % self.state_dir)
            _write(self.path(MARKER), 'portmatrix lab state, prefix %s\n' % self.prefix)
        for key in ('id_ed25519', 'ssh_host_ed25519_key'):
            if not (os.path.exists(self.path(key)) and os.path.exists(self.path(key + '.pub'))):
                for stale in (key, key + '.pub'):
                    if os.path.exists(self.path(stale)):
                        os.unlink(self.path(stale))
                run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'portmatrix-lab', '-f', self.path(key)])
        os.makedirs(self.path('bin'), exist_ok=True)
        for agent in ('listener.py', 'xe_standin.py'):
            shutil.copyfile(os.path.join(AGENTS, agent), self.path('bin', agent))

    def _plan_hosts(self, estate):
        """Settle per-host facts that depend on this machine and on the pool layout."""
        masters = {}
        for name, host in estate['hosts'].items():
            if not os.path.exists(host['python']):
                self.log('%s: interpreter %s does not exist here; using %s instead' % (name, host['python'], DEFAULT_PYTHON))
                host['python'] = DEFAULT_PYTHON
            host['dir'] = self.host_dir(name)
            host['uuid'] = str(uuid.uuid5(uuid.NAMESPACE_DNS, '%s.host.%slab' % (name, self.prefix)))
            if host['pool']:
                masters.setdefault(host['pool'], host['uuid'])
                host['pool_master'] = masters[host['pool']]

    def _ensure_bridge(self):
        ns = self.bridge_ns
        if not os.path.exists('/run/netns/' + ns):
            run(['ip', 'netns', 'add', ns])
        if run(['ip', '-n', ns, 'link', 'show', 'br0'], check=False).returncode != 0:
            run(['ip', '-n', ns, 'link', 'add', 'br0', 'type', 'bridge'])
        run(['ip', '-n', ns, 'link', 'set', 'lo', 'up'])
        run(['ip', '-n', ns, 'link', 'set', 'br0', 'up'])

    def _ensure_link(self, host):
        """veth pair: <iface> in the host's (or the controller's) ns, v-<short> on the bridge, created
        from the bridge ns straight into it; both addresses without DAD."""
        ns, iface, veth = host['ns'], host['iface'], host['veth']
        if not os.path.exists('/run/netns/' + ns):
            run(['ip', 'netns', 'add', ns])
        run(['ip', 'netns', 'exec', ns, 'sysctl', '-q', '-w'] + NETNS_SYSCTLS)
        if run(['ip', '-n', ns, 'link', 'show', iface], check=False).returncode != 0:
            run(['ip', '-n', self.bridge_ns, 'link', 'del', veth], check=False)
            run(['ip', '-n', self.bridge_ns, 'link', 'add', veth, 'type', 'veth', 'peer', 'name', iface, 'netns', ns])
        run(['ip', '-n', self.bridge_ns, 'link', 'set', veth, 'master', 'br0', 'up'])
        run(['ip', '-n', ns, 'link', 'set', 'lo', 'up'])
        run(['ip', '-n', ns, 'link', 'set', iface, 'up'])
        # an address of an earlier estate would stay, and could be the one connections come from;
        # removed before the new one is added (deleting a primary address deletes its secondaries)
        for line in run(['ip', '-n', ns, '-o', 'addr', 'show', 'dev', iface, 'scope', 'global']).stdout.splitlines():
            cidr = line.split()[3]
            if cidr not in (host['ipv4_cidr'], host['ipv6_cidr']):
                run(['ip', '-n', ns, 'addr', 'del', cidr, 'dev', iface])
        run(['ip', '-n', ns, 'addr', 'replace', host['ipv4_cidr'], 'dev', iface])
        run(['ip', '-n', ns, 'addr', 'replace', host['ipv6_cidr'], 'dev', iface, 'nodad'])

    def _build_host(self, host, estate):
        hdir = host['dir']
        os.makedirs(hdir, exist_ok=True)
        self._ensure_link(host)
        built = os.path.join(hdir, 'built')
        # a host whose last build finished is kept (its daemons are restarted if they died);
        # anything else, e.g. half-built by a killed up, is rebuilt from scratch
        holder = self._pid(host, 'holder', 'sleep') if os.path.exists(built) else None
        if not holder:
            self._kill_all_in([host['ns']])
            self._prepare_host_files(host)
            holder = self._start_holder(host)
            self._load_stock(host, holder, estate['pools'])
        pids = {'holder': holder}
        if _has_firewalld(host):
            pids.update(self._ensure_firewalld(host, holder))
        pids['sshd'] = self._ensure_daemon(
            host, holder, 'sshd', ['/usr/sbin/sshd', '-D', '-f', os.path.join(hdir, 'sshd_config'), '-E', os.path.join(hdir, 'sshd.log')],
            needle='sshd_config', ready=lambda: listening(holder, 'tcp', 22))
        pids['listener'] = self._ensure_listener(host, holder, estate)
        _write(built, '%s\n' % time.ctime())
        return pids

    def _overlays(self, host):
        return (('/etc', 'etc'),) + XS_OVERLAYS.get(host['firewall'], ())

    def _prepare_host_files(self, host):
        """Fresh per-host files: overlay upper dirs (private /etc ...), stand-ins, sshd_config."""
        hdir = host['dir']
        for sub in ('built', 'upper', 'work', 'firewalld'):
            target = os.path.join(hdir, sub)
            if os.path.isdir(target):
                shutil.rmtree(target)
            elif os.path.exists(target):
                os.unlink(target)
        for unused_target, key in self._overlays(host):
            os.makedirs(os.path.join(hdir, 'upper', key))
            os.makedirs(os.path.join(hdir, 'work', key))
        if host['firewall'] == 'xenserver':
            for service in ('iptables', 'ip6tables'):
                _write(os.path.join(hdir, 'upper', 'libexec', 'iptables', service + '.init'), stock.IPTABLES_INIT, 0o755)
                # so that `service iptables save` works too (Debian's service(8) runs /etc/init.d/NAME)
                _write(os.path.join(hdir, 'upper', 'etc', 'init.d', service), '#!/bin/sh\nexec /usr/libexec/iptables/%s.init "$@"\n' % service, 0o755)
        if host['firewall'] in XAPI_KINDS:
            xe = '#!/bin/sh\n# portmatrix lab stand-in for xe\nexec %s %s %s "$@"\n' % (
                PYTHON, shlex.quote(self.path('bin', 'xe_standin.py')), shlex.quote(hdir))
            _write(os.path.join(hdir, 'upper', 'localbin', 'xe'), xe, 0o755)
            _write(os.path.join(hdir, 'upper', 'opt', 'xensource', 'bin', 'xe'), xe, 0o755)
            _write(os.path.join(hdir, 'upper', 'etc', 'xensource-inventory'),
                   stock.xensource_inventory(host['platform'], host['uuid'], host['cc']))
        if host['firewall'] == 'xenserver':
            _write(os.path.join(hdir, 'upper', 'etc', 'xapi.d', 'plugins', 'firewall-port'), stock.FIREWALL_PORT, 0o755)
            if host['platform'] == 'xcp-ng8':
                _write(os.path.join(hdir, 'upper', 'localbin', 'linstor-manager-ports'), stock.LINSTOR_MANAGER_PORTS, 0o755)
        if _has_firewalld(host):
            os.makedirs(os.path.join(hdir, 'firewalld'))
        _write(os.path.join(hdir, 'sshd_config'), render.sshd_config(self.state_dir, hdir))
        _write(os.path.join(hdir, 'bashrc'), STOCK_BASHRC)

    def _start_holder(self, host):
        """A `sleep` that owns the host's mount and UTS namespaces: private /etc (overlay), tmpfs /run, hostname."""
        hdir = host['dir']
        ready = os.path.join(hdir, 'holder.ready')
        if os.path.exists(ready):
            os.unlink(ready)
        lines = ['mount -t overlay pmxlab -o lowerdir=%s,upperdir=%s/upper/%s,workdir=%s/work/%s %s' % (target, hdir, key, hdir, key, target)
                 for target, key in self._overlays(host) if os.path.isdir(target)]
        # firewalld enabled at boot on the hosts that have it, and only there (whatever the machine's own /etc says)
        if _has_firewalld(host):
            lines.append('mount --bind %s/firewalld /etc/firewalld' % hdir)
            lines.append('mkdir -p %s && ln -sfn /lib/systemd/system/firewalld.service %s'
                         % (os.path.dirname(FIREWALLD_ENABLED_LINK), FIREWALLD_ENABLED_LINK))
        else:
            lines.append('rm -f %s' % FIREWALLD_ENABLED_LINK)
        if os.path.isfile(ROOT_BASHRC):
            lines.append('mount --bind %s/bashrc %s' % (hdir, ROOT_BASHRC))
        lines += [
            'hostname %s' % host['name'],
            'mount -t tmpfs -o mode=0755,size=32m pmxlab /run',
            'mkdir -p /run/dbus /run/sshd /run/lock',
            'echo ready > %s' % ready,
            'exec sleep infinity',
        ]
        pid = spawn(['ip', 'netns', 'exec', host['ns'], 'unshare', '-m', '-u', '--propagation', 'private', 'sh', '-ec', '\n'.join(lines)],
                    os.path.join(hdir, 'holder.log'))
        _write(os.path.join(hdir, 'holder.pid'), '%d\n' % pid)
        self._wait_started(host, 'holder', pid, lambda: os.path.exists(ready), 10)
        return pid

    def _wait_started(self, host, service, pid, ready, timeout):
        def check():
            if not pid_alive(pid):
                raise LabError('%s %s died: %s' % (host['name'], service, _tail(os.path.join(host['dir'], service + '.log'))))
            return ready()
        wait_until(check, timeout, '%s %s' % (host['name'], service), interval=0.05)

    def _ensure_daemon(self, host, holder, service, argv, needle, ready, timeout=15):
        """Start service inside the host unless it already runs; return its pid."""
        pid = self._pid(host, service, needle)
        if pid:
            return pid
        pid = spawn(in_host(holder, argv), os.path.join(host['dir'], service + '.log'))
        _write(os.path.join(host['dir'], service + '.pid'), '%d\n' % pid)
        self._wait_started(host, service, pid, ready, timeout)
        return pid

    def _ensure_listener(self, host, holder, estate):
        ports = {proto: sorted(set(estate['listen'][proto]) | set(estate['control_ports'][proto])) for proto in ('tcp', 'udp')}
        spec = json.dumps(ports)
        spec_file = os.path.join(host['dir'], 'listener.ports')
        ready = os.path.join(host['dir'], 'listener.ready')
        pid = self._pid(host, 'listener', 'listener.py')
        if pid and _read(spec_file) != spec:  # the estate's port list changed
            kill_pids([pid])
            pid = None
        if not pid:
            if os.path.exists(ready):
                os.unlink(ready)
            _write(spec_file, spec)
        argv = [PYTHON, self.path('bin', 'listener.py'), host['name'], ready,
                ','.join(map(str, ports['tcp'])), ','.join(map(str, ports['udp']))]
        return self._ensure_daemon(host, holder, 'listener', argv, 'listener.py', lambda: os.path.exists(ready))

    def _ensure_firewalld(self, host, holder):
        hdir = host['dir']
        dbus = self._ensure_daemon(host, holder, 'dbus', ['dbus-daemon', '--system', '--nofork', '--nopidfile'], 'dbus-daemon',
                                   lambda: os.path.exists('/proc/%d/root/run/dbus/system_bus_socket' % holder))
        state = in_host(holder, FIREWALLD_STATE)
        firewalld = self._ensure_daemon(
            host, holder, 'firewalld', ['firewalld', '--nofork', '--nopid', '--log-target=file', '--log-file=%s/firewalld.log' % hdir],
            'firewalld', lambda: '"RUNNING"' in run(state, check=False, timeout=10).stdout, timeout=60)
        return {'dbus': dbus, 'firewalld': firewalld}

    def _load_stock(self, host, holder, pools):
        """Write the host's stock firewall files and load them; xenserver hosts also get xapi's runtime chain."""
        kind, hdir, root = host['firewall'], host['dir'], '/proc/%d/root' % holder
        files = {path: text for path, (family, text) in stock.RULE_FILES.get(kind, {}).items()}
        if host.get('cc'):
            files['/etc/sysconfig/iptables'] = stock.CC_IPTABLES
        files.update(stock.NFT_FILES.get(kind, {}))
        if 'nfs_filer' in host['components']:
            files.update(stock.NFS_FILES)
        for path, text in files.items():
            _write(root + path, text, _stock_file_mode(path))
        if _has_firewalld(host):
            self._stop(host, 'firewalld', 'firewalld')
            run(in_host(holder, ['nft', 'flush', 'ruleset'], mount=False))
            self._fresh_firewalld_dir(os.path.join(hdir, 'firewalld'), host.get('zone', stock.XS9_ZONE))
            if kind == 'xenserver9':
                shipped = {name[:-4] for name in os.listdir(SHIPPED_FIREWALLD_SERVICES) if name.endswith('.xml')}
                for path, text in stock.xenserver9_firewalld_files(host['iface'], host['xapi_services'], shipped,
                                                                   host.get('zone', stock.XS9_ZONE)).items():
                    _write(os.path.join(hdir, 'firewalld', path), text)
                self._write_xe_state(host, pools)
            return
        if kind in stock.NFT_FILES:
            # what nftables.service does: nft -f on each file (which starts with flush ruleset)
            commands = [['nft', '-f', path] for path in stock.NFT_FILES[kind]]
        else:
            # everything goes, also the nat table of Docker; then the saved files are loaded
            commands = [['nft', 'flush', 'ruleset']]
            commands += [['iptables-restore' if family == 4 else 'ip6tables-restore', path]
                         for path, (family, text) in stock.RULE_FILES[kind].items()]
        if kind == 'xenserver' and not host.get('cc'):  # xapi-INPUT comes with xapi's first firewall-port call
            commands += [['iptables'] + rule for rule in stock.XAPI_RUNTIME_RULES]
        if kind == 'xenserver':
            self._write_xe_state(host, pools)
        script = ' && '.join(shlex.join(command) for command in commands)
        run(in_host(holder, ['sh', '-c', script + ' && { ipset destroy 2>/dev/null || true; }']))
        self._start_extras(host, holder)

    def _start_extras(self, host, holder):
        """What Docker and fail2ban add at start (idempotent: only what is missing)."""
        script = extras.script(extras.host_steps(host))
        if script:
            run(in_host(holder, ['sh', '-c', script], mount=False))

    @staticmethod
    def _fresh_firewalld_dir(target, default_zone='public'):
        """RHEL's stock /etc/firewalld: the config files, empty zones/services/... (stock zones come from /usr/lib);
        default_zone: the DefaultZone of firewalld.conf (a XenServer 9 host's management zone)."""
        for entry in os.listdir(target):
            path = os.path.join(target, entry)
            if os.path.isdir(path):
                shutil.rmtree(path)
            else:
                os.unlink(path)
        for entry in os.listdir('/etc/firewalld'):
            if os.path.isfile(os.path.join('/etc/firewalld', entry)):
                shutil.copy2(os.path.join('/etc/firewalld', entry), target)
        for sub in ('helpers', 'icmptypes', 'ipsets', 'policies', 'services', 'zones'):
            os.makedirs(os.path.join(target, sub), exist_ok=True)
        conf = os.path.join(target, 'firewalld.conf')
        text = _read(conf)
        text = re.sub(r'(?m)^DefaultZone=.*$', 'DefaultZone=' + default_zone, text) if 'DefaultZone=' in text \
            else text + 'DefaultZone=%s\n' % default_zone
        _write(conf, text)

    def _write_xe_state(self, host, pools):
        pool = host['pool']
        state = {
            'host': host['name'],
            'host_uuid': host['uuid'],
            'address': host['ipv4'],
            'pool': pool or host['name'],
            'pool_uuid': str(uuid.uuid5(uuid.NAMESPACE_DNS, '%s.pool.%slab' % (pool or host['name'], self.prefix))),
            'master_uuid': host.get('pool_master') or host['uuid'],
            'clustered': bool(pool and pools[pool]['clustered']),
            'cluster_uuid': str(uuid.uuid5(uuid.NAMESPACE_DNS, '%s.cluster.%slab' % (pool, self.prefix))),
            'host_params': {},
            'pool_params': {},
            'product_version': stock.PLATFORM_BRANDS[host['platform']][1],
            'product_brand': stock.PLATFORM_BRANDS[host['platform']][0],
            'platform': host['platform'],
            'cc': bool(host.get('cc')),
            # how xapi drives the firewall: iptables (XenServer 8) or firewalld services (9)
            'firewall': BACKEND_OF_KIND[host['firewall']],
            'zone': host.get('zone', stock.XS9_ZONE),
            'network_uuid': str(uuid.uuid5(uuid.NAMESPACE_DNS, '%s.network.%slab' % (pool or host['name'], self.prefix))),
            # xapi's firewalld services xapi has enabled (xenserver9): what the xe stand-in keeps up to date
            'xapi_services': list(host.get('xapi_services', [])),
            'network_purpose': ['nbd'] if 'nbd' in host.get('xapi_services', []) else [],
        }
        if host['firewall'] == 'xenserver9':
            state['host_params']['https-only'] = 'false' if 'xapi-insecure' in state['xapi_services'] else 'true'
            state['pool_params']['ha-enabled'] = 'true' if 'xenha' in state['xapi_services'] else 'false'
        _write(os.path.join(host['dir'], 'xe.json'), json.dumps(state, indent=1) + '\n')

    def _stop(self, host, service, needle):
        pid = self._pid(host, service, needle)
        if pid and kill_pids([pid], grace=10):
            raise LabError('%s: %s (pid %d) does not stop' % (host['name'], service, pid))

    # ---- use ------------------------------------------------------------------------------
    def reset(self, names=None):
        """Put the firewall (and xe state) of the named hosts, default all, back to stock."""
        info = self.info()
        names = names or list(info['hosts'])
        unknown = [name for name in names if name not in info['hosts']]
        if unknown:
            raise LabError('no such hosts: %s' % ' '.join(unknown))

        def reset_host(name):
            host = info['hosts'][name]
            holder = self.holder(name)
            self._load_stock(host, holder, info['pools'])
            if _has_firewalld(host):
                host['pids'].update(self._ensure_firewalld(host, holder))

        with concurrent.futures.ThreadPoolExecutor(max_workers=BUILD_WORKERS) as pool:
            list(pool.map(reset_host, names))
        _write(self.path('lab.json'), json.dumps(info, indent=1) + '\n')

    def start_extras(self, names=None):
        """Docker and fail2ban start again on the named hosts (default all that have extras):
        their chains, jumps and bans come back where they are missing, as after a reboot."""
        info = self.info()
        names = names or [name for name, host in info['hosts'].items() if host.get('extras')]
        unknown = [name for name in names if name not in info['hosts']]
        if unknown:
            raise LabError('no such hosts: %s' % ' '.join(unknown))
        for name in names:
            self._start_extras(info['hosts'][name], self.holder(name))
        return names

    def exec(self, name, argv, stdin_text=None, timeout=120, check=False):
        """Run argv inside host name (its netns and mount ns); return CompletedProcess (text)."""
        return run(in_host(self.holder(name), argv), check=check, timeout=timeout, stdin_text=stdin_text)

    def exec_argv(self, name, argv):
        """The argv that runs a command inside host name (for callers that want the terminal)."""
        return in_host(self.holder(name), argv)

    def probe(self, flows, timeout=1.5, workers=64):
        """Probe flows; return (results, summary). See portmatrix_lab.probe."""
        if os.geteuid() != 0:
            raise LabError('the probe needs root (nsenter)')
        return run_probe(self.info(), PYTHON, flows, timeout=timeout, workers=workers)

    def ssh(self, name, command, timeout=30, via=None):
        """Run a command over real ssh (the inventory's ProxyCommand); return CompletedProcess.
        via ('controller' or 'loopback') takes that path instead of the host's ssh_via."""
        argv = ['ssh', '-F', self.ssh_config_path, '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10']
        if via is not None:
            info = self.info()
            if via not in SSH_VIA or name not in info['hosts']:
                raise LabError('ssh via %r to %r: via is one of %s, the host one of the lab' % (via, name, ', '.join(SSH_VIA)))
            # the first value ssh obtains wins: the command line's over ssh_config's
            argv += ['-o', 'ProxyCommand=' + render.proxy_command(info['hosts'][name], info['controller'], via)]
        argv += [name, command]
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)

    def status(self):
        """Hosts, namespaces and which recorded pids are alive."""
        try:
            info = self.info()
        except LabError:
            info = {}
        hosts, controller = info.get('hosts', {}), info.get('controller')
        namespaces = netns_list(self.prefix)
        report = {'prefix': self.prefix, 'state_dir': self.state_dir, 'namespaces': namespaces, 'controller': None, 'hosts': {}}
        if controller:
            report['controller'] = {
                'ns': controller['ns'],
                'ns_exists': controller['ns'] in namespaces,
                'ipv4': controller['ipv4'],
                'ipv6': controller['ipv6'],
                # nothing runs there but what uses it at this moment (ssh's ProxyCommand nc, a probe)
                'ns_pids': netns_pids(controller['ns']) if controller['ns'] in namespaces else [],
            }
        for name, host in hosts.items():
            report['hosts'][name] = {
                'ns': host['ns'],
                'ns_exists': host['ns'] in namespaces,
                'ipv4': host['ipv4'],
                'ipv6': host['ipv6'],
                'firewall': host['firewall'],
                'pids': {service: (pid, pid_in_netns(pid, host['ns'], '')) for service, pid in host.get('pids', {}).items()},
                'ns_pids': netns_pids(host['ns']) if host['ns'] in namespaces else [],
            }
        return report

    # ---- down -----------------------------------------------------------------------------
    def down(self):
        """Remove everything of this prefix: kill the processes in its namespaces, delete them, drop the state dir."""
        if os.geteuid() != 0:
            raise LabError('down needs root')
        namespaces = netns_list(self.prefix)
        self._remove_namespaces(namespaces)
        if os.path.exists(self.path(MARKER)):
            shutil.rmtree(self.state_dir)
        elif os.path.isdir(self.state_dir) and os.listdir(self.state_dir):
            self.log('left %s alone: it is not a lab state dir' % self.state_dir)
        return namespaces

    @staticmethod
    def _kill_all_in(namespaces):
        pids = []
        for attempt in range(4):  # a dying sshd or dbus may still have forked a child: look again
            pids = sorted({pid for ns in namespaces for pid in netns_pids(ns)})
            if not pids:
                return
            if attempt < 3 and kill_pids(pids):
                raise LabError('processes do not die: %s' % ' '.join(map(str, pids)))
        raise LabError('processes keep appearing in %s: %s' % (' '.join(namespaces), ' '.join(map(str, pids))))

    def _remove_namespaces(self, namespaces):
        self._kill_all_in(namespaces)
        for ns in sorted(namespaces, key=lambda n: n == self.bridge_ns):  # bridge last
            run(['ip', 'netns', 'del', ns], check=False)
        left = [ns for ns in netns_list(self.prefix) if ns in namespaces]
        if left:
            raise LabError('namespaces not removed: %s' % ' '.join(left))
