// Windows-like listeners for one lab host (test/lab/services.ts starts one per chosen host, inside
// that host's network and PID namespaces): 135 (MSRPC, silent), 139 (NetBIOS session), 445 (SMB2
// negotiate), UDP 137 (NetBIOS node status), 3389 (RDP connection confirm) and 5985 (WinRM over HTTP.sys: `Server:
// Microsoft-HTTPAPI/2.0`, 404 on anything but /wsman, 401 to an anonymous POST /wsman, the WS-Man
// Identify reply to an unauthenticated Identify). So that a discovery benchmark has banners to read.
// Plain JavaScript so that it starts in a few tens of ms without a transpiler.
//
// usage: node winlike-listener.mjs <address>   (prints "ready" once every port listens)
// Every connection is bounded: at most 8 KiB read, 10 s in all.
import dgram from 'node:dgram';
import http from 'node:http';
import net from 'node:net';

const address = process.argv[2];
if (!address || net.isIP(address) !== 4) {
  console.error('usage: winlike-listener.mjs <IPv4 address>');
  process.exit(2);
}
const MAX_BYTES = 8 * 1024;
const MAX_MS = 10_000;

/** The SMB2 NEGOTIATE response of a server that picks 3.0.2 and enables (not requires) signing. */
function smbNegotiateResponse() {
  const header = Buffer.alloc(64);
  header.write('\xfeSMB', 0, 'latin1');
  header.writeUInt16LE(64, 4); // StructureSize
  header.writeUInt16LE(0, 12); // Command: NEGOTIATE
  header.writeUInt16LE(1, 14); // CreditResponse
  header.writeUInt32LE(1, 16); // Flags: SERVER_TO_REDIR
  const body = Buffer.alloc(64);
  body.writeUInt16LE(65, 0); // StructureSize
  body.writeUInt16LE(1, 2); // SecurityMode: signing enabled
  body.writeUInt16LE(0x0302, 4); // DialectRevision 3.0.2
  Buffer.from('6c61622d736d622d736572766572210a', 'hex').copy(body, 8); // ServerGuid
  body.writeUInt32LE(0x7, 24); // Capabilities: DFS | LEASING | LARGE_MTU
  body.writeUInt32LE(8 * 1024 * 1024, 28); // MaxTransactSize
  body.writeUInt32LE(8 * 1024 * 1024, 32); // MaxReadSize
  body.writeUInt32LE(8 * 1024 * 1024, 36); // MaxWriteSize
  body.writeUInt16LE(128, 56); // SecurityBufferOffset (no buffer)
  const nbss = Buffer.alloc(4);
  nbss.writeUInt32BE(header.length + body.length, 0);
  return Buffer.concat([nbss, header, body]);
}

/** X.224 Connection Confirm carrying an RDP negotiation response that selects CredSSP. */
const RDP_CONFIRM = Buffer.from([
  0x03, 0x00, 0x00, 0x13, 0x0e, 0xd0, 0x00, 0x00, 0x12, 0x34, 0x00, 0x02, 0x1f, 0x08, 0x00, 0x02, 0x00, 0x00,
  0x00,
]);
/**
 * What Windows' RPC endpoint mapper says to bytes that are not a bind it accepts: a DCE/RPC
 * bind_nak (PDU type 13, reason 4, versions 5.0), 24 bytes. nmap's probes get it at once.
 */
const RPC_BIND_NAK = Buffer.from([
  0x05, 0x00, 0x0d, 0x03, 0x10, 0x00, 0x00, 0x00, 0x18, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
  0x01, 0x05, 0x00, 0x00, 0x00, 0x00,
]);
/** NetBIOS positive session response. */
const NBSS_POSITIVE = Buffer.from([0x82, 0x00, 0x00, 0x00]);
/** NetBIOS negative session response, "called name not present", Windows' answer to anything else. */
const NBSS_NEGATIVE = Buffer.from([0x83, 0x00, 0x00, 0x01, 0x8f]);

/** A TCP listener that answers the first bytes it gets with `answer(bytes)` (null: say nothing). */
function tcpListener(port, answer) {
  const server = net.createServer((socket) => {
    let length = 0;
    let answered = false;
    socket.setTimeout(MAX_MS, () => socket.destroy());
    const stop = setTimeout(() => socket.destroy(), MAX_MS);
    socket.on('close', () => clearTimeout(stop));
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk) => {
      length += chunk.length;
      if (length > MAX_BYTES) return socket.destroy();
      if (answered) return;
      const reply = answer(chunk);
      if (reply) {
        answered = true;
        socket.write(reply);
      }
    });
  });
  return listen(server, port);
}

const IDENTIFY_REPLY =
  '<s:Envelope xml:lang="en-US" xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Header/><s:Body>' +
  '<wsmid:IdentifyResponse xmlns:wsmid="http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd">' +
  '<wsmid:ProtocolVersion>http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd</wsmid:ProtocolVersion>' +
  '<wsmid:ProductVendor>Microsoft Corporation</wsmid:ProductVendor>' +
  '<wsmid:ProductVersion>OS: 0.0.0 SP: 0.0 Stack: 3.0</wsmid:ProductVersion>' +
  '<wsmid:SecurityProfiles><wsmid:SecurityProfileName>http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/http/spnego-kerberos</wsmid:SecurityProfileName></wsmid:SecurityProfiles>' +
  '</wsmid:IdentifyResponse></s:Body></s:Envelope>';

const NOT_FOUND =
  '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN""http://www.w3.org/TR/html4/strict.dtd">\r\n' +
  '<HTML><HEAD><TITLE>Not Found</TITLE>\r\n<META HTTP-EQUIV="Content-Type" Content="text/html; charset=us-ascii"></HEAD>\r\n' +
  '<BODY><h2>Not Found</h2>\r\n<hr><p>HTTP Error 404. The requested resource is not found.</p>\r\n</BODY></HTML>\r\n';

function winrmListener(port) {
  const server = http.createServer({ maxHeaderSize: MAX_BYTES }, (req, res) => {
    res.sendDate = true;
    res.setHeader('Server', 'Microsoft-HTTPAPI/2.0');
    let length = 0;
    req.on('data', (chunk) => {
      length += chunk.length;
      if (length > MAX_BYTES) req.destroy();
    });
    req.on('end', () => {
      const path = (req.url ?? '').split('?')[0].toLowerCase();
      if (path !== '/wsman') {
        res.writeHead(404, { 'Content-Type': 'text/html; charset=us-ascii', Connection: 'close' });
        return res.end(NOT_FOUND);
      }
      if (req.method !== 'POST') {
        res.writeHead(405, { Allow: 'POST', 'Content-Length': '0' });
        return res.end();
      }
      if (String(req.headers.wsmanidentify ?? '').toLowerCase() === 'unauthenticated') {
        res.writeHead(200, { 'Content-Type': 'application/soap+xml;charset=UTF-8' });
        return res.end(IDENTIFY_REPLY);
      }
      res.writeHead(401, { 'WWW-Authenticate': ['Negotiate', 'Kerberos'], 'Content-Length': '0' });
      res.end();
    });
  });
  // What HTTP.sys says to bytes that are not HTTP (TLS hellos, garbage), with its Server header.
  server.on('clientError', (_error, socket) => {
    if (!socket.writable) return socket.destroy();
    const body =
      '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN""http://www.w3.org/TR/html4/strict.dtd">\r\n' +
      '<HTML><HEAD><TITLE>Bad Request</TITLE>\r\n<META HTTP-EQUIV="Content-Type" Content="text/html; charset=us-ascii"></HEAD>\r\n' +
      '<BODY><h2>Bad Request - Invalid Verb</h2>\r\n<hr><p>HTTP Error 400. The request verb is invalid.</p>\r\n</BODY></HTML>\r\n';
    socket.end(
      'HTTP/1.1 400 Bad Request\r\nContent-Type: text/html; charset=us-ascii\r\nServer: Microsoft-HTTPAPI/2.0\r\n' +
        `Date: ${new Date().toUTCString()}\r\nConnection: close\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
  });
  server.requestTimeout = MAX_MS;
  server.headersTimeout = MAX_MS;
  server.on('connection', (socket) => socket.setTimeout(MAX_MS, () => socket.destroy()));
  return listen(server, port);
}

/** The name a Windows PC would give in NetBIOS: WINLAB-<last octet>, in workgroup WORKGROUP. */
const computerName = `WINLAB-${address.split('.')[3]}`;

/** A NetBIOS node-status (NBSTAT) answer on UDP 137, as Windows sends it when 139/445 are open. */
function nbstatListener() {
  const socket = dgram.createSocket('udp4');
  const entry = (name, suffix, flags) => {
    const b = Buffer.alloc(18, 0x20);
    b.write(name.slice(0, 15), 0, 'latin1');
    b[15] = suffix;
    b.writeUInt16BE(flags, 16);
    return b;
  };
  socket.on('message', (query, remote) => {
    // Only a well-formed NBSTAT question (RFC 1002 4.2.17): 50 bytes, QDCOUNT 1, type 0x21.
    if (query.length !== 50 || query.readUInt16BE(4) !== 1 || query.readUInt16BE(46) !== 0x21) return;
    const names = [
      entry(computerName, 0x00, 0x0400), // unique, active
      entry('WORKGROUP', 0x00, 0x8400), // group, active
      entry(computerName, 0x20, 0x0400), // file server service
    ];
    const stats = Buffer.alloc(46);
    Buffer.from('025044' + '4c00' + Number(address.split('.')[3]).toString(16).padStart(2, '0'), 'hex').copy(
      stats,
    );
    const rdata = Buffer.concat([Buffer.from([names.length]), ...names, stats]);
    const header = Buffer.alloc(12);
    header.writeUInt16BE(query.readUInt16BE(0), 0);
    header.writeUInt16BE(0x8400, 2); // response, authoritative answer
    header.writeUInt16BE(1, 6); // ANCOUNT
    const tail = Buffer.alloc(10);
    tail.writeUInt16BE(0x21, 0);
    tail.writeUInt16BE(1, 2);
    tail.writeUInt16BE(rdata.length, 8);
    socket.send(Buffer.concat([header, query.subarray(12, 46), tail, rdata]), remote.port, remote.address);
  });
  socket.on('error', () => {});
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(137, address, resolve);
  });
}

function listen(server, port) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: address, port, backlog: 256 }, resolve);
  });
}

await Promise.all([
  tcpListener(135, () => RPC_BIND_NAK),
  tcpListener(139, (b) => (b[0] === 0x81 ? NBSS_POSITIVE : NBSS_NEGATIVE)),
  tcpListener(445, (b) => (b.length >= 8 && b[0] === 0x00 ? smbNegotiateResponse() : null)),
  tcpListener(3389, (b) => (b.length >= 4 && b[0] === 0x03 ? RDP_CONFIRM : null)),
  winrmListener(5985),
  nbstatListener(),
]);
process.stdout.write('ready\n');
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
