/**
 * A bounded label value for `harbinger_records_rejected_total{reason}`: the field or kind a
 * rejection names (`value`, `ts`, `late`...), never free text with user data in it.
 */
export function reasonCode(reason: string): string {
  const head = reason.split(':')[0]!.split('.')[0]!.trim();
  return /^[a-z][a-z_]{0,31}$/.test(head) ? head : 'other';
}
