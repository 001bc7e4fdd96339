import type { Command } from 'commander';
import { examples, globals, openRepo } from '../run.js';

export function register(program: Command): void {
  const cmd = program
    .command('mcp')
    .description('serve the memory tools to an AI assistant over MCP (stdio)')
    .action(async (_opts, command: Command) => {
      const { serveStdio } = await import('../../mcp/server.js');
      // auto-sync runs the executable this server was started as
      await serveStdio(await openRepo(globals(command)), { autoSyncCli: process.argv[1] });
    });
  examples(cmd, ['gitstate --dir ~/state mcp']);
}
