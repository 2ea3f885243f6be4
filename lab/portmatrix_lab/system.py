"""Small wrappers around ip, nsenter and /proc: every wait here is bounded."""

import os
import signal
import subprocess
import time


class LabError(RuntimeError):
    """Building or using the lab failed."""


def run(argv, check=True, timeout=60, stdin_text=None):
    """Run a command, return CompletedProcess (text); raise LabError with its stderr when check fails."""
    try:
        done = subprocess.run(argv, input=stdin_text, capture_output=True, text=True, timeout=timeout, check=False, cwd='/')
    except subprocess.TimeoutExpired as exc:
        raise LabError('timed out after %ss: %s' % (timeout, ' '.join(argv))) from exc
    if check and done.returncode != 0:
        raise LabError('%s: exit %d: %s' % (' '.join(argv), done.returncode, (done.stderr or done.stdout).strip()))
    return done


def spawn(argv, log_path):
    """Start a detached daemon (own session, reparented to init) and return its pid.

    The tools in argv (setsid, ip netns exec, unshare, nsenter without --fork) all exec in
    place, so the pid printed by the shell is the daemon's own.
    """
    script = 'setsid "$@" </dev/null >>"$0" 2>&1 & echo $!'
    return int(run(['sh', '-c', script, log_path] + list(argv), timeout=10).stdout.strip())


def wait_until(predicate, timeout, what, interval=0.1):
    """Poll predicate until it returns something true; raise LabError after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise LabError('timed out after %ss waiting for %s' % (timeout, what))
        time.sleep(interval)


def netns_list(prefix):
    out = run(['ip', 'netns', 'list'], timeout=10).stdout
    return sorted(line.split()[0] for line in out.splitlines() if line.startswith(prefix))


def netns_pids(ns):
    done = run(['ip', 'netns', 'pids', ns], check=False, timeout=10)
    return [int(pid) for pid in done.stdout.split() if pid.isdigit()]


def netns_inode(ns):
    try:
        return os.stat('/run/netns/' + ns).st_ino
    except OSError:
        return None


def pid_alive(pid):
    """True when pid exists and is not a zombie."""
    try:
        with open('/proc/%d/stat' % pid, encoding='utf-8') as handle:
            return handle.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except (OSError, IndexError):
        return False


def pid_in_netns(pid, ns, needle):
    """True when pid lives in netns ns and its command line contains needle."""
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as handle:
            cmdline = handle.read().replace(b'\0', b' ').decode('utf-8', 'replace')
        in_ns = os.stat('/proc/%d/ns/net' % pid).st_ino == netns_inode(ns)
    except OSError:
        return False
    return in_ns and needle in cmdline and pid_alive(pid)


def kill_pids(pids, grace=5.0):
    """SIGTERM the given pids, wait up to grace seconds, then SIGKILL what is left."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 3.0)):
        left = [pid for pid in pids if pid_alive(pid)]
        for pid in left:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + wait
        while left and time.monotonic() < deadline:
            time.sleep(0.05)
            left = [pid for pid in left if pid_alive(pid)]
        if not left:
            return []
    return left


def in_host(holder, argv, mount=True):
    """argv to run inside a lab host: its netns and (by default) its mount and UTS namespaces."""
    return ['nsenter', '-t', str(holder)] + (['-m', '-u'] if mount else []) + ['-n', '--'] + list(argv)


def listening(pid, proto, port):
    """True when a socket of pid's netns listens on port (read from /proc, no subprocess)."""
    state = '0A' if proto == 'tcp' else '07'
    for name in (proto, proto + '6'):
        try:
            with open('/proc/%d/net/%s' % (pid, name), encoding='utf-8') as handle:
                for line in handle.readlines()[1:]:
                    fields = line.split()
                    if int(fields[1].rsplit(':', 1)[1], 16) == port and fields[3] == state:
                        return True
        except OSError:
            continue
    return False
