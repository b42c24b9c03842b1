/**
 * The README as a reader finds their way through it (issue 16): a Contents section that links every
 * section and the reference pages; the five jobs, each a section of its own near the top with a command
 * block and its example file; the note on Anthropic's terms; the reference detail in docs/ pages that
 * exist and ship with the package; and every relative link, to a file or to a heading, resolving.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import GithubSlugger from 'github-slugger';
import { Lexer, walkTokens, type Token, type Tokens } from 'marked';
import { describe, expect, test } from 'vitest';
import packageJson from '../../package.json' with { type: 'json' };
import { markdownFiles } from './example-files.js';
import { ROOT } from './ship-support.js';

interface Heading {
  readonly depth: number;
  readonly text: string;
  readonly slug: string;
  /** 1-based line of the heading in its file. */
  readonly line: number;
}

interface Section {
  readonly heading: Heading;
  readonly tokens: Token[];
}

const read = (file: string): string => readFileSync(join(ROOT, file), 'utf8');

/** A heading's text as GitHub renders it (code spans and emphasis reduced to their text). */
const plain = (tokens: readonly Token[]): string =>
  tokens.map((token) => ('tokens' in token && Array.isArray(token.tokens) ? plain(token.tokens) : 'text' in token ? String(token.text) : token.raw)).join('');

/** The headings of a Markdown text with the anchors GitHub gives them (github-slugger: duplicates numbered). */
function headingsOf(text: string): Heading[] {
  const slugger = new GithubSlugger();
  const headings: Heading[] = [];
  let offset = 0;
  for (const token of Lexer.lex(text)) {
    if (token.type === 'heading') {
      const heading = token as Tokens.Heading;
      const line = text.slice(0, text.indexOf(token.raw, offset)).split('\n').length;
      headings.push({ depth: heading.depth, text: plain(heading.tokens), slug: slugger.slug(plain(heading.tokens)), line });
    }
    offset = text.indexOf(token.raw, offset) + token.raw.length;
  }
  return headings;
}

/** The `##` sections of a Markdown text, each with its tokens up to the next `##`. */
function sectionsOf(text: string): Section[] {
  const headings = headingsOf(text).filter((heading) => heading.depth === 2);
  const sections: Section[] = [];
  let at = -1;
  for (const token of Lexer.lex(text)) {
    if (token.type === 'heading' && (token as Tokens.Heading).depth <= 2) {
      if ((token as Tokens.Heading).depth === 2) sections.push({ heading: headings[(at += 1)] as Heading, tokens: [] });
      continue;
    }
    sections.at(-1)?.tokens.push(token);
  }
  return sections;
}

/** Every link target in some tokens (inline links, reference links and autolinks alike). */
function linksIn(tokens: Token[]): string[] {
  const links: string[] = [];
  walkTokens(tokens, (token) => {
    if (token.type === 'link') links.push((token as Tokens.Link).href);
  });
  return links;
}

const isRelative = (href: string): boolean => !/^[a-z][a-z0-9+.-]*:/i.test(href);

/** Whether a relative link from `file` resolves: the path exists, and an anchor names a heading there. */
function resolves(file: string, href: string): string | undefined {
  const [path = '', anchor] = href.split('#');
  const target = path === '' ? file : normalize(join(dirname(file), decodeURIComponent(path)));
  if (target.startsWith('..')) return `${href}: outside the repository`;
  if (!existsSync(join(ROOT, target))) return `${href}: no such file (${target})`;
  if (anchor === undefined) return undefined;
  if (!target.endsWith('.md') || statSync(join(ROOT, target)).isDirectory()) return `${href}: an anchor into a file that is not Markdown`;
  return headingsOf(read(target)).some((heading) => heading.slug === anchor) ? undefined : `${href}: no heading #${anchor} in ${target}`;
}

const readme = read('README.md');
const sections = sectionsOf(readme);
const sectionNamed = (pattern: RegExp): Section | undefined => sections.find((section) => pattern.test(section.heading.text));

/** The five jobs the README leads with, as a reader would look for them. */
const JOBS: ReadonlyArray<readonly [string, RegExp, RegExp]> = [
  ['the init container (fetch)', /init container/i, /\bclaude-creds fetch\b/],
  ['the entrypoint wrapper (claude-creds -- CMD)', /entrypoint|wrapper/i, /\bclaude-creds\b[^\n]* -- \S/],
  ['the Kubernetes native sidecar', /kubernetes.*sidecar|native sidecar/i, /\bkubectl apply -f deploy\/kubernetes\//],
  ['a Compose fleet on one login', /compose.*(fleet|one login)/i, /\bdocker compose\b[^\n]*compose-examples\//],
  ['status and health', /status.*health/i, /\bclaude-creds status\b/],
];

/** The reference pages the README's detail moved to. */
const REFERENCE_PAGES = ['docs/command-line.md', 'docs/credential-kinds.md', 'docs/providers.md', 'docs/kubernetes.md', 'docs/threat-model.md', 'docs/fleet.md'];

describe('the README', () => {
  test('has a Contents section, right after the opening paragraph, that links every other section', () => {
    const contents = sectionNamed(/^contents$/i);
    expect(contents, 'no "## Contents" section').toBeDefined();
    expect(sections[0]?.heading.text).toBe('Contents');
    const linked = new Set(linksIn(contents?.tokens ?? []));
    const missing = sections.filter((section) => section !== contents).map((section) => `#${section.heading.slug}`).filter((anchor) => !linked.has(anchor));
    expect(missing).toEqual([]);
  });

  test('its Contents links every reference page under docs/', () => {
    const linked = new Set(linksIn(sectionNamed(/^contents$/i)?.tokens ?? []));
    const pages = markdownFiles.filter((file) => file.startsWith('docs/'));
    expect(pages).toEqual(expect.arrayContaining(REFERENCE_PAGES));
    expect(pages.filter((page) => !linked.has(page))).toEqual([]);
  });

  test.each(JOBS)('leads with %s: a section of its own within the first 120 lines, with a command block and its example file', (_job, heading, command) => {
    const section = sectionNamed(heading);
    expect(section, `no ## heading matching ${String(heading)}`).toBeDefined();
    expect(section?.heading.line).toBeLessThanOrEqual(120);
    const blocks = (section?.tokens ?? []).filter((token): token is Tokens.Code => token.type === 'code' && token.lang === 'sh');
    expect(blocks.some((block) => command.test(block.text)), `no sh block with ${String(command)}`).toBe(true);
    const examples = linksIn(section?.tokens ?? []).filter((href) => /^(compose-examples|deploy)\//.test(href));
    expect(examples.length).toBeGreaterThan(0);
  });

  test('the five jobs come first, before the Quick start and the reference', () => {
    const lines = JOBS.map(([, heading]) => sectionNamed(heading)?.heading.line ?? Number.POSITIVE_INFINITY);
    const quickStart = sectionNamed(/^quick start$/i)?.heading.line ?? 0;
    const commands = sectionNamed(/^commands$/i)?.heading.line ?? 0;
    expect(Math.max(...lines)).toBeLessThan(quickStart);
    expect(quickStart).toBeLessThan(commands);
  });

  test('keeps the two set-up commands of its Quick start as typed', () => {
    const block = sectionNamed(/^quick start$/i)?.tokens.find((token): token is Tokens.Code => token.type === 'code');
    expect(block?.text.split('\n').map((line) => line.replace(/\s+#.*$/, '').trim())).toEqual(['npm install && npm run demo', 'npm test']);
  });

  test('says how to use it within Anthropic\'s terms: your own login on your own infrastructure, API keys or workload identity for products serving others', () => {
    const terms = sectionNamed(/anthropic.s terms/i);
    expect(terms, 'no "Use within Anthropic\'s terms" section').toBeDefined();
    const text = (terms?.tokens ?? []).map((token) => token.raw).join('').replace(/\s+/g, ' ');
    expect(text).toMatch(/your own Claude login/);
    expect(text).toMatch(/infrastructure you control/);
    expect(text).toMatch(/collecting or intermediating other people's Claude credentials/);
    expect(text).toMatch(/API keys/);
    expect(text).toMatch(/workload identity/);
    expect(sectionNamed(/anthropic.s terms/i)?.heading.line).toBeLessThan(sectionNamed(/^commands$/i)?.heading.line ?? 0);
  });

  test('links each reference page (kinds, providers, threat model, command line, Kubernetes, fleet), and each exists', () => {
    const links = new Set(linksIn(Lexer.lex(readme)).map((href) => href.split('#')[0]));
    for (const page of REFERENCE_PAGES) {
      expect(existsSync(join(ROOT, page)), page).toBe(true);
      expect(links.has(page), `README links ${page}`).toBe(true);
    }
  });

  test('the reference pages it links ship in the npm package beside it', () => {
    const linked = [...new Set(linksIn(Lexer.lex(readme)).map((href) => href.split('#')[0] as string))].filter((href) => href.startsWith('docs/'));
    expect(linked.length).toBeGreaterThan(0);
    const shipped = (path: string) => packageJson.files.some((entry) => path === entry || (entry.endsWith('/') && path.startsWith(entry)));
    expect(linked.filter((path) => !shipped(path))).toEqual([]);
  });
});

describe('links', () => {
  test.each(markdownFiles)('%s: every relative link resolves, to a file and to a heading in it', (file) => {
    const links = linksIn(Lexer.lex(read(file))).filter(isRelative);
    // The README links dozens of files and sections; a page may link none.
    if (file === 'README.md') expect(links.length).toBeGreaterThan(50);
    expect(links.map((href) => resolves(file, href)).filter((problem) => problem !== undefined)).toEqual([]);
  });

  test.each([
    ['README.md', '#threat-model', undefined],
    ['README.md', '#no-such-section', '#no-such-section: no heading #no-such-section in README.md'],
    ['README.md', 'docs/no-such-page.md', 'docs/no-such-page.md: no such file (docs/no-such-page.md)'],
    ['docs/fleet.md', 'claude-cli-behaviour.md#the-locks', undefined],
    ['docs/fleet.md', '../README.md#keeping-tokens-fresh-sidecar-and-run---sync', undefined],
    ['docs/fleet.md', '../deploy/kubernetes/kubernetes-secret.yaml#x', '../deploy/kubernetes/kubernetes-secret.yaml#x: an anchor into a file that is not Markdown'],
  ])('the check: %s -> %s', (file, href, problem) => {
    expect(resolves(file, href)).toBe(problem);
  });

  test('anchors follow GitHub\'s: code spans and punctuation dropped, spaces to hyphens, repeats numbered', () => {
    const headings = headingsOf('# A\n\n## Keeping tokens fresh: `sidecar` and `run --sync`\n\n## Use within Anthropic\'s terms\n\n### Notes\n\n### Notes\n');
    expect(headings.map((heading) => [heading.slug, heading.line])).toEqual([
      ['a', 1],
      ['keeping-tokens-fresh-sidecar-and-run---sync', 3],
      ['use-within-anthropics-terms', 5],
      ['notes', 7],
      ['notes-1', 9],
    ]);
  });
});
