// Module resolve hook for job files.
// - A job file anywhere on disk that imports 'redmap' gets the copy of redmap that is
//   running it, never a second copy (whose classes and state would differ).
// - TypeScript files outside node_modules load as ES modules even where no package.json
//   says "type": "module" (a job in a bare folder), so their imports go through this hook.
let indexUrl;

export function initialize(data) {
  indexUrl = data.indexUrl;
}

export async function resolve(specifier, context, nextResolve) {
  if (specifier === 'redmap') return { url: indexUrl, format: 'module', shortCircuit: true };
  const resolved = await nextResolve(specifier, context);
  if (/\.(ts|tsx)$/.test(resolved.url) && resolved.url.startsWith('file:') && !resolved.url.includes('/node_modules/')) {
    return { ...resolved, format: 'module' };
  }
  return resolved;
}
