# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.portmatrix.xenserver.plugins.module_utils import firewalld, planner

PLAN = planner.build_plan(["nfs_filer"], peers={"pool_host": ["198.51.100.11", "2001:db8::11"]}, skip_features=["nfsv3"])

INFO_POLICY = ("""pmx-input (active)
  priority: -100
  target: CONTINUE
  ingress-zones: ANY
  egress-zones: HOST
  services:
  ports:
  protocols:
  masquerade: no
  forward-ports:
  source-ports:
  icmp-blocks:
  rich rules:
\trule priority="-20" family="ipv4" source ipset="pmx-pool-host-4" port port="2049" protocol="tcp" accept
\trule priority="-20" family="ipv6" source ipset="pmx-pool-host-6" port port="2049" protocol="tcp" accept
\trule priority="-10" port port="2049" protocol="tcp" reject
""").replace(":\n", ":\x20\n")  # firewall-cmd prints "services: " with a space


def test_rich_rules_and_ipsets():
    assert firewalld.rich_rules(PLAN) == [
        'rule priority="-20" family="ipv4" source ipset="pmx-pool-host-4" port port="2049" protocol="tcp" accept',
        'rule priority="-20" family="ipv6" source ipset="pmx-pool-host-6" port port="2049" protocol="tcp" accept',
        'rule priority="-10" port port="2049" protocol="tcp" reject',
    ]
    assert firewalld.ipsets(PLAN) == {"pmx-pool-host-4": (4, ["198.51.100.11/32"]), "pmx-pool-host-6": (6, ["2001:db8::11/128"])}


def test_parse_info_matches_desired_runtime_lines():
    info = firewalld.parse_info(INFO_POLICY)
    assert info["priority"] == "-100" and info["ingress-zones"] == "ANY"
    assert sorted(info["rich rules"]) == sorted(firewalld.rich_rules(PLAN))


def test_rendered_files_read_as_the_runtime_lines_and_edits_show_as_rules():
    files = firewalld.render_files(PLAN)
    assert sorted(files) == ["ipsets/pmx-pool-host-4.xml", "ipsets/pmx-pool-host-6.xml", "policies/pmx-input.xml"]
    policy = files["policies/pmx-input.xml"]
    assert '<ingress-zone name="ANY" />' in policy or '<ingress-zone name="ANY"/>' in policy
    permanent = [l for path in sorted(files) for l in firewalld.permanent_lines(path, files[path])]
    assert sorted(permanent) == sorted(firewalld.runtime_lines(PLAN))   # permanent and runtime read alike
    assert firewalld.merged_view(permanent, firewalld.runtime_lines(PLAN)) == firewalld.runtime_lines(PLAN)
    edited = policy.replace("</policy>", '<port port="9999" protocol="tcp" /><rule><port port="8080" protocol="tcp" />'
                                         '<accept /></rule></policy>')
    lines = firewalld.permanent_lines("policies/pmx-input.xml", edited)
    assert "policy pmx-input: ports: 9999/tcp" in lines
    assert 'policy pmx-input: rule port port="8080" protocol="tcp" accept' in lines
    assert not any("<" in l for l in lines)
    view = firewalld.merged_view(lines, firewalld.runtime_lines(PLAN)[:-1])
    assert "policy pmx-input: ports: 9999/tcp  # permanent only" in view
    assert firewalld.render_files(PLAN, state="absent") == {}


def test_runtime_lines_absent_is_empty():
    assert firewalld.runtime_lines(PLAN, state="absent") == []
    assert firewalld.runtime_lines(PLAN)[0].startswith("policy pmx-input: target CONTINUE priority -100")


ZONES_RUNTIME = """block
  target: %%REJECT%%
  services:
  rich rules:
public (active)
  target: default
  icmp-block-inversion: no
  interfaces: xenbr0
  sources:
  services: dhcpv6-client https nbd ssh xenha
  ports: 8080/tcp
  protocols:
  forward: yes
  masquerade: no
  forward-ports:
  source-ports:
  icmp-blocks:
  rich rules:
\trule family="ipv4" source address="198.18.77.7" reject
"""
ZONES_PERMANENT = ZONES_RUNTIME.replace("https nbd ssh xenha", "https ssh xapi-insecure xenha").replace(
    "ports: 8080/tcp", "ports: ").replace('\trule family="ipv4" source address="198.18.77.7" reject\n', "")


def test_a_reload_keeps_what_others_changed_at_runtime_only():
    # xapi on XenServer 9 adds nbd and removes xapi-insecure (https-only) without --permanent
    commands = firewalld.runtime_only_commands(firewalld.parse_zones(ZONES_RUNTIME),
                                               firewalld.parse_zones(ZONES_PERMANENT))
    assert commands == [
        ["--zone=public", "--add-service=nbd"],
        ["--zone=public", "--remove-service=xapi-insecure"],
        ["--zone=public", "--add-port=8080/tcp"],
        ["--zone=public", '--add-rich-rule=rule family="ipv4" source address="198.18.77.7" reject'],
    ]
    assert firewalld.runtime_only_commands(firewalld.parse_zones(ZONES_RUNTIME),
                                           firewalld.parse_zones(ZONES_RUNTIME)) == []


def test_service_ports_read_the_service_files(tmp_path):
    """A service's ports come from its XML file (the first directory that has it), includes too."""
    etc, usr = tmp_path / "etc", tmp_path / "usr"
    etc.mkdir()
    usr.mkdir()
    (usr / "nfs.xml").write_text('<service><port protocol="tcp" port="2049"/><include service="rpc-bind"/></service>')
    (usr / "rpc-bind.xml").write_text('<service><port protocol="tcp" port="111"/><port protocol="udp" port="111"/></service>')
    (etc / "rpc-bind.xml").write_text('<service><port protocol="tcp" port="1111"/></service>')
    assert firewalld.service_ports("nfs", (str(etc), str(usr))) == ["2049/tcp", "1111/tcp"]
    assert firewalld.service_ports("missing", (str(etc), str(usr))) == []
