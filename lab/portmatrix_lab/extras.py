"""What Docker and fail2ban add to an iptables host at run time (never in its saved rules files).

Each extra is a list of steps; `script` turns steps into one idempotent shell script, the
way the daemons themselves work at start (check with -C, add what is missing), so the same
script builds a fresh host, restores one after `reset`, and brings the chains back after
the rules were reloaded from the saved files (`labctl extras`, like a daemon restart).

A step is (family, table, action, chain, args):
  ('chain', ...)   create the chain unless it exists
  ('policy', ...)  set the built-in chain's policy to args[0]
  ('append', ...)  append the rule unless it is there
  ('insert', ...)  insert the rule at the top unless it is there
"""

import shlex

EXTRAS = ('docker', 'fail2ban')
DOCKER_DEFAULTS = {'network': '198.19.0.0/16', 'bridge': 'docker0'}
FAIL2BAN_BLOCKTYPE = {4: ['REJECT', '--reject-with', 'icmp-port-unreachable'],
                      6: ['REJECT', '--reject-with', 'icmp6-port-unreachable']}


def docker_steps(network, bridge):
    """Docker 20.10-26 (libnetwork) with its default bridge: IPv4 only (ip6tables is off by default).

    The FORWARD rules go on top of FORWARD (Docker inserts them there, before ufw's jumps
    for example); its policy becomes DROP, as when Docker enabled ip_forward itself."""
    forward = [  # final order, top down
        ['-j', 'DOCKER-USER'],
        ['-j', 'DOCKER-ISOLATION-STAGE-1'],
        ['-o', bridge, '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', '-j', 'ACCEPT'],
        ['-o', bridge, '-j', 'DOCKER'],
        ['-i', bridge, '!', '-o', bridge, '-j', 'ACCEPT'],
        ['-i', bridge, '-o', bridge, '-j', 'ACCEPT'],
    ]
    steps = [(4, 'nat', 'chain', 'DOCKER', [])]
    steps += [(4, 'filter', 'chain', chain, []) for chain in ('DOCKER', 'DOCKER-ISOLATION-STAGE-1', 'DOCKER-ISOLATION-STAGE-2', 'DOCKER-USER')]
    steps += [
        (4, 'nat', 'append', 'PREROUTING', ['-m', 'addrtype', '--dst-type', 'LOCAL', '-j', 'DOCKER']),
        (4, 'nat', 'append', 'OUTPUT', ['!', '-d', '127.0.0.0/8', '-m', 'addrtype', '--dst-type', 'LOCAL', '-j', 'DOCKER']),
        (4, 'nat', 'append', 'POSTROUTING', ['-s', network, '!', '-o', bridge, '-j', 'MASQUERADE']),
        (4, 'nat', 'append', 'DOCKER', ['-i', bridge, '-j', 'RETURN']),
        (4, 'filter', 'append', 'DOCKER-ISOLATION-STAGE-1', ['-i', bridge, '!', '-o', bridge, '-j', 'DOCKER-ISOLATION-STAGE-2']),
        (4, 'filter', 'append', 'DOCKER-ISOLATION-STAGE-1', ['-j', 'RETURN']),
        (4, 'filter', 'append', 'DOCKER-ISOLATION-STAGE-2', ['-o', bridge, '-j', 'DROP']),
        (4, 'filter', 'append', 'DOCKER-ISOLATION-STAGE-2', ['-j', 'RETURN']),
        (4, 'filter', 'append', 'DOCKER-USER', ['-j', 'RETURN']),
    ]
    steps += [(4, 'filter', 'insert', 'FORWARD', rule) for rule in reversed(forward)]
    steps.append((4, 'filter', 'policy', 'FORWARD', ['DROP']))
    return steps


def fail2ban_steps(jails):
    """fail2ban's iptables-multiport action, per jail and family: chain f2b-<jail> ending in
    RETURN, jumped from the top of INPUT for the jail's ports, one REJECT per banned address
    (each ban inserted on top of the chain, as actionban does)."""
    steps = []
    for jail in jails:
        chain = 'f2b-' + jail['jail']
        for family in (4, 6):
            steps += [
                (family, 'filter', 'chain', chain, []),
                (family, 'filter', 'append', chain, ['-j', 'RETURN']),
                (family, 'filter', 'insert', 'INPUT', ['-p', jail['protocol'], '-m', 'multiport', '--dports',
                                                       ','.join(str(p) for p in jail['ports']), '-j', chain]),
            ]
            steps += [(family, 'filter', 'insert', chain, ['-s', address, '-j'] + FAIL2BAN_BLOCKTYPE[family])
                      for address in jail['addresses']['ipv%d' % family]]
    return steps


def host_steps(host):
    """Every step of the host's extras, Docker first (it starts before fail2ban)."""
    steps = []
    if 'docker' in host.get('extras', ()):
        steps += docker_steps(host['docker']['network'], host['docker']['bridge'])
    if 'fail2ban' in host.get('extras', ()):
        steps += fail2ban_steps(host['fail2ban'])
    return steps


def script(steps):
    """One idempotent sh script for the steps ('' when there are none)."""
    lines = []
    for family, table, action, chain, args in steps:
        tool = ['iptables' if family == 4 else 'ip6tables', '-w', '-t', table]
        quoted = ' '.join(shlex.quote(arg) for arg in args)
        cmd = shlex.join(tool)
        if action == 'chain':
            lines.append('%s -n -L %s >/dev/null 2>&1 || %s -N %s' % (cmd, shlex.quote(chain), cmd, shlex.quote(chain)))
        elif action == 'policy':
            lines.append('%s -P %s %s' % (cmd, shlex.quote(chain), quoted))
        elif action in ('append', 'insert'):
            add = '-A %s' % shlex.quote(chain) if action == 'append' else '-I %s 1' % shlex.quote(chain)
            lines.append('%s -C %s %s 2>/dev/null || %s %s %s' % (cmd, shlex.quote(chain), quoted, cmd, add, quoted))
        else:
            raise ValueError('unknown step action %r' % (action,))
    return '\n'.join(['set -e'] + lines) + '\n' if lines else ''
