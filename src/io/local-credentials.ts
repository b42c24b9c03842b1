import { parseCredentials, type Credentials } from '../core/credentials.js';
import { InvalidCredentialsError, NotFoundError } from '../core/errors.js';
import { readRegularFile } from './local-file.js';

export type LocalCredentials =
  | { readonly state: 'missing' }
  | { readonly state: 'invalid'; readonly error: InvalidCredentialsError }
  | { readonly state: 'valid'; readonly credentials: Credentials };

/** The credentials file on this machine, classified; I/O trouble other than absence is thrown. */
export async function readLocalCredentials(path: string): Promise<LocalCredentials> {
  let bytes: Buffer;
  try {
    bytes = await readRegularFile(path);
  } catch (error) {
    if (error instanceof NotFoundError) return { state: 'missing' };
    throw error;
  }
  try {
    return { state: 'valid', credentials: parseCredentials(bytes) };
  } catch (error) {
    if (error instanceof InvalidCredentialsError) return { state: 'invalid', error };
    throw error;
  }
}
