/** What sits at a path (following links, as reading it would), in words for a message. */
import { stat } from 'node:fs/promises';

export type PathType = 'missing' | 'file' | 'directory' | 'other';

export async function pathType(path: string): Promise<PathType> {
  try {
    const stats = await stat(path);
    if (stats.isFile()) return 'file';
    return stats.isDirectory() ? 'directory' : 'other';
  } catch {
    // Absent, or not even stat-able (a dangling link, a component that is a file): the read says which.
    return 'missing';
  }
}
