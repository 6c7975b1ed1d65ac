import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import type { Socket } from 'node:net';

/**
 * A forward proxy on 127.0.0.1 that counts what passes through it: every
 * CONNECT tunnel asked for (erp-sync tunnels http and https alike), with the
 * Proxy-Authorization it came with. It resolves the names in `hosts` itself,
 * as a corporate proxy resolves names the shop's PC cannot: a service that
 * only it can find proves the request went through it.
 */
export interface CountingProxy {
  readonly url: string;
  readonly port: number;
  /** host:port of every tunnel asked for, in order. */
  readonly tunnels: string[];
  /** The Proxy-Authorization header of every CONNECT, '' where there was none. */
  readonly authorizations: string[];
  close(): Promise<void>;
}

export async function startProxy(options: { credentials?: string; hosts?: Record<string, string> } = {}): Promise<CountingProxy> {
  const tunnels: string[] = [];
  const authorizations: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((_req, res) => res.writeHead(400).end('only CONNECT'));
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('connect', (req, client: Socket, head: Buffer) => {
    const target = req.url ?? '';
    tunnels.push(target);
    const authorization = req.headers['proxy-authorization'] ?? '';
    authorizations.push(authorization);
    client.on('error', () => undefined);
    if (options.credentials && authorization !== `Basic ${Buffer.from(options.credentials).toString('base64')}`) {
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const at = target.lastIndexOf(':');
    const host = target.slice(0, at).replace(/^\[|\]$/g, '');
    const upstream = connect(Number(target.slice(at + 1)), options.hosts?.[host] ?? host);
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.once('connect', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.once('error', () => {
      if (client.writable) client.end('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    tunnels,
    authorizations,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
