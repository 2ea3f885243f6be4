# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.portmatrix.xenserver.plugins.module_utils import iptables, planner

from netfilter_fake import DOM0, FakeIptables

PLAN = planner.build_plan(["pool_host"], peers={"xencenter": ["198.51.100.50"]},
                          pool_peers=["198.51.100.11"], clustered=True, guards=[("127.0.0.1", "22")])


def test_parse_filter_table_ignores_other_tables():
    table = iptables.parse_filter_table(DOM0)
    assert list(table.chains) == ["INPUT", "FORWARD", "OUTPUT", "RH-Firewall-1-INPUT", "xapi-INPUT"]
    assert table.rules["INPUT"] == ["-A INPUT -j xapi-INPUT", "-A INPUT -j RH-Firewall-1-INPUT"]
    assert all("REDIRECT" not in r for rules in table.rules.values() for r in rules)


def test_jump_goes_after_xapi_before_the_stock_chain():
    assert iptables.jump_index(iptables.parse_filter_table(DOM0)) == 1
    debian = "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -i lo -j ACCEPT\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n-A INPUT -j REJECT\nCOMMIT\n"
    assert iptables.jump_index(iptables.parse_filter_table(debian)) == 2
    empty = "*filter\n:INPUT DROP [0:0]\n-A INPUT -i lo -j ACCEPT\nCOMMIT\n"
    assert iptables.jump_index(iptables.parse_filter_table(empty)) == 1


def test_render_chains_accepting_and_reject_only():
    chains = iptables.render_chains(PLAN, 4)
    entry = chains["PMX-INPUT"]
    assert entry[0] == "-A PMX-INPUT -i lo -j RETURN"
    assert entry[1] == "-A PMX-INPUT -s 127.0.0.1/32 -p tcp -m tcp --dport 22 -j ACCEPT"
    assert "-A PMX-INPUT -s 198.51.100.11/32 -j PMX-pool_member" in entry
    assert not any("REJECT" in rule for rule in entry)          # the accepting chain never rejects
    assert chains["PMX-xencenter"] == [
        '-A PMX-xencenter -p tcp -m multiport --dports 22,443 -m comment --comment "xencenter_api,xencenter_ssh" -j ACCEPT']
    assert chains["PMX-RESTRICT"] == [
        "-A PMX-RESTRICT -i lo -j RETURN",
        "-A PMX-RESTRICT -s 127.0.0.1/32 -p tcp -m tcp --dport 22 -j RETURN",
        "-A PMX-RESTRICT -s 198.51.100.11/32 -g PMX-ALLOW-1",      # xencenter reaches no restricted port
        "-A PMX-RESTRICT -j PMX-REJECT"]
    assert chains["PMX-ALLOW-1"] == [
        "-A PMX-ALLOW-1 -p tcp -m multiport --dports 8892,21064 -m comment --comment clustering_tcp -j RETURN",
        "-A PMX-ALLOW-1 -p udp -m multiport --dports 5404,5405 -m comment --comment clustering_udp -j RETURN",
        "-A PMX-ALLOW-1 -j PMX-REJECT"]
    assert chains["PMX-REJECT"][-1].endswith("--dports 5404,5405 -m conntrack --ctstate NEW -m comment --comment clustering_udp "
                                             "-j REJECT --reject-with icmp-port-unreachable")
    assert not any("ACCEPT" in r for name in ("PMX-RESTRICT", "PMX-ALLOW-1", "PMX-REJECT") for r in chains[name])
    six = iptables.render_chains(PLAN, 6)
    assert list(six) == ["PMX-INPUT", "PMX-RESTRICT", "PMX-REJECT"]  # no IPv6 peers: nobody allowed
    assert six["PMX-REJECT"][-1].endswith("icmp6-port-unreachable")
    open_plan = planner.build_plan(["pool_host"], pool_peers=["198.51.100.11"], reject_unmatched=False)
    assert list(iptables.render_chains(open_plan, 4)) == ["PMX-INPUT", "PMX-pool_member"]


def test_address_classes_most_specific_first_with_every_group():
    plan = planner.build_plan(["pool_host"], peers={"xencenter": ["203.0.113.5"], "api_client": ["203.0.113.0/24"]},
                              pool_peers=["203.0.113.7"], public_ports=[])
    assert iptables.address_classes(plan, 4) == [
        ("203.0.113.5/32", ("api_client", "xencenter")), ("203.0.113.7/32", ("api_client", "pool_member")),
        ("203.0.113.0/24", ("api_client",))]
    restrict = iptables.render_chains(plan, 4)["PMX-RESTRICT"]
    assert restrict[1:4] == ["-A PMX-RESTRICT -s 203.0.113.5/32 -g PMX-ALLOW-1", "-A PMX-RESTRICT -s 203.0.113.7/32 -g PMX-ALLOW-2",
                             "-A PMX-RESTRICT -s 203.0.113.0/24 -g PMX-ALLOW-3"]


def test_comments_as_iptables_save_prints_them():
    assert iptables.comment(["b", "a"]) == ' -m comment --comment "a,b"'
    assert iptables.comment(["clustering_tcp"]) == " -m comment --comment clustering_tcp"
    assert iptables.comment(["extra:web"]) == ' -m comment --comment "extra:web"'
    assert iptables.comment([]) == ""
    assert len(iptables.comment(["flow%03d" % i for i in range(100)])) < 280


def test_multiport_chunks_of_fifteen():
    plan = planner.build_plan(["license_server"], extra_rules=[
        {"name": "many", "sources": ["192.0.2.1"], "protocol": "tcp", "ports": list(range(9000, 9020))}])
    rules = iptables.render_chains(plan, 4)["PMX-many"]
    assert len(rules) == 2 and rules[0].count(",") == 14


def applied(text, plan=PLAN, state="present"):
    fake = FakeIptables(text)
    table = iptables.parse_filter_table(fake.save())
    assert fake.run(["iptables-restore", "--noflush"], iptables.restore_payload(plan, 4, table, state))[0] == 0
    return fake


def test_payload_noflush_transaction_two_jumps():
    table = iptables.parse_filter_table(DOM0)
    lines = iptables.restore_payload(PLAN, 4, table).splitlines()
    assert lines[0] == "*filter" and lines[-1] == "COMMIT"
    assert ":PMX-INPUT - [0:0]" in lines and ":PMX-RESTRICT - [0:0]" in lines
    # the restrict jump on top, the accepting one before the stock chain (after xapi-INPUT)
    assert lines[-3:-1] == ["-I INPUT 1 -j PMX-RESTRICT", "-I INPUT 3 -j PMX-INPUT"]
    assert not any(l.startswith(("-F", "-P")) or "RH-Firewall" in l or "xapi" in l for l in lines)
    fake = applied(DOM0)
    assert iptables.parse_filter_table(fake.save()).rules["INPUT"] == [
        "-A INPUT -j PMX-RESTRICT", "-A INPUT -j xapi-INPUT", "-A INPUT -j PMX-INPUT", "-A INPUT -j RH-Firewall-1-INPUT"]


def view_and_want(fake, plan=PLAN):
    table = iptables.parse_filter_table(fake.save())
    return iptables.owned_view(table, plan.restricted), iptables.desired_view(plan, 4, table)


def test_views_detect_moved_jump_stray_rule_and_stale_chain():
    fake = applied(DOM0)
    now, want = view_and_want(fake)
    assert now == want
    fake.run(["iptables-restore"], "*filter\n-D INPUT -j PMX-INPUT\n-A INPUT -j PMX-INPUT\n"
                                   "-I PMX-INPUT 1 -p tcp -m tcp --dport 9999 -j ACCEPT\n:PMX-old - [0:0]\nCOMMIT\n")
    now, want = view_and_want(fake)
    assert "-A INPUT -j PMX-INPUT  # after 2 rule(s) of INPUT" in now and "-A INPUT -j PMX-INPUT  # after 1 rule(s) of INPUT" in want
    assert "-A PMX-INPUT -p tcp -m tcp --dport 9999 -j ACCEPT" in now and ":PMX-old" in now
    payload = iptables.restore_payload(PLAN, 4, iptables.parse_filter_table(fake.save()))
    assert payload.index("-X PMX-old") > payload.index("-I INPUT")
    fake.run(["iptables-restore", "--noflush"], payload)
    assert view_and_want(fake)[0] == view_and_want(fake)[1]


def test_a_foreign_accept_above_moves_the_restrict_jump_and_is_reported():
    fake = applied(DOM0)
    fake.run(["iptables-restore"], "*filter\n-I INPUT 1 -p tcp -m tcp --dport 21064 -j ACCEPT\nCOMMIT\n")
    table = iptables.parse_filter_table(fake.save())
    assert iptables.shadowing(table, PLAN.restricted) == ["-A INPUT -p tcp -m tcp --dport 21064 -j ACCEPT"]
    now, want = view_and_want(fake)
    assert "-A INPUT -j PMX-RESTRICT  # below -A INPUT -p tcp -m tcp --dport 21064 -j ACCEPT" in now
    assert "-A INPUT -j PMX-RESTRICT  # above every rule that can accept a restricted port" in want
    fake.run(["iptables-restore", "--noflush"], iptables.restore_payload(PLAN, 4, table))
    assert iptables.parse_filter_table(fake.save()).rules["INPUT"][:2] == [
        "-A INPUT -j PMX-RESTRICT", "-A INPUT -p tcp -m tcp --dport 21064 -j ACCEPT"]
    assert view_and_want(fake)[0] == view_and_want(fake)[1]


def test_fail2ban_on_top_and_harmless_accepts_are_no_drift():
    fake = applied(DOM0)
    fake.run(["iptables-restore"], "*filter\n:f2b-sshd - [0:0]\n-A f2b-sshd -s 198.51.100.11/32 -j REJECT\n"
                                   "-A f2b-sshd -j RETURN\n-I INPUT 1 -p tcp -m multiport --dports 22 -j f2b-sshd\n"
                                   "-I INPUT 1 -i lo -j ACCEPT\n-I INPUT 1 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n"
                                   "-I INPUT 1 -p tcp -m tcp --dport 22 -j ACCEPT\n-I INPUT 1 -p udp -m udp --dport 694 -j ACCEPT\nCOMMIT\n")
    now, want = view_and_want(fake)
    assert now == want
    assert iptables.shadowing(iptables.parse_filter_table(fake.save()), PLAN.restricted) == []


def test_bans_stay_above_the_accepting_jump():
    text = DOM0.replace("-A INPUT -j RH-Firewall-1-INPUT\n", "-A INPUT -s 198.51.100.11/32 -j DROP\n"
                        "-A INPUT -m conntrack --ctstate INVALID -j DROP\n-A INPUT -j RH-Firewall-1-INPUT\n")
    assert iptables.jump_index(iptables.parse_filter_table(text)) == 3
    assert iptables.jump_index(iptables.parse_filter_table(text.replace("-A INPUT -j RH-Firewall-1-INPUT\n",
                                                                        "-A INPUT -p tcp -j REJECT\n"))) == 3
    new_only = text.replace("-A INPUT -j RH-Firewall-1-INPUT\n", "-A INPUT -m state --state NEW -j REJECT\n")
    assert iptables.jump_index(iptables.parse_filter_table(new_only)) == 3   # rejects every new connection: the end


def test_absent_payload_removes_only_owned():
    fake = applied(DOM0)
    fake.run(["iptables-restore", "--noflush"],
             iptables.restore_payload(PLAN, 4, iptables.parse_filter_table(fake.save()), state="absent"))
    assert fake.save() == FakeIptables(DOM0).save()
    assert iptables.desired_view(PLAN, 4, iptables.parse_filter_table(fake.save()), state="absent") == []


def test_rule_count_for_8_and_64_pool_peers():
    def count(n):
        plan = planner.build_plan(["pool_host"], pool_peers=["10.1.%d.%d" % (i // 250, i % 250 + 1) for i in range(n)],
                                  peers={"xencenter": ["10.2.0.1"]}, clustered=True)
        table = iptables.parse_filter_table(DOM0)
        return iptables.count_rules(iptables.desired_view(plan, 4, table))
    # two dispatch rules per added peer (the accepting and the reject-only chain), nothing per port
    assert count(64) - count(8) == 2 * 56
    assert count(64) < 2 * 64 + 30


SAVED = "# Generated by iptables-save v1.4.21 on Tue\n" + DOM0.replace(":INPUT ACCEPT [10:200]", ":INPUT ACCEPT [123:4567]") + \
    "# Completed on Tue\n*mangle\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j MARK --set-xmark 0x1/0xffffffff\nCOMMIT\n"


def merged(text, plan=PLAN, state="present"):
    table = iptables.parse_filter_table(text)
    if state != "present":
        return iptables.merge_saved(text, [], [])
    return iptables.merge_saved(text, list(iptables.render_chains(plan, 4).items()), iptables.desired_jumps(plan, table))


def test_saved_file_merge_changes_only_our_lines_and_absent_gives_the_bytes_back():
    text = merged(SAVED)
    table = iptables.parse_filter_table(text)
    assert iptables.owned_view(table, PLAN.restricted) == iptables.desired_view(PLAN, 4, table)
    assert [l for l in text.splitlines(True) if "PMX-" not in l] == SAVED.splitlines(True)   # others as they were
    assert table.rules["INPUT"] == ["-A INPUT -j PMX-RESTRICT", "-A INPUT -j xapi-INPUT", "-A INPUT -j PMX-INPUT",
                                    "-A INPUT -j RH-Firewall-1-INPUT"]
    assert merged(text) == text                                   # a second save changes nothing
    other = planner.build_plan(["pool_host"], pool_peers=["198.51.100.99"], public_ports=[])
    assert [l for l in merged(text, other).splitlines(True) if "PMX-" not in l] == SAVED.splitlines(True)
    assert merged(merged(text, other), state="absent") == SAVED


def test_saved_file_merge_keeps_docker_fail2ban_and_ufw_lines():
    ufw = ("*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:ufw-before-input - [0:0]\n"
           ":ufw-track-input - [0:0]\n:DOCKER-USER - [0:0]\n:f2b-sshd - [0:0]\n-A INPUT -p tcp -m multiport --dports 22 -j f2b-sshd\n"
           "-A INPUT -j ufw-before-input\n-A INPUT -j ufw-track-input\n-A FORWARD -j DOCKER-USER\n"
           "-A ufw-before-input -i lo -j ACCEPT\n-A f2b-sshd -s 192.0.2.7/32 -j REJECT --reject-with icmp-port-unreachable\n"
           "-A f2b-sshd -j RETURN\nCOMMIT\n*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -s 198.19.0.0/16 ! -o docker0 -j MASQUERADE\nCOMMIT\n")
    text = merged(ufw)
    assert iptables.parse_filter_table(text).rules["INPUT"] == [
        "-A INPUT -j PMX-RESTRICT", "-A INPUT -p tcp -m multiport --dports 22 -j f2b-sshd", "-A INPUT -j ufw-before-input",
        "-A INPUT -j ufw-track-input", "-A INPUT -j PMX-INPUT"]   # appended: ufw relies on the INPUT policy
    assert merged(text, state="absent") == ufw


def test_saved_file_merge_without_a_filter_table():
    assert merged("*nat\nCOMMIT", state="absent") == "*nat\nCOMMIT"
    text = merged("*nat\nCOMMIT\n")
    assert text.startswith("*nat\nCOMMIT\n*filter\n:PMX-INPUT - [0:0]\n") and text.endswith("COMMIT\n")
    assert "-A INPUT -j PMX-INPUT\n" in text


def test_common_criteria_drops_per_bridge_stay_above_the_accepting_jump():
    """host-installer common_criteria_firewall_rules: INPUT policy DROP, each bridge ends with its own
    DROP. The accepts go below every one of them, so they open nothing the CC rules drop."""
    cc = ("*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT DROP [0:0]\n-A INPUT -i lo -j ACCEPT\n"
          "-A INPUT -i xenbr0 -p tcp -m tcp --dport 443 -m state --state NEW -j ACCEPT\n"
          "-A INPUT -i xenbr0 -m state --state RELATED,ESTABLISHED -j ACCEPT\n-A INPUT -i xenbr0 -j DROP\n"
          "-A INPUT -i xenbr1 -m state --state RELATED,ESTABLISHED -j ACCEPT\n-A INPUT -i xenbr1 -j DROP\nCOMMIT\n")
    assert iptables.jump_index(iptables.parse_filter_table(cc)) == 6
