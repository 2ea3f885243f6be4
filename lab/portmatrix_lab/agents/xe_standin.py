"""Stand-in for XenServer's `xe` CLI, the only xapi piece of the lab.

Called as: python3 xe_standin.py HOST_DIR XE_ARGS...  (the host's /usr/local/bin/xe wrapper does this)
Every call is appended to HOST_DIR/xe.log (one JSON line). Answers the few read calls a
firewall role makes, keeps *-param-set values in HOST_DIR/xe.json, and, like xapi, changes
the firewall for the settings that open or close a port:

  XenServer 8 and XCP-ng 8 (state "firewall": "iptables"): https-only closes (or opens) port 80
  through xapi's firewall-port plugin (the lab's /etc/xapi.d/plugins/firewall-port stand-in:
  the rule on top of RH-Firewall-1-INPUT, then the whole running ruleset saved).
  XenServer 9 ("firewalld"): xapi's firewalld services in the DEFAULT zone (firewall-cmd without
  --zone, xen-api ocaml/xapi/firewall.ml), at runtime only: https-only removes / adds
  xapi-insecure, NBD on the network (purpose nbd or insecure_nbd) adds / removes nbd, HA enable /
  disable adds / removes xenha, ssh enable / disable adds / removes ssh.
  Common Criteria hosts (state "cc"): changing https-only fails with ILLEGAL_IN_FIPS_MODE, as
  xapi's set_https_only does (xen-api ocaml/xapi/xapi_host.ml).

  `xe lab-xapi-start` (not a real xe command) does what xapi does to the firewall when it starts:
  port 80 opened while https-only is false, closed while it is true (ocaml/xapi/dbsync_slave.ml),
  and on XenServer 9 what update-xapi-firewalld.service runs after firewalld starts.
"""

import json
import os
import subprocess
import sys
import time

XAPI_SERVICES = ('dlm', 'nbd', 'ssh', 'vxlan', 'xapi-insecure', 'xenha')  # xapi's order
NBD_PURPOSES = ('nbd', 'insecure_nbd')

FIREWALL_PORT = '/etc/xapi.d/plugins/firewall-port'


class XeError(Exception):
    """An error xe would print before exiting 1."""


def parse(args):
    params, flags = {}, []
    for arg in args:
        if arg.startswith('--'):
            flags.append(arg)
        elif '=' in arg:
            key, value = arg.split('=', 1)
            params[key] = value
    return params, flags


def host_record(state):
    return {
        'uuid': state['host_uuid'],
        'name-label': state['host'],
        'hostname': state['host'],
        'address': state['address'],
        'enabled': 'true',
        'https-only': state['host_params'].get('https-only', 'false'),
        'software-version': {'product_version': state.get('product_version', '8.4.0'), 'platform_name': 'XCP', 'product_brand': 'XenServer'},
        'ssh-enabled': 'false' if state.get('firewall') == 'firewalld' and 'ssh' not in state['xapi_services'] else 'true',
        'other-config': {},
    }


def pool_record(state):
    record = {
        'uuid': state['pool_uuid'],
        'name-label': state['pool'],
        'master': state['master_uuid'],
        'ha-enabled': 'false',
        'other-config': {},
    }
    record.update(state['pool_params'])
    return record


def network_record(state):
    return {
        'uuid': state['network_uuid'],
        'name-label': 'Pool-wide network associated with the management interface',
        'bridge': 'xenbr0',
        'purpose': '; '.join(state.get('network_purpose', [])),
        'other-config': {},
    }


def render(value, key=None):
    if isinstance(value, dict):
        if key is not None:
            if key not in value:
                raise XeError('Key %s not found in map' % key)
            return value[key]
        return '; '.join('%s: %s' % item for item in value.items())
    return value


def set_https_only(enabled):
    """xapi's Firewall.Iptables for Http: firewall-port close 80 (https-only) or open 80."""
    done = subprocess.run([FIREWALL_PORT, 'close' if enabled else 'open', '80', 'tcp'], capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        raise XeError('firewall-port: %s' % (done.stderr or done.stdout).strip())


def firewall_cmd(args):
    done = subprocess.run(['firewall-cmd'] + args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise XeError('firewall-cmd %s: %s' % (' '.join(args), (done.stderr or done.stdout).strip()))


def set_services(state, names, enabled):
    """xapi's Firewalld.update_firewall_status: add or remove services in the zone, at runtime
    only, as xapi does (it puts them back through update-xapi-firewalld.service after firewalld
    starts; the lab has no such unit). A firewall tool that reloads firewalld must keep them."""
    option = '--add-service=' if enabled else '--remove-service='
    firewall_cmd([option + name for name in names])  # no --zone: the default zone, as xapi does
    kept = set(state['xapi_services']) | set(names) if enabled else set(state['xapi_services']) - set(names)
    state['xapi_services'] = [name for name in XAPI_SERVICES if name in kept]


def set_service(state, name, enabled):
    """Enable or disable one xapi service the way this host's xapi does (firewalld only)."""
    if state.get('firewall') == 'firewalld':
        set_services(state, [name], enabled)


def set_purpose(state, params, add):
    if params.get('uuid') != state['network_uuid']:
        raise XeError('The uuid you supplied was invalid.\ntype: network\nuuid: %s' % params.get('uuid', ''))
    if params.get('param-name') != 'purpose' or params.get('param-key') not in NBD_PURPOSES:
        raise XeError('This stand-in knows only param-name=purpose param-key=nbd|insecure_nbd')
    purposes = [p for p in state.get('network_purpose', []) if p != params['param-key']]
    state['network_purpose'] = purposes + [params['param-key']] if add else purposes
    set_service(state, 'nbd', bool(state['network_purpose']))


def run(state, command, params, flags):
    minimal = '--minimal' in flags
    records = {'host': host_record, 'pool': pool_record, 'network': network_record}
    kind = command.split('-', 1)[0]
    if command in ('network-param-add', 'network-param-remove'):
        set_purpose(state, params, command.endswith('-add'))
        return None
    if command in ('pool-ha-enable', 'pool-ha-disable'):
        state['pool_params']['ha-enabled'] = 'true' if command.endswith('-enable') else 'false'
        set_service(state, 'xenha', command.endswith('-enable'))
        return None
    if command in ('host-enable-ssh', 'host-disable-ssh'):
        set_service(state, 'ssh', command == 'host-enable-ssh')
        return None
    if command == 'lab-xapi-start':
        if state.get('firewall') == 'firewalld':
            command = 'host-update-firewalld-service-status'
        else:
            set_https_only(state['host_params'].get('https-only', 'false') == 'true')
            return None
    if command == 'host-update-firewalld-service-status':
        if state.get('firewall') == 'firewalld' and state['xapi_services']:
            set_services(state, list(state['xapi_services']), True)  # what xapi does after firewalld restarts
        return None
    if command in ('host-list', 'pool-list', 'network-list'):
        record = records[kind](state)
        wanted = {k: v for k, v in params.items() if k != 'params'}
        if any(str(render(record.get(k, ''))) != v for k, v in wanted.items()):
            return ''
        if minimal:
            return record['uuid']
        return '\n'.join('%s ( RO): %s' % (k, render(record[k])) for k in ('uuid', 'name-label'))
    if command in ('cluster-list', 'cluster-host-list'):
        return (state['cluster_uuid'] if state['clustered'] else '') if minimal else ''
    if command not in ('host-param-get', 'pool-param-get', 'network-param-get', 'host-param-set', 'pool-param-set'):
        raise XeError('Unknown command: %s\nFor usage run: \'xe help\'' % command)
    record = records[kind](state)
    if params.get('uuid') != record['uuid']:
        raise XeError('The uuid you supplied was invalid.\ntype: %s\nuuid: %s' % (kind, params.get('uuid', '')))
    if command.endswith('-get'):
        name = params.get('param-name')
        if name not in record:
            raise XeError('Unknown field %s' % name)
        return str(render(record[name], params.get('param-key')))
    changes = {k: v for k, v in params.items() if k != 'uuid'}
    if state.get('cc') and 'https-only' in changes and changes['https-only'] != state['host_params'].get('https-only', 'false'):
        raise XeError('The operation is not allowed when the host is in FIPS mode (CC preparations).\n'
                      'code: ILLEGAL_IN_FIPS_MODE')
    state[kind + '_params'].update(changes)
    if 'https-only' in changes:
        if kind == 'pool':
            state['host_params']['https-only'] = changes['https-only']
        if state.get('firewall') == 'firewalld':
            set_service(state, 'xapi-insecure', changes['https-only'] != 'true')
        else:
            set_https_only(changes['https-only'] == 'true')
    return None


def main(argv):
    host_dir, args = argv[1], argv[2:]
    with open(os.path.join(host_dir, 'xe.log'), 'a', encoding='utf-8') as log:
        log.write(json.dumps({'time': time.time(), 'argv': args}) + '\n')
    state_file = os.path.join(host_dir, 'xe.json')
    with open(state_file, encoding='utf-8') as handle:
        state = json.load(handle)
    if not args:
        print('Usage: xe <command> [params]', file=sys.stderr)
        return 1
    params, flags = parse(args[1:])
    try:
        output = run(state, args[0], params, flags)
    except XeError as exc:
        print(exc, file=sys.stderr)
        return 1
    if output is None:
        with open(state_file + '.tmp', 'w', encoding='utf-8') as handle:
            json.dump(state, handle, indent=1)
        os.replace(state_file + '.tmp', state_file)
    else:
        print(output)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
