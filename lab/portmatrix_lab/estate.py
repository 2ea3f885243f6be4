"""Read and check an estate file; turn it into the per-host plan the lab builds."""

import ipaddress
import os
import re

import yaml

from .extras import DOCKER_DEFAULTS, EXTRAS

DEFAULT_ESTATE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'estate.yml')
DEFAULT_PYTHON = '/usr/bin/python3'
# firewall kind -> what holds the host's rules (the backend a collection has to use there)
BACKEND_OF_KIND = {
    'xenserver': 'iptables',
    'xenserver9': 'firewalld',
    'firewalld': 'firewalld',
    'nftables': 'nftables',
    'debian': 'iptables',
    'ufw': 'iptables',
    'open': 'iptables',
}
FIREWALL_KINDS = tuple(BACKEND_OF_KIND)
SHORT_RE = re.compile(r'^[a-z0-9]{1,10}$')
# The controller: the namespace Ansible's SSH comes from (<prefix>ctl), a probe source named
# 'controller'. Neither name may be a host's.
CONTROLLER_NAME = 'controller'
CONTROLLER_SHORT = 'ctl'
CONTROLLER_DEFAULT_ADDR = 250
RESERVED_SHORTS = ('br', CONTROLLER_SHORT)   # bridge and controller namespaces
# how ssh reaches a host's sshd: from the controller over the lab network (what a real
# controller does: the host's firewall decides), or over the host's own loopback
SSH_VIA = ('controller', 'loopback')
HOST_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$')
# xapi's firewalld services on XenServer 9 (ocaml/xapi/firewall.ml); a xenserver9 host
# starts with the ones of its xapi_services: enabled in its zone (default all)
XAPI_SERVICES = ('dlm', 'nbd', 'ssh', 'vxlan', 'xapi-insecure', 'xenha')
XAPI_KINDS = ('xenserver', 'xenserver9')   # hosts with the xe stand-in
# platform: of a xapi host (what its xe stand-in, /etc/xensource-inventory and stand-ins model)
PLATFORMS_OF_KIND = {'xenserver': ('xenserver8', 'xcp-ng8'), 'xenserver9': ('xenserver9',)}
ZONE_RE = re.compile(r'^[A-Za-z0-9_-]{1,17}$')
JAIL_RE = re.compile(r'^[A-Za-z0-9_-]{1,24}$')      # chain f2b-<jail>: at most 28 characters
IFACE_RE = re.compile(r'^[A-Za-z0-9_.-]{1,15}$')
# addresses the lab may put in rules (never on an interface outside the lab's namespaces)
LAB_RANGES = (ipaddress.ip_network('198.18.0.0/15'), ipaddress.ip_network('fd00::/8'))


class EstateError(ValueError):
    """The estate file is not valid."""


def _ports(section, proto):
    ports = (section or {}).get(proto) or []
    for port in ports:
        if not isinstance(port, int) or not 0 < port < 65536:
            raise EstateError('bad %s port %r' % (proto, port))
    return sorted(set(ports))


def _in_lab_ranges(network):
    return any(network.version == lab.version and network.subnet_of(lab) for lab in LAB_RANGES)


def _docker(name, spec):
    """The host's docker: settings (its default bridge network and bridge name)."""
    unknown = set(spec) - set(DOCKER_DEFAULTS)
    if unknown:
        raise EstateError('%s: docker: unknown keys %s' % (name, ', '.join(sorted(unknown))))
    docker = dict(DOCKER_DEFAULTS, **spec)
    try:
        network = ipaddress.ip_network(docker['network'])
    except ValueError as exc:
        raise EstateError('%s: docker network: %s' % (name, exc)) from exc
    if network.version != 4 or not _in_lab_ranges(network):
        raise EstateError('%s: docker network %s must be IPv4 inside 198.18.0.0/15' % (name, network))
    if not IFACE_RE.match(str(docker['bridge'])):
        raise EstateError('%s: docker bridge %r is not an interface name' % (name, docker['bridge']))
    return {'network': str(network), 'bridge': str(docker['bridge'])}


def _fail2ban(name, spec):
    """The host's fail2ban: jails as given (banned entries are resolved once every host is known)."""
    jails, seen = [], set()
    for jail in spec if spec is not None else [{'jail': 'sshd', 'ports': [22], 'banned': []}]:
        if not isinstance(jail, dict) or set(jail) - {'jail', 'protocol', 'ports', 'banned'}:
            raise EstateError('%s: fail2ban: each jail is {jail, protocol, ports, banned}' % name)
        jail_name, protocol = str(jail.get('jail', '')), jail.get('protocol', 'tcp')
        ports, banned = jail.get('ports') or [], jail.get('banned') or []
        if not JAIL_RE.match(jail_name) or jail_name in seen:
            raise EstateError('%s: fail2ban jail %r: 1-24 of [A-Za-z0-9_-], unique' % (name, jail_name))
        if protocol not in ('tcp', 'udp'):
            raise EstateError('%s: fail2ban jail %s: protocol must be tcp or udp' % (name, jail_name))
        if not ports or not all(isinstance(p, int) and 0 < p < 65536 for p in ports) or len(ports) > 15:
            raise EstateError('%s: fail2ban jail %s: ports must be 1-15 port numbers (multiport)' % (name, jail_name))
        if not isinstance(banned, list):
            raise EstateError('%s: fail2ban jail %s: banned must be a list' % (name, jail_name))
        seen.add(jail_name)
        jails.append({'jail': jail_name, 'protocol': protocol, 'ports': list(ports), 'banned': [str(b) for b in banned]})
    return jails


def _resolve_bans(hosts):
    """Banned host names become both their addresses; addresses must lie in the lab's ranges."""
    for name, host in hosts.items():
        for jail in host.get('fail2ban', []):
            addresses = {'ipv4': [], 'ipv6': []}
            for entry in jail['banned']:
                if entry in hosts:
                    found = [hosts[entry]['ipv4'], hosts[entry]['ipv6']]
                else:
                    try:
                        address = ipaddress.ip_address(entry)
                    except ValueError as exc:
                        raise EstateError('%s: fail2ban jail %s: %r is neither a host of the estate nor an address'
                                          % (name, jail['jail'], entry)) from exc
                    if not _in_lab_ranges(ipaddress.ip_network(address)):
                        raise EstateError('%s: fail2ban jail %s: %s is outside 198.18.0.0/15 and fd00::/8'
                                          % (name, jail['jail'], entry))
                    found = [str(address)]
                for address in found:
                    key = 'ipv%d' % ipaddress.ip_address(address).version
                    if address not in addresses[key]:
                        addresses[key].append(address)
            jail['addresses'] = addresses


def _extras(name, kind, spec):
    """extras:, docker: and fail2ban: of one host."""
    extras = list(spec.get('extras') or [])
    unknown = [extra for extra in extras if extra not in EXTRAS]
    if unknown or len(set(extras)) != len(extras):
        raise EstateError('%s: extras must be distinct ones of %s' % (name, ', '.join(EXTRAS)))
    if extras and BACKEND_OF_KIND[kind] != 'iptables':
        raise EstateError('%s: extras need an iptables host (kind %s is not one)' % (name, kind))
    for key in ('docker', 'fail2ban'):
        if key in spec and key not in extras:
            raise EstateError('%s: %s: is set but %s is not in extras' % (name, key, key))
    found = {'extras': extras}
    if 'docker' in extras:
        found['docker'] = _docker(name, spec.get('docker') or {})
    if 'fail2ban' in extras:
        found['fail2ban'] = _fail2ban(name, spec.get('fail2ban'))
    return found


def _xapi_services(name, kind, spec):
    if 'xapi_services' not in spec:
        return {'xapi_services': list(XAPI_SERVICES)} if kind == 'xenserver9' else {}
    services = spec['xapi_services'] or []
    if kind != 'xenserver9':
        raise EstateError('%s: xapi_services: is for xenserver9 hosts' % name)
    if not isinstance(services, list) or any(s not in XAPI_SERVICES for s in services) or len(set(services)) != len(services):
        raise EstateError('%s: xapi_services must be distinct ones of %s' % (name, ', '.join(XAPI_SERVICES)))
    return {'xapi_services': [s for s in XAPI_SERVICES if s in services]}


def _platform(name, kind, spec):
    """platform:, cc: and zone: of a xapi host (lab/README.md)."""
    keys = [key for key in ('platform', 'cc', 'zone') if key in spec]
    if kind not in XAPI_KINDS:
        if keys:
            raise EstateError('%s: %s: is for xenserver and xenserver9 hosts' % (name, keys[0]))
        return {}
    platform = spec.get('platform', PLATFORMS_OF_KIND[kind][0])
    if platform not in PLATFORMS_OF_KIND[kind]:
        raise EstateError('%s: platform must be one of %s for a %s host' % (name, ', '.join(PLATFORMS_OF_KIND[kind]), kind))
    cc = spec.get('cc', False)
    if not isinstance(cc, bool) or (cc and platform == 'xcp-ng8'):
        raise EstateError('%s: cc: is true or false, and only for XenServer platforms' % name)
    zone = spec.get('zone', 'public')
    if kind != 'xenserver9' and 'zone' in spec:
        raise EstateError('%s: zone: is for xenserver9 hosts' % name)
    if not ZONE_RE.match(str(zone)):
        raise EstateError('%s: zone %r: 1-17 of [A-Za-z0-9_-]' % (name, zone))
    return {'platform': platform, 'cc': cc, 'zone': str(zone)}


def _addresses(net4, net6, addr):
    """ipv4, ipv6 and their CIDR forms of host part addr (the v6 host part reads like the v4 one: .11 -> ::11)."""
    ipv4, ipv6 = net4[addr], net6[int(str(addr), 16)]
    return {'ipv4': str(ipv4), 'ipv6': str(ipv6),
            'ipv4_cidr': '%s/%d' % (ipv4, net4.prefixlen), 'ipv6_cidr': '%s/%d' % (ipv6, net6.prefixlen)}


def _ssh_via(value, where):
    if value not in SSH_VIA:
        raise EstateError('%s: ssh_via must be one of %s, not %r' % (where, ', '.join(SSH_VIA), value))
    return value


def _controller(raw, net4, net6, prefix, host_addrs):
    """The controller: a namespace on the lab bridge with a lab address, nothing running in it."""
    spec = raw.get('controller') or {}
    if not isinstance(spec, dict) or set(spec) - {'addr'}:
        raise EstateError('controller: is {addr: N} (host part of its address, default %d)' % CONTROLLER_DEFAULT_ADDR)
    addr = spec.get('addr', CONTROLLER_DEFAULT_ADDR)
    if not isinstance(addr, int) or isinstance(addr, bool) or not 1 <= addr <= 254:
        raise EstateError('controller: addr must be an integer 1..254, not %r' % (addr,))
    if addr in host_addrs:
        raise EstateError('controller: addr %d is also host %s\'s; give the controller another (controller: {addr: N})'
                          % (addr, host_addrs[addr]))
    controller = {'name': CONTROLLER_NAME, 'short': CONTROLLER_SHORT, 'ns': prefix + CONTROLLER_SHORT,
                  'veth': 'v-' + CONTROLLER_SHORT, 'iface': 'eth0', 'addr': addr}
    controller.update(_addresses(net4, net6, addr))
    return controller


def load_estate(path=None, prefix='pmxlab-'):
    """Return the estate as a dict with one fully resolved entry per host."""
    path = path or DEFAULT_ESTATE
    with open(path, encoding='utf-8') as handle:
        raw = yaml.safe_load(handle) or {}
    net4 = ipaddress.ip_network(raw.get('network', {}).get('ipv4', '198.18.77.0/24'))
    net6 = ipaddress.ip_network(raw.get('network', {}).get('ipv6', 'fd77:18:77::/64'))
    pools = raw.get('pools') or {}
    group_names = raw.get('groups') or {}
    listen = {proto: _ports(raw.get('listen'), proto) for proto in ('tcp', 'udp')}
    control = {proto: _ports(raw.get('control_ports'), proto) for proto in ('tcp', 'udp')}
    if not raw.get('hosts'):
        raise EstateError('%s: no hosts' % path)
    default_ssh_via = _ssh_via(raw.get('ssh_via', 'controller'), 'estate')

    hosts = {}
    seen_short, seen_addr = set(), {}
    for name, spec in raw['hosts'].items():
        spec = spec or {}
        short = str(spec.get('short', name))
        addr = spec.get('addr')
        kind = spec.get('firewall', 'debian')
        if not HOST_RE.match(name) or name == CONTROLLER_NAME:
            raise EstateError('bad host name %r%s' % (name, ' (the controller\'s)' if name == CONTROLLER_NAME else ''))
        if not SHORT_RE.match(short) or short in RESERVED_SHORTS or short in seen_short:
            raise EstateError('%s: short %r must be 1-10 of [a-z0-9], unique, not "br" or "ctl"' % (name, short))
        if not isinstance(addr, int) or not 1 <= addr <= 254 or addr in seen_addr:
            raise EstateError('%s: addr must be a unique integer 1..254' % name)
        if kind not in FIREWALL_KINDS:
            raise EstateError('%s: firewall must be one of %s' % (name, ', '.join(FIREWALL_KINDS)))
        pool = spec.get('pool')
        if pool is not None and pool not in pools:
            raise EstateError('%s: pool %r is not under pools:' % (name, pool))
        components = list(spec.get('components') or [])
        for component in components:
            if component not in group_names:
                raise EstateError('%s: component %r has no group under groups:' % (name, component))
        seen_short.add(short)
        seen_addr[addr] = name
        hosts[name] = {
            'name': name,
            'short': short,
            'ns': prefix + short,
            'veth': 'v-' + short,
            'iface': spec.get('iface', 'eth0'),
        }
        hosts[name].update(_addresses(net4, net6, addr))
        hosts[name].update({
            'firewall': kind,
            'pool': pool,
            'components': components,
            'python': spec.get('python', DEFAULT_PYTHON),
            'ssh_via': _ssh_via(spec.get('ssh_via', default_ssh_via), name),
        })
        hosts[name].update(_extras(name, kind, spec))
        hosts[name].update(_xapi_services(name, kind, spec))
        hosts[name].update(_platform(name, kind, spec))
    _resolve_bans(hosts)
    return {
        'path': os.path.abspath(path),
        'network': {'ipv4': str(net4), 'ipv6': str(net6)},
        'pools': {name: {'clustered': bool((spec or {}).get('clustered'))} for name, spec in pools.items()},
        'groups': dict(group_names),
        'listen': listen,
        'control_ports': control,
        'controller': _controller(raw, net4, net6, prefix, seen_addr),
        'hosts': hosts,
    }
