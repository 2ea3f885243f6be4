"""What the lab writes for its users: the Ansible inventory and an ssh_config."""

import os

from .estate import BACKEND_OF_KIND

# inventory group of a grouped host, by the backend that holds its rules
BACKEND_GROUP = {'iptables': 'lab_iptables', 'firewalld': 'lab_firewalld', 'nftables': 'lab_nftables'}


def proxy_command(host, controller, via=None):
    """How ssh reaches host's sshd: from the controller's namespace over the lab network (sshd
    sees the controller's address and the host's firewall decides), or with via / the host's
    ssh_via 'loopback' over the host's own loopback (no firewall in the way)."""
    if (via or host['ssh_via']) == 'loopback':
        return 'ip netns exec %s nc 127.0.0.1 22' % host['ns']
    return 'ip netns exec %s nc %s 22' % (controller['ns'], host['ipv4'])


def inventory(estate, hosts, key_file):
    """Ansible YAML inventory (a dict ready for yaml.safe_dump)."""
    controller = estate['controller']
    host_vars = {}
    for name, host in hosts.items():
        entry = {
            'ansible_host': host['ipv4'],
            'ansible_user': 'root',
            'ansible_ssh_private_key_file': key_file,
            'ansible_ssh_common_args': '-o ProxyCommand="%s" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'
                                       % proxy_command(host, controller),
            'ansible_python_interpreter': host['python'],
            # Every lab uses the same addresses: SSH multiplexing sockets must be per lab,
            # or a run would reuse a connection into another lab's host.
            'ansible_control_path_dir': os.path.join(os.path.dirname(key_file), 'ansible-cp'),
            'portmatrix_lab_ns': host['ns'],
            'portmatrix_lab_firewall': host['firewall'],
            'portmatrix_lab_backend': BACKEND_OF_KIND[host['firewall']],
            'portmatrix_lab_iface': host['iface'],
            'portmatrix_lab_ssh_via': host['ssh_via'],
            'portmatrix_addresses': [host['ipv4'], host['ipv6']],
        }
        if host['pool']:
            entry['portmatrix_pool'] = host['pool']
        entry['portmatrix_lab_extras'] = list(host.get('extras', []))
        if 'fail2ban' in entry['portmatrix_lab_extras']:
            entry['portmatrix_lab_fail2ban'] = host['fail2ban']  # jails with the banned addresses
        host_vars[name] = entry

    children = {}

    def add(group, name):
        children.setdefault(group, {'hosts': {}})['hosts'][name] = None

    for group in estate['groups'].values():
        children.setdefault(group, {'hosts': {}})
    for pool in estate['pools']:
        children.setdefault(pool, {'hosts': {}})
    for group in BACKEND_GROUP.values():  # listed even when empty, like the component groups
        children.setdefault(group, {'hosts': {}})
    for name, host in hosts.items():
        for component in host['components']:
            add(estate['groups'][component], name)
        if host['pool']:
            add(host['pool'], name)
        if host['components']:  # a host of no component (the outsider) stays ungrouped
            add(BACKEND_GROUP[BACKEND_OF_KIND[host['firewall']]], name)
    for group in children.values():
        if not group['hosts']:
            del group['hosts']
    clustered = sorted(pool for pool, spec in estate['pools'].items() if spec['clustered'])
    lab_vars = {'portmatrix_clustered_pools': clustered,
                # where the SSH of hosts with ssh_via controller comes from (what the SSH guard sees)
                'portmatrix_lab_controller_addresses': [controller['ipv4'], controller['ipv6']]}
    return {'all': {'vars': lab_vars, 'hosts': host_vars, 'children': children}}


def ssh_config(hosts, controller, key_file):
    """ssh_config so that `ssh -F <state>/ssh_config HOST` works (the inventory's path)."""
    blocks = []
    for name, host in hosts.items():
        blocks.append('\n'.join([
            'Host %s' % name,
            '  HostName %s' % host['ipv4'],
            '  User root',
            '  IdentityFile %s' % key_file,
            '  IdentitiesOnly yes',
            '  ProxyCommand %s' % proxy_command(host, controller),
            '  StrictHostKeyChecking no',
            '  UserKnownHostsFile /dev/null',
            '  LogLevel ERROR',
        ]))
    return '\n\n'.join(blocks) + '\n'


def sshd_config(state_dir, host_dir):
    return '\n'.join([
        'Port 22',
        'ListenAddress 0.0.0.0',
        'ListenAddress ::',
        'HostKey %s/ssh_host_ed25519_key' % state_dir,
        'PermitRootLogin prohibit-password',
        'PubkeyAuthentication yes',
        'AuthorizedKeysFile %s/id_ed25519.pub' % state_dir,
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        'StrictModes no',
        'PrintMotd no',
        'MaxStartups 64:30:128',
        'MaxSessions 32',
        'PidFile %s/sshd.pid' % host_dir,
        'Subsystem sftp internal-sftp',
        '',
    ])
