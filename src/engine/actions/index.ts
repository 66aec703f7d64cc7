// The registry: one preparation for every row of the action table (src/domain/actions.ts), by
// Nova's action name. Its type is the table's keys, so a row without a preparation, or a
// preparation without a row, does not compile: adding an action means deciding here whether its
// row says everything (PLAIN) or it needs a module of its own.
import type { ACTIONS } from '../../domain/actions.ts';
import { changePassword } from './change-password.ts';
import { confirmResize } from './confirm-resize.ts';
import { createBackup } from './create-backup.ts';
import { createImage } from './create-image.ts';
import { evacuate } from './evacuate.ts';
import { liveMigrate } from './live-migrate.ts';
import { lock } from './lock.ts';
import { migrate } from './migrate.ts';
import { ownPath, PLAIN, type ActionPreparation } from './preparation.ts';
import { rebuild } from './rebuild.ts';
import { rescue } from './rescue.ts';
import { resize } from './resize.ts';
import { restore } from './restore.ts';
import { revertResize } from './revert-resize.ts';
import { shelve } from './shelve.ts';
import { start } from './start.ts';
import { stop } from './stop.ts';
import { triggerCrashDump } from './trigger-crash-dump.ts';
import { unlock } from './unlock.ts';
import { unshelve } from './unshelve.ts';

export type PreparationRegistry = { readonly [A in keyof typeof ACTIONS]: ActionPreparation };

export const PREPARATIONS: PreparationRegistry = {
  create: ownPath('ComputeEngine.create'),
  delete: ownPath('ComputeEngine.delete'),
  forceDelete: PLAIN,
  restore,
  reboot_soft: PLAIN,
  reboot_hard: PLAIN,
  rebuild,
  resize,
  confirmResize,
  revertResize,
  start,
  stop,
  pause: PLAIN,
  unpause: PLAIN,
  suspend: PLAIN,
  resume: PLAIN,
  lock,
  unlock,
  rescue,
  unrescue: PLAIN,
  shelve,
  shelveOffload: PLAIN,
  unshelve,
  migrate,
  live_migrate: liveMigrate,
  evacuate,
  changePassword,
  createImage,
  createBackup,
  resetState: PLAIN,
  trigger_crash_dump: triggerCrashDump,
  reclaim: ownPath('the delete plan (its background step)'),
  power_sync_stop: ownPath('ComputeEngine.guestEvent'),
};

export type { ActionEnv, ActionPreparation, Prepared, PrepareInput } from './preparation.ts';
