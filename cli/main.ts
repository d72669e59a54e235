/**
 * `parley`: one command for the project's operations. Each subcommand lives in its own module and is added
 * here; this file only wires them together.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { projectRoot } from '../integration/stack/config.ts';
import { describeCommand } from './describe.ts';
import { guardrailCommand } from './guardrail.ts';
import { lagCommand } from './lag.ts';
import { lintCommand } from './lint.ts';
import { proposeCommand } from './propose.ts';
import { runCommand } from './run.ts';
import { stackCommand } from './stack.ts';

const { version } = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { version: string };

const program = new Command('parley')
  .description('Leaderless consensus for multi-agent decisions, as a Kafka Streams-style topology')
  .version(version)
  .showHelpAfterError();

program.addCommand(stackCommand());
program.addCommand(lintCommand());
program.addCommand(describeCommand());
program.addCommand(runCommand());
program.addCommand(proposeCommand());
program.addCommand(guardrailCommand());
program.addCommand(lagCommand());

program.parseAsync(process.argv).catch((error: Error) => {
  console.error(`parley: ${error.message}`);
  process.exitCode = 1;
});
