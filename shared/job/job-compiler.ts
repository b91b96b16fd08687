/**
 * Compiles a job file into one ES module that plain Node imports, so no process needs a
 * TypeScript loader: a loader's hooks run on a thread of their own, which cost every process
 * start about 0.2 s and 8,000 page faults here (bench/RESULTS.md).
 *
 * esbuild bundles the job with its own local modules. Packages stay Node's to load, imported
 * by absolute URL as esbuild resolved them from the job's folder, so the module can live
 * anywhere; `redmap` means the copy that is running it; each bundled file keeps its own
 * `import.meta.url`, and the inline source map points stack traces at the original lines.
 *
 * The module is kept in a per-user cache beside the list of files it came from (and the
 * tsconfig.json and package.json that applied). A later process (a forked worker, an
 * isolate, the next `submit`) for which none has changed since imports it without running
 * esbuild at all.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, extname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Loader, Message, Metafile, Plugin } from 'esbuild';
import { z } from 'zod';
import { cacheHome } from '../config.js';
import { JobDefinitionError } from '../errors.js';
import {
  adoptJobVersion,
  filesUnchanged,
  localInputs,
  rememberJobVersion,
  stampFiles,
  versionOfFiles,
  type JobVersion,
} from './fingerprint.js';

/** `.ts` when running from source, `.js` from the built package. */
const OWN_EXTENSION = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
const OWN_INDEX_URL = new URL(`../../index${OWN_EXTENSION}`, import.meta.url).href;

export interface CompiledJob {
  /** The compiled module, to import. */
  modulePath: string;
  version: JobVersion;
  /** Taken from the cache rather than compiled by this call. */
  cached: boolean;
}

const fileStampSchema = z.object({ path: z.string(), mtimeMs: z.number(), size: z.number() });
/** What the cache keeps for one job file: the module compiled from it and the files that went in. */
const cacheEntrySchema = z.object({
  source: z.string(),
  /** The redmap the module imports: another install compiles anew. */
  redmap: z.string(),
  module: z.string().regex(/^[0-9a-f]{16}\.mjs$/),
  version: z.object({ fingerprint: z.string(), files: z.array(fileStampSchema) }),
  /** The tsconfig.json and package.json that applied: they change the output, not the job's version. */
  settings: z.array(fileStampSchema),
});
type CacheEntry = z.infer<typeof cacheEntrySchema>;

/** An import of a package (or a tsconfig alias), not of a path. */
const BARE_SPECIFIER = /^[^./]|^\.[^./]|^\.\.[^/]/;
const RESOLVING = Symbol('resolving');
const LOADERS: Record<string, Loader> = {
  '.ts': 'ts',
  '.mts': 'ts',
  '.cts': 'ts',
  '.tsx': 'tsx',
  '.js': 'js',
  '.mjs': 'js',
  '.cjs': 'js',
  '.jsx': 'jsx',
};
/** Stand-ins for a file's own `import.meta` fields, declared at the top of each file that uses them. */
const META = { url: '__redmap_import_meta_url', filename: '__redmap_import_meta_filename', dirname: '__redmap_import_meta_dirname' };

let cacheDir: Promise<string> | undefined;

/** The job's compiled module: from the cache when its files are unchanged, else compiled now. */
export async function compileJob(sourcePath: string, options: { fresh?: boolean } = {}): Promise<CompiledJob> {
  const dir = await (cacheDir ??= openCacheDir());
  const entryPath = join(dir, `${hashOf(sourcePath).slice(0, 16)}.json`);
  const entry = await readCacheEntry(entryPath);
  const settingsFiles = nearestSettingsFiles(dirname(sourcePath));
  if (
    !options.fresh &&
    entry?.source === sourcePath &&
    entry.redmap === OWN_INDEX_URL &&
    existsSync(join(dir, entry.module)) &&
    // A tsconfig.json or package.json created nearer the job applies instead of the stamped one.
    entry.settings.map((file) => file.path).join('\n') === settingsFiles.join('\n') &&
    (await filesUnchanged(entry.settings)) &&
    (await adoptJobVersion(sourcePath, entry.version))
  ) {
    return { modulePath: join(dir, entry.module), version: entry.version, cached: true };
  }
  const settings = await stampFiles(settingsFiles);
  const { code, localFiles } = await bundle(sourcePath, dir);
  const version = await versionOfFiles(sourcePath, localFiles);
  rememberJobVersion(sourcePath, version);
  const module = `${hashOf(code).slice(0, 16)}.mjs`;
  const modulePath = join(dir, module);
  if (!existsSync(modulePath)) await writeAtomically(modulePath, code);
  await writeAtomically(
    entryPath,
    JSON.stringify({ source: sourcePath, redmap: OWN_INDEX_URL, module, version, settings } satisfies CacheEntry),
  );
  // The job's previous module is stale now, so the cache does not grow with every edit. Another
  // job file compiled to the same code, or a process about to import it, compiles it again.
  if (entry && entry.module !== module) await rm(join(dir, entry.module), { force: true });
  await pruneCache(dir);
  return { modulePath, version, cached: false };
}

/** A file another process may have just written and not yet referenced: younger ones stay. */
const ORPHAN_AFTER_MS = 10 * 60_000;

/**
 * Removes what no job file needs any more: the entries (and modules) of job files that were
 * deleted, and modules or partial writes nothing refers to. Runs only after a compile, which
 * is rare, so a cache hit never lists the folder.
 */
async function pruneCache(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => []);
  const referenced = new Set<string>();
  const ofDeletedJobs = new Set<string>();
  for (const name of names.filter((file) => file.endsWith('.json'))) {
    const entry = await readCacheEntry(join(dir, name));
    if (entry && existsSync(entry.source)) referenced.add(entry.module);
    else if (entry) {
      await rm(join(dir, name), { force: true });
      ofDeletedJobs.add(entry.module);
    }
  }
  const now = Date.now();
  for (const name of names.filter((file) => !file.endsWith('.json') && !referenced.has(file))) {
    const path = join(dir, name);
    const age = now - ((await stat(path).catch(() => undefined))?.mtimeMs ?? now);
    if (ofDeletedJobs.has(name) || age > ORPHAN_AFTER_MS) await rm(path, { force: true });
  }
}

async function bundle(sourcePath: string, outDir: string): Promise<{ code: string; localFiles: string[] }> {
  const { build } = await import('esbuild');
  try {
    const result = await build({
      entryPoints: [sourcePath],
      absWorkingDir: dirname(sourcePath),
      bundle: true,
      write: false,
      metafile: true,
      // Where the output will live, so the source map's paths lead back to the sources.
      outfile: join(outDir, 'job.mjs'),
      platform: 'node',
      format: 'esm',
      target: 'node20',
      sourcemap: 'inline',
      sourcesContent: false,
      // Node's own resolution: the "main" field, and the "import", "node" and "default" conditions.
      mainFields: ['main'],
      conditions: [],
      define: { 'import.meta.url': META.url, 'import.meta.filename': META.filename, 'import.meta.dirname': META.dirname },
      logLevel: 'silent',
      plugins: [packagesByUrl, importMetaOfEachFile],
    });
    return { code: result.outputFiles[0]!.text, localFiles: localInputs(result.metafile as Metafile) };
  } catch (error) {
    const errors = (error as { errors?: Message[] }).errors;
    if (!errors?.length) throw error;
    throw new JobDefinitionError('JOB_INVALID', `job file ${sourcePath} failed to compile: ${errors.map(describeMessage).join('; ')}`, {
      cause: error,
    });
  }
}

/** Package imports stay imports, of the file esbuild found from the importing file's folder. */
const packagesByUrl: Plugin = {
  name: 'packages-by-url',
  setup(builder) {
    builder.onResolve({ filter: BARE_SPECIFIER }, async (args) => {
      if (args.pluginData === RESOLVING) return undefined;
      if (isBuiltin(args.path)) return { path: args.path, external: true };
      if (args.path === 'redmap') return { path: OWN_INDEX_URL, external: true };
      const found = await builder.resolve(args.path, {
        kind: args.kind,
        importer: args.importer,
        resolveDir: args.resolveDir,
        pluginData: RESOLVING,
      });
      if (found.errors.length > 0) return { errors: found.errors };
      // A tsconfig "paths" alias leads to the job's own files: those are bundled like any other.
      if (!found.path.includes('/node_modules/')) return { path: found.path };
      return { path: args.kind === 'require-call' ? found.path : pathToFileURL(found.path).href, external: true };
    });
  },
};

/** Declares a file's `import.meta` fields at its top (on its first line, so line numbers stay). */
const importMetaOfEachFile: Plugin = {
  name: 'import-meta-of-each-file',
  setup(builder) {
    builder.onLoad({ filter: /\.[cm]?[jt]sx?$/ }, async (args) => {
      if (args.path.includes('/node_modules/')) return undefined;
      const text = await readFile(args.path, 'utf8');
      if (!text.includes('import.meta')) return undefined;
      const head =
        `var ${META.url} = ${JSON.stringify(pathToFileURL(args.path).href)}, ` +
        `${META.filename} = ${JSON.stringify(args.path)}, ${META.dirname} = ${JSON.stringify(dirname(args.path))};`;
      // A shebang line must stay first; the declarations take its place instead.
      const firstLineEnd = text.indexOf('\n');
      const body = !text.startsWith('#!') ? text : firstLineEnd < 0 ? '' : text.slice(firstLineEnd);
      return { contents: head + body, loader: LOADERS[extname(args.path)] ?? 'ts', resolveDir: dirname(args.path) };
    });
  },
};

/** The nearest tsconfig.json and package.json above a folder, as esbuild finds them. */
function nearestSettingsFiles(dir: string): string[] {
  const found: string[] = [];
  for (const name of ['tsconfig.json', 'package.json']) {
    for (let at = dir; ; at = dirname(at)) {
      if (existsSync(join(at, name))) {
        found.push(join(at, name));
        break;
      }
      if (dirname(at) === at) break;
    }
  }
  return found;
}

function describeMessage(message: Message): string {
  const where = message.location ? `${message.location.file}:${message.location.line}:${message.location.column + 1}: ` : '';
  return `${where}${message.text}`;
}

/**
 * `$XDG_CACHE_HOME/redmap/jobs` or `~/.cache/redmap/jobs`, readable by this user only; where
 * that cannot be made (no home, a read-only one), a private folder of this process.
 */
async function openCacheDir(): Promise<string> {
  const dir = join(cacheHome(), 'redmap', 'jobs');
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return dir;
  } catch {
    return mkdtemp(join(tmpdir(), 'redmap-jobs-'));
  }
}

/** The entry, or nothing when there is none or it is unreadable (it is then written anew). */
async function readCacheEntry(path: string): Promise<CacheEntry | undefined> {
  try {
    return cacheEntrySchema.parse(JSON.parse(await readFile(path, 'utf8')));
  } catch {
    return undefined;
  }
}

/** Other processes may read it at any moment: they see the old file or the new one, never half. */
async function writeAtomically(path: string, text: string): Promise<void> {
  const partial = `${path}.${process.pid}.${Date.now()}.partial`;
  await writeFile(partial, text, { mode: 0o600 });
  await rename(partial, path);
}

function hashOf(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
