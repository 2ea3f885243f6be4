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
