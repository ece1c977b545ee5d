#!/usr/bin/python3
"""python3-winrm, an independent WinRM client, runs one cmd shell against the test bed's endpoint.

Arguments: a JSON object {url, username, password, encryption ('always'|'never'|'auto'), command, arguments,
transport ('ntlm' default, or 'basic'), ca (HTTPS: the endpoint's certificate, checked with its name),
stdin (a list of base64 chunks, each sent in its own rsp:Send, the last one with End="true")}.
Prints one JSON line: {ok: true, stdout, stderr, code} or {ok: false, error: <exception class>, message}.
"""
import base64
import json
import sys

import winrm
import winrm.exceptions
import xmltodict

SHELL = 'http://schemas.microsoft.com/wbem/wsman/1/windows/shell'


def send_stdin(p, shell, command, chunk, end):
    # python3-winrm 0.3 has no stdin call: the Send message as its later versions build it.
    req = {'env:Envelope': p._get_soap_header(resource_uri=SHELL + '/cmd', action=SHELL + '/Send', shell_id=shell)}
    stream = req['env:Envelope'].setdefault('env:Body', {}).setdefault('rsp:Send', {}).setdefault('rsp:Stream', {})
    stream['@Name'] = 'stdin'
    stream['@CommandId'] = command
    stream['#text'] = chunk
    if end:
        stream['@End'] = 'true'
    p.send_message(xmltodict.unparse(req))


def main():
    o = json.loads(sys.argv[1])
    try:
        p = winrm.Protocol(o['url'], transport=o.get('transport', 'ntlm'), message_encryption=o['encryption'],
                           username=o['username'], password=o['password'],
                           server_cert_validation='validate' if o.get('ca') else 'ignore', ca_trust_path=o.get('ca'),
                           read_timeout_sec=30, operation_timeout_sec=20)
        shell = p.open_shell()
        command = p.run_command(shell, o['command'], o.get('arguments', []))
        chunks = o.get('stdin', [])
        for i, chunk in enumerate(chunks):
            send_stdin(p, shell, command, chunk, i == len(chunks) - 1)
        out, err, code = p.get_command_output(shell, command)
        p.cleanup_command(shell, command)
        p.close_shell(shell)
        print(json.dumps({'ok': True, 'stdout': base64.b64encode(out).decode(), 'stderr': base64.b64encode(err).decode(),
                          'code': code}))
    except Exception as e:  # the test asserts on the class name: the client's own classification
        print(json.dumps({'ok': False, 'error': type(e).__name__, 'message': str(e)[:500]}))


if __name__ == '__main__':
    main()
