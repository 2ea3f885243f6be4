# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The XenServer communication-port matrix, as data.

This file is the single source of the matrix: the lookup plugin, the firewall_rules
module and the generated docs/port-matrix.md all read FLOWS from here.  It ships to
the target with the module, so it stays importable on Python 3.6 and imports nothing
but the standard library.

Sources: the vendor page "Communication ports used by XenServer" (every flow with
``optional=False``) and optional flows (``optional=True``: off unless asked for), each
naming its public source in ``source_ref``.  OUTBOUND lists the connections to vendor
services on the internet, by DNS name, from the vendor page "Connectivity requirements":
they are for perimeter firewalls and proxies (the flows export, change requests), never
host rules.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections

VENDOR_SOURCE = ("XenServer 8: Communication ports used by XenServer, "
                 "https://docs.xenserver.com/en-us/xenserver/8/system-requirements/ports")

# name -> what plays it.  These exact names are the collection's vocabulary.
COMPONENTS = collections.OrderedDict([
    ("pool_host", "XenServer host (dom0) in a resource pool"),
    ("license_server", "Citrix License Server"),
    ("ntp_server", "NTP service"),
    ("dns_server", "DNS service"),
    ("domain_controller", "Active Directory domain controller (LDAP)"),
    ("smb_filer", "File server with SMB storage (ISO store)"),
    ("iscsi_target", "SAN controller (iSCSI target)"),
    ("nfs_filer", "NAS head / NFS file server"),
    ("syslog_server", "Central syslog receiver"),
    ("xencenter", "XenCenter management workstation"),
    ("linux_vm", "Linux virtual machine (VNC console)"),
    ("windows_vm", "Windows virtual machine (RDP console)"),
    ("api_client", "Other client of the management API"),
    ("monitoring_server", "Monitoring server polling dom0 (SNMP manager, NRPE client)"),
    ("sdn_controller", "Open vSwitch SDN controller of the pool (SDN_controller in xapi)"),
])

# The collection's roles and the components each serves: the one place that says which role a
# host gets (the playbooks include them, a role checks its host). Components not listed here
# (xencenter) are sources only.
ROLES = (
    ("pool_host", ("pool_host",)),
    ("storage_filer", ("nfs_filer", "smb_filer", "iscsi_target")),
    ("license_server", ("license_server",)),
    ("infra_service", ("ntp_server", "dns_server", "domain_controller", "syslog_server", "linux_vm", "windows_vm",
                       "api_client", "monitoring_server", "sdn_controller")),
)

PROTOCOLS = ("tcp", "udp")

# Who may use a flow between two pool hosts.
SCOPES = collections.OrderedDict([
    ("any", "any host of the source component"),
    ("same_pool", "only members of the same resource pool"),
    ("clustered_pool", "only members of the same pool, and only when that pool is clustered"),
    ("migrating_pools", "only hosts of the pools that portmatrix_migration_pools says migrate to this host's pool"),
])

NOTES = collections.OrderedDict([
    ("port_80_closable",
     "TCP port 80 may be closed on the management interface for security (the vendor's way: "
     "xe host-param-set https-only=true). Every API client must then use HTTPS on 443; check "
     "clients first (Citrix Virtual Apps and Desktops in particular)."),
    ("nfsv3_dynamic",
     "NFSv3 ancillary services (mountd, statd, lockd) use ports chosen by the filer at random "
     "unless pinned; pin them on the filer and pass the pinned ports (nfsv3_ports)."),
    ("pool_members_only",
     "Only between members of the same resource pool."),
    ("clustered_pool_only",
     "Only between members of a clustered pool."),
    ("cluster_daemon_port",
     "The vendor page says 8892; xapi's source sets xapi_clusterd_port to 8896. Configurable "
     "(cluster_daemon_port)."),
    ("license_vendor_daemon_port",
     "Fixed by PORT= on the VENDOR line of the license file; random otherwise. Configurable "
     "(license_vendor_daemon_port)."),
    ("fqdn_must_resolve",
     "Where a resource is given by FQDN instead of IP address, the name must resolve."),
    ("ad_integration_ports",
     "The vendor's Active Directory integration table: what pool hosts need outbound to the "
     "domain controllers once the pool is joined to a domain (389 is also a vendor-table "
     "flow). Switch on with the ad_integration feature on the domain controllers."),
    ("monitoring_licensed",
     "The vendor pages say SNMP and NRPE are available to XenServer Premium or Trial Edition "
     "customers. Switch on with the snmp and nrpe features on the pool hosts."),
    ("pool_coordinator_only",
     "Only the pool coordinator (master) makes this connection, not every pool member; it can "
     "go through a proxy configured for the pool's updates."),
    ("outbound_by_name",
     "Outbound HTTPS to a DNS name on the internet: a perimeter firewall or proxy rule by name, "
     "never a host rule (the addresses behind the name change)."),
    ("cross_pool_migration",
     "Cross-pool live and storage migration (and pool join): the sending pool's hosts call the "
     "receiving pool's coordinator and host over HTTPS (xapi's migration_https_only is true by "
     "default). Asked for with portmatrix_migration_pools, per direction; in non-strict mode 443 "
     "is open to everyone anyway."),
    ("sdn_passive_mode",
     "Only in passive SSL mode (pssl): xapi opens 6640 itself through its firewall-port plugin; "
     "in active mode it closes 6640 again."),
    ("sdn_controller_port",
     "xapi's default for an SSL controller introduced without a port; a controller introduced "
     "with another port needs an extra rule."),
    ("xostor_xcp_ng",
     "XCP-ng only (XOSTOR, the LINSTOR SR). linstor-manager opens these ports to everyone "
     "(firewall-port into xapi-INPUT; DRBD with iptables -I INPUT); the collection's reject-only "
     "chain sits above them, so only pool members get in."),
    ("ha_armed",
     "Stock dom0 iptables rules open 694/udp to everyone; xapi adds the xenha firewalld service "
     "(XenServer 9) only while HA is armed. Switch on with the ha feature on pools that arm HA."),
    ("snmp_trap_port",
     "SNMP traps (notifications) go to the manager's 162/udp, the reverse direction of the "
     "queries (161/udp). Switch on with the snmp_traps feature on the monitoring servers."),
])

# Port overrides a caller may pass: name -> (default, what it replaces).
PORT_OPTIONS = collections.OrderedDict([
    ("cluster_daemon_port", 8892),
    ("license_vendor_daemon_port", 7279),
])

Flow = collections.namedtuple("Flow", [
    "id",           # stable identifier, never reused
    "source",       # component name
    "destination",  # component name
    "protocols",    # tuple of "tcp"/"udp"
    "ports",        # tuple of ints; empty when the ports are dynamic (see notes)
    "purpose",      # the vendor's wording, shortened
    "feature",      # what the flow serves; callers switch features on and off
    "optional",     # True: not on the vendor page, off unless asked for
    "scope",        # key of SCOPES
    "notes",        # tuple of NOTES keys
    "port_option",  # key of PORT_OPTIONS replacing the first port, or None
    "source_ref",   # where the flow comes from
])

_VENDOR = VENDOR_SOURCE
# Optional flows: xapi's firewall services (nbd 10809/tcp, vxlan 4789/udp, xenha = Xapi_globs.xha_udp_port,
# 694/udp), XenCenter's default WLB port (DEFAULT_WLB_PORT), Citrix Licensing's console and web services ports.
_XAPI_FIREWALL = ("xen-api: xapi's firewall services (ocaml/xapi/firewall.ml), "
                  "https://github.com/xapi-project/xen-api/blob/master/ocaml/xapi/firewall.ml")
_WLB_SOURCE = ("XenCenter: WLB connection dialog, default port (XenAdmin/Dialogs/Wlb/WlbCredentialsDialog.cs), "
               "https://github.com/xenserver/xenadmin/blob/master/XenAdmin/Dialogs/Wlb/WlbCredentialsDialog.cs")
_LICENSE_ADMIN_SOURCE = ("Citrix Licensing: Security (console 8082, Web Services for Licensing 8083), "
                         "https://docs.citrix.com/en-us/licensing/11-16-3/manage/secure-console.html")
# Vendor pages of the optional flows and of OUTBOUND: "title, URL".
_AD_SOURCE = ("XenServer 8: Manage users, Active Directory integration, "
              "https://docs.xenserver.com/en-us/xenserver/8/users")
_SNMP_SOURCE = ("XenServer 8: Monitor host and dom0 resources with SNMP, "
                "https://docs.xenserver.com/en-us/xenserver/8/monitor-performance/monitor-snmp")
_NRPE_SOURCE = ("XenServer 8: Monitor host and dom0 resources with NRPE, "
                "https://docs.xenserver.com/en-us/xenserver/8/monitor-performance/monitor-nrpe")
# Primary sources (repository + path) of the platform rows.
_XAPI_MIGRATE_SOURCE = ("xen-api ocaml/xapi/xapi_vm_migrate.ml (remote_of_dest: master and xenops URLs "
                        "over HTTPS, migration_https_only=true in ocaml/xapi/xapi_globs.ml), "
                        "https://github.com/xapi-project/xen-api/blob/master/ocaml/xapi/xapi_vm_migrate.ml")
_SDN_SOURCE = ("xen-api python3/plugins/openvswitch-config-update (pssl opens 6640 with firewall-port) "
               "and ocaml/xapi/xapi_sdn_controller.ml (SSL default port 6632), "
               "https://github.com/xapi-project/xen-api/blob/master/python3/plugins/openvswitch-config-update")
_HA_SOURCE = ("xen-api ocaml/xapi/xapi_globs.ml (xha_udp_port = 694), ocaml/xapi/firewall.ml (xenha) and "
              "ocaml/xapi/xapi_ha.ml (update_ha_firewalld_service when the HA daemon starts), "
              "https://github.com/xapi-project/xen-api/blob/master/ocaml/xapi/xapi_ha.ml")
_LINSTOR_SOURCE = ("xcp-ng/sm drivers/linstor-manager (LINSTOR_PORTS, DRBD_PORTS = '7000:8000'), "
                   "https://github.com/xcp-ng/sm/blob/master/drivers/linstor-manager")
CONNECTIVITY_SOURCE = ("XenServer 8: Connectivity requirements, "
                       "https://docs.xenserver.com/en-us/xenserver/8/system-requirements/connectivity.html")


def _flow(fid, source, destination, protocols, ports, purpose, feature, optional=False,
          scope="any", notes=(), port_option=None, source_ref=_VENDOR):
    return Flow(fid, source, destination, tuple(protocols), tuple(ports), purpose, feature,
                optional, scope, tuple(notes), port_option, source_ref)


FLOWS = (
    # --- the vendor's table, row by row ---
    _flow("pool_management_api", "pool_host", "pool_host", ["tcp"], [80, 443],
          "Intra-pool communication between members of a resource pool using the management API",
          "management", scope="same_pool", notes=["pool_members_only", "port_80_closable"]),
    _flow("license_request", "pool_host", "license_server", ["tcp"], [27000],
          "Initial connection for license requests (lmgrd)", "licensing"),
    _flow("license_checkout", "pool_host", "license_server", ["tcp"], [7279],
          "Check-in/check-out of licenses (CITRIX vendor daemon)", "licensing",
          notes=["license_vendor_daemon_port"], port_option="license_vendor_daemon_port"),
    _flow("ntp", "pool_host", "ntp_server", ["tcp", "udp"], [123],
          "Time synchronization", "ntp"),
    _flow("dns", "pool_host", "dns_server", ["tcp", "udp"], [53],
          "DNS lookups", "dns", notes=["fqdn_must_resolve"]),
    _flow("ldap", "pool_host", "domain_controller", ["tcp", "udp"], [389],
          "LDAP (Active Directory user authentication)", "active_directory"),
    _flow("ldaps", "pool_host", "domain_controller", ["tcp"], [636],
          "LDAP over SSL (LDAPS)", "active_directory"),
    _flow("smb_netbios_session", "pool_host", "smb_filer", ["tcp", "udp"], [139],
          "ISO store: NetBIOS session service", "smb"),
    _flow("smb_microsoft_ds", "pool_host", "smb_filer", ["tcp", "udp"], [445],
          "ISO store: Microsoft-DS", "smb"),
    _flow("iscsi", "pool_host", "iscsi_target", ["tcp"], [3260],
          "iSCSI storage", "iscsi"),
    _flow("nfsv4", "pool_host", "nfs_filer", ["tcp"], [2049],
          "NFSv4 storage", "nfsv4"),
    _flow("nfsv3", "pool_host", "nfs_filer", ["tcp", "udp"], [2049],
          "NFSv3 storage (TCP is the default)", "nfsv3"),
    _flow("nfsv3_rpcbind", "pool_host", "nfs_filer", ["tcp", "udp"], [111],
          "NFSv3 storage: connection to rpcbind", "nfsv3"),
    _flow("nfsv3_ancillary", "pool_host", "nfs_filer", ["tcp", "udp"], [],
          "NFSv3 storage: a dynamic set of ports chosen by the filer (mountd, statd, lockd)",
          "nfsv3", notes=["nfsv3_dynamic"]),
    _flow("syslog", "pool_host", "syslog_server", ["udp"], [514],
          "Sends logs to a central location for collation", "syslog"),
    _flow("clustering_tcp", "pool_host", "pool_host", ["tcp"], [8892, 21064],
          "Communication between all pool members in a clustered pool (cluster daemon, DLM)",
          "clustering", scope="clustered_pool",
          notes=["clustered_pool_only", "cluster_daemon_port"], port_option="cluster_daemon_port"),
    _flow("clustering_udp", "pool_host", "pool_host", ["udp"], [5404, 5405],
          "Communication between all pool members in a clustered pool (corosync)",
          "clustering", scope="clustered_pool", notes=["clustered_pool_only"]),
    _flow("xencenter_ssh", "xencenter", "pool_host", ["tcp"], [22],
          "SSH", "xencenter"),
    _flow("xencenter_api", "xencenter", "pool_host", ["tcp"], [443],
          "Management using the management API", "xencenter"),
    _flow("xencenter_vnc", "xencenter", "linux_vm", ["tcp"], [5900],
          "VNC for Linux VMs", "console"),
    _flow("xencenter_rdp", "xencenter", "windows_vm", ["tcp"], [3389],
          "RDP for Windows VMs", "console"),
    _flow("api_client", "api_client", "pool_host", ["tcp"], [80, 443],
          "Any client that uses the management API to communicate with XenServer hosts",
          "api", notes=["port_80_closable"]),
    # --- optional flows (off unless asked for) ---
    _flow("ha_heartbeat", "pool_host", "pool_host", ["udp"], [694],
          "High-availability network heartbeat (in dom0's stock rules)", "ha", optional=True,
          scope="same_pool", notes=["pool_members_only", "ha_armed"], source_ref=_HA_SOURCE),
    _flow("vxlan", "pool_host", "pool_host", ["udp"], [4789],
          "VXLAN overlay between pool members (SDN controller networks)", "vxlan",
          optional=True, scope="same_pool", notes=["pool_members_only"], source_ref=_XAPI_FIREWALL),
    _flow("nbd", "api_client", "pool_host", ["tcp"], [10809],
          "NBD export of VDIs to backup clients (xapi opens it per interface)", "nbd",
          optional=True, source_ref=_XAPI_FIREWALL),
    _flow("workload_balancing", "pool_host", "api_client", ["tcp"], [8012],
          "Workload Balancing: the pool reaches the WLB appliance (which plays api_client)",
          "wlb", optional=True, source_ref=_WLB_SOURCE),
    _flow("license_admin_console", "xencenter", "license_server", ["tcp"], [8082],
          "License Server administration console (from admin workstations)", "license_admin",
          optional=True, source_ref=_LICENSE_ADMIN_SOURCE),
    _flow("license_web_services", "xencenter", "license_server", ["tcp"], [8083],
          "Web services for licensing (from admin workstations)", "license_admin",
          optional=True, source_ref=_LICENSE_ADMIN_SOURCE),
    # Monitoring of the host and dom0 by a monitoring server.
    _flow("monitoring_snmp", "monitoring_server", "pool_host", ["udp"], [161],
          "SNMP queries to the host's SNMP agent (host and dom0 metrics)", "snmp", optional=True,
          notes=["monitoring_licensed"], source_ref=_SNMP_SOURCE),
    _flow("monitoring_nrpe", "monitoring_server", "pool_host", ["tcp"], [5666],
          "NRPE checks of the host and dom0 (Nagios Remote Plugin Executor)", "nrpe", optional=True,
          notes=["monitoring_licensed"], source_ref=_NRPE_SOURCE),
    _flow("snmp_traps", "pool_host", "monitoring_server", ["udp"], [162],
          "SNMP traps from the host's SNMP agent to the manager (snmptrap, IANA 162/udp)", "snmp_traps",
          optional=True, notes=["snmp_trap_port", "monitoring_licensed"], source_ref=_SNMP_SOURCE),
    # --- flows real estates use beyond the vendor's port page (off unless the inventory asks) ---
    _flow("cross_pool_migration", "pool_host", "pool_host", ["tcp"], [443],
          "Cross-pool live and storage migration and pool join: the other pool's hosts reach the management API",
          "cross_pool_migration", optional=True, scope="migrating_pools", notes=["cross_pool_migration"],
          source_ref=_XAPI_MIGRATE_SOURCE),
    _flow("sdn_controller_passive", "sdn_controller", "pool_host", ["tcp"], [6640],
          "SDN controller connects to the host's Open vSwitch (passive SSL mode)", "sdn_controller",
          optional=True, notes=["sdn_passive_mode"], source_ref=_SDN_SOURCE),
    _flow("sdn_controller_active", "pool_host", "sdn_controller", ["tcp"], [6632],
          "Host's Open vSwitch connects to the SDN controller (active SSL mode)", "sdn_controller",
          optional=True, notes=["sdn_controller_port"], source_ref=_SDN_SOURCE),
    _flow("xostor_linstor", "pool_host", "pool_host", ["tcp"], [3366, 3370, 3376, 3377, 8076, 8077],
          "XOSTOR (XCP-ng): LINSTOR satellite and controller between pool members", "xostor", optional=True,
          scope="same_pool", notes=["pool_members_only", "xostor_xcp_ng"], source_ref=_LINSTOR_SOURCE),
    _flow("xostor_drbd", "pool_host", "pool_host", ["tcp"], range(7000, 8001),
          "XOSTOR (XCP-ng): DRBD replication between pool members (one port per volume, 7000-8000)", "xostor",
          optional=True, scope="same_pool", notes=["pool_members_only", "xostor_xcp_ng"],
          source_ref=_LINSTOR_SOURCE),
)

# The vendor's Active Directory integration table: what pool hosts need to reach on the
# domain controllers once the pool is joined to a domain.  (id, protocols, port, use)
_AD_TABLE = (
    ("ad_dns", ("tcp", "udp"), 53, "DNS"),
    ("ad_kerberos", ("tcp", "udp"), 88, "Kerberos 5"),
    ("ad_ntp", ("udp",), 123, "NTP (Kerberos needs the clocks in step)"),
    ("ad_netbios_name", ("udp",), 137, "NetBIOS Name Service"),
    ("ad_netbios_session", ("tcp",), 139, "NetBIOS Session (SMB)"),
    ("ad_ldap", ("tcp", "udp"), 389, "LDAP"),
    ("ad_smb", ("tcp",), 445, "SMB over TCP"),
    ("ad_kpasswd", ("tcp", "udp"), 464, "machine password changes (Kerberos kpasswd)"),
    ("ad_global_catalog", ("tcp",), 3268, "Global Catalog search"),
)
FLOWS += tuple(
    _flow(fid, "pool_host", "domain_controller", protocols, [port], "Active Directory integration: " + use,
          "ad_integration", optional=True, notes=["ad_integration_ports"], source_ref=_AD_SOURCE)
    for fid, protocols, port, use in _AD_TABLE)

# Outbound connections to vendor services on the internet, by DNS name: for the flows
# export and perimeter change requests only, never host rules (see outbound_by_name).
Outbound = collections.namedtuple("Outbound", [
    "id",            # stable identifier, never reused; distinct from every flow id
    "source",        # component name
    "destinations",  # tuple of DNS names
    "protocol",      # "tcp"
    "port",          # int
    "purpose",       # the vendor's wording, shortened
    "only",          # None: every host of the source component; "pool_coordinator": only it
    "notes",         # tuple of NOTES keys
    "source_ref",    # where the entry comes from
])

OUTBOUND = (
    Outbound("xenserver_updates", "pool_host", ("repo.ops.xenserver.com",), "tcp", 443,
             "The pool coordinator downloads available updates for XenServer 8", "pool_coordinator",
             ("pool_coordinator_only", "outbound_by_name"), CONNECTIVITY_SOURCE),
    Outbound("xenserver_update_sources", "pool_host", ("repo-src.ops.xenserver.com",), "tcp", 443,
             "The pool coordinator downloads the source files of XenServer 8 updates",
             "pool_coordinator", ("pool_coordinator_only", "outbound_by_name"), CONNECTIVITY_SOURCE),
    Outbound("xenserver_telemetry", "pool_host", ("telemetry.ops.xenserver.com",), "tcp", 443,
             "The pool coordinator uploads telemetry data", "pool_coordinator",
             ("pool_coordinator_only", "outbound_by_name"), CONNECTIVITY_SOURCE),
    Outbound("xencenter_updates", "xencenter", ("updates.ops.xenserver.com",), "tcp", 443,
             "XenCenter polls for updates of XenCenter and of XenServer 8 hosts", None,
             ("outbound_by_name",), CONNECTIVITY_SOURCE),
)
OUTBOUND_BY_ID = collections.OrderedDict((o.id, o) for o in OUTBOUND)

FLOWS_BY_ID = collections.OrderedDict((f.id, f) for f in FLOWS)
FEATURES = tuple(sorted(set(f.feature for f in FLOWS)))
OPTIONAL_FEATURES = tuple(sorted(set(f.feature for f in FLOWS if f.optional)))


class MatrixError(ValueError):
    """Raised for names or values that are not in the matrix."""


def _valid(kind, value, valid):
    if value not in valid:
        raise MatrixError("unknown %s %r; valid %ss: %s" % (kind, value, kind, ", ".join(valid)))
    return value


def _as_list(value):
    if value is None:
        return []
    if isinstance(value, (list, tuple, set)):
        return list(value)
    return [value]


def check_component(name):
    return _valid("component", name, list(COMPONENTS))


def check_protocol(name):
    return _valid("protocol", str(name).lower(), list(PROTOCOLS))


def check_feature(name):
    return _valid("feature", name, list(FEATURES))


def check_flow_id(name):
    return _valid("flow id", name, list(FLOWS_BY_ID))


def check_outbound_id(name):
    return _valid("outbound id", name, list(OUTBOUND_BY_ID))


def check_port(value):
    """Return value as an int port number, or raise MatrixError."""
    if isinstance(value, bool):
        raise MatrixError("bad port %r: a port is a whole number from 1 to 65535" % (value,))
    try:
        port = int(str(value).strip())
    except (TypeError, ValueError):
        raise MatrixError("bad port %r: a port is a whole number from 1 to 65535" % (value,))
    if not 1 <= port <= 65535:
        raise MatrixError("bad port %r: a port is a whole number from 1 to 65535" % (value,))
    return port


def flow_ports(flow, port_options=None, nfsv3_ports=None):
    """The concrete ports of a flow once the caller's overrides are applied.

    port_options maps PORT_OPTIONS names to ports; nfsv3_ports lists the pinned NFSv3
    ancillary ports (the dynamic flow has none until they are pinned).
    """
    ports = list(flow.ports)
    options = port_options or {}
    if flow.port_option and options.get(flow.port_option) is not None:
        ports[0] = check_port(options[flow.port_option])
    if "nfsv3_dynamic" in flow.notes:
        ports = [check_port(p) for p in (nfsv3_ports or [])]
    return tuple(sorted(set(ports)))


def port_text(ports):
    """Ports as text, runs of three or more as ranges: (3366, 3370, 7000, ..., 8000) -> '3366, 3370, 7000-8000'."""
    runs = []
    for port in sorted(set(ports)):
        if runs and port == runs[-1][1] + 1:
            runs[-1][1] = port
        else:
            runs.append([port, port])
    return ", ".join("%d-%d" % (a, b) if b - a > 1 else ", ".join(str(p) for p in range(a, b + 1)) for a, b in runs)


def flow_as_dict(flow):
    """A plain-data view of a flow (what the lookup returns)."""
    return collections.OrderedDict([
        ("id", flow.id),
        ("source", flow.source),
        ("destination", flow.destination),
        ("protocols", list(flow.protocols)),
        ("ports", list(flow.ports)),
        ("dynamic_ports", "nfsv3_dynamic" in flow.notes),
        ("purpose", flow.purpose),
        ("feature", flow.feature),
        ("optional", flow.optional),
        ("scope", flow.scope),
        ("notes", [NOTES[n] for n in flow.notes]),
        ("note_keys", list(flow.notes)),
        ("port_option", flow.port_option),
        ("source_ref", flow.source_ref),
    ])


def select_flows(source=None, destination=None, protocol=None, port=None, feature=None,
                 flow_id=None, include_optional=False):
    """Flows matching every given filter.  Each filter takes one value or a list.

    Unknown names raise MatrixError listing the valid ones, so a typo never reads as
    "no flows".  Optional flows are left out unless include_optional is true or they
    are asked for by id or by feature.
    """
    sources = [check_component(s) for s in _as_list(source)]
    destinations = [check_component(d) for d in _as_list(destination)]
    protocols = [check_protocol(p) for p in _as_list(protocol)]
    ports = [check_port(p) for p in _as_list(port)]
    features = [check_feature(f) for f in _as_list(feature)]
    ids = [check_flow_id(i) for i in _as_list(flow_id)]
    selected = []
    for flow in FLOWS:
        if flow.optional and not (include_optional or flow.id in ids or flow.feature in features):
            continue
        if sources and flow.source not in sources:
            continue
        if destinations and flow.destination not in destinations:
            continue
        if protocols and not set(protocols) & set(flow.protocols):
            continue
        if ports and not set(ports) & set(flow.ports):
            continue
        if features and flow.feature not in features:
            continue
        if ids and flow.id not in ids:
            continue
        selected.append(flow)
    return selected


def outbound_as_dict(entry):
    """A plain-data view of an OUTBOUND entry (what the lookup returns with outbound=true)."""
    view = collections.OrderedDict(entry._asdict())
    view["destinations"] = list(entry.destinations)
    view["notes"] = [NOTES[n] for n in entry.notes]
    view["note_keys"] = list(entry.notes)
    view["direction"] = "outbound"
    return view


def select_outbound(source=None, protocol=None, port=None, outbound_id=None):
    """OUTBOUND entries matching every given filter (one value or a list each).

    Unknown names raise MatrixError listing the valid ones, as select_flows does.
    """
    sources = [check_component(s) for s in _as_list(source)]
    protocols = [check_protocol(p) for p in _as_list(protocol)]
    ports = [check_port(p) for p in _as_list(port)]
    ids = [check_outbound_id(i) for i in _as_list(outbound_id)]
    return [entry for entry in OUTBOUND
            if (not sources or entry.source in sources)
            and (not protocols or entry.protocol in protocols)
            and (not ports or entry.port in ports)
            and (not ids or entry.id in ids)]
