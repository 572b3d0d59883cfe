export { connectKafkaClient, createKafka, LOCAL_BROKER } from './client.js';
export { ensureTopics, fetchTopicOffsetsWhenReady, topicMaxMessageBytes, topicPlan, type TopicFacts } from './topics.js';
export { Publisher, recordBytes, type OutgoingMessage, type ProducerHandle, type PublisherOptions } from './publisher.js';
export { IdempotentProducer } from './idempotent-producer.js';
export { startLocalBroker, stopLocalBroker, isPortOpen } from './local-broker.js';
