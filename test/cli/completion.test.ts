import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PROVIDER_NAMES } from '../../src/core/provider.js';
import { runCli } from '../support/cli.js';
import { useTempDir } from '../support/temp-dir.js';

const hasZsh = spawnSync('zsh', ['--version']).status === 0;
if (!hasZsh) console.log('[completion] zsh is not installed: SKIPPING the zsh checks (apt-get install zsh)');

describe('claude-creds completion', () => {
  const tempDir = useTempDir();
  let bashScript = '';
  let zshScript = '';

  let scripts = '';
  beforeAll(async () => {
    // Kept for the whole file (useTempDir's directories go after each test).
    scripts = mkdtempSync(join(tmpdir(), 'claude-creds-completion-'));
    const dir = scripts;
    bashScript = join(dir, 'claude-creds.bash');
    zshScript = join(dir, '_claude-creds');
    const bash = await runCli(['completion', 'bash']);
    const zsh = await runCli(['completion', 'zsh']);
    expect(bash.code, bash.stderr).toBe(0);
    expect(zsh.code, zsh.stderr).toBe(0);
    writeFileSync(bashScript, bash.stdout);
    writeFileSync(zshScript, zsh.stdout);
  }, 30_000);
  afterAll(() => {
    if (scripts !== '') rmSync(scripts, { recursive: true, force: true });
  });

  /** Sources the script in bash, sets COMP_WORDS/COMP_CWORD as bash would for `line`, calls the function, returns COMPREPLY. */
  function complete(words: readonly string[]): string[] {
    const array = words.map((word) => `'${word.replace(/'/g, `'\\''`)}'`).join(' ');
    const script = `source '${bashScript}'; COMP_WORDS=(${array}); COMP_CWORD=${words.length - 1}; COMPREPLY=(); _claude_creds; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const result = spawnSync('bash', ['--norc', '--noprofile', '-c', script], { encoding: 'utf8', env: { PATH: process.env.PATH } });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toBe('');
    return result.stdout.split('\n').filter((line) => line !== '');
  }

  test('bash: the script is valid bash and registers the function for claude-creds', () => {
    const result = spawnSync('bash', ['--norc', '-c', `source '${bashScript}' && complete -p claude-creds`], { encoding: 'utf8' });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/complete .*-F _claude_creds claude-creds/);
  });

  test.each<[string, string[], string[] | ((reply: string[]) => void)]>([
    ['the commands', ['claude-creds', ''], ['fetch', 'run', 'sidecar', 'status', 'api-key', 'push', 'completion', 'help']],
    ['a command from its start', ['claude-creds', 'si'], ['sidecar']],
    ['a command\'s options', ['claude-creds', 'fetch', '--ke'], ['--keep-existing']],
    ['--provider values, from the same list as the CLI', ['claude-creds', 'fetch', '--provider', ''], [...PROVIDER_NAMES]],
    ['-p values', ['claude-creds', 'push', '-p', 'a'], ['aws', 'azure']],
    ['--kind values', ['claude-creds', 'run', '--kind', ''], ['oauth', 'api-key', 'oauth-token']],
    ['--worker-copy values', ['claude-creds', 'sidecar', '--worker-copy', ''], ['full', 'access-only']],
    ['--log-format values, before any command (the wrapper\'s options)', ['claude-creds', '--provider', 'env', '--log-format', ''], ['json', 'pretty']],
    ['--log-format=... split at = as bash does', ['claude-creds', 'status', '--log-format', '=', 'j'], ['json']],
    ['the completion command\'s shells', ['claude-creds', 'completion', ''], ['bash', 'zsh']],
    ['help topics', ['claude-creds', 'help', 'st'], ['status']],
    ['sidecar has no kind option, status has no sync option', ['claude-creds', 'status', '--pu'], []],
    ['a free value (a path) is left to the shell', ['claude-creds', 'fetch', '--out', ''], []],
    ['a program after --', ['claude-creds', '--provider', 'env', '--', 'bas'], (reply) => expect(reply).toContain('bash')],
    ['the program\'s own words are left to the shell', ['claude-creds', '--', 'bash', '--nor'], []],
    ['a program after run', ['claude-creds', 'run', 'bas'], (reply) => expect(reply).toContain('bash')],
  ])('bash: %s', (_name, words, expected) => {
    const reply = complete(words);
    if (typeof expected === 'function') expected(reply);
    else expect(reply.sort()).toEqual([...expected].sort());
  });

  test('both scripts hold every command, option and choice of the CLI (one source of truth)', async () => {
    const help = await runCli(['sidecar', '--help']);
    // The option lines of the help (not the examples): `  -p, --provider <name>`, `  --pull-interval <duration>`.
    const flags = [...help.stdout.matchAll(/^ {2}(?:-\w, )?(--[a-z][a-z-]+)/gm)].map((match) => match[1] as string);
    expect(flags.length).toBeGreaterThan(20);
    const bash = complete(['claude-creds', 'sidecar', '--']);
    for (const flag of new Set(flags)) {
      expect(bash, flag).toContain(flag);
    }
    const zsh = spawnSync('cat', [zshScript], { encoding: 'utf8' }).stdout;
    for (const word of ['--pull-interval', '--worker-copy', '(full access-only)', `(${PROVIDER_NAMES.join(' ')})`, '(oauth api-key oauth-token)', '(json pretty)', 'status:', 'api-key:']) {
      expect(zsh).toContain(word);
    }
  });

  test.skipIf(!hasZsh)('zsh: the script passes zsh -n, and compinit registers it for claude-creds', () => {
    const syntax = spawnSync('zsh', ['-n', zshScript], { encoding: 'utf8' });
    expect(syntax.status, syntax.stderr).toBe(0);
    const home = tempDir();
    const registered = spawnSync('zsh', ['-f', '-c', `autoload -U compinit && compinit -u -d '${home}/.zcompdump' && source '${zshScript}' && print -r -- $_comps[claude-creds]`], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, HOME: home },
    });
    expect(registered.status, registered.stderr).toBe(0);
    expect(registered.stdout.trim()).toBe('_claude_creds');
  });

  /** Calls the zsh function with `words` and CURRENT as compsys would set them; the completion builtins are stubs that print what they were given. */
  function zshDispatch(words: readonly string[]): string {
    const array = words.map((word) => `'${word.replace(/'/g, `'\\''`)}'`).join(' ');
    const stubs = [
      `_describe() { print -r -- "describe: \${(j: :)\${(@)commands%%:*}}" }`,
      `_arguments() { print -r -- "arguments: $*" }`,
      `_normal() { print -r -- "normal: \${(j: :)words} at $CURRENT" }`,
      `compdef() { : }`,
    ].join('\n');
    const script = `${stubs}\nsource '${zshScript}'\nwords=(${array}); CURRENT=${words.length}; _claude_creds`;
    const result = spawnSync('zsh', ['-f', '-c', script], { encoding: 'utf8', env: { PATH: process.env.PATH } });
    expect(result.status, result.stderr).toBe(0);
    return result.stdout;
  }

  test.skipIf(!hasZsh).each<[string, string[], RegExp]>([
    ['the commands', ['claude-creds', ''], /^describe: fetch run sidecar status api-key push completion help$/m],
    ['fetch: --provider with its choices, --out with files', ['claude-creds', 'fetch', '--provider', ''], new RegExp(`--provider\\[where the credentials live\\]:name:\\(${PROVIDER_NAMES.join(' ')}\\).*--out\\[.*\\]:path:_files`)],
    ['the wrapper\'s options before --', ['claude-creds', '--log-format', ''], /--log-format\[.*\]:format:\(json pretty\)/],
    ['after --: the program as a command line of its own', ['claude-creds', '--provider', 'env', '--', 'pyth'], /^normal: pyth at 1$/m],
    ['completion: its shells', ['claude-creds', 'completion', ''], /'?1:argument:\(bash zsh\)'?/],
  ])('zsh: %s', (_name, words, expected) => {
    expect(zshDispatch(words)).toMatch(expected);
  });
});
