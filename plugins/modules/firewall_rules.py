#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: firewall_rules
author: portmatrix.xenserver maintainers (@portmatrix)
version_added: 0.1.0
short_description: Apply the XenServer port matrix to a host's firewall in one atomic change
description:
  - Computes the firewall rules a host needs from the XenServer communication-port matrix (the
    same data the P(portmatrix.xenserver.ports#lookup) lookup returns), for the components the
    host plays and the addresses of the peers allowed to reach it.
  - Owns a scope and only that scope. With iptables, the chains named C(PMX-*) and two jumps in INPUT -
    C(-A INPUT -j PMX-RESTRICT) on top (reject-only) and C(-A INPUT -j PMX-INPUT) (accepts) before the
    first REJECT/DROP of everything (on a XenServer 8 dom0, before C(RH-Firewall-1-INPUT)); C(xapi-INPUT),
    C(xapi_nbd_*) and every other chain stay as they were. With native nftables, in each table whose input
    base chain would drop or reject (for example Debian's C(table inet filter)), the sets
    C(pmx_<group>_4)/C(_6), the chains C(pmx_restrict) and C(pmx_input) and their two jumps per such base
    chain, placed the same way.
    With firewalld, the policy C(pmx-input) (ingress ANY, egress HOST, evaluated before the zones) and
    ipsets C(pmx-*); stock zones and services stay as they were.
  - One source group per peer component (a chain or an ipset) holds the addresses; its rules hold
    the ports. The rule count grows with addresses plus ports, never addresses times ports.
  - The whole change for a host is one transaction per address family (C(iptables-restore --noflush),
    tested first with C(--test)), one C(nft -j -f) batch (checked first with C(nft -c)), or one
    C(firewall-cmd --reload) after C(--check-config). The state is read back after the change and the
    module fails if it differs from the plan.
  - When the owned scope already equals the plan, nothing is written. Stray rules inside the scope
    are removed, missing ones restored, a moved or duplicated jump put back in its place.
  - Ports the host serves in the plan are rejected for every other source (O(reject_unmatched)),
    except O(public_ports). The controller's own SSH session stays reachable (O(ssh_guard)).
  - Restricted means restricted, and bans still ban - the rejects are checked above every foreign rule
    that could accept a restricted port, in a chain that never accepts, so a foreign ACCEPT cannot open a
    restricted port while a foreign REJECT/DROP (a fail2ban ban) still refuses matrix sources. With
    firewalld the policy runs before every zone.
options:
  components:
    description:
      - The matrix components this host plays, for example V(pool_host) or V([nfs_filer, smb_filer]).
      - Required with O(state=present) unless O(from_inventory=true); not needed to remove everything
        (O(state=absent)).
    type: list
    elements: str
    default: []
  peers:
    description:
      - Addresses (IPv4, IPv6, or CIDR networks) of the hosts playing each source component, as
        a dictionary from component name to a list. Names are not resolved here; the roles
        resolve them on the controller.
      - For V(pool_host) list every pool host (they reach license servers, filers and other services).
    type: dict
    default: {}
  pool_peers:
    description:
      - Addresses of the members of this host's own pool. Intra-pool flows (management API,
        clustering, HA) are allowed from these only.
    type: list
    elements: str
    default: []
  platform:
    description:
      - The platform xapi runs on this host, which decides what the module expects from xapi there
        (the firewall it drives, what it owns; see docs/platforms.md). V(auto) detects it from
        C(/etc/xensource-inventory) (PRODUCT_BRAND, PRODUCT_VERSION) or C(/etc/os-release); the
        result's C(platform) reports what was detected.
      - A platform given that the host contradicts, a O(backend) other than the one xapi drives on a
        platform given, or O(https_only) on a Common Criteria host (C(CC_PREPARATIONS) in the inventory file,
        where xapi refuses to change https-only) fail before anything is changed.
    type: str
    choices: [auto, xenserver8, xenserver9, xcp-ng8]
    default: auto
  migration_peers:
    description:
      - Addresses of the hosts of the other pools that migrate VMs to this host's pool (cross-pool
        live and storage migration, pool join). The V(cross_pool_migration) flow (443/tcp) is
        allowed from these only; it is active when O(features) lists V(cross_pool_migration).
    type: list
    elements: str
    default: []
  clustered:
    description:
      - Whether this host's pool is clustered; clustering flows are allowed only then.
    type: bool
    default: false
  features:
    description:
      - Optional features to switch on, for example V(ha), V(nbd), V(vxlan), V(wlb), V(license_admin).
    type: list
    elements: str
    default: []
  skip_features:
    description:
      - Features of the vendor matrix to leave out, for example V(nfsv3) on a filer that only serves NFSv4.
    type: list
    elements: str
    default: []
  https_only:
    description:
      - Leave TCP port 80 out of the management-API flows. Closing port 80 itself is a xapi setting
        (C(xe host-param-set https-only=true)); the P(portmatrix.xenserver.pool_host#role) role does it.
    type: bool
    default: false
  cluster_daemon_port:
    description:
      - The cluster daemon port. The vendor page says 8892; xapi's source uses 8896.
    type: int
    default: 8892
  license_vendor_daemon_port:
    description:
      - The license server's vendor-daemon port (C(PORT=) of the VENDOR line of the license file).
    type: int
    default: 7279
  nfsv3_ports:
    description:
      - The NFSv3 ancillary ports pinned on the filer (mountd, statd, lockd). Without them the NFSv3
        ancillary flow opens nothing, since its ports are chosen at random by the filer.
      - C(PORT) opens TCP and UDP; C(PORT/tcp) or C(PORT/udp) one of them (lockd's TCP and UDP ports differ).
    type: list
    elements: str
    default: []
  extra_rules:
    description:
      - Further flows to this host, each in a source group of its own.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Name of the group (1-20 of a-z, 0-9, _), used in chain and ipset names.
        type: str
        required: true
      sources:
        description: Source addresses or networks.
        type: list
        elements: str
        required: true
      protocol:
        description: Protocol.
        type: str
        choices: [tcp, udp]
        default: tcp
      ports:
        description: Destination ports.
        type: list
        elements: int
        required: true
  reject_unmatched:
    description:
      - Reject new connections to the ports this host serves in the plan from every source the plan
        does not allow, so that only the matrix's peers reach them.
    type: bool
    default: true
  public_ports:
    description:
      - Ports (C(PORT/PROTOCOL)) that stay reachable by everyone as before even when O(reject_unmatched=true).
        The default keeps SSH and the management API open as on a stock XenServer host; an empty list
        is the strict mode.
    type: list
    elements: str
    default: ['22/tcp', '80/tcp', '443/tcp']
  ssh_guard:
    description:
      - Keep the controllers' SSH reachable whatever the rules say, by accepting their addresses on the
        SSH port first.
      - The action plugin reads the address the current connection comes from on the connection itself,
        before become (sudo drops C(SSH_CONNECTION) from the environment), and passes it with the
        listed controllers as O(guard_sources). Without O(guard_sources), the module falls back to its
        own C(SSH_CONNECTION).
      - The guard is part of the owned scope. List every controller (in O(guard_sources), or in
        C(portmatrix_controllers) with O(from_inventory)) so that a run from another one is not drift.
    type: bool
    default: true
  guard_sources:
    description:
      - Addresses or networks of the controllers whose SSH the guard accepts. Filled by the action plugin
        (the current connection's address plus C(portmatrix_controllers)); set it to add more.
    type: list
    elements: str
    default: []
  guard_port:
    description:
      - The SSH port the guard accepts O(guard_sources) on. The action plugin takes it from the connection.
    type: int
    default: 22
  confirm_timeout:
    description:
      - Commit confirmed. A change of the running rules puts itself back after this many seconds unless the
        controller confirms it from a NEW connection (the action plugin does, at once, after closing its
        multiplexed connection). The confirmation carries only the change's token and runs no module; a small
        program armed with the change writes the saved rules, which the change worked out, after checking
        that the running rules are still the change's. The saved rules are written only with the
        confirmation, so a reboot inside the window comes back with the rules of before.
      - If the controller cannot connect again (the change cut it off, for example strict mode without the
        SSH guard) or dies, the host puts its previous owned scope back by itself; the task then fails with
        a message saying the change was rolled back and why. A rollback that no run reported (the controller
        died) is reported once by the next run on the host (RV(rolled_back_since) and a warning); check mode
        reports it without consuming it, so every drift check shows it until a run applies.
      - V(0) applies without confirmation. Check mode never arms anything.
      - With firewalld the permanent configuration is what a reload applies, so the new one is in place during
        the window; the rollback restores the previous files and reloads.
    type: int
    default: 60
  from_inventory:
    description:
      - Work out every argument from the inventory on the controller, with the engine of the collection.
        It reads the components the host plays (its groups), its pool and pool members, the peers of each
        component, and the host's C(portmatrix_*) variables (see the collection's docs/settings.md).
        Arguments given in the task override what the engine computes.
      - The whole inventory is checked once per run (for every play and every action of the collection),
        before any host is changed; a bad value fails every host of the play with a message naming the host
        and the variable (a bad host setting outside the play's hosts stops nothing).
      - A host that serves no component, has C(portmatrix_manage_firewall=false) or a Windows connection
        is not contacted; the result says why.
      - Runs in the action plugin only (on the controller).
    type: bool
    default: false
  expect_components:
    description:
      - With O(from_inventory), fail unless the host plays at least one of these components.
    type: list
    elements: str
    default: []
  role:
    description:
      - With O(from_inventory), the collection's role making the call (V(pool_host), V(storage_filer),
        V(license_server) or V(infra_service)); fail before anything changes unless the host is in one of
        the groups that give it that role.
      - The host's firewall is applied once per run - when C(portmatrix_firewall) holds the result of this
        run's call for the host (the site and drift playbooks register it, the roles set it), that result
        is returned and nothing is sent to the host.
    type: str
  refresh:
    description:
      - With O(from_inventory), read the inventory again even when this run already did (after
        C(add_host) or a changed C(portmatrix_addresses)).
    type: bool
    default: false
  backend:
    description:
      - V(auto) uses firewalld when it is running; else nftables when a native nftables input base chain
        (not iptables-nft's own tables) would drop or reject traffic; else iptables. It fails, before any
        change, on a host where firewalld does not run but its unit is enabled or it holds this collection's
        objects (rules written elsewhere would be replaced when firewalld starts).
      - A forced V(iptables) fails before any change where firewalld runs or where a native nftables input
        chain would drop or reject (an accept in iptables cannot open what another base chain drops); a forced
        V(nftables) fails where firewalld runs, where no native input chain drops anything, or where
        iptables also drops input.
    type: str
    choices: [auto, iptables, nftables, firewalld]
    default: auto
  state:
    description:
      - V(absent) removes everything the module owns and nothing else.
    type: str
    choices: [present, absent]
    default: present
  plan_digest:
    description:
      - The digest of the plan this call comes from (the action plugin passes it with O(from_inventory=true)).
        Once the change is in place for good (applied, nothing to change, or confirmed) it is recorded on the
        host in C(/etc/portmatrix/plan-digest); O(state=absent) removes it; check mode only reads it. The drift
        playbook shows it.
    type: str
    version_added: 0.2.0
  persist:
    description:
      - Make the rules survive a reboot. With iptables the owned chains and jumps are merged into the saved
        files, C(/etc/sysconfig/iptables) and C(ip6tables) on RHEL and XenServer hosts, C(/etc/iptables/rules.v4)
        and C(rules.v6) on Debian hosts; every other line of those files stays as it was (Docker, fail2ban and
        xapi rebuild theirs at start), and after O(state=absent) they are byte for byte what they were. With
        firewalld the permanent configuration always equals the runtime one.
      - With nftables, the owned objects are written to C(/etc/portmatrix/nftables.nft), which the file the
        host loads at boot (C(/etc/sysconfig/nftables.conf) on RHEL, else C(/etc/nftables.conf)) includes
        through two lines added once at its end (a comment and C(include "/etc/portmatrix/nftables.nft"));
        the whole configuration is then checked with C(nft -c -f). O(state=absent) removes both.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description: Reports exactly what would change and touches nothing.
  diff_mode:
    support: full
    description: Shows the owned scope before and after, one line per rule as a person writes it (iptables
      rules with C(-m comment) naming the flows they serve, nftables rules as C(nft) prints them, firewalld
      rich rules and ipset entries as text, marked C(# runtime only) or C(# permanent only) where the two
      differ), then the saved rules under C(# saved ...), or, where they are the running rules, one line that
      says so.
  platform:
    support: full
    platforms: posix
    description: Linux with iptables (legacy or nf_tables), native nftables (nft 0.9.3 or newer), or firewalld 0.9 or newer.
notes:
  - Runs on Python 3.6 (XenServer 8 dom0).
  - Needs root (C(become)); without it the module fails at once with one line saying so, before it reads anything.
  - Loopback is never filtered by the owned scope (iptables - the first rule of C(PMX-INPUT) returns
    traffic on C(lo); nftables - the first rule of C(pmx_input) does; firewalld - loopback is accepted
    before any policy), so local tools reach local daemons on restricted ports.
  - One run at a time per host - every run holds an exclusive lock on
    C(/run/lock/portmatrix.firewall_rules.lock) from its first read to its last write, and waits up to
    120 seconds for another run to finish.
  - Nothing is applied that cannot be saved - with O(persist=true) the module checks that the saved-rules
    files (or firewalld's permanent configuration) can be written before it changes anything, and fails
    otherwise. If writing, reading back or saving still fails, the owned scope is put back as it was
    before the run (runtime and saved files) and the module fails saying so.
  - C(firewall-cmd --reload) makes every runtime-only firewalld change permanent configuration does not
    hold go away, the collection's and others'.
requirements:
  - iptables-save and iptables-restore (ip6tables-save and ip6tables-restore for IPv6), nft (nftables), or firewalld 0.9+.
seealso:
  - plugin: portmatrix.xenserver.ports
    plugin_type: lookup
"""

EXAMPLES = r"""
- name: A pool host of pool A (clustered), reached by its members, XenCenter and API clients
  portmatrix.xenserver.firewall_rules:
    components: [pool_host]
    pool_peers: [198.51.100.11, 198.51.100.12, 198.51.100.13]
    clustered: true
    cluster_daemon_port: 8896
    peers:
      xencenter: [198.51.100.50, "2001:db8::50"]
      api_client: [203.0.113.0/24]

- name: An NFSv3 filer with pinned ports, reached by every pool host
  portmatrix.xenserver.firewall_rules:
    components: [nfs_filer, smb_filer]
    peers:
      pool_host: [198.51.100.11, 198.51.100.12, 198.51.100.13, 198.51.100.21]
    nfsv3_ports: ["892", "662", "32803/tcp", "32769/udp"]

- name: Find drift without changing anything
  portmatrix.xenserver.firewall_rules:
    components: [license_server]
    peers:
      pool_host: [198.51.100.11]
  check_mode: true
  register: firewall

- name: Remove everything the collection put there
  portmatrix.xenserver.firewall_rules:
    state: absent

- name: Every host of the play, worked out from the inventory (groups and portmatrix_* variables)
  portmatrix.xenserver.firewall_rules:
    from_inventory: true
"""

RETURN = r"""
plan_digest:
  description:
    - The digest of the plan the host's firewall was last set from (C(/etc/portmatrix/plan-digest), null when
      none is recorded) after this run, the one this call was given, and why it could not be recorded.
  returned: always, but not when confirming
  type: dict
  sample: {"recorded": "sha256:28b0...", "given": "sha256:28b0...", "error": null}
backend:
  description: The backend used.
  returned: always
  type: str
  sample: iptables
drift:
  description:
    - True when the owned scope differed from the plan before this run, running or saved. Unsaved is drift -
      a host whose saved rules differ (a failed save, the saved file replaced) runs those after its next boot.
  returned: always
  type: bool
unsaved:
  description: True when the saved rules (iptables saved files, nftables' included file and include line)
    differed from the plan before this run; also counted in RV(drift). Always false with firewalld, whose
    permanent configuration is part of the compared state.
  returned: always
  type: bool
rules_added:
  description: Lines of the running owned scope that were (or in check mode would be) added, per address
    family (V(4), V(6)) for iptables, under V(nftables) for nftables, under V(firewalld) for firewalld
    (permanent and runtime state together). The saved rules' differences are in the diff.
  returned: always
  type: dict
  sample: {"4": ['-A PMX-xencenter -p tcp -m multiport --dports 22,443 -m comment --comment "xencenter_api,xencenter_ssh" -j ACCEPT'],
           "6": []}
rules_removed:
  description: Lines of the owned scope that were (or would be) removed, in the same form.
  returned: always
  type: dict
saved_added:
  description: Lines of the owned scope missing from the saved rules (iptables saved files, nftables' included
    file) before this run, in the same form; empty when nothing is saved (firewalld, O(persist=false)).
  returned: always
  type: dict
  version_added: 0.2.0
saved_removed:
  description: Lines of the saved owned scope that differed from the plan before this run (extra, or the
    marker C(# <path> missing) of a missing file), in the same form.
  returned: always
  type: dict
  version_added: 0.2.0
rule_count:
  description: Rules the owned scope puts in the kernel once applied, per family (iptables), rules of
    the owned chains and jumps (nftables) or rich rules (firewalld).
  returned: always
  type: dict
  sample: {"4": 12, "6": 9}
confirm:
  description: The commit-confirmed window of this change (token, timeout in seconds, deadline as a UNIX time,
    the host's Python that runs the confirmation, and from the action plugin whether it was confirmed,
    how long the confirmation took in all (C(seconds), the new connection and the host's confirm program)
    and how much of it the host's confirm program took (C(host_seconds)); the rest is the new SSH connection).
  returned: when the running rules changed and O(confirm_timeout) is not 0
  type: dict
rolled_back:
  description: True when the change was not confirmed in time and the host put its previous rules back.
  returned: when it happened
  type: bool
rolled_back_since:
  description: Changes of earlier runs that the host rolled back by itself and that no run reported yet
    (the controller died or gave up before it could confirm), oldest first. A run that is not in check mode
    reports each once (then the record is removed from /run/portmatrix); check mode shows them every time.
  returned: success
  type: list
  elements: dict
  sample: [{"token": "4f0c...", "armed_at": 1780000000.0, "rolled_back_at": 1780000060.2, "timeout": 60,
            "why": "no confirmation came within 60s", "errors": []}]
persisted:
  description: True when the rules were saved for reboot in this run.
  returned: always
  type: bool
shadowing:
  description: Foreign rules that could accept a new connection to a restricted port before the owned
    restrictions are checked, as they were before this run, per address family (iptables) or under
    V(nftables) or V(firewalld). With iptables and nftables non-empty means drift (the restrict jump is
    moved above them). With firewalld these are other policies evaluated before the collection's, and,
    while its policy is not running, what the zones in use open of the restricted ports.
  returned: always
  type: dict
  sample: {"4": ["-A INPUT -p tcp -m tcp --dport 21064 -j ACCEPT"], "6": []}
hints:
  description: When the owned scope drifted, what of it is gone and the likely cause (another tool that
    manages the same firewall, such as a baseline role or a boot script); empty otherwise.
  returned: always
  type: list
  elements: str
  sample: ["the policy and ipsets are gone (ipset pmx-pool-host-4, policy pmx-input): another tool reset
    firewalld's configuration (linux-system-roles firewall with previous: replaced?, ...)"]
plan:
  description: The computed plan, per source group.
  returned: always
  type: dict
platform:
  description:
    - The host's platform as the module sees it (C(name), the one in effect) and how it was detected
      (C(product_brand), C(product_version), C(detected_from), C(cc_preparations)); C(expects) says what
      xapi drives and owns there. C(name) is null on hosts that are not XenServer or XCP-ng.
  returned: success, and failures about the platform
  type: dict
  sample: {"name": "xcp-ng8", "requested": "auto", "platform": "xcp-ng8", "product_brand": "XCP-ng",
           "product_version": "8.3.0", "detected_from": "/etc/xensource-inventory", "cc_preparations": false,
           "cc_preparations_value": null, "expects": {"backend": "iptables"}}
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.portmatrix.xenserver.plugins.module_utils import backend_choice, confirm, matrix, planner, platform, restore
from ansible_collections.portmatrix.xenserver.plugins.module_utils import plan_record
from ansible_collections.portmatrix.xenserver.plugins.module_utils.firewalld import FirewalldBackend, expected_reasons
from ansible_collections.portmatrix.xenserver.plugins.module_utils.iptables import IptablesBackend, IptablesError
from ansible_collections.portmatrix.xenserver.plugins.module_utils.nftables import NftablesBackend, Ruleset
from ansible_collections.portmatrix.xenserver.plugins.module_utils.transaction import Transaction

ARGUMENT_SPEC = dict(
    components=dict(type="list", elements="str", default=[]),
    peers=dict(type="dict", default={}),
    pool_peers=dict(type="list", elements="str", default=[]),
    migration_peers=dict(type="list", elements="str", default=[]),
    platform=dict(type="str", choices=list(platform.CHOICES), default="auto"),
    clustered=dict(type="bool", default=False),
    features=dict(type="list", elements="str", default=[]),
    skip_features=dict(type="list", elements="str", default=[]),
    https_only=dict(type="bool", default=False),
    nfsv3_ports=dict(type="list", elements="str", default=[]),
    extra_rules=dict(type="list", elements="dict", default=[], options=dict(
        name=dict(type="str", required=True),
        sources=dict(type="list", elements="str", required=True),
        protocol=dict(type="str", choices=["tcp", "udp"], default="tcp"),
        ports=dict(type="list", elements="int", required=True),
    )),
    reject_unmatched=dict(type="bool", default=True),
    public_ports=dict(type="list", elements="str", default=["22/tcp", "80/tcp", "443/tcp"]),
    ssh_guard=dict(type="bool", default=True),
    guard_sources=dict(type="list", elements="str", default=[]),
    guard_port=dict(type="int", default=22),
    confirm_timeout=dict(type="int", default=60),
    # Consumed by the action plugin on the controller; accepted here so the module
    # documents them and ignores them.
    from_inventory=dict(type="bool", default=False),
    expect_components=dict(type="list", elements="str", default=[]),
    role=dict(type="str"),
    refresh=dict(type="bool", default=False),
    backend=dict(type="str", choices=list(backend_choice.BACKENDS), default="auto"),
    state=dict(type="str", choices=["present", "absent"], default="present"),
    persist=dict(type="bool", default=True),
    plan_digest=dict(type="str"),
)
# The ports the matrix lets a site choose (cluster daemon, license vendor daemon): one argument
# each, from the one definition in module_utils/matrix.py that the controller reads too.
ARGUMENT_SPEC.update((name, dict(type="int", default=default)) for name, default in matrix.PORT_OPTIONS.items())


def guards(params):
    """(address, port) pairs the SSH guard accepts: what the action plugin passed, else the
    SSH session this module runs over (SSH_CONNECTION, lost under sudo's env_reset)."""
    if not params["ssh_guard"]:
        return []
    if params["guard_sources"]:
        return [(source, params["guard_port"]) for source in params["guard_sources"]]
    words = os.environ.get("SSH_CONNECTION", "").split()
    if len(words) == 4:
        return [(words[0], words[3])]
    return []


def ipv6_enabled():
    return os.path.exists("/proc/net/if_inet6")


def host_facts(module, run):
    """(firewalld running, reasons it should run, native nftables input chains that drop)."""
    firewalld_running = False
    firewall_cmd = module.get_bin_path("firewall-cmd")
    if firewall_cmd:
        rc, out, err = run([firewall_cmd, "--state"])
        firewalld_running = rc == 0 and out.strip() == "running"
    native_drops = []
    nft = module.get_bin_path("nft")
    if nft:
        rc, out, err = run([nft, "-j", "list", "ruleset"])
        if rc == 0:
            native_drops = Ruleset.from_text(out).dropping_inputs()
    return firewalld_running, [] if firewalld_running else expected_reasons(), native_drops


def choose_backend(module, run, state, persist):
    name = backend_choice.choose(module.params["backend"], state, *host_facts(module, run))
    if name == "firewalld":
        return FirewalldBackend(run, state=state)
    if name == "nftables":
        return NftablesBackend(run, state=state, persist=persist)
    families = [4]
    if ipv6_enabled() and module.get_bin_path("ip6tables-restore"):
        families.append(6)
    return IptablesBackend(run, families, state=state, persist=persist)


def record_plan(params, check_mode, result=None):
    """Keep the digest of the plan the firewall is set from (plan_record.py): written once the
    change is in place for good (a change waiting for its confirmation: by the confirmation, see
    plan_record.steps()), removed with the rules; in check mode only read."""
    error = None
    try:
        if not check_mode and params["state"] == "absent":
            plan_record.remove()
        elif not check_mode and params["plan_digest"] and not (result or {}).get("confirm"):
            plan_record.write(params["plan_digest"])
    except (IOError, OSError) as exc:  # the rules are in place: say so, do not fail the change
        error = "could not record the plan digest in %s: %s" % (plan_record.RECORD, exc)
    return {"recorded": plan_record.read(), "given": params["plan_digest"], "error": error}


def check_platform(module, params):
    """The host's platform (module_utils/platform.py); fails before any change when the host
    contradicts the arguments (platform, backend, https_only on a Common Criteria host)."""
    detected = platform.detect()
    report = platform.describe(params["platform"], detected)
    problem = platform.problem(params["platform"], detected, params["backend"],
                               params["https_only"] and params["state"] == "present")
    if problem:
        module.fail_json(msg=problem, platform=report)
    return report


def root_needed():
    """Why this run cannot work, or None: reading and changing netfilter, the saved files and the
    host's lock need root. Said in one line before any step fails on a permission (issue 18)."""
    if os.geteuid() == 0:
        return None
    try:
        import pwd
        user = pwd.getpwuid(os.geteuid()).pw_name
    except (ImportError, KeyError):
        user = "uid %d" % os.geteuid()
    return ("firewall_rules needs root on this host and runs as %s: set become: true (ansible_become: true) "
            "for this host or play; nothing was read or changed" % user)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    problem = root_needed()
    if problem:
        module.fail_json(msg=problem)
    params = module.params
    state = params["state"]

    def run(argv, data=None):
        binary = module.get_bin_path(argv[0]) or argv[0]
        return module.run_command([binary] + list(argv[1:]), data=data, binary_data=data is not None)

    if state == "present" and not params["components"]:
        module.fail_json(msg="components is required with state=present (or use from_inventory: true)")
    try:
        plan = planner.build_plan(
            components=params["components"],
            peers=params["peers"],
            pool_peers=params["pool_peers"],
            clustered=params["clustered"],
            features=params["features"],
            skip_features=params["skip_features"],
            https_only=params["https_only"],
            port_options=dict((name, params[name]) for name in matrix.PORT_OPTIONS),
            nfsv3_ports=params["nfsv3_ports"],
            extra_rules=params["extra_rules"],
            reject_unmatched=params["reject_unmatched"],
            public_ports=params["public_ports"],
            guards=guards(params),
            migration_peers=params["migration_peers"],
        )
    except planner.PlanError as exc:
        module.fail_json(msg=str(exc))

    host_platform = check_platform(module, params)
    if params["confirm_timeout"] < 0:
        module.fail_json(msg="confirm_timeout is a number of seconds, 0 to apply without confirmation")
    try:
        backend = choose_backend(module, run, state, params["persist"])
        # One run at a time per host, from the first read to the last write, and none while another
        # run's change waits for its confirmation.
        with confirm.settled_lock(restore.host_lock, restore.LOCK_TIMEOUT) as lock:
            rollbacks = confirm.rollbacks()
            backend.validate(module.get_bin_path)
            if backend.name == "iptables" and 6 in plan.families and 6 not in backend.families:
                raise IptablesError("IPv6 peers were given but this host cannot filter IPv6 "
                                    "(no ip6tables-restore, or IPv6 disabled)")
            persist = params["persist"] and backend.name != "firewalld"
            arm = None
            if params["confirm_timeout"] and not module.check_mode:
                def arm(steps, **confirmation):
                    return confirm.arm(steps, params["confirm_timeout"], lock.name,
                                       settled=plan_record.steps(params["plan_digest"]), **confirmation)
            result = Transaction(backend, plan, check_mode=module.check_mode, persist=persist, arm=arm).run()
            if not module.check_mode:
                confirm.forget(rollbacks)  # reported by this run, once (check mode and drift keep showing them)
    except RuntimeError as exc:  # the backends' and the transaction's errors, a lock not obtained
        module.fail_json(msg=str(exc))

    result["plan_digest"] = record_plan(params, module.check_mode, result)
    diff = result.pop("diff")
    result["rules_added"] = dict((str(k), v) for k, v in result["rules_added"].items())
    result["rules_removed"] = dict((str(k), v) for k, v in result["rules_removed"].items())
    result["rule_count"] = dict((str(k), v) for k, v in result["rule_count"].items())
    result["shadowing"] = dict((str(k), v) for k, v in result["shadowing"].items())
    result["plan"] = dict((g.name, {"ipv4": g.networks[4], "ipv6": g.networks[6],
                                    "ports": dict(g.ports), "flows": list(g.flows)})
                          for g in plan.groups)
    result["plan"]["_restricted"] = {"ports": dict(plan.restricted)}
    result["platform"] = host_platform
    result["rolled_back_since"] = rollbacks
    for sentence in confirm.describe_rollbacks(rollbacks):
        module.warn(sentence)
    if module._diff:
        result["diff"] = diff
    module.exit_json(**result)


if __name__ == "__main__":
    main()
