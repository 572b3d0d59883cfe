import { OPTIONS, type Config, type OptionKey } from './options.js';

/**
 * The two flows callstream keeps apart in code, topics and tables: Callaro's events, and the
 * telephony, billing and integration providers' callbacks. Each has its own three topics.
 */
export const FLOWS = ['callaro', 'telephony'] as const;
export type Flow = (typeof FLOWS)[number];

/** A flow's topics by role: the validated records, the audit trail of raw requests, the dead letters. */
export type FlowTopicRole = 'events' | 'raw' | 'deadLetter';

/**
 * The setting that names each topic of each flow, in one place. Topic creation, the schema
 * registry's subjects, the sink's streams, the receipt floor, `status` and `trace` read their
 * topics from here; a Record over flows and roles, so a flow or role left out does not compile.
 */
const FLOW_TOPIC_OPTIONS = {
  callaro: { events: 'topicEvents', raw: 'topicRaw', deadLetter: 'topicDeadLetter' },
  telephony: { events: 'topicTelephony', raw: 'topicTelephonyRaw', deadLetter: 'topicTelephonyDeadLetter' },
} as const satisfies Readonly<Record<Flow, Readonly<Record<FlowTopicRole, OptionKey>>>>;

export interface FlowTopic {
  flow: Flow;
  role: FlowTopicRole;
  topic: string;
  /** The environment variable that names it (CALLSTREAM_TOPIC_EVENTS, ...), for messages. */
  setting: string;
}

/** One topic of one flow. */
export function flowTopic(config: Config, flow: Flow, role: FlowTopicRole): FlowTopic {
  const key = FLOW_TOPIC_OPTIONS[flow][role];
  return { flow, role, topic: config[key], setting: OPTIONS[key].env };
}

/** The topics of one role, one per flow, in the order of FLOWS. */
export function flowTopics(config: Config, role: FlowTopicRole): FlowTopic[] {
  return FLOWS.map((flow) => flowTopic(config, flow, role));
}
