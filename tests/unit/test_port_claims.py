"""Ports handed to a test stack stay its own while a fault test has its process stopped: another session's stack
(a second pytest run on the same machine) never picks them."""

import subprocess
import sys
from pathlib import Path

import devstack_ports

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
HOLDER = f"""
import sys; sys.path.insert(0, {str(SCRIPTS)!r})
import devstack_ports
print(devstack_ports.free_port(), flush=True)
sys.stdin.read()
"""


def test_a_port_another_session_handed_out_is_skipped_even_while_nothing_listens_on_it(monkeypatch):
    holder = subprocess.Popen([sys.executable, "-c", HOLDER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        taken = int(holder.stdout.readline())
        # The next picks are other ports (several: a stack running beside this test may hold the first ones).
        others = [port for port in range(taken - 50, taken + 51) if port != taken and 20000 <= port < 32000]
        picks = iter([taken, *others])
        monkeypatch.setattr(devstack_ports.random, "randrange", lambda *_: next(picks))
        assert devstack_ports.free_port() in others  # not the one the other session holds
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)


def test_the_port_is_free_again_once_its_session_ends(monkeypatch):
    holder = subprocess.Popen([sys.executable, "-c", HOLDER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    taken = int(holder.stdout.readline())
    holder.stdin.close()
    holder.wait(timeout=10)
    monkeypatch.setattr(devstack_ports.random, "randrange", lambda *_: taken)
    assert devstack_ports.free_port() == taken
