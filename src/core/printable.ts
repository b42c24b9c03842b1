/**
 * Text that came from outside (a store's error message, a credentials document's `subscriptionType` or
 * `scopes`, a path) printed as one inert line: control characters are shown escaped, so an ESC sequence
 * cannot drive the terminal and a newline cannot forge a second line of output or of the log.
 */

const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\\': '\\\\' };

/** C0 controls, DEL, C1 controls, and the Unicode line/paragraph separators and bidi overrides. */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\\]/g;

export function printable(text: string): string {
  return text.replace(UNSAFE, (char) => NAMED[char] ?? `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** What JSON.stringify leaves raw although a terminal may act on it: DEL, C1 controls, line separators, bidi overrides. */
const JSON_UNSAFE = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * JSON.stringify, with the characters it leaves raw written as \u escapes: the same JSON to a parser,
 * inert on a terminal (`status --json`, `/status` read with curl).
 */
export function printableJson(value: unknown, space?: number): string {
  return JSON.stringify(value, null, space).replace(JSON_UNSAFE, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
