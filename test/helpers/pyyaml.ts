/**
 * Real PyYAML as a second reader: one long-lived python3 process per test
 * file, fed documents as JSON lines, answering with what `yaml.safe_load`
 * made of each, types included. Never skips: without PyYAML it fails, saying
 * what to install.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';

const SERVER = String.raw`
import json, sys, math, datetime
import yaml
def enc(v):
    if v is None or isinstance(v, (bool, str)): return v
    if isinstance(v, int): return {"$int": str(v)}
    if isinstance(v, float):
        if math.isnan(v): return {"$float": "nan"}
        if math.isinf(v): return {"$float": "inf" if v > 0 else "-inf"}
        return {"$float": repr(v)}
    if isinstance(v, list): return [enc(x) for x in v]
    if isinstance(v, dict): return {"$map": [[enc(k), enc(x)] for k, x in v.items()]}
    if isinstance(v, (datetime.date, datetime.datetime)): return {"$date": v.isoformat()}
    return {"$other": type(v).__name__ + ":" + repr(v)}
sys.stdout.write(json.dumps({"ready": yaml.__version__}) + "\n"); sys.stdout.flush()
for line in sys.stdin:
    req = json.loads(line)
    try:
        if "dump" in req:
            out = {"id": req["id"], "value": yaml.safe_dump(req["dump"], **req["options"])}
        else:
            out = {"id": req["id"], "value": enc(yaml.safe_load(req["text"]))}
    except Exception as e:
        out = {"id": req["id"], "error": type(e).__name__ + ": " + str(e).replace("\n", " ")}
    sys.stdout.write(json.dumps(out) + "\n"); sys.stdout.flush()
`;

/** The python3 that has PyYAML: the one on PATH, else Debian's (.ci/run installs python3-yaml there). */
function findPython(): string {
  for (const candidate of ['python3', '/usr/bin/python3']) {
    const probe = spawnSync(candidate, ['-c', 'import yaml'], { stdio: 'ignore' });
    if (probe.status === 0) return candidate;
  }
  throw new Error('PyYAML is needed for these tests and was not found: install it (apt-get install python3-yaml, or pip install pyyaml)');
}

/** What PyYAML read, decoded: numbers are numbers; a non-string key, a date or another type stays marked, so it differs. */
export type PyValue = unknown;

export class PyYaml {
  private child: ChildProcessWithoutNullStreams | null = null;
  private ready: Promise<void> | null = null;
  private next = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private start(): Promise<void> {
    this.ready ??= new Promise((resolve, reject) => {
      const child = spawn(findPython(), ['-u', '-c', SERVER], { stdio: ['pipe', 'pipe', 'pipe'] });
      this.child = child;
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      child.on('exit', (code) => {
        const err = new Error(`the PyYAML process exited (${code}): ${stderr}`);
        reject(err);
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
      });
      createInterface({ input: child.stdout }).on('line', (line) => {
        const msg = JSON.parse(line) as { ready?: string; id?: number; value?: unknown; error?: string };
        if (msg.ready) return resolve();
        const waiter = this.pending.get(msg.id!);
        if (!waiter) return;
        this.pending.delete(msg.id!);
        if (msg.error !== undefined) waiter.reject(new Error(`PyYAML: ${msg.error}`));
        else waiter.resolve(decode(msg.value));
      });
    });
    return this.ready;
  }

  private readonly loaded = new Map<string, Promise<PyValue>>();

  /** `yaml.safe_load(text)`, decoded (see PyValue). The same text is read once. */
  load(text: string): Promise<PyValue> {
    let result = this.loaded.get(text);
    if (!result) {
      result = this.request({ text });
      if (this.loaded.size > 10_000) this.loaded.clear();
      this.loaded.set(text, result);
    }
    return result;
  }

  /** `yaml.safe_dump(data, **options)`: the text PyYAML writes for `data`. */
  async dump(data: unknown, options: Record<string, unknown> = { default_flow_style: false }): Promise<string> {
    return (await this.request({ dump: data, options })) as string;
  }

  private async request(body: Record<string, unknown>): Promise<unknown> {
    await this.start();
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child!.stdin.write(`${JSON.stringify({ id, ...body })}\n`);
    });
  }

  close(): void {
    this.child?.stdin.end();
    this.child = null;
    this.ready = null;
  }
}

function decode(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(decode);
  const tagged = v as Record<string, unknown>;
  if ('$int' in tagged) return Number(tagged.$int);
  if ('$float' in tagged) return tagged.$float === 'nan' ? NaN : tagged.$float === 'inf' ? Infinity : tagged.$float === '-inf' ? -Infinity : Number(tagged.$float);
  if ('$map' in tagged) {
    const out: Record<string, unknown> = {};
    for (const [k, value] of tagged.$map as Array<[unknown, unknown]>) {
      // A key PyYAML read as something other than a string is marked, so it never equals gitstate's string key.
      const key = typeof k === 'string' ? k : `$key:${JSON.stringify(k)}`;
      Object.defineProperty(out, key, { value: decode(value), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return { $type: tagged };
}

/** Deep equality with numbers compared by value (PyYAML's int 5 is gitstate's 5; -0 is 0). */
export function sameData(a: unknown, b: unknown): boolean {
  // Both sides turn the same digits into the same double, so a big integer compares equal too.
  if (typeof a === 'number' && typeof b === 'number') return a === b || (Number.isNaN(a) && Number.isNaN(b));
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return a === b;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) return a.length === (b as unknown[]).length && a.every((x, i) => sameData(x, (b as unknown[])[i]));
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && sameData((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}
