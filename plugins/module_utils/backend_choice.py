# -*- coding: utf-8 -*-
# Copyright: (c) 2026, portmatrix.xenserver contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which backend a host needs: never one whose rules cannot take effect, never a silent switch.

Every base chain at a hook sees a packet, and an accept ends only its own chain: rules in
iptables (iptables-nft's tables) cannot open what a native nftables input chain drops, and
nftables rules cannot open what iptables drops.  So:

- firewalld when it runs;
- an error when firewalld does not run but should (its unit is enabled, or it holds this
  collection's objects): writing iptables or nftables rules there would be silently wrong;
- nftables when a native nftables input base chain would drop or reject;
- else iptables.

A forced backend is checked the same way before anything changes."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

BACKENDS = ("auto", "iptables", "nftables", "firewalld")


class ChoiceError(RuntimeError):
    pass


def _chains(drops):
    return "; ".join("%s %s %s (%s)" % (table[0], table[1], chain, why) for table, chain, why in drops)


def choose(wanted, state, firewalld_running, firewalld_expected, native_drops):
    """The backend name.  firewalld_expected: reasons firewalld should run (see
    firewalld.expected_reasons); native_drops: [(table, chain, why)] of native nftables input
    chains that would drop or reject (nftables.Ruleset.dropping_inputs)."""
    if wanted not in BACKENDS:
        raise ChoiceError("unknown backend %r; valid: %s" % (wanted, ", ".join(BACKENDS)))
    if wanted == "auto":
        if firewalld_running:
            return "firewalld"
        if firewalld_expected:
            raise ChoiceError(
                "firewalld is not running on this host, but %s: rules written to iptables or nftables now would be "
                "replaced when it starts. Start firewalld (then backend auto uses it), or disable it and remove its "
                "portmatrix objects, or choose the backend explicitly" % " and ".join(firewalld_expected))
        return "nftables" if native_drops else "iptables"
    if wanted in ("iptables", "nftables") and firewalld_running:
        raise ChoiceError("firewalld is running on this host and owns its firewall: backend %s would be overridden "
                          "by it (or flushed at its next reload); use backend firewalld or auto" % wanted)
    if wanted == "iptables" and state == "present" and native_drops:
        raise ChoiceError("backend iptables cannot open ports on this host: the native nftables chain(s) %s drop or "
                          "reject what iptables accepts (an accept in one base chain does not stop another); use "
                          "backend nftables or auto" % _chains(native_drops))
    return wanted
