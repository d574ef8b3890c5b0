import { z } from 'zod';

export const faultRuleSchema = z
  .strictObject({
    /**
     * retryable: the provider's own "retry later" answer; throttle: HTTP 429; unavailable: HTTP 503
     * (both with Retry-After, nothing applied); server-error: HTTP 500; garbage: an unreadable 200;
     * drop-before / drop-after: the connection closes without an answer, before or after applying;
     * code: the provider's error answer (its envelope and status) carrying `code`, one it may never
     * have documented, after applying the request when `applied`.
     */
    kind: z.enum(['retryable', 'throttle', 'unavailable', 'server-error', 'drop-before', 'drop-after', 'latency', 'garbage', 'code']),
    /** Probability 0..1 per matching request, default 1. */
    rate: z.number().min(0).max(1).optional(),
    /** Apply to at most this many matching requests, then the rule is spent. */
    times: z.number().int().positive().optional(),
    /** Only requests whose parsed params / data fields equal these. */
    match: z.record(z.string(), z.string()).optional(),
    /** Only these paths; default: the provider's payment requests only. */
    paths: z.array(z.string().startsWith('/')).optional(),
    /** For 'latency': the delay before the request is handled (other rules still apply). */
    latencyMs: z.number().int().nonnegative().optional(),
    /** For 'throttle', 'unavailable', and 'retryable' where the provider answers it with an HTTP status; default 1. */
    retryAfterSeconds: z.number().int().nonnegative().optional(),
    /** For 'code': the code the answer carries. */
    code: z.string().min(1).optional(),
    /** For 'code': the request is applied first (money moves), then answered with the code. Default false. */
    applied: z.boolean().optional(),
  })
  .refine((rule) => rule.kind !== 'latency' || rule.latencyMs !== undefined, {
    error: 'a latency rule needs latencyMs',
    path: ['latencyMs'],
  })
  .refine((rule) => rule.kind !== 'code' || rule.code !== undefined, {
    error: 'a code rule needs code',
    path: ['code'],
  });
export type FaultRule = z.infer<typeof faultRuleSchema>;
export const faultRulesSchema = z.array(faultRuleSchema);

/** A fault that replaces or disturbs the answer (everything but latency, which only delays it). */
export type AnswerFault = FaultRule & { kind: Exclude<FaultRule['kind'], 'latency'> };

/** What rules are matched against: the request as its provider protocol parsed it. */
export interface FaultTarget {
  path: string;
  fields: Readonly<Record<string, string>>;
  /** A request that moves money (CT Payer loadcard, VirtualRx Payment): the default target. */
  payment: boolean;
}

/** The active fault rules and how many more times each may fire. */
export class FaultBook {
  private entries: { rule: FaultRule; left: number }[] = [];

  constructor(rules: FaultRule[]) {
    this.set(rules);
  }

  set(rules: FaultRule[]): void {
    this.entries = faultRulesSchema.parse(rules).map((rule) => ({ rule, left: rule.times ?? Infinity }));
  }

  /** The delay of the first matching latency rule, 0 when none fires. */
  latencyMs(target: FaultTarget): number {
    return this.take(target, (rule): rule is FaultRule & { kind: 'latency' } => rule.kind === 'latency')?.latencyMs ?? 0;
  }

  /** The first matching rule that changes the answer, if one fires. */
  answerFault(target: FaultTarget): AnswerFault | undefined {
    return this.take(target, (rule): rule is AnswerFault => rule.kind !== 'latency');
  }

  private take<R extends FaultRule>(target: FaultTarget, wanted: (rule: FaultRule) => rule is R): R | undefined {
    for (const entry of this.entries) {
      if (entry.left <= 0 || !wanted(entry.rule) || !applies(entry.rule, target)) continue;
      if (Math.random() >= (entry.rule.rate ?? 1)) continue;
      entry.left -= 1;
      return entry.rule;
    }
    return undefined;
  }
}

function applies(rule: FaultRule, target: FaultTarget): boolean {
  const onPath = rule.paths ? rule.paths.includes(target.path) : target.payment;
  return onPath && Object.entries(rule.match ?? {}).every(([field, value]) => target.fields[field] === value);
}
