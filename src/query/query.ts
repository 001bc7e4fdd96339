/**
 * JSONPath queries over a state file (RFC 9535), through json-p3 in its strict
 * mode: only the RFC's syntax and functions (length, count, match, search,
 * value), nothing evaluated as script. Results are plain JSON values; each match
 * also carries its normalized path and the same location as a gitstate key path,
 * ready for `set` or `memory_update`.
 */
import { jsonpath, JSONPathError, type JSONPathQuery } from 'json-p3';
import { ExitCode, GitstateError } from '../errors.js';
import { formatKeyPath, type Segment } from '../base/keypath.js';
import { printable } from '../base/paths.js';
import type { StateRepo } from '../core/repo.js';

/** A JSONPath expression that does not parse or is not well typed (exit 3); names the position. */
export class QueryError extends GitstateError {
  readonly code = 'INVALID_QUERY';
  readonly exitCode = ExitCode.rejected;
}

export interface QueryMatch {
  /** RFC 9535 normalized path: `$['active_issues'][0]['key']`. */
  path: string;
  /** The same location as a key path: `active_issues[0].key` (empty for the root). */
  key: string;
  value: unknown;
}

const MAX_QUERY = 4096;

/** Every node `expression` selects in `data`, in the RFC's order. */
export function queryValue(data: unknown, expression: string): QueryMatch[] {
  const query = compileQuery(expression);
  // Timestamps the YAML reader turned into dates are compared and returned as the ISO text they stand for.
  const json = data === undefined ? null : (JSON.parse(JSON.stringify(data)) as never);
  let nodes;
  try {
    nodes = query.query(json).nodes;
  } catch (err) {
    if (err instanceof JSONPathError) throw queryError(expression, err);
    throw err;
  }
  return nodes.map((node) => ({ path: node.getPath({ form: 'canonical' }), key: formatKeyPath(node.location.map(toSegment)), value: node.value }));
}

/** Parse and type-check a query; a QueryError naming the position when it is malformed. */
export function compileQuery(expression: string): JSONPathQuery {
  if (typeof expression !== 'string' || expression.trim() === '') throw new QueryError('JSONPath query is empty; start it with $, e.g. $.active_issues[*].key');
  if (expression.length > MAX_QUERY) throw new QueryError(`JSONPath query is longer than ${MAX_QUERY} characters`);
  try {
    return jsonpath.compile(expression);
  } catch (err) {
    if (err instanceof JSONPathError) throw queryError(expression, err);
    throw err;
  }
}

function toSegment(step: string | number): Segment {
  return typeof step === 'number' ? { kind: 'index', index: step } : { kind: 'key', name: step };
}

/** json-p3's message ends with its own "('<context>':<index>)"; ours says the position in words. */
function queryError(expression: string, err: JSONPathError): QueryError {
  const index = err.token?.index;
  const reason = err.message.replace(/\s*\('(?:[^']|'(?!:\d+\)$))*':\d+\)$/, '').trim();
  const at = typeof index === 'number' ? ` at position ${index + 1}` : '';
  return new QueryError(`invalid JSONPath "${printable(expression)}"${at}: ${reason}`, { position: typeof index === 'number' ? index + 1 : null });
}

/** Run `expression` over a state file's content (`path` as the caller resolved it). */
export async function queryFile(repo: Pick<StateRepo, 'get'>, path: string, expression: string): Promise<QueryMatch[]> {
  // Parse the query first: a malformed one is refused without reading the file.
  compileQuery(expression);
  return queryValue(await repo.get(path), expression);
}

