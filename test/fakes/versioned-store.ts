import { randomUUID } from 'node:crypto';

/**
 * The in-memory secret store behind every cloud fake: named secrets, each a list of immutable
 * versions. The fakes translate their protocol onto this; tests inspect it directly.
 */
export interface StoredVersion {
  readonly id: string;
  /** 1-based position, as GCP numbers versions. */
  readonly number: number;
  readonly value: string | Uint8Array;
  readonly createdAt: number;
  /** AWS staging labels (AWSCURRENT, AWSPREVIOUS, AWSPENDING...). */
  readonly stages: Set<string>;
  /** The client token that created it (AWS ClientRequestToken). */
  readonly requestToken: string | undefined;
}

export interface StoredSecret {
  readonly name: string;
  readonly versions: StoredVersion[];
  readonly createdAt: number;
}

export class VersionedStore {
  private readonly secrets = new Map<string, StoredSecret>();

  create(name: string): StoredSecret {
    const existing = this.secrets.get(name);
    if (existing) return existing;
    const secret: StoredSecret = { name, versions: [], createdAt: Date.now() };
    this.secrets.set(name, secret);
    return secret;
  }

  get(name: string): StoredSecret | undefined {
    return this.secrets.get(name);
  }

  delete(name: string): void {
    this.secrets.delete(name);
  }

  names(): string[] {
    return [...this.secrets.keys()];
  }

  /** Add a version and, unless told otherwise, make it current (moving AWSCURRENT/AWSPREVIOUS). */
  addVersion(
    name: string,
    value: string | Uint8Array,
    options: { id?: string; stages?: readonly string[]; requestToken?: string } = {},
  ): StoredVersion {
    const secret = this.create(name);
    const stages = new Set(options.stages ?? ['AWSCURRENT']);
    if (stages.has('AWSCURRENT')) this.moveCurrentAway(secret);
    for (const stage of stages) {
      for (const other of secret.versions) other.stages.delete(stage);
    }
    const version: StoredVersion = {
      id: options.id ?? randomUUID(),
      number: secret.versions.length + 1,
      value,
      createdAt: Date.now(),
      stages,
      requestToken: options.requestToken,
    };
    secret.versions.push(version);
    return version;
  }

  /** The version labelled AWSCURRENT, or the latest one when no label is used. */
  current(name: string): StoredVersion | undefined {
    const secret = this.secrets.get(name);
    if (!secret) return undefined;
    return secret.versions.find((v) => v.stages.has('AWSCURRENT')) ?? secret.versions.at(-1);
  }

  latest(name: string): StoredVersion | undefined {
    return this.secrets.get(name)?.versions.at(-1);
  }

  moveStage(name: string, stage: string, toVersionId: string): void {
    const secret = this.secrets.get(name);
    if (!secret) return;
    if (stage === 'AWSCURRENT') this.moveCurrentAway(secret);
    for (const version of secret.versions) {
      if (version.id === toVersionId) version.stages.add(stage);
      else version.stages.delete(stage);
    }
  }

  removeStage(name: string, stage: string, fromVersionId: string): void {
    this.secrets.get(name)?.versions.find((v) => v.id === fromVersionId)?.stages.delete(stage);
  }

  /** The values of the current version over time are in `history`; a helper for monotonicity checks. */
  currentValues(name: string): Array<string | Uint8Array> {
    return this.secrets.get(name)?.versions.map((v) => v.value) ?? [];
  }

  private moveCurrentAway(secret: StoredSecret): void {
    for (const version of secret.versions) version.stages.delete('AWSPREVIOUS');
    const current = secret.versions.find((v) => v.stages.has('AWSCURRENT'));
    if (current) {
      current.stages.delete('AWSCURRENT');
      current.stages.add('AWSPREVIOUS');
    }
  }
}
