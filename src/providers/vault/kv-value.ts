/**
 * Where the credentials sit in a KV v2 secret's data: the field `credentials` (or `#field`), a string
 * holding the credentials JSON or base64 of it (a JSON object there is accepted and re-serialized), or,
 * without `#field`, the whole data when it is itself the credentials document (a top-level
 * `claudeAiOauth` key and no `credentials` key). Writes keep the secret's other fields and its shape.
 */
import { ConfigError, NotFoundError } from '../../core/errors.js';
import { DEFAULT_FIELD, type VaultSecretRef } from './config.js';

export interface KvValue {
  /** Whether `data` holds the credentials document as itself rather than in a field. */
  wholeDocument(data: Record<string, unknown> | undefined): boolean;
  /** The payload text in `data` (of `version`, for messages). */
  valueOf(data: Record<string, unknown>, version: number): string;
  /** Whether `data` already holds `text` where this provider keeps the value. */
  sameValue(data: Record<string, unknown>, text: string): boolean;
  /** The data to write for `payload`, given the data the latest version holds. */
  dataFor(payload: string, current: Record<string, unknown> | undefined): Record<string, unknown>;
}

export function kvValue(ref: VaultSecretRef, where: string): KvValue {
  const wholeDocument = (data: Record<string, unknown> | undefined): boolean =>
    ref.field === undefined && data !== undefined && !(DEFAULT_FIELD in data) && 'claudeAiOauth' in data;

  function valueOf(data: Record<string, unknown>, version: number): string {
    if (wholeDocument(data)) return JSON.stringify(data);
    const field = ref.field ?? DEFAULT_FIELD;
    const value = data[field];
    if (typeof value === 'string') return value;
    if (isRecord(value)) return JSON.stringify(value);
    const fields = Object.keys(data);
    const present = fields.length === 0 ? 'it has no fields' : `its fields: ${fields.slice(0, 20).join(', ')}`;
    if (value === undefined) {
      throw new NotFoundError(
        `${where} (version ${version}) has no field "${field}" (${present}); store the credentials JSON under "${field}" or name the field with --secret ${ref.mount}/${ref.path}#FIELD`,
      );
    }
    throw new ConfigError(`${where} (version ${version}): the field "${field}" is a ${Array.isArray(value) ? 'list' : typeof value}, not the credentials JSON as a string`);
  }

  return {
    wholeDocument,
    valueOf,
    sameValue(data, text) {
      try {
        return valueOf(data, 0) === text;
      } catch {
        return false;
      }
    },
    dataFor(payload, current) {
      if (wholeDocument(current)) {
        const parsed = parseObject(payload);
        if (parsed === undefined) throw new ConfigError(`${where} holds the credentials document as its data, but the payload to write is not a JSON object`);
        return parsed;
      }
      return { ...(current ?? {}), [ref.field ?? DEFAULT_FIELD]: payload };
    },
  };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return isRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}
