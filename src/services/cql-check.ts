// pbx's own Cassandra is checked over CQL's native protocol (v4) directly: a STARTUP, then
// `SELECT release_version FROM system.local`. It has no authentication and no TLS, so no driver is needed, and
// the driver's first connection in a new process cost about 100 ms, right when Cassandra had just started to
// listen. Frames: https://github.com/apache/cassandra/blob/trunk/doc/native_protocol_v4.spec
import { connect } from 'node:net';

const VERSION = 0x04;
const HEADER_BYTES = 9;
const OPCODE = { error: 0x00, startup: 0x01, ready: 0x02, query: 0x07, result: 0x08 } as const;
const ROWS = 0x0002;
const CONSISTENCY_ONE = 0x0001;
const FLAG = { globalTableSpec: 0x0001, hasMorePages: 0x0002, noMetadata: 0x0004 } as const;

/** Cassandra's release, asked on a new connection; rejects when it does not answer the query as it should. */
export async function cqlReleaseVersion(host: string, port: number, timeoutMs = 2000): Promise<string> {
  const connection = openConnection(host, port, timeoutMs);
  try {
    const ready = await connection.request(frame(1, OPCODE.startup, stringMap({ CQL_VERSION: '3.0.0' })));
    if (ready.opcode !== OPCODE.ready) throw unexpected(ready, 'STARTUP');
    const result = await connection.request(frame(2, OPCODE.query, query('SELECT release_version FROM system.local')));
    if (result.opcode !== OPCODE.result) throw unexpected(result, 'the query');
    const release = firstText(result.body);
    if (release === undefined) throw new Error('system.local answered no release_version');
    return release;
  } finally {
    connection.close();
  }
}

interface Frame {
  opcode: number;
  body: Buffer;
}

/** One connection, one request at a time: each request resolves with the next whole frame. */
function openConnection(host: string, port: number, timeoutMs: number) {
  const socket = connect({ host, port });
  let received = Buffer.alloc(0);
  let pending: { resolve: (frame: Frame) => void; reject: (error: Error) => void } | undefined;
  let failure: Error | undefined;
  const fail = (error: Error) => {
    failure ??= error;
    pending?.reject(failure);
    pending = undefined;
  };
  const deliver = () => {
    if (!pending || received.length < HEADER_BYTES) return;
    const length = received.readInt32BE(5);
    if (received.length < HEADER_BYTES + length) return;
    const reply = { opcode: received[4]!, body: received.subarray(HEADER_BYTES, HEADER_BYTES + length) };
    received = received.subarray(HEADER_BYTES + length);
    pending.resolve(reply);
    pending = undefined;
  };
  socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no CQL answer within ${timeoutMs} ms`)));
  socket.on('data', (chunk: Buffer) => {
    received = Buffer.concat([received, chunk]);
    deliver();
  });
  socket.on('error', fail);
  // Docker's port proxy accepts a connection before Cassandra listens, then closes it.
  socket.on('close', () => fail(new Error('the CQL port does not answer yet')));
  return {
    request(bytes: Buffer): Promise<Frame> {
      if (failure) return Promise.reject(failure);
      return new Promise<Frame>((resolve, reject) => {
        pending = { resolve, reject };
        socket.write(bytes);
      });
    },
    close: () => socket.destroy(),
  };
}

function frame(stream: number, opcode: number, body: Buffer): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  header[0] = VERSION;
  header.writeInt16BE(stream, 2);
  header[4] = opcode;
  header.writeInt32BE(body.length, 5);
  return Buffer.concat([header, body]);
}

function shortString(text: string): Buffer {
  const bytes = Buffer.from(text);
  const length = Buffer.alloc(2);
  length.writeUInt16BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

function stringMap(entries: Record<string, string>): Buffer {
  const count = Buffer.alloc(2);
  count.writeUInt16BE(Object.keys(entries).length);
  return Buffer.concat([count, ...Object.entries(entries).flatMap(([k, v]) => [shortString(k), shortString(v)])]);
}

/** A QUERY body: the statement, consistency ONE, no flags. */
function query(statement: string): Buffer {
  const text = Buffer.from(statement);
  const body = Buffer.alloc(4 + text.length + 3);
  body.writeInt32BE(text.length, 0);
  text.copy(body, 4);
  body.writeUInt16BE(CONSISTENCY_ONE, 4 + text.length);
  return body; // (the flags byte is the last, 0)
}

/** The first column of the first row of a Rows result, as text; undefined when there is none. */
export function firstText(body: Buffer): string | undefined {
  if (body.length < 12 || body.readInt32BE(0) !== ROWS) return undefined;
  const flags = body.readInt32BE(4);
  const columns = body.readInt32BE(8);
  let at = 12;
  const skipStrings = (count: number) => {
    for (let i = 0; i < count; i++) at += 2 + body.readUInt16BE(at);
  };
  if (flags & FLAG.hasMorePages) at += 4 + body.readInt32BE(at);
  if (!(flags & FLAG.noMetadata)) {
    const global = (flags & FLAG.globalTableSpec) !== 0;
    if (global) skipStrings(2); // keyspace and table
    for (let i = 0; i < columns; i++) {
      skipStrings(global ? 1 : 3); // (its keyspace and table, then) its name
      at += 2; // its type: a text type's id is all of it
    }
  }
  if (body.readInt32BE(at) < 1) return undefined;
  const length = body.readInt32BE(at + 4);
  return length < 0 ? undefined : body.toString('utf8', at + 8, at + 8 + length);
}

function unexpected(reply: Frame, what: string): Error {
  // An ERROR body is its code, then its message.
  const message =
    reply.opcode === OPCODE.error && reply.body.length >= 6
      ? reply.body.toString('utf8', 6, 6 + reply.body.readUInt16BE(4))
      : `opcode ${reply.opcode}`;
  return new Error(`Cassandra answered ${what} with ${message}`);
}
