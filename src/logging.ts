// Logs a person can read: pino, written as one plain line per event by pino-pretty (the default) or
// as pino's JSON lines (--log-format json). The message carries the sentence; the fields carry the
// same facts for machines and are left out of the pretty line.
//
//   10:42:07.311 INFO  POST /compute/v2.1/servers 202 12.4 ms req-3c1…
//   10:42:08.320 INFO  vm1 create: scheduling → networking (BUILD)
import { pino, type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { Config } from './config.ts';
import type { TransitionEvent } from './engine/events.ts';

/** Fields our own lines carry besides the message; the pretty format shows only the message. */
const STRUCTURED = ['reqId', 'req_id', 'method', 'path', 'status', 'duration_ms', 'event', 'server_id', 'server', 'project_id', 'action', 'from', 'to', 'vm_state', 'task_state', 'power_state', 'recovered', 'signal'];

export function createLogger(cfg: Pick<Config, 'log_level' | 'log_format'>, destination: NodeJS.WritableStream = process.stdout): Logger {
  const level = cfg.log_level;
  if (cfg.log_format === 'json') return pino({ level, base: { name: 'novabox' } }, destination as DestinationStream);
  const stream = pretty({
    sync: true,
    destination,
    colorize: (destination as { isTTY?: boolean }).isTTY === true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: ['pid', 'hostname', 'name', ...STRUCTURED].join(','),
    singleLine: true,
  });
  return pino({ level, base: { name: 'novabox' } }, stream);
}

/** `vm1 resize: resize_prep → resize_migrating (RESIZE)`: the part of the state that changed. */
export function describeTransition(t: TransitionEvent): string {
  const state = (s: { vm_state: string; task_state: string | null }, withVm: boolean) =>
    withVm ? (s.task_state ? `${s.vm_state}/${s.task_state}` : s.vm_state) : (s.task_state ?? 'none');
  const from = t.from;
  let change: string;
  if (!from) change = `new → ${state(t, true)}`;
  else if (from.vm_state === t.vm_state && from.task_state !== t.task_state) change = `${state(from, false)} → ${state(t, false)}`;
  else if (from.vm_state === t.vm_state && from.task_state === t.task_state) change = `power_state ${from.power_state} → ${t.power_state}`;
  else change = `${state(from, true)} → ${state(t, true)}`;
  return `${t.name} ${t.action ?? 'change'}: ${change} (${t.status})`;
}
