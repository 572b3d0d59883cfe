export { connectKafkaClient, createKafka, LOCAL_BROKER } from './client.js';
export { ensureTopics, fetchTopicOffsetsWhenReady, readRecordLimits, topicMaxMessageBytes, topicPlan, topicRoles, type PlannedTopic, type TopicFacts } from './topics.js';
export { readTopicSettings, unsafeSettings, type TopicRole, type TopicSettings, type UnsafeSetting } from './topic-settings.js';
export { Publisher, recordBytes, type OutgoingMessage, type ProducerHandle, type PublisherOptions } from './publisher.js';
export { IdempotentProducer } from './idempotent-producer.js';
export { startLocalBroker, stopLocalBroker, isPortOpen } from './local-broker.js';
export { fetchRecords, recordAt, type FetchOptions, type RecordPlace } from './fetch-records.js';
