"""The lab itself: build, reach, stock firewalls, probe, idempotency, teardown."""

import json
import os
import shlex
import signal
import subprocess
import sys
import time

import pytest
import yaml

from conftest import DEFAULT_PREFIXES, LABCTL, PREFIX_ROLES, prefixes_from_env
from portmatrix_lab import EstateError, LabError, load_estate
from portmatrix_lab.lab import ROOT_BASHRC, STOCK_BASHRC


def _start_time(pid):
    """Start time of a live process (a zombie has exited: ValueError, like a missing one)."""
    with open('/proc/%s/stat' % pid, encoding='utf-8') as handle:
        fields = handle.read().rsplit(')', 1)[1].split()
    if fields[0] == 'Z':
        raise ValueError('zombie')
    return int(fields[19])


def processes_in(netns_inodes):
    """(pid, start time) of the processes whose network namespace is one of netns_inodes."""
    found = set()
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                if os.stat('/proc/%s/ns/net' % entry).st_ino in netns_inodes:
                    found.add((int(entry), _start_time(entry)))
            except (OSError, IndexError, ValueError):
                continue
    return found


def still_running(processes):
    """Those of processes (pid, start time) that still exist. Not by netns inode: once the
    lab's namespaces are gone, other labs on the machine may get the same inode numbers."""
    alive = set()
    for pid, started in processes:
        try:
            if _start_time(pid) == started:
                alive.add((pid, started))
        except (OSError, IndexError, ValueError):
            continue
    return alive


def lab_namespaces(prefix):
    out = subprocess.run(['ip', 'netns', 'list'], capture_output=True, text=True, check=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.startswith(prefix)]


def netns_inodes(prefix):
    return {os.stat('/run/netns/' + ns).st_ino for ns in lab_namespaces(prefix)}


def kill_up_halfway(prefix):
    """Start `labctl up` and SIGKILL it in the middle (a full up takes 1.5-2 s here)."""
    up = subprocess.Popen([sys.executable, LABCTL, '--prefix', prefix, 'up'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.8)
    up.send_signal(signal.SIGKILL)
    up.wait(timeout=10)


def all_namespaces(lab, info):
    """What up makes: a namespace per host, the bridge's and the controller's."""
    return sorted([h['ns'] for h in info['hosts'].values()] + [lab.bridge_ns, lab.controller_ns])


def test_up_builds_every_host(lab):
    info = lab.info()
    estate = load_estate()
    assert set(info['hosts']) == set(estate['hosts'])
    assert sorted(lab_namespaces(lab.prefix)) == all_namespaces(lab, info)
    status = lab.status()
    for name, host in status['hosts'].items():
        assert host['ns_exists'], name
        assert all(alive for pid, alive in host['pids'].values()), (name, host['pids'])
    # nothing of the lab in the root namespace: no lab address, no lab veth
    root_addrs = subprocess.run(['ip', '-o', 'addr'], capture_output=True, text=True, check=True).stdout
    assert '198.18.77.' not in root_addrs and 'fd77:18:77:' not in root_addrs
    root_links = subprocess.run(['ip', '-o', 'link'], capture_output=True, text=True, check=True).stdout
    assert ' v-a1' not in root_links and 'v-a1@' not in root_links
    assert ' v-ctl' not in root_links and 'v-ctl@' not in root_links


def test_the_controller_is_an_address_and_nothing_else(lab):
    controller = lab.info()['controller']
    assert controller == dict(controller, name='controller', ns=lab.prefix + 'ctl', ipv4='198.18.77.250', ipv6='fd77:18:77::250')
    ctl = ['ip', 'netns', 'exec', controller['ns']]
    addrs = subprocess.run(ctl + ['ip', '-o', 'addr', 'show', 'scope', 'global'], capture_output=True, text=True, check=True).stdout
    assert sorted(line.split()[3] for line in addrs.splitlines()) == ['198.18.77.250/24', 'fd77:18:77::250/64']
    # no sshd, no listener, no firewall
    assert subprocess.run(['ip', 'netns', 'pids', controller['ns']], capture_output=True, text=True, check=True).stdout == ''
    assert subprocess.run(ctl + ['nft', 'list', 'ruleset'], capture_output=True, text=True, check=True).stdout.strip() == ''
    status = subprocess.run([sys.executable, LABCTL, '--prefix', lab.prefix, 'status'], capture_output=True, text=True, timeout=60, check=True)
    assert [line.split()[:4] for line in status.stdout.splitlines() if line.startswith('controller ')] == [
        ['controller', controller['ns'], '198.18.77.250', 'fd77:18:77::250']]
    assert lab.status()['controller'] == {'ns': controller['ns'], 'ns_exists': True, 'ipv4': '198.18.77.250',
                                          'ipv6': 'fd77:18:77::250', 'ns_pids': []}


def test_inventory(lab):
    with open(lab.inventory_path, encoding='utf-8') as handle:
        inventory = yaml.safe_load(handle)['all']
    hosts, groups = inventory['hosts'], inventory['children']
    assert inventory['vars']['portmatrix_clustered_pools'] == ['pool_a']
    assert set(groups['pool_hosts']['hosts']) == {'pool-a1', 'pool-a2', 'pool-a3', 'pool-b1', 'pool-c1', 'pool-c2'}
    assert set(groups['pool_a']['hosts']) == {'pool-a1', 'pool-a2', 'pool-a3'}
    assert set(groups['pool_c']['hosts']) == {'pool-c1', 'pool-c2'}
    assert set(groups['nfs_filers']['hosts']) == {'filer'} and set(groups['smb_filers']['hosts']) == {'filer'}
    assert set(groups['license_servers']['hosts']) == {'license', 'license2'}
    assert set(groups['lab_firewalld']['hosts']) == {'filer', 'infra', 'pool-c1', 'pool-c2'}
    assert set(groups['lab_nftables']['hosts']) == {'license2'}
    assert {hosts[name]['portmatrix_lab_firewall'] for name in ('pool-c1', 'pool-c2')} == {'xenserver9'}
    assert not any('outsider' in (group.get('hosts') or {}) for group in groups.values())
    assert 'outsider' in hosts
    a1 = hosts['pool-a1']
    assert a1['portmatrix_pool'] == 'pool_a' and a1['portmatrix_lab_ns'] == lab.prefix + 'a1'
    assert a1['portmatrix_addresses'] == ['198.18.77.11', 'fd77:18:77::11']
    expected_python = '/root/.pyenv/versions/3.6.15/bin/python3.6'
    assert a1['ansible_python_interpreter'] == (expected_python if os.path.exists(expected_python) else '/usr/bin/python3')
    assert hosts['san']['ansible_python_interpreter'] == '/usr/bin/python3'
    assert hosts['pool-c1']['ansible_python_interpreter'] == '/usr/bin/python3'
    # SSH comes from the controller over the lab network, like a real controller's
    assert inventory['vars']['portmatrix_lab_controller_addresses'] == ['198.18.77.250', 'fd77:18:77::250']
    assert a1['ansible_ssh_common_args'].startswith('-o ProxyCommand="ip netns exec %sctl nc 198.18.77.11 22" ' % lab.prefix)
    assert {host['portmatrix_lab_ssh_via'] for host in hosts.values()} == {'controller'}


@pytest.mark.parametrize('name', ['pool-a1', 'filer', 'san', 'outsider'])
def test_ssh_with_the_inventory_proxycommand(lab, name):
    with open(lab.inventory_path, encoding='utf-8') as handle:
        host = yaml.safe_load(handle)['all']['hosts'][name]
    argv = (['ssh', '-i', host['ansible_ssh_private_key_file'], '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10']
            + shlex.split(host['ansible_ssh_common_args'])
            + ['%s@%s' % (host['ansible_user'], host['ansible_host']), 'hostname; echo "$SSH_CONNECTION"'])
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    hostname, connection = done.stdout.splitlines()
    assert hostname == name
    # sshd sees the controller's address: what the collection's SSH guard reads
    assert connection.split()[0] == lab.info()['controller']['ipv4'] and connection.split()[2:] == [host['ansible_host'], '22']


def test_ssh_config(lab):
    done = lab.ssh('pool-b1', 'echo "$SSH_CONNECTION"')
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith('198.18.77.250 ')
    done = lab.ssh('pool-b1', 'echo "$SSH_CONNECTION"', via='loopback')
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith('127.0.0.1 ')
    with pytest.raises(LabError):
        lab.ssh('pool-b1', 'true', via='bastion')


def test_a_host_firewall_can_cut_the_controller_off(lab):
    """What the SSH guard and a rollback are about: a rule that rejects the controller on 22 ends
    SSH through the controller; labctl exec (nsenter) still gets in, and so does the loopback path."""
    host, controller = 'pool-b1', lab.info()['controller']['ipv4']
    cut = ['iptables', '-I', 'INPUT', '1', '-s', controller, '-p', 'tcp', '--dport', '22', '-j', 'REJECT']
    ssh22 = {'src': 'controller', 'dst': host, 'proto': 'tcp', 'port': 22}
    assert lab.probe([dict(ssh22, expect='open')])[1]['mismatches'] == 0
    try:
        done = subprocess.run([sys.executable, LABCTL, '--prefix', lab.prefix, 'exec', host, '--'] + cut,
                              capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        cut_off = lab.ssh(host, 'true')
        assert cut_off.returncode == 255, (cut_off.returncode, cut_off.stderr)
        results, summary = lab.probe([dict(ssh22, expect='refused'),
                                      {'src': 'xencenter', 'dst': host, 'proto': 'tcp', 'port': 22, 'expect': 'open'},
                                      dict(ssh22, port=443, expect='open')])
        assert summary['mismatches'] == 0, results
        assert results[0]['detail'] == 'ECONNREFUSED'
        done = subprocess.run([sys.executable, LABCTL, '--prefix', lab.prefix, 'exec', host, '--', 'hostname'],
                              capture_output=True, text=True, timeout=60, check=False)
        assert (done.returncode, done.stdout) == (0, host + '\n')
        assert lab.ssh(host, 'true', via='loopback').returncode == 0
    finally:
        lab.reset([host])
    assert lab.ssh(host, 'true').returncode == 0


def test_pool_host_starts_with_xenserver_stock_layout(lab):
    rules = lab.exec('pool-a1', ['iptables-save'], check=True).stdout
    appended = [line for line in rules.splitlines() if line.startswith('-A ')]
    input_rules = [line for line in appended if line.startswith('-A INPUT ')]
    rh_rules = [line for line in appended if line.startswith('-A RH-Firewall-1-INPUT ')]
    assert input_rules == ['-A INPUT -j xapi-INPUT', '-A INPUT -j RH-Firewall-1-INPUT']
    assert '-A FORWARD -j RH-Firewall-1-INPUT' in appended
    assert rh_rules[0] == '-A RH-Firewall-1-INPUT -i lo -j ACCEPT'
    assert rh_rules[-1] == '-A RH-Firewall-1-INPUT -j REJECT --reject-with icmp-host-prohibited'
    assert '-A xapi-INPUT -p tcp -m tcp --dport 10809 -j ACCEPT' in appended
    rules6 = lab.exec('pool-a1', ['ip6tables-save'], check=True).stdout
    assert rules6.strip().splitlines()[-3].endswith('-j REJECT --reject-with icmp6-adm-prohibited')
    assert 'xapi-INPUT' not in rules6
    persisted = lab.exec('pool-a1', ['cat', '/etc/sysconfig/iptables'], check=True).stdout
    assert ':RH-Firewall-1-INPUT - [0:0]' in persisted and 'xapi-INPUT' not in persisted


def test_debian_and_firewalld_hosts_start_stock(lab):
    rules = lab.exec('san', ['iptables-save'], check=True).stdout
    assert [line for line in rules.splitlines() if line.startswith('-A ')][-1].startswith('-A INPUT -j REJECT')
    assert lab.exec('san', ['test', '-f', '/etc/iptables/rules.v6']).returncode == 0
    assert lab.exec('filer', ['firewall-cmd', '--get-default-zone'], check=True).stdout.strip() == 'public'
    assert lab.exec('filer', ['grep', '-c', '^#MOUNTD_PORT=892', '/etc/sysconfig/nfs']).stdout.strip() == '1'


def test_private_files_stay_in_the_host(lab):
    lab.exec('pool-a2', ['sh', '-c', 'echo lab-only > /etc/sysconfig/marker'], check=True)
    assert lab.exec('pool-a2', ['cat', '/etc/sysconfig/marker'], check=True).stdout == 'lab-only\n'
    assert lab.exec('pool-a3', ['test', '-e', '/etc/sysconfig/marker']).returncode != 0
    assert not os.path.exists('/etc/sysconfig/marker')
    assert os.path.exists(os.path.join(lab.host_dir('pool-a2'), 'upper', 'etc', 'sysconfig', 'marker'))


def test_a_host_reads_a_stock_root_bashrc_not_the_machines(lab):
    """bash reads ~/.bashrc for every SSH command: a host's is the lab's stock one (the machine's may run
    a developer's setup at every session), and the machine's own file is left as it is."""
    if not os.path.isfile(ROOT_BASHRC):
        pytest.skip('this machine has no %s' % ROOT_BASHRC)
    with open(ROOT_BASHRC, encoding='utf-8') as handle:
        machines = handle.read()
    done = lab.ssh('pool-b1', 'cat ~/.bashrc')
    assert done.returncode == 0, done.stderr
    assert done.stdout == STOCK_BASHRC
    with open(ROOT_BASHRC, encoding='utf-8') as handle:
        assert handle.read() == machines


def test_iptables_init_save_writes_both_families(lab):
    lab.exec('pool-a3', ['iptables', '-A', 'RH-Firewall-1-INPUT', '-p', 'tcp', '--dport', '4444', '-j', 'ACCEPT'], check=True)
    lab.exec('pool-a3', ['/usr/libexec/iptables/iptables.init', 'save'], check=True)
    saved = lab.exec('pool-a3', ['cat', '/etc/sysconfig/iptables', '/etc/sysconfig/ip6tables'], check=True).stdout
    assert '--dport 4444 -j ACCEPT' in saved and 'xapi-INPUT' in saved and 'icmp6-adm-prohibited' in saved
    mode = lab.exec('pool-a3', ['stat', '-c', '%a', '/etc/sysconfig/iptables'], check=True).stdout.strip()
    assert mode == '600'
    lab.reset(['pool-a3'])
    assert '4444' not in lab.exec('pool-a3', ['iptables-save'], check=True).stdout
    assert '4444' not in lab.exec('pool-a3', ['cat', '/etc/sysconfig/iptables'], check=True).stdout
    lab.exec('pool-a3', ['iptables', '-I', 'RH-Firewall-1-INPUT', '1', '-p', 'udp', '--dport', '4445', '-j', 'ACCEPT'], check=True)
    lab.exec('pool-a3', ['service', 'iptables', 'save'], check=True)
    assert '--dport 4445 -j ACCEPT' in lab.exec('pool-a3', ['cat', '/etc/sysconfig/iptables'], check=True).stdout
    lab.reset(['pool-a3'])


def test_xe_standin(lab):
    uuid = lab.exec('pool-a1', ['xe', 'host-list', '--minimal'], check=True).stdout.strip()
    pool = lab.exec('pool-a2', ['/opt/xensource/bin/xe', 'pool-list', '--minimal'], check=True).stdout.strip()
    assert len(uuid) == 36 and len(pool) == 36
    assert lab.exec('pool-a1', ['xe', 'host-param-get', 'uuid=' + uuid, 'param-name=https-only'], check=True).stdout.strip() == 'false'
    assert lab.exec('pool-a1', ['xe', 'cluster-list', '--minimal'], check=True).stdout.strip()
    assert lab.exec('pool-b1', ['xe', 'cluster-list', '--minimal'], check=True).stdout.strip() == ''
    assert lab.exec('pool-a1', ['xe', 'host-param-get', 'uuid=bogus', 'param-name=address']).returncode == 1
    # https-only=true closes port 80 the way xapi does (IPv4 rule in RH-Firewall-1-INPUT), reset reopens it
    lab.exec('pool-a1', ['xe', 'host-param-set', 'uuid=' + uuid, 'https-only=true'], check=True)
    assert '--dport 80 ' not in lab.exec('pool-a1', ['iptables-save'], check=True).stdout
    flow = {'src': 'apiclient', 'dst': 'pool-a1', 'proto': 'tcp', 'port': 80}
    assert lab.probe([flow])[0][0]['observed'] == 'refused'
    lab.reset(['pool-a1'])
    assert lab.probe([flow])[0][0]['observed'] == 'open'
    with open(os.path.join(lab.host_dir('pool-a1'), 'xe.log'), encoding='utf-8') as handle:
        calls = [json.loads(line)['argv'] for line in handle]
    assert ['host-list', '--minimal'] in calls and ['host-param-set', 'uuid=' + uuid, 'https-only=true'] in calls


STOCK_FLOWS = [
    # allowed by XenServer 8's stock rules
    {'src': 'xencenter', 'dst': 'pool-a1', 'proto': 'tcp', 'port': 443, 'expect': 'open'},
    {'src': 'xencenter', 'dst': 'pool-a1', 'proto': 'tcp', 'port': 443, 'family': 6, 'expect': 'open'},
    {'src': 'pool-a2', 'dst': 'pool-a1', 'proto': 'udp', 'port': 5405, 'expect': 'open'},
    {'src': 'pool-a2', 'dst': 'pool-a1', 'proto': 'tcp', 'port': 10809, 'expect': 'open'},  # xapi-INPUT
    # blocked by the stock REJECT (control ports have a listener)
    {'src': 'xencenter', 'dst': 'pool-a1', 'proto': 'tcp', 'port': 8080, 'expect': 'refused'},
    {'src': 'xencenter', 'dst': 'pool-a1', 'proto': 'tcp', 'port': 8080, 'family': 6, 'expect': 'refused'},
    {'src': 'pool-a2', 'dst': 'pool-a1', 'proto': 'udp', 'port': 9999, 'expect': 'refused'},
    # firewalld public zone: ssh yes, nfs no
    {'src': 'pool-a1', 'dst': 'filer', 'proto': 'tcp', 'port': 22, 'expect': 'open'},
    {'src': 'pool-a1', 'dst': 'filer', 'proto': 'tcp', 'port': 2049, 'expect': 'refused'},
    {'src': 'pool-a1', 'dst': 'filer', 'proto': 'udp', 'port': 2049, 'family': 6, 'expect': 'refused'},
    # hardened Debian and the open outsider
    {'src': 'pool-a1', 'dst': 'san', 'proto': 'tcp', 'port': 3260, 'expect': 'refused'},
    {'src': 'pool-a1', 'dst': 'outsider', 'proto': 'tcp', 'port': 3260, 'expect': 'open'},
    {'src': 'pool-a1', 'dst': 'outsider', 'proto': 'udp', 'port': 514, 'family': 6, 'expect': 'open'},
    {'src': 'pool-a1', 'dst': 'outsider', 'proto': 'udp', 'port': 515, 'expect': 'refused'},  # no listener
    # license2 (native nftables): ssh only, the rest dropped
    {'src': 'pool-a1', 'dst': 'license2', 'proto': 'tcp', 'port': 22, 'family': 6, 'expect': 'open'},
    {'src': 'pool-a1', 'dst': 'license2', 'proto': 'tcp', 'port': 27000, 'expect': 'refused'},
    # XenServer 9-like pool C: xapi's services open to everyone (dlm 21064, xenha 694/udp), the rest rejected
    {'src': 'outsider', 'dst': 'pool-c1', 'proto': 'tcp', 'port': 21064, 'expect': 'open'},
    {'src': 'outsider', 'dst': 'pool-c2', 'proto': 'udp', 'port': 694, 'family': 6, 'expect': 'open'},
    {'src': 'pool-c2', 'dst': 'pool-c1', 'proto': 'tcp', 'port': 443, 'expect': 'open'},
    {'src': 'xencenter', 'dst': 'pool-c1', 'proto': 'tcp', 'port': 8080, 'family': 6, 'expect': 'refused'},
]


def test_probe_stock_flows(lab):
    results, summary = lab.probe(STOCK_FLOWS, timeout=1.5)
    mismatches = [r for r in results if not r['match']]
    assert not mismatches, mismatches
    assert summary['mismatches'] == 0 and summary['seconds'] < 10
    assert {r['detail'] for r in results if r['observed'] == 'open'} <= {'connected', 'echo'}


def test_probe_cli_table_and_exit_code(lab, tmp_path):
    flows = tmp_path / 'flows.json'
    flows.write_text(json.dumps([dict(STOCK_FLOWS[0], expect='refused')]), encoding='utf-8')
    done = subprocess.run([sys.executable, LABCTL, '--prefix', lab.prefix, 'probe', '--flows', str(flows), '--table'],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1 and 'xencenter' in done.stdout and 'False' in done.stdout


@pytest.mark.parametrize('flow', [
    {'src': 'xencenter', 'dst': '192.0.2.1', 'proto': 'tcp', 'port': 443},
    {'src': 'nobody', 'dst': 'pool-a1', 'proto': 'tcp', 'port': 443},
    {'src': 'xencenter', 'dst': 'pool-a1', 'proto': 'icmp', 'port': 1},
    {'src': 'xencenter', 'dst': 'pool-a1', 'proto': 'tcp', 'port': 70000},
    {'src': 'xencenter', 'dst': 'controller', 'proto': 'tcp', 'port': 22},  # a source only
])
def test_probe_refuses_anything_outside_the_lab(lab, flow):
    with pytest.raises(LabError):
        lab.probe([flow])


def test_up_is_idempotent(lab):
    before = lab.info()
    after = lab.up()
    assert {n: h['pids'] for n, h in after['hosts'].items()} == {n: h['pids'] for n, h in before['hosts'].items()}
    assert sorted(lab_namespaces(lab.prefix)) == all_namespaces(lab, after)


def test_up_repairs_a_dead_daemon(lab):
    host = lab.info()['hosts']['san']
    os.kill(host['pids']['listener'], signal.SIGKILL)
    time.sleep(0.2)
    repaired = lab.up()['hosts']['san']['pids']
    assert repaired['listener'] != host['pids']['listener'] and repaired['holder'] == host['pids']['holder']
    assert lab.probe([{'src': 'vm1', 'dst': 'outsider', 'proto': 'tcp', 'port': 443, 'expect': 'open'}])[1]['mismatches'] == 0


def test_up_moves_the_controller(lab, tmp_path):
    """controller: {addr: N} on a running lab: SSH comes from the new address only."""
    with open(load_estate()['path'], encoding='utf-8') as handle:
        raw = yaml.safe_load(handle)
    moved = tmp_path / 'estate.yml'
    moved.write_text(yaml.safe_dump(dict(raw, controller={'addr': 249})), encoding='utf-8')
    try:
        assert lab.up(str(moved))['controller']['ipv4'] == '198.18.77.249'
        done = lab.ssh('vm1', 'echo "$SSH_CONNECTION"')
        assert done.returncode == 0 and done.stdout.startswith('198.18.77.249 '), (done.stdout, done.stderr)
        addrs = subprocess.run(['ip', '-n', lab.controller_ns, '-o', 'addr', 'show', 'scope', 'global'],
                               capture_output=True, text=True, check=True).stdout
        assert sorted(line.split()[3] for line in addrs.splitlines()) == ['198.18.77.249/24', 'fd77:18:77::249/64']
    finally:
        lab.up()
    assert lab.ssh('vm1', 'echo "$SSH_CONNECTION"').stdout.startswith('198.18.77.250 ')


def test_down_leaves_nothing(scratch_lab):
    the_lab = scratch_lab('down')
    the_lab.up()
    inodes = netns_inodes(the_lab.prefix)
    processes = processes_in(inodes)
    assert len(inodes) == len(load_estate()['hosts']) + 2 and processes  # hosts, the bridge and the controller
    assert the_lab.controller_ns in lab_namespaces(the_lab.prefix)
    the_lab.down()
    assert lab_namespaces(the_lab.prefix) == []
    assert still_running(processes) == set()
    assert not os.path.exists(the_lab.state_dir)
    the_lab.down()  # safe when nothing exists


def test_killed_up_then_down_leaves_nothing(scratch_lab):
    the_lab = scratch_lab('killed')
    kill_up_halfway(the_lab.prefix)
    inodes = netns_inodes(the_lab.prefix)
    assert inodes, 'up was killed before it made anything'
    processes = processes_in(inodes)
    done = subprocess.run([sys.executable, LABCTL, '--prefix', the_lab.prefix, 'down'], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert lab_namespaces(the_lab.prefix) == []
    assert still_running(processes) == set()
    assert not os.path.exists(the_lab.state_dir)


def test_up_after_a_killed_up(scratch_lab):
    the_lab = scratch_lab('after_kill')
    kill_up_halfway(the_lab.prefix)
    info = the_lab.up()
    assert all(pid for host in info['hosts'].values() for pid in host['pids'].values())
    flows = [{'src': 'xencenter', 'dst': name, 'proto': 'tcp', 'port': 22, 'expect': 'open'} for name in info['hosts']]
    assert the_lab.probe(flows)[1]['mismatches'] == 0


def test_reset_puts_a_firewalld_host_back_to_stock(lab):
    nfs = {'src': 'pool-a1', 'dst': 'filer', 'proto': 'tcp', 'port': 2049}
    lab.exec('filer', ['firewall-cmd', '--permanent', '--add-port=2049/tcp'], check=True)
    lab.exec('filer', ['firewall-cmd', '--reload'], check=True)
    assert lab.probe([nfs])[0][0]['observed'] == 'open'
    assert os.listdir(os.path.join(lab.host_dir('filer'), 'firewalld', 'zones'))  # the change is in the host's copy
    lab.reset(['filer'])
    assert lab.probe([nfs])[0][0]['observed'] == 'refused'
    assert not os.listdir(os.path.join(lab.host_dir('filer'), 'firewalld', 'zones'))
    assert lab.exec('filer', ['firewall-cmd', '--state']).stdout.strip() == 'running'


def test_prefixes_from_the_environment():
    assert prefixes_from_env({}) == dict(zip(PREFIX_ROLES, DEFAULT_PREFIXES))
    mine = prefixes_from_env({'PMXLAB_TEST_PREFIXES': 'pmxla-, pmxlb-,pmxlc-,pmxld-,pmxle-'})
    assert mine == {'session': 'pmxla-', 'kinds': 'pmxlb-', 'down': 'pmxlc-', 'killed': 'pmxld-', 'after_kill': 'pmxle-'}
    for bad in ('pmxla-,pmxlb-', 'pmxla-,pmxla-,pmxlc-,pmxld-,pmxle-'):
        with pytest.raises(ValueError):
            prefixes_from_env({'PMXLAB_TEST_PREFIXES': bad})


BAD_EXTRAS = [
    ({'firewall': 'firewalld', 'extras': ['docker']}, 'need an iptables host'),
    ({'extras': ['podman']}, 'extras must be'),
    ({'extras': ['docker'], 'docker': {'network': '172.17.0.0/16'}}, 'inside 198.18.0.0/15'),
    ({'extras': ['fail2ban'], 'fail2ban': [{'jail': 'sshd', 'ports': [22], 'banned': ['192.0.2.1']}]}, 'outside 198.18.0.0/15'),
    ({'extras': ['fail2ban'], 'fail2ban': [{'jail': 'sshd', 'ports': [22], 'banned': ['nobody']}]}, 'neither a host'),
    ({'extras': ['fail2ban'], 'fail2ban': [{'jail': 'sshd', 'ports': []}]}, 'ports must be'),
    ({'fail2ban': [{'jail': 'sshd', 'ports': [22]}]}, 'not in extras'),
]


@pytest.mark.parametrize('spec,message', BAD_EXTRAS)
def test_bad_extras_are_refused(tmp_path, spec, message):
    estate = tmp_path / 'estate.yml'
    estate.write_text(yaml.safe_dump({'hosts': {'h1': dict({'addr': 1}, **spec), 'h2': {'addr': 2}}}), encoding='utf-8')
    with pytest.raises(EstateError, match=message):
        load_estate(str(estate))


BAD_CONTROLLERS = [
    ({'controller': {'addr': 1}}, "also host h1's"),
    ({'controller': {'addr': 255}}, 'integer 1..254'),
    ({'controller': {'address': 250}}, 'is {addr: N}'),
    ({'ssh_via': 'bastion'}, 'ssh_via must be one of controller, loopback'),
    ({'hosts': {'h1': {'addr': 1, 'ssh_via': 'jump'}}}, 'h1: ssh_via must be'),
    ({'hosts': {'controller': {'addr': 1}}}, "bad host name 'controller'"),
    ({'hosts': {'h1': {'addr': 1, 'short': 'ctl'}}}, 'not "br" or "ctl"'),
]


@pytest.mark.parametrize('spec,message', BAD_CONTROLLERS)
def test_bad_controller_or_ssh_via_is_refused(tmp_path, spec, message):
    estate = tmp_path / 'estate.yml'
    estate.write_text(yaml.safe_dump(dict({'hosts': {'h1': {'addr': 1}, 'h2': {'addr': 2}}}, **spec)), encoding='utf-8')
    with pytest.raises(EstateError, match=message):
        load_estate(str(estate))


def test_controller_and_ssh_via_from_the_estate(tmp_path):
    estate = tmp_path / 'estate.yml'
    estate.write_text(yaml.safe_dump({'controller': {'addr': 7}, 'ssh_via': 'loopback',
                                      'hosts': {'h1': {'addr': 1}, 'h2': {'addr': 2, 'ssh_via': 'controller'}}}), encoding='utf-8')
    loaded = load_estate(str(estate), prefix='pmxq-')
    assert loaded['controller'] == {'name': 'controller', 'short': 'ctl', 'ns': 'pmxq-ctl', 'veth': 'v-ctl', 'iface': 'eth0', 'addr': 7,
                                    'ipv4': '198.18.77.7', 'ipv6': 'fd77:18:77::7',
                                    'ipv4_cidr': '198.18.77.7/24', 'ipv6_cidr': 'fd77:18:77::7/64'}
    assert {name: host['ssh_via'] for name, host in loaded['hosts'].items()} == {'h1': 'loopback', 'h2': 'controller'}
    default = load_estate()
    assert default['controller']['ipv4'] == '198.18.77.250' and default['controller']['ipv6'] == 'fd77:18:77::250'
