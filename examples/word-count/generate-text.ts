/**
 * Writes deterministic sample text for the word-count example:
 *   npx tsx examples/word-count/generate-text.ts OUTDIR [--files 4] [--total 8MiB] [--seed 1]
 * English-looking prose over a Zipf vocabulary, with what makes word counting go wrong:
 * mixed case, digits inside words, punctuation and apostrophes, non-ASCII UTF-8 (whose
 * bytes are separators), CRLF line endings in every other file, and a last file that ends
 * in the middle of a word with no final newline.
 */
import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BlockWriter,
  createRandom,
  ensureDir,
  formatSize,
  parseGeneratorArgs,
  skewedSizes,
  zipfSampler,
  type GeneratorOptions,
  type Random,
} from '../log-errors/generator-kit.js';

const COMMON = (
  'the of and to a in is it you that he was for on are with as his they be at one have this from or had by word but ' +
  'what some we can out other were all there when up use your how said an each she which do their time if will way ' +
  'about many then them write would like so these her long make thing see him two has look more day could go come ' +
  'did number sound no most people my over know water than call first who may down side been now find any new work'
).split(' ');
const SYLLABLES = ['ka', 'lo', 'mi', 'ren', 'tor', 'vel', 'an', 'dus', 'ix', 'qua', 'bre', 'sto', 'ny', 'phe', 'gar', 'ul'];
/** Words with digits, mixed case, apostrophes and hyphens: each splits or folds in its own way. */
const ODD_WORDS = ["don't", "it's", 'x86_64', 'iPhone', 'McDonald', 'COVID-19', '3rd', 'v2.1.0', 'e-mail', 'well-known', 'IPv6', 'A4'];
/** Non-ASCII UTF-8: "café" counts as "caf", "naïve" as "na" and "ve", "東京" as nothing. */
const FOREIGN = ['café', 'naïve', 'Zürich', 'São', 'façade', 'résumé', 'über', 'niño', '東京', 'Москва', '🙂', '½', 'ﬁnance'];
const PUNCTUATION = [',', ',', ',', ';', ':', ' —', ' (see', ')', ' "', '"', '...', ' -'];
const ENDINGS = ['.', '.', '.', '.', '!', '?', '."', '...'];

export interface GeneratedText {
  paths: string[];
  bytes: number;
}

export function generateText(options: GeneratorOptions): GeneratedText {
  ensureDir(options.outDir);
  const random = createRandom(options.seed);
  const prose = new Prose(random);
  const result: GeneratedText = { paths: [], bytes: 0 };
  const sizes = skewedSizes(random, options.files, options.totalBytes);
  for (const [index, size] of sizes.entries()) {
    const path = join(options.outDir, `text-${String(index).padStart(3, '0')}.txt`);
    const newline = index % 2 === 1 ? '\r\n' : '\n';
    const writer = new BlockWriter(path);
    while (writer.size < size) writer.write(prose.paragraph(newline));
    if (index === sizes.length - 1) writer.write('and the last word is unfinish');
    writer.close();
    result.paths.push(path);
    result.bytes += writer.written;
  }
  return result;
}

class Prose {
  private readonly vocabulary: string[];
  private readonly word: () => number;

  constructor(private readonly random: Random) {
    const made = new Set(COMMON);
    while (made.size < 5000) made.add(Array.from({ length: 2 + random.int(3) }, () => random.pick(SYLLABLES)).join(''));
    this.vocabulary = [...made];
    this.word = zipfSampler(random, this.vocabulary.length, 1.1);
  }

  /** A few sentences wrapped at about 72 columns, then a blank line. */
  paragraph(newline: string): string {
    const lines: string[] = [];
    let line = '';
    for (let sentences = 2 + this.random.int(6); sentences > 0; sentences--) {
      for (const token of this.sentence()) {
        if (line.length + token.length > 72 && line.length > 0) {
          lines.push(line);
          line = '';
        }
        line += line.length === 0 ? token.trimStart() : token;
      }
    }
    lines.push(line, '');
    return lines.join(newline) + newline;
  }

  /** A sentence as tokens, each carrying its leading space. */
  private sentence(): string[] {
    const tokens: string[] = [];
    const length = 4 + this.random.int(16);
    for (let i = 0; i < length; i++) {
      let word = this.token();
      if (i === 0) word = word[0]!.toUpperCase() + word.slice(1);
      const punctuation = i > 0 && i < length - 1 && this.random.next() < 0.08 ? this.random.pick(PUNCTUATION) : '';
      tokens.push(` ${word}${punctuation}`);
    }
    tokens[tokens.length - 1] += this.random.pick(ENDINGS);
    return tokens;
  }

  private token(): string {
    const roll = this.random.next();
    if (roll < 0.01) return this.random.pick(FOREIGN);
    if (roll < 0.03) return this.random.pick(ODD_WORDS);
    if (roll < 0.05) return String(this.random.pick([1999, 2024, 42, 7, 100, 365, 1_000_000, 3.14]));
    const word = this.vocabulary[this.word()]!;
    if (roll < 0.06) return word.toUpperCase();
    return roll < 0.07 ? word[0]!.toUpperCase() + word.slice(1) : word;
  }
}

function main(): void {
  const usage = 'npx tsx examples/word-count/generate-text.ts OUTDIR [--files 4] [--total 8MiB] [--seed 1]';
  const options = parseGeneratorArgs(process.argv.slice(2), usage, { files: 4, total: '8MiB' });
  const { paths, bytes } = generateText(options);
  process.stderr.write(`wrote ${paths.length} files, ${formatSize(bytes)} to ${options.outDir}\n`);
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) main();
