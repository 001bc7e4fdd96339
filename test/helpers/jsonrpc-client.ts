/**
 * A raw JSON-RPC 2.0 client over a child process's stdio, one message per
 * line, with no MCP SDK code: what a client the SDK did not write sees. It can
 * also send arbitrary lines (malformed JSON, requests without params).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

export interface RpcMessage {
  jsonrpc?: string;
  id?: number | string | null;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { code: number; message: string; data?: unknown };
}

export class RawRpcClient {
  readonly proc: ChildProcessWithoutNullStreams;
  /** Every message the server sent, in order. */
  readonly received: RpcMessage[] = [];
  /** Lines on stdout that were not JSON (there must be none). */
  readonly garbage: string[] = [];
  stderr = '';
  private nextId = 1;
  private buffer = '';
  private readonly waiters: Array<{ match: (m: RpcMessage) => boolean; resolve: (m: RpcMessage) => void }> = [];
  readonly exited: Promise<number | null>;

  constructor(command: string, args: string[], env: NodeJS.ProcessEnv) {
    this.proc = spawn(command, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stdout.setEncoding('utf8');
    this.proc.stdout.on('data', (chunk: string) => this.onData(chunk));
    this.proc.stderr.on('data', (d) => (this.stderr += d));
    this.exited = new Promise((resolve) => this.proc.on('exit', (code) => resolve(code)));
  }

  /** Send a line as it is (no JSON encoding). */
  sendLine(line: string): void {
    this.proc.stdin.write(`${line}\n`);
  }

  notify(method: string, params?: Record<string, unknown>): void {
    this.sendLine(JSON.stringify(params === undefined ? { jsonrpc: '2.0', method } : { jsonrpc: '2.0', method, params }));
  }

  /** Send a request and wait for the response with its id (result or error). */
  request(method: string, params?: Record<string, unknown>): Promise<RpcMessage> {
    const id = this.nextId++;
    const message: RpcMessage = params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params };
    const response = this.waitFor((m) => m.id === id && (m.result !== undefined || m.error !== undefined));
    this.sendLine(JSON.stringify(message));
    return response;
  }

  /** The first message (already received or still to come) that matches. */
  waitFor(match: (m: RpcMessage) => boolean): Promise<RpcMessage> {
    const seen = this.received.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  /** initialize + notifications/initialized, as every MCP client starts. */
  async initialize(): Promise<RpcMessage> {
    const r = await this.request('initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw-test-client', version: '1.0.0' } });
    this.notify('notifications/initialized');
    return r;
  }

  /** tools/call: the text of the result, and whether it is a tool error. */
  async call(name: string, args: Record<string, unknown> = {}): Promise<{ text: string; isError: boolean }> {
    const r = await this.request('tools/call', { name, arguments: args });
    if (r.error) throw new Error(`tools/call ${name}: protocol error ${r.error.code} ${r.error.message}`);
    const content = (r.result?.content ?? []) as Array<{ text?: string }>;
    return { text: content.map((c) => c.text ?? '').join(''), isError: Boolean(r.result?.isError) };
  }

  async close(): Promise<number | null> {
    this.proc.stdin.end();
    return this.exited;
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    for (let nl = this.buffer.indexOf('\n'); nl >= 0; nl = this.buffer.indexOf('\n')) {
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 1);
      if (!line.trim()) continue;
      let message: RpcMessage;
      try {
        message = JSON.parse(line) as RpcMessage;
      } catch {
        this.garbage.push(line);
        continue;
      }
      this.received.push(message);
      for (let i = this.waiters.length - 1; i >= 0; i--) {
        if (this.waiters[i]!.match(message)) this.waiters.splice(i, 1)[0]!.resolve(message);
      }
    }
  }
}
