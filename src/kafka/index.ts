export { connectKafkaClient, createKafka, LOCAL_BROKER } from './client.js';
export { ensureTopics, topicPlan } from './topics.js';
export { Publisher, type OutgoingMessage, type PublisherOptions } from './publisher.js';
export { startLocalBroker, stopLocalBroker, isPortOpen } from './local-broker.js';
