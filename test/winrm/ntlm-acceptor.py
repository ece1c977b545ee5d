#!/usr/bin/python3
# Owned by the NTLM part of issue 12 (the rest of test/winrm/ belongs to the testbed).
# A real NTLM acceptor for test/integration/ntlm-acceptor.test.ts: gss-ntlmssp through
# python3-gssapi, standalone (NTLM_USER_FILE holds "DOMAIN:user:password" lines, no DC).
# Line protocol on stdin/stdout, one command per line, binary values in base64:
#   STEP <token>     -> "CONTINUE <token>" | "DONE <token or ->" | "FAIL <reason>"
#   UNWRAP <sig+sealed> -> "PLAIN <bytes>" | "FAIL <reason>"
#   WRAP <bytes>     -> "WRAPPED <sig+sealed>"
#   KEY              -> "KEY <session key>" (GSS_C_INQ_SSPI_SESSION_KEY) | "FAIL <reason>"
# An optional first argument, hex, is the TLS channel bindings' application data
# ('tls-server-end-point:' + certificate hash) the acceptor requires.
import base64
import sys

import gssapi
import gssapi.raw

NTLM = gssapi.OID.from_int_seq('1.3.6.1.4.1.311.2.2.10')
SESSION_KEY = gssapi.OID.from_int_seq('1.2.840.113554.1.2.2.5.5')

creds = gssapi.Credentials(usage='accept', mechs=[NTLM])
bindings = None
if len(sys.argv) > 1:
    bindings = gssapi.raw.ChannelBindings(application_data=bytes.fromhex(sys.argv[1]))
ctx = gssapi.SecurityContext(creds=creds, usage='accept', channel_bindings=bindings)


def say(*parts):
    sys.stdout.write(' '.join(parts) + '\n')
    sys.stdout.flush()


def b64(data):
    return base64.b64encode(data).decode('ascii') if data else '-'


for line in sys.stdin:
    command, _, arg = line.strip().partition(' ')
    data = base64.b64decode(arg) if arg and arg != '-' else b''
    try:
        if command == 'STEP':
            out = ctx.step(data)
            say('DONE' if ctx.complete else 'CONTINUE', b64(out))
        elif command == 'UNWRAP':
            result = ctx.unwrap(data)
            say('PLAIN', b64(result.message))
        elif command == 'WRAP':
            say('WRAPPED', b64(ctx.wrap(data, True).message))
        elif command == 'KEY':
            values = gssapi.raw.inquire_sec_context_by_oid(ctx, SESSION_KEY)
            say('KEY', b64(values[0]))
        else:
            say('FAIL', 'unknown command')
    except Exception as error:  # the test reads the reason
        say('FAIL', ' '.join(str(error).split())[:300])
