// Giving a vault a name the journal already records contents under: only to the vault that holds them.
import type { VaultConfig } from '../config/schema.js';
import { userError } from '../core/errors.js';
import type { Queries } from '../projections/queries.js';
import { openVault } from '../vaults/registry.js';

/** Contents looked up: the first and the last this many stored under the name. */
const SAMPLE = 8;

/**
 * A vault removed from the config and added back under its name is the same vault: allowed. Any other vault
 * under that name would make bt believe it holds what the old one held (restores and checks would look there,
 * and backups would skip storing those contents in it). So the vault is asked for a sample of those contents:
 * with none of them it is another vault; with some, that vault missing objects, which `bt check` deals with.
 */
export async function checkNameReuse(
  queries: Pick<Queries, 'contentsStoredInSample'>,
  vault: VaultConfig,
  notice: (message: string) => void,
): Promise<void> {
  const sample = queries.contentsStoredInSample(vault.name, SAMPLE);
  if (sample.length === 0) return;
  const where = vault.type === 'fs' ? vault.path : `bucket ${vault.content_bucket}/${vault.content_bucket_prefix}`;
  const opened = await openVault(vault);
  let missing = 0;
  try {
    for (const id of sample) if (!(await opened.hasContent(id))) missing++;
  } catch (err) {
    throw userError(
      `a vault named "${vault.name}" held backups of this host before, and ${where} could not be checked for them (${err instanceof Error ? err.message : String(err)})`,
      'make it reachable (mount its disk, check the credentials) and add it again, or give the new vault another name',
    );
  } finally {
    opened.close();
  }
  if (missing === sample.length) {
    throw userError(
      `a vault named "${vault.name}" held backups of this host before, and ${where} is not that vault (none of ${sample.length} of its contents looked up is there)`,
      'give the path of the vault that had that name, or give the new vault another name (the journal keeps what the old one held)',
    );
  }
  // That vault, but it lost objects since (or never got them all): `bt check` says which, and repairs them.
  if (missing > 0) notice(`vault "${vault.name}": ${missing} of ${sample.length} contents looked up are not there; run \`bt check --vault ${vault.name}\` (with --repair to copy them from another vault)`);
}
