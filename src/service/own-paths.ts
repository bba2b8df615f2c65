// bt's own directories: never tracked, never walked into (else a backup would back up itself).
import type { Config } from '../config/schema.js';

export function btOwnPaths(config: Config): string[] {
  const paths = [config.base_dir, config.log_dir, config.database.data_dir, config.staging.staging_dir];
  for (const v of config.vaults) if (v.type === 'fs') paths.push(v.path);
  return [...new Set(paths)];
}
