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
 * and backups would skip storing those contents in it). So the vault is asked for a sample of those contents.
 */
export async function checkNameReuse(queries: Pick<Queries, 'contentsStoredInSample'>, vault: VaultConfig): Promise<void> {
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
  if (missing > 0) {
    throw userError(
      `a vault named "${vault.name}" held backups of this host before, and ${where} is not that vault (${missing} of ${sample.length} of its contents looked up are not there)`,
      'give the path of the vault that had that name, or give the new vault another name (the journal keeps what the old one held)',
    );
  }
}
