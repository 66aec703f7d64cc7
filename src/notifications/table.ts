// Which of Nova's versioned notifications each instance action sends, and when, as data. Nova's
// compute manager sends instance.<name>.start when it begins the work and .end when it is done
// (doc/notification_samples show the state each carries); here the moments are read off the
// journal: the action's first transition ('accept'), a task or vm state it enters, its end, or
// its failure.
import type { PayloadKind } from './payloads.ts';

export type Trigger =
  | { on: 'accept' }
  | { on: 'end' }
  | { on: 'error' }
  /** The server enters this task_state. */
  | { on: 'task'; value: string }
  /** The server enters this vm_state. */
  | { on: 'vm'; value: string }
  /** A build is scheduled: building with no task state (Nova's compute starts the build then). */
  | { on: 'scheduled' };

export interface NotificationRule {
  trigger: Trigger;
  /** The event_type: instance.<name>.<phase>, or instance.<name> without a phase. */
  event_type: string;
  payload: PayloadKind;
}

const simple = (name: string, payload: PayloadKind = 'action'): NotificationRule[] => [
  { trigger: { on: 'accept' }, event_type: `instance.${name}.start`, payload },
  { trigger: { on: 'end' }, event_type: `instance.${name}.end`, payload },
];

const resize: NotificationRule[] = [
  { trigger: { on: 'task', value: 'resize_migrating' }, event_type: 'instance.resize_prep.start', payload: 'resize_prep' },
  { trigger: { on: 'task', value: 'resize_migrating' }, event_type: 'instance.resize_prep.end', payload: 'resize_prep' },
  { trigger: { on: 'task', value: 'resize_migrating' }, event_type: 'instance.resize.start', payload: 'action' },
  { trigger: { on: 'task', value: 'resize_migrated' }, event_type: 'instance.resize.end', payload: 'action' },
  { trigger: { on: 'task', value: 'resize_finish' }, event_type: 'instance.resize_finish.start', payload: 'action' },
  { trigger: { on: 'end' }, event_type: 'instance.resize_finish.end', payload: 'action' },
  { trigger: { on: 'error' }, event_type: 'instance.resize.error', payload: 'action' },
];

/** By instance action name (os-instance-actions' `action`). */
export const NOTIFICATIONS: Record<string, NotificationRule[]> = {
  create: [
    { trigger: { on: 'scheduled' }, event_type: 'instance.create.start', payload: 'create' },
    { trigger: { on: 'end' }, event_type: 'instance.create.end', payload: 'create' },
    { trigger: { on: 'error' }, event_type: 'instance.create.error', payload: 'create' },
  ],
  delete: simple('delete'),
  stop: simple('power_off'),
  start: simple('power_on'),
  reboot: [
    { trigger: { on: 'task', value: 'reboot_pending' }, event_type: 'instance.reboot.start', payload: 'action' },
    { trigger: { on: 'task', value: 'reboot_pending_hard' }, event_type: 'instance.reboot.start', payload: 'action' },
    { trigger: { on: 'end' }, event_type: 'instance.reboot.end', payload: 'action' },
    { trigger: { on: 'error' }, event_type: 'instance.reboot.error', payload: 'action' },
  ],
  pause: simple('pause'),
  unpause: simple('unpause'),
  suspend: simple('suspend'),
  resume: simple('resume'),
  rescue: simple('rescue', 'rescue'),
  unrescue: simple('unrescue'),
  restore: simple('restore'),
  rebuild: [...simple('rebuild', 'rebuild'), { trigger: { on: 'error' }, event_type: 'instance.rebuild.error', payload: 'rebuild' }],
  shelve: [
    { trigger: { on: 'accept' }, event_type: 'instance.shelve.start', payload: 'action' },
    { trigger: { on: 'vm', value: 'shelved' }, event_type: 'instance.shelve.end', payload: 'action' },
    { trigger: { on: 'task', value: 'shelving_offloading' }, event_type: 'instance.shelve_offload.start', payload: 'action' },
    { trigger: { on: 'vm', value: 'shelved_offloaded' }, event_type: 'instance.shelve_offload.end', payload: 'action' },
  ],
  shelveOffload: simple('shelve_offload'),
  unshelve: simple('unshelve'),
  resize,
  migrate: resize,
  confirmResize: simple('resize_confirm'),
  revertResize: simple('resize_revert'),
  trigger_crash_dump: simple('trigger_crash_dump'),
  lock: [{ trigger: { on: 'end' }, event_type: 'instance.lock', payload: 'action' }],
  unlock: [{ trigger: { on: 'end' }, event_type: 'instance.unlock', payload: 'action' }],
};
