/**
 * The ACL users docs/security.md documents, read from that file, so that the tests check
 * exactly what users are told to grant.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './cli.js';

export type DocumentedRole = 'worker' | 'producer';

/** The `user redmap-ROLE …` line of docs/security.md, with `password` in place of CHANGE-ME. */
export function documentedUser(role: DocumentedRole, password: string): string {
  const doc = readFileSync(join(REPO_ROOT, 'docs/security.md'), 'utf8');
  const line = new RegExp(`^user redmap-${role} on >CHANGE-ME .*$`, 'm').exec(doc)?.[0];
  if (!line) throw new Error(`docs/security.md has no "user redmap-${role} on >CHANGE-ME ..." line`);
  return line.replace('>CHANGE-ME', `>${password}`);
}
