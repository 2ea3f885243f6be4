"""Stand-in for XenServer's `xe` CLI, the only xapi piece of the lab.

Called as: python3 xe_standin.py HOST_DIR XE_ARGS...  (the host's /usr/local/bin/xe wrapper does this)
Every call is appended to HOST_DIR/xe.log (one JSON line). Answers the few read calls a
firewall role makes, keeps *-param-set values in HOST_DIR/xe.json, and, like xapi, applies
https-only by removing (or restoring) the IPv4 port-80 rule in RH-Firewall-1-INPUT.
"""

import json
import os
import subprocess
import sys
import time

PORT80_RULE = ['RH-Firewall-1-INPUT', '-p', 'tcp', '-m', 'conntrack', '--ctstate', 'NEW', '-m', 'tcp', '--dport', '80', '-j', 'ACCEPT']


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
        'software-version': {'product_version': '8.4.0', 'platform_name': 'XCP', 'product_brand': 'XenServer'},
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


def render(value, key=None):
    if isinstance(value, dict):
        if key is not None:
            if key not in value:
                raise XeError('Key %s not found in map' % key)
            return value[key]
        return '; '.join('%s: %s' % item for item in value.items())
    return value


def set_https_only(enabled):
    present = subprocess.run(['iptables', '-C'] + PORT80_RULE, capture_output=True, check=False).returncode == 0
    if enabled and present:
        subprocess.run(['iptables', '-D'] + PORT80_RULE, check=True)
    elif not enabled and not present:
        rules = subprocess.run(['iptables', '-S', 'RH-Firewall-1-INPUT'], capture_output=True, text=True, check=True).stdout
        position = max(1, len([line for line in rules.splitlines() if line.startswith('-A ')]))
        subprocess.run(['iptables', '-I', PORT80_RULE[0], str(position)] + PORT80_RULE[1:], check=True)
    else:
        return
    subprocess.run(['/usr/libexec/iptables/iptables.init', 'save'], capture_output=True, check=True)


def run(state, command, params, flags):
    minimal = '--minimal' in flags
    records = {'host': host_record, 'pool': pool_record}
    kind = command.split('-', 1)[0]
    if command in ('host-list', 'pool-list'):
        record = records[kind](state)
        wanted = {k: v for k, v in params.items() if k != 'params'}
        if any(str(render(record.get(k, ''))) != v for k, v in wanted.items()):
            return ''
        if minimal:
            return record['uuid']
        return '\n'.join('%s ( RO): %s' % (k, render(record[k])) for k in ('uuid', 'name-label'))
    if command in ('cluster-list', 'cluster-host-list'):
        return (state['cluster_uuid'] if state['clustered'] else '') if minimal else ''
    if command not in ('host-param-get', 'pool-param-get', 'host-param-set', 'pool-param-set'):
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
    state[kind + '_params'].update(changes)
    if 'https-only' in changes:
        if kind == 'pool':
            state['host_params']['https-only'] = changes['https-only']
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
