// The CLI's two start-up dependencies on their own, as a floor for `gitstate get`:
// commander parses the arguments, yaml parses the file, one value is printed.
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { parse } from 'yaml';

new Command('deps-floor')
  .argument('<file>')
  .argument('<key>')
  .action((file, key) => console.log(parse(readFileSync(file, 'utf8'))?.[key]))
  .parse();
