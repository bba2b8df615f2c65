// S3 vault: placeholder until the S3 implementation lands.
import type { S3VaultConfig } from '../config/schema.js';
import { userError } from '../core/errors.js';
import type { PutResult, SetupReport, Vault } from './vault.js';

export class S3Vault implements Vault {
  readonly kind = 's3' as const;
  readonly name: string;
  constructor(config: S3VaultConfig) {
    this.name = config.name;
  }
  private no(): never {
    throw userError(`vault "${this.name}": S3 vaults are not supported yet`);
  }
  hasContent(): Promise<boolean> { return this.no(); }
  putContent(): Promise<PutResult> { return this.no(); }
  getContent(): Promise<void> { return this.no(); }
  flush(): Promise<void> { return Promise.resolve(); }
  putMetadata(): Promise<void> { return this.no(); }
  getMetadata(): Promise<Buffer> { return this.no(); }
  listMetadata(): Promise<string[]> { return this.no(); }
  validateSetup(): Promise<SetupReport> { return this.no(); }
  close(): void {}
}
