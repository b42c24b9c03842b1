import { describe, expect, test } from 'vitest';
import { chooseProvider, defaultCredentialsPath, onboardingPath, parseOwner, secretVariables } from '../../src/core/config.js';
import { ConfigError, UsageError } from '../../src/core/errors.js';

describe('defaultCredentialsPath', () => {
  test.each([
    [{ CLAUDE_CONFIG_DIR: '/config' }, '/home/worker', '/config/.credentials.json'],
    [{ CLAUDE_CONFIG_DIR: '/config/' }, '/home/worker', '/config/.credentials.json'],
    [{}, '/home/worker', '/home/worker/.claude/.credentials.json'],
    [{ CLAUDE_CONFIG_DIR: '' }, '/root', '/root/.claude/.credentials.json'],
  ])('with %j and home %s it is %s', (env, home, expected) => {
    expect(defaultCredentialsPath(env, home)).toBe(expected);
  });
});

describe('the config directory: setups where claude-creds and the Claude CLI would silently disagree are refused', () => {
  test.each([
    ['HOME empty, no CLAUDE_CONFIG_DIR (was /.claude/.credentials.json)', {}, '', /^HOME is empty, so there is no ~\/\.claude to use \(it would be \/\.claude\): set CLAUDE_CONFIG_DIR or HOME, or give the file with --out$/],
    ['CLAUDE_CONFIG_DIR="~/cfg" (a shell did not expand it)', { CLAUDE_CONFIG_DIR: '~/cfg' }, '/home/node', /^CLAUDE_CONFIG_DIR is "~\/cfg": the ~ was not expanded.*the Claude CLI does not expand it either.*\(\/home\/node\/cfg\?\)$/],
    ['CLAUDE_CONFIG_DIR="~"', { CLAUDE_CONFIG_DIR: '~' }, '/home/node', /^CLAUDE_CONFIG_DIR is "~": .*set it to the absolute path$/],
    ['CLAUDE_CONFIG_DIR="~node/cfg"', { CLAUDE_CONFIG_DIR: '~node/cfg' }, '/home/node', /^CLAUDE_CONFIG_DIR is "~node\/cfg"/],
  ])('%s: ConfigError (78)', (_name, env, home, message) => {
    expect(() => defaultCredentialsPath(env, home)).toThrow(ConfigError);
    expect(() => defaultCredentialsPath(env, home)).toThrow(message);
    expect(() => onboardingPath(env, home)).toThrow(message);
  });

  test('HOME empty does not matter when CLAUDE_CONFIG_DIR is set; a ~ inside the path is just a character', () => {
    expect(defaultCredentialsPath({ CLAUDE_CONFIG_DIR: '/cfg' }, '')).toBe('/cfg/.credentials.json');
    expect(defaultCredentialsPath({ CLAUDE_CONFIG_DIR: '/data/~backup' }, '/root')).toBe('/data/~backup/.credentials.json');
  });
});

describe('parseOwner', () => {
  test.each([
    ['1000:1000', { uid: 1000, gid: 1000 }],
    ['1000:2000', { uid: 1000, gid: 2000 }],
    ['1001', { uid: 1001, gid: 1001 }],
  ])('%s is %j', (text, owner) => {
    expect(parseOwner(text)).toEqual(owner);
  });
  test.each(['node:node', '1000:', '-1:0', ''])('refuses %j', (text) => {
    expect(() => parseOwner(text)).toThrow(UsageError);
  });
});

describe('chooseProvider', () => {
  test.each([
    [{ provider: 'gcp', secret: 's' }, {}, 'gcp', '--provider'],
    [{ provider: 'AWS' }, {}, 'aws', '--provider'],
    [{ secret: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:claude-AbCdEf' }, {}, 'aws', 'ARN'],
    [{ secret: 'projects/p/secrets/claude' }, {}, 'gcp', 'GCP resource path'],
    [{ secret: 'https://v.vault.azure.net/secrets/claude' }, {}, 'azure', 'Key Vault URL'],
    [{ secret: '/mnt/efs/claude.json' }, {}, 'file', 'file path'],
    [{ secret: './creds.json' }, {}, 'file', 'file path'],
    [{ secret: 'claude', vaultUrl: 'https://v.vault.azure.net' }, {}, 'azure', '--vault-url'],
    [{ secret: 'MY_CREDS' }, { MY_CREDS: 'x' }, 'env', 'MY_CREDS is set'],
    [{}, { CLAUDE_CREDENTIALS_B64: 'x' }, 'env', 'CLAUDE_CREDENTIALS_B64 is set'],
    [{}, { CLAUDE_CREDENTIALS_JSON: '{}' }, 'env', 'CLAUDE_CREDENTIALS_JSON is set'],
  ])('options %j with env %j choose %s (%s)', (options, env, name, reason) => {
    const choice = chooseProvider(options, env);
    expect(choice.config.name).toBe(name);
    expect(choice.reason).toContain(reason);
  });

  test('a name that fits nothing is a config error that lists the options', () => {
    expect(() => chooseProvider({ secret: 'claude-credentials' }, {})).toThrow(ConfigError);
    expect(() => chooseProvider({}, {})).toThrow(/--provider \(env, file, aws, gcp, azure, vault, kubernetes\)/);
  });

  test('kubernetes is chosen by --provider only: a namespace/name in a pod is not guessed (it is also a Vault KV path)', () => {
    const inPod = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };
    expect(chooseProvider({ provider: 'kubernetes', secret: 'claude/claude-credentials' }, inPod).config.name).toBe('kubernetes');
    expect(() => chooseProvider({ secret: 'claude/claude-credentials' }, inPod)).toThrow(ConfigError);
  });

  test('an unknown provider name is a usage error', () => {
    expect(() => chooseProvider({ provider: 'keychain' }, {})).toThrow(/unknown provider "keychain"/);
  });

  test('passes every provider option and the environment through', () => {
    const env = { X: '1' };
    const { config } = chooseProvider({ provider: 'aws', secret: 's', region: 'r', endpoint: 'e', project: 'p', vaultUrl: 'v', caFile: 'c' }, env);
    expect(config).toEqual({ name: 'aws', secret: 's', region: 'r', endpoint: 'e', project: 'p', vaultUrl: 'v', caFile: 'c', env });
  });
});

describe('secretVariables', () => {
  test('always includes the default variables and the one --secret named for env', () => {
    const { config } = chooseProvider({ provider: 'env', secret: 'TEAM_CLAUDE' }, {});
    expect(secretVariables(config).sort()).toEqual(['CLAUDE_CREDENTIALS_B64', 'CLAUDE_CREDENTIALS_JSON', 'TEAM_CLAUDE']);
    expect(secretVariables(undefined).sort()).toEqual(['CLAUDE_CREDENTIALS_B64', 'CLAUDE_CREDENTIALS_JSON']);
  });

  test('with the vault provider, also the Vault credentials that open the store', () => {
    const { config } = chooseProvider({ provider: 'vault', secret: 'secret/claude' }, {});
    expect(secretVariables(config).sort()).toEqual(['CLAUDE_CREDENTIALS_B64', 'CLAUDE_CREDENTIALS_JSON', 'VAULT_ROLE_ID', 'VAULT_SECRET_ID', 'VAULT_TOKEN']);
  });

  test.each([
    ['aws', ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_CONTAINER_AUTHORIZATION_TOKEN', 'AWS_PROFILE'], ['AWS_REGION', 'AWS_DEFAULT_REGION']],
    ['gcp', ['GOOGLE_APPLICATION_CREDENTIALS'], ['GOOGLE_CLOUD_PROJECT']],
    ['azure', ['AZURE_CLIENT_SECRET', 'AZURE_CLIENT_CERTIFICATE_PATH', 'AZURE_FEDERATED_TOKEN_FILE', 'IDENTITY_HEADER', 'MSI_SECRET'], ['AZURE_TENANT_ID', 'AZURE_CLIENT_ID']],
    ['vault', ['VAULT_TOKEN', 'VAULT_ROLE_ID', 'VAULT_SECRET_ID'], ['VAULT_ADDR', 'VAULT_NAMESPACE']],
  ])('with the %s provider, its store credentials, and not the settings beside them', (provider, withheld, kept) => {
    const { config } = chooseProvider({ provider, secret: 'x/y' }, {});
    const names = secretVariables(config);
    expect(names).toEqual(expect.arrayContaining(withheld));
    for (const name of kept) expect(names).not.toContain(name);
  });

  test('a store credential of another provider than the chosen one stays: it is the worker\'s own', () => {
    const { config } = chooseProvider({ provider: 'env' }, {});
    expect(secretVariables(config)).not.toContain('AWS_SECRET_ACCESS_KEY');
  });
});
