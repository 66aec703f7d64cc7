// The manual clock (novabox serve --clock manual): GET shows it, POST {"advance": seconds} moves it
// forward and answers once every step that fell due on the way has run, in order.
import type { FastifyInstance } from 'fastify';
import type { Services } from '../../novabox.ts';
import { Conflict } from '../../domain/errors.ts';

/** Ten years: more than any step or reclaim interval, small enough to stay a safe integer in ms. */
const MAX_ADVANCE = 10 * 365 * 24 * 3600;

async function view(svc: Services): Promise<Record<string, unknown>> {
  const now = svc.clock.now();
  // The next server or volume step, whichever comes first.
  const due = [await svc.engine.store.nextDueAt(), await svc.volumes.store.nextDueAt(svc.sql)].filter((t): t is number => t !== null);
  const next = due.length ? Math.min(...due) : null;
  return {
    clock: {
      kind: svc.advanceClock ? 'manual' : 'system',
      now: new Date(now).toISOString(),
      now_ms: now,
      next_step_at: next === null ? null : new Date(next).toISOString(),
      next_step_in: next === null ? null : Math.max(0, next - now) / 1000,
    },
  };
}

/** Routes of the admin scope (admin token already checked). */
export async function registerClock(scope: FastifyInstance, svc: Services): Promise<void> {
  scope.get('/clock', { schema: { description: 'The clock: system or manual, now, when the next step is due' } }, async () => view(svc));
  scope.post<{ Body: { advance: number } }>('/clock', {
    schema: { description: 'Move the manual clock forward ({"advance": seconds}); answers once every step due on the way has run', body: { type: 'object', required: ['advance'], additionalProperties: false, properties: { advance: { type: 'number', minimum: 0, maximum: MAX_ADVANCE } } } },
  }, async (req) => {
    if (!svc.advanceClock) throw new Conflict('The clock is not manual: start novabox with --clock manual (config key clock: manual) to advance it.');
    await svc.advanceClock(Math.round(req.body.advance * 1000));
    return view(svc);
  });
}
