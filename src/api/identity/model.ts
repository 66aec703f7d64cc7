// Identity model (placeholder: the identity service replaces this).
import type { Config } from '../../config.ts';
import type { Clock } from '../../engine/clock.ts';
import type { Db } from '../../store/db.ts';
import type { AuthContext, TokenValidator } from '../ports.ts';

export interface IdentityModel extends TokenValidator {
  seed(): Promise<void>;
}

export function createIdentityModel(_db: Db, _config: Config, _clock: Clock): IdentityModel {
  return {
    async seed() {},
    async validate(_token: string): Promise<AuthContext | null> {
      return null;
    },
  };
}
