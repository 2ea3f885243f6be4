"""The firewall kinds and extras of estate_kinds.yml: stock state, reset, traffic (IPv4 and IPv6)."""

import os
import re

import yaml

from portmatrix_lab import stock


def ruleset(lab, name):
    """The host's whole netfilter ruleset (native nftables and iptables-nft tables), without counters."""
    return lab.exec(name, ['nft', '-s', 'list', 'ruleset'], check=True).stdout


def file_bytes(lab, name, paths):
    """{path: content, or None when the host has no such file}."""
    found = {}
    for path in paths:
        done = lab.exec(name, ['cat', path])
        found[path] = done.stdout if done.returncode == 0 else None
    return found


def snapshot(lab, name, paths):
    """What a reset must give back byte for byte: the rules in the kernel and the stock files."""
    return {'ruleset': ruleset(lab, name), 'files': file_bytes(lab, name, paths)}


def probe_all(lab, flows, timeout=1.0):
    results, summary = lab.probe(flows, timeout=timeout)
    mismatches = [r for r in results if not r['match']]
    assert not mismatches, mismatches
    return results, summary


def flows_to(dst, src, expectations):
    """Flows from src to dst in both families: expectations is [(proto, port, expect)]."""
    return [{'src': src, 'dst': dst, 'proto': proto, 'port': port, 'family': family, 'expect': expect}
            for proto, port, expect in expectations for family in (4, 6)]


# ---- inventory ---------------------------------------------------------------------------
def test_kinds_inventory(kinds_lab):
    with open(kinds_lab.inventory_path, encoding='utf-8') as handle:
        inventory = yaml.safe_load(handle)['all']
    groups, hosts = inventory['children'], inventory['hosts']
    assert set(groups['lab_nftables']['hosts']) == {'nft'}
    assert hosts['nft']['portmatrix_lab_firewall'] == 'nftables' and hosts['nft']['portmatrix_lab_backend'] == 'nftables'
    assert hosts['xencenter']['portmatrix_lab_backend'] == 'iptables'


# ---- nftables: Debian with native nftables (nftables.service) ------------------------------
NFT_FILES = list(stock.NFT_FILES['nftables'])


def test_nftables_host_starts_stock(kinds_lab):
    rules = ruleset(kinds_lab, 'nft')
    # only the host's own table: no iptables-nft tables, nothing else
    assert re.findall(r'(?m)^table .*$', rules) == ['table inet filter {']
    assert 'type filter hook input priority filter; policy drop;' in rules
    assert 'type filter hook forward priority filter; policy drop;' in rules
    assert 'type filter hook output priority filter; policy accept;' in rules
    for rule in ('iif "lo" accept', 'ct state established,related accept', 'ct state invalid drop',
                 'meta l4proto { icmp, ipv6-icmp } accept', 'tcp dport 22 accept'):
        assert rule in rules, rule
    assert file_bytes(kinds_lab, 'nft', NFT_FILES) == {'/etc/nftables.conf': stock.NFTABLES_CONF}
    mode = kinds_lab.exec('nft', ['stat', '-c', '%a', '/etc/nftables.conf'], check=True).stdout.strip()
    assert mode == '755'
    assert kinds_lab.exec('nft', ['sh', '-c', 'test -e /etc/iptables/rules.v4 || test -e /etc/iptables/rules.v6']).returncode != 0
    # the file is the host's own (overlay upper dir), not the machine's
    assert os.path.exists(os.path.join(kinds_lab.host_dir('nft'), 'upper', 'etc', 'nftables.conf'))


def test_nftables_host_drops_everything_but_ssh(kinds_lab):
    results, unused_summary = probe_all(kinds_lab, flows_to('nft', 'xencenter', [
        ('tcp', 22, 'open'), ('tcp', 443, 'refused'), ('tcp', 27000, 'refused'),
        ('tcp', 8080, 'refused'), ('udp', 514, 'refused'), ('udp', 9999, 'refused')]))
    # policy drop: no answer at all (a REJECT would give ECONNREFUSED / EACCES)
    assert {r['detail'] for r in results if r['proto'] == 'tcp' and r['observed'] == 'refused'} == {'timeout'}
    # the outsider's open host answers on the same ports, so the drop is the nftables host's
    probe_all(kinds_lab, flows_to('outsider', 'nft', [('tcp', 27000, 'open')]))


def test_nftables_reset_restores_byte_for_byte(kinds_lab):
    before = snapshot(kinds_lab, 'nft', NFT_FILES)
    kinds_lab.exec('nft', ['nft', 'add', 'rule', 'inet', 'filter', 'input', 'tcp', 'dport', '443', 'accept'], check=True)
    kinds_lab.exec('nft', ['iptables', '-A', 'INPUT', '-p', 'tcp', '--dport', '27000', '-j', 'ACCEPT'], check=True)
    kinds_lab.exec('nft', ['sh', '-c', 'echo "include \\"/etc/nftables.d/*.nft\\"" >> /etc/nftables.conf'], check=True)
    changed = snapshot(kinds_lab, 'nft', NFT_FILES)
    assert changed != before and 'table ip filter' in changed['ruleset']
    probe_all(kinds_lab, flows_to('nft', 'xencenter', [('tcp', 443, 'open')]))
    kinds_lab.reset(['nft'])
    assert snapshot(kinds_lab, 'nft', NFT_FILES) == before
    probe_all(kinds_lab, flows_to('nft', 'xencenter', [('tcp', 443, 'refused'), ('tcp', 22, 'open')]))


# ---- ufw: ufw's chain layout, INPUT policy DROP ---------------------------------------------
def saved_rules(lab, name, family):
    """iptables-save (or ip6tables-save) of the host: no comments, no counters."""
    out = lab.exec(name, ['iptables-save' if family == 4 else 'ip6tables-save'], check=True).stdout
    return [re.sub(r' \[\d+:\d+\]$', ' [0:0]', line) for line in out.splitlines() if not line.startswith('#')]


def file_rules(text):
    return [line for line in text.splitlines() if not line.startswith('#')]


def test_ufw_host_starts_with_ufw_layout(kinds_lab):
    for path, (family, text) in stock.RULE_FILES['ufw'].items():
        assert saved_rules(kinds_lab, 'ufw', family) == file_rules(text), family
        assert file_bytes(kinds_lab, 'ufw', [path])[path] == text
    rules4 = saved_rules(kinds_lab, 'ufw', 4)
    assert rules4[1:4] == [':INPUT DROP [0:0]', ':FORWARD DROP [0:0]', ':OUTPUT ACCEPT [0:0]']
    assert [line for line in rules4 if line.startswith('-A INPUT ')] == [
        '-A INPUT -j ufw-before-logging-input', '-A INPUT -j ufw-before-input', '-A INPUT -j ufw-after-input',
        '-A INPUT -j ufw-after-logging-input', '-A INPUT -j ufw-reject-input', '-A INPUT -j ufw-track-input']
    for rule in ('-A ufw-before-input -i lo -j ACCEPT', '-A ufw-before-input -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
                 '-A ufw-before-input -p icmp -m icmp --icmp-type 8 -j ACCEPT', '-A ufw-before-input -j ufw-user-input',
                 '-A ufw-user-input -p tcp -m tcp --dport 22 -j ACCEPT', '-A ufw-skip-to-policy-input -j DROP'):
        assert rule in rules4, rule
    assert '-A ufw6-user-input -p tcp -m tcp --dport 22 -j ACCEPT' in saved_rules(kinds_lab, 'ufw', 6)


def test_ufw_host_lets_only_ssh_in(kinds_lab):
    results, unused_summary = probe_all(kinds_lab, flows_to('ufw', 'xencenter', [
        ('tcp', 22, 'open'), ('tcp', 27000, 'refused'), ('tcp', 445, 'refused'), ('udp', 514, 'refused')]))
    assert {r['detail'] for r in results if r['proto'] == 'tcp' and r['observed'] == 'refused'} == {'timeout'}  # DROP


# ---- extras: Docker and fail2ban at run time -------------------------------------------------
DOCKER_FILTER = [
    '-A FORWARD -j DOCKER-USER',
    '-A FORWARD -j DOCKER-ISOLATION-STAGE-1',
    '-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
    '-A FORWARD -o docker0 -j DOCKER',
    '-A FORWARD -i docker0 ! -o docker0 -j ACCEPT',
    '-A FORWARD -i docker0 -o docker0 -j ACCEPT',
    '-A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2',
    '-A DOCKER-ISOLATION-STAGE-1 -j RETURN',
    '-A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP',
    '-A DOCKER-ISOLATION-STAGE-2 -j RETURN',
    '-A DOCKER-USER -j RETURN',
]
DOCKER_NAT = [
    '-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER',
    '-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER',
    '-A POSTROUTING -s 198.19.0.0/16 ! -o docker0 -j MASQUERADE',
    '-A DOCKER -i docker0 -j RETURN',
]


def table_rules(lab, name, family, table):
    tool = 'iptables-save' if family == 4 else 'ip6tables-save'
    out = lab.exec(name, [tool, '-t', table], check=True).stdout
    return [line for line in out.splitlines() if line.startswith(('-A ', ':'))]


def test_docker_chains_at_run_time(kinds_lab):
    filter4 = table_rules(kinds_lab, 'dock', 4, 'filter')
    assert [line for line in filter4 if 'DOCKER' in line or 'docker0' in line] == [
        ':DOCKER - [0:0]', ':DOCKER-ISOLATION-STAGE-1 - [0:0]', ':DOCKER-ISOLATION-STAGE-2 - [0:0]', ':DOCKER-USER - [0:0]'] + DOCKER_FILTER
    assert ':FORWARD DROP [0:0]' in filter4
    assert [line for line in table_rules(kinds_lab, 'dock', 4, 'nat') if line.startswith('-A ')] == DOCKER_NAT
    assert not [line for line in table_rules(kinds_lab, 'dock', 6, 'filter') if 'DOCKER' in line]  # IPv4 only
    # not in the saved files: Docker rebuilds them at start
    saved = file_bytes(kinds_lab, 'dock', list(stock.RULE_FILES['debian']))
    assert saved == {path: text for path, (family, text) in stock.RULE_FILES['debian'].items()}


def test_fail2ban_chains_and_bans(kinds_lab):
    for family, banned, reject in ((4, ['198.18.77.250/32', '198.18.77.99/32'], 'icmp-port-unreachable'),
                                   (6, ['fd77:18:77::99/128'], 'icmp6-port-unreachable')):
        rules = [line for line in table_rules(kinds_lab, 'dock', family, 'filter') if line.startswith('-A ')]
        assert rules[0] == '-A INPUT -p tcp -m multiport --dports 22 -j f2b-sshd'  # the top of INPUT
        assert [line for line in rules if line.startswith('-A f2b-sshd ')] == [
            '-A f2b-sshd -s %s -j REJECT --reject-with %s' % (address, reject) for address in banned] + ['-A f2b-sshd -j RETURN']
        xs8 = [line for line in table_rules(kinds_lab, 'xs8', family, 'filter') if line.startswith('-A INPUT ')]
        assert xs8[0] == '-A INPUT -p tcp -m multiport --dports 22,443 -j f2b-xapi'  # above xapi-INPUT too
    with open(kinds_lab.inventory_path, encoding='utf-8') as handle:
        xs8_vars = yaml.safe_load(handle)['all']['hosts']['xs8']
    assert xs8_vars['portmatrix_lab_extras'] == ['fail2ban']
    assert xs8_vars['portmatrix_lab_fail2ban'] == [{'jail': 'xapi', 'protocol': 'tcp', 'ports': [22, 443], 'banned': ['xencenter'],
                                                   'addresses': {'ipv4': ['198.18.77.51'], 'ipv6': ['fd77:18:77::51']}}]


def test_bans_ban_by_traffic(kinds_lab):
    results, unused_summary = probe_all(kinds_lab, (
        # xencenter is banned on the pool host's 22 and 443 (REJECT, both families), not on 80
        flows_to('xs8', 'xencenter', [('tcp', 22, 'refused'), ('tcp', 443, 'refused'), ('tcp', 80, 'open')])
        + flows_to('xs8', 'apiclient', [('tcp', 22, 'open'), ('tcp', 443, 'open')])
        + flows_to('dock', 'outsider', [('tcp', 22, 'refused')])
        + flows_to('dock', 'xencenter', [('tcp', 22, 'open')])))
    assert {r['detail'] for r in results if r['observed'] == 'refused'} == {'ECONNREFUSED'}  # icmp(6)-port-unreachable


def test_loopback_ssh_where_chosen(kinds_lab):
    """dock (ssh_via: loopback) is reached over its own loopback; fail2ban bans the controller there."""
    with open(kinds_lab.inventory_path, encoding='utf-8') as handle:
        hosts = yaml.safe_load(handle)['all']['hosts']
    assert hosts['dock']['portmatrix_lab_ssh_via'] == 'loopback'
    assert '-o ProxyCommand="ip netns exec %sdock nc 127.0.0.1 22" ' % kinds_lab.prefix in hosts['dock']['ansible_ssh_common_args']
    assert '-o ProxyCommand="ip netns exec %sctl nc 198.18.77.51 22" ' % kinds_lab.prefix in hosts['xencenter']['ansible_ssh_common_args']
    for name, source in (('dock', '127.0.0.1'), ('xencenter', '198.18.77.250')):
        done = kinds_lab.ssh(name, 'echo "$SSH_CONNECTION"')
        assert done.returncode == 0, done.stderr
        assert done.stdout.split()[0] == source, name
    assert kinds_lab.ssh('dock', 'true', via='controller').returncode == 255
    results, unused_summary = probe_all(kinds_lab, [{'src': 'controller', 'dst': 'dock', 'proto': 'tcp', 'port': 22, 'expect': 'refused'},
                                                    {'src': 'controller', 'dst': 'xs8', 'proto': 'tcp', 'port': 22, 'expect': 'open'}])
    assert results[0]['detail'] == 'ECONNREFUSED'


IPTABLES_FILES = {'dock': list(stock.RULE_FILES['debian']), 'xs8': list(stock.RULE_FILES['xenserver']),
                  'ufw': list(stock.RULE_FILES['ufw'])}


def test_reset_restores_iptables_kinds_and_extras_byte_for_byte(kinds_lab):
    before = {name: snapshot(kinds_lab, name, paths) for name, paths in IPTABLES_FILES.items()}
    script = ('iptables -t nat -F; iptables -t nat -X; iptables -F FORWARD; iptables -F f2b-{jail}; ip6tables -D INPUT 1; '
              'iptables -I INPUT -p tcp --dport 27000 -j ACCEPT; echo "# edited" >> {file}')
    for name, jail in (('dock', 'sshd'), ('xs8', 'xapi'), ('ufw', None)):
        command = script.format(jail=jail, file=IPTABLES_FILES[name][0]) if jail else 'iptables -P INPUT ACCEPT; ip6tables -P INPUT ACCEPT'
        kinds_lab.exec(name, ['sh', '-c', command])
        assert snapshot(kinds_lab, name, IPTABLES_FILES[name]) != before[name], name
    kinds_lab.reset(list(IPTABLES_FILES))
    assert {name: snapshot(kinds_lab, name, paths) for name, paths in IPTABLES_FILES.items()} == before


def test_extras_come_back_like_after_a_reboot(kinds_lab):
    before = snapshot(kinds_lab, 'dock', IPTABLES_FILES['dock'])
    # a reboot: the kernel starts empty and the saved files are loaded (without Docker and fail2ban)
    kinds_lab.exec('dock', ['sh', '-ec', 'nft flush ruleset; iptables-restore /etc/iptables/rules.v4; ip6tables-restore /etc/iptables/rules.v6'])
    assert 'DOCKER' not in ruleset(kinds_lab, 'dock') and 'f2b-sshd' not in ruleset(kinds_lab, 'dock')
    assert kinds_lab.start_extras(['dock']) == ['dock']
    assert snapshot(kinds_lab, 'dock', IPTABLES_FILES['dock']) == before
    kinds_lab.start_extras()  # again, every host with extras: nothing is added twice
    assert snapshot(kinds_lab, 'dock', IPTABLES_FILES['dock']) == before


# ---- xenserver9: XenServer 9-like dom0 on firewalld, xapi's services ---------------------------
ALL_XAPI = {'dlm', 'nbd', 'ssh', 'vxlan', 'xapi-insecure', 'xenha'}
ZONE_STOCK = {'https', 'dhcpv6-client'}
SERVICE_PORTS = {'ssh': ('tcp', 22), 'xapi-insecure': ('tcp', 80), 'https': ('tcp', 443), 'nbd': ('tcp', 10809),
                 'dlm': ('tcp', 21064), 'xenha': ('udp', 694), 'vxlan': ('udp', 4789)}


def zone_ports(lab, name):
    """What firewalld made of the zone's services at run time: (proto, port) of each accept
    (nft, not firewall-cmd: no Python start per look)."""
    allow = lab.exec(name, ['nft', 'list', 'chain', 'inet', 'firewalld', 'filter_IN_public_allow'], check=True).stdout
    return {(proto, int(port)) for proto, port in re.findall(r'(?m)^\t\t(tcp|udp) dport (\d+) accept$', allow)}


def ports_of(service_names):
    return {SERVICE_PORTS[name] for name in service_names if name in SERVICE_PORTS}


def permanent_services(lab, name):
    """Services of the permanent zone file, as firewalld wrote it."""
    with open(os.path.join(lab.host_dir(name), 'firewalld', 'zones', 'public.xml'), encoding='utf-8') as handle:
        return set(re.findall(r'<service name="([^"]+)"/>', handle.read()))


def firewalld_files(lab, name):
    """Every file of the host's /etc/firewalld: {relative path: content}."""
    top = os.path.join(lab.host_dir(name), 'firewalld')
    found = {}
    for folder, unused_dirs, names in os.walk(top):
        for entry in names:
            with open(os.path.join(folder, entry), encoding='utf-8') as handle:
                found[os.path.relpath(os.path.join(folder, entry), top)] = handle.read()
    return found


def xs9_snapshot(lab, name):
    with open(os.path.join(lab.host_dir(name), 'xe.json'), encoding='utf-8') as handle:
        xe_state = handle.read()
    return {'ruleset': ruleset(lab, name), 'files': firewalld_files(lab, name), 'xe': xe_state}


def xe(lab, name, *args):
    return lab.exec(name, ['xe'] + list(args), check=True).stdout.strip()


def assert_services(lab, name, enabled, permanent):
    """enabled (xapi's and the zone's stock services) is in force at run time; the permanent zone
    holds `permanent`: the xe stand-in, like xapi, changes the runtime only."""
    assert zone_ports(lab, name) == ports_of(enabled), name  # (dhcpv6-client's accept names a daddr)
    assert permanent_services(lab, name) == permanent, name


def test_xenserver9_starts_with_xapis_services(kinds_lab):
    for name, enabled in (('xs9a', ALL_XAPI), ('xs9b', {'ssh', 'xapi-insecure'})):
        assert kinds_lab.exec(name, ['firewall-cmd', '--get-zone-of-interface=xenbr0'], check=True).stdout.strip() == 'public'
        assert_services(kinds_lab, name, enabled | ZONE_STOCK, enabled | ZONE_STOCK)
        uuid = xe(kinds_lab, name, 'host-list', '--minimal')
        assert xe(kinds_lab, name, 'host-param-get', 'uuid=' + uuid, 'param-name=software-version', 'param-key=product_version') == '9.0.0'
        assert xe(kinds_lab, name, 'host-param-get', 'uuid=' + uuid, 'param-name=https-only') == 'false'
        # firewalld only: no iptables-services files or stand-ins
        assert kinds_lab.exec(name, ['sh', '-c', 'test -e /etc/sysconfig/iptables || test -e /usr/libexec/iptables/iptables.init']).returncode != 0
    assert set(kinds_lab.exec('xs9a', ['firewall-cmd', '--zone=public', '--list-services'], check=True).stdout.split()) == ALL_XAPI | ZONE_STOCK
    assert sorted(os.listdir(os.path.join(kinds_lab.host_dir('xs9a'), 'firewalld', 'services'))) == [
        'dlm.xml', 'vxlan.xml', 'xapi-insecure.xml', 'xenha.xml']  # ssh and nbd come with firewalld


def test_xenserver9_stock_ports_by_traffic(kinds_lab):
    open_on_a = [(proto, port, 'open') for proto, port in SERVICE_PORTS.values()]
    results, unused_summary = probe_all(kinds_lab, flows_to('xs9a', 'outsider', open_on_a + [
        ('tcp', 27000, 'refused'), ('tcp', 8080, 'refused'), ('udp', 9999, 'refused')]) + flows_to('xs9b', 'outsider', [
            ('tcp', 22, 'open'), ('tcp', 80, 'open'), ('tcp', 443, 'open'), ('tcp', 10809, 'refused'),
            ('tcp', 21064, 'refused'), ('udp', 694, 'refused'), ('udp', 4789, 'refused')]))
    # firewalld rejects (icmp admin-prohibited), it does not drop
    assert {r['detail'] for r in results if r['proto'] == 'tcp' and r['observed'] == 'refused'} <= {'EHOSTUNREACH', 'EACCES'}


def test_xe_standin_changes_xapis_services_and_reset_restores(kinds_lab):
    before = {name: xs9_snapshot(kinds_lab, name) for name in ('xs9a', 'xs9b')}
    host_a = xe(kinds_lab, 'xs9a', 'host-list', '--minimal')
    port80 = flows_to('xs9a', 'apiclient', [('tcp', 80, 'refused')])
    xe(kinds_lab, 'xs9a', 'host-param-set', 'uuid=' + host_a, 'https-only=true')
    assert_services(kinds_lab, 'xs9a', ALL_XAPI - {'xapi-insecure'} | ZONE_STOCK, ALL_XAPI | ZONE_STOCK)
    assert xe(kinds_lab, 'xs9a', 'host-param-get', 'uuid=' + host_a, 'param-name=https-only') == 'true'
    probe_all(kinds_lab, port80 + flows_to('xs9a', 'apiclient', [('tcp', 443, 'open')]))
    xe(kinds_lab, 'xs9a', 'host-param-set', 'uuid=' + host_a, 'https-only=false')
    assert_services(kinds_lab, 'xs9a', ALL_XAPI | ZONE_STOCK, ALL_XAPI | ZONE_STOCK)
    probe_all(kinds_lab, [dict(flow, expect='open') for flow in port80])

    network = xe(kinds_lab, 'xs9b', 'network-list', '--minimal')
    xe(kinds_lab, 'xs9b', 'network-param-add', 'uuid=' + network, 'param-name=purpose', 'param-key=nbd')
    xe(kinds_lab, 'xs9b', 'pool-ha-enable')
    assert_services(kinds_lab, 'xs9b', {'ssh', 'xapi-insecure', 'nbd', 'xenha'} | ZONE_STOCK, {'ssh', 'xapi-insecure'} | ZONE_STOCK)
    assert xe(kinds_lab, 'xs9b', 'network-param-get', 'uuid=' + network, 'param-name=purpose') == 'nbd'
    probe_all(kinds_lab, flows_to('xs9b', 'xencenter', [('tcp', 10809, 'open'), ('udp', 694, 'open')]))
    xe(kinds_lab, 'xs9b', 'network-param-remove', 'uuid=' + network, 'param-name=purpose', 'param-key=nbd')
    xe(kinds_lab, 'xs9b', 'pool-ha-disable')
    assert_services(kinds_lab, 'xs9b', {'ssh', 'xapi-insecure'} | ZONE_STOCK, {'ssh', 'xapi-insecure'} | ZONE_STOCK)
    probe_all(kinds_lab, flows_to('xs9b', 'xencenter', [('tcp', 10809, 'refused'), ('udp', 694, 'refused')]))

    # leave both changed, then reset: firewalld files, nft ruleset and xe state byte for byte
    xe(kinds_lab, 'xs9a', 'host-param-set', 'uuid=' + host_a, 'https-only=true')
    kinds_lab.exec('xs9b', ['firewall-cmd', '--permanent', '--zone=public', '--add-port=27000/tcp'], check=True)
    kinds_lab.exec('xs9b', ['firewall-cmd', '--reload'], check=True)
    assert {name: xs9_snapshot(kinds_lab, name) for name in ('xs9a', 'xs9b')} != before
    kinds_lab.reset(['xs9a', 'xs9b'])
    assert {name: xs9_snapshot(kinds_lab, name) for name in ('xs9a', 'xs9b')} == before
    with open(os.path.join(kinds_lab.host_dir('xs9a'), 'xe.log'), encoding='utf-8') as handle:
        calls = [line for line in handle if 'https-only=true' in line]
    assert len(calls) == 2


def test_xenserver9_service_status_update_after_a_firewalld_restart(kinds_lab):
    # xapi's services are runtime only, so a firewalld restart loses them; update-xapi-firewalld.service
    # (PartOf= and After=firewalld.service) runs this xe command when firewalld starts or restarts and it
    # adds them again (xen-api scripts/update-xapi-firewalld.service, ocaml/xapi/xapi_host.ml
    # update_firewalld_service_status). Nothing of xapi's runs on a `firewall-cmd --reload`.
    # Here a runtime removal stands for the lost service (the lab's permanent zone would bring it back).
    kinds_lab.exec('xs9a', ['firewall-cmd', '--zone=public', '--remove-service=nbd'], check=True)
    assert ('tcp', 10809) not in zone_ports(kinds_lab, 'xs9a')
    xe(kinds_lab, 'xs9a', 'host-update-firewalld-service-status')
    assert_services(kinds_lab, 'xs9a', ALL_XAPI | ZONE_STOCK, ALL_XAPI | ZONE_STOCK)


def test_firewall_port_standin_does_what_xapis_plugin_does(kinds_lab):
    """xen-api scripts/plugins/firewall-port: the rule on top of xapi-INPUT (RH-Firewall-1-INPUT for 80),
    the chain created with a RETURN and a jump from the top of INPUT when missing, the whole running
    ruleset saved; the xe stand-in's https-only and lab-xapi-start go through it."""
    fp = '/etc/xapi.d/plugins/firewall-port'
    kinds_lab.exec('xs8', ['sh', '-c', 'iptables -D INPUT -j xapi-INPUT && iptables -F xapi-INPUT && iptables -X xapi-INPUT'],
                   check=True)
    kinds_lab.exec('xs8', ['iptables', '-A', 'INPUT', '-p', 'tcp', '--dport', '8080', '-j', 'ACCEPT'], check=True)  # unsaved
    kinds_lab.exec('xs8', [fp, 'open', '4789', 'udp'], check=True)
    kinds_lab.exec('xs8', [fp, 'open', '4789', 'udp'], check=True)  # a second open changes nothing
    rules = kinds_lab.exec('xs8', ['iptables', '-S'], check=True).stdout
    assert '-A INPUT -j xapi-INPUT' == [line for line in rules.splitlines() if line.startswith('-A INPUT')][0]
    assert [line for line in rules.splitlines() if line.startswith('-A xapi-INPUT')] == [
        '-A xapi-INPUT -p udp -m conntrack --ctstate NEW -m udp --dport 4789 -j ACCEPT', '-A xapi-INPUT -j RETURN']
    saved = kinds_lab.exec('xs8', ['cat', '/etc/sysconfig/iptables'], check=True).stdout
    assert '--dport 4789' in saved and '--dport 8080' in saved   # the whole running ruleset, not only its own rule
    uuid = xe(kinds_lab, 'xs8', 'host-list', '--minimal')
    xe(kinds_lab, 'xs8', 'host-param-set', 'uuid=' + uuid, 'https-only=true')
    assert '--dport 80 ' not in kinds_lab.exec('xs8', ['iptables', '-S'], check=True).stdout
    xe(kinds_lab, 'xs8', 'host-param-set', 'uuid=' + uuid, 'https-only=false')
    first = [line for line in kinds_lab.exec('xs8', ['iptables', '-S'], check=True).stdout.splitlines() if line.startswith('-A RH-Firewall-1-INPUT')][0]
    assert first == '-A RH-Firewall-1-INPUT -p tcp -m conntrack --ctstate NEW -m tcp --dport 80 -j ACCEPT'
    kinds_lab.exec('xs8', ['iptables', '-D', 'RH-Firewall-1-INPUT', '1'], check=True)
    xe(kinds_lab, 'xs8', 'lab-xapi-start')     # xapi starts: 80 again while https-only is false
    assert '--dport 80 ' in kinds_lab.exec('xs8', ['iptables', '-S'], check=True).stdout
    assert 'PRODUCT_BRAND=\'XenServer\'' in kinds_lab.exec('xs8', ['cat', '/etc/xensource-inventory'], check=True).stdout
    kinds_lab.reset(['xs8'])
