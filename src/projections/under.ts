// The named parameters every "names under a path of a tracked directory" query takes.
import type { Directory } from './queries.js';

/** Later than any recorded time (ISO times compare as text). */
export const LATEST = '9999-12-31T23:59:59.999Z';

/** Named parameters selecting the names under `under` ('' for all): '0' sorts right after '/'. */
export const underParams = (directory: Directory, under: string, at = ''): Record<string, string> => ({
  dir: directory.id, at, under, lo: under === '' ? '' : `${under}/`, hi: under === '' ? '' : `${under}0`,
});

/** The SQL condition on `name` those parameters select. */
export const NAME_UNDER = `(@under = '' OR name = @under OR (name >= @lo AND name < @hi))`;
