import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import iconv from 'iconv-lite';
import { SqlError } from '../../src/driver/sql.js';
import type { SqlParameter, SqlParameters, SqlResult, SqlScalar } from '../../src/driver/sql.js';
import type { SqlFake } from './sql.js';

/**
 * A TDS listener on 127.0.0.1 in front of a fake SQL Server (test/fakes/sql.ts),
 * so that the built CLI, in its own process, reads the fake ERP databases
 * through the real mssql and tedious: PRELOGIN, LOGIN7 (the user, password
 * and database checked as SQL Server does, errors 18456 and 4060), and
 * `sp_executesql` RPCs whose
 * statement and typed parameters (int, varchar, nvarchar, uniqueidentifier)
 * go to the fake database; its rows come back as COLMETADATA and ROW tokens,
 * its SqlErrors as ERROR tokens with their numbers. No mock TDS server exists
 * on npm (docs/onprem.md); this speaks only what the SQL source sends.
 *
 * It speaks no TLS. Its PRELOGIN answer says encryption is not supported
 * (what a server without a certificate, or a machine posing as the ERP's
 * server, answers), so a connection logs in only with `encrypt=false`; told
 * to offer encryption (`encryption: 'on'`), it notes the client's TLS
 * handshake and hangs up there. Every packet it receives is noted by type,
 * so a test can tell that a LOGIN7 never came.
 */

export interface TdsServerOptions {
  /** The ENCRYPTION option of the server's PRELOGIN answer; `notSupported` unless told. */
  encryption?: 'off' | 'on' | 'notSupported';
}

export interface TdsServer {
  readonly port: number;
  /** The type of every packet received, in order, on every connection; `tls` for a PRELOGIN packet carrying a TLS handshake. */
  readonly packets: readonly TdsPacketType[];
  /** What each client asked for when it connected: the encryption in its PRELOGIN, and its LOGIN7 (no password). */
  readonly logins: readonly TdsLogin[];
  close(): Promise<void>;
}

export type TdsPacketType = 'prelogin' | 'tls' | 'login7' | 'batch' | 'rpc' | 'attention' | 'other';

export interface TdsLogin {
  /** The client's PRELOGIN ENCRYPTION option: it wants TLS (`on`), or does not support it (`notSupported`). */
  encryption: 'off' | 'on' | 'notSupported' | 'required';
  user: string;
  database: string;
  appName: string;
  /** ApplicationIntent=ReadOnly (LOGIN7 TypeFlags fReadOnlyIntent). */
  readOnlyIntent: boolean;
}

const PACKET = { SQL_BATCH: 0x01, RPC: 0x03, REPLY: 0x04, ATTENTION: 0x06, LOGIN7: 0x10, PRELOGIN: 0x12 } as const;
const ENCRYPTION = ['off', 'on', 'notSupported', 'required'] as const;
/** A TLS record's first byte: a handshake. Tedious sends the handshake inside PRELOGIN packets (TDS 7.x). */
const TLS_HANDSHAKE = 0x16;
const TOKEN = { COLMETADATA: 0x81, ERROR: 0xaa, LOGINACK: 0xad, ROW: 0xd1, ENVCHANGE: 0xe3, DONE: 0xfd, DONEPROC: 0xfe, DONEINPROC: 0xff, RETURNSTATUS: 0x79 } as const;
const DONE = { FINAL: 0x00, MORE: 0x01, ERROR: 0x02, COUNT: 0x10, ATTN: 0x20 } as const;
/** Turkish_CI_AS as a TDS collation (LCID 0x041F): tedious encodes varchar parameters in its code page, 1254. */
const COLLATION = Buffer.from([0x1f, 0x04, 0xd0, 0x00, 0x00]);
const CODE_PAGE = 'cp1254';

export async function startTdsServer(fake: SqlFake, options: TdsServerOptions = {}): Promise<TdsServer> {
  const sockets = new Set<Socket>();
  const packets: TdsPacketType[] = [];
  const logins: TdsLogin[] = [];
  const answer = options.encryption ?? 'notSupported';
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    serve(socket, fake, answer, packets, logins);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    packets,
    logins,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** One client connection: messages in, replies out, one statement at a time. */
function serve(socket: Socket, fake: SqlFake, answer: NonNullable<TdsServerOptions['encryption']>, packets: TdsPacketType[], logins: TdsLogin[]): void {
  let encryption: TdsLogin['encryption'] = 'off';
  let buffered = Buffer.alloc(0);
  let message: Buffer[] = [];
  let executor: ReturnType<SqlFake['connector']> | undefined;
  let running: AbortController | undefined;
  let queue = Promise.resolve();
  socket.on('close', () => {
    running?.abort();
    void executor?.close();
  });

  socket.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 8 && buffered.length >= buffered.readUInt16BE(2)) {
      const length = buffered.readUInt16BE(2);
      const type = buffered[0]!;
      const last = (buffered[1]! & 0x01) === 1;
      packets.push(packetType(type, buffered[8]));
      message.push(buffered.subarray(8, length));
      buffered = buffered.subarray(length);
      if (!last) continue;
      const body = Buffer.concat(message);
      message = [];
      if (type === PACKET.ATTENTION) {
        // A statement cancelled by the client's timeout: stop it and acknowledge.
        running?.abort();
        queue = queue.then(() => reply(socket, done(TOKEN.DONE, DONE.ATTN, 0)));
        continue;
      }
      queue = queue.then(() => handle(type, body)).catch(() => void socket.destroy());
    }
  });

  async function handle(type: number, body: Buffer): Promise<void> {
    if (type === PACKET.PRELOGIN && body[0] === TLS_HANDSHAKE) {
      // The client starts TLS, as it should after an answer that offers encryption: this fake goes no further.
      socket.destroy();
      return;
    }
    if (type === PACKET.PRELOGIN) {
      encryption = readEncryption(body);
      return reply(socket, prelogin(answer));
    }
    if (type === PACKET.LOGIN7) {
      const login = readLogin7(body);
      logins.push({ encryption, user: login.user, database: login.database, appName: login.appName, readOnlyIntent: login.readOnlyIntent });
      const expected = fake.login;
      if (login.user !== expected.user || login.password !== expected.password) {
        return reply(socket, Buffer.concat([error(18456, 14, `Login failed for user '${login.user}'.`), done(TOKEN.DONE, DONE.ERROR, 0)]));
      }
      if (login.database.toLowerCase() !== expected.database.toLowerCase()) {
        return reply(socket, Buffer.concat([error(4060, 11, `Cannot open database "${login.database}" requested by the login. The login failed.`), done(TOKEN.DONE, DONE.ERROR, 0)]));
      }
      executor = fake.connector({
        server: '127.0.0.1', port: undefined, instance: undefined, database: login.database, user: login.user, password: login.password,
        encrypt: false, trustServerCertificate: false, timeoutMs: 3_600_000,
      });
      return reply(socket, Buffer.concat([envChangeCollation(), loginAck(), done(TOKEN.DONE, DONE.FINAL, 0)]));
    }
    // tedious' session settings after the login.
    if (type === PACKET.SQL_BATCH) return reply(socket, done(TOKEN.DONE, DONE.FINAL, 0));
    if (type !== PACKET.RPC || !executor) throw new Error(`fake TDS: unexpected packet type ${type}`);
    const { statement, parameters } = readExecuteSql(body);
    running = new AbortController();
    const signal = running.signal;
    try {
      const result = await executor.query(statement, parameters, signal);
      reply(socket, signal.aborted ? done(TOKEN.DONE, DONE.FINAL, 0) : resultTokens(result));
    } catch (failure) {
      // A cancelled statement's answer ends at once; the acknowledgement of the cancel follows as a message of its own.
      if (signal.aborted) return reply(socket, done(TOKEN.DONE, DONE.FINAL, 0));
      if (failure instanceof SqlError && failure.kind === 'dropped') {
        socket.destroy();
        return;
      }
      const number = failure instanceof SqlError && failure.number !== undefined ? failure.number : 50000;
      reply(socket, Buffer.concat([error(number, 16, (failure as Error).message), done(TOKEN.DONEPROC, DONE.ERROR, 0)]));
    }
  }
}

/** A reply message, split into packets of at most 4,096 bytes. */
function reply(socket: Socket, payload: Buffer): void {
  const size = 4096 - 8;
  for (let offset = 0, id = 1; offset < payload.length || offset === 0; offset += size, id++) {
    const part = payload.subarray(offset, offset + size);
    const header = Buffer.alloc(8);
    header[0] = PACKET.REPLY;
    header[1] = offset + size >= payload.length ? 0x01 : 0x00;
    header.writeUInt16BE(part.length + 8, 2);
    header[6] = id % 256;
    socket.write(Buffer.concat([header, part]));
    if (payload.length === 0) break;
  }
}

/** PRELOGIN answer: version 16.0, the encryption given, no MARS. */
function prelogin(encryption: NonNullable<TdsServerOptions['encryption']>): Buffer {
  const options: Array<[number, Buffer]> = [
    [0x00, Buffer.from([16, 0, 0x10, 0x00, 0, 0])],
    [0x01, Buffer.from([ENCRYPTION.indexOf(encryption)])],
    [0x02, Buffer.from([0x00])],
    [0x03, Buffer.alloc(4)],
    [0x04, Buffer.from([0x00])],
  ];
  const head = Buffer.alloc(options.length * 5 + 1);
  let offset = head.length;
  options.forEach(([token, data], i) => {
    head[i * 5] = token;
    head.writeUInt16BE(offset, i * 5 + 1);
    head.writeUInt16BE(data.length, i * 5 + 3);
    offset += data.length;
  });
  head[head.length - 1] = 0xff;
  return Buffer.concat([head, ...options.map(([, data]) => data)]);
}

/** The ENCRYPTION option of a client's PRELOGIN. */
function readEncryption(body: Buffer): TdsLogin['encryption'] {
  for (let at = 0; at < body.length && body[at] !== 0xff; at += 5) {
    if (body[at] === 0x01) return ENCRYPTION[body[body.readUInt16BE(at + 1)]!] ?? 'off';
  }
  return 'off';
}

function packetType(type: number, firstByte: number | undefined): TdsPacketType {
  switch (type) {
    case PACKET.PRELOGIN:
      return firstByte === TLS_HANDSHAKE ? 'tls' : 'prelogin';
    case PACKET.LOGIN7:
      return 'login7';
    case PACKET.SQL_BATCH:
      return 'batch';
    case PACKET.RPC:
      return 'rpc';
    case PACKET.ATTENTION:
      return 'attention';
    default:
      return 'other';
  }
}

/** User, password, database, application name and intent from a LOGIN7 message (the password de-obfuscated as SQL Server does). */
function readLogin7(body: Buffer): { user: string; password: string; database: string; appName: string; readOnlyIntent: boolean } {
  const text = (at: number, decode?: (b: Buffer) => Buffer) => {
    const offset = body.readUInt16LE(at);
    const chars = body.readUInt16LE(at + 2);
    const raw = Buffer.from(body.subarray(offset, offset + chars * 2));
    return (decode ? decode(raw) : raw).toString('ucs2');
  };
  const unscramble = (raw: Buffer) => raw.map((b) => {
    const x = b ^ 0xa5;
    return ((x << 4) & 0xf0) | (x >> 4);
  });
  return { user: text(40), password: text(44, (raw) => Buffer.from(unscramble(raw))), database: text(68), appName: text(48), readOnlyIntent: (body[26]! & 0x20) !== 0 };
}

/** The statement and parameters of an `sp_executesql` RPC. */
function readExecuteSql(body: Buffer): { statement: string; parameters: SqlParameters } {
  let at = body.readUInt32LE(0);
  const nameLength = body.readUInt16LE(at);
  at += 2;
  if (nameLength === 0xffff) {
    const procedure = body.readUInt16LE(at);
    if (procedure !== 10) throw new Error(`fake TDS: only sp_executesql is served, not procedure ${procedure}`);
    at += 2;
  } else {
    at += nameLength * 2;
  }
  at += 2;
  const values: Array<{ name: string; parameter: SqlParameter }> = [];
  while (at < body.length) {
    const nameChars = body[at]!;
    const name = body.subarray(at + 1, at + 1 + nameChars * 2).toString('ucs2').replace(/^@/, '');
    at += 1 + nameChars * 2 + 1;
    const type = body[at]!;
    at += 1;
    let parameter: SqlParameter;
    if (type === 0x26) {
      const size = body[at]!;
      const length = body[at + 1]!;
      parameter = { type: 'int', value: length === 0 ? null : size === 8 ? Number(body.readBigInt64LE(at + 2)) : body.readInt32LE(at + 2) };
      at += 2 + length;
    } else if (type === 0x24) {
      const length = body[at + 1]!;
      parameter = { type: 'uniqueidentifier', value: length === 0 ? null : guid(body.subarray(at + 2, at + 18)) };
      at += 2 + length;
    } else if (type === 0xe7 || type === 0xa7) {
      const max = body.readUInt16LE(at);
      at += 2 + 5;
      let raw: Buffer | null;
      if (max === 0xffff) {
        ({ raw, at } = readPlp(body, at));
      } else {
        const length = body.readUInt16LE(at);
        raw = length === 0xffff ? null : body.subarray(at + 2, at + 2 + length);
        at += 2 + (length === 0xffff ? 0 : length);
      }
      const value = raw === null ? null : type === 0xe7 ? raw.toString('ucs2') : iconv.decode(raw, CODE_PAGE);
      parameter = { type: type === 0xe7 ? 'nvarchar' : 'varchar', value };
    } else {
      throw new Error(`fake TDS: parameter @${name} has type 0x${type.toString(16)}, which the SQL source never sends`);
    }
    values.push({ name, parameter });
  }
  const [statement, , ...bound] = values;
  if (!statement || typeof statement.parameter.value !== 'string') throw new Error('fake TDS: sp_executesql without a statement');
  return { statement: statement.parameter.value, parameters: Object.fromEntries(bound.map(({ name, parameter }) => [name, parameter])) };
}

function readPlp(body: Buffer, start: number): { raw: Buffer | null; at: number } {
  if (body.readBigUInt64LE(start) === 0xffffffffffffffffn) return { raw: null, at: start + 8 };
  let at = start + 8;
  const chunks: Buffer[] = [];
  for (;;) {
    const length = body.readUInt32LE(at);
    at += 4;
    if (length === 0) return { raw: Buffer.concat(chunks), at };
    chunks.push(body.subarray(at, at + length));
    at += length;
  }
}

function guid(bytes: Buffer): string {
  const hex = (indexes: number[]) => indexes.map((i) => bytes[i]!.toString(16).padStart(2, '0')).join('');
  return `${hex([3, 2, 1, 0])}-${hex([5, 4])}-${hex([7, 6])}-${hex([8, 9])}-${hex([10, 11, 12, 13, 14, 15])}`.toUpperCase();
}

function usVarChar(text: string): Buffer {
  const data = Buffer.from(text, 'ucs2');
  const length = Buffer.alloc(2);
  length.writeUInt16LE(text.length);
  return Buffer.concat([length, data]);
}

function bVarChar(text: string): Buffer {
  return Buffer.concat([Buffer.from([text.length]), Buffer.from(text, 'ucs2')]);
}

function token(type: number, data: Buffer): Buffer {
  const length = Buffer.alloc(2);
  length.writeUInt16LE(data.length);
  return Buffer.concat([Buffer.from([type]), length, data]);
}

function envChangeCollation(): Buffer {
  return token(TOKEN.ENVCHANGE, Buffer.concat([Buffer.from([7, COLLATION.length]), COLLATION, Buffer.from([0])]));
}

function loginAck(): Buffer {
  const version = Buffer.alloc(4);
  version.writeUInt32BE(0x74000004);
  return token(TOKEN.LOGINACK, Buffer.concat([Buffer.from([1]), version, bVarChar('Microsoft SQL Server'), Buffer.from([16, 0, 0x10, 0x00])]));
}

function error(number: number, severity: number, message: string): Buffer {
  const head = Buffer.alloc(6);
  head.writeInt32LE(number);
  head[4] = 1;
  head[5] = severity;
  const line = Buffer.alloc(4);
  line.writeInt32LE(1);
  return token(TOKEN.ERROR, Buffer.concat([head, usVarChar(message), bVarChar('FAKESQL'), bVarChar(''), line]));
}

function done(type: number, status: number, rows: number): Buffer {
  const data = Buffer.alloc(13);
  data[0] = type;
  data.writeUInt16LE(status, 1);
  data.writeUInt16LE(0xc1, 3);
  data.writeBigUInt64LE(BigInt(rows), 5);
  return data;
}

type ColumnType = 'int' | 'float' | 'bit' | 'nvarchar';

/** A result set as SQL Server sends it: column types chosen from the values (int, float, bit, else nvarchar), then a ROW per row. */
function resultTokens(result: SqlResult): Buffer {
  const types: ColumnType[] = result.columns.map((column) => columnType(result.rows.map((row) => row[column] ?? null)));
  const count = Buffer.alloc(2);
  count.writeUInt16LE(result.columns.length);
  const metadata = result.columns.map((column, i) => {
    const head = Buffer.alloc(6);
    head.writeUInt16LE(0x0001, 4);
    return Buffer.concat([head, typeInfo(types[i]!), bVarChar(column)]);
  });
  const rows = result.rows.map((row) => Buffer.concat([Buffer.from([TOKEN.ROW]), ...result.columns.map((column, i) => cell(types[i]!, row[column] ?? null))]));
  return Buffer.concat([
    Buffer.from([TOKEN.COLMETADATA]), count, ...metadata, ...rows,
    done(TOKEN.DONEINPROC, DONE.MORE | DONE.COUNT, result.rows.length),
    Buffer.from([TOKEN.RETURNSTATUS, 0, 0, 0, 0]),
    done(TOKEN.DONEPROC, DONE.FINAL, 0),
  ]);
}

function columnType(values: readonly SqlScalar[]): ColumnType {
  const present = values.filter((v) => v !== null);
  if (present.length === 0) return 'nvarchar';
  if (present.every((v) => typeof v === 'boolean')) return 'bit';
  if (present.every((v) => typeof v === 'number' && Number.isInteger(v) && Math.abs(v) < 2 ** 31)) return 'int';
  if (present.every((v) => typeof v === 'number')) return 'float';
  return 'nvarchar';
}

function typeInfo(type: ColumnType): Buffer {
  switch (type) {
    case 'int':
      return Buffer.from([0x26, 4]);
    case 'float':
      return Buffer.from([0x6d, 8]);
    case 'bit':
      return Buffer.from([0x68, 1]);
    case 'nvarchar':
      return Buffer.concat([Buffer.from([0xe7, 0x40, 0x1f]), COLLATION]);
  }
}

function cell(type: ColumnType, value: SqlScalar): Buffer {
  if (value === null) return type === 'nvarchar' ? Buffer.from([0xff, 0xff]) : Buffer.from([0]);
  switch (type) {
    case 'int': {
      const data = Buffer.alloc(5);
      data[0] = 4;
      data.writeInt32LE(value as number, 1);
      return data;
    }
    case 'float': {
      const data = Buffer.alloc(9);
      data[0] = 8;
      data.writeDoubleLE(value as number, 1);
      return data;
    }
    case 'bit':
      return Buffer.from([1, value ? 1 : 0]);
    case 'nvarchar': {
      const data = Buffer.from(String(value), 'ucs2');
      const length = Buffer.alloc(2);
      length.writeUInt16LE(data.length);
      return Buffer.concat([length, data]);
    }
  }
}
