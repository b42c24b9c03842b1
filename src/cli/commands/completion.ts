/** `claude-creds completion bash|zsh`: a shell completion script generated from the CLI's own definitions. */
import { Argument, Option, type Command } from 'commander';
import { EXIT } from '../../core/errors.js';

const EXAMPLES = `
Examples:
  $ claude-creds completion bash
  $ claude-creds completion zsh

Install: source <(claude-creds completion bash) in ~/.bashrc, or save the output as
/etc/bash_completion.d/claude-creds; for zsh, save it as _claude-creds in a directory of $fpath.`;

export function addCompletionCommand(program: Command): void {
  program
    .command('completion')
    .description('print a shell completion script (bash or zsh) for claude-creds')
    .addArgument(new Argument('<shell>', 'the shell').choices(['bash', 'zsh']))
    .addOption(new Option('--dry-run', 'say what would be printed, print nothing on stdout').env('CLAUDE_CREDS_DRY_RUN'))
    .addHelpText('after', EXAMPLES)
    .action(async (shell: string, options: { readonly dryRun?: boolean }) => {
      if (options.dryRun) {
        process.stderr.write(`claude-creds: dry run: would print the ${shell} completion script\n`);
        return;
      }
      // Loaded only here: no other command pays for the generators.
      const { completionModel } = await import('../completion/model.js');
      const model = completionModel(program);
      const script = shell === 'zsh' ? (await import('../completion/zsh.js')).zshCompletion(model) : (await import('../completion/bash.js')).bashCompletion(model);
      process.stdout.write(script);
      process.exitCode = EXIT.ok;
    });
}
