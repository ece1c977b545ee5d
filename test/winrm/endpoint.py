#!/usr/bin/python3
"""A WinRM HTTP endpoint for Patchdeck's tests: a real NTLM acceptor, real sealing, Windows' SOAP.

Run with Debian's /usr/bin/python3 (python3-gssapi, gss-ntlmssp, python3-yaml). It binds 127.0.0.1 only
and prints one line `PORT <n>` on stdout when it listens. Then, per request:

- the 401 Negotiate / NTLM handshake is done by gss-ntlmssp (GSSAPI mechanism 1.3.6.1.4.1.311.2.2.10), one
  security context per TCP connection (a new connection must authenticate again). Raw NTLMSSP tokens go to the
  NTLM mechanism, anything else (SPNEGO) to the SPNEGO mechanism, which also takes Kerberos tickets when
  KRB5_KTNAME names the keytab of HTTP/win1.patchdeck.test (login only: Kerberos-sealed bodies are not
  implemented, they fail to decrypt and are refused). The password is checked by the acceptor:
  against the Samba DC through winbind (--acceptor domain) or against an NTLM_USER_FILE (--acceptor FILE).
- over HTTP every SOAP body must be sealed (MS-WSMV 2.2.9.1.1 multipart/encrypted). A plaintext body is
  recorded and refused with HTTP 400 without being processed, like a Windows with AllowUnencrypted=false.
- over HTTPS (--cert/--key) plain SOAP inside TLS is accepted too, and Basic (checked against --basic-users,
  or the DC through wbinfo) as well as NTLM with channel bindings (tls-server-end-point): the acceptor refuses a
  wrong binding; a missing one is accepted (Windows' default CbtHardeningLevel=Relaxed) unless --strict-cbt.
- replay mode (--replay FILE.yml) answers the recorded responses IN RECORDED ORDER, RelatesTo rewritten to the
  request's MessageID; a recorded s:Fault goes out with HTTP 500; a request whose action is not the recorded
  one gets a fault (and is recorded as a mismatch).
- backend mode (--backend http://127.0.0.1:N) POSTs each decrypted SOAP body to the backend, which answers JSON
  {"status": 200|500, "body": "<soap>"} or {"drop": true} (the TCP connection is closed without an answer).
- a POST with `WSMANIDENTIFY: unauthenticated` and no Authorization gets an IdentifyResponse (vendor Microsoft
  Corporation, --identify version) without authentication, like Windows; --identify '' refuses it (401).
- GET /testbed/requests (no authentication, this is a test bed on loopback) returns, as JSON, every request
  seen: {action, encrypted, tls, status, refused, reason, connection}.

Everything is bounded: request bodies are capped at 1 MiB, header lines by http.server, sockets time out.
"""

import argparse
import base64
import hashlib
import http.client
import ipaddress
import json
import os
import re
import socket
import ssl
import struct
import subprocess
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import gssapi
import gssapi.raw

NTLM_OID = gssapi.OID.from_int_seq('1.3.6.1.4.1.311.2.2.10')
SPNEGO_OID = gssapi.OID.from_int_seq('1.3.6.1.5.5.2')
MAX_BODY = 1024 * 1024
SOCKET_TIMEOUT_S = 60
BOUNDARY = b'--Encrypted Boundary'
SPNEGO_PROTOCOL = b'application/HTTP-SPNEGO-session-encrypted'
KERBEROS_PROTOCOL = b'application/HTTP-Kerberos-session-encrypted'
ENCRYPTED_CT = 'multipart/encrypted;protocol="application/HTTP-SPNEGO-session-encrypted";boundary="Encrypted Boundary"'

ACTION_RE = re.compile(rb'<(?:[A-Za-z0-9_]+:)?Action\b[^>]{0,200}>\s*([^<\s]{1,300})\s*</')
MESSAGE_ID_RE = re.compile(rb'<(?:[A-Za-z0-9_]+:)?MessageID\b[^>]{0,200}>\s*([^<\s]{1,200})\s*</')
RELATES_TO_RE = re.compile(r'(<(?:[A-Za-z0-9_]+:)?RelatesTo\b[^>]{0,200}>)[^<]{0,200}(</)')


class State:
    """What the whole endpoint shares between connections."""

    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.log = []
        self.replay = None
        self.replay_index = 0
        self.connections = 0
        if args.replay:
            import yaml

            with open(args.replay, 'r', encoding='utf-8') as f:
                data = yaml.safe_load(f)
            messages = data.get('messages') if isinstance(data, dict) else None
            if not isinstance(messages, list) or not messages:
                raise SystemExit('replay file has no messages: ' + args.replay)
            # Derived scenarios (test/fixtures/winrm/scenarios/) may mark a message `optional: true` (skipped
            # when the client sends something else, e.g. a Signal after a fault) or `repeat: true` (answers
            # every consecutive request with its action, e.g. stdin sent in several Sends). Recordings are strict.
            self.replay = [(m['request'], m['response'], bool(m.get('optional')), bool(m.get('repeat')))
                           for m in messages]
        self.basic_users = {}
        if args.basic_users:
            self.basic_users = read_user_file(args.basic_users)

    def record(self, entry):
        with self.lock:
            if len(self.log) < 100000:
                self.log.append(entry)

    def next_reply(self, action):
        """The recorded reply for this request: (recorded action, response), (None, None) when exhausted."""
        with self.lock:
            if self.replay_index > 0:
                request, response, _, repeat = self.replay[self.replay_index - 1]
                if repeat and action_of(request.encode('utf-8')) == action:
                    return action, response
            i = self.replay_index
            while i < len(self.replay):
                request, response, optional, _ = self.replay[i]
                recorded = action_of(request.encode('utf-8'))
                if recorded == action or not optional:
                    self.replay_index = i + 1
                    return recorded, response
                i += 1
            self.replay_index = i
            return None, None


def read_user_file(path):
    users = {}
    with open(path, 'r', encoding='utf-8') as f:
        for line in f:
            line = line.rstrip('\r\n')
            parts = line.split(':', 2)
            if len(parts) == 3:
                users[parts[1].lower()] = (parts[0], parts[2])
    return users


def action_of(soap):
    m = ACTION_RE.search(soap[:65536])
    return m.group(1).decode('utf-8', 'replace') if m else ''


def message_id_of(soap):
    m = MESSAGE_ID_RE.search(soap[:65536])
    return m.group(1).decode('utf-8', 'replace') if m else None


def fault_envelope(relates_to, subcode, wsman_code, text):
    safe = text.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')
    return (
        '<s:Envelope xml:lang="en-US" xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
        'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
        'xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"><s:Header>'
        '<a:Action>http://schemas.dmtf.org/wbem/wsman/1/wsman/fault</a:Action>'
        '<a:MessageID>uuid:00000000-0000-4000-8000-000000000000</a:MessageID>'
        '<a:RelatesTo>' + (relates_to or '') + '</a:RelatesTo></s:Header><s:Body><s:Fault>'
        '<s:Code><s:Value>s:Sender</s:Value><s:Subcode><s:Value>' + subcode + '</s:Value></s:Subcode></s:Code>'
        '<s:Reason><s:Text xml:lang="en-US">' + safe + '</s:Text></s:Reason>'
        '<s:Detail><f:WSManFault xmlns:f="http://schemas.microsoft.com/wbem/wsman/1/wsmanfault" Code="'
        + str(wsman_code) + '" Machine="testbed"><f:Message>' + safe + '</f:Message></f:WSManFault>'
        '</s:Detail></s:Fault></s:Body></s:Envelope>'
    )


def parse_encrypted(body, content_type):
    """MS-WSMV 2.2.9.1.1: returns (protocol, declared_length, signature, sealed) or raises ValueError."""
    if not content_type.lower().startswith('multipart/encrypted'):
        raise ValueError('not multipart/encrypted')
    if not body.startswith(BOUNDARY):
        raise ValueError('body does not start with the boundary')
    marker = b'application/octet-stream\r\n'
    first_end = body.find(BOUNDARY, len(BOUNDARY), 4096)
    if first_end < 0:
        raise ValueError('no second boundary')
    header = body[len(BOUNDARY):first_end]
    if SPNEGO_PROTOCOL in header:
        protocol = SPNEGO_PROTOCOL
    elif KERBEROS_PROTOCOL in header:
        protocol = KERBEROS_PROTOCOL
    else:
        raise ValueError('unknown protocol in the first part')
    m = re.search(rb'Length=(\d{1,9})', header)
    if not m:
        raise ValueError('no Length= in OriginalContent')
    declared = int(m.group(1))
    data_start = body.find(marker, first_end, first_end + 4096)
    if data_start < 0:
        raise ValueError('no application/octet-stream part')
    data_start += len(marker)
    if len(body) < data_start + 4:
        raise ValueError('truncated signature length')
    (sig_len,) = struct.unpack('<I', body[data_start:data_start + 4])
    if sig_len > 1024:
        raise ValueError('signature too long')
    sig = body[data_start + 4:data_start + 4 + sig_len]
    sealed_start = data_start + 4 + sig_len
    sealed = body[sealed_start:sealed_start + declared]
    trailer = body[sealed_start + declared:]
    if len(sig) != sig_len or len(sealed) != declared:
        raise ValueError('truncated sealed data')
    if trailer.rstrip(b'\r\n') != BOUNDARY + b'--':
        raise ValueError('bad trailer after the sealed data')
    return protocol, declared, sig, sealed


def build_encrypted(protocol, sig, sealed, plain_len):
    return (
        BOUNDARY + b'\r\n\tContent-Type: ' + protocol + b'\r\n'
        b'\tOriginalContent: type=application/soap+xml;charset=UTF-8;Length=' + str(plain_len).encode() + b'\r\n'
        + BOUNDARY + b'\r\n\tContent-Type: application/octet-stream\r\n'
        + struct.pack('<I', len(sig)) + sig + sealed + BOUNDARY + b'--\r\n'
    )


def ntlm_in(token):
    """The raw NTLMSSP message of a token (raw, or found inside a SPNEGO wrapper), or None."""
    at = token.find(b'NTLMSSP\x00', 0, 4096)
    return token[at:] if at >= 0 else None


def is_ntlm_authenticate(token):
    m = ntlm_in(token)
    return m is not None and m[8:12] == b'\x03\x00\x00\x00'


def has_channel_binding(token):
    """Whether an NTLMv2 AUTHENTICATE carries a non-zero MsvAvChannelBindings AV pair (MS-NLMP 2.2.2.1)."""
    m = ntlm_in(token)
    if m is None or len(m) < 28:
        return False
    length, _, offset = struct.unpack('<HHI', m[20:28])  # NtChallengeResponseFields
    nt = m[offset:offset + length]
    if length < 48 or len(nt) != length:
        return False
    at = 16 + 28  # NTProofStr, then RespType..ChallengeFromClient..Reserved3 of NTLMv2_CLIENT_CHALLENGE
    while at + 4 <= len(nt):
        av_id, av_len = struct.unpack('<HH', nt[at:at + 4])
        if av_id == 0:  # MsvAvEOL
            return False
        if av_id == 0x000A:  # MsvAvChannelBindings
            value = nt[at + 4:at + 4 + av_len]
            return len(value) == 16 and value != bytes(16)
        at += 4 + av_len
    return False


def tls_end_point_hash(der):
    # RFC 5929 4.1: the certificate's signature hash, with MD5 and SHA-1 replaced by SHA-256.
    # The test certificates are signed with SHA-256 (or SHA-384/512, checked by OID below).
    algos = {
        bytes.fromhex('2a864886f70d01010c'): 'sha384',  # sha384WithRSAEncryption
        bytes.fromhex('2a864886f70d01010d'): 'sha512',  # sha512WithRSAEncryption
        bytes.fromhex('2a8648ce3d040303'): 'sha384',  # ecdsa-with-SHA384
        bytes.fromhex('2a8648ce3d040304'): 'sha512',  # ecdsa-with-SHA512
    }
    name = 'sha256'
    tail = der[-600:]
    for oid, algo in algos.items():
        if oid in tail:
            name = algo
    return hashlib.new(name, der).digest()


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    # HTTP.sys sends a reply in one go; Python writes headers and body apart, and Nagle with delayed
    # ACKs would then stall every exchange by ~40 ms, for every client alike.
    disable_nagle_algorithm = True
    server_version = 'Microsoft-HTTPAPI/2.0'
    sys_version = ''
    timeout = SOCKET_TIMEOUT_S

    def setup(self):
        super().setup()
        if isinstance(self.connection, ssl.SSLSocket):
            # The TLS handshake runs here, in the connection's thread, so a stalled client blocks nobody.
            self.connection.do_handshake()
        st = self.server.state
        with st.lock:
            st.connections += 1
            self.conn_no = st.connections
        self.ctx = None
        self.ctx_scheme = None
        self.final_token = None
        self.backend_conn = None
        self.authenticated = False
        self.basic_user = None

    def log_message(self, fmt, *args):  # quiet: the test reads /testbed/requests
        return

    # ---- plumbing -------------------------------------------------------------------------------------------

    def send_plain(self, status, body=b'', content_type='text/plain; charset=utf-8', extra=None):
        self.send_response(status)
        for k, v in extra or []:
            self.send_header(k, v)
        if self.final_token:
            self.send_header('WWW-Authenticate', self.final_token)
            self.final_token = None
        if body:
            self.send_header('Content-Type', content_type)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def read_body(self):
        te = self.headers.get('Transfer-Encoding', '')
        if te.lower() == 'chunked':
            out = bytearray()
            while True:
                line = self.rfile.readline(64)
                size = int(line.split(b';')[0].strip() or b'0', 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b'\r\n', b'\n', b''):
                        pass
                    return bytes(out)
                if len(out) + size > MAX_BODY:
                    raise OverflowError()
                out += self.rfile.read(size)
                self.rfile.readline(8)
        length = int(self.headers.get('Content-Length', '0') or '0')
        if length < 0 or length > MAX_BODY:
            raise OverflowError()
        return self.rfile.read(length) if length else b''

    def is_tls(self):
        return isinstance(self.connection, ssl.SSLSocket)

    # ---- GET: the control page ------------------------------------------------------------------------------

    def do_GET(self):
        if self.path == '/testbed/requests':
            with self.server.state.lock:
                body = json.dumps(self.server.state.log).encode()
            self.send_plain(200, body, 'application/json')
            return
        self.send_plain(404)

    # ---- POST /wsman ----------------------------------------------------------------------------------------

    def do_POST(self):
        st = self.server.state
        try:
            body = self.read_body()
        except (OverflowError, ValueError):
            st.record({'action': '', 'encrypted': False, 'tls': self.is_tls(), 'status': 413, 'refused': True,
                       'reason': 'body too large', 'connection': self.conn_no})
            self.close_connection = True
            self.send_plain(413, b'request too large')
            return
        if urllib.parse.urlsplit(self.path).path.lower() != '/wsman':
            self.send_plain(404)
            return
        content_type = self.headers.get('Content-Type', '')
        encrypted_ct = content_type.lower().startswith('multipart/encrypted')
        auth = self.headers.get('Authorization')
        if self.headers.get('WSMANIDENTIFY', '').lower() == 'unauthenticated' and not auth:
            self.identify(body)
            return

        if auth:
            if not self.authenticate(auth, body, content_type, encrypted_ct):
                return
        elif not self.authenticated:
            if body:
                self.note_body(body, encrypted_ct, 401, 'sent before authentication')
            self.challenge()
            return
        self.handle_message(body, content_type, encrypted_ct)

    def identify(self, body):
        """WS-Man Identify without authentication (MS-WSMV 3.1.4.16), as Windows answers it over plain HTTP."""
        st = self.server.state
        st.record({'action': 'Identify', 'encrypted': False, 'tls': self.is_tls(), 'status': 200,
                   'refused': False, 'reason': 'unauthenticated identify', 'connection': self.conn_no})
        if not st.args.identify:
            self.send_plain(401, extra=[('WWW-Authenticate', 'Negotiate')])
            return
        version = st.args.identify.replace('&', '&amp;').replace('<', '&lt;')
        reply = (
            '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
            'xmlns:wsmid="http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd"><s:Header/><s:Body>'
            '<wsmid:IdentifyResponse><wsmid:ProtocolVersion>http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd'
            '</wsmid:ProtocolVersion><wsmid:ProductVendor>Microsoft Corporation</wsmid:ProductVendor>'
            '<wsmid:ProductVersion>' + version + '</wsmid:ProductVersion><wsmid:SecurityProfiles>'
            '<wsmid:SecurityProfileName>http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/http/spnego-kerberos'
            '</wsmid:SecurityProfileName></wsmid:SecurityProfiles></wsmid:IdentifyResponse></s:Body></s:Envelope>'
        ).encode('utf-8')
        self.send_plain(200, reply, 'application/soap+xml;charset=UTF-8')

    def challenge(self, token=None, scheme='Negotiate'):
        headers = []
        if token is not None:
            headers.append(('WWW-Authenticate', scheme + ' ' + base64.b64encode(token).decode()))
        else:
            headers.append(('WWW-Authenticate', 'Negotiate'))
            if self.is_tls() and (self.server.state.basic_users or self.server.state.args.acceptor == 'domain'):
                headers.append(('WWW-Authenticate', 'Basic realm="WSMAN"'))
        self.send_plain(401, extra=headers)

    def note_body(self, body, encrypted_ct, status, reason):
        """Records a body that is not processed (auth legs): a plaintext one is a finding of the test."""
        action = '' if encrypted_ct else action_of(body)
        self.server.state.record({'action': action, 'encrypted': encrypted_ct, 'tls': self.is_tls(),
                                  'status': status, 'refused': True, 'reason': reason,
                                  'connection': self.conn_no})

    def authenticate(self, auth, body, content_type, encrypted_ct):
        """Returns True when the request is authenticated and its body must be handled now."""
        scheme, _, value = auth.strip().partition(' ')
        scheme_l = scheme.lower()
        if scheme_l == 'basic':
            return self.authenticate_basic(value.strip(), body, encrypted_ct)
        if scheme_l not in ('negotiate', 'ntlm'):
            self.challenge()
            return False
        try:
            token = base64.b64decode(value.strip(), validate=True)
        except ValueError:
            self.send_plain(400, b'bad authorization token')
            return False
        if token.startswith(b'NTLMSSP\x00\x01\x00\x00\x00') or (self.ctx is None) or self.authenticated:
            # A new handshake (Type 1 or a fresh SPNEGO token) resets this connection's context.
            self.ctx = self.new_context(token)
            self.authenticated = False
            self.ctx_scheme = scheme
        if self.is_tls() and self.server.state.args.strict_cbt and is_ntlm_authenticate(token):
            if not has_channel_binding(token):
                # Windows with CbtHardeningLevel=Strict refuses an AUTHENTICATE without channel bindings.
                self.ctx = None
                self.server.state.record({'action': '', 'encrypted': False, 'tls': True, 'status': 401,
                                          'refused': True, 'reason': 'authentication failed: no channel binding',
                                          'connection': self.conn_no})
                self.challenge()
                return False
        try:
            out = self.ctx.step(token)
        except gssapi.exceptions.GSSError as e:
            self.ctx = None
            self.authenticated = False
            if body:
                self.note_body(body, encrypted_ct, 401, 'authentication failed')
            self.server.state.record({'action': '', 'encrypted': False, 'tls': self.is_tls(), 'status': 401,
                                      'refused': True, 'reason': 'authentication failed: ' + gss_text(e),
                                      'connection': self.conn_no})
            self.challenge()
            return False
        if not self.ctx.complete:
            if body:
                self.note_body(body, encrypted_ct, 401, 'sent during the handshake')
            self.challenge(out or b'', scheme)
            return False
        self.authenticated = True
        self.basic_user = None
        if out:
            # Kerberos' mutual authentication: the server's last token goes back on the answer itself.
            self.final_token = scheme + ' ' + base64.b64encode(out).decode()
        return True

    def new_context(self, token):
        mech = NTLM_OID if token.startswith(b'NTLMSSP\x00') else SPNEGO_OID
        creds = gssapi.Credentials(usage='accept', mechs=[mech])
        bindings = None
        if self.is_tls():
            der = self.server.cert_der
            bindings = gssapi.raw.ChannelBindings(application_data=b'tls-server-end-point:' + tls_end_point_hash(der))
        return gssapi.SecurityContext(creds=creds, usage='accept', channel_bindings=bindings)

    def authenticate_basic(self, value, body, encrypted_ct):
        st = self.server.state
        if not self.is_tls():
            # Windows refuses Basic over HTTP unless AllowUnencrypted; so do we (a password in clear text).
            st.record({'action': '', 'encrypted': False, 'tls': False, 'status': 401, 'refused': True,
                       'reason': 'basic over http', 'connection': self.conn_no})
            self.challenge()
            return False
        try:
            user, _, password = base64.b64decode(value, validate=True).decode('utf-8').partition(':')
        except ValueError:
            self.send_plain(400, b'bad basic token')
            return False
        ok = False
        name = user.split('\\', 1)[-1].lower()
        if st.basic_users:
            entry = st.basic_users.get(name)
            ok = entry is not None and entry[1] == password
        elif st.args.acceptor == 'domain':
            domain = user.split('\\', 1)[0] if '\\' in user else 'PATCHDECK'
            r = subprocess.run(['wbinfo', '-a', domain + '\\' + name + '%' + password],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               timeout=20, check=False)
            ok = r.returncode == 0
        if not ok:
            st.record({'action': '', 'encrypted': False, 'tls': True, 'status': 401, 'refused': True,
                       'reason': 'authentication failed: basic', 'connection': self.conn_no})
            self.challenge()
            return False
        self.basic_user = name
        self.authenticated = False  # Basic authenticates each request, not the connection
        self.ctx = None
        return True

    def handle_message(self, body, content_type, encrypted_ct):
        st = self.server.state
        if not body:
            # The empty POST some clients use to set up the context: answer 200, nothing to process.
            self.send_plain(200)
            return
        if encrypted_ct:
            if self.ctx is None or not self.ctx.complete:
                self.note_body(body, True, 400, 'encrypted body without an NTLM/SPNEGO context')
                self.send_plain(400, b'no security context for an encrypted body')
                return
            try:
                protocol, declared, sig, sealed = parse_encrypted(body, content_type)
                res = self.ctx.unwrap(sig + sealed)
                if not res.encrypted:
                    raise ValueError('the body was signed but not sealed')
                soap = res.message
                if len(soap) != declared:
                    raise ValueError('OriginalContent Length does not match the plaintext')
            except (ValueError, gssapi.exceptions.GSSError) as e:
                st.record({'action': '', 'encrypted': True, 'tls': self.is_tls(), 'status': 400, 'refused': True,
                           'reason': 'cannot decrypt: ' + (gss_text(e) if isinstance(e, gssapi.exceptions.GSSError) else str(e)),
                           'connection': self.conn_no})
                self.close_connection = True
                self.send_plain(400, b'cannot decrypt the body')
                return
        else:
            if not self.is_tls():
                self.note_body(body, False, 400, 'plaintext body refused (AllowUnencrypted=false)')
                self.send_plain(400, b'unencrypted messages are refused')
                return
            soap = body
            protocol = None
        action = action_of(soap)
        message_id = message_id_of(soap)
        if st.args.max_envelope and len(soap) > st.args.max_envelope:
            # A request over the host's MaxEnvelopeSizekb: Windows answers HTTP 413 with no body (as reported
            # in ansible.windows #391); it is not processed.
            st.record({'action': action, 'encrypted': encrypted_ct, 'tls': self.is_tls(), 'status': 413,
                       'refused': True, 'reason': 'envelope larger than MaxEnvelopeSize', 'connection': self.conn_no})
            self.send_plain(413)
            return
        status, reply = self.answer(soap, action, message_id)
        entry = {'action': action, 'encrypted': encrypted_ct, 'tls': self.is_tls(), 'status': status,
                 'refused': False, 'reason': '', 'connection': self.conn_no}
        if reply is None:  # backend asked to drop the connection
            entry['reason'] = 'dropped'
            st.record(entry)
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        st.record(entry)
        reply_bytes = reply.encode('utf-8')
        if protocol is not None:
            wrapped = self.ctx.wrap(reply_bytes, True).message
            sig, sealed = wrapped[:16], wrapped[16:]
            self.send_plain(status, build_encrypted(protocol, sig, sealed, len(reply_bytes)), ENCRYPTED_CT)
        else:
            self.send_plain(status, reply_bytes, 'application/soap+xml;charset=UTF-8')

    def ask_backend(self, soap):
        url = urllib.parse.urlsplit(self.server.state.args.backend)
        path = url.path or '/'
        if self.backend_conn is not None:
            try:
                return _backend_exchange(self.backend_conn, path, soap)
            except (http.client.HTTPException, OSError):
                self.backend_conn.close()  # the kept connection went stale: one fresh try below
        self.backend_conn = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=SOCKET_TIMEOUT_S)
        return _backend_exchange(self.backend_conn, path, soap)

    def finish(self):
        if self.backend_conn is not None:
            self.backend_conn.close()
        super().finish()

    def answer(self, soap, action, message_id):
        st = self.server.state
        if st.replay is not None:
            expected, response = st.next_reply(action)
            if response is None:
                return 500, fault_envelope(message_id, 'w:InternalError', 2150858770,
                                           'testbed: the recording has no more replies')
            if expected != action:
                return 500, fault_envelope(message_id, 'w:ActionNotSupported', 2150858776,
                                           'testbed: recorded action ' + expected + ', got ' + action)
            if message_id is not None:
                response = RELATES_TO_RE.sub(lambda m: m.group(1) + message_id + m.group(2), response, count=1)
            status = 500 if re.search(r'<(?:[A-Za-z0-9_]+:)?Fault\b', response) else 200
            return status, response
        # backend mode: one keep-alive connection to the backend per client connection (no proxy: a direct
        # http.client connection to the loopback address given)
        try:
            data = self.ask_backend(soap)
        except Exception as e:  # the backend is test code: report, do not hang
            return 500, fault_envelope(message_id, 'w:InternalError', 2150858770, 'testbed backend: ' + str(e))
        if data.get('drop'):
            return 0, None
        return int(data.get('status', 200)), str(data.get('body', ''))


def _backend_exchange(conn, path, soap):
    conn.request('POST', path, body=soap, headers={'Content-Type': 'application/soap+xml;charset=UTF-8'})
    r = conn.getresponse()
    raw = r.read(8 * MAX_BODY + 1)
    if len(raw) > 8 * MAX_BODY:
        raise ValueError('backend answer too large')
    return json.loads(raw.decode('utf-8'))


def gss_text(e):
    try:
        return str(e.gen_message())
    except Exception:
        return type(e).__name__


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--port', type=int, default=0)
    p.add_argument('--address', default='127.0.0.1', help='a loopback address (127.0.0.0/8) to listen on')
    p.add_argument('--replay')
    p.add_argument('--backend')
    p.add_argument('--acceptor', required=True, help="'domain' or the path of an NTLM_USER_FILE")
    p.add_argument('--cert')
    p.add_argument('--key')
    p.add_argument('--basic-users')
    p.add_argument('--max-envelope', type=int, default=0,
                   help="refuse (HTTP 413) a SOAP request longer than this many bytes (the host's MaxEnvelopeSizekb)")
    p.add_argument('--exit-with-stdin', action='store_true', help='exit when stdin closes (the parent is gone)')
    p.add_argument('--strict-cbt', action='store_true',
                   help='HTTPS: refuse an NTLM AUTHENTICATE without channel bindings (CbtHardeningLevel=Strict)')
    p.add_argument('--identify', default='OS: 10.0.17763 SP: 0.0 Stack: 3.0',
                   help="ProductVersion of the Identify answer; '' to refuse unauthenticated Identify")
    args = p.parse_args()
    if bool(args.replay) == bool(args.backend):
        raise SystemExit('give exactly one of --replay and --backend')
    if args.backend:
        host = urllib.parse.urlsplit(args.backend).hostname or ''
        if not ipaddress.ip_address(host).is_loopback:
            raise SystemExit('the backend must be on loopback')
    if args.acceptor == 'domain':
        os.environ.pop('NTLM_USER_FILE', None)
    else:
        os.environ['NTLM_USER_FILE'] = os.path.abspath(args.acceptor)
        if not args.basic_users:
            args.basic_users = args.acceptor
    state = State(args)
    if not re.fullmatch(r'127\.\d{1,3}\.\d{1,3}\.\d{1,3}', args.address):
        raise SystemExit('the endpoint listens on loopback (127.0.0.0/8) only')
    server = Server((args.address, args.port), Handler)
    server.state = state
    server.cert_der = None
    if args.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.cert, args.key)
        with open(args.cert, 'rb') as f:
            server.cert_der = ssl.PEM_cert_to_DER_cert(f.read().decode('ascii'))
        server.socket = ctx.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    if args.exit_with_stdin:
        # The test process holds our stdin: when it goes (even killed), so do we. No orphan endpoints.
        def watch():
            while sys.stdin.buffer.read(4096):
                pass
            os._exit(0)

        threading.Thread(target=watch, daemon=True).start()
    sys.stdout.write('PORT %d\n' % server.server_address[1])
    sys.stdout.flush()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == '__main__':
    main()
