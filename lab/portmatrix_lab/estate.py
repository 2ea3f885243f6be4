"""Read and check an estate file; turn it into the per-host plan the lab builds."""

import ipaddress
import os
import re

import yaml

DEFAULT_ESTATE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'estate.yml')
DEFAULT_PYTHON = '/usr/bin/python3'
# firewall kind -> what holds the host's rules (the backend a collection has to use there)
BACKEND_OF_KIND = {
    'xenserver': 'iptables',
    'firewalld': 'firewalld',
    'nftables': 'nftables',
    'debian': 'iptables',
    'open': 'iptables',
}
FIREWALL_KINDS = tuple(BACKEND_OF_KIND)
SHORT_RE = re.compile(r'^[a-z0-9]{1,10}$')
HOST_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$')


class EstateError(ValueError):
    """The estate file is not valid."""


def _ports(section, proto):
    ports = (section or {}).get(proto) or []
    for port in ports:
        if not isinstance(port, int) or not 0 < port < 65536:
            raise EstateError('bad %s port %r' % (proto, port))
    return sorted(set(ports))


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

    hosts = {}
    seen_short, seen_addr = set(), set()
    for name, spec in raw['hosts'].items():
        spec = spec or {}
        short = str(spec.get('short', name))
        addr = spec.get('addr')
        kind = spec.get('firewall', 'debian')
        if not HOST_RE.match(name):
            raise EstateError('bad host name %r' % name)
        if not SHORT_RE.match(short) or short == 'br' or short in seen_short:
            raise EstateError('%s: short %r must be 1-10 of [a-z0-9], unique, not "br"' % (name, short))
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
        seen_addr.add(addr)
        hosts[name] = {
            'name': name,
            'short': short,
            'ns': prefix + short,
            'veth': 'v-' + short,
            'iface': spec.get('iface', 'eth0'),
            # the v6 host part reads like the v4 one: .11 -> ::11
            'ipv4': str(net4[addr]),
            'ipv6': str(net6[int(str(addr), 16)]),
            'ipv4_cidr': '%s/%d' % (net4[addr], net4.prefixlen),
            'ipv6_cidr': '%s/%d' % (net6[int(str(addr), 16)], net6.prefixlen),
            'firewall': kind,
            'pool': pool,
            'components': components,
            'python': spec.get('python', DEFAULT_PYTHON),
        }
    return {
        'path': os.path.abspath(path),
        'network': {'ipv4': str(net4), 'ipv6': str(net6)},
        'pools': {name: {'clustered': bool((spec or {}).get('clustered'))} for name, spec in pools.items()},
        'groups': dict(group_names),
        'listen': listen,
        'control_ports': control,
        'hosts': hosts,
    }
