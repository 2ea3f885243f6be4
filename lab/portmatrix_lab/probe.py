"""The reachability probe: try each flow from inside its source host's netns."""

import concurrent.futures
import json
import math
import os
import subprocess
import time

from .system import LabError

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'agents', 'probe_worker.py')
PROTOS = ('tcp', 'udp')
OUTCOMES = ('open', 'refused')


def sources_of(info):
    """{name: netns} of what a flow may come from: the lab's hosts and its controller ('controller')."""
    sources = {name: host['ns'] for name, host in info['hosts'].items()}
    if info.get('controller'):
        sources[info['controller']['name']] = info['controller']['ns']
    return sources


def normalize(flows, hosts, sources=None):
    """Check every flow against the lab and resolve its destination address (lab addresses only).
    Sources are the hosts, or the names of sources (hosts and the controller); destinations are hosts."""
    sources = hosts if sources is None else sources
    lab_addresses = {host[key] for host in hosts.values() for key in ('ipv4', 'ipv6')}
    prepared = []
    for index, flow in enumerate(flows):
        src, dst = flow.get('src'), flow.get('dst')
        proto, port = flow.get('proto'), flow.get('port')
        family, expect = flow.get('family', 4), flow.get('expect')
        problems = [
            'src %r is not a lab host or the controller' % src if src not in sources else None,
            'dst %r is not a lab host%s' % (dst, ' (the controller is a source only)' if dst in sources else '')
            if dst not in hosts else None,
            'proto must be tcp or udp' if proto not in PROTOS else None,
            'port must be 1..65535' if not isinstance(port, int) or not 0 < port < 65536 else None,
            'family must be 4 or 6' if family not in (4, 6) else None,
            'expect must be open or refused' if expect not in OUTCOMES + (None,) else None,
        ]
        problems = [problem for problem in problems if problem]
        if problems:
            raise LabError('flow %d %s: %s' % (index, json.dumps(flow), '; '.join(problems)))
        addr = hosts[dst]['ipv4' if family == 4 else 'ipv6']
        if addr not in lab_addresses:  # belt and braces: nothing outside the lab is ever a target
            raise LabError('flow %d: %s is not a lab address' % (index, addr))
        prepared.append({'id': index, 'src': src, 'dst': dst, 'proto': proto, 'port': port,
                         'family': family, 'expect': expect, 'addr': addr})
    return prepared


def flows_from_file(data):
    """The flows to probe from what `labctl probe --flows` reads: a list of {src, dst, proto, port,
    family?, expect?}, or the flows.json of the portmatrix.xenserver.flows playbook ({"pairs":
    [[src, dst, proto, ports, flows]], "hosts": {name: {"addresses": [...]}}}), whose every port is
    expected open over each address family both hosts have.  Pairs whose source is an extra rule's
    addresses (src "") are left out: they name no lab host to probe from."""
    if isinstance(data, list):
        return data
    if not isinstance(data, dict) or not isinstance(data.get('pairs'), list):
        raise LabError('--flows: neither a list of flows nor the flows playbook\'s flows.json (no "pairs")')
    columns = data.get('columns') or ['src', 'dst', 'proto', 'ports', 'flows']
    hosts = data.get('hosts') or {}

    def families(name):
        addresses = (hosts.get(name) or {}).get('addresses') or []
        return {6 if ':' in address else 4 for address in addresses}

    flows = []
    for row in data['pairs']:
        pair = dict(zip(columns, row))
        if not pair.get('src'):
            continue
        for family in sorted(families(pair['src']) & families(pair['dst'])):
            for port in pair['ports']:
                flows.append({'src': pair['src'], 'dst': pair['dst'], 'proto': pair['proto'], 'port': port,
                              'family': family, 'expect': 'open'})
    return flows


def _run_worker(python, ns, flows, timeout, workers, bound):
    request = json.dumps({'timeout': timeout, 'workers': workers, 'flows': flows})
    try:
        done = subprocess.run(['nsenter', '--net=/run/netns/' + ns, '--', python, WORKER], input=request,
                              capture_output=True, text=True, timeout=bound, check=False, cwd='/')
    except subprocess.TimeoutExpired:
        return {flow['id']: {'observed': 'refused', 'detail': 'probe-timeout'} for flow in flows}
    if done.returncode != 0:
        raise LabError('probe worker in %s failed: %s' % (ns, done.stderr.strip()))
    return {result['id']: result for result in json.loads(done.stdout)}


def run_probe(info, python, flows, timeout=1.5, workers=64):
    """Probe flows (list of dicts); return (results, summary). One worker process per source host."""
    sources = sources_of(info)
    prepared = normalize(flows, info['hosts'], sources)
    by_src = {}
    for flow in prepared:
        by_src.setdefault(flow['src'], []).append(flow)
    for src in by_src:
        if not os.path.exists('/run/netns/' + sources[src]):
            raise LabError('%s has no namespace: is the lab up?' % src)
    # each worker needs at most ceil(n / workers) rounds of one timeout each, plus start-up
    bound = max(timeout * math.ceil(len(items) / workers) for items in by_src.values()) + 10 if by_src else 0
    started = time.monotonic()
    outcome = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, len(by_src))) as pool:
        jobs = [pool.submit(_run_worker, python, sources[src], items, timeout, workers, bound) for src, items in by_src.items()]
        for job in jobs:
            outcome.update(job.result())
    results = []
    for flow in prepared:
        result = dict(flow)
        del result['id']
        result.update({key: outcome[flow['id']].get(key) for key in ('observed', 'detail', 'elapsed')})
        result['match'] = None if flow['expect'] is None else result['observed'] == flow['expect']
        results.append(result)
    summary = {
        'flows': len(results),
        'open': sum(1 for r in results if r['observed'] == 'open'),
        'refused': sum(1 for r in results if r['observed'] == 'refused'),
        'mismatches': sum(1 for r in results if r['match'] is False),
        'seconds': round(time.monotonic() - started, 2),
    }
    return results, summary


def table(results):
    """A readable table of probe results."""
    columns = ('src', 'dst', 'proto', 'port', 'family', 'observed', 'detail', 'expect', 'match')
    rows = [[('' if r.get(c) is None else str(r.get(c))) for c in columns] for r in results]
    widths = [max([len(c)] + [len(row[i]) for row in rows]) for i, c in enumerate(columns)]
    lines = ['  '.join(c.ljust(w) for c, w in zip(columns, widths))]
    lines += ['  '.join(v.ljust(w) for v, w in zip(row, widths)) for row in rows]
    return '\n'.join(line.rstrip() for line in lines)
