/**
 * `parley describe <file>`: the topology of a YAML file as Kafka Streams' describe() text, a Mermaid flowchart,
 * or (`--dry-run --json`) the compiled graph with tasks and internal topics. Nothing connects to Kafka.
 */
import { Command, Option } from 'commander';
import { loadTopologyFile } from '../topology/config/load.ts';
import { describeJson, describeMermaid, describeText } from '../topology/describe.ts';
import { formatIssue } from '../topology/validate.ts';

interface DescribeOptions {
  format: 'text' | 'mermaid' | 'json';
  dryRun?: boolean;
  json?: boolean;
}

export function describeCommand(): Command {
  return new Command('describe')
    .description('print a topology YAML file as Kafka Streams-style text, Mermaid, or a JSON graph')
    .argument('<file>', 'topology YAML file')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'mermaid', 'json']).default('text'))
    .option('--dry-run', 'validate and compile the topology without running it (the default: describe never runs)')
    .option(
      '--json',
      'print the compiled graph as JSON: sub-topologies with tasks, nodes, edges, topics, stores (= --format json)',
    )
    .action((file: string, options: DescribeOptions) => {
      const { topology, issues } = loadTopologyFile(file);
      // Issues go to stderr so stdout stays a clean document (JSON or Mermaid) for pipes.
      for (const issue of issues) console.error(formatIssue(issue));
      if (!topology) {
        console.error(`parley describe: ${file} is not a valid topology; nothing to describe`);
        process.exitCode = 1;
        return;
      }
      if (options.json || options.format === 'json')
        process.stdout.write(`${JSON.stringify(describeJson(topology), null, 2)}\n`);
      else if (options.format === 'mermaid') process.stdout.write(describeMermaid(topology));
      else process.stdout.write(describeText(topology));
    });
}
