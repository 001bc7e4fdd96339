/**
 * MCP over stdio, one JSON-RPC message per line, that answers bad input
 * instead of dropping it and never closes over it: a line that is not JSON
 * gets a parse error (-32700), JSON that is not a JSON-RPC message an invalid
 * request (-32600), a known request whose params do not fit invalid params
 * (-32602). The SDK's own stdio transport only reports such lines to its
 * onerror, so a client waits forever for an answer.
 */
import type { Readable, Writable } from 'node:stream';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ClientRequestSchema, ErrorCode, JSONRPCMessageSchema, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

/** Longest line taken; a longer one is answered with an error and skipped, the connection stays up. */
const MAX_LINE_BYTES = 8 * 1024 * 1024;

/** Schema of each request a client may send, by method. */
const REQUESTS = new Map(ClientRequestSchema.options.map((schema) => [schema.shape.method.value as string, schema]));

type Id = string | number | null;

export class LineTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Inside a line longer than the limit: skip to its end. */
  private skipping = false;
  private closed = false;

  constructor(
    private readonly input: Readable = process.stdin,
    private readonly output: Writable = process.stdout,
  ) {}

  async start(): Promise<void> {
    this.input.on('data', this.onData);
    this.input.on('end', this.onEnd);
    this.input.on('error', this.onInputError);
  }

  send(message: JSONRPCMessage): Promise<void> {
    return new Promise((resolve) => {
      if (this.closed) return resolve();
      if (this.output.write(`${JSON.stringify(message)}\n`)) resolve();
      else this.output.once('drain', () => resolve());
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.input.off('data', this.onData);
    this.input.off('end', this.onEnd);
    this.input.off('error', this.onInputError);
    this.onclose?.();
  }

  private readonly onData = (chunk: Buffer): void => {
    let start = 0;
    for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10, start)) {
      this.take(chunk.subarray(start, nl));
      const line = Buffer.concat(this.chunks).toString('utf8');
      const skipped = this.skipping;
      this.chunks = [];
      this.buffered = 0;
      this.skipping = false;
      if (skipped) this.reply(null, ErrorCode.InvalidRequest, `message longer than ${MAX_LINE_BYTES} bytes; skipped`);
      else this.handleLine(line.replace(/\r$/, ''));
      start = nl + 1;
    }
    this.take(chunk.subarray(start));
  };

  private readonly onEnd = (): void => {
    void this.close();
  };

  private readonly onInputError = (error: Error): void => {
    this.onerror?.(error);
  };

  private take(part: Buffer): void {
    if (this.skipping || part.length === 0) return;
    if (this.buffered + part.length > MAX_LINE_BYTES) {
      this.skipping = true;
      this.chunks = [];
      this.buffered = 0;
      return;
    }
    this.chunks.push(part);
    this.buffered += part.length;
  }

  private handleLine(line: string): void {
    if (line.trim() === '') return;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch (err) {
      return this.reply(null, ErrorCode.ParseError, `Parse error: ${(err as Error).message}`);
    }
    const id = idOf(raw);
    if (Array.isArray(raw)) return this.reply(null, ErrorCode.InvalidRequest, 'Invalid Request: batches are not supported; send one message per line');
    const parsed = JSONRPCMessageSchema.safeParse(raw);
    if (!parsed.success) return this.reply(id, ErrorCode.InvalidRequest, `Invalid Request: ${firstIssue(parsed.error)}`);
    const message = parsed.data;
    if ('method' in message && 'id' in message) {
      const schema = REQUESTS.get(message.method);
      if (schema) {
        const check = schema.safeParse({ method: message.method, params: message.params });
        if (!check.success) return this.reply(message.id, ErrorCode.InvalidParams, `Invalid params for ${message.method}: ${firstIssue(check.error)}`);
      }
    }
    this.onmessage?.(message);
  }

  private reply(id: Id, code: number, message: string): void {
    void this.send({ jsonrpc: '2.0', id: id as never, error: { code, message } } as JSONRPCMessage);
  }
}

function idOf(raw: unknown): Id {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return null;
  const id = (raw as { id?: unknown }).id;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}

function firstIssue(error: { issues: ReadonlyArray<{ path: PropertyKey[]; message: string }> }): string {
  const issue = error.issues[0];
  if (!issue) return 'not a JSON-RPC 2.0 message';
  const where = issue.path.map(String).join('.');
  return where ? `${where}: ${issue.message}` : issue.message;
}
