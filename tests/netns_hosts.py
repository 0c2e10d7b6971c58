"""Worker hosts as Linux network namespaces: each a veth pair to this (root) namespace on a
/30 of the test's own range, so its processes reach servers on the root side's address."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from dataclasses import dataclass

SUBNET = "10.199.71"
"""The test's own addresses: host k gets SUBNET.(4k+2), the root side SUBNET.(4k+1). Nothing
but these namespaces holds them; no traffic leaves this machine."""


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


def netns_problem() -> str:
    """Why network namespaces cannot be made here ("" if they can)."""
    if os.geteuid() != 0:
        return "needs root to create network namespaces (ip netns add)"
    probe = f"aiwf-probe-{os.getpid()}"
    try:
        made = ip("netns", "add", probe, check=False)
    except FileNotFoundError:
        return "no `ip` command (iproute2; scripts/netns-deps.sh installs it)"
    if made.returncode != 0:
        return f"`ip netns add` failed here: {made.stderr.strip()}"
    ip("netns", "del", probe, check=False)
    return ""


@dataclass
class NetnsHost:
    """One worker host: namespace `name`, its address `address`, the root side's `gateway`."""

    index: int
    tag: str

    @property
    def name(self) -> str:
        return f"aiwf{self.tag}h{self.index}"

    @property
    def gateway(self) -> str:
        return f"{SUBNET}.{4 * self.index + 1}"

    @property
    def address(self) -> str:
        return f"{SUBNET}.{4 * self.index + 2}"

    @property
    def _veth(self) -> tuple[str, str]:
        return f"va{self.tag}{self.index}", f"vb{self.tag}{self.index}"

    def create(self) -> None:
        outer, inner = self._veth
        ip("netns", "add", self.name)
        ip("link", "add", outer, "type", "veth", "peer", "name", inner)
        ip("link", "set", inner, "netns", self.name)
        ip("addr", "add", f"{self.gateway}/30", "dev", outer)
        ip("link", "set", outer, "up")
        inside = ("netns", "exec", self.name, "ip")
        ip(*inside, "addr", "add", f"{self.address}/30", "dev", inner)
        ip(*inside, "link", "set", inner, "up")
        ip(*inside, "link", "set", "lo", "up")
        # Every server the test starts listens on host 0's gateway: the other hosts reach it
        # through their own gateway (the root namespace answers for all its addresses).
        ip(*inside, "route", "add", "default", "via", self.gateway)

    def pids(self) -> list[int]:
        found = ip("netns", "pids", self.name, check=False)
        return [int(pid) for pid in found.stdout.split()]

    def kill(self) -> None:
        """The host dies: every process in it, at once, without a chance to say goodbye."""
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError):  # ended meanwhile
                os.kill(pid, signal.SIGKILL)

    def destroy(self) -> None:
        self.kill()
        ip("link", "del", self._veth[0], check=False)  # also removes the peer inside
        ip("netns", "del", self.name, check=False)
