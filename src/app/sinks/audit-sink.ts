import type { DecisionEvent } from '../../domain/decision.js';
import type { FileAuditLog } from '../../adapters/file/audit-log.js';
import { auditKind } from '../../report/audit-kind.js';
import type { DecisionSink } from './decision-sink.js';

/** Every decision into the hash-chained audit log, with who made it. */
export function auditSink(audit: FileAuditLog): DecisionSink {
  return {
    name: 'audit',
    decision: (e: DecisionEvent) => audit.append(e.ts, auditKind(e), e.type === 'outcome' && e.by !== undefined ? e.by : 'harbinger', e),
  };
}
