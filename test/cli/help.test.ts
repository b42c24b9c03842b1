import { describe, expect, test } from 'vitest';
import { runCli } from '../support/cli.js';

/** The option groups of a help text, in order, each with its option lines. */
function groups(help: string): Map<string, string[]> {
  const found = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of help.split('\n')) {
    if (/^\S.*options.*:$|^Options:$/.test(line)) {
      current = [];
      found.set(line, current);
    } else if (/^\S/.test(line)) {
      current = undefined;
    } else if (current && /^ {2}-/.test(line)) {
      current.push(line.trim());
    }
  }
  return found;
}

describe('--help', () => {
  test('the top-level help says how to wrap a command, the environment convention, the exit codes and where the docs are', async () => {
    const result = await runCli(['--help']);
    expect(result.code).toBe(0);
    const help = result.stdout;
    expect(help).toContain('claude-creds [options] -- COMMAND [ARGS...]');
    expect(help).toMatch(/Environment:[\s\S]*CLAUDE_CREDS_ and the option in capitals[\s\S]*CLAUDE_CREDS_PULL_INTERVAL/);
    expect(help).toContain('CLAUDE_CONFIG_DIR');
    for (const code of ['64', '65', '66', '69', '70', '73', '75', '77', '78', '126', '127', '128+N']) expect(help).toMatch(new RegExp(`^\\s+${code.replace('+', '\\+')}\\s`, 'm'));
    expect(help).toMatch(/status: 0 valid, 1 expiring, 2 expired, 3 invalid, 4 missing/);
    expect(help).toMatch(/Documentation: .*README/);
    expect(help).toMatch(/^ {2}completion /m);
  });

  test.each([
    ['run', ['Options:', 'Provider options (where the credentials live):', 'Output options (the local credentials file):', 'Credential kind options:', 'Sync options (sidecar, run --sync):', 'Health options:', 'Logging options:']],
    ['sidecar', ['Options:', 'Provider options (where the credentials live):', 'Output options (the local credentials file):', 'Sync options (sidecar, run --sync):', 'Health options:', 'Logging options:']],
    ['fetch', ['Options:', 'Provider options (where the credentials live):', 'Output options (the local credentials file):', 'Credential kind options:', 'Logging options:']],
  ])('%s groups its options (provider, output, kind, sync, health, logging), none in a 60-line list', async (command, expected) => {
    const result = await runCli([command, '--help']);
    expect(result.code).toBe(0);
    const found = groups(result.stdout);
    expect([...found.keys()]).toEqual(expected);
    for (const [group, lines] of found) {
      expect(lines.length, group).toBeGreaterThan(0);
      expect(lines.length, group).toBeLessThan(15);
    }
    expect(found.get('Provider options (where the credentials live):')?.some((line) => line.startsWith('-p, --provider'))).toBe(true);
    expect(found.get('Logging options:')?.some((line) => line.startsWith('--log-format'))).toBe(true);
  });

  test('the variable is named only where it is not CLAUDE_CREDS_<FLAG>; the convention is stated once', async () => {
    const apiKey = await runCli(['api-key', '--help']);
    expect(apiKey.stdout.replace(/\s+/g, ' ')).toContain('env CLAUDE_CREDS_API_KEY_CACHE_TTL');
    const run = await runCli(['run', '--help']);
    expect(run.stdout).not.toContain('CLAUDE_CREDS_PROVIDER');
  });

  test.each(['fetch', 'run', 'sidecar', 'status', 'push', 'api-key', 'completion'])('%s --help has examples', async (command) => {
    const result = await runCli([command, '--help']);
    expect(result.stdout).toMatch(/Examples[^\n]*:\n {2}\$ claude-creds /);
  });
});
