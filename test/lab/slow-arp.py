#!/usr/bin/env python3
"""A lab host that answers ARP late: run inside the host's network namespace, with the kernel's own
ARP replies switched off there (arp_ignore=8), it answers each request for ADDRESS after DELAY_MS.

usage: slow-arp.py IFACE ADDRESS DELAY_MS      (prints "ready" once it listens; ends on SIGTERM)

It reads raw ARP frames on IFACE (AF_PACKET, root), answers requests for ADDRESS only, and parses
nothing else: frames are fixed-size and bounded by the socket's recv size.
"""
import heapq
import select
import signal
import socket
import struct
import sys
import time

ETH_P_ARP = 0x0806


def main() -> None:
    iface, address, delay_ms = sys.argv[1], sys.argv[2], int(sys.argv[3])
    own_ip = socket.inet_aton(address)
    with open(f"/sys/class/net/{iface}/address", encoding="ascii") as f:
        own_mac = bytes.fromhex(f.read().strip().replace(":", ""))
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ARP))
    sock.bind((iface, ETH_P_ARP))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("ready", flush=True)
    due: list[tuple[float, bytes]] = []
    while True:
        timeout = max(0.0, due[0][0] - time.monotonic()) if due else None
        readable, _, _ = select.select([sock], [], [], timeout)
        if readable:
            frame = sock.recv(128)
            if len(frame) >= 42:
                op = struct.unpack("!H", frame[20:22])[0]
                sender_mac, sender_ip, target_ip = frame[22:28], frame[28:32], frame[38:42]
                if op == 1 and target_ip == own_ip:
                    reply = (
                        sender_mac + own_mac + struct.pack("!H", ETH_P_ARP)
                        + struct.pack("!HHBBH", 1, 0x0800, 6, 4, 2)
                        + own_mac + own_ip + sender_mac + sender_ip
                    )
                    heapq.heappush(due, (time.monotonic() + delay_ms / 1000, reply))
        while due and due[0][0] <= time.monotonic():
            sock.send(heapq.heappop(due)[1])


if __name__ == "__main__":
    main()
