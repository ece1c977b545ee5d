#!/usr/bin/python3
"""The benchmark's baseline: python3-winrm runs N commands in one cmd shell, sealed over NTLM.

Argument: JSON {url, username, password, count}. Measures, inside this process, from the first
request (authentication) to the shell's deletion: wall time (perf_counter) and this process's CPU
time (process_time), so the interpreter's start and imports are not counted (as the Node side does
not count its own). Prints one JSON line {wallMs, cpuMs, outputs}.
"""
import json
import sys
import time

import winrm


def main():
    o = json.loads(sys.argv[1])
    wall0, cpu0 = time.perf_counter(), time.process_time()
    p = winrm.Protocol(o['url'], transport='ntlm', message_encryption='always',
                       username=o['username'], password=o['password'],
                       read_timeout_sec=30, operation_timeout_sec=20)
    shell = p.open_shell()
    ok = 0
    for i in range(o['count']):
        command = p.run_command(shell, 'echo', ['bench-%d' % i])
        out, err, code = p.get_command_output(shell, command)
        p.cleanup_command(shell, command)
        if code == 0 and out.strip() == ('bench-%d' % i).encode():
            ok += 1
    p.close_shell(shell)
    print(json.dumps({'wallMs': (time.perf_counter() - wall0) * 1000,
                      'cpuMs': (time.process_time() - cpu0) * 1000, 'outputs': ok}))


if __name__ == '__main__':
    main()
