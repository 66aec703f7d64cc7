// The shape of an action's preparation: Nova's compute API checks and writes, after the state check
// and before it casts to the compute service, what the action table cannot say as data (a target
// host, a quota recheck, a migration record, the image a snapshot makes). Each action's module
// exports one; index.ts registers them against the action table.
import type { Config } from '../../config.ts';
import type { ActionRule } from '../../domain/actions.ts';
import type { ServerPatch, ServerRecord } from '../../domain/server.ts';
import type { ImagePort, ImageRecord } from '../../api/ports.ts';
import type { ComputeTx, TaskContext } from '../../store/store.ts';
import type { Clock } from '../clock.ts';
import type { Quotas } from '../quotas.ts';
import type { Scheduling } from '../scheduling.ts';
import type { ActionOutcome, RequestContext } from '../types.ts';

/** What preparations may use of the engine: nothing that writes outside the accepting unit of work. */
export interface ActionEnv {
  readonly config: Config;
  readonly clock: Clock;
  readonly scheduling: Scheduling;
  readonly quotas: Quotas;
  readonly images: ImagePort;
}

/** The accepting unit of work as a preparation sees it: the server is locked and has passed the table's checks. */
export interface PrepareInput {
  env: ActionEnv;
  tx: ComputeTx;
  ctx: RequestContext;
  server: ServerRecord;
  rule: ActionRule;
  params: Record<string, unknown>;
  /** The image made for this request before its unit of work (see ActionPreparation.image). */
  image?: ImageRecord;
}

export interface Prepared {
  /** Fields the API writes besides the plan's accept patch (a new flavor, old_vm_state, a lock …). */
  patch?: ServerPatch;
  /** What the compute steps need: target and source host, migration or image id. */
  context?: Partial<TaskContext>;
  /** The task's own parameters (a zone to schedule in, a backup rotation). */
  taskParams?: Record<string, unknown>;
  /** What the API answers besides the server (admin_pass, image_id). */
  outcome?: Partial<ActionOutcome>;
  /** Nothing to do: the request is accepted and changes nothing (a repeated lock by the owner). */
  noop?: boolean;
}

export interface ActionPreparation {
  prepare(input: PrepareInput): Prepared | Promise<Prepared>;
  /**
   * The image an action makes (shelve, createImage, createBackup). Nova's API creates it before it
   * saves the server, so the caller gets its id; the engine does the same, only for a request that
   * passes the checks, and deletes it again when the unit of work refuses the request.
   */
  image?(env: ActionEnv, ctx: RequestContext, server: ServerRecord, params: Record<string, unknown>): Promise<ImageRecord | undefined>;
}

/** An action whose table row says everything: no check or field beyond the state check and the plan. */
export const PLAIN: ActionPreparation = { prepare: () => ({}) };

/**
 * A row the engine drives through its own path (create and delete have their own entry points; the
 * power-state sync and the reclaim are started by the engine itself): act() refuses it.
 */
export function ownPath(where: string): ActionPreparation {
  return {
    prepare: ({ rule }) => {
      throw new Error(`${rule.name} is not accepted through act(): see ${where}`);
    },
  };
}
