/**
 * The parts of zod gitstate uses, imported from here (`import * as z from
 * '../base/zod.js'`) rather than from 'zod'.
 *
 * Why: the CLI's build bundles this module on its own first, as one CommonJS
 * closure, and puts that into the CLI bundle (scripts/build.mjs). Bundled as ES
 * modules, zod's ~2,000 functions would sit at the bundle's top level, and V8's
 * code cache that every CLI call reads carries an entry for each of them: ~90 KB,
 * ~3 ms of a `get`, which never runs zod. A closure's functions cost nothing
 * until it runs. Listing the names keeps the closure to what is used (everything
 * zod exports is 2.7 times larger).
 */
export {
  array,
  boolean,
  date,
  discriminatedUnion,
  enum,
  fromJSONSchema,
  intersection,
  literal,
  looseObject,
  null,
  number,
  record,
  strictObject,
  string,
  union,
  unknown,
  url,
} from 'zod';
export type { infer, ZodType } from 'zod';
