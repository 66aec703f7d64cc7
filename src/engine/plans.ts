// What an accepted action's plan needs from outside the domain: the configured intervals its plan
// depends on, and how long each step waits. Shared by the accepting engine, the transitions and recovery.
import type { Config } from '../config.ts';
import type { Plan, PlanInput } from '../domain/actions.ts';
import type { TaskState } from '../domain/states.ts';
import type { VirtDriver } from '../drivers/driver.ts';

export function planInput(config: Pick<Config, 'reclaim_instance_interval' | 'shelved_offload_time'>, microversion: [number, number], params: Record<string, unknown>): PlanInput {
  return {
    params, microversion,
    reclaim_instance_interval: config.reclaim_instance_interval,
    shelved_offload_time: config.shelved_offload_time,
  };
}

/** The wait before step `i`: the step's own (reclaim, shelved offload) or the driver's duration of its op. */
export function stepWait(driver: Pick<VirtDriver, 'duration'>, plan: Plan, i: number, action: string): number {
  const st = plan.steps[i];
  return st.wait_ms ?? driver.duration(st.op, action);
}

/**
 * The task_state a server has before step `i` of its plan: what the acceptance or the last step
 * before it set. A step's save expects it (Nova's expected_task_state); undefined when the plan
 * never names one (the state is then whatever the action found).
 */
export function expectedTaskState(plan: Plan, i: number): TaskState | null | undefined {
  let t = plan.accept.task_state;
  for (const st of plan.steps.slice(0, i)) if (st.set.task_state !== undefined) t = st.set.task_state;
  return t;
}
