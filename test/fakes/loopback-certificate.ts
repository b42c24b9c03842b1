import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from 'selfsigned';

export interface LoopbackCertificate {
  readonly key: string;
  readonly cert: string;
  /** A temp directory holding `caFile`; the fake removes it on close. */
  readonly dir: string;
  /** The certificate as PEM in a 0600 file, for `--ca-file`, VAULT_CACERT or NODE_EXTRA_CA_CERTS. */
  readonly caFile: string;
}

/**
 * A self-signed certificate made at test time for a fake served over HTTPS on loopback: valid for
 * localhost and 127.0.0.1, plus `dnsNames`, and its own CA so a client can trust it per connection.
 */
export async function loopbackCertificate(label: string, dnsNames: readonly string[] = []): Promise<LoopbackCertificate> {
  const pems = await generate([{ name: 'commonName', value: `claude-creds fake ${label}` }], {
    keyType: 'ec',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [{ type: 2 as const, value: 'localhost' }, ...dnsNames.map((value) => ({ type: 2 as const, value })), { type: 7 as const, ip: '127.0.0.1' }],
      },
    ],
  });
  const slug = label.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  const dir = await mkdtemp(join(tmpdir(), `claude-creds-${slug}-`));
  const caFile = join(dir, `fake-${slug}-ca.pem`);
  await writeFile(caFile, pems.cert, { mode: 0o600 });
  return { key: pems.private, cert: pems.cert, dir, caFile };
}
